#!/usr/bin/env python3
"""Write corpus/sweep/expected-exceptions.tsv: every sweep file that is not
`safe (complete)` with the class of the cause and a one-line reason.

    python3 corpus/sweep/classify_exceptions.py BRINE

Classes (the first that applies):
  load_from_bytes   torch tensors pickled by pickle / joblib / np.save reduce to
                    torch.storage._load_from_bytes(<a torch.save blob>): a nested
                    torch.load, denied; needs the engine to scan the blob as the
                    torch container it is (C change, analyzer/container)
  legacy_torch      torch.save legacy format at protocol > 2 (C change, analyzer/container)
  getattr           CPython pickles enum members (and nested qualnames below protocol 4,
                    builtin methods such as torch.tanh) as getattr(<class>, name):
                    needs getattr reconstruction in the judge (C change, analyzer/scan)
  limits            a limit was hit (inconclusive)
  scipy_exec        holds a scipy.stats distribution object: rv_generic.__setstate__
                    exec()s a string of the pickled state; never safe (tools/packs/README.md)
  qat_partial       torch QAT modules keep their qconfig's activation/weight factories as
                    functools.partial(FusedMovingAvgObsFakeQuantize, observer=<class>, **kw);
                    the application calls them (prepare_qat), and FakeQuantize.__init__
                    calls observer(**kw): the partial is judged as that call, and the
                    policy has no constraint on keyword arguments to require observer to
                    be an allowed observer class
  sympy             sympy expressions (Symbol, Float, Pow, sin, ...): their constructors
                    sympify the arguments, and sympify of a str parses it with parse_expr,
                    which evals: never callable with pickled arguments
  denied_module     an enum member or constant of a module rules/dangerous.yaml denies
                    whole (ssl, http, tkinter, py_compile, inspect): data, but lifting a
                    deny needs a reviewed `except:` with a CPython check
  callable_arg      a constructor that calls a callable it is given (scipy gaussian_kde's
                    bw_method): never callable with pickled arguments
  not_reviewed      a constructor the source scan could not clear and nobody reviewed
                    (gensim Word2Vec: builds a vocabulary and trains when given sentences;
                    astropy Time: its own __new__; astropy Table: its own __setstate__)
  shared_object     BUILD on an object that is not new: astropy's _recreate_irreducible_unit
                    returns the unit of the process-wide registry, so BUILD would set
                    attributes of that shared unit
  operator_getitem  _operator.getitem(a, b) runs a's __getitem__ / __class_getitem__ (typing
                    builds List[int] so); for any other allowed object it is its class's
                    code: the _operator deny stands
  trailing          joblib object arrays: read as a plain pickle (what pickle.load sees), the
                    array's own pickle ends the load and joblib's final STOP is one byte left
                    over; brine reports bytes it did not analyse
  other             anything else: the first finding is the reason
Standard library only.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test"))
import sweep_test  # noqa: E402


def findings(brine, f):
    out = subprocess.run([brine, "scan", f], capture_output=True, text=True, cwd=ROOT, timeout=300).stdout
    msgs = []
    for line in out.splitlines():
        m = re.match(r"\s+(suspicious|dangerous)\s+\w+\s+\S+ \S+ \S+ (.*)", line)
        if m:
            msgs.append(m.group(2))
    status = ""
    for line in out.splitlines():
        if line.startswith(f + ":"):
            status = line.split(": ", 1)[1]
    return msgs, status


def classify(f, msgs, status):
    text = "\n".join(msgs)
    if "torch.storage:_load_from_bytes" in text:
        return "load_from_bytes", "a torch tensor pickled outside torch.save: torch.storage._load_from_bytes"
    if re.search(r"_legacy(_p\d)?\.pt$", f) and msgs:
        return "legacy_torch", msgs[0]
    if "inconclusive" in status:
        return "limits", status
    if re.search(r"scipy\.stats\.[\w.]+:\w+_gen|rv_(continuous|discrete|histogram)|"
                 r"scipy\.stats\._distn_infrastructure", text) and ("_gen" in text or "rv_" in text):
        return "scipy_exec", "a scipy.stats distribution object: its __setstate__ execs a string of the state"
    if "builtins:getattr" in text:
        return "getattr", "getattr reconstruction: " + next(m for m in msgs if "getattr" in m)[:160]
    if "torch.ao.quantization.fake_quantize:" in text and "keyword arguments are not allowed" in text:
        return "qat_partial", ("functools.partial(FakeQuantize, observer=<class>, **kw): the application calls it, "
                               "and it calls observer(**kw); keyword arguments cannot be constrained")
    if re.search(r"^sympy\.|call of sympy\.|sympy\.\S+ may be imported but not called", text, re.M):
        return "sympy", "a sympy constructor: it sympifies its arguments (a str is parsed by parse_expr, which evals)"
    if "scipy.stats._kde:gaussian_kde" in text:
        return "callable_arg", "gaussian_kde(dataset, bw_method): a callable bw_method is called by the constructor"
    m = re.search(r"((statsmodels|gensim|astropy)\.[\w.]+:\w+) may be imported but not called", text)
    if m:
        return "not_reviewed", "%s: a constructor the source scan could not clear, not reviewed" % m.group(1)
    if "made by astropy.units.core:_recreate_irreducible_unit" in text:
        return "shared_object", ("BUILD on astropy's _recreate_irreducible_unit(...): the unit of the process-wide "
                                 "registry, whose attributes BUILD would set")
    if "import of _operator:getitem" in text:
        return "operator_getitem", "_operator.getitem(a, b) runs a's __getitem__ / __class_getitem__"
    if re.search(r"bytes after the last STOP", text) and f.endswith(".joblib"):
        return "trailing", "read as a plain pickle, the object array's pickle ends the load: joblib's STOP is left over"
    if "import of ssl:Purpose" in text:
        return "denied_module", "ssl:Purpose: its members are ASN.1 object tuples, not excepted from the ssl deny"
    m = re.search(r"import of ((ssl|http|tkinter|py_compile|inspect):\S+): ", text)
    if m:
        return "denied_module", "%s: an enum member of a module the deny list covers whole" % m.group(1)
    if not msgs:
        return "other", status
    return "other", msgs[0][:200]


def main():
    brine = os.path.abspath(sys.argv[1])
    fs = sweep_test.files()
    res = sweep_test.scan(brine, fs)
    rows = []
    for f in fs:
        if res.get(f) == ("safe", "complete"):
            continue
        msgs, status = findings(brine, f)
        cls, why = classify(f, msgs, status)
        rows.append("%s\t%s\t%s\t%s" % (f[len("corpus/sweep/"):], cls, "%s (%s)" % res.get(f, ("?", "?")),
                                        why.replace("\t", " ")))
    with open(os.path.join(ROOT, "corpus", "sweep", "expected-exceptions.tsv"), "w", encoding="utf-8") as out:
        out.write("# Sweep files not safe (complete), written by classify_exceptions.py; test/sweep_test.py checks\n"
                  "# that every other file is safe and that each of these is still flagged.\n"
                  "# file\tclass\tverdict\treason\n")
        out.write("".join(r + "\n" for r in rows))
    counts = {}
    for r in rows:
        counts[r.split("\t")[1]] = counts.get(r.split("\t")[1], 0) + 1
    print(" ".join("%s %d" % kv for kv in sorted(counts.items())), "total %d of %d" % (len(rows), len(fs)))


if __name__ == "__main__":
    main()
