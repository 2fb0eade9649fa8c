/* The CUDA backend, built with -DLAZYBK_CUDA (make cuda). On a machine without a driver:
   "cuda" is registered, not available, says why, and nothing breaks. With NVRTC (the
   toolkit): the kernels generated for a set of representative graphs (every op the
   backend runs, fused groups with broadcasting, reductions over several axis sets, data
   movement, decomposed composites) are compiled to PTX on every run. With a GPU: every op
   against the cpu reference (lbk_backend_check) and a fused chain checked against float64.
   Prints "lazybk-cuda: N passed, N failed" (and what was skipped). */
#define _XOPEN_SOURCE 700   /* setenv, mkdtemp, dirent */
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <math.h>
#include <dirent.h>
#include <dlfcn.h>
#include <unistd.h>
#include <pthread.h>
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

/* Representative graphs, built on ctx and synced; their values (as f64) appended to out. */
typedef struct vals { double *v; size_t n, cap; } vals;
static void keep(lbk_ctx *c, lbk_tensor *e, int n, vals *out) {
    for (int k = 0; k < n && out; k++) {
        int64_t m = lbk_numel(c, e[k]);
        if (out->n + (size_t)m > out->cap) { out->cap = (out->n + (size_t)m) * 2; out->v = realloc(out->v, sizeof(double) * out->cap); }
        CHECK(lbk_read_as(c, e[k], LBK_F64, out->v + out->n, sizeof(double) * (size_t)m) == LBK_OK, "read output %d: %s", k, lbk_ctx_error(c));
        out->n += (size_t)m;
    }
}
static void graphs(lbk_ctx *c, vals *out) {
    for (int f = 0; f < 2; f++) {
        lbk_dtype dt = f ? LBK_F64 : LBK_F32;
        int64_t d3[3] = {2, 3, 37}, row[1] = {37}, col[3] = {2, 3, 1}, m1[3] = {2, 5, 7}, m2[2] = {7, 4};
        lbk_tensor x = T(c, dt, 3, d3, 1), y = T(c, dt, 3, d3, 2), r = T(c, dt, 1, row, 3), k = T(c, dt, 3, col, 4);
        lbk_tensor e[32];
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
        e[n++] = lbk_linear(c, T(c, dt, 3, (int64_t[]){2, 5, 7}, 10), T(c, dt, 2, (int64_t[]){4, 7}, 11), T(c, dt, 1, (int64_t[]){4}, 12));   /* bias epilogue */
        /* composites: decomposed into the primitives above */
        e[n++] = lbk_softmax(c, x, -1);
        e[n++] = lbk_layer_norm(c, x, 1, r, r, 1e-5);
        e[n++] = lbk_gelu(c, x, true);
        CHECK(lbk_sync(c, e, n) == LBK_OK, "sync of the representative graphs (%s): %s", lbk_dtype_name(dt), lbk_ctx_error(c));
        keep(c, e, n, out);
    }
}

/* A number after `key` in the report (-1 if absent). */
static long long report_num(lbk_ctx *c, const char *key) {
    const char *r = strstr(lbk_metrics_report(c), key);
    return r ? atoll(r + strlen(key)) : -1;
}
static double urand(uint64_t *s) { *s = *s * 6364136223846793005ULL + 1442695040888963407ULL; return (double)(*s >> 11) / 9007199254740992.0; }
static bool close_to(double got, double want, double tol) { return isnan(want) ? isnan(got) : fabs(got - want) <= tol * (1 + fabs(want)); }
static lbk_tensor from_f64(lbk_ctx *c, lbk_dtype dt, int nd, const int64_t *d, const double *v) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= d[i];
    if (dt == LBK_F64) return lbk_from_host(c, dt, nd, d, v);
    float *f = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
    lbk_tensor t = lbk_from_host(c, dt, nd, d, f);
    free(f);
    return t;
}
static double as_dt(lbk_dtype dt, double v) { return dt == LBK_F32 ? (double)(float)v : v; }

