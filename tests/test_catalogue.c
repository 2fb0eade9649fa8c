/* The bad-input catalogue: each case makes one bad call and checks the exact result, that
   the message names the call (op), the shapes where there are shapes, and the traced
   location (this file) where an op records it; then that the context still computes
   correctly. Leaks are LSan's and valgrind's business (make sanitize, make valgrind). */
#include "common.h"
#include <stdio.h>

typedef struct bad { lbk_result r; const char *n1, *n2, *n3; } bad;
#define WANT(res, a, b, c) do { w->r = (res); w->n1 = (a); w->n2 = (b); w->n3 = (c); } while (0)
static const char *HERE = "test_catalogue.c:";

/* Runs case k on ctx; returns what the call returned (ops: the context's result), and in
   *w what it should be. -1: no such case. lim is a context with max_memory_bytes 1 MiB. */
static int run_case(int k, lbk_ctx *ctx, lbk_ctx *other, lbk_ctx *lim, bad *w, lbk_ctx **where) {
    int64_t d23[2] = {2, 3}, d32[2] = {3, 2}, d4[1] = {4}, d3[1] = {3}, big[3] = {1LL << 40, 1LL << 40, 1LL << 40}, neg[2] = {2, -1};
    double v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    lbk_tensor a = tfrom(ctx, LBK_F32, 2, d23, v), b = tfrom(ctx, LBK_F32, 2, d32, v), c = tfrom(ctx, LBK_F32, 1, d4, v);
    lbk_tensor i = tfrom(ctx, LBK_I32, 2, d23, v), bo = lbk_gt(ctx, a, lbk_scalar(ctx, LBK_F32, 3)), none = {0};
    int ax1[1] = {5}, ax2[2] = {0, 0}, perm_dup[2] = {0, 0}, perm_bad[2] = {0, 2};
    float buf[64];
    lbk_result r = LBK_OK;
    switch (k) {
    /* elementwise: shapes and dtypes */
    case 0: WANT(LBK_ERR_SHAPE, "lbk_add", "f32[2,3]", "f32[4]"); lbk_add(ctx, a, c); break;
    case 1: WANT(LBK_ERR_SHAPE, "lbk_sub", "f32[2,3]", "f32[3,2]"); lbk_sub(ctx, a, b); break;
    case 2: WANT(LBK_ERR_SHAPE, "lbk_mul", "f32[4]", "f32[2,3]"); lbk_mul(ctx, c, a); break;
    case 3: WANT(LBK_ERR_SHAPE, "lbk_div", "f32[2,3]", HERE); lbk_div(ctx, a, b); break;
    case 4: WANT(LBK_ERR_SHAPE, "lbk_pow", "f32[2,3]", HERE); lbk_pow(ctx, a, c); break;
    case 5: WANT(LBK_ERR_SHAPE, "lbk_maximum", "f32[2,3]", HERE); lbk_maximum(ctx, a, c); break;
    case 6: WANT(LBK_ERR_SHAPE, "lbk_eq", "f32[2,3]", HERE); lbk_eq(ctx, a, c); break;
    case 7: WANT(LBK_ERR_SHAPE, "lbk_logical_and", "[2,3]", HERE); lbk_logical_and(ctx, bo, c); break;
    case 8: WANT(LBK_ERR_ARG, "lbk_logical_not", "{0}", HERE); lbk_logical_not(ctx, none); break;
    case 9: WANT(LBK_ERR_DTYPE, "lbk_where", "f32[2,3]", HERE); lbk_where(ctx, a, a, a); break;
    case 10: WANT(LBK_ERR_SHAPE, "lbk_where", "bool[2,3]", HERE); lbk_where(ctx, bo, a, c); break;
    case 11: WANT(LBK_ERR_DTYPE, "lbk_neg", "bool", HERE); lbk_neg(ctx, bo); break;
    case 12: WANT(LBK_ERR_DTYPE, "lbk_cast", "dtype", HERE); lbk_cast(ctx, a, (lbk_dtype)99); break;
    /* matmul */
    case 13: WANT(LBK_ERR_SHAPE, "lbk_matmul", "f32[2,3]", "f32[2,3]"); lbk_matmul(ctx, a, a); break;
    case 14: WANT(LBK_ERR_SHAPE, "lbk_matmul", "f32[4]", HERE); lbk_matmul(ctx, c, a); break;
    case 15: WANT(LBK_ERR_SHAPE, "lbk_matmul", "f32[2,3]", HERE);
             lbk_matmul(ctx, lbk_reshape(ctx, tfrom(ctx, LBK_F32, 2, d23, v), 3, (int64_t[]){2, 1, 3}), lbk_reshape(ctx, tfrom(ctx, LBK_F32, 2, d23, v), 3, (int64_t[]){3, 3, 2}));
             if (lbk_ctx_result(ctx) != LBK_OK) { lbk_ctx_clear_error(ctx); } lbk_matmul(ctx, a, c); break;
    /* reductions */
    case 16: WANT(LBK_ERR_ARG, "lbk_sum", "5", HERE); lbk_sum(ctx, a, 1, ax1, false); break;
    case 17: WANT(LBK_ERR_ARG, "lbk_mean", "0", HERE); lbk_mean(ctx, a, 2, ax2, false); break;
    case 18: WANT(LBK_ERR_ARG, "lbk_amax", "-3", HERE); lbk_amax(ctx, a, 1, (int[]){-3}, false); break;
    case 19: WANT(LBK_ERR_ARG, "lbk_argmax", "axis", HERE); lbk_argmax(ctx, a, 2, false); break;
    case 20: WANT(LBK_ERR_ARG, "lbk_var", "correction", HERE); lbk_var(ctx, a, 0, NULL, -1, false); break;
    case 21: WANT(LBK_ERR_ARG, "lbk_sum", "axes", HERE); lbk_sum(ctx, a, 3, NULL, false); break;
    /* shape ops */
    case 22: WANT(LBK_ERR_SHAPE, "lbk_reshape", "f32[2,3]", HERE); lbk_reshape(ctx, a, 2, (int64_t[]){4, 2}); break;
    case 23: WANT(LBK_ERR_SHAPE, "lbk_reshape", "more than one -1", HERE); lbk_reshape(ctx, a, 2, (int64_t[]){-1, -1}); break;
    case 24: WANT(LBK_ERR_ARG, "lbk_permute", "perm", HERE); lbk_permute(ctx, a, perm_dup); break;
    case 25: WANT(LBK_ERR_ARG, "lbk_permute", "perm", HERE); lbk_permute(ctx, a, perm_bad); break;
    case 26: WANT(LBK_ERR_ARG, "lbk_transpose", "axis", HERE); lbk_transpose(ctx, a, 0, 7); break;
    case 27: WANT(LBK_ERR_SHAPE, "lbk_expand", "f32[2,3]", HERE); lbk_expand(ctx, a, 2, (int64_t[]){4, 3}); break;
    case 28: WANT(LBK_ERR_ARG, "lbk_slice", "axis", HERE); lbk_slice(ctx, a, 4, 0, 1, 1); break;
    case 29: WANT(LBK_ERR_ARG, "lbk_slice", "step", HERE); lbk_slice(ctx, a, 1, 0, 2, 0); break;
    case 30: WANT(LBK_ERR_SHAPE, "lbk_concat", "f32[2,3]", "f32[3,2]"); lbk_concat(ctx, (lbk_tensor[]){a, b}, 2, 0); break;
    case 31: WANT(LBK_ERR_ARG, "lbk_concat", "axis", HERE); lbk_concat(ctx, (lbk_tensor[]){a, a}, 2, 3); break;
    case 32: WANT(LBK_ERR_ARG, "lbk_concat", "0", HERE); lbk_concat(ctx, NULL, 0, 0); break;
    /* composites */
    case 33: WANT(LBK_ERR_ARG, "lbk_softmax", "axis", HERE); lbk_softmax(ctx, a, 2); break;
    case 34: WANT(LBK_ERR_ARG, "lbk_log_softmax", "axis", HERE); lbk_log_softmax(ctx, a, -3); break;
    case 35: WANT(LBK_ERR_ARG, "lbk_layer_norm", "f32[2,3]", HERE); lbk_layer_norm(ctx, a, 3, none, none, 1e-5); break;
    case 36: WANT(LBK_ERR_SHAPE, "lbk_layer_norm", "f32[4]", "f32[2,3]"); lbk_layer_norm(ctx, a, 1, c, none, 1e-5); break;
    case 37: WANT(LBK_ERR_ARG, "lbk_rms_norm", "eps", HERE); lbk_rms_norm(ctx, a, 1, none, -1); break;
    case 38: WANT(LBK_ERR_SHAPE, "lbk_linear", "f32[2,3]", "f32[4]"); lbk_linear(ctx, a, c, none); break;
    case 39: WANT(LBK_ERR_SHAPE, "lbk_linear", "bias f32[4]", HERE); lbk_linear(ctx, a, a, c); break;
    case 40: WANT(LBK_ERR_ARG, "lbk_logsumexp", "axis", HERE); lbk_logsumexp(ctx, a, 9, false); break;
    /* creation: sizes, dtypes, arguments */
    case 41: WANT(LBK_ERR_SHAPE, "lbk_full", "negative", HERE); lbk_full(ctx, LBK_F32, 2, neg, 1); break;
    case 42: WANT(LBK_ERR_SHAPE, "lbk_empty", "more than 2^63 elements", HERE); lbk_empty(ctx, LBK_F32, 3, big); break;
    case 43: WANT(LBK_ERR_ARG, "lbk_from_host", "NULL", HERE); lbk_from_host(ctx, LBK_F32, 1, d3, NULL); break;
    case 44: WANT(LBK_ERR_DTYPE, "lbk_from_host", "dtype", HERE); lbk_from_host(ctx, (lbk_dtype)0, 1, d3, v); break;
    case 45: WANT(LBK_ERR_ARG, "lbk_full", "n_dims", HERE); lbk_full(ctx, LBK_F32, LAZYBK_MAX_DIMS + 1, d23, 0); break;
    case 46: WANT(LBK_ERR_DTYPE, "lbk_rand", "i32", HERE); lbk_rand(ctx, LBK_I32, 1, d3); break;
    case 47: WANT(LBK_ERR_ARG, "lbk_arange", "step", HERE); lbk_arange(ctx, LBK_F32, 0, 5, 0); break;
    case 48: WANT(LBK_ERR_ARG, "lbk_arange", "nan", HERE); lbk_arange(ctx, LBK_F32, NAN, 5, 1); break;
    case 49: WANT(LBK_ERR_DTYPE, "lbk_scalar", "dtype", HERE); lbk_scalar(ctx, (lbk_dtype)42, 1); break;
    /* handles */
    case 50: WANT(LBK_ERR_ARG, "lbk_exp", "{0}", HERE); lbk_exp(ctx, none); break;
    case 51: { lbk_tensor s = lbk_exp(ctx, a); lbk_release(ctx, s); WANT(LBK_ERR_STALE, "lbk_exp", "released", HERE); lbk_exp(ctx, s); break; }
    case 52: { lbk_tensor f = lbk_scalar(other, LBK_F32, 1); WANT(LBK_ERR_STALE, "lbk_add", "another context", HERE); lbk_add(ctx, a, f); break; }
    case 53: WANT(LBK_ERR_STALE, "lbk_read", "never issued", NULL); r = lbk_read(ctx, (lbk_tensor){(a.id & ~(uint64_t)0xffffffff) | (uint32_t)(a.id + 999999)}, buf, sizeof buf); break;
    /* reads and syncs */
    case 54: WANT(LBK_ERR_ARG, "lbk_read", "f32[2,3]", "24"); r = lbk_read(ctx, a, buf, 8); break;
    case 55: WANT(LBK_ERR_ARG, "lbk_read", "NULL", NULL); r = lbk_read(ctx, a, NULL, 24); break;
    case 56: WANT(LBK_ERR_DTYPE, "lbk_read_as", "dtype", NULL); r = lbk_read_as(ctx, a, (lbk_dtype)99, buf, sizeof buf); break;
    case 57: WANT(LBK_ERR_ARG, "lbk_sync", "list", NULL); r = lbk_sync(ctx, NULL, 3); break;
    case 58: WANT(LBK_ERR_ARG, "lbk_sync", "list", NULL); r = lbk_sync(ctx, &a, -1); break;
    /* modules */
    case 59: { lbk_module *m = lbk_module_create(ctx, "M"); WANT(LBK_ERR_ARG, "lbk_method_end", "without lbk_method_begin", NULL);
               r = lbk_method_end(m, &a, 1); lbk_module_destroy(m); break; }
    case 60: { lbk_module *m = lbk_module_create(ctx, "M"); lbk_tensor x, y;
               lbk_method_begin(m, "f", 1, (lbk_dtype[]){LBK_F32}, (int[]){1}, (const int64_t *[]){d3}, &x);
               WANT(LBK_ERR_BUSY, "lbk_method_begin", "being traced", NULL);
               r = lbk_method_begin(m, "g", 1, (lbk_dtype[]){LBK_F32}, (int[]){1}, (const int64_t *[]){d3}, &y);
               lbk_module_destroy(m); break; }
    case 61: { lbk_module *m = lbk_module_create(ctx, "M"); WANT(LBK_ERR_NOT_FOUND, "lbk_module_run", "no method 'forward'", NULL);
               r = lbk_module_run(m, "forward", &a, 1, &c, 1); lbk_module_destroy(m); break; }
    case 62: WANT(LBK_ERR_IO, "lbk_module_load", "cannot open", NULL); if (lbk_module_load(ctx, "build/no-such-module")) r = LBK_OK; else r = lbk_ctx_result(ctx); break;
    case 63: WANT(LBK_ERR_FORMAT, "lbk_module_load_memory", "not a lazybk module", NULL); r = lbk_module_load_memory(ctx, "LBKXXXXX and more bytes than 32 in all......", 44) ? LBK_OK : lbk_ctx_result(ctx); break;
    case 64: { lbk_value *spec = lbk_value_dict(); lbk_module *m = lbk_module_create(ctx, "M");
               WANT(LBK_ERR_ARG, "lbk_to_backend", "non-empty dict", NULL); r = lbk_to_backend(m, "cpu", spec) ? LBK_OK : lbk_ctx_result(ctx);
               lbk_value_free(spec); lbk_module_destroy(m); break; }
    /* files */
    case 65: WANT(LBK_ERR_IO, "lbk_load_npy", "cannot open", HERE); lbk_load_npy(ctx, "build/no-such.npy"); break;
    case 66: WANT(LBK_ERR_ARG, "lbk_save_npy", "path", NULL); r = lbk_save_npy(ctx, a, NULL); break;
    case 67: WANT(LBK_ERR_ARG, "lbk_from_dlpack", "NULL", HERE); lbk_from_dlpack(ctx, NULL); break;
    /* integer overflow in sizes; a decomposition missing */
    case 68: WANT(LBK_ERR_SHAPE, "lbk_reshape", "f32[2,3]", HERE); lbk_reshape(ctx, a, 3, big); break;
    case 69: {   /* no decomposition implementation: a declined composite cannot run */
        const lbk_decomp_i *impl;
        void *self;
        float o3[3];
        lbk_tensor sm = lbk_softmax(other, lbk_full(other, LBK_F32, 1, d3, 1), 0);
        impl = lbk_decomp_get_impl(&self);
        lbk_decomp_set_impl(NULL, NULL);
        WANT(LBK_ERR_UNSUPPORTED, "softmax", "decomposition", HERE);
        *where = other;
        r = lbk_sync(other, &sm, 1);
        lbk_decomp_set_impl(impl, self);
        if (lbk_read(other, sm, o3, sizeof o3) != LBK_OK) lbk_ctx_clear_error(other);   /* works again (checked by the driver) */
        return (int)r;
    }
    /* the outside review (issue 14), one case per finding that is a bad call */
    case 70: {   /* 1: a broadcast past 2^63 elements */
        int64_t e1[3] = {460321, 1, 1}, e2[3] = {1, 5292357, 1}, e3[3] = {1, 1, 7571986};
        WANT(LBK_ERR_SHAPE, "lbk_where", "f32[460321,5292357,7571986] has more than 2^63 elements", HERE);
        lbk_where(ctx, lbk_gt(ctx, lbk_full(ctx, LBK_F32, 3, e1, 1), lbk_scalar(ctx, LBK_F32, 0)), lbk_full(ctx, LBK_F32, 3, e2, 2),
                  lbk_full(ctx, LBK_F32, 3, e3, 3));
        break;
    }
    case 71: {   /* 1: a matmul result past 2^63 elements */
        int64_t mk[2] = {1LL << 32, 1}, kn[2] = {1, 1LL << 32};
        WANT(LBK_ERR_SHAPE, "lbk_matmul", "f32[4294967296,4294967296]", HERE);
        lbk_matmul(ctx, lbk_full(ctx, LBK_F32, 2, mk, 1), lbk_full(ctx, LBK_F32, 2, kn, 1));
        break;
    }
    case 72: {   /* 1: elements fit, bytes do not */
        int64_t e[2] = {1LL << 31, 1LL << 31};
        WANT(LBK_ERR_SHAPE, "lbk_expand", "bytes", HERE);
        lbk_expand(ctx, lbk_scalar(ctx, LBK_F64, 1), 2, e);
        break;
    }
    case 73: {   /* 2: amax over a zero-size axis has no answer */
        int64_t z[2] = {2, 0};
        WANT(LBK_ERR_SHAPE, "lbk_amax", "f32[2,0]", HERE);
        lbk_amax(ctx, lbk_full(ctx, LBK_F32, 2, z, 1), 1, (int[]){1}, false);
        break;
    }
    case 74: {   /* 6: data over max_memory_bytes */
        int64_t n[1] = {(1LL << 18) + 1};
        float *h = (float *)calloc((size_t)n[0], sizeof(float));
        WANT(LBK_ERR_OOM, "lbk_from_host", "f32[262145] needs 1048580 bytes", "max_memory_bytes");
        *where = lim;
        lbk_from_host(lim, LBK_F32, 1, n, h);
        free(h);
        return (int)lbk_ctx_result(lim);
    }
    case 75: {   /* 6: a sync over max_memory_bytes, named by the user's call */
        int64_t n[1] = {1LL << 19};
        lbk_tensor f = lbk_full(lim, LBK_F32, 1, n, 2);
        WANT(LBK_ERR_OOM, "lbk_sync", "full f32[524288], 2097152 bytes", HERE);
        *where = lim;
        return (int)lbk_sync(lim, &f, 1);
    }
    case 76: {   /* 7: a handle of a destroyed context */
        lbk_ctx *gone = tctx();
        lbk_tensor t = lbk_scalar(gone, LBK_F32, 1);
        lbk_ctx_destroy(gone);
        WANT(LBK_ERR_STALE, "lbk_read", "destroyed context", NULL);
        r = lbk_read(ctx, t, buf, sizeof buf);
        break;
    }
    case 77: WANT(LBK_ERR_IO, "lbk_module_load", "it is a directory", NULL); r = lbk_module_load(ctx, "tests") ? LBK_OK : lbk_ctx_result(ctx); break;
    case 78: {   /* 12: a well-formed .npy of rank 9 is unsupported, not malformed */
        const char *hd = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }";
        unsigned char file[10 + 118 + 4];
        FILE *f = fopen("build/catalogue_rank9.npy", "wb");
        memcpy(file, "\x93NUMPY\x01\x00\x76\x00", 10);
        memset(file + 10, ' ', 118);
        memcpy(file + 10, hd, strlen(hd));
        file[10 + 117] = '\n';
        memset(file + 128, 0, 4);
        if (f) { fwrite(file, 1, sizeof file, f); fclose(f); }
        WANT(LBK_ERR_UNSUPPORTED, "lbk_load_npy", "LAZYBK_MAX_DIMS", HERE);
        lbk_load_npy(ctx, "build/catalogue_rank9.npy");
        break;
    }
    case 79: WANT(LBK_ERR_ARG, "lbk_module_create", "control character", NULL); r = lbk_module_create(ctx, "M\x1b[31m") ? LBK_OK : lbk_ctx_result(ctx); break;
    case 80: {   /* 12: an attribute name with a control character */
        lbk_module *m = lbk_module_create(ctx, "M"), *ch = lbk_module_create(ctx, "C");
        WANT(LBK_ERR_ARG, "lbk_module_add_child", "control characters", NULL);
        r = lbk_module_add_child(m, "a\nb", ch);
        lbk_module_destroy(ch);
        lbk_module_destroy(m);
        break;
    }
    case 81: {   /* 12: a method name with a control character */
        lbk_module *m = lbk_module_create(ctx, "M");
        lbk_dtype dt = LBK_F32;
        int nd = 1;
        const int64_t *dd[1] = {d3};
        lbk_tensor x;
        WANT(LBK_ERR_ARG, "lbk_method_begin", "control characters", NULL);
        r = lbk_method_begin(m, "fw\x07" "d", 1, &dt, &nd, dd, &x);
        lbk_module_destroy(m);
        break;
    }
    case 82: {   /* 6: lbk_empty over max_memory_bytes */
        int64_t n[2] = {1024, 257};
        WANT(LBK_ERR_OOM, "lbk_empty", "f32[1024,257] needs 1052672 bytes", HERE);
        *where = lim;
        lbk_empty(lim, LBK_F32, 2, n);
        return (int)lbk_ctx_result(lim);
    }
    default: return -1;
    }
    (void)i;
    if (r == LBK_OK) r = lbk_ctx_result(ctx);
    return (int)r;
}

