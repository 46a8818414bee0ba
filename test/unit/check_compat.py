#!/usr/bin/env python3
"""analyzer/vm/compat_pickle.h must match the installed Python's _compat_pickle."""
import os
import subprocess
import sys

src = sys.argv[1]
with open(os.path.join(src, "analyzer", "vm", "compat_pickle.h")) as f:
    committed = f.read()
fresh = subprocess.run([sys.executable, os.path.join(src, "tools", "gen_compat.py")],
                       capture_output=True, text=True, check=True).stdout
# the header names the Python version it came from; compare the tables only
strip = lambda t: "\n".join(l for l in t.splitlines() if not l.startswith("/* Generated"))
ok = strip(committed) == strip(fresh)
if not ok:
    print("analyzer/vm/compat_pickle.h differs from this Python's _compat_pickle: run tools/gen_compat.py")
print("compat-table: %d passed, %d failed" % (int(ok), int(not ok)))
sys.exit(0 if ok else 1)