/* Reductions big enough for the two-phase kernels, with and without a fused producer,
   over the last axis, the leading axis and everything, against float64 loops. */
static void big_reductions(lbk_ctx *c) {
    enum { R = 3, C = 5000 };
    static double x[R * C], want[C], got[C];
    uint64_t seed = 7;
    for (int i = 0; i < R * C; i++) x[i] = urand(&seed) * 4 - 2;
    x[C + 17] = NAN;   /* row 1 has a nan */
    int64_t d[2] = {R, C};
    int last[1] = {1}, first[1] = {0};
    for (int f = 0; f < 2; f++) {
        lbk_dtype dt = f ? LBK_F64 : LBK_F32;
        double tol = f ? 1e-13 : 2e-6;
        lbk_scope sc = lbk_scope_begin(c);
        lbk_tensor t = from_f64(c, dt, 2, d, x);
        /* sum((2x + 1) * x) over the last axis: the producer is fused, parts adjacent */
        lbk_tensor y = lbk_mul(c, lbk_add(c, lbk_mul(c, t, lbk_scalar(c, dt, 2)), lbk_scalar(c, dt, 1)), t);
        CHECK(lbk_read_as(c, lbk_sum(c, y, 1, last, false), LBK_F64, got, sizeof(double) * R) == LBK_OK, "%s", lbk_ctx_error(c));
        for (int r = 0; r < R; r++) {
            double acc = 0;
            for (int k = 0; k < C; k++) { double v = as_dt(dt, x[r * C + k]); acc += as_dt(dt, as_dt(dt, as_dt(dt, 2 * v) + 1) * v); }
            CHECK(close_to(got[r], acc, tol * 10), "%s fused sum row %d: %.17g, want %.17g", lbk_dtype_name(dt), r, got[r], acc);
        }
        /* mean over the leading axis (outputs adjacent), of plain data */
        CHECK(lbk_read_as(c, lbk_mean(c, t, 1, first, false), LBK_F64, got, sizeof(double) * C) == LBK_OK, "%s", lbk_ctx_error(c));
        for (int k = 0; k < C; k++) want[k] = (as_dt(dt, x[k]) + as_dt(dt, x[C + k]) + as_dt(dt, x[2 * C + k])) / 3;
        int bad = 0;
        for (int k = 0; k < C; k++) bad += !close_to(got[k], want[k], tol);
        CHECK(bad == 0, "%s mean over axis 0: %d wrong", lbk_dtype_name(dt), bad);
        /* amax / amin of exp(x) over the last axis: nan in row 1 */
        lbk_tensor e = lbk_exp(c, t);
        double mx[R], mn[R];
        CHECK(lbk_read_as(c, lbk_amax(c, e, 1, last, false), LBK_F64, mx, sizeof mx) == LBK_OK &&
              lbk_read_as(c, lbk_amin(c, e, 1, last, false), LBK_F64, mn, sizeof mn) == LBK_OK, "%s", lbk_ctx_error(c));
        for (int r = 0; r < R; r++) {
            double a = -INFINITY, b = INFINITY;
            for (int k = 0; k < C; k++) { double v = exp(as_dt(dt, x[r * C + k])); if (isnan(v)) { a = b = NAN; break; } a = v > a ? v : a; b = v < b ? v : b; }
            CHECK(close_to(mx[r], a, f ? 1e-15 : 1e-6) && close_to(mn[r], b, f ? 1e-15 : 1e-6), "%s amax/amin row %d: %g %g, want %g %g",
                  lbk_dtype_name(dt), r, mx[r], mn[r], a, b);
        }
        /* a full sum of 1.2M values of mixed magnitude (f64: compensated, to 1e-13) */
        int64_t big = 1200000;
        double *h = malloc(sizeof(double) * (size_t)big), sum = 0, s1;
        for (int64_t i = 0; i < big; i++) { h[i] = (urand(&seed) - 0.5) * (i % 3 == 0 ? 1e6 : 1e-3); }
        for (int64_t i = 0; i < big; i++) sum += as_dt(dt, h[i]);   /* in long double would be better; f64 loop is the reference at this tolerance */
        CHECK(lbk_read_as(c, lbk_sum(c, from_f64(c, dt, 1, &big, h), 0, NULL, false), LBK_F64, &s1, sizeof s1) == LBK_OK, "%s", lbk_ctx_error(c));
        CHECK(close_to(s1, sum, f ? 1e-9 : 1e-4), "%s full sum %.17g, want %.17g", lbk_dtype_name(dt), s1, sum);
        free(h);
        lbk_scope_end(c, sc, NULL, 0);
    }
}

