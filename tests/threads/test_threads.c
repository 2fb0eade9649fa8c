/* Threads: one context per thread (2, 4 and 8 threads), each tracing, syncing and reading
   its own graphs (fused groups, reductions, matmul, composites, modules), checked against
   float64; meanwhile other threads look up, register and unregister backends and
   preprocess functions. Built without OpenMP for ThreadSanitizer by `make tsan` (and
   plainly by `make test`). Prints "threads: N passed, N failed". */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"

static int g_fail;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static void failed(const char *what, int id) { pthread_mutex_lock(&g_lock); g_fail++; printf("FAIL thread %d: %s\n", id, what); pthread_mutex_unlock(&g_lock); }

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    lbk_ctx_desc d;
    memset(&d, 0, sizeof d);
    d.backend = id % 2 ? "cpu-reference" : "cpu";
    d.n_threads = 1;
    lbk_ctx *ctx = lbk_ctx_create(&d);
    if (!ctx) { failed("context", id); return NULL; }
    for (int it = 0; it < 40; it++) {
        int64_t dims[2] = {8, 16};
        float x[128], y[8];
        for (int i = 0; i < 128; i++) x[i] = (float)((i * 7 + id * 13 + it) % 23) / 11.0f - 1;
        lbk_scope s = lbk_scope_begin(ctx);
        lbk_tensor t = lbk_from_host(ctx, LBK_F32, 2, dims, x);
        int ax = -1;
        lbk_tensor v = lbk_sum(ctx, lbk_mul(ctx, lbk_tanh(ctx, t), lbk_scalar(ctx, LBK_F32, 2)), 1, &ax, false);
        lbk_tensor sm = lbk_softmax(ctx, lbk_matmul(ctx, t, lbk_transpose(ctx, t, 0, 1)), -1);
        if (lbk_read(ctx, v, y, sizeof y) != LBK_OK) { failed(lbk_ctx_error(ctx), id); break; }
        for (int r = 0; r < 8; r++) {
            double want = 0;
            for (int c = 0; c < 16; c++) want += 2 * tanh((double)x[r * 16 + c]);
            if (fabs(y[r] - want) > 1e-4) { failed("wrong value", id); break; }
        }
        float p[64];
        if (lbk_read(ctx, sm, p, sizeof p) != LBK_OK) { failed(lbk_ctx_error(ctx), id); break; }
        {   /* the metrics of every context at once (the cpu backend's report is shared) */
            const char *rep = lbk_metrics_report(ctx);
            if (!rep || !strstr(rep, "compile")) { failed("metrics report", id); break; }
        }
        lbk_scope_end(ctx, s, NULL, 0);
    }
    lbk_ctx_destroy(ctx);
    return NULL;
}
static lbk_result pp(const lbk_module *m, const lbk_value *spec, lbk_value **out) { return lbk_preprocess_default(m, spec, out); }
static void *registrar(void *arg) {
    int id = (int)(intptr_t)arg;
    void *self;
    for (int it = 0; it < 200; it++) {
        char name[64];
        snprintf(name, sizeof name, "thread-backend-%d-%d", id, it % 4);
        const lbk_backend_i *cpu = lbk_backend_get("cpu", &self);
        if (!cpu) { failed("lookup", id); break; }
        lbk_backend_i b = *cpu;
        b.name = name;
        if (lbk_backend_register(&b, self) == LBK_OK) (void)lbk_backend_unregister(name);
        (void)lbk_backend_has("cpu-reference");
        (void)lbk_backend_count();
        snprintf(name, sizeof name, "pp-%d-%d", id, it);
        (void)lbk_preprocess_register(name, pp);
        (void)lbk_preprocess_get(name);
    }
    return NULL;
}

/* Registry churn: one thread registers and unregisters "churn" (a copy of the cpu vtable
   with no init/exit) while others look it up, ask if it is available and read the names
   and vtables they were given. Under ASan/TSan (make sanitize, make tsan) a freed entry or
   an unlocked read fails here. */
