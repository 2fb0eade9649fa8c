/* A stand-in for NVRTC (libnvrtc.so) that goes with fake_driver.c: it compiles the
   generated CUDA C as host C++ (c++, or $LBK_FAKE_CUDA_CXX, plus $LBK_FAKE_NVRTC_FLAGS)
   into a shared object, behind a prelude that gives the CUDA names a host meaning, and
   adds one launcher per `extern "C" __global__` kernel that runs its grid one thread
   after another. The "PTX" is "LBKFAKE <path of the shared object>". Kernels that need
   threads of a block to cooperate (__syncthreads, __shared__, warp shuffles) do not
   compile here: the emulation would be wrong for them. With $LBK_FAKE_NVRTC_FAIL set,
   every compile fails (tests of the error path). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fake_prog { char *src, *log, *ptx; } fake_prog;
static char g_dir[256];
static int g_serial;

static const char prelude[] =
    "#include <cmath>\n#include <math.h>\n#include <string.h>\n#include <stdint.h>\n"
    "#define __global__\n#define __device__ inline\n#define __host__\n#define __forceinline__ inline\n#define __restrict__ __restrict\n"
    "#define __syncthreads() lbk_fake_device_cannot_run___syncthreads\n#define __shared__ lbk_fake_device_cannot_run___shared__\n"
    "#define __shfl_down_sync lbk_fake_device_cannot_run_warp_shuffles\n#define __shfl_xor_sync lbk_fake_device_cannot_run_warp_shuffles\n"
    "struct lbk_fake_dim3 { unsigned x, y, z; };\n"
    "static thread_local lbk_fake_dim3 blockIdx, threadIdx, blockDim, gridDim;\n"
    "static inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, 8); return d; }\n"
    "static inline long long __double_as_longlong(double v) { long long d; memcpy(&d, &v, 8); return d; }\n"
    "static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }\n"
    "static inline double rsqrt(double x) { return 1.0 / sqrt(x); }\n"
    "extern \"C\" int lbkfake_check_ptr(const void *p);\n"
    "template <typename T> static inline bool lbk_fake_arg_ok(T) { return true; }\n"
    "template <typename T> static inline bool lbk_fake_arg_ok(T *p) { return !p || lbkfake_check_ptr((const void *)p) != 0; }\n"
    "#line 1 \"lazybk.cu\"\n";

static char *fake_strdup(const char *s) { size_t n = strlen(s) + 1; char *p = (char *)malloc(n); if (p) memcpy(p, s, n); return p; }
static void fake_cleanup(void) {
    char cmd[300];
    if (!g_dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "fake nvrtc: could not remove %s\n", g_dir);
}

nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name, int n_headers, const char *const *headers,
                               const char *const *include_names) {
    fake_prog *p;
    (void)name; (void)headers; (void)include_names;
    if (!prog || !src || n_headers < 0) return NVRTC_ERROR_INVALID_INPUT;
    if (!(p = (fake_prog *)calloc(1, sizeof *p)) || !(p->src = fake_strdup(src))) { free(p); return NVRTC_ERROR_OUT_OF_MEMORY; }
    *prog = (nvrtcProgram)p;
    return NVRTC_SUCCESS;
}

/* Writes a launcher for each extern "C" __global__ kernel of src into f. */
static int fake_launchers(FILE *f, const char *src) {
    const char *key = "extern \"C\" __global__ void ", *p = src;
    while ((p = strstr(p, key)) != NULL) {
        const char *name = p + strlen(key), *open = strchr(name, '('), *q;
        char types[64][160];
        int n = 0, depth = 0, i;
        const char *start;
        if (!open) return -1;
        start = open + 1;
        for (q = start;; q++) {   /* split the parameter list at top-level commas */
            if (*q == '(') depth++;
            else if ((*q == ',' && depth == 0) || (*q == ')' && depth == 0)) {
                const char *e = q, *id;
                size_t len;
                while (e > start && (e[-1] == ' ')) e--;
                id = e;
                while (id > start && (id[-1] == '_' || (id[-1] >= 'a' && id[-1] <= 'z') || (id[-1] >= 'A' && id[-1] <= 'Z') || (id[-1] >= '0' && id[-1] <= '9'))) id--;
                len = (size_t)(id - start);
                if (e > start) {
                    if (n == 64 || len >= sizeof types[0]) return -1;
                    memcpy(types[n], start, len);
                    types[n][len] = 0;
                    { char *r = strstr(types[n], "__restrict__"); if (r) memset(r, ' ', 12); }
                    n++;
                }
                start = q + 1;
                if (*q == ')') break;
            } else if (*q == ')') depth--;
            else if (!*q) return -1;
        }
        fprintf(f, "extern \"C\" void %.*s__launch(void **a, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz) {\n",
                (int)(open - name), name);
        for (i = 0; i < n; i++) fprintf(f, "    if (!lbk_fake_arg_ok(*(%s*)a[%d])) return;\n", types[i], i);
        fprintf(f, "    gridDim = {gx, gy, gz}; blockDim = {bx, by, bz};\n"
                   "    for (unsigned z = 0; z < gz; z++) for (unsigned y = 0; y < gy; y++) for (unsigned x = 0; x < gx; x++)\n"
                   "    for (unsigned tz = 0; tz < bz; tz++) for (unsigned ty = 0; ty < by; ty++) for (unsigned tx = 0; tx < bx; tx++) {\n"
                   "        blockIdx = {x, y, z}; threadIdx = {tx, ty, tz};\n        %.*s(", (int)(open - name), name);
        for (i = 0; i < n; i++) fprintf(f, "%s*(%s*)a[%d]", i ? ", " : "", types[i], i);
        fprintf(f, ");\n    }\n}\n");
        p = open;
    }
    return 0;
}

nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int n_opts, const char *const *opts) {
    fake_prog *p = (fake_prog *)prog;
    char cpp[512], so[512], logf[512], cmd[4096];
    const char *cxx = getenv("LBK_FAKE_CUDA_CXX"), *flags = getenv("LBK_FAKE_NVRTC_FLAGS");
    FILE *f;
    int i, rc, id;
    long n;
    if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
    for (i = 0; i < n_opts; i++)
        if (!opts || !opts[i]) return NVRTC_ERROR_INVALID_OPTION;
    if (!g_dir[0]) {
        snprintf(g_dir, sizeof g_dir, "/tmp/lbkfake-nvrtc-XXXXXX");
        if (!mkdtemp(g_dir)) { g_dir[0] = 0; return NVRTC_ERROR_INTERNAL_ERROR; }
        atexit(fake_cleanup);
    }
    id = __sync_fetch_and_add(&g_serial, 1);
    snprintf(cpp, sizeof cpp, "%s/k%d.cpp", g_dir, id);
    snprintf(so, sizeof so, "%s/k%d.so", g_dir, id);
    snprintf(logf, sizeof logf, "%s/k%d.log", g_dir, id);
    if (!(f = fopen(cpp, "w"))) return NVRTC_ERROR_INTERNAL_ERROR;
    fputs(prelude, f);
    if (getenv("LBK_FAKE_NVRTC_FAIL")) fputs("#error fake nvrtc: a compile error, as asked by LBK_FAKE_NVRTC_FAIL\n", f);
    fputs(p->src, f);
    fputs("\n", f);
    if (fake_launchers(f, p->src) != 0) fputs("#error fake nvrtc: could not parse a kernel's parameters\n", f);
    fclose(f);
    {   /* the kernels call into the fake driver next to this library */
        Dl_info info;
        char dir[512] = ".", *slash;
        if (dladdr((void *)nvrtcCompileProgram, &info) && info.dli_fname) {
            snprintf(dir, sizeof dir, "%s", info.dli_fname);
            if ((slash = strrchr(dir, '/')) != NULL) *slash = 0; else snprintf(dir, sizeof dir, ".");
        }
        snprintf(cmd, sizeof cmd, "%s -std=c++14 -O1 -shared -fPIC -w %s -o '%s' '%s' -L'%s' -l:libcuda.so.1 -Wl,-rpath,'%s' > '%s' 2>&1",
                 cxx ? cxx : "c++", flags ? flags : "", so, cpp, dir, dir, logf);
    }
    rc = system(cmd);
    if ((f = fopen(logf, "r")) != NULL) {
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        free(p->log);
        if ((p->log = (char *)malloc((size_t)n + 1)) != NULL) { n = (long)fread(p->log, 1, (size_t)n, f); p->log[n] = 0; }
        fclose(f);
    }
    unlink(cpp);
    unlink(logf);
    if (rc != 0) return NVRTC_ERROR_COMPILATION;
    free(p->ptx);
    snprintf(cmd, sizeof cmd, "LBKFAKE %s", so);
    return (p->ptx = fake_strdup(cmd)) ? NVRTC_SUCCESS : NVRTC_ERROR_OUT_OF_MEMORY;
}
nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t *n) {
    fake_prog *p = (fake_prog *)prog;
    if (!p || !p->ptx) return NVRTC_ERROR_INVALID_PROGRAM;
    *n = strlen(p->ptx) + 1;
    return NVRTC_SUCCESS;
}
nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char *out) {
    fake_prog *p = (fake_prog *)prog;
    if (!p || !p->ptx) return NVRTC_ERROR_INVALID_PROGRAM;
    memcpy(out, p->ptx, strlen(p->ptx) + 1);
    return NVRTC_SUCCESS;
}
nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t *n) {
    fake_prog *p = (fake_prog *)prog;
    if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
    *n = p->log ? strlen(p->log) + 1 : 1;
    return NVRTC_SUCCESS;
}
nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char *out) {
    fake_prog *p = (fake_prog *)prog;
    if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
    if (p->log) memcpy(out, p->log, strlen(p->log) + 1); else out[0] = 0;
    return NVRTC_SUCCESS;
}
nvrtcResult nvrtcDestroyProgram(nvrtcProgram *prog) {
    fake_prog *p;
    if (!prog || !(p = (fake_prog *)*prog)) return NVRTC_ERROR_INVALID_PROGRAM;
    free(p->src); free(p->log); free(p->ptx); free(p);
    *prog = NULL;
    return NVRTC_SUCCESS;
}
const char *nvrtcGetErrorString(nvrtcResult e) {
    switch (e) {
    case NVRTC_SUCCESS: return "NVRTC_SUCCESS";
    case NVRTC_ERROR_OUT_OF_MEMORY: return "NVRTC_ERROR_OUT_OF_MEMORY";
    case NVRTC_ERROR_COMPILATION: return "NVRTC_ERROR_COMPILATION (fake nvrtc: host c++)";
    case NVRTC_ERROR_INVALID_INPUT: return "NVRTC_ERROR_INVALID_INPUT";
    case NVRTC_ERROR_INVALID_PROGRAM: return "NVRTC_ERROR_INVALID_PROGRAM";
    case NVRTC_ERROR_INVALID_OPTION: return "NVRTC_ERROR_INVALID_OPTION";
    default: return "NVRTC error (fake nvrtc)";
    }
}
/* Marks this library as the emulation's, for tests that only make sense there. */
int lbkfake_nvrtc(void) { return 1; }
