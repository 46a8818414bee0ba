#!/usr/bin/env python3
"""Symbolic walk over pickles: which globals a load would import, call, BUILD
or add items to, with the shapes of the arguments, without importing or
running anything. Standard library only; runs with any python3.

    walk_globals.py [--out GLOBALS.txt] [--events] [PATH ...]

PATHs are files or folders (default: raw torch joblib numpy pandas beside this
script). Each file is read by content: a raw pickle (several back to back are
all walked; a legacy torch.save file's five pickles), a zip (torch.save,
np.savez, pandas' zip: every member that holds a pickle, and .npy members), an
.npy file (the pickle after the header of an object array), a tar file (each
member), a joblib file (the
array bytes after each NumpyArrayWrapper BUILD are skipped as joblib reads
them; an object array is a nested pickle, walked), or a gzip / bz2 / xz / lzma
/ zlib / zstd / lz4 stream around any of these (zstd and lz4 need the
zstandard and lz4 modules; without them the file is listed as skipped).

The model follows CPython's C unpickler (Modules/_pickle.c): the stack with
marks apart, the memo, PROTO (names are mapped with _compat_pickle's tables
below protocol 3, as find_class does), GLOBAL / STACK_GLOBAL / INST import,
REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ call, BUILD, APPEND(S) / SETITEM(S)
/ ADDITEMS on objects that are not a real list / dict / set, PERSID /
BINPERSID, EXT1/2/4.

Without --out the summary goes to stdout; --events prints one line per event
instead (file, offset, opcode, use, name, arguments).

This module is also imported by check_packs.py (walk_path, Global, Call, ...).
"""
import _compat_pickle
import bz2
import gzip
import io
import lzma
import os
import pickletools
import sys
import tarfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIRS = ["raw", "torch", "joblib", "numpy", "pandas"]
TORCH_MAGIC = 0x1950A86A20F9469CFC6C

# Names that return an instance of their first argument (the class): a BUILD
# or items on their result concern that class. Only used to label the summary
# ("via"), with every Cython `__pyx_unpickle_<Class>(cls, checksum, state)`;
# check_packs.py uses the packs' own `factory: true` entries.
FACTORIES = {
    "copyreg:_reconstructor", "copyreg:__newobj__", "copyreg:__newobj_ex__",
    "numpy.core.multiarray:_reconstruct", "numpy.ma.core:_mareconstruct",
    "sklearn.neighbors._kd_tree:newObj", "sklearn.neighbors._ball_tree:newObj",
    "sklearn.metrics._dist_metrics:newObj", "pandas._libs.arrays:__pyx_unpickle_NDArrayBacked",
}


# ---- symbolic values ---------------------------------------------------------------------
class Global:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class Call:
    """The result of a call (REDUCE, INST/OBJ with arguments) or of cls.__new__
    (NEWOBJ, NEWOBJ_EX, INST/OBJ without arguments: kind 'new')."""
    __slots__ = ("callee", "args", "kwargs", "kind", "state")

    def __init__(self, callee, args, kwargs=None, kind="call"):
        self.callee, self.args, self.kwargs, self.kind, self.state = callee, args, kwargs, kind, None


class PersId:
    __slots__ = ("pid",)

    def __init__(self, pid):
        self.pid = pid


class Ext:
    __slots__ = ("code",)

    def __init__(self, code):
        self.code = code


class Buffer:
    __slots__ = ()


class SList:
    __slots__ = ("items",)

    def __init__(self, items=()):
        self.items = list(items)


class SDict:
    __slots__ = ("pairs",)

    def __init__(self, pairs=()):
        self.pairs = list(pairs)

    def get(self, key, default=None):
        for k, v in self.pairs:
            if isinstance(k, str) and k == key:
                return v
        return default


class SSet:
    __slots__ = ("items", "frozen")

    def __init__(self, items=(), frozen=False):
        self.items, self.frozen = list(items), frozen


