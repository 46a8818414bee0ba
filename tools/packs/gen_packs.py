#!/usr/bin/python3
"""Generate brine's library packs (rules/lib-*.yaml) from the installed libraries.

    /usr/bin/python3 tools/packs/gen_packs.py            # write rules/lib-*.yaml and tools/packs/names.tsv
    /usr/bin/python3 tools/packs/gen_packs.py --check    # exit 1 if the files would change (after an upgrade)
    /usr/bin/python3 tools/packs/gen_packs.py --only lib-torch lib-numpy

For each pack of tools/packs/rules.yaml, a worker process imports every public and
private module below the pack's roots (minus skip_modules) and collects the names a
pickle of the library's objects can reference:
  - every class and function defined there, under the name pickle writes for it
    (its __module__ and __qualname__, nested classes included), when that name
    resolves back to the object;
  - every object held in a module that pickles by name (its __reduce_ex__ returns
    a string: enum members of global enums, ufuncs, torch dtypes and memory formats),
    under every module that holds it (pickle's whichmodule takes the first one in
    sys.modules), dotted names included;
  - every member of an enum class found there, as <class>.<member> (CPython pickles
    a member of an enum that is not global as getattr(<class>, name));
  - the reconstructors their reduce methods return (the first element of a
    `return (callable, args, ...)` in __reduce__ / __reduce_ex__, and of the
    reducers registered in copyreg.dispatch_table).
Each name is classified (rules.yaml explains the classes) and the packs list what
may be done with it. names.tsv keeps every name with its class and reason: after a
library upgrade, rerun and read `git diff tools/packs/names.tsv rules/`.

Nothing here reads a pickle: the sweep corpus (corpus/sweep) only checks the result.
"""
import argparse
import ast
import builtins
import copyreg
import enum
import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
import types
import warnings

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RULES = os.path.join(ROOT, "rules")


# ---------------------------------------------------------------- configuration ----
def load_cfg():
    cfg = yaml.safe_load(open(os.path.join(HERE, "rules.yaml")))
    exc = yaml.safe_load(open(os.path.join(HERE, "exceptions.yaml"))) or {}
    return cfg, exc


class Denies:
    """rules/dangerous.yaml as analyzer/policy/policy.c matches it (with except)."""

    def __init__(self):
        doc = yaml.safe_load(open(os.path.join(RULES, "dangerous.yaml")))
        self.d = []
        for e in doc["deny"]:
            if "module" in e:
                self.d.append((e["module"], None, bool(e.get("submodules")), set(e.get("except") or ())))
            else:
                m, _, n = e["name"].partition(":")
                self.d.append((m, n, False, set(e.get("except") or ())))
        self.dunders = set(doc.get("dunder_components") or ())

    def _match(self, mod, name):
        for dm, dn, sub, exc in self.d:
            if "%s:%s" % (mod, name) in exc:
                continue
            if dn is None:
                if mod == dm or (sub and mod.startswith(dm + ".")):
                    return True
            elif mod == dm:
                if dn == "*" and "." not in name:
                    return True
                if name == dn or name.startswith(dn + "."):
                    return True
        return False

    def denied(self, mod, name):
        if self._match(mod, name):
            return True
        parts = name.split(".")
        for i in range(len(parts)):
            for j in range(i + 1, len(parts)):
                if self._match(".".join(parts[i:j]), ".".join(parts[j:])):
                    return True
        return any(c in self.dunders for c in mod.split(".") + parts)


def hand_names(cfg):
    """Names a hand-written pack lists: never emitted again (their constraints stand)."""
    names = set()
    for p in cfg["hand_packs"]:
        doc = yaml.safe_load(open(os.path.join(RULES, p + ".yaml")))
        for e in doc.get("allow") or []:
            names.add(e["name"])
    return names


# ---------------------------------------------------------------- walking ----------
def skipped(mod, skips):
    for s in skips:
        if s.startswith("*."):
            tail = s[2:]
            if mod.endswith("." + tail) or ("." + tail + ".") in mod:
                return True
        elif mod == s or mod.startswith(s + "."):
            return True
    return False


