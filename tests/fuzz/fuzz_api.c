/* Fuzz target: the input bytes are a program of lazybk calls on small tensors (creation,
   every op family with arbitrary dtypes, shapes, axes and permutations, syncs, reads with
   short buffers, releases, scopes, stale handles). Nothing may crash, leak or trip a
   sanitizer; every error must leave the context usable. Built with libFuzzer by
   `make fuzz`, and replayed over tests/fuzz/corpus_api by `make test`. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "lazybk.h"

typedef struct rd { const uint8_t *p; size_t n, at; } rd;
static unsigned nx(rd *r) { return r->at < r->n ? r->p[r->at++] : 0; }

int lbk_fuzz_api(const uint8_t *data, size_t size);
int lbk_fuzz_api(const uint8_t *data, size_t size) {
    static lbk_ctx *ctxs[2];   /* kept across inputs (fast); each input runs in a scope */
    static int runs;
    rd r = {data, size, 0};
    lbk_ctx *ctx;
    lbk_tensor t[16];
    lbk_scope scopes[4], whole;
    int n_scopes = 0, steps = 0, which = (int)(nx(&r) & 1);
    memset(t, 0, sizeof t);
    if (!data) {   /* the end: the kept contexts go */
        lbk_ctx_destroy(ctxs[0]); lbk_ctx_destroy(ctxs[1]);
        ctxs[0] = ctxs[1] = NULL;
        return 0;
    }
    if (!ctxs[which] || ++runs % 4096 == 0) {   /* and renewed now and then */
        lbk_ctx_desc d;
        memset(&d, 0, sizeof d);
        d.backend = which ? "cpu-reference" : "cpu";
        d.n_threads = 1;
        lbk_ctx_destroy(ctxs[which]);
        ctxs[which] = lbk_ctx_create(&d);
        if (!ctxs[which]) return 0;
    }
    ctx = ctxs[which];
    whole = lbk_scope_begin(ctx);
    while (r.at < r.n && steps++ < 64) {
        unsigned op = nx(&r) % 16, a = nx(&r) % 16, b = nx(&r) % 16, c = nx(&r);
        lbk_dtype dt = (lbk_dtype)(c % 6);   /* 0 is invalid on purpose */
        lbk_tensor out = {0};
        int64_t dims[4];
        int nd = (int)(nx(&r) % 5), k;
        for (k = 0; k < 4; k++) dims[k] = (int64_t)(nx(&r) % 5) - (nx(&r) == 255);   /* now and then -1 */
        switch (op) {
        case 0: {   /* data */
            double v[256];
            for (k = 0; k < 256; k++) v[k] = (double)((int)(k * 37 + c) % 17) - 8 + (c & 1) * 0.5;
            float f[256]; int32_t i32[256]; int64_t i64[256]; uint8_t bo[256];
            const void *src = v;
            for (k = 0; k < 256; k++) { f[k] = (float)v[k]; i32[k] = (int32_t)v[k]; i64[k] = (int64_t)v[k]; bo[k] = v[k] > 0; }
            if (dt == LBK_F32) src = f; else if (dt == LBK_I32) src = i32; else if (dt == LBK_I64) src = i64; else if (dt == LBK_BOOL) src = bo;
            out = lbk_from_host(ctx, dt, nd, dims, src);
            break;
        }
        case 1: out = (c & 2) ? lbk_scalar(ctx, dt, (double)(int8_t)c / 4) : lbk_full(ctx, dt, nd, dims, (double)(int8_t)c); break;
        case 2: {
            lbk_tensor (*u[])(lbk_ctx *, lbk_tensor) = {(lbk_neg), (lbk_abs), (lbk_exp), (lbk_log), (lbk_sqrt), (lbk_rsqrt), (lbk_sin), (lbk_cos),
                                                         (lbk_tanh), (lbk_sigmoid), (lbk_relu), (lbk_erf), (lbk_floor), (lbk_ceil), (lbk_reciprocal), (lbk_logical_not)};
            out = u[c % 16](ctx, t[a]);
            break;
        }
        case 3: {
            lbk_tensor (*bi[])(lbk_ctx *, lbk_tensor, lbk_tensor) = {(lbk_add), (lbk_sub), (lbk_mul), (lbk_div), (lbk_pow), (lbk_maximum), (lbk_minimum), (lbk_eq),
                                                                      (lbk_ne), (lbk_lt), (lbk_le), (lbk_gt), (lbk_ge), (lbk_logical_and), (lbk_logical_or), (lbk_matmul)};
            out = bi[c % 16](ctx, t[a], t[b]);
            break;
        }
        case 4: {
            int axes[4] = {(int)(dims[0]) - 1, (int)dims[1] - 2, (int)dims[2], (int)dims[3] - 3};
            bool keep = c & 1;
            switch ((c >> 1) % 6) {
            case 0: out = (lbk_sum)(ctx, t[a], nd % 3, axes, keep); break;
            case 1: out = (lbk_mean)(ctx, t[a], nd % 3, axes, keep); break;
            case 2: out = (lbk_amax)(ctx, t[a], nd % 3, axes, keep); break;
            case 3: out = (lbk_amin)(ctx, t[a], nd % 3, axes, keep); break;
            case 4: out = (lbk_argmax)(ctx, t[a], axes[0], keep); break;
            default: out = (lbk_var)(ctx, t[a], nd % 3, axes, (int)(c % 3) - 1, keep); break;
            }
            break;
        }
        case 5: {
            int perm[4] = {(int)dims[0] % 4, (int)dims[1] % 4, (int)dims[2] % 4, (int)dims[3] % 4};
            switch (c % 6) {
            case 0: out = (lbk_reshape)(ctx, t[a], nd, dims); break;
            case 1: out = (lbk_permute)(ctx, t[a], perm); break;
            case 2: out = (lbk_transpose)(ctx, t[a], perm[0] - 2, perm[1] - 1); break;
            case 3: out = (lbk_expand)(ctx, t[a], nd, dims); break;
            case 4: out = (lbk_slice)(ctx, t[a], perm[0] - 1, dims[1] - 1, dims[2] + 1, dims[3]); break;
            default: { lbk_tensor parts[3] = {t[a], t[b], t[(a + b) % 16]}; out = (lbk_concat)(ctx, parts, 1 + (int)(c % 3), perm[0] - 1); break; }
            }
            break;
        }
        case 6: {
            lbk_tensor none = {0};
            switch (c % 8) {
            case 0: out = (lbk_softmax)(ctx, t[a], (int)dims[0] - 2); break;
            case 1: out = (lbk_log_softmax)(ctx, t[a], (int)dims[0] - 2); break;
            case 2: out = (lbk_logsumexp)(ctx, t[a], (int)dims[0] - 2, c & 8); break;
            case 3: out = (lbk_layer_norm)(ctx, t[a], (int)dims[0], (c & 8) ? t[b] : none, (c & 16) ? t[(b + 1) % 16] : none, 1e-5); break;
            case 4: out = (lbk_rms_norm)(ctx, t[a], (int)dims[0], (c & 8) ? t[b] : none, 1e-6); break;
            case 5: out = (lbk_gelu)(ctx, t[a], c & 8); break;
            case 6: out = (lbk_silu)(ctx, t[a]); break;
            default: out = (lbk_linear)(ctx, t[a], t[b], (c & 8) ? t[(b + 1) % 16] : none); break;
            }
            break;
        }
        case 7: out = (lbk_where)(ctx, t[a], t[b], t[(a + b) % 16]); break;
        case 8: out = (lbk_cast)(ctx, t[a], dt); break;
        case 9: (void)lbk_sync(ctx, t + a, (int)(b % (17 - a))); break;
        case 10: {
            char buf[2048];
            int64_t want = lbk_numel(ctx, t[a]);
            size_t bytes = want > 0 ? (size_t)want * 8 : 8;
            if (bytes > sizeof buf) bytes = sizeof buf;
            (void)lbk_read(ctx, t[a], buf, (c & 1) ? bytes / 2 : bytes);
            (void)lbk_read_as(ctx, t[a], dt, buf, bytes);
            break;
        }
        case 11: lbk_release(ctx, t[a]); break;   /* leaves a stale handle in the table */
        case 12:
            if ((c & 1) && n_scopes < 4) scopes[n_scopes++] = lbk_scope_begin(ctx);
            else if (n_scopes > 0) lbk_scope_end(ctx, scopes[--n_scopes], t + a, (int)(b % (17 - a)));
            break;
        case 13: out = (c & 1) ? (lbk_rand)(ctx, dt, nd, dims) : (lbk_arange)(ctx, dt, (double)(int8_t)c, (double)dims[0] * 3, (double)dims[1] - 2); break;
        case 14: (void)lbk_ir_text(ctx, t + a, (int)(b % (17 - a))); (void)lbk_backend_text(ctx, t + a, 1); (void)lbk_ir_dot(ctx, t + a, 1); break;
        case 15: {   /* the ops of CNNs and decoders, parameters from the input (many refused) */
            int64_t st[2] = {dims[0], dims[1] + 1}, pd[2] = {dims[2] - 1, dims[3] % 2}, ex[2] = {dims[1] + 1, dims[3] + 1};
            lbk_tensor v = {0}, ix = {0}, none = {0};
            switch ((c >> 1) % 16) {
            case 0: out = (lbk_conv2d)(ctx, t[a], t[b], (c & 32) ? t[(a + b) % 16] : none, st, pd, ex, dims[0] + 1); break;
            case 1: out = (lbk_conv_transpose2d)(ctx, t[a], t[b], none, st, pd, ex, dims[1]); break;
            case 2: out = (lbk_conv1d)(ctx, t[a], t[b], none, dims[0], dims[1], dims[2], dims[3]); break;
            case 3: out = (lbk_max_pool2d)(ctx, t[a], ex, (c & 32) ? st : NULL, pd); break;
            case 4: out = (lbk_avg_pool2d)(ctx, t[a], ex, (c & 32) ? st : NULL, pd); break;
            case 5: out = (lbk_interpolate_nearest2d)(ctx, t[a], dims[0], dims[1] * 2); break;
            case 6: out = (lbk_cumsum)(ctx, t[a], (int)dims[0] - 2); break;
            case 7: out = (lbk_argsort)(ctx, t[a], (int)dims[0] - 2, c & 32); break;
            case 8:
                if (((c & 32) ? (lbk_sort)(ctx, t[a], (int)dims[0] - 2, c & 64, &v, &ix) : (lbk_topk)(ctx, t[a], dims[1], (int)dims[0] - 2, c & 64, &v, &ix)) == LBK_OK) {
                    out = v;
                    lbk_release(ctx, ix);
                }
                break;
            case 9: out = (lbk_multinomial)(ctx, t[a], dims[0]); break;
            case 10: out = (lbk_one_hot)(ctx, t[a], dims[0], dt); break;
            case 11: { int64_t pads[4] = {dims[0] - 2, dims[1] - 1, dims[2], dims[3] - 2}; out = (lbk_pad)(ctx, t[a], nd % 5, pads, (double)(int8_t)c); break; }
            case 12: out = (lbk_batch_norm)(ctx, t[a], t[b], t[(b + 1) % 16], (c & 32) ? t[(b + 2) % 16] : none, (c & 64) ? t[(b + 3) % 16] : none, 1e-5); break;
            case 13: out = (lbk_group_norm)(ctx, t[a], dims[0], (c & 32) ? t[b] : none, none, 1e-5); break;
            case 14: out = (lbk_rope)(ctx, t[a], t[b], dims[0] * 2, 10000, c & 32); break;
            default: out = (lbk_cross_entropy)(ctx, t[a], t[b], (c & 32) ? -100 : dims[0], (double)dims[1] / 4); break;
            }
            break;
        }
        default: lbk_ctx_clear_error(ctx); break;
        }
        if (out.id && lbk_numel(ctx, out) > 4096) { lbk_release(ctx, out); out.id = 0; }   /* keep tensors small: concat and expand
                                                                                     would grow them exponentially */
        if (out.id) t[b] = out;
    }
    {   /* the context still works */
        int64_t two = 2;
        float v[2] = {1, 2}, o[2];
        lbk_ctx_clear_error(ctx);
        if (lbk_read(ctx, (lbk_add)(ctx, (lbk_from_host)(ctx, LBK_F32, 1, &two, v), (lbk_scalar)(ctx, LBK_F32, 1)), o, sizeof o) != LBK_OK || o[1] != 3)
            abort();
    }
    while (n_scopes > 0) lbk_scope_end(ctx, scopes[--n_scopes], NULL, 0);
    lbk_scope_end(ctx, whole, NULL, 0);
    if (lbk_live_tensors(ctx) != 0) abort();   /* every handle of this input was released */
    return 0;
}

#ifdef LBK_FUZZ_MAIN
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return lbk_fuzz_api(data, size); }
#endif
