"""Seeded inputs for the differential test: object graphs pickled at every
protocol by both of CPython's picklers, mutations of them, the protocol 0
text grammar, and hand-made structural cases.

gen(seed, count) yields (name, bytes), the same for the same seed and count
in every process provided PYTHONHASHSEED=0 (set and str/bytes sets pickle in
hash order; ensure_hash_seed() re-executes the program with it). Nothing here
hashes by address: NaN (hashed by id since 3.10) and None (by address in
3.11) stay out of sets, and the globals put in sets have a metaclass hashing
their name.

    gen.py [--seed S] [--count N] [--out DIR]   list the inputs, or write them to DIR
"""
import collections
import os
import pickle
import pickletools
import random
import sys
import zlib


def ensure_hash_seed():
    """Re-execute this program with PYTHONHASHSEED=0 unless it already is."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


# ---- classes that pickle as globals, calls, NEWOBJ, BUILD, items ----------------


class DetHash(type):
    """Classes hashed by name, so sets of them pickle in a fixed order."""

    def __hash__(cls):
        return zlib.crc32(cls.__qualname__.encode())

    def __eq__(cls, other):
        return cls is other


G0 = DetHash("G0", (), {"__module__": __name__})
G1 = DetHash("G1", (), {"__module__": __name__})
G2 = DetHash("G2", (), {"__module__": __name__})
HASHABLE_GLOBALS = [G0, G1, G2]


class Called:
    """Hashable, equal only to itself, pickles as a call: two of them with the
    same arguments are look-alike objects in a set."""

    def __init__(self, arg):
        self.arg = arg

    def __hash__(self):
        return 7

    def __reduce__(self):
        return (G1, (self.arg,))


class Plain:
    """Pickles via copyreg (protocol < 2: _reconstructor; >= 2: NEWOBJ) + BUILD."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class Slotted:
    """BUILD with a (None, slotstate) pair."""
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


class Reduced:
    """__reduce__ with every optional part: state, list items, dict items."""

    def __init__(self, args, state=None, items=None, ditems=None):
        self.args, self.state, self.items, self.ditems = args, state, items, ditems

    def __reduce__(self):
        return (collections.OrderedDict, self.args, self.state,
                iter(self.items) if self.items is not None else None,
                iter(self.ditems) if self.ditems is not None else None)


class Listish:
    """__reduce__ with list items on a call: APPEND/APPENDS on a non-list."""

    def __init__(self, items):
        self.items = items

    def __reduce__(self):
        return (G2, (), None, iter(self.items))


class KwNew:
    """NEWOBJ_EX from protocol 4, functools.partial below."""

    def __new__(cls, *a, **k):
        return object.__new__(cls)

    def __getnewargs_ex__(self):
        return ((1, "x"), {"k": 2})


# ---- random values ---------------------------------------------------------------

SPECIAL_FLOATS = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), -float("nan"), 1e308, -1e308,
                  1.7976931348623157e308, 5e-324, -5e-324, 1e-310, 2.2250738585072014e-308, 2.225073858507201e-308,
                  2.0 ** 63, -2.0 ** 63, 2.0 ** 70, 1.0, 0.1, 1 / 3, 1e16, 123456789012345678.0, 1e-5, 1e22, 1e23]
SPECIAL_INTS = [0, 1, -1, 2, 255, 256, -256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -2 ** 31, -2 ** 31 - 1, 2 ** 32,
                2 ** 32 - 1, 2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1, 2 ** 64, -2 ** 64, 10 ** 30, -10 ** 30,
                2 ** 200, -2 ** 200, 2 ** 2048 - 1, -(2 ** 1000) + 1, 127, 128, -128, -129]
SPECIAL_STRS = ["", "a", "\u00e9", "\u65e5\u672c", "\U0001F600", "\ud800", "\udfff", "\ud83d\ude00"[0], "a\\b",
                "'\"", "\n\r\t", "\x00", "x" * 300, "\u0080\u00ff", "\\u0041", "\\", "\\x41", "\ufffe\uffff",
                "\U0010ffff", "'", '"', "a\nb", "\x7f", "\\U0001F600", "\ud800\udc00"]