OBJECTS = (Call, PersId, Ext, Buffer)


def is_const(v, depth=0):
    if depth > 100:
        return False
    if v is None or isinstance(v, (bool, int, float, str, bytes, bytearray)):
        return True
    if isinstance(v, tuple):
        return all(is_const(x, depth + 1) for x in v)
    if isinstance(v, (SList, SSet)):
        return all(is_const(x, depth + 1) for x in v.items)
    if isinstance(v, SDict):
        return all(is_const(k, depth + 1) and is_const(x, depth + 1) for k, x in v.pairs)
    return False


def type_name(v):
    """The policy language's type of a value (doc/policy.md, `type`)."""
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "bool"
    for t, n in ((int, "int"), (float, "float"), (str, "str"), (bytes, "bytes"), (bytearray, "bytearray"),
                 (tuple, "tuple"), (SList, "list"), (SDict, "dict"), (Global, "global")):
        if isinstance(v, t):
            return n
    if isinstance(v, SSet):
        return "frozenset" if v.frozen else "set"
    if isinstance(v, memoryview):
        return "bytes"
    return "object"


def callee_name(c):
    """The name a call of c is filed under: a global's name; for an object
    from a persistent id of the form (tag, <global>, ...), as torch's legacy
    ('module', <class>, file, source), `persid:` and that global."""
    if isinstance(c, Global):
        return c.name
    if isinstance(c, PersId) and isinstance(c.pid, tuple) and len(c.pid) > 1 and isinstance(c.pid[1], Global):
        return "persid:" + c.pid[1].name
    return "<%s>" % maker_of(c)


def maker_of(v):
    """'<name>' of what made an object, for display."""
    if isinstance(v, Call):
        c = v.callee
        if isinstance(c, Global):
            return c.name
        if isinstance(c, PersId):
            return callee_name(c)
        return "<%s>" % type_name(c)
    return type_name(v)


def shape(v, depth=0):
    """A short description of a value: types, global names, makers of objects;
    tuples spelled out two levels deep."""
    if isinstance(v, Global):
        return "global " + v.name
    if isinstance(v, Call):
        return "<%s>" % maker_of(v)
    if isinstance(v, PersId):
        return "<%s>" % callee_name(v) if callee_name(v).startswith("persid:") else "<persid %s>" % shape(v.pid, depth + 1)
    if isinstance(v, tuple):
        if depth >= 2:
            return "tuple[%d]" % len(v)
        inner = [shape(x, depth + 1) for x in v[:12]]
        if len(v) > 12:
            inner.append("... %d more" % (len(v) - 12))
        return "(" + ", ".join(inner) + ("," if len(v) == 1 else "") + ")"
    return type_name(v)


def render(v, depth=0, budget=None):
    """A value spelled out (constants as Python literals), bounded."""
    if budget is None:
        budget = [400]
    budget[0] -= 1
    if budget[0] < 0 or depth > 8:
        return "..."
    if isinstance(v, Global):
        return v.name
    if isinstance(v, Call):
        return "%s%s" % (render(v.callee, depth + 1, budget) if not isinstance(v.callee, Global) else v.callee.name,
                         render(v.args, depth + 1, budget))
    if isinstance(v, PersId):
        return "persid(%s)" % render(v.pid, depth + 1, budget)
    if isinstance(v, Ext):
        return "ext(%d)" % v.code
    if isinstance(v, tuple):
        return "(" + ", ".join(render(x, depth + 1, budget) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, SList):
        return "[" + ", ".join(render(x, depth + 1, budget) for x in v.items) + "]"
    if isinstance(v, SDict):
        return "{" + ", ".join("%s: %s" % (render(k, depth + 1, budget), render(x, depth + 1, budget))
                               for k, x in v.pairs) + "}"
    if isinstance(v, SSet):
        return ("frozenset" if v.frozen else "set") + "({" + ", ".join(render(x, depth + 1, budget)
                                                                       for x in v.items) + "})"
    if isinstance(v, (bytes, bytearray)) and len(v) > 32:
        return "%s(%d bytes)" % (type(v).__name__, len(v))
    if isinstance(v, str) and len(v) > 60:
        return repr(v[:60]) + "..."
    if isinstance(v, Buffer):
        return "<buffer>"
    return repr(v)


