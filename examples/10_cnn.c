/* 10_cnn.c — a small ResNet-style CNN on u8 images, from a safetensors file.

   conv2d / batch_norm / relu / max_pool2d, a residual block, a strided downsampling
   convolution, avg_pool2d, a global mean and a linear classifier, over a batch of u8
   images (cast and normalised in the graph). The whole batch is one graph, compiled once
   and served from the cache on later calls.

   Usage: 10_cnn      the tiny random-weight checkpoint and the 4 images in examples/data,
                      checked against the logits tools/make_model_fixtures.py computed in
                      PyTorch; prints images/s over repeated runs; exits 1 on a mismatch.

   Build:  cc -O2 -I. $(pkg-config --cflags stb) examples/10_cnn.c -o cnn -lm -lpthread
*/
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static lbk_weights *W;
static lbk_ctx *C;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static lbk_tensor get(const char *name) {
    lbk_tensor t = lbk_weights_get(W, name);
    if (!t.id) { fprintf(stderr, "10_cnn: %s\n", lbk_ctx_error(C)); exit(1); }
    return t;
}
/* conv (no bias) then inference batch norm of the parameters under prefix bn */
static lbk_tensor conv_bn(lbk_tensor x, const char *conv, const char *bn, int64_t stride) {
    char n[4][96];
    int64_t st[2] = {stride, stride}, pad[2] = {1, 1};
    snprintf(n[0], sizeof n[0], "%s.running_mean", bn);
    snprintf(n[1], sizeof n[1], "%s.running_var", bn);
    snprintf(n[2], sizeof n[2], "%s.weight", bn);
    snprintf(n[3], sizeof n[3], "%s.bias", bn);
    return lbk_batch_norm(C, lbk_conv2d(C, x, get(conv), (lbk_tensor){0}, st, pad, NULL, 1), get(n[0]), get(n[1]), get(n[2]), get(n[3]), 1e-5);
}
static lbk_tensor forward(lbk_tensor img) {
    int64_t k2[2] = {2, 2};
    int hw[2] = {2, 3};
    lbk_tensor x = lbk_div(C, lbk_sub(C, lbk_div(C, lbk_cast(C, img, LBK_F32), lbk_scalar(C, LBK_F32, 255)), lbk_scalar(C, LBK_F32, 0.5)),
                           lbk_scalar(C, LBK_F32, 0.25));
    x = lbk_max_pool2d(C, lbk_relu(C, conv_bn(x, "conv1.weight", "bn1", 1)), k2, NULL, NULL);
    lbk_tensor y = lbk_relu(C, conv_bn(x, "block.conv_a.weight", "block.bn_a", 1));
    y = conv_bn(y, "block.conv_b.weight", "block.bn_b", 1);
    x = lbk_relu(C, lbk_add(C, x, y));
    x = lbk_relu(C, conv_bn(x, "down.conv.weight", "down.bn", 2));
    x = lbk_mean(C, lbk_avg_pool2d(C, x, k2, NULL, NULL), 2, hw, false);
    return lbk_linear(C, x, get("fc.weight"), get("fc.bias"));
}

int main(void) {
    int bad = 0;
    lbk_weights *ref;
    C = lbk_ctx_create(NULL);
    if (!C) return 1;
    W = lbk_weights_open(C, "examples/data/cnn_tiny.safetensors");
    ref = lbk_weights_open(C, "examples/data/cnn_tiny_ref.safetensors");
    if (!W || !ref) { fprintf(stderr, "10_cnn: %s\n", lbk_ctx_error(C)); return 1; }
    lbk_tensor img = lbk_weights_get(ref, "images");
    int64_t N = lbk_dim(C, img, 0), n_classes = 10;
    printf("10_cnn: %lld u8 images %lldx%lldx%lld\n", (long long)N, (long long)lbk_dim(C, img, 1), (long long)lbk_dim(C, img, 2),
           (long long)lbk_dim(C, img, 3));
    float got[64 * 10], want[64 * 10];
    double worst = 0;
    lbk_scope s = lbk_scope_begin(C);
    lbk_tensor logits = forward(img);
    if (lbk_read(C, logits, got, sizeof(float) * (size_t)(N * n_classes)) != LBK_OK) { fprintf(stderr, "10_cnn: %s\n", lbk_ctx_error(C)); return 1; }
    lbk_scope_end(C, s, NULL, 0);
    lbk_read(C, lbk_weights_get(ref, "logits"), want, sizeof(float) * (size_t)(N * n_classes));
    for (int64_t i = 0; i < N * n_classes; i++) {
        double e = fabs((double)got[i] - want[i]) / (1 + fabs((double)want[i]));
        if (!(e <= worst)) worst = e;
    }
    printf("  %-22s worst error %.3g (tolerance 1e-4) %s\n", "logits", worst, worst <= 1e-4 ? "ok" : "MISMATCH");
    bad |= !(worst <= 1e-4);
    printf("  classes:");
    for (int64_t i = 0; i < N; i++) {
        int a = 0, b = 0;
        for (int c = 1; c < n_classes; c++) {
            if (got[i * n_classes + c] > got[i * n_classes + a]) a = c;
            if (want[i * n_classes + c] > want[i * n_classes + b]) b = c;
        }
        printf(" %d", a);
        bad |= a != b;
    }
    printf("\n");
    /* throughput: the same graph again (served from the cache) */
    int64_t c0 = lbk_counter(C, "compile");
    int reps = 50;
    double t0 = now();
    for (int r = 0; r < reps; r++) {
        s = lbk_scope_begin(C);
        lbk_read(C, forward(img), got, sizeof(float) * (size_t)(N * n_classes));
        lbk_scope_end(C, s, NULL, 0);
    }
    double t1 = now();
    printf("  %d batches of %lld: %.3f ms a batch, %.0f images/s, compiles: %lld\n", reps, (long long)N, (t1 - t0) * 1e3 / reps,
           (double)(reps * N) / (t1 - t0), (long long)(lbk_counter(C, "compile") - c0));
    bad |= lbk_counter(C, "compile") != c0;
    lbk_weights_close(ref);
    lbk_weights_close(W);
    if (lbk_ctx_result(C) != LBK_OK) { fprintf(stderr, "10_cnn: %s\n", lbk_ctx_error(C)); bad = 1; }
    lbk_ctx_destroy(C);
    printf("10_cnn: %s\n", bad ? "FAILED" : "ok");
    return bad;
}
