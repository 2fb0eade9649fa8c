/* bench_gpt2.c — timings of examples/08_gpt2.c's model for benchmarks/bench_torch.py (which
   loads build/bench/libbench_models.so with ctypes and alternates these with PyTorch's). Each
   call makes its own context on `threads` threads, warms up once and returns the median of
   reps timings in ms. The example is compiled in as it is (its main renamed; LAZYBK_STATIC,
   so the models' three units each keep a private lazybk). */
#define LAZYBK_STATIC
#define main gpt2_example_main
#include "../../examples/08_gpt2.c"
#undef main
#include "../bench_util.h"

static int gpt2_open(model *m, int threads) {
    lbk_ctx_desc d;
    memset(&d, 0, sizeof d);
    memset(m, 0, sizeof *m);
    d.n_threads = threads;
    m->ctx = lbk_ctx_create(&d);
    return m->ctx && load(m, "examples/data/gpt2_tiny.safetensors") == 0;
}
static void gpt2_close(model *m) {
    lbk_weights_close(m->w);
    free(m->ly);
    lbk_ctx_destroy(m->ctx);
}

/* The forward of T tokens (all logits), as one call of the model. */
double bench_gpt2_forward(int threads, int T, int reps) {
    model m;
    int64_t ids[256], next;
    double t[64], r = -1;
    if (T > 256 || reps > 64 || !gpt2_open(&m, threads)) return -1;
    for (int i = 0; i < T; i++) ids[i] = (i * 7 + 3) % m.V;
    for (int k = -1; k < reps; k++) {
        double t0 = now_ms();
        lbk_release(m.ctx, step(&m, ids, T, 0, 1, &next));
        if (k >= 0) t[k] = now_ms() - t0;
    }
    r = median(t, reps);
    gpt2_close(&m);
    return r;
}
/* Greedy decoding with the KV cache: ms per token over `steps` steps after a 1-token prompt. */
double bench_gpt2_decode(int threads, int steps, int reps) {
    model m;
    int64_t next = 1;
    double t[64], r = -1;
    if (reps > 64 || !gpt2_open(&m, threads) || steps + 1 > m.P) return -1;
    for (int k = -1; k < reps; k++) {
        lbk_tensor logits = step(&m, &next, 1, 0, 0, &next);
        double t0 = now_ms();
        for (int s = 0; s < steps; s++) {
            lbk_release(m.ctx, logits);
            logits = step(&m, &next, 1, 1 + s, 0, &next);
        }
        if (k >= 0) t[k] = (now_ms() - t0) / steps;
        lbk_release(m.ctx, logits);
    }
    r = median(t, reps);
    gpt2_close(&m);
    return r;
}
