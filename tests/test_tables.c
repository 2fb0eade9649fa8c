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
   output index, 16 each, and wrapped. On the cpu backend by name: tracing gives each
   call's output placeholder data, 65,537 device allocations the emulated CUDA device's
   small memory cannot hold. */
static void test_many_calls(void **state) {
    (void)state;
    enum { CALLS = 65537 };
    lbk_ctx *ctx = tctx_on("cpu");
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
        if (lbk_module_call(inc, "forward", &h, 1, &nh, 1) != LBK_OK) fail_msg("call %d: %s", k, lbk_ctx_error(ctx));
        if (k) lbk_release(ctx, h);
        h = nh;
    }
    lbk_tensor outs[2] = {h, lbk_neg(ctx, x)};   /* the last call's output, and one op after the calls */
    assert_int_equal(lbk_method_end(m, outs, 2), LBK_OK);
    double in[3] = {0, 0.5, -7}, got[3], got2[3];
    lbk_tensor a = tfrom(ctx, LBK_F64, 1, xd, in), out[2];
    if (lbk_module_run(m, "forward", &a, 1, out, 2) != LBK_OK) fail_msg("%s", lbk_ctx_error(ctx));
    tread(ctx, out[0], got);
    tread(ctx, out[1], got2);
    for (int i = 0; i < 3; i++) {
        assert_true(got[i] == in[i] + CALLS);
        assert_true(got2[i] == -in[i]);
    }
    lbk_module_destroy(m);
    lbk_ctx_destroy(ctx);
}

/* The committed format-1 file (tests/fixtures/make_module_v1.c) still loads and computes. */
static void fixture_want(const double *x, double y0[8], double y1[4], double y2[8], double y3[8]) {
    static const float W[12] = {0.5f, -1, 2, 0.25f, -0.75f, 1.5f, 0.1f, -0.2f, 0.3f, 1, -1, 0.125f};
    static const float B[4] = {0.1f, -0.2f, 0.3f, 0};
    double h[8];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
            double v = B[j];
            for (int k = 0; k < 3; k++) v += (double)(float)x[i * 3 + k] * W[k * 4 + j];
            h[i * 4 + j] = v;
        }
    for (int i = 0; i < 2; i++) {
        double mx = -INFINITY, s = 0, mean = 0, var = 0;
        for (int j = 0; j < 4; j++) mx = fmax(mx, h[i * 4 + j]);
        for (int j = 0; j < 4; j++) s += exp(h[i * 4 + j] - mx);
        for (int j = 0; j < 4; j++) y0[i * 4 + j] = exp(h[i * 4 + j] - mx) / s;
        for (int j = 0; j < 4; j++) mean += h[i * 4 + j] / 4;
        for (int j = 0; j < 4; j++) var += (h[i * 4 + j] - mean) * (h[i * 4 + j] - mean) / 4;
        for (int j = 0; j < 4; j++) y3[i * 4 + j] = (h[i * 4 + j] - mean) / sqrt(var + 1e-5);
    }
    for (int j = 0; j < 4; j++) y1[j] = h[j] + h[4 + j];
    for (int j = 0; j < 4; j++) { y2[j] = h[4 + j]; y2[4 + j] = 2 * h[4 + j]; }   /* rows 1 and 3 of [h; 2h] */
}
static void run_fixture(lbk_ctx *ctx, lbk_module *m) {
    double x[6] = {0.3, -1.2, 2.0, 0.7, 0.05, -0.6}, w0[8], w1[4], w2[8], w3[8], g[8];
    int64_t xd[2] = {2, 3};
    lbk_tensor in = tfrom(ctx, LBK_F32, 2, xd, x), out[4];
    fixture_want(x, w0, w1, w2, w3);
    assert_int_equal(lbk_module_run(m, "forward", &in, 1, out, 4), LBK_OK);
    tread(ctx, out[0], g); tclose(g, w0, 8, 1e-5, "softmax");
    tread(ctx, out[1], g); tclose(g, w1, 4, 1e-5, "sum of permute");
    tread(ctx, out[2], g); tclose(g, w2, 8, 1e-5, "slice of concat");
    tread(ctx, out[3], g); tclose(g, w3, 8, 1e-4, "layer_norm");
}
static void test_module_format1(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx_on("cpu");
    lbk_module *m = lbk_module_load(ctx, "tests/fixtures/module_v1.lbkm");
    if (!m) fail_msg("%s", lbk_ctx_error(ctx));
    assert_string_equal(lbk_module_type(m), "Fixture");
    assert_non_null(lbk_module_child(m, "enc"));
    run_fixture(ctx, m);
    /* and saved again (in the current format), it loads and computes the same */
    assert_int_equal(lbk_module_save(m, "build/t_fixture_again.lbkm"), LBK_OK);
    lbk_module *m2 = lbk_module_load(ctx, "build/t_fixture_again.lbkm");
    if (!m2) fail_msg("%s", lbk_ctx_error(ctx));
    run_fixture(ctx, m2);
    lbk_module_destroy(m2);
    lbk_module_destroy(m);
    lbk_ctx_destroy(ctx);
}