def walk_modules(roots, skips, only_roots):
    """Import every module below the roots; returns {name: module}."""
    mods = {}
    for r in roots:
        if skipped(r, skips):
            continue
        try:
            m = importlib.import_module(r)
        except Exception:  # noqa: BLE001 - an optional module that does not import is no name
            continue
        mods[r] = m
        if only_roots or not hasattr(m, "__path__"):
            continue
        for info in pkgutil.walk_packages(m.__path__, r + ".", onerror=lambda n: None):
            if skipped(info.name, skips):
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    mods[info.name] = importlib.import_module(info.name)
            except BaseException:  # noqa: BLE001 - SystemExit from scripts, missing optional deps
                continue
    # submodules already imported by the library (C extension modules are not walked)
    for name, m in list(sys.modules.items()):
        if m is None or name in mods:
            continue
        if any(name == r or name.startswith(r + ".") for r in roots) and not skipped(name, skips):
            if only_roots and name not in roots:
                continue
            mods[name] = m
    return mods


def resolve(modname, qualname):
    try:
        obj = sys.modules[modname]
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj
    except Exception:  # noqa: BLE001
        return None


# ---------------------------------------------------------------- source scan ------
class Scan:
    """Scan Python bodies for I/O, imports, evaluation and callbacks."""

    def __init__(self, cfg):
        self.fcalls = set(cfg["forbidden_calls"])
        self.facalls = set(cfg["forbidden_attr_calls"])
        self.import_ok = set(cfg["import_ok"])
        self.cache = {}

    def func_violations(self, fn, cls=None, depth=0, seen=None):
        """Reasons a Python function (and what it calls in its module / class) is not state-only."""
        fn = inspect.unwrap(fn) if callable(fn) else fn
        if isinstance(fn, (staticmethod, classmethod)):
            fn = fn.__func__
        if not isinstance(fn, types.FunctionType):
            return []
        key = (fn, cls, depth == 0)  # argument callbacks count at the entry point only
        if key in self.cache:
            return self.cache[key]
        seen = seen or set()
        if fn in seen:
            return []
        seen.add(fn)
        try:
            src = textwrap.dedent(inspect.getsource(fn))
            tree = ast.parse(src)
        except Exception:  # noqa: BLE001 - no source: judged by its module (trusted_c_modules)
            self.cache[key] = []
            return []
        params = set()
        fdef = tree.body[0] if tree.body and isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        if fdef is not None:
            a = fdef.args
            params = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            if a.vararg:
                params.add(a.vararg.arg)
            if a.kwarg:
                params.add(a.kwarg.arg)
            first = (a.posonlyargs + a.args)[0].arg if (a.posonlyargs + a.args) else None
        else:
            first = None
        out = []
        g = fn.__globals__
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [n.name for n in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for n in names:
                    if node.__class__ is ast.ImportFrom and node.level:
                        continue  # relative: the library itself
                    if n.split(".")[0] not in self.import_ok:
                        out.append("imports %s" % n)
            elif isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name):
                    if f.id == "type" and len(node.args) == 3:
                        out.append("builds a class with type(name, bases, ns)")
                    elif f.id in self.fcalls:
                        if f.id in ("getattr", "setattr", "delattr", "hasattr") and self._attr_ok(node, first):
                            continue
                        out.append("calls %s" % f.id)
                    elif f.id in params and f.id != first and depth == 0:
                        # only the entry point's arguments come from the pickle
                        out.append("calls its argument %s" % f.id)
                    elif depth < 2:
                        tgt = g.get(f.id)
                        if isinstance(tgt, types.FunctionType) and tgt.__module__ and \
                                tgt.__module__.split(".")[0] == (fn.__module__ or "").split(".")[0]:
                            out += ["%s: %s" % (f.id, v) for v in self.func_violations(tgt, None, depth + 1, seen)]
                elif isinstance(f, ast.Attribute):
                    if f.attr in self.facalls:
                        out.append("calls .%s" % f.attr)
                    elif isinstance(f.value, ast.Name) and f.value.id == first and cls is not None:
                        meth = inspect.getattr_static(cls, f.attr, None)
                        if meth is None and f.attr.startswith("__") and not f.attr.endswith("__"):
                            for k in cls.__mro__:  # a name-mangled private method
                                meth = k.__dict__.get("_%s%s" % (k.__name__.lstrip("_"), f.attr), meth)
                        if meth is None:
                            # self.x() where x is not a method of the class: an attribute set from state
                            if f.attr not in ("__dict__",):
                                out.append("calls the instance attribute %s" % f.attr)
                        elif depth < 2:
                            out += ["%s: %s" % (f.attr, v) for v in self.func_violations(meth, cls, depth + 1, seen)]
                    elif isinstance(f.value, ast.Name) and f.value.id in params and f.value.id != first and \
                            f.attr in ("__call__",):
                        out.append("calls its argument %s" % f.value.id)
                elif isinstance(f, ast.Subscript):
                    out.append("calls an item of a container")
        out = sorted(set(out))
        self.cache[key] = out
        return out

    @staticmethod
    def _attr_ok(call, first):
        """getattr/setattr/hasattr on the object itself (first parameter), or with a
        constant attribute name that is not a dunder: state access."""
        if len(call.args) < 2:
            return False
        obj, attr = call.args[0], call.args[1]
        if isinstance(attr, ast.Constant) and isinstance(attr.value, str) and not attr.value.startswith("__"):
            return True
        return isinstance(obj, ast.Name) and obj.id == first

    def reduce_callables(self, fn):
        """Names a reduce method returns as its callable: `return (X, args, ...)`."""
        fn = inspect.unwrap(fn)
        if not isinstance(fn, types.FunctionType):
            return []
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        except Exception:  # noqa: BLE001
            return []
        out = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and node.value.elts:
                e = node.value.elts[0]
                obj = None
                if isinstance(e, ast.Name):
                    obj = fn.__globals__.get(e.id, getattr(builtins, e.id, None))
                elif isinstance(e, ast.Attribute):
                    chain = []
                    x = e
                    while isinstance(x, ast.Attribute):
                        chain.append(x.attr)
                        x = x.value
                    if isinstance(x, ast.Name) and x.id in fn.__globals__:
                        obj = fn.__globals__[x.id]
                        for part in reversed(chain):
                            obj = getattr(obj, part, None)
                if obj is not None and callable(obj):
                    out.append(obj)
        return out


