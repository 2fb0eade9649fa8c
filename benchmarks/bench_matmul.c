/* bench_matmul.c — matmul through lazybk against calling OpenBLAS directly, same run.

   For n = 1024 and 2048: f32 x @ w and x @ w^T (linear's layout: lazybk reads the
   transpose in place), and f64 x @ w, at 1 and 2 threads; lazybk's own blocked kernel (or,
   built with -DLAZYBK_BLAS, lazybk routing to cblas_sgemm) and cblas_sgemm/cblas_dgemm
   called directly alternate, five rounds each; GFLOP/s medians and their ratio. The
   kernel OpenBLAS ran is printed first (report.sh runs this program with OPENBLAS_CORETYPE
   and OPENBLAS_L2_SIZE unset, so that OpenBLAS picks its own best kernel for this CPU).
   Built the way users build (-O2, no -march):
       cc -O2 -fopenmp -I. $(pkg-config --cflags stb) benchmarks/bench_matmul.c -o bench_matmul -lopenblas -lm -lpthread
*/
#define _POSIX_C_SOURCE 200809L
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <cblas.h>
#include <time.h>
#include "bench_util.h"

void openblas_set_num_threads(int);
char *openblas_get_corename(void);

int main(void) {
#ifdef LAZYBK_BLAS
    const char *mode = "lazybk -> cblas (LAZYBK_BLAS)";
#else
    const char *mode = "lazybk own blocked kernel";
#endif
    printf("matmul: OpenBLAS kernel %s\n", openblas_get_corename());
    for (int threads = 1; threads <= 2; threads++) {
        lbk_ctx_desc desc = {0};
        desc.n_threads = threads;
        lbk_ctx *ctx = lbk_ctx_create(&desc);
        openblas_set_num_threads(threads);
        for (int64_t n = 1024; n <= 2048; n *= 2)
            for (int form = 0; form < 3; form++) {   /* f32 x@w, f32 x@w^T, f64 x@w */
                bool f64 = form == 2, bt = form == 1;
                size_t esz = f64 ? 8 : 4, nn = (size_t)(n * n);
                int64_t d[2] = {n, n};
                char *a = malloc(esz * nn), *b = malloc(esz * nn), *c = malloc(esz * nn), *ref = malloc(esz * nn);
                for (size_t i = 0; i < nn; i++) {
                    double va = (double)((i * 7) % 13) / 13 - 0.5, vb = (double)((i * 5) % 11) / 11 - 0.5;
                    if (f64) { ((double *)a)[i] = va; ((double *)b)[i] = vb; }
                    else { ((float *)a)[i] = (float)va; ((float *)b)[i] = (float)vb; }
                }
                lbk_dtype dt = f64 ? LBK_F64 : LBK_F32;
                lbk_tensor ta = lbk_from_host(ctx, dt, 2, d, a), tb = lbk_from_host(ctx, dt, 2, d, b);
                double tl[5], tr[5];
                for (int r = 0; r < 5; r++) {
                    lbk_scope s = lbk_scope_begin(ctx);
                    lbk_tensor y = lbk_matmul(ctx, ta, bt ? lbk_transpose(ctx, tb, 0, 1) : tb);
                    double t0 = now_ms();
                    if (lbk_sync(ctx, &y, 1) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
                    tl[r] = now_ms() - t0;
                    if (r == 0) lbk_read(ctx, y, c, esz * nn);
                    lbk_scope_end(ctx, s, NULL, 0);
                    t0 = now_ms();
                    if (f64)
                        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, (double *)a, (int)n, (double *)b, (int)n,
                                    0.0, (double *)ref, (int)n);
                    else
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, bt ? CblasTrans : CblasNoTrans, (int)n, (int)n, (int)n, 1.0f, (float *)a, (int)n,
                                    (float *)b, (int)n, 0.0f, (float *)ref, (int)n);
                    tr[r] = now_ms() - t0;
                }
                double worst = 0;
                for (size_t i = 0; i < nn; i++) {
                    double g = f64 ? ((double *)c)[i] : ((float *)c)[i], w = f64 ? ((double *)ref)[i] : ((float *)ref)[i];
                    worst = fmax(worst, fabs(g - w) / (1 + fabs(w)));
                }
                qsort(tl, 5, sizeof(double), cmp_double);
                qsort(tr, 5, sizeof(double), cmp_double);
                double gl = 2.0 * (double)n * n * n / tl[2] / 1e6, gr = 2.0 * (double)n * n * n / tr[2] / 1e6;
                char name[64];
                snprintf(name, sizeof name, "P4 %s %lld^3 %s, %d thread%s", f64 ? "dgemm" : "sgemm", (long long)n, bt ? "x@w^T" : "x@w", threads,
                         threads > 1 ? "s" : "");
                printf("%-36s %-30s %6.1f GFLOP/s | cblas_%cgemm direct %6.1f GFLOP/s | ratio %.2f (max rel. diff %.1e)\n", name, mode, gl,
                       f64 ? 'd' : 's', gr, gl / gr, worst);
                lbk_release(ctx, ta);
                lbk_release(ctx, tb);
                free(a); free(b); free(c); free(ref);
            }
        lbk_ctx_destroy(ctx);
    }
    return 0;
}
