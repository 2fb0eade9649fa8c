/* scaled_dot_product_attention (issue 15) on both cpu paths against a float64 loop written
   here: grouped-query heads, L != S, causal (top-left), bool and additive masks broadcast
   from fewer dims, explicit and default scales, f32/f64/f16, empty dims, fully masked rows,
   argument errors named after the call, a module round trip. */
#include "common.h"
#include <stdio.h>
#include <stdlib.h>

static const char *const paths[2] = {"cpu", "cpu-reference"};

/* q [B, Hq, L, E], k [B, Hk, S, E], v [B, Hk, S, Ev]; mask (NULL, or [L, S] of bool (mk 1) or
   additive (mk 2)); out [B, Hq, L, Ev]. */
static void ref_attention(int B, int Hq, int Hk, int L, int S, int E, int Ev, const double *q, const double *k, const double *v,
                          const double *mask, int mk, bool causal, double scale, double *out) {
    for (int b = 0; b < B; b++)
        for (int h = 0; h < Hq; h++) {
            int hk = h / (Hq / Hk);
            for (int i = 0; i < L; i++) {
                double s[512], mx = -INFINITY, sum = 0;
                for (int j = 0; j < S; j++) {
                    double d = 0;
                    for (int e = 0; e < E; e++) d += q[((b * Hq + h) * L + i) * E + e] * k[((b * Hk + hk) * S + j) * E + e];
                    d *= scale;
                    if (causal && j > i) d = -INFINITY;
                    if (mk == 1 && mask[i * S + j] == 0) d = -INFINITY;
                    if (mk == 2) d += mask[i * S + j];
                    s[j] = d;
                    if (d > mx) mx = d;
                }
                for (int j = 0; j < S; j++) { s[j] = exp(s[j] - mx); sum += s[j]; }
                for (int e = 0; e < Ev; e++) {
                    double acc = 0;
                    for (int j = 0; j < S; j++) acc += s[j] / sum * v[((b * Hk + hk) * S + j) * Ev + e];
                    out[((b * Hq + h) * L + i) * Ev + e] = acc;
                }
            }
        }
}