static void test_value_bytes(void **state) {
    (void)state;
    unsigned char raw[5] = {1, 2, 3, 0, 255};
    size_t n;
    lbk_value *v = lbk_value_bytes(raw, 5), *c;
    assert_int_equal(lbk_value_kind_of(v), LBK_VALUE_BYTES);
    assert_string_equal(lbk_value_kind_name(LBK_VALUE_BYTES), "bytes");
    raw[0] = 9;   /* copied */
    const unsigned char *p = lbk_value_as_bytes(v, &n);
    assert_int_equal(n, 5);
    assert_int_equal(p[0], 1); assert_int_equal(p[4], 255);
    c = lbk_value_copy(v);
    lbk_value_free(v);
    p = lbk_value_as_bytes(c, &n);
    assert_int_equal(n, 5); assert_int_equal(p[2], 3);
    lbk_value_free(c);
    assert_null(lbk_value_bytes(NULL, 3));
    assert_contains(lbk_last_error(), "lbk_value_bytes");
    v = lbk_value_bytes(NULL, 0);
    assert_non_null(v);
    lbk_value_as_bytes(v, &n);
    assert_int_equal(n, 0);
    lbk_value_free(v);
    v = lbk_value_int(3);
    assert_null(lbk_value_as_bytes(v, &n));
    assert_int_equal(n, 0);
    lbk_value_free(v);
}

static uint64_t le64(const unsigned char *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }
static void expect_format_error(lbk_ctx *ctx, const char *path, const char *needle) {
    assert_null(lbk_module_load(ctx, path));
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_FORMAT);
    if (needle) assert_contains(lbk_ctx_error(ctx), needle);
    lbk_ctx_clear_error(ctx);
}
/* Format 2: the layout the header promises, constants raw and aligned, and a file an enemy
   edited refused cleanly. */
static void test_module_format2(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx_on("cpu");
    lbk_module *m = lbk_module_load(ctx, "tests/fixtures/module_v1.lbkm");
    assert_non_null(m);
    assert_int_equal(lbk_module_save(m, "build/t_fmt2.lbkm"), LBK_OK);
    lbk_module_destroy(m);
    size_t n;
    unsigned char *b = tfile_read("build/t_fmt2.lbkm", &n);
    uint64_t meta = le64(b + 16), doff = le64(b + 32), dsize = le64(b + 40);
    assert_memory_equal(b, "LBKMODL\n\2\0\0\0", 12);
    assert_true(doff % 64 == 0 && doff >= 64 + meta && doff + dsize == n);
    assert_true(dsize >= (12 + 4) * 4 && dsize < (12 + 4) * 4 + 64);   /* W and b, raw, the second 64-aligned */
    {   /* W's bytes are in the data section as they are in memory (little-endian f32) */
        static const float W0[3] = {0.5f, -1, 2};
        assert_memory_equal(b + doff, W0, sizeof W0);
    }
    /* from memory, it loads and computes */
    m = lbk_module_load_memory(ctx, b, n);
    if (!m) fail_msg("%s", lbk_ctx_error(ctx));
    run_fixture(ctx, m);
    lbk_module_destroy(m);
    b[13] = 1; tfile_write("build/t_fmt2_bad.lbkm", b, n); b[13] = 0;
    expect_format_error(ctx, "build/t_fmt2_bad.lbkm", "reserved header bytes");
    b[doff + 1] ^= 0x40; tfile_write("build/t_fmt2_bad.lbkm", b, n); b[doff + 1] ^= 0x40;
    expect_format_error(ctx, "build/t_fmt2_bad.lbkm", "data checksum");
    tfile_write("build/t_fmt2_bad.lbkm", b, n - 1);
    expect_format_error(ctx, "build/t_fmt2_bad.lbkm", "do not add up");
    {   /* a byte appended, the header's data size grown to match: the meta no longer ends the data */
        unsigned char *b2 = malloc(n + 1);
        memcpy(b2, b, n); b2[n] = 0;
        uint64_t ds = dsize + 1;
        for (int i = 0; i < 8; i++) b2[40 + i] = (unsigned char)(ds >> (8 * i));
        tfile_write("build/t_fmt2_bad.lbkm", b2, n + 1);
        expect_format_error(ctx, "build/t_fmt2_bad.lbkm", "data section");
        free(b2);
    }
    {   /* a data offset that is not where the writer puts it */
        uint64_t d2 = doff + 64;
        for (int i = 0; i < 8; i++) b[32 + i] = (unsigned char)(d2 >> (8 * i));
        tfile_write("build/t_fmt2_bad.lbkm", b, n);
        expect_format_error(ctx, "build/t_fmt2_bad.lbkm", NULL);
    }
    free(b);
    lbk_ctx_destroy(ctx);
}

