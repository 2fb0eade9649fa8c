/* The narrow dtypes (issue 15, first part): f16, bf16, i8, u8. Conversions are checked
   bit for bit over all 65,536 f16 and bf16 patterns against references written here
   independently: decoding by the formula, encoding by construction (every value, every
   midpoint between neighbours, which must go to the even one, and the doubles just either
   side of each midpoint). Ops on both cpu paths against float64 rounded once by a
   bisection over the sorted table of values. Promotion as in API.md; .npy, DLPack and
   module files carry the new dtypes. */
#include "common.h"
#include <stdio.h>

typedef struct fmt16 { lbk_dtype dt; int mbits, ebits; const char *name; } fmt16;
static const fmt16 k_fmts[2] = {{LBK_F16, 10, 5, "f16"}, {LBK_BF16, 7, 8, "bf16"}};

/* The value of a 16-bit pattern, by the textbook formula. */
static double ref_decode(const fmt16 *f, uint32_t bits) {
    int bias = (1 << (f->ebits - 1)) - 1;
    uint32_t m = bits & ((1u << f->mbits) - 1), e = (bits >> f->mbits) & ((1u << f->ebits) - 1);
    double s = (bits >> 15) ? -1.0 : 1.0;
    if (e == (1u << f->ebits) - 1) return m ? NAN : s * INFINITY;
    if (e == 0) return s * (double)m * pow(2.0, 1 - bias - f->mbits);
    return s * (1.0 + (double)m / (double)(1u << f->mbits)) * pow(2.0, (int)e - bias);
}
static uint32_t lib_encode(const fmt16 *f, double v) {
    uint16_t out = 0;
    lbk_store_f64(f->dt, &out, 0, v);
    return out;
}
static double lib_decode(const fmt16 *f, uint32_t bits) {
    uint16_t in = (uint16_t)bits;
    return lbk_load_f64(f->dt, &in, 0);
}

/* Nearest representable value by bisection over the positive finite patterns (their order
   is their value's), ties to the even pattern; past the largest finite by half an ulp: inf. */
static uint32_t ref_round(const fmt16 *f, double v) {
    uint32_t top = ((1u << f->ebits) - 1) << f->mbits;   /* the inf pattern */
    uint32_t sign = (v < 0 || (v == 0 && signbit(v))) ? 0x8000u : 0, lo = 0, hi = top - 1;
    double a = fabs(v);
    if (v != v) return 0xffffffffu;
    if (a >= ref_decode(f, top - 1) + (ref_decode(f, top - 1) - ref_decode(f, top - 2)) / 2) {
        double mid = ref_decode(f, top - 1) + (ref_decode(f, top - 1) - ref_decode(f, top - 2)) / 2;
        if (a > mid || ((top - 1) & 1)) return sign | top;   /* the tie goes to inf (even) when the largest is odd */
        return sign | (top - 1);
    }
    while (lo < hi) {   /* the last pattern whose value is <= a */
        uint32_t mid = (lo + hi + 1) / 2;
        if (ref_decode(f, mid) <= a) lo = mid; else hi = mid - 1;
    }
    if (lo < top - 1) {
        double d0 = a - ref_decode(f, lo), d1 = ref_decode(f, lo + 1) - a;
        if (d1 < d0 || (d1 == d0 && (lo & 1))) lo++;
    }
    return sign | lo;
}

static void test_narrow_float_decode_all(void **state) {
    (void)state;
    for (int k = 0; k < 2; k++) {
        const fmt16 *f = &k_fmts[k];
        int bad = 0;
        for (uint32_t b = 0; b < 65536; b++) {
            double want = ref_decode(f, b), got = lib_decode(f, b);
            if (isnan(want) ? !isnan(got) : (got != want || signbit(got) != signbit(want))) {
                if (bad++ < 5) print_message("%s 0x%04x: %.17g, want %.17g\n", f->name, b, got, want);
            }
        }
        assert_int_equal(bad, 0);
    }
}

