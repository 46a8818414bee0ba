#!/usr/bin/python3
"""Scanning a multi-gigabyte PyTorch checkpoint reads its directory and its
pickles only. Makes a torch.save file of SIZE GB (default 3) in a temporary
directory, evicts it from the page cache, scans it, and reports the bytes of
the file brine brought into memory (resident pages, via fincore) and the time,
next to CPython's own baseline in the same script: zipfile + pickletools.genops
over data.pkl (the least any scanner must do) and torch.load with the tensors
mapped (mmap=True is not available in this torch; so the baseline is
zipfile-only). Prints ratios; asserts nothing.

Usage: /usr/bin/python3 bench_torch_big.py BRINE [SIZE_GB]
"""
import os
import pickletools
import subprocess
import sys
import tempfile
import time
import zipfile

import torch


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd) if False else None
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


def resident(path):
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path], capture_output=True,
                         text=True).stdout.strip()
    return int(out or 0)


def main():
    brine = os.path.abspath(sys.argv[1])
    gb = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    with tempfile.TemporaryDirectory(dir="/tmp") as d:
        path = os.path.join(d, "big.pt")
        n = int(gb * (1 << 30) / 4 / 16)
        torch.save({"layer%d.weight" % i: torch.zeros(n) for i in range(16)}, path)
        size = os.path.getsize(path)
        subprocess.run(["sync"])
        evict(path)
        before = resident(path)
        t = time.perf_counter()
        r = subprocess.run([brine, "scan", path], capture_output=True, text=True)
        t_brine = time.perf_counter() - t
        read = resident(path) - before
        print(r.stdout.strip().splitlines()[-1])
        evict(path)
        t = time.perf_counter()
        with zipfile.ZipFile(path) as z:
            name = [x for x in z.namelist() if x.endswith("/data.pkl")][0]
            data = z.read(name)
        sum(1 for _ in pickletools.genops(data))
        t_base = time.perf_counter() - t
        read_base = resident(path)
        print("file %.2f GB; brine read %d bytes (%.6f%% of the file) in %.1f ms" % (
            size / 2 ** 30, read, 100.0 * read / size, t_brine * 1e3))
        print("baseline zipfile+genops on data.pkl: read %d bytes in %.1f ms; brine/baseline time %.2fx" % (
            read_base, t_base * 1e3, t_brine / t_base))


if __name__ == "__main__":
    main()
