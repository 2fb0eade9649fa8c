// C++ translation unit: the implementation compiles as C++11, and ops work from C++.
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <cmath>

int main() {
    lbk_ctx *ctx = lbk_ctx_create(nullptr);
    if (!ctx) return 1;
    int64_t dims[1] = {3};
    float x[3] = {1, 2, 3}, y[3];
    lbk_tensor a = lbk_from_host(ctx, LBK_F32, 1, dims, x);
    lbk_tensor b = lbk_add(ctx, lbk_mul(ctx, a, a), lbk_scalar(ctx, LBK_F32, 1));
    if (lbk_read(ctx, b, y, sizeof y) != LBK_OK) return 2;
    for (int i = 0; i < 3; i++)
        if (std::fabs(y[i] - (x[i] * x[i] + 1)) > 1e-6f) return 3;
    lbk_ctx_destroy(ctx);
    return 0;
}
