#!/usr/bin/python3
"""Argument-constraint audit: every allow entry of the hand-written packs that
constrains its arguments (`call: {args: [...]}` in rules/torch.yaml, numpy.yaml,
pandas.yaml, sklearn.yaml, xgboost.yaml, joblib.yaml, default.yaml) must admit
what the libraries really write.

For each constrained name this script makes the library's real pickles that use
it, for every value the library can emit where the set is closed (every torch
layout, dtype, memory format and qscheme, every numpy dtype kind and byte order,
every bit generator, every pandas offset class, every array typecode, ...), at
protocols 0-5 (torch.save at 2-5, zip and legacy), and checks that brine says
`safe (complete)` for each. It then checks coverage: every constrained name is
called in at least one of the pickles (`brine events`), so an entry nobody
exercises is reported rather than silently trusted.

Needs Debian's /usr/bin/python3 with torch, numpy, pandas, scikit-learn, PyYAML.
Usage: check_constraints.py BRINE [--keep DIR]. Last line:
`constraints: N passed, M failed`.
"""
import array
import collections
import datetime
import decimal
import fractions
import io
import ipaddress
import os
import pathlib
import pickle
import re
import subprocess
import sys
import tempfile
import uuid
import warnings
import zoneinfo

import yaml

warnings.simplefilter("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKS = ("torch", "numpy", "pandas", "sklearn", "xgboost", "joblib", "default")
PROTOS = range(0, pickle.HIGHEST_PROTOCOL + 1)


# constrained entries no library pickle calls by that name, each with the reason the
# entry stays (they are still checked: the coverage test fails for any other name)
NOT_WRITTEN = {
    "builtins:int": "no library writes int(<constant>); admits hand-made pickles, constants only",
    "builtins:float": "no library writes float(<constant>); constants only",
    "builtins:str": "no library writes str(<constant>); constants only",
    "builtins:list": "no library writes list(<constant>); constants only",
    "builtins:tuple": "no library writes tuple(<constant>); constants only",
    "builtins:dict": "no library writes dict(<constant>); constants only",
    "sklearn._loss._loss:__pyx_unpickle_CyLossFunction": "the Cython base class of the losses: never instantiated",
    "zoneinfo:ZoneInfo._unpickle": "written as getattr(ZoneInfo, '_unpickle')(key, 1): the event names the getattr "
                                   "(the ZoneInfo cases above are checked safe)",
}


def constrained_names():
    out = {}
    for p in PACKS:
        d = yaml.safe_load(open(os.path.join(ROOT, "rules", p + ".yaml"))) or {}
        for e in d.get("allow") or []:
            c = e.get("call")
            for r in c if isinstance(c, list) else [c]:
                if isinstance(r, dict) and r.get("args"):
                    out[e["name"]] = p
    return out


CASES = []  # (label, bytes)


def pk(label, obj, protos=PROTOS):
    for p in protos:
        try:
            CASES.append(("%s p%d" % (label, p), pickle.dumps(obj, protocol=p)))
        except Exception as e:  # noqa: BLE001  (not picklable at this protocol)
            if p >= 2:
                print("note: %s p%d not picklable: %s" % (label, p, type(e).__name__))


def stdlib_cases():
    pk("set", {1, 2})
    pk("frozenset", frozenset({1, 2}))
    pk("bytearray", bytearray(b"ab\x00\xff"))
    pk("bytearray empty", bytearray())
    pk("complex", complex(1.5, -2))
    pk("range", range(1, 10, 3))
    pk("slice", slice(1, None, 2))
    pk("slice none", slice(None))
    pk("defaultdict list", collections.defaultdict(list, {1: [2]}))
    pk("defaultdict none", collections.defaultdict(None, {1: 2}))
    pk("Counter", collections.Counter("abca"))
    pk("deque", collections.deque([1, 2]))
    pk("deque maxlen", collections.deque([1, 2], maxlen=5))
    pk("date", datetime.date(2024, 2, 29))
    pk("time", datetime.time(1, 2, 3, 4))
    pk("time tz", datetime.time(1, 2, tzinfo=datetime.timezone.utc))
    pk("datetime", datetime.datetime(2024, 1, 2, 3, 4, 5, 6))
    pk("datetime tz", datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=5), "X")))
    pk("datetime fold", datetime.datetime(2024, 11, 3, 1, 30, fold=1))
    pk("datetime zoneinfo", datetime.datetime(2024, 1, 2, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")))
    pk("timedelta", datetime.timedelta(days=-3, seconds=5, microseconds=7))
    pk("timezone utc", datetime.timezone.utc)
    pk("timezone offset", datetime.timezone(datetime.timedelta(hours=-3)))
    pk("timezone named", datetime.timezone(datetime.timedelta(minutes=90), "N"))
    for d in ("1.5", "-0", "NaN", "sNaN", "Infinity", "1E+10"):
        pk("Decimal %s" % d, decimal.Decimal(d))
    pk("Fraction", fractions.Fraction(-3, 7))
    for cls in (pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.PosixPath):
        pk(cls.__name__, cls("/a/b/c.txt"))
        pk(cls.__name__ + " relative", cls("a"))
        pk(cls.__name__ + " empty", cls())
    pk("PureWindowsPath drive", pathlib.PureWindowsPath(r"C:\x\y"))
    pk("PurePosixPath 40 parts", pathlib.PurePosixPath("/" + "/".join("d%d" % i for i in range(40))))
    pk("IPv4Address", ipaddress.IPv4Address("10.0.0.1"))
    pk("IPv6Address", ipaddress.IPv6Address("::1"))
    pk("IPv4Network", ipaddress.IPv4Network("10.0.0.0/8"))
    pk("IPv6Network", ipaddress.IPv6Network("fe80::/10"))
    pk("IPv4Interface", ipaddress.IPv4Interface("10.0.0.1/8"))
    pk("IPv6Interface", ipaddress.IPv6Interface("fe80::1/64"))
    for flags in (0, re.I, re.I | re.M | re.S | re.X, re.A):
        pk("re str %d" % flags, re.compile("a+b", flags))
    pk("re bytes", re.compile(b"a+"))
    for tc in array.typecodes:
        pk("array %s" % tc, array.array(tc, "ab" if tc in "uw" else [1, 2]))
    pk("ZoneInfo", zoneinfo.ZoneInfo("America/New_York"))
    pk("uuid", uuid.UUID(int=5))
    try:
        import pytz
        pk("pytz FixedOffset", pytz.FixedOffset(330))
        pk("pytz utc", pytz.utc)
        pk("pytz zone", pytz.timezone("US/Eastern"))
        pk("pytz localized", pytz.timezone("US/Eastern").localize(datetime.datetime(2024, 1, 1)).tzinfo)
    except ImportError:
        pass
    pk("str", "x" * 3)


def numpy_cases():
    import numpy as np
    kinds = sorted(set(np.sctypeDict.values()), key=lambda t: t.__name__)
    for t in kinds:
        try:
            a = np.zeros(3, dtype=t)
        except Exception:  # noqa: BLE001
            continue
        pk("np array %s" % t.__name__, a)
        pk("np scalar %s" % t.__name__, a[0] if t is not np.object_ else np.array([1], dtype=object)[0])
        pk("np dtype %s" % t.__name__, np.dtype(t))
        for order in ("<", ">"):
            dt = np.dtype(t).newbyteorder(order)
            pk("np dtype %s%s" % (order, t.__name__), dt, protos=(2, 4))
    for unit in ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"):
        pk("np datetime64[%s]" % unit, np.array(["2001-01-01"], dtype="datetime64[%s]" % unit), protos=(2, 5))
        pk("np timedelta64[%s]" % unit, np.timedelta64(3, unit), protos=(2, 5))
    pk("np str", np.array(["abc"]))
    pk("np bytes", np.array([b"abc"]))
    pk("np void", np.zeros(2, dtype="V7"))
    pk("np structured", np.zeros(2, dtype=[("a", "<i4"), ("b", ">f8", (2,)), ("c", "O")]))
    pk("np subarray dtype", np.dtype(("f4", (2, 3))))
    pk("np dtype aligned", np.dtype([("a", "i1"), ("b", "f8")], align=True))
    pk("np dtype titles", np.dtype({"names": ["a"], "formats": ["i4"], "titles": ["A title"]}))
    pk("np dtype metadata", np.dtype("f8", metadata={"unit": "m"}))
    pk("np dtype offsets", np.dtype({"names": ["a", "b"], "formats": ["i4", "i2"], "offsets": [0, 8], "itemsize": 12}))
    pk("np datetime generic", np.array(["NaT"], dtype="M8"))
    pk("np datetime64 scalar", np.datetime64("2024-01-01T12:00"))
    pk("np U scalar", np.str_("abc"))
    pk("np fortran", np.asfortranarray(np.ones((2, 3))))
    pk("np noncontiguous", np.ones((4, 4))[::2, ::2])
    pk("np object", np.array([1, "a", None], dtype=object))
    pk("np 0-d", np.array(3.0))
    pk("np empty", np.zeros((0, 3)))
    pk("np matrix", np.matrix([[1, 2]]))
    pk("np masked", np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]))
    pk("np masked float", np.ma.masked_array([1.0], mask=[1], fill_value=5.0))
    pk("np recarray", np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]))
    for bg in ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"):
        cls = getattr(np.random, bg)
        pk("np bitgen %s" % bg, cls(1))
        pk("np Generator %s" % bg, np.random.Generator(cls(1)))
        pk("np RandomState %s" % bg, np.random.RandomState(cls(1)))
    pk("np default_rng", np.random.default_rng(3))
    pk("np RandomState", np.random.RandomState(3))
    pk("np SeedSequence", np.random.SeedSequence(5))
    pk("np SeedSequence spawned", np.random.SeedSequence(5).spawn(2)[1])


