#!/usr/bin/python3
"""Write the library rule packs (rules/default.yaml, numpy, torch, sklearn,
pandas, xgboost, joblib) from hand-written entries below plus class lists
enumerated from the installed libraries (Debian's python3-sklearn, -torch).

Run with /usr/bin/python3 (the Debian python that has the libraries), then
review the diff: the YAML files are the source of truth, this script only
saves typing. It then checks every name the benign corpus uses is covered.

Usage: tools/gen_packs.py [BRINE]
"""
import inspect
import os
import subprocess
import sys
import warnings

warnings.simplefilter("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CLASS = "call: {arity: 0}\n    build: true"  # NEWOBJ / copyreg._reconstructor of the class, then BUILD
PCLASS = "call: {arity: [0, 4]}\n    build: true"  # pandas classes are also called with their arguments

PACKS = {}

PACKS["default"] = ("plain Python data as CPython pickles it", [], [
    # copyreg helpers CPython emits below protocol 2 for instances (cls, base, state)
    ("copyreg:_reconstructor", "call:\n      arity: 3\n      args: [{global: call}, {global: import}, {const: true}]\n    factory: true"),
    ("copyreg:__newobj__", "call:\n      arity: [1, 32]\n      args: [{global: call}]\n    factory: true"),
    ("copyreg:__newobj_ex__", "call:\n      arity: 3\n      args: [{global: call}, {type: tuple}, {type: dict}]\n    factory: true"),
    # protocol 0-2 write bytes as _codecs.encode(text, 'latin1')
    ("_codecs:encode", "call:\n      arity: 2\n      args: [{type: str}, {values: [latin1, latin-1]}]"),
    # pure-data constructors: whatever they are given, they build data
    ("builtins:set", "call: {arity: [0, 1]}"), ("builtins:frozenset", "call: {arity: [0, 1]}"),
    ("builtins:bytearray", "call: {arity: [0, 3]}"), ("builtins:bytes", "call: {arity: [0, 3]}"),
    ("builtins:complex", "call: {arity: [0, 2]}"), ("builtins:range", "call: {arity: [1, 3]}"),
    ("builtins:slice", "call: {arity: [1, 3]}"), ("builtins:list", "call: {arity: [0, 1]}"),
    ("builtins:dict", "call: {arity: [0, 1]}"), ("builtins:tuple", "call: {arity: [0, 1]}"),
    ("builtins:int", "call: {arity: [0, 2]}"), ("builtins:float", "call: {arity: [0, 1]}"),
    ("builtins:str", "call: {arity: [0, 1]}"), ("builtins:bool", "call: {arity: [0, 1]}"),
    ("builtins:object", "call: {arity: 0}"),  # the base passed to copyreg._reconstructor
    ("builtins:NotImplemented", ""), ("builtins:Ellipsis", ""),
    ("collections:OrderedDict", "call: {arity: [0, 1]}\n    build: true\n    items: true"),
    # the default factory is called later: it must itself be callable under the policy
    ("collections:defaultdict", "call:\n      arity: [0, 1]\n      args: [{one_of: [{type: none}, {global: call}]}]\n    items: true"),
    ("collections:Counter", "call: {arity: [0, 1]}\n    items: true"),
    ("collections:deque", "call: {arity: [0, 2]}\n    items: true"),
    ("collections:ChainMap", "call: {arity: 0}\n    build: true"),
    ("datetime:date", "call: {arity: [1, 3]}"), ("datetime:time", "call: {arity: [1, 2]}"),
    ("datetime:datetime", "call: {arity: [1, 2]}"), ("datetime:timedelta", "call: {arity: [0, 3]}"),
    ("datetime:timezone", "call: {arity: [1, 2]}"), ("datetime:tzinfo", "call: {arity: 0}"),
    ("decimal:Decimal", "call: {arity: 1}"), ("fractions:Fraction", "call: {arity: [1, 2]}"),
    ("uuid:UUID", CLASS), ("uuid:SafeUUID", "call: {arity: 1}"),
    ("pathlib:PurePosixPath", "call: {arity: [0, 8]}"), ("pathlib:PureWindowsPath", "call: {arity: [0, 8]}"),
    ("enum:Enum", ""), ("re:_compile", "call:\n      arity: 2\n      args: [{type: [str, bytes]}, {type: int}]"),
    ("ipaddress:IPv4Address", "call: {arity: 1}"), ("ipaddress:IPv6Address", "call: {arity: 1}"),
    ("ipaddress:IPv4Network", "call: {arity: 1}"), ("ipaddress:IPv6Network", "call: {arity: 1}"),
    ("types:SimpleNamespace", None),  # denied module: listed here only as a reminder; never emitted
])

PACKS["numpy"] = ("what numpy (1.x) emits for arrays, dtypes, scalars and random states", ["default"], [
    ("numpy.core.multiarray:_reconstruct",
     "call:\n      arity: 3\n      args: [{global: call}, {type: tuple}, {type: [bytes, object]}]\n    factory: true"),
    ("numpy:ndarray", "call: {arity: [0, 6]}\n    build: {type: tuple}"),
    ("numpy.ma.core:MaskedArray", "call: {arity: [0, 6]}\n    build: {type: tuple}"),
    ("numpy:dtype", "call:\n      arity: 3\n      args: [{type: str}, {type: [bool, int]}, {type: [bool, int]}]\n    build: {type: tuple}"),
    ("numpy.core.multiarray:scalar", "call: {arity: [1, 2]}"),
    ("numpy.core.numeric:_frombuffer", "call:\n      arity: 4\n      args: [{type: [bytes, bytearray, object]}, {type: object}, {type: tuple}, {type: str}]"),
    ("numpy.ma.core:_mareconstruct", "call: {arity: 4}\n    factory: true"),
    ("numpy.random._pickle:__randomstate_ctor", "call: {arity: [0, 2]}\n    build: true"),
    ("numpy.random._pickle:__generator_ctor", "call: {arity: [0, 2]}\n    build: true"),
    ("numpy.random._pickle:__bit_generator_ctor", "call: {arity: [0, 1]}\n    build: true"),
    ("numpy.random._mt19937:MT19937", "call: {arity: 0}\n    build: true"),
    ("numpy.random._pcg64:PCG64", "call: {arity: 0}\n    build: true"),
    ("numpy.random.mtrand:RandomState", "call: {arity: 0}\n    build: true"),
    ("numpy.random._generator:Generator", "call: {arity: [0, 1]}\n    build: true"),
    ("numpy.core.multiarray:_reconstruct", None),
] + [("numpy:%s" % t, "call: {arity: [0, 1]}") for t in (
    "bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 longdouble complex64 complex128 "
    "clongdouble str_ bytes_ void object_ datetime64 timedelta64 intc uintc longlong ulonglong").split()])

PACKS["torch"] = ("what torch.save emits: tensors, storages (persistent ids), parameters and nn modules",
                  ["default", "numpy"], [
    ("torch._utils:_rebuild_tensor_v2", "call:\n      arity: [6, 7]\n      args: [{type: object}, {type: int}, {type: tuple}, {type: tuple}, {type: bool}]"),
    ("torch._utils:_rebuild_tensor", "call:\n      arity: 4\n      args: [{type: object}, {type: int}, {type: tuple}, {type: tuple}]"),
    ("torch._utils:_rebuild_parameter", "call:\n      arity: 3\n      args: [{type: object}, {type: bool}]"),
    ("torch._utils:_rebuild_parameter_with_state", "call: {arity: 4}"),
    ("torch._utils:_rebuild_qtensor", "call: {arity: 7}"),
    ("torch._utils:_rebuild_sparse_tensor", "call: {arity: 2}"),
    ("torch._utils:_rebuild_device_tensor_from_numpy", "call: {arity: 4}"),
    ("torch._utils:_rebuild_meta_tensor_no_storage", "call: {arity: 4}"),
    ("torch._tensor:_rebuild_from_type_v2", "call: {arity: 4}"),
    ("torch:Size", "call: {arity: [0, 1]}"), ("torch:device", "call: {arity: [1, 2]}"),
    ("torch:Tensor", "call: {arity: 0}\n    build: true"), ("torch.nn.parameter:Parameter", "call: {arity: [0, 2]}\n    build: true"),
    ("torch:_utils", None),
] + [("torch:%s" % s, "") for s in (
    "FloatStorage DoubleStorage HalfStorage BFloat16Storage LongStorage IntStorage ShortStorage CharStorage ByteStorage "
    "BoolStorage ComplexFloatStorage ComplexDoubleStorage QUInt8Storage QInt8Storage QInt32Storage QUInt4x2Storage "
    "QUInt2x4Storage UntypedStorage").split()] + [("torch:%s" % t, "") for t in (
    "float32 float64 float16 bfloat16 int64 int32 int16 int8 uint8 bool complex64 complex128 strided sparse_coo "
    "contiguous_format channels_last preserve_format").split()])

PACKS["sklearn"] = ("scikit-learn estimators (every public estimator of sklearn.utils.all_estimators) and the helper "
                    "objects they pickle, with the scipy sparse matrices they hold", ["default", "numpy"], [
    ("sklearn.tree._tree:Tree", "call: {arity: 3}\n    build: true"),
    ("sklearn.neighbors._kd_tree:newObj", "call:\n      arity: 1\n      args: [{global: call}]\n    factory: true"),
    ("sklearn.neighbors._ball_tree:newObj", "call:\n      arity: 1\n      args: [{global: call}]\n    factory: true"),
    ("sklearn.neighbors._kd_tree:KDTree", CLASS), ("sklearn.neighbors._ball_tree:BallTree", CLASS),
    ("sklearn.metrics._dist_metrics:newObj", "call:\n      arity: 1\n      args: [{global: call}]\n    factory: true"),
    ("sklearn.metrics._scorer:_passthrough_scorer", ""),
    ("sklearn._loss._loss:__pyx_unpickle_CyHalfBinomialLoss", "call: {arity: 3}"),
    ("sklearn.linear_model._sgd_fast:Hinge", "call: {arity: 1}"), ("sklearn.linear_model._sgd_fast:Log", "call: {arity: 0}"),
    ("sklearn.linear_model._sgd_fast:SquaredLoss", "call: {arity: 0}"), ("sklearn.linear_model._sgd_fast:ModifiedHuber", "call: {arity: 0}"),
    ("sklearn.linear_model._sgd_fast:SquaredHinge", "call: {arity: 1}"), ("sklearn.linear_model._sgd_fast:Huber", "call: {arity: 1}"),
    ("sklearn.linear_model._sgd_fast:EpsilonInsensitive", "call: {arity: 1}"),
    ("sklearn.linear_model._sgd_fast:SquaredEpsilonInsensitive", "call: {arity: 1}"),
    ("sklearn.utils._bunch:Bunch", "call: {arity: 0}\n    build: true\n    items: true"),
    ("scipy.sparse._csr:csr_matrix", CLASS), ("scipy.sparse._csc:csc_matrix", CLASS), ("scipy.sparse._coo:coo_matrix", CLASS),
    ("scipy.sparse._lil:lil_matrix", CLASS), ("scipy.sparse._dok:dok_matrix", CLASS), ("scipy.sparse._dia:dia_matrix", CLASS),
    ("scipy.sparse._bsr:bsr_matrix", CLASS),
])

PACKS["pandas"] = ("pandas (1.5) frames, series, indexes, extension arrays, dtypes and scalars", ["default", "numpy"], [
    ("pandas.core.frame:DataFrame", PCLASS), ("pandas.core.series:Series", PCLASS),
    ("pandas.core.internals.managers:BlockManager", "call: {arity: [0, 2]}\n    build: true"),
    ("pandas.core.internals.managers:SingleBlockManager", "call: {arity: [0, 2]}\n    build: true"),
    ("pandas._libs.internals:_unpickle_block", "call: {arity: 3}"),
    ("pandas.core.internals.blocks:new_block", "call: {arity: [2, 3]}"),
    ("pandas._libs.arrays:__pyx_unpickle_NDArrayBacked", "call:\n      arity: 3\n      args: [{global: call}]\n    factory: true"),
    ("pandas.core.indexes.base:_new_Index", "call:\n      arity: 2\n      args: [{global: call}, {type: dict}]"),
    ("pandas.core.indexes.datetimes:_new_DatetimeIndex", "call:\n      arity: 2\n      args: [{global: call}, {type: dict}]"),
    ("pandas.core.indexes.interval:_new_IntervalIndex", "call:\n      arity: 2\n      args: [{global: call}, {type: dict}]"),
    ("pandas.core.indexes.period:_new_PeriodIndex", "call:\n      arity: 2\n      args: [{global: call}, {type: dict}]"),
    ("pandas._libs.tslibs.timestamps:_unpickle_timestamp", "call: {arity: [3, 5]}"),
    ("pandas._libs.tslibs.timedeltas:_timedelta_unpickle", "call: {arity: 2}"),
    ("pandas._libs.tslibs.nattype:__nat_unpickle", "call: {arity: [0, 1]}"),
    ("pandas._libs.tslibs.period:Period", "call: {arity: [1, 3]}"),
    ("pandas._libs.missing:NA", ""), ("pandas._libs.sparse:IntIndex", "call: {arity: 2}"),
    ("pandas._libs.sparse:BlockIndex", "call: {arity: 3}"),
    ("pytz:_p", "call: {arity: [1, 4]}"), ("pytz:_UTC", "call: {arity: 0}"),
    ("dateutil.tz.tz:tzutc", CLASS), ("dateutil.tz.tz:tzoffset", "call: {arity: 2}"),
] + [(n, PCLASS) for n in (
    "pandas.core.indexes.base:Index pandas.core.indexes.range:RangeIndex pandas.core.indexes.numeric:Int64Index "
    "pandas.core.indexes.numeric:UInt64Index pandas.core.indexes.numeric:Float64Index pandas.core.indexes.numeric:NumericIndex "
    "pandas.core.indexes.multi:MultiIndex pandas.core.indexes.datetimes:DatetimeIndex pandas.core.indexes.timedeltas:TimedeltaIndex "
    "pandas.core.indexes.period:PeriodIndex pandas.core.indexes.category:CategoricalIndex pandas.core.indexes.interval:IntervalIndex "
    "pandas.core.arrays.categorical:Categorical pandas.core.arrays.datetimes:DatetimeArray pandas.core.arrays.timedeltas:TimedeltaArray "
    "pandas.core.arrays.period:PeriodArray pandas.core.arrays.integer:IntegerArray pandas.core.arrays.floating:FloatingArray "
    "pandas.core.arrays.boolean:BooleanArray pandas.core.arrays.string_:StringArray pandas.core.arrays.sparse.array:SparseArray "
    "pandas.core.arrays.interval:IntervalArray pandas.core.arrays.numpy_:PandasArray "
    "pandas.core.dtypes.dtypes:CategoricalDtype pandas.core.dtypes.dtypes:DatetimeTZDtype pandas.core.dtypes.dtypes:PeriodDtype "
    "pandas.core.dtypes.dtypes:IntervalDtype pandas.core.arrays.sparse.dtype:SparseDtype pandas.core.arrays.string_:StringDtype "
    "pandas.core.arrays.boolean:BooleanDtype pandas.core.arrays.integer:Int8Dtype pandas.core.arrays.integer:Int16Dtype "
    "pandas.core.arrays.integer:Int32Dtype pandas.core.arrays.integer:Int64Dtype pandas.core.arrays.integer:UInt8Dtype "
    "pandas.core.arrays.integer:UInt16Dtype pandas.core.arrays.integer:UInt32Dtype pandas.core.arrays.integer:UInt64Dtype "
    "pandas.core.arrays.floating:Float32Dtype pandas.core.arrays.floating:Float64Dtype").split()] + [
    ("pandas._libs.tslibs.offsets:%s" % o, "call: {arity: [0, 3]}\n    build: true") for o in (
    "Day Hour Minute Second Milli Micro Nano BusinessDay MonthEnd MonthBegin BusinessMonthEnd BusinessMonthBegin "
    "YearEnd YearBegin QuarterEnd QuarterBegin Week WeekOfMonth DateOffset").split()])

PACKS["xgboost"] = ("xgboost's Booster and scikit-learn wrappers (the model is a byte string in their state)",
                    ["default", "numpy"], [(n, CLASS) for n in (
    "xgboost.core:Booster xgboost.sklearn:XGBClassifier xgboost.sklearn:XGBRegressor xgboost.sklearn:XGBRanker "
    "xgboost.sklearn:XGBRFClassifier xgboost.sklearn:XGBRFRegressor xgboost.sklearn:XGBModel").split()])

PACKS["joblib"] = ("joblib's array wrappers (the raw array bytes around them are the container reader's job)",
                   ["default", "numpy"], [
    ("joblib.numpy_pickle:NumpyArrayWrapper", CLASS), ("joblib.numpy_pickle_compat:NDArrayWrapper", CLASS),
    ("joblib.numpy_pickle_compat:ZNDArrayWrapper", CLASS),
])


def sklearn_classes():
    from sklearn.utils import all_estimators
    out = set()
    for _, cls in all_estimators():
        out.add("%s:%s" % (cls.__module__, cls.__qualname__))
    # helper classes estimators keep in their state
    import sklearn
    for modname in ("sklearn._loss.loss", "sklearn._loss.link", "sklearn._loss._loss", "sklearn.ensemble._gb_losses",
                    "sklearn.calibration", "sklearn.ensemble._hist_gradient_boosting.binning",
                    "sklearn.ensemble._hist_gradient_boosting.predictor", "sklearn.neural_network._stochastic_optimizers",
                    "sklearn.metrics._dist_metrics", "sklearn.dummy", "sklearn.tree._classes", "sklearn.preprocessing._label"):
        mod = __import__(modname, fromlist=["x"])
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and obj.__module__ == modname:
                out.add("%s:%s" % (modname, name))
    return sorted(out)


def torch_modules():
    import torch.nn as nn
    out = set()
    for name, cls in vars(nn).items():
        if inspect.isclass(cls) and issubclass(cls, nn.Module):
            out.add("%s:%s" % (cls.__module__, cls.__qualname__))
    return sorted(out)


def render(pack, desc, extends, entries):
    lines = ["# Generated from tools/gen_packs.py, then reviewed: edit there and regenerate.",
             "# Each entry admits exactly what %s emits; nothing here runs code." % pack,
             "pack: %s" % pack, "description: \"%s\"" % desc]
    if extends:
        lines.append("extends: [%s]" % ", ".join(extends))
    lines.append("allow:")
    seen = set()
    for name, perms in entries:
        if perms is None or name in seen:
            continue
        seen.add(name)
        lines.append('  - name: "%s"' % name)
        if perms:
            lines.append("    " + perms)
    persid = ""
    if pack == "torch":
        persid = ("persistent_ids:\n  # torch.save: ('storage', <storage class>, key, location, numel)\n"
                  "  - name: torch-storage\n"
                  "    match: {tuple: [{values: [storage]}, {global: import}, {type: str}, {type: str}, {type: int}]}\n"
                  "  # legacy torch.save: ('storage', <storage class>, key, location, numel, view_metadata)\n"
                  "  - name: torch-legacy-storage\n"
                  "    match: {tuple: [{values: [storage]}, {global: import}, {type: str}, {type: str}, {type: int}, "
                  "{one_of: [{type: none}, {tuple: [{type: str}, {type: int}, {type: int}]}]}]}\n"
                  "  # legacy torch.save of a whole module: ('module', <class>, source file, source); the loader\n"
                  "  # returns the class itself, so what is done with it is judged as done with the class\n"
                  "  - name: torch-legacy-module\n"
                  "    match: {tuple: [{values: [module]}, {global: call}, {type: str}, {type: str}]}\n"
                  "    resolves_to: 1\n")
    return "\n".join(lines) + "\n" + persid


def main():
    PACKS["sklearn"][2].extend((n, CLASS) for n in sklearn_classes())
    PACKS["torch"][2].extend((n, CLASS) for n in torch_modules())
    for pack, (desc, extends, entries) in PACKS.items():
        with open(os.path.join(ROOT, "rules", pack + ".yaml"), "w") as f:
            f.write(render(pack, desc, extends, entries))
    brine = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "brine")
    for pack in PACKS:
        r = subprocess.run([brine, "policy", "check", os.path.join(ROOT, "rules", pack + ".yaml")], capture_output=True, text=True)
        print(r.stdout.strip() or r.stderr.strip())


if __name__ == "__main__":
    main()