static void test_narrow_float_encode_all(void **state) {
    (void)state;
    for (int k = 0; k < 2; k++) {
        const fmt16 *f = &k_fmts[k];
        uint32_t inf = ((1u << f->ebits) - 1) << f->mbits;
        int bad = 0;
        long checked = 0;
        for (uint32_t b = 0; b < 65536; b++) {
            double v = ref_decode(f, b);
            if (isnan(v)) {   /* quiet, sign and payload's top bits kept */
                uint32_t got = lib_encode(f, v);
                if ((got & 0x7fffu) <= inf || (got >> 15) != 0) bad++;
                uint32_t rt = lib_encode(f, lib_decode(f, b));
                if (rt != (b | (1u << (f->mbits - 1)))) { if (bad++ < 5) print_message("%s NaN 0x%04x -> 0x%04x\n", f->name, b, rt); }
                checked += 2;
                continue;
            }
            if (lib_encode(f, v) != b) { if (bad++ < 5) print_message("%s 0x%04x round trip -> 0x%04x\n", f->name, b, lib_encode(f, v)); }
            checked++;
            if ((b & 0x7fffu) >= inf - 1 + 1 || (b & 0x7fffu) == inf - 1) {   /* the largest finite: its midpoint to inf */
                if ((b & 0x7fffu) != inf - 1) continue;
            }
            {   /* the midpoint to the next pattern away from zero, and the doubles either side */
                double next = (b & 0x7fffu) == inf - 1 ? fabs(v) + (fabs(v) - fabs(ref_decode(f, b - 1))) : fabs(ref_decode(f, b + 1));
                double mid = (fabs(v) + next) / 2, sg = (b >> 15) ? -1 : 1;
                double below = nextafter(mid, 0), above = nextafter(mid, INFINITY);
                uint32_t w_mid = ref_round(f, sg * mid), w_below = ref_round(f, sg * below), w_above = ref_round(f, sg * above);
                uint32_t g_mid = lib_encode(f, sg * mid), g_below = lib_encode(f, sg * below), g_above = lib_encode(f, sg * above);
                if (g_mid != w_mid || g_below != w_below || g_above != w_above) {
                    if (bad++ < 5)
                        print_message("%s near 0x%04x: mid 0x%04x (want 0x%04x), below 0x%04x (0x%04x), above 0x%04x (0x%04x)\n", f->name, b,
                                      g_mid, w_mid, g_below, w_below, g_above, w_above);
                }
                /* the even one of the two at the tie, by construction */
                uint32_t lo_b = b, hi_b = (b & 0x7fffu) == inf - 1 ? (b & 0x8000u) | inf : b + 1;
                if (g_mid != ((lo_b & 1) ? hi_b : lo_b)) { if (bad++ < 5) print_message("%s tie after 0x%04x -> 0x%04x\n", f->name, b, g_mid); }
                checked += 4;
            }
        }
        /* far outside: huge to inf, tiny to zero with its sign, the smallest subnormal's half a tie to 0 */
        if (lib_encode(f, 1e300) != inf || lib_encode(f, -1e300) != (0x8000u | inf)) bad++;
        if (lib_encode(f, 1e-300) != 0 || lib_encode(f, -1e-300) != 0x8000u) bad++;
        if (lib_encode(f, ref_decode(f, 1) / 2) != 0 || lib_encode(f, nextafter(ref_decode(f, 1) / 2, 1)) != 1) bad++;
        print_message("%s: %ld encodings checked\n", f->name, checked);
        assert_int_equal(bad, 0);
    }
    /* integers past 2^53 round once (not through a double's rounding first) */
    {
        int64_t tie = ((int64_t)1 << 60) + ((int64_t)1 << 52);   /* exactly halfway between two bf16 values */
        uint16_t out;
        lbk_store_i64(LBK_BF16, &out, 0, tie);
        assert_int_equal(out, ref_round(&k_fmts[1], ldexp(1.0, 60)));                  /* to even: down */
        lbk_store_i64(LBK_BF16, &out, 0, tie + 1);   /* a hair above, although (double)(tie + 1) is the tie */
        assert_int_equal(out, ref_round(&k_fmts[1], ldexp(1.0, 60) + ldexp(1.0, 53)));  /* up */
        lbk_store_i64(LBK_BF16, &out, 0, -(tie + 1));
        assert_int_equal(out, 0x8000u | ref_round(&k_fmts[1], ldexp(1.0, 60) + ldexp(1.0, 53)));
    }
}

