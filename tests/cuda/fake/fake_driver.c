/* A host emulation of the CUDA driver API (libcuda.so.1), for running the cuda backend's
   host code and its generated kernels on machines without a GPU (make cuda). It is a
   test instrument, not a GPU: "device memory" is host memory, kernels are the generated
   CUDA C compiled as host C++ by the fake NVRTC (fake_nvrtc.c) and run one thread after
   another, cuBLAS is a plain loop (fake_cublas.c).

   It is strict where the real driver is, so that host-side mistakes show: memory calls
   need a current context on the calling thread, copies and kernel arguments must lie in
   live allocations of the right device, streams must be live and of the current
   device, frees must be of allocations, and LBK_FAKE_CUDA_MEM caps the device memory so
   out-of-memory paths can be tested. LBK_FAKE_CUDA_DEVICES sets the device count (default
   2). lbkfake_stats() gives counters to tests. */
#define _GNU_SOURCE
#include <cuda.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_MAX_ALLOCS 65536
typedef struct { uintptr_t p; size_t n; int dev; int host; } fake_alloc;
static fake_alloc g_allocs[FAKE_MAX_ALLOCS];
static int g_n_allocs, g_inited, g_n_devices = -1;
static size_t g_dev_used[8], g_dev_cap = (size_t)1 << 30;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int t_ctx;   /* current context: ordinal + 1, 0 none */

typedef struct fake_stream { int dev, live; } fake_stream;
typedef struct fake_module { void *so; int dev; } fake_module;
typedef struct fake_fn { void (*launch)(void **, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned); fake_module *mod; } fake_fn;
/* Destroyed streams and functions stay allocated (a use after destroy is then seen, not a
   crash); they are listed here so that leak checkers see them as reachable. */
#define FAKE_MAX_KEPT 65536
void *lbkfake_kept[FAKE_MAX_KEPT];   /* exported: a static array nobody reads would be optimised away */
static int g_n_kept;
static void fake_keep(void *p) {
    pthread_mutex_lock(&g_lock);
    if (g_n_kept < FAKE_MAX_KEPT) lbkfake_kept[g_n_kept++] = p;
    pthread_mutex_unlock(&g_lock);
}

/* counters for tests */
typedef struct lbkfake_counters {
    long long mem_allocs, mem_frees, host_allocs, streams_created, streams_destroyed, launches, modules_loaded,
              async_copies, sync_copies, live_allocs, live_streams, bytes_h2d, bytes_d2h;
} lbkfake_counters;
static lbkfake_counters g_c;
void lbkfake_stats(lbkfake_counters *out) { pthread_mutex_lock(&g_lock); *out = g_c; pthread_mutex_unlock(&g_lock); }

static int fake_find(uintptr_t p, size_t n, int host) {   /* allocation holding [p, p+n) */
    int i;
    for (i = 0; i < g_n_allocs; i++)
        if (g_allocs[i].host == host && p >= g_allocs[i].p && p + n <= g_allocs[i].p + g_allocs[i].n) return i;
    return -1;
}
/* For fake cuBLAS: whether [p, p+n) is device memory of the current device. */
int lbkfake_check_range(uintptr_t p, size_t n) {
    int i, ok;
    pthread_mutex_lock(&g_lock);
    i = fake_find(p, n ? n : 1, 0);
    ok = i >= 0 && g_allocs[i].dev == t_ctx - 1;
    pthread_mutex_unlock(&g_lock);
    return ok;
}
int lbkfake_current_device(void) { return t_ctx - 1; }

