/* Composite ops through decompositions (float64 references), the decomposition
   interface, user overrides, and fallback partitioning. */
#include "common.h"

/* ---- float64 references over the last axis (rows of length L) ---- */
static void ref_softmax_rows(const double *x, double *y, int64_t rows, int64_t L, int log_form) {
    for (int64_t r = 0; r < rows; r++) {
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < L; j++) m = fmax(m, x[r * L + j]);
        for (int64_t j = 0; j < L; j++) s += exp(x[r * L + j] - m);
        for (int64_t j = 0; j < L; j++) y[r * L + j] = log_form ? x[r * L + j] - m - log(s) : exp(x[r * L + j] - m) / s;
    }
}

static void test_softmax_family(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t d[3] = {2, 3, 7};
    double x[42], got[42], ref[42];
    tfill(x, 42, -30, 30, 11);
    for (int f = 0; f < 2; f++) {
        lbk_dtype dt = f ? LBK_F64 : LBK_F32;
        double xs[42];
        for (int i = 0; i < 42; i++) xs[i] = dt == LBK_F32 ? (float)x[i] : x[i];
        lbk_tensor t = tfrom(ctx, dt, 3, d, xs);
        lbk_tensor sm = lbk_softmax(ctx, t, -1), ls = lbk_log_softmax(ctx, t, 2), lse = lbk_logsumexp(ctx, t, -1, false);
        assert_int_equal(lbk_type(ctx, sm), dt);
        tread(ctx, sm, got);
        ref_softmax_rows(xs, ref, 6, 7, 0);
        tclose(got, ref, 42, dt == LBK_F32 ? 1e-6 : 1e-14, "softmax");
        tread(ctx, ls, got);
        ref_softmax_rows(xs, ref, 6, 7, 1);
        tclose(got, ref, 42, dt == LBK_F32 ? 1e-6 : 1e-14, "log_softmax");
        assert_int_equal(lbk_ndim(ctx, lse), 2);
        tread(ctx, lse, got);
        for (int r = 0; r < 6; r++) {
            double m = -INFINITY, s2 = 0;
            for (int j = 0; j < 7; j++) m = fmax(m, xs[r * 7 + j]);
            for (int j = 0; j < 7; j++) s2 += exp(xs[r * 7 + j] - m);
            ref[r] = m + log(s2);
        }
        tclose(got, ref, 6, dt == LBK_F32 ? 1e-6 : 1e-14, "logsumexp");
    }
    /* softmax over axis 0, and large values that would overflow a naive exp */
    double big[4] = {1000, 1001, 999, 1002};
    int64_t d22[2] = {2, 2};
    tread(ctx, lbk_softmax(ctx, tfrom(ctx, LBK_F64, 2, d22, big), 0), got);
    assert_true(fabs(got[0] - 1 / (1 + exp(-1.0))) < 1e-14 && fabs(got[2] - 1 / (1 + exp(1.0))) < 1e-14);
    /* logsumexp keepdim, and a row of -inf gives -inf (not nan) */
    double ninf[4] = {-INFINITY, -INFINITY, 0, 0};
    lbk_tensor k = lbk_logsumexp(ctx, tfrom(ctx, LBK_F64, 2, d22, ninf), 1, true);
    assert_int_equal(lbk_ndim(ctx, k), 2);
    tread(ctx, k, got);
    assert_true(isinf(got[0]) && got[0] < 0 && fabs(got[1] - log(2.0)) < 1e-15);
    /* ints compute in f32 */
    lbk_tensor ki = lbk_softmax(ctx, tfrom(ctx, LBK_I32, 2, d22, big), 1);
    assert_int_equal(lbk_type(ctx, ki), LBK_F32);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_activations(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 64;
    double x[64], got[64], ref[64];
    tfill(x, 64, -6, 6, 3);
    lbk_tensor t = tfrom(ctx, LBK_F64, 1, &n, x);
    tread(ctx, lbk_gelu(ctx, t, false), got);
    for (int i = 0; i < 64; i++) ref[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)));
    tclose(got, ref, 64, 1e-14, "gelu");
    tread(ctx, lbk_gelu(ctx, t, true), got);
    for (int i = 0; i < 64; i++) ref[i] = 0.5 * x[i] * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x[i] + 0.044715 * x[i] * x[i] * x[i])));
    tclose(got, ref, 64, 1e-14, "gelu tanh");
    tread(ctx, lbk_silu(ctx, t), got);
    for (int i = 0; i < 64; i++) ref[i] = x[i] / (1 + exp(-x[i]));
    tclose(got, ref, 64, 1e-14, "silu");
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_var(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t d[3] = {3, 4, 5};
    double x[60], got[60];
    tfill(x, 60, 1e4, 1e4 + 1, 5);   /* a large mean: a one-pass formula would lose digits */
    lbk_tensor t = tfrom(ctx, LBK_F64, 3, d, x);
    int axes[2] = {0, 2};
    for (int corr = 0; corr <= 1; corr++) {
        lbk_tensor v = lbk_var(ctx, t, 2, axes, corr, false);
        assert_int_equal(lbk_ndim(ctx, v), 1);
        tread(ctx, v, got);
        for (int j = 0; j < 4; j++) {
            double m = 0, s = 0;
            for (int i = 0; i < 3; i++) for (int k = 0; k < 5; k++) m += x[(i * 4 + j) * 5 + k];
            m /= 15;
            for (int i = 0; i < 3; i++) for (int k = 0; k < 5; k++) s += pow(x[(i * 4 + j) * 5 + k] - m, 2);
            double ref = s / (15 - corr);
            assert_true(fabs(got[j] - ref) <= 1e-9 * ref);
        }
    }
    lbk_tensor all = lbk_var(ctx, t, 0, NULL, 1, true);
    assert_int_equal(lbk_ndim(ctx, all), 3);
    tread(ctx, all, got);
    double m = 0, s = 0;
    for (int i = 0; i < 60; i++) m += x[i];
    m /= 60;
    for (int i = 0; i < 60; i++) s += (x[i] - m) * (x[i] - m);
    assert_true(fabs(got[0] - s / 59) <= 1e-9 * (s / 59));
    /* one element with correction 1: 0/0 is nan, as in PyTorch */
    int64_t one = 1;
    tread(ctx, lbk_var(ctx, lbk_full(ctx, LBK_F32, 1, &one, 3), 0, NULL, 1, false), got);
    assert_true(isnan(got[0]));
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void ref_norm(const double *x, const double *w, const double *b, double *y, int64_t rows, int64_t L, double eps, int rms) {
    for (int64_t r = 0; r < rows; r++) {
        double m = 0, v = 0;
        const double *xr = x + r * L;
        if (!rms) { for (int64_t j = 0; j < L; j++) m += xr[j]; m /= (double)L; }
        for (int64_t j = 0; j < L; j++) v += (xr[j] - m) * (xr[j] - m);
        v /= (double)L;
        for (int64_t j = 0; j < L; j++) y[r * L + j] = (xr[j] - m) / sqrt(v + eps) * (w ? w[j] : 1) + (b ? b[j] : 0);
    }
}

static void test_norms(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t d[3] = {2, 3, 4}, dn[2] = {3, 4};
    double x[24], w[12], b[12], got[24], ref[24];
    tfill(x, 24, -3, 5, 8);
    tfill(w, 12, 0.5, 1.5, 9);
    tfill(b, 12, -1, 1, 10);
    lbk_tensor t = tfrom(ctx, LBK_F64, 3, d, x), tw = tfrom(ctx, LBK_F64, 2, dn, w), tb = tfrom(ctx, LBK_F64, 2, dn, b);
    lbk_tensor none = {0};
    tread(ctx, lbk_layer_norm(ctx, t, 2, tw, tb, 1e-5), got);
    ref_norm(x, w, b, ref, 2, 12, 1e-5, 0);
    tclose(got, ref, 24, 1e-13, "layer_norm w b");
    tread(ctx, lbk_layer_norm(ctx, t, 1, none, none, 1e-3), got);
    ref_norm(x, NULL, NULL, ref, 6, 4, 1e-3, 0);
    tclose(got, ref, 24, 1e-13, "layer_norm plain");
    int64_t d4 = 4;
    tread(ctx, lbk_layer_norm(ctx, t, 1, none, tfrom(ctx, LBK_F64, 1, &d4, b), 1e-5), got);
    ref_norm(x, NULL, b, ref, 6, 4, 1e-5, 0);
    tclose(got, ref, 24, 1e-13, "layer_norm bias only");
    tread(ctx, lbk_rms_norm(ctx, t, 2, tw, 1e-6), got);
    ref_norm(x, w, NULL, ref, 2, 12, 1e-6, 1);
    tclose(got, ref, 24, 1e-13, "rms_norm");
    /* f32 input with f64 weight promotes; shape errors are caught at trace time */
    lbk_tensor t32 = lbk_cast(ctx, t, LBK_F32);
    assert_int_equal(lbk_type(ctx, lbk_layer_norm(ctx, t32, 2, tw, none, 1e-5)), LBK_F64);
    assert_int_equal(lbk_layer_norm(ctx, t, 1, tw, none, 1e-5).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
    assert_contains(lbk_ctx_error(ctx), "lbk_layer_norm: weight f64[3,4] must have the last 1 dims of f64[2,3,4]");
    lbk_ctx_clear_error(ctx);
    assert_int_equal(lbk_rms_norm(ctx, t, 4, none, 1e-5).id, 0);
    lbk_ctx_clear_error(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_linear(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t dx[3] = {2, 3, 4}, dw[2] = {5, 4}, db = 5;
    double x[24], w[20], b[5], got[30];
    tfill(x, 24, -1, 1, 1);
    tfill(w, 20, -1, 1, 2);
    tfill(b, 5, -1, 1, 3);
    lbk_tensor y = lbk_linear(ctx, tfrom(ctx, LBK_F64, 3, dx, x), tfrom(ctx, LBK_F64, 2, dw, w), tfrom(ctx, LBK_F64, 1, &db, b));
    assert_int_equal(lbk_dim(ctx, y, 2), 5);
    tread(ctx, y, got);
    for (int r = 0; r < 6; r++)
        for (int o = 0; o < 5; o++) {
            double s = b[o];
            for (int k = 0; k < 4; k++) s += x[r * 4 + k] * w[o * 4 + k];
            assert_true(fabs(got[r * 5 + o] - s) < 1e-14);
        }
    /* 1-d input, no bias */
    int64_t d4 = 4;
    lbk_tensor y1 = lbk_linear(ctx, tfrom(ctx, LBK_F64, 1, &d4, x), tfrom(ctx, LBK_F64, 2, dw, w), (lbk_tensor){0});
    assert_int_equal(lbk_ndim(ctx, y1), 1);
    tread(ctx, y1, got);
    for (int o = 0; o < 5; o++) {
        double s = 0;
        for (int k = 0; k < 4; k++) s += x[k] * w[o * 4 + k];
        assert_true(fabs(got[o] - s) < 1e-14);
    }
    int64_t dbad[2] = {4, 5};
    assert_int_equal(lbk_linear(ctx, tfrom(ctx, LBK_F64, 3, dx, x), tfrom(ctx, LBK_F64, 2, dbad, w), (lbk_tensor){0}).id, 0);
    assert_contains(lbk_ctx_error(ctx), "needs x [..., in] and w [out, in]");
    lbk_ctx_destroy(ctx);
}

/* Decomposition happens on a compile-cache miss only; the counter counts rewrites. */
static void test_decompose_once(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx_ref();
    int64_t n = 8;
    double got[8];
    for (int step = 0; step < 4; step++) {
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor x = lbk_mul(ctx, lbk_arange(ctx, LBK_F32, 0, 8, 1), lbk_scalar(ctx, LBK_F32, step + 1));
        tread(ctx, lbk_gelu(ctx, lbk_softmax(ctx, x, 0), true), got);
        lbk_scope_end(ctx, s, NULL, 0);
    }
    (void)n;
    assert_int_equal(lbk_counter(ctx, "decompositions"), 2);
    assert_int_equal(lbk_counter(ctx, "compile"), 1);
    assert_int_equal(lbk_counter(ctx, "cache_hit"), 3);
    lbk_ctx_destroy(ctx);
}

/* A user registration overrides a built-in; removing it restores the built-in. */
static int my_gelu_calls;
static lbk_result my_gelu(lbk_ctx *ctx, lbk_value *stack) {
    lbk_value *approx = lbk_list_pop(stack), *x = lbk_list_pop(stack);
    my_gelu_calls++;
    lbk_tensor r = (lbk_relu)(ctx, lbk_value_as_tensor(x));   /* a deliberately different gelu */
    lbk_value_free(approx);
    lbk_value_free(x);
    return lbk_list_push(stack, lbk_value_tensor(r));
}
static void test_user_override(void **state) {
    (void)state;
    const char *schema = "gelu(Tensor self, str approximate) -> Tensor";
    assert_string_equal(lbk_op_schema(LBK_OP_GELU), schema);
    assert_null(lbk_op_schema(LBK_OP_ADD));
    assert_int_equal(lbk_decomp_register(schema, my_gelu), LBK_OK);
    lbk_ctx *ctx = tctx_ref();
    int64_t n = 3;
    double x[3] = {-1, 0.5, 2}, got[3];
    tread(ctx, lbk_gelu(ctx, tfrom(ctx, LBK_F64, 1, &n, x), false), got);
    assert_int_equal(my_gelu_calls, 1);
    assert_true(got[0] == 0 && got[1] == 0.5 && got[2] == 2);
    assert_int_equal(lbk_decomp_register(schema, NULL), LBK_OK);   /* back to the built-in */
    lbk_ctx_destroy(ctx);
    ctx = tctx_ref();
    tread(ctx, lbk_gelu(ctx, tfrom(ctx, LBK_F64, 1, &n, x), false), got);
    assert_int_equal(my_gelu_calls, 1);
    assert_true(fabs(got[2] - 2 * 0.5 * (1 + erf(2 / sqrt(2.0)))) < 1e-14);
    /* a new schema can be registered too (a future composite, or a user-invented one) */
    assert_int_equal(lbk_decomp_register("my_op(Tensor self) -> Tensor", my_gelu), LBK_OK);
    assert_true(lbk_decomp_builtin()->has(NULL, "my_op(Tensor self) -> Tensor"));
    assert_int_equal(lbk_decomp_register("my_op(Tensor self) -> Tensor", NULL), LBK_OK);
    assert_false(lbk_decomp_builtin()->has(NULL, "my_op(Tensor self) -> Tensor"));
    assert_int_equal(lbk_decomp_register(NULL, my_gelu), LBK_ERR_ARG);
    lbk_ctx_destroy(ctx);
}

/* With the implementation unset, a composite the backend cannot run is a clear error. */
static void test_unset_impl(void **state) {
    (void)state;
    void *self = (void *)1;
    const lbk_decomp_i *prev = lbk_decomp_get_impl(&self);
    lbk_decomp_set_impl(NULL, NULL);
    assert_null(lbk_decomp_get_impl(NULL));
    lbk_ctx *ctx = tctx_ref();
    int64_t n = 3;
    int line = __LINE__ + 1;
    lbk_tensor y = lbk_softmax(ctx, lbk_full(ctx, LBK_F32, 1, &n, 1), 0);
    double got[3];
    assert_int_equal(lbk_sync(ctx, &y, 1), LBK_ERR_UNSUPPORTED);
    assert_contains(lbk_ctx_error(ctx), "no decomposition for 'softmax(Tensor self, int dim) -> Tensor'");
    char loc[64];
    snprintf(loc, sizeof loc, "test_decomp.c:%d", line);
    assert_contains(lbk_ctx_error(ctx), loc);
    lbk_ctx_clear_error(ctx);
    lbk_decomp_set_impl(prev, self);
    tread(ctx, y, got);   /* usable again, same graph */
    assert_true(fabs(got[0] - 1.0 / 3) < 1e-7);
    lbk_ctx_destroy(ctx);
}

/* A whole implementation of one's own, installed with the registerer macro before main:
   it counts and delegates to the built-in one. */
static int impl_runs;
static bool count_has(void *self, const char *schema) { (void)self; return lbk_decomp_builtin()->has(NULL, schema); }
static lbk_result count_run(void *self, lbk_ctx *ctx, const char *schema, lbk_value *stack) {
    (void)self;
    impl_runs++;
    return lbk_decomp_builtin()->run(NULL, ctx, schema, stack);
}
static const lbk_decomp_i counting_impl = {sizeof(lbk_decomp_i), count_has, count_run};
#if defined(__GNUC__) || defined(__clang__)
LBK_DECOMP_REGISTERER(&counting_impl, NULL)
#endif
static void test_registerer(void **state) {
    (void)state;
#if defined(__GNUC__) || defined(__clang__)
    assert_ptr_equal(lbk_decomp_get_impl(NULL), &counting_impl);
    int before = impl_runs;
    lbk_ctx *ctx = tctx_ref();
    double got[2];
    int64_t n = 2;
    tread(ctx, lbk_silu(ctx, lbk_full(ctx, LBK_F64, 1, &n, 1)), got);
    assert_int_equal(impl_runs, before + 1);
    assert_true(fabs(got[0] - 1 / (1 + exp(-1.0))) < 1e-15);
    lbk_ctx_destroy(ctx);
#else
    skip();
#endif
}

/* A backend that declines one op in the middle of a chain: that node runs on the cpu
   fallback, with data moved across, and the answer is the same. */
static void test_fallback_partition(void **state) {
    (void)state;
    lbk_backend_i b = mock_iface("mock_partial");
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    memset(g_mock.decline, 0, sizeof g_mock.decline);
    g_mock.decline[LBK_OP_TANH] = true;
    lbk_ctx *ctx = tctx_on("mock_partial");
    int64_t n = 5;
    double x[5] = {-2, -1, 0, 1, 2}, got[5];
    for (int step = 0; step < 3; step++) {
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor t = tfrom(ctx, LBK_F64, 1, &n, x);
        lbk_tensor y = lbk_add(ctx, lbk_tanh(ctx, lbk_mul(ctx, t, lbk_scalar(ctx, LBK_F64, step + 1))), t);
        lbk_tensor z = lbk_sum(ctx, y, 0, NULL, false);
        assert_int_equal(lbk_sync(ctx, (lbk_tensor[]){y, z}, 2), LBK_OK);
        tread(ctx, y, got);
        double total = 0;
        for (int i = 0; i < 5; i++) { assert_true(fabs(got[i] - (tanh(x[i] * (step + 1)) + x[i])) < 1e-15); total += got[i]; }
        tread(ctx, z, got);
        assert_true(fabs(got[0] - total) < 1e-14);
        lbk_scope_end(ctx, s, NULL, 0);
    }
    assert_int_equal(lbk_counter(ctx, "fallback_nodes"), 3);   /* one node, three runs */
    assert_int_equal(lbk_counter(ctx, "compile"), 3);          /* three segments, compiled once */
    assert_contains(lbk_backend_text(ctx, NULL, 0), "");
    /* a declined primitive inside a decomposition falls back too */
    g_mock.decline[LBK_OP_EXP] = true;
    lbk_tensor sm = lbk_softmax(ctx, tfrom(ctx, LBK_F64, 1, &n, x), 0);
    const char *txt = lbk_backend_text(ctx, &sm, 1);
    assert_contains(txt, "composites decomposed");
    assert_contains(txt, "on backend 'cpu'");
    tread(ctx, sm, got);
    double ref[5];
    ref_softmax_rows(x, ref, 1, 5, 0);
    tclose(got, ref, 5, 1e-15, "softmax with exp on the fallback");
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
    memset(g_mock.decline, 0, sizeof g_mock.decline);
    assert_int_equal(lbk_backend_unregister("mock_partial"), LBK_OK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_softmax_family), cmocka_unit_test(test_activations), cmocka_unit_test(test_var),
    cmocka_unit_test(test_norms), cmocka_unit_test(test_linear), cmocka_unit_test(test_decompose_once),
    cmocka_unit_test(test_user_override), cmocka_unit_test(test_unset_impl), cmocka_unit_test(test_registerer),
    cmocka_unit_test(test_fallback_partition),
};
TEST_GROUP(decomp_tests, tests);
