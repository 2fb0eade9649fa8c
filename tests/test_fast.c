/* The cpu fast path against the reference path ("cpu-reference") on randomised graphs:
   chains of elementwise ops with broadcasting, scalars, reductions and shape ops, several
   hundred cases with fixed seeds. Plus the fused plan itself. */
#include "common.h"

typedef struct rg { uint64_t s; } rg;
static int rnd(rg *g, int n) { return (int)(trand(&g->s) * n); }

/* Builds the same random graph in both contexts; returns the outputs. */
static void build(lbk_ctx *c[2], rg *g, lbk_dtype dt, lbk_tensor out[2][3], int *n_out) {
    int64_t dims[3] = {1 + rnd(g, 3), 1 + rnd(g, 5), 1 + rnd(g, 130)};   /* at most 1950 elements */
    int nd = 1 + rnd(g, 3);
    const int64_t *d = dims + (3 - nd);
    double vals[2][2000];
    int64_t n = tnumel(nd, d);
    uint64_t seed = g->s;
    tfill(vals[0], n, -2, 2, seed);
    tfill(vals[1], n, 0.2, 3, seed + 1);
    lbk_tensor t[2][8];
    for (int k = 0; k < 2; k++) {
        rg gg = *g;   /* both contexts see the same choices */
        lbk_ctx *ctx = c[k];
        t[k][0] = tfrom(ctx, dt, nd, d, vals[0]);
        t[k][1] = tfrom(ctx, dt, nd, d, vals[1]);
        /* a broadcast operand: the last dim only, or a column */
        int64_t last = d[nd - 1], col[3] = {1, 1, 1};
        double bv[130];
        tfill(bv, 130, 0.5, 1.5, seed + 2);
        t[k][2] = tfrom(ctx, dt, 1, &last, bv);
        if (nd >= 2) { for (int i = 0; i < nd - 1; i++) col[i] = d[i]; col[nd - 1] = 1; }
        t[k][3] = tfrom(ctx, dt, nd, col, bv);
        int m = 4;
        lbk_tensor cur = t[k][0];
        int steps = 2 + rnd(&gg, 12);
        for (int s = 0; s < steps; s++) {
            lbk_tensor other = t[k][rnd(&gg, m)];
            switch (rnd(&gg, 16)) {
            case 0: cur = lbk_add(ctx, cur, other); break;
            case 1: cur = lbk_sub(ctx, cur, other); break;
            case 2: cur = lbk_mul(ctx, cur, other); break;
            case 3: cur = lbk_div(ctx, cur, lbk_add(ctx, lbk_abs(ctx, other), lbk_scalar(ctx, LBK_F64, 0.5))); break;
            case 4: cur = lbk_tanh(ctx, cur); break;
            case 5: cur = lbk_sigmoid(ctx, cur); break;
            case 6: cur = lbk_exp(ctx, lbk_mul(ctx, cur, lbk_scalar(ctx, LBK_F64, 0.25))); break;
            case 7: cur = lbk_log(ctx, lbk_add(ctx, lbk_abs(ctx, cur), lbk_scalar(ctx, LBK_F64, 1))); break;
            case 8: cur = lbk_maximum(ctx, cur, other); break;
            case 9: cur = lbk_relu(ctx, lbk_sub(ctx, cur, lbk_scalar(ctx, LBK_F64, 0.1))); break;
            case 10: cur = lbk_sqrt(ctx, lbk_abs(ctx, cur)); break;
            case 11: cur = lbk_erf(ctx, cur); break;
            case 12: { int ax = -1; cur = lbk_add(ctx, cur, lbk_sum(ctx, cur, 1, &ax, true)); break; }
            case 13: cur = lbk_mul(ctx, lbk_sin(ctx, cur), lbk_cos(ctx, other)); break;
            case 14: cur = lbk_minimum(ctx, lbk_neg(ctx, cur), lbk_floor(ctx, other)); break;
            default: if (m < 8) t[k][m++] = cur; cur = lbk_rsqrt(ctx, lbk_add(ctx, lbk_mul(ctx, cur, cur), lbk_scalar(ctx, LBK_F64, 1))); break;
            }
        }
        out[k][0] = cur;
        {   /* a reduction: of the output itself, or of an elementwise value only it reads (fused as a tail) */
            int ax[2] = {-1, -2}, nax = nd >= 2 ? 1 + rnd(&gg, 2) : 1;
            switch (rnd(&gg, 4)) {
            case 0: out[k][1] = lbk_mean(ctx, cur, 0, NULL, false); break;
            case 1: out[k][1] = lbk_sum(ctx, lbk_mul(ctx, cur, t[k][2]), nax, ax, rnd(&gg, 2)); break;
            case 2: out[k][1] = lbk_amax(ctx, lbk_add(ctx, cur, t[k][3]), nax, ax, false); break;
            default: out[k][1] = lbk_mean(ctx, lbk_tanh(ctx, cur), 0, NULL, rnd(&gg, 2)); break;
            }
        }
        out[k][2] = t[k][m - 1];   /* an intermediate kept as a second graph output */
        if (k == 1) *g = gg;
    }
    *n_out = 3;
}

