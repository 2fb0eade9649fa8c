/* 07_metrics.c — a benchmark-style program: the same graph synced many times with new
   data; prints the time per sync (the first compiles, the rest are cache hits), the
   backend's plan (lbk_backend_text) and the metrics report (lbk_metrics_report).

   Build:  cc -O2 -I. $(pkg-config --cflags stb) examples/07_metrics.c -o metrics -lm -lpthread   (add -fopenmp for threads)
*/
#define _POSIX_C_SOURCE 200809L
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <stdio.h>
#include <time.h>

static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

int main(void) {
    enum { ROWS = 512, COLS = 1024, RUNS = 20 };
    static float x[ROWS * COLS], out[ROWS];
    int64_t d[2] = {ROWS, COLS};
    int ax = -1;
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    double first = 0, rest = 0;
    for (int r = 0; r < RUNS; r++) {
        for (int i = 0; i < ROWS * COLS; i++) x[i] = (float)((i * 37 + r) % 101) / 50.0f - 1;
        lbk_scope s = lbk_scope_begin(ctx);
        double t0 = now_ms();
        lbk_tensor t = lbk_from_host(ctx, LBK_F32, 2, d, x);
        lbk_tensor y = lbk_sum(ctx, lbk_mul(ctx, lbk_tanh(ctx, t), lbk_sigmoid(ctx, t)), 1, &ax, false);   /* a fused reduction */
        lbk_tensor z = lbk_logsumexp(ctx, t, -1, false);
        if (r == 0) printf("plan:\n%s\n", lbk_backend_text(ctx, (lbk_tensor[]){y, z}, 2));
        if (lbk_sync(ctx, (lbk_tensor[]){y, z}, 2) != LBK_OK || lbk_read(ctx, y, out, sizeof out) != LBK_OK) {
            fprintf(stderr, "%s\n", lbk_ctx_error(ctx));
            return 1;
        }
        double ms = now_ms() - t0;
        if (r == 0) first = ms; else rest += ms;
        lbk_scope_end(ctx, s, NULL, 0);
    }
    printf("first sync (compiles) %.3f ms; later syncs %.3f ms each on average (cache hits)\n\n", first, rest / (RUNS - 1));
    printf("metrics:\n%s", lbk_metrics_report(ctx));
    lbk_ctx_destroy(ctx);
    return 0;
}
