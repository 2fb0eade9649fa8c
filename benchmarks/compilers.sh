#!/bin/sh
# make bench-compilers: the same lazybk benchmarks (bench_cpu's fused chains and row
# kernels, bench_matmul's own kernel) built by gcc and clang, in GNU and ISO C modes,
# each -O2 with no -march as users build; one thread; each case's lazybk time per build and
# its ratio to the gcc GNU-mode build (issue 16: clang and ISO builds within 10 %).
set -e
cd "$(dirname "$0")/.."
B=build/bench/compilers
mkdir -p $B
STB=$(pkg-config --cflags stb 2>/dev/null || echo -I/usr/include/stb)
builds="gcc:gnu17 gcc:c99 clang:gnu17 clang:c99"
for bld in $builds; do
    cc=${bld%%:*}; std=${bld#*:}
    if ! command -v "$cc" >/dev/null 2>&1; then echo "compilers: $cc is not installed: skipped"; continue; fi
    for b in bench_cpu bench_matmul; do
        extra=""; [ "$b" = bench_matmul ] && extra="-lopenblas"
        "$cc" -std="$std" -O2 -fopenmp -I. $STB benchmarks/$b.c -o "$B/$b-$cc-$std" $extra -lm -lpthread
    done
done
: > $B/times.txt
for bld in $builds; do
    cc=${bld%%:*}; std=${bld#*:}
    [ -x "$B/bench_cpu-$cc-$std" ] || continue
    { OMP_NUM_THREADS=1 "$B/bench_cpu-$cc-$std"; env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$B/bench_matmul-$cc-$std"; } |
        grep -E '^P[0-9]' | grep -v 'P8 ' | grep -v 'threads' |
        sed -E 's/^(P[0-9]+ [^|]*[^ ]) +lazybk +([0-9.]+) (ms|GFLOP).*/\1|\2|\3/; s/^(P4 [^ ]+ [^ ]+ [^ ]+), 1 thread +lazybk own blocked kernel +([0-9.]+) GFLOP.*/\1|\2|GFLOP/' |
        grep '|' | sed "s/^/$cc-$std|/" >> $B/times.txt
done
echo "lazybk built by each compiler and C mode (-O2, no -march), 1 thread; ratio: time (or 1/GFLOP/s) against gcc -std=gnu17"
awk -F'|' '
    { key = $2; t[$1, key] = $3; unit[key] = $4; if (!(key in seen)) { seen[key] = 1; order[n++] = key } b[$1] = 1 }
    END {
        split("gcc-gnu17 gcc-c99 clang-gnu17 clang-c99", cols, " ");
        printf "%-34s", "case"; for (c = 1; c <= 4; c++) if (cols[c] in b) printf " %18s", cols[c]; printf "\n";
        for (i = 0; i < n; i++) {
            k = order[i]; base = t["gcc-gnu17", k];
            printf "%-34s", k;
            for (c = 1; c <= 4; c++) {
                if (!(cols[c] in b)) continue;
                v = t[cols[c], k];
                if (v == "" || base == "") { printf " %18s", "-"; continue }
                r = unit[k] == "GFLOP" ? base / v : v / base;
                printf " %10s %s", v, sprintf("(%.2f)", r);
            }
            printf "\n";
        }
    }' $B/times.txt
