#!/usr/bin/python3
"""Generate brine's benign corpus with the libraries themselves (Debian's
python3-numpy, -torch, -sklearn, -pandas, -xgboost, -joblib, -scipy, -lz4,
-zstandard). Run with /usr/bin/python3 from anywhere:

    /usr/bin/python3 corpus/benign/make_benign.py

Deterministic: fixed seeds, tiny data, PYTHONHASHSEED=0 and TZ=UTC (the script
re-executes itself with them, so set iteration order is fixed), and a fixed
clock while containers are written (gzip, zip and tar headers carry a time).
Rewrites raw/, torch/, joblib/, numpy/, pandas/ and MANIFEST.tsv; old files
there are removed first. Then run walk_globals.py to refresh GLOBALS.txt.

raw/      raw pickles: what pickle.dumps emits for plain Python data, numpy,
          scikit-learn (every estimator sklearn.utils.all_estimators() lists
          that fits on tiny data, plus variants), pandas and xgboost objects,
          at several protocols; and the data.pkl of each torch zip
torch/    torch.save: zip and legacy formats
joblib/   joblib.dump, plain and compressed
numpy/    np.save (.npy), np.savez, np.savez_compressed (.npz)
pandas/   DataFrame.to_pickle with each compression
"""
import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0" or os.environ.get("TZ") != "UTC":
    env = dict(os.environ, PYTHONHASHSEED="0", TZ="UTC", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import array  # noqa: E402
import collections  # noqa: E402
import contextlib  # noqa: E402
import datetime  # noqa: E402
import decimal  # noqa: E402
import fractions  # noqa: E402
import io  # noqa: E402
import ipaddress  # noqa: E402
import pathlib  # noqa: E402
import pickle  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402
import zipfile  # noqa: E402

import numpy as np  # noqa: E402

warnings.simplefilter("ignore")
np.random.seed(0)  # the global RandomState: scipy.stats frozen distributions keep (and pickle) it
HERE = os.path.dirname(os.path.abspath(__file__))
SUBDIRS = ("raw", "torch", "joblib", "numpy", "pandas")
manifest = []
skipped = []


@contextlib.contextmanager
def fixed_clock(t=1704067200.0):  # 2024-01-01T00:00:00Z: gzip, zip and tar headers
    real = time.time
    time.time = lambda: t
    try:
        yield
    finally:
        time.time = real


def out(sub, name, data, kind, how):
    with open(os.path.join(HERE, sub, name), "wb") as f:
        f.write(data)
    manifest.append((sub + "/" + name, kind, how))


def raw(name, obj, protos, how):
    for p in protos:
        assert "raw/%s_p%d.pkl" % (name, p) not in {m[0] for m in manifest}, name
        out("raw", "%s_p%d.pkl" % (name, p), pickle.dumps(obj, protocol=p), "raw-pickle",
            "pickle.dumps(protocol=%d): %s" % (p, how))


for sub in SUBDIRS:
    shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
    os.makedirs(os.path.join(HERE, sub))

ALL = range(6)
# ---- plain Python data: what the `default` pack must admit ------------------------------------
plain = {
    "none": None, "bools": [True, False], "ints": [0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31, 2 ** 63,
                                                     -2 ** 70, 10 ** 40, 2 ** 1000],
    "floats": [0.0, -0.0, 1.5, float("inf"), float("-inf"), float("nan"), 1e-300, 1.7976931348623157e308],
    "str": ["", "abc", "é", "\U0001F600", "a\nb", "\\u0041", "x" * 300], "bytes": b"\x00\x01abc\xff",
    "empty_bytes": b"", "long_bytes": bytes(range(256)), "bytearray": bytearray(b"xyz"), "empty_bytearray": bytearray(),
    "tuple": (1, (2, 3), ()), "tuples": [(1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)], "list": [], "dict": {},
    "set": {1, 2, 3}, "empty_set": set(), "frozenset": frozenset({"a", "b"}), "empty_frozenset": frozenset(),
    "complex": complex(1, -2), "range": range(0, 10, 2), "slice": slice(1, 10, 2), "slice1": slice(5),
    "nested": {"a": [{"b": (1, 2)}], (1, "k"): {frozenset({1})}}, "ellipsis": ..., "notimpl": NotImplemented,
    "types": [int, float, str, bytes, list, dict, tuple, set, frozenset, bool, complex, object],
}
shared = [1, 2]
plain["shared"] = [shared, shared]
selfref = [1]
selfref.append(selfref)
plain["selfref_list"] = selfref
selfdict = {}
selfdict["me"] = selfdict
plain["selfref_dict"] = selfdict
raw("plain", plain, ALL, "builtin data: scalars, containers, sharing and cycles, builtin types by name")
coll = {
    "od": collections.OrderedDict([("a", 1), ("b", 2)]), "empty_od": collections.OrderedDict(),
    "dd_list": collections.defaultdict(list, {"x": [1]}), "dd_int": collections.defaultdict(int, {"y": 2}),
    "dd_set": collections.defaultdict(set, {"z": {3}}), "dd_dict": collections.defaultdict(dict),
    "dd_none": collections.defaultdict(None, {"w": 0}), "counter": collections.Counter("abracadabra"),
    "deque": collections.deque([1, 2, 3]), "deque_max": collections.deque([1, 2, 3], maxlen=5),
    "chainmap": collections.ChainMap({"a": 1}, {"b": 2}), "userdict": collections.UserDict({"u": 1}),
    "userlist": collections.UserList([1, 2]),
}
raw("collections", coll, ALL, "collections types")
times = {
    "date": datetime.date(2024, 1, 2), "time": datetime.time(1, 2, 3, 4), "dt": datetime.datetime(2024, 1, 2, 3, 4, 5),
    "td": datetime.timedelta(days=1, seconds=2, microseconds=3), "neg_td": datetime.timedelta(days=-1),
    "tz": datetime.timezone(datetime.timedelta(hours=2)), "tz_named": datetime.timezone(-datetime.timedelta(hours=5), "EST"),
    "utc": datetime.timezone.utc, "dt_tz": datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
    "time_tz": datetime.time(5, tzinfo=datetime.timezone(datetime.timedelta(minutes=30))),
    "dt_fold": datetime.datetime(2024, 11, 3, 1, 30, fold=1), "min_date": datetime.date.min, "max_dt": datetime.datetime.max,
}
raw("datetime", times, ALL, "datetime: date, time, datetime, timedelta, timezone")
numbers = {
    "dec": decimal.Decimal("1.10"), "dec_nan": decimal.Decimal("NaN"), "dec_inf": decimal.Decimal("-Infinity"),
    "dec_big": decimal.Decimal("1e-999"), "frac": fractions.Fraction(3, 4), "frac_neg": fractions.Fraction(-7, 3),
    "uuid": uuid.UUID(int=0x1234567812345678), "uuid4": uuid.UUID("12345678-1234-4678-9234-567812345678"),
}
raw("stdlib", numbers, ALL, "decimal, fractions, uuid")
misc = {
    "pure_posix": pathlib.PurePosixPath("/data/x.csv"), "pure_windows": pathlib.PureWindowsPath("c:/data/x.csv"),
    "posix": pathlib.PosixPath("data/model.pkl"),
    "ip4": ipaddress.IPv4Address("10.1.2.3"), "ip6": ipaddress.IPv6Address("::1"),
    "net4": ipaddress.IPv4Network("10.0.0.0/8"), "net6": ipaddress.IPv6Network("fe80::/64"),
    "if4": ipaddress.IPv4Interface("10.1.2.3/24"), "if6": ipaddress.IPv6Interface("fe80::1/64"),
    "regex": re.compile(r"\w+"), "regex_flags": re.compile(b"a.b", re.S), "array_i": array.array("i", [1, 2, 3]),
    "array_d": array.array("d", [1.5]), "array_u": array.array("u", "hé"), "array_b": array.array("b"),
}
raw("stdlib_misc", misc, ALL, "pathlib, ipaddress, re patterns, array")

# ---- numpy -------------------------------------------------------------------------------
rng = np.random.RandomState(0)
arrays = {
    "bool": np.array([True, False]), "i1": np.arange(3, dtype=np.int8), "i2": np.arange(3, dtype=np.int16),
    "i4": np.arange(3, dtype=np.int32), "i8": np.arange(3, dtype=np.int64), "u1": np.arange(3, dtype=np.uint8),
    "u2": np.arange(3, dtype=np.uint16), "u4": np.arange(3, dtype=np.uint32), "u8": np.arange(3, dtype=np.uint64),
    "f2": np.ones(2, dtype=np.float16), "f4": np.ones(2, dtype=np.float32), "f8": rng.rand(2, 3),
    "f16": np.ones(2, dtype=np.longdouble), "c8": np.array([1 + 2j], dtype=np.complex64), "c16": np.array([1 + 2j]),
    "dt64": np.array(["2024-01-01"], dtype="datetime64[D]"), "dt64ns": np.array(["2024-01-01T00:00"], dtype="datetime64[ns]"),
    "td64": np.array([1], dtype="timedelta64[s]"), "str": np.array(["ab", "c"]), "bytes": np.array([b"ab"]),
    "struct": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]),
    "nested_struct": np.zeros(1, dtype=[("p", [("x", "f4"), ("y", "f4")]), ("tag", "S3"), ("v", "i2", (2,))]),
    "aligned_struct": np.zeros(1, dtype=np.dtype([("a", "u1"), ("b", "f8")], align=True)),
    "obj": np.array([1, "a", None, (1, 2)], dtype=object), "obj2d": np.array([[1, {"k": 2}], [[3], 4.5]], dtype=object),
    "zerod": np.array(5.0), "empty": np.zeros((0, 3)), "fortran": np.asfortranarray(rng.rand(2, 2)),
    "noncontig": np.arange(10)[::2], "big_endian": np.arange(3, dtype=">i4"), "void": np.array([b"\x01\x02"], dtype="V2"),
    "scalar_f8": np.float64(1.5), "scalar_f4": np.float32(2.5), "scalar_f2": np.float16(1), "scalar_i8": np.int64(7),
    "scalar_i4": np.int32(-3), "scalar_u1": np.uint8(200), "scalar_bool": np.bool_(True), "scalar_c16": np.complex128(1j),
    "scalar_str": np.str_("hi"), "scalar_bytes": np.bytes_(b"hi"), "scalar_dt64": np.datetime64("2024-01-01"),
    "scalar_td64": np.timedelta64(3, "h"), "scalar_void": np.zeros(1, dtype=[("a", "i4")])[0],
    "dtypes": [np.dtype("f8"), np.dtype("<U3"), np.dtype([("a", "i4")]), np.dtype("M8[ms]")],
    "types": [np.float64, np.int32, np.ndarray, np.bool_],
}
raw("numpy", arrays, [0, 1, 2, 3, 4, 5], "numpy arrays, scalars and dtypes of many kinds")
more_np = {
    "masked": np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]), "masked_f": np.ma.masked_invalid([1.0, np.nan]),
    "matrix": np.matrix([[1, 2], [3, 4]]), "recarray": np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    "memmap_like": np.arange(4).view(np.ndarray),
}
raw("numpy_more", more_np, [2, 4, 5], "numpy masked arrays, matrix, recarray")
raw("numpy_random_state", np.random.RandomState(1), [2, 4], "numpy RandomState (MT19937)")
raw("numpy_generator", np.random.default_rng(1), [2, 4], "numpy Generator (PCG64)")
raw("numpy_bitgens", [np.random.MT19937(2), np.random.PCG64(3), np.random.Philox(4), np.random.SFC64(5),
                      np.random.PCG64DXSM(6), np.random.SeedSequence(7)], [2, 4], "numpy bit generators, SeedSequence")