/* Products with empty dims: K = 0 gives zeros, M = 0 an empty result. */
static void empty_products(lbk_ctx *c) {
    int64_t a0[2] = {3, 0}, b0[2] = {0, 4}, am[2] = {0, 5}, bm[2] = {5, 2};
    double z[12];
    lbk_tensor p = lbk_matmul(c, lbk_full(c, LBK_F32, 2, a0, 0), lbk_full(c, LBK_F32, 2, b0, 0));
    for (int i = 0; i < 12; i++) z[i] = 99;
    CHECK(lbk_read_as(c, p, LBK_F64, z, sizeof z) == LBK_OK, "K = 0 product: %s", lbk_ctx_error(c));
    int nz = 0;
    for (int i = 0; i < 12; i++) nz += z[i] != 0;
    CHECK(nz == 0, "K = 0 product: %d nonzero", nz);
    lbk_tensor q = lbk_matmul(c, lbk_full(c, LBK_F64, 2, am, 0), lbk_full(c, LBK_F64, 2, bm, 0));
    CHECK(lbk_sync(c, &q, 1) == LBK_OK && lbk_numel(c, q) == 0, "M = 0 product: %s", lbk_ctx_error(c));
    /* partly broadcast batch dims: cuBLAS cannot stride them, the cpu fallback runs it */
    int64_t dd[4] = {2, 1, 3, 4}, de[4] = {1, 2, 4, 2};
    double va[24], vb[16], out[24];
    uint64_t seed = 3;
    for (int i = 0; i < 24; i++) va[i] = urand(&seed);
    for (int i = 0; i < 16; i++) vb[i] = urand(&seed);
    int64_t fb = lbk_counter(c, "fallback_nodes");
    lbk_tensor r = lbk_matmul(c, lbk_from_host(c, LBK_F64, 4, dd, va), lbk_from_host(c, LBK_F64, 4, de, vb));   /* [2,2,3,2] */
    CHECK(lbk_read(c, r, out, sizeof out) == LBK_OK, "partly broadcast matmul: %s", lbk_ctx_error(c));
    int bad = 0;
    for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) for (int m = 0; m < 3; m++) for (int n = 0; n < 2; n++) {
        double acc = 0;
        for (int k = 0; k < 4; k++) acc += va[(i * 3 + m) * 4 + k] * vb[(j * 4 + k) * 2 + n];
        bad += !close_to(out[((i * 2 + j) * 3 + m) * 2 + n], acc, 1e-14);
    }
    CHECK(bad == 0 && lbk_counter(c, "fallback_nodes") > fb, "partly broadcast matmul: %d wrong, fallback nodes %lld", bad,
          (long long)(lbk_counter(c, "fallback_nodes") - fb));
}

