#!/usr/bin/env python3
"""The data rows of the speed table (README, Performance), side by side in one
run: for each input, `brine scan` in a fresh process (start-up included, best
of N) against CPython's `pickle.loads` (the C unpickler, real classes) and
`pickletools.genops` (decoding only) in this process, the ratios (how many
times faster brine is), brine's verdict and its peak RSS. Asserts nothing.

Usage: bench_table.py BRINE [--repeat N] [--big-mb M]
Run it with an interpreter that has scikit-learn (the RandomForest row is
skipped otherwise), e.g. /usr/bin/python3 on Debian.

A second table gives what brine costs without a process's start (about
0.6 ms, which alone is a sixth of the RandomForest's `loads`), through the
Python binding built next to BRINE (BUILD/python) and in a batch:
- check: the scan brine.safe_loads runs before it loads (the names of the
  globals, no JSON report), in this process;
- report: brine.scan(data), which also makes the JSON report and the file's
  sha256 (hashed on another core while the scan runs: the longer of the two);
- batch: `brine scan --quiet` of K hard links to the file in one process, the
  time per file (the start-up shared by the K).
"""
import os
import pickle
import pickletools
import resource
import subprocess
import sys
import tempfile
import time


def best(fn, repeat, warm=0):
    """Best wall time and best CPU time (this process and its children) of repeat runs (after warm untimed ones)."""
    for _ in range(warm):
        fn()
    t = c = float("inf")
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c0 = time.process_time()
        s = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - s)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c = min(c, time.process_time() - c0 + (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime))
    return t, c


def dict_of_lists():
    # 2.7M opcodes: 3,000 keys, each a list of 300 short records
    return pickle.dumps({"key%d" % k: [("n%d" % i, i, i * 0.25) for i in range(150)] for k in range(3000)}, protocol=4)


def dict_of_int_lists():
    return pickle.dumps({k: list(range(k, k + 1000)) for k in range(1000)}, protocol=4)


def random_forest():
    try:
        from sklearn.datasets import make_classification
        from sklearn.ensemble import RandomForestClassifier
    except ImportError:
        return None
    x, y = make_classification(n_samples=2000, n_features=20, random_state=0)
    return pickle.dumps(RandomForestClassifier(n_estimators=300, max_depth=8, random_state=0).fit(x, y), protocol=4)


def plain_data(mb):
    # a plain-data pickle of about `mb` MB: a million distinct strings, ints, floats and small dicts
    n = mb * 1024 * 1024 // 55  # about 55 bytes per row and name
    rows = [{"id": i, "name": "user-%08d" % i, "score": i / 7.0} for i in range(n)]
    return pickle.dumps({"rows": rows, "names": ["w%07d" % i for i in range(n)]}, protocol=4)


def binding(brine):
    """The Python package built next to the command, or None."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(brine)), "python"))
    try:
        import brine as mod
        return mod
    except ImportError:
        return None


def check(api, data):
    """What brine.safe_loads runs before it loads: the scan, raising when the data is not safe."""
    try:
        api._scan_or_raise(data, "<bytes>", None, None)
    except api.UnsafePickleError:
        pass


def main():
    brine = sys.argv[1]
    api = binding(brine)
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    big_mb = int(sys.argv[sys.argv.index("--big-mb") + 1]) if "--big-mb" in sys.argv else 51
    rows = [("dict of lists", dict_of_lists()), ("dict of int lists", dict_of_int_lists()),
            ("sklearn RandomForest, 300 trees", random_forest()), ("%d MB plain data" % big_mb, plain_data(big_mb))]
    print("%-32s %6s %9s %9s %9s %9s %8s %8s %9s %9s %8s %7s  %s" % (
        "input", "MB", "opcodes", "brine", "loads", "genops", "x loads", "x genops", "brine cpu", "loads cpu",
        "x loads", "RSS MB", "verdict"))
    print("(brine: `brine scan --quiet` in a fresh process; loads: pickle.loads; genops: pickletools.genops;"
          " x: how many times faster brine is, by wall time, then by CPU time, which a loaded machine disturbs less)")
    second = []
    with tempfile.TemporaryDirectory() as d:
        for name, data in rows:
            if data is None:
                print("%-32s skipped (no scikit-learn in this interpreter)" % name)
                continue
            p = os.path.join(d, "in.pkl")
            with open(p, "wb") as f:
                f.write(data)
            ops = sum(1 for _ in pickletools.genops(data))
            t_b, c_b = best(lambda: subprocess.run([brine, "scan", "--quiet", p], stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL), repeat)
            t_l, c_l = best(lambda: pickle.loads(data), repeat)
            t_g, _ = best(lambda: sum(1 for _ in pickletools.genops(data)), 1 if len(data) > 20e6 else repeat)
            r = subprocess.run(["/usr/bin/time", "-f", "%M", brine, "scan", p], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            rss = int(r.stderr.strip().splitlines()[-1])
            verdict = r.stdout.strip().splitlines()[0] if r.stdout.strip() else "?"
            verdict = verdict.split(":", 1)[-1].strip()
            print("%-32s %6.1f %9d %7.1fms %7.1fms %7.1fms %7.2fx %7.2fx %7.1fms %7.1fms %7.2fx %7.1f  %s" % (
                name, len(data) / 1e6, ops, t_b * 1e3, t_l * 1e3, t_g * 1e3, t_l / t_b, t_g / t_b, c_b * 1e3,
                c_l * 1e3, c_l / max(c_b, 1e-4), rss / 1024, verdict))
            # two calls first: the scanner's policy, arena blocks and caches are made by the first
            t_c = best(lambda: check(api, data), repeat, warm=2)[0] if api else float("nan")
            t_r = best(lambda: api.scan(data), repeat, warm=2)[0] if api else float("nan")
            k = max(2, min(40, int(80e6 // len(data))))
            batch = os.path.join(d, "batch")
            os.mkdir(batch)
            for i in range(k):
                os.link(p, os.path.join(batch, "%02d.pkl" % i))
            t_k = best(lambda: subprocess.run([brine, "scan", "--quiet", "-j", "1", batch], stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL), repeat)[0] / k
            for i in range(k):
                os.unlink(os.path.join(batch, "%02d.pkl" % i))
            os.rmdir(batch)
            second.append((name, t_l, t_c, t_r, k, t_k))
    print()
    print("%-32s %9s %9s %8s %9s %8s %4s %9s %8s" % ("input", "loads", "check", "x loads", "report", "x loads", "K",
                                                    "batch", "x loads"))
    if not api:
        print("(check, report: no Python binding next to %s)" % brine)
    print("(check: the scan brine.safe_loads runs before loading, in this process; report: brine.scan(data), with"
          " the JSON report and its sha256; batch: per file of `brine scan --quiet -j 1` over K hard links)")
    for name, t_l, t_c, t_r, k, t_k in second:
        print("%-32s %7.2fms %7.2fms %7.2fx %7.2fms %7.2fx %4d %7.2fms %7.2fx" % (
            name, t_l * 1e3, t_c * 1e3, t_l / t_c, t_r * 1e3, t_l / t_r, k, t_k * 1e3, t_l / t_k))
    print("load average: %.2f %.2f %.2f; cores: %d" % (os.getloadavg() + (os.cpu_count(),)))


if __name__ == "__main__":
    main()
