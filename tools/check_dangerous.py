#!/usr/bin/env python3
"""Check rules/dangerous.yaml: schema, coverage of the known-dangerous names, and
that no name a benign file needs is denied.

Usage: tools/check_dangerous.py [--yaml FILE] [--json FILE] [--globals FILE]
                                [--rules DIR] [--gaps] [--brine BRINE]

  --yaml     the pack (default rules/dangerous.yaml)
  --json     the scanners' union (default test/unit/known-dangerous-names.json)
  --globals  benign corpus globals (default corpus/benign/GLOBALS.txt, if present)
  --rules    directory of the other packs: every name they allow is benign
  --gaps     list the attribute-path spellings the engine does not resolve (info)
  --brine    also run `BRINE policy check` on the pack

Three views of matching:
- strict (coverage): a module entry matches its module and, with `submodules`, every
  module below it; a name entry matches exactly that name; `module:*` matches any
  name without a dot in that module. Every required name must be covered this way.
- engine (benign): what analyzer/policy.c does on top of strict: a denied name also
  denies every attribute path below it (`a:X` denies `a:X.y`), a dotted qualname is
  also tried as `module:rest` at each dot (`pathlib:os.system` is os:system), and
  any module or qualname component in dunder_components is dangerous. No benign
  name may match in this view.
- gaps (info only): `torch:hub.load` reaches torch.hub.load from protocol 4 on, but
  the engine does not try a module prefix plus the first qualname components as a
  module; such spellings are listed with --gaps.

Needs PyYAML (Debian: python3-yaml). Exit status 0 when every check passes.
"""
import argparse
import json
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SEVERITIES = ("critical", "high", "medium")
TOP_KEYS = {"pack", "description", "deny", "dunder_components"}
DENY_KEYS = {"module", "name", "submodules", "severity", "reason", "except"}
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
MODULE_RE = re.compile(r"^%s(\.%s)*$" % (IDENT, IDENT))
QUALNAME_RE = re.compile(r"^(\*|%s(\.%s)*)$" % (IDENT, IDENT))

# THREATS.md section A, one name (or a representative name) per item, as
# module:qualname. `x.sub:y` forms check that a module is denied with its submodules.
THREATS_A = """
os:system posix:system nt:system os.path:join
subprocess:Popen subprocess:run subprocess:check_output subprocess:getoutput subprocess.x:y
builtins:eval builtins:exec builtins:compile builtins:__import__ builtins:open builtins:getattr
builtins:setattr builtins:breakpoint
runpy:run_path runpy:run_module runpy:_run_code pty:spawn ctypes:CDLL ctypes.util:find_library
marshal:loads types:CodeType types:FunctionType importlib:import_module importlib.util:x
pkgutil:resolve_name pydoc:locate
operator:attrgetter operator:methodcaller operator:itemgetter
_operator:attrgetter _operator:methodcaller _operator:itemgetter
functools:partial functools:reduce _functools:partial _functools:reduce copyreg:add_extension
profile:run cProfile:run trace:Trace timeit:timeit pdb:run bdb:Bdb code:InteractiveInterpreter
doctest:debug_script idlelib.pyshell:main idlelib:x lib2to3.pgen2.driver:load_grammar
ensurepip:bootstrap pip:main pip._internal.cli.main:main venv:create
asyncio.subprocess:create_subprocess_shell asyncio:create_subprocess_exec
multiprocessing.util:spawnv_passfds _posixsubprocess:fork_exec uuid:_get_command_stdout
_osx_support:_read_output _aix_support:_aix_bos_rte imaplib:IMAP4_stream mailcap:findmatch
mailcap:getcaps pipes:Template typing:_eval_type dataclasses:_create_fn
torch:load torch.hub:load torch.hub:x torch.jit:load torch.jit._script:x torch._dynamo:optimize
torch._inductor:compile torch._inductor.codecache:x torch.utils.collect_env:run
torch.utils.bottleneck:main torch.utils.bottleneck.__main__:run_cprofile numpy.f2py:compile
numpy.testing._private.utils:runstring numpy:load joblib:load dill:loads dill._dill:x
cloudpickle:loads yaml:load yaml:unsafe_load
pickle:loads _pickle:loads pickle:_loads torch.storage:_load_from_bytes
io:FileIO pathlib:Path.write_text pathlib:Path.write_bytes pathlib:PosixPath.write_text
pathlib:PosixPath.write_bytes pathlib:WindowsPath.write_text logging:FileHandler
logging.handlers:RotatingFileHandler codecs:open tempfile:mkstemp tempfile:NamedTemporaryFile
shutil:rmtree shutil:copyfile socket:socket socket:create_connection urllib:x
urllib.request:urlopen urllib.request:urlretrieve ssl:get_server_certificate webbrowser:open
""".split()

