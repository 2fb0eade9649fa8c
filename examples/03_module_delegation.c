/* 03_module_delegation.c — ahead-of-time delegation: trace a model with a child, lower the
   model and load it back, lower the child alone to another backend and put it back, and
   see a bad input refused with the method's signature.

   Model.forward(x[8,4]) = softmax(relu(encoder(x)) @ head), Encoder.forward(x) = x @ w + b.
   The encoder is lowered to "cpu-reference" (its own context, data through the host) and
   put back; the parent still runs on "cpu". The result is checked against a float64 loop.

   Build:  cc -O2 -I. $(pkg-config --cflags stb) examples/03_module_delegation.c -o module_delegation -lm -lpthread
*/
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <math.h>
#include <stdio.h>

enum { N = 8, D = 4, H = 5, C = 3 };
static double w[D * H], b[H], head[H * C], x[N * D];

static lbk_tensor T(lbk_ctx *ctx, int nd, const int64_t *dims, const double *v, int n) {
    float f[64];
    for (int i = 0; i < n; i++) f[i] = (float)v[i];
    return lbk_from_host(ctx, LBK_F32, nd, dims, f);
}

int main(void) {
    for (int i = 0; i < D * H; i++) w[i] = sin(i * 0.7);
    for (int i = 0; i < H; i++) b[i] = 0.1 * i - 0.2;
    for (int i = 0; i < H * C; i++) head[i] = cos(i * 1.3);
    for (int i = 0; i < N * D; i++) x[i] = (float)sin(i * 0.37) * 2;
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    int64_t xd[2] = {N, D}, wd[2] = {D, H}, bd = H, hd[2] = {H, C};
    const int64_t *in_dims[1] = {xd};
    int in_nd[1] = {2};
    lbk_dtype in_dt[1] = {LBK_F32};

    /* trace the child, then the parent calling it */
    lbk_module *enc = lbk_module_create(ctx, "Encoder"), *model = lbk_module_create(ctx, "Model");
    lbk_tensor in, h, y;
    lbk_method_begin(enc, "forward", 1, in_dt, in_nd, in_dims, &in);
    h = lbk_add(ctx, lbk_matmul(ctx, in, T(ctx, 2, wd, w, D * H)), T(ctx, 1, &bd, b, H));
    lbk_method_end(enc, &h, 1);
    lbk_module_add_child(model, "encoder", enc);
    lbk_method_begin(model, "forward", 1, in_dt, in_nd, in_dims, &in);
    lbk_module_call(enc, "forward", &in, 1, &h, 1);
    y = lbk_softmax(ctx, lbk_matmul(ctx, lbk_relu(ctx, h), T(ctx, 2, hd, head, H * C)), -1);
    lbk_method_end(model, &y, 1);

    /* save the model (lowered to this context's backend, "cpu") and load it back */
    if (lbk_module_save(model, "module_delegation.lbkm") != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
    lbk_module *loaded = lbk_module_load(ctx, "module_delegation.lbkm");
    if (!loaded) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
    remove("module_delegation.lbkm");

    /* selective lowering: the encoder alone goes to "cpu-reference" */
    lbk_value *spec = lbk_value_dict();
    lbk_dict_set(spec, "forward", lbk_value_dict());
    lbk_module *low = lbk_to_backend(lbk_module_child(model, "encoder"), "cpu-reference", spec);
    if (!low || lbk_module_replace_child(model, "encoder", low) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }

    float got[2][N * C];
    lbk_module *runs[2] = {model, loaded};
    for (int k = 0; k < 2; k++) {
        lbk_tensor xt = T(ctx, 2, xd, x, N * D), out;
        if (lbk_module_run(runs[k], "forward", &xt, 1, &out, 1) != LBK_OK || lbk_read(ctx, out, got[k], sizeof got[k]) != LBK_OK) {
            fprintf(stderr, "%s\n", lbk_ctx_error(ctx));
            return 1;
        }
    }
    /* the float64 reference */
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double hr[H], z[C], mx = -1e300, s = 0;
        for (int j = 0; j < H; j++) {
            hr[j] = b[j];
            for (int k = 0; k < D; k++) hr[j] += (double)(float)x[i * D + k] * (double)(float)w[k * H + j];
            hr[j] = hr[j] > 0 ? hr[j] : 0;
        }
        for (int c = 0; c < C; c++) {
            z[c] = 0;
            for (int j = 0; j < H; j++) z[c] += hr[j] * (double)(float)head[j * C + c];
            if (z[c] > mx) mx = z[c];
        }
        for (int c = 0; c < C; c++) s += exp(z[c] - mx);
        for (int c = 0; c < C; c++)
            for (int k = 0; k < 2; k++) {
                double e = fabs(got[k][i * C + c] - exp(z[c] - mx) / s);
                if (e > worst) worst = e;
            }
    }
    printf("Model (encoder lowered to %s) and the saved-and-loaded model: worst error %.2e against float64\n",
           lbk_module_backend(lbk_module_child(model, "encoder")), worst);
    printf("row 0: %.5f %.5f %.5f\n", got[0][0], got[0][1], got[0][2]);

    /* an error at a node names the module hierarchy and the traced line */
    int64_t bad[2] = {N + 1, D};
    lbk_tensor wrong = lbk_full(ctx, LBK_F32, 2, bad, 0), out;
    if (lbk_module_run(model, "forward", &wrong, 1, &out, 1) != LBK_OK) printf("refused as expected: %s\n", lbk_ctx_error(ctx));

    lbk_value_free(spec);
    lbk_module_destroy(loaded);
    lbk_module_destroy(model);
    lbk_ctx_destroy(ctx);
    return worst < 1e-5 ? 0 : 1;
}
