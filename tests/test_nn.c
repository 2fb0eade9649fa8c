/* The activations of issue 15 (softplus, leaky_relu, hardswish, elu) on both cpu paths,
   f32 and f64, against C's float64 functions (log1p, expm1): values near 0 where a naive
   log(1 + exp(x)) or exp(x) - 1 loses every digit, the softplus threshold, large
   arguments, NaN and infinities, integer inputs (computed in f32), the schemas in the
   decomposition registry, a module round trip. */
#include "common.h"
#include <stdio.h>

static const char *const paths[2] = {"cpu", "cpu-reference"};

static const double xs[] = {-1e300, -800, -90, -30, -20.5, -5, -1, -0.5, -1e-3, -1e-8, -1e-30, -0.0, 0.0, 1e-30, 1e-8, 1e-3, 0.25,
                            1, 2.5, 3, -3, 6, 19.99, 20, 20.01, 30, 90, 800, 1e300, INFINITY, -INFINITY, NAN};
#define NX ((int64_t)(sizeof xs / sizeof xs[0]))

static double r_softplus(double x) { return x > 20 ? x : log1p(exp(x)); }
static double r_leaky(double x, double s) { return x > 0 ? x : x * s; }
static double r_hardswish(double x) { return x * fmin(fmax(x + 3, 0), 6) / 6; }
static double r_elu(double x, double a) { return x > 0 ? x : a * expm1(x); }

/* relative error bound per element, NaN matching NaN, infinities exactly */
static void check_rel(const double *got, const double *want, int64_t n, double tol, const char *what, lbk_dtype dt) {
    for (int64_t i = 0; i < n; i++) {
        double w = want[i], t = tol;
        if (dt == LBK_F32) {   /* the f32 reference: the function of the input rounded to f32, rounded again */
            w = (double)(float)w;
            if (fabs(w) < 1e-37) t = 1e-38 / (fabs(w) > 0 ? fabs(w) : 1e-38);   /* below f32's normal range: absolute */
        }
        if (isnan(w) || isnan(got[i])) {
            if (!(isnan(w) && isnan(got[i]))) fail_msg("%s[%lld] (x %g): got %.17g, want %.17g", what, (long long)i, xs[i], got[i], w);
            continue;
        }
        if (isinf(w) || isinf(got[i])) {
            if (got[i] != w) fail_msg("%s[%lld] (x %g): got %.17g, want %.17g", what, (long long)i, xs[i], got[i], w);
            continue;
        }
        if (fabs(got[i] - w) > t * fabs(w) + 1e-300 && !(dt == LBK_F32 && fabs(got[i] - w) <= 1e-38))
            fail_msg("%s[%lld] (x %g): got %.17g, want %.17g (rel %.3g)", what, (long long)i, xs[i], got[i], w, fabs(got[i] - w) / fabs(w));
    }
}

