/* Differential fuzzing: random programs of lazybk ops run on the cpu fast path, on
   cpu-reference and (when the cuda backend is compiled in and a device, real or the host
   emulation of tests/cuda/fake, is there) on cuda, and must agree: the same calls fail with
   the same result codes, and every tensor left reads back the same values (to a tolerance
   per dtype; NaN where NaN, infinities with their sign, integers exactly). Shapes include
   zero-size and size-1 dims and sizes past 2^63 elements or size_t bytes. A disagreement is
   shrunk (steps removed while it persists) and printed as the smallest program found.

   usage: fuzz_diff [programs [first_seed]]   (default 300 programs from seed 1)
   `make test` runs a short run; `make fuzz-diff` a long one (FUZZ_DIFF_N, FUZZ_DIFF_SEED). */
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define MAX_STEPS 40
#define MAX_NUMEL 4096          /* what the programs compute stays small */

enum { K_NOP = -1, K_DATA, K_FULL, K_SCALAR, K_ARANGE, K_UNARY, K_BINARY, K_WHERE, K_CAST, K_REDUCE, K_ARGMAX, K_RESHAPE, K_PERMUTE,
       K_EXPAND, K_SLICE, K_CONCAT, K_MATMUL, K_COMPOSITE, K_HUGE, K_INDEX, K_INDEXED, K_WINDOW, K_COUNT };
static const char *const k_names[K_COUNT] = {"data", "full", "scalar", "arange", "unary", "binary", "where", "cast", "reduce",
                                             "argmax", "reshape", "permute", "expand", "slice", "concat", "matmul", "composite",
                                             "huge", "index_select", "indexed", "window"};

/* One step: its kind, operands (earlier steps; a step that made no value stands for the
   nearest earlier one that did) and parameters. A step makes at most one value; K_NOP
   (a step the shrinker removed) none. */
typedef struct step {
    int kind, sub, a, b, c;
    lbk_dtype dt;
    int nd, n_axes, axes[4];
    int64_t dims[5];
    bool keep;
    double x;
    uint64_t seed;
} step;
typedef struct program { int n; step s[MAX_STEPS]; } program;

static uint64_t rng_next(uint64_t *s) {   /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static int rng_int(uint64_t *s, int n) { return (int)(rng_next(s) % (uint64_t)n); }

static const lbk_dtype k_dtypes[] = {LBK_F32, LBK_F32, LBK_F32, LBK_F64, LBK_F64, LBK_I32, LBK_I64, LBK_BOOL, LBK_F16, LBK_BF16, LBK_I8, LBK_U8};
typedef lbk_tensor (*un_fn)(lbk_ctx *, lbk_tensor);
static lbk_tensor fd_leaky_relu(lbk_ctx *ctx, lbk_tensor t) { return (lbk_leaky_relu)(ctx, t, 0.125); }
static lbk_tensor fd_elu(lbk_ctx *ctx, lbk_tensor t) { return (lbk_elu)(ctx, t, 0.5); }
typedef lbk_tensor (*bin_fn)(lbk_ctx *, lbk_tensor, lbk_tensor);
static const un_fn k_un[] = {(lbk_neg), (lbk_abs), (lbk_exp), (lbk_log), (lbk_sqrt), (lbk_rsqrt), (lbk_sin), (lbk_cos), (lbk_tanh),
                             (lbk_sigmoid), (lbk_relu), (lbk_erf), (lbk_floor), (lbk_ceil), (lbk_reciprocal), (lbk_logical_not),
                             (lbk_silu), (lbk_softplus), fd_leaky_relu, (lbk_hardswish), fd_elu};
static const char *const k_un_names[] = {"neg", "abs", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu",
                                         "erf", "floor", "ceil", "reciprocal", "logical_not", "silu", "softplus", "leaky_relu",
                                         "hardswish", "elu"};
static const bin_fn k_bin[] = {(lbk_add), (lbk_sub), (lbk_mul), (lbk_div), (lbk_pow), (lbk_maximum), (lbk_minimum), (lbk_eq),
                               (lbk_ne), (lbk_lt), (lbk_le), (lbk_gt), (lbk_ge), (lbk_logical_and), (lbk_logical_or)};
static const char *const k_bin_names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt",
                                          "ge", "logical_and", "logical_or"};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* A small dim: zero-size and size-1 dims are frequent. */
static int64_t small_dim(uint64_t *s) {
    static const int64_t d[] = {0, 1, 1, 1, 2, 2, 3, 3, 4, 5};
    return d[rng_int(s, COUNT(d))];
}

/* The shape of value v in ctx (for generating steps that fit it). */
static int shape_of(lbk_ctx *ctx, lbk_tensor t, int64_t *dims) {   /* at most its first 4 dims (the steps' arrays) */
    int nd = lbk_ndim(ctx, t), k;
    if (nd > 4) nd = 4;
    for (k = 0; k < nd; k++) dims[k] = lbk_dim(ctx, t, k);
    return nd;
}