static void test_narrow_promotion(void **state) {
    (void)state;
    assert_int_equal(lbk_dtype_promote(LBK_F16, LBK_BF16), LBK_F32);
    assert_int_equal(lbk_dtype_promote(LBK_U8, LBK_I8), LBK_I32);
    assert_int_equal(lbk_dtype_promote(LBK_F16, LBK_I64), LBK_F16);
    assert_int_equal(lbk_dtype_promote(LBK_BF16, LBK_F32), LBK_F32);
    assert_int_equal(lbk_dtype_promote(LBK_U8, LBK_BOOL), LBK_U8);
    assert_int_equal(lbk_dtype_promote(LBK_I8, LBK_I32), LBK_I32);
    assert_int_equal(lbk_dtype_promote(LBK_F16, LBK_F64), LBK_F64);
    assert_int_equal(lbk_dtype_promote(LBK_I8, LBK_I8), LBK_I8);
    assert_string_equal(lbk_dtype_name(LBK_BF16), "bf16");
    assert_int_equal(lbk_dtype_from_name("u8"), LBK_U8);
    assert_int_equal(lbk_dtype_size(LBK_F16), 2);
    assert_true(lbk_dtype_is_float(LBK_BF16) && !lbk_dtype_is_float(LBK_U8));
    lbk_ctx *ctx = tctx();
    int64_t n2 = 2;
    uint16_t h[2];
    lbk_store_f64(LBK_F16, h, 0, 1.5);
    lbk_store_f64(LBK_F16, h, 1, -2);
    lbk_tensor x = lbk_from_host(ctx, LBK_F16, 1, &n2, h);
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, x, lbk_scalar(ctx, LBK_F64, 2.5))), LBK_F16);   /* a wrapped scalar keeps f16 */
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, x, lbk_scalar(ctx, LBK_I64, 3))), LBK_F16);
    uint8_t u[2] = {200, 7};
    lbk_tensor ux = lbk_from_host(ctx, LBK_U8, 1, &n2, u);
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, ux, lbk_scalar(ctx, LBK_I64, 1))), LBK_U8);
    assert_int_equal(lbk_type(ctx, lbk_add(ctx, ux, x)), LBK_F16);
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_ctx_destroy(ctx);
}

/* Elementwise ops, a reduction, a matmul and a composite on f16 and bf16, both paths,
   against float64 rounded once to the dtype. */
