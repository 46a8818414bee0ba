#!/usr/bin/env python3
"""Check that brine emits the exact events of test/threats/events.tsv.

Usage: run_events.py BRINE [events.tsv]. Ends with `threat-events: N passed, M failed`.
"""
import ast
import os
import subprocess
import sys
import tempfile


def main():
    brine = sys.argv[1]
    path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "events.tsv")
    passed = failed = 0
    with open(path, encoding="utf-8") as f, tempfile.TemporaryDirectory() as d:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cid, lit, opcode, kind, detail = line.split("\t")
            data = ast.literal_eval(lit)
            p = os.path.join(d, "in")
            with open(p, "wb") as g:
                g.write(data)
            out = subprocess.run([brine, "events", p], capture_output=True, timeout=60)
            events = [l.split("\t")[2:] for l in out.stdout.decode("utf-8", "replace").splitlines()]
            want = [opcode, kind, detail]
            if out.returncode == 0 and want in events:
                passed += 1
            else:
                failed += 1
                print("FAIL %s (line %d): want %s\n  got:\n    %s" % (cid, lineno, "\t".join(want),
                      "\n    ".join("\t".join(e) for e in events)))
    print("threat-events: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
