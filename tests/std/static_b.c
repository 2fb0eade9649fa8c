#define LAZYBK_STATIC
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"

double static_b_value(void);
double static_b_value(void) {
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    double v = -1;
    if (!ctx) return -1;
    if (lbk_read(ctx, lbk_mul(ctx, lbk_scalar(ctx, LBK_F64, 3), lbk_scalar(ctx, LBK_F64, 4)), &v, sizeof v) != LBK_OK) v = -2;
    lbk_ctx_destroy(ctx);
    return v;
}
