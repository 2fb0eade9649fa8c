/* The conveniences of issue 15 (squeeze, unsqueeze, flatten, stack, split, flip, negative
   slice steps, repeat, clamp, tril, triu) on both cpu paths against hand loops: shapes,
   values, 0-d, empty and size-1 dims, the widest tensors, dtypes, and their argument errors
   named after the call. */
#include "common.h"
#include <stdlib.h>
#include <stdio.h>

static const char *const paths[2] = {"cpu", "cpu-reference"};

static void expect_dims(lbk_ctx *ctx, lbk_tensor t, int nd, const int64_t *dims) {
    if (!t.id) fail_msg("no tensor: %s", lbk_ctx_error(ctx));
    assert_int_equal(lbk_ndim(ctx, t), nd);
    for (int k = 0; k < nd; k++) assert_int_equal(lbk_dim(ctx, t, k), dims[k]);
}
static void expect_fail(lbk_ctx *ctx, lbk_tensor t, lbk_result r, const char *needle) {
    assert_int_equal(t.id, 0);
    assert_int_equal(lbk_ctx_result(ctx), r);
    assert_contains(lbk_ctx_error(ctx), needle);
    lbk_ctx_clear_error(ctx);
}

static void test_squeeze_unsqueeze_flatten(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t d[3] = {3, 1, 4};
        double x[12], got[12];
        for (int i = 0; i < 12; i++) x[i] = i - 5.5;
        lbk_tensor t = tfrom(ctx, LBK_F64, 3, d, x);
        lbk_tensor s = lbk_squeeze(ctx, t, 1);
        expect_dims(ctx, s, 2, (int64_t[]){3, 4});
        tread(ctx, s, got);
        tclose(got, x, 12, 0, "squeeze");
        expect_dims(ctx, lbk_squeeze(ctx, t, 0), 3, d);     /* not 1: as it is */
        expect_dims(ctx, lbk_squeeze(ctx, t, -2), 2, (int64_t[]){3, 4});
        expect_dims(ctx, lbk_squeeze(ctx, lbk_scalar(ctx, LBK_F32, 2), 0), 0, NULL);
        expect_fail(ctx, lbk_squeeze(ctx, t, 3), LBK_ERR_ARG, "lbk_squeeze: axis 3 is out of range [-3, 2]");
        expect_dims(ctx, lbk_unsqueeze(ctx, t, 0), 4, (int64_t[]){1, 3, 1, 4});
        expect_dims(ctx, lbk_unsqueeze(ctx, t, 3), 4, (int64_t[]){3, 1, 4, 1});
        expect_dims(ctx, lbk_unsqueeze(ctx, t, -1), 4, (int64_t[]){3, 1, 4, 1});
        expect_dims(ctx, lbk_unsqueeze(ctx, t, -4), 4, (int64_t[]){1, 3, 1, 4});
        lbk_tensor u = lbk_unsqueeze(ctx, t, 2);
        expect_dims(ctx, u, 4, (int64_t[]){3, 1, 1, 4});
        tread(ctx, u, got);
        tclose(got, x, 12, 0, "unsqueeze");
        expect_dims(ctx, lbk_unsqueeze(ctx, lbk_scalar(ctx, LBK_F32, 2), 0), 1, (int64_t[]){1});
        expect_fail(ctx, lbk_unsqueeze(ctx, t, 4), LBK_ERR_ARG, "lbk_unsqueeze: axis 4 is out of range [-4, 3]");
        int64_t d8[8] = {1, 1, 1, 1, 1, 1, 1, 2};
        expect_fail(ctx, lbk_unsqueeze(ctx, lbk_full(ctx, LBK_F32, 8, d8, 1), 0), LBK_ERR_SHAPE, "cannot gain one");
        expect_dims(ctx, lbk_flatten(ctx, t, 0, -1), 1, (int64_t[]){12});
        lbk_tensor f = lbk_flatten(ctx, lbk_unsqueeze(ctx, t, 0), 1, 2);
        expect_dims(ctx, f, 3, (int64_t[]){1, 3, 4});
        tread(ctx, f, got);
        tclose(got, x, 12, 0, "flatten");
        expect_dims(ctx, lbk_flatten(ctx, t, 1, 1), 3, d);
        expect_dims(ctx, lbk_flatten(ctx, lbk_scalar(ctx, LBK_F32, 2), 0, -1), 1, (int64_t[]){1});
        int64_t z[3] = {2, 0, 3};
        expect_dims(ctx, lbk_flatten(ctx, lbk_full(ctx, LBK_I32, 3, z, 1), 0, 1), 2, (int64_t[]){0, 3});
        expect_fail(ctx, lbk_flatten(ctx, t, 2, 1), LBK_ERR_ARG, "lbk_flatten: start_axis 2 comes after end_axis 1");
        int64_t big[3] = {INT64_C(1) << 62, INT64_C(1) << 62, 0};   /* empty, but its first two dims multiply past int64 */
        lbk_tensor e = lbk_full(ctx, LBK_F32, 3, big, 1);
        expect_fail(ctx, lbk_flatten(ctx, e, 0, 1), LBK_ERR_SHAPE, "makes a dim past 2^63");
        expect_dims(ctx, lbk_flatten(ctx, e, 1, 2), 2, (int64_t[]){INT64_C(1) << 62, 0});
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static void test_stack_split(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t d[2] = {2, 3};
        double a[6], b[6], c[6], got[18];
        for (int i = 0; i < 6; i++) { a[i] = i; b[i] = 10 + i; c[i] = 20 + i; }
        lbk_tensor ts[3] = {tfrom(ctx, LBK_F32, 2, d, a), tfrom(ctx, LBK_I32, 2, d, b), tfrom(ctx, LBK_F32, 2, d, c)};
        lbk_tensor s0 = lbk_stack(ctx, ts, 3, 0);
        expect_dims(ctx, s0, 3, (int64_t[]){3, 2, 3});
        assert_int_equal(lbk_type(ctx, s0), LBK_F32);   /* promoted as concat */
        tread(ctx, s0, got);
        for (int i = 0; i < 6; i++) assert_true(got[i] == a[i] && got[6 + i] == b[i] && got[12 + i] == c[i]);
        lbk_tensor s2 = lbk_stack(ctx, ts, 3, -1);
        expect_dims(ctx, s2, 3, (int64_t[]){2, 3, 3});
        tread(ctx, s2, got);
        for (int i = 0; i < 6; i++) assert_true(got[i * 3] == a[i] && got[i * 3 + 1] == b[i] && got[i * 3 + 2] == c[i]);
        lbk_tensor one = lbk_stack(ctx, ts, 1, 1);
        expect_dims(ctx, one, 3, (int64_t[]){2, 1, 3});
        lbk_tensor sc[2] = {lbk_scalar(ctx, LBK_F64, 1), lbk_scalar(ctx, LBK_F64, 2)};
        lbk_tensor v = lbk_stack(ctx, sc, 2, 0);
        expect_dims(ctx, v, 1, (int64_t[]){2});
        tread(ctx, v, got);
        assert_true(got[0] == 1 && got[1] == 2);
        int64_t d3[2] = {3, 2};
        lbk_tensor bad[2] = {ts[0], lbk_full(ctx, LBK_F32, 2, d3, 0)};
        expect_fail(ctx, lbk_stack(ctx, bad, 2, 0), LBK_ERR_SHAPE, "lbk_stack: tensor 1 f32[3,2] does not have tensor 0's shape f32[2,3]");
        expect_fail(ctx, lbk_stack(ctx, ts, 0, 0), LBK_ERR_ARG, "lbk_stack: needs at least one tensor");
        expect_fail(ctx, lbk_stack(ctx, ts, 3, 3), LBK_ERR_ARG, "axis 3 is out of range [-3, 2]");

        int64_t d5[2] = {5, 4};
        double x[20], g[20];
        for (int i = 0; i < 20; i++) x[i] = i;
        lbk_tensor t = tfrom(ctx, LBK_F64, 2, d5, x), parts[4];
        int64_t sizes[3] = {2, 0, 3};
        assert_int_equal(lbk_split(ctx, t, 0, 3, sizes, parts), LBK_OK);
        expect_dims(ctx, parts[0], 2, (int64_t[]){2, 4});
        expect_dims(ctx, parts[1], 2, (int64_t[]){0, 4});
        expect_dims(ctx, parts[2], 2, (int64_t[]){3, 4});
        tread(ctx, parts[0], g);
        tclose(g, x, 8, 0, "split 0");
        tread(ctx, parts[2], g);
        tclose(g, x + 8, 12, 0, "split 2");
        assert_int_equal(lbk_split(ctx, t, -1, 2, NULL, parts), LBK_OK);
        tread(ctx, parts[1], g);
        for (int r = 0; r < 5; r++) assert_true(g[r * 2] == x[r * 4 + 2] && g[r * 2 + 1] == x[r * 4 + 3]);
        assert_int_equal(lbk_split(ctx, t, 0, 1, NULL, parts), LBK_OK);   /* one part: t */
        expect_dims(ctx, parts[0], 2, d5);
        parts[0].id = 77;
        assert_int_equal(lbk_split(ctx, t, 0, 2, NULL, parts), LBK_ERR_ARG);
        assert_int_equal(parts[0].id, 0);
        assert_contains(lbk_ctx_error(ctx), "lbk_split: axis 0 of size 5 does not split into 2 equal parts");
        lbk_ctx_clear_error(ctx);
        int64_t bad_sizes[2] = {3, 3};
        assert_int_equal(lbk_split(ctx, t, 0, 2, bad_sizes, parts), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "runs past axis 0 of size 5");
        lbk_ctx_clear_error(ctx);
        int64_t short_sizes[2] = {1, 3};
        assert_int_equal(lbk_split(ctx, t, 0, 2, short_sizes, parts), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "sizes add up to 4, not axis 0's size 5");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_split(ctx, t, 0, 0, NULL, parts), LBK_ERR_ARG);
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_split(ctx, lbk_scalar(ctx, LBK_F32, 1), 0, 1, NULL, parts), LBK_ERR_SHAPE);
        lbk_ctx_clear_error(ctx);
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static void test_repeat(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t d[2] = {2, 3};
        double x[6] = {1, 2, 3, 4, 5, 6}, got[36];
        lbk_tensor t = tfrom(ctx, LBK_F32, 2, d, x);
        int64_t rep[3] = {2, 1, 3};
        lbk_tensor r = lbk_repeat(ctx, t, 3, rep);   /* [2, 2, 9] */
        expect_dims(ctx, r, 3, (int64_t[]){2, 2, 9});
        tread(ctx, r, got);
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                for (int c = 0; c < 9; c++) assert_true(got[(a * 2 + b) * 9 + c] == x[b * 3 + c % 3]);
        int64_t rep2[2] = {3, 2};
        r = lbk_repeat(ctx, t, 2, rep2);   /* [6, 6] */
        tread(ctx, r, got);
        for (int a = 0; a < 6; a++)
            for (int c = 0; c < 6; c++) assert_true(got[a * 6 + c] == x[(a % 2) * 3 + c % 3]);
        int64_t rep0[2] = {0, 2};
        r = lbk_repeat(ctx, t, 2, rep0);
        expect_dims(ctx, r, 2, (int64_t[]){0, 6});
        assert_int_equal(lbk_sync(ctx, &r, 1), LBK_OK);
        int64_t ones[2] = {1, 1};
        expect_dims(ctx, lbk_repeat(ctx, t, 2, ones), 2, d);
        /* eight dims: no room for the extra one, copies concatenated instead */
        int64_t d8[8] = {1, 1, 1, 1, 1, 1, 1, 2}, r8[8] = {1, 1, 1, 1, 1, 2, 1, 3}, r80[8] = {1, 1, 1, 1, 1, 1, 1, 0};
        double x8[2] = {7, -7};
        lbk_tensor t8 = tfrom(ctx, LBK_F64, 8, d8, x8);
        lbk_tensor y8 = lbk_repeat(ctx, t8, 8, r8);
        assert_int_equal(lbk_dim(ctx, y8, 5), 2);
        assert_int_equal(lbk_dim(ctx, y8, 7), 6);
        tread(ctx, y8, got);
        for (int i = 0; i < 12; i++) assert_true(got[i] == x8[i % 2]);
        expect_dims(ctx, lbk_repeat(ctx, t8, 8, r80), 8, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 0});
        expect_fail(ctx, lbk_repeat(ctx, t, 1, rep), LBK_ERR_ARG, "lbk_repeat: needs n_dims in [2, 8]");
        int64_t neg[2] = {1, -1};
        expect_fail(ctx, lbk_repeat(ctx, t, 2, neg), LBK_ERR_ARG, "repeats[1] = -1 is negative");
        int64_t huge[2] = {INT64_MAX / 2, 4};
        expect_fail(ctx, lbk_repeat(ctx, t, 2, huge), LBK_ERR_SHAPE, "lbk_repeat:");
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static void test_clamp_tri(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t n = 6;
        double x[6] = {-3, -1, 0.5, 2, 5, NAN}, got[6];
        lbk_tensor t = tfrom(ctx, LBK_F32, 1, &n, x);
        tread(ctx, lbk_clamp(ctx, t, -1, 2), got);
        assert_true(got[0] == -1 && got[1] == -1 && got[2] == 0.5 && got[3] == 2 && got[4] == 2 && isnan(got[5]));
        tread(ctx, lbk_clamp(ctx, t, NAN, 1), got);
        assert_true(got[0] == -3 && got[3] == 1 && isnan(got[5]));
        tread(ctx, lbk_clamp(ctx, t, 0, NAN), got);
        assert_true(got[0] == 0 && got[4] == 5);
        tread(ctx, lbk_clamp(ctx, t, 3, 1), got);   /* lo > hi: hi, as PyTorch */
        assert_true(got[0] == 1 && got[4] == 1);
        tread(ctx, lbk_clamp(ctx, t, NAN, NAN), got);
        assert_true(got[0] == -3 && got[4] == 5);
        lbk_tensor ci = lbk_clamp(ctx, tfrom(ctx, LBK_I64, 1, &n, x), 0, 1.5);   /* an integer tensor and float bounds: f32 */
        assert_int_equal(lbk_type(ctx, ci), LBK_F32);
        tread(ctx, ci, got);
        assert_true(got[0] == 0 && got[2] == 0 && got[3] == 1.5);

        int64_t d[3] = {2, 3, 4};
        double m[24], g[24];
        for (int i = 0; i < 24; i++) m[i] = i + 1;
        lbk_tensor tm = tfrom(ctx, LBK_F64, 3, d, m);
        for (int64_t diag = -2; diag <= 3; diag++)
            for (int up = 0; up < 2; up++) {
                tread(ctx, up ? lbk_triu(ctx, tm, diag) : lbk_tril(ctx, tm, diag), g);
                for (int b = 0; b < 2; b++)
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 4; j++) {
                            bool keep = up ? j - i >= diag : j - i <= diag;
                            assert_true(g[(b * 3 + i) * 4 + j] == (keep ? m[(b * 3 + i) * 4 + j] : 0));
                        }
            }
        int64_t bd[2] = {2, 2};
        lbk_tensor tb = lbk_tril(ctx, lbk_full(ctx, LBK_BOOL, 2, bd, 1), 0);
        assert_int_equal(lbk_type(ctx, tb), LBK_BOOL);
        tread(ctx, tb, g);
        assert_true(g[0] == 1 && g[1] == 0 && g[2] == 1 && g[3] == 1);
        int64_t ed[2] = {0, 3};
        lbk_tensor te = lbk_triu(ctx, lbk_full(ctx, LBK_F32, 2, ed, 1), 1);
        assert_int_equal(lbk_sync(ctx, &te, 1), LBK_OK);
        expect_fail(ctx, lbk_tril(ctx, t, 0), LBK_ERR_SHAPE, "lbk_tril: needs at least 2 dims, not f32[6]");
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* x[a:b:s] by Python's rules, on one axis of n: the indices taken. */
static int py_slice(int64_t n, int64_t a, int64_t b, int64_t s, int64_t *idx) {
    int m = 0;
    if (s > 0) {
        a = a < 0 ? (a < -n ? 0 : a + n) : (a > n ? n : a);
        b = b < 0 ? (b < -n ? 0 : b + n) : (b > n ? n : b);
        for (int64_t i = a; i < b; i += s) idx[m++] = i;
    } else {
        a = a < 0 ? (a < -n ? -1 : a + n) : (a >= n ? n - 1 : a);
        b = b < 0 ? (b < -n ? -1 : b + n) : (b >= n ? n - 1 : b);
        for (int64_t i = a; i > b; i += s) idx[m++] = i;
    }
    return m;
}

