/* bench_matmul.c — sgemm through lazybk against calling OpenBLAS directly, same run.

   Prints GFLOP/s for n x n x n (n = 1024, 2048) on one thread: lazybk's own blocked
   kernel (or, built with -DLAZYBK_BLAS, lazybk routing to cblas_sgemm) beside
   cblas_sgemm called directly, and the ratio. Built the way users build (-O2, no -march):
       cc -O2 -I. $(pkg-config --cflags stb) benchmarks/bench_matmul.c -o bench_matmul -lopenblas -lm -lpthread
*/
#define _POSIX_C_SOURCE 200809L
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <cblas.h>
#include <time.h>
#include "bench_util.h"

void openblas_set_num_threads(int);


int main(void) {
    openblas_set_num_threads(1);
    lbk_ctx_desc desc = {0};
    desc.n_threads = 1;
    lbk_ctx *ctx = lbk_ctx_create(&desc);
#ifdef LAZYBK_BLAS
    const char *mode = "lazybk -> cblas_sgemm (LAZYBK_BLAS)";
#else
    const char *mode = "lazybk own blocked kernel";
#endif
    for (int64_t n = 1024; n <= 2048; n *= 2) {
        int64_t d[2] = {n, n};
        float *a = malloc(sizeof(float) * (size_t)(n * n)), *b = malloc(sizeof(float) * (size_t)(n * n));
        float *c = malloc(sizeof(float) * (size_t)(n * n)), *ref = malloc(sizeof(float) * (size_t)(n * n));
        for (int64_t i = 0; i < n * n; i++) { a[i] = (float)((i * 7) % 13) / 13 - 0.5f; b[i] = (float)((i * 5) % 11) / 11 - 0.5f; }
        lbk_tensor ta = lbk_from_host(ctx, LBK_F32, 2, d, a), tb = lbk_from_host(ctx, LBK_F32, 2, d, b);
        double tl[5], tr[5];
        for (int r = 0; r < 5; r++) {
            lbk_scope s = lbk_scope_begin(ctx);
            lbk_tensor y = lbk_matmul(ctx, ta, tb);
            double t0 = now_ms();
            if (lbk_sync(ctx, &y, 1) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
            tl[r] = now_ms() - t0;
            if (r == 0) lbk_read(ctx, y, c, sizeof(float) * (size_t)(n * n));
            lbk_scope_end(ctx, s, NULL, 0);
            t0 = now_ms();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0f, a, (int)n, b, (int)n, 0.0f, ref, (int)n);
            tr[r] = now_ms() - t0;
        }
        double worst = 0;
        for (int64_t i = 0; i < n * n; i++) worst = fmax(worst, fabs((double)c[i] - ref[i]) / (1 + fabs((double)ref[i])));
        qsort(tl, 5, sizeof(double), cmp_double);
        qsort(tr, 5, sizeof(double), cmp_double);
        double gl = 2.0 * (double)n * n * n / tl[2] / 1e6, gr = 2.0 * (double)n * n * n / tr[2] / 1e6;
        printf("P4 sgemm %lld^3, 1 thread   %-38s %6.1f GFLOP/s | cblas_sgemm direct %6.1f GFLOP/s | ratio %.2f (max rel. diff %.1e)\n",
               (long long)n, mode, gl, gr, gl / gr, worst);
        lbk_release(ctx, ta);
        lbk_release(ctx, tb);
        free(a); free(b); free(c); free(ref);
    }
    lbk_ctx_destroy(ctx);
    return 0;
}
