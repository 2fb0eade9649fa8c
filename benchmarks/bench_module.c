/* bench_module — module files at GPT-2-small scale: 214 MB of f32 weights (24 matrices of
   768 x 2904) behind one traced method. Prints the file's size against the weights', save
   and load times against reading the file's bytes (the I/O floor, measured in the same
   run, alternated), and the peak RSS of a process that loads the module and runs it once
   against one that builds the same weights from host memory without modules (each in a
   child process, so that the peaks are its own). Usage: bench_module [dir] (default build). */
#define _POSIX_C_SOURCE 200809L
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include <stdio.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>
#include "bench_util.h"

enum { NW = 24, R = 768, C = 2904 };

static float *weights(int k) {
    float *w = (float *)malloc(sizeof(float) * R * C);
    uint32_t s = 2463534242u + (uint32_t)k;
    for (size_t i = 0; i < (size_t)R * C; i++) { s ^= s << 13; s ^= s >> 17; s ^= s << 5; w[i] = (float)(s % 2001) / 1000.0f - 1.0f; }
    return w;
}
/* forward(x [1,R]) = sum_k x @ W_k */
static lbk_module *build(lbk_ctx *ctx) {
    lbk_module *m = lbk_module_create(ctx, "Big");
    int64_t xd[2] = {1, R}, wd[2] = {R, C};
    const int64_t *dims[1] = {xd};
    int nd[1] = {2};
    lbk_dtype dt[1] = {LBK_F32};
    lbk_tensor x, y = {0};
    lbk_method_begin(m, "forward", 1, dt, nd, dims, &x);
    for (int k = 0; k < NW; k++) {
        float *w = weights(k);
        lbk_tensor p = lbk_matmul(ctx, x, lbk_from_host(ctx, LBK_F32, 2, wd, w));
        free(w);
        y = k ? lbk_add(ctx, y, p) : p;
    }
    if (lbk_method_end(m, &y, 1) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); exit(1); }
    return m;
}
static double run_once(lbk_ctx *ctx, lbk_module *m) {
    float xv[R], out[C];
    int64_t xd[2] = {1, R};
    for (int i = 0; i < R; i++) xv[i] = (float)(i % 7) / 7.0f;
    lbk_tensor x = lbk_from_host(ctx, LBK_F32, 2, xd, xv), y;
    if (lbk_module_run(m, "forward", &x, 1, &y, 1) != LBK_OK || lbk_read(ctx, y, out, sizeof out) != LBK_OK) {
        fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); exit(1);
    }
    return out[0];
}
static double read_file_ms(const char *path) {
    double t0 = now_ms();
    FILE *f = fopen(path, "rb");
    static char buf[1 << 20];
    size_t n;
    volatile char sink = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sink ^= buf[n - 1];
    fclose(f);
    (void)sink;
    return now_ms() - t0;
}
/* Peak RSS (MiB) of a fresh process (this program again) running what: 1 load and run,
   2 weights from host and run. */
static double child_rss(const char *self, const char *path, int what, double *ms) {
    char cmd[1200];
    double rss = -1;
    FILE *p;
    snprintf(cmd, sizeof cmd, "'%s' --child %d '%s'", self, what, path);
    if (!(p = popen(cmd, "r")) || fscanf(p, "%lf %lf", &rss, ms) != 2) rss = -1;
    if (p) pclose(p);
    return rss;
}
static int child(int what, const char *path) {
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    double t0 = now_ms(), t;
    struct rusage ru;
    lbk_module *m = what == 1 ? lbk_module_load(ctx, path) : build(ctx);
    if (!m) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
    t = now_ms() - t0;
    run_once(ctx, m);
    getrusage(RUSAGE_SELF, &ru);
    printf("%.1f %.1f\n", ru.ru_maxrss / 1024.0, t);
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "build";
    if (argc == 4 && strcmp(argv[1], "--child") == 0) return child(atoi(argv[2]), argv[3]);
    char path[512];
    double wbytes = (double)NW * R * C * 4, save_ms[3], load_ms[3], io_ms[3], rss_plain, rss_load, t;
    snprintf(path, sizeof path, "%s/bench_module.lbkm", dir);
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    lbk_module *m = build(ctx);
    for (int k = 0; k < 3; k++) {
        double t0 = now_ms();
        if (lbk_module_save(m, path) != LBK_OK) { fprintf(stderr, "%s\n", lbk_ctx_error(ctx)); return 1; }
        save_ms[k] = now_ms() - t0;
    }
    lbk_module_destroy(m);
    lbk_ctx_destroy(ctx);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    double fbytes = (double)ftell(f);
    fclose(f);
    for (int k = 0; k < 3; k++) {   /* alternated: the bytes read, then the module loaded */
        io_ms[k] = read_file_ms(path);
        lbk_ctx *c2 = lbk_ctx_create(NULL);
        double t0 = now_ms();
        lbk_module *l = lbk_module_load(c2, path);
        load_ms[k] = now_ms() - t0;
        if (!l) { fprintf(stderr, "%s\n", lbk_ctx_error(c2)); return 1; }
        lbk_module_destroy(l);
        lbk_ctx_destroy(c2);
    }
    rss_plain = child_rss(argv[0], path, 2, &t);
    rss_load = child_rss(argv[0], path, 1, &t);
    printf("bench_module: %d weights, %.1f MB\n", NW, wbytes / 1e6);
    printf("  file            %.1f MB   %.4f x the weights (goal <= 1.02)\n", fbytes / 1e6, fbytes / wbytes);
    printf("  save            %.0f ms (median of 3)\n", median(save_ms, 3));
    printf("  load            %.0f ms   reading the file's bytes %.0f ms: %.2f x the I/O\n", median(load_ms, 3), median(io_ms, 3),
           median(load_ms, 3) / median(io_ms, 3));
    printf("  peak RSS        weights from host, no modules: %.0f MiB\n", rss_plain);
    printf("                  module loaded and run: %.0f MiB = %.2f x the weights' %.0f MiB (goal <= 1.2 x + 16 MiB: %.0f MiB)\n", rss_load,
           rss_load * 1048576.0 / wbytes, wbytes / 1048576.0, 1.2 * wbytes / 1048576.0 + 16);
    if (!getenv("BENCH_KEEP")) remove(path);
    return 0;
}
