/* bench_core.c — the core's own costs: tracing, cached re-sync, first compile.

   Each line prints lazybk's figure beside a reference measured in the same run and the
   ratio. Built the way users build (-O2, no -march):
       cc -O2 -I. $(pkg-config --cflags stb) benchmarks/bench_core.c -o bench_core -lm -lpthread
*/
#define _POSIX_C_SOURCE 200809L
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <string.h>
#include <time.h>
#include "bench_util.h"

static void machine(char *buf, size_t cap) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    snprintf(buf, cap, "unknown cpu");
    if (!f) return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) { snprintf(buf, cap, "%s", p + 2); buf[strcspn(buf, "\n")] = 0; }
            break;
        }
    fclose(f);
}

#define GRAPH_NODES 1000
#define SMALL 16

/* The 1000-op graph of tiny ops: alternating mul/add with scalars, a tanh every
   `period`th step (10 for the graph the re-sync figures use). */
static lbk_tensor trace_graph_p(lbk_ctx *ctx, lbk_tensor x, int variant, int period) {
    lbk_tensor t = x;
    for (int i = 0; i < GRAPH_NODES / 2; i++) {
        if (i % period == period - 1) t = lbk_tanh(ctx, t);
        else t = lbk_add(ctx, lbk_mul(ctx, t, lbk_scalar(ctx, LBK_F32, 0.999 + 1e-6 * variant)), lbk_scalar(ctx, LBK_F32, 0.001));
    }
    return t;
}
static lbk_tensor trace_graph(lbk_ctx *ctx, lbk_tensor x, int variant) { return trace_graph_p(ctx, x, variant, 10); }
/* The same arithmetic as a hand-written loop: the reference for re-sync. */
static void reference_loop(float *v, float a, float b) {
    for (int i = 0; i < GRAPH_NODES / 2; i++)
        for (int j = 0; j < SMALL; j++) v[j] = (i % 10 == 9) ? tanhf(v[j]) : v[j] * a + b;
}