# ---------------------------------------------------------------- classification ---
def in_modules(obj, prefixes):
    m = getattr(obj, "__module__", None) or ""
    return any(m == p or m.startswith(p + ".") for p in prefixes)


def mro_method(cls, name):
    """(defining class, raw attribute) of a method, skipping object / builtin bases."""
    for k in cls.__mro__:
        if name in k.__dict__:
            return k, k.__dict__[name]
    return None, None


class Classifier:
    def __init__(self, cfg, scan):
        self.cfg = cfg
        self.scan = scan
        self.pats = [re.compile(p, re.I) for p in cfg["never_name_patterns"]]
        self.trusted = cfg["trusted_c_modules"]
        self.never_bases = []
        for n in cfg["never_bases"]:
            m, _, q = n.rpartition(".")
            try:
                obj = importlib.import_module(m)
                for part in q.split("."):
                    obj = getattr(obj, part)
                if isinstance(obj, type):
                    self.never_bases.append(obj)
            except Exception:  # noqa: BLE001
                pass

    def name_never(self, qualname):
        last = qualname.split(".")[-1]
        for p in self.pats:
            if p.search(last):
                return "name matches /%s/" % p.pattern
        return None

    def classify_function(self, obj, qualname):
        why = self.name_never(qualname)
        if why:
            return "never", why
        if isinstance(obj, types.FunctionType):
            # held as a value, never called by loading: only I/O, imports and evaluation
            # count, not callbacks (they would run when the user calls it)
            v = [x for x in self.scan.func_violations(obj) if not re.search(
                r"calls (its argument|an item|the instance attribute)", x)]
            if v:
                return "never", "; ".join(v[:3])
            return "value", "Python function, never called by loading"
        return "value", "builtin / extension function, never called by loading"

    def classify_reconstructor(self, obj, qualname):
        """A function a reduce returns: loading calls it."""
        why = self.name_never(qualname)
        if why:
            return "never", why
        if isinstance(obj, types.FunctionType):
            v = self.scan.func_violations(obj)
            if v:
                return "never", "reconstructor: " + "; ".join(v[:3])
            return "call", "reconstructor whose body only builds objects"
        if in_modules(obj, self.trusted):
            return "call", "extension reconstructor in a trusted module"
        return "value", "extension reconstructor outside the trusted modules"

    def classify_class(self, cls, qualname):
        """-> (decision, reason, perms) with perms a dict for the pack entry."""
        why = self.name_never(qualname)
        if why:
            return "never", why, None
        for b in self.never_bases:
            try:
                if issubclass(cls, b):
                    return "never", "subclass of %s.%s" % (b.__module__, b.__qualname__), None
            except TypeError:
                pass
        if isinstance(cls, type) and issubclass(cls, type):
            return "value", "a metaclass: import only", None
        if issubclass(cls, BaseException):
            pass  # exceptions are data (args tuple, __dict__)
        reasons = []
        custom_reduce = False
        for m in ("__reduce_ex__", "__reduce__"):
            k, raw = mro_method(cls, m)
            if k is not None and k not in (object,):
                custom_reduce = True
        newargs = any(mro_method(cls, m)[0] not in (None, object) for m in ("__getnewargs__", "__getnewargs_ex__"))
        # __init__ too: the policy cannot tell NEWOBJ (cls.__new__) from REDUCE (cls()),
        # so an allowed call may run __init__ with the pickle's arguments
        methods = ["__new__", "__init__", "__setstate__", "__setattr__"]
        itemish = issubclass(cls, (list, dict, set))
        if itemish:
            methods += ["__setitem__", "append", "extend", "add", "update"]
        c_methods = []
        for m in methods:
            k, raw = mro_method(cls, m)
            if k is None or k is object or k.__module__ == "builtins":
                continue
            f = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
            if isinstance(f, types.FunctionType):
                v = self.scan.func_violations(f, cls)
                if v:
                    reasons.append("%s.%s: %s" % (k.__qualname__, m, "; ".join(v[:3])))
            elif not in_modules(k, self.trusted):
                c_methods.append("%s.%s" % (k.__qualname__, m))
        if reasons:
            return "value", "not state-only: " + " | ".join(reasons[:2]), None
        if c_methods:
            return "value", "extension methods outside the trusted modules: " + ", ".join(c_methods[:3]), None
        # the default reduce is NEWOBJ cls() (or copyreg._reconstructor) then BUILD: no
        # argument; a custom reduce or __getnewargs__ passes arguments to the class
        perms = {"build": True, "call": True if (custom_reduce or newargs) else {"arity": 0}}
        if itemish:
            perms["items"] = True
        return "data", "reconstruction assigns state only", perms


