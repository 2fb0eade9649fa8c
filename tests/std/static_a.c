/* LAZYBK_STATIC: two private copies of lazybk (and of stb_ds) in one program. */
#define LAZYBK_STATIC
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"

double static_b_value(void);

static double static_a_value(void) {
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    double v = -1;
    if (!ctx) return -1;
    if (lbk_read(ctx, lbk_add(ctx, lbk_scalar(ctx, LBK_F64, 1), lbk_scalar(ctx, LBK_F64, 2)), &v, sizeof v) != LBK_OK) v = -2;
    lbk_ctx_destroy(ctx);
    return v;
}

int main(void) {
    return (static_a_value() == 3 && static_b_value() == 12) ? 0 : 1;
}