def rand_str(r):
    pieces = []
    for _ in range(r.randrange(6)):
        k = r.randrange(5)
        if k == 0:
            pieces.append(chr(r.randrange(32, 127)))
        elif k == 1:
            pieces.append(chr(r.randrange(0x80, 0x100)))
        elif k == 2:
            pieces.append(chr(r.randrange(0x100, 0xD800)))
        elif k == 3:
            pieces.append(chr(r.randrange(0x10000, 0x110000)))
        else:
            pieces.append(r.choice(["\\", "'", '"', "\n", "\r", "\x00", chr(r.randrange(0xD800, 0xE000))]))
    return "".join(pieces)


def rand_scalar(r, for_set=False):
    k = r.randrange(10)
    if k == 0:
        # hash(None) is its address in 3.11 (a constant from 3.12): no fixed set order
        return r.choice([True, False] if for_set else [None, True, False])
    if k == 1:
        return r.choice(SPECIAL_INTS)
    if k == 2:
        return r.randrange(-10 ** r.randrange(1, 40), 10 ** r.randrange(1, 40))
    if k == 3:
        v = r.choice(SPECIAL_FLOATS)
        return 1.5 if for_set and v != v else v  # NaN is hashed by address: no fixed set order
    if k == 4:
        return r.uniform(-1e6, 1e6)
    if k == 5:
        return r.choice(SPECIAL_STRS)
    if k == 6:
        return rand_str(r)
    if k == 7:
        return bytes(r.randrange(256) for _ in range(r.randrange(0, 300 if r.random() < 0.1 else 8)))
    if k == 8:
        return r.randrange(-300, 300)
    return bytearray(r.randrange(256) for _ in range(r.randrange(5)))


def rand_hashable(r, depth, pool):
    if depth > 0 and r.random() < 0.2:
        return tuple(rand_hashable(r, depth - 1, pool) for _ in range(r.randrange(4)))
    if depth > 0 and r.random() < 0.1:
        return frozenset(rand_hashable(r, depth - 1, pool) for _ in range(r.randrange(3)))
    if r.random() < 0.1:
        return r.choice(HASHABLE_GLOBALS)
    if r.random() < 0.05:
        v = Called(r.choice([1, "a", None, b"b"]))
        pool.append(v)  # may be reached again outside the set
        return v
    v = rand_scalar(r, for_set=True)
    return bytes(v) if isinstance(v, bytearray) else v


def rand_value(r, depth, pool):
    if depth <= 0 or r.random() < 0.35:
        if pool and r.random() < 0.15:
            return r.choice(pool)  # shared reference
        return rand_scalar(r)
    k = r.randrange(15)
    if k == 0:
        v = tuple(rand_value(r, depth - 1, pool) for _ in range(r.randrange(6)))
    elif k in (1, 2):
        v = [rand_value(r, depth - 1, pool) for _ in range(r.randrange(6))]
        if r.random() < 0.2:
            v.append(v)  # a cycle
    elif k in (3, 4):
        v = {rand_hashable(r, 2, pool): rand_value(r, depth - 1, pool) for _ in range(r.randrange(5))}
        if r.random() < 0.2:
            v["self"] = v
    elif k == 5:
        v = {rand_hashable(r, 2, pool) for _ in range(r.randrange(5))}
    elif k == 6:
        v = frozenset(rand_hashable(r, 2, pool) for _ in range(r.randrange(5)))
    elif k == 7:
        v = Plain(a=rand_value(r, depth - 1, pool), b=rand_scalar(r))
    elif k == 8:
        v = Slotted(rand_scalar(r), rand_value(r, depth - 1, pool))
    elif k == 9:
        v = Reduced((), state=r.choice([None, {"s": 1}]), items=None,
                    ditems=[(rand_hashable(r, 1, pool), rand_scalar(r)) for _ in range(r.randrange(3))])
    elif k == 10:
        v = r.choice([collections.OrderedDict(a=1), collections.Counter("aab"), collections.deque([1, 2]),
                      complex(1, 2), range(3), slice(1, 2), set(), KwNew(), len, pickle.loads, G0, Called(2)])
    elif k == 11:
        v = Listish([rand_value(r, depth - 1, pool) for _ in range(r.randrange(4))])
    elif k == 12:
        v = [rand_value(r, depth - 1, pool)]
    elif k == 13:
        # a set holding globals and tuples of them: ids and refs inside sets
        g = r.choice(HASHABLE_GLOBALS)
        c = Called(r.randrange(2))
        v = {g, (g,), c, Called(c.arg), (c, r.choice(HASHABLE_GLOBALS))}
        v = v if r.random() < 0.5 else frozenset(v)
        pool.append(c)
    else:
        v = deep(r, r.randrange(10, 49))
    if r.random() < 0.3:
        pool.append(v)
    return v


