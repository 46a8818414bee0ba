#!/usr/bin/python3
"""Benchmark (not a timed test): files/s over the same files for the command
(`brine scan --format jsonl`, -j 1 and -j 2), the binding in one thread, and
brine.registry on a loopback Dask LocalCluster of 2 worker processes (cluster
start-up reported apart; a fresh output, no cache; then a rerun that finds
everything in the output).

Usage: bench_registry.py BRINE_EXE SOURCE_ROOT [PATH...]  (default: corpus/)
"""
import os
import subprocess
import sys
import tempfile
import time

import brine
from brine import registry



def main():
    BRINE, SRC = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.chdir(SRC)
    paths = registry.collect_paths(sys.argv[3:] or ["corpus"])
    n = len(paths)
    size = sum(os.path.getsize(p) for p in paths)
    print("files: %d, %.1f MB" % (n, size / 1e6))


    def rate(label, seconds):
        print("%-44s %7.2f s %9.1f files/s" % (label, seconds, n / seconds))


    with tempfile.NamedTemporaryFile("w", delete=False) as lst:
        lst.write("\n".join(paths) + "\n")
    for j in (1, 2):
        t = time.perf_counter()
        subprocess.run([BRINE, "scan", "--format", "jsonl", "-j", str(j), "--output", os.devnull, "--files-from",
                        lst.name], check=False)
        rate("brine scan --format jsonl -j %d" % j, time.perf_counter() - t)
    os.unlink(lst.name)

    t = time.perf_counter()
    for p in paths:
        brine.scan(p).to_json()
    rate("binding, one thread (brine.scan + to_json)", time.perf_counter() - t)

    from distributed import Client, LocalCluster

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0")
    client = Client(cluster)
    print("%-44s %7.2f s" % ("LocalCluster of 2 workers: start-up", time.perf_counter() - t))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out.jsonl")
            client.run(lambda: __import__("brine.registry"))  # import on the workers before timing
            t = time.perf_counter()
            registry.run(client, paths, out)
            rate("brine.registry, Dask, 2 workers", time.perf_counter() - t)
            t = time.perf_counter()
            registry.run(client, paths, out)
            rate("brine.registry rerun (all already in output)", time.perf_counter() - t)
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":  # the workers are spawned: they import this file
    main()
