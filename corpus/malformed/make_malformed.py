#!/usr/bin/env python3
"""Inputs CPython's C unpickler rejects, one per error path of Modules/_pickle.c.

expected.tsv: file, offset of the opcode where CPython raises (written by hand
from the input: each input is a few bytes), the opcode's pickletools name (or
"-" when the error is reading past the end), and CPython's own message, taken
by running pickle.loads here (safe: no input names a global that imports).
"""
import os
import pickle

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = [
    # name, data, offset, opcode
    ("empty", b"", 0, "-"), ("no-stop", b"N", 1, "-"), ("truncated-binint", b"J\x01\x02", 0, "BININT"),
    ("truncated-binint2", b"M\x01", 0, "BININT2"), ("truncated-long1", b"\x8a\x05\x01", 0, "LONG1"),
    ("truncated-long4", b"\x8b\x05\x00\x00", 0, "LONG4"), ("negative-long4", b"\x8b\xff\xff\xff\xff.", 0, "LONG4"),
    ("truncated-binbytes", b"B\x05\x00\x00\x00ab", 0, "BINBYTES"), ("huge-binbytes8", b"\x8e" + b"\xff" * 7 + b"\x3f.", 0, "BINBYTES8"),
    ("truncated-binunicode", b"X\x05\x00\x00\x00ab", 0, "BINUNICODE"), ("bad-utf8", b"\x8c\x02\xc3\x28.", 0, "SHORT_BINUNICODE"),
    ("negative-binstring", b"T\xff\xff\xff\xff.", 0, "BINSTRING"), ("nonascii-binstring", b"U\x01\xe9.", 0, "SHORT_BINSTRING"),
    ("truncated-bytearray8", b"\x96\x09\x00\x00\x00\x00\x00\x00\x00ab", 0, "BYTEARRAY8"),
    ("truncated-float8", b"G\x00\x00", 0, "BINFLOAT"), ("no-newline-int", b"I12", 0, "INT"),
    ("invalid-load-key", b"N\xff.", 1, "-"), ("invalid-load-key-printable", b"Nz.", 1, "-"),
    ("stack-underflow-pop", b"0.", 0, "POP"), ("unexpected-mark", b"(\x85.", 1, "TUPLE1"),
    ("could-not-find-mark", b"t.", 0, "TUPLE"), ("mark-at-stop", b"N(.", 2, "STOP"), ("empty-stop", b".", 0, "STOP"),
    ("unsupported-proto", b"\x80\x06N.", 0, "PROTO"), ("get-missing", b"h\x05.", 0, "BINGET"),
    ("get-missing-text", b"g7\n.", 0, "GET"), ("negative-put", b"Np-1\n.", 1, "PUT"), ("put-bad-int", b"Npx\n.", 1, "PUT"),
    ("odd-dict", b"(N\x88Nd.", 4, "DICT"), ("odd-setitems", b"}(Nu.", 3, "SETITEMS"),
    ("unhashable-dict-key", b"(]Nd.", 3, "DICT"), ("unhashable-setitem", b"}]Ns.", 3, "SETITEM"),
    ("unhashable-frozenset", b"(]\x91.", 2, "FROZENSET"), ("unhashable-additems", b"\x8f(]\x90.", 3, "ADDITEMS"),
    ("append-to-tuple", b")Na.", 2, "APPEND"), ("appends-to-dict", b"}(Ne.", 3, "APPENDS"),
    ("setitem-on-tuple", b")NNs.", 3, "SETITEM"), ("setitem-list-index", b"]K\x05Ns.", 4, "SETITEM"),
    ("additems-to-frozenset", b"(\x91(N\x90.", 4, "ADDITEMS"), ("build-dict-on-list", b"]}b.", 2, "BUILD"),
    ("build-int-state", b"]K\x01b.", 3, "BUILD"), ("build-slotstate-not-dict", b"]NK\x01\x86b.", 5, "BUILD"),
    ("stack-global-not-str", b"K\x01K\x02\x93.", 4, "STACK_GLOBAL"), ("reduce-not-callable", b"K\x01)R.", 3, "REDUCE"),
    ("reduce-args-not-tuple", b"\x80\x02cbuiltins\nprint\nNR.", 19, "REDUCE"),
    ("newobj-not-type", b"K\x01)\x81.", 3, "NEWOBJ"), ("ext-zero", b"\x82\x00.", 0, "EXT1"),
    ("ext-unregistered", b"\x83\x01\x02.", 0, "EXT2"), ("next-buffer", b"\x97.", 0, "NEXT_BUFFER"),
    ("readonly-buffer-int", b"K\x01\x98.", 2, "READONLY_BUFFER"), ("string-unquoted", b"Sabc\n.", 0, "STRING"),
    ("string-mismatched-quotes", b"S'abc\"\n.", 0, "STRING"), ("string-bad-hex-escape", b"S'\\x4'\n.", 0, "STRING"),
    ("string-trailing-backslash", b"S'a\\'\n.", 0, "STRING"), ("string-non-ascii", b"S'\xe9'\n.", 0, "STRING"),
    ("unicode-bad-escape", b"V\\u12\n.", 0, "UNICODE"), ("unicode-out-of-range", b"V\\U00110000\n.", 0, "UNICODE"),
    ("global-non-utf8", b"c\xff\nx\n.", 0, "GLOBAL"), ("global-empty-module", b"c\nx\n.", 0, "GLOBAL"),
    ("inst-non-ascii", b"(i\xc3\xa9\nx\n.", 1, "INST"), ("int-bad", b"I1e3\n.", 0, "INT"),
    ("int-leading-zero-fallback", b"I0999\n.", 0, "INT"), ("long-bad", b"L010L\n.", 0, "LONG"),
    ("long-too-many-digits", b"L" + b"1" * 4301 + b"\n.", 0, "LONG"), ("float-overflow", b"F1e400\n.", 0, "FLOAT"),
    ("float-space", b"F 1\n.", 0, "FLOAT"), ("float-hex", b"F0x1p3\n.", 0, "FLOAT"),
    ("frame-too-long", b"\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", 2, "FRAME"),
    ("locals-in-dotted-name", b"\x80\x04\x8c\x0bcollections\x8c\x0fa.<locals>.func\x93.", 32, "STACK_GLOBAL"),
    ("payload-then-error", b"\x80\x02cbuiltins\nprint\n\x8c\x01x\x85R\xff", 23, "-"),
    # MEMOIZE and BINPUT take the top of the stack only above the last MARK (the memo's fast paths)
    ("memoize-after-mark", b"\x80\x04N\x94(\x94.", 5, "MEMOIZE"), ("binput-after-mark", b"N(q\x00.", 2, "BINPUT"),
    ("binget-then-missing", b"Nq\x00h\x00h\x01.", 5, "BINGET"),
    # the full VM's run of BINGET/MEMOIZE/BININT1 (vm.c, fast_run) stops before an opcode whose
    # argument is past the end: a memoized value asked for, and an int made before, truncated
    ("truncated-binget-memoized", b"\x80\x04N\x94h", 4, "BINGET"),
    # (0 made too: the byte past the end, when a reader reads it, is often 0)
    ("truncated-binint1-made-before", b"\x80\x04K\x000K\x050K", 8, "BININT1"),
]


