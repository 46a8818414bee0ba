#!/usr/bin/env python3
"""Policy language tests (test/policy/cases.tsv). Run from test/policy.

Usage: run_policy.py BRINE. Ends with `policy-lang: N passed, M failed`.
"""
import ast
import os
import subprocess
import sys
import tempfile

VERDICT = {0: "safe", 1: "unsafe", 3: "safe"}


def main():
    brine = os.path.abspath(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    passed = failed = 0
    with open(os.path.join(here, "cases.tsv"), encoding="utf-8") as f, tempfile.TemporaryDirectory() as d:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            kind, policy, lit, expect, text = line.split("\t")
            if kind == "scan":
                p = os.path.join(d, "in.pkl")
                with open(p, "wb") as g:
                    g.write(ast.literal_eval(lit))
                r = subprocess.run([brine, "scan", "--policy", policy, p], capture_output=True, text=True,
                                   cwd=here, timeout=60)
                out = r.stdout + r.stderr
                want_rc = 0 if expect == "safe" else 1
                ok = r.returncode == want_rc and ("%s (" % expect) in out and (text == "-" or text in out)
            else:
                r = subprocess.run([brine, "policy", "check", policy], capture_output=True, text=True, cwd=here,
                                   timeout=60)
                out = r.stdout + r.stderr
                ok = (r.returncode == 0) == (expect == "ok") and text in out
            if ok:
                passed += 1
            else:
                failed += 1
                print("FAIL line %d: %s\n  got rc=%d:\n    %s" % (lineno, line, r.returncode,
                                                                 out.strip().replace("\n", "\n    ")))
    print("policy-lang: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
