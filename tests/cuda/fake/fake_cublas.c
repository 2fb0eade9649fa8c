/* A stand-in for cuBLAS (libcublas.so) that goes with fake_driver.c: column-major
   (strided batched) products as plain loops in double, over "device memory" that the fake
   driver checks is live and of the current device (every element each call touches). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int lbkfake_check_range(uintptr_t p, size_t n);
int lbkfake_current_device(void);
typedef struct fake_blas { void *stream; int dev; } fake_blas;
enum { OK = 0, NOT_INITIALIZED = 1, ALLOC_FAILED = 3, INVALID_VALUE = 7, EXECUTION_FAILED = 13 };

int cublasCreate_v2(fake_blas **h) {
    if (lbkfake_current_device() < 0) return NOT_INITIALIZED;
    if (!(*h = (fake_blas *)calloc(1, sizeof **h))) return ALLOC_FAILED;
    (*h)->dev = lbkfake_current_device();
    return OK;
}
int cublasDestroy_v2(fake_blas *h) { if (!h) return NOT_INITIALIZED; free(h); return OK; }
int cublasSetStream_v2(fake_blas *h, void *s) { if (!h) return NOT_INITIALIZED; h->stream = s; return OK; }

/* the extent in elements of an m x n column-major operand with leading dimension ld */
static size_t extent(int rows, int cols, int ld) { return rows && cols ? (size_t)ld * (size_t)(cols - 1) + (size_t)rows : 0; }

#define FAKE_GEMM(NAME, T)                                                                                                   \
    int NAME(fake_blas *h, int ta, int tb, int m, int n, int k, const T *alpha, const T *A, int lda, long long sa,          \
             const T *B, int ldb, long long sb, const T *beta, T *C, int ldc, long long sc, int batches) {                  \
        int b, i, j, q;                                                                                                      \
        if (!h) return NOT_INITIALIZED;                                                                                      \
        if (h->dev != lbkfake_current_device()) return EXECUTION_FAILED;                                                     \
        if (m < 0 || n < 0 || k < 0 || batches < 0 || (ta != 0 && ta != 1) || (tb != 0 && tb != 1)) return INVALID_VALUE;    \
        if (lda < (ta ? (k > 1 ? k : 1) : (m > 1 ? m : 1)) || ldb < (tb ? (n > 1 ? n : 1) : (k > 1 ? k : 1)) || ldc < (m > 1 ? m : 1)) \
            return INVALID_VALUE;                                                                                            \
        for (b = 0; b < batches; b++) {                                                                                      \
            const T *a = A + sa * b, *bb = B + sb * b;                                                                       \
            T *c = C + sc * b;                                                                                               \
            size_t ea = ta ? extent(k, m, lda) : extent(m, k, lda), eb = tb ? extent(n, k, ldb) : extent(k, n, ldb);        \
            if ((ea && !lbkfake_check_range((uintptr_t)a, ea * sizeof(T))) || (eb && !lbkfake_check_range((uintptr_t)bb, eb * sizeof(T))) || \
                (extent(m, n, ldc) && !lbkfake_check_range((uintptr_t)c, extent(m, n, ldc) * sizeof(T)))) {                  \
                fprintf(stderr, "fake cublas: an operand of batch %d is outside device memory\n", b);                       \
                return EXECUTION_FAILED;                                                                                     \
            }                                                                                                                \
            for (j = 0; j < n; j++)                                                                                          \
                for (i = 0; i < m; i++) {                                                                                    \
                    double acc = 0;                                                                                          \
                    for (q = 0; q < k; q++)                                                                                  \
                        acc += (double)(ta ? a[q + (size_t)i * lda] : a[i + (size_t)q * lda]) *                              \
                               (double)(tb ? bb[j + (size_t)q * ldb] : bb[q + (size_t)j * ldb]);                            \
                    c[i + (size_t)j * ldc] = (T)((double)*alpha * acc + (*beta != 0 ? (double)*beta * (double)c[i + (size_t)j * ldc] : 0.0)); \
                }                                                                                                            \
        }                                                                                                                    \
        return OK;                                                                                                           \
    }
FAKE_GEMM(cublasSgemmStridedBatched, float)
FAKE_GEMM(cublasDgemmStridedBatched, double)
int cublasSgemm_v2(fake_blas *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
                   const float *beta, float *C, int ldc) {
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}
