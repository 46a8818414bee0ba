#!/usr/bin/env python3
"""Speed and memory of brine against CPython in the same script: for each input,
the time of `brine events` (a fresh process, startup included) and of `brine
dump --json`, next to CPython's pickle.loads (stubbed globals, as in the
differential test) and pickletools.genops (which only decodes opcodes), and
brine's peak memory against the input size. Prints ratios; asserts nothing.

Usage: bench.py BRINE [--repeat N]
"""
import os
import pickle
import pickletools
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "diff"))
import cpython_stub  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def best(fn, repeat):
    t = float("inf")
    for _ in range(repeat):
        s = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - s)
    return t


def inputs():
    big = [{"id": i, "name": "item%d" % i, "score": i * 0.5, "tags": ("a", "b"), "blob": b"x" * 8} for i in range(200000)]
    yield "200k dicts, protocol 4", pickle.dumps(big, protocol=4)
    yield "200k dicts, protocol 0", pickle.dumps(big[:50000], protocol=0)
    yield "10 MB bytes, protocol 5", pickle.dumps([b"\0" * (10 << 20)], protocol=5)
    sk = os.path.join(ROOT, "corpus/benign/raw/sklearn_RandomForestClassifier_p4.pkl")
    if os.path.exists(sk):
        yield "sklearn RandomForest", open(sk, "rb").read()
    tp = os.path.join(ROOT, "corpus/benign/raw/torch_whole_model_data.pkl")
    if os.path.exists(tp):
        yield "torch whole model data.pkl", open(tp, "rb").read()


def main():
    brine = sys.argv[1]
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    print("%-28s %9s %9s %9s %9s %8s %8s %9s" % ("input", "bytes", "brine ev", "loads", "genops", "ev/loads",
                                                  "ev/genops", "peak RSS"))
    print("(brine ev: `brine events` in a fresh process; loads: pickle.loads with stubbed globals; genops: pickletools.genops)")
    with tempfile.TemporaryDirectory() as d:
        for name, data in inputs():
            p = os.path.join(d, "in.pkl")
            with open(p, "wb") as f:
                f.write(data)
            t_ev = best(lambda: subprocess.run([brine, "events", p], stdout=subprocess.DEVNULL, check=False), repeat)
            protos = cpython_stub.walk(data)[0]
            t_loads = best(lambda: cpython_stub.Stub(data, protos).load(), repeat)
            t_gen = best(lambda: sum(1 for _ in pickletools.genops(data)), repeat)
            r = subprocess.run(["/usr/bin/time", "-f", "%M", brine, "scan", "--quiet", p], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            rss = int(r.stderr.strip().splitlines()[-1]) if r.stderr.strip() else 0
            before = 0
            print("%-28s %9d %8.1fms %8.1fms %8.1fms %8.2fx %8.2fx %7.1fMB" % (
                name, len(data), t_ev * 1e3, t_loads * 1e3, t_gen * 1e3, t_ev / t_loads, t_ev / t_gen,
                max(rss, before) / 1024))
    t_start = best(lambda: subprocess.run([brine, "version"], stdout=subprocess.DEVNULL), 10)
    t_true = best(lambda: subprocess.run(["/bin/true"], stdout=subprocess.DEVNULL), 10)
    print("process start-up: brine version %.2f ms, /bin/true %.2f ms (ratio %.2fx)" % (
        t_start * 1e3, t_true * 1e3, t_start / t_true))


if __name__ == "__main__":
    main()
