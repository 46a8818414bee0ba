#!/usr/bin/env python3
"""Benchmark (not a timed test): `brine scan -j 2` against `-j 1` on a
directory of model files (the corpus' torch, joblib, numpy and pandas files,
and larger pickles with many opcodes, as a registry would see them). Prints
the wall times, the speed-up (target: 1.6x on 2 cores) and whether the
results are identical (they must be, byte for byte, times aside).

Usage: bench_jobs.py BRINE [ROUNDS]. Last line: `bench-jobs: N passed, M failed`
(failed only when results differ between -j 1 and -j 2)."""
import collections
import glob
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def strip_times(doc):
    if isinstance(doc, dict):
        return {k: strip_times(v) for k, v in doc.items() if k not in ("time_ms", "seconds")}
    if isinstance(doc, list):
        return [strip_times(v) for v in doc]
    return doc


def main():
    brine = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    t = tempfile.mkdtemp(prefix="brine-bench-jobs-")
    outdir = None
    try:
        models = sorted(f for sub in ("torch", "joblib", "numpy", "pandas")
                        for f in glob.glob(os.path.join(ROOT, "corpus/benign", sub, "*")))
        for k in range(4):
            for f in models:
                shutil.copy(f, os.path.join(t, "%d-%s" % (k, os.path.basename(f))))
        # state-dict-like pickles: many small objects, the VM's work is per opcode
        for k in range(24):
            obj = collections.OrderedDict(("layer%d.weight" % i, {"shape": (i, k), "data": [float(i)] * 20,
                                                                  "name": "w%d" % i}) for i in range(6000 + 500 * k))
            open(os.path.join(t, "big-%02d.pkl" % k), "wb").write(pickle.dumps(obj, protocol=2 + k % 3))
        files = os.listdir(t)
        size = sum(os.path.getsize(os.path.join(t, f)) for f in files)

        def cpu():
            u = resource.getrusage(resource.RUSAGE_CHILDREN)
            return u.ru_utime + u.ru_stime

        # every report of the benchmark goes to a file of its own (--output), the same JSON for the
        # control: the control once wrote nothing (-q, which hashes no file) while the timed runs'
        # JSON came through a pipe to this process, which made the control look faster than two
        # cores can be
        outdir = tempfile.mkdtemp(prefix="brine-bench-jobs-out-")

        def once(j):
            out = os.path.join(outdir, "j%d.json" % j)
            t0, c0 = time.perf_counter(), cpu()
            r = subprocess.run([brine, "scan", "-f", "json", "--progress", "never", "-j", str(j), "--output", out, t],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1200)
            dt, dc = time.perf_counter() - t0, cpu() - c0
            with open(out) as f:
                return dt, dc, r.returncode, strip_times(json.load(f))

        def two_processes():
            """The control: the same files split between two -j 1 processes at once,
            what the machine gives two independent workers right now."""
            names = sorted(os.path.join(t, f) for f in files)
            t0 = time.perf_counter()
            ps = [subprocess.Popen([brine, "scan", "-f", "json", "--progress", "never", "-j", "1", "--output",
                                    os.path.join(outdir, "half%d.json" % k)] + half, stdout=subprocess.DEVNULL)
                  for k, half in enumerate((names[::2], names[1::2]))]
            for p in ps:
                p.wait()
            return time.perf_counter() - t0

        res, cpus, control = {}, {}, None
        load0 = os.getloadavg()[0]
        for _ in range(rounds):  # interleaved, so that a change of load hits both
            c2 = two_processes()
            control = c2 if control is None or c2 < control else control
            for j in (1, 2):
                dt, c, rc, doc = once(j)
                if j not in res or dt < res[j][0]:
                    res[j] = (dt, rc, doc)
                    cpus[j] = c
        same = res[1][1:] == res[2][1:]
        ratio = res[1][0] / res[2][0] if res[2][0] else 0
        print("bench-jobs: %d files, %.1f MiB, %d cores online" % (len(files), size / 2**20, os.cpu_count() or 1))
        print("bench-jobs: -j 1 %.3f s, -j 2 %.3f s: %.2fx (target 1.6x on 2 cores); results identical: %s; exit %d" % (
            res[1][0], res[2][0], ratio, "yes" if same else "NO", res[1][1]))
        print("bench-jobs: control: two -j 1 processes on halves %.3f s (%.2fx); -j 2 against them: %.2f" % (
            control, res[1][0] / control, control / res[2][0]))
        print("bench-jobs: CPU time -j 1 %.3f s, -j 2 %.3f s (the work threads add); load average %.1f -> %.1f%s" % (
            cpus[1], cpus[2], load0, os.getloadavg()[0],
            "; the machine is busier than its cores: wall-clock ratios are not meaningful"
            if max(load0, os.getloadavg()[0]) > (os.cpu_count() or 1) else ""))
    finally:
        shutil.rmtree(t, ignore_errors=True)
        if outdir:
            shutil.rmtree(outdir, ignore_errors=True)
    print("bench-jobs: %d passed, %d failed" % (1 if same else 0, 0 if same else 1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
