#!/usr/bin/env python3
"""Make a mapped-size zip and let test_truncate cut it while it is scanned.
Usage: run_truncate.py TEST_TRUNCATE. Passes the last line through."""
import os
import subprocess
import sys
import tempfile
import zipfile

with tempfile.TemporaryDirectory() as t:
    p = os.path.join(t, "big.zip")
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as z:
        z.writestr("a.pkl", b"\x80\x04K\x01.")
        z.writestr("big.bin", b"\x00" * (70 << 20))
        z.writestr("z.pkl", b"\x80\x04K\x02.")
    r = subprocess.run([sys.argv[1], p], capture_output=True, text=True, timeout=120)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode < 0:
        print("FAIL killed by signal %d" % -r.returncode)
        print("truncate: 0 passed, 1 failed")
        sys.exit(1)
    sys.exit(r.returncode)