/* ---- running a program ---- */
typedef struct run {
    lbk_ctx *ctx;
    lbk_tensor v[MAX_STEPS];     /* by step: its value, or {0} */
    int at;                      /* the step running */
    lbk_result res[MAX_STEPS];   /* each step's outcome (LBK_OK, or the error it recorded) */
} run;

/* The value of step i (< the running one), or of the nearest earlier step with one. */
static int resolve(const run *r, int i) {
    if (i >= r->at) i = r->at - 1;
    while (i >= 0 && !r->v[i].id) i--;
    return i;
}
static lbk_tensor pick(const run *r, int i) { int j = resolve(r, i); return j >= 0 ? r->v[j] : (lbk_tensor){0}; }

static void host_data(const step *st, int64_t n, void *out) {
    uint64_t s = st->seed;
    for (int64_t i = 0; i < n; i++) {
        double v = (double)rng_int(&s, 17) - 8 + (rng_int(&s, 4) == 0 ? 0.5 : 0);
        if (rng_int(&s, 40) == 0) v = rng_int(&s, 2) ? NAN : (rng_int(&s, 2) ? INFINITY : -INFINITY);
        if (!lbk_dtype_is_float(st->dt) && !isfinite(v)) v = 3;
        if (st->dt == LBK_BOOL) v = v > 0;
        lbk_store_f64(st->dt, out, i, v);   /* every dtype through its row's converter (u8 saturates at 0) */
    }
}

/* An i64 tensor of n_dims dims whose values lie in [0, bound), from the step's seed; with
   keep set, one in eight is given one value out of range (bound, or -1). */
static lbk_tensor index_data(lbk_ctx *ctx, const step *st, int n_dims, const int64_t *dims, int64_t bound) {
    uint64_t s = st->seed ^ 0x5bd1e995u;
    int64_t n = 1, v[MAX_NUMEL];
    for (int k = 0; k < n_dims; k++) n *= dims[k];
    if (n > MAX_NUMEL) n = 0;
    for (int64_t i = 0; i < n; i++) v[i] = bound > 0 ? (int64_t)(rng_next(&s) % (uint64_t)bound) : 0;
    if (n && st->keep && rng_int(&s, 8) == 0) v[rng_int(&s, (int)n)] = rng_int(&s, 2) ? bound : -1;
    return (lbk_from_host)(ctx, LBK_I64, n_dims, dims, n ? v : NULL);
}
/* gather, scatter_add, index_add, slice_dyn, slice_update over a along axes[0], their
   indices or start made to fit a (sometimes out of range), src a itself or a slice of it. */
static lbk_tensor exec_indexed(lbk_ctx *ctx, const step *st, lbk_tensor a) {
    int nd = a.id ? lbk_ndim(ctx, a) : 0, ax = st->axes[0], k;
    int64_t d[8], len;
    if (!a.id || nd == 0) return (lbk_gather)(ctx, a, ax, a);   /* refused alike */
    for (k = 0; k < nd && k < 8; k++) d[k] = lbk_dim(ctx, a, k);
    ax = ((ax % nd) + nd) % nd;
    len = st->dims[0] < d[ax] ? st->dims[0] : d[ax];
    switch (st->sub) {
    case 0: { int64_t e[8]; memcpy(e, d, sizeof e); e[ax] = st->dims[0]; return (lbk_gather)(ctx, a, st->axes[0], index_data(ctx, st, nd, e, d[ax])); }
    case 1: { int64_t e[8]; memcpy(e, d, sizeof e); e[ax] = len; return (lbk_scatter_add)(ctx, a, st->axes[0], index_data(ctx, st, nd, e, d[ax]), a); }
    case 2: return (lbk_index_add)(ctx, a, st->axes[0], index_data(ctx, st, 1, &d[ax], d[ax]), a);
    default: {
        uint64_t s = st->seed;
        int64_t start = (int64_t)rng_int(&s, (int)(d[ax] - len + 3)) - 1;   /* -1 .. D - len + 1: sometimes out */
        if (!st->keep && (start < 0 || start > d[ax] - len)) start = 0;
        if (st->sub == 3) return (lbk_slice_dyn)(ctx, a, st->axes[0], (lbk_scalar)(ctx, LBK_I64, (double)start), len);
        return (lbk_slice_update)(ctx, a, st->axes[0], (lbk_scalar)(ctx, LBK_I64, (double)start), (lbk_slice)(ctx, a, ax, 0, len, 1));
    }
    }
}

/* The ops of CNNs and decoders over a (made 4-d NCHW where a window needs it): conv2d and
   conv_transpose2d with weights from sin(arange), the pools, nearest resizing, cumsum,
   argsort, sort, topk, batch_norm, group_norm, rope, cross_entropy, one_hot, pad. Their
   small integer parameters come from the step's seed; many draws are refused alike. */
