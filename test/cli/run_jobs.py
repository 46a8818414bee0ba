#!/usr/bin/env python3
"""`brine scan -j N` hands files between threads without a lock on the common
path (analyzer/cli/batch.c: a file marked done, then the next to write looked
at; the writer's turn handed over with `again`). This runs the batch with 1,
2, 3 and 8 workers over the corpus and over 3,000 small files (runs of files
per worker; 1,000 and two formats under ThreadSanitizer), in every format and with the progress line on, and checks that
every run writes every file once, in input order, with the same results as
-j 1. Under ThreadSanitizer (build-tsan, test/build-and-test.sh) a data race
fails the run (exit 66).

Usage: run_jobs.py BRINE ; last line: `cli-jobs: N passed, M failed`."""
import json
import os
import pickle
import random
import re
import select
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


def strip(text):
    # times are the only thing that may differ between runs
    return re.sub(r'"(time_ms|seconds)":[0-9.e+-]+', "", re.sub(r" in [0-9.]+ s$", "", text, flags=re.M))


def tree(d):
    """The files below d in the order the walk must give: each directory's
    entries sorted by name (bytes), a subdirectory's files at its place."""
    out = []
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        out += tree(p) if os.path.isdir(p) else [p]
    return out


def walked(brine, small, tsan):
    """A directory or a --files-from list is walked by a thread of its own
    while the workers scan (batch.c): the results must be those of the same
    files named one by one (no walk), and a result must come out while the
    list is still being written."""
    files = tree(small)
    for j in ("1", "2") if tsan else ("1", "2", "4"):
        a = subprocess.run([brine, "scan", "-j", j, "-f", "jsonl", small], capture_output=True, text=True)
        b = subprocess.run([brine, "scan", "-j", j, "-f", "jsonl"] + files, capture_output=True, text=True)
        check(a.returncode == b.returncode == 1 and strip(a.stdout) == strip(b.stdout) and
              len(a.stdout.splitlines()) == len(files),
              "-j %s: the walked directory (%d results, exit %d) gives the files named one by one (%d, exit %d)" %
              (j, len(a.stdout.splitlines()), a.returncode, len(b.stdout.splitlines()), b.returncode))
    # the walk's order is the bytes' order (strcmp) whatever the names share: prefixes of eight
    # bytes and more, names shorter than eight bytes, bytes from 0x80 (walk.c sorts by an
    # 8-byte key first)
    odd = os.path.join(os.path.dirname(small), "names")
    os.makedirs(odd, exist_ok=True)
    names = [b"a", b"ab", b"abcdefg", b"abcdefgh", b"abcdefgha", b"abcdefghi", b"abcdefgh.pkl", b"abcdefgi",
             b"Z", b"z", b"a b", b"\xc3\xa9t\xc3\xa9", b"\xe2\x82\xac", b"\x7f", b"abcdefghabcdefghb",
             b"abcdefghabcdefgha", b"0", b"00000000", b"000000000"]
    # and enough of them for the merge sort's passes (runs of 16) and the walk's batches
    # (64 files a lock), with a subdirectory among them whose files come at its place
    rnd = random.Random(13)
    # (UTF-8 only: the JSON report escapes other bytes of a path)
    tokens = [b"0", b"a", b"A", b"z", b"_", b".", b"-", b"\xc2\x80", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x90\x8d"]
    while len(names) < 400:
        nm = b"".join(rnd.choice(tokens) for _ in range(rnd.randint(1, 10)))
        if nm not in names and nm not in (b".", b"..", b"sub"):
            names.append(nm)
    for i, nm in enumerate(names):
        with open(os.path.join(odd.encode(), nm), "wb") as f:
            f.write(pickle.dumps(i))
    sub = os.path.join(odd.encode(), b"sub")
    os.makedirs(sub, exist_ok=True)
    for k in range(70):
        with open(os.path.join(sub, b"s%02d" % k), "wb") as f:
            f.write(pickle.dumps(k))
    want = []
    for nm in sorted(names + [b"sub"]):
        want += [os.path.join(sub, b"s%02d" % k) for k in range(70)] if nm == b"sub" else [
            os.path.join(odd.encode(), nm)]
    r = subprocess.run([brine, "scan", "-f", "jsonl", odd.encode()], capture_output=True)
    got = [json.loads(l)["path"].encode("utf-8", "surrogateescape") for l in r.stdout.splitlines()]
    check(got == want, "walk order of names sharing prefixes: %r" % got)
    # a list still being written: its first file's result comes out before the list ends
    p = subprocess.Popen([brine, "scan", "-j", "2", "-f", "jsonl", "--progress", "always", "--files-from", "-"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write((files[0] + "\n").encode())
        p.stdin.flush()
        ready, _, _ = select.select([p.stdout], [], [], 60)
        first = p.stdout.readline() if ready else b""
        check(first and json.loads(first)["path"] == files[0],
              "--files-from -: the first result before the list ends: %r" % first[:200])
        p.stdin.write(("\n".join(files[1:20]) + "\n").encode())
        p.stdin.close()
        rest = p.stdout.read()
        err = p.stderr.read()
    finally:
        p.kill() if p.poll() is None else None
        p.wait()
    paths = [json.loads(first)["path"]] + [json.loads(l)["path"] for l in rest.splitlines()] if first else []
    check(paths == files[:20], "--files-from -: the 20 listed files, in order: %d" % len(paths))
    # while the list was open the total was what had been found so far: "[1/1+]"
    check(b"[1/1+]" in err, "--files-from -: progress while the walk goes on: %r" % err[-300:])


def main():
    brine = os.path.abspath(sys.argv[1])
    # under ThreadSanitizer a scan is ~15x slower: fewer files and formats
    tsan = b"libtsan" in subprocess.run(["ldd", brine], capture_output=True).stdout
    nsmall = 1000 if tsan else 3000
    formats = ("jsonl", "text") if tsan else ("jsonl", "json", "text", "sarif")
    with tempfile.TemporaryDirectory() as t:
        small = os.path.join(t, "small")
        for i in range(nsmall):
            d = os.path.join(small, "%02d" % (i % 7))
            os.makedirs(d, exist_ok=True)
            obj = [{"i": i}, (i, str(i)), bytes(i % 40), [i] * (i % 9)][i % 4]
            with open(os.path.join(d, "f%04d.pkl" % i), "wb") as f:
                f.write(pickle.dumps(obj, protocol=i % 6))
        with open(os.path.join(small, "00", "evil.pkl"), "wb") as f:
            f.write(b"cos\nsystem\n(S'true'\ntR.")
        inputs = {"corpus": [os.path.join(ROOT, "corpus")], "small files": [small]}
        for name, ins in inputs.items():
            for fmt in formats:
                want = None
                for j in ("1", "2", "3", "8"):
                    r = subprocess.run([brine, "scan", "-j", j, "-f", fmt, "--progress", "always"] + ins,
                                       capture_output=True, text=True, timeout=900)
                    out = strip(r.stdout)
                    check(r.returncode in (0, 1, 2, 3), "%s, %s, -j %s: exit %d: %s" % (name, fmt, j, r.returncode,
                                                                                     r.stderr[-500:]))
                    check("ThreadSanitizer" not in r.stderr, "%s, %s, -j %s: %s" % (name, fmt, j, r.stderr[:2000]))
                    if fmt == "jsonl":
                        paths = [json.loads(l)["path"] for l in r.stdout.splitlines()]
                        check(paths == sorted(paths) if name == "small files" else len(paths) == len(set(paths)),
                              "%s, -j %s: every file once, in input order" % (name, j))
                        check(len(paths) > (nsmall if name == "small files" else 500),
                              "%s, -j %s: %d results" % (name, j, len(paths)))
                    if want is None:
                        want = (r.returncode, out)
                    else:
                        check((r.returncode, out) == want, "%s, %s: -j %s differs from -j 1" % (name, fmt, j))
        walked(brine, small, tsan)
    print("cli-jobs: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
