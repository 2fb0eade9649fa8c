/* The ops CNNs and decoders need (issue 15): conv1d/conv2d/conv_transpose2d, max/avg pool,
   nearest resizing, cumsum, argsort/sort/topk, multinomial, one_hot, pad, batch_norm,
   group_norm, rope, cross_entropy. Each on both cpu paths against a float64 loop written
   here (PyTorch's definitions), with empty and size-1 dims, NaN, ties, out-of-range ids
   failing the sync by name, argument errors named after the call, and a module round trip. */
#include "common.h"
#include <stdio.h>

static const char *const paths[2] = {"cpu", "cpu-reference"};

/* ---- float64 references ---- */
/* conv2d: x [N, C, H, W], w [O, C/G, kh, kw]; transposed: w [C, O/G, kh, kw]. */
static void ref_conv(bool tr, int N, int C, int H, int W, int O, int kh, int kw, int G, const int *s, const int *p, const int *e, int OH, int OW,
                     const double *x, const double *w, const double *b, double *out) {
    int Cg = C / G, Og = O / G;
    for (int i = 0; i < N * O * OH * OW; i++) out[i] = b ? b[i / (OH * OW) % O] : 0;
    if (!tr) {
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++)
                for (int oy = 0; oy < OH; oy++)
                    for (int ox = 0; ox < OW; ox++)
                        for (int c = 0; c < Cg; c++)
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++) {
                                    int iy = oy * s[0] - p[0] + ky * e[0], ix = ox * s[1] - p[1] + kx * e[1], g = o / Og;
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                    out[((n * O + o) * OH + oy) * OW + ox] += x[((n * C + g * Cg + c) * H + iy) * W + ix] * w[((o * Cg + c) * kh + ky) * kw + kx];
                                }
    } else {   /* scatter form: each input adds its kernel-weighted copy */
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int iy = 0; iy < H; iy++)
                    for (int ix = 0; ix < W; ix++)
                        for (int og = 0; og < Og; og++)
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++) {
                                    int oy = iy * s[0] - p[0] + ky, ox = ix * s[1] - p[1] + kx, o = c / Cg * Og + og;
                                    if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                                    out[((n * O + o) * OH + oy) * OW + ox] += x[((n * C + c) * H + iy) * W + ix] * w[((c * Og + og) * kh + ky) * kw + kx];
                                }
    }
}
/* max (mode 0) / avg (mode 1) pool over planes of H x W. */
static void ref_pool(int mode, int planes, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw, int OH, int OW, const double *x, double *out) {
    for (int pl = 0; pl < planes; pl++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                double m = -INFINITY, sum = 0;
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++) {
                        int iy = oy * sh - ph + ky, ix = ox * sw - pw + kx;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                        double v = x[(pl * H + iy) * W + ix];
                        sum += v;
                        if (isnan(v) || v > m) m = isnan(m) ? m : v;
                    }
                out[(pl * OH + oy) * OW + ox] = mode ? sum / (kh * kw) : m;
            }
}

static lbk_tensor mk(lbk_ctx *ctx, lbk_dtype dt, int nd, const int64_t *d, double *v, double lo, double hi, uint64_t seed) {
    tfill(v, tnumel(nd, d), lo, hi, seed);
    if (!lbk_dtype_is_float(dt)) for (int64_t i = 0; i < tnumel(nd, d); i++) v[i] = floor(v[i]);
    lbk_tensor t = tfrom(ctx, dt, nd, d, v);
    tread(ctx, t, v);   /* the values as stored (f16/f32 rounding) */
    return t;
}

/* conv2d over a grid of strides, paddings, dilations and groups, with the fast path's
   tiling (a 40x40 image has several tiles) and 1x1 direct case; f32, f64, f16. */
static void test_conv2d(void **state) {
    (void)state;
    static const int cases[][12] = {
        /* N C H W O kh kw G s p e bias */
        {2, 4, 7, 6, 6, 3, 3, 2, 1, 1, 1, 1}, {1, 3, 9, 8, 4, 3, 2, 1, 2, 0, 1, 0}, {2, 4, 8, 8, 4, 3, 3, 4, 1, 1, 2, 1},
        {1, 6, 5, 5, 3, 1, 1, 1, 1, 0, 1, 1}, {1, 16, 40, 40, 8, 3, 3, 1, 1, 1, 1, 1}, {3, 2, 1, 1, 5, 1, 1, 1, 1, 0, 1, 1},
        {1, 8, 12, 10, 16, 5, 5, 8, 2, 2, 1, 0}, {0, 3, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1}, {2, 32, 28, 28, 32, 3, 3, 32, 1, 1, 1, 1},
    };
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const int *c = cases[ci];
            int N = c[0], C = c[1], H = c[2], W = c[3], O = c[4], kh = c[5], kw = c[6], G = c[7];
            int s[2] = {c[8], 1}, pp[2] = {c[9], c[9] ? c[9] - 1 + (ci % 2) : 0}, e[2] = {c[10], 1};
            int OH = (H + 2 * pp[0] - e[0] * (kh - 1) - 1) / s[0] + 1, OW = (W + 2 * pp[1] - e[1] * (kw - 1) - 1) / s[1] + 1;
            int64_t xd[4] = {N, C, H, W}, wd[4] = {O, C / G, kh, kw}, bd[1] = {O}, st[2] = {s[0], s[1]}, pd[2] = {pp[0], pp[1]}, ed[2] = {e[0], e[1]};
            lbk_dtype dts[3] = {LBK_F64, LBK_F32, LBK_F16};
            for (int di = 0; di < 3; di++) {
                double tol = dts[di] == LBK_F64 ? 1e-12 : dts[di] == LBK_F32 ? 1e-5 : 2e-2;
                int64_t nx = tnumel(4, xd), nw = tnumel(4, wd), no = (int64_t)N * O * OH * OW;
                double *x = malloc(8 * (size_t)(nx + 1)), *w = malloc(8 * (size_t)(nw + 1)), b[64], *want = malloc(8 * (size_t)(no + 1)), *got = malloc(8 * (size_t)(no + 1));
                lbk_tensor tx = mk(ctx, dts[di], 4, xd, x, -2, 2, 11 + ci), tw = mk(ctx, dts[di], 4, wd, w, -1, 1, 21 + ci), tb = mk(ctx, dts[di], 1, bd, b, -1, 1, 31 + ci);
                lbk_tensor none = {0}, y = lbk_conv2d(ctx, tx, tw, c[11] ? tb : none, st, pd, ed, G);
                assert_ctx_ok(ctx);
                assert_int_equal(lbk_ndim(ctx, y), 4);
                assert_int_equal(lbk_dim(ctx, y, 2), OH);
                assert_int_equal(lbk_dim(ctx, y, 3), OW);
                ref_conv(false, N, C, H, W, O, kh, kw, G, s, pp, e, OH, OW, x, w, c[11] ? b : NULL, want);
                tread(ctx, y, got);
                char what[96];
                snprintf(what, sizeof what, "conv2d case %zu %s on %s", ci, lbk_dtype_name(dts[di]), paths[p]);
                tclose(got, want, no, tol, what);
                free(x); free(w); free(want); free(got);
            }
        }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* A conv2d (or, tr, a conv_transpose2d; e: dilation or output padding) of random f32 data
   at 1 and 2 threads on the fast path: the same bits (no output element follows the split). */
