#!/usr/bin/env python3
"""Run test/unit/vm_cases.tsv against `brine dump --json`.

Usage: run_cases.py BRINE [CASES.tsv]
Each case: family, input (Python bytes literal), expected status, expected value.
Ends with `unit-vm: N passed, M failed`; exits 1 on any failure.
"""
import ast
import json
import os
import subprocess
import sys
import tempfile


def main():
    brine = sys.argv[1]
    path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "vm_cases.tsv")
    cases = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            family, lit, status, value = line.split("\t")
            cases.append((lineno, family, ast.literal_eval(lit), status, value))
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, c in enumerate(cases):
            p = os.path.join(d, "c%d" % i)
            with open(p, "wb") as f:
                f.write(c[2])
            paths.append(p)
        out = subprocess.run([brine, "dump", "--json"] + paths, capture_output=True, timeout=120)
        lines = out.stdout.decode().splitlines()
        if len(lines) != len(cases):
            print("unit-vm: brine printed %d lines for %d cases: %s" % (len(lines), len(cases), out.stderr.decode()))
            print("unit-vm: 0 passed, %d failed" % len(cases))
            return 1
        for (lineno, family, data, status, value), line in zip(cases, lines):
            got = json.loads(line)
            ok = got["status"] == status
            if ok and value != "-":
                ok = got["value"] == json.loads(value)
            if ok:
                passed += 1
            else:
                failed += 1
                print("FAIL %s line %d %r\n  expected %s %s\n  got      %s" % (family, lineno, data, status, value, line))
    print("unit-vm: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