# ---- scikit-learn ----------------------------------------------------------------------------
import sklearn  # noqa: E402
import sklearn.cross_decomposition  # noqa: E402
import sklearn.random_projection  # noqa: E402
import scipy.sparse  # noqa: E402
import scipy.stats  # noqa: E402
from sklearn import (calibration, cluster, compose, decomposition, ensemble, feature_extraction,  # noqa: E402
                     feature_selection, gaussian_process, impute, linear_model, model_selection, multiclass,
                     naive_bayes, neighbors, neural_network, pipeline, preprocessing, svm, tree)
from sklearn.base import is_classifier, is_regressor  # noqa: E402
from sklearn.utils import all_estimators  # noqa: E402
from sklearn.utils.estimator_checks import _construct_instance  # noqa: E402

X = rng.rand(40, 4)
y = (X[:, 0] > 0.5).astype(int)
y3 = (X[:, 0] * 3).astype(int)           # three classes
ys = np.array(["no", "yes"])[y]          # string labels
yr = X[:, 1] * 3
y2 = np.c_[y, 1 - y]                     # two outputs
yr2 = np.c_[yr, -yr]
texts = ["the cat sat", "the dog ran", "a cat ran", "dogs and cats"] * 5
texts_y = np.array([0, 1, 0, 1] * 5)
dicts = [{"a": 1.0, "b": "x"}, {"a": 2.0, "b": "y"}] * 5