def main():
    rows = []
    for name, data, off, op in CASES:
        fn = name + ".pkl"
        with open(os.path.join(HERE, fn), "wb") as f:
            f.write(data)
        if name in ("locals-in-dotted-name", "reduce-args-not-tuple", "payload-then-error"):
            msg = "(needs a global; see make_malformed.py)"
            try:
                class U(pickle.Unpickler):
                    def find_class(self, m, n):
                        if "<locals>" in n.split("."):
                            raise AttributeError("Can't get local attribute %r on %r" % (n, m))
                        return (lambda *a: None) if n == "print" else None  # a stub: nothing runs
                import io
                U(io.BytesIO(data)).load()
                msg = "NO ERROR"
            except Exception as e:
                msg = "%s: %s" % (type(e).__name__, e)
        else:
            try:
                pickle.loads(data)
                msg = "NO ERROR"
            except Exception as e:
                msg = "%s: %s" % (type(e).__name__, e)
        if msg == "NO ERROR":
            raise SystemExit("%s: CPython loads it; not a malformed case" % name)
        rows.append((fn, str(off), op, msg.replace("\t", " ").replace("\n", " ")[:200]))
    with open(os.path.join(HERE, "expected.tsv"), "w") as f:
        f.write("# file\toffset\topcode\tCPython's message\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    print(len(rows), "files")


if __name__ == "__main__":
    main()
