/* IR: hash-consing, handles, scopes, locations, texts. */
#include "common.h"

static void test_hash_consing(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 4;
    double v[4] = {1, 2, 3, 4};
    lbk_tensor x = tfrom(ctx, LBK_F32, 1, &n, v);
    int64_t before = lbk_counter(ctx, "nodes_traced");
    lbk_tensor a = lbk_exp(ctx, lbk_add(ctx, x, x));
    int64_t mid = lbk_counter(ctx, "nodes_traced");
    lbk_tensor b = lbk_exp(ctx, lbk_add(ctx, x, x));   /* the same expression: no new node */
    assert_int_equal(mid - before, 2);
    assert_int_equal(lbk_counter(ctx, "nodes_traced"), mid);
    assert_true(a.id != b.id);                          /* distinct handles... */
    const char *txt = lbk_ir_text(ctx, (lbk_tensor[]){a, b}, 2);
    assert_contains(txt, "outputs: %2, %2");            /* ...to one node */
    /* parameters and random ops are never merged */
    lbk_tensor s1 = lbk_scalar(ctx, LBK_F32, 1), s2 = lbk_scalar(ctx, LBK_F32, 1);
    lbk_tensor r1 = lbk_rand(ctx, LBK_F32, 1, &n), r2 = lbk_rand(ctx, LBK_F32, 1, &n);
    txt = lbk_ir_text(ctx, (lbk_tensor[]){s1, s2, r1, r2}, 4);
    assert_contains(txt, "outputs: %0, %1, %3, %5");
    /* hash-consing never changes results */
    double ga[4], gb[4];
    tread(ctx, a, ga);
    tread(ctx, b, gb);
    for (int i = 0; i < 4; i++) assert_true(ga[i] == exp(2 * v[i]) || fabs(ga[i] - exp(2 * v[i])) < 1e-5 * exp(2 * v[i]));
    assert_memory_equal(ga, gb, sizeof ga);
    lbk_ctx_destroy(ctx);
}

static void test_handles(void **state) {
    (void)state;
    lbk_ctx *c1 = tctx(), *c2 = tctx();
    lbk_tensor t = lbk_scalar(c1, LBK_F32, 1);
    assert_int_equal(lbk_ndim(c1, t), 0);
    assert_int_equal(lbk_ndim(c2, t), -1);            /* foreign */
    lbk_release(c2, t);                                 /* ignored */
    assert_int_equal(lbk_ndim(c1, t), 0);
    lbk_release(c1, t);
    assert_int_equal(lbk_ndim(c1, t), -1);            /* stale */
    lbk_release(c1, t);                                 /* double release: no-op */
    lbk_tensor zero = {0};
    lbk_release(c1, zero);
    assert_int_equal(lbk_numel(c1, zero), -1);
    assert_int_equal(lbk_type(c1, zero), 0);
    assert_false(lbk_is_pending(c1, zero));
    /* a reused slot gets a new generation: the old handle stays stale */
    lbk_tensor u = lbk_scalar(c1, LBK_F32, 2);
    assert_true(u.id != t.id);
    assert_int_equal(lbk_ndim(c1, t), -1);
    assert_int_equal(lbk_ndim(c1, u), 0);
    assert_int_equal(lbk_live_tensors(c1), 1);
    assert_ctx_ok(c1);
    lbk_ctx_destroy(c1);
    lbk_ctx_destroy(c2);
}

static void test_scopes(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 1000;
    lbk_tensor acc = lbk_full(ctx, LBK_F64, 1, &n, 0);
    for (int step = 0; step < 50; step++) {
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor inner = lbk_scalar(ctx, LBK_F64, step);
        lbk_scope s2 = lbk_scope_begin(ctx);
        lbk_tensor tmp = lbk_mul(ctx, inner, lbk_scalar(ctx, LBK_F64, 2));
        lbk_scope_end(ctx, s2, &tmp, 1);                /* tmp moves to the outer scope */
        lbk_tensor next = lbk_add(ctx, acc, tmp);
        assert_int_equal(lbk_sync(ctx, &next, 1), LBK_OK);
        lbk_release(ctx, acc);
        acc = next;
        lbk_scope_end(ctx, s, &acc, 1);
        assert_int_equal(lbk_live_tensors(ctx), 1);
        assert_int_equal(lbk_ndim(ctx, tmp), -1);
    }
    double got[1000];
    tread(ctx, acc, got);
    assert_true(got[0] == 2 * (49 * 50 / 2) && got[999] == got[0]);
    assert_contains(lbk_metrics_report(ctx), "live_nodes: 1\n");   /* nothing piles up */
    lbk_ctx_destroy(ctx);
}