enum { W_COUNT = 15 };
static lbk_tensor exec_window(lbk_ctx *ctx, const step *st, lbk_tensor a, lbk_tensor b) {
    uint64_t s = st->seed;
    int nd = a.id ? lbk_ndim(ctx, a) : 0, k;
    int64_t d[8] = {1, 1, 1, 1, 1, 1, 1, 1}, x4[4], st2[2], pd2[2], ex2[2], n_el = 1;
    lbk_tensor none = {0}, v, ix;
    lbk_dtype dt = a.id ? lbk_type(ctx, a) : LBK_F32;
    for (k = 0; k < nd && k < 8; k++) { d[k] = lbk_dim(ctx, a, k); n_el *= d[k]; }
    /* a as [N, C, H, W]: its last three dims (ones in front) */
    for (k = 0; k < 4; k++) x4[k] = k - (4 - nd) >= 0 && nd <= 4 ? d[k - (4 - nd)] : 1;
    if (nd > 4) { x4[0] = n_el / (d[nd - 1] * d[nd - 2] * (d[nd - 3] ? d[nd - 3] : 1) + (n_el == 0)); x4[1] = d[nd - 3]; x4[2] = d[nd - 2]; x4[3] = d[nd - 1]; }
    lbk_tensor a4 = (lbk_reshape)(ctx, a, 4, x4);
    for (k = 0; k < 2; k++) { st2[k] = 1 + rng_int(&s, 2); pd2[k] = rng_int(&s, 2); ex2[k] = 1 + rng_int(&s, 2); }
    switch (st->sub) {
    case 0: case 1: {   /* conv2d, conv_transpose2d */
        int64_t C = x4[1], g = (C > 1 && rng_int(&s, 2)) ? C : 1, og = 1 + rng_int(&s, 3), kd[2] = {1 + rng_int(&s, 3), 1 + rng_int(&s, 3)};
        int64_t wd[4] = {st->sub ? C : og * g, st->sub ? og : (g ? C / g : 0), kd[0], kd[1]}, wn = wd[0] * wd[1] * wd[2] * wd[3], bd = og * g;
        lbk_dtype wt = lbk_dtype_is_float(dt) ? dt : LBK_F32;
        lbk_tensor w = (lbk_reshape)(ctx, (lbk_cast)(ctx, (lbk_sin)(ctx, (lbk_mul)(ctx, (lbk_arange)(ctx, LBK_F64, 0, (double)wn, 1), (lbk_scalar)(ctx, LBK_F64, 0.7))), wt), 4, wd);
        lbk_tensor bias = st->keep ? (lbk_full)(ctx, wt, 1, &bd, 0.25) : none;
        if (st->sub == 0) return (lbk_conv2d)(ctx, a4, w, bias, st2, pd2, ex2, g);
        for (k = 0; k < 2; k++) ex2[k] = rng_int(&s, (int)st2[k]);
        return (lbk_conv_transpose2d)(ctx, a4, w, bias, st2, pd2, ex2, g);
    }
    case 2: case 3: {   /* max_pool2d, avg_pool2d */
        int64_t kd[2] = {1 + rng_int(&s, 3), 1 + rng_int(&s, 3)};
        for (k = 0; k < 2; k++) if (pd2[k] > kd[k] / 2) pd2[k] = 0;
        return st->sub == 2 ? (lbk_max_pool2d)(ctx, a4, kd, st->keep ? st2 : NULL, pd2) : (lbk_avg_pool2d)(ctx, a4, kd, st->keep ? st2 : NULL, pd2);
    }
    case 4: return (lbk_interpolate_nearest2d)(ctx, a4, 1 + rng_int(&s, 7), 1 + rng_int(&s, 7));
    case 5: return (lbk_cumsum)(ctx, a, st->axes[0]);
    case 6: return (lbk_argsort)(ctx, a, st->axes[0], st->keep);
    case 7: case 8: {
        int64_t kk = nd ? rng_int(&s, (int)d[((st->axes[0] % nd) + nd) % nd] + 1) : 1;
        if ((st->sub == 7 ? (lbk_sort)(ctx, a, st->axes[0], st->keep, &v, &ix) : (lbk_topk)(ctx, a, kk, st->axes[0], st->keep, &v, &ix)) != LBK_OK) return none;
        return v;
    }
    case 9: {   /* batch_norm over channel dim 1 */
        int64_t C = nd >= 2 ? d[1] : 1;
        return (lbk_batch_norm)(ctx, a, (lbk_full)(ctx, LBK_F32, 1, &C, 0.5), (lbk_full)(ctx, LBK_F32, 1, &C, 2), st->keep ? (lbk_full)(ctx, LBK_F32, 1, &C, -1.5) : none,
                                none, 1e-5);
    }
    case 10: return (lbk_group_norm)(ctx, a, 1 + rng_int(&s, 2), none, none, 1e-5);
    case 11: {   /* rope over the last two dims, positions 0.. */
        int64_t T = nd >= 2 ? d[nd - 2] : 1, D = nd ? d[nd - 1] : 1;
        return (lbk_rope)(ctx, a, (lbk_arange)(ctx, LBK_I64, 3, 3 + (double)T, 1), D >= 2 ? 2 * (1 + rng_int(&s, (int)(D / 2))) : 2, 100, st->keep);
    }
    case 12: {   /* cross_entropy of a [N, C] against b's values taken mod C (sometimes out) */
        int64_t N = nd == 2 ? d[0] : 1, C = nd == 2 ? d[1] : 1;
        lbk_tensor t = b.id && lbk_numel(ctx, b) >= N && N > 0 ? (lbk_reshape)(ctx, (lbk_slice)(ctx, (lbk_reshape)(ctx, (lbk_cast)(ctx, b, LBK_I64), 1, (int64_t[]){-1}), 0, 0, N, 1), 1, &N)
                                                           : (lbk_full)(ctx, LBK_I64, 1, &N, 0);
        if (!st->keep && C > 0) t = (lbk_where)(ctx, (lbk_lt)(ctx, t, (lbk_scalar)(ctx, LBK_I64, 0)), (lbk_scalar)(ctx, LBK_I64, -100), (lbk_where)(ctx, (lbk_ge)(ctx, t, (lbk_scalar)(ctx, LBK_I64, (double)C)), (lbk_scalar)(ctx, LBK_I64, 0), t));
        return (lbk_cross_entropy)(ctx, a, t, -100, st->keep ? 0.1 : 0);
    }
    case 13: return (lbk_one_hot)(ctx, (lbk_cast)(ctx, a, LBK_I64), 1 + rng_int(&s, 4), st->keep ? LBK_F32 : LBK_I32);
    default: {
        int64_t pads[4] = {rng_int(&s, 4) - 1, rng_int(&s, 4) - 1, rng_int(&s, 3), rng_int(&s, 3) - 1};
        return (lbk_pad)(ctx, a, nd >= 2 ? 4 : 2 * (nd >= 1), pads, st->x);
    }
    }
}