/* Each context runs on its own stream; two threads with a context each. */
typedef struct worker { int id, ok; } worker;
static void *work(void *arg) {
    worker *w = (worker *)arg;
    lbk_ctx_desc d = {0};
    d.backend = "cuda";
    lbk_ctx *c = lbk_ctx_create(&d);
    int64_t n = 1000;
    double v[1000], got[1000];
    for (int i = 0; i < 1000; i++) v[i] = i * 0.001 + w->id;
    w->ok = c != NULL;
    lbk_tensor x = c ? lbk_from_host(c, LBK_F64, 1, &n, v) : (lbk_tensor){0};
    for (int it = 0; c && it < 20; it++) {
        lbk_scope s = lbk_scope_begin(c);
        lbk_tensor y = lbk_add(c, lbk_mul(c, x, lbk_scalar(c, LBK_F64, it)), lbk_scalar(c, LBK_F64, w->id));
        if (lbk_read(c, y, got, sizeof got) != LBK_OK) w->ok = 0;
        for (int i = 0; i < 1000; i++) if (got[i] != v[i] * it + w->id) w->ok = 0;
        lbk_scope_end(c, s, NULL, 0);
    }
    lbk_ctx_destroy(c);
    return NULL;
}
static void streams_and_threads(lbk_ctx *c) {
    lbk_ctx_desc d = {0};
    d.backend = "cuda";
    lbk_ctx *c2 = lbk_ctx_create(&d);
    int64_t n = 4;
    float v[4] = {1, 2, 3, 4}, o[4];
    CHECK(c2 && lbk_read(c2, lbk_neg(c2, lbk_from_host(c2, LBK_F32, 1, &n, v)), o, sizeof o) == LBK_OK && o[3] == -4, "second context");
    long long s2 = report_num(c, "context streams ");
    lbk_ctx_destroy(c2);
    long long s1 = report_num(c, "context streams ");
    CHECK(s2 >= 2 && s1 == s2 - 1, "a stream per context, released with it: %lld then %lld", s2, s1);
    pthread_t th[2];
    worker w[2] = {{1, 0}, {2, 0}};
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, work, &w[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(w[0].ok && w[1].ok, "two threads, a context each: %d %d", w[0].ok, w[1].ok);
}

/* Device ordinals: cuda:1 when there are two devices, a clear error past the last. */
static void ordinals(void) {
    lbk_device devs[16];
    const lbk_backend_i *b = g_cuda;
    int n = b->devices(g_cuda_self, devs, 16);
    lbk_ctx_desc d = {0};
    d.backend = "cuda:9";
    CHECK(lbk_ctx_create(&d) == NULL && lbk_last_result() == LBK_ERR_ARG && strstr(lbk_last_error(), "no device 9"),
          "cuda:9 refused: %s", lbk_last_error());
    if (n < 2) { printf("skipped: a second device (%d here)\n", n); return; }
    d.backend = "cuda:1";
    lbk_ctx *c = lbk_ctx_create(&d);
    CHECK(c && lbk_ctx_device(c).ordinal == 1, "a context on cuda:1: %s", lbk_last_error());
    int64_t m = 300;
    double v[300], o[300];
    for (int i = 0; i < 300; i++) v[i] = i;
    int bad = 0;
    if (c && lbk_read(c, lbk_sum(c, lbk_reshape(c, lbk_mul(c, lbk_from_host(c, LBK_F64, 1, &m, v), lbk_scalar(c, LBK_F64, 2)), 2, (int64_t[]){3, 100}), 0, NULL, true), o, sizeof(double)) == LBK_OK)
        bad = o[0] != 299 * 300;
    else bad = 1;
    CHECK(!bad, "a reduction on device 1: %s", c ? lbk_ctx_error(c) : "");
    CHECK(c && strstr(lbk_metrics_report(c), "cuda:1 ") != NULL, "the report lists device 1");
    lbk_ctx_destroy(c);
}

/* Large copies go through pinned staging; repeated syncs reuse pooled memory; out of
   memory is an error and the context goes on. */
static void transfers_pool_oom(lbk_ctx *c) {
    int64_t n = 3 << 20;   /* 12 MiB of f32 */
    float *h = malloc(sizeof(float) * (size_t)n), *o = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) h[i] = (float)(i % 1000) - 500;
    const char *rep = lbk_metrics_report(c);
    const char *st = strstr(rep, "to host ");
    long long before = st ? atoll(strchr(st, '(') + 1) : -1;
    lbk_tensor x = lbk_from_host(c, LBK_F32, 1, &n, h);
    CHECK(lbk_read(c, lbk_add(c, x, lbk_scalar(c, LBK_F32, 1)), o, sizeof(float) * (size_t)n) == LBK_OK, "%s", lbk_ctx_error(c));
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) bad += o[i] != h[i] + 1;
    CHECK(bad == 0, "12 MiB there and back: %lld wrong", (long long)bad);
    rep = lbk_metrics_report(c);
    st = strstr(rep, "to host ");
    long long after = st ? atoll(strchr(st, '(') + 1) : -1;
    CHECK(after >= before + 2 * (long long)n * 4, "both copies staged: %lld -> %lld bytes", before, after);
    lbk_release(c, x);
    /* the pool: the same graph again allocates nothing */
    int64_t m = 4096;
    long long allocs = 0;
    for (int it = 0; it < 4; it++) {
        lbk_scope s = lbk_scope_begin(c);
        lbk_tensor y = lbk_sum(c, lbk_tanh(c, lbk_from_host(c, LBK_F32, 1, &m, h)), 0, NULL, false);
        CHECK(lbk_sync(c, &y, 1) == LBK_OK, "%s", lbk_ctx_error(c));
        lbk_scope_end(c, s, NULL, 0);
        if (it == 1) allocs = report_num(c, "allocations ");
    }
    CHECK(report_num(c, "allocations ") == allocs, "repeated syncs allocate: %lld -> %lld", allocs, report_num(c, "allocations "));
    /* 256 GiB: more than any device has */
    int64_t huge[2] = {1 << 18, 1 << 18};
    lbk_tensor big = lbk_expand(c, lbk_reshape(c, lbk_scalar(c, LBK_F32, 1), 2, (int64_t[]){1, 1}), 2, huge);
    lbk_result r = lbk_sync(c, &big, 1);
    CHECK(r == LBK_ERR_OOM, "256 GiB: %s (%s)", lbk_result_str(r), lbk_ctx_error(c));
    lbk_release(c, big);
    lbk_ctx_clear_error(c);
    float one = 0;
    CHECK(lbk_read(c, lbk_scalar(c, LBK_F32, 5), &one, sizeof one) == LBK_OK && one == 5, "the context goes on after OOM: %s", lbk_ctx_error(c));
    free(h);
    free(o);
}


