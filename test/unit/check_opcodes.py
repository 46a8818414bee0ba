#!/usr/bin/env python3
"""analyzer/vm/opcodes.def must say what pickletools says of every opcode:
the same names, code bytes, argument kinds and protocols, in the same order.
Usage: check_opcodes.py SRC. Last line: `opcodes-table: N passed, M failed`."""
import os
import pickletools
import re
import sys

src = sys.argv[1]
rows = re.findall(r"^BRINE_OP\((\w+),\s*0x([0-9a-f]{2}),\s*(\w+),\s*(\d)\)", open(
    os.path.join(src, "analyzer", "vm", "opcodes.def")).read(), re.M)
want = [(op.name, op.code.encode("latin-1")[0], op.arg.name.upper() if op.arg else "NONE", op.proto)
        for op in pickletools.opcodes]
passed = failed = 0
got = [(n, int(c, 16), a, int(p)) for n, c, a, p in rows]
for i, w in enumerate(want):
    g = got[i] if i < len(got) else None
    if g == w:
        passed += 1
    else:
        failed += 1
        print("FAIL opcode %d: opcodes.def %s, pickletools %s" % (i, g, w))
if len(got) != len(want):
    failed += 1
    print("FAIL opcodes.def has %d opcodes, pickletools %d" % (len(got), len(want)))
print("opcodes-table: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
