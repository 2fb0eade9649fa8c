/* 02_custom_backend.c — a complete lazybk backend in about 80 lines.

   "tiny" runs five f32 primitives itself: add and mul (same shapes, or with a 0-d
   scalar), exp, sum over every axis, and 2-d matmul. It declines everything else through
   supports_op, so a program that uses softmax, layer_norm and gelu still runs: lazybk
   decomposes those composites into primitives, and the primitives tiny declines (amax,
   sub, div, erf, ...) run on the cpu fallback, with data moved across the boundary.
   lbk_backend_check then compares every op tiny claims with the cpu reference.

   Build:  cc -O2 -I. $(pkg-config --cflags stb) examples/02_custom_backend.c -o custom_backend -lm -lpthread
*/
#ifndef TINY_NO_MAIN
#define LAZYBK_IMPLEMENTATION
#endif
#include "lazybk.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the backend (80 lines): data is a float array with its length in front ---- */
typedef struct tiny_data { int64_t n; float v[]; } tiny_data;

static lbk_result tiny_from_host(void *self, lbk_device dev, lbk_dtype dt, int nd, const int64_t *dims, const void *src,
                                 lbk_data **out) {
    int64_t n = 1;
    (void)self; (void)dev;
    if (dt != LBK_F32) return lbk_backend_error(LBK_ERR_DTYPE, -1, "tiny holds f32 only");
    for (int i = 0; i < nd; i++) n *= dims[i];
    tiny_data *d = malloc(sizeof *d + sizeof(float) * (size_t)n);
    if (!d) return LBK_ERR_OOM;
    d->n = n;
    if (n) memcpy(d->v, src, sizeof(float) * (size_t)n);
    *out = (lbk_data *)d;
    return LBK_OK;
}
static lbk_result tiny_to_host(void *self, lbk_data *d, void *dst, size_t bytes) {
    (void)self;
    memcpy(dst, ((tiny_data *)d)->v, bytes);
    return LBK_OK;
}
static void tiny_free(void *self, lbk_data *d) { (void)self; free(d); }

static bool tiny_supports(void *self, const lbk_graph *g, uint32_t i) {
    lbk_node n = lbk_graph_node(g, i);
    (void)self;
    if (n.n_inputs < 1 || n.n_inputs > 2 || n.dtype != LBK_F32) return false;
    lbk_node a = lbk_graph_node(g, n.inputs[0]), b = lbk_graph_node(g, n.inputs[n.n_inputs - 1]);
    if (a.dtype != LBK_F32 || b.dtype != LBK_F32) return false;
    int64_t o = lbk_node_numel(g, i);
    switch (n.op) {
    case LBK_OP_EXP: return true;
    case LBK_OP_SUM: return lbk_node_axes(g, i, NULL) == a.n_dims;
    case LBK_OP_MATMUL: return n.n_dims == 2;
    case LBK_OP_ADD: case LBK_OP_MUL:
        return (lbk_node_numel(g, n.inputs[0]) == o || a.n_dims == 0) && (lbk_node_numel(g, n.inputs[1]) == o || b.n_dims == 0);
    default: return false;
    }
}

/* The computation is the graph itself: lbk_graph_copy keeps the view beyond this call. */
static lbk_result tiny_compile(void *self, lbk_device dev, const lbk_graph *const *gs, int n, lbk_computation **out) {
    (void)self; (void)dev;
    for (int k = 0; k < n; k++)
        if (!(out[k] = (lbk_computation *)lbk_graph_copy(gs[k]))) return LBK_ERR_OOM;
    return LBK_OK;
}
static void tiny_comp_free(void *self, lbk_computation *c) { (void)self; lbk_graph_free((lbk_graph *)c); }