CUresult cuGetErrorString(CUresult e, const char **s) {
    switch (e) {
    case CUDA_SUCCESS: *s = "no error"; break;
    case CUDA_ERROR_INVALID_VALUE: *s = "invalid argument (fake driver)"; break;
    case CUDA_ERROR_OUT_OF_MEMORY: *s = "out of memory (fake driver)"; break;
    case CUDA_ERROR_NOT_INITIALIZED: *s = "initialization error (fake driver)"; break;
    case CUDA_ERROR_INVALID_CONTEXT: *s = "invalid device context (fake driver)"; break;
    case CUDA_ERROR_INVALID_DEVICE: *s = "invalid device ordinal (fake driver)"; break;
    case CUDA_ERROR_INVALID_HANDLE: *s = "invalid resource handle (fake driver)"; break;
    case CUDA_ERROR_INVALID_IMAGE: *s = "device kernel image is invalid (fake driver)"; break;
    case CUDA_ERROR_NOT_FOUND: *s = "named symbol not found (fake driver)"; break;
    case CUDA_ERROR_ILLEGAL_ADDRESS: *s = "an illegal memory access was encountered (fake driver)"; break;
    default: *s = NULL; return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}
CUresult cuInit(unsigned flags) {
    const char *e;
    if (flags) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    if (g_n_devices < 0) {
        g_n_devices = (e = getenv("LBK_FAKE_CUDA_DEVICES")) ? atoi(e) : 2;
        if (g_n_devices < 0 || g_n_devices > 8) g_n_devices = 2;
        if ((e = getenv("LBK_FAKE_CUDA_MEM")) != NULL) g_dev_cap = (size_t)strtoull(e, NULL, 10);
    }
    g_inited = 1;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}
CUresult cuDriverGetVersion(int *v) { *v = 12040; return CUDA_SUCCESS; }
CUresult cuDeviceGetCount(int *n) { if (!g_inited) return CUDA_ERROR_NOT_INITIALIZED; *n = g_n_devices; return CUDA_SUCCESS; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) {
    if (!g_inited) return CUDA_ERROR_NOT_INITIALIZED;
    if (ordinal < 0 || ordinal >= g_n_devices) return CUDA_ERROR_INVALID_DEVICE;
    *d = ordinal;
    return CUDA_SUCCESS;
}
CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
    if (d < 0 || d >= g_n_devices) return CUDA_ERROR_INVALID_DEVICE;
    snprintf(name, (size_t)len, "lazybk fake device %d (host emulation)", d);
    return CUDA_SUCCESS;
}
CUresult cuDeviceTotalMem_v2(size_t *b, CUdevice d) { if (d < 0 || d >= g_n_devices) return CUDA_ERROR_INVALID_DEVICE; *b = g_dev_cap; return CUDA_SUCCESS; }
CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d) {
    if (d < 0 || d >= g_n_devices) return CUDA_ERROR_INVALID_DEVICE;
    switch (a) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 8; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; break;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 4; break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *v = 1024; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *v = 2147483647; break;
    default: *v = 0; break;
    }
    return CUDA_SUCCESS;
}
static int g_primary_refs[8];
CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) {
    if (!g_inited) return CUDA_ERROR_NOT_INITIALIZED;
    if (d < 0 || d >= g_n_devices) return CUDA_ERROR_INVALID_DEVICE;
    pthread_mutex_lock(&g_lock);
    g_primary_refs[d]++;
    pthread_mutex_unlock(&g_lock);
    *c = (CUcontext)(uintptr_t)(d + 1);
    return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) {
    if (d < 0 || d >= g_n_devices || g_primary_refs[d] <= 0) return CUDA_ERROR_INVALID_CONTEXT;
    pthread_mutex_lock(&g_lock);
    g_primary_refs[d]--;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}
CUresult cuCtxSetCurrent(CUcontext c) {
    int v = (int)(uintptr_t)c;
    if (v < 0 || v > g_n_devices || (v && g_primary_refs[v - 1] <= 0)) return CUDA_ERROR_INVALID_CONTEXT;
    t_ctx = v;
    return CUDA_SUCCESS;
}
CUresult cuCtxGetCurrent(CUcontext *c) { *c = (CUcontext)(uintptr_t)t_ctx; return CUDA_SUCCESS; }
CUresult cuCtxSynchronize(void) { return t_ctx ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT; }