static void test_catalogue(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx(), *other = tctx_ref(), *lim;
    lbk_ctx_desc ld = {0};
    ld.max_memory_bytes = (size_t)1 << 20;
    lim = lbk_ctx_create(&ld);
    assert_non_null(lim);
    int n = 0, bad_cases = 0;
    for (int k = 0;; k++) {
        bad w = {LBK_OK, NULL, NULL, NULL};
        lbk_ctx *where = ctx;
        lbk_scope s0 = lbk_scope_begin(ctx), s1 = lbk_scope_begin(other);
        int got = run_case(k, ctx, other, lim, &w, &where);
        if (got < 0) break;
        n++;
        const char *msg = lbk_ctx_error(where);
        if (got != (int)w.r) { print_message("case %d: got %s, want %s: %s\n", k, lbk_result_str((lbk_result)got), lbk_result_str(w.r), msg); bad_cases++; }
        if (lbk_ctx_result(where) != LBK_OK || where == ctx) {
            const char *needles[3] = {w.n1, w.n2, w.n3};
            for (int q = 0; q < 3; q++)
                if (needles[q] && !strstr(msg, needles[q])) { print_message("case %d: the message lacks \"%s\": %s\n", k, needles[q], msg); bad_cases++; }
        }
        /* the context still computes */
        lbk_ctx_clear_error(where);
        double got2[1];
        lbk_tensor y = lbk_add(where, lbk_scalar(where, LBK_F64, 40), lbk_scalar(where, LBK_F64, 2));
        assert_int_equal(lbk_read(where, y, got2, sizeof got2), LBK_OK);
        assert_true(got2[0] == 42);
        lbk_ctx_clear_error(ctx);
        lbk_ctx_clear_error(other);
        lbk_ctx_clear_error(lim);
        lbk_scope_end(ctx, s0, NULL, 0);
        lbk_scope_end(other, s1, NULL, 0);
        assert_int_equal(lbk_live_tensors(ctx), 0);
    }
    print_message("bad-input catalogue: %d cases\n", n);
    assert_int_equal(bad_cases, 0);
    assert_true(n >= 83);
    lbk_ctx_destroy(ctx);
    lbk_ctx_destroy(other);
    lbk_ctx_destroy(lim);
}

