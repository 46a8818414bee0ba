#!/usr/bin/env python3
"""The corpus, as data:
- every file of corpus/benign (raw pickles and the containers the libraries
  wrote) is `safe` and `complete` with the default policy;
- every file of corpus/malicious reaches at least its expected verdict (or
  status, for the denial-of-service files) and emits each expected event;
- every row of corpus/differential/expected.tsv (reader differentials) reaches
  its verdict and prints its text; rows marked `gap` (brine misses them today)
  print as GAP and count neither way, and fail once brine catches them;
- every file of corpus/malformed is malformed at the offset and opcode where
  CPython raises.
Usage: corpus_test.py BRINE. Last line: `corpus: N passed, M failed`.
"""
import glob
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# `brine scan` prints "unknown" for a file whose verdict is safe but whose analysis is not
# complete (malformed, inconclusive): nothing unsafe was found, and it is not safe either
RANK = {"safe": 0, "unknown": 0, "suspicious": 1, "dangerous": 2}


def scan(brine, files):
    out = subprocess.run([brine, "scan", "--quiet"] + files, capture_output=True, text=True, timeout=600).stdout
    return {m[0]: (m[1], m[2]) for m in re.findall(r"^(\S+): (\w+) \((\w+)\)", out, re.M)}


def main():
    brine = os.path.abspath(sys.argv[1])
    os.chdir(ROOT)
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL " + what)

    benign = sorted(f for sub in ("raw", "torch", "joblib", "numpy", "pandas")
                    for f in glob.glob("corpus/benign/%s/*" % sub))
    res = scan(brine, benign)
    for f in benign:
        check(res.get(f) == ("safe", "complete"), "%s: %s, expected safe (complete)" % (f, res.get(f)))

    rows = [l.rstrip("\n").split("\t") for l in open("corpus/malicious/expected.tsv") if not l.startswith("#")]
    files = sorted(set("corpus/malicious/" + r[0] for r in rows))
    res = scan(brine, files)
    events = {}
    for f in files:
        out = subprocess.run([brine, "events", f], capture_output=True, text=True, timeout=120).stdout
        events[f] = set(tuple(l.split("\t")[3:5]) for l in out.splitlines())
    verdict_checked = set()
    for name, want, kind, detail in rows:
        f = "corpus/malicious/" + name
        got = res.get(f)
        if f not in verdict_checked:
            verdict_checked.add(f)
            if want in RANK:
                check(got is not None and RANK[got[0]] >= RANK[want], "%s: %s, expected at least %s" % (f, got, want))
            else:
                check(got is not None and got[1] == want, "%s: %s, expected status %s" % (f, got, want))
        if kind != "-":
            check((kind, detail) in events[f], "%s: no event %s %s; got %s" % (f, kind, detail, sorted(events[f])[:12]))

    # THREATS.md D: container tricks; the scan output must show the expected text
    rows = [l.rstrip("\n").split("\t") for l in open("corpus/malicious/containers/expected.tsv")
            if not l.startswith("#")]
    for name, want, text in rows:
        f = "corpus/malicious/containers/" + name
        r = subprocess.run([brine, "scan", f], capture_output=True, text=True, timeout=120)
        m = re.search(r"^%s: (\w+) \((\w+)\)" % re.escape(f), r.stdout, re.M)
        got = (m.group(1), m.group(2)) if m else None
        if want in RANK:
            ok = got is not None and RANK[got[0]] >= RANK[want] and r.returncode == 1
        else:
            ok = got is not None and got[1] == want and r.returncode in (1, 3)
        check(ok and text in r.stdout, "%s: %s (exit %d), expected %s and %r in:\n%s" % (
            f, got, r.returncode, want, text, r.stdout[-1500:]))

    # THREATS.md D, reader differentials (issue 9): each file is loaded by the real loader of
    # column 4 (corpus/differential/verify_loaders.py proves it). A row marked `gap` is one
    # brine misses today: printed as GAP, counted neither way; once brine catches it, the
    # mark must go (a failure until then), so the list stays honest.
    rows = [l.rstrip("\n").split("\t") for l in open("corpus/differential/expected.tsv")
            if not l.startswith("#")]
    gaps = 0
    for name, want, text, loader, gap in rows:
        f = "corpus/differential/" + name
        r = subprocess.run([brine, "scan", f], capture_output=True, text=True, timeout=120)
        m = re.search(r"^%s: (\w+) \((\w+)\)" % re.escape(f), r.stdout, re.M)
        got = (m.group(1), m.group(2)) if m else None
        ok = got is not None and RANK[got[0]] >= RANK[want] and r.returncode == 1 and text in r.stdout
        if gap == "gap":
            gaps += 1
            if ok:
                check(False, "%s: brine now catches it (%s): remove the gap mark in corpus/differential/expected.tsv"
                      % (f, got))
            else:
                print("GAP %s (%s: %s, expected %s and %r)" % (name, loader, got, want, text))
            continue
        check(ok, "%s: %s (exit %d), expected %s and %r (%s runs it) in:\n%s" % (
            f, got, r.returncode, want, text, loader, r.stdout[-1500:]))

    rows = [l.rstrip("\n").split("\t") for l in open("corpus/malformed/expected.tsv") if not l.startswith("#")]
    files = ["corpus/malformed/" + r[0] for r in rows]
    out = subprocess.run([brine, "dump", "--json"] + files, capture_output=True, text=True, timeout=120).stdout.splitlines()
    for (name, off, op, msg), line in zip(rows, out):
        j = json.loads(line)
        e = j.get("error") or {}
        got_op = e.get("opcode") or "-"
        check(j["status"] == "malformed" and e.get("offset") == int(off) and got_op == op,
              "%s: %s at %s %s, expected malformed at %s %s (CPython: %s)" % (
                  name, j["status"], e.get("offset"), got_op, off, op, msg))
    check(len(out) == len(rows), "dump printed %d lines for %d malformed files" % (len(out), len(rows)))
    print("corpus: %d known gaps (corpus/differential rows marked gap)" % gaps)
    print("corpus: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