/* A format-2 file written by 0.12.0 (tests/fixtures/module_v2_0120.lbkm: make_module_v1.c
   built against 5a1750a's header; its data checksum is of kind 0, one serial chain) still
   loads and computes. A file written now says kind 1; a constant over several 64-byte
   blocks (the eight-chain path) with one bit changed anywhere is refused, and so is the
   same file claiming kind 0 or an unknown kind 2. */
static void test_module_checksum_kinds(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx_on("cpu");
    lbk_module *m = lbk_module_load(ctx, "tests/fixtures/module_v2_0120.lbkm");
    if (!m) fail_msg("%s", lbk_ctx_error(ctx));
    run_fixture(ctx, m);
    lbk_module_destroy(m);
    enum { NC = 1000 + 3 };   /* 4012 bytes: 62 whole blocks and a tail of 44 (5 words and 4 bytes) */
    static float c[NC];
    for (int i = 0; i < NC; i++) c[i] = (float)(i % 17) * 0.25f - 2;
    int64_t d = NC;
    const int64_t *dims[1] = {&d};
    int nd[1] = {1};
    lbk_dtype dt[1] = {LBK_F32};
    lbk_tensor x, y;
    m = lbk_module_create(ctx, "Big");
    assert_int_equal(lbk_method_begin(m, "forward", 1, dt, nd, dims, &x), LBK_OK);
    y = lbk_mul(ctx, x, lbk_from_host(ctx, LBK_F32, 1, &d, c));
    assert_int_equal(lbk_method_end(m, &y, 1), LBK_OK);
    assert_int_equal(lbk_module_save(m, "build/t_kinds.lbkm"), LBK_OK);
    lbk_module_destroy(m);
    size_t n;
    unsigned char *b = tfile_read("build/t_kinds.lbkm", &n);
    uint64_t doff = le64(b + 32);
    assert_int_equal(le64(b + 56), 1);
    m = lbk_module_load_memory(ctx, b, n);
    if (!m) fail_msg("%s", lbk_ctx_error(ctx));
    {   /* it computes x * c */
        static double xs[NC], g[NC];
        for (int i = 0; i < NC; i++) xs[i] = 1.0 + i;
        lbk_tensor in = tfrom(ctx, LBK_F32, 1, &d, xs), out;
        assert_int_equal(lbk_module_run(m, "forward", &in, 1, &out, 1), LBK_OK);
        tread(ctx, out, g);
        for (int i = 0; i < NC; i++) assert_true(g[i] == (double)(float)((1.0 + i) * c[i]));
    }
    lbk_module_destroy(m);
    static const size_t at[] = {0, 7, 8, 63, 64, 2000, 3967, 3968, 4007, 4008, 4011};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        b[doff + at[k]] ^= 0x10;
        assert_null(lbk_module_load_memory(ctx, b, n));
        assert_contains(lbk_ctx_error(ctx), "data checksum");
        lbk_ctx_clear_error(ctx);
        b[doff + at[k]] ^= 0x10;
    }
    {   /* two words of one block swapped within their lanes' order: still caught */
        unsigned char t[8];
        memcpy(t, b + doff + 64, 8); memcpy(b + doff + 64, b + doff + 128, 8); memcpy(b + doff + 128, t, 8);
        if (memcmp(b + doff + 64, b + doff + 128, 8) != 0) {
            assert_null(lbk_module_load_memory(ctx, b, n));
            lbk_ctx_clear_error(ctx);
        }
        memcpy(t, b + doff + 64, 8); memcpy(b + doff + 64, b + doff + 128, 8); memcpy(b + doff + 128, t, 8);
    }
    b[56] = 0;
    assert_null(lbk_module_load_memory(ctx, b, n));
    assert_contains(lbk_ctx_error(ctx), "data checksum");
    lbk_ctx_clear_error(ctx);
    b[56] = 2;
    assert_null(lbk_module_load_memory(ctx, b, n));
    assert_contains(lbk_ctx_error(ctx), "reserved header bytes");
    lbk_ctx_clear_error(ctx);
    b[56] = 1;
    m = lbk_module_load_memory(ctx, b, n);
    assert_non_null(m);
    lbk_module_destroy(m);
    free(b);
    lbk_ctx_destroy(ctx);
}

