/* Deep and wide graphs synced with the default stack: a 100,000-deep chain, a sum of
   100,000 inputs, and a 1,000,000-node graph; values checked against float64, peak
   memory reported; then the live-context limit (issue 14, item 12: the 65,536th context
   is LBK_ERR_UNSUPPORTED, a count limit, not LBK_ERR_OOM). Part of `make test`. Prints
   "big: N passed, N failed". */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdio.h>
#include <sys/resource.h>
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"

static int g_pass, g_fail;
#define CHECK(c, ...) do { if (c) g_pass++; else { g_fail++; printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); } } while (0)

int main(void) {
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    int64_t n4 = 4;
    float x[4] = {0.5f, -0.25f, 1, 2}, out[4];
    /* 100,000-deep chain: x <- x * 0.99999 + 0.00001 */
    {
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor t = lbk_from_host(ctx, LBK_F32, 1, &n4, x);
        lbk_tensor a = lbk_scalar(ctx, LBK_F32, 0.99999), b = lbk_scalar(ctx, LBK_F32, 0.00001);
        for (int i = 0; i < 100000; i++) {
            lbk_tensor u = lbk_add(ctx, lbk_mul(ctx, t, a), b);
            lbk_release(ctx, t);
            t = u;
        }
        CHECK(lbk_read(ctx, t, out, sizeof out) == LBK_OK, "deep chain: %s", lbk_ctx_error(ctx));
        for (int k = 0; k < 4; k++) {
            double v = x[k];
            for (int i = 0; i < 100000; i++) v = (double)(float)((float)v * 0.99999f) + 0.00001;
            CHECK(fabs(out[k] - v) < 1e-3, "deep chain value %d: %g vs %g", k, out[k], v);
        }
        lbk_scope_end(ctx, s, NULL, 0);
    }
    /* a sum of 100,000 distinct inputs */
    {
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor acc = lbk_full(ctx, LBK_F64, 1, &n4, 0);
        double want = 0;
        for (int i = 0; i < 100000; i++) {
            double v = (double)(i % 97) / 97;
            lbk_tensor u = lbk_add(ctx, acc, lbk_from_host(ctx, LBK_F64, 0, NULL, &v));
            lbk_release(ctx, acc);
            acc = u;
            want += v;
        }
        double got[4];
        CHECK(lbk_read(ctx, acc, got, sizeof got) == LBK_OK, "wide sum: %s", lbk_ctx_error(ctx));
        CHECK(fabs(got[0] - want) < 1e-6 * want, "wide sum value: %.9g vs %.9g", got[0], want);
        lbk_scope_end(ctx, s, NULL, 0);
    }
    /* 1,000,000 nodes: 250,000 rounds of four ops */
    {
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor t = lbk_from_host(ctx, LBK_F32, 1, &n4, x);
        for (int i = 0; i < 250000; i++) {
            lbk_tensor u = lbk_sin(ctx, lbk_cos(ctx, lbk_tanh(ctx, lbk_neg(ctx, t))));
            lbk_release(ctx, t);
            t = u;
        }
        CHECK(lbk_counter(ctx, "nodes_traced") > 1000000, "traced %lld nodes", (long long)lbk_counter(ctx, "nodes_traced"));
        CHECK(lbk_read(ctx, t, out, sizeof out) == LBK_OK, "million nodes: %s", lbk_ctx_error(ctx));
        for (int k = 0; k < 4; k++) {
            float v = x[k];
            for (int i = 0; i < 250000; i++) v = sinf(cosf(tanhf(-v)));
            CHECK(fabsf(out[k] - v) < 1e-4f, "million nodes value %d: %g vs %g", k, out[k], v);
        }
        lbk_scope_end(ctx, s, NULL, 0);
    }
    CHECK(lbk_live_tensors(ctx) == 0, "handles left");
    lbk_ctx_destroy(ctx);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("big: peak RSS %ld MiB\n", ru.ru_maxrss / 1024);
    CHECK(ru.ru_maxrss / 1024 < 4096, "peak RSS %ld MiB", ru.ru_maxrss / 1024);
    {   /* every tag in use: the next context is refused as a count limit; one freed tag is reusable */
        lbk_ctx **all = (lbk_ctx **)calloc(65536, sizeof *all);
        int n = 0;
        while (n < 65536 && (all[n] = lbk_ctx_create(NULL)) != NULL) n++;
        CHECK(n == 65535 && lbk_last_result() == LBK_ERR_UNSUPPORTED && strstr(lbk_last_error(), "65535 contexts are alive"),
              "context %d refused with %s: %s", n + 1, lbk_result_str(lbk_last_result()), lbk_last_error());
        lbk_ctx_destroy(all[n / 2]);
        all[n / 2] = lbk_ctx_create(NULL);
        CHECK(all[n / 2] != NULL, "a context after one was destroyed: %s", lbk_last_error());
        {
            double v = 0;
            lbk_ctx *c = all[n / 2];
            CHECK(c && lbk_read(c, lbk_add(c, lbk_scalar(c, LBK_F64, 40), lbk_scalar(c, LBK_F64, 2)), &v, sizeof v) == LBK_OK && v == 42,
                  "the reused tag's context computes");
        }
        for (int i = 0; i < n; i++) lbk_ctx_destroy(all[i]);
        free(all);
    }
    printf("big: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
