/* bench_cpu.c — the cpu backend's fused elementwise path on large tensors.

   Each line prints lazybk's time beside references measured in the same run: a plain
   copy loop over the same bytes (memory bandwidth), the same expression as a hand-fused
   C loop, and lazybk's own reference path; medians of several runs, one thread.
   Built the way users build (-O2, no -march):
       cc -O2 -fopenmp -I. $(pkg-config --cflags stb) benchmarks/bench_cpu.c -o bench_cpu -lm -lpthread
*/
#define _POSIX_C_SOURCE 200809L
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "bench_util.h"

#define N (16 * 1024 * 1024)
#define REPS 7


/* P3's reference: a careful hand-written 3-pass softmax over rows, with the same vector
   exp as lazybk, 16 partial sums, restrict pointers, and the same per-CPU versions
   (x86-64-v4 / v3 / baseline, chosen at run time: lazybk's LBK__FOR_ISA) as its kernels. */
LBK__VMATH void hand_softmax_body(const float *restrict x, float *restrict y, int rows, int cols) {
    for (int i = 0; i < rows; i++) {
        const float *row = x + (size_t)i * cols;
        float *yr = y + (size_t)i * cols, mx = -INFINITY, sum = 0, pm[16], ps[16];
        for (int k = 0; k < 16; k++) { pm[k] = -INFINITY; ps[k] = 0; }
        for (int j = 0; j + 16 <= cols; j += 16)
            for (int k = 0; k < 16; k++) pm[k] = row[j + k] > pm[k] ? row[j + k] : pm[k];
        for (int k = 0; k < 16; k++) mx = pm[k] > mx ? pm[k] : mx;
        for (int j = 0; j + 16 <= cols; j += 16)
            for (int k = 0; k < 16; k++) { float e = lbk__vexpf(row[j + k] - mx); yr[j + k] = e; ps[k] += e; }
        for (int k = 0; k < 16; k++) sum += ps[k];
        float inv = 1.0f / sum;
        for (int j = 0; j + 16 <= cols; j += 16)
            for (int k = 0; k < 16; k++) yr[j + k] *= inv;
    }
}

#define HAND_SOFTMAX_ISA(VS, ISA, unused)                                                                        \
    ISA void hand_softmax##VS(const float *restrict x, float *restrict y, int rows, int cols) { hand_softmax_body(x, y, rows, cols); }
LBK__FOR_ISA(HAND_SOFTMAX_ISA, 0)
static void hand_softmax(const float *restrict x, float *restrict y, int rows, int cols) { LBK__CALL_ISA(hand_softmax, (x, y, rows, cols)); }

/* P9's reference: sum((x*0.5-0.25)*x) over each row in one pass, 16 double lanes as lazybk sums. */
static void hand_sumrows(const float *restrict x, float *restrict y, int rows, int cols) {
    for (int i = 0; i < rows; i++) {
        double ps[16] = {0}, tot = 0;
        const float *row = x + (size_t)i * cols;
        for (int j = 0; j < cols; j += 16)
            for (int k = 0; k < 16; k++) ps[k] += (double)((row[j + k] * 0.5f - 0.25f) * row[j + k]);
        for (int k = 0; k < 16; k++) tot += ps[k];
        y[i] = (float)tot;
    }
}

/* P1 max(x*a+b, 0)*x and P2 tanh(x*a+b)*sigmoid(x), traced and synced (not read back). */
static double run_lazy(lbk_ctx *ctx, lbk_tensor x, int which) {
    lbk_scope s = lbk_scope_begin(ctx);
    lbk_tensor a = lbk_scalar(ctx, LBK_F32, 0.5), b = lbk_scalar(ctx, LBK_F32, -0.25), y;
    double t0 = now_ms();
    if (which == 1) y = lbk_mul(ctx, lbk_relu(ctx, lbk_add(ctx, lbk_mul(ctx, x, a), b)), x);
    else y = lbk_mul(ctx, lbk_tanh(ctx, lbk_add(ctx, lbk_mul(ctx, x, a), b)), lbk_sigmoid(ctx, x));
    if (lbk_sync(ctx, &y, 1) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); exit(1); }
    double t = now_ms() - t0;
    lbk_scope_end(ctx, s, NULL, 0);
    return t;
}

/* P3 softmax(m) and P9 sum((m*a+b)*m) over the rows of m, traced and synced. */
static double run_rows(lbk_ctx *ctx, lbk_tensor m, int which) {
    lbk_scope s = lbk_scope_begin(ctx);
    int ax = -1;
    double t0 = now_ms();
    lbk_tensor y = which == 3 ? lbk_softmax(ctx, m, -1)
                 : lbk_sum(ctx, lbk_mul(ctx, lbk_add(ctx, lbk_mul(ctx, m, lbk_scalar(ctx, LBK_F32, 0.5)), lbk_scalar(ctx, LBK_F32, -0.25)), m), 1, &ax, false);
    if (lbk_sync(ctx, &y, 1) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); exit(1); }
    double t = now_ms() - t0;
    lbk_scope_end(ctx, s, NULL, 0);
    return t;
}