static volatile int g_churn_stop;
static void *churner(void *arg) {
    (void)arg;
    void *self;
    const lbk_backend_i *cpu = lbk_backend_get("cpu", &self);
    lbk_backend_i b = *cpu;
    b.name = "churn";
    b.init = NULL;
    b.prepare_to_exit = NULL;
    for (int it = 0; it < 3000; it++) {
        if (lbk_backend_register(&b, self) == LBK_OK) {
            lbk_result r;
            while ((r = lbk_backend_unregister("churn")) == LBK_ERR_BUSY) {}
            if (r != LBK_OK) { failed("churn unregister", -1); break; }
        }
    }
    __atomic_store_n(&g_churn_stop, 1, __ATOMIC_SEQ_CST);
    return NULL;
}
static void *looker(void *arg) {
    int id = (int)(intptr_t)arg;
    while (!__atomic_load_n(&g_churn_stop, __ATOMIC_SEQ_CST)) {
        void *self = NULL;
        const lbk_backend_i *b = lbk_backend_get("churn", &self);
        if (b && (strcmp(b->name, "churn") != 0 || !b->compile || !self)) { failed("churn vtable", id); break; }
        (void)lbk_backend_available("churn");
        int n = lbk_backend_count();
        for (int i = 0; i < n + 1; i++) {
            const char *nm = lbk_backend_name(i);
            if (nm && !nm[0]) { failed("empty backend name", id); break; }
        }
        if (b && strcmp(b->name, "churn") != 0) { failed("churn vtable after", id); break; }
    }
    return NULL;
}

/* One context misused by several threads at once, without a lock of their own: every call
   either runs or is refused with LBK_ERR_BUSY ("in use by another thread"), nothing
   crashes or races (TSan), the values computed are right, and the context's own error is
   untouched. */
static lbk_ctx *g_shared;
static lbk_tensor g_x;
static int g_busy;
static void *misuser(void *arg) {
    int id = (int)(intptr_t)arg, busy = 0;
    for (int it = 0; it < 300; it++) {
        float y[16];
        lbk_tensor c = lbk_scalar(g_shared, LBK_F32, (double)id), t = {0};
        if (c.id) t = lbk_add(g_shared, g_x, c);
        if (c.id) lbk_release(g_shared, c);
        if (!t.id) {
            if (lbk_last_result() != LBK_ERR_BUSY || !strstr(lbk_last_error(), "in use by another thread")) { failed(lbk_last_error(), id); break; }
            busy++;
            continue;
        }
        lbk_result r = lbk_read(g_shared, t, y, sizeof y);
        if (r == LBK_OK) {
            for (int i = 0; i < 16; i++) if (y[i] != (float)i + (float)id) { failed("wrong value under misuse", id); break; }
        } else if (r == LBK_ERR_BUSY) {
            busy++;
        } else {
            failed(lbk_last_error(), id);
            break;
        }
        if (lbk_sync(g_shared, &t, 1) == LBK_ERR_BUSY) busy++;
        if (!lbk_metrics_report(g_shared)) busy++;
        lbk_release(g_shared, t);   /* refused while busy: the handle then stays until the context goes */
    }
    pthread_mutex_lock(&g_lock);
    g_busy += busy;
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

int main(void) {
    int counts[3] = {2, 4, 8}, passed = 0;
    for (int c = 0; c < 3; c++) {
        pthread_t th[10];
        int n = counts[c];
        for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
        pthread_create(&th[n], NULL, registrar, (void *)(intptr_t)(c * 2));
        pthread_create(&th[n + 1], NULL, registrar, (void *)(intptr_t)(c * 2 + 1));
        for (int i = 0; i < n + 2; i++) pthread_join(th[i], NULL);
        if (!g_fail) passed++;
    }
    {
        pthread_t th[3];
        int before = g_fail;
        pthread_create(&th[0], NULL, churner, NULL);
        pthread_create(&th[1], NULL, looker, (void *)(intptr_t)101);
        pthread_create(&th[2], NULL, looker, (void *)(intptr_t)102);
        for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
        if (g_fail == before) passed++;
    }
    {
        pthread_t th[4];
        int before = g_fail;
        int64_t n16 = 16;
        float x[16];
        for (int i = 0; i < 16; i++) x[i] = (float)i;
        g_shared = lbk_ctx_create(NULL);
        g_x = lbk_from_host(g_shared, LBK_F32, 1, &n16, x);
        for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, misuser, (void *)(intptr_t)(200 + i));
        for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
        if (lbk_ctx_result(g_shared) != LBK_OK) failed(lbk_ctx_error(g_shared), 0);
        {
            float y[16];
            lbk_tensor t = lbk_neg(g_shared, g_x);
            if (lbk_read(g_shared, t, y, sizeof y) != LBK_OK || y[3] != -3) failed("the context after misuse", 0);
        }
        lbk_ctx_destroy(g_shared);
        printf("threads: one context, 4 threads: %d calls refused with LBK_ERR_BUSY\n", g_busy);
        if (g_fail == before) passed++;
    }
    printf("threads: %d passed, %d failed\n", passed, g_fail);
    return g_fail ? 1 : 0;
}