# ---------------------------------------------------------------- worker -----------
def pickled_name(obj):
    m = getattr(obj, "__module__", None)
    q = getattr(obj, "__qualname__", None)
    if not isinstance(m, str) or not isinstance(q, str) or "<" in q:
        return None
    if resolve(m, q) is not obj:
        return None
    return m, q


def by_name_string(v):
    """The string a by-name object reduces to (pickled as a global), else None."""
    if isinstance(v, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)) or v is None or \
            type(v) in (str, bytes, int, float, bool, complex, tuple, list, dict, set, frozenset):
        return None  # (an IntEnum member is an int subclass: kept)
    try:
        red = copyreg.dispatch_table.get(type(v))  # numpy registers ufuncs here
        r = red(v) if red is not None else type(v).__reduce_ex__(v, 4)
    except Exception:  # noqa: BLE001
        return None
    return r if isinstance(r, str) else None


def worker(pack):
    warnings.simplefilter("ignore")
    cfg, exc = load_cfg()
    spec = cfg["packs"][pack]
    skips = cfg["skip_modules"]
    roots = spec["roots"]
    mods = walk_modules(roots, skips, spec.get("stdlib_only_roots", False))
    scan = Scan(cfg)
    cl = Classifier(cfg, scan)
    found = {}  # "mod:qual" -> (kind, obj)

    def add(m, q, kind, obj):
        key = "%s:%s" % (m, q)
        if key not in found or (found[key][0] != "reconstructor" and kind == "reconstructor"):
            found[key] = (kind, obj)

    def in_roots(m):
        return any(m == r or m.startswith(r + ".") for r in roots)

    def visit_class(cls, depth=0):
        pn = pickled_name(cls)
        if pn and in_roots(pn[0]) and not skipped(pn[0], skips):
            add(pn[0], pn[1], "class", cls)
            # enum members: CPython pickles a member of a non-global enum as
            # getattr(<class>, name), which brine judges as the name <class>.<name>
            if isinstance(cls, enum.EnumMeta):
                try:
                    members = list(cls.__members__.items())
                except Exception:  # noqa: BLE001
                    members = []
                for mname, member in members:
                    if isinstance(mname, str) and mname.isidentifier():
                        add(pn[0], "%s.%s" % (pn[1], mname), "member", member)
        if depth > 3:
            return
        for k, v in list(vars(cls).items()):
            if isinstance(v, type) and getattr(v, "__qualname__", "").startswith(cls.__qualname__ + "."):
                visit_class(v, depth + 1)
        for m in ("__reduce__", "__reduce_ex__"):
            raw = cls.__dict__.get(m)
            if isinstance(raw, types.FunctionType):
                for r in scan.reduce_callables(raw):
                    rn = pickled_name(r)
                    if rn and not isinstance(r, type):
                        add(rn[0], rn[1], "reconstructor", r)

    for modname, mod in sorted(mods.items()):
        try:
            items = list(vars(mod).items())
        except Exception:  # noqa: BLE001
            continue
        for k, v in items:
            try:
                if isinstance(v, type):
                    visit_class(v)
                elif isinstance(v, (types.FunctionType, types.BuiltinFunctionType)) or type(v).__name__ in (
                        "cython_function_or_method", "fused_cython_function", "_lru_cache_wrapper"):
                    pn = pickled_name(v)
                    if pn and in_roots(pn[0]) and not skipped(pn[0], skips):
                        add(pn[0], pn[1], "function", v)
                elif isinstance(v, types.ModuleType):
                    continue
                else:
                    s = by_name_string(v)
                    if s is None:
                        continue
                    # pickle looks the string up in the first module holding it
                    if resolve(modname, s) is v and in_roots(modname):
                        add(modname, s, "byname", v)
                    elif "." not in s and getattr(mod, s, None) is v and in_roots(modname):
                        add(modname, s, "byname", v)
            except Exception:  # noqa: BLE001
                continue
    # dotted by-name objects (torch.channels_last reduces to "torch.channels_last"):
    # any walked module holding the top package under its own name reaches them
    dotted = [(k.split(":", 1)[1], v[1]) for k, v in found.items() if v[0] == "byname" and "." in k.split(":", 1)[1]]
    for modname, mod in sorted(mods.items()):
        for s, obj in dotted:
            head = s.split(".")[0]
            if getattr(mod, head, None) is sys.modules.get(head) and resolve(modname, s) is obj:
                add(modname, s, "byname", obj)
    # reducers registered by the libraries in copyreg's dispatch table
    for t, red in list(copyreg.dispatch_table.items()):
        if in_modules(t, roots) or in_modules(red, roots):
            for r in scan.reduce_callables(red):
                rn = pickled_name(r)
                if rn:
                    add(rn[0], rn[1], "reconstructor", r)

    rows = []
    for key, (kind, obj) in sorted(found.items()):
        m, q = key.split(":", 1)
        try:
            if kind == "class":
                dec, why, perms = cl.classify_class(obj, q)
            elif kind == "reconstructor":
                d, why = cl.classify_reconstructor(obj, q)
                dec, perms = ("data", {"call": True}) if d == "call" else (d, None)
            elif kind == "function":
                dec, why = cl.classify_function(obj, q)
                perms = None
            else:
                dec, why, perms = "value", ("pickled by name (%s)" if kind == "byname" else
                                            "a member of the enum %s (getattr(<class>, name))") % type(obj).__name__, None
        except Exception as e:  # noqa: BLE001
            dec, why, perms = "never", "classification failed: %s" % type(e).__name__, None
        rows.append({"name": key, "kind": kind, "decision": dec, "reason": why, "perms": perms})
    versions = {}
    for r in roots[:1]:
        top = sys.modules.get(r.split(".")[0])
        versions[r] = str(getattr(top, "__version__", sys.version.split()[0]))
    json.dump({"rows": rows, "versions": versions, "modules": len(mods)}, sys.stdout)


