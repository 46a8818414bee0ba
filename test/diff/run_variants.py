#!/usr/bin/env python3
"""The differential test for the other unpicklers' readings (the VM's
BRINE_VM_STR_UTF8 / STR_LATIN1 / PYTHON flags): generated str and FLOAT
opcodes, each loaded by CPython the way the loader that reads it does
(pickle.loads with encoding='utf-8' as torch.load; pickle._Unpickler with
encoding='latin-1' as pandas' retry; pickle._Unpickler as joblib; plain
pickle.loads) and by brine's VM under the same rules; they must agree on
malformed-or-not and on the value.
Usage: run_variants.py VM_VARIANT. Last line: `diff-variants: N passed, M failed`."""
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpython_stub  # noqa: E402

STRS = [b"ok", b"caf\xc3\xa9", b"\xe9t\xe9", b"\xff\xfe", b"\xed\xa0\x80", b"\xf0\x9f\x98\x80", b"\xc3", b"",
        b"a\\x41", b"\x80\x02"]
FLOATS = [b"1.5", b" 1.5", b"1.5 ", b"1_0.5", b"1__0", b"_1", b"1_", b"inf", b"-Infinity", b"nan", b"1e5",
          b"1_0e1_0", b"0x10", b"\t2.5\r", b"1.5\x00", b"+1.5", b"1.", b".5", b"", b" ", b"1.5e", b"1_000.000_1",
          b"\x0b3\x0c", b"1e1_0", b"in f"]


def cases():
    for s in STRS:
        quoted = b"S'" + s.replace(b"\\", b"\\\\").replace(b"'", b"\\'") + b"'\n"
        yield "string %r" % s, quoted + b"."
        yield "binstring %r" % s, b"T" + struct.pack("<i", len(s)) + s + b"."
        yield "short-binstring %r" % s, b"\x80\x02U" + bytes([len(s)]) + s + b"\x85."
        yield "string-in-tuple %r" % s, b"(" + quoted + b"I1\nt."
    for f in FLOATS:
        yield "float %r" % f, b"F" + f + b"\n."
        yield "float-in-list %r" % f, b"(lF" + f + b"\na."


def cpython(mode, data):
    try:
        if mode == "ascii":
            v = pickle.loads(data)
        elif mode == "utf8":
            v = pickle.loads(data, encoding="utf-8")
        elif mode == "latin1":
            v = pickle._Unpickler(io.BytesIO(data), encoding="latin-1").load()
        else:
            v = pickle._Unpickler(io.BytesIO(data)).load()
    except Exception as e:
        return {"status": "malformed", "value": None, "error": {"message": repr(e)}}
    return {"status": "ok", "value": cpython_stub.canon_value(v)}


def main():
    import json
    tool = sys.argv[1]
    passed = failed = 0
    all_cases = list(cases())
    with tempfile.TemporaryDirectory() as t:
        paths = []
        for i, (_, data) in enumerate(all_cases):
            p = os.path.join(t, "v%d" % i)
            with open(p, "wb") as fh:
                fh.write(data)
            paths.append(p)
        for mode in ("ascii", "utf8", "latin1", "python"):
            out = subprocess.run([tool, mode] + paths, capture_output=True, text=True, timeout=120).stdout.splitlines()
            if len(out) != len(paths):
                print("FAIL %s: %d lines for %d inputs" % (mode, len(out), len(paths)))
                failed += 1
                continue
            for (name, data), line in zip(all_cases, out):
                b = json.loads(line)
                c = cpython(mode, data)
                ok = b["status"] == c["status"] and (c["status"] != "ok" or
                                                    cpython_stub.same_value(b["value"], c["value"])[0])
                if ok:
                    passed += 1
                else:
                    failed += 1
                    print("FAIL %s %s: brine %s %s, CPython %s %s" % (mode, name, b["status"], b.get("value"),
                                                                      c["status"], c.get("value") or c.get("error")))
    print("diff-variants: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
