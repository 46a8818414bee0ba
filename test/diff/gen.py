"""Seeded inputs for the differential test: object graphs pickled at every
protocol by both of CPython's picklers, mutations of them, and hand-made
protocol 0 text variants. gen(seed, count) yields (name, bytes)."""
import collections
import copyreg
import pickle
import random
import struct

# ---- classes that pickle as globals, calls, NEWOBJ, BUILD, items ----------------


class Plain:
    """Pickles via copyreg (protocol < 2: _reconstructor; >= 2: NEWOBJ) + BUILD."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


class Reduced:
    """__reduce__ with every optional part: state, list items, dict items."""

    def __init__(self, args, state=None, items=None, ditems=None, name=("os", "path")):
        self.args, self.state, self.items, self.ditems = args, state, items, ditems

    def __reduce__(self):
        return (collections.OrderedDict, self.args, self.state,
                iter(self.items) if self.items is not None else None,
                iter(self.ditems) if self.ditems is not None else None)


class KwNew:
    def __new__(cls, *a, **k):
        return object.__new__(cls)

    def __getnewargs_ex__(self):
        return ((1, "x"), {"k": 2})


# ---- random values ---------------------------------------------------------------

SPECIAL_FLOATS = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), -float("nan"), 1e308, 5e-324,
                  2.0 ** 63, -2.0 ** 63, 2.0 ** 70, 1.0, 0.1, 1 / 3]
SPECIAL_INTS = [0, 1, -1, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -2 ** 31, -2 ** 31 - 1, 2 ** 32,
                2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1, 2 ** 64, 10 ** 30, -10 ** 30, 2 ** 200]
SPECIAL_STRS = ["", "a", "é", "日本", "\U0001F600", "\ud800", "\udfff", "a\\b", "'\"", "\n\r\t", "\x00",
                "x" * 300, "\u0080\u00ff", "\\u0041"]


def rand_scalar(r):
    k = r.randrange(9)
    if k == 0:
        return r.choice([None, True, False])
    if k == 1:
        return r.choice(SPECIAL_INTS)
    if k == 2:
        return r.randrange(-10 ** r.randrange(1, 40), 10 ** r.randrange(1, 40))
    if k == 3:
        return r.choice(SPECIAL_FLOATS)
    if k == 4:
        return r.uniform(-1e6, 1e6)
    if k == 5:
        return r.choice(SPECIAL_STRS)
    if k == 6:
        return "".join(chr(r.choice([r.randrange(32, 127), r.randrange(0x80, 0x800), r.randrange(0x800, 0x10FFFF)]))
                       for _ in range(r.randrange(6)))
    if k == 7:
        return bytes(r.randrange(256) for _ in range(r.randrange(0, 300 if r.random() < 0.1 else 8)))
    return bytearray(r.randrange(256) for _ in range(r.randrange(5)))


def rand_hashable(r, depth):
    if depth > 0 and r.random() < 0.2:
        return tuple(rand_hashable(r, depth - 1) for _ in range(r.randrange(4)))
    if depth > 0 and r.random() < 0.1:
        return frozenset(rand_hashable(r, depth - 1) for _ in range(r.randrange(3)))
    v = rand_scalar(r)
    return bytes(v) if isinstance(v, bytearray) else v


def rand_value(r, depth, pool):
    if depth <= 0 or r.random() < 0.35:
        if pool and r.random() < 0.15:
            return r.choice(pool)  # shared reference
        return rand_scalar(r)
    k = r.randrange(12)
    if k == 0:
        v = tuple(rand_value(r, depth - 1, pool) for _ in range(r.randrange(5)))
    elif k in (1, 2):
        v = [rand_value(r, depth - 1, pool) for _ in range(r.randrange(6))]
        if r.random() < 0.2:
            v.append(v)  # a cycle
    elif k in (3, 4):
        v = {rand_hashable(r, 2): rand_value(r, depth - 1, pool) for _ in range(r.randrange(5))}
        if r.random() < 0.2:
            v["self"] = v
    elif k == 5:
        v = {rand_hashable(r, 2) for _ in range(r.randrange(5))}
    elif k == 6:
        v = frozenset(rand_hashable(r, 2) for _ in range(r.randrange(5)))
    elif k == 7:
        v = Plain(a=rand_value(r, depth - 1, pool), b=rand_scalar(r))
    elif k == 8:
        v = Slotted(rand_scalar(r), rand_value(r, depth - 1, pool))
    elif k == 9:
        v = Reduced((), state=r.choice([None, {"s": 1}]), items=None,
                    ditems=[(rand_hashable(r, 1), rand_scalar(r)) for _ in range(r.randrange(3))])
    elif k == 10:
        v = r.choice([collections.OrderedDict(a=1), collections.Counter("aab"), collections.deque([1, 2]),
                      complex(1, 2), range(3), slice(1, 2), set(), KwNew(), len, pickle.loads])
    else:
        v = [rand_value(r, depth - 1, pool)]
    if r.random() < 0.3:
        pool.append(v)
    return v


def graphs(r, count):
    for i in range(count):
        pool = []
        yield "g%d" % i, rand_value(r, r.randrange(1, 6), pool)


# ---- mutations ---------------------------------------------------------------------

OPCODE_BYTES = [ord(c) for c in "IJKMLSTUBCNVXFG]al)t}dsu01(2ghjpqrcRbio.P\\Q"] + list(range(0x80, 0x99))


def mutate(r, data, others):
    data = bytearray(data)
    k = r.randrange(8)
    if k == 0 and len(data) > 1:
        return bytes(data[:r.randrange(len(data))])  # truncation
    if k == 1 and data:
        i = r.randrange(len(data))
        data[i] ^= 1 << r.randrange(8)
    elif k == 2:
        data.insert(r.randrange(len(data) + 1), r.choice(OPCODE_BYTES))
    elif k == 3 and data:
        del data[r.randrange(len(data))]
    elif k == 4 and others:
        o = r.choice(others)
        a = r.randrange(len(o))
        piece = o[a:a + r.randrange(1, 12)]
        i = r.randrange(len(data) + 1)
        data[i:i] = piece  # spliced opcodes
    elif k == 5 and data:
        a = r.randrange(len(data))
        b = min(len(data), a + r.randrange(1, 10))
        data[b:b] = data[a:b]  # duplicated range
    elif k == 6:
        i = r.randrange(len(data) + 1)
        data[i:i] = bytes([0x80, r.randrange(6)])  # PROTO mid-stream
    elif k == 7 and data:
        i = r.randrange(len(data))
        data[i] = r.choice(OPCODE_BYTES)
    return bytes(data)


# ---- protocol 0/1 text grammar -------------------------------------------------------

INT_LINES = [b"01", b"00", b"1", b"+0", b"-0", b" 1", b"010", b"0x10", b"0X1f", b"1_000", b"1__0", b"_1", b"1_",
             b"99999999999999999999", b"-99999999999999999999", b"9223372036854775807", b"9223372036854775808",
             b"-9223372036854775808", b"-9223372036854775809", b"", b" ", b"1 ", b"\t1", b"0o7", b"0b11", b"0b2",
             b"1e3", b"00", b"000", b"007", b"0x", b"0x_1", b"0777777777777777777777777", b"1\x002", b"\x00",
             b"0" * 30 + b"1", b"1" * 4300, b"1" * 4301, b"0x" + b"f" * 5000, b"+", b"-", b"--1", b"\xff", b"0_0",
             b"\x0b1", b"1\x0c"]
LONG_LINES = [l + b"L" for l in INT_LINES[:30]] + [b"5", b"L", b"5LL", b"0L", b"-0L", b"0x10L"]
FLOAT_LINES = [b"1.5", b"inf", b"-inf", b"Infinity", b"-INFINITY", b"nan", b"-nan", b"NaN", b"+nan", b"1e400",
               b"-1e400", b"1e-400", b" 1", b"1 ", b"0x1p3", b"1_0", b".5", b"5.", b".", b"1e", b"1e+", b"1e+5",
               b"infinit", b"infinityx", b"nanx", b"", b"-", b"+1.5", b"1.5\x00x", b"00.5", b"1E5", b"2.5e-3",
               b"4.9e-324", b"2e-324", b"1.7976931348623157e308", b"1.7976931348623159e308", b"1" * 400,
               b"0." + b"0" * 400 + b"1"]
STRING_LINES = [b"'abc'", b'"abc"', b"'a'b'", b"'abc", b"abc'", b"'", b"''", b'"\'', b"'\\x41'", b"'\\x4'",
                b"'\\x4g'", b"'\\101'", b"'\\1'", b"'\\400'", b"'\\777'", b"'\\n\\t\\r\\v\\f\\a\\b'", b"'\\q'",
                b"'\\'", b"'\\\\'", b"'\xe9'", b"'\\xe9'", b"'a\x00b'", b"'\\\"'", b"'\\8'"]
UNICODE_LINES = [b"abc", b"\\u00e9", b"\\U0001F600", b"\\U00110000", b"\\u12", b"\\u12g4", b"\\x41", b"\xe9",
                 b"\\", b"a\\", b"\\\\u0041", b"\\ud800", b"\\ud83d\\ude00", b"\\U0000", b"", b"\\uDFFF\\u0041",
                 b"\x00", b"\\n"]
NAME_LINES = [b"os\nsystem", b"\xc3\xa9\nx", b"\xff\nx", b"os\nsys\xfftem", b"a.b\nc.d", b"a\nb.<locals>.c",
              b"__builtin__\neval", b"copy_reg\n_reconstructor", b"exceptions\nStandardError", b"UserDict\nUserDict",
              b"\nx", b"a\n", b"a\x00b\nc"]
MEMO_LINES = [b"0", b"-1", b"01", b" 1", b"1 ", b"1_0", b"x", b"", b"99999999999999999999", b"+1", b"0x1"]


def text_variants():
    out = []
    for i, l in enumerate(INT_LINES):
        out.append(("int%d" % i, b"I" + l + b"\n."))
    for i, l in enumerate(LONG_LINES):
        out.append(("long%d" % i, b"L" + l + b"\n."))
    for i, l in enumerate(FLOAT_LINES):
        out.append(("float%d" % i, b"F" + l + b"\n."))
    for i, l in enumerate(STRING_LINES):
        out.append(("string%d" % i, b"S" + l + b"\n."))
    for i, l in enumerate(UNICODE_LINES):
        out.append(("unicode%d" % i, b"V" + l + b"\n."))
    for i, l in enumerate(NAME_LINES):
        for proto in (0, 2, 3, 4):
            pre = b"\x80" + bytes([proto]) if proto else b""
            out.append(("global%d_p%d" % (i, proto), pre + b"c" + l + b"\n."))
            out.append(("inst%d_p%d" % (i, proto), pre + b"(K\x01i" + l + b"\n."))
    for i, l in enumerate(MEMO_LINES):
        out.append(("put%d" % i, b"Np" + l + b"\n0g0\n."))
        out.append(("get%d" % i, b"Np1\n0g" + l + b"\n."))
    out.append(("persid-text", b"Pabc\n."))
    out.append(("persid-nonascii", b"P\xe9\n."))
    return out


def hand_made():
    """Small structural cases around marks, memo, frames and odd targets."""
    return [
        ("pop-mark-top", b"N(0."), ("pop-below-mark", b"(N00."), ("dup-mark", b"(2."),
        ("appends-empty-on-int", b"K\x01(e."), ("setitems-empty-on-int", b"K\x01(u."),
        ("additems-on-frozenset", b"(\x91(K\x01\x90."), ("build-none-on-list", b"]Nb."),
        ("build-slot-on-list", b"]N}\x86b."), ("build-slot-items-on-list", b"]N}K\x01K\x02s\x86b."),
        ("setitem-bytearray", b"\x96\x02\x00\x00\x00\x00\x00\x00\x00abK\x00K\x41s."),
        ("setitem-bytearray-bad", b"\x96\x02\x00\x00\x00\x00\x00\x00\x00abK\x00M\x00\x01s."),
        ("extend-bytearray", b"\x96\x00\x00\x00\x00\x00\x00\x00\x00(K\x41\x88e."),
        ("setitem-list-neg", b"]K\x01aJ\xff\xff\xff\xffK\x07s."),
        ("memoize-twice", b"]\x94\x94K\x01\x94h\x01."), ("frame-ok", b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N.."),
        ("frame-cross", b"\x80\x04\x95\x01\x00\x00\x00\x00\x00\x00\x00K\x05."), ("robuf-bytes", b"C\x01a\x98."),
        ("robuf-ba-then-mutate", b"\x96\x01\x00\x00\x00\x00\x00\x00\x00a\x94\x98h\x00K\x00K\x42s\x86."),
        ("ext-after-call", b"ca\nb\n)R\x82\x01."), ("two-pickles", b"N.K\x01."), ("trailing-junk", b"N.\x00\x01"),
        ("newobj-ex-kwargs", b"ca\nb\n)}\x8c\x01kK\x01s\x92."), ("obj-empty", b"(ca\nb\no."),
        ("stack-global-memo", b"\x80\x04\x8c\x01a\x94\x8c\x01b\x94h\x00h\x01\x93."),
        ("dict-nan-keys", b"G\x7f\xf8\x00\x00\x00\x00\x00\x00\x94(h\x00K\x01h\x00K\x02G\x7f\xf8\x00\x00\x00\x00\x00\x00K\x03d."),
        ("dict-num-keys", b"(K\x01K\x01G?\xf0\x00\x00\x00\x00\x00\x00K\x02\x88K\x03\x8a\x01\x01K\x04d."),
        ("dict-bigfloat-key", b"(\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01K\x01G\x43\xf0\x00\x00\x00\x00\x00\x00K\x02d."),
        ("frozenset-key", b"((K\x01K\x02\x91K\x01(K\x02K\x01\x91K\x02d."),
        ("tuple-key-unhashable", b"(]\x85K\x01d."), ("persid-bin", b"(K\x01K\x02tQ."),
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
        yield "mut%d" % i, mutate(r, base, originals)
    for name, data in text_variants():
        yield name, data
    for name, data in hand_made():
        yield name, data