static lbk_tensor exec_step(run *r, const step *st) {
    lbk_ctx *ctx = r->ctx;
    lbk_tensor a = pick(r, st->a), b = pick(r, st->b), c = pick(r, st->c), none = {0};
    switch (st->kind) {
    case K_DATA: {
        int64_t n = 1;
        for (int k = 0; k < st->nd; k++) n = st->dims[k] < 0 || n > MAX_NUMEL ? -1 : n * st->dims[k];
        if (n < 0 || n > MAX_NUMEL) return (lbk_from_host)(ctx, st->dt, st->nd, st->dims, NULL);   /* refused: no data */
        void *buf = malloc((size_t)(n > 0 ? n : 1) * 8);
        host_data(st, n, buf);
        lbk_tensor t = (lbk_from_host)(ctx, st->dt, st->nd, st->dims, buf);
        free(buf);
        return t;
    }
    case K_FULL: return (lbk_full)(ctx, st->dt, st->nd, st->dims, st->x);
    case K_SCALAR: return (lbk_scalar)(ctx, st->dt, st->x);
    case K_ARANGE: return (lbk_arange)(ctx, st->dt, st->x, st->x + (double)st->dims[0], st->dims[1] ? (double)st->dims[1] / 2 : 0.5);
    case K_UNARY: return k_un[st->sub](ctx, a);
    case K_BINARY: return k_bin[st->sub](ctx, a, b);
    case K_WHERE: return (lbk_where)(ctx, a, b, c);
    case K_CAST: return (lbk_cast)(ctx, a, st->dt);
    case K_REDUCE:
        switch (st->sub) {
        case 0: return (lbk_sum)(ctx, a, st->n_axes, st->axes, st->keep);
        case 1: return (lbk_mean)(ctx, a, st->n_axes, st->axes, st->keep);
        case 2: return (lbk_amax)(ctx, a, st->n_axes, st->axes, st->keep);
        case 3: return (lbk_amin)(ctx, a, st->n_axes, st->axes, st->keep);
        default: return (lbk_var)(ctx, a, st->n_axes, st->axes, st->sub - 4, st->keep);
        }
    case K_ARGMAX: return (lbk_argmax)(ctx, a, st->axes[0], st->keep);
    case K_RESHAPE: return (lbk_reshape)(ctx, a, st->nd, st->dims);
    case K_PERMUTE: return (lbk_permute)(ctx, a, st->axes);
    case K_EXPAND: return (lbk_expand)(ctx, a, st->nd, st->dims);
    case K_SLICE: return (lbk_slice)(ctx, a, st->axes[0], st->dims[0], st->dims[1], st->dims[2]);
    case K_CONCAT: { lbk_tensor p[3] = {a, b, c}; return (lbk_concat)(ctx, p, st->sub, st->axes[0]); }
    case K_MATMUL: return (lbk_matmul)(ctx, a, b);
    case K_COMPOSITE:
        switch (st->sub) {
        case 0: return (lbk_softmax)(ctx, a, st->axes[0]);
        case 1: return (lbk_log_softmax)(ctx, a, st->axes[0]);
        case 2: return (lbk_logsumexp)(ctx, a, st->axes[0], st->keep);
        case 3: return (lbk_layer_norm)(ctx, a, st->axes[0], st->keep ? b : none, st->keep ? c : none, 1e-5);
        case 4: return (lbk_rms_norm)(ctx, a, st->axes[0], st->keep ? b : none, 1e-6);
        case 5: return (lbk_gelu)(ctx, a, st->keep);
        case 6: return (lbk_linear)(ctx, a, b, st->keep ? c : none);
        default: return (lbk_scaled_dot_product_attention)(ctx, a, a, a, none, st->keep, 0);   /* rank >= 2 floats; else refused alike */
        }
    case K_INDEX: return (lbk_index_select)(ctx, a, st->axes[0], b);   /* b's values decide: in range, or an error at the sync */
    case K_INDEXED: return exec_indexed(ctx, st, a);
    case K_WINDOW: return exec_window(ctx, st, a, b);
    case K_HUGE:   /* past 2^63 elements or size_t bytes: refused at trace time, everywhere alike */
        return st->sub ? (lbk_expand)(ctx, a, st->nd, st->dims) : (lbk_full)(ctx, st->dt, st->nd, st->dims, 1);
    }
    return none;
}