static CUresult fake_alloc_add(void **p, size_t n, int host) {
    int dev = t_ctx - 1;
    if (!t_ctx) return CUDA_ERROR_INVALID_CONTEXT;
    if (n == 0) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    if (g_n_allocs == FAKE_MAX_ALLOCS || (!host && g_dev_used[dev] + n > g_dev_cap) || !(*p = malloc(n))) {
        pthread_mutex_unlock(&g_lock);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    memset(*p, 0xA5, n);   /* device memory is not zeroed: make reads of unwritten data show */
    g_allocs[g_n_allocs].p = (uintptr_t)*p; g_allocs[g_n_allocs].n = n; g_allocs[g_n_allocs].dev = dev; g_allocs[g_n_allocs].host = host;
    g_n_allocs++;
    if (!host) { g_dev_used[dev] += n; g_c.mem_allocs++; g_c.live_allocs++; } else g_c.host_allocs++;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}
static CUresult fake_alloc_del(uintptr_t p, int host) {
    int i;
    if (!t_ctx) return CUDA_ERROR_INVALID_CONTEXT;
    pthread_mutex_lock(&g_lock);
    for (i = 0; i < g_n_allocs; i++)
        if (g_allocs[i].p == p && g_allocs[i].host == host) break;
    if (i == g_n_allocs) { pthread_mutex_unlock(&g_lock); return CUDA_ERROR_INVALID_VALUE; }
    if (!host) { g_dev_used[g_allocs[i].dev] -= g_allocs[i].n; g_c.mem_frees++; g_c.live_allocs--; }
    free((void *)p);
    g_allocs[i] = g_allocs[--g_n_allocs];
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) { void *q = NULL; CUresult e = fake_alloc_add(&q, n, 0); *p = (CUdeviceptr)(uintptr_t)q; return e; }
CUresult cuMemFree_v2(CUdeviceptr p) { return fake_alloc_del((uintptr_t)p, 0); }
CUresult cuMemHostAlloc(void **p, size_t n, unsigned flags) { (void)flags; return fake_alloc_add(p, n, 1); }
CUresult cuMemFreeHost(void *p) { return fake_alloc_del((uintptr_t)p, 1); }
CUresult cuMemGetInfo_v2(size_t *free_b, size_t *total) {
    if (!t_ctx) return CUDA_ERROR_INVALID_CONTEXT;
    *total = g_dev_cap;
    *free_b = g_dev_cap - g_dev_used[t_ctx - 1];
    return CUDA_SUCCESS;
}
/* device memory of the current device */
static CUresult fake_dev_range(CUdeviceptr p, size_t n) {
    int i;
    if (!t_ctx) return CUDA_ERROR_INVALID_CONTEXT;
    if (n == 0) return CUDA_SUCCESS;
    pthread_mutex_lock(&g_lock);
    i = fake_find((uintptr_t)p, n, 0);
    pthread_mutex_unlock(&g_lock);
    if (i < 0) { fprintf(stderr, "fake cuda: %zu bytes at %p are not in a device allocation\n", n, (void *)(uintptr_t)p); return CUDA_ERROR_INVALID_VALUE; }
    if (g_allocs[i].dev != t_ctx - 1) { fprintf(stderr, "fake cuda: device %d memory used with device %d current\n", g_allocs[i].dev, t_ctx - 1); return CUDA_ERROR_INVALID_VALUE; }
    return CUDA_SUCCESS;
}
static CUresult fake_stream_ok(CUstream s) {
    fake_stream *f = (fake_stream *)s;
    if (!t_ctx) return CUDA_ERROR_INVALID_CONTEXT;
    if (!f) return CUDA_SUCCESS;
    if (!f->live || f->dev != t_ctx - 1) return CUDA_ERROR_INVALID_HANDLE;
    return CUDA_SUCCESS;
}
static CUresult fake_copy(void *dst, const void *src, size_t n, CUdeviceptr dp, CUstream s, int async, long long *bytes) {
    CUresult e;
    if ((e = fake_dev_range(dp, n)) != CUDA_SUCCESS || (e = fake_stream_ok(s)) != CUDA_SUCCESS) return e;
    memcpy(dst, src, n);
    pthread_mutex_lock(&g_lock);
    if (async) g_c.async_copies++; else g_c.sync_copies++;
    *bytes += (long long)n;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n) { return fake_copy((void *)(uintptr_t)d, s, n, d, NULL, 0, &g_c.bytes_h2d); }
CUresult cuMemcpyDtoH_v2(void *d, CUdeviceptr s, size_t n) { return fake_copy(d, (const void *)(uintptr_t)s, n, s, NULL, 0, &g_c.bytes_d2h); }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *s, size_t n, CUstream st) { return fake_copy((void *)(uintptr_t)d, s, n, d, st, 1, &g_c.bytes_h2d); }
CUresult cuMemcpyDtoHAsync_v2(void *d, CUdeviceptr s, size_t n, CUstream st) { return fake_copy(d, (const void *)(uintptr_t)s, n, s, st, 1, &g_c.bytes_d2h); }
CUresult cuMemcpyDtoD_v2(CUdeviceptr d, CUdeviceptr s, size_t n) {
    CUresult e;
    if ((e = fake_dev_range(d, n)) != CUDA_SUCCESS || (e = fake_dev_range(s, n)) != CUDA_SUCCESS) return e;
    memmove((void *)(uintptr_t)d, (const void *)(uintptr_t)s, n);
    return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) {
    CUresult e = fake_stream_ok(st);
    return e != CUDA_SUCCESS ? e : cuMemcpyDtoD_v2(d, s, n);
}
CUresult cuStreamCreate(CUstream *s, unsigned flags) {
    fake_stream *f;
    (void)flags;
    if (!t_ctx) return CUDA_ERROR_INVALID_CONTEXT;
    if (!(f = (fake_stream *)malloc(sizeof *f))) return CUDA_ERROR_OUT_OF_MEMORY;
    f->dev = t_ctx - 1; f->live = 1;
    fake_keep(f);
    pthread_mutex_lock(&g_lock);
    g_c.streams_created++; g_c.live_streams++;
    pthread_mutex_unlock(&g_lock);
    *s = (CUstream)f;
    return CUDA_SUCCESS;
}
CUresult cuStreamDestroy_v2(CUstream s) {
    fake_stream *f = (fake_stream *)s;
    if (!f || !f->live) return CUDA_ERROR_INVALID_HANDLE;
    f->live = 0;   /* kept (leaked) so a use after destroy is seen as dead */
    pthread_mutex_lock(&g_lock);
    g_c.streams_destroyed++; g_c.live_streams--;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}
