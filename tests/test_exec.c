/* The executor: deep graphs, the compile cache, scalars as parameters, buffer reuse. */
#include "common.h"
#include <pthread.h>

static void test_deep_chain(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 4;
    double v[4] = {0, 1, 2, 3}, got[4];
    lbk_tensor x = tfrom(ctx, LBK_F64, 1, &n, v), one = lbk_scalar(ctx, LBK_F64, 1);
    lbk_tensor t = x;
    lbk_scope s = lbk_scope_begin(ctx);
    for (int i = 0; i < 100000; i++) t = lbk_add(ctx, t, one);   /* 100,000 deep */
    assert_int_equal(lbk_sync(ctx, &t, 1), LBK_OK);
    tread(ctx, t, got);
    for (int i = 0; i < 4; i++) assert_true(got[i] == v[i] + 100000);
    lbk_scope_end(ctx, s, &t, 1);
    /* and releasing a deep pending chain is iterative too */
    lbk_tensor u = x;
    for (int i = 0; i < 100000; i++) { lbk_tensor w = lbk_mul(ctx, u, one); if (u.id != x.id) lbk_release(ctx, u); u = w; }
    lbk_release(ctx, u);
    assert_contains(lbk_metrics_report(ctx), "live_nodes: 3\n");   /* x, one, t */
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

/* Changing a scalar's value or the data never recompiles. */
static void test_scalars_are_parameters(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 3;
    double v[3] = {1, 2, 3}, got[3];
    for (int step = 0; step < 5; step++) {
        lbk_scope s = lbk_scope_begin(ctx);
        for (int i = 0; i < 3; i++) v[i] += 1;
        lbk_tensor x = tfrom(ctx, LBK_F32, 1, &n, v);
        lbk_tensor y = lbk_add(ctx, lbk_mul(ctx, x, lbk_scalar(ctx, LBK_F32, step)), lbk_full(ctx, LBK_F32, 1, &n, 0.5 * step));
        tread(ctx, y, got);
        for (int i = 0; i < 3; i++) assert_true(fabs(got[i] - (v[i] * step + 0.5 * step)) < 1e-6);
        lbk_scope_end(ctx, s, NULL, 0);
    }
    assert_int_equal(lbk_counter(ctx, "compile"), 1);
    assert_int_equal(lbk_counter(ctx, "cache_hit"), 4);
    assert_int_equal(lbk_counter(ctx, "execute"), 5);
    /* a different shape, dtype or op is a different graph */
    lbk_tensor x4 = lbk_full(ctx, LBK_F32, 1, (int64_t[]){4}, 1);
    assert_int_equal(lbk_sync(ctx, (lbk_tensor[]){lbk_add(ctx, lbk_mul(ctx, x4, lbk_scalar(ctx, LBK_F32, 1)), x4)}, 1), LBK_OK);
    assert_int_equal(lbk_counter(ctx, "compile"), 2);
    lbk_ctx_destroy(ctx);
}

static void test_cache_lru(void **state) {
    (void)state;
    lbk_ctx_desc d = {0};
    d.cache_capacity = 2;
    lbk_ctx *ctx = lbk_ctx_create(&d);
    assert_non_null(ctx);
    int64_t n = 2;
    typedef lbk_tensor (*un)(lbk_ctx *, lbk_tensor);
    un fns[3] = {(lbk_exp), (lbk_sin), (lbk_cos)};
    int order[] = {0, 1, 0, 2, 0, 1};   /* 2 evicts 1 (least recent); 1 then recompiles */
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor y = fns[order[k]](ctx, lbk_full(ctx, LBK_F32, 1, &n, 1));
        assert_int_equal(lbk_sync(ctx, &y, 1), LBK_OK);
        lbk_scope_end(ctx, s, NULL, 0);
    }
    assert_int_equal(lbk_counter(ctx, "compile"), 4);
    assert_int_equal(lbk_counter(ctx, "cache_hit"), 2);
    assert_int_equal(lbk_counter(ctx, "cache_evict"), 2);
    lbk_ctx_destroy(ctx);
}

static void test_sync_all_and_multi_output(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx();
    int64_t n = 3;
    double v[3] = {1, 2, 3}, got[3];
    lbk_tensor x = tfrom(ctx, LBK_F64, 1, &n, v);
    lbk_tensor a = lbk_mul(ctx, x, x), b = lbk_add(ctx, a, x), c = lbk_sum(ctx, b, 0, NULL, false);
    assert_true(lbk_is_pending(ctx, a) && lbk_is_pending(ctx, c));
    assert_false(lbk_is_pending(ctx, x));
    assert_int_equal(lbk_sync(ctx, NULL, 0), LBK_OK);   /* every live pending tensor */
    assert_false(lbk_is_pending(ctx, a));
    assert_false(lbk_is_pending(ctx, b));
    assert_false(lbk_is_pending(ctx, c));
    assert_int_equal(lbk_counter(ctx, "execute"), 1);  /* one graph, three outputs */
    tread(ctx, a, got);
    assert_true(got[2] == 9);
    tread(ctx, b, got);
    assert_true(got[2] == 12);
    tread(ctx, c, got);
    assert_true(got[0] == 2 + 6 + 12);
    /* a synced tensor is data: it feeds later graphs as a parameter */
    lbk_tensor d2 = lbk_add(ctx, c, c);
    tread(ctx, d2, got);
    assert_true(got[0] == 40);
    /* syncing only scalars or data needs no graph */
    int64_t ex = lbk_counter(ctx, "execute");
    lbk_tensor s = lbk_scalar(ctx, LBK_I32, 5);
    assert_int_equal(lbk_sync(ctx, (lbk_tensor[]){s, x}, 2), LBK_OK);
    assert_int_equal(lbk_counter(ctx, "execute"), ex);
    assert_false(lbk_is_pending(ctx, s));
    tread(ctx, s, got);
    assert_true(got[0] == 5);
    /* the same tensor twice in one sync */
    lbk_tensor e = lbk_neg(ctx, x);
    assert_int_equal(lbk_sync(ctx, (lbk_tensor[]){e, e}, 2), LBK_OK);
    tread(ctx, e, got);
    assert_true(got[1] == -2);
    assert_ctx_ok(ctx);
    lbk_ctx_destroy(ctx);
}

