/* 08_gpt2.c — GPT-2 from a safetensors file, with a KV cache.

   Token and position embeddings (lbk_embedding, lbk_index_select), pre-norm blocks with
   causal self-attention over a KV cache written in place by lbk_slice_update at a position
   held in a 0-d parameter (so every decode step runs one compiled graph), tanh-GELU MLPs,
   tied output embeddings; greedy and top-k sampling (lbk_topk + lbk_multinomial).

   Usage: 08_gpt2                                  the tiny random-weight checkpoint in
                                                   examples/data, checked against PyTorch
          08_gpt2 model.safetensors [n_new] ids...  generate from token ids (a real GPT-2:
                                                   model.safetensors of huggingface.co/gpt2)
   The check compares the prefill logits, the logits of the last decode step and the 16
   greedy ids with those tools/make_model_fixtures.py computed in PyTorch, prints tokens/s
   and the number of compiles, and exits 1 on a mismatch.

   Build:  cc -O2 -I. $(pkg-config --cflags stb) examples/08_gpt2.c -o gpt2 -lm -lpthread
*/
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct layer {
    lbk_tensor ln1w, ln1b, attn_w, attn_b, proj_w, proj_b, ln2w, ln2b, fc_w, fc_b, mproj_w, mproj_b;
    lbk_tensor kc, vc;   /* [H, n_ctx, hd] caches */
} layer;
typedef struct model {
    lbk_ctx *ctx;
    lbk_weights *w;
    int64_t V, P, D, H, L;
    lbk_tensor wte, wpe, lnfw, lnfb;
    layer *ly;
} model;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A weight by its name, with or without the "transformer." prefix; computed in f32. */
static lbk_tensor get(model *m, const char *name) {
    char full[256];
    lbk_tensor t;
    snprintf(full, sizeof full, "transformer.%s", name);
    t = lbk_weights_get(m->w, name);
    if (!t.id) { lbk_ctx_clear_error(m->ctx); t = lbk_weights_get(m->w, full); }
    if (!t.id) { fprintf(stderr, "08_gpt2: %s\n", lbk_ctx_error(m->ctx)); exit(1); }
    if (lbk_type(m->ctx, t) != LBK_F32) {   /* f16/bf16 checkpoints: converted once */
        lbk_tensor c = lbk_cast(m->ctx, t, LBK_F32);
        lbk_release(m->ctx, t);
        t = c;
    }
    return t;
}

static int load(model *m, const char *path) {
    const char *nh;
    char name[96];
    m->w = lbk_weights_open(m->ctx, path);
    if (!m->w) { fprintf(stderr, "08_gpt2: %s\n", lbk_ctx_error(m->ctx)); return 1; }
    m->wte = get(m, "wte.weight");
    m->wpe = get(m, "wpe.weight");
    m->V = lbk_dim(m->ctx, m->wte, 0);
    m->D = lbk_dim(m->ctx, m->wte, 1);
    m->P = lbk_dim(m->ctx, m->wpe, 0);
    nh = lbk_weights_meta(m->w, "n_head");
    m->H = nh ? atoll(nh) : m->D / 64;   /* every released GPT-2 has 64-wide heads */
    for (m->L = 0;; m->L++) {
        int i, found = 0;
        snprintf(name, sizeof name, "h.%d.ln_1.weight", (int)m->L);
        for (i = 0; i < lbk_weights_count(m->w); i++) {
            const char *n = lbk_weights_name(m->w, i);
            if (strcmp(n, name) == 0 || (strncmp(n, "transformer.", 12) == 0 && strcmp(n + 12, name) == 0)) found = 1;
        }
        if (!found) break;
    }
    m->ly = (layer *)calloc((size_t)m->L, sizeof *m->ly);
    for (int i = 0; i < m->L; i++) {
        layer *y = &m->ly[i];
        int64_t cd[3] = {m->H, m->P, m->D / m->H};
#define W(field, suffix) (snprintf(name, sizeof name, "h.%d." suffix, i), y->field = get(m, name))
        W(ln1w, "ln_1.weight"); W(ln1b, "ln_1.bias"); W(attn_w, "attn.c_attn.weight"); W(attn_b, "attn.c_attn.bias");
        W(proj_w, "attn.c_proj.weight"); W(proj_b, "attn.c_proj.bias"); W(ln2w, "ln_2.weight"); W(ln2b, "ln_2.bias");
        W(fc_w, "mlp.c_fc.weight"); W(fc_b, "mlp.c_fc.bias"); W(mproj_w, "mlp.c_proj.weight"); W(mproj_b, "mlp.c_proj.bias");
#undef W
        y->kc = lbk_full(m->ctx, LBK_F32, 3, cd, 0);
        y->vc = lbk_full(m->ctx, LBK_F32, 3, cd, 0);
    }
    m->lnfw = get(m, "ln_f.weight");
    m->lnfb = get(m, "ln_f.bias");
    if (lbk_ctx_result(m->ctx) != LBK_OK) { fprintf(stderr, "08_gpt2: %s\n", lbk_ctx_error(m->ctx)); return 1; }
    return 0;
}