static void same_bits_threads(bool tr, const int64_t *xd, const int64_t *wd, const int64_t *st, const int64_t *pd, const int64_t *e, int64_t no,
                              uint64_t seed) {
    double *x = malloc(8 * (size_t)tnumel(4, xd)), *w = malloc(8 * (size_t)tnumel(4, wd));
    float *r[2];
    tfill(x, tnumel(4, xd), -1, 1, seed);
    tfill(w, tnumel(4, wd), -1, 1, seed + 1);
    for (int th = 0; th < 2; th++) {
        lbk_ctx_desc d = {0};
        d.backend = "cpu";
        d.n_threads = th + 1;
        lbk_ctx *ctx = lbk_ctx_create(&d);
        assert_non_null(ctx);
        lbk_tensor none = {0}, tx = tfrom(ctx, LBK_F32, 4, xd, x), tw = tfrom(ctx, LBK_F32, 4, wd, w);
        lbk_tensor y = tr ? lbk_conv_transpose2d(ctx, tx, tw, none, st, pd, e, 1) : lbk_conv2d(ctx, tx, tw, none, st, pd, e, 1);
        r[th] = malloc(4 * (size_t)no);
        assert_int_equal(lbk_read(ctx, y, r[th], 4 * (size_t)no), LBK_OK);
        lbk_ctx_destroy(ctx);
    }
    assert_memory_equal(r[0], r[1], 4 * (size_t)no);
    free(r[0]); free(r[1]); free(x); free(w);
}

/* The fast path's Winograd F(2x2, 3x3) (3x3, stride 1, at least 8 channels in and out a
   group): odd and even sizes, 1x1 images, paddings 0..2 per side, groups, output channels
   past one block (24), input channels past one K block (640), several chunks of tile rows;
   f32 within 1e-5 of sum |x w| of the float64 loop. Then what the transforms must not
   change: a NaN input reaches exactly the outputs whose windows cover it; an infinity in x
   or w and magnitudes near the top of f32 give direct convolution's answer (inf, not the
   NaN of inf - inf); 1 and 2 threads agree bit for bit. */
static void test_conv2d_winograd(void **state) {
    (void)state;
    static const int cases[][9] = {
        /* N C H W O G ph pw bias */
        {2, 16, 1, 1, 8, 1, 1, 1, 1}, {1, 8, 2, 3, 8, 1, 1, 1, 0}, {1, 16, 5, 7, 24, 1, 0, 0, 1}, {2, 16, 17, 9, 26, 2, 2, 1, 1},
        {1, 12, 30, 31, 30, 1, 1, 2, 1}, {1, 700, 4, 5, 8, 1, 1, 1, 1}, {1, 32, 40, 44, 40, 1, 1, 1, 1}, {3, 8, 3, 3, 9, 1, 2, 2, 0},
    };
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const int *c = cases[ci];
            int N = c[0], C = c[1], H = c[2], W = c[3], O = c[4], G = c[5], s[2] = {1, 1}, pp[2] = {c[6], c[7]}, e[2] = {1, 1};
            int OH = H + 2 * pp[0] - 2, OW = W + 2 * pp[1] - 2;
            int64_t xd[4] = {N, C, H, W}, wd[4] = {O, C / G, 3, 3}, bd[1] = {O}, st[2] = {1, 1}, pd[2] = {pp[0], pp[1]}, ed[2] = {1, 1};
            int64_t nx = tnumel(4, xd), nw = tnumel(4, wd), no = (int64_t)N * O * OH * OW;
            double *x = malloc(8 * (size_t)nx), *w = malloc(8 * (size_t)nw), b[64], *want = malloc(8 * (size_t)no), *got = malloc(8 * (size_t)no);
            double *ax = malloc(8 * (size_t)nx), *aw = malloc(8 * (size_t)nw), ab[64], *mag = malloc(8 * (size_t)no);
            lbk_tensor tx = mk(ctx, LBK_F32, 4, xd, x, -2, 2, 41 + ci), tw = mk(ctx, LBK_F32, 4, wd, w, -1, 1, 51 + ci), tb = mk(ctx, LBK_F32, 1, bd, b, -1, 1, 61 + ci);
            lbk_tensor none = {0}, y = lbk_conv2d(ctx, tx, tw, c[8] ? tb : none, st, pd, ed, G);
            for (int64_t i = 0; i < nx; i++) ax[i] = fabs(x[i]);
            for (int64_t i = 0; i < nw; i++) aw[i] = fabs(w[i]);
            for (int i = 0; i < O; i++) ab[i] = fabs(b[i]);
            ref_conv(false, N, C, H, W, O, 3, 3, G, s, pp, e, OH, OW, x, w, c[8] ? b : NULL, want);
            ref_conv(false, N, C, H, W, O, 3, 3, G, s, pp, e, OH, OW, ax, aw, c[8] ? ab : NULL, mag);
            tread(ctx, y, got);
            assert_ctx_ok(ctx);
            for (int64_t i = 0; i < no; i++)
                if (!(fabs(got[i] - want[i]) <= 1e-5 * (mag[i] + 1e-30)))
                    fail_msg("winograd case %zu on %s: element %lld: got %.9g, expected %.9g (sum |x w| %.3g)", ci, paths[p], (long long)i, got[i], want[i], mag[i]);
            free(x); free(w); free(want); free(got); free(ax); free(aw); free(mag);
        }
        /* special values: 16 channels 9 x 10, padding 1, against the float64 loop (tclose: NaN where it has NaN, inf equal) */
        for (int sp = 0; sp < 4; sp++) {
            int N = 1, C = 16, H = 9, W = 10, O = 8, s[2] = {1, 1}, pp[2] = {1, 1}, e[2] = {1, 1}, OH = 9, OW = 10;
            int64_t xd[4] = {N, C, H, W}, wd[4] = {O, C, 3, 3}, st[2] = {1, 1}, pd[2] = {1, 1}, ed[2] = {1, 1}, nx = N * C * H * W, nw = O * C * 9, no = N * O * OH * OW;
            double *x = malloc(8 * (size_t)nx), *w = malloc(8 * (size_t)nw), *want = malloc(8 * (size_t)no), *got = malloc(8 * (size_t)no);
            tfill(x, nx, -2, 2, 71 + sp);
            tfill(w, nw, -1, 1, 81 + sp);
            for (int64_t i = 0; i < nx; i++) x[i] = (float)x[i];
            for (int64_t i = 0; i < nw; i++) w[i] = (float)w[i];
            if (sp == 0) x[(3 * H + 4) * W + 5] = NAN;
            if (sp == 1) { x[(2 * H + 4) * W + 5] = INFINITY; x[(7 * H + 0) * W + 9] = -INFINITY; }
            if (sp == 2) w[(5 * C + 3) * 9 + 4] = INFINITY;
            if (sp == 3) {   /* |x w| 9 C near 1.4e37: finite in f32, past the transforms' bound */
                for (int64_t i = 0; i < nx; i++) x[i] = (float)(x[i] * 5e17);
                for (int64_t i = 0; i < nw; i++) w[i] = (float)(w[i] * 1e19);
            }
            lbk_tensor tx = tfrom(ctx, LBK_F32, 4, xd, x), tw = tfrom(ctx, LBK_F32, 4, wd, w), none = {0};
            lbk_tensor y = lbk_conv2d(ctx, tx, tw, none, st, pd, ed, 1);
            ref_conv(false, N, C, H, W, O, 3, 3, 1, s, pp, e, OH, OW, x, w, NULL, want);
            tread(ctx, y, got);
            int nan_ref = 0, inf_ref = 0;
            for (int64_t i = 0; i < no; i++) { nan_ref += isnan(want[i]) != 0; inf_ref += isinf(want[i]) != 0; }
            assert_true(sp != 0 || nan_ref == 9 * O);   /* the 3 x 3 outputs around it, every channel */
            assert_true(sp != 1 || inf_ref > 0);
            char what[64];
            snprintf(what, sizeof what, "winograd special %d on %s", sp, paths[p]);
            if (sp == 3) {   /* finite, within 1e-5 of sum |x w| (f32 sums cancel) */
                double *ax = malloc(8 * (size_t)nx), *aw = malloc(8 * (size_t)nw), *mag = malloc(8 * (size_t)no);
                for (int64_t i = 0; i < nx; i++) ax[i] = fabs(x[i]);
                for (int64_t i = 0; i < nw; i++) aw[i] = fabs(w[i]);
                ref_conv(false, N, C, H, W, O, 3, 3, 1, s, pp, e, OH, OW, ax, aw, NULL, mag);
                for (int64_t i = 0; i < no; i++) assert_true(isfinite(got[i]) && fabs(got[i] - want[i]) <= 1e-5 * mag[i]);
                free(ax); free(aw); free(mag);
            } else {
                tclose(got, want, no, 1e-5, what);
            }
            free(x); free(w); free(want); free(got);
        }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
    {   /* 1 and 2 threads: the same bits */
        int64_t xd[4] = {2, 32, 40, 44}, wd[4] = {40, 32, 3, 3}, st[2] = {1, 1}, pd[2] = {1, 1}, ed[2] = {1, 1};
        same_bits_threads(false, xd, wd, st, pd, ed, 2 * 40 * 40 * 44, 91);
    }
}