/* $LAZYBK_CUDA_CACHE: a second context compiles nothing for a graph the first one kept; a
   damaged file is compiled again and rewritten. */
static lbk_result cache_run(lbk_ctx *c, double *out) {
    int64_t n = 77;
    lbk_tensor x = lbk_arange(c, LBK_F64, 0, 77, 1);
    return lbk_read(c, lbk_sin(c, lbk_mul(c, x, lbk_scalar(c, LBK_F64, 0.125))), out, sizeof(double) * (size_t)n);
}
static void disk_cache(void) {
    char dir[] = "/tmp/lbk-kcache-XXXXXX", path[512] = "";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    setenv("LAZYBK_CUDA_CACHE", dir, 1);
    lbk_ctx_desc d = {0};
    d.backend = "cuda";
    double out[77];
    long long nv[4], hits[4];
    for (int round = 0; round < 4; round++) {
        lbk_ctx *c = lbk_ctx_create(&d);
        int bad = cache_run(c, out) != LBK_OK;
        for (int i = 0; i < 77 && !bad; i++) bad = fabs(out[i] - sin(i * 0.125)) > 1e-15;
        CHECK(!bad, "kernel cache round %d: %s", round, lbk_ctx_error(c));
        nv[round] = report_num(c, "(NVRTC ");
        hits[round] = report_num(c, "kernel cache files ");
        lbk_ctx_destroy(c);
        if (round == 1) {   /* damage the PTX after the kept source */
            DIR *dd = opendir(dir);
            struct dirent *e;
            while (dd && (e = readdir(dd)) != NULL)
                if (strstr(e->d_name, ".ptx")) snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (dd) closedir(dd);
            FILE *f = fopen(path, "r+b");
            char buf[8192];
            size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
            char *z = len ? memchr(buf, 0, len) : NULL;
            CHECK(f && z, "a kept file at %s", path);
            if (f && z) { fseek(f, (long)(z - buf) + 1, SEEK_SET); fputs("garbage, not PTX", f); }
            if (f) fclose(f);
        }
    }
    CHECK(hits[1] == hits[0] + 1 && nv[1] == nv[0], "the second context read the kept file: NVRTC %lld -> %lld, files %lld -> %lld", nv[0], nv[1], hits[0], hits[1]);
    CHECK(nv[2] == nv[1] + 1 && hits[2] == hits[1], "a damaged file is compiled again: NVRTC %lld -> %lld", nv[1], nv[2]);
    CHECK(hits[3] == hits[2] + 1 && nv[3] == nv[2], "and rewritten: files %lld -> %lld", hits[2], hits[3]);
    unsetenv("LAZYBK_CUDA_CACHE");
    remove(path);
    rmdir(dir);
}