def fit_default(name, est):
    """Fit an estimator built by _construct_instance on data its tags ask for."""
    tags = est._get_tags()
    xt = tags.get("X_types", ["2darray"])
    Xf = np.abs(X) if tags.get("requires_positive_X") else X
    special = {
        "IsotonicRegression": lambda: est.fit(X[:, 0], yr),
        "LabelEncoder": lambda: est.fit(ys), "LabelBinarizer": lambda: est.fit(ys),
        "MultiLabelBinarizer": lambda: est.fit([["a", "b"], ["c"]]),
        "KernelCenterer": lambda: est.fit(X @ X.T),
        "MissingIndicator": lambda: est.fit(np.where(X > 0.9, np.nan, X)),
        "PLSSVD": lambda: est.fit(X, yr), "SelectFromModel": lambda: est.fit(X, yr),
        "SequentialFeatureSelector": lambda: est.fit(X, y),
        "PatchExtractor": lambda: est.fit(rng.rand(2, 6, 6)),
        "SpectralBiclustering": lambda: est.fit(rng.rand(12, 8) + 0.1),
        "SpectralCoclustering": lambda: est.fit(rng.rand(12, 8) + 0.1),
        "TfidfTransformer": lambda: est.fit(np.abs(X)),
        "GaussianProcessClassifier": lambda: est.fit(X[:12], y[:12]),
        "Isomap": lambda: est.fit(X[:12]),
        # these keep an n_samples x n_samples matrix: fewer samples keep the files small
        "GaussianProcessRegressor": lambda: est.fit(X[:12], yr[:12]),
        "MDS": lambda: est.fit(X[:12]), "AffinityPropagation": lambda: est.fit(X[:12]),
        "Nystroem": lambda: est.fit(X[:12]), "SpectralEmbedding": lambda: est.fit(X[:12]),
        "KernelPCA": lambda: est.fit(X[:12]), "LabelSpreading": lambda: est.fit(X[:12], y[:12]),
        "LabelPropagation": lambda: est.fit(X[:12], y[:12]),
    }
    if name in special:
        return special[name]()
    if "string" in xt:
        return est.fit(texts, texts_y)
    if "dict" in xt or name in ("DictVectorizer", "FeatureHasher"):
        return est.fit(dicts)
    if "categorical" in xt:
        return est.fit(np.array([["a"], ["b"], ["a"]]))
    multi = tags.get("multioutput_only")
    if is_classifier(est):
        return est.fit(Xf, y2 if multi else y)
    if is_regressor(est):
        return est.fit(Xf, yr2 if multi else yr)
    if tags.get("requires_y"):
        return est.fit(Xf, y)
    return est.fit(Xf)


def quiet_params(est):
    params = est.get_params(deep=False)
    kw = {}
    if "random_state" in params:
        kw["random_state"] = 0
    for k, v in (("n_estimators", 3), ("max_iter", 20), ("n_init", 1), ("n_components", 2)):
        if k in params and isinstance(params[k], int) and k != "n_components":
            kw[k] = min(params[k], v)
    if type(est).__name__ in ("TSNE", "MDS"):
        kw.update(n_components=2)
    if type(est).__name__ == "TSNE":
        kw.update(perplexity=5, n_iter=250)
    if "hidden_layer_sizes" in params:
        kw.update(hidden_layer_sizes=(3,))
    if type(est).__name__ == "BernoulliRBM":
        kw.update(n_components=2)
    est.set_params(**kw)
    return est


