/* The op and dtype tables and what is derived from them (names, kinds, arities, dtype
   info, promotion, conversions, overflow-checked sizes), lbk_graph_of, and the limits
   found on the way: a method with a concat of 5,000 inputs (replayed, saved, loaded), a
   method with more than 65,535 calls of a child. Values against hand-computed ones. */
#include "common.h"

static void test_op_table(void **state) {
    (void)state;
    int mx;
    for (int op = 1; op < LBK_OP_COUNT; op++) {   /* names round-trip; every row has a kind */
        const char *n = lbk_op_name((lbk_op)op);
        assert_int_equal(lbk_op_from_name(n), op);
        assert_true(lbk_op_kind_of((lbk_op)op) > LBK_OPKIND_INVALID && lbk_op_kind_of((lbk_op)op) < LBK_OPKIND_COUNT);
        assert_int_equal((lbk_op_schema((lbk_op)op) != NULL), (lbk_op_flags((lbk_op)op) & LBK_OPF_COMPOSITE) != 0);
    }
    assert_string_equal(lbk_op_name(LBK_OP_COUNT), "invalid");
    assert_string_equal(lbk_op_name((lbk_op)-3), "invalid");
    assert_int_equal(lbk_op_from_name("no_such_op"), LBK_OP_INVALID);
    assert_int_equal(lbk_op_from_name(NULL), LBK_OP_INVALID);
    assert_int_equal(lbk_op_kind_of(LBK_OP_EXP), LBK_OPKIND_UNARY);
    assert_int_equal(lbk_op_kind_of(LBK_OP_LT), LBK_OPKIND_COMPARE);
    assert_int_equal(lbk_op_kind_of(LBK_OP_SOFTMAX), LBK_OPKIND_COMPOSITE);
    assert_int_equal(lbk_op_arity(LBK_OP_WHERE, &mx), 3); assert_int_equal(mx, 3);
    assert_int_equal(lbk_op_arity(LBK_OP_CONCAT, &mx), 1); assert_int_equal(mx, -1);
    assert_int_equal(lbk_op_arity(LBK_OP_LAYER_NORM, &mx), 1); assert_int_equal(mx, 3);
    assert_int_equal(lbk_op_arity(LBK_OP_COUNT, NULL), -1);
    assert_true(lbk_op_flags(LBK_OP_ADD) & LBK_OPF_FUSIBLE);
    assert_false(lbk_op_flags(LBK_OP_EQ) & LBK_OPF_FUSIBLE);
    assert_true(lbk_op_flags(LBK_OP_RAND) & LBK_OPF_RANDOM);
    assert_true(lbk_op_flags(LBK_OP_SUM) & LBK_OPF_ATTRS);
    assert_int_equal(lbk_op_flags(LBK_OP_COUNT), 0);
}

