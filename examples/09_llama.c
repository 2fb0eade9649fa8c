/* 09_llama.c — a Llama from a safetensors file of bf16 weights, with a KV cache.

   RMSNorm, rotary position embeddings (lbk_rope, the half-split layout of GPT-NeoX and
   Llama), grouped-query attention (fewer key/value heads than query heads, handed to
   lbk_scaled_dot_product_attention as they are), SwiGLU MLPs, an untied output head.
   The weights stay bf16 in the mapped file; each matmul reads them as they are (bf16
   promotes to f32 against the f32 activations). The KV cache is written in place by
   lbk_slice_update at a position held in a 0-d parameter: the decode loop compiles once.

   Usage: 09_llama                                   the tiny random-weight checkpoint in
                                                     examples/data, checked against PyTorch
          09_llama model.safetensors [n_new] ids...   generate (Hugging Face Llama names;
                                                     n_head, n_kv_head, rope_theta and
                                                     rms_norm_eps from the file's metadata)
   Prints tokens/s; exits 1 when the logits or the greedy ids differ from PyTorch's.

   Build:  cc -O2 -I. $(pkg-config --cflags stb) examples/09_llama.c -o llama -lm -lpthread
*/
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct layer { lbk_tensor in_norm, wq, wk, wv, wo, post_norm, gate, up, down, kc, vc; } layer;
typedef struct model {
    lbk_ctx *ctx;
    lbk_weights *w;
    int64_t V, D, H, Hk, hd, L, P;
    double theta, eps;
    lbk_tensor embed, norm, head;
    layer *ly;
} model;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static lbk_tensor get(model *m, const char *name) {
    lbk_tensor t = lbk_weights_get(m->w, name);
    if (!t.id) { fprintf(stderr, "09_llama: %s\n", lbk_ctx_error(m->ctx)); exit(1); }
    return t;
}
static double meta(model *m, const char *key, double dflt) {
    const char *v = lbk_weights_meta(m->w, key);
    return v ? atof(v) : dflt;
}

static int load(model *m, const char *path, int64_t n_ctx) {
    char name[128];
    m->w = lbk_weights_open(m->ctx, path);
    if (!m->w) { fprintf(stderr, "09_llama: %s\n", lbk_ctx_error(m->ctx)); return 1; }
    m->embed = get(m, "model.embed_tokens.weight");
    m->norm = get(m, "model.norm.weight");
    m->head = lbk_weights_get(m->w, "lm_head.weight");
    if (!m->head.id) { lbk_ctx_clear_error(m->ctx); m->head = m->embed; }   /* tied */
    m->V = lbk_dim(m->ctx, m->embed, 0);
    m->D = lbk_dim(m->ctx, m->embed, 1);
    m->H = (int64_t)meta(m, "n_head", (double)(m->D / 128 ? m->D / 128 : 1));
    m->Hk = (int64_t)meta(m, "n_kv_head", (double)m->H);
    m->theta = meta(m, "rope_theta", 10000);
    m->eps = meta(m, "rms_norm_eps", 1e-5);
    m->hd = m->D / m->H;
    m->P = n_ctx;
    for (m->L = 0;; m->L++) {
        int found = 0;
        snprintf(name, sizeof name, "model.layers.%d.input_layernorm.weight", (int)m->L);
        for (int i = 0; i < lbk_weights_count(m->w) && !found; i++) found = strcmp(lbk_weights_name(m->w, i), name) == 0;
        if (!found) break;
    }
    m->ly = (layer *)calloc((size_t)m->L, sizeof *m->ly);
    for (int i = 0; i < m->L; i++) {
        layer *y = &m->ly[i];
        int64_t cd[3] = {m->Hk, m->P, m->hd};
#define W(field, suffix) (snprintf(name, sizeof name, "model.layers.%d." suffix, i), y->field = get(m, name))
        W(in_norm, "input_layernorm.weight"); W(wq, "self_attn.q_proj.weight"); W(wk, "self_attn.k_proj.weight");
        W(wv, "self_attn.v_proj.weight"); W(wo, "self_attn.o_proj.weight"); W(post_norm, "post_attention_layernorm.weight");
        W(gate, "mlp.gate_proj.weight"); W(up, "mlp.up_proj.weight"); W(down, "mlp.down_proj.weight");
#undef W
        y->kc = lbk_full(m->ctx, LBK_F32, 3, cd, 0);
        y->vc = lbk_full(m->ctx, LBK_F32, 3, cd, 0);
    }
    return lbk_ctx_result(m->ctx) != LBK_OK;
}

