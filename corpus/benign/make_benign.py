#!/usr/bin/python3
"""Generate brine's benign corpus with the libraries themselves (Debian's
python3-numpy, -torch, -sklearn, -pandas, -xgboost, -joblib). Deterministic:
fixed seeds, tiny data. Run from anywhere: /usr/bin/python3 make_benign.py

Writes raw pickles under raw/ (what pickle.dumps / the libraries' own pickling
emit, at several protocols), torch/ (torch.save zip and legacy files, and the
data.pkl extracted from each zip), joblib/, numpy/ and pandas/ (containers,
for the container issue), and MANIFEST.tsv.
"""
import collections
import datetime
import decimal
import fractions
import io
import os
import pickle
import sys
import uuid
import warnings
import zipfile

import numpy as np

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
manifest = []


def out(sub, name, data, kind, how):
    d = os.path.join(HERE, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    manifest.append((sub + "/" + name, kind, how))


def raw(name, obj, protos, how):
    for p in protos:
        out("raw", "%s_p%d.pkl" % (name, p), pickle.dumps(obj, protocol=p), "raw-pickle", how)


ALL = range(6)
# ---- plain Python data ------------------------------------------------------------
plain = {
    "none": None, "bools": [True, False], "ints": [0, 1, -1, 255, 65536, 2 ** 31, 2 ** 63, -2 ** 70, 10 ** 40],
    "floats": [0.0, -0.0, 1.5, float("inf"), float("-inf"), float("nan"), 1e-300],
    "str": ["", "abc", "é", "\U0001F600", "a\nb"], "bytes": b"\x00\x01abc", "bytearray": bytearray(b"xyz"),
    "tuple": (1, (2, 3), ()), "set": {1, 2, 3}, "frozenset": frozenset({"a", "b"}), "complex": complex(1, -2),
    "range": range(0, 10, 2), "slice": slice(1, 10, 2), "nested": {"a": [{"b": (1, 2)}]},
}
shared = [1, 2]
plain["shared"] = [shared, shared]
raw("plain", plain, ALL, "pickle.dumps of builtin data")
coll = {
    "od": collections.OrderedDict([("a", 1), ("b", 2)]), "dd": collections.defaultdict(list, {"x": [1]}),
    "counter": collections.Counter("abracadabra"), "deque": collections.deque([1, 2, 3], maxlen=5),
}
raw("collections", coll, ALL, "collections types")
times = {
    "date": datetime.date(2024, 1, 2), "time": datetime.time(1, 2, 3, 4), "dt": datetime.datetime(2024, 1, 2, 3, 4, 5),
    "td": datetime.timedelta(days=1, seconds=2), "tz": datetime.timezone(datetime.timedelta(hours=2)),
    "dt_tz": datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
    "dec": decimal.Decimal("1.10"), "frac": fractions.Fraction(3, 4), "uuid": uuid.UUID(int=0x1234567812345678),
}
raw("stdlib", times, ALL, "datetime, decimal, fractions, uuid")

# ---- numpy -------------------------------------------------------------------------------
rng = np.random.RandomState(0)
arrays = {
    "bool": np.array([True, False]), "i1": np.arange(3, dtype=np.int8), "i8": np.arange(3, dtype=np.int64),
    "u2": np.arange(3, dtype=np.uint16), "f2": np.ones(2, dtype=np.float16), "f4": np.ones(2, dtype=np.float32),
    "f8": rng.rand(2, 3), "c16": np.array([1 + 2j]), "dt64": np.array(["2024-01-01"], dtype="datetime64[D]"),
    "td64": np.array([1], dtype="timedelta64[s]"), "str": np.array(["ab", "c"]), "bytes": np.array([b"ab"]),
    "struct": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]), "obj": np.array([1, "a", None], dtype=object),
    "zerod": np.array(5.0), "fortran": np.asfortranarray(rng.rand(2, 2)), "scalar_f8": np.float64(1.5),
    "scalar_i8": np.int64(7), "scalar_bool": np.bool_(True), "big_endian": np.arange(3, dtype=">i4"),
}
raw("numpy", arrays, [0, 2, 3, 4, 5], "numpy arrays and scalars of many dtypes")
raw("numpy_random_state", np.random.RandomState(1), [2, 4], "numpy RandomState")

