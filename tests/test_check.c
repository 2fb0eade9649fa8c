/* lbk_backend_check on the cpu backend, on the example's "tiny" backend, and on a
   deliberately wrong backend; the example backend running a real program. */
#define _POSIX_C_SOURCE 200809L
#include "common.h"
#define TINY_NO_MAIN
#include "../examples/02_custom_backend.c"

static char *report_text(FILE *f) {
    long n = ftell(f);
    char *s = calloc((size_t)n + 1, 1);
    rewind(f);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
    return s;
}

static void test_check_cpu(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_int_equal(lbk_backend_check("cpu", 1e-6, f), LBK_OK);
    char *txt = report_text(f);
    assert_contains(txt, "lbk_backend_check('cpu')");
    assert_contains(txt, "  matmul");
    assert_contains(txt, " 0 failed");
    assert_null(strstr(txt, "FAIL"));
    free(txt);
    fclose(f);
    assert_int_equal(lbk_backend_check("cpu", 1e-6, NULL), LBK_OK);
    assert_int_equal(lbk_backend_check("no-such", 1e-6, NULL), LBK_ERR_NOT_FOUND);
    assert_int_equal(lbk_backend_check("cpu", -1, NULL), LBK_ERR_ARG);
    assert_int_equal(lbk_backend_check(NULL, 1, NULL), LBK_ERR_ARG);
}

static void test_check_wrong_backend(void **state) {
    (void)state;
    lbk_backend_i b = mock_iface("mock_wrong");
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    assert_int_equal(lbk_backend_check("mock_wrong", 1e-6, NULL), LBK_OK);   /* a faithful pass-through */
    g_mock.perturb = 1;
    FILE *f = tmpfile();
    assert_int_equal(lbk_backend_check("mock_wrong", 1e-6, f), LBK_ERR_BACKEND);
    char *txt = report_text(f);
    assert_contains(txt, "  add ");
    assert_contains(txt, "FAIL  add: element 0 is");
    assert_contains(lbk_last_error(), "lbk_backend_check('mock_wrong')");
    free(txt);
    fclose(f);
    g_mock.perturb = 0;
    assert_int_equal(lbk_backend_unregister("mock_wrong"), LBK_OK);
}

/* The example backend: it passes the check, and a program of composites runs on it
   (through decompositions and the fallback) with the cpu reference's numbers. */
static void test_tiny_backend(void **state) {
    (void)state;
    lbk_backend_i iface = tiny_backend();
    assert_int_equal(lbk_backend_register(&iface, NULL), LBK_OK);
    assert_int_equal(lbk_backend_check("tiny", 1e-5, NULL), LBK_OK);
    lbk_ctx *t = tctx_on("tiny"), *ref = tctx();
    int64_t dx[2] = {3, 8}, dw[2] = {8, 5};
    double x[24], w[40], got[15], want[15];
    tfill(x, 24, -2, 2, 4);
    tfill(w, 40, -1, 1, 5);
    lbk_ctx *cs[2] = {t, ref};
    double *outs[2] = {got, want};
    for (int k = 0; k < 2; k++) {
        lbk_ctx *c = cs[k];
        lbk_tensor h = lbk_layer_norm(c, tfrom(c, LBK_F32, 2, dx, x), 1, (lbk_tensor){0}, (lbk_tensor){0}, 1e-5);
        lbk_tensor y = lbk_softmax(c, lbk_gelu(c, lbk_matmul(c, h, tfrom(c, LBK_F32, 2, dw, w)), true), -1);
        tread(c, y, outs[k]);
        assert_ctx_ok(c);
    }
    tclose(got, want, 15, 1e-5, "tiny vs cpu");
    assert_true(lbk_counter(t, "fallback_nodes") > 0);
    assert_int_equal(lbk_counter(t, "decompositions"), 3);
    lbk_ctx_destroy(t);
    lbk_ctx_destroy(ref);
    assert_int_equal(lbk_backend_unregister("tiny"), LBK_OK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_check_cpu), cmocka_unit_test(test_check_wrong_backend), cmocka_unit_test(test_tiny_backend),
};
TEST_GROUP(check_tests, tests);