/* An NVRTC error reaches the context's error with the compiler's log, and the context
   goes on (on the emulated device, which can be asked to fail; skipped on a GPU). */
static void nvrtc_error(void) {
    void *h = dlopen("libnvrtc.so", RTLD_NOW | RTLD_NOLOAD);
    if (!h || !dlsym(h, "lbkfake_nvrtc")) { printf("skipped: NVRTC error injection (not the emulated device)\n"); if (h) dlclose(h); return; }
    dlclose(h);
    lbk_ctx_desc d = {0};
    d.backend = "cuda";
    lbk_ctx *c = lbk_ctx_create(&d);
    int64_t n = 33;
    double out[33];
    setenv("LBK_FAKE_NVRTC_FAIL", "1", 1);
    lbk_tensor y = lbk_cos(c, lbk_arange(c, LBK_F64, 0, 33, 1));
    lbk_result r = lbk_sync(c, &y, 1);
    unsetenv("LBK_FAKE_NVRTC_FAIL");
    CHECK(r == LBK_ERR_BACKEND && strstr(lbk_ctx_error(c), "NVRTC could not compile") && strstr(lbk_ctx_error(c), "as asked by LBK_FAKE_NVRTC_FAIL"),
          "the NVRTC log in the context's error: %s", lbk_ctx_error(c));
    lbk_ctx_clear_error(c);
    CHECK(lbk_read(c, lbk_cos(c, lbk_arange(c, LBK_F64, 0, 33, 1)), out, sizeof(double) * (size_t)n) == LBK_OK && out[32] == cos(32.0),
          "the context goes on: %s", lbk_ctx_error(c));
    lbk_ctx_destroy(c);
}

/* linear without an activation: the bias is the product's epilogue (cuBLASLt), or a kernel
   after it (on the emulated device, asked to refuse cuBLASLt); 2-d and batched 3-d inputs,
   against float64. */
