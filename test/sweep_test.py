#!/usr/bin/env python3
"""The sweep corpus (corpus/sweep, made by make_sweep.py) against the default policy:
- every file is `safe (complete)`, except the files corpus/sweep/expected-exceptions.tsv
  lists;
- every listed exception is still not `safe (complete)` (so the list stays honest:
  a file that became safe must leave the list).

Usage: sweep_test.py BRINE            the test; last line `sweep: N passed, M failed`
       sweep_test.py BRINE --report   counts per folder and verdict, no test
       sweep_test.py BRINE --list     every file not safe (complete), as TSV rows
Standard library only.
"""
import collections
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWEEP = os.path.join(ROOT, "corpus", "sweep")
NOT_SAMPLES = {"make_sweep.py", "MANIFEST.tsv", "SKIPPED.txt", "README.md", "expected-exceptions.tsv"}


def files():
    out = []
    for d in sorted(os.listdir(SWEEP)):
        p = os.path.join(SWEEP, d)
        if os.path.isdir(p):
            out += sorted("corpus/sweep/%s/%s" % (d, f) for f in os.listdir(p))
    return out


def scan(brine, fs):
    res = {}
    for i in range(0, len(fs), 400):
        r = subprocess.run([brine, "scan", "--quiet"] + fs[i:i + 400], capture_output=True, text=True,
                           timeout=1200, cwd=ROOT)
        for m in re.finditer(r"^(\S+): (\w+) \((\w+)\)", r.stdout, re.M):
            res[m.group(1)] = (m.group(2), m.group(3))
    return res


def main():
    brine = os.path.abspath(sys.argv[1])
    fs = files()
    res = scan(brine, fs)
    if "--report" in sys.argv:
        c = collections.Counter()
        for f in fs:
            c[(f.split("/")[2], "%s (%s)" % res.get(f, ("missing", "-")))] += 1
        for (d, v), n in sorted(c.items()):
            print("%-10s %-28s %5d" % (d, v, n))
        safe = sum(1 for f in fs if res.get(f) == ("safe", "complete"))
        print("total: %d files, %d safe (complete), %d not" % (len(fs), safe, len(fs) - safe))
        return 0
    if "--list" in sys.argv:
        for f in fs:
            if res.get(f) != ("safe", "complete"):
                print("%s\t%s (%s)" % ((f[len("corpus/sweep/"):],) + res.get(f, ("missing", "-"))))
        return 0
    expected = {}
    for line in open(os.path.join(SWEEP, "expected-exceptions.tsv"), encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        cols = line.rstrip("\n").split("\t")
        expected["corpus/sweep/" + cols[0]] = cols[1:]
    passed = failed = 0
    for f in fs:
        got = res.get(f)
        ok_safe = got == ("safe", "complete")
        if f in expected:
            if ok_safe:
                failed += 1
                print("FAIL %s: safe (complete) now: remove it from expected-exceptions.tsv" % f)
            else:
                passed += 1
        elif ok_safe:
            passed += 1
        else:
            failed += 1
            print("FAIL %s: %s, expected safe (complete)" % (f, got))
    for f in sorted(set(expected) - set(fs)):
        failed += 1
        print("FAIL %s: listed in expected-exceptions.tsv but not in the corpus" % f)
    print("sweep: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