static void test_negative_steps_flip(void **state) {
    (void)state;
    static const int64_t bounds[] = {INT64_MIN, -9, -6, -5, -4, -1, 0, 1, 3, 4, 5, 9, INT64_MAX};
    static const int64_t steps[] = {-7, -3, -2, -1, 1, 2};
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t d[2] = {3, 5};
        double x[15], got[15];
        for (int i = 0; i < 15; i++) x[i] = i * 1.5 - 4;
        lbk_tensor t = tfrom(ctx, LBK_F32, 2, d, x);
        /* every start, stop and step against Python's rules, on both axes */
        for (int ax = 0; ax < 2; ax++)
            for (size_t i = 0; i < sizeof bounds / sizeof *bounds; i++)
                for (size_t j = 0; j < sizeof bounds / sizeof *bounds; j++)
                    for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
                        int64_t idx[8];
                        int m = py_slice(d[ax], bounds[i], bounds[j], steps[k], idx);
                        lbk_tensor s = lbk_slice(ctx, t, ax - 2, bounds[i], bounds[j], steps[k]);
                        assert_int_equal(lbk_dim(ctx, s, ax), m);
                        assert_int_equal(lbk_dim(ctx, s, 1 - ax), d[1 - ax]);
                        tread(ctx, s, got);
                        for (int r = 0; r < (ax ? 3 : m); r++)
                            for (int c = 0; c < (ax ? m : 5); c++)
                                assert_true(got[r * (ax ? m : 5) + c] == x[(ax ? r : idx[r]) * 5 + (ax ? idx[c] : c)]);
                        lbk_release(ctx, s);
                    }
        expect_fail(ctx, lbk_slice(ctx, t, 0, 0, 3, 0), LBK_ERR_ARG, "lbk_slice: step 0 must be nonzero");
        expect_fail(ctx, lbk_slice(ctx, t, 0, 0, 3, INT64_MIN), LBK_ERR_ARG, "lbk_slice: step");
        /* a slice of a backwards slice, and one feeding arithmetic (both paths' kernels) */
        lbk_tensor r2 = lbk_slice(ctx, lbk_slice(ctx, t, 1, INT64_MAX, INT64_MIN, -1), 1, 1, 4, 2);   /* cols 3, 1 */
        lbk_tensor e = lbk_add(ctx, lbk_mul(ctx, r2, r2), lbk_scalar(ctx, LBK_F32, 1));
        tread(ctx, e, got);
        for (int r = 0; r < 3; r++) {
            assert_float_equal(got[r * 2], x[r * 5 + 3] * x[r * 5 + 3] + 1, 0);
            assert_float_equal(got[r * 2 + 1], x[r * 5 + 1] * x[r * 5 + 1] + 1, 0);
        }

        /* flip: every subset of axes of a [2, 3, 4] i64 tensor, f16 too */
        int64_t d3[3] = {2, 3, 4};
        double y[24], g[24];
        for (int i = 0; i < 24; i++) y[i] = i * 3 - 20;
        lbk_tensor t3 = tfrom(ctx, LBK_I64, 3, d3, y), h3 = tfrom(ctx, LBK_F16, 3, d3, y);
        for (int mask = 0; mask < 8; mask++) {
            int axes[3], n = 0;
            for (int k = 0; k < 3; k++)
                if (mask & (1 << k)) axes[n++] = k - (mask == 7 ? 3 : 0);   /* negative axes once */
            for (int w = 0; w < 2; w++) {
                lbk_tensor f = lbk_flip(ctx, w ? h3 : t3, n, axes);
                assert_int_equal(lbk_type(ctx, f), w ? LBK_F16 : LBK_I64);
                tread(ctx, f, g);
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 3; b++)
                        for (int c = 0; c < 4; c++) {
                            int sa = mask & 1 ? 1 - a : a, sb = mask & 2 ? 2 - b : b, sc = mask & 4 ? 3 - c : c;
                            assert_true(g[(a * 3 + b) * 4 + c] == y[(sa * 3 + sb) * 4 + sc]);
                        }
            }
        }
        int64_t ez[2] = {0, 1};
        lbk_tensor fe = lbk_flip(ctx, lbk_full(ctx, LBK_F32, 2, ez, 1), 2, (int[]){0, 1});
        expect_dims(ctx, fe, 2, ez);
        assert_int_equal(lbk_sync(ctx, &fe, 1), LBK_OK);
        expect_fail(ctx, lbk_flip(ctx, t3, 2, (int[]){1, -2}), LBK_ERR_ARG, "lbk_flip: axis 1 appears twice");
        expect_fail(ctx, lbk_flip(ctx, t3, 1, (int[]){3}), LBK_ERR_ARG, "lbk_flip: axis 3 is out of range");
        expect_fail(ctx, lbk_flip(ctx, t3, 1, NULL), LBK_ERR_ARG, "lbk_flip: needs n_axes");
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* On the fast path reshapes (squeeze, unsqueeze, flatten) and slices of contiguous runs
   (split along the first axis whose leading dims are 1) read their input in place: the plan
   says "a view", no buffer is made for them, and the values are the copies' (chains of
   views, a view read by a matmul's transpose, a view of a parameter, a view kept past its
   source's other readers). Outputs stay copies. */
