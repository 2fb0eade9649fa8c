/* Interop: .npy files checked byte for byte against headers built here by hand, read in
   every dtype and format version, and refused cleanly when malformed; DLPack import
   (zero-copy and strided copies, deleter calls) and export (round trips, lifetimes). */
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

/* The file at path holds exactly the n bytes of want. */
static void same_file(const char *path, const unsigned char *want, size_t n) {
    unsigned char got[512];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t gn = fread(got, 1, sizeof got, f);
    fclose(f);
    assert_int_equal(gn, n);
    assert_memory_equal(got, want, n);
}

static void test_npy_save_bytes(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    unsigned char want[256];
    float x[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
    int64_t d[2] = {2, 3}, n5 = 5;
    assert_int_equal(lbk_save_npy(ctx, lbk_from_host(ctx, LBK_F32, 2, d, x), "build/t_f32.npy"), LBK_OK);
    size_t wn = npy_bytes(want, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", x, sizeof x);
    same_file("build/t_f32.npy", want, wn);
    /* 1-d, 0-d and bool, as NumPy writes their shapes */
    int64_t iv[5] = {1, -2, 3, INT64_MAX, INT64_MIN};
    assert_int_equal(lbk_save_npy(ctx, lbk_from_host(ctx, LBK_I64, 1, &n5, iv), "build/t_i64.npy"), LBK_OK);
    wn = npy_bytes(want, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }", iv, sizeof iv);
    same_file("build/t_i64.npy", want, wn);
    double s = 2.5;
    assert_int_equal(lbk_save_npy(ctx, lbk_from_host(ctx, LBK_F64, 0, NULL, &s), "build/t_0d.npy"), LBK_OK);
    wn = npy_bytes(want, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &s, sizeof s);
    same_file("build/t_0d.npy", want, wn);
    /* a computed tensor is synced first; and it reads back */
    lbk_tensor y = lbk_gt(ctx, lbk_from_host(ctx, LBK_F32, 2, d, x), lbk_scalar(ctx, LBK_F32, 0));
    assert_int_equal(lbk_save_npy(ctx, y, "build/t_b1.npy"), LBK_OK);
    unsigned char bv[6] = {1, 0, 1, 0, 1, 0};
    wn = npy_bytes(want, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 3), }", bv, sizeof bv);
    same_file("build/t_b1.npy", want, wn);
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

/* ---- DLPack ---- */
typedef struct producer { DLManagedTensor mt; int64_t shape[4], strides[4]; float data[64]; int *deleted; } producer;
static void producer_delete(DLManagedTensor *mt) { producer *p = (producer *)mt->manager_ctx; (*p->deleted)++; }
static producer *make_producer(int *deleted, int nd, const int64_t *shape, const int64_t *strides) {
    producer *p = calloc(1, sizeof *p);
    p->deleted = deleted;
    for (int i = 0; i < 64; i++) p->data[i] = (float)i * 0.5f - 3;
    memcpy(p->shape, shape, sizeof(int64_t) * (size_t)nd);
    if (strides) memcpy(p->strides, strides, sizeof(int64_t) * (size_t)nd);
    p->mt.dl_tensor.data = p->data;
    p->mt.dl_tensor.device.device_type = kDLCPU;
    p->mt.dl_tensor.ndim = nd;
    p->mt.dl_tensor.dtype.code = kDLFloat;
    p->mt.dl_tensor.dtype.bits = 32;
    p->mt.dl_tensor.dtype.lanes = 1;
    p->mt.dl_tensor.shape = p->shape;
    p->mt.dl_tensor.strides = strides ? p->strides : NULL;
    p->mt.manager_ctx = p;
    p->mt.deleter = producer_delete;
    return p;
}

static void test_dlpack_import(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx_on("cpu");
    int deleted = 0;
    /* compact: zero-copy (a change to the memory before the sync is seen), deleter once when released */
    int64_t sh[2] = {3, 4};
    producer *p = make_producer(&deleted, 2, sh, NULL);
    lbk_scope sc = lbk_scope_begin(ctx);
    lbk_tensor t = lbk_from_dlpack(ctx, &p->mt);
    assert_int_not_equal(t.id, 0);
    lbk_tensor y = lbk_mul(ctx, t, lbk_scalar(ctx, LBK_F32, 2));
    p->data[5] = 100;   /* lazybk reads the producer's memory itself */
    float got[12];
    assert_int_equal(lbk_read(ctx, y, got, sizeof got), LBK_OK);
    for (int i = 0; i < 12; i++) assert_true(got[i] == 2 * p->data[i]);
    assert_int_equal(deleted, 0);
    lbk_scope_end(ctx, sc, NULL, 0);
    assert_int_equal(deleted, 1);
    free(p);
    /* transposed strides and a byte offset: copied, deleter called at once */
    int64_t sh2[2] = {4, 3}, st2[2] = {1, 4};
    p = make_producer(&deleted, 2, sh2, st2);
    p->mt.dl_tensor.byte_offset = 4 * sizeof(float);   /* starts at element 4 */
    deleted = 0;
    t = lbk_from_dlpack(ctx, &p->mt);
    assert_int_equal(deleted, 1);
    assert_int_equal(lbk_read(ctx, t, got, sizeof got), LBK_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) assert_true(got[i * 3 + j] == p->data[4 + i * 1 + j * 4]);
    free(p);
    /* a negative stride (reversed rows) */
    int64_t sh3[1] = {5}, st3[1] = {-1};
    p = make_producer(&deleted, 1, sh3, st3);
    p->mt.dl_tensor.byte_offset = 4 * sizeof(float);
    deleted = 0;
    t = lbk_from_dlpack(ctx, &p->mt);
    assert_int_equal(lbk_read(ctx, t, got, 5 * sizeof(float)), LBK_OK);
    for (int i = 0; i < 5; i++) assert_true(got[i] == p->data[4 - i]);
    assert_int_equal(deleted, 1);
    free(p);
    /* refused: device, dtype, lanes, shape; the deleter is not called, the context still works */
    p = make_producer(&deleted, 2, sh, NULL);
    deleted = 0;
    p->mt.dl_tensor.device.device_type = kDLCUDA;
    assert_int_equal(lbk_from_dlpack(ctx, &p->mt).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_UNSUPPORTED);
    assert_contains(lbk_ctx_error(ctx), "device type");
    lbk_ctx_clear_error(ctx);
    p->mt.dl_tensor.device.device_type = kDLCPU;
    p->mt.dl_tensor.dtype.bits = 8;   /* an 8-bit float: none here */
    assert_int_equal(lbk_from_dlpack(ctx, &p->mt).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
    lbk_ctx_clear_error(ctx);
    p->mt.dl_tensor.dtype.bits = 32;
    p->mt.dl_tensor.dtype.lanes = 4;
    assert_int_equal(lbk_from_dlpack(ctx, &p->mt).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
    lbk_ctx_clear_error(ctx);
    p->mt.dl_tensor.dtype.lanes = 1;
    p->shape[0] = -3;
    assert_int_equal(lbk_from_dlpack(ctx, &p->mt).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
    lbk_ctx_clear_error(ctx);
    assert_int_equal(lbk_from_dlpack(ctx, NULL).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_ARG);
    lbk_ctx_clear_error(ctx);
    assert_int_equal(deleted, 0);
    /* held when the context goes: the deleter runs then */
    p->shape[0] = 3;
    t = lbk_from_dlpack(ctx, &p->mt);
    assert_int_not_equal(t.id, 0);
    assert_int_equal(deleted, 0);
    lbk_ctx_destroy(ctx);
    assert_int_equal(deleted, 1);
    free(p);
}

static void test_dlpack_export(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx(), *other = tctx_ref();
    int64_t d[2] = {2, 3};
    float x[6] = {1, 2, 3, 4, 5, 6};
    lbk_tensor y = lbk_add(ctx, lbk_from_host(ctx, LBK_F32, 2, d, x), lbk_scalar(ctx, LBK_F32, 10));
    DLManagedTensor *mt = NULL;
    assert_int_equal(lbk_to_dlpack(ctx, y, &mt), LBK_OK);
    assert_non_null(mt);
    assert_int_equal(mt->dl_tensor.ndim, 2);
    assert_int_equal(mt->dl_tensor.shape[0], 2);
    assert_int_equal(mt->dl_tensor.shape[1], 3);
    assert_int_equal(mt->dl_tensor.dtype.code, kDLFloat);
    assert_int_equal(mt->dl_tensor.dtype.bits, 32);
    assert_int_equal(mt->dl_tensor.device.device_type, kDLCPU);
    assert_null(mt->dl_tensor.strides);
    const float *v = (const float *)mt->dl_tensor.data;
    for (int i = 0; i < 6; i++) assert_true(v[i] == x[i] + 10);
    /* round trip into another context: its deleter hands lazybk's reference back */
    lbk_tensor z = lbk_from_dlpack(other, mt);
    float got[6];
    assert_int_equal(lbk_read(other, lbk_mul(other, z, z), got, sizeof got), LBK_OK);
    for (int i = 0; i < 6; i++) assert_true(got[i] == (x[i] + 10) * (x[i] + 10));
    lbk_release(ctx, y);
    /* the exporting context goes first: the memory stays valid until the deleter */
    lbk_ctx_destroy(ctx);
    assert_int_equal(lbk_read(other, z, got, sizeof got), LBK_OK);
    for (int i = 0; i < 6; i++) assert_true(got[i] == x[i] + 10);
    lbk_ctx_destroy(other);   /* runs the deleter: nothing leaks (LSan, valgrind) */
    /* i64 and a direct deleter call */
    ctx = tctx();
    int64_t iv[3] = {7, -8, 9}, n3 = 3;
    assert_int_equal(lbk_to_dlpack(ctx, lbk_from_host(ctx, LBK_I64, 1, &n3, iv), &mt), LBK_OK);
    assert_int_equal(mt->dl_tensor.dtype.code, kDLInt);
    assert_int_equal(mt->dl_tensor.dtype.bits, 64);
    assert_memory_equal(mt->dl_tensor.data, iv, sizeof iv);
    mt->deleter(mt);
    assert_int_equal(lbk_to_dlpack(ctx, (lbk_tensor){0}, &mt), LBK_ERR_ARG);
    lbk_ctx_destroy(ctx);
}

/* The DOT picture: fused groups as clusters (a matmul with its epilogue), and Graphviz
   renders it when it is installed. */
static void test_dot_clusters(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx_on("cpu");
    int64_t dx[2] = {8, 4}, dw[2] = {3, 4}, db = 3;
    double v[32] = {0};
    lbk_tensor x = tfrom(ctx, LBK_F32, 2, dx, v), w = tfrom(ctx, LBK_F32, 2, dw, v), b = tfrom(ctx, LBK_F32, 1, &db, v);
    lbk_tensor y = lbk_relu(ctx, lbk_add(ctx, lbk_matmul(ctx, x, lbk_transpose(ctx, w, 0, 1)), b));
    const char *dot = lbk_ir_dot(ctx, &y, 1);
    assert_contains(dot, "digraph lazybk");
    assert_contains(dot, "f32[8,3]");
    if (!getenv("LAZYBK_CPU_REFERENCE")) {
        assert_contains(dot, "subgraph cluster_0");
        assert_contains(dot, "fused group 0");
    }
    FILE *f = fopen("build/t_graph.dot", "w");
    assert_non_null(f);
    fputs(dot, f);
    fclose(f);
    if (system("command -v dot > /dev/null 2>&1") == 0) {
        remove("build/t_graph.png");
        assert_int_equal(system("dot -Tpng build/t_graph.dot -o build/t_graph.png"), 0);
        f = fopen("build/t_graph.png", "rb");
        assert_non_null(f);
        unsigned char sig[8];
        assert_int_equal(fread(sig, 1, 8, f), 8);
        fclose(f);
        assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
    } else {
        print_message("graphviz not installed: the DOT text was checked, not rendered\n");
    }
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_npy_save_bytes), cmocka_unit_test(test_npy_load), cmocka_unit_test(test_npy_refused),
    cmocka_unit_test(test_dlpack_import), cmocka_unit_test(test_dlpack_export), cmocka_unit_test(test_dot_clusters),
};
TEST_GROUP(interop_tests, tests);