/* conv1d as conv2d over one row; conv_transpose2d against the scatter-form loop. */
static void test_conv1d_transpose(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        {   /* conv1d: N 2, C 4, L 11, O 6, k 3, groups 2, stride 2, padding 1, dilation 2 */
            int64_t xd[3] = {2, 4, 11}, wd[3] = {6, 2, 3}, bd[1] = {6};
            double x[88], w[36], b[6], want[2 * 6 * 5], got[2 * 6 * 5];
            lbk_tensor y = lbk_conv1d(ctx, mk(ctx, LBK_F64, 3, xd, x, -1, 1, 1), mk(ctx, LBK_F64, 3, wd, w, -1, 1, 2), mk(ctx, LBK_F64, 1, bd, b, -1, 1, 3),
                                      2, 1, 2, 2);
            int s[2] = {1, 2}, pp[2] = {0, 1}, e[2] = {1, 2};
            assert_ctx_ok(ctx);
            assert_int_equal(lbk_ndim(ctx, y), 3);
            assert_int_equal(lbk_dim(ctx, y, 2), 5);
            ref_conv(false, 2, 4, 1, 11, 6, 1, 3, 2, s, pp, e, 1, 5, x, w, b, want);
            tread(ctx, y, got);
            tclose(got, want, 60, 1e-12, "conv1d");
        }
        static const int cases[][10] = {   /* N C H W O kh kw G s p (output padding: s - 1 on h) */
            {2, 4, 3, 4, 6, 3, 2, 2, 2, 1}, {1, 3, 5, 5, 2, 3, 3, 1, 1, 1}, {1, 2, 2, 3, 4, 4, 4, 2, 3, 0}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 0},
        };
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const int *c = cases[ci];
            int N = c[0], C = c[1], H = c[2], W = c[3], O = c[4], kh = c[5], kw = c[6], G = c[7], s[2] = {c[8], 1}, pp[2] = {c[9], 0}, op[2] = {c[8] - 1, 0};
            int OH = (H - 1) * s[0] - 2 * pp[0] + kh + op[0], OW = (W - 1) * s[1] - 2 * pp[1] + kw + op[1];
            int64_t xd[4] = {N, C, H, W}, wd[4] = {C, O / G, kh, kw}, bd[1] = {O}, st[2] = {s[0], s[1]}, pd[2] = {pp[0], pp[1]}, od[2] = {op[0], op[1]};
            double x[256], w[256], b[8], want[1024], got[1024];
            lbk_tensor y = lbk_conv_transpose2d(ctx, mk(ctx, LBK_F32, 4, xd, x, -2, 2, 5 + ci), mk(ctx, LBK_F32, 4, wd, w, -1, 1, 6 + ci),
                                                mk(ctx, LBK_F32, 1, bd, b, -1, 1, 7), st, pd, od, G);
            assert_ctx_ok(ctx);
            assert_int_equal(lbk_dim(ctx, y, 2), OH);
            assert_int_equal(lbk_dim(ctx, y, 3), OW);
            ref_conv(true, N, C, H, W, O, kh, kw, G, s, pp, (int[]){1, 1}, OH, OW, x, w, b, want);
            tread(ctx, y, got);
            tclose(got, want, (int64_t)N * O * OH * OW, 1e-5, "conv_transpose2d");
        }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* conv_transpose2d's fast kernel (a GEMM per block of output channels, then col2im):
   strides, paddings and output paddings on both axes, groups, kernels larger than the
   stride, blocks of output channels and chunks of input positions past one, f32 and f64,
   no bias, an empty batch, NaN and inf (where the float64 loop has them),
   1 and 2 threads bit for bit. */