/* The public device calls on the cpu backend (one device, no memory report) and on a
   backend with none of the device members (the defaults). */
static void test_backend_devices(void **state) {
    (void)state;
    lbk_device devs[4], cpu0 = {LBK_DEVICE_CPU, 0}, comp[2];
    size_t fr = 7, tot = 7;
    assert_int_equal(lbk_backend_devices("cpu", devs, 4), 1);
    assert_int_equal(devs[0].type, LBK_DEVICE_CPU);
    assert_int_equal(devs[0].ordinal, 0);
    assert_int_equal(lbk_backend_devices("cpu", NULL, 0), 1);
    assert_int_equal(lbk_backend_devices("no-such", devs, 4), -1);
    assert_int_equal(lbk_last_result(), LBK_ERR_NOT_FOUND);
    assert_int_equal(lbk_backend_devices("cpu", NULL, 3), -1);
    assert_int_equal(lbk_backend_devices(NULL, devs, 4), -1);
    assert_int_equal(lbk_backend_set_default_device("cpu", LBK_DEVICE_CPU, 0), LBK_OK);
    assert_int_equal(lbk_backend_set_default_device("cpu", -1, 1), LBK_ERR_ARG);
    assert_contains(lbk_last_error(), "no ordinal 1");
    assert_int_equal(lbk_backend_set_default_device("cpu", LBK_DEVICE_CUDA, 0), LBK_ERR_UNSUPPORTED);
    assert_int_equal(lbk_backend_memory_info("cpu", cpu0, &fr, &tot), LBK_ERR_UNSUPPORTED);
    assert_true(fr == 0 && tot == 0);
    assert_int_equal(lbk_backend_compilation_devices("cpu", cpu0, comp, 2), 1);
    assert_int_equal(comp[0].type, LBK_DEVICE_CPU);
    /* a backend with no device members: one device of type LBK_DEVICE_USER */
    lbk_backend_i b = mock_iface("mock_nodev");
    b.default_device_type = NULL; b.default_device_ordinal = NULL; b.set_default_device_ordinal = NULL;
    b.devices = NULL; b.map_device = NULL; b.memory_info = NULL; b.compilation_devices = NULL;
    assert_int_equal(lbk_backend_register(&b, &g_mock), LBK_OK);
    assert_int_equal(lbk_backend_devices("mock_nodev", devs, 4), 1);
    assert_int_equal(devs[0].type, LBK_DEVICE_USER);
    assert_int_equal(lbk_backend_set_default_device("mock_nodev", -1, 0), LBK_OK);
    assert_int_equal(lbk_backend_set_default_device("mock_nodev", -1, 1), LBK_ERR_ARG);
    lbk_device u0 = {LBK_DEVICE_USER, 0};
    assert_int_equal(lbk_backend_compilation_devices("mock_nodev", u0, comp, 2), 1);
    assert_int_equal(comp[0].type, LBK_DEVICE_USER);
    assert_int_equal(lbk_backend_unregister("mock_nodev"), LBK_OK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_op_table), cmocka_unit_test(test_dtype_table), cmocka_unit_test(test_graph_of),
    cmocka_unit_test(test_concat_5000), cmocka_unit_test(test_many_calls), cmocka_unit_test(test_module_format1),
    cmocka_unit_test(test_value_bytes), cmocka_unit_test(test_module_format2), cmocka_unit_test(test_module_checksum_kinds),
    cmocka_unit_test(test_backend_devices),
};
TEST_GROUP(tables_tests, tests);
