/* Weights files (issue 15): lbk_save_safetensors against bytes written out by hand in the
   reference writer's layout; safetensors and GGUF files built here byte by byte, read back
   against the values put in; hostile files (every truncation, every header byte flipped,
   and a catalogue of specific lies) refused with LBK_ERR_FORMAT and a reason, the context
   usable after each. */
#include "common.h"
#include <stdio.h>
#include <unistd.h>

typedef struct bytes { unsigned char *p; size_t n, cap; } bytes;
static void b_raw(bytes *b, const void *p, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = (unsigned char *)realloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void b_u8(bytes *b, unsigned v) { unsigned char c = (unsigned char)v; b_raw(b, &c, 1); }
static void b_u16(bytes *b, unsigned v) { b_u8(b, v & 255); b_u8(b, v >> 8 & 255); }
static void b_u32(bytes *b, uint32_t v) { for (int k = 0; k < 4; k++) b_u8(b, v >> (8 * k) & 255); }
static void b_u64(bytes *b, uint64_t v) { for (int k = 0; k < 8; k++) b_u8(b, (unsigned)(v >> (8 * k) & 255)); }
static void b_f32(bytes *b, float f) { uint32_t u; memcpy(&u, &f, 4); b_u32(b, u); }
static void b_f64(bytes *b, double f) { uint64_t u; memcpy(&u, &f, 8); b_u64(b, u); }
static void b_gstr(bytes *b, const char *s) { b_u64(b, strlen(s)); b_raw(b, s, strlen(s)); }
static void b_pad(bytes *b, size_t align) { while (b->n % align) b_u8(b, 0); }

/* A safetensors file: the header length, json, data. */
static bytes st_file(const char *json, const void *data, size_t n) {
    bytes b = {0};
    b_u64(&b, strlen(json));
    b_raw(&b, json, strlen(json));
    b_raw(&b, data, n);
    return b;
}
static void expect_open_fail(lbk_ctx *ctx, const bytes *b, lbk_result r, const char *needle) {
    lbk_weights *w = lbk_weights_open_memory(ctx, b->p, b->n);
    if (w) fail_msg("opened a bad file (wanted '%s')", needle);
    if (lbk_ctx_result(ctx) != r) fail_msg("result %s, wanted %s: %s", lbk_result_str(lbk_ctx_result(ctx)), lbk_result_str(r), lbk_ctx_error(ctx));
    assert_contains(lbk_ctx_error(ctx), needle);
    lbk_ctx_clear_error(ctx);
}
static void expect_file(const char *path, const bytes *want) {
    size_t n;
    unsigned char *got = tfile_read(path, &n);
    assert_non_null(got);
    if (n != want->n) fail_msg("%s: %zu bytes, wanted %zu", path, n, want->n);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want->p[i]) fail_msg("%s: byte %zu is 0x%02x, wanted 0x%02x", path, i, got[i], want->p[i]);
    free(got);
}
static const char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "/tmp/lbk_test_%d_%s", (int)getpid(), name);
    return buf[k];
}

/* ---- lbk_save_safetensors: the reference writer's bytes ---- */
static void test_st_save_bytes(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    const char *path = tmp_path("save.safetensors");
    /* one f32 [1,2,3]: the header is 64 bytes exactly, no padding */
    {
        int64_t d[3] = {1, 2, 3};
        double v[6] = {0, 1, 2, 3, 4, 5};
        lbk_tensor t = tfrom(ctx, LBK_F32, 3, d, v);
        const char *names[1] = {"attn.0"};
        assert_int_equal(lbk_save_safetensors(ctx, path, 1, names, &t), LBK_OK);
        bytes want = {0};
        b_u64(&want, 64);
        b_raw(&want, "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", 64);
        for (int i = 0; i < 6; i++) b_f32(&want, (float)i);
        expect_file(path, &want);
        free(want.p);
    }
    /* a shorter name: 65 bytes of JSON padded with 7 spaces to 72 */
    {
        int64_t d[4] = {1, 1, 2, 3};
        double v[6] = {0, 1, 2, 3, 4, 5};
        lbk_tensor t = tfrom(ctx, LBK_F32, 4, d, v);
        const char *names[1] = {"attn0"};
        assert_int_equal(lbk_save_safetensors(ctx, path, 1, names, &t), LBK_OK);
        bytes want = {0};
        b_u64(&want, 72);
        b_raw(&want, "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", 72);
        for (int i = 0; i < 6; i++) b_f32(&want, (float)i);
        expect_file(path, &want);
        free(want.p);
    }
    /* nothing: {} and six spaces */
    {
        assert_int_equal(lbk_save_safetensors(ctx, path, 0, NULL, NULL), LBK_OK);
        bytes want = {0};
        b_u64(&want, 8);
        b_raw(&want, "{}      ", 8);
        expect_file(path, &want);
        free(want.p);
    }
    /* every dtype, sorted widest first then by name; a name that needs escapes; an empty
       tensor; a 0-d one; a computed one */
    {
        int64_t one = 1, two = 2, three = 3, zero = 0;
        double c = -2, y = 0.5, a = 1.5, x = 7, k = 1, b[2] = {1, -2}, j[2] = {-1, 5}, m = 200, z[3] = {1, 0, 1}, s = 3;
        lbk_tensor ts[11] = {
            tfrom(ctx, LBK_F16, 1, &two, b), tfrom(ctx, LBK_F32, 1, &one, &a), lbk_add(ctx, tfrom(ctx, LBK_I64, 1, &one, &c), lbk_scalar(ctx, LBK_I64, 0)),
            tfrom(ctx, LBK_BOOL, 1, &three, z), tfrom(ctx, LBK_U8, 1, &one, &m), tfrom(ctx, LBK_BF16, 1, &one, &k),
            tfrom(ctx, LBK_I8, 1, &two, j), tfrom(ctx, LBK_I32, 1, &one, &x), tfrom(ctx, LBK_F64, 1, &one, &y),
            tfrom(ctx, LBK_F32, 1, &zero, NULL), tfrom(ctx, LBK_F64, 0, NULL, &s)};
        const char *names[11] = {"b", "a", "c", "z", "m", "k", "j", "x", "y", "q\"\\\n\x01\xc3\xa9", "s"};
        assert_int_equal(lbk_save_safetensors(ctx, path, 11, names, ts), LBK_OK);
        const char *json =
            "{\"c\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
            "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[8,16]},"
            "\"y\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]},"
            "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]},"
            "\"q\\\"\\\\\\n\\u0001\xc3\xa9\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[28,28]},"
            "\"x\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[28,32]},"
            "\"k\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[32,34]},"
            "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[34,38]},"
            "\"j\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[38,40]},"
            "\"m\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[40,41]},"
            "\"z\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[41,44]}}";
        size_t jn = strlen(json), padded = (jn + 7) / 8 * 8;
        bytes want = {0};
        b_u64(&want, padded);
        b_raw(&want, json, jn);
        while (want.n < 8 + padded) b_u8(&want, ' ');
        b_u64(&want, (uint64_t)-2);         /* c */
        b_f64(&want, 3);                    /* s */
        b_f64(&want, 0.5);                  /* y */
        b_f32(&want, 1.5f);                 /* a */
        b_u32(&want, 7);                    /* x */
        b_u16(&want, 0x3f80);               /* k: bf16 1.0 */
        b_u16(&want, 0x3c00); b_u16(&want, 0xc000);   /* b: f16 1, -2 */
        b_u8(&want, 0xff); b_u8(&want, 5);  /* j */
        b_u8(&want, 200);                   /* m */
        b_u8(&want, 1); b_u8(&want, 0); b_u8(&want, 1);   /* z */
        expect_file(path, &want);
        free(want.p);
    }
    assert_ctx_ok(ctx);
    remove(path);
    lbk_ctx_destroy(ctx);
}

