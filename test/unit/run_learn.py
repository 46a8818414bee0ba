#!/usr/bin/env python3
"""`brine learn` and `brine policy show` round trips.
Usage: run_learn.py BRINE. Last line: `learn-show: N passed, M failed`."""
import glob
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, cwd=ROOT, **kw)


def verdicts(out):
    return dict(re.findall(r"^(\S+): (\w+) \(\w+\)", out, re.M))


def main():
    brine = os.path.abspath(sys.argv[1])
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        passed += bool(ok)
        failed += not ok
        if not ok:
            print("FAIL " + what)

    benign = sorted(glob.glob(os.path.join(ROOT, "corpus/benign/raw/*.pkl")))
    with tempfile.TemporaryDirectory() as d:
        learned = os.path.join(d, "learned.yaml")
        r = run(brine, "learn", *benign)
        open(learned, "w").write(r.stdout)
        check(r.returncode == 0 and "pack: learned" in r.stdout, "learn on trusted files exits 0: %d %s" % (
            r.returncode, r.stderr))
        check(run(brine, "policy", "check", learned).returncode == 0, "the learned policy is valid")
        v = verdicts(run(brine, "scan", "--quiet", "--policy", learned, *benign).stdout)
        check(len(v) == len(benign) and set(v.values()) == {"safe"}, "the learned policy admits what it learned from: %s"
              % sorted(set(v.values())))
        other = os.path.join(d, "other.pkl")
        open(other, "wb").write(b"\x80\x02cmymodule\nthing\n)R.")
        v = verdicts(run(brine, "scan", "--policy", learned, other).stdout)
        check(v.get(other) == "suspicious", "and nothing else: %s" % v)
        r = run(brine, "learn", os.path.join(ROOT, "corpus/malicious/A-os-system.pkl"))
        allowed = re.findall(r'name: "([^"]+)"', r.stdout)
        check(r.returncode == 1 and "os:system" in r.stdout and "os:system" not in allowed and "Refused" in r.stdout,
              "learn refuses a dangerous name: exit %d, allowed %s" % (r.returncode, allowed))
        eff = os.path.join(d, "effective.yaml")
        r = run(brine, "policy", "show")
        open(eff, "w").write(r.stdout)
        check(r.returncode == 0 and run(brine, "policy", "check", eff).returncode == 0, "policy show writes a valid policy")
        v = verdicts(run(brine, "scan", "--quiet", "--policy", eff, *benign).stdout)
        check(set(v.values()) == {"safe"}, "the shown policy admits the benign corpus: %s" % sorted(set(v.values())))
        mal = os.path.join(ROOT, "corpus/malicious/B-py2-builtin-eval.pkl")
        v = verdicts(run(brine, "scan", "--policy", eff, mal).stdout)
        check(v.get(mal) == "dangerous", "and keeps its denies: %s" % v)
    print("learn-show: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