/* Runs p on a new context of backend; keeps the values made. */
/* Runs step i of p on r: its value (kept small) and outcome. */
static void run_step(run *r, const program *p, int i) {
    lbk_tensor t = {0};
    r->at = i;
    if (p->s[i].kind != K_NOP) t = exec_step(r, &p->s[i]);
    r->res[i] = lbk_ctx_result(r->ctx);
    lbk_ctx_clear_error(r->ctx);
    if (t.id && lbk_numel(r->ctx, t) > MAX_NUMEL) { lbk_release(r->ctx, t); t.id = 0; }
    r->v[i] = t;
}
static lbk_ctx *new_ctx(const char *backend) {
    lbk_ctx_desc d;
    memset(&d, 0, sizeof d);
    d.backend = backend;
    d.n_threads = 1;
    return lbk_ctx_create(&d);
}
/* Runs p on a new context of backend; keeps the values made. */
static bool run_program(run *r, const char *backend, const program *p) {
    memset(r, 0, sizeof *r);
    if (!(r->ctx = new_ctx(backend))) return false;
    for (int i = 0; i < p->n; i++) run_step(r, p, i);
    return true;
}

/* ---- generating a program, against a cpu context for the shapes ---- */
static void gen_step(run *r, step *st, uint64_t *s) {
    lbk_ctx *ctx = r->ctx;
    int64_t sh[4];
    int nd, k;
    (void)k_names;
    memset(st, 0, sizeof *st);
    st->seed = rng_next(s);
    st->a = r->at ? resolve(r, rng_int(s, r->at)) : 0;
    st->b = r->at ? resolve(r, rng_int(s, r->at)) : 0;
    st->c = r->at ? resolve(r, rng_int(s, r->at)) : 0;
    st->dt = k_dtypes[rng_int(s, COUNT(k_dtypes))];
    st->keep = rng_int(s, 2);
    st->x = (double)(rng_int(s, 9) - 4) / 2;
    st->kind = r->at < 2 ? K_DATA : rng_int(s, 10) < 3 ? K_DATA + rng_int(s, 4) : K_UNARY + rng_int(s, K_COUNT - K_UNARY);
    if (st->kind == K_HUGE && rng_int(s, 3)) st->kind = K_BINARY;   /* rarer */
    nd = shape_of(ctx, pick(r, st->a), sh);
    if (nd < 0) nd = 0;
    st->nd = rng_int(s, 5);
    for (k = 0; k < 4; k++) st->dims[k] = small_dim(s);
    if (rng_int(s, 2)) {   /* an operand of a's shape, or broadcastable against it */
        st->nd = nd;
        for (k = 0; k < nd; k++) st->dims[k] = rng_int(s, 4) ? sh[k] : 1;
    }
    switch (st->kind) {
    case K_UNARY: st->sub = rng_int(s, COUNT(k_un)); break;
    case K_BINARY: st->sub = rng_int(s, COUNT(k_bin)); break;
    case K_REDUCE: case K_COMPOSITE: case K_ARGMAX: case K_SLICE: case K_CONCAT: case K_PERMUTE: case K_INDEX: case K_INDEXED: case K_WINDOW: {
        st->sub = st->kind == K_REDUCE ? rng_int(s, 7) : st->kind == K_COMPOSITE ? rng_int(s, 8) : st->kind == K_CONCAT ? 1 + rng_int(s, 3)
                : st->kind == K_INDEXED ? rng_int(s, 5) : st->kind == K_WINDOW ? rng_int(s, W_COUNT) : 0;
        st->n_axes = nd ? rng_int(s, nd + 1) : 0;
        for (k = 0; k < 4; k++) st->axes[k] = nd ? rng_int(s, nd) - (rng_int(s, 3) == 0 ? nd : 0) : 0;
        if (st->kind == K_REDUCE && st->n_axes == 2 && st->axes[0] == st->axes[1]) st->n_axes = 1;
        if (st->kind == K_PERMUTE)
            for (k = 0; k < nd; k++) {   /* a permutation of nd: a rotation */
                int rot = (int)(st->seed % (uint64_t)(nd ? nd : 1));
                st->axes[k] = (k + rot) % nd;
            }
        if (st->kind == K_COMPOSITE && (st->sub == 3 || st->sub == 4)) st->axes[0] = nd ? 1 + rng_int(s, nd) : 0;
        if (st->kind == K_SLICE) {
            int ax = nd ? (st->axes[0] % nd + nd) % nd : 0;
            int64_t len = nd ? sh[ax] : 0;
            st->dims[0] = rng_int(s, (int)len + 2) - 1;
            st->dims[1] = rng_int(s, (int)len + 3) - 1;
            st->dims[2] = (1 + rng_int(s, 3)) * (rng_int(s, 3) == 0 ? -1 : 1);   /* backwards too */
        }
        break;
    }
    case K_RESHAPE: {   /* the same count, split differently */
        int64_t n = 1;
        for (k = 0; k < nd; k++) n *= sh[k];
        if (rng_int(s, 4) == 0) { st->nd = 1; st->dims[0] = -1; break; }
        st->nd = 2;
        st->dims[0] = (n % 2 == 0 && n) ? 2 : 1;
        st->dims[1] = st->dims[0] ? n / st->dims[0] : 0;
        break;
    }
    case K_EXPAND:
        st->nd = nd + (nd < 4 ? rng_int(s, 2) : 0);
        for (k = 0; k < st->nd; k++) {
            int j = k - (st->nd - nd);
            st->dims[k] = j < 0 ? small_dim(s) : sh[j] == 1 ? small_dim(s) : sh[j];
        }
        break;
    case K_HUGE:
        st->sub = rng_int(s, 2);
        st->nd = 2 + rng_int(s, 2);
        st->dims[0] = (int64_t)1 << (31 + rng_int(s, 2));
        st->dims[1] = (int64_t)1 << (31 + rng_int(s, 2));
        st->dims[2] = 1 + rng_int(s, 3);
        break;
    default: break;
    }
}