# THREATS.md: "Any name component ..."
THREATS_A_DUNDERS = ["__builtins__", "__dict__", "__globals__", "__getattribute__",
                     "__subclasses__", "__class__", "__base__", "__mro__"]

# Python 2 spellings are mapped below protocol 3, not from protocol 3 on: denied as written.
PY2_MODULES = ["__builtin__", "__builtins__", "commands", "cPickle", "copy_reg"]

# Shared-list modules denied name by name (see the header of rules/dangerous.yaml):
# what must be denied, and what must stay allowed.
NARROWED = {
    "joblib": {
        "deny": """joblib:load joblib:dump joblib:Parallel joblib:delayed joblib:Memory
            joblib:MemorizedResult joblib:register_parallel_backend joblib:parallel_backend
            joblib:wrap_non_picklable_objects joblib.numpy_pickle:load joblib.numpy_pickle:dump
            joblib.numpy_pickle:NumpyUnpickler joblib.numpy_pickle:Unpickler
            joblib.numpy_pickle:load_compatibility joblib.numpy_pickle:NDArrayWrapper
            joblib.numpy_pickle_compat:load_compatibility joblib.parallel:Parallel
            joblib.memory:Memory joblib._store_backends:FileSystemStoreBackend
            joblib.externals.loky:get_reusable_executor joblib.externals.cloudpickle:loads
            joblib.testing:check_subprocess_call joblib.pool:MemmappingPool
            joblib._parallel_backends:LokyBackend joblib.disk:delete_folder""".split(),
        "keep": ["joblib.numpy_pickle:NumpyArrayWrapper"],
    },
    "uuid": {
        "deny": """uuid:_get_command_stdout uuid:_popen uuid:_find_mac uuid:_find_mac_near_keyword
            uuid:_find_mac_under_heading uuid:_ifconfig_getnode uuid:_ip_getnode
            uuid:_arp_getnode uuid:_lanscan_getnode uuid:_netstat_getnode uuid:getnode""".split(),
        "keep": ["uuid:UUID", "uuid:SafeUUID", "uuid:NAMESPACE_DNS"],
    },
    "types": {
        "deny": """types:CodeType types:FunctionType types:LambdaType types:MethodType
            types:ModuleType types:new_class types:CellType types:FrameType""".split(),
        "keep": ["types:SimpleNamespace", "types:GenericAlias", "types:MappingProxyType",
                 "types:NoneType", "types:EllipsisType", "types:NotImplementedType"],
    },
}

# Names benign files use. Also benign: every name another pack allows, and every
# global of the benign corpus (GLOBALS.txt).
BENIGN = """
collections:OrderedDict copyreg:_reconstructor builtins:set builtins:frozenset
builtins:bytearray builtins:complex builtins:slice builtins:object
numpy.core.multiarray:_reconstruct numpy:ndarray numpy:dtype numpy.core.multiarray:scalar
torch._utils:_rebuild_tensor_v2 torch:FloatStorage torch._utils:_rebuild_parameter
joblib.numpy_pickle:NumpyArrayWrapper sklearn.linear_model._base:LinearRegression
pandas.core.frame:DataFrame uuid:UUID datetime:datetime decimal:Decimal fractions:Fraction
_codecs:encode builtins:range builtins:int builtins:float builtins:str builtins:dict
builtins:list builtins:tuple builtins:bytes
__main__:MyModel __main__:Outer.Inner copyreg:__newobj__ copyreg:__newobj_ex__
collections:defaultdict collections:deque collections:Counter argparse:Namespace
types:SimpleNamespace pathlib:PosixPath pathlib:PurePosixPath pathlib:PureWindowsPath
pathlib:WindowsPath torch.serialization:_get_layout torch:Size torch:device torch._utils:_rebuild_qtensor
torch.nn.modules.linear:Linear torch.nn.modules.container:Sequential torch._tensor:_rebuild_from_type_v2
numpy.core.numeric:_frombuffer numpy.ma.core:_mareconstruct numpy.ma.core:MaskedArray
numpy.random._pickle:__randomstate_ctor numpy.random._pickle:__bit_generator_ctor
re:_compile datetime:date datetime:timedelta datetime:timezone enum:Enum
""".split()