static void test_narrow_float_ops(void **state) {
    (void)state;
    const char *paths[2] = {"cpu", "cpu-reference"};
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 2; k++) {
            const fmt16 *f = &k_fmts[k];
            lbk_ctx *ctx = tctx_on(paths[p]);
            enum { N = 48 };
            int64_t n = N, d68[2] = {6, 8}, d84[2] = {8, 4};
            double a[N], b[N];
            uint16_t ha[N], hb[N], got[N];
            tfill(a, N, -3, 3, 11 + k);
            tfill(b, N, 0.25, 4, 12 + k);
            for (int i = 0; i < N; i++) { ha[i] = (uint16_t)ref_round(f, a[i]); hb[i] = (uint16_t)ref_round(f, b[i]); a[i] = ref_decode(f, ha[i]); b[i] = ref_decode(f, hb[i]); }
            lbk_tensor ta = lbk_from_host(ctx, f->dt, 1, &n, ha), tb = lbk_from_host(ctx, f->dt, 1, &n, hb);
            struct { const char *name; lbk_tensor t; double (*ref)(double, double); } ew[] = {
                {"add", lbk_add(ctx, ta, tb), NULL}, {"mul", lbk_mul(ctx, ta, tb), NULL}, {"div", lbk_div(ctx, ta, tb), NULL},
                {"exp", lbk_exp(ctx, ta), NULL}, {"tanh", lbk_tanh(ctx, ta), NULL}, {"sqrt", lbk_sqrt(ctx, tb), NULL},
            };
            for (size_t e = 0; e < sizeof ew / sizeof ew[0]; e++) {
                assert_int_equal(lbk_type(ctx, ew[e].t), f->dt);
                assert_int_equal(lbk_read(ctx, ew[e].t, got, sizeof got), LBK_OK);
                int bad = 0;
                for (int i = 0; i < N; i++) {
                    double w = e == 0 ? a[i] + b[i] : e == 1 ? a[i] * b[i] : e == 2 ? a[i] / b[i] : e == 3 ? exp(a[i]) : e == 4 ? tanh(a[i]) : sqrt(b[i]);
                    uint32_t want = ref_round(f, w);
                    /* the reference path rounds once from the exact value; the fast path computes in f32
                       (exact for add and mul of these), so div, sqrt and the vector exp/tanh may land
                       one pattern off (rounded twice, or from a 2-ulp f32 value) */
                    int64_t diff = (int64_t)got[i] - (int64_t)want;
                    if (!(diff == 0 || (e >= 2 && p == 0 && (diff == 1 || diff == -1)))) {
                        if (bad++ < 3) print_message("%s %s %s[%d]: 0x%04x want 0x%04x\n", paths[p], f->name, ew[e].name, i, got[i], want);
                    }
                }
                assert_int_equal(bad, 0);
            }
            /* sum and mean (f32 accumulation at least), rounded once */
            double s = 0;
            for (int i = 0; i < N; i++) s += a[i];
            uint16_t r1;
            assert_int_equal(lbk_read(ctx, lbk_sum(ctx, ta, 0, NULL, false), &r1, sizeof r1), LBK_OK);
            assert_true(fabs(lib_decode(f, r1) - s) <= fabs(s) * ldexp(1.0, -f->mbits) + 1e-6);
            assert_int_equal(lbk_read(ctx, lbk_mean(ctx, ta, 0, NULL, false), &r1, sizeof r1), LBK_OK);
            assert_true(fabs(lib_decode(f, r1) - s / N) <= fabs(s / N) * ldexp(1.0, -f->mbits) + 1e-6);
            /* matmul [6,8] @ [8,4] */
            lbk_tensor m = lbk_matmul(ctx, lbk_reshape(ctx, ta, 2, d68), lbk_reshape(ctx, lbk_slice(ctx, tb, 0, 0, 32, 1), 2, d84));
            assert_int_equal(lbk_type(ctx, m), f->dt);
            uint16_t mo[24];
            assert_int_equal(lbk_read(ctx, m, mo, sizeof mo), LBK_OK);
            for (int r = 0; r < 6; r++)
                for (int c = 0; c < 4; c++) {
                    double w = 0, mag = 0;
                    for (int q = 0; q < 8; q++) { w += a[r * 8 + q] * b[q * 4 + c]; mag += fabs(a[r * 8 + q] * b[q * 4 + c]); }
                    assert_true(fabs(lib_decode(f, mo[r * 4 + c]) - w) <= mag * ldexp(1.0, -f->mbits) + 1e-6);
                }
            /* a composite computes in f32 and gives the dtype back */
            lbk_tensor sm = lbk_softmax(ctx, lbk_reshape(ctx, ta, 2, d68), -1);
            assert_int_equal(lbk_type(ctx, sm), f->dt);
            uint16_t so[48];
            assert_int_equal(lbk_read(ctx, sm, so, sizeof so), LBK_OK);
            for (int r = 0; r < 6; r++) {
                double mx = -INFINITY, z = 0;
                for (int q = 0; q < 8; q++) mx = fmax(mx, a[r * 8 + q]);
                for (int q = 0; q < 8; q++) z += exp(a[r * 8 + q] - mx);
                for (int q = 0; q < 8; q++) {
                    double w = exp(a[r * 8 + q] - mx) / z;
                    assert_true(fabs(lib_decode(f, so[r * 8 + q]) - w) <= w * ldexp(1.0, -f->mbits) * 2 + 1e-6);
                }
            }
            /* casts: to f32 exactly, from f64 rounded once, to int truncating */
            float fo[N];
            assert_int_equal(lbk_read(ctx, lbk_cast(ctx, ta, LBK_F32), fo, sizeof fo), LBK_OK);
            for (int i = 0; i < N; i++) assert_true((double)fo[i] == a[i]);
            assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
            lbk_ctx_destroy(ctx);
        }
}

/* A fused f16/bf16 group big enough for the threaded path, with a broadcast operand, a
   short last tile and a sum tail: against float64 over the same inputs (the fast path keeps
   the product in f32 and rounds the sum once). */
