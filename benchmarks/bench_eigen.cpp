// bench_eigen.cpp — P2 tanh(x*a+b)*sigmoid(x) on 16M f32: lazybk against Eigen 3's
// expression templates, in the same run, one thread. Built the way users build (-O2, no
// -march; Eigen then uses SSE2, lazybk picks its kernels at run time):
//     c++ -O2 -I. -I/usr/include/eigen3 $(pkg-config --cflags stb) benchmarks/bench_eigen.cpp -o bench_eigen -lm -lpthread
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

static double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main() {
    const int64_t n = 16 * 1024 * 1024;
    const int reps = 7;
    Eigen::ArrayXf x(n), y(n);
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i % 2001) - 1000) / 500.0f;
    lbk_ctx_desc desc = {};
    desc.n_threads = 1;
    lbk_ctx *ctx = lbk_ctx_create(&desc);
    lbk_tensor tx = lbk_from_host(ctx, LBK_F32, 1, &n, x.data());
    std::vector<double> te, tl;
    float a = 0.5f, b = -0.25f;
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms();
        y = (x * a + b).tanh() * (1.0f / (1.0f + (-x).exp()));
        te.push_back(now_ms() - t0);
        lbk_scope s = lbk_scope_begin(ctx);
        t0 = now_ms();
        lbk_tensor out = lbk_mul(ctx, lbk_tanh(ctx, lbk_add(ctx, lbk_mul(ctx, tx, lbk_scalar(ctx, LBK_F32, a)), lbk_scalar(ctx, LBK_F32, b))),
                                 lbk_sigmoid(ctx, tx));
        if (lbk_sync(ctx, &out, 1) != LBK_OK) { std::fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
        tl.push_back(now_ms() - t0);
        lbk_scope_end(ctx, s, nullptr, 0);
    }
    std::sort(te.begin(), te.end());
    std::sort(tl.begin(), tl.end());
    std::printf("P2 tanh(x*a+b)*sigmoid(x), 16M f32, 1 thread   lazybk %7.2f ms | Eigen %d.%d.%d %7.2f ms | ratio %.2f\n", tl[reps / 2],
                EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, te[reps / 2], tl[reps / 2] / te[reps / 2]);
    lbk_ctx_destroy(ctx);
    return 0;
}