/* The logits [T, V] (all rows, or the last alone) of tokens ids [T] at positions
   pos .. pos + T - 1; the caches take their keys and values. */
static lbk_tensor forward(model *m, lbk_tensor ids, int64_t T, lbk_tensor pos, int all_rows) {
    lbk_ctx *c = m->ctx;
    int64_t D = m->D, H = m->H, hd = D / H, thd[3] = {T, H, hd}, td[2] = {T, D}, col[2] = {T, 1}, row[2] = {1, m->P};
    lbk_tensor positions = lbk_add(c, lbk_arange(c, LBK_I64, 0, (double)T, 1), pos);
    lbk_tensor x = lbk_add(c, lbk_embedding(c, m->wte, ids), lbk_index_select(c, m->wpe, 0, positions));
    /* key j is seen by query i where j <= pos + i */
    lbk_tensor mask = lbk_le(c, lbk_reshape(c, lbk_arange(c, LBK_I64, 0, (double)m->P, 1), 2, row), lbk_reshape(c, positions, 2, col));
    for (int i = 0; i < m->L; i++) {
        layer *y = &m->ly[i];
        lbk_tensor qkv[3], a = lbk_layer_norm(c, x, 1, y->ln1w, y->ln1b, 1e-5), kc, vc, o;
        lbk_split(c, lbk_add(c, lbk_matmul(c, a, y->attn_w), y->attn_b), -1, 3, NULL, qkv);
        for (int k = 0; k < 3; k++) qkv[k] = lbk_transpose(c, lbk_reshape(c, qkv[k], 3, thd), 0, 1);   /* [H, T, hd] */
        kc = lbk_slice_update(c, y->kc, 1, pos, qkv[1]);
        vc = lbk_slice_update(c, y->vc, 1, pos, qkv[2]);
        lbk_release(c, y->kc);   /* the old caches die: the cpu backend updates them in place */
        lbk_release(c, y->vc);
        y->kc = kc;
        y->vc = vc;
        o = lbk_scaled_dot_product_attention(c, qkv[0], kc, vc, mask, false, 0);
        o = lbk_reshape(c, lbk_transpose(c, o, 0, 1), 2, td);
        x = lbk_add(c, x, lbk_add(c, lbk_matmul(c, o, y->proj_w), y->proj_b));
        a = lbk_layer_norm(c, x, 1, y->ln2w, y->ln2b, 1e-5);
        a = lbk_gelu(c, lbk_add(c, lbk_matmul(c, a, y->fc_w), y->fc_b), true);
        x = lbk_add(c, x, lbk_add(c, lbk_matmul(c, a, y->mproj_w), y->mproj_b));
    }
    if (!all_rows) x = lbk_slice(c, x, 0, T - 1, T, 1);
    x = lbk_layer_norm(c, x, 1, m->lnfw, m->lnfb, 1e-5);
    return lbk_matmul(c, x, lbk_transpose(c, m->wte, 0, 1));
}

/* The last row of logits [T, V], as [V]. */
static lbk_tensor last_row(model *m, lbk_tensor logits) {
    int64_t T = lbk_dim(m->ctx, logits, 0);
    return lbk_reshape(m->ctx, lbk_slice(m->ctx, logits, 0, T - 1, T, 1), 1, &m->V);
}
/* One step: the logits of ids at pos and the greedy next token (*next), synced in one
   graph together with the caches; everything else made on the way is released. */