int main(void) {
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    double t_copy[REPS], t_hand[REPS], t_fast[REPS], t_ref[REPS];
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
    for (int i = 0; i < N; i++) x[i] = (float)((i % 2001) - 1000) / 500.0f;
    lbk_ctx_desc df = {0}, dr = {0};
    df.backend = "cpu";
    dr.backend = "cpu-reference";
    lbk_ctx *fast = lbk_ctx_create(&df), *ref = lbk_ctx_create(&dr);
    int64_t n = N;
    lbk_tensor xf = lbk_from_host(fast, LBK_F32, 1, &n, x), xr = lbk_from_host(ref, LBK_F32, 1, &n, x);
    const char *th = getenv("OMP_NUM_THREADS");
    printf("lazybk %s cpu benchmarks — %s — 16M f32, lazybk on %s thread(s) (the references on 1), medians of %d\n",
           lbk_version(), date, th ? th : "all", REPS);
    for (int which = 1; which <= 2; which++) {
        for (int r = 0; r < REPS; r++) {
            double t0 = now_ms();
            for (int i = 0; i < N; i++) y[i] = x[i];   /* the copy reference: read 64 MiB, write 64 MiB */
            t_copy[r] = now_ms() - t0;
            t0 = now_ms();
            if (which == 1) for (int i = 0; i < N; i++) { float v = x[i] * 0.5f - 0.25f; y[i] = (v > 0 ? v : 0) * x[i]; }
            else for (int i = 0; i < N; i++) y[i] = tanhf(x[i] * 0.5f - 0.25f) * (1.0f / (1.0f + expf(-x[i])));
            t_hand[r] = now_ms() - t0;
            t_fast[r] = run_lazy(fast, xf, which);
            t_ref[r] = r < 3 ? run_lazy(ref, xr, which) : t_ref[r - 1];
        }
        double c = median(t_copy, REPS), h = median(t_hand, REPS), f = median(t_fast, REPS), rf = median(t_ref, REPS);
        const char *name = which == 1 ? "P1 max(x*a+b,0)*x" : "P2 tanh(x*a+b)*sigmoid(x)";
        printf("%-28s lazybk %8.2f ms | hand-fused loop %8.2f ms  ratio %.2f | copy loop %7.2f ms  ratio %.2f | reference path %8.2f ms  ratio %.2f\n",
               name, f, h, f / h, c, f / c, rf, f / rf);
    }
    for (int which = 3; which <= 9; which += 6) {   /* P3 softmax and P9 a fused reduction tail, over rows of 4096 x 4096 */
        enum { R = 4096, C = 4096 };
        int64_t d2[2] = {R, C};
        double t_l[REPS], t_h[REPS];
        lbk_tensor m = lbk_from_host(fast, LBK_F32, 2, d2, x);
        for (int r = 0; r < REPS; r++) {
            t_l[r] = run_rows(fast, m, which);
            double t0 = now_ms();
            if (which == 3) hand_softmax(x, y, R, C);
            else hand_sumrows(x, y, R, C);
            t_h[r] = now_ms() - t0;
        }
        double l = median(t_l, REPS), h = median(t_h, REPS);
        printf("%-28s lazybk %8.2f ms | %s %8.2f ms  ratio %.2f\n", which == 3 ? "P3 softmax rows 4096x4096" : "P9 sum((x*a+b)*x) rows",
               l, which == 3 ? "hand 3-pass loop, same exp" : "hand-fused loop", h, l / h);
    }
    {   /* P10: linear + bias + relu with the bias and relu as the matmul's epilogue, against the matmul alone */
        enum { M = 1024 };
        int64_t d2[2] = {M, M}, d1 = M;
        double t_l[REPS], t_m[REPS];
        lbk_tensor a = lbk_from_host(fast, LBK_F32, 2, d2, x), w = lbk_from_host(fast, LBK_F32, 2, d2, x + M * M);
        lbk_tensor bias = lbk_from_host(fast, LBK_F32, 1, &d1, x + 2 * M * M);
        for (int r = 0; r < REPS; r++) {
            lbk_scope s = lbk_scope_begin(fast);
            double t0 = now_ms();
            lbk_tensor yl = lbk_relu(fast, lbk_linear(fast, a, w, bias));
            if (lbk_sync(fast, &yl, 1) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(fast)); return 1; }
            t_l[r] = now_ms() - t0;
            t0 = now_ms();
            lbk_tensor ym = lbk_matmul(fast, a, lbk_transpose(fast, w, 0, 1));
            if (lbk_sync(fast, &ym, 1) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(fast)); return 1; }
            t_m[r] = now_ms() - t0;
            lbk_scope_end(fast, s, NULL, 0);
        }
        double l = median(t_l, REPS), mm = median(t_m, REPS);
        printf("%-28s lazybk %8.2f ms | its matmul alone %8.2f ms  ratio %.2f\n", "P10 relu(linear) 1024^3", l, mm, l / mm);
    }
    {   /* P8: repeated syncs of one graph allocate nothing after the first */
        run_lazy(fast, xf, 1);   /* the first (P9 and P10 left other sizes in the pool) */
        const char *rep = lbk_metrics_report(fast), *p = strstr(rep, "buffer_allocations: ");
        long long before = p ? atoll(p + 20) : -1, after, hits;
        for (int r = 0; r < 10; r++) run_lazy(fast, xf, 1);
        rep = lbk_metrics_report(fast);
        p = strstr(rep, "buffer_allocations: ");
        after = p ? atoll(p + 20) : -1;
        p = strstr(rep, "pool_hits: ");
        hits = p ? atoll(p + 11) : -1;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("%-28s lazybk %lld new buffer allocation(s) over 10 more syncs | pool hits %lld | peak RSS %ld MiB\n",
               "P8 repeated syncs (P1)", after - before, hits, ru.ru_maxrss / 1024);
    }
    lbk_ctx_destroy(fast);
    lbk_ctx_destroy(ref);
    free(x);
    free(y);
    return 0;
}
