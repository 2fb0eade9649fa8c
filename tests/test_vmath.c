/* Vector math of the cpu fast path (f32 exp, log, tanh, sigmoid, sin, cos, erf) against
   float64, on samples over the whole range: dense near zero, both signs, up to overflow, plus inf, nan, -0
   and denormals. Sampled, not exhaustive, so sanitizer runs stay fast. */
#include "common.h"
#include <float.h>

static int make_samples(float *x, int cap, float lo_mag, float hi_mag) {
    int n = 0;
    const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, FLT_MIN, -FLT_MIN, 1e-40f, -1e-40f, FLT_MAX, -FLT_MAX,
                             88.72283f, 88.72284f, 88.7229f, -87.33654f, -103.97f, -103.98f, 0.625f, -0.625f, 9.0f, 9.2f};
    for (size_t k = 0; k < sizeof special / sizeof special[0] && n < cap; k++) x[n++] = special[k];
    uint64_t s = 99;
    while (n + 2 <= cap) {   /* log-uniform magnitudes, both signs */
        double u = trand(&s);
        float m = (float)exp(log(lo_mag) + u * (log(hi_mag) - log(lo_mag)));
        x[n++] = m;
        x[n++] = -m;
    }
    return n;
}

static double ulps(float got, double ref) {
    if (isnan(ref)) return isnan(got) ? 0 : INFINITY;
    if (isinf(ref)) return got == (float)ref ? 0 : INFINITY;
    float rf = (float)ref;
    if (isinf(rf)) return isinf(got) && got == rf ? 0 : INFINITY;   /* rounds to overflow */
    double u = fabs((double)nextafterf(fabsf(rf), INFINITY) - fabs((double)rf));
    if (u < ldexp(1.0, -149)) u = ldexp(1.0, -149);
    return fabs((double)got - ref) / u;
}

typedef lbk_tensor (*un_fn)(lbk_ctx *, lbk_tensor);
static void check_fn(const char *name, un_fn fn, double (*ref)(double), float lo, float hi, double max_ulps, double abs_floor) {
    if (getenv("LAZYBK_CPU_REFERENCE")) { skip(); return; }
    enum { N = 20000 };
    static float x[N], y[N];
    int n = make_samples(x, N, lo, hi);
    lbk_ctx *ctx = tctx();
    int64_t dn = n;
    lbk_tensor t = fn(ctx, lbk_from_host(ctx, LBK_F32, 1, &dn, x));
    assert_int_equal(lbk_read(ctx, t, y, sizeof(float) * (size_t)n), LBK_OK);
    double worst = 0;
    int worst_i = 0;
    for (int i = 0; i < n; i++) {
        double r = ref((double)x[i]);
        double e = ulps(y[i], r);
        if (fabs((double)y[i] - r) <= abs_floor) e = 0;
        if (e > worst) { worst = e; worst_i = i; }
    }
    if (worst > max_ulps)
        fail_msg("%s: %.2f ulp at x = %.9g (got %.9g, float64 %.17g)", name, worst, x[worst_i], y[worst_i], ref((double)x[worst_i]));
    print_message("%s: worst %.2f ulp over %d samples\n", name, worst, n);
    lbk_ctx_destroy(ctx);
}
static double sigmoid64(double x) { return 1.0 / (1.0 + exp(-x)); }

static void test_vlog(void **state) { (void)state; check_fn("log", (lbk_log), log, 1e-44f, 3.0e38f, 2.0, 0); }
static void test_vsin(void **state) { (void)state; check_fn("sin", (lbk_sin), sin, 1e-30f, 1e5f, 2.0, 1.5e-7); }
static void test_vcos(void **state) { (void)state; check_fn("cos", (lbk_cos), cos, 1e-30f, 1e5f, 2.0, 1.5e-7); }
static void test_vexp(void **state) { (void)state; check_fn("exp", (lbk_exp), exp, 1e-30f, 120.0f, 2.0, 0); }
static void test_vtanh(void **state) { (void)state; check_fn("tanh", (lbk_tanh), tanh, 1e-30f, 30.0f, 3.0, 0); }
static void test_vsigmoid(void **state) { (void)state; check_fn("sigmoid", (lbk_sigmoid), sigmoid64, 1e-30f, 120.0f, 3.0, 0); }
static void test_verf(void **state) {   /* all magnitudes, then densely where both formulas work */
    (void)state;
    check_fn("erf", (lbk_erf), erf, 1e-30f, 1e4f, 4.0, 0);
    check_fn("erf", (lbk_erf), erf, 0.25f, 6.0f, 4.0, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_vexp), cmocka_unit_test(test_vtanh), cmocka_unit_test(test_vsigmoid),
    cmocka_unit_test(test_vlog), cmocka_unit_test(test_vsin), cmocka_unit_test(test_vcos), cmocka_unit_test(test_verf),
};
TEST_GROUP(vmath_tests, tests);