static lbk_tensor step(model *m, const int64_t *ids, int64_t T, int64_t pos, int all_rows, int64_t *next) {
    lbk_ctx *c = m->ctx;
    lbk_scope s = lbk_scope_begin(c);
    lbk_tensor keep[2 + 2 * 64], logits;
    int n = 0;
    logits = forward(m, lbk_from_host(c, LBK_I64, 1, &T, ids), T, lbk_scalar(c, LBK_I64, (double)pos), all_rows);
    keep[n++] = logits;
    keep[n++] = lbk_argmax(c, last_row(m, logits), 0, false);
    for (int i = 0; i < m->L && i < 64; i++) { keep[n++] = m->ly[i].kc; keep[n++] = m->ly[i].vc; }
    if (lbk_sync(c, keep, n) != LBK_OK || lbk_read(c, keep[1], next, sizeof *next) != LBK_OK) {
        fprintf(stderr, "08_gpt2: %s\n", lbk_ctx_error(c));
        exit(1);
    }
    lbk_scope_end(c, s, keep, n);
    lbk_release(c, keep[1]);
    return logits;
}

/* top-k sampling: a draw from softmax of the k largest logits. */
static int64_t sample_topk(model *m, lbk_tensor logits, int64_t k) {
    lbk_ctx *c = m->ctx;
    lbk_scope s = lbk_scope_begin(c);
    lbk_tensor v, ix, pick;
    int64_t r = -1;
    if (lbk_topk(c, last_row(m, logits), k, 0, true, &v, &ix) == LBK_OK) {
        pick = lbk_index_select(c, ix, 0, lbk_multinomial(c, lbk_softmax(c, v, 0), 1));
        lbk_read(c, pick, &r, sizeof r);
    }
    lbk_scope_end(c, s, NULL, 0);
    return r;
}