def deep(r, n):
    """A chain of n nested containers (under 50)."""
    v = rand_scalar(r)
    for _ in range(n):
        k = r.randrange(4)
        v = [v] if k == 0 else (v,) if k == 1 else {"k": v} if k == 2 else Listish([v])
    return v


def graphs(r, count):
    for i in range(count):
        pool = []
        yield "g%d" % i, rand_value(r, r.randrange(1, 6), pool)


# ---- mutations ---------------------------------------------------------------------

OPCODE_BYTES = [ord(c) for c in "IJKMLSTUBCNVXFG]al)t}dsu01(2ghjpqrcRbio.P\\Q"] + list(range(0x80, 0x99))


def opcode_starts(data):
    """Offsets of the opcodes pickletools can decode (up to the first error)."""
    out = []
    try:
        for _op, _arg, pos in pickletools.genops(data):
            out.append(pos)
    except Exception:
        pass
    return out


def mutate(r, data, others):
    data = bytearray(data)
    k = r.randrange(10)
    if k == 0 and len(data) > 1:
        return bytes(data[:r.randrange(len(data))])  # truncation
    if k == 1 and data:
        i = r.randrange(len(data))
        data[i] ^= 1 << r.randrange(8)  # bit flip
    elif k == 2:
        data.insert(r.randrange(len(data) + 1), r.choice(OPCODE_BYTES))  # an opcode byte inserted
    elif k == 3:
        data.insert(r.randrange(len(data) + 1), r.randrange(256))  # any byte inserted
    elif k == 4 and data:
        del data[r.randrange(len(data))]
    elif k == 5 and others:
        o = r.choice(others)
        a = r.randrange(len(o))
        piece = o[a:a + r.randrange(1, 12)]
        i = r.randrange(len(data) + 1)
        data[i:i] = piece  # spliced bytes
    elif k == 6 and others:
        o = r.choice(others)
        starts = opcode_starts(o)
        mine = opcode_starts(bytes(data))
        if len(starts) > 1 and mine:
            j = r.randrange(len(starts) - 1)
            piece = o[starts[j]:starts[j + 1 + r.randrange(min(3, len(starts) - 1 - j))]]
            i = r.choice(mine)
            data[i:i] = piece  # whole opcodes spliced at an opcode boundary
    elif k == 7 and data:
        a = r.randrange(len(data))
        b = min(len(data), a + r.randrange(1, 10))
        data[b:b] = data[a:b]  # duplicated range
    elif k == 8:
        mine = opcode_starts(bytes(data)) or [0]
        i = r.choice(mine)
        data[i:i] = bytes([0x80, r.randrange(6)])  # PROTO mid-stream
    elif k == 9 and data:
        i = r.randrange(len(data))
        data[i] = r.choice(OPCODE_BYTES)
    return bytes(data)


# ---- protocol 0/1 text grammar -------------------------------------------------------