static void bias_epilogue(lbk_ctx *c) {
    int64_t dx[3] = {3, 9, 13}, dw[2] = {6, 13}, db = 6;
    double x[351], w[78], b[6], out[162];
    uint64_t seed = 11;
    for (int i = 0; i < 351; i++) x[i] = urand(&seed) - 0.5;
    for (int i = 0; i < 78; i++) w[i] = urand(&seed) - 0.5;
    for (int i = 0; i < 6; i++) b[i] = urand(&seed);
    void *h = dlopen("libnvrtc.so", RTLD_NOW | RTLD_NOLOAD);
    bool fake = h && dlsym(h, "lbkfake_nvrtc");
    if (h) dlclose(h);
    for (int round = 0; round < (fake ? 2 : 1); round++) {
        if (round) setenv("LBK_FAKE_LT_UNSUPPORTED", "1", 1);
        long long lt0 = report_num(c, "bias epilogues "), k0 = report_num(c, "in cuBLASLt, ");
        for (int f = 0; f < 2; f++)
            for (int nd = 2; nd <= 3; nd++) {
                lbk_dtype dt = f ? LBK_F64 : LBK_F32;
                int64_t d2[2] = {27, 13};
                lbk_tensor X = from_f64(c, dt, nd, nd == 3 ? dx : d2, x), W = from_f64(c, dt, 2, dw, w), B = from_f64(c, dt, 1, &db, b);
                CHECK(lbk_read_as(c, lbk_linear(c, X, W, B), LBK_F64, out, sizeof out) == LBK_OK, "%s", lbk_ctx_error(c));
                int bad = 0;
                for (int r = 0; r < 27; r++)
                    for (int o = 0; o < 6; o++) {
                        double a = as_dt(dt, b[o]);
                        for (int k = 0; k < 13; k++) a += as_dt(dt, x[r * 13 + k]) * as_dt(dt, w[o * 13 + k]);
                        bad += !close_to(out[r * 6 + o], a, f ? 1e-13 : 1e-5);
                    }
                CHECK(bad == 0, "linear %s %d-d, %s: %d wrong", lbk_dtype_name(dt), nd, round ? "bias kernel" : "cuBLASLt", bad);
            }
        long long lt1 = report_num(c, "bias epilogues "), k1 = report_num(c, "in cuBLASLt, ");
        CHECK(round ? (lt1 == lt0 && k1 >= k0 + 4) : (lt1 + k1 >= lt0 + k0 + 4), "bias epilogues: cuBLASLt %lld -> %lld, kernels %lld -> %lld", lt0, lt1, k0, k1);
        if (round) unsetenv("LBK_FAKE_LT_UNSUPPORTED");
    }
}

/* The public device calls on the cuda backend (a GPU or the emulated one: two devices). */
static void device_api_tests(void) {
    lbk_device devs[8], dev0 = {LBK_DEVICE_CUDA, 0}, comp[4];
    size_t fr = 0, tot = 0;
    int n = lbk_backend_devices("cuda", devs, 8);
    CHECK(n >= 1 && devs[0].type == LBK_DEVICE_CUDA && devs[0].ordinal == 0, "lbk_backend_devices(cuda): %d", n);
    CHECK(lbk_backend_memory_info("cuda", dev0, &fr, &tot) == LBK_OK && tot > 0 && fr <= tot, "memory_info: %s", lbk_last_error());
    CHECK(lbk_backend_compilation_devices("cuda", dev0, comp, 4) == 1 && comp[0].ordinal == 0, "compilation_devices");
    CHECK(lbk_backend_set_default_device("cuda", LBK_DEVICE_CUDA, n) == LBK_ERR_ARG, "an ordinal past the devices is refused");
    if (n >= 2) {
        lbk_ctx_desc d;
        lbk_ctx *c;
        memset(&d, 0, sizeof d);
        d.backend = "cuda";
        CHECK(lbk_backend_set_default_device("cuda", -1, 1) == LBK_OK, "set_default_device(cuda, 1): %s", lbk_last_error());
        c = lbk_ctx_create(&d);
        CHECK(c && lbk_ctx_device(c).ordinal == 1, "a new context opens on the new default");
        lbk_ctx_destroy(c);
        CHECK(lbk_backend_set_default_device("cuda", -1, 0) == LBK_OK, "and back");
    }
}