SPECIAL = {  # estimators whose defaults do not fit 40 x 4 data
    "SparseCoder": lambda: decomposition.SparseCoder(dictionary=rng.rand(3, 4)),
    "CCA": lambda: sklearn.cross_decomposition.CCA(n_components=1),
    "PLSCanonical": lambda: sklearn.cross_decomposition.PLSCanonical(n_components=1),
    "PLSSVD": lambda: sklearn.cross_decomposition.PLSSVD(n_components=1),
    "GaussianRandomProjection": lambda: sklearn.random_projection.GaussianRandomProjection(2, random_state=0),
    "SparseRandomProjection": lambda: sklearn.random_projection.SparseRandomProjection(2, random_state=0),
    "SelectKBest": lambda: feature_selection.SelectKBest(k=2),
    "SequentialFeatureSelector": lambda: feature_selection.SequentialFeatureSelector(
        linear_model.LogisticRegression(), n_features_to_select=2, cv=2),
}
fitted = {}
PROTOS_ALL_ESTIMATORS = [2, 3, 4, 5]
for name, cls in all_estimators():
    try:
        est = SPECIAL[name]() if name in SPECIAL else _construct_instance(cls)
        est = quiet_params(est)
        fit_default(name, est)
    except Exception as e:  # noqa: BLE001 - an estimator that needs data we do not make is listed, not fatal
        if name not in ("ColumnTransformer", "FeatureUnion", "GridSearchCV", "Pipeline", "RandomizedSearchCV"):
            skipped.append("sklearn %s: %s" % (name, str(e).splitlines()[0][:120] if str(e) else type(e).__name__))
        continue  # the five composites above need arguments: they are among the variants below
    try:
        pickle.dumps(est, protocol=4)
    except Exception as e:  # noqa: BLE001
        skipped.append("sklearn %s: not picklable: %s" % (name, e))
        continue
    fitted[name] = est
    raw("sklearn_" + name, est, PROTOS_ALL_ESTIMATORS, "scikit-learn %s (defaults, tiny data)" % name)