/* ---- save, open, get: values, zero copy, lifetimes ---- */
static void test_st_roundtrip(void **state) {
    (void)state;
    static const char *const paths[2] = {"cpu", "cpu-reference"};
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        const char *path = tmp_path("rt.safetensors");
        int64_t d[2] = {3, 5};
        double v[15], got[15];
        tfill(v, 15, -3, 3, 11);
        lbk_dtype dts[5] = {LBK_F32, LBK_F16, LBK_BF16, LBK_I64, LBK_U8};
        lbk_tensor ts[5];
        const char *names[5] = {"w.f32", "w.f16", "w.bf16", "w.i64", "w.u8"};
        for (int k = 0; k < 5; k++) {
            double r[15];
            for (int i = 0; i < 15; i++) r[i] = dts[k] == LBK_U8 ? (double)(i * 17 % 256) : dts[k] == LBK_I64 ? (double)(i * 1000003 - 7) : v[i];
            ts[k] = tfrom(ctx, dts[k], 2, d, r);
        }
        ts[0] = lbk_mul(ctx, ts[0], lbk_scalar(ctx, LBK_F32, 2));   /* pending: saved after one sync */
        assert_int_equal(lbk_save_safetensors(ctx, path, 5, names, ts), LBK_OK);
        lbk_weights *w = lbk_weights_open(ctx, path);
        if (!w) fail_msg("open: %s", lbk_ctx_error(ctx));
        assert_int_equal(lbk_weights_count(w), 5);
        /* file order is data order: i64 first, then f32, bf16, f16, u8 */
        assert_string_equal(lbk_weights_name(w, 0), "w.i64");
        assert_string_equal(lbk_weights_name(w, 1), "w.f32");
        assert_string_equal(lbk_weights_name(w, 2), "w.bf16");
        assert_string_equal(lbk_weights_name(w, 3), "w.f16");
        assert_string_equal(lbk_weights_name(w, 4), "w.u8");
        assert_null(lbk_weights_name(w, 5));
        assert_null(lbk_weights_name(w, -1));
        lbk_dtype dt;
        int nd;
        int64_t dims[LAZYBK_MAX_DIMS];
        const char *type;
        assert_int_equal(lbk_weights_info(w, 2, &dt, &nd, dims, &type), LBK_OK);
        assert_int_equal(dt, LBK_BF16);
        assert_int_equal(nd, 2);
        assert_true(dims[0] == 3 && dims[1] == 5);
        assert_string_equal(type, "BF16");
        assert_int_equal(lbk_weights_info(w, 5, NULL, NULL, NULL, NULL), LBK_ERR_ARG);
        int64_t before = lbk_counter(ctx, "bytes_to_device");
        lbk_tensor g[5];
        for (int k = 0; k < 5; k++) {
            g[k] = lbk_weights_get(w, names[k]);
            if (!g[k].id) fail_msg("get %s: %s", names[k], lbk_ctx_error(ctx));
            assert_int_equal(lbk_type(ctx, g[k]), dts[k]);
        }
        if (p == 0) assert_int_equal(lbk_counter(ctx, "bytes_to_device"), before);   /* the cpu backend wraps the mapping */
        lbk_weights_close(w);   /* the tensors keep the mapping */
        remove(path);           /* and the file's name may go */
        for (int k = 0; k < 5; k++) {
            double want[15];
            tread(ctx, ts[k], want);
            tread(ctx, g[k], got);
            tclose(got, want, 15, 0, names[k]);
        }
        tread(ctx, lbk_add(ctx, g[0], g[1]), got);   /* they compute like any tensor */
        for (int i = 0; i < 15; i++) {
            double a0[15], a1[15];
            tread(ctx, ts[0], a0);
            tread(ctx, ts[1], a1);
            assert_float_equal(got[i], a0[i] + a1[i], 1e-6);
        }
        /* a name written twice, a NULL name, the reserved key, a stale tensor, not UTF-8: LBK_ERR_ARG, no file */
        const char *dup[2] = {"a", "a"}, *nul[2] = {"a", NULL}, *res[1] = {"__metadata__"}, *bad[1] = {"\xff"};
        lbk_tensor two[2] = {ts[0], ts[1]};
        assert_int_equal(lbk_save_safetensors(ctx, path, 2, dup, two), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "lbk_save_safetensors: the name 'a' is given twice");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_save_safetensors(ctx, path, 2, nul, two), LBK_ERR_ARG);
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_save_safetensors(ctx, path, 1, res, two), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "reserved");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_save_safetensors(ctx, path, 1, bad, two), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "not UTF-8");
        lbk_ctx_clear_error(ctx);
        lbk_tensor stale = {0};
        stale.id = 0x7fff0001u;
        assert_int_not_equal(lbk_save_safetensors(ctx, path, 1, names, &stale), LBK_OK);
        lbk_ctx_clear_error(ctx);
        assert_int_equal(access(path, F_OK), -1);
        /* a sync that fails (an index out of range) writes nothing and leaves the old file */
        tfile_write(path, (const unsigned char *)"old", 3);
        int64_t n3 = 3;
        double ids[3] = {0, 9, 1};
        lbk_tensor bad_sel = lbk_index_select(ctx, ts[1], 0, tfrom(ctx, LBK_I64, 1, &n3, ids));
        const char *one[1] = {"sel"};
        assert_int_equal(lbk_save_safetensors(ctx, path, 1, one, &bad_sel), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "out of range");
        lbk_ctx_clear_error(ctx);
        size_t n;
        unsigned char *old = tfile_read(path, &n);
        assert_true(old && n == 3 && memcmp(old, "old", 3) == 0);
        free(old);
        char tmp[300];
        snprintf(tmp, sizeof tmp, "%s.lbk-tmp", path);
        assert_int_equal(access(tmp, F_OK), -1);
        remove(path);
        assert_int_equal(lbk_save_safetensors(ctx, "/nonexistent-dir/x.safetensors", 1, names, ts), LBK_ERR_IO);
        assert_contains(lbk_ctx_error(ctx), "cannot open '/nonexistent-dir/x.safetensors.lbk-tmp' for writing");
        lbk_ctx_clear_error(ctx);
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* ---- a hand-written header: order, unknown fields, whitespace, escapes, metadata ---- */
static void test_st_read_handmade(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    bytes data = {0};
    b_f32(&data, 1); b_f32(&data, 2);            /* "late": [0, 8) */
    b_u16(&data, 0xBEEF); b_u16(&data, 1);       /* "u16": [8, 12) */
    b_f64(&data, -4.25);                         /* "é\"x\"": [12, 20) */
    b_u8(&data, 1);                              /* "nine": bool, 9 dims of 1: [20, 21) */
    const char *json =
        " \t\r\n{ \"__metadata__\" : {\"format\":\"pt\", \"k\\u00e9y\":\"v\\ud83d\\ude00\"},\n"
        "  \"\\u00e9\\\"x\\\"\": {\"data_offsets\":[12,20],\"shape\":[ ],\"dtype\":\"F64\", \"extra\":[1,{\"a\":null},true,-2.5e3]},\n"
        "  \"nine\": {\"dtype\":\"BOOL\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[20,21]},\n"
        "  \"u16\": {\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[8,12]},\n"
        "  \"late\": {\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}\n}   ";
    bytes f = st_file(json, data.p, data.n);
    lbk_weights *w = lbk_weights_open_memory(ctx, f.p, f.n);
    if (!w) fail_msg("open: %s", lbk_ctx_error(ctx));
    assert_int_equal(lbk_weights_count(w), 4);
    assert_string_equal(lbk_weights_name(w, 0), "late");
    assert_string_equal(lbk_weights_name(w, 1), "u16");
    assert_string_equal(lbk_weights_name(w, 2), "\xc3\xa9\"x\"");
    assert_string_equal(lbk_weights_name(w, 3), "nine");
    assert_string_equal(lbk_weights_meta(w, "format"), "pt");
    assert_string_equal(lbk_weights_meta(w, "k\xc3\xa9y"), "v\xf0\x9f\x98\x80");
    assert_null(lbk_weights_meta(w, "absent"));
    assert_null(lbk_weights_meta(w, NULL));
    double got[2];
    lbk_tensor e = lbk_weights_get(w, "\xc3\xa9\"x\"");
    assert_int_equal(lbk_ndim(ctx, e), 0);
    tread(ctx, e, got);
    assert_true(got[0] == -4.25);   /* at byte 12 of the data: not 8-aligned, so copied */
    tread(ctx, lbk_weights_get(w, "late"), got);
    assert_true(got[0] == 1 && got[1] == 2);
    lbk_dtype dt;
    const char *type;
    int nd;
    assert_int_equal(lbk_weights_info(w, 1, &dt, &nd, NULL, &type), LBK_OK);
    assert_int_equal(dt, LBK_DTYPE_INVALID);
    assert_string_equal(type, "U16");
    lbk_tensor u = lbk_weights_get(w, "u16");
    assert_int_equal(u.id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_UNSUPPORTED);
    assert_contains(lbk_ctx_error(ctx), "lbk_weights_get: tensor 'u16' in 'memory' is U16, a type lazybk does not read");
    lbk_ctx_clear_error(ctx);
    assert_int_equal(lbk_weights_get(w, "nine").id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_UNSUPPORTED);
    assert_contains(lbk_ctx_error(ctx), "9 dims");
    lbk_ctx_clear_error(ctx);
    assert_int_equal(lbk_weights_get(w, "nope").id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_NOT_FOUND);
    assert_contains(lbk_ctx_error(ctx), "lbk_weights_get: no tensor named 'nope' in 'memory' (at tests/test_weights.c:");
    lbk_ctx_clear_error(ctx);
    assert_int_equal(lbk_weights_get(w, NULL).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_ARG);
    lbk_ctx_clear_error(ctx);
    lbk_weights_close(w);
    free(f.p);
    free(data.p);
    /* the NULL cases */
    assert_null(lbk_weights_open(NULL, "x"));
    assert_int_equal(lbk_last_result(), LBK_ERR_ARG);
    assert_null(lbk_weights_open(ctx, NULL));
    lbk_ctx_clear_error(ctx);
    assert_null(lbk_weights_open(ctx, "/nonexistent/file.safetensors"));
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_IO);
    lbk_ctx_clear_error(ctx);
    assert_null(lbk_weights_open(ctx, "/tmp"));
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_IO);
    assert_contains(lbk_ctx_error(ctx), "it is a directory");
    lbk_ctx_clear_error(ctx);
    assert_int_equal(lbk_weights_count(NULL), -1);
    assert_null(lbk_weights_name(NULL, 0));
    assert_int_equal(lbk_weights_get(NULL, "x").id, 0);
    lbk_weights_close(NULL);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