def pandas_cases():
    import numpy as np
    import pandas as pd
    from pandas.tseries import offsets as o
    pk("pd frame", pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [1.5, None]}))
    pk("pd series", pd.Series([1, 2], index=["a", "b"], name="s"))
    pk("pd datetime index", pd.date_range("2024-01-01", periods=3, freq="D"))
    pk("pd datetime tz", pd.Series(pd.date_range("2024-01-01", periods=3, tz="Europe/Paris")))
    pk("pd datetime pytz", pd.Series(pd.date_range("2024-01-01", periods=3, tz="US/Eastern")))
    pk("pd datetime fixed", pd.Series(pd.date_range("2024-01-01", periods=3, tz=datetime.timezone.utc)))
    pk("pd timedelta", pd.Series(pd.to_timedelta([1, 2], unit="s")))
    pk("pd period", pd.Series(pd.period_range("2024-01", periods=3, freq="M")))
    pk("pd interval", pd.Series(pd.interval_range(0, 3)))
    for closed in ("right", "left", "both", "neither"):
        pk("pd Interval %s" % closed, pd.Interval(0.5, 1, closed=closed))
        pk("pd IntervalIndex %s" % closed, pd.IntervalIndex.from_breaks([0, 1, 2], closed=closed))
    pk("pd Interval ts", pd.Interval(pd.Timestamp("2024"), pd.Timestamp("2025")))
    pk("pd categorical", pd.Series(pd.Categorical(["a", "b", "a"])))
    pk("pd sparse int", pd.Series(pd.arrays.SparseArray([0, 0, 1], kind="integer")))
    pk("pd sparse block", pd.Series(pd.arrays.SparseArray([0, 0, 1.0], kind="block")))
    pk("pd multiindex", pd.DataFrame({"a": [1, 2]}, index=pd.MultiIndex.from_tuples([("x", 1), ("y", 2)])))
    pk("pd range index", pd.RangeIndex(0, 10, 2))
    pk("pd Timestamp", pd.Timestamp("2024-01-02 03:04:05.000006007"))
    pk("pd Timestamp tz", pd.Timestamp("2024-01-02", tz="Asia/Tokyo"))
    pk("pd Timestamp pytz", pd.Timestamp("2024-01-02", tz="US/Eastern"))
    pk("pd Timestamp fixed", pd.Timestamp("2024-01-02", tz="+05:30"))
    pk("pd Timedelta", pd.Timedelta("1 days 2 ns"))
    pk("pd NaT", pd.NaT)
    for freq in ("D", "M", "Q", "A", "H", "T", "S", "L", "U", "N", "W", "B"):
        pk("pd Period %s" % freq, pd.Period("2024-01-01", freq=freq))
    for name in ("Day", "Hour", "Minute", "Second", "Milli", "Micro", "Nano", "MonthEnd", "MonthBegin",
                 "BusinessMonthEnd", "BusinessMonthBegin", "Easter", "QuarterEnd", "QuarterBegin", "BQuarterEnd",
                 "BQuarterBegin", "YearEnd", "YearBegin", "BYearEnd", "BYearBegin", "SemiMonthEnd",
                 "SemiMonthBegin", "Week", "BusinessDay", "BusinessHour", "CustomBusinessDay"):
        cls = getattr(o, name)
        pk("pd %s" % name, cls())
        pk("pd %s n=3" % name, cls(3), protos=(2, 4))
        if not issubclass(cls, o.Tick):  # a Tick cannot normalize
            pk("pd %s normalize" % name, cls(2, normalize=True), protos=(2, 4))
    pk("pd Week weekday", o.Week(weekday=2))
    pk("pd QuarterEnd month", o.QuarterEnd(startingMonth=2))
    pk("pd YearEnd month", o.YearEnd(month=6))
    pk("pd SemiMonthEnd day", o.SemiMonthEnd(day_of_month=20))
    pk("pd LastWeekOfMonth", o.LastWeekOfMonth(weekday=3))
    pk("pd WeekOfMonth", o.WeekOfMonth(week=2, weekday=1))
    pk("pd FY5253 nearest", o.FY5253(weekday=0, startingMonth=1, variation="nearest"))
    pk("pd FY5253 last", o.FY5253(weekday=0, startingMonth=1, variation="last"))
    pk("pd BusinessHour range", o.BusinessHour(start="10:00", end="16:00"))
    pk("pd BusinessDay offset", o.BusinessDay(offset=datetime.timedelta(hours=1)))
    pk("pd CustomBusinessDay holidays", o.CustomBusinessDay(holidays=["2024-01-01"], weekmask="Mon Tue Wed"))
    pk("pd PeriodDtype", pd.PeriodDtype("M"))
    for dt in ("Int8", "Int64", "UInt32", "Float64", "boolean", "string", "category"):
        pk("pd %s" % dt, pd.Series([1, None, 1] if dt not in ("string", "boolean") else
                                   (["a", None, "b"] if dt == "string" else [True, None, False]), dtype=dt))
    pk("pd ordered categorical", pd.Series(pd.Categorical(["a", "b"], categories=["b", "a"], ordered=True)))
    pk("pd sparse fill", pd.Series(pd.arrays.SparseArray([1.0, 1.0, 2.0], fill_value=1.0)))
    pk("pd DatetimeTZDtype", pd.DatetimeTZDtype("ns", "UTC"))
    pk("pd IntervalDtype", pd.IntervalDtype("int64", "left"))
    pk("pd period index Q", pd.period_range("2024Q1", periods=2, freq="Q-MAR"))
    pk("pd frame mixed blocks", pd.DataFrame({"a": [1], "b": [1.0], "c": ["x"], "d": [pd.Timestamp("2024")],
                                              "e": pd.Categorical(["z"]), "f": [True]}))
    pk("pd frame with freq index", pd.DataFrame({"a": [1, 2]}, index=pd.date_range("2024", periods=2, freq="H")))


