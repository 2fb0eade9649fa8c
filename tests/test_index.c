/* index_select and embedding (issue 15): values against hand loops on both cpu paths,
   every index dtype, negative and out-of-range axes, empty indices and zero-size dims, the
   run-time bound check (a bad index fails the sync naming the op, the index and the
   bound; the context goes on), and a module round trip. */
#include "common.h"
#include <stdio.h>

static void test_index_select_values(void **state) {
    (void)state;
    const char *paths[2] = {"cpu", "cpu-reference"};
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t xd[3] = {3, 4, 5}, id[2] = {2, 3};
        double x[60];
        for (int i = 0; i < 60; i++) x[i] = i * 0.5 - 7;
        lbk_tensor t = tfrom(ctx, LBK_F32, 3, xd, x);
        int64_t iv[6] = {3, 0, 0, 2, 1, 3};
        const lbk_dtype idts[4] = {LBK_I64, LBK_I32, LBK_U8, LBK_I8};
        for (int k = 0; k < 4; k++) {
            unsigned char ib[6 * 8];
            for (int i = 0; i < 6; i++) lbk_store_i64(idts[k], ib, i, iv[i]);
            lbk_tensor ix = lbk_from_host(ctx, idts[k], 2, id, ib);
            lbk_tensor r = lbk_index_select(ctx, t, 1, ix);   /* [3, 2, 3, 5] */
            assert_int_equal(lbk_ndim(ctx, r), 4);
            assert_int_equal(lbk_dim(ctx, r, 1), 2);
            assert_int_equal(lbk_dim(ctx, r, 2), 3);
            float got[90];
            assert_int_equal(lbk_read(ctx, r, got, sizeof got), LBK_OK);
            for (int a = 0; a < 3; a++)
                for (int j = 0; j < 6; j++)
                    for (int c = 0; c < 5; c++) assert_true(got[(a * 6 + j) * 5 + c] == (float)x[(a * 4 + iv[j]) * 5 + c]);
        }
        /* the last axis by a negative axis, a 0-d index, no indices at all */
        int64_t i3[1] = {3};
        int32_t last[3] = {4, 4, 0};
        lbk_tensor r2 = lbk_index_select(ctx, t, -1, lbk_from_host(ctx, LBK_I32, 1, i3, last));
        float g2[36];
        assert_int_equal(lbk_read(ctx, r2, g2, sizeof g2), LBK_OK);
        for (int a = 0; a < 12; a++)
            for (int j = 0; j < 3; j++) assert_true(g2[a * 3 + j] == (float)x[a * 5 + last[j]]);
        int64_t two = 2;
        lbk_tensor r0 = lbk_index_select(ctx, t, 0, lbk_from_host(ctx, LBK_I64, 0, NULL, &two));   /* [4, 5]: the axis goes */
        assert_int_equal(lbk_ndim(ctx, r0), 2);
        float g0[20];
        assert_int_equal(lbk_read(ctx, r0, g0, sizeof g0), LBK_OK);
        for (int i = 0; i < 20; i++) assert_true(g0[i] == (float)x[40 + i]);
        int64_t zero[1] = {0};
        lbk_tensor re = lbk_index_select(ctx, t, 1, lbk_from_host(ctx, LBK_I64, 1, zero, NULL));
        assert_int_equal(lbk_numel(ctx, re), 0);
        assert_int_equal(lbk_sync(ctx, &re, 1), LBK_OK);
        int64_t zd[2] = {0, 3};   /* a zero-size tensor indexed along its other axis */
        lbk_tensor tz = lbk_full(ctx, LBK_F64, 2, zd, 1);
        lbk_tensor rz = lbk_index_select(ctx, tz, 1, lbk_from_host(ctx, LBK_I64, 1, i3, (int64_t[]){2, 0, 1}));
        assert_int_equal(lbk_dim(ctx, rz, 0), 0);
        assert_int_equal(lbk_sync(ctx, &rz, 1), LBK_OK);
        /* embedding: f16 rows by i32 ids */
        int64_t wd[2] = {10, 4}, ids_d[2] = {2, 3};
        uint16_t w[40], eo[24];
        for (int i = 0; i < 40; i++) lbk_store_f64(LBK_F16, w, i, i * 0.25);
        int32_t ids[6] = {9, 0, 3, 3, 7, 1};
        lbk_tensor e = lbk_embedding(ctx, lbk_from_host(ctx, LBK_F16, 2, wd, w), lbk_from_host(ctx, LBK_I32, 2, ids_d, ids));
        assert_int_equal(lbk_type(ctx, e), LBK_F16);
        assert_int_equal(lbk_ndim(ctx, e), 3);
        assert_int_equal(lbk_read(ctx, e, eo, sizeof eo), LBK_OK);
        for (int j = 0; j < 6; j++)
            for (int c = 0; c < 4; c++) assert_true(eo[j * 4 + c] == w[ids[j] * 4 + c]);
        assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
        lbk_ctx_destroy(ctx);
    }
}

