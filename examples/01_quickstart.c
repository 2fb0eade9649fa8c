/* 01_quickstart.c — the smallest complete lazybk program.

   Builds y = exp(x * 0.5) + softplus-like log(1 + exp(x)) on a 2x3 matrix, reads it back,
   then shows the recorded graph (lbk_ir_text), the cpu backend's plan, and the metrics,
   and writes the graph's picture (Graphviz DOT) to lazybk_graph.dot.
   The same graph shape with a new scalar value reuses the compiled computation.

   Build:  cc -O2 -I. $(pkg-config --cflags stb) examples/01_quickstart.c -o quickstart -lm -lpthread
*/
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"

int main(void) {
    lbk_ctx *ctx = lbk_ctx_create(NULL);   /* backend: $LAZYBK_BACKEND, else "cpu" */
    if (!ctx) {
        fprintf(stderr, "lbk_ctx_create: %s\n", lbk_last_error());
        return 1;
    }
    const int64_t dims[2] = {2, 3};
    const float host[6] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 2.0f};
    lbk_tensor x = lbk_from_host(ctx, LBK_F32, 2, dims, host);

    /* nothing runs yet: each call records a node */
    lbk_tensor half = lbk_scalar(ctx, LBK_F32, 0.5);
    lbk_tensor a = lbk_exp(ctx, lbk_mul(ctx, x, half));
    lbk_tensor b = lbk_log(ctx, lbk_add(ctx, lbk_scalar(ctx, LBK_F32, 1.0), lbk_exp(ctx, x)));
    lbk_tensor y = lbk_add(ctx, a, b);
    lbk_tensor total = lbk_sum(ctx, y, 0, NULL, false);

    printf("graph:\n%s\n", lbk_ir_text(ctx, (lbk_tensor[]){y, total}, 2));
    printf("plan:\n%s\n", lbk_backend_text(ctx, (lbk_tensor[]){y, total}, 2));
    {   /* the picture: fused groups are drawn as clusters */
        FILE *f = fopen("lazybk_graph.dot", "w");
        if (f) {
            fputs(lbk_ir_dot(ctx, (lbk_tensor[]){y, total}, 2), f);
            fclose(f);
            printf("wrote lazybk_graph.dot (dot -Tpng lazybk_graph.dot -o graph.png)\n\n");
        }
    }

    float out[6], sum = 0;
    if (lbk_sync(ctx, (lbk_tensor[]){y, total}, 2) != LBK_OK ||   /* one graph, two outputs */
        lbk_read(ctx, y, out, sizeof out) != LBK_OK || lbk_read(ctx, total, &sum, sizeof sum) != LBK_OK) {
        fprintf(stderr, "error: %s\n", lbk_ctx_error(ctx));
        lbk_ctx_destroy(ctx);
        return 1;
    }
    printf("y = exp(x/2) + log(1 + exp(x)):\n");
    for (int i = 0; i < 2; i++) printf("  [% .6f % .6f % .6f]\n", out[i * 3], out[i * 3 + 1], out[i * 3 + 2]);
    printf("sum(y) = %.6f\n\n", sum);

    /* A different scalar: the graph's shape is the same, so the cache serves it. */
    lbk_scope s = lbk_scope_begin(ctx);
    lbk_tensor z = lbk_exp(ctx, lbk_mul(ctx, x, lbk_scalar(ctx, LBK_F32, 0.25)));
    lbk_tensor z2 = lbk_add(ctx, z, lbk_log(ctx, lbk_add(ctx, lbk_scalar(ctx, LBK_F32, 1.0), lbk_exp(ctx, x))));
    lbk_tensor zt = lbk_sum(ctx, z2, 0, NULL, false);
    if (lbk_sync(ctx, (lbk_tensor[]){z2, zt}, 2) != LBK_OK) fprintf(stderr, "error: %s\n", lbk_ctx_error(ctx));
    lbk_read(ctx, zt, &sum, sizeof sum);
    printf("with 0.25 instead of 0.5: sum = %.6f (compiled %lld time(s), cache hits %lld)\n\n", sum,
           (long long)lbk_counter(ctx, "compile"), (long long)lbk_counter(ctx, "cache_hit"));
    lbk_scope_end(ctx, s, NULL, 0);

    /* Errors are values: a bad op returns {0} and the context says what and where. */
    lbk_tensor bad = lbk_matmul(ctx, x, x);
    if (!bad.id) printf("expected error: %s\n\n", lbk_ctx_error(ctx));
    lbk_ctx_clear_error(ctx);

    printf("metrics:\n%s", lbk_metrics_report(ctx));
    lbk_ctx_destroy(ctx);
    return 0;
}
