/* 05_mlp.c — an MLP doing inference with lazybk on weights saved and loaded as .npy.

   A synthetic 3-class problem (three Gaussian blobs in 2-D, fixed seed). The weights of a
   2-16-3 MLP (tanh) are made from a fixed seed and fitted by a few hundred steps of plain
   gradient descent in float64 C (no lazybk), then saved as .npy files with lbk_save_npy.
   The inference program loads them with lbk_load_npy, runs softmax(tanh(x W1 + b1) W2 + b2)
   on a fresh test set with lazybk, and prints the accuracy (and checks it against the
   float64 forward pass).

   Build:  cc -O2 -I. $(pkg-config --cflags stb) examples/05_mlp.c -o mlp -lm -lpthread
*/
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { IN = 2, HID = 16, OUT = 3, NTRAIN = 300, NTEST = 600 };
static uint64_t g_seed = 42;
static double urand(void) { g_seed = g_seed * 6364136223846793005ULL + 1442695040888963407ULL; return (double)(g_seed >> 11) / 9007199254740992.0; }
static double nrand(void) { double u = urand() + 1e-12, v = urand(); return sqrt(-2 * log(u)) * cos(6.283185307179586 * v); }
static void blobs(int n, double *x, int *y) {   /* three blobs around the corners of a triangle */
    static const double c[3][2] = {{0, 2}, {-1.8, -1}, {1.8, -1}};
    for (int i = 0; i < n; i++) { y[i] = i % 3; x[i * 2] = c[y[i]][0] + 0.7 * nrand(); x[i * 2 + 1] = c[y[i]][1] + 0.7 * nrand(); }
}
/* float64 forward pass; h: hidden activations, p: probabilities */
static void forward(const double *w1, const double *b1, const double *w2, const double *b2, const double *x, double *h, double *p) {
    double z[OUT], m = -1e300, s = 0;
    for (int j = 0; j < HID; j++) { double a = b1[j]; for (int k = 0; k < IN; k++) a += x[k] * w1[k * HID + j]; h[j] = tanh(a); }
    for (int o = 0; o < OUT; o++) { z[o] = b2[o]; for (int j = 0; j < HID; j++) z[o] += h[j] * w2[j * OUT + o]; if (z[o] > m) m = z[o]; }
    for (int o = 0; o < OUT; o++) s += exp(z[o] - m);
    for (int o = 0; o < OUT; o++) p[o] = exp(z[o] - m) / s;
}

