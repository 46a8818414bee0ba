"""Hostile pickle shapes for DoS testing (THREATS.md section E), shared by
test/hostile/run_hostile.py (a test) and test/bench/bench_hostile.py (a
benchmark). Each builder takes a target size in bytes and returns a pickle of
about that size whose naive analysis costs far more than its size: a value
whose hashing or comparison costs its size, used at every SETITEM; fan-out
through the memo or DUP; probe chains; table resets between pickles.

Only the standard library; every shape is built opcode by opcode, so that
what it exercises is plain from the code."""
import pickle
import struct

PROTO4 = b"\x80\x04"
MARK, STOP, NONE, TUPLE, TUPLE1, TUPLE2 = b"(", b".", b"N", b"t", b"\x85", b"\x86"
EMPTY_DICT, SETITEMS, FROZENSET, DUP, REDUCE, POP = b"}", b"u", b"\x91", b"2", b"R", b"0"
MEMOIZE = b"\x94"


def binint1(i):
    return b"K" + bytes([i & 0xFF])


def binint(i):
    return b"J" + struct.pack("<i", i)


def put(i):
    return b"r" + struct.pack("<I", i)


def get(i):
    return b"j" + struct.pack("<I", i)


def small_ints(n):
    return b"".join(binint1(i) for i in range(n))


def wide_tuple(width, memo):
    """(0, 1, ..., 255, 0, ...) of `width` items, stored at memo[memo]."""
    return MARK + small_ints(width) + TUPLE + put(memo)


def deep_tuple(depth, memo):
    """((((None,),),),...) `depth` levels deep, stored at memo[memo]."""
    return NONE + TUPLE1 * depth + put(memo)


