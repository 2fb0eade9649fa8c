/* The header included once for declarations, then again with the implementation. */
#include "lazybk.h"
#include "lazybk.h"
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"

int main(void) {
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    double v = 0;
    if (!ctx) return 1;
    if (lbk_read(ctx, lbk_sqrt(ctx, lbk_scalar(ctx, LBK_F64, 16)), &v, sizeof v) != LBK_OK || v != 4) return 2;
    lbk_ctx_destroy(ctx);
    return 0;
}