static void test_sdpa_values(void **state) {
    (void)state;
    enum { B = 2, HQ = 4, HK = 2, L = 3, S = 5, E = 4, EV = 3 };
    int64_t qd[4] = {B, HQ, L, E}, kd[4] = {B, HK, S, E}, vd[4] = {B, HK, S, EV}, md[2] = {L, S};
    double q[B * HQ * L * E], k[B * HK * S * E], v[B * HK * S * EV], bm[L * S], am[L * S], want[B * HQ * L * EV], got[B * HQ * L * EV];
    tfill(q, B * HQ * L * E, -2, 2, 1);
    tfill(k, B * HK * S * E, -2, 2, 2);
    tfill(v, B * HK * S * EV, -3, 3, 3);
    tfill(am, L * S, -2, 1, 4);
    for (int i = 0; i < L * S; i++) bm[i] = (i * 7 % 3) != 0 || i % S == 0;   /* every row keeps column 0 */
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        lbk_dtype dts[3] = {LBK_F64, LBK_F32, LBK_F16};
        for (int di = 0; di < 3; di++) {
            double tol = dts[di] == LBK_F64 ? 1e-12 : dts[di] == LBK_F32 ? 2e-6 : 2e-2;
            /* f16 inputs: the reference reads the rounded values */
            double qr[B * HQ * L * E], kr[B * HK * S * E], vr[B * HK * S * EV], amr[L * S];
            lbk_tensor tq = tfrom(ctx, dts[di], 4, qd, q), tk = tfrom(ctx, dts[di], 4, kd, k), tv = tfrom(ctx, dts[di], 4, vd, v);
            lbk_tensor tam = tfrom(ctx, dts[di], 2, md, am), tbm = tfrom(ctx, LBK_BOOL, 2, md, bm), none = {0};
            tread(ctx, tq, qr);
            tread(ctx, tk, kr);
            tread(ctx, tv, vr);
            tread(ctx, tam, amr);
            for (int variant = 0; variant < 5; variant++) {
                double scale = variant == 4 ? 0.7 : 1 / sqrt((double)E);
                lbk_tensor mask = variant == 2 ? tbm : variant == 3 ? tam : none;
                bool causal = variant == 1 || variant == 4;
                lbk_tensor o = lbk_scaled_dot_product_attention(ctx, tq, tk, tv, mask, causal, variant == 4 ? 0.7 : 0);
                if (!o.id) fail_msg("%s: %s", paths[p], lbk_ctx_error(ctx));
                assert_int_equal(lbk_type(ctx, o), dts[di]);
                assert_int_equal(lbk_dim(ctx, o, 3), EV);
                ref_attention(B, HQ, HK, L, S, E, EV, qr, kr, vr, variant == 2 ? bm : amr, variant == 2 ? 1 : variant == 3 ? 2 : 0, causal, scale, want);
                tread(ctx, o, got);
                for (int i = 0; i < B * HQ * L * EV; i++)
                    if (fabs(got[i] - want[i]) > tol * (1 + fabs(want[i])))
                        fail_msg("%s %s variant %d [%d]: %.17g, want %.17g", paths[p], lbk_dtype_name(dts[di]), variant, i, got[i], want[i]);
            }
        }
        /* a mask broadcast from [B, 1, L, S]; rank 2 (no heads); a fully masked row is NaN */
        {
            int64_t d2[2] = {3, 2}, m4[4] = {B, 1, L, S};
            double m[B * L * S], x[6] = {1, 0, 0, 1, 1, 1}, o2[6];
            tfill(m, B * L * S, -1, 1, 9);
            lbk_tensor tq = tfrom(ctx, LBK_F64, 4, qd, q), tk = tfrom(ctx, LBK_F64, 4, kd, k), tv = tfrom(ctx, LBK_F64, 4, vd, v);
            lbk_tensor o = lbk_scaled_dot_product_attention(ctx, tq, tk, tv, tfrom(ctx, LBK_F64, 4, m4, m), false, 0);
            tread(ctx, o, got);
            for (int b = 0; b < B; b++) {
                double sub[HQ * L * EV];
                ref_attention(1, HQ, HK, L, S, E, EV, q + b * HQ * L * E, k + b * HK * S * E, v + b * HK * S * EV, m + b * L * S, 2, false, 1 / sqrt(4.0), sub);
                tclose(got + b * HQ * L * EV, sub, HQ * L * EV, 1e-12, "mask [B,1,L,S]");
            }
            lbk_tensor t2 = tfrom(ctx, LBK_F32, 2, d2, x);
            double mb[9] = {1, 0, 0, 0, 0, 0, 1, 1, 1};
            int64_t m33[2] = {3, 3};
            lbk_tensor o3 = lbk_scaled_dot_product_attention(ctx, t2, t2, t2, tfrom(ctx, LBK_BOOL, 2, m33, mb), false, 0);
            tread(ctx, o3, o2);
            assert_true(o2[0] == 1 && o2[1] == 0);   /* row 0 sees key 0 only */
            assert_true(isnan(o2[2]) && isnan(o2[3]));   /* row 1 sees nothing */
            /* a NaN in a value row that causal masking hides: the math path's weight 0 times it is
               NaN, and the fused kernel says the same (found by fuzz-diff) */
            {
                double vq[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, vv[6] = {1, 2, 3, 4, NAN, 6}, on[6];
                lbk_tensor t3 = tfrom(ctx, LBK_F32, 2, d2, vq), v3 = tfrom(ctx, LBK_F32, 2, d2, vv);
                tread(ctx, lbk_scaled_dot_product_attention(ctx, t3, t3, v3, (lbk_tensor){0}, true, 0), on);
                assert_true(isnan(on[0]) && isnan(on[2]) && isnan(on[4]));   /* every row meets the NaN (weight 0 or not) */
                assert_true(on[1] == 2);   /* the other column is untouched */
                vv[4] = 5;
                tread(ctx, lbk_scaled_dot_product_attention(ctx, t3, t3, tfrom(ctx, LBK_F32, 2, d2, vv), (lbk_tensor){0}, true, 0), on);
                assert_true(on[0] == 1 && on[1] == 2);   /* row 0 sees key 0 alone */
            }
            /* no keys (S = 0): the math path's matmul over nothing is 0 */
            {
                lbk_tensor q0 = lbk_full(ctx, LBK_F32, 3, (int64_t[]){2, 3, 4}, 1), k0 = lbk_full(ctx, LBK_F32, 3, (int64_t[]){2, 0, 4}, 1);
                lbk_tensor v0 = lbk_full(ctx, LBK_F32, 3, (int64_t[]){2, 0, 5}, 1);
                double z[30];
                tread(ctx, lbk_scaled_dot_product_attention(ctx, q0, k0, v0, (lbk_tensor){0}, false, 0), z);
                for (int i = 0; i < 30; i++) assert_true(z[i] == 0);
            }
            /* empty: L = 0 */
            int64_t e0[4] = {1, 2, 0, 4};
            lbk_tensor eq = lbk_full(ctx, LBK_F32, 4, e0, 1), ek = lbk_full(ctx, LBK_F32, 4, (int64_t[]){1, 2, 3, 4}, 1);
            lbk_tensor ev = lbk_full(ctx, LBK_F32, 4, (int64_t[]){1, 2, 3, 5}, 1);
            lbk_tensor oe = lbk_scaled_dot_product_attention(ctx, eq, ek, ev, (lbk_tensor){0}, true, 0);
            assert_int_equal(lbk_dim(ctx, oe, 2), 0);
            assert_int_equal(lbk_sync(ctx, &oe, 1), LBK_OK);
        }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* The fast path runs attention whole (no decomposition; an online softmax) over a long
   causal sequence and a long bool-masked one, and agrees with the float64 loop; the
   reference path decomposes. */
static void test_sdpa_long(void **state) {
    (void)state;
    enum { B = 1, HQ = 4, HK = 1, L = 300, E = 16 };
    int64_t qd[4] = {B, HQ, L, E}, kd[4] = {B, HK, L, E}, md[2] = {L, L};
    static double q[B * HQ * L * E], k[B * HK * L * E], v[B * HK * L * E], m[L * L], want[B * HQ * L * E], got[B * HQ * L * E];
    tfill(q, B * HQ * L * E, -1, 1, 21);
    tfill(k, B * HK * L * E, -1, 1, 22);
    tfill(v, B * HK * L * E, -2, 2, 23);
    for (int i = 0; i < L * L; i++) m[i] = (i * 2654435761u) % 5 != 0 || i % L == 0;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        for (int dt = 0; dt < 2; dt++) {
            lbk_dtype t = dt ? LBK_F64 : LBK_F32;
            double tol = dt ? 1e-12 : 3e-6;
            lbk_tensor tq = tfrom(ctx, t, 4, qd, q), tk = tfrom(ctx, t, 4, kd, k), tv = tfrom(ctx, t, 4, kd, v), none = {0};
            int64_t before = lbk_counter(ctx, "decompositions");
            for (int variant = 0; variant < 2; variant++) {
                lbk_tensor o = lbk_scaled_dot_product_attention(ctx, tq, tk, tv, variant ? tfrom(ctx, LBK_BOOL, 2, md, m) : none, !variant, 0);
                if (dt == 1) ref_attention(B, HQ, HK, L, L, E, E, q, k, v, m, variant ? 1 : 0, !variant, 0.25, want);
                else {   /* f32 inputs: the reference reads the rounded values */
                    static double q32[B * HQ * L * E], k32[B * HK * L * E], v32[B * HK * L * E];
                    for (int i = 0; i < B * HQ * L * E; i++) q32[i] = (float)q[i];
                    for (int i = 0; i < B * HK * L * E; i++) { k32[i] = (float)k[i]; v32[i] = (float)v[i]; }
                    ref_attention(B, HQ, HK, L, L, E, E, q32, k32, v32, m, variant ? 1 : 0, !variant, 0.25, want);
                }
                tread(ctx, o, got);
                tclose(got, want, B * HQ * L * E, tol, variant ? "long masked attention" : "long causal attention");
            }
            if (p == 0 && !getenv("LAZYBK_CPU_REFERENCE")) assert_int_equal(lbk_counter(ctx, "decompositions"), before);   /* the fast path ran it whole */
            else assert_true(lbk_counter(ctx, "decompositions") > before);
        }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static void test_sdpa_errors(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t qd[4] = {1, 4, 3, 8}, kd[4] = {1, 3, 5, 8}, vd[4] = {1, 2, 5, 8}, k2[4] = {1, 2, 5, 8}, md[2] = {3, 4}, bad_e[4] = {1, 2, 5, 7};
    lbk_tensor q = lbk_full(ctx, LBK_F32, 4, qd, 1), none = {0};
    struct { lbk_tensor k, v, m; bool causal; double scale; lbk_result r; const char *why; } cases[] = {
        {lbk_full(ctx, LBK_F32, 4, kd, 1), lbk_full(ctx, LBK_F32, 4, kd, 1), none, false, 0, LBK_ERR_SHAPE, "the heads of query f32[1,4,3,8] must be a multiple of key f32[1,3,5,8]'s"},
        {lbk_full(ctx, LBK_F32, 4, k2, 1), lbk_full(ctx, LBK_F32, 4, kd, 1), none, false, 0, LBK_ERR_SHAPE, "key's and value"},
        {lbk_full(ctx, LBK_F32, 4, bad_e, 1), lbk_full(ctx, LBK_F32, 4, vd, 1), none, false, 0, LBK_ERR_SHAPE, "needs [..., L, E], [..., S, E], [..., S, Ev]"},
        {lbk_full(ctx, LBK_F64, 4, k2, 1), lbk_full(ctx, LBK_F32, 4, vd, 1), none, false, 0, LBK_ERR_DTYPE, "must share one float dtype"},
        {lbk_full(ctx, LBK_F32, 4, k2, 1), lbk_full(ctx, LBK_F32, 4, vd, 1), lbk_full(ctx, LBK_BOOL, 2, md, 1), false, 0, LBK_ERR_SHAPE, "the mask bool[3,4] does not broadcast"},
        {lbk_full(ctx, LBK_F32, 4, k2, 1), lbk_full(ctx, LBK_F32, 4, vd, 1), lbk_full(ctx, LBK_BOOL, 2, (int64_t[]){3, 5}, 1), true, 0, LBK_ERR_ARG, "takes a mask or is_causal, not both"},
        {lbk_full(ctx, LBK_F32, 4, k2, 1), lbk_full(ctx, LBK_F32, 4, vd, 1), lbk_full(ctx, LBK_I32, 2, (int64_t[]){3, 5}, 1), false, 0, LBK_ERR_DTYPE, "the mask i32[3,5] must be bool or f32"},
        {lbk_full(ctx, LBK_F32, 4, k2, 1), lbk_full(ctx, LBK_F32, 4, vd, 1), none, false, -1, LBK_ERR_ARG, "scale -1 must be finite and >= 0"},
        {lbk_full(ctx, LBK_F32, 4, k2, 1), lbk_full(ctx, LBK_F32, 4, vd, 1), none, false, NAN, LBK_ERR_ARG, "must be finite"},
        {lbk_full(ctx, LBK_F32, 3, k2 + 1, 1), lbk_full(ctx, LBK_F32, 4, vd, 1), none, false, 0, LBK_ERR_SHAPE, "must have one rank"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lbk_tensor o = lbk_scaled_dot_product_attention(ctx, q, cases[i].k, cases[i].v, cases[i].m, cases[i].causal, cases[i].scale);
        assert_int_equal(o.id, 0);
        if (lbk_ctx_result(ctx) != cases[i].r) fail_msg("case %zu: %s", i, lbk_ctx_error(ctx));
        assert_contains(lbk_ctx_error(ctx), "lbk_scaled_dot_product_attention: ");
        assert_contains(lbk_ctx_error(ctx), cases[i].why);
        lbk_ctx_clear_error(ctx);
    }
    lbk_tensor qi = lbk_full(ctx, LBK_I32, 2, md, 1);
    assert_int_equal(lbk_scaled_dot_product_attention(ctx, qi, qi, qi, none, false, 0).id, 0);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
    lbk_ctx_clear_error(ctx);
    assert_string_equal(lbk_op_schema(LBK_OP_SDPA), "scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask, float dropout_p, bool is_causal, float? scale) -> Tensor");
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

/* traced into a module with a bool mask and a causal call, saved, loaded, run against
   the same ops run directly */
static void test_sdpa_module(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t qd[3] = {2, 3, 4}, kd[3] = {1, 5, 4}, md[2] = {3, 5};
    const int64_t *dims[3] = {qd, kd, md};
    int nds[3] = {3, 3, 2};
    lbk_dtype dts[3] = {LBK_F32, LBK_F32, LBK_BOOL};
    double q[24], k[20], mk[15], a[24], b[24];
    tfill(q, 24, -1, 1, 5);
    tfill(k, 20, -1, 1, 6);
    for (int i = 0; i < 15; i++) mk[i] = i % 2 == 0;
    lbk_module *m = lbk_module_create(ctx, "Attn");
    lbk_tensor x[3], y, none = {0};
    assert_int_equal(lbk_method_begin(m, "forward", 3, dts, nds, dims, x), LBK_OK);
    y = lbk_scaled_dot_product_attention(ctx, lbk_scaled_dot_product_attention(ctx, x[0], x[1], x[1], x[2], false, 0), x[1], x[1], none, true, 0.5);
    assert_int_equal(lbk_method_end(m, &y, 1), LBK_OK);
    assert_int_equal(lbk_module_save(m, "build/test_sdpa.lbkm"), LBK_OK);
    lbk_module_destroy(m);
    lbk_module *ld = lbk_module_load(ctx, "build/test_sdpa.lbkm");
    if (!ld) fail_msg("%s", lbk_ctx_error(ctx));
    lbk_tensor in[3] = {tfrom(ctx, LBK_F32, 3, qd, q), tfrom(ctx, LBK_F32, 3, kd, k), tfrom(ctx, LBK_BOOL, 2, md, mk)}, out;
    assert_int_equal(lbk_module_run(ld, "forward", in, 3, &out, 1), LBK_OK);
    tread(ctx, out, b);
    tread(ctx, lbk_scaled_dot_product_attention(ctx, lbk_scaled_dot_product_attention(ctx, in[0], in[1], in[1], in[2], false, 0), in[1], in[1], none, true, 0.5), a);
    tclose(b, a, 24, 0, "module round trip");
    lbk_module_destroy(ld);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sdpa_values), cmocka_unit_test(test_sdpa_long), cmocka_unit_test(test_sdpa_errors), cmocka_unit_test(test_sdpa_module),
};
TEST_GROUP(attention_tests, tests);