# variants that reach other helper objects (losses, trees, optimizers, kernels, scorers, encoders)
variants = {
    "SVC-proba": (svm.SVC(probability=True, random_state=0), X, y),
    "LogisticRegression-multinomial": (linear_model.LogisticRegression(multi_class="multinomial"), X, y3),
    "LogisticRegression-strlabels": (linear_model.LogisticRegression(), X, ys),
    "KNeighborsClassifier-kd_tree": (neighbors.KNeighborsClassifier(3, algorithm="kd_tree"), X, y),
    "KNeighborsClassifier-ball_tree": (neighbors.KNeighborsClassifier(3, algorithm="ball_tree"), X, y),
    "NearestNeighbors-ball_tree-minkowski": (neighbors.NearestNeighbors(algorithm="ball_tree", p=3), X, None),
    "KNeighborsRegressor-kd_tree-manhattan": (neighbors.KNeighborsRegressor(metric="manhattan", algorithm="kd_tree"), X, yr),
    "KernelDensity-ball_tree": (neighbors.KernelDensity(algorithm="ball_tree"), X, None),
    "LocalOutlierFactor-novelty": (neighbors.LocalOutlierFactor(novelty=True, n_neighbors=5), X, None),
    "GradientBoostingClassifier-3class": (ensemble.GradientBoostingClassifier(n_estimators=2, random_state=0), X, y3),
    "GradientBoostingClassifier-exponential": (ensemble.GradientBoostingClassifier(loss="exponential", n_estimators=2, random_state=0), X, y),
    "GradientBoostingRegressor-huber": (ensemble.GradientBoostingRegressor(loss="huber", n_estimators=2, random_state=0), X, yr),
    "GradientBoostingRegressor-quantile": (ensemble.GradientBoostingRegressor(loss="quantile", n_estimators=2, random_state=0), X, yr),
    "GradientBoostingRegressor-absolute_error": (ensemble.GradientBoostingRegressor(loss="absolute_error", n_estimators=2, random_state=0), X, yr),
    "HistGradientBoostingClassifier-3class": (ensemble.HistGradientBoostingClassifier(max_iter=3), X, y3),
    "HistGradientBoostingClassifier-categorical": (ensemble.HistGradientBoostingClassifier(max_iter=3, categorical_features=[0]),
                                                   np.c_[(X[:, :1] * 3).astype(int), X[:, 1:]], y),
    "HistGradientBoostingRegressor-poisson": (ensemble.HistGradientBoostingRegressor(loss="poisson", max_iter=3), X, yr),
    "HistGradientBoostingRegressor-quantile": (ensemble.HistGradientBoostingRegressor(loss="quantile", quantile=0.3, max_iter=3), X, yr),
    "HistGradientBoostingRegressor-absolute_error": (ensemble.HistGradientBoostingRegressor(loss="absolute_error", max_iter=3), X, yr),
    "AdaBoostClassifier-SAMME": (ensemble.AdaBoostClassifier(n_estimators=2, algorithm="SAMME", random_state=0), X, y),
    "RandomForestClassifier-oob": (ensemble.RandomForestClassifier(n_estimators=3, oob_score=True, random_state=0), X, y),
    "DecisionTreeClassifier-entropy": (tree.DecisionTreeClassifier(criterion="entropy", random_state=0), X, y),
    "DecisionTreeRegressor-poisson": (tree.DecisionTreeRegressor(criterion="poisson", random_state=0), X, yr),
    "MLPClassifier-adam": (neural_network.MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0), X, y),
    "MLPClassifier-sgd": (neural_network.MLPClassifier(hidden_layer_sizes=(3,), solver="sgd", max_iter=5, random_state=0), X, y),
    "MLPRegressor-lbfgs": (neural_network.MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5, random_state=0), X, yr),
    "GaussianProcessRegressor-kernel": (gaussian_process.GaussianProcessRegressor(
        kernel=gaussian_process.kernels.ConstantKernel() * gaussian_process.kernels.Matern(nu=1.5)
        + gaussian_process.kernels.WhiteKernel() + gaussian_process.kernels.DotProduct()
        + gaussian_process.kernels.RationalQuadratic() + gaussian_process.kernels.ExpSineSquared()
        + gaussian_process.kernels.RBF() ** 2, random_state=0), X[:12], yr[:12]),
    "GaussianProcessClassifier-3class": (gaussian_process.GaussianProcessClassifier(random_state=0), X[:12], y3[:12]),
    "SGDClassifier-log_loss": (linear_model.SGDClassifier(loss="log_loss", random_state=0), X, y),
    "SGDClassifier-modified_huber": (linear_model.SGDClassifier(loss="modified_huber", random_state=0), X, y),
    "SGDClassifier-squared_hinge": (linear_model.SGDClassifier(loss="squared_hinge", random_state=0), X, y),
    "SGDClassifier-perceptron": (linear_model.SGDClassifier(loss="perceptron", random_state=0), X, y),
    "SGDClassifier-huber": (linear_model.SGDClassifier(loss="huber", random_state=0), X, y),
    "SGDClassifier-averaged": (linear_model.SGDClassifier(average=True, random_state=0), X, y),
    "SGDRegressor-huber": (linear_model.SGDRegressor(loss="huber", random_state=0), X, yr),
    "SGDRegressor-epsilon_insensitive": (linear_model.SGDRegressor(loss="epsilon_insensitive", random_state=0), X, yr),
    "SGDRegressor-squared_epsilon_insensitive": (linear_model.SGDRegressor(loss="squared_epsilon_insensitive", random_state=0), X, yr),
    "PassiveAggressiveClassifier-squared_hinge": (linear_model.PassiveAggressiveClassifier(loss="squared_hinge", random_state=0), X, y),
    "Pipeline": (pipeline.make_pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression()), X, y),
    "Pipeline-text": (pipeline.make_pipeline(feature_extraction.text.TfidfVectorizer(max_df=0.5),
                                             naive_bayes.MultinomialNB()), texts, texts_y),
    "Pipeline-memoryless-passthrough": (pipeline.Pipeline([("skip", "passthrough"), ("clf", tree.DecisionTreeClassifier(random_state=0))]), X, y),
    "FeatureUnion": (pipeline.make_union(decomposition.PCA(1), preprocessing.MinMaxScaler()), X, None),
    "ColumnTransformer": (compose.ColumnTransformer([("s", preprocessing.StandardScaler(), [0, 1])]), X, None),
    "ColumnTransformer-mixed": (compose.ColumnTransformer(
        [("num", preprocessing.StandardScaler(), [0]), ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore"), [1]),
         ("ord", preprocessing.OrdinalEncoder(), [2])], remainder="passthrough"),
        np.array([[1.0, "a", "x", 0], [2.0, "b", "y", 1]] * 3, dtype=object), None),
    "ColumnTransformer-selector": (compose.ColumnTransformer([("s", preprocessing.StandardScaler(), compose.make_column_selector(dtype_include=np.number))]),
                                   None, None),
    "TransformedTargetRegressor-log": (compose.TransformedTargetRegressor(regressor=linear_model.Ridge(), func=np.log1p,
                                                                          inverse_func=np.expm1), X, yr),
    "GridSearchCV": (model_selection.GridSearchCV(linear_model.Ridge(), {"alpha": [0.1, 1.0]}, cv=2), X, yr),
    "GridSearchCV-accuracy": (model_selection.GridSearchCV(linear_model.LogisticRegression(), {"C": [0.1, 1.0]}, cv=2,
                                                           scoring="accuracy"), X, y),
    "GridSearchCV-multimetric": (model_selection.GridSearchCV(tree.DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2]}, cv=2,
                                                              scoring=["accuracy", "roc_auc", "f1_macro", "neg_log_loss"], refit="accuracy"), X, y),
    "RandomizedSearchCV-lists": (model_selection.RandomizedSearchCV(svm.SVC(), {"C": [0.1, 1.0, 10.0], "kernel": ["linear", "rbf"]},
                                                                    n_iter=2, cv=2, random_state=0), X, y),
    "RandomizedSearchCV-scipy": (model_selection.RandomizedSearchCV(
        linear_model.ElasticNet(), {"alpha": scipy.stats.loguniform(1e-3, 1), "l1_ratio": scipy.stats.uniform(0, 1)},
        n_iter=2, cv=2, random_state=0), X, yr),
    "CalibratedClassifierCV-isotonic": (calibration.CalibratedClassifierCV(svm.LinearSVC(random_state=0), cv=2, method="isotonic"), X, y),
    "SelectKBest-chi2": (feature_selection.SelectKBest(feature_selection.chi2, k=2), X, y),
    "SelectKBest-mutual_info": (feature_selection.SelectKBest(feature_selection.mutual_info_classif, k=2), X, y),
    "SelectPercentile-f_regression": (feature_selection.SelectPercentile(feature_selection.f_regression), X, yr),
    "OneVsRestClassifier-svc": (multiclass.OneVsRestClassifier(svm.SVC()), X, y3),
    "OneHotEncoder-drop-sparse": (preprocessing.OneHotEncoder(drop="first", min_frequency=1, max_categories=3), np.array([["a"], ["b"], ["c"], ["a"]]), None),
    "OneHotEncoder-dense": (preprocessing.OneHotEncoder(sparse_output=False, dtype=np.int8), np.array([["a", 1], ["b", 2]], dtype=object), None),
    "KBinsDiscretizer-onehot": (preprocessing.KBinsDiscretizer(n_bins=2, encode="onehot"), X, None),
    "FunctionTransformer-none": (preprocessing.FunctionTransformer(), X, None),
    "PolynomialFeatures-sparse": (preprocessing.PolynomialFeatures(2), X, None),
    "TfidfVectorizer-ngrams": (feature_extraction.text.TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2), texts, None),
    "CountVectorizer-char": (feature_extraction.text.CountVectorizer(analyzer="char_wb", ngram_range=(2, 3), binary=True, dtype=np.float32), texts, None),
    "IterativeImputer": (None, X, None),
    "SimpleImputer-str": (impute.SimpleImputer(strategy="most_frequent"), np.array([["a"], [np.nan], ["a"]], dtype=object), None),
    "KMeans-elkan": (cluster.KMeans(2, n_init=1, algorithm="elkan", random_state=0), X, None),
    "VotingClassifier-soft": (ensemble.VotingClassifier([("lr", linear_model.LogisticRegression()), ("nb", naive_bayes.GaussianNB())], voting="soft"), X, y),
    "StackingClassifier-passthrough": (ensemble.StackingClassifier([("t", tree.DecisionTreeClassifier(random_state=0))], passthrough=True, cv=2), X, y),
    "BaggingClassifier-features": (ensemble.BaggingClassifier(n_estimators=2, max_features=0.5, random_state=0), X, y),
    "NMF-mu": (decomposition.NMF(2, solver="mu", max_iter=20, random_state=0), np.abs(X), None),
}
from sklearn.experimental import enable_iterative_imputer  # noqa: E402,F401