static void test_random_graphs(void **state) {
    (void)state;
    lbk_ctx_desc df = {0}, dr = {0};
    df.backend = "cpu";
    dr.backend = "cpu-reference";
    lbk_ctx *c[2] = {lbk_ctx_create(&df), lbk_ctx_create(&dr)};
    assert_non_null(c[0]);
    assert_non_null(c[1]);
    static double a[2000], b[2000];
    rg g = {12345};
    int fused_seen = 0;
    for (int cs = 0; cs < 300; cs++) {
        lbk_dtype dt = cs % 3 == 0 ? LBK_F64 : LBK_F32;
        lbk_scope s0 = lbk_scope_begin(c[0]), s1 = lbk_scope_begin(c[1]);
        lbk_tensor out[2][3];
        int n_out;
        build(c, &g, dt, out, &n_out);
        if (cs % 50 == 0) fused_seen += strstr(lbk_backend_text(c[0], out[0], n_out), "fused group") != NULL;
        assert_int_equal(lbk_sync(c[0], out[0], n_out), LBK_OK);
        assert_int_equal(lbk_sync(c[1], out[1], n_out), LBK_OK);
        for (int k = 0; k < n_out; k++) {
            int64_t n = lbk_numel(c[0], out[0][k]);
            assert_int_equal(n, lbk_numel(c[1], out[1][k]));
            tread(c[0], out[0][k], a);
            tread(c[1], out[1][k], b);
            char what[64];
            snprintf(what, sizeof what, "case %d output %d (%s)", cs, k, lbk_dtype_name(dt));
            tclose(a, b, n, dt == LBK_F32 ? 2e-5 : 1e-12, what);
        }
        lbk_scope_end(c[0], s0, NULL, 0);
        lbk_scope_end(c[1], s1, NULL, 0);
    }
    assert_true(fused_seen > 0);
    assert_ctx_ok(c[0]);
    lbk_ctx_destroy(c[0]);
    lbk_ctx_destroy(c[1]);
}

/* The plan: a chain fuses into one group whose inner values never get buffers. */
static void test_fused_plan(void **state) {
    (void)state;
    if (getenv("LAZYBK_CPU_REFERENCE")) skip();
    lbk_ctx *ctx = tctx_on("cpu");
    int64_t n = 1000;
    float host[1000];
    for (int i = 0; i < 1000; i++) host[i] = (float)i;
    lbk_tensor x = lbk_from_host(ctx, LBK_F32, 1, &n, host);
    lbk_tensor y = lbk_mul(ctx, lbk_relu(ctx, lbk_add(ctx, lbk_mul(ctx, x, lbk_scalar(ctx, LBK_F32, 0.01)),
                                                      lbk_scalar(ctx, LBK_F32, -3))), x);
    const char *txt = lbk_backend_text(ctx, &y, 1);
    assert_contains(txt, "cpu fast plan");
    assert_contains(txt, "1 fused groups");
    assert_contains(txt, "stays in registers");
    assert_contains(txt, "0 scratch buffers");
    double got[1000];
    tread(ctx, y, got);
    for (int i = 0; i < 1000; i++) {
        float v = (float)i * 0.01f - 3.0f;
        assert_true(fabs(got[i] - (double)((v > 0 ? v : 0) * (float)i)) <= 1e-6 * (1 + fabs(got[i])));
    }
    (void)n;
    lbk_ctx_destroy(ctx);
}

