/* Replays the fuzz corpora (tests/fuzz/corpus_api, tests/fuzz/corpus_load,
   tests/fuzz/corpus_weights) through the three fuzz targets, built with the ordinary compiler: part of `make test` (and of `make
   sanitize` and `make valgrind` through the same file). Prints "fuzz-replay: N inputs". */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION 1   /* as the fuzz targets are built (fuzz_load.c) */
#define LAZYBK_IMPLEMENTATION
#include "lazybk.h"
#include "fuzz_api.c"
#include "fuzz_load.c"
#include "fuzz_weights.c"

static int replay(const char *dir, int (*fn)(const uint8_t *, size_t)) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d) { printf("fuzz-replay: no %s\n", dir); exit(1); }
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        FILE *f;
        long size;
        unsigned char *buf;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!(f = fopen(path, "rb"))) continue;
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = (unsigned char *)malloc((size_t)size + 1);
        if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) { fn(buf, (size_t)size); n++; }
        free(buf);
        fclose(f);
    }
    closedir(d);
    return n;
}

int main(void) {
    int a = replay("tests/fuzz/corpus_api", lbk_fuzz_api), b = replay("tests/fuzz/corpus_load", lbk_fuzz_load);
    int c = replay("tests/fuzz/corpus_weights", lbk_fuzz_weights);
    lbk_fuzz_api(NULL, 0);
    lbk_fuzz_load(NULL, 0);
    lbk_fuzz_weights(NULL, 0);
    printf("fuzz-replay: %d api programs, %d module files, %d weights files, no crash\n", a, b, c);
    return 0;
}