int main(void) {
    char cpu[128], date[64];
    time_t t0 = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t0));
    machine(cpu, sizeof cpu);
    printf("lazybk %s core benchmarks — %s — %s — compiler %s\n", lbk_version(), date, cpu,
#ifdef __VERSION__
           __VERSION__
#else
           "unknown"
#endif
    );
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    if (!ctx) { fprintf(stderr, "%s\n", lbk_last_error()); return 1; }
    float host[SMALL];
    for (int i = 0; i < SMALL; i++) host[i] = (float)i / SMALL;
    int64_t n = SMALL;

    /* P5: tracing. Reference: one malloc+free per node, the cost lazybk's flat arrays avoid. */
    enum { REPS = 9, OPS = 200000 };
    double trace[REPS], ref[REPS];
    lbk_tensor x = lbk_from_host(ctx, LBK_F32, 1, &n, host), s = lbk_scalar(ctx, LBK_F32, 1.0001);
    for (int r = 0; r < REPS; r++) {
        double spent = 0;
        for (int chunk = 0; chunk < OPS / GRAPH_NODES; chunk++) {   /* a loop step of 1000 ops, then its scope ends */
            lbk_scope sc = lbk_scope_begin(ctx);
            lbk_tensor t = x;
            double a = now_ns();
            for (int i = 0; i < GRAPH_NODES; i++) t = (i & 1) ? lbk_add(ctx, t, s) : lbk_mul(ctx, t, s);
            spent += now_ns() - a;
            lbk_scope_end(ctx, sc, NULL, 0);
        }
        trace[r] = spent / OPS;
        double a;
        void *ptrs[GRAPH_NODES];
        a = now_ns();
        for (int chunk = 0; chunk < OPS / GRAPH_NODES; chunk++) {   /* the same 1000-per-step pattern */
            for (int i = 0; i < GRAPH_NODES; i++) { ptrs[i] = malloc(96); memset(ptrs[i], i, 96); }
            for (int i = 0; i < GRAPH_NODES; i++) free(ptrs[i]);
        }
        ref[r] = (now_ns() - a) / OPS;
    }
    double tr = median(trace, REPS), rf = median(ref, REPS);
    printf("%-44s %9.1f ns/op     ref %-28s %9.1f ns  ratio %.2f\n", "P5 trace binary op, 1000 per scope", tr,
           "malloc+memset+free per node", rf, tr / rf);

    /* P7: the first sync of a new 1000-node graph shape in a warm context (compile and one
       execution); each of these graphs differs from the others, so each one compiles. */
    enum { SHAPES = 9 };
    double firsts[SHAPES], a;
    lbk_scope sc;
    lbk_tensor xi, y;
    for (int k = 0; k < SHAPES; k++) {
        sc = lbk_scope_begin(ctx);
        xi = lbk_from_host(ctx, LBK_F32, 1, &n, host);
        y = trace_graph_p(ctx, xi, 0, 11 + k);
        a = now_ns();
        if (lbk_sync(ctx, &y, 1) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
        firsts[k] = now_ns() - a;
        lbk_scope_end(ctx, sc, NULL, 0);
    }
    double first = median(firsts, SHAPES);
    /* P6: cached re-sync of a 1000-node graph */
    enum { SYNCS = 200 };
    double sync_ns[SYNCS], trace_ns[SYNCS], loop_ns[SYNCS];
    float out[SMALL], refv[SMALL];
    for (int r = 0; r < SYNCS; r++) {
        sc = lbk_scope_begin(ctx);
        xi = lbk_from_host(ctx, LBK_F32, 1, &n, host);
        a = now_ns();
        y = trace_graph(ctx, xi, r);
        double b = now_ns();
        if (lbk_sync(ctx, &y, 1) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
        double c = now_ns();
        lbk_read(ctx, y, out, sizeof out);
        lbk_scope_end(ctx, sc, NULL, 0);
        trace_ns[r] = (b - a) / GRAPH_NODES;
        sync_ns[r] = (c - b) / GRAPH_NODES;
        memcpy(refv, host, sizeof refv);
        a = now_ns();
        reference_loop(refv, 0.999f + 1e-6f * (float)r, 0.001f);
        loop_ns[r] = (now_ns() - a) / GRAPH_NODES;
        for (int j = 0; j < SMALL; j++)
            if (!(fabsf(out[j] - refv[j]) <= 1e-3f * (1 + fabsf(refv[j])))) {
                fprintf(stderr, "mismatch at %d: %g vs %g\n", j, out[j], refv[j]);
                return 1;
            }
    }
    double sy = median(sync_ns, SYNCS), tg = median(trace_ns, SYNCS), lp = median(loop_ns, SYNCS);
    printf("%-44s %9.1f ns/node   ref %-28s %9.1f ns  ratio %.2f\n", "P6 cached re-sync, 1000-node graph", sy,
           "hand-written loop, same math", lp, sy / lp);
    printf("%-44s %9.1f ns/node   ref %-28s %9.1f ns  ratio %.2f\n", "   tracing that graph", tg,
           "hand-written loop, same math", lp, tg / lp);
    printf("%-44s %9.3f ms        ref %-28s %9.3f ms  ratio %.2f\n", "P7 first sync of a new 1000-node graph", first / 1e6,
           "cached re-sync", sy * GRAPH_NODES / 1e6, first / (sy * GRAPH_NODES));
    /* P17: a 20-op chain on small tensors, traced, synced (a cache hit) and read back each
       call, against the same chain as a hand-written loop; issue 16's goals: 2, 2.5 and 4 µs
       a call for 1, 64 and 4,096 elements. */
    {
        static const int64_t sizes[3] = {1, 64, 4096};
        static const double goals[3] = {2.0, 2.5, 4.0};
        enum { CALLS = 2000 };
        static float hx[4096], hy[4096], hr[4096];
        for (int i = 0; i < 4096; i++) hx[i] = (float)(i % 97) / 97.0f;
        for (int si = 0; si < 3; si++) {
            int64_t m = sizes[si];
            double per[CALLS], ref_per[CALLS];
            lbk_tensor xs = lbk_from_host(ctx, LBK_F32, 1, &m, hx);
            for (int r = 0; r < CALLS; r++) {
                a = now_ns();
                sc = lbk_scope_begin(ctx);
                lbk_tensor t = xs;
                for (int k = 0; k < 10; k++)
                    t = lbk_add(ctx, lbk_mul(ctx, t, lbk_scalar(ctx, LBK_F32, 0.5 + 0.01 * k)), lbk_scalar(ctx, LBK_F32, 0.25));
                if (lbk_read(ctx, t, hy, sizeof(float) * (size_t)m) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
                lbk_scope_end(ctx, sc, NULL, 0);
                per[r] = (now_ns() - a) / 1e3;
                a = now_ns();
                float cf[10];
                for (int k = 0; k < 10; k++) cf[k] = (float)(0.5 + 0.01 * k);
                for (int64_t i = 0; i < m; i++) {
                    float v = hx[i];
                    for (int k = 0; k < 10; k++) v = v * cf[k] + 0.25f;
                    hr[i] = v;
                }
                ref_per[r] = (now_ns() - a) / 1e3;
            }
            for (int64_t i = 0; i < m; i++)
                if (!(fabsf(hy[i] - hr[i]) <= 1e-5f * (1 + fabsf(hr[i])))) { fprintf(stderr, "P17 mismatch at %lld\n", (long long)i); return 1; }
            double pm = median(per, CALLS), rm = median(ref_per, CALLS);
            char name[64];
            snprintf(name, sizeof name, "P17 20-op chain, %lld elements, per call", (long long)m);
            printf("%-44s %9.2f us        ref %-28s %9.2f us  ratio %.1f (goal %.1f us)\n", name, pm, "hand-written loop", rm, pm / rm,
                   goals[si]);
            lbk_release(ctx, xs);
        }
    }
    printf("compiles %lld, cache hits %lld\n", (long long)lbk_counter(ctx, "compile"), (long long)lbk_counter(ctx, "cache_hit"));
    lbk_ctx_destroy(ctx);
    return 0;
}