# ---------------------------------------------------------------- main -------------
def entry_yaml(name, perms):
    parts = ['name: "%s"' % name]
    if perms:
        c = perms.get("call")
        if c is True:
            parts.append("call: true")
        elif isinstance(c, dict):
            parts.append("call: {%s}" % ", ".join("%s: %s" % (k, json.dumps(v)) for k, v in c.items()))
        b = perms.get("build")
        if isinstance(b, dict):
            parts.append("build: %s" % json.dumps(b))
        elif b:
            parts.append("build: true")
        if perms.get("items"):
            parts.append("items: true")
        if perms.get("factory"):
            parts.append("factory: true")
    return "  - {%s}\n" % ", ".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker)
    cfg, exc = load_cfg()
    denies = Denies()
    hand = hand_names(cfg)
    exceptions = {e["name"]: e for e in exc.get("exceptions") or []}
    names_path = os.path.join(HERE, "names.tsv")
    old_rows = {}
    if os.path.exists(names_path):
        for line in open(names_path):
            if line.startswith("#") or not line.strip():
                continue
            f = line.rstrip("\n").split("\t")
            old_rows[f[1]] = line
    table = dict(old_rows)
    changed = []
    packs = a.only or list(cfg["packs"])
    for pack in packs:
        env = dict(os.environ, PYTHONHASHSEED="0", TZ="UTC", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", pack], capture_output=True,
                           text=True, env=env, timeout=3600)
        if r.returncode != 0 or not r.stdout.strip():
            print("%s: worker failed (rc %d): %s" % (pack, r.returncode, r.stderr.strip()[-400:]), file=sys.stderr)
            continue
        res = json.loads(r.stdout[r.stdout.index("{"):])
        for k in [k for k, v in table.items() if v.split("\t")[0] == pack]:
            del table[k]
        entries = []
        counts = {}
        for row in res["rows"]:
            name = row["name"]
            m, q = name.split(":", 1)
            dec, why, perms = row["decision"], row["reason"], row["perms"]
            if name in exceptions:
                e = exceptions[name]
                dec, why = e["decision"], "exception: " + e["reason"]
                perms = {k: v for k, v in e.items() if k in ("call", "build", "items", "factory")} or None
                if dec == "data" and not perms:
                    perms = {"call": True, "build": True}
            if denies.denied(m, q):
                dec, why = "never", "denied by rules/dangerous.yaml"
            elif name in hand:
                dec, why = "hand", "listed by a hand-written pack (its constraints stand)"
            counts[dec] = counts.get(dec, 0) + 1
            table[name] = "%s\t%s\t%s\t%s\t%s\n" % (pack, name, row["kind"], dec, why.replace("\t", " ").replace("\n", " "))
            if dec == "data":
                entries.append(entry_yaml(name, perms))
            elif dec == "value":
                entries.append(entry_yaml(name, None))
        # exceptions that name things the walk does not reach (written by hand, reviewed)
        for name, e in exceptions.items():
            if e.get("pack") == pack and name not in {r["name"] for r in res["rows"]}:
                m, q = name.split(":", 1)
                if denies.denied(m, q):
                    continue
                perms = {k: v for k, v in e.items() if k in ("call", "build", "items", "factory")} or None
                entries.append(entry_yaml(name, perms) if e["decision"] in ("data", "value") else "")
                table[name] = "%s\t%s\t%s\t%s\t%s\n" % (pack, name, "exception", e["decision"], "exception: " + e["reason"])
        spec = cfg["packs"][pack]
        text = ("# GENERATED by tools/packs/gen_packs.py (%s); do not edit. Change tools/packs/rules.yaml or\n"
                "# tools/packs/exceptions.yaml and rerun; tools/packs/names.tsv has every name with its class\n"
                "# and reason. %d modules walked; %s.\n"
                % (", ".join("%s %s" % kv for kv in sorted(res["versions"].items())), res["modules"],
                   ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
        text += "pack: %s\ndescription: \"%s\"\nextends: [%s]\nallow:\n" % (
            pack, spec.get("description", pack), ", ".join(spec.get("extends") or []))
        text += "".join(sorted(set(x for x in entries if x)))
        if not any(entries):
            text = text.replace("allow:\n", "allow: []\n")
        path = os.path.join(RULES, pack + ".yaml")
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            changed.append(path)
            if not a.check:
                open(path, "w").write(text)
        print("%s: %d names (%s)" % (pack, len(res["rows"]), ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    out = "# pack\tname\tkind\tdecision\treason   (GENERATED by gen_packs.py)\n" + "".join(
        sorted(table.values(), key=lambda l: (l.split("\t")[0], l.split("\t")[1])))
    old = open(names_path).read() if os.path.exists(names_path) else None
    if old != out:
        changed.append(names_path)
        if not a.check:
            open(names_path, "w").write(out)
    if changed:
        print(("would change: " if a.check else "changed: ") + " ".join(os.path.relpath(c, ROOT) for c in changed))
    return 1 if (a.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main() or 0)
