/* A unary op added through the op table in a scratch copy of lazybk.h (tests/new_op/run.sh):
   STAGE 1, the table row alone: it traces, and every path refuses it with an error naming
   it, lbk_backend_check included; STAGE 2, plus its reference kernel: both cpu paths
   compute it (checked against x*x*x here) and lbk_backend_check covers it; STAGE 3, plus
   its tile kernel: the same, now fusible. Prints "new-op stage N: ok". */
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <stdio.h>
#include <string.h>

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fails++; printf("new-op stage %d: ", STAGE); printf(__VA_ARGS__); printf("\n"); } } while (0)

static void on(const char *backend) {
    lbk_ctx_desc d;
    lbk_ctx *ctx;
    double x[5] = {-2, -0.5, 0, 1.5, 3}, y[5];
    int64_t n = 5;
    lbk_tensor t, c;
    lbk_result r;
    memset(&d, 0, sizeof d);
    d.backend = backend;
    ctx = lbk_ctx_create(&d);
    t = lbk_from_host(ctx, LBK_F64, 1, &n, x);
    c = lbk_add(ctx, lbk_cube_t(ctx, lbk_exp(ctx, t)), lbk_scalar(ctx, LBK_F64, 1));   /* in a chain, for fusion */
    CHECK(lbk_op_from_name("cube_t") != LBK_OP_INVALID, "the op has no name");
    CHECK(c.id != 0, "tracing failed: %s", lbk_ctx_error(ctx));
    if (STAGE >= 2 && strcmp(backend, "cpu") == 0) {   /* fused with its neighbours once it has a tile kernel */
        const char *txt = lbk_backend_text(ctx, &c, 1);
        bool fused = txt && strstr(txt, "cube_t(%1)  [fused group 0") != NULL;
        CHECK(fused == (STAGE == 3), "cube_t is %sfused: %s", fused ? "" : "not ", txt ? txt : "(no text)");
    }
    r = lbk_read(ctx, c, y, sizeof y);
    if (STAGE == 1) {
        CHECK(r == LBK_ERR_UNSUPPORTED, "%s: lbk_read gave %s, want LBK_ERR_UNSUPPORTED", backend, lbk_result_str(r));
        CHECK(strstr(lbk_ctx_error(ctx), "cube_t") != NULL, "%s: the error does not name the op: %s", backend, lbk_ctx_error(ctx));
    } else {
        int i;
        CHECK(r == LBK_OK, "%s: %s", backend, lbk_ctx_error(ctx));
        for (i = 0; r == LBK_OK && i < 5; i++) {
            double e = exp(x[i]), want = e * e * e + 1;
            CHECK(fabs(y[i] - want) <= 1e-12 * fabs(want), "%s: element %d is %.17g, want %.17g", backend, i, y[i], want);
        }
    }
    lbk_ctx_destroy(ctx);
}

int main(void) {
    lbk_result r;
    on("cpu-reference");
    on("cpu");
    r = lbk_backend_check("cpu", 1e-6, NULL);
    if (STAGE == 1) {
        CHECK(r != LBK_OK, "lbk_backend_check passed with an op it cannot run");
        CHECK(strstr(lbk_last_error(), "cube_t") != NULL, "lbk_backend_check's error does not name the op: %s", lbk_last_error());
    } else {
        CHECK(r == LBK_OK, "lbk_backend_check: %s", lbk_last_error());
    }
    if (!fails) printf("new-op stage %d: ok\n", STAGE);
    return fails != 0;
}
