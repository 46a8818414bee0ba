#!/usr/bin/env python3
"""Run `meson test` in each given build directory and add up the per-test
counts (every test ends with `<name>: N passed, M failed`).

Usage: test/run_all.py BUILDDIR[:TEST,TEST...]... ; last line: `tests: N passed, M failed`.
BUILDDIR:TEST,... runs only the named tests there (the ThreadSanitizer build).
"""
import re
import subprocess
import sys

LINE = re.compile(r"^([\w-]+): (\d+) passed, (\d+) failed$", re.M)


def main():
    total_p = total_f = 0
    for arg in sys.argv[1:]:
        build, _, only = arg.partition(":")
        r = subprocess.run(["meson", "test", "-C", build, "--print-errorlogs", "--no-rebuild", "-v"] +
                           [t for t in only.split(",") if t], capture_output=True, text=True)
        out = r.stdout + r.stderr
        found = LINE.findall(out)
        p = sum(int(x[1]) for x in found)
        f = sum(int(x[2]) for x in found)
        for name, tp, tf in found:
            print("%-14s %-16s %6s passed, %s failed" % (build, name, tp, tf))
        if r.returncode != 0:
            # a test that crashed before printing its count still fails the run
            fails = re.findall(r"^\s*\d+/\d+ (?:\S+ / )?(\S+)\s+(FAIL|ERROR|TIMEOUT)", out, re.M)
            for fl in fails:
                print("%s: test %s: %s" % (build, fl[0], fl[1]))
            f = max(f, 1) if not fails else f + sum(1 for _ in fails if not any(fl[0] == n for n, _, _ in found))
            sys.stdout.write(out[-6000:])
        total_p += p
        total_f += f
    print("tests: %d passed, %d failed" % (total_p, total_f))
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
