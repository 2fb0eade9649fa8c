#!/bin/sh
# Runs every benchmark (1 and 2 threads where it applies), keeps their lines in
# build/bench/results.txt, writes build/bench/results.csv (case, lazybk/reference ratio per
# reference) and, with gnuplot installed, build/bench/results.png: the first ratio of
# each case as a bar, 1.0 drawn across (below it lazybk is faster than its reference).
set -e
cd "$(dirname "$0")/.."
B=build/bench
: > $B/results.txt
for b in bench_core bench_cpu bench_eigen; do
    OMP_NUM_THREADS=1 ./$B/$b | tee -a $B/results.txt
done
# OpenBLAS on its own best kernel for this CPU: the environment's OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE (set on these machines to keep older builds safe) are unset for it alone
for b in bench_matmul bench_matmul_blas; do
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 ./$B/$b | tee -a $B/results.txt
done
OMP_NUM_THREADS=2 ./$B/bench_cpu | sed "s/^\(P[0-9]*\) /\1 (2 threads) /" | tee -a $B/results.txt
# against PyTorch eager (Debian's python3-torch lives in /usr/bin/python3's dist-packages)
if /usr/bin/python3 -c "import torch" >/dev/null 2>&1; then
    /usr/bin/python3 benchmarks/bench_torch.py | tee -a $B/results.txt
else
    echo "bench_torch: skipped: python3-torch is not installed (apt-get install python3-torch)" | tee -a $B/results.txt
fi
{
    echo "case,ratio"
    grep -E '^ *P[0-9]' $B/results.txt | while IFS= read -r line; do
        name=$(printf '%s' "$line" | sed -E 's/^ +//; s/  .*//; s/,/;/g')
        case "$line" in
            *LAZYBK_BLAS*) name="$name (LAZYBK_BLAS)" ;;
            *Eigen*) name="$name vs Eigen" ;;
            *PyTorch*) name="$name vs PyTorch" ;;
            *"own blocked"*) name="$name (own kernel)" ;;
        esac
        ratio=$(printf '%s' "$line" | grep -oE 'ratio [0-9.]+' | head -1 | cut -d' ' -f2)
        if [ -n "$ratio" ]; then echo "\"$name\",$ratio"; fi
    done
} > $B/results.csv
echo "wrote $B/results.csv"
if command -v gnuplot >/dev/null 2>&1; then
    gnuplot <<GP
set terminal pngcairo size 1400,700 noenhanced font ",10"
set output "$B/results.png"
set datafile separator ","
set style fill solid 0.7
set boxwidth 0.7
set xtics rotate by -35 left
set ylabel "lazybk time / reference time (lower is better)"
set title "lazybk benchmarks — $(date -u +%Y-%m-%d) — $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
set key off
set yrange [0:*]
plot "$B/results.csv" every ::1 using 0:2:xtic(1) with boxes lc rgb "#4477aa", 1 with lines lc rgb "#cc3311" lw 2
GP
    echo "wrote $B/results.png"
fi
