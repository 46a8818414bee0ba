"""CPython's side of the differential test: pickle.loads with stubbed globals,
rendered as the canonical JSON of doc/dump-format.md.

Nothing is imported or called: find_class returns a marker (one per resolved
name), and every marker and every result is itself a class whose metaclass
records calls, __new__, BUILD (__setstate__), extend, __setitem__ and add. So
the C unpickler runs its real code paths (instantiate, load_newobj, load_build,
do_append, do_setitems, load_additems) on objects that only take notes.
"""
import _compat_pickle
import io
import math
import pickle
import pickletools
import struct

# ---- markers ----------------------------------------------------------------


class Meta(type):
    """Type of every marker and result: calling one records a call."""

    def __call__(cls, *args, **kwargs):
        return new_obj("call", callee=cls, args=args)

    def __setitem__(cls, k, v):
        cls._ops.append(["setitem", k, v])

    def __repr__(cls):
        return "<%s>" % cls._kind


def new_obj(kind, **info):
    ops = []

    def setstate(state):
        ops.append(["build", state])

    def extend(items):
        ops.append(["extend", list(items)])

    def add(item):
        ops.append(["add", item])

    def new(cls, *args, **kwargs):
        return new_obj("new", callee=cls, args=args, kwargs=kwargs if kwargs else None)

    ns = {"_kind": kind, "_info": info, "_ops": ops, "__setstate__": setstate, "extend": extend, "add": add,
          "__new__": staticmethod(new)}
    return Meta("M", (), ns)


class WholeBuffer:
    """A file whose peek() hands over everything that is left: the C unpickler
    then reads from one buffer, exactly as pickle.loads(bytes) does. (With a
    plain io.BytesIO it reads the file piecewise, and an opcode crossing a
    FRAME boundary behaves differently; brine models pickle.loads and reports
    such a crossing as an anomaly.)"""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def peek(self, n=0):
        return self.data[self.pos:]

    def read(self, n=-1):
        end = len(self.data) if n is None or n < 0 else min(len(self.data), self.pos + n)
        out = self.data[self.pos:end]
        self.pos = end
        return out

    def readline(self):
        e = self.data.find(b"\n", self.pos)
        end = len(self.data) if e < 0 else e + 1
        out = self.data[self.pos:end]
        self.pos = end
        return out


class Stub(pickle.Unpickler):
    def __init__(self, data, protos):
        super().__init__(WholeBuffer(data))
        self._protos = protos  # protocol in force at each import opcode, in order
        self._i = 0
        self._markers = {}

    def find_class(self, module, name):
        proto = self._protos[self._i] if self._i < len(self._protos) else 0
        self._i += 1
        # what _pickle.c's find_class does before importing
        if proto < 3:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        if proto >= 4 and "<locals>" in name.split("."):
            raise AttributeError("Can't get local attribute %r on %r" % (name, module))
        key = (module, name)
        if key not in self._markers:
            self._markers[key] = new_obj("global", module=module, name=name)
        return self._markers[key]

    def persistent_load(self, pid):
        return new_obj("persid", pid=pid)


# ---- a minimal walker: opcode boundaries and PROTO only ------------------------

_ARGLEN = {}
for _op in pickletools.opcodes:
    _ARGLEN[_op.code.encode("latin-1")[0]] = (_op.name, _op.arg)


def walk(data):
    """Protocols in force at each GLOBAL/STACK_GLOBAL/INST of the first pickle,
    and the offset just after its STOP (or None)."""
    pos, proto, protos = 0, 0, []
    n = len(data)
    while pos < n:
        code = data[pos]
        pos += 1
        if code not in _ARGLEN:
            return protos, None
        name, arg = _ARGLEN[code]
        if name in ("GLOBAL", "STACK_GLOBAL", "INST"):
            protos.append(proto)
        if arg is None:
            if name == "STOP":
                return protos, pos
            continue
        if name in ("GLOBAL", "INST"):
            for _ in range(2):
                e = data.find(b"\n", pos)
                if e < 0:
                    return protos, None
                pos = e + 1
        elif arg.n == pickletools.UP_TO_NEWLINE:
            e = data.find(b"\n", pos)
            if e < 0:
                return protos, None
            pos = e + 1
        elif arg.n >= 0:
            if name == "PROTO" and pos < n:
                proto = data[pos]
            pos += arg.n
        else:
            width = {pickletools.TAKEN_FROM_ARGUMENT1: 1, pickletools.TAKEN_FROM_ARGUMENT4: 4,
                     pickletools.TAKEN_FROM_ARGUMENT4U: 4, pickletools.TAKEN_FROM_ARGUMENT8U: 8}[arg.n]
            if pos + width > n:
                return protos, None
            size = int.from_bytes(data[pos:pos + width], "little", signed=(arg.n == pickletools.TAKEN_FROM_ARGUMENT4))
            pos += width + max(size, 0)
    return protos, None