INT_LINES = [b"01", b"00", b"1", b"+0", b"-0", b"+1", b" 1", b"010", b"0x10", b"0X1f", b"1_000", b"1__0", b"_1",
             b"1_", b"99999999999999999999", b"-99999999999999999999", b"9223372036854775807",
             b"9223372036854775808", b"-9223372036854775808", b"-9223372036854775809", b"", b" ", b"1 ", b"\t1",
             b"0o7", b"0b11", b"0b2", b"1e3", b"000", b"007", b"08", b"0x", b"0x_1", b"0777777777777777777777777",
             b"1\x002", b"\x00", b"0" * 30 + b"1", b"1" * 4300, b"1" * 4301, b"0x" + b"f" * 5000, b"+", b"-", b"--1",
             b"\xff", b"0_0", b"\x0b1", b"1\x0c", b"1\r", b" -1", b"- 1", b"0x-1", b"1.0", b"\xd9\xa1"]
LONG_LINES = [l + b"L" for l in INT_LINES[:32]] + [b"", b"5", b"L", b"5LL", b"0L", b"-0L", b"0x10L", b"010L",
                                                   b"5l", b"1" * 4301 + b"L", b"0x" + b"f" * 5000 + b"L"]
FLOAT_LINES = [b"1.5", b"inf", b"-inf", b"Infinity", b"-Infinity", b"-INFINITY", b"nan", b"-nan", b"NaN", b"+nan",
               b"1e400", b"-1e400", b"1e-400", b" 1", b"1 ", b"0x1p3", b"1_0", b".5", b"5.", b".", b"1e", b"1e+",
               b"1e+5", b"infinit", b"infinityx", b"nanx", b"", b"-", b"+1.5", b"1.5\x00x", b"00.5", b"1E5",
               b"2.5e-3", b"4.9e-324", b"2e-324", b"1.7976931348623157e308", b"1.7976931348623159e308",
               b"1" * 400, b"0." + b"0" * 400 + b"1", b"-0", b"-0.0", b"0e0", b"1\r", b"\xd9\xa1"]
STRING_LINES = [b"'abc'", b'"abc"', b"'a'b'", b"'abc", b"abc'", b"'", b"''", b'""', b'"\'', b"'\"", b"'\\x41'",
                b"'\\x4'", b"'\\x4g'", b"'\\101'", b"'\\1'", b"'\\400'", b"'\\777'", b"'\\n\\t\\r\\v\\f\\a\\b'",
                b"'\\q'", b"'\\'", b"'\\\\'", b"'\xe9'", b"'\\xe9'", b"'a\x00b'", b"'\\\"'", b"'\\8'", b"'\\u0041'",
                b" 'a'", b"'a' ", b"'\\\n'", b"abc", b""]
UNICODE_LINES = [b"abc", b"\\u00e9", b"\\U0001F600", b"\\U00110000", b"\\u12", b"\\u12g4", b"\\x41", b"\xe9",
                 b"\\", b"a\\", b"\\\\u0041", b"\\ud800", b"\\ud83d\\ude00", b"\\U0000", b"", b"\\uDFFF\\u0041",
                 b"\x00", b"\\n", b"\\U0010FFFF", b"\\u", b"\\\\", b"\xc3\xa9", b"\\U0001f600x"]
NAME_LINES = [b"os\nsystem", b"\xc3\xa9\nx", b"\xff\nx", b"os\nsys\xfftem", b"a.b\nc.d", b"a\nb.<locals>.c",
              b"a\n<locals>", b"a\nb.<locals>", b"a\nb.<locals>x", b"__builtin__\neval", b"__builtin__\nxrange",
              b"copy_reg\n_reconstructor", b"exceptions\nStandardError", b"UserDict\nUserDict", b"UserDict\nIterableUserDict",
              b"urllib2\nurlopen", b"whichdb\nwhichdb", b"\nx", b"a\n", b"a\x00b\nc", b"a \nb", b"a\nb\r",
              b"builtins\neval", b"posix\nsystem", b"a\nb..c", b"a\n.b"]
MEMO_LINES = [b"0", b"-1", b"01", b" 1", b"1 ", b"1_0", b"x", b"", b"99999999999999999999", b"+1", b"0x1", b"1\x00",
              b"-0", b"1.0"]