static void test_index_select_errors(void **state) {
    (void)state;
    const char *paths[2] = {"cpu", "cpu-reference"};
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t xd[2] = {3, 4}, i3[1] = {3};
        double x[12] = {0};
        lbk_tensor t = tfrom(ctx, LBK_F32, 2, xd, x);
        /* out of range and negative: found at the sync, named; the context goes on */
        int64_t bad[3] = {0, 3, 7}, neg[3] = {1, -1, 0};
        float out[12];
        lbk_tensor r = lbk_index_select(ctx, t, 1, lbk_from_host(ctx, LBK_I64, 1, i3, bad));
        assert_int_not_equal(r.id, 0);
        assert_int_equal(lbk_read(ctx, r, out, sizeof out), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "failed at index_select: index 7 (at position 2 of the index) is out of range for axis 1 of size 4");
        assert_contains(lbk_ctx_error(ctx), "test_index.c:");
        lbk_ctx_clear_error(ctx);
        lbk_tensor e = lbk_embedding(ctx, t, lbk_from_host(ctx, LBK_I64, 1, i3, neg));
        assert_int_equal(lbk_sync(ctx, &e, 1), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "failed at embedding (index_select): index -1");
        lbk_ctx_clear_error(ctx);
        int64_t zd[2] = {0, 4};   /* any index into a zero-size axis is out of range */
        lbk_tensor z = lbk_index_select(ctx, lbk_full(ctx, LBK_F32, 2, zd, 0), 0, lbk_from_host(ctx, LBK_I64, 1, (int64_t[]){1}, (int64_t[]){0}));
        assert_int_equal(lbk_sync(ctx, &z, 1), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "size 0");
        lbk_ctx_clear_error(ctx);
        /* at trace time: the index's dtype, a 0-d tensor, the axis, the rank */
        assert_int_equal(lbk_index_select(ctx, t, 0, t).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
        assert_contains(lbk_ctx_error(ctx), "lbk_index_select: index f32[3,4] must be an integer tensor");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_embedding(ctx, lbk_scalar(ctx, LBK_F32, 1), lbk_scalar(ctx, LBK_I64, 0)).id, 0);
        assert_contains(lbk_ctx_error(ctx), "lbk_embedding: cannot index 0-d tensor");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_index_select(ctx, t, 2, lbk_scalar(ctx, LBK_I64, 0)).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_ARG);
        lbk_ctx_clear_error(ctx);
        int64_t d8[8] = {1, 1, 1, 1, 1, 1, 1, 2}, id2[2] = {1, 1};
        lbk_tensor t8 = lbk_full(ctx, LBK_F32, 8, d8, 1);
        assert_int_equal(lbk_index_select(ctx, t8, 0, lbk_full(ctx, LBK_I64, 2, id2, 0)).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
        assert_contains(lbk_ctx_error(ctx), "more than 8 dims");
        lbk_ctx_clear_error(ctx);
        /* still computes */
        lbk_tensor ok = lbk_index_select(ctx, t, 0, lbk_from_host(ctx, LBK_I64, 1, (int64_t[]){1}, (int64_t[]){2}));
        assert_int_equal(lbk_read(ctx, ok, out, 4 * sizeof(float)), LBK_OK);
        assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
        lbk_ctx_destroy(ctx);
    }
}

/* A module whose method looks its ids up in an embedding weight: saved, loaded, run. */
static void test_index_select_module(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t wd[2] = {5, 3}, n4 = 4;
    double w[15];
    for (int i = 0; i < 15; i++) w[i] = i;
    lbk_tensor weight = tfrom(ctx, LBK_F32, 2, wd, w);
    lbk_module *m = lbk_module_create(ctx, "Emb");
    lbk_dtype dt = LBK_I64;
    int nd = 1;
    const int64_t *dims[1] = {&n4};
    lbk_tensor ids, y;
    assert_int_equal(lbk_method_begin(m, "forward", 1, &dt, &nd, dims, &ids), LBK_OK);
    y = lbk_embedding(ctx, weight, ids);
    assert_int_equal(lbk_method_end(m, &y, 1), LBK_OK);
    assert_int_equal(lbk_module_save(m, "build/test_index_emb.lbkm"), LBK_OK);
    lbk_module_destroy(m);
    lbk_module *ld = lbk_module_load(ctx, "build/test_index_emb.lbkm");
    assert_non_null(ld);
    int64_t iv[4] = {4, 0, 2, 2};
    lbk_tensor in = lbk_from_host(ctx, LBK_I64, 1, &n4, iv), out;
    assert_int_equal(lbk_module_run(ld, "forward", &in, 1, &out, 1), LBK_OK);
    float got[12];
    assert_int_equal(lbk_read(ctx, out, got, sizeof got), LBK_OK);
    for (int j = 0; j < 4; j++)
        for (int c = 0; c < 3; c++) assert_true(got[j * 3 + c] == (float)w[iv[j] * 3 + c]);
    lbk_module_destroy(ld);
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_index_select_values), cmocka_unit_test(test_index_select_errors), cmocka_unit_test(test_index_select_module),
};
TEST_GROUP(index_tests, tests);