static void test_dtype_table(void **state) {
    (void)state;
    static const char *names[] = {"f32", "f64", "i32", "i64", "bool"};
    static const size_t sizes[] = {4, 8, 4, 8, 1};
    static const lbk_dtype ids[] = {LBK_F32, LBK_F64, LBK_I32, LBK_I64, LBK_BOOL};
    for (int k = 0; k < 5; k++) {
        const lbk_dtype_info *di = lbk_dtype_info_of(ids[k]);
        assert_non_null(di);
        assert_string_equal(di->name, names[k]);
        assert_int_equal(di->size, sizes[k]);
        assert_int_equal(lbk_dtype_size(ids[k]), sizes[k]);
        assert_int_equal(lbk_dtype_from_name(names[k]), ids[k]);
    }
    assert_int_equal(LBK_DTYPE_INVALID, 0);
    assert_null(lbk_dtype_info_of(LBK_DTYPE_INVALID));
    assert_null(lbk_dtype_info_of((lbk_dtype)LBK_DTYPE_COUNT));
    assert_int_equal(lbk_dtype_from_name("f16x"), LBK_DTYPE_INVALID);
    assert_int_equal(lbk_dtype_size((lbk_dtype)99), 0);
    assert_true(lbk_dtype_is_float(LBK_F64) && !lbk_dtype_is_float(LBK_I64) && !lbk_dtype_is_float(LBK_BOOL));
    /* promotion: bool < i32 < i64 < f32 < f64 */
    assert_int_equal(lbk_dtype_promote(LBK_BOOL, LBK_I32), LBK_I32);
    assert_int_equal(lbk_dtype_promote(LBK_I64, LBK_F32), LBK_F32);
    assert_int_equal(lbk_dtype_promote(LBK_F64, LBK_I32), LBK_F64);
    assert_int_equal(lbk_dtype_promote(LBK_I32, LBK_I32), LBK_I32);
    assert_int_equal(lbk_dtype_promote(LBK_F32, LBK_DTYPE_INVALID), LBK_DTYPE_INVALID);
    /* conversions: truncation toward zero, saturation, nan -> 0; bool is nonzero */
    {
        double src[7] = {-2.7, 2.7, 3e10, -3e10, NAN, 0.0, -0.5};
        int32_t i32[7]; int64_t i64[7]; uint8_t b[7]; float f[7];
        lbk_convert(i32, LBK_I32, src, LBK_F64, 7, 1);
        assert_int_equal(i32[0], -2); assert_int_equal(i32[1], 2);
        assert_int_equal(i32[2], INT32_MAX); assert_int_equal(i32[3], INT32_MIN); assert_int_equal(i32[4], 0);
        lbk_convert(i64, LBK_I64, src, LBK_F64, 7, 1);
        assert_int_equal(i64[2], 30000000000LL); assert_int_equal(i64[6], 0);
        lbk_convert(b, LBK_BOOL, src, LBK_F64, 7, 1);
        assert_int_equal(b[0], 1); assert_int_equal(b[4], 1); assert_int_equal(b[5], 0); assert_int_equal(b[6], 1);
        lbk_convert(f, LBK_F32, i64, LBK_I64, 7, 1);
        assert_true(f[2] == 3e10f && f[0] == -2.0f);
        /* strided source: every other element */
        lbk_convert(i64, LBK_I64, i32, LBK_I32, 3, 2);
        assert_int_equal(i64[0], -2); assert_int_equal(i64[1], INT32_MAX); assert_int_equal(i64[2], 0);
        /* int64 values beyond 2^53 survive an integer-to-integer conversion exactly */
        int64_t big = ((int64_t)1 << 62) + 1, back;
        lbk_convert(&back, LBK_I64, &big, LBK_I64, 1, 1);
        assert_true(back == big);
        assert_int_equal(lbk_f64_to_i64(-1e300), INT64_MIN);
        assert_int_equal(lbk_f64_to_i64(NAN), 0);
        assert_true(lbk_load_f64(LBK_I32, i32, 1) == 2.0);
        lbk_store_i64(LBK_I32, i32, 0, ((int64_t)1 << 32) + 5);   /* wraps as a cast would */
        assert_int_equal(i32[0], 5);
    }
    /* sizes: overflow is -1, never a wrapped count */
    {
        int64_t ok[3] = {2, 3, 4}, over[3] = {460321, 5292357, 7571986}, neg[2] = {3, -1}, zero[3] = {0, INT64_MAX, INT64_MAX};
        char buf[64];
        assert_int_equal(lbk_shape_numel(3, ok), 24);
        assert_int_equal(lbk_shape_numel(0, NULL), 1);
        assert_int_equal(lbk_shape_numel(3, over), -1);
        assert_int_equal(lbk_shape_numel(2, neg), -1);
        assert_int_equal(lbk_shape_numel(3, zero), 0);
        lbk_shape_str(buf, sizeof buf, LBK_F32, 3, ok);
        assert_string_equal(buf, "f32[2,3,4]");
        lbk_shape_str(buf, 5, LBK_I64, 3, ok);   /* truncated, terminated */
        assert_int_equal(strlen(buf), 4);
    }
}

/* lbk_graph_of: the graph a sync would hand the backend. */
static void test_graph_of(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t d[2] = {2, 3};
    double v[6] = {1, 2, 3, 4, 5, 6};
    lbk_tensor a = tfrom(ctx, LBK_F32, 2, d, v);
    lbk_tensor e = lbk_exp(ctx, lbk_add(ctx, a, lbk_scalar(ctx, LBK_F32, 1)));
    lbk_tensor outs[2] = {e, a};
    lbk_graph *g = lbk_graph_of(ctx, outs, 2);
    assert_non_null(g);
    assert_int_equal(lbk_graph_size(g), 4);   /* a, the scalar, add, exp */
    assert_int_equal(lbk_graph_n_params(g), 2);
    assert_int_equal(lbk_graph_n_outputs(g), 2);
    assert_int_equal(lbk_graph_node(g, lbk_graph_output(g, 0)).op, LBK_OP_EXP);
    assert_int_equal(lbk_graph_node(g, lbk_graph_output(g, 1)).op, LBK_OP_PARAM);
    lbk_graph_free(g);
    assert_true(lbk_is_pending(ctx, e));   /* nothing was run */
    lbk_tensor stale = lbk_neg(ctx, a);
    lbk_release(ctx, stale);
    assert_null(lbk_graph_of(ctx, &stale, 1));
    assert_contains(lbk_ctx_error(ctx), "lbk_graph_of");
    lbk_ctx_clear_error(ctx);
    assert_null(lbk_graph_of(ctx, outs, 0));
    lbk_ctx_clear_error(ctx);
    assert_null(lbk_graph_of(NULL, outs, 1));
    lbk_ctx_destroy(ctx);
}