static void test_views_not_copied(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx_on("cpu");   /* the cpu backend's plan (LAZYBK_BACKEND may name another) */
    int64_t d[3] = {1, 6, 4}, d2[2] = {6, 4};
    double x[24], w[16], got[64], want[64];
    tfill(x, 24, -1, 1, 3);
    tfill(w, 16, -1, 1, 4);
    lbk_tensor tx = tfrom(ctx, LBK_F32, 3, d, x), tw = tfrom(ctx, LBK_F32, 2, (int64_t[]){4, 4}, w);
    lbk_tensor e = lbk_exp(ctx, tx);                                  /* a computed buffer */
    lbk_tensor f = lbk_flatten(ctx, lbk_squeeze(ctx, e, 0), 0, 1);    /* [24]: views of it */
    lbk_tensor parts[2];
    assert_int_equal(lbk_split(ctx, lbk_reshape(ctx, f, 2, d2), 0, 2, NULL, parts), LBK_OK);   /* [3,4] each, contiguous */
    lbk_tensor y = lbk_add(ctx, lbk_matmul(ctx, parts[1], lbk_transpose(ctx, lbk_reshape(ctx, tw, 2, (int64_t[]){4, 4}), 0, 1)),
                           lbk_sum(ctx, parts[0], 0, NULL, false));
    lbk_tensor ys[2] = {y, lbk_unsqueeze(ctx, tx, 0)};   /* a view of a parameter that is an output: a copy */
    if (!getenv("LAZYBK_CPU_REFERENCE")) assert_contains(lbk_backend_text(ctx, ys, 2), "a view of");
    assert_int_equal(lbk_sync(ctx, ys, 2), LBK_OK);
    tread(ctx, y, got);
    {
        double s = 0;
        for (int i = 0; i < 12; i++) s += exp((float)x[i]);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++) {
                double acc = 0;
                for (int k = 0; k < 4; k++) acc += exp((float)x[12 + r * 4 + k]) * (float)w[c * 4 + k];
                want[r * 4 + c] = acc + s;
            }
    }
    tclose(got, want, 12, 1e-5, "views read in place");
    tread(ctx, ys[1], got);
    for (int i = 0; i < 24; i++) want[i] = (float)x[i];
    tclose(got, want, 24, 0, "an output view of a parameter");
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