# Must be critical: direct code or command execution.
MUST_BE_CRITICAL = """os:system posix:system subprocess:Popen builtins:eval builtins:exec
builtins:compile builtins:__import__ runpy:run_path pty:spawn ctypes:CDLL marshal:loads
types:CodeType types:FunctionType importlib:import_module pickle:loads _pickle:loads
torch:load numpy:load joblib:load dill:loads cloudpickle:loads yaml:unsafe_load
torch.storage:_load_from_bytes copyreg:add_extension uuid:_get_command_stdout
_posixsubprocess:fork_exec numpy.testing._private.utils:runstring""".split()


class SchemaError(Exception):
    pass


def where(path, node):
    return "%s:%d:%d" % (path, node.start_mark.line + 1, node.start_mark.column + 1)


def scalar(loader, path, node, what, kinds):
    if not isinstance(node, yaml.ScalarNode):
        raise SchemaError("%s: expected %s" % (where(path, node), what))
    v = loader.construct_object(node)
    if not isinstance(v, kinds) or (kinds is str and isinstance(v, bool)):
        raise SchemaError("%s: expected %s, found %r" % (where(path, node), what, v))
    return v


def pairs(path, node, what, allowed):
    if not isinstance(node, yaml.MappingNode):
        raise SchemaError("%s: expected %s (a mapping)" % (where(path, node), what))
    seen = {}
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode):
            raise SchemaError("%s: expected a key" % where(path, k))
        if k.value not in allowed:
            raise SchemaError("%s: expected one of %s in %s, found %r"
                              % (where(path, k), ", ".join(sorted(allowed)), what, k.value))
        if k.value in seen:
            raise SchemaError("%s: duplicate key %r" % (where(path, k), k.value))
        seen[k.value] = v
    return seen


class Deny:
    def __init__(self, module, name, submodules, severity, reason, loc, excepts=()):
        self.module, self.name, self.submodules = module, name, submodules
        self.severity, self.reason, self.loc = severity, reason, loc
        self.excepts = frozenset(excepts)  # exact "module:qualname" names left out

    def label(self):
        if self.name is None:
            return "module %s%s" % (self.module, " and submodules" if self.submodules else "")
        return "name %s:%s" % (self.module, self.name)


def load_pack(path):
    """Parse the pack strictly; returns (pack, description, denies, dunders)."""
    text = open(path, encoding="utf-8").read()
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as e:
        raise SchemaError("%s: %s" % (path, e))
    if root is None:
        raise SchemaError("%s: expected a mapping, found an empty document" % path)
    top = pairs(path, root, "the pack", TOP_KEYS)
    if "pack" not in top:
        raise SchemaError("%s: expected a 'pack' key" % where(path, root))
    pack = scalar(loader, path, top["pack"], "the pack name", str)
    if pack != "dangerous":
        raise SchemaError("%s: expected pack: dangerous" % where(path, top["pack"]))
    desc = None
    if "description" in top:
        desc = scalar(loader, path, top["description"], "a one-line description", str)
        if "\n" in desc:
            raise SchemaError("%s: expected a one-line description" % where(path, top["description"]))
    denies = []
    seen = {}
    dnode = top.get("deny")
    if dnode is None or not isinstance(dnode, yaml.SequenceNode):
        raise SchemaError("%s: expected 'deny' to be a list" % where(path, dnode or root))
    for item in dnode.value:
        e = pairs(path, item, "a deny entry", DENY_KEYS)
        if ("module" in e) == ("name" in e):
            raise SchemaError("%s: expected exactly one of 'module' or 'name'" % where(path, item))
        if "submodules" in e and "module" not in e:
            raise SchemaError("%s: expected 'submodules' only with 'module'" % where(path, item))
        for k in ("severity", "reason"):
            if k not in e:
                raise SchemaError("%s: expected '%s' in the deny entry" % (where(path, item), k))
        sev = scalar(loader, path, e["severity"], "critical, high or medium", str)
        if sev not in SEVERITIES:
            raise SchemaError("%s: expected critical, high or medium, found %r"
                              % (where(path, e["severity"]), sev))
        reason = scalar(loader, path, e["reason"], "a one-line reason", str)
        if not reason.strip() or "\n" in reason:
            raise SchemaError("%s: expected a one-line reason" % where(path, e["reason"]))
        if "module" in e:
            mod = scalar(loader, path, e["module"], "a module name", str)
            if not MODULE_RE.match(mod):
                raise SchemaError("%s: expected a dotted module name, found %r"
                                  % (where(path, e["module"]), mod))
            sub = False
            if "submodules" in e:
                sub = scalar(loader, path, e["submodules"], "true or false", bool)
            d = Deny(mod, None, sub, sev, reason, where(path, item))
            key = ("module", mod)
        else:
            full = scalar(loader, path, e["name"], "module:qualname", str)
            mod, sep, qual = full.partition(":")
            if not sep or not MODULE_RE.match(mod) or not QUALNAME_RE.match(qual):
                raise SchemaError("%s: expected module:qualname or module:*, found %r"
                                  % (where(path, e["name"]), full))
            d = Deny(mod, qual, False, sev, reason, where(path, item))
            key = ("name", full)
        if "except" in e:
            en = e["except"]
            if not isinstance(en, yaml.SequenceNode) or not en.value:
                raise SchemaError("%s: expected 'except' to be a non-empty list" % where(path, en))
            ex = []
            for it in en.value:
                full = scalar(loader, path, it, "module:qualname", str)
                emod, sep, equal = full.partition(":")
                if not sep or not MODULE_RE.match(emod) or not QUALNAME_RE.match(equal) or equal == "*":
                    raise SchemaError("%s: expected an exact module:qualname, found %r" % (where(path, it), full))
                if not strict_match(d, emod, equal) and not (d.name not in (None, "*") and emod == d.module
                                                             and equal.startswith(d.name + ".")):
                    raise SchemaError("%s: %r is not covered by the deny" % (where(path, it), full))
                ex.append(full)
            d.excepts = frozenset(ex)
        if key in seen:
            raise SchemaError("%s: duplicate deny entry (first at %s)" % (d.loc, seen[key]))
        seen[key] = d.loc
        denies.append(d)
    dunders = []
    unode = top.get("dunder_components")
    if unode is None or not isinstance(unode, yaml.SequenceNode):
        raise SchemaError("%s: expected 'dunder_components' to be a list" % where(path, unode or root))
    for item in unode.value:
        s = scalar(loader, path, item, "a name component", str)
        if not re.match("^%s$" % IDENT, s):
            raise SchemaError("%s: expected one identifier, found %r" % (where(path, item), s))
        if s in dunders:
            raise SchemaError("%s: duplicate component %r" % (where(path, item), s))
        dunders.append(s)
    return pack, desc, denies, dunders