/* Large enough to split across threads: 1 and 2 threads give the reference's numbers. */
static void test_threads_large(void **state) {
    (void)state;
    int64_t n = (1 << 20) + 77;
    float *x = malloc(sizeof(float) * (size_t)n), *y1 = malloc(sizeof(float) * (size_t)n), *y2 = malloc(sizeof(float) * (size_t)n);
    float *yr = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 7919) % 4001 - 2000) / 400.0f;
    const char *backs[3] = {"cpu", "cpu", "cpu-reference"};
    int threads[3] = {1, 2, 1};
    float *outs[3] = {y1, y2, yr};
    for (int k = 0; k < 3; k++) {
        lbk_ctx_desc d = {0};
        d.backend = backs[k];
        d.n_threads = threads[k];
        lbk_ctx *ctx = lbk_ctx_create(&d);
        lbk_tensor t = lbk_from_host(ctx, LBK_F32, 1, &n, x);
        lbk_tensor y = lbk_mul(ctx, lbk_tanh(ctx, lbk_add(ctx, lbk_mul(ctx, t, lbk_scalar(ctx, LBK_F32, 0.5)),
                                                        lbk_scalar(ctx, LBK_F32, 0.25))), lbk_sigmoid(ctx, t));
        assert_int_equal(lbk_read(ctx, y, outs[k], sizeof(float) * (size_t)n), LBK_OK);
        lbk_ctx_destroy(ctx);
    }
    for (int64_t i = 0; i < n; i++) {
        assert_true(y1[i] == y2[i]);   /* threads never change a result */
        assert_true(fabsf(y1[i] - yr[i]) <= 4e-7f * (1 + fabsf(yr[i])));
    }
    free(x); free(y1); free(y2); free(yr);
}

/* The blocked matmul against the reference on shapes around the block edges, with batch
   broadcasting, both float dtypes, 1 and 2 threads. */
static void test_matmul_blocked(void **state) {
    (void)state;
    static const int64_t shapes[][3] = {{1, 1, 1}, {5, 7, 3}, {6, 16, 256}, {7, 17, 257}, {13, 33, 300}, {96, 2049, 4},
                                        {100, 20, 513}, {130, 70, 300}, {2, 3, 0}};   /* 130x70x300: large enough for threads */
    lbk_ctx_desc d1 = {0}, d2 = {0}, dr = {0};
    d1.backend = "cpu"; d1.n_threads = 1;
    d2.backend = "cpu"; d2.n_threads = 2;
    dr.backend = "cpu-reference";
    lbk_ctx *c[3] = {lbk_ctx_create(&d1), lbk_ctx_create(&d2), lbk_ctx_create(&dr)};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int f = 0; f < 2; f++) {
            lbk_dtype dt = f ? LBK_F64 : LBK_F32;
            int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            int64_t da[3] = {2, M, K}, db[2] = {K, N};   /* a batch of 2 against one B */
            double *a = malloc(sizeof(double) * (size_t)(2 * M * K + 1)), *b = malloc(sizeof(double) * (size_t)(K * N + 1));
            double *out[3];
            tfill(a, 2 * M * K, -1, 1, s * 7 + 1);
            tfill(b, K * N, -1, 1, s * 7 + 2);
            for (int k = 0; k < 3; k++) {
                out[k] = malloc(sizeof(double) * (size_t)(2 * M * N + 1));
                lbk_tensor y = lbk_matmul(c[k], tfrom(c[k], dt, 3, da, a), tfrom(c[k], dt, 2, db, b));
                tread(c[k], y, out[k]);
            }
            double tol = (dt == LBK_F32 ? 2e-6 : 1e-14) * (double)(K + 1);
            char what[64];
            snprintf(what, sizeof what, "matmul %lldx%lldx%lld %s", (long long)M, (long long)N, (long long)K, lbk_dtype_name(dt));
            tclose(out[0], out[2], 2 * M * N, tol, what);
            tclose(out[1], out[2], 2 * M * N, tol, what);
            for (int k = 0; k < 3; k++) free(out[k]);
            free(a);
            free(b);
        }
    for (int k = 0; k < 3; k++) { assert_ctx_ok(c[k]); lbk_ctx_destroy(c[k]); }
}

