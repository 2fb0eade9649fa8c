/* Shared helpers for the lazybk test suite (cmocka). References are computed here, in
   float64 or int64 loops written independently of the library. */
#ifndef LAZYBK_TEST_COMMON_H
#define LAZYBK_TEST_COMMON_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <dlpack/dlpack.h>   /* before lazybk.h: the DLPack functions are compiled and declared */
#include "lazybk.h"

typedef struct test_group { const char *name; const struct CMUnitTest *tests; size_t n; } test_group;
#define TEST_GROUP(name, arr) const test_group name = {#name, arr, sizeof(arr) / sizeof(arr[0])}

static inline lbk_ctx *tctx(void) {
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    assert_non_null(ctx);
    return ctx;
}

/* A context on the named backend (which must open). */
static inline lbk_ctx *tctx_on(const char *backend) {
    lbk_ctx_desc d = {0};
    d.backend = backend;
    lbk_ctx *ctx = lbk_ctx_create(&d);
    assert_non_null(ctx);
    return ctx;
}

/* A context on the reference path, where every composite goes through its decomposition. */
static inline lbk_ctx *tctx_ref(void) { return tctx_on("cpu-reference"); }

/* xorshift64*: deterministic test data */
static inline double trand(uint64_t *s) {
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}
static inline void tfill(double *d, int64_t n, double lo, double hi, uint64_t seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (int64_t i = 0; i < n; i++) d[i] = lo + (hi - lo) * trand(&s);
}
static inline int64_t tnumel(int nd, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= dims[i];
    return n;
}

/* A whole file into malloc'd memory (the caller frees it), and back out. */
static inline unsigned char *tfile_read(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = (unsigned char *)malloc(*n + 1);
    assert_int_equal(fread(p, 1, *n, f), *n);
    fclose(f);
    return p;
}
static inline void tfile_write(const char *path, const unsigned char *p, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Host data of dtype dt from doubles. */
static inline lbk_tensor tfrom(lbk_ctx *ctx, lbk_dtype dt, int nd, const int64_t *dims, const double *v) {
    int64_t n = tnumel(nd, dims);
    void *buf = malloc((size_t)(n ? n : 1) * 8);
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case LBK_F32: ((float *)buf)[i] = (float)v[i]; break;
        case LBK_F64: ((double *)buf)[i] = v[i]; break;
        case LBK_I32: ((int32_t *)buf)[i] = (int32_t)v[i]; break;
        case LBK_I64: ((int64_t *)buf)[i] = (int64_t)v[i]; break;
        case LBK_F16: case LBK_BF16: lbk_store_f64(dt, buf, i, v[i]); break;   /* rounded to nearest even */
        case LBK_I8: case LBK_U8: lbk_store_i64(dt, buf, i, (int64_t)v[i]); break;
        default: ((uint8_t *)buf)[i] = v[i] != 0; break;
        }
    }
    lbk_tensor t = lbk_from_host(ctx, dt, nd, dims, buf);
    free(buf);
    return t;
}
/* The tensor's values as doubles (read natively, converted here). */
static inline void tread(lbk_ctx *ctx, lbk_tensor t, double *out) {
    int64_t n = lbk_numel(ctx, t);
    lbk_dtype dt = lbk_type(ctx, t);
    assert_true(n >= 0);
    void *buf = malloc((size_t)(n ? n : 1) * 8);
    lbk_result r = lbk_read(ctx, t, buf, (size_t)n * lbk_dtype_size(dt));
    if (r != LBK_OK) fail_msg("lbk_read: %s", lbk_ctx_error(ctx));
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case LBK_F32: out[i] = ((float *)buf)[i]; break;
        case LBK_F64: out[i] = ((double *)buf)[i]; break;
        case LBK_I32: out[i] = ((int32_t *)buf)[i]; break;
        case LBK_I64: out[i] = (double)((int64_t *)buf)[i]; break;
        case LBK_F16: case LBK_BF16: out[i] = lbk_load_f64(dt, buf, i); break;
        case LBK_I8: out[i] = ((int8_t *)buf)[i]; break;
        default: out[i] = ((uint8_t *)buf)[i]; break;
        }
    }
    free(buf);
}
/* |got - ref| <= tol * (1 + |ref|), nan matching nan, inf matching inf */
static inline void tclose(const double *got, const double *ref, int64_t n, double tol, const char *what) {
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], r = ref[i];
        if (isnan(r) && isnan(g)) continue;
        if (isinf(r) && g == r) continue;
        if (!(fabs(g - r) <= tol * (1 + fabs(r))))
            fail_msg("%s: element %lld: got %.17g, expected %.17g", what, (long long)i, g, r);
    }
}
/* Flat index into an input of shape (ind, idims) broadcast against out (ond, odims). */
static inline int64_t tbidx(int64_t flat, int ond, const int64_t *odims, int ind, const int64_t *idims) {
    int64_t idx = 0, stride = 1;
    for (int d = ond - 1; d >= 0; d--) {
        int64_t c = flat % odims[d];
        flat /= odims[d];
        int j = d - (ond - ind);
        if (j >= 0) {
            if (idims[j] != 1) idx += c * stride;
            stride *= idims[j];
        }
    }
    return idx;
}
/* The context must hold no error. */
#define assert_ctx_ok(ctx) do { if (lbk_ctx_result(ctx) != LBK_OK) fail_msg("context error: %s", lbk_ctx_error(ctx)); } while (0)
#define assert_contains(hay, needle) do { const char *h_ = (hay); if (!h_ || !strstr(h_, (needle))) \
    fail_msg("'%s' not found in: %s", (needle), h_ ? h_ : "(null)"); } while (0)

/* A backend that forwards to the cpu backend, with knobs to make it fail. */
typedef struct mock_backend {
    const lbk_backend_i *cpu;
    void *cpu_self;
    int fail_execute;        /* return LBK_ERR_BACKEND from execute */
    int wrong_outputs;       /* report one output fewer */
    int null_output;         /* leave output 0 NULL */
    int fail_compile;
    int64_t fail_handle;     /* debug handle to blame, -1 none */
    int available;
    int exits, compiles, executes;
    /* what the last compile saw through the graph view */
    uint32_t seen_nodes, seen_params, seen_outputs;
    int seen_axes[LAZYBK_MAX_DIMS], seen_n_axes, seen_perm[LAZYBK_MAX_DIMS], seen_has_perm;
    int seen_slice_axis; int64_t seen_slice_start, seen_slice_step;
    int seen_scalar_params;
    bool decline[LBK_OP_COUNT];   /* ops the mock's supports_op refuses (composites always) */
    int perturb;                  /* add 1 to the first element of every output: a wrong backend */
} mock_backend;
lbk_backend_i mock_iface(const char *name);
extern mock_backend g_mock;

#endif