variants["IterativeImputer"] = (impute.IterativeImputer(max_iter=2, random_state=0), X, None)
import pandas as pd  # noqa: E402

variants["ColumnTransformer-selector"] = (variants["ColumnTransformer-selector"][0],
                                          pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 0.1, 0.2]}), None)
for name, (est, Xv, yv) in variants.items():
    if est.get_params(deep=False).get("random_state", 0) is None:
        est.set_params(random_state=0)
    try:
        est.fit(Xv) if yv is None else est.fit(Xv, yv)
        if hasattr(est, "cv_results_"):  # fit and score times: the only values that change run to run
            for k in est.cv_results_:
                if k.endswith("_time"):
                    est.cv_results_[k] = np.zeros_like(est.cv_results_[k])
            if hasattr(est, "refit_time_"):
                est.refit_time_ = 0.0
    except Exception as e:  # noqa: BLE001
        skipped.append("sklearn variant %s: %s" % (name, str(e).splitlines()[0][:120]))
        continue
    fitted[name] = est
    raw("sklearn_" + name, est, [2, 3, 4, 5], "scikit-learn %s (tiny data)" % name)
for name in ("LogisticRegression", "DecisionTreeClassifier", "StandardScaler", "Pipeline", "OneHotEncoder",
             "GradientBoostingClassifier", "KNeighborsClassifier-kd_tree", "VotingClassifier-soft", "HistGradientBoostingClassifier"):
    raw("sklearn_" + name, fitted[name], [0, 1], "scikit-learn %s at protocols 0 and 1" % name)

sparse = scipy.sparse.random(3, 4, density=0.5, random_state=0)
raw("scipy_sparse", {f: sparse.asformat(f) for f in ("csr", "csc", "coo", "bsr", "dia", "lil")}, [2, 4],
    "scipy.sparse matrices (what sklearn transformers return and some estimators keep)")

# ---- pandas --------------------------------------------------------------------------------------
import pytz  # noqa: E402

df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [1.5, None]})
frames = {
    "df": df, "series": pd.Series([1, 2, 3], name="s"),
    "cat": pd.Categorical(["a", "b", "a"]), "mi": pd.MultiIndex.from_tuples([(1, "a"), (2, "b")]),
    "dti": pd.date_range("2024-01-01", periods=3), "index": pd.Index(["p", "q"]), "range_index": pd.RangeIndex(5),
    "df_dtypes": pd.DataFrame({
        "i8": np.arange(3), "f4": np.ones(3, dtype="f4"), "bool": [True, False, True], "obj": ["a", None, 3],
        "dt": pd.date_range("2024", periods=3), "dt_tz": pd.date_range("2024", periods=3, tz="Europe/Paris"),
        "td": pd.to_timedelta([1, 2, 3], unit="s"), "cat": pd.Categorical(["x", "y", "x"], ordered=True),
        "Int64": pd.array([1, None, 3], dtype="Int64"), "str": pd.array(["a", None, "c"], dtype="string"),
        "period": pd.period_range("2024-01", periods=3, freq="M"), "interval": pd.interval_range(0, 3),
        "sparse": pd.arrays.SparseArray([0, 0, 1]), "Float32": pd.array([0.5, None, 1], dtype="Float32"),
        "boolean": pd.array([True, None, False], dtype="boolean"), "u8": np.arange(3, dtype="u1"),
    }),
    "df_multicols": pd.DataFrame(np.arange(4).reshape(2, 2), columns=pd.MultiIndex.from_product([["a"], ["x", "y"]]),
                                 index=pd.Index(["r1", "r2"], name="row")),
    "series_cat": pd.Series(pd.Categorical(["u", "v"]), index=pd.CategoricalIndex(["k", "l"])),
    "series_dt_index": pd.Series([1.0, 2.0], index=pd.date_range("2024-01-01", periods=2, freq="H", tz="UTC")),
    "df_attrs": df.assign(d=pd.Timestamp("2024-01-01")).set_index("a"),
}
frames["df_attrs"].attrs["source"] = "made by make_benign"
raw("pandas", frames, [2, 3, 4, 5], "pandas frames, series, indexes")
more = {
    "ts": pd.Timestamp("2024-01-01"), "ts_utc": pd.Timestamp("2024-01-01", tz="UTC"),
    "ts_pytz": pd.Timestamp("2024-06-01", tz="America/New_York"), "ts_fixed": pd.Timestamp("2024-01-01", tz=pytz.FixedOffset(90)),
    "ts_stdlib_tz": pd.Timestamp("2024-01-01", tz=datetime.timezone(datetime.timedelta(hours=3))),
    "td": pd.Timedelta("1d"), "nat": pd.NaT, "na": pd.NA, "period": pd.Period("2024-01", "M"), "interval": pd.Interval(0, 1),
    "int64": pd.array([1, None], dtype="Int64"), "string": pd.array(["a", None], dtype="string"),
    "boolean": pd.array([True, None], dtype="boolean"), "dti_utc": pd.date_range("2024", periods=2, tz="UTC"),
    "tdi": pd.timedelta_range("1d", periods=2), "pi": pd.period_range("2024-01", periods=2, freq="M"),
    "ci": pd.CategoricalIndex(["a", "b"]), "f64i": pd.Index([1.5]), "u64i": pd.Index([1], dtype="uint64"),
    "i64i": pd.Index([1, 2]), "ii": pd.IntervalIndex.from_breaks([0, 1, 2]), "sparse": pd.arrays.SparseArray([0, 1]),
    "sparse_block": pd.arrays.SparseArray([0, 1, 1, 0, 2], kind="block"), "dtypes": [
        pd.CategoricalDtype(["a"]), pd.DatetimeTZDtype(tz="UTC"), pd.PeriodDtype("D"), pd.IntervalDtype("int64"),
        pd.SparseDtype("float"), pd.StringDtype(), pd.Int8Dtype(), pd.UInt32Dtype(), pd.Float64Dtype(), pd.BooleanDtype()],
    "offsets": [pd.offsets.Day(2), pd.offsets.Hour(), pd.offsets.MonthEnd(), pd.offsets.BusinessDay(), pd.offsets.Week(weekday=0),
                pd.offsets.QuarterBegin(startingMonth=1), pd.offsets.YearEnd(), pd.offsets.Minute(5), pd.offsets.DateOffset(months=1),
                pd.offsets.Second(), pd.offsets.Milli(), pd.offsets.Micro(), pd.offsets.Nano(), pd.offsets.MonthBegin(),
                pd.offsets.BusinessMonthEnd(), pd.offsets.BusinessMonthBegin(), pd.offsets.QuarterEnd(), pd.offsets.BQuarterEnd(),
                pd.offsets.BQuarterBegin(), pd.offsets.YearBegin(), pd.offsets.BYearEnd(), pd.offsets.BYearBegin(),
                pd.offsets.SemiMonthEnd(), pd.offsets.SemiMonthBegin(), pd.offsets.WeekOfMonth(week=1, weekday=2),
                pd.offsets.LastWeekOfMonth(weekday=1), pd.offsets.BusinessHour(), pd.offsets.Easter(), pd.offsets.CustomBusinessDay(),
                pd.offsets.FY5253(weekday=0, startingMonth=1, variation="nearest")],
    "freq_index": pd.date_range("2024-01-01", periods=3, freq="W-MON"),
}
raw("pandas_more", more, [2, 3, 4, 5], "pandas scalars, extension arrays, dtypes, offsets and indexes")

