#!/usr/bin/env python3
"""Check that the rule packs admit everything the benign corpus does, before
(and besides) the C engine: every import, call (with its arguments), BUILD
(with its state), items, and persistent id of every pickle in the corpus, as
walk_globals.py sees them, judged against the merged packs the way
doc/policy.md says brine judges them. Also checks that GLOBALS.txt is the
current summary of the corpus, and lists allow entries no corpus file uses.

    check_packs.py [--pack NAME_OR_FILE]... [--unused] [PATH ...]

Default pack: bundle (rules/bundle.yaml: default, numpy, torch, sklearn, pandas,
xgboost, joblib); the dangerous pack is always loaded. Default PATHs: the
corpus folders beside this script. Needs PyYAML (Debian: python3-yaml).
Exit status 0 if everything is admitted and GLOBALS.txt is current, 1 if not.
"""
import io
import os
import sys

import walk_globals as W

try:
    import yaml
except ImportError:
    sys.exit("check_packs.py needs PyYAML: apt-get install python3-yaml")

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.normpath(os.path.join(HERE, "..", "..", "rules"))
BUILTIN = ("default", "numpy", "torch", "sklearn", "pandas", "xgboost", "joblib", "bundle", "dangerous")
TYPES = {"none", "bool", "int", "float", "str", "bytes", "bytearray", "tuple", "list", "dict", "set", "frozenset",
         "global", "object"}
CALL, BUILD, ITEMS, IMPORT = "call", "build", "items", "import"


class PolicyError(Exception):
    pass


# ---- loading and merging (doc/policy.md) ------------------------------------------------
class Entry:
    def __init__(self, name, where):
        self.name, self.where = name, where
        self.perms = {IMPORT}
        self.calls = []          # constrained call rules (alternatives); None = unconstrained
        self.builds = []         # constrained build rules; None = unconstrained
        self.factory = False


class Policy:
    def __init__(self):
        self.allow = {}          # "module:qualname" -> Entry
        self.deny = []           # (module, name or None, submodules, reason, where)
        self.persids = []        # (name, match, resolves_to)
        self.dunders = set()
        self.loaded = set()

    # names
    def find(self, name):
        if name in self.allow:
            return self.allow[name]
        mod, _, qual = name.partition(":")
        if "." not in qual and mod + ":*" in self.allow:
            return self.allow[mod + ":*"]
        return None

    def denied(self, name):
        mod, _, qual = name.partition(":")

        def match(m, q):
            for dm, dn, sub, reason, where in self.deny:
                if dn is None:
                    if m == dm or (sub and m.startswith(dm + ".")):
                        return reason, where
                elif m == dm and (("." not in q) if dn == "*" else (q == dn or q.startswith(dn + "."))):
                    return reason, where
            return None

        r = match(mod, qual)
        if r:
            return r
        parts = qual.split(".")
        for i in range(len(parts)):          # a dotted path can reach another module
            for j in range(i + 1, len(parts)):
                r = match(".".join(parts[i:j]), ".".join(parts[j:]))
                if r:
                    return r
        return None

    def dunder(self, name):
        mod, _, qual = name.partition(":")
        for comp in mod.split(".") + qual.split("."):
            if comp in self.dunders:
                return comp
        return None

    def global_allows(self, v, perm):
        if not isinstance(v, W.Global) or v.name.startswith("<dynamic"):
            return False
        if self.denied(v.name) or self.dunder(v.name):
            return False
        e = self.find(v.name)
        return e is not None and perm in e.perms


def check_keys(d, allowed, what, path):
    if not isinstance(d, dict):
        raise PolicyError("%s: expected a mapping for %s" % (path, what))
    for k in d:
        if k not in allowed:
            raise PolicyError("%s: unknown key %r in %s" % (path, k, what))


def check_constraint(c, path):
    if not isinstance(c, dict) or len(c) != 1:
        raise PolicyError("%s: a constraint is a mapping with exactly one key: %r" % (path, c))
    (k, v), = c.items()
    if k == "any" or k == "const":
        if v is not True:
            raise PolicyError("%s: {%s: true} expected" % (path, k))
    elif k == "type":
        for t in (v if isinstance(v, list) else [v]):
            if t not in TYPES:
                raise PolicyError("%s: unknown type %r" % (path, t))
    elif k == "values":
        if not isinstance(v, list):
            raise PolicyError("%s: values is a list" % path)
    elif k == "global":
        if v not in (IMPORT, CALL, BUILD, ITEMS):
            raise PolicyError("%s: global: import|call|build|items" % path)
    elif k in ("tuple", "one_of"):
        for x in v:
            check_constraint(x, path)
    else:
        raise PolicyError("%s: unknown constraint %r" % (path, k))