/* x @ w^T for a [out, in] weight of any float dtype (bf16 promotes to f32). */
static lbk_tensor proj(lbk_ctx *c, lbk_tensor x, lbk_tensor w) { return lbk_matmul(c, x, lbk_transpose(c, w, 0, 1)); }

static lbk_tensor forward(model *m, lbk_tensor ids, int64_t T, lbk_tensor pos, int all_rows) {
    lbk_ctx *c = m->ctx;
    int64_t qd[3] = {T, m->H, m->hd}, kd[3] = {T, m->Hk, m->hd}, td[2] = {T, m->D}, col[2] = {T, 1}, row[2] = {1, m->P};
    lbk_tensor positions = lbk_add(c, lbk_arange(c, LBK_I64, 0, (double)T, 1), pos);
    lbk_tensor x = lbk_cast(c, lbk_embedding(c, m->embed, ids), LBK_F32);
    lbk_tensor mask = lbk_le(c, lbk_reshape(c, lbk_arange(c, LBK_I64, 0, (double)m->P, 1), 2, row), lbk_reshape(c, positions, 2, col));
    for (int i = 0; i < m->L; i++) {
        layer *y = &m->ly[i];
        lbk_tensor a = lbk_rms_norm(c, x, 1, y->in_norm, m->eps), q, k, v, kc, vc, o, g;
        q = lbk_transpose(c, lbk_reshape(c, proj(c, a, y->wq), 3, qd), 0, 1);   /* [H, T, hd] */
        k = lbk_transpose(c, lbk_reshape(c, proj(c, a, y->wk), 3, kd), 0, 1);   /* [Hk, T, hd] */
        v = lbk_transpose(c, lbk_reshape(c, proj(c, a, y->wv), 3, kd), 0, 1);
        q = lbk_rope(c, q, positions, m->hd, m->theta, false);
        k = lbk_rope(c, k, positions, m->hd, m->theta, false);
        kc = lbk_slice_update(c, y->kc, 1, pos, k);
        vc = lbk_slice_update(c, y->vc, 1, pos, v);
        lbk_release(c, y->kc);
        lbk_release(c, y->vc);
        y->kc = kc;
        y->vc = vc;
        o = lbk_scaled_dot_product_attention(c, q, kc, vc, mask, false, 0);   /* H query heads over Hk cached heads */
        x = lbk_add(c, x, proj(c, lbk_reshape(c, lbk_transpose(c, o, 0, 1), 2, td), y->wo));
        a = lbk_rms_norm(c, x, 1, y->post_norm, m->eps);
        g = lbk_mul(c, lbk_silu(c, proj(c, a, y->gate)), proj(c, a, y->up));
        x = lbk_add(c, x, proj(c, g, y->down));
    }
    if (!all_rows) x = lbk_slice(c, x, 0, T - 1, T, 1);
    return proj(c, lbk_rms_norm(c, x, 1, m->norm, m->eps), m->head);
}

