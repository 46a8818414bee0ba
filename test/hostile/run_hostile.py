#!/usr/bin/env python3
"""Hostile-input test (THREATS.md section E): every shape of shapes.py, at
1 MiB and 4 MiB, must make `brine scan`
  - finish within a time bound (generous: sanitizer builds are slow),
  - not report `safe (complete)` (nor exit 0) when a limit was hit,
  - keep its peak RSS (wait4 rusage of the child) under a bound derived from
    the limits it runs with: max_bytes for retained values, 16 bytes per
    stack slot, 48 per memo entry (dense part and sparse slots), twice the
    input, and a fixed allowance for the process itself.
The scans run with --max-bytes 64 MiB so that the bound is tight.

Usage: run_hostile.py BRINE
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes  # noqa: E402

MAX_BYTES = 64 << 20
MAX_STACK = 1000000   # the defaults (brine_settings_default)
MAX_MEMO = 1000000
FIXED = 48 << 20      # the process, libraries, the compiled policy, reports
TIME_BOUND = 60.0


SANITIZED = False  # an ASan build: shadow memory and redzones add a share of their own


def rss_bound(input_size):
    bound = MAX_BYTES + 16 * MAX_STACK + 48 * MAX_MEMO + 2 * input_size + FIXED
    return bound + bound // 4 + (32 << 20) if SANITIZED else bound


def measure(cmd, time_bound):
    """Run cmd; (seconds, peak RSS in bytes from wait4, exit code, output), or
    (None, 0, -9, "") when it was killed after time_bound seconds."""
    with tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t > time_bound:
                p.kill()
                os.wait4(p.pid, 0)
                return None, 0, -9, ""
            time.sleep(0.002)
        dt = time.perf_counter() - t
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return dt, ru.ru_maxrss * 1024, os.waitstatus_to_exitcode(status), text


def scan(brine, path):
    return measure([brine, "scan", "--max-bytes", str(MAX_BYTES), "--max-memo", str(MAX_MEMO), path], TIME_BOUND)


def main():
    global SANITIZED
    brine = sys.argv[1]
    with open(brine, "rb") as f:
        SANITIZED = b"__asan_init" in f.read()
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shapes.py")
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        for mb in (1, 4):
            size = mb << 20
            # a separate process writes the files: this one stays small, so
            # its children's ru_maxrss does not start at our size
            subprocess.run([sys.executable, here, d, str(size)], check=True)
            for name, _ in [("benign", None)] + shapes.HOSTILE:
                path = os.path.join(d, shapes.slug(name) + ".pkl")
                n = os.path.getsize(path)
                dt, rss, rc, text = scan(brine, path)
                lines = text.strip().splitlines()
                last = lines[-1] if lines else ""
                problems = []
                if dt is None:
                    problems.append("did not finish in %.0f s" % TIME_BOUND)
                else:
                    hit = "max_" in text or "out of memory" in text
                    if hit and ("safe (complete)" in last or rc == 0):
                        problems.append("hit a limit but reported %r, exit %d" % (last, rc))
                    if rc not in (0, 1, 3):
                        problems.append("exit code %d" % rc)
                    if name == "benign" and rc != 0:
                        problems.append("the benign pickle is not safe: %r" % last)
                    if rss > rss_bound(n):
                        problems.append("peak RSS %d MiB over the bound %d MiB" % (rss >> 20, rss_bound(n) >> 20))
                tag = "%s, %d MiB" % (name, mb)
                if problems:
                    failed += 1
                    print("FAIL %s: %s" % (tag, "; ".join(problems)))
                else:
                    passed += 1
                    print("ok   %s: %.2f s, %d MiB, %s" % (tag, dt, rss >> 20, last.split(": ", 1)[-1][:80]))
    print("hostile: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
