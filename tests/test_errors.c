/* Bad input gets a clear error naming the op, the shapes and the place; the context stays usable. */
#include "common.h"

/* After an error: it is sticky, the context still computes, and clearing works. */
static void still_usable(lbk_ctx *ctx) {
    double got[1];
    lbk_result first = lbk_ctx_result(ctx);
    assert_int_not_equal(first, LBK_OK);
    lbk_tensor y = lbk_add(ctx, lbk_scalar(ctx, LBK_F64, 40), lbk_scalar(ctx, LBK_F64, 2));
    assert_int_equal(lbk_read(ctx, y, got, sizeof got), LBK_OK);
    assert_true(got[0] == 42);
    assert_int_equal(lbk_ctx_result(ctx), first);   /* the first error is kept */
    lbk_ctx_clear_error(ctx);
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    assert_string_equal(lbk_ctx_error(ctx), "");
}

static void test_shape_mismatch(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t d23[2] = {2, 3}, d4 = 4;
    lbk_tensor a = lbk_full(ctx, LBK_F32, 2, d23, 1), b = lbk_full(ctx, LBK_F32, 1, &d4, 1);
    int line = __LINE__ + 1;
    lbk_tensor c = lbk_add(ctx, a, b);
    assert_int_equal(c.id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
    char loc[64];
    snprintf(loc, sizeof loc, "test_errors.c:%d", line);
    assert_contains(lbk_ctx_error(ctx), "lbk_add");
    assert_contains(lbk_ctx_error(ctx), "f32[2,3]");
    assert_contains(lbk_ctx_error(ctx), "f32[4]");
    assert_contains(lbk_ctx_error(ctx), loc);
    /* {0} propagates without replacing the first error */
    lbk_tensor d = lbk_exp(ctx, c);
    assert_int_equal(d.id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
    /* a second, different error does not replace the first */
    assert_int_equal(lbk_matmul(ctx, a, a).id, 0);
    assert_contains(lbk_ctx_error(ctx), "lbk_add");
    still_usable(ctx);
    /* {0} into a clean context records LBK_ERR_ARG */
    assert_int_equal(lbk_neg(ctx, c).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_ARG);
    assert_contains(lbk_ctx_error(ctx), "lbk_neg");
    assert_contains(lbk_ctx_error(ctx), "invalid tensor handle");
    still_usable(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_bad_axes_and_shapes(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t d23[2] = {2, 3};
    lbk_tensor a = lbk_full(ctx, LBK_F32, 2, d23, 1);
    int bad = 5, dup[2] = {0, -2};
    assert_int_equal(lbk_sum(ctx, a, 1, &bad, false).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_ARG);
    assert_contains(lbk_ctx_error(ctx), "lbk_sum");
    assert_contains(lbk_ctx_error(ctx), "axis 5");
    still_usable(ctx);
    assert_int_equal(lbk_sum(ctx, a, 2, dup, false).id, 0);
    assert_contains(lbk_ctx_error(ctx), "twice");
    still_usable(ctx);
    assert_int_equal(lbk_sum(ctx, a, 1, NULL, false).id, 0);
    still_usable(ctx);
    int64_t r[2] = {4, 2};
    assert_int_equal(lbk_reshape(ctx, a, 2, r).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
    assert_contains(lbk_ctx_error(ctx), "cannot reshape f32[2,3] (6 elements) to f32[4,2]");
    still_usable(ctx);
    int64_t r2[2] = {-1, -1};
    assert_int_equal(lbk_reshape(ctx, a, 2, r2).id, 0);
    still_usable(ctx);
    int perm[2] = {0, 0};
    assert_int_equal(lbk_permute(ctx, a, perm).id, 0);
    assert_contains(lbk_ctx_error(ctx), "lbk_permute");
    still_usable(ctx);
    assert_int_equal(lbk_transpose(ctx, a, 0, 2).id, 0);
    still_usable(ctx);
    int64_t e[2] = {3, 3};
    assert_int_equal(lbk_expand(ctx, a, 2, e).id, 0);
    assert_contains(lbk_ctx_error(ctx), "cannot expand f32[2,3] to f32[3,3]");
    still_usable(ctx);
    assert_int_equal(lbk_slice(ctx, a, 0, 0, 1, 0).id, 0);
    assert_contains(lbk_ctx_error(ctx), "step 0");
    still_usable(ctx);
    assert_int_equal(lbk_argmax(ctx, a, -3, false).id, 0);
    still_usable(ctx);
    int64_t k4[2] = {4, 2};
    assert_int_equal(lbk_matmul(ctx, a, lbk_full(ctx, LBK_F32, 2, k4, 1)).id, 0);
    assert_contains(lbk_ctx_error(ctx), "inner dimensions differ: f32[2,3] @ f32[4,2]");
    still_usable(ctx);
    assert_int_equal(lbk_concat(ctx, (lbk_tensor[]){a, lbk_full(ctx, LBK_F32, 2, k4, 1)}, 2, 0).id, 0);
    assert_contains(lbk_ctx_error(ctx), "lbk_concat");
    still_usable(ctx);
    assert_int_equal(lbk_concat(ctx, NULL, 0, 0).id, 0);
    still_usable(ctx);
    int64_t z[2] = {0, 3};
    assert_int_equal(lbk_amax(ctx, lbk_full(ctx, LBK_F32, 2, z, 0), 0, NULL, false).id, 0);
    assert_contains(lbk_ctx_error(ctx), "zero-size");
    still_usable(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_bad_dtypes_and_dims(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t d = 2, neg[2] = {2, -1}, huge[3] = {INT64_MAX / 2, 4, 4};
    float v[2] = {1, 2};
    assert_int_equal(lbk_from_host(ctx, (lbk_dtype)99, 1, &d, v).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
    assert_contains(lbk_ctx_error(ctx), "unknown dtype 99");
    still_usable(ctx);
    assert_int_equal(lbk_from_host(ctx, LBK_F32, 2, neg, v).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
    assert_contains(lbk_ctx_error(ctx), "negative dim");
    still_usable(ctx);
    assert_int_equal(lbk_full(ctx, LBK_F32, 3, huge, 0).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
    assert_contains(lbk_ctx_error(ctx), "more than 2^63 elements");
    still_usable(ctx);
    assert_int_equal(lbk_from_host(ctx, LBK_F32, 99, &d, v).id, 0);
    still_usable(ctx);
    assert_int_equal(lbk_from_host(ctx, LBK_F32, 1, &d, NULL).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_ARG);
    still_usable(ctx);
    assert_int_equal(lbk_from_host(ctx, LBK_F32, 1, NULL, v).id, 0);
    still_usable(ctx);
    assert_int_equal(lbk_cast(ctx, lbk_scalar(ctx, LBK_F32, 1), (lbk_dtype)0).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
    still_usable(ctx);
    lbk_tensor f = lbk_scalar(ctx, LBK_F32, 1), bl = lbk_scalar(ctx, LBK_BOOL, 1);
    assert_int_equal(lbk_where(ctx, f, f, f).id, 0);
    assert_contains(lbk_ctx_error(ctx), "must be bool");
    still_usable(ctx);
    assert_int_equal(lbk_sub(ctx, bl, bl).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
    still_usable(ctx);
    assert_int_equal(lbk_neg(ctx, bl).id, 0);
    still_usable(ctx);
    assert_int_equal(lbk_rand(ctx, LBK_I32, 1, &d).id, 0);
    still_usable(ctx);
    assert_int_equal(lbk_arange(ctx, LBK_F32, 0, 1, 0).id, 0);
    still_usable(ctx);
    assert_int_equal(lbk_arange(ctx, LBK_F32, 0, INFINITY, 1).id, 0);
    still_usable(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_stale_and_foreign(void **state) {
    (void)state;
    lbk_ctx *c1 = tctx(), *c2 = tctx();
    lbk_tensor t = lbk_scalar(c1, LBK_F32, 1);
    assert_int_equal(lbk_exp(c2, t).id, 0);
    assert_int_equal(lbk_ctx_result(c2), LBK_ERR_STALE);
    assert_contains(lbk_ctx_error(c2), "another context");
    still_usable(c2);
    lbk_release(c1, t);
    assert_int_equal(lbk_exp(c1, t).id, 0);
    assert_int_equal(lbk_ctx_result(c1), LBK_ERR_STALE);
    assert_contains(lbk_ctx_error(c1), "released");
    still_usable(c1);
    double x;
    assert_int_equal(lbk_read(c1, t, &x, sizeof x), LBK_ERR_STALE);
    still_usable(c1);
    assert_int_equal(lbk_sync(c1, &t, 1), LBK_ERR_STALE);
    still_usable(c1);
    lbk_tensor forged = {((uint64_t)1 << 48) | 12345};
    assert_int_equal(lbk_ndim(c1, forged), -1);
    lbk_ctx_destroy(c1);
    lbk_ctx_destroy(c2);
}

static void test_null_everywhere(void **state) {
    (void)state;
    lbk_tensor z = {0};
    int64_t d = 1;
    double v = 1;
    assert_int_equal(lbk_from_host(NULL, LBK_F32, 1, &d, &v).id, 0);
    assert_int_equal(lbk_scalar(NULL, LBK_F32, 1).id, 0);
    assert_int_equal(lbk_add(NULL, z, z).id, 0);
    assert_int_equal(lbk_sum(NULL, z, 0, NULL, false).id, 0);
    assert_int_equal(lbk_concat(NULL, &z, 1, 0).id, 0);
    assert_int_equal(lbk_sync(NULL, NULL, 0), LBK_ERR_ARG);
    assert_int_equal(lbk_read(NULL, z, &v, 8), LBK_ERR_ARG);
    assert_int_equal(lbk_read_as(NULL, z, LBK_F64, &v, 8), LBK_ERR_ARG);
    assert_int_equal(lbk_ctx_result(NULL), LBK_ERR_ARG);
    assert_null(lbk_ctx_error(NULL));
    assert_null(lbk_ir_text(NULL, NULL, 0));
    assert_null(lbk_ir_dot(NULL, NULL, 0));
    assert_null(lbk_backend_text(NULL, NULL, 0));
    assert_null(lbk_metrics_report(NULL));
    assert_null(lbk_ctx_backend(NULL));
    assert_int_equal(lbk_counter(NULL, "sync"), 0);
    assert_int_equal(lbk_ndim(NULL, z), 0);
    assert_int_equal(lbk_numel(NULL, z), 0);
    assert_int_equal(lbk_dim(NULL, z, 0), 0);
    assert_int_equal(lbk_live_tensors(NULL), 0);
    lbk_release(NULL, z);
    lbk_ctx_clear_error(NULL);
    lbk_set_seed(NULL, 1);
    lbk_scope_end(NULL, lbk_scope_begin(NULL), NULL, 0);
    lbk_ctx_destroy(NULL);
    assert_int_equal(lbk_ctx_device(NULL).type, 0);
    lbk_ctx *ctx = tctx();
    assert_int_equal(lbk_sync(ctx, NULL, 2), LBK_ERR_ARG);
    still_usable(ctx);
    assert_int_equal(lbk_sync(ctx, &z, 1), LBK_ERR_ARG);
    still_usable(ctx);
    lbk_tensor s = lbk_scalar(ctx, LBK_F64, 1);
    assert_int_equal(lbk_read(ctx, s, NULL, 8), LBK_ERR_ARG);
    still_usable(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_read_wrong_size(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t d[2] = {2, 3};
    lbk_tensor t = lbk_exp(ctx, lbk_full(ctx, LBK_F32, 2, d, 0));
    float small[5];
    assert_int_equal(lbk_read(ctx, t, small, sizeof small), LBK_ERR_ARG);
    assert_contains(lbk_ctx_error(ctx), "buffer of 20 bytes is too small for f32[2,3] (24 bytes)");
    assert_true(lbk_is_pending(ctx, t));   /* checked before any work */
    still_usable(ctx);
    double asd[5];
    assert_int_equal(lbk_read_as(ctx, t, LBK_F64, asd, sizeof asd), LBK_ERR_ARG);
    assert_contains(lbk_ctx_error(ctx), "read as f64");
    still_usable(ctx);
    assert_int_equal(lbk_read_as(ctx, t, (lbk_dtype)42, asd, sizeof asd), LBK_ERR_DTYPE);
    still_usable(ctx);
    float big[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    assert_int_equal(lbk_read(ctx, t, big, sizeof big), LBK_OK);   /* larger is fine */
    assert_true(big[5] == 1 && big[6] == 9);
    lbk_ctx_destroy(ctx);
}

/* A user backend whose execute fails, or returns the wrong number of outputs. */
static void test_backend_failures(void **state) {
    (void)state;
    lbk_backend_i b = mock_iface("mock_fail");
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    lbk_ctx *ctx = tctx_on("mock_fail");
    int64_t n = 2;
    lbk_tensor x = lbk_full(ctx, LBK_F32, 1, &n, 1);
    int line = __LINE__ + 1;
    lbk_tensor y = lbk_exp(ctx, x);
    double got[2];

    g_mock.fail_execute = 1;
    assert_int_equal(lbk_sync(ctx, &y, 1), LBK_ERR_BACKEND);
    assert_contains(lbk_ctx_error(ctx), "mock device fault");
    assert_contains(lbk_ctx_error(ctx), "mock_fail");
    assert_true(lbk_is_pending(ctx, y));
    g_mock.fail_execute = 0;
    still_usable(ctx);

    g_mock.wrong_outputs = 1;
    assert_int_equal(lbk_sync(ctx, &y, 1), LBK_ERR_BACKEND);
    assert_contains(lbk_ctx_error(ctx), "returned 0 outputs, expected 1");
    g_mock.wrong_outputs = 0;
    lbk_ctx_clear_error(ctx);

    g_mock.null_output = 1;
    assert_int_equal(lbk_sync(ctx, &y, 1), LBK_ERR_BACKEND);
    assert_contains(lbk_ctx_error(ctx), "no data for output 0");
    g_mock.null_output = 0;
    lbk_ctx_clear_error(ctx);

    /* a failure blamed on a node names the op and where it was traced (a new graph: compiles) */
    lbk_scope sc = lbk_scope_begin(ctx);
    line = __LINE__ + 1;
    lbk_tensor w = lbk_cos(ctx, x);
    g_mock.fail_compile = 1;
    {
        lbk_debug_info di;
        int64_t h = 0;
        for (; lbk_debug_lookup(h, &di) == LBK_OK; h++)
            if (di.file && strstr(di.file, "test_errors.c") && di.line == line && strcmp(di.op, "cos") == 0) break;
        g_mock.fail_handle = h;
    }
    assert_int_equal(lbk_sync(ctx, &w, 1), LBK_ERR_UNSUPPORTED);
    char loc[64];
    snprintf(loc, sizeof loc, "test_errors.c:%d", line);
    assert_contains(lbk_ctx_error(ctx), "mock refuses to compile");
    assert_contains(lbk_ctx_error(ctx), "failed at cos");
    assert_contains(lbk_ctx_error(ctx), loc);
    g_mock.fail_compile = 0;
    g_mock.fail_handle = -1;
    lbk_scope_end(ctx, sc, NULL, 0);
    still_usable(ctx);

    tread(ctx, y, got);
    assert_true(fabs(got[0] - exp(1.0)) < 1e-6);
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_backend_unregister("mock_fail"), LBK_OK);
}

static int logged;
static void count_log(void *user, lbk_log_level level, const char *msg) {
    (void)msg;
    if (level == LBK_LOG_ERROR) (*(int *)user)++;
}
static void test_logger(void **state) {
    (void)state;
    lbk_ctx_desc d = {0};
    d.logger = count_log;
    d.logger_user = &logged;
    lbk_ctx *ctx = lbk_ctx_create(&d);
    int64_t a = 2, b = 3;
    lbk_add(ctx, lbk_full(ctx, LBK_F32, 1, &a, 0), lbk_full(ctx, LBK_F32, 1, &b, 0));
    lbk_add(ctx, lbk_full(ctx, LBK_F32, 1, &a, 0), lbk_full(ctx, LBK_F32, 1, &b, 0));
    assert_int_equal(logged, 2);   /* every error is logged; only the first is kept */
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_shape_mismatch), cmocka_unit_test(test_bad_axes_and_shapes),
    cmocka_unit_test(test_bad_dtypes_and_dims), cmocka_unit_test(test_stale_and_foreign),
    cmocka_unit_test(test_null_everywhere), cmocka_unit_test(test_read_wrong_size),
    cmocka_unit_test(test_backend_failures), cmocka_unit_test(test_logger),
};
TEST_GROUP(errors_tests, tests);
