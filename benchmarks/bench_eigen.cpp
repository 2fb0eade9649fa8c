// bench_eigen.cpp — lazybk's fused elementwise chains, single vector-math functions and row
// kernels against Eigen 3's expression templates (benchmarks/eigen_ref.cpp), in one process,
// alternately, one thread. lazybk is built the way its users build it (-O2, no -march: it
// picks its kernels at run time); Eigen the way a user who wants speed builds it (-O3
// -march=native) and, for comparison, at -O2 with no -march (SSE2). Each case also times a
// copy of the same bytes (Eigen at -O3 -march=native) and prints lazybk's fraction of that
// bandwidth. A case whose timings spread too much (interquartile range over 25 % of the
// median, either side) prints "noisy" instead of its ratio. The machine's load goes first.
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <Eigen/Core>   /* its version, for the header line */
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

extern "C" {
#define EIGREF_DECL(s)                                                                                           \
    void eigref_p2_##s(const float *, float *, int64_t);                                                         \
    void eigref_p1_##s(const float *, float *, int64_t);                                                         \
    void eigref_exp_##s(const float *, float *, int64_t);                                                        \
    void eigref_tanh_##s(const float *, float *, int64_t);                                                       \
    void eigref_sigmoid_##s(const float *, float *, int64_t);                                                    \
    void eigref_copy_##s(const float *, float *, int64_t);                                                       \
    void eigref_sumrows_##s(const float *, float *, int64_t, int64_t);                                           \
    void eigref_softmax_##s(const float *, float *, int64_t, int64_t);                                           \
    void eigref_layernorm_##s(const float *, float *, int64_t, int64_t);
EIGREF_DECL(native)
EIGREF_DECL(o2)
}

static double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
struct Stats { double med, spread; };
static Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    Stats s;
    s.med = v[n / 2];
    s.spread = (v[(3 * n) / 4] - v[n / 4]) / s.med;
    return s;
}

enum Kind { K_P2, K_P1, K_EXP, K_TANH, K_SIGMOID, K_SUMROWS, K_SOFTMAX, K_LAYERNORM };
typedef void (*VecFn)(const float *, float *, int64_t);
typedef void (*RowFn)(const float *, float *, int64_t, int64_t);

static lbk_tensor lazy_case(lbk_ctx *ctx, Kind k, lbk_tensor x) {
    lbk_tensor a = lbk_scalar(ctx, LBK_F32, 0.5), b = lbk_scalar(ctx, LBK_F32, -0.25), none = {0};
    int ax = -1;
    switch (k) {
    case K_P2: return lbk_mul(ctx, lbk_tanh(ctx, lbk_add(ctx, lbk_mul(ctx, x, a), b)), lbk_sigmoid(ctx, x));
    case K_P1: return lbk_mul(ctx, lbk_relu(ctx, lbk_add(ctx, lbk_mul(ctx, x, a), b)), x);
    case K_EXP: return lbk_exp(ctx, x);
    case K_TANH: return lbk_tanh(ctx, x);
    case K_SIGMOID: return lbk_sigmoid(ctx, x);
    case K_SUMROWS: return lbk_sum(ctx, lbk_mul(ctx, lbk_add(ctx, lbk_mul(ctx, x, a), b), x), 1, &ax, false);
    case K_SOFTMAX: return lbk_softmax(ctx, x, -1);
    case K_LAYERNORM: return lbk_layer_norm(ctx, x, 1, none, none, 1e-5);
    }
    return none;
}