# ---- xgboost -----------------------------------------------------------------------------------------
try:
    import xgboost as xgb
    clf = xgb.XGBClassifier(n_estimators=2, max_depth=2, n_jobs=1, random_state=0).fit(X, y)
    raw("xgboost_XGBClassifier", clf, [2, 3, 4, 5], "XGBClassifier")
    reg = xgb.XGBRegressor(n_estimators=2, max_depth=2, n_jobs=1, random_state=0).fit(X, yr)
    raw("xgboost_XGBRegressor", reg, [2, 4], "XGBRegressor")
    rf = xgb.XGBRFClassifier(n_estimators=2, max_depth=2, n_jobs=1, random_state=0).fit(X, y)
    raw("xgboost_XGBRFClassifier", rf, [4], "XGBRFClassifier")
    raw("xgboost_Booster", clf.get_booster(), [2, 4], "Booster")
    raw("xgboost_in_pipeline", pipeline.make_pipeline(preprocessing.StandardScaler(),
                                                      xgb.XGBRegressor(n_estimators=1, max_depth=1, n_jobs=1)).fit(X, yr),
        [4], "xgboost regressor inside a scikit-learn Pipeline")
    xgb_version = xgb.__version__
except ImportError:
    xgb_version = "not installed"
    skipped.append("xgboost not installed")

# ---- torch ------------------------------------------------------------------------------------------------
import torch  # noqa: E402

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
convnet = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                              torch.nn.Dropout(0.1), torch.nn.LayerNorm(2), torch.nn.Embedding(3, 2), torch.nn.GELU())
rnn = torch.nn.LSTM(2, 2, batch_first=True)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
model(torch.ones(2, 4)).sum().backward()
opt.step()
tensors = {"f32": torch.ones(2), "f64": torch.zeros(2, dtype=torch.float64), "i64": torch.arange(3), "u8": torch.tensor([1], dtype=torch.uint8),
           "i8": torch.tensor([-1], dtype=torch.int8), "i16": torch.tensor([2], dtype=torch.int16), "i32": torch.tensor([3], dtype=torch.int32),
           "bool": torch.tensor([True]), "f16": torch.ones(1, dtype=torch.float16), "bf16": torch.ones(1, dtype=torch.bfloat16),
           "c64": torch.ones(1, dtype=torch.complex64), "c128": torch.ones(1, dtype=torch.complex128), "scalar": torch.tensor(3.0),
           "view": torch.arange(6.0)[2:5], "strided": torch.arange(6.0).reshape(2, 3).t(), "grad": torch.ones(2, requires_grad=True),
           "param": torch.nn.Parameter(torch.zeros(2)), "size": torch.Size([2, 3]), "device": torch.device("cpu"), "dtype": torch.float32}
special_tensors = {"sparse_coo": torch.eye(2).to_sparse(), "sparse_csr": torch.eye(2).to_sparse_csr(),
                   "q_per_tensor": torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8),
                   "q_per_channel": torch.quantize_per_channel(torch.ones(2, 2), torch.tensor([0.1, 0.2]), torch.tensor([0, 0]), 0, torch.qint8),
                   "frozen_param": torch.nn.Parameter(torch.ones(1), requires_grad=False)}
checkpoint = {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(), "loss": 0.25,
              "config": {"lr": 0.1, "layers": [4, 3, 2]}}
torch_objs = (("state_dict", model.state_dict(), 2), ("whole_model", model, 2), ("tensors", tensors, 2),
              ("checkpoint", checkpoint, 2), ("special_tensors", special_tensors, 2), ("convnet", convnet, 2), ("lstm", rnn, 2), ("state_dict_proto4", model.state_dict(), 4))