# ---- scikit-learn ----------------------------------------------------------------------------
from sklearn import (calibration, cluster, compose, decomposition, ensemble, feature_extraction, impute,  # noqa: E402
                     linear_model, model_selection, naive_bayes, neighbors, neural_network, pipeline, preprocessing,
                     svm, tree)

X = rng.rand(40, 4)
y = (X[:, 0] > 0.5).astype(int)
yr = X[:, 1] * 3
texts = ["the cat sat", "the dog ran", "a cat ran", "dogs and cats"] * 5
estimators = {
    "LinearRegression": (linear_model.LinearRegression(), yr), "LogisticRegression": (linear_model.LogisticRegression(), y),
    "Ridge": (linear_model.Ridge(), yr), "Lasso": (linear_model.Lasso(alpha=0.01), yr), "ElasticNet": (linear_model.ElasticNet(alpha=0.01), yr),
    "SGDClassifier": (linear_model.SGDClassifier(random_state=0), y), "SVC": (svm.SVC(probability=False), y),
    "SVR": (svm.SVR(), yr), "LinearSVC": (svm.LinearSVC(), y), "KNeighborsClassifier": (neighbors.KNeighborsClassifier(3), y),
    "DecisionTreeClassifier": (tree.DecisionTreeClassifier(random_state=0), y), "DecisionTreeRegressor": (tree.DecisionTreeRegressor(random_state=0), yr),
    "RandomForestClassifier": (ensemble.RandomForestClassifier(n_estimators=3, random_state=0), y),
    "RandomForestRegressor": (ensemble.RandomForestRegressor(n_estimators=3, random_state=0), yr),
    "ExtraTreesClassifier": (ensemble.ExtraTreesClassifier(n_estimators=3, random_state=0), y),
    "GradientBoostingClassifier": (ensemble.GradientBoostingClassifier(n_estimators=3, random_state=0), y),
    "GradientBoostingRegressor": (ensemble.GradientBoostingRegressor(n_estimators=3, random_state=0), yr),
    "HistGradientBoostingClassifier": (ensemble.HistGradientBoostingClassifier(max_iter=3), y),
    "AdaBoostClassifier": (ensemble.AdaBoostClassifier(n_estimators=3, random_state=0), y),
    "GaussianNB": (naive_bayes.GaussianNB(), y), "MultinomialNB": (naive_bayes.MultinomialNB(), y),
    "KMeans": (cluster.KMeans(2, n_init=1, random_state=0), None), "MiniBatchKMeans": (cluster.MiniBatchKMeans(2, n_init=1, random_state=0), None),
    "DBSCAN": (cluster.DBSCAN(), None), "PCA": (decomposition.PCA(2), None), "TruncatedSVD": (decomposition.TruncatedSVD(2), None),
    "NMF": (decomposition.NMF(2, max_iter=50), None), "StandardScaler": (preprocessing.StandardScaler(), None),
    "MinMaxScaler": (preprocessing.MinMaxScaler(), None), "SimpleImputer": (impute.SimpleImputer(), None),
    "MLPClassifier": (neural_network.MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0), y),
    "IsolationForest": (ensemble.IsolationForest(n_estimators=3, random_state=0), None),
    "Pipeline": (pipeline.make_pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression()), y),
    "VotingClassifier": (ensemble.VotingClassifier([("lr", linear_model.LogisticRegression()), ("nb", naive_bayes.GaussianNB())]), y),
    "CalibratedClassifierCV": (calibration.CalibratedClassifierCV(svm.LinearSVC(), cv=2), y),
    "GridSearchCV": (model_selection.GridSearchCV(linear_model.Ridge(), {"alpha": [0.1, 1.0]}, cv=2), yr),
}
fitted = {}
for name, (est, target) in estimators.items():
    est.fit(X, target) if target is not None else est.fit(X)
    fitted[name] = est
    raw("sklearn_" + name, est, [2, 4, 5], "scikit-learn %s fitted on tiny data" % name)