int main() {
    const int64_t big = 16 * 1024 * 1024, small = 64 * 1024, R = 4096, C = 4096;
    std::vector<float> x(big), y(big);
    for (int64_t i = 0; i < big; i++) x[i] = (float)((i % 2001) - 1000) / 500.0f;
    lbk_ctx_desc desc = {};
    desc.n_threads = 1;
    lbk_ctx *ctx = lbk_ctx_create(&desc);
    int64_t d2[2] = {R, C};
    lbk_tensor xb = lbk_from_host(ctx, LBK_F32, 1, &big, x.data()), xs = lbk_from_host(ctx, LBK_F32, 1, &small, x.data());
    lbk_tensor xm = lbk_from_host(ctx, LBK_F32, 2, d2, x.data());
    double load[3] = {0, 0, 0};
    FILE *la = std::fopen("/proc/loadavg", "r");
    if (la) { if (std::fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1; std::fclose(la); }
    std::printf("lazybk %s against Eigen %d.%d.%d (-O3 -march=native, and -O2) — 1 thread, alternated, medians; load average %.2f %.2f %.2f\n",
                lbk_version(), EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, load[0], load[1], load[2]);
    struct Case { const char *name; Kind k; int64_t n; VecFn vn, vo; RowFn rn, ro; };
    const Case cases[] = {
        {"P2 tanh(x*a+b)*sigmoid(x) 16M", K_P2, big, eigref_p2_native, eigref_p2_o2, nullptr, nullptr},
        {"P1 max(x*a+b,0)*x 16M", K_P1, big, eigref_p1_native, eigref_p1_o2, nullptr, nullptr},
        {"V1 exp 16M", K_EXP, big, eigref_exp_native, eigref_exp_o2, nullptr, nullptr},
        {"V1 exp 64K (L2)", K_EXP, small, eigref_exp_native, eigref_exp_o2, nullptr, nullptr},
        {"V2 tanh 16M", K_TANH, big, eigref_tanh_native, eigref_tanh_o2, nullptr, nullptr},
        {"V2 tanh 64K (L2)", K_TANH, small, eigref_tanh_native, eigref_tanh_o2, nullptr, nullptr},
        {"V3 sigmoid 16M", K_SIGMOID, big, eigref_sigmoid_native, eigref_sigmoid_o2, nullptr, nullptr},
        {"V3 sigmoid 64K (L2)", K_SIGMOID, small, eigref_sigmoid_native, eigref_sigmoid_o2, nullptr, nullptr},
        {"P9 sum((x*a+b)*x) rows 4096^2", K_SUMROWS, R * C, nullptr, nullptr, eigref_sumrows_native, eigref_sumrows_o2},
        {"P3 softmax rows 4096^2", K_SOFTMAX, R * C, nullptr, nullptr, eigref_softmax_native, eigref_softmax_o2},
        {"V4 layer_norm rows 4096^2", K_LAYERNORM, R * C, nullptr, nullptr, eigref_layernorm_native, eigref_layernorm_o2},
    };
    for (const Case &c : cases) {
        int reps = c.n == small ? 31 : 9, inner = c.n == small ? 50 : 1;
        std::vector<double> tl, tn, to, tc;
        lbk_tensor in = c.n == small ? xs : c.vn ? xb : xm;
        for (int r = -1; r < reps; r++) {   /* one warm-up round */
            double t0 = now_ms();
            for (int i = 0; i < inner; i++) {
                lbk_scope s = lbk_scope_begin(ctx);
                lbk_tensor out = lazy_case(ctx, c.k, in);
                if (lbk_sync(ctx, &out, 1) != LBK_OK) { std::fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
                lbk_scope_end(ctx, s, nullptr, 0);
            }
            double t1 = now_ms();
            for (int i = 0; i < inner; i++) { if (c.vn) c.vn(x.data(), y.data(), c.n); else c.rn(x.data(), y.data(), R, C); }
            double t2 = now_ms();
            for (int i = 0; i < inner; i++) { if (c.vo) c.vo(x.data(), y.data(), c.n); else c.ro(x.data(), y.data(), R, C); }
            double t3 = now_ms();
            for (int i = 0; i < inner; i++) eigref_copy_native(x.data(), y.data(), c.n);
            double t4 = now_ms();
            if (r < 0) continue;
            tl.push_back((t1 - t0) / inner); tn.push_back((t2 - t1) / inner); to.push_back((t3 - t2) / inner); tc.push_back((t4 - t3) / inner);
        }
        Stats l = stats(tl), n = stats(tn), o = stats(to), cp = stats(tc);
        const char *unit = c.n == small ? "us" : "ms";
        double f = c.n == small ? 1000.0 : 1.0;
        std::printf("%-32s lazybk %8.2f %s | Eigen -O3 -march=native %8.2f %s", c.name, l.med * f, unit, n.med * f, unit);
        if (l.spread > 0.25 || n.spread > 0.25) std::printf("  noisy (spread %.0f%% / %.0f%%): no ratio", l.spread * 100, n.spread * 100);
        else std::printf("  ratio %.2f", l.med / n.med);
        std::printf(" | Eigen -O2 %8.2f %s  ratio %.2f | copy %6.2f %s: lazybk at %.2f of the copy bandwidth\n", o.med * f, unit, l.med / o.med,
                    cp.med * f, unit, cp.med / l.med);
    }
    lbk_ctx_destroy(ctx);
    return 0;
}
