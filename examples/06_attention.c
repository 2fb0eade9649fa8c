/* 06_attention.c — a transformer block on lazybk, checked against float64 in this file.

   x [T, D] -> h = x + softmax(Q K^T / sqrt(D)) V Wo   (one head; Q = x Wq, K = x Wk, V = x Wv)
            -> y = h + gelu(layer_norm(h) W1 + b1) W2
   with weights from a fixed seed. Prints the worst error against the float64 loop, the
   plan the cpu backend compiled, and whether the result was cached on a second call.

   Build:  cc -O2 -I. $(pkg-config --cflags stb) examples/06_attention.c -o attention -lm -lpthread
*/
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { T = 12, D = 16, F = 32 };
static double x[T * D], wq[D * D], wk[D * D], wv[D * D], wo[D * D], w1[D * F], b1[F], w2[F * D];
static uint64_t g_seed = 7;
static double urand(void) { g_seed = g_seed * 6364136223846793005ULL + 1442695040888963407ULL; return (double)(g_seed >> 11) / 9007199254740992.0; }
static void fill(double *a, int n, double scale) { for (int i = 0; i < n; i++) a[i] = (float)((urand() * 2 - 1) * scale); }

static void mm(const double *a, const double *b, double *c, int n, int k, int m) {   /* c[n,m] = a[n,k] b[k,m] */
    for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) { double s = 0; for (int q = 0; q < k; q++) s += a[i * k + q] * b[q * m + j]; c[i * m + j] = s; }
}
static void reference(double *y) {
    static double q[T * D], k[T * D], v[T * D], a[T * T], o[T * D], h[T * D], n[T * D], u[T * F], z[T * D];
    mm(x, wq, q, T, D, D); mm(x, wk, k, T, D, D); mm(x, wv, v, T, D, D);
    for (int i = 0; i < T; i++) {
        double mx = -1e300, s = 0;
        for (int j = 0; j < T; j++) { double d = 0; for (int c = 0; c < D; c++) d += q[i * D + c] * k[j * D + c]; a[i * T + j] = d / sqrt((double)D); if (a[i * T + j] > mx) mx = a[i * T + j]; }
        for (int j = 0; j < T; j++) { a[i * T + j] = exp(a[i * T + j] - mx); s += a[i * T + j]; }
        for (int j = 0; j < T; j++) a[i * T + j] /= s;
    }
    mm(a, v, o, T, T, D);
    mm(o, wo, h, T, D, D);
    for (int i = 0; i < T * D; i++) h[i] += x[i];
    for (int i = 0; i < T; i++) {
        double mean = 0, var = 0;
        for (int c = 0; c < D; c++) mean += h[i * D + c] / D;
        for (int c = 0; c < D; c++) var += (h[i * D + c] - mean) * (h[i * D + c] - mean) / D;
        for (int c = 0; c < D; c++) n[i * D + c] = (h[i * D + c] - mean) / sqrt(var + 1e-5);
    }
    mm(n, w1, u, T, D, F);
    for (int i = 0; i < T * F; i++) { double t = u[i] + b1[i % F]; u[i] = 0.5 * t * (1 + erf(t / sqrt(2.0))); }
    mm(u, w2, z, T, F, D);
    for (int i = 0; i < T * D; i++) y[i] = h[i] + z[i];
}
static lbk_tensor T2(lbk_ctx *c, const double *v, int64_t r, int64_t k) {
    float f[D * F];
    int64_t d[2] = {r, k};
    for (int64_t i = 0; i < r * k; i++) f[i] = (float)v[i];
    return lbk_from_host(c, LBK_F32, 2, d, f);
}

int main(void) {
    fill(x, T * D, 1); fill(wq, D * D, 0.3); fill(wk, D * D, 0.3); fill(wv, D * D, 0.3); fill(wo, D * D, 0.3);
    fill(w1, D * F, 0.3); fill(b1, F, 0.1); fill(w2, F * D, 0.3);
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    lbk_tensor X = T2(ctx, x, T, D), Wq = T2(ctx, wq, D, D), Wk = T2(ctx, wk, D, D), Wv = T2(ctx, wv, D, D), Wo = T2(ctx, wo, D, D);
    lbk_tensor W1 = T2(ctx, w1, D, F), W2 = T2(ctx, w2, F, D), B1 = T2(ctx, b1, 1, F);
    float out[T * D];
    for (int call = 0; call < 2; call++) {
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor Q = lbk_matmul(ctx, X, Wq), K = lbk_matmul(ctx, X, Wk), V = lbk_matmul(ctx, X, Wv);
        lbk_tensor att = lbk_softmax(ctx, lbk_mul(ctx, lbk_matmul(ctx, Q, lbk_transpose(ctx, K, 0, 1)), lbk_scalar(ctx, LBK_F32, 1 / sqrt((double)D))), -1);
        lbk_tensor h = lbk_add(ctx, X, lbk_matmul(ctx, lbk_matmul(ctx, att, V), Wo));
        lbk_tensor ln = lbk_layer_norm(ctx, h, 1, (lbk_tensor){0}, (lbk_tensor){0}, 1e-5);
        lbk_tensor y = lbk_add(ctx, h, lbk_matmul(ctx, lbk_gelu(ctx, lbk_add(ctx, lbk_matmul(ctx, ln, W1), B1), false), W2));
        if (call == 0) printf("plan:\n%s\n", lbk_backend_text(ctx, &y, 1));
        if (lbk_read(ctx, y, out, sizeof out) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
        lbk_scope_end(ctx, s, NULL, 0);
    }
    double ref[T * D], worst = 0;
    reference(ref);
    for (int i = 0; i < T * D; i++) if (fabs(out[i] - ref[i]) > worst) worst = fabs(out[i] - ref[i]);
    printf("attention block [%d x %d]: worst error against float64 %.2e; compiled %lld time(s), cache hits %lld\n", T, D, worst,
           (long long)lbk_counter(ctx, "compile"), (long long)lbk_counter(ctx, "cache_hit"));
    lbk_ctx_destroy(ctx);
    return worst < 1e-4 ? 0 : 1;
}