static int64_t report_value(const char *rep, const char *key) {
    const char *p = strstr(rep, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Repeated syncs of one graph allocate no new buffers after the first. */
static void test_buffer_reuse(void **state) {
    (void)state;
    lbk_ctx *ctx = tctx_on("cpu");
    int64_t n = 4096;
    double *v = malloc(sizeof(double) * 4096), *got = malloc(sizeof(double) * 4096);
    tfill(v, n, -1, 1, 5);
    int64_t allocs_after_first = 0;
    for (int step = 0; step < 6; step++) {
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor x = tfrom(ctx, LBK_F32, 1, &n, v);
        lbk_tensor y = lbk_tanh(ctx, lbk_add(ctx, lbk_mul(ctx, x, x), lbk_exp(ctx, x)));
        tread(ctx, y, got);
        for (int i = 0; i < 4096; i += 511) assert_true(fabs(got[i] - tanh((float)v[i] * (float)v[i] + exp((float)v[i]))) < 1e-6);
        lbk_scope_end(ctx, s, NULL, 0);
        int64_t allocs = report_value(lbk_metrics_report(ctx), "buffer_allocations: ");
        if (step == 1) allocs_after_first = allocs;
        if (step > 1) assert_int_equal(allocs, allocs_after_first);
    }
    assert_true(report_value(lbk_metrics_report(ctx), "pool_hits: ") > 0);
    free(v);
    free(got);
    lbk_ctx_destroy(ctx);
}

/* Two contexts are independent; a context sees only its own counters. */
static void test_two_contexts(void **state) {
    (void)state;
    lbk_ctx *a = tctx(), *b = tctx();
    double got[1];
    tread(a, lbk_add(a, lbk_scalar(a, LBK_F32, 1), lbk_scalar(a, LBK_F32, 2)), got);
    assert_true(got[0] == 3);
    assert_int_equal(lbk_counter(a, "sync"), 1);
    assert_int_equal(lbk_counter(b, "sync"), 0);
    lbk_ctx_destroy(a);
    tread(b, lbk_sub(b, lbk_scalar(b, LBK_F32, 1), lbk_scalar(b, LBK_F32, 2)), got);
    assert_true(got[0] == -1);
    lbk_ctx_destroy(b);
}

/* One context per thread, all tracing and syncing at once, while another thread
   registers and unregisters backends. */
typedef struct thread_job { int id; int ok; } thread_job;
static void *thread_main(void *arg) {
    thread_job *job = (thread_job *)arg;
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    job->ok = ctx != NULL;
    int64_t n = 64;
    for (int step = 0; step < 40 && job->ok; step++) {
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor x = lbk_arange(ctx, LBK_F64, 0, 64, 1);
        lbk_tensor y = lbk_sum(ctx, lbk_mul(ctx, x, lbk_scalar(ctx, LBK_F64, job->id + step)), 0, NULL, false);
        double got = 0;
        if (lbk_read(ctx, y, &got, sizeof got) != LBK_OK || got != 2016.0 * (job->id + step)) job->ok = 0;
        lbk_scope_end(ctx, s, NULL, 0);
        (void)n;
    }
    if (ctx && lbk_counter(ctx, "compile") != 1) job->ok = 0;
    lbk_ctx_destroy(ctx);
    return NULL;
}
static void *registrar_main(void *arg) {
    thread_job *job = (thread_job *)arg;
    char name[32];
    job->ok = 1;
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "mock_thread_%d", i);
        lbk_backend_i b = mock_iface(name);
        if (lbk_backend_register(&b, &g_mock) != LBK_OK || !lbk_backend_has(name) ||
            lbk_backend_unregister(name) != LBK_OK)
            job->ok = 0;
    }
    return NULL;
}
static void test_threads(void **state) {
    (void)state;
    enum { N = 4 };
    pthread_t th[N + 1];
    thread_job jobs[N + 1];
    for (int i = 0; i < N; i++) { jobs[i].id = i; pthread_create(&th[i], NULL, thread_main, &jobs[i]); }
    pthread_create(&th[N], NULL, registrar_main, &jobs[N]);
    for (int i = 0; i <= N; i++) pthread_join(th[i], NULL);
    for (int i = 0; i <= N; i++) assert_true(jobs[i].ok);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_deep_chain), cmocka_unit_test(test_scalars_are_parameters), cmocka_unit_test(test_cache_lru),
    cmocka_unit_test(test_sync_all_and_multi_output), cmocka_unit_test(test_buffer_reuse),
    cmocka_unit_test(test_two_contexts), cmocka_unit_test(test_threads),
};
TEST_GROUP(exec_tests, tests);
