/* Fuzz target: bytes to lbk_weights_open_memory. The first byte chooses the mode: 0 mod 3,
   the rest is a whole file (either format, by its magic); 1 mod 3, the rest is a
   safetensors JSON header after byte 1, which sets the size of a zeroed data area (so the
   fuzzer spends its time in the JSON reader and the header checks, not on the length
   field); 2 mod 3, the rest is a GGUF file after "GGUF" and version 3. A file that opens
   has every tensor made, synced and read, and every metadata key and array element read. Nothing may crash, leak or trip a sanitizer.
   Built with libFuzzer by `make fuzz`, replayed over tests/fuzz/corpus_weights by
   `make test`. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "lazybk.h"

int lbk_fuzz_weights(const uint8_t *data, size_t size);
int lbk_fuzz_weights(const uint8_t *data, size_t size) {
    static lbk_ctx *ctx;
    static int runs;
    unsigned char *file = NULL;
    size_t n = 0;
    lbk_weights *w;
    int i;
    if (!data) { lbk_ctx_destroy(ctx); ctx = NULL; return 0; }   /* the end */
    if (size < 1) return 0;
    if (!ctx || ++runs % 4096 == 0) {
        lbk_ctx_destroy(ctx);
        if (!(ctx = lbk_ctx_create(NULL))) return 0;
    }
    switch (data[0] % 3) {
    case 0:
        w = lbk_weights_open_memory(ctx, data + 1, size - 1);
        break;
    case 1: {
        size_t json = size > 2 ? size - 2 : 0, extra = size > 1 ? data[1] : 0, k;
        n = 8 + json + extra;
        if (!(file = (unsigned char *)calloc(n, 1))) return 0;
        for (k = 0; k < 8; k++) file[k] = (unsigned char)((uint64_t)json >> (8 * k));
        if (json) memcpy(file + 8, data + 2, json);
        w = lbk_weights_open_memory(ctx, file, n);
        break;
    }
    default:
        n = 8 + size - 1;
        if (!(file = (unsigned char *)malloc(n))) return 0;
        memcpy(file, "GGUF\x03\0\0\0", 8);
        memcpy(file + 8, data + 1, size - 1);
        w = lbk_weights_open_memory(ctx, file, n);
        break;
    }
    free(file);
    for (i = 0; w && i < lbk_weights_count(w); i++) {
        lbk_tensor t = lbk_weights_get(w, lbk_weights_name(w, i));
        if (t.id) {
            int64_t bytes = lbk_numel(ctx, t) * (int64_t)lbk_dtype_size(lbk_type(ctx, t));   /* counts under 2^63 elements and bytes: checked at open */
            void *buf;
            if (bytes < (1 << 20) && (buf = malloc((size_t)bytes + 1)) != NULL) {
                if (lbk_read(ctx, t, buf, (size_t)bytes) != LBK_OK) abort();   /* checked at open: a read cannot fail */
                free(buf);
            }
            lbk_release(ctx, t);
        }
        (void)lbk_weights_meta(w, lbk_weights_name(w, i));
    }
    for (i = 0; w && i < lbk_weights_meta_count(w); i++) {   /* every key; arrays element by element (a few) */
        const char *key = lbk_weights_meta_key(w, i), *ty;
        int64_t cnt = lbk_weights_meta_array(w, key, &ty), j;
        char buf[16];
        if (!key) abort();
        (void)lbk_weights_meta(w, key);
        for (j = 0; j < cnt && j < 64; j++) { (void)lbk_weights_meta_item(w, key, j, buf, sizeof buf); (void)lbk_weights_meta_number(w, key, j); }
        if (cnt > 0) (void)lbk_weights_meta_item(w, key, cnt - 1, buf, sizeof buf);
    }
    lbk_weights_close(w);
    lbk_ctx_clear_error(ctx);
    if (lbk_live_tensors(ctx) != 0) abort();
    return 0;
}

#ifdef LBK_FUZZ_MAIN
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return lbk_fuzz_weights(data, size); }
#endif
