#!/usr/bin/env python3
"""Turns module files (format 2, written by the test suite into build/) into seeds of
tests/fuzz/corpus_load for fuzz_load.c's format-2 mode (first byte 2: u32 meta length,
meta, data) and its whole-file mode (first byte 1). Usage: tools/make_load_seeds.py FILE..."""
import hashlib, struct, sys

for path in sys.argv[1:]:
    b = open(path, 'rb').read()
    if len(b) < 64 or b[:8] != b'LBKMODL\n' or b[8] != 2:
        print('skip', path); continue
    m, = struct.unpack_from('<Q', b, 16)
    d, = struct.unpack_from('<Q', b, 32)
    seeds = [b'\x02' + struct.pack('<I', m) + b[64:64 + m] + b[d:], b'\x01' + b]
    for s in seeds:
        name = 'tests/fuzz/corpus_load/' + hashlib.sha1(s).hexdigest()
        open(name, 'wb').write(s)
        print(name, len(s))
