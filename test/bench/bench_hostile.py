#!/usr/bin/env python3
"""Hostile shapes against a benign pickle of the same size (THREATS.md E).

For each size and each shape of test/hostile/shapes.py (wide and deep tuple
keys, equal copies of them, frozensets of shared deep values, billion-laughs
memo references, DUP chains, memo key collisions, a big memo followed by
thousands of tiny pickles) it writes the pickle, runs `brine scan` on it in a
fresh process and prints the wall time, the ratio hostile/benign, the child's
peak RSS (wait4 rusage) and the verdict line. The target: every ratio small
(< 5x), or the shape ends inconclusive on a named limit quickly. Asserts
nothing (test/hostile/run_hostile.py is the test).

Usage: bench_hostile.py BRINE [--sizes 1,4] [--timeout S] [--repeat N] [--only SUBSTR]
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import shapes  # noqa: E402


def run(brine, path, timeout):
    """(seconds, peak RSS in KiB, last output line), seconds None on timeout.
    The output goes to a file: a pipe nobody reads would stall the child."""
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss:
        # GNU time forks brine from a small process and writes its peak RSS:
        # a child of this process may report this process's size instead
        cmd = [brine, "scan", path]
        if os.path.exists("/usr/bin/time"):
            cmd = ["/usr/bin/time", "-f", "%M", "-o", rss.name] + cmd
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = t + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                p.returncode = 0
                return None, ru.ru_maxrss, "timeout"
            time.sleep(0.002)
        dt = time.perf_counter() - t
        p.returncode = status
        out.seek(0)
        lines = out.read().decode("utf-8", "replace").strip().splitlines()
        kib = ru.ru_maxrss
        if cmd[0] == "/usr/bin/time":
            try:
                kib = int(rss.read().strip().splitlines()[-1])
            except (ValueError, IndexError):
                pass
    lines = [x for x in lines if not x.startswith("Command exited with non-zero status")]
    last = lines[-1] if lines else ""
    return dt, kib, last.split(": ", 1)[-1]


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main():
    brine = sys.argv[1]
    sizes = [float(x) for x in arg("--sizes", "1,4").split(",")]
    timeout = float(arg("--timeout", "120"))
    repeat = int(arg("--repeat", "1"))
    only = arg("--only", "")
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile", "shapes.py")
    print("%-28s %6s %9s %8s %9s  %s" % ("shape", "MB", "seconds", "ratio", "peak RSS", "verdict"))
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "empty.pkl")
        with open(p, "wb") as f:
            f.write(b"N.")
        _, r0, _ = run(brine, p, timeout)
        print("(peak RSS of `brine scan` on a 2-byte pickle: %d MB)" % (r0 >> 10))
        for mb in sizes:
            size = int(mb * (1 << 20))
            subprocess.run([sys.executable, here, d, str(size)], check=True)
            tb = None
            for name, _ in [("benign", None)] + shapes.HOSTILE + shapes.BENCH_ONLY:
                if only and only not in name and name != "benign":
                    continue
                p = os.path.join(d, shapes.slug(name) + ".pkl")
                res = [run(brine, p, timeout) for _ in range(repeat)]
                t, r, v = min(res, key=lambda x: float("inf") if x[0] is None else x[0])
                if tb is None:
                    tb = t or timeout
                ratio = ">%.0fx" % (timeout / tb) if t is None else "%.1fx" % (t / tb)
                ts = ">%.0f" % timeout if t is None else "%.3f" % t
                print("%-28s %6.2f %9s %8s %7d MB  %s" % (name, os.path.getsize(p) / 2**20, ts, ratio, r >> 10, v[:90]))
                sys.stdout.flush()


if __name__ == "__main__":
    main()