for name in ("LogisticRegression", "DecisionTreeClassifier", "StandardScaler", "Pipeline"):
    raw("sklearn_" + name, fitted[name], [0, 1, 3], "scikit-learn %s at old protocols" % name)
enc = preprocessing.OneHotEncoder().fit([["a"], ["b"]])
raw("sklearn_OneHotEncoder", enc, [4], "OneHotEncoder")
raw("sklearn_LabelEncoder", preprocessing.LabelEncoder().fit(["x", "y"]), [4], "LabelEncoder")
raw("sklearn_TfidfVectorizer", feature_extraction.text.TfidfVectorizer().fit(texts), [4], "TfidfVectorizer")
raw("sklearn_CountVectorizer", feature_extraction.text.CountVectorizer().fit(texts), [4], "CountVectorizer")
ct = compose.ColumnTransformer([("s", preprocessing.StandardScaler(), [0, 1])]).fit(X)
raw("sklearn_ColumnTransformer", ct, [4], "ColumnTransformer")

# ---- pandas --------------------------------------------------------------------------------------
import pandas as pd  # noqa: E402

frames = {
    "df": pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [1.5, None]}), "series": pd.Series([1, 2, 3], name="s"),
    "cat": pd.Categorical(["a", "b", "a"]), "mi": pd.MultiIndex.from_tuples([(1, "a"), (2, "b")]),
    "dti": pd.date_range("2024-01-01", periods=3), "index": pd.Index(["p", "q"]),
}
raw("pandas", frames, [2, 4, 5], "pandas objects")
more = {
    "ts": pd.Timestamp("2024-01-01"), "ts_utc": pd.Timestamp("2024-01-01", tz="UTC"), "td": pd.Timedelta("1d"), "nat": pd.NaT,
    "period": pd.Period("2024-01", "M"), "int64": pd.array([1, None], dtype="Int64"), "string": pd.array(["a", None], dtype="string"),
    "boolean": pd.array([True, None], dtype="boolean"), "dti_utc": pd.date_range("2024", periods=2, tz="UTC"),
    "tdi": pd.timedelta_range("1d", periods=2), "pi": pd.period_range("2024-01", periods=2, freq="M"),
    "ci": pd.CategoricalIndex(["a", "b"]), "f64i": pd.Index([1.5]), "u64i": pd.Index([1], dtype="uint64"),
    "ii": pd.IntervalIndex.from_breaks([0, 1, 2]), "sparse": pd.arrays.SparseArray([0, 1]),
}
raw("pandas_more", more, [2, 4], "pandas scalars, extension arrays and indexes")

# ---- xgboost -----------------------------------------------------------------------------------------
try:
    import xgboost as xgb
    clf = xgb.XGBClassifier(n_estimators=2, max_depth=2).fit(X, y)
    raw("xgboost_XGBClassifier", clf, [2, 4], "XGBClassifier")
    reg = xgb.XGBRegressor(n_estimators=2, max_depth=2).fit(X, yr)
    raw("xgboost_XGBRegressor", reg, [4], "XGBRegressor")
    raw("xgboost_Booster", clf.get_booster(), [4], "Booster")
except ImportError:
    print("xgboost not installed: skipped", file=sys.stderr)

# ---- torch ------------------------------------------------------------------------------------------------
import torch  # noqa: E402

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
tensors = {"f32": torch.ones(2), "f64": torch.zeros(2, dtype=torch.float64), "i64": torch.arange(3), "u8": torch.tensor([1], dtype=torch.uint8),
           "bool": torch.tensor([True]), "f16": torch.ones(1, dtype=torch.float16), "bf16": torch.ones(1, dtype=torch.bfloat16)}