/* Numerical edge cases, on both cpu paths: integer division by zero (true division, as
   in PyTorch: inf/-inf/nan, no trap), float->int cast overflow (saturating, nan -> 0),
   -0.0, denormals kept (no flush to zero), inf arithmetic. */
static void test_numeric_edges(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n3 = 3, n4 = 4;
    int32_t num[3] = {1, -1, 0}, den[3] = {0, 0, 0};
    float q[3];
    lbk_tensor d = lbk_div(ctx, lbk_from_host(ctx, LBK_I32, 1, &n3, num), lbk_from_host(ctx, LBK_I32, 1, &n3, den));
    assert_int_equal(lbk_type(ctx, d), LBK_F32);
    assert_int_equal(lbk_read(ctx, d, q, sizeof q), LBK_OK);
    assert_true(isinf(q[0]) && q[0] > 0 && isinf(q[1]) && q[1] < 0 && isnan(q[2]));
    float big[4] = {1e20f, -1e20f, NAN, -2.75f};
    int32_t ci[4];
    assert_int_equal(lbk_read(ctx, lbk_cast(ctx, lbk_from_host(ctx, LBK_F32, 1, &n4, big), LBK_I32), ci, sizeof ci), LBK_OK);
    assert_true(ci[0] == INT32_MAX && ci[1] == INT32_MIN && ci[2] == 0 && ci[3] == -2);
    float sp[4] = {0.0f, 1e-40f, INFINITY, -INFINITY}, o[4];
    lbk_tensor x = lbk_from_host(ctx, LBK_F32, 1, &n4, sp);
    assert_int_equal(lbk_read(ctx, lbk_neg(ctx, x), o, sizeof o), LBK_OK);
    assert_true(o[0] == 0 && signbit(o[0]));            /* -0.0 */
    assert_true(o[1] == -1e-40f);                       /* a denormal, not flushed */
    assert_true(isinf(o[2]) && o[2] < 0);
    assert_int_equal(lbk_read(ctx, lbk_add(ctx, x, lbk_from_host(ctx, LBK_F32, 1, &n4, sp)), o, sizeof o), LBK_OK);
    assert_true(o[1] == sp[1] * 2 && o[1] != 0 && isinf(o[2]) && isinf(o[3]));   /* doubling a denormal is exact */
    assert_int_equal(lbk_read(ctx, lbk_mul(ctx, x, lbk_scalar(ctx, LBK_F32, 0)), o, sizeof o), LBK_OK);
    assert_true(o[0] == 0 && isnan(o[2]) && isnan(o[3]));   /* inf * 0 */
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {cmocka_unit_test(test_catalogue), cmocka_unit_test(test_numeric_edges)};
TEST_GROUP(catalogue_tests, tests);
