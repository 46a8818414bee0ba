"""brine: is this pickle safe to load? Decided without loading it.

A binding of libbrine (a C extension over include/brine.h; the scan runs with
the GIL released, so threads scan in parallel):

    report = brine.scan("model.pt")          # path, bytes, or a binary file object
    report.verdict, report.status, report.safe, report.findings, report.to_json()

    obj = brine.safe_load(f)                 # scan, then pickle.load the same bytes,
                                             # resolving only names the scan saw and allowed
    model = brine.torch_load("model.pt")     # and joblib_load, pandas_read_pickle, numpy_load

    policy = brine.Policy("mine.yaml")       # compiled once, immutable, shareable by threads
    brine.scan(data, policy=policy, max_opcodes=10**6)

Anything but verdict "safe" with status "complete" is not safe.
"""
import _compat_pickle
import collections
import io
import json
import os
import pickle
import sys
import tempfile
import threading

from . import _brine

__all__ = [
    "scan", "Policy", "Report", "Finding", "Stream", "Step", "PolicyError", "ScanError",
    "UnsafePickleError", "safe_load", "safe_loads", "torch_load", "joblib_load", "pandas_read_pickle",
    "numpy_load", "LIMITS", "default_policy", "version",
]

#: libbrine's version (the library this extension was built from)
__version__ = _brine.version()

#: a policy could not be compiled: ``str(e)`` is ``file:line:column: problem``
PolicyError = _brine.PolicyError
#: libbrine could not scan (an API error, not a verdict); I/O errors raise OSError
ScanError = _brine.ScanError

#: the limit names ``scan`` accepts as keyword arguments, with their defaults
LIMITS = _brine.default_limits()


def version():
    """libbrine's version string."""
    return _brine.version()


class UnsafePickleError(pickle.UnpicklingError):
    """The scan did not find the data safe and complete, or the load asked for
    a name the scan did not allow. ``report`` is the scan's Report."""

    def __init__(self, report, message=None):
        self.report = report
        if message is None:
            message = "%s: %s (%s)" % (report.name, report.verdict, report.status)
            worst = [f for f in report.findings if f.verdict == report.verdict] or report.findings
            if worst:
                message += ": " + worst[0].message
            elif report.error:
                message += ": " + report.error
        super().__init__(message)


# ---- policies --------------------------------------------------------------------------------

_BUNDLE_BASE = "pack: python-extends-bundle\nextends: [bundle]\n"


def _text_dir():
    """A private directory for policy texts: libbrine compiles files; a text
    always goes to the same file (named by its sha256), so error messages name
    the same place for the same text."""
    d = os.path.join(tempfile.gettempdir(), "brine-policy-%d" % os.getuid())
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(d)
    import stat
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise OSError("%s is not a private directory of this user" % d)
    return d


def _text_file(text):
    import hashlib
    path = os.path.join(_text_dir(), hashlib.sha256(text).hexdigest()[:32] + ".yaml")
    try:
        with open(path, "rb") as f:
            if f.read() == text:
                return path
    except OSError:
        pass
    tmp = "%s.%d.%d" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "wb") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


