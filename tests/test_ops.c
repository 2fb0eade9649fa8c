/* Ops on the cpu reference path against float64 / int64 references computed here. */
#include "common.h"

static double ref_unary(lbk_op op, double x) {
    switch (op) {
    case LBK_OP_NEG: return -x;
    case LBK_OP_ABS: return fabs(x);
    case LBK_OP_EXP: return exp(x);
    case LBK_OP_LOG: return log(x);
    case LBK_OP_SQRT: return sqrt(x);
    case LBK_OP_RSQRT: return 1 / sqrt(x);
    case LBK_OP_SIN: return sin(x);
    case LBK_OP_COS: return cos(x);
    case LBK_OP_TANH: return tanh(x);
    case LBK_OP_SIGMOID: return 1 / (1 + exp(-x));
    case LBK_OP_RELU: return x > 0 ? x : 0;
    case LBK_OP_ERF: return erf(x);
    case LBK_OP_FLOOR: return floor(x);
    case LBK_OP_CEIL: return ceil(x);
    case LBK_OP_RECIPROCAL: return 1 / x;
    default: return NAN;
    }
}
typedef lbk_tensor (*unary_fn)(lbk_ctx *, lbk_tensor);
static const struct { lbk_op op; unary_fn fn; double lo, hi; } unaries[] = {
    {LBK_OP_NEG, (lbk_neg), -5, 5}, {LBK_OP_ABS, (lbk_abs), -5, 5}, {LBK_OP_EXP, (lbk_exp), -10, 10},
    {LBK_OP_LOG, (lbk_log), 0.01, 100}, {LBK_OP_SQRT, (lbk_sqrt), 0, 100}, {LBK_OP_RSQRT, (lbk_rsqrt), 0.01, 100},
    {LBK_OP_SIN, (lbk_sin), -10, 10}, {LBK_OP_COS, (lbk_cos), -10, 10}, {LBK_OP_TANH, (lbk_tanh), -5, 5},
    {LBK_OP_SIGMOID, (lbk_sigmoid), -20, 20}, {LBK_OP_RELU, (lbk_relu), -5, 5}, {LBK_OP_ERF, (lbk_erf), -3, 3},
    {LBK_OP_FLOOR, (lbk_floor), -5, 5}, {LBK_OP_CEIL, (lbk_ceil), -5, 5}, {LBK_OP_RECIPROCAL, (lbk_reciprocal), 0.1, 10},
};