for name, obj, proto in torch_objs:
    for legacy in (False, True):
        if name == "state_dict_proto4" and legacy:
            continue
        buf = io.BytesIO()
        torch.save(obj, buf, pickle_protocol=proto, _use_new_zipfile_serialization=not legacy)
        data = buf.getvalue()
        fname = "%s_%s.pt" % (name, "legacy" if legacy else "zip")
        out("torch", fname, data, "torch-legacy" if legacy else "torch-zip",
            "torch.save(%s, pickle_protocol=%d%s)" % (name, proto, ", _use_new_zipfile_serialization=False" if legacy else ""))
        if not legacy:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                member = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
                out("raw", "torch_%s_data.pkl" % name, z.read(member), "raw-pickle", "%s of %s" % (member, fname))

# ---- joblib -------------------------------------------------------------------------------------------------
import joblib  # noqa: E402

jobj = {"model": fitted["LogisticRegression"], "arr": np.arange(10.0), "obj": np.array(["a", 1], dtype=object)}
jarrays = {"f8": np.arange(6.0).reshape(2, 3), "i4": np.arange(5, dtype=np.int32), "fortran": np.asfortranarray(np.ones((2, 2))),
           "u1": np.arange(3, dtype=np.uint8), "str": np.array(["ab", "c"]), "struct": np.zeros(2, dtype=[("a", "i4"), ("b", "f4")]),
           "zerod": np.array(1.5), "obj": np.array([None, {"k": 1}], dtype=object), "scalar": np.float32(2.0)}
compressions = [None, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3)]
try:
    import lz4  # noqa: F401
    compressions.append(("lz4", 3))
except ImportError:
    skipped.append("joblib lz4: the lz4 module is not installed")
with fixed_clock():
    for what, obj in (("model", jobj), ("arrays", jarrays)):
        for comp in compressions:
            if what == "arrays" and comp not in (None, ("gzip", 3), ("lz4", 3)):
                continue
            buf = io.BytesIO()
            joblib.dump(obj, buf, compress=comp if comp else 0)
            tag = comp[0] if comp else "plain"
            out("joblib", "%s_%s.joblib" % (what, tag), buf.getvalue(), "joblib" if not comp else "joblib-" + tag,
                "joblib.dump(%s, compress=%s)" % ("a dict with a fitted LogisticRegression and arrays" if what == "model"
                                                  else "a dict of numpy arrays of several dtypes", comp))
    buf = io.BytesIO()
    joblib.dump(fitted["RandomForestClassifier"], buf, compress=3)
    out("joblib", "forest_zlib3.joblib", buf.getvalue(), "joblib-zlib", "joblib.dump(RandomForestClassifier, compress=3)")

# ---- numpy files -----------------------------------------------------------------------------------------------
    for fname, arr, kw in (("plain.npy", np.arange(6.0).reshape(2, 3), {}), ("object.npy", np.array([1, "a", None], dtype=object), {"allow_pickle": True}),
                           ("fortran.npy", np.asfortranarray(np.ones((2, 3), dtype="f4")), {}),
                           ("struct.npy", np.zeros(2, dtype=[("a", "i4"), ("b", "U2")]), {}),
                           ("object_struct.npy", np.array([(1, {"x": 1})], dtype=[("a", "i4"), ("o", "O")]), {"allow_pickle": True})):
        buf = io.BytesIO()
        np.save(buf, arr, **kw)
        out("numpy", fname, buf.getvalue(), "npy-object" if arr.dtype.hasobject else "npy", "np.save(%s)" % arr.dtype)
    for f, fn in (("savez", np.savez), ("savez_compressed", np.savez_compressed)):
        buf = io.BytesIO()
        fn(buf, a=np.arange(3), b=np.array(["x", 2], dtype=object), c=np.zeros((2, 2), dtype="f4"))
        out("numpy", "%s.npz" % f, buf.getvalue(), "npz", "np.%s(a=int array, b=object array, c=float32 array)" % f)

# ---- pandas files -----------------------------------------------------------------------------------------------
    frame = frames["df_dtypes"]
    for comp in (None, "gzip", "bz2", "xz", "zstd", "zip", "tar"):
        p = os.path.join(HERE, "pandas", "frame_%s.pkl" % (comp or "plain"))
        how = "DataFrame.to_pickle(compression=%r)" % comp
        try:
            frame.to_pickle(p, compression={"method": "gzip", "mtime": 0} if comp == "gzip" else comp)
        except Exception as e:  # noqa: BLE001 - zstd needs python3-zstandard
            skipped.append("pandas %s: %s" % (comp, e))
            continue
        manifest.append(("pandas/" + os.path.basename(p), "pandas-" + (comp or "plain"), how))
    p = os.path.join(HERE, "pandas", "series_p5.pkl")
    pd.Series([1.0, 2.0], name="x").to_pickle(p, protocol=5)
    manifest.append(("pandas/series_p5.pkl", "pandas-plain", "Series.to_pickle(protocol=5)"))

versions = [("python", sys.version.split()[0]), ("numpy", np.__version__), ("scipy", __import__("scipy").__version__),
            ("sklearn", sklearn.__version__), ("pandas", pd.__version__), ("torch", torch.__version__),
            ("joblib", joblib.__version__), ("xgboost", xgb_version)]
with open(os.path.join(HERE, "MANIFEST.tsv"), "w") as f:
    f.write("# benign corpus, written by make_benign.py with %s\n" % ", ".join("%s %s" % v for v in versions))
    f.write("# path\tkind\tgenerator\n")
    for row in sorted(manifest):
        f.write("\t".join(row) + "\n")
    for s in skipped:
        f.write("# skipped: %s\n" % s)
total = sum(os.path.getsize(os.path.join(HERE, r[0])) for r in manifest)
print("%d files, %d bytes; %d skipped" % (len(manifest), total, len(skipped)))
for s in skipped:
    print("skipped:", s, file=sys.stderr)