/* A traced method whose concat has 5,000 inputs: replayed (the replay once had a fixed
   4,096-entry buffer), saved and loaded (the validator once capped inputs at 16+8). */
static void test_concat_5000(void **state) {
    (void)state;
    enum { N = 5000 };
    lbk_ctx *ctx = tctx();
    lbk_module *m = lbk_module_create(ctx, "Cat");
    int64_t xd[1] = {2};
    const int64_t *dims[1] = {xd};
    int nd[1] = {1};
    lbk_dtype dt[1] = {LBK_F32};
    lbk_tensor x, y, *parts = malloc(sizeof(lbk_tensor) * N);
    assert_int_equal(lbk_method_begin(m, "forward", 1, dt, nd, dims, &x), LBK_OK);
    lbk_tensor x2 = lbk_mul(ctx, x, lbk_scalar(ctx, LBK_F32, 2));
    for (int k = 0; k < N; k++) parts[k] = k % 2 ? x : x2;
    y = lbk_concat(ctx, parts, N, 0);
    assert_int_equal(lbk_method_end(m, &y, 1), LBK_OK);
    double in[2] = {1.5, -3}, *want = malloc(sizeof(double) * 2 * N), *got = malloc(sizeof(double) * 2 * N);
    for (int k = 0; k < N; k++) { want[2 * k] = in[0] * (k % 2 ? 1 : 2); want[2 * k + 1] = in[1] * (k % 2 ? 1 : 2); }
    for (int pass = 0; pass < 2; pass++) {
        lbk_tensor a = tfrom(ctx, LBK_F32, 1, xd, in), out;
        assert_int_equal(lbk_module_run(m, "forward", &a, 1, &out, 1), LBK_OK);
        assert_int_equal(lbk_numel(ctx, out), 2 * N);
        tread(ctx, out, got);
        tclose(got, want, 2 * N, 0, "concat of 5000");
        if (pass == 0) {   /* then the same through a file */
            assert_int_equal(lbk_module_save(m, "build/t_concat5000.lbkm"), LBK_OK);
            lbk_module *l = lbk_module_load(ctx, "build/t_concat5000.lbkm");
            assert_non_null(l);
            lbk_module_destroy(m);
            m = l;
        }
    }
    lbk_module_destroy(m);
    free(parts); free(want); free(got);
    lbk_ctx_destroy(ctx);
}

/* A method calling a child 65,537 times: the call index once shared 32 bits with the
   output index, 16 each, and wrapped. */
static void test_many_calls(void **state) {
    (void)state;
    enum { CALLS = 65537 };
    lbk_ctx *ctx = tctx();
    lbk_module *m = lbk_module_create(ctx, "Chain"), *inc = lbk_module_create(ctx, "Inc");
    int64_t xd[1] = {3};
    const int64_t *dims[1] = {xd};
    int nd[1] = {1};
    lbk_dtype dt[1] = {LBK_F64};
    lbk_tensor x, y, h;
    assert_int_equal(lbk_method_begin(inc, "forward", 1, dt, nd, dims, &x), LBK_OK);
    y = lbk_add(ctx, x, lbk_scalar(ctx, LBK_F64, 1));
    assert_int_equal(lbk_method_end(inc, &y, 1), LBK_OK);
    assert_int_equal(lbk_module_add_child(m, "inc", inc), LBK_OK);
    assert_int_equal(lbk_method_begin(m, "forward", 1, dt, nd, dims, &x), LBK_OK);
    h = x;
    for (int k = 0; k < CALLS; k++) {
        lbk_tensor nh;
        assert_int_equal(lbk_module_call(inc, "forward", &h, 1, &nh, 1), LBK_OK);
        if (k) lbk_release(ctx, h);
        h = nh;
    }
    lbk_tensor outs[2] = {h, lbk_neg(ctx, x)};   /* the last call's output, and one op after the calls */
    assert_int_equal(lbk_method_end(m, outs, 2), LBK_OK);
    double in[3] = {0, 0.5, -7}, got[3], got2[3];
    lbk_tensor a = tfrom(ctx, LBK_F64, 1, xd, in), out[2];
    assert_int_equal(lbk_module_run(m, "forward", &a, 1, out, 2), LBK_OK);
    tread(ctx, out[0], got);
    tread(ctx, out[1], got2);
    for (int i = 0; i < 3; i++) {
        assert_true(got[i] == in[i] + CALLS);
        assert_true(got2[i] == -in[i]);
    }
    lbk_module_destroy(m);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_op_table), cmocka_unit_test(test_dtype_table), cmocka_unit_test(test_graph_of),
    cmocka_unit_test(test_concat_5000), cmocka_unit_test(test_many_calls),
};
TEST_GROUP(tables_tests, tests);