def sklearn_cases():
    import numpy as np
    from sklearn.linear_model import SGDClassifier, SGDRegressor, LogisticRegression, HuberRegressor
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.neighbors import KDTree, BallTree, NearestNeighbors
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    X = np.random.RandomState(0).rand(30, 3)
    y = (X[:, 0] > 0.5).astype(int)
    for loss in ("hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron", "squared_error", "huber",
                 "epsilon_insensitive", "squared_epsilon_insensitive"):
        try:
            m = SGDClassifier(loss=loss, max_iter=5).fit(X, y)
        except ValueError:
            m = SGDRegressor(loss=loss, max_iter=5).fit(X, X[:, 1])
        m._loss_function_ = getattr(m, "_loss_function_", None)
        pk("sk SGD %s" % loss, m, protos=(2, 4, 5))
    pk("sk tree", DecisionTreeClassifier().fit(X, y), protos=(2, 4, 5))
    pk("sk KDTree", KDTree(X), protos=(2, 5))
    pk("sk BallTree", BallTree(X), protos=(2, 5))
    for metric in ("euclidean", "manhattan", "chebyshev", "minkowski"):
        pk("sk NN %s" % metric, NearestNeighbors(metric=metric, algorithm="ball_tree").fit(X), protos=(2, 5))
    for loss in ("log_loss",):
        pk("sk HGB clf", HistGradientBoostingClassifier(max_iter=3, loss=loss).fit(X, y), protos=(2, 5))
    for loss in ("squared_error", "absolute_error", "poisson", "quantile"):
        yy = X[:, 1] + 0.1
        kw = {"quantile": 0.3} if loss == "quantile" else {}
        pk("sk HGB %s" % loss, HistGradientBoostingRegressor(max_iter=3, loss=loss, **kw).fit(X, yy), protos=(2, 5))
    # every loss object of sklearn._loss (their Cython closs objects pickle by __pyx_unpickle_*)
    from sklearn._loss import loss as L
    for name, kw in (("HalfSquaredError", {}), ("AbsoluteError", {}), ("PinballLoss", {"quantile": 0.3}),
                     ("HalfPoissonLoss", {}), ("HalfGammaLoss", {}), ("HalfTweedieLoss", {"power": 1.5}),
                     ("HalfTweedieLossIdentity", {"power": 1.5}), ("HalfBinomialLoss", {}),
                     ("HalfMultinomialLoss", {"n_classes": 3})):
        pk("sk loss %s" % name, getattr(L, name)(**kw), protos=(2, 5))
    pk("sk logistic multinomial", LogisticRegression().fit(X, np.arange(30) % 3), protos=(2, 5))
    pk("sk huber", HuberRegressor().fit(X, X[:, 1]), protos=(2, 5))