def load(policy, ref, base_dir=RULES):
    path = os.path.join(RULES, ref + ".yaml") if ref in BUILTIN else os.path.join(base_dir, ref)
    path = os.path.normpath(path)
    if path in policy.loaded:
        return
    policy.loaded.add(path)
    with open(path) as f:
        doc = yaml.safe_load(f)
    check_keys(doc, ("pack", "description", "extends", "allow", "persistent_ids", "deny", "dunder_components"),
               "a pack", path)
    if "pack" not in doc:
        raise PolicyError("%s: no pack name" % path)
    pack = doc["pack"]
    for ext in doc.get("extends") or []:
        load(policy, ext, os.path.dirname(path))
    for i, a in enumerate(doc.get("allow") or []):
        where = "%s %s allow[%d]" % (pack, os.path.basename(path), i)
        check_keys(a, ("name", "call", "build", "items", "factory"), "an allow entry", where)
        name = a["name"]
        if ":" not in name:
            raise PolicyError("%s: name %r is not module:qualname" % (where, name))
        e = policy.allow.setdefault(name, Entry(name, where))
        if "call" in a:
            c = a["call"]
            if c is True:
                e.calls = None
            elif isinstance(c, dict):
                check_keys(c, ("arity", "args", "kwargs"), "a call rule", where)
                for x in c.get("args") or []:
                    check_constraint(x, where)
                if e.calls is not None:
                    e.calls.append(c)
            else:
                raise PolicyError("%s: call is true or a mapping" % where)
            e.perms.add(CALL)
        if "build" in a:
            b = a["build"]
            if b is True:
                e.builds = None
            else:
                check_constraint(b, where)
                if e.builds is not None:
                    e.builds.append(b)
            e.perms.add(BUILD)
        if a.get("items"):
            e.perms.add(ITEMS)
        if a.get("factory"):
            e.factory = True
    for p in doc.get("persistent_ids") or []:
        check_keys(p, ("name", "match", "resolves_to"), "a persistent_ids entry", path)
        check_constraint(p["match"], path)
        policy.persids.append((p["name"], p["match"], p.get("resolves_to")))
    for d in doc.get("deny") or []:
        check_keys(d, ("module", "name", "submodules", "severity", "reason"), "a deny entry", path)
        if "name" in d:
            m, _, n = d["name"].partition(":")
            policy.deny.append((m, n, False, d.get("reason", ""), pack))
        else:
            policy.deny.append((d["module"], None, bool(d.get("submodules")), d.get("reason", ""), pack))
    policy.dunders.update(doc.get("dunder_components") or [])


def load_policy(refs):
    p = Policy()
    load(p, "dangerous")
    for r in refs:
        load(p, r if r in BUILTIN else os.path.relpath(os.path.abspath(r), RULES))
    return p


# ---- matching ---------------------------------------------------------------------------------
def scalar_eq(s, v):
    if s is None:
        return v is None
    if isinstance(s, bool):
        return isinstance(v, bool) and v == s
    if isinstance(s, int):
        return isinstance(v, int) and not isinstance(v, bool) and v == s
    if isinstance(s, float):
        return isinstance(v, float) and v == s
    return isinstance(v, str) and v == str(s)


def match(p, c, v, depth=0):
    if depth > 64:
        return False
    (k, arg), = c.items()
    if k == "any":
        return True
    if k == "const":
        return W.is_const(v)
    if k == "type":
        types = arg if isinstance(arg, list) else [arg]
        t = W.type_name(v)
        if isinstance(v, W.Global) and v.name.startswith("<dynamic"):
            t = "object"
        return t in types
    if k == "values":
        return any(scalar_eq(s, v) for s in arg)
    if k == "global":
        return p.global_allows(v, arg)
    if k == "tuple":
        return isinstance(v, tuple) and len(v) == len(arg) and all(match(p, x, y, depth + 1) for x, y in zip(arg, v))
    if k == "one_of":
        return any(match(p, x, v, depth + 1) for x in arg)
    return False


def resolve_persid(p, v):
    if isinstance(v, W.PersId):
        for _, m, r in p.persids:
            if r is not None and match(p, m, v.pid):
                return v.pid[r]
    return v


def call_ok(p, e, args, kwargs):
    if e.calls is None:
        return None
    kw = isinstance(kwargs, W.SDict) and kwargs.pairs
    why = "the arguments are not a tuple"
    for r in e.calls:
        if kw and not r.get("kwargs"):
            why = "keyword arguments are not allowed"
            continue
        if not isinstance(args, tuple):
            continue
        n = len(args)
        ar = r.get("arity")
        if ar is not None:
            lo, hi = (ar, ar) if isinstance(ar, int) else (ar[0], ar[1])
            if not lo <= n <= hi:
                why = "%d arguments where the policy allows %s" % (n, ar)
                continue
        bad = None
        for i, c in enumerate(r.get("args") or []):
            if i < n and not match(p, c, args[i]):
                bad = "argument %d (%s) does not satisfy %s" % (i + 1, W.shape(args[i]), c)
                break
        if bad is None:
            return None
        why = bad
    return why