/* Composites the fast path runs whole (softmax, log_softmax, logsumexp over the last axis,
   layer_norm, rms_norm) against their decompositions on the reference path: row lengths
   off the 16-lane blocks, -inf and large values, weights and biases, both dtypes. */
static void test_composites_whole(void **state) {
    (void)state;
    lbk_ctx_desc dr = {0};
    dr.backend = "cpu-reference";
    lbk_ctx *c[2] = {tctx_on("cpu"), lbk_ctx_create(&dr)};
    static const int64_t lens[] = {1, 5, 16, 17, 100, 1000};
    static double x[3 * 1000], w[1000], bias[1000], out[2][3 * 1000];
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int f = 0; f < 2; f++) {
            lbk_dtype dt = f ? LBK_F64 : LBK_F32;
            int64_t L = lens[li], d[2] = {3, L};
            tfill(x, 3 * L, -20, 20, li * 3 + 1);
            tfill(w, L, 0.5, 1.5, li * 3 + 2);
            tfill(bias, L, -1, 1, li * 3 + 3);
            x[0] = -INFINITY;   /* row 0 has a -inf; row 1 is large */
            for (int64_t j = 0; j < L; j++) x[L + j] += 500;
            for (int op = 0; op < 6; op++) {
                lbk_tensor y[2];
                for (int k = 0; k < 2; k++) {
                    lbk_ctx *ctx = c[k];
                    lbk_tensor t = tfrom(ctx, dt, 2, d, x), tw = tfrom(ctx, dt, 1, &L, w), tb = tfrom(ctx, dt, 1, &L, bias);
                    lbk_tensor none = {0};
                    if (op == 0) y[k] = lbk_softmax(ctx, t, -1);
                    else if (op == 1) y[k] = lbk_log_softmax(ctx, t, 1);
                    else if (op == 2) y[k] = lbk_logsumexp(ctx, t, -1, li % 2 == 0);
                    else if (op == 3) y[k] = lbk_layer_norm(ctx, lbk_abs(ctx, lbk_sub(ctx, t, t)), 1, tw, tb, 1e-5);   /* a constant row */
                    else if (op == 4) y[k] = lbk_layer_norm(ctx, lbk_maximum(ctx, t, lbk_scalar(ctx, LBK_F64, -30)), 1, tw, none, 1e-5);
                    else y[k] = lbk_rms_norm(ctx, lbk_minimum(ctx, t, lbk_scalar(ctx, LBK_F64, 30)), 1, tw, 1e-6);
                    tread(ctx, y[k], out[k]);
                }
                if (!getenv("LAZYBK_CPU_REFERENCE")) assert_int_equal(lbk_counter(c[0], "decompositions"), 0);
                char what[64];
                snprintf(what, sizeof what, "composite %d, L %lld, %s", op, (long long)L, lbk_dtype_name(dt));
                tclose(out[0], out[1], lbk_numel(c[0], y[0]), dt == LBK_F32 ? 3e-6 : 1e-12, what);
            }
        }
    lbk_ctx_destroy(c[0]);
    lbk_ctx_destroy(c[1]);
}