int main(void) {
    static double xtr[NTRAIN * IN], xte[NTEST * IN], w1[IN * HID], b1[HID], w2[HID * OUT], b2[OUT];
    static int ytr[NTRAIN], yte[NTEST];
    blobs(NTRAIN, xtr, ytr);
    blobs(NTEST, xte, yte);
    for (int i = 0; i < IN * HID; i++) w1[i] = 0.5 * nrand();
    for (int i = 0; i < HID * OUT; i++) w2[i] = 0.5 * nrand();
    for (int step = 0; step < 300; step++) {   /* full-batch gradient descent on cross-entropy */
        double g1[IN * HID] = {0}, gb1[HID] = {0}, g2[HID * OUT] = {0}, gb2[OUT] = {0}, h[HID], p[OUT];
        for (int i = 0; i < NTRAIN; i++) {
            forward(w1, b1, w2, b2, xtr + i * IN, h, p);
            double dz[OUT], dh[HID];
            for (int o = 0; o < OUT; o++) dz[o] = (p[o] - (o == ytr[i])) / NTRAIN;
            for (int j = 0; j < HID; j++) { dh[j] = 0; for (int o = 0; o < OUT; o++) { g2[j * OUT + o] += h[j] * dz[o]; dh[j] += w2[j * OUT + o] * dz[o]; } }
            for (int o = 0; o < OUT; o++) gb2[o] += dz[o];
            for (int j = 0; j < HID; j++) { double da = dh[j] * (1 - h[j] * h[j]); gb1[j] += da; for (int k = 0; k < IN; k++) g1[k * HID + j] += xtr[i * IN + k] * da; }
        }
        for (int i = 0; i < IN * HID; i++) w1[i] -= 0.5 * g1[i];
        for (int i = 0; i < HID; i++) b1[i] -= 0.5 * gb1[i];
        for (int i = 0; i < HID * OUT; i++) w2[i] -= 0.5 * g2[i];
        for (int i = 0; i < OUT; i++) b2[i] -= 0.5 * gb2[i];
    }

    lbk_ctx *ctx = lbk_ctx_create(NULL);
    int64_t d1[2] = {IN, HID}, d2[2] = {HID, OUT}, dh = HID, dout = OUT, dx[2] = {NTEST, IN};
    /* save the weights as .npy (f32), then load them back as a separate program would */
    const char *names[4] = {"mlp_w1.npy", "mlp_b1.npy", "mlp_w2.npy", "mlp_b2.npy"};
    lbk_tensor saved[4] = {lbk_cast(ctx, lbk_from_host(ctx, LBK_F64, 2, d1, w1), LBK_F32), lbk_cast(ctx, lbk_from_host(ctx, LBK_F64, 1, &dh, b1), LBK_F32),
                           lbk_cast(ctx, lbk_from_host(ctx, LBK_F64, 2, d2, w2), LBK_F32), lbk_cast(ctx, lbk_from_host(ctx, LBK_F64, 1, &dout, b2), LBK_F32)};
    lbk_tensor W[4];
    for (int k = 0; k < 4; k++) {
        if (lbk_save_npy(ctx, saved[k], names[k]) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
        W[k] = lbk_load_npy(ctx, names[k]);
        remove(names[k]);
    }
    float xf[NTEST * IN], prob[NTEST * OUT];
    for (int i = 0; i < NTEST * IN; i++) xf[i] = (float)xte[i];
    lbk_tensor x = lbk_from_host(ctx, LBK_F32, 2, dx, xf);
    lbk_tensor logits = lbk_add(ctx, lbk_matmul(ctx, lbk_tanh(ctx, lbk_add(ctx, lbk_matmul(ctx, x, W[0]), W[1])), W[2]), W[3]);
    lbk_tensor p = lbk_softmax(ctx, logits, -1);
    if (lbk_read(ctx, p, prob, sizeof prob) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
    int correct = 0;
    double worst = 0;
    for (int i = 0; i < NTEST; i++) {
        int best = 0;
        double h[HID], pr[OUT], w1f[IN * HID], b1f[HID], w2f[HID * OUT], b2f[OUT], xi[IN];
        for (int o = 1; o < OUT; o++) if (prob[i * OUT + o] > prob[i * OUT + best]) best = o;
        correct += best == yte[i];
        for (int k = 0; k < IN * HID; k++) w1f[k] = (float)w1[k];   /* the reference sees the f32 weights */
        for (int k = 0; k < HID; k++) b1f[k] = (float)b1[k];
        for (int k = 0; k < HID * OUT; k++) w2f[k] = (float)w2[k];
        for (int k = 0; k < OUT; k++) b2f[k] = (float)b2[k];
        for (int k = 0; k < IN; k++) xi[k] = xf[i * IN + k];
        forward(w1f, b1f, w2f, b2f, xi, h, pr);
        for (int o = 0; o < OUT; o++) if (fabs(pr[o] - prob[i * OUT + o]) > worst) worst = fabs(pr[o] - prob[i * OUT + o]);
    }
    double acc = (double)correct / NTEST;
    printf("MLP %d-%d-%d on %d test points: accuracy %.1f%% (worst probability error against float64: %.1e)\n", IN, HID, OUT, NTEST,
           100 * acc, worst);
    lbk_ctx_destroy(ctx);
    return acc > 0.9 && worst < 1e-5 ? 0 : 1;
}