# ---- events ------------------------------------------------------------------------------
class Event:
    """use: import | call | build | items | persid | ext | dynamic_import
    name: the global concerned (import, call of a global), or for build / items
    the maker of the target object; target: the value called / built on;
    args / kwargs: call arguments; state: BUILD state; where: location."""
    __slots__ = ("use", "op", "name", "target", "args", "kwargs", "where", "offset")

    def __init__(self, use, op, name, target=None, args=None, kwargs=None, where="", offset=0):
        self.use, self.op, self.name, self.target, self.args, self.kwargs = use, op, name, target, args, kwargs
        self.where, self.offset = where, offset


def resolve(module, name, proto):
    """find_class's name, as CPython resolves it."""
    if proto < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return "%s:%s" % (module, name)


class Walker:
    def __init__(self, sink):
        self.sink = sink   # callable(Event)
        self.notes = []    # (where, text): what could not be walked

    def emit(self, *a, **k):
        self.sink(Event(*a, **k))

    # A joblib NumpyArrayWrapper BUILD: skip or walk the array that follows.
    def joblib_array(self, f, wrapper, where):
        st = wrapper.state
        if not isinstance(st, SDict):
            return
        dtype, shp = st.get("dtype"), st.get("shape")
        if not isinstance(dtype, Call) or not isinstance(dtype.args, tuple) or not dtype.args:
            self.notes.append((where, "joblib wrapper without a dtype: stopped"))
            raise EOFError
        dstr = dtype.args[0] if isinstance(dtype.args[0], str) else ""
        dstate = dtype.state if isinstance(dtype.state, tuple) else ()
        flags = dstate[7] if len(dstate) > 7 and isinstance(dstate[7], int) else 0
        if dstr.startswith("O") or flags & 1:     # hasobject: a pickle (protocol 2) follows
            self.walk_stream(f, where + "!<joblib object array>", max_pickles=1)
            return
        elsize = dstate[5] if len(dstate) > 5 and isinstance(dstate[5], int) else -1
        if elsize <= 0:
            digits = "".join(ch for ch in dstr if ch.isdigit())
            elsize = int(digits) if digits else 1
        count = 1
        for n in (shp if isinstance(shp, tuple) else ()):
            count *= n if isinstance(n, int) else 1
        if st.get("numpy_array_alignment_bytes") is not None:
            pad = f.read(1)
            if pad:
                f.seek(pad[0], 1)
        f.seek(count * elsize, 1)

    def walk_stream(self, f, where, max_pickles=None):
        """Walk the pickles of a stream, back to back, from f's position."""
        n = 0
        start = f.tell()
        end = f.seek(0, 2)
        f.seek(start)
        results = []
        while f.tell() < end and (max_pickles is None or n < max_pickles):
            pos = f.tell()
            w = where if n == 0 and pos == 0 else "%s@%#x" % (where, pos)
            try:
                results.append(self.walk_one(f, w, pos))
            except Exception as e:  # noqa: BLE001 - anything that is not a pickle ends the walk
                if n == 0:
                    self.notes.append((w, "not a pickle or malformed: %s" % e))
                else:
                    self.notes.append((w, "%d trailing bytes that are not a pickle" % (end - pos)))
                break
            n += 1
            if n == 1 and results[0] == TORCH_MAGIC and max_pickles is None:
                max_pickles = 5  # legacy torch.save: magic, protocol, sys_info, object, storage keys
        if max_pickles == 5 and n == 5 and f.tell() < end:
            self.notes.append((where, "legacy torch: %d bytes of storages after the pickles, not walked"
                               % (end - f.tell())))
        return results

    def walk_one(self, f, where, base):
        stack, marks, memo = [], [], {}
        proto = 0

        def pop_mark():
            k = marks.pop()
            items = stack[k:]
            del stack[k:]
            return items

        def pop():
            if marks and len(stack) <= marks[-1]:
                raise ValueError("stack underflow")
            return stack.pop()

        for op, arg, pos in pickletools.genops(f):
            name = op.name
            off = pos - base if pos is not None else 0
            if name in ("PROTO",):
                proto = arg
            elif name == "FRAME":
                pass
            elif name == "READONLY_BUFFER":  # a read-only view: bytes-like, as brine sees it
                if isinstance(stack[-1], bytearray):
                    stack[-1] = bytes(stack[-1])
            elif name == "MARK":
                marks.append(len(stack))
            elif name == "STOP":
                return pop()
            elif name == "POP":
                if marks and marks[-1] == len(stack):
                    marks.pop()
                else:
                    pop()
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                stack.append(stack[-1])
            elif name in ("NONE",):
                stack.append(None)
            elif name == "NEWTRUE":
                stack.append(True)
            elif name == "NEWFALSE":
                stack.append(False)
            elif name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
                          "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
                          "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8"):
                stack.append(arg)
            elif name == "BYTEARRAY8":
                stack.append(bytearray(arg))
            elif name == "NEXT_BUFFER":
                stack.append(Buffer())
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "TUPLE":
                stack.append(tuple(pop_mark()))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                k = int(name[-1])
                items = [pop() for _ in range(k)][::-1]
                stack.append(tuple(items))
            elif name == "EMPTY_LIST":
                stack.append(SList())
            elif name == "LIST":
                stack.append(SList(pop_mark()))
            elif name == "EMPTY_DICT":
                stack.append(SDict())
            elif name == "DICT":
                items = pop_mark()
                stack.append(SDict(zip(items[0::2], items[1::2])))
            elif name == "EMPTY_SET":
                stack.append(SSet())
            elif name == "FROZENSET":
                stack.append(SSet(pop_mark(), frozen=True))
            elif name in ("APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS"):
                if name == "APPEND":
                    items = [pop()]
                elif name == "SETITEM":
                    v = pop()
                    items = [pop(), v]
                else:
                    items = pop_mark()
                target = stack[-1]
                if name in ("APPEND", "APPENDS") and isinstance(target, SList):
                    target.items.extend(items)
                elif name in ("SETITEM", "SETITEMS") and isinstance(target, SDict):
                    target.pairs.extend(zip(items[0::2], items[1::2]))
                elif name == "ADDITEMS" and isinstance(target, SSet) and not target.frozen:
                    target.items.extend(items)
                else:
                    self.emit("items", name, maker_of(target), target, tuple(items), where=where, offset=off)
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo[arg])
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("GLOBAL", "INST"):
                module, qual = arg.split(" ", 1)
                g = Global(resolve(module, qual, proto))
                self.emit("import", name, g.name, g, where=where, offset=off)
                if name == "GLOBAL":
                    stack.append(g)
                else:
                    args = tuple(pop_mark())
                    self.emit("call", name, g.name, g, args, where=where, offset=off)
                    stack.append(Call(g, args, kind="call" if args else "new"))
            elif name == "STACK_GLOBAL":
                qual, module = pop(), pop()
                if isinstance(module, str) and isinstance(qual, str):
                    g = Global(resolve(module, qual, proto))
                    self.emit("import", name, g.name, g, where=where, offset=off)
                else:
                    g = Global("<dynamic %s %s>" % (render(module), render(qual)))
                    self.emit("dynamic_import", name, g.name, g, where=where, offset=off)
                stack.append(g)
            elif name == "REDUCE":
                args = pop()
                fn = pop()
                self.emit("call", name, callee_name(fn), fn, args,
                          where=where, offset=off)
                stack.append(Call(fn, args))
            elif name == "OBJ":
                items = pop_mark()
                cls, args = items[0], tuple(items[1:])
                self.emit("call", name, callee_name(cls), cls, args,
                          where=where, offset=off)
                stack.append(Call(cls, args, kind="call" if args else "new"))
            elif name in ("NEWOBJ", "NEWOBJ_EX"):
                kwargs = pop() if name == "NEWOBJ_EX" else None
                args = pop()
                cls = pop()
                self.emit("call", name, callee_name(cls), cls, args,
                          kwargs, where=where, offset=off)
                stack.append(Call(cls, args, kwargs, kind="new"))
            elif name == "BUILD":
                state = pop()
                target = stack[-1]
                if isinstance(target, (Call, PersId, Ext, Global, Buffer)):
                    self.emit("build", name, maker_of(target) if not isinstance(target, Global) else target.name,
                              target, state, where=where, offset=off)
                if isinstance(target, Call):
                    target.state = state
                    c = target.callee
                    if isinstance(c, Global) and c.name == "joblib.numpy_pickle:NumpyArrayWrapper":
                        self.joblib_array(f, target, where)
            elif name in ("PERSID", "BINPERSID"):
                pid = arg if name == "PERSID" else pop()
                self.emit("persid", name, "-", pid, where=where, offset=off)
                stack.append(PersId(pid))
            elif name in ("EXT1", "EXT2", "EXT4"):
                self.emit("ext", name, str(arg), arg, where=where, offset=off)
                stack.append(Ext(arg))
            else:
                raise ValueError("opcode %s not modelled" % name)
        raise ValueError("no STOP")

    # ---- containers ---------------------------------------------------------------------
    def walk_bytes(self, data, where):
        head = data[:8]
        if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in z.infolist():
                    member = z.read(info.filename)
                    w = "%s!%s" % (where, info.filename)
                    base = info.filename.rsplit("/", 1)[-1]
                    if "/data/" in info.filename and not base.endswith(".pkl") or base in ("version", "byteorder"):
                        continue  # torch storages and metadata: raw bytes, never unpickled
                    if member[:1] in (b"\x80",) or member.startswith(b"\x93NUMPY") or base.endswith(".pkl"):
                        self.walk_bytes(member, w)
                    else:
                        self.notes.append((w, "member not walked (%d bytes, not a pickle)" % len(member)))
            return
        if data[257:262] == b"ustar":  # pandas' tar compression: each member by content
            with tarfile.open(fileobj=io.BytesIO(data)) as t:
                for m in t.getmembers():
                    if m.isfile():
                        self.walk_bytes(t.extractfile(m).read(), "%s!%s" % (where, m.name))
            return
        if head.startswith(b"\x93NUMPY"):
            major = data[6]
            hl_size = 2 if major == 1 else 4
            hlen = int.from_bytes(data[8:8 + hl_size], "little")
            header = data[8 + hl_size:8 + hl_size + hlen].decode("latin-1")
            if "'O'" in header or "|O" in header:
                self.walk_stream(io.BytesIO(data[8 + hl_size + hlen:]), where + "[object array]", max_pickles=1)
            return
        for magic, fn, label in ((b"\x1f\x8b", gzip.decompress, "gzip"), (b"BZh", bz2.decompress, "bz2"),
                                 (b"\xfd7zXZ\x00", lzma.decompress, "xz"), (b"\x5d\x00\x00", lzma.decompress, "lzma"),
                                 (b"\x28\xb5\x2f\xfd", _zstd, "zstd"), (b"\x04\x22\x4d\x18", _lz4, "lz4")):
            if head.startswith(magic):
                try:
                    inner = fn(data)
                except ImportError as e:
                    self.notes.append((where, "skipped: %s" % e))
                    return
                self.walk_bytes(inner, "%s!<%s>" % (where, label))
                return
        if head[:1] == b"\x78" and len(data) > 2 and (head[0] * 256 + head[1]) % 31 == 0:
            try:
                inner = zlib.decompress(data)
            except zlib.error:
                inner = None
            if inner is not None:
                self.walk_bytes(inner, where + "!<zlib>")
                return
        self.walk_stream(io.BytesIO(data), where)