# ---- canonical JSON ------------------------------------------------------------

INT64 = (-(1 << 63), 1 << 63)


def fmt_float(x):
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    for prec in (15, 16, 17):
        s = "%.*g" % (prec, x)
        if float(s) == x:
            return s
    return repr(x)


def pair_surrogates(s):
    """The JSON contract writes astral characters as surrogate pairs, so a
    high+low pair of lone surrogates reads back as the astral character."""
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def identity(v):
    return isinstance(v, (list, dict, set, bytearray, Meta))


def children(v):
    if isinstance(v, (tuple, list, set, frozenset)):
        return list(v)
    if isinstance(v, dict):
        out = []
        for k, x in v.items():
            out += [k, x]
        return out
    if isinstance(v, Meta):
        info, out = v._info, []
        if v._kind in ("call", "new"):
            out += [info["callee"], info["args"]]
            if info.get("kwargs") is not None:
                out.append(info["kwargs"])
        elif v._kind == "persid":
            out.append(info["pid"])
        for op in v._ops:
            if op[0] == "extend":
                out += op[1]
            else:
                out += op[1:]
        return out
    return []


class Canon:
    def __init__(self, limit=2_000_000):
        self.count, self.ids, self.next, self.budget = {}, {}, 0, limit

    def refs(self, v, depth=0):
        self.budget -= 1
        if self.budget < 0 or depth > 1500:
            raise OverflowError("too large")
        if identity(v):
            c = self.count.get(id(v), 0)
            self.count[id(v)] = c + 1
            if c:
                return
        for x in children(v):
            self.refs(x, depth + 1)

    def out(self, v):
        if identity(v):
            if id(v) in self.ids:
                return {"ref": self.ids[id(v)]}
            tag = None
            if self.count.get(id(v), 0) > 1:
                tag = self.ids[id(v)] = self.next
                self.next += 1
            d = self.body(v)
            if tag is not None:
                d["id"] = tag
            if isinstance(v, Meta) and v._ops:
                d["ops"] = [[op[0], [self.out(x) for x in op[1]]] if op[0] == "extend"
                            else [op[0]] + [self.out(x) for x in op[1:]] for op in v._ops]
            return d
        return self.body(v)

    def body(self, v):
        if v is None or v is True or v is False:
            return v
        if isinstance(v, int):
            return v if INT64[0] <= v < INT64[1] else {"int": hex(v)}
        if isinstance(v, float):
            return {"float": fmt_float(v)}
        if isinstance(v, str):
            return pair_surrogates(v)
        if isinstance(v, bytes):
            return {"bytes": v.hex()}
        if isinstance(v, bytearray):
            return {"bytearray": bytes(v).hex()}
        if isinstance(v, memoryview):
            return {"memoryview": v.tobytes().hex()}
        for t, name in ((tuple, "tuple"), (list, "list"), (set, "set"), (frozenset, "frozenset")):
            if type(v) is t:
                return {name: [self.out(x) for x in v]}
        if isinstance(v, dict):
            return {"dict": [[self.out(k), self.out(x)] for k, x in v.items()]}
        if isinstance(v, Meta):
            info = v._info
            if v._kind == "global":
                return {"global": [pair_surrogates(info["module"]), pair_surrogates(info["name"])]}
            if v._kind == "persid":
                return {"persid": self.out(info["pid"])}
            d = {v._kind: self.out(info["callee"]), "args": self.out(info["args"])}
            if info.get("kwargs") is not None:
                d["kwargs"] = self.out(info["kwargs"])
            return d
        raise TypeError("cannot canonicalise %r" % type(v))