# ---- matching -----------------------------------------------------------------------

RANK = {"medium": 1, "high": 2, "critical": 3}


def strict_match(d, mod, name):
    if d.name is None:
        return mod == d.module or (d.submodules and mod.startswith(d.module + "."))
    if mod != d.module:
        return False
    if d.name == "*":
        return "." not in name
    return name == d.name


def engine_match(d, mod, name):
    """analyzer/policy.c deny_matches()"""
    if "%s:%s" % (mod, name) in d.excepts:
        return False
    if strict_match(d, mod, name):
        return True
    return d.name not in (None, "*") and mod == d.module and name.startswith(d.name + ".")


def best(denies, pred, mod, name):
    hits = [d for d in denies if pred(d, mod, name)]
    return max(hits, key=lambda d: RANK[d.severity]) if hits else None


def strict_denied(denies, full):
    """an exception never covers a required name: it must stay denied"""
    mod, _, name = full.partition(":")
    return best(denies, lambda d, m, n: strict_match(d, m, n) and full not in d.excepts, mod, name)


def engine_denied(denies, dunders, full):
    """analyzer/policy.c brine_policy_denied() and brine_policy_dunder()"""
    mod, _, name = full.partition(":")
    d = best(denies, engine_match, mod, name)
    if d:
        return d.label()
    hits = []
    for i in range(len(name)):
        if i > 0 and name[i - 1] != ".":
            continue
        for j in range(i, len(name)):
            if name[j] == ".":
                d = best(denies, engine_match, name[i:j], name[j + 1:])
                if d:
                    hits.append(d)
    if hits:
        return max(hits, key=lambda d: RANK[d.severity]).label() + " (dotted path)"
    for comp in mod.split(".") + name.split("."):
        if comp in dunders:
            return "dunder component %s" % comp
    return None


# ---- inputs -------------------------------------------------------------------------

def required_names(shared):
    """(name, why) pairs that must be strictly covered."""
    req = []
    for m in shared["modules"]:
        if m in NARROWED:
            req += [(n, "narrowed %s" % m) for n in NARROWED[m]["deny"]]
            continue
        req += [("%s:anything" % m, "modules"), ("%s.sub:anything" % m, "modules (submodules)")]
    for b in shared["builtins"]:
        req.append(("builtins:%s" % b, "builtins"))
        for py2 in ("__builtin__", "__builtins__"):
            req.append(("%s:%s" % (py2, b), "builtins (Python 2 spelling, protocol >= 3)"))
    for m, names in shared["names"].items():
        req += [("%s:%s" % (m, n), "names") for n in names]
    req += [(n, "THREATS.md A") for n in THREATS_A]
    for m in PY2_MODULES:
        req.append(("%s:anything" % m, "Python 2 module spelling"))
    return req


