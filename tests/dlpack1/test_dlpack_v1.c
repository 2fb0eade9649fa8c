/* DLPack 1.x: Debian ships dlpack.h 0.6, so this program declares the parts of the DLPack
   1.0 ABI lazybk uses itself (the layout the DLPack 1.0 specification publishes: the
   version, then manager_ctx, deleter and flags, then the DLTensor), and checks
   lbk_from_dlpack_versioned: zero-copy with one deleter call, a strided copy, bool, and a
   refused major version. Prints "dlpack-v1: N passed, N failed". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DLPACK_MAJOR_VERSION 1
#define DLPACK_MINOR_VERSION 0
typedef enum { kDLCPU = 1, kDLCUDA = 2, kDLCUDAHost = 3 } DLDeviceType;
typedef struct { DLDeviceType device_type; int32_t device_id; } DLDevice;
typedef enum { kDLInt = 0U, kDLUInt = 1U, kDLFloat = 2U, kDLOpaqueHandle = 3U, kDLBfloat = 4U, kDLComplex = 5U, kDLBool = 6U } DLDataTypeCode;
typedef struct { uint8_t code; uint8_t bits; uint16_t lanes; } DLDataType;
typedef struct { void *data; DLDevice device; int32_t ndim; DLDataType dtype; int64_t *shape; int64_t *strides; uint64_t byte_offset; } DLTensor;
typedef struct DLManagedTensor { DLTensor dl_tensor; void *manager_ctx; void (*deleter)(struct DLManagedTensor *self); } DLManagedTensor;
typedef struct { uint32_t major; uint32_t minor; } DLPackVersion;
typedef struct DLManagedTensorVersioned {
    DLPackVersion version;
    void *manager_ctx;
    void (*deleter)(struct DLManagedTensorVersioned *self);
    uint64_t flags;
    DLTensor dl_tensor;
} DLManagedTensorVersioned;

#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"

static int g_pass, g_fail, g_deleted;
#define CHECK(c, msg) do { if (c) g_pass++; else { g_fail++; printf("FAIL line %d: %s\n", __LINE__, msg); } } while (0)
static void del(DLManagedTensorVersioned *m) { (void)m; g_deleted++; }

int main(void) {
    lbk_ctx *ctx = lbk_ctx_create(NULL);
    float data[6] = {1, 2, 3, 4, 5, 6}, out[6];
    int64_t shape[2] = {2, 3}, strides[2] = {1, 2};
    DLManagedTensorVersioned m;
    memset(&m, 0, sizeof m);
    m.version.major = 1;
    m.deleter = del;
    m.flags = 1;   /* read-only */
    m.dl_tensor.data = data;
    m.dl_tensor.device.device_type = kDLCPU;
    m.dl_tensor.ndim = 2;
    m.dl_tensor.dtype.code = kDLFloat;
    m.dl_tensor.dtype.bits = 32;
    m.dl_tensor.dtype.lanes = 1;
    m.dl_tensor.shape = shape;
    lbk_scope s = lbk_scope_begin(ctx);
    lbk_tensor t = lbk_from_dlpack_versioned(ctx, &m);
    CHECK(t.id != 0, lbk_ctx_error(ctx));
    CHECK(lbk_read(ctx, lbk_add(ctx, t, t), out, sizeof out) == LBK_OK && out[5] == 12, "zero-copy values");
    CHECK(g_deleted == 0, "not deleted while used");
    lbk_scope_end(ctx, s, NULL, 0);
    CHECK(g_deleted == 1, "deleted once when released");
    m.dl_tensor.strides = strides;   /* column-major: copied */
    t = lbk_from_dlpack_versioned(ctx, &m);
    CHECK(g_deleted == 2, "deleted at once after a copy");
    CHECK(lbk_read(ctx, t, out, sizeof out) == LBK_OK && out[1] == 3 && out[3] == 2, "strided values");
    unsigned char bools[3] = {1, 0, 1};
    int64_t n3 = 3;
    m.dl_tensor.data = bools; m.dl_tensor.ndim = 1; m.dl_tensor.shape = &n3; m.dl_tensor.strides = NULL;
    m.dl_tensor.dtype.code = kDLBool; m.dl_tensor.dtype.bits = 8;
    t = lbk_from_dlpack_versioned(ctx, &m);
    CHECK(lbk_type(ctx, t) == LBK_BOOL, "bool");
    m.version.major = 2;
    CHECK(lbk_from_dlpack_versioned(ctx, &m).id == 0 && lbk_ctx_result(ctx) == LBK_ERR_UNSUPPORTED && strstr(lbk_ctx_error(ctx), "version 2.0"),
          "major version 2 refused");
    lbk_ctx_clear_error(ctx);
    int before = g_deleted;
    lbk_ctx_destroy(ctx);
    CHECK(g_deleted == before + 1, "the bool tensor's memory given back at destroy");
    printf("dlpack-v1: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