def _sg(module, name):
    """STACK_GLOBAL of two SHORT_BINUNICODE strings (raw bytes, maybe not UTF-8)."""
    return b"\x8c" + bytes([len(module)]) + module + b"\x8c" + bytes([len(name)]) + name + b"\x93"


def text_variants():
    out = []
    for tag, op, lines in (("int", b"I", INT_LINES), ("long", b"L", LONG_LINES), ("float", b"F", FLOAT_LINES),
                           ("string", b"S", STRING_LINES), ("unicode", b"V", UNICODE_LINES)):
        for i, l in enumerate(lines):
            out.append(("%s%d" % (tag, i), op + l + b"\n."))
            out.append(("%s%d_t" % (tag, i), b"(" + op + l + b"\nt."))  # inside MARK ... TUPLE
    for i, l in enumerate(NAME_LINES):
        module, _, name = l.partition(b"\n")
        for proto in range(6):
            pre = b"\x80" + bytes([proto]) if proto else b""
            out.append(("global%d_p%d" % (i, proto), pre + b"c" + l + b"\n."))
            out.append(("inst%d_p%d" % (i, proto), pre + b"(K\x01i" + l + b"\n."))
            out.append(("instempty%d_p%d" % (i, proto), pre + b"(i" + l + b"\n."))
            out.append(("stackglobal%d_p%d" % (i, proto), pre + _sg(module, name) + b"."))
        # the protocol changes between two imports of the same name
        out.append(("globalswitch%d" % i, b"\x80\x02c" + l + b"\n\x80\x03c" + l + b"\n\x80\x04c" + l + b"\n\x87."))
        out.append(("globalswitchdown%d" % i, b"\x80\x04c" + l + b"\n\x80\x00c" + l + b"\n\x86."))
    for i, l in enumerate(MEMO_LINES):
        out.append(("put%d" % i, b"Np" + l + b"\n0g0\n."))
        out.append(("get%d" % i, b"Np1\n0g" + l + b"\n."))
    out.append(("persid-text", b"Pabc\n."))
    out.append(("persid-empty", b"P\n."))
    out.append(("persid-nonascii", b"P\xe9\n."))
    out.append(("persid-nul", b"Pa\x00b\n."))
    return out


NAN = b"G\x7f\xf8\x00\x00\x00\x00\x00\x00"