static void test_conv_transpose_fast(void **state) {
    (void)state;
    static const int cases[][14] = {
        /* N C H W O kh kw G sh sw ph pw oph opw */
        {2, 6, 9, 7, 4, 3, 3, 2, 2, 3, 1, 2, 1, 2}, {1, 8, 33, 40, 40, 3, 3, 1, 1, 1, 1, 1, 0, 0}, {1, 3, 5, 6, 2, 5, 4, 1, 3, 2, 2, 0, 2, 1},
        {2, 16, 12, 11, 8, 4, 4, 4, 2, 2, 1, 1, 1, 1}, {0, 2, 4, 3, 3, 3, 3, 1, 2, 1, 0, 0, 1, 0}, {1, 4, 70, 70, 3, 2, 2, 1, 2, 2, 0, 0, 0, 0},
    };
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
            for (int di = 0; di < 2; di++) {
                const int *c = cases[ci];
                lbk_dtype dt = di ? LBK_F64 : LBK_F32;
                int N = c[0], C = c[1], H = c[2], W = c[3], O = c[4], kh = c[5], kw = c[6], G = c[7], s[2] = {c[8], c[9]}, pp[2] = {c[10], c[11]};
                int op[2] = {c[12], c[13]}, OH = (H - 1) * s[0] - 2 * pp[0] + kh + op[0], OW = (W - 1) * s[1] - 2 * pp[1] + kw + op[1];
                int64_t xd[4] = {N, C, H, W}, wd[4] = {C, O / G, kh, kw}, bd[1] = {O}, st[2] = {s[0], s[1]}, pd[2] = {pp[0], pp[1]}, od[2] = {op[0], op[1]};
                int64_t nx = tnumel(4, xd), nw = tnumel(4, wd), no = (int64_t)N * O * OH * OW;
                double *x = malloc(8 * (size_t)(nx + 1)), *w = malloc(8 * (size_t)nw), b[64], *want = malloc(8 * (size_t)no), *got = malloc(8 * (size_t)no);
                bool bias = ci % 2 == 0;
                tfill(x, nx, -2, 2, 100 + ci);
                tfill(w, nw, -1, 1, 200 + ci);
                tfill(b, O, -1, 1, 300 + ci);
                if (ci == 3) { x[5] = NAN; x[nx - 7] = INFINITY; }
                for (int64_t i = 0; i < nx; i++) x[i] = di ? x[i] : (float)x[i];
                for (int64_t i = 0; i < nw; i++) w[i] = di ? w[i] : (float)w[i];
                for (int i = 0; i < O; i++) b[i] = di ? b[i] : (float)b[i];
                lbk_tensor none = {0}, y = lbk_conv_transpose2d(ctx, tfrom(ctx, dt, 4, xd, x), tfrom(ctx, dt, 4, wd, w), bias ? tfrom(ctx, dt, 1, bd, b) : none,
                                                                  st, pd, od, G);
                assert_ctx_ok(ctx);
                ref_conv(true, N, C, H, W, O, kh, kw, G, s, pp, (int[]){1, 1}, OH, OW, x, w, bias ? b : NULL, want);
                tread(ctx, y, got);
                char what[80];
                snprintf(what, sizeof what, "conv_transpose2d case %zu %s on %s", ci, lbk_dtype_name(dt), paths[p]);
                tclose(got, want, no, di ? 1e-12 : 1e-5, what);
                free(x); free(w); free(want); free(got);
            }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
    {   /* 1 and 2 threads: the same bits */
        int64_t xd[4] = {2, 16, 30, 30}, wd[4] = {16, 24, 3, 3}, st[2] = {2, 2}, pd[2] = {1, 1}, od[2] = {1, 1};
        same_bits_threads(true, xd, wd, st, pd, od, 2 * 24 * 60 * 60, 93);
    }
}

/* Pools and resizing split planes across threads: a ResNet stem's sizes at 1 and 2 threads
   against the float64 loop, bit for bit between the thread counts. */
static void test_pool_threads(void **state) {
    (void)state;
    int64_t xd[4] = {2, 64, 56, 56}, nx = 2 * 64 * 56 * 56, k[2] = {3, 3}, s[2] = {2, 2}, pd[2] = {1, 1}, no = 2 * 64 * 28 * 28;
    double *x = malloc(8 * (size_t)nx), *want = malloc(8 * (size_t)no * 4), *got = malloc(8 * (size_t)no * 4);
    float *r[2][3];
    tfill(x, nx, -3, 3, 77);
    for (int64_t i = 0; i < nx; i++) x[i] = (float)x[i];
    x[1000] = NAN;
    for (int th = 0; th < 2; th++) {
        lbk_ctx_desc d = {0};
        d.backend = "cpu";
        d.n_threads = th + 1;
        lbk_ctx *ctx = lbk_ctx_create(&d);
        lbk_tensor t = tfrom(ctx, LBK_F32, 4, xd, x);
        lbk_tensor ys[3] = {lbk_max_pool2d(ctx, t, k, s, pd), lbk_avg_pool2d(ctx, t, k, s, pd), lbk_interpolate_nearest2d(ctx, t, 112, 100)};
        int64_t ns[3] = {no, no, 2 * 64 * 112 * 100};
        for (int j = 0; j < 3; j++) {
            r[th][j] = malloc(4 * (size_t)ns[j]);
            assert_int_equal(lbk_read(ctx, ys[j], r[th][j], 4 * (size_t)ns[j]), LBK_OK);
            if (th) { assert_memory_equal(r[0][j], r[1][j], 4 * (size_t)ns[j]); free(r[0][j]); free(r[1][j]); }
        }
        if (th == 0) {
            for (int mode = 0; mode < 2; mode++) {
                ref_pool(mode, 128, 56, 56, 3, 3, 2, 2, 1, 1, 28, 28, x, want);
                for (int64_t i = 0; i < no; i++) got[i] = r[0][mode][i];
                tclose(got, want, no, 1e-6, mode ? "avg_pool2d threads" : "max_pool2d threads");
            }
            for (int64_t pl = 0; pl < 128; pl++)   /* nearest: floor(dst * in / out) in float */
                for (int oy = 0; oy < 112; oy++)
                    for (int ox = 0; ox < 100; ox++) {
                        int sy = (int)floorf((float)oy * (56.0f / 112.0f)), sx = (int)floorf((float)ox * (56.0f / 100.0f));
                        double v = x[(pl * 56 + (sy < 56 ? sy : 55)) * 56 + (sx < 56 ? sx : 55)], g = r[0][2][(pl * 112 + oy) * 100 + ox];
                        if (!(g == v || (isnan(g) && isnan(v)))) fail_msg("nearest at %lld %d %d", (long long)pl, oy, ox);
                    }
        }
        lbk_ctx_destroy(ctx);
    }
    free(x); free(want); free(got);
}

/* max/avg pool (NaN in a window, padding, 3-d input, i64 and f16) and nearest resizing
   against PyTorch's index rule. */
