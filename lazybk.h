/* lazybk.h — lazy tensor computation over pluggable backends, in one C header.

   QUICK START
   -----------
       // in exactly one .c file of your program:
       #define LAZYBK_IMPLEMENTATION
       #include "lazybk.h"

       lbk_ctx *ctx = lbk_ctx_create(NULL);                 // backend from $LAZYBK_BACKEND, else "cpu"
       int64_t dims[2] = {2, 3};
       float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
       lbk_tensor a = lbk_from_host(ctx, LBK_F32, 2, dims, x);
       lbk_tensor b = lbk_exp(ctx, lbk_mul(ctx, a, lbk_scalar(ctx, LBK_F32, 0.5)));  // recorded, not run
       if (lbk_read(ctx, b, y, sizeof y) != LBK_OK)          // sync: compile once per graph shape, execute
           fprintf(stderr, "%s\n", lbk_ctx_error(ctx));      // op, shapes and source line of the first error
       lbk_ctx_destroy(ctx);

   Build: cc -O2 $(pkg-config --cflags stb) app.c -lm -lpthread    (stb_ds.h from Debian's libstb-dev)

   CONTENTS
   --------
     1. Configuration macros          5. Threads
     2. Backends                      6. The backend interface (for backend authors)
     3. Errors                        7. Implementation sections (grep for "// >>")
     4. Memory and ownership          License: at the end of the file

   1. CONFIGURATION MACROS
   -----------------------
   Set globally (every file that includes lazybk.h must agree):
     LAZYBK_STATIC               every public function is `static`: a private copy per translation unit.
     LAZYBK_MAX_DIMS             largest rank, default 8, at most 32.
     LAZYBK_NO_LOCATION_MACROS   ops are plain functions; no __FILE__/__LINE__ is recorded.
   Set only in the file that defines LAZYBK_IMPLEMENTATION:
     LAZYBK_MALLOC(sz) / LAZYBK_REALLOC(p,sz) / LAZYBK_FREE(p)
                                 host allocator, all three or none; stb_ds uses them too.
     LAZYBK_ASSERT(x)            internal invariants only (default: assert). User input never asserts.
     LAZYBK_NO_STB_DS_IMPLEMENTATION
                                 you compile stb_ds's implementation yourself elsewhere
                                 (then STBDS_REALLOC is yours, not LAZYBK_REALLOC).
     LAZYBK_NO_CPU_BACKEND       leave the built-in cpu backends out.
     LAZYBK_NO_SIMD              no per-CPU clones of the cpu fast path's kernels.
     LAZYBK_BLAS                 f32/f64 matmul through cblas_sgemm/cblas_dgemm (link a CBLAS,
                                 e.g. -lopenblas from Debian's libopenblas-dev).
     LAZYBK_CUDA                 compile in the "cuda" backend (cuda.h, nvrtc.h and cublasLt.h on
                                 the include path, e.g. -I/usr/local/cuda/include; nothing to link:
                                 the driver, NVRTC and cuBLAS are opened with dlopen). Define it where
                                 lazybk.h is included too to see lbk_cuda_source/lbk_cuda_ptx.

   2. BACKENDS
   -----------
   "cpu" is always registered (unless LAZYBK_NO_CPU_BACKEND). Its fast path fuses runs of
   float elementwise ops into groups that run over register tiles (kernels cloned for
   AVX-512, AVX2 and baseline x86-64, chosen at run time; OpenMP threads with -fopenmp),
   runs softmax/log_softmax/logsumexp/layer_norm/rms_norm whole a row at a time, uses a
   blocked packed matmul (or CBLAS with LAZYBK_BLAS) and fast row/column reductions;
   a trailing-axes reduction that alone reads a group's last value is folded into the
   group (the value never reaches memory), and a group that alone reads a matmul's product
   runs as its epilogue on rows as they are finished; other nodes run on the reference
   kernels. With LAZYBK_CUDA, "cuda" is registered too; it is available only when
   libcuda.so.1 loads, cuInit succeeds and a device exists (else a context on it fails
   with LBK_ERR_UNAVAILABLE and the reason). It generates one CUDA C source per graph
   (fused elementwise runs, two-phase reductions with their producing group fused in,
   data movement), compiles it with NVRTC (kept on disk when $LAZYBK_CUDA_CACHE names a
   directory), runs float matmul through cuBLAS, and declines the rest (cpu fallback).
   "cuda:N" picks device N; each context gets its own stream; large copies go through
   pinned staging buffers; device memory comes from a pool per device.
   "cpu-reference" is the reference interpreter alone: every primitive op for every dtype, one node at a time, accumulating in double or
   int64, float sums pairwise; composite ops reach it decomposed. It is the oracle other
   backends are checked against (lbk_backend_check). LAZYBK_CPU_REFERENCE=1 in the
   environment makes "cpu" use it too.
   User backends fill an lbk_backend_i and call lbk_backend_register (or use
   LBK_BACKEND_REGISTER, which runs before main where the compiler has constructors).
   Built-ins register themselves on the first lazybk call; no init call is needed.
   A backend need not run every op: supports_op declines nodes. A declined composite
   (softmax, layer_norm, ...) is rewritten through the decomposition implementation
   (lbk_decomp_*); any other declined node runs on the cpu backend, the graph cut into
   runs per device. Both happen once per graph shape, when it is compiled.

   3. ERRORS
   ---------
   Calls that can fail return lbk_result. Ops return a tensor handle, {0} on failure, and
   record the first error on the context (sticky until lbk_ctx_clear_error) with the op,
   the shapes and the source location: "lbk_add: cannot broadcast f32[2,3] with f32[4]
   (at app.c:12)". An op given {0} returns {0}. Calls with no context (lbk_ctx_create,
   registry calls) also set a thread-local lbk_last_result()/lbk_last_error(). Nothing
   in lazybk calls abort() or exit() on user input.

   4. MEMORY AND OWNERSHIP
   -----------------------
   The context owns every tensor, node and buffer it makes; lbk_ctx_destroy frees them.
   Tensor handles are values ({uint64_t id}: index, generation, context tag), so a released
   handle or one from another context is detected (LBK_ERR_STALE), never dereferenced.
   Release handles you no longer need (lbk_release) or wrap loop bodies in
   lbk_scope_begin/lbk_scope_end. Inputs are copied during the call unless a comment says
   otherwise; returned strings belong to lazybk and stay valid until the next call on the
   same object.

   5. THREADS
   ----------
   A context belongs to one thread at a time; different contexts may be used from
   different threads at once. A context can move between threads. Every call that takes
   a context (or a module) holds it for the call's length (one atomic compare-and-swap):
   a call from a second thread meanwhile returns LBK_ERR_BUSY, {0}, NULL or -1 with
   "lbk_<call>: context is in use by another thread" in lbk_last_error() and touches
   nothing of the context. The exceptions, readable from any thread while it lives:
   lbk_ctx_result, lbk_ctx_error, lbk_ctx_device, lbk_ctx_backend, lbk_live_tensors and
   the const lbk_module_* getters (they read one field; lbk_ctx_error's text may change
   under a reader in another thread). lazybk is not re-entrant on one context: a backend
   member (compile, execute_computation) calling back into the context it runs for gets
   LBK_ERR_BUSY; it may use other contexts, and lbk_exec_context() is restored after. The
   backend registry and the preprocess registry share one
   mutex; the debug-handle table and the interned module paths another; stb_ds's hash
   seed is set under its own. The cpu backend's buffer pool is guarded by its own mutex,
   the cuda backend's state by another (its pinned staging buffers by one per device).
   Modules belong to their context's thread. Checked
   by make tsan (one context per thread on 2-8 threads beside registry traffic).

   6. THE BACKEND INTERFACE
   ------------------------
   A backend is a vtable (lbk_backend_i) and a `self` pointer. At a sync the executor
   collects the pending graph, hashes it (ops, attributes, dtypes, shapes, parameter
   pattern, outputs; never data), and on a miss of the per-context LRU cache calls the
   backend's compile with a read-only lbk_graph; then execute_computation with one data
   handle per parameter. Device data and scalars are parameters, so new data or a new
   scalar value reuses the compiled computation. A graph's outputs are never its
   parameters. Required members: data_from_host, data_to_host, data_free, compile,
   computation_free, execute_computation; everything else may be NULL. supports_op lets a
   backend decline nodes: declined composites are decomposed (lbk_decomp_*), other declined
   nodes run on the cpu backend; lbk_backend_check compares a backend with cpu-reference.
   A backend that keeps state per context (a stream, a queue) finds the context it runs
   for with lbk_exec_context() inside execute_computation, and frees that state in its
   context_release member, called when the context is destroyed.
   examples/02_custom_backend.c is a complete backend ("tiny") in one short file.

   7. MODULES
   ----------
   A module (lbk_module) has a type name, named children and methods recorded by tracing
   (lbk_method_begin .. lbk_method_end); a method's recipe keeps the ops that depend on its
   inputs, calls of children by attribute and method name, and its constants (computed
   once, held by the module). lbk_module_run replays it lazily. Ops traced in a method get
   debug handles with the module path, so errors say "Module hierarchy:top(Model)::
   encoder(Encoder)::forward.matmul, traced at file:line". lbk_to_backend runs the
   backend's preprocess (or lbk_preprocess_default: methods flattened into an lbk_value),
   then its delegate_compile, or by default turns the blob back into recipes on a context
   of that backend; lowered methods run through delegate_execute or that default.
   lbk_module_save/lbk_module_load write and read a versioned, checksummed file and
   compile again at load. Destroy modules before their context.

   8. IMPLEMENTATION SECTIONS
   --------------------------
   Under LAZYBK_IMPLEMENTATION, in this order (each begins with a "// >>name" line):
     memory    allocation hooks, the stb_ds allocation-failure guard, mutexes, strings
     errors    result strings, thread-local last error, lbk_backend_error
     dtype     dtype facts, the shared element conversion, shape helpers
     value     lbk_value
     registry  backends by name
     debug     process-wide debug handles (op, file, line, module path)
     ir        the context, nodes (hash-consed), tensor handles
     ops       graph-building calls: checks, shapes, promotion
     decomp    the decomposition interface, its registry, the built-in decompositions
     graph     the read-only view backends compile from
     exec      sync: collect, hash, plan (decompose, partition, compile), execute, bind
     public    contexts, reads, scopes, getters, debugging texts, metrics
     module    modules, tracing, replay, preprocess, lowering, save and load
     interop   .npy files, DLPack
     weights   safetensors and GGUF files: a strict JSON reader, mapped tensors, the writer
     check     lbk_backend_check
     backend-cpu  the cpu backends: reference interpreter and fast path
     backend-cuda the cuda backend (LAZYBK_CUDA): loading, code generation, NVRTC, cuBLAS
     globals, builtins  exit-time cleanup, registration of the built-in backends
*/
#ifndef LAZYBK_H_INCLUDED
#define LAZYBK_H_INCLUDED

#define LAZYBK_VERSION_MAJOR 0
#define LAZYBK_VERSION_MINOR 13
#define LAZYBK_VERSION_PATCH 0
#define LAZYBK_VERSION_STRING "0.13.0"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef LAZYBK_API
#  if defined(LAZYBK_STATIC) && (defined(__GNUC__) || defined(__clang__))
#    define LAZYBK_API static __attribute__((unused))
#  elif defined(LAZYBK_STATIC)
#    define LAZYBK_API static
#  else
#    define LAZYBK_API extern
#  endif
#endif

#ifndef LAZYBK_MAX_DIMS
#  define LAZYBK_MAX_DIMS 8
#endif
#if LAZYBK_MAX_DIMS < 1 || LAZYBK_MAX_DIMS > 32
#  error "LAZYBK_MAX_DIMS must be between 1 and 32"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- results ---------------------------------------------------------------------- */
#define LBK_RESULT_LIST(X)                                                            \
    X(LBK_OK,              "ok")                                                      \
    X(LBK_ERR_ARG,         "invalid argument")                                        \
    X(LBK_ERR_SHAPE,       "incompatible shapes")                                     \
    X(LBK_ERR_DTYPE,       "unsupported or mismatched dtype")                         \
    X(LBK_ERR_NOT_FOUND,   "not found")                                               \
    X(LBK_ERR_EXISTS,      "already registered")                                      \
    X(LBK_ERR_UNAVAILABLE, "backend not available")                                   \
    X(LBK_ERR_UNSUPPORTED, "unsupported")                                             \
    X(LBK_ERR_OOM,         "out of memory")                                           \
    X(LBK_ERR_BACKEND,     "backend call failed")                                     \
    X(LBK_ERR_STALE,       "stale or foreign tensor handle")                          \
    X(LBK_ERR_IO,          "i/o error")                                               \
    X(LBK_ERR_FORMAT,      "malformed file or blob")                                  \
    X(LBK_ERR_BUSY,        "in use")

typedef enum lbk_result {
#define LBK__RESULT_ENUM(name, msg) name,
    LBK_RESULT_LIST(LBK__RESULT_ENUM)
#undef LBK__RESULT_ENUM
    LBK_RESULT_COUNT
} lbk_result;

/* Thread-safe. The string is static. */
LAZYBK_API const char *lbk_result_str(lbk_result r);
/* Thread-local: the last failure of a call that had no context to record it on. */
LAZYBK_API lbk_result  lbk_last_result(void);
LAZYBK_API const char *lbk_last_error(void);
/* LAZYBK_VERSION_STRING of the implementation linked in (the header's may differ) */
LAZYBK_API const char *lbk_version(void);

/* ---- dtypes, devices, handles ---------------------------------------------------- */
/* Every dtype is one row of LBK_DTYPE_TABLE; what lazybk knows of a dtype lives there, and
   everything else (names, sizes, promotion, conversions, module files, .npy codes) is
   derived from it. Columns:
     id       the enum name (LBK_<id>); rows are only ever appended, so the numbers stay
     name     the name in messages and files ("f32")
     storage  the C type an element is stored as
     bytes    its size
     kind     LBK_DTYPE_KIND_<kind>
     rank     promotion: the higher rank wins; two different dtypes of one rank promote to the
              lowest dtype of a higher rank
     conv     how an element becomes a double or an int64 and back: NATIVE (a C conversion of
              storage, with lazybk's rules: float->int truncates toward zero and saturates,
              nan->0; int->int wraps; ->bool is != 0), or the prefix of hand-written scalar
              converters lbk__<conv>_{ldf,ldi,stf,sti} for a storage that is not the value
     npy      its .npy descr, or NULL
     st       its safetensors dtype name, or NULL
     gguf     its GGUF (ggml) tensor type number, or -1 */
#define LBK_DTYPE_TABLE(X) \
/*  id     name    storage   bytes  kind     rank  conv     npy     st      gguf */ \
  X(F32,   "f32",  float,    4,     FLOAT,   5,    NATIVE,  "<f4",  "F32",  0)  \
  X(F64,   "f64",  double,   8,     FLOAT,   6,    NATIVE,  "<f8",  "F64",  28) \
  X(I32,   "i32",  int32_t,  4,     SIGNED,  2,    NATIVE,  "<i4",  "I32",  26) \
  X(I64,   "i64",  int64_t,  8,     SIGNED,  3,    NATIVE,  "<i8",  "I64",  27) \
  X(BOOL,  "bool", uint8_t,  1,     BOOL,    0,    NATIVE,  "|b1",  "BOOL", -1) \
  X(F16,   "f16",  uint16_t, 2,     FLOAT,   4,    f16,     "<f2",  "F16",  1)  \
  X(BF16,  "bf16", uint16_t, 2,     FLOAT,   4,    bf16,    NULL,   "BF16", 30) \
  X(I8,    "i8",   int8_t,   1,     SIGNED,  1,    NATIVE,  "|i1",  "I8",   24) \
  X(U8,    "u8",   uint8_t,  1,     UNSIGNED,1,    NATIVE,  "|u1",  "U8",   -1)
typedef enum lbk_dtype {
    LBK_DTYPE_INVALID = 0,
#define LBK__DT_ENUM(id, name, storage, bytes, kind, rank, conv, npy, safet, gguf) LBK_##id,
    LBK_DTYPE_TABLE(LBK__DT_ENUM)
#undef LBK__DT_ENUM
    LBK_DTYPE_COUNT
} lbk_dtype;
typedef enum lbk_dtype_kind {
    LBK_DTYPE_KIND_INVALID = 0, LBK_DTYPE_KIND_BOOL, LBK_DTYPE_KIND_SIGNED, LBK_DTYPE_KIND_UNSIGNED, LBK_DTYPE_KIND_FLOAT,
    LBK_DTYPE_KIND_QUANTIZED
} lbk_dtype_kind;
/* A dtype's row, for backends and tools. The row converters convert n elements, src read
   with a stride (in elements), dst contiguous; to_i64 of a float truncates toward zero and
   saturates (nan: 0), from_i64 wraps into an integer dtype. Thread-safe, static. */
typedef struct lbk_dtype_info {
    const char    *name;
    size_t         size;       /* bytes per element */
    lbk_dtype_kind kind;
    int            rank;       /* promotion rank */
    const char    *npy;        /* .npy descr, or NULL */
    void (*to_f64)(double *dst, const void *src, int64_t stride, int64_t n);
    void (*from_f64)(void *dst, const double *src, int64_t n);
    void (*to_f32)(float *dst, const void *src, int64_t stride, int64_t n);
    void (*from_f32)(void *dst, const float *src, int64_t n);
    void (*to_i64)(int64_t *dst, const void *src, int64_t stride, int64_t n);
    void (*from_i64)(void *dst, const int64_t *src, int64_t n);
    const char    *safetensors; /* safetensors dtype name ("F32"), or NULL */
    int            gguf_type;   /* GGUF tensor type number, or -1 */
} lbk_dtype_info;
LAZYBK_API const lbk_dtype_info *lbk_dtype_info_of(lbk_dtype dt);   /* NULL if invalid */
LAZYBK_API const char *lbk_dtype_name(lbk_dtype dt);   /* "f32"...; "invalid" out of range */
LAZYBK_API size_t      lbk_dtype_size(lbk_dtype dt);   /* bytes per element (bool: 1); 0 if invalid */
LAZYBK_API lbk_dtype   lbk_dtype_from_name(const char *name);   /* LBK_DTYPE_INVALID if unknown or NULL */
LAZYBK_API bool        lbk_dtype_is_float(lbk_dtype dt);
/* The dtype two tensors of dtypes a and b promote to (no wrapped scalars); 0 if invalid. */
LAZYBK_API lbk_dtype   lbk_dtype_promote(lbk_dtype a, lbk_dtype b);
/* n elements of sdt (read with src_stride, in elements) into dst as ddt, contiguous: exact
   between integers, float->int truncates toward zero and saturates (nan -> 0), ->bool is
   != 0. No-op for an invalid dtype. */
LAZYBK_API void        lbk_convert(void *dst, lbk_dtype ddt, const void *src, lbk_dtype sdt, int64_t n, int64_t src_stride);
/* double -> int64 as lbk_cast does it: toward zero, saturating, nan -> 0. */
LAZYBK_API int64_t     lbk_f64_to_i64(double v);
/* Element i of p (of dtype dt) as a double or an int64, and stored from one (same rules). */
LAZYBK_API double      lbk_load_f64(lbk_dtype dt, const void *p, int64_t i);
LAZYBK_API int64_t     lbk_load_i64(lbk_dtype dt, const void *p, int64_t i);
LAZYBK_API void        lbk_store_f64(lbk_dtype dt, void *p, int64_t i, double v);
LAZYBK_API void        lbk_store_i64(lbk_dtype dt, void *p, int64_t i, int64_t v);
/* Elements of a shape; -1 for a negative dim or a count past INT64_MAX. */
LAZYBK_API int64_t     lbk_shape_numel(int n_dims, const int64_t *dims);
/* "f32[2,3]" into buf (truncated to cap). */
LAZYBK_API void        lbk_shape_str(char *buf, size_t cap, lbk_dtype dt, int n_dims, const int64_t *dims);

/* Device types. A backend may use any int >= LBK_DEVICE_USER for its own. */
enum { LBK_DEVICE_CPU = 1, LBK_DEVICE_CUDA = 2, LBK_DEVICE_USER = 16 };
typedef struct lbk_device { int type; int ordinal; } lbk_device;

typedef struct lbk_ctx lbk_ctx;
typedef struct lbk_tensor { uint64_t id; } lbk_tensor;  /* {0} invalid */
typedef struct lbk_scope { uint64_t mark; } lbk_scope;

/* ---- logging ----------------------------------------------------------------------- */
typedef enum lbk_log_level { LBK_LOG_ERROR = 1, LBK_LOG_WARN, LBK_LOG_INFO, LBK_LOG_DEBUG } lbk_log_level;
typedef void (*lbk_log_fn)(void *user, lbk_log_level level, const char *msg);
/* A ready logger: writes "lazybk: <level>: <msg>" to stderr. */
LAZYBK_API void lbk_log_stderr(void *user, lbk_log_level level, const char *msg);

/* ---- context ----------------------------------------------------------------------- */
typedef struct lbk_ctx_desc {
    const char *backend;      /* "name" or "name:ordinal"; NULL: $LAZYBK_BACKEND, else "cpu" */
    int         cache_capacity; /* compiled graphs kept (LRU); 0: 1024 */
    int         n_threads;    /* cpu threads; 0: OMP_NUM_THREADS or all cores */
    lbk_log_fn  logger;       /* NULL: silent. Receives every recorded error and warnings */
    void       *logger_user;
    /* 0: no limit. A cap on the device memory the context holds: its tensors' data (not
       data over memory lazybk did not allocate: mapped module files, DLPack imports), the
       constants and scratch its cached compiled graphs keep (the backend's
       computation_memory), and, during a sync, the values the sync makes. A call that would
       go over it fails with LBK_ERR_OOM naming the op, the shape and the bytes, before the
       allocation, after first evicting cached graphs that are not in use. */
    size_t      max_memory_bytes;
    /* nonzero: a sync (lbk_read, lbk_sync of some tensors) also materialises the live
       pending tensors whose graphs share pending work with it (a decode step's KV caches
       with its next token), so that the shared part is computed once and the next sync of
       them is not a new graph. A failure in one of them then fails the sync. 0: only what
       was asked for. Either way lbk_sync(ctx, NULL, 0) syncs every live tensor at once. */
    int         sync_siblings;
} lbk_ctx_desc;

/* desc may be NULL. Returns NULL on failure: lbk_last_result() is LBK_ERR_NOT_FOUND for an
   unknown backend, LBK_ERR_UNAVAILABLE (with the reason) for one whose is_available is false,
   LBK_ERR_ARG for a bad ordinal. Thread-safe. */
LAZYBK_API lbk_ctx    *lbk_ctx_create(const lbk_ctx_desc *desc);
LAZYBK_API void        lbk_ctx_destroy(lbk_ctx *ctx);        /* NULL is a no-op */
LAZYBK_API lbk_result  lbk_ctx_result(const lbk_ctx *ctx);   /* the sticky first error; LBK_OK if none */
LAZYBK_API const char *lbk_ctx_error(const lbk_ctx *ctx);    /* its message; "" if none; NULL for a NULL ctx */
LAZYBK_API void        lbk_ctx_clear_error(lbk_ctx *ctx);
LAZYBK_API void        lbk_set_seed(lbk_ctx *ctx, uint64_t seed); /* random ops traced after this; reaches set_rng_seed */
LAZYBK_API lbk_device  lbk_ctx_device(const lbk_ctx *ctx);   /* {0,0} for NULL */
/* The bytes counted against max_memory_bytes now (tensors' data plus what cached graphs
   keep); 0 for NULL. */
LAZYBK_API size_t      lbk_ctx_memory_used(const lbk_ctx *ctx);
LAZYBK_API const char *lbk_ctx_backend(const lbk_ctx *ctx);  /* the backend's name; NULL for NULL */

/* ---- tensors ----------------------------------------------------------------------- */
/* Every function returning lbk_tensor is an "op": it returns {0} on failure and records the
   error on ctx. Each op lbk_X is also a macro that records the caller's file and line
   (unless LAZYBK_NO_LOCATION_MACROS); (lbk_X)(...) calls the function, recording none. */
LAZYBK_API lbk_tensor lbk_from_host(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims, const void *data); /* copies */
LAZYBK_API lbk_tensor lbk_scalar(lbk_ctx *ctx, lbk_dtype dt, double value); /* 0-d; a parameter, not a constant */
LAZYBK_API lbk_tensor lbk_full(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims, double value);
LAZYBK_API lbk_tensor lbk_empty(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims); /* device data, contents unspecified */
LAZYBK_API lbk_tensor lbk_arange(lbk_ctx *ctx, lbk_dtype dt, double start, double stop, double step);
LAZYBK_API lbk_tensor lbk_rand(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims);  /* U[0,1), float dtypes */
LAZYBK_API lbk_tensor lbk_randn(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims); /* N(0,1), float dtypes */

/* Materialises the pending ones among ts (n == 0: every live pending tensor). */
LAZYBK_API lbk_result lbk_sync(lbk_ctx *ctx, const lbk_tensor *ts, int n);
/* Syncs t if pending and copies it out. dst_bytes must be at least the tensor's size. */
LAZYBK_API lbk_result lbk_read(lbk_ctx *ctx, lbk_tensor t, void *dst, size_t dst_bytes);
/* Same, converting to dt on the way (float->int truncates toward zero, saturating; nan->0). */
LAZYBK_API lbk_result lbk_read_as(lbk_ctx *ctx, lbk_tensor t, lbk_dtype dt, void *dst, size_t dst_bytes);
/* The handle goes stale. {0}, stale and foreign handles are ignored. */
LAZYBK_API void       lbk_release(lbk_ctx *ctx, lbk_tensor t);
LAZYBK_API lbk_scope  lbk_scope_begin(lbk_ctx *ctx);
/* Releases every tensor made since s except those in keep (which join the enclosing scope). */
LAZYBK_API void       lbk_scope_end(lbk_ctx *ctx, lbk_scope s, const lbk_tensor *keep, int n_keep);

/* Getters: -1 for an invalid handle (or axis), 0 for a NULL context. */
LAZYBK_API int        lbk_ndim(lbk_ctx *ctx, lbk_tensor t);
LAZYBK_API int64_t    lbk_dim(lbk_ctx *ctx, lbk_tensor t, int axis);   /* axis may be negative */
LAZYBK_API int64_t    lbk_numel(lbk_ctx *ctx, lbk_tensor t);
LAZYBK_API lbk_dtype  lbk_type(lbk_ctx *ctx, lbk_tensor t);            /* 0 for an invalid handle */
LAZYBK_API bool       lbk_is_pending(lbk_ctx *ctx, lbk_tensor t);
LAZYBK_API int64_t    lbk_live_tensors(lbk_ctx *ctx);                  /* handles not yet released */

/* ---- the op table ------------------------------------------------------------------- */
/* Every op is one row of LBK_OP_TABLE; everything that is a property of an op lives in its
   row, and every list of ops in lazybk is derived from the table (the lbk_op enum, names,
   kinds, arities, schemas, the declarations of the plain unary and binary calls, the
   fusible set, module files, lbk_backend_check's cases). Columns:
     id      the enum name (LBK_OP_<id>)
     name    the public name, and the call lbk_<name> where api is UNARY or BINARY
     kind    LBK_OPKIND_<kind> (see lbk_op_kind)
     api     UNARY: lbk_<name>(ctx, t); BINARY: lbk_<name>(ctx, a, b); OWN: written by hand
     n_in    fewest and most inputs (-1: any number)
     rule    the shape and dtype rule (lbk__rule_<rule>, in the implementation): one function
             used by the op's builder, the module-file validator and lbk_backend_check
     dt      the dtype rule the shape rule applies (LBK__DT_<dt>)
     attrs   the op's attribute fields (lbk__af_<attrs>: how they are printed and saved)
     flags   LBK_OPF_FUSIBLE (a float elementwise map the fast paths may fuse),
             LBK_OPF_COMPOSITE (decomposed for a backend that declines it), LBK_OPF_RANDOM
             (never shared by hash-consing); LBK_OPF_ATTRS follows from attrs
     schema  the PyTorch schema of a composite (its decomposition's key), else NULL
   Module files store ops by name, so rows may be inserted anywhere. A new op needs its row,
   a kernel on the cpu reference path (lbk__cpu_row for elementwise ops), a fast kernel
   where one is wanted (lbk__tile_* for a fusible op), a conformance case (lbk__chk_case)
   and, for a public call, its location macro below. What is missing fails with
   LBK_ERR_UNSUPPORTED naming the op, never silently. */
#define LBK_OP_TABLE(X) \
/*  id           name         kind       api     n_in    rule       dt       attrs    flags                schema */ \
  X(PARAM,       param,       PARAM,     OWN,    0, 0,   param,     KEEP,    none,    0,                   NULL) \
  X(ADD,         add,         BINARY,    BINARY, 2, 2,   ew,        SAME,    none,    LBK_OPF_FUSIBLE,     NULL) \
  X(SUB,         sub,         BINARY,    BINARY, 2, 2,   ew,        NOBOOL,  none,    LBK_OPF_FUSIBLE,     NULL) \
  X(MUL,         mul,         BINARY,    BINARY, 2, 2,   ew,        SAME,    none,    LBK_OPF_FUSIBLE,     NULL) \
  X(DIV,         div,         BINARY,    BINARY, 2, 2,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(POW,         pow,         BINARY,    BINARY, 2, 2,   ew,        NOBOOL,  none,    LBK_OPF_FUSIBLE,     NULL) \
  X(MAXIMUM,     maximum,     BINARY,    BINARY, 2, 2,   ew,        SAME,    none,    LBK_OPF_FUSIBLE,     NULL) \
  X(MINIMUM,     minimum,     BINARY,    BINARY, 2, 2,   ew,        SAME,    none,    LBK_OPF_FUSIBLE,     NULL) \
  X(EQ,          eq,          COMPARE,   BINARY, 2, 2,   ew,        CMP,     none,    0,                   NULL) \
  X(NE,          ne,          COMPARE,   BINARY, 2, 2,   ew,        CMP,     none,    0,                   NULL) \
  X(LT,          lt,          COMPARE,   BINARY, 2, 2,   ew,        CMP,     none,    0,                   NULL) \
  X(LE,          le,          COMPARE,   BINARY, 2, 2,   ew,        CMP,     none,    0,                   NULL) \
  X(GT,          gt,          COMPARE,   BINARY, 2, 2,   ew,        CMP,     none,    0,                   NULL) \
  X(GE,          ge,          COMPARE,   BINARY, 2, 2,   ew,        CMP,     none,    0,                   NULL) \
  X(LOGICAL_AND, logical_and, LOGIC,     BINARY, 2, 2,   ew,        LOGIC,   none,    0,                   NULL) \
  X(LOGICAL_OR,  logical_or,  LOGIC,     BINARY, 2, 2,   ew,        LOGIC,   none,    0,                   NULL) \
  X(LOGICAL_NOT, logical_not, LOGIC,     UNARY,  1, 1,   ew,        LOGIC,   none,    0,                   NULL) \
  X(WHERE,       where,       SELECT,    OWN,    3, 3,   where,     SAME,    none,    0,                   NULL) \
  X(NEG,         neg,         UNARY,     UNARY,  1, 1,   ew,        NOBOOL,  none,    LBK_OPF_FUSIBLE,     NULL) \
  X(ABS,         abs,         UNARY,     UNARY,  1, 1,   ew,        NOBOOL,  none,    LBK_OPF_FUSIBLE,     NULL) \
  X(EXP,         exp,         UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(LOG,         log,         UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(SQRT,        sqrt,        UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(RSQRT,       rsqrt,       UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(SIN,         sin,         UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(COS,         cos,         UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(TANH,        tanh,        UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(SIGMOID,     sigmoid,     UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(RELU,        relu,        UNARY,     UNARY,  1, 1,   ew,        NOBOOL,  none,    LBK_OPF_FUSIBLE,     NULL) \
  X(ERF,         erf,         UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(FLOOR,       floor,       UNARY,     UNARY,  1, 1,   ew,        INTID,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(CEIL,        ceil,        UNARY,     UNARY,  1, 1,   ew,        INTID,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(RECIPROCAL,  reciprocal,  UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \
  X(CAST,        cast,        CAST,      OWN,    1, 1,   cast,      KEEP,    none,    0,                   NULL) \
  X(SUM,         sum,         REDUCE,    OWN,    1, 1,   reduce,    SUM,     reduce,  0,                   NULL) \
  X(MEAN,        mean,        REDUCE,    OWN,    1, 1,   reduce,    MEAN,    reduce,  0,                   NULL) \
  X(AMAX,        amax,        REDUCE,    OWN,    1, 1,   reduce,    KEEP,    reduce,  0,                   NULL) \
  X(AMIN,        amin,        REDUCE,    OWN,    1, 1,   reduce,    KEEP,    reduce,  0,                   NULL) \
  X(ARGMAX,      argmax,      REDUCE,    OWN,    1, 1,   argmax,    KEEP,    argmax,  0,                   NULL) \
  X(MATMUL,      matmul,      MATMUL,    OWN,    2, 2,   matmul,    NOBOOL,  none,    0,                   NULL) \
  X(RESHAPE,     reshape,     SHAPE,     OWN,    1, 1,   reshape,   KEEP,    none,    0,                   NULL) \
  X(PERMUTE,     permute,     SHAPE,     OWN,    1, 1,   permute,   KEEP,    perm,    0,                   NULL) \
  X(EXPAND,      expand,      SHAPE,     OWN,    1, 1,   expand,    KEEP,    none,    0,                   NULL) \
  X(SLICE,       slice,       SHAPE,     OWN,    1, 1,   slice,     KEEP,    slice,   0,                   NULL) \
  X(CONCAT,      concat,      SHAPE,     OWN,    1, -1,  concat,    SAME,    concat,  0,                   NULL) \
  X(ARANGE,      arange,      CREATION,  OWN,    0, 0,   arange,    KEEP,    arange,  0,                   NULL) \
  X(RAND,        rand,        RANDOM,    OWN,    1, 1,   random,    KEEP,    none,    LBK_OPF_RANDOM,      NULL) \
  X(RANDN,       randn,       RANDOM,    OWN,    1, 1,   random,    KEEP,    none,    LBK_OPF_RANDOM,      NULL) \
  X(SOFTMAX,     softmax,     COMPOSITE, OWN,    1, 1,   softmax,   FLOAT,   axis,    LBK_OPF_COMPOSITE, \
    "softmax(Tensor self, int dim) -> Tensor") \
  X(LOG_SOFTMAX, log_softmax, COMPOSITE, OWN,    1, 1,   softmax,   FLOAT,   axis,    LBK_OPF_COMPOSITE, \
    "log_softmax(Tensor self, int dim) -> Tensor") \
  X(LOGSUMEXP,   logsumexp,   COMPOSITE, OWN,    1, 1,   logsumexp, FLOAT,   lse,     LBK_OPF_COMPOSITE, \
    "logsumexp(Tensor self, int dim, bool keepdim) -> Tensor") \
  X(GELU,        gelu,        COMPOSITE, OWN,    1, 1,   act,       FLOAT,   gelu,    LBK_OPF_COMPOSITE, \
    "gelu(Tensor self, str approximate) -> Tensor") \
  X(SILU,        silu,        COMPOSITE, OWN,    1, 1,   act,       FLOAT,   none,    LBK_OPF_COMPOSITE, \
    "silu(Tensor self) -> Tensor") \
  X(VAR,         var,         COMPOSITE, OWN,    1, 1,   var,       FLOAT,   var,     LBK_OPF_COMPOSITE, \
    "var(Tensor self, int[] dim, int correction, bool keepdim) -> Tensor") \
  X(LAYER_NORM,  layer_norm,  COMPOSITE, OWN,    1, 3,   norm,      FLOAT,   norm,    LBK_OPF_COMPOSITE, \
    "layer_norm(Tensor input, int[] normalized_shape, Tensor? weight, Tensor? bias, float eps) -> Tensor") \
  X(RMS_NORM,    rms_norm,    COMPOSITE, OWN,    1, 2,   norm,      FLOAT,   norm,    LBK_OPF_COMPOSITE, \
    "rms_norm(Tensor input, int[] normalized_shape, Tensor? weight, float eps) -> Tensor") \
  X(LINEAR,      linear,      COMPOSITE, OWN,    2, 3,   linear,    NOBOOL,  linear,  LBK_OPF_COMPOSITE, \
    "linear(Tensor input, Tensor weight, Tensor? bias) -> Tensor") \
  X(INDEX_SELECT, index_select, INDEX,   OWN,    2, 2,   index_select, KEEP, concat,  0,                   NULL) \
  X(GATHER,      gather,      INDEX,     OWN,    2, 2,   gather,    KEEP,    concat,  0,                   NULL) \
  X(SCATTER_ADD, scatter_add, INDEX,     OWN,    3, 3,   scatter_add, KEEP,  concat,  0,                   NULL) \
  X(INDEX_ADD,   index_add,   INDEX,     OWN,    3, 3,   index_add, KEEP,    concat,  0,                   NULL) \
  X(SLICE_DYN,   slice_dyn,   INDEX,     OWN,    2, 2,   slice_dyn, KEEP,    concat,  0,                   NULL) \
  X(SLICE_UPDATE, slice_update, INDEX,   OWN,    3, 3,   slice_update, KEEP, concat,  0,                   NULL) \
  X(SOFTPLUS,    softplus,    COMPOSITE, OWN,    1, 1,   act,       FLOAT,   none,    LBK_OPF_COMPOSITE, \
    "softplus(Tensor self, float beta, float threshold) -> Tensor") \
  X(LEAKY_RELU,  leaky_relu,  COMPOSITE, OWN,    1, 1,   act,       FLOAT,   slope,   LBK_OPF_COMPOSITE, \
    "leaky_relu(Tensor self, float negative_slope) -> Tensor") \
  X(HARDSWISH,   hardswish,   COMPOSITE, OWN,    1, 1,   act,       FLOAT,   none,    LBK_OPF_COMPOSITE, \
    "hardswish(Tensor self) -> Tensor") \
  X(ELU,         elu,         COMPOSITE, OWN,    1, 1,   act,       FLOAT,   alpha,   LBK_OPF_COMPOSITE, \
    "elu(Tensor self, float alpha, float scale, float input_scale) -> Tensor") \
  X(SDPA, scaled_dot_product_attention, COMPOSITE, OWN, 3, 4, sdpa, FLOAT, sdpa,    LBK_OPF_COMPOSITE, \
    "scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask, float dropout_p, bool is_causal, float? scale) -> Tensor") \
  X(CONV2D,      conv2d,      WINDOW,    OWN,    2, 3,   conv,      FLOAT,   conv,    0,                   NULL) \
  X(CONV_TRANSPOSE2D, conv_transpose2d, WINDOW, OWN, 2, 3, conv,    FLOAT,   convt,   0,                   NULL) \
  X(MAX_POOL2D,  max_pool2d,  WINDOW,    OWN,    1, 1,   pool,      NOBOOL,  pool,    0,                   NULL) \
  X(AVG_POOL2D,  avg_pool2d,  WINDOW,    OWN,    1, 1,   pool,      FLOAT,   pool,    0,                   NULL) \
  X(INTERPOLATE_NEAREST2D, interpolate_nearest2d, WINDOW, OWN, 1, 1, interp, KEEP, none,  0,                   NULL) \
  X(CUMSUM,      cumsum,      SCAN,      OWN,    1, 1,   scan,      SUM,     axis,    0,                   NULL) \
  X(ARGSORT,     argsort,     SCAN,      OWN,    1, 1,   scan,      KEEP,    sort,    0,                   NULL) \
  X(BATCH_NORM,  batch_norm,  COMPOSITE, OWN,    3, 5,   bn,        FLOAT,   bn,      LBK_OPF_COMPOSITE, \
    "batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, bool training, float momentum, float eps, bool cudnn_enabled) -> Tensor") \
  X(GROUP_NORM,  group_norm,  COMPOSITE, OWN,    1, 3,   gn,        FLOAT,   gn,      LBK_OPF_COMPOSITE, \
    "group_norm(Tensor input, int num_groups, Tensor? weight, Tensor? bias, float eps, bool cudnn_enabled) -> Tensor") \
  X(ROPE,        rope,        COMPOSITE, OWN,    2, 2,   rope,      FLOAT,   rope,    LBK_OPF_COMPOSITE, \
    "rope(Tensor self, Tensor positions, int rot_dims, float base, bool interleaved) -> Tensor") \
  X(CROSS_ENTROPY, cross_entropy, COMPOSITE, OWN, 2, 2,  ce,        FLOAT,   ce,      LBK_OPF_COMPOSITE, \
    "cross_entropy_loss(Tensor self, Tensor target, Tensor? weight, int reduction, SymInt ignore_index, float label_smoothing) -> Tensor")

/* What kind of op a row is: backends may claim ops by kind (every elementwise UNARY op
   maps one value to one value of the node's dtype, and so on). */
typedef enum lbk_op_kind {
    LBK_OPKIND_INVALID = 0,
    LBK_OPKIND_PARAM,      /* a graph input: device data or a scalar */
    LBK_OPKIND_UNARY,      /* elementwise, one input */
    LBK_OPKIND_BINARY,     /* elementwise arithmetic, two broadcast inputs */
    LBK_OPKIND_COMPARE,    /* elementwise, two inputs of one dtype, bool result */
    LBK_OPKIND_LOGIC,      /* elementwise over bool inputs, bool result */
    LBK_OPKIND_SELECT,     /* where(cond, a, b) */
    LBK_OPKIND_CAST,
    LBK_OPKIND_REDUCE,     /* over axes (lbk_node_axes; argmax: lbk_node_axis) */
    LBK_OPKIND_MATMUL,
    LBK_OPKIND_SHAPE,      /* data movement: reshape, permute, expand, slice, concat */
    LBK_OPKIND_CREATION,   /* made from attributes alone */
    LBK_OPKIND_RANDOM,
    LBK_OPKIND_COMPOSITE,  /* has a schema and a decomposition */
    LBK_OPKIND_INDEX,      /* data movement by an integer index or start tensor (input 1), read at run time:
                              index_select, gather, scatter_add, index_add, slice_dyn, slice_update */
    LBK_OPKIND_WINDOW,     /* over NCHW planes: conv2d, conv_transpose2d, max/avg pool, nearest resize (lbk_node_window) */
    LBK_OPKIND_SCAN,       /* along one axis, each result from the whole axis: cumsum, argsort */
    LBK_OPKIND_COUNT
} lbk_op_kind;
enum { LBK_OPF_FUSIBLE = 1, LBK_OPF_COMPOSITE = 2, LBK_OPF_RANDOM = 4, LBK_OPF_ATTRS = 8 };

typedef enum lbk_op {
    LBK_OP_INVALID = 0,
#define LBK__OP_ENUM(id, name, kind, api, nmin, nmax, rule, dt, attrs, flags, schema) LBK_OP_##id,
    LBK_OP_TABLE(LBK__OP_ENUM)
#undef LBK__OP_ENUM
    LBK_OP_COUNT
} lbk_op;
/* Elementwise ops see their inputs already cast to one dtype (comparisons: the promoted
   dtype, result bool; logical ops: bool). Inputs broadcast NumPy-style to the node's shape.
   matmul inputs are at least 2-d and share a dtype; batch dims broadcast. transpose is
   a permute; full is an expand of a scalar parameter. rand/randn take one input: an i64
   scalar parameter that seeds them (a counter-based generator per element). The numbers
   of lbk_op may change between versions (rows are inserted); names never do. */
LAZYBK_API const char *lbk_op_name(lbk_op op);        /* "add"...; "invalid" out of range */
LAZYBK_API lbk_op      lbk_op_from_name(const char *name); /* LBK_OP_INVALID if unknown or NULL */
LAZYBK_API lbk_op_kind lbk_op_kind_of(lbk_op op);     /* LBK_OPKIND_INVALID out of range */
LAZYBK_API unsigned    lbk_op_flags(lbk_op op);       /* LBK_OPF_* bits; 0 out of range */
/* The fewest inputs a node of op has; *out_max (may be NULL) the most, -1 for any number.
   -1 (and *out_max -1) for an op out of range. */
LAZYBK_API int         lbk_op_arity(lbk_op op, int *out_max);

/* ---- ops -------------------------------------------------------------------------- */
/* NumPy broadcasting. Promotion bool < i32 < i64 < f32 < f64; a 0-d tensor made by
   lbk_scalar counts only by its kind (bool, integer, float): f32 tensor * f64 scalar is
   f32, i32 tensor * f64 scalar is f32, bool tensor + int scalar is i64. */
#define LBK__DECL_OWN(name)
#define LBK__DECL_UNARY(name) \
    LAZYBK_API lbk_tensor lbk_##name(lbk_ctx *ctx, lbk_tensor t); \
    LAZYBK_API lbk_tensor lbk_##name##_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t);
#define LBK__DECL_BINARY(name) \
    LAZYBK_API lbk_tensor lbk_##name(lbk_ctx *ctx, lbk_tensor a, lbk_tensor b); \
    LAZYBK_API lbk_tensor lbk_##name##_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor a, lbk_tensor b);
#define LBK__OP_DECL(id, name, kind, api, nmin, nmax, rule, dt, attrs, flags, schema) LBK__DECL_##api(name)
/* The unary and binary calls, one per row with api UNARY or BINARY: int inputs of exp..erf,
   reciprocal become f32; floor/ceil of ints are identity; div is true division (ints give
   f32); comparisons give bool; logical ops take any dtype (nonzero is true) and give bool. */
LBK_OP_TABLE(LBK__OP_DECL)
#undef LBK__OP_DECL
LAZYBK_API lbk_tensor lbk_where(lbk_ctx *ctx, lbk_tensor cond, lbk_tensor a, lbk_tensor b); /* cond must be bool */
LAZYBK_API lbk_tensor lbk_cast(lbk_ctx *ctx, lbk_tensor t, lbk_dtype dt); /* float->int truncates toward zero,
                                     saturating at the int's range; nan -> 0 */
/* Reductions; n_axes == 0 reduces every axis (axes may then be NULL). sum of bool/int gives
   i64; mean of bool/int gives f32; amax/amin keep the dtype and propagate nan; reducing a
   zero-size axis is 0 for sum, nan for mean, an error for amax/amin/argmax. */
LAZYBK_API lbk_tensor lbk_sum(lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, bool keepdim);
LAZYBK_API lbk_tensor lbk_mean(lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, bool keepdim);
LAZYBK_API lbk_tensor lbk_amax(lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, bool keepdim);
LAZYBK_API lbk_tensor lbk_amin(lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, bool keepdim);
LAZYBK_API lbk_tensor lbk_argmax(lbk_ctx *ctx, lbk_tensor t, int axis, bool keepdim); /* i64; first max; nan is max */
LAZYBK_API lbk_tensor lbk_matmul(lbk_ctx *ctx, lbk_tensor a, lbk_tensor b); /* torch.matmul, batch broadcast */
LAZYBK_API lbk_tensor lbk_reshape(lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *dims); /* one -1 allowed */
LAZYBK_API lbk_tensor lbk_permute(lbk_ctx *ctx, lbk_tensor t, const int *perm);       /* perm has ndim entries */
LAZYBK_API lbk_tensor lbk_transpose(lbk_ctx *ctx, lbk_tensor t, int axis0, int axis1);
LAZYBK_API lbk_tensor lbk_expand(lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *dims); /* -1 keeps a dim */
/* Python slicing: negative start/stop count from the end and are clamped; step is nonzero
   and may be negative (x[::-1] is lbk_slice(ctx, x, axis, INT64_MAX, INT64_MIN, -1): the
   extremes clamp as Python's omitted bounds do). */
LAZYBK_API lbk_tensor lbk_slice(lbk_ctx *ctx, lbk_tensor t, int axis, int64_t start, int64_t stop, int64_t step);
LAZYBK_API lbk_tensor lbk_concat(lbk_ctx *ctx, const lbk_tensor *ts, int n, int axis); /* dtypes promote */
/* Indexing (numpy.take semantics, PyTorch's bounds): the elements of t at positions index
   (an integer tensor of any shape) along axis; the result's shape is t's with that axis
   replaced by index's shape. The indices are data: one outside [0, dim) fails the sync
   with LBK_ERR_ARG naming the op, the index and the bound. embedding(weight, ids) is
   index_select(weight, 0, ids): a row of weight per id. */
LAZYBK_API lbk_tensor lbk_index_select(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index);
LAZYBK_API lbk_tensor lbk_embedding(lbk_ctx *ctx, lbk_tensor weight, lbk_tensor ids);
/* torch.gather: index has t's number of dims, each dim but axis at most t's; the result
   has index's shape, out[i][j][k] = t[index[i][j][k]][j][k] for axis 0. */
LAZYBK_API lbk_tensor lbk_gather(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index);
/* torch.scatter_add, out of place: t with src[i][j][k] added at out[index[i][j][k]][j][k]
   (axis 0) for every position of index (index's dims at most src's, and at most t's but
   along axis). Repeated indices add up, in index order. src is cast to t's dtype. */
LAZYBK_API lbk_tensor lbk_scatter_add(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index, lbk_tensor src);
/* torch.index_add, out of place: t with slice j of src along axis added at slice
   index[j] (index 1-d or 0-d; src is t's shape with axis the index's length). */
LAZYBK_API lbk_tensor lbk_index_add(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index, lbk_tensor src);
/* Slices whose start is data: start is a 0-d integer tensor (lbk_scalar(ctx, LBK_I64, pos)
   is a parameter, so a loop over pos compiles once). slice_dyn takes length elements of
   t along axis from start; slice_update is t with src (t's shape but along axis, cast to
   t's dtype) written from start on. start must lie in [0, dim - length] (length: src's
   along axis); anything else fails the sync with LBK_ERR_ARG naming the op, the start and
   the bound. slice_update is out of place in meaning; when nothing else holds t (its
   handle released, the result synced), the cpu backend writes src into t's buffer and
   the result takes it over (a KV cache updated in place: lbk_counter "donated"). */
LAZYBK_API lbk_tensor lbk_slice_dyn(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor start, int64_t length);
LAZYBK_API lbk_tensor lbk_slice_update(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor start, lbk_tensor src);
/* Conveniences, as PyTorch's, recorded as the ops above (no rows of their own; debug sites
   name the call). squeeze drops axis if it is 1 (else t as it is); unsqueeze inserts a
   1 at axis (-(ndim+1) .. ndim); flatten joins axes start..end (a 0-d tensor becomes
   [1]); stack joins tensors of one shape along a new axis; split cuts t along axis into
   n_parts pieces of the given sizes (summing to the dim) or, sizes NULL, equal ones (the
   dim must divide), out[0..n_parts) ({0} each on failure); flip reverses the listed axes
   (each once; slices of step -1); repeat tiles t repeats[k]
   times along dim k (n_dims >= ndim; t's dims align to the right); clamp bounds t to
   [lo, hi] (a NaN bound is no bound; NaN in t stays NaN; the dtype promotes as maximum
   with a wrapped f64 scalar does); tril/triu keep the elements of the last two axes on
   and below (tril) or on and above (triu) the diagonal-th diagonal and zero the rest. */
LAZYBK_API lbk_tensor lbk_squeeze(lbk_ctx *ctx, lbk_tensor t, int axis);
LAZYBK_API lbk_tensor lbk_unsqueeze(lbk_ctx *ctx, lbk_tensor t, int axis);
LAZYBK_API lbk_tensor lbk_flatten(lbk_ctx *ctx, lbk_tensor t, int start_axis, int end_axis);
LAZYBK_API lbk_tensor lbk_stack(lbk_ctx *ctx, const lbk_tensor *ts, int n, int axis);
LAZYBK_API lbk_result lbk_split(lbk_ctx *ctx, lbk_tensor t, int axis, int n_parts, const int64_t *sizes, lbk_tensor *out);
LAZYBK_API lbk_tensor lbk_flip(lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes);
LAZYBK_API lbk_tensor lbk_repeat(lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *repeats);
LAZYBK_API lbk_tensor lbk_clamp(lbk_ctx *ctx, lbk_tensor t, double lo, double hi);
LAZYBK_API lbk_tensor lbk_tril(lbk_ctx *ctx, lbk_tensor t, int64_t diagonal);
LAZYBK_API lbk_tensor lbk_triu(lbk_ctx *ctx, lbk_tensor t, int64_t diagonal);
/* Composite ops: recorded as single nodes, so a backend can run them whole; for a backend
   that declines one, the executor rewrites it through the decomposition implementation
   (lbk_decomp_*) when it compiles the graph. The result dtype is the table's dtype rule,
   the same on every path: the float functions (softmax ... rms_norm) compute integer
   inputs in f32 and return f32; lbk_linear is matmul + add and follows them (integer
   operands give an exact integer result, as torch.nn.functional.linear does). Over a
   zero-size axis: softmax/log_softmax give their (empty) result, logsumexp -inf, var nan
   (as PyTorch). */
LAZYBK_API lbk_tensor lbk_softmax(lbk_ctx *ctx, lbk_tensor t, int axis);
LAZYBK_API lbk_tensor lbk_log_softmax(lbk_ctx *ctx, lbk_tensor t, int axis);
LAZYBK_API lbk_tensor lbk_logsumexp(lbk_ctx *ctx, lbk_tensor t, int axis, bool keepdim);
LAZYBK_API lbk_tensor lbk_gelu(lbk_ctx *ctx, lbk_tensor t, bool tanh_approx);
LAZYBK_API lbk_tensor lbk_silu(lbk_ctx *ctx, lbk_tensor t);
/* torch.nn.functional's: softplus log(1 + exp(x)) (beta 1; x itself past 20), leaky_relu
   (x, or slope * x below 0), hardswish x * relu6(x + 3) / 6, elu (x, or alpha * (exp(x) - 1)
   below 0). Decomposed with log1p and expm1 computed accurately near 0. */
LAZYBK_API lbk_tensor lbk_softplus(lbk_ctx *ctx, lbk_tensor t);
LAZYBK_API lbk_tensor lbk_leaky_relu(lbk_ctx *ctx, lbk_tensor t, double slope);
LAZYBK_API lbk_tensor lbk_hardswish(lbk_ctx *ctx, lbk_tensor t);
LAZYBK_API lbk_tensor lbk_elu(lbk_ctx *ctx, lbk_tensor t, double alpha);
/* correction 1 is the unbiased (sample) variance; the divisor is max(0, N - correction). */
LAZYBK_API lbk_tensor lbk_var(lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, int correction, bool keepdim);
/* Normalises over the last n_norm_dims dims; weight and bias ({0}: absent) have exactly those dims. */
LAZYBK_API lbk_tensor lbk_layer_norm(lbk_ctx *ctx, lbk_tensor x, int n_norm_dims, lbk_tensor weight, lbk_tensor bias, double eps);
LAZYBK_API lbk_tensor lbk_rms_norm(lbk_ctx *ctx, lbk_tensor x, int n_norm_dims, lbk_tensor weight, double eps);
/* x @ w^T + b: x [..., in], w [out, in], b [out] or {0}. */
LAZYBK_API lbk_tensor lbk_linear(lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b);
/* torch.nn.functional.scaled_dot_product_attention (inference: no dropout):
   softmax(q k^T scale + mask) v with q [..., Hq, L, E], k [..., Hk, S, E], v [..., Hk, S, Ev]
   of one float dtype -> [..., Hq, L, Ev]. Hq a multiple of Hk: each k/v head serves Hq/Hk
   query heads in a row (grouped-query, PyTorch's enable_gqa). mask ({0}: none) is bool (true
   attends) or q's dtype (added), broadcastable to [..., Hq, L, S]; is_causal keeps key j for
   query i where j <= i (PyTorch's top-left alignment; not with a mask); scale 0 means
   1/sqrt(E). A row that attends to nothing is NaN, as in PyTorch's math path. */
LAZYBK_API lbk_tensor lbk_scaled_dot_product_attention(lbk_ctx *ctx, lbk_tensor q, lbk_tensor k, lbk_tensor v, lbk_tensor mask, bool is_causal,
                                                       double scale);

/* Convolution, pooling and resizing over NCHW tensors, as torch.nn.functional's (the same
   output sizes: floor((in + 2 padding - dilation (k - 1) - 1) / stride) + 1). stride, padding,
   dilation and output_padding are [h, w] and may be NULL: 1, 0, 1, 0; every value fits int32.
   conv2d: x [N, C, H, W], w [O, C/groups, kh, kw], b [O] or {0}; groups divides C and O
   (groups == C: depthwise); float dtypes (they promote; cast integer images first). conv1d
   is conv2d over [N, C, 1, L] with w [O, C/groups, k]. conv_transpose2d: w [C, O/groups, kh,
   kw], output [N, O, (H - 1) stride - 2 padding + kh + output_padding, ...], output_padding <
   stride. max_pool2d (padding never wins, NaN propagates; not bool) and avg_pool2d (the
   padding counts: count_include_pad; floats) take x [N, C, H, W] or [C, H, W]; stride NULL is
   the kernel; padding at most half the kernel. interpolate_nearest2d: PyTorch's "nearest"
   (source index floor(dst * in / out) computed in float), any dtype. */
LAZYBK_API lbk_tensor lbk_conv1d(lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, int64_t stride, int64_t padding, int64_t dilation, int64_t groups);
LAZYBK_API lbk_tensor lbk_conv2d(lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, const int64_t *stride, const int64_t *padding,
                                 const int64_t *dilation, int64_t groups);
LAZYBK_API lbk_tensor lbk_conv_transpose2d(lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, const int64_t *stride, const int64_t *padding,
                                           const int64_t *output_padding, int64_t groups);
LAZYBK_API lbk_tensor lbk_max_pool2d(lbk_ctx *ctx, lbk_tensor x, const int64_t *kernel, const int64_t *stride, const int64_t *padding);
LAZYBK_API lbk_tensor lbk_avg_pool2d(lbk_ctx *ctx, lbk_tensor x, const int64_t *kernel, const int64_t *stride, const int64_t *padding);
LAZYBK_API lbk_tensor lbk_interpolate_nearest2d(lbk_ctx *ctx, lbk_tensor x, int64_t out_h, int64_t out_w);
/* Scans and sorting along axis. cumsum: running sums (integers and bool sum in i64, floats
   accumulate in double, as PyTorch). argsort: the stable order (i64 positions; NaN sorts
   above +inf, -0 equals 0; descending keeps equal elements in their order). sort: the
   sorted values and that order; topk: the first k of it (largest: descending), k in
   [0, dim]. multinomial: n_samples draws without replacement from each row of probs ([C]
   or [R, C] float weights >= 0, need not sum to 1; Gumbel top-k over lbk_rand, so seeded
   by lbk_set_seed); a weight <= 0 or NaN is never drawn while others remain; i64 result
   [..., n_samples]. one_hot: ids [...] -> [..., n_classes] of dt; an id outside
   [0, n_classes) fails the sync like index_select's. pad: torch.nn.functional.pad, constant
   mode: pads[2i] and pads[2i + 1] are the counts before and after the i-th last axis
   (negative: cropped); a slice and a concat per padded axis. */
LAZYBK_API lbk_tensor lbk_cumsum(lbk_ctx *ctx, lbk_tensor t, int axis);
LAZYBK_API lbk_tensor lbk_argsort(lbk_ctx *ctx, lbk_tensor t, int axis, bool descending);
LAZYBK_API lbk_result lbk_sort(lbk_ctx *ctx, lbk_tensor t, int axis, bool descending, lbk_tensor *out_values, lbk_tensor *out_indices);
LAZYBK_API lbk_result lbk_topk(lbk_ctx *ctx, lbk_tensor t, int64_t k, int axis, bool largest, lbk_tensor *out_values, lbk_tensor *out_indices);
LAZYBK_API lbk_tensor lbk_multinomial(lbk_ctx *ctx, lbk_tensor probs, int64_t n_samples);
LAZYBK_API lbk_tensor lbk_one_hot(lbk_ctx *ctx, lbk_tensor ids, int64_t n_classes, lbk_dtype dt);
LAZYBK_API lbk_tensor lbk_pad(lbk_ctx *ctx, lbk_tensor t, int n_pads, const int64_t *pads, double value);
/* Composites with PyTorch's schemas. batch_norm (inference): (x - mean) / sqrt(var + eps)
   * weight + bias per channel of x [N, C, ...] (mean, var, weight, bias [C]; weight and bias
   may be {0}). group_norm: x [N, C, ...] normalised per sample over each of num_groups
   channel groups (biased variance), then weight and bias [C] or {0}. rope: rotary position
   embedding of the first rot_dims (even, 2..D) of x [..., T, D] at integer positions [T]:
   angle = pos * base^(-2i / rot_dims); pairs (2i, 2i + 1) when interleaved (GPT-J), else
   (i, i + rot_dims / 2) (GPT-NeoX, Llama); the rest of D passes through. cross_entropy:
   logits [N, C] (or [C]), integer target [N] (or 0-d); the mean over the rows whose target
   is not ignore_index (NaN when none) of -log_softmax[target], smoothed: (1 - s) of it plus
   s times the mean over classes; a target outside [0, C) fails the sync (a gather). */
LAZYBK_API lbk_tensor lbk_batch_norm(lbk_ctx *ctx, lbk_tensor x, lbk_tensor mean, lbk_tensor var, lbk_tensor weight, lbk_tensor bias, double eps);
LAZYBK_API lbk_tensor lbk_group_norm(lbk_ctx *ctx, lbk_tensor x, int64_t groups, lbk_tensor weight, lbk_tensor bias, double eps);
LAZYBK_API lbk_tensor lbk_rope(lbk_ctx *ctx, lbk_tensor x, lbk_tensor positions, int64_t rot_dims, double base, bool interleaved);
LAZYBK_API lbk_tensor lbk_cross_entropy(lbk_ctx *ctx, lbk_tensor logits, lbk_tensor target, int64_t ignore_index, double label_smoothing);
/* The _at forms take the caller's source location (the macros above pass __FILE__ and
   __LINE__). file may be any string, a literal or a buffer reused or freed after the
   call: its text is copied and matched by content, so one (op, file text, line) is one
   debug site whatever the pointer; the process keeps at most 2^20 sites. */
LAZYBK_API lbk_tensor lbk_from_host_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims, const void *data);
LAZYBK_API lbk_tensor lbk_scalar_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, double value);
LAZYBK_API lbk_tensor lbk_full_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims, double value);
LAZYBK_API lbk_tensor lbk_empty_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims);
LAZYBK_API lbk_tensor lbk_arange_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, double start, double stop, double step);
LAZYBK_API lbk_tensor lbk_rand_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims);
LAZYBK_API lbk_tensor lbk_randn_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims);
LAZYBK_API lbk_tensor lbk_where_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor cond, lbk_tensor a, lbk_tensor b);
LAZYBK_API lbk_tensor lbk_cast_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, lbk_dtype dt);
LAZYBK_API lbk_tensor lbk_sum_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, bool keepdim);
LAZYBK_API lbk_tensor lbk_mean_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, bool keepdim);
LAZYBK_API lbk_tensor lbk_amax_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, bool keepdim);
LAZYBK_API lbk_tensor lbk_amin_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, bool keepdim);
LAZYBK_API lbk_tensor lbk_argmax_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, bool keepdim);
LAZYBK_API lbk_tensor lbk_matmul_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor a, lbk_tensor b);
LAZYBK_API lbk_tensor lbk_reshape_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *dims);
LAZYBK_API lbk_tensor lbk_permute_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, const int *perm);
LAZYBK_API lbk_tensor lbk_transpose_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis0, int axis1);
LAZYBK_API lbk_tensor lbk_expand_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *dims);
LAZYBK_API lbk_tensor lbk_slice_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, int64_t start, int64_t stop, int64_t step);
LAZYBK_API lbk_tensor lbk_concat_at(const char *file, int line, lbk_ctx *ctx, const lbk_tensor *ts, int n, int axis);
LAZYBK_API lbk_tensor lbk_index_select_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index);
LAZYBK_API lbk_tensor lbk_embedding_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor weight, lbk_tensor ids);
LAZYBK_API lbk_tensor lbk_gather_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index);
LAZYBK_API lbk_tensor lbk_scatter_add_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index, lbk_tensor src);
LAZYBK_API lbk_tensor lbk_index_add_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index, lbk_tensor src);
LAZYBK_API lbk_tensor lbk_slice_dyn_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor start, int64_t length);
LAZYBK_API lbk_tensor lbk_slice_update_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor start, lbk_tensor src);
LAZYBK_API lbk_tensor lbk_squeeze_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis);
LAZYBK_API lbk_tensor lbk_unsqueeze_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis);
LAZYBK_API lbk_tensor lbk_flatten_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int start_axis, int end_axis);
LAZYBK_API lbk_tensor lbk_stack_at(const char *file, int line, lbk_ctx *ctx, const lbk_tensor *ts, int n, int axis);
LAZYBK_API lbk_result lbk_split_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, int n_parts, const int64_t *sizes, lbk_tensor *out);
LAZYBK_API lbk_tensor lbk_flip_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes);
LAZYBK_API lbk_tensor lbk_repeat_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *repeats);
LAZYBK_API lbk_tensor lbk_clamp_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, double lo, double hi);
LAZYBK_API lbk_tensor lbk_tril_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int64_t diagonal);
LAZYBK_API lbk_tensor lbk_triu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int64_t diagonal);
LAZYBK_API lbk_tensor lbk_softmax_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis);
LAZYBK_API lbk_tensor lbk_log_softmax_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis);
LAZYBK_API lbk_tensor lbk_logsumexp_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, bool keepdim);
LAZYBK_API lbk_tensor lbk_gelu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, bool tanh_approx);
LAZYBK_API lbk_tensor lbk_silu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t);
LAZYBK_API lbk_tensor lbk_softplus_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t);
LAZYBK_API lbk_tensor lbk_leaky_relu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, double slope);
LAZYBK_API lbk_tensor lbk_hardswish_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t);
LAZYBK_API lbk_tensor lbk_elu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, double alpha);
LAZYBK_API lbk_tensor lbk_var_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, int correction, bool keepdim);
LAZYBK_API lbk_tensor lbk_layer_norm_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int n_norm_dims, lbk_tensor weight, lbk_tensor bias, double eps);
LAZYBK_API lbk_tensor lbk_rms_norm_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int n_norm_dims, lbk_tensor weight, double eps);
LAZYBK_API lbk_tensor lbk_linear_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b);
LAZYBK_API lbk_tensor lbk_scaled_dot_product_attention_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor q, lbk_tensor k, lbk_tensor v,
                                                          lbk_tensor mask, bool is_causal, double scale);
LAZYBK_API lbk_tensor lbk_conv1d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, int64_t stride, int64_t padding,
                                    int64_t dilation, int64_t groups);
LAZYBK_API lbk_tensor lbk_conv2d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, const int64_t *stride,
                                    const int64_t *padding, const int64_t *dilation, int64_t groups);
LAZYBK_API lbk_tensor lbk_conv_transpose2d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, const int64_t *stride,
                                              const int64_t *padding, const int64_t *output_padding, int64_t groups);
LAZYBK_API lbk_tensor lbk_max_pool2d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, const int64_t *kernel, const int64_t *stride,
                                        const int64_t *padding);
LAZYBK_API lbk_tensor lbk_avg_pool2d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, const int64_t *kernel, const int64_t *stride,
                                        const int64_t *padding);
LAZYBK_API lbk_tensor lbk_interpolate_nearest2d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int64_t out_h, int64_t out_w);
LAZYBK_API lbk_tensor lbk_cumsum_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis);
LAZYBK_API lbk_tensor lbk_argsort_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, bool descending);
LAZYBK_API lbk_result lbk_sort_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, bool descending, lbk_tensor *out_values,
                                  lbk_tensor *out_indices);
LAZYBK_API lbk_result lbk_topk_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int64_t k, int axis, bool largest, lbk_tensor *out_values,
                                  lbk_tensor *out_indices);
LAZYBK_API lbk_tensor lbk_multinomial_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor probs, int64_t n_samples);
LAZYBK_API lbk_tensor lbk_one_hot_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor ids, int64_t n_classes, lbk_dtype dt);
LAZYBK_API lbk_tensor lbk_pad_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_pads, const int64_t *pads, double value);
LAZYBK_API lbk_tensor lbk_batch_norm_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor mean, lbk_tensor var, lbk_tensor weight,
                                        lbk_tensor bias, double eps);
LAZYBK_API lbk_tensor lbk_group_norm_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int64_t groups, lbk_tensor weight, lbk_tensor bias, double eps);
LAZYBK_API lbk_tensor lbk_rope_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor positions, int64_t rot_dims, double base, bool interleaved);
LAZYBK_API lbk_tensor lbk_cross_entropy_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor logits, lbk_tensor target, int64_t ignore_index,
                                           double label_smoothing);

#ifndef LAZYBK_NO_LOCATION_MACROS
#define lbk_from_host(...)  lbk_from_host_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_scalar(...)     lbk_scalar_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_full(...)       lbk_full_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_empty(...)      lbk_empty_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_arange(...)     lbk_arange_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_rand(...)       lbk_rand_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_randn(...)      lbk_randn_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_load_npy(...)   lbk_load_npy_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_weights_get(...) lbk_weights_get_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_from_dlpack(...) lbk_from_dlpack_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_from_dlpack_versioned(...) lbk_from_dlpack_versioned_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_neg(...)        lbk_neg_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_abs(...)        lbk_abs_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_exp(...)        lbk_exp_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_log(...)        lbk_log_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_sqrt(...)       lbk_sqrt_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_rsqrt(...)      lbk_rsqrt_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_sin(...)        lbk_sin_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_cos(...)        lbk_cos_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_tanh(...)       lbk_tanh_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_sigmoid(...)    lbk_sigmoid_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_relu(...)       lbk_relu_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_erf(...)        lbk_erf_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_floor(...)      lbk_floor_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_ceil(...)       lbk_ceil_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_reciprocal(...) lbk_reciprocal_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_logical_not(...) lbk_logical_not_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_add(...)        lbk_add_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_sub(...)        lbk_sub_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_mul(...)        lbk_mul_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_div(...)        lbk_div_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_pow(...)        lbk_pow_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_maximum(...)    lbk_maximum_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_minimum(...)    lbk_minimum_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_eq(...)         lbk_eq_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_ne(...)         lbk_ne_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_lt(...)         lbk_lt_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_le(...)         lbk_le_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_gt(...)         lbk_gt_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_ge(...)         lbk_ge_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_logical_and(...) lbk_logical_and_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_logical_or(...) lbk_logical_or_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_where(...)      lbk_where_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_cast(...)       lbk_cast_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_sum(...)        lbk_sum_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_mean(...)       lbk_mean_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_amax(...)       lbk_amax_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_amin(...)       lbk_amin_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_argmax(...)     lbk_argmax_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_matmul(...)     lbk_matmul_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_reshape(...)    lbk_reshape_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_permute(...)    lbk_permute_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_transpose(...)  lbk_transpose_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_expand(...)     lbk_expand_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_slice(...)      lbk_slice_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_concat(...)     lbk_concat_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_index_select(...) lbk_index_select_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_embedding(...)  lbk_embedding_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_gather(...)     lbk_gather_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_scatter_add(...) lbk_scatter_add_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_index_add(...)  lbk_index_add_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_slice_dyn(...)  lbk_slice_dyn_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_slice_update(...) lbk_slice_update_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_squeeze(...)    lbk_squeeze_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_unsqueeze(...)  lbk_unsqueeze_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_flatten(...)    lbk_flatten_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_stack(...)      lbk_stack_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_split(...)      lbk_split_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_flip(...)       lbk_flip_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_repeat(...)     lbk_repeat_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_clamp(...)      lbk_clamp_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_tril(...)       lbk_tril_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_triu(...)       lbk_triu_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_softmax(...)    lbk_softmax_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_log_softmax(...) lbk_log_softmax_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_logsumexp(...)  lbk_logsumexp_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_gelu(...)       lbk_gelu_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_silu(...)       lbk_silu_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_softplus(...)   lbk_softplus_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_leaky_relu(...) lbk_leaky_relu_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_hardswish(...)  lbk_hardswish_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_elu(...)        lbk_elu_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_var(...)        lbk_var_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_layer_norm(...) lbk_layer_norm_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_rms_norm(...)   lbk_rms_norm_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_linear(...)     lbk_linear_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_scaled_dot_product_attention(...) lbk_scaled_dot_product_attention_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_conv1d(...)     lbk_conv1d_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_conv2d(...)     lbk_conv2d_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_conv_transpose2d(...) lbk_conv_transpose2d_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_max_pool2d(...) lbk_max_pool2d_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_avg_pool2d(...) lbk_avg_pool2d_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_interpolate_nearest2d(...) lbk_interpolate_nearest2d_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_cumsum(...)     lbk_cumsum_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_argsort(...)    lbk_argsort_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_sort(...)       lbk_sort_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_topk(...)       lbk_topk_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_multinomial(...) lbk_multinomial_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_one_hot(...)    lbk_one_hot_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_pad(...)        lbk_pad_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_batch_norm(...) lbk_batch_norm_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_group_norm(...) lbk_group_norm_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_rope(...)       lbk_rope_at(__FILE__, __LINE__, __VA_ARGS__)
#define lbk_cross_entropy(...) lbk_cross_entropy_at(__FILE__, __LINE__, __VA_ARGS__)
#endif

/* ---- debugging and metrics ------------------------------------------------------- */
/* Text of the graph reachable from ts (n == 0: every live tensor), one node a line:
   "%3 = f32[2,3] add(%1, %2)  # app.c:12". Valid until the next text call on ctx. */
LAZYBK_API const char *lbk_ir_text(lbk_ctx *ctx, const lbk_tensor *ts, int n);
LAZYBK_API const char *lbk_ir_dot(lbk_ctx *ctx, const lbk_tensor *ts, int n);       /* Graphviz DOT */
/* The backend's computation_text for the pending graph of ts (compiled, or taken from the
   cache); "" when nothing is pending. */
LAZYBK_API const char *lbk_backend_text(lbk_ctx *ctx, const lbk_tensor *ts, int n);
LAZYBK_API const char *lbk_metrics_report(lbk_ctx *ctx);   /* "name: value" lines, then the backend's report */
LAZYBK_API int64_t     lbk_counter(lbk_ctx *ctx, const char *name); /* 0 for unknown or NULL names */
/* op: the node's op; call: the public call that traced it when that is not op's own name
   (lbk_full traces an expand, lbk_transpose a permute; "full", "transpose"), else NULL. */
typedef struct lbk_debug_info { const char *op; const char *file; int line; const char *module_path; const char *call; } lbk_debug_info;
/* Process-wide, thread-safe. LBK_ERR_NOT_FOUND for an unknown handle (-1 is never valid). */
LAZYBK_API lbk_result  lbk_debug_lookup(int64_t debug_handle, lbk_debug_info *out);

/* ---- the IR, read-only, for backend authors -------------------------------------- */

typedef struct lbk_graph lbk_graph;   /* nodes in topological order; valid during the call it is passed to */
typedef struct lbk_node {
    lbk_op op; lbk_dtype dtype; int n_dims; const int64_t *dims;
    int n_inputs; const uint32_t *inputs;   /* indices of earlier nodes in the same graph */
    const void *attrs;                      /* op-specific; read through the accessors below */
    int64_t debug_handle;
} lbk_node;
/* A copy of a graph view that outlives the call it was passed to (an interpreting
   backend keeps it as its computation); NULL on OOM. Free it with lbk_graph_free. */
LAZYBK_API lbk_graph *lbk_graph_copy(const lbk_graph *g);
/* The graph a sync of ts (n > 0) would hand a backend, before placement and decomposition:
   every pending node they depend on, computed tensors as parameters, ts as the outputs in
   order. A copy the caller frees with lbk_graph_free; NULL with the context's error set for
   a bad handle (or on OOM). For tests and tools that ask a backend about a node
   (supports_op) as the executor would. */
LAZYBK_API lbk_graph *lbk_graph_of(lbk_ctx *ctx, const lbk_tensor *ts, int n);
LAZYBK_API void       lbk_graph_free(lbk_graph *g);
LAZYBK_API uint32_t lbk_graph_size(const lbk_graph *g);
LAZYBK_API lbk_node lbk_graph_node(const lbk_graph *g, uint32_t i);  /* op LBK_OP_INVALID out of range */
LAZYBK_API uint32_t lbk_graph_n_params(const lbk_graph *g);
LAZYBK_API uint32_t lbk_graph_param(const lbk_graph *g, uint32_t k);          /* node index of parameter k */
LAZYBK_API bool     lbk_graph_param_is_scalar(const lbk_graph *g, uint32_t k); /* made by lbk_scalar/lbk_full */
/* Whether parameter k's data dies with this sync (donated): nothing but one output node of
   the graph reads it and no tensor handle holds it. execute_computation may then write
   into args[k] and return it as that output's handle (lazybk owns it through the output
   from then on; the parameter lets it go). A backend that writes into donated data must
   leave it such that running the computation again on it gives the same result (it may,
   say, overwrite the part that the output redefines, as slice_update does): a failed sync
   can be run again. Part of the graph's shape (a donated parameter compiles apart). Never
   set for data lazybk does not own (wrapped host memory, DLPack, mapped module files), for
   backends with data_of_node, or in graphs split between a backend and the fallback. */
LAZYBK_API bool     lbk_graph_param_donated(const lbk_graph *g, uint32_t k);
LAZYBK_API int      lbk_graph_param_index(const lbk_graph *g, uint32_t node);  /* k, or -1 if not a parameter */
LAZYBK_API uint32_t lbk_graph_n_outputs(const lbk_graph *g);
LAZYBK_API uint32_t lbk_graph_output(const lbk_graph *g, uint32_t k);          /* node index of output k */
LAZYBK_API int64_t  lbk_node_numel(const lbk_graph *g, uint32_t i);
/* Attribute accessors; each returns 0/false for a node of another op. */
LAZYBK_API int      lbk_node_axes(const lbk_graph *g, uint32_t i, int *out_axes); /* sum/mean/amax/amin: sorted
                        reduced axes (>= 0) of the input; out_axes holds LAZYBK_MAX_DIMS; returns the count */
LAZYBK_API bool     lbk_node_keepdim(const lbk_graph *g, uint32_t i);   /* reductions, argmax */
LAZYBK_API int      lbk_node_axis(const lbk_graph *g, uint32_t i);      /* argmax, concat, slice: axis >= 0 */
LAZYBK_API bool     lbk_node_perm(const lbk_graph *g, uint32_t i, int *out_perm); /* permute: ndim entries */
LAZYBK_API bool     lbk_node_slice(const lbk_graph *g, uint32_t i, int *out_axis, int64_t *out_start,
                                   int64_t *out_step); /* normalised: 0 <= start, step > 0; the length is dims[axis] */
LAZYBK_API bool     lbk_node_arange(const lbk_graph *g, uint32_t i, double *out_start, double *out_step);
/* Composite ops. softmax, log_softmax, logsumexp: lbk_node_axis; logsumexp, var: lbk_node_keepdim;
   var: lbk_node_axes and lbk_node_correction; gelu: lbk_node_gelu_tanh; layer_norm, rms_norm:
   lbk_node_norm (inputs: x, then weight if present, then bias if present); linear: inputs
   x, w and, if lbk_node_norm says so, b. */
LAZYBK_API int      lbk_node_correction(const lbk_graph *g, uint32_t i);
LAZYBK_API bool     lbk_node_gelu_tanh(const lbk_graph *g, uint32_t i);
LAZYBK_API bool     lbk_node_norm(const lbk_graph *g, uint32_t i, int *out_n_norm_dims, double *out_eps,
                                  bool *out_has_weight, bool *out_has_bias);
/* conv2d, conv_transpose2d, max_pool2d, avg_pool2d: stride, padding and ext ([h, w] each;
   ext is the dilation, the output padding or the pool's kernel) and groups (1 for pools);
   argsort: lbk_node_axis and lbk_node_descending; cumsum: lbk_node_axis. */
LAZYBK_API bool     lbk_node_window(const lbk_graph *g, uint32_t i, int64_t *out_stride, int64_t *out_padding, int64_t *out_ext,
                                    int64_t *out_groups);
LAZYBK_API bool     lbk_node_descending(const lbk_graph *g, uint32_t i);
/* scaled_dot_product_attention: is_causal, scale (0: 1/sqrt(E)), whether input 3 is a mask. */
LAZYBK_API bool     lbk_node_sdpa(const lbk_graph *g, uint32_t i, bool *out_is_causal, double *out_scale, bool *out_has_mask);

/* ---- values (IValue) ------------------------------------------------------------- */
/* A dynamic value: none, bool, int, double, string, tensor, list, dict (string keys,
   insertion order kept), bytes (raw data: a module's constants). Containers own their items. A tensor value holds a handle, not
   the tensor: the tensor belongs to its context. Accessors given the wrong kind (or NULL)
   return false/0/0.0/NULL/{0} and set lbk_last_error; they never crash. Not thread-safe
   per value; different values may be used from different threads. */
typedef struct lbk_value lbk_value;
typedef enum lbk_value_kind { LBK_VALUE_NONE, LBK_VALUE_BOOL, LBK_VALUE_INT, LBK_VALUE_DOUBLE,
                              LBK_VALUE_STR, LBK_VALUE_TENSOR, LBK_VALUE_LIST, LBK_VALUE_DICT,
                              LBK_VALUE_BYTES } lbk_value_kind;
/* Constructors return NULL on OOM. */
LAZYBK_API lbk_value     *lbk_value_none(void);
LAZYBK_API lbk_value     *lbk_value_bool(bool v);
LAZYBK_API lbk_value     *lbk_value_int(int64_t v);
LAZYBK_API lbk_value     *lbk_value_double(double v);
LAZYBK_API lbk_value     *lbk_value_str(const char *s);     /* copies; NULL s gives NULL */
LAZYBK_API lbk_value     *lbk_value_tensor(lbk_tensor t);
LAZYBK_API lbk_value     *lbk_value_list(void);
LAZYBK_API lbk_value     *lbk_value_dict(void);
/* A copy of n bytes (data may be NULL when n is 0). Bytes read from a module file may
   instead share the file's mapped memory; either way they stay valid while the value does. */
LAZYBK_API lbk_value     *lbk_value_bytes(const void *data, size_t n);
LAZYBK_API const void    *lbk_value_as_bytes(const lbk_value *v, size_t *out_n);  /* borrowed; NULL (and *out_n 0) if not bytes */
LAZYBK_API lbk_value_kind lbk_value_kind_of(const lbk_value *v);   /* LBK_VALUE_NONE for NULL */
LAZYBK_API const char    *lbk_value_kind_name(lbk_value_kind k);
LAZYBK_API bool           lbk_value_as_bool(const lbk_value *v);
LAZYBK_API int64_t        lbk_value_as_int(const lbk_value *v);     /* bool widens */
LAZYBK_API double         lbk_value_as_double(const lbk_value *v);  /* int and bool widen */
LAZYBK_API const char    *lbk_value_as_str(const lbk_value *v);     /* borrowed */
LAZYBK_API lbk_tensor     lbk_value_as_tensor(const lbk_value *v);
LAZYBK_API lbk_result     lbk_list_push(lbk_value *list, lbk_value *item);   /* takes ownership, even on failure */
LAZYBK_API lbk_value     *lbk_list_pop(lbk_value *list);                     /* the last item, now the caller's; NULL if empty */
LAZYBK_API int64_t        lbk_list_len(const lbk_value *list);               /* -1 if not a list */
LAZYBK_API lbk_value     *lbk_list_get(const lbk_value *list, int64_t i);    /* borrowed; NULL out of range */
LAZYBK_API lbk_result     lbk_dict_set(lbk_value *dict, const char *key, lbk_value *item); /* takes ownership, copies
                                                                   key; replacing keeps the key's position */
LAZYBK_API lbk_value     *lbk_dict_get(const lbk_value *dict, const char *key); /* borrowed; NULL if absent */
LAZYBK_API bool           lbk_dict_has(const lbk_value *dict, const char *key);
LAZYBK_API int64_t        lbk_dict_len(const lbk_value *dict);                  /* -1 if not a dict */
LAZYBK_API const char    *lbk_dict_key(const lbk_value *dict, int64_t i);      /* i-th key in insertion order */
LAZYBK_API lbk_value     *lbk_value_copy(const lbk_value *v);   /* deep; NULL on OOM */
LAZYBK_API void           lbk_value_free(lbk_value *v);         /* frees the items too; NULL is a no-op */

/* ---- modules: ahead-of-time delegation (to_backend) -------------------------------- */
/* A module has a type name, named children and named methods. A method is recorded by
   tracing: lbk_method_begin gives placeholder inputs of the given dtypes and shapes, ops
   build the body, lbk_method_end names the outputs. Values that do not depend on the
   inputs (weights) are computed once, at lbk_method_end, and held by the module. Inside a
   method, lbk_module_call on a child records the call. lbk_module_run replays a method
   onto the module's context (lazily, like any op). Errors are recorded on that context.
   Destroy modules before their context. */
typedef struct lbk_module lbk_module;
LAZYBK_API lbk_module *lbk_module_create(lbk_ctx *ctx, const char *type_name);
LAZYBK_API void        lbk_module_destroy(lbk_module *m);              /* its children too; NULL is a no-op */
/* The parent takes ownership on success (on failure the caller keeps it). */
LAZYBK_API lbk_result  lbk_module_add_child(lbk_module *parent, const char *attr, lbk_module *child);
/* Puts child in place of parent's child attr, which is destroyed (selective lowering). */
LAZYBK_API lbk_result  lbk_module_replace_child(lbk_module *parent, const char *attr, lbk_module *child);
LAZYBK_API lbk_result  lbk_method_begin(lbk_module *m, const char *method, int n_inputs, const lbk_dtype *dtypes,
                                        const int *n_dims, const int64_t *const *dims, lbk_tensor *out_inputs);
LAZYBK_API lbk_result  lbk_method_end(lbk_module *m, const lbk_tensor *outputs, int n_outputs);
LAZYBK_API lbk_result  lbk_module_call(lbk_module *child, const char *method, const lbk_tensor *in, int n_in,
                                       lbk_tensor *out, int n_out);   /* while tracing its parent's method, or eagerly */
LAZYBK_API lbk_result  lbk_module_run(lbk_module *m, const char *method, const lbk_tensor *in, int n_in,
                                      lbk_tensor *out, int n_out);
/* A lowered copy of m (m is untouched) whose methods in method_compile_spec (a dict of
   method name -> dict of options) run on backend: preprocess, then the backend's compile,
   ahead of time. An unavailable backend gives a lowered module (and a warning through the
   logger) whose methods fail with LBK_ERR_UNAVAILABLE. NULL on failure. */
LAZYBK_API lbk_module *lbk_to_backend(lbk_module *m, const char *backend, const lbk_value *method_compile_spec);
/* Writes a versioned binary file (format 2): backend, method compile spec, method
   signatures, the preprocessed blob, the module tree, then the blob's bytes values
   (constants) raw and 64-byte aligned. A plain module is saved lowered to its context's
   backend (every method). */
LAZYBK_API lbk_result  lbk_module_save(const lbk_module *m, const char *path);
/* Reads it (formats 1 and 2) and compiles again for the saved backend. The file is mapped
   where the platform can: the cpu backend computes on the constants in place, so loading
   costs about the file's size in memory. A truncated, corrupted or wrong-version file
   gives LBK_ERR_FORMAT; an unavailable backend LBK_ERR_UNAVAILABLE. */
LAZYBK_API lbk_module *lbk_module_load(lbk_ctx *ctx, const char *path);
/* The same from the bytes of such a file held in memory ("memory" in messages). */
LAZYBK_API lbk_module *lbk_module_load_memory(lbk_ctx *ctx, const void *data, size_t size);
LAZYBK_API const char *lbk_module_type(const lbk_module *m);
LAZYBK_API const char *lbk_module_backend(const lbk_module *m);         /* NULL unless lowered */
LAZYBK_API int         lbk_module_n_children(const lbk_module *m);
LAZYBK_API lbk_module *lbk_module_child(const lbk_module *m, const char *attr); /* borrowed; NULL if none */
LAZYBK_API bool        lbk_module_has_method(const lbk_module *m, const char *method);

/* Preprocess: run by lbk_to_backend ahead of time, keyed by backend name (the backend
   need not be registered yet). A second registration for a name is LBK_ERR_EXISTS. */
typedef lbk_result (*lbk_preprocess_fn)(const lbk_module *m, const lbk_value *method_compile_spec, lbk_value **out_processed);
LAZYBK_API lbk_result        lbk_preprocess_register(const char *backend, lbk_preprocess_fn fn);
LAZYBK_API bool              lbk_preprocess_has(const char *backend);
LAZYBK_API lbk_preprocess_fn lbk_preprocess_get(const char *backend);   /* NULL if none */
/* The default: a dict of method -> its IR serialised into values (calls of children
   inlined, ops and dtypes by name, attributes by field name, constants as bytes values;
   the layout is described in the implementation's module section). A registered
   preprocess may start from it. */
LAZYBK_API lbk_result        lbk_preprocess_default(const lbk_module *m, const lbk_value *method_compile_spec,
                                                    lbk_value **out_processed);

/* ---- files: NumPy .npy ----------------------------------------------------------- */
/* Reads a .npy file (format 1.0-3.0; little-endian <f4 <f8 <i4 <i8 |b1 <f2 |i1 |u1, C order) into a new
   tensor: an op ({0} and the error on ctx on failure: LBK_ERR_FORMAT for a malformed file,
   LBK_ERR_UNSUPPORTED for Fortran order or big-endian data, LBK_ERR_DTYPE for other dtypes). */
LAZYBK_API lbk_tensor (lbk_load_npy)(lbk_ctx *ctx, const char *path);
LAZYBK_API lbk_tensor lbk_load_npy_at(const char *file, int line, lbk_ctx *ctx, const char *path);
/* Syncs t and writes it as a .npy file (format 1.0). */
LAZYBK_API lbk_result lbk_save_npy(lbk_ctx *ctx, lbk_tensor t, const char *path);

/* ---- files: safetensors and GGUF weights ------------------------------------------ */
/* lbk_weights_open maps a safetensors file (an 8-byte little-endian header length, a JSON
   header, the data) or a GGUF file (version 2 or 3, little-endian), told apart by the
   magic "GGUF", and checks all of it before it returns: the JSON strictly (RFC 8259, UTF-8,
   at most 64 levels deep), every name (once each), dtype, shape and byte range against the
   file (safetensors: the ranges tile the data exactly, as the reference reader requires;
   GGUF: aligned, inside the data, not overlapping). Nothing is copied: lbk_weights_get
   makes a tensor of the file's dtype and shape over the mapped bytes on a backend with
   data_wrap_host (cpu) when they are aligned to the element size, else a copy. GGUF dims
   are listed fastest first; lazybk's shape is the reverse (a GGUF [768, 50257] embedding
   is a lazybk [50257, 768]).
   Failure: NULL, the error on ctx (lbk_ctx_error says why): LBK_ERR_IO (cannot open or
   map), LBK_ERR_FORMAT naming what is wrong and where (a truncated or hostile file),
   LBK_ERR_UNSUPPORTED (GGUF v1 or big-endian; a big-endian host), LBK_ERR_OOM. A tensor of
   a type lazybk has no dtype for (safetensors U16, F8_*, ...; GGUF quantized blocks, until
   the quantized dtypes come) is listed, and lbk_weights_get refuses it with
   LBK_ERR_UNSUPPORTED naming the type.
   lbk_weights_open_memory copies the bytes first (the caller's buffer is not kept).
   w belongs to ctx: its calls run as calls on ctx (thread rules as ctx's). Close it before
   destroying ctx; tensors made from it stay valid after lbk_weights_close (they hold the
   mapping). */
typedef struct lbk_weights lbk_weights;
LAZYBK_API lbk_weights *lbk_weights_open(lbk_ctx *ctx, const char *path);
LAZYBK_API lbk_weights *lbk_weights_open_memory(lbk_ctx *ctx, const void *data, size_t size);
LAZYBK_API int          lbk_weights_count(const lbk_weights *w);          /* -1 for NULL */
/* The i-th name in file order (safetensors: by data offset; GGUF: as listed); NULL out of
   range. Valid until lbk_weights_close. */
LAZYBK_API const char  *lbk_weights_name(const lbk_weights *w, int i);
/* Tensor i without making it: dtype (LBK_DTYPE_INVALID for a type lazybk does not read),
   dims (out_dims holds LAZYBK_MAX_DIMS), the file's type name ("F32", "BF16", "Q4_K").
   Any out may be NULL. LBK_ERR_ARG for a NULL w or i out of range. */
LAZYBK_API lbk_result   lbk_weights_info(const lbk_weights *w, int i, lbk_dtype *out_dtype, int *out_n_dims, int64_t *out_dims,
                                         const char **out_type);
/* A tensor: {0} and LBK_ERR_NOT_FOUND on w's context if name is absent. */
LAZYBK_API lbk_tensor   (lbk_weights_get)(lbk_weights *w, const char *name);
LAZYBK_API lbk_tensor   lbk_weights_get_at(const char *file, int line, lbk_weights *w, const char *name);
/* safetensors: a key of __metadata__; GGUF: a key's value as text (strings as they are,
   numbers in decimal, bools true/false; an array gives NULL). NULL if absent. */
LAZYBK_API const char  *lbk_weights_meta(const lbk_weights *w, const char *key);
LAZYBK_API void         lbk_weights_close(lbk_weights *w);                /* NULL is fine */
/* Syncs ts (one sync) and writes them as a safetensors file laid out as the reference
   writer lays it out (tensors by dtype, widest first, then by name; compact JSON padded
   with spaces to 8 bytes), byte for byte the file safetensors' save_file writes for the
   same tensors without metadata. Names are UTF-8, distinct, not "__metadata__". Written
   to "<path>.lbk-tmp" and renamed over path, so a failure leaves path as it was. */
LAZYBK_API lbk_result   lbk_save_safetensors(lbk_ctx *ctx, const char *path, int n, const char *const *names, const lbk_tensor *ts);

/* ---- DLPack: include dlpack.h before lazybk.h (or define LAZYBK_DLPACK) ------------- */
#if defined(LAZYBK_DLPACK) && !defined(DLPACK_VERSION) && !defined(DLPACK_MAJOR_VERSION)
#  include <dlpack/dlpack.h>
#endif
#if defined(DLPACK_VERSION) || defined(DLPACK_MAJOR_VERSION)   /* 0.x headers, or 1.x */
#  define LBK__HAVE_DLPACK 1
#  if defined(DLPACK_MAJOR_VERSION) || DLPACK_VERSION >= 80
#    define LBK__DLPACK_BOOL 1   /* kDLBool exists */
#  endif
#endif
#ifdef LBK__HAVE_DLPACK
/* A tensor over the producer's memory: zero-copy on a backend with data_wrap_host (the
   cpu backend) when it is compact and aligned, else copied (any strides, byte_offset).
   lazybk calls mt->deleter exactly once, when it is done with the memory (right after the
   copy, or when the last use of the tensor is gone, or at lbk_ctx_destroy). Host memory
   only (kDLCPU); every lazybk dtype (kDLFloat 16/32/64, kDLBfloat 16, kDLInt 8/32/64,
   kDLUInt 8, kDLBool with DLPack >= 0.8). An argument error (device,
   dtype, shape) leaves mt with the caller, deleter not called. Do not write the memory
   while lazybk may read it. */
LAZYBK_API lbk_tensor (lbk_from_dlpack)(lbk_ctx *ctx, DLManagedTensor *mt);
LAZYBK_API lbk_tensor lbk_from_dlpack_at(const char *file, int line, lbk_ctx *ctx, DLManagedTensor *mt);
/* Syncs t and exports it (C order, kDLCPU): zero-copy on the cpu backend (lazybk's
   reference is held until the deleter runs, even past lbk_ctx_destroy), a host copy
   otherwise. Call the deleter once, on the context's thread or after destroying it. Bool
   is kDLBool with DLPack >= 0.8, kDLUInt 8 before. */
LAZYBK_API lbk_result lbk_to_dlpack(lbk_ctx *ctx, lbk_tensor t, DLManagedTensor **out);
#if defined(DLPACK_MAJOR_VERSION) && DLPACK_MAJOR_VERSION >= 1
/* The same for DLPack 1.x's DLManagedTensorVersioned (major version 1; read-only tensors
   are fine: lazybk never writes its inputs). */
LAZYBK_API lbk_tensor (lbk_from_dlpack_versioned)(lbk_ctx *ctx, DLManagedTensorVersioned *mt);
LAZYBK_API lbk_tensor lbk_from_dlpack_versioned_at(const char *file, int line, lbk_ctx *ctx, DLManagedTensorVersioned *mt);
#endif
#endif

#ifdef LAZYBK_CUDA
/* ---- the CUDA backend ("cuda"), compiled in with LAZYBK_CUDA ------------------------ */
/* The CUDA C source lazybk generates for a graph (the caller frees it with free() /
   LAZYBK_FREE), and NVRTC's compile of a source to PTX for an architecture such as
   "compute_80" (the log of a failed compile in *out_log). Neither needs a GPU. */
LAZYBK_API lbk_result lbk_cuda_source(const lbk_graph *g, char **out_src);
LAZYBK_API lbk_result lbk_cuda_ptx(const char *src, const char *arch, char **out_ptx, char **out_log);
#endif

/* ---- decompositions (JitDecompInterface) ----------------------------------------- */
/* An implementation that rewrites composite ops into primitive ops. `run` pops the
   schema's arguments from the stack (a list value; arguments were pushed in order:
   Tensor as a tensor value, Tensor? as a tensor or none, int[] as a list of ints, float
   as a double, str as a string), builds the replacement with ops on ctx, and pushes the
   result (one tensor). The built-in implementation is installed by default; it is a
   registry keyed by schema string in which user registrations override built-ins. */
typedef struct lbk_decomp_i {
    uint32_t struct_size;   /* sizeof(lbk_decomp_i) */
    bool       (*has)(void *self, const char *schema);
    lbk_result (*run)(void *self, lbk_ctx *ctx, const char *schema, lbk_value *stack);
} lbk_decomp_i;
/* The process-wide implementation; last set wins; NULL unsets (then a composite op that the
   backend cannot run fails with LBK_ERR_UNSUPPORTED, "no decomposition for '<schema>'").
   Set it before contexts compile graphs; self must outlive its use. */
LAZYBK_API void                lbk_decomp_set_impl(const lbk_decomp_i *impl, void *self);
LAZYBK_API const lbk_decomp_i *lbk_decomp_get_impl(void **out_self);
LAZYBK_API const lbk_decomp_i *lbk_decomp_builtin(void);   /* the default implementation (self NULL) */
typedef lbk_result (*lbk_decomp_fn)(lbk_ctx *ctx, lbk_value *stack);
/* Registers fn for schema in the built-in implementation, replacing a built-in or an
   earlier registration; fn NULL removes a user registration (the built-in returns).
   Thread-safe. */
LAZYBK_API lbk_result          lbk_decomp_register(const char *schema, lbk_decomp_fn fn);
/* The schema of a composite op ("softmax(Tensor self, int dim) -> Tensor"...); NULL for others. */
LAZYBK_API const char         *lbk_op_schema(lbk_op op);
/* LBK_DECOMP_REGISTERER(impl_ptr, self): sets the implementation before main where the
   compiler allows (gcc, clang, MSVC, C++); elsewhere call lbk_decomp_set_impl. */
#define LBK__CAT2(a, b) a##b
#define LBK__CAT(a, b) LBK__CAT2(a, b)
#if defined(__cplusplus)
#  define LBK_DECOMP_REGISTERER(impl_ptr, self) \
     static const bool LBK__CAT(lbk__decomp_reg_, __LINE__) = (lbk_decomp_set_impl((impl_ptr), (self)), true);
#elif defined(__GNUC__) || defined(__clang__)
#  define LBK_DECOMP_REGISTERER(impl_ptr, self) \
     __attribute__((constructor)) static void LBK__CAT(lbk__decomp_reg_, __LINE__)(void) { lbk_decomp_set_impl((impl_ptr), (self)); }
#elif defined(_MSC_VER)
#  define LBK_DECOMP_REGISTERER(impl_ptr, self) \
     static void LBK__CAT(lbk__decomp_reg_, __LINE__)(void) { lbk_decomp_set_impl((impl_ptr), (self)); } \
     __declspec(allocate(".CRT$XCU")) void (*LBK__CAT(lbk__decomp_reg_ptr_, __LINE__))(void) = LBK__CAT(lbk__decomp_reg_, __LINE__);
#else
#  define LBK_DECOMP_REGISTERER(impl_ptr, self) /* no constructors: call lbk_decomp_set_impl */
#endif

/* ---- backends and the registry --------------------------------------------------- */
typedef struct lbk_data lbk_data;               /* a backend's data handle; each backend defines its own */
typedef struct lbk_computation lbk_computation; /* a backend's compiled graph */
#define LBK_BACKEND_ABI 1

/* ---- writing a backend: the life of one, in the order lazybk calls it ----------------
   register   lbk_backend_register(&iface, self) copies the vtable and the name; self is
              yours and must outlive the registration. init (if set) runs now; an error
              refuses the registration. Built-ins register on first use of the registry.
   available  is_available is asked when a context opens on the backend (and by
              lbk_backend_available); false makes lbk_ctx_create fail with
              unavailable_reason in the message. Cache the answer: it is asked often.
   device     the context's device is {default_device_type, default_device_ordinal}, or the
              desc's ordinal, passed through map_device (which may refuse it: LBK_ERR_ARG)
              and checked against devices. lbk_backend_devices / _set_default_device /
              _memory_info / _compilation_devices reach these members from outside.
   data       data_from_host (and data_from_scalar, data_placeholder, data_wrap_host) make
              lbk_data handles; they are yours to define and lazybk never looks inside. lazybk
              owns each handle from the moment you return it and gives it back exactly once,
              through data_free. data_to_host copies one out for lbk_read.
   compile    at a sync, compile receives read-only graph views (lbk_graph_*, lbk_node_*),
              valid only during the call (lbk_graph_copy keeps one), after supports_op
              declined what you cannot run (declined composites are decomposed, other
              declined nodes run on the cpu fallback). The lbk_computation you return is
              cached by lazybk per graph shape and is yours to free in computation_free,
              called when the cache evicts it or the context goes.
   execute    execute_computation gets the parameters' data (borrowed) and returns one new
              handle per output (owned by lazybk from then on). lbk_exec_context() names the
              context it runs for; report failures with lbk_backend_error(r, debug_handle,
              ...) so that the error names the traced op and line.
   release    context_release(ctx) when a context on the backend is destroyed (after its
              data and computations were freed): drop per-context state (streams...).
   exit       prepare_to_exit once, at lbk_backend_unregister, lbk_shutdown or process exit.
   Threads: every call made for one context comes from the thread using that context;
   different contexts may call the same backend from different threads at once, so state in
   self shared by contexts needs your lock. The registry calls are thread-safe.
   NULL: every member marked optional may be NULL, and lazybk then does what its comment
   says (one wrapper per member in the implementation holds that default). A NULL required
   member refuses the registration. Error returns: an lbk_result, with the message set by
   lbk_backend_error; returning an error leaves nothing half-owned (what you returned
   nothing for, lazybk does not free). examples/02_custom_backend.c is the whole of one.

   The vtable. Grows only at the end: struct_size tells lazybk which members a backend
   built against an older header has. Members marked optional may be NULL. Grouped by
   concern: lifetime, data transfer, computations, devices, introspection, op support,
   module delegation, host memory, per-context state. */
typedef struct lbk_backend_i {
    uint32_t    struct_size;   /* sizeof(lbk_backend_i) as the backend was built */
    uint32_t    abi_version;   /* LBK_BACKEND_ABI */
    const char *name;          /* registry key, copied on registration */
    /* -- lifetime -- */
    /* optional. NULL: always available. */
    bool        (*is_available)(void *self);
    /* optional. Why is_available is false, for the error message. */
    const char *(*unavailable_reason)(void *self);
    /* optional. Run once, at lbk_backend_unregister, lbk_shutdown or process exit. */
    void        (*prepare_to_exit)(void *self);
    /* optional. Run once at registration (InitializeAtenBindings); an error refuses it. */
    lbk_result  (*init)(void *self);
    /* optional. lbk_set_seed. Random ops also carry their own seed as a parameter. */
    void        (*set_rng_seed)(void *self, lbk_device dev, uint64_t seed);

    /* -- data transfer -- */
    /* required. Copies src (C order, dims[] of n_dims, numel * dtype size bytes; src is
       NULL only when numel is 0) into new device data. */
    lbk_result  (*data_from_host)(void *self, lbk_device dev, lbk_dtype dt, int n_dims, const int64_t *dims,
                                  const void *src, lbk_data **out_data);
    /* optional. A 0-d tensor holding *value (one element of dt). NULL: data_from_host. */
    lbk_result  (*data_from_scalar)(void *self, lbk_device dev, lbk_dtype dt, const void *value, lbk_data **out_data);
    /* optional. Data of that shape whose contents are unspecified (lbk_empty). NULL:
       data_from_host of zeros. */
    lbk_result  (*data_placeholder)(void *self, lbk_device dev, lbk_dtype dt, int n_dims, const int64_t *dims,
                                    lbk_data **out_data);
    /* optional. The data a device-data parameter node stands for (GetComputationDataFromNode);
       node describes the parameter (op LBK_OP_PARAM, dtype, dims, debug handle), bound is the
       data lazybk holds for it. NULL: bound. */
    lbk_data   *(*data_of_node)(void *self, const lbk_node *node, lbk_data *bound);
    /* required. Copies the data to host memory in C order; dst_bytes is exactly its size. */
    lbk_result  (*data_to_host)(void *self, lbk_data *data, void *dst, size_t dst_bytes);
    /* required. Frees data (never NULL). */
    void        (*data_free)(void *self, lbk_data *data);

    /* -- computations -- */
    /* required. Lowers and compiles n graphs (the CreateLoweringContext step happens in
       here); out[i] receives graph i's computation. On failure nothing is kept. */
    lbk_result  (*compile)(void *self, lbk_device dev, const lbk_graph *const *graphs, int n, lbk_computation **out);
    /* required. */
    void        (*computation_free)(void *self, lbk_computation *c);
    /* required. args[k] is parameter k's data (borrowed). Writes one new data handle per
       graph output into out (capacity out_cap) and their number into *out_n; lazybk checks
       that the number is the graph's and frees extra ones. */
    lbk_result  (*execute_computation)(void *self, lbk_computation *c, lbk_data *const *args, int n_args,
                                       lbk_device dev, lbk_data **out, int out_cap, int *out_n);
    /* optional. Text of the compiled computation (kernel plan, generated source...). Owned by c. */
    const char *(*computation_text)(void *self, const lbk_computation *c);

    /* -- devices -- */
    /* optional. The devices a graph for dev compiles for; returns the count. NULL: just dev. */
    int         (*compilation_devices)(void *self, lbk_device dev, lbk_device *out, int cap);
    int         (*default_device_type)(void *self);            /* optional. NULL: LBK_DEVICE_USER */
    void        (*set_default_device_type)(void *self, int type);     /* optional */
    int         (*default_device_ordinal)(void *self);         /* optional. NULL: 0 */
    void        (*set_default_device_ordinal)(void *self, int ordinal); /* optional */
    int         (*fallback_device_type)(void *self);           /* optional. NULL: LBK_DEVICE_CPU */
    /* optional. Writes up to cap devices, returns how many there are. NULL: one, ordinal 0. */
    int         (*devices)(void *self, lbk_device *out, int cap);
    /* optional. The backend device for an ordinal; LBK_ERR_ARG if none. NULL: a listed ordinal. */
    lbk_result  (*map_device)(void *self, int ordinal, lbk_device *out);

    /* -- introspection -- */
    /* optional; owned by the backend. lazybk calls it under one process-wide lock and
       copies the text before unlocking, so one buffer per backend is safe. */
    const char *(*metric_report)(void *self);
    /* optional (GetMemoryInfo). */
    lbk_result  (*memory_info)(void *self, lbk_device dev, size_t *out_free, size_t *out_total);
    /* -- op support -- */
    /* optional. Whether this backend runs node i of g (any op, composites included). NULL:
       every op. A declined composite is decomposed (lbk_decomp_*); any other declined node
       runs on the eager-fallback backend (the cpu backend), with data moved through the host. */
    bool        (*supports_op)(void *self, const lbk_graph *g, uint32_t i);
    /* -- module delegation (PyTorchBackendInterface) -- */
    /* optional, with delegate_execute. Compiles the preprocessed module (processed: what
       the preprocess registered for this backend gave, or lbk_preprocess_default's dict of
       method -> serialised IR) for the methods named in the method compile spec; returns a
       dict with one handle (any value) per method. NULL: the default, which compiles each
       method's graph through the lazy members above and runs it there. */
    lbk_result  (*delegate_compile)(void *self, const lbk_value *processed, const lbk_value *method_compile_spec,
                                    lbk_value **out_handles);
    /* optional. Runs one method: inputs is a list of tensor values of ctx; returns a list of
       tensor values made in ctx (lazybk checks their number and dtypes). Report a failure
       at a node with lbk_backend_error(r, debug_handle, ...): the error then names the
       module hierarchy and the traced line. */
    lbk_result  (*delegate_execute)(void *self, lbk_ctx *ctx, const lbk_value *handle, const lbk_value *inputs,
                                    lbk_value **out_outputs);
    /* optional. Releases what the handles stand for, when the lowered module is destroyed
       (lazybk frees the handles value itself). */
    void        (*delegate_free)(void *self, lbk_value *handles);
    /* -- host memory (DLPack, mapped module files) -- */
    /* optional. New data over host memory the caller owns, without a copy: the backend
       calls release(release_arg) exactly once, when the data is freed. NULL (or an error):
       lazybk copies through data_from_host instead. */
    lbk_result  (*data_wrap_host)(void *self, lbk_device dev, lbk_dtype dt, int n_dims, const int64_t *dims, void *ptr,
                                  void (*release)(void *), void *release_arg, lbk_data **out_data);
    /* optional. The host address of data that lives in host memory (C order), or NULL. */
    void       *(*data_host_ptr)(void *self, lbk_data *data);
    /* optional. The fused kernel (group) node i of the compiled graph runs in, or -1:
       lbk_ir_dot draws groups as clusters. */
    int         (*computation_group)(void *self, const lbk_computation *c, uint32_t node);
    /* -- per-context state -- */
    /* optional. ctx, a context on this backend, is being destroyed (its data is freed
       already): release what the backend keeps for it (a stream...). Backends tell
       contexts apart with lbk_exec_context() during execute_computation. */
    void        (*context_release)(void *self, lbk_ctx *ctx);
    /* -- memory accounting -- */
    /* optional. Bytes of device memory c keeps while it is cached (scratch buffers kept
       between executions), counted against the context's max_memory_bytes. NULL: 0. */
    size_t      (*computation_memory)(void *self, const lbk_computation *c);
} lbk_backend_i;

/* Registry: thread-safe (one mutex). Names are copied. Lifetimes: the vtable pointer from
   lbk_backend_get and the string from lbk_backend_name stay readable until the process
   exits, even after the backend is unregistered by another thread (its entry is kept;
   registering the same name, vtable and self again reuses it). Calling a vtable member
   after unregister calls a backend that has run prepare_to_exit: that is the caller's. */
LAZYBK_API lbk_result           lbk_backend_register(const lbk_backend_i *iface, void *self); /* LBK_ERR_EXISTS on a taken name */
LAZYBK_API lbk_result           lbk_backend_unregister(const char *name); /* LBK_ERR_BUSY while a context uses it */
LAZYBK_API bool                 lbk_backend_has(const char *name);
LAZYBK_API const lbk_backend_i *lbk_backend_get(const char *name, void **out_self); /* NULL if absent */
LAZYBK_API int                  lbk_backend_count(void);
LAZYBK_API const char          *lbk_backend_name(int i);   /* NULL out of range; order of registration */
LAZYBK_API bool                 lbk_backend_available(const char *name);
LAZYBK_API const char          *lbk_backend_default(void); /* $LAZYBK_BACKEND, else "cpu" */
/* Backend devices (the vtable's device members; the backend is held during each call).
   The devices it has (0 if unavailable; -1 on a bad name or argument), written up to cap. */
LAZYBK_API int                  lbk_backend_devices(const char *backend, lbk_device *out, int cap);
/* The device contexts opened later use (type < 0: keep the type). LBK_ERR_ARG for an
   ordinal it lacks, LBK_ERR_UNSUPPORTED where the backend cannot change it. */
LAZYBK_API lbk_result           lbk_backend_set_default_device(const char *backend, int type, int ordinal);
/* Free and total bytes of a device; LBK_ERR_UNSUPPORTED if the backend does not say. */
LAZYBK_API lbk_result           lbk_backend_memory_info(const char *backend, lbk_device dev, size_t *out_free, size_t *out_total);
/* The devices a graph for dev compiles for (the count; at least dev itself). Not yet used
   by the executor: a context compiles for its one device. */
LAZYBK_API int                  lbk_backend_compilation_devices(const char *backend, lbk_device dev, lbk_device *out, int cap);
LAZYBK_API lbk_result           lbk_shutdown(void);        /* prepare_to_exit for every backend; also at exit */
/* Conformance: every op the backend claims (supports_op) is run on random inputs over
   several shapes (broadcasting, size-1 and zero-size dims) and dtypes, and compared with
   the cpu reference path: |got - ref| <= tol * (1 + |ref|) (nan matches nan). One report
   line per op with the worst error and ok/FAIL (report may be NULL). LBK_OK only if every
   claimed case passes; LBK_ERR_BACKEND otherwise (lbk_last_error names the first
   failure). Random ops are not checked. */
LAZYBK_API lbk_result           lbk_backend_check(const char *name, double tol, FILE *report);
/* For backends, during execute_computation: the thread count the context asked for
   (lbk_ctx_desc.n_threads or OMP_NUM_THREADS; 0: the backend's default). */
LAZYBK_API int                  lbk_exec_threads(void);
/* For backends, during execute_computation: the context it runs for (NULL outside), so a
   backend can keep per-context state (a stream, a queue); see context_release. */
LAZYBK_API lbk_ctx             *lbk_exec_context(void);
/* For backends: describe a failure (thread-local; the executor copies it into the context's
   error, with the node's op and source location when debug_handle >= 0). It is also this
   thread's lbk_last_result/lbk_last_error, which is how a backend's own public calls
   report (r LBK_OK with a NULL fmt clears both). Returns r. */
LAZYBK_API lbk_result           lbk_backend_error(lbk_result r, int64_t debug_handle, const char *fmt, ...);

/* LBK_BACKEND_REGISTER(ident, iface_ptr, self): registers before main where the compiler
   supports constructors (gcc, clang, MSVC, any C++); elsewhere call lbk_backend_register. */
#if defined(__cplusplus)
#  define LBK_BACKEND_REGISTER(ident, iface_ptr, self) \
     static const lbk_result lbk__reg_result_##ident = lbk_backend_register((iface_ptr), (self));
#elif defined(__GNUC__) || defined(__clang__)
#  define LBK_BACKEND_REGISTER(ident, iface_ptr, self) \
     __attribute__((constructor)) static void lbk__reg_##ident(void) { (void)lbk_backend_register((iface_ptr), (self)); }
#elif defined(_MSC_VER)
#  pragma section(".CRT$XCU", read)
#  define LBK_BACKEND_REGISTER(ident, iface_ptr, self) \
     static void lbk__reg_##ident(void) { (void)lbk_backend_register((iface_ptr), (self)); } \
     __declspec(allocate(".CRT$XCU")) void (*lbk__reg_ptr_##ident)(void) = lbk__reg_##ident;
#else
#  define LBK_BACKEND_REGISTER(ident, iface_ptr, self) /* no constructors: call lbk_backend_register */
#endif

#ifdef __cplusplus
}
#endif
#endif /* LAZYBK_H_INCLUDED */

/* ================================================================================== */
/*                                 IMPLEMENTATION                                     */
/* ================================================================================== */
#if defined(LAZYBK_IMPLEMENTATION) && !defined(LAZYBK_IMPL_INCLUDED)
#define LAZYBK_IMPL_INCLUDED

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#if defined(LAZYBK_MALLOC) && defined(LAZYBK_REALLOC) && defined(LAZYBK_FREE)
#elif !defined(LAZYBK_MALLOC) && !defined(LAZYBK_REALLOC) && !defined(LAZYBK_FREE)
#  define LAZYBK_MALLOC(sz)    malloc(sz)
#  define LAZYBK_REALLOC(p,sz) realloc(p, sz)
#  define LAZYBK_FREE(p)       free(p)
#else
#  error "lazybk: define all of LAZYBK_MALLOC, LAZYBK_REALLOC and LAZYBK_FREE, or none"
#endif
#ifndef LAZYBK_ASSERT
#  include <assert.h>
#  define LAZYBK_ASSERT(x) assert(x)
#endif

#ifdef _OPENMP
#  include <omp.h>
#endif
#if defined(_WIN32)
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
#else
#  include <pthread.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#  include <sys/mman.h>   /* module files are mapped */
#  include <sys/stat.h>
#  include <fcntl.h>
#  include <unistd.h>
#endif

#if defined(__cplusplus) && __cplusplus >= 201103L
#  define LBK__TLS thread_local
#elif defined(_MSC_VER)
#  define LBK__TLS __declspec(thread)
#elif defined(__GNUC__) || defined(__clang__)
#  define LBK__TLS __thread
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
#  define LBK__TLS _Thread_local
#else
#  define LBK__TLS /* no thread-local storage: lbk_last_error is shared */
#endif

/* stb_ds and allocation failure. stb_ds does not check realloc's result, so its
   allocations go through lbk__stbds_realloc, which never hands NULL back: on failure it
   longjmps to the guard (LBK__STBDS_GUARD) that every stb_ds call able to allocate runs
   under. At that point the container still holds its old, valid block (stb_ds allocates a
   new block or index before it lets go of the old one); the guard reports OOM and the
   caller unwinds. stb_ds itself is included outside any extern "C": it defines C++
   templates. */
#include <setjmp.h>
static LBK__TLS jmp_buf *lbk__stbds_jmp;
static void *lbk__stbds_realloc(void *p, size_t sz) {
    void *q = LAZYBK_REALLOC(p, sz);
    if (!q && lbk__stbds_jmp) longjmp(*lbk__stbds_jmp, 1);
    LAZYBK_ASSERT(q != NULL);   /* every allocating stb_ds call is guarded */
    return q;
}
static void  lbk__stbds_free(void *p) { LAZYBK_FREE(p); }
#ifndef LAZYBK_NO_STB_DS_IMPLEMENTATION
#  define STBDS_REALLOC(c, p, s) lbk__stbds_realloc(p, s)
#  define STBDS_FREE(c, p)       lbk__stbds_free(p)
#  ifdef LAZYBK_STATIC
     /* Two static copies of lazybk in one program each get a private stb_ds: these prior
        static declarations give stb_ds's own (extern) declarations internal linkage. */
     static void   stbds_rand_seed(size_t seed);
     static size_t stbds_hash_bytes(void *p, size_t len, size_t seed);
     static size_t stbds_hash_string(char *str, size_t seed);
     static void  *stbds_arrgrowf(void *a, size_t elemsize, size_t addlen, size_t min_cap);
     static void   stbds_arrfreef(void *a);
     static void   stbds_hmfree_func(void *p, size_t elemsize);
     static void  *stbds_hmget_key(void *a, size_t elemsize, void *key, size_t keysize, int mode);
     static void  *stbds_hmget_key_ts(void *a, size_t elemsize, void *key, size_t keysize, ptrdiff_t *temp, int mode);
     static void  *stbds_hmput_default(void *a, size_t elemsize);
     static void  *stbds_hmput_key(void *a, size_t elemsize, void *key, size_t keysize, int mode);
     static void  *stbds_hmdel_key(void *a, size_t elemsize, void *key, size_t keysize, size_t keyoffset, int mode);
     static void  *stbds_shmode_func(size_t elemsize, int mode);
     typedef struct stbds_string_arena stbds_string_arena;
     static char  *stbds_stralloc(stbds_string_arena *a, char *str);
     static void   stbds_strreset(stbds_string_arena *a);
#  endif
#  define STB_DS_IMPLEMENTATION
#endif
#if defined(__GNUC__) || defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#  pragma GCC diagnostic ignored "-Wunused-function"
#  pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include "stb_ds.h"
#if defined(__GNUC__) || defined(__clang__)
#  pragma GCC diagnostic pop
#endif
/* stb_ds takes keys' addresses through typeof and compound literals on gcc, which
   -std=c99 lacks; lazybk only ever passes lvalues, so the plain form serves every mode. */
#undef STBDS_ADDRESSOF
#define STBDS_ADDRESSOF(typevar, value) &(value)

#ifdef __cplusplus
extern "C" {
#endif

#define LBK__MIN(a, b) ((a) < (b) ? (a) : (b))
#define LBK__MAX(a, b) ((a) > (b) ? (a) : (b))
#define LBK__COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
/* A compile-time check (C11/C++11, else a typedef of an array of size -1). */
#if defined(__cplusplus) && __cplusplus >= 201103L
#  define LBK__STATIC_ASSERT(cond, what) static_assert(cond, #what)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#  define LBK__STATIC_ASSERT(cond, what) _Static_assert(cond, #what)
#else
#  define LBK__STATIC_ASSERT(cond, what) typedef char lbk__static_assert_##what[(cond) ? 1 : -1]
#endif
#if defined(__GNUC__) || defined(__clang__)
#  define LBK__PRINTF(f, a) __attribute__((format(printf, f, a)))
#  define LBK__UNUSED __attribute__((unused))
#else
#  define LBK__PRINTF(f, a)
#  define LBK__UNUSED
#endif

// >>memory -----------------------------------------------------------------------------
/* Host bookkeeping memory, mutexes, growable arrays, a string builder and a byte hash: the
   platform layer every section may use, built-in backends included (tools/check_sections.sh). */

static void *lbk__malloc(size_t sz) { return LAZYBK_MALLOC(sz ? sz : 1); }
static void *lbk__calloc(size_t n, size_t sz) {
    void *p;
    if (sz && n > SIZE_MAX / sz) return NULL;
    p = LAZYBK_MALLOC((n * sz) != 0 ? n * sz : 1);
    if (p) memset(p, 0, n * sz);
    return p;
}
static void lbk__free(void *p) { if (p) LAZYBK_FREE(p); }
/* realloc that leaves p alone (and returns NULL) on failure */
static void *lbk__realloc_or_null(void *p, size_t sz) { return LAZYBK_REALLOC(p, sz ? sz : 1); }
static char *lbk__strndup(const char *s, size_t n) {   /* n bytes of s and a NUL */
    char *d = (char *)lbk__malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = '\0'; }
    return d;
}
static char *lbk__strdup(const char *s) { return lbk__strndup(s, strlen(s)); }

/* Grows *p (elements of esz) to hold at least need; false on overflow or OOM (the old
   block is kept intact). */
static bool lbk__grow(void **p, size_t *cap, size_t need, size_t esz) {
    size_t ncap;
    void *np;
    if (need <= *cap) return true;
    ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) return false;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / esz) return false;
    np = LAZYBK_REALLOC(*p, ncap * esz);
    if (!np) return false;
    *p = np;
    *cap = ncap;
    return true;
}
#define LBK__GROW(arr, cap, need) lbk__grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

#if defined(_WIN32)
typedef SRWLOCK lbk__mutex;
#  define LBK__MUTEX_INIT SRWLOCK_INIT
static void lbk__lock(lbk__mutex *m) { AcquireSRWLockExclusive(m); }
static void lbk__unlock(lbk__mutex *m) { ReleaseSRWLockExclusive(m); }
#else
typedef pthread_mutex_t lbk__mutex;
#  define LBK__MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
static void lbk__lock(lbk__mutex *m) { pthread_mutex_lock(m); }
static void lbk__unlock(lbk__mutex *m) { pthread_mutex_unlock(m); }
#endif

/* A word owned by one thread at a time (a context's user): compare-and-swap to take it,
   a release store to give it back. Without atomics (a compiler lazybk does not know)
   the check is skipped: ownership is then the caller's promise alone. */
#if defined(_MSC_VER) && !defined(__clang__)
static bool lbk__owner_take(volatile uintptr_t *p, uintptr_t me) {
    return (uintptr_t)InterlockedCompareExchangePointer((void *volatile *)p, (void *)me, NULL) == 0;
}
static uintptr_t lbk__owner_get(volatile uintptr_t *p) { return (uintptr_t)InterlockedCompareExchangePointer((void *volatile *)p, NULL, NULL); }
static void lbk__owner_put(volatile uintptr_t *p) { InterlockedExchangePointer((void *volatile *)p, NULL); }
#elif defined(__GNUC__) || defined(__clang__)
static bool lbk__owner_take(volatile uintptr_t *p, uintptr_t me) {
    uintptr_t none = 0;
    return __atomic_compare_exchange_n(p, &none, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}
static uintptr_t lbk__owner_get(volatile uintptr_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static void lbk__owner_put(volatile uintptr_t *p) { __atomic_store_n(p, (uintptr_t)0, __ATOMIC_RELEASE); }
#else
static bool lbk__owner_take(volatile uintptr_t *p, uintptr_t me) { (void)p; (void)me; return true; }
static uintptr_t lbk__owner_get(volatile uintptr_t *p) { (void)p; return 0; }
static void lbk__owner_put(volatile uintptr_t *p) { (void)p; }
#endif

/* Runs stmt (an stb_ds call that may allocate); ok becomes false if an allocation failed,
   in which case the container is unchanged (a put) or already updated (a delete whose
   shrink failed). stmt must not leave anything half-done of lazybk's own. */
#define LBK__STBDS_GUARD(ok, stmt)                                             \
    do {                                                                       \
        jmp_buf lbk_jb_;                                                       \
        jmp_buf *volatile lbk_prev_ = lbk__stbds_jmp;                          \
        if (setjmp(lbk_jb_) == 0) {                                            \
            lbk__stbds_jmp = &lbk_jb_;                                         \
            stmt;                                                              \
            (ok) = true;                                                       \
        } else {                                                               \
            (ok) = false;                                                      \
        }                                                                      \
        lbk__stbds_jmp = lbk_prev_;                                            \
    } while (0)

/* stb_ds seeds each new hash table from one global it then updates. Only the put that
   creates a map's table reads that global, so only such puts take this lock.
   A put into a NULL map makes two allocations (array, then table); if the second failed
   the first would be lost, so a NULL map first gets its array alone (hmdefault). */
static lbk__mutex lbk__stbds_seed_lock = LBK__MUTEX_INIT;
#define LBK__HM_NO_TABLE(map) (!(map) || stbds_header((map) - 1)->hash_table == NULL)
#define LBK__PUT_WITH(ok, map, make_array, put)                                \
    do {                                                                       \
        if (LBK__HM_NO_TABLE(map)) {                                           \
            (ok) = true;                                                       \
            if (!(map)) LBK__STBDS_GUARD(ok, make_array);                      \
            lbk__lock(&lbk__stbds_seed_lock);                                  \
            if (ok) LBK__STBDS_GUARD(ok, put);                                 \
            lbk__unlock(&lbk__stbds_seed_lock);                                \
        } else {                                                               \
            LBK__STBDS_GUARD(ok, put);                                         \
        }                                                                      \
    } while (0)
#define LBK__HMPUT(ok, map, k, v) LBK__PUT_WITH(ok, map, hmdefault(map, 0), hmput(map, k, v))
#define LBK__SHPUT(ok, map, k, v) LBK__PUT_WITH(ok, map, shdefault(map, 0), shput(map, k, v))
/* The guarded calls live in small functions of their own that are never inlined, so no
   caller's locals share a frame with setjmp. */
#if defined(__GNUC__) || defined(__clang__)
#  define LBK__NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#  define LBK__NOINLINE __declspec(noinline)
#else
#  define LBK__NOINLINE
#endif
typedef struct lbk__u64_u32 { uint64_t key; uint32_t value; } lbk__u64_u32;   /* node hash -> node */
typedef struct lbk__u64_i64 { uint64_t key; int64_t value; } lbk__u64_i64;    /* hash -> index */
static LBK__NOINLINE bool lbk__put_i64(lbk__u64_i64 **map, uint64_t key, int64_t v) {
    volatile bool ok;
    LBK__HMPUT(ok, *map, key, v);
    return ok;
}
/* A delete whose shrink failed has still deleted the entry. */
static LBK__NOINLINE void lbk__del_u32(lbk__u64_u32 **map, uint64_t key) {
    bool ok;
    LBK__STBDS_GUARD(ok, (void)hmdel(*map, key));
    (void)ok;
}
typedef struct lbk__str_i64 { char *key; int64_t value; } lbk__str_i64;   /* string (not copied) -> index */
static LBK__NOINLINE bool lbk__put_str(lbk__str_i64 **map, char *key, int64_t v) {
    volatile bool ok;
    LBK__SHPUT(ok, *map, key, v);
    return ok;
}
/* Finds key's entry, inserting it (value LBK__NONE) if absent, with one hash probe:
   returns its index and whether it was inserted; -1 on OOM (map unchanged). */
static LBK__NOINLINE ptrdiff_t lbk__slot_u32(lbk__u64_u32 **map, uint64_t key, bool *out_inserted) {
    volatile bool ok = true;
    volatile ptrdiff_t len0 = hmlen(*map), idx = -1;
    volatile bool lock = LBK__HM_NO_TABLE(*map);
    if (!*map) LBK__STBDS_GUARD(ok, hmdefault(*map, 0));
    if (lock) lbk__lock(&lbk__stbds_seed_lock);
    if (ok) LBK__STBDS_GUARD(ok, (*map = (lbk__u64_u32 *)stbds_hmput_key(*map, sizeof **map, &key, sizeof key, 0),
                                  idx = stbds_temp(*map - 1)));
    if (lock) lbk__unlock(&lbk__stbds_seed_lock);
    if (!ok) return -1;
    *out_inserted = hmlen(*map) > len0;
    if (*out_inserted) { (*map)[idx].key = key; (*map)[idx].value = UINT32_MAX; }
    return idx;
}
static LBK__NOINLINE void lbk__del_i64(lbk__u64_i64 **map, uint64_t key) {
    bool ok;
    LBK__STBDS_GUARD(ok, (void)hmdel(*map, key));
    (void)ok;
}

/* Growable text buffer, for messages and the debugging texts. */
typedef struct lbk__str { char *p; size_t len, cap; bool oom; } lbk__str;
static void lbk__str_vappend(lbk__str *s, const char *fmt, va_list ap) {
    va_list ap2;
    int n;
    if (s->oom) return;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    if (!LBK__GROW(s->p, s->cap, s->len + (size_t)n + 1)) { s->oom = true; return; }
    vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
    s->len += (size_t)n;
}
static void lbk__str_append(lbk__str *s, const char *fmt, ...) LBK__PRINTF(2, 3);
static void lbk__str_append(lbk__str *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lbk__str_vappend(s, fmt, ap);
    va_end(ap);
}
static void lbk__str_reset(lbk__str *s) { s->len = 0; s->oom = false; if (s->p) s->p[0] = 0; }
static const char *lbk__str_get(lbk__str *s) { return (s->p && !s->oom) ? s->p : ""; }
static void lbk__str_free(lbk__str *s) { lbk__free(s->p); s->p = NULL; s->len = s->cap = 0; }

static uint64_t lbk__mix64(uint64_t x) {   /* splitmix64's finaliser */
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}
/* Keys of stb_ds hash maps keep every byte below 0x80: stb_ds's fast 4- and 8-byte
   hashes shift bytes as int, which is undefined behaviour for a byte >= 0x80. */
#define LBK__KEY(h) ((h) & 0x7f7f7f7f7f7f7f7fULL)
#define LBK__HASH(h, v) ((h) = ((h) ^ (uint64_t)(v)) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL)

/* FNV-1a over bytes: module-file checksums, cache-file names. */
static uint64_t lbk__fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;
    for (i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3ULL; }
    return h;
}

// >>errors -----------------------------------------------------------------------------
/* Result strings, the thread-local last error, and the message a backend leaves. */

static const char *const lbk__result_strs[] = {
#define LBK__RESULT_STR(name, msg) msg,
    LBK_RESULT_LIST(LBK__RESULT_STR)
#undef LBK__RESULT_STR
};
LAZYBK_API const char *lbk_result_str(lbk_result r) {
    if ((int)r < 0 || (int)r >= (int)LBK_RESULT_COUNT) return "unknown result";
    return lbk__result_strs[r];
}
LAZYBK_API const char *lbk_version(void) { return LAZYBK_VERSION_STRING; }

static LBK__TLS lbk_result lbk__tls_result;
static LBK__TLS char lbk__tls_msg[512];
static LBK__TLS lbk_result lbk__tls_be_result;       /* from lbk_backend_error */
static LBK__TLS int64_t lbk__tls_be_handle;
static LBK__TLS char lbk__tls_be_msg[512];

static lbk_result lbk__set_last(lbk_result r, const char *fmt, ...) LBK__PRINTF(2, 3);
/* A result a backend made up (999, -3) is not passed on: it becomes LBK_ERR_BACKEND, and
   the message says which code came back. Every recorded failure goes through this. */
static bool lbk__result_bogus(lbk_result r) { return (int)r < 0 || (int)r >= (int)LBK_RESULT_COUNT; }
static void lbk__note_bogus(char *msg, size_t cap, lbk_result r) {
    size_t n = strlen(msg);
    if (n < cap) snprintf(msg + n, cap - n, " (the backend returned result code %d, which is not an lbk_result)", (int)r);
}
static lbk_result lbk__set_last(lbk_result r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lbk__tls_msg, sizeof lbk__tls_msg, fmt, ap);
    va_end(ap);
    if (lbk__result_bogus(r)) { lbk__note_bogus(lbk__tls_msg, sizeof lbk__tls_msg, r); r = LBK_ERR_BACKEND; }
    lbk__tls_result = r;
    return r;
}
static void lbk__clear_last(void) { lbk__tls_result = LBK_OK; lbk__tls_msg[0] = 0; }
LAZYBK_API lbk_result  lbk_last_result(void) { return lbk__tls_result; }
LAZYBK_API const char *lbk_last_error(void) { return lbk__tls_msg; }

LAZYBK_API lbk_result lbk_backend_error(lbk_result r, int64_t debug_handle, const char *fmt, ...) {
    va_list ap;
    lbk__tls_be_result = r;
    lbk__tls_be_handle = debug_handle;
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(lbk__tls_be_msg, sizeof lbk__tls_be_msg, fmt, ap);
        va_end(ap);
    } else {
        lbk__tls_be_msg[0] = 0;
    }
    lbk__tls_result = r;
    snprintf(lbk__tls_msg, sizeof lbk__tls_msg, "%s", lbk__tls_be_msg);
    return r;
}
static LBK__TLS int lbk__tls_threads;   /* the executing context's n_threads */
LAZYBK_API int lbk_exec_threads(void) { return lbk__tls_threads; }
static LBK__TLS lbk_ctx *lbk__tls_ctx;   /* the executing context */
LAZYBK_API lbk_ctx *lbk_exec_context(void) { return lbk__tls_ctx; }
static void lbk__clear_backend_error(void) {
    lbk__tls_be_result = LBK_OK; lbk__tls_be_handle = -1; lbk__tls_be_msg[0] = 0;
}

LAZYBK_API void lbk_log_stderr(void *user, lbk_log_level level, const char *msg) {
    static const char *const names[] = {"?", "error", "warning", "info", "debug"};
    (void)user;
    fprintf(stderr, "lazybk: %s: %s\n", names[(level >= LBK_LOG_ERROR && level <= LBK_LOG_DEBUG) ? level : 0], msg);
}

// >>dtype ------------------------------------------------------------------------------
/* The dtype table expanded: per row its scalar converters (lbk__ldf/ldi/stf/sti_<id>),
   its row converters, its lbk_dtype_info; the conversions and shape helpers every part of
   lazybk (and every backend) shares. */

/* float -> integer: truncation toward zero, saturating, nan -> 0 (no undefined behaviour). */
LAZYBK_API int64_t lbk_f64_to_i64(double v) {
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}
/* The same for any width: a signed or unsigned integer of `bytes` bytes. */
static LBK__UNUSED int64_t lbk__f2int_s(double v, int bytes) {
    double hi;
    if (bytes >= 8) return lbk_f64_to_i64(v);
    hi = (double)(((int64_t)1 << (8 * bytes - 1)) - 1);
    if (v != v) return 0;
    if (v >= hi) return (int64_t)hi;
    if (v <= -hi - 1) return (int64_t)(-hi - 1);
    return (int64_t)v;
}
static LBK__UNUSED uint64_t lbk__f2int_u(double v, int bytes) {
    double hi = bytes >= 8 ? 18446744073709551615.0 : (double)((((uint64_t)1) << (8 * bytes)) - 1);
    if (v != v || v <= 0) return 0;
    if (v >= hi) return bytes >= 8 ? UINT64_MAX : (uint64_t)hi;
    return (uint64_t)v;
}
static LBK__UNUSED int64_t lbk__wrap_s(int64_t v, int bytes) {
    uint64_t m, u;
    if (bytes >= 8) return v;
    m = ((uint64_t)1 << (8 * bytes)) - 1;
    u = (uint64_t)v & m;
    return u > (m >> 1) ? (int64_t)u - (int64_t)(m + 1) : (int64_t)u;
}
static LBK__UNUSED uint64_t lbk__wrap_u(int64_t v, int bytes) {
    return bytes >= 8 ? (uint64_t)v : (uint64_t)v & (((uint64_t)1 << (8 * bytes)) - 1);
}

/* Binary floats narrower than float (f16: 5 exponent bits, 10 stored mantissa bits; bf16:
   8 and 7), in portable integer and double arithmetic: decoding is exact, encoding rounds
   once from the double, to nearest even whatever the FPU's rounding mode, with overflow to
   inf, gradual underflow (subnormals) and NaN kept NaN (quiet, sign and top payload bits
   kept, as F16C and the AVX-512 conversions do). */
static double lbk__narrow_value(uint32_t bits, int mbits, int ebits) {
    uint32_t m = bits & ((1u << mbits) - 1), e = (bits >> mbits) & ((1u << ebits) - 1);
    int bias = (1 << (ebits - 1)) - 1;
    double v;
    if (e == (1u << ebits) - 1) {
        if (m == 0) v = HUGE_VAL;
        else {   /* the payload moves to the top of the double's mantissa */
            union { double d; uint64_t u; } n;
            n.u = 0x7ff0000000000000ULL | ((uint64_t)m << (52 - mbits));
            v = n.d;
        }
    } else if (e == 0) {
        v = ldexp((double)m, 1 - bias - mbits);
    } else {
        v = ldexp((double)(m | (1u << mbits)), (int)e - bias - mbits);
    }
    return (bits >> (mbits + ebits)) & 1 ? -v : v;
}
static uint32_t lbk__narrow_bits(double v, int mbits, int ebits) {
    union { double d; uint64_t u; } in;
    uint32_t sign, emax = (1u << ebits) - 1, q;
    int bias = (1 << (ebits - 1)) - 1, ex, e, lo;
    double a, scaled, fl;
    in.d = v;
    sign = (uint32_t)(in.u >> 63) << (mbits + ebits);
    if (v != v)   /* quiet NaN, the payload's top bits */
        return sign | (emax << mbits) | (1u << (mbits - 1)) | (uint32_t)((in.u & 0x000fffffffffffffULL) >> (52 - mbits));
    a = v < 0 ? -v : v;
    if (a == HUGE_VAL) return sign | (emax << mbits);
    if (a == 0) return sign;
    (void)frexp(a, &ex);   /* a = f 2^ex, f in [0.5, 1): the leading bit is 2^(ex-1) */
    e = ex - 1;
    lo = e - mbits;   /* the quantum of a's binade in the narrow format, */
    if (lo < 1 - bias - mbits) lo = 1 - bias - mbits;   /* or of its subnormals */
    scaled = ldexp(a, -lo);   /* exact: a power-of-two scaling, < 2^(mbits+1) */
    fl = floor(scaled);
    q = (uint32_t)fl;
    if (scaled - fl > 0.5 || (scaled - fl == 0.5 && (q & 1))) q++;   /* to nearest, ties to even */
    /* q counts quanta of 2^lo: q < 2^mbits is subnormal (lo is the smallest); a carry into
       2^(mbits+1) moves up a binade */
    if (q < (1u << mbits)) return sign | q;
    if (q == (1u << (mbits + 1))) { q >>= 1; lo++; }
    e = lo + mbits + bias;   /* the biased exponent */
    if (e >= (int)emax) return sign | (emax << mbits);   /* overflow: inf */
    return sign | ((uint32_t)e << mbits) | (q & ((1u << mbits) - 1));
}
/* An int64 as the double that rounds to the narrow format as the integer itself would: exact
   below 2^53; above, the bits a double drops become a sticky nudge away from a false tie. */
static double lbk__i64_for_narrow(int64_t v) {
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    double d;
    if (u < ((uint64_t)1 << 53)) return (double)v;
    d = (double)(u & ~(uint64_t)0xfff);   /* exact: at most 52 significant bits left */
    if (u & 0xfff) d = nextafter(d, HUGE_VAL);
    return v < 0 ? -d : d;
}
static double lbk__f16_ldf(const void *p, int64_t i) { return lbk__narrow_value(((const uint16_t *)p)[i], 10, 5); }
static int64_t lbk__f16_ldi(const void *p, int64_t i) { return lbk_f64_to_i64(lbk__f16_ldf(p, i)); }
static void lbk__f16_stf(void *p, int64_t i, double v) { ((uint16_t *)p)[i] = (uint16_t)lbk__narrow_bits(v, 10, 5); }
static void lbk__f16_sti(void *p, int64_t i, int64_t v) { lbk__f16_stf(p, i, lbk__i64_for_narrow(v)); }
static double lbk__bf16_ldf(const void *p, int64_t i) { return lbk__narrow_value(((const uint16_t *)p)[i], 7, 8); }
static int64_t lbk__bf16_ldi(const void *p, int64_t i) { return lbk_f64_to_i64(lbk__bf16_ldf(p, i)); }
static void lbk__bf16_stf(void *p, int64_t i, double v) { ((uint16_t *)p)[i] = (uint16_t)lbk__narrow_bits(v, 7, 8); }
static void lbk__bf16_sti(void *p, int64_t i, int64_t v) { lbk__bf16_stf(p, i, lbk__i64_for_narrow(v)); }

/* NATIVE rows: C conversions of the storage type, with the rules above by kind. */
#define LBK__LDI_FLOAT(T, b, x) lbk_f64_to_i64((double)(x))
#define LBK__LDI_SIGNED(T, b, x) ((int64_t)(x))
#define LBK__LDI_UNSIGNED(T, b, x) ((int64_t)(x))
#define LBK__LDI_BOOL(T, b, x) ((int64_t)((x) != 0))
#define LBK__STF_FLOAT(T, b, v) ((T)(v))
#define LBK__STF_SIGNED(T, b, v) ((T)lbk__f2int_s((v), (b)))
#define LBK__STF_UNSIGNED(T, b, v) ((T)lbk__f2int_u((v), (b)))
#define LBK__STF_BOOL(T, b, v) ((T)((v) != 0))
#define LBK__STI_FLOAT(T, b, v) ((T)(v))
#define LBK__STI_SIGNED(T, b, v) ((T)lbk__wrap_s((v), (b)))
#define LBK__STI_UNSIGNED(T, b, v) ((T)lbk__wrap_u((v), (b)))
#define LBK__STI_BOOL(T, b, v) ((T)((v) != 0))
#define LBK__DT_CONV_NATIVE(id, T, b, kind)                                                                      \
    static double lbk__ldf_##id(const void *p, int64_t i) { return (double)((const T *)p)[i]; }                   \
    static int64_t lbk__ldi_##id(const void *p, int64_t i) { return LBK__LDI_##kind(T, b, ((const T *)p)[i]); }   \
    static void lbk__stf_##id(void *p, int64_t i, double v) { ((T *)p)[i] = LBK__STF_##kind(T, b, v); }           \
    static void lbk__sti_##id(void *p, int64_t i, int64_t v) { ((T *)p)[i] = LBK__STI_##kind(T, b, v); }
/* A row with its own converters (conv = prefix): lbk__<prefix>_ldf/_ldi/_stf/_sti, written
   before the table is expanded. */
#define LBK__DT_CONV_OWN(id, prefix)                                                                             \
    static double lbk__ldf_##id(const void *p, int64_t i) { return lbk__##prefix##_ldf(p, i); }                   \
    static int64_t lbk__ldi_##id(const void *p, int64_t i) { return lbk__##prefix##_ldi(p, i); }                  \
    static void lbk__stf_##id(void *p, int64_t i, double v) { lbk__##prefix##_stf(p, i, v); }                    \
    static void lbk__sti_##id(void *p, int64_t i, int64_t v) { lbk__##prefix##_sti(p, i, v); }
#define LBK__DT_CONV_PICK_NATIVE(id, T, b, kind, conv) LBK__DT_CONV_NATIVE(id, T, b, kind)
#define LBK__DT_CONV_PICK_f16(id, T, b, kind, conv) LBK__DT_CONV_OWN(id, f16)
#define LBK__DT_CONV_PICK_bf16(id, T, b, kind, conv) LBK__DT_CONV_OWN(id, bf16)
#define LBK__DT_CONV_ROW(id, name, storage, bytes, kind, rank, conv, npy, safet, gguf) LBK__DT_CONV_PICK_##conv(id, storage, bytes, kind, conv)
/* (a row whose conv is not NATIVE defines LBK__DT_CONV_PICK_<conv>(...) as LBK__DT_CONV_OWN(id, <conv>)) */
LBK_DTYPE_TABLE(LBK__DT_CONV_ROW)
#undef LBK__DT_CONV_ROW

/* Row converters from the scalar ones; to_f32 of an integer goes through int64 (one rounding). */
#define LBK__TOF32_FLOAT(id, s, i) ((float)lbk__ldf_##id(s, i))
#define LBK__TOF32_SIGNED(id, s, i) ((float)lbk__ldi_##id(s, i))
#define LBK__TOF32_UNSIGNED(id, s, i) ((float)lbk__ldi_##id(s, i))
#define LBK__TOF32_BOOL(id, s, i) ((float)lbk__ldi_##id(s, i))
#define LBK__DT_ROWS(id, name, storage, bytes, kind, rank, conv, npy, safet, gguf)                                                   \
    static void lbk__to_f64_##id(double *d, const void *s, int64_t st, int64_t n) {                                    \
        int64_t i; for (i = 0; i < n; i++) d[i] = lbk__ldf_##id(s, i * st); }                                         \
    static void lbk__from_f64_##id(void *d, const double *s, int64_t n) {                                              \
        int64_t i; for (i = 0; i < n; i++) lbk__stf_##id(d, i, s[i]); }                                               \
    static void lbk__to_f32_##id(float *d, const void *s, int64_t st, int64_t n) {                                     \
        int64_t i; for (i = 0; i < n; i++) d[i] = LBK__TOF32_##kind(id, s, i * st); }                                 \
    static void lbk__from_f32_##id(void *d, const float *s, int64_t n) {                                               \
        int64_t i; for (i = 0; i < n; i++) lbk__stf_##id(d, i, (double)s[i]); }                                       \
    static void lbk__to_i64_##id(int64_t *d, const void *s, int64_t st, int64_t n) {                                   \
        int64_t i; for (i = 0; i < n; i++) d[i] = lbk__ldi_##id(s, i * st); }                                         \
    static void lbk__from_i64_##id(void *d, const int64_t *s, int64_t n) {                                             \
        int64_t i; for (i = 0; i < n; i++) lbk__sti_##id(d, i, s[i]); }
LBK_DTYPE_TABLE(LBK__DT_ROWS)
#undef LBK__DT_ROWS

#define LBK__DT_INFO(id, name, storage, bytes, kind, rank, conv, npy, safet, gguf)                                                 \
    {name, bytes, LBK_DTYPE_KIND_##kind, rank, npy, lbk__to_f64_##id, lbk__from_f64_##id, lbk__to_f32_##id,           \
     lbk__from_f32_##id, lbk__to_i64_##id, lbk__from_i64_##id, safet, gguf},
static const lbk_dtype_info lbk__dtypes[] = {
    {"invalid", 0, LBK_DTYPE_KIND_INVALID, -1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -1},
    LBK_DTYPE_TABLE(LBK__DT_INFO)
};
#undef LBK__DT_INFO
LBK__STATIC_ASSERT(sizeof lbk__dtypes / sizeof lbk__dtypes[0] == (size_t)LBK_DTYPE_COUNT, dtype_table_matches_lbk_dtype);
#define LBK__DT_SIZE_CHECK(id, name, storage, bytes, kind, rank, conv, npy, safet, gguf) \
    LBK__STATIC_ASSERT(sizeof(storage) == (bytes), dtype_##id##_storage_has_its_size);
LBK_DTYPE_TABLE(LBK__DT_SIZE_CHECK)
#undef LBK__DT_SIZE_CHECK

static bool lbk__dtype_ok(lbk_dtype dt) { return (int)dt > 0 && (int)dt < LBK_DTYPE_COUNT; }
LAZYBK_API const lbk_dtype_info *lbk_dtype_info_of(lbk_dtype dt) { return lbk__dtype_ok(dt) ? &lbk__dtypes[dt] : NULL; }
LAZYBK_API const char *lbk_dtype_name(lbk_dtype dt) { return lbk__dtype_ok(dt) ? lbk__dtypes[dt].name : "invalid"; }
LAZYBK_API size_t lbk_dtype_size(lbk_dtype dt) { return lbk__dtype_ok(dt) ? lbk__dtypes[dt].size : 0; }
LAZYBK_API lbk_dtype lbk_dtype_from_name(const char *name) {
    int k;
    if (!name) return LBK_DTYPE_INVALID;
    for (k = 1; k < LBK_DTYPE_COUNT; k++)
        if (strcmp(lbk__dtypes[k].name, name) == 0) return (lbk_dtype)k;
    return LBK_DTYPE_INVALID;
}
static bool lbk__is_float(lbk_dtype dt) { return lbk__dtype_ok(dt) && lbk__dtypes[dt].kind == LBK_DTYPE_KIND_FLOAT; }
LAZYBK_API bool lbk_dtype_is_float(lbk_dtype dt) { return lbk__is_float(dt); }
static bool lbk__is_int(lbk_dtype dt) {
    return lbk__dtype_ok(dt) && (lbk__dtypes[dt].kind == LBK_DTYPE_KIND_SIGNED || lbk__dtypes[dt].kind == LBK_DTYPE_KIND_UNSIGNED);
}
/* The kind a wrapped scalar promotes by: bool 0, integer 1, float 2. */
static int lbk__kind(lbk_dtype dt) {
    lbk_dtype_kind k = lbk__dtype_ok(dt) ? lbk__dtypes[dt].kind : LBK_DTYPE_KIND_INVALID;
    return k == LBK_DTYPE_KIND_BOOL ? 0 : k == LBK_DTYPE_KIND_FLOAT ? 2 : 1;
}
static int lbk__rank(lbk_dtype dt) { return lbk__dtype_ok(dt) ? lbk__dtypes[dt].rank : -1; }
LAZYBK_API lbk_dtype lbk_dtype_promote(lbk_dtype a, lbk_dtype b) {
    int k, best = 0;
    if (!lbk__dtype_ok(a) || !lbk__dtype_ok(b)) return LBK_DTYPE_INVALID;
    if (a == b || lbk__rank(a) != lbk__rank(b)) return lbk__rank(a) > lbk__rank(b) ? a : b;
    for (k = 1; k < LBK_DTYPE_COUNT; k++)   /* one rank, two dtypes: the lowest dtype above it */
        if (lbk__dtypes[k].rank > lbk__rank(a) && (!best || lbk__dtypes[k].rank < lbk__dtypes[best].rank)) best = k;
    return best ? (lbk_dtype)best : a;
}

#define LBK__DT_LOAD_CASE(id, name, storage, bytes, kind, rank, conv, npy, safet, gguf) case LBK_##id: return lbk__ldf_##id(p, i);
LAZYBK_API double lbk_load_f64(lbk_dtype dt, const void *p, int64_t i) {
    switch (dt) { LBK_DTYPE_TABLE(LBK__DT_LOAD_CASE) default: return 0; }
}
#undef LBK__DT_LOAD_CASE
#define LBK__DT_LOAD_CASE(id, name, storage, bytes, kind, rank, conv, npy, safet, gguf) case LBK_##id: return lbk__ldi_##id(p, i);
LAZYBK_API int64_t lbk_load_i64(lbk_dtype dt, const void *p, int64_t i) {
    switch (dt) { LBK_DTYPE_TABLE(LBK__DT_LOAD_CASE) default: return 0; }
}
#undef LBK__DT_LOAD_CASE
#define LBK__DT_STORE_CASE(id, name, storage, bytes, kind, rank, conv, npy, safet, gguf) case LBK_##id: lbk__stf_##id(p, i, v); break;
LAZYBK_API void lbk_store_f64(lbk_dtype dt, void *p, int64_t i, double v) {
    switch (dt) { LBK_DTYPE_TABLE(LBK__DT_STORE_CASE) default: break; }
}
#undef LBK__DT_STORE_CASE
#define LBK__DT_STORE_CASE(id, name, storage, bytes, kind, rank, conv, npy, safet, gguf) case LBK_##id: lbk__sti_##id(p, i, v); break;
LAZYBK_API void lbk_store_i64(lbk_dtype dt, void *p, int64_t i, int64_t v) {
    switch (dt) { LBK_DTYPE_TABLE(LBK__DT_STORE_CASE) default: break; }
}
#undef LBK__DT_STORE_CASE

/* Through int64 from an integer or bool dtype (exact), through double from a float one;
   in blocks of 256 so that no full-size temporary is made. */
LAZYBK_API void lbk_convert(void *dst, lbk_dtype ddt, const void *src, lbk_dtype sdt, int64_t n, int64_t sst) {
    const lbk_dtype_info *d = lbk_dtype_info_of(ddt), *s = lbk_dtype_info_of(sdt);
    int64_t at, k, len;
    if (!d || !s || n <= 0) return;
    if (ddt == sdt) {
        if (sst == 1) { memcpy(dst, src, (size_t)n * d->size); return; }
        for (k = 0; k < n; k++) memcpy((char *)dst + (size_t)k * d->size, (const char *)src + (size_t)(k * sst) * d->size, d->size);
        return;
    }
    for (at = 0; at < n; at += len) {
        union { double f[256]; int64_t i[256]; } buf;
        const char *sp = (const char *)src + (size_t)(at * sst) * s->size;
        char *dp = (char *)dst + (size_t)at * d->size;
        len = LBK__MIN(n - at, 256);
        if (s->kind == LBK_DTYPE_KIND_FLOAT) { s->to_f64(buf.f, sp, sst, len); d->from_f64(dp, buf.f, len); }
        else { s->to_i64(buf.i, sp, sst, len); d->from_i64(dp, buf.i, len); }
    }
}
static void lbk__convert(void *dst, lbk_dtype ddt, const void *src, lbk_dtype sdt, int64_t n, int64_t sst) {
    lbk_convert(dst, ddt, src, sdt, n, sst);
}

/* Shape helpers. lbk__numel is for shapes that passed lbk__dims_why (every tensor's). */
/* The element count of a checked shape. A zero dim anywhere makes it 0 before any product
   is taken: dims before it may multiply past int64 ([2^62, 2^62, 0] is a valid empty shape). */
static int64_t lbk__numel(int n_dims, const int64_t *dims) {
    int64_t n = 1;
    int i;
    for (i = 0; i < n_dims; i++)
        if (dims[i] == 0) return 0;
    for (i = 0; i < n_dims; i++) n *= dims[i];
    return n;
}
/* Why a shape cannot be a tensor's (NULL if it can): a negative dim, more elements than
   int64 holds (lbk_shape_numel, the one checked element count), or more bytes than a
   size_t offset can reach. Every shape rule, creation call and file reader asks this. */
static const char *lbk__dims_why(int n_dims, const int64_t *dims, lbk_dtype dt) {
    int i;
    int64_t n = lbk_shape_numel(n_dims, dims);
    if (n >= 0) return (uint64_t)n <= (uint64_t)(SIZE_MAX / 8) / (lbk__dtype_ok(dt) ? lbk_dtype_size(dt) : 8) ? NULL : "needs more bytes than size_t can address";
    for (i = 0; i < n_dims; i++)
        if (dims[i] < 0) return "has a negative dim";
    return "has more than 2^63 elements";
}
static bool lbk__dims_valid(int n_dims, const int64_t *dims, lbk_dtype dt) { return lbk__dims_why(n_dims, dims, dt) == NULL; }
static void lbk__shape_str(char *buf, size_t cap, lbk_dtype dt, int n_dims, const int64_t *dims) {
    size_t len;
    int i;
    snprintf(buf, cap, "%s[", lbk_dtype_name(dt));
    for (i = 0; i < n_dims; i++) {
        len = strlen(buf);
        snprintf(buf + len, cap - len, i ? ",%lld" : "%lld", (long long)dims[i]);
    }
    len = strlen(buf);
    snprintf(buf + len, cap - len, "]");
}
LAZYBK_API void lbk_shape_str(char *buf, size_t cap, lbk_dtype dt, int n_dims, const int64_t *dims) {
    if (!buf || !cap) return;
    if (n_dims < 0 || n_dims > LAZYBK_MAX_DIMS || (n_dims && !dims)) { snprintf(buf, cap, "%s[?]", lbk_dtype_name(dt)); return; }
    lbk__shape_str(buf, cap, dt, n_dims, dims);
}
LAZYBK_API int64_t lbk_shape_numel(int n_dims, const int64_t *dims) {
    int64_t n = 1;
    int i;
    bool zero = false;
    if (n_dims < 0 || (n_dims && !dims)) return -1;
    for (i = 0; i < n_dims; i++) {
        if (dims[i] < 0) return -1;
        if (dims[i] == 0) zero = true;
    }
    if (zero) return 0;
    for (i = 0; i < n_dims; i++) {
        if (n > INT64_MAX / dims[i]) return -1;
        n *= dims[i];
    }
    return n;
}

// >>value ------------------------------------------------------------------------------
/* lbk_value: a tagged union; lists are arrays, dicts are arrays in insertion order plus an
   stb_ds string map from key to position (keys are the value's own copies). Freeing and
   copying walk nested containers with an explicit stack, never recursion. */

struct lbk_value {
    lbk_value_kind kind;
    union {
        bool b;
        int64_t i;
        double d;
        char *s;
        lbk_tensor t;
        struct { lbk_value **items; size_t n, cap; } list;
        struct { lbk_value **items; char **keys; size_t n, cap, kcap; lbk__str_i64 *index; } dict;
        struct { unsigned char *p; size_t n; struct lbk__blob *owner; } bytes;   /* owner NULL: p is the value's */
    } u;
};

/* Memory many bytes values (and zero-copy constants) share: a mapped module file or a
   copy of one's data section. Freed (unmapped) when the last reference goes; any thread. */
typedef struct lbk__blob { int refs; void *base; size_t size; bool mapped; } lbk__blob;
static lbk__mutex lbk__blob_lock = LBK__MUTEX_INIT;
static void lbk__blob_unmap(lbk__blob *b);
static void lbk__blob_ref(lbk__blob *b) { lbk__lock(&lbk__blob_lock); b->refs++; lbk__unlock(&lbk__blob_lock); }
static void lbk__blob_unref(void *arg) {
    lbk__blob *b = (lbk__blob *)arg;
    int left;
    if (!b) return;
    lbk__lock(&lbk__blob_lock);
    left = --b->refs;
    lbk__unlock(&lbk__blob_lock);
    if (left > 0) return;
    if (b->mapped) lbk__blob_unmap(b);
    else lbk__free(b->base);
    lbk__free(b);
}
/* A bytes value over [p, p + n) of blob b (which it references). */
static lbk_value *lbk__value_bytes_in(lbk__blob *b, const unsigned char *p, size_t n);

static lbk_value *lbk__value_new(lbk_value_kind k) {
    lbk_value *v = (lbk_value *)lbk__calloc(1, sizeof *v);
    if (v) v->kind = k;
    else lbk__set_last(LBK_ERR_OOM, "lbk_value: out of memory");
    return v;
}
LAZYBK_API lbk_value *lbk_value_none(void) { return lbk__value_new(LBK_VALUE_NONE); }
LAZYBK_API lbk_value *lbk_value_bool(bool b) { lbk_value *v = lbk__value_new(LBK_VALUE_BOOL); if (v) v->u.b = b; return v; }
LAZYBK_API lbk_value *lbk_value_int(int64_t i) { lbk_value *v = lbk__value_new(LBK_VALUE_INT); if (v) v->u.i = i; return v; }
LAZYBK_API lbk_value *lbk_value_double(double d) { lbk_value *v = lbk__value_new(LBK_VALUE_DOUBLE); if (v) v->u.d = d; return v; }
LAZYBK_API lbk_value *lbk_value_str(const char *s) {
    lbk_value *v;
    if (!s) { lbk__set_last(LBK_ERR_ARG, "lbk_value_str: NULL string"); return NULL; }
    v = lbk__value_new(LBK_VALUE_STR);
    if (v && !(v->u.s = lbk__strdup(s))) { lbk__free(v); lbk__set_last(LBK_ERR_OOM, "lbk_value_str: out of memory"); return NULL; }
    return v;
}
LAZYBK_API lbk_value *lbk_value_tensor(lbk_tensor t) { lbk_value *v = lbk__value_new(LBK_VALUE_TENSOR); if (v) v->u.t = t; return v; }
LAZYBK_API lbk_value *lbk_value_list(void) { return lbk__value_new(LBK_VALUE_LIST); }
LAZYBK_API lbk_value *lbk_value_dict(void) { return lbk__value_new(LBK_VALUE_DICT); }
LAZYBK_API lbk_value_kind lbk_value_kind_of(const lbk_value *v) { return v ? v->kind : LBK_VALUE_NONE; }
LAZYBK_API const char *lbk_value_kind_name(lbk_value_kind k) {
    static const char *const names[] = {"none", "bool", "int", "double", "str", "tensor", "list", "dict", "bytes"};
    return ((int)k >= 0 && (int)k <= (int)LBK_VALUE_BYTES) ? names[k] : "invalid";
}

static bool lbk__value_is(const lbk_value *v, lbk_value_kind k, const char *where) {
    if (v && v->kind == k) return true;
    lbk__set_last(LBK_ERR_ARG, "%s: value is %s, not %s", where, v ? lbk_value_kind_name(v->kind) : "NULL",
                  lbk_value_kind_name(k));
    return false;
}
LAZYBK_API lbk_value *lbk_value_bytes(const void *data, size_t n) {
    lbk_value *v;
    if (n && !data) { lbk__set_last(LBK_ERR_ARG, "lbk_value_bytes: NULL data for %zu bytes", n); return NULL; }
    if (!(v = lbk__value_new(LBK_VALUE_BYTES))) return NULL;
    if (!(v->u.bytes.p = (unsigned char *)lbk__malloc(n))) { lbk__free(v); return NULL; }
    if (n) memcpy(v->u.bytes.p, data, n);
    v->u.bytes.n = n;
    return v;
}
static lbk_value *lbk__value_bytes_in(lbk__blob *b, const unsigned char *p, size_t n) {
    lbk_value *v = lbk__value_new(LBK_VALUE_BYTES);
    if (!v) return NULL;
    lbk__blob_ref(b);
    v->u.bytes.p = (unsigned char *)(uintptr_t)p;
    v->u.bytes.n = n;
    v->u.bytes.owner = b;
    return v;
}
LAZYBK_API const void *lbk_value_as_bytes(const lbk_value *v, size_t *out_n) {
    if (out_n) *out_n = 0;
    if (!lbk__value_is(v, LBK_VALUE_BYTES, "lbk_value_as_bytes")) return NULL;
    if (out_n) *out_n = v->u.bytes.n;
    return v->u.bytes.p;
}
LAZYBK_API bool lbk_value_as_bool(const lbk_value *v) { return lbk__value_is(v, LBK_VALUE_BOOL, "lbk_value_as_bool") && v->u.b; }
LAZYBK_API int64_t lbk_value_as_int(const lbk_value *v) {
    if (v && v->kind == LBK_VALUE_BOOL) return v->u.b;
    return lbk__value_is(v, LBK_VALUE_INT, "lbk_value_as_int") ? v->u.i : 0;
}
LAZYBK_API double lbk_value_as_double(const lbk_value *v) {
    if (v && v->kind == LBK_VALUE_INT) return (double)v->u.i;
    if (v && v->kind == LBK_VALUE_BOOL) return v->u.b;
    return lbk__value_is(v, LBK_VALUE_DOUBLE, "lbk_value_as_double") ? v->u.d : 0.0;
}
LAZYBK_API const char *lbk_value_as_str(const lbk_value *v) { return lbk__value_is(v, LBK_VALUE_STR, "lbk_value_as_str") ? v->u.s : NULL; }
LAZYBK_API lbk_tensor lbk_value_as_tensor(const lbk_value *v) {
    lbk_tensor z = {0};
    return lbk__value_is(v, LBK_VALUE_TENSOR, "lbk_value_as_tensor") ? v->u.t : z;
}

/* Frees v and everything it holds, with an explicit stack. */
LAZYBK_API void lbk_value_free(lbk_value *v) {
    lbk_value **stack = NULL;
    size_t top = 0, cap = 0, k;
    if (!v) return;
    if (!LBK__GROW(stack, cap, 16)) { stack = NULL; cap = 0; }
    for (;;) {
        if (v->kind == LBK_VALUE_STR) lbk__free(v->u.s);
        if (v->kind == LBK_VALUE_BYTES) { if (v->u.bytes.owner) lbk__blob_unref(v->u.bytes.owner); else lbk__free(v->u.bytes.p); }
        if (v->kind == LBK_VALUE_LIST || v->kind == LBK_VALUE_DICT) {
            lbk_value **items = v->kind == LBK_VALUE_LIST ? v->u.list.items : v->u.dict.items;
            size_t n = v->kind == LBK_VALUE_LIST ? v->u.list.n : v->u.dict.n;
            if (stack && LBK__GROW(stack, cap, top + n)) {
                for (k = 0; k < n; k++) stack[top++] = items[k];
            } else {
                for (k = 0; k < n; k++) lbk_value_free(items[k]);   /* OOM only: fall back to recursion */
            }
            if (v->kind == LBK_VALUE_DICT) {
                for (k = 0; k < v->u.dict.n; k++) lbk__free(v->u.dict.keys[k]);
                lbk__free(v->u.dict.keys);
                shfree(v->u.dict.index);
            }
            lbk__free(items);
        }
        lbk__free(v);
        if (!top) break;
        v = stack[--top];
    }
    lbk__free(stack);
}

LAZYBK_API lbk_result lbk_list_push(lbk_value *list, lbk_value *item) {
    if (!item) return lbk__set_last(LBK_ERR_ARG, "lbk_list_push: NULL item");
    if (!lbk__value_is(list, LBK_VALUE_LIST, "lbk_list_push")) { lbk_value_free(item); return LBK_ERR_ARG; }
    if (!LBK__GROW(list->u.list.items, list->u.list.cap, list->u.list.n + 1)) {
        lbk_value_free(item);
        return lbk__set_last(LBK_ERR_OOM, "lbk_list_push: out of memory");
    }
    list->u.list.items[list->u.list.n++] = item;
    return LBK_OK;
}
LAZYBK_API lbk_value *lbk_list_pop(lbk_value *list) {
    if (!lbk__value_is(list, LBK_VALUE_LIST, "lbk_list_pop")) return NULL;
    if (!list->u.list.n) { lbk__set_last(LBK_ERR_ARG, "lbk_list_pop: empty list"); return NULL; }
    return list->u.list.items[--list->u.list.n];
}
LAZYBK_API int64_t lbk_list_len(const lbk_value *list) {
    return lbk__value_is(list, LBK_VALUE_LIST, "lbk_list_len") ? (int64_t)list->u.list.n : -1;
}
LAZYBK_API lbk_value *lbk_list_get(const lbk_value *list, int64_t i) {
    if (!lbk__value_is(list, LBK_VALUE_LIST, "lbk_list_get")) return NULL;
    if (i < 0 || (uint64_t)i >= list->u.list.n) { lbk__set_last(LBK_ERR_ARG, "lbk_list_get: index %lld out of range", (long long)i); return NULL; }
    return list->u.list.items[i];
}

static ptrdiff_t lbk__dict_find(const lbk_value *d, const char *key) {
    lbk__str_i64 *idx = d->u.dict.index;
    return idx ? shgeti(idx, key) : -1;
}
LAZYBK_API lbk_result lbk_dict_set(lbk_value *dict, const char *key, lbk_value *item) {
    ptrdiff_t i;
    char *kc;
    if (!item) return lbk__set_last(LBK_ERR_ARG, "lbk_dict_set: NULL item");
    if (!key || !lbk__value_is(dict, LBK_VALUE_DICT, "lbk_dict_set")) {
        lbk_value_free(item);
        return lbk__set_last(LBK_ERR_ARG, "lbk_dict_set: %s", key ? "not a dict" : "NULL key");
    }
    i = lbk__dict_find(dict, key);
    if (i >= 0) {   /* replace in place: the key keeps its position */
        int64_t pos = dict->u.dict.index[i].value;
        lbk_value_free(dict->u.dict.items[pos]);
        dict->u.dict.items[pos] = item;
        return LBK_OK;
    }
    kc = lbk__strdup(key);
    if (!kc) { lbk_value_free(item); return lbk__set_last(LBK_ERR_OOM, "lbk_dict_set: out of memory"); }
    {
        if (!LBK__GROW(dict->u.dict.keys, dict->u.dict.kcap, dict->u.dict.n + 1) ||
            !LBK__GROW(dict->u.dict.items, dict->u.dict.cap, dict->u.dict.n + 1) ||
            !lbk__put_str(&dict->u.dict.index, kc, (int64_t)dict->u.dict.n)) {
            lbk__free(kc);
            lbk_value_free(item);
            return lbk__set_last(LBK_ERR_OOM, "lbk_dict_set: out of memory");
        }
    }
    dict->u.dict.keys[dict->u.dict.n] = kc;
    dict->u.dict.items[dict->u.dict.n++] = item;
    return LBK_OK;
}
LAZYBK_API lbk_value *lbk_dict_get(const lbk_value *dict, const char *key) {
    ptrdiff_t i;
    if (!key || !lbk__value_is(dict, LBK_VALUE_DICT, "lbk_dict_get")) return NULL;
    i = lbk__dict_find(dict, key);
    return i < 0 ? NULL : dict->u.dict.items[dict->u.dict.index[i].value];
}
LAZYBK_API bool lbk_dict_has(const lbk_value *dict, const char *key) {
    return key && lbk__value_is(dict, LBK_VALUE_DICT, "lbk_dict_has") && lbk__dict_find(dict, key) >= 0;
}
LAZYBK_API int64_t lbk_dict_len(const lbk_value *dict) {
    return lbk__value_is(dict, LBK_VALUE_DICT, "lbk_dict_len") ? (int64_t)dict->u.dict.n : -1;
}
LAZYBK_API const char *lbk_dict_key(const lbk_value *dict, int64_t i) {
    if (!lbk__value_is(dict, LBK_VALUE_DICT, "lbk_dict_key")) return NULL;
    return (i >= 0 && (uint64_t)i < dict->u.dict.n) ? dict->u.dict.keys[i] : NULL;
}

/* Deep copy; containers are copied through an explicit work list of (source, copy) pairs. */
LAZYBK_API lbk_value *lbk_value_copy(const lbk_value *v) {
    typedef struct { const lbk_value *src; lbk_value *dst; } pair;
    pair *work = NULL;
    size_t top = 0, cap = 0, k;
    lbk_value *root;
    bool ok = true;
    if (!v) return NULL;
    root = lbk__value_new(v->kind);
    if (!root) return NULL;
    if (!LBK__GROW(work, cap, 16)) { lbk__free(root); return NULL; }
    work[top].src = v; work[top].dst = root; top++;
    while (top && ok) {
        pair p = work[--top];
        lbk_value *d = p.dst;
        const lbk_value *s = p.src;
        switch (s->kind) {
        case LBK_VALUE_STR: ok = (d->u.s = lbk__strdup(s->u.s)) != NULL; break;
        case LBK_VALUE_BYTES:   /* shared memory is shared again; owned bytes are copied */
            d->u.bytes = s->u.bytes;
            if (s->u.bytes.owner) lbk__blob_ref(s->u.bytes.owner);
            else if ((d->u.bytes.p = (unsigned char *)lbk__malloc(s->u.bytes.n)) != NULL) { if (s->u.bytes.n) memcpy(d->u.bytes.p, s->u.bytes.p, s->u.bytes.n); }
            else { d->kind = LBK_VALUE_NONE; ok = false; }
            break;
        case LBK_VALUE_LIST: case LBK_VALUE_DICT:
            for (k = 0; k < (s->kind == LBK_VALUE_LIST ? s->u.list.n : s->u.dict.n) && ok; k++) {
                const lbk_value *it = s->kind == LBK_VALUE_LIST ? s->u.list.items[k] : s->u.dict.items[k];
                lbk_value *c = lbk__value_new(it->kind);
                if (!c) { ok = false; break; }
                if (s->kind == LBK_VALUE_LIST) ok = lbk_list_push(d, c) == LBK_OK;
                else ok = lbk_dict_set(d, s->u.dict.keys[k], c) == LBK_OK;
                if (ok && !LBK__GROW(work, cap, top + 1)) ok = false;
                if (ok) { work[top].src = it; work[top].dst = c; top++; }
            }
            break;
        default: d->u = s->u; break;
        }
    }
    lbk__free(work);
    if (!ok) { lbk_value_free(root); lbk__set_last(LBK_ERR_OOM, "lbk_value_copy: out of memory"); return NULL; }
    return root;
}

// >>registry ---------------------------------------------------------------------------
/* Backends by name (stb_ds string map, names copied) behind one mutex. Built-ins are
   registered by the first registry call or context creation. */

typedef struct lbk__backend {
    lbk_backend_i iface;   /* lazybk's layout; members an older backend lacks stay NULL */
    void *self;
    char *name;
    int users;             /* live contexts and calls holding it */
    bool exited;           /* prepare_to_exit has run */
    bool retiring;         /* unregistered, its prepare_to_exit still running */
} lbk__backend;
typedef struct lbk__reg_kv { char *key; lbk__backend *value; } lbk__reg_kv;

static lbk__mutex lbk__reg_lock = LBK__MUTEX_INIT;
static lbk__reg_kv *lbk__reg_map;
static lbk__backend **lbk__reg_list;   /* stb_ds array, registration order */
/* Unregistered entries are kept (freed at exit): the vtable pointer lbk_backend_get gave
   out and the name lbk_backend_name gave out stay readable for the life of the process,
   whichever thread unregisters meanwhile. Registering the same name, vtable and self again
   takes its old entry back, so a register/unregister loop does not grow this list. */
static lbk__backend **lbk__reg_retired;
typedef struct lbk__pp { char *key; lbk_preprocess_fn value; } lbk__pp;
static lbk__pp *lbk__pp_map;   /* preprocess functions by backend name (stb_ds), under lbk__reg_lock */
static bool lbk__builtins_done;
static bool lbk__atexit_done;

static bool lbk__register_builtins_locked(void);   /* at the end of the file */
static void lbk__release_globals(void);   /* at the end of the file */
/* At exit: prepare_to_exit for every backend, then the process-wide tables go, so that
   leak checkers see nothing left (unless a context is still alive: then they stay). */
static void lbk__atexit(void) {
    (void)lbk_shutdown();
    lbk__release_globals();
}

static void lbk__ensure_builtins_locked(void) {
    if (lbk__builtins_done) return;
    if (!lbk__atexit_done) { lbk__atexit_done = true; atexit(lbk__atexit); }
    lbk__builtins_done = lbk__register_builtins_locked();   /* retried by the next call if it failed */
}

static lbk__backend *lbk__find_locked(const char *name) {
    ptrdiff_t i;
    if (!lbk__reg_map) return NULL;
    i = shgeti(lbk__reg_map, name);
    return i < 0 ? NULL : lbk__reg_map[i].value;
}

/* Keys are b->name, lazybk's own copy, rather than stb_ds's strdup mode: a strdup that
   failed inside shput would leave an entry without a key. */
static LBK__NOINLINE bool lbk__reg_put(lbk__backend *b) {
    volatile bool ok, ok2 = false;
    LBK__SHPUT(ok, lbk__reg_map, b->name, b);
    if (ok) LBK__STBDS_GUARD(ok2, arrput(lbk__reg_list, b));
    if (ok && !ok2) LBK__STBDS_GUARD(ok, (void)shdel(lbk__reg_map, b->name));
    return ok2;
}
static LBK__NOINLINE void lbk__reg_del(const char *name) {
    bool ok;
    LBK__STBDS_GUARD(ok, (void)shdel(lbk__reg_map, name));
    (void)ok;   /* a failed shrink still deleted the entry */
}

/* A retired entry with this name, vtable bytes and self, taken off the retired list. */
static lbk__backend *lbk__reg_take_retired(const lbk_backend_i *iface, size_t n, void *self) {
    ptrdiff_t i;
    lbk_backend_i want;
    for (i = 0; i < arrlen(lbk__reg_retired); i++) {
        lbk__backend *b = lbk__reg_retired[i];
        if (b->retiring || b->self != self || strcmp(b->name, iface->name) != 0) continue;
        memset(&want, 0, sizeof want);
        memcpy(&want, iface, n);
        want.struct_size = (uint32_t)sizeof(lbk_backend_i);
        want.name = b->name;
        if (memcmp(&want, &b->iface, sizeof want) != 0) continue;
        arrdel(lbk__reg_retired, i);
        return b;
    }
    return NULL;
}
/* A registration that failed: a fresh entry is freed, a reused one goes back to retired
   (where its array slot was, so the put cannot fail). */
static void lbk__reg_drop(lbk__backend *b, bool reused) {
    if (reused) { arrput(lbk__reg_retired, b); return; }
    lbk__free(b->name);
    lbk__free(b);
}
static LBK__NOINLINE bool lbk__reg_retire(lbk__backend *b) {
    volatile bool ok = false;
    LBK__STBDS_GUARD(ok, arrput(lbk__reg_retired, b));
    return ok;
}

static lbk_result lbk__register_locked(const lbk_backend_i *iface, void *self) {
    lbk__backend *b;
    size_t n;
    lbk_result r;
    bool reused = false;
    if (!iface || !iface->name || !iface->name[0])
        return lbk__set_last(LBK_ERR_ARG, "lbk_backend_register: NULL interface or empty name");
    if (iface->abi_version != LBK_BACKEND_ABI)
        return lbk__set_last(LBK_ERR_ARG, "lbk_backend_register: backend '%s' has ABI version %u, lazybk has %u",
                             iface->name, (unsigned)iface->abi_version, (unsigned)LBK_BACKEND_ABI);
    if (iface->struct_size < offsetof(lbk_backend_i, computation_text))
        return lbk__set_last(LBK_ERR_ARG, "lbk_backend_register: backend '%s' has struct_size %u, too small",
                             iface->name, (unsigned)iface->struct_size);
    if (lbk__find_locked(iface->name))
        return lbk__set_last(LBK_ERR_EXISTS, "lbk_backend_register: a backend named '%s' is already registered",
                             iface->name);
    n = LBK__MIN((size_t)iface->struct_size, sizeof(lbk_backend_i));
    b = lbk__reg_take_retired(iface, n, self);
    if (b) {
        reused = true;
    } else {
        b = (lbk__backend *)lbk__calloc(1, sizeof *b);
        if (!b) return lbk__set_last(LBK_ERR_OOM, "lbk_backend_register: out of memory");
        memcpy(&b->iface, iface, n);
        b->iface.struct_size = (uint32_t)sizeof(lbk_backend_i);
        b->self = self;
        b->name = lbk__strdup(iface->name);
        if (!b->name) { lbk__free(b); return lbk__set_last(LBK_ERR_OOM, "lbk_backend_register: out of memory"); }
        b->iface.name = b->name;
    }
    b->exited = false;
    if (reused) {
        /* checked when it was first registered */
    } else if (!b->iface.data_from_host || !b->iface.data_to_host || !b->iface.data_free || !b->iface.compile ||
        !b->iface.computation_free || !b->iface.execute_computation) {
        lbk__free(b->name); lbk__free(b);
        return lbk__set_last(LBK_ERR_ARG, "lbk_backend_register: backend '%s' lacks a required member "
                             "(data_from_host, data_to_host, data_free, compile, computation_free, "
                             "execute_computation)", iface->name);
    }
    if (b->iface.init && (r = b->iface.init(self)) != LBK_OK) {
        lbk__reg_drop(b, reused);
        return lbk__set_last(r, "lbk_backend_register: init of backend '%s' failed: %s", iface->name, lbk_result_str(r));
    }
    if (!lbk__reg_put(b)) {
        if (b->iface.prepare_to_exit) b->iface.prepare_to_exit(self);
        lbk__reg_drop(b, reused);
        return lbk__set_last(LBK_ERR_OOM, "lbk_backend_register: out of memory");
    }
    return LBK_OK;
}

LAZYBK_API lbk_result lbk_backend_register(const lbk_backend_i *iface, void *self) {
    lbk_result r;
    lbk__lock(&lbk__reg_lock);
    lbk__ensure_builtins_locked();
    r = lbk__register_locked(iface, self);
    lbk__unlock(&lbk__reg_lock);
    if (r == LBK_OK) lbk__clear_last();
    return r;
}

LAZYBK_API lbk_result lbk_backend_unregister(const char *name) {
    lbk__backend *b;
    ptrdiff_t i;
    if (!name) return lbk__set_last(LBK_ERR_ARG, "lbk_backend_unregister: NULL name");
    lbk__lock(&lbk__reg_lock);
    lbk__ensure_builtins_locked();
    b = lbk__find_locked(name);
    if (!b) {
        lbk__unlock(&lbk__reg_lock);
        return lbk__set_last(LBK_ERR_NOT_FOUND, "lbk_backend_unregister: no backend named '%s'", name);
    }
    if (b->users > 0) {
        int users = b->users;
        lbk__unlock(&lbk__reg_lock);
        return lbk__set_last(LBK_ERR_BUSY, "lbk_backend_unregister: backend '%s' is used by %d live context(s)",
                             name, users);
    }
    if (!lbk__reg_retire(b)) {
        lbk__unlock(&lbk__reg_lock);
        return lbk__set_last(LBK_ERR_OOM, "lbk_backend_unregister: out of memory");
    }
    lbk__reg_del(name);
    for (i = 0; i < arrlen(lbk__reg_list); i++)
        if (lbk__reg_list[i] == b) { arrdel(lbk__reg_list, i); break; }
    b->retiring = true;   /* a re-registration waits for its prepare_to_exit (below) */
    lbk__unlock(&lbk__reg_lock);
    if (!b->exited && b->iface.prepare_to_exit) b->iface.prepare_to_exit(b->self);
    lbk__lock(&lbk__reg_lock);
    b->exited = true;
    b->retiring = false;
    lbk__unlock(&lbk__reg_lock);
    return LBK_OK;
}

LAZYBK_API bool lbk_backend_has(const char *name) {
    bool has;
    if (!name) return false;
    lbk__lock(&lbk__reg_lock);
    lbk__ensure_builtins_locked();
    has = lbk__find_locked(name) != NULL;
    lbk__unlock(&lbk__reg_lock);
    return has;
}

LAZYBK_API const lbk_backend_i *lbk_backend_get(const char *name, void **out_self) {
    lbk__backend *b;
    if (out_self) *out_self = NULL;
    if (!name) { lbk__set_last(LBK_ERR_ARG, "lbk_backend_get: NULL name"); return NULL; }
    lbk__lock(&lbk__reg_lock);
    lbk__ensure_builtins_locked();
    b = lbk__find_locked(name);
    if (b && out_self) *out_self = b->self;
    lbk__unlock(&lbk__reg_lock);
    if (!b) { lbk__set_last(LBK_ERR_NOT_FOUND, "lbk_backend_get: no backend named '%s'", name); return NULL; }
    return &b->iface;   /* the entry outlives an unregister (lbk__reg_retired) */
}

LAZYBK_API int lbk_backend_count(void) {
    int n;
    lbk__lock(&lbk__reg_lock);
    lbk__ensure_builtins_locked();
    n = (int)arrlen(lbk__reg_list);
    lbk__unlock(&lbk__reg_lock);
    return n;
}

LAZYBK_API const char *lbk_backend_name(int i) {
    const char *s = NULL;
    lbk__lock(&lbk__reg_lock);
    lbk__ensure_builtins_locked();
    if (i >= 0 && i < (int)arrlen(lbk__reg_list)) s = lbk__reg_list[i]->name;
    lbk__unlock(&lbk__reg_lock);
    return s;
}

static bool lbk__be_available(const lbk_backend_i *b, void *self);
static lbk__backend *lbk__backend_acquire(const char *name);
static void lbk__backend_release(lbk__backend *b);
LAZYBK_API bool lbk_backend_available(const char *name) {   /* held while asked: unregister waits (LBK_ERR_BUSY) */
    lbk__backend *be = name ? lbk__backend_acquire(name) : NULL;
    bool ok;
    if (!be) { lbk__set_last(name ? LBK_ERR_NOT_FOUND : LBK_ERR_ARG, "lbk_backend_available: %s%s%s", name ? "no backend named '" : "NULL name", name ? name : "", name ? "'" : ""); return false; }
    ok = lbk__be_available(&be->iface, be->self);
    lbk__backend_release(be);
    return ok;
}

LAZYBK_API const char *lbk_backend_default(void) {
    const char *e = getenv("LAZYBK_BACKEND");
    return (e && e[0]) ? e : "cpu";
}

LAZYBK_API lbk_result lbk_shutdown(void) {
    ptrdiff_t i, n;
    lbk__backend **todo = NULL;
    lbk__lock(&lbk__reg_lock);
    n = arrlen(lbk__reg_list);
    if (n > 0) todo = (lbk__backend **)lbk__calloc((size_t)n, sizeof *todo);
    for (i = 0; i < n && todo; i++) {
        todo[i] = lbk__reg_list[i]->exited ? NULL : lbk__reg_list[i];
        lbk__reg_list[i]->exited = true;
    }
    lbk__unlock(&lbk__reg_lock);
    if (n > 0 && !todo) return lbk__set_last(LBK_ERR_OOM, "lbk_shutdown: out of memory");
    /* outside the lock: a backend's prepare_to_exit may call into lazybk */
    for (i = 0; i < n; i++)
        if (todo[i] && todo[i]->iface.prepare_to_exit) todo[i]->iface.prepare_to_exit(todo[i]->self);
    lbk__free(todo);
    return LBK_OK;
}

/* Takes a reference on the backend for a context; NULL with the thread-local error set. */
static lbk__backend *lbk__backend_acquire(const char *name) {
    lbk__backend *b;
    lbk__lock(&lbk__reg_lock);
    lbk__ensure_builtins_locked();
    b = lbk__find_locked(name);
    if (b) { b->users++; b->exited = false; }   /* used again: the next shutdown runs prepare_to_exit again */
    lbk__unlock(&lbk__reg_lock);
    return b;
}
static void lbk__backend_release(lbk__backend *b) {
    lbk__lock(&lbk__reg_lock);
    b->users--;
    lbk__unlock(&lbk__reg_lock);
}

/* ---- the optional members' defaults: one wrapper each, used by every caller ---- */
static bool lbk__be_available(const lbk_backend_i *b, void *self) { return !b->is_available || b->is_available(self); }
static int lbk__be_default_type(const lbk_backend_i *b, void *self) {
    return b->default_device_type ? b->default_device_type(self) : LBK_DEVICE_USER;
}
static int lbk__be_default_ordinal(const lbk_backend_i *b, void *self) {
    return b->default_device_ordinal ? b->default_device_ordinal(self) : 0;
}
static int lbk__be_fallback_type(const lbk_backend_i *b, void *self) {
    return b->fallback_device_type ? b->fallback_device_type(self) : LBK_DEVICE_CPU;
}
/* How many devices (written to out, up to cap); NULL member: one, ordinal 0, of the default type. */
static int lbk__be_devices(const lbk_backend_i *b, void *self, lbk_device *out, int cap) {
    if (b->devices) return b->devices(self, out, cap);
    if (out && cap > 0) { out[0].type = lbk__be_default_type(b, self); out[0].ordinal = 0; }
    return 1;
}
static int lbk__be_compilation_devices(const lbk_backend_i *b, void *self, lbk_device dev, lbk_device *out, int cap) {
    if (b->compilation_devices) return b->compilation_devices(self, dev, out, cap);
    if (out && cap > 0) out[0] = dev;
    return 1;
}
static bool lbk__be_supports(const lbk_backend_i *b, void *self, const lbk_graph *g, uint32_t i) {
    return lbk_graph_node(g, i).op == LBK_OP_PARAM || !b->supports_op || b->supports_op(self, g, i);
}

/* The public device calls: each holds the backend (it cannot be unregistered meanwhile). */
LAZYBK_API int lbk_backend_devices(const char *name, lbk_device *out, int cap) {
    lbk__backend *be;
    int n;
    if (!name) { lbk__set_last(LBK_ERR_ARG, "lbk_backend_devices: NULL name"); return -1; }
    if (cap < 0 || (cap > 0 && !out)) { lbk__set_last(LBK_ERR_ARG, "lbk_backend_devices: cap %d with %s out", cap, out ? "an" : "a NULL"); return -1; }
    if (!(be = lbk__backend_acquire(name))) { lbk__set_last(LBK_ERR_NOT_FOUND, "lbk_backend_devices: no backend named '%s'", name); return -1; }
    n = lbk__be_available(&be->iface, be->self) ? lbk__be_devices(&be->iface, be->self, out, cap) : 0;
    lbk__backend_release(be);
    return n;
}
LAZYBK_API lbk_result lbk_backend_set_default_device(const char *name, int type, int ordinal) {
    lbk__backend *be;
    const lbk_backend_i *b;
    lbk_result r = LBK_OK;
    int n;
    if (!name) return lbk__set_last(LBK_ERR_ARG, "lbk_backend_set_default_device: NULL name");
    if (!(be = lbk__backend_acquire(name))) return lbk__set_last(LBK_ERR_NOT_FOUND, "lbk_backend_set_default_device: no backend named '%s'", name);
    b = &be->iface;
    n = lbk__be_devices(b, be->self, NULL, 0);
    if (type >= 0 && type != lbk__be_default_type(b, be->self) && !b->set_default_device_type)
        r = lbk__set_last(LBK_ERR_UNSUPPORTED, "lbk_backend_set_default_device: backend '%s' has only device type %d (asked %d)", name,
                          lbk__be_default_type(b, be->self), type);
    else if (ordinal < 0 || ordinal >= n)
        r = lbk__set_last(LBK_ERR_ARG, "lbk_backend_set_default_device: backend '%s' has %d device(s); no ordinal %d", name, n, ordinal);
    else if (ordinal != lbk__be_default_ordinal(b, be->self) && !b->set_default_device_ordinal)
        r = lbk__set_last(LBK_ERR_UNSUPPORTED, "lbk_backend_set_default_device: backend '%s' cannot change its default ordinal", name);
    if (r == LBK_OK) {
        if (type >= 0 && b->set_default_device_type) b->set_default_device_type(be->self, type);
        if (b->set_default_device_ordinal) b->set_default_device_ordinal(be->self, ordinal);
        if (lbk__be_default_ordinal(b, be->self) != ordinal)
            r = lbk__set_last(LBK_ERR_ARG, "lbk_backend_set_default_device: backend '%s' refused ordinal %d", name, ordinal);
    }
    lbk__backend_release(be);
    if (r == LBK_OK) lbk__clear_last();
    return r;
}
LAZYBK_API lbk_result lbk_backend_memory_info(const char *name, lbk_device dev, size_t *out_free, size_t *out_total) {
    lbk__backend *be;
    lbk_result r;
    size_t f = 0, t = 0;
    if (out_free) *out_free = 0;
    if (out_total) *out_total = 0;
    if (!name) return lbk__set_last(LBK_ERR_ARG, "lbk_backend_memory_info: NULL name");
    if (!(be = lbk__backend_acquire(name))) return lbk__set_last(LBK_ERR_NOT_FOUND, "lbk_backend_memory_info: no backend named '%s'", name);
    if (!be->iface.memory_info) {
        r = lbk__set_last(LBK_ERR_UNSUPPORTED, "lbk_backend_memory_info: backend '%s' does not report memory", name);
    } else {
        lbk__clear_backend_error();
        r = be->iface.memory_info(be->self, dev, &f, &t);
        if (r != LBK_OK) lbk__set_last(r, "lbk_backend_memory_info: backend '%s', device %d:%d: %s", name, dev.type, dev.ordinal,
                                       lbk__tls_be_msg[0] ? lbk__tls_be_msg : lbk_result_str(r));
    }
    lbk__backend_release(be);
    if (r == LBK_OK) {
        if (out_free) *out_free = f;
        if (out_total) *out_total = t;
        lbk__clear_last();
    }
    return r;
}
LAZYBK_API int lbk_backend_compilation_devices(const char *name, lbk_device dev, lbk_device *out, int cap) {
    lbk__backend *be;
    int n;
    if (!name) { lbk__set_last(LBK_ERR_ARG, "lbk_backend_compilation_devices: NULL name"); return -1; }
    if (cap < 0 || (cap > 0 && !out)) { lbk__set_last(LBK_ERR_ARG, "lbk_backend_compilation_devices: bad out/cap"); return -1; }
    if (!(be = lbk__backend_acquire(name))) { lbk__set_last(LBK_ERR_NOT_FOUND, "lbk_backend_compilation_devices: no backend named '%s'", name); return -1; }
    n = lbk__be_compilation_devices(&be->iface, be->self, dev, out, cap);
    lbk__backend_release(be);
    return n;
}

// >>debug ------------------------------------------------------------------------------
/* Process-wide debug handles. A handle names an (op, call, file, line, module path) site, so the
   table grows with the number of distinct call sites, not with the nodes traced. Files
   are keyed by their text (a binding may pass a fresh or reused buffer per call), module
   paths by their interned address; at most LBK__MAX_SITES sites, after which new ones get
   no handle (their nodes report no location). */
#define LBK__MAX_SITES ((size_t)1 << 20)

typedef struct lbk__site { int op; int line; const char *module_key; const char *call;   /* call: interned, or NULL */
                           char *file; char *module_path; } lbk__site;
static lbk__mutex lbk__debug_lock = LBK__MUTEX_INIT;
static lbk__site *lbk__sites;
static size_t lbk__n_sites, lbk__cap_sites;
static lbk__u64_i64 *lbk__site_map;

static uint64_t lbk__site_key(int op, const char *call, const char *file, int line, const char *module) {
    uint64_t h = 0x12345;
    LBK__HASH(h, op); LBK__HASH(h, (uintptr_t)call); LBK__HASH(h, file ? lbk__fnv1a((const unsigned char *)file, strlen(file)) : 0); LBK__HASH(h, line);
    LBK__HASH(h, (uintptr_t)module);
    return LBK__KEY(lbk__mix64(h));
}

/* Returns the handle of the site, creating it; -1 on OOM or past LBK__MAX_SITES. file is
   matched by its text and copied; module and call are interned (lbk__intern). *out_file
   (if given) gets the site's copy of file. */
static int64_t lbk__site_handle(int op, const char *call, const char *file, int line, const char *module, const char **out_file) {
    uint64_t key = lbk__site_key(op, call, file, line, module);
    int64_t h = -1;
    ptrdiff_t i;
    lbk__site *s;
    lbk__lock(&lbk__debug_lock);
    i = lbk__site_map ? hmgeti(lbk__site_map, key) : -1;
    if (i >= 0) {
        s = &lbk__sites[lbk__site_map[i].value];
        if (s->op == op && s->call == call && s->line == line && s->module_key == module && (s->file && file ? strcmp(s->file, file) == 0 : s->file == file)) {
            h = lbk__site_map[i].value;
            if (out_file) *out_file = s->file;
            lbk__unlock(&lbk__debug_lock);
            return h;
        }
    }
    if (lbk__n_sites < LBK__MAX_SITES && LBK__GROW(lbk__sites, lbk__cap_sites, lbk__n_sites + 1)) {
        s = &lbk__sites[lbk__n_sites];
        memset(s, 0, sizeof *s);
        s->op = op; s->call = call; s->line = line; s->module_key = module;
        s->file = file ? lbk__strdup(file) : NULL;
        s->module_path = module ? lbk__strdup(module) : NULL;
        if ((!file || s->file) && (!module || s->module_path)) {
            h = (int64_t)lbk__n_sites++;
            if (out_file) *out_file = s->file;
            if (i < 0) {   /* a colliding key keeps its first site; the newcomer is still valid */
                /* unmapped on OOM: a later lookup makes a second, equally valid handle */
                (void)lbk__put_i64(&lbk__site_map, key, h);
            }
        } else {
            lbk__free(s->file); lbk__free(s->module_path);
        }
    }
    lbk__unlock(&lbk__debug_lock);
    return h;
}

/* Module paths, interned process-wide (sites compare them by address); NULL on OOM. */
static char **lbk__paths;
static size_t lbk__n_paths, lbk__cap_paths;
static const char *lbk__intern(const char *s) {
    size_t i;
    const char *r = NULL;
    lbk__lock(&lbk__debug_lock);
    for (i = 0; i < lbk__n_paths && !r; i++) if (strcmp(lbk__paths[i], s) == 0) r = lbk__paths[i];
    if (!r && LBK__GROW(lbk__paths, lbk__cap_paths, lbk__n_paths + 1) && (lbk__paths[lbk__n_paths] = lbk__strdup(s)) != NULL)
        r = lbk__paths[lbk__n_paths++];
    lbk__unlock(&lbk__debug_lock);
    return r;
}
/* The handle of h's site with its module path's first component ("top(Type)") replaced by
   prefix: a method traced on its own, run as a child. h itself when it has no path. */
static int64_t lbk__debug_rebase(int64_t h, const char *prefix) {
    int op, line;
    const char *file, *rest, *call;
    char buf[1024];
    lbk__lock(&lbk__debug_lock);
    if (h < 0 || (uint64_t)h >= (uint64_t)lbk__n_sites || !lbk__sites[h].module_path || !prefix) { lbk__unlock(&lbk__debug_lock); return h; }
    op = lbk__sites[h].op;
    call = lbk__sites[h].call;
    line = lbk__sites[h].line;
    file = lbk__sites[h].file;
    rest = strstr(lbk__sites[h].module_path, "::");
    snprintf(buf, sizeof buf, "%s%s", prefix, rest ? rest : "");
    lbk__unlock(&lbk__debug_lock);
    {
        const char *key = lbk__intern(buf);
        int64_t nh = key ? lbk__site_handle(op, call, file, line, key, NULL) : -1;
        return nh >= 0 ? nh : h;
    }
}

LAZYBK_API lbk_result lbk_debug_lookup(int64_t debug_handle, lbk_debug_info *out) {
    lbk_result r = LBK_OK;
    if (!out) return LBK_ERR_ARG;
    memset(out, 0, sizeof *out);
    lbk__lock(&lbk__debug_lock);
    if (debug_handle < 0 || (uint64_t)debug_handle >= (uint64_t)lbk__n_sites) {
        r = LBK_ERR_NOT_FOUND;
    } else {
        const lbk__site *s = &lbk__sites[debug_handle];
        out->op = lbk_op_name((lbk_op)s->op);
        out->call = s->call;
        out->file = s->file;
        out->line = s->line;
        out->module_path = s->module_path;
    }
    lbk__unlock(&lbk__debug_lock);
    return r;
}

/* "file:line", or "" when the node has no recorded location. */
static void lbk__site_str(int64_t handle, char *buf, size_t cap) {
    lbk_debug_info di;
    buf[0] = 0;
    if (lbk_debug_lookup(handle, &di) == LBK_OK && di.file)
        snprintf(buf, cap, "%s:%d", di.file, di.line);
}

// >>ir ---------------------------------------------------------------------------------
/* The context, its nodes (flat array, 32-bit ids, hash-consed) and its tensor handles. */

/* Attributes live inline in the node; the union is zeroed before it is filled, so its
   bytes can be hashed and compared. */
typedef union lbk__attrs {
    struct { uint32_t mask; int32_t axis; uint8_t keepdim; } red;   /* reductions, argmax */
    struct { int8_t p[LAZYBK_MAX_DIMS]; } perm;
    struct { int64_t start, step; int32_t axis; } slice;            /* concat uses axis too */
    struct { double start, step; } ar;
    struct { union { double f; int64_t i; } v; } sc;               /* scalar parameter's value */
    struct { double eps; uint32_t mask; int32_t axis, correction, n_norm;
             uint8_t keepdim, approx, has_w, has_b; } comp;           /* composite ops */
    struct { int32_t stride[2], pad[2], ext[2], groups; } win;      /* conv2d (ext: dilation), conv_transpose2d
                                                                        (ext: output_padding), pools (ext: kernel) */
    struct { double smoothing; int64_t ignore; } ce;                /* cross_entropy */
    uint64_t words[(LAZYBK_MAX_DIMS + 7) / 8 + 3];
} lbk__attrs;

enum {
    LBK__NF_SIDE = 1,      /* inputs in ctx->side at in[0] */
    LBK__NF_SCALAR = 2,    /* parameter holding attrs.sc */
    LBK__NF_WRAPPED = 4,   /* made by lbk_scalar: promotes by kind only */
    LBK__NF_CONSED = 8,    /* present in the hash-consing map */
    LBK__NF_HOSTMEM = 16,  /* data over memory lazybk did not allocate: not counted in mem_held */
    LBK__NF_DONATE = 32    /* a parameter whose data dies with the sync being collected (lbk_graph_param_donated) */
};
#define LBK__NONE UINT32_MAX

typedef struct lbk__node {
    uint64_t hash;
    int64_t debug;
    lbk_data *data;          /* device data of a parameter node */
    uint32_t refs;           /* tensor handles + consuming nodes; 0: free */
    uint32_t n_in;
    uint32_t in[4];          /* or in[0] = offset into ctx->side */
    uint32_t mark, local;    /* sync scratch: visit epoch, index in the collected graph */
    uint32_t plan_val;       /* while a plan is made: 1 + the node's value id in it, 0 for none. Value ids
                                are parameter indices first, then decomposition constants, then the
                                segments' outputs (lbk__plan_params, lbk__plan_segments) */
    uint16_t op;
    uint8_t dtype, n_dims, flags;
    int64_t dims[LAZYBK_MAX_DIMS];
    lbk__attrs attrs;
} lbk__node;

typedef struct lbk__slot { uint32_t node; uint16_t gen; uint8_t live; uint8_t mark; } lbk__slot;   /* mark: scratch of lbk_scope_end */
typedef struct lbk__logent { uint64_t id, serial; } lbk__logent;
typedef struct lbk__plan lbk__plan;
typedef struct lbk__centry { uint64_t hash; lbk__plan *plan; uint64_t used; } lbk__centry;

#define LBK__COUNTER_LIST(X) X(nodes_traced) X(sync) X(compile) X(cache_hit) X(cache_evict) X(execute) \
    X(bytes_to_device) X(bytes_to_host) X(decompositions) X(fallback_nodes) X(nodes_executed) \
    X(donated)
enum {
#define LBK__COUNTER_ENUM(n) LBK__C_##n,
    LBK__COUNTER_LIST(LBK__COUNTER_ENUM)
#undef LBK__COUNTER_ENUM
    LBK__C_COUNT
};
static const char *const lbk__counter_names[] = {
#define LBK__COUNTER_STR(n) #n,
    LBK__COUNTER_LIST(LBK__COUNTER_STR)
#undef LBK__COUNTER_STR
};

typedef struct lbk__dcache { const char *file, *text, *name; int line; int op; int64_t handle; } lbk__dcache;   /* text: the site's copy */

struct lbk_graph {
    uint32_t n, n_params, n_outputs;
    lbk_node *nodes;
    uint32_t *inputs;       /* every node's inputs, concatenated */
    int64_t *dims;          /* every node's dims, concatenated */
    lbk__attrs *attrs;
    uint32_t *params, *outputs;
    int32_t *param_of;      /* node -> parameter index or -1 */
    uint8_t *param_scalar;  /* per parameter: 1 made by lbk_scalar/lbk_full, 2 donated */
};

struct lbk_ctx {
    uint16_t tag;
    uint32_t slot_base;      /* handle slot numbers start after it (lbk__tag_take) */
    volatile uintptr_t owner; /* the thread inside a public call on it (lbk__enter), 0 if none */
    const char *in_backend;  /* the backend member running for it on the owner thread, or NULL */
    bool ballast;            /* lbk__cons_ballast has run */
    lbk__backend *be;
    const lbk_backend_i *iface;
    void *self;
    lbk_device device;
    lbk_result err;
    lbk_result recent;       /* the latest failure recorded (err keeps the first) */
    lbk__str errmsg;
    lbk_log_fn logger;
    void *logger_user;
    int n_threads, cache_capacity;

    lbk__node *nodes;        /* node 0 is never used, so 0 is never a valid id */
    size_t n_nodes, cap_nodes;
    uint32_t free_nodes;     /* free list through in[0] */
    uint32_t *side;
    size_t n_side, cap_side, side_dead;
    lbk__u64_u32 *cons;
    int64_t inherit_debug;   /* >= 0 while decomposing: the debug handle new location-less nodes take */
    size_t n_consed;         /* live nodes flagged CONSED, each owning its map entry */
    uint64_t unique;

    lbk__slot *slots;
    size_t n_slots, cap_slots;
    uint32_t free_slots;     /* free list through node */
    int64_t live;
    lbk__logent *tlog;
    size_t n_tlog, cap_tlog;
    uint64_t serial;

    uint32_t epoch;
    uint64_t *stack;
    uint32_t *order, *roots, *ustack;
    size_t cap_stack, cap_order, cap_roots, cap_ustack, n_order, n_roots;
    lbk_graph graph;         /* built on a cache miss, reused */
    size_t cap_g[8];         /* capacities of graph's arrays */
    lbk_data **args, **outs;
    uint8_t *arg_tmp;        /* per argument of a sync: 1 made for it (a scalar), 2 donated, 4 donated and taken */
    bool view_donate;        /* lbk__build_view marks donated parameters (lbk_graph_param_donated) */
    const int64_t *dmap;     /* while a simple plan executes, the debug handles it was compiled with, */
    uint32_t n_dmap;         /* in ctx->order's order (lbk__backend_failed names this sync's nodes) */
    size_t cap_args, cap_outs, cap_arg_tmp;

    lbk__u64_i64 *cache_map;
    lbk__centry *centries;
    int n_centries;
    size_t cap_centries;
    uint64_t use_clock;

    bool sync_siblings;      /* lbk_ctx_desc.sync_siblings */
    size_t mem_limit;        /* max_memory_bytes; 0: none */
    size_t mem_held;         /* bytes of device data the nodes hold (lbk__mem_hold) */
    size_t mem_plans;        /* bytes the cached plans keep (lbk__plan.mem_bytes) */

    int64_t counters[LBK__C_COUNT];
    uint64_t seed, rng_counter;
    lbk__str text;
    lbk__str texts[4];       /* lbk__text_keep: one per text call kind */
    lbk__dcache dcache[256];
    struct lbk__trace *trace;   /* a method being traced (lbk_method_begin), or NULL */
    const char *module_key;     /* its interned module path, given to the debug handles of traced ops */
    struct lbk__dlx *dl_exports;   /* tensors exported with lbk_to_dlpack, not yet deleted */
};

struct lbk__trace;
static void lbk__trace_end(lbk_ctx *ctx);
static void lbk__dl_detach_all(lbk_ctx *ctx);

/* ---- errors recorded on the context ---- */
static void lbk__ctx_vfail(lbk_ctx *ctx, lbk_result r, const char *where, int64_t dh, const char *fmt, va_list ap) {
    lbk__str msg = {NULL, 0, 0, false};
    char loc[300];
    lbk_debug_info di;
    lbk__site_str(dh, loc, sizeof loc);
    lbk__str_append(&msg, "%s: ", where);
    lbk__str_vappend(&msg, fmt, ap);
    if (lbk_debug_lookup(dh, &di) == LBK_OK && di.module_path)   /* PyTorch's form, then the traced location */
        lbk__str_append(&msg, " (Module hierarchy:%s.%s%s%s)", di.module_path, di.op, loc[0] ? ", traced at " : "", loc);
    else if (loc[0]) lbk__str_append(&msg, " (at %s)", loc);
    ctx->recent = r;
    if (ctx->logger) ctx->logger(ctx->logger_user, LBK_LOG_ERROR, lbk__str_get(&msg));
    if (ctx->err == LBK_OK) {
        ctx->err = r;
        lbk__str_reset(&ctx->errmsg);
        lbk__str_append(&ctx->errmsg, "%s", msg.oom ? lbk_result_str(r) : lbk__str_get(&msg));
    }
    lbk__str_free(&msg);
}
static lbk_result lbk__ctx_fail(lbk_ctx *ctx, lbk_result r, const char *where, int64_t dh, const char *fmt, ...) LBK__PRINTF(5, 6);
static lbk_result lbk__ctx_fail(lbk_ctx *ctx, lbk_result r, const char *where, int64_t dh, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (lbk__result_bogus(r)) {
        char msg[768];
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        lbk__note_bogus(msg, sizeof msg, r);
        return lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, dh, "%s", msg);
    }
    lbk__ctx_vfail(ctx, r, where, dh, fmt, ap);
    va_end(ap);
    return r;
}

/* Call names of sites ("full"), process-wide: each string constant lazybk traces with (lit)
   and its copy, or NULL where the call is its op's own name; names read from module files
   have no lit. At most 256: later ones are not recorded (their sites say only the op). */
static struct { const char *lit; int op; char *name; } lbk__calls[256];
static int lbk__n_calls;
/* The site's call for op traced by the public call name: NULL when name is op's own. With
   by_text, name is matched by its text (a name read from a file). */
static const char *lbk__call_name(int op, const char *name, bool by_text) {
    const char *r = NULL;
    int i;
    if (!name) return NULL;
    lbk__lock(&lbk__debug_lock);
    for (i = 0; i < lbk__n_calls; i++)
        if (by_text ? (lbk__calls[i].name && strcmp(lbk__calls[i].name, name) == 0)
                    : (lbk__calls[i].lit == name && lbk__calls[i].op == op))
            break;
    if (i < lbk__n_calls) r = lbk__calls[i].name;
    else if (i < (int)LBK__COUNTOF(lbk__calls)) {
        bool own = strcmp(name, lbk_op_name((lbk_op)op)) == 0;
        char *copy = own ? NULL : lbk__strdup(name);
        if (own || copy) {
            lbk__calls[i].lit = by_text ? NULL : name;
            lbk__calls[i].op = op;
            lbk__calls[i].name = copy;
            lbk__n_calls++;
            r = copy;
        }
    }
    lbk__unlock(&lbk__debug_lock);
    return r;
}
static const char *lbk__call_of(int op, const char *name) { return lbk__call_name(op, name, false); }
/* Debug handle for a call site, through a small per-context cache before the global table.
   name: the public call tracing it (lazybk's own string constant), or NULL. */
static int64_t lbk__debug_handle(lbk_ctx *ctx, int op, const char *name, const char *file, int line) {
    size_t slot = (size_t)((((uintptr_t)file >> 3) ^ (uintptr_t)line * 31u ^ (uintptr_t)op * 131u) & 255u);
    lbk__dcache *d = &ctx->dcache[slot];
    if (ctx->module_key) return lbk__site_handle(op, lbk__call_of(op, name), file, line, ctx->module_key, NULL);   /* tracing a method */
    /* the same pointer may hold new text (a reused buffer): the cached site's text must match */
    if (d->handle >= 0 && d->file == file && d->line == line && d->op == op && d->name == name && file && d->text &&
        strcmp(d->text, file) == 0)
        return d->handle;
    d->text = NULL;
    d->handle = lbk__site_handle(op, lbk__call_of(op, name), file, line, NULL, &d->text);
    d->file = file; d->line = line; d->op = op; d->name = name;
    return d->handle;
}

/* An op's failure: "lbk_<op>: <detail> (at file:line)". */
typedef struct lbk__opctx { lbk_ctx *ctx; const char *name; const char *file; int line; int op; } lbk__opctx;
static lbk_tensor lbk__op_fail(const lbk__opctx *oc, lbk_result r, const char *fmt, ...) LBK__PRINTF(3, 4);
static lbk_tensor lbk__op_fail(const lbk__opctx *oc, lbk_result r, const char *fmt, ...) {
    va_list ap;
    lbk_tensor none = {0};
    char where[64];
    snprintf(where, sizeof where, "lbk_%s", oc->name);
    va_start(ap, fmt);
    lbk__ctx_vfail(oc->ctx, r, where, lbk__debug_handle(oc->ctx, oc->op, oc->name, oc->file, oc->line), fmt, ap);
    va_end(ap);
    return none;
}

/* ---- nodes ---- */
static const uint32_t *lbk__inputs(const lbk_ctx *ctx, const lbk__node *n) {
    return (n->flags & LBK__NF_SIDE) ? ctx->side + n->in[0] : n->in;
}

/* ---- memory accounting (max_memory_bytes) ----
   mem_held follows the nodes' data: added where a node gets data, taken off where it lets
   it go. Sizes of live nodes never overflow (the shape rules check them). */
static size_t lbk__node_bytes(const lbk__node *n) {
    return (size_t)lbk__numel(n->n_dims, n->dims) * lbk_dtype_size((lbk_dtype)n->dtype);
}
static void lbk__mem_hold(lbk_ctx *ctx, const lbk__node *n) {
    if (!(n->flags & LBK__NF_HOSTMEM)) ctx->mem_held += lbk__node_bytes(n);
}
static void lbk__mem_drop(lbk_ctx *ctx, const lbk__node *n) {
    size_t b = (n->flags & LBK__NF_HOSTMEM) ? 0 : lbk__node_bytes(n);
    LAZYBK_ASSERT(ctx->mem_held >= b);
    ctx->mem_held -= b;
}
/* The public call that traced n ("full"), or its op's name. */
static const char *lbk__node_call(const lbk__node *n) {
    lbk_debug_info di;
    if (lbk_debug_lookup(n->debug, &di) == LBK_OK && di.call) return di.call;
    return lbk_op_name((lbk_op)n->op);
}
/* Whether need more bytes fit under the limit. */
static bool lbk__mem_fits(const lbk_ctx *ctx, size_t need) {
    size_t used = ctx->mem_held + ctx->mem_plans;
    return ctx->mem_limit == 0 || (used <= ctx->mem_limit && need <= ctx->mem_limit - used);
}

static uint64_t lbk__node_hash(const lbk_ctx *ctx, const lbk__node *p, const uint32_t *in) {
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;
    LBK__HASH(h, p->op); LBK__HASH(h, p->dtype); LBK__HASH(h, p->n_dims); LBK__HASH(h, p->flags & LBK__NF_WRAPPED);
    for (i = 0; i < p->n_dims; i++) LBK__HASH(h, p->dims[i]);
    for (i = 0; i < LBK__COUNTOF(p->attrs.words); i++) LBK__HASH(h, p->attrs.words[i]);
    for (i = 0; i < p->n_in; i++) LBK__HASH(h, ctx->nodes[in[i]].hash);
    return LBK__KEY(lbk__mix64(h));
}

static bool lbk__node_same(const lbk_ctx *ctx, const lbk__node *a, const lbk__node *p, const uint32_t *in) {
    if (a->op != p->op || a->dtype != p->dtype || a->n_dims != p->n_dims || a->n_in != p->n_in ||
        (a->flags & LBK__NF_WRAPPED) != (p->flags & LBK__NF_WRAPPED))
        return false;
    if (memcmp(a->dims, p->dims, sizeof(int64_t) * p->n_dims) != 0) return false;
    if (memcmp(&a->attrs, &p->attrs, sizeof a->attrs) != 0) return false;
    return memcmp(lbk__inputs(ctx, a), in, sizeof(uint32_t) * p->n_in) == 0;
}

static void lbk__side_compact(lbk_ctx *ctx) {
    size_t i, w = 0, k;
    uint32_t *fresh = NULL;
    size_t cap = 0;
    if (!LBK__GROW(fresh, cap, ctx->n_side - ctx->side_dead + 1)) return;
    for (i = 1; i < ctx->n_nodes; i++) {
        lbk__node *n = &ctx->nodes[i];
        if (n->refs == 0 || !(n->flags & LBK__NF_SIDE)) continue;
        for (k = 0; k < n->n_in; k++) fresh[w + k] = ctx->side[n->in[0] + k];
        n->in[0] = (uint32_t)w;
        w += n->n_in;
    }
    lbk__free(ctx->side);
    ctx->side = fresh; ctx->cap_side = cap; ctx->n_side = w; ctx->side_dead = 0;
}

/* Drops one reference; frees nodes whose count reaches zero, iteratively (no recursion:
   a 100,000-deep chain must not overflow the stack). */
static void lbk__unref(lbk_ctx *ctx, uint32_t id) {
    size_t top = 0;
    if (!LBK__GROW(ctx->ustack, ctx->cap_ustack, 16)) return;
    ctx->ustack[top++] = id;
    while (top) {
        uint32_t x = ctx->ustack[--top], k;
        lbk__node *n = &ctx->nodes[x];
        const uint32_t *in;
        LAZYBK_ASSERT(n->refs > 0);
        if (--n->refs > 0) continue;
        if (n->data) { lbk__mem_drop(ctx, n); ctx->iface->data_free(ctx->self, n->data); n->data = NULL; }
        if (n->flags & LBK__NF_CONSED) { ctx->n_consed--; lbk__del_u32(&ctx->cons, n->hash); }
        in = lbk__inputs(ctx, n);
        if (!LBK__GROW(ctx->ustack, ctx->cap_ustack, top + n->n_in)) {
            n->n_in = 0;   /* OOM: leak the inputs rather than recurse */
        }
        for (k = 0; k < n->n_in; k++) ctx->ustack[top++] = in[k];
        if (n->flags & LBK__NF_SIDE) ctx->side_dead += n->n_in;
        n->flags = 0;
        n->op = LBK_OP_INVALID;
        n->in[0] = ctx->free_nodes;
        ctx->free_nodes = x;
    }
    if (ctx->side_dead > 4096 && ctx->side_dead * 2 > ctx->n_side) lbk__side_compact(ctx);
}

/* Makes (or finds, by hash-consing) the node p with inputs in; LBK__NONE on OOM.
   unique: never shared (parameters, random ops). The new node has refs 0; the caller
   wraps it in a tensor or feeds it to another node. */
/* The live node a cons entry names, or LBK__NONE if there is none yet (an entry just
   inserted, or left by an allocation that failed). A CONSED node always owns the entry
   of its hash: entries are deleted when their node is freed or materialised. */
static uint32_t lbk__cons_live(const lbk_ctx *ctx, ptrdiff_t slot) {
    uint32_t e = ctx->cons[slot].value;
    const lbk__node *n;
    if (e == 0 || e >= ctx->n_nodes) return LBK__NONE;
    n = &ctx->nodes[e];
    if (n->op == LBK_OP_INVALID || !(n->flags & LBK__NF_CONSED) || n->hash != ctx->cons[slot].key) return LBK__NONE;
    return e;
}

static void lbk__cons_ballast(lbk_ctx *ctx);
static uint32_t lbk__mk(lbk_ctx *ctx, lbk__node *p, const uint32_t *in, uint32_t n_in, bool unique,
                        const char *name, const char *file, int line) {
    uint32_t id, k;
    lbk__node *n;
    ptrdiff_t slot = -1;   /* cons entry to point at the new node */
    p->n_in = n_in;
    if (unique) {
        p->hash = LBK__KEY(lbk__mix64(++ctx->unique ^ 0x5555555555555555ULL));
    } else {
        bool inserted = false;
        p->hash = lbk__node_hash(ctx, p, in);
        if (!ctx->ballast && ctx->n_consed >= 64) lbk__cons_ballast(ctx);
        slot = lbk__slot_u32(&ctx->cons, p->hash, &inserted);   /* -1 on OOM: the node is made, not shared */
        if (slot >= 0 && !inserted) {
            uint32_t e = lbk__cons_live(ctx, slot);
            if (e != LBK__NONE) {
                if (lbk__node_same(ctx, &ctx->nodes[e], p, in)) return e;
                slot = -1;   /* a true collision: the entry keeps its node, the new one is not shared */
            }
        }
    }
    if (n_in > 4) {
        if (ctx->n_side + n_in > UINT32_MAX || !LBK__GROW(ctx->side, ctx->cap_side, ctx->n_side + n_in))
            return LBK__NONE;
    }
    if (ctx->free_nodes != 0) {
        id = ctx->free_nodes;
        ctx->free_nodes = ctx->nodes[id].in[0];
    } else {
        if (ctx->n_nodes >= UINT32_MAX - 1 || !LBK__GROW(ctx->nodes, ctx->cap_nodes, ctx->n_nodes + 1))
            return LBK__NONE;
        id = (uint32_t)ctx->n_nodes++;
        ctx->nodes[id].mark = 0;
    }
    n = &ctx->nodes[id];
    {
        uint32_t mark = n->mark;
        *n = *p;
        n->mark = mark;
    }
    n->refs = 0;
    n->data = p->data;
    n->debug = (!file && ctx->inherit_debug >= 0) ? ctx->inherit_debug : lbk__debug_handle(ctx, p->op, name, file, line);
    if (n_in > 4) {
        n->flags |= LBK__NF_SIDE;
        n->in[0] = (uint32_t)ctx->n_side;
        memcpy(ctx->side + ctx->n_side, in, sizeof(uint32_t) * n_in);
        ctx->n_side += n_in;
    } else {
        for (k = 0; k < n_in; k++) n->in[k] = in[k];
    }
    for (k = 0; k < n_in; k++) ctx->nodes[in[k]].refs++;
    if (slot >= 0) {
        ctx->cons[slot].value = id;
        n->flags |= LBK__NF_CONSED;
        ctx->n_consed++;
    }
    ctx->counters[LBK__C_nodes_traced]++;
    return id;
}

/* Frees a node that nothing references (an op that failed half-way). */
static void lbk__drop_orphan(lbk_ctx *ctx, uint32_t id) {
    if (id != LBK__NONE && id != 0 && ctx->nodes[id].refs == 0) {
        ctx->nodes[id].refs = 1;
        lbk__unref(ctx, id);
    }
}

/* ---- tensor handles: [tag:16][generation:16][slot_base + slot index + 1:32] ----
   A tag is reused by a later context only with a slot_base past every slot number the
   tag's earlier contexts issued, so a handle of a destroyed context never resolves. */
/* Ballast: entries no node owns (value 0 is never a node). They keep the hash-consing
   table from shrinking and growing again every time a loop step traces and releases its
   graph; a real node with a colliding key simply takes the entry over. Added once a
   context has traced a graph of some size, so that creating a context stays cheap. */
static void lbk__cons_ballast(lbk_ctx *ctx) {
    uint64_t i;
    ctx->ballast = true;
    for (i = 0; i < 1024; i++) {
        bool ins = false;
        ptrdiff_t slot = lbk__slot_u32(&ctx->cons, LBK__KEY(lbk__mix64(i * 0x9e3779b97f4a7c15ULL + 0x1234567ULL)), &ins);
        if (slot < 0) break;   /* OOM: no ballast, only slower */
        if (ins) ctx->cons[slot].value = 0;
    }
}
/* ---- one thread at a time: every public call that takes a context holds it ----
   lbk__enter returns 1 (taken: lbk__leave gives it back), 2 (this thread holds it
   already: a call nested in lazybk's own work) or 0 with LBK_ERR_BUSY in lbk_last_error
   (another thread holds it, or a backend member running for it called back in). A
   refused call touches nothing of the context, not even its sticky error. */
static LBK__TLS char lbk__tls_me;
static int lbk__enter(lbk_ctx *ctx, const char *call) {
    uintptr_t me = (uintptr_t)&lbk__tls_me;
    if (!ctx) return 2;   /* the call reports the NULL context itself */
    if (lbk__owner_get(&ctx->owner) == me) {
        if (!ctx->in_backend) return 2;
        lbk__set_last(LBK_ERR_BUSY, "lbk_%s: called from inside backend '%s' %s on the context it is running for "
                      "(lazybk is not re-entrant on one context; use another context)", call, ctx->be->name, ctx->in_backend);
        return 0;
    }
    if (lbk__owner_take(&ctx->owner, me)) return 1;
    lbk__set_last(LBK_ERR_BUSY, "lbk_%s: context is in use by another thread (a context belongs to one thread at a time)", call);
    return 0;
}
static void lbk__leave(lbk_ctx *ctx, int held) {
    if (held == 1 && ctx) lbk__owner_put(&ctx->owner);   /* ctx is never NULL here; said so for gcc 12's -Wstringop-overflow */
}
#define LBK__GUARD(T, c, call_name, fail, call)              \
    do {                                                     \
        lbk_ctx *c_ = (c);                                   \
        T r_;                                                \
        int g_ = lbk__enter(c_, call_name);                  \
        if (!g_) return fail;                                \
        r_ = call;                                           \
        lbk__leave(c_, g_);                                  \
        return r_;                                           \
    } while (0)
#define LBK__GUARD_VOID(c, call_name, call)                  \
    do {                                                     \
        lbk_ctx *c_ = (c);                                   \
        int g_ = lbk__enter(c_, call_name);                  \
        if (!g_) return;                                     \
        call;                                                \
        lbk__leave(c_, g_);                                  \
    } while (0)

static uint32_t lbk__slot_ix(const lbk_ctx *ctx, uint64_t id) { return (uint32_t)id - ctx->slot_base - 1; }
static lbk_tensor lbk__wrap(lbk_ctx *ctx, uint32_t node, const lbk__opctx *oc) {
    lbk_tensor t = {0};
    uint32_t s;
    lbk__slot *sl;
    if (node == LBK__NONE) { lbk__op_fail(oc, LBK_ERR_OOM, "out of memory"); return t; }
    if (ctx->n_tlog >= ctx->cap_tlog && ctx->n_tlog > (size_t)ctx->live * 2 + 64) {
        size_t i, w = 0;   /* forget log entries of released handles */
        for (i = 0; i < ctx->n_tlog; i++) {
            uint64_t id = ctx->tlog[i].id;
            lbk__slot *x = &ctx->slots[lbk__slot_ix(ctx, id)];
            if (x->live && x->gen == (uint16_t)(id >> 32)) ctx->tlog[w++] = ctx->tlog[i];
        }
        ctx->n_tlog = w;
    }
    if (!LBK__GROW(ctx->tlog, ctx->cap_tlog, ctx->n_tlog + 1)) goto oom;
    if (ctx->free_slots != 0) {
        s = ctx->free_slots - 1;
        ctx->free_slots = ctx->slots[s].node;
    } else {
        if (ctx->n_slots >= (size_t)(UINT32_MAX - 1 - ctx->slot_base) || !LBK__GROW(ctx->slots, ctx->cap_slots, ctx->n_slots + 1)) goto oom;
        s = (uint32_t)ctx->n_slots++;
        ctx->slots[s].gen = 1;
        ctx->slots[s].mark = 0;
    }
    sl = &ctx->slots[s];
    sl->node = node;
    sl->live = 1;
    ctx->nodes[node].refs++;
    ctx->live++;
    t.id = ((uint64_t)ctx->tag << 48) | ((uint64_t)sl->gen << 32) | (uint64_t)(ctx->slot_base + s + 1);
    ctx->tlog[ctx->n_tlog].id = t.id;
    ctx->tlog[ctx->n_tlog].serial = ctx->serial++;
    ctx->n_tlog++;
    return t;
oom:
    lbk__drop_orphan(ctx, node);
    lbk__op_fail(oc, LBK_ERR_OOM, "out of memory");
    return t;
}

/* Resolves a handle without recording anything: LBK_OK, LBK_ERR_ARG ({0}) or LBK_ERR_STALE. */
static bool lbk__handle_retired(uint64_t id);
static lbk_result lbk__resolve(const lbk_ctx *ctx, lbk_tensor t, uint32_t *out_node, const char **out_why) {
    uint32_t s;
    const lbk__slot *sl;
    if (t.id == 0) { *out_why = "invalid tensor handle {0}"; return LBK_ERR_ARG; }
    if ((uint16_t)(t.id >> 48) != ctx->tag) {
        *out_why = lbk__handle_retired(t.id) ? "tensor handle belongs to a destroyed context" : "tensor handle belongs to another context";
        return LBK_ERR_STALE;
    }
    s = (uint32_t)t.id;
    if (s != 0 && s <= ctx->slot_base) { *out_why = "tensor handle belongs to a destroyed context"; return LBK_ERR_STALE; }
    s -= ctx->slot_base;
    if (s == 0 || s > ctx->n_slots) { *out_why = "tensor handle was never issued"; return LBK_ERR_STALE; }
    sl = &ctx->slots[s - 1];
    if (!sl->live || sl->gen != (uint16_t)(t.id >> 32)) { *out_why = "tensor handle was released"; return LBK_ERR_STALE; }
    *out_node = sl->node;
    return LBK_OK;
}

/* An op's tensor argument; records the error (index is the argument's position). */
static bool lbk__arg(const lbk__opctx *oc, lbk_tensor t, int index, uint32_t *out_node) {
    const char *why = "";
    lbk_result r = lbk__resolve(oc->ctx, t, out_node, &why);
    if (r == LBK_OK) return true;
    if (r == LBK_ERR_ARG && oc->ctx->err != LBK_OK) return false;   /* {0} propagates quietly */
    lbk__op_fail(oc, r, "argument %d: %s", index, why);
    return false;
}

static void lbk__release_slot(lbk_ctx *ctx, uint32_t s) {
    lbk__slot *sl = &ctx->slots[s];
    uint32_t node = sl->node;
    sl->live = 0;
    ctx->live--;
    if (sl->gen != UINT16_MAX) {   /* at the last generation the slot is never reused: a wrapped one could revive stale handles */
        sl->gen++;
        sl->node = ctx->free_slots;
        ctx->free_slots = s + 1;
    }
    lbk__unref(ctx, node);
}

static void lbk__shape_of(const lbk_ctx *ctx, uint32_t id, char *buf, size_t cap) {
    const lbk__node *n = &ctx->nodes[id];
    lbk__shape_str(buf, cap, (lbk_dtype)n->dtype, n->n_dims, n->dims);
}

// >>ops --------------------------------------------------------------------------------
/* Graph-building calls: check arguments, infer shape and dtype through the op's rule,
   insert the casts that promotion needs, and make the node. Nothing is computed here. */

#define LBK__OPCTX(oc, opname, opid) \
    lbk__opctx oc; oc.ctx = ctx; oc.name = opname; oc.file = file; oc.line = line; oc.op = (int)(opid)
#define LBK__NULL_TENSOR_IF(cond) do { if (cond) return lbk__null_tensor(); } while (0)
/* Opens a builder over one tensor argument: a NULL context or a bad t returns the null
   tensor (the error is set on the context), otherwise a is t's node id. Declares oc. */
#define LBK__OP1(oc, opname, opid, t, a) \
    LBK__NULL_TENSOR_IF(!ctx); \
    LBK__OPCTX(oc, opname, opid); \
    if (!lbk__arg(&oc, (t), 0, &(a))) return lbk__null_tensor()

static lbk_scope lbk__scope_none(void) {
    lbk_scope s;
    s.mark = 0;
    return s;
}
static lbk_tensor lbk__null_tensor(void) {
    lbk_tensor z = {0};
    return z;
}

static void lbk__proto(lbk__node *p, lbk_op op, lbk_dtype dt, int n_dims, const int64_t *dims) {
    memset(p, 0, sizeof *p);
    p->op = (uint16_t)op;
    p->dtype = (uint8_t)dt;
    p->n_dims = (uint8_t)n_dims;
    if (n_dims) memcpy(p->dims, dims, sizeof(int64_t) * (size_t)n_dims);
}

/* ---- shape and dtype rules ----
   One rule per op family (the op table's rule column): what a node of the op over inputs
   of these dtypes and shapes, with these attributes, is, or why there is none. The
   builders call it on the user's arguments (after turning them into attributes), the
   module-file validator on every loaded node, lbk_backend_check through the builders: the
   three can never disagree. A rule records the casts the inputs need; a graph node's
   inputs carry them already. */
typedef struct lbk__ty { lbk_dtype dt; int n_dims; const int64_t *dims; bool wrapped; } lbk__ty;
typedef struct lbk__opdef lbk__opdef;
typedef struct lbk__rin {
    lbk_op op;
    const lbk__opdef *def;
    const lbk__ty *in;
    uint32_t n_in;
    const lbk__attrs *at;
    lbk__ty want;   /* the dtype and shape asked for where the op is given its result rather than
                       inferring it (cast, reshape, expand, slice's length, arange, random, param) */
    bool node;      /* checking an existing node (a loaded file): no 1-d matmul operands, no identity */
} lbk__rin;
typedef struct lbk__rout {
    lbk_dtype dt;
    int n_dims;
    int64_t dims[LAZYBK_MAX_DIMS];
    lbk_dtype cast0, cast;   /* input 0 and the others are cast to these first (0: as they are) */
    bool keep1;              /* but input 1 (an index or start) is never cast */
    bool identity;           /* the op is its input 0 here (floor of an integer tensor...) */
    lbk_result r;
    char msg[400];
} lbk__rout;

/* An op's attribute fields: name, type and place in lbk__attrs. Printed by lbk_ir_text and
   written field by field to module files. */
enum { LBK__AF_END = 0, LBK__AF_BOOL, LBK__AF_I32, LBK__AF_I64, LBK__AF_F64, LBK__AF_AXES, LBK__AF_PERM };
typedef struct lbk__afield { const char *name; uint8_t type; uint16_t off; } lbk__afield;
typedef bool (*lbk__rule_fn)(const lbk__rin *a, lbk__rout *o);
struct lbk__opdef {
    const char *name;
    lbk_op_kind kind;
    int n_min, n_max;
    lbk__rule_fn rule;
    int dtr;
    const lbk__afield *attrs;
    unsigned flags;
    const char *schema;
    lbk_decomp_fn decomp;   /* composites: the built-in decomposition */
};

/* The dtype rules of the table's dt column. */
enum { LBK__DT_KEEP = 1, LBK__DT_SAME, LBK__DT_NOBOOL, LBK__DT_FLOAT, LBK__DT_INTID, LBK__DT_CMP, LBK__DT_LOGIC,
       LBK__DT_SUM, LBK__DT_MEAN };

static bool lbk__rfail(lbk__rout *o, lbk_result r, const char *fmt, ...) LBK__PRINTF(3, 4);
static bool lbk__rfail(lbk__rout *o, lbk_result r, const char *fmt, ...) {
    va_list ap;
    o->r = r;
    va_start(ap, fmt);
    vsnprintf(o->msg, sizeof o->msg, fmt, ap);
    va_end(ap);
    return false;
}
static void lbk__ty_str(const lbk__ty *t, char *buf, size_t cap) { lbk__shape_str(buf, cap, t->dt, t->n_dims, t->dims); }
static void lbk__rout_set(lbk__rout *o, lbk_dtype dt, int n_dims, const int64_t *dims) {
    o->dt = dt;
    o->n_dims = n_dims;
    if (n_dims) memmove(o->dims, dims, sizeof(int64_t) * (size_t)n_dims);
}
/* The result's size must be representable (every element count and byte size fits). */
static bool lbk__rule_size(lbk__rout *o) {
    char s[256];
    const char *why = lbk__dims_why(o->n_dims, o->dims, o->dt);
    if (!why) return true;
    lbk__shape_str(s, sizeof s, o->dt, o->n_dims, o->dims);
    return lbk__rfail(o, LBK_ERR_SHAPE, "result %s %s", s, why);
}
/* The float dtype a composite computes in for an input of dtype dt. */
static lbk_dtype lbk__float_of(lbk_dtype dt) { return lbk__is_float(dt) ? dt : LBK_F32; }
/* Promotion of two operands (wrapped scalars count by kind only) and of a list (by rank). */
static lbk_dtype lbk__promote_ty(const lbk__ty *a, const lbk__ty *b) {
    if (a->wrapped != b->wrapped) {
        lbk_dtype ds = a->wrapped ? a->dt : b->dt, dtn = a->wrapped ? b->dt : a->dt;   /* scalar, tensor */
        if (lbk__kind(ds) > lbk__kind(dtn)) return lbk__kind(ds) == 2 ? LBK_F32 : LBK_I64;
        return dtn;
    }
    return lbk_dtype_promote(a->dt, b->dt);
}
static bool lbk__broadcast(int na, const int64_t *da, int nb, const int64_t *db, int *out_n, int64_t *out) {
    int n = LBK__MAX(na, nb), i;
    for (i = 0; i < n; i++) {
        int64_t x = i < n - na ? 1 : da[i - (n - na)];
        int64_t y = i < n - nb ? 1 : db[i - (n - nb)];
        if (x != y && x != 1 && y != 1) return false;
        out[i] = x == 1 ? y : x;
    }
    *out_n = n;
    return true;
}
/* The dims left after reducing mask (kept as 1 with keepdim); returns their number. */
static int lbk__reduced_dims(int nd, const int64_t *dims, uint32_t mask, bool keepdim, int64_t *od) {
    int i, on = 0;
    for (i = 0; i < nd; i++) {
        if (!(mask & (1u << i))) od[on++] = dims[i];
        else if (keepdim) od[on++] = 1;
    }
    return on;
}
static bool lbk__mask_fits(uint32_t mask, int nd) { return nd >= 32 || (mask >> nd) == 0; }

static bool lbk__rule_param(const lbk__rin *a, lbk__rout *o) {
    lbk__rout_set(o, a->want.dt, a->want.n_dims, a->want.dims);
    return lbk__rule_size(o);
}

/* Elementwise unary, binary, comparison and logical ops: broadcast, then the dtype rule. */
static bool lbk__rule_ew(const lbk__rin *a, lbk__rout *o) {
    char s0[256], s1[256];
    lbk_dtype dt = a->in[0].dt;
    int nd = a->in[0].n_dims;
    int64_t dims[LAZYBK_MAX_DIMS];
    if (nd) memcpy(dims, a->in[0].dims, sizeof(int64_t) * (size_t)nd);
    if (a->n_in == 2) {
        if (!lbk__broadcast(a->in[0].n_dims, a->in[0].dims, a->in[1].n_dims, a->in[1].dims, &nd, dims)) {
            lbk__ty_str(&a->in[0], s0, sizeof s0);
            lbk__ty_str(&a->in[1], s1, sizeof s1);
            return lbk__rfail(o, LBK_ERR_SHAPE, "cannot broadcast %s with %s", s0, s1);
        }
        dt = lbk__promote_ty(&a->in[0], &a->in[1]);
    }
    o->cast0 = o->cast = dt;
    switch (a->def->dtr) {
    case LBK__DT_NOBOOL:
        if (dt == LBK_BOOL)
            return lbk__rfail(o, LBK_ERR_DTYPE, a->n_in == 1 ? "not defined for bool tensors" : "not defined for two bool operands");
        break;
    case LBK__DT_FLOAT: if (!lbk__is_float(dt)) o->cast0 = o->cast = dt = LBK_F32; break;
    case LBK__DT_INTID: if (!lbk__is_float(dt)) o->identity = true; break;
    case LBK__DT_CMP: dt = LBK_BOOL; break;
    case LBK__DT_LOGIC: o->cast0 = o->cast = dt = LBK_BOOL; break;
    default: break;
    }
    lbk__rout_set(o, dt, nd, dims);
    return lbk__rule_size(o);
}

static bool lbk__rule_where(const lbk__rin *a, lbk__rout *o) {
    int nd = a->in[0].n_dims, i, tn;
    int64_t dims[LAZYBK_MAX_DIMS], tmp[LAZYBK_MAX_DIMS];
    char s0[256], s1[256], s2[256];
    lbk__ty_str(&a->in[0], s0, sizeof s0);
    if (a->in[0].dt != LBK_BOOL) return lbk__rfail(o, LBK_ERR_DTYPE, "condition %s must be bool", s0);
    if (nd) memcpy(dims, a->in[0].dims, sizeof(int64_t) * (size_t)nd);
    for (i = 1; i < 3; i++) {
        if (!lbk__broadcast(nd, dims, a->in[i].n_dims, a->in[i].dims, &tn, tmp)) {
            lbk__ty_str(&a->in[1], s1, sizeof s1);
            lbk__ty_str(&a->in[2], s2, sizeof s2);
            return lbk__rfail(o, LBK_ERR_SHAPE, "cannot broadcast %s, %s and %s", s0, s1, s2);
        }
        nd = tn;
        if (nd) memcpy(dims, tmp, sizeof(int64_t) * (size_t)nd);
    }
    o->cast0 = LBK_BOOL;
    o->cast = lbk__promote_ty(&a->in[1], &a->in[2]);
    lbk__rout_set(o, o->cast, nd, dims);
    return lbk__rule_size(o);
}

static bool lbk__rule_cast(const lbk__rin *a, lbk__rout *o) {
    if (!lbk__dtype_ok(a->want.dt)) return lbk__rfail(o, LBK_ERR_DTYPE, "unknown dtype %d", (int)a->want.dt);
    if (a->in[0].dt == a->want.dt) {
        if (a->node) return lbk__rfail(o, LBK_ERR_DTYPE, "a cast to the dtype it has");
        o->identity = true;
    }
    lbk__rout_set(o, a->want.dt, a->in[0].n_dims, a->in[0].dims);
    return true;
}

static bool lbk__rule_reduce(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    uint32_t mask = a->at->red.mask;
    int i, dtr = a->def->dtr;
    char s[256];
    lbk_dtype dt = x->dt;
    if (!lbk__mask_fits(mask, x->n_dims) || (x->n_dims == 0 && mask)) return lbk__rfail(o, LBK_ERR_ARG, "axes outside the tensor");
    for (i = 0; i < x->n_dims; i++)
        if ((mask & (1u << i)) && x->dims[i] == 0 && dtr == LBK__DT_KEEP) {
            lbk__ty_str(x, s, sizeof s);
            return lbk__rfail(o, LBK_ERR_SHAPE, "cannot reduce %s over zero-size axis %d", s, i);
        }
    if (dtr == LBK__DT_SUM && !lbk__is_float(dt)) dt = LBK_I64;
    if (dtr == LBK__DT_MEAN && !lbk__is_float(dt)) dt = LBK_F32;
    o->cast0 = dt;
    o->dt = dt;
    o->n_dims = lbk__reduced_dims(x->n_dims, x->dims, mask, a->at->red.keepdim != 0, o->dims);
    return true;
}

static bool lbk__rule_argmax(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    int ax = a->at->red.axis;
    char s[256];
    if (x->n_dims > 0 ? (ax < 0 || ax >= x->n_dims || a->at->red.mask != 1u << ax) : (ax != 0 || a->at->red.mask != 0))
        return lbk__rfail(o, LBK_ERR_ARG, "axis %d outside the tensor", ax);
    if (x->n_dims && x->dims[ax] == 0) {
        lbk__ty_str(x, s, sizeof s);
        return lbk__rfail(o, LBK_ERR_SHAPE, "cannot take argmax of %s over zero-size axis %d", s, ax);
    }
    o->dt = LBK_I64;
    o->n_dims = lbk__reduced_dims(x->n_dims, x->dims, a->at->red.mask, a->at->red.keepdim != 0, o->dims);
    return true;
}

/* torch.matmul: a 1-d operand is [1,K] (left) or [K,1] (right); the builder reshapes it so
   and the node's own operands are at least 2-d. The result is the node's: batch dims,
   then M and N (1 where an operand was 1-d). */
static bool lbk__rule_matmul(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0], *y = &a->in[1];
    char sa[256], sb[256];
    int na, nb, nbatch = 0, i;
    int64_t da[LAZYBK_MAX_DIMS + 1], db[LAZYBK_MAX_DIMS + 1], bd[LAZYBK_MAX_DIMS];
    lbk_dtype dt;
    lbk__ty_str(x, sa, sizeof sa);
    lbk__ty_str(y, sb, sizeof sb);
    if (x->n_dims < (a->node ? 2 : 1) || y->n_dims < (a->node ? 2 : 1))
        return lbk__rfail(o, LBK_ERR_SHAPE, "needs tensors of at least %d dim%s, got %s and %s", a->node ? 2 : 1, a->node ? "s" : "", sa, sb);
    dt = lbk__promote_ty(x, y);
    if (dt == LBK_BOOL) return lbk__rfail(o, LBK_ERR_DTYPE, "not defined for bool tensors %s and %s", sa, sb);
    na = x->n_dims; nb = y->n_dims;
    if (na == 1) { da[0] = 1; da[1] = x->dims[0]; na = 2; } else memcpy(da, x->dims, sizeof(int64_t) * (size_t)na);
    if (nb == 1) { db[0] = y->dims[0]; db[1] = 1; nb = 2; } else memcpy(db, y->dims, sizeof(int64_t) * (size_t)nb);
    if (da[na - 1] != db[nb - 2]) return lbk__rfail(o, LBK_ERR_SHAPE, "inner dimensions differ: %s @ %s", sa, sb);
    if (!lbk__broadcast(na - 2, da, nb - 2, db, &nbatch, bd))
        return lbk__rfail(o, LBK_ERR_SHAPE, "batch dimensions of %s and %s cannot be broadcast", sa, sb);
    if (nbatch + 2 > LAZYBK_MAX_DIMS) return lbk__rfail(o, LBK_ERR_SHAPE, "result of %s @ %s has too many dims", sa, sb);
    for (i = 0; i < nbatch; i++) o->dims[i] = bd[i];
    o->dims[nbatch] = da[na - 2];
    o->dims[nbatch + 1] = db[nb - 1];
    o->n_dims = nbatch + 2;
    o->dt = o->cast0 = o->cast = dt;
    return lbk__rule_size(o);
}

static bool lbk__rule_reshape(const lbk__rin *a, lbk__rout *o) {
    char s[256], s2[256];
    int64_t total = lbk__numel(a->in[0].n_dims, a->in[0].dims);
    lbk__rout_set(o, a->in[0].dt, a->want.n_dims, a->want.dims);
    if (!lbk__dims_valid(o->n_dims, o->dims, o->dt) || lbk__numel(o->n_dims, o->dims) != total) {
        lbk__ty_str(&a->in[0], s, sizeof s);
        lbk__shape_str(s2, sizeof s2, o->dt, o->n_dims, o->dims);
        return lbk__rfail(o, LBK_ERR_SHAPE, "cannot reshape %s (%lld elements) to %s", s, (long long)total, s2);
    }
    o->identity = o->n_dims == a->in[0].n_dims && (o->n_dims == 0 || memcmp(o->dims, a->in[0].dims, sizeof(int64_t) * (size_t)o->n_dims) == 0);
    return true;
}

static bool lbk__rule_permute(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    uint32_t seen = 0;
    int d;
    char s[256];
    o->identity = true;
    for (d = 0; d < x->n_dims; d++) {
        int p = a->at->perm.p[d];
        if (p < 0 || p >= x->n_dims || (seen >> p & 1u)) {
            lbk__ty_str(x, s, sizeof s);
            return lbk__rfail(o, LBK_ERR_ARG, "perm of %s names axis %d %s", s, p, p < 0 || p >= x->n_dims ? "outside it" : "twice");
        }
        seen |= 1u << p;
        o->dims[d] = x->dims[p];
        if (p != d) o->identity = false;
    }
    for (; d < LAZYBK_MAX_DIMS; d++)
        if (a->at->perm.p[d] != 0) return lbk__rfail(o, LBK_ERR_ARG, "perm has more entries than the tensor has dims");
    o->dt = x->dt;
    o->n_dims = x->n_dims;
    return true;
}

static bool lbk__rule_expand(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    int i, nd = a->want.n_dims;
    char s[256], s2[256];
    lbk__rout_set(o, x->dt, nd, a->want.dims);
    for (i = 0; i < nd; i++) {
        int j = i - (nd - x->n_dims);
        int64_t src = j >= 0 ? x->dims[j] : 1;
        if (nd < x->n_dims || o->dims[i] < 0 || (src != 1 && src != o->dims[i])) {
            lbk__ty_str(x, s, sizeof s);
            lbk__shape_str(s2, sizeof s2, x->dt, nd, o->dims);
            return lbk__rfail(o, LBK_ERR_SHAPE, "cannot expand %s to %s", s, s2);
        }
    }
    if (nd < x->n_dims) return lbk__rfail(o, LBK_ERR_SHAPE, "cannot expand to fewer dims");
    if (!lbk__rule_size(o)) return false;
    o->identity = nd == x->n_dims && (nd == 0 || memcmp(o->dims, x->dims, sizeof(int64_t) * (size_t)nd) == 0);
    return true;
}

static bool lbk__rule_slice(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    int ax = a->at->slice.axis, d;
    int64_t len, start = a->at->slice.start, step = a->at->slice.step;
    char s[256];
    lbk__ty_str(x, s, sizeof s);
    if (x->n_dims == 0) return lbk__rfail(o, LBK_ERR_SHAPE, "cannot slice 0-d tensor %s", s);
    if (ax < 0 || ax >= x->n_dims || step == 0 || step == INT64_MIN || start < 0 || a->want.n_dims != x->n_dims)
        return lbk__rfail(o, LBK_ERR_ARG, "slice of %s: bad axis, start or step", s);
    for (d = 0; d < x->n_dims; d++)
        if (d != ax && a->want.dims[d] != x->dims[d]) return lbk__rfail(o, LBK_ERR_SHAPE, "slice of %s changes a dim other than its axis", s);
    len = a->want.dims[ax];
    if (len < 0 || (len > 0 && (start >= x->dims[ax] || (len - 1) > (step > 0 ? (x->dims[ax] - 1 - start) / step : start / -step))))
        return lbk__rfail(o, LBK_ERR_SHAPE, "slice of %s: %lld elements from %lld by %lld run past the axis", s, (long long)len,
                          (long long)start, (long long)step);
    lbk__rout_set(o, x->dt, x->n_dims, a->want.dims);
    o->identity = start == 0 && len == x->dims[ax] && (step == 1 || len <= 1);
    return true;
}

static bool lbk__rule_concat(const lbk__rin *a, lbk__rout *o) {
    int nd = a->in[0].n_dims, ax = a->at->slice.axis, j;
    uint32_t i;
    lbk_dtype dt = a->in[0].dt;
    char s0[256], s1[256];
    if (nd == 0) return lbk__rfail(o, LBK_ERR_SHAPE, "cannot concatenate 0-d tensors");
    if (ax < 0 || ax >= nd) return lbk__rfail(o, LBK_ERR_ARG, "axis %d outside the tensors", ax);
    lbk__rout_set(o, dt, nd, a->in[0].dims);
    for (i = 1; i < a->n_in; i++) {
        const lbk__ty *x = &a->in[i];
        bool ok = x->n_dims == nd;
        for (j = 0; ok && j < nd; j++) ok = j == ax || x->dims[j] == o->dims[j];
        if (!ok) {
            lbk__ty_str(&a->in[0], s0, sizeof s0);
            lbk__ty_str(x, s1, sizeof s1);
            return lbk__rfail(o, LBK_ERR_SHAPE, "tensor %u %s does not match tensor 0 %s outside axis %d", i, s1, s0, ax);
        }
        if (o->dims[ax] > INT64_MAX - x->dims[ax]) return lbk__rfail(o, LBK_ERR_SHAPE, "result is too large");
        o->dims[ax] += x->dims[ax];
        dt = lbk_dtype_promote(dt, x->dt);
    }
    o->dt = o->cast0 = o->cast = dt;
    o->identity = a->n_in == 1;
    return lbk__rule_size(o);
}

/* index_select: t's shape with axis replaced by the index's; the index an integer tensor. */
static bool lbk__rule_index_select(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0], *ix = &a->in[1];
    int ax = a->at->slice.axis, nd;
    char s0[256], s1[256];
    lbk__ty_str(x, s0, sizeof s0);
    lbk__ty_str(ix, s1, sizeof s1);
    if (x->n_dims == 0) return lbk__rfail(o, LBK_ERR_SHAPE, "cannot index 0-d tensor %s", s0);
    if (ax < 0 || ax >= x->n_dims) return lbk__rfail(o, LBK_ERR_ARG, "axis %d outside %s", ax, s0);
    if (lbk__is_float(ix->dt) || ix->dt == LBK_BOOL) return lbk__rfail(o, LBK_ERR_DTYPE, "index %s must be an integer tensor", s1);
    nd = x->n_dims - 1 + ix->n_dims;
    if (nd > LAZYBK_MAX_DIMS) return lbk__rfail(o, LBK_ERR_SHAPE, "indexing %s by %s makes more than %d dims", s0, s1, LAZYBK_MAX_DIMS);
    o->dt = o->cast0 = x->dt;
    o->cast = ix->dt;
    o->n_dims = nd;
    if (ax) memcpy(o->dims, x->dims, sizeof(int64_t) * (size_t)ax);
    if (ix->n_dims) memcpy(o->dims + ax, ix->dims, sizeof(int64_t) * (size_t)ix->n_dims);
    if (x->n_dims - 1 - ax) memcpy(o->dims + ax + ix->n_dims, x->dims + ax + 1, sizeof(int64_t) * (size_t)(x->n_dims - 1 - ax));
    return lbk__rule_size(o);
}

/* The index ops' common checks: t not 0-d, the axis inside it, input 1 an integer tensor
   of at most max_nd dims (0-d only, for a start); the strings of t and input 1 in s0, s1. */
static bool lbk__rule_indexed(const lbk__rin *a, lbk__rout *o, int max_nd, char *s0, char *s1) {
    const lbk__ty *x = &a->in[0], *ix = &a->in[1];
    int ax = a->at->slice.axis;
    const char *what = max_nd == 0 ? "start" : "index";
    lbk__ty_str(x, s0, 256);
    lbk__ty_str(ix, s1, 256);
    if (x->n_dims == 0) return lbk__rfail(o, LBK_ERR_SHAPE, "cannot index 0-d tensor %s", s0);
    if (ax < 0 || ax >= x->n_dims) return lbk__rfail(o, LBK_ERR_ARG, "axis %d outside %s", ax, s0);
    if (lbk__is_float(ix->dt) || ix->dt == LBK_BOOL) return lbk__rfail(o, LBK_ERR_DTYPE, "%s %s must be an integer tensor", what, s1);
    if (ix->n_dims > max_nd)
        return lbk__rfail(o, LBK_ERR_SHAPE, max_nd == 0 ? "start %s must be a 0-d tensor" : "index %s must have at most %d dims", s1, max_nd);
    o->dt = o->cast0 = o->cast = x->dt;
    o->keep1 = true;
    lbk__rout_set(o, x->dt, x->n_dims, x->dims);
    return true;
}
/* dims of y (named what) against x's: equal (but along axis, where at most x's when le_ax),
   or at most x's everywhere (le_all); n_dims equal. */
static bool lbk__rule_dims_fit(lbk__rout *o, const lbk__ty *y, const lbk__ty *x, int ax, bool le_ax, bool le_all, const char *sy,
                               const char *sx, const char *how) {
    int d;
    bool ok = y->n_dims == x->n_dims;
    for (d = 0; ok && d < x->n_dims; d++)
        ok = le_all ? y->dims[d] <= x->dims[d] : d == ax ? (!le_ax || y->dims[d] <= x->dims[d]) : y->dims[d] == x->dims[d];
    if (!ok) return lbk__rfail(o, LBK_ERR_SHAPE, "%s does not fit %s (%s)", sy, sx, how);
    return true;
}
/* gather: index has t's n_dims, each dim but axis at most t's; the result is index's shape. */
static bool lbk__rule_gather(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0], *ix = &a->in[1];
    char s0[256], s1[256];
    int d;
    if (!lbk__rule_indexed(a, o, LAZYBK_MAX_DIMS, s0, s1)) return false;
    for (d = 0; d < x->n_dims; d++)
        if (ix->n_dims != x->n_dims || (d != a->at->slice.axis && ix->dims[d] > x->dims[d]))
            return lbk__rfail(o, LBK_ERR_SHAPE, "index %s must have the dims of %s, at most its size but along axis %d", s1, s0,
                              a->at->slice.axis);
    lbk__rout_set(o, x->dt, ix->n_dims, ix->dims);
    return lbk__rule_size(o);
}
/* scatter_add(t, index, src): index, src and t of one n_dims; index at most src
   everywhere and at most t but along axis; src in t's dtype; the result is t's. */
static bool lbk__rule_scatter_add(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0], *ix = &a->in[1], *sr = &a->in[2];
    char s0[256], s1[256], s2[256];
    int d;
    if (!lbk__rule_indexed(a, o, LAZYBK_MAX_DIMS, s0, s1)) return false;
    lbk__ty_str(sr, s2, sizeof s2);
    if (!lbk__rule_dims_fit(o, ix, sr, 0, false, true, s1, s2, "index at most src in every dim")) return false;
    for (d = 0; d < x->n_dims; d++)
        if (ix->n_dims != x->n_dims || (d != a->at->slice.axis && ix->dims[d] > x->dims[d]))
            return lbk__rfail(o, LBK_ERR_SHAPE, "index %s does not fit %s (at most its size but along axis %d)", s1, s0, a->at->slice.axis);
    return true;
}
/* index_add(t, index, src): index 0-d or 1-d; src is t's shape with axis index's length. */
static bool lbk__rule_index_add(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0], *ix = &a->in[1], *sr = &a->in[2];
    char s0[256], s1[256], s2[256];
    int ax = a->at->slice.axis;
    if (!lbk__rule_indexed(a, o, 1, s0, s1)) return false;
    lbk__ty_str(sr, s2, sizeof s2);
    if (!lbk__rule_dims_fit(o, sr, x, ax, false, false, s2, s0, "src must have t's dims but along axis")) return false;
    if (sr->dims[ax] != (ix->n_dims ? ix->dims[0] : 1))
        return lbk__rfail(o, LBK_ERR_SHAPE, "src %s has %lld slices along axis %d, index %s has %lld", s2, (long long)sr->dims[ax], ax, s1,
                          (long long)(ix->n_dims ? ix->dims[0] : 1));
    return true;
}
/* slice_dyn(t, start): start 0-d integer; the result is t's shape with the length asked
   for (at most t's) along axis. */
static bool lbk__rule_slice_dyn(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    char s0[256], s1[256];
    int ax = a->at->slice.axis;
    lbk__ty w;
    if (!lbk__rule_indexed(a, o, 0, s0, s1)) return false;
    w = a->want; w.dt = x->dt;
    if (a->want.n_dims != x->n_dims || !a->want.dims || a->want.dims[ax] < 0) return lbk__rfail(o, LBK_ERR_SHAPE, "slice_dyn of %s: bad length", s0);
    if (!lbk__rule_dims_fit(o, &w, x, ax, true, false, "the slice", s0, "a length of at most the axis")) {
        snprintf(o->msg, sizeof o->msg, "length %lld is longer than axis %d of %s", (long long)a->want.dims[ax], ax, s0);
        return false;
    }
    lbk__rout_set(o, x->dt, x->n_dims, a->want.dims);
    return true;
}
/* slice_update(t, start, src): src in t's dtype, t's shape but at most t's along axis. */
static bool lbk__rule_slice_update(const lbk__rin *a, lbk__rout *o) {
    char s0[256], s1[256], s2[256];
    if (!lbk__rule_indexed(a, o, 0, s0, s1)) return false;
    lbk__ty_str(&a->in[2], s2, sizeof s2);
    return lbk__rule_dims_fit(o, &a->in[2], &a->in[0], a->at->slice.axis, true, false, s2, s0, "src must have t's dims, at most its size along axis");
}

static bool lbk__rule_arange(const lbk__rin *a, lbk__rout *o) {
    if (a->want.dt == LBK_BOOL) return lbk__rfail(o, LBK_ERR_DTYPE, "arange does not make bool tensors");
    if (!isfinite(a->at->ar.start) || !isfinite(a->at->ar.step) || a->at->ar.step == 0)
        return lbk__rfail(o, LBK_ERR_ARG, "start %g, step %g: step must be nonzero and both finite", a->at->ar.start, a->at->ar.step);
    if (a->want.n_dims != 1) return lbk__rfail(o, LBK_ERR_SHAPE, "arange is 1-d");
    lbk__rout_set(o, a->want.dt, 1, a->want.dims);
    return lbk__rule_size(o);
}

static bool lbk__rule_random(const lbk__rin *a, lbk__rout *o) {
    if (!lbk__is_float(a->want.dt))
        return lbk__rfail(o, LBK_ERR_DTYPE, "random values need f32 or f64, not %s", lbk_dtype_name(a->want.dt));
    if (a->in[0].dt != LBK_I64 || a->in[0].n_dims != 0) return lbk__rfail(o, LBK_ERR_ARG, "the seed must be an i64 scalar");
    lbk__rout_set(o, a->want.dt, a->want.n_dims, a->want.dims);
    return lbk__rule_size(o);
}

/* softmax, log_softmax: the input's shape, a float dtype, an axis inside. */
static bool lbk__rule_axis_ok(const lbk__rin *a, lbk__rout *o) {
    int nd = a->in[0].n_dims, ax = a->at->comp.axis;
    if (nd ? (ax < 0 || ax >= nd) : ax != 0) return lbk__rfail(o, LBK_ERR_ARG, "axis %d outside the tensor", ax);
    o->dt = o->cast0 = lbk__float_of(a->in[0].dt);
    return true;
}
static bool lbk__rule_softmax(const lbk__rin *a, lbk__rout *o) {
    if (!lbk__rule_axis_ok(a, o)) return false;
    lbk__rout_set(o, o->dt, a->in[0].n_dims, a->in[0].dims);
    return true;
}
static bool lbk__rule_logsumexp(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    if (!lbk__rule_axis_ok(a, o)) return false;
    o->n_dims = lbk__reduced_dims(x->n_dims, x->dims, x->n_dims ? 1u << a->at->comp.axis : 0, a->at->comp.keepdim != 0, o->dims);
    return true;
}
static bool lbk__rule_act(const lbk__rin *a, lbk__rout *o) {
    o->cast0 = lbk__float_of(a->in[0].dt);
    lbk__rout_set(o, o->cast0, a->in[0].n_dims, a->in[0].dims);
    return true;
}
static bool lbk__rule_var(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    if (a->at->comp.correction < 0) return lbk__rfail(o, LBK_ERR_ARG, "correction %d is negative", a->at->comp.correction);
    if (!lbk__mask_fits(a->at->comp.mask, x->n_dims) || (x->n_dims == 0 && a->at->comp.mask))
        return lbk__rfail(o, LBK_ERR_ARG, "axes outside the tensor");
    o->dt = o->cast0 = lbk__float_of(x->dt);
    o->n_dims = lbk__reduced_dims(x->n_dims, x->dims, a->at->comp.mask, a->at->comp.keepdim != 0, o->dims);
    return true;
}
/* scaled_dot_product_attention: q [..., Hq, L, E], k [..., Hk, S, E], v [..., Hk, S, Ev]
   (one dtype, a float; the dims before the heads equal; Hq a multiple of Hk: grouped-query),
   then the mask if has_mask: bool (true attends) or q's dtype (added), broadcastable to
   [..., Hq, L, S]. The result is [..., Hq, L, Ev]. */
static bool lbk__rule_sdpa(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *q = &a->in[0], *k = &a->in[1], *v = &a->in[2];
    int nd = q->n_dims, d;
    char sq[256], sk[256], sv[256], sm[256];
    lbk__ty_str(q, sq, sizeof sq);
    lbk__ty_str(k, sk, sizeof sk);
    lbk__ty_str(v, sv, sizeof sv);
    if (a->n_in != 3u + (a->at->comp.has_w != 0)) return lbk__rfail(o, LBK_ERR_ARG, "inputs do not match has_mask");
    if (!lbk__is_float(q->dt) || k->dt != q->dt || v->dt != q->dt)
        return lbk__rfail(o, LBK_ERR_DTYPE, "query, key and value must share one float dtype, not %s, %s, %s", sq, sk, sv);
    if (nd < 2 || k->n_dims != nd || v->n_dims != nd)
        return lbk__rfail(o, LBK_ERR_SHAPE, "query %s, key %s and value %s must have one rank, at least 2", sq, sk, sv);
    for (d = 0; d < nd - 3; d++)
        if (k->dims[d] != q->dims[d] || v->dims[d] != q->dims[d])
            return lbk__rfail(o, LBK_ERR_SHAPE, "query %s, key %s and value %s differ in batch dim %d", sq, sk, sv, d);
    if (nd >= 3 && (v->dims[nd - 3] != k->dims[nd - 3] || (k->dims[nd - 3] == 0 ? q->dims[nd - 3] != 0 : q->dims[nd - 3] % k->dims[nd - 3] != 0)))
        return lbk__rfail(o, LBK_ERR_SHAPE, "the heads of query %s must be a multiple of key %s's, and key's and value %s's equal", sq, sk, sv);
    if (k->dims[nd - 1] != q->dims[nd - 1] || v->dims[nd - 2] != k->dims[nd - 2])
        return lbk__rfail(o, LBK_ERR_SHAPE, "query %s, key %s and value %s: needs [..., L, E], [..., S, E], [..., S, Ev]", sq, sk, sv);
    if (!isfinite(a->at->comp.eps) || a->at->comp.eps < 0) return lbk__rfail(o, LBK_ERR_ARG, "scale %g must be finite and >= 0 (0: 1/sqrt(E))", a->at->comp.eps);
    if (a->n_in == 4) {
        const lbk__ty *m = &a->in[3];
        int off = nd - m->n_dims;
        lbk__ty_str(m, sm, sizeof sm);
        if (a->at->comp.approx) return lbk__rfail(o, LBK_ERR_ARG, "takes a mask or is_causal, not both (mask %s)", sm);
        if (m->dt != LBK_BOOL && m->dt != q->dt) return lbk__rfail(o, LBK_ERR_DTYPE, "the mask %s must be bool or %s", sm, lbk_dtype_name(q->dt));
        if (off < 0) return lbk__rfail(o, LBK_ERR_SHAPE, "the mask %s has more dims than the scores", sm);
        for (d = 0; d < m->n_dims; d++) {
            int64_t want = d + off == nd - 1 ? k->dims[nd - 2] : q->dims[d + off];
            if (m->dims[d] != 1 && m->dims[d] != want)
                return lbk__rfail(o, LBK_ERR_SHAPE, "the mask %s does not broadcast to the scores of query %s and key %s", sm, sq, sk);
        }
    }
    o->cast0 = o->cast = (lbk_dtype)0;   /* as they are: a bool mask stays bool */
    lbk__rout_set(o, q->dt, nd, q->dims);
    o->dims[nd - 1] = v->dims[nd - 1];
    return lbk__rule_size(o);
}
/* The window attributes of conv2d, conv_transpose2d and the pools: stride >= 1, padding
   >= 0; ext is the dilation (>= 1), the output padding (>= 0, < stride) or the pool's kernel
   (>= 1, padding at most half of it); groups >= 1 (convolutions). */
static bool lbk__rule_win_attrs(const lbk__rin *a, lbk__rout *o) {
    const lbk__attrs *at = a->at;
    int d;
    bool conv = a->op == LBK_OP_CONV2D, tr = a->op == LBK_OP_CONV_TRANSPOSE2D;
    for (d = 0; d < 2; d++) {
        int32_t s = at->win.stride[d], p = at->win.pad[d], e = at->win.ext[d];
        if (s < 1) return lbk__rfail(o, LBK_ERR_ARG, "stride[%d] = %d must be >= 1", d, (int)s);
        if (p < 0) return lbk__rfail(o, LBK_ERR_ARG, "padding[%d] = %d must be >= 0", d, (int)p);
        if (conv && e < 1) return lbk__rfail(o, LBK_ERR_ARG, "dilation[%d] = %d must be >= 1", d, (int)e);
        if (tr && (e < 0 || e >= s)) return lbk__rfail(o, LBK_ERR_ARG, "output_padding[%d] = %d must be in [0, stride %d)", d, (int)e, (int)s);
        if (!conv && !tr && (e < 1 || p > e / 2))
            return lbk__rfail(o, LBK_ERR_ARG, "kernel[%d] = %d must be >= 1 and padding[%d] = %d at most half of it", d, (int)e, d, (int)p);
    }
    if ((conv || tr) && at->win.groups < 1) return lbk__rfail(o, LBK_ERR_ARG, "groups %d must be >= 1", (int)at->win.groups);
    return true;
}
/* The output size of a window along one dim: floor((in + 2 pad - span) / stride) + 1 where
   span is the (dilated) kernel's extent; -1 when the padded input is shorter than it. */
static int64_t lbk__win_out(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
    int64_t span;
    if (k < 1 || k - 1 > (INT64_MAX / 4) / dil) return -1;
    span = dil * (k - 1) + 1;
    if (in + 2 * pad < span) return -1;
    return (in + 2 * pad - span) / stride + 1;
}
/* conv2d: x [N, C, H, W], w [O, C/groups, kh, kw]; conv_transpose2d: w [C, O/groups, kh, kw];
   then the bias [O] when there are three inputs. Float dtypes (promoted); integer images
   are cast by the caller. */
static bool lbk__rule_conv(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0], *w = &a->in[1];
    bool tr = a->op == LBK_OP_CONV_TRANSPOSE2D;
    int64_t g = a->at->win.groups, cin, cout;
    int d;
    char sx[256], sw[256], sb[256];
    lbk_dtype dt = lbk__promote_ty(x, w);
    lbk__ty_str(x, sx, sizeof sx);
    lbk__ty_str(w, sw, sizeof sw);
    if (a->n_in == 3) dt = lbk_dtype_promote(dt, a->in[2].dt);
    if (!lbk__is_float(dt)) return lbk__rfail(o, LBK_ERR_DTYPE, "needs float tensors, got %s and %s (cast integer images with lbk_cast)", sx, sw);
    if (x->n_dims != 4 || w->n_dims != 4) return lbk__rfail(o, LBK_ERR_SHAPE, "needs x [N, C, H, W] and a 4-d weight, got %s and %s", sx, sw);
    if (!lbk__rule_win_attrs(a, o)) return false;
    cin = x->dims[1];
    if (!tr) {
        cout = w->dims[0];
        if (cin % g || cout % g || w->dims[1] * g != cin)
            return lbk__rfail(o, LBK_ERR_SHAPE, "weight %s must be [O, C/groups, kh, kw] with C = %lld and O divisible by groups %lld (x %s)", sw,
                              (long long)cin, (long long)g, sx);
    } else {
        if (w->dims[0] != cin || cin % g || w->dims[1] > INT64_MAX / g)
            return lbk__rfail(o, LBK_ERR_SHAPE, "weight %s must be [C = %lld, O/groups, kh, kw] with C divisible by groups %lld (x %s)", sw,
                              (long long)cin, (long long)g, sx);
        cout = w->dims[1] * g;
    }
    if (a->n_in == 3 && !(a->in[2].n_dims == 1 && a->in[2].dims[0] == cout)) {
        lbk__ty_str(&a->in[2], sb, sizeof sb);
        return lbk__rfail(o, LBK_ERR_SHAPE, "bias %s must be [%lld]", sb, (long long)cout);
    }
    lbk__rout_set(o, dt, 4, x->dims);
    o->dims[1] = cout;
    for (d = 0; d < 2; d++) {
        int64_t in = x->dims[2 + d], k = w->dims[2 + d], s = a->at->win.stride[d], p = a->at->win.pad[d], e = a->at->win.ext[d];
        if (k < 1) return lbk__rfail(o, LBK_ERR_SHAPE, "weight %s has an empty kernel", sw);
        if (!tr) {
            o->dims[2 + d] = lbk__win_out(in, k, s, p, e);
            if (o->dims[2 + d] < 0)
                return lbk__rfail(o, LBK_ERR_SHAPE, "the kernel of weight %s (dilation %lld) is larger than x %s padded by %lld along dim %d", sw,
                                  (long long)e, sx, (long long)p, 2 + d);
        } else {   /* (in - 1) stride - 2 pad + k + output_padding */
            if (in > (INT64_MAX / 4) / s || k > INT64_MAX / 4) return lbk__rfail(o, LBK_ERR_SHAPE, "the result of x %s and weight %s is too large", sx, sw);
            o->dims[2 + d] = (in - 1) * s - 2 * p + k + e;
            if (in == 0 || o->dims[2 + d] < 1)
                return lbk__rfail(o, LBK_ERR_SHAPE, "x %s, weight %s, stride %lld, padding %lld give no output along dim %d", sx, sw, (long long)s,
                                  (long long)p, 2 + d);
        }
    }
    o->cast0 = o->cast = dt;
    return lbk__rule_size(o);
}
/* max_pool2d, avg_pool2d: x [N, C, H, W] or [C, H, W]; max keeps the dtype (not bool), avg
   a float one. */
static bool lbk__rule_pool(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    int nd = x->n_dims, d;
    char sx[256];
    lbk__ty_str(x, sx, sizeof sx);
    if (nd != 3 && nd != 4) return lbk__rfail(o, LBK_ERR_SHAPE, "needs x [N, C, H, W] or [C, H, W], got %s", sx);
    if (x->dt == LBK_BOOL || (a->op == LBK_OP_AVG_POOL2D && !lbk__is_float(x->dt)))
        return lbk__rfail(o, LBK_ERR_DTYPE, "is not defined for %s", sx);
    if (!lbk__rule_win_attrs(a, o)) return false;
    lbk__rout_set(o, x->dt, nd, x->dims);
    for (d = 0; d < 2; d++) {
        o->dims[nd - 2 + d] = lbk__win_out(x->dims[nd - 2 + d], a->at->win.ext[d], a->at->win.stride[d], a->at->win.pad[d], 1);
        if (o->dims[nd - 2 + d] < 0)
            return lbk__rfail(o, LBK_ERR_SHAPE, "kernel %dx%d is larger than x %s padded by %d along dim %d", (int)a->at->win.ext[0],
                              (int)a->at->win.ext[1], sx, (int)a->at->win.pad[d], nd - 2 + d);
    }
    return true;
}
/* interpolate_nearest2d: x [N, C, H, W] or [C, H, W] to the asked [.., out_h, out_w], both
   sizes at least 1 (as PyTorch). */
static bool lbk__rule_interp(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    int nd = x->n_dims;
    char sx[256], sw[256];
    lbk__ty_str(x, sx, sizeof sx);
    lbk__shape_str(sw, sizeof sw, x->dt, a->want.n_dims, a->want.dims);
    if (nd != 3 && nd != 4) return lbk__rfail(o, LBK_ERR_SHAPE, "needs x [N, C, H, W] or [C, H, W], got %s", sx);
    if (a->want.n_dims != nd || memcmp(a->want.dims, x->dims, sizeof(int64_t) * (size_t)(nd - 2)) != 0)
        return lbk__rfail(o, LBK_ERR_SHAPE, "cannot resize %s to %s: only the last two dims change", sx, sw);
    if (x->dims[nd - 2] < 1 || x->dims[nd - 1] < 1 || a->want.dims[nd - 2] < 1 || a->want.dims[nd - 1] < 1)
        return lbk__rfail(o, LBK_ERR_SHAPE, "cannot resize %s to %s: sizes must be at least 1", sx, sw);
    lbk__rout_set(o, x->dt, nd, a->want.dims);
    return lbk__rule_size(o);
}
/* cumsum (integers and bool summed in i64), argsort (i64 positions) along comp.axis. */
static bool lbk__rule_scan(const lbk__rin *a, lbk__rout *o) {
    lbk_dtype dt = a->in[0].dt;
    if (!lbk__rule_axis_ok(a, o)) return false;
    if (a->op == LBK_OP_CUMSUM) o->cast0 = dt = lbk__is_float(dt) ? dt : LBK_I64;
    else { o->cast0 = (lbk_dtype)0; dt = LBK_I64; }
    lbk__rout_set(o, dt, a->in[0].n_dims, a->in[0].dims);
    return true;
}
/* The per-channel inputs of batch_norm and group_norm: each [C] of x [N, C, ...]; names[k]
   says what input 1 + k is. The result dtype is x's float dtype promoted with theirs. */
static bool lbk__rule_channels(const lbk__rin *a, lbk__rout *o, const char *const *names) {
    const lbk__ty *x = &a->in[0];
    lbk_dtype dt = lbk__float_of(x->dt);
    uint32_t k;
    char sx[256], sw[256];
    lbk__ty_str(x, sx, sizeof sx);
    if (x->n_dims < 2) return lbk__rfail(o, LBK_ERR_SHAPE, "needs x [N, C, ...], got %s", sx);
    if (!(a->at->comp.eps >= 0) || !isfinite(a->at->comp.eps)) return lbk__rfail(o, LBK_ERR_ARG, "eps %g must be finite and >= 0", a->at->comp.eps);
    for (k = 1; k < a->n_in; k++) {
        const lbk__ty *w = &a->in[k];
        lbk__ty_str(w, sw, sizeof sw);
        if (w->n_dims != 1 || w->dims[0] != x->dims[1])
            return lbk__rfail(o, LBK_ERR_SHAPE, "%s %s must be [%lld] for x %s", names[k - 1], sw, (long long)x->dims[1], sx);
        if (w->dt == LBK_BOOL) return lbk__rfail(o, LBK_ERR_DTYPE, "%s %s must not be bool", names[k - 1], sw);
        dt = lbk_dtype_promote(dt, w->dt);
    }
    o->cast0 = o->cast = dt;
    lbk__rout_set(o, dt, x->n_dims, x->dims);
    return true;
}
/* batch_norm: x, running mean, running var, then the weight if has_w, then the bias if has_b. */
static bool lbk__rule_bn(const lbk__rin *a, lbk__rout *o) {
    const char *names[4] = {"running_mean", "running_var", "weight", "bias"};
    if (a->n_in != 3u + (a->at->comp.has_w != 0) + (a->at->comp.has_b != 0)) return lbk__rfail(o, LBK_ERR_ARG, "inputs do not match has_weight/has_bias");
    if (!a->at->comp.has_w) names[2] = "bias";
    return lbk__rule_channels(a, o, names);
}
/* group_norm: x, then the weight if has_w, then the bias if has_b; num_groups divides C. */
static bool lbk__rule_gn(const lbk__rin *a, lbk__rout *o) {
    const char *names[2] = {"weight", "bias"};
    int32_t g = a->at->comp.n_norm;
    if (a->n_in != 1u + (a->at->comp.has_w != 0) + (a->at->comp.has_b != 0)) return lbk__rfail(o, LBK_ERR_ARG, "inputs do not match has_weight/has_bias");
    if (!a->at->comp.has_w) names[0] = "bias";
    if (!lbk__rule_channels(a, o, names)) return false;
    if (g < 1 || a->in[0].dims[1] % g) return lbk__rfail(o, LBK_ERR_SHAPE, "num_groups %d must be >= 1 and divide the %lld channels", (int)g, (long long)a->in[0].dims[1]);
    return true;
}
/* rope: x [..., T, D] (float; integers in f32), positions: integer [T]; rot_dims even in
   [2, D]; base finite > 0. */
static bool lbk__rule_rope(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0], *p = &a->in[1];
    int nd = x->n_dims, rot = a->at->comp.n_norm;
    char sx[256], sp[256];
    lbk__ty_str(x, sx, sizeof sx);
    lbk__ty_str(p, sp, sizeof sp);
    if (nd < 2 || nd >= LAZYBK_MAX_DIMS) return lbk__rfail(o, LBK_ERR_SHAPE, "needs x [..., T, D] of 2 to %d dims, got %s", LAZYBK_MAX_DIMS - 1, sx);
    if (!lbk__is_int(p->dt) || p->n_dims != 1 || p->dims[0] != x->dims[nd - 2])
        return lbk__rfail(o, LBK_ERR_SHAPE, "positions %s must be integer [T = %lld] for x %s", sp, (long long)x->dims[nd - 2], sx);
    if (rot < 2 || rot % 2 || rot > x->dims[nd - 1]) return lbk__rfail(o, LBK_ERR_ARG, "rot_dims %d must be even and in [2, D] for x %s", rot, sx);
    if (!(a->at->comp.eps > 0) || !isfinite(a->at->comp.eps)) return lbk__rfail(o, LBK_ERR_ARG, "base %g must be finite and > 0", a->at->comp.eps);
    o->cast0 = lbk__float_of(x->dt);
    o->keep1 = true;
    lbk__rout_set(o, o->cast0, nd, x->dims);
    return true;
}
/* cross_entropy: logits [N, C] with integer targets [N], or [C] with a 0-d target; a 0-d
   float result (the mean over the rows whose target is not ignore_index). */
static bool lbk__rule_ce(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0], *t = &a->in[1];
    char sx[256], st[256];
    lbk__ty_str(x, sx, sizeof sx);
    lbk__ty_str(t, st, sizeof st);
    if (!(x->n_dims == 2 && t->n_dims == 1 && t->dims[0] == x->dims[0]) && !(x->n_dims == 1 && t->n_dims == 0))
        return lbk__rfail(o, LBK_ERR_SHAPE, "needs logits [N, C] and target [N] (or [C] and a 0-d target), got %s and %s", sx, st);
    if (!lbk__is_int(t->dt)) return lbk__rfail(o, LBK_ERR_DTYPE, "target %s must be an integer tensor of class indices", st);
    if (x->dt == LBK_BOOL) return lbk__rfail(o, LBK_ERR_DTYPE, "logits %s must not be bool", sx);
    if (!(a->at->ce.smoothing >= 0 && a->at->ce.smoothing <= 1)) return lbk__rfail(o, LBK_ERR_ARG, "label_smoothing %g must be in [0, 1]", a->at->ce.smoothing);
    o->cast0 = lbk__float_of(x->dt);
    o->keep1 = true;
    lbk__rout_set(o, o->cast0, 0, NULL);
    return true;
}
/* layer_norm, rms_norm: inputs x, then the weight if has_w, then the bias if has_b. */
static bool lbk__rule_norm(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0];
    int nn = a->at->comp.n_norm;
    uint32_t k, want_in = 1u + (a->at->comp.has_w != 0) + (a->at->comp.has_b != 0);
    lbk_dtype dt = lbk__float_of(x->dt);
    char sx[256], sw[256];
    lbk__ty_str(x, sx, sizeof sx);
    if (nn < 1 || nn > x->n_dims) return lbk__rfail(o, LBK_ERR_ARG, "n_norm_dims %d is outside 1..%d for %s", nn, x->n_dims, sx);
    if (!(a->at->comp.eps >= 0) || !isfinite(a->at->comp.eps)) return lbk__rfail(o, LBK_ERR_ARG, "eps %g must be finite and >= 0", a->at->comp.eps);
    if (a->n_in != want_in || (a->op == LBK_OP_RMS_NORM && a->at->comp.has_b)) return lbk__rfail(o, LBK_ERR_ARG, "inputs do not match has_weight/has_bias");
    for (k = 1; k < a->n_in; k++) {
        const lbk__ty *w = &a->in[k];
        const char *what = (k == 1 && a->at->comp.has_w) ? "weight" : "bias";
        if (w->n_dims != nn || memcmp(w->dims, x->dims + (x->n_dims - nn), sizeof(int64_t) * (size_t)nn) != 0) {
            lbk__ty_str(w, sw, sizeof sw);
            return lbk__rfail(o, LBK_ERR_SHAPE, "%s %s must have the last %d dims of %s", what, sw, nn, sx);
        }
        if (w->dt == LBK_BOOL) return lbk__rfail(o, LBK_ERR_DTYPE, "%s must not be bool", what);
        dt = lbk_dtype_promote(dt, w->dt);
    }
    o->cast0 = o->cast = dt;
    lbk__rout_set(o, dt, x->n_dims, x->dims);
    return true;
}
/* linear: x [..., in], w [out, in], then the bias [out] if has_b. */
static bool lbk__rule_linear(const lbk__rin *a, lbk__rout *o) {
    const lbk__ty *x = &a->in[0], *w = &a->in[1];
    char sx[256], sw[256], sb[256];
    lbk_dtype dt;
    lbk__ty_str(x, sx, sizeof sx);
    lbk__ty_str(w, sw, sizeof sw);
    if (x->n_dims < 1 || w->n_dims != 2 || w->dims[1] != x->dims[x->n_dims - 1])
        return lbk__rfail(o, LBK_ERR_SHAPE, "needs x [..., in] and w [out, in], got %s and %s", sx, sw);
    if (a->n_in != 2u + (a->at->comp.has_b != 0) || !a->at->comp.has_w) return lbk__rfail(o, LBK_ERR_ARG, "inputs do not match has_bias");
    dt = lbk__promote_ty(x, w);
    if (a->n_in == 3) {
        const lbk__ty *b = &a->in[2];
        if (!(b->n_dims == 1 && b->dims[0] == w->dims[0])) {
            lbk__ty_str(b, sb, sizeof sb);
            return lbk__rfail(o, LBK_ERR_SHAPE, "bias %s must be [%lld] for w %s", sb, (long long)w->dims[0], sw);
        }
        dt = lbk_dtype_promote(dt, b->dt);
    }
    if (dt == LBK_BOOL) return lbk__rfail(o, LBK_ERR_DTYPE, "not defined for bool tensors %s and %s", sx, sw);
    lbk__rout_set(o, dt, x->n_dims, x->dims);
    o->dims[x->n_dims - 1] = w->dims[0];
    o->cast0 = o->cast = dt;
    return true;
}

/* ---- the op table, expanded ---- */
static const lbk__afield lbk__af_none[] = {{NULL, LBK__AF_END, 0}};
#define LBK__AFLD(name, type, member) {name, LBK__AF_##type, (uint16_t)offsetof(lbk__attrs, member)}
static const lbk__afield lbk__af_reduce[] = {LBK__AFLD("axes", AXES, red.mask), LBK__AFLD("keepdim", BOOL, red.keepdim), {NULL, 0, 0}};
static const lbk__afield lbk__af_argmax[] = {LBK__AFLD("axis", I32, red.axis), LBK__AFLD("axes", AXES, red.mask),
                                            LBK__AFLD("keepdim", BOOL, red.keepdim), {NULL, 0, 0}};
static const lbk__afield lbk__af_perm[] = {LBK__AFLD("perm", PERM, perm.p), {NULL, 0, 0}};
static const lbk__afield lbk__af_slice[] = {LBK__AFLD("axis", I32, slice.axis), LBK__AFLD("start", I64, slice.start),
                                           LBK__AFLD("step", I64, slice.step), {NULL, 0, 0}};
static const lbk__afield lbk__af_concat[] = {LBK__AFLD("axis", I32, slice.axis), {NULL, 0, 0}};
static const lbk__afield lbk__af_arange[] = {LBK__AFLD("start", F64, ar.start), LBK__AFLD("step", F64, ar.step), {NULL, 0, 0}};
static const lbk__afield lbk__af_axis[] = {LBK__AFLD("axis", I32, comp.axis), {NULL, 0, 0}};
static const lbk__afield lbk__af_lse[] = {LBK__AFLD("axis", I32, comp.axis), LBK__AFLD("keepdim", BOOL, comp.keepdim), {NULL, 0, 0}};
static const lbk__afield lbk__af_gelu[] = {LBK__AFLD("tanh", BOOL, comp.approx), {NULL, 0, 0}};
static const lbk__afield lbk__af_var[] = {LBK__AFLD("axes", AXES, comp.mask), LBK__AFLD("correction", I32, comp.correction),
                                         LBK__AFLD("keepdim", BOOL, comp.keepdim), {NULL, 0, 0}};
static const lbk__afield lbk__af_norm[] = {LBK__AFLD("n_norm", I32, comp.n_norm), LBK__AFLD("eps", F64, comp.eps),
                                          LBK__AFLD("has_weight", BOOL, comp.has_w), LBK__AFLD("has_bias", BOOL, comp.has_b), {NULL, 0, 0}};
static const lbk__afield lbk__af_slope[] = {LBK__AFLD("negative_slope", F64, comp.eps), {NULL, 0, 0}};
static const lbk__afield lbk__af_alpha[] = {LBK__AFLD("alpha", F64, comp.eps), {NULL, 0, 0}};
static const lbk__afield lbk__af_sdpa[] = {LBK__AFLD("is_causal", BOOL, comp.approx), LBK__AFLD("scale", F64, comp.eps),
                                          LBK__AFLD("has_mask", BOOL, comp.has_w), {NULL, 0, 0}};
static const lbk__afield lbk__af_linear[] = {LBK__AFLD("has_weight", BOOL, comp.has_w), LBK__AFLD("has_bias", BOOL, comp.has_b), {NULL, 0, 0}};
#define LBK__AFWIN(xname) LBK__AFLD("stride_h", I32, win.stride[0]), LBK__AFLD("stride_w", I32, win.stride[1]), LBK__AFLD("padding_h", I32, win.pad[0]), \
    LBK__AFLD("padding_w", I32, win.pad[1]), LBK__AFLD(xname "_h", I32, win.ext[0]), LBK__AFLD(xname "_w", I32, win.ext[1])
static const lbk__afield lbk__af_conv[] = {LBK__AFWIN("dilation"), LBK__AFLD("groups", I32, win.groups), {NULL, 0, 0}};
static const lbk__afield lbk__af_convt[] = {LBK__AFWIN("output_padding"), LBK__AFLD("groups", I32, win.groups), {NULL, 0, 0}};
static const lbk__afield lbk__af_pool[] = {LBK__AFWIN("kernel"), {NULL, 0, 0}};
#undef LBK__AFWIN
static const lbk__afield lbk__af_sort[] = {LBK__AFLD("axis", I32, comp.axis), LBK__AFLD("descending", BOOL, comp.approx), {NULL, 0, 0}};
static const lbk__afield lbk__af_bn[] = {LBK__AFLD("eps", F64, comp.eps), LBK__AFLD("has_weight", BOOL, comp.has_w), LBK__AFLD("has_bias", BOOL, comp.has_b), {NULL, 0, 0}};
static const lbk__afield lbk__af_gn[] = {LBK__AFLD("num_groups", I32, comp.n_norm), LBK__AFLD("eps", F64, comp.eps), LBK__AFLD("has_weight", BOOL, comp.has_w),
                                        LBK__AFLD("has_bias", BOOL, comp.has_b), {NULL, 0, 0}};
static const lbk__afield lbk__af_rope[] = {LBK__AFLD("rot_dims", I32, comp.n_norm), LBK__AFLD("base", F64, comp.eps), LBK__AFLD("interleaved", BOOL, comp.approx), {NULL, 0, 0}};
static const lbk__afield lbk__af_ce[] = {LBK__AFLD("ignore_index", I64, ce.ignore), LBK__AFLD("label_smoothing", F64, ce.smoothing), {NULL, 0, 0}};
#undef LBK__AFLD

/* A composite's built-in decomposition is lbk__d_<name> (in >>decomp): a composite row
   without one does not compile. LBK__IFCOMP_<kind>(yes, no) picks by kind. */
#define LBK__IFCOMP_PARAM(yes, no) no
#define LBK__IFCOMP_UNARY(yes, no) no
#define LBK__IFCOMP_BINARY(yes, no) no
#define LBK__IFCOMP_COMPARE(yes, no) no
#define LBK__IFCOMP_LOGIC(yes, no) no
#define LBK__IFCOMP_SELECT(yes, no) no
#define LBK__IFCOMP_CAST(yes, no) no
#define LBK__IFCOMP_REDUCE(yes, no) no
#define LBK__IFCOMP_MATMUL(yes, no) no
#define LBK__IFCOMP_SHAPE(yes, no) no
#define LBK__IFCOMP_CREATION(yes, no) no
#define LBK__IFCOMP_RANDOM(yes, no) no
#define LBK__IFCOMP_INDEX(yes, no) no
#define LBK__IFCOMP_WINDOW(yes, no) no
#define LBK__IFCOMP_SCAN(yes, no) no
#define LBK__IFCOMP_COMPOSITE(yes, no) yes
#define LBK__DPROTO(id, name, kind, api, nmin, nmax, rule, dt, attrs, flags, schema) \
    LBK__IFCOMP_##kind(static lbk_result lbk__d_##name(lbk_ctx *ctx, lbk_value *stack);, )
LBK_OP_TABLE(LBK__DPROTO)
#undef LBK__DPROTO

#define LBK__OPDEF(id, name, kind, api, nmin, nmax, rule, dt, attrs, flags, schema) \
    {#name, LBK_OPKIND_##kind, nmin, nmax, lbk__rule_##rule, LBK__DT_##dt, lbk__af_##attrs, (flags), schema, LBK__IFCOMP_##kind(lbk__d_##name, NULL)},
static const lbk__opdef lbk__opdefs[] = {
    {"invalid", LBK_OPKIND_INVALID, 0, 0, NULL, 0, lbk__af_none, 0, NULL, NULL},
    LBK_OP_TABLE(LBK__OPDEF)
};
#undef LBK__OPDEF
LBK__STATIC_ASSERT(sizeof lbk__opdefs / sizeof lbk__opdefs[0] == (size_t)LBK_OP_COUNT, op_table_matches_lbk_op);

static bool lbk__op_ok(int op) { return op > 0 && op < (int)LBK_OP_COUNT; }
LAZYBK_API const char *lbk_op_name(lbk_op op) { return lbk__op_ok((int)op) ? lbk__opdefs[op].name : "invalid"; }
LAZYBK_API lbk_op lbk_op_from_name(const char *name) {
    int op;
    if (!name) return LBK_OP_INVALID;
    for (op = 1; op < (int)LBK_OP_COUNT; op++)
        if (strcmp(lbk__opdefs[op].name, name) == 0) return (lbk_op)op;
    return LBK_OP_INVALID;
}
LAZYBK_API lbk_op_kind lbk_op_kind_of(lbk_op op) { return lbk__op_ok((int)op) ? lbk__opdefs[op].kind : LBK_OPKIND_INVALID; }
LAZYBK_API unsigned lbk_op_flags(lbk_op op) {
    if (!lbk__op_ok((int)op)) return 0;
    return lbk__opdefs[op].flags | (lbk__opdefs[op].attrs[0].name ? (unsigned)LBK_OPF_ATTRS : 0u);
}
LAZYBK_API int lbk_op_arity(lbk_op op, int *out_max) {
    if (out_max) *out_max = lbk__op_ok((int)op) ? lbk__opdefs[op].n_max : -1;
    return lbk__op_ok((int)op) ? lbk__opdefs[op].n_min : -1;
}
LAZYBK_API const char *lbk_op_schema(lbk_op op) { return lbk__op_ok((int)op) ? lbk__opdefs[op].schema : NULL; }
static bool lbk__is_composite(int op) { return lbk__op_ok(op) && (lbk__opdefs[op].flags & LBK_OPF_COMPOSITE) != 0; }

/* Runs op's rule over input nodes in (n_in of them) with attributes at (NULL: none) and
   the dtype and shape asked for; records the failure as op's. */
static bool lbk__infer(const lbk__opctx *oc, lbk_op op, const uint32_t *in, uint32_t n_in, const lbk__attrs *at,
                       lbk_dtype want_dt, int want_nd, const int64_t *want_dims, lbk__rout *o) {
    lbk_ctx *ctx = oc->ctx;
    lbk__ty tmp[4], *ty = tmp;
    lbk__attrs zero;
    lbk__rin a;
    uint32_t k;
    bool ok;
    memset(o, 0, sizeof *o);
    memset(&zero, 0, sizeof zero);
    if (n_in > 4 && !(ty = (lbk__ty *)lbk__malloc(sizeof(lbk__ty) * n_in))) { lbk__op_fail(oc, LBK_ERR_OOM, "out of memory"); return false; }
    for (k = 0; k < n_in; k++) {
        const lbk__node *x = &ctx->nodes[in[k]];
        ty[k].dt = (lbk_dtype)x->dtype;
        ty[k].n_dims = x->n_dims;
        ty[k].dims = x->dims;
        ty[k].wrapped = (x->flags & LBK__NF_WRAPPED) != 0;
    }
    a.op = op;
    a.def = &lbk__opdefs[op];
    a.in = ty;
    a.n_in = n_in;
    a.at = at ? at : &zero;
    a.want.dt = want_dt;
    a.want.n_dims = want_nd;
    a.want.dims = want_dims;
    a.want.wrapped = false;
    a.node = false;
    ok = a.def->rule(&a, o);
    if (ty != tmp) lbk__free(ty);
    if (!ok) lbk__op_fail(oc, o->r, "%s", o->msg);
    return ok;
}

/* The node id cast to dt (itself if already dt, or dt is 0); LBK__NONE on OOM. */
static uint32_t lbk__cast_node(lbk_ctx *ctx, uint32_t id, lbk_dtype dt, const lbk__opctx *oc) {
    lbk__node p;
    const lbk__node *n = &ctx->nodes[id];
    if (!dt || n->dtype == (uint8_t)dt) return id;
    lbk__proto(&p, LBK_OP_CAST, dt, n->n_dims, n->dims);
    return lbk__mk(ctx, &p, &id, 1, false, oc->name, oc->file, oc->line);
}

/* Wraps a new handle around an existing node (ops that are the identity). */
static lbk_tensor lbk__same(const lbk__opctx *oc, uint32_t id) { return lbk__wrap(oc->ctx, id, oc); }

/* Makes node p over the given inputs, input 0 first cast to cast0 and the others to cast
   (0: as they are). */
static lbk_tensor lbk__emit(const lbk__opctx *oc, lbk__node *p, const uint32_t *in, lbk_dtype cast0, lbk_dtype cast, bool keep1,
                            uint32_t n_in, bool unique) {
    uint32_t tmp[4] = {0, 0, 0, 0}, *cin = tmp, k, id, made;
    lbk_ctx *ctx = oc->ctx;
    if (n_in > 4) {
        cin = (uint32_t *)lbk__malloc(sizeof(uint32_t) * n_in);
        if (!cin) return lbk__op_fail(oc, LBK_ERR_OOM, "out of memory");
    }
    for (made = 0; made < n_in; made++) {
        cin[made] = lbk__cast_node(ctx, in[made], made == 0 ? cast0 : made == 1 && keep1 ? (lbk_dtype)0 : cast, oc);
        if (cin[made] == LBK__NONE) break;
    }
    id = made == n_in ? lbk__mk(ctx, p, cin, n_in, unique, oc->name, oc->file, oc->line) : LBK__NONE;
    if (id == LBK__NONE) for (k = 0; k < made; k++) lbk__drop_orphan(ctx, cin[k]);
    if (cin != tmp) lbk__free(cin);
    return lbk__wrap(ctx, id, oc);
}

/* The common builder: op over input nodes in through its rule, the inputs cast as it says. */
static lbk_tensor lbk__build(const lbk__opctx *oc, lbk_op op, const uint32_t *in, uint32_t n_in, const lbk__attrs *at,
                             lbk_dtype want_dt, int want_nd, const int64_t *want_dims) {
    lbk__rout o;
    lbk__node p;
    uint32_t k;
    if (!lbk__infer(oc, op, in, n_in, at, want_dt, want_nd, want_dims, &o)) {
        for (k = 0; k < n_in; k++) lbk__drop_orphan(oc->ctx, in[k]);   /* an input made for this op alone */
        return lbk__null_tensor();
    }
    if (o.identity) return lbk__same(oc, in[0]);
    lbk__proto(&p, op, o.dt, o.n_dims, o.dims);
    if (at) p.attrs = *at;
    return lbk__emit(oc, &p, in, o.cast0, o.cast, o.keep1, n_in, (lbk__opdefs[op].flags & LBK_OPF_RANDOM) != 0);
}

static bool lbk__check_dims(const lbk__opctx *oc, lbk_dtype dt, int n_dims, const int64_t *dims) {
    const char *why;
    if (n_dims < 0 || n_dims > LAZYBK_MAX_DIMS) {
        lbk__op_fail(oc, LBK_ERR_ARG, "n_dims %d is outside 0..%d", n_dims, LAZYBK_MAX_DIMS);
        return false;
    }
    if (n_dims > 0 && !dims) { lbk__op_fail(oc, LBK_ERR_ARG, "dims is NULL with n_dims %d", n_dims); return false; }
    if ((why = lbk__dims_why(n_dims, dims, dt)) != NULL) {
        char buf[256];
        lbk__shape_str(buf, sizeof buf, dt, n_dims, dims);
        lbk__op_fail(oc, LBK_ERR_SHAPE, "shape %s %s", buf, why);
        return false;
    }
    return true;
}
static bool lbk__check_dtype(const lbk__opctx *oc, lbk_dtype dt) {
    if (lbk__dtype_ok(dt)) return true;
    lbk__op_fail(oc, LBK_ERR_DTYPE, "unknown dtype %d", (int)dt);
    return false;
}
static bool lbk__norm_axis(const lbk__opctx *oc, int axis, int nd, int *out, const char *what) {
    int lo = nd ? -nd : -1, hi = nd ? nd - 1 : 0;
    if (axis < lo || axis > hi) {
        lbk__op_fail(oc, LBK_ERR_ARG, "%s %d is out of range [%d, %d]", what, axis, lo, hi);
        return false;
    }
    *out = axis < 0 ? axis + (nd ? nd : 1) : axis;
    return true;
}
static lbk__attrs lbk__attrs_zero(void) {
    lbk__attrs a;
    memset(&a, 0, sizeof a);
    return a;
}

/* ---- creation ---- */
/* Whether new data of that shape fits under max_memory_bytes, after evicting cached graphs
   not in use; records LBK_ERR_OOM on oc if not. */
static bool lbk__mem_reclaim(lbk_ctx *ctx, size_t need, const lbk__plan *keep);
static bool lbk__mem_admit(const lbk__opctx *oc, lbk_dtype dt, int n_dims, const int64_t *dims) {
    lbk_ctx *ctx = oc->ctx;
    size_t need = (size_t)lbk__numel(n_dims, dims) * lbk_dtype_size(dt);
    char sh[160];
    if (lbk__mem_fits(ctx, need) || lbk__mem_reclaim(ctx, need, NULL)) return true;
    lbk__shape_str(sh, sizeof sh, dt, n_dims, dims);
    lbk__op_fail(oc, LBK_ERR_OOM, "%s needs %zu bytes, over the context's max_memory_bytes of %zu (it holds %zu)", sh, need,
                 ctx->mem_limit, ctx->mem_held + ctx->mem_plans);
    return false;
}
/* host_mem: d lies over memory lazybk did not allocate (not counted in mem_held). */
static uint32_t lbk__param_node(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims, lbk_data *d,
                                bool host_mem, const lbk__opctx *oc) {
    lbk__node p;
    uint32_t id;
    lbk__proto(&p, LBK_OP_PARAM, dt, n_dims, dims);
    p.data = d;
    if (host_mem) p.flags |= LBK__NF_HOSTMEM;
    id = lbk__mk(ctx, &p, NULL, 0, true, oc->name, oc->file, oc->line);
    if (id != LBK__NONE && d) lbk__mem_hold(ctx, &ctx->nodes[id]);
    return id;
}
/* A node over fresh device data; frees the data if the node cannot be made. */
static lbk_tensor lbk__data_tensor(const lbk__opctx *oc, lbk_dtype dt, int n_dims, const int64_t *dims, lbk_data *d,
                                   bool host_mem) {
    lbk_ctx *ctx = oc->ctx;
    uint32_t id = lbk__param_node(ctx, dt, n_dims, dims, d, host_mem, oc);
    if (id == LBK__NONE) { ctx->iface->data_free(ctx->self, d); return lbk__op_fail(oc, LBK_ERR_OOM, "out of memory"); }
    return lbk__wrap(ctx, id, oc);
}
static lbk_tensor lbk__backend_fail(const lbk__opctx *oc, lbk_result r, const char *member) {
    if (lbk__tls_be_result != LBK_OK && lbk__tls_be_msg[0])
        return lbk__op_fail(oc, r, "backend '%s' %s failed: %s", oc->ctx->be->name, member, lbk__tls_be_msg);
    return lbk__op_fail(oc, r, "backend '%s' %s failed: %s", oc->ctx->be->name, member, lbk_result_str(r));
}

static lbk_tensor lbk__g_from_host_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims,
                                       const int64_t *dims, const void *data) {
    lbk_data *d = NULL;
    lbk_result r;
    int64_t n;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "from_host", LBK_OP_PARAM);
        if (!lbk__check_dtype(&oc, dt) || !lbk__check_dims(&oc, dt, n_dims, dims)) return lbk__null_tensor();
        n = lbk__numel(n_dims, dims);
        if (n > 0 && !data) return lbk__op_fail(&oc, LBK_ERR_ARG, "data is NULL for %lld elements", (long long)n);
        if (!lbk__mem_admit(&oc, dt, n_dims, dims)) return lbk__null_tensor();
        lbk__clear_backend_error();
        r = ctx->iface->data_from_host(ctx->self, ctx->device, dt, n_dims, dims, n > 0 ? data : NULL, &d);
        if (r != LBK_OK || !d) return lbk__backend_fail(&oc, r != LBK_OK ? r : LBK_ERR_BACKEND, "data_from_host");
        ctx->counters[LBK__C_bytes_to_device] += n * (int64_t)lbk_dtype_size(dt);
        return lbk__data_tensor(&oc, dt, n_dims, dims, d, false);
    }
}
LAZYBK_API lbk_tensor lbk_from_host_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims,
                                       const int64_t *dims, const void *data) {
    LBK__GUARD(lbk_tensor, ctx, "from_host", lbk__null_tensor(), lbk__g_from_host_at(file, line, ctx, dt, n_dims, dims, data));
}
LAZYBK_API lbk_tensor (lbk_from_host)(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims, const void *data) {
    return lbk_from_host_at(NULL, 0, ctx, dt, n_dims, dims, data);
}

static lbk_tensor lbk__g_empty_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims) {
    lbk_data *d = NULL;
    lbk_result r;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "empty", LBK_OP_PARAM);
        if (!lbk__check_dtype(&oc, dt) || !lbk__check_dims(&oc, dt, n_dims, dims) || !lbk__mem_admit(&oc, dt, n_dims, dims))
            return lbk__null_tensor();
        lbk__clear_backend_error();
        if (ctx->iface->data_placeholder) {
            r = ctx->iface->data_placeholder(ctx->self, ctx->device, dt, n_dims, dims, &d);
        } else {
            size_t bytes = (size_t)lbk__numel(n_dims, dims) * lbk_dtype_size(dt);
            void *zeros = bytes ? lbk__calloc(1, bytes) : NULL;
            if (bytes && !zeros) return lbk__op_fail(&oc, LBK_ERR_OOM, "out of memory");
            r = ctx->iface->data_from_host(ctx->self, ctx->device, dt, n_dims, dims, zeros, &d);
            lbk__free(zeros);
        }
        if (r != LBK_OK || !d) return lbk__backend_fail(&oc, r != LBK_OK ? r : LBK_ERR_BACKEND, "data_placeholder");
        return lbk__data_tensor(&oc, dt, n_dims, dims, d, false);
    }
}
LAZYBK_API lbk_tensor lbk_empty_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims) {
    LBK__GUARD(lbk_tensor, ctx, "empty", lbk__null_tensor(), lbk__g_empty_at(file, line, ctx, dt, n_dims, dims));
}
LAZYBK_API lbk_tensor (lbk_empty)(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims) {
    return lbk_empty_at(NULL, 0, ctx, dt, n_dims, dims);
}

static uint32_t lbk__scalar_node(lbk_ctx *ctx, lbk_dtype dt, double fv, int64_t iv, bool use_int, bool wrapped,
                                 const lbk__opctx *oc) {
    lbk__node p;
    lbk__proto(&p, LBK_OP_PARAM, dt, 0, NULL);
    p.flags = (uint8_t)(LBK__NF_SCALAR | (wrapped ? LBK__NF_WRAPPED : 0));
    if (lbk__is_float(dt)) {
        p.attrs.sc.v.f = use_int ? (double)iv : fv;   /* rounded to dt when its data is made */
    } else {   /* the value dt holds: stored in dt by its converters and read back */
        union { double d; int64_t i; unsigned char b[16]; } e;
        memset(&e, 0, sizeof e);
        if (use_int) lbk_store_i64(dt, e.b, 0, iv); else lbk_store_f64(dt, e.b, 0, fv);
        p.attrs.sc.v.i = lbk_load_i64(dt, e.b, 0);
    }
    return lbk__mk(ctx, &p, NULL, 0, true, oc->name, oc->file, oc->line);
}

static lbk_tensor lbk__g_scalar_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, double value) {
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "scalar", LBK_OP_PARAM);
        if (!lbk__check_dtype(&oc, dt)) return lbk__null_tensor();
        return lbk__wrap(ctx, lbk__scalar_node(ctx, dt, value, 0, false, true, &oc), &oc);
    }
}
LAZYBK_API lbk_tensor lbk_scalar_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, double value) {
    LBK__GUARD(lbk_tensor, ctx, "scalar", lbk__null_tensor(), lbk__g_scalar_at(file, line, ctx, dt, value));
}
LAZYBK_API lbk_tensor (lbk_scalar)(lbk_ctx *ctx, lbk_dtype dt, double value) { return lbk_scalar_at(NULL, 0, ctx, dt, value); }

static lbk_tensor lbk__g_full_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims, double value) {
    uint32_t s;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "full", LBK_OP_EXPAND);
        if (!lbk__check_dtype(&oc, dt) || !lbk__check_dims(&oc, dt, n_dims, dims)) return lbk__null_tensor();
        s = lbk__scalar_node(ctx, dt, value, 0, false, false, &oc);
        if (s == LBK__NONE) return lbk__op_fail(&oc, LBK_ERR_OOM, "out of memory");
        if (n_dims == 0) return lbk__wrap(ctx, s, &oc);
        return lbk__build(&oc, LBK_OP_EXPAND, &s, 1, NULL, dt, n_dims, dims);
    }
}
LAZYBK_API lbk_tensor lbk_full_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims, double value) {
    LBK__GUARD(lbk_tensor, ctx, "full", lbk__null_tensor(), lbk__g_full_at(file, line, ctx, dt, n_dims, dims, value));
}
LAZYBK_API lbk_tensor (lbk_full)(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims, double value) {
    return lbk_full_at(NULL, 0, ctx, dt, n_dims, dims, value);
}

static lbk_tensor lbk__g_arange_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, double start, double stop, double step) {
    lbk__attrs at;
    double count;
    int64_t n;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "arange", LBK_OP_ARANGE);
        if (!lbk__check_dtype(&oc, dt)) return lbk__null_tensor();
        if (dt == LBK_BOOL) return lbk__op_fail(&oc, LBK_ERR_DTYPE, "arange does not make bool tensors");
        if (!(step == step) || step == 0 || !isfinite(start) || !isfinite(stop) || !isfinite(step))
            return lbk__op_fail(&oc, LBK_ERR_ARG, "start %g, stop %g, step %g: step must be nonzero and all finite",
                                start, stop, step);
        count = ceil((stop - start) / step);
        if (count < 0) count = 0;
        if (count > 9.0e15) return lbk__op_fail(&oc, LBK_ERR_SHAPE, "arange of %g elements is too large", count);
        n = (int64_t)count;
        if (!lbk__check_dims(&oc, dt, 1, &n)) return lbk__null_tensor();
        at = lbk__attrs_zero();
        at.ar.start = start;
        at.ar.step = step;
        return lbk__build(&oc, LBK_OP_ARANGE, NULL, 0, &at, dt, 1, &n);
    }
}
LAZYBK_API lbk_tensor lbk_arange_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, double start, double stop, double step) {
    LBK__GUARD(lbk_tensor, ctx, "arange", lbk__null_tensor(), lbk__g_arange_at(file, line, ctx, dt, start, stop, step));
}
LAZYBK_API lbk_tensor (lbk_arange)(lbk_ctx *ctx, lbk_dtype dt, double start, double stop, double step) {
    return lbk_arange_at(NULL, 0, ctx, dt, start, stop, step);
}

static lbk_tensor lbk__random(const lbk__opctx *oc, lbk_op op, lbk_dtype dt, int n_dims, const int64_t *dims) {
    lbk_ctx *ctx = oc->ctx;
    uint32_t s;
    int64_t seed;
    if (!lbk__check_dtype(oc, dt) || !lbk__check_dims(oc, dt, n_dims, dims)) return lbk__null_tensor();
    if (!lbk__is_float(dt)) return lbk__op_fail(oc, LBK_ERR_DTYPE, "random values need f32 or f64, not %s", lbk_dtype_name(dt));
    seed = (int64_t)(lbk__mix64(ctx->seed * 0x9e3779b97f4a7c15ULL + ++ctx->rng_counter) >> 1);
    s = lbk__scalar_node(ctx, LBK_I64, 0, seed, true, false, oc);
    if (s == LBK__NONE) return lbk__op_fail(oc, LBK_ERR_OOM, "out of memory");
    return lbk__build(oc, op, &s, 1, NULL, dt, n_dims, dims);
}
static lbk_tensor lbk__g_rand_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims) {
    LBK__NULL_TENSOR_IF(!ctx);
    { LBK__OPCTX(oc, "rand", LBK_OP_RAND); return lbk__random(&oc, LBK_OP_RAND, dt, n_dims, dims); }
}
LAZYBK_API lbk_tensor lbk_rand_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims) {
    LBK__GUARD(lbk_tensor, ctx, "rand", lbk__null_tensor(), lbk__g_rand_at(file, line, ctx, dt, n_dims, dims));
}
LAZYBK_API lbk_tensor (lbk_rand)(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims) {
    return lbk_rand_at(NULL, 0, ctx, dt, n_dims, dims);
}
static lbk_tensor lbk__g_randn_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims) {
    LBK__NULL_TENSOR_IF(!ctx);
    { LBK__OPCTX(oc, "randn", LBK_OP_RANDN); return lbk__random(&oc, LBK_OP_RANDN, dt, n_dims, dims); }
}
LAZYBK_API lbk_tensor lbk_randn_at(const char *file, int line, lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims) {
    LBK__GUARD(lbk_tensor, ctx, "randn", lbk__null_tensor(), lbk__g_randn_at(file, line, ctx, dt, n_dims, dims));
}
LAZYBK_API lbk_tensor (lbk_randn)(lbk_ctx *ctx, lbk_dtype dt, int n_dims, const int64_t *dims) {
    return lbk_randn_at(NULL, 0, ctx, dt, n_dims, dims);
}

/* ---- elementwise: the rows whose api is UNARY or BINARY ---- */
static lbk_tensor lbk__g_unary(lbk_ctx *ctx, lbk_op op, lbk_tensor t, const char *file, int line) {
    uint32_t a;
    LBK__OP1(oc, lbk__opdefs[op].name, op, t, a);
    return lbk__build(&oc, op, &a, 1, NULL, (lbk_dtype)0, 0, NULL);
}
static lbk_tensor lbk__unary(lbk_ctx *ctx, lbk_op op, lbk_tensor t, const char *file, int line) {
    LBK__GUARD(lbk_tensor, ctx, lbk__opdefs[op].name, lbk__null_tensor(), lbk__g_unary(ctx, op, t, file, line));
}
static lbk_tensor lbk__g_binary(lbk_ctx *ctx, lbk_op op, lbk_tensor ta, lbk_tensor tb, const char *file, int line) {
    uint32_t in[2];
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, lbk__opdefs[op].name, op);
        if (!lbk__arg(&oc, ta, 0, &in[0]) || !lbk__arg(&oc, tb, 1, &in[1])) return lbk__null_tensor();
        return lbk__build(&oc, op, in, 2, NULL, (lbk_dtype)0, 0, NULL);
    }
}
static lbk_tensor lbk__binary(lbk_ctx *ctx, lbk_op op, lbk_tensor ta, lbk_tensor tb, const char *file, int line) {
    LBK__GUARD(lbk_tensor, ctx, lbk__opdefs[op].name, lbk__null_tensor(), lbk__g_binary(ctx, op, ta, tb, file, line));
}
#define LBK__DEF_OWN(id, name)
#define LBK__DEF_UNARY(id, name)                                                                       \
    LAZYBK_API lbk_tensor lbk_##name##_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t) {    \
        return lbk__unary(ctx, LBK_OP_##id, t, file, line);                                            \
    }                                                                                                  \
    LAZYBK_API lbk_tensor (lbk_##name)(lbk_ctx *ctx, lbk_tensor t) { return lbk__unary(ctx, LBK_OP_##id, t, NULL, 0); }
#define LBK__DEF_BINARY(id, name)                                                                                 \
    LAZYBK_API lbk_tensor lbk_##name##_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor a, lbk_tensor b) {  \
        return lbk__binary(ctx, LBK_OP_##id, a, b, file, line);                                                   \
    }                                                                                                             \
    LAZYBK_API lbk_tensor (lbk_##name)(lbk_ctx *ctx, lbk_tensor a, lbk_tensor b) {                               \
        return lbk__binary(ctx, LBK_OP_##id, a, b, NULL, 0);                                                      \
    }
#define LBK__OP_DEF(id, name, kind, api, nmin, nmax, rule, dt, attrs, flags, schema) LBK__DEF_##api(id, name)
LBK_OP_TABLE(LBK__OP_DEF)
#undef LBK__OP_DEF

static lbk_tensor lbk__g_where_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor cond, lbk_tensor ta, lbk_tensor tb) {
    uint32_t in[3];
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "where", LBK_OP_WHERE);
        if (!lbk__arg(&oc, cond, 0, &in[0]) || !lbk__arg(&oc, ta, 1, &in[1]) || !lbk__arg(&oc, tb, 2, &in[2]))
            return lbk__null_tensor();
        return lbk__build(&oc, LBK_OP_WHERE, in, 3, NULL, (lbk_dtype)0, 0, NULL);
    }
}
LAZYBK_API lbk_tensor lbk_where_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor cond, lbk_tensor ta, lbk_tensor tb) {
    LBK__GUARD(lbk_tensor, ctx, "where", lbk__null_tensor(), lbk__g_where_at(file, line, ctx, cond, ta, tb));
}
LAZYBK_API lbk_tensor (lbk_where)(lbk_ctx *ctx, lbk_tensor cond, lbk_tensor a, lbk_tensor b) {
    return lbk_where_at(NULL, 0, ctx, cond, a, b);
}

static lbk_tensor lbk__g_cast_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, lbk_dtype dt) {
    uint32_t a;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "cast", LBK_OP_CAST);
        if (!lbk__arg(&oc, t, 0, &a) || !lbk__check_dtype(&oc, dt)) return lbk__null_tensor();
        return lbk__build(&oc, LBK_OP_CAST, &a, 1, NULL, dt, 0, NULL);
    }
}
LAZYBK_API lbk_tensor lbk_cast_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, lbk_dtype dt) {
    LBK__GUARD(lbk_tensor, ctx, "cast", lbk__null_tensor(), lbk__g_cast_at(file, line, ctx, t, dt));
}
LAZYBK_API lbk_tensor (lbk_cast)(lbk_ctx *ctx, lbk_tensor t, lbk_dtype dt) { return lbk_cast_at(NULL, 0, ctx, t, dt); }

/* The reduced-axes mask of (n_axes, axes) over nd dims (n_axes 0: every axis); records
   the error and returns false on a bad list. */
static bool lbk__axes_mask(const lbk__opctx *oc, int nd, int n_axes, const int *axes, uint32_t *out_mask) {
    uint32_t mask = 0;
    int i;
    if (n_axes < 0 || n_axes > LAZYBK_MAX_DIMS) { lbk__op_fail(oc, LBK_ERR_ARG, "n_axes %d is invalid", n_axes); return false; }
    if (n_axes > 0 && !axes) { lbk__op_fail(oc, LBK_ERR_ARG, "axes is NULL with n_axes %d", n_axes); return false; }
    for (i = 0; i < n_axes; i++) {
        int ax;
        if (!lbk__norm_axis(oc, axes[i], nd, &ax, "axis")) return false;
        if (nd == 0) continue;
        if (mask & (1u << ax)) { lbk__op_fail(oc, LBK_ERR_ARG, "axis %d appears twice", axes[i]); return false; }
        mask |= 1u << ax;
    }
    *out_mask = n_axes == 0 ? (nd ? (uint32_t)((1ull << nd) - 1) : 0) : mask;
    return true;
}

/* ---- reductions ---- */
static lbk_tensor lbk__g_reduce(lbk_ctx *ctx, lbk_op op, lbk_tensor t, int n_axes, const int *axes, bool keepdim,
                              const char *file, int line) {
    uint32_t a;
    lbk__attrs at;
    LBK__OP1(oc, lbk__opdefs[op].name, op, t, a);
    at = lbk__attrs_zero();
    if (!lbk__axes_mask(&oc, ctx->nodes[a].n_dims, n_axes, axes, &at.red.mask)) return lbk__null_tensor();
    at.red.keepdim = keepdim;
    return lbk__build(&oc, op, &a, 1, &at, (lbk_dtype)0, 0, NULL);
}
static lbk_tensor lbk__reduce(lbk_ctx *ctx, lbk_op op, lbk_tensor t, int n_axes, const int *axes, bool keepdim,
                              const char *file, int line) {
    LBK__GUARD(lbk_tensor, ctx, lbk__opdefs[op].name, lbk__null_tensor(), lbk__g_reduce(ctx, op, t, n_axes, axes, keepdim, file, line));
}
#define LBK__DEF_REDUCE(name, OP)                                                                                 \
    LAZYBK_API lbk_tensor lbk_##name##_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes,     \
                                          const int *axes, bool keepdim) {                                       \
        return lbk__reduce(ctx, OP, t, n_axes, axes, keepdim, file, line);                                        \
    }                                                                                                             \
    LAZYBK_API lbk_tensor (lbk_##name)(lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, bool keepdim) {   \
        return lbk__reduce(ctx, OP, t, n_axes, axes, keepdim, NULL, 0);                                           \
    }
LBK__DEF_REDUCE(sum, LBK_OP_SUM)
LBK__DEF_REDUCE(mean, LBK_OP_MEAN)
LBK__DEF_REDUCE(amax, LBK_OP_AMAX)
LBK__DEF_REDUCE(amin, LBK_OP_AMIN)

static lbk_tensor lbk__g_argmax_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, bool keepdim) {
    uint32_t a;
    int ax, nd;
    lbk__attrs at;
    LBK__OP1(oc, "argmax", LBK_OP_ARGMAX, t, a);
    nd = ctx->nodes[a].n_dims;
    if (!lbk__norm_axis(&oc, axis, nd, &ax, "axis")) return lbk__null_tensor();
    at = lbk__attrs_zero();
    at.red.mask = nd ? 1u << ax : 0;
    at.red.axis = nd ? ax : 0;
    at.red.keepdim = keepdim;
    return lbk__build(&oc, LBK_OP_ARGMAX, &a, 1, &at, (lbk_dtype)0, 0, NULL);
}
LAZYBK_API lbk_tensor lbk_argmax_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, bool keepdim) {
    LBK__GUARD(lbk_tensor, ctx, "argmax", lbk__null_tensor(), lbk__g_argmax_at(file, line, ctx, t, axis, keepdim));
}
LAZYBK_API lbk_tensor (lbk_argmax)(lbk_ctx *ctx, lbk_tensor t, int axis, bool keepdim) {
    return lbk_argmax_at(NULL, 0, ctx, t, axis, keepdim);
}

/* ---- matmul: 1-d operands are reshaped to 2-d around the node and the result back ---- */
static lbk_tensor lbk__g_matmul_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor ta, lbk_tensor tb) {
    uint32_t in[2], id[2], mm;
    int i, fn = 0, nb;
    int64_t fd[LAZYBK_MAX_DIMS];
    lbk__node p;
    lbk__rout o;
    lbk_tensor r, out;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "matmul", LBK_OP_MATMUL);
        if (!lbk__arg(&oc, ta, 0, &in[0]) || !lbk__arg(&oc, tb, 1, &in[1])) return lbk__null_tensor();
        if (!lbk__infer(&oc, LBK_OP_MATMUL, in, 2, NULL, (lbk_dtype)0, 0, NULL, &o)) return lbk__null_tensor();
        lbk__proto(&p, LBK_OP_MATMUL, o.dt, o.n_dims, o.dims);
        if (ctx->nodes[in[0]].n_dims > 1 && ctx->nodes[in[1]].n_dims > 1) return lbk__emit(&oc, &p, in, o.cast0, o.cast, o.keep1, 2, false);
        id[0] = in[0]; id[1] = in[1];
        for (i = 0; i < 2; i++) {
            const lbk__node *x = &ctx->nodes[in[i]];
            lbk__node q;
            if (x->n_dims == 1) {
                int64_t rd[2];
                if (i == 0) { rd[0] = 1; rd[1] = x->dims[0]; } else { rd[0] = x->dims[0]; rd[1] = 1; }
                lbk__proto(&q, LBK_OP_RESHAPE, (lbk_dtype)x->dtype, 2, rd);
                id[i] = lbk__mk(ctx, &q, &in[i], 1, false, oc.name, file, line);
                if (id[i] == LBK__NONE) { if (i) lbk__drop_orphan(ctx, id[0]); return lbk__op_fail(&oc, LBK_ERR_OOM, "out of memory"); }
            }
        }
        r = lbk__emit(&oc, &p, id, o.cast0, o.cast, o.keep1, 2, false);
        if (!r.id) return r;
        mm = ctx->slots[lbk__slot_ix(ctx, r.id)].node;
        nb = o.n_dims - 2;   /* drop the dims the 1-d operands added */
        for (i = 0; i < nb; i++) fd[fn++] = o.dims[i];
        if (ctx->nodes[in[0]].n_dims > 1) fd[fn++] = o.dims[nb];
        if (ctx->nodes[in[1]].n_dims > 1) fd[fn++] = o.dims[nb + 1];
        lbk__proto(&p, LBK_OP_RESHAPE, o.dt, fn, fd);
        out = lbk__emit(&oc, &p, &mm, (lbk_dtype)0, (lbk_dtype)0, false, 1, false);
        lbk_release(ctx, r);
        return out;
    }
}
LAZYBK_API lbk_tensor lbk_matmul_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor ta, lbk_tensor tb) {
    LBK__GUARD(lbk_tensor, ctx, "matmul", lbk__null_tensor(), lbk__g_matmul_at(file, line, ctx, ta, tb));
}
LAZYBK_API lbk_tensor (lbk_matmul)(lbk_ctx *ctx, lbk_tensor a, lbk_tensor b) { return lbk_matmul_at(NULL, 0, ctx, a, b); }

/* ---- shape ops ---- */
static lbk_tensor lbk__g_reshape_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *dims) {
    uint32_t a;
    int i, infer = -1;
    int64_t nd[LAZYBK_MAX_DIMS], known = 1, total;
    const lbk__node *n;
    char s[256];
    LBK__OP1(oc, "reshape", LBK_OP_RESHAPE, t, a);
    n = &ctx->nodes[a];
    lbk__shape_of(ctx, a, s, sizeof s);
    if (n_dims < 0 || n_dims > LAZYBK_MAX_DIMS)
        return lbk__op_fail(&oc, LBK_ERR_ARG, "n_dims %d is outside 0..%d", n_dims, LAZYBK_MAX_DIMS);
    if (n_dims > 0 && !dims) return lbk__op_fail(&oc, LBK_ERR_ARG, "dims is NULL with n_dims %d", n_dims);
    total = lbk__numel(n->n_dims, n->dims);
    for (i = 0; i < n_dims; i++) {
        nd[i] = dims[i];
        if (dims[i] == -1) {
            if (infer >= 0) return lbk__op_fail(&oc, LBK_ERR_SHAPE, "of %s: more than one -1 in the new shape", s);
            infer = i;
        } else if (dims[i] < 0) {
            return lbk__op_fail(&oc, LBK_ERR_SHAPE, "of %s: negative dim %lld", s, (long long)dims[i]);
        } else {
            if (dims[i] != 0 && known > INT64_MAX / dims[i])
                return lbk__op_fail(&oc, LBK_ERR_SHAPE, "of %s: new shape overflows", s);
            known *= dims[i];
        }
    }
    if (infer >= 0) {
        if (known == 0) return lbk__op_fail(&oc, LBK_ERR_SHAPE, "of %s: cannot infer -1 next to a zero dim", s);
        nd[infer] = total / known;
        known *= nd[infer];
    }
    if (known != total) {
        char s2[256];
        lbk__shape_str(s2, sizeof s2, (lbk_dtype)n->dtype, n_dims, dims);
        return lbk__op_fail(&oc, LBK_ERR_SHAPE, "cannot reshape %s (%lld elements) to %s", s, (long long)total, s2);
    }
    return lbk__build(&oc, LBK_OP_RESHAPE, &a, 1, NULL, (lbk_dtype)0, n_dims, nd);
}
LAZYBK_API lbk_tensor lbk_reshape_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *dims) {
    LBK__GUARD(lbk_tensor, ctx, "reshape", lbk__null_tensor(), lbk__g_reshape_at(file, line, ctx, t, n_dims, dims));
}
LAZYBK_API lbk_tensor (lbk_reshape)(lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *dims) {
    return lbk_reshape_at(NULL, 0, ctx, t, n_dims, dims);
}

static lbk_tensor lbk__permute(const lbk__opctx *oc, uint32_t a, const int *perm) {
    lbk_ctx *ctx = oc->ctx;
    int i, nd = ctx->nodes[a].n_dims;
    uint32_t seen = 0;
    lbk__attrs at = lbk__attrs_zero();
    if (nd > 0 && !perm) return lbk__op_fail(oc, LBK_ERR_ARG, "perm is NULL");
    for (i = 0; i < nd; i++) {
        int ax;
        if (!lbk__norm_axis(oc, perm[i], nd, &ax, "perm entry")) return lbk__null_tensor();
        if (seen & (1u << ax)) {
            char s[256];
            lbk__shape_of(ctx, a, s, sizeof s);
            return lbk__op_fail(oc, LBK_ERR_ARG, "perm of %s names axis %d twice", s, ax);
        }
        seen |= 1u << ax;
        at.perm.p[i] = (int8_t)ax;
    }
    return lbk__build(oc, LBK_OP_PERMUTE, &a, 1, &at, (lbk_dtype)0, 0, NULL);
}
static lbk_tensor lbk__g_permute_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, const int *perm) {
    uint32_t a;
    LBK__OP1(oc, "permute", LBK_OP_PERMUTE, t, a);
    return lbk__permute(&oc, a, perm);
}
LAZYBK_API lbk_tensor lbk_permute_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, const int *perm) {
    LBK__GUARD(lbk_tensor, ctx, "permute", lbk__null_tensor(), lbk__g_permute_at(file, line, ctx, t, perm));
}
LAZYBK_API lbk_tensor (lbk_permute)(lbk_ctx *ctx, lbk_tensor t, const int *perm) { return lbk_permute_at(NULL, 0, ctx, t, perm); }

static lbk_tensor lbk__g_transpose_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis0, int axis1) {
    uint32_t a;
    int perm[LAZYBK_MAX_DIMS], i, x0, x1, nd;
    LBK__OP1(oc, "transpose", LBK_OP_PERMUTE, t, a);
    nd = ctx->nodes[a].n_dims;
    if (!lbk__norm_axis(&oc, axis0, nd, &x0, "axis0") || !lbk__norm_axis(&oc, axis1, nd, &x1, "axis1"))
        return lbk__null_tensor();
    for (i = 0; i < nd; i++) perm[i] = i;
    if (nd) { perm[x0] = x1; perm[x1] = x0; }
    return lbk__permute(&oc, a, perm);
}
LAZYBK_API lbk_tensor lbk_transpose_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis0, int axis1) {
    LBK__GUARD(lbk_tensor, ctx, "transpose", lbk__null_tensor(), lbk__g_transpose_at(file, line, ctx, t, axis0, axis1));
}
LAZYBK_API lbk_tensor (lbk_transpose)(lbk_ctx *ctx, lbk_tensor t, int axis0, int axis1) {
    return lbk_transpose_at(NULL, 0, ctx, t, axis0, axis1);
}

static lbk_tensor lbk__g_expand_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *dims) {
    uint32_t a;
    int i;
    int64_t od[LAZYBK_MAX_DIMS];
    const lbk__node *n;
    char s[256], s2[256];
    LBK__OP1(oc, "expand", LBK_OP_EXPAND, t, a);
    n = &ctx->nodes[a];
    lbk__shape_of(ctx, a, s, sizeof s);
    if (n_dims < n->n_dims || n_dims > LAZYBK_MAX_DIMS)
        return lbk__op_fail(&oc, LBK_ERR_SHAPE, "of %s to %d dims: need %d..%d dims", s, n_dims, n->n_dims, LAZYBK_MAX_DIMS);
    if (n_dims > 0 && !dims) return lbk__op_fail(&oc, LBK_ERR_ARG, "dims is NULL with n_dims %d", n_dims);
    lbk__shape_str(s2, sizeof s2, (lbk_dtype)n->dtype, n_dims, dims);
    for (i = 0; i < n_dims; i++) {   /* -1 keeps a dim */
        int j = i - (n_dims - n->n_dims);
        od[i] = dims[i];
        if (dims[i] == -1) {
            if (j < 0) return lbk__op_fail(&oc, LBK_ERR_SHAPE, "of %s to %s: -1 in a new leading dim", s, s2);
            od[i] = n->dims[j];
        }
    }
    return lbk__build(&oc, LBK_OP_EXPAND, &a, 1, NULL, (lbk_dtype)0, n_dims, od);
}
LAZYBK_API lbk_tensor lbk_expand_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *dims) {
    LBK__GUARD(lbk_tensor, ctx, "expand", lbk__null_tensor(), lbk__g_expand_at(file, line, ctx, t, n_dims, dims));
}
LAZYBK_API lbk_tensor (lbk_expand)(lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *dims) {
    return lbk_expand_at(NULL, 0, ctx, t, n_dims, dims);
}

static lbk_tensor lbk__g_slice_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, int64_t start,
                                   int64_t stop, int64_t step) {
    uint32_t a;
    int ax;
    int64_t len, cnt, od[LAZYBK_MAX_DIMS];
    lbk__attrs at;
    const lbk__node *n;
    LBK__OP1(oc, "slice", LBK_OP_SLICE, t, a);
    n = &ctx->nodes[a];
    if (n->n_dims == 0) {
        char s[256];
        lbk__shape_of(ctx, a, s, sizeof s);
        return lbk__op_fail(&oc, LBK_ERR_SHAPE, "cannot slice 0-d tensor %s", s);
    }
    if (!lbk__norm_axis(&oc, axis, n->n_dims, &ax, "axis")) return lbk__null_tensor();
    if (step == 0 || step == INT64_MIN) return lbk__op_fail(&oc, LBK_ERR_ARG, "step %lld must be nonzero and above INT64_MIN", (long long)step);
    len = n->dims[ax];   /* Python's clamping (CPython's PySlice_AdjustIndices) */
    if (start < 0) start = start < -len ? (step < 0 ? -1 : 0) : start + len;
    else if (start >= len) start = step < 0 ? len - 1 : len;
    if (stop < 0) stop = stop < -len ? (step < 0 ? -1 : 0) : stop + len;
    else if (stop >= len) stop = step < 0 ? len - 1 : len;
    if (step > 0) cnt = stop > start ? (stop - start - 1) / step + 1 : 0;
    else cnt = start > stop ? (start - stop - 1) / -step + 1 : 0;
    memcpy(od, n->dims, sizeof(int64_t) * n->n_dims);
    od[ax] = cnt;
    at = lbk__attrs_zero();
    at.slice.axis = ax;
    at.slice.start = cnt ? start : 0;
    at.slice.step = step;
    return lbk__build(&oc, LBK_OP_SLICE, &a, 1, &at, (lbk_dtype)0, n->n_dims, od);
}
LAZYBK_API lbk_tensor lbk_slice_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, int64_t start,
                                   int64_t stop, int64_t step) {
    LBK__GUARD(lbk_tensor, ctx, "slice", lbk__null_tensor(), lbk__g_slice_at(file, line, ctx, t, axis, start, stop, step));
}
LAZYBK_API lbk_tensor (lbk_slice)(lbk_ctx *ctx, lbk_tensor t, int axis, int64_t start, int64_t stop, int64_t step) {
    return lbk_slice_at(NULL, 0, ctx, t, axis, start, stop, step);
}

static lbk_tensor lbk__g_concat_at(const char *file, int line, lbk_ctx *ctx, const lbk_tensor *ts, int n, int axis) {
    uint32_t *in;
    int i, ax = 0, nd;
    lbk__attrs at;
    lbk_tensor r = {0};
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "concat", LBK_OP_CONCAT);
        if (!ts || n <= 0) return lbk__op_fail(&oc, LBK_ERR_ARG, "needs at least one tensor (ts %s, n %d)", ts ? "set" : "NULL", n);
        in = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)n);
        if (!in) return lbk__op_fail(&oc, LBK_ERR_OOM, "out of memory");
        for (i = 0; i < n; i++)
            if (!lbk__arg(&oc, ts[i], i, &in[i])) goto done;
        nd = ctx->nodes[in[0]].n_dims;
        if (nd > 0 && !lbk__norm_axis(&oc, axis, nd, &ax, "axis")) goto done;   /* 0-d: the rule says why */
        at = lbk__attrs_zero();
        at.slice.axis = ax;
        r = lbk__build(&oc, LBK_OP_CONCAT, in, (uint32_t)n, &at, (lbk_dtype)0, 0, NULL);
    done:
        lbk__free(in);
        return r;
    }
}
LAZYBK_API lbk_tensor lbk_concat_at(const char *file, int line, lbk_ctx *ctx, const lbk_tensor *ts, int n, int axis) {
    LBK__GUARD(lbk_tensor, ctx, "concat", lbk__null_tensor(), lbk__g_concat_at(file, line, ctx, ts, n, axis));
}
/* The index ops' builder: t, the index (or start) and, for the ops that write, src;
   slice_dyn's length is its result's dim along axis. */
static lbk_tensor lbk__g_indexed_at(const char *file, int line, lbk_ctx *ctx, const char *name, lbk_op op, lbk_tensor t, int axis,
                                    lbk_tensor index, const lbk_tensor *src, int64_t length) {
    uint32_t in[3];
    int ax, nd;
    int64_t od[LAZYBK_MAX_DIMS];
    lbk__attrs at;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, name, op);
        if (!lbk__arg(&oc, t, 0, &in[0]) || !lbk__arg(&oc, index, 1, &in[1]) || (src && !lbk__arg(&oc, *src, 2, &in[2])))
            return lbk__null_tensor();
        nd = ctx->nodes[in[0]].n_dims;
        /* a 0-d t passes axis 0 or -1 here; its rule refuses it */
        if (!lbk__norm_axis(&oc, axis, nd, &ax, "axis")) return lbk__null_tensor();
        at = lbk__attrs_zero();
        at.slice.axis = ax;
        if (op == LBK_OP_SLICE_DYN) {
            if (length < 0) return lbk__op_fail(&oc, LBK_ERR_ARG, "length %lld is negative", (long long)length);
            if (nd) memcpy(od, ctx->nodes[in[0]].dims, sizeof(int64_t) * (size_t)nd);
            if (nd) od[ax] = length;
        }
        return lbk__build(&oc, op, in, src ? 3 : 2, &at, (lbk_dtype)0, op == LBK_OP_SLICE_DYN ? nd : 0, op == LBK_OP_SLICE_DYN ? od : NULL);
    }
}
LAZYBK_API lbk_tensor lbk_index_select_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index) {
    LBK__GUARD(lbk_tensor, ctx, "index_select", lbk__null_tensor(),
               lbk__g_indexed_at(file, line, ctx, "index_select", LBK_OP_INDEX_SELECT, t, axis, index, NULL, 0));
}
LAZYBK_API lbk_tensor (lbk_index_select)(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index) {
    return lbk_index_select_at(NULL, 0, ctx, t, axis, index);
}
LAZYBK_API lbk_tensor lbk_embedding_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor weight, lbk_tensor ids) {
    LBK__GUARD(lbk_tensor, ctx, "embedding", lbk__null_tensor(),
               lbk__g_indexed_at(file, line, ctx, "embedding", LBK_OP_INDEX_SELECT, weight, 0, ids, NULL, 0));
}
LAZYBK_API lbk_tensor lbk_gather_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index) {
    LBK__GUARD(lbk_tensor, ctx, "gather", lbk__null_tensor(), lbk__g_indexed_at(file, line, ctx, "gather", LBK_OP_GATHER, t, axis, index, NULL, 0));
}
LAZYBK_API lbk_tensor (lbk_gather)(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index) { return lbk_gather_at(NULL, 0, ctx, t, axis, index); }
LAZYBK_API lbk_tensor lbk_scatter_add_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index, lbk_tensor src) {
    LBK__GUARD(lbk_tensor, ctx, "scatter_add", lbk__null_tensor(),
               lbk__g_indexed_at(file, line, ctx, "scatter_add", LBK_OP_SCATTER_ADD, t, axis, index, &src, 0));
}
LAZYBK_API lbk_tensor (lbk_scatter_add)(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index, lbk_tensor src) {
    return lbk_scatter_add_at(NULL, 0, ctx, t, axis, index, src);
}
LAZYBK_API lbk_tensor lbk_index_add_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index, lbk_tensor src) {
    LBK__GUARD(lbk_tensor, ctx, "index_add", lbk__null_tensor(),
               lbk__g_indexed_at(file, line, ctx, "index_add", LBK_OP_INDEX_ADD, t, axis, index, &src, 0));
}
LAZYBK_API lbk_tensor (lbk_index_add)(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor index, lbk_tensor src) {
    return lbk_index_add_at(NULL, 0, ctx, t, axis, index, src);
}
LAZYBK_API lbk_tensor lbk_slice_dyn_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor start, int64_t length) {
    LBK__GUARD(lbk_tensor, ctx, "slice_dyn", lbk__null_tensor(),
               lbk__g_indexed_at(file, line, ctx, "slice_dyn", LBK_OP_SLICE_DYN, t, axis, start, NULL, length));
}
LAZYBK_API lbk_tensor (lbk_slice_dyn)(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor start, int64_t length) {
    return lbk_slice_dyn_at(NULL, 0, ctx, t, axis, start, length);
}
LAZYBK_API lbk_tensor lbk_slice_update_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor start, lbk_tensor src) {
    LBK__GUARD(lbk_tensor, ctx, "slice_update", lbk__null_tensor(),
               lbk__g_indexed_at(file, line, ctx, "slice_update", LBK_OP_SLICE_UPDATE, t, axis, start, &src, 0));
}
LAZYBK_API lbk_tensor (lbk_slice_update)(lbk_ctx *ctx, lbk_tensor t, int axis, lbk_tensor start, lbk_tensor src) {
    return lbk_slice_update_at(NULL, 0, ctx, t, axis, start, src);
}
LAZYBK_API lbk_tensor (lbk_embedding)(lbk_ctx *ctx, lbk_tensor weight, lbk_tensor ids) { return lbk_embedding_at(NULL, 0, ctx, weight, ids); }

LAZYBK_API lbk_tensor (lbk_concat)(lbk_ctx *ctx, const lbk_tensor *ts, int n, int axis) {
    return lbk_concat_at(NULL, 0, ctx, ts, n, axis);
}

/* ---- conveniences: views and masks recorded as the ops above ----
   Each checks its arguments itself (its errors name it), then builds nodes whose debug
   sites carry its name. */
static void lbk__g_release(lbk_ctx *ctx, lbk_tensor t);   /* in >>public */
static lbk_scope lbk__g_scope_begin(lbk_ctx *ctx);
static void lbk__g_scope_end(lbk_ctx *ctx, lbk_scope s, const lbk_tensor *keep, int n_keep);
/* A reshape of node a to dims (the caller's name on the node). */
static lbk_tensor lbk__reshape_to(const lbk__opctx *oc, uint32_t a, int nd, const int64_t *dims) {
    return lbk__build(oc, LBK_OP_RESHAPE, &a, 1, NULL, (lbk_dtype)0, nd, dims);
}
/* dims with a 1 inserted at ax (nd + 1 <= LAZYBK_MAX_DIMS). */
static void lbk__dims_insert1(const int64_t *dims, int nd, int ax, int64_t *out) {
    int k, m = 0;
    for (k = 0; k <= nd; k++) out[k] = k == ax ? 1 : dims[m++];
}
static lbk_tensor lbk__g_squeeze_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis) {
    uint32_t a;
    int ax, nd, k, m = 0;
    int64_t d[LAZYBK_MAX_DIMS];
    LBK__OP1(oc, "squeeze", LBK_OP_RESHAPE, t, a);
    nd = ctx->nodes[a].n_dims;
    if (!lbk__norm_axis(&oc, axis, nd, &ax, "axis")) return lbk__null_tensor();
    for (k = 0; k < nd; k++)
        if (k != ax || ctx->nodes[a].dims[k] != 1) d[m++] = ctx->nodes[a].dims[k];
    return lbk__reshape_to(&oc, a, m, d);
}
static lbk_tensor lbk__g_unsqueeze_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis) {
    uint32_t a;
    int ax, nd;
    int64_t d[LAZYBK_MAX_DIMS];
    LBK__OP1(oc, "unsqueeze", LBK_OP_RESHAPE, t, a);
    nd = ctx->nodes[a].n_dims;
    if (nd + 1 > LAZYBK_MAX_DIMS) return lbk__op_fail(&oc, LBK_ERR_SHAPE, "a tensor of %d dims cannot gain one (at most %d)", nd, LAZYBK_MAX_DIMS);
    if (!lbk__norm_axis(&oc, axis, nd + 1, &ax, "axis")) return lbk__null_tensor();
    lbk__dims_insert1(ctx->nodes[a].dims, nd, ax, d);
    return lbk__reshape_to(&oc, a, nd + 1, d);
}
static lbk_tensor lbk__g_flatten_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int start_axis, int end_axis) {
    uint32_t a;
    int s0, e0, nd, k, m = 0;
    int64_t d[LAZYBK_MAX_DIMS], one = 1;
    LBK__OP1(oc, "flatten", LBK_OP_RESHAPE, t, a);
    nd = ctx->nodes[a].n_dims;
    if (!lbk__norm_axis(&oc, start_axis, nd, &s0, "start_axis") || !lbk__norm_axis(&oc, end_axis, nd, &e0, "end_axis")) return lbk__null_tensor();
    if (nd == 0) return lbk__reshape_to(&oc, a, 1, &one);
    if (s0 > e0) return lbk__op_fail(&oc, LBK_ERR_ARG, "start_axis %d comes after end_axis %d", start_axis, end_axis);
    for (k = 0; k < nd; k++) {
        int64_t x = ctx->nodes[a].dims[k];
        if (k <= s0 || k > e0) d[m++] = x;
        else if (x && d[m - 1] > INT64_MAX / x) {   /* an empty tensor's other dims may multiply past int64 */
            char sh[256];
            lbk__shape_of(ctx, a, sh, sizeof sh);
            return lbk__op_fail(&oc, LBK_ERR_SHAPE, "joining axes %d..%d of %s makes a dim past 2^63", s0, e0, sh);
        } else d[m - 1] *= x;
    }
    return lbk__reshape_to(&oc, a, m, d);
}
static lbk_tensor lbk__g_stack_at(const char *file, int line, lbk_ctx *ctx, const lbk_tensor *ts, int n, int axis) {
    uint32_t *in = NULL;
    lbk_tensor *u = NULL, r = {0};
    int i, ax = 0, nd;
    int64_t d[LAZYBK_MAX_DIMS];
    lbk__attrs at;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "stack", LBK_OP_CONCAT);
        if (!ts || n <= 0) return lbk__op_fail(&oc, LBK_ERR_ARG, "needs at least one tensor (ts %s, n %d)", ts ? "set" : "NULL", n);
        in = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)n);
        u = (lbk_tensor *)lbk__calloc((size_t)n, sizeof *u);
        if (!in || !u) { r = lbk__op_fail(&oc, LBK_ERR_OOM, "out of memory"); goto done; }
        for (i = 0; i < n; i++)
            if (!lbk__arg(&oc, ts[i], i, &in[i])) goto done;
        nd = ctx->nodes[in[0]].n_dims;
        if (nd + 1 > LAZYBK_MAX_DIMS) { r = lbk__op_fail(&oc, LBK_ERR_SHAPE, "tensors of %d dims cannot be stacked (at most %d)", nd, LAZYBK_MAX_DIMS); goto done; }
        if (!lbk__norm_axis(&oc, axis, nd + 1, &ax, "axis")) goto done;
        for (i = 1; i < n; i++) {   /* every shape checked before any node is made */
            const lbk__node *x = &ctx->nodes[in[i]];
            if (x->n_dims != nd || (nd && memcmp(x->dims, ctx->nodes[in[0]].dims, sizeof(int64_t) * (size_t)nd) != 0)) {
                char s0[256], s1[256];
                lbk__shape_of(ctx, in[0], s0, sizeof s0);
                lbk__shape_of(ctx, in[i], s1, sizeof s1);
                r = lbk__op_fail(&oc, LBK_ERR_SHAPE, "tensor %d %s does not have tensor 0's shape %s", i, s1, s0);
                goto done;
            }
        }
        lbk__dims_insert1(ctx->nodes[in[0]].dims, nd, ax, d);
        for (i = 0; i < n; i++) {
            u[i] = lbk__reshape_to(&oc, in[i], nd + 1, d);
            if (!u[i].id || !lbk__arg(&oc, u[i], i, &in[i])) goto done;
        }
        at = lbk__attrs_zero();
        at.slice.axis = ax;
        r = lbk__build(&oc, LBK_OP_CONCAT, in, (uint32_t)n, &at, (lbk_dtype)0, 0, NULL);
    done:
        for (i = 0; u && i < n; i++)
            if (u[i].id) lbk__g_release(ctx, u[i]);
        lbk__free(in);
        lbk__free(u);
        return r;
    }
}
static lbk_result lbk__g_split(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, int n_parts, const int64_t *sizes,
                               lbk_tensor *out) {
    uint32_t a;
    int ax, nd, k;
    int64_t dim, at0 = 0, sum = 0, d[LAZYBK_MAX_DIMS];
    lbk__attrs at;
    if (!ctx) return LBK_ERR_ARG;
    {
        LBK__OPCTX(oc, "split", LBK_OP_SLICE);
        if (!out || n_parts <= 0) return lbk__op_fail(&oc, LBK_ERR_ARG, "needs n_parts > 0 (%d) and out", n_parts), ctx->recent;
        for (k = 0; k < n_parts; k++) out[k] = lbk__null_tensor();
        if (!lbk__arg(&oc, t, 0, &a)) return ctx->recent;
        nd = ctx->nodes[a].n_dims;
        if (nd == 0) { char s0[256]; lbk__shape_of(ctx, a, s0, sizeof s0); lbk__op_fail(&oc, LBK_ERR_SHAPE, "cannot split 0-d tensor %s", s0); return ctx->recent; }
        if (!lbk__norm_axis(&oc, axis, nd, &ax, "axis")) return ctx->recent;
        dim = ctx->nodes[a].dims[ax];
        if (!sizes && dim % n_parts != 0) {
            lbk__op_fail(&oc, LBK_ERR_ARG, "axis %d of size %lld does not split into %d equal parts", ax, (long long)dim, n_parts);
            return ctx->recent;
        }
        for (k = 0; sizes && k < n_parts; k++) {
            if (sizes[k] < 0 || sizes[k] > dim - sum) {
                lbk__op_fail(&oc, LBK_ERR_ARG, "sizes[%d] = %lld is negative or runs past axis %d of size %lld", k, (long long)sizes[k], ax, (long long)dim);
                return ctx->recent;
            }
            sum += sizes[k];
        }
        if (sizes && sum != dim) {
            lbk__op_fail(&oc, LBK_ERR_ARG, "sizes add up to %lld, not axis %d's size %lld", (long long)sum, ax, (long long)dim);
            return ctx->recent;
        }
        memcpy(d, ctx->nodes[a].dims, sizeof(int64_t) * (size_t)nd);
        for (k = 0; k < n_parts; k++) {
            d[ax] = sizes ? sizes[k] : dim / n_parts;
            at = lbk__attrs_zero();
            at.slice.axis = ax;
            at.slice.start = d[ax] ? at0 : 0;
            at.slice.step = 1;
            out[k] = lbk__build(&oc, LBK_OP_SLICE, &a, 1, &at, (lbk_dtype)0, nd, d);
            if (!out[k].id) {   /* OOM: nothing half-made */
                while (k-- > 0) { lbk__g_release(ctx, out[k]); out[k] = lbk__null_tensor(); }
                return ctx->recent != LBK_OK ? ctx->recent : LBK_ERR_OOM;
            }
            at0 += d[ax];
        }
        return LBK_OK;
    }
}
static lbk_tensor lbk__g_flip_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes) {
    uint32_t a, cur;
    int nd, k, ax;
    unsigned seen = 0;
    int64_t d[LAZYBK_MAX_DIMS];
    lbk_tensor x, y;
    LBK__OP1(oc, "flip", LBK_OP_SLICE, t, a);
    nd = ctx->nodes[a].n_dims;
    if (n_axes < 0 || n_axes > LAZYBK_MAX_DIMS || (n_axes && !axes))
        return lbk__op_fail(&oc, LBK_ERR_ARG, "needs n_axes in [0, %d] and axes; got %d", LAZYBK_MAX_DIMS, n_axes);
    for (k = 0; k < n_axes; k++) {
        if (!lbk__norm_axis(&oc, axes[k], nd, &ax, "axis")) return lbk__null_tensor();
        if (seen & (1u << ax)) return lbk__op_fail(&oc, LBK_ERR_ARG, "axis %d appears twice in axes", ax);
        seen |= 1u << ax;
    }
    memcpy(d, ctx->nodes[a].dims, sizeof(int64_t) * (size_t)nd);
    x = lbk__same(&oc, a);
    for (ax = 0; x.id && ax < nd; ax++) {
        lbk__attrs at;
        if (!(seen & (1u << ax)) || d[ax] <= 1) continue;   /* a dim of 0 or 1 reads the same backwards */
        if (!lbk__arg(&oc, x, 0, &cur)) break;
        at = lbk__attrs_zero();
        at.slice.axis = ax;
        at.slice.start = d[ax] - 1;
        at.slice.step = -1;
        y = lbk__build(&oc, LBK_OP_SLICE, &cur, 1, &at, (lbk_dtype)0, nd, d);
        lbk__g_release(ctx, x);
        x = y;
    }
    return x;
}
/* repeat: per repeated dim k, [.., d, ..] -> [.., 1, d, ..] -> expand [.., r, d, ..] -> [.., r * d, ..]
   (past LAZYBK_MAX_DIMS - 1 dims, a concat of r copies along k instead). */
static lbk_tensor lbk__g_repeat_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *repeats) {
    uint32_t a, cur;
    int nd, k, j;
    int64_t d[LAZYBK_MAX_DIMS], w[LAZYBK_MAX_DIMS], total = 1;
    lbk_tensor x = {0}, y;
    LBK__OP1(oc, "repeat", LBK_OP_EXPAND, t, a);
    nd = ctx->nodes[a].n_dims;
    if (n_dims < nd || n_dims > LAZYBK_MAX_DIMS || (n_dims && !repeats))
        return lbk__op_fail(&oc, LBK_ERR_ARG, "needs n_dims in [%d, %d] (the tensor's dims at least) and repeats; got %d", nd, LAZYBK_MAX_DIMS, n_dims);
    for (k = 0; k < n_dims; k++) {
        d[k] = k < n_dims - nd ? 1 : ctx->nodes[a].dims[k - (n_dims - nd)];
        if (repeats[k] < 0) return lbk__op_fail(&oc, LBK_ERR_ARG, "repeats[%d] = %lld is negative", k, (long long)repeats[k]);
        if (d[k] && repeats[k] > INT64_MAX / d[k]) return lbk__op_fail(&oc, LBK_ERR_SHAPE, "dim %d: %lld x %lld overflows", k, (long long)d[k], (long long)repeats[k]);
        w[k] = d[k] * repeats[k];
        total = (w[k] == 0 || total == 0) ? 0 : (total > INT64_MAX / w[k] ? -1 : total * w[k]);
        if (total < 0) return lbk__op_fail(&oc, LBK_ERR_SHAPE, "the result has more than 2^63 elements");
    }
    x = lbk__reshape_to(&oc, a, n_dims, d);   /* the leading 1s (or t itself) */
    for (k = 0; x.id && k < n_dims; k++) {
        int64_t e[LAZYBK_MAX_DIMS];
        if (repeats[k] == 1) continue;
        if (!lbk__arg(&oc, x, 0, &cur)) break;
        if (n_dims + 1 <= LAZYBK_MAX_DIMS) {
            lbk_tensor u, v;
            uint32_t un, vn;
            lbk__dims_insert1(d, n_dims, k, e);
            u = lbk__reshape_to(&oc, cur, n_dims + 1, e);
            e[k] = repeats[k];
            v = u.id && lbk__arg(&oc, u, 0, &un) ? lbk__build(&oc, LBK_OP_EXPAND, &un, 1, NULL, (lbk_dtype)0, n_dims + 1, e) : lbk__null_tensor();
            d[k] = w[k];
            y = v.id && lbk__arg(&oc, v, 0, &vn) ? lbk__reshape_to(&oc, vn, n_dims, d) : lbk__null_tensor();
            if (u.id) lbk__g_release(ctx, u);
            if (v.id) lbk__g_release(ctx, v);
        } else {   /* no room for the extra dim: r copies */
            uint32_t *in = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)(repeats[k] ? repeats[k] : 1));
            lbk__attrs at = lbk__attrs_zero();
            y = lbk__null_tensor();
            if (!in) { lbk__op_fail(&oc, LBK_ERR_OOM, "out of memory"); }
            else if (repeats[k] == 0) {   /* an empty axis: a slice of nothing */
                d[k] = 0;
                at.slice.axis = k; at.slice.step = 1;
                y = lbk__build(&oc, LBK_OP_SLICE, &cur, 1, &at, (lbk_dtype)0, n_dims, d);
            } else {
                for (j = 0; j < repeats[k]; j++) in[j] = cur;
                at.slice.axis = k;
                d[k] = w[k];
                y = lbk__build(&oc, LBK_OP_CONCAT, in, (uint32_t)repeats[k], &at, (lbk_dtype)0, 0, NULL);
            }
            lbk__free(in);
        }
        lbk__g_release(ctx, x);
        x = y;
    }
    return x;
}
static lbk_tensor lbk__g_clamp_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, double lo, double hi) {
    uint32_t a;
    lbk_tensor r, b;
    LBK__OP1(oc, "clamp", LBK_OP_MAXIMUM, t, a);
    r = lbk__same(&oc, a);
    if (!isnan(lo) && r.id) {
        b = lbk__g_binary(ctx, LBK_OP_MAXIMUM, r, lbk__g_scalar_at(file, line, ctx, LBK_F64, lo), file, line);
        lbk__g_release(ctx, r);
        r = b;
    }
    if (!isnan(hi) && r.id) {
        b = lbk__g_binary(ctx, LBK_OP_MINIMUM, r, lbk__g_scalar_at(file, line, ctx, LBK_F64, hi), file, line);
        lbk__g_release(ctx, r);
        r = b;
    }
    return r;
}
/* The bool [rows, cols] mask of j - i <= diagonal (lower: tril, a causal mask) or
   >= diagonal (upper: triu), column j, row i. */
static lbk_tensor lbk__tri_mask(const char *file, int line, lbk_ctx *ctx, int64_t rows, int64_t cols, int64_t diagonal, bool upper) {
    int64_t rd[2], cd[2];
    lbk_tensor i, j, dif, mask;
    rd[0] = rows; rd[1] = 1; cd[0] = 1; cd[1] = cols;
    i = lbk__g_reshape_at(file, line, ctx, lbk__g_arange_at(file, line, ctx, LBK_I64, 0, (double)rows, 1), 2, rd);
    j = lbk__g_reshape_at(file, line, ctx, lbk__g_arange_at(file, line, ctx, LBK_I64, 0, (double)cols, 1), 2, cd);
    dif = lbk__g_binary(ctx, LBK_OP_SUB, j, i, file, line);
    mask = lbk__g_binary(ctx, upper ? LBK_OP_GE : LBK_OP_LE, dif, lbk__g_scalar_at(file, line, ctx, LBK_I64, (double)diagonal), file, line);
    lbk__g_release(ctx, i); lbk__g_release(ctx, j); lbk__g_release(ctx, dif);
    return mask;
}
/* tril/triu: where(the mask, t, 0) over the last two axes. */
static lbk_tensor lbk__g_tri_at(const char *file, int line, lbk_ctx *ctx, const char *name, lbk_tensor t, int64_t diagonal, bool upper) {
    uint32_t a;
    int nd;
    lbk_tensor mask, r;
    LBK__OP1(oc, name, LBK_OP_WHERE, t, a);
    nd = ctx->nodes[a].n_dims;
    if (nd < 2) { char s0[256]; lbk__shape_of(ctx, a, s0, sizeof s0); return lbk__op_fail(&oc, LBK_ERR_SHAPE, "needs at least 2 dims, not %s", s0); }
    mask = lbk__tri_mask(file, line, ctx, ctx->nodes[a].dims[nd - 2], ctx->nodes[a].dims[nd - 1], diagonal, upper);
    r = lbk__g_where_at(file, line, ctx, mask, t, lbk__g_scalar_at(file, line, ctx, (lbk_dtype)ctx->nodes[a].dtype, 0));
    lbk__g_release(ctx, mask);
    return r;
}
LAZYBK_API lbk_tensor lbk_squeeze_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis) {
    LBK__GUARD(lbk_tensor, ctx, "squeeze", lbk__null_tensor(), lbk__g_squeeze_at(file, line, ctx, t, axis));
}
LAZYBK_API lbk_tensor (lbk_squeeze)(lbk_ctx *ctx, lbk_tensor t, int axis) { return lbk_squeeze_at(NULL, 0, ctx, t, axis); }
LAZYBK_API lbk_tensor lbk_unsqueeze_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis) {
    LBK__GUARD(lbk_tensor, ctx, "unsqueeze", lbk__null_tensor(), lbk__g_unsqueeze_at(file, line, ctx, t, axis));
}
LAZYBK_API lbk_tensor (lbk_unsqueeze)(lbk_ctx *ctx, lbk_tensor t, int axis) { return lbk_unsqueeze_at(NULL, 0, ctx, t, axis); }
LAZYBK_API lbk_tensor lbk_flatten_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int start_axis, int end_axis) {
    LBK__GUARD(lbk_tensor, ctx, "flatten", lbk__null_tensor(), lbk__g_flatten_at(file, line, ctx, t, start_axis, end_axis));
}
LAZYBK_API lbk_tensor (lbk_flatten)(lbk_ctx *ctx, lbk_tensor t, int start_axis, int end_axis) { return lbk_flatten_at(NULL, 0, ctx, t, start_axis, end_axis); }
LAZYBK_API lbk_tensor lbk_stack_at(const char *file, int line, lbk_ctx *ctx, const lbk_tensor *ts, int n, int axis) {
    LBK__GUARD(lbk_tensor, ctx, "stack", lbk__null_tensor(), lbk__g_stack_at(file, line, ctx, ts, n, axis));
}
LAZYBK_API lbk_tensor (lbk_stack)(lbk_ctx *ctx, const lbk_tensor *ts, int n, int axis) { return lbk_stack_at(NULL, 0, ctx, ts, n, axis); }
LAZYBK_API lbk_result lbk_split_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, int n_parts, const int64_t *sizes, lbk_tensor *out) {
    LBK__GUARD(lbk_result, ctx, "split", LBK_ERR_BUSY, lbk__g_split(file, line, ctx, t, axis, n_parts, sizes, out));
}
LAZYBK_API lbk_result (lbk_split)(lbk_ctx *ctx, lbk_tensor t, int axis, int n_parts, const int64_t *sizes, lbk_tensor *out) {
    return lbk_split_at(NULL, 0, ctx, t, axis, n_parts, sizes, out);
}
LAZYBK_API lbk_tensor lbk_repeat_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *repeats) {
    LBK__GUARD(lbk_tensor, ctx, "repeat", lbk__null_tensor(), lbk__g_repeat_at(file, line, ctx, t, n_dims, repeats));
}
LAZYBK_API lbk_tensor (lbk_repeat)(lbk_ctx *ctx, lbk_tensor t, int n_dims, const int64_t *repeats) { return lbk_repeat_at(NULL, 0, ctx, t, n_dims, repeats); }
LAZYBK_API lbk_tensor lbk_flip_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes) {
    LBK__GUARD(lbk_tensor, ctx, "flip", lbk__null_tensor(), lbk__g_flip_at(file, line, ctx, t, n_axes, axes));
}
LAZYBK_API lbk_tensor (lbk_flip)(lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes) { return lbk_flip_at(NULL, 0, ctx, t, n_axes, axes); }
LAZYBK_API lbk_tensor lbk_clamp_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, double lo, double hi) {
    LBK__GUARD(lbk_tensor, ctx, "clamp", lbk__null_tensor(), lbk__g_clamp_at(file, line, ctx, t, lo, hi));
}
LAZYBK_API lbk_tensor (lbk_clamp)(lbk_ctx *ctx, lbk_tensor t, double lo, double hi) { return lbk_clamp_at(NULL, 0, ctx, t, lo, hi); }
LAZYBK_API lbk_tensor lbk_tril_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int64_t diagonal) {
    LBK__GUARD(lbk_tensor, ctx, "tril", lbk__null_tensor(), lbk__g_tri_at(file, line, ctx, "tril", t, diagonal, false));
}
LAZYBK_API lbk_tensor (lbk_tril)(lbk_ctx *ctx, lbk_tensor t, int64_t diagonal) { return lbk_tril_at(NULL, 0, ctx, t, diagonal); }
LAZYBK_API lbk_tensor lbk_triu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int64_t diagonal) {
    LBK__GUARD(lbk_tensor, ctx, "triu", lbk__null_tensor(), lbk__g_tri_at(file, line, ctx, "triu", t, diagonal, true));
}
LAZYBK_API lbk_tensor (lbk_triu)(lbk_ctx *ctx, lbk_tensor t, int64_t diagonal) { return lbk_triu_at(NULL, 0, ctx, t, diagonal); }

/* ---- composite ops ---- */
static lbk_tensor lbk__softmaxlike(lbk_ctx *ctx, lbk_op op, lbk_tensor t, int axis, bool keepdim, const char *file, int line) {
    uint32_t a;
    int ax, nd;
    lbk__attrs at;
    LBK__OP1(oc, lbk__opdefs[op].name, op, t, a);
    nd = ctx->nodes[a].n_dims;
    if (!lbk__norm_axis(&oc, axis, nd, &ax, "axis")) return lbk__null_tensor();
    at = lbk__attrs_zero();
    at.comp.axis = nd ? ax : 0;
    at.comp.keepdim = op == LBK_OP_LOGSUMEXP && keepdim;
    return lbk__build(&oc, op, &a, 1, &at, (lbk_dtype)0, 0, NULL);
}
static lbk_tensor lbk__g_softmax_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis) {
    return lbk__softmaxlike(ctx, LBK_OP_SOFTMAX, t, axis, false, file, line);
}
LAZYBK_API lbk_tensor lbk_softmax_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis) {
    LBK__GUARD(lbk_tensor, ctx, "softmax", lbk__null_tensor(), lbk__g_softmax_at(file, line, ctx, t, axis));
}
LAZYBK_API lbk_tensor (lbk_softmax)(lbk_ctx *ctx, lbk_tensor t, int axis) { return lbk_softmax_at(NULL, 0, ctx, t, axis); }
static lbk_tensor lbk__g_log_softmax_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis) {
    return lbk__softmaxlike(ctx, LBK_OP_LOG_SOFTMAX, t, axis, false, file, line);
}
LAZYBK_API lbk_tensor lbk_log_softmax_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis) {
    LBK__GUARD(lbk_tensor, ctx, "log_softmax", lbk__null_tensor(), lbk__g_log_softmax_at(file, line, ctx, t, axis));
}
LAZYBK_API lbk_tensor (lbk_log_softmax)(lbk_ctx *ctx, lbk_tensor t, int axis) { return lbk_log_softmax_at(NULL, 0, ctx, t, axis); }
static lbk_tensor lbk__g_logsumexp_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, bool keepdim) {
    return lbk__softmaxlike(ctx, LBK_OP_LOGSUMEXP, t, axis, keepdim, file, line);
}
LAZYBK_API lbk_tensor lbk_logsumexp_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, bool keepdim) {
    LBK__GUARD(lbk_tensor, ctx, "logsumexp", lbk__null_tensor(), lbk__g_logsumexp_at(file, line, ctx, t, axis, keepdim));
}
LAZYBK_API lbk_tensor (lbk_logsumexp)(lbk_ctx *ctx, lbk_tensor t, int axis, bool keepdim) {
    return lbk_logsumexp_at(NULL, 0, ctx, t, axis, keepdim);
}

/* An activation: approx (gelu's tanh) and param (leaky_relu's slope, elu's alpha) as attributes. */
static lbk_tensor lbk__activation(lbk_ctx *ctx, lbk_op op, lbk_tensor t, bool approx, double param, const char *file, int line) {
    uint32_t a;
    lbk__attrs at;
    LBK__OP1(oc, lbk__opdefs[op].name, op, t, a);
    at = lbk__attrs_zero();
    at.comp.approx = approx;
    at.comp.eps = param;
    return lbk__build(&oc, op, &a, 1, &at, (lbk_dtype)0, 0, NULL);
}
static lbk_tensor lbk__g_gelu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, bool tanh_approx) {
    return lbk__activation(ctx, LBK_OP_GELU, t, tanh_approx, 0, file, line);
}
LAZYBK_API lbk_tensor lbk_gelu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, bool tanh_approx) {
    LBK__GUARD(lbk_tensor, ctx, "gelu", lbk__null_tensor(), lbk__g_gelu_at(file, line, ctx, t, tanh_approx));
}
LAZYBK_API lbk_tensor (lbk_gelu)(lbk_ctx *ctx, lbk_tensor t, bool tanh_approx) { return lbk_gelu_at(NULL, 0, ctx, t, tanh_approx); }
LAZYBK_API lbk_tensor lbk_silu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t) {
    LBK__GUARD(lbk_tensor, ctx, "silu", lbk__null_tensor(), lbk__activation(ctx, LBK_OP_SILU, t, false, 0, file, line));
}
LAZYBK_API lbk_tensor (lbk_silu)(lbk_ctx *ctx, lbk_tensor t) { return lbk_silu_at(NULL, 0, ctx, t); }
LAZYBK_API lbk_tensor lbk_softplus_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t) {
    LBK__GUARD(lbk_tensor, ctx, "softplus", lbk__null_tensor(), lbk__activation(ctx, LBK_OP_SOFTPLUS, t, false, 0, file, line));
}
LAZYBK_API lbk_tensor (lbk_softplus)(lbk_ctx *ctx, lbk_tensor t) { return lbk_softplus_at(NULL, 0, ctx, t); }
LAZYBK_API lbk_tensor lbk_leaky_relu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, double slope) {
    LBK__GUARD(lbk_tensor, ctx, "leaky_relu", lbk__null_tensor(), lbk__activation(ctx, LBK_OP_LEAKY_RELU, t, false, slope, file, line));
}
LAZYBK_API lbk_tensor (lbk_leaky_relu)(lbk_ctx *ctx, lbk_tensor t, double slope) { return lbk_leaky_relu_at(NULL, 0, ctx, t, slope); }
LAZYBK_API lbk_tensor lbk_hardswish_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t) {
    LBK__GUARD(lbk_tensor, ctx, "hardswish", lbk__null_tensor(), lbk__activation(ctx, LBK_OP_HARDSWISH, t, false, 0, file, line));
}
LAZYBK_API lbk_tensor (lbk_hardswish)(lbk_ctx *ctx, lbk_tensor t) { return lbk_hardswish_at(NULL, 0, ctx, t); }
LAZYBK_API lbk_tensor lbk_elu_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, double alpha) {
    LBK__GUARD(lbk_tensor, ctx, "elu", lbk__null_tensor(), lbk__activation(ctx, LBK_OP_ELU, t, false, alpha, file, line));
}
LAZYBK_API lbk_tensor (lbk_elu)(lbk_ctx *ctx, lbk_tensor t, double alpha) { return lbk_elu_at(NULL, 0, ctx, t, alpha); }

static lbk_tensor lbk__g_var_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes,
                                 int correction, bool keepdim) {
    uint32_t a;
    lbk__attrs at;
    LBK__OP1(oc, "var", LBK_OP_VAR, t, a);
    at = lbk__attrs_zero();
    if (correction < 0) return lbk__op_fail(&oc, LBK_ERR_ARG, "correction %d is negative", correction);
    if (!lbk__axes_mask(&oc, ctx->nodes[a].n_dims, n_axes, axes, &at.comp.mask)) return lbk__null_tensor();
    at.comp.correction = correction;
    at.comp.keepdim = keepdim;
    return lbk__build(&oc, LBK_OP_VAR, &a, 1, &at, (lbk_dtype)0, 0, NULL);
}
LAZYBK_API lbk_tensor lbk_var_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes,
                                 int correction, bool keepdim) {
    LBK__GUARD(lbk_tensor, ctx, "var", lbk__null_tensor(), lbk__g_var_at(file, line, ctx, t, n_axes, axes, correction, keepdim));
}
LAZYBK_API lbk_tensor (lbk_var)(lbk_ctx *ctx, lbk_tensor t, int n_axes, const int *axes, int correction, bool keepdim) {
    return lbk_var_at(NULL, 0, ctx, t, n_axes, axes, correction, keepdim);
}

/* layer_norm (bias allowed) and rms_norm: inputs x, then the weight and bias present. */
static lbk_tensor lbk__norm(lbk_ctx *ctx, lbk_op op, lbk_tensor x, int n_norm, lbk_tensor w, lbk_tensor b, double eps,
                            const char *file, int line) {
    uint32_t in[3];
    int k, n_in = 1;
    lbk__attrs at;
    lbk_tensor opt[2];
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, lbk__opdefs[op].name, op);
        opt[0] = w; opt[1] = b;
        if (!lbk__arg(&oc, x, 0, &in[0])) return lbk__null_tensor();
        for (k = 0; k < 2; k++)   /* optional: {0} is absent */
            if (opt[k].id && !lbk__arg(&oc, opt[k], k + 1, &in[n_in++])) return lbk__null_tensor();
        at = lbk__attrs_zero();
        at.comp.n_norm = n_norm;
        at.comp.eps = eps;
        at.comp.has_w = w.id != 0;
        at.comp.has_b = b.id != 0;
        return lbk__build(&oc, op, in, (uint32_t)n_in, &at, (lbk_dtype)0, 0, NULL);
    }
}
static lbk_tensor lbk__g_layer_norm_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int n_norm_dims,
                                        lbk_tensor weight, lbk_tensor bias, double eps) {
    return lbk__norm(ctx, LBK_OP_LAYER_NORM, x, n_norm_dims, weight, bias, eps, file, line);
}
LAZYBK_API lbk_tensor lbk_layer_norm_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int n_norm_dims,
                                        lbk_tensor weight, lbk_tensor bias, double eps) {
    LBK__GUARD(lbk_tensor, ctx, "layer_norm", lbk__null_tensor(), lbk__g_layer_norm_at(file, line, ctx, x, n_norm_dims, weight, bias, eps));
}
LAZYBK_API lbk_tensor (lbk_layer_norm)(lbk_ctx *ctx, lbk_tensor x, int n_norm_dims, lbk_tensor weight, lbk_tensor bias, double eps) {
    return lbk_layer_norm_at(NULL, 0, ctx, x, n_norm_dims, weight, bias, eps);
}
static lbk_tensor lbk__g_rms_norm_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int n_norm_dims,
                                      lbk_tensor weight, double eps) {
    lbk_tensor none = {0};
    return lbk__norm(ctx, LBK_OP_RMS_NORM, x, n_norm_dims, weight, none, eps, file, line);
}
LAZYBK_API lbk_tensor lbk_rms_norm_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int n_norm_dims,
                                      lbk_tensor weight, double eps) {
    LBK__GUARD(lbk_tensor, ctx, "rms_norm", lbk__null_tensor(), lbk__g_rms_norm_at(file, line, ctx, x, n_norm_dims, weight, eps));
}
LAZYBK_API lbk_tensor (lbk_rms_norm)(lbk_ctx *ctx, lbk_tensor x, int n_norm_dims, lbk_tensor weight, double eps) {
    return lbk_rms_norm_at(NULL, 0, ctx, x, n_norm_dims, weight, eps);
}

static lbk_tensor lbk__g_linear_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b) {
    uint32_t in[3];
    lbk__attrs at;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "linear", LBK_OP_LINEAR);
        if (!lbk__arg(&oc, x, 0, &in[0]) || !lbk__arg(&oc, w, 1, &in[1])) return lbk__null_tensor();
        if (b.id && !lbk__arg(&oc, b, 2, &in[2])) return lbk__null_tensor();
        at = lbk__attrs_zero();
        at.comp.has_w = 1;
        at.comp.has_b = b.id != 0;
        return lbk__build(&oc, LBK_OP_LINEAR, in, b.id ? 3u : 2u, &at, (lbk_dtype)0, 0, NULL);
    }
}
LAZYBK_API lbk_tensor lbk_linear_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b) {
    LBK__GUARD(lbk_tensor, ctx, "linear", lbk__null_tensor(), lbk__g_linear_at(file, line, ctx, x, w, b));
}
LAZYBK_API lbk_tensor (lbk_linear)(lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b) { return lbk_linear_at(NULL, 0, ctx, x, w, b); }
static lbk_tensor lbk__g_sdpa_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor q, lbk_tensor k, lbk_tensor v, lbk_tensor mask,
                                 bool is_causal, double scale) {
    uint32_t in[4];
    lbk__attrs at;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "scaled_dot_product_attention", LBK_OP_SDPA);
        if (!lbk__arg(&oc, q, 0, &in[0]) || !lbk__arg(&oc, k, 1, &in[1]) || !lbk__arg(&oc, v, 2, &in[2])) return lbk__null_tensor();
        if (mask.id && !lbk__arg(&oc, mask, 3, &in[3])) return lbk__null_tensor();
        at = lbk__attrs_zero();
        at.comp.approx = is_causal;
        at.comp.eps = scale;
        at.comp.has_w = mask.id != 0;
        return lbk__build(&oc, LBK_OP_SDPA, in, mask.id ? 4u : 3u, &at, (lbk_dtype)0, 0, NULL);
    }
}
LAZYBK_API lbk_tensor lbk_scaled_dot_product_attention_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor q, lbk_tensor k, lbk_tensor v,
                                                          lbk_tensor mask, bool is_causal, double scale) {
    LBK__GUARD(lbk_tensor, ctx, "scaled_dot_product_attention", lbk__null_tensor(), lbk__g_sdpa_at(file, line, ctx, q, k, v, mask, is_causal, scale));
}
LAZYBK_API lbk_tensor (lbk_scaled_dot_product_attention)(lbk_ctx *ctx, lbk_tensor q, lbk_tensor k, lbk_tensor v, lbk_tensor mask, bool is_causal,
                                                         double scale) {
    return lbk_scaled_dot_product_attention_at(NULL, 0, ctx, q, k, v, mask, is_causal, scale);
}

/* ---- convolution, pooling, resizing ---- */
/* Two window values (v, or dflt when v is NULL) into int32 attribute fields. */
static bool lbk__win_put(const lbk__opctx *oc, int32_t *dst, const int64_t *v, const int64_t *dflt, const char *what) {
    int k;
    for (k = 0; k < 2; k++) {
        int64_t x = v ? v[k] : dflt[k];
        if (x < INT32_MIN || x > INT32_MAX) { lbk__op_fail(oc, LBK_ERR_ARG, "%s[%d] = %lld does not fit int32", what, k, (long long)x); return false; }
        dst[k] = (int32_t)x;
    }
    return true;
}
static const int64_t lbk__win_zero[2] = {0, 0}, lbk__win_one[2] = {1, 1};
/* conv2d and conv_transpose2d (ext: dilation or output_padding); name is the caller's. */
static lbk_tensor lbk__g_conv(const char *file, int line, lbk_ctx *ctx, const char *name, lbk_op op, lbk_tensor x, lbk_tensor w, lbk_tensor b,
                              const int64_t *stride, const int64_t *padding, const int64_t *ext, int64_t groups) {
    uint32_t in[3];
    lbk__attrs at;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, name, op);
        if (!lbk__arg(&oc, x, 0, &in[0]) || !lbk__arg(&oc, w, 1, &in[1]) || (b.id && !lbk__arg(&oc, b, 2, &in[2]))) return lbk__null_tensor();
        at = lbk__attrs_zero();
        if (!lbk__win_put(&oc, at.win.stride, stride, lbk__win_one, "stride") || !lbk__win_put(&oc, at.win.pad, padding, lbk__win_zero, "padding") ||
            !lbk__win_put(&oc, at.win.ext, ext, op == LBK_OP_CONV2D ? lbk__win_one : lbk__win_zero, op == LBK_OP_CONV2D ? "dilation" : "output_padding"))
            return lbk__null_tensor();
        if (groups < 1 || groups > INT32_MAX) return lbk__op_fail(&oc, LBK_ERR_ARG, "groups %lld must be in [1, 2^31)", (long long)groups);
        at.win.groups = (int32_t)groups;
        return lbk__build(&oc, op, in, b.id ? 3u : 2u, &at, (lbk_dtype)0, 0, NULL);
    }
}
/* conv1d: x [N, C, L] and w [O, C/groups, k] as conv2d over [N, C, 1, L] and [O, C/groups, 1, k]. */
static lbk_tensor lbk__g_conv1d(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, int64_t stride,
                                int64_t padding, int64_t dilation, int64_t groups) {
    uint32_t a, c;
    int64_t s[2], p[2], d[2], dims[4];
    lbk_tensor x4, w4, y4, y = lbk__null_tensor();
    LBK__OP1(oc, "conv1d", LBK_OP_CONV2D, x, a);
    if (!lbk__arg(&oc, w, 1, &c)) return lbk__null_tensor();
    if (ctx->nodes[a].n_dims != 3 || ctx->nodes[c].n_dims != 3) {
        char sx[256], sw[256];
        lbk__shape_of(ctx, a, sx, sizeof sx);
        lbk__shape_of(ctx, c, sw, sizeof sw);
        return lbk__op_fail(&oc, LBK_ERR_SHAPE, "needs x [N, C, L] and weight [O, C/groups, k], got %s and %s", sx, sw);
    }
    s[0] = 1; s[1] = stride; p[0] = 0; p[1] = padding; d[0] = 1; d[1] = dilation;
    lbk__dims_insert1(ctx->nodes[a].dims, 3, 2, dims);
    x4 = lbk__reshape_to(&oc, a, 4, dims);
    lbk__dims_insert1(ctx->nodes[c].dims, 3, 2, dims);
    w4 = x4.id ? lbk__reshape_to(&oc, c, 4, dims) : lbk__null_tensor();
    y4 = w4.id ? lbk__g_conv(file, line, ctx, "conv1d", LBK_OP_CONV2D, x4, w4, b, s, p, d, groups) : lbk__null_tensor();
    if (y4.id && lbk__arg(&oc, y4, 0, &a)) {
        dims[0] = ctx->nodes[a].dims[0]; dims[1] = ctx->nodes[a].dims[1]; dims[2] = ctx->nodes[a].dims[3];
        y = lbk__reshape_to(&oc, a, 3, dims);
    }
    lbk__g_release(ctx, x4); lbk__g_release(ctx, w4); lbk__g_release(ctx, y4);
    return y;
}
/* max_pool2d, avg_pool2d: stride NULL is the kernel (as PyTorch). */
static lbk_tensor lbk__g_pool(const char *file, int line, lbk_ctx *ctx, const char *name, lbk_op op, lbk_tensor x, const int64_t *kernel,
                              const int64_t *stride, const int64_t *padding) {
    uint32_t a;
    lbk__attrs at;
    LBK__OP1(oc, name, op, x, a);
    if (!kernel) return lbk__op_fail(&oc, LBK_ERR_ARG, "kernel is NULL");
    at = lbk__attrs_zero();
    if (!lbk__win_put(&oc, at.win.ext, kernel, kernel, "kernel") || !lbk__win_put(&oc, at.win.stride, stride, kernel, "stride") ||
        !lbk__win_put(&oc, at.win.pad, padding, lbk__win_zero, "padding"))
        return lbk__null_tensor();
    return lbk__build(&oc, op, &a, 1, &at, (lbk_dtype)0, 0, NULL);
}
static lbk_tensor lbk__g_interp(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int64_t out_h, int64_t out_w) {
    uint32_t a;
    int nd;
    int64_t dims[LAZYBK_MAX_DIMS];
    LBK__OP1(oc, "interpolate_nearest2d", LBK_OP_INTERPOLATE_NEAREST2D, x, a);
    nd = ctx->nodes[a].n_dims;
    if (nd < 2) return lbk__op_fail(&oc, LBK_ERR_SHAPE, "needs x [N, C, H, W] or [C, H, W], got %d dims", nd);
    memcpy(dims, ctx->nodes[a].dims, sizeof(int64_t) * (size_t)nd);
    dims[nd - 2] = out_h;
    dims[nd - 1] = out_w;
    return lbk__build(&oc, LBK_OP_INTERPOLATE_NEAREST2D, &a, 1, NULL, (lbk_dtype)0, nd, dims);
}

/* ---- scans and sorting ---- */
static lbk_tensor lbk__g_scan(const char *file, int line, lbk_ctx *ctx, const char *name, lbk_op op, lbk_tensor t, int axis, bool descending) {
    uint32_t a;
    int ax;
    lbk__attrs at;
    LBK__OP1(oc, name, op, t, a);
    if (!lbk__norm_axis(&oc, axis, ctx->nodes[a].n_dims, &ax, "axis")) return lbk__null_tensor();
    at = lbk__attrs_zero();
    at.comp.axis = ax;
    at.comp.approx = descending;
    return lbk__build(&oc, op, &a, 1, &at, (lbk_dtype)0, 0, NULL);
}
/* sort and topk: the (first k of the) stable order along axis, and the values gathered by it. */
static lbk_result lbk__g_sorted(const char *file, int line, lbk_ctx *ctx, const char *name, lbk_tensor t, int64_t k, int axis, bool descending,
                                lbk_tensor *values, lbk_tensor *indices) {
    uint32_t a;
    int ax, nd;
    lbk_tensor ord, top, v = lbk__null_tensor();
    if (values) *values = lbk__null_tensor();
    if (indices) *indices = lbk__null_tensor();
    if (!ctx) return LBK_ERR_ARG;
    {
        LBK__OPCTX(oc, name, LBK_OP_ARGSORT);
        if (!lbk__arg(&oc, t, 0, &a)) return ctx->recent;
        if (!values || !indices) { lbk__op_fail(&oc, LBK_ERR_ARG, "values and indices must not be NULL"); return ctx->recent; }
        nd = ctx->nodes[a].n_dims;
        if (!lbk__norm_axis(&oc, axis, nd, &ax, "axis")) return ctx->recent;
        if (k >= 0 && (k > (nd ? ctx->nodes[a].dims[ax] : 1))) {
            char s[256];
            lbk__shape_of(ctx, a, s, sizeof s);
            lbk__op_fail(&oc, LBK_ERR_ARG, "k %lld is larger than dim %d of %s", (long long)k, ax, s);
            return ctx->recent;
        }
        if (k < -1) { lbk__op_fail(&oc, LBK_ERR_ARG, "k %lld is negative", (long long)k); return ctx->recent; }
        ord = lbk__g_scan(file, line, ctx, name, LBK_OP_ARGSORT, t, ax, descending);
        top = ord;
        if (ord.id && k >= 0 && nd) {
            top = lbk__g_slice_at(file, line, ctx, ord, ax, 0, k, 1);
            lbk__g_release(ctx, ord);
        }
        if (top.id) v = nd ? lbk__g_indexed_at(file, line, ctx, name, LBK_OP_GATHER, t, ax, top, NULL, 0) : lbk__same(&oc, a);
        if (!v.id) { lbk__g_release(ctx, top); return ctx->recent != LBK_OK ? ctx->recent : LBK_ERR_ARG; }
        *values = v;
        *indices = top;
        return LBK_OK;
    }
}
/* Sampling without replacement by the Gumbel top-k: the n largest log(p) + Gumbel noise. */
static lbk_tensor lbk__g_multinomial(const char *file, int line, lbk_ctx *ctx, lbk_tensor probs, int64_t n_samples) {
    uint32_t a;
    int nd;
    lbk_tensor u, g, key, vals, idx = lbk__null_tensor(), ninf;
    lbk_scope sc;
    lbk_dtype dt;
    LBK__OP1(oc, "multinomial", LBK_OP_ARGSORT, probs, a);
    nd = ctx->nodes[a].n_dims;
    dt = (lbk_dtype)ctx->nodes[a].dtype;
    if ((nd != 1 && nd != 2) || !lbk__is_float(dt)) {
        char s[256];
        lbk__shape_of(ctx, a, s, sizeof s);
        return lbk__op_fail(&oc, LBK_ERR_SHAPE, "needs float probs [C] or [R, C], got %s", s);
    }
    if (n_samples < 0 || n_samples > ctx->nodes[a].dims[nd - 1])
        return lbk__op_fail(&oc, LBK_ERR_ARG, "n_samples %lld must be in [0, %lld] (draws without replacement)", (long long)n_samples,
                            (long long)ctx->nodes[a].dims[nd - 1]);
    sc = lbk__g_scope_begin(ctx);
    u = lbk_rand_at(file, line, ctx, lbk_dtype_size(dt) < 4 ? LBK_F32 : dt, nd, ctx->nodes[a].dims);
    g = lbk_neg_at(file, line, ctx, lbk_log_at(file, line, ctx, lbk_neg_at(file, line, ctx, lbk_log_at(file, line, ctx, u))));
    key = lbk_add_at(file, line, ctx, lbk_log_at(file, line, ctx, probs), g);
    ninf = lbk_scalar_at(file, line, ctx, LBK_F64, -INFINITY);
    key = lbk_where_at(file, line, ctx, lbk_ne_at(file, line, ctx, key, key), ninf, key);   /* a negative or NaN weight: never drawn */
    if (lbk__g_sorted(file, line, ctx, "multinomial", key, n_samples, -1, true, &vals, &idx) != LBK_OK) idx = lbk__null_tensor();
    lbk__g_scope_end(ctx, sc, &idx, 1);
    return idx;
}
/* one_hot: ids are checked at run time by an index_select of arange(n_classes) (which
   gives them back), then compared with arange(n_classes). */
static lbk_tensor lbk__g_one_hot(const char *file, int line, lbk_ctx *ctx, lbk_tensor ids, int64_t n_classes, lbk_dtype dt) {
    uint32_t a;
    lbk_tensor ar, chk, r;
    lbk_scope sc;
    LBK__OP1(oc, "one_hot", LBK_OP_INDEX_SELECT, ids, a);
    if (!lbk__is_int((lbk_dtype)ctx->nodes[a].dtype)) return lbk__op_fail(&oc, LBK_ERR_DTYPE, "ids must be an integer tensor");
    if (n_classes < 1) return lbk__op_fail(&oc, LBK_ERR_ARG, "n_classes %lld must be >= 1", (long long)n_classes);
    if (ctx->nodes[a].n_dims >= LAZYBK_MAX_DIMS) return lbk__op_fail(&oc, LBK_ERR_SHAPE, "ids have %d dims; the result would have too many", (int)ctx->nodes[a].n_dims);
    if (!lbk__check_dtype(&oc, dt)) return lbk__null_tensor();
    sc = lbk__g_scope_begin(ctx);
    ar = lbk__g_arange_at(file, line, ctx, LBK_I64, 0, (double)n_classes, 1);
    chk = lbk__g_indexed_at(file, line, ctx, "one_hot", LBK_OP_INDEX_SELECT, ar, 0, ids, NULL, 0);
    r = lbk__g_cast_at(file, line, ctx, lbk__g_binary(ctx, LBK_OP_EQ, lbk__g_unsqueeze_at(file, line, ctx, chk, -1), ar, file, line), dt);
    lbk__g_scope_end(ctx, sc, &r, 1);
    return r;
}
/* pad (constant): per axis from the last, a crop (negative) by slice, then the value on
   either side by concat. */
static lbk_tensor lbk__g_pad(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_pads, const int64_t *pads, double value) {
    uint32_t a;
    int nd, i;
    lbk_tensor x, parts[3];
    lbk_scope sc;
    LBK__OP1(oc, "pad", LBK_OP_CONCAT, t, a);
    nd = ctx->nodes[a].n_dims;
    if (n_pads < 0 || n_pads % 2 || n_pads > 2 * nd || (n_pads && !pads))
        return lbk__op_fail(&oc, LBK_ERR_ARG, "needs an even number of pads, at most 2 per dim (%d dims), got %d", nd, n_pads);
    for (i = 0; i < n_pads / 2; i++) {
        int64_t d = ctx->nodes[a].dims[nd - 1 - i], lo = pads[2 * i], hi = pads[2 * i + 1];
        if (lo > INT64_MAX / 4 || hi > INT64_MAX / 4 || lo < -d || hi < -d || d + lo + hi < 0)
            return lbk__op_fail(&oc, LBK_ERR_ARG, "pads %lld, %lld of dim %d (size %lld) leave a negative size", (long long)lo, (long long)hi, nd - 1 - i, (long long)d);
    }
    sc = lbk__g_scope_begin(ctx);
    x = lbk__same(&oc, a);
    for (i = 0; i < n_pads / 2 && x.id; i++) {
        int ax = nd - 1 - i, n = 0;
        int64_t lo = pads[2 * i], hi = pads[2 * i + 1], dims[LAZYBK_MAX_DIMS], d = ctx->nodes[a].dims[ax];
        uint32_t cur;
        if (lo < 0 || hi < 0) x = lbk__g_slice_at(file, line, ctx, x, ax, lo < 0 ? -lo : 0, hi < 0 ? d + hi : d, 1);
        if (!x.id || (lo <= 0 && hi <= 0) || !lbk__arg(&oc, x, 0, &cur)) continue;
        memcpy(dims, ctx->nodes[cur].dims, sizeof(int64_t) * (size_t)nd);
        if (lo > 0) { dims[ax] = lo; parts[n++] = lbk__g_full_at(file, line, ctx, (lbk_dtype)ctx->nodes[a].dtype, nd, dims, value); }
        parts[n++] = x;
        if (hi > 0) { dims[ax] = hi; parts[n++] = lbk__g_full_at(file, line, ctx, (lbk_dtype)ctx->nodes[a].dtype, nd, dims, value); }
        x = lbk__g_concat_at(file, line, ctx, parts, n, ax);
    }
    lbk__g_scope_end(ctx, sc, &x, 1);
    return x;
}

/* ---- composites: batch_norm, group_norm, rope, cross_entropy ---- */
/* x, then up to four optional per-channel inputs (a {0} is left out; has_w, has_b say which). */
static lbk_tensor lbk__g_chan_norm(const char *file, int line, lbk_ctx *ctx, const char *name, lbk_op op, lbk_tensor x, const lbk_tensor *more,
                                   int n_more, lbk__attrs *at) {
    uint32_t in[5], n = 1;
    int k;
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, name, op);
        if (!lbk__arg(&oc, x, 0, &in[0])) return lbk__null_tensor();
        for (k = 0; k < n_more; k++)
            if (more[k].id) {
                if (!lbk__arg(&oc, more[k], n, &in[n])) return lbk__null_tensor();
                n++;
            }
        return lbk__build(&oc, op, in, n, at, (lbk_dtype)0, 0, NULL);
    }
}
static lbk_tensor lbk__g_batch_norm(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor mean, lbk_tensor var, lbk_tensor weight,
                                    lbk_tensor bias, double eps) {
    lbk_tensor more[4];
    lbk__attrs at = lbk__attrs_zero();
    if (ctx && (!mean.id || !var.id)) { LBK__OPCTX(oc, "batch_norm", LBK_OP_BATCH_NORM); return lbk__op_fail(&oc, LBK_ERR_ARG, "needs the running mean and var"); }
    more[0] = mean; more[1] = var; more[2] = weight; more[3] = bias;
    at.comp.eps = eps;
    at.comp.has_w = weight.id != 0;
    at.comp.has_b = bias.id != 0;
    return lbk__g_chan_norm(file, line, ctx, "batch_norm", LBK_OP_BATCH_NORM, x, more, 4, &at);
}
static lbk_tensor lbk__g_group_norm(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int64_t groups, lbk_tensor weight, lbk_tensor bias, double eps) {
    lbk_tensor more[2];
    lbk__attrs at = lbk__attrs_zero();
    if (ctx && (groups < 1 || groups > INT32_MAX)) { LBK__OPCTX(oc, "group_norm", LBK_OP_GROUP_NORM); return lbk__op_fail(&oc, LBK_ERR_ARG, "num_groups %lld must be in [1, 2^31)", (long long)groups); }
    more[0] = weight; more[1] = bias;
    at.comp.n_norm = (int32_t)groups;
    at.comp.eps = eps;
    at.comp.has_w = weight.id != 0;
    at.comp.has_b = bias.id != 0;
    return lbk__g_chan_norm(file, line, ctx, "group_norm", LBK_OP_GROUP_NORM, x, more, 2, &at);
}
static lbk_tensor lbk__g_rope(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor positions, int64_t rot_dims, double base, bool interleaved) {
    lbk__attrs at = lbk__attrs_zero();
    if (ctx && (rot_dims < 0 || rot_dims > INT32_MAX)) { LBK__OPCTX(oc, "rope", LBK_OP_ROPE); return lbk__op_fail(&oc, LBK_ERR_ARG, "rot_dims %lld is out of range", (long long)rot_dims); }
    at.comp.n_norm = (int32_t)rot_dims;
    at.comp.eps = base;
    at.comp.approx = interleaved;
    return lbk__g_chan_norm(file, line, ctx, "rope", LBK_OP_ROPE, x, &positions, 1, &at);
}
static lbk_tensor lbk__g_cross_entropy(const char *file, int line, lbk_ctx *ctx, lbk_tensor logits, lbk_tensor target, int64_t ignore_index, double smoothing) {
    lbk__attrs at = lbk__attrs_zero();
    if (ctx && !target.id) { LBK__OPCTX(oc, "cross_entropy", LBK_OP_CROSS_ENTROPY); return lbk__op_fail(&oc, LBK_ERR_ARG, "needs a target"); }
    at.ce.ignore = ignore_index;
    at.ce.smoothing = smoothing;
    return lbk__g_chan_norm(file, line, ctx, "cross_entropy", LBK_OP_CROSS_ENTROPY, logits, &target, 1, &at);
}

/* ---- the public entry points of the ops above ---- */
LAZYBK_API lbk_tensor lbk_conv1d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, int64_t stride, int64_t padding,
                                    int64_t dilation, int64_t groups) {
    LBK__GUARD(lbk_tensor, ctx, "conv1d", lbk__null_tensor(), lbk__g_conv1d(file, line, ctx, x, w, b, stride, padding, dilation, groups));
}
LAZYBK_API lbk_tensor (lbk_conv1d)(lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, int64_t stride, int64_t padding, int64_t dilation, int64_t groups) {
    return lbk_conv1d_at(NULL, 0, ctx, x, w, b, stride, padding, dilation, groups);
}
LAZYBK_API lbk_tensor lbk_conv2d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, const int64_t *stride,
                                    const int64_t *padding, const int64_t *dilation, int64_t groups) {
    LBK__GUARD(lbk_tensor, ctx, "conv2d", lbk__null_tensor(), lbk__g_conv(file, line, ctx, "conv2d", LBK_OP_CONV2D, x, w, b, stride, padding, dilation, groups));
}
LAZYBK_API lbk_tensor (lbk_conv2d)(lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, const int64_t *stride, const int64_t *padding,
                                   const int64_t *dilation, int64_t groups) {
    return lbk_conv2d_at(NULL, 0, ctx, x, w, b, stride, padding, dilation, groups);
}
LAZYBK_API lbk_tensor lbk_conv_transpose2d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, const int64_t *stride,
                                              const int64_t *padding, const int64_t *output_padding, int64_t groups) {
    LBK__GUARD(lbk_tensor, ctx, "conv_transpose2d", lbk__null_tensor(),
               lbk__g_conv(file, line, ctx, "conv_transpose2d", LBK_OP_CONV_TRANSPOSE2D, x, w, b, stride, padding, output_padding, groups));
}
LAZYBK_API lbk_tensor (lbk_conv_transpose2d)(lbk_ctx *ctx, lbk_tensor x, lbk_tensor w, lbk_tensor b, const int64_t *stride, const int64_t *padding,
                                             const int64_t *output_padding, int64_t groups) {
    return lbk_conv_transpose2d_at(NULL, 0, ctx, x, w, b, stride, padding, output_padding, groups);
}
LAZYBK_API lbk_tensor lbk_max_pool2d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, const int64_t *kernel, const int64_t *stride,
                                        const int64_t *padding) {
    LBK__GUARD(lbk_tensor, ctx, "max_pool2d", lbk__null_tensor(), lbk__g_pool(file, line, ctx, "max_pool2d", LBK_OP_MAX_POOL2D, x, kernel, stride, padding));
}
LAZYBK_API lbk_tensor (lbk_max_pool2d)(lbk_ctx *ctx, lbk_tensor x, const int64_t *kernel, const int64_t *stride, const int64_t *padding) {
    return lbk_max_pool2d_at(NULL, 0, ctx, x, kernel, stride, padding);
}
LAZYBK_API lbk_tensor lbk_avg_pool2d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, const int64_t *kernel, const int64_t *stride,
                                        const int64_t *padding) {
    LBK__GUARD(lbk_tensor, ctx, "avg_pool2d", lbk__null_tensor(), lbk__g_pool(file, line, ctx, "avg_pool2d", LBK_OP_AVG_POOL2D, x, kernel, stride, padding));
}
LAZYBK_API lbk_tensor (lbk_avg_pool2d)(lbk_ctx *ctx, lbk_tensor x, const int64_t *kernel, const int64_t *stride, const int64_t *padding) {
    return lbk_avg_pool2d_at(NULL, 0, ctx, x, kernel, stride, padding);
}
LAZYBK_API lbk_tensor lbk_interpolate_nearest2d_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int64_t out_h, int64_t out_w) {
    LBK__GUARD(lbk_tensor, ctx, "interpolate_nearest2d", lbk__null_tensor(), lbk__g_interp(file, line, ctx, x, out_h, out_w));
}
LAZYBK_API lbk_tensor (lbk_interpolate_nearest2d)(lbk_ctx *ctx, lbk_tensor x, int64_t out_h, int64_t out_w) {
    return lbk_interpolate_nearest2d_at(NULL, 0, ctx, x, out_h, out_w);
}
LAZYBK_API lbk_tensor lbk_cumsum_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis) {
    LBK__GUARD(lbk_tensor, ctx, "cumsum", lbk__null_tensor(), lbk__g_scan(file, line, ctx, "cumsum", LBK_OP_CUMSUM, t, axis, false));
}
LAZYBK_API lbk_tensor (lbk_cumsum)(lbk_ctx *ctx, lbk_tensor t, int axis) { return lbk_cumsum_at(NULL, 0, ctx, t, axis); }
LAZYBK_API lbk_tensor lbk_argsort_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, bool descending) {
    LBK__GUARD(lbk_tensor, ctx, "argsort", lbk__null_tensor(), lbk__g_scan(file, line, ctx, "argsort", LBK_OP_ARGSORT, t, axis, descending));
}
LAZYBK_API lbk_tensor (lbk_argsort)(lbk_ctx *ctx, lbk_tensor t, int axis, bool descending) { return lbk_argsort_at(NULL, 0, ctx, t, axis, descending); }
LAZYBK_API lbk_result lbk_sort_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int axis, bool descending, lbk_tensor *out_values,
                                  lbk_tensor *out_indices) {
    LBK__GUARD(lbk_result, ctx, "sort", LBK_ERR_BUSY, lbk__g_sorted(file, line, ctx, "sort", t, -1, axis, descending, out_values, out_indices));
}
LAZYBK_API lbk_result (lbk_sort)(lbk_ctx *ctx, lbk_tensor t, int axis, bool descending, lbk_tensor *out_values, lbk_tensor *out_indices) {
    return lbk_sort_at(NULL, 0, ctx, t, axis, descending, out_values, out_indices);
}
LAZYBK_API lbk_result lbk_topk_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int64_t k, int axis, bool largest, lbk_tensor *out_values,
                                  lbk_tensor *out_indices) {
    if (k < 0) k = -2;   /* refused as negative (-1 means "all" inside) */
    LBK__GUARD(lbk_result, ctx, "topk", LBK_ERR_BUSY, lbk__g_sorted(file, line, ctx, "topk", t, k, axis, largest, out_values, out_indices));
}
LAZYBK_API lbk_result (lbk_topk)(lbk_ctx *ctx, lbk_tensor t, int64_t k, int axis, bool largest, lbk_tensor *out_values, lbk_tensor *out_indices) {
    return lbk_topk_at(NULL, 0, ctx, t, k, axis, largest, out_values, out_indices);
}
LAZYBK_API lbk_tensor lbk_multinomial_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor probs, int64_t n_samples) {
    LBK__GUARD(lbk_tensor, ctx, "multinomial", lbk__null_tensor(), lbk__g_multinomial(file, line, ctx, probs, n_samples));
}
LAZYBK_API lbk_tensor (lbk_multinomial)(lbk_ctx *ctx, lbk_tensor probs, int64_t n_samples) { return lbk_multinomial_at(NULL, 0, ctx, probs, n_samples); }
LAZYBK_API lbk_tensor lbk_one_hot_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor ids, int64_t n_classes, lbk_dtype dt) {
    LBK__GUARD(lbk_tensor, ctx, "one_hot", lbk__null_tensor(), lbk__g_one_hot(file, line, ctx, ids, n_classes, dt));
}
LAZYBK_API lbk_tensor (lbk_one_hot)(lbk_ctx *ctx, lbk_tensor ids, int64_t n_classes, lbk_dtype dt) { return lbk_one_hot_at(NULL, 0, ctx, ids, n_classes, dt); }
LAZYBK_API lbk_tensor lbk_pad_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor t, int n_pads, const int64_t *pads, double value) {
    LBK__GUARD(lbk_tensor, ctx, "pad", lbk__null_tensor(), lbk__g_pad(file, line, ctx, t, n_pads, pads, value));
}
LAZYBK_API lbk_tensor (lbk_pad)(lbk_ctx *ctx, lbk_tensor t, int n_pads, const int64_t *pads, double value) { return lbk_pad_at(NULL, 0, ctx, t, n_pads, pads, value); }
LAZYBK_API lbk_tensor lbk_batch_norm_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor mean, lbk_tensor var, lbk_tensor weight,
                                        lbk_tensor bias, double eps) {
    LBK__GUARD(lbk_tensor, ctx, "batch_norm", lbk__null_tensor(), lbk__g_batch_norm(file, line, ctx, x, mean, var, weight, bias, eps));
}
LAZYBK_API lbk_tensor (lbk_batch_norm)(lbk_ctx *ctx, lbk_tensor x, lbk_tensor mean, lbk_tensor var, lbk_tensor weight, lbk_tensor bias, double eps) {
    return lbk_batch_norm_at(NULL, 0, ctx, x, mean, var, weight, bias, eps);
}
LAZYBK_API lbk_tensor lbk_group_norm_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, int64_t groups, lbk_tensor weight, lbk_tensor bias, double eps) {
    LBK__GUARD(lbk_tensor, ctx, "group_norm", lbk__null_tensor(), lbk__g_group_norm(file, line, ctx, x, groups, weight, bias, eps));
}
LAZYBK_API lbk_tensor (lbk_group_norm)(lbk_ctx *ctx, lbk_tensor x, int64_t groups, lbk_tensor weight, lbk_tensor bias, double eps) {
    return lbk_group_norm_at(NULL, 0, ctx, x, groups, weight, bias, eps);
}
LAZYBK_API lbk_tensor lbk_rope_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor x, lbk_tensor positions, int64_t rot_dims, double base, bool interleaved) {
    LBK__GUARD(lbk_tensor, ctx, "rope", lbk__null_tensor(), lbk__g_rope(file, line, ctx, x, positions, rot_dims, base, interleaved));
}
LAZYBK_API lbk_tensor (lbk_rope)(lbk_ctx *ctx, lbk_tensor x, lbk_tensor positions, int64_t rot_dims, double base, bool interleaved) {
    return lbk_rope_at(NULL, 0, ctx, x, positions, rot_dims, base, interleaved);
}
LAZYBK_API lbk_tensor lbk_cross_entropy_at(const char *file, int line, lbk_ctx *ctx, lbk_tensor logits, lbk_tensor target, int64_t ignore_index,
                                           double label_smoothing) {
    LBK__GUARD(lbk_tensor, ctx, "cross_entropy", lbk__null_tensor(), lbk__g_cross_entropy(file, line, ctx, logits, target, ignore_index, label_smoothing));
}
LAZYBK_API lbk_tensor (lbk_cross_entropy)(lbk_ctx *ctx, lbk_tensor logits, lbk_tensor target, int64_t ignore_index, double label_smoothing) {
    return lbk_cross_entropy_at(NULL, 0, ctx, logits, target, ignore_index, label_smoothing);
}

// >>decomp -----------------------------------------------------------------------------
/* The decomposition interface, its built-in implementation (a registry of functions keyed
   by schema), and the built-in decompositions themselves, written with the public ops. */

/* ---- popping typed arguments off a stack ---- */
static lbk_result lbk__pop_fail(lbk_ctx *ctx, const char *what, lbk_value *v) {
    lbk_result r = lbk__ctx_fail(ctx, LBK_ERR_ARG, "decomposition", -1, "expected %s on the stack, found %s", what,
                                 v ? lbk_value_kind_name(v->kind) : "nothing");
    lbk_value_free(v);
    return r;
}
static lbk_result lbk__pop_tensor(lbk_ctx *ctx, lbk_value *stack, bool optional, lbk_tensor *out) {
    lbk_value *v = lbk_list_pop(stack);
    out->id = 0;
    if (v && v->kind == LBK_VALUE_TENSOR) { *out = v->u.t; lbk_value_free(v); return LBK_OK; }
    if (v && optional && v->kind == LBK_VALUE_NONE) { lbk_value_free(v); return LBK_OK; }
    return lbk__pop_fail(ctx, optional ? "Tensor?" : "Tensor", v);
}
static lbk_result lbk__pop_num(lbk_ctx *ctx, lbk_value *stack, lbk_value_kind kind, double *out) {
    lbk_value *v = lbk_list_pop(stack);
    bool ok = v && (v->kind == kind || (kind == LBK_VALUE_DOUBLE && v->kind == LBK_VALUE_INT));
    if (!ok) return lbk__pop_fail(ctx, lbk_value_kind_name(kind), v);
    *out = kind == LBK_VALUE_BOOL ? (double)v->u.b : kind == LBK_VALUE_INT ? (double)v->u.i : lbk_value_as_double(v);
    lbk_value_free(v);
    return LBK_OK;
}
static lbk_result lbk__pop_ints(lbk_ctx *ctx, lbk_value *stack, int *out, int *out_n) {
    lbk_value *v = lbk_list_pop(stack);
    size_t k;
    if (!v || v->kind != LBK_VALUE_LIST || v->u.list.n > LAZYBK_MAX_DIMS) return lbk__pop_fail(ctx, "int[]", v);
    for (k = 0; k < v->u.list.n; k++) {
        if (v->u.list.items[k]->kind != LBK_VALUE_INT) return lbk__pop_fail(ctx, "int[]", v);
        out[k] = (int)v->u.list.items[k]->u.i;
    }
    *out_n = (int)v->u.list.n;
    lbk_value_free(v);
    return LBK_OK;
}
static lbk_result lbk__push_result(lbk_ctx *ctx, lbk_value *stack, lbk_tensor t) {
    lbk_value *v;
    if (!t.id) return ctx->recent != LBK_OK ? ctx->recent : LBK_ERR_ARG;   /* an op failed: its own result */
    v = lbk_value_tensor(t);
    if (!v) return lbk__ctx_fail(ctx, LBK_ERR_OOM, "decomposition", -1, "out of memory");
    return lbk_list_push(stack, v);
}
#define LBK__TRY(x) do { lbk_result r_ = (x); if (r_ != LBK_OK) return r_; } while (0)

/* A constant for a decomposition, in the (float) dtype of the tensor it meets, so that
   no cast is needed and the backend holds it in a dtype it already handles. */
static lbk_tensor lbk__c(lbk_ctx *ctx, lbk_tensor like, double v) {
    lbk_dtype dt = lbk_type(ctx, like);
    return (lbk_scalar)(ctx, lbk__is_float(dt) ? dt : LBK_F32, v);
}

/* ---- the built-in decompositions: numerically careful (max subtracted, two-pass var) ---- */
/* The max over axis ax, kept as a size-1 dim, that softmax and logsumexp subtract; over a
   zero-size axis (where amax has no answer) -inf, as PyTorch's empty logsumexp is -inf. */
static lbk_tensor lbk__d_rowmax(lbk_ctx *ctx, lbk_tensor x, int ax) {
    int64_t dims[LAZYBK_MAX_DIMS];
    int nd = lbk_ndim(ctx, x), k, a = ax < 0 ? ax + nd : ax;
    if (a < 0 || a >= nd || lbk_dim(ctx, x, a) != 0) return (lbk_amax)(ctx, x, 1, &ax, true);
    for (k = 0; k < nd; k++) dims[k] = k == a ? 1 : lbk_dim(ctx, x, k);
    return (lbk_full)(ctx, lbk__float_of(lbk_type(ctx, x)), nd, dims, -INFINITY);
}
/* softmax in primitives (a decomposition's result must not need another decomposition). */
static lbk_tensor lbk__d_softmax_of(lbk_ctx *ctx, lbk_tensor x, int ax) {
    lbk_tensor e = (lbk_exp)(ctx, (lbk_sub)(ctx, x, lbk__d_rowmax(ctx, x, ax)));
    return (lbk_div)(ctx, e, (lbk_sum)(ctx, e, 1, &ax, true));
}
static lbk_result lbk__d_softmax(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x;
    double dim;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_INT, &dim));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    return lbk__push_result(ctx, stack, lbk__d_softmax_of(ctx, x, (int)dim));
}
static lbk_result lbk__d_log_softmax(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, z;
    double dim;
    int ax;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_INT, &dim));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    ax = (int)dim;
    z = (lbk_sub)(ctx, x, lbk__d_rowmax(ctx, x, ax));
    return lbk__push_result(ctx, stack, (lbk_sub)(ctx, z, (lbk_log)(ctx, (lbk_sum)(ctx, (lbk_exp)(ctx, z), 1, &ax, true))));
}
static lbk_result lbk__d_logsumexp(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, m, s, r;
    double dim, keep;
    int ax;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_BOOL, &keep));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_INT, &dim));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    ax = (int)dim;
    m = lbk__d_rowmax(ctx, x, ax);
    /* rows of -inf (or +inf) would give inf - inf: shift by 0 there instead */
    m = (lbk_where)(ctx, (lbk_eq)(ctx, (lbk_abs)(ctx, m), lbk__c(ctx, m, INFINITY)), lbk__c(ctx, m, 0), m);
    s = (lbk_log)(ctx, (lbk_sum)(ctx, (lbk_exp)(ctx, (lbk_sub)(ctx, x, m)), 1, &ax, keep != 0));
    r = (lbk_add)(ctx, s, keep != 0 ? m : (lbk_sum)(ctx, m, 1, &ax, false));
    return lbk__push_result(ctx, stack, r);
}
static lbk_result lbk__d_gelu(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, inner, r;
    lbk_value *v = lbk_list_pop(stack);
    bool tanh_approx;
    if (!v || v->kind != LBK_VALUE_STR || (strcmp(v->u.s, "none") != 0 && strcmp(v->u.s, "tanh") != 0))
        return lbk__pop_fail(ctx, "str 'none' or 'tanh'", v);
    tanh_approx = strcmp(v->u.s, "tanh") == 0;
    lbk_value_free(v);
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    if (tanh_approx) {   /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
        lbk_tensor x3 = (lbk_mul)(ctx, (lbk_mul)(ctx, x, x), x);
        inner = (lbk_mul)(ctx, lbk__c(ctx, x, 0.7978845608028654), (lbk_add)(ctx, x, (lbk_mul)(ctx, lbk__c(ctx, x, 0.044715), x3)));
        r = (lbk_tanh)(ctx, inner);
    } else {             /* 0.5 x (1 + erf(x / sqrt(2))) */
        r = (lbk_erf)(ctx, (lbk_mul)(ctx, x, lbk__c(ctx, x, 0.7071067811865476)));
    }
    r = (lbk_mul)(ctx, (lbk_mul)(ctx, lbk__c(ctx, x, 0.5), x), (lbk_add)(ctx, lbk__c(ctx, x, 1), r));
    return lbk__push_result(ctx, stack, r);
}
static lbk_result lbk__d_silu(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x;
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    return lbk__push_result(ctx, stack, (lbk_mul)(ctx, x, (lbk_sigmoid)(ctx, x)));
}
/* log(1 + u) for u >= 0 (or -1 < u), accurate near 0: where 1 + u rounds to 1, u; else
   log(w) * u / (w - 1), w = 1 + u, whose rounding errors cancel (Goldberg's formula). */
static lbk_tensor lbk__d_log1p(lbk_ctx *ctx, lbk_tensor u) {
    lbk_tensor w = (lbk_add)(ctx, u, lbk__c(ctx, u, 1));
    lbk_tensor q = (lbk_div)(ctx, (lbk_mul)(ctx, (lbk_log)(ctx, w), u), (lbk_sub)(ctx, w, lbk__c(ctx, u, 1)));
    return (lbk_where)(ctx, (lbk_eq)(ctx, w, lbk__c(ctx, u, 1)), u, q);
}
/* exp(x) - 1, accurate near 0: where exp(x) rounds to 1, x; where it is 0, -1; else
   (u - 1) * x / log(u), u = exp(x) (Kahan's formula). */
static lbk_tensor lbk__d_expm1(lbk_ctx *ctx, lbk_tensor x) {
    lbk_tensor u = (lbk_exp)(ctx, x), one = lbk__c(ctx, x, 1);
    lbk_tensor q = (lbk_div)(ctx, (lbk_mul)(ctx, (lbk_sub)(ctx, u, one), x), (lbk_log)(ctx, u));
    return (lbk_where)(ctx, (lbk_eq)(ctx, u, one), x, (lbk_where)(ctx, (lbk_eq)(ctx, u, lbk__c(ctx, x, 0)), lbk__c(ctx, x, -1), q));
}
static lbk_result lbk__d_softplus(lbk_ctx *ctx, lbk_value *stack) {   /* where(beta x > threshold, x, log1p(exp(beta x)) / beta) */
    lbk_tensor x, bx;
    double beta, th;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &th));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &beta));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    bx = (lbk_mul)(ctx, x, lbk__c(ctx, x, beta));
    return lbk__push_result(ctx, stack, (lbk_where)(ctx, (lbk_gt)(ctx, bx, lbk__c(ctx, x, th)), x,
                                                    (lbk_div)(ctx, lbk__d_log1p(ctx, (lbk_exp)(ctx, bx)), lbk__c(ctx, x, beta))));
}
static lbk_result lbk__d_leaky_relu(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x;
    double slope;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &slope));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    return lbk__push_result(ctx, stack, (lbk_where)(ctx, (lbk_gt)(ctx, x, lbk__c(ctx, x, 0)), x, (lbk_mul)(ctx, x, lbk__c(ctx, x, slope))));
}
static lbk_result lbk__d_hardswish(lbk_ctx *ctx, lbk_value *stack) {   /* x * min(max(x + 3, 0), 6) / 6 */
    lbk_tensor x, r6;
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    r6 = (lbk_minimum)(ctx, (lbk_maximum)(ctx, (lbk_add)(ctx, x, lbk__c(ctx, x, 3)), lbk__c(ctx, x, 0)), lbk__c(ctx, x, 6));
    return lbk__push_result(ctx, stack, (lbk_div)(ctx, (lbk_mul)(ctx, x, r6), lbk__c(ctx, x, 6)));
}
static lbk_result lbk__d_elu(lbk_ctx *ctx, lbk_value *stack) {   /* where(x > 0, scale x, alpha scale expm1(input_scale x)) */
    lbk_tensor x, neg;
    double alpha, scale, iscale;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &iscale));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &scale));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &alpha));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    neg = (lbk_mul)(ctx, lbk__d_expm1(ctx, (lbk_mul)(ctx, x, lbk__c(ctx, x, iscale))), lbk__c(ctx, x, alpha * scale));
    return lbk__push_result(ctx, stack, (lbk_where)(ctx, (lbk_gt)(ctx, x, lbk__c(ctx, x, 0)), (lbk_mul)(ctx, x, lbk__c(ctx, x, scale)), neg));
}
/* The number of elements the axes of x span (all axes when n == 0). */
static int64_t lbk__span(lbk_ctx *ctx, lbk_tensor x, int n, const int *axes) {
    int64_t c = 1;
    int k, nd = lbk_ndim(ctx, x);
    if (n == 0) return lbk_numel(ctx, x);
    for (k = 0; k < n; k++) c *= lbk_dim(ctx, x, axes[k] < 0 ? axes[k] + nd : axes[k]);
    return c;
}
static lbk_result lbk__d_var(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, d, s;
    double corr, keep;
    int axes[LAZYBK_MAX_DIMS], n;
    int64_t cnt;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_BOOL, &keep));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_INT, &corr));
    LBK__TRY(lbk__pop_ints(ctx, stack, axes, &n));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    /* two passes: the mean, then the squared deviations from it */
    d = (lbk_sub)(ctx, x, (lbk_mean)(ctx, x, n, axes, true));
    s = (lbk_sum)(ctx, (lbk_mul)(ctx, d, d), n, axes, keep != 0);
    cnt = lbk__span(ctx, x, n, axes);
    return lbk__push_result(ctx, stack, (lbk_div)(ctx, s, lbk__c(ctx, s, (double)LBK__MAX(cnt - (int64_t)corr, 0))));
}
/* The last-n axes of x, checked against normalized_shape. */
static lbk_result lbk__norm_axes(lbk_ctx *ctx, lbk_tensor x, const int *shape, int n, int *axes) {
    int k, nd = lbk_ndim(ctx, x);
    if (n < 1 || n > nd) return lbk__ctx_fail(ctx, LBK_ERR_SHAPE, "decomposition", -1, "normalized_shape has %d dims, input %d", n, nd);
    for (k = 0; k < n; k++) {
        axes[k] = nd - n + k;
        if (lbk_dim(ctx, x, axes[k]) != shape[k])
            return lbk__ctx_fail(ctx, LBK_ERR_SHAPE, "decomposition", -1, "normalized_shape does not match the input's last dims");
    }
    return LBK_OK;
}
static lbk_result lbk__d_layer_norm(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, w, b, d, var, y;
    double eps;
    int shape[LAZYBK_MAX_DIMS], axes[LAZYBK_MAX_DIMS], n;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &eps));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &b));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &w));
    LBK__TRY(lbk__pop_ints(ctx, stack, shape, &n));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    LBK__TRY(lbk__norm_axes(ctx, x, shape, n, axes));
    d = (lbk_sub)(ctx, x, (lbk_mean)(ctx, x, n, axes, true));
    var = (lbk_mean)(ctx, (lbk_mul)(ctx, d, d), n, axes, true);
    y = (lbk_mul)(ctx, d, (lbk_rsqrt)(ctx, (lbk_add)(ctx, var, lbk__c(ctx, var, eps))));
    if (w.id) y = (lbk_mul)(ctx, y, w);
    if (b.id) y = (lbk_add)(ctx, y, b);
    return lbk__push_result(ctx, stack, y);
}
static lbk_result lbk__d_rms_norm(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, w, y;
    double eps;
    int shape[LAZYBK_MAX_DIMS], axes[LAZYBK_MAX_DIMS], n;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &eps));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &w));
    LBK__TRY(lbk__pop_ints(ctx, stack, shape, &n));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    LBK__TRY(lbk__norm_axes(ctx, x, shape, n, axes));
    {
        lbk_tensor ms = (lbk_mean)(ctx, (lbk_mul)(ctx, x, x), n, axes, true);
        y = (lbk_mul)(ctx, x, (lbk_rsqrt)(ctx, (lbk_add)(ctx, ms, lbk__c(ctx, ms, eps))));
    }
    if (w.id) y = (lbk_mul)(ctx, y, w);
    return lbk__push_result(ctx, stack, y);
}
static lbk_result lbk__d_linear(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, w, b, y;
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &b));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &w));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    y = (lbk_matmul)(ctx, x, (lbk_transpose)(ctx, w, 0, 1));
    if (b.id) y = (lbk_add)(ctx, y, b);
    return lbk__push_result(ctx, stack, y);
}
/* k [..., Hk, S, E] with each head repeated g times in place: [..., Hk * g, S, E]. */
static lbk_tensor lbk__d_repeat_heads(lbk_ctx *ctx, lbk_tensor k, int64_t g) {
    int nd = lbk_ndim(ctx, k), d;
    int64_t e[LAZYBK_MAX_DIMS], r[LAZYBK_MAX_DIMS];
    if (g == 1) return k;
    for (d = 0; d < nd; d++) r[d] = lbk_dim(ctx, k, d);
    for (d = 0; d <= nd; d++) e[d] = d < nd - 2 ? r[d] : d == nd - 2 ? g : r[d - 1];
    r[nd - 3] *= g;
    return (lbk_reshape)(ctx, (lbk_expand)(ctx, (lbk_unsqueeze)(ctx, k, nd - 2), nd + 1, e), nd, r);
}
/* PyTorch's math path: softmax(q k^T scale + mask) v; is_causal keeps j <= i (top left);
   a bool mask keeps where it is true (the rest -inf), a float mask is added. */
static lbk_result lbk__d_scaled_dot_product_attention(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor q, k, v, m, s, ninf;
    double drop, causal, scale = 0;
    int nd;
    lbk_value *sv = lbk_list_pop(stack);
    if (sv && sv->kind != LBK_VALUE_NONE && sv->kind != LBK_VALUE_DOUBLE && sv->kind != LBK_VALUE_INT) return lbk__pop_fail(ctx, "float?", sv);
    if (sv && sv->kind != LBK_VALUE_NONE) scale = lbk_value_as_double(sv);
    lbk_value_free(sv);
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_BOOL, &causal));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &drop));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &m));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &v));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &k));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &q));
    if (drop != 0) return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, "scaled_dot_product_attention", -1, "dropout_p %g: only 0 (inference)", drop);
    nd = lbk_ndim(ctx, q);
    if (nd < 2) return lbk__ctx_fail(ctx, LBK_ERR_SHAPE, "scaled_dot_product_attention", -1, "query has %d dims (at least 2)", nd);
    if (scale == 0) scale = 1.0 / sqrt((double)lbk_dim(ctx, q, nd - 1));
    if (nd >= 3 && lbk_dim(ctx, k, nd - 3) > 0 && lbk_dim(ctx, q, nd - 3) != lbk_dim(ctx, k, nd - 3)) {   /* grouped-query */
        int64_t g = lbk_dim(ctx, q, nd - 3) / lbk_dim(ctx, k, nd - 3);
        k = lbk__d_repeat_heads(ctx, k, g);
        v = lbk__d_repeat_heads(ctx, v, g);
    }
    s = (lbk_mul)(ctx, (lbk_matmul)(ctx, q, (lbk_transpose)(ctx, k, -2, -1)), lbk__c(ctx, q, scale));
    ninf = lbk__c(ctx, q, -INFINITY);
    if (causal != 0) m = lbk__tri_mask(NULL, 0, ctx, lbk_dim(ctx, q, nd - 2), lbk_dim(ctx, k, nd - 2), 0, false);
    if (m.id) s = lbk_type(ctx, m) == LBK_BOOL ? (lbk_where)(ctx, m, s, ninf) : (lbk_add)(ctx, s, m);
    return lbk__push_result(ctx, stack, (lbk_matmul)(ctx, lbk__d_softmax_of(ctx, s, -1), v));
}
/* A per-channel [C] tensor shaped to broadcast over x [N, C, ...] of nd dims: [C, 1, ...]. */
static lbk_tensor lbk__d_chan(lbk_ctx *ctx, lbk_tensor c, int nd) {
    int64_t dims[LAZYBK_MAX_DIMS];
    int k;
    dims[0] = lbk_dim(ctx, c, 0);
    for (k = 1; k < nd - 1; k++) dims[k] = 1;
    return (lbk_reshape)(ctx, c, nd - 1, dims);
}
/* Inference batch norm: (x - mean) / sqrt(var + eps) * weight + bias, per channel. */
static lbk_result lbk__d_batch_norm(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, w, b, m, v, y;
    double training, momentum, eps, cudnn;
    int nd;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_BOOL, &cudnn));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &eps));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &momentum));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_BOOL, &training));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &v));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &m));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &b));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &w));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    (void)momentum; (void)cudnn;
    if (training != 0 || !m.id || !v.id)
        return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, "batch_norm", -1, "only inference (training false, running stats given) is decomposed");
    nd = lbk_ndim(ctx, x);
    y = (lbk_mul)(ctx, (lbk_sub)(ctx, x, lbk__d_chan(ctx, m, nd)),
                  lbk__d_chan(ctx, (lbk_rsqrt)(ctx, (lbk_add)(ctx, v, lbk__c(ctx, v, eps))), nd));
    if (w.id) y = (lbk_mul)(ctx, y, lbk__d_chan(ctx, w, nd));
    if (b.id) y = (lbk_add)(ctx, y, lbk__d_chan(ctx, b, nd));
    return lbk__push_result(ctx, stack, y);
}
/* Group norm: x [N, C, ...] as [N, G, C/G * ...], normalised over the last dim (biased
   variance), shaped back, then the per-channel affine. */
static lbk_result lbk__d_group_norm(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, w, b, g, d, var, y;
    double groups, eps, cudnn;
    int nd, k, ax = -1;
    int64_t dims[LAZYBK_MAX_DIMS], gd[3];
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_BOOL, &cudnn));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &eps));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &b));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &w));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_INT, &groups));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    (void)cudnn;
    nd = lbk_ndim(ctx, x);
    if (nd < 2 || !(groups >= 1) || lbk_dim(ctx, x, 1) % (int64_t)groups)
        return lbk__ctx_fail(ctx, LBK_ERR_SHAPE, "group_norm", -1, "num_groups %g does not divide the channels", groups);
    for (k = 0; k < nd; k++) dims[k] = lbk_dim(ctx, x, k);
    gd[0] = dims[0]; gd[1] = (int64_t)groups; gd[2] = -1;
    if (lbk_numel(ctx, x) == 0) gd[2] = 0;   /* -1 cannot be inferred from nothing */
    g = (lbk_reshape)(ctx, x, 3, gd);
    d = (lbk_sub)(ctx, g, (lbk_mean)(ctx, g, 1, &ax, true));
    var = (lbk_mean)(ctx, (lbk_mul)(ctx, d, d), 1, &ax, true);
    y = (lbk_reshape)(ctx, (lbk_mul)(ctx, d, (lbk_rsqrt)(ctx, (lbk_add)(ctx, var, lbk__c(ctx, var, eps)))), nd, dims);
    if (w.id) y = (lbk_mul)(ctx, y, lbk__d_chan(ctx, w, nd));
    if (b.id) y = (lbk_add)(ctx, y, lbk__d_chan(ctx, b, nd));
    return lbk__push_result(ctx, stack, y);
}
/* Rotary embedding: angle[t, i] = pos[t] * base^(-2i / rot) for i < rot / 2; pairs (x_a, x_b)
   become (x_a cos - x_b sin, x_b cos + x_a sin). Pairs are (2i, 2i + 1) interleaved, or
   (i, i + rot / 2) half-split; dims past rot pass through. */
static lbk_result lbk__d_rope(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, pos, ang, cs, sn, xa, xb, ya, yb, y, parts[2];
    double rot_d, base, inter;
    int nd, k;
    int64_t half, D, dims[LAZYBK_MAX_DIMS], pd[2], ad[LAZYBK_MAX_DIMS];
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_BOOL, &inter));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &base));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_INT, &rot_d));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &pos));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    nd = lbk_ndim(ctx, x);
    if (nd < 2 || nd >= LAZYBK_MAX_DIMS) return lbk__ctx_fail(ctx, LBK_ERR_SHAPE, "rope", -1, "x has %d dims", nd);
    for (k = 0; k < nd; k++) dims[k] = lbk_dim(ctx, x, k);
    D = dims[nd - 1];
    half = (int64_t)rot_d / 2;
    if (half < 1 || 2 * half > D) return lbk__ctx_fail(ctx, LBK_ERR_ARG, "rope", -1, "rot_dims %g outside [2, %lld]", rot_d, (long long)D);
    /* angles [T, half]: positions as a column times base^(-2i / rot) */
    pd[0] = dims[nd - 2]; pd[1] = 1;
    ang = (lbk_mul)(ctx, (lbk_reshape)(ctx, (lbk_cast)(ctx, pos, LBK_F64), 2, pd),
                    (lbk_pow)(ctx, (lbk_scalar)(ctx, LBK_F64, base),
                              (lbk_mul)(ctx, (lbk_arange)(ctx, LBK_F64, 0, (double)half, 1), (lbk_scalar)(ctx, LBK_F64, -2.0 / (double)(2 * half)))));
    ang = (lbk_cast)(ctx, ang, lbk_type(ctx, x));
    cs = (lbk_cos)(ctx, ang);
    sn = (lbk_sin)(ctx, ang);
    if (inter != 0) {   /* [..., T, half, 2]: the pair is the last dim */
        memcpy(ad, dims, sizeof(int64_t) * (size_t)nd);
        ad[nd - 1] = half; ad[nd] = 2;
        y = (lbk_reshape)(ctx, (lbk_slice)(ctx, x, nd - 1, 0, 2 * half, 1), nd + 1, ad);
        xa = (lbk_squeeze)(ctx, (lbk_slice)(ctx, y, nd, 0, 1, 1), nd);
        xb = (lbk_squeeze)(ctx, (lbk_slice)(ctx, y, nd, 1, 2, 1), nd);
    } else {
        xa = (lbk_slice)(ctx, x, nd - 1, 0, half, 1);
        xb = (lbk_slice)(ctx, x, nd - 1, half, 2 * half, 1);
    }
    ya = (lbk_sub)(ctx, (lbk_mul)(ctx, xa, cs), (lbk_mul)(ctx, xb, sn));
    yb = (lbk_add)(ctx, (lbk_mul)(ctx, xb, cs), (lbk_mul)(ctx, xa, sn));
    if (inter != 0) {
        parts[0] = ya; parts[1] = yb;
        memcpy(ad, dims, sizeof(int64_t) * (size_t)nd);
        ad[nd - 1] = 2 * half;
        y = (lbk_reshape)(ctx, (lbk_stack)(ctx, parts, 2, nd), nd, ad);
    } else {
        parts[0] = ya; parts[1] = yb;
        y = (lbk_concat)(ctx, parts, 2, nd - 1);
    }
    if (2 * half < D) {
        parts[0] = y;
        parts[1] = (lbk_slice)(ctx, x, nd - 1, 2 * half, D, 1);
        y = (lbk_concat)(ctx, parts, 2, nd - 1);
    }
    return lbk__push_result(ctx, stack, y);
}
/* Cross entropy, mean reduction: per row -log_softmax[target] ((1 - s) of it plus s times
   the mean of -log_softmax over the classes, label smoothing s), averaged over the rows
   whose target is not ignore_index (NaN when there are none). The targets are gathered,
   so one outside [0, C) fails at run time. */
static lbk_result lbk__d_cross_entropy(lbk_ctx *ctx, lbk_value *stack) {
    lbk_tensor x, t, w, lsm, valid, ti, nll, loss, zero;
    double red, ignore, smooth;
    int last = -1;
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_DOUBLE, &smooth));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_INT, &ignore));
    LBK__TRY(lbk__pop_num(ctx, stack, LBK_VALUE_INT, &red));
    LBK__TRY(lbk__pop_tensor(ctx, stack, true, &w));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &t));
    LBK__TRY(lbk__pop_tensor(ctx, stack, false, &x));
    if (w.id || red != 1) return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, "cross_entropy", -1, "only the mean reduction (1) without class weights");
    if (lbk_ndim(ctx, x) == 1) { x = (lbk_unsqueeze)(ctx, x, 0); t = (lbk_unsqueeze)(ctx, t, 0); }
    lsm = (lbk_log_softmax)(ctx, x, -1);
    valid = (lbk_ne)(ctx, t, (lbk_scalar)(ctx, LBK_I64, ignore));
    zero = (lbk_scalar)(ctx, LBK_I64, 0);
    ti = (lbk_where)(ctx, valid, t, zero);
    nll = (lbk_neg)(ctx, (lbk_squeeze)(ctx, (lbk_gather)(ctx, lsm, 1, (lbk_unsqueeze)(ctx, ti, 1)), 1));
    if (smooth != 0)
        nll = (lbk_add)(ctx, (lbk_mul)(ctx, nll, lbk__c(ctx, nll, 1 - smooth)),
                        (lbk_mul)(ctx, (lbk_neg)(ctx, (lbk_mean)(ctx, lsm, 1, &last, false)), lbk__c(ctx, nll, smooth)));
    loss = (lbk_sum)(ctx, (lbk_where)(ctx, valid, nll, lbk__c(ctx, nll, 0)), 0, NULL, false);
    return lbk__push_result(ctx, stack, (lbk_div)(ctx, loss, (lbk_sum)(ctx, (lbk_cast)(ctx, valid, lbk_type(ctx, loss)), 0, NULL, false)));
}
/* ---- the registry behind the built-in implementation ---- */
typedef struct lbk__decomp_kv { char *key; lbk_decomp_fn value; } lbk__decomp_kv;
static lbk__mutex lbk__decomp_lock = LBK__MUTEX_INIT;
static lbk__decomp_kv *lbk__decomp_user;    /* schema (own copy) -> user function */

static lbk_decomp_fn lbk__decomp_find(const char *schema) {
    lbk_decomp_fn fn = NULL;
    size_t k;
    ptrdiff_t i;
    if (!schema) return NULL;
    lbk__lock(&lbk__decomp_lock);
    i = lbk__decomp_user ? shgeti(lbk__decomp_user, schema) : -1;
    if (i >= 0) fn = lbk__decomp_user[i].value;
    lbk__unlock(&lbk__decomp_lock);
    if (fn) return fn;
    for (k = 1; k < LBK_OP_COUNT; k++)   /* the built-ins: the composites' rows */
        if (lbk__opdefs[k].schema && strcmp(schema, lbk__opdefs[k].schema) == 0) return lbk__opdefs[k].decomp;
    return NULL;
}
static bool lbk__decomp_has(void *self, const char *schema) { (void)self; return lbk__decomp_find(schema) != NULL; }
static lbk_result lbk__decomp_run(void *self, lbk_ctx *ctx, const char *schema, lbk_value *stack) {
    lbk_decomp_fn fn = lbk__decomp_find(schema);
    (void)self;
    if (!fn) return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, "decomposition", -1, "no decomposition for '%s'", schema);
    return fn(ctx, stack);
}
static const lbk_decomp_i lbk__decomp_builtin_i = {sizeof(lbk_decomp_i), lbk__decomp_has, lbk__decomp_run};
static const lbk_decomp_i *lbk__decomp_impl = &lbk__decomp_builtin_i;
static void *lbk__decomp_self;

LAZYBK_API void lbk_decomp_set_impl(const lbk_decomp_i *impl, void *self) {
    lbk__lock(&lbk__decomp_lock);
    lbk__decomp_impl = impl;
    lbk__decomp_self = self;
    lbk__unlock(&lbk__decomp_lock);
}
LAZYBK_API const lbk_decomp_i *lbk_decomp_get_impl(void **out_self) {
    const lbk_decomp_i *impl;
    lbk__lock(&lbk__decomp_lock);
    impl = lbk__decomp_impl;
    if (out_self) *out_self = lbk__decomp_self;
    lbk__unlock(&lbk__decomp_lock);
    return impl;
}
LAZYBK_API const lbk_decomp_i *lbk_decomp_builtin(void) { return &lbk__decomp_builtin_i; }

static LBK__NOINLINE bool lbk__decomp_put(char *key, lbk_decomp_fn fn) {
    volatile bool ok;
    LBK__SHPUT(ok, lbk__decomp_user, key, fn);
    return ok;
}
static LBK__NOINLINE void lbk__decomp_del(const char *key) {
    bool ok;
    LBK__STBDS_GUARD(ok, (void)shdel(lbk__decomp_user, key));
    (void)ok;
}

LAZYBK_API lbk_result lbk_decomp_register(const char *schema, lbk_decomp_fn fn) {
    ptrdiff_t i;
    lbk_result r = LBK_OK;
    if (!schema || !schema[0]) return lbk__set_last(LBK_ERR_ARG, "lbk_decomp_register: empty schema");
    lbk__lock(&lbk__decomp_lock);
    i = lbk__decomp_user ? shgeti(lbk__decomp_user, schema) : -1;
    if (i >= 0) {
        char *old = lbk__decomp_user[i].key;
        if (fn) {
            lbk__decomp_user[i].value = fn;
        } else {
            lbk__decomp_del(schema);
            lbk__free(old);
        }
    } else if (fn) {
        char *key = lbk__strdup(schema);
        if (!key || !lbk__decomp_put(key, fn)) {
            lbk__free(key);
            r = lbk__set_last(LBK_ERR_OOM, "lbk_decomp_register: out of memory");
        }
    }
    lbk__unlock(&lbk__decomp_lock);
    return r;
}

// >>graph ------------------------------------------------------------------------------
/* The read-only view backends compile from. */

static void lbk__graph_free(lbk_graph *g) {
    lbk__free(g->nodes); lbk__free(g->inputs); lbk__free(g->dims); lbk__free(g->attrs);
    lbk__free(g->params); lbk__free(g->outputs); lbk__free(g->param_of); lbk__free(g->param_scalar);
    memset(g, 0, sizeof *g);
}

LAZYBK_API lbk_graph *lbk_graph_copy(const lbk_graph *g) {
    lbk_graph *c;
    size_t n_in = 0, n_dims = 0, i, ii = 0, di = 0, n;
    if (!g) return NULL;
    n = g->n;
    for (i = 0; i < n; i++) { n_in += (size_t)g->nodes[i].n_inputs; n_dims += (size_t)g->nodes[i].n_dims; }
    c = (lbk_graph *)lbk__calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n = g->n; c->n_params = g->n_params; c->n_outputs = g->n_outputs;
    c->nodes = (lbk_node *)lbk__malloc(sizeof(lbk_node) * (n + 1));
    c->inputs = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n_in + 1));
    c->dims = (int64_t *)lbk__malloc(sizeof(int64_t) * (n_dims + 1));
    c->attrs = (lbk__attrs *)lbk__malloc(sizeof(lbk__attrs) * (n + 1));
    c->params = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (g->n_params + 1));
    c->outputs = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (g->n_outputs + 1));
    c->param_of = (int32_t *)lbk__malloc(sizeof(int32_t) * (n + 1));
    c->param_scalar = (uint8_t *)lbk__malloc(g->n_params + 1);
    if (!c->nodes || !c->inputs || !c->dims || !c->attrs || !c->params || !c->outputs || !c->param_of || !c->param_scalar) {
        lbk_graph_free(c);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        lbk_node nd = g->nodes[i];
        memcpy(c->inputs + ii, nd.inputs, sizeof(uint32_t) * (size_t)nd.n_inputs);
        memcpy(c->dims + di, nd.dims, sizeof(int64_t) * (size_t)nd.n_dims);
        c->attrs[i] = g->attrs[i];
        nd.inputs = c->inputs + ii;
        nd.dims = c->dims + di;
        nd.attrs = &c->attrs[i];
        c->nodes[i] = nd;
        ii += (size_t)nd.n_inputs;
        di += (size_t)nd.n_dims;
    }
    memcpy(c->params, g->params, sizeof(uint32_t) * g->n_params);
    memcpy(c->outputs, g->outputs, sizeof(uint32_t) * g->n_outputs);
    memcpy(c->param_of, g->param_of, sizeof(int32_t) * n);
    memcpy(c->param_scalar, g->param_scalar, g->n_params);
    return c;
}
LAZYBK_API void lbk_graph_free(lbk_graph *g) {
    if (!g) return;
    lbk__graph_free(g);
    lbk__free(g);
}
LAZYBK_API uint32_t lbk_graph_size(const lbk_graph *g) { return g ? g->n : 0; }
LAZYBK_API lbk_node lbk_graph_node(const lbk_graph *g, uint32_t i) {
    lbk_node n;
    if (g && i < g->n) return g->nodes[i];
    memset(&n, 0, sizeof n);
    n.debug_handle = -1;
    return n;
}
LAZYBK_API uint32_t lbk_graph_n_params(const lbk_graph *g) { return g ? g->n_params : 0; }
LAZYBK_API uint32_t lbk_graph_param(const lbk_graph *g, uint32_t k) { return (g && k < g->n_params) ? g->params[k] : 0; }
LAZYBK_API bool lbk_graph_param_is_scalar(const lbk_graph *g, uint32_t k) {
    return g && k < g->n_params && (g->param_scalar[k] & 1);
}
LAZYBK_API bool lbk_graph_param_donated(const lbk_graph *g, uint32_t k) { return g && k < g->n_params && (g->param_scalar[k] & 2); }
LAZYBK_API int lbk_graph_param_index(const lbk_graph *g, uint32_t node) { return (g && node < g->n) ? g->param_of[node] : -1; }
LAZYBK_API uint32_t lbk_graph_n_outputs(const lbk_graph *g) { return g ? g->n_outputs : 0; }
LAZYBK_API uint32_t lbk_graph_output(const lbk_graph *g, uint32_t k) { return (g && k < g->n_outputs) ? g->outputs[k] : 0; }
LAZYBK_API int64_t lbk_node_numel(const lbk_graph *g, uint32_t i) {
    return (g && i < g->n) ? lbk__numel(g->nodes[i].n_dims, g->nodes[i].dims) : 0;
}
/* Attribute accessors, by field name through the op's attribute fields (the op table's
   attrs column), so that every op with an "axis" answers lbk_node_axis, and so on. */
static const lbk__afield *lbk__afind(int op, const char *name) {
    const lbk__afield *f;
    if (!lbk__op_ok(op)) return NULL;
    for (f = lbk__opdefs[op].attrs; f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}
static const void *lbk__gfield(const lbk_graph *g, uint32_t i, const char *name) {
    const lbk__afield *f;
    if (!g || i >= g->n || !(f = lbk__afind(g->nodes[i].op, name))) return NULL;
    return (const char *)&g->attrs[i] + f->off;
}
static int64_t lbk__gint(const lbk_graph *g, uint32_t i, const char *name, int64_t dflt) {
    const void *p = lbk__gfield(g, i, name);
    const lbk__afield *f = p ? lbk__afind(g->nodes[i].op, name) : NULL;
    int32_t v32;
    int64_t v64;
    if (!f) return dflt;
    switch (f->type) {
    case LBK__AF_BOOL: return *(const uint8_t *)p;
    case LBK__AF_I32: case LBK__AF_AXES: memcpy(&v32, p, 4); return v32;
    case LBK__AF_I64: memcpy(&v64, p, 8); return v64;
    default: return dflt;
    }
}
LAZYBK_API int lbk_node_axes(const lbk_graph *g, uint32_t i, int *out_axes) {
    const void *p = lbk__gfield(g, i, "axes");
    uint32_t mask = 0;
    int k, n = 0;
    if (!p || lbk__gfield(g, i, "axis")) return 0;   /* one axis (argmax): lbk_node_axis */
    memcpy(&mask, p, 4);
    for (k = 0; k < LAZYBK_MAX_DIMS; k++)
        if (mask & (1u << k)) { if (out_axes) out_axes[n] = k; n++; }
    return n;
}
LAZYBK_API bool lbk_node_keepdim(const lbk_graph *g, uint32_t i) { return lbk__gint(g, i, "keepdim", 0) != 0; }
LAZYBK_API int lbk_node_axis(const lbk_graph *g, uint32_t i) { return (int)lbk__gint(g, i, "axis", 0); }
LAZYBK_API int lbk_node_correction(const lbk_graph *g, uint32_t i) { return (int)lbk__gint(g, i, "correction", 0); }
LAZYBK_API bool lbk_node_gelu_tanh(const lbk_graph *g, uint32_t i) { return lbk__gint(g, i, "tanh", 0) != 0; }
LAZYBK_API bool lbk_node_norm(const lbk_graph *g, uint32_t i, int *out_n_norm_dims, double *out_eps,
                              bool *out_has_weight, bool *out_has_bias) {
    const void *eps = lbk__gfield(g, i, "eps");
    if (!lbk__gfield(g, i, "has_bias")) return false;
    if (out_n_norm_dims) *out_n_norm_dims = (int)lbk__gint(g, i, "n_norm", 0);
    if (out_eps) { *out_eps = 0; if (eps) memcpy(out_eps, eps, sizeof(double)); }
    if (out_has_weight) *out_has_weight = lbk__gint(g, i, "has_weight", 0) != 0;
    if (out_has_bias) *out_has_bias = lbk__gint(g, i, "has_bias", 0) != 0;
    return true;
}
LAZYBK_API bool lbk_node_perm(const lbk_graph *g, uint32_t i, int *out_perm) {
    const int8_t *p = (const int8_t *)lbk__gfield(g, i, "perm");
    int k;
    if (!p || !out_perm) return false;
    for (k = 0; k < g->nodes[i].n_dims; k++) out_perm[k] = p[k];
    return true;
}
LAZYBK_API bool lbk_node_slice(const lbk_graph *g, uint32_t i, int *out_axis, int64_t *out_start, int64_t *out_step) {
    const lbk__afield *f = g && i < g->n ? lbk__afind(g->nodes[i].op, "step") : NULL;
    if (!f || f->type != LBK__AF_I64 || !lbk__gfield(g, i, "axis")) return false;
    if (out_axis) *out_axis = (int)lbk__gint(g, i, "axis", 0);
    if (out_start) *out_start = lbk__gint(g, i, "start", 0);
    if (out_step) *out_step = lbk__gint(g, i, "step", 1);
    return true;
}
LAZYBK_API bool lbk_node_arange(const lbk_graph *g, uint32_t i, double *out_start, double *out_step) {
    const void *st = lbk__gfield(g, i, "start"), *sp = lbk__gfield(g, i, "step");
    if (!st || !sp || lbk__afind(g->nodes[i].op, "start")->type != LBK__AF_F64) return false;
    if (out_start) memcpy(out_start, st, sizeof(double));
    if (out_step) memcpy(out_step, sp, sizeof(double));
    return true;
}

LAZYBK_API bool lbk_node_window(const lbk_graph *g, uint32_t i, int64_t *out_stride, int64_t *out_padding, int64_t *out_ext, int64_t *out_groups) {
    static const char *const names[2][2] = {{"stride_h", "stride_w"}, {"padding_h", "padding_w"}};
    const char *ext = lbk__gfield(g, i, "dilation_h") ? "dilation" : lbk__gfield(g, i, "kernel_h") ? "kernel" : "output_padding";
    char buf[32];
    int k;
    if (!lbk__gfield(g, i, "stride_h")) return false;
    for (k = 0; k < 2; k++) {
        if (out_stride) out_stride[k] = lbk__gint(g, i, names[0][k], 1);
        if (out_padding) out_padding[k] = lbk__gint(g, i, names[1][k], 0);
        snprintf(buf, sizeof buf, "%s_%c", ext, k ? 'w' : 'h');
        if (out_ext) out_ext[k] = lbk__gint(g, i, buf, 0);
    }
    if (out_groups) *out_groups = lbk__gint(g, i, "groups", 1);
    return true;
}
LAZYBK_API bool lbk_node_descending(const lbk_graph *g, uint32_t i) { return lbk__gint(g, i, "descending", 0) != 0; }
LAZYBK_API bool lbk_node_sdpa(const lbk_graph *g, uint32_t i, bool *out_is_causal, double *out_scale, bool *out_has_mask) {
    const void *sc = lbk__gfield(g, i, "scale");
    if (!sc || !lbk__gfield(g, i, "has_mask")) return false;
    if (out_is_causal) *out_is_causal = lbk__gint(g, i, "is_causal", 0) != 0;
    if (out_scale) memcpy(out_scale, sc, sizeof(double));
    if (out_has_mask) *out_has_mask = lbk__gint(g, i, "has_mask", 0) != 0;
    return true;
}
// >>exec -------------------------------------------------------------------------------
/* Sync: collect the pending graph, hash it, find or compile its computation, execute,
   bind the results. The cached path only hashes, looks up and executes. */

static bool lbk__is_pending_node(const lbk__node *n) { return n->op != LBK_OP_PARAM || (n->flags & LBK__NF_SCALAR); }

static uint32_t lbk__next_epoch(lbk_ctx *ctx) {
    if (++ctx->epoch == 0) {
        size_t i;
        for (i = 0; i < ctx->n_nodes; i++) ctx->nodes[i].mark = 0;
        ctx->epoch = 1;
    }
    return ctx->epoch;
}

/* Post-order of everything reachable from roots into ctx->order; node->local is its
   position. Iterative. Returns the graph hash (0 on OOM, with *ok false). */
static uint64_t lbk__collect(lbk_ctx *ctx, const uint32_t *roots, size_t n_roots, bool *ok) {
    uint32_t ep = lbk__next_epoch(ctx);
    size_t top = 0, r, k;
    uint64_t h = 0x84222325cbf29ce4ULL;
    ctx->n_order = 0;
    *ok = false;
    for (r = 0; r < n_roots; r++) {
        if (ctx->nodes[roots[r]].mark == ep) continue;
        if (!LBK__GROW(ctx->stack, ctx->cap_stack, 1)) return 0;
        ctx->stack[top++] = (uint64_t)roots[r] << 1;
        while (top) {
            uint64_t e = ctx->stack[--top];
            uint32_t x = (uint32_t)(e >> 1);
            lbk__node *n = &ctx->nodes[x];
            if (e & 1) {   /* all inputs done */
                if (!LBK__GROW(ctx->order, ctx->cap_order, ctx->n_order + 1)) return 0;
                n->local = (uint32_t)ctx->n_order;
                ctx->order[ctx->n_order++] = x;
                continue;
            }
            if (n->mark == ep) continue;
            n->mark = ep;
            if (!LBK__GROW(ctx->stack, ctx->cap_stack, top + 1 + n->n_in)) return 0;
            ctx->stack[top++] = ((uint64_t)x << 1) | 1;
            {
                const uint32_t *in = lbk__inputs(ctx, n);
                for (k = n->n_in; k-- > 0;)
                    if (ctx->nodes[in[k]].mark != ep) ctx->stack[top++] = (uint64_t)in[k] << 1;
            }
        }
    }
    /* donation: a parameter's data dies with the sync when the one reference it has is an
       input edge of a root (the root is materialised, the edge dropped); lazybk's own data only */
    for (k = 0; k < ctx->n_order; k++) ctx->nodes[ctx->order[k]].flags &= (uint8_t)~LBK__NF_DONATE;
    if (!ctx->iface->data_of_node)
        for (r = 0; r < n_roots; r++) {
            const lbk__node *rt = &ctx->nodes[roots[r]];
            const uint32_t *in = lbk__inputs(ctx, rt);
            for (k = 0; k < rt->n_in; k++) {
                lbk__node *q = &ctx->nodes[in[k]];
                if (q->op == LBK_OP_PARAM && q->data && q->refs == 1 && !(q->flags & (LBK__NF_SCALAR | LBK__NF_HOSTMEM)))
                    q->flags |= LBK__NF_DONATE;
            }
        }
    for (k = 0; k < ctx->n_order; k++) {
        const lbk__node *n = &ctx->nodes[ctx->order[k]];
        const uint32_t *in = lbk__inputs(ctx, n);
        size_t j;
        LBK__HASH(h, n->op); LBK__HASH(h, n->dtype); LBK__HASH(h, n->n_dims);
        for (j = 0; j < n->n_dims; j++) LBK__HASH(h, n->dims[j]);
        if (n->op == LBK_OP_PARAM) {
            LBK__HASH(h, ((n->flags & LBK__NF_SCALAR) ? 2 : 1) + ((n->flags & LBK__NF_DONATE) ? 4 : 0));   /* values never enter the hash */
        } else {
            for (j = 0; j < LBK__COUNTOF(n->attrs.words); j++) LBK__HASH(h, n->attrs.words[j]);
            LBK__HASH(h, n->n_in);
            for (j = 0; j < n->n_in; j++) LBK__HASH(h, ctx->nodes[in[j]].local);
        }
    }
    LBK__HASH(h, n_roots);
    for (r = 0; r < n_roots; r++) LBK__HASH(h, ctx->nodes[roots[r]].local);
    *ok = true;
    return LBK__KEY(lbk__mix64(h));
}

/* Builds ctx->graph (the backend's view) from list, in topological order: its first
   n_forced nodes, and every parameter node, become parameters of the view; outs name
   nodes of the list. Sets each listed node's `local`. False on OOM. */
static bool lbk__build_view(lbk_ctx *ctx, const uint32_t *list, size_t n, size_t n_forced, const uint32_t *outs, size_t n_outs) {
    lbk_graph *g = &ctx->graph;
    size_t k, n_in = 0, n_dims = 0, pi = 0, ii = 0, di = 0;
    for (k = 0; k < n; k++) {
        const lbk__node *x = &ctx->nodes[list[k]];
        if (k >= n_forced && x->op != LBK_OP_PARAM) n_in += x->n_in;
        n_dims += x->n_dims;
    }
    if (!LBK__GROW(g->nodes, ctx->cap_g[0], n + 1) || !LBK__GROW(g->param_of, ctx->cap_g[1], n + 1) ||
        !LBK__GROW(g->attrs, ctx->cap_g[2], n + 1) || !LBK__GROW(g->inputs, ctx->cap_g[3], n_in + 1) ||
        !LBK__GROW(g->dims, ctx->cap_g[4], n_dims + 1) || !LBK__GROW(g->outputs, ctx->cap_g[5], n_outs + 1) ||
        !LBK__GROW(g->params, ctx->cap_g[6], n + 1) || !LBK__GROW(g->param_scalar, ctx->cap_g[7], n + 1))
        return false;
    for (k = 0; k < n; k++) {
        lbk__node *x = &ctx->nodes[list[k]];
        const uint32_t *in = lbk__inputs(ctx, x);
        lbk_node *o = &g->nodes[k];
        bool param = k < n_forced || x->op == LBK_OP_PARAM;
        size_t j;
        x->local = (uint32_t)k;
        o->op = param ? LBK_OP_PARAM : (lbk_op)x->op;
        o->dtype = (lbk_dtype)x->dtype;
        o->n_dims = x->n_dims;
        o->dims = g->dims + di;
        memcpy(g->dims + di, x->dims, sizeof(int64_t) * x->n_dims);
        di += x->n_dims;
        o->n_inputs = param ? 0 : (int)x->n_in;
        o->inputs = g->inputs + ii;
        if (!param)
            for (j = 0; j < x->n_in; j++) g->inputs[ii++] = ctx->nodes[in[j]].local;
        g->attrs[k] = x->attrs;
        o->attrs = &g->attrs[k];
        o->debug_handle = x->debug;
        g->param_of[k] = -1;
        if (param) {
            g->param_of[k] = (int32_t)pi;
            g->param_scalar[pi] = (uint8_t)((x->op == LBK_OP_PARAM && (x->flags & LBK__NF_SCALAR) != 0) |
                                            (ctx->view_donate && x->op == LBK_OP_PARAM && (x->flags & LBK__NF_DONATE) ? 2 : 0));
            g->params[pi++] = (uint32_t)k;
            memset(&g->attrs[k], 0, sizeof g->attrs[k]);   /* a parameter's value is not compile-time */
        }
    }
    g->n = (uint32_t)n;
    g->n_params = (uint32_t)pi;
    for (k = 0; k < n_outs; k++) g->outputs[k] = ctx->nodes[outs[k]].local;
    g->n_outputs = (uint32_t)n_outs;
    return true;
}


/* Copies the backend's thread-local failure into the context's error. */
static lbk_result lbk__backend_failed(lbk_ctx *ctx, lbk_result r, const char *where, const char *member) {
    int64_t dh = lbk__tls_be_result != LBK_OK ? lbk__tls_be_handle : -1;
    lbk_debug_info di;
    uint32_t k;
    if (dh >= 0 && ctx->dmap)   /* a cached computation names the node it was compiled from: this sync's instead */
        for (k = 0; k < ctx->n_dmap && k < ctx->n_order; k++)
            if (ctx->dmap[k] == dh) { dh = ctx->nodes[ctx->order[k]].debug; break; }
    if (r == LBK_OK) r = LBK_ERR_BACKEND;
    if (dh >= 0 && lbk_debug_lookup(dh, &di) == LBK_OK)
        return lbk__ctx_fail(ctx, r, where, dh, "backend '%s' %s failed at %s%s%s%s: %s", ctx->be->name, member,
                             di.call ? di.call : di.op, di.call ? " (" : "", di.call ? di.op : "", di.call ? ")" : "",
                             lbk__tls_be_msg[0] ? lbk__tls_be_msg : lbk_result_str(r));
    return lbk__ctx_fail(ctx, r, where, -1, "backend '%s' %s failed: %s", ctx->be->name, member,
                         (lbk__tls_be_result != LBK_OK && lbk__tls_be_msg[0]) ? lbk__tls_be_msg : lbk_result_str(r));
}

/* Device data for a scalar parameter. */
static lbk_result lbk__scalar_data(lbk_ctx *ctx, const lbk__node *n, lbk_data **out) {
    union { double d; int64_t l; unsigned char b[16]; } v;
    lbk_dtype dt = (lbk_dtype)n->dtype;
    memset(&v, 0, sizeof v);
    if (lbk__is_float(dt)) lbk_store_f64(dt, v.b, 0, n->attrs.sc.v.f);
    else lbk_store_i64(dt, v.b, 0, n->attrs.sc.v.i);
    *out = NULL;
    if (ctx->iface->data_from_scalar) return ctx->iface->data_from_scalar(ctx->self, ctx->device, dt, &v, out);
    return ctx->iface->data_from_host(ctx->self, ctx->device, dt, 0, NULL, &v, out);
}

/* ---- execution plans ---- */
/* What the compile cache keeps for a graph. Usually one computation on the context's
   backend whose arguments are the graph's parameters in order (simple). A graph whose
   composites were decomposed adds constants: the decomposition's scalars, made once and
   kept here. A graph with nodes the backend declines is split into segments that
   alternate between the backend and the fallback (cpu) backend; values crossing from one
   to the other go through the host. Values: [0, n_params) the parameters, then the
   constants, then segment outputs. */
typedef struct lbk__seg {
    uint8_t fallback;
    lbk_computation *comp;
    uint32_t n_args, n_outs;
    uint32_t *args, *outs;     /* value ids */
} lbk__seg;
typedef struct lbk__val { lbk_dtype dtype; uint8_t fallback; int n_dims; int64_t dims[LAZYBK_MAX_DIMS]; } lbk__val;
struct lbk__plan {
    bool simple;
    bool donates;              /* one segment after decomposition, compiled with its donated parameters */
    uint32_t n_params, n_consts, n_values, n_segs, n_roots, n_fallback_nodes, n_decomposed;
    lbk_data **consts;
    lbk__val *vals;
    lbk__seg *segs;
    uint32_t *root_vals;
    lbk__backend *fb;          /* the fallback backend, referenced while the plan lives */
    lbk__str text;
    size_t mem_bytes;          /* what it keeps (constants, computations' scratch): in ctx->mem_plans */
    size_t run_bytes;          /* what one run allocates: its segments' values, transfers, the roots */
    uint32_t big_root;         /* the root with the most bytes (named by an OOM) */
    int64_t *debugs;           /* simple plans: the debug handle of each node it was compiled from, in
                                  order, so that a backend's error names the node of this sync */
    uint32_t n_debugs;
};

static void lbk__plan_free(lbk_ctx *ctx, lbk__plan *p) {
    uint32_t k;
    if (!p) return;
    lbk__free(p->debugs);
    for (k = 0; k < p->n_segs; k++) {
        lbk__seg *sg = &p->segs[k];
        if (sg->comp) {
            if (sg->fallback) p->fb->iface.computation_free(p->fb->self, sg->comp);
            else ctx->iface->computation_free(ctx->self, sg->comp);
        }
        lbk__free(sg->args);
        lbk__free(sg->outs);
    }
    for (k = 0; k < p->n_consts; k++)
        if (p->consts[k]) ctx->iface->data_free(ctx->self, p->consts[k]);
    LAZYBK_ASSERT(ctx->mem_plans >= p->mem_bytes);
    ctx->mem_plans -= p->mem_bytes;
    if (p->fb) lbk__backend_release(p->fb);
    lbk__free(p->consts); lbk__free(p->vals); lbk__free(p->segs); lbk__free(p->root_vals);
    lbk__str_free(&p->text);
    lbk__free(p);
}

/* ---- compile cache (LRU) ---- */
static int lbk__cache_find(lbk_ctx *ctx, uint64_t h) {
    ptrdiff_t i = ctx->cache_map ? hmgeti(ctx->cache_map, h) : -1;
    if (i < 0) return -1;
    ctx->centries[ctx->cache_map[i].value].used = ++ctx->use_clock;
    return (int)ctx->cache_map[i].value;
}
/* Evicts cache entry e: its plan freed and unmapped, the entry left empty. */
static void lbk__cache_evict(lbk_ctx *ctx, int e) {
    if (ctx->centries[e].plan) {
        lbk__plan_free(ctx, ctx->centries[e].plan);
        lbk__del_i64(&ctx->cache_map, ctx->centries[e].hash);
    }
    ctx->centries[e].plan = NULL; ctx->centries[e].hash = 0; ctx->centries[e].used = 0;
    ctx->counters[LBK__C_cache_evict]++;
}
static int lbk__cache_insert(lbk_ctx *ctx, uint64_t h, lbk__plan *p) {
    int e, k;
    if (ctx->n_centries < ctx->cache_capacity) {
        /* grown as entries come (a cache_capacity of INT_MAX costs nothing up front) */
        if (!LBK__GROW(ctx->centries, ctx->cap_centries, (size_t)ctx->n_centries + 1)) return -1;
        e = ctx->n_centries++;
    } else {
        e = 0;
        for (k = 1; k < ctx->n_centries; k++)
            if (ctx->centries[k].used < ctx->centries[e].used) e = k;
        lbk__cache_evict(ctx, e);
    }
    if (!lbk__put_i64(&ctx->cache_map, h, e)) {   /* the slot stays free */
        if (e == ctx->n_centries - 1) ctx->n_centries--;
        else { ctx->centries[e].plan = NULL; ctx->centries[e].hash = 0; ctx->centries[e].used = 0; }
        return -1;
    }
    ctx->centries[e].hash = h;
    ctx->centries[e].plan = p;
    ctx->centries[e].used = ++ctx->use_clock;
    return e;
}

/* Evicts cached plans other than keep, least recently used first, until need more bytes
   fit under max_memory_bytes; whether they do. */
static bool lbk__mem_reclaim(lbk_ctx *ctx, size_t need, const lbk__plan *keep) {
    while (!lbk__mem_fits(ctx, need)) {
        int e = -1, k;
        for (k = 0; k < ctx->n_centries; k++)
            if (ctx->centries[k].plan && ctx->centries[k].plan != keep && ctx->centries[k].plan->mem_bytes &&
                (e < 0 || ctx->centries[k].used < ctx->centries[e].used))
                e = k;
        if (e < 0) return false;
        lbk__cache_evict(ctx, e);
    }
    return true;
}

/* ---- planning: decomposition, partitioning, compilation ---- */
typedef struct lbk__bk { const lbk_backend_i *iface; void *self; lbk_device dev; const char *name; } lbk__bk;
static lbk__bk lbk__seg_backend(const lbk_ctx *ctx, const lbk__plan *p, bool fallback) {
    lbk__bk b;
    if (fallback) {
        b.iface = &p->fb->iface; b.self = p->fb->self; b.name = p->fb->name;
        b.dev.type = LBK_DEVICE_CPU; b.dev.ordinal = 0;
    } else {
        b.iface = ctx->iface; b.self = ctx->self; b.name = ctx->be->name; b.dev = ctx->device;
    }
    return b;
}

static lbk_result lbk__compile_view(lbk_ctx *ctx, const lbk__bk *b, const char *where, lbk_computation **out) {
    const lbk_graph *gp = &ctx->graph;
    lbk_result r;
    *out = NULL;
    lbk__clear_backend_error();
    ctx->in_backend = "compile";
    r = b->iface->compile(b->self, b->dev, &gp, 1, out);
    ctx->in_backend = NULL;
    if (r != LBK_OK || !*out) {
        *out = NULL;
        if (b->iface == ctx->iface) return lbk__backend_failed(ctx, r, where, "compile");
        return lbk__ctx_fail(ctx, r != LBK_OK ? r : LBK_ERR_BACKEND, where, lbk__tls_be_handle,
                             "fallback backend '%s' compile failed: %s", b->name, lbk__tls_be_msg[0] ? lbk__tls_be_msg : lbk_result_str(r));
    }
    ctx->counters[LBK__C_compile]++;
    return LBK_OK;
}

/* A list value of n ints; NULL on OOM. */
static lbk_value *lbk__int_list(const int64_t *v, int n) {
    lbk_value *l = lbk_value_list();
    int k;
    for (k = 0; k < n && l; k++)
        if (lbk_list_push(l, lbk_value_int(v[k])) != LBK_OK) { lbk_value_free(l); l = NULL; }
    return l;
}

/* Pushes composite node x's arguments (with its inputs as handles in) for its schema. */
static lbk_result lbk__decomp_args(const lbk__node *x, const lbk_tensor *in, lbk_value *st) {
    lbk_result r = LBK_OK;
    int k;
#define LBK__PUSH(v) do { if (r == LBK_OK) r = lbk_list_push(st, (v)); } while (0)
    LBK__PUSH(lbk_value_tensor(in[0]));
    switch (x->op) {
    case LBK_OP_SOFTMAX: case LBK_OP_LOG_SOFTMAX: LBK__PUSH(lbk_value_int(x->attrs.comp.axis)); break;
    case LBK_OP_LOGSUMEXP:
        LBK__PUSH(lbk_value_int(x->attrs.comp.axis));
        LBK__PUSH(lbk_value_bool(x->attrs.comp.keepdim != 0));
        break;
    case LBK_OP_GELU: LBK__PUSH(lbk_value_str(x->attrs.comp.approx ? "tanh" : "none")); break;
    case LBK_OP_SILU: case LBK_OP_HARDSWISH: break;   /* the tensor alone */
    case LBK_OP_SOFTPLUS: LBK__PUSH(lbk_value_double(1)); LBK__PUSH(lbk_value_double(20)); break;   /* beta, threshold */
    case LBK_OP_LEAKY_RELU: LBK__PUSH(lbk_value_double(x->attrs.comp.eps)); break;
    case LBK_OP_ELU:   /* alpha, scale, input_scale */
        LBK__PUSH(lbk_value_double(x->attrs.comp.eps));
        LBK__PUSH(lbk_value_double(1));
        LBK__PUSH(lbk_value_double(1));
        break;
    case LBK_OP_VAR: {
        int64_t ax[LAZYBK_MAX_DIMS];
        int na = 0;
        for (k = 0; k < LAZYBK_MAX_DIMS; k++)
            if (x->attrs.comp.mask & (1u << k)) ax[na++] = k;
        LBK__PUSH(lbk__int_list(ax, na));
        LBK__PUSH(lbk_value_int(x->attrs.comp.correction));
        LBK__PUSH(lbk_value_bool(x->attrs.comp.keepdim != 0));
        break;
    }
    case LBK_OP_LAYER_NORM: case LBK_OP_RMS_NORM: {
        int w = x->attrs.comp.has_w ? 1 : 0;
        LBK__PUSH(lbk__int_list(x->dims + (x->n_dims - x->attrs.comp.n_norm), x->attrs.comp.n_norm));
        LBK__PUSH(w ? lbk_value_tensor(in[1]) : lbk_value_none());
        if (x->op == LBK_OP_LAYER_NORM) LBK__PUSH(x->attrs.comp.has_b ? lbk_value_tensor(in[1 + w]) : lbk_value_none());
        LBK__PUSH(lbk_value_double(x->attrs.comp.eps));
        break;
    }
    case LBK_OP_LINEAR:
        LBK__PUSH(lbk_value_tensor(in[1]));
        LBK__PUSH(x->attrs.comp.has_b ? lbk_value_tensor(in[2]) : lbk_value_none());
        break;
    case LBK_OP_SDPA:   /* key, value, attn_mask, dropout_p, is_causal, scale */
        LBK__PUSH(lbk_value_tensor(in[1]));
        LBK__PUSH(lbk_value_tensor(in[2]));
        LBK__PUSH(x->attrs.comp.has_w ? lbk_value_tensor(in[3]) : lbk_value_none());
        LBK__PUSH(lbk_value_double(0));
        LBK__PUSH(lbk_value_bool(x->attrs.comp.approx != 0));
        LBK__PUSH(x->attrs.comp.eps != 0 ? lbk_value_double(x->attrs.comp.eps) : lbk_value_none());
        break;
    case LBK_OP_BATCH_NORM: {   /* weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled */
        int w = x->attrs.comp.has_w ? 1 : 0;
        LBK__PUSH(w ? lbk_value_tensor(in[3]) : lbk_value_none());
        LBK__PUSH(x->attrs.comp.has_b ? lbk_value_tensor(in[3 + w]) : lbk_value_none());
        LBK__PUSH(lbk_value_tensor(in[1]));
        LBK__PUSH(lbk_value_tensor(in[2]));
        LBK__PUSH(lbk_value_bool(false));
        LBK__PUSH(lbk_value_double(0.1));
        LBK__PUSH(lbk_value_double(x->attrs.comp.eps));
        LBK__PUSH(lbk_value_bool(false));
        break;
    }
    case LBK_OP_GROUP_NORM: {   /* num_groups, weight, bias, eps, cudnn_enabled */
        int w = x->attrs.comp.has_w ? 1 : 0;
        LBK__PUSH(lbk_value_int(x->attrs.comp.n_norm));
        LBK__PUSH(w ? lbk_value_tensor(in[1]) : lbk_value_none());
        LBK__PUSH(x->attrs.comp.has_b ? lbk_value_tensor(in[1 + w]) : lbk_value_none());
        LBK__PUSH(lbk_value_double(x->attrs.comp.eps));
        LBK__PUSH(lbk_value_bool(false));
        break;
    }
    case LBK_OP_ROPE:   /* positions, rot_dims, base, interleaved */
        LBK__PUSH(lbk_value_tensor(in[1]));
        LBK__PUSH(lbk_value_int(x->attrs.comp.n_norm));
        LBK__PUSH(lbk_value_double(x->attrs.comp.eps));
        LBK__PUSH(lbk_value_bool(x->attrs.comp.approx != 0));
        break;
    case LBK_OP_CROSS_ENTROPY:   /* target, weight, reduction (1: mean), ignore_index, label_smoothing */
        LBK__PUSH(lbk_value_tensor(in[1]));
        LBK__PUSH(lbk_value_none());
        LBK__PUSH(lbk_value_int(1));
        LBK__PUSH(lbk_value_int(x->attrs.ce.ignore));
        LBK__PUSH(lbk_value_double(x->attrs.ce.smoothing));
        break;
    default: r = LBK_ERR_UNSUPPORTED; break;   /* a composite this function has no arguments for */
    }
#undef LBK__PUSH
    return r;
}

/* Decomposes composite node x (whose inputs are now the nodes in[]) through the
   decomposition implementation; *out is the replacement, held by a handle in the caller's
   scope. Nodes the decomposition makes take x's debug handle. */
static lbk_result lbk__decompose(lbk_ctx *ctx, uint32_t x, const uint32_t *in, uint32_t *out, const char *where) {
    lbk__node xn = ctx->nodes[x];   /* a copy: ctx->nodes may move while ops run */
    const char *schema = lbk_op_schema((lbk_op)xn.op);
    void *self = NULL;
    const lbk_decomp_i *impl = lbk_decomp_get_impl(&self);
    lbk_tensor h[5];   /* composites have at most 5 inputs (batch_norm) */
    lbk_value *stack, *res;
    lbk_result r;
    uint32_t k, id = 0;
    lbk__opctx oc;
    oc.ctx = ctx; oc.name = lbk_op_name((lbk_op)xn.op); oc.file = NULL; oc.line = 0; oc.op = xn.op;
    if (!impl || !impl->has || !impl->run || !impl->has(self, schema))
        return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, where, xn.debug, "backend '%s' does not run %s and there is no decomposition for '%s'",
                             ctx->be->name, lbk_op_name((lbk_op)xn.op), schema);
    for (k = 0; k < xn.n_in && k < 5; k++) {
        uint32_t src = in[k];
        lbk_dtype dt = (lbk_dtype)ctx->nodes[src].dtype;
        if (lbk__is_float(dt) && lbk_dtype_size(dt) < 4) {   /* f16, bf16: computed in f32, rounded once at the end */
            src = lbk__cast_node(ctx, src, LBK_F32, &oc);
            if (src == LBK__NONE) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, xn.debug, "out of memory");
        }
        h[k] = lbk__wrap(ctx, src, &oc);
        if (!h[k].id) return ctx->recent;
    }
    stack = lbk_value_list();
    r = stack ? lbk__decomp_args(&xn, h, stack) : LBK_ERR_OOM;
    if (r != LBK_OK) {
        lbk_value_free(stack);
        if (r == LBK_ERR_UNSUPPORTED)
            return lbk__ctx_fail(ctx, r, where, xn.debug, "composite %s has no argument list for its schema (lbk__decomp_args)",
                                 lbk_op_name((lbk_op)xn.op));
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, xn.debug, "out of memory");
    }
    ctx->inherit_debug = xn.debug;
    r = impl->run(self, ctx, schema, stack);
    ctx->inherit_debug = -1;
    res = r == LBK_OK && lbk_list_len(stack) == 1 ? lbk_list_get(stack, 0) : NULL;
    if (r == LBK_OK && (!res || res->kind != LBK_VALUE_TENSOR || lbk__resolve(ctx, res->u.t, &id, &schema) != LBK_OK))
        r = lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, xn.debug, "the decomposition of %s did not leave one tensor on the stack",
                          lbk_op_name((lbk_op)xn.op));
    else if (r != LBK_OK)
        r = lbk__ctx_fail(ctx, r, where, xn.debug, "the decomposition of %s failed: %s", lbk_op_name((lbk_op)xn.op), lbk_result_str(r));
    lbk_value_free(stack);
    if (r != LBK_OK) return r;
    {
        const lbk__node *rn = &ctx->nodes[id];
        if (rn->n_dims != xn.n_dims || memcmp(rn->dims, xn.dims, sizeof(int64_t) * xn.n_dims) != 0) {
            char a[256], b[256];
            lbk__shape_str(a, sizeof a, (lbk_dtype)rn->dtype, rn->n_dims, rn->dims);
            lbk__shape_str(b, sizeof b, (lbk_dtype)xn.dtype, xn.n_dims, xn.dims);
            return lbk__ctx_fail(ctx, LBK_ERR_SHAPE, where, xn.debug, "the decomposition of %s gave %s, expected %s",
                                 lbk_op_name((lbk_op)xn.op), a, b);
        }
        if (rn->dtype != xn.dtype) {
            id = lbk__cast_node(ctx, id, (lbk_dtype)xn.dtype, &oc);
            if (id == LBK__NONE || !lbk__wrap(ctx, id, &oc).id) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, xn.debug, "out of memory");
        }
    }
    ctx->counters[LBK__C_decompositions]++;
    *out = id;
    return LBK_OK;
}

/* Rewrites the collected graph (ord, n nodes): composites the backend declines (sup 0)
   are decomposed, nodes downstream of a rewrite are re-made over the new inputs. Every
   node made is held by a handle in the caller's scope. */
static lbk_result lbk__rewrite(lbk_ctx *ctx, const uint32_t *ord, size_t n, const uint8_t *sup, const uint32_t *roots,
                               size_t n_roots, uint32_t *new_roots, const char *where) {
    uint32_t *map = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n + 1)), tmp[64], *in = tmp;
    size_t i, cap_in = 64;
    lbk_result r = LBK_OK;
    lbk__opctx oc;
    oc.ctx = ctx; oc.name = "sync"; oc.file = NULL; oc.line = 0; oc.op = 0;
    if (!map) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    for (i = 0; i < n && r == LBK_OK; i++) {
        uint32_t x = ord[i], k, n_in = ctx->nodes[x].n_in;
        bool changed = false;
        map[i] = x;
        if (ctx->nodes[x].op == LBK_OP_PARAM) continue;
        if (n_in > cap_in) {
            uint32_t *bigger = (uint32_t *)lbk__malloc(sizeof(uint32_t) * n_in);
            if (!bigger) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); break; }
            if (in != tmp) lbk__free(in);
            in = bigger;
            cap_in = n_in;
        }
        for (k = 0; k < n_in; k++) {
            uint32_t y = lbk__inputs(ctx, &ctx->nodes[x])[k];
            in[k] = map[ctx->nodes[y].local];
            changed |= in[k] != y;
        }
        if (lbk__is_composite(ctx->nodes[x].op) && !sup[i]) {
            r = lbk__decompose(ctx, x, in, &map[i], where);
        } else if (changed) {   /* the same op over rewritten inputs */
            lbk__node p = ctx->nodes[x];
            uint32_t id;
            bool unique = p.op == LBK_OP_RAND || p.op == LBK_OP_RANDN;
            ctx->inherit_debug = p.debug;
            p.flags = 0;
            p.data = NULL;
            p.local = UINT32_MAX;
            id = lbk__mk(ctx, &p, in, n_in, unique, NULL, NULL, 0);
            ctx->inherit_debug = -1;
            if (id == LBK__NONE || !lbk__wrap(ctx, id, &oc).id) r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
            else map[i] = id;
        }
    }
    for (i = 0; i < n_roots && r == LBK_OK; i++) new_roots[i] = map[ctx->nodes[roots[i]].local];
    if (in != tmp) lbk__free(in);
    lbk__free(map);
    return r;
}

/* Backend support for every node of ctx->graph (parameters: yes). */
static void lbk__query_support(lbk_ctx *ctx, uint8_t *sup, bool *all) {
    uint32_t i;
    *all = true;
    for (i = 0; i < ctx->graph.n; i++) {
        sup[i] = lbk__be_supports(ctx->iface, ctx->self, &ctx->graph, i);
        if (!sup[i]) *all = false;
    }
}

/* Value ids of the rewritten graph's parameters: original parameters keep their index
   (plan_val = index + 1); new ones (decomposition scalars) become plan constants. */
static lbk_result lbk__plan_params(lbk_ctx *ctx, lbk__plan *p, const char *where) {
    size_t k;
    uint32_t nc = 0;
    for (k = 0; k < ctx->n_order; k++) {
        const lbk__node *x = &ctx->nodes[ctx->order[k]];
        if (x->op == LBK_OP_PARAM && !x->plan_val) nc++;
    }
    p->consts = (lbk_data **)lbk__calloc(nc + 1, sizeof(lbk_data *));
    if (!p->consts) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    for (k = 0; k < ctx->n_order; k++) {
        lbk__node *x = &ctx->nodes[ctx->order[k]];
        lbk_result r;
        if (x->op != LBK_OP_PARAM || x->plan_val) continue;
        lbk__clear_backend_error();
        if (x->flags & LBK__NF_SCALAR) {
            r = lbk__scalar_data(ctx, x, &p->consts[p->n_consts]);
        } else {   /* device data a decomposition made: the plan keeps its own copy */
            size_t bytes = (size_t)lbk__numel(x->n_dims, x->dims) * lbk_dtype_size((lbk_dtype)x->dtype);
            void *host = lbk__malloc(bytes);
            r = host ? ctx->iface->data_to_host(ctx->self, x->data, host, bytes) : LBK_ERR_OOM;
            if (r == LBK_OK)
                r = ctx->iface->data_from_host(ctx->self, ctx->device, (lbk_dtype)x->dtype, x->n_dims, x->dims, host,
                                               &p->consts[p->n_consts]);
            lbk__free(host);
        }
        if (r != LBK_OK || !p->consts[p->n_consts]) return lbk__backend_failed(ctx, r, where, "data for a decomposition constant");
        x->plan_val = p->n_params + ++p->n_consts;
    }
    return LBK_OK;
}

static void lbk__val_of(lbk__val *v, const lbk__node *x, bool fallback) {
    v->dtype = (lbk_dtype)x->dtype;
    v->fallback = fallback;
    v->n_dims = x->n_dims;
    memcpy(v->dims, x->dims, sizeof(int64_t) * x->n_dims);
}

/* Splits the (rewritten) collected graph into runs of nodes on one device and compiles
   each; sup says which nodes the backend runs. Parameters' plan_val hold value ids + 1. */
static lbk_result lbk__plan_segments(lbk_ctx *ctx, lbk__plan *p, const uint8_t *sup, const uint32_t *roots, size_t n_roots,
                                     const char *where) {
    size_t n = ctx->n_order, i, k;
    uint32_t *ord = NULL, *seg_of = NULL, *list = NULL, n_segs = 0, v;
    uint8_t *is_out = NULL;
    lbk_result r = LBK_OK;
    ord = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n + 1));
    seg_of = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n + 1));
    list = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (2 * n + 1));
    is_out = (uint8_t *)lbk__calloc(n + 1, 1);
    p->vals = (lbk__val *)lbk__calloc(n + p->n_params + p->n_consts + 1, sizeof(lbk__val));
    p->segs = (lbk__seg *)lbk__calloc(n + 1, sizeof(lbk__seg));
    p->root_vals = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n_roots + 1));
    if (!ord || !seg_of || !list || !is_out || !p->vals || !p->segs || !p->root_vals) {
        r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
        goto done;
    }
    memcpy(ord, ctx->order, sizeof(uint32_t) * n);
    for (i = 0; i < n; i++) ctx->nodes[ord[i]].local = (uint32_t)i;
    /* runs of one device in topological order; parameters belong to none */
    for (i = 0; i < n; i++) {
        const lbk__node *x = &ctx->nodes[ord[i]];
        if (x->op == LBK_OP_PARAM) {
            seg_of[i] = UINT32_MAX;
            lbk__val_of(&p->vals[x->plan_val - 1], x, false);
            continue;
        }
        if (n_segs == 0 || p->segs[n_segs - 1].fallback != !sup[i]) p->segs[n_segs++].fallback = !sup[i];
        seg_of[i] = n_segs - 1;
        if (!sup[i]) p->n_fallback_nodes++;
    }
    for (i = 0; i < n; i++) {   /* a node read by another run, or a root, is its run's output */
        const lbk__node *x = &ctx->nodes[ord[i]];
        const uint32_t *in = lbk__inputs(ctx, x);
        if (x->op == LBK_OP_PARAM) continue;
        for (k = 0; k < x->n_in; k++) {
            uint32_t j = ctx->nodes[in[k]].local;
            if (seg_of[j] != UINT32_MAX && seg_of[j] != seg_of[i]) is_out[j] = 1;
        }
    }
    for (k = 0; k < n_roots; k++) is_out[ctx->nodes[roots[k]].local] = 1;
    v = p->n_params + p->n_consts;
    p->n_segs = n_segs;
    for (k = 0; k < n_segs && r == LBK_OK; k++) {
        lbk__seg *sg = &p->segs[k];
        size_t n_list = 0, n_args = 0, first = n, last = 0, j;
        lbk__bk b = lbk__seg_backend(ctx, p, sg->fallback != 0);
        for (i = 0; i < n; i++) if (seg_of[i] == k) { if (first == n) first = i; last = i; }
        /* arguments: inputs from outside the run, each once */
        for (i = first; i <= last; i++) {
            const lbk__node *x = &ctx->nodes[ord[i]];
            const uint32_t *in = lbk__inputs(ctx, x);
            if (seg_of[i] != k) continue;
            for (j = 0; j < x->n_in; j++) {
                uint32_t a = ctx->nodes[in[j]].local, m;
                bool seen = false;
                if (seg_of[a] == k) continue;
                for (m = 0; m < n_args && !seen; m++) seen = list[m] == ord[a];
                if (!seen) list[n_args++] = ord[a];
            }
        }
        n_list = n_args;
        for (i = first; i <= last; i++) if (seg_of[i] == k) list[n_list++] = ord[i];
        sg->args = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n_args + 1));
        sg->outs = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n_list - n_args + 1));
        if (!sg->args || !sg->outs) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); break; }
        for (j = 0; j < n_args; j++) sg->args[j] = ctx->nodes[list[j]].plan_val - 1;
        sg->n_args = (uint32_t)n_args;
        for (j = n_args; j < n_list; j++) {
            lbk__node *x = &ctx->nodes[list[j]];
            if (!is_out[x->local]) continue;
            x->plan_val = ++v;
            lbk__val_of(&p->vals[v - 1], x, sg->fallback != 0);
            sg->outs[sg->n_outs++] = v - 1;
        }
        {   /* the run's outputs, named in value order */
            uint32_t *outs_nodes = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (sg->n_outs + 1)), m = 0;
            if (!outs_nodes) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); break; }
            for (j = n_args; j < n_list; j++) if (is_out[ctx->nodes[list[j]].local]) outs_nodes[m++] = list[j];
            if (!lbk__build_view(ctx, list, n_list, n_args, outs_nodes, m)) r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
            lbk__free(outs_nodes);
            /* build_view renumbered `local`; restore the whole graph's numbering */
            for (i = 0; i < n; i++) ctx->nodes[ord[i]].local = (uint32_t)i;
        }
        if (r == LBK_OK) r = lbk__compile_view(ctx, &b, where, &sg->comp);
    }
    p->n_values = v;
    for (k = 0; k < n_roots && r == LBK_OK; k++) p->root_vals[k] = ctx->nodes[roots[k]].plan_val - 1;
done:
    lbk__free(ord); lbk__free(seg_of); lbk__free(list); lbk__free(is_out);
    return r;
}

/* The fallback backend, for nodes the context's backend declines. */
static lbk_result lbk__plan_fallback(lbk_ctx *ctx, lbk__plan *p, const char *where) {
    int type = lbk__be_fallback_type(ctx->iface, ctx->self);
    if (type != LBK_DEVICE_CPU)
        return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, where, -1, "backend '%s' asks for fallback device type %d; only the cpu backend is a fallback",
                             ctx->be->name, type);
    p->fb = lbk__backend_acquire("cpu");
    if (!p->fb) return lbk__ctx_fail(ctx, LBK_ERR_NOT_FOUND, where, -1, "no 'cpu' backend to fall back to");
    if (p->fb == ctx->be) return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, where, -1, "backend 'cpu' declines a node and is its own fallback");
    return LBK_OK;
}

/* What a plan keeps and what one run of it allocates, for max_memory_bytes: the roots'
   data (a simple plan); with segments, every value they make plus one copy of each value
   that crosses to the other side (an upper bound: some are freed before others are made). */
static size_t lbk__val_bytes(const lbk__val *v) { return (size_t)lbk__numel(v->n_dims, v->dims) * lbk_dtype_size(v->dtype); }
static void lbk__plan_account(lbk_ctx *ctx, lbk__plan *p, const uint32_t *roots, size_t n_roots) {
    size_t keep = 0, run = 0, big = 0, k;
    uint32_t s, j;
    for (k = 0; k < n_roots; k++) {
        size_t b = lbk__node_bytes(&ctx->nodes[roots[k]]);
        if (p->simple) run += b;
        if (k == 0 || b > big) { big = b; p->big_root = (uint32_t)k; }
    }
    for (k = 0; k < p->n_consts; k++) keep += lbk__val_bytes(&p->vals[p->n_params + k]);
    for (s = 0; s < p->n_segs; s++) {
        const lbk__seg *sg = &p->segs[s];
        lbk__bk b = lbk__seg_backend(ctx, p, sg->fallback != 0);
        if (sg->comp && b.iface->computation_memory) keep += b.iface->computation_memory(b.self, sg->comp);
        if (p->simple) continue;
        for (j = 0; j < sg->n_outs; j++) run += lbk__val_bytes(&p->vals[sg->outs[j]]);
        for (j = 0; j < sg->n_args; j++)
            if (p->vals[sg->args[j]].fallback != sg->fallback) run += lbk__val_bytes(&p->vals[sg->args[j]]);
    }
    if (!p->simple)
        for (k = 0; k < p->n_roots; k++) run += lbk__val_bytes(&p->vals[p->root_vals[k]]);
    p->mem_bytes = keep;
    p->run_bytes = run;
    ctx->mem_plans += keep;
}

/* Plans the collected graph (ctx->order) of roots: decomposes composites the backend
   declines, partitions what it still declines onto the fallback, compiles. */
static lbk_result lbk__make_plan(lbk_ctx *ctx, const uint32_t *roots, size_t n_roots, const char *where, lbk__plan **out) {
    lbk__plan *p = (lbk__plan *)lbk__calloc(1, sizeof *p);
    size_t n = ctx->n_order, k;
    uint8_t *sup = NULL;
    uint32_t *ord = NULL, *new_roots = NULL, *next_ord = NULL, *next_roots = NULL;   /* next_*: later rounds of decomposition */
    uint32_t *donors = NULL;   /* parameters donated in the graph as traced */
    size_t n_donors = 0;
    bool all, composite_declined = false;
    lbk_result r = LBK_OK;
    lbk_scope sc;
    *out = NULL;
    if (!p) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    sup = (uint8_t *)lbk__malloc(n + 1);
    ctx->view_donate = true;   /* this view alone: the one a simple plan compiles */
    if (!sup || !lbk__build_view(ctx, ctx->order, n, 0, roots, n_roots)) {
        ctx->view_donate = false;
        lbk__free(sup); lbk__free(p);
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    }
    ctx->view_donate = false;
    p->n_params = ctx->graph.n_params;
    p->n_roots = (uint32_t)n_roots;
    lbk__query_support(ctx, sup, &all);
    if (all) {   /* the common case: one computation over the parameters */
        lbk__bk b = lbk__seg_backend(ctx, p, false);
        p->simple = true;
        if ((p->debugs = (int64_t *)lbk__malloc(sizeof(int64_t) * (n + 1))) != NULL) {   /* OOM: errors name the first trace */
            for (k = 0; k < n; k++) p->debugs[k] = ctx->graph.nodes[k].debug_handle;
            p->n_debugs = (uint32_t)n;
        }
        p->segs = (lbk__seg *)lbk__calloc(1, sizeof(lbk__seg));
        if (!p->segs) r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
        else { p->n_segs = 1; r = lbk__compile_view(ctx, &b, where, &p->segs[0].comp); }
        lbk__free(sup);
        if (r != LBK_OK) { lbk__plan_free(ctx, p); return r; }
        lbk__plan_account(ctx, p, roots, n_roots);
        *out = p;
        return LBK_OK;
    }
    ord = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n + 1));
    new_roots = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n_roots + 1));
    if (!ord || !new_roots) {
        lbk__free(sup); lbk__free(ord); lbk__free(new_roots); lbk__free(p);
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    }
    memcpy(ord, ctx->order, sizeof(uint32_t) * n);
    for (k = 0; k < n; k++) {
        lbk__node *x = &ctx->nodes[ord[k]];
        x->plan_val = x->op == LBK_OP_PARAM ? (uint32_t)ctx->graph.param_of[k] + 1 : 0;
        if (!sup[k] && lbk__is_composite(x->op)) composite_declined = true;
    }
    sc = lbk_scope_begin(ctx);
    if (composite_declined) {
        /* the parameters whose data dies with this sync keep that through the rewrite (its
           collect sees the rewritten nodes beside the originals, which still hold them) */
        for (k = 0; k < n; k++)
            if (ctx->nodes[ord[k]].flags & LBK__NF_DONATE) {
                if (!donors) donors = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n + 1));
                if (!donors) break;   /* out of memory: no donation, which is always correct */
                donors[n_donors++] = ord[k];
            }
    }
    if (composite_declined) {
        /* Decompositions may record composites of their own (cross_entropy's log_softmax):
           rewritten again, round by round, until the backend runs or declines to a fixed
           point (a bounded number of rounds: a decomposition that makes itself again). */
        const uint32_t *cur_roots = roots, *cur_ord = ord;
        size_t cur_n = n;
        int round;
        for (round = 0; r == LBK_OK; round++) {
            bool ok, again = false;
            uint8_t *sup2;
            r = lbk__rewrite(ctx, cur_ord, cur_n, sup, cur_roots, n_roots, new_roots, where);
            if (r != LBK_OK) break;
            (void)lbk__collect(ctx, new_roots, n_roots, &ok);
            sup2 = ok ? (uint8_t *)lbk__realloc_or_null(sup, ctx->n_order + 1) : NULL;
            if (sup2) sup = sup2;
            if (!sup2 || !lbk__build_view(ctx, ctx->order, ctx->n_order, 0, new_roots, n_roots)) {
                r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
                break;
            }
            lbk__query_support(ctx, sup, &all);
            for (k = 0; k < ctx->n_order && r == LBK_OK; k++)
                if (!sup[k] && lbk__is_composite(ctx->nodes[ctx->order[k]].op)) {
                    again = true;
                    if (round == 7)
                        r = lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, where, ctx->nodes[ctx->order[k]].debug,
                                          "backend '%s' declines %s even after 8 rounds of decomposition", ctx->be->name,
                                          lbk_op_name((lbk_op)ctx->nodes[ctx->order[k]].op));
                }
            if (!again || r != LBK_OK) break;
            {   /* the next round rewrites this one's graph */
                uint32_t *o2 = (uint32_t *)lbk__realloc_or_null(next_ord, sizeof(uint32_t) * (ctx->n_order + 1));
                if (!o2) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); break; }
                next_ord = o2;
                memcpy(next_ord, ctx->order, sizeof(uint32_t) * ctx->n_order);
                cur_ord = next_ord;
                cur_n = ctx->n_order;
                if (!next_roots) next_roots = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n_roots + 1));
                if (!next_roots) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); break; }
                memcpy(next_roots, new_roots, sizeof(uint32_t) * n_roots);
                cur_roots = next_roots;
            }
        }
        if (r == LBK_OK) r = lbk__plan_params(ctx, p, where);
        for (k = 0; k < n_donors && r == LBK_OK && all; k++) {
            ctx->nodes[donors[k]].flags |= LBK__NF_DONATE;
            p->donates = true;
        }
    } else {
        memcpy(new_roots, roots, sizeof(uint32_t) * n_roots);
    }
    if (r == LBK_OK && !all) r = lbk__plan_fallback(ctx, p, where);
    ctx->view_donate = p->donates;   /* one segment: it may write into its donated parameters */
    if (r == LBK_OK) r = lbk__plan_segments(ctx, p, sup, new_roots, n_roots, where);
    ctx->view_donate = false;
    p->n_decomposed = composite_declined;
    for (k = 0; k < n; k++) ctx->nodes[ord[k]].plan_val = 0;
    for (k = 0; k < ctx->n_order; k++) ctx->nodes[ctx->order[k]].plan_val = 0;
    lbk_scope_end(ctx, sc, NULL, 0);   /* the rewritten nodes go: the plan holds what it needs */
    lbk__free(sup); lbk__free(ord); lbk__free(new_roots); lbk__free(next_ord); lbk__free(next_roots); lbk__free(donors);
    if (r != LBK_OK) { lbk__plan_free(ctx, p); return r; }
    lbk__plan_account(ctx, p, roots, n_roots);
    *out = p;
    return LBK_OK;
}

/* The plan for the collected graph: from the cache, or made now. */
static lbk_result lbk__plan_get(lbk_ctx *ctx, uint64_t h, const uint32_t *roots, size_t n_roots, const char *where,
                                lbk__plan **out) {
    int e = lbk__cache_find(ctx, h);
    lbk_result r;
    if (e >= 0) {
        ctx->counters[LBK__C_cache_hit]++;
        *out = ctx->centries[e].plan;
        return LBK_OK;
    }
    if ((r = lbk__make_plan(ctx, roots, n_roots, where, out)) != LBK_OK) return r;
    if (lbk__cache_insert(ctx, h, *out) < 0) {
        lbk__plan_free(ctx, *out);
        *out = NULL;
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    }
    return LBK_OK;
}

/* Node x, computed, becomes device data d: its inputs are let go. */
static void lbk__materialize(lbk_ctx *ctx, uint32_t x, lbk_data *d) {
    lbk__node *n = &ctx->nodes[x];
    uint32_t tmp[4], *in = tmp, k, n_in = n->n_in;
    if (n->flags & LBK__NF_CONSED) { ctx->n_consed--; lbk__del_u32(&ctx->cons, n->hash); }
    if (n_in > 4) {
        in = (uint32_t *)lbk__malloc(sizeof(uint32_t) * n_in);
        if (!in) { in = tmp; n_in = 0; }   /* OOM: the inputs leak until the context dies */
    }
    if (n_in) memcpy(in, lbk__inputs(ctx, n), sizeof(uint32_t) * n_in);
    if (n->flags & LBK__NF_SIDE) ctx->side_dead += n->n_in;
    n->op = LBK_OP_PARAM;
    n->flags = 0;
    n->n_in = 0;
    n->data = d;
    lbk__mem_hold(ctx, n);
    memset(&n->attrs, 0, sizeof n->attrs);
    n->hash = LBK__KEY(lbk__mix64(++ctx->unique ^ 0x5555555555555555ULL));
    for (k = 0; k < n_in; k++) lbk__unref(ctx, in[k]);
    if (in != tmp) lbk__free(in);
}


/* Moves (copies) value v's data d to the other side of the plan (backend <-> fallback)
   through the host; same_side copies within its own backend. */
static lbk_result lbk__transfer(lbk_ctx *ctx, const lbk__plan *p, uint32_t v, lbk_data *d, bool to_fallback, bool from_fallback,
                                lbk_data **out, const char *where) {
    const lbk__val *val = &p->vals[v];
    lbk__bk from = lbk__seg_backend(ctx, p, from_fallback), to = lbk__seg_backend(ctx, p, to_fallback);
    size_t bytes = (size_t)lbk__numel(val->n_dims, val->dims) * lbk_dtype_size(val->dtype);
    void *host = lbk__malloc(bytes);
    lbk_result r;
    *out = NULL;
    if (!host) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    lbk__clear_backend_error();
    r = bytes ? from.iface->data_to_host(from.self, d, host, bytes) : LBK_OK;
    if (r == LBK_OK) r = to.iface->data_from_host(to.self, to.dev, val->dtype, val->n_dims, val->dims, bytes ? host : NULL, out);
    lbk__free(host);
    if (r != LBK_OK || !*out) {
        *out = NULL;
        return lbk__ctx_fail(ctx, r != LBK_OK ? r : LBK_ERR_BACKEND, where, -1, "moving data from backend '%s' to '%s' failed: %s",
                             from.name, to.name, lbk__tls_be_msg[0] ? lbk__tls_be_msg : lbk_result_str(r));
    }
    ctx->counters[LBK__C_bytes_to_device] += to_fallback ? 0 : (int64_t)bytes;
    return LBK_OK;
}

/* Outputs must be fresh handles: one that is an input, or another output, would be freed
   twice. Such an output is dropped from outs (it is not the executor's to free) and the
   execute fails naming the backend. Pairwise for the usual few handles, sorted beyond. */
typedef struct lbk__alias_ent { const lbk_data *d; uint32_t idx; } lbk__alias_ent;   /* idx: outputs first, then args */
static int lbk__alias_cmp(const void *a, const void *b) {
    const lbk__alias_ent *x = (const lbk__alias_ent *)a, *y = (const lbk__alias_ent *)b;
    if (x->d != y->d) return (uintptr_t)x->d < (uintptr_t)y->d ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}
/* The earlier output (its index) or input (n_outs + its index) that outs[k] repeats, or
   UINT32_MAX; a donated input handed back (donate[j] & 4) is not an input any more. */
static uint32_t lbk__alias_of(lbk_data *const *args, const uint8_t *donate, uint32_t n_args, lbk_data *const *outs, uint32_t n_outs,
                              uint32_t k) {
    uint32_t j;
    for (j = 0; j < k; j++) if (outs[j] == outs[k]) return j;
    for (j = 0; j < n_args; j++) if (args[j] == outs[k] && !(donate && (donate[j] & 4))) return n_outs + j;
    return UINT32_MAX;
}
static lbk_result lbk__check_aliases(lbk_ctx *ctx, const lbk__bk *b, lbk_data *const *args, const uint8_t *donate, uint32_t n_args,
                                     lbk_data **outs, uint32_t n_outs, const char *where) {
    uint32_t k, n = n_outs + n_args, bad = UINT32_MAX, other = 0;
    if ((uint64_t)n_outs * n > 4096) {   /* many handles: sorted, so that the usual no-alias answer is not quadratic */
        lbk__alias_ent *e = (lbk__alias_ent *)lbk__malloc(sizeof *e * n);
        bool any = false;
        if (!e) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
        for (k = 0; k < n; k++) {   /* a donated input handed back sorts as nothing */
            bool gone = k >= n_outs && donate && (donate[k - n_outs] & 4);
            e[k].d = k < n_outs ? outs[k] : gone ? NULL : args[k - n_outs]; e[k].idx = k;
        }
        qsort(e, n, sizeof *e, lbk__alias_cmp);
        for (k = 1; k < n && !any; k++) any = e[k].d && e[k].d == e[k - 1].d && e[k - 1].idx < n_outs;   /* outputs sort first */
        lbk__free(e);
        if (!any) return LBK_OK;
    }
    for (k = 0; k < n_outs; k++) {   /* an output repeating an input or an earlier output is not freed again */
        uint32_t o = lbk__alias_of(args, donate, n_args, outs, n_outs, k);
        if (o == UINT32_MAX) continue;
        if (bad == UINT32_MAX) { bad = k; other = o; }
        outs[k] = NULL;
    }
    if (bad == UINT32_MAX) return LBK_OK;
    if (other >= n_outs)
        return lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, -1, "backend '%s' execute_computation returned its input %u as output %u "
                             "(outputs must be new data handles)", b->name, other - n_outs, bad);
    return lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, -1, "backend '%s' execute_computation returned one data handle as outputs %u "
                         "and %u (outputs must be distinct)", b->name, other, bad);
}

/* Runs one computation and checks what it returns: n_outs non-NULL data handles, fresh
   except for donated arguments (donate[j] & 2; donate NULL: none), each of which may come
   back once, as an output's data (then donate[j] |= 4). */
static lbk_result lbk__execute(lbk_ctx *ctx, const lbk__bk *b, lbk_computation *c, lbk_data **args, uint8_t *donate, uint32_t n_args,
                               lbk_data **outs, uint32_t n_outs, const char *where) {
    int out_n = 0;
    uint32_t k, j;
    lbk_result r;
    lbk_ctx *saved_ctx = lbk__tls_ctx;   /* a backend may run another context from inside its execute */
    int saved_threads = lbk__tls_threads;
    memset(outs, 0, sizeof(lbk_data *) * n_outs);
    lbk__clear_backend_error();
    lbk__tls_threads = ctx->n_threads;
    lbk__tls_ctx = ctx;
    ctx->in_backend = "execute_computation";
    r = b->iface->execute_computation(b->self, c, args, (int)n_args, b->dev, outs, (int)n_outs, &out_n);
    ctx->in_backend = NULL;
    lbk__tls_threads = saved_threads;
    lbk__tls_ctx = saved_ctx;
    ctx->counters[LBK__C_execute]++;
    if (r != LBK_OK) {
        r = b->iface == ctx->iface ? lbk__backend_failed(ctx, r, where, "execute_computation")
                                   : lbk__ctx_fail(ctx, r, where, lbk__tls_be_handle, "fallback backend '%s' execute failed: %s", b->name,
                                                   lbk__tls_be_msg[0] ? lbk__tls_be_msg : lbk_result_str(r));
    } else if (out_n != (int)n_outs) {
        r = lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, -1, "backend '%s' execute_computation returned %d outputs, expected %u",
                          b->name, out_n, n_outs);
    } else {
        for (k = 0; k < n_outs; k++)
            if (!outs[k]) {
                r = lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, -1, "backend '%s' execute_computation returned no data for output %u",
                                  b->name, k);
                break;
            }
        for (k = 0; r == LBK_OK && donate && k < n_outs; k++)
            for (j = 0; j < n_args; j++)
                if ((donate[j] & 6) == 2 && args[j] == outs[k]) { donate[j] |= 4; break; }
        if (r == LBK_OK) r = lbk__check_aliases(ctx, b, args, donate, n_args, outs, n_outs, where);
    }
    if (r != LBK_OK) {
        for (k = 0; k < n_outs; k++) {   /* a donated input handed back stays its parameter's */
            bool mine = false;
            for (j = 0; donate && j < n_args && !mine; j++) mine = (donate[j] & 4) && args[j] == outs[k];
            if (outs[k] && !mine) b->iface->data_free(b->self, outs[k]);
            outs[k] = NULL;
        }
        for (j = 0; donate && j < n_args; j++) donate[j] &= (uint8_t)~4;
    }
    return r;
}

/* Runs a plan that is not simple: segments in order, values moved between the backend
   and the fallback as the segments need them. The roots' data (on the backend, owned by
   the caller) go to out. */
static lbk_result lbk__run_plan(lbk_ctx *ctx, const lbk__plan *p, lbk_data **params, uint8_t *param_donate, lbk_data **out,
                                const char *where) {
    uint32_t nv = p->n_values, k, j, n_borrowed = p->n_params + p->n_consts;
    uint8_t *donate = NULL;   /* a donating plan's one segment: its arguments' donation bits */
    lbk_data **val = (lbk_data **)lbk__calloc((size_t)nv * 2 + 1, sizeof(lbk_data *)), **other;
    lbk_data **args = NULL, **outs = NULL;
    uint32_t max_args = 1, max_outs = 1;
    lbk_result r = LBK_OK;
    if (!val) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    other = val + nv;   /* a value's copy on the other side */
    for (k = 0; k < p->n_params; k++) val[k] = params[k];
    for (k = 0; k < p->n_consts; k++) val[p->n_params + k] = p->consts[k];
    for (k = 0; k < p->n_segs; k++) {
        max_args = LBK__MAX(max_args, p->segs[k].n_args);
        max_outs = LBK__MAX(max_outs, p->segs[k].n_outs);
    }
    args = (lbk_data **)lbk__malloc(sizeof(lbk_data *) * max_args);
    outs = (lbk_data **)lbk__malloc(sizeof(lbk_data *) * max_outs);
    if (p->donates && p->n_segs == 1) donate = (uint8_t *)lbk__calloc(max_args, 1);
    if (!args || !outs || (p->donates && p->n_segs == 1 && !donate)) r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    for (j = 0; donate && j < p->segs[0].n_args; j++)
        donate[j] = p->segs[0].args[j] < p->n_params ? (uint8_t)(param_donate[p->segs[0].args[j]] & 2) : 0;
    for (k = 0; k < p->n_segs && r == LBK_OK; k++) {
        const lbk__seg *sg = &p->segs[k];
        lbk__bk b = lbk__seg_backend(ctx, p, sg->fallback != 0);
        for (j = 0; j < sg->n_args && r == LBK_OK; j++) {
            uint32_t v = sg->args[j];
            if (p->vals[v].fallback == sg->fallback) { args[j] = val[v]; continue; }
            if (!other[v]) r = lbk__transfer(ctx, p, v, val[v], sg->fallback != 0, p->vals[v].fallback != 0, &other[v], where);
            args[j] = other[v];
        }
        if (r == LBK_OK) r = lbk__execute(ctx, &b, sg->comp, args, donate, sg->n_args, outs, sg->n_outs, where);
        for (j = 0; j < sg->n_outs && r == LBK_OK; j++) val[sg->outs[j]] = outs[j];
        for (j = 0; donate && r == LBK_OK && j < sg->n_args; j++)   /* an output took a donated buffer: the caller lets it go */
            if (donate[j] & 4) param_donate[sg->args[j]] |= 4;
    }
    /* the roots, on the backend and owned: a value the plan does not own is copied */
    for (k = 0; k < p->n_roots && r == LBK_OK; k++) {
        uint32_t v = p->root_vals[k];
        for (j = 0; j < k; j++)
            if (p->root_vals[j] == v) break;
        if (j < k || v < n_borrowed) {   /* a root seen before, or a parameter or constant */
            lbk_data *src = j < k ? out[j] : val[v];
            r = lbk__transfer(ctx, p, v, src, false, false, &out[k], where);
        } else if (p->vals[v].fallback) {
            if (!other[v]) r = lbk__transfer(ctx, p, v, val[v], false, true, &other[v], where);
            out[k] = other[v];
            other[v] = NULL;
        } else {
            out[k] = val[v];
            val[v] = NULL;
        }
    }
    if (r != LBK_OK)
        for (k = 0; k < p->n_roots; k++)
            if (out[k]) { ctx->iface->data_free(ctx->self, out[k]); out[k] = NULL; }
    for (k = n_borrowed; k < nv; k++)
        if (val[k]) {
            lbk__bk b = lbk__seg_backend(ctx, p, p->vals[k].fallback != 0);
            b.iface->data_free(b.self, val[k]);
        }
    for (k = 0; k < nv; k++)
        if (other[k]) {
            lbk__bk b = lbk__seg_backend(ctx, p, p->vals[k].fallback == 0);
            b.iface->data_free(b.self, other[k]);
        }
    ctx->counters[LBK__C_fallback_nodes] += r == LBK_OK ? p->n_fallback_nodes : 0;
    lbk__free(val); lbk__free(args); lbk__free(outs); lbk__free(donate);
    return r;
}

/* sync_siblings: the live pending tensors whose graphs reach a pending node of the roots'
   graph join the roots. One walk over the live handles' pending graphs, each node visited
   once (a sibling's nodes join the roots' graph; a walk that found none stays "seen"),
   stopped after four times the roots' graph plus 4096 nodes. False on OOM. */
static bool lbk__add_siblings(lbk_ctx *ctx, size_t *n_roots) {
    bool ok;
    uint32_t in_graph, seen, *walk = NULL;
    size_t n_walk = 0, cap_walk = 0, budget, s, top;
    (void)lbk__collect(ctx, ctx->roots, *n_roots, &ok);
    if (!ok) return false;
    in_graph = ctx->epoch;
    budget = 4 * ctx->n_order + 4096;
    seen = lbk__next_epoch(ctx);
    if (seen < in_graph) return true;   /* the epochs wrapped: the marks are gone; no siblings this time */
    for (s = 0; s < ctx->n_slots && budget > 0; s++) {
        uint32_t y = ctx->slots[s].node;
        bool overlap = false;
        if (!ctx->slots[s].live || ctx->nodes[y].op == LBK_OP_PARAM || ctx->nodes[y].mark == in_graph ||
            ctx->nodes[y].mark == seen)
            continue;
        top = 0;
        if (!LBK__GROW(ctx->ustack, ctx->cap_ustack, 1)) { lbk__free(walk); return false; }
        ctx->ustack[top++] = y;
        n_walk = 0;
        while (top && budget > 0) {
            uint32_t x = ctx->ustack[--top], k;
            lbk__node *n = &ctx->nodes[x];
            const uint32_t *in;
            if (n->op == LBK_OP_PARAM || n->mark == seen) continue;
            if (n->mark == in_graph) { overlap = true; continue; }
            n->mark = seen;
            budget--;
            if (!LBK__GROW(walk, cap_walk, n_walk + 1) || !LBK__GROW(ctx->ustack, ctx->cap_ustack, top + n->n_in)) {
                lbk__free(walk);
                return false;
            }
            walk[n_walk++] = x;
            in = lbk__inputs(ctx, n);
            for (k = 0; k < n->n_in; k++) ctx->ustack[top++] = in[k];
        }
        if (!overlap || top) continue;   /* no shared work, or the budget ran out mid-walk */
        if (!LBK__GROW(ctx->roots, ctx->cap_roots, *n_roots + 1)) { lbk__free(walk); return false; }
        ctx->roots[(*n_roots)++] = y;
        while (n_walk) ctx->nodes[walk[--n_walk]].mark = in_graph;
    }
    lbk__free(walk);
    return true;
}

/* Syncs the given nodes (any mix of pending and materialised). */
static lbk_result lbk__sync_nodes(lbk_ctx *ctx, const uint32_t *nodes, size_t n, const char *where) {
    size_t k, n_roots = 0;
    uint32_t ep;
    uint64_t h;
    bool ok;
    lbk__plan *plan = NULL;
    lbk_result r;
    uint32_t n_params = 0, i;
    ctx->counters[LBK__C_sync]++;
    if (!LBK__GROW(ctx->roots, ctx->cap_roots, n + 1)) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    ep = lbk__next_epoch(ctx);
    for (k = 0; k < n; k++) {
        lbk__node *x = &ctx->nodes[nodes[k]];
        if (!lbk__is_pending_node(x) || x->mark == ep) continue;
        x->mark = ep;
        if (x->op == LBK_OP_PARAM) {   /* a scalar: no graph needed */
            lbk_data *d = NULL;
            lbk__clear_backend_error();
            r = lbk__scalar_data(ctx, x, &d);
            if (r != LBK_OK || !d) return lbk__backend_failed(ctx, r, where, "data_from_scalar");
            x->flags &= (uint8_t)~(LBK__NF_SCALAR | LBK__NF_WRAPPED);
            x->data = d;
            lbk__mem_hold(ctx, x);
            continue;
        }
        ctx->roots[n_roots++] = nodes[k];
    }
    if (n_roots == 0) return LBK_OK;
    if (ctx->sync_siblings && !lbk__add_siblings(ctx, &n_roots)) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    h = lbk__collect(ctx, ctx->roots, n_roots, &ok);
    if (!ok) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    if ((r = lbk__plan_get(ctx, h, ctx->roots, n_roots, where, &plan)) != LBK_OK) return r;
    /* planning may have rewritten ctx->order: collect the graph again (cheap: a walk) */
    if (!plan->simple) {
        (void)lbk__collect(ctx, ctx->roots, n_roots, &ok);
        if (!ok) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    }
    if (!lbk__mem_fits(ctx, plan->run_bytes) && !lbk__mem_reclaim(ctx, plan->run_bytes, plan)) {
        const lbk__node *big = &ctx->nodes[ctx->roots[LBK__MIN(plan->big_root, (uint32_t)n_roots - 1)]];
        char sh[160];
        lbk__shape_str(sh, sizeof sh, (lbk_dtype)big->dtype, big->n_dims, big->dims);
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, big->debug,
                             "the sync needs %zu bytes (the largest result: %s %s, %zu bytes), over the context's "
                             "max_memory_bytes of %zu (it holds %zu: %zu in tensors, %zu kept by compiled graphs)",
                             plan->run_bytes, lbk__node_call(big), sh, lbk__node_bytes(big), ctx->mem_limit,
                             ctx->mem_held + ctx->mem_plans, ctx->mem_held, ctx->mem_plans);
    }
    for (k = 0; k < ctx->n_order; k++) n_params += ctx->nodes[ctx->order[k]].op == LBK_OP_PARAM;
    if (!LBK__GROW(ctx->args, ctx->cap_args, n_params + 1) || !LBK__GROW(ctx->arg_tmp, ctx->cap_arg_tmp, n_params + 1) ||
        !LBK__GROW(ctx->outs, ctx->cap_outs, n_roots + 1))
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    memset(ctx->outs, 0, sizeof(lbk_data *) * (n_roots + 1));
    i = 0;
    r = LBK_OK;
    for (k = 0; k < ctx->n_order; k++) {
        const lbk__node *x = &ctx->nodes[ctx->order[k]];
        if (x->op != LBK_OP_PARAM) continue;
        ctx->arg_tmp[i] = 0;
        if (x->flags & LBK__NF_SCALAR) {
            lbk__clear_backend_error();
            r = lbk__scalar_data(ctx, x, &ctx->args[i]);
            if (r != LBK_OK || !ctx->args[i]) { r = lbk__backend_failed(ctx, r, where, "data_from_scalar"); break; }
            ctx->arg_tmp[i] = 1;
        } else {
            ctx->args[i] = x->data;
            if ((plan->simple || plan->donates) && (x->flags & LBK__NF_DONATE)) ctx->arg_tmp[i] = 2;
            if (ctx->iface->data_of_node) {
                lbk_node pn;
                memset(&pn, 0, sizeof pn);
                pn.op = LBK_OP_PARAM; pn.dtype = (lbk_dtype)x->dtype; pn.n_dims = x->n_dims; pn.dims = x->dims;
                pn.debug_handle = x->debug;
                ctx->args[i] = ctx->iface->data_of_node(ctx->self, &pn, x->data);
                if (!ctx->args[i]) {
                    r = lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, x->debug, "backend '%s' data_of_node returned NULL",
                                      ctx->be->name);
                    break;
                }
            }
        }
        i++;
    }
    if (r == LBK_OK) {
        if (plan->simple) {
            lbk__bk b = lbk__seg_backend(ctx, plan, false);
            ctx->dmap = plan->debugs; ctx->n_dmap = plan->n_debugs;
            r = lbk__execute(ctx, &b, plan->segs[0].comp, ctx->args, ctx->arg_tmp, n_params, ctx->outs, (uint32_t)n_roots, where);
            ctx->dmap = NULL;
        } else {
            r = lbk__run_plan(ctx, plan, ctx->args, ctx->arg_tmp, ctx->outs, where);
        }
    }
    while (i-- > 0)
        if (ctx->arg_tmp[i] & 1) ctx->iface->data_free(ctx->self, ctx->args[i]);
    if (r != LBK_OK) return r;
    for (k = 0, i = 0; k < ctx->n_order; k++) {   /* donated data an output took: its parameter lets it go */
        lbk__node *x = &ctx->nodes[ctx->order[k]];
        if (x->op != LBK_OP_PARAM) continue;
        if (ctx->arg_tmp[i++] & 4) {
            lbk__mem_drop(ctx, x);
            x->data = NULL;
            ctx->counters[LBK__C_donated]++;
        }
    }
    ctx->counters[LBK__C_nodes_executed] += (int64_t)(ctx->n_order - n_params);
    for (k = 0; k < n_roots; k++) lbk__materialize(ctx, ctx->roots[k], ctx->outs[k]);
    return LBK_OK;
}

// >>public -----------------------------------------------------------------------------
/* Contexts, handles, reads, scopes, getters and the debugging texts. */

static lbk__mutex lbk__tag_lock = LBK__MUTEX_INIT;
static uint8_t lbk__tags_used[65536 / 8];
static uint32_t lbk__tag_base[65536];   /* per tag: every slot number up to it was issued under it */
static uint32_t lbk__tag_next;
#define LBK__TAG_BASE_MAX 0x80000000u  /* a tag past it is spent (each context keeps 2^31 slot numbers) */

/* A tag no live context has, so a foreign handle is always told apart, with the slot
   numbers its earlier contexts used behind *out_base; 0 if every tag is live or spent. */
static uint16_t lbk__tag_take(uint32_t *out_base) {
    uint32_t k;
    uint16_t tag = 0;
    lbk__lock(&lbk__tag_lock);
    for (k = 0; k < 65535; k++) {
        uint32_t t = (lbk__tag_next + k) % 65535 + 1;
        if (!(lbk__tags_used[t >> 3] & (1u << (t & 7))) && lbk__tag_base[t] < LBK__TAG_BASE_MAX) {
            lbk__tags_used[t >> 3] |= (uint8_t)(1u << (t & 7));
            tag = (uint16_t)t;
            *out_base = lbk__tag_base[t];
            lbk__tag_next = t;
            break;
        }
    }
    lbk__unlock(&lbk__tag_lock);
    return tag;
}
/* Whether a handle's slot number was retired with a destroyed context of its tag. */
static bool lbk__handle_retired(uint64_t id) {
    bool r;
    lbk__lock(&lbk__tag_lock);
    r = (uint32_t)id != 0 && (uint32_t)id <= lbk__tag_base[(uint16_t)(id >> 48)];
    lbk__unlock(&lbk__tag_lock);
    return r;
}
/* A destroyed context's tag: free again, its slot numbers up to base + used retired. */
static void lbk__tag_give(uint16_t t, uint32_t base, size_t used) {
    lbk__lock(&lbk__tag_lock);
    lbk__tag_base[t] = (uint32_t)LBK__MIN((uint64_t)base + used, (uint64_t)UINT32_MAX);
    lbk__tags_used[t >> 3] &= (uint8_t)~(1u << (t & 7));
    lbk__unlock(&lbk__tag_lock);
}

LAZYBK_API lbk_ctx *lbk_ctx_create(const lbk_ctx_desc *desc) {
    lbk_ctx_desc d;
    char name[128];
    const char *spec, *colon;
    int ordinal = -1;
    lbk__backend *be;
    lbk_ctx *ctx;
    lbk_device dev;
    const lbk_backend_i *bi;
    if (desc) d = *desc; else memset(&d, 0, sizeof d);
    spec = d.backend ? d.backend : lbk_backend_default();
    colon = strchr(spec, ':');
    if (strlen(spec) >= sizeof name || (colon ? (size_t)(colon - spec) : strlen(spec)) == 0) {
        lbk__set_last(LBK_ERR_ARG, "lbk_ctx_create: bad backend name '%s'", spec);
        return NULL;
    }
    memcpy(name, spec, colon ? (size_t)(colon - spec) : strlen(spec) + 1);
    if (colon) {
        char *end = NULL;
        long v;
        name[colon - spec] = 0;
        errno = 0;
        v = strtol(colon + 1, &end, 10);
        if (errno || !end || *end || end == colon + 1 || v < 0 || v > INT_MAX) {
            lbk__set_last(LBK_ERR_ARG, "lbk_ctx_create: bad device ordinal in '%s'", spec);
            return NULL;
        }
        ordinal = (int)v;
    }
    if (d.cache_capacity < 0 || d.n_threads < 0) {
        lbk__set_last(LBK_ERR_ARG, "lbk_ctx_create: negative cache_capacity (%d) or n_threads (%d)", d.cache_capacity, d.n_threads);
        return NULL;
    }
    be = lbk__backend_acquire(name);
    if (!be) {
        lbk__str known = {NULL, 0, 0, false};
        int i, n = lbk_backend_count();
        for (i = 0; i < n; i++) {
            const char *bn = lbk_backend_name(i);
            if (bn) lbk__str_append(&known, "%s%s", i ? ", " : "", bn);
        }
        lbk__set_last(LBK_ERR_NOT_FOUND, "lbk_ctx_create: no backend named '%s' (registered: %s)", name, lbk__str_get(&known));
        lbk__str_free(&known);
        return NULL;
    }
    bi = &be->iface;
    if (bi->is_available && !bi->is_available(be->self)) {
        const char *why = bi->unavailable_reason ? bi->unavailable_reason(be->self) : NULL;
        lbk__backend_release(be);
        lbk__set_last(LBK_ERR_UNAVAILABLE, "lbk_ctx_create: backend '%s' is not available: %s", name,
                      why && why[0] ? why : "its is_available returned false");
        return NULL;
    }
    dev.type = lbk__be_default_type(bi, be->self);
    dev.ordinal = ordinal >= 0 ? ordinal : lbk__be_default_ordinal(bi, be->self);
    if (bi->map_device) {
        lbk_device md;
        lbk__clear_backend_error();
        if (bi->map_device(be->self, dev.ordinal, &md) != LBK_OK) {
            lbk__backend_release(be);
            lbk__set_last(LBK_ERR_ARG, "lbk_ctx_create: backend '%s' has no device %d%s%s", name, dev.ordinal,
                          lbk__tls_be_msg[0] ? ": " : "", lbk__tls_be_msg);
            return NULL;
        }
        dev = md;
    } else {
        int count = lbk__be_devices(bi, be->self, NULL, 0);
        if (dev.ordinal >= count) {
            lbk__backend_release(be);
            lbk__set_last(LBK_ERR_ARG, "lbk_ctx_create: backend '%s' has no device %d (it has %d)", name, dev.ordinal, count);
            return NULL;
        }
    }
    ctx = (lbk_ctx *)lbk__calloc(1, sizeof *ctx);
    if (!ctx || !LBK__GROW(ctx->nodes, ctx->cap_nodes, 64)) {
        if (ctx) lbk__free(ctx);
        lbk__backend_release(be);
        lbk__set_last(LBK_ERR_OOM, "lbk_ctx_create: out of memory");
        return NULL;
    }
    ctx->tag = lbk__tag_take(&ctx->slot_base);
    if (!ctx->tag) {
        lbk__free(ctx->nodes);
        lbk__free(ctx);
        lbk__backend_release(be);
        lbk__set_last(LBK_ERR_UNSUPPORTED, "lbk_ctx_create: 65535 contexts are alive already (the limit on live contexts)");
        return NULL;
    }
    memset(&ctx->nodes[0], 0, sizeof ctx->nodes[0]);
    ctx->n_nodes = 1;
    ctx->be = be;
    ctx->iface = bi;
    ctx->self = be->self;
    ctx->device = dev;
    ctx->logger = d.logger;
    ctx->logger_user = d.logger_user;
    ctx->cache_capacity = d.cache_capacity ? d.cache_capacity : 1024;
    ctx->mem_limit = d.max_memory_bytes;
    ctx->sync_siblings = d.sync_siblings != 0;
    ctx->n_threads = d.n_threads;
    if (!ctx->n_threads) {
        const char *e = getenv("OMP_NUM_THREADS");
        ctx->n_threads = e ? atoi(e) : 0;
        if (ctx->n_threads <= 0) ctx->n_threads = 0;   /* 0: all cores */
    }
    ctx->seed = 0x2545f4914f6cdd1dULL;
    ctx->inherit_debug = -1;
    {
        size_t i;
        for (i = 0; i < LBK__COUNTOF(ctx->dcache); i++) ctx->dcache[i].handle = -1;
    }
    lbk__clear_last();
    return ctx;
}

LAZYBK_API void lbk_ctx_destroy(lbk_ctx *ctx) {
    size_t i;
    int e;
    if (!ctx) return;
    if (lbk__enter(ctx, "ctx_destroy") == 0) return;   /* in use elsewhere: left alone (LBK_ERR_BUSY in lbk_last_error) */
    lbk__trace_end(ctx);
    lbk__dl_detach_all(ctx);   /* exported tensors keep their data */
    for (i = 1; i < ctx->n_nodes; i++)
        if (ctx->nodes[i].refs > 0 && ctx->nodes[i].data) ctx->iface->data_free(ctx->self, ctx->nodes[i].data);
    for (e = 0; e < ctx->n_centries; e++) lbk__plan_free(ctx, ctx->centries[e].plan);
    hmfree(ctx->cons);
    hmfree(ctx->cache_map);
    lbk__free(ctx->centries);
    lbk__free(ctx->nodes); lbk__free(ctx->side); lbk__free(ctx->slots); lbk__free(ctx->tlog);
    lbk__free(ctx->stack); lbk__free(ctx->order); lbk__free(ctx->roots); lbk__free(ctx->ustack);
    lbk__free(ctx->args); lbk__free(ctx->outs); lbk__free(ctx->arg_tmp);
    lbk__graph_free(&ctx->graph);
    lbk__str_free(&ctx->errmsg);
    lbk__str_free(&ctx->text);
    for (i = 0; i < LBK__COUNTOF(ctx->texts); i++) lbk__str_free(&ctx->texts[i]);
    if (ctx->iface->context_release) ctx->iface->context_release(ctx->self, ctx);
    lbk__tag_give(ctx->tag, ctx->slot_base, ctx->n_slots);
    lbk__backend_release(ctx->be);
    lbk__free(ctx);
}

LAZYBK_API lbk_result lbk_ctx_result(const lbk_ctx *ctx) { return ctx ? ctx->err : LBK_ERR_ARG; }
LAZYBK_API const char *lbk_ctx_error(const lbk_ctx *ctx) {
    if (!ctx) return NULL;
    return ctx->err == LBK_OK ? "" : ctx->errmsg.p ? ctx->errmsg.p : lbk_result_str(ctx->err);
}
static void lbk__g_ctx_clear_error(lbk_ctx *ctx) {
    if (!ctx) return;
    ctx->err = LBK_OK;
    lbk__str_reset(&ctx->errmsg);
}
LAZYBK_API void lbk_ctx_clear_error(lbk_ctx *ctx) {
    LBK__GUARD_VOID(ctx, "ctx_clear_error", lbk__g_ctx_clear_error(ctx));
}
static void lbk__g_set_seed(lbk_ctx *ctx, uint64_t seed) {
    if (!ctx) return;
    ctx->seed = seed;
    ctx->rng_counter = 0;
    if (ctx->iface->set_rng_seed) ctx->iface->set_rng_seed(ctx->self, ctx->device, seed);
}
LAZYBK_API void lbk_set_seed(lbk_ctx *ctx, uint64_t seed) {
    LBK__GUARD_VOID(ctx, "set_seed", lbk__g_set_seed(ctx, seed));
}
LAZYBK_API lbk_device lbk_ctx_device(const lbk_ctx *ctx) {
    lbk_device d = {0, 0};
    return ctx ? ctx->device : d;
}
LAZYBK_API const char *lbk_ctx_backend(const lbk_ctx *ctx) { return ctx ? ctx->be->name : NULL; }
LAZYBK_API size_t lbk_ctx_memory_used(const lbk_ctx *ctx) { return ctx ? ctx->mem_held + ctx->mem_plans : 0; }

/* Resolves a handle for a run-time call, recording the error under `where`. */
static lbk_result lbk__handle(lbk_ctx *ctx, lbk_tensor t, uint32_t *out, const char *where) {
    const char *why = "";
    lbk_result r = lbk__resolve(ctx, t, out, &why);
    if (r != LBK_OK) lbk__ctx_fail(ctx, r, where, -1, "%s", why);
    return r;
}

static lbk_result lbk__g_sync(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    uint32_t *nodes;
    size_t k, m = 0;
    lbk_result r;
    if (!ctx) return LBK_ERR_ARG;
    if (n < 0 || (n > 0 && !ts)) return lbk__ctx_fail(ctx, LBK_ERR_ARG, "lbk_sync", -1, "bad tensor list (ts %p, n %d)", (const void *)ts, n);
    nodes = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (n > 0 ? (size_t)n : ctx->n_slots + 1));
    if (!nodes) return lbk__ctx_fail(ctx, LBK_ERR_OOM, "lbk_sync", -1, "out of memory");
    if (n > 0) {
        for (k = 0; k < (size_t)n; k++) {
            if ((r = lbk__handle(ctx, ts[k], &nodes[m], "lbk_sync")) != LBK_OK) { lbk__free(nodes); return r; }
            m++;
        }
    } else {
        for (k = 0; k < ctx->n_slots; k++)
            if (ctx->slots[k].live) nodes[m++] = ctx->slots[k].node;
    }
    r = lbk__sync_nodes(ctx, nodes, m, "lbk_sync");
    lbk__free(nodes);
    return r;
}
LAZYBK_API lbk_result lbk_sync(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    LBK__GUARD(lbk_result, ctx, "sync", LBK_ERR_BUSY, lbk__g_sync(ctx, ts, n));
}

/* Syncs t and returns its node, which then holds device data. */
static lbk_result lbk__ready(lbk_ctx *ctx, lbk_tensor t, size_t dst_bytes, lbk_dtype as, const void *dst,
                             uint32_t *out, const char *where) {
    lbk_result r;
    const lbk__node *n;
    size_t need;
    if ((r = lbk__handle(ctx, t, out, where)) != LBK_OK) return r;
    n = &ctx->nodes[*out];
    need = (size_t)lbk__numel(n->n_dims, n->dims) * lbk_dtype_size(as ? as : (lbk_dtype)n->dtype);
    if (dst_bytes < need) {
        char s[256];
        lbk__shape_of(ctx, *out, s, sizeof s);
        return lbk__ctx_fail(ctx, LBK_ERR_ARG, where, n->debug, "buffer of %zu bytes is too small for %s%s%s (%zu bytes)",
                             dst_bytes, s, as ? " read as " : "", as ? lbk_dtype_name(as) : "", need);
    }
    if (need > 0 && !dst) return lbk__ctx_fail(ctx, LBK_ERR_ARG, where, -1, "dst is NULL");
    if (lbk__is_pending_node(n) && (r = lbk__sync_nodes(ctx, out, 1, where)) != LBK_OK) return r;
    return LBK_OK;
}

static lbk_result lbk__g_read(lbk_ctx *ctx, lbk_tensor t, void *dst, size_t dst_bytes) {
    uint32_t id;
    lbk_result r;
    size_t bytes;
    const lbk__node *n;
    if (!ctx) return LBK_ERR_ARG;
    if ((r = lbk__ready(ctx, t, dst_bytes, (lbk_dtype)0, dst, &id, "lbk_read")) != LBK_OK) return r;
    n = &ctx->nodes[id];
    bytes = (size_t)lbk__numel(n->n_dims, n->dims) * lbk_dtype_size((lbk_dtype)n->dtype);
    if (bytes == 0) return LBK_OK;
    lbk__clear_backend_error();
    r = ctx->iface->data_to_host(ctx->self, n->data, dst, bytes);
    if (r != LBK_OK) return lbk__backend_failed(ctx, r, "lbk_read", "data_to_host");
    ctx->counters[LBK__C_bytes_to_host] += (int64_t)bytes;
    return LBK_OK;
}
LAZYBK_API lbk_result lbk_read(lbk_ctx *ctx, lbk_tensor t, void *dst, size_t dst_bytes) {
    LBK__GUARD(lbk_result, ctx, "read", LBK_ERR_BUSY, lbk__g_read(ctx, t, dst, dst_bytes));
}

static lbk_result lbk__g_read_as(lbk_ctx *ctx, lbk_tensor t, lbk_dtype dt, void *dst, size_t dst_bytes) {
    uint32_t id;
    lbk_result r;
    size_t bytes;
    int64_t numel;
    void *tmp;
    const lbk__node *n;
    if (!ctx) return LBK_ERR_ARG;
    if (!lbk__dtype_ok(dt)) return lbk__ctx_fail(ctx, LBK_ERR_DTYPE, "lbk_read_as", -1, "unknown dtype %d", (int)dt);
    if ((r = lbk__ready(ctx, t, dst_bytes, dt, dst, &id, "lbk_read_as")) != LBK_OK) return r;
    n = &ctx->nodes[id];
    numel = lbk__numel(n->n_dims, n->dims);
    bytes = (size_t)numel * lbk_dtype_size((lbk_dtype)n->dtype);
    if (bytes == 0) return LBK_OK;
    if (n->dtype == (uint8_t)dt) return lbk_read(ctx, t, dst, dst_bytes);
    tmp = lbk__malloc(bytes);
    if (!tmp) return lbk__ctx_fail(ctx, LBK_ERR_OOM, "lbk_read_as", -1, "out of memory");
    lbk__clear_backend_error();
    r = ctx->iface->data_to_host(ctx->self, n->data, tmp, bytes);
    if (r == LBK_OK) {
        lbk__convert(dst, dt, tmp, (lbk_dtype)n->dtype, numel, 1);
        ctx->counters[LBK__C_bytes_to_host] += (int64_t)bytes;
    } else {
        r = lbk__backend_failed(ctx, r, "lbk_read_as", "data_to_host");
    }
    lbk__free(tmp);
    return r;
}
LAZYBK_API lbk_result lbk_read_as(lbk_ctx *ctx, lbk_tensor t, lbk_dtype dt, void *dst, size_t dst_bytes) {
    LBK__GUARD(lbk_result, ctx, "read_as", LBK_ERR_BUSY, lbk__g_read_as(ctx, t, dt, dst, dst_bytes));
}

static void lbk__g_release(lbk_ctx *ctx, lbk_tensor t) {
    uint32_t id;
    const char *why;
    if (!ctx || lbk__resolve(ctx, t, &id, &why) != LBK_OK) return;
    lbk__release_slot(ctx, lbk__slot_ix(ctx, t.id));
}
LAZYBK_API void lbk_release(lbk_ctx *ctx, lbk_tensor t) {
    LBK__GUARD_VOID(ctx, "release", lbk__g_release(ctx, t));
}

static lbk_scope lbk__g_scope_begin(lbk_ctx *ctx) {
    lbk_scope s;
    s.mark = ctx ? ctx->serial : 0;
    return s;
}
LAZYBK_API lbk_scope lbk_scope_begin(lbk_ctx *ctx) {
    LBK__GUARD(lbk_scope, ctx, "scope_begin", lbk__scope_none(), lbk__g_scope_begin(ctx));
}

static void lbk__g_scope_end(lbk_ctx *ctx, lbk_scope s, const lbk_tensor *keep, int n_keep) {
    size_t first, k, w;
    int j;
    uint32_t id;
    const char *why;
    if (!ctx) return;
    if (n_keep < 0 || (n_keep > 0 && !keep)) n_keep = 0;
    first = ctx->n_tlog;
    while (first > 0 && ctx->tlog[first - 1].serial >= s.mark) first--;
    /* entries from `first` on belong to the scope; kept ones stay, in order. The kept
       handles are marked on their slots first, so this is linear in scope + kept. */
    for (j = 0; j < n_keep; j++)
        if (lbk__resolve(ctx, keep[j], &id, &why) == LBK_OK) ctx->slots[lbk__slot_ix(ctx, keep[j].id)].mark = 1;
    w = first;
    for (k = first; k < ctx->n_tlog; k++) {
        lbk__logent e = ctx->tlog[k];
        lbk_tensor t;
        t.id = e.id;
        if (lbk__resolve(ctx, t, &id, &why) != LBK_OK) continue;
        if (ctx->slots[lbk__slot_ix(ctx, e.id)].mark) ctx->tlog[w++] = e;
        else lbk__release_slot(ctx, lbk__slot_ix(ctx, e.id));
    }
    ctx->n_tlog = w;
    for (j = 0; j < n_keep; j++)
        if (lbk__resolve(ctx, keep[j], &id, &why) == LBK_OK) ctx->slots[lbk__slot_ix(ctx, keep[j].id)].mark = 0;
}
LAZYBK_API void lbk_scope_end(lbk_ctx *ctx, lbk_scope s, const lbk_tensor *keep, int n_keep) {
    LBK__GUARD_VOID(ctx, "scope_end", lbk__g_scope_end(ctx, s, keep, n_keep));
}

static const lbk__node *lbk__peek(lbk_ctx *ctx, lbk_tensor t) {
    uint32_t id;
    const char *why;
    if (!ctx || lbk__resolve(ctx, t, &id, &why) != LBK_OK) return NULL;
    return &ctx->nodes[id];
}
/* A NULL context gives 0 (the general rule), an invalid handle -1. */
static int lbk__g_ndim(lbk_ctx *ctx, lbk_tensor t) {
    const lbk__node *n = lbk__peek(ctx, t);
    return n ? n->n_dims : ctx ? -1 : 0;
}
LAZYBK_API int lbk_ndim(lbk_ctx *ctx, lbk_tensor t) {
    LBK__GUARD(int, ctx, "ndim", -1, lbk__g_ndim(ctx, t));
}
static int64_t lbk__g_dim(lbk_ctx *ctx, lbk_tensor t, int axis) {
    const lbk__node *n = lbk__peek(ctx, t);
    if (!n) return ctx ? -1 : 0;
    if (axis < 0) axis += n->n_dims;
    return (axis >= 0 && axis < n->n_dims) ? n->dims[axis] : -1;
}
LAZYBK_API int64_t lbk_dim(lbk_ctx *ctx, lbk_tensor t, int axis) {
    LBK__GUARD(int64_t, ctx, "dim", -1, lbk__g_dim(ctx, t, axis));
}
static int64_t lbk__g_numel(lbk_ctx *ctx, lbk_tensor t) {
    const lbk__node *n = lbk__peek(ctx, t);
    return n ? lbk__numel(n->n_dims, n->dims) : ctx ? -1 : 0;
}
LAZYBK_API int64_t lbk_numel(lbk_ctx *ctx, lbk_tensor t) {
    LBK__GUARD(int64_t, ctx, "numel", -1, lbk__g_numel(ctx, t));
}
static lbk_dtype lbk__g_type(lbk_ctx *ctx, lbk_tensor t) {
    const lbk__node *n = lbk__peek(ctx, t);
    return n ? (lbk_dtype)n->dtype : (lbk_dtype)0;
}
LAZYBK_API lbk_dtype lbk_type(lbk_ctx *ctx, lbk_tensor t) {
    LBK__GUARD(lbk_dtype, ctx, "type", (lbk_dtype)0, lbk__g_type(ctx, t));
}
static bool lbk__g_is_pending(lbk_ctx *ctx, lbk_tensor t) {
    const lbk__node *n = lbk__peek(ctx, t);
    return n && lbk__is_pending_node(n);
}
LAZYBK_API bool lbk_is_pending(lbk_ctx *ctx, lbk_tensor t) {
    LBK__GUARD(bool, ctx, "is_pending", false, lbk__g_is_pending(ctx, t));
}
LAZYBK_API int64_t lbk_live_tensors(lbk_ctx *ctx) { return ctx ? ctx->live : 0; }

/* ---- debugging texts ---- */
/* Each text call kind returns its own buffer (0 ir_text, 1 ir_dot, 2 backend_text,
   3 metrics_report), valid until the next call of the same kind on the context, so that
   printf("%s%s", lbk_ir_text(..), lbk_backend_text(..)) prints both. t is the text the
   call built in ctx->text: the two buffers trade places, nothing is copied. */
static const char *lbk__text_keep(lbk_ctx *ctx, int kind, const char *t) {
    lbk__str built;
    if (!t) return NULL;   /* a NULL context */
    built = ctx->text;
    ctx->text = ctx->texts[kind];
    ctx->texts[kind] = built;
    return lbk__str_get(&ctx->texts[kind]);
}
/* Resets ctx->text, gathers the roots (ts, or every live tensor when n is 0) and orders the
   graph under them into ctx->order when order is set. False (error set on the context) on
   bad input or OOM. */
static bool lbk__text_roots(lbk_ctx *ctx, const lbk_tensor *ts, int n, const char *where, bool order, size_t *out_n) {
    size_t k, m = 0;
    bool ok;
    lbk__str_reset(&ctx->text);
    if (n < 0 || (n > 0 && !ts)) { lbk__ctx_fail(ctx, LBK_ERR_ARG, where, -1, "bad tensor list"); return false; }
    if (!LBK__GROW(ctx->roots, ctx->cap_roots, (n > 0 ? (size_t)n : ctx->n_slots) + 1)) {
        lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
        return false;
    }
    if (n > 0) {
        for (k = 0; k < (size_t)n; k++)
            if (lbk__handle(ctx, ts[k], &ctx->roots[m++], where) != LBK_OK) return false;
    } else {
        for (k = 0; k < ctx->n_slots; k++)
            if (ctx->slots[k].live) ctx->roots[m++] = ctx->slots[k].node;
    }
    if (order) {
        (void)lbk__collect(ctx, ctx->roots, m, &ok);
        if (!ok) { lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); return false; }
    }
    *out_n = m;
    return true;
}

/* " name=value" for each attribute field of the node's op. */
static void lbk__attr_text(lbk__str *s, const lbk__node *n) {
    const lbk__afield *f;
    int k;
    for (f = lbk__opdefs[n->op].attrs; f->name; f++) {
        const char *p = (const char *)&n->attrs + f->off;
        int32_t v32;
        int64_t v64;
        double d;
        lbk__str_append(s, " %s=", f->name);
        switch (f->type) {
        case LBK__AF_BOOL: lbk__str_append(s, "%s", *(const uint8_t *)p ? "true" : "false"); break;
        case LBK__AF_I32: memcpy(&v32, p, 4); lbk__str_append(s, "%d", (int)v32); break;
        case LBK__AF_I64: memcpy(&v64, p, 8); lbk__str_append(s, "%lld", (long long)v64); break;
        case LBK__AF_F64: memcpy(&d, p, 8); lbk__str_append(s, "%.17g", d); break;
        case LBK__AF_AXES:
            memcpy(&v32, p, 4);
            lbk__str_append(s, "[");
            for (k = 0; k < LAZYBK_MAX_DIMS; k++)
                if ((uint32_t)v32 & (1u << k)) lbk__str_append(s, "%s%d", ((uint32_t)v32 & ((1u << k) - 1)) ? "," : "", k);
            lbk__str_append(s, "]");
            break;
        case LBK__AF_PERM:
            lbk__str_append(s, "[");
            for (k = 0; k < n->n_dims; k++) lbk__str_append(s, "%s%d", k ? "," : "", ((const int8_t *)p)[k]);
            lbk__str_append(s, "]");
            break;
        default: lbk__str_append(s, "?"); break;   /* a field type this printer does not know */
        }
    }
}

static const char *lbk__g_ir_text(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    size_t m, k, j;
    if (!ctx) return NULL;
    if (!lbk__text_roots(ctx, ts, n, "lbk_ir_text", true, &m)) return lbk__str_get(&ctx->text);
    for (k = 0; k < ctx->n_order; k++) {
        const lbk__node *x = &ctx->nodes[ctx->order[k]];
        const uint32_t *in = lbk__inputs(ctx, x);
        char shape[256], loc[300];
        lbk__shape_str(shape, sizeof shape, (lbk_dtype)x->dtype, x->n_dims, x->dims);
        lbk__str_append(&ctx->text, "%%%zu = %s ", k, shape);
        if (x->op == LBK_OP_PARAM) {
            if (x->flags & LBK__NF_SCALAR)
                lbk__str_append(&ctx->text, "scalar(%.17g)", lbk__is_float((lbk_dtype)x->dtype) ? x->attrs.sc.v.f : (double)x->attrs.sc.v.i);
            else
                lbk__str_append(&ctx->text, "data");
        } else {
            lbk__str_append(&ctx->text, "%s(", lbk_op_name((lbk_op)x->op));
            for (j = 0; j < x->n_in; j++) lbk__str_append(&ctx->text, "%s%%%u", j ? ", " : "", ctx->nodes[in[j]].local);
            lbk__str_append(&ctx->text, ")");
            lbk__attr_text(&ctx->text, x);
        }
        lbk__site_str(x->debug, loc, sizeof loc);
        lbk__str_append(&ctx->text, loc[0] ? "  # %s\n" : "%s\n", loc);
    }
    for (k = 0; k < m; k++) lbk__str_append(&ctx->text, "%s%%%u", k ? ", " : "outputs: ", ctx->nodes[ctx->roots[k]].local);
    if (m) lbk__str_append(&ctx->text, "\n");
    return lbk__str_get(&ctx->text);
}
LAZYBK_API const char *lbk_ir_text(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    LBK__GUARD(const char *, ctx, "ir_text", NULL, lbk__text_keep(ctx, 0, lbk__g_ir_text(ctx, ts, n)));
}

static lbk_result lbk__plan_of(lbk_ctx *ctx, const lbk_tensor *ts, int n, const char *where, lbk__plan **plan);
/* The fused group of every node of the graph of ts, as the backend compiled it (per
   context node id; -1 none), or NULL when the backend does not say or the plan is split. */
static int32_t *lbk__dot_groups(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    lbk__plan *plan = NULL;
    int32_t *grp;
    size_t k;
    if (!ctx->iface->computation_group || lbk__plan_of(ctx, ts, n, "lbk_ir_dot", &plan) != LBK_OK || !plan || !plan->simple ||
        plan->n_segs != 1 || plan->segs[0].fallback || !(grp = (int32_t *)lbk__malloc(sizeof(int32_t) * (ctx->n_nodes + 1))))
        return NULL;
    for (k = 0; k < ctx->n_nodes; k++) grp[k] = -1;
    for (k = 0; k < ctx->n_order; k++)   /* a simple plan's graph is the collected order */
        grp[ctx->order[k]] = ctx->iface->computation_group(ctx->self, plan->segs[0].comp, (uint32_t)k);
    return grp;
}

static const char *lbk__g_ir_dot(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    size_t m, k, j;
    int32_t *grp, g, g_max = -1;
    if (!ctx) return NULL;
    grp = lbk__dot_groups(ctx, ts, n);
    if (!lbk__text_roots(ctx, ts, n, "lbk_ir_dot", true, &m)) { lbk__free(grp); return lbk__str_get(&ctx->text); }
    lbk__str_append(&ctx->text, "digraph lazybk {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
    for (k = 0; grp && k < ctx->n_order; k++) if (grp[ctx->order[k]] > g_max) g_max = grp[ctx->order[k]];
    for (g = -1; g <= g_max; g++) {   /* nodes outside groups, then one cluster per fused group */
        bool open = false;
        for (k = 0; k < ctx->n_order; k++) {
            const lbk__node *x = &ctx->nodes[ctx->order[k]];
            char shape[256];
            const char *label = x->op != LBK_OP_PARAM ? lbk_op_name((lbk_op)x->op) : (x->flags & LBK__NF_SCALAR) ? "scalar" : "data";
            if ((grp ? grp[ctx->order[k]] : -1) != g) continue;
            if (g >= 0 && !open) {
                lbk__str_append(&ctx->text, "  subgraph cluster_%d {\n    label=\"fused group %d\"; style=dashed; color=\"#4477aa\";\n", (int)g, (int)g);
                open = true;
            }
            lbk__shape_str(shape, sizeof shape, (lbk_dtype)x->dtype, x->n_dims, x->dims);
            lbk__str_append(&ctx->text, "  %sn%zu [label=\"%%%zu %s\\n%s\"%s];\n", open ? "  " : "", k, k, label, shape,
                            x->op == LBK_OP_PARAM ? ", shape=ellipse" : "");
        }
        if (open) lbk__str_append(&ctx->text, "  }\n");
    }
    lbk__free(grp);
    for (k = 0; k < ctx->n_order; k++) {
        const lbk__node *x = &ctx->nodes[ctx->order[k]];
        const uint32_t *in = lbk__inputs(ctx, x);
        for (j = 0; j < x->n_in; j++) lbk__str_append(&ctx->text, "  n%u -> n%zu;\n", ctx->nodes[in[j]].local, k);
    }
    for (k = 0; k < m; k++)
        lbk__str_append(&ctx->text, "  out%zu [label=\"out %zu\", shape=plaintext];\n  n%u -> out%zu;\n", k, k,
                        ctx->nodes[ctx->roots[k]].local, k);
    lbk__str_append(&ctx->text, "}\n");
    return lbk__str_get(&ctx->text);
}
LAZYBK_API const char *lbk_ir_dot(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    LBK__GUARD(const char *, ctx, "ir_dot", NULL, lbk__text_keep(ctx, 1, lbk__g_ir_dot(ctx, ts, n)));
}

/* The plan a sync of ts would run (compiled now on a cache miss, and kept); *plan NULL
   when there is nothing to compile. Resets ctx->text. */
static lbk_result lbk__plan_of(lbk_ctx *ctx, const lbk_tensor *ts, int n, const char *where, lbk__plan **plan) {
    size_t m, k, w = 0;
    bool ok;
    uint64_t h;
    *plan = NULL;
    if (!lbk__text_roots(ctx, ts, n, where, false, &m)) return ctx->recent;
    for (k = 0; k < m; k++)   /* only pending, non-scalar roots form the graph a sync would compile */
        if (lbk__is_pending_node(&ctx->nodes[ctx->roots[k]]) && ctx->nodes[ctx->roots[k]].op != LBK_OP_PARAM)
            ctx->roots[w++] = ctx->roots[k];
    if (w == 0) return LBK_OK;
    h = lbk__collect(ctx, ctx->roots, w, &ok);
    if (!ok) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    return lbk__plan_get(ctx, h, ctx->roots, w, where, plan);
}

static const char *lbk__g_backend_text(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    size_t k;
    lbk__plan *plan = NULL;
    const char *txt;
    if (!ctx) return NULL;
    if (lbk__plan_of(ctx, ts, n, "lbk_backend_text", &plan) != LBK_OK || !plan) return lbk__str_get(&ctx->text);
    if (!plan->simple)
        lbk__str_append(&ctx->text, "plan: %u segment(s), %u constant(s), %u node(s) on the fallback%s\n", plan->n_segs,
                        plan->n_consts, plan->n_fallback_nodes, plan->n_decomposed ? ", composites decomposed" : "");
    for (k = 0; k < plan->n_segs; k++) {
        lbk__bk b = lbk__seg_backend(ctx, plan, plan->segs[k].fallback != 0);
        txt = b.iface->computation_text ? b.iface->computation_text(b.self, plan->segs[k].comp) : NULL;
        if (!plan->simple) lbk__str_append(&ctx->text, "segment %zu on backend '%s':\n", k, b.name);
        lbk__str_append(&ctx->text, "%s", txt ? txt : "(this backend has no computation text)\n");
    }
    return lbk__str_get(&ctx->text);
}
LAZYBK_API const char *lbk_backend_text(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    LBK__GUARD(const char *, ctx, "backend_text", NULL, lbk__text_keep(ctx, 2, lbk__g_backend_text(ctx, ts, n)));
}

static lbk_graph *lbk__g_graph_of(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    size_t m;
    bool ok;
    if (!ctx) { lbk__set_last(LBK_ERR_ARG, "lbk_graph_of: NULL context"); return NULL; }
    if (n <= 0) { lbk__ctx_fail(ctx, LBK_ERR_ARG, "lbk_graph_of", -1, "n is %d; at least one tensor is needed", n); return NULL; }
    if (!lbk__text_roots(ctx, ts, n, "lbk_graph_of", false, &m)) return NULL;
    (void)lbk__collect(ctx, ctx->roots, m, &ok);
    if (!ok || !lbk__build_view(ctx, ctx->order, ctx->n_order, 0, ctx->roots, m)) {
        lbk__ctx_fail(ctx, LBK_ERR_OOM, "lbk_graph_of", -1, "out of memory");
        return NULL;
    }
    {
        lbk_graph *g = lbk_graph_copy(&ctx->graph);
        if (!g) lbk__ctx_fail(ctx, LBK_ERR_OOM, "lbk_graph_of", -1, "out of memory");
        return g;
    }
}
LAZYBK_API lbk_graph *lbk_graph_of(lbk_ctx *ctx, const lbk_tensor *ts, int n) {
    LBK__GUARD(lbk_graph *, ctx, "graph_of", NULL, lbk__g_graph_of(ctx, ts, n));
}

static lbk__mutex lbk__metrics_lock = LBK__MUTEX_INIT;
static const char *lbk__g_metrics_report(lbk_ctx *ctx) {
    int k;
    const char *rep;
    if (!ctx) return NULL;
    lbk__str_reset(&ctx->text);
    for (k = 0; k < LBK__C_COUNT; k++) lbk__str_append(&ctx->text, "%s: %lld\n", lbk__counter_names[k], (long long)ctx->counters[k]);
    {
        int64_t live_nodes = 0;
        size_t i;
        for (i = 1; i < ctx->n_nodes; i++) live_nodes += ctx->nodes[i].refs > 0;
        lbk__str_append(&ctx->text, "cached_computations: %d\nlive_tensors: %lld\nlive_nodes: %lld\n", ctx->n_centries,
                        (long long)ctx->live, (long long)live_nodes);
    }
    if (ctx->iface->metric_report) {   /* the backend's text is shared by its contexts: read under the lock */
        lbk__lock(&lbk__metrics_lock);
        rep = ctx->iface->metric_report(ctx->self);
        if (rep && rep[0]) lbk__str_append(&ctx->text, "backend %s:\n%s", ctx->be->name, rep);
        lbk__unlock(&lbk__metrics_lock);
    }
    return lbk__str_get(&ctx->text);
}
LAZYBK_API const char *lbk_metrics_report(lbk_ctx *ctx) {
    LBK__GUARD(const char *, ctx, "metrics_report", NULL, lbk__text_keep(ctx, 3, lbk__g_metrics_report(ctx)));
}

static int64_t lbk__g_counter(lbk_ctx *ctx, const char *name) {
    int k;
    if (!ctx || !name) return 0;
    for (k = 0; k < LBK__C_COUNT; k++)
        if (strcmp(name, lbk__counter_names[k]) == 0) return ctx->counters[k];
    return 0;
}
LAZYBK_API int64_t lbk_counter(lbk_ctx *ctx, const char *name) {
    LBK__GUARD(int64_t, ctx, "counter", -1, lbk__g_counter(ctx, name));
}

// >>module -----------------------------------------------------------------------------
/* Modules: a type name, named children, named methods. A method is a recipe recorded
   from a trace: its inputs, the ops that depend on them (structure only: op, dtype, shape,
   attributes, debug handle), calls of children's methods (by attribute and method name,
   so a child replaced by a lowered one is the one called), scalars, and constants (values
   that do not depend on the inputs, computed once when the method is recorded and held by
   the module). Running a method replays its recipe onto the context: lazy, like any op. */

struct lbk__method;
static void lbk__delegate_free(lbk_module *m);
static lbk_value *lbk__tree_value(const lbk_module *m, int depth);
static lbk_result lbk__delegate_run(lbk_ctx *ctx, lbk_module *m, int mi, bool flatten, const char *prefix, const uint32_t *in, uint32_t *out,
                                    const char *where);

typedef struct lbk__tsig { lbk_dtype dt; int n_dims; int64_t dims[LAZYBK_MAX_DIMS]; } lbk__tsig;
enum { LBK__MN_INPUT = 1, LBK__MN_OP, LBK__MN_SCALAR, LBK__MN_CONST, LBK__MN_CALL, LBK__MN_CALL_OUT };
typedef struct lbk__mnode {
    uint8_t kind, dtype, n_dims, flags;
    uint16_t op;
    uint32_t n_in, first_in;      /* into the method's ins */
    int32_t index;                /* INPUT: input k; CONST: const k; CALL: call k; CALL_OUT: output k of the CALL at first_in */
    int64_t debug;
    int64_t dims[LAZYBK_MAX_DIMS];
    lbk__attrs attrs;
} lbk__mnode;
typedef struct lbk__mcall { char *attr, *method; int n_out; } lbk__mcall;
typedef struct lbk__method {
    char *name;
    int n_in, n_out, n_consts, n_calls;
    lbk__tsig *in, *out;
    lbk__mnode *nodes;
    uint32_t n_nodes, n_ins;
    uint32_t *ins, *outs;         /* outs: recipe entries of the outputs */
    uint32_t *consts;             /* context nodes held by the module */
    lbk__mcall *calls;
    const char *remap_key;        /* the path prefix the cached remapped debug handles are for */
    int64_t *remapped;
} lbk__method;

typedef struct lbk__child_kv { char *key; lbk_module *value; } lbk__child_kv;
struct lbk_module {
    lbk_ctx *ctx;
    char *type, *attr;            /* attr: its name in its parent */
    lbk_module *parent;
    lbk_module **children;
    lbk__child_kv *child_map;     /* children by attr (stb_ds; keys are the children's attr strings) */
    int n_children, n_methods;
    size_t cap_children, cap_methods;
    lbk__method *methods;
    /* lowered (lbk_to_backend) */
    char *backend;
    lbk_value *spec, *processed, *handles, *sigs;
    lbk_value *tree;              /* the module tree lowered (saved with it) */
    void *lowered;                /* the default delegation's state */
    bool unavailable;
};

/* A trace in progress (lbk_method_begin .. lbk_method_end): one per context. */
typedef struct lbk__tcall { lbk_module *child; char *method; uint32_t first, n_in, n_out; } lbk__tcall;
struct lbk__trace {
    lbk_module *m;
    char *method;
    int n_in;
    lbk__tsig *in;
    uint32_t *in_ids;
    lbk__tcall *calls;
    size_t n_calls, cap_calls;
    uint32_t *call_ids;           /* each call's inputs then outputs; the trace holds a reference */
    size_t n_call_ids, cap_call_ids;
    const char *prev_key;
};

static const char *lbk__module_root(lbk_module *m) {   /* "top(Type)", interned */
    char buf[512];
    snprintf(buf, sizeof buf, "top(%s)", m->type);
    return lbk__intern(buf);
}
static lbk_module *lbk__child(const lbk_module *m, const char *attr) {
    lbk__child_kv *map = m->child_map;   /* stb_ds lookups write the table pointer back (to itself) */
    ptrdiff_t i = map ? shgeti(map, attr) : -1;
    return i < 0 ? NULL : map[i].value;
}
/* Maps child under its attr in m (false on OOM, nothing changed); unmaps attr. */
static LBK__NOINLINE bool lbk__child_map_put(lbk_module *m, lbk_module *child) {
    volatile bool ok;
    LBK__SHPUT(ok, m->child_map, child->attr, child);
    return ok;
}
static LBK__NOINLINE void lbk__child_map_del(lbk_module *m, const char *attr) {
    bool ok;
    LBK__STBDS_GUARD(ok, (void)shdel(m->child_map, attr));
    (void)ok;   /* a failed shrink still deleted the entry */
}
static int lbk__method_find(const lbk_module *m, const char *name) {
    int i;
    for (i = 0; i < m->n_methods; i++)
        if (strcmp(m->methods[i].name, name) == 0) return i;
    return -1;
}
static void lbk__method_free(lbk_ctx *ctx, lbk__method *me) {
    int k;
    if (ctx)
        for (k = 0; k < me->n_consts; k++) lbk__unref(ctx, me->consts[k]);
    for (k = 0; k < me->n_calls; k++) { lbk__free(me->calls[k].attr); lbk__free(me->calls[k].method); }
    lbk__free(me->name); lbk__free(me->in); lbk__free(me->out); lbk__free(me->nodes); lbk__free(me->ins);
    lbk__free(me->outs); lbk__free(me->consts); lbk__free(me->calls); lbk__free(me->remapped);
    memset(me, 0, sizeof *me);
}
static void lbk__sig_str(char *buf, size_t cap, const lbk__tsig *s) { lbk__shape_str(buf, cap, s->dt, s->n_dims, s->dims); }

/* Whether s is a name lazybk may print: 1 to 200 bytes, none a control character. */
static bool lbk__name_ok(const char *s) {
    size_t n;
    if (!s) return false;
    for (n = 0; s[n]; n++)
        if (n >= 200 || (unsigned char)s[n] < 0x20 || s[n] == 0x7f) return false;
    return n > 0;
}
static lbk_module *lbk__g_module_create(lbk_ctx *ctx, const char *type_name) {
    lbk_module *m;
    if (!ctx) { lbk__set_last(LBK_ERR_ARG, "lbk_module_create: NULL context"); return NULL; }
    if (!lbk__name_ok(type_name)) {
        lbk__ctx_fail(ctx, LBK_ERR_ARG, "lbk_module_create", -1, "the type name must be 1 to 200 characters, none a control character");
        return NULL;
    }
    m = (lbk_module *)lbk__calloc(1, sizeof *m);
    if (!m || !(m->type = lbk__strdup(type_name))) {
        lbk__free(m);
        lbk__ctx_fail(ctx, LBK_ERR_OOM, "lbk_module_create", -1, "out of memory");
        return NULL;
    }
    m->ctx = ctx;
    return m;
}
LAZYBK_API lbk_module *lbk_module_create(lbk_ctx *ctx, const char *type_name) {
    LBK__GUARD(lbk_module *, ctx, "module_create", NULL, lbk__g_module_create(ctx, type_name));
}

static void lbk__g_module_destroy(lbk_module *m) {
    int i;
    if (!m) return;
    if (m->ctx->trace && m->ctx->trace->m == m) lbk__trace_end(m->ctx);
    for (i = 0; i < m->n_children; i++) { m->children[i]->parent = NULL; lbk_module_destroy(m->children[i]); }
    lbk__delegate_free(m);   /* a lowered module's recipes live on its backend's context */
    for (i = 0; i < m->n_methods; i++) lbk__method_free(m->ctx, &m->methods[i]);
    shfree(m->child_map);
    lbk__free(m->children); lbk__free(m->methods); lbk__free(m->type); lbk__free(m->attr); lbk__free(m->backend);
    lbk__free(m);
}
LAZYBK_API void lbk_module_destroy(lbk_module *m) {
    LBK__GUARD_VOID((m ? m->ctx : NULL), "module_destroy", lbk__g_module_destroy(m));
}

static lbk_result lbk__g_module_add_child(lbk_module *parent, const char *attr, lbk_module *child) {
    const lbk_module *a;
    char *name;
    if (!parent || !child) return lbk__set_last(LBK_ERR_ARG, "lbk_module_add_child: NULL %s", parent ? "child" : "parent");
    if (!lbk__name_ok(attr) || strstr(attr, "::") || strchr(attr, '('))
        return lbk__ctx_fail(parent->ctx, LBK_ERR_ARG, "lbk_module_add_child", -1,
                             "attribute name must be 1 to 200 characters, without '::', '(' or control characters");
    if (child->ctx != parent->ctx)
        return lbk__ctx_fail(parent->ctx, LBK_ERR_ARG, "lbk_module_add_child", -1, "child '%s' (%s) belongs to another context", attr, child->type);
    if (child->parent)
        return lbk__ctx_fail(parent->ctx, LBK_ERR_ARG, "lbk_module_add_child", -1, "module %s already has a parent (%s, as '%s')",
                             child->type, child->parent->type, child->attr);
    for (a = parent; a; a = a->parent)
        if (a == child) return lbk__ctx_fail(parent->ctx, LBK_ERR_ARG, "lbk_module_add_child", -1, "adding %s under itself would make a cycle", child->type);
    if (lbk__child(parent, attr))
        return lbk__ctx_fail(parent->ctx, LBK_ERR_EXISTS, "lbk_module_add_child", -1, "%s already has a child '%s'", parent->type, attr);
    if (!(name = lbk__strdup(attr)) || !LBK__GROW(parent->children, parent->cap_children, (size_t)parent->n_children + 1)) {
        lbk__free(name);
        return lbk__ctx_fail(parent->ctx, LBK_ERR_OOM, "lbk_module_add_child", -1, "out of memory");
    }
    {
        char *prev = child->attr;
        child->attr = name;
        if (!lbk__child_map_put(parent, child)) {
            child->attr = prev;
            lbk__free(name);
            return lbk__ctx_fail(parent->ctx, LBK_ERR_OOM, "lbk_module_add_child", -1, "out of memory");
        }
        lbk__free(prev);
    }
    child->parent = parent;
    parent->children[parent->n_children++] = child;
    return LBK_OK;
}
LAZYBK_API lbk_result lbk_module_add_child(lbk_module *parent, const char *attr, lbk_module *child) {
    LBK__GUARD(lbk_result, (parent ? parent->ctx : NULL), "module_add_child", LBK_ERR_BUSY, lbk__g_module_add_child(parent, attr, child));
}

/* ---- tracing ---- */
static void lbk__trace_end(lbk_ctx *ctx) {
    struct lbk__trace *t = ctx->trace;
    size_t k;
    int i;
    if (!t) return;
    for (i = 0; i < t->n_in; i++) if (t->in_ids[i] != LBK__NONE) lbk__unref(ctx, t->in_ids[i]);
    for (k = 0; k < t->n_call_ids; k++) lbk__unref(ctx, t->call_ids[k]);
    for (k = 0; k < t->n_calls; k++) lbk__free(t->calls[k].method);
    ctx->module_key = t->prev_key;
    lbk__free(t->method); lbk__free(t->in); lbk__free(t->in_ids); lbk__free(t->calls); lbk__free(t->call_ids);
    lbk__free(t);
    ctx->trace = NULL;
}

static lbk_result lbk__g_method_begin(lbk_module *m, const char *method, int n_inputs, const lbk_dtype *dtypes,
                                       const int *n_dims, const int64_t *const *dims, lbk_tensor *out_inputs) {
    lbk_ctx *ctx;
    struct lbk__trace *t;
    char path[700];
    int i;
    const char *W = "lbk_method_begin";
    if (!m) return lbk__set_last(LBK_ERR_ARG, "lbk_method_begin: NULL module");
    ctx = m->ctx;
    if (ctx->trace)
        return lbk__ctx_fail(ctx, LBK_ERR_BUSY, W, -1, "method '%s' of %s is being traced; end it before beginning another",
                             ctx->trace->method, ctx->trace->m->type);
    if (!lbk__name_ok(method) || strlen(method) > 100 || strstr(method, "::"))
        return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "method name must be 1 to 100 characters, without '::' or control characters");
    if (m->backend) return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "%s is lowered to '%s': its methods cannot be traced", m->type, m->backend);
    if (lbk__method_find(m, method) >= 0) return lbk__ctx_fail(ctx, LBK_ERR_EXISTS, W, -1, "%s already has a method '%s'", m->type, method);
    if (n_inputs < 0 || n_inputs > 4096 || (n_inputs > 0 && (!dtypes || !n_dims || !dims || !out_inputs)))
        return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "%d inputs with %s", n_inputs, n_inputs > 0 ? "a NULL array" : "a bad count");
    t = (struct lbk__trace *)lbk__calloc(1, sizeof *t);
    if (!t || !(t->method = lbk__strdup(method)) ||
        (n_inputs && (!(t->in = (lbk__tsig *)lbk__calloc((size_t)n_inputs, sizeof *t->in)) ||
                      !(t->in_ids = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)n_inputs))))) {
        if (t) { lbk__free(t->method); lbk__free(t->in); lbk__free(t->in_ids); lbk__free(t); }
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory");
    }
    t->m = m;
    t->n_in = n_inputs;
    for (i = 0; i < n_inputs; i++) t->in_ids[i] = LBK__NONE;
    t->prev_key = ctx->module_key;
    ctx->trace = t;
    for (i = 0; i < n_inputs; i++) {
        lbk_tensor x;
        const char *why;
        if (n_dims[i] < 0 || n_dims[i] > LAZYBK_MAX_DIMS || (n_dims[i] > 0 && !dims[i])) {
            lbk__trace_end(ctx);
            return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "input %d of %s.%s: %d dims%s", i, m->type, method, n_dims[i],
                                 n_dims[i] > 0 ? " and a NULL dims array" : "");
        }
        x = (lbk_empty)(ctx, dtypes[i], n_dims[i], dims[i]);
        if (!x.id || lbk__resolve(ctx, x, &t->in_ids[i], &why) != LBK_OK) {
            lbk__trace_end(ctx);
            return ctx->err != LBK_OK ? ctx->recent : LBK_ERR_ARG;
        }
        ctx->nodes[t->in_ids[i]].refs++;   /* the trace's own reference */
        t->in[i].dt = dtypes[i];
        t->in[i].n_dims = n_dims[i];
        if (n_dims[i]) memcpy(t->in[i].dims, dims[i], sizeof(int64_t) * (size_t)n_dims[i]);
        out_inputs[i] = x;
    }
    snprintf(path, sizeof path, "%s::%s", lbk__module_root(m), method);
    ctx->module_key = lbk__intern(path);   /* ops traced from here on carry the module path */
    return LBK_OK;
}
LAZYBK_API lbk_result lbk_method_begin(lbk_module *m, const char *method, int n_inputs, const lbk_dtype *dtypes,
                                       const int *n_dims, const int64_t *const *dims, lbk_tensor *out_inputs) {
    LBK__GUARD(lbk_result, (m ? m->ctx : NULL), "method_begin", LBK_ERR_BUSY, lbk__g_method_begin(m, method, n_inputs, dtypes, n_dims, dims, out_inputs));
}

/* Records a call of child.method inside the trace: the outputs are placeholders of the
   declared signature; the recipe keeps the call itself. */
static lbk_result lbk__trace_call(lbk_ctx *ctx, lbk_module *child, const lbk__method *cm, const uint32_t *in, lbk_tensor *out) {
    struct lbk__trace *t = ctx->trace;
    lbk__tcall *c;
    const char *W = "lbk_module_call";
    int k;
    size_t first = t->n_call_ids;
    if (!LBK__GROW(t->calls, t->cap_calls, t->n_calls + 1) ||
        !LBK__GROW(t->call_ids, t->cap_call_ids, t->n_call_ids + (size_t)cm->n_in + (size_t)cm->n_out))
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory");
    c = &t->calls[t->n_calls];
    if (!(c->method = lbk__strdup(cm->name))) return lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory");
    c->child = child;
    c->first = (uint32_t)first;
    c->n_in = (uint32_t)cm->n_in;
    c->n_out = 0;
    t->n_calls++;
    for (k = 0; k < cm->n_in; k++) { t->call_ids[t->n_call_ids++] = in[k]; ctx->nodes[in[k]].refs++; }
    for (k = 0; k < cm->n_out; k++) {
        const lbk__tsig *s = &cm->out[k];
        uint32_t id;
        const char *why;
        lbk_tensor x = (lbk_empty)(ctx, s->dt, s->n_dims, s->dims);
        if (!x.id || lbk__resolve(ctx, x, &id, &why) != LBK_OK) return ctx->recent;
        t->call_ids[t->n_call_ids++] = id;
        ctx->nodes[id].refs++;
        c->n_out++;
        out[k] = x;
    }
    return LBK_OK;
}

/* The recipe of the trace ending with outputs outs[n_out]. */
typedef struct lbk__rec {
    lbk_ctx *ctx;
    lbk__method *me;
    size_t cap_nodes, cap_ins, cap_consts;
    uint32_t *idx;                /* per context node: its entry, or LBK__NONE */
    uint32_t *call_of;            /* per context node: 1 + the trace call it is an output of, or 0 */
    uint32_t *call_out;           /* per context node that is a call's output: which output */
    uint32_t *call_entry;         /* per trace call: its CALL entry, or LBK__NONE */
    uint8_t *dep;                 /* per context node: depends on the inputs */
} lbk__rec;
static uint32_t lbk__rec_push(lbk__rec *R, int kind, uint32_t x, uint32_t n_in) {
    lbk__method *me = R->me;
    lbk__mnode *e;
    if (!LBK__GROW(me->nodes, R->cap_nodes, (size_t)me->n_nodes + 1) || !LBK__GROW(me->ins, R->cap_ins, (size_t)me->n_ins + n_in + 1))
        return LBK__NONE;
    e = &me->nodes[me->n_nodes];
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)kind;
    e->first_in = me->n_ins;
    e->n_in = n_in;
    e->debug = -1;
    if (x != LBK__NONE) {
        const lbk__node *n = &R->ctx->nodes[x];
        e->op = n->op; e->dtype = n->dtype; e->n_dims = n->n_dims; e->flags = n->flags; e->debug = n->debug;
        memcpy(e->dims, n->dims, sizeof e->dims);
        e->attrs = n->attrs;
        R->idx[x] = me->n_nodes;
    }
    me->n_ins += n_in;
    return me->n_nodes++;
}
/* The entry of a value an entry reads: made on first use for scalars and constants. */
static uint32_t lbk__rec_value(lbk__rec *R, uint32_t y) {
    const lbk__node *n = &R->ctx->nodes[y];
    uint32_t e;
    if (R->idx[y] != LBK__NONE) return R->idx[y];
    if (n->op == LBK_OP_PARAM && (n->flags & LBK__NF_SCALAR)) return lbk__rec_push(R, LBK__MN_SCALAR, y, 0);
    if (!LBK__GROW(R->me->consts, R->cap_consts, (size_t)R->me->n_consts + 1)) return LBK__NONE;
    e = lbk__rec_push(R, LBK__MN_CONST, y, 0);
    if (e == LBK__NONE) return e;
    R->me->nodes[e].index = R->me->n_consts;
    R->me->consts[R->me->n_consts++] = y;
    return e;
}

static lbk_result lbk__record(lbk_ctx *ctx, struct lbk__trace *t, const uint32_t *outs, int n_out, lbk__method *me) {
    lbk__rec R;
    uint64_t *stack = NULL;
    size_t top = 0, cap = 0, k;
    uint32_t i;
    int j;
    lbk_result r = LBK_OK;
    const char *W = "lbk_method_end";
    memset(&R, 0, sizeof R);
    R.ctx = ctx;
    R.me = me;
    R.idx = (uint32_t *)lbk__malloc(sizeof(uint32_t) * ctx->n_nodes);
    R.call_of = (uint32_t *)lbk__calloc(ctx->n_nodes, sizeof(uint32_t));
    R.call_out = (uint32_t *)lbk__calloc(ctx->n_nodes, sizeof(uint32_t));
    R.dep = (uint8_t *)lbk__calloc(ctx->n_nodes, 1);
    R.call_entry = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (t->n_calls + 1));
    if (!R.idx || !R.call_of || !R.call_out || !R.dep || !R.call_entry) goto oom;
    for (i = 0; i < ctx->n_nodes; i++) R.idx[i] = LBK__NONE;
    for (k = 0; k < t->n_calls; k++) {
        R.call_entry[k] = LBK__NONE;
        for (i = 0; i < t->calls[k].n_out; i++) {
            uint32_t y = t->call_ids[t->calls[k].first + t->calls[k].n_in + i];
            R.call_of[y] = 1u + (uint32_t)k;
            R.call_out[y] = i;
        }
    }
    for (j = 0; j < t->n_in; j++) {   /* inputs first, in order */
        uint32_t e = lbk__rec_push(&R, LBK__MN_INPUT, t->in_ids[j], 0);
        if (e == LBK__NONE) goto oom;
        me->nodes[e].index = j;
        R.dep[t->in_ids[j]] = 1;
    }
    /* post-order over the graph of the outputs; a call's outputs lead to the call's inputs */
    for (j = 0; j < n_out && r == LBK_OK; j++) {
        if (R.idx[outs[j]] != LBK__NONE || R.dep[outs[j]] == 2) continue;
        if (!LBK__GROW(stack, cap, top + 1)) goto oom;
        stack[top++] = (uint64_t)outs[j] << 32;
        while (top) {
            uint32_t x = (uint32_t)(stack[top - 1] >> 32), pos = (uint32_t)stack[top - 1], n_in;
            const uint32_t *in;
            const lbk__node *n = &ctx->nodes[x];
            if (R.call_of[x]) {
                const lbk__tcall *c = &t->calls[R.call_of[x] - 1];
                in = t->call_ids + c->first;
                n_in = c->n_in;
            } else {
                in = lbk__inputs(ctx, n);
                n_in = n->n_in;
            }
            if (pos < n_in) {
                uint32_t y = in[pos];
                stack[top - 1]++;
                if (R.idx[y] == LBK__NONE && R.dep[y] != 2 && !(R.dep[y] & 4)) {
                    if (!LBK__GROW(stack, cap, top + 1)) goto oom;
                    R.dep[y] |= 4;   /* on the stack */
                    stack[top++] = (uint64_t)y << 32;
                }
                continue;
            }
            top--;
            R.dep[x] &= (uint8_t)~4;
            if (R.call_of[x]) {
                uint32_t ck = R.call_of[x] - 1, e;
                const lbk__tcall *c = &t->calls[ck];
                if (R.call_entry[ck] == LBK__NONE) {
                    uint32_t ins[64], *pin = ins, m2;
                    if (c->n_in > 64 && !(pin = (uint32_t *)lbk__malloc(sizeof(uint32_t) * c->n_in))) goto oom;
                    for (m2 = 0; m2 < c->n_in; m2++) pin[m2] = lbk__rec_value(&R, in[m2]);
                    e = lbk__rec_push(&R, LBK__MN_CALL, LBK__NONE, c->n_in);
                    if (e != LBK__NONE) {
                        for (m2 = 0; m2 < c->n_in; m2++) me->ins[me->nodes[e].first_in + m2] = pin[m2];
                        me->nodes[e].index = (int32_t)ck;
                    }
                    if (pin != ins) lbk__free(pin);
                    for (m2 = 0; e != LBK__NONE && m2 < c->n_in; m2++) if (me->ins[me->nodes[e].first_in + m2] == LBK__NONE) e = LBK__NONE;
                    if (e == LBK__NONE) goto oom;
                    R.call_entry[ck] = e;
                }
                e = lbk__rec_push(&R, LBK__MN_CALL_OUT, x, 0);
                if (e == LBK__NONE) goto oom;
                me->nodes[e].first_in = R.call_entry[ck];
                me->nodes[e].index = (int32_t)R.call_out[x];
                R.dep[x] = 1;
                continue;
            }
            {
                bool d = false;
                for (i = 0; i < n_in; i++) d |= R.dep[in[i]] == 1;
                if (!d) { R.dep[x] = 2; continue; }   /* a constant: made an entry only where read */
                {
                    uint32_t e;
                    for (i = 0; i < n_in; i++)
                        if (R.dep[in[i]] != 1 && lbk__rec_value(&R, in[i]) == LBK__NONE) goto oom;
                    e = lbk__rec_push(&R, LBK__MN_OP, x, n_in);
                    if (e == LBK__NONE) goto oom;
                    me->nodes[e].flags = 0;
                    for (i = 0; i < n_in; i++) me->ins[me->nodes[e].first_in + i] = R.idx[in[i]];
                    R.dep[x] = 1;
                }
            }
        }
    }
    if (!(me->outs = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)(n_out + 1)))) goto oom;
    for (j = 0; j < n_out; j++)
        if ((me->outs[j] = lbk__rec_value(&R, outs[j])) == LBK__NONE) goto oom;
    if (me->n_consts > 0) {   /* constants are computed now, once */
        r = lbk__sync_nodes(ctx, me->consts, (size_t)me->n_consts, W);
        if (r != LBK_OK) { me->n_consts = 0; goto done; }
    }
    for (j = 0; j < me->n_consts; j++) ctx->nodes[me->consts[j]].refs++;
    goto done;
oom:
    me->n_consts = 0;   /* no references were taken yet */
    r = lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory");
done:
    lbk__free(stack); lbk__free(R.idx); lbk__free(R.call_of); lbk__free(R.call_out); lbk__free(R.dep); lbk__free(R.call_entry);
    return r;
}

static lbk_result lbk__g_method_end(lbk_module *m, const lbk_tensor *outputs, int n_outputs) {
    lbk_ctx *ctx;
    struct lbk__trace *t;
    lbk__method me;
    uint32_t *ids = NULL;
    lbk_result r = LBK_OK;
    size_t k;
    int j;
    const char *W = "lbk_method_end";
    if (!m) return lbk__set_last(LBK_ERR_ARG, "lbk_method_end: NULL module");
    ctx = m->ctx;
    t = ctx->trace;
    if (!t) return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "no method of %s is being traced (lbk_method_end without lbk_method_begin)", m->type);
    if (t->m != m)
        return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "the method being traced is %s.%s, not one of %s", t->m->type, t->method, m->type);
    memset(&me, 0, sizeof me);
    if (n_outputs < 1 || n_outputs > 4096 || !outputs) {
        r = lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "%s.%s: %d outputs%s", m->type, t->method, n_outputs, outputs ? "" : " (NULL array)");
        goto out;
    }
    if (!(ids = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)n_outputs))) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory"); goto out; }
    for (j = 0; j < n_outputs; j++) {
        const char *why;
        lbk_result rr = lbk__resolve(ctx, outputs[j], &ids[j], &why);
        if (rr != LBK_OK) { r = lbk__ctx_fail(ctx, rr, W, -1, "output %d of %s.%s: %s", j, m->type, t->method, why); goto out; }
    }
    me.n_in = t->n_in;
    me.n_out = n_outputs;
    me.in = t->in; t->in = NULL;
    if (!(me.name = lbk__strdup(t->method)) || !(me.out = (lbk__tsig *)lbk__calloc((size_t)n_outputs, sizeof *me.out)) ||
        (t->n_calls && !(me.calls = (lbk__mcall *)lbk__calloc(t->n_calls, sizeof *me.calls)))) {
        r = lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory");
        goto out;
    }
    for (j = 0; j < n_outputs; j++) {
        const lbk__node *n = &ctx->nodes[ids[j]];
        me.out[j].dt = (lbk_dtype)n->dtype;
        me.out[j].n_dims = n->n_dims;
        memcpy(me.out[j].dims, n->dims, sizeof n->dims);
    }
    for (k = 0; k < t->n_calls; k++) {
        me.calls[k].n_out = (int)t->calls[k].n_out;
        me.n_calls++;
        if (!(me.calls[k].attr = lbk__strdup(t->calls[k].child->attr)) || !(me.calls[k].method = lbk__strdup(t->calls[k].method))) {
            r = lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory");
            goto out;
        }
    }
    ctx->module_key = t->prev_key;   /* constants are computed outside the module's path */
    if ((r = lbk__record(ctx, t, ids, n_outputs, &me)) != LBK_OK) goto out;
    if (!LBK__GROW(m->methods, m->cap_methods, (size_t)m->n_methods + 1)) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory"); goto out; }
    m->methods[m->n_methods++] = me;
    memset(&me, 0, sizeof me);
out:
    lbk__method_free(ctx, &me);
    lbk__free(ids);
    lbk__trace_end(ctx);
    return r;
}
LAZYBK_API lbk_result lbk_method_end(lbk_module *m, const lbk_tensor *outputs, int n_outputs) {
    LBK__GUARD(lbk_result, (m ? m->ctx : NULL), "method_end", LBK_ERR_BUSY, lbk__g_method_end(m, outputs, n_outputs));
}

/* ---- running ---- */
/* The debug handle of entry e replayed under path prefix (interned): the path it was
   traced with, its first component ("top(Type)") replaced by prefix. Cached per method. */
static int64_t lbk__mdebug(lbk__method *me, uint32_t e, const char *prefix, const char *root) {
    if (prefix == root || me->nodes[e].debug < 0) return me->nodes[e].debug;
    if (me->remap_key != prefix) {
        uint32_t i;
        int64_t *h = (int64_t *)lbk__realloc_or_null(me->remapped, sizeof(int64_t) * (me->n_nodes + 1));
        if (!h) return me->nodes[e].debug;
        me->remapped = h;
        for (i = 0; i < me->n_nodes; i++) h[i] = lbk__debug_rebase(me->nodes[i].debug, prefix);
        me->remap_key = prefix;
    }
    return me->remapped[e];
}

static lbk_result lbk__invoke(lbk_ctx *ctx, lbk_module *m, int mi, bool flatten, const char *prefix, const uint32_t *in, uint32_t *out, const char *where);

/* Replays method mi of m under path prefix over input nodes in; out receives the output
   nodes, each with one reference the caller owns. flatten: the replay inlines every child
   into one recipe (for preprocessing), so a child lowered to a backend of its own is an error. */
static lbk_result lbk__replay(lbk_ctx *ctx, lbk_module *m, int mi, bool flatten, const char *prefix, const uint32_t *in, uint32_t *out,
                              const char *where) {
    lbk__method *me = &m->methods[mi];
    const char *root = lbk__module_root(m);
    uint32_t *ids = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (me->n_nodes + 1)), e, k, tmp[64], *ins = tmp, max_in = 0;
    uint32_t **call_outs = NULL;
    lbk_result r = LBK_OK;
    int j;
    if (!ids || (me->n_calls && !(call_outs = (uint32_t **)lbk__calloc((size_t)me->n_calls, sizeof *call_outs)))) {
        lbk__free(ids);
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    }
    for (e = 0; e < me->n_nodes; e++) {
        ids[e] = LBK__NONE;
        if (me->nodes[e].kind != LBK__MN_CALL_OUT && me->nodes[e].n_in > max_in) max_in = me->nodes[e].n_in;
    }
    if (max_in > LBK__COUNTOF(tmp) && !(ins = (uint32_t *)lbk__malloc(sizeof(uint32_t) * max_in))) { ins = tmp; r = LBK_ERR_OOM; }
    for (e = 0; e < me->n_nodes && r == LBK_OK; e++) {
        const lbk__mnode *x = &me->nodes[e];
        lbk__node p;
        for (k = 0; k < x->n_in && x->kind != LBK__MN_CALL_OUT; k++) ins[k] = ids[me->ins[x->first_in + k]];
        switch (x->kind) {
        case LBK__MN_INPUT: ids[e] = in[x->index]; break;
        case LBK__MN_CONST: ids[e] = me->consts[x->index]; break;
        case LBK__MN_SCALAR: case LBK__MN_OP:
            lbk__proto(&p, (lbk_op)x->op, (lbk_dtype)x->dtype, x->n_dims, x->dims);
            p.attrs = x->attrs;
            p.flags = x->kind == LBK__MN_SCALAR ? x->flags : 0;
            ctx->inherit_debug = lbk__mdebug(me, e, prefix, root);
            ids[e] = lbk__mk(ctx, &p, ins, x->n_in, x->kind == LBK__MN_SCALAR || x->op == LBK_OP_RAND || x->op == LBK_OP_RANDN, NULL, NULL, 0);
            ctx->inherit_debug = -1;
            if (ids[e] == LBK__NONE) r = LBK_ERR_OOM;
            else ctx->nodes[ids[e]].refs++;   /* held until the end of the replay */
            break;
        case LBK__MN_CALL: {
            const lbk__mcall *c = &me->calls[x->index];
            lbk_module *child = lbk__child(m, c->attr);
            int ci = child ? lbk__method_find(child, c->method) : -1;
            char buf[700];
            if (!child || ci < 0) {
                r = lbk__ctx_fail(ctx, LBK_ERR_NOT_FOUND, where, -1, "%s.%s calls %s.%s, which %s", m->type, me->name, c->attr, c->method,
                                  child ? "that child does not have" : "is not a child any more");
                break;
            }
            if (!(call_outs[x->index] = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)(c->n_out + 1)))) { r = LBK_ERR_OOM; break; }
            snprintf(buf, sizeof buf, "%s::%s(%s)", prefix, c->attr, child->type);
            r = lbk__invoke(ctx, child, ci, flatten, lbk__intern(buf), ins, call_outs[x->index], where);
            if (r != LBK_OK) { lbk__free(call_outs[x->index]); call_outs[x->index] = NULL; }
            break;
        }
        case LBK__MN_CALL_OUT:
            ids[e] = call_outs[me->nodes[x->first_in].index][x->index];
            ctx->nodes[ids[e]].refs++;
            break;
        }
    }
    if (r == LBK_OK)
        for (j = 0; j < me->n_out; j++) { out[j] = ids[me->outs[j]]; ctx->nodes[out[j]].refs++; }
    /* let go of the replay's own references (unused values are freed) */
    for (e = 0; e < me->n_nodes; e++)
        if (ids[e] != LBK__NONE && (me->nodes[e].kind == LBK__MN_OP || me->nodes[e].kind == LBK__MN_SCALAR || me->nodes[e].kind == LBK__MN_CALL_OUT))
            lbk__unref(ctx, ids[e]);
    for (j = 0; j < me->n_calls; j++)
        if (call_outs[j]) {
            int q;
            for (q = 0; q < me->calls[j].n_out; q++) lbk__unref(ctx, call_outs[j][q]);
            lbk__free(call_outs[j]);
        }
    if (ins != tmp) lbk__free(ins);
    lbk__free(call_outs);
    lbk__free(ids);
    if (r == LBK_ERR_OOM) return lbk__ctx_fail(ctx, r, where, -1, "out of memory");
    return r;
}

/* Checks the inputs of m.method against its signature. */
static lbk_result lbk__check_inputs(lbk_ctx *ctx, const lbk_module *m, const lbk__method *me, const lbk_tensor *in, int n_in,
                                    uint32_t *ids, const char *where) {
    int k;
    if (n_in != me->n_in || (n_in > 0 && !in))
        return lbk__ctx_fail(ctx, LBK_ERR_ARG, where, -1, "%s.%s takes %d inputs, got %d%s", m->type, me->name, me->n_in, n_in,
                             n_in > 0 && !in ? " (NULL array)" : "");
    for (k = 0; k < n_in; k++) {
        const char *why;
        lbk_result r = lbk__resolve(ctx, in[k], &ids[k], &why);
        const lbk__node *n;
        if (r != LBK_OK) return lbk__ctx_fail(ctx, r, where, -1, "input %d of %s.%s: %s", k, m->type, me->name, why);
        n = &ctx->nodes[ids[k]];
        if (n->dtype != me->in[k].dt || n->n_dims != me->in[k].n_dims ||
            memcmp(n->dims, me->in[k].dims, sizeof(int64_t) * (size_t)n->n_dims) != 0) {
            char a[256], b[256];
            lbk__shape_str(a, sizeof a, (lbk_dtype)n->dtype, n->n_dims, n->dims);
            lbk__sig_str(b, sizeof b, &me->in[k]);
            return lbk__ctx_fail(ctx, n->dtype != me->in[k].dt ? LBK_ERR_DTYPE : LBK_ERR_SHAPE, where, -1,
                                 "input %d of %s.%s is %s; the method was traced with %s", k, m->type, me->name, a, b);
        }
    }
    return LBK_OK;
}

/* Runs method mi of m: a lowered module through its backend, any other by replaying. */
static lbk_result lbk__invoke(lbk_ctx *ctx, lbk_module *m, int mi, bool flatten, const char *prefix, const uint32_t *in, uint32_t *out, const char *where) {
    if (m->backend) return lbk__delegate_run(ctx, m, mi, flatten, prefix, in, out, where);
    return lbk__replay(ctx, m, mi, flatten, prefix, in, out, where);
}

/* lbk_module_run and the eager lbk_module_call. */
/* as_call: a child's method called from a method being traced is recorded as a call. */
static lbk_result lbk__module_run(lbk_module *m, const char *method, const lbk_tensor *in, int n_in, lbk_tensor *out, int n_out,
                                  bool as_call, const char *where) {
    lbk_ctx *ctx;
    lbk__method *me;
    uint32_t tmp_in[16], tmp_out[16], *ids = tmp_in, *outs = tmp_out;
    lbk_result r;
    int mi, k;
    if (!m) return lbk__set_last(LBK_ERR_ARG, "%s: NULL module", where);
    ctx = m->ctx;
    if (!method || (mi = lbk__method_find(m, method)) < 0)
        return lbk__ctx_fail(ctx, LBK_ERR_NOT_FOUND, where, -1, "%s has no method '%s'", m->type, method ? method : "(NULL)");
    me = &m->methods[mi];
    if (n_out != me->n_out || !out)
        return lbk__ctx_fail(ctx, LBK_ERR_ARG, where, -1, "%s.%s has %d outputs; room for %d given%s", m->type, method, me->n_out, n_out,
                             out ? "" : " (NULL array)");
    for (k = 0; k < n_out; k++) out[k].id = 0;
    if ((me->n_in > 16 && !(ids = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)me->n_in))) ||
        (me->n_out > 16 && !(outs = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)me->n_out)))) {
        if (ids != tmp_in) lbk__free(ids);
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    }
    r = lbk__check_inputs(ctx, m, me, in, n_in, ids, where);
    if (r == LBK_OK && ctx->trace && as_call) {
        r = lbk__trace_call(ctx, m, me, ids, out);
    } else if (r == LBK_OK) {
        r = lbk__invoke(ctx, m, mi, false, lbk__module_root(m), ids, outs, where);
        if (r == LBK_OK) {
            lbk__opctx oc;
            oc.ctx = ctx; oc.name = where; oc.file = NULL; oc.line = 0; oc.op = 0;
            for (k = 0; k < me->n_out; k++) out[k] = lbk__wrap(ctx, outs[k], &oc);
            for (k = 0; k < me->n_out; k++) lbk__unref(ctx, outs[k]);
            for (k = 0; k < me->n_out; k++)
                if (!out[k].id) { r = LBK_ERR_OOM; break; }
            if (r != LBK_OK)
                for (k = 0; k < me->n_out; k++) { lbk_release(ctx, out[k]); out[k].id = 0; }
        }
    }
    if (ids != tmp_in) lbk__free(ids);
    if (outs != tmp_out) lbk__free(outs);
    return r;
}
static lbk_result lbk__g_module_run(lbk_module *m, const char *method, const lbk_tensor *in, int n_in, lbk_tensor *out, int n_out) {
    return lbk__module_run(m, method, in, n_in, out, n_out, false, "lbk_module_run");
}
LAZYBK_API lbk_result lbk_module_run(lbk_module *m, const char *method, const lbk_tensor *in, int n_in, lbk_tensor *out, int n_out) {
    LBK__GUARD(lbk_result, (m ? m->ctx : NULL), "module_run", LBK_ERR_BUSY, lbk__g_module_run(m, method, in, n_in, out, n_out));
}
static lbk_result lbk__g_module_call(lbk_module *child, const char *method, const lbk_tensor *in, int n_in, lbk_tensor *out, int n_out) {
    if (child && child->ctx->trace && child->parent != child->ctx->trace->m)
        return lbk__ctx_fail(child->ctx, LBK_ERR_ARG, "lbk_module_call", -1,
                             "%s is not a child of %s, whose method '%s' is being traced (add it with lbk_module_add_child first)",
                             child->type, child->ctx->trace->m->type, child->ctx->trace->method);
    return lbk__module_run(child, method, in, n_in, out, n_out, true, "lbk_module_call");
}
LAZYBK_API lbk_result lbk_module_call(lbk_module *child, const char *method, const lbk_tensor *in, int n_in, lbk_tensor *out, int n_out) {
    LBK__GUARD(lbk_result, (child ? child->ctx : NULL), "module_call", LBK_ERR_BUSY, lbk__g_module_call(child, method, in, n_in, out, n_out));
}

/* Introspection. */
LAZYBK_API const char *lbk_module_type(const lbk_module *m) { return m ? m->type : NULL; }
LAZYBK_API int lbk_module_n_children(const lbk_module *m) { return m ? m->n_children : 0; }
LAZYBK_API lbk_module *lbk_module_child(const lbk_module *m, const char *attr) { return m && attr ? lbk__child(m, attr) : NULL; }
LAZYBK_API bool lbk_module_has_method(const lbk_module *m, const char *method) { return m && method && lbk__method_find(m, method) >= 0; }
LAZYBK_API const char *lbk_module_backend(const lbk_module *m) { return m ? m->backend : NULL; }

/* ---- preprocess registry ---- */
static LBK__NOINLINE bool lbk__pp_put(const char *name, lbk_preprocess_fn fn) {
    volatile bool ok;
    char *volatile key = lbk__strdup(name);
    if (!key) return false;
    LBK__SHPUT(ok, lbk__pp_map, key, fn);
    if (!ok) lbk__free(key);
    return ok;
}

LAZYBK_API lbk_result lbk_preprocess_register(const char *backend, lbk_preprocess_fn fn) {
    lbk_result r = LBK_OK;
    if (!backend || !backend[0] || !fn) return lbk__set_last(LBK_ERR_ARG, "lbk_preprocess_register: NULL or empty %s", fn ? "backend name" : "function");
    lbk__lock(&lbk__reg_lock);
    if (lbk__pp_map && shgeti(lbk__pp_map, backend) >= 0) {
        r = lbk__set_last(LBK_ERR_EXISTS, "lbk_preprocess_register: backend '%s' already has a preprocess function", backend);
    } else if (!lbk__pp_put(backend, fn)) {
        r = lbk__set_last(LBK_ERR_OOM, "lbk_preprocess_register: out of memory");
    }
    lbk__unlock(&lbk__reg_lock);
    return r;
}
LAZYBK_API bool lbk_preprocess_has(const char *backend) { return lbk_preprocess_get(backend) != NULL; }
LAZYBK_API lbk_preprocess_fn lbk_preprocess_get(const char *backend) {
    lbk_preprocess_fn fn = NULL;
    ptrdiff_t i;
    if (!backend) return NULL;
    lbk__lock(&lbk__reg_lock);
    i = lbk__pp_map ? shgeti(lbk__pp_map, backend) : -1;
    if (i >= 0) fn = lbk__pp_map[i].value;
    lbk__unlock(&lbk__reg_lock);
    return fn;
}

/* ---- the serialised form of a method (the default preprocess) ----
   {"inputs": [[dtype, n_dims, dims...]...], "outputs": [...], "consts": [[dtype, n_dims,
   dims..., bytes (little-endian, C order)]...], "nodes": [[kind, op, dtype, n_dims, flags,
   index, debug, dims..., n_in, inputs..., {attribute: value...}]...], "outs": [entry...]}.
   Ops and dtypes are names; the attributes are the op's fields by name (a scalar's
   {"value": v}). Calls of children are inlined (each node keeps its module path), so the
   blob stands alone. Blobs of format-1 files (op and dtype numbers, the attribute union as
   raw words, constants in base64) are read too, through the numbering frozen below. */
static const char *const lbk__v1_ops[] = {
    "invalid", "param", "add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "logical_not", "where", "neg", "abs", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh",
    "sigmoid", "relu", "erf", "floor", "ceil", "reciprocal", "cast", "sum", "mean", "amax", "amin", "argmax", "matmul",
    "reshape", "permute", "expand", "slice", "concat", "arange", "rand", "randn", "softmax", "log_softmax", "logsumexp",
    "gelu", "silu", "var", "layer_norm", "rms_norm", "linear"};
static const char *const lbk__v1_dtypes[] = {"invalid", "f32", "f64", "i32", "i64", "bool"};
/* Format 1 stored the attribute union's words; this build's union is the one format 1 had
   (checked for the default LAZYBK_MAX_DIMS; a build with another must read files its own
   configuration wrote, as before). */
#define LBK__V1_ATTR_WORDS ((int)LBK__COUNTOF(((lbk__attrs *)0)->words))
#if LAZYBK_MAX_DIMS == 8
LBK__STATIC_ASSERT(sizeof(lbk__attrs) == 32, attrs_union_kept_its_format1_layout);
#endif
static bool lbk__vint(const lbk_value *l, int64_t i, int64_t lo, int64_t hi, int64_t *out);

static int lbk__v_op(const lbk_value *x) {   /* an op by name, or by format-1 number; 0 if neither */
    if (lbk_value_kind_of(x) == LBK_VALUE_STR) return (int)lbk_op_from_name(lbk_value_as_str(x));
    if (lbk_value_kind_of(x) == LBK_VALUE_INT && lbk_value_as_int(x) > 0 && lbk_value_as_int(x) < (int64_t)LBK__COUNTOF(lbk__v1_ops))
        return (int)lbk_op_from_name(lbk__v1_ops[lbk_value_as_int(x)]);
    return 0;
}
static lbk_dtype lbk__v_dtype(const lbk_value *x) {
    if (lbk_value_kind_of(x) == LBK_VALUE_STR) return lbk_dtype_from_name(lbk_value_as_str(x));
    if (lbk_value_kind_of(x) == LBK_VALUE_INT && lbk_value_as_int(x) > 0 && lbk_value_as_int(x) < (int64_t)LBK__COUNTOF(lbk__v1_dtypes))
        return lbk_dtype_from_name(lbk__v1_dtypes[lbk_value_as_int(x)]);
    return LBK_DTYPE_INVALID;
}
/* Format 1's constants: base64. Decodes exactly n bytes into out; false if s is not their encoding. */
static int lbk__b64_val(int c) {
    return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52 :
           c == '+' ? 62 : c == '/' ? 63 : -1;
}
static bool lbk__b64_decode(const char *s, unsigned char *out, size_t n) {
    size_t i, o = 0, len = strlen(s);
    if (len != (n + 2) / 3 * 4) return false;
    for (i = 0; i < len; i += 4) {
        int a = lbk__b64_val(s[i]), b = lbk__b64_val(s[i + 1]), c = lbk__b64_val(s[i + 2]), d = lbk__b64_val(s[i + 3]);
        uint32_t v;
        if (a < 0 || b < 0 || (c < 0 && (s[i + 2] != '=' || o + 1 < n)) || (d < 0 && (s[i + 3] != '=' || o + 2 < n))) return false;
        v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)(c < 0 ? 0 : c) << 6 | (uint32_t)(d < 0 ? 0 : d);
        if (o < n) out[o++] = (unsigned char)(v >> 16);
        if (o < n) out[o++] = (unsigned char)(v >> 8);
        if (o < n) out[o++] = (unsigned char)v;
    }
    return true;
}
static bool lbk__vpush_int(lbk_value *list, int64_t v) { return lbk_list_push(list, lbk_value_int(v)) == LBK_OK; }
static bool lbk__vpush_str(lbk_value *list, const char *s) { return lbk_list_push(list, lbk_value_str(s)) == LBK_OK; }
static lbk_value *lbk__sig_value(const lbk__tsig *s) {
    lbk_value *l = lbk_value_list();
    int d;
    bool ok = l && lbk__vpush_str(l, lbk_dtype_name(s->dt)) && lbk__vpush_int(l, s->n_dims);
    for (d = 0; ok && d < s->n_dims; d++) ok = lbk__vpush_int(l, s->dims[d]);
    if (!ok) { lbk_value_free(l); return NULL; }
    return l;
}

/* The attribute fields of entry x as a dict (a scalar entry: its value). */
static lbk_value *lbk__attrs_value(const lbk__mnode *x, bool scalar) {
    lbk_value *d = lbk_value_dict();
    const lbk__afield *f;
    bool ok = d != NULL;
    if (ok && scalar)
        ok = lbk_dict_set(d, "value", lbk__is_float((lbk_dtype)x->dtype) ? lbk_value_double(x->attrs.sc.v.f) : lbk_value_int(x->attrs.sc.v.i)) == LBK_OK;
    for (f = lbk__opdefs[x->op].attrs; ok && !scalar && f->name; f++) {
        const char *p = (const char *)&x->attrs + f->off;
        lbk_value *v = NULL;
        int32_t v32;
        int64_t v64;
        double dv;
        int k;
        switch (f->type) {
        case LBK__AF_BOOL: v = lbk_value_bool(*(const uint8_t *)p != 0); break;
        case LBK__AF_I32: memcpy(&v32, p, 4); v = lbk_value_int(v32); break;
        case LBK__AF_I64: memcpy(&v64, p, 8); v = lbk_value_int(v64); break;
        case LBK__AF_F64: memcpy(&dv, p, 8); v = lbk_value_double(dv); break;
        case LBK__AF_AXES:
            memcpy(&v32, p, 4);
            v = lbk_value_list();
            for (k = 0; v && k < LAZYBK_MAX_DIMS; k++)
                if (((uint32_t)v32 & (1u << k)) && !lbk__vpush_int(v, k)) { lbk_value_free(v); v = NULL; }
            break;
        case LBK__AF_PERM:
            v = lbk_value_list();
            for (k = 0; v && k < x->n_dims; k++)
                if (!lbk__vpush_int(v, ((const int8_t *)p)[k])) { lbk_value_free(v); v = NULL; }
            break;
        default: break;   /* a field type with no encoding: fails below */
        }
        ok = v && lbk_dict_set(d, f->name, v) == LBK_OK;
    }
    if (!ok) { lbk_value_free(d); return NULL; }
    return d;
}
/* Reads them back: exactly the op's fields, each of its type and range. */
static bool lbk__attrs_parse(const lbk_value *d, lbk__mnode *x, bool scalar) {
    const lbk__afield *f;
    int64_t n = 0;
    memset(&x->attrs, 0, sizeof x->attrs);
    if (lbk_value_kind_of(d) != LBK_VALUE_DICT) return false;
    if (scalar) {
        const lbk_value *v = lbk_dict_get(d, "value");
        if (lbk_dict_len(d) != 1) return false;
        if (lbk__is_float((lbk_dtype)x->dtype) && lbk_value_kind_of(v) == LBK_VALUE_DOUBLE) x->attrs.sc.v.f = lbk_value_as_double(v);
        else if (!lbk__is_float((lbk_dtype)x->dtype) && lbk_value_kind_of(v) == LBK_VALUE_INT) x->attrs.sc.v.i = lbk_value_as_int(v);
        else return false;
        return true;
    }
    for (f = lbk__opdefs[x->op].attrs; f->name; f++, n++) {
        const lbk_value *v = lbk_dict_get(d, f->name);
        char *p = (char *)&x->attrs + f->off;
        lbk_value_kind vk = lbk_value_kind_of(v);
        int64_t i, k, len;
        switch (f->type) {
        case LBK__AF_BOOL: if (vk != LBK_VALUE_BOOL) return false; *(uint8_t *)p = lbk_value_as_bool(v); break;
        case LBK__AF_I32: {
            int32_t v32;
            if (vk != LBK_VALUE_INT || (i = lbk_value_as_int(v)) < INT32_MIN || i > INT32_MAX) return false;
            v32 = (int32_t)i; memcpy(p, &v32, 4);
            break;
        }
        case LBK__AF_I64: if (vk != LBK_VALUE_INT) return false; i = lbk_value_as_int(v); memcpy(p, &i, 8); break;
        case LBK__AF_F64: { double dv; if (vk != LBK_VALUE_DOUBLE) return false; dv = lbk_value_as_double(v); memcpy(p, &dv, 8); break; }
        case LBK__AF_AXES: {
            uint32_t mask = 0;
            if ((len = lbk_list_len(v)) < 0 || len > LAZYBK_MAX_DIMS) return false;
            for (k = 0; k < len; k++) {
                if (!lbk__vint(v, k, 0, LAZYBK_MAX_DIMS - 1, &i) || (mask & (1u << i))) return false;
                mask |= 1u << i;
            }
            memcpy(p, &mask, 4);
            break;
        }
        case LBK__AF_PERM:
            if ((len = lbk_list_len(v)) != x->n_dims) return false;
            for (k = 0; k < len; k++) {
                if (!lbk__vint(v, k, 0, LAZYBK_MAX_DIMS - 1, &i)) return false;
                ((int8_t *)p)[k] = (int8_t)i;
            }
            break;
        default: return false;
        }
    }
    return lbk_dict_len(d) == n;
}

/* A parameter node of signature sig with no data, held by the caller (one reference): an
   input to plan over that is never synced (so no buffer of that size is ever allocated). */
static uint32_t lbk__shape_param(lbk_ctx *ctx, const lbk__tsig *sig, const char *where) {
    lbk__opctx oc;
    uint32_t id;
    oc.ctx = ctx; oc.name = where; oc.file = NULL; oc.line = 0; oc.op = LBK_OP_PARAM;
    id = lbk__param_node(ctx, sig->dt, sig->n_dims, sig->dims, NULL, false, &oc);
    if (id != LBK__NONE) ctx->nodes[id].refs++;
    return id;
}

/* Flattens method mi of m: replays it over placeholders and records the result (calls
   inlined, debug handles carrying the full module path). */
static lbk_result lbk__flatten(lbk_module *m, int mi, lbk__method *flat, const char *where) {
    lbk_ctx *ctx = m->ctx;
    lbk__method *me = &m->methods[mi];
    struct lbk__trace t;
    uint32_t *outs = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)(me->n_out + 1));
    lbk_result r = LBK_OK;
    int k, made = 0;
    memset(&t, 0, sizeof t);
    memset(flat, 0, sizeof *flat);
    t.m = m;
    t.n_in = me->n_in;
    t.in_ids = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)(me->n_in + 1));
    flat->n_in = me->n_in; flat->n_out = me->n_out;
    flat->name = lbk__strdup(me->name);
    flat->in = (lbk__tsig *)lbk__malloc(sizeof(lbk__tsig) * (size_t)(me->n_in + 1));
    flat->out = (lbk__tsig *)lbk__malloc(sizeof(lbk__tsig) * (size_t)(me->n_out + 1));
    if (!outs || !t.in_ids || !flat->name || !flat->in || !flat->out) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); goto done; }
    memcpy(flat->in, me->in, sizeof(lbk__tsig) * (size_t)me->n_in);
    memcpy(flat->out, me->out, sizeof(lbk__tsig) * (size_t)me->n_out);
    for (k = 0; k < me->n_in; k++, made++)
        if ((t.in_ids[k] = lbk__shape_param(ctx, &me->in[k], where)) == LBK__NONE) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); goto done; }
    r = lbk__replay(ctx, m, mi, true, lbk__module_root(m), t.in_ids, outs, where);
    if (r != LBK_OK) goto done;
    r = lbk__record(ctx, &t, outs, me->n_out, flat);
    for (k = 0; k < me->n_out; k++) lbk__unref(ctx, outs[k]);
done:
    for (k = 0; k < made; k++) lbk__unref(ctx, t.in_ids[k]);
    lbk__free(t.in_ids);
    lbk__free(outs);
    if (r != LBK_OK) lbk__method_free(ctx, flat);
    return r;
}

static lbk_value *lbk__method_value(lbk_ctx *ctx, const lbk__method *me, const char *where, lbk_result *r) {
    lbk_value *v = lbk_value_dict(), *ins = lbk_value_list(), *outs = lbk_value_list(), *consts = lbk_value_list(), *nodes = lbk_value_list();
    uint32_t e, k;
    int j;
    bool ok = v && ins && outs && consts && nodes;
    for (j = 0; ok && j < me->n_in; j++) ok = lbk_list_push(ins, lbk__sig_value(&me->in[j])) == LBK_OK;
    for (j = 0; ok && j < me->n_out; j++) ok = lbk_list_push(outs, lbk__sig_value(&me->out[j])) == LBK_OK;
    for (j = 0; ok && j < me->n_consts; j++) {   /* the constant's bytes, read from the context */
        const lbk__node *n = &ctx->nodes[me->consts[j]];
        lbk__tsig s;
        lbk_value *c;
        size_t bytes = (size_t)lbk__numel(n->n_dims, n->dims) * lbk_dtype_size((lbk_dtype)n->dtype);
        lbk_value *data = lbk_value_bytes(NULL, 0);
        s.dt = (lbk_dtype)n->dtype; s.n_dims = n->n_dims; memcpy(s.dims, n->dims, sizeof s.dims);
        c = lbk__sig_value(&s);
        ok = c && data;
        if (ok && bytes) {   /* read straight into the value's memory */
            lbk__free(data->u.bytes.p);
            ok = (data->u.bytes.p = (unsigned char *)lbk__malloc(bytes)) != NULL;
            data->u.bytes.n = ok ? bytes : 0;
            lbk__clear_backend_error();
            *r = ok ? ctx->iface->data_to_host(ctx->self, n->data, data->u.bytes.p, bytes) : LBK_OK;
            if (*r != LBK_OK) { lbk_value_free(c); lbk_value_free(data); lbk_value_free(v); lbk_value_free(ins); lbk_value_free(outs); lbk_value_free(consts); lbk_value_free(nodes);
                                return lbk__ctx_fail(ctx, *r, where, -1, "reading a constant of method '%s' failed", me->name), (lbk_value *)NULL; }
        }
        if (ok) { ok = lbk_list_push(c, data) == LBK_OK; data = NULL; }
        lbk_value_free(data);
        if (ok) ok = lbk_list_push(consts, c) == LBK_OK;
        else lbk_value_free(c);
    }
    for (e = 0; ok && e < me->n_nodes; e++) {
        const lbk__mnode *x = &me->nodes[e];
        lbk_value *l = lbk_value_list();
        ok = l && lbk__vpush_int(l, x->kind) && lbk__vpush_str(l, lbk_op_name((lbk_op)x->op)) && lbk__vpush_str(l, lbk_dtype_name((lbk_dtype)x->dtype)) &&
             lbk__vpush_int(l, x->n_dims) && lbk__vpush_int(l, x->flags) && lbk__vpush_int(l, x->index) && lbk__vpush_int(l, x->debug);
        for (j = 0; ok && j < x->n_dims; j++) ok = lbk__vpush_int(l, x->dims[j]);
        ok = ok && lbk__vpush_int(l, x->n_in);
        for (k = 0; ok && k < x->n_in; k++) ok = lbk__vpush_int(l, x->kind == LBK__MN_CALL_OUT ? x->first_in : me->ins[x->first_in + k]);
        ok = ok && lbk_list_push(l, lbk__attrs_value(x, x->kind == LBK__MN_SCALAR)) == LBK_OK;
        if (ok) ok = lbk_list_push(nodes, l) == LBK_OK;
        else lbk_value_free(l);
    }
    if (ok) { ok = lbk_dict_set(v, "inputs", ins) == LBK_OK; ins = NULL; }
    if (ok) { ok = lbk_dict_set(v, "outputs", outs) == LBK_OK; outs = NULL; }
    if (ok) { ok = lbk_dict_set(v, "consts", consts) == LBK_OK; consts = NULL; }
    if (ok) { ok = lbk_dict_set(v, "nodes", nodes) == LBK_OK; nodes = NULL; }
    if (ok) {
        lbk_value *ol = lbk_value_list();
        ok = ol != NULL;
        for (j = 0; ok && j < me->n_out; j++) ok = lbk__vpush_int(ol, me->outs[j]);
        if (ok) ok = lbk_dict_set(v, "outs", ol) == LBK_OK;
        else lbk_value_free(ol);
    }
    lbk_value_free(ins); lbk_value_free(outs); lbk_value_free(consts); lbk_value_free(nodes);
    if (!ok) { lbk_value_free(v); *r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); return NULL; }
    *r = LBK_OK;
    return v;
}

/* The default preprocess: every method named in the spec, flattened and serialised. */
LAZYBK_API lbk_result lbk_preprocess_default(const lbk_module *cm, const lbk_value *spec, lbk_value **out) {
    lbk_module *m = (lbk_module *)(uintptr_t)cm;
    lbk_value *d;
    int64_t i, n;
    lbk_result r = LBK_OK;
    if (!out) return lbk__set_last(LBK_ERR_ARG, "lbk_preprocess_default: NULL out");
    *out = NULL;
    if (!m) return lbk__set_last(LBK_ERR_ARG, "lbk_preprocess_default: NULL module");
    if ((n = lbk_dict_len(spec)) < 0) return lbk__ctx_fail(m->ctx, LBK_ERR_ARG, "lbk_preprocess_default", -1, "the method compile spec is not a dict");
    if (!(d = lbk_value_dict())) return lbk__ctx_fail(m->ctx, LBK_ERR_OOM, "lbk_preprocess_default", -1, "out of memory");
    for (i = 0; i < n && r == LBK_OK; i++) {
        const char *name = lbk_dict_key(spec, i);
        int mi = lbk__method_find(m, name);
        lbk__method flat;
        lbk_value *mv;
        if (mi < 0) { r = lbk__ctx_fail(m->ctx, LBK_ERR_NOT_FOUND, "lbk_preprocess_default", -1, "%s has no method '%s'", m->type, name); break; }
        if ((r = lbk__flatten(m, mi, &flat, "lbk_preprocess_default")) != LBK_OK) break;
        mv = lbk__method_value(m->ctx, &flat, "lbk_preprocess_default", &r);
        lbk__method_free(m->ctx, &flat);
        if (mv && lbk_dict_set(d, name, mv) != LBK_OK) r = lbk__ctx_fail(m->ctx, LBK_ERR_OOM, "lbk_preprocess_default", -1, "out of memory");
    }
    if (r != LBK_OK) { lbk_value_free(d); return r; }
    *out = d;
    return LBK_OK;
}

/* ---- lowering (lbk_to_backend) ----
   The lowered module keeps the processed blob and the handles compile gave. With a
   backend's own delegate_compile/delegate_execute they are the backend's business. The
   default (both NULL): compile turns each method's blob back into a recipe whose constants
   are uploaded to a context on that backend (the caller's when it is on the same backend,
   else the module's own), and execute replays it there: lazily in the caller's context, or
   synced in the module's own with the data moved through the host. */
typedef struct lbk__lowered {
    lbk_ctx *rctx;                /* where the recipes run; owned unless it is the module's context */
    bool own_ctx;
} lbk__lowered;

static bool lbk__vint(const lbk_value *l, int64_t i, int64_t lo, int64_t hi, int64_t *out) {
    const lbk_value *x = lbk_list_get(l, i);
    if (lbk_value_kind_of(x) != LBK_VALUE_INT) return false;
    *out = lbk_value_as_int(x);
    return *out >= lo && *out <= hi;
}
static bool lbk__vsig(const lbk_value *l, lbk__tsig *s, int64_t *used) {
    int64_t v, d;
    memset(s, 0, sizeof *s);
    if ((s->dt = lbk__v_dtype(lbk_list_get(l, 0))) == LBK_DTYPE_INVALID) return false;
    if (!lbk__vint(l, 1, 0, LAZYBK_MAX_DIMS, &v)) return false;
    s->n_dims = (int)v;
    for (d = 0; d < s->n_dims; d++)
        if (!lbk__vint(l, 2 + d, 0, INT64_MAX, &s->dims[d])) return false;
    if (!lbk__dims_valid(s->n_dims, s->dims, s->dt)) return false;
    *used = 2 + s->n_dims;
    return true;
}

/* A module constant over bytes value data: the file's own memory (no copy) on a backend
   with data_wrap_host when data lies in a shared blob, aligned; else copied in. */
static lbk_tensor lbk__const_tensor(lbk_ctx *ctx, lbk_dtype dt, int nd, const int64_t *dims, const lbk_value *data, const char *where) {
    lbk__blob *b = data->u.bytes.owner;
    lbk__opctx oc;
    oc.ctx = ctx; oc.name = where; oc.file = NULL; oc.line = 0; oc.op = LBK_OP_PARAM;
    if (b && data->u.bytes.n > 0 && ((uintptr_t)data->u.bytes.p % 64) == 0 && ctx->iface->data_wrap_host) {
        lbk_data *d = NULL;
        lbk__blob_ref(b);   /* the backend gives it back through the release */
        lbk__clear_backend_error();
        if (ctx->iface->data_wrap_host(ctx->self, ctx->device, dt, nd, dims, data->u.bytes.p, lbk__blob_unref, b, &d) == LBK_OK && d)
            return lbk__data_tensor(&oc, dt, nd, dims, d, true);
        lbk__blob_unref(b);   /* declined: a failed wrap does not release (data_wrap_host's contract) */
    }
    return (lbk_from_host)(ctx, dt, nd, dims, data->u.bytes.p);
}

/* Whether recipe entry x (an op) is what its op makes of its inputs: the op's own rule
   (the one its builder runs) over the entries it reads, with the node's attributes, must
   give the node's dtype and shape and find its inputs already cast. A loaded blob is
   checked with it, so that no kernel reads past a buffer. */
static bool lbk__same_dims(int na, const int64_t *a, int nb, const int64_t *b) {
    return na == nb && (na == 0 || memcmp(a, b, sizeof(int64_t) * (size_t)na) == 0);
}
static bool lbk__mnode_valid(const lbk__method *me, const lbk__mnode *x, char *why, size_t why_cap) {
    const lbk__opdef *d;
    lbk__ty tmp[4], *ty = tmp;
    lbk__rin a;
    lbk__rout o;
    uint32_t k, n = x->n_in;
    bool ok;
    why[0] = 0;
    if (!lbk__op_ok(x->op) || x->op == LBK_OP_PARAM) { snprintf(why, why_cap, "op %d is not an op", (int)x->op); return false; }
    d = &lbk__opdefs[x->op];
    if (n < (uint32_t)d->n_min || (d->n_max >= 0 && n > (uint32_t)d->n_max)) {
        snprintf(why, why_cap, "%s with %u inputs", d->name, n);
        return false;
    }
    if (n > 4 && !(ty = (lbk__ty *)lbk__malloc(sizeof(lbk__ty) * n))) { snprintf(why, why_cap, "out of memory"); return false; }
    for (k = 0; k < n; k++) {
        const lbk__mnode *y = &me->nodes[me->ins[x->first_in + k]];
        ty[k].dt = (lbk_dtype)y->dtype;
        ty[k].n_dims = y->n_dims;
        ty[k].dims = y->dims;
        ty[k].wrapped = y->kind == LBK__MN_SCALAR && (y->flags & LBK__NF_WRAPPED) != 0;
    }
    memset(&o, 0, sizeof o);
    a.op = (lbk_op)x->op; a.def = d; a.in = ty; a.n_in = n; a.at = &x->attrs; a.node = true;
    a.want.dt = (lbk_dtype)x->dtype; a.want.n_dims = x->n_dims; a.want.dims = x->dims; a.want.wrapped = false;
    ok = d->rule(&a, &o);
    if (!ok) snprintf(why, why_cap, "%s: %s", d->name, o.msg);
    else if (o.identity) { ok = false; snprintf(why, why_cap, "%s: the node would be its input", d->name); }
    else if (o.dt != (lbk_dtype)x->dtype || !lbk__same_dims(o.n_dims, o.dims, x->n_dims, x->dims)) {
        ok = false;
        snprintf(why, why_cap, "%s: the rule gives another dtype or shape", d->name);
    }
    for (k = 0; ok && k < n; k++) {
        lbk_dtype want = k == 0 ? o.cast0 : k == 1 && o.keep1 ? (lbk_dtype)0 : o.cast;
        if (want && ty[k].dt != want) { ok = false; snprintf(why, why_cap, "%s: input %u is %s, not %s", d->name, k, lbk_dtype_name(ty[k].dt), lbk_dtype_name(want)); }
    }
    if (ty != tmp) lbk__free(ty);
    return ok;
}

/* A recipe from its serialised form, its constants made in ctx. Every field is checked:
   a malformed blob gives LBK_ERR_FORMAT, never a bad read. */
static lbk_result lbk__method_parse(lbk_ctx *ctx, const char *name, const lbk_value *v, lbk__method *me, const char *where) {
    const lbk_value *ins = lbk_dict_get(v, "inputs"), *outs = lbk_dict_get(v, "outputs"), *consts = lbk_dict_get(v, "consts"),
                    *nodes = lbk_dict_get(v, "nodes");
    int64_t n_in = lbk_list_len(ins), n_out = lbk_list_len(outs), n_c = lbk_list_len(consts), n_n = lbk_list_len(nodes), i, u;
    size_t cap_ins = 0;
    const int n_words = LBK__V1_ATTR_WORDS;
    memset(me, 0, sizeof *me);
#define LBK__BAD(what) do { lbk__method_free(ctx, me); return lbk__ctx_fail(ctx, LBK_ERR_FORMAT, where, -1, "method '%s': %s", name, what); } while (0)
    if (n_in < 0 || n_out < 1 || n_c < 0 || n_n < 0 || n_in > 4096 || n_out > 4096 || n_n > ((int64_t)1 << 30)) LBK__BAD("not a serialised method");
    if (!(me->name = lbk__strdup(name)) || !(me->in = (lbk__tsig *)lbk__calloc((size_t)n_in + 1, sizeof *me->in)) ||
        !(me->out = (lbk__tsig *)lbk__calloc((size_t)n_out, sizeof *me->out)) || !(me->outs = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)n_out)) ||
        !(me->consts = (uint32_t *)lbk__malloc(sizeof(uint32_t) * (size_t)(n_c + 1))) ||
        !(me->nodes = (lbk__mnode *)lbk__calloc((size_t)n_n + 1, sizeof *me->nodes))) {
        lbk__method_free(ctx, me);
        return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    }
    me->n_in = (int)n_in; me->n_out = (int)n_out;
    for (i = 0; i < n_in; i++) if (!lbk__vsig(lbk_list_get(ins, i), &me->in[i], &u)) LBK__BAD("bad input signature");
    for (i = 0; i < n_out; i++) if (!lbk__vsig(lbk_list_get(outs, i), &me->out[i], &u)) LBK__BAD("bad output signature");
    for (i = 0; i < n_c; i++) {   /* constants: uploaded now, held by the recipe */
        const lbk_value *c = lbk_list_get(consts, i);
        lbk__tsig s;
        const lbk_value *data;
        size_t bytes;
        lbk_tensor t;
        uint32_t id;
        if (!lbk__vsig(c, &s, &u) || lbk_list_len(c) != u + 1) LBK__BAD("bad constant");
        data = lbk_list_get(c, u);
        bytes = (size_t)lbk_shape_numel(s.n_dims, s.dims) * lbk_dtype_size(s.dt);
        if (lbk_value_kind_of(data) == LBK_VALUE_BYTES) {   /* format 2: zero-copy where the backend can wrap the file's memory */
            if (data->u.bytes.n != bytes) LBK__BAD("constant data of the wrong size");
            t = lbk__const_tensor(ctx, s.dt, s.n_dims, s.dims, data, where);
        } else {   /* format 1: base64 */
            const char *b64 = lbk_value_as_str(data);
            unsigned char *buf;
            if (!b64 || strlen(b64) != (bytes + 2) / 3 * 4) LBK__BAD("constant data of the wrong size");
            if (!(buf = (unsigned char *)lbk__malloc(bytes + 1))) { lbk__method_free(ctx, me); return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); }
            if (!lbk__b64_decode(b64, buf, bytes)) { lbk__free(buf); LBK__BAD("constant data is not base64"); }
            t = (lbk_from_host)(ctx, s.dt, s.n_dims, s.dims, buf);
            lbk__free(buf);
        }
        {
            const char *why;
            if (!t.id || lbk__resolve(ctx, t, &id, &why) != LBK_OK) { lbk__method_free(ctx, me); return ctx->recent; }
        }
        ctx->nodes[id].refs++;
        lbk_release(ctx, t);
        me->consts[me->n_consts++] = id;
    }
    for (i = 0; i < n_n; i++) {
        const lbk_value *l = lbk_list_get(nodes, i);
        lbk__mnode *x = &me->nodes[i];
        int64_t hv[7], k, at, nin;
        bool v1 = lbk_value_kind_of(lbk_list_get(l, 1)) == LBK_VALUE_INT;   /* a format-1 blob */
        for (k = 0; k < 7; k++) if (k != 1 && k != 2 && !lbk__vint(l, k, INT64_MIN, INT64_MAX, &hv[k])) LBK__BAD("bad node");
        hv[1] = lbk__v_op(lbk_list_get(l, 1));
        hv[2] = lbk__v_dtype(lbk_list_get(l, 2));
        if (hv[0] < LBK__MN_INPUT || hv[0] > LBK__MN_CALL_OUT || hv[0] == LBK__MN_CALL || hv[0] == LBK__MN_CALL_OUT) LBK__BAD("bad node kind");
        if (hv[1] <= 0 || hv[2] == LBK_DTYPE_INVALID) LBK__BAD("unknown op or dtype (a file from a newer lazybk?)");
        if (hv[3] < 0 || hv[3] > LAZYBK_MAX_DIMS || hv[4] < 0 || hv[4] > 255) LBK__BAD("bad node header");
        x->kind = (uint8_t)hv[0]; x->op = (uint16_t)hv[1]; x->dtype = (uint8_t)hv[2]; x->n_dims = (uint8_t)hv[3]; x->flags = (uint8_t)hv[4];
        x->debug = hv[6] >= -1 && hv[6] < ((int64_t)1 << 40) ? hv[6] : -1;
        if (x->kind == LBK__MN_INPUT && (hv[5] < 0 || hv[5] >= n_in)) LBK__BAD("input index out of range");
        if (x->kind == LBK__MN_CONST && (hv[5] < 0 || hv[5] >= n_c)) LBK__BAD("constant index out of range");
        x->index = (int32_t)hv[5];
        for (k = 0; k < x->n_dims; k++) if (!lbk__vint(l, 7 + k, 0, INT64_MAX, &x->dims[k])) LBK__BAD("bad node dims");
        if (!lbk__dims_valid(x->n_dims, x->dims, (lbk_dtype)x->dtype)) LBK__BAD("node dims overflow");
        at = 7 + x->n_dims;
        if (!lbk__vint(l, at, 0, 1 << 20, &nin) || ((x->kind != LBK__MN_OP) && nin != 0)) LBK__BAD("bad input count");
        x->n_in = (uint32_t)nin;
        x->first_in = me->n_ins;
        if (!LBK__GROW(me->ins, cap_ins, (size_t)me->n_ins + (size_t)nin + 1)) { lbk__method_free(ctx, me); return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); }
        for (k = 0; k < nin; k++) {
            int64_t y;
            if (!lbk__vint(l, at + 1 + k, 0, i - 1, &y)) LBK__BAD("node input out of order");   /* earlier entries only */
            me->ins[me->n_ins++] = (uint32_t)y;
        }
        at += 1 + nin;
        if (v1) {   /* the attribute union's words */
            if (lbk_list_len(l) != at + n_words) LBK__BAD("bad node attributes");
            for (k = 0; k < n_words; k++) {
                const lbk_value *w = lbk_list_get(l, at + k);
                if (lbk_value_kind_of(w) != LBK_VALUE_INT) LBK__BAD("bad node attributes");
                x->attrs.words[k] = (uint64_t)lbk_value_as_int(w);
            }
        } else if (lbk_list_len(l) != at + 1 || !lbk__attrs_parse(lbk_list_get(l, at), x, x->kind == LBK__MN_SCALAR)) {
            LBK__BAD("bad node attributes (the op's fields by name)");
        }
        if (x->kind == LBK__MN_INPUT && (x->dtype != me->in[x->index].dt || !lbk__same_dims(x->n_dims, x->dims, me->in[x->index].n_dims, me->in[x->index].dims)))
            LBK__BAD("input node does not match its signature");
        if (x->kind == LBK__MN_OP) {
            char why[480], msg[640];
            if (!lbk__mnode_valid(me, x, why, sizeof why)) {
                snprintf(msg, sizeof msg, "node %lld's shape, dtype or attributes do not follow from its inputs (%s)", (long long)i, why);
                LBK__BAD(msg);
            }
        }
        if (x->kind == LBK__MN_SCALAR && (x->n_dims != 0 || !(x->flags & LBK__NF_SCALAR))) LBK__BAD("bad scalar node");
        if (x->kind == LBK__MN_CONST) {
            const lbk__node *cn = &ctx->nodes[me->consts[x->index]];
            if (cn->dtype != x->dtype || cn->n_dims != x->n_dims || memcmp(cn->dims, x->dims, sizeof(int64_t) * x->n_dims) != 0) LBK__BAD("constant node does not match its data");
        }
        me->n_nodes++;
    }
    for (i = 0; i < n_out; i++) {
        const lbk__mnode *x;
        int64_t y;
        const lbk_value *ov = lbk_dict_get(v, "outs");
        if (!ov || !lbk__vint(ov, i, 0, n_n - 1, &y)) LBK__BAD("bad output entry");
        x = &me->nodes[y];
        if (x->dtype != me->out[i].dt || x->n_dims != me->out[i].n_dims || memcmp(x->dims, me->out[i].dims, sizeof(int64_t) * x->n_dims) != 0)
            LBK__BAD("output entry does not match its signature");
        me->outs[i] = (uint32_t)y;
    }
#undef LBK__BAD
    return LBK_OK;
}

static void lbk__delegate_free(lbk_module *m) {
    lbk__lowered *lw;
    if (!m->backend) return;
    if (m->handles) {
        void *self;
        const lbk_backend_i *b = lbk_backend_get(m->backend, &self);
        if (b && b->delegate_free && b->delegate_compile) b->delegate_free(self, m->handles);
    }
    lw = (lbk__lowered *)m->lowered;
    if (lw) {
        int i;
        for (i = 0; i < m->n_methods; i++) lbk__method_free(lw->rctx, &m->methods[i]);
        m->n_methods = 0;
        if (lw->own_ctx) lbk_ctx_destroy(lw->rctx);
        lbk__free(lw);
        m->lowered = NULL;
    }
    lbk_value_free(m->spec); lbk_value_free(m->processed); lbk_value_free(m->handles); lbk_value_free(m->sigs); lbk_value_free(m->tree);
    m->spec = m->processed = m->handles = m->sigs = m->tree = NULL;
}

/* Runs method mi of a lowered module. */
static lbk_result lbk__delegate_run(lbk_ctx *ctx, lbk_module *m, int mi, bool flatten, const char *prefix, const uint32_t *in, uint32_t *out, const char *where) {
    lbk__method *me = &m->methods[mi];
    void *self;
    const lbk_backend_i *b = lbk_backend_get(m->backend, &self);
    lbk__lowered *lw = (lbk__lowered *)m->lowered;
    lbk_result r = LBK_OK;
    int k;
    lbk__opctx oc;
    oc.ctx = ctx; oc.name = where; oc.file = NULL; oc.line = 0; oc.op = 0;
    if (flatten && (m->unavailable || !b || b->delegate_compile || lw->rctx != ctx))
        return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, where, -1,
                             "the child %s is lowered to '%s' and cannot be inlined into its parent's blob; lower or save the parent "
                             "before lowering the child, or save the child on its own", m->type, m->backend);
    if (m->unavailable || !b || !lbk__be_available(b, self))
        return lbk__ctx_fail(ctx, LBK_ERR_UNAVAILABLE, where, -1, "backend '%s' is not available (module %s, method '%s')", m->backend, m->type, me->name);
    if (b->delegate_compile && b->delegate_execute) {   /* the backend's own: inputs and outputs as values */
        lbk_value *ins = lbk_value_list(), *res = NULL, *h = lbk_dict_get(m->handles, me->name);
        bool ok = ins != NULL;
        for (k = 0; ok && k < me->n_in; k++) {
            lbk_tensor t = lbk__wrap(ctx, in[k], &oc);
            ok = t.id && lbk_list_push(ins, lbk_value_tensor(t)) == LBK_OK;
        }
        if (!ok) { lbk_value_free(ins); return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); }
        lbk__clear_backend_error();
        r = b->delegate_execute(self, ctx, h, ins, &res);
        if (r != LBK_OK) {
            int64_t dh = lbk__tls_be_handle;
            lbk_value_free(ins); lbk_value_free(res);
            if (dh >= 0 && prefix) dh = lbk__debug_rebase(dh, prefix);
            return lbk__ctx_fail(ctx, r, where, dh, "backend '%s' execute of %s.%s failed: %s", m->backend, m->type, me->name,
                                 lbk__tls_be_msg[0] ? lbk__tls_be_msg : lbk_result_str(r));
        }
        if (lbk_list_len(res) != me->n_out) {
            r = lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, -1, "backend '%s' execute of %s.%s returned %lld outputs; the method declares %d",
                              m->backend, m->type, me->name, (long long)lbk_list_len(res), me->n_out);
        }
        for (k = 0; r == LBK_OK && k < me->n_out; k++) {
            const char *why;
            lbk_value *o = lbk_list_get(res, k);
            if (lbk_value_kind_of(o) != LBK_VALUE_TENSOR || lbk__resolve(ctx, lbk_value_as_tensor(o), &out[k], &why) != LBK_OK) {
                r = lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, -1, "backend '%s' execute of %s.%s: output %d is not a tensor of this context",
                                  m->backend, m->type, me->name, k);
                break;
            }
            if (ctx->nodes[out[k]].dtype != me->out[k].dt) {
                r = lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, -1, "backend '%s' execute of %s.%s: output %d is %s; the method declares %s",
                                  m->backend, m->type, me->name, k, lbk_dtype_name((lbk_dtype)ctx->nodes[out[k]].dtype), lbk_dtype_name(me->out[k].dt));
                break;
            }
        }
        if (r == LBK_OK) for (k = 0; k < me->n_out; k++) ctx->nodes[out[k]].refs++;   /* the caller's reference */
        for (k = 0; k < (int)lbk_list_len(ins); k++) lbk_release(ctx, lbk_value_as_tensor(lbk_list_get(ins, k)));
        lbk_value_free(ins);
        lbk_value_free(res);
        return r;
    }
    if (lw->rctx == ctx) return lbk__replay(ctx, m, mi, flatten, prefix, in, out, where);
    {   /* another backend: through the host into the module's own context and back */
        lbk_ctx *rc = lw->rctx;
        uint32_t *rin = (uint32_t *)lbk__calloc((size_t)me->n_in + 1, sizeof(uint32_t)), *rout = (uint32_t *)lbk__calloc((size_t)me->n_out + 1, sizeof(uint32_t));
        lbk_tensor *tout = (lbk_tensor *)lbk__calloc((size_t)me->n_out + 1, sizeof(lbk_tensor));
        lbk_scope s = lbk_scope_begin(rc);
        void *buf = NULL;
        int made = 0;   /* outputs [0, made) hold the caller's reference */
        if (!rin || !rout || !tout) r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
        for (k = 0; r == LBK_OK && k < me->n_in; k++) {
            const lbk__node *n = &ctx->nodes[in[k]];
            size_t bytes = (size_t)lbk__numel(n->n_dims, n->dims) * lbk_dtype_size((lbk_dtype)n->dtype);
            lbk_tensor t = lbk__wrap(ctx, in[k], &oc), rt;
            const char *why;
            void *nb = lbk__realloc_or_null(buf, bytes + 1);
            if (!t.id || !nb) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); break; }
            buf = nb;
            r = lbk_read(ctx, t, buf, bytes);
            lbk_release(ctx, t);
            if (r != LBK_OK) break;
            rt = (lbk_from_host)(rc, (lbk_dtype)n->dtype, n->n_dims, n->dims, buf);
            if (!rt.id || lbk__resolve(rc, rt, &rin[k], &why) != LBK_OK) { r = lbk__ctx_fail(ctx, rc->recent, where, -1, "%s", lbk_ctx_error(rc)); break; }
        }
        if (r == LBK_OK && (r = lbk__replay(rc, m, mi, false, prefix, rin, rout, where)) != LBK_OK)
            r = lbk__ctx_fail(ctx, r, where, -1, "on backend '%s': %s", m->backend, lbk_ctx_error(rc));
        for (k = 0; r == LBK_OK && k < me->n_out; k++) { tout[k] = lbk__wrap(rc, rout[k], &oc); lbk__unref(rc, rout[k]); }
        if (r == LBK_OK && lbk_sync(rc, tout, me->n_out) != LBK_OK)
            r = lbk__ctx_fail(ctx, rc->recent, where, -1, "on backend '%s': %s", m->backend, lbk_ctx_error(rc));
        for (k = 0; r == LBK_OK && k < me->n_out; k++) {
            size_t bytes = (size_t)lbk__numel(me->out[k].n_dims, me->out[k].dims) * lbk_dtype_size(me->out[k].dt);
            void *nb = lbk__realloc_or_null(buf, bytes + 1);
            lbk_tensor t;
            const char *why;
            if (!nb) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory"); break; }
            buf = nb;
            if (lbk_read(rc, tout[k], buf, bytes) != LBK_OK) { r = lbk__ctx_fail(ctx, rc->recent, where, -1, "on backend '%s': %s", m->backend, lbk_ctx_error(rc)); break; }
            t = (lbk_from_host)(ctx, me->out[k].dt, me->out[k].n_dims, me->out[k].dims, buf);
            if (!t.id || lbk__resolve(ctx, t, &out[k], &why) != LBK_OK) { r = ctx->recent; break; }
            ctx->nodes[out[k]].refs++;
            lbk_release(ctx, t);
            made++;
        }
        if (r != LBK_OK)
            for (k = 0; k < made; k++) lbk__unref(ctx, out[k]);
        lbk_scope_end(rc, s, NULL, 0);
        lbk_ctx_clear_error(rc);
        lbk__free(buf); lbk__free(rin); lbk__free(rout); lbk__free(tout);
        return r;
    }
}

static lbk_module *lbk__lower_fail(lbk_ctx *ctx, lbk_module *low, lbk_result r, const char *fmt, const char *a, const char *b) {
    if (low) lbk_module_destroy(low);
    lbk__ctx_fail(ctx, r, "lbk_to_backend", -1, fmt, a, b);
    return NULL;
}

/* {method: {"inputs": [sig...], "outputs": [sig...]}} for the methods in spec. */
static lbk_value *lbk__sigs_value(const lbk_module *m, const lbk_value *spec) {
    lbk_value *d = lbk_value_dict();
    int64_t i, n = lbk_dict_len(spec);
    bool ok = d != NULL;
    for (i = 0; ok && i < n; i++) {
        const lbk__method *me = &m->methods[lbk__method_find(m, lbk_dict_key(spec, i))];
        lbk_value *md = lbk_value_dict(), *ins = lbk_value_list(), *outs = lbk_value_list();
        int k;
        ok = md && ins && outs;
        for (k = 0; ok && k < me->n_in; k++) ok = lbk_list_push(ins, lbk__sig_value(&me->in[k])) == LBK_OK;
        for (k = 0; ok && k < me->n_out; k++) ok = lbk_list_push(outs, lbk__sig_value(&me->out[k])) == LBK_OK;
        if (ok) { ok = lbk_dict_set(md, "inputs", ins) == LBK_OK; ins = NULL; }
        if (ok) { ok = lbk_dict_set(md, "outputs", outs) == LBK_OK; outs = NULL; }
        lbk_value_free(ins); lbk_value_free(outs);
        if (ok) ok = lbk_dict_set(d, me->name, md) == LBK_OK;
        else lbk_value_free(md);
    }
    if (!ok) { lbk_value_free(d); return NULL; }
    return d;
}
/* The lowered module's methods as signatures only (a backend's own delegation, or an
   unavailable backend): what the run-time checks compare against. */
static lbk_result lbk__lowered_sigs(lbk_module *low, const char *where) {
    int64_t i, n = lbk_dict_len(low->spec), j, u;
    if (!(low->methods = (lbk__method *)lbk__calloc((size_t)n + 1, sizeof *low->methods)))
        return lbk__ctx_fail(low->ctx, LBK_ERR_OOM, where, -1, "out of memory");
    low->cap_methods = (size_t)n + 1;
    for (i = 0; i < n; i++) {
        const char *name = lbk_dict_key(low->spec, i);
        const lbk_value *md = lbk_dict_get(low->sigs, name), *ins = lbk_dict_get(md, "inputs"), *outs = lbk_dict_get(md, "outputs");
        int64_t n_in = lbk_list_len(ins), n_out = lbk_list_len(outs);
        lbk__method *dst = &low->methods[i];
        low->n_methods++;
        if (n_in < 0 || n_in > 4096 || n_out < 1 || n_out > 4096)
            return lbk__ctx_fail(low->ctx, LBK_ERR_FORMAT, where, -1, "no signature for method '%s'", name);
        if (!(dst->name = lbk__strdup(name)) || !(dst->in = (lbk__tsig *)lbk__calloc((size_t)n_in + 1, sizeof(lbk__tsig))) ||
            !(dst->out = (lbk__tsig *)lbk__calloc((size_t)n_out + 1, sizeof(lbk__tsig))))
            return lbk__ctx_fail(low->ctx, LBK_ERR_OOM, where, -1, "out of memory");
        dst->n_in = (int)n_in; dst->n_out = (int)n_out;
        for (j = 0; j < n_in; j++)
            if (!lbk__vsig(lbk_list_get(ins, j), &dst->in[j], &u)) return lbk__ctx_fail(low->ctx, LBK_ERR_FORMAT, where, -1, "bad signature of method '%s'", name);
        for (j = 0; j < n_out; j++)
            if (!lbk__vsig(lbk_list_get(outs, j), &dst->out[j], &u)) return lbk__ctx_fail(low->ctx, LBK_ERR_FORMAT, where, -1, "bad signature of method '%s'", name);
    }
    return LBK_OK;
}

/* Compiles method mi of a lowered module ahead of time: its graph over input parameters
   (what a run with device data gives) goes through the backend's compile into the
   context's cache. */
static lbk_result lbk__precompile(lbk_ctx *ctx, lbk_module *low, int mi, const char *where) {
    lbk__method *me = &low->methods[mi];
    lbk_scope s = lbk_scope_begin(ctx);
    uint32_t *in = (uint32_t *)lbk__calloc((size_t)me->n_in + 1, sizeof(uint32_t)), *out = (uint32_t *)lbk__calloc((size_t)me->n_out + 1, sizeof(uint32_t));
    lbk_tensor *ts = (lbk_tensor *)lbk__calloc((size_t)me->n_out + 1, sizeof(lbk_tensor));
    lbk_result r = in && out && ts ? LBK_OK : lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    lbk__plan *plan;
    int k, made = 0;
    lbk__opctx oc;
    oc.ctx = ctx; oc.name = where; oc.file = NULL; oc.line = 0; oc.op = 0;
    for (k = 0; r == LBK_OK && k < me->n_in; k++, made++)
        if ((in[k] = lbk__shape_param(ctx, &me->in[k], where)) == LBK__NONE) r = lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    if (r == LBK_OK && (r = lbk__replay(ctx, low, mi, false, lbk__module_root(low), in, out, where)) == LBK_OK) {
        for (k = 0; k < me->n_out; k++) { ts[k] = lbk__wrap(ctx, out[k], &oc); lbk__unref(ctx, out[k]); }
        for (k = 0; k < me->n_out; k++) if (!ts[k].id) r = LBK_ERR_OOM;
        if (r == LBK_OK) r = lbk__plan_of(ctx, ts, me->n_out, where, &plan);
    }
    lbk_scope_end(ctx, s, NULL, 0);
    for (k = 0; k < made; k++) if (in[k] != LBK__NONE) lbk__unref(ctx, in[k]);
    lbk__free(in); lbk__free(out); lbk__free(ts);
    return r;
}

/* The compile step of lowering (lbk_to_backend, and again at lbk_module_load): low holds
   backend, spec, sigs and processed. Unavailable: a warning, or (load) the error. */
static lbk_result lbk__lower_compile(lbk_module *low, bool fail_unavailable, const char *where) {
    lbk_ctx *ctx = low->ctx;
    void *self;
    const lbk_backend_i *b = lbk_backend_get(low->backend, &self);
    lbk__lowered *lw;
    lbk_result r;
    int64_t i, n = lbk_dict_len(low->spec);
    if (!b) return lbk__ctx_fail(ctx, LBK_ERR_NOT_FOUND, where, -1, "no backend named '%s'", low->backend);
    if (!(low->lowered = lw = (lbk__lowered *)lbk__calloc(1, sizeof(lbk__lowered)))) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    lw->rctx = ctx;
    if (!lbk__be_available(b, self)) {   /* as PyTorch: lowering succeeds, running fails */
        char msg[400];
        if (fail_unavailable) return lbk__ctx_fail(ctx, LBK_ERR_UNAVAILABLE, where, -1, "backend '%s' is not available", low->backend);
        snprintf(msg, sizeof msg, "%s: backend '%s' is not available; running %s will fail", where, low->backend, low->type);
        if (ctx->logger) ctx->logger(ctx->logger_user, LBK_LOG_WARN, msg);
        low->unavailable = true;
        return lbk__lowered_sigs(low, where);
    }
    if (b->delegate_compile) {   /* the backend's own compiler */
        lbk_value *handles = NULL;
        lbk__clear_backend_error();
        r = b->delegate_compile(self, low->processed, low->spec, &handles);
        if (r != LBK_OK || lbk_dict_len(handles) < 0) {
            lbk_value_free(handles);
            return lbk__ctx_fail(ctx, r != LBK_OK ? r : LBK_ERR_BACKEND, where, lbk__tls_be_handle, "backend '%s' compile failed: %s", low->backend,
                                 lbk__tls_be_msg[0] ? lbk__tls_be_msg : "it returned no dict of handles");
        }
        low->handles = handles;
        for (i = 0; i < n; i++)
            if (!lbk_dict_has(handles, lbk_dict_key(low->spec, i)))
                return lbk__ctx_fail(ctx, LBK_ERR_BACKEND, where, -1, "backend '%s' compile returned no handle for method '%s'", low->backend,
                                     lbk_dict_key(low->spec, i));
        return lbk__lowered_sigs(low, where);
    }
    /* the default: recipes with their constants on a context of that backend */
    if (strcmp(lbk_ctx_backend(ctx), low->backend) != 0) {
        lbk_ctx_desc d;
        memset(&d, 0, sizeof d);
        d.backend = low->backend;
        d.n_threads = ctx->n_threads;
        if (!(lw->rctx = lbk_ctx_create(&d))) {
            lw->rctx = ctx;
            return lbk__ctx_fail(ctx, lbk_last_result(), where, -1, "cannot open a context on '%s': %s", low->backend, lbk_last_error());
        }
        lw->own_ctx = true;
    }
    if (!(low->methods = (lbk__method *)lbk__calloc((size_t)n + 1, sizeof *low->methods))) return lbk__ctx_fail(ctx, LBK_ERR_OOM, where, -1, "out of memory");
    low->cap_methods = (size_t)n + 1;
    for (i = 0; i < n; i++) {
        const char *name = lbk_dict_key(low->spec, i);
        const lbk_value *mv = lbk_dict_get(low->processed, name);
        if (lbk_value_kind_of(mv) != LBK_VALUE_DICT) return lbk__ctx_fail(ctx, LBK_ERR_FORMAT, where, -1, "the preprocessed blob has no method '%s'", name);
        r = lbk__method_parse(lw->rctx, name, mv, &low->methods[i], where);
        if (r == LBK_OK) { low->n_methods++; r = lbk__precompile(lw->rctx, low, (int)i, where); }
        if (r != LBK_OK) return lw->rctx != ctx ? lbk__ctx_fail(ctx, r, where, -1, "%s", lbk_ctx_error(lw->rctx)) : r;
    }
    return LBK_OK;
}

static lbk_module *lbk__g_to_backend(lbk_module *m, const char *backend, const lbk_value *spec) {
    lbk_ctx *ctx;
    lbk_module *low;
    lbk_preprocess_fn pp;
    lbk_value *processed = NULL;
    lbk_result r;
    int64_t i, n;
    const char *W = "lbk_to_backend";
    if (!m) { lbk__set_last(LBK_ERR_ARG, "lbk_to_backend: NULL module"); return NULL; }
    ctx = m->ctx;
    if (!backend) return lbk__lower_fail(ctx, NULL, LBK_ERR_ARG, "NULL backend name%s%s", "", "");
    if (ctx->trace) return lbk__lower_fail(ctx, NULL, LBK_ERR_BUSY, "a method is being traced (%s%s)", ctx->trace->method, "");
    if (m->backend) return lbk__lower_fail(ctx, NULL, LBK_ERR_ARG, "%s is already lowered (to '%s')", m->type, m->backend);
    if ((n = lbk_dict_len(spec)) < 1) return lbk__lower_fail(ctx, NULL, LBK_ERR_ARG, "the method compile spec must be a non-empty dict of method name -> dict%s%s", "", "");
    for (i = 0; i < n; i++) {
        const char *name = lbk_dict_key(spec, i);
        if (lbk__method_find(m, name) < 0) return lbk__lower_fail(ctx, NULL, LBK_ERR_NOT_FOUND, "%s has no method '%s' (named in the method compile spec)", m->type, name);
        if (lbk_value_kind_of(lbk_dict_get(spec, name)) != LBK_VALUE_DICT)
            return lbk__lower_fail(ctx, NULL, LBK_ERR_ARG, "the compile spec of method '%s' must be a dict%s", name, "");
    }
    if (!lbk_backend_has(backend)) return lbk__lower_fail(ctx, NULL, LBK_ERR_NOT_FOUND, "no backend named '%s'%s", backend, "");
    /* preprocess, ahead of time: the backend's own, or the default */
    pp = lbk_preprocess_get(backend);
    lbk__clear_backend_error();
    r = pp ? pp(m, spec, &processed) : lbk_preprocess_default(m, spec, &processed);
    if (r != LBK_OK || !processed) {
        lbk_value_free(processed);
        if (!pp && ctx->err != LBK_OK) return NULL;   /* the default preprocess said why */
        lbk__ctx_fail(ctx, r != LBK_OK ? r : LBK_ERR_BACKEND, W, lbk__tls_be_handle, "preprocess for backend '%s' failed: %s", backend,
                      lbk__tls_be_msg[0] ? lbk__tls_be_msg : lbk_result_str(r != LBK_OK ? r : LBK_ERR_BACKEND));
        return NULL;
    }
    low = lbk_module_create(ctx, m->type);
    if (!low || !(low->backend = lbk__strdup(backend)) || !(low->spec = lbk_value_copy(spec)) || !(low->sigs = lbk__sigs_value(m, spec)) ||
        !(low->tree = lbk__tree_value(m, 0))) {
        lbk_value_free(processed);
        return lbk__lower_fail(ctx, low, LBK_ERR_OOM, "out of memory%s%s", "", "");
    }
    low->processed = processed;
    if (lbk__lower_compile(low, false, W) != LBK_OK) { lbk_module_destroy(low); return NULL; }
    return low;
}
LAZYBK_API lbk_module *lbk_to_backend(lbk_module *m, const char *backend, const lbk_value *spec) {
    LBK__GUARD(lbk_module *, (m ? m->ctx : NULL), "to_backend", NULL, lbk__g_to_backend(m, backend, spec));
}

/* Puts child in parent as attr in place of the one there (destroyed), e.g. a lowered copy of it. */
static lbk_result lbk__g_module_replace_child(lbk_module *parent, const char *attr, lbk_module *child) {
    lbk_module *old;
    int i;
    lbk_result r;
    if (!parent || !attr || !child) return lbk__set_last(LBK_ERR_ARG, "lbk_module_replace_child: NULL argument");
    if (!(old = lbk__child(parent, attr)))
        return lbk__ctx_fail(parent->ctx, LBK_ERR_NOT_FOUND, "lbk_module_replace_child", -1, "%s has no child '%s'", parent->type, attr);
    if (old == child) return LBK_OK;
    for (i = 0; i < parent->n_children; i++) if (parent->children[i] == old) break;
    parent->children[i] = parent->children[--parent->n_children];
    old->parent = NULL;
    lbk__child_map_del(parent, old->attr);
    if ((r = lbk_module_add_child(parent, attr, child)) != LBK_OK) {   /* put the old one back */
        parent->children[parent->n_children++] = old;
        old->parent = parent;
        if (!lbk__child_map_put(parent, old)) r = lbk__ctx_fail(parent->ctx, LBK_ERR_OOM, "lbk_module_replace_child", -1, "out of memory");
        return r;
    }
    lbk_module_destroy(old);
    return LBK_OK;
}
LAZYBK_API lbk_result lbk_module_replace_child(lbk_module *parent, const char *attr, lbk_module *child) {
    LBK__GUARD(lbk_result, (parent ? parent->ctx : NULL), "module_replace_child", LBK_ERR_BUSY, lbk__g_module_replace_child(parent, attr, child));
}

/* ---- save and load ----
   Format 2 (written), little-endian:
     0  "LBKMODL\n"   8 u32 version (2)   12 u32 0
    16 u64 meta size M   24 u64 FNV-1a of the meta   32 u64 data offset D (a multiple of 64)
    40 u64 data size S   48 u64 checksum of the data (lbk__data_sum)
    56 u64 the checksum's kind: 1 (0 in files of 0.12.0, read still)
    64 the meta: one value, {"type", "backend", "spec", "sigs", "processed", "tree", "debug"},
       as tag byte + fields (none 0, bool 1, int 2, double 3, string 4 (u64 length, bytes),
       list 6 (u64 count, items), dict 7 (u64 count, key string, item), bytes 8 (u64 offset
       into the data, u64 length))
     D the data: every bytes value's bytes, in the order the meta names them, each at the
       next multiple of 64 (zeros between); the file ends with the last.
   So constants are raw and aligned: a loaded file is mapped, and the cpu backend computes
   on the mapped pages without a copy. Format 1 (read): "LBKMODL\n", u32 1, u32 0, u64
   payload size, u64 FNV-1a of it, the payload (the meta's encoding without bytes; blobs
   of numbered ops, raw attribute words, base64 constants). Tensors cannot be saved. Loading
   checks every length and offset against what is there and the layout against the one
   the writer makes. */
#define LBK__MOD_MAGIC "LBKMODL\n"
#define LBK__MOD_VERSION 2u
#define LBK__MOD_DEPTH 64
#define LBK__ALIGN64(x) (((x) + 63u) & ~(uint64_t)63u)
static uint64_t lbk__le64(const unsigned char *p) {
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static void lbk__put_le64(unsigned char *p, uint64_t v) { int i; for (i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
/* A little-endian word at any address: one load where the compiler says the host is
   little-endian, the byte loop otherwise. */
static uint64_t lbk__le64_fast(const unsigned char *p) {
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    return lbk__le64(p);
#endif
}
/* The data checksum: per bytes value (in order) its offset, length and a multiply-xor
   over its 8-byte words (the tail zero-padded), folded. Kind 0 (files of 0.12.0) is one
   serial chain, bound by the multiply's latency (about 2 GB/s: it was 98 % of a 214 MB
   load); kind 1 (written since) runs eight chains over the words of each 64-byte block
   and folds them, so that it goes at the speed of memory. The header says which. */
#define LBK__SUM_P 0x100000001b3ULL
static uint64_t lbk__data_sum(unsigned kind, uint64_t h, uint64_t off, const unsigned char *p, size_t n) {
    size_t i = 0;
    uint64_t w = 0x9e3779b97f4a7c15ULL ^ off ^ ((uint64_t)n << 1);
    if (kind == 1) {
        uint64_t l0 = w, l1 = w + 1, l2 = w + 2, l3 = w + 3, l4 = w + 4, l5 = w + 5, l6 = w + 6, l7 = w + 7;
        for (; i + 64 <= n; i += 64) {   /* eight chains in registers */
            l0 = (l0 ^ lbk__le64_fast(p + i)) * LBK__SUM_P;      l1 = (l1 ^ lbk__le64_fast(p + i + 8)) * LBK__SUM_P;
            l2 = (l2 ^ lbk__le64_fast(p + i + 16)) * LBK__SUM_P; l3 = (l3 ^ lbk__le64_fast(p + i + 24)) * LBK__SUM_P;
            l4 = (l4 ^ lbk__le64_fast(p + i + 32)) * LBK__SUM_P; l5 = (l5 ^ lbk__le64_fast(p + i + 40)) * LBK__SUM_P;
            l6 = (l6 ^ lbk__le64_fast(p + i + 48)) * LBK__SUM_P; l7 = (l7 ^ lbk__le64_fast(p + i + 56)) * LBK__SUM_P;
        }
        w = (((((((w ^ l0) * LBK__SUM_P ^ l1) * LBK__SUM_P ^ l2) * LBK__SUM_P ^ l3) * LBK__SUM_P ^ l4) * LBK__SUM_P ^ l5) * LBK__SUM_P ^ l6) * LBK__SUM_P ^ l7;
        w = (w ^ (w >> 31)) * LBK__SUM_P;
    }
    for (; i + 8 <= n; i += 8) w = (w ^ lbk__le64_fast(p + i)) * LBK__SUM_P;
    if (i < n) { unsigned char t[8] = {0}; memcpy(t, p + i, n - i); w = (w ^ lbk__le64(t)) * LBK__SUM_P; }
    return (h ^ (w ^ (w >> 29))) * 0xbf58476d1ce4e5b9ULL;
}

typedef struct lbk__wchunk { const unsigned char *p; size_t n; uint64_t off; } lbk__wchunk;
typedef struct lbk__wbuf {
    unsigned char *p; size_t len, cap; bool oom;
    lbk__wchunk *chunks; size_t n_chunks, cap_chunks; uint64_t data_len;   /* the data section being laid out */
} lbk__wbuf;
static void lbk__wput(lbk__wbuf *w, const void *src, size_t n) {
    if (w->oom) return;
    if (!LBK__GROW(w->p, w->cap, w->len + n + 1)) { w->oom = true; return; }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}
static void lbk__wput_u64(lbk__wbuf *w, uint64_t v) { unsigned char b[8]; lbk__put_le64(b, v); lbk__wput(w, b, 8); }
static void lbk__wput_str(lbk__wbuf *w, const char *s) { size_t n = strlen(s); lbk__wput_u64(w, n); lbk__wput(w, s, n); }
static lbk_result lbk__wvalue(lbk__wbuf *w, const lbk_value *v, int depth) {
    unsigned char tag;
    int64_t i, n;
    lbk_result r;
    if (depth > LBK__MOD_DEPTH) return LBK_ERR_UNSUPPORTED;
    switch (lbk_value_kind_of(v)) {
    case LBK_VALUE_NONE: tag = 0; lbk__wput(w, &tag, 1); break;
    case LBK_VALUE_BOOL: { unsigned char b[2]; b[0] = 1; b[1] = lbk_value_as_bool(v); lbk__wput(w, b, 2); break; }
    case LBK_VALUE_INT: tag = 2; lbk__wput(w, &tag, 1); lbk__wput_u64(w, (uint64_t)lbk_value_as_int(v)); break;
    case LBK_VALUE_DOUBLE: {
        double d = lbk_value_as_double(v);
        uint64_t u;
        memcpy(&u, &d, 8);
        tag = 3; lbk__wput(w, &tag, 1); lbk__wput_u64(w, u);
        break;
    }
    case LBK_VALUE_STR: tag = 4; lbk__wput(w, &tag, 1); lbk__wput_str(w, lbk_value_as_str(v)); break;
    case LBK_VALUE_BYTES: {   /* laid out in the data section; written after the meta */
        uint64_t off = LBK__ALIGN64(w->data_len);
        if (!LBK__GROW(w->chunks, w->cap_chunks, w->n_chunks + 1)) return LBK_ERR_OOM;
        w->chunks[w->n_chunks].p = v->u.bytes.p; w->chunks[w->n_chunks].n = v->u.bytes.n; w->chunks[w->n_chunks].off = off;
        w->n_chunks++;
        w->data_len = off + v->u.bytes.n;
        tag = 8; lbk__wput(w, &tag, 1); lbk__wput_u64(w, off); lbk__wput_u64(w, v->u.bytes.n);
        break;
    }
    case LBK_VALUE_LIST:
        tag = 6; lbk__wput(w, &tag, 1);
        n = lbk_list_len(v);
        lbk__wput_u64(w, (uint64_t)n);
        for (i = 0; i < n; i++) if ((r = lbk__wvalue(w, lbk_list_get(v, i), depth + 1)) != LBK_OK) return r;
        break;
    case LBK_VALUE_DICT:
        tag = 7; lbk__wput(w, &tag, 1);
        n = lbk_dict_len(v);
        lbk__wput_u64(w, (uint64_t)n);
        for (i = 0; i < n; i++) {
            const char *k = lbk_dict_key(v, i);
            lbk__wput_str(w, k);
            if ((r = lbk__wvalue(w, lbk_dict_get(v, k), depth + 1)) != LBK_OK) return r;
        }
        break;
    default: return LBK_ERR_UNSUPPORTED;   /* tensors */
    }
    return w->oom ? LBK_ERR_OOM : LBK_OK;
}
typedef struct lbk__rbuf {
    const unsigned char *p; size_t n, at;
    unsigned version;
    const char *why;           /* what was wrong, where more precise than "malformed" */
    lbk__blob *blob; const unsigned char *data; uint64_t data_size, next, sum;   /* format 2's data section */
    unsigned sum_kind;         /* its checksum's kind (lbk__data_sum) */
} lbk__rbuf;
static bool lbk__rget_u64(lbk__rbuf *r, uint64_t *out) {
    if (r->n - r->at < 8) return false;
    *out = lbk__le64(r->p + r->at);
    r->at += 8;
    return true;
}
/* A string of the payload (no NUL inside); NULL if malformed or on OOM (*oom set). */
static char *lbk__rget_str(lbk__rbuf *r, bool *oom) {
    uint64_t n;
    char *s;
    if (!lbk__rget_u64(r, &n) || n > r->n - r->at || memchr(r->p + r->at, 0, (size_t)n)) return NULL;
    if (!(s = (char *)lbk__malloc((size_t)n + 1))) { *oom = true; return NULL; }
    memcpy(s, r->p + r->at, (size_t)n);
    s[n] = 0;
    r->at += (size_t)n;
    return s;
}
static lbk_value *lbk__rvalue(lbk__rbuf *r, int depth, bool *oom) {
    unsigned char tag;
    uint64_t n, i, u;
    lbk_value *v = NULL;
    if (depth > LBK__MOD_DEPTH || r->at >= r->n) return NULL;
    tag = r->p[r->at++];
    switch (tag) {
    case 0: v = lbk_value_none(); break;
    case 1: if (r->at >= r->n || r->p[r->at] > 1) return NULL; v = lbk_value_bool(r->p[r->at++] != 0); break;
    case 2: if (!lbk__rget_u64(r, &u)) return NULL; v = lbk_value_int((int64_t)u); break;
    case 3: { double d; if (!lbk__rget_u64(r, &u)) return NULL; memcpy(&d, &u, 8); v = lbk_value_double(d); break; }
    case 4: { char *s = lbk__rget_str(r, oom); if (!s) return NULL; v = lbk_value_str(s); lbk__free(s); break; }
    case 8:   /* bytes: where the writer puts the next ones, and inside the data */
        if (r->version < 2 || !lbk__rget_u64(r, &u) || !lbk__rget_u64(r, &n)) return NULL;
        if (u != LBK__ALIGN64(r->next) || u > r->data_size || n > r->data_size - u) return NULL;
        for (i = r->next; i < u; i++) if (r->data[i]) return NULL;   /* the padding is zeros: every byte is checked */
        r->next = u + n;
        r->sum = lbk__data_sum(r->sum_kind, r->sum, u, r->data + u, (size_t)n);
        v = lbk__value_bytes_in(r->blob, r->data + u, (size_t)n);
        break;
    case 6:
        if (!lbk__rget_u64(r, &n) || n > r->n - r->at) return NULL;   /* every item takes a byte at least */
        if (!(v = lbk_value_list())) break;
        for (i = 0; i < n; i++) {
            lbk_value *x = lbk__rvalue(r, depth + 1, oom);
            if (!x || lbk_list_push(v, x) != LBK_OK) { if (x) *oom = true; lbk_value_free(v); return NULL; }
        }
        return v;
    case 7:
        if (!lbk__rget_u64(r, &n) || n > r->n - r->at) return NULL;
        if (!(v = lbk_value_dict())) break;
        for (i = 0; i < n; i++) {
            char *k = lbk__rget_str(r, oom);
            lbk_value *x;
            if (k && lbk_dict_has(v, k)) {   /* a second value for a key would silently win */
                r->why = "a dict repeats a key";
                lbk__free(k); lbk_value_free(v);
                return NULL;
            }
            x = k ? lbk__rvalue(r, depth + 1, oom) : NULL;
            if (!x || lbk_dict_set(v, k, x) != LBK_OK) { if (x) *oom = true; lbk__free(k); lbk_value_free(v); return NULL; }
            lbk__free(k);
        }
        return v;
    default: return NULL;
    }
    if (!v) *oom = true;
    return v;
}
/* {"type": T, "children": [[attr, tree]...]} */
static lbk_value *lbk__tree_value(const lbk_module *m, int depth) {
    lbk_value *t = lbk_value_dict(), *ch = lbk_value_list();
    int i;
    bool ok = t && ch && depth < LBK__MOD_DEPTH && lbk_dict_set(t, "type", lbk_value_str(m->type)) == LBK_OK;
    for (i = 0; ok && i < m->n_children; i++) {
        lbk_value *pair = lbk_value_list();
        ok = pair && lbk_list_push(pair, lbk_value_str(m->children[i]->attr)) == LBK_OK &&
             lbk_list_push(pair, m->children[i]->tree ? lbk_value_copy(m->children[i]->tree) : lbk__tree_value(m->children[i], depth + 1)) == LBK_OK;
        if (ok) ok = lbk_list_push(ch, pair) == LBK_OK;
        else lbk_value_free(pair);
    }
    if (ok) { ok = lbk_dict_set(t, "children", ch) == LBK_OK; ch = NULL; }
    lbk_value_free(ch);
    if (!ok) { lbk_value_free(t); return NULL; }
    return t;
}
/* The default format's debug handles: [[handle, op, file or none, line, path or none]...] */
static lbk_value *lbk__debug_value(const lbk_value *processed) {
    lbk_value *out = lbk_value_list();
    int64_t i, j, n = lbk_dict_len(processed);
    bool ok = out != NULL;
    for (i = 0; ok && i < n; i++) {
        const lbk_value *nodes = lbk_dict_get(lbk_dict_get(processed, lbk_dict_key(processed, i)), "nodes");
        for (j = 0; ok && j < lbk_list_len(nodes); j++) {
            int64_t h = lbk_value_as_int(lbk_list_get(lbk_list_get(nodes, j), 6));
            lbk_debug_info di;
            lbk_value *e;
            if (h < 0 || lbk_debug_lookup(h, &di) != LBK_OK) continue;
            e = lbk_value_list();
            ok = e && lbk__vpush_int(e, h) && lbk_list_push(e, lbk_value_str(di.op)) == LBK_OK &&
                 lbk_list_push(e, di.file ? lbk_value_str(di.file) : lbk_value_none()) == LBK_OK && lbk__vpush_int(e, di.line) &&
                 lbk_list_push(e, di.module_path ? lbk_value_str(di.module_path) : lbk_value_none()) == LBK_OK &&
                 lbk_list_push(e, di.call ? lbk_value_str(di.call) : lbk_value_none()) == LBK_OK;
            if (ok) ok = lbk_list_push(out, e) == LBK_OK;
            else lbk_value_free(e);
        }
    }
    if (!ok) { lbk_value_free(out); return NULL; }
    return out;
}

static lbk_result lbk__g_module_save(const lbk_module *cm, const char *path) {
    lbk_module *m = (lbk_module *)(uintptr_t)cm, *low = NULL;
    lbk_ctx *ctx;
    lbk_value *dbg = NULL, *tree = NULL;
    lbk__wbuf w;
    lbk_result r = LBK_OK;
    FILE *f;
    unsigned char head[64], tag = 7;
    static const unsigned char zeros[64] = {0};
    uint64_t data_off, dsum = 0, at;
    size_t k;
    int i;
    const char *W = "lbk_module_save";
    if (!m) return lbk__set_last(LBK_ERR_ARG, "lbk_module_save: NULL module");
    ctx = m->ctx;
    if (!path) return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "NULL path");
    if (!m->backend) {   /* a plain module is saved lowered to its context's backend, every method */
        lbk_value *spec = lbk_value_dict();
        bool ok = spec != NULL;
        for (i = 0; ok && i < m->n_methods; i++) ok = lbk_dict_set(spec, m->methods[i].name, lbk_value_dict()) == LBK_OK;
        if (!ok || m->n_methods == 0) {
            lbk_value_free(spec);
            return lbk__ctx_fail(ctx, ok ? LBK_ERR_ARG : LBK_ERR_OOM, W, -1, ok ? "%s has no methods to save" : "out of memory", m->type);
        }
        low = lbk_to_backend(m, lbk_ctx_backend(ctx), spec);
        lbk_value_free(spec);
        if (!low) return ctx->err != LBK_OK ? ctx->recent : LBK_ERR_BACKEND;
        m = low;
    }
    memset(&w, 0, sizeof w);
    dbg = lbk__debug_value(m->processed);
    tree = m->tree ? NULL : lbk__tree_value(m, 0);
    if (!dbg || (!m->tree && !tree)) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory"); goto done; }
    /* the meta dict, written from the module's own values (the blob is not copied) */
    lbk__wput(&w, &tag, 1);
    lbk__wput_u64(&w, 7);
    lbk__wput_str(&w, "type"); tag = 4; lbk__wput(&w, &tag, 1); lbk__wput_str(&w, m->type);
    lbk__wput_str(&w, "backend"); lbk__wput(&w, &tag, 1); lbk__wput_str(&w, m->backend);
    lbk__wput_str(&w, "spec"); r = lbk__wvalue(&w, m->spec, 1);
    if (r == LBK_OK) { lbk__wput_str(&w, "sigs"); r = lbk__wvalue(&w, m->sigs, 1); }
    if (r == LBK_OK) { lbk__wput_str(&w, "processed"); r = lbk__wvalue(&w, m->processed, 1); }
    if (r == LBK_OK) { lbk__wput_str(&w, "tree"); r = lbk__wvalue(&w, m->tree ? m->tree : tree, 1); }
    if (r == LBK_OK) { lbk__wput_str(&w, "debug"); r = lbk__wvalue(&w, dbg, 1); }
    if (r == LBK_OK && w.oom) r = LBK_ERR_OOM;
    if (r != LBK_OK) {
        r = lbk__ctx_fail(ctx, r, W, -1, r == LBK_ERR_OOM ? "out of memory" : "the preprocessed blob holds a value that cannot be saved (a tensor, or nesting deeper than %d)", LBK__MOD_DEPTH);
        goto done;
    }
    data_off = LBK__ALIGN64(64 + (uint64_t)w.len);
    for (k = 0; k < w.n_chunks; k++) dsum = lbk__data_sum(1, dsum, w.chunks[k].off, w.chunks[k].p, w.chunks[k].n);
    memset(head, 0, sizeof head);
    memcpy(head, LBK__MOD_MAGIC, 8);
    for (i = 0; i < 4; i++) head[8 + i] = (unsigned char)(LBK__MOD_VERSION >> (8 * i));
    lbk__put_le64(head + 16, w.len);
    lbk__put_le64(head + 24, lbk__fnv1a(w.p, w.len));
    lbk__put_le64(head + 32, data_off);
    lbk__put_le64(head + 40, w.data_len);
    lbk__put_le64(head + 48, dsum);
    lbk__put_le64(head + 56, 1);
    if (!(f = fopen(path, "wb"))) { r = lbk__ctx_fail(ctx, LBK_ERR_IO, W, -1, "cannot open '%s' for writing: %s", path, strerror(errno)); goto done; }
    if (fwrite(head, 1, 64, f) != 64 || (w.len && fwrite(w.p, 1, w.len, f) != w.len) ||
        fwrite(zeros, 1, (size_t)(data_off - 64 - w.len), f) != (size_t)(data_off - 64 - w.len))
        r = LBK_ERR_IO;
    for (k = 0, at = 0; r == LBK_OK && k < w.n_chunks; k++) {   /* the data, straight from the values */
        size_t pad = (size_t)(w.chunks[k].off - at);
        if (fwrite(zeros, 1, pad, f) != pad || (w.chunks[k].n && fwrite(w.chunks[k].p, 1, w.chunks[k].n, f) != w.chunks[k].n)) r = LBK_ERR_IO;
        at = w.chunks[k].off + w.chunks[k].n;
    }
    if (fclose(f) != 0) r = LBK_ERR_IO;
    if (r != LBK_OK) r = lbk__ctx_fail(ctx, LBK_ERR_IO, W, -1, "writing '%s' failed", path);
done:
    lbk_value_free(dbg); lbk_value_free(tree);
    lbk__free(w.p); lbk__free(w.chunks);
    if (low) lbk_module_destroy(low);
    return r;
}
LAZYBK_API lbk_result lbk_module_save(const lbk_module *cm, const char *path) {
    LBK__GUARD(lbk_result, (cm ? cm->ctx : NULL), "module_save", LBK_ERR_BUSY, lbk__g_module_save(cm, path));
}

/* Children of the saved tree, as plain modules (the hierarchy, for introspection). */
static lbk_result lbk__tree_build(lbk_module *m, const lbk_value *tree, int depth) {
    const lbk_value *ch = lbk_dict_get(tree, "children");
    int64_t i, n = lbk_list_len(ch);
    if (depth > LBK__MOD_DEPTH || n < 0) return LBK_ERR_FORMAT;
    for (i = 0; i < n; i++) {
        const lbk_value *pair = lbk_list_get(ch, i), *sub = lbk_list_get(pair, 1);
        const char *attr = lbk_value_as_str(lbk_list_get(pair, 0)), *type = lbk_value_as_str(lbk_dict_get(sub, "type"));
        lbk_module *c;
        lbk_result r;
        if (!lbk__name_ok(attr) || !lbk__name_ok(type) || lbk_list_len(pair) != 2) return LBK_ERR_FORMAT;
        if (!(c = lbk_module_create(m->ctx, type))) return m->ctx->recent;
        if ((r = lbk_module_add_child(m, attr, c)) != LBK_OK || (r = lbk__tree_build(c, sub, depth + 1)) != LBK_OK) {
            if (lbk_module_child(m, attr) != c) lbk_module_destroy(c);
            return r;
        }
    }
    return LBK_OK;
}

/* Whether s is a plain name (letters, digits, '_', '.', at most 64): what a file may give
   for names lazybk prints. */
static bool lbk__ident_ok(const char *s) {
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= 64 || !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
                         s[n] == '_' || s[n] == '.'))
            return false;
    return n > 0;
}
/* Maps the saved debug handles to this process's, in the default format's nodes. */
static void lbk__debug_restore(lbk_value *processed, const lbk_value *dbg) {
    int64_t i, j, k, n = lbk_dict_len(processed), nd = lbk_list_len(dbg);
    lbk__u64_i64 *map = NULL;
    for (k = 0; k < nd; k++) {
        const lbk_value *e = lbk_list_get(dbg, k);
        const char *opn = lbk_value_as_str(lbk_list_get(e, 1)), *file = lbk_value_as_str(lbk_list_get(e, 2)), *mp = lbk_value_as_str(lbk_list_get(e, 4));
        const char *call = lbk_value_as_str(lbk_list_get(e, 5));   /* absent in files of 0.10.1 and before */
        int64_t old = lbk_value_as_int(lbk_list_get(e, 0)), line = lbk_value_as_int(lbk_list_get(e, 3)), h;
        int op;
        if (old < 0 || !opn || line < 0 || line > INT32_MAX) continue;
        for (op = 1; op < (int)LBK_OP_COUNT; op++) if (strcmp(lbk_op_name((lbk_op)op), opn) == 0) break;
        if (op == (int)LBK_OP_COUNT) continue;
        if (call && !lbk__ident_ok(call)) call = NULL;   /* printed in errors: only a plain name */
        h = lbk__site_handle(op, call ? lbk__call_name(op, call, true) : NULL, file ? lbk__intern(file) : NULL, (int)line,
                             mp ? lbk__intern(mp) : NULL, NULL);
        if (h >= 0) (void)lbk__put_i64(&map, LBK__KEY((uint64_t)old + 1), h);
    }
    for (i = 0; i < n; i++) {
        lbk_value *nodes = lbk_dict_get(lbk_dict_get(processed, lbk_dict_key(processed, i)), "nodes");
        for (j = 0; j < lbk_list_len(nodes); j++) {
            lbk_value *x = lbk_list_get(lbk_list_get(nodes, j), 6);
            ptrdiff_t at;
            if (lbk_value_kind_of(x) != LBK_VALUE_INT) continue;
            {
                uint64_t key = LBK__KEY((uint64_t)lbk_value_as_int(x) + 1);
                at = map ? hmgeti(map, key) : -1;
            }
            x->u.i = at >= 0 ? map[at].value : -1;
        }
    }
    hmfree(map);
}

/* The meta (format 2) or payload (format 1) of a module file: header checks, checksums,
   the data section's layout. *blob is the data's memory for bytes values (format 2). */
static lbk_value *lbk__module_meta(lbk_ctx *ctx, const unsigned char *bytes, size_t size, lbk__blob *blob, const unsigned char *data,
                                   const char *path, const char *W) {
    uint64_t version = 0, len, sum;
    lbk__rbuf rb;
    lbk_value *root;
    bool oom = false;
    int i;
    memset(&rb, 0, sizeof rb);
    if (size < 32 || memcmp(bytes, LBK__MOD_MAGIC, 8) != 0) {
        lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s' is not a lazybk module file (%s)", path, size < 32 ? "too short" : "bad magic");
        return NULL;
    }
    for (i = 0; i < 4; i++) version |= (uint64_t)bytes[8 + i] << (8 * i);
    len = lbk__le64(bytes + 16);
    sum = lbk__le64(bytes + 24);
    if (version == 1) {
        if (len != (uint64_t)size - 32) {
            lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s' is truncated or has trailing bytes (%llu payload bytes announced, %llu present)", path,
                          (unsigned long long)len, (unsigned long long)(size - 32));
            return NULL;
        }
        rb.p = bytes + 32;
    } else if (version == LBK__MOD_VERSION) {
        uint64_t doff, dsize;
        if (size < 64) { lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s' is truncated (no whole header)", path); return NULL; }
        doff = lbk__le64(bytes + 32); dsize = lbk__le64(bytes + 40);
        if (len > size - 64 || doff != LBK__ALIGN64(64 + len) || doff > size || dsize != size - doff) {
            lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s' is truncated or its sections do not add up (meta %llu bytes, data %llu at %llu, file %llu)",
                          path, (unsigned long long)len, (unsigned long long)dsize, (unsigned long long)doff, (unsigned long long)size);
            return NULL;
        }
        for (i = 12; i < 16; i++) if (bytes[i]) doff = 0;
        if (lbk__le64(bytes + 56) > 1) doff = 0;
        { uint64_t q; for (q = 64 + len; doff && q < doff; q++) if (bytes[q]) doff = 0; }
        if (!doff || !data) { lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s': reserved header bytes or padding are not zero", path); return NULL; }
        rb.p = bytes + 64;
        rb.blob = blob; rb.data = data; rb.data_size = dsize; rb.sum_kind = (unsigned)lbk__le64(bytes + 56);
    } else {
        lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s' has format version %llu; this build reads versions 1 and %u", path, (unsigned long long)version, LBK__MOD_VERSION);
        return NULL;
    }
    if (lbk__fnv1a(rb.p, (size_t)len) != sum) { lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s' is corrupted (checksum mismatch)", path); return NULL; }
    rb.n = (size_t)len; rb.version = (unsigned)version;
    root = lbk__rvalue(&rb, 0, &oom);
    if (!root || rb.at != rb.n || (version >= 2 && rb.next != rb.data_size)) {
        lbk_value_free(root);
        lbk__ctx_fail(ctx, oom ? LBK_ERR_OOM : LBK_ERR_FORMAT, W, -1, oom ? "out of memory" : "'%s': malformed %s%s%s", path,
                      root && rb.at == rb.n ? "data section (bytes not where the meta puts them)" : "payload",
                      rb.why ? ": " : "", rb.why ? rb.why : "");
        return NULL;
    }
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (version >= 2) rb.sum = lbk__le64(bytes + 48);   /* fuzz builds only (libFuzzer's convention): the harness cannot forge it */
#endif
    if (version >= 2 && rb.sum != lbk__le64(bytes + 48)) {
        lbk_value_free(root);
        lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s' is corrupted (data checksum mismatch)", path);
        return NULL;
    }
    return root;
}

/* A format-1 blob's constants (base64 strings) become bytes values, so that the module
   saves again with raw constants. What is not valid base64 of the right size is left for
   the method parser to refuse. False on OOM. */
static bool lbk__v1_consts_to_bytes(lbk_value *processed) {
    int64_t i, j, n = lbk_dict_len(processed);
    for (i = 0; i < n; i++) {
        lbk_value *consts = lbk_dict_get(lbk_dict_get(processed, lbk_dict_key(processed, i)), "consts");
        for (j = 0; j < lbk_list_len(consts); j++) {
            lbk_value *c = lbk_list_get(consts, j), *last, *bytes;
            lbk__tsig sg;
            int64_t used;
            size_t nb;
            if (!lbk__vsig(c, &sg, &used) || lbk_list_len(c) != used + 1) continue;
            last = lbk_list_get(c, used);
            nb = (size_t)lbk_shape_numel(sg.n_dims, sg.dims) * lbk_dtype_size(sg.dt);
            if (lbk_value_kind_of(last) != LBK_VALUE_STR || strlen(last->u.s) != (nb + 2) / 3 * 4) continue;
            if (!(bytes = lbk_value_bytes(NULL, 0))) return false;
            lbk__free(bytes->u.bytes.p);
            if (!(bytes->u.bytes.p = (unsigned char *)lbk__malloc(nb))) { bytes->u.bytes.n = 0; lbk_value_free(bytes); return false; }
            bytes->u.bytes.n = nb;
            if (!lbk__b64_decode(last->u.s, bytes->u.bytes.p, nb)) { lbk_value_free(bytes); continue; }
            lbk_value_free(last);
            c->u.list.items[used] = bytes;
        }
    }
    return true;
}

/* A module from a module file's bytes; blob/data: its data section's memory (format 2).
   name (a path, or "memory") for messages. */
static lbk_module *lbk__module_from_bytes(lbk_ctx *ctx, const unsigned char *bytes, size_t size, lbk__blob *blob, const unsigned char *data,
                                          const char *name, const char *W) {
    lbk_value *root = lbk__module_meta(ctx, bytes, size, blob, data, name, W);
    lbk_module *m = NULL;
    const char *type, *backend, *path = name;
    if (!root) return NULL;
    type = lbk_value_as_str(lbk_dict_get(root, "type"));
    backend = lbk_value_as_str(lbk_dict_get(root, "backend"));
    if (!lbk__name_ok(type) || !lbk__name_ok(backend) || lbk_dict_len(lbk_dict_get(root, "spec")) < 1 || lbk_dict_len(lbk_dict_get(root, "sigs")) < 0 ||
        !lbk_dict_get(root, "processed") || lbk_value_kind_of(lbk_dict_get(root, "tree")) != LBK_VALUE_DICT || lbk_list_len(lbk_dict_get(root, "debug")) < 0) {
        lbk_value_free(root);
        lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s': a field is missing, of the wrong kind, or a name with control characters", path);
        return NULL;
    }
    {
        const lbk_value *spec = lbk_dict_get(root, "spec");
        int64_t k;
        for (k = 0; k < lbk_dict_len(spec); k++)
            if (!lbk__name_ok(lbk_dict_key(spec, k))) {
                lbk_value_free(root);
                lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s': a method name is empty, too long or has control characters", path);
                return NULL;
            }
    }
    lbk__debug_restore(lbk_dict_get(root, "processed"), lbk_dict_get(root, "debug"));
    if (!lbk__v1_consts_to_bytes(lbk_dict_get(root, "processed"))) {
        lbk_value_free(root);
        lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory");
        return NULL;
    }
    if (!(m = lbk_module_create(ctx, type))) { lbk_value_free(root); return NULL; }
    if (!(m->backend = lbk__strdup(backend)) || !(m->spec = lbk_value_copy(lbk_dict_get(root, "spec"))) ||
        !(m->sigs = lbk_value_copy(lbk_dict_get(root, "sigs"))) || !(m->processed = lbk_value_copy(lbk_dict_get(root, "processed"))) ||
        !(m->tree = lbk_value_copy(lbk_dict_get(root, "tree")))) {
        lbk_value_free(root);
        lbk_module_destroy(m);
        lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory");
        return NULL;
    }
    lbk_value_free(root);
    {
        lbk_result r = lbk__tree_build(m, m->tree, 0);
        if (r == LBK_ERR_FORMAT) lbk__ctx_fail(ctx, r, W, -1, "'%s': malformed module tree (a child without a printable attr or type name)", path);
        if (r == LBK_OK) {
            int64_t k;
            for (k = 0; k < lbk_dict_len(m->spec); k++)   /* every spec'd method has a signature */
                if (!lbk_dict_get(m->sigs, lbk_dict_key(m->spec, k))) { r = lbk__ctx_fail(ctx, LBK_ERR_FORMAT, W, -1, "'%s': no signature for a method", path); break; }
        }
        if (r == LBK_OK) r = lbk__lower_compile(m, true, W);   /* compile again, as PyTorch does */
        if (r != LBK_OK) { lbk_module_destroy(m); return NULL; }
    }
    return m;
}

/* The data section of a format-2 file at bytes, copied into an aligned blob of its own
   (a load from memory: the caller's buffer is not kept). NULL blob for format 1 or a
   header too short to say; *data then NULL. False on OOM. */
static bool lbk__blob_copy_data(const unsigned char *bytes, size_t size, lbk__blob **out, const unsigned char **data) {
    uint64_t doff;
    lbk__blob *b;
    unsigned char *raw;
    *out = NULL; *data = NULL;
    if (size < 64 || memcmp(bytes, LBK__MOD_MAGIC, 8) != 0 || bytes[8] != LBK__MOD_VERSION) return true;
    doff = lbk__le64(bytes + 32);
    if (doff > size) return true;   /* refused by the header checks */
    if (!(b = (lbk__blob *)lbk__calloc(1, sizeof *b)) || !(raw = (unsigned char *)lbk__malloc((size_t)(size - doff) + 64))) { lbk__free(b); return false; }
    b->refs = 1; b->base = raw; b->size = (size_t)(size - doff) + 64;
    *data = raw + ((64 - ((uintptr_t)raw & 63)) & 63);
    if (size > doff) memcpy((unsigned char *)(uintptr_t)*data, bytes + doff, (size_t)(size - doff));
    *out = b;
    return true;
}
static lbk_module *lbk__g_module_load_memory(lbk_ctx *ctx, const void *data, size_t size) {
    const char *W = "lbk_module_load_memory";
    lbk__blob *b;
    const unsigned char *d;
    lbk_module *m;
    if (!ctx) { lbk__set_last(LBK_ERR_ARG, "lbk_module_load_memory: NULL context"); return NULL; }
    if (!data && size) { lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "NULL data"); return NULL; }
    if (!data) data = "";
    if (!lbk__blob_copy_data((const unsigned char *)data, size, &b, &d)) { lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory"); return NULL; }
    m = lbk__module_from_bytes(ctx, (const unsigned char *)data, size, b, d, "memory", W);
    lbk__blob_unref(b);   /* what the module's values and constants use stays referenced */
    return m;
}
LAZYBK_API lbk_module *lbk_module_load_memory(lbk_ctx *ctx, const void *data, size_t size) {
    LBK__GUARD(lbk_module *, ctx, "module_load_memory", NULL, lbk__g_module_load_memory(ctx, data, size));
}

/* The whole file in a blob: mapped (private, copy-on-write) where the platform can, else read. */
#if defined(__unix__) || defined(__APPLE__)
static void lbk__blob_unmap(lbk__blob *b) { munmap(b->base, b->size); }
static lbk_result lbk__blob_file(const char *path, lbk__blob **out, const char **why) {
    struct stat st;
    int fd = open(path, O_RDONLY);
    void *p;
    *out = NULL;
    if (fd < 0) { *why = strerror(errno); return LBK_ERR_IO; }
    if (fstat(fd, &st) != 0 || st.st_size < 0) { *why = strerror(errno); close(fd); return LBK_ERR_IO; }
    if (!S_ISREG(st.st_mode)) { *why = S_ISDIR(st.st_mode) ? "it is a directory" : "it is not a regular file"; close(fd); return LBK_ERR_IO; }
    if (!(*out = (lbk__blob *)lbk__calloc(1, sizeof **out))) { close(fd); return LBK_ERR_OOM; }
    (*out)->refs = 1;
    (*out)->size = (size_t)st.st_size;
    if (st.st_size == 0) { close(fd); (*out)->base = lbk__malloc(1); return (*out)->base ? LBK_OK : LBK_ERR_OOM; }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) { *why = strerror(errno); lbk__free(*out); *out = NULL; return LBK_ERR_IO; }
    (*out)->base = p;
    (*out)->mapped = true;
    return LBK_OK;
}
#else
static void lbk__blob_unmap(lbk__blob *b) { (void)b; }
static lbk_result lbk__blob_file(const char *path, lbk__blob **out, const char **why) {
    FILE *f = fopen(path, "rb");
    long size;
    *out = NULL;
    if (!f) { *why = strerror(errno); return LBK_ERR_IO; }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) { *why = "cannot seek"; fclose(f); return LBK_ERR_IO; }
    if (!(*out = (lbk__blob *)lbk__calloc(1, sizeof **out)) || !((*out)->base = lbk__malloc((size_t)size + 64))) {
        lbk__free(*out); *out = NULL; fclose(f); return LBK_ERR_OOM;
    }
    (*out)->refs = 1;
    (*out)->size = (size_t)size;
    if (fread((*out)->base, 1, (size_t)size, f) != (size_t)size) { *why = "short read"; fclose(f); lbk__blob_unref(*out); *out = NULL; return LBK_ERR_IO; }
    fclose(f);
    return LBK_OK;
}
#endif

static lbk_module *lbk__g_module_load(lbk_ctx *ctx, const char *path) {
    const char *W = "lbk_module_load", *why = "";
    lbk__blob *b = NULL;
    lbk_module *m;
    lbk_result r;
    const unsigned char *bytes, *data = NULL;
    if (!ctx) { lbk__set_last(LBK_ERR_ARG, "lbk_module_load: NULL context"); return NULL; }
    if (!path) { lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "NULL path"); return NULL; }
    if ((r = lbk__blob_file(path, &b, &why)) != LBK_OK) {
        lbk__ctx_fail(ctx, r, W, -1, r == LBK_ERR_OOM ? "out of memory reading '%s'%s" : "cannot open '%s': %s", path, r == LBK_ERR_OOM ? "" : why);
        return NULL;
    }
    bytes = (const unsigned char *)b->base;
    if (b->size >= 64 && lbk__le64(bytes + 32) <= b->size) data = bytes + lbk__le64(bytes + 32);   /* mapped: 64-aligned */
    m = lbk__module_from_bytes(ctx, bytes, b->size, b, data, path, W);
    lbk__blob_unref(b);   /* the mapping stays while the module's constants and values use it */
    return m;
}
LAZYBK_API lbk_module *lbk_module_load(lbk_ctx *ctx, const char *path) {
    LBK__GUARD(lbk_module *, ctx, "module_load", NULL, lbk__g_module_load(ctx, path));
}


// >>interop ----------------------------------------------------------------------------
/* NumPy .npy files (format 1.0, 2.0 and 3.0 read; 1.0 written, 2.0 when the header needs
   it): little-endian, C order, the dtypes lazybk has. */
static const char *lbk__npy_descr(lbk_dtype dt) { return lbk__dtype_ok(dt) ? lbk__dtypes[dt].npy : NULL; }
static bool lbk__host_little(void) { const uint16_t one = 1; return *(const unsigned char *)&one == 1; }

/* The header's dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } with keys
   in any order. false on anything else (a message in why). */
static bool lbk__npy_header(const char *h, size_t n, char *descr, size_t cap_descr, bool *fortran, int *nd, int64_t *dims, const char **why) {
    size_t i = 0;
    bool got_d = false, got_f = false, got_s = false;
#define LBK__WS() while (i < n && (h[i] == ' ' || h[i] == '\t' || h[i] == '\n' || h[i] == '\r')) i++
    LBK__WS();
    if (i >= n || h[i++] != '{') { *why = "the header is not a dict"; return false; }
    for (;;) {
        char key[32], q;
        size_t k = 0;
        LBK__WS();
        if (i < n && h[i] == '}') { i++; break; }
        if (i >= n || (h[i] != '\'' && h[i] != '"')) { *why = "a key of the header dict is not a string"; return false; }
        q = h[i++];
        while (i < n && h[i] != q && k + 1 < sizeof key) key[k++] = h[i++];
        key[k] = 0;
        if (i >= n || h[i++] != q) { *why = "an unterminated key in the header"; return false; }
        LBK__WS();
        if (i >= n || h[i++] != ':') { *why = "a key without ':' in the header"; return false; }
        LBK__WS();
        if (strcmp(key, "descr") == 0) {
            size_t j = 0;
            if (i >= n || (h[i] != '\'' && h[i] != '"')) { *why = "descr is not a string (structured dtypes are not supported)"; return false; }
            q = h[i++];
            while (i < n && h[i] != q && j + 1 < cap_descr) descr[j++] = h[i++];
            descr[j] = 0;
            if (i >= n || h[i++] != q) { *why = "an unterminated descr"; return false; }
            got_d = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (n - i >= 4 && memcmp(h + i, "True", 4) == 0) { *fortran = true; i += 4; }
            else if (n - i >= 5 && memcmp(h + i, "False", 5) == 0) { *fortran = false; i += 5; }
            else { *why = "fortran_order is neither True nor False"; return false; }
            got_f = true;
        } else if (strcmp(key, "shape") == 0) {
            *nd = 0;
            if (i >= n || h[i++] != '(') { *why = "shape is not a tuple"; return false; }
            for (;;) {
                int64_t v = 0;
                bool digit = false;
                LBK__WS();
                if (i < n && h[i] == ')') { i++; break; }
                while (i < n && h[i] >= '0' && h[i] <= '9') {
                    if (v > (INT64_MAX - 9) / 10) { *why = "a dimension of shape overflows"; return false; }
                    v = v * 10 + (h[i++] - '0');
                    digit = true;
                }
                if (i < n && h[i] == 'L') i++;   /* Python 2's long suffix */
                if (!digit) { *why = "shape holds something other than non-negative integers"; return false; }
                if (*nd >= LAZYBK_MAX_DIMS) { *why = "shape has more dims than LAZYBK_MAX_DIMS"; return false; }
                dims[(*nd)++] = v;
                LBK__WS();
                if (i < n && h[i] == ',') { i++; continue; }
                if (i < n && h[i] == ')') { i++; break; }
                *why = "shape is not a tuple of integers";
                return false;
            }
            got_s = true;
        } else {
            *why = "the header has an unknown key";
            return false;
        }
        LBK__WS();
        if (i < n && h[i] == ',') { i++; continue; }
        if (i < n && h[i] == '}') { i++; break; }
        *why = "the header dict is malformed";
        return false;
    }
#undef LBK__WS
    if (!got_d || !got_f || !got_s) { *why = "the header lacks descr, fortran_order or shape"; return false; }
    return true;
}

static lbk_tensor lbk__g_load_npy_at(const char *file, int line, lbk_ctx *ctx, const char *path) {
    FILE *f;
    unsigned char pre[12];
    char *hdr = NULL, descr[32];
    size_t hlen, pre_len, data_bytes;
    long size;
    bool fortran = false;
    int nd = 0, major;
    int64_t dims[LAZYBK_MAX_DIMS];
    lbk_dtype dt = (lbk_dtype)0;
    const char *why = NULL;
    void *data = NULL;
    lbk_tensor t = {0};
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, "load_npy", LBK_OP_PARAM);
        if (!path) return lbk__op_fail(&oc, LBK_ERR_ARG, "path is NULL");
        if (!lbk__host_little()) return lbk__op_fail(&oc, LBK_ERR_UNSUPPORTED, "this host is big-endian; .npy support is for little-endian hosts");
        if (!(f = fopen(path, "rb"))) return lbk__op_fail(&oc, LBK_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return lbk__op_fail(&oc, LBK_ERR_IO, "cannot read '%s'", path); }
        if (size < 10 || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) { fclose(f); return lbk__op_fail(&oc, LBK_ERR_FORMAT, "'%s' is not a .npy file (bad magic)", path); }
        major = pre[6];
        if (major == 1) { hlen = (size_t)pre[8] | (size_t)pre[9] << 8; pre_len = 10; }
        else if (major == 2 || major == 3) {
            if (size < 12 || fread(pre + 10, 1, 2, f) != 2) { fclose(f); return lbk__op_fail(&oc, LBK_ERR_FORMAT, "'%s': truncated header", path); }
            hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
            pre_len = 12;
        } else { fclose(f); return lbk__op_fail(&oc, LBK_ERR_FORMAT, "'%s': .npy format version %d.%d is not supported", path, major, pre[7]); }
        if (hlen > (size_t)size - pre_len || hlen > (1u << 24)) { fclose(f); return lbk__op_fail(&oc, LBK_ERR_FORMAT, "'%s': the header length %zu runs past the file", path, hlen); }
        if (!(hdr = (char *)lbk__malloc(hlen + 1))) { fclose(f); return lbk__op_fail(&oc, LBK_ERR_OOM, "out of memory"); }
        if (fread(hdr, 1, hlen, f) != hlen) { fclose(f); lbk__free(hdr); return lbk__op_fail(&oc, LBK_ERR_IO, "reading '%s' failed", path); }
        hdr[hlen] = 0;
        if (!lbk__npy_header(hdr, hlen, descr, sizeof descr, &fortran, &nd, dims, &why)) {
            lbk__free(hdr);
            fclose(f);
            /* a well-formed header lazybk cannot hold (rank) is unsupported, not malformed */
            return lbk__op_fail(&oc, strstr(why, "LAZYBK_MAX_DIMS") ? LBK_ERR_UNSUPPORTED : LBK_ERR_FORMAT, "'%s': %s", path, why);
        }
        lbk__free(hdr);
        {
            int k;
            for (k = 1; k < LBK_DTYPE_COUNT; k++)
                if (lbk__dtypes[k].npy && strcmp(descr, lbk__dtypes[k].npy) == 0) dt = (lbk_dtype)k;
        }
        if (!dt) {
            lbk__str known = {NULL, 0, 0, false};
            int k;
            fclose(f);
            if (descr[0] == '>') return lbk__op_fail(&oc, LBK_ERR_UNSUPPORTED, "'%s' is big-endian (%s): save it little-endian", path, descr);
            for (k = 1; k < LBK_DTYPE_COUNT; k++)
                if (lbk__dtypes[k].npy) lbk__str_append(&known, "%s%s", known.len ? ", " : "", lbk__dtypes[k].npy);
            lbk__op_fail(&oc, LBK_ERR_DTYPE, "'%s' has dtype %s; lazybk reads %s", path, descr, lbk__str_get(&known));
            lbk__str_free(&known);
            return lbk__null_tensor();
        }
        if (fortran) { fclose(f); return lbk__op_fail(&oc, LBK_ERR_UNSUPPORTED, "'%s' is in Fortran order: save it in C order", path); }
        if (!lbk__dims_valid(nd, dims, dt)) { fclose(f); return lbk__op_fail(&oc, LBK_ERR_FORMAT, "'%s': its shape is too large", path); }
        data_bytes = (size_t)lbk__numel(nd, dims) * lbk_dtype_size(dt);
        if ((uint64_t)size - pre_len - hlen != (uint64_t)data_bytes) {
            fclose(f);
            return lbk__op_fail(&oc, LBK_ERR_FORMAT, "'%s': %llu data bytes where the shape needs %zu", path,
                                (unsigned long long)((uint64_t)size - pre_len - hlen), data_bytes);
        }
        if (data_bytes && !(data = lbk__malloc(data_bytes))) { fclose(f); return lbk__op_fail(&oc, LBK_ERR_OOM, "out of memory"); }
        if (data_bytes && fread(data, 1, data_bytes, f) != data_bytes) { fclose(f); lbk__free(data); return lbk__op_fail(&oc, LBK_ERR_IO, "reading '%s' failed", path); }
        fclose(f);
        if (dt == LBK_BOOL) {
            size_t k;
            for (k = 0; k < data_bytes; k++)
                if (((unsigned char *)data)[k] > 1) { lbk__free(data); return lbk__op_fail(&oc, LBK_ERR_FORMAT, "'%s': a bool is neither 0 nor 1", path); }
        }
        t = lbk_from_host_at(file, line, ctx, dt, nd, dims, data);
        lbk__free(data);
        return t;
    }
}
LAZYBK_API lbk_tensor lbk_load_npy_at(const char *file, int line, lbk_ctx *ctx, const char *path) {
    LBK__GUARD(lbk_tensor, ctx, "load_npy", lbk__null_tensor(), lbk__g_load_npy_at(file, line, ctx, path));
}
LAZYBK_API lbk_tensor (lbk_load_npy)(lbk_ctx *ctx, const char *path) { return lbk_load_npy_at(NULL, 0, ctx, path); }

static lbk_result lbk__g_save_npy(lbk_ctx *ctx, lbk_tensor t, const char *path) {
    uint32_t id;
    const char *why, *W = "lbk_save_npy";
    const lbk__node *nd;
    lbk__str h = {NULL, 0, 0, false};
    size_t bytes, total;
    int d;
    void *data;
    FILE *f;
    lbk_result r;
    unsigned char pre[12];
    if (!ctx) return lbk__set_last(LBK_ERR_ARG, "lbk_save_npy: NULL context");
    if (!path) return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "path is NULL");
    if ((r = lbk__resolve(ctx, t, &id, &why)) != LBK_OK) return lbk__ctx_fail(ctx, r, W, -1, "%s", why);
    if (!lbk__host_little()) return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, W, -1, "this host is big-endian");
    nd = &ctx->nodes[id];
    if (!lbk__npy_descr((lbk_dtype)nd->dtype))
        return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, W, nd->debug, "%s has no .npy type code (NumPy has no %s)",
                             lbk_dtype_name((lbk_dtype)nd->dtype), lbk_dtype_name((lbk_dtype)nd->dtype));
    lbk__str_append(&h, "{'descr': '%s', 'fortran_order': False, 'shape': (", lbk__npy_descr((lbk_dtype)nd->dtype));
    for (d = 0; d < nd->n_dims; d++) lbk__str_append(&h, "%s%lld", d ? ", " : "", (long long)nd->dims[d]);
    lbk__str_append(&h, "%s), }", nd->n_dims == 1 ? "," : "");   /* as NumPy writes it: (), (5,), (2, 3) */
    bytes = (size_t)lbk__numel(nd->n_dims, nd->dims) * lbk_dtype_size((lbk_dtype)nd->dtype);
    if (h.oom) { lbk__str_free(&h); return lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory"); }
    total = 10 + h.len + 1;   /* padded with spaces and a newline to a multiple of 64 */
    if (total % 64) total += 64 - total % 64;
    while (10 + h.len + 1 < total) lbk__str_append(&h, " ");
    lbk__str_append(&h, "\n");
    if (h.oom || !(data = lbk__malloc(bytes + 1))) { lbk__str_free(&h); return lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory"); }
    if ((r = lbk_read(ctx, t, data, bytes)) != LBK_OK) { lbk__free(data); lbk__str_free(&h); return r; }
    memcpy(pre, "\x93NUMPY\x01\x00", 8);
    pre[8] = (unsigned char)(h.len & 0xff);
    pre[9] = (unsigned char)(h.len >> 8);
    r = LBK_OK;
    if (h.len > 65535) r = lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, W, -1, "header too long");
    else if (!(f = fopen(path, "wb"))) r = lbk__ctx_fail(ctx, LBK_ERR_IO, W, -1, "cannot open '%s' for writing: %s", path, strerror(errno));
    else {
        if (fwrite(pre, 1, 10, f) != 10 || fwrite(h.p, 1, h.len, f) != h.len || (bytes && fwrite(data, 1, bytes, f) != bytes)) r = LBK_ERR_IO;
        if (fclose(f) != 0) r = LBK_ERR_IO;
        if (r != LBK_OK) r = lbk__ctx_fail(ctx, LBK_ERR_IO, W, -1, "writing '%s' failed", path);
    }
    lbk__free(data);
    lbk__str_free(&h);
    return r;
}
LAZYBK_API lbk_result lbk_save_npy(lbk_ctx *ctx, lbk_tensor t, const char *path) {
    LBK__GUARD(lbk_result, ctx, "save_npy", LBK_ERR_BUSY, lbk__g_save_npy(ctx, t, path));
}


/* ---- DLPack (when dlpack.h is included before lazybk.h, or with LAZYBK_DLPACK) ---- */
#ifdef LBK__HAVE_DLPACK
struct lbk__dlx {                 /* an exported tensor */
    DLManagedTensor mt;
    int64_t shape[LAZYBK_MAX_DIMS];
    lbk_ctx *ctx;                 /* NULL once the context is gone */
    uint32_t node;                /* zero-copy: the node held */
    bool held;
    lbk_data *data;               /* after the context is gone: the node's data, now ours */
    const lbk_backend_i *iface;
    void *self;
    void *copy;                   /* otherwise: a host copy */
    struct lbk__dlx *prev, *next;
};
static void lbk__dl_release(void *arg) {   /* the producer's deleter, exactly once */
    DLManagedTensor *mt = (DLManagedTensor *)arg;
    if (mt->deleter) mt->deleter(mt);
}
/* A dtype's DLPack type code, from its kind (bf16 has its own code); -1 for none. Bool is
   kDLBool with DLPack >= 0.8, else exported as kDLUInt 8 (and kDLUInt 8 comes back as u8). */
static int lbk__dl_code(lbk_dtype dt) {
    switch (lbk_dtype_info_of(dt) ? lbk_dtype_info_of(dt)->kind : LBK_DTYPE_KIND_INVALID) {
    case LBK_DTYPE_KIND_FLOAT: return dt == LBK_BF16 ? (int)kDLBfloat : (int)kDLFloat;
    case LBK_DTYPE_KIND_SIGNED: return (int)kDLInt;
    case LBK_DTYPE_KIND_UNSIGNED: return (int)kDLUInt;
#ifdef LBK__DLPACK_BOOL
    case LBK_DTYPE_KIND_BOOL: return (int)kDLBool;
#else
    case LBK_DTYPE_KIND_BOOL: return (int)kDLUInt;
#endif
    default: return -1;
    }
}
static bool lbk__dl_dtype(DLDataType t, lbk_dtype *out) {
    int k;
    if (t.lanes != 1) return false;
    for (k = 1; k < LBK_DTYPE_COUNT; k++) {
#ifndef LBK__DLPACK_BOOL
        if (k == LBK_BOOL) continue;   /* kDLUInt 8 is u8 */
#endif
        if (lbk__dl_code((lbk_dtype)k) == (int)t.code && lbk_dtype_size((lbk_dtype)k) * 8 == (size_t)t.bits) {
            *out = (lbk_dtype)k;
            return true;
        }
    }
    return false;
}

/* A tensor from DLTensor t, whose owner is given back through release(arg) exactly once
   once lazybk is done with it (not at all on an argument error). */
static lbk_tensor lbk__from_dl(const char *file, int line, lbk_ctx *ctx, const char *name, const DLTensor *t, void (*release)(void *),
                               void *mt) {
    LBK__NULL_TENSOR_IF(!ctx);
    {
        LBK__OPCTX(oc, name, LBK_OP_PARAM);
        lbk_dtype dt = (lbk_dtype)0;
        int d, nd;
        int64_t dims[LAZYBK_MAX_DIMS] = {0}, expect = 1, n;
        size_t esz;
        bool compact = true;
        char *base;
        if (!t) return lbk__op_fail(&oc, LBK_ERR_ARG, "the managed tensor is NULL");
        if (t->device.device_type != kDLCPU && t->device.device_type != kDLCUDAHost)
            return lbk__op_fail(&oc, LBK_ERR_UNSUPPORTED, "device type %d: lazybk imports host memory (kDLCPU)", (int)t->device.device_type);
        if (!lbk__dl_dtype(t->dtype, &dt))
            return lbk__op_fail(&oc, LBK_ERR_DTYPE, "dtype code %d, %d bits, %d lanes: no lazybk dtype is that",
                                (int)t->dtype.code, (int)t->dtype.bits, (int)t->dtype.lanes);
        nd = t->ndim;
        if (nd < 0 || nd > LAZYBK_MAX_DIMS) return lbk__op_fail(&oc, LBK_ERR_SHAPE, "%d dims (at most %d)", nd, LAZYBK_MAX_DIMS);
        if (nd > 0 && !t->shape) return lbk__op_fail(&oc, LBK_ERR_ARG, "shape is NULL with %d dims", nd);
        for (d = 0; d < nd; d++) dims[d] = t->shape[d];
        if (!lbk__check_dims(&oc, dt, nd, dims)) return lbk__null_tensor();
        n = lbk__numel(nd, dims);
        esz = lbk_dtype_size(dt);
        if (n > 0 && !t->data) return lbk__op_fail(&oc, LBK_ERR_ARG, "data is NULL for %lld elements", (long long)n);
        base = (char *)t->data + t->byte_offset;
        if (t->strides)
            for (d = nd - 1; d >= 0; d--) {
                if (dims[d] != 1 && t->strides[d] != expect) compact = false;
                expect *= dims[d];
            }
        if (compact && n > 0 && ((uintptr_t)base % esz) == 0 && ctx->iface->data_wrap_host) {   /* zero-copy */
            lbk_data *data = NULL;
            lbk__clear_backend_error();
            if (ctx->iface->data_wrap_host(ctx->self, ctx->device, dt, nd, dims, base, release, mt, &data) == LBK_OK && data)
                return lbk__data_tensor(&oc, dt, nd, dims, data, true);   /* on failure the data (and mt) is released */
        }
        {   /* a copy, gathered through the strides (any sign); the producer's memory goes back at once */
            char *buf = (char *)lbk__malloc((size_t)n * esz + 1);
            lbk_tensor r;
            int64_t idx[LAZYBK_MAX_DIMS], k, off = 0;
            if (!buf) { release(mt); return lbk__op_fail(&oc, LBK_ERR_OOM, "out of memory"); }
            memset(idx, 0, sizeof idx);
            for (k = 0; k < n; k++) {
                memcpy(buf + (size_t)k * esz, base + off * (int64_t)esz, esz);
                for (d = nd - 1; d >= 0; d--) {
                    int64_t st = t->strides ? t->strides[d] : 1;
                    if (!t->strides) { int64_t q; for (q = d + 1; q < nd; q++) st *= dims[q]; }
                    off += st;
                    if (++idx[d] < dims[d]) break;
                    off -= st * dims[d];
                    idx[d] = 0;
                }
            }
            r = lbk_from_host_at(file, line, ctx, dt, nd, dims, buf);
            lbk__free(buf);
            release(mt);
            return r;
        }
    }
}
static lbk_tensor lbk__g_from_dlpack_at(const char *file, int line, lbk_ctx *ctx, DLManagedTensor *mt) {
    return lbk__from_dl(file, line, ctx, "from_dlpack", mt ? &mt->dl_tensor : NULL, lbk__dl_release, mt);
}
LAZYBK_API lbk_tensor lbk_from_dlpack_at(const char *file, int line, lbk_ctx *ctx, DLManagedTensor *mt) {
    LBK__GUARD(lbk_tensor, ctx, "from_dlpack", lbk__null_tensor(), lbk__g_from_dlpack_at(file, line, ctx, mt));
}
LAZYBK_API lbk_tensor (lbk_from_dlpack)(lbk_ctx *ctx, DLManagedTensor *mt) { return lbk_from_dlpack_at(NULL, 0, ctx, mt); }
#if defined(DLPACK_MAJOR_VERSION) && DLPACK_MAJOR_VERSION >= 1
static void lbk__dlv_release(void *arg) {
    DLManagedTensorVersioned *mt = (DLManagedTensorVersioned *)arg;
    if (mt->deleter) mt->deleter(mt);
}
static lbk_tensor lbk__g_from_dlpack_versioned_at(const char *file, int line, lbk_ctx *ctx, DLManagedTensorVersioned *mt) {
    if (ctx && mt && mt->version.major != 1) {
        LBK__OPCTX(oc, "from_dlpack_versioned", LBK_OP_PARAM);
        return lbk__op_fail(&oc, LBK_ERR_UNSUPPORTED, "DLPack version %u.%u; lazybk reads major version 1", (unsigned)mt->version.major,
                            (unsigned)mt->version.minor);
    }
    return lbk__from_dl(file, line, ctx, "from_dlpack_versioned", mt ? &mt->dl_tensor : NULL, lbk__dlv_release, mt);
}
LAZYBK_API lbk_tensor lbk_from_dlpack_versioned_at(const char *file, int line, lbk_ctx *ctx, DLManagedTensorVersioned *mt) {
    LBK__GUARD(lbk_tensor, ctx, "from_dlpack_versioned", lbk__null_tensor(), lbk__g_from_dlpack_versioned_at(file, line, ctx, mt));
}
LAZYBK_API lbk_tensor (lbk_from_dlpack_versioned)(lbk_ctx *ctx, DLManagedTensorVersioned *mt) {
    return lbk_from_dlpack_versioned_at(NULL, 0, ctx, mt);
}
#endif

static void lbk__dl_deleter(DLManagedTensor *mt) {
    struct lbk__dlx *x = (struct lbk__dlx *)mt->manager_ctx;
    if (!x) return;
    if (x->copy) lbk__free(x->copy);
    else if (x->ctx && x->held) lbk__unref(x->ctx, x->node);
    else if (x->data) x->iface->data_free(x->self, x->data);
    if (x->ctx) {   /* unlink */
        if (x->prev) x->prev->next = x->next; else x->ctx->dl_exports = x->next;
        if (x->next) x->next->prev = x->prev;
    }
    lbk__free(x);
}

static lbk_result lbk__g_to_dlpack(lbk_ctx *ctx, lbk_tensor t, DLManagedTensor **out) {
    const char *W = "lbk_to_dlpack", *why;
    uint32_t id;
    lbk_result r;
    struct lbk__dlx *x;
    const lbk__node *n;
    void *host = NULL;
    int d;
    if (!ctx) return lbk__set_last(LBK_ERR_ARG, "lbk_to_dlpack: NULL context");
    if (!out) return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "out is NULL");
    *out = NULL;
    if ((r = lbk__resolve(ctx, t, &id, &why)) != LBK_OK) return lbk__ctx_fail(ctx, r, W, -1, "%s", why);
    if ((r = lbk_sync(ctx, &t, 1)) != LBK_OK) return r;
    (void)lbk__resolve(ctx, t, &id, &why);
    n = &ctx->nodes[id];
    if (!(x = (struct lbk__dlx *)lbk__calloc(1, sizeof *x))) return lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory");
    if (n->data && ctx->iface->data_host_ptr) host = ctx->iface->data_host_ptr(ctx->self, n->data);
    if (host) {   /* zero-copy: the node is held until the deleter runs */
        x->node = id;
        x->held = true;
        ctx->nodes[id].refs++;
    } else {
        size_t bytes = (size_t)lbk__numel(n->n_dims, n->dims) * lbk_dtype_size((lbk_dtype)n->dtype);
        if (!(x->copy = lbk__malloc(bytes + 1))) { lbk__free(x); return lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory"); }
        if ((r = lbk_read(ctx, t, x->copy, bytes)) != LBK_OK) { lbk__free(x->copy); lbk__free(x); return r; }
        host = x->copy;
        n = &ctx->nodes[id];
    }
    for (d = 0; d < n->n_dims; d++) x->shape[d] = n->dims[d];
    x->mt.dl_tensor.data = host;
    x->mt.dl_tensor.device.device_type = kDLCPU;
    x->mt.dl_tensor.device.device_id = 0;
    x->mt.dl_tensor.ndim = n->n_dims;
    x->mt.dl_tensor.shape = x->shape;
    x->mt.dl_tensor.strides = NULL;   /* compact, C order */
    x->mt.dl_tensor.byte_offset = 0;
    x->mt.dl_tensor.dtype.lanes = 1;
    x->mt.dl_tensor.dtype.bits = (uint8_t)(lbk_dtype_size((lbk_dtype)n->dtype) * 8);
    x->mt.dl_tensor.dtype.code = (uint8_t)lbk__dl_code((lbk_dtype)n->dtype);
    x->mt.manager_ctx = x;
    x->mt.deleter = lbk__dl_deleter;
    x->ctx = ctx;
    x->next = ctx->dl_exports;
    if (x->next) x->next->prev = x;
    ctx->dl_exports = x;
    *out = &x->mt;
    return LBK_OK;
}
LAZYBK_API lbk_result lbk_to_dlpack(lbk_ctx *ctx, lbk_tensor t, DLManagedTensor **out) {
    LBK__GUARD(lbk_result, ctx, "to_dlpack", LBK_ERR_BUSY, lbk__g_to_dlpack(ctx, t, out));
}

/* The context is going: exported data outlives it, owned by its export. */
static void lbk__dl_detach_all(lbk_ctx *ctx) {
    struct lbk__dlx *x;
    for (x = ctx->dl_exports; x; x = x->next) {
        if (x->held) {
            x->data = ctx->nodes[x->node].data;
            ctx->nodes[x->node].data = NULL;
            x->held = false;
        }
        x->iface = ctx->iface;
        x->self = ctx->self;
        x->ctx = NULL;
        x->prev = NULL;
    }
    ctx->dl_exports = NULL;
}
#else
static void lbk__dl_detach_all(lbk_ctx *ctx) { (void)ctx; }
#endif /* LBK__HAVE_DLPACK */

// >>weights ----------------------------------------------------------------------------
/* Weights files: safetensors and GGUF, mapped (lbk__blob_file) and checked whole at open,
   so that lbk_weights_get only wraps bytes already known to lie inside the file. */

/* ---- a strict JSON reader (RFC 8259) for the safetensors header ----
   Values become nodes in one array (children linked by index); strings are decoded into
   one arena no larger than the text (a decoded string and its NUL never outgrow the
   quoted original). Depth is bounded; every failure says what and at which byte. */
enum { LBK__J_OBJ = 1, LBK__J_ARR, LBK__J_STR, LBK__J_NUM, LBK__J_TRUE, LBK__J_FALSE, LBK__J_NULL };
#define LBK__JSON_MAX_DEPTH 64
#define LBK__JSON_MAX_NODES (1 << 22)   /* a real header has a few per tensor; a hostile one gets no more memory */
typedef struct lbk__jnode {
    int kind;
    int32_t first, next, count;   /* children of an object or array; the next sibling; -1 none */
    const char *key;              /* a member of an object: its decoded key (NUL-terminated) */
    size_t key_len;
    const char *s;                /* a string: decoded (NUL-terminated); a number: its text */
    size_t len;
} lbk__jnode;
typedef struct lbk__json {
    const char *base, *p, *end;
    lbk__jnode *nodes;
    int32_t n;
    size_t cap;
    char *arena;
    size_t used;
    char err[160];
    bool oom;
} lbk__json;

static bool lbk__jfail(lbk__json *j, const char *what) {
    if (!j->err[0]) snprintf(j->err, sizeof j->err, "bad JSON at byte %zu of the header: %s", (size_t)(j->p - j->base), what);
    return false;
}
static void lbk__jws(lbk__json *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}
static int32_t lbk__jnew(lbk__json *j, int kind) {
    lbk__jnode *x;
    if (j->n >= LBK__JSON_MAX_NODES) { lbk__jfail(j, "more than 4194304 values"); return -1; }
    if (!LBK__GROW(j->nodes, j->cap, (size_t)j->n + 1)) { snprintf(j->err, sizeof j->err, "out of memory"); j->oom = true; return -1; }
    x = &j->nodes[j->n];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->first = x->next = -1;
    return j->n++;
}
static int lbk__jhex(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}
static bool lbk__jhex4(lbk__json *j, unsigned *out) {
    int k, h;
    *out = 0;
    if (j->end - j->p < 4) return lbk__jfail(j, "a \\u escape needs four hex digits");
    for (k = 0; k < 4; k++) {
        if ((h = lbk__jhex(j->p[k])) < 0) return lbk__jfail(j, "a \\u escape needs four hex digits");
        *out = *out << 4 | (unsigned)h;
    }
    j->p += 4;
    return true;
}
/* A string at j->p (its opening quote) decoded into the arena. */
static bool lbk__jstring(lbk__json *j, const char **out, size_t *out_len) {
    char *o = j->arena + j->used, *start = o;
    j->p++;
    for (;;) {
        unsigned char c;
        if (j->p >= j->end) return lbk__jfail(j, "a string is not closed");
        c = (unsigned char)*j->p;
        if (c == '"') { j->p++; break; }
        if (c < 0x20) return lbk__jfail(j, "a control character inside a string");
        if (c != '\\') { *o++ = (char)c; j->p++; continue; }
        if (++j->p >= j->end) return lbk__jfail(j, "a string ends inside an escape");
        switch (*j->p++) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned u, lo;
            if (!lbk__jhex4(j, &u)) return false;
            if (u >= 0xDC00 && u <= 0xDFFF) return lbk__jfail(j, "a lone low surrogate in a \\u escape");
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') return lbk__jfail(j, "a lone high surrogate in a \\u escape");
                j->p += 2;
                if (!lbk__jhex4(j, &lo)) return false;
                if (lo < 0xDC00 || lo > 0xDFFF) return lbk__jfail(j, "a high surrogate not followed by a low one");
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            /* UTF-8: at most 4 bytes from at least 6 (one escape) or 12 (a pair) of text */
            if (u < 0x80) *o++ = (char)u;
            else if (u < 0x800) { *o++ = (char)(0xC0 | u >> 6); *o++ = (char)(0x80 | (u & 63)); }
            else if (u < 0x10000) { *o++ = (char)(0xE0 | u >> 12); *o++ = (char)(0x80 | (u >> 6 & 63)); *o++ = (char)(0x80 | (u & 63)); }
            else { *o++ = (char)(0xF0 | u >> 18); *o++ = (char)(0x80 | (u >> 12 & 63)); *o++ = (char)(0x80 | (u >> 6 & 63)); *o++ = (char)(0x80 | (u & 63)); }
            break;
        }
        default: j->p--; return lbk__jfail(j, "an unknown escape");
        }
    }
    *o++ = '\0';
    *out = start;
    *out_len = (size_t)(o - start) - 1;
    j->used += (size_t)(o - start);
    return true;
}
static bool lbk__jnumber(lbk__json *j) {
    const char *q = j->p;
    if (q < j->end && *q == '-') q++;
    if (q >= j->end || *q < '0' || *q > '9') return lbk__jfail(j, "a malformed number");
    if (*q == '0') q++;
    else while (q < j->end && *q >= '0' && *q <= '9') q++;
    if (q < j->end && *q == '.') {
        if (++q >= j->end || *q < '0' || *q > '9') return lbk__jfail(j, "a malformed number");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < j->end && (*q == '+' || *q == '-')) q++;
        if (q >= j->end || *q < '0' || *q > '9') return lbk__jfail(j, "a malformed number");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    j->p = q;
    return true;
}
static int32_t lbk__jvalue(lbk__json *j, int depth) {
    int32_t id, last = -1, kid;
    lbk__jws(j);
    if (j->p >= j->end) { lbk__jfail(j, "a value is missing"); return -1; }
    if (depth > LBK__JSON_MAX_DEPTH) { lbk__jfail(j, "nested deeper than 64 levels"); return -1; }
    switch (*j->p) {
    case '{': case '[': {
        bool obj = *j->p == '{';
        char close = obj ? '}' : ']';
        if ((id = lbk__jnew(j, obj ? LBK__J_OBJ : LBK__J_ARR)) < 0) return -1;
        j->p++;
        lbk__jws(j);
        if (j->p < j->end && *j->p == close) { j->p++; return id; }
        for (;;) {
            const char *key = NULL;
            size_t key_len = 0;
            if (obj) {
                lbk__jws(j);
                if (j->p >= j->end || *j->p != '"') { lbk__jfail(j, "an object member needs a string key"); return -1; }
                if (!lbk__jstring(j, &key, &key_len)) return -1;
                lbk__jws(j);
                if (j->p >= j->end || *j->p != ':') { lbk__jfail(j, "a ':' is missing after a key"); return -1; }
                j->p++;
            }
            if ((kid = lbk__jvalue(j, depth + 1)) < 0) return -1;
            j->nodes[kid].key = key;
            j->nodes[kid].key_len = key_len;
            if (last < 0) j->nodes[id].first = kid; else j->nodes[last].next = kid;
            last = kid;
            j->nodes[id].count++;
            lbk__jws(j);
            if (j->p < j->end && *j->p == ',') { j->p++; continue; }
            if (j->p < j->end && *j->p == close) { j->p++; return id; }
            lbk__jfail(j, obj ? "a ',' or '}' is missing" : "a ',' or ']' is missing");
            return -1;
        }
    }
    case '"':
        if ((id = lbk__jnew(j, LBK__J_STR)) < 0) return -1;
        {
            const char *s;
            size_t n;
            if (!lbk__jstring(j, &s, &n)) return -1;
            j->nodes[id].s = s;
            j->nodes[id].len = n;
        }
        return id;
    case 't': case 'f': case 'n': {
        static const char *const lits[3] = {"true", "false", "null"};
        int k = *j->p == 't' ? 0 : *j->p == 'f' ? 1 : 2;
        size_t n = strlen(lits[k]);
        if ((size_t)(j->end - j->p) < n || memcmp(j->p, lits[k], n) != 0) { lbk__jfail(j, "an unknown word"); return -1; }
        if ((id = lbk__jnew(j, LBK__J_TRUE + k)) < 0) return -1;
        j->p += n;
        return id;
    }
    default: {
        const char *q = j->p;
        if (!lbk__jnumber(j)) return -1;
        if ((id = lbk__jnew(j, LBK__J_NUM)) < 0) return -1;
        j->nodes[id].s = q;
        j->nodes[id].len = (size_t)(j->p - q);
        return id;
    }
    }
}
/* Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF); the first bad byte's
   offset in *at. */
static bool lbk__utf8_ok(const unsigned char *s, size_t n, size_t *at) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], need, cp, k;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 31; }
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 15; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 7; }
        else { *at = i; return false; }
        if (n - i <= need) { *at = i; return false; }
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) { *at = i; return false; }
            cp = cp << 6 | (s[i + k] & 63);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF))) { *at = i; return false; }
        i += need + 1;
    }
    return true;
}
/* A JSON number that is an integer in [0, INT64_MAX]. */
static bool lbk__jint(const lbk__jnode *x, int64_t *out) {
    size_t k;
    uint64_t v = 0;
    if (x->kind != LBK__J_NUM || x->len == 0) return false;
    for (k = 0; k < x->len; k++) {
        unsigned d = (unsigned)(x->s[k] - '0');
        if (d > 9 || v > ((uint64_t)INT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = (int64_t)v;
    return true;
}

/* ---- the weights object ---- */
typedef struct lbk__wentry {
    const char *name;          /* in the arena or the JSON arena (NUL-terminated) */
    lbk_dtype dt;              /* LBK_DTYPE_INVALID: a type lazybk does not read (type names it) */
    char type[24];             /* the file's name for the type ("F32", "Q4_K") */
    int n_dims;                /* as the file says (may exceed LAZYBK_MAX_DIMS: then get refuses) */
    int64_t dims[LAZYBK_MAX_DIMS];
    uint64_t off, bytes;       /* in the data area */
    bool sized;                /* bytes known (the type's size is known) */
} lbk__wentry;
struct lbk_weights {
    lbk_ctx *ctx;
    lbk__blob *blob;
    const unsigned char *data; /* the data area */
    uint64_t data_size;
    int n;
    lbk__wentry *e;            /* file order (safetensors: by offset; GGUF: as listed) */
    const lbk__wentry **by_name; /* e sorted by name */
    int n_meta;
    size_t meta_cap;
    char **meta;               /* key, value pairs (heap strings; an array's value NULL) */
    lbk_result fail;           /* while opening: what a failure is (0: LBK_ERR_FORMAT) */
    lbk__json json;            /* safetensors: the parsed header (names live in its arena) */
    char *strings;             /* GGUF: names and texts */
    char path[256];            /* for messages */
};
static int lbk__wt_cmp_name(const void *a, const void *b) {
    return strcmp((*(const lbk__wentry *const *)a)->name, (*(const lbk__wentry *const *)b)->name);
}
static int lbk__wt_cmp_off(const void *a, const void *b) {
    const lbk__wentry *x = *(const lbk__wentry *const *)a, *y = *(const lbk__wentry *const *)b;
    if (x->off != y->off) return x->off < y->off ? -1 : 1;
    return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}
/* Pointers to e[0..n) sorted by cmp (free with lbk__free); NULL on OOM. */
static const lbk__wentry **lbk__wt_sorted(const lbk__wentry *e, int n, int (*cmp)(const void *, const void *)) {
    const lbk__wentry **s = (const lbk__wentry **)lbk__malloc(sizeof *s * (size_t)(n + 1));
    int i;
    if (!s) return NULL;
    for (i = 0; i < n; i++) s[i] = &e[i];
    qsort((void *)s, (size_t)n, sizeof *s, cmp);
    return s;
}
static void lbk__weights_free(lbk_weights *w) {
    int i;
    if (!w) return;
    for (i = 0; i < 2 * w->n_meta; i++) lbk__free(w->meta[i]);
    lbk__free(w->meta);
    lbk__free(w->e);
    lbk__free((void *)w->by_name);
    lbk__free(w->json.nodes);
    lbk__free(w->json.arena);
    lbk__free(w->strings);
    lbk__blob_unref(w->blob);
    lbk__free(w);
}
/* Records why opening failed as an out-of-memory (the message and w->fail); false. */
static bool lbk__wt_oom(lbk_weights *w, char *why, size_t why_n) {
    w->fail = LBK_ERR_OOM;
    snprintf(why, why_n, "out of memory");
    return false;
}
/* A key and its value (v NULL: an array's, no text). */
static bool lbk__wt_add_meta(lbk_weights *w, const char *k, size_t kn, const char *v, size_t vn) {
    char **m;
    if (!LBK__GROW(w->meta, w->meta_cap, 2 * (size_t)w->n_meta + 2)) return false;
    m = w->meta + 2 * w->n_meta;
    if (!(m[0] = lbk__strndup(k, kn))) return false;
    m[1] = NULL;
    if (v && !(m[1] = lbk__strndup(v, vn))) { lbk__free(m[0]); return false; }
    w->n_meta++;
    return true;
}
/* Sorted names: duplicates refused. */
static bool lbk__wt_index(lbk_weights *w, char *why, size_t why_n) {
    int i;
    if (!(w->by_name = lbk__wt_sorted(w->e, w->n, lbk__wt_cmp_name))) return lbk__wt_oom(w, why, why_n);
    for (i = 1; i < w->n; i++)
        if (strcmp(w->by_name[i]->name, w->by_name[i - 1]->name) == 0) {
            snprintf(why, why_n, "the tensor name '%.100s' appears twice", w->by_name[i]->name);
            return false;
        }
    return true;
}
/* safetensors: 8 bytes of header length (little-endian), the JSON header, the data. The
   tensors' ranges must tile the data exactly, as the reference reader requires. */
#define LBK__ST_MAX_HEADER 100000000u
static bool lbk__st_parse(lbk_weights *w, const unsigned char *b, size_t size, char *why, size_t why_n) {
    lbk__json *j = &w->json;
    uint64_t hn, end = 0;
    int32_t top, m;
    size_t bad;
    int i;
    const lbk__wentry **order;
    bool seen_meta = false;
    if (size < 8) { snprintf(why, why_n, "%zu bytes: too short for a safetensors header length", size); return false; }
    hn = lbk__le64(b);
    if (hn > LBK__ST_MAX_HEADER) { snprintf(why, why_n, "the header length %llu is over the format's limit of 100000000", (unsigned long long)hn); return false; }
    if (hn > size - 8) { snprintf(why, why_n, "the header of %llu bytes runs past the end of the file (%zu bytes)", (unsigned long long)hn, size); return false; }
    if (!lbk__utf8_ok(b + 8, (size_t)hn, &bad)) { snprintf(why, why_n, "the header is not UTF-8 (byte %zu)", bad); return false; }
    j->base = j->p = (const char *)b + 8;
    j->end = j->p + hn;
    if (!(j->arena = (char *)lbk__malloc((size_t)hn + 1))) return lbk__wt_oom(w, why, why_n);
    lbk__jws(j);
    if (j->p >= j->end || *j->p != '{') { snprintf(why, why_n, "the header is not a JSON object"); return false; }
    if ((top = lbk__jvalue(j, 0)) < 0) {
        if (j->oom) w->fail = LBK_ERR_OOM;
        snprintf(why, why_n, "%s", j->err);
        return false;
    }
    lbk__jws(j);
    if (j->p != j->end) { lbk__jfail(j, "text after the header's object"); snprintf(why, why_n, "%s", j->err); return false; }
    w->data = b + 8 + hn;
    w->data_size = size - 8 - hn;
    if (!(w->e = (lbk__wentry *)lbk__calloc((size_t)j->nodes[top].count + 1, sizeof *w->e))) return lbk__wt_oom(w, why, why_n);
    for (m = j->nodes[top].first; m >= 0; m = j->nodes[m].next) {
        const lbk__jnode *x = &j->nodes[m];
        lbk__wentry *e;
        int32_t f, dt_node = -1, sh_node = -1, of_node = -1;
        int64_t dims[64], numel, v, range[2];
        int k, nd = 0;
        if (strlen(x->key) != x->key_len) { snprintf(why, why_n, "a key holds a NUL character"); return false; }
        if (strcmp(x->key, "__metadata__") == 0) {
            int32_t q;
            if (x->kind != LBK__J_OBJ) { snprintf(why, why_n, "__metadata__ is not an object"); return false; }
            if (seen_meta) { snprintf(why, why_n, "__metadata__ appears twice"); return false; }
            seen_meta = true;
            for (q = x->first; q >= 0; q = j->nodes[q].next) {
                const lbk__jnode *mv = &j->nodes[q];
                if (mv->kind != LBK__J_STR) { snprintf(why, why_n, "__metadata__ value '%.100s' is not a string", mv->key); return false; }
                if (strlen(mv->key) != mv->key_len || strlen(mv->s) != mv->len) { snprintf(why, why_n, "__metadata__ '%.100s' holds a NUL character", mv->key); return false; }
                if (lbk_weights_meta(w, mv->key)) { snprintf(why, why_n, "__metadata__ repeats the key '%.100s'", mv->key); return false; }
                if (!lbk__wt_add_meta(w, mv->key, mv->key_len, mv->s, mv->len)) return lbk__wt_oom(w, why, why_n);
            }
            continue;
        }
        if (x->kind != LBK__J_OBJ) { snprintf(why, why_n, "tensor '%.100s' is not an object", x->key); return false; }
        for (f = x->first; f >= 0; f = j->nodes[f].next) {
            int32_t *slot = strcmp(j->nodes[f].key, "dtype") == 0 ? &dt_node : strcmp(j->nodes[f].key, "shape") == 0 ? &sh_node
                          : strcmp(j->nodes[f].key, "data_offsets") == 0 ? &of_node : NULL;
            if (!slot) continue;   /* other fields are ignored, as the reference reader does */
            if (*slot >= 0) { snprintf(why, why_n, "tensor '%.100s' repeats the field '%s'", x->key, j->nodes[f].key); return false; }
            *slot = f;
        }
        if (dt_node < 0 || sh_node < 0 || of_node < 0)
            { snprintf(why, why_n, "tensor '%.100s' lacks the field '%s'", x->key, dt_node < 0 ? "dtype" : sh_node < 0 ? "shape" : "data_offsets"); return false; }
        if (j->nodes[dt_node].kind != LBK__J_STR || j->nodes[dt_node].len >= sizeof e->type || j->nodes[dt_node].len == 0)
            { snprintf(why, why_n, "tensor '%.100s': dtype is not a type name", x->key); return false; }
        if (j->nodes[sh_node].kind != LBK__J_ARR || j->nodes[sh_node].count > 64)
            { snprintf(why, why_n, "tensor '%.100s': shape is not an array of at most 64 sizes", x->key); return false; }
        for (f = j->nodes[sh_node].first; f >= 0; f = j->nodes[f].next) {
            if (!lbk__jint(&j->nodes[f], &v)) { snprintf(why, why_n, "tensor '%.100s': a size in shape is not an integer in [0, 2^63)", x->key); return false; }
            dims[nd++] = v;
        }
        if (j->nodes[of_node].kind != LBK__J_ARR || j->nodes[of_node].count != 2 || !lbk__jint(&j->nodes[j->nodes[of_node].first], &range[0]) ||
            !lbk__jint(&j->nodes[j->nodes[j->nodes[of_node].first].next], &range[1]))
            { snprintf(why, why_n, "tensor '%.100s': data_offsets is not two integers in [0, 2^63)", x->key); return false; }
        e = &w->e[w->n++];
        e->name = x->key;
        memcpy(e->type, j->nodes[dt_node].s, j->nodes[dt_node].len + 1);
        e->dt = LBK_DTYPE_INVALID;
        for (k = 1; k < LBK_DTYPE_COUNT; k++)
            if (strcmp(lbk__dtypes[k].safetensors, e->type) == 0) e->dt = (lbk_dtype)k;
        e->n_dims = nd;
        for (k = 0; k < nd && k < LAZYBK_MAX_DIMS; k++) e->dims[k] = dims[k];
        if ((numel = lbk_shape_numel(nd, dims)) < 0) { snprintf(why, why_n, "tensor '%.100s': its shape has more than 2^63 elements", x->key); return false; }
        if (range[1] < range[0]) { snprintf(why, why_n, "tensor '%.100s': data_offsets [%lld, %lld] run backwards", x->key, (long long)range[0], (long long)range[1]); return false; }
        e->off = (uint64_t)range[0];
        e->bytes = (uint64_t)(range[1] - range[0]);
        {   /* the byte size the type says; the format's other types by their names */
            static const char *const other[] = {"I16", "U16", "F8_E5M2", "F8_E4M3", "F8_E8M0", "U32", "U64", "C64"};
            static const unsigned other_size[] = {2, 2, 1, 1, 1, 4, 8, 8};
            unsigned esz = e->dt ? (unsigned)lbk_dtype_size(e->dt) : 0;
            for (k = 0; !esz && k < (int)LBK__COUNTOF(other); k++)
                if (strcmp(other[k], e->type) == 0) esz = other_size[k];
            e->sized = esz != 0;
            if (esz && (numel > INT64_MAX / (int64_t)esz || (uint64_t)numel * esz != e->bytes))
                { snprintf(why, why_n, "tensor '%.100s': %s of %lld elements is not the %llu bytes of its data_offsets", x->key, e->type, (long long)numel, (unsigned long long)e->bytes); return false; }
        }
    }
    if (!(order = lbk__wt_sorted(w->e, w->n, lbk__wt_cmp_off))) return lbk__wt_oom(w, why, why_n);
    for (i = 0; i < w->n; i++) {
        const lbk__wentry *e = order[i];
        if (e->off != end) {
            snprintf(why, why_n, "tensor '%.100s' starts at byte %llu of the data, not at %llu where the one before it ends (%s)", e->name,
                     (unsigned long long)e->off, (unsigned long long)end, e->off < end ? "ranges overlap" : "a gap");
            lbk__free((void *)order);
            return false;
        }
        end = e->off + e->bytes;   /* no overflow: both below 2^63 */
    }
    if (end != w->data_size) {
        snprintf(why, why_n, "the tensors' data ends at byte %llu but the file has %llu bytes of data", (unsigned long long)end, (unsigned long long)w->data_size);
        lbk__free((void *)order);
        return false;
    }
    {   /* file order: by offset */
        lbk__wentry *s = (lbk__wentry *)lbk__malloc(sizeof *s * (size_t)(w->n + 1));
        if (!s) { lbk__free((void *)order); return lbk__wt_oom(w, why, why_n); }
        for (i = 0; i < w->n; i++) s[i] = *order[i];
        lbk__free(w->e);
        w->e = s;
    }
    lbk__free((void *)order);
    return true;
}

/* GGUF v2/v3 (little-endian): magic, version, tensor count, key/value count; the key/values;
   the tensor infos (name, dims fastest first, type, offset); padding to the alignment; the
   data. Every read is bounded by the file. */
typedef struct lbk__gg { const unsigned char *p, *end, *base; char *why; size_t why_n; } lbk__gg;
static bool lbk__ggfail(lbk__gg *g, const char *what) {
    snprintf(g->why, g->why_n, "%s (at byte %zu)", what, (size_t)(g->p - g->base));
    return false;
}
static bool lbk__gg_take(lbk__gg *g, size_t n, const unsigned char **out) {
    if ((size_t)(g->end - g->p) < n) return lbk__ggfail(g, "the file ends early");
    *out = g->p;
    g->p += n;
    return true;
}
static bool lbk__gg_u32(lbk__gg *g, uint32_t *v) {
    const unsigned char *q;
    if (!lbk__gg_take(g, 4, &q)) return false;
    *v = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    return true;
}
static bool lbk__gg_u64(lbk__gg *g, uint64_t *v) {
    const unsigned char *q;
    if (!lbk__gg_take(g, 8, &q)) return false;
    *v = lbk__le64(q);
    return true;
}
static bool lbk__gg_str(lbk__gg *g, const char **s, uint64_t *n) {
    const unsigned char *q;
    if (!lbk__gg_u64(g, n)) return false;
    if (*n > (uint64_t)(g->end - g->p)) { g->p -= 8; return lbk__ggfail(g, "a string's length runs past the end of the file"); }
    if (!lbk__gg_take(g, (size_t)*n, &q)) return false;
    *s = (const char *)q;
    return true;
}
enum { LBK__GG_U8, LBK__GG_I8, LBK__GG_U16, LBK__GG_I16, LBK__GG_U32, LBK__GG_I32, LBK__GG_F32, LBK__GG_BOOL, LBK__GG_STR,
       LBK__GG_ARR, LBK__GG_U64, LBK__GG_I64, LBK__GG_F64, LBK__GG_NTYPES };
static const unsigned char lbk__gg_vsize[LBK__GG_NTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
/* A value of type t: as text in out (scalars and strings; an array leaves out empty), or
   skipped (out NULL). Arrays nest at most 8 deep. */
static bool lbk__gg_value(lbk__gg *g, uint32_t t, int depth, lbk__str *out) {
    const unsigned char *q;
    if (t >= LBK__GG_NTYPES) return lbk__ggfail(g, "an unknown value type");
    if (t == LBK__GG_STR) {
        const char *s;
        uint64_t n;
        if (!lbk__gg_str(g, &s, &n)) return false;
        if (out) {
            if (memchr(s, 0, (size_t)n)) return lbk__ggfail(g, "a string value holds a NUL byte");
            lbk__str_append(out, "%.*s", (int)(n > INT_MAX ? INT_MAX : n), s);
            if (n > INT_MAX) out->oom = true;
        }
        return true;
    }
    if (t == LBK__GG_ARR) {
        uint32_t et;
        uint64_t n, i;
        if (depth >= 8) return lbk__ggfail(g, "arrays nested deeper than 8");
        if (!lbk__gg_u32(g, &et) || !lbk__gg_u64(g, &n)) return false;
        if (et >= LBK__GG_NTYPES) return lbk__ggfail(g, "an array of an unknown value type");
        /* every element takes at least a byte (a string 8, an array 12): a count the rest of the file cannot hold is refused before looping */
        if (n > (uint64_t)(g->end - g->p) / (et == LBK__GG_STR ? 8u : et == LBK__GG_ARR ? 12u : lbk__gg_vsize[et]))
            return lbk__ggfail(g, "an array's count is more than the rest of the file can hold");
        if (lbk__gg_vsize[et]) return lbk__gg_take(g, (size_t)(n * lbk__gg_vsize[et]), &q);
        for (i = 0; i < n; i++)
            if (!lbk__gg_value(g, et, depth + 1, NULL)) return false;
        return true;
    }
    if (!lbk__gg_take(g, lbk__gg_vsize[t], &q)) return false;
    if (out) {
        uint64_t u = 0;
        int k;
        for (k = lbk__gg_vsize[t] - 1; k >= 0; k--) u = u << 8 | q[k];
        switch (t) {
        case LBK__GG_U8: case LBK__GG_U16: case LBK__GG_U32: case LBK__GG_U64: lbk__str_append(out, "%llu", (unsigned long long)u); break;
        case LBK__GG_I8: lbk__str_append(out, "%d", (int)(int8_t)u); break;
        case LBK__GG_I16: lbk__str_append(out, "%d", (int)(int16_t)u); break;
        case LBK__GG_I32: lbk__str_append(out, "%ld", (long)(int32_t)u); break;
        case LBK__GG_I64: lbk__str_append(out, "%lld", (long long)(int64_t)u); break;
        case LBK__GG_BOOL:
            if (u > 1) return lbk__ggfail(g, "a bool value is neither 0 nor 1");
            lbk__str_append(out, "%s", u ? "true" : "false");
            break;
        case LBK__GG_F32: { uint32_t b32 = (uint32_t)u; float f; memcpy(&f, &b32, 4); lbk__str_append(out, "%.9g", (double)f); break; }
        default: { double f; memcpy(&f, &u, 8); lbk__str_append(out, "%.17g", f); break; }
        }
    }
    return true;
}
/* ggml tensor types: elements per block and bytes per block (0: unknown to lazybk). */
typedef struct lbk__ggtype { const char *name; unsigned block, bytes; } lbk__ggtype;
static const lbk__ggtype lbk__ggtypes[] = {
    {"F32", 1, 4}, {"F16", 1, 2}, {"Q4_0", 32, 18}, {"Q4_1", 32, 20}, {NULL, 0, 0}, {NULL, 0, 0}, {"Q5_0", 32, 22},
    {"Q5_1", 32, 24}, {"Q8_0", 32, 34}, {"Q8_1", 32, 36}, {"Q2_K", 256, 84}, {"Q3_K", 256, 110}, {"Q4_K", 256, 144},
    {"Q5_K", 256, 176}, {"Q6_K", 256, 210}, {"Q8_K", 256, 292}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0},
    {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {"I8", 1, 1}, {"I16", 1, 2}, {"I32", 1, 4}, {"I64", 1, 8},
    {"F64", 1, 8}, {NULL, 0, 0}, {"BF16", 1, 2}};
static bool lbk__gguf_parse(lbk_weights *w, const unsigned char *b, size_t size, char *why, size_t why_n) {
    lbk__gg g;
    uint32_t version, align = 32;
    uint64_t n_t, n_kv, i, data_at, end = 0;
    const lbk__wentry **order = NULL;
    int k;
    lbk__str text = {NULL, 0, 0, false};
    const unsigned char *q;
    g.p = g.base = b; g.end = b + size; g.why = why; g.why_n = why_n;
    if (!lbk__gg_take(&g, 4, &q) || !lbk__gg_u32(&g, &version)) return false;
    if (version != 2 && version != 3) {   /* a well-formed file lazybk does not read */
        w->fail = LBK_ERR_UNSUPPORTED;
        if (version == 0x03000000u || version == 0x02000000u) snprintf(why, why_n, "a big-endian GGUF file (lazybk reads little-endian ones)");
        else snprintf(why, why_n, "GGUF version %lu (lazybk reads versions 2 and 3)", (unsigned long)version);
        return false;
    }
    if (!lbk__gg_u64(&g, &n_t) || !lbk__gg_u64(&g, &n_kv)) return false;
    /* a key/value takes at least 13 bytes and a tensor info 24: counts the file cannot hold are refused before any allocation */
    if (n_kv > (uint64_t)(g.end - g.p) / 13) { g.p -= 8; return lbk__ggfail(&g, "the key/value count is more than the file can hold"); }
    if (n_t > (uint64_t)(g.end - g.p) / 24 || n_t > INT_MAX - 1) { g.p -= 16; return lbk__ggfail(&g, "the tensor count is more than the file can hold"); }
    for (i = 0; i < n_kv; i++) {
        const char *key;
        uint64_t kn;
        uint32_t t;
        if (!lbk__gg_str(&g, &key, &kn) || !lbk__gg_u32(&g, &t)) goto fail;
        if (kn == 0 || memchr(key, 0, (size_t)kn)) { lbk__ggfail(&g, "a key is empty or holds a NUL byte"); goto fail; }
        text.len = 0;
        if (text.p) text.p[0] = '\0';
        if (!lbk__gg_value(&g, t, 0, &text)) goto fail;
        if (text.oom) { lbk__wt_oom(w, why, why_n); goto fail; }
        for (k = 0; k < w->n_meta; k++)
            if (strlen(w->meta[2 * k]) == kn && memcmp(w->meta[2 * k], key, (size_t)kn) == 0) {
                snprintf(why, why_n, "the key '%.*s' appears twice", (int)(kn < 100 ? kn : 100), key);
                goto fail;
            }
        if (kn == 17 && memcmp(key, "general.alignment", 17) == 0) {
            unsigned long long a = strtoull(text.p ? text.p : "0", NULL, 10);
            if (t != LBK__GG_U32 || a == 0 || (a & (a - 1)) != 0) { snprintf(why, why_n, "general.alignment is not a power of two stored as u32"); goto fail; }
            align = (uint32_t)a;
        }
        /* arrays are stepped over: their key is kept, with no text */
        if (!lbk__wt_add_meta(w, key, (size_t)kn, t == LBK__GG_ARR ? NULL : (text.p ? text.p : ""), text.len)) { lbk__wt_oom(w, why, why_n); goto fail; }
    }
    if (!(w->e = (lbk__wentry *)lbk__calloc((size_t)n_t + 1, sizeof *w->e)) || !(w->strings = (char *)lbk__malloc((size_t)(g.end - g.p) + 1))) {
        lbk__wt_oom(w, why, why_n);
        goto fail;
    }
    {
        char *sp = w->strings;
        for (i = 0; i < n_t; i++) {
            lbk__wentry *e = &w->e[w->n];
            const char *name;
            uint64_t nn, dims[LAZYBK_MAX_DIMS], off;
            uint32_t nd, t;
            int64_t numel;
            int d;
            if (!lbk__gg_str(&g, &name, &nn) || !lbk__gg_u32(&g, &nd)) goto fail;
            if (memchr(name, 0, (size_t)nn)) { lbk__ggfail(&g, "a tensor name holds a NUL byte"); goto fail; }
            if (nd > LAZYBK_MAX_DIMS) { g.p -= 4; lbk__ggfail(&g, "a tensor has more than 8 dims"); goto fail; }
            for (d = 0; d < (int)nd; d++)
                if (!lbk__gg_u64(&g, &dims[d])) goto fail;
            if (!lbk__gg_u32(&g, &t) || !lbk__gg_u64(&g, &off)) goto fail;
            memcpy(sp, name, (size_t)nn);   /* names fit: the arena is as large as what follows the key/values */
            sp[nn] = '\0';
            e->name = sp;
            sp += nn + 1;
            e->n_dims = (int)nd;
            numel = 0;
            for (d = 0; d < (int)nd; d++) {
                if (dims[d] > (uint64_t)INT64_MAX) numel = -1;
                e->dims[nd - 1 - d] = (int64_t)dims[d];   /* ne[0] is fastest: last in lazybk's order */
            }
            if (numel < 0 || (numel = lbk_shape_numel((int)nd, e->dims)) < 0) { snprintf(why, why_n, "tensor '%.100s': its shape has more than 2^63 elements", e->name); goto fail; }
            e->off = off;
            e->dt = LBK_DTYPE_INVALID;
            for (k = 1; k < LBK_DTYPE_COUNT; k++)
                if (lbk__dtypes[k].gguf_type == (int)t) e->dt = (lbk_dtype)k;
            if (t < LBK__COUNTOF(lbk__ggtypes) && lbk__ggtypes[t].name) {
                const lbk__ggtype *ty = &lbk__ggtypes[t];
                snprintf(e->type, sizeof e->type, "%s", ty->name);
                if (nd > 0 && dims[0] % ty->block != 0) { snprintf(why, why_n, "tensor '%.100s': %s needs rows of a multiple of %u elements, not %llu", e->name, ty->name, ty->block, (unsigned long long)dims[0]); goto fail; }
                if ((uint64_t)numel / ty->block > (uint64_t)INT64_MAX / ty->bytes) { snprintf(why, why_n, "tensor '%.100s': its size overflows", e->name); goto fail; }
                e->bytes = (uint64_t)numel / ty->block * ty->bytes;
                e->sized = true;
            } else {
                snprintf(e->type, sizeof e->type, "GGUF type %lu", (unsigned long)t);
            }
            w->n++;
        }
    }
    data_at = (uint64_t)(g.p - b);
    data_at += (align - data_at % align) % align;
    if (data_at > size) { snprintf(why, why_n, "the data area (at byte %llu, aligned to %lu) lies past the end of the file", (unsigned long long)data_at, (unsigned long)align); goto fail; }
    w->data = b + data_at;
    w->data_size = size - data_at;
    if (!(order = lbk__wt_sorted(w->e, w->n, lbk__wt_cmp_off))) { lbk__wt_oom(w, why, why_n); goto fail; }
    for (k = 0; k < w->n; k++) {
        const lbk__wentry *e = order[k];
        if (e->off % align != 0) { snprintf(why, why_n, "tensor '%.100s' is at offset %llu, not a multiple of the alignment %lu", e->name, (unsigned long long)e->off, (unsigned long)align); goto fail; }
        if (e->off > w->data_size || (e->sized && e->bytes > w->data_size - e->off))
            { snprintf(why, why_n, "tensor '%.100s' (%llu bytes at offset %llu) runs past the end of the data (%llu bytes)", e->name, (unsigned long long)e->bytes, (unsigned long long)e->off, (unsigned long long)w->data_size); goto fail; }
        if (e->off < end) { snprintf(why, why_n, "tensor '%.100s' at offset %llu overlaps the tensor before it (which ends at %llu)", e->name, (unsigned long long)e->off, (unsigned long long)end); goto fail; }
        if (e->sized) end = e->off + e->bytes;
    }
    lbk__free((void *)order);
    lbk__str_free(&text);
    return true;
fail:
    lbk__free((void *)order);
    lbk__str_free(&text);
    return false;
}

static lbk_weights *lbk__weights_from_blob(lbk_ctx *ctx, lbk__blob *b, const char *path, const char *W) {
    char why[512];
    lbk_weights *w;
    const unsigned char *d = (const unsigned char *)b->base;
    bool ok;
    why[0] = '\0';
    if (!lbk__host_little()) { lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, W, -1, "'%s': this host is big-endian (weights files are little-endian)", path); return NULL; }
    if (!(w = (lbk_weights *)lbk__calloc(1, sizeof *w))) { lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory"); return NULL; }
    w->ctx = ctx;
    w->blob = b;
    lbk__blob_ref(b);
    snprintf(w->path, sizeof w->path, "%s", path);
    if (b->size >= 4 && memcmp(d, "GGUF", 4) == 0) ok = lbk__gguf_parse(w, d, b->size, why, sizeof why);
    else ok = lbk__st_parse(w, d, b->size, why, sizeof why);
    if (ok) ok = lbk__wt_index(w, why, sizeof why);
    if (!ok) {
        lbk__ctx_fail(ctx, w->fail ? w->fail : LBK_ERR_FORMAT, W, -1, "'%s': %s", path, why);
        lbk__weights_free(w);
        return NULL;
    }
    return w;
}
static lbk_weights *lbk__g_weights_open(lbk_ctx *ctx, const char *path) {
    const char *W = "lbk_weights_open", *why = "";
    lbk__blob *b = NULL;
    lbk_weights *w;
    lbk_result r;
    if (!path) { lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "NULL path"); return NULL; }
    if ((r = lbk__blob_file(path, &b, &why)) != LBK_OK) {
        lbk__ctx_fail(ctx, r, W, -1, r == LBK_ERR_OOM ? "out of memory reading '%s'%s" : "cannot open '%s': %s", path, r == LBK_ERR_OOM ? "" : why);
        return NULL;
    }
    w = lbk__weights_from_blob(ctx, b, path, W);
    lbk__blob_unref(b);
    return w;
}
static lbk_weights *lbk__g_weights_open_memory(lbk_ctx *ctx, const void *data, size_t size) {
    const char *W = "lbk_weights_open_memory";
    lbk__blob *b;
    lbk_weights *w;
    if (!data && size) { lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "NULL data"); return NULL; }
    if (!(b = (lbk__blob *)lbk__calloc(1, sizeof *b)) || !(b->base = lbk__malloc(size + 1))) {
        lbk__free(b);
        lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory copying %zu bytes", size);
        return NULL;
    }
    b->refs = 1;
    b->size = size;
    if (size) memcpy(b->base, data, size);
    w = lbk__weights_from_blob(ctx, b, "memory", W);
    lbk__blob_unref(b);
    return w;
}
LAZYBK_API lbk_weights *lbk_weights_open(lbk_ctx *ctx, const char *path) {
    if (!ctx) { lbk__set_last(LBK_ERR_ARG, "lbk_weights_open: NULL context"); return NULL; }
    LBK__GUARD(lbk_weights *, ctx, "weights_open", NULL, lbk__g_weights_open(ctx, path));
}
LAZYBK_API lbk_weights *lbk_weights_open_memory(lbk_ctx *ctx, const void *data, size_t size) {
    if (!ctx) { lbk__set_last(LBK_ERR_ARG, "lbk_weights_open_memory: NULL context"); return NULL; }
    LBK__GUARD(lbk_weights *, ctx, "weights_open_memory", NULL, lbk__g_weights_open_memory(ctx, data, size));
}
LAZYBK_API int lbk_weights_count(const lbk_weights *w) { return w ? w->n : -1; }
LAZYBK_API const char *lbk_weights_name(const lbk_weights *w, int i) { return w && i >= 0 && i < w->n ? w->e[i].name : NULL; }
LAZYBK_API lbk_result lbk_weights_info(const lbk_weights *w, int i, lbk_dtype *out_dtype, int *out_n_dims, int64_t *out_dims,
                                       const char **out_type) {
    const lbk__wentry *e;
    int d;
    if (!w || i < 0 || i >= w->n) return lbk__set_last(LBK_ERR_ARG, "lbk_weights_info: %s", !w ? "NULL weights" : "index out of range");
    e = &w->e[i];
    if (out_dtype) *out_dtype = e->dt;
    if (out_n_dims) *out_n_dims = e->n_dims;
    if (out_dims)
        for (d = 0; d < e->n_dims && d < LAZYBK_MAX_DIMS; d++) out_dims[d] = e->dims[d];
    if (out_type) *out_type = e->type;
    return LBK_OK;
}
static int lbk__wt_find(const lbk_weights *w, const char *name) {
    int lo = 0, hi = w->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(w->by_name[mid]->name, name);
        if (c == 0) return (int)(w->by_name[mid] - w->e);
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}
LAZYBK_API const char *lbk_weights_meta(const lbk_weights *w, const char *key) {
    int k;
    if (!w || !key) return NULL;
    for (k = 0; k < w->n_meta; k++)
        if (w->meta[2 * k] && strcmp(w->meta[2 * k], key) == 0) return w->meta[2 * k + 1];
    return NULL;
}
static lbk_tensor lbk__g_weights_get(const char *file, int line, lbk_weights *w, const char *name) {
    lbk_ctx *ctx = w->ctx;
    const lbk__wentry *e;
    const unsigned char *p;
    size_t esz;
    int i;
    LBK__OPCTX(oc, "weights_get", LBK_OP_PARAM);
    if (!name) return lbk__op_fail(&oc, LBK_ERR_ARG, "NULL name");
    if ((i = lbk__wt_find(w, name)) < 0) return lbk__op_fail(&oc, LBK_ERR_NOT_FOUND, "no tensor named '%.200s' in '%s'", name, w->path);
    e = &w->e[i];
    if (!e->dt) return lbk__op_fail(&oc, LBK_ERR_UNSUPPORTED, "tensor '%.200s' in '%s' is %s, a type lazybk does not read", name, w->path, e->type);
    if (e->n_dims > LAZYBK_MAX_DIMS) return lbk__op_fail(&oc, LBK_ERR_UNSUPPORTED, "tensor '%.200s' has %d dims (at most %d)", name, e->n_dims, LAZYBK_MAX_DIMS);
    if (!lbk__check_dims(&oc, e->dt, e->n_dims, e->dims)) return lbk__null_tensor();
    p = w->data + e->off;
    esz = lbk_dtype_size(e->dt);
    if (e->bytes > 0 && ((uintptr_t)p % esz) == 0 && ctx->iface->data_wrap_host) {   /* zero-copy over the mapping */
        lbk_data *d = NULL;
        lbk__blob_ref(w->blob);
        lbk__clear_backend_error();
        if (ctx->iface->data_wrap_host(ctx->self, ctx->device, e->dt, e->n_dims, e->dims, (void *)(uintptr_t)p, lbk__blob_unref, w->blob, &d) == LBK_OK && d)
            return lbk__data_tensor(&oc, e->dt, e->n_dims, e->dims, d, true);
        lbk__blob_unref(w->blob);   /* declined: a failed wrap does not release */
    }
    return lbk__g_from_host_at(file, line, ctx, e->dt, e->n_dims, e->dims, p);
}
LAZYBK_API lbk_tensor lbk_weights_get_at(const char *file, int line, lbk_weights *w, const char *name) {
    if (!w) { lbk__set_last(LBK_ERR_ARG, "lbk_weights_get: NULL weights"); return lbk__null_tensor(); }
    LBK__GUARD(lbk_tensor, w->ctx, "weights_get", lbk__null_tensor(), lbk__g_weights_get(file, line, w, name));
}
LAZYBK_API lbk_tensor (lbk_weights_get)(lbk_weights *w, const char *name) { return lbk_weights_get_at(NULL, 0, w, name); }
LAZYBK_API void lbk_weights_close(lbk_weights *w) { lbk__weights_free(w); }

/* ---- lbk_save_safetensors: the layout of the reference writer ----
   Tensors sorted by the format's dtype order, largest first, then by name (bytes); the
   header is compact JSON with the fields dtype, shape, data_offsets, padded with spaces to
   a multiple of 8; the data follows in that order. Written to a temporary file beside path
   and renamed over it, so a failure leaves what was there. */
static int lbk__st_order(lbk_dtype dt) {
    static const char *const order[] = {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"};
    int k;
    for (k = 0; k < (int)LBK__COUNTOF(order); k++)
        if (strcmp(order[k], lbk__dtypes[dt].safetensors) == 0) return k;
    return -1;
}
typedef struct lbk__st_item { const char *name; int rank, i; uint32_t id; } lbk__st_item;   /* a tensor to write */
static int lbk__st_cmp_name(const void *a, const void *b) {
    return strcmp(((const lbk__st_item *)a)->name, ((const lbk__st_item *)b)->name);
}
static int lbk__st_cmp(const void *a, const void *b) {   /* the file's order: widest dtype first, then by name */
    const lbk__st_item *x = (const lbk__st_item *)a, *y = (const lbk__st_item *)b;
    return x->rank != y->rank ? y->rank - x->rank : strcmp(x->name, y->name);
}
/* s as a JSON string the way the reference writer escapes it. */
static void lbk__json_quote(lbk__str *h, const char *s) {
    lbk__str_append(h, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': lbk__str_append(h, "\\\""); break;
        case '\\': lbk__str_append(h, "\\\\"); break;
        case '\b': lbk__str_append(h, "\\b"); break;
        case '\f': lbk__str_append(h, "\\f"); break;
        case '\n': lbk__str_append(h, "\\n"); break;
        case '\r': lbk__str_append(h, "\\r"); break;
        case '\t': lbk__str_append(h, "\\t"); break;
        default:
            if (c < 0x20) lbk__str_append(h, "\\u%04x", c);
            else lbk__str_append(h, "%c", (char)c);
        }
    }
    lbk__str_append(h, "\"");
}
static lbk_result lbk__g_save_safetensors(lbk_ctx *ctx, const char *path, int n, const char *const *names, const lbk_tensor *ts) {
    const char *W = "lbk_save_safetensors", *why;
    lbk__st_item *it;
    int i, d;
    lbk__str h = {NULL, 0, 0, false}, tmp = {NULL, 0, 0, false};
    uint64_t off = 0, hn;
    size_t big = 0;
    unsigned char *buf = NULL, pre[8];
    FILE *f = NULL;
    lbk_result r = LBK_OK;
    if (!path) return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "NULL path");
    if (n < 0 || (n > 0 && (!names || !ts))) return lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "needs n >= 0 (%d) and, for n > 0, names and tensors", n);
    if (!lbk__host_little()) return lbk__ctx_fail(ctx, LBK_ERR_UNSUPPORTED, W, -1, "this host is big-endian");
    if (!(it = (lbk__st_item *)lbk__malloc(sizeof *it * (size_t)(n + 1)))) return lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory");
    for (i = 0; i < n; i++) {
        size_t at;
        if (!names[i]) { r = lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "names[%d] is NULL", i); goto done; }
        if (!lbk__utf8_ok((const unsigned char *)names[i], strlen(names[i]), &at)) { r = lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "names[%d] is not UTF-8 (byte %zu)", i, at); goto done; }
        if (strcmp(names[i], "__metadata__") == 0) { r = lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "names[%d] is __metadata__, the format's reserved key", i); goto done; }
        if ((r = lbk__resolve(ctx, ts[i], &it[i].id, &why)) != LBK_OK) { r = lbk__ctx_fail(ctx, r, W, -1, "tensor %d ('%.100s'): %s", i, names[i], why); goto done; }
        it[i].name = names[i];
        it[i].i = i;
        it[i].rank = lbk__st_order((lbk_dtype)ctx->nodes[it[i].id].dtype);
    }
    qsort(it, (size_t)n, sizeof *it, lbk__st_cmp_name);   /* names once each */
    for (i = 1; i < n; i++)
        if (strcmp(it[i].name, it[i - 1].name) == 0) { r = lbk__ctx_fail(ctx, LBK_ERR_ARG, W, -1, "the name '%.100s' is given twice", it[i].name); goto done; }
    qsort(it, (size_t)n, sizeof *it, lbk__st_cmp);
    if (n > 0 && (r = lbk_sync(ctx, ts, n)) != LBK_OK) goto done;   /* one sync for all; the error is on the context */
    lbk__str_append(&h, "{");
    for (i = 0; i < n; i++) {
        const lbk__node *x = &ctx->nodes[it[i].id];
        uint64_t bytes = (uint64_t)lbk__numel(x->n_dims, x->dims) * lbk_dtype_size((lbk_dtype)x->dtype);
        if (i) lbk__str_append(&h, ",");
        lbk__json_quote(&h, it[i].name);
        lbk__str_append(&h, ":{\"dtype\":\"%s\",\"shape\":[", lbk__dtypes[x->dtype].safetensors);
        for (d = 0; d < x->n_dims; d++) lbk__str_append(&h, "%s%lld", d ? "," : "", (long long)x->dims[d]);
        lbk__str_append(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
        if (bytes > big) big = (size_t)bytes;
    }
    lbk__str_append(&h, "}");
    while (h.len % 8) lbk__str_append(&h, " ");
    lbk__str_append(&tmp, "%s.lbk-tmp", path);
    if (h.oom || tmp.oom || !(buf = (unsigned char *)lbk__malloc(big + 1))) { r = lbk__ctx_fail(ctx, LBK_ERR_OOM, W, -1, "out of memory"); goto done; }
    hn = h.len;
    for (d = 0; d < 8; d++) pre[d] = (unsigned char)(hn >> (8 * d));
    if (!(f = fopen(tmp.p, "wb"))) { r = lbk__ctx_fail(ctx, LBK_ERR_IO, W, -1, "cannot open '%s' for writing: %s", tmp.p, strerror(errno)); goto done; }
    if (fwrite(pre, 1, 8, f) != 8 || fwrite(h.p, 1, h.len, f) != h.len) r = LBK_ERR_IO;
    for (i = 0; r == LBK_OK && i < n; i++) {
        const lbk__node *x = &ctx->nodes[it[i].id];
        size_t bytes = (size_t)lbk__numel(x->n_dims, x->dims) * lbk_dtype_size((lbk_dtype)x->dtype);
        if (!bytes) continue;
        if ((r = lbk_read(ctx, ts[it[i].i], buf, bytes)) != LBK_OK) break;
        if (fwrite(buf, 1, bytes, f) != bytes) r = LBK_ERR_IO;
    }
    if (fclose(f) != 0 && r == LBK_OK) r = LBK_ERR_IO;
    f = NULL;
    if (r == LBK_OK && rename(tmp.p, path) != 0) r = LBK_ERR_IO;
    if (r != LBK_OK) {
        remove(tmp.p);
        if (r == LBK_ERR_IO) r = lbk__ctx_fail(ctx, LBK_ERR_IO, W, -1, "writing '%s' failed: %s", path, strerror(errno));
    }
done:
    lbk__free(buf);
    lbk__free(it);
    lbk__str_free(&h);
    lbk__str_free(&tmp);
    return r;
}
LAZYBK_API lbk_result lbk_save_safetensors(lbk_ctx *ctx, const char *path, int n, const char *const *names, const lbk_tensor *ts) {
    if (!ctx) return lbk__set_last(LBK_ERR_ARG, "lbk_save_safetensors: NULL context");
    LBK__GUARD(lbk_result, ctx, "save_safetensors", LBK_ERR_BUSY, lbk__g_save_safetensors(ctx, path, n, names, ts));
}

// >>check ------------------------------------------------------------------------------
/* lbk_backend_check: the backend against the cpu reference, op by op. Written with the
   public API only (lbk_graph_of and the vtable's supports_op tell which nodes the backend
   claims), plus the memory layer and the thread's last result.
   Every row of the op table is checked by the case of its rule family (lbk__chk_<rule>,
   picked by the table's rule column, so a new family does not compile without one). The
   elementwise family builds each op through its table-generated call (api UNARY or BINARY)
   over every dtype the op's dtype rule accepts; an op of a family whose case has no
   builder for it fails the check: "no conformance case for op X". */

typedef struct lbk__chk {
    lbk_ctx *t, *ref;                /* backend under test, reference */
    const lbk_backend_i *b; void *self;
    uint64_t rng;
    double tol, worst;
    int cases, failed, skipped;
    char first_fail[256];
} lbk__chk;

static double lbk__chk_rand(lbk__chk *c) {
    c->rng ^= c->rng >> 12; c->rng ^= c->rng << 25; c->rng ^= c->rng >> 27;
    return (double)((c->rng * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

static void lbk__chk_fail(lbk__chk *c, const char *op, const char *fmt, const char *what) {
    c->failed++;
    if (!c->first_fail[0]) {
        char msg[200];
        snprintf(msg, sizeof msg, fmt, what);
        snprintf(c->first_fail, sizeof c->first_fail, "%s: %s", op, msg);
    }
}

/* The same host data as a tensor in both contexts. Values in [lo, hi), integral for ints. */
static bool lbk__chk_input(lbk__chk *c, lbk_dtype dt, int nd, const int64_t *dims, double lo, double hi, lbk_tensor *out_t, lbk_tensor *out_r) {
    int64_t n = lbk_shape_numel(nd, dims), i;
    size_t esz = lbk_dtype_size(dt);
    const lbk_dtype_info *di = lbk_dtype_info_of(dt);
    double *v;
    void *host;
    if (n < 0 || !di) return false;
    v = (double *)lbk__malloc(sizeof(double) * (size_t)(n ? n : 1));
    host = lbk__malloc(esz * (size_t)(n ? n : 1));
    if (!v || !host) { lbk__free(v); lbk__free(host); return false; }
    for (i = 0; i < n; i++) {
        double x = lo + (hi - lo) * lbk__chk_rand(c);
        v[i] = di->kind == LBK_DTYPE_KIND_FLOAT ? x : di->kind == LBK_DTYPE_KIND_BOOL ? (double)(x > 0.5 * (lo + hi)) : floor(x);
    }
    lbk_convert(host, dt, v, LBK_F64, n, 1);
    *out_t = (lbk_from_host)(c->t, dt, nd, dims, host);
    *out_r = (lbk_from_host)(c->ref, dt, nd, dims, host);
    lbk__free(v);
    lbk__free(host);
    return out_t->id && out_r->id;
}

/* Whether the backend claims the node of t (the last node of its graph). */
static bool lbk__chk_claimed(lbk__chk *c, lbk_tensor t) {
    lbk_graph *g = lbk_graph_of(c->t, &t, 1);
    uint32_t out;
    bool yes;
    if (!g) { lbk_ctx_clear_error(c->t); return false; }
    out = lbk_graph_output(g, 0);
    yes = lbk_graph_node(g, out).op != LBK_OP_PARAM && (!c->b->supports_op || c->b->supports_op(c->self, g, out));
    lbk_graph_free(g);
    return yes;
}

/* Reads t as f64 (n values); NULL (and a failure recorded) if it cannot. */
static double *lbk__chk_read(lbk__chk *c, lbk_ctx *ctx, const char *op, lbk_tensor t, int64_t n) {
    double *a = (double *)lbk__malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (a && lbk_read_as(ctx, t, LBK_F64, a, sizeof(double) * (size_t)n) == LBK_OK) return a;
    lbk__chk_fail(c, op, "%s", a ? lbk_ctx_error(ctx) : "out of memory");
    lbk_ctx_clear_error(ctx);
    lbk__free(a);
    return NULL;
}

/* One case: t from the backend, r from the reference, built by the same call. A call the
   reference refuses (a dtype the op's rule does not take) is no case. moments: compare
   mean and spread instead of values (random ops). */
static void lbk__chk_cmp(lbk__chk *c, const char *op, lbk_tensor t, lbk_tensor r, bool moments) {
    int64_t n, i;
    double *a, *b;
    if (!r.id) { lbk_ctx_clear_error(c->ref); lbk_ctx_clear_error(c->t); return; }
    n = lbk_numel(c->ref, r);
    if (!t.id) { lbk__chk_fail(c, op, "%s", lbk_ctx_error(c->t)); lbk_ctx_clear_error(c->t); return; }
    if (n != lbk_numel(c->t, t) || lbk_type(c->t, t) != lbk_type(c->ref, r)) { lbk__chk_fail(c, op, "%s", "shape or dtype differs"); return; }
    if (!lbk__chk_claimed(c, t)) { c->skipped++; return; }
    c->cases++;
    a = lbk__chk_read(c, c->t, op, t, n);
    b = a ? lbk__chk_read(c, c->ref, op, r, n) : NULL;
    if (a && b && moments) {   /* mean and mean square agree within 0.05 (n >= 4096: > 10 sigma) */
        double ma = 0, mb = 0, sa = 0, sb = 0, e;
        for (i = 0; i < n; i++) { ma += a[i]; mb += b[i]; sa += a[i] * a[i]; sb += b[i] * b[i]; }
        e = n ? LBK__MAX(fabs(ma - mb), fabs(sa - sb)) / (double)n : 0;
        if (e != e) e = INFINITY;
        if (e > c->worst) c->worst = e;
        if (e > 0.05) lbk__chk_fail(c, op, "%s", "its values are not distributed as the reference's");
    } else if (a && b) {
        for (i = 0; i < n; i++) {
            double e = (a[i] != a[i] && b[i] != b[i]) || a[i] == b[i] ? 0 : fabs(a[i] - b[i]) / (1 + fabs(b[i]));
            if (e != e) e = INFINITY;
            if (e > c->worst) c->worst = e;
            if (e > c->tol) {
                char msg[160];
                snprintf(msg, sizeof msg, "element %lld is %.9g, the reference %.9g", (long long)i, a[i], b[i]);
                lbk__chk_fail(c, op, "%s", msg);
                break;
            }
        }
    }
    lbk__free(a);
    lbk__free(b);
}
#define lbk__chk_compare(c, op, t, r) lbk__chk_cmp((c), (op), (t), (r), false)

static const int64_t lbk__chk_shp[][4] = {{0}, {7}, {3, 4}, {2, 0, 3}, {2, 3, 5}};
static const int lbk__chk_shn[] = {0, 1, 2, 3, 3};
static const lbk_dtype lbk__chk_fdt[] = {LBK_F32, LBK_F64};

/* The table's plain calls, by op (NULL where the row's api is OWN). */
typedef lbk_tensor (*lbk__un_fn)(lbk_ctx *, lbk_tensor);
typedef lbk_tensor (*lbk__bin_fn)(lbk_ctx *, lbk_tensor, lbk_tensor);
#define LBK__CHK_UN_OWN(name) NULL
#define LBK__CHK_UN_BINARY(name) NULL
#define LBK__CHK_UN_UNARY(name) (lbk_##name)
#define LBK__CHK_BIN_OWN(name) NULL
#define LBK__CHK_BIN_UNARY(name) NULL
#define LBK__CHK_BIN_BINARY(name) (lbk_##name)
#define LBK__CHK_UN_ROW(id, name, kind, api, nmin, nmax, rule, dt, attrs, flags, schema) LBK__CHK_UN_##api(name),
#define LBK__CHK_BIN_ROW(id, name, kind, api, nmin, nmax, rule, dt, attrs, flags, schema) LBK__CHK_BIN_##api(name),
static const lbk__un_fn lbk__chk_un[] = {NULL, LBK_OP_TABLE(LBK__CHK_UN_ROW)};
static const lbk__bin_fn lbk__chk_bin[] = {NULL, LBK_OP_TABLE(LBK__CHK_BIN_ROW)};
#undef LBK__CHK_UN_ROW
#undef LBK__CHK_BIN_ROW

/* Each family's case returns false where it has no builder for op. */
static bool lbk__chk_param(lbk__chk *c, lbk_op op) { (void)c; (void)op; return true; }   /* every case has them */

/* Elementwise: every dtype, over all-sign and positive ranges (nan where the reference
   has nan is a match), through the table's call. */
static bool lbk__chk_ew(lbk__chk *c, lbk_op op) {
    static const int64_t pa[][3] = {{3, 4}, {2, 3, 4}, {3, 1}, {0}, {0, 3}}, pb[][3] = {{3, 4}, {4}, {1, 4}, {5}, {3}};
    static const int pna[] = {2, 3, 2, 0, 2}, pnb[] = {2, 1, 2, 1, 1};
    static const double lo[] = {-5, 0.5}, hi[] = {5, 2};
    const char *name = lbk_op_name(op);
    lbk__un_fn un = lbk__chk_un[op];
    lbk__bin_fn bin = lbk__chk_bin[op];
    lbk_tensor t, r, t2, r2;
    int d;
    size_t s, k;
    if (!un && !bin) return false;
    for (d = 1; d < LBK_DTYPE_COUNT; d++)
        for (k = 0; k < 2; k++)
            for (s = 0; s < (un ? LBK__COUNTOF(lbk__chk_shn) : LBK__COUNTOF(pna)); s++) {
                lbk_scope st = lbk_scope_begin(c->t), sr = lbk_scope_begin(c->ref);
                if (un && lbk__chk_input(c, (lbk_dtype)d, lbk__chk_shn[s], lbk__chk_shp[s], lo[k], hi[k], &t, &r))
                    lbk__chk_compare(c, name, un(c->t, t), un(c->ref, r));
                if (bin && lbk__chk_input(c, (lbk_dtype)d, pna[s], pa[s], lo[k], hi[k], &t, &r) &&
                    lbk__chk_input(c, (lbk_dtype)d, pnb[s], pb[s], lo[k], hi[k], &t2, &r2))
                    lbk__chk_compare(c, name, bin(c->t, t, t2), bin(c->ref, r, r2));
                lbk_scope_end(c->t, st, NULL, 0);
                lbk_scope_end(c->ref, sr, NULL, 0);
            }
    return true;
}

static bool lbk__chk_where(lbk__chk *c, lbk_op op) {
    static const int64_t dc[2] = {3, 4}, da[2] = {3, 1}, db[1] = {4};
    lbk_tensor t, r, t2, r2, t3, r3;
    size_t d;
    if (op != LBK_OP_WHERE) return false;
    for (d = 0; d < 2; d++)
        if (lbk__chk_input(c, LBK_BOOL, 2, dc, 0, 1, &t, &r) && lbk__chk_input(c, lbk__chk_fdt[d], 2, da, -3, 3, &t2, &r2) &&
            lbk__chk_input(c, lbk__chk_fdt[d], 1, db, -3, 3, &t3, &r3))
            lbk__chk_compare(c, "where", (lbk_where)(c->t, t, t2, t3), (lbk_where)(c->ref, r, r2, r3));
    return true;
}

static bool lbk__chk_cast(lbk__chk *c, lbk_op op) {
    static const int64_t dims[2] = {3, 4};
    lbk_tensor t, r;
    int i, j;
    if (op != LBK_OP_CAST) return false;
    for (i = 1; i < LBK_DTYPE_COUNT; i++)
        for (j = 1; j < LBK_DTYPE_COUNT; j++)
            if (i != j && lbk__chk_input(c, (lbk_dtype)i, 2, dims, -100, 100, &t, &r))
                lbk__chk_compare(c, "cast", (lbk_cast)(c->t, t, (lbk_dtype)j), (lbk_cast)(c->ref, r, (lbk_dtype)j));
    return true;
}

static bool lbk__chk_reduce(lbk__chk *c, lbk_op op) {
    typedef lbk_tensor (*red_fn)(lbk_ctx *, lbk_tensor, int, const int *, bool);
    static const int ax_sets[][2] = {{0, 0}, {-1, 0}, {0, 2}, {1, 0}};
    static const int ax_n[] = {0, 1, 2, 1};
    red_fn f = op == LBK_OP_SUM ? (lbk_sum) : op == LBK_OP_MEAN ? (lbk_mean) : op == LBK_OP_AMAX ? (lbk_amax) : op == LBK_OP_AMIN ? (lbk_amin) : NULL;
    lbk_tensor t, r;
    size_t d, s;
    if (!f) return false;
    for (d = 0; d < 2; d++)
        for (s = 0; s < 4; s++)
            if (lbk__chk_input(c, lbk__chk_fdt[d], 3, lbk__chk_shp[4], -3, 3, &t, &r))
                lbk__chk_compare(c, lbk_op_name(op), f(c->t, t, ax_n[s], ax_sets[s], s & 1), f(c->ref, r, ax_n[s], ax_sets[s], s & 1));
    if (lbk__chk_input(c, LBK_I32, 3, lbk__chk_shp[3], -9, 9, &t, &r) && op != LBK_OP_AMAX && op != LBK_OP_AMIN)   /* zero-size, ints */
        lbk__chk_compare(c, lbk_op_name(op), f(c->t, t, 1, ax_sets[3], false), f(c->ref, r, 1, ax_sets[3], false));
    if (lbk__chk_input(c, LBK_I64, 3, lbk__chk_shp[4], -9, 9, &t, &r))
        lbk__chk_compare(c, lbk_op_name(op), f(c->t, t, 1, ax_sets[1], true), f(c->ref, r, 1, ax_sets[1], true));
    return true;
}

static bool lbk__chk_var(lbk__chk *c, lbk_op op) {
    static const int ax_sets[][2] = {{0, 0}, {-1, 0}, {0, 2}, {1, 0}};
    static const int ax_n[] = {0, 1, 2, 1};
    lbk_tensor t, r;
    size_t d, s;
    if (op != LBK_OP_VAR) return false;
    for (d = 0; d < 2; d++)
        for (s = 0; s < 4; s++)
            if (lbk__chk_input(c, lbk__chk_fdt[d], 3, lbk__chk_shp[4], -3, 3, &t, &r))
                lbk__chk_compare(c, "var", (lbk_var)(c->t, t, ax_n[s], ax_sets[s], (int)d, s & 1),
                                 (lbk_var)(c->ref, r, ax_n[s], ax_sets[s], (int)d, s & 1));
    return true;
}

static bool lbk__chk_argmax(lbk__chk *c, lbk_op op) {
    lbk_tensor t, r;
    size_t d;
    if (op != LBK_OP_ARGMAX) return false;
    for (d = 0; d < 2; d++)
        if (lbk__chk_input(c, lbk__chk_fdt[d], 3, lbk__chk_shp[4], -3, 3, &t, &r))
            lbk__chk_compare(c, "argmax", (lbk_argmax)(c->t, t, (int)d, d == 1), (lbk_argmax)(c->ref, r, (int)d, d == 1));
    return true;
}

static bool lbk__chk_matmul(lbk__chk *c, lbk_op op) {
    static const int64_t ma[][3] = {{4, 5}, {2, 3, 4}, {5}, {3, 0}, {1, 1}}, mb[][3] = {{5, 3}, {4, 6}, {5, 2}, {0, 2}, {1, 1}};
    static const int mna[] = {2, 3, 1, 2, 2}, mnb[] = {2, 2, 2, 2, 2};
    lbk_tensor t, r, t2, r2;
    size_t d, s;
    if (op != LBK_OP_MATMUL) return false;
    for (d = 0; d < 2; d++)
        for (s = 0; s < LBK__COUNTOF(mna); s++)
            if (lbk__chk_input(c, lbk__chk_fdt[d], mna[s], ma[s], -2, 2, &t, &r) && lbk__chk_input(c, lbk__chk_fdt[d], mnb[s], mb[s], -2, 2, &t2, &r2))
                lbk__chk_compare(c, "matmul", (lbk_matmul)(c->t, t, t2), (lbk_matmul)(c->ref, r, r2));
    if (lbk__chk_input(c, LBK_I32, 2, ma[0], -9, 9, &t, &r) && lbk__chk_input(c, LBK_I32, 2, mb[0], -9, 9, &t2, &r2))
        lbk__chk_compare(c, "matmul", (lbk_matmul)(c->t, t, t2), (lbk_matmul)(c->ref, r, r2));
    return true;
}

/* The data-movement family: one builder per op over f32, f64 and i64. */
static bool lbk__chk_move(lbk__chk *c, lbk_op op) {
    static const lbk_dtype dts[] = {LBK_F32, LBK_F64, LBK_I64};
    const char *name = lbk_op_name(op);
    lbk_tensor t, r, t2, r2, tt[2], rr[2];
    size_t d;
    if (op != LBK_OP_RESHAPE && op != LBK_OP_PERMUTE && op != LBK_OP_EXPAND && op != LBK_OP_SLICE && op != LBK_OP_CONCAT) return false;
    for (d = 0; d < LBK__COUNTOF(dts); d++) {
        int64_t rs[2] = {5, -1}, ex[4] = {4, 2, 3, 5};
        int perm[3] = {2, 0, 1};
        if (!lbk__chk_input(c, dts[d], 3, lbk__chk_shp[4], -3, 3, &t, &r)) continue;
        if (op == LBK_OP_RESHAPE) lbk__chk_compare(c, name, (lbk_reshape)(c->t, t, 2, rs), (lbk_reshape)(c->ref, r, 2, rs));
        if (op == LBK_OP_PERMUTE) lbk__chk_compare(c, name, (lbk_permute)(c->t, t, perm), (lbk_permute)(c->ref, r, perm));
        if (op == LBK_OP_EXPAND) lbk__chk_compare(c, name, (lbk_expand)(c->t, t, 4, ex), (lbk_expand)(c->ref, r, 4, ex));
        if (op == LBK_OP_SLICE) {
            lbk__chk_compare(c, name, (lbk_slice)(c->t, t, 2, 1, 5, 2), (lbk_slice)(c->ref, r, 2, 1, 5, 2));
            lbk__chk_compare(c, name, (lbk_slice)(c->t, t, 0, 2, 9, 1), (lbk_slice)(c->ref, r, 0, 2, 9, 1));   /* empty */
            lbk__chk_compare(c, name, (lbk_slice)(c->t, t, 2, -1, 0, -2), (lbk_slice)(c->ref, r, 2, -1, 0, -2));   /* backwards */
        }
        if (op == LBK_OP_CONCAT && lbk__chk_input(c, dts[d], 3, lbk__chk_shp[4], -3, 3, &t2, &r2)) {
            tt[0] = t; tt[1] = t2; rr[0] = r; rr[1] = r2;
            lbk__chk_compare(c, name, (lbk_concat)(c->t, tt, 2, 1), (lbk_concat)(c->ref, rr, 2, 1));
        }
    }
    return true;
}
#define lbk__chk_reshape lbk__chk_move
#define lbk__chk_permute lbk__chk_move
#define lbk__chk_expand lbk__chk_move
#define lbk__chk_slice lbk__chk_move
#define lbk__chk_concat lbk__chk_move

static bool lbk__chk_index_select(lbk__chk *c, lbk_op op) {
    static const lbk_dtype dts[] = {LBK_F32, LBK_F64, LBK_I64, LBK_F16};
    static const int64_t xd[3] = {3, 4, 5}, i2[2] = {2, 3}, i1[1] = {6}, i0[1] = {0};
    lbk_tensor t, r, ti, ri;
    size_t d;
    if (op != LBK_OP_INDEX_SELECT) return false;
    for (d = 0; d < LBK__COUNTOF(dts); d++) {
        if (!lbk__chk_input(c, dts[d], 3, xd, -3, 3, &t, &r)) continue;
        if (lbk__chk_input(c, LBK_I64, 2, i2, 0, 4, &ti, &ri))
            lbk__chk_compare(c, "index_select", (lbk_index_select)(c->t, t, 1, ti), (lbk_index_select)(c->ref, r, 1, ri));
        if (lbk__chk_input(c, LBK_I32, 1, i1, 0, 5, &ti, &ri))
            lbk__chk_compare(c, "index_select", (lbk_index_select)(c->t, t, -1, ti), (lbk_index_select)(c->ref, r, -1, ri));
        if (lbk__chk_input(c, LBK_I64, 1, i0, 0, 3, &ti, &ri))   /* no indices */
            lbk__chk_compare(c, "index_select", (lbk_index_select)(c->t, t, 0, ti), (lbk_index_select)(c->ref, r, 0, ri));
    }
    return true;
}

/* gather, scatter_add, index_add: three axes, repeated indices (the adds accumulate), an
   index smaller than src; four dtypes. */
static bool lbk__chk_gather(lbk__chk *c, lbk_op op) {
    static const lbk_dtype dts[] = {LBK_F32, LBK_F64, LBK_I64, LBK_F16};
    static const int64_t xd[3] = {3, 4, 5}, i1[3] = {3, 2, 5}, i0[3] = {2, 4, 5}, i2[3] = {3, 4, 7}, e[3] = {3, 0, 5};
    lbk_tensor t, r, ti, ri;
    size_t d;
    if (op != LBK_OP_GATHER) return false;
    for (d = 0; d < LBK__COUNTOF(dts); d++) {
        if (!lbk__chk_input(c, dts[d], 3, xd, -3, 3, &t, &r)) continue;
        if (lbk__chk_input(c, LBK_I64, 3, i1, 0, 4, &ti, &ri)) lbk__chk_compare(c, "gather", (lbk_gather)(c->t, t, 1, ti), (lbk_gather)(c->ref, r, 1, ri));
        if (lbk__chk_input(c, LBK_I32, 3, i0, 0, 3, &ti, &ri)) lbk__chk_compare(c, "gather", (lbk_gather)(c->t, t, 0, ti), (lbk_gather)(c->ref, r, 0, ri));
        if (lbk__chk_input(c, LBK_I64, 3, i2, 0, 5, &ti, &ri)) lbk__chk_compare(c, "gather", (lbk_gather)(c->t, t, -1, ti), (lbk_gather)(c->ref, r, -1, ri));
        if (lbk__chk_input(c, LBK_I64, 3, e, 0, 5, &ti, &ri)) lbk__chk_compare(c, "gather", (lbk_gather)(c->t, t, 2, ti), (lbk_gather)(c->ref, r, 2, ri));
    }
    return true;
}
static bool lbk__chk_scatter_add(lbk__chk *c, lbk_op op) {
    static const lbk_dtype dts[] = {LBK_F32, LBK_F64, LBK_I64, LBK_F16};
    static const int64_t xd[3] = {3, 4, 5}, id[3] = {6, 4, 2}, sd[3] = {6, 5, 3}, i2[3] = {3, 4, 9}, s2[3] = {3, 4, 9};
    lbk_tensor t, r, ti, ri, ts, rs;
    size_t d;
    if (op != LBK_OP_SCATTER_ADD) return false;
    for (d = 0; d < LBK__COUNTOF(dts); d++) {
        if (!lbk__chk_input(c, dts[d], 3, xd, -3, 3, &t, &r)) continue;
        if (lbk__chk_input(c, LBK_I64, 3, id, 0, 3, &ti, &ri) && lbk__chk_input(c, dts[d], 3, sd, -2, 2, &ts, &rs))
            lbk__chk_compare(c, "scatter_add", (lbk_scatter_add)(c->t, t, 0, ti, ts), (lbk_scatter_add)(c->ref, r, 0, ri, rs));
        if (lbk__chk_input(c, LBK_I32, 3, i2, 0, 5, &ti, &ri) && lbk__chk_input(c, LBK_F64, 3, s2, -2, 2, &ts, &rs))
            lbk__chk_compare(c, "scatter_add", (lbk_scatter_add)(c->t, t, -1, ti, ts), (lbk_scatter_add)(c->ref, r, -1, ri, rs));
    }
    return true;
}
static bool lbk__chk_index_add(lbk__chk *c, lbk_op op) {
    static const lbk_dtype dts[] = {LBK_F32, LBK_F64, LBK_I64, LBK_F16};
    static const int64_t xd[3] = {3, 4, 5}, i6[1] = {6}, sd[3] = {3, 6, 5}, i0[1] = {0}, s0[3] = {0, 4, 5};
    lbk_tensor t, r, ti, ri, ts, rs;
    size_t d;
    if (op != LBK_OP_INDEX_ADD) return false;
    for (d = 0; d < LBK__COUNTOF(dts); d++) {
        if (!lbk__chk_input(c, dts[d], 3, xd, -3, 3, &t, &r)) continue;
        if (lbk__chk_input(c, LBK_I64, 1, i6, 0, 4, &ti, &ri) && lbk__chk_input(c, dts[d], 3, sd, -2, 2, &ts, &rs))
            lbk__chk_compare(c, "index_add", (lbk_index_add)(c->t, t, 1, ti, ts), (lbk_index_add)(c->ref, r, 1, ri, rs));
        if (lbk__chk_input(c, LBK_I32, 1, i0, 0, 3, &ti, &ri) && lbk__chk_input(c, dts[d], 3, s0, -2, 2, &ts, &rs))
            lbk__chk_compare(c, "index_add", (lbk_index_add)(c->t, t, 0, ti, ts), (lbk_index_add)(c->ref, r, 0, ri, rs));
    }
    return true;
}
/* slice_dyn, slice_update: starts at both ends, an empty length, four dtypes; the start
   a parameter (lbk_scalar). */
static bool lbk__chk_slice_dyn(lbk__chk *c, lbk_op op) {
    static const lbk_dtype dts[] = {LBK_F32, LBK_F64, LBK_I64, LBK_F16};
    static const int64_t xd[3] = {3, 8, 5}, st[4] = {2, 0, 5, 8}, len[4] = {4, 0, 3, 0};
    lbk_tensor t, r;
    size_t d, k;
    if (op != LBK_OP_SLICE_DYN) return false;
    for (d = 0; d < LBK__COUNTOF(dts); d++) {
        if (!lbk__chk_input(c, dts[d], 3, xd, -3, 3, &t, &r)) continue;
        for (k = 0; k < 4; k++)
            lbk__chk_compare(c, "slice_dyn", (lbk_slice_dyn)(c->t, t, 1, (lbk_scalar)(c->t, LBK_I64, (double)st[k]), len[k]),
                             (lbk_slice_dyn)(c->ref, r, 1, (lbk_scalar)(c->ref, LBK_I64, (double)st[k]), len[k]));
        lbk__chk_compare(c, "slice_dyn", (lbk_slice_dyn)(c->t, t, -1, (lbk_scalar)(c->t, LBK_I32, 1), 4),
                         (lbk_slice_dyn)(c->ref, r, -1, (lbk_scalar)(c->ref, LBK_I32, 1), 4));
    }
    return true;
}
static bool lbk__chk_slice_update(lbk__chk *c, lbk_op op) {
    static const lbk_dtype dts[] = {LBK_F32, LBK_F64, LBK_I64, LBK_F16};
    static const int64_t xd[3] = {3, 8, 5}, sd[3] = {3, 2, 5}, st[3] = {6, 0, 3};
    lbk_tensor t, r, ts, rs;
    size_t d, k;
    if (op != LBK_OP_SLICE_UPDATE) return false;
    for (d = 0; d < LBK__COUNTOF(dts); d++) {
        if (!lbk__chk_input(c, dts[d], 3, xd, -3, 3, &t, &r)) continue;
        for (k = 0; k < 3; k++)
            if (lbk__chk_input(c, k == 2 ? LBK_F64 : dts[d], 3, sd, -2, 2, &ts, &rs))   /* the last src in another dtype */
                lbk__chk_compare(c, "slice_update", (lbk_slice_update)(c->t, t, 1, (lbk_scalar)(c->t, LBK_I64, (double)st[k]), ts),
                                 (lbk_slice_update)(c->ref, r, 1, (lbk_scalar)(c->ref, LBK_I64, (double)st[k]), rs));
    }
    return true;
}

static bool lbk__chk_arange(lbk__chk *c, lbk_op op) {
    if (op != LBK_OP_ARANGE) return false;
    lbk__chk_compare(c, "arange", (lbk_arange)(c->t, LBK_F32, -2, 3, 0.5), (lbk_arange)(c->ref, LBK_F32, -2, 3, 0.5));
    lbk__chk_compare(c, "arange", (lbk_arange)(c->t, LBK_I64, 10, -3, -3), (lbk_arange)(c->ref, LBK_I64, 10, -3, -3));
    lbk__chk_compare(c, "arange", (lbk_arange)(c->t, LBK_F64, 0, 0, 1), (lbk_arange)(c->ref, LBK_F64, 0, 0, 1));
    return true;
}

/* Random ops: the backend's generator need not be the reference's; its values must be
   distributed the same way (mean and mean square). */
static bool lbk__chk_random(lbk__chk *c, lbk_op op) {
    static const int64_t dims[2] = {64, 128};
    size_t d;
    if (op != LBK_OP_RAND && op != LBK_OP_RANDN) return false;
    for (d = 0; d < 2; d++) {
        lbk_set_seed(c->t, 1234 + d);
        lbk_set_seed(c->ref, 1234 + d);
        if (op == LBK_OP_RAND)
            lbk__chk_cmp(c, "rand", (lbk_rand)(c->t, lbk__chk_fdt[d], 2, dims), (lbk_rand)(c->ref, lbk__chk_fdt[d], 2, dims), true);
        else
            lbk__chk_cmp(c, "randn", (lbk_randn)(c->t, lbk__chk_fdt[d], 2, dims), (lbk_randn)(c->ref, lbk__chk_fdt[d], 2, dims), true);
    }
    return true;
}

/* The row op (softmax ... elu) over t; variant picks an axis (odd: -1), keepdim, tanh, a
   parameter. {0} for another op. */
static lbk_tensor lbk__chk_row_call(lbk_ctx *ctx, lbk_op op, lbk_tensor t, size_t variant) {
    int ax = variant & 1 ? -1 : 0;
    switch (op) {
    case LBK_OP_SOFTMAX: return (lbk_softmax)(ctx, t, ax);
    case LBK_OP_LOG_SOFTMAX: return (lbk_log_softmax)(ctx, t, ax);
    case LBK_OP_LOGSUMEXP: return (lbk_logsumexp)(ctx, t, ax, variant & 1);
    case LBK_OP_GELU: return (lbk_gelu)(ctx, t, variant & 1);
    case LBK_OP_SILU: return (lbk_silu)(ctx, t);
    case LBK_OP_SOFTPLUS: return (lbk_softplus)(ctx, variant & 1 ? (lbk_mul)(ctx, t, (lbk_scalar)(ctx, LBK_F32, 5)) : t);   /* past the threshold too */
    case LBK_OP_LEAKY_RELU: return (lbk_leaky_relu)(ctx, t, variant & 1 ? 0.2 : 0.01);
    case LBK_OP_HARDSWISH: return (lbk_hardswish)(ctx, t);
    case LBK_OP_ELU: return (lbk_elu)(ctx, t, variant & 1 ? 0.5 : 1.0);
    default: { lbk_tensor none = {0}; return none; }
    }
}
/* softmax, log_softmax (rule softmax), logsumexp, and the activations (rule act): rows
   over every shape, the empty ones included. */
static bool lbk__chk_rows(lbk__chk *c, lbk_op op) {
    lbk_tensor t, r, a, b;
    size_t d, s;
    switch (op) {
    case LBK_OP_SOFTMAX: case LBK_OP_LOG_SOFTMAX: case LBK_OP_LOGSUMEXP: case LBK_OP_GELU: case LBK_OP_SILU:
    case LBK_OP_SOFTPLUS: case LBK_OP_LEAKY_RELU: case LBK_OP_HARDSWISH: case LBK_OP_ELU: break;
    default: return false;
    }
    for (d = 0; d < 2; d++)
        for (s = 1; s < LBK__COUNTOF(lbk__chk_shn); s++) {
            if (!lbk__chk_input(c, lbk__chk_fdt[d], lbk__chk_shn[s], lbk__chk_shp[s], -5, 5, &t, &r)) continue;
            a = lbk__chk_row_call(c->t, op, t, s);
            b = lbk__chk_row_call(c->ref, op, r, s);
            lbk__chk_compare(c, lbk_op_name(op), a, b);
        }
    return true;
}
#define lbk__chk_softmax lbk__chk_rows
#define lbk__chk_logsumexp lbk__chk_rows
#define lbk__chk_act lbk__chk_rows

/* layer_norm, rms_norm (rule norm) and linear. */
static bool lbk__chk_norm(lbk__chk *c, lbk_op op) {
    lbk_tensor t, r, t2, r2, t3, r3, none = {0};
    size_t d;
    if (op != LBK_OP_LAYER_NORM && op != LBK_OP_RMS_NORM && op != LBK_OP_LINEAR) return false;
    for (d = 0; d < 2; d++) {
        int64_t wd[2] = {3, 5}, bd = 3;
        if (!lbk__chk_input(c, lbk__chk_fdt[d], 3, lbk__chk_shp[4], -3, 3, &t, &r) ||
            !lbk__chk_input(c, lbk__chk_fdt[d], 1, lbk__chk_shp[4] + 2, 0.5, 1.5, &t2, &r2) ||
            !lbk__chk_input(c, lbk__chk_fdt[d], 1, lbk__chk_shp[4] + 2, -1, 1, &t3, &r3))
            continue;
        if (op == LBK_OP_LAYER_NORM) {
            lbk__chk_compare(c, "layer_norm", (lbk_layer_norm)(c->t, t, 1, t2, t3, 1e-5), (lbk_layer_norm)(c->ref, r, 1, r2, r3, 1e-5));
            lbk__chk_compare(c, "layer_norm", (lbk_layer_norm)(c->t, t, 2, none, none, 1e-3), (lbk_layer_norm)(c->ref, r, 2, none, none, 1e-3));
        } else if (op == LBK_OP_RMS_NORM) {
            lbk__chk_compare(c, "rms_norm", (lbk_rms_norm)(c->t, t, 1, t2, 1e-6), (lbk_rms_norm)(c->ref, r, 1, r2, 1e-6));
            lbk__chk_compare(c, "rms_norm", (lbk_rms_norm)(c->t, t, 2, none, 1e-6), (lbk_rms_norm)(c->ref, r, 2, none, 1e-6));
        } else if (lbk__chk_input(c, lbk__chk_fdt[d], 2, wd, -1, 1, &t2, &r2) && lbk__chk_input(c, lbk__chk_fdt[d], 1, &bd, -1, 1, &t3, &r3)) {
            lbk__chk_compare(c, "linear", (lbk_linear)(c->t, t, t2, t3), (lbk_linear)(c->ref, r, r2, r3));
            lbk__chk_compare(c, "linear", (lbk_linear)(c->t, t, t2, none), (lbk_linear)(c->ref, r, r2, none));
        }
    }
    return true;
}
#define lbk__chk_linear lbk__chk_norm

/* scaled_dot_product_attention: grouped-query heads, L != S, plain, causal, a bool and an
   additive mask, an explicit scale. */
static bool lbk__chk_sdpa(lbk__chk *c, lbk_op op) {
    static const int64_t qd[4] = {2, 4, 3, 5}, kd[4] = {2, 2, 6, 5}, vd[4] = {2, 2, 6, 3}, bm[2] = {3, 6}, am[4] = {2, 1, 3, 6};
    lbk_tensor q, rq, k, rk, v, rv, m, rm, none = {0};
    size_t d;
    if (op != LBK_OP_SDPA) return false;
    for (d = 0; d < 2; d++) {
        lbk_dtype dt = lbk__chk_fdt[d];
        if (!lbk__chk_input(c, dt, 4, qd, -2, 2, &q, &rq) || !lbk__chk_input(c, dt, 4, kd, -2, 2, &k, &rk) || !lbk__chk_input(c, dt, 4, vd, -2, 2, &v, &rv))
            continue;
        lbk__chk_compare(c, "scaled_dot_product_attention", (lbk_scaled_dot_product_attention)(c->t, q, k, v, none, false, 0),
                         (lbk_scaled_dot_product_attention)(c->ref, rq, rk, rv, none, false, 0));
        lbk__chk_compare(c, "scaled_dot_product_attention", (lbk_scaled_dot_product_attention)(c->t, q, k, v, none, true, 0.3),
                         (lbk_scaled_dot_product_attention)(c->ref, rq, rk, rv, none, true, 0.3));
        if (lbk__chk_input(c, LBK_BOOL, 2, bm, 0, 2, &m, &rm))
            lbk__chk_compare(c, "scaled_dot_product_attention", (lbk_scaled_dot_product_attention)(c->t, q, k, v, m, false, 0),
                             (lbk_scaled_dot_product_attention)(c->ref, rq, rk, rv, rm, false, 0));
        if (lbk__chk_input(c, dt, 4, am, -3, 1, &m, &rm))
            lbk__chk_compare(c, "scaled_dot_product_attention", (lbk_scaled_dot_product_attention)(c->t, q, k, v, m, false, 0),
                             (lbk_scaled_dot_product_attention)(c->ref, rq, rk, rv, rm, false, 0));
    }
    return true;
}

/* conv2d (grouped, strided, padded, dilated, 1x1, depthwise, with and without a bias) and
   conv_transpose2d (strided, padded, output padding, grouped); f32 and f64. */
static bool lbk__chk_conv(lbk__chk *c, lbk_op op) {
    static const int64_t xd[4] = {2, 4, 7, 6}, w3[4] = {6, 2, 3, 3}, w1[4] = {5, 4, 1, 1}, wdw[4] = {4, 1, 3, 2}, wt[4] = {4, 3, 3, 2},
                         bd6[1] = {6}, bd6t[1] = {6}, s21[2] = {2, 1}, p11[2] = {1, 1}, p10[2] = {1, 0}, d12[2] = {1, 2}, op10[2] = {1, 0};
    lbk_tensor x, rx, w, rw, b, rb, none = {0};
    size_t d;
    if (op != LBK_OP_CONV2D && op != LBK_OP_CONV_TRANSPOSE2D) return false;
    for (d = 0; d < 2; d++) {
        lbk_dtype dt = lbk__chk_fdt[d];
        if (!lbk__chk_input(c, dt, 4, xd, -2, 2, &x, &rx)) continue;
        if (op == LBK_OP_CONV2D) {
            if (lbk__chk_input(c, dt, 4, w3, -1, 1, &w, &rw) && lbk__chk_input(c, dt, 1, bd6, -1, 1, &b, &rb)) {
                lbk__chk_compare(c, "conv2d", (lbk_conv2d)(c->t, x, w, b, s21, p11, d12, 2), (lbk_conv2d)(c->ref, rx, rw, rb, s21, p11, d12, 2));
                lbk__chk_compare(c, "conv2d", (lbk_conv2d)(c->t, x, w, none, NULL, NULL, NULL, 2), (lbk_conv2d)(c->ref, rx, rw, none, NULL, NULL, NULL, 2));
            }
            if (lbk__chk_input(c, dt, 4, w1, -1, 1, &w, &rw))
                lbk__chk_compare(c, "conv2d", (lbk_conv2d)(c->t, x, w, none, NULL, NULL, NULL, 1), (lbk_conv2d)(c->ref, rx, rw, none, NULL, NULL, NULL, 1));
            if (lbk__chk_input(c, dt, 4, wdw, -1, 1, &w, &rw))
                lbk__chk_compare(c, "conv2d", (lbk_conv2d)(c->t, x, w, none, NULL, p10, NULL, 4), (lbk_conv2d)(c->ref, rx, rw, none, NULL, p10, NULL, 4));
        } else if (lbk__chk_input(c, dt, 4, wt, -1, 1, &w, &rw) && lbk__chk_input(c, dt, 1, bd6t, -1, 1, &b, &rb)) {
            lbk__chk_compare(c, "conv_transpose2d", (lbk_conv_transpose2d)(c->t, x, w, b, s21, p10, op10, 2),
                             (lbk_conv_transpose2d)(c->ref, rx, rw, rb, s21, p10, op10, 2));
            lbk__chk_compare(c, "conv_transpose2d", (lbk_conv_transpose2d)(c->t, x, w, none, NULL, NULL, NULL, 2),
                             (lbk_conv_transpose2d)(c->ref, rx, rw, none, NULL, NULL, NULL, 2));
        }
    }
    return true;
}
/* max/avg pool (overlapping, strided, padded, 3-d and 4-d) and nearest resizing (up, down,
   by two). */
static bool lbk__chk_pool(lbk__chk *c, lbk_op op) {
    static const lbk_dtype dts[] = {LBK_F32, LBK_F64, LBK_I64, LBK_F16};
    static const int64_t xd[4] = {2, 3, 7, 6}, k3[2] = {3, 3}, k22[2] = {2, 2}, s21[2] = {2, 1}, p11[2] = {1, 1};
    lbk_tensor x, rx;
    size_t d;
    if (op != LBK_OP_MAX_POOL2D && op != LBK_OP_AVG_POOL2D) return false;
    for (d = 0; d < LBK__COUNTOF(dts); d++) {
        if (!lbk__chk_input(c, dts[d], 4, xd, -5, 5, &x, &rx)) continue;
        if (op == LBK_OP_MAX_POOL2D) {
            lbk__chk_compare(c, "max_pool2d", (lbk_max_pool2d)(c->t, x, k3, s21, p11), (lbk_max_pool2d)(c->ref, rx, k3, s21, p11));
            lbk__chk_compare(c, "max_pool2d", (lbk_max_pool2d)(c->t, x, k22, NULL, NULL), (lbk_max_pool2d)(c->ref, rx, k22, NULL, NULL));
        } else {
            lbk__chk_compare(c, "avg_pool2d", (lbk_avg_pool2d)(c->t, x, k3, s21, p11), (lbk_avg_pool2d)(c->ref, rx, k3, s21, p11));
            lbk__chk_compare(c, "avg_pool2d", (lbk_avg_pool2d)(c->t, x, k22, NULL, NULL), (lbk_avg_pool2d)(c->ref, rx, k22, NULL, NULL));
        }
    }
    return true;
}
static bool lbk__chk_interp(lbk__chk *c, lbk_op op) {
    static const lbk_dtype dts[] = {LBK_F32, LBK_I64, LBK_BF16};
    static const int64_t xd[3] = {3, 5, 4};
    lbk_tensor x, rx;
    size_t d;
    if (op != LBK_OP_INTERPOLATE_NEAREST2D) return false;
    for (d = 0; d < LBK__COUNTOF(dts); d++) {
        if (!lbk__chk_input(c, dts[d], 3, xd, -5, 5, &x, &rx)) continue;
        lbk__chk_compare(c, "interpolate_nearest2d", (lbk_interpolate_nearest2d)(c->t, x, 7, 9), (lbk_interpolate_nearest2d)(c->ref, rx, 7, 9));
        lbk__chk_compare(c, "interpolate_nearest2d", (lbk_interpolate_nearest2d)(c->t, x, 2, 3), (lbk_interpolate_nearest2d)(c->ref, rx, 2, 3));
        lbk__chk_compare(c, "interpolate_nearest2d", (lbk_interpolate_nearest2d)(c->t, x, 10, 8), (lbk_interpolate_nearest2d)(c->ref, rx, 10, 8));
    }
    return true;
}
/* cumsum and argsort over each axis of a 3-d tensor (ties among the integer draws), and
   of an empty one. */
static bool lbk__chk_scan(lbk__chk *c, lbk_op op) {
    static const lbk_dtype dts[] = {LBK_F32, LBK_F64, LBK_I32, LBK_BOOL, LBK_F16};
    lbk_tensor x, rx;
    size_t d;
    int ax;
    if (op != LBK_OP_CUMSUM && op != LBK_OP_ARGSORT) return false;
    for (d = 0; d < LBK__COUNTOF(dts); d++) {
        if (!lbk__chk_input(c, dts[d], 3, lbk__chk_shp[4], -4, 4, &x, &rx)) continue;
        for (ax = -1; ax < 3; ax++) {
            if (op == LBK_OP_CUMSUM) lbk__chk_compare(c, "cumsum", (lbk_cumsum)(c->t, x, ax), (lbk_cumsum)(c->ref, rx, ax));
            else lbk__chk_compare(c, "argsort", (lbk_argsort)(c->t, x, ax, ax == 1), (lbk_argsort)(c->ref, rx, ax, ax == 1));
        }
        if (lbk__chk_input(c, dts[d], 3, lbk__chk_shp[3], -4, 4, &x, &rx)) {
            if (op == LBK_OP_CUMSUM) lbk__chk_compare(c, "cumsum", (lbk_cumsum)(c->t, x, 1), (lbk_cumsum)(c->ref, rx, 1));
            else lbk__chk_compare(c, "argsort", (lbk_argsort)(c->t, x, 2, false), (lbk_argsort)(c->ref, rx, 2, false));
        }
    }
    return true;
}
/* batch_norm and group_norm with and without the affine inputs, 3-d and 4-d x. */
static bool lbk__chk_chan(lbk__chk *c, lbk_op op) {
    static const int64_t xd[4] = {2, 4, 3, 5}, cd[1] = {4};
    lbk_tensor x, rx, m, rm, v, rv, w, rw, b, rb, none = {0};
    size_t d;
    if (op != LBK_OP_BATCH_NORM && op != LBK_OP_GROUP_NORM) return false;
    for (d = 0; d < 2; d++) {
        lbk_dtype dt = lbk__chk_fdt[d];
        if (!lbk__chk_input(c, dt, 4, xd, -3, 3, &x, &rx) || !lbk__chk_input(c, dt, 1, cd, -1, 1, &m, &rm) ||
            !lbk__chk_input(c, dt, 1, cd, 0.5, 2, &v, &rv) || !lbk__chk_input(c, dt, 1, cd, -2, 2, &w, &rw) || !lbk__chk_input(c, dt, 1, cd, -2, 2, &b, &rb))
            continue;
        if (op == LBK_OP_BATCH_NORM) {
            lbk__chk_compare(c, "batch_norm", (lbk_batch_norm)(c->t, x, m, v, w, b, 1e-5), (lbk_batch_norm)(c->ref, rx, rm, rv, rw, rb, 1e-5));
            lbk__chk_compare(c, "batch_norm", (lbk_batch_norm)(c->t, x, m, v, none, b, 0.1), (lbk_batch_norm)(c->ref, rx, rm, rv, none, rb, 0.1));
        } else {
            lbk__chk_compare(c, "group_norm", (lbk_group_norm)(c->t, x, 2, w, b, 1e-5), (lbk_group_norm)(c->ref, rx, 2, rw, rb, 1e-5));
            lbk__chk_compare(c, "group_norm", (lbk_group_norm)(c->t, x, 4, none, none, 1e-3), (lbk_group_norm)(c->ref, rx, 4, none, none, 1e-3));
        }
    }
    return true;
}
#define lbk__chk_bn lbk__chk_chan
#define lbk__chk_gn lbk__chk_chan
/* rope: both layouts, a partial rotation; cross_entropy: plain, smoothed, an ignored row. */
static bool lbk__chk_rope(lbk__chk *c, lbk_op op) {
    static const int64_t xd[3] = {2, 5, 6}, pd[1] = {5};
    lbk_tensor x, rx, p, rp;
    size_t d;
    if (op != LBK_OP_ROPE) return false;
    for (d = 0; d < 2; d++) {
        if (!lbk__chk_input(c, lbk__chk_fdt[d], 3, xd, -2, 2, &x, &rx) || !lbk__chk_input(c, LBK_I64, 1, pd, 0, 40, &p, &rp)) continue;
        lbk__chk_compare(c, "rope", (lbk_rope)(c->t, x, p, 6, 10000, false), (lbk_rope)(c->ref, rx, rp, 6, 10000, false));
        lbk__chk_compare(c, "rope", (lbk_rope)(c->t, x, p, 4, 500, true), (lbk_rope)(c->ref, rx, rp, 4, 500, true));
    }
    return true;
}
static bool lbk__chk_ce(lbk__chk *c, lbk_op op) {
    static const int64_t xd[2] = {6, 5}, td[1] = {6};
    lbk_tensor x, rx, t, rt;
    size_t d;
    if (op != LBK_OP_CROSS_ENTROPY) return false;
    for (d = 0; d < 2; d++) {
        if (!lbk__chk_input(c, lbk__chk_fdt[d], 2, xd, -3, 3, &x, &rx) || !lbk__chk_input(c, LBK_I64, 1, td, 0, 5, &t, &rt)) continue;
        lbk__chk_compare(c, "cross_entropy", (lbk_cross_entropy)(c->t, x, t, -100, 0), (lbk_cross_entropy)(c->ref, rx, rt, -100, 0));
        lbk__chk_compare(c, "cross_entropy", (lbk_cross_entropy)(c->t, x, t, 2, 0.1), (lbk_cross_entropy)(c->ref, rx, rt, 2, 0.1));
    }
    return true;
}

typedef bool (*lbk__chk_fn)(lbk__chk *c, lbk_op op);
#define LBK__CHK_ROW(id, name, kind, api, nmin, nmax, rule, dt, attrs, flags, schema) lbk__chk_##rule,
static const lbk__chk_fn lbk__chk_cases[] = {NULL, LBK_OP_TABLE(LBK__CHK_ROW)};
#undef LBK__CHK_ROW
LBK__STATIC_ASSERT(sizeof lbk__chk_cases / sizeof lbk__chk_cases[0] == (size_t)LBK_OP_COUNT, check_cases_cover_the_op_table);

LAZYBK_API lbk_result lbk_backend_check(const char *name, double tol, FILE *report) {
    lbk_ctx_desc dt, dr;
    lbk__chk c;
    int op, claimed = 0, failed_ops = 0;
    char first[256] = "";
    if (!name) return lbk__set_last(LBK_ERR_ARG, "lbk_backend_check: NULL name");
    if (!(tol >= 0)) return lbk__set_last(LBK_ERR_ARG, "lbk_backend_check: tol %g must be >= 0", tol);
    memset(&c, 0, sizeof c);
    memset(&dt, 0, sizeof dt);
    memset(&dr, 0, sizeof dr);
    dt.backend = name;
    dr.backend = "cpu-reference";
    c.t = lbk_ctx_create(&dt);
    if (!c.t) return lbk_last_result();
    c.ref = lbk_ctx_create(&dr);
    if (!c.ref) { lbk_ctx_destroy(c.t); return lbk_last_result(); }
    c.b = lbk_backend_get(name, &c.self);
    if (!c.b) { lbk_ctx_destroy(c.t); lbk_ctx_destroy(c.ref); return lbk_last_result(); }
    c.tol = tol;
    c.rng = 0x9e3779b97f4a7c15ULL;
    if (report) fprintf(report, "lbk_backend_check('%s') against cpu-reference, tol %g\n", name, tol);
    for (op = LBK_OP_PARAM + 1; op < LBK_OP_COUNT; op++) {
        lbk_scope st = lbk_scope_begin(c.t), sr = lbk_scope_begin(c.ref);
        bool has;
        c.worst = 0; c.cases = 0; c.failed = 0; c.skipped = 0; c.first_fail[0] = 0;
        has = lbk__chk_cases[op](&c, (lbk_op)op);
        lbk_scope_end(c.t, st, NULL, 0);
        lbk_scope_end(c.ref, sr, NULL, 0);
        lbk_ctx_clear_error(c.t);
        lbk_ctx_clear_error(c.ref);
        if (!has) lbk__chk_fail(&c, lbk_op_name((lbk_op)op), "%s", "no conformance case for this op");
        if (c.cases == 0 && c.failed == 0) continue;   /* not claimed */
        claimed++;
        if (c.failed) {
            failed_ops++;
            if (!first[0]) {
                if (has) snprintf(first, sizeof first, "%s", c.first_fail);
                else snprintf(first, sizeof first, "no conformance case for op %s", lbk_op_name((lbk_op)op));
            }
        }
        if (report)
            fprintf(report, "  %-12s %3d case(s)  worst %-10.3g %s%s%s\n", lbk_op_name((lbk_op)op), c.cases, c.worst,
                    c.failed ? "FAIL" : "ok", c.failed ? "  " : "", c.failed ? c.first_fail : "");
    }
    if (report) fprintf(report, "%d op(s) checked, %d failed\n", claimed, failed_ops);
    lbk_ctx_destroy(c.t);
    lbk_ctx_destroy(c.ref);
    if (failed_ops) return lbk__set_last(LBK_ERR_BACKEND, "lbk_backend_check('%s'): %d op(s) failed; first: %s", name, failed_ops, first);
    lbk__clear_last();
    return LBK_OK;
}

// >>backend-cpu ------------------------------------------------------------------------
/* The reference interpreter: one node at a time, every op and dtype, accumulating in
   double or int64 (floats summed pairwise). Built only on the public backend interface
   and the read-only graph view, as an outside backend would be. */
#ifndef LAZYBK_NO_CPU_BACKEND

#define LBK__CPU_SMALL 64   /* buffers up to this size live inside their header */
typedef struct lbk__cpu_buf {
    lbk_dtype dtype;
    int n_dims;
    int64_t dims[LAZYBK_MAX_DIMS];
    size_t bytes;
    void *ptr;     /* 64-byte aligned inside raw, or small */
    void *raw;     /* NULL for a small buffer */
    struct lbk__cpu_buf *next;   /* free list of small buffers */
    void (*release)(void *);     /* memory owned elsewhere (data_wrap_host): given back with this */
    void *release_arg;
    double small[LBK__CPU_SMALL / sizeof(double)];
} lbk__cpu_buf;

#define LBK__CPU_POOL_MAX 64
#define LBK__CPU_POOL_BYTES ((size_t)256 << 20)
#define LBK__CPU_SMALL_MAX 4096
typedef struct lbk__cpu {
    lbk__mutex lock;                       /* guards the pools and the counters */
    lbk__cpu_buf *pool[LBK__CPU_POOL_MAX]; /* freed large buffers kept for reuse, by exact size */
    int n_pool;
    lbk__cpu_buf *small_free;              /* freed small buffers (scalars...), any size <= LBK__CPU_SMALL */
    int n_small_free;
    size_t pool_bytes;
    int64_t allocs, pool_hits, executions, compiles;
    int default_ordinal;
    uint64_t seed;
    bool reference;                        /* "cpu-reference": never the fast path */
    char report[512];
} lbk__cpu;
static lbk__cpu lbk__cpu_self = {LBK__MUTEX_INIT, {NULL}, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, false, {0}};
static lbk__cpu lbk__cpu_ref_self = {LBK__MUTEX_INIT, {NULL}, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, true, {0}};

/* Ops the elementwise reference kernel (lbk__cpu_row, lbk_convert for casts) runs: by kind. */
/* The dtypes the fast path has native kernels for (grouped tiles, gemm, reductions, rows);
   every other dtype runs the reference kernels through the dtype table's converters. */
static bool lbk__cpu_native(lbk_dtype dt) { return dt == LBK_F32 || dt == LBK_F64; }
/* The dtype a fused group computes in: f16 and bf16 groups load and store their own dtype
   and compute in f32 tiles (their intermediates stay f32); others their own. */
static bool lbk__cpu_narrow(lbk_dtype dt) { return lbk_dtype_is_float(dt) && lbk_dtype_size(dt) == 2; }
static lbk_dtype lbk__cpu_gdt(lbk_dtype dt) { return lbk__cpu_narrow(dt) ? LBK_F32 : dt; }
/* Two's-complement wrap of integer arithmetic done in uint64 (no undefined overflow). */
static int64_t lbk__wrap64(uint64_t u) {
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}
static bool lbk__cpu_is_ew(lbk_op op) {
    lbk_op_kind k = lbk_op_kind_of(op);
    return k == LBK_OPKIND_UNARY || k == LBK_OPKIND_BINARY || k == LBK_OPKIND_COMPARE || k == LBK_OPKIND_LOGIC ||
           k == LBK_OPKIND_SELECT || k == LBK_OPKIND_CAST;
}
struct lbk__cpu_inst;
static lbk_result lbk__cpu_row(const struct lbk__cpu_inst *x, lbk_dtype dt, int64_t n, void *o, const void *a, int64_t sa,
                               const void *b, int64_t sb, const void *c, int64_t sc);

/* The fast path is used unless this is "cpu-reference" or LAZYBK_CPU_REFERENCE=1. */
static bool lbk__cpu_fast(const lbk__cpu *cpu) {
    const char *e;
    if (cpu->reference) return false;
    e = getenv("LAZYBK_CPU_REFERENCE");
    return !(e && e[0] && strcmp(e, "0") != 0);
}

static lbk__cpu_buf *lbk__cpu_alloc(lbk__cpu *cpu, lbk_dtype dt, int n_dims, const int64_t *dims) {
    size_t bytes = (size_t)lbk_shape_numel(n_dims, dims) * lbk_dtype_size(dt);
    lbk__cpu_buf *b = NULL;
    int i;
    lbk__lock(&cpu->lock);
    if (bytes <= LBK__CPU_SMALL) {
        if ((b = cpu->small_free) != NULL) {
            cpu->small_free = b->next;
            cpu->n_small_free--;
        }
    } else {
        for (i = cpu->n_pool - 1; i >= 0; i--)
            if (cpu->pool[i]->bytes == bytes) {
                b = cpu->pool[i];
                cpu->pool[i] = cpu->pool[--cpu->n_pool];
                cpu->pool_bytes -= bytes;
                break;
            }
    }
    if (b) cpu->pool_hits++;
    else cpu->allocs++;
    lbk__unlock(&cpu->lock);
    if (!b) {
        b = (lbk__cpu_buf *)lbk__malloc(sizeof *b);
        if (!b) return NULL;
        b->raw = NULL;
        b->ptr = b->small;
        b->release = NULL;
        b->release_arg = NULL;
        if (bytes > LBK__CPU_SMALL) {
            if (bytes > SIZE_MAX - 64 || !(b->raw = lbk__malloc(bytes + 64))) { lbk__free(b); return NULL; }
            b->ptr = (void *)(((uintptr_t)b->raw + 63) & ~(uintptr_t)63);
        }
    }
    b->bytes = bytes;
    b->dtype = dt;
    b->n_dims = n_dims;
    if (n_dims) memcpy(b->dims, dims, sizeof(int64_t) * (size_t)n_dims);
    return b;
}
static void lbk__cpu_buf_free(lbk__cpu *cpu, lbk__cpu_buf *b) {
    lbk__cpu_buf *evict = NULL;
    if (b->release) {   /* wrapped memory: handed back, never pooled */
        b->release(b->release_arg);
        lbk__free(b);
        return;
    }
    lbk__lock(&cpu->lock);
    if (!b->raw) {
        if (cpu->n_small_free < LBK__CPU_SMALL_MAX) {
            b->next = cpu->small_free;
            cpu->small_free = b;
            cpu->n_small_free++;
            b = NULL;
        }
    } else if (b->bytes <= LBK__CPU_POOL_BYTES) {
        if (cpu->n_pool == LBK__CPU_POOL_MAX || cpu->pool_bytes + b->bytes > LBK__CPU_POOL_BYTES) {
            if (cpu->n_pool > 0) {   /* make room: drop the oldest */
                evict = cpu->pool[0];
                cpu->pool_bytes -= evict->bytes;
                memmove(cpu->pool, cpu->pool + 1, sizeof(cpu->pool[0]) * (size_t)(cpu->n_pool - 1));
                cpu->n_pool--;
            }
        }
        if (cpu->n_pool < LBK__CPU_POOL_MAX && cpu->pool_bytes + b->bytes <= LBK__CPU_POOL_BYTES) {
            cpu->pool[cpu->n_pool++] = b;
            cpu->pool_bytes += b->bytes;
            b = NULL;
        }
    }
    lbk__unlock(&cpu->lock);
    if (evict) { lbk__free(evict->raw); lbk__free(evict); }
    if (b) { lbk__free(b->raw); lbk__free(b); }
}

static lbk_result lbk__cpu_from_host(void *self, lbk_device dev, lbk_dtype dt, int n_dims, const int64_t *dims,
                                     const void *src, lbk_data **out) {
    lbk__cpu_buf *b = lbk__cpu_alloc((lbk__cpu *)self, dt, n_dims, dims);
    (void)dev;
    if (!b) return lbk_backend_error(LBK_ERR_OOM, -1, "cannot allocate %zu bytes",
                                     (size_t)lbk_shape_numel(n_dims, dims) * lbk_dtype_size(dt));
    if (b->bytes) memcpy(b->ptr, src, b->bytes);
    *out = (lbk_data *)b;
    return LBK_OK;
}
static lbk_result lbk__cpu_wrap_host(void *self, lbk_device dev, lbk_dtype dt, int n_dims, const int64_t *dims, void *ptr,
                                     void (*release)(void *), void *release_arg, lbk_data **out) {
    lbk__cpu_buf *b = (lbk__cpu_buf *)lbk__calloc(1, sizeof *b);
    (void)self; (void)dev;
    if (!b) return lbk_backend_error(LBK_ERR_OOM, -1, "out of memory");
    b->dtype = dt;
    b->n_dims = n_dims;
    if (n_dims) memcpy(b->dims, dims, sizeof(int64_t) * (size_t)n_dims);
    b->bytes = (size_t)lbk_shape_numel(n_dims, dims) * lbk_dtype_size(dt);
    b->ptr = ptr;
    b->release = release;
    b->release_arg = release_arg;
    *out = (lbk_data *)b;
    return LBK_OK;
}
static void *lbk__cpu_host_ptr(void *self, lbk_data *data) { (void)self; return ((lbk__cpu_buf *)data)->ptr; }
static lbk_result lbk__cpu_from_scalar(void *self, lbk_device dev, lbk_dtype dt, const void *value, lbk_data **out) {
    return lbk__cpu_from_host(self, dev, dt, 0, NULL, value, out);
}
static lbk_result lbk__cpu_placeholder(void *self, lbk_device dev, lbk_dtype dt, int n_dims, const int64_t *dims, lbk_data **out) {
    lbk__cpu_buf *b = lbk__cpu_alloc((lbk__cpu *)self, dt, n_dims, dims);
    (void)dev;
    if (!b) return lbk_backend_error(LBK_ERR_OOM, -1, "out of memory");
    if (b->bytes) memset(b->ptr, 0, b->bytes);
    *out = (lbk_data *)b;
    return LBK_OK;
}
static lbk_result lbk__cpu_to_host(void *self, lbk_data *data, void *dst, size_t dst_bytes) {
    const lbk__cpu_buf *b = (const lbk__cpu_buf *)data;
    (void)self;
    if (dst_bytes != b->bytes) return lbk_backend_error(LBK_ERR_ARG, -1, "asked for %zu bytes of %zu", dst_bytes, b->bytes);
    if (b->bytes) memcpy(dst, b->ptr, b->bytes);
    return LBK_OK;
}
static void lbk__cpu_data_free(void *self, lbk_data *data) { lbk__cpu_buf_free((lbk__cpu *)self, (lbk__cpu_buf *)data); }

/* ---- the compiled program ---- */
typedef struct lbk__cpu_inst {   /* kept small: a compile writes one per node */
    lbk_op op;
    lbk_dtype dt;
    int n_dims;
    const int64_t *dims;          /* into prog->dims */
    int64_t numel;
    size_t bytes;
    uint32_t first_in, n_in;      /* into prog->ins */
    int param, out, slot;         /* parameter index, output index, scratch slot (-1: none) */
    uint32_t last_use;
    uint32_t mask;                /* reduced axes (argmax: its axis) */
    int axis;
    bool keepdim;
    int8_t perm[LAZYBK_MAX_DIMS];
    union { struct { int64_t start, step; } sl; struct { double start, step; } ar; } u;
    int64_t debug;
    double eps;                   /* layer_norm, rms_norm */
    int n_norm;
    bool has_w, has_b;
    bool skip;                    /* fast path: a transpose a matmul reads in place; never run */
    int32_t b_src;                /* read in place of an input, or -1: a matmul's B, transposed (its
                                     transpose never runs); a reduction's input, broadcast (its expand
                                     never runs) */
    int32_t group;                /* fused elementwise group (fast path), -1: none */
    bool group_out;               /* its value leaves the group: it gets a buffer */
    int32_t donate;               /* an output written into this parameter's donated buffer (slice_update), or -1 */
    int32_t win[7];               /* window ops: stride, padding, ext ([h, w] each), groups */
    bool desc;                    /* argsort: descending */
} lbk__cpu_inst;

/* A fused elementwise group (fast path): consecutive float nodes of one shape and dtype,
   run tile by tile; only the values that leave the group reach memory. */
#define LBK__TILE 256
typedef struct lbk__cpu_gop {
    lbk_op op;
    uint32_t inst;
    int out_reg;
    int n_in;
    int kind[2];                  /* 0: register, 1: external input */
    int idx[2];                   /* register, or external number */
} lbk__cpu_gop;
typedef struct lbk__cpu_group {
    uint32_t first_op, n_ops;     /* into prog->gops */
    uint32_t first_ext, n_ext;    /* into prog->gext: instruction indices of outside inputs */
    uint32_t last;                /* its last member */
    uint32_t at;                  /* the group runs at this instruction's turn: last, or its tail */
    int32_t head;                 /* a matmul whose epilogue the group is (run on its rows as they
                                     are finished), or -1 */
    int32_t tail;                 /* a reduction over trailing axes of the last member, done in
                                     registers as the tiles are made, or -1 */
    int red_first;                /* the tail's first reduced axis */
    int n_regs;
} lbk__cpu_group;

typedef struct lbk__cpu_prog {
    lbk__cpu_inst *inst;
    uint32_t n, n_params, n_outputs;
    uint32_t *ins;
    int64_t *dims;                /* every node's dims */
    bool fast;                    /* fused kernels (else the reference path only) */
    lbk__cpu_group *groups;
    lbk__cpu_gop *gops;
    uint32_t *gext;
    uint32_t n_groups, n_gops, n_gext;
    int n_slots;
    size_t *slot_bytes;
    lbk__cpu_buf **slot_buf;      /* scratch kept across executions */
    char *gscratch;               /* the sequential group path's registers and strides, kept */
    size_t gscratch_bytes;
    void **vals;                  /* per node, during execution */
    lbk__str text;
} lbk__cpu_prog;

static void lbk__cpu_prog_free(void *self, lbk_computation *c) {
    lbk__cpu_prog *p = (lbk__cpu_prog *)c;
    int s;
    if (!p) return;
    for (s = 0; s < p->n_slots; s++)
        if (p->slot_buf && p->slot_buf[s]) lbk__cpu_buf_free((lbk__cpu *)self, p->slot_buf[s]);
    lbk__free(p->groups); lbk__free(p->gops); lbk__free(p->gext); lbk__free(p->gscratch);
    lbk__free(p->inst); lbk__free(p->ins); lbk__free(p->dims); lbk__free(p->slot_bytes); lbk__free(p->slot_buf); lbk__free(p->vals);
    lbk__str_free(&p->text);
    lbk__free(p);
}

static void lbk__cpu_plan_text(lbk__cpu_prog *p) {
    uint32_t i, k;
    lbk__str_append(&p->text, "cpu %s plan: %u nodes, %u parameters, %u outputs, %d scratch buffers, %u fused groups\n",
                    p->fast ? "fast" : "reference", p->n, p->n_params, p->n_outputs, p->n_slots, p->n_groups);
    for (i = 0; i < p->n; i++) {
        const lbk__cpu_inst *x = &p->inst[i];
        char shape[256];
        lbk_shape_str(shape, sizeof shape, x->dt, x->n_dims, x->dims);
        if (x->param >= 0) {
            lbk__str_append(&p->text, "  %%%u = %s parameter %d", i, shape, x->param);
        } else {
            lbk__str_append(&p->text, "  %%%u = %s %s(", i, shape, lbk_op_name(x->op));
            for (k = 0; k < x->n_in; k++) lbk__str_append(&p->text, "%s%%%u", k ? ", " : "", p->ins[x->first_in + k]);
            lbk__str_append(&p->text, ")");
        }
        if (x->group >= 0 && p->groups[x->group].head == (int32_t)i)
            lbk__str_append(&p->text, "  [matmul kernel with fused group %d as its epilogue]", x->group);
        else if (x->group >= 0 && p->groups[x->group].tail == (int32_t)i)
            lbk__str_append(&p->text, "  [fused group %d: reduced as its tiles are made]", x->group);
        else if (x->group >= 0) lbk__str_append(&p->text, "  [fused group %d%s]", x->group, x->group_out ? "" : ", stays in registers");
        if (x->skip)
            lbk__str_append(&p->text, x->op == LBK_OP_EXPAND ? "  [not run: its readers broadcast its input]"
                                                            : "  [not run: read in place by its matmul]");
        if (x->b_src >= 0)
            lbk__str_append(&p->text, x->op == LBK_OP_MATMUL ? "  [B read transposed from %%%d]" : "  [input broadcast from %%%d]",
                            x->b_src);
        if (x->out >= 0) lbk__str_append(&p->text, " -> output %d", x->out);
        else if (x->slot >= 0) lbk__str_append(&p->text, " -> scratch %d", x->slot);
        lbk__str_append(&p->text, "\n");
    }
}

/* ---- the fast path: fused elementwise groups ---- */
static void lbk__cpu_bstrides(const struct lbk__cpu_inst *out, const struct lbk__cpu_inst *in, int64_t *st);
/* OpenMP inside kernels written as macros: the region's thread count and condition are the
   locals lbk__nt and lbk__par. */
static int lbk__omp_threads(int threads) {
#ifdef _OPENMP
    return threads > 0 ? threads : omp_get_max_threads();
#else
    return threads > 0 ? threads : 1;
#endif
}
#ifdef _OPENMP
#  define LBK__OMP_PARALLEL _Pragma("omp parallel num_threads(lbk__nt) if (lbk__par)")
#  define LBK__OMP_FOR _Pragma("omp for schedule(dynamic, 1)")
#  define LBK__OMP_FLAG(f) _Pragma("omp atomic write") f = true
#else
#  define LBK__OMP_PARALLEL
#  define LBK__OMP_FOR
#  define LBK__OMP_FLAG(f) f = true
#endif
#if defined(__cplusplus)
#  define LBK__RESTRICT __restrict
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L
#  define LBK__RESTRICT restrict
#else
#  define LBK__RESTRICT
#endif

static bool lbk__cpu_tile_knows(lbk_op op, int8_t *known);
/* Whether x can live in a fused group: a float elementwise op the table marks fusible,
   which the tile kernels run, whose inputs share its dtype. */
static bool lbk__cpu_fusible(const lbk__cpu_prog *p, const lbk__cpu_inst *x, int8_t *known) {
    uint32_t k;
    if (x->param >= 0 || !lbk__cpu_native(lbk__cpu_gdt(x->dt)) || x->n_in < 1 || x->n_in > 2 || x->numel == 0) return false;
    if (!(lbk_op_flags(x->op) & LBK_OPF_FUSIBLE) || !lbk__cpu_tile_knows(x->op, known)) return false;
    for (k = 0; k < x->n_in; k++)
        if (p->inst[p->ins[x->first_in + k]].dt != x->dt) return false;
    return true;
}
static bool lbk__cpu_same_shape(const lbk__cpu_inst *a, const lbk__cpu_inst *b) {
    return a->dt == b->dt && a->n_dims == b->n_dims && memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->n_dims) == 0;
}

/* Groups runs of fusible nodes that are consecutive in program order (parameters between
   them do not break a run), of one shape and dtype; plans their registers. */
static bool lbk__cpu_plan_groups(lbk__cpu_prog *p) {
    uint32_t i, k, n = p->n;
    size_t cap_g = 0, cap_o = 0, cap_e = 0;
    int32_t open = -1;
    int *reg_free = NULL, n_reg_free = 0;
    uint32_t *reg_last = NULL;    /* per member instruction: last in-group reader */
    uint32_t *op_of = NULL;       /* per instruction: its op in its group; or, for an outside
                                     input, 1 + its external number in the group being built */
    int32_t *ext_group = NULL;    /* per instruction: the group whose external list holds it */
    size_t cap_rf = 0;
    bool ok = true;
    int8_t known[LBK_OP_COUNT];
    memset(known, -1, sizeof known);
    reg_last = (uint32_t *)lbk__calloc(n + 1, sizeof(uint32_t));
    op_of = (uint32_t *)lbk__calloc(n + 1, sizeof(uint32_t));
    ext_group = (int32_t *)lbk__malloc(sizeof(int32_t) * (n + 1));
    if (!reg_last || !op_of || !ext_group) { lbk__free(reg_last); lbk__free(op_of); lbk__free(ext_group); return false; }
    for (i = 0; i < n; i++) ext_group[i] = -1;
    for (i = 0; i < n && ok; i++) {
        lbk__cpu_inst *x = &p->inst[i];
        if (x->param >= 0) continue;
        if (!lbk__cpu_fusible(p, x, known)) { open = -1; continue; }
        if (open < 0 || !lbk__cpu_same_shape(&p->inst[p->groups[open].last], x)) {
            if (!LBK__GROW(p->groups, cap_g, (size_t)p->n_groups + 1)) { ok = false; break; }
            open = (int32_t)p->n_groups++;
            memset(&p->groups[open], 0, sizeof p->groups[open]);
            p->groups[open].first_op = p->n_gops;
            p->groups[open].first_ext = p->n_gext;
            p->groups[open].head = p->groups[open].tail = -1;
        }
        {
            lbk__cpu_group *gr = &p->groups[open];
            lbk__cpu_gop *op;
            if (!LBK__GROW(p->gops, cap_o, (size_t)p->n_gops + 1)) { ok = false; break; }
            op_of[i] = p->n_gops;
            op = &p->gops[p->n_gops++];
            memset(op, 0, sizeof *op);
            op->op = x->op;
            op->inst = i;
            op->n_in = (int)x->n_in;
            x->group = open;
            gr->n_ops++;
            gr->last = gr->at = i;
            for (k = 0; k < x->n_in; k++) {
                uint32_t y = p->ins[x->first_in + k], e;
                if (p->inst[y].group == open) { op->kind[k] = 0; reg_last[y] = i; continue; }
                if (ext_group[y] == open) {
                    e = gr->first_ext + op_of[y] - 1;
                } else {
                    if (!LBK__GROW(p->gext, cap_e, (size_t)p->n_gext + 1)) { ok = false; break; }
                    e = p->n_gext;
                    p->gext[p->n_gext++] = y;
                    gr->n_ext++;
                    ext_group[y] = open;
                    if (p->inst[y].group < 0) op_of[y] = e - gr->first_ext + 1;   /* a member of another group keeps its op */
                    else ext_group[y] = -2;   /* looked up linearly (rare: an earlier group's output) */
                }
                if (ext_group[y] == -2) {
                    for (e = gr->first_ext; e < p->n_gext; e++) if (p->gext[e] == y) break;
                }
                op->kind[k] = 1;
                op->idx[k] = (int)(e - gr->first_ext);
            }
        }
    }
    /* which members leave their group: graph outputs, or read by anything outside it */
    for (i = 0; i < n && ok; i++) {
        const lbk__cpu_inst *x = &p->inst[i];
        if (x->out >= 0 && x->group >= 0) p->inst[i].group_out = true;
        for (k = 0; k < x->n_in; k++) {
            lbk__cpu_inst *y = &p->inst[p->ins[x->first_in + k]];
            if (y->group >= 0 && y->group != x->group) y->group_out = true;
        }
    }
    /* registers: a member's value lives from its op to its last reader in the group */
    for (i = 0; i < p->n_groups && ok; i++) {
        lbk__cpu_group *gr = &p->groups[i];
        uint32_t o;
        n_reg_free = 0;
        for (o = gr->first_op; o < gr->first_op + gr->n_ops && ok; o++) {
            lbk__cpu_gop *op = &p->gops[o];
            const lbk__cpu_inst *x = &p->inst[op->inst];
            int j;
            for (j = 0; j < op->n_in; j++)
                if (op->kind[j] == 0) op->idx[j] = p->gops[op_of[p->ins[x->first_in + (uint32_t)j]]].out_reg;
            if (n_reg_free > 0) op->out_reg = reg_free[--n_reg_free];
            else op->out_reg = gr->n_regs++;
            if (reg_last[op->inst] == 0) {   /* no reader in the group: free once written */
                if (!LBK__GROW(reg_free, cap_rf, (size_t)n_reg_free + 1)) { ok = false; break; }
                reg_free[n_reg_free++] = op->out_reg;
            }
            /* registers whose last reader is this op are free for the next ones */
            for (j = 0; j < op->n_in; j++)
                if (op->kind[j] == 0) {
                    uint32_t y = p->ins[x->first_in + (uint32_t)j];
                    if (reg_last[y] == op->inst && (j == 0 || op->idx[1] != op->idx[0])) {
                        if (!LBK__GROW(reg_free, cap_rf, (size_t)n_reg_free + 1)) { ok = false; break; }
                        reg_free[n_reg_free++] = op->idx[j];
                    }
                }
        }
    }
    lbk__free(reg_free);
    lbk__free(reg_last);
    lbk__free(op_of);
    lbk__free(ext_group);
    return ok;
}

/* gcc keeps IEEE traps in mind by default (-ftrapping-math) and then will not turn the
   selects of the vector math into blends: the tile loops would stay scalar. The kernels and
   the vector math they inline are compiled without it (same attribute on both, or gcc will
   not inline). Results do not change: the FP environment's traps are off anyway. */
#if defined(__GNUC__) && !defined(__clang__)
#  define LBK__NOTRAP __attribute__((optimize("no-trapping-math")))
#else
#  define LBK__NOTRAP
#endif
/* The vector math: always inlined into the kernels (the switch over ops is large enough
   that gcc would otherwise keep a call in the loop for some). */
#if defined(__GNUC__) || defined(__clang__)
#  define LBK__VMATH static inline __attribute__((always_inline)) LBK__NOTRAP
#else
#  define LBK__VMATH static inline
#endif
/* Users build with plain -O2: the tile kernels are compiled three times (AVX-512, AVX2+FMA
   and baseline x86-64) and the loader picks the one the CPU has (an ifunc resolver that
   reads CPUID, so valgrind, which reports no AVX-512, gets the AVX2 or baseline one).
   Elsewhere, or with LAZYBK_NO_SIMD, one portable version. */
#if !defined(LAZYBK_NO_SIMD) && defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__SANITIZE_THREAD__)
#  define LBK__X86_CLONES 1
#  define LBK__TILE_FN __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) LBK__NOTRAP
#else
#  define LBK__TILE_FN LBK__NOINLINE LBK__NOTRAP   /* not inlined: the kernels keep their restrict pointers */
#endif

/* A nan test that gcc if-converts even with -ftrapping-math (x == x it does not). */
#if defined(__GNUC__) || defined(__clang__)
#  define LBK__ISNAN(x) __builtin_isnan(x)
#else
#  define LBK__ISNAN(x) isnan(x)
#endif
/* Vector math for f32, written so that a loop over a tile vectorises with no fast-math
   flag: no branches (selects), no calls, float<->int only on values known to be in range.
   Errors against float64 (tests/test_vmath.c, 20k samples over the whole range with the
   special values): exp <= 2 ulp (measured 0.80), log <= 2 ulp (0.62), tanh <= 3 ulp
   (0.92), sigmoid <= 3 ulp (2.07), sin and cos <= 1.5e-7 absolute for |x| < 8192 (a tile
   holding a larger or non-finite value goes to libm); denormal results within 2 units of
   2^-149; inf, -inf, nan and -0 behave as in libm. erf <= 4 ulp (3.1), at most 2.5e-7 off. */
LBK__VMATH float lbk__vexpf(float x) {
    union { float f; int32_t i; } s1, s2;
    float xc = x > 88.72284f ? 88.72284f : x;
    float n, r, p;
    int32_t ni, n1;
    xc = xc < -103.9721f ? -103.9721f : xc;
    xc = LBK__ISNAN(x) ? 0.0f : xc;                   /* nan: keep the int conversion defined */
    n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;   /* round(x / ln 2) */
    r = xc - n * 0.693359375f;                         /* Cody-Waite: ln 2 in two parts */
    r = r - n * -2.12194440e-4f;
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    ni = (int32_t)n;                                   /* in [-150, 128] */
    n1 = ni / 2;                                       /* 2^n as two factors: both stay normal */
    s1.i = (n1 + 127) * 8388608;
    s2.i = (ni - n1 + 127) * 8388608;
    p = p * s1.f * s2.f;
    p = x > 88.72284f ? (float)HUGE_VAL : p;
    p = x < -103.9721f ? 0.0f : p;
    return LBK__ISNAN(x) ? x : p;
}
LBK__VMATH float lbk__vtanhf(float x) {
    float ax = x < 0 ? -x : x, z = x * x, small, big, t;
    small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
             3.33332819422e-1f) * z * x + x;
    t = lbk__vexpf(2.0f * (ax < 9.1f ? ax : 9.1f));
    big = 1.0f - 2.0f / (t + 1.0f);
    big = x < 0 ? -big : big;
    big = LBK__ISNAN(x) ? x : big;
    return ax < 0.625f ? small : big;
}
/* log: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log x = e ln 2 + log1p-style polynomial
   in m - 1 (Cephes' coefficients); denormals are scaled first; x < 0 gives nan, 0 gives
   -inf, inf gives inf. */
LBK__VMATH float lbk__vlogf(float x) {
    union { float f; int32_t i; } u;
    float xs = x < 1.17549435e-38f ? x * 8388608.0f : x, f, z, y, e;
    int32_t ei;
    u.f = xs > 0 && xs <= 3.40282347e38f ? xs : 1.0f;  /* only finite positives go through the bits */
    ei = ((u.i >> 23) & 0xff) - 126;
    u.i = (u.i & 0x007fffff) | 0x3f000000;            /* m in [0.5, 1) */
    e = (float)ei - (x < 1.17549435e-38f ? 23.0f : 0.0f);
    f = u.f < 0.707106781f ? u.f + u.f - 1.0f : u.f - 1.0f;
    e = u.f < 0.707106781f ? e - 1.0f : e;
    z = f * f;
    y = ((((((((7.0376836292e-2f * f - 1.1514610310e-1f) * f + 1.1676998740e-1f) * f - 1.2420140846e-1f) * f +
             1.4249322787e-1f) * f - 1.6668057665e-1f) * f + 2.0000714765e-1f) * f - 2.4999993993e-1f) * f +
         3.3333331174e-1f) * f * z;
    y = y + -2.12194440e-4f * e - 0.5f * z;
    y = f + y + 0.693359375f * e;
    y = x == 0 ? -(float)HUGE_VAL : y;
    y = x < 0 ? (float)(HUGE_VAL - HUGE_VAL) : y;
    y = x == (float)HUGE_VAL ? x : y;
    return LBK__ISNAN(x) ? x : y;
}
/* sin and cos: x = k pi/2 + r (three-part pi/2), minimax polynomials on [-pi/4, pi/4]
   (Cephes' coefficients), quadrant by k. Valid for |x| < 8192; the tile kernel sends
   tiles with larger (or non-finite) values to libm. */
LBK__VMATH float lbk__vsincosf(float x, int cosine) {
    float k = (x * 0.636619772f + 12582912.0f) - 12582912.0f, r, z, s, c;
    int32_t q = (int32_t)k + cosine;
    r = ((x - k * 1.5703125f) - k * 4.837512969970703125e-4f) - k * 7.54978995489188216e-8f;
    z = r * r;
    s = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * r + r;
    c = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z - 0.5f * z + 1.0f;
    r = (q & 1) ? c : s;
    return (q & 2) ? -r : r;
}
LBK__VMATH float lbk__vsinf(float x) { return lbk__vsincosf(x, 0); }
LBK__VMATH float lbk__vcosf(float x) { return lbk__vsincosf(x, 1); }
/* Whether every value of a tile is in the range the vector sin/cos cover. */
LBK__VMATH int lbk__tile_trig_ok(const float *a, int n) {
    int i, bad = 0;
    for (i = 0; i < n; i++) bad |= !(a[i] > -8192.0f && a[i] < 8192.0f);
    return !bad;
}

LBK__VMATH float lbk__vsigmoidf(float x) {   /* e^-|x| never overflows: 1/(1+e) or e/(1+e) */
    float e = lbk__vexpf(x < 0 ? x : -x), s = 1.0f / (1.0f + e);
    e = LBK__ISNAN(x) ? x : e * s;
    return x >= 0 ? s : e;
}

/* erf: for |x| < 1 the odd Maclaurin series to x^21 (alternating; the first term left out is
   below 1.3e-9); beyond, Abramowitz & Stegun 7.1.26 (1 - poly(t) e^-x^2, t = 1/(1 + p|x|),
   absolute error <= 1.5e-7), which reaches 1 exactly from |x| ~ 3.9. nan stays nan, -0 stays -0. */
LBK__VMATH float lbk__verff(float x) {
    float ax = x < 0 ? -x : x, z = x * x, small, t, q, big;
    small = x * ((((((((((1.48071928e-08f * z - 1.63658447e-07f) * z + 1.64621144e-06f) * z - 1.49256504e-05f) * z +
                        1.20553330e-04f) * z - 8.54832702e-04f) * z + 5.22397763e-03f) * z - 2.68661706e-02f) * z +
                     1.12837917e-01f) * z - 3.76126389e-01f) * z + 1.12837917e+00f);
    t = 1.0f / (1.0f + 0.3275911f * ax);
    q = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
    big = 1.0f - q * lbk__vexpf(-z);
    big = x < 0 ? -big : big;
    big = LBK__ISNAN(x) ? x : big;
    return ax < 1.0f ? small : big;
}

/* One op over a whole tile (LBK__TILE elements: a constant trip count the compiler
   vectorises at -O2). o never aliases a or b. */
#define LBK__TILE_OPS(T, SFX, LBK__TILE, EXPF, LOGF, SQRTF, SINF, COSF, TANHF, ERFF, FLOORF, CEILF, POWF, SIGMOIDF, ONE, ZERO, \
                      TRIGOK, SINF_LIBM, COSF_LIBM)                                                                 \
    static LBK__TILE_FN int lbk__tile_##SFX(lbk_op op, T *LBK__RESTRICT o, const T *LBK__RESTRICT a,   \
                                                              const T *LBK__RESTRICT b) {                         \
        int i;                                                                                                      \
        switch (op) {                                                                                               \
        case LBK_OP_ADD: { for (i = 0; i < LBK__TILE; i++) o[i] = a[i] + b[i]; } break;                             \
        case LBK_OP_SUB: { for (i = 0; i < LBK__TILE; i++) o[i] = a[i] - b[i]; } break;                             \
        case LBK_OP_MUL: { for (i = 0; i < LBK__TILE; i++) o[i] = a[i] * b[i]; } break;                             \
        case LBK_OP_DIV: { for (i = 0; i < LBK__TILE; i++) o[i] = a[i] / b[i]; } break;                             \
        case LBK_OP_POW: { for (i = 0; i < LBK__TILE; i++) o[i] = POWF(a[i], b[i]); } break;                        \
        case LBK_OP_MAXIMUM:                                                                                        \
            for (i = 0; i < LBK__TILE; i++) o[i] = a[i] != a[i] ? a[i] : b[i] != b[i] ? b[i] : a[i] > b[i] ? a[i] : b[i]; \
            break;                                                                                                  \
        case LBK_OP_MINIMUM:                                                                                        \
            for (i = 0; i < LBK__TILE; i++) o[i] = a[i] != a[i] ? a[i] : b[i] != b[i] ? b[i] : a[i] < b[i] ? a[i] : b[i]; \
            break;                                                                                                  \
        case LBK_OP_NEG: { for (i = 0; i < LBK__TILE; i++) o[i] = -a[i]; } break;                                   \
        case LBK_OP_ABS: { for (i = 0; i < LBK__TILE; i++) o[i] = a[i] < ZERO ? -a[i] : a[i] == ZERO ? ZERO : a[i]; } break; \
        case LBK_OP_RELU: { for (i = 0; i < LBK__TILE; i++) o[i] = a[i] < ZERO ? ZERO : a[i]; } break;              \
        case LBK_OP_EXP: { for (i = 0; i < LBK__TILE; i++) o[i] = EXPF(a[i]); } break;                              \
        case LBK_OP_LOG: { for (i = 0; i < LBK__TILE; i++) o[i] = LOGF(a[i]); } break;                              \
        case LBK_OP_SQRT: { for (i = 0; i < LBK__TILE; i++) o[i] = SQRTF(a[i]); } break;                            \
        case LBK_OP_RSQRT: { for (i = 0; i < LBK__TILE; i++) o[i] = ONE / SQRTF(a[i]); } break;                     \
        case LBK_OP_RECIPROCAL: { for (i = 0; i < LBK__TILE; i++) o[i] = ONE / a[i]; } break;                       \
        case LBK_OP_SIN:                                                                                            \
            if (TRIGOK(a, LBK__TILE)) { for (i = 0; i < LBK__TILE; i++) o[i] = SINF(a[i]); }                        \
            else { for (i = 0; i < LBK__TILE; i++) o[i] = SINF_LIBM(a[i]); }                                        \
            break;                                                                                                  \
        case LBK_OP_COS:                                                                                            \
            if (TRIGOK(a, LBK__TILE)) { for (i = 0; i < LBK__TILE; i++) o[i] = COSF(a[i]); }                        \
            else { for (i = 0; i < LBK__TILE; i++) o[i] = COSF_LIBM(a[i]); }                                        \
            break;                                                                                                  \
        case LBK_OP_TANH: { for (i = 0; i < LBK__TILE; i++) o[i] = TANHF(a[i]); } break;                            \
        case LBK_OP_SIGMOID: { for (i = 0; i < LBK__TILE; i++) o[i] = SIGMOIDF(a[i]); } break;                      \
        case LBK_OP_ERF: { for (i = 0; i < LBK__TILE; i++) o[i] = ERFF(a[i]); } break;                              \
        case LBK_OP_FLOOR: { for (i = 0; i < LBK__TILE; i++) o[i] = FLOORF(a[i]); } break;                          \
        case LBK_OP_CEIL: { for (i = 0; i < LBK__TILE; i++) o[i] = CEILF(a[i]); } break;                            \
        default: return 0;   /* no tile kernel: the op is not fused (lbk__cpu_tile_knows) */                       \
        }                                                                                                           \
        return 1;                                                                                                   \
    }
static LBK__NOTRAP double lbk__sigmoid64(double x) { return 1.0 / (1.0 + exp(-x)); }
/* Two tile sizes: 256 for large tensors, 16 for small ones (a 16-element tensor would
   otherwise pay for 256). Row and reduction loops run in blocks of LBK__RB lanes. */
#define LBK__SMALL_TILE 16
#define LBK__RB 16
LBK__VMATH int lbk__trig_always(const double *a, int n) { (void)a; (void)n; return 1; }
LBK__TILE_OPS(float, f32, LBK__TILE, lbk__vexpf, lbk__vlogf, sqrtf, lbk__vsinf, lbk__vcosf, lbk__vtanhf, lbk__verff, floorf, ceilf, powf,
              lbk__vsigmoidf, 1.0f, 0.0f, lbk__tile_trig_ok, sinf, cosf)
LBK__TILE_OPS(double, f64, LBK__TILE, exp, log, sqrt, sin, cos, tanh, erf, floor, ceil, pow, lbk__sigmoid64, 1.0, 0.0,
              lbk__trig_always, sin, cos)
LBK__TILE_OPS(float, f32_16, 16, lbk__vexpf, lbk__vlogf, sqrtf, lbk__vsinf, lbk__vcosf, lbk__vtanhf, lbk__verff, floorf, ceilf, powf,
              lbk__vsigmoidf, 1.0f, 0.0f, lbk__tile_trig_ok, sinf, cosf)
LBK__TILE_OPS(double, f64_16, 16, exp, log, sqrt, sin, cos, tanh, erf, floor, ceil, pow, lbk__sigmoid64, 1.0, 0.0,
              lbk__trig_always, sin, cos)
#undef LBK__TILE_OPS
/* Whether the tile kernels run op: tried once per op and compile, on a tile of zeros
   (known[op]: -1 not tried yet, else the answer). */
static bool lbk__cpu_tile_knows(lbk_op op, int8_t *known) {
    if (known[op] < 0) {
        float a[LBK__TILE], o[LBK__TILE];
        memset(a, 0, sizeof a);
        known[op] = (int8_t)lbk__tile_f32(op, o, a, a);
    }
    return known[op] != 0;
}

/* A fused group's reduction tail: the len values of a tile folded into LBK__RB lanes
   (sums in double; amax/amin keep a nan once seen). */
#define LBK__RED_TILE(T, SFX)                                                                                    \
    static LBK__TILE_FN void lbk__redtile_##SFX(lbk_op op, const T *LBK__RESTRICT x, int64_t len,             \
                                                double *LBK__RESTRICT acc) {                                 \
        int64_t i, nb = len / LBK__RB * LBK__RB;                                                             \
        int j;                                                                                               \
        if (op == LBK_OP_SUM || op == LBK_OP_MEAN) {                                                         \
            for (i = 0; i < nb; i += LBK__RB)                                                                \
                for (j = 0; j < LBK__RB; j++) acc[j] += (double)x[i + j];                                    \
            for (i = nb; i < len; i++) acc[i - nb] += (double)x[i];                                          \
        } else if (op == LBK_OP_AMAX) {                                                                      \
            for (i = 0; i < nb; i += LBK__RB)                                                                \
                for (j = 0; j < LBK__RB; j++) { double v = x[i + j]; acc[j] = (v != v || v > acc[j]) ? v : acc[j]; } \
            for (i = nb; i < len; i++) { double v = x[i]; acc[i - nb] = (v != v || v > acc[i - nb]) ? v : acc[i - nb]; } \
        } else {                                                                                             \
            for (i = 0; i < nb; i += LBK__RB)                                                                \
                for (j = 0; j < LBK__RB; j++) { double v = x[i + j]; acc[j] = (v != v || v < acc[j]) ? v : acc[j]; } \
            for (i = nb; i < len; i++) { double v = x[i]; acc[i - nb] = (v != v || v < acc[i - nb]) ? v : acc[i - nb]; } \
        }                                                                                                    \
    }
LBK__RED_TILE(float, f32)
LBK__RED_TILE(double, f64)
#undef LBK__RED_TILE

/* f16 and bf16 to and from f32 without branches (selects the clones vectorise): exact one
   way, to nearest even the other (under the default rounding mode), overflow to inf,
   subnormals kept, NaN quiet with its payload's top bits, as F16C and the reference path. */
static float lbk__f16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } r, sub;
    uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    sub.f = (float)m * 5.9604644775390625e-8f;   /* m 2^-24, exact */
    r.u = e == 0 ? sub.u : e == 31 ? (0x7f800000u | (m << 13)) : (((e + 112) << 23) | (m << 13));
    r.u |= s;
    return r.f;
}
static uint16_t lbk__f32_to_f16(float f) {
    union { uint32_t u; float f; } v, d;
    uint32_t sign, a, nan_or_inf, normal;
    v.f = f;
    sign = (v.u >> 16) & 0x8000u;
    a = v.u & 0x7fffffffu;
    nan_or_inf = a > 0x7f800000u ? (0x7e00u | ((a >> 13) & 0x3ffu)) : 0x7c00u;
    normal = (a + 0xc8000fffu + ((a >> 13) & 1u)) >> 13;   /* rebias (15 - 127) << 23, round half to even */
    d.u = a;
    d.f += 0.5f;   /* subnormal: the FPU rounds into the low mantissa bits */
    return (uint16_t)(sign | (a >= 0x47800000u ? nan_or_inf : a < 0x38800000u ? d.u - 0x3f000000u : normal));
}
static float lbk__bf16_to_f32(uint16_t h) { union { uint32_t u; float f; } r; r.u = (uint32_t)h << 16; return r.f; }
static uint16_t lbk__f32_to_bf16(float f) {
    union { uint32_t u; float f; } v;
    v.f = f;
    return (uint16_t)((v.u & 0x7fffffffu) > 0x7f800000u ? ((v.u >> 16) | 0x40u) : ((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16));
}
/* n (a tile: LBK__TILE or LBK__SMALL_TILE) narrow elements of dt to f32 and back. */
#define LBK__CVT_LOOPS(N)                                                                                             if (to) { if (bf) for (i = 0; i < N; i++) h[i] = lbk__f32_to_bf16(f[i]); else for (i = 0; i < N; i++) h[i] = lbk__f32_to_f16(f[i]); }     else    { if (bf) for (i = 0; i < N; i++) f[i] = lbk__bf16_to_f32(h[i]); else for (i = 0; i < N; i++) f[i] = lbk__f16_to_f32(h[i]); }
static LBK__TILE_FN void lbk__tile_cvt16(bool to, bool bf, float *LBK__RESTRICT f, uint16_t *LBK__RESTRICT h, int64_t n) {
    int64_t i;
    if (n == LBK__TILE) { LBK__CVT_LOOPS(LBK__TILE) }
    else if (n == LBK__SMALL_TILE) { LBK__CVT_LOOPS(LBK__SMALL_TILE) }
    else { LBK__CVT_LOOPS(n) }
}
#undef LBK__CVT_LOOPS
/* The lanes' start, and their fold into one value (nan sticks: it fails every comparison). */
static void lbk__red_init(lbk_op op, double *acc) {
    int j;
    for (j = 0; j < LBK__RB; j++) acc[j] = op == LBK_OP_AMAX ? -HUGE_VAL : op == LBK_OP_AMIN ? HUGE_VAL : 0.0;
}
static double lbk__red_fold(lbk_op op, double m, double v) {
    if (op == LBK_OP_SUM || op == LBK_OP_MEAN) return m + v;
    if (m != m) return m;
    return (v != v || (op == LBK_OP_AMAX ? v > m : v < m)) ? v : m;
}
static double lbk__red_lanes(lbk_op op, const double *acc) {
    double m = acc[0];
    int j;
    for (j = 1; j < LBK__RB; j++) m = lbk__red_fold(op, m, acc[j]);
    return m;
}

/* The program's kept scratch block, grown to at least bytes (a program runs on one thread
   at a time: its context's). NULL on OOM. */
static char *lbk__cpu_prog_scratch(const lbk__cpu_prog *cp, size_t bytes) {
    lbk__cpu_prog *p = (lbk__cpu_prog *)(uintptr_t)cp;
    if (p->gscratch_bytes < bytes) {
        char *n = (char *)lbk__realloc_or_null(p->gscratch, bytes);
        if (!n) return NULL;
        p->gscratch = n;
        p->gscratch_bytes = bytes;
    }
    return p->gscratch;
}

/* The tile size for rows of length L. */
static int64_t lbk__cpu_tile_for(int64_t L) { return L <= LBK__SMALL_TILE ? LBK__SMALL_TILE : LBK__TILE; }

/* How a run of a fused group walks its tensor: one flat row (every outside input full-size
   or a single element) or rows of the innermost dim; per_out rows fold into one output of
   the reduction tail. strides: each outside input's, broadcast against the group's shape. */
typedef struct lbk__cpu_gwalk {
    bool flat;
    int nd;
    int64_t L, rows, per_out;
    int64_t (*strides)[LAZYBK_MAX_DIMS];
} lbk__cpu_gwalk;

/* Runs tiles [t_lo, t_hi) of row r of fused group gr: outside inputs with a zero inner
   stride are staged first (once for the span), then per tile every op runs over registers
   (regs, xb: this thread's scratch; loc: where each register's tile is). With acc, the
   last member's tiles are folded into the tail's lanes. */
static void lbk__cpu_group_span(const lbk__cpu_prog *p, const lbk__cpu_group *gr, const lbk__cpu_gwalk *w,
                                const int64_t *off, int64_t r, int64_t t_lo, int64_t t_hi, char *regs, char *xb,
                                const char **loc, double *acc) {
    const lbk__cpu_inst *shape = &p->inst[gr->last];
    lbk_dtype sdt = shape->dt, dt = lbk__cpu_gdt(sdt);   /* stored, computed */
    size_t esz = lbk_dtype_size(dt), sesz = lbk_dtype_size(sdt);
    bool narrow = sdt != dt, bf = sdt == LBK_BF16;
    const void *ap[2];
    bool flat = w->flat;
    int nd = w->nd;
    int64_t t0, L = w->L, T = lbk__cpu_tile_for(L);   /* the tile size of this span (its scratch is sized for it) */
    uint32_t e, o;
    for (e = 0; e < gr->n_ext; e++) {
        const lbk__cpu_inst *y = &p->inst[p->gext[gr->first_ext + e]];
        int64_t inner = flat ? (y->numel == 1 ? 0 : 1) : (nd ? w->strides[e][nd - 1] : 0);
        if (inner == 0) {
            const char *src = (const char *)p->vals[p->gext[gr->first_ext + e]] + (size_t)off[e] * sesz;
            char *stage = xb + (size_t)e * esz * (size_t)T;
            int64_t k;
            if (narrow) { float v = (float)lbk_load_f64(sdt, src, 0); for (k = 0; k < T; k++) ((float *)(void *)stage)[k] = v; }
            else if (dt == LBK_F32) { float v = *(const float *)(const void *)src; for (k = 0; k < T; k++) ((float *)(void *)stage)[k] = v; }
            else { double v = *(const double *)(const void *)src; for (k = 0; k < T; k++) ((double *)(void *)stage)[k] = v; }
        }
    }
    for (t0 = t_lo; t0 < t_hi; t0 += T) {
        int64_t len = LBK__MIN(T, L - t0);
        for (o = gr->first_op; o < gr->first_op + gr->n_ops; o++) {
            const lbk__cpu_gop *op = &p->gops[o];
            int j;
            for (j = 0; j < op->n_in; j++) {
                if (op->kind[j] == 0) { ap[j] = loc[op->idx[j]]; continue; }
                {
                    int ei = op->idx[j];
                    const lbk__cpu_inst *y = &p->inst[p->gext[gr->first_ext + (uint32_t)ei]];
                    int64_t inner = flat ? (y->numel == 1 ? 0 : 1) : (nd ? w->strides[ei][nd - 1] : 0);
                    char *stage = xb + (size_t)ei * esz * (size_t)T;
                    if (inner == 0) { ap[j] = stage; continue; }
                    ap[j] = (const char *)p->vals[p->gext[gr->first_ext + (uint32_t)ei]] + (size_t)(off[ei] + t0) * sesz;
                    if (narrow) {   /* converted into the stage, a whole tile (a short one padded with zeros) */
                        lbk__tile_cvt16(false, bf, (float *)(void *)stage, (uint16_t *)(uintptr_t)ap[j], len);
                        if (len < T) memset(stage + (size_t)len * esz, 0, (size_t)(T - len) * esz);
                        ap[j] = stage;
                    } else if (len < T) {   /* a short last tile: stage it so the op may read a whole tile */
                        memcpy(stage, ap[j], (size_t)len * esz);
                        memset(stage + (size_t)len * esz, 0, (size_t)(T - len) * esz);
                        ap[j] = stage;
                    }
                }
            }
            if (op->n_in == 1) ap[1] = ap[0];
            {   /* a value that leaves the group is computed straight into its buffer (whole tiles) */
                char *dst = regs + esz * (size_t)T * (size_t)op->out_reg;
                char *mem = p->inst[op->inst].group_out ? (char *)p->vals[op->inst] + (size_t)(r * L + t0) * sesz : NULL;
                if (mem && len == T && !narrow) dst = mem;
                if (T == LBK__TILE) {
                    if (dt == LBK_F32) lbk__tile_f32(op->op, (float *)(void *)dst, (const float *)ap[0], (const float *)ap[1]);
                    else lbk__tile_f64(op->op, (double *)(void *)dst, (const double *)ap[0], (const double *)ap[1]);
                } else {
                    if (dt == LBK_F32) lbk__tile_f32_16(op->op, (float *)(void *)dst, (const float *)ap[0], (const float *)ap[1]);
                    else lbk__tile_f64_16(op->op, (double *)(void *)dst, (const double *)ap[0], (const double *)ap[1]);
                }
                loc[op->out_reg] = dst;
                if (mem && narrow) lbk__tile_cvt16(true, bf, (float *)(void *)dst, (uint16_t *)(void *)mem, len);
                else if (mem && dst != mem) memcpy(mem, dst, (size_t)len * esz);
            }
        }
        if (acc) {
            const char *v = loc[p->gops[gr->first_op + gr->n_ops - 1].out_reg];
            if (dt == LBK_F32) lbk__redtile_f32(p->inst[gr->tail].op, (const float *)(const void *)v, len, acc);
            else lbk__redtile_f64(p->inst[gr->tail].op, (const double *)(const void *)v, len, acc);
        }
    }
}

/* One thread's scratch for a group (tiles of at most LBK__TILE): registers, staging tiles,
   register locations, input offsets, tail lanes. */
static size_t lbk__cpu_gscratch_bytes(const lbk__cpu_group *gr, size_t esz) {
    return esz * LBK__TILE * (size_t)(gr->n_regs + gr->n_ext + 1) + 64 + sizeof(char *) * (size_t)(gr->n_regs + 1) +
           sizeof(int64_t) * (size_t)(gr->n_ext + 1) + sizeof(double) * LBK__RB;
}
static void lbk__cpu_gscratch_carve(const lbk__cpu_group *gr, size_t esz, int64_t T, char *s, char **regs, char **xb,
                                    const char ***loc, int64_t **off, double **acc) {
    *regs = (char *)(((uintptr_t)s + 63) & ~(uintptr_t)63);
    *xb = *regs + esz * (size_t)T * (size_t)gr->n_regs;
    *acc = (double *)(void *)(*xb + esz * (size_t)T * (size_t)gr->n_ext);   /* 8-aligned: T*esz is */
    *off = (int64_t *)(void *)(*acc + LBK__RB);
    *loc = (const char **)(void *)(*off + gr->n_ext + 1);
}

/* Writes output k of the tail from its lanes. */
static void lbk__cpu_tail_store(const lbk__cpu_prog *p, const lbk__cpu_group *gr, const lbk__cpu_gwalk *w, int64_t k, double v) {
    const lbk__cpu_inst *t = &p->inst[gr->tail];
    if (t->op == LBK_OP_MEAN) v /= (double)(w->per_out * w->L);
    if (t->dt == LBK_F32) ((float *)p->vals[gr->tail])[k] = (float)v;
    else if (t->dt == LBK_F64) ((double *)p->vals[gr->tail])[k] = v;
    else lbk_store_f64(t->dt, p->vals[gr->tail], k, v);   /* f16, bf16: rounded once */
}

/* Runs whole rows [r_lo, r_hi) of group gr (with a tail: whole outputs) in scratch s. */
static void lbk__cpu_group_rows(const lbk__cpu_prog *p, const lbk__cpu_group *gr, const lbk__cpu_gwalk *w, int64_t r_lo,
                                int64_t r_hi, char *s) {
    const lbk__cpu_inst *shape = &p->inst[gr->last];
    size_t esz = lbk_dtype_size(lbk__cpu_gdt(shape->dt));
    char *regs, *xb;
    const char **loc;
    int64_t *off, idx[LAZYBK_MAX_DIMS], rem = r_lo, r;
    double *acc;
    uint32_t e;
    int d, nd = w->nd;
    lbk_op top = gr->tail >= 0 ? p->inst[gr->tail].op : LBK_OP_SUM;
    lbk__cpu_gscratch_carve(gr, esz, lbk__cpu_tile_for(w->L), s, &regs, &xb, &loc, &off, &acc);
    for (e = 0; e < gr->n_ext; e++) off[e] = 0;
    for (d = nd - 2; d >= 0; d--) {   /* the multi-index of row r_lo */
        idx[d] = rem % shape->dims[d];
        rem /= shape->dims[d];
        for (e = 0; e < gr->n_ext; e++) off[e] += idx[d] * w->strides[e][d];
    }
    for (r = r_lo; r < r_hi; r++) {
        if (gr->tail >= 0 && r % w->per_out == 0) lbk__red_init(top, acc);
        lbk__cpu_group_span(p, gr, w, off, r, 0, w->L, regs, xb, loc, gr->tail >= 0 ? acc : NULL);
        if (gr->tail >= 0 && (r + 1) % w->per_out == 0) lbk__cpu_tail_store(p, gr, w, r / w->per_out, lbk__red_lanes(top, acc));
        for (d = nd - 2; d >= 0; d--) {
            for (e = 0; e < gr->n_ext; e++) off[e] += w->strides[e][d];
            if (++idx[d] < shape->dims[d]) break;
            for (e = 0; e < gr->n_ext; e++) off[e] -= w->strides[e][d] * shape->dims[d];
            idx[d] = 0;
        }
    }
}

/* Plans a run of gr: its walk (strides kept in the program's scratch block, after which
   comes room for one thread's scratch, returned in *s). Rows of the innermost dim when
   rows is set (a matmul epilogue), or when a tail reduces fewer than all axes. NULL: OOM. */
static lbk_result lbk__cpu_group_walk(const lbk__cpu_prog *p, const lbk__cpu_group *gr, bool rows, lbk__cpu_gwalk *w, char **s) {
    const lbk__cpu_inst *shape = &p->inst[gr->last];
    size_t esz = lbk_dtype_size(lbk__cpu_gdt(shape->dt));
    size_t st_bytes = sizeof(int64_t) * LAZYBK_MAX_DIMS * (gr->n_ext + 1);
    char *block = lbk__cpu_prog_scratch(p, st_bytes + lbk__cpu_gscratch_bytes(gr, esz));
    uint32_t e;
    int nd = shape->n_dims;
    if (!block) return lbk_backend_error(LBK_ERR_OOM, shape->debug, "out of memory");
    w->strides = (int64_t (*)[LAZYBK_MAX_DIMS])(void *)block;
    w->flat = !rows && !(gr->tail >= 0 && gr->red_first > 0);
    for (e = 0; e < gr->n_ext; e++) {
        const lbk__cpu_inst *y = &p->inst[p->gext[gr->first_ext + e]];
        lbk__cpu_bstrides(shape, y, w->strides[e]);
        if (!(y->numel == 1 || y->numel == shape->numel)) w->flat = false;   /* a valid broadcast of equal size is the same layout */
    }
    if (w->flat || nd == 0) { w->flat = true; w->L = shape->numel; w->rows = 1; w->nd = 1; w->per_out = 1; }
    else {
        w->nd = nd;
        w->L = shape->dims[nd - 1];
        w->rows = shape->numel / w->L;
        w->per_out = gr->tail >= 0 ? lbk_shape_numel(nd - gr->red_first, shape->dims + gr->red_first) / w->L : 1;
    }
    *s = block + st_bytes;
    return LBK_OK;
}

/* Runs fused group gr (not a matmul's epilogue): the flat row split by tiles across
   threads, or rows (whole outputs of a tail) split across threads, each thread with its own
   scratch; small tensors on the calling thread. */
static lbk_result lbk__cpu_group_run(const lbk__cpu_prog *p, const lbk__cpu_group *gr) {
    const lbk__cpu_inst *shape = &p->inst[gr->last];
    lbk__cpu_gwalk w;
    char *s;
    int threads = lbk_exec_threads();
    lbk_result r = lbk__cpu_group_walk(p, gr, false, &w, &s);
    if (r != LBK_OK) return r;
    (void)shape;
#ifdef _OPENMP
    if (threads != 1 && shape->numel >= 8 * 65536 && (w.flat || w.rows / w.per_out >= 2)) {
        int nt = LBK__MIN(threads > 0 ? threads : omp_get_max_threads(), 64);
        size_t esz = lbk_dtype_size(lbk__cpu_gdt(shape->dt)), bytes = lbk__cpu_gscratch_bytes(gr, esz);
        double part[64];
        bool failed = false;
        lbk_op top = gr->tail >= 0 ? p->inst[gr->tail].op : LBK_OP_SUM;
        int used = 1;
#pragma omp parallel num_threads(nt)
        {
            int me = omp_get_thread_num(), all = omp_get_num_threads();
            char *ts = (char *)lbk__malloc(bytes);
            if (me == 0) used = all;
            if (!ts) {
#pragma omp atomic write
                failed = true;
            } else if (w.flat) {
                int64_t tiles = (w.L + LBK__TILE - 1) / LBK__TILE;
                int64_t lo = tiles * me / all * LBK__TILE, hi = LBK__MIN(w.L, tiles * (me + 1) / all * LBK__TILE);
                char *regs, *xb;
                const char **loc;
                int64_t *off;
                double *acc;
                lbk__cpu_gscratch_carve(gr, esz, LBK__TILE, ts, &regs, &xb, &loc, &off, &acc);
                memset(off, 0, sizeof(int64_t) * (gr->n_ext + 1));
                lbk__red_init(top, acc);
                lbk__cpu_group_span(p, gr, &w, off, 0, lo, hi, regs, xb, loc, gr->tail >= 0 ? acc : NULL);
                part[me] = lbk__red_lanes(top, acc);
            } else {
                int64_t outs = w.rows / w.per_out;
                lbk__cpu_group_rows(p, gr, &w, outs * me / all * w.per_out, outs * (me + 1) / all * w.per_out, ts);
            }
            lbk__free(ts);
        }
        if (failed) return lbk_backend_error(LBK_ERR_OOM, shape->debug, "out of memory");
        if (w.flat && gr->tail >= 0) {   /* the threads' partial results, folded in order */
            int k;
            double v = part[0];
            for (k = 1; k < used; k++) v = lbk__red_fold(top, v, part[k]);
            lbk__cpu_tail_store(p, gr, &w, 0, v);
        }
        return LBK_OK;
    }
#endif
    (void)threads;
    lbk__cpu_group_rows(p, gr, &w, 0, w.rows, s);
    return LBK_OK;
}

/* An expand is not run where its readers can broadcast its input themselves: an elementwise
   reader reads the expand's input instead (its kernels broadcast every input against their
   own shape), a reduction reads it through broadcast strides (b_src). An expand left with no
   other reader is never run, so a full (an expand of a scalar) costs one element however
   large it is. Both paths. */
static bool lbk__cpu_plan_expands(lbk__cpu_prog *p) {
    uint32_t i, k, n = p->n;
    uint32_t *readers = (uint32_t *)lbk__calloc(n + 1, sizeof(uint32_t));
    if (!readers) return false;
    for (i = 0; i < n; i++)
        for (k = 0; k < p->inst[i].n_in; k++) readers[p->ins[p->inst[i].first_in + k]]++;
    for (i = 0; i < n; i++) {
        lbk__cpu_inst *x = &p->inst[i];
        bool ew = lbk__cpu_is_ew(x->op), red = x->op == LBK_OP_SUM || x->op == LBK_OP_MEAN || x->op == LBK_OP_AMAX ||
                                                 x->op == LBK_OP_AMIN || x->op == LBK_OP_ARGMAX;
        if (x->param >= 0 || (!ew && !red)) continue;
        for (k = 0; k < (ew ? x->n_in : 1); k++) {
            uint32_t y = p->ins[x->first_in + k], z = y;
            while (p->inst[z].op == LBK_OP_EXPAND && p->inst[z].param < 0) z = p->ins[p->inst[z].first_in];
            if (z == y) continue;
            readers[y]--;
            if (p->inst[z].last_use < i) p->inst[z].last_use = i;
            if (ew) p->ins[x->first_in + k] = z;
            else x->b_src = (int32_t)z;
        }
    }
    for (i = 0; i < n; i++)
        if (p->inst[i].op == LBK_OP_EXPAND && p->inst[i].param < 0 && p->inst[i].out < 0 && readers[i] == 0) p->inst[i].skip = true;
    lbk__free(readers);
    return true;
}

/* A float matmul whose B is a transpose of the last two dims, read by nothing else, packs
   B straight from the transpose's input: the transpose is never run (linear's
   decomposition, matmul(x, transpose(w)), gets no copy of w). */
static void lbk__cpu_plan_transposes(lbk__cpu_prog *p) {
    uint32_t i, k, n = p->n;
    for (i = 0; i < n; i++) {
        lbk__cpu_inst *x = &p->inst[i], *b, *src;
        uint32_t bi, readers = 0;
        int d;
        bool swap = true;
        if (x->op != LBK_OP_MATMUL || !lbk__cpu_native(x->dt)) continue;
        bi = p->ins[x->first_in + 1];
        b = &p->inst[bi];
        if (b->op != LBK_OP_PERMUTE || b->out >= 0 || b->group >= 0 || b->n_dims < 2 || b->dt != x->dt) continue;
        for (d = 0; d < b->n_dims - 2 && swap; d++) swap = b->perm[d] == d;
        swap = swap && b->perm[b->n_dims - 2] == b->n_dims - 1 && b->perm[b->n_dims - 1] == b->n_dims - 2;
        if (!swap) continue;
        for (k = 0; k < n; k++) {   /* the transpose must have no other reader */
            uint32_t j;
            for (j = 0; j < p->inst[k].n_in; j++) readers += p->ins[p->inst[k].first_in + j] == bi;
        }
        if (readers != 1) continue;
        src = &p->inst[p->ins[b->first_in]];
        b->skip = true;
        x->b_src = (int32_t)p->ins[b->first_in];
        if (src->last_use < i) src->last_use = i;   /* the source lives until the matmul */
    }
}

/* Whether the fast matmul kernel runs instruction x. */
static bool lbk__cpu_matmul_is_fast(const lbk__cpu_prog *p, const lbk__cpu_inst *x) {
    return x->op == LBK_OP_MATMUL && lbk__cpu_native(x->dt) && p->inst[p->ins[x->first_in]].dt == x->dt;
}

/* Fuses groups with their neighbours:
   - a head: a float matmul of the group's shape read only by the group's members becomes
     its own kernel with the group as epilogue (bias, activation, ...), run on rows of the
     product as they are finished, while they are in cache. The matmul is run at the group's
     turn; its inputs are kept alive until then.
   - a tail: a sum, mean, amax or amin over trailing axes that is the next node after the
     group and the only reader of its last member (not a graph output): the member then
     never reaches memory; tiles are folded as they are made. f64 sums are left to the
     pairwise kernel (the reference's order of error). */
static bool lbk__cpu_plan_fusions(lbk__cpu_prog *p) {
    uint32_t g, i, k, n = p->n;
    uint32_t *readers = (uint32_t *)lbk__calloc(n + 1, sizeof(uint32_t));
    if (!readers) return false;
    for (i = 0; i < n; i++)
        for (k = 0; k < p->inst[i].n_in; k++) readers[p->ins[p->inst[i].first_in + k]]++;
    for (g = 0; g < p->n_groups; g++) {
        lbk__cpu_group *gr = &p->groups[g];
        lbk__cpu_inst *sh = &p->inst[gr->last];
        uint32_t e;
        for (e = 0; e < gr->n_ext && gr->head < 0; e++) {
            uint32_t y = p->gext[gr->first_ext + e], reads = 0, o;
            lbk__cpu_inst *m = &p->inst[y];
            if (!lbk__cpu_matmul_is_fast(p, m) || m->out >= 0 || m->skip || m->group >= 0 || !lbk__cpu_same_shape(m, sh)) continue;
            for (o = gr->first_op; o < gr->first_op + gr->n_ops; o++) {
                const lbk__cpu_inst *x = &p->inst[p->gops[o].inst];
                for (k = 0; k < x->n_in; k++) reads += p->ins[x->first_in + k] == y;
            }
            if (reads != readers[y]) continue;
            gr->head = (int32_t)y;
            m->group = (int32_t)g;
            m->group_out = true;   /* the product itself is written (it is accumulated in place) */
            for (k = 0; k < m->n_in + (m->b_src >= 0); k++) {   /* its inputs live until the group's turn */
                lbk__cpu_inst *a = &p->inst[k < m->n_in ? p->ins[m->first_in + k] : (uint32_t)m->b_src];
                if (a->last_use < gr->at) a->last_use = gr->at;
            }
        }
        if (gr->head >= 0) continue;
        for (i = gr->last + 1; i < n && p->inst[i].param >= 0; i++) {}
        if (i < n && sh->out < 0 && readers[gr->last] == 1) {
            lbk__cpu_inst *t = &p->inst[i];
            int first = -1, d;
            bool ok = t->n_in == 1 && p->ins[t->first_in] == gr->last && t->dt == sh->dt && t->group < 0 && sh->n_dims > 0 &&
                      (t->op == LBK_OP_AMAX || t->op == LBK_OP_AMIN ||
                       (lbk__cpu_gdt(sh->dt) == LBK_F32 && (t->op == LBK_OP_SUM || t->op == LBK_OP_MEAN)));
            for (d = 0; ok && d < sh->n_dims; d++) {   /* one block of axes ending at the last */
                bool red = (t->mask >> d) & 1u;
                if (red && first < 0) first = d;
                if (!red && first >= 0) ok = false;
            }
            if (ok && first >= 0) {
                gr->tail = (int32_t)i;
                gr->red_first = first;
                gr->at = i;
                t->group = (int32_t)g;
                t->group_out = true;
                sh->group_out = false;   /* folded in registers */
            }
        }
    }
    lbk__free(readers);
    return true;
}

/* The instructions that run together at instruction i's turn, in order: a fused group (its
   head first, then its members and parameters between them, then its tail), or i alone.
   first: the first one; next: the one after m, or UINT32_MAX. */
static uint32_t lbk__cpu_span_first(const lbk__cpu_prog *p, uint32_t i) {
    const lbk__cpu_group *gr = p->inst[i].group >= 0 ? &p->groups[p->inst[i].group] : NULL;
    return !gr ? i : gr->head >= 0 ? (uint32_t)gr->head : p->gops[gr->first_op].inst;
}
static uint32_t lbk__cpu_span_next(const lbk__cpu_prog *p, uint32_t i, uint32_t m) {
    const lbk__cpu_group *gr = p->inst[i].group >= 0 ? &p->groups[p->inst[i].group] : NULL;
    if (!gr || m >= gr->at) return UINT32_MAX;
    return gr->head >= 0 && m == (uint32_t)gr->head ? p->gops[gr->first_op].inst : m + 1;
}
/* Whether instruction i is where its span runs. */
static bool lbk__cpu_span_runs_at(const lbk__cpu_prog *p, uint32_t i) {
    return p->inst[i].group < 0 || p->groups[p->inst[i].group].at == i;
}

static lbk_result lbk__cpu_compile_one(lbk__cpu *cpu, const lbk_graph *g, lbk__cpu_prog **out) {
    uint32_t n = lbk_graph_size(g), i, k, n_ins = 0, n_dims = 0;
    int *free_slots = NULL;
    size_t n_free = 0, cap_free = 0, cap_slots = 0, cap_sb = 0;
    lbk__cpu_prog *p = (lbk__cpu_prog *)lbk__calloc(1, sizeof *p);
    if (!p) goto oom;
    for (i = 0; i < n; i++) {
        lbk_node nd = lbk_graph_node(g, i);
        n_ins += (uint32_t)nd.n_inputs;
        n_dims += (uint32_t)nd.n_dims;
    }
    p->inst = (lbk__cpu_inst *)lbk__calloc(n ? n : 1, sizeof *p->inst);
    p->ins = (uint32_t *)lbk__malloc(sizeof *p->ins * (n_ins ? n_ins : 1));
    p->dims = (int64_t *)lbk__malloc(sizeof *p->dims * (n_dims ? n_dims : 1));
    p->vals = (void **)lbk__calloc(n ? n : 1, sizeof *p->vals);
    if (!p->inst || !p->ins || !p->dims || !p->vals) goto oom;
    n_dims = 0;
    p->n = n;
    p->n_params = lbk_graph_n_params(g);
    p->n_outputs = lbk_graph_n_outputs(g);
    n_ins = 0;
    for (i = 0; i < n; i++) {
        lbk_node nd = lbk_graph_node(g, i);
        lbk__cpu_inst *x = &p->inst[i];
        int axes[LAZYBK_MAX_DIMS], perm[LAZYBK_MAX_DIMS], na;
        x->op = nd.op;
        x->dt = nd.dtype;
        x->n_dims = nd.n_dims;
        x->dims = p->dims + n_dims;
        if (nd.n_dims) memcpy(p->dims + n_dims, nd.dims, sizeof(int64_t) * (size_t)nd.n_dims);
        n_dims += (uint32_t)nd.n_dims;
        x->numel = lbk_shape_numel(nd.n_dims, nd.dims);
        x->bytes = (size_t)x->numel * lbk_dtype_size(nd.dtype);
        x->first_in = n_ins;
        x->n_in = (uint32_t)nd.n_inputs;
        for (k = 0; k < x->n_in; k++) {
            p->ins[n_ins++] = nd.inputs[k];
            p->inst[nd.inputs[k]].last_use = i;
        }
        x->param = lbk_graph_param_index(g, i);
        x->out = -1;
        x->slot = -1;
        x->last_use = i;
        x->debug = nd.debug_handle;
        x->group = -1;
        x->b_src = -1;
        x->donate = -1;
        na = lbk_node_axes(g, i, axes);
        for (k = 0; k < (uint32_t)na; k++) x->mask |= 1u << axes[k];
        x->keepdim = lbk_node_keepdim(g, i);
        x->axis = lbk_node_axis(g, i);
        if (nd.op == LBK_OP_ARGMAX && p->inst[nd.inputs[0]].n_dims > 0) x->mask = 1u << x->axis;
        if (lbk_node_perm(g, i, perm))
            for (k = 0; k < (uint32_t)nd.n_dims; k++) x->perm[k] = (int8_t)perm[k];
        (void)lbk_node_slice(g, i, &x->axis, &x->u.sl.start, &x->u.sl.step);
        (void)lbk_node_arange(g, i, &x->u.ar.start, &x->u.ar.step);
        (void)lbk_node_norm(g, i, &x->n_norm, &x->eps, &x->has_w, &x->has_b);
        x->desc = lbk_node_descending(g, i);
        if (nd.op == LBK_OP_SDPA) {
            bool causal = false;
            (void)lbk_node_sdpa(g, i, &causal, &x->eps, &x->has_w);
            x->desc = causal;   /* is_causal; eps: the scale (0: 1/sqrt(E)); has_w: a mask */
        }
        {
            int64_t ws[2], wp[2], we[2], wg;
            if (lbk_node_window(g, i, ws, wp, we, &wg))
                for (k = 0; k < 2; k++) { x->win[k] = (int32_t)ws[k]; x->win[2 + k] = (int32_t)wp[k]; x->win[4 + k] = (int32_t)we[k]; x->win[6] = (int32_t)wg; }
        }
    }
    for (k = 0; k < p->n_outputs; k++) p->inst[lbk_graph_output(g, k)].out = (int)k;
    for (i = 0; i < n; i++) {   /* an output slice_update over a donated parameter read by nothing else: in place */
        lbk__cpu_inst *x = &p->inst[i];
        uint32_t t0, reads = 0;
        if (x->op != LBK_OP_SLICE_UPDATE || x->out < 0) continue;
        t0 = p->ins[x->first_in];
        if (p->inst[t0].param < 0 || !lbk_graph_param_donated(g, (uint32_t)p->inst[t0].param)) continue;
        for (k = 0; k < n_ins; k++) reads += p->ins[k] == t0;
        if (reads == 1) x->donate = p->inst[t0].param;
    }
    for (i = 0; i < n; i++) {   /* an elementwise op needs its reference kernel: asked on an empty row */
        const lbk__cpu_inst *x = &p->inst[i];
        double dummy = 0;
        lbk_result r;
        if (x->param >= 0 || !lbk__cpu_is_ew(x->op) || x->op == LBK_OP_CAST) continue;
        r = lbk__cpu_row(x, p->inst[p->ins[x->first_in + (x->op == LBK_OP_WHERE ? 1 : 0)]].dt, 0, &dummy, &dummy, 0, &dummy, 0,
                         &dummy, 0);
        if (r != LBK_OK) { lbk__cpu_prog_free(cpu, (lbk_computation *)p); lbk__free(free_slots); return r; }
    }
    p->fast = lbk__cpu_fast(cpu);
    if (!lbk__cpu_plan_expands(p)) goto oom;
    if (p->fast && !lbk__cpu_plan_groups(p)) goto oom;
    if (p->fast) lbk__cpu_plan_transposes(p);
    if (p->fast && !lbk__cpu_plan_fusions(p)) goto oom;
    /* scratch slots by liveness: a slot is free again after its node's last reader. A
       fused group's members are planned together at its last member: its outputs get
       slots, then the slots its members read are released. */
    for (i = 0; i < n; i++) {
        uint32_t m;
        if (!lbk__cpu_span_runs_at(p, i)) continue;
        for (m = lbk__cpu_span_first(p, i); m != UINT32_MAX; m = lbk__cpu_span_next(p, i, m)) {
            lbk__cpu_inst *y = &p->inst[m];
            size_t f;
            if (y->param >= 0 || y->out >= 0 || y->skip || (y->group >= 0 && !y->group_out)) continue;
            for (f = 0; f < n_free; f++)
                if (p->slot_bytes[free_slots[f]] == y->bytes) break;
            if (f < n_free) {
                y->slot = free_slots[f];
                free_slots[f] = free_slots[--n_free];
            } else {
                if (!LBK__GROW(p->slot_bytes, cap_slots, (size_t)p->n_slots + 1)) goto oom;
                y->slot = p->n_slots;
                p->slot_bytes[p->n_slots++] = y->bytes;
            }
        }
        for (m = lbk__cpu_span_first(p, i); m != UINT32_MAX; m = lbk__cpu_span_next(p, i, m)) {
            lbk__cpu_inst *xm = &p->inst[m];
            for (k = 0; k < xm->n_in + (xm->b_src >= 0); k++) {   /* a transposed B's source is read too */
                lbk__cpu_inst *y = &p->inst[k < xm->n_in ? p->ins[xm->first_in + k] : (uint32_t)xm->b_src];
                if (y->slot >= 0 && y->last_use <= i) {
                    if (!LBK__GROW(free_slots, cap_free, n_free + 1)) goto oom;
                    free_slots[n_free++] = y->slot;
                    y->last_use = UINT32_MAX;   /* freed once even if read twice */
                }
            }
        }
    }
    if (!LBK__GROW(p->slot_buf, cap_sb, (size_t)p->n_slots + 1)) goto oom;
    memset(p->slot_buf, 0, sizeof(*p->slot_buf) * ((size_t)p->n_slots + 1));
    lbk__free(free_slots);
    *out = p;
    return LBK_OK;
oom:
    lbk__free(free_slots);
    lbk__cpu_prog_free(cpu, (lbk_computation *)p);
    return lbk_backend_error(LBK_ERR_OOM, -1, "out of memory while compiling");
}

static lbk_result lbk__cpu_compile(void *self, lbk_device dev, const lbk_graph *const *graphs, int n, lbk_computation **out) {
    int i, j;
    lbk_result r;
    (void)dev;
    for (i = 0; i < n; i++) {
        lbk__cpu_prog *p = NULL;
        if ((r = lbk__cpu_compile_one((lbk__cpu *)self, graphs[i], &p)) != LBK_OK) {
            for (j = 0; j < i; j++) lbk__cpu_prog_free(self, out[j]);
            return r;
        }
        out[i] = (lbk_computation *)p;
    }
    lbk__lock(&((lbk__cpu *)self)->lock);
    ((lbk__cpu *)self)->compiles += n;
    lbk__unlock(&((lbk__cpu *)self)->lock);
    return LBK_OK;
}
static int lbk__cpu_group_of(void *self, const lbk_computation *c, uint32_t node) {
    const lbk__cpu_prog *p = (const lbk__cpu_prog *)c;
    (void)self;
    return p->fast && node < p->n ? p->inst[node].group : -1;
}
/* The scratch slots a program keeps between executions (allocated at its first run). */
static size_t lbk__cpu_prog_memory(void *self, const lbk_computation *c) {
    const lbk__cpu_prog *p = (const lbk__cpu_prog *)c;
    size_t b = 0;
    int s;
    (void)self;
    for (s = 0; s < p->n_slots; s++) b += p->slot_bytes[s];
    return b;
}
static const char *lbk__cpu_text(void *self, const lbk_computation *c) {
    lbk__cpu_prog *p = (lbk__cpu_prog *)c;   /* written on first request: compiles stay cheap */
    (void)self;
    if (!p->text.len) lbk__cpu_plan_text(p);
    return lbk__str_get(&p->text);
}

/* ---- kernels ---- */
static void lbk__cpu_strides(int n_dims, const int64_t *dims, int64_t *st) {
    int64_t s = 1;
    int d;
    for (d = n_dims - 1; d >= 0; d--) { st[d] = s; s *= dims[d]; }
}
/* Strides of in, broadcast against out's shape (0 along broadcast dims). */
static void lbk__cpu_bstrides(const lbk__cpu_inst *out, const lbk__cpu_inst *in, int64_t *st) {
    int64_t s = 1;
    int d;
    for (d = out->n_dims - 1; d >= 0; d--) {
        int j = d - (out->n_dims - in->n_dims);
        if (j < 0) { st[d] = 0; continue; }
        st[d] = in->dims[j] == 1 ? 0 : s;
        s *= in->dims[j];
    }
}

/* dst[idx . dst_st] = src[idx . src_st] over dims; element size esz. */
static void lbk__cpu_copy(char *dst, const char *src, size_t esz, int nd, const int64_t *dims, const int64_t *dst_st,
                          const int64_t *src_st) {
    int64_t idx[LAZYBK_MAX_DIMS], L, rows, r, i, so = 0, dof = 0, ss, ds;
    int d;
    if (lbk_shape_numel(nd, dims) == 0) return;
    L = nd ? dims[nd - 1] : 1;
    ss = nd ? src_st[nd - 1] : 0;
    ds = nd ? dst_st[nd - 1] : 0;
    rows = lbk_shape_numel(nd, dims) / L;
    memset(idx, 0, sizeof idx);
    for (r = 0; r < rows; r++) {
        switch (esz) {   /* every dtype size (the table's sizes: 1, 2, 4, 8; others by bytes) */
        case 1: for (i = 0; i < L; i++) dst[(dof + i * ds)] = src[(so + i * ss)]; break;
        case 2: for (i = 0; i < L; i++) ((uint16_t *)dst)[dof + i * ds] = ((const uint16_t *)src)[so + i * ss]; break;
        case 4: for (i = 0; i < L; i++) ((uint32_t *)dst)[dof + i * ds] = ((const uint32_t *)src)[so + i * ss]; break;
        case 8: for (i = 0; i < L; i++) ((uint64_t *)dst)[dof + i * ds] = ((const uint64_t *)src)[so + i * ss]; break;
        default:
            for (i = 0; i < L; i++) memcpy(dst + (size_t)(dof + i * ds) * esz, src + (size_t)(so + i * ss) * esz, esz);
            break;
        }
        for (d = nd - 2; d >= 0; d--) {
            so += src_st[d]; dof += dst_st[d];
            if (++idx[d] < dims[d]) break;
            so -= src_st[d] * dims[d]; dof -= dst_st[d] * dims[d];
            idx[d] = 0;
        }
    }
}

static uint64_t lbk__ipow(int64_t b, int64_t e) {
    uint64_t r = 1, x = (uint64_t)b;
    if (e < 0) return b == 1 ? 1 : b == -1 ? ((e & 1) ? ~(uint64_t)0 : 1) : 0;
    while (e) { if (e & 1) r *= x; x *= x; e >>= 1; }
    return r;
}
static double lbk__fmax(double x, double y) { return x != x ? x : y != y ? y : x > y ? x : y; }
static double lbk__fmin(double x, double y) { return x != x ? x : y != y ? y : x < y ? x : y; }

/* One row of an elementwise node: n outputs, inputs read with strides sa, sb, sc, of the
   compute dtype dt (where: of its data operands). Rows go through the dtypes' row
   converters, 256 elements at a time: floats are computed in double, integers and bool in
   int64 (wrapping), and each result is rounded or wrapped once, on the store. An op with no
   case here is LBK_ERR_UNSUPPORTED (asked once per compile with n = 0). */
#define LBK__CPU_RB 256
static lbk_result lbk__cpu_row(const lbk__cpu_inst *x, lbk_dtype dt, int64_t n, void *o, const void *a, int64_t sa,
                               const void *b, int64_t sb, const void *c, int64_t sc) {
    const lbk_dtype_info *ti = lbk_dtype_info_of(dt), *oi = lbk_dtype_info_of(x->dt);
    bool fl = lbk_dtype_is_float(dt), rf;
    lbk_op_kind kind = lbk_op_kind_of(x->op);
    int64_t at = 0, len, i;
    union { double f[LBK__CPU_RB]; int64_t i[LBK__CPU_RB]; } A, B, R;
    if (!ti || !oi) return lbk_backend_error(LBK_ERR_DTYPE, x->debug, "'%s' of dtype %s", lbk_op_name(x->op), lbk_dtype_name(dt));
#define LBK__F1(EXPR) for (i = 0; i < len; i++) { double x_ = A.f[i]; R.f[i] = (EXPR); }
#define LBK__F2(EXPR) for (i = 0; i < len; i++) { double x_ = A.f[i], y_ = B.f[i]; R.f[i] = (EXPR); }
#define LBK__I1(EXPR) for (i = 0; i < len; i++) { int64_t x_ = A.i[i]; R.i[i] = lbk__wrap64((uint64_t)(EXPR)); }
#define LBK__I2(EXPR) for (i = 0; i < len; i++) { int64_t x_ = A.i[i], y_ = B.i[i]; R.i[i] = lbk__wrap64((uint64_t)(EXPR)); }
#define LBK__CMP(OPR) for (i = 0; i < len; i++) R.i[i] = fl ? A.f[i] OPR B.f[i] : A.i[i] OPR B.i[i];
#define LBK__FLOAT_ONLY(FEXPR) if (!fl) goto no_int; LBK__F1(FEXPR)
    do {
        len = LBK__MIN(n - at, LBK__CPU_RB);
        if (x->op == LBK_OP_WHERE) {   /* cond (bool, a), then the data operands: elements copied as they are */
            const uint8_t *C = (const uint8_t *)a + at * sa;
            size_t esz = oi->size;
            char *O = (char *)o + (size_t)at * esz;
            for (i = 0; i < len; i++)
                memcpy(O + (size_t)i * esz, C[i * sa] ? (const char *)b + (size_t)((at + i) * sb) * esz
                                                      : (const char *)c + (size_t)((at + i) * sc) * esz, esz);
            continue;
        }
        if (fl && kind != LBK_OPKIND_LOGIC) {
            ti->to_f64(A.f, (const char *)a + (size_t)(at * sa) * ti->size, sa, len);
            if (b) ti->to_f64(B.f, (const char *)b + (size_t)(at * sb) * ti->size, sb, len);
        } else {
            ti->to_i64(A.i, (const char *)a + (size_t)(at * sa) * ti->size, sa, len);
            if (b) ti->to_i64(B.i, (const char *)b + (size_t)(at * sb) * ti->size, sb, len);
        }
        rf = fl && (kind == LBK_OPKIND_UNARY || kind == LBK_OPKIND_BINARY);
        switch (x->op) {
        case LBK_OP_EXP: LBK__FLOAT_ONLY(exp(x_)) break;
        case LBK_OP_LOG: LBK__FLOAT_ONLY(log(x_)) break;
        case LBK_OP_SQRT: LBK__FLOAT_ONLY(sqrt(x_)) break;
        case LBK_OP_RSQRT: LBK__FLOAT_ONLY(1.0 / sqrt(x_)) break;
        case LBK_OP_SIN: LBK__FLOAT_ONLY(sin(x_)) break;
        case LBK_OP_COS: LBK__FLOAT_ONLY(cos(x_)) break;
        case LBK_OP_TANH: LBK__FLOAT_ONLY(tanh(x_)) break;
        case LBK_OP_SIGMOID: LBK__FLOAT_ONLY(1.0 / (1.0 + exp(-x_))) break;
        case LBK_OP_ERF: LBK__FLOAT_ONLY(erf(x_)) break;
        case LBK_OP_FLOOR: LBK__FLOAT_ONLY(floor(x_)) break;
        case LBK_OP_CEIL: LBK__FLOAT_ONLY(ceil(x_)) break;
        case LBK_OP_RECIPROCAL: LBK__FLOAT_ONLY(1.0 / x_) break;
        case LBK_OP_DIV: if (!fl) goto no_int; LBK__F2(x_ / y_) break;
        case LBK_OP_NEG: if (fl) { LBK__F1(-x_) } else { LBK__I1(0 - (uint64_t)x_) } break;
        case LBK_OP_ABS: if (fl) { LBK__F1(fabs(x_)) } else { LBK__I1(x_ < 0 ? 0 - (uint64_t)x_ : (uint64_t)x_) } break;
        case LBK_OP_RELU: if (fl) { LBK__F1(x_ < 0 ? 0.0 : x_) } else { LBK__I1(x_ > 0 ? (uint64_t)x_ : 0) } break;
        case LBK_OP_ADD: if (fl) { LBK__F2(x_ + y_) } else { LBK__I2((uint64_t)x_ + (uint64_t)y_) } break;
        case LBK_OP_SUB: if (fl) { LBK__F2(x_ - y_) } else { LBK__I2((uint64_t)x_ - (uint64_t)y_) } break;
        case LBK_OP_MUL: if (fl) { LBK__F2(x_ * y_) } else { LBK__I2((uint64_t)x_ * (uint64_t)y_) } break;
        case LBK_OP_POW: if (fl) { LBK__F2(pow(x_, y_)) } else { LBK__I2(lbk__ipow(x_, y_)) } break;
        case LBK_OP_MAXIMUM: if (fl) { LBK__F2(lbk__fmax(x_, y_)) } else { LBK__I2(x_ > y_ ? x_ : y_) } break;
        case LBK_OP_MINIMUM: if (fl) { LBK__F2(lbk__fmin(x_, y_)) } else { LBK__I2(x_ < y_ ? x_ : y_) } break;
        case LBK_OP_EQ: LBK__CMP(==) break;
        case LBK_OP_NE: LBK__CMP(!=) break;
        case LBK_OP_LT: LBK__CMP(<) break;
        case LBK_OP_LE: LBK__CMP(<=) break;
        case LBK_OP_GT: LBK__CMP(>) break;
        case LBK_OP_GE: LBK__CMP(>=) break;
        case LBK_OP_LOGICAL_AND: for (i = 0; i < len; i++) R.i[i] = A.i[i] && B.i[i]; break;
        case LBK_OP_LOGICAL_OR: for (i = 0; i < len; i++) R.i[i] = A.i[i] || B.i[i]; break;
        case LBK_OP_LOGICAL_NOT: for (i = 0; i < len; i++) R.i[i] = !A.i[i]; break;
        default:
            return lbk_backend_error(LBK_ERR_UNSUPPORTED, x->debug, "the cpu backend has no kernel for elementwise op '%s'",
                                     lbk_op_name(x->op));
        }
        if (rf) oi->from_f64((char *)o + (size_t)at * oi->size, R.f, len);
        else oi->from_i64((char *)o + (size_t)at * oi->size, R.i, len);
    } while ((at += len) < n);
    return LBK_OK;
no_int:
    return lbk_backend_error(LBK_ERR_DTYPE, x->debug, "the cpu backend runs '%s' on float dtypes, not %s", lbk_op_name(x->op),
                             lbk_dtype_name(dt));
#undef LBK__F1
#undef LBK__F2
#undef LBK__I1
#undef LBK__I2
#undef LBK__CMP
#undef LBK__FLOAT_ONLY
}

/* Elementwise node over broadcast inputs, a row (innermost dim) at a time. */
static lbk_result lbk__cpu_ew(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    int64_t st[3][LAZYBK_MAX_DIMS], off[3] = {0, 0, 0}, idx[LAZYBK_MAX_DIMS], L, rows, r;
    const char *in[3] = {NULL, NULL, NULL};
    size_t isz[3] = {0, 0, 0}, osz = lbk_dtype_size(x->dt);
    lbk_dtype dt = x->dt;
    uint32_t k;
    int nd = x->n_dims, d;
    lbk_result r0;
    if (x->numel == 0) return LBK_OK;
    memset(st, 0, sizeof st);   /* absent inputs stay at offset 0 */
    for (k = 0; k < x->n_in && k < 3; k++) {
        const lbk__cpu_inst *y = &p->inst[p->ins[x->first_in + k]];
        lbk__cpu_bstrides(x, y, st[k]);
        in[k] = (const char *)p->vals[p->ins[x->first_in + k]];
        isz[k] = lbk_dtype_size(y->dt);
    }
    if (x->n_in) {   /* the compute dtype: inputs' (comparisons, where take their data operands') */
        const lbk__cpu_inst *y = &p->inst[p->ins[x->first_in + (x->op == LBK_OP_WHERE ? 1 : 0)]];
        dt = y->dt;
    }
    L = nd ? x->dims[nd - 1] : 1;
    rows = x->numel / L;
    memset(idx, 0, sizeof idx);
    for (r = 0; r < rows; r++) {
        char *orow = (char *)o + (size_t)(r * L) * osz;
        if (x->op == LBK_OP_CAST && p->fast && (nd ? st[0][nd - 1] : 0) == 1 &&
            ((lbk__cpu_narrow(dt) && x->dt == LBK_F32) || (dt == LBK_F32 && lbk__cpu_narrow(x->dt)))) {   /* the vector converters */
            char *src = (char *)(uintptr_t)(in[0] + off[0] * (int64_t)isz[0]);
            if (x->dt == LBK_F32) lbk__tile_cvt16(false, dt == LBK_BF16, (float *)(void *)orow, (uint16_t *)(void *)src, L);
            else lbk__tile_cvt16(true, x->dt == LBK_BF16, (float *)(void *)src, (uint16_t *)(void *)orow, L);
        } else if (x->op == LBK_OP_CAST) {
            lbk_convert(orow, x->dt, in[0] + off[0] * (int64_t)isz[0], dt, L, nd ? st[0][nd - 1] : 0);
        } else {
            r0 = lbk__cpu_row(x, dt, L, orow, in[0] + off[0] * (int64_t)isz[0], nd ? st[0][nd - 1] : 0,
                              in[1] ? in[1] + off[1] * (int64_t)isz[1] : NULL, nd ? st[1][nd - 1] : 0,
                              in[2] ? in[2] + off[2] * (int64_t)isz[2] : NULL, nd ? st[2][nd - 1] : 0);
            if (r0 != LBK_OK) return r0;
        }
        for (d = nd - 2; d >= 0; d--) {
            for (k = 0; k < 3; k++) off[k] += st[k][d];
            if (++idx[d] < x->dims[d]) break;
            for (k = 0; k < 3; k++) off[k] -= st[k][d] * x->dims[d];
            idx[d] = 0;
        }
    }
    return LBK_OK;
}

/* Element loads and stores of the reference kernels: the dtype table's converters. */
#define lbk__ld(p, dt, i) lbk_load_f64((dt), (p), (i))
#define lbk__ldi(p, dt, i) lbk_load_i64((dt), (p), (i))
static void lbk__st(void *p, lbk_dtype dt, int64_t i, double f, int64_t v) {
    if (lbk_dtype_is_float(dt)) lbk_store_f64(dt, p, i, f);
    else lbk_store_i64(dt, p, i, v);
}

/* Pairwise summation without recursion: blocks of 32 summed in order, blocks merged
   like a binary counter, so the error grows with log(n). */
typedef struct lbk__pairwise { double s[64]; int64_t w[64]; int top; double blk; int nb; } lbk__pairwise;
static void lbk__pw_push_block(lbk__pairwise *pw, double v) {
    int64_t w = 1;
    while (pw->top > 0 && pw->w[pw->top - 1] == w) { v += pw->s[--pw->top]; w *= 2; }
    pw->s[pw->top] = v;
    pw->w[pw->top++] = w;
}
static void lbk__pw_add(lbk__pairwise *pw, double v) {
    pw->blk += v;
    if (++pw->nb == 32) { lbk__pw_push_block(pw, pw->blk); pw->blk = 0; pw->nb = 0; }
}
static double lbk__pw_total(const lbk__pairwise *pw) {
    double t = pw->blk;
    int k;
    for (k = pw->top - 1; k >= 0; k--) t += pw->s[k];
    return t;
}

static void lbk__cpu_reduce(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    const lbk__cpu_inst *in = &p->inst[p->ins[x->first_in]];
    const void *a = p->vals[x->b_src >= 0 ? (uint32_t)x->b_src : p->ins[x->first_in]];
    lbk_dtype idt = in->dt;
    int64_t ist[LAZYBK_MAX_DIMS], kd[LAZYBK_MAX_DIMS], kst[LAZYBK_MAX_DIMS], rd[LAZYBK_MAX_DIMS], rst[LAZYBK_MAX_DIMS];
    int64_t kidx[LAZYBK_MAX_DIMS], ridx[LAZYBK_MAX_DIMS], R = 1, out_n = 1, oi, base = 0;
    int nk = 0, nr = 0, d;
    bool fl = lbk_dtype_is_float(idt);
    if (x->b_src >= 0) lbk__cpu_bstrides(in, &p->inst[x->b_src], ist);   /* an expand's input, read in place */
    else lbk__cpu_strides(in->n_dims, in->dims, ist);
    for (d = 0; d < in->n_dims; d++) {
        if (x->mask & (1u << d)) { rd[nr] = in->dims[d]; rst[nr++] = ist[d]; R *= in->dims[d]; }
        else { kd[nk] = in->dims[d]; kst[nk++] = ist[d]; out_n *= in->dims[d]; }
    }
    if (x->b_src >= 0 && p->inst[x->b_src].numel == 1 && R > 0) {   /* a full: R copies of one value */
        double v = fl ? lbk__ld(a, idt, 0) : 0;
        int64_t iv = fl ? 0 : lbk__ldi(a, idt, 0);
        for (oi = 0; oi < out_n; oi++) {
            switch (x->op) {
            case LBK_OP_SUM: lbk__st(o, x->dt, oi, v * (double)R, lbk__wrap64((uint64_t)iv * (uint64_t)R)); break;
            case LBK_OP_MEAN: lbk__st(o, x->dt, oi, fl ? v : (double)iv, 0); break;
            case LBK_OP_ARGMAX: ((int64_t *)o)[oi] = 0; break;   /* every one is the max: the first */
            default: lbk__st(o, x->dt, oi, v, iv); break;
            }
        }
        return;
    }
    memset(kidx, 0, sizeof kidx);
    for (oi = 0; oi < out_n; oi++) {
        lbk__pairwise pw;
        uint64_t isum = 0;
        double best = 0;
        int64_t ibest = 0, besti = 0, j, off = base;
        bool first = true;
        memset(&pw, 0, sizeof pw);
        memset(ridx, 0, sizeof ridx);
        for (j = 0; j < R; j++) {
            if (x->op == LBK_OP_SUM || x->op == LBK_OP_MEAN) {
                if (fl) lbk__pw_add(&pw, lbk__ld(a, idt, off));
                else isum += (uint64_t)lbk__ldi(a, idt, off);
            } else if (fl) {
                double v = lbk__ld(a, idt, off);
                bool take = first || (best == best && (v != v || (x->op == LBK_OP_AMIN ? v < best : v > best)));
                if (take) { best = v; besti = j; }
            } else {
                int64_t v = lbk__ldi(a, idt, off);
                if (first || (x->op == LBK_OP_AMIN ? v < ibest : v > ibest)) { ibest = v; besti = j; }
            }
            first = false;
            for (d = nr - 1; d >= 0; d--) {
                off += rst[d];
                if (++ridx[d] < rd[d]) break;
                off -= rst[d] * rd[d];
                ridx[d] = 0;
            }
        }
        switch (x->op) {
        case LBK_OP_SUM: lbk__st(o, x->dt, oi, lbk__pw_total(&pw), lbk__wrap64(isum)); break;
        case LBK_OP_MEAN: lbk__st(o, x->dt, oi, lbk__pw_total(&pw) / (double)R, 0); break;
        case LBK_OP_ARGMAX: ((int64_t *)o)[oi] = besti; break;
        default: lbk__st(o, x->dt, oi, best, ibest); break;
        }
        for (d = nk - 1; d >= 0; d--) {
            base += kst[d];
            if (++kidx[d] < kd[d]) break;
            base -= kst[d] * kd[d];
            kidx[d] = 0;
        }
    }
}

/* Element strides, per batch axis of a matmul's output, of a (matrices of sa elements) and b
   (of sb), 0 where that operand broadcasts (missing axis or extent 1). */
static void lbk__matmul_strides(const lbk__cpu_inst *ia, const lbk__cpu_inst *ib, int nb, int64_t sa, int64_t sb,
                                int64_t *ast, int64_t *bst) {
    int d;
    for (d = nb - 1; d >= 0; d--) {
        int ja = d - (nb - (ia->n_dims - 2)), jb = d - (nb - (ib->n_dims - 2));
        ast[d] = (ja < 0 || ia->dims[ja] == 1) ? 0 : sa;
        bst[d] = (jb < 0 || ib->dims[jb] == 1) ? 0 : sb;
        if (ja >= 0) sa *= ia->dims[ja];
        if (jb >= 0) sb *= ib->dims[jb];
    }
}

static lbk_result lbk__cpu_matmul(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    const lbk__cpu_inst *ia = &p->inst[p->ins[x->first_in]], *ib = &p->inst[p->ins[x->first_in + 1]];
    const void *A = p->vals[p->ins[x->first_in]], *B = p->vals[p->ins[x->first_in + 1]];
    int nd = x->n_dims, nb = nd - 2, d;
    int64_t M = x->dims[nd - 2], N = x->dims[nd - 1], K = ia->dims[ia->n_dims - 1];
    int64_t ast[LAZYBK_MAX_DIMS], bst[LAZYBK_MAX_DIMS], idx[LAZYBK_MAX_DIMS], batches = 1, bi, i, j, k, aoff = 0, boff = 0;
    bool fl = lbk_dtype_is_float(x->dt);
    double *acc;
    uint64_t *iacc;
    if (x->numel == 0) return LBK_OK;
    for (d = 0; d < nb; d++) batches *= x->dims[d];
    lbk__matmul_strides(ia, ib, nb, M * K, K * N, ast, bst);
    acc = (double *)lbk__malloc(sizeof(double) * (size_t)(N ? N : 1));
    iacc = (uint64_t *)acc;
    if (!acc) return lbk_backend_error(LBK_ERR_OOM, x->debug, "out of memory");
    memset(idx, 0, sizeof idx);
    for (bi = 0; bi < batches; bi++) {
        for (i = 0; i < M; i++) {
            memset(acc, 0, sizeof(double) * (size_t)N);
            for (k = 0; k < K; k++) {
                int64_t ar = aoff + i * K + k, br = boff + k * N;
                if (fl) {
                    double av = lbk__ld(A, ia->dt, ar);
                    for (j = 0; j < N; j++) acc[j] += av * lbk__ld(B, ib->dt, br + j);
                } else {
                    uint64_t av = (uint64_t)lbk__ldi(A, ia->dt, ar);
                    for (j = 0; j < N; j++) iacc[j] += av * (uint64_t)lbk__ldi(B, ib->dt, br + j);
                }
            }
            for (j = 0; j < N; j++)
                lbk__st(o, x->dt, bi * M * N + i * N + j, fl ? acc[j] : 0, fl ? 0 : lbk__wrap64(iacc[j]));
        }
        for (d = nb - 1; d >= 0; d--) {
            aoff += ast[d]; boff += bst[d];
            if (++idx[d] < x->dims[d]) break;
            aoff -= ast[d] * x->dims[d]; boff -= bst[d] * x->dims[d];
            idx[d] = 0;
        }
    }
    lbk__free(acc);
    return LBK_OK;
}

/* ---- the fast path: blocked, packed matmul ---- */
/* C[M,N] = A[M,K] @ B[K,N], row-major, one batch. B is packed into panels of NR columns,
   A into panels of MR rows (zero-padded at the edges), and a register-blocked MRxNR
   micro-kernel with constant trip counts (so gcc vectorises it at -O2, cloned per CPU like
   the tile kernels) accumulates over a KC-deep block. Accumulates in the operands' dtype
   (the reference path accumulates in double). */
#define LBK__MR 6
#define LBK__NR 16
#define LBK__KC 256
#define LBK__MC 96
#define LBK__NC 2048
#if defined(__GNUC__) || defined(__clang__)
/* With vector extensions the six accumulator rows are named vectors, so they stay in
   registers in every clone (one zmm each with AVX-512, two ymm with AVX2). */
typedef float lbk__vf16 __attribute__((vector_size(64)));
typedef double lbk__vd16 __attribute__((vector_size(128)));
#define LBK__GEMM_MICRO(T, SFX, V)                                                                               \
    static LBK__TILE_FN void lbk__mk_##SFX(int64_t kc, const T *LBK__RESTRICT ap, const T *LBK__RESTRICT bp,    \
                                           T *LBK__RESTRICT acc) {                                              \
        V c0, c1, c2, c3, c4, c5, b;                                                                             \
        int64_t k;                                                                                               \
        memset(&c0, 0, sizeof c0); c1 = c0; c2 = c0; c3 = c0; c4 = c0; c5 = c0;                                  \
        for (k = 0; k < kc; k++) {                                                                               \
            const T *a = ap + k * LBK__MR;                                                                       \
            memcpy(&b, bp + k * LBK__NR, sizeof b);                                                              \
            c0 += a[0] * b; c1 += a[1] * b; c2 += a[2] * b;                                                      \
            c3 += a[3] * b; c4 += a[4] * b; c5 += a[5] * b;                                                      \
        }                                                                                                        \
        memcpy(acc + 0 * LBK__NR, &c0, sizeof c0); memcpy(acc + 1 * LBK__NR, &c1, sizeof c1);                     \
        memcpy(acc + 2 * LBK__NR, &c2, sizeof c2); memcpy(acc + 3 * LBK__NR, &c3, sizeof c3);                     \
        memcpy(acc + 4 * LBK__NR, &c4, sizeof c4); memcpy(acc + 5 * LBK__NR, &c5, sizeof c5);                     \
    }
LBK__GEMM_MICRO(float, f32, lbk__vf16)
LBK__GEMM_MICRO(double, f64, lbk__vd16)
#undef LBK__GEMM_MICRO
#else
#define LBK__GEMM_MICRO(T, SFX)                                                                                  \
    static void lbk__mk_##SFX(int64_t kc, const T *LBK__RESTRICT ap, const T *LBK__RESTRICT bp, T *LBK__RESTRICT acc) { \
        int64_t k;                                                                                               \
        int i, j;                                                                                                \
        for (i = 0; i < LBK__MR * LBK__NR; i++) acc[i] = 0;                                                      \
        for (k = 0; k < kc; k++)                                                                                 \
            for (i = 0; i < LBK__MR; i++)                                                                        \
                for (j = 0; j < LBK__NR; j++) acc[i * LBK__NR + j] += ap[k * LBK__MR + i] * bp[k * LBK__NR + j]; \
    }
LBK__GEMM_MICRO(float, f32)
LBK__GEMM_MICRO(double, f64)
#undef LBK__GEMM_MICRO
#endif
/* The f32 micro-kernel in x86 intrinsics, picked by CPUID once per matmul: generic 64-byte
   vectors compile well for AVX-512 but an AVX2 clone of them went through the stack at a
   tenth of the machine's speed, and ISO C modes (-std=c99) never contract a * b + c into an
   FMA. AVX2: two ymm per row (12 accumulators); AVX-512: one zmm per row. */
typedef void (*lbk__mk_f32_fn)(int64_t kc, const float *LBK__RESTRICT ap, const float *LBK__RESTRICT bp, float *LBK__RESTRICT acc);
typedef void (*lbk__mk_f64_fn)(int64_t kc, const double *LBK__RESTRICT ap, const double *LBK__RESTRICT bp, double *LBK__RESTRICT acc);
#ifdef LBK__X86_CLONES
#  include <immintrin.h>
#  define LBK__MK_ROW2(i)                                                                                        \
    { __m256 a_ = _mm256_broadcast_ss(ap + k * LBK__MR + (i));                                                   \
      c##i##a = _mm256_fmadd_ps(a_, b0, c##i##a); c##i##b = _mm256_fmadd_ps(a_, b1, c##i##b); }
static __attribute__((target("avx2,fma"))) void lbk__mk_f32_avx2(int64_t kc, const float *LBK__RESTRICT ap, const float *LBK__RESTRICT bp,
                                                                 float *LBK__RESTRICT acc) {
    __m256 c0a = _mm256_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a, c3a = c0a, c3b = c0a, c4a = c0a, c4b = c0a,
           c5a = c0a, c5b = c0a;
    int64_t k;
    for (k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(bp + k * LBK__NR), b1 = _mm256_loadu_ps(bp + k * LBK__NR + 8);
        LBK__MK_ROW2(0) LBK__MK_ROW2(1) LBK__MK_ROW2(2) LBK__MK_ROW2(3) LBK__MK_ROW2(4) LBK__MK_ROW2(5)
    }
    _mm256_storeu_ps(acc + 0, c0a); _mm256_storeu_ps(acc + 8, c0b); _mm256_storeu_ps(acc + 16, c1a); _mm256_storeu_ps(acc + 24, c1b);
    _mm256_storeu_ps(acc + 32, c2a); _mm256_storeu_ps(acc + 40, c2b); _mm256_storeu_ps(acc + 48, c3a); _mm256_storeu_ps(acc + 56, c3b);
    _mm256_storeu_ps(acc + 64, c4a); _mm256_storeu_ps(acc + 72, c4b); _mm256_storeu_ps(acc + 80, c5a); _mm256_storeu_ps(acc + 88, c5b);
}
#  undef LBK__MK_ROW2
#  define LBK__MK_ROW1(i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(ap[k * LBK__MR + (i)]), b, c##i);
static __attribute__((target("avx512f"))) void lbk__mk_f32_avx512(int64_t kc, const float *LBK__RESTRICT ap, const float *LBK__RESTRICT bp,
                                                                  float *LBK__RESTRICT acc) {
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    int64_t k;
    for (k = 0; k < kc; k++) {
        __m512 b = _mm512_loadu_ps(bp + k * LBK__NR);
        LBK__MK_ROW1(0) LBK__MK_ROW1(1) LBK__MK_ROW1(2) LBK__MK_ROW1(3) LBK__MK_ROW1(4) LBK__MK_ROW1(5)
    }
    _mm512_storeu_ps(acc + 0, c0); _mm512_storeu_ps(acc + 16, c1); _mm512_storeu_ps(acc + 32, c2);
    _mm512_storeu_ps(acc + 48, c3); _mm512_storeu_ps(acc + 64, c4); _mm512_storeu_ps(acc + 80, c5);
}
#  undef LBK__MK_ROW1
static lbk__mk_f32_fn lbk__mk_pick_f32(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return lbk__mk_f32_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return lbk__mk_f32_avx2;
    return lbk__mk_f32;
}
#else
static lbk__mk_f32_fn lbk__mk_pick_f32(void) { return lbk__mk_f32; }
#endif
static lbk__mk_f64_fn lbk__mk_pick_f64(void) { return lbk__mk_f64; }
/* A matmul's epilogue: its group run on rows [base + r0, base + r0 + n) of the product as
   soon as they are final (in the last KC block of the last NC panel), while in cache. */
typedef struct lbk__cpu_epi {
    const lbk__cpu_prog *p;
    const lbk__cpu_group *gr;
    const lbk__cpu_gwalk *w;
    char *scratch;
    int64_t base;
} lbk__cpu_epi;
static void lbk__cpu_epi_rows(const lbk__cpu_epi *e, int64_t r0, int64_t n) {
    lbk__cpu_group_rows(e->p, e->gr, e->w, e->base + r0, e->base + r0 + n, e->scratch);
}
/* B of a convolution read straight from its input while packing (an implicit GEMM): row k
   is (c, ky, kx) of the kernel, column p (from p_base) an output position; zero where the
   window leaves the image. */
typedef struct lbk__conv_src { const void *x; int64_t H, W, OW, kh, kw, p_base, s[2], p[2], e[2]; } lbk__conv_src;
#define LBK__GEMM_KERNEL(T, SFX)                                                                                 \
    static void lbk__conv_pack_##SFX(const lbk__conv_src *cs, int64_t pc, int64_t kc, int64_t p0, int64_t nr, T *dst) { \
        const T *x = (const T *)cs->x;                                                                           \
        int64_t k, khw = cs->kh * cs->kw, oy0 = (cs->p_base + p0) / cs->OW, ox0 = (cs->p_base + p0) % cs->OW;   \
        for (k = 0; k < kc; k++) {                                                                               \
            int64_t kk = pc + k, ky = kk / cs->kw % cs->kh, kx = kk % cs->kw, oy = oy0, ox = ox0, j = 0, q;      \
            const T *xc = x + kk / khw * cs->H * cs->W;                                                          \
            T *d = dst + k * LBK__NR;                                                                            \
            while (j < nr) {   /* a run of positions in one output row */                                        \
                int64_t run = LBK__MIN(nr - j, cs->OW - ox), iy = oy * cs->s[0] - cs->p[0] + ky * cs->e[0];      \
                int64_t ix0 = ox * cs->s[1] - cs->p[1] + kx * cs->e[1];                                          \
                if (iy < 0 || iy >= cs->H) {                                                                     \
                    for (q = 0; q < run; q++) d[j + q] = 0;                                                      \
                } else if (cs->s[1] == 1 && ix0 >= 0 && ix0 + run <= cs->W) {                                    \
                    const T *src = xc + iy * cs->W + ix0;                                                        \
                    for (q = 0; q < run; q++) d[j + q] = src[q];                                                 \
                } else {                                                                                         \
                    for (q = 0; q < run; q++) {                                                                  \
                        int64_t ix = ix0 + q * cs->s[1];                                                         \
                        d[j + q] = ix >= 0 && ix < cs->W ? xc[iy * cs->W + ix] : (T)0;                           \
                    }                                                                                            \
                }                                                                                                \
                j += run;                                                                                        \
                ox += run;                                                                                       \
                if (ox == cs->OW) { ox = 0; oy++; }                                                              \
            }                                                                                                    \
            for (; j < LBK__NR; j++) d[j] = 0;                                                                   \
        }                                                                                                        \
    }                                                                                                            \
    /* Rows r0 .. r0 + mc of A [., K], columns pc .. pc + kc, as panels of MR rows (zero-padded). */           \
    static void lbk__pack_a_##SFX(const T *A, int64_t K, int64_t r0, int64_t mc, int64_t pc, int64_t kc, T *dst) { \
        int64_t ir, i, k;                                                                                        \
        for (ir = 0; ir < mc; ir += LBK__MR) {                                                                   \
            int64_t mr = LBK__MIN(LBK__MR, mc - ir);                                                             \
            T *d = dst + ir * kc;                                                                                \
            for (k = 0; k < kc; k++) {                                                                           \
                for (i = 0; i < mr; i++) d[k * LBK__MR + i] = A[(r0 + ir + i) * K + pc + k];                     \
                for (; i < LBK__MR; i++) d[k * LBK__MR + i] = 0;                                                 \
            }                                                                                                    \
        }                                                                                                        \
    }                                                                                                            \
    /* All of A [M, K] packed once, for gemm's apk: KC blocks of all its MR-row panels */                       \
    /* ((M rounded up to MR) x K elements). */                                                                   \
    static void lbk__pack_a_all_##SFX(const T *A, int64_t M, int64_t K, T *dst) {                                \
        int64_t pc, ic, mpad = (M + LBK__MR - 1) / LBK__MR * LBK__MR;                                            \
        for (pc = 0; pc < K; pc += LBK__KC)                                                                      \
            for (ic = 0; ic < M; ic += LBK__MC)                                                                  \
                lbk__pack_a_##SFX(A, K, ic, LBK__MIN(LBK__MC, M - ic), pc, LBK__MIN(LBK__KC, K - pc), dst + pc * mpad + ic * LBK__MIN(LBK__KC, K - pc)); \
    }                                                                                                            \
    /* One batch; aps/bps: packing buffers (MC x KC and KC x NC). bt: B is stored */                            \
    /* transposed, [N, K]; ldb, ldc: the row strides of B and C; epi: the epilogue or NULL; */                   \
    /* cs: B is a convolution's input (B unused) or NULL; apk: A packed by pack_a_all, or NULL */                \
    static void lbk__gemm_##SFX(int64_t M, int64_t N, int64_t K, const T *A, const T *B, bool bt, int64_t ldb, T *C, int64_t ldc, \
                                T *aps, T *bps, const lbk__cpu_epi *epi, const lbk__conv_src *cs, const T *apk) { \
        int64_t jc, pc, ic, jr, ir, i, j, k;                                                                     \
        T acc[LBK__MR * LBK__NR];                                                                                \
        lbk__mk_##SFX##_fn mk = lbk__mk_pick_##SFX();                                                            \
        for (i = 0; i < M; i++)                                                                                  \
            for (j = 0; j < N; j++) C[i * ldc + j] = 0;                                                          \
        for (jc = 0; jc < N; jc += LBK__NC) {                                                                    \
            int64_t nc = LBK__MIN(LBK__NC, N - jc);                                                              \
            for (pc = 0; pc < K; pc += LBK__KC) {                                                                \
                int64_t kc = LBK__MIN(LBK__KC, K - pc);                                                          \
                for (jr = 0; jr < nc; jr += LBK__NR) {   /* pack B[pc:pc+kc, jc+jr : +NR] */                    \
                    T *dst = bps + jr * kc;                                                                      \
                    int64_t nr = LBK__MIN(LBK__NR, nc - jr);                                                     \
                    if (cs) { lbk__conv_pack_##SFX(cs, pc, kc, jc + jr, nr, dst); continue; }                    \
                    for (k = 0; k < kc; k++) {                                                                   \
                        if (bt) { for (j = 0; j < nr; j++) dst[k * LBK__NR + j] = B[(jc + jr + j) * ldb + pc + k]; }  \
                        else { const T *src = B + (pc + k) * ldb + jc + jr; for (j = 0; j < nr; j++) dst[k * LBK__NR + j] = src[j]; } \
                        for (j = nr; j < LBK__NR; j++) dst[k * LBK__NR + j] = 0;                                 \
                    }                                                                                            \
                }                                                                                                \
                for (ic = 0; ic < M; ic += LBK__MC) {                                                            \
                    int64_t mc = LBK__MIN(LBK__MC, M - ic);                                                      \
                    const T *ap = apk ? apk + pc * ((M + LBK__MR - 1) / LBK__MR * LBK__MR) + ic * kc : aps;      \
                    if (!apk) lbk__pack_a_##SFX(A, K, ic, mc, pc, kc, aps);                                      \
                    for (jr = 0; jr < nc; jr += LBK__NR)                                                         \
                        for (ir = 0; ir < mc; ir += LBK__MR) {                                                   \
                            int64_t mr = LBK__MIN(LBK__MR, mc - ir), nr = LBK__MIN(LBK__NR, nc - jr);            \
                            mk(kc, ap + ir * kc, bps + jr * kc, acc);                                            \
                            for (i = 0; i < mr; i++) {                                                           \
                                T *crow = C + (ic + ir + i) * ldc + jc + jr;                                     \
                                for (j = 0; j < nr; j++) crow[j] += acc[i * LBK__NR + j];                        \
                            }                                                                                    \
                        }                                                                                        \
                    if (epi && pc + kc >= K && jc + nc >= N) lbk__cpu_epi_rows(epi, ic, mc);                     \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        if (epi && K == 0) lbk__cpu_epi_rows(epi, 0, M);                                                         \
    }
LBK__GEMM_KERNEL(float, f32)
LBK__GEMM_KERNEL(double, f64)
#undef LBK__GEMM_KERNEL

#ifdef LAZYBK_BLAS
#  include <cblas.h>
#endif

/* The fast matmul over batches (broadcast as in the reference kernel), split by batch or
   by rows across threads; with LAZYBK_BLAS each batch is one cblas_sgemm/cblas_dgemm.
   epi_gr: a fused group run as its epilogue, or NULL. */
static lbk_result lbk__cpu_matmul_fast(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o, const lbk__cpu_group *epi_gr) {
    const lbk__cpu_inst *ia = &p->inst[p->ins[x->first_in]], *ib = &p->inst[p->ins[x->first_in + 1]];
    bool bt = x->b_src >= 0;   /* B read transposed from the transpose's source */
    const char *A = (const char *)p->vals[p->ins[x->first_in]];
    const char *B = (const char *)p->vals[bt ? (uint32_t)x->b_src : p->ins[x->first_in + 1]];
    int nd = x->n_dims, nb = nd - 2, d;
    int64_t M = x->dims[nd - 2], N = x->dims[nd - 1], K = ia->dims[ia->n_dims - 1];
    int64_t ast[LAZYBK_MAX_DIMS], bst[LAZYBK_MAX_DIMS], batches = 1, bi;
    int64_t *aoffs, *boffs;
    size_t esz = lbk_dtype_size(x->dt), epi_bytes = 0;
    bool failed = false;
    int threads = lbk_exec_threads();
    lbk__cpu_gwalk w;
    char *seq_scratch = NULL;
    (void)threads;   /* without OpenMP */
    if (x->numel == 0) return LBK_OK;
    if (epi_gr) {
        lbk_result r = lbk__cpu_group_walk(p, epi_gr, true, &w, &seq_scratch);
        if (r != LBK_OK) return r;
        epi_bytes = lbk__cpu_gscratch_bytes(epi_gr, esz);
    }
    for (d = 0; d < nb; d++) batches *= x->dims[d];
    lbk__matmul_strides(ia, ib, nb, M * K, K * N, ast, bst);
    aoffs = (int64_t *)lbk__malloc(sizeof(int64_t) * 2 * (size_t)batches);
    if (!aoffs) return lbk_backend_error(LBK_ERR_OOM, x->debug, "out of memory");
    boffs = aoffs + batches;
    {   /* each batch's operand offsets */
        int64_t idx[LAZYBK_MAX_DIMS], ao = 0, bo = 0;
        memset(idx, 0, sizeof idx);
        for (bi = 0; bi < batches; bi++) {
            aoffs[bi] = ao; boffs[bi] = bo;
            for (d = nb - 1; d >= 0; d--) {
                ao += ast[d]; bo += bst[d];
                if (++idx[d] < x->dims[d]) break;
                ao -= ast[d] * x->dims[d]; bo -= bst[d] * x->dims[d];
                idx[d] = 0;
            }
        }
    }
#ifdef LAZYBK_BLAS
    for (bi = 0; bi < batches; bi++) {   /* the BLAS library threads itself */
        if (x->dt == LBK_F32)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, bt ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                        (const float *)(const void *)A + aoffs[bi], (int)K, (const float *)(const void *)B + boffs[bi], bt ? (int)K : (int)N,
                        0.0f, (float *)o + bi * M * N, (int)N);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, bt ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, 1.0,
                        (const double *)(const void *)A + aoffs[bi], (int)K, (const double *)(const void *)B + boffs[bi], bt ? (int)K : (int)N,
                        0.0, (double *)o + bi * M * N, (int)N);
        if (epi_gr) {   /* the epilogue on each batch as BLAS finishes it */
            lbk__cpu_epi e;
            e.p = p; e.gr = epi_gr; e.w = &w; e.scratch = seq_scratch; e.base = bi * M;
            lbk__cpu_epi_rows(&e, 0, M);
        }
    }
    lbk__free(aoffs);
    (void)esz; (void)failed; (void)epi_bytes;
    return LBK_OK;
#endif
#ifdef _OPENMP
#pragma omp parallel num_threads(threads > 0 ? threads : omp_get_max_threads()) if (threads != 1 && M * N * K >= (1 << 21))
#endif
    {
        int me = 0, all = 1;
        int64_t bj;   /* the region's own (bi is shared) */
        void *aps, *bps;
        char *es = NULL;
        lbk__cpu_epi e, *ep = epi_gr ? &e : NULL;
#ifdef _OPENMP
        me = omp_get_thread_num();
        all = omp_get_num_threads();
#endif
        aps = lbk__malloc(esz * LBK__MC * LBK__KC + 64);
        bps = lbk__malloc(esz * LBK__KC * (LBK__NC + LBK__NR) + 64);
        if (epi_gr) es = all == 1 ? seq_scratch : (char *)lbk__malloc(epi_bytes);
        e.p = p; e.gr = epi_gr; e.w = &w; e.scratch = es; e.base = 0;
        if (!aps || !bps || (epi_gr && !es)) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
            failed = true;
        } else if (batches >= all) {   /* whole batches per thread */
            for (bj = me; bj < batches; bj += all) {
                e.base = bj * M;
                if (x->dt == LBK_F32)
                    lbk__gemm_f32(M, N, K, (const float *)(const void *)A + aoffs[bj], (const float *)(const void *)B + boffs[bj], bt,
                                  bt ? K : N, (float *)o + bj * M * N, N, (float *)aps, (float *)bps, ep, NULL, NULL);
                else
                    lbk__gemm_f64(M, N, K, (const double *)(const void *)A + aoffs[bj], (const double *)(const void *)B + boffs[bj], bt,
                                  bt ? K : N, (double *)o + bj * M * N, N, (double *)aps, (double *)bps, ep, NULL, NULL);
            }
        } else {   /* fewer batches than threads: each batch's rows split across threads */
            int64_t r0 = M * me / all, r1 = M * (me + 1) / all;
            for (bj = 0; bj < batches && r1 > r0; bj++) {
                e.base = bj * M + r0;
                if (x->dt == LBK_F32)
                    lbk__gemm_f32(r1 - r0, N, K, (const float *)(const void *)A + aoffs[bj] + r0 * K,
                                  (const float *)(const void *)B + boffs[bj], bt, bt ? K : N, (float *)o + bj * M * N + r0 * N, N,
                                  (float *)aps, (float *)bps, ep, NULL, NULL);
                else
                    lbk__gemm_f64(r1 - r0, N, K, (const double *)(const void *)A + aoffs[bj] + r0 * K,
                                  (const double *)(const void *)B + boffs[bj], bt, bt ? K : N, (double *)o + bj * M * N + r0 * N, N,
                                  (double *)aps, (double *)bps, ep, NULL, NULL);
            }
        }
        if (es != seq_scratch) lbk__free(es);
        lbk__free(aps);
        lbk__free(bps);
    }
    lbk__free(aoffs);
    return failed ? lbk_backend_error(LBK_ERR_OOM, x->debug, "out of memory") : LBK_OK;
}

/* A matmul of f16 or bf16 operands on the fast path: both converted to f32 (whole, for
   now: converting panels while packing is to come), the f32 kernel, the result rounded
   once to the dtype. */
static lbk_result lbk__cpu_matmul_narrow(const lbk__cpu_prog *cp, const lbk__cpu_inst *x, void *o) {
    lbk__cpu_prog *p = (lbk__cpu_prog *)(uintptr_t)cp;   /* its value table is borrowed for the call */
    uint32_t a = p->ins[x->first_in], b = p->ins[x->first_in + 1];
    bool bf = x->dt == LBK_BF16;
    int64_t na = p->inst[a].numel, nb = p->inst[b].numel;
    float *fa = (float *)lbk__malloc(sizeof(float) * (size_t)(na + nb + x->numel + 1)), *fb, *fc;
    void *keep_a = p->vals[a], *keep_b = p->vals[b];
    lbk__cpu_inst xc = *x;
    lbk_result r;
    if (!fa) return lbk_backend_error(LBK_ERR_OOM, x->debug, "out of memory");
    fb = fa + na;
    fc = fb + nb;
    lbk__tile_cvt16(false, bf, fa, (uint16_t *)keep_a, na);
    lbk__tile_cvt16(false, bf, fb, (uint16_t *)keep_b, nb);
    p->vals[a] = fa;
    p->vals[b] = a == b ? (void *)fa : (void *)fb;
    xc.dt = LBK_F32;
    r = lbk__cpu_matmul_fast(p, &xc, fc, NULL);
    p->vals[a] = keep_a;
    p->vals[b] = keep_b;
    if (r == LBK_OK) lbk__tile_cvt16(true, bf, fc, (uint16_t *)o, x->numel);
    lbk__free(fa);
    return r;
}

/* ---- the fast path: composites run whole, a row at a time ---- */
/* softmax, log_softmax and logsumexp over the last axis, layer_norm and rms_norm over the
   trailing dims: at most three passes over each row, no full-size temporary. Loops run in
   blocks of LBK__RB lanes (constant trip counts: vectorised at -O2) with a scalar tail;
   sums are kept in LBK__RB partial sums. */
#define LBK__ROW_KERNEL(T, SFX, EXPF, LOGF, SQRTF, INF)                                                           \
    static LBK__TILE_FN void lbk__row_##SFX(lbk_op op, const T *LBK__RESTRICT x, T *LBK__RESTRICT y, int64_t L,  \
                                            const T *LBK__RESTRICT w, const T *LBK__RESTRICT b, T eps) {        \
        int64_t i, nb = L / LBK__RB * LBK__RB;                                                                   \
        int j;                                                                                                   \
        T mx[LBK__RB], m;                                                                                        \
        double acc[LBK__RB], s = 0, md = 0;   /* sums and the mean in double, for every dtype */                 \
        if (op == LBK_OP_SOFTMAX || op == LBK_OP_LOG_SOFTMAX || op == LBK_OP_LOGSUMEXP) {                        \
            {   /* the max, with plain lane maxima; v - v is nan for nan and inf, so chk says when to rescan */ \
                T chk[LBK__RB], c = 0;                                                                           \
                for (j = 0; j < LBK__RB; j++) { mx[j] = -INF; chk[j] = 0; }                                      \
                for (i = 0; i < nb; i += LBK__RB)                                                                \
                    for (j = 0; j < LBK__RB; j++) { T v = x[i + j]; mx[j] = v > mx[j] ? v : mx[j]; chk[j] += v - v; } \
                m = -INF;                                                                                        \
                for (j = 0; j < LBK__RB; j++) { m = mx[j] > m ? mx[j] : m; c += chk[j]; }                        \
                for (i = nb; i < L; i++) { m = x[i] > m ? x[i] : m; c += x[i] - x[i]; }                          \
                if (c != c)   /* a nan or an inf somewhere: the exact, nan-propagating scan */                  \
                    for (m = -INF, i = 0; i < L; i++) m = (x[i] != x[i] || x[i] > m) ? x[i] : m;                 \
            }                                                                                                    \
            if (op == LBK_OP_LOGSUMEXP && (m == INF || m == -INF)) m = 0;   /* shift by 0 for inf rows */       \
            for (j = 0; j < LBK__RB; j++) mx[j] = 0;   /* now the lanes' sums of exp (in T: 16 lanes suffice) */  \
            if (op == LBK_OP_SOFTMAX) {                                                                          \
                for (i = 0; i < nb; i += LBK__RB)                                                                \
                    for (j = 0; j < LBK__RB; j++) { T e = EXPF(x[i + j] - m); y[i + j] = e; mx[j] += e; }        \
                for (i = nb; i < L; i++) { T e = EXPF(x[i] - m); y[i] = e; s += e; }                             \
            } else {                                                                                             \
                for (i = 0; i < nb; i += LBK__RB)                                                                \
                    for (j = 0; j < LBK__RB; j++) mx[j] += EXPF(x[i + j] - m);                                   \
                for (i = nb; i < L; i++) s += EXPF(x[i] - m);                                                    \
            }                                                                                                    \
            for (j = 0; j < LBK__RB; j++) s += mx[j];                                                            \
            if (op == LBK_OP_SOFTMAX) {                                                                          \
                T inv = (T)(1 / s);                                                                              \
                for (i = 0; i < nb; i += LBK__RB)                                                                \
                    for (j = 0; j < LBK__RB; j++) y[i + j] *= inv;                                               \
                for (i = nb; i < L; i++) y[i] *= inv;                                                            \
            } else if (op == LBK_OP_LOG_SOFTMAX) {   /* (x - m) first: exact near the max, then the log */     \
                T ls = (T)log(s);                                                                                \
                for (i = 0; i < nb; i += LBK__RB)                                                                \
                    for (j = 0; j < LBK__RB; j++) y[i + j] = (x[i + j] - m) - ls;                                \
                for (i = nb; i < L; i++) y[i] = (x[i] - m) - ls;                                                 \
            } else {                                                                                             \
                y[0] = (T)(log(s) + (double)m);                                                                  \
            }                                                                                                    \
            return;                                                                                              \
        }                                                                                                        \
        /* layer_norm: mean, then variance about it; rms_norm: mean square */                                  \
        if (op == LBK_OP_LAYER_NORM) {                                                                           \
            for (j = 0; j < LBK__RB; j++) acc[j] = 0;                                                            \
            for (i = 0; i < nb; i += LBK__RB)                                                                    \
                for (j = 0; j < LBK__RB; j++) acc[j] += x[i + j];                                                \
            for (i = nb; i < L; i++) s += x[i];                                                                  \
            for (j = 0; j < LBK__RB; j++) s += acc[j];                                                           \
            md = s / (double)L;                                                                                  \
            s = 0;                                                                                               \
        }                                                                                                        \
        for (j = 0; j < LBK__RB; j++) acc[j] = 0;                                                                \
        for (i = 0; i < nb; i += LBK__RB)                                                                        \
            for (j = 0; j < LBK__RB; j++) { double d = (double)x[i + j] - md; acc[j] += d * d; }                 \
        for (i = nb; i < L; i++) { double d = (double)x[i] - md; s += d * d; }                                   \
        for (j = 0; j < LBK__RB; j++) s += acc[j];                                                               \
        {                                                                                                        \
            double rstd = 1 / sqrt(s / (double)L + (double)eps);                                                 \
            for (i = 0; i < L; i++) {                                                                            \
                T v = (T)(((double)x[i] - md) * rstd);                                                           \
                if (w) v *= w[i];                                                                                \
                if (b) v += b[i];                                                                                \
                y[i] = v;                                                                                        \
            }                                                                                                    \
        }                                                                                                        \
    }
LBK__ROW_KERNEL(float, f32, lbk__vexpf, logf, sqrtf, (float)HUGE_VAL)
LBK__ROW_KERNEL(double, f64, exp, log, sqrt, HUGE_VAL)
#undef LBK__ROW_KERNEL

/* ---- the fast path: scaled_dot_product_attention in one pass ---- */
/* Each query row meets the keys one at a time with an online softmax (running max m, sum
   l, and the weighted sum of values rescaled when m grows): no [L, S] scores in memory.
   Rows of (batch, head) blocks are split across threads. A row that attends to nothing is
   NaN (0 / 0), as the math path. Causal: key j for query i where j <= i (top left). */
#define LBK__SDPA_KERNEL(T, SFX, EXP)                                                                            \
    static void lbk__sdpa_##SFX(const lbk__sdpa_geo *s, const T *q, const T *k, const T *v, const void *mask, T *out) { \
        int64_t rows = s->outer * s->L, r;                                                                       \
        int lbk__nt = lbk__omp_threads(s->threads);                                                              \
        bool lbk__par = s->threads != 1 && rows > 1 && (double)rows * (double)s->S * (double)(s->E + s->Ev) >= (double)(1 << 18); \
        (void)lbk__nt; (void)lbk__par;                                                                           \
        LBK__OMP_PARALLEL                                                                                        \
        {                                                                                                        \
            T *acc = (T *)lbk__malloc(sizeof(T) * (size_t)(s->Ev + 1));                                          \
            LBK__OMP_FOR                                                                                         \
            for (r = 0; r < rows; r++) {                                                                         \
                int64_t ob = r / s->L, i = r % s->L, b = ob / s->Hq, h = ob % s->Hq, hk = h / s->group, j, e;    \
                int64_t mbase = s->mbase ? s->mbase[ob] + i * s->mst[0] : 0;                                     \
                const T *qi = q + r * s->E, *kb = k + (b * s->Hk + hk) * s->S * s->E, *vb = v + (b * s->Hk + hk) * s->S * s->Ev; \
                T *o = out + r * s->Ev, m = (T)-HUGE_VAL, l = 0;                                                 \
                int64_t jend = s->causal ? LBK__MIN(s->S, i + 1) : s->S;                                         \
                if (!acc) continue;                                                                              \
                for (e = 0; e < s->Ev; e++) acc[e] = 0;                                                          \
                for (j = 0; j < jend; j++) {                                                                     \
                    const T *kj = kb + j * s->E, *vj = vb + j * s->Ev;                                           \
                    T d = 0, p;                                                                                  \
                    for (e = 0; e < s->E; e++) d += qi[e] * kj[e];                                               \
                    d *= (T)s->scale;                                                                            \
                    if (mask) {                                                                                  \
                        int64_t mo = mbase + j * s->mst[1];                                                      \
                        if (s->mask_bool) { if (!((const uint8_t *)mask)[mo]) continue; }                       \
                        else d += ((const T *)mask)[mo];                                                         \
                    }                                                                                            \
                    if (d != d) { m = d; l = d; break; }   /* NaN poisons the row */                             \
                    if (d == (T)-HUGE_VAL) continue;                                                             \
                    if (d > m) {                                                                                 \
                        T c = EXP(m - d);                                                                        \
                        l *= c;                                                                                  \
                        for (e = 0; e < s->Ev; e++) acc[e] *= c;                                                 \
                        m = d;                                                                                   \
                    }                                                                                            \
                    p = EXP(d - m);                                                                              \
                    l += p;                                                                                      \
                    for (e = 0; e < s->Ev; e++) acc[e] += p * vj[e];                                             \
                }                                                                                                \
                for (e = 0; e < s->Ev; e++) o[e] = acc[e] / l;                                                   \
            }                                                                                                    \
            if (!acc) { LBK__OMP_FLAG(s->failed[0]); }                                                           \
            lbk__free(acc);                                                                                      \
        }                                                                                                        \
    }
typedef struct lbk__sdpa_geo {
    int64_t outer, L, S, E, Ev, Hq, Hk, group, mst[2];
    const int64_t *mbase;   /* per (batch, head): the mask's offset, or NULL */
    double scale;
    bool causal, mask_bool, *failed;
    int threads;
} lbk__sdpa_geo;
LBK__SDPA_KERNEL(float, f32, expf)
LBK__SDPA_KERNEL(double, f64, exp)
#undef LBK__SDPA_KERNEL
static lbk_result lbk__cpu_sdpa(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    const lbk__cpu_inst *iq = &p->inst[p->ins[x->first_in]], *ik = &p->inst[p->ins[x->first_in + 1]];
    const lbk__cpu_inst *im = x->n_in > 3 ? &p->inst[p->ins[x->first_in + 3]] : NULL;
    const void *mask = im ? p->vals[p->ins[x->first_in + 3]] : NULL;
    int nd = iq->n_dims, d;
    int64_t mst[LAZYBK_MAX_DIMS], *mbase = NULL, ob;
    bool failed = false;
    lbk__sdpa_geo s;
    if (x->numel == 0) return LBK_OK;
    s.L = iq->dims[nd - 2]; s.E = iq->dims[nd - 1]; s.S = ik->dims[nd - 2]; s.Ev = x->dims[nd - 1];
    s.Hq = nd >= 3 ? iq->dims[nd - 3] : 1; s.Hk = nd >= 3 ? ik->dims[nd - 3] : 1;
    s.group = s.Hk ? s.Hq / s.Hk : 1;
    s.outer = x->numel / (s.L * s.Ev);
    s.scale = x->eps != 0 ? x->eps : 1.0 / sqrt((double)s.E);
    s.causal = x->desc;
    s.mask_bool = im && im->dt == LBK_BOOL;
    s.failed = &failed;
    s.threads = lbk_exec_threads();
    s.mst[0] = s.mst[1] = 0;
    if (im) {   /* the mask's strides over the scores [..., Hq, L, S], and its offset per (batch, head) */
        lbk__cpu_inst sc = *x;
        int64_t sd[LAZYBK_MAX_DIMS], c[LAZYBK_MAX_DIMS], off = 0;
        memcpy(sd, x->dims, sizeof(int64_t) * (size_t)nd);
        sd[nd - 1] = s.S;
        sc.dims = sd;
        lbk__cpu_bstrides(&sc, im, mst);
        s.mst[0] = mst[nd - 2]; s.mst[1] = mst[nd - 1];
        mbase = (int64_t *)lbk__malloc(sizeof(int64_t) * (size_t)(s.outer + 1));
        if (!mbase) return lbk_backend_error(LBK_ERR_OOM, x->debug, "out of memory");
        memset(c, 0, sizeof c);
        for (ob = 0; ob < s.outer; ob++) {
            mbase[ob] = off;
            for (d = nd - 3; d >= 0; d--) {
                off += mst[d];
                if (++c[d] < sd[d]) break;
                off -= mst[d] * sd[d];
                c[d] = 0;
            }
        }
    }
    s.mbase = mbase;
    if (x->dt == LBK_F32)
        lbk__sdpa_f32(&s, (const float *)p->vals[p->ins[x->first_in]], (const float *)p->vals[p->ins[x->first_in + 1]],
                      (const float *)p->vals[p->ins[x->first_in + 2]], mask, (float *)o);
    else
        lbk__sdpa_f64(&s, (const double *)p->vals[p->ins[x->first_in]], (const double *)p->vals[p->ins[x->first_in + 1]],
                      (const double *)p->vals[p->ins[x->first_in + 2]], mask, (double *)o);
    lbk__free(mbase);
    return failed ? lbk_backend_error(LBK_ERR_OOM, x->debug, "out of memory") : LBK_OK;
}

/* Whether the fast path runs composite node i whole. */
static bool lbk__cpu_runs_whole(const lbk_graph *g, uint32_t i) {
    lbk_node n = lbk_graph_node(g, i);
    int k;
    if (!lbk__cpu_native(n.dtype)) return false;
    for (k = 0; k < n.n_inputs; k++)   /* one dtype (attention's mask may be bool) */
        if (lbk_graph_node(g, n.inputs[k]).dtype != n.dtype && !(n.op == LBK_OP_SDPA && k == 3 && lbk_graph_node(g, n.inputs[k]).dtype == LBK_BOOL))
            return false;
    switch (n.op) {
    case LBK_OP_SDPA: return true;
    case LBK_OP_SOFTMAX: case LBK_OP_LOG_SOFTMAX: case LBK_OP_LOGSUMEXP: {
        lbk_node in = lbk_graph_node(g, n.inputs[0]);
        return in.n_dims >= 1 && lbk_node_axis(g, i) == in.n_dims - 1;
    }
    case LBK_OP_LAYER_NORM: case LBK_OP_RMS_NORM: return true;
    default: return false;
    }
}

/* Runs a composite node whole, rows split across threads. */
static lbk_result lbk__cpu_rows(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    const lbk__cpu_inst *in = &p->inst[p->ins[x->first_in]];
    const char *a = (const char *)p->vals[p->ins[x->first_in]];
    const void *w = NULL, *b = NULL;
    int64_t L, rows, r, out_len;
    size_t esz = lbk_dtype_size(x->dt);
    int threads = lbk_exec_threads();
    (void)threads;
    if (x->op == LBK_OP_LAYER_NORM || x->op == LBK_OP_RMS_NORM) {
        int k = 1;
        L = lbk_shape_numel(x->n_norm, in->dims + (in->n_dims - x->n_norm));
        if (x->has_w) w = p->vals[p->ins[x->first_in + (uint32_t)k++]];
        if (x->has_b) b = p->vals[p->ins[x->first_in + (uint32_t)k]];
    } else {
        L = in->dims[in->n_dims - 1];
    }
    if (L == 0) {   /* empty rows: logsumexp of nothing is -inf (the other ops' outputs are empty) */
        for (r = 0; r < x->numel; r++) lbk__st(o, x->dt, r, -HUGE_VAL, 0);
        return LBK_OK;
    }
    if (in->numel == 0) return LBK_OK;
    rows = in->numel / L;
    out_len = x->op == LBK_OP_LOGSUMEXP ? 1 : L;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads > 0 ? threads : omp_get_max_threads()) if (threads != 1 && in->numel >= (1 << 18))
#endif
    for (r = 0; r < rows; r++) {
        if (x->dt == LBK_F32)
            lbk__row_f32(x->op, (const float *)(const void *)(a + (size_t)(r * L) * esz), (float *)o + r * out_len, L,
                         (const float *)w, (const float *)b, (float)x->eps);
        else
            lbk__row_f64(x->op, (const double *)(const void *)(a + (size_t)(r * L) * esz), (double *)o + r * out_len, L,
                         (const double *)w, (const double *)b, x->eps);
    }
    return LBK_OK;
}

/* ---- the fast path: reductions over trailing or leading axes ---- */
/* sum, mean, amax, amin of float tensors reduced over their last k axes (each output is
   one contiguous row) or their first k axes (each output is one column, the rows added
   in order); float sums accumulate in 16 double lanes. Other axis sets use the reference. */
#define LBK__REDUCE_KERNELS(T, SFX)                                                                              \
    static LBK__TILE_FN void lbk__redrow_##SFX(lbk_op op, const T *LBK__RESTRICT x, int64_t L, T *LBK__RESTRICT out) { \
        int64_t i, nb = L / LBK__RB * LBK__RB;                                                                   \
        int j;                                                                                                   \
        if (op == LBK_OP_SUM || op == LBK_OP_MEAN) {                                                             \
            double acc[LBK__RB], s = 0;                                                                          \
            for (j = 0; j < LBK__RB; j++) acc[j] = 0;                                                            \
            for (i = 0; i < nb; i += LBK__RB)                                                                    \
                for (j = 0; j < LBK__RB; j++) acc[j] += x[i + j];                                                \
            for (i = nb; i < L; i++) s += x[i];                                                                  \
            for (j = 0; j < LBK__RB; j++) s += acc[j];                                                           \
            *out = (T)(op == LBK_OP_MEAN ? s / (double)L : s);                                                   \
        } else {                                                                                                 \
            bool mx = op == LBK_OP_AMAX;                                                                         \
            T acc[LBK__RB], m = x[0];                                                                            \
            for (j = 0; j < LBK__RB; j++) acc[j] = x[0];                                                         \
            for (i = 0; i < nb; i += LBK__RB)                                                                    \
                for (j = 0; j < LBK__RB; j++) {                                                                  \
                    T v = x[i + j];                                                                              \
                    acc[j] = (v != v || (mx ? v > acc[j] : v < acc[j])) ? v : acc[j];                            \
                }                                                                                                \
            for (j = 0; j < LBK__RB; j++) m = (acc[j] != acc[j] || (mx ? acc[j] > m : acc[j] < m)) ? acc[j] : m; \
            for (i = nb; i < L; i++) m = (x[i] != x[i] || (mx ? x[i] > m : x[i] < m)) ? x[i] : m;                \
            if (m == m) for (i = 0; i < L; i++) if (x[i] != x[i]) { m = x[i]; break; }   /* nan wins */          \
            *out = m;                                                                                            \
        }                                                                                                        \
    }
LBK__REDUCE_KERNELS(float, f32)
LBK__REDUCE_KERNELS(double, f64)
#undef LBK__REDUCE_KERNELS

/* Runs a float reduction on the fast path; false if its axes are neither trailing nor
   leading (the caller then uses the reference kernel). */
static bool lbk__cpu_reduce_fast(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o, lbk_result *r) {
    const lbk__cpu_inst *in = &p->inst[p->ins[x->first_in]];
    const char *a = (const char *)p->vals[p->ins[x->first_in]];
    int nd = in->n_dims, k, first = -1, last = -1;
    int64_t L, R, i, j;
    size_t esz = lbk_dtype_size(x->dt);
    *r = LBK_OK;
    if (x->dt != in->dt || nd == 0 || in->numel == 0) return false;
    /* f64 sums stay pairwise (the reference): lanes of doubles are not "better" for f64 */
    if (x->dt == LBK_F64 && (x->op == LBK_OP_SUM || x->op == LBK_OP_MEAN)) return false;
    for (k = 0; k < nd; k++)
        if (x->mask & (1u << k)) { if (first < 0) first = k; last = k; }
    if (first < 0) return false;
    for (k = first; k <= last; k++)
        if (!(x->mask & (1u << k))) return false;   /* not one block of axes */
    if (last == nd - 1) {   /* trailing: rows of L */
        L = lbk_shape_numel(nd - first, in->dims + first);
        R = in->numel / L;
        for (i = 0; i < R; i++) {
            if (x->dt == LBK_F32) lbk__redrow_f32(x->op, (const float *)(const void *)(a + (size_t)(i * L) * esz), L, (float *)o + i);
            else lbk__redrow_f64(x->op, (const double *)(const void *)(a + (size_t)(i * L) * esz), L, (double *)o + i);
        }
        return true;
    }
    if (first == 0) {   /* leading: R rows of L columns, reduced row by row */
        double *acc;
        R = lbk_shape_numel(last + 1, in->dims);
        L = in->numel / R;
        acc = (double *)lbk__malloc(sizeof(double) * (size_t)L);
        if (!acc) { *r = lbk_backend_error(LBK_ERR_OOM, x->debug, "out of memory"); return true; }
        for (j = 0; j < L; j++) acc[j] = lbk__ld(a, in->dt, j);
        for (i = 1; i < R; i++)
            for (j = 0; j < L; j++) {
                double v = lbk__ld(a, in->dt, i * L + j);
                if (x->op == LBK_OP_SUM || x->op == LBK_OP_MEAN) acc[j] += v;
                else if (x->op == LBK_OP_AMAX) acc[j] = (v != v || v > acc[j]) && acc[j] == acc[j] ? v : acc[j];
                else acc[j] = (v != v || v < acc[j]) && acc[j] == acc[j] ? v : acc[j];
            }
        for (j = 0; j < L; j++) lbk__st(o, x->dt, j, x->op == LBK_OP_MEAN ? acc[j] / (double)R : acc[j], 0);
        lbk__free(acc);
        return true;
    }
    return false;
}

static uint64_t lbk__rng_bits(uint64_t seed, uint64_t i) { return lbk__mix64(seed ^ lbk__mix64(i * 0x9e3779b97f4a7c15ULL + 1)); }
static double lbk__rng_unit(uint64_t seed, uint64_t i) { return (double)(lbk__rng_bits(seed, i) >> 11) * (1.0 / 9007199254740992.0); }

/* Runs node i of the program into o. */
/* dst[di + k] += src[si + k] for k < n, in dt: floats rounded once per add (through the
   double, which is exact for two narrower floats), integers wrap, bools or. */
static void lbk__cpu_add_into(lbk_dtype dt, void *dst, int64_t di, const void *src, int64_t si, int64_t n) {
    int64_t k;
    if (dt == LBK_F32) {
        float *q = (float *)dst + di;
        const float *v = (const float *)src + si;
        for (k = 0; k < n; k++) q[k] += v[k];
    } else if (dt == LBK_F64) {
        double *q = (double *)dst + di;
        const double *v = (const double *)src + si;
        for (k = 0; k < n; k++) q[k] += v[k];
    } else if (lbk_dtype_is_float(dt)) {
        for (k = 0; k < n; k++) lbk_store_f64(dt, dst, di + k, lbk_load_f64(dt, dst, di + k) + lbk_load_f64(dt, src, si + k));
    } else if (dt == LBK_BOOL) {
        for (k = 0; k < n; k++) lbk_store_i64(dt, dst, di + k, lbk_load_i64(dt, dst, di + k) || lbk_load_i64(dt, src, si + k));
    } else {
        for (k = 0; k < n; k++)
            lbk_store_i64(dt, dst, di + k, (int64_t)((uint64_t)lbk_load_i64(dt, dst, di + k) + (uint64_t)lbk_load_i64(dt, src, si + k)));
    }
}
/* Every index of ix in [0, bound), or the error naming the first that is not. */
static lbk_result lbk__cpu_check_index(const lbk__cpu_inst *x, const lbk__cpu_inst *ix, const void *idx, int64_t bound) {
    int64_t j;
    for (j = 0; j < ix->numel; j++) {
        int64_t k = lbk__ldi(idx, ix->dt, j);
        if (k < 0 || k >= bound)
            return lbk_backend_error(LBK_ERR_ARG, x->debug, "index %lld (at position %lld of the index) is out of range for axis %d of size %lld",
                                     (long long)k, (long long)j, x->axis, (long long)bound);
    }
    return LBK_OK;
}
/* A start (0-d) that leaves room for len elements of an axis of size dim, or the error. */
static lbk_result lbk__cpu_check_start(const lbk__cpu_inst *x, const lbk__cpu_inst *st, const void *sp, int64_t len, int64_t dim,
                                       int64_t *out) {
    int64_t s = lbk__ldi(sp, st->dt, 0);
    *out = s;
    if (s < 0 || s > dim - len)
        return lbk_backend_error(LBK_ERR_ARG, x->debug, "start %lld is out of range: %lld elements along axis %d of size %lld start in [0, %lld]",
                                 (long long)s, (long long)len, x->axis, (long long)dim, (long long)(dim - len));
    return LBK_OK;
}
/* Steps coordinate c (over dims) to the next position in C order, keeping off[m] =
   sum over d of c[d] * st[m][d] for the n_st stride sets (a 0 stride leaves a dim out). */
static void lbk__cpu_step(int nd, const int64_t *dims, int64_t *c, int n_st, int64_t (*st)[LAZYBK_MAX_DIMS], int64_t *off) {
    int d, m;
    for (d = nd - 1; d >= 0; d--) {
        if (++c[d] < dims[d]) { for (m = 0; m < n_st; m++) off[m] += st[m][d]; return; }
        for (m = 0; m < n_st; m++) off[m] -= st[m][d] * (dims[d] - 1);
        c[d] = 0;
    }
}
/* gather, scatter_add, index_add, slice_dyn, slice_update: indices and starts are data,
   checked before anything is written. */
static lbk_result lbk__cpu_indexed(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    const lbk__cpu_inst *t = &p->inst[p->ins[x->first_in]], *ix = &p->inst[p->ins[x->first_in + 1]];
    const lbk__cpu_inst *sx = x->n_in > 2 ? &p->inst[p->ins[x->first_in + 2]] : NULL;
    const char *a = (const char *)p->vals[p->ins[x->first_in]], *idx = (const char *)p->vals[p->ins[x->first_in + 1]];
    const char *sv = sx ? (const char *)p->vals[p->ins[x->first_in + 2]] : NULL;
    size_t esz = lbk_dtype_size(x->dt);
    int64_t st[2][LAZYBK_MAX_DIMS], c[LAZYBK_MAX_DIMS], off[2], j, A = t->dims[x->axis], s0;
    int ax = x->axis, d;
    lbk_result r;
    memset(c, 0, sizeof c);
    off[0] = off[1] = 0;
    if (x->op == LBK_OP_SLICE_DYN || x->op == LBK_OP_SLICE_UPDATE) {
        const lbk__cpu_inst *part = x->op == LBK_OP_SLICE_DYN ? x : sx;
        if ((r = lbk__cpu_check_start(x, ix, idx, part->dims[ax], A, &s0)) != LBK_OK) return r;
        if (x->op == LBK_OP_SLICE_UPDATE && o != (const void *)a && x->bytes) memcpy(o, a, x->bytes);
        if (!part->numel) return LBK_OK;
        lbk__cpu_strides(t->n_dims, t->dims, st[0]);   /* t and the result: one layout */
        lbk__cpu_strides(part->n_dims, part->dims, st[1]);
        if (x->op == LBK_OP_SLICE_DYN) lbk__cpu_copy((char *)o, a + (size_t)(s0 * st[0][ax]) * esz, esz, x->n_dims, x->dims, st[1], st[0]);
        else lbk__cpu_copy((char *)o + (size_t)(s0 * st[0][ax]) * esz, sv, esz, sx->n_dims, sx->dims, st[0], st[1]);
        return LBK_OK;
    }
    if ((r = lbk__cpu_check_index(x, ix, idx, A)) != LBK_OK) return r;
    if (x->op == LBK_OP_INDEX_ADD) {   /* slices of src added at slices of the result */
        int64_t outer = 1, inner = 1, nI = ix->numel, o1;
        for (d = 0; d < ax; d++) outer *= t->dims[d];
        for (d = ax + 1; d < t->n_dims; d++) inner *= t->dims[d];
        if (x->bytes) memcpy(o, a, x->bytes);
        if (inner)
            for (o1 = 0; o1 < outer; o1++)
                for (j = 0; j < nI; j++)
                    lbk__cpu_add_into(x->dt, o, (o1 * A + lbk__ldi(idx, ix->dt, j)) * inner, sv, (o1 * nI + j) * inner, inner);
        return LBK_OK;
    }
    /* gather: st[0] walks t without axis; scatter_add: st[0] the result without axis, st[1] src */
    lbk__cpu_strides(t->n_dims, t->dims, st[0]);
    if (sx) lbk__cpu_strides(sx->n_dims, sx->dims, st[1]);
    if (x->op == LBK_OP_SCATTER_ADD && x->bytes) memcpy(o, a, x->bytes);
    {
        int64_t sa = st[0][ax];
        st[0][ax] = 0;
        for (j = 0; j < ix->numel; j++) {
            int64_t k = lbk__ldi(idx, ix->dt, j);
            if (x->op == LBK_OP_GATHER) memcpy((char *)o + (size_t)j * esz, a + (size_t)(off[0] + k * sa) * esz, esz);
            else lbk__cpu_add_into(x->dt, o, off[0] + k * sa, sv, off[1], 1);
            lbk__cpu_step(ix->n_dims, ix->dims, c, sx ? 2 : 1, st, off);
        }
    }
    return LBK_OK;
}

/* ---- window ops: conv2d, conv_transpose2d, the pools, nearest resizing ---- */
/* The geometry of a window node: x [N, C, H, W] (pools and resizing: N C planes), the result
   [N, O, OH, OW], kernel kh x kw (the weight's, or the pool's), groups G. */
typedef struct lbk__win { int64_t N, C, H, W, O, OH, OW, kh, kw, G; int64_t s[2], p[2], e[2]; } lbk__win;
static void lbk__cpu_win(const lbk__cpu_prog *p, const lbk__cpu_inst *x, lbk__win *w) {
    const lbk__cpu_inst *in = &p->inst[p->ins[x->first_in]];
    int nd = in->n_dims, d;
    w->N = nd == 4 ? in->dims[0] : 1;
    w->C = in->dims[nd - 3]; w->H = in->dims[nd - 2]; w->W = in->dims[nd - 1];
    w->O = x->dims[nd - 3]; w->OH = x->dims[nd - 2]; w->OW = x->dims[nd - 1];
    w->G = x->win[6] > 0 ? x->win[6] : 1;
    for (d = 0; d < 2; d++) { w->s[d] = x->win[d]; w->p[d] = x->win[2 + d]; w->e[d] = x->win[4 + d]; }
    if (x->op == LBK_OP_CONV2D || x->op == LBK_OP_CONV_TRANSPOSE2D) {
        const lbk__cpu_inst *wt = &p->inst[p->ins[x->first_in + 1]];
        w->kh = wt->dims[2]; w->kw = wt->dims[3];
    } else {
        w->kh = w->e[0]; w->kw = w->e[1];
    }
}
/* conv2d and conv_transpose2d, one output element at a time in double (the reference path,
   and the fast path's dtypes without a kernel of their own). The transpose reads x where
   oy = iy * stride - pad + ky: each output gathers its inputs, nothing is scattered. */
static void lbk__cpu_conv_ref(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    const lbk__cpu_inst *ix = &p->inst[p->ins[x->first_in]], *iw = &p->inst[p->ins[x->first_in + 1]];
    const void *X = p->vals[p->ins[x->first_in]], *Wt = p->vals[p->ins[x->first_in + 1]];
    const void *B = x->n_in > 2 ? p->vals[p->ins[x->first_in + 2]] : NULL;
    lbk_dtype bdt = x->n_in > 2 ? p->inst[p->ins[x->first_in + 2]].dt : x->dt;
    bool tr = x->op == LBK_OP_CONV_TRANSPOSE2D;
    lbk__win w;
    int64_t n, oc, oy, ox, c, ky, kx, Cg, Og, at = 0;
    lbk__cpu_win(p, x, &w);
    Cg = w.C / w.G; Og = w.O / w.G;
    for (n = 0; n < w.N; n++)
        for (oc = 0; oc < w.O; oc++) {
            int64_t g = oc / Og, og = oc % Og;
            for (oy = 0; oy < w.OH; oy++)
                for (ox = 0; ox < w.OW; ox++, at++) {
                    double acc = B ? lbk__ld(B, bdt, oc) : 0;
                    for (c = 0; c < Cg; c++) {
                        int64_t xc = ((n * w.C + g * Cg + c) * w.H) * w.W;
                        int64_t wc = tr ? ((g * Cg + c) * Og + og) * w.kh * w.kw : (oc * Cg + c) * w.kh * w.kw;
                        for (ky = 0; ky < w.kh; ky++) {
                            int64_t iy = tr ? oy + w.p[0] - ky : oy * w.s[0] - w.p[0] + ky * w.e[0];
                            if (tr) { if (iy < 0 || iy % w.s[0]) continue; iy /= w.s[0]; }
                            if (iy < 0 || iy >= w.H) continue;
                            for (kx = 0; kx < w.kw; kx++) {
                                int64_t jx = tr ? ox + w.p[1] - kx : ox * w.s[1] - w.p[1] + kx * w.e[1];
                                if (tr) { if (jx < 0 || jx % w.s[1]) continue; jx /= w.s[1]; }
                                if (jx < 0 || jx >= w.W) continue;
                                acc += lbk__ld(X, ix->dt, xc + iy * w.W + jx) * lbk__ld(Wt, iw->dt, wc + ky * w.kw + kx);
                            }
                        }
                    }
                    lbk__st(o, x->dt, at, acc, 0);
                }
        }
}
/* The fast conv2d of f32 and f64, an implicit GEMM: per image and group, out[Og, P] =
   W_g[Og, K] @ cols[K, P] with K = C/G kh kw and P = OH OW, where the GEMM packs its panels
   of cols straight from x (lbk__conv_pack_*: no im2col buffer); a 1x1 kernel with stride 1
   and no padding reads x itself as B. The output positions go in chunks whose packed panel
   stays in L2 (a weight of few rows reuses each panel little), split across threads. */
#define LBK__CONV_FAST(T, SFX)                                                                                   \
    static lbk_result lbk__conv_fast_##SFX(const lbk__win *w, const T *X, const T *Wt, const T *B, T *out, int64_t debug) { \
        int64_t Cg = w->C / w->G, Og = w->O / w->G, K = Cg * w->kh * w->kw, P = w->OH * w->OW, chunk, n_c, tasks, t; \
        int64_t mpad = (Og + LBK__MR - 1) / LBK__MR * LBK__MR;                                                    \
        T *wpk = (T *)lbk__malloc(sizeof(T) * (size_t)(w->G * mpad * K + 1));   /* the weight, packed once */    \
        bool direct = w->kh == 1 && w->kw == 1 && w->s[0] == 1 && w->s[1] == 1 && w->p[0] == 0 && w->p[1] == 0;   \
        bool failed = false;                                                                                     \
        int threads = lbk_exec_threads(), lbk__nt = lbk__omp_threads(threads);                                   \
        bool lbk__par;                                                                                           \
        chunk = LBK__MAX(LBK__NR, 32768 / LBK__MIN(K, LBK__KC) / LBK__NR * LBK__NR);   /* a KC x chunk panel ~ 128 KiB */ \
        n_c = (P + chunk - 1) / chunk;                                                                           \
        tasks = w->N * w->G * n_c;                                                                               \
        if (!wpk) return lbk_backend_error(LBK_ERR_OOM, debug, "out of memory for the packed weight");          \
        for (t = 0; t < w->G; t++) lbk__pack_a_all_##SFX(Wt + t * Og * K, Og, K, wpk + t * mpad * K);           \
        lbk__par = threads != 1 && tasks > 1 && (double)P * (double)K * (double)Og * (double)(w->N * w->G) >= (double)(1 << 20); \
        (void)lbk__nt; (void)lbk__par;                                                                           \
        LBK__OMP_PARALLEL                                                                                        \
        {                                                                                                        \
            T *aps = (T *)lbk__malloc(sizeof(T) * LBK__MC * LBK__KC + 64);                                       \
            T *bps = (T *)lbk__malloc(sizeof(T) * LBK__KC * (LBK__NC + LBK__NR) + 64);                           \
            if (!aps || !bps) {                                                                                  \
                LBK__OMP_FLAG(failed);                                                                           \
            } else {                                                                                             \
                LBK__OMP_FOR                                                                                     \
                for (t = 0; t < tasks; t++) {                                                                    \
                    int64_t n = t / (w->G * n_c), g = t / n_c % w->G, p0 = t % n_c * chunk, pt = LBK__MIN(chunk, P - p0), r, j; \
                    const T *xg = X + (n * w->C + g * Cg) * w->H * w->W;                                         \
                    T *og = out + (n * w->O + g * Og) * P + p0;                                                  \
                    lbk__conv_src cs;                                                                            \
                    cs.x = xg; cs.H = w->H; cs.W = w->W; cs.OW = w->OW; cs.kh = w->kh; cs.kw = w->kw; cs.p_base = p0; \
                    for (j = 0; j < 2; j++) { cs.s[j] = w->s[j]; cs.p[j] = w->p[j]; cs.e[j] = w->e[j]; }           \
                    lbk__gemm_##SFX(Og, pt, K, Wt + g * Og * K, direct ? xg + p0 : NULL, false, P, og, P, aps, bps, NULL, direct ? NULL : &cs, \
                                    wpk + g * mpad * K);                                                         \
                    if (B)                                                                                       \
                        for (r = 0; r < Og; r++)                                                                 \
                            for (j = 0; j < pt; j++) og[r * P + j] += B[g * Og + r];                             \
                }                                                                                                \
            }                                                                                                    \
            lbk__free(aps); lbk__free(bps);                                                                      \
        }                                                                                                        \
        lbk__free(wpk);                                                                                          \
        return failed ? lbk_backend_error(LBK_ERR_OOM, debug, "out of memory") : LBK_OK;                         \
    }
LBK__CONV_FAST(float, f32)
LBK__CONV_FAST(double, f64)
#undef LBK__CONV_FAST
static lbk_result lbk__cpu_conv(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    lbk__win w;
    const lbk__cpu_inst *ix = &p->inst[p->ins[x->first_in]], *iw = &p->inst[p->ins[x->first_in + 1]];
    const void *B = x->n_in > 2 ? p->vals[p->ins[x->first_in + 2]] : NULL;
    if (x->numel == 0) return LBK_OK;
    if (!p->fast || x->op != LBK_OP_CONV2D || !lbk__cpu_native(x->dt) || ix->dt != x->dt || iw->dt != x->dt ||
        (x->n_in > 2 && p->inst[p->ins[x->first_in + 2]].dt != x->dt)) {
        lbk__cpu_conv_ref(p, x, o);
        return LBK_OK;
    }
    lbk__cpu_win(p, x, &w);
    if (x->dt == LBK_F32)
        return lbk__conv_fast_f32(&w, (const float *)p->vals[p->ins[x->first_in]], (const float *)p->vals[p->ins[x->first_in + 1]], (const float *)B,
                                  (float *)o, x->debug);
    return lbk__conv_fast_f64(&w, (const double *)p->vals[p->ins[x->first_in]], (const double *)p->vals[p->ins[x->first_in + 1]], (const double *)B,
                              (double *)o, x->debug);
}
/* PyTorch's nearest source index: dst scaled by in / out in float, floored, clamped. */
static int64_t lbk__nearest(int64_t dst, int64_t in, int64_t out) {
    int64_t s;
    if (out == in) return dst;
    if (out == 2 * in) return dst >> 1;
    s = (int64_t)floorf((float)dst * ((float)in / (float)out));
    return s < in ? s : in - 1;
}
/* max_pool2d (padding never wins; NaN propagates), avg_pool2d (the padding counted),
   interpolate_nearest2d, plane by plane. f32 and f64 are read as they are, the rest through
   the dtype table (integers exactly, as int64). */
#define LBK__POOL_KERNEL(SFX, T, LD, ST)                                                                        \
    static void lbk__pool_##SFX(lbk_op op, const lbk__win *w, const void *in, void *out, lbk_dtype dt, int64_t planes) { \
        int64_t pl, oy, ox, ky, kx, at = 0;                                                                      \
        double area = (double)w->kh * (double)w->kw;                                                             \
        (void)dt;                                                                                                \
        for (pl = 0; pl < planes; pl++) {                                                                        \
            int64_t base = pl * w->H * w->W;                                                                     \
            for (oy = 0; oy < w->OH; oy++)                                                                       \
                for (ox = 0; ox < w->OW; ox++, at++) {                                                           \
                    int64_t y0 = oy * w->s[0] - w->p[0], x0 = ox * w->s[1] - w->p[1];                            \
                    T m = 0, v;                                                                                  \
                    double sum = 0;                                                                              \
                    bool any = false;                                                                            \
                    if (op == LBK_OP_INTERPOLATE_NEAREST2D) {                                                    \
                        ST(out, at, LD(in, base + lbk__nearest(oy, w->H, w->OH) * w->W + lbk__nearest(ox, w->W, w->OW))); \
                        continue;                                                                                \
                    }                                                                                            \
                    for (ky = 0; ky < w->kh; ky++) {                                                             \
                        if (y0 + ky < 0 || y0 + ky >= w->H) continue;                                            \
                        for (kx = 0; kx < w->kw; kx++) {                                                         \
                            if (x0 + kx < 0 || x0 + kx >= w->W) continue;                                        \
                            v = LD(in, base + (y0 + ky) * w->W + x0 + kx);                                       \
                            if (op == LBK_OP_AVG_POOL2D) sum += (double)v;                                       \
                            else if (!any || (m == m && (v > m || v != v))) m = v;                                   \
                            any = true;                                                                          \
                        }                                                                                        \
                    }                                                                                            \
                    if (op == LBK_OP_AVG_POOL2D) ST(out, at, (T)(sum / area));                                   \
                    else ST(out, at, m);                                                                         \
                }                                                                                                \
        }                                                                                                        \
    }
#define LBK__LD_F32(p, i) (((const float *)(p))[i])
#define LBK__ST_F32(p, i, v) (((float *)(p))[i] = (v))
#define LBK__LD_F64(p, i) (((const double *)(p))[i])
#define LBK__ST_F64(p, i, v) (((double *)(p))[i] = (v))
#define LBK__LD_ANYF(p, i) lbk__ld(p, dt, i)
#define LBK__ST_ANYF(p, i, v) lbk_store_f64(dt, p, i, v)
#define LBK__LD_ANYI(p, i) lbk__ldi(p, dt, i)
#define LBK__ST_ANYI(p, i, v) lbk_store_i64(dt, p, i, v)
LBK__POOL_KERNEL(f32, float, LBK__LD_F32, LBK__ST_F32)
LBK__POOL_KERNEL(f64, double, LBK__LD_F64, LBK__ST_F64)
LBK__POOL_KERNEL(anyf, double, LBK__LD_ANYF, LBK__ST_ANYF)
LBK__POOL_KERNEL(anyi, int64_t, LBK__LD_ANYI, LBK__ST_ANYI)
#undef LBK__POOL_KERNEL
static void lbk__cpu_pool(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    lbk__win w;
    const void *in = p->vals[p->ins[x->first_in]];
    int64_t planes;
    if (x->numel == 0) return;
    lbk__cpu_win(p, x, &w);
    planes = x->numel / (w.OH * w.OW);
    if (x->dt == LBK_F32) lbk__pool_f32(x->op, &w, in, o, x->dt, planes);
    else if (x->dt == LBK_F64) lbk__pool_f64(x->op, &w, in, o, x->dt, planes);
    else if (lbk__is_float(x->dt)) lbk__pool_anyf(x->op, &w, in, o, x->dt, planes);
    else lbk__pool_anyi(x->op, &w, in, o, x->dt, planes);
}

/* ---- scans: cumsum (floats in double, integers in int64, as PyTorch) and argsort ---- */
static void lbk__cpu_cumsum(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    const lbk__cpu_inst *in = &p->inst[p->ins[x->first_in]];
    const void *a = p->vals[p->ins[x->first_in]];
    int64_t L = x->n_dims ? x->dims[x->axis] : 1, inner = 1, outer, o1, i1, k;
    int d;
    bool fl = lbk__is_float(x->dt);
    if (x->numel == 0) return;
    for (d = x->axis + 1; d < x->n_dims; d++) inner *= x->dims[d];
    outer = x->numel / (L * inner);
    for (o1 = 0; o1 < outer; o1++)
        for (i1 = 0; i1 < inner; i1++) {
            double s = 0;
            uint64_t si = 0;
            for (k = 0; k < L; k++) {
                int64_t at = (o1 * L + k) * inner + i1;
                if (fl) { s += lbk__ld(a, in->dt, at); lbk_store_f64(x->dt, o, at, s); }
                else { si += (uint64_t)lbk__ldi(a, in->dt, at); lbk_store_i64(x->dt, o, at, (int64_t)si); }
            }
        }
}
/* The stable order of one row: keys (double, or int64 for integer dtypes), NaN above
   everything; equal keys keep their positions' order either way. */
typedef struct lbk__sortkey { double f; int64_t i; } lbk__sortkey;
static bool lbk__key_before(const lbk__sortkey *a, const lbk__sortkey *b, bool fl, bool desc) {   /* a strictly first */
    if (fl) {
        bool an = a->f != a->f, bn = b->f != b->f;
        if (an || bn) return desc ? an && !bn : bn && !an;
        return desc ? a->f > b->f : a->f < b->f;
    }
    return desc ? a->i > b->i : a->i < b->i;
}
static void lbk__cpu_argsort(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o, lbk__sortkey *keys, int64_t *idx, int64_t *tmp) {
    const lbk__cpu_inst *in = &p->inst[p->ins[x->first_in]];
    const void *a = p->vals[p->ins[x->first_in]];
    int64_t L = x->n_dims ? x->dims[x->axis] : 1, inner = 1, outer, o1, i1, k, wd, lo;
    int d;
    bool fl = lbk__is_float(in->dt), desc = x->desc;
    for (d = x->axis + 1; d < x->n_dims; d++) inner *= x->dims[d];
    outer = x->numel / (L * inner);
    for (o1 = 0; o1 < outer; o1++)
        for (i1 = 0; i1 < inner; i1++) {
            int64_t *src = idx, *dst = tmp, *sw;
            for (k = 0; k < L; k++) {
                int64_t at = (o1 * L + k) * inner + i1;
                if (fl) keys[k].f = lbk__ld(a, in->dt, at); else keys[k].i = lbk__ldi(a, in->dt, at);
                idx[k] = k;
            }
            for (wd = 1; wd < L; wd *= 2) {   /* bottom-up merge sort: stable */
                for (lo = 0; lo < L; lo += 2 * wd) {
                    int64_t m = LBK__MIN(lo + wd, L), hi = LBK__MIN(lo + 2 * wd, L), i = lo, j = m, t = lo;
                    while (i < m && j < hi) dst[t++] = lbk__key_before(&keys[src[j]], &keys[src[i]], fl, desc) ? src[j++] : src[i++];
                    while (i < m) dst[t++] = src[i++];
                    while (j < hi) dst[t++] = src[j++];
                }
                sw = src; src = dst; dst = sw;
            }
            for (k = 0; k < L; k++) ((int64_t *)o)[(o1 * L + k) * inner + i1] = src[k];
        }
}
static lbk_result lbk__cpu_sort(const lbk__cpu_prog *p, const lbk__cpu_inst *x, void *o) {
    int64_t L = x->n_dims ? x->dims[x->axis] : 1;
    lbk__sortkey *keys;
    int64_t *idx;
    if (x->numel == 0) return LBK_OK;
    keys = (lbk__sortkey *)lbk__malloc(sizeof *keys * (size_t)L);
    idx = (int64_t *)lbk__malloc(sizeof *idx * 2 * (size_t)L);
    if (!keys || !idx) { lbk__free(keys); lbk__free(idx); return lbk_backend_error(LBK_ERR_OOM, x->debug, "out of memory for a row of %lld", (long long)L); }
    lbk__cpu_argsort(p, x, o, keys, idx, idx + L);
    lbk__free(keys);
    lbk__free(idx);
    return LBK_OK;
}
static lbk_result lbk__cpu_run_node(const lbk__cpu_prog *p, uint32_t i, void *o) {
    const lbk__cpu_inst *x = &p->inst[i];
    const lbk__cpu_inst *in0 = x->n_in ? &p->inst[p->ins[x->first_in]] : NULL;
    const char *a = x->n_in ? (const char *)p->vals[p->ins[x->first_in]] : NULL;
    size_t esz = lbk_dtype_size(x->dt);
    int64_t dst[LAZYBK_MAX_DIMS], src[LAZYBK_MAX_DIMS], j;
    int d;
    switch (x->op) {
    case LBK_OP_SUM: case LBK_OP_MEAN: case LBK_OP_AMAX: case LBK_OP_AMIN: case LBK_OP_ARGMAX: {
        lbk_result r = LBK_OK;
        if (p->fast && x->op != LBK_OP_ARGMAX && x->b_src < 0 && lbk__cpu_native(x->dt) && lbk__cpu_reduce_fast(p, x, o, &r))
            return r;
        lbk__cpu_reduce(p, x, o);
        return LBK_OK;
    }
    case LBK_OP_MATMUL:
        if (p->fast && lbk__cpu_matmul_is_fast(p, x)) return lbk__cpu_matmul_fast(p, x, o, NULL);
        if (p->fast && lbk__cpu_narrow(x->dt) && in0->dt == x->dt && p->inst[p->ins[x->first_in + 1]].dt == x->dt)
            return lbk__cpu_matmul_narrow(p, x, o);
        return lbk__cpu_matmul(p, x, o);
    case LBK_OP_RESHAPE:
        if (x->bytes) memcpy(o, a, x->bytes);
        return LBK_OK;
    case LBK_OP_EXPAND:
        lbk__cpu_strides(x->n_dims, x->dims, dst);
        lbk__cpu_bstrides(x, in0, src);
        lbk__cpu_copy((char *)o, a, esz, x->n_dims, x->dims, dst, src);
        return LBK_OK;
    case LBK_OP_PERMUTE: {
        int64_t ist[LAZYBK_MAX_DIMS];
        lbk__cpu_strides(in0->n_dims, in0->dims, ist);
        lbk__cpu_strides(x->n_dims, x->dims, dst);
        for (d = 0; d < x->n_dims; d++) src[d] = ist[x->perm[d]];
        lbk__cpu_copy((char *)o, a, esz, x->n_dims, x->dims, dst, src);
        return LBK_OK;
    }
    case LBK_OP_SLICE:
        lbk__cpu_strides(in0->n_dims, in0->dims, src);
        lbk__cpu_strides(x->n_dims, x->dims, dst);
        if (x->numel) a += (size_t)(x->u.sl.start * src[x->axis]) * esz;
        src[x->axis] *= x->u.sl.step;
        lbk__cpu_copy((char *)o, a, esz, x->n_dims, x->dims, dst, src);
        return LBK_OK;
    case LBK_OP_CONCAT: {
        int64_t at = 0;
        uint32_t k;
        lbk__cpu_strides(x->n_dims, x->dims, dst);
        for (k = 0; k < x->n_in; k++) {
            const lbk__cpu_inst *y = &p->inst[p->ins[x->first_in + k]];
            lbk__cpu_strides(y->n_dims, y->dims, src);
            lbk__cpu_copy((char *)o + (size_t)(at * dst[x->axis]) * esz, (const char *)p->vals[p->ins[x->first_in + k]],
                          esz, y->n_dims, y->dims, dst, src);
            at += y->dims[x->axis];
        }
        return LBK_OK;
    }
    case LBK_OP_INDEX_SELECT: {   /* blocks of the dims after axis, by index; every index checked first */
        const lbk__cpu_inst *ix = &p->inst[p->ins[x->first_in + 1]];
        const char *idx = (const char *)p->vals[p->ins[x->first_in + 1]];
        int64_t outer = 1, inner = (int64_t)esz, A = in0->dims[x->axis], nI = ix->numel, o1;
        lbk_result r = lbk__cpu_check_index(x, ix, idx, A);
        if (r != LBK_OK) return r;
        for (d = 0; d < x->axis; d++) outer *= in0->dims[d];
        for (d = x->axis + 1; d < in0->n_dims; d++) inner *= in0->dims[d];
        if (inner == 0) return LBK_OK;
        for (o1 = 0; o1 < outer; o1++)
            for (j = 0; j < nI; j++)
                memcpy((char *)o + (size_t)((o1 * nI + j) * inner), a + (size_t)((o1 * A + lbk__ldi(idx, ix->dt, j)) * inner), (size_t)inner);
        return LBK_OK;
    }
    case LBK_OP_GATHER: case LBK_OP_SCATTER_ADD: case LBK_OP_INDEX_ADD: case LBK_OP_SLICE_DYN: case LBK_OP_SLICE_UPDATE:
        return lbk__cpu_indexed(p, x, o);
    case LBK_OP_CONV2D: case LBK_OP_CONV_TRANSPOSE2D: return lbk__cpu_conv(p, x, o);
    case LBK_OP_MAX_POOL2D: case LBK_OP_AVG_POOL2D: case LBK_OP_INTERPOLATE_NEAREST2D: lbk__cpu_pool(p, x, o); return LBK_OK;
    case LBK_OP_CUMSUM: lbk__cpu_cumsum(p, x, o); return LBK_OK;
    case LBK_OP_ARGSORT: return lbk__cpu_sort(p, x, o);
    case LBK_OP_ARANGE: {
        double st = x->u.ar.start, sp = x->u.ar.step;
        bool exact = st == floor(st) && sp == floor(sp) && fabs(st) < 9e15 && fabs(sp) < 9e15;
        for (j = 0; j < x->numel; j++) {
            double f = st + (double)j * sp;
            int64_t v = exact ? (int64_t)st + j * (int64_t)sp : lbk_f64_to_i64(f);
            lbk__st(o, x->dt, j, f, v);
        }
        return LBK_OK;
    }
    case LBK_OP_RAND: case LBK_OP_RANDN: {
        uint64_t seed = (uint64_t)((const int64_t *)a)[0];
        for (j = 0; j < x->numel; j++) {
            double v;
            if (x->op == LBK_OP_RAND) {
                v = lbk__rng_unit(seed, (uint64_t)j);
                if (x->dt == LBK_F32 && (float)v >= 1.0f) v = 0.99999994f;   /* keep [0,1) after rounding */
            } else {   /* Box-Muller over the pair (2k, 2k+1) */
                uint64_t pair = (uint64_t)j >> 1;
                double u1 = 1.0 - lbk__rng_unit(seed, 2 * pair), u2 = lbk__rng_unit(seed, 2 * pair + 1);
                double rr = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
                v = (j & 1) ? rr * sin(th) : rr * cos(th);
            }
            lbk__st(o, x->dt, j, v, 0);
        }
        return LBK_OK;
    }
    case LBK_OP_SDPA:
        if (p->fast) return lbk__cpu_sdpa(p, x, o);
        return lbk_backend_error(LBK_ERR_UNSUPPORTED, x->debug, "the cpu reference path runs '%s' only decomposed", lbk_op_name(x->op));
    case LBK_OP_SOFTMAX: case LBK_OP_LOG_SOFTMAX: case LBK_OP_LOGSUMEXP: case LBK_OP_LAYER_NORM: case LBK_OP_RMS_NORM:
        if (p->fast) return lbk__cpu_rows(p, x, o);
        return lbk_backend_error(LBK_ERR_UNSUPPORTED, x->debug, "the cpu reference path runs '%s' only decomposed", lbk_op_name(x->op));
    default:
        if (lbk__cpu_is_ew(x->op)) return lbk__cpu_ew(p, x, o);
        return lbk_backend_error(LBK_ERR_UNSUPPORTED, x->debug, "the cpu reference path has no kernel for '%s'",
                                 lbk_op_name(x->op));
    }
}

static lbk_result lbk__cpu_oom(const lbk__cpu_inst *y) {
    char sh[160];
    lbk_shape_str(sh, sizeof sh, y->dt, y->n_dims, y->dims);
    return lbk_backend_error(LBK_ERR_OOM, y->debug, "cannot allocate %zu bytes for its result %s", y->bytes, sh);
}
static lbk_result lbk__cpu_execute(void *self, lbk_computation *c, lbk_data *const *args, int n_args, lbk_device dev,
                                   lbk_data **out, int out_cap, int *out_n) {
    lbk__cpu *cpu = (lbk__cpu *)self;
    lbk__cpu_prog *p = (lbk__cpu_prog *)c;
    uint32_t i;
    lbk_result r = LBK_OK;
    (void)dev;
    *out_n = 0;
    if ((uint32_t)n_args != p->n_params || out_cap < (int)p->n_outputs)
        return lbk_backend_error(LBK_ERR_ARG, -1, "got %d arguments and room for %d outputs; the graph has %u and %u",
                                 n_args, out_cap, p->n_params, p->n_outputs);
    for (i = 0; i < p->n && r == LBK_OK; i++) {
        lbk__cpu_inst *x = &p->inst[i];
        uint32_t m;
        if (x->param >= 0) {
            p->vals[i] = ((lbk__cpu_buf *)args[x->param])->ptr;
            continue;
        }
        if (x->skip) continue;   /* a transpose its matmul reads in place */
        if (!lbk__cpu_span_runs_at(p, i)) continue;   /* a fused group runs at its last member or tail */
        for (m = lbk__cpu_span_first(p, i); m != UINT32_MAX && r == LBK_OK; m = lbk__cpu_span_next(p, i, m)) {   /* buffers of the values that reach memory */
            lbk__cpu_inst *y = &p->inst[m];
            if (y->param >= 0 || (y->group >= 0 && !y->group_out)) continue;
            if (y->out >= 0) {
                lbk__cpu_buf *b = y->donate >= 0 ? (lbk__cpu_buf *)args[y->donate] : lbk__cpu_alloc(cpu, y->dt, y->n_dims, y->dims);
                if (!b) { r = lbk__cpu_oom(y); break; }
                out[y->out] = (lbk_data *)b;
                p->vals[m] = b->ptr;
            } else {
                if (!p->slot_buf[y->slot]) {
                    int64_t n1 = (int64_t)p->slot_bytes[y->slot];
                    p->slot_buf[y->slot] = lbk__cpu_alloc(cpu, LBK_BOOL, 1, &n1);
                    if (!p->slot_buf[y->slot]) { r = lbk__cpu_oom(y); break; }
                }
                p->vals[m] = p->slot_buf[y->slot]->ptr;
            }
        }
        if (r != LBK_OK) break;
        if (x->group < 0) r = lbk__cpu_run_node(p, i, p->vals[i]);
        else if (p->groups[x->group].head >= 0) {
            uint32_t h = (uint32_t)p->groups[x->group].head;
            r = lbk__cpu_matmul_fast(p, &p->inst[h], p->vals[h], &p->groups[x->group]);
        } else r = lbk__cpu_group_run(p, &p->groups[x->group]);
    }
    if (r != LBK_OK) {
        for (i = 0; i < p->n; i++)
            if (p->inst[i].out >= 0 && out[p->inst[i].out]) {   /* a donated buffer stays its parameter's */
                if (p->inst[i].donate < 0) lbk__cpu_buf_free(cpu, (lbk__cpu_buf *)out[p->inst[i].out]);
                out[p->inst[i].out] = NULL;
            }
        return r;
    }
    *out_n = (int)p->n_outputs;
    lbk__lock(&cpu->lock);
    cpu->executions++;
    lbk__unlock(&cpu->lock);
    return LBK_OK;
}

/* The reference path runs every primitive; composites reach it decomposed, so that the
   oracle for them is their decomposition. The fast path runs softmax, log_softmax,
   logsumexp (over the last axis), layer_norm and rms_norm whole. */
static bool lbk__cpu_supports(void *self, const lbk_graph *g, uint32_t i) {
    if (lbk_op_schema(lbk_graph_node(g, i).op) == NULL) return true;
    return lbk__cpu_fast((lbk__cpu *)self) && lbk__cpu_runs_whole(g, i);
}
static int lbk__cpu_device_type(void *self) { (void)self; return LBK_DEVICE_CPU; }
static int lbk__cpu_ordinal(void *self) { return ((lbk__cpu *)self)->default_ordinal; }
static void lbk__cpu_set_ordinal(void *self, int ordinal) { if (ordinal == 0) ((lbk__cpu *)self)->default_ordinal = 0; }
static int lbk__cpu_devices(void *self, lbk_device *out, int cap) {
    (void)self;
    if (out && cap > 0) { out[0].type = LBK_DEVICE_CPU; out[0].ordinal = 0; }
    return 1;
}
static lbk_result lbk__cpu_map_device(void *self, int ordinal, lbk_device *out) {
    (void)self;
    if (ordinal != 0) return LBK_ERR_ARG;
    out->type = LBK_DEVICE_CPU;
    out->ordinal = 0;
    return LBK_OK;
}
static void lbk__cpu_set_seed(void *self, lbk_device dev, uint64_t seed) { (void)dev; ((lbk__cpu *)self)->seed = seed; }
static const char *lbk__cpu_report(void *self) {
    lbk__cpu *cpu = (lbk__cpu *)self;
    lbk__lock(&cpu->lock);
    snprintf(cpu->report, sizeof cpu->report,
             "  path: %s\n  compiles: %lld\n  executions: %lld\n  buffer_allocations: %lld\n  pool_hits: %lld\n"
             "  pool_buffers: %d\n  pool_bytes: %zu\n  small_buffers: %d\n",
             lbk__cpu_fast(cpu) ? "fast (fused elementwise groups)" : "reference",
             (long long)cpu->compiles, (long long)cpu->executions, (long long)cpu->allocs, (long long)cpu->pool_hits,
             cpu->n_pool, cpu->pool_bytes, cpu->n_small_free);
    lbk__unlock(&cpu->lock);
    return cpu->report;
}
static void lbk__cpu_exit(void *self) {
    lbk__cpu *cpu = (lbk__cpu *)self;
    int i;
    lbk__lock(&cpu->lock);
    for (i = 0; i < cpu->n_pool; i++) { lbk__free(cpu->pool[i]->raw); lbk__free(cpu->pool[i]); }
    cpu->n_pool = 0;
    cpu->pool_bytes = 0;
    while (cpu->small_free) {
        lbk__cpu_buf *b = cpu->small_free;
        cpu->small_free = b->next;
        lbk__free(b);
    }
    cpu->n_small_free = 0;
    lbk__unlock(&cpu->lock);
}

static lbk_backend_i lbk__cpu_iface(void) {
    lbk_backend_i b;
    memset(&b, 0, sizeof b);
    b.struct_size = sizeof b;
    b.abi_version = LBK_BACKEND_ABI;
    b.name = "cpu";
    b.prepare_to_exit = lbk__cpu_exit;
    b.set_rng_seed = lbk__cpu_set_seed;
    b.data_from_host = lbk__cpu_from_host;
    b.data_from_scalar = lbk__cpu_from_scalar;
    b.data_placeholder = lbk__cpu_placeholder;
    b.data_to_host = lbk__cpu_to_host;
    b.data_free = lbk__cpu_data_free;
    b.compile = lbk__cpu_compile;
    b.computation_free = lbk__cpu_prog_free;
    b.execute_computation = lbk__cpu_execute;
    b.computation_text = lbk__cpu_text;
    b.default_device_type = lbk__cpu_device_type;
    b.default_device_ordinal = lbk__cpu_ordinal;
    b.set_default_device_ordinal = lbk__cpu_set_ordinal;
    b.fallback_device_type = lbk__cpu_device_type;
    b.devices = lbk__cpu_devices;
    b.map_device = lbk__cpu_map_device;
    b.metric_report = lbk__cpu_report;
    b.supports_op = lbk__cpu_supports;
    b.data_wrap_host = lbk__cpu_wrap_host;
    b.data_host_ptr = lbk__cpu_host_ptr;
    b.computation_group = lbk__cpu_group_of;
    b.computation_memory = lbk__cpu_prog_memory;
    return b;
}
#endif /* LAZYBK_NO_CPU_BACKEND */

// >>backend-cuda -----------------------------------------------------------------------
/* The CUDA backend (compiled in with LAZYBK_CUDA; needs cuda.h, nvrtc.h and cublasLt.h on
   the include path, nothing to link). The driver (libcuda.so.1), NVRTC, cuBLAS and (if
   present) cuBLASLt are opened at run time with dlopen, so a program built with it starts
   and runs on the cpu backend on a machine without an NVIDIA driver: "cuda" is then
   registered but not available, with the reason. Per device (cuda:N): the primary
   context, a transfer stream, a memory pool, pinned staging buffers; per lazybk context:
   a stream and cuBLAS handle (lbk_exec_context / context_release). Each graph becomes one
   CUDA C source generated from the IR (a kernel per fused run of elementwise nodes of
   one shape, per reduction — two-phase when large, with its producing group computed
   inside — per data movement op), compiled by NVRTC for the device's architecture (or
   read from $LAZYBK_CUDA_CACHE) and cached with the graph; float matmuls go to cuBLAS
   (transposes read in place, a bias as a cuBLASLt epilogue). Everything else is declined
   through supports_op: composites are decomposed, other nodes (integer arithmetic,
   argmax, rand) run on the cpu fallback. tests/cuda/fake emulates a device on the host
   for the tests (make cuda). */
#ifdef LAZYBK_CUDA
#ifdef __cplusplus
}   /* the CUDA headers bring C++ templates of their own: outside extern "C" */
#endif
#include <cuda.h>
#include <nvrtc.h>
#if !defined(__cplusplus) && (defined(__GNUC__) || defined(__clang__))
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wstrict-prototypes"   /* cublasLt.h declares f() */
#  include <cublasLt.h>
#  pragma GCC diagnostic pop
#else
#  include <cublasLt.h>
#endif
#include <dlfcn.h>
#include <time.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct lbk__cublas_ctx *lbk__cublas_t;   /* cublasHandle_t, from its ABI */
#define LBK__CU_MAX_DEVICES 16
#define LBK__CU_STAGE (4u << 20)                 /* bytes per pinned staging buffer (two per device) */
/* A freed device block, kept for reuse; last is the stream that used it last (NULL: idle). */
typedef struct lbk__cu_free { CUdeviceptr p; size_t bytes; CUstream last; } lbk__cu_free;
/* A context's stream (and the cuBLAS handle bound to it), made on its first execute. */
typedef struct lbk__cu_stream { const lbk_ctx *ctx; CUstream s; lbk__cublas_t blas; } lbk__cu_stream;
/* One device, set up on first use: its primary context, a stream for transfers (and for
   work that comes with no context), the memory pool, pinned staging, the contexts' streams. */
typedef struct lbk__cu_dev {
    bool tried, ok;
    char reason[256];
    CUdevice dev;
    CUcontext cuctx;
    CUstream stream;
    lbk__cublas_t blas;
    cublasLtHandle_t lt;          /* NULL: no cuBLASLt */
    int cc_major, cc_minor;
    char name[256];
    size_t mem;
    lbk__cu_free pool[64];
    int n_pool;
    lbk__cu_stream *streams;
    size_t n_streams, cap_streams;
    void *stage[2];               /* pinned host memory, LBK__CU_STAGE bytes each (NULL: none) */
    CUevent stage_ev[2];
    bool stage_tried;
    lbk__mutex stage_lock;
    int64_t launches, bytes_h2d, bytes_d2h, staged, pool_hits, allocs, compiles, nvrtc_compiles, disk_hits, lt_epilogues, epilogue_kernels;
} lbk__cu_dev;
typedef struct lbk__cu {
    bool tried, ok;
    char reason[512];
    void *h_cuda, *h_nvrtc, *h_cublas;
    /* driver */
    CUresult (*init)(unsigned);
    CUresult (*driver_version)(int *);
    CUresult (*device_count)(int *);
    CUresult (*device_get)(CUdevice *, int);
    CUresult (*device_name)(char *, int, CUdevice);
    CUresult (*device_mem)(size_t *, CUdevice);
    CUresult (*device_attr)(int *, CUdevice_attribute, CUdevice);
    CUresult (*ctx_retain)(CUcontext *, CUdevice);
    CUresult (*ctx_release)(CUdevice);
    CUresult (*ctx_set)(CUcontext);
    CUresult (*mem_alloc)(CUdeviceptr *, size_t);
    CUresult (*mem_free)(CUdeviceptr);
    CUresult (*host_alloc)(void **, size_t, unsigned);
    CUresult (*host_free)(void *);
    CUresult (*htod)(CUdeviceptr, const void *, size_t);
    CUresult (*dtoh)(void *, CUdeviceptr, size_t);
    CUresult (*htod_async)(CUdeviceptr, const void *, size_t, CUstream);
    CUresult (*dtoh_async)(void *, CUdeviceptr, size_t, CUstream);
    CUresult (*memset_async)(CUdeviceptr, unsigned char, size_t, CUstream);
    CUresult (*mem_info)(size_t *, size_t *);
    CUresult (*module_load)(CUmodule *, const void *);
    CUresult (*module_fn)(CUfunction *, CUmodule, const char *);
    CUresult (*module_unload)(CUmodule);
    CUresult (*launch)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void **, void **);
    CUresult (*stream_create)(CUstream *, unsigned);
    CUresult (*stream_destroy)(CUstream);
    CUresult (*stream_sync)(CUstream);
    CUresult (*event_create)(CUevent *, unsigned);
    CUresult (*event_destroy)(CUevent);
    CUresult (*event_record)(CUevent, CUstream);
    CUresult (*event_sync)(CUevent);
    CUresult (*error_string)(CUresult, const char **);
    /* NVRTC */
    nvrtcResult (*prog_create)(nvrtcProgram *, const char *, const char *, int, const char *const *, const char *const *);
    nvrtcResult (*prog_compile)(nvrtcProgram, int, const char *const *);
    nvrtcResult (*ptx_size)(nvrtcProgram, size_t *);
    nvrtcResult (*ptx)(nvrtcProgram, char *);
    nvrtcResult (*log_size)(nvrtcProgram, size_t *);
    nvrtcResult (*log)(nvrtcProgram, char *);
    nvrtcResult (*prog_destroy)(nvrtcProgram *);
    const char *(*nvrtc_error)(nvrtcResult);
    /* cuBLAS */
    int (*blas_create)(lbk__cublas_t *);
    int (*blas_destroy)(lbk__cublas_t);
    int (*blas_stream)(lbk__cublas_t, CUstream);
    int (*sgemm)(lbk__cublas_t, int, int, int, int, int, const float *, const float *, int, long long, const float *, int, long long,
                 const float *, float *, int, long long, int);
    int (*dgemm)(lbk__cublas_t, int, int, int, int, int, const double *, const double *, int, long long, const double *, int,
                 long long, const double *, double *, int, long long, int);
    /* cuBLASLt (optional: products with a bias epilogue) */
    bool has_lt;
    cublasStatus_t (*lt_create)(cublasLtHandle_t *);
    cublasStatus_t (*lt_destroy)(cublasLtHandle_t);
    cublasStatus_t (*lt_desc_create)(cublasLtMatmulDesc_t *, cublasComputeType_t, cudaDataType_t);
    cublasStatus_t (*lt_desc_destroy)(cublasLtMatmulDesc_t);
    cublasStatus_t (*lt_desc_set)(cublasLtMatmulDesc_t, cublasLtMatmulDescAttributes_t, const void *, size_t);
    cublasStatus_t (*lt_layout_create)(cublasLtMatrixLayout_t *, cudaDataType, uint64_t, uint64_t, int64_t);
    cublasStatus_t (*lt_layout_destroy)(cublasLtMatrixLayout_t);
    cublasStatus_t (*lt_layout_set)(cublasLtMatrixLayout_t, cublasLtMatrixLayoutAttribute_t, const void *, size_t);
    cublasStatus_t (*lt_matmul)(cublasLtHandle_t, cublasLtMatmulDesc_t, const void *, const void *, cublasLtMatrixLayout_t, const void *,
                                cublasLtMatrixLayout_t, const void *, const void *, cublasLtMatrixLayout_t, void *, cublasLtMatrixLayout_t,
                                const cublasLtMatmulAlgo_t *, void *, size_t, cudaStream_t);
    /* the devices */
    int n_devices, default_ordinal, driver;
    lbk__cu_dev devs[LBK__CU_MAX_DEVICES];
    double nvrtc_ms;
    lbk__str report;
} lbk__cu;
static lbk__cu lbk__cu_self;
static lbk__mutex lbk__cu_lock = LBK__MUTEX_INIT;   /* guards lbk__cu_self but the staging buffers */

/* Opens the first library of names that dlopen finds. */
static void *lbk__cu_open(const char *const *names) {
    int i;
    for (i = 0; names[i]; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    return NULL;
}
#define LBK__CU_SYM(h, field, name)                                                                           \
    do {                                                                                                      \
        *(void **)(&cu->field) = dlsym(h, name);                                                              \
        if (!cu->field) { snprintf(cu->reason, sizeof cu->reason, "symbol %s not found in its library", name); return false; } \
    } while (0)
/* NVRTC alone: enough to generate and compile kernels (tests do so without a GPU). */
static bool lbk__cu_load_nvrtc(lbk__cu *cu) {
    static const char *const nvrtc[] = {"libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "/usr/local/cuda/lib64/libnvrtc.so", NULL};
    if (cu->h_nvrtc) return true;
    if (!(cu->h_nvrtc = lbk__cu_open(nvrtc))) { snprintf(cu->reason, sizeof cu->reason, "NVRTC (libnvrtc.so) not found"); return false; }
    LBK__CU_SYM(cu->h_nvrtc, prog_create, "nvrtcCreateProgram");
    LBK__CU_SYM(cu->h_nvrtc, prog_compile, "nvrtcCompileProgram");
    LBK__CU_SYM(cu->h_nvrtc, ptx_size, "nvrtcGetPTXSize");
    LBK__CU_SYM(cu->h_nvrtc, ptx, "nvrtcGetPTX");
    LBK__CU_SYM(cu->h_nvrtc, log_size, "nvrtcGetProgramLogSize");
    LBK__CU_SYM(cu->h_nvrtc, log, "nvrtcGetProgramLog");
    LBK__CU_SYM(cu->h_nvrtc, prog_destroy, "nvrtcDestroyProgram");
    LBK__CU_SYM(cu->h_nvrtc, nvrtc_error, "nvrtcGetErrorString");
    return true;
}
static const char *lbk__cu_err(const lbk__cu *cu, CUresult e) {
    const char *s = NULL;
    if (cu->error_string) cu->error_string(e, &s);
    return s ? s : "unknown CUDA error";
}
/* cuBLASLt, when its library is there: products whose only reader adds a bias take it as
   their epilogue. Without it they run as a product and a kernel. */
static bool lbk__cu_load_lt(lbk__cu *cu) {
    static const char *const lt[] = {"libcublasLt.so", "libcublasLt.so.13", "libcublasLt.so.12", "/usr/local/cuda/lib64/libcublasLt.so", NULL};
    void *h = lbk__cu_open(lt);
    if (!h) return false;
    LBK__CU_SYM(h, lt_create, "cublasLtCreate");
    LBK__CU_SYM(h, lt_destroy, "cublasLtDestroy");
    LBK__CU_SYM(h, lt_desc_create, "cublasLtMatmulDescCreate");
    LBK__CU_SYM(h, lt_desc_destroy, "cublasLtMatmulDescDestroy");
    LBK__CU_SYM(h, lt_desc_set, "cublasLtMatmulDescSetAttribute");
    LBK__CU_SYM(h, lt_layout_create, "cublasLtMatrixLayoutCreate");
    LBK__CU_SYM(h, lt_layout_destroy, "cublasLtMatrixLayoutDestroy");
    LBK__CU_SYM(h, lt_layout_set, "cublasLtMatrixLayoutSetAttribute");
    LBK__CU_SYM(h, lt_matmul, "cublasLtMatmul");
    return true;
}
/* Loads the libraries and initialises the driver; false with a reason. */
static bool lbk__cu_load_locked(lbk__cu *cu) {
    static const char *const cuda[] = {"libcuda.so.1", "libcuda.so", NULL};
    static const char *const cublas[] = {"libcublas.so", "libcublas.so.13", "libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so", NULL};
    CUresult e;
    int n = 0;
    if (!(cu->h_cuda = lbk__cu_open(cuda))) { snprintf(cu->reason, sizeof cu->reason, "the NVIDIA driver library (libcuda.so.1) was not found"); return false; }
    LBK__CU_SYM(cu->h_cuda, error_string, "cuGetErrorString");
    LBK__CU_SYM(cu->h_cuda, init, "cuInit");
    LBK__CU_SYM(cu->h_cuda, driver_version, "cuDriverGetVersion");
    LBK__CU_SYM(cu->h_cuda, device_count, "cuDeviceGetCount");
    LBK__CU_SYM(cu->h_cuda, device_get, "cuDeviceGet");
    LBK__CU_SYM(cu->h_cuda, device_name, "cuDeviceGetName");
    LBK__CU_SYM(cu->h_cuda, device_mem, "cuDeviceTotalMem_v2");
    LBK__CU_SYM(cu->h_cuda, device_attr, "cuDeviceGetAttribute");
    LBK__CU_SYM(cu->h_cuda, ctx_retain, "cuDevicePrimaryCtxRetain");
    LBK__CU_SYM(cu->h_cuda, ctx_release, "cuDevicePrimaryCtxRelease_v2");
    LBK__CU_SYM(cu->h_cuda, ctx_set, "cuCtxSetCurrent");
    LBK__CU_SYM(cu->h_cuda, mem_alloc, "cuMemAlloc_v2");
    LBK__CU_SYM(cu->h_cuda, mem_free, "cuMemFree_v2");
    LBK__CU_SYM(cu->h_cuda, host_alloc, "cuMemHostAlloc");
    LBK__CU_SYM(cu->h_cuda, host_free, "cuMemFreeHost");
    LBK__CU_SYM(cu->h_cuda, htod, "cuMemcpyHtoD_v2");
    LBK__CU_SYM(cu->h_cuda, dtoh, "cuMemcpyDtoH_v2");
    LBK__CU_SYM(cu->h_cuda, htod_async, "cuMemcpyHtoDAsync_v2");
    LBK__CU_SYM(cu->h_cuda, dtoh_async, "cuMemcpyDtoHAsync_v2");
    LBK__CU_SYM(cu->h_cuda, memset_async, "cuMemsetD8Async");
    LBK__CU_SYM(cu->h_cuda, mem_info, "cuMemGetInfo_v2");
    LBK__CU_SYM(cu->h_cuda, module_load, "cuModuleLoadData");
    LBK__CU_SYM(cu->h_cuda, module_fn, "cuModuleGetFunction");
    LBK__CU_SYM(cu->h_cuda, module_unload, "cuModuleUnload");
    LBK__CU_SYM(cu->h_cuda, launch, "cuLaunchKernel");
    LBK__CU_SYM(cu->h_cuda, stream_create, "cuStreamCreate");
    LBK__CU_SYM(cu->h_cuda, stream_destroy, "cuStreamDestroy_v2");
    LBK__CU_SYM(cu->h_cuda, stream_sync, "cuStreamSynchronize");
    LBK__CU_SYM(cu->h_cuda, event_create, "cuEventCreate");
    LBK__CU_SYM(cu->h_cuda, event_destroy, "cuEventDestroy_v2");
    LBK__CU_SYM(cu->h_cuda, event_record, "cuEventRecord");
    LBK__CU_SYM(cu->h_cuda, event_sync, "cuEventSynchronize");
    if ((e = cu->init(0)) != CUDA_SUCCESS) { snprintf(cu->reason, sizeof cu->reason, "cuInit failed: %s", lbk__cu_err(cu, e)); return false; }
    if ((e = cu->device_count(&n)) != CUDA_SUCCESS || n < 1) {
        snprintf(cu->reason, sizeof cu->reason, "no CUDA device (%s)", e == CUDA_SUCCESS ? "count 0" : lbk__cu_err(cu, e));
        return false;
    }
    cu->n_devices = LBK__MIN(n, LBK__CU_MAX_DEVICES);
    cu->driver_version(&cu->driver);
    if (cu->default_ordinal >= cu->n_devices) cu->default_ordinal = 0;
    if (!lbk__cu_load_nvrtc(cu)) return false;
    if (!(cu->h_cublas = lbk__cu_open(cublas))) { snprintf(cu->reason, sizeof cu->reason, "cuBLAS (libcublas.so) not found"); return false; }
    LBK__CU_SYM(cu->h_cublas, blas_create, "cublasCreate_v2");
    LBK__CU_SYM(cu->h_cublas, blas_destroy, "cublasDestroy_v2");
    LBK__CU_SYM(cu->h_cublas, blas_stream, "cublasSetStream_v2");
    LBK__CU_SYM(cu->h_cublas, sgemm, "cublasSgemmStridedBatched");
    LBK__CU_SYM(cu->h_cublas, dgemm, "cublasDgemmStridedBatched");
    cu->has_lt = lbk__cu_load_lt(cu);
    cu->reason[0] = 0;   /* a missing cuBLASLt symbol is no reason against the backend */
    return true;
}
#undef LBK__CU_SYM
/* Sets up device ordinal (its primary context, a stream, cuBLAS); false with a reason. */
static bool lbk__cu_dev_setup_locked(lbk__cu *cu, int ordinal) {
    lbk__cu_dev *d = &cu->devs[ordinal];
    CUresult e;
    if ((e = cu->device_get(&d->dev, ordinal)) != CUDA_SUCCESS || (e = cu->ctx_retain(&d->cuctx, d->dev)) != CUDA_SUCCESS) {
        snprintf(d->reason, sizeof d->reason, "cannot set up device %d: %s", ordinal, lbk__cu_err(cu, e));
        return false;
    }
    if ((e = cu->ctx_set(d->cuctx)) != CUDA_SUCCESS || (e = cu->stream_create(&d->stream, 0)) != CUDA_SUCCESS) {
        snprintf(d->reason, sizeof d->reason, "cannot set up device %d: %s", ordinal, lbk__cu_err(cu, e));
        cu->ctx_release(d->dev);
        return false;
    }
    if ((e = cu->device_name(d->name, (int)sizeof d->name, d->dev)) != CUDA_SUCCESS || (e = cu->device_mem(&d->mem, d->dev)) != CUDA_SUCCESS ||
        (e = cu->device_attr(&d->cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d->dev)) != CUDA_SUCCESS ||
        (e = cu->device_attr(&d->cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d->dev)) != CUDA_SUCCESS ||
        cu->blas_create(&d->blas) != 0 || cu->blas_stream(d->blas, d->stream) != 0) {
        if (e != CUDA_SUCCESS) snprintf(d->reason, sizeof d->reason, "cannot query device %d: %s", ordinal, lbk__cu_err(cu, e));
        else snprintf(d->reason, sizeof d->reason, "cublasCreate failed on device %d", ordinal);
        cu->stream_destroy(d->stream);
        cu->ctx_release(d->dev);
        return false;
    }
    if (cu->has_lt && cu->lt_create(&d->lt) != CUBLAS_STATUS_SUCCESS) d->lt = NULL;
    return true;
}
/* The device of ordinal, set up and made current on this thread; NULL with the reason as
   the backend error. */
/* The device for ordinal, set current on this thread; NULL with the backend error recorded
   (and its result in *out_r, which may be NULL) if it cannot be used. */
static lbk__cu_dev *lbk__cu_use(lbk__cu *cu, int ordinal, lbk_result *out_r) {
    lbk__cu_dev *d = NULL;
    lbk_result r = LBK_OK;
    CUresult e;
    lbk__lock(&lbk__cu_lock);
    if (!cu->tried) { cu->tried = true; cu->ok = lbk__cu_load_locked(cu); }
    if (!cu->ok) r = lbk_backend_error(LBK_ERR_UNAVAILABLE, -1, "backend 'cuda' is not available: %s", cu->reason);
    else if (ordinal < 0 || ordinal >= cu->n_devices) r = lbk_backend_error(LBK_ERR_ARG, -1, "cuda: no device %d (there are %d)", ordinal, cu->n_devices);
    else {
        d = &cu->devs[ordinal];
        if (!d->tried) {
            static const lbk__mutex init = LBK__MUTEX_INIT;
            memcpy(&d->stage_lock, &init, sizeof init);
            d->tried = true;
            d->ok = lbk__cu_dev_setup_locked(cu, ordinal);
        }
        if (!d->ok) { r = lbk_backend_error(LBK_ERR_UNAVAILABLE, -1, "%s", d->reason); d = NULL; }
        else if ((e = cu->ctx_set(d->cuctx)) != CUDA_SUCCESS) {   /* this thread uses the device's primary context */
            r = lbk_backend_error(LBK_ERR_BACKEND, -1, "cuCtxSetCurrent on device %d: %s", ordinal, lbk__cu_err(cu, e));
            d = NULL;
        }
    }
    lbk__unlock(&lbk__cu_lock);
    if (out_r) *out_r = r;
    return d;
}
static bool lbk__cu_available(void *self) { return lbk__cu_use((lbk__cu *)self, ((lbk__cu *)self)->default_ordinal, NULL) != NULL; }
static const char *lbk__cu_reason(void *self) {
    lbk__cu *cu = (lbk__cu *)self;
    return cu->reason[0] ? cu->reason : cu->devs[cu->default_ordinal].reason[0] ? cu->devs[cu->default_ordinal].reason : "not initialised";
}

/* The stream (and cuBLAS handle) work for the executing context runs on: the context's
   own, made on its first use; the device's when no context is executing. */
static lbk_result lbk__cu_stream_of(lbk__cu *cu, lbk__cu_dev *d, CUstream *s, lbk__cublas_t *blas) {
    const lbk_ctx *ctx = lbk_exec_context();
    lbk__cu_stream *st = NULL;
    size_t i;
    CUresult e;
    *s = d->stream;
    *blas = d->blas;
    if (!ctx) return LBK_OK;
    lbk__lock(&lbk__cu_lock);
    for (i = 0; i < d->n_streams; i++)
        if (d->streams[i].ctx == ctx) { st = &d->streams[i]; break; }
    if (!st) {
        if (!LBK__GROW(d->streams, d->cap_streams, d->n_streams + 1)) { lbk__unlock(&lbk__cu_lock); return LBK_ERR_OOM; }
        st = &d->streams[d->n_streams];
        st->ctx = ctx;
        st->blas = NULL;
        if ((e = cu->stream_create(&st->s, 0)) != CUDA_SUCCESS) {
            lbk__unlock(&lbk__cu_lock);
            return lbk_backend_error(LBK_ERR_BACKEND, -1, "cuStreamCreate: %s", lbk__cu_err(cu, e));
        }
        if (cu->blas_create(&st->blas) != 0 || cu->blas_stream(st->blas, st->s) != 0) {
            if (st->blas) cu->blas_destroy(st->blas);
            cu->stream_destroy(st->s);
            lbk__unlock(&lbk__cu_lock);
            return lbk_backend_error(LBK_ERR_BACKEND, -1, "cublasCreate failed");
        }
        d->n_streams++;
    }
    *s = st->s;
    *blas = st->blas;
    lbk__unlock(&lbk__cu_lock);
    return LBK_OK;
}
/* A context is gone: its work is waited for, its stream and cuBLAS handle destroyed, and
   pooled blocks it used last become idle. */
static void lbk__cu_context_release(void *self, lbk_ctx *ctx) {
    lbk__cu *cu = (lbk__cu *)self;
    int o;
    size_t i;
    int k;
    lbk__lock(&lbk__cu_lock);
    for (o = 0; o < cu->n_devices; o++) {
        lbk__cu_dev *d = &cu->devs[o];
        for (i = 0; d->ok && i < d->n_streams; i++) {
            if (d->streams[i].ctx != ctx) continue;
            cu->ctx_set(d->cuctx);
            cu->stream_sync(d->streams[i].s);
            for (k = 0; k < d->n_pool; k++)
                if (d->pool[k].last == d->streams[i].s) d->pool[k].last = NULL;
            cu->blas_destroy(d->streams[i].blas);
            cu->stream_destroy(d->streams[i].s);
            d->streams[i] = d->streams[--d->n_streams];
            break;
        }
    }
    lbk__unlock(&lbk__cu_lock);
}

/* Adds v to one of a device's counters (several threads may run on one device). */
static void lbk__cu_count(int64_t *counter, int64_t v) {
    lbk__lock(&lbk__cu_lock);
    *counter += v;
    lbk__unlock(&lbk__cu_lock);
}

/* ---- device memory: a pool of the 64 blocks freed last per device, by exact size ---- */
typedef struct lbk__cu_buf { CUdeviceptr p; size_t bytes; int ordinal; CUstream last; } lbk__cu_buf;
/* A block of bytes on d for work on stream s; a pooled block last used by another stream
   is waited for first. */
static lbk_result lbk__cu_malloc(lbk__cu *cu, lbk__cu_dev *d, size_t bytes, CUstream s, CUdeviceptr *out) {
    int i;
    CUresult e;
    if (bytes == 0) bytes = 1;
    int pass;
    lbk__lock(&lbk__cu_lock);
    for (pass = 0; pass < 2; pass++)   /* a block idle or of this stream first: no wait */
    for (i = 0; i < d->n_pool; i++)
        if (d->pool[i].bytes == bytes && (pass || !d->pool[i].last || d->pool[i].last == s)) {
            CUstream last = d->pool[i].last;
            *out = d->pool[i].p;
            memmove(&d->pool[i], &d->pool[i + 1], sizeof d->pool[0] * (size_t)(d->n_pool - i - 1));   /* oldest first */
            d->n_pool--;
            d->pool_hits++;
            lbk__unlock(&lbk__cu_lock);
            if (last && last != s && (e = cu->stream_sync(last)) != CUDA_SUCCESS)
                return lbk_backend_error(LBK_ERR_BACKEND, -1, "cuStreamSynchronize: %s", lbk__cu_err(cu, e));
            return LBK_OK;
        }
    d->allocs++;
    e = cu->mem_alloc(out, bytes);
    if (e == CUDA_ERROR_OUT_OF_MEMORY && d->n_pool) {   /* give the pool back and retry */
        for (i = 0; i < d->n_pool; i++) {
            if (d->pool[i].last) cu->stream_sync(d->pool[i].last);
            cu->mem_free(d->pool[i].p);
        }
        d->n_pool = 0;
        e = cu->mem_alloc(out, bytes);
    }
    lbk__unlock(&lbk__cu_lock);
    if (e != CUDA_SUCCESS) return lbk_backend_error(e == CUDA_ERROR_OUT_OF_MEMORY ? LBK_ERR_OOM : LBK_ERR_BACKEND, -1, "cuMemAlloc of %zu bytes: %s", bytes, lbk__cu_err(cu, e));
    return LBK_OK;
}
static void lbk__cu_mfree(lbk__cu *cu, lbk__cu_dev *d, CUdeviceptr p, size_t bytes, CUstream last) {
    if (bytes == 0) bytes = 1;
    lbk__lock(&lbk__cu_lock);
    if (d->n_pool == 64) {   /* full: the block freed longest ago goes back to the driver */
        if (d->pool[0].last) cu->stream_sync(d->pool[0].last);
        cu->mem_free(d->pool[0].p);
        memmove(&d->pool[0], &d->pool[1], sizeof d->pool[0] * 63);
        d->n_pool--;
    }
    d->pool[d->n_pool].p = p; d->pool[d->n_pool].bytes = bytes; d->pool[d->n_pool].last = last;
    d->n_pool++;
    lbk__unlock(&lbk__cu_lock);
}

/* ---- transfers: small ones directly, large ones through two pinned staging buffers, so
   the host copy of one chunk overlaps the DMA of the other ---- */
static bool lbk__cu_stage_ready(lbk__cu *cu, lbk__cu_dev *d) {   /* under d->stage_lock */
    int k;
    if (d->stage_tried) return d->stage[0] != NULL;
    d->stage_tried = true;
    for (k = 0; k < 2; k++)
        if (cu->host_alloc(&d->stage[k], LBK__CU_STAGE, 0) != CUDA_SUCCESS || cu->event_create(&d->stage_ev[k], CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS ||
            cu->event_record(d->stage_ev[k], d->stream) != CUDA_SUCCESS) {
            for (; k >= 0; k--) {
                if (d->stage[k]) cu->host_free(d->stage[k]);
                d->stage[k] = NULL;
            }
            return false;   /* no pinned memory: plain copies */
        }
    return true;
}
static CUresult lbk__cu_copy_htod(lbk__cu *cu, lbk__cu_dev *d, CUdeviceptr dst, const void *src, size_t bytes) {
    CUresult e = CUDA_SUCCESS;
    size_t off;
    int k = 0;
    lbk__lock(&d->stage_lock);
    if (bytes < 2 * (size_t)LBK__CU_STAGE || !lbk__cu_stage_ready(cu, d)) {
        lbk__unlock(&d->stage_lock);
        return cu->htod(dst, src, bytes);
    }
    for (off = 0; off < bytes && e == CUDA_SUCCESS; off += LBK__CU_STAGE, k ^= 1) {
        size_t n = LBK__MIN((size_t)LBK__CU_STAGE, bytes - off);
        if ((e = cu->event_sync(d->stage_ev[k])) != CUDA_SUCCESS) break;   /* the DMA out of this buffer is done */
        memcpy(d->stage[k], (const char *)src + off, n);
        if ((e = cu->htod_async(dst + off, d->stage[k], n, d->stream)) == CUDA_SUCCESS) e = cu->event_record(d->stage_ev[k], d->stream);
    }
    if (e == CUDA_SUCCESS) e = cu->stream_sync(d->stream);
    lbk__unlock(&d->stage_lock);
    lbk__cu_count(&d->staged, (int64_t)bytes);
    return e;
}
static CUresult lbk__cu_copy_dtoh(lbk__cu *cu, lbk__cu_dev *d, void *dst, CUdeviceptr src, size_t bytes) {
    CUresult e = CUDA_SUCCESS;
    size_t off, prev = 0, prev_n = 0;
    int k = 0;
    lbk__lock(&d->stage_lock);
    if (bytes < 2 * (size_t)LBK__CU_STAGE || !lbk__cu_stage_ready(cu, d)) {
        lbk__unlock(&d->stage_lock);
        return cu->dtoh(dst, src, bytes);
    }
    for (off = 0; e == CUDA_SUCCESS; off += LBK__CU_STAGE, k ^= 1) {
        size_t n = off < bytes ? LBK__MIN((size_t)LBK__CU_STAGE, bytes - off) : 0;
        if (n && (e = cu->dtoh_async(d->stage[k], src + off, n, d->stream)) == CUDA_SUCCESS) e = cu->event_record(d->stage_ev[k], d->stream);
        if (e == CUDA_SUCCESS && prev_n) {   /* while that chunk moves, the previous one is copied out */
            if ((e = cu->event_sync(d->stage_ev[k ^ 1])) == CUDA_SUCCESS) memcpy((char *)dst + prev, d->stage[k ^ 1], prev_n);
        }
        prev = off;
        prev_n = n;
        if (!n) break;
    }
    lbk__unlock(&d->stage_lock);
    lbk__cu_count(&d->staged, (int64_t)bytes);
    return e;
}
/* New data of bytes on device ordinal, holding src (NULL: unspecified). A scalar is copied
   on the legacy stream without waiting: the driver stages a pageable source before
   returning, and every stream lazybk makes is a blocking one, so the kernels that read it
   are ordered after the copy. Larger data is copied before this returns. */
static lbk_result lbk__cu_upload(lbk__cu *cu, int ordinal, size_t bytes, const void *src, bool scalar, lbk_data **out) {
    lbk_result use_r = LBK_OK;
    lbk__cu_dev *d = lbk__cu_use(cu, ordinal, &use_r);
    lbk__cu_buf *b;
    lbk_result r;
    CUresult e = CUDA_SUCCESS;
    if (!d) return use_r;
    if (!(b = (lbk__cu_buf *)lbk__malloc(sizeof *b))) return LBK_ERR_OOM;
    b->ordinal = ordinal;
    b->last = NULL;
    b->bytes = bytes;
    if ((r = lbk__cu_malloc(cu, d, bytes, scalar ? NULL : d->stream, &b->p)) != LBK_OK) { lbk__free(b); return r; }
    if (bytes && src) e = scalar ? cu->htod_async(b->p, src, bytes, NULL) : lbk__cu_copy_htod(cu, d, b->p, src, bytes);
    if (e != CUDA_SUCCESS) {
        lbk__cu_mfree(cu, d, b->p, bytes, NULL);
        lbk__free(b);
        return lbk_backend_error(LBK_ERR_BACKEND, -1, "cuMemcpyHtoD of %zu bytes: %s", bytes, lbk__cu_err(cu, e));
    }
    if (src) lbk__cu_count(&d->bytes_h2d, (int64_t)bytes);
    *out = (lbk_data *)b;
    return LBK_OK;
}
static lbk_result lbk__cu_from_host(void *self, lbk_device dev, lbk_dtype dt, int n_dims, const int64_t *dims, const void *src, lbk_data **out) {
    return lbk__cu_upload((lbk__cu *)self, dev.ordinal, (size_t)lbk_shape_numel(n_dims, dims) * lbk_dtype_size(dt), src, false, out);
}
static lbk_result lbk__cu_from_scalar(void *self, lbk_device dev, lbk_dtype dt, const void *value, lbk_data **out) {
    return lbk__cu_upload((lbk__cu *)self, dev.ordinal, lbk_dtype_size(dt), value, true, out);
}
static lbk_result lbk__cu_placeholder(void *self, lbk_device dev, lbk_dtype dt, int n_dims, const int64_t *dims, lbk_data **out) {
    return lbk__cu_from_host(self, dev, dt, n_dims, dims, NULL, out);
}
static lbk_result lbk__cu_to_host(void *self, lbk_data *data, void *dst, size_t dst_bytes) {
    lbk__cu *cu = (lbk__cu *)self;
    lbk__cu_buf *b = (lbk__cu_buf *)data;
    lbk_result use_r = LBK_OK;
    lbk__cu_dev *d = lbk__cu_use(cu, b->ordinal, &use_r);
    CUresult e = CUDA_SUCCESS;
    if (!d) return use_r;
    if (dst_bytes > b->bytes) return lbk_backend_error(LBK_ERR_ARG, -1, "cuda: %zu bytes asked of data of %zu", dst_bytes, b->bytes);
    if (dst_bytes && ((b->last && (e = cu->stream_sync(b->last)) != CUDA_SUCCESS) || (e = lbk__cu_copy_dtoh(cu, d, dst, b->p, dst_bytes)) != CUDA_SUCCESS))
        return lbk_backend_error(LBK_ERR_BACKEND, -1, "cuMemcpyDtoH of %zu bytes: %s", dst_bytes, lbk__cu_err(cu, e));
    lbk__cu_count(&d->bytes_d2h, (int64_t)dst_bytes);
    return LBK_OK;
}
static void lbk__cu_data_free(void *self, lbk_data *data) {
    lbk__cu *cu = (lbk__cu *)self;
    lbk__cu_buf *b = (lbk__cu_buf *)data;
    lbk__cu_dev *d = lbk__cu_use(cu, b->ordinal, NULL);
    if (d) lbk__cu_mfree(cu, d, b->p, b->bytes, b->last);
    lbk__free(b);
}

/* ---- code generation ---- */
static const char *lbk__cu_ctype(lbk_dtype dt) {
    switch (dt) { case LBK_F32: return "float"; case LBK_F64: return "double"; case LBK_I32: return "int"; case LBK_I64: return "long long"; default: return "unsigned char"; }
}
/* Whether cuBLAS strided batches can run product x = a @ b: each operand's batch dims
   whole or all broadcast. */
static bool lbk__cu_batches_ok(const lbk_node *x, const lbk_node *a, const lbk_node *b) {
    int64_t batches = lbk_shape_numel(x->n_dims - 2, x->dims), ba = lbk_shape_numel(a->n_dims - 2, a->dims), bb = lbk_shape_numel(b->n_dims - 2, b->dims);
    return (ba == 1 || ba == batches) && (bb == 1 || bb == batches);
}
/* What the CUDA backend runs itself. */
static bool lbk__cu_float(lbk_dtype dt) { return dt == LBK_F32 || dt == LBK_F64; }
static bool lbk__cu_ew_expr(lbk__str *s, lbk_op op, const char *ct, bool f32, const char *a, const char *b, const char *c);
/* An elementwise op (by its kind) the generator has a CUDA C expression for. */
static bool lbk__cu_is_ew(lbk_op op) {
    lbk_op_kind k = lbk_op_kind_of(op);
    lbk__str probe = {NULL, 0, 0, false};
    bool known;
    if (k != LBK_OPKIND_UNARY && k != LBK_OPKIND_BINARY && k != LBK_OPKIND_COMPARE && k != LBK_OPKIND_LOGIC &&
        k != LBK_OPKIND_SELECT && k != LBK_OPKIND_CAST)
        return false;
    known = lbk__cu_ew_expr(&probe, op, "float", true, "a", "b", "c");
    lbk__str_free(&probe);
    return known;
}
/* The dtypes the generator has C types for; a node with another in it or its inputs is
   declined (it runs on the cpu fallback). */
static bool lbk__cu_dtype(lbk_dtype dt) { return dt == LBK_F32 || dt == LBK_F64 || dt == LBK_I32 || dt == LBK_I64 || dt == LBK_BOOL; }
static bool lbk__cu_runs(const lbk_graph *g, uint32_t i) {
    lbk_node n = lbk_graph_node(g, i);
    lbk_dtype in_dt = n.n_inputs ? lbk_graph_node(g, n.inputs[n.op == LBK_OP_WHERE ? 1 : 0]).dtype : n.dtype;
    int k;
    if (n.op == LBK_OP_PARAM) return true;   /* data: moved to where its readers run */
    if (!lbk__cu_dtype(n.dtype)) return false;
    for (k = 0; k < n.n_inputs; k++)
        if (!lbk__cu_dtype(lbk_graph_node(g, n.inputs[k]).dtype)) return false;
    switch (n.op) {
    case LBK_OP_PARAM: return true;
    case LBK_OP_EQ: case LBK_OP_NE: case LBK_OP_LT: case LBK_OP_LE: case LBK_OP_GT: case LBK_OP_GE: return lbk__cu_float(in_dt);
    case LBK_OP_LOGICAL_AND: case LBK_OP_LOGICAL_OR: case LBK_OP_LOGICAL_NOT: return true;
    case LBK_OP_CAST: return lbk__cu_float(n.dtype) || (n.dtype == LBK_BOOL);   /* to float, or != 0 */
    case LBK_OP_SUM: case LBK_OP_MEAN: case LBK_OP_AMAX: case LBK_OP_AMIN: return lbk__cu_float(n.dtype) && lbk__cu_float(in_dt);
    case LBK_OP_MATMUL: {
        lbk_node a = lbk_graph_node(g, n.inputs[0]), b = lbk_graph_node(g, n.inputs[1]);
        return lbk__cu_float(n.dtype) && lbk__cu_float(in_dt) && lbk__cu_batches_ok(&n, &a, &b);
    }
    case LBK_OP_RESHAPE: case LBK_OP_PERMUTE: case LBK_OP_EXPAND: case LBK_OP_SLICE: case LBK_OP_CONCAT: return true;
    case LBK_OP_ARANGE: return lbk__cu_float(n.dtype);
    default: return lbk__cu_is_ew(n.op) && lbk__cu_float(n.dtype);
    }
}
static bool lbk__cu_supports(void *self, const lbk_graph *g, uint32_t i) { (void)self; return lbk__cu_runs(g, i); }

/* The expression of elementwise node n over operands a, b, c (C expressions of type ct);
   false for an op it has none for (lbk__cu_is_ew then declines it). */
static bool lbk__cu_ew_expr(lbk__str *s, lbk_op op, const char *ct, bool f32, const char *a, const char *b, const char *c) {
    const char *sfx = f32 ? "f" : "";
    switch (op) {
    case LBK_OP_ADD: lbk__str_append(s, "%s + %s", a, b); break;
    case LBK_OP_SUB: lbk__str_append(s, "%s - %s", a, b); break;
    case LBK_OP_MUL: lbk__str_append(s, "%s * %s", a, b); break;
    case LBK_OP_DIV: lbk__str_append(s, "%s / %s", a, b); break;
    case LBK_OP_POW: lbk__str_append(s, "pow%s(%s, %s)", sfx, a, b); break;
    case LBK_OP_MAXIMUM: lbk__str_append(s, "lbk_max(%s, %s)", a, b); break;
    case LBK_OP_MINIMUM: lbk__str_append(s, "lbk_min(%s, %s)", a, b); break;
    case LBK_OP_EQ: lbk__str_append(s, "(%s == %s)", a, b); break;
    case LBK_OP_NE: lbk__str_append(s, "(%s != %s)", a, b); break;
    case LBK_OP_LT: lbk__str_append(s, "(%s < %s)", a, b); break;
    case LBK_OP_LE: lbk__str_append(s, "(%s <= %s)", a, b); break;
    case LBK_OP_GT: lbk__str_append(s, "(%s > %s)", a, b); break;
    case LBK_OP_GE: lbk__str_append(s, "(%s >= %s)", a, b); break;
    case LBK_OP_LOGICAL_AND: lbk__str_append(s, "(%s && %s)", a, b); break;
    case LBK_OP_LOGICAL_OR: lbk__str_append(s, "(%s || %s)", a, b); break;
    case LBK_OP_LOGICAL_NOT: lbk__str_append(s, "(!%s)", a); break;
    case LBK_OP_WHERE: lbk__str_append(s, "(%s ? %s : %s)", a, b, c); break;
    case LBK_OP_NEG: lbk__str_append(s, "-%s", a); break;
    case LBK_OP_ABS: lbk__str_append(s, "fabs%s(%s)", sfx, a); break;
    case LBK_OP_EXP: lbk__str_append(s, "exp%s(%s)", sfx, a); break;
    case LBK_OP_LOG: lbk__str_append(s, "log%s(%s)", sfx, a); break;
    case LBK_OP_SQRT: lbk__str_append(s, "sqrt%s(%s)", sfx, a); break;
    case LBK_OP_RSQRT: lbk__str_append(s, "rsqrt%s(%s)", sfx, a); break;
    case LBK_OP_SIN: lbk__str_append(s, "sin%s(%s)", sfx, a); break;
    case LBK_OP_COS: lbk__str_append(s, "cos%s(%s)", sfx, a); break;
    case LBK_OP_TANH: lbk__str_append(s, "tanh%s(%s)", sfx, a); break;
    case LBK_OP_SIGMOID:   /* exp(x) / (1 + exp(x)) below 0: no underflow to 0 for large negative x */
        lbk__str_append(s, "(%s >= (%s)0 ? (%s)1 / ((%s)1 + exp%s(-%s)) : exp%s(%s) / ((%s)1 + exp%s(%s)))", a, ct, ct, ct, sfx, a, sfx, a, ct, sfx, a);
        break;
    case LBK_OP_RELU: lbk__str_append(s, "(%s < (%s)0 ? (%s)0 : %s)", a, ct, ct, a); break;
    case LBK_OP_ERF: lbk__str_append(s, "erf%s(%s)", sfx, a); break;
    case LBK_OP_FLOOR: lbk__str_append(s, "floor%s(%s)", sfx, a); break;
    case LBK_OP_CEIL: lbk__str_append(s, "ceil%s(%s)", sfx, a); break;
    case LBK_OP_RECIPROCAL: lbk__str_append(s, "((%s)1 / %s)", ct, a); break;
    case LBK_OP_CAST:
        if (strcmp(ct, "unsigned char") == 0) lbk__str_append(s, "(unsigned char)(%s != 0)", a);   /* to bool: nonzero */
        else lbk__str_append(s, "(%s)(%s)", ct, a);
        break;
    default: return false;
    }
    return true;
}
/* " + ((var / p) % m) * st", without the division when p is 1 and the modulo when m is 0
   (the outermost dim: var / p is below it already). 64-bit division is slow on a GPU. */
static void lbk__cu_index_term(lbk__str *s, const char *var, int64_t p, int64_t m, int64_t st) {
    lbk__str_append(s, " + (");
    if (p == 1) lbk__str_append(s, "%s", var); else lbk__str_append(s, "(%s / %lldLL)", var, (long long)p);
    if (m) lbk__str_append(s, " %% %lldLL", (long long)m);
    lbk__str_append(s, ") * %lldLL", (long long)st);
}
/* Offset into a tensor read at flat index `var` of a tensor of dims (C order), through
   per-dim strides st (0: broadcast) and a base offset. */
static void lbk__cu_offset(lbk__str *s, const char *var, int nd, const int64_t *dims, const int64_t *st, int64_t base) {
    int64_t p = 1;
    int d, outer = 0;
    while (outer < nd - 1 && dims[outer] == 1) outer++;   /* the first dim that counts: var / p < dims there, no modulo */
    lbk__str_append(s, "(%lldLL", (long long)base);
    for (d = nd - 1; d >= 0; d--) {
        if (st[d] != 0 && dims[d] != 1) lbk__cu_index_term(s, var, p, d == outer ? 0 : dims[d], st[d]);
        p *= dims[d];
    }
    lbk__str_append(s, ")");
}
/* Strides of input y read at the shape of node x (NumPy broadcasting). */
static void lbk__cu_bstrides(const lbk_node *x, const lbk_node *y, int64_t *st) {
    int d, off = x->n_dims - y->n_dims;
    int64_t s = 1;
    for (d = x->n_dims - 1; d >= 0; d--) {
        int yd = d - off;
        if (yd < 0) { st[d] = 0; continue; }
        st[d] = y->dims[yd] == 1 ? 0 : s;
        s *= y->dims[yd];
    }
}

/* A step of a compiled graph: a kernel over n threads with the buffers of nodes bufs[]; a
   reduction in two kernels (parts partial results per output into scratch, then one
   thread per output folds them); or a cuBLAS product. */
typedef struct lbk__cu_step {
    int kind;                     /* 0 kernel, 1 gemm, 2 two-phase reduction */
    uint32_t node;                /* the node it computes (a group: its last member) */
    int64_t n;                    /* threads (kind 2: of the first kernel) */
    int64_t outputs, parts;       /* kind 2 */
    uint32_t first_buf, n_bufs;   /* into bufs: nodes whose buffers are the parameters */
    CUfunction fn, fn2;
    /* gemm: C[b] = A[b] @ B[b] (row-major), batch strides in elements */
    int64_t M, N, K, batches, sa, sb, sc;
    uint32_t a, b;                /* the nodes whose buffers A and B are read from */
    bool ta, tb;                  /* read transposed: a or b is the source of a transpose of the operand */
    int64_t bias;                 /* >= 0: the node of a bias (length N) added to every row: the product's
                                     epilogue in cuBLASLt, else the step's kernel fn adds it */
} lbk__cu_step;
typedef struct lbk__cu_prog {
    uint32_t n, n_params, n_outputs;
    lbk_node *nodes;              /* a copy of the graph view's nodes (dims and inputs point into g) */
    lbk_graph *g;
    int *param, *out;             /* per node */
    int32_t *kernel;              /* per node: the step that computes it (-1: a parameter, a transpose read in place) */
    lbk__cu_step *steps;
    uint32_t n_steps;
    uint32_t *bufs;
    uint32_t n_bufs;
    lbk__str src;
    CUmodule mod;
    char *ptx;
    int ordinal;                  /* the device its module is loaded on */
} lbk__cu_prog;

/* Members of one fused kernel at most: longer chains are cut (compilers choke on
   functions of 10^5 statements; one store and load per cut is noise at that length). */
#define LBK__CU_MAX_GROUP 512
static bool lbk__cu_is_red(lbk_op op) { return op == LBK_OP_SUM || op == LBK_OP_MEAN || op == LBK_OP_AMAX || op == LBK_OP_AMIN; }

/* Whether node t swaps its input's last two dims and nothing else (a transpose cuBLAS can
   read in place). */
static bool lbk__cu_is_t2(const lbk__cu_prog *p, uint32_t t) {
    const lbk_node *x = &p->nodes[t];
    int perm[LAZYBK_MAX_DIMS], d;
    if (x->op != LBK_OP_PERMUTE || x->n_dims < 2) return false;
    lbk_node_perm(p->g, t, perm);
    for (d = 0; d < x->n_dims - 2; d++)
        if (perm[d] != d) return false;
    return perm[x->n_dims - 2] == x->n_dims - 1 && perm[x->n_dims - 1] == x->n_dims - 2;
}
/* Code generation state: the fused groups (group[i]: the first member's index, -1 none);
   fuse[g]: the reduction group g is computed inside, -3 for a group that is a product's
   bias epilogue (epi[g]: that product, epi[product]: g), fuse[t] = -2 for a transpose
   cuBLAS reads in place, -1 otherwise; leaves[i]: the value is read outside the kernel
   that computes it (or is an output); readers[i], mm_readers[i]: how many inputs of
   later nodes (of matmuls) are node i, reader[i]: the last such node. */
typedef struct lbk__cu_gen {
    lbk__cu_prog *p;
    int32_t *group, *fuse, *epi, *reader;
    uint32_t *readers, *mm_readers;
    bool *leaves;
    size_t cap_steps, cap_bufs;
    bool bad;                     /* a node had no CUDA C expression: bad_op, at bad_dh */
    lbk_op bad_op;
    int64_t bad_dh;
} lbk__cu_gen;
/* Whether node m is computed inside the kernel of node i (kg: i's group, fg: a group fused into i). */
static bool lbk__cu_inside(const lbk__cu_gen *G, uint32_t i, int32_t kg, int32_t fg, uint32_t m) {
    return m == i || (kg >= 0 && G->group[m] == kg) || (fg >= 0 && G->group[m] == fg);
}
/* The members of group gid in [first, last] as statements over registers r<m>, reading
   outside inputs at flat index i through broadcast strides and storing leaving values. */
static void lbk__cu_emit_group(lbk__cu_gen *G, int32_t gid, uint32_t first, uint32_t last, int64_t n_out, const char *ind) {
    lbk__cu_prog *p = G->p;
    uint32_t m, k;
    for (m = first; m <= last; m++) {
        const lbk_node *y = &p->nodes[m];
        char opd[3][64];
        const char *ct = lbk__cu_ctype(y->dtype);
        if (y->op == LBK_OP_PARAM || G->group[m] != gid) continue;
        for (k = 0; k < (uint32_t)y->n_inputs && k < 3; k++) {
            uint32_t in = y->inputs[k];
            int64_t bst[LAZYBK_MAX_DIMS];
            if (G->group[in] == gid) { snprintf(opd[k], sizeof opd[k], "r%u", in); continue; }
            snprintf(opd[k], sizeof opd[k], "a%u_%u", m, k);
            lbk__cu_bstrides(y, &p->nodes[in], bst);
            lbk__str_append(&p->src, "%s%s a%u_%u = v%u[", ind, lbk__cu_ctype(p->nodes[in].dtype), m, k, in);
            if (lbk_shape_numel(p->nodes[in].n_dims, p->nodes[in].dims) == n_out) lbk__str_append(&p->src, "i");
            else lbk__cu_offset(&p->src, "i", y->n_dims, y->dims, bst, 0);
            lbk__str_append(&p->src, "];\n");
        }
        lbk__str_append(&p->src, "%s%s r%u = ", ind, ct, m);
        if (!lbk__cu_ew_expr(&p->src, (lbk_op)y->op, ct, y->dtype == LBK_F32, opd[0], y->n_inputs > 1 ? opd[1] : "", y->n_inputs > 2 ? opd[2] : "") && !G->bad) {
            G->bad = true;
            G->bad_op = (lbk_op)y->op;
            G->bad_dh = y->debug_handle;
        }
        lbk__str_append(&p->src, ";\n");
        if (G->leaves[m]) lbk__str_append(&p->src, "%so%u[i] = r%u;\n", ind, m, m);
    }
}
/* The body of a reduction loop folding double v into acc: the nan flag and max/min, or a
   Neumaier-compensated sum (as accurate as the cpu's pairwise sums). */
static void lbk__cu_emit_fold(lbk__str *s, bool sum, bool mx) {
    if (sum) lbk__str_append(s, "        double t = acc + v;\n        comp += fabs(acc) >= fabs(v) ? (acc - t) + v : (v - t) + acc;\n        acc = t;\n    }\n");
    else lbk__str_append(s, "        nan = nan || v != v;\n        acc = v %s acc ? v : acc;\n    }\n", mx ? ">" : "<");
}
/* A reduction kernel (and its folding kernel when parts > 1). Threads map to (output o,
   part q): parts adjacent when the innermost input dim is reduced (their reads are
   adjacent), outputs adjacent otherwise. A fused group fg is evaluated at each element. */
static void lbk__cu_emit_reduction(lbk__cu_gen *G, lbk__cu_step *st, uint32_t i, int32_t fg, uint32_t first_m) {
    lbk__cu_prog *p = G->p;
    const lbk_node *x = &p->nodes[i], *a = &p->nodes[x->inputs[0]];
    const char *ct = lbk__cu_ctype(x->dtype);
    int axes[LAZYBK_MAX_DIMS], na = lbk_node_axes(p->g, i, axes), kd = lbk_node_keepdim(p->g, i), o = 0, q, d, nr = 0;
    uint32_t mask = 0;
    int64_t ist[LAZYBK_MAX_DIMS], s = 1, odims[LAZYBK_MAX_DIMS], mst[LAZYBK_MAX_DIMS], rd[LAZYBK_MAX_DIMS], rs[LAZYBK_MAX_DIMS], R = 1, P, O = st->n;
    bool mx = x->op == LBK_OP_AMAX, mn = x->op == LBK_OP_AMIN, comp = x->op != LBK_OP_AMAX && x->op != LBK_OP_AMIN, pfast;
    const char *init = mx ? "-__longlong_as_double(0x7ff0000000000000LL)" : mn ? "__longlong_as_double(0x7ff0000000000000LL)" : "0.0";
    for (d = a->n_dims - 1; d >= 0; d--) { ist[d] = s; s *= a->dims[d]; }
    for (q = 0; q < na; q++) mask |= 1u << axes[q];
    for (d = 0; d < a->n_dims; d++) {   /* kept dims map the output index; reduced ones are looped */
        if (mask >> d & 1u) { rd[nr] = a->dims[d]; rs[nr] = ist[d]; nr++; R *= a->dims[d]; if (kd) { odims[o] = 1; mst[o] = 0; o++; } }
        else { odims[o] = a->dims[d]; mst[o] = ist[d]; o++; }
    }
    /* enough threads to fill a large GPU (2^18), each folding 16 elements or more */
    P = R < 64 || O == 0 ? 1 : LBK__MIN(LBK__MIN((R + 15) / 16, (262143 + O) / LBK__MAX(O, 1)), 4096);
    if (P < 1) P = 1;
    pfast = a->n_dims > 0 && (mask >> (a->n_dims - 1) & 1u);
    st->outputs = O;
    st->parts = P;
    st->n = O * P;
    st->kind = P > 1 ? 2 : 0;
    if (P == 1) lbk__str_append(&p->src, "    long long o = i, q = 0;\n");
    else if (pfast) lbk__str_append(&p->src, "    long long o = i / %lldLL, q = i %% %lldLL;\n", (long long)P, (long long)P);
    else lbk__str_append(&p->src, "    long long o = i %% %lldLL, q = i / %lldLL;\n", (long long)O, (long long)O);
    lbk__str_append(&p->src, "    long long base = ");
    lbk__cu_offset(&p->src, "o", o, odims, mst, 0);
    lbk__str_append(&p->src, ";\n    double acc = %s, comp = 0.0; bool nan = false;\n    for (long long j = q; j < %lldLL; j += %lldLL) {\n        long long off = base",
                    init, (long long)R, (long long)P);
    {
        int64_t pr = 1;
        for (q = nr - 1; q >= 0; q--) {   /* j < R: no modulo for the outermost reduced dim */
            lbk__cu_index_term(&p->src, "j", pr, q == 0 ? 0 : rd[q], rs[q]);
            pr *= rd[q];
        }
    }
    lbk__str_append(&p->src, ";\n        double v;\n");
    if (fg >= 0) {
        lbk__str_append(&p->src, "        {\n            long long i = off;\n");
        lbk__cu_emit_group(G, fg, first_m, x->inputs[0], lbk_shape_numel(a->n_dims, a->dims), "            ");
        lbk__str_append(&p->src, "            v = (double)r%u;\n        }\n", x->inputs[0]);
    } else {
        lbk__str_append(&p->src, "        v = (double)v%u[off];\n", x->inputs[0]);
    }
    lbk__cu_emit_fold(&p->src, comp, mx);
    if (P > 1) {
        lbk__str_append(&p->src, "    part[i] = %s;\n}\n", comp ? "lbk_total(acc, comp)" : "nan ? __longlong_as_double(0x7ff8000000000000LL) : acc");
        lbk__str_append(&p->src, "extern \"C\" __global__ void k%u_2(const double* __restrict__ part, %s* __restrict__ o%u, long long n) {\n"
                        "    long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n    if (o >= n) return;\n"
                        "    double acc = %s, comp = 0.0; bool nan = false;\n    for (long long q = 0; q < %lldLL; q++) {\n"
                        "        double v = part[", p->n_steps, ct, i, init, (long long)P);
        if (pfast) lbk__str_append(&p->src, "o * %lldLL + q];\n", (long long)P);
        else lbk__str_append(&p->src, "q * %lldLL + o];\n", (long long)O);
        lbk__cu_emit_fold(&p->src, comp, mx);
    }
    if (!comp) lbk__str_append(&p->src, "    o%u[o] = (%s)(nan ? __longlong_as_double(0x7ff8000000000000LL) : acc);\n", i, ct);
    else if (x->op == LBK_OP_MEAN) lbk__str_append(&p->src, "    o%u[o] = (%s)(lbk_total(acc, comp) / %lld.0);\n", i, ct, (long long)R);
    else lbk__str_append(&p->src, "    o%u[o] = (%s)lbk_total(acc, comp);\n", i, ct);
}

/* One kernel for node i (a group's last member, a reduction with its fused producer, a
   data movement op): parameters, then body. */
static lbk_result lbk__cu_emit_kernel(lbk__cu_gen *G, lbk__cu_step *st, uint32_t i, uint32_t first_m, int32_t kg, int32_t fg) {
    lbk__cu_prog *p = G->p;
    const lbk_graph *g = p->g;
    const lbk_node *x = &p->nodes[i];
    uint32_t m, k;
    bool first = true;
    /* parameters: the buffers it reads from outside, then those it writes, then n (and the
       partial results of a two-phase reduction) */
    lbk__str_append(&p->src, "extern \"C\" __global__ void k%u(", p->n_steps);
    for (m = first_m; m <= i; m++) {
        const lbk_node *y = &p->nodes[m];
        if (y->op == LBK_OP_PARAM || !lbk__cu_inside(G, i, kg, fg, m)) continue;
        for (k = 0; k < (uint32_t)y->n_inputs; k++) {
            uint32_t in = y->inputs[k], q;
            bool seen = lbk__cu_inside(G, i, kg, fg, in) && p->nodes[in].op != LBK_OP_PARAM;
            for (q = st->first_buf; q < p->n_bufs && !seen; q++) seen = p->bufs[q] == in;
            if (seen) continue;
            if (!LBK__GROW(p->bufs, G->cap_bufs, (size_t)p->n_bufs + 1)) return LBK_ERR_OOM;
            p->bufs[p->n_bufs++] = in;
            lbk__str_append(&p->src, "%sconst %s* __restrict__ v%u", first ? "" : ", ", lbk__cu_ctype(p->nodes[in].dtype), in);
            first = false;
        }
    }
    for (m = first_m; m <= i; m++) {
        const lbk_node *y = &p->nodes[m];
        if (y->op == LBK_OP_PARAM || !lbk__cu_inside(G, i, kg, fg, m) || (m != i && !G->leaves[m])) continue;
        if (!LBK__GROW(p->bufs, G->cap_bufs, (size_t)p->n_bufs + 1)) return LBK_ERR_OOM;
        p->bufs[p->n_bufs++] = m;
        lbk__str_append(&p->src, "%s%s* __restrict__ o%u", first ? "" : ", ", lbk__cu_ctype(y->dtype), m);
        first = false;
    }
    st->n_bufs = p->n_bufs - st->first_buf;
    lbk__str_append(&p->src, "%s%slong long n) {\n    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n    if (i >= n) return;\n",
                    first ? "" : ", ", lbk__cu_is_red((lbk_op)x->op) ? "double* __restrict__ part, " : "");
    if (kg >= 0) {   /* the fused group: every member in registers, leaving values stored */
        lbk__cu_emit_group(G, kg, first_m, i, st->n, "    ");
    } else if (lbk__cu_is_red((lbk_op)x->op)) {
        lbk__cu_emit_reduction(G, st, i, fg, first_m);
    } else {
        const lbk_node *a = x->n_inputs ? &p->nodes[x->inputs[0]] : NULL;
        const char *ct = lbk__cu_ctype(x->dtype);
        int64_t ist[LAZYBK_MAX_DIMS], s = 1, mst[LAZYBK_MAX_DIMS];
        int d;
        if (a) for (d = a->n_dims - 1; d >= 0; d--) { ist[d] = s; s *= a->dims[d]; }
        switch (x->op) {
        case LBK_OP_RESHAPE: lbk__str_append(&p->src, "    o%u[i] = v%u[i];\n", i, x->inputs[0]); break;
        case LBK_OP_EXPAND: {
            int64_t bst[LAZYBK_MAX_DIMS];
            lbk__cu_bstrides(x, a, bst);
            lbk__str_append(&p->src, "    o%u[i] = v%u[", i, x->inputs[0]);
            lbk__cu_offset(&p->src, "i", x->n_dims, x->dims, bst, 0);
            lbk__str_append(&p->src, "];\n");
            break;
        }
        case LBK_OP_PERMUTE: {
            int perm[LAZYBK_MAX_DIMS];
            lbk_node_perm(g, i, perm);
            for (d = 0; d < x->n_dims; d++) mst[d] = ist[perm[d]];
            lbk__str_append(&p->src, "    o%u[i] = v%u[", i, x->inputs[0]);
            lbk__cu_offset(&p->src, "i", x->n_dims, x->dims, mst, 0);
            lbk__str_append(&p->src, "];\n");
            break;
        }
        case LBK_OP_SLICE: {
            int ax;
            int64_t start, step;
            lbk_node_slice(g, i, &ax, &start, &step);
            for (d = 0; d < x->n_dims; d++) mst[d] = ist[d];
            mst[ax] = ist[ax] * step;
            lbk__str_append(&p->src, "    o%u[i] = v%u[", i, x->inputs[0]);
            lbk__cu_offset(&p->src, "i", x->n_dims, x->dims, mst, start * ist[ax]);
            lbk__str_append(&p->src, "];\n");
            break;
        }
        case LBK_OP_CONCAT: {
            int ax = lbk_node_axis(g, i);
            int64_t at = 0, inner = 1;
            for (d = ax + 1; d < x->n_dims; d++) inner *= x->dims[d];
            lbk__str_append(&p->src, "    long long c = (i / %lldLL) %% %lldLL, outer = i / (%lldLL * %lldLL), r = i %% %lldLL;\n",
                            (long long)inner, (long long)x->dims[ax], (long long)inner, (long long)x->dims[ax], (long long)inner);
            for (k = 0; k < (uint32_t)x->n_inputs; k++) {
                const lbk_node *y = &p->nodes[x->inputs[k]];
                int64_t w = y->dims[ax];
                lbk__str_append(&p->src, "    %sif (c < %lldLL) { o%u[i] = v%u[(outer * %lldLL + (c - %lldLL)) * %lldLL + r]; }\n", k ? "else " : "",
                                (long long)(at + w), i, x->inputs[k], (long long)w, (long long)at, (long long)inner);
                at += w;
            }
            break;
        }
        case LBK_OP_ARANGE: {
            double start, step;
            lbk_node_arange(g, i, &start, &step);
            lbk__str_append(&p->src, "    o%u[i] = (%s)(%.17g + (double)i * %.17g);\n", i, ct, start, step);
            break;
        }
        default:
            return lbk_backend_error(LBK_ERR_UNSUPPORTED, x->debug_handle, "cuda: no kernel for '%s'", lbk_op_name((lbk_op)x->op));
        }
    }
    lbk__str_append(&p->src, "}\n");
    return LBK_OK;
}

/* The cuBLAS step of product mm into node out (out != mm: out is mm + bias, the bias
   added by cuBLASLt as the epilogue, or by the step's kernel after a plain product). Batch
   dims are flattened when each operand is whole or broadcast; a broadcast B over a whole,
   untransposed A is one product of batches * M rows. */
static lbk_result lbk__cu_gemm_step(lbk__cu_gen *G, uint32_t mm, uint32_t out) {
    lbk__cu_prog *p = G->p;
    lbk__cu_step *st = &p->steps[p->n_steps];
    const lbk_node *x = &p->nodes[mm], *a = &p->nodes[x->inputs[0]], *b = &p->nodes[x->inputs[1]];
    memset(st, 0, sizeof *st);
    st->kind = 1;
    st->node = out;
    st->n = lbk_shape_numel(x->n_dims, x->dims);
    st->first_buf = p->n_bufs;
    st->bias = -1;
    st->M = x->dims[x->n_dims - 2]; st->N = x->dims[x->n_dims - 1]; st->K = a->dims[a->n_dims - 1];
    st->batches = lbk_shape_numel(x->n_dims - 2, x->dims);
    st->a = x->inputs[0]; st->b = x->inputs[1];
    if (!lbk__cu_batches_ok(x, a, b))   /* supports_op declines these */
        return lbk_backend_error(LBK_ERR_UNSUPPORTED, x->debug_handle, "cuda: matmul with partly broadcast batch dims");
    if (G->fuse[st->a] == -2) { st->ta = true; st->a = p->nodes[st->a].inputs[0]; }
    if (G->fuse[st->b] == -2) { st->tb = true; st->b = p->nodes[st->b].inputs[0]; }
    st->sa = lbk_shape_numel(a->n_dims - 2, a->dims) == 1 ? 0 : st->M * st->K;
    st->sb = lbk_shape_numel(b->n_dims - 2, b->dims) == 1 ? 0 : st->K * st->N;
    if (st->batches > 1 && st->sb == 0 && st->sa != 0 && !st->ta) { st->M *= st->batches; st->batches = 1; st->sa = 0; }
    st->sc = st->M * st->N;
    p->kernel[mm] = p->kernel[out] = (int32_t)p->n_steps;
    lbk__str_append(&p->src, "// step %u: cuBLAS gemm, %lld batch(es) of [%lld x %lld] @ [%lld x %lld]%s%s", p->n_steps, (long long)st->batches,
                    (long long)st->M, (long long)st->K, (long long)st->K, (long long)st->N, st->ta ? ", A read transposed" : "",
                    st->tb ? ", B read transposed" : "");
    if (out != mm) {   /* the bias epilogue, and the kernel that adds it where cuBLASLt cannot */
        const lbk_node *y = &p->nodes[out];
        const char *ct = lbk__cu_ctype(x->dtype);
        st->bias = y->inputs[0] == mm ? y->inputs[1] : y->inputs[0];
        lbk__str_append(&p->src, ", + bias (node %lld) as the epilogue\n", (long long)st->bias);
        lbk__str_append(&p->src, "extern \"C\" __global__ void k%u(const %s* __restrict__ v%lld, %s* __restrict__ o%u, long long n) {\n"
                        "    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n    if (i >= n) return;\n"
                        "    o%u[i] = o%u[i] + v%lld[i %% %lldLL];\n}\n", p->n_steps, ct, (long long)st->bias, ct, out, out, out,
                        (long long)st->bias, (long long)st->N);
    } else {
        lbk__str_append(&p->src, "\n");
    }
    return LBK_OK;
}

/* Generates the CUDA C source of graph g into p (steps and kernels); no device needed. */
static lbk_result lbk__cu_generate(lbk__cu_prog *p) {
    uint32_t i, k, n = p->n;
    lbk__cu_gen G;
    lbk_result r = LBK_OK;
    memset(&G, 0, sizeof G);
    G.p = p;
    G.group = (int32_t *)lbk__malloc(sizeof(int32_t) * (n + 1));
    G.fuse = (int32_t *)lbk__malloc(sizeof(int32_t) * (n + 1));
    G.epi = (int32_t *)lbk__malloc(sizeof(int32_t) * (n + 1));
    G.reader = (int32_t *)lbk__malloc(sizeof(int32_t) * (n + 1));
    G.readers = (uint32_t *)lbk__calloc(n + 1, sizeof(uint32_t));
    G.mm_readers = (uint32_t *)lbk__calloc(n + 1, sizeof(uint32_t));
    G.leaves = (bool *)lbk__calloc(n + 1, sizeof(bool));
    if (!G.group || !G.fuse || !G.epi || !G.reader || !G.readers || !G.mm_readers || !G.leaves) { r = LBK_ERR_OOM; goto done; }
    for (i = 0; i < n; i++) { G.group[i] = -1; G.fuse[i] = -1; G.epi[i] = -1; G.reader[i] = -1; p->kernel[i] = -1; }
    for (i = 0; i < n; i++)
        for (k = 0; k < (uint32_t)p->nodes[i].n_inputs; k++) {
            uint32_t in = p->nodes[i].inputs[k];
            G.readers[in]++;
            G.mm_readers[in] += p->nodes[i].op == LBK_OP_MATMUL;
            G.reader[in] = (int32_t)i;
        }
    /* elementwise runs of one shape (parameters between them do not break a run) */
    {
        int32_t open = -1;
        uint32_t last = 0, members = 0;
        for (i = 0; i < n; i++) {
            const lbk_node *x = &p->nodes[i];
            if (x->op == LBK_OP_PARAM) continue;
            if (!lbk__cu_is_ew(x->op)) { open = -1; continue; }
            if (open < 0 || p->nodes[last].n_dims != x->n_dims || members == LBK__CU_MAX_GROUP ||
                (x->n_dims && memcmp(p->nodes[last].dims, x->dims, sizeof(int64_t) * (size_t)x->n_dims) != 0)) {
                open = (int32_t)i;
                members = 0;
            }
            G.group[i] = open;
            members++;
            last = i;
        }
    }
    /* a reduction right after the group that makes its input computes the group itself:
       the input never reaches memory */
    for (i = 0; i < n; i++) {
        const lbk_node *x = &p->nodes[i];
        uint32_t in, j;
        if (!lbk__cu_is_red((lbk_op)x->op) || G.group[in = x->inputs[0]] < 0) continue;
        for (j = in + 1; j < i && p->nodes[j].op == LBK_OP_PARAM; j++) {}
        if (j == i) G.fuse[G.group[in]] = (int32_t)i;
    }
    /* transposes that only matmuls read (and that are no output) are never made: cuBLAS
       reads their source transposed (fuse[t] = -2 marks them) */
    for (i = 0; i < n; i++)
        if (lbk__cu_is_t2(p, i) && p->out[i] < 0 && G.readers[i] == G.mm_readers[i]) G.fuse[i] = -2;
    /* a float product whose one reader is a group of one add of a bias (length N, broadcast
       over the rows) is computed with that add as its epilogue: fuse[group] = -3, and
       G.epi maps the group to the product and back */
    for (i = 0; i < n; i++) {
        const lbk_node *x = &p->nodes[i];
        uint32_t add = (uint32_t)G.reader[i];
        if (x->op != LBK_OP_MATMUL || !lbk__cu_float(x->dtype) || p->out[i] >= 0 || G.readers[i] != 1) continue;
        if (p->nodes[add].op == LBK_OP_ADD && G.group[add] == (int32_t)add && G.fuse[add] == -1) {
            const lbk_node *y = &p->nodes[add];
            uint32_t bias = y->inputs[0] == i ? y->inputs[1] : y->inputs[0], m = add + 1;
            const lbk_node *b = &p->nodes[bias];
            int64_t N = x->dims[x->n_dims - 1];
            while (m < n && p->nodes[m].op == LBK_OP_PARAM) m++;
            if ((m == n || G.group[m] != (int32_t)add) /* the group is the add alone */ && bias != i && b->dtype == x->dtype && b->n_dims >= 1 && b->dims[b->n_dims - 1] == N && lbk_shape_numel(b->n_dims, b->dims) == N &&
                b->n_dims <= x->n_dims) {
                G.fuse[add] = -3;
                G.epi[add] = (int32_t)i;
                G.epi[i] = (int32_t)add;
            }
        }
    }
    for (i = 0; i < n; i++) {   /* values that leave their kernel: outputs, or read outside it */
        const lbk_node *x = &p->nodes[i];
        if (p->out[i] >= 0) G.leaves[i] = true;
        for (k = 0; k < (uint32_t)x->n_inputs; k++) {
            int32_t gi = G.group[x->inputs[k]];
            if (gi < 0 || (gi != G.group[i] && G.fuse[gi] != (int32_t)i)) G.leaves[x->inputs[k]] = true;
        }
    }
    lbk__str_append(&p->src,
        "// generated by lazybk from the graph; one kernel per step\n"
        "template <typename T> __device__ T lbk_max(T a, T b) { return a != a ? a : b != b ? b : a > b ? a : b; }\n"
        /* a compensated sum's total: an infinite or NaN sum is itself (its compensation is inf - inf) */
        "__device__ double lbk_total(double acc, double comp) { return acc - acc != 0.0 ? acc : acc + comp; }\n"
        "template <typename T> __device__ T lbk_min(T a, T b) { return a != a ? a : b != b ? b : a < b ? a : b; }\n");
    for (i = 0; i < n && r == LBK_OK; i++) {
        const lbk_node *x = &p->nodes[i];
        lbk__cu_step *st;
        uint32_t first_m = i, m;
        int32_t kg = G.group[i], fg = -1;
        if (x->op == LBK_OP_PARAM || (kg < 0 && G.fuse[i] == -2) || (x->op == LBK_OP_MATMUL && G.epi[i] >= 0)) continue;
        if (kg >= 0 && G.fuse[kg] == -3) {   /* the product with this add as its epilogue */
            if (!LBK__GROW(p->steps, G.cap_steps, (size_t)p->n_steps + 1)) { r = LBK_ERR_OOM; break; }
            if ((r = lbk__cu_gemm_step(&G, (uint32_t)G.epi[i], i)) == LBK_OK) p->n_steps++;
            continue;
        }
        if (kg >= 0) {   /* a group runs at its end (the next non-parameter node is in another group), or in its reduction */
            uint32_t j = i + 1;
            while (j < n && p->nodes[j].op == LBK_OP_PARAM) j++;
            if ((j < n && G.group[j] == kg) || G.fuse[kg] >= 0) continue;
            first_m = (uint32_t)kg;
        } else if (lbk__cu_is_red((lbk_op)x->op) && G.group[x->inputs[0]] >= 0 && G.fuse[G.group[x->inputs[0]]] == (int32_t)i) {
            fg = G.group[x->inputs[0]];
            first_m = (uint32_t)fg;
        }
        if (!LBK__GROW(p->steps, G.cap_steps, (size_t)p->n_steps + 1)) { r = LBK_ERR_OOM; break; }
        st = &p->steps[p->n_steps];
        memset(st, 0, sizeof *st);
        st->node = i;
        st->n = lbk_shape_numel(x->n_dims, x->dims);
        st->first_buf = p->n_bufs;
        for (m = first_m; m <= i; m++)
            if (lbk__cu_inside(&G, i, kg, fg, m)) p->kernel[m] = (int32_t)p->n_steps;
        if (x->op == LBK_OP_MATMUL) {
            if ((r = lbk__cu_gemm_step(&G, i, i)) == LBK_OK) p->n_steps++;
            continue;
        }
        if ((r = lbk__cu_emit_kernel(&G, st, i, first_m, kg, fg)) == LBK_OK) p->n_steps++;
    }
done:
    if (r == LBK_OK && G.bad)
        r = lbk_backend_error(LBK_ERR_UNSUPPORTED, G.bad_dh, "cuda: no CUDA C expression for '%s'", lbk_op_name(G.bad_op));
    lbk__free(G.group);
    lbk__free(G.fuse);
    lbk__free(G.epi);
    lbk__free(G.reader);
    lbk__free(G.readers);
    lbk__free(G.mm_readers);
    lbk__free(G.leaves);
    if (r == LBK_OK && p->src.oom) r = LBK_ERR_OOM;
    return r;
}

/* NVRTC: src to PTX for arch ("compute_80"...). On a compile error the log is in *log. */
static lbk_result lbk__cu_nvrtc(lbk__cu *cu, const char *src, const char *arch, char **out_ptx, char **out_log) {
    nvrtcProgram prog;
    nvrtcResult e;
    char opt_arch[64];
    const char *opts[3];
    size_t n = 0;
    lbk_result r = LBK_OK;
    *out_ptx = NULL;
    if (out_log) *out_log = NULL;
    lbk__lock(&lbk__cu_lock);
    if (!lbk__cu_load_nvrtc(cu)) { lbk__unlock(&lbk__cu_lock); return lbk_backend_error(LBK_ERR_UNAVAILABLE, -1, "%s", cu->reason); }
    lbk__unlock(&lbk__cu_lock);
    snprintf(opt_arch, sizeof opt_arch, "--gpu-architecture=%s", arch);
    opts[0] = opt_arch; opts[1] = "--std=c++14"; opts[2] = "-default-device";
    if ((e = cu->prog_create(&prog, src, "lazybk.cu", 0, NULL, NULL)) != NVRTC_SUCCESS)
        return lbk_backend_error(e == NVRTC_ERROR_OUT_OF_MEMORY ? LBK_ERR_OOM : LBK_ERR_BACKEND, -1, "nvrtcCreateProgram: %s", cu->nvrtc_error(e));
    e = cu->prog_compile(prog, 3, opts);
    if (e != NVRTC_SUCCESS) {
        char *log = NULL;
        if (cu->log_size(prog, &n) == NVRTC_SUCCESS && (log = (char *)lbk__malloc(n + 1)) != NULL) { cu->log(prog, log); log[n] = 0; }
        r = lbk_backend_error(LBK_ERR_BACKEND, -1, "NVRTC could not compile the generated source: %s\n%s", cu->nvrtc_error(e), log ? log : "");
        if (out_log) *out_log = log; else lbk__free(log);
    } else if (cu->ptx_size(prog, &n) != NVRTC_SUCCESS || !(*out_ptx = (char *)lbk__malloc(n + 1)) || cu->ptx(prog, *out_ptx) != NVRTC_SUCCESS) {
        lbk__free(*out_ptx);
        *out_ptx = NULL;
        r = lbk_backend_error(LBK_ERR_OOM, -1, "out of memory reading the PTX");
    }
    cu->prog_destroy(&prog);
    return r;
}

static void lbk__cu_prog_free(void *self, lbk_computation *c) {
    lbk__cu *cu = (lbk__cu *)self;
    lbk__cu_prog *p = (lbk__cu_prog *)c;
    if (!p) return;
    if (p->mod && cu->module_unload) cu->module_unload(p->mod);
    lbk__free(p->nodes); lbk__free(p->param); lbk__free(p->out); lbk__free(p->kernel); lbk__free(p->steps); lbk__free(p->bufs);
    lbk__free(p->ptx);
    lbk__str_free(&p->src);
    if (p->g) lbk_graph_free(p->g);
    lbk__free(p);
}
/* The program of g: its steps and source; no device needed. */
static lbk_result lbk__cu_plan(const lbk_graph *g, lbk__cu_prog **out) {
    lbk__cu_prog *p = (lbk__cu_prog *)lbk__calloc(1, sizeof *p);
    uint32_t i, k;
    lbk_result r;
    *out = NULL;
    if (!p || !(p->g = lbk_graph_copy(g))) { lbk__free(p); return LBK_ERR_OOM; }
    p->n = lbk_graph_size(p->g);
    p->n_params = lbk_graph_n_params(p->g);
    p->n_outputs = lbk_graph_n_outputs(p->g);
    p->nodes = (lbk_node *)lbk__malloc(sizeof(lbk_node) * (p->n + 1));
    p->param = (int *)lbk__malloc(sizeof(int) * (p->n + 1));
    p->out = (int *)lbk__malloc(sizeof(int) * (p->n + 1));
    p->kernel = (int32_t *)lbk__malloc(sizeof(int32_t) * (p->n + 1));
    if (!p->nodes || !p->param || !p->out || !p->kernel) { lbk__cu_prog_free(&lbk__cu_self, (lbk_computation *)p); return LBK_ERR_OOM; }
    for (i = 0; i < p->n; i++) {
        p->nodes[i] = lbk_graph_node(p->g, i);
        p->param[i] = lbk_graph_param_index(p->g, i);
        p->out[i] = -1;
    }
    for (k = 0; k < p->n_outputs; k++) p->out[lbk_graph_output(p->g, k)] = (int)k;
    if ((r = lbk__cu_generate(p)) != LBK_OK) { lbk__cu_prog_free(&lbk__cu_self, (lbk_computation *)p); return r; }
    *out = p;
    return LBK_OK;
}

/* Processor milliseconds of this process (NVRTC compiles in-process: its time in the
   report; clock() because strict C99 has no monotonic wall clock). */
static double lbk__cu_ms(void) { return (double)clock() * 1000.0 / CLOCKS_PER_SEC; }
/* ---- the on-disk kernel cache: with $LAZYBK_CUDA_CACHE naming a directory, the PTX of
   each generated source is kept in a file named by the source's hash, the driver version
   and the architecture; the file starts with the source itself, compared in full on
   reading (a hash collision is a miss). A file that does not load is compiled again and
   rewritten. ---- */
#define LBK__CU_CACHE_MAGIC "LAZYBKCU1\n"
static bool lbk__cu_cache_path(const lbk__cu *cu, const char *src, const char *arch, char *path, size_t cap) {
    const char *dir = getenv("LAZYBK_CUDA_CACHE");
    int n;
    if (!dir || !dir[0]) return false;
    n = snprintf(path, cap, "%s/lazybk-%016llx-%d-%s.ptx", dir, (unsigned long long)lbk__fnv1a((const unsigned char *)src, strlen(src)),
                 cu->driver, arch);
    return n > 0 && (size_t)n < cap;
}
/* The PTX kept for src at path (the caller frees it), or NULL. */
static char *lbk__cu_cache_read(const char *path, const char *src) {
    FILE *f = fopen(path, "rb");
    size_t head = strlen(LBK__CU_CACHE_MAGIC), sl = strlen(src), n;
    long size;
    char *buf = NULL, *ptx = NULL;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && (size_t)size > head + sl && size < (1L << 30) && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = (char *)lbk__malloc((size_t)size + 1)) != NULL && (n = fread(buf, 1, (size_t)size, f)) == (size_t)size) {
        buf[size] = 0;
        if (memcmp(buf, LBK__CU_CACHE_MAGIC, head) == 0 && memcmp(buf + head, src, sl) == 0 && buf[head + sl] == 0)
            ptx = lbk__strdup(buf + head + sl + 1);
    }
    fclose(f);
    lbk__free(buf);
    return ptx;
}
/* Writes the file for src (to a temporary name, then renamed: readers never see half). */
static void lbk__cu_cache_write(const char *path, const char *src, const char *ptx) {
    char tmp[1100];
    FILE *f;
    bool ok;
    snprintf(tmp, sizeof tmp, "%s.%p.tmp", path, (void *)&tmp);   /* a name of this thread's own */
    if (!(f = fopen(tmp, "wb"))) return;
    ok = fputs(LBK__CU_CACHE_MAGIC, f) >= 0 && fwrite(src, 1, strlen(src) + 1, f) == strlen(src) + 1 && fputs(ptx, f) >= 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) remove(tmp);
}
/* The module of p's source: from the disk cache when it has it, else NVRTC (and kept). */
static lbk_result lbk__cu_module(lbk__cu *cu, lbk__cu_dev *d, lbk__cu_prog *p, const char *arch) {
    char path[1024];
    const char *src = lbk__str_get(&p->src);
    bool disk = lbk__cu_cache_path(cu, src, arch, path, sizeof path);
    lbk_result r = LBK_OK;
    CUresult e;
    int attempt;
    for (attempt = 0; attempt < 2; attempt++) {
        bool from_disk = attempt == 0 && disk && (p->ptx = lbk__cu_cache_read(path, src)) != NULL;
        if (!from_disk) {
            double t0 = lbk__cu_ms();
            r = lbk__cu_nvrtc(cu, src, arch, &p->ptx, NULL);
            lbk__lock(&lbk__cu_lock);
            cu->nvrtc_ms += lbk__cu_ms() - t0;
            lbk__unlock(&lbk__cu_lock);
            if (r != LBK_OK) return r;
            lbk__cu_count(&d->nvrtc_compiles, 1);
            if (disk) lbk__cu_cache_write(path, src, p->ptx);
        }
        if ((e = cu->module_load(&p->mod, p->ptx)) == CUDA_SUCCESS) {
            if (from_disk) lbk__cu_count(&d->disk_hits, 1);
            return LBK_OK;
        }
        lbk__free(p->ptx);
        p->ptx = NULL;
        p->mod = NULL;
        r = lbk_backend_error(LBK_ERR_BACKEND, -1, "cuModuleLoadData: %s", lbk__cu_err(cu, e));
        if (!from_disk) break;   /* a kept file that does not load (another driver, damaged): compile again */
    }
    return r;
}

static lbk_result lbk__cu_compile(void *self, lbk_device dev, const lbk_graph *const *graphs, int n, lbk_computation **out) {
    lbk__cu *cu = (lbk__cu *)self;
    lbk_result use_r = LBK_OK;
    lbk__cu_dev *d = lbk__cu_use(cu, dev.ordinal, &use_r);
    int i, j;
    char arch[32];
    if (!d) return use_r;
    snprintf(arch, sizeof arch, "compute_%d%d", d->cc_major, d->cc_minor);
    for (i = 0; i < n; i++) {
        lbk__cu_prog *p = NULL;
        lbk_result r = lbk__cu_plan(graphs[i], &p);
        uint32_t s;
        CUresult e = CUDA_SUCCESS;
        if (r == LBK_OK) p->ordinal = dev.ordinal;
        if (r == LBK_OK && p->src.len) r = lbk__cu_module(cu, d, p, arch);
        for (s = 0; r == LBK_OK && s < p->n_steps; s++) {
            char name[32];
            if (p->steps[s].kind == 1 && p->steps[s].bias < 0) continue;
            snprintf(name, sizeof name, "k%u", s);
            if ((e = cu->module_fn(&p->steps[s].fn, p->mod, name)) == CUDA_SUCCESS && p->steps[s].kind == 2) {
                snprintf(name, sizeof name, "k%u_2", s);
                e = cu->module_fn(&p->steps[s].fn2, p->mod, name);
            }
            if (e != CUDA_SUCCESS) r = lbk_backend_error(LBK_ERR_BACKEND, -1, "cuModuleGetFunction(%s): %s", name, lbk__cu_err(cu, e));
        }
        if (r != LBK_OK) {
            lbk__cu_prog_free(self, (lbk_computation *)p);
            for (j = 0; j < i; j++) lbk__cu_prog_free(self, out[j]);
            return r;
        }
        out[i] = (lbk_computation *)p;
        lbk__cu_count(&d->compiles, 1);
    }
    return LBK_OK;
}

/* Runs a gemm step: row-major C = A @ B is column-major C^T = B^T A^T. Empty products
   write nothing; K = 0 writes zeros (cuBLAS refuses leading dimensions of 0). */
static lbk_result lbk__cu_gemm(lbk__cu *cu, lbk__cublas_t blas, CUstream s, const lbk__cu_step *st, lbk_dtype dt, const CUdeviceptr *ptr,
                               int64_t debug_handle) {
    /* B row-major [K, N] is column-major B^T with ld N; stored as its transpose [N, K], it is
       column-major B with ld K, read with op T. Likewise A: ld K, or transposed ld M. */
    int e, ldb = (int)LBK__MAX(st->tb ? st->K : st->N, 1), lda = (int)LBK__MAX(st->ta ? st->M : st->K, 1), ldc = (int)LBK__MAX(st->N, 1);
    int opb = st->tb ? 1 : 0, opa = st->ta ? 1 : 0;   /* CUBLAS_OP_N, CUBLAS_OP_T */
    if (st->M == 0 || st->N == 0 || st->batches == 0) return LBK_OK;
    if (st->K == 0) {
        CUresult ce = cu->memset_async(ptr[st->node], 0, (size_t)(st->M * st->N * st->batches) * lbk_dtype_size(dt), s);
        return ce == CUDA_SUCCESS ? LBK_OK : lbk_backend_error(LBK_ERR_BACKEND, debug_handle, "cuMemsetD8Async: %s", lbk__cu_err(cu, ce));
    }
    if (st->M > INT_MAX || st->N > INT_MAX || st->K > INT_MAX || st->batches > INT_MAX)
        return lbk_backend_error(LBK_ERR_UNSUPPORTED, debug_handle, "cuda: matmul dims past 2^31 (M %lld, N %lld, K %lld)", (long long)st->M, (long long)st->N, (long long)st->K);
    if (dt == LBK_F32) {
        float one = 1, zero = 0;
        e = cu->sgemm(blas, opb, opa, (int)st->N, (int)st->M, (int)st->K, &one, (const float *)ptr[st->b], ldb, st->sb, (const float *)ptr[st->a],
                      lda, st->sa, &zero, (float *)ptr[st->node], ldc, st->sc, (int)st->batches);
    } else {
        double one = 1, zero = 0;
        e = cu->dgemm(blas, opb, opa, (int)st->N, (int)st->M, (int)st->K, &one, (const double *)ptr[st->b], ldb, st->sb, (const double *)ptr[st->a],
                      lda, st->sa, &zero, (double *)ptr[st->node], ldc, st->sc, (int)st->batches);
    }
    return e == 0 ? LBK_OK : lbk_backend_error(LBK_ERR_BACKEND, debug_handle, "cuBLAS gemm failed (status %d)", e);
}

/* A product with its bias epilogue through cuBLASLt (no workspace, its own heuristic);
   false where that cannot run (no cuBLASLt, an empty product, a status other than
   success): the caller then runs the plain product and the bias kernel. */
static bool lbk__cu_gemm_lt(lbk__cu *cu, lbk__cu_dev *d, CUstream s, const lbk__cu_step *st, lbk_dtype dt, const CUdeviceptr *ptr) {
    cublasLtMatmulDesc_t desc = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    cudaDataType ty = dt == LBK_F32 ? CUDA_R_32F : CUDA_R_64F;
    int32_t opb = st->tb ? CUBLAS_OP_T : CUBLAS_OP_N, opa = st->ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    uint32_t epi = CUBLASLT_EPILOGUE_BIAS;
    const void *bias = (const void *)(uintptr_t)ptr[st->bias];
    int32_t batches = (int32_t)st->batches;
    double one64 = 1, zero64 = 0;
    float one32 = 1, zero32 = 0;
    bool ok;
    if (!d->lt || st->M == 0 || st->N == 0 || st->K == 0 || st->batches == 0 || st->batches > INT_MAX) return false;
    /* column-major: D^T [N x M] = op(B) [N x K] * op(A) [K x M], as in lbk__cu_gemm */
    ok = cu->lt_desc_create(&desc, dt == LBK_F32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_64F, ty) == CUBLAS_STATUS_SUCCESS &&
         cu->lt_desc_set(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opb, sizeof opb) == CUBLAS_STATUS_SUCCESS &&
         cu->lt_desc_set(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opa, sizeof opa) == CUBLAS_STATUS_SUCCESS &&
         cu->lt_desc_set(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi) == CUBLAS_STATUS_SUCCESS &&
         cu->lt_desc_set(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias) == CUBLAS_STATUS_SUCCESS &&
         cu->lt_layout_create(&lb, ty, (uint64_t)(st->tb ? st->K : st->N), (uint64_t)(st->tb ? st->N : st->K), st->tb ? st->K : st->N) == CUBLAS_STATUS_SUCCESS &&
         cu->lt_layout_create(&la, ty, (uint64_t)(st->ta ? st->M : st->K), (uint64_t)(st->ta ? st->K : st->M), st->ta ? st->M : st->K) == CUBLAS_STATUS_SUCCESS &&
         cu->lt_layout_create(&lc, ty, (uint64_t)st->N, (uint64_t)st->M, st->N) == CUBLAS_STATUS_SUCCESS;
    if (ok && batches > 1) {
        int64_t sb = st->sb, sa = st->sa, sc = st->sc;
        ok = cu->lt_layout_set(lb, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batches, sizeof batches) == CUBLAS_STATUS_SUCCESS &&
             cu->lt_layout_set(lb, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sb, sizeof sb) == CUBLAS_STATUS_SUCCESS &&
             cu->lt_layout_set(la, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batches, sizeof batches) == CUBLAS_STATUS_SUCCESS &&
             cu->lt_layout_set(la, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sa, sizeof sa) == CUBLAS_STATUS_SUCCESS &&
             cu->lt_layout_set(lc, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batches, sizeof batches) == CUBLAS_STATUS_SUCCESS &&
             cu->lt_layout_set(lc, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sc, sizeof sc) == CUBLAS_STATUS_SUCCESS;
    }
    if (ok)
        ok = cu->lt_matmul(d->lt, desc, dt == LBK_F32 ? (const void *)&one32 : (const void *)&one64, (const void *)(uintptr_t)ptr[st->b], lb,
                           (const void *)(uintptr_t)ptr[st->a], la, dt == LBK_F32 ? (const void *)&zero32 : (const void *)&zero64,
                           (const void *)(uintptr_t)ptr[st->node], lc, (void *)(uintptr_t)ptr[st->node], lc, NULL, NULL, 0,
                           (cudaStream_t)s) == CUBLAS_STATUS_SUCCESS;
    if (lc) cu->lt_layout_destroy(lc);
    if (la) cu->lt_layout_destroy(la);
    if (lb) cu->lt_layout_destroy(lb);
    if (desc) cu->lt_desc_destroy(desc);
    if (ok) lbk__cu_count(&d->lt_epilogues, 1);
    return ok;
}

/* Launches fn over n threads (blocks of 256) on stream s. */
static lbk_result lbk__cu_launch(lbk__cu *cu, lbk__cu_dev *d, CUfunction fn, int64_t n, CUstream s, void **params, int64_t debug_handle) {
    int64_t blocks = (n + 255) / 256;
    CUresult e;
    if (n <= 0) return LBK_OK;
    if (blocks > INT_MAX) return lbk_backend_error(LBK_ERR_UNSUPPORTED, debug_handle, "cuda: %lld elements are past one launch", (long long)n);
    e = cu->launch(fn, (unsigned)blocks, 1, 1, 256, 1, 1, 0, s, params, NULL);
    lbk__cu_count(&d->launches, 1);
    return e == CUDA_SUCCESS ? LBK_OK : lbk_backend_error(LBK_ERR_BACKEND, debug_handle, "cuLaunchKernel: %s", lbk__cu_err(cu, e));
}
static lbk_result lbk__cu_execute(void *self, lbk_computation *c, lbk_data *const *args, int n_args, lbk_device dev, lbk_data **out,
                                  int out_cap, int *out_n) {
    lbk__cu *cu = (lbk__cu *)self;
    lbk__cu_prog *p = (lbk__cu_prog *)c;
    lbk_result r = LBK_OK;
    lbk__cu_dev *d = lbk__cu_use(cu, dev.ordinal, &r);
    uint32_t i, s, k;
    void *params[64 + 2];
    uint32_t np;
    CUdeviceptr *ptr, part;
    CUstream stream;
    lbk__cublas_t blas;
    *out_n = 0;
    if (!d) return r;
    if ((uint32_t)n_args != p->n_params || out_cap < (int)p->n_outputs)
        return lbk_backend_error(LBK_ERR_ARG, -1, "got %d arguments and room for %d outputs; the graph has %u and %u", n_args, out_cap, p->n_params, p->n_outputs);
    if (dev.ordinal != p->ordinal)
        return lbk_backend_error(LBK_ERR_ARG, -1, "cuda: a computation compiled for device %d run on device %d", p->ordinal, dev.ordinal);
    if ((r = lbk__cu_stream_of(cu, d, &stream, &blas)) != LBK_OK) return r;
    if (!(ptr = (CUdeviceptr *)lbk__calloc(p->n + 1, sizeof(CUdeviceptr)))) return LBK_ERR_OOM;
    for (i = 0; i < p->n; i++) {
        lbk__cu_buf *b;
        if (p->param[i] < 0) continue;
        b = (lbk__cu_buf *)args[p->param[i]];
        if (b->ordinal != dev.ordinal) { lbk__free(ptr); return lbk_backend_error(LBK_ERR_ARG, -1, "cuda: argument %d lives on device %d, not %d", p->param[i], b->ordinal, dev.ordinal); }
        if (b->last && b->last != stream && (r = cu->stream_sync(b->last) == CUDA_SUCCESS ? LBK_OK : LBK_ERR_BACKEND) != LBK_OK) {
            lbk__free(ptr);
            return lbk_backend_error(r, -1, "cuStreamSynchronize failed");
        }
        ptr[i] = b->p;
    }
    for (s = 0; s < p->n_steps && r == LBK_OK; s++) {
        lbk__cu_step *st = &p->steps[s];
        const lbk_node *x = &p->nodes[st->node];
        /* buffers for what the step writes: outputs become data handles, the rest scratch */
        for (k = st->first_buf; k < st->first_buf + st->n_bufs + (st->kind == 1); k++) {
            uint32_t m = st->kind == 1 ? st->node : p->bufs[k];
            const lbk_node *y = &p->nodes[m];
            if (ptr[m] || p->param[m] >= 0) continue;
            if (p->out[m] >= 0) {
                lbk_data *o = NULL;
                if ((r = lbk__cu_placeholder(self, dev, y->dtype, y->n_dims, y->dims, &o)) != LBK_OK) break;
                ((lbk__cu_buf *)o)->last = stream;
                out[p->out[m]] = o;
                ptr[m] = ((lbk__cu_buf *)o)->p;
            } else if ((r = lbk__cu_malloc(cu, d, (size_t)lbk_shape_numel(y->n_dims, y->dims) * lbk_dtype_size(y->dtype), stream, &ptr[m])) != LBK_OK) {
                break;
            }
        }
        if (r != LBK_OK) break;
        if (st->kind == 1) {
            bool done = st->bias >= 0 && lbk__cu_gemm_lt(cu, d, stream, st, x->dtype, ptr);
            if (!done) r = lbk__cu_gemm(cu, blas, stream, st, x->dtype, ptr, x->debug_handle);
            lbk__cu_count(&d->launches, 1);
            if (r == LBK_OK && !done && st->bias >= 0) {   /* the bias by the step's kernel */
                void *bp[3];
                bp[0] = &ptr[st->bias]; bp[1] = &ptr[st->node]; bp[2] = &st->n;
                r = lbk__cu_launch(cu, d, st->fn, st->n, stream, bp, x->debug_handle);
                lbk__cu_count(&d->epilogue_kernels, 1);
            }
            continue;
        }
        if (st->n_bufs > 64) { r = lbk_backend_error(LBK_ERR_UNSUPPORTED, x->debug_handle, "cuda: a kernel with more than 64 buffers"); break; }
        for (k = 0; k < st->n_bufs; k++) params[k] = &ptr[p->bufs[st->first_buf + k]];
        np = st->n_bufs;
        part = 0;
        if (lbk__cu_is_red((lbk_op)x->op)) {   /* the partial results of a two-phase reduction */
            if (st->kind == 2 && (r = lbk__cu_malloc(cu, d, (size_t)st->n * sizeof(double), stream, &part)) != LBK_OK) break;
            params[np++] = &part;
        }
        params[np] = &st->n;
        if ((r = lbk__cu_launch(cu, d, st->fn, st->n, stream, params, x->debug_handle)) == LBK_OK && st->kind == 2) {
            void *fold[3];
            fold[0] = &part; fold[1] = &ptr[st->node]; fold[2] = &st->outputs;
            r = lbk__cu_launch(cu, d, st->fn2, st->outputs, stream, fold, x->debug_handle);
        }
        if (part) lbk__cu_mfree(cu, d, part, (size_t)st->n * sizeof(double), stream);
    }
    /* scratch goes back to the pool (the stream orders its reuse after these kernels) */
    for (i = 0; i < p->n; i++)
        if (ptr[i] && p->param[i] < 0 && p->out[i] < 0) {
            const lbk_node *y = &p->nodes[i];
            lbk__cu_mfree(cu, d, ptr[i], (size_t)lbk_shape_numel(y->n_dims, y->dims) * lbk_dtype_size(y->dtype), stream);
        }
    lbk__free(ptr);
    if (r != LBK_OK) {
        for (i = 0; i < p->n_outputs; i++)
            if (out[i]) { lbk__cu_data_free(self, out[i]); out[i] = NULL; }
        return r;
    }
    *out_n = (int)p->n_outputs;
    return LBK_OK;
}
static const char *lbk__cu_text(void *self, const lbk_computation *c) { (void)self; return lbk__str_get(&((lbk__cu_prog *)c)->src); }
/* The kernel node i runs in, when that kernel computes more than one node (lbk_ir_dot). */
static int lbk__cu_group(void *self, const lbk_computation *c, uint32_t node) {
    const lbk__cu_prog *p = (const lbk__cu_prog *)c;
    uint32_t m;
    (void)self;
    if (node >= p->n || p->kernel[node] < 0) return -1;
    for (m = 0; m < p->n; m++)
        if (m != node && p->kernel[m] == p->kernel[node]) return p->kernel[node];
    return -1;
}
static int lbk__cu_devtype(void *self) { (void)self; return LBK_DEVICE_CUDA; }
static int lbk__cu_fallback(void *self) { (void)self; return LBK_DEVICE_CPU; }
static int lbk__cu_ordinal(void *self) { return ((lbk__cu *)self)->default_ordinal; }
static void lbk__cu_set_ordinal(void *self, int ordinal) {
    lbk__cu *cu = (lbk__cu *)self;
    lbk__lock(&lbk__cu_lock);
    if (ordinal >= 0 && ordinal < LBK__CU_MAX_DEVICES && (!cu->tried || ordinal < cu->n_devices)) cu->default_ordinal = ordinal;
    lbk__unlock(&lbk__cu_lock);
}
static int lbk__cu_devices(void *self, lbk_device *out, int cap) {
    lbk__cu *cu = (lbk__cu *)self;
    int i, n = lbk__cu_use(cu, cu->default_ordinal, NULL) ? cu->n_devices : 0;
    for (i = 0; i < n && out && i < cap; i++) { out[i].type = LBK_DEVICE_CUDA; out[i].ordinal = i; }
    return n;
}
static lbk_result lbk__cu_map_device(void *self, int ordinal, lbk_device *out) {
    if (!lbk__cu_use((lbk__cu *)self, ordinal, NULL)) return LBK_ERR_ARG;   /* the reason is the backend error */
    out->type = LBK_DEVICE_CUDA;
    out->ordinal = ordinal;
    return LBK_OK;
}
static lbk_result lbk__cu_memory(void *self, lbk_device dev, size_t *free_b, size_t *total) {
    lbk__cu *cu = (lbk__cu *)self;
    if (!lbk__cu_use(cu, dev.ordinal, NULL) || cu->mem_info(free_b, total) != CUDA_SUCCESS) return LBK_ERR_UNAVAILABLE;
    return LBK_OK;
}
static const char *lbk__cu_report(void *self) {
    lbk__cu *cu = (lbk__cu *)self;
    int o;
    lbk__lock(&lbk__cu_lock);
    lbk__str_reset(&cu->report);
    if (!cu->ok) lbk__str_append(&cu->report, "cuda: not available: %s\n", cu->reason[0] ? cu->reason : "not initialised");
    else lbk__str_append(&cu->report, "cuda: driver %d, %d device(s), NVRTC %.1f ms (processor time) in all\n", cu->driver, cu->n_devices, cu->nvrtc_ms);
    for (o = 0; cu->ok && o < cu->n_devices; o++) {
        const lbk__cu_dev *d = &cu->devs[o];
        if (!d->tried) continue;
        if (!d->ok) { lbk__str_append(&cu->report, "cuda:%d: %s\n", o, d->reason); continue; }
        lbk__str_append(&cu->report, "cuda:%d %s (sm_%d%d, %zu MiB): compiles %lld (NVRTC %lld, kernel cache files %lld), launches %lld, "
                        "bias epilogues %lld in cuBLASLt, %lld as kernels, bytes to device %lld, to host %lld (%lld through pinned staging), "
                        "allocations %lld, pool hits %lld, context streams %zu\n",
                        o, d->name, d->cc_major, d->cc_minor, d->mem >> 20, (long long)d->compiles, (long long)d->nvrtc_compiles,
                        (long long)d->disk_hits, (long long)d->launches, (long long)d->lt_epilogues, (long long)d->epilogue_kernels, (long long)d->bytes_h2d, (long long)d->bytes_d2h, (long long)d->staged,
                        (long long)d->allocs, (long long)d->pool_hits, d->n_streams);
    }
    lbk__unlock(&lbk__cu_lock);
    return lbk__str_get(&cu->report);
}
static void lbk__cu_exit(void *self) {
    lbk__cu *cu = (lbk__cu *)self;
    int i, o;
    size_t k;
    lbk__lock(&lbk__cu_lock);
    for (o = 0; cu->ok && o < cu->n_devices; o++) {
        lbk__cu_dev *d = &cu->devs[o];
        if (d->ok) {
            cu->ctx_set(d->cuctx);
            for (k = 0; k < d->n_streams; k++) {   /* contexts never destroyed */
                cu->stream_sync(d->streams[k].s);
                cu->blas_destroy(d->streams[k].blas);
                cu->stream_destroy(d->streams[k].s);
            }
            cu->stream_sync(d->stream);
            for (i = 0; i < d->n_pool; i++) cu->mem_free(d->pool[i].p);
            for (i = 0; i < 2; i++)
                if (d->stage[i]) { cu->event_destroy(d->stage_ev[i]); cu->host_free(d->stage[i]); }
            cu->blas_destroy(d->blas);
            if (d->lt) cu->lt_destroy(d->lt);
            cu->stream_destroy(d->stream);
            cu->ctx_release(d->dev);
        }
        lbk__free(d->streams);
        memset(d, 0, sizeof *d);
    }
    cu->ok = false;
    cu->tried = false;
    lbk__str_free(&cu->report);
    lbk__unlock(&lbk__cu_lock);
}
static lbk_backend_i lbk__cu_iface(void) {
    lbk_backend_i b;
    memset(&b, 0, sizeof b);
    b.struct_size = sizeof b;
    b.abi_version = LBK_BACKEND_ABI;
    b.name = "cuda";
    b.is_available = lbk__cu_available;
    b.unavailable_reason = lbk__cu_reason;
    b.prepare_to_exit = lbk__cu_exit;
    b.data_from_host = lbk__cu_from_host;
    b.data_placeholder = lbk__cu_placeholder;
    b.data_from_scalar = lbk__cu_from_scalar;
    b.data_to_host = lbk__cu_to_host;
    b.data_free = lbk__cu_data_free;
    b.compile = lbk__cu_compile;
    b.computation_free = lbk__cu_prog_free;
    b.execute_computation = lbk__cu_execute;
    b.computation_text = lbk__cu_text;
    b.default_device_type = lbk__cu_devtype;
    b.default_device_ordinal = lbk__cu_ordinal;
    b.set_default_device_ordinal = lbk__cu_set_ordinal;
    b.fallback_device_type = lbk__cu_fallback;
    b.devices = lbk__cu_devices;
    b.map_device = lbk__cu_map_device;
    b.metric_report = lbk__cu_report;
    b.memory_info = lbk__cu_memory;
    b.supports_op = lbk__cu_supports;
    b.context_release = lbk__cu_context_release;
    b.computation_group = lbk__cu_group;
    return b;
}

/* The generated CUDA C source of g (the caller frees it), without a device. */
/* Both record their outcome in lbk_last_error through lbk_backend_error (cleared on success). */
LAZYBK_API lbk_result lbk_cuda_source(const lbk_graph *g, char **out_src) {
    lbk__cu_prog *p = NULL;
    lbk_result r;
    if (!out_src) return lbk_backend_error(LBK_ERR_ARG, -1, "lbk_cuda_source: NULL out_src");
    *out_src = NULL;
    if (!g) return lbk_backend_error(LBK_ERR_ARG, -1, "lbk_cuda_source: NULL graph");
    if ((r = lbk__cu_plan(g, &p)) != LBK_OK) return r;   /* its lbk_backend_error says why */
    *out_src = lbk__strdup(lbk__str_get(&p->src));
    lbk__cu_prog_free(&lbk__cu_self, (lbk_computation *)p);
    if (!*out_src) return lbk_backend_error(LBK_ERR_OOM, -1, "lbk_cuda_source: out of memory");
    return lbk_backend_error(LBK_OK, -1, NULL);
}
/* NVRTC compile of src to PTX for arch (e.g. "compute_80"), without a device; on a
   compile error, LBK_ERR_BACKEND and the compiler's log in *out_log. */
LAZYBK_API lbk_result lbk_cuda_ptx(const char *src, const char *arch, char **out_ptx, char **out_log) {
    lbk_result r;
    if (!src || !arch || !out_ptx)
        return lbk_backend_error(LBK_ERR_ARG, -1, "lbk_cuda_ptx: NULL %s", !src ? "src" : !arch ? "arch" : "out_ptx");
    r = lbk__cu_nvrtc(&lbk__cu_self, src, arch, out_ptx, out_log);
    return r != LBK_OK ? r : lbk_backend_error(LBK_OK, -1, NULL);   /* on failure its lbk_backend_error says why */
}
#endif /* LAZYBK_CUDA */

// >>globals ----------------------------------------------------------------------------
/* Process-wide tables, released at exit when no context is left. */
static void lbk__release_globals(void) {
    ptrdiff_t i;
    size_t k;
    lbk__lock(&lbk__reg_lock);
    for (i = 0; i < arrlen(lbk__reg_list); i++)
        if (lbk__reg_list[i]->users > 0) { lbk__unlock(&lbk__reg_lock); return; }
    for (i = 0; i < arrlen(lbk__reg_list); i++) { lbk__free(lbk__reg_list[i]->name); lbk__free(lbk__reg_list[i]); }
    for (i = 0; i < arrlen(lbk__reg_retired); i++) { lbk__free(lbk__reg_retired[i]->name); lbk__free(lbk__reg_retired[i]); }
    arrfree(lbk__reg_list);
    arrfree(lbk__reg_retired);
    shfree(lbk__reg_map);
    lbk__builtins_done = false;
    lbk__unlock(&lbk__reg_lock);
    lbk__lock(&lbk__debug_lock);
    for (k = 0; k < lbk__n_sites; k++) { lbk__free(lbk__sites[k].file); lbk__free(lbk__sites[k].module_path); }
    lbk__free(lbk__sites);
    lbk__sites = NULL;
    lbk__n_sites = lbk__cap_sites = 0;
    hmfree(lbk__site_map);
    for (k = 0; k < lbk__n_paths; k++) lbk__free(lbk__paths[k]);
    lbk__free(lbk__paths);
    lbk__paths = NULL;
    lbk__n_paths = lbk__cap_paths = 0;
    for (i = 0; i < lbk__n_calls; i++) lbk__free(lbk__calls[i].name);
    memset(lbk__calls, 0, sizeof lbk__calls);
    lbk__n_calls = 0;
    lbk__unlock(&lbk__debug_lock);
    lbk__lock(&lbk__decomp_lock);
    for (i = 0; i < shlen(lbk__decomp_user); i++) lbk__free(lbk__decomp_user[i].key);
    shfree(lbk__decomp_user);
    lbk__unlock(&lbk__decomp_lock);
    lbk__lock(&lbk__reg_lock);
    for (i = 0; i < shlen(lbk__pp_map); i++) lbk__free(lbk__pp_map[i].key);
    shfree(lbk__pp_map);
    lbk__unlock(&lbk__reg_lock);
}

// >>builtins ---------------------------------------------------------------------------
static bool lbk__register_builtins_locked(void) {
    bool ok = true;
#ifndef LAZYBK_NO_CPU_BACKEND
    if (!lbk__find_locked("cpu")) {
        lbk_backend_i cpu = lbk__cpu_iface();
        ok = lbk__register_locked(&cpu, &lbk__cpu_self) == LBK_OK;
    }
    if (ok && !lbk__find_locked("cpu-reference")) {   /* the oracle: the reference path, always */
        lbk_backend_i ref = lbk__cpu_iface();
        ref.name = "cpu-reference";
        ok = lbk__register_locked(&ref, &lbk__cpu_ref_self) == LBK_OK;
    }
#endif
#ifdef LAZYBK_CUDA
    if (ok && !lbk__find_locked("cuda")) {   /* registered always; available only with a driver and a device */
        lbk_backend_i cu = lbk__cu_iface();
        ok = lbk__register_locked(&cu, &lbk__cu_self) == LBK_OK;
    }
#endif
    return ok;
}

#ifdef __cplusplus
}
#endif
#endif /* LAZYBK_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the lazybk authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
