/* Interop: .npy files checked byte for byte against headers built here by hand, read in
   every dtype and format version, and refused cleanly when malformed. */
#include "common.h"
#include <stdio.h>

static void put(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}
/* A .npy file: version 1 or 2, the header dict text as given (padded here), then data. */
static size_t npy_bytes(unsigned char *out, int version, const char *dict, const void *data, size_t n) {
    size_t pre = version == 1 ? 10 : 12, hl = strlen(dict) + 1, at = 0;
    while ((pre + hl) % 64) hl++;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)version; out[7] = 0;
    out[8] = (unsigned char)(hl & 255); out[9] = (unsigned char)(hl >> 8);
    if (version != 1) { out[10] = (unsigned char)(hl >> 16); out[11] = (unsigned char)(hl >> 24); }
    at = pre;
    memcpy(out + at, dict, strlen(dict));
    memset(out + at + strlen(dict), ' ', hl - strlen(dict) - 1);
    out[at + hl - 1] = '\n';
    at += hl;
    if (n) memcpy(out + at, data, n);
    return at + n;
}

static void test_npy_save_bytes(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    unsigned char want[256], got[256];
    float x[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
    int64_t d[2] = {2, 3}, n5 = 5;
    assert_int_equal(lbk_save_npy(ctx, lbk_from_host(ctx, LBK_F32, 2, d, x), "build/t_f32.npy"), LBK_OK);
    size_t wn = npy_bytes(want, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", x, sizeof x);
    FILE *f = fopen("build/t_f32.npy", "rb");
    size_t gn = fread(got, 1, sizeof got, f);
    fclose(f);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    /* 1-d, 0-d and bool, as NumPy writes their shapes */
    int64_t iv[5] = {1, -2, 3, INT64_MAX, INT64_MIN};
    assert_int_equal(lbk_save_npy(ctx, lbk_from_host(ctx, LBK_I64, 1, &n5, iv), "build/t_i64.npy"), LBK_OK);
    wn = npy_bytes(want, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }", iv, sizeof iv);
    f = fopen("build/t_i64.npy", "rb"); gn = fread(got, 1, sizeof got, f); fclose(f);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    double s = 2.5;
    assert_int_equal(lbk_save_npy(ctx, lbk_from_host(ctx, LBK_F64, 0, NULL, &s), "build/t_0d.npy"), LBK_OK);
    wn = npy_bytes(want, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &s, sizeof s);
    f = fopen("build/t_0d.npy", "rb"); gn = fread(got, 1, sizeof got, f); fclose(f);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    /* a computed tensor is synced first; and it reads back */
    lbk_tensor y = lbk_gt(ctx, lbk_from_host(ctx, LBK_F32, 2, d, x), lbk_scalar(ctx, LBK_F32, 0));
    assert_int_equal(lbk_save_npy(ctx, y, "build/t_b1.npy"), LBK_OK);
    unsigned char bv[6] = {1, 0, 1, 0, 1, 0};
    wn = npy_bytes(want, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 3), }", bv, sizeof bv);
    f = fopen("build/t_b1.npy", "rb"); gn = fread(got, 1, sizeof got, f); fclose(f);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    lbk_tensor back = lbk_load_npy(ctx, "build/t_f32.npy");
    float xb[6];
    assert_int_equal(lbk_read(ctx, back, xb, sizeof xb), LBK_OK);
    assert_memory_equal(xb, x, sizeof x);
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_ctx_destroy(ctx);
}

static void test_npy_load(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    unsigned char buf[512];
    /* version 2, keys in another order, a Python-2 long, extra spaces */
    double dv[3] = {0.5, -1, 1e300};
    size_t n = npy_bytes(buf, 2, "{ 'shape' : (3L,) , 'fortran_order': False, \"descr\": '<f8' }", dv, sizeof dv);
    put("build/t_v2.npy", buf, n);
    lbk_tensor t = lbk_load_npy(ctx, "build/t_v2.npy");
    double got[3];
    assert_int_equal(lbk_type(ctx, t), LBK_F64);
    assert_int_equal(lbk_ndim(ctx, t), 1);
    assert_int_equal(lbk_read(ctx, t, got, sizeof got), LBK_OK);
    assert_memory_equal(got, dv, sizeof dv);
    int32_t iv[4] = {7, -8, 9, 2147483647};
    n = npy_bytes(buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", iv, sizeof iv);
    put("build/t_i4.npy", buf, n);
    t = lbk_load_npy(ctx, "build/t_i4.npy");
    int32_t ig[4];
    assert_int_equal(lbk_dim(ctx, t, 0), 2);
    assert_int_equal(lbk_read(ctx, t, ig, sizeof ig), LBK_OK);
    assert_memory_equal(ig, iv, sizeof iv);
    /* an empty array */
    n = npy_bytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", NULL, 0);
    put("build/t_empty.npy", buf, n);
    t = lbk_load_npy(ctx, "build/t_empty.npy");
    assert_int_equal(lbk_numel(ctx, t), 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_ctx_destroy(ctx);
}

static void test_npy_refused(void **state) {
    (void)state;
    static const struct { const char *dict; size_t data; lbk_result r; const char *msg; } cases[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, LBK_ERR_UNSUPPORTED, "Fortran order"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", 16, LBK_ERR_UNSUPPORTED, "big-endian"},
        {"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 2), }", 8, LBK_ERR_DTYPE, "<u2"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, LBK_ERR_FORMAT, "structured"},
        {"{'descr': '<f4', 'fortran_order': False, }", 16, LBK_ERR_FORMAT, "lacks"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2), }", 16, LBK_ERR_FORMAT, "shape"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2), }", 16, LBK_ERR_FORMAT, "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 12, LBK_ERR_FORMAT, "data bytes"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 20, LBK_ERR_FORMAT, "data bytes"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", 0, LBK_ERR_FORMAT, "too large"},
        {"['not', 'a dict']", 0, LBK_ERR_FORMAT, "not a dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'extra': 1}", 16, LBK_ERR_FORMAT, "unknown key"},
    };
    lbk_ctx *ctx = tctx();
    unsigned char buf[512], zeros[32] = {0};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = npy_bytes(buf, 1, cases[k].dict, zeros, cases[k].data);
        put("build/t_bad.npy", buf, n);
        assert_int_equal(lbk_load_npy(ctx, "build/t_bad.npy").id, 0);
        assert_int_equal(lbk_ctx_result(ctx), cases[k].r);
        assert_contains(lbk_ctx_error(ctx), cases[k].msg);
        assert_contains(lbk_ctx_error(ctx), "lbk_load_npy");
        assert_contains(lbk_ctx_error(ctx), "test_interop.c");
        lbk_ctx_clear_error(ctx);
    }
    /* bad magic, truncated header, header length past the end, a bool that is 2, no file */
    size_t n = npy_bytes(buf, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", "\x01\x02", 2);
    put("build/t_bad.npy", buf, n);
    assert_int_equal(lbk_load_npy(ctx, "build/t_bad.npy").id, 0);
    assert_contains(lbk_ctx_error(ctx), "neither 0 nor 1");
    lbk_ctx_clear_error(ctx);
    buf[0] = 'X';
    put("build/t_bad.npy", buf, n);
    assert_int_equal(lbk_load_npy(ctx, "build/t_bad.npy").id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_FORMAT);
    lbk_ctx_clear_error(ctx);
    n = npy_bytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", zeros, 4);
    for (size_t cut = 0; cut < n; cut += 7) {
        put("build/t_bad.npy", buf, cut);
        assert_int_equal(lbk_load_npy(ctx, "build/t_bad.npy").id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_FORMAT);
        lbk_ctx_clear_error(ctx);
    }
    buf[8] = 0xff; buf[9] = 0xff;   /* header length past the end */
    put("build/t_bad.npy", buf, n);
    assert_int_equal(lbk_load_npy(ctx, "build/t_bad.npy").id, 0);
    assert_contains(lbk_ctx_error(ctx), "runs past the file");
    lbk_ctx_clear_error(ctx);
    assert_int_equal(lbk_load_npy(ctx, "build/no-such.npy").id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_IO);
    lbk_ctx_clear_error(ctx);
    /* still usable */
    int64_t two = 2;
    float v[2] = {1, 2}, o[2];
    assert_int_equal(lbk_read(ctx, lbk_exp(ctx, lbk_from_host(ctx, LBK_F32, 1, &two, v)), o, sizeof o), LBK_OK);
    assert_true(fabsf(o[1] - expf(2)) < 1e-5f);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_npy_save_bytes), cmocka_unit_test(test_npy_load), cmocka_unit_test(test_npy_refused),
};
TEST_GROUP(interop_tests, tests);
