/* bench_llama.c — the forward of examples/09_llama.c's model, timed for bench_torch.py (see
   bench_gpt2.c). */
#define LAZYBK_STATIC
#define main llama_example_main
#include "../../examples/09_llama.c"
#undef main
#include "../bench_util.h"

double bench_llama_forward(int threads, int T, int reps) {
    model m;
    lbk_ctx_desc d;
    int64_t ids[256], next;
    double t[64], r;
    memset(&d, 0, sizeof d);
    memset(&m, 0, sizeof m);
    d.n_threads = threads;
    if (T > 256 || reps > 64 || !(m.ctx = lbk_ctx_create(&d))) return -1;
    if (load(&m, "examples/data/llama_tiny.safetensors", T) != 0) { lbk_ctx_destroy(m.ctx); return -1; }
    for (int i = 0; i < T; i++) ids[i] = (i * 5 + 1) % m.V;
    for (int k = -1; k < reps; k++) {
        double t0 = now_ms();
        lbk_release(m.ctx, step(&m, ids, T, 0, 1, &next));
        if (k >= 0) t[k] = now_ms() - t0;
    }
    r = median(t, reps);
    lbk_weights_close(m.w);
    free(m.ly);
    lbk_ctx_destroy(m.ctx);
    return r;
}
