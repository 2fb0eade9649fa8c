/* gather, scatter_add, index_add, slice_dyn and slice_update (issue 15) on both cpu
   paths, against hand loops in double: every axis, repeated indices (the adds
   accumulate in index order), an index smaller than src, empty and size-1 dims, integer
   and f16 data, src cast to t's dtype; indices and starts checked at the sync (the error
   names the op, the value and the bound; the context goes on); trace-time errors; the
   start as a parameter (a loop over positions compiles once); slice_update in place when
   nothing else holds t (and never when something does); a module round trip. */
#include "common.h"
#include <stdio.h>

static const char *const paths[2] = {"cpu", "cpu-reference"};

/* t [A,B,C] in double, x[i] = i * 0.5 - 7 */
static void fill_x(double *x, int n) { for (int i = 0; i < n; i++) x[i] = i * 0.5 - 7; }

static void test_gather_values(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t xd[3] = {3, 4, 5};
        double x[60];
        fill_x(x, 60);
        const lbk_dtype dts[3] = {LBK_F32, LBK_F64, LBK_I64};
        for (int q = 0; q < 3; q++) {
            lbk_tensor t = tfrom(ctx, dts[q], 3, xd, x);
            for (int ax = 0; ax < 3; ax++) {
                /* index: t's dims, 2 along axis (past it: fewer than t), values cycling */
                int64_t id[3] = {3, 4, 5};
                id[ax] = 2;
                id[(ax + 1) % 3] -= 1;
                int64_t n = id[0] * id[1] * id[2], iv[60];
                for (int64_t i = 0; i < n; i++) iv[i] = (i * 7 + 3) % xd[ax];
                lbk_tensor ix = lbk_from_host(ctx, ax == 1 ? LBK_I64 : LBK_I64, 3, id, iv);
                lbk_tensor g = lbk_gather(ctx, t, ax, ix);
                assert_int_equal(lbk_type(ctx, g), dts[q]);
                double got[60];
                tread(ctx, g, got);
                for (int64_t a = 0; a < id[0]; a++)
                    for (int64_t b = 0; b < id[1]; b++)
                        for (int64_t c = 0; c < id[2]; c++) {
                            int64_t j = (a * id[1] + b) * id[2] + c, co[3] = {a, b, c};
                            co[ax] = iv[j];
                            double want = x[(co[0] * 4 + co[1]) * 5 + co[2]];
                            if (dts[q] == LBK_I64) want = trunc(want);   /* as tfrom stores it */
                            if (dts[q] == LBK_F32) want = (float)want;
                            assert_true(got[j] == want);
                        }
            }
        }
        /* i32 indices, negative axis; an empty index; f16 data */
        int64_t i2[2] = {2, 2}, d2[2] = {2, 3};
        int32_t iv2[4] = {2, 0, 1, 1};
        double x2[6] = {1, 2, 3, 4, 5, 6}, g2[4];
        lbk_tensor g = lbk_gather(ctx, tfrom(ctx, LBK_F16, 2, d2, x2), -1, lbk_from_host(ctx, LBK_I32, 2, i2, iv2));
        assert_int_equal(lbk_type(ctx, g), LBK_F16);
        tread(ctx, g, g2);
        assert_true(g2[0] == 3 && g2[1] == 1 && g2[2] == 5 && g2[3] == 5);
        int64_t e[2] = {2, 0};
        lbk_tensor ge = lbk_gather(ctx, tfrom(ctx, LBK_F32, 2, d2, x2), 1, lbk_full(ctx, LBK_I64, 2, e, 0));
        assert_int_equal(lbk_numel(ctx, ge), 0);
        assert_int_equal(lbk_sync(ctx, &ge, 1), LBK_OK);
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static void test_scatter_add_values(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t xd[3] = {3, 4, 5};
        double x[60];
        fill_x(x, 60);
        const lbk_dtype dts[3] = {LBK_F32, LBK_F64, LBK_I32};
        for (int q = 0; q < 3; q++) {
            lbk_tensor t = tfrom(ctx, dts[q], 3, xd, x);
            for (int ax = 0; ax < 3; ax++) {
                /* index [4, 3, 4] but along ax at most t; src one bigger than the index in every dim */
                int64_t id[3] = {2, 3, 4}, sd[3];
                id[ax] = 6;   /* more positions than the axis: repeats */
                for (int d = 0; d < 3; d++) sd[d] = id[d] + 1;
                int64_t n = id[0] * id[1] * id[2], ns = sd[0] * sd[1] * sd[2], iv[96];
                double sv[210];
                for (int64_t i = 0; i < n; i++) iv[i] = (i * 5 + 1) % xd[ax];
                for (int64_t i = 0; i < ns; i++) sv[i] = (double)(i % 9) - 4;
                lbk_tensor s = tfrom(ctx, LBK_F64, 3, sd, sv);   /* cast to t's dtype */
                lbk_tensor r = lbk_scatter_add(ctx, t, ax, lbk_from_host(ctx, LBK_I64, 3, id, iv), s);
                assert_int_equal(lbk_type(ctx, r), dts[q]);
                double want[60], got[60];
                for (int i = 0; i < 60; i++) want[i] = dts[q] == LBK_I32 ? trunc(x[i]) : dts[q] == LBK_F32 ? (float)x[i] : x[i];
                for (int64_t a = 0; a < id[0]; a++)
                    for (int64_t b = 0; b < id[1]; b++)
                        for (int64_t c = 0; c < id[2]; c++) {
                            int64_t j = (a * id[1] + b) * id[2] + c, co[3] = {a, b, c};
                            double v = sv[(a * sd[1] + b) * sd[2] + c];
                            co[ax] = iv[j];
                            want[(co[0] * 4 + co[1]) * 5 + co[2]] += v;
                        }
                tread(ctx, r, got);
                tclose(got, want, 60, dts[q] == LBK_F32 ? 1e-6 : 0, "scatter_add");
            }
        }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static void test_index_add_values(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t xd[3] = {3, 4, 5};
        double x[60];
        fill_x(x, 60);
        for (int ax = 0; ax < 3; ax++) {
            int64_t n5 = 5, sd[3] = {3, 4, 5}, iv[5];
            sd[ax] = 5;
            for (int i = 0; i < 5; i++) iv[i] = (i * 3 + 2) % xd[ax];   /* repeats on every axis */
            int64_t ns = sd[0] * sd[1] * sd[2];
            double sv[100], want[60], got[60];
            for (int64_t i = 0; i < ns; i++) sv[i] = (double)(i % 7) * 0.25;
            lbk_tensor r = lbk_index_add(ctx, tfrom(ctx, LBK_F64, 3, xd, x), ax, lbk_from_host(ctx, LBK_I64, 1, &n5, iv),
                                         tfrom(ctx, LBK_F64, 3, sd, sv));
            memcpy(want, x, sizeof want);
            for (int64_t a = 0; a < sd[0]; a++)
                for (int64_t b = 0; b < sd[1]; b++)
                    for (int64_t c = 0; c < sd[2]; c++) {
                        int64_t co[3] = {a, b, c};
                        co[ax] = iv[co[ax]];
                        want[(co[0] * 4 + co[1]) * 5 + co[2]] += sv[(a * sd[1] + b) * sd[2] + c];
                    }
            tread(ctx, r, got);
            tclose(got, want, 60, 0, "index_add");
        }
        /* a 0-d index adds one slice; f32 native and f16 through the converters */
        int64_t d2[2] = {3, 2}, s1[2] = {1, 2}, one = 1;
        double x2[6] = {1, 2, 3, 4, 5, 6}, sv2[2] = {10, 20}, g[6];
        const lbk_dtype dts[2] = {LBK_F32, LBK_F16};
        for (int q = 0; q < 2; q++) {
            lbk_tensor r = lbk_index_add(ctx, tfrom(ctx, dts[q], 2, d2, x2), 0, lbk_from_host(ctx, LBK_I64, 0, NULL, &one),
                                         tfrom(ctx, dts[q], 2, s1, sv2));
            tread(ctx, r, g);
            assert_true(g[0] == 1 && g[1] == 2 && g[2] == 13 && g[3] == 24 && g[4] == 5 && g[5] == 6);
        }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static void test_slice_dyn_values(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t xd[3] = {3, 4, 5};
        double x[60], got[60];
        fill_x(x, 60);
        lbk_tensor t = tfrom(ctx, LBK_F64, 3, xd, x);
        int64_t c0 = lbk_counter(ctx, "compile");
        for (int64_t s = 0; s <= 2; s++) {   /* one compile for every start */
            lbk_tensor r = lbk_slice_dyn(ctx, t, 1, lbk_scalar(ctx, LBK_I64, (double)s), 2);
            assert_int_equal(lbk_dim(ctx, r, 1), 2);
            tread(ctx, r, got);
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 2; b++)
                    for (int c = 0; c < 5; c++) assert_true(got[(a * 2 + b) * 5 + c] == x[(a * 4 + b + s) * 5 + c]);
        }
        assert_int_equal(lbk_counter(ctx, "compile") - c0, 1);
        /* the last axis (negative), an i32 start tensor, length 0 at the end, the whole axis */
        int32_t s32 = 3;
        lbk_tensor r = lbk_slice_dyn(ctx, t, -1, lbk_from_host(ctx, LBK_I32, 0, NULL, &s32), 2);
        tread(ctx, r, got);
        for (int a = 0; a < 12; a++) assert_true(got[a * 2] == x[a * 5 + 3] && got[a * 2 + 1] == x[a * 5 + 4]);
        lbk_tensor r0 = lbk_slice_dyn(ctx, t, 0, lbk_scalar(ctx, LBK_I64, 3), 0);
        assert_int_equal(lbk_numel(ctx, r0), 0);
        assert_int_equal(lbk_sync(ctx, &r0, 1), LBK_OK);
        lbk_tensor rall = lbk_slice_dyn(ctx, t, 0, lbk_scalar(ctx, LBK_I64, 0), 3);
        tread(ctx, rall, got);
        tclose(got, x, 60, 0, "slice_dyn whole");
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static void test_slice_update_values(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t xd[3] = {3, 4, 5};
        double x[60], got[60];
        fill_x(x, 60);
        for (int ax = 0; ax < 3; ax++) {
            int64_t sd[3] = {3, 4, 5};
            sd[ax] = 2;
            int64_t ns = sd[0] * sd[1] * sd[2], st = xd[ax] - 2;   /* at the end of the axis */
            double sv[40], want[60];
            for (int64_t i = 0; i < ns; i++) sv[i] = 100 + (double)i;
            lbk_tensor t = tfrom(ctx, LBK_F32, 3, xd, x);
            lbk_tensor r = lbk_slice_update(ctx, t, ax, lbk_scalar(ctx, LBK_I64, (double)st), tfrom(ctx, LBK_F64, 3, sd, sv));
            assert_int_equal(lbk_type(ctx, r), LBK_F32);
            for (int i = 0; i < 60; i++) want[i] = (float)x[i];
            for (int64_t a = 0; a < sd[0]; a++)
                for (int64_t b = 0; b < sd[1]; b++)
                    for (int64_t c = 0; c < sd[2]; c++) {
                        int64_t co[3] = {a, b, c};
                        co[ax] += st;
                        want[(co[0] * 4 + co[1]) * 5 + co[2]] = sv[(a * sd[1] + b) * sd[2] + c];
                    }
            tread(ctx, r, got);
            tclose(got, want, 60, 0, "slice_update");
            tread(ctx, t, got);   /* t held by its handle: unchanged, whatever ran in place */
            for (int i = 0; i < 60; i++) assert_true(got[i] == (float)x[i]);
        }
        /* an empty src writes nothing; i64 data; a src of the whole tensor replaces it */
        int64_t d2[2] = {2, 3}, z[2] = {2, 0};
        double x2[6] = {1, 2, 3, 4, 5, 6}, y2[6] = {-1, -2, -3, -4, -5, -6};
        lbk_tensor t2 = tfrom(ctx, LBK_I64, 2, d2, x2);
        lbk_tensor r = lbk_slice_update(ctx, t2, 1, lbk_scalar(ctx, LBK_I64, 3), lbk_full(ctx, LBK_I64, 2, z, 9));
        tread(ctx, r, got);
        tclose(got, x2, 6, 0, "slice_update empty");
        r = lbk_slice_update(ctx, t2, 0, lbk_scalar(ctx, LBK_I64, 0), tfrom(ctx, LBK_I64, 2, d2, y2));
        tread(ctx, r, got);
        tclose(got, y2, 6, 0, "slice_update whole");
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* A KV cache written one position a step: one compile for the loop; on the fast path the
   update runs in the cache's own buffer (counter "donated", no memory growth); with the old
   cache still held it is copied and the old one stays as it was. */
static void test_slice_update_in_place(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        enum { T = 16, D = 8 };
        int64_t cd[2] = {T, D}, rd[2] = {1, D};
        double zero[T * D], row[D], got[T * D];
        memset(zero, 0, sizeof zero);
        lbk_tensor cache = tfrom(ctx, LBK_F32, 2, cd, zero);
        assert_int_equal(lbk_sync(ctx, &cache, 1), LBK_OK);
        int64_t c0 = lbk_counter(ctx, "compile"), d0 = lbk_counter(ctx, "donated");
        size_t mem0 = 0;
        for (int pos = 0; pos < T; pos++) {
            for (int k = 0; k < D; k++) row[k] = pos * 10 + k;
            lbk_tensor src = tfrom(ctx, LBK_F32, 2, rd, row);
            lbk_tensor next = lbk_slice_update(ctx, cache, 0, lbk_scalar(ctx, LBK_I64, pos), src);
            lbk_release(ctx, cache);
            lbk_release(ctx, src);
            cache = next;
            assert_int_equal(lbk_sync(ctx, &cache, 1), LBK_OK);
            if (pos == 0) mem0 = lbk_ctx_memory_used(ctx);
            assert_true(lbk_ctx_memory_used(ctx) == mem0);
        }
        assert_int_equal(lbk_counter(ctx, "compile") - c0, 1);
        assert_int_equal(lbk_counter(ctx, "donated") - d0, T);   /* both paths run it with the cpu kernel */
        tread(ctx, cache, got);
        for (int pos = 0; pos < T; pos++)
            for (int k = 0; k < D; k++) assert_true(got[pos * D + k] == pos * 10 + k);
        /* the old cache still held: no donation, the old values stay */
        for (int k = 0; k < D; k++) row[k] = -1;
        int64_t d1 = lbk_counter(ctx, "donated");
        lbk_tensor next = lbk_slice_update(ctx, cache, 0, lbk_scalar(ctx, LBK_I64, 3), tfrom(ctx, LBK_F32, 2, rd, row));
        assert_int_equal(lbk_sync(ctx, &next, 1), LBK_OK);
        assert_int_equal(lbk_counter(ctx, "donated"), d1);
        tread(ctx, cache, got);
        assert_true(got[3 * D] == 30);
        tread(ctx, next, got);
        assert_true(got[3 * D] == -1 && got[4 * D] == 40);
        /* a bad start fails before anything is written; the cache, donated, is intact after */
        lbk_release(ctx, next);
        lbk_tensor bad = lbk_slice_update(ctx, cache, 0, lbk_scalar(ctx, LBK_I64, T), tfrom(ctx, LBK_F32, 2, rd, row));
        lbk_tensor keep = lbk_slice_dyn(ctx, cache, 0, lbk_scalar(ctx, LBK_I64, 0), T);
        lbk_release(ctx, cache);
        assert_int_equal(lbk_sync(ctx, &bad, 1), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "failed at slice_update: start 16 is out of range: 1 elements along axis 0 of size 16 start in [0, 15]");
        assert_contains(lbk_ctx_error(ctx), "test_scatter.c:");
        lbk_ctx_clear_error(ctx);
        tread(ctx, keep, got);
        for (int pos = 0; pos < T; pos++) assert_true(got[pos * D] == pos * 10);
        /* a failed sync after an in-place write: running it again gives the same result */
        lbk_tensor c2 = lbk_slice_update(ctx, keep, 0, lbk_scalar(ctx, LBK_I64, 5), tfrom(ctx, LBK_F32, 2, rd, row));
        int64_t one = 1, badi = 99;
        lbk_tensor boom = lbk_gather(ctx, lbk_full(ctx, LBK_F32, 1, &one, 0), 0, lbk_from_host(ctx, LBK_I64, 1, &one, &badi));
        lbk_release(ctx, keep);
        lbk_tensor both[2] = {c2, boom};
        assert_int_equal(lbk_sync(ctx, both, 2), LBK_ERR_ARG);
        lbk_ctx_clear_error(ctx);
        tread(ctx, c2, got);
        for (int pos = 0; pos < T; pos++) assert_true(got[pos * D + 1] == (pos == 5 ? -1 : pos * 10 + 1));
        lbk_ctx_destroy(ctx);
    }
}

static void test_index_ops_errors(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t xd[2] = {3, 4}, i2[2] = {2, 4}, n3 = 3;
        double x[12] = {0};
        lbk_tensor t = tfrom(ctx, LBK_F32, 2, xd, x);
        int64_t bad[8] = {0, 1, 2, 0, 1, 2, 3, 0}, neg[3] = {0, -2, 1};
        double got[12];
        /* bounds at the sync, named */
        lbk_tensor g = lbk_gather(ctx, t, 0, lbk_from_host(ctx, LBK_I64, 2, i2, bad));
        assert_int_equal(lbk_sync(ctx, &g, 1), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "failed at gather: index 3 (at position 6 of the index) is out of range for axis 0 of size 3");
        lbk_ctx_clear_error(ctx);
        lbk_tensor s = lbk_scatter_add(ctx, t, 0, lbk_from_host(ctx, LBK_I64, 2, i2, bad), t);
        assert_int_equal(lbk_sync(ctx, &s, 1), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "failed at scatter_add: index 3");
        lbk_ctx_clear_error(ctx);
        int64_t sd[2] = {3, 3};
        lbk_tensor ia = lbk_index_add(ctx, t, 1, lbk_from_host(ctx, LBK_I64, 1, &n3, neg), lbk_full(ctx, LBK_F32, 2, sd, 1));
        assert_int_equal(lbk_sync(ctx, &ia, 1), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "failed at index_add: index -2 (at position 1 of the index) is out of range for axis 1 of size 4");
        lbk_ctx_clear_error(ctx);
        lbk_tensor sdn = lbk_slice_dyn(ctx, t, 1, lbk_scalar(ctx, LBK_I64, -1), 2);
        assert_int_equal(lbk_sync(ctx, &sdn, 1), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "failed at slice_dyn: start -1 is out of range: 2 elements along axis 1 of size 4 start in [0, 2]");
        lbk_ctx_clear_error(ctx);
        lbk_tensor sd3 = lbk_slice_dyn(ctx, t, 1, lbk_scalar(ctx, LBK_I64, 3), 2);
        assert_int_equal(lbk_sync(ctx, &sd3, 1), LBK_ERR_ARG);
        lbk_ctx_clear_error(ctx);
        /* at trace time: dtypes, ranks, shapes, lengths */
        assert_int_equal(lbk_gather(ctx, t, 0, t).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
        assert_contains(lbk_ctx_error(ctx), "lbk_gather: index f32[3,4] must be an integer tensor");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_gather(ctx, t, 0, lbk_from_host(ctx, LBK_I64, 1, &n3, neg)).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
        lbk_ctx_clear_error(ctx);
        int64_t wide[2] = {1, 5};
        assert_int_equal(lbk_gather(ctx, t, 0, lbk_full(ctx, LBK_I64, 2, wide, 0)).id, 0);   /* past t off the axis */
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
        lbk_ctx_clear_error(ctx);
        int64_t narrow[2] = {2, 3};
        assert_int_equal(lbk_scatter_add(ctx, t, 0, lbk_full(ctx, LBK_I64, 2, i2, 0), lbk_full(ctx, LBK_F32, 2, narrow, 0)).id, 0);   /* index past src */
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_index_add(ctx, t, 0, lbk_full(ctx, LBK_I64, 2, i2, 0), t).id, 0);   /* 2-d index */
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_index_add(ctx, t, 0, lbk_from_host(ctx, LBK_I64, 1, &n3, neg), lbk_full(ctx, LBK_F32, 2, sd, 1)).id, 0);
        assert_contains(lbk_ctx_error(ctx), "lbk_index_add:");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_slice_dyn(ctx, t, 1, lbk_scalar(ctx, LBK_I64, 0), 5).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
        assert_contains(lbk_ctx_error(ctx), "lbk_slice_dyn: length 5 is longer than axis 1 of f32[3,4]");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_slice_dyn(ctx, t, 1, lbk_scalar(ctx, LBK_I64, 0), -1).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_ARG);
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_slice_dyn(ctx, t, 1, lbk_scalar(ctx, LBK_F32, 0), 1).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
        assert_contains(lbk_ctx_error(ctx), "start f32[] must be an integer tensor");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_slice_dyn(ctx, t, 1, lbk_from_host(ctx, LBK_I64, 1, &n3, neg), 1).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
        assert_contains(lbk_ctx_error(ctx), "must be a 0-d tensor");
        lbk_ctx_clear_error(ctx);
        int64_t big[2] = {3, 5};
        assert_int_equal(lbk_slice_update(ctx, t, 1, lbk_scalar(ctx, LBK_I64, 0), lbk_full(ctx, LBK_F32, 2, big, 0)).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_slice_update(ctx, t, 2, lbk_scalar(ctx, LBK_I64, 0), t).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_ARG);
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_slice_dyn(ctx, lbk_scalar(ctx, LBK_F32, 1), 0, lbk_scalar(ctx, LBK_I64, 0), 1).id, 0);
        assert_contains(lbk_ctx_error(ctx), "cannot index 0-d tensor");
        lbk_ctx_clear_error(ctx);
        /* still computes */
        lbk_tensor ok = lbk_slice_dyn(ctx, t, 0, lbk_scalar(ctx, LBK_I64, 1), 1);
        tread(ctx, ok, got);
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* A decode step as a module method: the cache, the position and the new row are inputs;
   gather and slice_update saved by name, loaded, run. */
static void test_index_ops_module(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t cd[2] = {4, 3}, rd[2] = {1, 3};
    const int64_t *dims[3] = {cd, NULL, rd};
    int nd[3] = {2, 0, 2};
    lbk_dtype dt[3] = {LBK_F32, LBK_I64, LBK_F32};
    lbk_tensor in[3], y[3];
    lbk_module *m = lbk_module_create(ctx, "Step");
    assert_int_equal(lbk_method_begin(m, "forward", 3, dt, nd, dims, in), LBK_OK);
    y[0] = lbk_slice_update(ctx, in[0], 0, in[1], in[2]);
    int64_t gi[2] = {1, 3}, gv[3] = {3, 0, 1};
    y[1] = lbk_gather(ctx, y[0], 0, lbk_from_host(ctx, LBK_I64, 2, gi, gv));
    y[2] = lbk_slice_dyn(ctx, y[0], 0, in[1], 2);   /* rows pos, pos + 1 */
    assert_int_equal(lbk_method_end(m, y, 3), LBK_OK);
    assert_int_equal(lbk_module_save(m, "build/test_scatter_step.lbkm"), LBK_OK);
    lbk_module_destroy(m);
    lbk_module *ld = lbk_module_load(ctx, "build/test_scatter_step.lbkm");
    if (!ld) fail_msg("%s", lbk_ctx_error(ctx));
    double c[12], r[3] = {7, 8, 9}, got[12];
    for (int i = 0; i < 12; i++) c[i] = i;
    int64_t pos = 2;
    lbk_tensor args[3] = {tfrom(ctx, LBK_F32, 2, cd, c), lbk_from_host(ctx, LBK_I64, 0, NULL, &pos), tfrom(ctx, LBK_F32, 2, rd, r)}, out[3];
    assert_int_equal(lbk_module_run(ld, "forward", args, 3, out, 3), LBK_OK);
    tread(ctx, out[0], got);
    for (int i = 0; i < 12; i++) assert_true(got[i] == (i / 3 == 2 ? r[i % 3] : c[i]));
    tread(ctx, out[1], got);
    assert_true(got[0] == 9 && got[1] == 1 && got[2] == 5);   /* rows 3, 0, 1 at columns 0, 1, 2 */
    tread(ctx, out[2], got);
    assert_true(got[0] == 7 && got[2] == 9 && got[3] == 9 && got[5] == 11);   /* the new row 2, then row 3 */
    lbk_module_destroy(ld);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gather_values),       cmocka_unit_test(test_scatter_add_values), cmocka_unit_test(test_index_add_values),
    cmocka_unit_test(test_slice_dyn_values),    cmocka_unit_test(test_slice_update_values), cmocka_unit_test(test_slice_update_in_place),
    cmocka_unit_test(test_index_ops_errors),    cmocka_unit_test(test_index_ops_module),
};
TEST_GROUP(scatter_tests, tests);