static void test_pool_resize(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t xd[4] = {2, 3, 7, 6}, k[2] = {3, 2}, s[2] = {2, 1}, pd[2] = {1, 1};
        double x[252], want[6 * 14 * 12], got[252];
        lbk_dtype dts[3] = {LBK_F32, LBK_I64, LBK_F16};
        for (int di = 0; di < 3; di++) {
            lbk_tensor tx;
            tfill(x, 252, -9, 9, 41 + di);
            for (int i = 0; i < 252; i++) x[i] = floor(x[i]);
            if (dts[di] != LBK_I64) x[17] = NAN;
            tx = tfrom(ctx, dts[di], 4, xd, x);
            for (int mode = 0; mode < 2; mode++) {
                if (mode == 1 && dts[di] == LBK_I64) continue;
                lbk_tensor y = mode ? lbk_avg_pool2d(ctx, tx, k, s, pd) : lbk_max_pool2d(ctx, tx, k, s, pd);
                assert_ctx_ok(ctx);
                assert_int_equal(lbk_dim(ctx, y, 2), 4);
                assert_int_equal(lbk_dim(ctx, y, 3), 7);
                ref_pool(mode, 6, 7, 6, 3, 2, 2, 1, 1, 1, 4, 7, x, want);
                tread(ctx, y, got);
                tclose(got, want, 6 * 28, dts[di] == LBK_F16 ? 2e-3 : 1e-6, mode ? "avg_pool2d" : "max_pool2d");
                y = mode ? lbk_avg_pool2d(ctx, lbk_reshape(ctx, tx, 3, (int64_t[]){6, 7, 6}), (int64_t[]){2, 2}, NULL, NULL)
                         : lbk_max_pool2d(ctx, lbk_reshape(ctx, tx, 3, (int64_t[]){6, 7, 6}), (int64_t[]){2, 2}, NULL, NULL);
                assert_int_equal(lbk_ndim(ctx, y), 3);
                ref_pool(mode, 6, 7, 6, 2, 2, 2, 2, 0, 0, 3, 3, x, want);
                tread(ctx, y, got);
                tclose(got, want, 6 * 9, dts[di] == LBK_F16 ? 2e-3 : 1e-6, "pool 3-d, stride = kernel");
            }
            int sizes[4][2] = {{14, 12}, {3, 4}, {7, 6}, {10, 1}};
            for (int si = 0; si < 4; si++) {
                int OH = sizes[si][0], OW = sizes[si][1];
                lbk_tensor y = lbk_interpolate_nearest2d(ctx, tx, OH, OW);
                assert_ctx_ok(ctx);
                for (int pl = 0; pl < 6; pl++)
                    for (int oy = 0; oy < OH; oy++)
                        for (int ox = 0; ox < OW; ox++) {
                            int iy = OH == 14 ? oy / 2 : (int)fminf(floorf((float)oy * ((float)7 / (float)OH)), 6);
                            int ix = OW == 12 ? ox / 2 : (int)fminf(floorf((float)ox * ((float)6 / (float)OW)), 5);
                            want[(pl * OH + oy) * OW + ox] = x[(pl * 7 + iy) * 6 + ix];
                        }
                double *g2 = malloc(8 * 6 * 14 * 12);
                tread(ctx, y, g2);
                tclose(g2, want, 6 * OH * OW, 0, "interpolate_nearest2d");
                free(g2);
            }
        }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

static void test_window_errors(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t xd[4] = {1, 4, 5, 5}, wd[4] = {6, 3, 3, 3}, wbig[4] = {2, 4, 7, 7}, k[2] = {3, 3}, neg[2] = {-1, 1}, huge[2] = {1LL << 40, 1}, pad2[2] = {2, 2};
    double z[512] = {0};   /* the largest tensor made from it has 392 elements */
    lbk_tensor x = tfrom(ctx, LBK_F32, 4, xd, z), none = {0}, y;
    y = lbk_conv2d(ctx, x, tfrom(ctx, LBK_F32, 4, wd, z), none, NULL, NULL, NULL, 1);
    assert_int_equal(y.id, 0);
    assert_contains(lbk_ctx_error(ctx), "conv2d");
    assert_contains(lbk_ctx_error(ctx), "C/groups");
    assert_contains(lbk_ctx_error(ctx), "test_conv.c");
    lbk_ctx_clear_error(ctx);
    y = lbk_conv2d(ctx, x, tfrom(ctx, LBK_F32, 4, wbig, z), none, NULL, NULL, NULL, 1);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
    assert_contains(lbk_ctx_error(ctx), "larger than");
    lbk_ctx_clear_error(ctx);
    y = lbk_conv2d(ctx, x, tfrom(ctx, LBK_F32, 4, wbig, z), none, neg, NULL, NULL, 1);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_ARG);
    assert_contains(lbk_ctx_error(ctx), "stride[0] = -1");
    lbk_ctx_clear_error(ctx);
    y = lbk_conv2d(ctx, x, tfrom(ctx, LBK_F32, 4, wbig, z), none, huge, NULL, NULL, 1);
    assert_contains(lbk_ctx_error(ctx), "does not fit int32");
    lbk_ctx_clear_error(ctx);
    y = lbk_conv2d(ctx, tfrom(ctx, LBK_I32, 4, xd, z), tfrom(ctx, LBK_I32, 4, wbig, z), none, NULL, NULL, NULL, 1);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
    lbk_ctx_clear_error(ctx);
    y = lbk_conv_transpose2d(ctx, x, tfrom(ctx, LBK_F32, 4, (int64_t[]){4, 1, 2, 2}, z), none, NULL, NULL, (int64_t[]){1, 0}, 1);
    assert_contains(lbk_ctx_error(ctx), "output_padding[0] = 1");
    lbk_ctx_clear_error(ctx);
    y = lbk_max_pool2d(ctx, x, k, NULL, pad2);
    assert_contains(lbk_ctx_error(ctx), "at most half");
    lbk_ctx_clear_error(ctx);
    y = lbk_max_pool2d(ctx, tfrom(ctx, LBK_BOOL, 4, xd, z), k, NULL, NULL);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_DTYPE);
    lbk_ctx_clear_error(ctx);
    y = lbk_avg_pool2d(ctx, tfrom(ctx, LBK_F32, 2, xd + 2, z), k, NULL, NULL);
    assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
    lbk_ctx_clear_error(ctx);
    y = lbk_interpolate_nearest2d(ctx, x, 0, 3);
    assert_contains(lbk_ctx_error(ctx), "at least 1");
    lbk_ctx_clear_error(ctx);
    y = lbk_conv1d(ctx, x, x, none, 1, 0, 1, 1);
    assert_contains(lbk_ctx_error(ctx), "conv1d");
    lbk_ctx_clear_error(ctx);
    {   /* huge lazily made tensors (no memory behind them): sizes past int64 are refused at trace time, never overflowed */
        int64_t big[4] = {1, 1, 1, INT64_MAX / 32}, k2[2] = {2, 2}, pads[2] = {INT64_MAX / 2, 1};
        lbk_tensor h = lbk_full(ctx, LBK_F32, 4, big, 1);
        assert_int_not_equal(h.id, 0);
        assert_int_equal(lbk_conv_transpose2d(ctx, h, lbk_full(ctx, LBK_F32, 4, (int64_t[]){1, 1, 1, 3}, 1), none, (int64_t[]){1, 8}, NULL, NULL, 1).id, 0);
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_max_pool2d(ctx, h, k2, NULL, NULL).id, 0);   /* H = 1 < the kernel */
        assert_int_equal(lbk_ctx_result(ctx), LBK_ERR_SHAPE);
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_pad(ctx, h, 2, pads, 0).id, 0);
        assert_contains(lbk_ctx_error(ctx), "out of range");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_pad(ctx, h, 2, (int64_t[]){INT64_MAX / 5, INT64_MAX / 5}, 0).id, 0);   /* fine alone, too large together */
        lbk_ctx_clear_error(ctx);
    }
    (void)y;
    lbk_ctx_destroy(ctx);
}