/* Permutes and slices of any step (flip, split along inner axes) read only by fused
   elementwise ops are strided views on the fast path: the plan says "a strided view", and
   the values equal hand loops (exact: adds and multiplies of values that round the same) in
   f32, f64 and f16, broadcast against a larger shape, in chains (a slice of a permute of a
   reshape view), under a reduction tail, as a matmul's epilogue input, across threads. A
   view that something else reads (a matmul, an output) is copied, and is right too. */
static void test_strided_views(void **state) {
    (void)state;
    lbk_dtype dts[3] = {LBK_F32, LBK_F64, LBK_F16};
    for (int di = 0; di < 3; di++) {
        lbk_dtype dt = dts[di];
        lbk_ctx *ctx = tctx_on(getenv("LAZYBK_CPU_REFERENCE") ? "cpu-reference" : "cpu");
        bool fast = !getenv("LAZYBK_CPU_REFERENCE");
        int64_t d[3] = {3, 5, 4};
        double x[60], z[60], got[240], want[240];
        for (int i = 0; i < 60; i++) { x[i] = (i * 7 % 60) - 29.5; z[i] = (i % 13) * 0.25; }   /* exact in f16 */
        lbk_tensor tx = tfrom(ctx, dt, 3, d, x), tz = tfrom(ctx, dt, 3, d, z);
        lbk_tensor e = lbk_add(ctx, tx, tz);   /* a computed buffer under the views */
        /* 1: permute (2, 0, 1) times 2, plus a flip of z along axis 1 permuted the same way */
        lbk_tensor pe = lbk_permute(ctx, e, (int[]){2, 0, 1});
        lbk_tensor fz = lbk_permute(ctx, lbk_flip(ctx, tz, 1, (int[]){1}), (int[]){2, 0, 1});
        lbk_tensor y1 = lbk_add(ctx, lbk_mul(ctx, pe, lbk_scalar(ctx, dt, 2)), fz);   /* [4, 3, 5] */
        /* 2: every other column of the last axis, backwards, broadcast over a new leading axis of 2 */
        lbk_tensor s2 = lbk_slice(ctx, e, 2, 3, -5, -2);                           /* [3, 5, 2]: columns 3, 1 */
        lbk_tensor y2 = lbk_mul(ctx, s2, lbk_full(ctx, dt, 4, (int64_t[]){2, 3, 5, 2}, 0.5));
        /* 3: a chain: slice rows 1..3 of a permute of a reshape view, then a reduction over its last axis */
        lbk_tensor r3 = lbk_reshape(ctx, e, 2, (int64_t[]){15, 4});
        lbk_tensor c3 = lbk_slice(ctx, lbk_permute(ctx, r3, (int[]){1, 0}), 0, 1, 3, 1);   /* [2, 15] */
        lbk_tensor y3 = lbk_sum(ctx, lbk_mul(ctx, c3, c3), 1, (int[]){1}, false);        /* [2] */
        /* 4: the epilogue of a matmul reads a transposed view: relu(m @ n + permute(q)) */
        lbk_tensor m = lbk_reshape(ctx, tx, 2, (int64_t[]){12, 5}), nn = lbk_reshape(ctx, tz, 2, (int64_t[]){5, 12});
        lbk_tensor q = lbk_reshape(ctx, e, 2, (int64_t[]){5, 12});
        lbk_tensor y4 = lbk_relu(ctx, lbk_add(ctx, lbk_matmul(ctx, m, lbk_slice(ctx, nn, 1, 0, 5, 1)), lbk_permute(ctx, q, (int[]){1, 0})));
        /* 5: a permute read by a matmul and by an add: copied, still right */
        lbk_tensor p5 = lbk_permute(ctx, lbk_reshape(ctx, e, 2, (int64_t[]){12, 5}), (int[]){1, 0});   /* [5, 12] */
        lbk_tensor y5 = lbk_add(ctx, lbk_sum(ctx, lbk_matmul(ctx, p5, m), 1, (int[]){0}, false), lbk_sum(ctx, lbk_add(ctx, p5, p5), 1, (int[]){1}, false));
        lbk_tensor outs[5] = {y1, y2, y3, y4, y5};
        const char *text = lbk_backend_text(ctx, outs, 5);
        assert_non_null(text);
        if (lbk_ctx_result(ctx) != LBK_OK) fail_msg("%s", lbk_ctx_error(ctx));
        if (fast) assert_contains(text, "a strided view of");
        assert_int_equal(lbk_sync(ctx, outs, 5), LBK_OK);
        double ev[60];
        for (int i = 0; i < 60; i++) ev[i] = x[i] + z[i];   /* exact in every dtype here: halves and quarters */
        /* y1[c, a, b] = 2 e[a, b, c] + z[a, 4 - b, c] */
        tread(ctx, y1, got);
        for (int c = 0; c < 4; c++)
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 5; b++) want[(c * 3 + a) * 5 + b] = 2 * ev[(a * 5 + b) * 4 + c] + z[(a * 5 + 4 - b) * 4 + c];
        tclose(got, want, 60, 0, "permute and flip views");
        tread(ctx, y2, got);
        for (int k = 0; k < 2; k++)
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 5; b++)
                    for (int j = 0; j < 2; j++) want[((k * 3 + a) * 5 + b) * 2 + j] = 0.5 * ev[(a * 5 + b) * 4 + 3 - 2 * j];
        tclose(got, want, 60, 0, "a backward strided slice, broadcast");
        tread(ctx, y3, got);
        for (int r = 0; r < 2; r++) {
            double s = 0;
            for (int k = 0; k < 15; k++) { double v = ev[k * 4 + 1 + r]; s += v * v; }
            want[r] = s;
        }
        tclose(got, want, 2, dt == LBK_F16 ? 2e-3 : 1e-6, "a chain of views under a reduction");
        tread(ctx, y4, got);
        for (int i = 0; i < 12; i++)
            for (int j = 0; j < 5; j++) {
                double acc = 0;
                for (int k = 0; k < 5; k++) acc += x[i * 5 + k] * z[k * 12 + j];
                acc += ev[j * 12 + i];
                want[i * 5 + j] = acc > 0 ? acc : 0;
            }
        tclose(got, want, 60, dt == LBK_F16 ? 2e-3 : 1e-6, "a transposed view in a matmul's epilogue");
        tread(ctx, y5, got);
        for (int j = 0; j < 5; j++) {   /* sum over k of 2 p5[j, k] = 2 e12[k, j] */
            double t = 0;
            for (int k = 0; k < 12; k++) t += 2 * ev[k * 5 + j];
            want[j] = t;
        }
        for (int c = 0; c < 5; c++) {   /* sum over rows of (p5 @ m): sum_k (sum_i e12[k, i]) m[k, c] */
            double s = 0;
            for (int k = 0; k < 12; k++) {
                double col = 0;
                for (int i = 0; i < 5; i++) col += ev[k * 5 + i];
                s += col * x[k * 5 + c];
            }
            want[c] += s;
        }
        tclose(got, want, 5, dt == LBK_F16 ? 5e-3 : 1e-6, "a view read by a matmul and an add");
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
    /* large transposes (copied in blocks: dims of 64, 130 and 33, not multiples of the block)
       of f32, of a flipped f32 (a source stride of -1), of u8 and f16, over 1 and 2 threads:
       the hand loop's values exactly, the same bits at both thread counts */
    {
        int64_t d[3] = {64, 130, 33}, n = 64 * 130 * 33;
        lbk_dtype tdt[4] = {LBK_F32, LBK_F32, LBK_U8, LBK_F16};
        double *x = malloc(8 * (size_t)n), *r1 = malloc(8 * (size_t)n), *r2 = malloc(8 * (size_t)n);
        for (int64_t i = 0; i < n; i++) x[i] = (double)(i % 251);   /* exact in every dtype here */
        for (int c = 0; c < 4; c++) {
            for (int th = 1; th <= 2; th++) {
                lbk_ctx_desc cd = {0};
                cd.backend = getenv("LAZYBK_CPU_REFERENCE") ? "cpu-reference" : "cpu";
                cd.n_threads = th;
                lbk_ctx *ctx = lbk_ctx_create(&cd);
                lbk_tensor t = tfrom(ctx, tdt[c], 3, d, x);
                if (c == 1) t = lbk_flip(ctx, t, 1, (int[]){2});
                lbk_tensor y = lbk_permute(ctx, t, (int[]){2, 0, 1});
                if (c != 2) y = lbk_add(ctx, y, lbk_scalar(ctx, tdt[c], 1));
                tread(ctx, y, th == 1 ? r1 : r2);
                assert_ctx_ok(ctx);
                lbk_ctx_destroy(ctx);
            }
            for (int k = 0; k < 33; k++)
                for (int a = 0; a < 64; a++)
                    for (int b = 0; b < 130; b++) {
                        double want = x[(a * 130 + b) * 33 + (c == 1 ? 32 - k : k)] + (c != 2);
                        if (r1[(k * 64 + a) * 130 + b] != want) fail_msg("transpose case %d at %d %d %d: %g, expected %g", c, k, a, b, r1[(k * 64 + a) * 130 + b], want);
                    }
            assert_memory_equal(r1, r2, 8 * (size_t)n);
        }
        free(x); free(r1); free(r2);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_negative_steps_flip),
    cmocka_unit_test(test_squeeze_unsqueeze_flatten), cmocka_unit_test(test_stack_split), cmocka_unit_test(test_repeat),
    cmocka_unit_test(test_clamp_tri), cmocka_unit_test(test_views_not_copied), cmocka_unit_test(test_strided_views),
};
TEST_GROUP(views_tests, tests);