static void gen_program(program *p, uint64_t seed) {
    uint64_t s = seed * 0x2545f4914f6cdd1dULL + 7;
    run r;
    memset(&r, 0, sizeof r);
    r.ctx = new_ctx("cpu");
    p->n = 4 + rng_int(&s, MAX_STEPS - 4);
    for (int i = 0; i < p->n; i++) {
        r.at = i;
        gen_step(&r, &p->s[i], &s);
        run_step(&r, p, i);
    }
    lbk_ctx_destroy(r.ctx);
}

/* ---- comparing ---- */
static long g_steps_ok, g_steps, g_elements;
/* The tolerance of a float result: f32's wherever an f32 value took part in the program
   (its rounding carries into f64 results made from it), else f64's. */
static double g_program_tol;   /* the loosest tolerance of the dtypes a program's values have */
static double dtype_tol(lbk_dtype dt) {
    switch (dt) {
    case LBK_F64: return 1e-9;
    case LBK_F32: return 2e-4;
    case LBK_F16: return 1e-2;    /* 2^-11 per rounding, a few roundings */
    case LBK_BF16: return 6e-2;   /* 2^-8 per rounding */
    default: return 0;
    }
}
static double tol_for(lbk_dtype dt) { return lbk_dtype_is_float(dt) ? g_program_tol : 0; }
static bool close_enough(double a, double b, double tol, double scale) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= tol * (1 + scale);
}

/* Values whose comparison would test rounding, not lazybk: one made by an op that is
   discontinuous (a cast to an integer, a comparison, floor, ceil, argmax, where's
   condition) or singular (div, pow, reciprocal, rsqrt, log) or ill-conditioned (sin and cos
   of large arguments) in a float operand that was
   itself computed (so carries rounding, which the two paths may place on either side of the
   jump), or made from such a value. Their shapes and outcomes are still compared. */