static int compare(const char *what, const float *got, const float *want, int64_t n, double tol) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]) / (1 + fabs((double)want[i]));
        if (!(e <= worst)) worst = e;
    }
    printf("  %-22s worst error %.3g (tolerance %g) %s\n", what, worst, tol, worst <= tol ? "ok" : "MISMATCH");
    return worst <= tol ? 0 : 1;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "examples/data/gpt2_tiny.safetensors";
    int check = argc <= 1, bad = 0;
    int64_t ids[1024], n_ids = 0, n_new = 16;
    model m;
    lbk_weights *ref = NULL;
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    if (!ctx) return 1;
    memset(&m, 0, sizeof m);
    m.ctx = ctx;
    if (load(&m, path)) return 1;
    if (check) {
        ref = lbk_weights_open(m.ctx, "examples/data/gpt2_tiny_ref.safetensors");
        if (!ref) { fprintf(stderr, "08_gpt2: %s\n", lbk_ctx_error(ctx)); return 1; }
        lbk_tensor p = lbk_weights_get(ref, "prompt");
        n_ids = lbk_numel(m.ctx, p);
        lbk_read(m.ctx, p, ids, sizeof(int64_t) * (size_t)n_ids);
    } else {
        if (argc > 2) n_new = atoll(argv[2]);
        for (int i = 3; i < argc && n_ids < 1024; i++) ids[n_ids++] = atoll(argv[i]);
        if (!n_ids) ids[n_ids++] = 50256;   /* GPT-2's <|endoftext|> */
    }
    if (n_ids + n_new > m.P) n_new = m.P - n_ids;
    printf("08_gpt2: %s: vocab %lld, context %lld, width %lld, %lld heads, %lld layers\n", path, (long long)m.V, (long long)m.P,
           (long long)m.D, (long long)m.H, (long long)m.L);

    /* prefill: the prompt at once */
    double t0 = now();
    int64_t next;
    lbk_tensor logits = step(&m, ids, n_ids, 0, check, &next);
    if (check) {
        int64_t n = lbk_numel(m.ctx, logits);
        float *got = (float *)malloc(sizeof(float) * (size_t)n), *want = (float *)malloc(sizeof(float) * (size_t)n);
        lbk_read(m.ctx, logits, got, sizeof(float) * (size_t)n);
        lbk_read(m.ctx, lbk_weights_get(ref, "prefill_logits"), want, sizeof(float) * (size_t)n);
        bad |= compare("prefill logits", got, want, n, 1e-4);
        free(got); free(want);
    }
    /* decode: one token a step, greedy */
    int64_t gen[1024], compiles0 = lbk_counter(m.ctx, "compile");
    double t1 = now();
    int64_t compiles1 = -1;   /* after the first decode step: every later step is served from the plan cache */
    for (int64_t k = 0; k < n_new; k++) {
        gen[k] = next;
        if (k + 1 == n_new) break;
        lbk_release(m.ctx, logits);
        logits = step(&m, &next, 1, n_ids + k, 0, &next);
        if (k == 0) compiles1 = lbk_counter(m.ctx, "compile");
    }
    double t2 = now();
    printf("  prefill %lld tokens %.2f ms; %lld decode steps %.2f ms (%.0f tokens/s); compiles during decode: %lld (all in its first step)\n", (long long)n_ids,
           (t1 - t0) * 1e3, (long long)(n_new - 1), (t2 - t1) * 1e3, (double)(n_new - 1) / (t2 - t1 > 0 ? t2 - t1 : 1e-9),
           (long long)(lbk_counter(m.ctx, "compile") - compiles0));
    printf("  greedy:");
    for (int64_t k = 0; k < n_new; k++) printf(" %lld", (long long)gen[k]);
    printf("\n");
    if (check) {
        int64_t want[64];
        float got_l[4096], want_l[4096];
        lbk_tensor g = lbk_weights_get(ref, "greedy");
        int same = lbk_numel(m.ctx, g) == n_new && n_new <= 64;
        lbk_read(m.ctx, g, want, sizeof(int64_t) * (size_t)n_new);
        for (int64_t k = 0; same && k < n_new; k++) same = gen[k] == want[k];
        printf("  %-22s %s\n", "greedy ids", same ? "ok" : "MISMATCH");
        bad |= !same;
        lbk_read(m.ctx, logits, got_l, sizeof(float) * (size_t)m.V);
        lbk_read(m.ctx, lbk_weights_get(ref, "last_logits"), want_l, sizeof(float) * (size_t)m.V);
        bad |= compare("last decode logits", got_l, want_l, m.V, 1e-4);
        if (compiles1 >= 0 && lbk_counter(m.ctx, "compile") != compiles1) { printf("  MISMATCH: a decode step after the first compiled\n"); bad = 1; }
        printf("  KV caches written in place: %lld buffers donated\n", (long long)lbk_counter(m.ctx, "donated"));
        if (strcmp(lbk_ctx_backend(ctx), "cpu") == 0 && lbk_counter(m.ctx, "donated") < 2 * m.L * (n_new - 1)) {
            printf("  MISMATCH: the caches were copied\n");   /* (backends split with the cpu fallback copy them: see Backends) */
            bad = 1;
        }
        /* top-k: every draw is one of the k largest */
        int64_t k5 = sample_topk(&m, logits, 5), top[5];
        lbk_tensor v, ix;
        lbk_topk(m.ctx, last_row(&m, logits), 5, 0, true, &v, &ix);
        lbk_read(m.ctx, ix, top, sizeof top);
        int in_top = 0;
        for (int i = 0; i < 5; i++) in_top |= top[i] == k5;
        printf("  top-5 sample %lld %s\n", (long long)k5, in_top ? "ok (among the 5 largest)" : "MISMATCH");
        bad |= !in_top;
        lbk_weights_close(ref);
    } else {
        printf("  top-40 sample of the next token: %lld\n", (long long)sample_topk(&m, logits, m.V < 40 ? m.V : 40));
    }
    lbk_weights_close(m.w);
    if (lbk_ctx_result(ctx) != LBK_OK) { fprintf(stderr, "08_gpt2: %s\n", lbk_ctx_error(ctx)); bad = 1; }
    free(m.ly);
    lbk_ctx_destroy(ctx);
    printf("08_gpt2: %s\n", bad ? "FAILED" : "ok");
    return bad;
}