/* cumsum (f32 in double, int and bool in i64) and argsort/sort/topk with ties and NaN
   (stable; NaN above +inf), every axis, an empty axis. */
static int cmp_stable(const double *v, int i, int j, bool desc) {   /* <0: i first */
    bool ni = isnan(v[i]), nj = isnan(v[j]);
    if (ni != nj) return desc ? (ni ? -1 : 1) : (ni ? 1 : -1);
    if (!ni && v[i] != v[j]) return desc ? (v[i] > v[j] ? -1 : 1) : (v[i] < v[j] ? -1 : 1);
    return i - j;
}
static void test_scan_sort(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        int64_t d[3] = {3, 4, 5};
        double x[60], want[60], got[60];
        tfill(x, 60, -4, 4, 9);
        for (int i = 0; i < 60; i++) x[i] = floor(x[i]) / 2;
        x[7] = NAN; x[33] = INFINITY; x[34] = -0.0; x[35] = 0.0;
        lbk_tensor tf = tfrom(ctx, LBK_F64, 3, d, x);
        for (int ax = 0; ax < 3; ax++) {
            int L = (int)d[ax], inner = 1;
            for (int k = ax + 1; k < 3; k++) inner *= (int)d[k];
            int outer = 60 / (L * inner);
            /* cumsum */
            tread(ctx, lbk_cumsum(ctx, tf, ax), got);
            for (int o = 0; o < outer; o++)
                for (int in = 0; in < inner; in++) {
                    double s = 0;
                    for (int k = 0; k < L; k++) { s += x[(o * L + k) * inner + in]; want[(o * L + k) * inner + in] = s; }
                }
            tclose(got, want, 60, 1e-15, "cumsum f64");
            for (int desc = 0; desc < 2; desc++) {
                lbk_tensor vals, idx;
                assert_int_equal(lbk_sort(ctx, tf, ax, desc, &vals, &idx), LBK_OK);
                tread(ctx, idx, got);
                for (int o = 0; o < outer; o++)
                    for (int in = 0; in < inner; in++) {
                        double row[8];
                        int ord[8];
                        for (int k = 0; k < L; k++) { row[k] = x[(o * L + k) * inner + in]; ord[k] = k; }
                        for (int a = 1; a < L; a++)   /* insertion sort: stable */
                            for (int b = a; b > 0 && cmp_stable(row, ord[b], ord[b - 1], desc) < 0; b--) { int t = ord[b]; ord[b] = ord[b - 1]; ord[b - 1] = t; }
                        for (int k = 0; k < L; k++) want[(o * L + k) * inner + in] = ord[k];
                    }
                tclose(got, want, 60, 0, desc ? "argsort descending" : "argsort");
                tread(ctx, vals, got);
                for (int i = 0; i < 60; i++) {
                    int k = (int)want[i], pos = i / inner % L;
                    want[i] = x[i + (k - pos) * inner];
                }
                tclose(got, want, 60, 0, "sort values");
                lbk_tensor tv, ti;
                assert_int_equal(lbk_topk(ctx, tf, 2, ax, desc, &tv, &ti), LBK_OK);
                assert_int_equal(lbk_dim(ctx, tv, ax), 2);
                assert_int_equal(lbk_type(ctx, ti), LBK_I64);
            }
        }
        {   /* integers and bool: cumsum in i64, exact past 2^53 */
            int64_t big[3] = {(1LL << 53) + 1, 1, -5}, n3 = 3, out[3];
            lbk_tensor tb = lbk_from_host(ctx, LBK_I64, 1, &n3, big);
            assert_int_equal(lbk_read(ctx, lbk_cumsum(ctx, tb, 0), out, sizeof out), LBK_OK);
            assert_true(out[0] == (1LL << 53) + 1 && out[1] == (1LL << 53) + 2 && out[2] == (1LL << 53) - 3);
            uint8_t bb[5] = {1, 0, 1, 1, 0};
            int64_t n5 = 5, bo[5];
            lbk_tensor c = lbk_cumsum(ctx, lbk_from_host(ctx, LBK_BOOL, 1, &n5, bb), -1);
            assert_int_equal(lbk_type(ctx, c), LBK_I64);
            assert_int_equal(lbk_read(ctx, c, bo, sizeof bo), LBK_OK);
            assert_true(bo[0] == 1 && bo[1] == 1 && bo[2] == 2 && bo[3] == 3 && bo[4] == 3);
            int64_t ties[6] = {5, INT64_MAX, 5, INT64_MAX - 1, -3, 5}, n6 = 6, ord[6];
            assert_int_equal(lbk_read(ctx, lbk_argsort(ctx, lbk_from_host(ctx, LBK_I64, 1, &n6, ties), 0, true), ord, sizeof ord), LBK_OK);
            assert_true(ord[0] == 1 && ord[1] == 3 && ord[2] == 0 && ord[3] == 2 && ord[4] == 5 && ord[5] == 4);
        }
        {   /* empty and 0-d */
            int64_t e[2] = {3, 0};
            lbk_tensor te = lbk_full(ctx, LBK_F32, 2, e, 1), v, i;
            assert_int_equal(lbk_numel(ctx, lbk_cumsum(ctx, te, 1)), 0);
            assert_int_equal(lbk_sort(ctx, te, 1, false, &v, &i), LBK_OK);
            assert_int_equal(lbk_numel(ctx, i), 0);
            double one;
            lbk_tensor s0 = lbk_scalar(ctx, LBK_F32, 3);
            tread(ctx, lbk_cumsum(ctx, s0, 0), &one);
            assert_true(one == 3);
            assert_int_equal(lbk_topk(ctx, te, 0, 1, true, &v, &i), LBK_OK);
        }
        {   /* errors */
            lbk_tensor v, i, t = lbk_full(ctx, LBK_F32, 2, d, 1);
            assert_int_equal(lbk_topk(ctx, t, 5, 1, true, &v, &i), LBK_ERR_ARG);
            assert_contains(lbk_ctx_error(ctx), "topk");
            assert_contains(lbk_ctx_error(ctx), "larger than dim 1");
            lbk_ctx_clear_error(ctx);
            assert_int_equal(lbk_topk(ctx, t, -1, 1, true, &v, &i), LBK_ERR_ARG);
            lbk_ctx_clear_error(ctx);
            assert_int_equal(lbk_sort(ctx, t, 2, false, &v, &i), LBK_ERR_ARG);
            assert_int_equal(v.id, 0);
            lbk_ctx_clear_error(ctx);
            assert_int_equal(lbk_sort(ctx, t, 0, false, NULL, &i), LBK_ERR_ARG);
            lbk_ctx_clear_error(ctx);
        }
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* multinomial: without replacement (distinct draws), never a zero-weight class while
   others remain, frequencies of 1 draw near the weights over 4000 rows. one_hot: values,
   an out-of-range id fails the sync by name. pad: grow, crop, both. */
static void test_sampling_onehot_pad(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        enum { R = 4000, C = 5 };
        static double pr[R * C], got[R * 3];
        double w[C] = {0.1, 0, 0.4, 0.2, 0.3}, cnt[C] = {0};
        int64_t pd[2] = {R, C};
        for (int i = 0; i < R * C; i++) pr[i] = w[i % C] * 7;   /* unnormalised */
        lbk_tensor probs = tfrom(ctx, LBK_F32, 2, pd, pr);
        lbk_tensor s1 = lbk_multinomial(ctx, probs, 1), s3 = lbk_multinomial(ctx, probs, 3);
        assert_ctx_ok(ctx);
        assert_int_equal(lbk_type(ctx, s1), LBK_I64);
        tread(ctx, s1, got);
        for (int i = 0; i < R; i++) { assert_true(got[i] >= 0 && got[i] < C && got[i] != 1); cnt[(int)got[i]]++; }
        for (int c = 0; c < C; c++) assert_true(fabs(cnt[c] / R - w[c]) < 0.035);
        tread(ctx, s3, got);
        for (int i = 0; i < R; i++) {
            assert_true(got[3 * i] != got[3 * i + 1] && got[3 * i] != got[3 * i + 2] && got[3 * i + 1] != got[3 * i + 2]);
            for (int k = 0; k < 3; k++) assert_true(got[3 * i + k] != 1);
        }
        assert_int_equal(lbk_multinomial(ctx, probs, 6).id, 0);
        assert_contains(lbk_ctx_error(ctx), "multinomial");
        lbk_ctx_clear_error(ctx);

        int64_t idd[2] = {2, 3}, ids[6] = {0, 4, 2, 2, 1, 3}, bad[2] = {1, 5}, n2 = 2;
        double oh[30];
        lbk_tensor t = lbk_one_hot(ctx, lbk_from_host(ctx, LBK_I64, 2, idd, ids), 5, LBK_F32);
        assert_int_equal(lbk_ndim(ctx, t), 3);
        tread(ctx, t, oh);
        for (int i = 0; i < 30; i++) assert_true(oh[i] == (ids[i / 5] == i % 5));
        lbk_tensor tbad = lbk_one_hot(ctx, lbk_from_host(ctx, LBK_I64, 1, &n2, bad), 5, LBK_I32);
        double tmp[10];
        assert_int_equal(lbk_read(ctx, tbad, tmp, sizeof tmp), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "one_hot");
        assert_contains(lbk_ctx_error(ctx), "5");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_one_hot(ctx, t, 5, LBK_F32).id, 0);
        lbk_ctx_clear_error(ctx);

        int64_t xd[2] = {3, 4}, pads[4] = {1, 2, -1, 1};
        double x[12], px[3 * 7 + 7], want[21];
        tfill(x, 12, -1, 1, 3);
        lbk_tensor tp = lbk_pad(ctx, tfrom(ctx, LBK_F64, 2, xd, x), 4, pads, 9);
        assert_ctx_ok(ctx);
        assert_int_equal(lbk_dim(ctx, tp, 0), 3);
        assert_int_equal(lbk_dim(ctx, tp, 1), 7);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 7; c++) {
                int sr = r + 1 - 1, sc = c - 1;   /* rows: crop 1 before, add 1 after; cols: 1 before, 2 after */
                want[r * 7 + c] = (sr >= 0 && sr < 3 && r < 2 && sc >= 0 && sc < 4) ? x[(sr + 1) * 4 + sc] : 9;
            }
        tread(ctx, tp, px);
        tclose(px, want, 21, 0, "pad");
        assert_int_equal(lbk_pad(ctx, tfrom(ctx, LBK_F64, 2, xd, x), 2, (int64_t[]){-3, -2}, 0).id, 0);
        assert_contains(lbk_ctx_error(ctx), "pad");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_pad(ctx, tfrom(ctx, LBK_F64, 2, xd, x), 3, pads, 0).id, 0);
        lbk_ctx_clear_error(ctx);
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* batch_norm, group_norm, rope (both layouts, partial), cross_entropy (ignore, smoothing,
   1-d logits, a target out of range). */
