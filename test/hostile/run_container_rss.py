#!/usr/bin/env python3
"""Peak memory on hostile containers (issue 11): compression bombs of every
format brine decompresses itself, a zip bomb, a 200,000-member zip and a
1,000,000-member tar. Each scan must
  - end as the limits say (a bomb: inconclusive on max_decompressed or
    max_ratio; the big archives: complete, or inconclusive on max_members),
  - finish within a time bound,
  - keep its peak RSS (wait4 rusage) under a bound derived from the limits it
    ran with, the input, a cost per archive member (its entry, name and
    index: 512 bytes), and a fixed allowance for the process. What the limits
    let a reader hold depends on the reader:
      - a compressed stream (gzip, bz2, xz, zlib) is decompressed once to
        check it and then read forward through a window: it holds
        max_buffered, the window (WINDOW) and what the analysis keeps, and
        NOT max_decompressed, which these bombs run with at 256 MiB, more
        than their bound;
      - a zip member is held whole (zip readers need random access):
        max_decompressed, once for the member and once for its reading.

Usage: run_container_rss.py BRINE
"""
import bz2
import gzip
import io
import lzma
import os
import subprocess
import sys
import tempfile
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_hostile  # noqa: E402  (its measure(): wait4 with a time bound)

FIXED = 64 << 20
PER_MEMBER = 512
MAX_DECOMPRESSED = 32 << 20   # for the zip bomb
STREAM_DECOMPRESSED = 256 << 20  # for the compressed streams: more than their bound
MAX_BUFFERED = 32 << 20       # the default
WINDOW = 4 << 20              # a window of a few opcodes, and the first reading's scratch
TIME_BOUND = 120.0


def tar_header(name, size=0):
    h = bytearray(512)
    n = name.encode()
    h[0:len(n)] = n
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[156:157] = b"0"
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def write_inputs(d):
    files = []

    def add(name, data, args, expect, members=0, held=0):
        """held: what the limits let the reader hold besides the input"""
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        files.append((name, p, args, expect, members, held))
        del data

    stream = ["--max-decompressed", str(STREAM_DECOMPRESSED)]
    windowed = MAX_BUFFERED + WINDOW
    zeros = b"\0" * (STREAM_DECOMPRESSED + (1 << 20))
    add("bomb.gz", gzip.compress(zeros, 9, mtime=0), stream, "inconclusive", held=windowed)
    add("bomb.bz2", bz2.compress(zeros, 9), stream, "inconclusive", held=windowed)
    add("bomb.xz", lzma.compress(zeros), stream, "inconclusive", held=windowed)
    add("bomb.zlib", zlib.compress(zeros, 9), stream, "inconclusive", held=windowed)
    # a pickle whose first bytes are data, then a bomb: trailing data
    add("bomb-after-pickle.gz", gzip.compress(b"\x80\x04N." + zeros, 9, mtime=0), stream, "inconclusive",
        held=windowed)
    # a payload after 200 MiB of one bytes constant: found through the window
    # (the constant's copy is what the analysis keeps)
    big = b"\x80\x04\x8e" + (200 << 20).to_bytes(8, "little")
    add("payload-after-200m.gz", gzip.compress(big + b"\0" * (200 << 20) + b"0cos\nsystem\n(S'id'\ntR.", 1,
                                               mtime=0), stream, "dangerous", held=windowed + (200 << 20))
    del zeros
    # 60 MB of plain data (a dict of a million lists): complete, and the
    # kinds pass reads it through the window keeping kinds, not values
    import pickle
    data = pickle.dumps({"k%d" % i: list(range(i % 50)) for i in range(1000000)}, 4)
    add("data-60m.pkl.gz", gzip.compress(data, 1, mtime=0), stream, "complete", held=windowed + (16 << 20))
    del data
    zeros = b"\0" * (3 * MAX_DECOMPRESSED)
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data.pkl", zeros)
    add("bomb.zip", b.getvalue(), ["--max-decompressed", str(MAX_DECOMPRESSED)], "inconclusive",
        held=2 * MAX_DECOMPRESSED)
    # 200,000 members, each a tiny pickle: read in full
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for i in range(200000):
            z.writestr("m%06d.pkl" % i, b"\x80\x04N.")
    add("zip-200k.zip", b.getvalue(), ["--max-members", "250000"], "complete", 200000)
    del b
    # 1,000,000 empty members: stops at max_members (default 100,000)
    p = os.path.join(d, "tar-1m.tar")
    with open(p, "wb") as f:
        for i in range(1000000):
            f.write(tar_header("m%07d" % i))
        f.write(b"\0" * 1024)
    files.append(("tar-1m.tar", p, [], "inconclusive", 100000, 0))
    return files


def scan(brine, path, args):
    dt, rss, _, text = run_hostile.measure([brine, "scan"] + args + [path], TIME_BOUND)
    return dt, rss, text


def main():
    if sys.argv[1] == "--write":
        # run as its own process: the inputs are built in memory, and a child
        # forked from a large process starts its ru_maxrss at that size
        with open(os.path.join(sys.argv[2], "list"), "w") as f:
            for name, path, args, expect, members, held in write_inputs(sys.argv[2]):
                f.write("%s\t%s\t%s\t%s\t%d\t%d\n" % (name, path, " ".join(args), expect, members, held))
        return 0
    brine = sys.argv[1]
    with open(brine, "rb") as f:
        sanitized = b"__asan_init" in f.read()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--write", d], check=True)
        rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(d, "list"))]
        for name, path, args, expect, members, held in rows:
            args = args.split()
            members = int(members)
            size = os.path.getsize(path)
            bound = int(held) + size + PER_MEMBER * members + FIXED
            if sanitized:
                # ASan: redzones on every allocation, and freed memory held in its
                # quarantine (256 MiB by default) instead of reused
                bound = 2 * bound + (256 << 20)
            dt, rss, text = scan(brine, path, args)
            first = text.splitlines()[0] if text else ""
            problems = []
            if dt is None:
                problems.append("did not finish in %.0f s" % TIME_BOUND)
            else:
                if expect not in first:
                    problems.append("expected %s, got: %s" % (expect, first))
                if "safe (complete)" in first and expect != "complete":
                    problems.append("a limit was hit but the file reads safe (complete)")
                if rss > bound:
                    problems.append("peak RSS %.1f MB over the bound %.1f MB" % (rss / 2**20, bound / 2**20))
            if problems:
                failed += 1
                print("FAIL %s: %s" % (name, "; ".join(problems)))
            else:
                passed += 1
                print("ok   %-22s %8.1f MB in  %6.2f s  peak RSS %7.1f MB (bound %7.1f MB)  %s" % (
                    name, size / 2**20, dt, rss / 2**20, bound / 2**20, first.split(": ", 1)[-1][:70]))
            os.unlink(path)
    print("container-rss: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
