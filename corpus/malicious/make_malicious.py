#!/usr/bin/env python3
"""Hand-assembled malicious pickles, one per technique of THREATS.md A-C and E.

Nothing here is ever unpickled. Payloads are harmless anyway
(os.system('true'), builtins.print). Writes the files next to this script and
expected.tsv: file, minimum verdict, event kind, exact event detail (what
`brine events` must print), one row per required event.
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
rows = []


# ---- a tiny assembler ---------------------------------------------------------------

def proto(n): return b"\x80" + bytes([n])
def glob(m, n): return b"c" + m.encode() + b"\n" + n.encode() + b"\n"
def su(s):
    b = s.encode("utf-8", "surrogatepass")
    return b"\x8c" + bytes([len(b)]) + b if len(b) < 256 else b"X" + struct.pack("<I", len(b)) + b
def bu(s): b = s.encode(); return b"X" + struct.pack("<I", len(b)) + b
def bu8(s): b = s.encode(); return b"\x8d" + struct.pack("<Q", len(b)) + b
def bs(s): b = s.encode(); return b"T" + struct.pack("<i", len(b)) + b
def sbs(s): b = s.encode(); return b"U" + bytes([len(b)]) + b
def string(s): return b"S'" + s.encode() + b"'\n"
def uni(s): return b"V" + s.encode() + b"\n"
def sg(m, n): return su(m) + su(n) + b"\x93"
def tup1(x): return x + b"\x85"
def call1(f, arg): return f + arg + b"\x85R"
MARK, TUPLE, REDUCE, STOP, POP, DUP, BUILD = b"(", b"t", b"R", b".", b"0", b"2", b"b"
def binput(i): return b"q" + bytes([i])
def binget(i): return b"h" + bytes([i])
MEMOIZE = b"\x94"
TRUE = string("true")


def emit(name, data, verdict, events):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    for kind, detail in events:
        rows.append((name, verdict, kind, detail))


def sys_call(proto_n=2):
    return proto(proto_n) + glob("os", "system") + MARK + TRUE + TUPLE + REDUCE + STOP


# ---- A. names that run code ---------------------------------------------------------------
A = [("os", "system"), ("posix", "system"), ("subprocess", "Popen"), ("subprocess", "check_output"),
     ("builtins", "eval"), ("builtins", "exec"), ("builtins", "compile"), ("builtins", "__import__"),
     ("builtins", "open"), ("builtins", "getattr"), ("builtins", "setattr"), ("builtins", "breakpoint"),
     ("runpy", "_run_code"), ("pty", "spawn"), ("ctypes", "CDLL"), ("marshal", "loads"), ("types", "CodeType"),
     ("types", "FunctionType"), ("importlib", "import_module"), ("pkgutil", "resolve_name"), ("pydoc", "locate"),
     ("operator", "attrgetter"), ("operator", "methodcaller"), ("operator", "itemgetter"), ("_operator", "attrgetter"),
     ("functools", "partial"), ("functools", "reduce"), ("_functools", "reduce"), ("copyreg", "add_extension"),
     ("profile", "run"), ("cProfile", "run"), ("trace", "Trace"), ("timeit", "timeit"), ("pdb", "run"),
     ("bdb", "Bdb"), ("code", "InteractiveInterpreter"), ("doctest", "debug_script"), ("idlelib.pyshell", "main"),
     ("lib2to3.pgen2.driver", "load_grammar"), ("ensurepip", "bootstrap"), ("pip", "main"), ("venv", "create"),
     ("asyncio.subprocess", "create_subprocess_shell"), ("multiprocessing.util", "spawnv_passfds"),
     ("_posixsubprocess", "fork_exec"), ("uuid", "_get_command_stdout"), ("_osx_support", "_read_output"),
     ("_aix_support", "_aix_bos_rte"), ("imaplib", "IMAP4_stream"), ("mailcap", "findmatch"), ("pipes", "Template"),
     ("typing", "_eval_type"), ("dataclasses", "_create_fn"), ("torch", "load"), ("torch.hub", "load"),
     ("torch.jit", "load"), ("torch._dynamo", "optimize"), ("torch._inductor", "compile"),
     ("torch.utils.collect_env", "run"), ("torch.utils.bottleneck.__main__", "main"), ("numpy.f2py", "compile"),
     ("numpy.testing._private.utils", "runstring"), ("numpy", "load"), ("joblib", "load"), ("dill", "loads"),
     ("cloudpickle", "loads"), ("yaml", "load"), ("yaml", "unsafe_load"), ("pickle", "loads"), ("_pickle", "loads"),
     ("pickle", "_loads"), ("torch.storage", "_load_from_bytes"), ("io", "FileIO"), ("logging", "FileHandler"),
     ("codecs", "open"), ("tempfile", "mkstemp"), ("shutil", "rmtree"), ("socket", "socket"),
     ("urllib.request", "urlopen"), ("ssl", "get_server_certificate"), ("webbrowser", "open")]
for mod, name in A:
    fn = "A-%s-%s.pkl" % (mod.replace(".", "_"), name)
    emit(fn, proto(2) + glob(mod, name) + MARK + TRUE + TUPLE + REDUCE + STOP, "dangerous",
         [("import", "%s:%s" % (mod, name)), ("call", "%s:%s" % (mod, name))])
# dotted paths at protocol 4 (pathlib.Path.write_text) and dunder components
for mod, q in [("pathlib", "Path.write_text"), ("builtins", "object.__subclasses__"),
               ("collections", "OrderedDict.__init__.__globals__"), ("builtins", "__builtins__"),
               ("collections", "OrderedDict.__dict__"), ("collections", "OrderedDict.__getattribute__"),
               ("collections", "OrderedDict.__class__"), ("collections", "OrderedDict.__base__"),
               ("collections", "OrderedDict.__mro__")]:
    fn = "A-dotted-%s-%s.pkl" % (mod, q.replace(".", "_").strip("_"))
    emit(fn, proto(4) + sg(mod, q) + tup1(su("x")) + REDUCE + STOP, "dangerous", [("import", "%s:%s" % (mod, q))])

# ---- B. name resolution ---------------------------------------------------------------------
emit("B-global-text.pkl", glob("os", "system") + MARK + TRUE + TUPLE + REDUCE + STOP, "dangerous",
     [("import", "os:system"), ("call", "os:system")])
for tag, enc in (("short", su), ("binunicode", bu), ("binunicode8", bu8), ("binstring", bs), ("shortbinstring", sbs),
                 ("string", string), ("unicode", uni)):
    emit("B-stack-global-%s.pkl" % tag, proto(4) + enc("os") + enc("system") + b"\x93" + tup1(su("true")) + REDUCE + STOP,
         "dangerous", [("import", "os:system"), ("call", "os:system")])
emit("B-stack-global-memo.pkl", proto(4) + su("os") + MEMOIZE + su("system") + MEMOIZE + su("x") + POP + binget(0) +
     binget(1) + b"\x93" + tup1(su("true")) + REDUCE + STOP, "dangerous", [("import", "os:system")])
emit("B-stack-global-far.pkl", proto(4) + su("os") + su("system") + MARK + su("a") + su("b") + b"1" + b"\x93" +
     tup1(su("true")) + REDUCE + STOP, "dangerous", [("import", "os:system")])
emit("B-string-escapes.pkl", proto(4) + b"S'o\\x73'\n" + b"S'sys\\164em'\n" + b"\x93" + tup1(su("true")) + REDUCE + STOP,
     "dangerous", [("import", "os:system")])
emit("B-unicode-escapes.pkl", proto(4) + b"V\\u006fs\n" + b"V\\u0073ystem\n" + b"\x93" + tup1(su("true")) + REDUCE + STOP,
     "dangerous", [("import", "os:system")])
emit("B-py2-builtin-eval.pkl", glob("__builtin__", "eval") + tup1(string("1")) + REDUCE + STOP, "dangerous",
     [("import", "builtins:eval"), ("call", "builtins:eval")])
emit("B-py2-builtin-eval-p2.pkl", proto(2) + glob("__builtin__", "eval") + tup1(string("1")) + REDUCE + STOP, "dangerous",
     [("import", "builtins:eval")])
emit("B-py2-commands-getoutput.pkl", proto(2) + glob("commands", "getoutput") + tup1(TRUE) + REDUCE + STOP, "dangerous",
     [("import", "subprocess:getoutput")])
emit("B-py2-cpickle-loads.pkl", glob("cPickle", "loads") + tup1(string("x")) + REDUCE + STOP, "dangerous",
     [("import", "pickle:loads")])
emit("B-py2-name-at-proto3.pkl", proto(3) + glob("__builtin__", "eval") + tup1(string("1")) + REDUCE + STOP, "dangerous",
     [("import", "__builtin__:eval")])
emit("B-dotted-pathlib-os-system.pkl", proto(4) + sg("pathlib", "os.system") + tup1(su("true")) + REDUCE + STOP,
     "dangerous", [("import", "pathlib:os.system")])
emit("B-dotted-sysconfig-os-system.pkl", proto(4) + sg("sysconfig", "os.system") + tup1(su("true")) + REDUCE + STOP,
     "dangerous", [("import", "sysconfig:os.system")])
emit("B-dotted-object-subclasses.pkl", proto(4) + sg("builtins", "object.__subclasses__") + b")" + REDUCE + STOP,
     "dangerous", [("import", "builtins:object.__subclasses__")])
emit("B-proto-switch-midstream.pkl", proto(4) + proto(2) + glob("__builtin__", "exec") + POP + proto(4) +
     sg("pathlib", "os.system") + tup1(su("true")) + REDUCE + STOP, "dangerous",
     [("import", "builtins:exec"), ("import", "pathlib:os.system")])
emit("B-proto-switch-reverse.pkl", proto(2) + proto(4) + glob("__builtin__", "eval") + POP + proto(1) +
     glob("copy_reg", "add_extension") + STOP, "dangerous",
     [("import", "__builtin__:eval"), ("import", "copyreg:add_extension")])
emit("B-dynamic-import.pkl", proto(4) + glob("builtins", "str") + tup1(su("os")) + REDUCE + su("system") + b"\x93" +
     tup1(su("true")) + REDUCE + STOP, "dangerous", [("dynamic_import", "module=<call builtins:str> name='system'")])

# ---- C. what the VM must model -----------------------------------------------------------------
emit("C-memo-out-of-order.pkl", proto(4) + su("system") + binput(7) + su("os") + binput(3) + POP + binget(3) +
     binget(7) + b"\x93" + tup1(su("true")) + REDUCE + STOP, "dangerous", [("import", "os:system")])
emit("C-memoize-mixed-binput.pkl", proto(4) + su("os") + MEMOIZE + su("system") + binput(5) + su("x") + MEMOIZE + POP +
     binget(0) + binget(5) + b"\x93" + tup1(su("true")) + REDUCE + STOP, "dangerous", [("import", "os:system")])
emit("C-put-after-pop.pkl", proto(4) + su("os") + su("system") + POP + binput(0) + binget(0) + su("system") + b"\x93" +
     tup1(su("true")) + REDUCE + STOP, "dangerous", [("import", "os:system")])
emit("C-dup-then-put.pkl", proto(4) + su("os") + DUP + binput(1) + POP + binget(1) + su("system") + b"\x93" +
     tup1(su("true")) + REDUCE + STOP, "dangerous", [("import", "os:system")])
emit("C-inst.pkl", MARK + TRUE + b"i" + b"os\nsystem\n" + STOP, "dangerous", [("import", "os:system"), ("call", "os:system")])
emit("C-obj-function.pkl", MARK + glob("os", "system") + TRUE + b"o" + STOP, "dangerous", [("call", "os:system")])
emit("C-newobj.pkl", proto(2) + glob("os", "system") + b")" + b"\x81" + STOP, "dangerous", [("call", "os:system")])
emit("C-newobj-ex.pkl", proto(4) + glob("os", "system") + b")}" + b"\x92" + STOP, "dangerous", [("call", "os:system")])
emit("C-build-on-function.pkl", glob("numpy", "prod") + b"}" + string("a") + string("os") + b"s" + BUILD + POP +
     proto(4) + sg("numpy", "prod.a") + STOP, "dangerous", [("build", "numpy:prod")])
emit("C-build-on-class.pkl", proto(2) + glob("collections", "OrderedDict") + b"}" + su("__init__") + glob("os", "system") +
     b"s" + BUILD + STOP, "dangerous", [("build", "collections:OrderedDict")])
emit("C-build-setstate-unknown.pkl", proto(2) + glob("mymodule", "Thing") + b")\x81}" + BUILD + STOP, "suspicious",
     [("build", "<new mymodule:Thing>")])
emit("C-appends-on-object.pkl", proto(2) + glob("mymodule", "Sink") + b")R" + MARK + su("x") + b"e" + STOP, "suspicious",
     [("items", "<call mymodule:Sink>")])
emit("C-setitems-on-object.pkl", proto(2) + glob("mymodule", "Sink") + b")R" + MARK + su("k") + su("v") + b"u" + STOP,
     "suspicious", [("items", "<call mymodule:Sink>")])
emit("C-additems-on-object.pkl", proto(4) + glob("mymodule", "Sink") + b")R" + MARK + su("x") + b"\x90" + STOP,
     "suspicious", [("items", "<call mymodule:Sink>")])
emit("C-items-on-global.pkl", proto(2) + glob("collections", "OrderedDict") + su("k") + glob("os", "system") + b"s" + STOP,
     "dangerous", [("items", "collections:OrderedDict")])
emit("C-ext1.pkl", proto(2) + b"\x82\x01" + tup1(TRUE) + REDUCE + STOP, "dangerous", [("ext", "1")])
emit("C-ext2.pkl", proto(2) + b"\x83\x01\x02" + STOP, "dangerous", [("ext", "513")])
emit("C-ext4.pkl", proto(2) + b"\x84\x01\x00\x00\x00" + STOP, "dangerous", [("ext", "1")])
emit("C-ext-after-add-extension.pkl", proto(2) + glob("copyreg", "add_extension") + MARK + string("os") + string("system") +
     b"K\x07" + TUPLE + REDUCE + POP + b"\x82\x07" + tup1(TRUE) + REDUCE + STOP, "dangerous",
     [("call", "copyreg:add_extension"), ("ext", "7"), ("call", "<ext 7>")])
emit("C-persid-text.pkl", b"Pos.system\n" + STOP, "dangerous", [("persid", "'os.system'")])
emit("C-persid-not-torch.pkl", proto(2) + MARK + su("file") + su("/etc/passwd") + TUPLE + b"Q" + STOP, "dangerous",
     [("persid", "('file', '/etc/passwd')")])
emit("C-persid-torch-bad-class.pkl", proto(2) + MARK + su("storage") + glob("os", "system") + su("0") + su("cpu") + b"K\x01" +
     TUPLE + b"Q" + STOP, "dangerous", [("persid", "('storage', os:system, '0', 'cpu', 1)")])
emit("C-text-int-odd.pkl", b"I0x10\n" + POP + glob("os", "system") + tup1(TRUE) + REDUCE + STOP, "dangerous",
     [("anomaly", "INT literal a pickler never writes (CPython's C and Python unpicklers may disagree)")])
emit("C-frame-crossing.pkl", proto(4) + b"\x95" + struct.pack("<Q", 3) + su("os") + su("system") + b"\x93" + STOP,
     "dangerous", [("anomaly", "opcode crosses the end of a FRAME"), ("import", "os:system")])
# the same, by the opcodes the full VM runs in registers (vm.c, fast_run): a BINGET of a
# memoized value and a BININT1 of an int made before, each with its argument past the frame
emit("C-frame-crossing-binget.pkl", proto(4) + b"\x95" + struct.pack("<Q", 3) + b"N\x94h" + b"\x000" +
     su("os") + su("system") + b"\x93" + STOP,
     "dangerous", [("anomaly", "opcode crosses the end of a FRAME"), ("import", "os:system")])
emit("C-frame-crossing-binint1.pkl", proto(4) + b"\x95" + struct.pack("<Q", 4) + b"K\x050K" + b"\x050" +
     su("os") + su("system") + b"\x93" + STOP,
     "dangerous", [("anomaly", "opcode crosses the end of a FRAME"), ("import", "os:system")])
emit("C-broken-after-payload.pkl", proto(2) + glob("os", "system") + tup1(TRUE) + REDUCE + b"\xff", "dangerous",
     [("call", "os:system"), ("malformed", "invalid load key, '\\xff'.")])
emit("C-trailing-after-stop.pkl", proto(2) + b"N" + STOP + b"\x00" + b"cos\nsystem\n", "suspicious", [("trailing", "12")])
emit("C-two-pickles.pkl", proto(2) + b"N" + STOP + sys_call(), "dangerous", [("pickle", "1"), ("call", "os:system")])
# functools.partial is judged as the call it stands for (judge.c): made with arguments, given
# state by BUILD, or called
PARTIAL = glob("functools", "partial")
SUBCLASSES = glob("builtins", "object") + su("__subclasses__")
emit("C-partial-os-system-called.pkl", proto(2) + PARTIAL + MARK + glob("os", "system") + TRUE + TUPLE + REDUCE +
     b")" + REDUCE + STOP, "dangerous", [("call", "functools:partial"), ("call", "<call functools:partial>")])
emit("C-partial-getattr-dunder.pkl", proto(2) + PARTIAL + MARK + glob("builtins", "getattr") + SUBCLASSES + TUPLE +
     REDUCE + STOP, "dangerous", [("call", "functools:partial")])
emit("C-partial-getattr-called-later.pkl", proto(2) + PARTIAL + MARK + glob("builtins", "getattr") +
     glob("builtins", "object") + TUPLE + REDUCE + b"(" + su("__subclasses__") + TUPLE + REDUCE + STOP, "dangerous",
     [("call", "<call functools:partial>")])
emit("C-partial-setstate-swap.pkl", proto(2) + PARTIAL + MARK + glob("builtins", "print") + TUPLE + REDUCE +
     MARK + glob("builtins", "getattr") + MARK + SUBCLASSES + TUPLE + b"NN" + TUPLE + b"b" + b")" + REDUCE + STOP,
     "dangerous", [("build", "<call functools:partial>"), ("call", "<call functools:partial>")])
emit("C-partial-setstate-computed.pkl", proto(2) + PARTIAL + MARK + glob("builtins", "print") + TUPLE + REDUCE +
     glob("builtins", "tuple") + b"]" + tup1(b"") + REDUCE + b"b" + STOP, "dangerous",
     [("build", "<call functools:partial>")])
emit("C-partial-of-call-result.pkl", proto(2) + PARTIAL + glob("builtins", "str") + b")R" + tup1(b"") + REDUCE + STOP,
     "dangerous", [("call", "functools:partial")])
emit("C-partial-newobj-os-system.pkl", proto(2) + PARTIAL + MARK + glob("posix", "system") + TRUE + TUPLE + b"\x81" +
     STOP, "dangerous", [("call", "functools:partial")])
# scipy's unpickle_function(module, qualname, None) is judged as the global it imports
UNPICKLE_FN = glob("scipy._lib._uarray._backend", "unpickle_function")
emit("C-unpickle-function-os-system.pkl", proto(2) + UNPICKLE_FN + MARK + su("os") + su("system") + b"N" + TUPLE +
     REDUCE + tup1(TRUE) + REDUCE + STOP, "dangerous", [("call", "scipy._lib._uarray._backend:unpickle_function")])
# an allowed name, then os.system, each made for its event where the last one was: a verdict
# cached by the address of such a value would judge the second as the first
emit("C-unpickle-function-allowed-then-os-system.pkl", proto(2) + UNPICKLE_FN + MARK + su("scipy.fft._backend") +
     su("_backend_from_arg") + b"N" + TUPLE + REDUCE + b"0" + UNPICKLE_FN + MARK + su("os") + su("system") + b"N" +
     TUPLE + REDUCE + tup1(TRUE) + REDUCE + STOP, "dangerous",
     [("call", "scipy._lib._uarray._backend:unpickle_function")])
emit("C-unpickle-function-dunder.pkl", proto(2) + UNPICKLE_FN + MARK + su("builtins") + su("object.__subclasses__") +
     b"N" + TUPLE + REDUCE + STOP, "dangerous", [("call", "scipy._lib._uarray._backend:unpickle_function")])
# torch.ScriptObject's BUILD state names the C++ class whose __setstate__ runs: only torch's
# own packed-parameter classes are admitted (rules/torch.yaml)
emit("C-scriptobject-other-class.pkl", proto(2) + glob("torch", "ScriptObject") + b")\x81" + MARK + b")" +
     su("__torch__.torch.classes.myext.Runner") + TUPLE + BUILD + STOP, "suspicious",
     [("build", "<new torch:ScriptObject>")])
emit("C-reduce-of-call.pkl", proto(2) + glob("builtins", "str") + b")R)R" + STOP, "dangerous", [("call", "<call builtins:str>")])

# ---- E. denial of service ---------------------------------------------------------------------------
emit("E-deep-nesting.pkl", b"]" + b"]a" * 0 + b"(" * 200000 + STOP, "inconclusive", [("limit", "max_marks: more open MARKs than the limit")])
emit("E-tuple-fanout.pkl", glob("mymodule", "process") + b"N" + b"2\x86" * 60 + b"\x85R" + STOP, "suspicious",
     [("call", "mymodule:process")])  # 2**60 leaves if walked naively; brine shares them
emit("E-huge-length.pkl", b"\x8e" + struct.pack("<Q", 1 << 62) + STOP, "malformed", [("malformed", "pickle data was truncated")])
# One more memo entry than the default max_memo (16,777,216): 16 MiB of
# MEMOIZE, stored gzipped (16 KiB). A million entries is an ordinary DataFrame
# and completes; the limit bounds the memo tables (8 bytes per dense entry).
emit("E-memo-flood.pkl.gz", gzip.compress(b"N" + MEMOIZE * (16777216 + 1) + STOP, 9, mtime=0), "inconclusive",
     [("limit", "max_memo: more memo entries than the limit")])

# made by hand elsewhere (tools/packs/README.md): a scipy distribution whose state execs a string
rows.append(("A-scipy-rv_generic-exec.pkl", "suspicious", "build", "<new scipy.stats._continuous_distns:uniform_gen>"))

with open(os.path.join(HERE, "expected.tsv"), "w") as f:
    f.write("# file\tverdict\tkind\tdetail  (verdict: the minimum: dangerous > suspicious; or the status for E files)\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
    # files that must simply not be safe, with no particular event
print(len(set(r[0] for r in rows)), "files")