static void test_norms_rope_ce(void **state) {
    (void)state;
    for (int p = 0; p < 2; p++) {
        lbk_ctx *ctx = tctx_on(paths[p]);
        enum { N = 2, C = 6, H = 3, W = 4, M = N * C * H * W };
        int64_t xd[4] = {N, C, H, W}, cd[1] = {C};
        double x[M], m[C], v[C], w[C], b[C], want[M], got[M];
        lbk_tensor tx = mk(ctx, LBK_F64, 4, xd, x, -3, 3, 1), tm = mk(ctx, LBK_F64, 1, cd, m, -1, 1, 2), tv = mk(ctx, LBK_F64, 1, cd, v, 0.1, 2, 3);
        lbk_tensor tw = mk(ctx, LBK_F64, 1, cd, w, -2, 2, 4), tb = mk(ctx, LBK_F64, 1, cd, b, -2, 2, 5), none = {0};
        tread(ctx, lbk_batch_norm(ctx, tx, tm, tv, tw, tb, 1e-5), got);
        for (int i = 0; i < M; i++) { int c = i / (H * W) % C; want[i] = (x[i] - m[c]) / sqrt(v[c] + 1e-5) * w[c] + b[c]; }
        tclose(got, want, M, 1e-12, "batch_norm");
        tread(ctx, lbk_batch_norm(ctx, tx, tm, tv, none, tb, 1e-5), got);
        for (int i = 0; i < M; i++) { int c = i / (H * W) % C; want[i] = (x[i] - m[c]) / sqrt(v[c] + 1e-5) + b[c]; }
        tclose(got, want, M, 1e-12, "batch_norm without weight");
        for (int G = 1; G <= 6; G *= 3) {
            tread(ctx, lbk_group_norm(ctx, tx, G, tw, tb, 1e-5), got);
            int per = C / G * H * W;
            for (int n = 0; n < N; n++)
                for (int g = 0; g < G; g++) {
                    double mu = 0, var = 0;
                    const double *xs = x + (n * G + g) * per;
                    for (int i = 0; i < per; i++) mu += xs[i] / per;
                    for (int i = 0; i < per; i++) var += (xs[i] - mu) * (xs[i] - mu) / per;
                    for (int i = 0; i < per; i++) {
                        int c = g * (C / G) + i / (H * W);
                        want[(n * G + g) * per + i] = (xs[i] - mu) / sqrt(var + 1e-5) * w[c] + b[c];
                    }
                }
            tclose(got, want, M, 1e-10, "group_norm");
        }
        assert_int_equal(lbk_group_norm(ctx, tx, 4, none, none, 1e-5).id, 0);
        assert_contains(lbk_ctx_error(ctx), "group_norm");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_batch_norm(ctx, tx, tm, none, none, none, 1e-5).id, 0);
        lbk_ctx_clear_error(ctx);

        /* rope: x [2, 5, 8], positions [5] */
        int64_t rd[3] = {2, 5, 8}, pd[1] = {5}, pos[5] = {0, 1, 7, 100, 3};
        double rx[80];
        lbk_tensor trx = mk(ctx, LBK_F64, 3, rd, rx, -1, 1, 6), tpos = lbk_from_host(ctx, LBK_I64, 1, pd, pos);
        for (int inter = 0; inter < 2; inter++)
            for (int rot = 4; rot <= 8; rot += 4) {
                tread(ctx, lbk_rope(ctx, trx, tpos, rot, 10000, inter), got);
                for (int bt = 0; bt < 10; bt++) {
                    const double *r = rx + bt * 8;
                    double *o = want + bt * 8;
                    for (int i = 0; i < 8; i++) o[i] = r[i];
                    for (int i = 0; i < rot / 2; i++) {
                        double th = (double)pos[bt % 5] * pow(10000, -2.0 * i / rot);
                        int a = inter ? 2 * i : i, bb = inter ? 2 * i + 1 : i + rot / 2;
                        o[a] = r[a] * cos(th) - r[bb] * sin(th);
                        o[bb] = r[bb] * cos(th) + r[a] * sin(th);
                    }
                }
                tclose(got, want, 80, 1e-12, inter ? "rope interleaved" : "rope half-split");
            }
        assert_int_equal(lbk_rope(ctx, trx, tpos, 3, 10000, false).id, 0);
        assert_contains(lbk_ctx_error(ctx), "rot_dims 3");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_rope(ctx, trx, (lbk_tensor){0}, 8, 10000, false).id, 0);   /* no positions (found by fuzz_api) */
        assert_contains(lbk_ctx_error(ctx), "needs positions");
        lbk_ctx_clear_error(ctx);

        /* cross_entropy: logits [4, 3], one ignored row */
        int64_t ld[2] = {4, 3}, td[1] = {4}, tg[4] = {2, -100, 0, 1}, bad[4] = {2, 3, 0, 1};
        double lg[12], ce;
        lbk_tensor tl = mk(ctx, LBK_F64, 2, ld, lg, -3, 3, 7), tt = lbk_from_host(ctx, LBK_I64, 1, td, tg);
        for (int sm = 0; sm < 2; sm++) {
            double s = sm ? 0.2 : 0, tot = 0;
            int cnt = 0;
            tread(ctx, lbk_cross_entropy(ctx, tl, tt, -100, s), &ce);
            for (int r = 0; r < 4; r++) {
                if (tg[r] == -100) continue;
                double mx = fmax(fmax(lg[r * 3], lg[r * 3 + 1]), lg[r * 3 + 2]), z = 0, mean_nl = 0;
                for (int c = 0; c < 3; c++) z += exp(lg[r * 3 + c] - mx);
                for (int c = 0; c < 3; c++) mean_nl += -(lg[r * 3 + c] - mx - log(z)) / 3;
                tot += (1 - s) * -(lg[r * 3 + tg[r]] - mx - log(z)) + s * mean_nl;
                cnt++;
            }
            tclose(&ce, (double[]){tot / cnt}, 1, 1e-12, "cross_entropy");
        }
        tread(ctx, lbk_cross_entropy(ctx, tl, lbk_full(ctx, LBK_I64, 1, td, 7), 7, 0), &ce);
        assert_true(isnan(ce));
        assert_int_equal(lbk_read(ctx, lbk_cross_entropy(ctx, tl, lbk_from_host(ctx, LBK_I64, 1, td, bad), -100, 0), &ce, 8), LBK_ERR_ARG);
        assert_contains(lbk_ctx_error(ctx), "3");
        lbk_ctx_clear_error(ctx);
        assert_int_equal(lbk_cross_entropy(ctx, tl, tl, -100, 0).id, 0);
        assert_contains(lbk_ctx_error(ctx), "cross_entropy");
        lbk_ctx_clear_error(ctx);
        assert_ctx_ok(ctx);
        lbk_ctx_destroy(ctx);
    }
}