/* matmul(a, transpose(b)) reads b in place on the fast path: same numbers, no transpose run. */
static void test_matmul_transposed_b(void **state) {
    (void)state;
    lbk_ctx_desc dr = {0};
    dr.backend = "cpu-reference";
    lbk_ctx *c[2] = {tctx_on("cpu"), lbk_ctx_create(&dr)};
    int64_t da[3] = {2, 7, 37}, db[3] = {2, 19, 37};   /* [2,7,37] @ transpose([2,19,37]) -> [2,7,19] */
    double a[2 * 7 * 37], b[2 * 19 * 37], out[2][2 * 7 * 19];
    tfill(a, 2 * 7 * 37, -1, 1, 77);
    tfill(b, 2 * 19 * 37, -1, 1, 78);
    for (int f = 0; f < 2; f++) {
        lbk_dtype dt = f ? LBK_F64 : LBK_F32;
        for (int k = 0; k < 2; k++) {
            lbk_tensor y = lbk_matmul(c[k], tfrom(c[k], dt, 3, da, a), lbk_transpose(c[k], tfrom(c[k], dt, 3, db, b), -1, -2));
            if (k == 0 && !getenv("LAZYBK_CPU_REFERENCE")) assert_contains(lbk_backend_text(c[k], &y, 1), "B read transposed");
            tread(c[k], y, out[k]);
        }
        tclose(out[0], out[1], 2 * 7 * 19, dt == LBK_F32 ? 1e-5 : 1e-13, "matmul with a transposed B");
    }
    lbk_ctx_destroy(c[0]);
    lbk_ctx_destroy(c[1]);
}

/* An f32 matmul with an f16 or bf16 weight, plain, transposed before the cast and cast
   before the transpose, batched, K past one KC block and N off the panel width; and a
   matmul of two narrow operands: the weight is read narrow and converted while packed
   (no f32 copy), against a float64 loop over the rounded values. */
static void test_matmul_narrow_weight(void **state) {
    (void)state;
    enum { BT = 2, M = 7, K = 300, N = 45 };
    int64_t da[3] = {BT, M, K}, dkn[2] = {K, N}, dnk[2] = {N, K};
    static double a[BT * M * K], w[K * N], wr[K * N], want[BT * M * N], got[BT * M * N];
    lbk_ctx *c = tctx_on("cpu");
    tfill(a, BT * M * K, -1, 1, 91);
    tfill(w, K * N, -1, 1, 92);
    for (int f = 0; f < 2; f++) {
        lbk_dtype wt = f ? LBK_BF16 : LBK_F16;
        for (int i = 0; i < K * N; i++) { uint16_t h; lbk_store_f64(wt, &h, 0, w[i]); wr[i] = lbk_load_f64(wt, &h, 0); }
        lbk_tensor ta = tfrom(c, LBK_F32, 3, da, a), wkn = tfrom(c, wt, 2, dkn, w), none = {0};
        double wnk[N * K];
        for (int n = 0; n < N; n++) for (int k = 0; k < K; k++) wnk[n * K + k] = w[k * N + n];
        lbk_tensor tnk = tfrom(c, wt, 2, dnk, wnk);
        for (int b = 0; b < BT; b++)
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++) {
                    double s = 0;
                    for (int k = 0; k < K; k++) s += (double)(float)a[(b * M + m) * K + k] * wr[k * N + n];
                    want[(b * M + m) * N + n] = s;
                }
        lbk_tensor ys[3] = {lbk_matmul(c, ta, wkn), lbk_matmul(c, ta, lbk_transpose(c, tnk, 0, 1)), lbk_linear(c, ta, tnk, none)};
        for (int v = 0; v < 3; v++) {
            if (!getenv("LAZYBK_CPU_REFERENCE")) {
                assert_contains(lbk_backend_text(c, &ys[v], 1), "converted while packed");
                if (v > 0) assert_contains(lbk_backend_text(c, &ys[v], 1), "B read transposed");
            }
            tread(c, ys[v], got);
            tclose(got, want, BT * M * N, 2e-5, "f32 @ narrow weight");
        }
        /* both narrow: the result rounded once to the dtype */
        lbk_tensor yn = lbk_matmul(c, lbk_cast(c, ta, wt), wkn);
        assert_int_equal(lbk_type(c, yn), wt);
        tread(c, yn, got);
        tclose(got, want, BT * M * N, f ? 2e-2 : 4e-3, "narrow @ narrow");
    }
    assert_ctx_ok(c);
    lbk_ctx_destroy(c);
}

