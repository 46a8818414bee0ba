#!/usr/bin/python3
"""Prove that the real loader named in expected.tsv reaches each file's payload,
without running it.

Every unpickler the loaders use is replaced by one whose find_class records the
payload names (os.system, builtins.print) and returns a harmless stub that
records its call; other names resolve normally, but only from the modules the
real formats need (torch, numpy, joblib, collections, ...), anything else is
refused. "Reached" means the stub was called: the loader got as far as running
the payload. Run with Debian's /usr/bin/python3. Exit 1 if any file's loader
does not reach its payload.
"""
import bz2
import gzip
import io
import lzma
import os
import pickle
import signal
import sys
import tarfile
import types
import warnings
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PAYLOAD = {("os", "system"), ("posix", "system"), ("nt", "system"), ("builtins", "print"), ("__builtin__", "print")}
ALLOWED = ("torch", "numpy", "joblib", "collections", "copyreg", "copy_reg", "_codecs", "__builtin__", "builtins")
calls = []


def resolve(real, self, module, name):
    if (module, name) in PAYLOAD:
        def stub(*args, **kw):
            calls.append("%s.%s%r" % (module, name, args))
        return stub
    if module.split(".")[0] not in ALLOWED or (module in ("builtins", "__builtin__") and name not in (
            "set", "frozenset", "bytearray", "object", "complex", "slice", "range")):
        raise pickle.UnpicklingError("verify_loaders refuses %s.%s" % (module, name))
    return real(self, module, name)


class RecUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        return resolve(pickle.Unpickler.find_class, self, module, name)


REC = types.ModuleType("recording_pickle")
REC.Unpickler = RecUnpickler
REC.UnpicklingError = pickle.UnpicklingError
REC.load = lambda f, **kw: RecUnpickler(f, **kw).load()
REC.loads = lambda b, **kw: RecUnpickler(io.BytesIO(b), **kw).load()
REC.__name__ = "recording_pickle"

# pure-Python unpicklers (joblib's NumpyUnpickler, ZipNumpyUnpickler derive from it)
_real_py_find_class = pickle._Unpickler.find_class
pickle._Unpickler.find_class = lambda self, module, name: resolve(_real_py_find_class, self, module, name)


def try_load(f):
    try:
        return RecUnpickler(f).load()
    except Exception:
        return None


def load_pickle(path):
    with open(path, "rb") as f:
        RecUnpickler(f).load()


def load_torch(path):
    import torch
    import torch.serialization
    # not pickle_module=REC: this torch.load replaces any pickle_module by its
    # module-level `pickle` unless weights_only (torch/serialization.py:760-764)
    torch.serialization.pickle = REC
    torch.load(path)


def load_zipfile(path):
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            try_load(z.open(name))


def load_tarfile(path):
    with tarfile.open(path) as t:
        for m in t.getmembers():
            f = t.extractfile(m)
            if f:
                try_load(f)


def load_numpy(path):
    import numpy
    import numpy.lib.format
    import numpy.lib.npyio
    numpy.lib.format.pickle = REC
    numpy.lib.npyio.pickle = REC
    r = numpy.load(path, allow_pickle=True)
    if isinstance(r, numpy.lib.npyio.NpzFile):
        for k in r.files:
            try:
                r[k]
            except Exception:
                pass


def load_joblib(path):
    import joblib
    import joblib.numpy_pickle
    joblib.numpy_pickle.pickle = REC  # the object arrays: pickle.load(file_handle)
    joblib.load(path)


def load_pandas(path):
    import pandas
    import pandas.io.pickle
    pandas.io.pickle.pickle = REC  # its first try; the retry uses pandas' pure-Python Unpickler
    pandas.read_pickle(path)


def load_nested(how):
    def run(path):
        with open(path, "rb") as f:
            outer = RecUnpickler(f).load()
        blob = outer["model"]
        if isinstance(blob, str):
            blob = blob.encode("latin1")
        for name, dec in (("zlib", zlib.decompress), ("gzip", gzip.decompress), ("bz2", bz2.decompress),
                          ("lzma", lzma.decompress), ("zstandard", lambda b: __import__("zstandard").decompress(b)),
                          ("lz4", lambda b: __import__("lz4.frame").frame.decompress(b))):
            if name + "." in how:
                blob = dec(bytes(blob))
        REC.loads(bytes(blob))
    return run


def opener(mod):
    def run(path):
        with mod.open(path, "rb") as f:
            RecUnpickler(f).load()
    return run


LOADERS = {
    "pickle.load": load_pickle,
    "torch.load": load_torch,
    "zipfile+pickle.load": load_zipfile,
    "tarfile+pickle.load": load_tarfile,
    "gzip+pickle.load": opener(gzip),
    "bz2+pickle.load": opener(bz2),
    "lzma+pickle.load": opener(lzma),
    "numpy.load": load_numpy,
    "joblib.load": load_joblib,
    "pandas.read_pickle": load_pandas,
}


def alarm(*_):
    raise TimeoutError("loader took more than 60 s")


def main():
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGALRM, alarm)
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(HERE, "expected.tsv")) if not l.startswith("#")]
    only = set(sys.argv[1:])
    bad = 0
    for name, _verdict, _text, loader, _gap in rows:
        if only and name not in only:
            continue
        fn = LOADERS.get(loader) or (load_nested(loader[len("pickle.load+"):]) if loader.startswith("pickle.load+")
                                     else None)
        del calls[:]
        err = ""
        signal.alarm(60)
        try:
            fn(os.path.join(HERE, name))
        except Exception as e:  # the stub returns None: loaders often fail right after
            err = "%s: %s" % (type(e).__name__, str(e)[:80])
        finally:
            signal.alarm(0)
        if calls:
            print("REACHED  %-42s %-28s %s" % (name, loader, calls[0]))
        else:
            bad += 1
            print("MISSED   %-42s %-28s %s" % (name, loader, err))
    print("verify_loaders: %d files, %d not reached" % (len(rows) if not only else len(only), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
