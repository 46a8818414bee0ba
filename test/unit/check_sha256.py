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
import subprocess
import sys
import tempfile


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
    print("sha256: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