static lbk_tensor step(model *m, const int64_t *ids, int64_t T, int64_t pos, int all_rows, int64_t *next) {
    lbk_ctx *c = m->ctx;
    lbk_scope s = lbk_scope_begin(c);
    lbk_tensor keep[2 + 2 * 128], logits;
    int n = 0;
    int64_t rows;
    logits = forward(m, lbk_from_host(c, LBK_I64, 1, &T, ids), T, lbk_scalar(c, LBK_I64, (double)pos), all_rows);
    rows = lbk_dim(c, logits, 0);
    keep[n++] = logits;
    keep[n++] = lbk_argmax(c, lbk_reshape(c, lbk_slice(c, logits, 0, rows - 1, rows, 1), 1, &m->V), 0, false);
    for (int i = 0; i < m->L && i < 128; i++) { keep[n++] = m->ly[i].kc; keep[n++] = m->ly[i].vc; }
    if (lbk_sync(c, keep, n) != LBK_OK || lbk_read(c, keep[1], next, sizeof *next) != LBK_OK) {
        fprintf(stderr, "09_llama: %s\n", lbk_ctx_error(c));
        exit(1);
    }
    lbk_scope_end(c, s, keep, n);
    lbk_release(c, keep[1]);
    return logits;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "examples/data/llama_tiny.safetensors";
    int check = argc <= 1, bad = 0;
    int64_t ids[1024], n_ids = 0, n_new = 12, next, gen[1024];
    lbk_weights *ref = NULL;
    model m;
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    if (!ctx) return 1;
    memset(&m, 0, sizeof m);
    m.ctx = ctx;
    if (load(&m, path, check ? 32 : 512)) { fprintf(stderr, "09_llama: %s\n", lbk_ctx_error(ctx)); return 1; }
    if (check) {
        ref = lbk_weights_open(m.ctx, "examples/data/llama_tiny_ref.safetensors");
        if (!ref) { fprintf(stderr, "09_llama: %s\n", lbk_ctx_error(ctx)); return 1; }
        lbk_tensor p = lbk_weights_get(ref, "prompt");
        n_ids = lbk_numel(m.ctx, p);
        lbk_read(m.ctx, p, ids, sizeof(int64_t) * (size_t)n_ids);
    } else {
        if (argc > 2) n_new = atoll(argv[2]);
        for (int i = 3; i < argc && n_ids < 1024; i++) ids[n_ids++] = atoll(argv[i]);
        if (!n_ids) ids[n_ids++] = 1;   /* <s> */
    }
    if (n_ids + n_new > m.P) n_new = m.P - n_ids;
    printf("09_llama: %s: vocab %lld, width %lld, %lld query heads over %lld key/value heads, %lld layers, %s weights\n", path,
           (long long)m.V, (long long)m.D, (long long)m.H, (long long)m.Hk, (long long)m.L, lbk_dtype_name(lbk_type(m.ctx, m.embed)));
    double t0 = now();
    lbk_tensor logits = step(&m, ids, n_ids, 0, check, &next);
    double t1 = now();
    if (check) {
        int64_t n = lbk_numel(m.ctx, logits);
        float *got = (float *)malloc(sizeof(float) * (size_t)n), *want = (float *)malloc(sizeof(float) * (size_t)n);
        double worst = 0;
        lbk_read(m.ctx, logits, got, sizeof(float) * (size_t)n);
        lbk_read(m.ctx, lbk_weights_get(ref, "prefill_logits"), want, sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            double e = fabs((double)got[i] - want[i]) / (1 + fabs((double)want[i]));
            if (!(e <= worst)) worst = e;
        }
        printf("  %-22s worst error %.3g (tolerance 1e-4) %s\n", "prefill logits", worst, worst <= 1e-4 ? "ok" : "MISMATCH");
        bad |= !(worst <= 1e-4);
        free(got); free(want);
    }
    int64_t compiles0 = lbk_counter(m.ctx, "compile");
    double t2 = now();
    int64_t compiles1 = -1;   /* after the first decode step: every later step is served from the plan cache */
    for (int64_t k = 0; k < n_new; k++) {
        gen[k] = next;
        if (k + 1 == n_new) break;
        lbk_release(m.ctx, logits);
        logits = step(&m, &next, 1, n_ids + k, 0, &next);
        if (k == 0) compiles1 = lbk_counter(m.ctx, "compile");
    }
    double t3 = now();
    printf("  prefill %lld tokens %.2f ms; %lld decode steps %.2f ms (%.0f tokens/s); compiles during decode: %lld (all in its first step)\n  greedy:", (long long)n_ids,
           (t1 - t0) * 1e3, (long long)(n_new - 1), (t3 - t2) * 1e3, (double)(n_new - 1) / (t3 - t2 > 0 ? t3 - t2 : 1e-9),
           (long long)(lbk_counter(m.ctx, "compile") - compiles0));
    for (int64_t k = 0; k < n_new; k++) printf(" %lld", (long long)gen[k]);
    printf("\n");
    if (check) {
        int64_t want[64];
        lbk_tensor g = lbk_weights_get(ref, "greedy");
        int same = lbk_numel(m.ctx, g) == n_new && n_new <= 64;
        if (same) lbk_read(m.ctx, g, want, sizeof(int64_t) * (size_t)n_new);
        for (int64_t k = 0; same && k < n_new; k++) same = gen[k] == want[k];
        printf("  %-22s %s\n", "greedy ids", same ? "ok" : "MISMATCH");
        bad |= !same;
        if (compiles1 >= 0 && lbk_counter(m.ctx, "compile") != compiles1) { printf("  MISMATCH: a decode step after the first compiled\n"); bad = 1; }
        lbk_weights_close(ref);
    }
    lbk_weights_close(m.w);
    if (lbk_ctx_result(ctx) != LBK_OK) { fprintf(stderr, "09_llama: %s\n", lbk_ctx_error(ctx)); bad = 1; }
    free(m.ly);
    lbk_ctx_destroy(ctx);
    printf("09_llama: %s\n", bad ? "FAILED" : "ok");
    return bad;
}