/* ---- hostile safetensors ---- */
static void test_st_hostile(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    static const struct { const char *json; size_t data; const char *why; } cases[] = {
        {"[]", 0, "the header is not a JSON object"},
        {"{", 0, "an object member needs a string key"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", 4, "an object member needs a string key"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}", 4, "bad JSON"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4, "text after the header's object"},
        {"{\"a\x01\":{}}", 0, "a control character inside a string"},
        {"{\"a\\q\":{}}", 0, "an unknown escape"},
        {"{\"a\\ud800\":{}}", 0, "a lone high surrogate"},
        {"{\"a\\udc00\":{}}", 0, "a lone low surrogate"},
        {"{\"a\\u12\":{}}", 0, "four hex digits"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4, "bad JSON"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "a size in shape is not an integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "a size in shape is not an integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,4]}}", 4, "a size in shape is not an integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,4]}}", 4, "is not the 4 bytes"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4, "more than 2^63 elements"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "F32 of 2 elements is not the 4 bytes"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "run backwards"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "data_offsets is not two integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "lacks the field 'data_offsets'"},
        {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "repeats the field 'dtype'"},
        {"{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype is not a type name"},
        {"{\"a\":5}", 0, "tensor 'a' is not an object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "the tensor name 'a' appears twice"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 8, "ranges overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "a gap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "the tensors' data ends at byte 4 but the file has 8 bytes of data"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "the tensors' data ends at byte 8 but the file has 4 bytes of data"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,9223372036854775807]}}", 4, "is not the 9223372036854775807 bytes"},
        {"{\"__metadata__\":{\"a\":1}}", 0, "__metadata__ value 'a' is not a string"},
        {"{\"__metadata__\":[]}", 0, "__metadata__ is not an object"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice"},
        {"{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0, "__metadata__ repeats the key 'a'"},
        {"{\"a\\u0000b\":{}}", 0, "a key holds a NUL character"},
        {"{\"a\":tru}", 0, "an unknown word"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, "a ',' or '}' is missing"},
        {"{\"a\" {}}", 0, "a ':' is missing"},
        {"{\"a\":\"unterminated}", 0, "a string is not closed"},
        {"{\"a\xff\":{}}", 0, "the header is not UTF-8 (byte 3)"},
        {"{\"a\xc0\xaf\":{}}", 0, "not UTF-8"},          /* overlong '/' */
        {"{\"a\xed\xa0\x80\":{}}", 0, "not UTF-8"},      /* an encoded surrogate */
    };
    unsigned char zeros[16] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bytes f = st_file(cases[i].json, zeros, cases[i].data);
        expect_open_fail(ctx, &f, LBK_ERR_FORMAT, cases[i].why);
        free(f.p);
    }
    /* nesting past 64 levels; a header length past the file or over the format's limit; too short */
    {
        char deep[300];
        int k = 0;
        k += sprintf(deep + k, "{\"a\":");
        for (int d = 0; d < 70; d++) deep[k++] = '[';
        for (int d = 0; d < 70; d++) deep[k++] = ']';
        k += sprintf(deep + k, "}");
        bytes f = st_file(deep, NULL, 0);
        expect_open_fail(ctx, &f, LBK_ERR_FORMAT, "nested deeper than 64 levels");
        free(f.p);
        bytes g = {0};
        b_u64(&g, 100);
        b_raw(&g, "{}", 2);
        expect_open_fail(ctx, &g, LBK_ERR_FORMAT, "the header of 100 bytes runs past the end of the file (10 bytes)");
        g.n = 0;
        b_u64(&g, 100000001);
        expect_open_fail(ctx, &g, LBK_ERR_FORMAT, "over the format's limit");
        g.n = 0;
        b_u64(&g, UINT64_MAX);
        expect_open_fail(ctx, &g, LBK_ERR_FORMAT, "over the format's limit");
        g.n = 5;
        expect_open_fail(ctx, &g, LBK_ERR_FORMAT, "too short");
        free(g.p);
    }
    /* a good file cut at every length, and every header byte flipped: refused or read whole */
    {
        bytes data = {0};
        for (int i = 0; i < 6; i++) b_f32(&data, (float)i);
        for (int i = 0; i < 4; i++) b_u16(&data, 0x3c00 + (unsigned)i);
        const char *json = "{\"__metadata__\":{\"x\":\"y\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                           "\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]}}";
        bytes f = st_file(json, data.p, data.n);
        int refused = 0, opened = 0;
        for (size_t n = 0; n < f.n; n++) {
            bytes cut = f;
            cut.n = n;
            lbk_weights *w = lbk_weights_open_memory(ctx, cut.p, cut.n);
            if (w) fail_msg("a file cut to %zu of %zu bytes opened", n, f.n);
            assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_FORMAT);
            lbk_ctx_clear_error(ctx);
        }
        for (size_t i = 0; i < 8 + strlen(json); i++)
            for (int bit = 0; bit < 8; bit++) {
                f.p[i] ^= (unsigned char)(1 << bit);
                lbk_weights *w = lbk_weights_open_memory(ctx, f.p, f.n);
                if (w) {   /* whatever it says must be readable */
                    opened++;
                    for (int k = 0; k < lbk_weights_count(w); k++) {
                        lbk_tensor t = lbk_weights_get(w, lbk_weights_name(w, k));
                        if (t.id) assert_int_equal(lbk_sync(ctx, &t, 1), LBK_OK);
                        lbk_ctx_clear_error(ctx);
                    }
                    lbk_weights_close(w);
                } else {
                    refused++;
                    assert_true(lbk_ctx_result(ctx) == LBK_ERR_FORMAT || lbk_ctx_result(ctx) == LBK_ERR_OOM);
                    lbk_ctx_clear_error(ctx);
                }
                f.p[i] ^= (unsigned char)(1 << bit);
            }
        assert_true(refused > 0 && opened > 0);   /* both happen: the flips reach past the parser */
        free(f.p);
        free(data.p);
    }
    /* the context still computes */
    double got[1];
    tread(ctx, lbk_add(ctx, lbk_scalar(ctx, LBK_F64, 2), lbk_scalar(ctx, LBK_F64, 3)), got);
    assert_true(got[0] == 5);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