def torch_cases():
    import torch
    layouts = [v for v in vars(torch).values() if isinstance(v, torch.layout)]
    for l in layouts:
        pk("torch layout %s" % l, l)
    mfs = [v for v in vars(torch).values() if isinstance(v, torch.memory_format)]
    for m in mfs:
        pk("torch memory_format %s" % m, m)
    dtypes = sorted(set(v for v in vars(torch).values() if isinstance(v, torch.dtype)), key=str)
    for d in dtypes:
        pk("torch dtype %s" % d, d)
    qschemes = [v for v in vars(torch).values() if isinstance(v, torch.qscheme)]
    for q in qschemes:
        pk("torch qscheme %s" % q, q)

    def ts(label, obj):
        for p in (2, 3, 4, 5):
            for legacy in (False, True):
                b = io.BytesIO()
                try:
                    torch.save(obj, b, pickle_protocol=p, _use_new_zipfile_serialization=not legacy)
                except Exception as e:  # noqa: BLE001
                    print("note: torch.save %s p%d%s: %s" % (label, p, " legacy" if legacy else "", e))
                    continue
                CASES.append(("%s torch.save p%d%s" % (label, p, " legacy" if legacy else ""), b.getvalue()))

    for d in dtypes:
        try:
            t = torch.zeros(2, dtype=d)
        except Exception:  # noqa: BLE001
            continue
        ts("tensor %s" % d, t)
    for m in (torch.channels_last, torch.channels_last_3d, torch.contiguous_format, torch.preserve_format):
        try:
            t = torch.zeros(1, 2, 3, 4, 5) if m is torch.channels_last_3d else torch.zeros(1, 2, 3, 4)
            ts("tensor %s" % m, t.contiguous(memory_format=m) if m is not torch.preserve_format else t)
        except Exception as e:  # noqa: BLE001
            print("note: %s: %s" % (m, e))
    dense = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    ts("sparse_coo", dense.to_sparse())
    ts("sparse_csr", dense.to_sparse_csr())
    for name in ("to_sparse_csc", "to_sparse_bsr", "to_sparse_bsc"):
        try:
            s = getattr(dense, name)((1, 1)) if "bs" in name else getattr(dense, name)()
            ts(name, s)
        except Exception as e:  # noqa: BLE001
            print("note: %s: %s" % (name, e))
    try:
        ts("mkldnn", dense.to_mkldnn())
    except Exception as e:  # noqa: BLE001
        print("note: mkldnn: %s" % e)
    ts("parameter", torch.nn.Parameter(torch.ones(2)))
    ts("parameter no grad", torch.nn.Parameter(torch.ones(2), requires_grad=False))
    for q in (torch.per_tensor_affine,):
        ts("qtensor %s" % q, torch.quantize_per_tensor(torch.ones(3), 0.1, 2, torch.quint8))
    ts("qtensor qint8", torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.qint8))
    ts("qtensor qint32", torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.qint32))
    ts("qtensor per channel", torch.quantize_per_channel(torch.ones(2, 3), torch.tensor([0.1, 0.2]),
                                                         torch.tensor([0, 1]), 0, torch.quint8))
    ts("qtensor per channel qint8", torch.quantize_per_channel(torch.ones(2, 3), torch.tensor([0.1, 0.2]),
                                                               torch.tensor([0, 0]), 1 - 1, torch.qint8))
    ts("qtensor float qparams", torch.quantize_per_channel(torch.ones(2, 3), torch.tensor([0.1, 0.2]),
                                                          torch.tensor([0.0, 1.0]), 0, torch.quint8))
    ts("qtensor symmetric", torch.quantize_per_tensor(torch.ones(3), 0.5, 0, torch.qint8))
    ts("view", torch.arange(10.0)[2:7:2])
    ts("requires_grad", torch.ones(2, requires_grad=True))
    ts("Size", torch.Size([2, 3]))
    for dev in ("cpu", "meta", "cuda", "cuda:1", "mps"):
        try:
            pk("torch device %s" % dev, torch.device(dev))
        except Exception as e:  # noqa: BLE001
            print("note: device %s: %s" % (dev, e))
    ts("meta tensor", torch.empty(2, device="meta"))
    ts("module", torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)))
    ts("state_dict", torch.nn.Linear(2, 2).state_dict())
    ts("complex", torch.zeros(2, dtype=torch.complex64))
    ts("tensor attrs", _with_attr(torch.ones(2)))


