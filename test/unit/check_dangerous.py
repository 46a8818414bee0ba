#!/usr/bin/env python3
"""The built-in policy must call every known-dangerous name dangerous, and no
ordinary data name dangerous. Each name is pickled as a bare import (protocol 4
STACK_GLOBAL, so dotted names are attribute paths; Python 2 spellings at
protocol 0, where they are mapped) and scanned with the default policy.

Usage: check_dangerous.py BRINE SHARED_JSON. Last line: `dangerous-pack: N passed, M failed`.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

# THREATS.md section A, as module:qualname
THREATS_A = """os:system posix:system nt:system subprocess:Popen subprocess:check_output builtins:eval builtins:exec
builtins:compile builtins:__import__ builtins:open builtins:getattr builtins:setattr builtins:breakpoint runpy:_run_code
pty:spawn ctypes:CDLL marshal:loads types:CodeType types:FunctionType importlib:import_module pkgutil:resolve_name
pydoc:locate operator:attrgetter operator:methodcaller operator:itemgetter _operator:attrgetter functools:partial
functools:reduce _functools:partial _functools:reduce copyreg:add_extension profile:run cProfile:run trace:Trace
timeit:timeit pdb:run bdb:Bdb code:InteractiveInterpreter doctest:debug_script idlelib.pyshell:main
lib2to3.pgen2.driver:load_grammar ensurepip:bootstrap pip:main venv:create asyncio.subprocess:create_subprocess_shell
multiprocessing.util:spawnv_passfds _posixsubprocess:fork_exec uuid:_get_command_stdout _osx_support:_read_output
_aix_support:aix_platform imaplib:IMAP4_stream mailcap:findmatch pipes:Template typing:_eval_type dataclasses:_create_fn
torch:load torch.hub:load torch.jit:load torch._dynamo:optimize torch._inductor:compile torch.utils.collect_env:run
torch.utils.bottleneck:main numpy.f2py:compile numpy.testing._private.utils:runstring numpy:load joblib:load dill:loads
cloudpickle:loads yaml:load yaml:unsafe_load pickle:loads _pickle:loads pickle:_loads torch.storage:_load_from_bytes
io:FileIO pathlib:Path.write_text pathlib:Path.write_bytes logging:FileHandler codecs:open tempfile:mkstemp shutil:rmtree
socket:socket urllib.request:urlopen ssl:get_server_certificate webbrowser:open
builtins:object.__subclasses__ collections:OrderedDict.__init__.__globals__ builtins:__builtins__ m:x.__dict__
m:x.__getattribute__ m:x.__class__ m:x.__base__ m:x.__mro__ pathlib:os.system sysconfig:os.system uuid:_get_command_stdout joblib:load joblib:Parallel joblib.parallel:Parallel""".split()

BENIGN = """collections:OrderedDict copyreg:_reconstructor builtins:set builtins:frozenset builtins:bytearray builtins:complex
builtins:slice builtins:object builtins:range builtins:int builtins:float builtins:str builtins:dict builtins:list
builtins:tuple builtins:bytes numpy.core.multiarray:_reconstruct numpy:ndarray numpy:dtype numpy.core.multiarray:scalar
torch._utils:_rebuild_tensor_v2 torch:FloatStorage torch._utils:_rebuild_parameter joblib.numpy_pickle:NumpyArrayWrapper
sklearn.linear_model._base:LinearRegression pandas.core.frame:DataFrame uuid:UUID datetime:datetime decimal:Decimal
fractions:Fraction _codecs:encode __main__:MyModel""".split()


# Names judged where they are used, not where they are imported:
# torch.storage._load_from_bytes(b) is torch.load on b, and a constant b is
# scanned as the torch file it is (judge.c); called on a computed value, it is
# dangerous. These are checked by that call.
# builtins.getattr with a constant name on a global is that dotted global
# (judged as such); with a computed name it is dangerous; builtins.type with
# one argument is a lookup, with three it makes a class. functools.partial(f,
# ...) is judged as the call of f it stands for: of a computed f, dangerous.
COMPUTED = b"\x8c\x08builtins\x8c\x05bytes\x93K\x01\x85R"
JUDGED_BY_USE = {
    "functools:partial": COMPUTED + b"\x85R.",
    "_functools:partial": COMPUTED + b"\x85R.",
    "torch.storage:_load_from_bytes": COMPUTED + b"\x85R.",
    "builtins:getattr": b"\x8c\x08builtins\x8c\x05bytes\x93" + COMPUTED + b"\x86R.",  # a computed name
    "builtins:type": b"\x8c\x01X)}\x87R.",
}
PY2_USE = {"getattr": b"(c__builtin__\nbytes\nc__builtin__\nbytes\n(I1\ntRtR.", "type": b"(S'X'\n)(dtR."}


def stack_global(name):
    mod, qual = name.split(":", 1)
    m, q = mod.encode(), qual.encode()
    imp = b"\x80\x04\x8c" + bytes([len(m)]) + m + b"\x8c" + bytes([len(q)]) + q + b"\x93"
    if name in JUDGED_BY_USE:  # called the way that is dangerous
        return imp + JUDGED_BY_USE[name]
    return imp + b"."


def main():
    brine, shared = sys.argv[1], sys.argv[2]
    d = json.load(open(shared))
    must = list(THREATS_A)
    # joblib, uuid and types are denied name by name (see rules/dangerous.yaml):
    # joblib files need joblib.numpy_pickle's wrappers, uuid.UUID and
    # types.SimpleNamespace are plain data; their code-running names are listed
    must += ["types:%s" % n for n in ("CodeType", "FunctionType", "LambdaType", "MethodType", "CellType")]
    for m in d["modules"]:
        if m in ("joblib", "uuid", "types"):
            continue
        must += ["%s:anything" % m, "%s.sub:anything" % m]
    for b in d["builtins"]:
        must += ["builtins:%s" % b]
    for m, names in d["names"].items():
        must += ["%s:%s" % (m, n) for n in names]
    cases = [(n, stack_global(n), True) for n in must]
    # Python 2 spellings are mapped below protocol 3 ...
    cases += [("py2 " + b, b"c__builtin__\n%s\n%s" % (b.encode(), PY2_USE.get(b, b".")), True)
              for b in d["builtins"] if "." not in b]
    cases += [("py2 commands", b"ccommands\ngetoutput\n.", True), ("py2 cPickle", b"ccPickle\nloads\n.", True)]
    # ... and still denied at protocol 3 and above, where they are not
    cases += [("p3 __builtin__", b"\x80\x03c__builtin__\neval\n.", True)]
    cases += [(n, stack_global(n), False) for n in BENIGN]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as t:
        paths = []
        for i, (n, data, _) in enumerate(cases):
            p = os.path.join(t, "c%d" % i)
            open(p, "wb").write(data)
            paths.append(p)
        out = subprocess.run([brine, "scan", "--quiet"] + paths, capture_output=True, text=True).stdout
        verdict = dict(re.findall(r"^(\S+): (\w+) \(", out, re.M))
        for (n, _, dangerous), p in zip(cases, paths):
            v = verdict.get(p)
            ok = (v == "dangerous") if dangerous else (v in ("safe", "suspicious"))
            if ok:
                passed += 1
            else:
                failed += 1
                print("FAIL %s: %s, expected %s" % (n, v, "dangerous" if dangerous else "not dangerous"))
    print("dangerous-pack: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
