#!/usr/bin/env python3
"""The reports' sha256 (analyzer/report/report.c) against hashlib, for sizes
around the block (64), the switch to libcrypto (64 KiB on the first update,
which is also the chunk of a hashed descriptor), with libcrypto's low-level
SHA256_* functions, with its EVP interface (BRINE_LIBCRYPTO_EVP: the fallback
for a libcrypto without them) and without libcrypto (BRINE_NO_LIBCRYPTO: the
built-in code), through `brine scan -f jsonl` (a buffer up to 64 MiB) and a
file over 64 MiB (hashed from its descriptor).

Usage: check_sha256.py BRINE ; last line: `sha256: N passed, M failed`."""
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile


BESIDE = 512 << 10  # BRINE_HASH_BESIDE_MIN (analyzer/report/report.h)


def main():
    brine = sys.argv[1]
    passed = failed = 0
    rnd = random.Random(7)
    sizes = [0, 1, 55, 56, 63, 64, 65, 127, 16383, 16384, 16385, 65535, 65536, 65537, 1 << 20, 3 << 20]
    with tempfile.TemporaryDirectory() as t:
        p = os.path.join(t, "f.bin")
        cases = [(n, rnd.randbytes(n)) for n in sizes]
        cases.append(((65 << 20) + 3, b"\x80\x04K\x01." + bytes((65 << 20) - 2)))  # over 64 MiB: from the fd
        for n, data in cases:
            with open(p, "wb") as f:
                f.write(data)
            want = hashlib.sha256(data).hexdigest()
            for env in ({}, {"BRINE_LIBCRYPTO_EVP": "1"}, {"BRINE_NO_LIBCRYPTO": "1"}):
                r = subprocess.run([brine, "scan", "-f", "jsonl", p], capture_output=True, text=True,
                                   env=dict(os.environ, **env))
                got = json.loads(r.stdout)["sha256"] if r.stdout.strip() else None
                ok = got == want
                passed += ok
                failed += not ok
                if not ok:
                    print("FAIL %d bytes %s: %s, want %s" % (n, env or "(libcrypto)", got, want))
        # from a pipe (the buffer doubles from 64 KiB, by copying, past the 2 MiB where it is
        # mapped with huge pages)
        for n in (65537, (3 << 20) + 11):
            data = rnd.randbytes(n)
            r = subprocess.run([brine, "scan", "-f", "jsonl", "-"], input=data, capture_output=True)
            got = json.loads(r.stdout)["sha256"] if r.stdout.strip() else None
            ok = got == hashlib.sha256(data).hexdigest() and json.loads(r.stdout)["size"] == n
            passed += ok
            failed += not ok
            if not ok:
                print("FAIL %d bytes from a pipe: %s" % (n, got))
        # libcrypto is loaded for a first piece of 64 KiB and not below (loading it costs what
        # hashing about 100 KiB does), and never with BRINE_NO_LIBCRYPTO (ld.so's LD_DEBUG=files
        # names every library dlopen loads)
        for n, env, want in ((65535, {}, False), (65536, {}, True), (1 << 20, {"BRINE_NO_LIBCRYPTO": "1"}, False)):
            with open(p, "wb") as f:
                f.write(rnd.randbytes(n))
            r = subprocess.run([brine, "scan", "-f", "jsonl", p], capture_output=True, text=True,
                               env=dict(os.environ, LD_DEBUG="files", **env))
            loaded = any("file=libcrypto" in l for l in r.stderr.splitlines())
            ok = loaded == want and r.stdout.strip() and len(json.loads(r.stdout)["sha256"] or "") == 64
            passed += ok
            failed += not ok
            if not ok:
                print("FAIL %d bytes %s: libcrypto %s, output %r" % (n, env, "loaded" if loaded else "not loaded",
                                                                      r.stdout[:200]))
        # a large file's hash runs on a thread of its own beside the scan (512 KiB on) when a
        # core is free: one file (one worker) on a machine of two cores or more; never with
        # every core scanning (-j as many as the cores), one core (taskset), BRINE_HASH_INLINE
        # or --no-hash. strace counts the threads started; the hashes are checked each time.
        if not shutil.which("strace"):
            print("sha256: the thread checks skipped (no strace here; CI installs it)")
        else:
            ncpu = len(os.sched_getaffinity(0))
            big = rnd.randbytes(1 << 20)

            def threads(files, args=(), env=None, pin=False):
                with open(os.path.join(t, "trace"), "w"):
                    pass
                cmd = ["strace", "-f", "-qq", "-e", "trace=clone,clone3", "-o", os.path.join(t, "trace"),
                       brine, "scan", "-f", "jsonl"] + list(args) + files
                if pin:
                    cmd = ["taskset", "-c", "0"] + cmd
                r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
                with open(os.path.join(t, "trace")) as f:
                    n = sum(1 for l in f if "clone" in l and "CLONE_THREAD" in l)
                hashes = [json.loads(l)["sha256"] for l in r.stdout.splitlines()]
                return n, hashes

            def check(what, got, want):
                nonlocal passed, failed
                ok = got == want
                passed += ok
                failed += not ok
                if not ok:
                    print("FAIL threads: %s: %r, want %r" % (what, got, want))

            for n, want_beside in ((BESIDE - 1, False), (BESIDE, True), (1 << 20, True), ((65 << 20) + 3, True)):
                data = big[:n] if n <= len(big) else b"\x80\x04K\x01." + bytes(n - 5)
                with open(p, "wb") as f:
                    f.write(data)
                h = hashlib.sha256(data).hexdigest()
                base = threads([p], env={"BRINE_HASH_INLINE": "1"})
                check("%d bytes, BRINE_HASH_INLINE: the hash" % n, base[1], [h])
                got = threads([p])
                check("%d bytes, one file, %d cores: threads, hash" % (n, ncpu), got,
                      (base[0] + (1 if want_beside and ncpu > 1 else 0), [h]))
                got = threads([p], pin=True)
                check("%d bytes, one core: threads more than inline" % n, got[0] - base[0], 0)
                got = threads([p], args=["--no-hash"])
                check("%d bytes, --no-hash: threads more than inline" % n, got[0] - base[0], 0)
            q = os.path.join(t, "g.bin")
            with open(p, "wb") as f:
                f.write(big)
            with open(q, "wb") as f:
                f.write(big[::-1])
            want = [hashlib.sha256(big).hexdigest(), hashlib.sha256(big[::-1]).hexdigest()]
            j = ["-j", str(ncpu)]
            base = threads([p, q], args=j, env={"BRINE_HASH_INLINE": "1"})
            check("two files, -j %d, inline: the hashes" % ncpu, base[1], want)
            check("two files, -j %d (every core scanning): threads (as inline), the hashes" % ncpu, threads([p, q], args=j),
                  (base[0], want))
            if ncpu > 1:
                base = threads([p, q], args=["-j", "1"], env={"BRINE_HASH_INLINE": "1"})
                check("two files, -j 1: threads (two more than inline), the hashes", threads([p, q], args=["-j", "1"]),
                      (base[0] + 2, want))
    print("sha256: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