/* A small CNN block traced into a module (conv, batch_norm, relu, max_pool, nearest
   resize, avg_pool, argsort, cumsum), saved, loaded and run against the same ops run directly. */
static void test_cnn_module(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t xd[4] = {1, 3, 8, 8}, wd[4] = {4, 3, 3, 3}, cd[1] = {4}, k2[2] = {2, 2}, one[2] = {1, 1};
    const int64_t *dims[2] = {xd, wd};
    int nds[2] = {4, 4};
    lbk_dtype dts[2] = {LBK_F32, LBK_F32};
    double x[192], w[108], a[64], b[64], cm[4] = {0.1, -0.2, 0.3, 0}, cv[4] = {1, 2, 0.5, 1.5};
    tfill(x, 192, -1, 1, 8);
    tfill(w, 108, -1, 1, 9);
    lbk_module *m = lbk_module_create(ctx, "Cnn");
    lbk_tensor in[2], y, out, none = {0};
#define BLOCK(X, W) lbk_cumsum(ctx, lbk_avg_pool2d(ctx, lbk_interpolate_nearest2d(ctx, lbk_max_pool2d(ctx, lbk_relu(ctx, lbk_batch_norm(ctx, \
        lbk_conv2d(ctx, X, W, none, one, one, NULL, 1), tfrom(ctx, LBK_F32, 1, cd, cm), tfrom(ctx, LBK_F32, 1, cd, cv), none, none, 1e-5)), k2, NULL, NULL), 8, 8), k2, NULL, NULL), 3)
    assert_int_equal(lbk_method_begin(m, "forward", 2, dts, nds, dims, in), LBK_OK);
    y = BLOCK(in[0], in[1]);
    assert_int_equal(lbk_method_end(m, &y, 1), LBK_OK);
    assert_int_equal(lbk_module_save(m, "build/test_cnn.lbkm"), LBK_OK);
    lbk_module_destroy(m);
    lbk_module *ld = lbk_module_load(ctx, "build/test_cnn.lbkm");
    if (!ld) fail_msg("%s", lbk_ctx_error(ctx));
    in[0] = tfrom(ctx, LBK_F32, 4, xd, x);
    in[1] = tfrom(ctx, LBK_F32, 4, wd, w);
    assert_int_equal(lbk_module_run(ld, "forward", in, 2, &out, 1), LBK_OK);
    tread(ctx, out, b);
    tread(ctx, BLOCK(in[0], in[1]), a);
#undef BLOCK
    tclose(b, a, 64, 0, "module round trip");
    lbk_module_destroy(ld);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_conv2d),     cmocka_unit_test(test_conv2d_winograd), cmocka_unit_test(test_conv1d_transpose),
    cmocka_unit_test(test_conv_transpose_fast), cmocka_unit_test(test_pool_threads), cmocka_unit_test(test_pool_resize),
    cmocka_unit_test(test_window_errors), cmocka_unit_test(test_scan_sort),  cmocka_unit_test(test_sampling_onehot_pad),
    cmocka_unit_test(test_norms_rope_ce), cmocka_unit_test(test_cnn_module),
};
TEST_GROUP(conv_tests, tests);