/* Reductions fused as tails of elementwise groups: sum, mean, amax, amin over the last
   axis, the last two, or all axes, with broadcast inputs and nan; sizes off the tiles and
   large enough for threads; checked against a float64 loop. */
static void test_fused_reduction_tail(void **state) {
    (void)state;
    static const int64_t shapes[][3] = {{3, 5, 7}, {2, 3, 300}, {4, 1, 1000}, {2, 600, 1000}, {1, 1, 1100000}};
    for (int th = 1; th <= 2; th++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int op = 0; op < 4; op++)
                for (int nax = 1; nax <= 3; nax++) {
                    lbk_dtype dt = (op >= 2 && nax == 2) ? LBK_F64 : LBK_F32;
                    const int64_t *d = shapes[s];
                    int64_t n = d[0] * d[1] * d[2], L = d[2];
                    lbk_ctx_desc desc = {0};
                    desc.backend = "cpu";
                    desc.n_threads = th;
                    lbk_ctx *ctx = lbk_ctx_create(&desc);
                    double *x = malloc(sizeof(double) * (size_t)n), *b = malloc(sizeof(double) * (size_t)L);
                    double *got = malloc(sizeof(double) * (size_t)n);
                    tfill(x, n, -3, 3, 100 + s);
                    tfill(b, L, -1, 1, 200 + s);
                    if (op >= 2 && s == 1) x[n / 2] = NAN;   /* amax/amin: the row holding it gives nan */
                    if (dt == LBK_F32) {   /* the f32 inputs as the library sees them */
                        for (int64_t i = 0; i < n; i++) x[i] = (float)x[i];
                        for (int64_t i = 0; i < L; i++) b[i] = (float)b[i];
                    }
                    lbk_tensor tx = tfrom(ctx, dt, 3, d, x), tb = tfrom(ctx, dt, 1, &L, b);
                    lbk_tensor v = lbk_mul(ctx, lbk_add(ctx, tx, tb), lbk_scalar(ctx, dt, 0.5));   /* (x + b) * 0.5 */
                    int axes[3] = {2, 1, 0};
                    lbk_tensor y = op == 0 ? lbk_sum(ctx, v, nax, axes, false) : op == 1 ? lbk_mean(ctx, v, nax, axes, true)
                                 : op == 2 ? lbk_amax(ctx, v, nax, axes, false) : lbk_amin(ctx, v, nax, axes, false);
                    if (!getenv("LAZYBK_CPU_REFERENCE")) assert_contains(lbk_backend_text(ctx, &y, 1), "reduced as its tiles are made");
                    tread(ctx, y, got);
                    int64_t per = 1;
                    for (int k = 3 - nax; k < 3; k++) per *= d[k];
                    for (int64_t o = 0; o < n / per; o++) {
                        double acc = op == 2 ? -INFINITY : op == 3 ? INFINITY : 0;
                        bool nan = false;
                        for (int64_t i = 0; i < per; i++) {
                            double e = (x[o * per + i] + b[(o * per + i) % L]) * 0.5;
                            if (dt == LBK_F32) e = (float)((float)(x[o * per + i] + b[(o * per + i) % L]) * 0.5f);
                            nan |= e != e;
                            acc = op <= 1 ? acc + e : op == 2 ? (e > acc ? e : acc) : (e < acc ? e : acc);
                        }
                        if (op == 1) acc /= (double)per;
                        if (nan) { assert_true(got[o] != got[o]); continue; }
                        double tol = (dt == LBK_F32 ? 3e-6 : 1e-14) * (1 + fabs(acc) + (op == 0 ? sqrt((double)per) : 0));
                        if (!(fabs(got[o] - acc) <= tol))
                            fail_msg("tail op %d over %d axes of [%lld,%lld,%lld], %d threads, output %lld: got %.9g, want %.9g",
                                     op, nax, (long long)d[0], (long long)d[1], (long long)d[2], th, (long long)o, got[o], acc);
                    }
                    assert_ctx_ok(ctx);
                    lbk_ctx_destroy(ctx);
                    free(x); free(b); free(got);
                }
}