def judge(p, ev):
    """None if the policy admits the event, else (name, use, why)."""
    if ev.use == "dynamic_import":
        return ev.name, "import", "a dynamic import"
    if ev.use == "ext":
        return ev.name, "ext", "an extension code"
    if ev.use == "import":
        r = p.denied(ev.name) or p.dunder(ev.name)
        if r:
            return ev.name, "import", "denied: %s" % (r,)
        if not p.find(ev.name):
            return ev.name, "import", "not on the allowlist"
        return None
    if ev.use == "persid":
        if any(match(p, m, ev.target) for _, m, _ in p.persids):
            return None
        return "persistent id", "persid", "fits no persistent_ids shape: %s" % W.shape(ev.target)
    if ev.use == "call":
        c = resolve_persid(p, ev.target)
        if not isinstance(c, W.Global):
            return ev.name, "call", "call of a non-global"
        if p.denied(c.name) or p.dunder(c.name):
            return c.name, "call", "denied"
        e = p.find(c.name)
        if e is None:
            return c.name, "call", "not on the allowlist"
        if CALL not in e.perms:
            return c.name, "call", "allowed without call"
        why = call_ok(p, e, ev.args, ev.kwargs)
        return None if why is None else (c.name, "call", why)
    # build / items
    perm = BUILD if ev.use == "build" else ITEMS
    t = ev.target
    if isinstance(t, W.Global):
        return t.name, ev.use, "%s on a global itself" % ev.use
    if not isinstance(t, W.Call):
        return "<%s>" % W.type_name(t), ev.use, "%s on an object of unknown type" % ev.use
    maker = resolve_persid(p, t.callee)
    if not isinstance(maker, W.Global):
        return "<computed>", ev.use, "%s on the result of a computed call" % ev.use
    e = p.find(maker.name)
    if e is not None and e.factory and isinstance(t.args, tuple) and t.args and isinstance(t.args[0], W.Global):
        maker = t.args[0]
        e = p.find(maker.name)
    if e is None or perm not in e.perms or not p.global_allows(maker, IMPORT):
        return maker.name, ev.use, "%s not allowed on objects it makes" % ev.use
    if perm == BUILD and e.builds:
        if not any(match(p, b, ev.args) for b in e.builds):
            return maker.name, "build", "BUILD state %s does not satisfy %s" % (W.shape(ev.args), e.builds)
    return None


# ---- main ---------------------------------------------------------------------------------------
def main(argv):
    packs, paths, unused = [], [], False
    it = iter(argv)
    for a in it:
        if a == "--pack":
            packs.append(next(it))
        elif a == "--unused":
            unused = True
        else:
            paths.append(a)
    rel = not paths
    if rel:
        paths = [os.path.join(HERE, d) for d in W.DEFAULT_DIRS]
    try:
        policy = load_policy(packs or ["bundle"])
    except (PolicyError, KeyError, OSError) as e:
        print("policy error: %s" % e)
        return 1
    files = W.corpus_files(paths)
    failures = {}     # (name, use, why) -> [count, example]
    used = set()
    summary = W.Summary()
    nev = 0
    for path in files:
        label = os.path.relpath(path, HERE) if rel else path

        def sink(ev, label=label):
            nonlocal nev
            nev += 1
            summary.add(ev, label)
            r = judge(policy, ev)
            if ev.use == "import":
                used.add(ev.name)
            if r is None:
                return
            f = failures.setdefault(r, [0, "%s@%#x" % (ev.where, ev.offset)])
            f[0] += 1
        summary.notes.extend(W.walk_path(path, sink, label))
    print("%d files, %d events, %d allow entries, %d persistent-id shapes" % (
        len(files), nev, len(policy.allow), len(policy.persids)))
    for (name, use, why), (n, example) in sorted(failures.items()):
        print("NOT ADMITTED  %-6s %s: %s  [%d x, e.g. %s]" % (use, name, why, n, example))
    stale = False
    missing = sorted(set(t for _, t in summary.notes if t.startswith("skipped:")))
    if rel and missing:
        print("GLOBALS.txt not compared: this python cannot open every file (%s)" % "; ".join(missing))
    elif rel:
        buf = io.StringIO()
        summary.write(buf, len(files))
        gpath = os.path.join(HERE, "GLOBALS.txt")
        current = open(gpath).read() if os.path.exists(gpath) else ""
        if buf.getvalue() != current:
            stale = True
            print("GLOBALS.txt is not current: run walk_globals.py --out GLOBALS.txt")
    if unused:
        for name in sorted(set(policy.allow) - used):
            print("unused  %s  (%s)" % (name, policy.allow[name].where))
    ok = not failures and not stale
    print("check_packs: %s (%d kinds of event not admitted)" % ("ok" if ok else "FAILED", len(failures)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