def canon_value(v):
    c = Canon()
    c.refs(v)
    return c.out(v)


def canon_load(data):
    """{"status": "ok"|"malformed"|"skip", "value", "error", "trailing"}"""
    protos, end = walk(data)
    try:
        v = Stub(data, protos).load()
    except (RecursionError, MemoryError) as e:
        return {"status": "skip", "value": None, "error": {"message": repr(e)}, "trailing": 0}
    except Exception as e:  # any exception of the load is "CPython raises"
        return {"status": "malformed", "value": None, "error": {"message": repr(e)}, "trailing": 0}
    try:
        value = canon_value(v)
    except (RecursionError, OverflowError) as e:
        return {"status": "skip", "value": None, "error": {"message": repr(e)}, "trailing": 0}
    return {"status": "ok", "value": value, "error": None, "trailing": len(data) - end if end is not None else 0}


# ---- comparison ----------------------------------------------------------------

def _strip_ids(j):
    if isinstance(j, list):
        return [_strip_ids(x) for x in j]
    if isinstance(j, dict):
        return {k: _strip_ids(x) for k, x in j.items() if k not in ("id", "ref")}
    return j


def normalise(j):
    """Sort set/frozenset elements (their order is not part of the value), then
    renumber ids in depth-first order."""
    import json

    def sort_sets(x):
        if isinstance(x, list):
            return [sort_sets(e) for e in x]
        if isinstance(x, dict):
            x = {k: sort_sets(e) for k, e in x.items()}
            for key in ("set", "frozenset"):
                if key in x and isinstance(x[key], list):
                    x[key] = sorted(x[key], key=lambda e: json.dumps(_strip_ids(e), sort_keys=True))
            return x
        return x

    j = sort_sets(j)
    mapping = {}

    def renumber(x):
        if isinstance(x, list):
            return [renumber(e) for e in x]
        if isinstance(x, dict):
            out = {}
            for k, e in x.items():
                if k == "id":
                    mapping.setdefault(e, len(mapping))
                    out[k] = mapping[e]
                elif k == "ref":
                    out[k] = mapping.get(e, ("dangling", e))
                else:
                    out[k] = renumber(e)
            return out
        return x

    return renumber(j)


def compare(brine, cpython):
    """(agree, reason) for one input."""
    if cpython["status"] == "skip":
        return True, "skipped (CPython recursion/memory limit)"
    if brine["status"] != cpython["status"]:
        return False, "status: brine %s, CPython %s" % (brine["status"], cpython["status"])
    if brine["status"] != "ok":
        return True, ""
    if normalise(brine["value"]) != normalise(cpython["value"]):
        return False, "value differs"
    if brine["trailing"] != cpython["trailing"]:
        return False, "trailing: brine %s, CPython %s" % (brine["trailing"], cpython["trailing"])
    return True, ""


def self_test():
    checks = [
        (pickle.dumps(2 ** 70), {"int": "0x400000000000000000"}),
        (pickle.dumps(-1.5), {"float": "-1.5"}),
        (pickle.dumps("\U0001F600"), "\U0001F600"),
        (b"I01\n.", True),
        (b"cos\nsystem\n.", {"global": ["os", "system"]}),
        (b"c__builtin__\neval\n.", {"global": ["builtins", "eval"]}),
        (b"\x80\x03c__builtin__\neval\n.", {"global": ["__builtin__", "eval"]}),
    ]
    lst = []
    checks.append((pickle.dumps([lst, lst], 2), {"list": [{"list": [], "id": 0}, {"ref": 0}]}))
    bad = 0
    for data, want in checks:
        got = canon_load(data)
        if got["status"] != "ok" or got["value"] != want:
            print("self-test FAIL", data, got, want)
            bad += 1
    r = canon_load(b"ca\nb\n)R}b.")
    if r["value"] != {"call": {"global": ["a", "b"]}, "args": {"tuple": []}, "ops": [["build", {"dict": []}]]}:
        print("self-test FAIL build", r)
        bad += 1
    return bad