static void test_unary_float(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t dims[2] = {7, 13};
    double in[91], got[91], ref[91];
    for (size_t u = 0; u < sizeof unaries / sizeof unaries[0]; u++) {
        for (int f = 0; f < 2; f++) {
            lbk_dtype dt = f ? LBK_F64 : LBK_F32;
            tfill(in, 91, unaries[u].lo, unaries[u].hi, 100 + u);
            if (dt == LBK_F32) for (int i = 0; i < 91; i++) in[i] = (float)in[i];
            lbk_tensor x = tfrom(ctx, dt, 2, dims, in);
            lbk_tensor y = unaries[u].fn(ctx, x);
            assert_int_equal(lbk_type(ctx, y), dt);
            tread(ctx, y, got);
            for (int i = 0; i < 91; i++) ref[i] = ref_unary(unaries[u].op, in[i]);
            tclose(got, ref, 91, dt == LBK_F32 ? 2e-7 : 1e-15, lbk_op_name(unaries[u].op));
        }
    }
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_unary_int_and_special(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 6;
    double in[6] = {-3, -1, 0, 1, 2, 7}, got[6], ref[6];
    lbk_tensor x = tfrom(ctx, LBK_I32, 1, &n, in);
    /* transcendental ops of ints are f32 */
    lbk_tensor e = lbk_exp(ctx, x);
    assert_int_equal(lbk_type(ctx, e), LBK_F32);
    tread(ctx, e, got);
    for (int i = 0; i < 6; i++) ref[i] = exp(in[i]);
    tclose(got, ref, 6, 2e-7, "exp(i32)");
    /* neg/abs/relu keep ints; floor of an int is the int */
    lbk_tensor ng = lbk_neg(ctx, x), ab = lbk_abs(ctx, x), rl = lbk_relu(ctx, x), fl = lbk_floor(ctx, x);
    assert_int_equal(lbk_type(ctx, ng), LBK_I32);
    tread(ctx, ng, got); for (int i = 0; i < 6; i++) assert_true(got[i] == -in[i]);
    tread(ctx, ab, got); for (int i = 0; i < 6; i++) assert_true(got[i] == fabs(in[i]));
    tread(ctx, rl, got); for (int i = 0; i < 6; i++) assert_true(got[i] == (in[i] > 0 ? in[i] : 0));
    tread(ctx, fl, got); for (int i = 0; i < 6; i++) assert_true(got[i] == in[i]);
    /* int32 negation wraps */
    int32_t mn = INT32_MIN, back;
    int64_t one = 1;
    lbk_tensor m = lbk_neg(ctx, lbk_from_host(ctx, LBK_I32, 1, &one, &mn));
    assert_int_equal(lbk_read(ctx, m, &back, 4), LBK_OK);
    assert_int_equal(back, INT32_MIN);
    /* special values */
    double sp[6] = {INFINITY, -INFINITY, NAN, -0.0, 0.0, 1e-310};
    lbk_tensor s = tfrom(ctx, LBK_F64, 1, &n, sp);
    tread(ctx, lbk_exp(ctx, s), got);
    assert_true(isinf(got[0]) && got[1] == 0 && isnan(got[2]) && got[3] == 1 && got[4] == 1);
    tread(ctx, lbk_sqrt(ctx, s), got);
    assert_true(isinf(got[0]) && isnan(got[1]) && isnan(got[2]) && got[3] == 0 && signbit(got[3]));
    tread(ctx, lbk_relu(ctx, s), got);
    assert_true(isinf(got[0]) && got[1] == 0 && isnan(got[2]));
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

typedef lbk_tensor (*binary_fn)(lbk_ctx *, lbk_tensor, lbk_tensor);
static double ref_binary(lbk_op op, double x, double y) {
    switch (op) {
    case LBK_OP_ADD: return x + y;
    case LBK_OP_SUB: return x - y;
    case LBK_OP_MUL: return x * y;
    case LBK_OP_DIV: return x / y;
    case LBK_OP_POW: return pow(x, y);
    case LBK_OP_MAXIMUM: return x > y ? x : y;
    case LBK_OP_MINIMUM: return x < y ? x : y;
    case LBK_OP_EQ: return x == y;
    case LBK_OP_NE: return x != y;
    case LBK_OP_LT: return x < y;
    case LBK_OP_LE: return x <= y;
    case LBK_OP_GT: return x > y;
    case LBK_OP_GE: return x >= y;
    case LBK_OP_LOGICAL_AND: return x != 0 && y != 0;
    case LBK_OP_LOGICAL_OR: return x != 0 || y != 0;
    default: return NAN;
    }
}
static const struct { lbk_op op; binary_fn fn; } binaries[] = {
    {LBK_OP_ADD, (lbk_add)}, {LBK_OP_SUB, (lbk_sub)}, {LBK_OP_MUL, (lbk_mul)}, {LBK_OP_DIV, (lbk_div)},
    {LBK_OP_POW, (lbk_pow)}, {LBK_OP_MAXIMUM, (lbk_maximum)}, {LBK_OP_MINIMUM, (lbk_minimum)},
    {LBK_OP_EQ, (lbk_eq)}, {LBK_OP_NE, (lbk_ne)}, {LBK_OP_LT, (lbk_lt)}, {LBK_OP_LE, (lbk_le)},
    {LBK_OP_GT, (lbk_gt)}, {LBK_OP_GE, (lbk_ge)}, {LBK_OP_LOGICAL_AND, (lbk_logical_and)},
    {LBK_OP_LOGICAL_OR, (lbk_logical_or)},
};

/* Every binary op over broadcasting shape pairs and dtype pairs, against float64. */
static void test_binary_broadcast(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    static const struct { int na; int64_t a[3]; int nb; int64_t b[3]; } shapes[] = {
        {2, {3, 4}, 2, {3, 4}}, {3, {2, 3, 4}, 1, {4}}, {3, {2, 1, 4}, 2, {3, 1}}, {1, {5}, 0, {0}},
        {0, {0}, 2, {2, 3}}, {2, {1, 1}, 3, {2, 2, 3}}, {2, {0, 3}, 1, {3}},
    };
    static const lbk_dtype dts[][2] = {{LBK_F32, LBK_F32}, {LBK_F64, LBK_F32}, {LBK_I32, LBK_I32}, {LBK_I32, LBK_I64},
                                       {LBK_I64, LBK_F32}, {LBK_BOOL, LBK_I32}};
    double a[64], b[64], got[64], ref[64];
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++) {
            for (size_t o = 0; o < sizeof binaries / sizeof binaries[0]; o++) {
                lbk_op op = binaries[o].op;
                lbk_dtype da = dts[d][0], db = dts[d][1];
                int64_t na = tnumel(shapes[s].na, shapes[s].a), nb = tnumel(shapes[s].nb, shapes[s].b);
                bool ints = da != LBK_F32 && da != LBK_F64 && db != LBK_F32 && db != LBK_F64;
                if (op == LBK_OP_POW && ints) continue;   /* integer pow: its own test */
                tfill(a, na, -4, 4, s * 100 + d * 10 + o);
                tfill(b, nb, -4, 4, s * 100 + d * 10 + o + 7);
                for (int64_t i = 0; i < na; i++) {
                    if (op == LBK_OP_POW) a[i] = fabs(a[i]) + 0.5;
                    if (da == LBK_BOOL) a[i] = a[i] > 0;
                    else if (da == LBK_I32 || da == LBK_I64) a[i] = floor(a[i]);
                    else if (da == LBK_F32) a[i] = (float)a[i];
                }
                for (int64_t i = 0; i < nb; i++) {
                    if (i % 5 == 0 && op >= LBK_OP_EQ && op <= LBK_OP_GE && i < na) b[i] = a[i];  /* ties */
                    if (db == LBK_BOOL) b[i] = b[i] > 0;
                    else if (db == LBK_I32 || db == LBK_I64) b[i] = floor(b[i]);
                    else if (db == LBK_F32) b[i] = (float)b[i];
                    if (op == LBK_OP_DIV && b[i] == 0) b[i] = 3;
                }
                lbk_tensor ta = tfrom(ctx, da, shapes[s].na, shapes[s].a, a);
                lbk_tensor tb = tfrom(ctx, db, shapes[s].nb, shapes[s].b, b);
                lbk_tensor tc = binaries[o].fn(ctx, ta, tb);
                if (!tc.id) fail_msg("%s: %s", lbk_op_name(op), lbk_ctx_error(ctx));
                int ond = lbk_ndim(ctx, tc);
                int64_t odims[3];
                for (int k = 0; k < ond; k++) odims[k] = lbk_dim(ctx, tc, k);
                int64_t n = tnumel(ond, odims);
                bool is_cmp = op >= LBK_OP_EQ && op <= LBK_OP_LOGICAL_OR;
                lbk_dtype rdt = lbk_type(ctx, tc);
                if (is_cmp) assert_int_equal(rdt, LBK_BOOL);
                tread(ctx, tc, got);
                for (int64_t i = 0; i < n; i++) {
                    double x = a[tbidx(i, ond, odims, shapes[s].na, shapes[s].a)];
                    double y = b[tbidx(i, ond, odims, shapes[s].nb, shapes[s].b)];
                    if (rdt == LBK_F32 && !is_cmp) { x = (float)x; y = (float)y; }
                    ref[i] = ref_binary(op, x, y);
                    if (rdt == LBK_BOOL && !is_cmp) ref[i] = ref[i] != 0;
                }
                char what[64];
                snprintf(what, sizeof what, "%s %s/%s shape %zu", lbk_op_name(op), lbk_dtype_name(da), lbk_dtype_name(db), s);
                tclose(got, ref, n, rdt == LBK_F32 ? 2e-7 : 1e-15, what);
                lbk_release(ctx, ta); lbk_release(ctx, tb); lbk_release(ctx, tc);
            }
        }
    }
    assert_ctx_ok(ctx);
    assert_int_equal(lbk_live_tensors(ctx), 0);
    lbk_ctx_destroy(ctx);
}

