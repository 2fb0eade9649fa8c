/* bench_cuda.c — the CUDA backend on a GPU (make bench-cuda). Each figure beside a
   reference measured in the same run, medians of several runs:
     - the fused chain tanh(x*a+b)*sigmoid(x) over 64M f32 against a device-to-device
       cuMemcpy of the same bytes (read 256 MiB + write 256 MiB; goal >= 0.85x its bandwidth);
     - sgemm 4096^3 against cublasSgemm called directly (goal >= 0.95x);
     - NVRTC compile time per graph and the compile cache's hit rate.
   Without a GPU it says so and exits 0. LAZYBK_BENCH_QUICK=1 shrinks the sizes (1M
   elements, 256^3) to check the program itself, e.g. on the host emulation of a device:
   LD_LIBRARY_PATH=build/fakecuda LAZYBK_BENCH_QUICK=1 ./build/bench/bench_cuda
   Build: cc -O2 -DLAZYBK_CUDA -I. -I/usr/local/cuda/include $(pkg-config --cflags stb) benchmarks/bench_cuda.c -o bench_cuda -lm -lpthread -ldl
*/
#define _POSIX_C_SOURCE 200809L
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include "bench_util.h"

#define REPS 7
typedef int (*memcpy_fn)(CUdeviceptr, CUdeviceptr, size_t);
typedef int (*alloc_fn)(CUdeviceptr *, size_t);
typedef int (*sync_fn)(void);
typedef int (*free_fn)(CUdeviceptr);
typedef int (*blas_create_fn)(void **);
typedef int (*sgemm_fn)(void *, int, int, int, int, int, const float *, const float *, int, const float *, int, const float *, float *, int);

int main(void) {
    if (!lbk_backend_available("cuda")) {
        lbk_ctx_desc d = {0};
        d.backend = "cuda";
        lbk_ctx_create(&d);
        printf("cuda benchmarks skipped: %s\n", lbk_last_error());
        return 0;
    }
    void *hc = dlopen("libcuda.so.1", RTLD_NOW), *hb = dlopen("libcublas.so", RTLD_NOW);
    if (!hb) hb = dlopen("/usr/local/cuda/lib64/libcublas.so", RTLD_NOW);
    memcpy_fn dtod = (memcpy_fn)dlsym(hc, "cuMemcpyDtoD_v2");
    alloc_fn alloc = (alloc_fn)dlsym(hc, "cuMemAlloc_v2");
    free_fn mfree = (free_fn)dlsym(hc, "cuMemFree_v2");
    sync_fn csync = (sync_fn)dlsym(hc, "cuCtxSynchronize");
    lbk_ctx_desc d = {0};
    d.backend = "cuda";
    lbk_ctx *c = lbk_ctx_create(&d);
    const bool quick = getenv("LAZYBK_BENCH_QUICK") != NULL;
    const int64_t N = quick ? 1LL << 20 : 64LL << 20;
    float *h = malloc(sizeof(float) * (size_t)N);
    for (int64_t i = 0; i < N; i++) h[i] = (float)((i % 2001) - 1000) / 500.0f;
    lbk_tensor x = lbk_from_host(c, LBK_F32, 1, &N, h);
    double tl[REPS], tm[REPS];
    CUdeviceptr a = 0, b = 0;
    alloc(&a, (size_t)N * 4);
    alloc(&b, (size_t)N * 4);
    for (int r = -1; r < REPS; r++) {   /* r = -1 warms up (compiles) */
        lbk_scope s = lbk_scope_begin(c);
        csync();
        double t0 = now_ms();
        lbk_tensor y = lbk_mul(c, lbk_tanh(c, lbk_add(c, lbk_mul(c, x, lbk_scalar(c, LBK_F32, 0.5)), lbk_scalar(c, LBK_F32, -0.25))), lbk_sigmoid(c, x));
        if (lbk_sync(c, &y, 1) != LBK_OK) { printf("%s\n", lbk_ctx_error(c)); return 1; }
        csync();
        double t1 = now_ms();
        lbk_scope_end(c, s, NULL, 0);
        dtod(b, a, (size_t)N * 4);
        csync();
        double t2 = now_ms();
        if (r >= 0) { tl[r] = t1 - t0; tm[r] = t2 - t1; }
    }
    double l = median(tl, REPS), m = median(tm, REPS);
    printf("fused tanh(x*a+b)*sigmoid(x), %lldM f32   lazybk %8.3f ms (%6.1f GB/s) | cuMemcpyDtoD same bytes %8.3f ms (%6.1f GB/s) | bandwidth ratio %.2f\n",
           (long long)(N >> 20), l, N * 8e-6 / l, m, N * 8e-6 / m, m / l);
    mfree(a); mfree(b);
    /* sgemm 4096^3 */
    const int64_t M = quick ? 256 : 4096, d2[2] = {M, M};
    lbk_tensor A = lbk_from_host(c, LBK_F32, 2, d2, h), B = lbk_from_host(c, LBK_F32, 2, d2, h + M * M);
    void *blas = NULL;
    ((blas_create_fn)dlsym(hb, "cublasCreate_v2"))(&blas);
    sgemm_fn sgemm = (sgemm_fn)dlsym(hb, "cublasSgemm_v2");
    CUdeviceptr da, db, dc;
    alloc(&da, (size_t)(M * M * 4)); alloc(&db, (size_t)(M * M * 4)); alloc(&dc, (size_t)(M * M * 4));
    for (int r = -1; r < REPS; r++) {
        lbk_scope s = lbk_scope_begin(c);
        csync();
        double t0 = now_ms();
        lbk_tensor C = lbk_matmul(c, A, B);
        if (lbk_sync(c, &C, 1) != LBK_OK) { printf("%s\n", lbk_ctx_error(c)); return 1; }
        csync();
        double t1 = now_ms();
        lbk_scope_end(c, s, NULL, 0);
        float one = 1, zero = 0;
        sgemm(blas, 0, 0, (int)M, (int)M, (int)M, &one, (const float *)db, (int)M, (const float *)da, (int)M, &zero, (float *)dc, (int)M);
        csync();
        double t2 = now_ms();
        if (r >= 0) { tl[r] = t1 - t0; tm[r] = t2 - t1; }
    }
    l = median(tl, REPS); m = median(tm, REPS);
    printf("sgemm %lld^3                            lazybk %8.3f ms (%6.1f TFLOP/s) | cublasSgemm direct %8.3f ms (%6.1f TFLOP/s) | ratio %.2f\n",
           (long long)M, l, 2.0 * M * M * M / l / 1e9, m, 2.0 * M * M * M / m / 1e9, m / l);
    printf("compile cache: %lld compiles, %lld hits\n%s", (long long)lbk_counter(c, "compile"), (long long)lbk_counter(c, "cache_hit"),
           lbk_metrics_report(c));
    lbk_ctx_destroy(c);
    free(h);
    return 0;
}