static bool g_fragile[MAX_STEPS];
static void mark_fragile(const run *r0, const program *p) {
    bool approx[MAX_STEPS];
    run r = *r0;
    for (int i = 0; i < p->n; i++) {
        const step *st = &p->s[i];
        int in[3], n_in = 0, k;
        bool any_approx = false, any_fragile = false, disc = false, source = st->kind <= K_ARANGE;
        r.at = i;
        approx[i] = false;
        g_fragile[i] = false;
        if (st->kind == K_NOP || !r.v[i].id) continue;
        if (!source) { in[n_in++] = resolve(&r, st->a); in[n_in++] = resolve(&r, st->b); in[n_in++] = resolve(&r, st->c); }
        for (k = 0; k < n_in; k++)
            if (in[k] >= 0) { any_approx |= approx[in[k]]; any_fragile |= g_fragile[in[k]]; }
        switch (st->kind) {
        case K_CAST: disc = !lbk_dtype_is_float(st->dt); break;
        case K_BINARY: disc = st->sub == 3 || st->sub == 4 || st->sub >= 7; break;
        case K_UNARY:   /* log, rsqrt, sin and cos (ill-conditioned for large arguments), floor, ceil, reciprocal, not */
            disc = st->sub == 3 || st->sub == 5 || st->sub == 6 || st->sub == 7 || (st->sub >= 12 && st->sub <= 15);
            break;
        case K_ARGMAX: case K_WHERE: disc = true; break;   /* ties, conditions */
        case K_WINDOW: disc = (st->sub >= 6 && st->sub <= 8) || st->sub == 2 || st->sub == 12 || st->sub == 13; break;   /* orders, maxima, ids (rounded) */
        default: break;
        }
        g_fragile[i] = any_fragile || (disc && any_approx);
        /* a float cast to an integer saturates inf to 2^63: arithmetic on that overflows f32
           where the fused path (double accumulators) does not. Not compared downstream. */
        if (st->kind == K_CAST && !lbk_dtype_is_float(st->dt) && n_in && in[0] >= 0 &&
            lbk_dtype_is_float(lbk_type(r.ctx, r.v[in[0]])))
            g_fragile[i] = true;
        approx[i] = !source && (any_approx || (st->kind != K_RESHAPE && st->kind != K_PERMUTE && st->kind != K_EXPAND &&
                                               st->kind != K_SLICE && st->kind != K_CONCAT));
    }
}

/* Whether two runs agree; why says where not. */
static bool agree(run *x, run *y, int n_steps, char *why, size_t cap) {
    int i;
    for (i = 0; i < n_steps; i++)
        if (x->res[i] != y->res[i] && x->res[i] != LBK_ERR_OOM && y->res[i] != LBK_ERR_OOM) {
            snprintf(why, cap, "step %d: %s vs %s", i, lbk_result_str(x->res[i]), lbk_result_str(y->res[i]));
            return false;
        }
    for (i = 0; i < n_steps; i++) {
        if (!x->v[i].id != !y->v[i].id) { snprintf(why, cap, "step %d made a value on one side only", i); return false; }
        if (!x->v[i].id) continue;
        int64_t n = lbk_numel(x->ctx, x->v[i]);
        lbk_dtype dt = lbk_type(x->ctx, x->v[i]);
        if (n != lbk_numel(y->ctx, y->v[i]) || dt != lbk_type(y->ctx, y->v[i])) {
            snprintf(why, cap, "step %d: shape or dtype differs", i);
            return false;
        }
        double *a = (double *)malloc((size_t)(n ? n : 1) * 8), *b = (double *)malloc((size_t)(n ? n : 1) * 8), scale = 0;
        lbk_result ra = lbk_read_as(x->ctx, x->v[i], LBK_F64, a, (size_t)n * 8), rb = lbk_read_as(y->ctx, y->v[i], LBK_F64, b, (size_t)n * 8);
        bool ok = true;
        lbk_ctx_clear_error(x->ctx);
        lbk_ctx_clear_error(y->ctx);
        if (ra == LBK_ERR_OOM || rb == LBK_ERR_OOM) { free(a); free(b); continue; }
        if (ra != rb) { snprintf(why, cap, "step %d: read %s vs %s", i, lbk_result_str(ra), lbk_result_str(rb)); free(a); free(b); return false; }
        if (ra == LBK_OK && !g_fragile[i]) {
            for (int64_t k = 0; k < n; k++) if (isfinite(a[k]) && fabs(a[k]) > scale) scale = fabs(a[k]);
            for (int64_t k = 0; k < n && ok; k++)
                if (!close_enough(a[k], b[k], tol_for(dt), scale)) {
                    snprintf(why, cap, "step %d (%s, %lld elements), element %lld: %.9g vs %.9g", i, lbk_dtype_name(dt),
                             (long long)n, (long long)k, a[k], b[k]);
                    ok = false;
                }
        }
        free(a); free(b);
        if (!ok) return false;
    }
    return true;
}

