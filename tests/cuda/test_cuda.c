/* The CUDA backend, built with -DLAZYBK_CUDA (make cuda). On a machine without a driver:
   "cuda" is registered, not available, says why, and nothing breaks. With NVRTC (the
   toolkit): the kernels generated for a set of representative graphs (every op the
   backend runs, fused groups with broadcasting, reductions over several axis sets, data
   movement, decomposed composites) are compiled to PTX on every run. With a GPU: every op
   against the cpu reference (lbk_backend_check) and a fused chain checked against float64.
   Prints "lazybk-cuda: N passed, N failed" (and what was skipped). */
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_pass, g_fail;
#define CHECK(cond, ...) do { if (cond) g_pass++; else { g_fail++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

/* "cudagen": the cpu backend, with the cuda backend's op support, whose compile first
   generates the CUDA source of each graph and compiles it with NVRTC. */
static const lbk_backend_i *g_cpu, *g_cuda;
static void *g_cpu_self, *g_cuda_self;
static int g_sources, g_nvrtc_fail, g_kernels;
static size_t g_ptx_bytes;
static bool gen_supports(void *self, const lbk_graph *g, uint32_t i) { (void)self; return g_cuda->supports_op(g_cuda_self, g, i); }
static lbk_result gen_compile(void *self, lbk_device dev, const lbk_graph *const *graphs, int n, lbk_computation **out) {
    for (int k = 0; k < n; k++) {
        char *src = NULL, *ptx = NULL, *log = NULL;
        lbk_result r = lbk_cuda_source(graphs[k], &src);
        if (r != LBK_OK) { g_nvrtc_fail++; printf("codegen failed: %s\n", lbk_result_str(r)); continue; }
        g_sources++;
        for (const char *p = src; (p = strstr(p, "__global__")) != NULL; p++) g_kernels++;
        r = lbk_cuda_ptx(src, "compute_80", &ptx, &log);
        if (r != LBK_OK) { g_nvrtc_fail++; printf("NVRTC failed on:\n%s\n%s\n%s\n", src, lbk_last_error(), log ? log : ""); }
        else g_ptx_bytes += strlen(ptx);
        free(src); free(ptx); free(log);
    }
    return g_cpu->compile(self, dev, graphs, n, out);
}

static lbk_tensor T(lbk_ctx *c, lbk_dtype dt, int nd, const int64_t *d, uint64_t seed) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= d[i];
    double *v = malloc(sizeof(double) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) { seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; v[i] = (double)(seed >> 11) / 9007199254740992.0 * 4 - 2; }
    lbk_tensor t;
    if (dt == LBK_F32) { float *f = malloc(sizeof(float) * (size_t)(n + 1)); for (int64_t i = 0; i < n; i++) f[i] = (float)v[i]; t = lbk_from_host(c, dt, nd, d, f); free(f); }
    else t = lbk_from_host(c, dt, nd, d, v);
    free(v);
    return t;
}

/* Representative graphs, built on ctx and synced. */
static void graphs(lbk_ctx *c) {
    for (int f = 0; f < 2; f++) {
        lbk_dtype dt = f ? LBK_F64 : LBK_F32;
        int64_t d3[3] = {2, 3, 37}, row[1] = {37}, col[3] = {2, 3, 1}, m1[3] = {2, 5, 7}, m2[2] = {7, 4};
        lbk_tensor x = T(c, dt, 3, d3, 1), y = T(c, dt, 3, d3, 2), r = T(c, dt, 1, row, 3), k = T(c, dt, 3, col, 4);
        lbk_tensor e[24];
        int n = 0;
        /* every elementwise op, fused in chains with broadcast operands and scalars */
        e[n++] = lbk_add(c, lbk_mul(c, x, r), lbk_sub(c, y, k));
        e[n++] = lbk_div(c, lbk_pow(c, lbk_abs(c, x), lbk_scalar(c, dt, 1.5)), lbk_add(c, lbk_abs(c, y), lbk_scalar(c, dt, 1)));
        e[n++] = lbk_maximum(c, lbk_minimum(c, x, y), lbk_neg(c, r));
        e[n++] = lbk_tanh(c, lbk_sigmoid(c, lbk_exp(c, lbk_log(c, lbk_sqrt(c, lbk_add(c, lbk_abs(c, x), lbk_scalar(c, dt, 0.5)))))));
        e[n++] = lbk_rsqrt(c, lbk_reciprocal(c, lbk_add(c, lbk_relu(c, x), lbk_scalar(c, dt, 1))));
        e[n++] = lbk_mul(c, lbk_sin(c, x), lbk_cos(c, lbk_erf(c, lbk_floor(c, lbk_ceil(c, y)))));
        e[n++] = lbk_where(c, lbk_logical_and(c, lbk_lt(c, x, y), lbk_logical_not(c, lbk_ge(c, x, r))), x,
                           lbk_where(c, lbk_logical_or(c, lbk_eq(c, x, y), lbk_ne(c, k, r)), y, r));
        e[n++] = lbk_cast(c, lbk_gt(c, lbk_cast(c, x, f ? LBK_F32 : LBK_F64), lbk_scalar(c, f ? LBK_F32 : LBK_F64, 0)), dt);
        e[n++] = lbk_le(c, x, y);
        /* reductions: last axis, middle, leading two, all; keepdim; mean, amax, amin */
        int a1[1] = {2}, a2[1] = {1}, a3[2] = {0, 1};
        e[n++] = lbk_sum(c, lbk_mul(c, x, y), 1, a1, false);
        e[n++] = lbk_mean(c, x, 1, a2, true);
        e[n++] = lbk_amax(c, x, 2, a3, false);
        e[n++] = lbk_amin(c, y, 0, NULL, false);
        /* data movement */
        int64_t rs[2] = {6, 37}, ex[4] = {4, 2, 3, 37};
        int pm[3] = {2, 0, 1};
        lbk_tensor parts[3] = {x, y, lbk_exp(c, x)};
        e[n++] = lbk_reshape(c, lbk_add(c, x, y), 2, rs);
        e[n++] = lbk_permute(c, x, pm);
        e[n++] = lbk_expand(c, k, 4, ex);
        e[n++] = lbk_slice(c, x, 2, 3, 30, 4);
        e[n++] = lbk_concat(c, parts, 3, 1);
        e[n++] = lbk_arange(c, dt, -3, 5, 0.5);
        /* matmul: batched with a broadcast B, and a transposed B */
        e[n++] = lbk_matmul(c, T(c, dt, 3, m1, 5), T(c, dt, 2, m2, 6));
        e[n++] = lbk_relu(c, lbk_linear(c, T(c, dt, 2, (int64_t[]){5, 7}, 7), T(c, dt, 2, (int64_t[]){4, 7}, 8), T(c, dt, 1, (int64_t[]){4}, 9)));
        /* composites: decomposed into the primitives above */
        e[n++] = lbk_softmax(c, x, -1);
        e[n++] = lbk_layer_norm(c, x, 1, r, r, 1e-5);
        e[n++] = lbk_gelu(c, x, true);
        CHECK(lbk_sync(c, e, n) == LBK_OK, "sync of the representative graphs (%s): %s", lbk_dtype_name(dt), lbk_ctx_error(c));
    }
}

