/* bench_cnn.c — examples/10_cnn.c's forward, and two single ops (an embedding lookup at
   GPT-2's vocabulary and its physical limit, a 3x3 conv2d), timed for bench_torch.py (see bench_gpt2.c). */
#define LAZYBK_STATIC
#define main cnn_example_main
#include "../../examples/10_cnn.c"
#undef main
#include "../bench_util.h"

static lbk_ctx *bench_ctx(int threads) {
    lbk_ctx_desc d;
    memset(&d, 0, sizeof d);
    d.n_threads = threads;
    return lbk_ctx_create(&d);
}
/* A value from a fixed generator, in [-1, 1). */
static float bench_val(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*s >> 11) / 4503599627370496.0 - 1.0);
}
static lbk_tensor bench_rand(lbk_ctx *c, int nd, const int64_t *dims, uint64_t seed) {
    int64_t n = 1;
    for (int k = 0; k < nd; k++) n *= dims[k];
    float *v = (float *)malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = bench_val(&seed);
    lbk_tensor t = lbk_from_host(c, LBK_F32, nd, dims, v);
    free(v);
    return t;
}

double bench_cnn_forward(int threads, int reps) {
    double t[64], r;
    float out[640];
    if (reps > 64 || !(C = bench_ctx(threads))) return -1;
    W = lbk_weights_open(C, "examples/data/cnn_tiny.safetensors");
    lbk_weights *ref = lbk_weights_open(C, "examples/data/cnn_tiny_ref.safetensors");
    if (!W || !ref) { lbk_ctx_destroy(C); return -1; }
    lbk_tensor img = lbk_weights_get(ref, "images");
    for (int k = -1; k < reps; k++) {
        double t0 = now_ms();
        lbk_scope s = lbk_scope_begin(C);
        lbk_tensor y = forward(img);
        lbk_sync(C, &y, 1);
        lbk_scope_end(C, s, NULL, 0);
        if (k >= 0) t[k] = now_ms() - t0;
    }
    (void)out;
    r = lbk_ctx_result(C) == LBK_OK ? median(t, reps) : -1;
    lbk_weights_close(ref);
    lbk_weights_close(W);
    lbk_ctx_destroy(C);
    return r;
}
/* The median ms of reps runs (after one more) of make(c, a) synced, then the context gone. */
typedef lbk_tensor (*bench_make)(lbk_ctx *c, const lbk_tensor *a);
static double bench_op(lbk_ctx *c, bench_make make, const lbk_tensor *a, int reps) {
    double t[64], r;
    for (int k = -1; k < reps; k++) {
        double t0 = now_ms();
        lbk_tensor y = make(c, a);
        lbk_sync(c, &y, 1);
        lbk_release(c, y);
        if (k >= 0) t[k] = now_ms() - t0;
    }
    r = lbk_ctx_result(c) == LBK_OK ? median(t, reps) : -1;
    lbk_ctx_destroy(c);
    return r;
}
static lbk_tensor make_embedding(lbk_ctx *c, const lbk_tensor *a) { return lbk_embedding(c, a[0], a[1]); }
static lbk_tensor make_conv(lbk_ctx *c, const lbk_tensor *a) {
    int64_t pad[2] = {1, 1};
    return lbk_conv2d(c, a[0], a[1], a[2], NULL, pad, NULL, 1);
}
/* 128 ids from a 50257 x 768 table (GPT-2's token embedding). */
double bench_embedding(int threads, int reps) {
    lbk_ctx *c = bench_ctx(threads);
    int64_t td[2] = {50257, 768}, n = 128, ids[128];
    uint64_t s = 5;
    lbk_tensor a[2];
    if (!c || reps > 64) return -1;
    a[0] = bench_rand(c, 2, td, 1);
    for (int i = 0; i < 128; i++) { bench_val(&s); ids[i] = (int64_t)(s >> 20) % 50257; }
    a[1] = lbk_from_host(c, LBK_I64, 1, &n, ids);
    lbk_sync(c, a, 1);
    return bench_op(c, make_embedding, a, reps);
}
/* The physical limit of the embedding: the same 128 rows of the same table copied by
   memcpy into a buffer made for them (as the lookup makes its result), a median. */
double bench_embedding_memcpy(int reps) {
    int64_t ids[128];
    uint64_t s = 5;
    size_t row = 768 * sizeof(float);
    float *table = malloc(50257 * row);
    double t[64], r;
    if (!table || reps > 64) { free(table); return -1; }
    for (size_t i = 0; i < 50257u * 768u; i++) table[i] = (float)(i % 1000) * 1e-3f;
    for (int i = 0; i < 128; i++) { bench_val(&s); ids[i] = (int64_t)(s >> 20) % 50257; }
    for (int k = -1; k < reps; k++) {
        double t0 = now_ms();
        float *out = malloc(128 * row);
        volatile float sink;
        for (int i = 0; i < 128; i++) memcpy(out + (size_t)i * 768, table + (size_t)ids[i] * 768, row);
        sink = out[127 * 768];
        (void)sink;
        free(out);
        if (k >= 0) t[k] = now_ms() - t0;
    }
    r = median(t, reps);
    free(table);
    return r;
}
/* conv2d 3x3, 64 -> 64 channels, 56 x 56, padding 1, with a bias (a ResNet stage). */
double bench_conv2d(int threads, int reps) {
    lbk_ctx *c = bench_ctx(threads);
    int64_t xd[4] = {1, 64, 56, 56}, wd[4] = {64, 64, 3, 3}, bd = 64;
    lbk_tensor a[3];
    if (!c || reps > 64) return -1;
    a[0] = bench_rand(c, 4, xd, 2);
    a[1] = bench_rand(c, 4, wd, 3);
    a[2] = bench_rand(c, 1, &bd, 4);
    return bench_op(c, make_conv, a, reps);
}