/* ---- GGUF ---- */
enum { G_U8, G_I8, G_U16, G_I16, G_U32, G_I32, G_F32, G_BOOL, G_STR, G_ARR, G_U64, G_I64, G_F64 };
typedef struct gtensor { const char *name; int nd; uint64_t ne[4]; uint32_t type; uint64_t off; } gtensor;
/* A GGUF file: header, the key/values written by kv(), the tensor infos, padding, data. */
static bytes gguf_file(uint32_t version, uint64_t n_kv, const bytes *kv, int n_t, const gtensor *t, size_t align, const bytes *data) {
    bytes b = {0};
    b_raw(&b, "GGUF", 4);
    b_u32(&b, version);
    b_u64(&b, (uint64_t)n_t);
    b_u64(&b, n_kv);
    b_raw(&b, kv->p, kv->n);
    for (int i = 0; i < n_t; i++) {
        b_gstr(&b, t[i].name);
        b_u32(&b, (uint32_t)t[i].nd);
        for (int d = 0; d < t[i].nd; d++) b_u64(&b, t[i].ne[d]);
        b_u32(&b, t[i].type);
        b_u64(&b, t[i].off);
    }
    b_pad(&b, align);
    if (data) b_raw(&b, data->p, data->n);
    return b;
}
static void test_gguf_read(void **state) {
    (void)state;
    for (int ver = 2; ver <= 3; ver++) {
        lbk_ctx *ctx = tctx();
        size_t align = ver == 3 ? 64 : 32;
        bytes kv = {0};
        b_gstr(&kv, "general.architecture"); b_u32(&kv, G_STR); b_gstr(&kv, "llama");
        b_gstr(&kv, "u8"); b_u32(&kv, G_U8); b_u8(&kv, 250);
        b_gstr(&kv, "i8"); b_u32(&kv, G_I8); b_u8(&kv, 0xfb);
        b_gstr(&kv, "u16"); b_u32(&kv, G_U16); b_u16(&kv, 65535);
        b_gstr(&kv, "i16"); b_u32(&kv, G_I16); b_u16(&kv, 0x8000);
        b_gstr(&kv, "llama.context_length"); b_u32(&kv, G_U32); b_u32(&kv, 2048);
        b_gstr(&kv, "i32"); b_u32(&kv, G_I32); b_u32(&kv, (uint32_t)-70000);
        b_gstr(&kv, "f32"); b_u32(&kv, G_F32); b_f32(&kv, 0.5f);
        b_gstr(&kv, "yes"); b_u32(&kv, G_BOOL); b_u8(&kv, 1);
        b_gstr(&kv, "tokens"); b_u32(&kv, G_ARR); b_u32(&kv, G_STR); b_u64(&kv, 3); b_gstr(&kv, "a"); b_gstr(&kv, ""); b_gstr(&kv, "ccc");
        b_gstr(&kv, "nested"); b_u32(&kv, G_ARR); b_u32(&kv, G_ARR); b_u64(&kv, 2);
        b_u32(&kv, G_U8); b_u64(&kv, 2); b_u8(&kv, 1); b_u8(&kv, 2);
        b_u32(&kv, G_F64); b_u64(&kv, 1); b_f64(&kv, 9);
        b_gstr(&kv, "scores"); b_u32(&kv, G_ARR); b_u32(&kv, G_F32); b_u64(&kv, 3); b_f32(&kv, -1.5f); b_f32(&kv, 0); b_f32(&kv, 2.25f);
        b_gstr(&kv, "flags"); b_u32(&kv, G_ARR); b_u32(&kv, G_BOOL); b_u64(&kv, 2); b_u8(&kv, 0); b_u8(&kv, 1);
        b_gstr(&kv, "u64"); b_u32(&kv, G_U64); b_u64(&kv, UINT64_MAX);
        b_gstr(&kv, "i64"); b_u32(&kv, G_I64); b_u64(&kv, (uint64_t)INT64_MIN);
        b_gstr(&kv, "f64"); b_u32(&kv, G_F64); b_f64(&kv, 0.1);
        int n_kv = 16;
        if (ver == 3) { b_gstr(&kv, "general.alignment"); b_u32(&kv, G_U32); b_u32(&kv, 64); n_kv++; }
        /* data: tok f32 ne [3, 2] at 0 (24 bytes); h f16 [4] at A; b bf16 [2,1,2] at 2A; i i32 [2] at 3A;
           q Q4_0 [32] at 4A (18 bytes); d f64 [1] at 5A; e i8 [3] at 6A */
        bytes data = {0};
        for (int i = 0; i < 6; i++) b_f32(&data, (float)(i * 10 + 1));
        b_pad(&data, align);
        b_u16(&data, 0x3c00); b_u16(&data, 0xc000); b_u16(&data, 0x7c00); b_u16(&data, 0x0001);   /* 1, -2, inf, 2^-24 */
        b_pad(&data, align);
        b_u16(&data, 0x3f80); b_u16(&data, 0x4040); b_u16(&data, 0xbf00); b_u16(&data, 0x7fc0);   /* 1, 3, -0.5, nan */
        b_pad(&data, align);
        b_u32(&data, (uint32_t)-5); b_u32(&data, 123456);
        b_pad(&data, align);
        for (int i = 0; i < 18; i++) b_u8(&data, (unsigned)i);
        b_pad(&data, align);
        b_f64(&data, 1e300);
        b_pad(&data, align);
        b_u8(&data, 0x80); b_u8(&data, 0x7f); b_u8(&data, 0);
        gtensor t[7] = {{"tok", 2, {3, 2}, 0, 0}, {"h", 1, {4}, 1, align}, {"b", 3, {2, 1, 2}, 30, 2 * align},
                        {"i", 1, {2}, 26, 3 * align}, {"q", 1, {32}, 2, 4 * align}, {"d", 1, {1}, 28, 5 * align},
                        {"e", 1, {3}, 24, 6 * align}};
        bytes f = gguf_file((uint32_t)ver, (uint64_t)n_kv, &kv, 7, t, align, &data);
        const char *path = tmp_path("w.gguf");
        tfile_write(path, f.p, f.n);
        lbk_weights *w = lbk_weights_open(ctx, path);
        if (!w) fail_msg("v%d: %s", ver, lbk_ctx_error(ctx));
        assert_int_equal(lbk_weights_count(w), 7);
        for (int i = 0; i < 7; i++) assert_string_equal(lbk_weights_name(w, i), t[i].name);
        assert_string_equal(lbk_weights_meta(w, "general.architecture"), "llama");
        assert_string_equal(lbk_weights_meta(w, "u8"), "250");
        assert_string_equal(lbk_weights_meta(w, "i8"), "-5");
        assert_string_equal(lbk_weights_meta(w, "u16"), "65535");
        assert_string_equal(lbk_weights_meta(w, "i16"), "-32768");
        assert_string_equal(lbk_weights_meta(w, "llama.context_length"), "2048");
        assert_string_equal(lbk_weights_meta(w, "i32"), "-70000");
        assert_string_equal(lbk_weights_meta(w, "f32"), "0.5");
        assert_string_equal(lbk_weights_meta(w, "yes"), "true");
        assert_null(lbk_weights_meta(w, "tokens"));   /* arrays: no text */
        assert_null(lbk_weights_meta(w, "nested"));
        {   /* arrays: counts, types, elements (strings in place), numbers, bounds */
            const char *ty = NULL;
            char buf[8];
            assert_int_equal(lbk_weights_meta_array(w, "tokens", &ty), 3);
            assert_string_equal(ty, "str");
            assert_int_equal(lbk_weights_meta_item(w, "tokens", 2, buf, sizeof buf), 3);
            assert_string_equal(buf, "ccc");
            assert_int_equal(lbk_weights_meta_item(w, "tokens", 1, buf, sizeof buf), 0);
            assert_string_equal(buf, "");
            assert_int_equal(lbk_weights_meta_item(w, "tokens", 2, buf, 2), 3);   /* cut to fit, length whole */
            assert_string_equal(buf, "c");
            assert_int_equal(lbk_weights_meta_item(w, "tokens", 3, buf, sizeof buf), -1);
            assert_int_equal(lbk_weights_meta_item(w, "tokens", -1, buf, sizeof buf), -1);
            assert_true(isnan(lbk_weights_meta_number(w, "tokens", 0)));
            assert_int_equal(lbk_weights_meta_array(w, "nested", &ty), 2);
            assert_string_equal(ty, "arr");
            assert_int_equal(lbk_weights_meta_item(w, "nested", 0, buf, sizeof buf), -1);
            assert_int_equal(lbk_weights_meta_array(w, "u8", &ty), -1);   /* a scalar */
            assert_null(ty);
            assert_int_equal(lbk_weights_meta_array(w, "absent", NULL), -1);
            assert_int_equal(lbk_weights_meta_array(NULL, "tokens", NULL), -1);
            assert_int_equal(lbk_weights_meta_array(w, "scores", &ty), 3);
            assert_string_equal(ty, "f32");
            assert_true(lbk_weights_meta_number(w, "scores", 0) == -1.5 && lbk_weights_meta_number(w, "scores", 2) == 2.25);
            assert_true(isnan(lbk_weights_meta_number(w, "scores", 3)));
            assert_true(lbk_weights_meta_number(w, "flags", 1) == 1 && lbk_weights_meta_number(w, "flags", 0) == 0);
            assert_int_equal(lbk_weights_meta_count(w), n_kv);
            assert_string_equal(lbk_weights_meta_key(w, 0), "general.architecture");
            assert_null(lbk_weights_meta_key(w, n_kv));
            assert_null(lbk_weights_meta_key(w, -1));
        }
        assert_string_equal(lbk_weights_meta(w, "u64"), "18446744073709551615");
        assert_string_equal(lbk_weights_meta(w, "i64"), "-9223372036854775808");
        assert_true(strtod(lbk_weights_meta(w, "f64"), NULL) == 0.1);
        double got[8];
        lbk_tensor tok = lbk_weights_get(w, "tok");
        assert_int_equal(lbk_ndim(ctx, tok), 2);
        assert_int_equal(lbk_dim(ctx, tok, 0), 2);   /* ne [3, 2]: 2 rows of 3 */
        assert_int_equal(lbk_dim(ctx, tok, 1), 3);
        tread(ctx, tok, got);
        for (int i = 0; i < 6; i++) assert_true(got[i] == i * 10 + 1);
        tread(ctx, lbk_weights_get(w, "h"), got);
        assert_true(got[0] == 1 && got[1] == -2 && isinf(got[2]) && got[3] == ldexp(1, -24));
        lbk_tensor bt = lbk_weights_get(w, "b");
        assert_int_equal(lbk_type(ctx, bt), LBK_BF16);
        assert_int_equal(lbk_dim(ctx, bt, 0), 2);
        assert_int_equal(lbk_dim(ctx, bt, 1), 1);
        assert_int_equal(lbk_dim(ctx, bt, 2), 2);
        tread(ctx, bt, got);
        assert_true(got[0] == 1 && got[1] == 3 && got[2] == -0.5 && isnan(got[3]));
        tread(ctx, lbk_weights_get(w, "i"), got);
        assert_true(got[0] == -5 && got[1] == 123456);
        tread(ctx, lbk_weights_get(w, "d"), got);
        assert_true(got[0] == 1e300);
        tread(ctx, lbk_weights_get(w, "e"), got);
        assert_true(got[0] == -128 && got[1] == 127 && got[2] == 0);
        const char *type;
        lbk_dtype dt;
        int nd;
        int64_t dims[LAZYBK_MAX_DIMS];
        assert_int_equal(lbk_weights_info(w, 4, &dt, &nd, dims, &type), LBK_OK);
        assert_string_equal(type, "Q4_0");
        assert_int_equal(dt, LBK_DTYPE_INVALID);
        assert_true(nd == 1 && dims[0] == 32);
        assert_int_equal(lbk_weights_get(w, "q").id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_UNSUPPORTED);
        assert_contains(lbk_ctx_error(ctx), "is Q4_0, a type lazybk does not read");
        lbk_ctx_clear_error(ctx);
        lbk_weights_close(w);
        remove(path);

        /* hostile: every truncation, then specific lies */
        for (size_t n = 0; n < f.n; n++) {
            lbk_weights *c = lbk_weights_open_memory(ctx, f.p, n);
            if (c) fail_msg("v%d cut to %zu of %zu opened", ver, n, f.n);
            assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_FORMAT);
            lbk_ctx_clear_error(ctx);
        }
        int opened = 0, refused = 0;
        size_t infos_end = f.n - data.n;
        for (size_t i = 4; i < infos_end; i++)
            for (int bit = 0; bit < 8; bit += 3) {
                f.p[i] ^= (unsigned char)(1 << bit);
                lbk_weights *c = lbk_weights_open_memory(ctx, f.p, f.n);
                if (c) {
                    opened++;
                    for (int k = 0; k < lbk_weights_count(c); k++) {
                        lbk_tensor x = lbk_weights_get(c, lbk_weights_name(c, k));
                        if (x.id) assert_int_equal(lbk_sync(ctx, &x, 1), LBK_OK);
                        lbk_ctx_clear_error(ctx);
                    }
                    lbk_weights_close(c);
                } else {
                    refused++;
                    assert_int_not_equal(lbk_ctx_result(ctx), LBK_OK);
                    lbk_ctx_clear_error(ctx);
                }
                f.p[i] ^= (unsigned char)(1 << bit);
            }
        assert_true(opened > 0 && refused > 0);
        free(f.p);
        free(kv.p);
        free(data.p);
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static void test_gguf_hostile(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    bytes none = {0}, d64 = {0};
    for (int i = 0; i < 64; i++) b_u8(&d64, 0);
    gtensor f1[1] = {{"t", 1, {4}, 0, 0}};
    /* versions */
    for (uint32_t v = 0; v < 6; v++) {
        bytes f = gguf_file(v, 0, &none, 1, f1, 32, &d64);
        if (v == 2 || v == 3) {
            lbk_weights *w = lbk_weights_open_memory(ctx, f.p, f.n);
            assert_non_null(w);
            lbk_weights_close(w);
        } else {
            expect_open_fail(ctx, &f, LBK_ERR_UNSUPPORTED, v == 1 ? "GGUF version 1 (lazybk reads versions 2 and 3)" : "GGUF version");
        }
        free(f.p);
    }
    {
        bytes f = gguf_file(0x03000000u, 0, &none, 1, f1, 32, &d64);
        expect_open_fail(ctx, &f, LBK_ERR_UNSUPPORTED, "a big-endian GGUF file");
        free(f.p);
    }
    /* counts the file cannot hold */
    {
        bytes f = gguf_file(3, 0, &none, 1, f1, 32, &d64);
        memcpy(f.p + 8, "\xff\xff\xff\xff\xff\xff\xff\x7f", 8);
        expect_open_fail(ctx, &f, LBK_ERR_FORMAT, "the tensor count is more than the file can hold");
        memcpy(f.p + 8, "\x01\0\0\0\0\0\0\0", 8);
        memcpy(f.p + 16, "\x00\x00\x00\x00\x00\x00\x00\x01", 8);
        expect_open_fail(ctx, &f, LBK_ERR_FORMAT, "the key/value count is more than the file can hold");
        free(f.p);
    }
    /* key/values that lie */
    {
        static const char *const why[] = {"a string's length runs past the end of the file", "an unknown value type",
                                          "an array's count is more than the rest of the file can hold", "arrays nested deeper than 8",
                                          "a bool value is neither 0 nor 1", "the key 'k' appears twice",
                                          "general.alignment is not a power of two stored as u32", "general.alignment is not a power of two",
                                          "a key is empty", "an array of an unknown value type", "a string value holds a NUL byte"};
        for (int c = 0; c < 11; c++) {
            bytes kv = {0};
            uint64_t n_kv = 1;
            switch (c) {
            case 0: b_u64(&kv, UINT64_MAX - 3); break;
            case 1: b_gstr(&kv, "k"); b_u32(&kv, 13); b_u32(&kv, 0); break;
            case 2: b_gstr(&kv, "k"); b_u32(&kv, G_ARR); b_u32(&kv, G_U64); b_u64(&kv, UINT64_MAX / 4); break;
            case 3:   /* an array of an array of ... nine deep */
                b_gstr(&kv, "k"); b_u32(&kv, G_ARR);
                for (int d = 0; d < 9; d++) { b_u32(&kv, G_ARR); b_u64(&kv, 1); }
                b_u32(&kv, G_U8); b_u64(&kv, 0);
                break;
            case 4: b_gstr(&kv, "k"); b_u32(&kv, G_BOOL); b_u8(&kv, 2); break;
            case 5: b_gstr(&kv, "k"); b_u32(&kv, G_U8); b_u8(&kv, 1); b_gstr(&kv, "k"); b_u32(&kv, G_U8); b_u8(&kv, 2); n_kv = 2; break;
            case 6: b_gstr(&kv, "general.alignment"); b_u32(&kv, G_U64); b_u64(&kv, 32); break;
            case 7: b_gstr(&kv, "general.alignment"); b_u32(&kv, G_U32); b_u32(&kv, 48); break;
            case 8: b_gstr(&kv, ""); b_u32(&kv, G_U8); b_u8(&kv, 1); break;
            case 9: b_gstr(&kv, "k"); b_u32(&kv, G_ARR); b_u32(&kv, 99); b_u64(&kv, 1); break;
            case 10: b_gstr(&kv, "k"); b_u32(&kv, G_STR); b_u64(&kv, 3); b_raw(&kv, "a\0b", 3); break;
            }
            bytes f = gguf_file(3, n_kv, &kv, 1, f1, 32, &d64);
            expect_open_fail(ctx, &f, LBK_ERR_FORMAT, why[c]);
            free(f.p);
            free(kv.p);
        }
    }
    /* tensor infos that lie */
    {
        static const struct { gtensor t[2]; int n; const char *why; } tc[] = {
            {{{"t", 1, {4}, 0, 8}}, 1, "is at offset 8, not a multiple of the alignment 32"},
            {{{"t", 1, {32}, 0, 0}}, 1, "(128 bytes at offset 0) runs past the end of the data (64 bytes)"},
            {{{"t", 1, {4}, 0, 64}}, 1, "runs past the end"},
            {{{"t", 1, {4}, 0, 0}, {"u", 1, {4}, 0, 0}}, 2, "overlaps the tensor before it"},
            {{{"t", 1, {16}, 0, 0}, {"u", 1, {1}, 0, 32}}, 2, "overlaps the tensor before it"},
            {{{"t", 1, {4}, 0, 0}, {"t", 1, {4}, 0, 32}}, 2, "the tensor name 't' appears twice"},
            {{{"t", 1, {30}, 2, 0}}, 1, "Q4_0 needs rows of a multiple of 32 elements, not 30"},
            {{{"t", 2, {UINT64_MAX, 2}, 0, 0}}, 1, "more than 2^63 elements"},
            {{{"t", 2, {1ull << 32, 1ull << 31}, 0, 0}}, 1, "more than 2^63 elements"},
            {{{"t", 1, {1ull << 62}, 0, 0}}, 1, "its size overflows"},
            {{{"t", 1, {4}, 0, UINT64_MAX - 31}}, 1, "runs past the end"},
        };
        for (size_t c = 0; c < sizeof tc / sizeof *tc; c++) {
            bytes f = gguf_file(3, 0, &none, tc[c].n, tc[c].t, 32, &d64);
            expect_open_fail(ctx, &f, LBK_ERR_FORMAT, tc[c].why);
            free(f.p);
        }
        /* nine dims; an unknown type is listed and refused at get; a NUL in a name */
        bytes f = {0};
        b_raw(&f, "GGUF", 4); b_u32(&f, 3); b_u64(&f, 1); b_u64(&f, 0);
        b_gstr(&f, "t"); b_u32(&f, 9);
        for (int d = 0; d < 9; d++) b_u64(&f, 1);
        b_u32(&f, 0); b_u64(&f, 0);
        b_pad(&f, 32); b_raw(&f, d64.p, 64);
        expect_open_fail(ctx, &f, LBK_ERR_FORMAT, "a tensor has more than 8 dims");
        free(f.p);
        gtensor odd[1] = {{"t", 1, {4}, 77, 0}};
        f = gguf_file(3, 0, &none, 1, odd, 32, &d64);
        lbk_weights *w = lbk_weights_open_memory(ctx, f.p, f.n);
        assert_non_null(w);
        assert_int_equal(lbk_weights_get(w, "t").id, 0);
        assert_contains(lbk_ctx_error(ctx), "is GGUF type 77, a type lazybk does not read");
        lbk_ctx_clear_error(ctx);
        lbk_weights_close(w);
        free(f.p);
        gtensor nul[1] = {{"t", 1, {4}, 0, 0}};
        f = gguf_file(3, 0, &none, 1, nul, 32, &d64);
        f.p[24 + 8] = 0;   /* the name "t" becomes "\0" */
        expect_open_fail(ctx, &f, LBK_ERR_FORMAT, "a tensor name holds a NUL byte");
        free(f.p);
        /* the data area's start past the end: infos end, alignment 32, the file ends before */
        f = gguf_file(3, 0, &none, 1, f1, 1, NULL);
        expect_open_fail(ctx, &f, LBK_ERR_FORMAT, "lies past the end of the file");
        free(f.p);
    }
    free(d64.p);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_st_save_bytes), cmocka_unit_test(test_st_roundtrip), cmocka_unit_test(test_st_read_handmade),
    cmocka_unit_test(test_st_hostile), cmocka_unit_test(test_gguf_read), cmocka_unit_test(test_gguf_hostile),
};
TEST_GROUP(weights_tests, tests);