/* A matmul with its bias and activation fused as its epilogue (the linear layer): shapes
   around the blocks (rows past MC, columns past NC, depth past KC, depth 0), a batch,
   both dtypes, 1 and 2 threads; checked against a float64 loop. */
static void test_matmul_epilogue(void **state) {
    (void)state;
    static const int64_t shapes[][4] = {{1, 5, 7, 3}, {1, 97, 17, 257}, {2, 13, 2049, 5}, {1, 200, 64, 300}, {3, 4, 6, 0}};
    for (int th = 1; th <= 2; th++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int f = 0; f < 2; f++)
                for (int act = 0; act < 3; act++) {
                    lbk_dtype dt = f ? LBK_F64 : LBK_F32;
                    int64_t B = shapes[s][0], M = shapes[s][1], N = shapes[s][2], K = shapes[s][3];
                    int64_t da[3] = {B, M, K}, dw[2] = {N, K};
                    lbk_ctx_desc desc = {0};
                    desc.backend = "cpu";
                    desc.n_threads = th;
                    lbk_ctx *ctx = lbk_ctx_create(&desc);
                    double *a = malloc(sizeof(double) * (size_t)(B * M * K + 1)), *w = malloc(sizeof(double) * (size_t)(N * K + 1));
                    double *bias = malloc(sizeof(double) * (size_t)N), *got = malloc(sizeof(double) * (size_t)(B * M * N));
                    tfill(a, B * M * K, -1, 1, 300 + s);
                    tfill(w, N * K, -1, 1, 400 + s);
                    tfill(bias, N, -1, 1, 500 + s);
                    if (dt == LBK_F32) {
                        for (int64_t i = 0; i < B * M * K; i++) a[i] = (float)a[i];
                        for (int64_t i = 0; i < N * K; i++) w[i] = (float)w[i];
                        for (int64_t i = 0; i < N; i++) bias[i] = (float)bias[i];
                    }
                    lbk_tensor lin = lbk_linear(ctx, tfrom(ctx, dt, 3, da, a), tfrom(ctx, dt, 2, dw, w), tfrom(ctx, dt, 1, &N, bias));
                    lbk_tensor y = act == 0 ? lbk_relu(ctx, lin) : act == 1 ? lbk_tanh(ctx, lin) : lbk_gelu(ctx, lin, false);
                    if (!getenv("LAZYBK_CPU_REFERENCE")) assert_contains(lbk_backend_text(ctx, &y, 1), "as its epilogue");
                    tread(ctx, y, got);
                    for (int64_t bm = 0; bm < B * M; bm++)
                        for (int64_t j = 0; j < N; j++) {
                            double acc = bias[j], want;
                            for (int64_t k = 0; k < K; k++) acc += a[bm * K + k] * w[j * K + k];
                            want = act == 0 ? (acc > 0 ? acc : 0) : act == 1 ? tanh(acc) : 0.5 * acc * (1 + erf(acc / sqrt(2.0)));
                            double tol = (dt == LBK_F32 ? 3e-6 : 1e-13) * (double)(K + 2);
                            if (!(fabs(got[bm * N + j] - want) <= tol))
                                fail_msg("epilogue %d, [%lld,%lld,%lld]x[%lld] %s, %d threads, at (%lld,%lld): got %.9g, want %.9g",
                                         act, (long long)B, (long long)M, (long long)K, (long long)N, lbk_dtype_name(dt), th,
                                         (long long)bm, (long long)j, got[bm * N + j], want);
                        }
                    assert_ctx_ok(ctx);
                    lbk_ctx_destroy(ctx);
                    free(a); free(w); free(bias); free(got);
                }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_random_graphs), cmocka_unit_test(test_matmul_transposed_b), cmocka_unit_test(test_composites_whole), cmocka_unit_test(test_fused_plan), cmocka_unit_test(test_threads_large),
    cmocka_unit_test(test_matmul_blocked), cmocka_unit_test(test_fused_reduction_tail), cmocka_unit_test(test_matmul_epilogue),
    cmocka_unit_test(test_matmul_narrow_weight),
};
TEST_GROUP(fast_tests, tests);
