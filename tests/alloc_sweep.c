/* Allocation-failure sweep: a representative program (trace, sync, read, texts, scopes,
   errors) is run once for every N, with the Nth host allocation failing. Every run must end
   in success with the right numbers or in LBK_ERR_OOM, never crash; the sanitizer build
   also checks that nothing leaks. Ends with "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static long g_count, g_fail_at = -1;
static void *t_malloc(size_t n) { if (++g_count == g_fail_at) return NULL; return malloc(n); }
static void *t_realloc(void *p, size_t n) { if (++g_count == g_fail_at) return NULL; return realloc(p, n); }
#define LAZYBK_MALLOC(n) t_malloc(n)
#define LAZYBK_REALLOC(p, n) t_realloc(p, n)
#define LAZYBK_FREE(p) free(p)
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"

static const char *g_backend = "cpu";

/* 0: ok with correct values, 1: OOM reported, 2: wrong */
static int program(void) {
    lbk_ctx_desc dsc = {0};
    dsc.backend = g_backend;
    lbk_ctx *ctx = lbk_ctx_create(&dsc);
    if (!ctx) return lbk_last_result() == LBK_ERR_OOM ? 1 : 2;
    int64_t d[2] = {2, 3}, d3 = 3, r[2] = {3, 2};
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6], s = 0;
    int rc = 0;
    lbk_scope sc = lbk_scope_begin(ctx);
    lbk_tensor a = lbk_from_host(ctx, LBK_F32, 2, d, x);
    lbk_tensor b = lbk_add(ctx, lbk_mul(ctx, a, lbk_scalar(ctx, LBK_F32, 2)), lbk_full(ctx, LBK_F32, 1, &d3, 1));
    lbk_tensor m = lbk_matmul(ctx, b, lbk_reshape(ctx, a, 2, r));
    lbk_tensor parts[6];
    for (int i = 0; i < 6; i++) parts[i] = lbk_exp(ctx, lbk_slice(ctx, b, 1, i % 3, i % 3 + 1, 1));
    lbk_tensor c = lbk_concat(ctx, parts, 6, 1);
    lbk_tensor t = lbk_sum(ctx, c, 0, NULL, false);
    lbk_tensor sm = lbk_softmax(ctx, b, -1);                            /* decomposed on the miss */
    lbk_tensor ln = lbk_layer_norm(ctx, b, 1, (lbk_tensor){0}, (lbk_tensor){0}, 1e-5);
    float smv[6], lnv[6];
    lbk_add(ctx, a, lbk_full(ctx, LBK_F32, 1, (int64_t[]){4}, 0));   /* an error on purpose */
    (void)lbk_ir_text(ctx, &t, 1);
    lbk_result r1 = lbk_sync(ctx, (lbk_tensor[]){b, m, t, sm}, 4);
    lbk_result r2 = lbk_read(ctx, b, y, sizeof y);
    lbk_result r3 = lbk_read(ctx, t, &s, sizeof s);
    if (r3 == LBK_OK) r3 = lbk_read(ctx, sm, smv, sizeof smv);
    if (r3 == LBK_OK) r3 = lbk_read(ctx, ln, lnv, sizeof lnv);
    (void)lbk_metrics_report(ctx);
    lbk_scope_end(ctx, sc, NULL, 0);
    lbk_result first = lbk_ctx_result(ctx);
    if (first == LBK_ERR_SHAPE && r1 == LBK_OK && r2 == LBK_OK && r3 == LBK_OK) {
        double want = 0;
        for (int i = 0; i < 6; i++) {
            if (y[i] != x[i] * 2 + 1) rc = 2;
            want += 2 * exp(x[i] * 2 + 1);
        }
        if (fabs(s - want) > 1e-5 * want) rc = 2;
        for (int row = 0; row < 2; row++) {   /* rows of b are 2x+1 for x in (1,2,3) and (4,5,6) */
            double z = 0, mean = 0, var = 0;
            for (int j = 0; j < 3; j++) { z += exp(y[row * 3 + j] - y[row * 3 + 2]); mean += y[row * 3 + j] / 3; }
            for (int j = 0; j < 3; j++) var += (y[row * 3 + j] - mean) * (y[row * 3 + j] - mean) / 3;
            for (int j = 0; j < 3; j++) {
                if (fabs(smv[row * 3 + j] - exp(y[row * 3 + j] - y[row * 3 + 2]) / z) > 1e-6) rc = 2;
                if (fabs(lnv[row * 3 + j] - (y[row * 3 + j] - mean) / sqrt(var + 1e-5)) > 1e-5) rc = 2;
            }
        }
    } else if (first == LBK_ERR_OOM || r1 == LBK_ERR_OOM || r2 == LBK_ERR_OOM || r3 == LBK_ERR_OOM) {
        rc = 1;
    } else {
        fprintf(stderr, "unexpected: first %s (%s), sync %s, read %s/%s\n", lbk_result_str(first), lbk_ctx_error(ctx),
                lbk_result_str(r1), lbk_result_str(r2), lbk_result_str(r3));
        rc = 2;
    }
    lbk_ctx_destroy(ctx);
    return rc;
}

/* Modules: trace a parent calling a child, run, lower (same backend and another one),
   save and load. 0 ok with the right numbers, 1 OOM reported, 2 wrong. */