int main(void) {
    /* 1. no driver: registered, unavailable with the reason, and the rest works */
    CHECK(lbk_backend_has("cuda"), "cuda is registered when compiled in");
    g_cuda = lbk_backend_get("cuda", &g_cuda_self);
    g_cpu = lbk_backend_get("cpu", &g_cpu_self);
    bool gpu = lbk_backend_available("cuda");
    lbk_ctx_desc dc = {0};
    dc.backend = "cuda";
    lbk_ctx *cc = lbk_ctx_create(&dc);
    if (!gpu) {
        CHECK(cc == NULL && lbk_last_result() == LBK_ERR_UNAVAILABLE, "a context on cuda without a device: %s", lbk_result_str(lbk_last_result()));
        CHECK(strstr(lbk_last_error(), "cuda") != NULL, "the error names the backend: %s", lbk_last_error());
        printf("cuda not available here: %s\n", lbk_last_error());
    }
    lbk_ctx *cpu = lbk_ctx_create(NULL);
    int64_t n3 = 3;
    float v[3] = {1, 2, 3}, o[3];
    CHECK(lbk_read(cpu, lbk_exp(cpu, lbk_from_host(cpu, LBK_F32, 1, &n3, v)), o, sizeof o) == LBK_OK && fabsf(o[2] - expf(3)) < 1e-5f,
          "the cpu backend still runs");
    lbk_ctx_destroy(cpu);

    /* 2. the generated source of every representative graph compiles with NVRTC */
    char *ptx = NULL, *log = NULL;
    lbk_result nv = lbk_cuda_ptx("extern \"C\" __global__ void k(float *x) { x[0] = 1; }", "compute_80", &ptx, &log);
    free(ptx); free(log);
    if (nv == LBK_ERR_UNAVAILABLE) {
        printf("skipped: NVRTC not found (%s)\n", lbk_last_error());
    } else {
        lbk_backend_i gen = *g_cpu;
        gen.name = "cudagen";
        gen.compile = gen_compile;
        gen.supports_op = gen_supports;
        CHECK(lbk_backend_register(&gen, g_cpu_self) == LBK_OK, "register cudagen");
        lbk_ctx_desc dg = {0};
        dg.backend = "cudagen";
        lbk_ctx *c = lbk_ctx_create(&dg);
        graphs(c);
        CHECK(g_nvrtc_fail == 0, "%d generated sources failed to compile", g_nvrtc_fail);
        CHECK(g_sources >= 2 && g_kernels >= 40, "only %d sources / %d kernels generated", g_sources, g_kernels);
        printf("NVRTC: %d generated sources, %d kernels, %zu bytes of PTX (compute_80)\n", g_sources, g_kernels, g_ptx_bytes);
        /* a compile error gives LBK_ERR_BACKEND with the log */
        nv = lbk_cuda_ptx("extern \"C\" __global__ void k(float *x) { x[0] = undefined_name; }", "compute_80", &ptx, &log);
        CHECK(nv == LBK_ERR_BACKEND && log && strstr(log, "undefined_name"),
              "an NVRTC error carries the compiler log");
        free(ptx); free(log);
        lbk_ctx_destroy(c);
        lbk_backend_unregister("cudagen");
    }

    /* 3. on a GPU: every op against the cpu reference, and the representative graphs */
    if (gpu) {
        CHECK(cc != NULL, "a context on cuda: %s", lbk_last_error());
        CHECK(lbk_backend_check("cuda", 1e-4, stdout) == LBK_OK, "lbk_backend_check(cuda)");
        if (cc) { graphs(cc); printf("%s", lbk_metrics_report(cc)); }
    } else {
        printf("skipped: device runs (no GPU here)\n");
    }
    lbk_ctx_destroy(cc);
    printf("lazybk-cuda: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