static lbk_result tiny_execute(void *self, lbk_computation *c, lbk_data *const *args, int n_args, lbk_device dev,
                               lbk_data **out, int cap, int *out_n) {
    const lbk_graph *g = (const lbk_graph *)c;
    uint32_t n = lbk_graph_size(g);
    float **v = calloc(n, sizeof *v);
    (void)self; (void)n_args; (void)cap;
    for (uint32_t i = 0; i < n; i++) {
        lbk_node nd = lbk_graph_node(g, i);
        int64_t m = lbk_node_numel(g, i);
        if (nd.op == LBK_OP_PARAM) { v[i] = ((tiny_data *)args[lbk_graph_param_index(g, i)])->v; continue; }
        const float *x = v[nd.inputs[0]], *y = v[nd.inputs[nd.n_inputs - 1]];
        int64_t nx = lbk_node_numel(g, nd.inputs[0]), ny = lbk_node_numel(g, nd.inputs[nd.n_inputs - 1]);
        v[i] = calloc((size_t)m + 1, sizeof(float));
        for (int64_t j = 0; j < m && nd.op != LBK_OP_MATMUL; j++) {
            float xj = x[nx == m ? j : 0], yj = y[ny == m ? j : 0];
            v[i][j] = nd.op == LBK_OP_EXP ? expf(xj) : nd.op == LBK_OP_ADD ? xj + yj : xj * yj;
        }
        if (nd.op == LBK_OP_SUM) { double s = 0; for (int64_t j = 0; j < nx; j++) s += x[j]; v[i][0] = (float)s; }
        for (int64_t r = 0; nd.op == LBK_OP_MATMUL && r < nd.dims[0]; r++)
            for (int64_t q = 0, K = nd.dims[0] ? nx / nd.dims[0] : 0; q < nd.dims[1]; q++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) s += (double)x[r * K + k] * y[k * nd.dims[1] + q];
                v[i][r * nd.dims[1] + q] = (float)s;
            }
    }
    for (uint32_t o = 0; o < lbk_graph_n_outputs(g); o++) {
        lbk_node nd = lbk_graph_node(g, lbk_graph_output(g, o));
        tiny_from_host(NULL, dev, LBK_F32, nd.n_dims, nd.dims, v[lbk_graph_output(g, o)], &out[o]);
    }
    for (uint32_t i = 0; i < n; i++) if (lbk_graph_node(g, i).op != LBK_OP_PARAM) free(v[i]);
    free(v);
    *out_n = (int)lbk_graph_n_outputs(g);
    return LBK_OK;
}

static lbk_backend_i tiny_backend(void) {
    lbk_backend_i b;
    memset(&b, 0, sizeof b);
    b.struct_size = sizeof b, b.abi_version = LBK_BACKEND_ABI, b.name = "tiny";
    b.data_from_host = tiny_from_host, b.data_to_host = tiny_to_host, b.data_free = tiny_free;
    b.compile = tiny_compile, b.computation_free = tiny_comp_free, b.execute_computation = tiny_execute;
    b.supports_op = tiny_supports;
    return b;
}
/* ---- end of the backend ---- */

#ifndef TINY_NO_MAIN
int main(void) {
    lbk_backend_i iface = tiny_backend();
    if (lbk_backend_register(&iface, NULL) != LBK_OK) { fprintf(stderr, "%s\n", lbk_last_error()); return 1; }
    lbk_ctx_desc desc = {0};
    desc.backend = "tiny";
    lbk_ctx *ctx = lbk_ctx_create(&desc);
    if (!ctx) { fprintf(stderr, "%s\n", lbk_last_error()); return 1; }

    /* a small block: layer_norm, a projection, gelu, softmax */
    int64_t dx[2] = {2, 4}, dw[2] = {4, 3};
    float x[8] = {1, 2, 3, 4, -1, 0, 1, 5}, w[12], y[6];
    for (int i = 0; i < 12; i++) w[i] = 0.1f * (float)((i * 7) % 12 - 6);
    lbk_tensor tx = lbk_from_host(ctx, LBK_F32, 2, dx, x), tw = lbk_from_host(ctx, LBK_F32, 2, dw, w);
    lbk_tensor h = lbk_layer_norm(ctx, tx, 1, (lbk_tensor){0}, (lbk_tensor){0}, 1e-5);
    lbk_tensor p = lbk_softmax(ctx, lbk_gelu(ctx, lbk_matmul(ctx, h, tw), false), -1);
    printf("plan:\n%s\n", lbk_backend_text(ctx, &p, 1));
    if (lbk_read(ctx, p, y, sizeof y) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
    printf("softmax(gelu(layer_norm(x) @ w)) on 'tiny':\n");
    for (int r = 0; r < 2; r++)
        printf("  [%.6f %.6f %.6f]  (row sum %.6f)\n", y[r * 3], y[r * 3 + 1], y[r * 3 + 2], y[r * 3] + y[r * 3 + 1] + y[r * 3 + 2]);
    printf("decompositions %lld, nodes on the cpu fallback %lld\n\n", (long long)lbk_counter(ctx, "decompositions"),
           (long long)lbk_counter(ctx, "fallback_nodes"));
    lbk_ctx_destroy(ctx);

    lbk_result r = lbk_backend_check("tiny", 1e-5, stdout);
    printf("lbk_backend_check: %s\n", lbk_result_str(r));
    return r == LBK_OK ? 0 : 1;
}
#endif