static void test_activations(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t n = NX;
        for (int q = 0; q < 2; q++) {
            lbk_dtype dt = q ? LBK_F64 : LBK_F32;
            double tol = q ? 1e-14 : 4e-6, xin[NX], got[NX], want[NX];
            lbk_tensor x = tfrom(ctx, dt, 1, &n, xs);
            for (int i = 0; i < NX; i++) xin[i] = q ? xs[i] : (double)(float)xs[i];
            for (int f = 0; f < 5; f++) {
                lbk_tensor y;
                const char *name;
                switch (f) {
                case 0: y = lbk_softplus(ctx, x); name = "softplus"; for (int i = 0; i < NX; i++) want[i] = r_softplus(xin[i]); break;
                case 1: y = lbk_leaky_relu(ctx, x, 0.01); name = "leaky_relu"; for (int i = 0; i < NX; i++) want[i] = r_leaky(xin[i], 0.01); break;
                case 2: y = lbk_hardswish(ctx, x); name = "hardswish"; for (int i = 0; i < NX; i++) want[i] = r_hardswish(xin[i]); break;
                case 3: y = lbk_elu(ctx, x, 1.0); name = "elu"; for (int i = 0; i < NX; i++) want[i] = r_elu(xin[i], 1.0); break;
                default: y = lbk_elu(ctx, x, 0.3); name = "elu 0.3"; for (int i = 0; i < NX; i++) want[i] = r_elu(xin[i], 0.3); break;
                }
                assert_int_equal(lbk_type(ctx, y), dt);
                tread(ctx, y, got);
                if (q == 0 && f == 2)   /* f32 hardswish rounds x + 3 and the product: a few ulp */
                    check_rel(got, want, NX, 3e-7 * 4, name, dt);
                else
                    check_rel(got, want, NX, tol, name, dt);
            }
        }
        /* integer input: computed in f32 */
        int64_t three = 3;
        double iv[3] = {-2, 0, 5}, got[3];
        lbk_tensor yi = lbk_softplus(ctx, tfrom(ctx, LBK_I64, 1, &three, iv));
        assert_int_equal(lbk_type(ctx, yi), LBK_F32);
        tread(ctx, yi, got);
        assert_true(fabs(got[0] - log1p(exp(-2.0))) < 1e-6 && fabs(got[2] - log1p(exp(5.0))) < 1e-5);
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* PyTorch's schemas are the decomposition keys; a module with the four saves and loads. */
static void test_activation_schemas_module(void **state) {
    (void)state;
    assert_string_equal(lbk_op_schema(LBK_OP_SOFTPLUS), "softplus(Tensor self, float beta, float threshold) -> Tensor");
    assert_string_equal(lbk_op_schema(LBK_OP_LEAKY_RELU), "leaky_relu(Tensor self, float negative_slope) -> Tensor");
    assert_string_equal(lbk_op_schema(LBK_OP_HARDSWISH), "hardswish(Tensor self) -> Tensor");
    assert_string_equal(lbk_op_schema(LBK_OP_ELU), "elu(Tensor self, float alpha, float scale, float input_scale) -> Tensor");
    lbk_ctx *ctx = tctx();
    int64_t n = 4;
    const int64_t *dims[1] = {&n};
    int nd = 1;
    lbk_dtype dt = LBK_F64;
    lbk_tensor x, y;
    lbk_module *m = lbk_module_create(ctx, "Acts");
    assert_int_equal(lbk_method_begin(m, "forward", 1, &dt, &nd, dims, &x), LBK_OK);
    y = lbk_add(ctx, lbk_add(ctx, lbk_softplus(ctx, x), lbk_leaky_relu(ctx, x, 0.125)), lbk_add(ctx, lbk_hardswish(ctx, x), lbk_elu(ctx, x, 0.5)));
    assert_int_equal(lbk_method_end(m, &y, 1), LBK_OK);
    assert_int_equal(lbk_module_save(m, "build/test_nn_acts.lbkm"), LBK_OK);
    lbk_module_destroy(m);
    lbk_module *ld = lbk_module_load(ctx, "build/test_nn_acts.lbkm");
    if (!ld) fail_msg("%s", lbk_ctx_error(ctx));
    double xv[4] = {-2, -0.25, 0.5, 4}, got[4];
    lbk_tensor in = tfrom(ctx, LBK_F64, 1, &n, xv), out;
    assert_int_equal(lbk_module_run(ld, "forward", &in, 1, &out, 1), LBK_OK);
    tread(ctx, out, got);
    for (int i = 0; i < 4; i++) {
        double w = r_softplus(xv[i]) + r_leaky(xv[i], 0.125) + r_hardswish(xv[i]) + r_elu(xv[i], 0.5);
        assert_true(fabs(got[i] - w) < 1e-14);
    }
    lbk_module_destroy(ld);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_activations), cmocka_unit_test(test_activation_schemas_module),
};
TEST_GROUP(nn_tests, tests);
