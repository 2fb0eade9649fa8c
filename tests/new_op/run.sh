#!/bin/sh
# Adds a unary op "cube_t" to a scratch copy of lazybk.h in three steps (the places a
# maintainer touches) and runs tests/new_op/new_op.c on each: the table row alone must
# fail clearly; row + reference kernel must compute on both cpu paths and pass
# lbk_backend_check; row + reference kernel + tile kernel likewise (fused).
set -e
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
OUT=${BUILD:-build}/new_op
STB=$(pkg-config --cflags stb 2>/dev/null || echo -I/usr/include/stb)
mkdir -p "$OUT/1" "$OUT/2" "$OUT/3"
# 1. the row, after neg's
awk '{ print } /^  X\(NEG, / { print "  X(CUBE_T,      cube_t,      UNARY,     UNARY,  1, 1,   ew,        FLOAT,   none,    LBK_OPF_FUSIBLE,     NULL) \\" }' \
    lazybk.h > "$OUT/1/lazybk.h"
# 2. the reference kernel, after exp's
awk '{ print } /^        case LBK_OP_EXP: LBK__FLOAT_ONLY\(exp\(x_\)\) break;$/ { print "        case LBK_OP_CUBE_T: LBK__FLOAT_ONLY(x_ * x_ * x_) break;" }' \
    "$OUT/1/lazybk.h" > "$OUT/2/lazybk.h"
# 3. the tile kernel, after neg's
awk '{ print } /^        case LBK_OP_NEG: \{ for \(i = 0; i < LBK__TILE; i\+\+\) o\[i\] = -a\[i\]; \} break;/ { print "        case LBK_OP_CUBE_T: { for (i = 0; i < LBK__TILE; i++) o[i] = a[i] * a[i] * a[i]; } break; \\" }' \
    "$OUT/2/lazybk.h" > "$OUT/3/lazybk.h"
for s in 1 2 3; do
    [ "$(cat "$OUT/$s/lazybk.h" | wc -l)" -eq "$(( $(wc -l < lazybk.h) + s ))" ] || { echo "new-op: stage $s did not apply (an anchor moved)"; exit 1; }
    $CC -std=c99 -O1 -Wall -Wextra -Werror -DSTAGE=$s -I"$OUT/$s" $STB tests/new_op/new_op.c -o "$OUT/$s/new_op" -lm -lpthread
    ./"$OUT/$s/new_op"
done
