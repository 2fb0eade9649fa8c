/* Fuzz target: bytes to lbk_module_load_memory. The first byte chooses the mode: odd, the
   rest is a whole file (magic, version, sizes, checksums: header parsing); 0 mod 4, the
   rest is a format-1 payload that gets a valid header and checksum here; 2 mod 4, bytes
   1-4 (the meta's length, u32 little-endian, clamped) split the rest into a format-2 meta and data section, given a valid header
   and meta checksum (built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, the loader does
   not insist on the data checksum, which only a parse of the meta could give). So the
   fuzzer explores the parsers, the data-section layout checks, the blob checks and compile. Nothing may crash, leak or trip a
   sanitizer. Built with libFuzzer by `make fuzz`, replayed over tests/fuzz/corpus_load
   by `make test`. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "lazybk.h"

int lbk_fuzz_load(const uint8_t *data, size_t size);
int lbk_fuzz_load(const uint8_t *data, size_t size) {
    static lbk_ctx *ctx;
    static int runs;
    unsigned char *file;
    size_t n;
    lbk_module *m;
    if (!data) { lbk_ctx_destroy(ctx); ctx = NULL; return 0; }   /* the end */
    if (size < 1) return 0;
    if (!ctx || ++runs % 4096 == 0) {
        lbk_ctx_destroy(ctx);
        if (!(ctx = lbk_ctx_create(NULL))) return 0;
    }
    if (data[0] & 1) {
        m = lbk_module_load_memory(ctx, data + 1, size - 1);
    } else if (data[0] & 2) {
        uint64_t h = 0xcbf29ce484222325ULL, len, doff, dsize;
        size_t i, rest = size > 5 ? size - 5 : 0;
        len = size > 5 ? (uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16 | (uint64_t)data[4] << 24 : 0;
        if (len > rest) len = rest;
        doff = (64 + len + 63) & ~(uint64_t)63;
        dsize = rest - len;
        n = (size_t)(doff + dsize);
        if (!(file = (unsigned char *)calloc(n ? n : 1, 1))) return 0;
        memcpy(file, "LBKMODL\n", 8);
        file[8] = 2;
        for (i = 0; i < len; i++) { h ^= data[5 + i]; h *= 0x100000001b3ULL; }
        for (i = 0; i < 8; i++) {
            file[16 + i] = (unsigned char)(len >> (8 * i)); file[24 + i] = (unsigned char)(h >> (8 * i));
            file[32 + i] = (unsigned char)(doff >> (8 * i)); file[40 + i] = (unsigned char)(dsize >> (8 * i));
        }
        if (len) memcpy(file + 64, data + 5, (size_t)len);
        if (dsize) memcpy(file + doff, data + 5 + len, (size_t)dsize);
        m = lbk_module_load_memory(ctx, file, n);
        free(file);
    } else {
        uint64_t h = 0xcbf29ce484222325ULL, len = size - 1;
        size_t i;
        n = 32 + len;
        if (!(file = (unsigned char *)malloc(n))) return 0;
        memcpy(file, "LBKMODL\n", 8);
        file[8] = 1; file[9] = file[10] = file[11] = 0;
        memset(file + 12, 0, 4);
        for (i = 0; i < len; i++) { h ^= data[1 + i]; h *= 0x100000001b3ULL; }
        for (i = 0; i < 8; i++) { file[16 + i] = (unsigned char)(len >> (8 * i)); file[24 + i] = (unsigned char)(h >> (8 * i)); }
        memcpy(file + 32, data + 1, len);
        m = lbk_module_load_memory(ctx, file, n);
        free(file);
    }
    lbk_module_destroy(m);
    lbk_ctx_clear_error(ctx);
    if (lbk_live_tensors(ctx) != 0) abort();
    return 0;
}

#ifdef LBK_FUZZ_MAIN
#define FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION 1
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return lbk_fuzz_load(data, size); }
#endif