static void test_locations_and_debug(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    lbk_tensor s = lbk_scalar(ctx, LBK_F32, 2);
    int line = __LINE__ + 1;
    lbk_tensor e = lbk_exp(ctx, s);
    lbk_tensor plain = (lbk_sqrt)(ctx, s);   /* the plain function records no location */
    char want[64];
    snprintf(want, sizeof want, "test_ir.c:%d", line);
    const char *txt = lbk_ir_text(ctx, &e, 1);
    assert_contains(txt, "exp(%0)");
    assert_contains(txt, want);
    txt = lbk_ir_text(ctx, &plain, 1);
    assert_contains(txt, "sqrt(%0)\n");
    /* debug handles resolve process-wide */
    lbk_debug_info di;
    assert_int_equal(lbk_debug_lookup(-1, &di), LBK_ERR_NOT_FOUND);
    assert_int_equal(lbk_debug_lookup(INT64_MAX, &di), LBK_ERR_NOT_FOUND);
    assert_int_equal(lbk_debug_lookup(0, NULL), LBK_ERR_ARG);
    bool found = false;
    for (int64_t h = 0; h < 100000 && lbk_debug_lookup(h, &di) == LBK_OK; h++)
        if (di.file && strstr(di.file, "test_ir.c") && di.line == line && strcmp(di.op, "exp") == 0) found = true;
    assert_true(found);
    lbk_ctx_destroy(ctx);
}

static void test_dot_and_texts(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx_on("cpu");
    int64_t d[2] = {2, 2};
    lbk_tensor x = lbk_full(ctx, LBK_F32, 2, d, 1);
    lbk_tensor y = lbk_matmul(ctx, x, lbk_relu(ctx, x));
    const char *dot = lbk_ir_dot(ctx, &y, 1);
    assert_contains(dot, "digraph lazybk {");
    assert_contains(dot, "matmul\\nf32[2,2]");
    assert_contains(dot, "n2 -> n3;");
    assert_contains(dot, "}\n");
    const char *bt = lbk_backend_text(ctx, &y, 1);
    assert_contains(bt, " plan: ");
    assert_contains(bt, "matmul");
    assert_int_equal(lbk_counter(ctx, "compile"), 1);     /* the picture compiled it (for its clusters) */
    assert_int_equal(lbk_counter(ctx, "cache_hit"), 1);   /* the text found it */
    assert_int_equal(lbk_sync(ctx, &y, 1), LBK_OK);      /* and the sync too */
    assert_int_equal(lbk_counter(ctx, "compile"), 1);
    assert_int_equal(lbk_counter(ctx, "cache_hit"), 2);
    assert_string_equal(lbk_backend_text(ctx, &y, 1), ""); /* nothing pending any more */
    const char *rep = lbk_metrics_report(ctx);
    assert_contains(rep, "nodes_traced: ");
    assert_contains(rep, "bytes_to_device: ");
    assert_contains(rep, "fallback_nodes: 0");
    assert_contains(rep, "backend cpu:");
    assert_int_equal(lbk_counter(ctx, "no_such_counter"), 0);
    assert_int_equal(lbk_counter(ctx, NULL), 0);
    /* every live tensor when n == 0 */
    assert_contains(lbk_ir_text(ctx, NULL, 0), "data");
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hash_consing), cmocka_unit_test(test_handles), cmocka_unit_test(test_scopes),
    cmocka_unit_test(test_locations_and_debug), cmocka_unit_test(test_dot_and_texts),
};
TEST_GROUP(ir_tests, tests);