def set_again(memo, n):
    """SETITEMS in batches of 10,000 (under max_stack) setting memo[memo] as a
    key n times, into the dict on top of the stack."""
    batch = MARK + (get(memo) + NONE) * 10000 + SETITEMS
    return batch * (n // 10000) + (MARK + (get(memo) + NONE) * (n % 10000) + SETITEMS if n % 10000 else b"")


def uses_as_key(memo, budget):
    """A dict whose SETITEMS sets memo[memo] as the key again and again."""
    return EMPTY_DICT + set_again(memo, max(1, budget // 6)) + POP


def wide_keys(size):
    """One wide tuple, used as a dict key ~size/8 times: hashed every time."""
    w = size // 8
    return PROTO4 + wide_tuple(w, 0) + POP + uses_as_key(0, size - 2 * w) + NONE + STOP


def wide_equal_keys(size):
    """Two equal, distinct wide tuples; the second is set as a key of a dict
    holding the first, again and again: compared item by item every time."""
    w = size // 10
    body = wide_tuple(w, 0) + POP + wide_tuple(w, 1) + POP
    d = EMPTY_DICT + get(0) + NONE + b"s"
    return PROTO4 + body + d + set_again(1, (size - 4 * w) // 6) + POP + NONE + STOP


def deep_keys(size):
    """A tuple 1,500 levels deep used as a dict key ~size/6 times."""
    return PROTO4 + deep_tuple(1500, 0) + POP + uses_as_key(0, size - 1510) + NONE + STOP


def deep_equal_keys(size):
    """Two equal, distinct deep tuples; the second set as a key again and again."""
    body = deep_tuple(1500, 0) + POP + deep_tuple(1500, 1) + POP
    d = EMPTY_DICT + get(0) + NONE + b"s"
    return PROTO4 + body + d + set_again(1, (size - 3020) // 6) + POP + NONE + STOP


def frozenset_shared(size):
    """Frozensets of (V, i) where V is one shared tuple 1,500 deep: hashing
    each member hashes V."""
    per = 1000
    one = MARK + b"".join(get(0) + binint(i) + TUPLE2 for i in range(per)) + FROZENSET + POP
    return PROTO4 + deep_tuple(1500, 0) + POP + one * max(1, (size - 1510) // len(one)) + NONE + STOP


def billion_laughs(size):
    """30 levels of 10-tuples of the level below (10**30 leaves through the
    memo), used as a dict key, then passed to a call, again and again."""
    levels = 30
    body = MARK + NONE * 10 + TUPLE + put(0) + POP
    for i in range(1, levels):
        body += MARK + get(i - 1) * 10 + TUPLE + put(i) + POP
    top = levels - 1
    body += b"\x8c\x08builtins\x94\x8c\x03len\x94\x93" + put(1000) + POP
    call = get(1000) + get(top) + TUPLE1 + REDUCE + POP
    rest = size - len(body)
    body += uses_as_key(top, rest // 2)
    body += call * max(1, min(2000, (rest // 2) // len(call)))
    return PROTO4 + body + NONE + STOP


def dup_chain(size):
    """A deep tuple DUPed ~size/4 times into one wide tuple used as a key,
    then DUPed again into a frozenset (each member hashed)."""
    n = min(size // 4, 450000)
    body = deep_tuple(1000, 0) + POP
    body += MARK + get(0) + DUP * n + TUPLE + put(1) + POP
    body += uses_as_key(1, size // 4)
    body += MARK + get(0) + DUP * n + FROZENSET + POP
    return PROTO4 + body + NONE + STOP


def _memo_colliding_keys(n):
    """Text PUT keys k with k * 0x9e3779b97f4a7c15 = t << 41 (mod 2**64): the
    sparse memo's probe start is the same for all of them."""
    g = 0x9E3779B97F4A7C15
    ginv = pow(g, -1, 1 << 64)
    keys, t = [], 1
    while len(keys) < n:
        k = (ginv * (t << 41)) % (1 << 64)
        if k < (1 << 63):
            keys.append(k)
        t += 1
    return keys


def memo_collisions(size):
    """PUT with huge memo keys that all start at one probe slot."""
    n = size // 21
    return PROTO4 + NONE + b"".join(b"p%d\n" % k for k in _memo_colliding_keys(n)) + STOP


def _unmix(h):
    """The inverse of the 64-bit finaliser brine hashes numbers with."""
    m = (1 << 64) - 1
    h ^= h >> 33
    h = (h * pow(0xC4CEB9FE1A85EC53, -1, 1 << 64)) & m
    h ^= h >> 33
    h = (h * pow(0xFF51AFD7ED558CCD, -1, 1 << 64)) & m
    h ^= h >> 33
    return h


def colliding_float_keys(size):
    """Float dict keys whose hashes differ but share their low 32 bits: every
    key lands in one probe chain of the dict's table."""
    n = size // 10
    keys, t = [], 1
    while len(keys) < n:
        bits = _unmix(t << 32)
        t += 1
        if (bits >> 52) & 0x7FF in (0, 0x7FF):  # zero, subnormal, inf, NaN: skip
            continue
        keys.append(b"G" + struct.pack(">Q", bits))
    batch = 10000
    body = EMPTY_DICT
    for i in range(0, n, batch):
        body += MARK + b"".join(k + NONE for k in keys[i:i + batch]) + SETITEMS
    return PROTO4 + body + POP + NONE + STOP


def memo_then_tiny_pickles(size):
    """One pickle fills a large memo, then thousands of two-byte pickles follow
    (the memo used to be cleared before each of them)."""
    n = min(size - 2 * 9999 - 8, 900000)  # under max_memo
    pad = max(0, size - 2 * 9999 - 8 - n) // 2
    return PROTO4 + NONE + MEMOIZE * n + (NONE + POP) * pad + STOP + b"N." * 9999


def const_checked_calls(size):
    """builtins:int(x) again and again, x the 10**30-leaf memo tuple of
    billion_laughs: the default policy admits int() of a constant, and the
    policy's constness check walks x (up to its per-match budget of 100,000
    nodes) at every call. The judge's per-stream matching budget (max_compare)
    bounds the walks of the whole stream: once it is spent, no constraint
    matches (each call is a finding) and the time is that of the findings."""
    levels = 30
    body = MARK + NONE * 10 + TUPLE + put(0) + POP
    for i in range(1, levels):
        body += MARK + get(i - 1) * 10 + TUPLE + put(i) + POP
    body += b"\x8c\x08builtins\x94\x8c\x03int\x94\x93" + put(1000) + POP
    call = get(1000) + get(levels - 1) + TUPLE1 + REDUCE + POP
    return PROTO4 + body + call * max(1, (size - len(body)) // len(call)) + NONE + STOP


HOSTILE = [
    ("wide tuple keys", wide_keys),
    ("wide equal keys", wide_equal_keys),
    ("deep tuple keys", deep_keys),
    ("deep equal keys", deep_equal_keys),
    ("frozensets of shared deep", frozenset_shared),
    ("billion laughs memo", billion_laughs),
    ("DUP chains", dup_chain),
    ("memo key collisions", memo_collisions),
    ("dict probe collisions", colliding_float_keys),
    ("big memo, tiny pickles", memo_then_tiny_pickles),
    ("const-checked calls (policy)", const_checked_calls),
]

# Shapes measured by the benchmark only (none at present).
BENCH_ONLY = []


def benign(size):
    """Plain records as CPython's pickler writes them, about `size` bytes."""
    n = max(1, size // 38)
    rows = [{"id": i, "name": "item%d" % i, "score": i * 0.5, "tags": ("a", "b")} for i in range(n)]
    return pickle.dumps(rows, protocol=4)


def slug(name):
    return "".join(c if c.isalnum() else "_" for c in name.lower())


def write_all(outdir, size):
    """Write benign.pkl and one <slug>.pkl per shape; returns [(name, path)]."""
    import os

    out = []
    for name, fn in [("benign", benign)] + HOSTILE + BENCH_ONLY:
        p = os.path.join(outdir, slug(name) + ".pkl")
        with open(p, "wb") as f:
            f.write(fn(size))
        out.append((name, p))
    return out


if __name__ == "__main__":
    # shapes.py OUTDIR SIZE: run as its own process, so that the process that
    # measures brine never holds the large bytes (a child's ru_maxrss starts
    # at its parent's resident size when it was forked)
    import sys

    write_all(sys.argv[1], int(sys.argv[2]))