static void test_narrow_fused_big(void **state) {
    (void)state;
    for (int k = 0; k < 2; k++) {
        const fmt16 *f = &k_fmts[k];
        lbk_ctx_desc d = {0};
        d.n_threads = 2;
        lbk_ctx *ctx = lbk_ctx_create(&d);
        enum { R = 600, C = 1001 };
        int64_t dx[2] = {R, C}, dw[1] = {C};
        uint16_t *hx = (uint16_t *)malloc(sizeof(uint16_t) * R * C), hw[C], *hy = (uint16_t *)malloc(sizeof(uint16_t) * R * C), hs[R];
        double *x = (double *)malloc(sizeof(double) * R * C), w[C];
        tfill(x, R * C, -2, 2, 31 + k);
        tfill(w, C, -1, 1, 41 + k);
        for (int i = 0; i < R * C; i++) { hx[i] = (uint16_t)ref_round(f, x[i]); x[i] = ref_decode(f, hx[i]); }
        for (int i = 0; i < C; i++) { hw[i] = (uint16_t)ref_round(f, w[i]); w[i] = ref_decode(f, hw[i]); }
        lbk_tensor tx = lbk_from_host(ctx, f->dt, 2, dx, hx), tw = lbk_from_host(ctx, f->dt, 1, dw, hw);
        lbk_tensor y = lbk_mul(ctx, lbk_add(ctx, tx, tw), tw);   /* (x + w) w, w broadcast over rows */
        int ax = 1;
        lbk_tensor s = lbk_sum(ctx, lbk_mul(ctx, tx, tw), 1, &ax, false);
        assert_int_equal(lbk_read(ctx, y, hy, sizeof(uint16_t) * R * C), LBK_OK);
        assert_int_equal(lbk_read(ctx, s, hs, sizeof hs), LBK_OK);
        int bad = 0;
        for (int r = 0; r < R; r++) {
            double sum = 0, mag = 0;
            for (int c = 0; c < C; c++) {
                double want = (x[r * C + c] + w[c]) * w[c], got = ref_decode(f, hy[r * C + c]);
                /* the reference rounds the sum and the product, the fast path the product (from f32) */
                if (fabs(got - want) > fabs(want) * ldexp(1.0, -f->mbits) + ref_decode(f, 1)) {   /* + the subnormal quantum */ if (bad++ < 3) print_message("%s y[%d,%d] %g vs %g\n", f->name, r, c, got, want); }
                sum += x[r * C + c] * w[c];
                mag += fabs(x[r * C + c] * w[c]);
            }
            if (fabs(ref_decode(f, hs[r]) - sum) > fabs(sum) * ldexp(1.0, -f->mbits) + mag * ldexp(1.0, -f->mbits - 1)) {   /* each product rounded (reference) */ if (bad++ < 6) print_message("%s sum[%d] %g vs %g\n", f->name, r, ref_decode(f, hs[r]), sum); }
        }
        assert_int_equal(bad, 0);
        free(hx); free(hy); free(x);
        lbk_ctx_destroy(ctx);
    }
}

/* Every data-movement op and the exact ops on each new dtype, both paths: on small
   integers (exact in all four) the results cast to f64 equal the same ops on f64. */
static lbk_tensor exact_ops(lbk_ctx *ctx, lbk_tensor x, int which) {
    int64_t d234[3] = {2, 3, 4}, d2234[4] = {2, 2, 3, 4};
    int perm[3] = {2, 0, 1}, ax1 = 1, ax02[2] = {0, 2};
    lbk_tensor r = lbk_reshape(ctx, x, 3, d234), parts[3];
    switch (which) {
    case 0: return lbk_permute(ctx, r, perm);
    case 1: parts[0] = r; parts[1] = lbk_slice(ctx, r, 1, 1, 3, 1); parts[2] = r; return lbk_concat(ctx, parts, 3, 1);
    case 2: return lbk_expand(ctx, lbk_slice(ctx, r, 0, 0, 1, 1), 4, d2234);
    case 3: return lbk_slice(ctx, lbk_transpose(ctx, r, 0, 2), 0, 2, 2, 1);   /* an empty slice */
    case 4: return lbk_slice(ctx, r, 2, 0, 4, 2);
    case 5: return lbk_where(ctx, lbk_gt(ctx, r, lbk_scalar(ctx, LBK_I64, 0)), r, lbk_neg(ctx, r));
    case 6: return lbk_amax(ctx, r, 1, &ax1, true);
    case 7: return lbk_amin(ctx, r, 2, ax02, false);
    case 8: return lbk_cast(ctx, lbk_argmax(ctx, r, 2, false), LBK_F64);
    case 9: return lbk_maximum(ctx, r, lbk_transpose(ctx, lbk_transpose(ctx, r, 0, 1), 0, 1));
    case 10: return lbk_sum(ctx, r, 1, &ax1, false);
    default: return lbk_reshape(ctx, lbk_relu(ctx, r), 1, (int64_t[]){24});
    }
}
static void test_narrow_exact_ops(void **state) {
    (void)state;
    const lbk_dtype dts[4] = {LBK_F16, LBK_BF16, LBK_I8, LBK_U8};
    const char *paths[2] = {"cpu", "cpu-reference"};
    double v[24];
    for (int i = 0; i < 24; i++) v[i] = (double)((i * 7) % 11) - 4;   /* -4..6 */
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t n24 = 24;
        lbk_tensor ref = lbk_from_host(ctx, LBK_F64, 1, &n24, v);
        for (int k = 0; k < 4; k++) {
            unsigned char buf[24 * 8];
            double src[24];
            for (int i = 0; i < 24; i++) src[i] = dts[k] == LBK_U8 ? fabs(v[i]) : v[i];
            for (int i = 0; i < 24; i++) lbk_store_f64(dts[k], buf, i, src[i]);
            lbk_tensor x = lbk_from_host(ctx, dts[k], 1, &n24, buf);
            lbk_tensor r64 = dts[k] == LBK_U8 ? lbk_abs(ctx, ref) : ref;
            for (int w = 0; w < 12; w++) {
                if (dts[k] == LBK_U8 && w == 5) continue;   /* neg of u8 wraps: not f64's */
                lbk_tensor a = exact_ops(ctx, x, w), b = exact_ops(ctx, r64, w);
                int64_t n = lbk_numel(ctx, b);
                assert_int_equal(lbk_numel(ctx, a), n);
                double ga[96], gb[96];
                assert_true(n <= 96);
                assert_int_equal(lbk_read_as(ctx, a, LBK_F64, ga, sizeof ga), LBK_OK);
                assert_int_equal(lbk_read_as(ctx, b, LBK_F64, gb, sizeof gb), LBK_OK);
                for (int64_t i = 0; i < n; i++)
                    if (ga[i] != gb[i]) {
                        print_message("%s %s op %d [%lld]: %g vs %g\n", paths[p], lbk_dtype_name(dts[k]), w, (long long)i, ga[i], gb[i]);
                        fail();
                    }
                if (w != 8 && w != 10) assert_int_equal(lbk_type(ctx, a) == dts[k] || lbk_type(ctx, a) == LBK_I64, true);
            }
        }
        assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
        lbk_ctx_destroy(ctx);
    }
}