static void test_promotion(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 2;
    double v[2] = {1, 2};
    lbk_tensor f32 = tfrom(ctx, LBK_F32, 1, &n, v), f64 = tfrom(ctx, LBK_F64, 1, &n, v);
    lbk_tensor i32 = tfrom(ctx, LBK_I32, 1, &n, v), i64 = tfrom(ctx, LBK_I64, 1, &n, v), bl = tfrom(ctx, LBK_BOOL, 1, &n, v);
    lbk_tensor sf64 = lbk_scalar(ctx, LBK_F64, 0.5), si64 = lbk_scalar(ctx, LBK_I64, 3), sb = lbk_scalar(ctx, LBK_BOOL, 1);
    assert_int_equal(lbk_type(ctx, lbk_mul(ctx, f32, sf64)), LBK_F32);   /* wrapped scalar counts by kind */
    assert_int_equal(lbk_type(ctx, lbk_mul(ctx, i32, sf64)), LBK_F32);
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, bl, si64)), LBK_I64);
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, i32, si64)), LBK_I32);
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, i32, sb)), LBK_I32);
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, i32, i64)), LBK_I64);
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, i64, f32)), LBK_F32);
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, f32, f64)), LBK_F64);
    assert_int_equal(lbk_type(ctx, lbk_div(ctx, i32, i32)), LBK_F32);
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, sf64, si64)), LBK_F64);   /* two scalars: ordinary rules */
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, bl, bl)), LBK_BOOL);
    /* i32 tensor * f64 scalar computes in f32 */
    double got[2];
    tread(ctx, lbk_mul(ctx, i32, sf64), got);
    assert_true(got[0] == 0.5 && got[1] == 1.0);
    /* 7 / 2 is true division */
    lbk_tensor q = lbk_div(ctx, lbk_scalar(ctx, LBK_I32, 7), lbk_scalar(ctx, LBK_I32, 2));
    tread(ctx, q, got);
    assert_true(got[0] == 3.5);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_int_arith(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 6;
    int64_t a[6] = {2, -3, 5, 0, INT64_MAX, -1}, b[6] = {10, 3, 0, 0, 1, -3}, got[6];
    lbk_tensor ta = lbk_from_host(ctx, LBK_I64, 1, &n, a), tb = lbk_from_host(ctx, LBK_I64, 1, &n, b);
    assert_int_equal(lbk_read(ctx, lbk_pow(ctx, ta, tb), got, sizeof got), LBK_OK);
    assert_true(got[0] == 1024 && got[1] == -27 && got[2] == 1 && got[3] == 1 && got[4] == INT64_MAX && got[5] == -1);
    assert_int_equal(lbk_read(ctx, lbk_add(ctx, ta, tb), got, sizeof got), LBK_OK);
    assert_true(got[4] == INT64_MIN);   /* wraps */
    assert_int_equal(lbk_read(ctx, lbk_mul(ctx, ta, tb), got, sizeof got), LBK_OK);
    assert_true(got[0] == 20 && got[1] == -9 && got[5] == 3);
    int32_t x[3] = {INT32_MAX, 7, -7}, y[3] = {1, 2, -1}, r32[3];
    int64_t n3 = 3;
    lbk_tensor tx = lbk_from_host(ctx, LBK_I32, 1, &n3, x), ty = lbk_from_host(ctx, LBK_I32, 1, &n3, y);
    assert_int_equal(lbk_read(ctx, lbk_add(ctx, tx, ty), r32, sizeof r32), LBK_OK);
    assert_true(r32[0] == INT32_MIN && r32[1] == 9 && r32[2] == -8);
    assert_int_equal(lbk_read(ctx, lbk_maximum(ctx, tx, ty), r32, sizeof r32), LBK_OK);
    assert_true(r32[0] == INT32_MAX && r32[1] == 7 && r32[2] == -1);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_nan_max_min(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 3;
    double a[3] = {NAN, 1, 2}, b[3] = {1, NAN, 3}, got[3];
    lbk_tensor ta = tfrom(ctx, LBK_F64, 1, &n, a), tb = tfrom(ctx, LBK_F64, 1, &n, b);
    tread(ctx, lbk_maximum(ctx, ta, tb), got);
    assert_true(isnan(got[0]) && isnan(got[1]) && got[2] == 3);
    tread(ctx, lbk_minimum(ctx, ta, tb), got);
    assert_true(isnan(got[0]) && isnan(got[1]) && got[2] == 2);
    tread(ctx, lbk_eq(ctx, ta, ta), got);
    assert_true(got[0] == 0 && got[1] == 1);
    tread(ctx, lbk_ne(ctx, ta, ta), got);
    assert_true(got[0] == 1 && got[1] == 0);
    lbk_ctx_destroy(ctx);
}

static void test_logical_and_where(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t d2[2] = {2, 3}, d1 = 3;
    double c[6] = {1, 0, 1, 0, 0, 1}, a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {-1, -2, -3}, got[6];
    lbk_tensor tc = tfrom(ctx, LBK_BOOL, 2, d2, c), ta = tfrom(ctx, LBK_I32, 2, d2, a), tb = tfrom(ctx, LBK_F32, 1, &d1, b);
    lbk_tensor w = lbk_where(ctx, tc, ta, tb);
    assert_int_equal(lbk_type(ctx, w), LBK_F32);
    tread(ctx, w, got);
    for (int i = 0; i < 6; i++) assert_true(got[i] == (c[i] ? a[i] : b[i % 3]));
    /* where with a scalar branch */
    lbk_tensor w2 = lbk_where(ctx, tc, ta, lbk_scalar(ctx, LBK_I64, 9));
    assert_int_equal(lbk_type(ctx, w2), LBK_I32);
    tread(ctx, w2, got);
    for (int i = 0; i < 6; i++) assert_true(got[i] == (c[i] ? a[i] : 9));
    /* logical ops take any dtype */
    lbk_tensor nt = lbk_logical_not(ctx, ta);
    assert_int_equal(lbk_type(ctx, nt), LBK_BOOL);
    tread(ctx, nt, got);
    for (int i = 0; i < 6; i++) assert_true(got[i] == 0);
    double f[3] = {0.0, 0.5, -0.0};
    lbk_tensor tf = tfrom(ctx, LBK_F64, 1, &d1, f);
    tread(ctx, lbk_logical_or(ctx, tf, lbk_scalar(ctx, LBK_BOOL, 0)), got);
    assert_true(got[0] == 0 && got[1] == 1 && got[2] == 0);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_cast(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 8;
    double v[8] = {-2.7, 2.7, 1e20, -1e20, NAN, 0.0, 3e9, -0.5};
    lbk_tensor t = tfrom(ctx, LBK_F64, 1, &n, v);
    int32_t i32[8];
    int64_t i64[8];
    uint8_t b[8];
    assert_int_equal(lbk_read(ctx, lbk_cast(ctx, t, LBK_I32), i32, sizeof i32), LBK_OK);
    assert_true(i32[0] == -2 && i32[1] == 2 && i32[2] == INT32_MAX && i32[3] == INT32_MIN && i32[4] == 0 && i32[5] == 0 &&
                i32[6] == INT32_MAX && i32[7] == 0);
    assert_int_equal(lbk_read(ctx, lbk_cast(ctx, t, LBK_I64), i64, sizeof i64), LBK_OK);
    assert_true(i64[0] == -2 && i64[2] == INT64_MAX && i64[3] == INT64_MIN && i64[4] == 0 && i64[6] == 3000000000LL);
    assert_int_equal(lbk_read(ctx, lbk_cast(ctx, t, LBK_BOOL), b, sizeof b), LBK_OK);
    assert_true(b[0] == 1 && b[4] == 1 && b[5] == 0 && b[7] == 1);
    /* i64 -> i32 wraps; read_as converts on the way out */
    int64_t big[2] = {4294967297LL, -1};
    int64_t two = 2;
    lbk_tensor tb = lbk_from_host(ctx, LBK_I64, 1, &two, big);
    assert_int_equal(lbk_read(ctx, lbk_cast(ctx, tb, LBK_I32), i32, 8), LBK_OK);
    assert_true(i32[0] == 1 && i32[1] == -1);
    float f[8];
    assert_int_equal(lbk_read_as(ctx, t, LBK_F32, f, sizeof f), LBK_OK);
    assert_true(f[0] == (float)-2.7 && f[2] == (float)1e20 && isnan(f[4]));
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

/* Reference reduction over a mask of axes, in float64. */
static void ref_reduce(const double *in, int nd, const int64_t *dims, unsigned mask, int kind, double *out) {
    int64_t n = tnumel(nd, dims), on = 1;
    for (int d = 0; d < nd; d++) if (!(mask & (1u << d))) on *= dims[d];
    for (int64_t o = 0; o < on; o++) out[o] = kind == 0 || kind == 1 ? 0 : NAN;
    int64_t *cnt = calloc((size_t)(on ? on : 1), sizeof *cnt);
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, o = 0, ostride = 1;
        for (int d = nd - 1; d >= 0; d--) {
            int64_t c = rem % dims[d];
            rem /= dims[d];
            if (!(mask & (1u << d))) { o += c * ostride; ostride *= dims[d]; }
        }
        double v = in[i];
        if (kind <= 1) out[o] += v;
        else if (cnt[o] == 0) out[o] = v;
        else if (kind == 2) out[o] = (isnan(out[o]) || isnan(v)) ? NAN : fmax(out[o], v);
        else out[o] = (isnan(out[o]) || isnan(v)) ? NAN : fmin(out[o], v);
        cnt[o]++;
    }
    if (kind == 1) for (int64_t o = 0; o < on; o++) out[o] /= (double)cnt[o];
    free(cnt);
}

static void test_reductions(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t dims[3] = {3, 4, 5};
    double in[60], got[60], ref[60];
    tfill(in, 60, -3, 3, 42);
    in[17] = NAN;
    typedef lbk_tensor (*red_fn)(lbk_ctx *, lbk_tensor, int, const int *, bool);
    red_fn fns[4] = {(lbk_sum), (lbk_mean), (lbk_amax), (lbk_amin)};
    for (int dtk = 0; dtk < 2; dtk++) {
        lbk_dtype dt = dtk ? LBK_F64 : LBK_F32;
        double src[60];
        for (int i = 0; i < 60; i++) src[i] = dt == LBK_F32 ? (float)in[i] : in[i];
        lbk_tensor t = tfrom(ctx, dt, 3, dims, src);
        for (unsigned mask = 0; mask < 8; mask++) {
            int axes[3], na = 0;
            for (int d = 0; d < 3; d++) if (mask & (1u << d)) axes[na++] = d - (d == 2 ? 3 : 0);  /* -1 for axis 2 */
            for (int kind = 0; kind < 4; kind++) {
                for (int keep = 0; keep < 2; keep++) {
                    unsigned m = na ? mask : 7;
                    lbk_tensor r = fns[kind](ctx, t, na, na ? axes : NULL, keep);
                    if (!r.id) fail_msg("%s", lbk_ctx_error(ctx));
                    int expect_nd = keep ? 3 : 3 - __builtin_popcount(m);
                    assert_int_equal(lbk_ndim(ctx, r), expect_nd);
                    assert_int_equal(lbk_type(ctx, r), dt);
                    tread(ctx, r, got);
                    ref_reduce(src, 3, dims, m, kind, ref);
                    tclose(got, ref, lbk_numel(ctx, r), dt == LBK_F32 ? 1e-6 : 1e-14, "reduction");
                    lbk_release(ctx, r);
                }
            }
        }
    }
    /* int sum is i64, int mean is f32 */
    double iv[6] = {1, 2, 3, 4, 5, 6};
    int64_t d2[2] = {2, 3};
    lbk_tensor ti = tfrom(ctx, LBK_I32, 2, d2, iv);
    int ax = 1;
    lbk_tensor s = lbk_sum(ctx, ti, 1, &ax, false), m = lbk_mean(ctx, ti, 0, NULL, false);
    assert_int_equal(lbk_type(ctx, s), LBK_I64);
    assert_int_equal(lbk_type(ctx, m), LBK_F32);
    tread(ctx, s, got);
    assert_true(got[0] == 6 && got[1] == 15);
    tread(ctx, m, got);
    assert_true(got[0] == 3.5);
    lbk_tensor bsum = lbk_sum(ctx, lbk_gt(ctx, ti, lbk_scalar(ctx, LBK_I32, 2)), 0, NULL, false);
    tread(ctx, bsum, got);
    assert_true(got[0] == 4);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

/* A compensated (Neumaier) double sum: the exact reference for the accuracy tests (long
   double is not wider than double everywhere: valgrind, for one, computes it as double). */
static double exact_sum(const double *v, int64_t n) {
    double s = 0, c = 0;
    for (int64_t i = 0; i < n; i++) {
        double t = s + v[i];
        c += fabs(s) >= fabs(v[i]) ? (s - t) + v[i] : (v[i] - t) + s;
        s = t;
    }
    return s + c;
}

/* A sum of 10^6 floats is accurate to a few ulps (pairwise or better). */
static void test_sum_accuracy(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 1000000;
    float *v = malloc(sizeof(float) * (size_t)n);
    double *dv = malloc(sizeof(double) * (size_t)n);
    uint64_t s = 7;
    for (int64_t i = 0; i < n; i++) { v[i] = (float)(0.1 + trand(&s)); dv[i] = v[i]; }
    double exact = exact_sum(dv, n);
    lbk_tensor t = lbk_from_host(ctx, LBK_F32, 1, &n, v);
    float got;
    assert_int_equal(lbk_read(ctx, lbk_sum(ctx, t, 0, NULL, false), &got, sizeof got), LBK_OK);
    float ref = (float)exact;
    assert_true(fabsf(got - ref) <= 2 * (nextafterf(ref, INFINITY) - ref));
    for (int64_t i = 0; i < n; i++) dv[i] = 1.0 / (double)(i + 1) + 1e-3 * trand(&s);
    double dex = exact_sum(dv, n);
    lbk_tensor td = lbk_from_host(ctx, LBK_F64, 1, &n, dv);
    double dgot;
    assert_int_equal(lbk_read(ctx, lbk_sum(ctx, td, 0, NULL, false), &dgot, sizeof dgot), LBK_OK);
    assert_true(fabs(dgot - dex) <= 8 * fabs(dex) * 2.2e-16);
    free(v);
    free(dv);
    lbk_ctx_destroy(ctx);
}

static void test_argmax(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t dims[2] = {3, 4};
    double v[12] = {1, 5, 5, 2, /**/ -1, -3, -1, -2, /**/ 0, NAN, 7, NAN};
    lbk_tensor t = tfrom(ctx, LBK_F64, 2, dims, v);
    double got[4];
    lbk_tensor a1 = lbk_argmax(ctx, t, -1, false);
    assert_int_equal(lbk_type(ctx, a1), LBK_I64);
    tread(ctx, a1, got);
    assert_true(got[0] == 1 && got[1] == 0 && got[2] == 1);   /* first max; nan is max */
    lbk_tensor a0 = lbk_argmax(ctx, t, 0, true);
    assert_int_equal(lbk_ndim(ctx, a0), 2);
    assert_int_equal(lbk_dim(ctx, a0, 0), 1);
    tread(ctx, a0, got);
    assert_true(got[0] == 0 && got[1] == 2 && got[2] == 2 && got[3] == 2);
    double iv[4] = {3, 9, 9, 1};
    int64_t four = 4;
    tread(ctx, lbk_argmax(ctx, tfrom(ctx, LBK_I32, 1, &four, iv), 0, false), got);
    assert_true(got[0] == 1);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void ref_matmul(const double *a, const double *b, double *c, int64_t M, int64_t K, int64_t N) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
            c[i * N + j] = s;
        }
}

static void test_matmul(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    double a[2 * 3 * 4 * 5], b[3 * 5 * 6], got[2 * 3 * 4 * 6], ref[2 * 3 * 4 * 6];
    tfill(a, 120, -1, 1, 1);
    tfill(b, 90, -1, 1, 2);
    /* 2-d, both dtypes */
    int64_t da[2] = {4, 5}, db[2] = {5, 6};
    for (int f = 0; f < 2; f++) {
        lbk_dtype dt = f ? LBK_F64 : LBK_F32;
        double af[20], bf[30];
        for (int i = 0; i < 20; i++) af[i] = dt == LBK_F32 ? (float)a[i] : a[i];
        for (int i = 0; i < 30; i++) bf[i] = dt == LBK_F32 ? (float)b[i] : b[i];
        lbk_tensor c = lbk_matmul(ctx, tfrom(ctx, dt, 2, da, af), tfrom(ctx, dt, 2, db, bf));
        assert_int_equal(lbk_ndim(ctx, c), 2);
        tread(ctx, c, got);
        ref_matmul(af, bf, ref, 4, 5, 6);
        tclose(got, ref, 24, dt == LBK_F32 ? 1e-6 : 1e-14, "matmul 2d");
    }
    /* batch broadcast: [2,3,4,5] @ [3,5,6] -> [2,3,4,6] */
    int64_t ba[4] = {2, 3, 4, 5}, bb[3] = {3, 5, 6};
    lbk_tensor c = lbk_matmul(ctx, tfrom(ctx, LBK_F64, 4, ba, a), tfrom(ctx, LBK_F64, 3, bb, b));
    assert_int_equal(lbk_ndim(ctx, c), 4);
    assert_int_equal(lbk_dim(ctx, c, 3), 6);
    tread(ctx, c, got);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) ref_matmul(a + (i * 3 + j) * 20, b + j * 30, ref + (i * 3 + j) * 24, 4, 5, 6);
    tclose(got, ref, 144, 1e-14, "batched matmul");
    /* 1-d cases: vector @ matrix, matrix @ vector, dot */
    int64_t k5 = 5, d45[2] = {4, 5};
    lbk_tensor v = tfrom(ctx, LBK_F64, 1, &k5, b);
    lbk_tensor mv = lbk_matmul(ctx, tfrom(ctx, LBK_F64, 2, d45, a), v);
    assert_int_equal(lbk_ndim(ctx, mv), 1);
    assert_int_equal(lbk_dim(ctx, mv, 0), 4);
    tread(ctx, mv, got);
    ref_matmul(a, b, ref, 4, 5, 1);
    tclose(got, ref, 4, 1e-14, "matrix @ vector");
    lbk_tensor vm = lbk_matmul(ctx, v, tfrom(ctx, LBK_F64, 2, db, b));
    assert_int_equal(lbk_ndim(ctx, vm), 1);
    tread(ctx, vm, got);
    ref_matmul(b, b, ref, 1, 5, 6);
    tclose(got, ref, 6, 1e-14, "vector @ matrix");
    lbk_tensor dot = lbk_matmul(ctx, v, v);
    assert_int_equal(lbk_ndim(ctx, dot), 0);
    tread(ctx, dot, got);
    ref_matmul(b, b, ref, 1, 5, 1);
    tclose(got, ref, 1, 1e-14, "dot");
    /* ints, and a zero-size inner dim gives zeros */
    double ia[4] = {1, 2, 3, 4}, ib[4] = {5, 6, 7, 8};
    int64_t d22[2] = {2, 2};
    tread(ctx, lbk_matmul(ctx, tfrom(ctx, LBK_I32, 2, d22, ia), tfrom(ctx, LBK_I64, 2, d22, ib)), got);
    assert_true(got[0] == 19 && got[1] == 22 && got[2] == 43 && got[3] == 50);
    int64_t d30[2] = {3, 0}, d02[2] = {0, 2};
    lbk_tensor z = lbk_matmul(ctx, lbk_full(ctx, LBK_F32, 2, d30, 1), lbk_full(ctx, LBK_F32, 2, d02, 1));
    assert_int_equal(lbk_numel(ctx, z), 6);
    tread(ctx, z, got);
    for (int i = 0; i < 6; i++) assert_true(got[i] == 0);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_shape_ops(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t dims[3] = {2, 3, 4};
    double v[24], got[48];
    for (int i = 0; i < 24; i++) v[i] = i;
    lbk_tensor t = tfrom(ctx, LBK_I64, 3, dims, v);
    /* reshape with -1 keeps C order */
    int64_t rd[2] = {-1, 6};
    lbk_tensor r = lbk_reshape(ctx, t, 2, rd);
    assert_int_equal(lbk_dim(ctx, r, 0), 4);
    tread(ctx, r, got);
    for (int i = 0; i < 24; i++) assert_true(got[i] == i);
    /* permute [2,0,1]: out[k][i][j] = in[i][j][k] */
    int perm[3] = {2, 0, -2};
    lbk_tensor p = lbk_permute(ctx, t, perm);
    assert_int_equal(lbk_dim(ctx, p, 0), 4);
    assert_int_equal(lbk_dim(ctx, p, 2), 3);
    tread(ctx, p, got);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) assert_true(got[(k * 2 + i) * 3 + j] == v[(i * 3 + j) * 4 + k]);
    /* transpose of the last two */
    lbk_tensor tr = lbk_transpose(ctx, t, -1, 1);
    tread(ctx, tr, got);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 3; j++) assert_true(got[(i * 4 + k) * 3 + j] == v[(i * 3 + j) * 4 + k]);
    /* slice axis 2, start 1 step 2 -> [2,3,2]; negative start */
    lbk_tensor s = lbk_slice(ctx, t, 2, 1, INT64_MAX, 2);
    assert_int_equal(lbk_dim(ctx, s, 2), 2);
    tread(ctx, s, got);
    for (int i = 0; i < 6; i++) for (int k = 0; k < 2; k++) assert_true(got[i * 2 + k] == v[i * 4 + 1 + 2 * k]);
    lbk_tensor s2 = lbk_slice(ctx, t, 1, -2, -1, 1);
    assert_int_equal(lbk_dim(ctx, s2, 1), 1);
    tread(ctx, s2, got);
    for (int i = 0; i < 2; i++) for (int k = 0; k < 4; k++) assert_true(got[i * 4 + k] == v[(i * 3 + 1) * 4 + k]);
    lbk_tensor s3 = lbk_slice(ctx, t, 0, 5, 9, 1);   /* clamped to empty */
    assert_int_equal(lbk_numel(ctx, s3), 0);
    /* expand [3,1] -> [2,3,4] */
    int64_t d31[2] = {3, 1}, ed[3] = {2, -1, 4};
    double c3[3] = {10, 20, 30};
    lbk_tensor e = lbk_expand(ctx, tfrom(ctx, LBK_F32, 2, d31, c3), 3, ed);
    assert_int_equal(lbk_dim(ctx, e, 1), 3);
    tread(ctx, e, got);
    for (int i = 0; i < 24; i++) assert_true(got[i] == c3[(i / 4) % 3]);
    /* concat along axis 1 with promotion */
    int64_t d2[3] = {2, 1, 4};
    double w[8];
    for (int i = 0; i < 8; i++) w[i] = 100 + i + 0.5;
    lbk_tensor parts[2] = {t, tfrom(ctx, LBK_F32, 3, d2, w)};
    lbk_tensor cc = lbk_concat(ctx, parts, 2, -2);
    assert_int_equal(lbk_type(ctx, cc), LBK_F32);
    assert_int_equal(lbk_dim(ctx, cc, 1), 4);
    tread(ctx, cc, got);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 4; k++)
                assert_true(got[(i * 4 + j) * 4 + k] == (j < 3 ? v[(i * 3 + j) * 4 + k] : w[i * 4 + k]));
    /* concat through the compound-literal form, with a zero-size part */
    int64_t dz[3] = {2, 0, 4};
    lbk_tensor cz = lbk_concat(ctx, (lbk_tensor[]){lbk_full(ctx, LBK_I64, 3, dz, 0), t}, 2, 1);
    tread(ctx, cz, got);
    for (int i = 0; i < 24; i++) assert_true(got[i] == v[i]);
    /* many inputs (the side array) */
    lbk_tensor many[9];
    int64_t one = 1;
    for (int i = 0; i < 9; i++) many[i] = lbk_full(ctx, LBK_I32, 1, &one, i);
    tread(ctx, lbk_concat(ctx, many, 9, 0), got);
    for (int i = 0; i < 9; i++) assert_true(got[i] == i);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_creation(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    double got[1000];
    lbk_tensor a = lbk_arange(ctx, LBK_F32, 0, 1, 0.25);
    assert_int_equal(lbk_numel(ctx, a), 4);
    tread(ctx, a, got);
    for (int i = 0; i < 4; i++) assert_true(got[i] == 0.25 * i);
    lbk_tensor b = lbk_arange(ctx, LBK_I64, 10, 0, -3);
    assert_int_equal(lbk_numel(ctx, b), 4);
    tread(ctx, b, got);
    assert_true(got[0] == 10 && got[3] == 1);
    assert_int_equal(lbk_numel(ctx, lbk_arange(ctx, LBK_I32, 5, 5, 1)), 0);
    int64_t d[2] = {2, 2};
    tread(ctx, lbk_full(ctx, LBK_F64, 2, d, 2.5), got);
    for (int i = 0; i < 4; i++) assert_true(got[i] == 2.5);
    tread(ctx, lbk_full(ctx, LBK_I32, 0, NULL, -7.9), got);
    assert_true(got[0] == -7);
    lbk_tensor e = lbk_empty(ctx, LBK_F32, 2, d);
    assert_false(lbk_is_pending(ctx, e));
    assert_int_equal(lbk_numel(ctx, e), 4);
    /* rand in [0,1) with mean near 1/2; randn mean near 0, variance near 1 */
    int64_t n = 1000;
    lbk_set_seed(ctx, 1234);
    lbk_tensor u = lbk_rand(ctx, LBK_F32, 1, &n), g = lbk_randn(ctx, LBK_F64, 1, &n);
    tread(ctx, u, got);
    double s = 0, s2 = 0;
    for (int i = 0; i < 1000; i++) { assert_true(got[i] >= 0 && got[i] < 1); s += got[i]; }
    assert_true(fabs(s / 1000 - 0.5) < 0.05);
    tread(ctx, g, got);
    s = 0;
    for (int i = 0; i < 1000; i++) { s += got[i]; s2 += got[i] * got[i]; }
    assert_true(fabs(s / 1000) < 0.12 && fabs(s2 / 1000 - 1) < 0.15);
    /* the same seed gives the same numbers; two rand calls are never merged */
    double first[8], again[8], other[8];
    int64_t eight = 8;
    lbk_set_seed(ctx, 99);
    tread(ctx, lbk_rand(ctx, LBK_F64, 1, &eight), first);
    tread(ctx, lbk_rand(ctx, LBK_F64, 1, &eight), other);
    lbk_set_seed(ctx, 99);
    tread(ctx, lbk_rand(ctx, LBK_F64, 1, &eight), again);
    assert_memory_equal(first, again, sizeof first);
    assert_memory_not_equal(first, other, sizeof first);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static void test_zero_size(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t d[2] = {0, 3}, d3 = 3;
    double ones[3] = {1, 1, 1}, got[3];
    lbk_tensor z = lbk_full(ctx, LBK_F32, 2, d, 1);
    lbk_tensor y = lbk_add(ctx, z, tfrom(ctx, LBK_F32, 1, &d3, ones));
    assert_int_equal(lbk_numel(ctx, y), 0);
    assert_int_equal(lbk_read(ctx, y, NULL, 0), LBK_OK);
    int ax = 0;
    tread(ctx, lbk_sum(ctx, z, 1, &ax, false), got);
    assert_true(got[0] == 0 && got[2] == 0);
    tread(ctx, lbk_mean(ctx, z, 1, &ax, false), got);
    assert_true(isnan(got[0]));
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_unary_float),   cmocka_unit_test(test_unary_int_and_special),
    cmocka_unit_test(test_binary_broadcast), cmocka_unit_test(test_promotion),
    cmocka_unit_test(test_int_arith),     cmocka_unit_test(test_nan_max_min),
    cmocka_unit_test(test_logical_and_where), cmocka_unit_test(test_cast),
    cmocka_unit_test(test_reductions),    cmocka_unit_test(test_sum_accuracy),
    cmocka_unit_test(test_argmax),        cmocka_unit_test(test_matmul),
    cmocka_unit_test(test_shape_ops),     cmocka_unit_test(test_creation),
    cmocka_unit_test(test_zero_size),
};
TEST_GROUP(ops_tests, tests);