class Policy:
    """A compiled, immutable policy, shareable by threads.

    ``Policy()`` is the built-in bundle (what ``brine scan`` uses without
    ``--policy``). Each argument is a policy file (str or PathLike) or YAML
    text (a str containing a newline, or bytes). With ``extends_bundle=True``
    (the default) they are layered over the built-in bundle; with False they
    replace it, as ``brine scan --policy FILE`` does (a file may still say
    ``extends: [bundle]``). The ``dangerous`` pack is always loaded. Errors
    raise PolicyError whose message is ``file:line:column: problem``, with
    ``<text N>`` for the Nth text argument. A text is compiled from a file
    named by its hash in a private temporary directory, so the same text gives
    the same ``identity``; relative ``extends:`` paths inside a text are
    resolved there: use absolute paths in texts. (``identity`` hashes what the
    effective policy admits and denies, not the files it came from: the same
    YAML at two paths gives one identity.)
    """

    __slots__ = ("_p", "_sources")

    def __init__(self, *sources, extends_bundle=True):
        paths, texts = [], []  # texts: (file written, label)
        try:
            if sources and extends_bundle:
                paths.append(_text_file(_BUNDLE_BASE.encode()))
            n = 0
            for src in sources:
                if isinstance(src, (bytes, bytearray, memoryview)) or (isinstance(src, str) and "\n" in src):
                    n += 1
                    path = _text_file(bytes(src) if not isinstance(src, str) else src.encode("utf-8"))
                    paths.append(path)
                    texts.append((path, "<text %d>" % n))
                elif isinstance(src, (str, os.PathLike)):
                    paths.append(os.fspath(src))
                else:
                    raise TypeError("a policy is a path or YAML text, not %s" % type(src).__name__)
        except OSError as e:
            raise PolicyError("cannot write a policy text to a file: %s" % e) from None
        try:
            p = _brine.Policy(paths)
        except PolicyError as e:
            msg = str(e)
            for path, label in texts:
                msg = msg.replace(path, label)
            raise PolicyError(msg) from None
        object.__setattr__(self, "_p", p)
        object.__setattr__(self, "_sources", tuple(
            os.fspath(s) if isinstance(s, os.PathLike) else ("<text>" if not isinstance(s, str) or "\n" in s else s)
            for s in sources))

    def __setattr__(self, name, value):
        raise AttributeError("a brine.Policy is immutable")

    __delattr__ = __setattr__

    @property
    def identity(self):
        """16 hex digits: the hash of the effective merged policy."""
        return self._p.identity

    @property
    def packs(self):
        """The packs it came from, in load order."""
        return tuple(x for x in self._p.packs.split(",") if x)

    def yaml(self):
        """The effective merged policy, as ``brine policy show`` prints it."""
        return self._p.yaml()

    def __repr__(self):
        return "brine.Policy(%s identity=%s)" % (", ".join(map(repr, self._sources)) or "<bundle>", self.identity)

    def __reduce__(self):
        raise TypeError("a compiled brine.Policy cannot be pickled; send its files instead")


_default = None
_default_lock = threading.Lock()