/* i8 and u8: wrapping arithmetic, saturating casts from floats, sums in i64. */
static void test_narrow_int_ops(void **state) {
    (void)state;
    const char *paths[2] = {"cpu", "cpu-reference"};
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t n4 = 4;
        uint8_t u[4] = {200, 255, 0, 17}, uo[4];
        int8_t s[4] = {100, -128, 127, -5}, so[4];
        lbk_tensor tu = lbk_from_host(ctx, LBK_U8, 1, &n4, u), ts = lbk_from_host(ctx, LBK_I8, 1, &n4, s);
        assert_int_equal(lbk_read(ctx, lbk_add(ctx, tu, tu), uo, sizeof uo), LBK_OK);
        assert_true(uo[0] == 144 && uo[1] == 254 && uo[2] == 0 && uo[3] == 34);   /* mod 256 */
        assert_int_equal(lbk_read(ctx, lbk_add(ctx, ts, ts), so, sizeof so), LBK_OK);
        assert_true(so[0] == -56 && so[1] == 0 && so[2] == -2 && so[3] == -10);
        assert_int_equal(lbk_read(ctx, lbk_neg(ctx, ts), so, sizeof so), LBK_OK);
        assert_true(so[0] == -100 && so[1] == -128 && so[2] == -127 && so[3] == 5);
        float fx[4] = {300.7f, -5.5f, NAN, 254.9f};
        lbk_tensor tf = lbk_from_host(ctx, LBK_F32, 1, &n4, fx);
        assert_int_equal(lbk_read(ctx, lbk_cast(ctx, tf, LBK_U8), uo, sizeof uo), LBK_OK);
        assert_true(uo[0] == 255 && uo[1] == 0 && uo[2] == 0 && uo[3] == 254);
        assert_int_equal(lbk_read(ctx, lbk_cast(ctx, tf, LBK_I8), so, sizeof so), LBK_OK);
        assert_true(so[0] == 127 && so[1] == -5 && so[2] == 0 && so[3] == 127);
        int32_t mixed[4];
        lbk_tensor m = lbk_add(ctx, tu, ts);   /* u8 + i8 -> i32, no wrap */
        assert_int_equal(lbk_type(ctx, m), LBK_I32);
        assert_int_equal(lbk_read(ctx, m, mixed, sizeof mixed), LBK_OK);
        assert_true(mixed[0] == 300 && mixed[1] == 127 && mixed[2] == 127 && mixed[3] == 12);
        lbk_tensor su = lbk_sum(ctx, tu, 0, NULL, false);
        int64_t want_u = 200 + 255 + 0 + 17, got64 = 0;
        assert_int_equal(lbk_read_as(ctx, su, LBK_I64, &got64, sizeof got64), LBK_OK);
        assert_true(got64 == want_u);   /* no u8 wrap in a sum */
        assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
        lbk_ctx_destroy(ctx);
    }
}

/* .npy (f16 "<f2", i8 "|i1", u8 "|u1"; bf16 has no code), DLPack (kDLFloat 16, kDLBfloat
   16, kDLInt 8, kDLUInt 8) and module files carry the new dtypes. */