def _with_attr(t):
    t.note = "x"
    return t


def scan(brine, items):
    res = {}
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, (label, data) in enumerate(items):
            p = os.path.join(d, "c%05d" % i)
            open(p, "wb").write(data)
            paths.append(p)
        out = []
        for k in range(0, len(paths), 400):
            out.append(subprocess.run([brine, "scan", "--quiet"] + paths[k:k + 400], capture_output=True,
                                      text=True, timeout=600).stdout)
        out = "\n".join(out)
        verdict = dict(re.findall(r"^(\S+): (\w+ \(\w+\))", out, re.M))
        names = set()
        for k in range(0, len(paths), 400):
            ev = subprocess.run([brine, "events"] + paths[k:k + 400], capture_output=True, text=True,
                                timeout=600).stdout
            for line in ev.splitlines():
                f = line.split("\t")
                if len(f) >= 5 and f[3] == "call":
                    names.add(f[4])
        for (label, _), p in zip(items, paths):
            res[label] = (verdict.get(p), p)
        why = {}
        for (label, _), p in zip(items, paths):
            if res[label][0] != "safe (complete)":
                r = subprocess.run([brine, "scan", p], capture_output=True, text=True, timeout=120).stdout
                why[label] = [l.strip() for l in r.splitlines() if re.match(r"\s+(suspicious|dangerous)\s", l)][:2]
    return res, names, why


def main():
    brine = os.path.abspath(sys.argv[1])
    for make in (stdlib_cases, numpy_cases, pandas_cases, sklearn_cases, torch_cases):
        try:
            make()
        except ImportError as e:
            print("note: %s skipped: %s" % (make.__name__, e))
    res, called, why = scan(brine, CASES)
    passed = failed = 0
    for label, _ in CASES:
        v = res[label][0]
        if v == "safe (complete)":
            passed += 1
        else:
            failed += 1
            print("FAIL %s: %s" % (label, v))
            for w in why.get(label, []):
                print("     " + w)
    for name, pack in sorted(constrained_names().items()):
        if name in called:
            passed += 1
        elif name in NOT_WRITTEN:
            print("note: not exercised: %s: %s" % (name, NOT_WRITTEN[name]))
        else:
            failed += 1
            print("FAIL not exercised: %s (rules/%s.yaml): no pickle here calls it" % (name, pack))
    print("constraints: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