for name, obj in (("state_dict", model.state_dict()), ("whole_model", model), ("tensors", tensors)):
    for legacy in (False, True):
        buf = io.BytesIO()
        torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
        data = buf.getvalue()
        fname = "%s_%s.pt" % (name, "legacy" if legacy else "zip")
        out("torch", fname, data, "torch-legacy" if legacy else "torch-zip", "torch.save(%s)" % name)
        if not legacy:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                member = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
                out("raw", "torch_%s_data.pkl" % name, z.read(member), "raw-pickle", "data.pkl of torch.save(%s)" % name)

# ---- joblib, numpy files, pandas files (containers) ------------------------------------------------------
import joblib  # noqa: E402

jobj = {"model": fitted["LogisticRegression"], "arr": np.arange(10.0), "obj": np.array(["a", 1], dtype=object)}
for comp in (None, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3)):
    buf = io.BytesIO()
    joblib.dump(jobj, buf, compress=comp if comp else 0)
    tag = comp[0] if comp else "plain"
    out("joblib", "model_%s.joblib" % tag, buf.getvalue(), "joblib" if not comp else "joblib-" + tag, "joblib.dump compress=%s" % (comp,))
# lz4 and zstd: joblib writes the LZ4 frame format (python-lz4, not packaged
# for Debian here) and pandas zstd needs python-zstandard; the lz4 and zstd
# commands write the same formats
import shutil  # noqa: E402
import subprocess  # noqa: E402

plain_joblib = open(os.path.join(HERE, "joblib", "model_plain.joblib"), "rb").read()
if shutil.which("lz4"):
    out("joblib", "model_lz4.joblib", subprocess.run(["lz4", "-c"], input=plain_joblib, capture_output=True,
                                                     check=True).stdout, "joblib-lz4", "lz4 frame of joblib.dump")
buf = io.BytesIO()
np.save(buf, np.arange(6.0).reshape(2, 3))
out("numpy", "plain.npy", buf.getvalue(), "npy", "np.save float array")
buf = io.BytesIO()
np.save(buf, np.array([1, "a", None], dtype=object), allow_pickle=True)
out("numpy", "object.npy", buf.getvalue(), "npy-object", "np.save object array (holds a pickle)")
for f, fn in (("savez", np.savez), ("savez_compressed", np.savez_compressed)):
    buf = io.BytesIO()
    fn(buf, a=np.arange(3), b=np.array(["x", 2], dtype=object))
    out("numpy", "%s.npz" % f, buf.getvalue(), "npz", "np.%s" % f)
for comp in (None, "gzip", "bz2", "xz", "zip"):
    p = os.path.join(HERE, "pandas", "frame_%s.pkl" % (comp or "plain"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    frames["df"].to_pickle(p, compression=comp)
    manifest.append(("pandas/" + os.path.basename(p), "pandas-" + (comp or "plain"), "DataFrame.to_pickle compression=%s" % comp))

if shutil.which("zstd"):
    plain_frame = open(os.path.join(HERE, "pandas", "frame_plain.pkl"), "rb").read()
    out("pandas", "frame_zstd.pkl", subprocess.run(["zstd", "-c"], input=plain_frame, capture_output=True,
                                                   check=True).stdout, "pandas-zstd", "zstd of DataFrame.to_pickle")

with open(os.path.join(HERE, "MANIFEST.tsv"), "w") as f:
    f.write("# path\tkind\thow it was made (numpy %s, torch %s, sklearn %s, pandas %s, joblib %s)\n" % (
        np.__version__, torch.__version__, __import__("sklearn").__version__, pd.__version__, joblib.__version__))
    for row in sorted(manifest):
        f.write("\t".join(row) + "\n")
print("%d files" % len(manifest))
