#!/usr/bin/env python3
"""Container caps end a scan as inconclusive (exit 3 when nothing unsafe was
found), never as a crash or unbounded memory. Usage: run_container_limits.py BRINE.
Last line: `container-limits: N passed, M failed`."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = [
    # file, options, expected exit, text in the output
    ("corpus/benign/numpy/savez.npz", ["--max-archive-depth", "0"], 3, "max_archive_depth"),
    ("corpus/benign/joblib/model_gzip.joblib", ["--max-decompressed", "1000"], 3, "max_decompressed"),
    # the ratio cap allows 4 KiB over ratio x input, so small files never hit it
    ("corpus/malicious/containers/E-bomb.bz2", ["--max-ratio", "10"], 3, "max_ratio"),
    ("corpus/benign/joblib/model_bz2.joblib", ["--max-decompressed", "100"], 3, "max_decompressed"),
    ("corpus/benign/torch/state_dict_zip.pt", ["--max-members", "2"], 3, "max_members"),
    ("corpus/malicious/containers/D-nested-pickle-bytes.pkl", ["--max-nested", "0"], 3, "max_nested"),
    ("corpus/malicious/containers/E-bomb.bz2", [], 3, "max_ratio"),
    # through a window (max_buffered 0), one line longer than max_bytes
    ("corpus/driver/window-long-line.pkl.gz", ["--max-buffered", "0", "--max-bytes", "1048576"], 3,
     "max_bytes: a line longer than the limit"),
    ("corpus/driver/window-long-line.pkl.gz", ["--max-bytes", "1048576"], 0, "safe (complete)"),
    ("corpus/benign/torch/state_dict_zip.pt", [], 0, "safe (complete)"),
    ("corpus/benign/numpy/plain.npy", [], 0, "[npy]: safe (complete)"),
]


def main():
    brine = sys.argv[1]
    passed = failed = 0
    for f, opts, code, text in CASES:
        r = subprocess.run([brine, "scan"] + opts + [os.path.join(ROOT, f)], capture_output=True, text=True, timeout=120)
        if r.returncode == code and text in r.stdout:
            passed += 1
        else:
            failed += 1
            print("FAIL %s %s: exit %d, expected %d and %r in:\n%s" % (f, opts, r.returncode, code, text, r.stdout))
    print("container-limits: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