def default_policy():
    """The built-in bundle, compiled once per process."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Policy()
    return _default


def _policy(policy):
    if policy is None:
        return default_policy()
    if isinstance(policy, Policy):
        return policy
    raise TypeError("policy must be a brine.Policy or None, not %s" % type(policy).__name__)


# ---- reports ---------------------------------------------------------------------------------

#: one step of a location: the file, a member, a decompressed stream, a nested pickle, a region
Step = collections.namedtuple("Step", "kind format name offset")


class Finding:
    """One finding, with the fields of the JSON report."""

    __slots__ = ("location", "where", "offset", "opindex", "opcode", "kind", "verdict", "severity", "name", "call",
                 "rule", "rule_id", "rule_pack", "rule_file", "rule_line", "message")

    def __init__(self, d):
        for k in self.__slots__:
            v = d[k]
            if k == "where":
                v = tuple(Step(*s) for s in v)
            elif k in ("rule_pack", "rule_file") and v == "":
                v = None
            elif k == "rule_line" and v == 0:
                v = None
            setattr(self, k, v)

    def as_dict(self):
        d = {k: getattr(self, k) for k in self.__slots__}
        d["where"] = [s._asdict() for s in self.where]
        return d

    def __repr__(self):
        return "<brine.Finding %s %s %s@0x%x %s %s: %s>" % (self.verdict, self.severity, self.location, self.offset,
                                                           self.opcode, self.kind, self.message)


class Stream:
    """The result for one container or pickle stream of the file."""

    __slots__ = ("location", "where", "format", "verdict", "status", "error", "error_offset", "pickles",
                 "findings")

    def __init__(self, d):
        for k in self.__slots__:
            v = d[k]
            if k == "where":
                v = tuple(Step(*s) for s in v)
            setattr(self, k, v)

    @property
    def safe(self):
        return self.verdict == "safe" and self.status == "complete"

    def __repr__(self):
        return "<brine.Stream %s [%s]: %s (%s)>" % (self.location, self.format, self.verdict, self.status)


class Report:
    """What brine found in one file.

    ``verdict`` is "safe", "suspicious" or "dangerous"; ``status`` is
    "complete", "malformed" or "inconclusive"; ``safe`` is True only for safe
    and complete. ``findings`` and ``streams`` are lists of Finding and Stream;
    ``globals`` lists (location, "module:qualname", use) for every global the
    load would use; ``to_json()`` is the per-file object of ``brine scan
    --format json`` (a line of ``--format jsonl``).
    """

    __slots__ = ("name", "verdict", "status", "error", "error_offset", "pickles", "streams_scanned", "findings",
                 "streams", "_globals", "_names", "policy_identity", "_json", "_later")

    def __init__(self, raw, policy, later=None, names_only=False):
        """raw: what Scanner.scan returns; with names_only, its globals are
        the names alone, and later() makes the whole of it (globals per use,
        the JSON) when first asked for."""
        file, findings, streams, globals_, json_text = raw
        self.name = file["location"]
        self.verdict = file["verdict"]
        self.status = file["status"]
        self.error = file["error"]
        self.error_offset = file["error_offset"] if file["error"] is not None else None
        self.pickles = file["pickles"]
        self.streams_scanned = file["streams"]
        self.findings = [Finding(d) for d in findings]
        self.streams = [Stream(d) for d in streams]
        self._globals, self._names = (None, frozenset(globals_)) if names_only else (globals_, None)
        self.policy_identity = policy.identity
        self._json = json_text
        self._later = later  # makes the JSON and the globals when first asked for (see _scan_or_raise)

    def _complete(self):
        raw, self._later = self._later(), None
        if self._json is None:
            self._json = raw[4]
        if self._globals is None:
            self._globals = raw[3]

    @property
    def globals(self):
        if self._globals is None and self._later is not None:
            self._complete()
        return self._globals

    @property
    def safe(self):
        return self.verdict == "safe" and self.status == "complete"

    def __bool__(self):
        return self.safe

    def allowed_names(self):
        """The set of "module:qualname" the load would use (meaningful when safe)."""
        if self._names is not None:
            return set(self._names)
        return {g[1] for g in self.globals}

    def to_json(self):
        """The per-file JSON object of ``brine scan --format json``, as a str (one line)."""
        if self._json is None and self._later is not None:
            self._complete()
        if self._json is None:
            raise RuntimeError("this brine extension was built without the report library")
        return self._json

    def to_dict(self):
        return json.loads(self.to_json())

    def __repr__(self):
        return "<brine.Report %s: %s (%s), %d finding(s)>" % (self.name, self.verdict, self.status,
                                                             len(self.findings))


# ---- scanning --------------------------------------------------------------------------------

def _check_limits(limits):
    for k in limits:
        if k not in LIMITS:
            raise TypeError("scan() got an unexpected keyword argument %r (limits: %s)" % (k, ", ".join(LIMITS)))


def _read_all(f):
    data = f.read()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("a file object must be opened in binary mode (read() gave %s)" % type(data).__name__)
    return bytes(data)


def _file_name(f, default="<stream>"):
    n = getattr(f, "name", None)
    if isinstance(n, (str, os.PathLike)):
        return os.fspath(n)
    return default


def scan(source, policy=None, *, name=None, **limits):
    """Scan a path (str or PathLike), bytes-like data, or a binary file object.

    ``name`` names the data in locations (default: the path, the file object's
    name, or "<bytes>"). Keyword arguments are libbrine's limits (``LIMITS``);
    unknown ones raise TypeError. Returns a Report; raises OSError when a path
    cannot be read and PolicyError never (policies are compiled beforehand).
    """
    _check_limits(limits)
    pol = _policy(policy)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if name is not None and name != path:
            with open(path, "rb") as f:
                return _scan_bytes(pol, f.read(), name, limits)
        return Report(_scanner(pol, limits).scan("path", path, path), pol)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _scan_bytes(pol, source, "<bytes>" if name is None else name, limits)
    if hasattr(source, "read"):
        return _scan_bytes(pol, _read_all(source), _file_name(source) if name is None else name, limits)
    raise TypeError("scan() needs a path, bytes-like data or a binary file object, not %s" % type(source).__name__)


def _scan_bytes(pol, data, name, limits):
    return Report(_scanner(pol, limits).scan("buffer", data, name), pol)


_local = threading.local()


def _scanner(pol, limits):
    """This thread's libbrine scanner for (policy, limits): made once, reused
    (making one costs more than scanning a small file)."""
    cache = getattr(_local, "scanners", None)
    if cache is None:
        cache = _local.scanners = {}
    key = (id(pol._p), tuple(sorted(limits.items())))
    sc = cache.get(key)
    if sc is None or sc.policy is not pol._p:
        if len(cache) >= 8:
            cache.clear()
        sc = cache[key] = _brine.Scanner(pol._p, limits)
    return sc


def _data_of(file, name):
    """(bytes, name) of a path, bytes-like data or a binary file object: read once."""
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        with open(path, "rb") as f:
            return f.read(), path if name is None else name
    if isinstance(file, (bytes, bytearray, memoryview)):
        return bytes(file), "<bytes>" if name is None else name
    if hasattr(file, "read"):
        return _read_all(file), _file_name(file) if name is None else name
    raise TypeError("need a path, bytes-like data or a binary file object, not %s" % type(file).__name__)


def _scan_or_raise(data, name, policy, limits):
    """The loaders' scan of the bytes they are about to load (immutable: the
    caller made them bytes). Without the JSON report and its sha256, which a
    load that goes ahead never reads (a third of a RandomForest's scan), and
    with the names of the globals rather than a record of every use (a fifth
    of what was left): the report's to_json() and globals scan the same bytes
    again, with both, when asked."""
    pol, limits = _policy(policy), limits or {}

    def later():
        return _scanner(pol, limits).scan("buffer", data, name)
    rep = Report(_scanner(pol, limits).scan("buffer", data, name, 2, False), pol, later, names_only=True)
    if not rep.safe:
        raise UnsafePickleError(rep)
    return rep


# ---- loading ---------------------------------------------------------------------------------

def _resolve(module, qualname):
    """The object "module:qualname" names, walked as pickle walks a dotted name."""
    __import__(module)
    obj = sys.modules[module]
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class _RestrictedUnpickler(pickle.Unpickler):
    """pickle's C Unpickler, resolving only the names in ``allowed``.

    brine reports names after CPython's resolution (the Python 2 mapping below
    protocol 3). The C Unpickler applies that mapping inside find_class and does
    not tell its subclasses the protocol, so when a name has a mapped form,
    whichever form the base find_class resolves must be one that is allowed: the
    object it returns is checked against the allowed form(s).
    """

    def __init__(self, file, allowed, report, fix_imports=True, **kw):
        persistent_load = kw.pop("persistent_load", None)
        super().__init__(file, fix_imports=fix_imports, **kw)
        self._allowed = allowed
        self._report = report
        self._fix_imports = fix_imports
        if persistent_load is not None:
            self.persistent_load = persistent_load

    def _refuse(self, module, name):
        raise UnsafePickleError(self._report, "%s: the load asked for %s:%s, which the scan did not see and allow"
                                % (self._report.name, module, name))

    def find_class(self, module, name):
        raw = "%s:%s" % (module, name)
        mapped = None
        if self._fix_imports:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                mapped = "%s:%s" % _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                mapped = "%s:%s" % (_compat_pickle.IMPORT_MAPPING[module], name)
        if mapped is None or mapped == raw:
            if raw not in self._allowed:
                self._refuse(module, name)
            return super().find_class(module, name)
        ok = [c for c in (raw, mapped) if c in self._allowed]
        if not ok:
            self._refuse(module, name)
        obj = super().find_class(module, name)
        if len(ok) == 2:
            return obj
        try:
            ref = _resolve(*ok[0].split(":", 1))
        except Exception:
            self._refuse(module, name)
        if obj is not ref and not (type(obj) is type(ref) and obj == ref):
            self._refuse(module, name)
        return obj


def safe_loads(data, policy=None, *, name=None, limits=None, **pickle_kwargs):
    """``pickle.loads`` after a scan: raise UnsafePickleError (a
    pickle.UnpicklingError carrying the report) unless the data is safe and
    complete, then load the very bytes scanned with an Unpickler that resolves
    only the names the scan saw and allowed. ``pickle_kwargs`` go to
    pickle.Unpickler (fix_imports, encoding, errors, buffers, persistent_load);
    ``limits`` is a dict of libbrine limits."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("safe_loads() needs bytes-like data, not %s" % type(data).__name__)
    data = bytes(data)
    rep = _scan_or_raise(data, "<bytes>" if name is None else name, policy, limits)
    return _RestrictedUnpickler(io.BytesIO(data), rep.allowed_names(), rep, **pickle_kwargs).load()