static void test_narrow_files(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n3 = 3;
    uint16_t h[3] = {0x3c00, 0xc000, 0x7bff}, ho[3];   /* 1, -2, 65504 */
    int8_t s[3] = {-1, 2, -128}, so[3];
    uint8_t u[3] = {1, 2, 255}, uo[3];
    lbk_tensor th = lbk_from_host(ctx, LBK_F16, 1, &n3, h), ts = lbk_from_host(ctx, LBK_I8, 1, &n3, s), tu = lbk_from_host(ctx, LBK_U8, 1, &n3, u);
    assert_int_equal(lbk_save_npy(ctx, th, "build/t_f16.npy"), LBK_OK);
    assert_int_equal(lbk_save_npy(ctx, ts, "build/t_i8.npy"), LBK_OK);
    assert_int_equal(lbk_save_npy(ctx, tu, "build/t_u8.npy"), LBK_OK);
    size_t nb;
    unsigned char *fb = tfile_read("build/t_f16.npy", &nb);
    assert_non_null(strstr((const char *)fb + 10, "'descr': '<f2'"));
    free(fb);
    lbk_tensor lh = lbk_load_npy(ctx, "build/t_f16.npy"), ls = lbk_load_npy(ctx, "build/t_i8.npy"), lu = lbk_load_npy(ctx, "build/t_u8.npy");
    assert_int_equal(lbk_type(ctx, lh), LBK_F16);
    assert_int_equal(lbk_type(ctx, ls), LBK_I8);
    assert_int_equal(lbk_type(ctx, lu), LBK_U8);
    assert_int_equal(lbk_read(ctx, lh, ho, sizeof ho), LBK_OK);
    assert_memory_equal(ho, h, sizeof h);
    assert_int_equal(lbk_read(ctx, ls, so, sizeof so), LBK_OK);
    assert_memory_equal(so, s, sizeof s);
    assert_int_equal(lbk_read(ctx, lu, uo, sizeof uo), LBK_OK);
    assert_memory_equal(uo, u, sizeof u);
    lbk_tensor tb = lbk_cast(ctx, th, LBK_BF16);
    assert_int_equal(lbk_save_npy(ctx, tb, "build/t_bf16.npy"), LBK_ERR_UNSUPPORTED);
    assert_contains(lbk_ctx_error(ctx), "bf16 has no .npy type code");
    lbk_ctx_clear_error(ctx);
    /* DLPack round trips */
    lbk_tensor all[4] = {th, tb, ts, tu};
    const int codes[4] = {kDLFloat, kDLBfloat, kDLInt, kDLUInt}, bits[4] = {16, 16, 8, 8};
    for (int i = 0; i < 4; i++) {
        DLManagedTensor *mt = NULL;
        assert_int_equal(lbk_to_dlpack(ctx, all[i], &mt), LBK_OK);
        assert_int_equal(mt->dl_tensor.dtype.code, codes[i]);
        assert_int_equal(mt->dl_tensor.dtype.bits, bits[i]);
        lbk_tensor back = lbk_from_dlpack(ctx, mt);
        assert_int_equal(lbk_type(ctx, back), lbk_type(ctx, all[i]));
        unsigned char x1[8], x2[8];
        assert_int_equal(lbk_read(ctx, back, x1, sizeof x1), LBK_OK);
        assert_int_equal(lbk_read(ctx, all[i], x2, sizeof x2), LBK_OK);
        assert_memory_equal(x1, x2, 3 * lbk_dtype_size(lbk_type(ctx, back)));
    }
    /* a module with an f16 weight and a bf16 input, saved and loaded */
    lbk_module *m = lbk_module_create(ctx, "Half");
    lbk_dtype dt = LBK_BF16;
    int nd = 1;
    const int64_t *dims[1] = {&n3};
    lbk_tensor x, y;
    assert_int_equal(lbk_method_begin(m, "forward", 1, &dt, &nd, dims, &x), LBK_OK);
    y = lbk_mul(ctx, x, th);   /* bf16 * f16 -> f32 */
    assert_int_equal(lbk_method_end(m, &y, 1), LBK_OK);
    assert_int_equal(lbk_module_save(m, "build/t_half.lbkm"), LBK_OK);
    lbk_module_destroy(m);
    lbk_module *ld = lbk_module_load(ctx, "build/t_half.lbkm");
    assert_non_null(ld);
    uint16_t bx[3];
    for (int i = 0; i < 3; i++) lbk_store_f64(LBK_BF16, bx, i, 0.5 * (i + 1));
    lbk_tensor in = lbk_from_host(ctx, LBK_BF16, 1, &n3, bx), out;
    assert_int_equal(lbk_module_run(ld, "forward", &in, 1, &out, 1), LBK_OK);
    float fo[3];
    assert_int_equal(lbk_type(ctx, out), LBK_F32);
    assert_int_equal(lbk_read(ctx, out, fo, sizeof fo), LBK_OK);
    assert_true(fo[0] == 0.5f && fo[1] == -2.0f && fo[2] == 1.5f * 65504.0f);
    lbk_module_destroy(ld);
    assert_int_equal(lbk_ctx_result(ctx), LBK_OK);
    lbk_ctx_destroy(ctx);
}