static int program_module(void) {
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    if (!ctx) return lbk_last_result() == LBK_ERR_OOM ? 1 : 2;
    int rc = 0;
    int64_t d[1] = {4};
    const int64_t *dims[1] = {d};
    int nd[1] = {1};
    lbk_dtype dt[1] = {LBK_F32};
    float w[4] = {1, 2, 3, 4}, x[4] = {0.5f, -1, 2, 0}, y[4];
    lbk_module *m = lbk_module_create(ctx, "Model"), *e = lbk_module_create(ctx, "Enc"), *low = NULL, *ld = NULL;
    lbk_value *spec = lbk_value_dict();
    lbk_tensor in, h, out;
    lbk_result r = (m && e && spec) ? LBK_OK : LBK_ERR_OOM;
    if (r == LBK_OK) {
        lbk_value *opts = lbk_value_dict();
        r = opts ? lbk_dict_set(spec, "forward", opts) : LBK_ERR_OOM;
    }
    if (r == LBK_OK && (r = lbk_method_begin(e, "forward", 1, dt, nd, dims, &in)) == LBK_OK) {
        lbk_tensor o = lbk_mul(ctx, in, lbk_from_host(ctx, LBK_F32, 1, d, w));
        r = lbk_method_end(e, &o, 1);
    }
    if (r == LBK_OK) { r = lbk_module_add_child(m, "enc", e); if (r == LBK_OK) e = NULL; }
    if (r == LBK_OK && (r = lbk_method_begin(m, "forward", 1, dt, nd, dims, &in)) == LBK_OK) {
        r = lbk_module_call(lbk_module_child(m, "enc"), "forward", &in, 1, &h, 1);
        lbk_tensor o = r == LBK_OK ? lbk_add(ctx, h, lbk_scalar(ctx, LBK_F32, 1)) : in;
        lbk_result r2 = lbk_method_end(m, &o, 1);
        if (r == LBK_OK) r = r2;
    }
    const char *targets[3] = {NULL, "cpu", "cpu-reference"};
    for (int k = 0; k < 3 && r == LBK_OK; k++) {
        lbk_module *run = m;
        if (targets[k]) {
            low = lbk_to_backend(m, targets[k], spec);
            if (!low) { r = lbk_ctx_result(ctx); break; }
            if (k == 2) {   /* through a file */
                r = lbk_module_save(low, "build/alloc_sweep.lbkm");
                if (r == LBK_OK && !(ld = lbk_module_load(ctx, "build/alloc_sweep.lbkm"))) r = lbk_ctx_result(ctx);
                if (r != LBK_OK) break;
            }
            run = ld ? ld : low;
        }
        lbk_tensor xin = lbk_from_host(ctx, LBK_F32, 1, d, x);
        r = lbk_module_run(run, "forward", &xin, 1, &out, 1);
        if (r == LBK_OK) r = lbk_read(ctx, out, y, sizeof y);
        if (r == LBK_OK)
            for (int i = 0; i < 4; i++) if (y[i] != x[i] * w[i] + 1) rc = 2;
        lbk_module_destroy(ld); ld = NULL;
        lbk_module_destroy(low); low = NULL;
    }
    if (r != LBK_OK && rc == 0) {
        if (r == LBK_ERR_OOM || lbk_ctx_result(ctx) == LBK_ERR_OOM || lbk_last_result() == LBK_ERR_OOM) rc = 1;
        else { fprintf(stderr, "module program: %s (%s)\n", lbk_result_str(r), lbk_ctx_error(ctx)); rc = 2; }
    }
    lbk_module_destroy(ld);
    lbk_module_destroy(low);
    lbk_module_destroy(e);
    lbk_module_destroy(m);
    lbk_value_free(spec);
    lbk_ctx_destroy(ctx);
    return rc;
}

int main(void) {
    /* the fast path (composites run whole) and the reference path (composites decomposed) */
    static const char *const backends[2] = {"cpu", "cpu-reference"};
    int passed = 0, failed = 0, oom = 0;
    long total = 0;
    for (int bk = 0; bk < 2; bk++) {
        g_backend = backends[bk];
        g_fail_at = -1;
        g_count = 0;
        if (program() != 0) { printf("clean run on %s failed\n0 passed, 1 failed\n", g_backend); return 1; }
        lbk_shutdown();
        g_count = 0;
        if (program() != 0) { printf("second clean run on %s failed\n0 passed, 1 failed\n", g_backend); return 1; }
        total = g_count;   /* a warm run: the registry and debug sites exist already */
        for (long n = 1; n <= total + 5; n++) {
            lbk_shutdown();   /* drains the cpu pool: each run allocates its buffers afresh */
            g_count = 0;
            g_fail_at = n;
            int rc = program();
            g_fail_at = -1;
            if (rc == 2) { failed++; fprintf(stderr, "%s: allocation %ld failing gave a wrong result\n", g_backend, n); }
            else { passed++; oom += rc == 1; }
        }
        printf("alloc-sweep: %s: %ld allocation points\n", g_backend, total);
    }
    {   /* modules */
        g_fail_at = -1;
        g_count = 0;
        if (program_module() != 0) { printf("clean module run failed\n0 passed, 1 failed\n"); return 1; }
        lbk_shutdown();
        g_count = 0;
        if (program_module() != 0) { printf("second clean module run failed\n0 passed, 1 failed\n"); return 1; }
        total = g_count;
        for (long n = 1; n <= total + 5; n++) {
            lbk_shutdown();
            g_count = 0;
            g_fail_at = n;
            int rc = program_module();
            g_fail_at = -1;
            if (rc == 2) { failed++; fprintf(stderr, "modules: allocation %ld failing gave a wrong result\n", n); }
            else { passed++; oom += rc == 1; }
        }
        printf("alloc-sweep: modules: %ld allocation points\n", total);
    }
    printf("alloc-sweep: %d runs reported OOM\n", oom);
    printf("alloc-sweep: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