def safe_load(file, policy=None, *, name=None, limits=None, **pickle_kwargs):
    """``pickle.load`` after a scan (see safe_loads). ``file`` is a binary file
    object (read to its end, once) or a path."""
    data, nm = _data_of(file, name)
    rep = _scan_or_raise(data, nm, policy, limits)
    return _RestrictedUnpickler(io.BytesIO(data), rep.allowed_names(), rep, **pickle_kwargs).load()


def torch_load(f, *, policy=None, limits=None, **kwargs):
    """Scan a torch checkpoint (path or binary file object), then ``torch.load``
    the same bytes. Raises UnsafePickleError unless safe and complete."""
    data, nm = _data_of(f, None)
    _scan_or_raise(data, nm, policy, limits)
    import torch
    return torch.load(io.BytesIO(data), **kwargs)


def joblib_load(f, *, policy=None, limits=None, **kwargs):
    """Scan a joblib file, then ``joblib.load`` the same bytes."""
    data, nm = _data_of(f, None)
    _scan_or_raise(data, nm, policy, limits)
    import joblib
    return joblib.load(io.BytesIO(data), **kwargs)


def pandas_read_pickle(f, *, policy=None, limits=None, **kwargs):
    """Scan, then ``pandas.read_pickle`` the same bytes. The compression is
    inferred from the path's name as pandas would (``compression=`` overrides)."""
    data, nm = _data_of(f, None)
    _scan_or_raise(data, nm, policy, limits)
    import pandas
    if "compression" not in kwargs and isinstance(f, (str, os.PathLike)):
        from pandas.io.common import infer_compression
        kwargs["compression"] = infer_compression(os.fspath(f), "infer")
    return pandas.read_pickle(io.BytesIO(data), **kwargs)


def numpy_load(f, *, policy=None, limits=None, **kwargs):
    """Scan an .npy/.npz file, then ``numpy.load(..., allow_pickle=True)`` on
    the same bytes (an NpzFile reads its members from them lazily)."""
    data, nm = _data_of(f, None)
    _scan_or_raise(data, nm, policy, limits)
    import numpy
    kwargs.setdefault("allow_pickle", True)
    return numpy.load(io.BytesIO(data), **kwargs)