CUresult cuStreamSynchronize(CUstream s) { return fake_stream_ok(s); }

/* Modules: the "PTX" of the fake NVRTC is "LBKFAKE <path of a shared object>". */
CUresult cuModuleLoadData(CUmodule *m, const void *image) {
    const char *s = (const char *)image;
    fake_module *f;
    void *so;
    if (!t_ctx) return CUDA_ERROR_INVALID_CONTEXT;
    if (strncmp(s, "LBKFAKE ", 8) != 0) return CUDA_ERROR_INVALID_IMAGE;
    if (!(so = dlopen(s + 8, RTLD_NOW | RTLD_LOCAL))) { fprintf(stderr, "fake cuda: %s\n", dlerror()); return CUDA_ERROR_INVALID_IMAGE; }
    if (!(f = (fake_module *)malloc(sizeof *f))) { dlclose(so); return CUDA_ERROR_OUT_OF_MEMORY; }
    f->so = so; f->dev = t_ctx - 1;
    pthread_mutex_lock(&g_lock);
    g_c.modules_loaded++;
    pthread_mutex_unlock(&g_lock);
    *m = (CUmodule)f;
    return CUDA_SUCCESS;
}
CUresult cuModuleGetFunction(CUfunction *fn, CUmodule m, const char *name) {
    fake_module *f = (fake_module *)m;
    fake_fn *k;
    char sym[256];
    void *p;
    if (!f) return CUDA_ERROR_INVALID_HANDLE;
    snprintf(sym, sizeof sym, "%s__launch", name);
    if (!(p = dlsym(f->so, sym))) return CUDA_ERROR_NOT_FOUND;
    if (!(k = (fake_fn *)malloc(sizeof *k))) return CUDA_ERROR_OUT_OF_MEMORY;
    *(void **)&k->launch = p;
    k->mod = f;
    fake_keep(k);
    *fn = (CUfunction)k;   /* leaked with the module's lifetime: a test instrument */
    return CUDA_SUCCESS;
}
CUresult cuModuleUnload(CUmodule m) {
    fake_module *f = (fake_module *)m;
    if (!f) return CUDA_ERROR_INVALID_HANDLE;
    fake_keep(f->so);   /* not dlclose'd: leak checkers walk the thread-local blocks of loaded objects */
    free(f);
    return CUDA_SUCCESS;
}
/* The kernel's pointer arguments are checked by the trampoline through lbkfake_check_ptr. */
int lbkfake_check_ptr(const void *p) {
    int i, ok;
    pthread_mutex_lock(&g_lock);
    i = fake_find((uintptr_t)p, 1, 0);
    ok = i >= 0 && g_allocs[i].dev == t_ctx - 1;
    pthread_mutex_unlock(&g_lock);
    if (!ok) fprintf(stderr, "fake cuda: kernel argument %p is not device memory of device %d\n", p, t_ctx - 1);
    return ok;
}
/* The end of the allocation p lies in (for bounds checks in kernels), or 0. */
uintptr_t lbkfake_alloc_end(const void *p) {
    int i;
    uintptr_t e = 0;
    pthread_mutex_lock(&g_lock);
    if ((i = fake_find((uintptr_t)p, 1, 0)) >= 0) e = g_allocs[i].p + g_allocs[i].n;
    pthread_mutex_unlock(&g_lock);
    return e;
}
CUresult cuLaunchKernel(CUfunction fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        CUstream s, void **params, void **extra) {
    fake_fn *k = (fake_fn *)fn;
    CUresult e;
    if ((e = fake_stream_ok(s)) != CUDA_SUCCESS) return e;
    if (!k || extra || !params) return CUDA_ERROR_INVALID_VALUE;
    if (k->mod->dev != t_ctx - 1) return CUDA_ERROR_INVALID_HANDLE;
    if (!gx || !gy || !gz || !bx || !by || !bz || (unsigned long long)bx * by * bz > 1024 || shared > 48 * 1024) return CUDA_ERROR_INVALID_VALUE;
    k->launch(params, gx, gy, gz, bx, by, bz);
    pthread_mutex_lock(&g_lock);
    g_c.launches++;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s) {
    CUresult e;
    if ((e = fake_dev_range(d, n)) != CUDA_SUCCESS || (e = fake_stream_ok(s)) != CUDA_SUCCESS) return e;
    memset((void *)(uintptr_t)d, v, n);
    return CUDA_SUCCESS;
}
/* Events: the fake runs everything at once, so an event is complete when recorded. */
typedef struct fake_event { int live, recorded; } fake_event;
CUresult cuEventCreate(CUevent *ev, unsigned flags) {
    fake_event *f;
    (void)flags;
    if (!t_ctx) return CUDA_ERROR_INVALID_CONTEXT;
    if (!(f = (fake_event *)calloc(1, sizeof *f))) return CUDA_ERROR_OUT_OF_MEMORY;
    f->live = 1;
    *ev = (CUevent)f;
    return CUDA_SUCCESS;
}
CUresult cuEventDestroy_v2(CUevent ev) { fake_event *f = (fake_event *)ev; if (!f || !f->live) return CUDA_ERROR_INVALID_HANDLE; free(f); return CUDA_SUCCESS; }
CUresult cuEventRecord(CUevent ev, CUstream s) {
    fake_event *f = (fake_event *)ev;
    CUresult e;
    if (!f || !f->live) return CUDA_ERROR_INVALID_HANDLE;
    if ((e = fake_stream_ok(s)) != CUDA_SUCCESS) return e;
    f->recorded = 1;
    return CUDA_SUCCESS;
}
CUresult cuEventSynchronize(CUevent ev) { fake_event *f = (fake_event *)ev; return f && f->live ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE; }