static const char *g_backends[3];
static int g_n_backends;

/* Whether p runs alike on every backend; why gets the first disagreement. */
static bool check_program(const program *p, char *why, size_t cap) {
    run runs[3];
    bool ok = true;
    int k;
    for (k = 0; k < g_n_backends; k++)
        if (!run_program(&runs[k], g_backends[k], p)) { snprintf(why, cap, "no context on %s", g_backends[k]); return false; }
    mark_fragile(&runs[0], p);
    /* rounding carries from a narrow value into wider results made from it, and integer
       inputs of composites compute in f32: a program's floats get its loosest tolerance */
    g_program_tol = 1e-9;
    for (k = 0; k < p->n; k++) {
        double t = runs[0].v[k].id ? dtype_tol(lbk_type(runs[0].ctx, runs[0].v[k])) : 0;
        if (t > g_program_tol) g_program_tol = t;
        if ((p->s[k].kind == K_COMPOSITE || p->s[k].kind == K_WINDOW) && g_program_tol < 2e-4) g_program_tol = 2e-4;
    }
    for (k = 0; k < p->n; k++) { g_steps++; g_steps_ok += runs[0].res[k] == LBK_OK; }
    for (k = 0; k < p->n; k++) g_elements += runs[0].v[k].id ? lbk_numel(runs[0].ctx, runs[0].v[k]) : 0;
    for (k = 1; k < g_n_backends && ok; k++) {
        char w[400];
        if (!agree(&runs[0], &runs[k], p->n, w, sizeof w)) {
            snprintf(why, cap, "%s vs %s: %s", g_backends[0], g_backends[k], w);
            ok = false;
        }
    }
    for (k = 0; k < g_n_backends; k++) lbk_ctx_destroy(runs[k].ctx);
    return ok;
}

static void print_program(const program *p) {
    for (int i = 0; i < p->n; i++) {
        const step *s = &p->s[i];
        if (s->kind == K_NOP) continue;
        printf("  %2d: %-9s", i, k_names[s->kind]);
        if (s->kind == K_UNARY) printf(" %s", k_un_names[s->sub]);
        else if (s->kind == K_BINARY) printf(" %s", k_bin_names[s->sub]);
        else printf(" sub=%d", s->sub);
        printf(" a=%d b=%d c=%d dt=%s dims=[", s->a, s->b, s->c, lbk_dtype_name(s->dt));
        for (int k = 0; k < s->nd; k++) printf("%s%lld", k ? "," : "", (long long)s->dims[k]);
        printf("] axes=[%d,%d,%d,%d] n_axes=%d keep=%d x=%g seed=%llu\n", s->axes[0], s->axes[1], s->axes[2], s->axes[3],
               s->n_axes, s->keep, s->x, (unsigned long long)s->seed);
    }
}

/* Removes steps (and then trailing ones) while the program still fails: the smallest
   failing program found. Operands of later steps keep pointing where they did. */
static void shrink(program *p) {
    bool progress = true;
    char why[512];
    while (progress) {
        progress = false;
        for (int i = p->n - 1; i >= 0; i--) {
            program q = *p;
            if (q.s[i].kind == K_NOP) continue;
            q.s[i].kind = K_NOP;
            if (!check_program(&q, why, sizeof why)) { *p = q; progress = true; }
        }
    }
    while (p->n > 1 && p->s[p->n - 1].kind == K_NOP) p->n--;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 300, first = argc > 2 ? atol(argv[2]) : 1, failed = 0, s;
    g_backends[g_n_backends++] = "cpu";
    g_backends[g_n_backends++] = "cpu-reference";
    if (lbk_backend_available("cuda")) g_backends[g_n_backends++] = "cuda";
    for (s = first; s < first + n; s++) {
        program p;
        char why[512];
        gen_program(&p, (uint64_t)s);
        if (check_program(&p, why, sizeof why)) continue;
        failed++;
        printf("fuzz-diff: seed %ld disagrees: %s\n", s, why);
        shrink(&p);
        check_program(&p, why, sizeof why);
        printf("smallest failing program (%d steps): %s\n", p.n, why);
        print_program(&p);
        if (failed >= 3) break;
    }
    printf("fuzz-diff: %ld programs from seed %ld on", s - first, first);
    for (int k = 0; k < g_n_backends; k++) printf(" %s", g_backends[k]);
    printf(": %ld disagreements (%ld of %ld steps traced without error, %ld elements compared)\n", failed, g_steps_ok, g_steps,
           g_elements);
    return failed ? 1 : 0;
}