def _zstd(data):
    try:
        import zstandard
    except ImportError:
        raise ImportError("zstd stream (needs the zstandard module)")
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _lz4(data):
    try:
        import lz4.frame
    except ImportError:
        raise ImportError("lz4 frame (needs the lz4 module)")
    return lz4.frame.decompress(data)


def corpus_files(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                out.extend(os.path.join(root, f) for f in files)
        else:
            out.append(p)
    return sorted(out)


def walk_path(path, sink, label=None):
    w = Walker(sink)
    with open(path, "rb") as fh:
        w.walk_bytes(fh.read(), label or path)
    return w.notes


# ---- summary -------------------------------------------------------------------------------
def is_factory(name):
    return name in FACTORIES or name.split(":", 1)[-1].startswith("__pyx_unpickle_")


def attribute(ev):
    """(name, how) a summary row is filed under."""
    if ev.use == "call":
        if ev.name.startswith("persid:"):
            return ev.name[len("persid:"):], ev.op + " of the class in a persistent id"
        return ev.name, ev.op
    if ev.use in ("build", "items"):
        t = ev.target
        if isinstance(t, Global):
            return t.name, "ON THE GLOBAL ITSELF"
        if isinstance(t, Call) and isinstance(t.callee, Global):
            c = t.callee.name
            if is_factory(c) and isinstance(t.args, tuple) and t.args and isinstance(t.args[0], Global):
                return t.args[0].name, "via " + c
            return c, "made by %s %s" % (t.kind, "(%s)" % ev.op if ev.use == "items" else "")
        if isinstance(t, Call) and isinstance(t.callee, PersId):
            n = callee_name(t.callee)
            if n.startswith("persid:"):
                return n[len("persid:"):], "made by %s of the class in a persistent id" % t.kind
            return n, "made by a persistent id's object"
        return "<%s>" % type_name(t), "on a non-global object"
    if ev.use == "persid":
        return "(persistent ids)", ev.op
    return ev.name, ev.op


class Summary:
    def __init__(self):
        self.rows = {}     # (name, use, how, shape) -> [count, set(files)]
        self.values = {}   # (name, use, position) -> set of scalar values, or None when too many
        self.files = set()
        self.streams = set()
        self.notes = []

    def add(self, ev, file):
        name, how = attribute(ev)
        if ev.use == "import":
            sh = "-"
        elif ev.use == "call":
            sh = shape(ev.args) + (" kwargs=" + shape(ev.kwargs) if ev.kwargs is not None else "")
        elif ev.use in ("build", "items"):
            sh = shape(ev.args) if ev.use == "build" else "%d item(s)" % len(ev.args)
            if ev.use == "items":
                sh = ", ".join(sorted(set(shape(x, 1) for x in ev.args))) or "-"
                sh = "{%s}" % sh
        elif ev.use == "persid":
            sh = shape(ev.target)
            if isinstance(ev.target, tuple) and ev.target and isinstance(ev.target[0], str):
                sh = "(%r%s" % (ev.target[0], sh[sh.index(","):] if "," in sh else ")")
        else:
            sh = render(ev.target)
        key = (name, ev.use, how, sh)
        r = self.rows.setdefault(key, [0, set()])
        r[0] += 1
        r[1].add(file)
        self.files.add(file)
        self.streams.add(ev.where.split("@")[0])
        vals = ev.args if ev.use == "call" else (ev.target if ev.use == "persid" else None)
        if isinstance(vals, tuple):
            for i, v in enumerate(vals):
                k = (name, ev.use, i)
                cur = self.values.get(k, set())
                if cur is None:
                    continue
                if isinstance(v, (str, int, float, bool)) and not (isinstance(v, str) and len(v) > 40):
                    cur.add(repr(v))
                elif isinstance(v, Global):
                    cur.add(v.name)
                else:
                    cur.add("<%s>" % type_name(v) if not isinstance(v, Call) else "<%s>" % maker_of(v))
                self.values[k] = cur if len(cur) <= 16 else None

    def write(self, out, nfiles):
        names = sorted(set(k[0] for k in self.rows))
        out.write("# GLOBALS.txt: every global the benign corpus refers to and what a load does with it.\n"
                  "# Generated by walk_globals.py (symbolic walk with pickletools.genops; nothing imported or run)\n"
                  "# over %d files; regenerate with: python3 walk_globals.py --out GLOBALS.txt\n#\n"
                  "# Names are module:qualname as CPython resolves them (_compat_pickle mapping below protocol 3,\n"
                  "# dotted qualnames from protocol 4). One row per distinct (name, use, how, shape):\n"
                  "#   use    import | call | build | items | persid\n"
                  "#   how    call: the opcode (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ); build / items: `via F` when\n"
                  "#          the object was made by the factory F (copyreg._reconstructor(cls, ...), numpy's\n"
                  "#          _reconstruct(cls, ...), ...), so the row is filed under the class; `made by call` /\n"
                  "#          `made by new` when the name itself made it (REDUCE / NEWOBJ)\n"
                  "#   shape  call: the argument tuple; build: the state; items: the kinds of items added.\n"
                  "#          Types are the policy language's (none bool int float str bytes tuple list dict set\n"
                  "#          frozenset); `global X` a global reference; `<X>` an object made by X\n"
                  "#   count  events; files  how many files\n"
                  "# After the rows: the scalar values and globals seen at each argument position (when 16 or\n"
                  "# fewer distinct), then the files or members that could not be walked.\n\n" % nfiles)
        for n in names:
            out.write("%s\n" % n)
            for key in sorted(k for k in self.rows if k[0] == n):
                _, use, how, sh = key
                cnt, files = self.rows[key]
                out.write("    %-6s %-44s %s  [%d x, %d files]\n" % (use, how, sh, cnt, len(files)))
        out.write("\n# values seen at argument positions (calls) and persistent-id positions\n")
        for (name, use, i), vals in sorted(self.values.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
            if vals is None:
                continue
            out.write("%s\t%s arg %d\t%s\n" % (name, use, i + 1, " | ".join(sorted(vals))))
        if self.notes:
            out.write("\n# not walked\n")
            for where, text in sorted(set(self.notes)):
                out.write("%s\t%s\n" % (where, text))


def main(argv):
    out_path, events = None, False
    paths = []
    it = iter(argv)
    for a in it:
        if a == "--out":
            out_path = next(it)
        elif a == "--events":
            events = True
        else:
            paths.append(a)
    rel = not paths
    if rel:
        paths = [os.path.join(HERE, d) for d in DEFAULT_DIRS]
    files = corpus_files(paths)
    summary = Summary()
    for path in files:
        label = os.path.relpath(path, HERE) if rel else path
        if events:
            def sink(ev, label=label):
                args = "" if ev.args is None else render(ev.args)
                print("%s\t%d\t%s\t%s\t%s\t%s" % (ev.where, ev.offset, ev.op, ev.use, ev.name, args))
        else:
            def sink(ev, label=label):
                summary.add(ev, label)
        summary.notes.extend(walk_path(path, sink, label))
    if events:
        return 0
    if out_path:
        with open(out_path, "w") as f:
            summary.write(f, len(files))
    else:
        summary.write(sys.stdout, len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
