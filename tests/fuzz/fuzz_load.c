/* Fuzz target: bytes to lbk_module_load_memory. The first byte chooses the mode: odd, the
   rest is a whole file (magic, version, sizes, checksum: header parsing); even, the rest
   is a payload that gets a valid header and checksum here, so the fuzzer explores the
   payload parser, the blob checks and compile. Nothing may crash, leak or trip a
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
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return lbk_fuzz_load(data, size); }
#endif