def benign_names(rules_dir, globals_path, yaml_path):
    names = {n: "brief" for n in BENIGN}
    for spec in NARROWED.values():
        for n in spec["keep"]:
            names.setdefault(n, "narrowed keep")
    if rules_dir and os.path.isdir(rules_dir):
        for f in sorted(os.listdir(rules_dir)):
            p = os.path.join(rules_dir, f)
            if not f.endswith(".yaml") or os.path.abspath(p) == os.path.abspath(yaml_path):
                continue
            doc = yaml.safe_load(open(p, encoding="utf-8")) or {}
            for e in doc.get("allow") or []:
                names.setdefault(e["name"], "allowed by %s" % f)
    if globals_path and os.path.exists(globals_path):
        for line in open(globals_path, encoding="utf-8"):
            for m in re.finditer(r"(?:^|global )([A-Za-z_][\w.]*:[A-Za-z_][\w.]*)", line):
                names.setdefault(m.group(1), "benign corpus")
    return names


def attribute_gaps(denies, dunders):
    """Spellings `a:b.c.x` of a denied module `a.b.c` (or `a:b.x` of a name `a.b:x`)
    that CPython resolves from protocol 4 on and the engine does not match."""
    gaps = []
    for d in denies:
        parts = d.module.split(".")
        tail = "x" if d.name is None else d.name.replace("*", "x")
        for k in range(1, len(parts)):
            full = "%s:%s.%s" % (".".join(parts[:k]), ".".join(parts[k:]), tail)
            if not engine_denied(denies, dunders, full):
                gaps.append(full)
    return sorted(set(gaps))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--yaml", default=os.path.join(ROOT, "rules", "dangerous.yaml"))
    ap.add_argument("--json", default=os.path.join(ROOT, "test", "unit", "known-dangerous-names.json"))
    ap.add_argument("--globals", default=os.path.join(ROOT, "corpus", "benign", "GLOBALS.txt"))
    ap.add_argument("--rules", default=os.path.join(ROOT, "rules"))
    ap.add_argument("--gaps", action="store_true")
    ap.add_argument("--brine")
    a = ap.parse_args()

    failed = 0

    def fail(msg):
        nonlocal failed
        failed += 1
        print("FAIL " + msg)

    try:
        _, _, denies, dunders = load_pack(a.yaml)
    except SchemaError as e:
        print("FAIL schema: %s" % e)
        return 1
    nmod = sum(1 for d in denies if d.name is None)
    sev = {s: sum(1 for d in denies if d.severity == s) for s in SEVERITIES}
    print("schema: ok (%d deny entries: %d module, %d name; %s; %d dunder components)"
          % (len(denies), nmod, len(denies) - nmod,
             ", ".join("%d %s" % (sev[s], s) for s in SEVERITIES), len(dunders)))

    shared = json.load(open(a.json, encoding="utf-8"))
    req = required_names(shared)
    for name, why in req:
        if not strict_denied(denies, name):
            fail("not denied: %s (%s)" % (name, why))
    for comp in THREATS_A_DUNDERS:
        if comp not in dunders:
            fail("dunder component missing: %s (THREATS.md A)" % comp)
    print("coverage: %d required names checked" % len(req))

    for name in MUST_BE_CRITICAL:
        d = strict_denied(denies, name)
        if d and d.severity != "critical":
            fail("%s is %s (%s), expected critical" % (name, d.severity, d.label()))

    benign = benign_names(a.rules, a.globals, a.yaml)
    for name, why in sorted(benign.items()):
        hit = engine_denied(denies, dunders, name)
        if hit:
            fail("benign name denied: %s (%s) by %s" % (name, why, hit))
    print("benign: %d names checked" % len(benign))

    gaps = attribute_gaps(denies, dunders)
    print("info: %d attribute-path spellings the engine does not resolve (e.g. %s)%s"
          % (len(gaps), ", ".join(gaps[:3]), "" if a.gaps else "; --gaps lists them"))
    if a.gaps:
        for g in gaps:
            print("  gap " + g)

    if a.brine:
        r = subprocess.run([a.brine, "policy", "check", a.yaml], capture_output=True, text=True)
        if r.returncode != 0:
            fail("brine policy check: %s" % (r.stdout + r.stderr).strip())
        else:
            print("brine policy check: ok")

    print("check_dangerous: %s" % ("ok" if not failed else "%d failed" % failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
