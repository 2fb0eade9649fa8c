/* A stand-in for cuBLASLt (libcublasLt.so) that goes with fake_driver.c: the matmul
   descriptor and layout calls lazybk makes, and cublasLtMatmul for f32/f64 with the
   DEFAULT and BIAS epilogues, as double loops over "device memory" the fake driver checks.
   Shapes are checked as cuBLASLt documents them (op(A) m x k, op(B) k x n, C and D m x n,
   the bias one value per row of D). With $LBK_FAKE_LT_UNSUPPORTED set every matmul answers
   CUBLAS_STATUS_NOT_SUPPORTED (tests of lazybk's fallback). */
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cublasLt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int lbkfake_check_range(uintptr_t p, size_t n);
int lbkfake_current_device(void);

typedef struct fake_desc { cublasComputeType_t compute; cudaDataType_t scale; int32_t ta, tb; uint32_t epi; const void *bias; int64_t bias_stride; } fake_desc;
typedef struct fake_layout { cudaDataType type; uint64_t rows, cols; int64_t ld, offset; int32_t batches; } fake_layout;

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) {
    if (lbkfake_current_device() < 0) return CUBLAS_STATUS_NOT_INITIALIZED;
    *h = (cublasLtHandle_t)malloc(1);
    return *h ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}
cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) { if (!h) return CUBLAS_STATUS_NOT_INITIALIZED; free(h); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute, cudaDataType_t scale) {
    fake_desc *f = (fake_desc *)calloc(1, sizeof *f);
    if (!f) return CUBLAS_STATUS_ALLOC_FAILED;
    f->compute = compute; f->scale = scale; f->epi = CUBLASLT_EPILOGUE_DEFAULT;
    *d = (cublasLtMatmulDesc_t)f;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) { free(d); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const void *buf, size_t n) {
    fake_desc *f = (fake_desc *)d;
    switch (a) {
    case CUBLASLT_MATMUL_DESC_TRANSA: if (n != sizeof(int32_t)) return CUBLAS_STATUS_INVALID_VALUE; f->ta = *(const int32_t *)buf; break;
    case CUBLASLT_MATMUL_DESC_TRANSB: if (n != sizeof(int32_t)) return CUBLAS_STATUS_INVALID_VALUE; f->tb = *(const int32_t *)buf; break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE: if (n != sizeof(uint32_t)) return CUBLAS_STATUS_INVALID_VALUE; f->epi = *(const uint32_t *)buf; break;
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: if (n != sizeof(void *)) return CUBLAS_STATUS_INVALID_VALUE; f->bias = *(const void *const *)buf; break;
    case CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE: if (n != sizeof(int64_t)) return CUBLAS_STATUS_INVALID_VALUE; f->bias_stride = *(const int64_t *)buf; break;
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld) {
    fake_layout *f;
    if (ld < (int64_t)(rows > 1 ? rows : 1)) return CUBLAS_STATUS_INVALID_VALUE;   /* column-major */
    if (!(f = (fake_layout *)calloc(1, sizeof *f))) return CUBLAS_STATUS_ALLOC_FAILED;
    f->type = type; f->rows = rows; f->cols = cols; f->ld = ld; f->batches = 1;
    *l = (cublasLtMatrixLayout_t)f;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) { free(l); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t a, const void *buf, size_t n) {
    fake_layout *f = (fake_layout *)l;
    switch (a) {
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: if (n != sizeof(int32_t)) return CUBLAS_STATUS_INVALID_VALUE; f->batches = *(const int32_t *)buf; break;
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: if (n != sizeof(int64_t)) return CUBLAS_STATUS_INVALID_VALUE; f->offset = *(const int64_t *)buf; break;
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    return CUBLAS_STATUS_SUCCESS;
}
static int in_device(const void *p, const fake_layout *l, size_t elem, int b) {
    size_t extent = l->rows && l->cols ? (size_t)l->ld * (l->cols - 1) + l->rows : 0;
    return !extent || lbkfake_check_range((uintptr_t)p + (size_t)(l->offset * b) * elem, extent * elem);
}
cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t dd, const void *alpha, const void *A, cublasLtMatrixLayout_t al,
                              const void *B, cublasLtMatrixLayout_t bl, const void *beta, const void *C, cublasLtMatrixLayout_t cl, void *D,
                              cublasLtMatrixLayout_t dl, const cublasLtMatmulAlgo_t *algo, void *ws, size_t ws_bytes, cudaStream_t s) {
    const fake_desc *f = (const fake_desc *)dd;
    const fake_layout *la = (const fake_layout *)al, *lb = (const fake_layout *)bl, *lc = (const fake_layout *)cl, *ld = (const fake_layout *)dl;
    int f64, b;
    size_t elem;
    uint64_t m, n, k, i, j, q;
    double al_, be_;
    (void)algo; (void)ws; (void)s;
    if (!h || !f || !la || !lb || !lc || !ld) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (getenv("LBK_FAKE_LT_UNSUPPORTED")) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (ws_bytes && !ws) return CUBLAS_STATUS_INVALID_VALUE;
    f64 = f->compute == CUBLAS_COMPUTE_64F;
    if ((f64 ? CUDA_R_64F : CUDA_R_32F) != f->scale || (!f64 && f->compute != CUBLAS_COMPUTE_32F)) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (la->type != f->scale || lb->type != f->scale || lc->type != f->scale || ld->type != f->scale) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (f->epi != CUBLASLT_EPILOGUE_DEFAULT && f->epi != CUBLASLT_EPILOGUE_BIAS) return CUBLAS_STATUS_NOT_SUPPORTED;
    m = ld->rows; n = ld->cols;
    k = f->ta ? la->rows : la->cols;
    if ((f->ta ? la->cols : la->rows) != m || (f->tb ? lb->cols : lb->rows) != k || (f->tb ? lb->rows : lb->cols) != n || lc->rows != m ||
        lc->cols != n || la->batches != ld->batches || lb->batches != ld->batches || lc->batches != ld->batches || (C != D && C && lc->ld != ld->ld))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (f->epi == CUBLASLT_EPILOGUE_BIAS && !f->bias) return CUBLAS_STATUS_INVALID_VALUE;
    elem = f64 ? 8 : 4;
    al_ = f64 ? *(const double *)alpha : *(const float *)alpha;
    be_ = f64 ? *(const double *)beta : *(const float *)beta;
    for (b = 0; b < ld->batches; b++) {
        if (!in_device(A, la, elem, b) || !in_device(B, lb, elem, b) || !in_device(D, ld, elem, b) || (be_ != 0 && !in_device(C, lc, elem, b)) ||
            (f->epi == CUBLASLT_EPILOGUE_BIAS && !lbkfake_check_range((uintptr_t)f->bias + (size_t)(f->bias_stride * b) * elem, m * elem))) {
            fprintf(stderr, "fake cublasLt: an operand of batch %d is outside device memory\n", b);
            return CUBLAS_STATUS_EXECUTION_FAILED;
        }
        for (j = 0; j < n; j++)
            for (i = 0; i < m; i++) {
                double acc = 0, v;
                for (q = 0; q < k; q++) {
                    size_t ia = (size_t)(la->offset * b) + (f->ta ? q + i * (uint64_t)la->ld : i + q * (uint64_t)la->ld);
                    size_t ib = (size_t)(lb->offset * b) + (f->tb ? j + q * (uint64_t)lb->ld : q + j * (uint64_t)lb->ld);
                    acc += f64 ? ((const double *)A)[ia] * ((const double *)B)[ib] : (double)((const float *)A)[ia] * ((const float *)B)[ib];
                }
                v = al_ * acc;
                if (be_ != 0) {
                    size_t ic = (size_t)(lc->offset * b) + i + j * (uint64_t)lc->ld;
                    v += be_ * (f64 ? ((const double *)C)[ic] : ((const float *)C)[ic]);
                }
                if (f->epi == CUBLASLT_EPILOGUE_BIAS) {
                    size_t ibias = (size_t)(f->bias_stride * b) + i;
                    v += f64 ? ((const double *)f->bias)[ibias] : ((const float *)f->bias)[ibias];
                }
                if (f64) ((double *)D)[(size_t)(ld->offset * b) + i + j * (uint64_t)ld->ld] = v;
                else ((float *)D)[(size_t)(ld->offset * b) + i + j * (uint64_t)ld->ld] = (float)v;
            }
    }
    return CUBLAS_STATUS_SUCCESS;
}