static void device_tests(lbk_ctx *cc) {
    /* the representative graphs, against the cpu backend (checked against float64 by make test) */
    vals got = {0}, want = {0};
    lbk_ctx *cpu = lbk_ctx_create(NULL);
    graphs(cc, &got);
    graphs(cpu, &want);
    lbk_ctx_destroy(cpu);
    int bad = 0;
    for (size_t i = 0; i < got.n && i < want.n; i++) bad += !close_to(got.v[i], want.v[i], 2e-5);
    CHECK(got.n == want.n && got.n > 1000 && bad == 0, "representative graphs: %zu values, %zu from cpu, %d differ", got.n, want.n, bad);
    free(got.v); free(want.v);
    {   /* a compensated sum over an infinity is that infinity (fuzz-diff found NaN: inf - inf in the
           compensation), one and two phases, and logsumexp over it as on the cpu */
        int64_t n2 = 2, nb = 100000;
        float x2[2] = {INFINITY, 1}, o = 0;
        float *xb = (float *)calloc((size_t)nb, sizeof(float));
        xb[777] = -INFINITY;
        CHECK(lbk_read(cc, lbk_sum(cc, lbk_from_host(cc, LBK_F32, 1, &n2, x2), 0, NULL, false), &o, 4) == LBK_OK && isinf(o) && o > 0,
              "sum([inf, 1]) is inf (got %g)", o);
        CHECK(lbk_read(cc, lbk_logsumexp(cc, lbk_from_host(cc, LBK_F32, 1, &n2, x2), 0, false), &o, 4) == LBK_OK && isinf(o) && o > 0,
              "logsumexp([inf, 1]) is inf (got %g)", o);
        CHECK(lbk_read(cc, lbk_mean(cc, lbk_from_host(cc, LBK_F32, 1, &nb, xb), 0, NULL, false), &o, 4) == LBK_OK && isinf(o) && o < 0,
              "the two-phase mean of 100000 values with one -inf is -inf (got %g)", o);
        free(xb);
    }
    {   /* lbk_backend_text is the generated source: a fused reduction reads no stored producer */
        int64_t n = 4096;
        lbk_tensor x = lbk_full(cc, LBK_F32, 1, &n, 0.5), y = lbk_sum(cc, lbk_exp(cc, lbk_mul(cc, x, x)), 0, NULL, false);
        const char *src = lbk_backend_text(cc, &y, 1);
        CHECK(src && strstr(src, "__global__") && strstr(src, "part[i]") && !strstr(src, "o2[i]"), "the generated source:\n%s", src ? src : "(null)");
    }
    big_reductions(cc);
    empty_products(cc);
    bias_epilogue(cc);
    streams_and_threads(cc);
    ordinals();
    transfers_pool_oom(cc);
    disk_cache();
    nvrtc_error();
    printf("%s", lbk_metrics_report(cc));
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
    char *ptx = NULL, *log = NULL, *src0 = NULL;
    (void)lbk_ctx_create(&(lbk_ctx_desc){.backend = "no-such-backend"});   /* a stale error to be replaced */
    CHECK(lbk_cuda_source(NULL, &src0) == LBK_ERR_ARG && src0 == NULL && strstr(lbk_last_error(), "lbk_cuda_source: NULL graph"),
          "lbk_cuda_source(NULL) says so in lbk_last_error (got '%s')", lbk_last_error());
    CHECK(lbk_cuda_ptx(NULL, "compute_80", &ptx, &log) == LBK_ERR_ARG && strstr(lbk_last_error(), "lbk_cuda_ptx: NULL src"),
          "lbk_cuda_ptx(NULL) says so (got '%s')", lbk_last_error());
    lbk_result nv = lbk_cuda_ptx("extern \"C\" __global__ void k(float *x) { x[0] = 1; }", "compute_80", &ptx, &log);
    free(ptx); free(log);
    CHECK(nv != LBK_OK || lbk_last_error()[0] == 0, "a successful lbk_cuda_ptx clears lbk_last_error (got '%s')", lbk_last_error());
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
        graphs(c, NULL);
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

    /* 3. on a GPU (or the host emulation of tests/cuda/fake): every op against the cpu
          reference, the representative graphs against the cpu backend, and the device
          machinery (two-phase and fused reductions, empty products, streams per context,
          threads, ordinals, pinned staging, the pool, out of memory) */
    if (gpu) {
        CHECK(cc != NULL, "a context on cuda: %s", lbk_last_error());
        CHECK(lbk_backend_check("cuda", 1e-4, stdout) == LBK_OK, "lbk_backend_check(cuda)");
        if (cc) device_tests(cc);
        device_api_tests();
    } else {
        printf("skipped: device runs (no GPU here)\n");
    }
    lbk_ctx_destroy(cc);
    printf("lazybk-cuda: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
