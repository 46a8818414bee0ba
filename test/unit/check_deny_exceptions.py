#!/usr/bin/python3
"""Every `except` name of rules/dangerous.yaml only builds data (doc/policy.md).

For each exception, in CPython (Debian's /usr/bin/python3, with numpy):
  - an enum member pickles by name and loads back as the same member;
  - an enum class is an Enum whose members are plain ints / strings;
  - a result tuple (struct sequence or named tuple) is a tuple subclass with no
    Python __new__ / __init__ / __setstate__ of its own beyond the tuple machinery,
    and a sample round-trips through pickle at protocols 0-5 as an equal tuple;
  - _operator:or_ is the C function computing a | b;
  - numpy:memmap: an unpickled memmap holds no file (its _mmap and filename are None),
    and no pack lets the class be called (build only), so memmap(<path>) stays a finding.
Then brine: a pickle importing the name is no longer `dangerous`, and the same name
with an attribute path below it still is.

Usage: check_deny_exceptions.py BRINE. Ends with `deny-exceptions: N passed, M failed`.
"""
import enum
import importlib
import os
import pickle
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def resolve(full):
    mod, _, qual = full.partition(":")
    obj = importlib.import_module(mod)
    for p in qual.split("."):
        obj = getattr(obj, p)
    return obj


def sample(cls):
    """An instance of a result-tuple class, made the way the library makes one."""
    import difflib
    import os as _os
    import time
    import urllib.parse as up
    samples = {
        "stat_result": lambda: _os.stat(ROOT), "terminal_size": lambda: _os.terminal_size((80, 24)),
        "times_result": lambda: _os.times(), "uname_result": lambda: _os.uname(),
        "statvfs_result": lambda: _os.statvfs(ROOT),
        "ParseResult": lambda: up.urlparse("https://example.org/a;p?q=1#f"),
        "SplitResult": lambda: up.urlsplit("https://example.org/a?q=1"),
        "DefragResult": lambda: up.urldefrag("https://example.org/a#f"),
        "ParseResultBytes": lambda: up.urlparse(b"https://example.org/"),
        "SplitResultBytes": lambda: up.urlsplit(b"https://example.org/"),
        "DefragResultBytes": lambda: up.urldefrag(b"https://example.org/#x"),
        "Match": lambda: difflib.SequenceMatcher(None, "abc", "abd").find_longest_match(0, 3, 0, 3),
    }
    del time
    return samples[cls.__name__]()


def data_only(full, obj):
    """None if the name only builds data, else why not."""
    if full == "_operator:or_":
        import _operator
        import re
        if obj is not _operator.or_ or type(obj).__name__ != "builtin_function_or_method":
            return "not the C or_"
        return None if obj(re.I, re.M) == re.I | re.M and obj(6, 3) == 7 else "or_ is not a | b"
    if full == "numpy:memmap":
        import numpy as np
        with tempfile.NamedTemporaryFile(suffix=".dat") as f:
            mm = np.memmap(f.name, dtype="f4", mode="w+", shape=(3,))
            for p in range(6):
                back = pickle.loads(pickle.dumps(mm, protocol=p))
                if type(back) is not np.memmap or back._mmap is not None or back.filename is not None:
                    return "an unpickled memmap holds a file (protocol %d)" % p
        return None
    if isinstance(obj, enum.Enum):
        for p in range(6):
            if pickle.loads(pickle.dumps(obj, protocol=p)) is not obj:
                return "member does not round-trip (protocol %d)" % p
        return None if isinstance(obj.value, (int, str)) else "member value is not an int or str"
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        bad = [m for m in obj if not isinstance(m.value, (int, str))]
        return "members with non-scalar values: %r" % bad[:3] if bad else None
    if isinstance(obj, type) and issubclass(obj, tuple):
        for k in obj.__mro__:
            if k in (tuple, object):
                continue
            for m in ("__setstate__", "__init__", "__reduce__", "__reduce_ex__"):
                f = k.__dict__.get(m)
                if f is not None and hasattr(f, "__code__"):
                    return "%s.%s is Python code" % (k.__qualname__, m)
            f = k.__dict__.get("__new__")
            if f is not None and hasattr(f, "__code__"):
                # named tuples: __new__ is the generated tuple.__new__(cls, (fields...))
                src = getattr(f, "__code__").co_names
                if not set(src) <= {"_tuple_new", "tuple", "__new__"}:
                    return "%s.__new__ does more than build the tuple: %s" % (k.__qualname__, src)
        s = sample(obj)
        for p in range(6):
            back = pickle.loads(pickle.dumps(s, protocol=p))
            if type(back) is not obj or tuple(back) != tuple(s):
                return "sample does not round-trip (protocol %d)" % p
        return None
    return "not a kind this test knows (enum member or class, result tuple, or_, memmap)"


def pickle_of(module, name):
    """A protocol-4 pickle that imports module:name."""
    m, n = module.encode(), name.encode()
    return b"\x80\x04\x8c" + bytes([len(m)]) + m + b"\x8c" + bytes([len(n)]) + n + b"\x93."


def scan_all(brine, pairs):
    """brine's verdict on pickle_of(module, name) for each pair, in one run per 500 files."""
    out = {}
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, (m, n) in enumerate(pairs):
            path = os.path.join(d, "e%05d.pkl" % i)
            with open(path, "wb") as f:
                f.write(pickle_of(m, n))
            paths.append(path)
        for k in range(0, len(paths), 500):
            text = subprocess.run([brine, "scan", "--quiet"] + paths[k:k + 500], capture_output=True,
                                  text=True).stdout
            for line in text.splitlines():
                if ": " in line:
                    f, rest = line.split(": ", 1)
                    out[f] = rest.split(" ")[0]
    return [out.get(p, "?") for p in paths]


def main():
    brine = os.path.abspath(sys.argv[1])
    doc = yaml.safe_load(open(os.path.join(ROOT, "rules", "dangerous.yaml")))
    rows = []
    for d in doc["deny"]:
        for full in d.get("except") or ():
            why = None
            try:
                obj = resolve(full)
            except (ImportError, AttributeError):
                obj = None
                why = None  # a platform name this interpreter lacks (AF_*, SIG*): brine still checked
            if obj is not None:
                why = data_only(full, obj)
            mod, _, qual = full.partition(":")
            rows.append((full, why, mod, qual))
    pairs = [(m, q) for _, _, m, q in rows] + [(m, q + ".__reduce_ex__x") for _, _, m, q in rows]
    verdicts = scan_all(brine, pairs)
    passed = failed = 0
    for i, (full, why, mod, qual) in enumerate(rows):
        v, v2 = verdicts[i], verdicts[len(rows) + i]
        if why is None and "?" in (v, v2):
            why = "brine printed no verdict"
        if why is None and v == "dangerous":
            why = "brine still calls it dangerous"
        if why is None and v2 != "dangerous":
            why = "a path below it is no longer dangerous (%s)" % v2
        if why:
            failed += 1
            print("FAIL %s: %s" % (full, why))
        else:
            passed += 1
    print("deny-exceptions: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