def hand_made():
    """Small structural cases around marks, memo, frames, sets and odd targets."""
    return [
        ("pop-mark-top", b"N(0."), ("pop-below-mark", b"(N00."), ("dup-mark", b"(2."), ("pop-mark-empty", b"1N."),
        ("appends-empty-on-int", b"K\x01(e."), ("setitems-empty-on-int", b"K\x01(u."),
        ("additems-empty-on-int", b"K\x01(\x90."), ("append-on-int", b"K\x01K\x02a."),
        ("additems-on-frozenset", b"(\x91(K\x01\x90."), ("build-none-on-list", b"]Nb."),
        ("build-slot-on-list", b"]N}\x86b."), ("build-slot-items-on-list", b"]N}K\x01K\x02s\x86b."),
        ("build-on-call-self", b"ca\nb\n)R\x94h\x00b."), ("build-on-global", b"ca\nb\nK\x01b."),
        ("setitem-bytearray", b"\x96\x02\x00\x00\x00\x00\x00\x00\x00abK\x00K\x41s."),
        ("setitem-bytearray-bad", b"\x96\x02\x00\x00\x00\x00\x00\x00\x00abK\x00M\x00\x01s."),
        ("extend-bytearray", b"\x96\x00\x00\x00\x00\x00\x00\x00\x00(K\x41\x88e."),
        ("setitem-list-neg", b"]K\x01aJ\xff\xff\xff\xffK\x07s."),
        ("memoize-twice", b"]\x94\x94K\x01\x94h\x01."),
        ("frame-ok", b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N.."),
        ("frame-cross", b"\x80\x04\x95\x01\x00\x00\x00\x00\x00\x00\x00K\x05."),
        ("frame-in-frame", b"\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00\x95\x01\x00\x00\x00\x00\x00\x00\x00N."),
        ("frame-too-long", b"\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00N."),
        ("robuf-bytes", b"C\x01a\x98."),
        ("robuf-ba-then-mutate", b"\x96\x01\x00\x00\x00\x00\x00\x00\x00a\x94\x98h\x00K\x00K\x42s\x86."),
        ("robuf-ba-then-extend", b"\x96\x01\x00\x00\x00\x00\x00\x00\x00a\x94\x98h\x00(K\x42e\x86."),
        ("nextbuffer", b"\x97."), ("ext-after-call", b"ca\nb\n)R\x82\x01."), ("ext1", b"\x82\x01."),
        ("two-pickles", b"N.K\x01."), ("trailing-junk", b"N.\x00\x01"), ("trailing-bad-opcode", b"N.Z"),
        ("newobj-ex-kwargs", b"ca\nb\n)}\x8c\x01kK\x01s\x92."),
        ("newobj-ex-int-key", b"ca\nb\n)}K\x01K\x01s\x92."),
        ("newobj-ex-empty", b"ca\nb\n)}\x92."), ("newobj-on-call", b"ca\nb\n)R)\x81."),
        ("newobj-list-args", b"ca\nb\n]\x81."), ("newobj-on-int", b"K\x01)\x81."),
        ("obj-empty", b"(ca\nb\no."), ("obj-args", b"(ca\nb\nK\x01o."), ("obj-on-call", b"(ca\nb\n)Ro."),
        ("reduce-call-args", b"ca\nb\nca\nc\n)RR."), ("reduce-none-args", b"ca\nb\nNR."),
        ("stack-global-memo", b"\x80\x04\x8c\x01a\x94\x8c\x01b\x94h\x00h\x01\x93."),
        ("stack-global-bytes", b"\x80\x04C\x01aC\x01b\x93."), ("stack-global-proto0", b"\x8c\x01a\x8c\x01b\x93."),
        ("dict-nan-keys", NAN + b"\x94(h\x00K\x01h\x00K\x02" + NAN + b"K\x03d."),
        ("dict-num-keys", b"(K\x01K\x01G?\xf0\x00\x00\x00\x00\x00\x00K\x02\x88K\x03\x8a\x01\x01K\x04d."),
        ("dict-bigfloat-key", b"(\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01K\x01G\x43\xf0\x00\x00\x00\x00\x00\x00K\x02d."),
        ("dict-negzero-key", b"(G\x80\x00\x00\x00\x00\x00\x00\x00K\x01J\x00\x00\x00\x00K\x02d."),
        ("frozenset-key", b"((K\x01K\x02\x91K\x01(K\x02K\x01\x91K\x02d."),
        ("tuple-key-unhashable", b"(]\x85K\x01d."), ("set-unhashable", b"((]\x91."),
        ("set-two-nans", b"(" + NAN + NAN + b"\x91."), ("set-one-nan-twice", NAN + b"\x94(h\x00h\x00\x91."),
        ("set-num-dups", b"(K\x01G?\xf0\x00\x00\x00\x00\x00\x00\x88\x91."), ("set-bool-first", b"(\x88K\x01\x91."),
        ("set-global-and-tuple", b"\x80\x04ca\nb\n\x94(h\x00h\x00\x85\x94\x91."),
        ("set-calls-lookalike", b"\x80\x04ca\nb\n\x94)R\x94h\x00)R\x94(h\x01h\x02\x91h\x01h\x02h\x01\x87\x86."),
        ("set-additems-calls", b"\x80\x04\x8f\x94(ca\nb\n)Rca\nb\n)R\x90."),
        ("persid-bin", b"(K\x01K\x02tQ."), ("persid-bin-list", b"]Q."), ("persid-then-ops", b"Pa\n(K\x01K\x02u."),
        ("proto-6", b"\x80\x06N."), ("proto-high-after-stop", b"N.\x80\x06"), ("empty", b""),
        ("stop-empty-stack", b"."), ("stop-two-items", b"NN."), ("stop-under-mark", b"(N."),
        ("long1-neg-zero", b"\x8a\x01\x00."), ("long1-nonminimal", b"\x8a\x02\xff\xff."), ("long4-neg", b"\x8b\xff\xff\xff\xff."),
        ("binstring-neg", b"T\xff\xff\xff\xffab."), ("binunicode-bad-utf8", b"X\x01\x00\x00\x00\xff."),
        ("binunicode-surrogate", b"X\x03\x00\x00\x00\xed\xa0\x80."), ("short-binstring", b"U\x02\xc3\xa9."),
        ("binget-missing", b"h\x05."), ("get-after-pop", b"N\x940h\x00."),
        ("memo-huge-binput", b"Nr\xff\xff\xff\x7fj\xff\xff\xff\x7f."),
        ("deep-tuples", b"(" * 45 + b")" + b"t" * 45 + b"."), ("deep-lists", b"]" * 40 + b"a" * 39 + b"."),
        # the full VM's inline BINGET, MEMOIZE and BININT1 (taken once the dense memo and the shared
        # small int exist): above a MARK, at the end of the input, across a frame's end
        ("memoize-above-mark", b"\x80\x04N\x94(\x94."), ("binget-dense-then-missing", b"Nq\x00h\x00h\x01."),
        ("binint1-shared", b"]\x94(K\x05K\x05K\x00K\xffK\x00e."), ("binget-truncated", b"N\x94h"),
        ("binint1-truncated", b"K\x05\x94K"), ("binget-crosses-frame", b"\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00N\x94h\x00."),
        ("binint1-crosses-frame", b"\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x07K\x07\x86."),
        ("memoize-dense-twice", b"N\x94q\x01\x94h\x02h\x01\x86."),
        # the full VM's fast_run also takes MARK, NONE and the booleans once made: a MEMOIZE right
        # after a MARK in the run, the shared None/True/False, BINGETs and a shared int above a MARK
        ("fast-run-mark-fence", b"\x80\x04N\x94(N\x94(\x94."),
        ("fast-run-shared-none-bools", b"\x80\x04N\x88\x89\x87N\x88\x89\x87\x86."),
        ("fast-run-mark-binget-binint1", b"\x80\x04N\x94(h\x00h\x00K\x01K\x01t."),
    ]


def gen(seed=1, count=300):
    r = random.Random(seed)
    originals = []
    for name, v in graphs(r, count):
        for proto in range(6):
            for tag, dumps in (("c", pickle.dumps), ("py", pickle._dumps)):
                if tag == "py" and r.random() < 0.7:
                    continue
                try:
                    data = dumps(v, protocol=proto)
                except Exception:
                    continue
                originals.append(data)
                yield "%s_p%d%s" % (name, proto, tag), data
    for i in range(len(originals)):
        base = r.choice(originals)
        data = mutate(r, base, originals)
        if r.random() < 0.3:
            data = mutate(r, data, originals)  # a second mutation
        yield "mut%d" % i, data
    for name, data in text_variants():
        yield name, data
    for name, data in hand_made():
        yield name, data


def main():
    import argparse
    ap = argparse.ArgumentParser(description="list (or write) the differential test's inputs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=300, help="object graphs (inputs are about 15 x N)")
    ap.add_argument("--out", help="write each input to OUT/NAME")
    a = ap.parse_args()
    ensure_hash_seed()
    n = 0
    for name, data in gen(a.seed, a.count):
        n += 1
        if a.out:
            os.makedirs(a.out, exist_ok=True)
            with open(os.path.join(a.out, name), "wb") as f:
                f.write(data)
        else:
            print(name, data[:60].hex() + ("..." if len(data) > 60 else ""))
    print("gen: %d inputs" % n, file=sys.stderr)
    return 0


if __name__ == "__main__":
    # run as the module `gen`, so the classes above pickle as gen.NAME either way
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gen as _gen
    sys.exit(_gen.main())