/* The fast path's vector converters (F16C and AVX2 where the CPU has them, portable code
   elsewhere) against the dtype table's, bit for bit: casts to f32 of all 65,536 patterns,
   and casts from f32 of every value, every midpoint and the floats either side of it,
   NaNs with payloads, infinities, the largest and the smallest. Lengths off the vector
   width leave a tail to the scalar code. */
static void test_narrow_vector_conversions(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(p ? "cpu-reference" : "cpu");
        for (int k = 0; k < 2; k++) {
            const fmt16 *f = &k_fmts[k];
            static uint16_t pat[65536 + 3], back[8 * 65536 + 64];
            static float got[65536 + 3], src[8 * 65536 + 64];
            int64_t n = 65536 + 3, m = 0;
            int bad = 0;
            for (uint32_t b = 0; b < 65539; b++) pat[b] = (uint16_t)(b & 0xffffu);
            assert_int_equal(lbk_read(ctx, lbk_cast(ctx, lbk_from_host(ctx, f->dt, 1, &n, pat), LBK_F32), got, sizeof(float) * (size_t)n), LBK_OK);
            for (uint32_t b = 0; b < 65539; b++) {
                uint16_t h = pat[b];
                float want = (float)lbk_load_f64(f->dt, &h, 0);
                uint32_t gu, wu;
                memcpy(&gu, &got[b], 4);
                memcpy(&wu, &want, 4);
                if (isnan(want) ? !(isnan(got[b]) && (gu & 0x400000u) && (gu >> 31) == (uint32_t)(h >> 15)) : gu != wu)
                    if (bad++ < 5) print_message("%s 0x%04x -> f32 0x%08x, want 0x%08x\n", f->name, h, gu, wu);
            }
            for (uint32_t b = 0; b < 65536; b++) {   /* values, midpoints and their neighbours */
                uint16_t h = (uint16_t)b, h1 = (uint16_t)(b + 1);
                double v = lbk_load_f64(f->dt, &h, 0), v1 = (b & 0x7fffu) < 0x7fffu ? lbk_load_f64(f->dt, &h1, 0) : NAN;
                src[m++] = (float)v;
                if (isfinite(v) && isfinite(v1) && (b & 0x7fffu) != 0x7fffu) {
                    float mid = (float)((v + v1) / 2);
                    src[m++] = mid;
                    src[m++] = nextafterf(mid, -INFINITY);
                    src[m++] = nextafterf(mid, INFINITY);
                }
            }
            {
                uint32_t specials[] = {0x7f800001u, 0xff812345u, 0x7fc00001u, 0x7f800000u, 0xff800000u, 0x7f7fffffu, 0x00000001u, 0x80000001u, 0x33000000u};
                for (size_t j = 0; j < sizeof specials / sizeof *specials; j++) memcpy(&src[m++], &specials[j], 4);
            }
            assert_int_equal(lbk_read(ctx, lbk_cast(ctx, lbk_from_host(ctx, LBK_F32, 1, &m, src), f->dt), back, sizeof(uint16_t) * (size_t)m), LBK_OK);
            for (int64_t j = 0; j < m; j++) {
                uint16_t want = 0;
                lbk_store_f64(f->dt, &want, 0, (double)src[j]);
                if (back[j] != want) {
                    uint32_t su;
                    memcpy(&su, &src[j], 4);
                    if (bad++ < 5) print_message("%s: f32 0x%08x -> 0x%04x, want 0x%04x\n", f->name, su, back[j], want);
                }
            }
            assert_int_equal(bad, 0);
        }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_narrow_float_decode_all), cmocka_unit_test(test_narrow_float_encode_all),
    cmocka_unit_test(test_narrow_promotion), cmocka_unit_test(test_narrow_float_ops), cmocka_unit_test(test_narrow_fused_big),
    cmocka_unit_test(test_narrow_int_ops), cmocka_unit_test(test_narrow_exact_ops),
    cmocka_unit_test(test_narrow_files), cmocka_unit_test(test_narrow_vector_conversions),
};
TEST_GROUP(dtypes_tests, tests);
