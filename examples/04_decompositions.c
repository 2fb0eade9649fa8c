/* 04_decompositions.c — composite ops, their decompositions, and your own.

   On "cpu-reference" every composite op reaches the backend decomposed into primitives
   (the built-in decompositions). Here gelu's decomposition is replaced by our own, the
   sigmoid form x * sigmoid(1.702 x); the program shows the graph as traced (one gelu node)
   and the plan the backend compiled (the primitives), counts the decompositions, checks
   both decompositions against float64, and restores the built-in.

   Build:  cc -O2 -I. $(pkg-config --cflags stb) examples/04_decompositions.c -o decompositions -lm -lpthread
*/
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <math.h>
#include <stdio.h>

/* The stack holds the schema's arguments in order: pop them in reverse, push the result. */
static lbk_result sigmoid_gelu(lbk_ctx *ctx, lbk_value *stack) {
    lbk_value *approx = lbk_list_pop(stack), *xv = lbk_list_pop(stack);
    lbk_tensor x = lbk_value_as_tensor(xv);
    lbk_tensor r = lbk_mul(ctx, x, lbk_sigmoid(ctx, lbk_mul(ctx, x, lbk_scalar(ctx, LBK_F64, 1.702))));
    lbk_value_free(approx);
    lbk_value_free(xv);
    return lbk_list_push(stack, lbk_value_tensor(r));
}

static double run(lbk_ctx *ctx, const double *x, double *y, int n) {
    int64_t d = n;
    lbk_tensor t = lbk_gelu(ctx, lbk_from_host(ctx, LBK_F64, 1, &d, x), false);
    if (lbk_read(ctx, t, y, sizeof(double) * (size_t)n) != LBK_OK) fprintf(stderr, "%s\n", lbk_ctx_error(ctx));
    return 0;
}

int main(void) {
    const char *schema = lbk_op_schema(LBK_OP_GELU);
    double x[7] = {-3, -1, -0.5, 0, 0.5, 1, 3}, y[7], worst_exact = 0, worst_sig = 0;
    lbk_ctx_desc d = {0};
    d.backend = "cpu-reference";
    lbk_ctx *ctx = lbk_ctx_create(&d);
    int64_t n7 = 7;
    lbk_tensor g = lbk_gelu(ctx, lbk_from_host(ctx, LBK_F64, 1, &n7, x), false);
    printf("schema: %s\ntraced:\n%s\ncompiled (decomposed):\n%s\n", schema, lbk_ir_text(ctx, &g, 1), lbk_backend_text(ctx, &g, 1));

    run(ctx, x, y, 7);   /* the built-in: 0.5 x (1 + erf(x / sqrt 2)) */
    for (int i = 0; i < 7; i++) worst_exact = fmax(worst_exact, fabs(y[i] - 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)))));
    if (lbk_decomp_register(schema, sigmoid_gelu) != LBK_OK) { fprintf(stderr, "%s\n", lbk_last_error()); return 1; }
    lbk_ctx_destroy(ctx);   /* a fresh context: its compile cache has not seen gelu yet */
    ctx = lbk_ctx_create(&d);
    run(ctx, x, y, 7);   /* ours */
    for (int i = 0; i < 7; i++) worst_sig = fmax(worst_sig, fabs(y[i] - x[i] / (1 + exp(-1.702 * x[i]))));
    printf("gelu(-1) with our decomposition: %.6f (exact gelu: %.6f)\n", y[1], 0.5 * -1 * (1 + erf(-1 / sqrt(2.0))));
    printf("decompositions applied in this context: %lld\n", (long long)lbk_counter(ctx, "decompositions"));
    lbk_decomp_register(schema, NULL);   /* the built-in again */
    printf("worst error: built-in %.1e, ours %.1e (each against its own float64 formula)\n", worst_exact, worst_sig);
    lbk_ctx_destroy(ctx);
    return worst_exact < 1e-12 && worst_sig < 1e-12 ? 0 : 1;
}
