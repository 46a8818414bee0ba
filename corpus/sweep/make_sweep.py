#!/usr/bin/python3
"""Generate brine's second benign corpus: broad sweeps of what the libraries
write, for objects nobody picked by hand. Run with Debian's /usr/bin/python3:

    /usr/bin/python3 corpus/sweep/make_sweep.py [--only CATEGORY ...]

Categories (one folder each):
  torchlegacy  the legacy torch.save format at pickle protocols 2 to 5
  torch    every torch.nn module class pickled whole (torch.nn, quantized, qat,
           intrinsic, lazy), Transformer stacks, optimizers (object and state
           dict), LR schedulers, distributions, parametrizations, weight and
           spectral norm, PackedSequence, dtypes, layouts, memory formats
  sklearn  every estimator of sklearn.utils.all_estimators() (fitted on tiny
           data), every CV splitter alone and inside GridSearchCV /
           RandomizedSearchCV / Halving*SearchCV / *CV estimators
  scipy    sparse matrices and arrays of every format, every frozen
           distribution, KDE, interpolators, splines, spatial trees and
           triangulations, rotations, LTI systems, QMC engines, result objects
  numpy    every ufunc, polynomial classes, masked arrays and the masked
           constant, vectorize, dtypes, scalars, random generators, matrices
  pandas   every index kind, extension dtype and array, scalars, offsets,
           DataFrames in each pandas.to_pickle compression
  stdlib   every stdlib type with a pickle form we can make (enum members of
           the stdlib, result tuples, namespaces, contexts, random states)
  tz       time zones of every kind: datetime, zoneinfo, pytz, dateutil,
           pandas and numpy values carrying them
  xgboost  Booster and the sklearn wrappers
  extra    statsmodels, networkx, Pillow, xarray, gensim, sympy, astropy
           objects (if the Debian packages are installed)

Each object is written as raw pickles at protocols 2 to 5, and in the
containers that fit its library: torch.save (zip), joblib.dump (plain, zlib,
lz4), pandas.to_pickle (gzip, bz2, xz, zstd), np.save of an object array.

Deterministic: PYTHONHASHSEED=0, TZ=UTC, seeded RNGs, a fixed clock while
containers are written. MANIFEST.tsv lists every file and what made it;
SKIPPED.txt what could not be made (and why).

None of these files are used to write the rule packs: the packs come from the
library walk of tools/packs/gen_packs.py. This corpus is what checks them.
"""
import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0" or os.environ.get("TZ") != "UTC":
    env = dict(os.environ, PYTHONHASHSEED="0", TZ="UTC", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import contextlib  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import io  # noqa: E402
import pickle  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = (2, 3, 4, 5)
manifest = []
skipped = []
ONLY = set(sys.argv[sys.argv.index("--only") + 1:]) if "--only" in sys.argv else None


@contextlib.contextmanager
def fixed_clock(t=1704067200.0):
    real = time.time
    time.time = lambda: t
    try:
        yield
    finally:
        time.time = real


def safe_name(s):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s)[:90]


def write(cat, name, data, how):
    path = os.path.join(HERE, cat, name)
    with open(path, "wb") as f:
        f.write(data)
    manifest.append((cat + "/" + name, how))


def emit(cat, name, obj, how, protos=PROTOS, containers=()):
    """Raw pickles at each protocol, then the containers asked for."""
    name = safe_name(name)
    try:
        blobs = [(p, pickle.dumps(obj, protocol=p)) for p in protos]
    except Exception as e:  # noqa: BLE001 - not picklable: listed, not fatal
        skipped.append("%s/%s: not picklable: %s" % (cat, name, str(e).splitlines()[0][:100] if str(e) else type(e).__name__))
        return False
    for p, b in blobs:
        write(cat, "%s_p%d.pkl" % (name, p), b, "pickle.dumps(protocol=%d): %s" % (p, how))
    for c in containers:
        try:
            container(cat, name, obj, how, c)
        except Exception as e:  # noqa: BLE001
            skipped.append("%s/%s [%s]: %s" % (cat, name, c, str(e).splitlines()[0][:100] if str(e) else type(e).__name__))
    return True


def container(cat, name, obj, how, c):
    buf = io.BytesIO()
    with fixed_clock():
        if c == "torch":
            import torch
            torch.save(obj, buf)
            write(cat, name + ".pt", buf.getvalue(), "torch.save: " + how)
        elif c == "torch-p4":
            import torch
            torch.save(obj, buf, pickle_protocol=4)
            write(cat, name + "_p4.pt", buf.getvalue(), "torch.save(pickle_protocol=4): " + how)
        elif c.startswith("torch-legacy"):
            import torch
            proto = int(c[len("torch-legacy-p"):]) if c != "torch-legacy" else 2
            torch.save(obj, buf, _use_new_zipfile_serialization=False, pickle_protocol=proto)
            write(cat, "%s_legacy%s.pt" % (name, "" if c == "torch-legacy" else "_p%d" % proto), buf.getvalue(),
                  "torch.save(legacy format, pickle_protocol=%d): %s" % (proto, how))
        elif c.startswith("joblib"):
            import joblib
            comp = {"joblib": 0, "joblib-zlib": 3, "joblib-lz4": ("lz4", 3), "joblib-xz": ("xz", 3)}[c]
            joblib.dump(obj, buf, compress=comp)
            write(cat, "%s%s.joblib" % (name, "" if c == "joblib" else "_" + c.split("-")[1]), buf.getvalue(),
                  "joblib.dump(compress=%r): %s" % (comp, how))
        elif c.startswith("pandas-"):
            import pandas as pd
            comp = c.split("-")[1]
            ext = {"gzip": "gz", "bz2": "bz2", "xz": "xz", "zstd": "zst"}[comp]
            pd.to_pickle(obj, buf, compression={"method": comp} if comp != "gzip" else {"method": "gzip", "mtime": 0})
            write(cat, "%s.pkl.%s" % (name, ext), buf.getvalue(), "pandas.to_pickle(compression=%s): %s" % (comp, how))
        elif c == "npy":
            arr = np.empty(2, dtype=object)
            arr[0] = obj
            arr[1] = None
            np.save(buf, arr, allow_pickle=True)
            write(cat, name + ".npy", buf.getvalue(), "np.save(object array, allow_pickle=True): " + how)
        else:
            raise ValueError(c)


def want(cat):
    if ONLY is not None and cat not in ONLY:
        return False
    d = os.path.join(HERE, cat)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return True


def note(cat, what, e):
    skipped.append("%s/%s: %s" % (cat, what, str(e).splitlines()[0][:120] if str(e) else type(e).__name__))


rng = np.random.RandomState(0)
np.random.seed(0)

# ---------------------------------------------------------------- torch ------------
INT_ARGS = {
    "in_features": 4, "out_features": 3, "in1_features": 4, "in2_features": 4, "in_channels": 2,
    "out_channels": 2, "kernel_size": 2, "num_features": 2, "normalized_shape": 4, "embed_dim": 4,
    "num_heads": 2, "d_model": 8, "nhead": 2, "input_size": 4, "hidden_size": 4, "num_embeddings": 10,
    "embedding_dim": 3, "size": 2, "output_size": 2, "upscale_factor": 2, "downscale_factor": 2,
    "num_groups": 1, "num_channels": 2, "groups": 2, "padding": 1, "dim": 1, "p": 0.5, "scale_factor": 2,
    "lambd": 0.5, "threshold": 0.1, "value": 0.0, "beta": 1.0, "alpha": 1.0, "min_val": -1.0, "max_val": 1.0,
    "cutoffs": [4, 8], "n_classes": 12, "head_bias": False, "unflattened_size": (2, 2), "start_dim": 1,
    "end_dim": -1, "stride": 1, "dilation": 1, "margin": 1.0, "num_parameters": 1, "batch_first": True,
    "in_channels1": 2, "d_hid": 4, "encoder_layer": None, "decoder_layer": None, "num_layers": 1,
    "scale": 0.1, "zero_point": 0, "output_scale": 0.1, "output_zero_point": 0, "norm_type": 2.0,
    "input_dim": 4, "hidden_dim": 4, "row_block_size": 1, "col_block_size": 4, "bias": True, "mode": "LSTM",
    "weight": None,
}


def torch_modules():
    import torch
    import torch.nn as nn
    mods = {}
    pkgs = ["torch.nn", "torch.nn.quantized", "torch.nn.quantized.dynamic", "torch.nn.qat", "torch.nn.intrinsic",
            "torch.nn.intrinsic.qat", "torch.nn.intrinsic.quantized", "torch.ao.nn.sparse.quantized",
            "torch.nn.quantizable", "torch.nn.modules"]
    for p in pkgs:
        try:
            m = importlib.import_module(p)
        except Exception as e:  # noqa: BLE001
            note("torch", p, e)
            continue
        for k in dir(m):
            v = getattr(m, k)
            if isinstance(v, type) and issubclass(v, nn.Module) and v is not nn.Module:
                mods["%s.%s" % (v.__module__, v.__qualname__)] = v
    return torch, nn, mods


def make_module(torch, nn, cls):
    n = cls.__name__
    special = {
        "TransformerEncoder": lambda: cls(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2),
        "TransformerDecoder": lambda: cls(nn.TransformerDecoderLayer(8, 2, 16, batch_first=True), 2),
        "Transformer": lambda: cls(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8),
        "TransformerEncoderLayer": lambda: cls(8, 2, 16),
        "TransformerDecoderLayer": lambda: cls(8, 2, 16),
        "MultiheadAttention": lambda: cls(4, 2),
        "Sequential": lambda: cls(nn.Linear(2, 2), nn.ReLU()),
        "ModuleList": lambda: cls([nn.Linear(2, 2), nn.Tanh()]),
        "ModuleDict": lambda: cls({"a": nn.Linear(2, 2)}),
        "ParameterList": lambda: cls([nn.Parameter(torch.zeros(2))]),
        "ParameterDict": lambda: cls({"w": nn.Parameter(torch.zeros(2))}),
        "Fold": lambda: cls(output_size=(4, 4), kernel_size=2),
        "Unfold": lambda: cls(kernel_size=2),
        "AdaptiveLogSoftmaxWithLoss": lambda: cls(4, 12, [4, 8]),
        "Bilinear": lambda: cls(2, 2, 3),
        "EmbeddingBag": lambda: cls(10, 3),
        "Upsample": lambda: cls(scale_factor=2),
        "UpsamplingNearest2d": lambda: cls(scale_factor=2),
        "UpsamplingBilinear2d": lambda: cls(scale_factor=2),
        "Container": lambda: cls(a=nn.Linear(2, 2)),
        "RNN": lambda: cls(4, 4), "LSTM": lambda: cls(4, 4), "GRU": lambda: cls(4, 4), "LSTMCell": lambda: cls(4, 4),
        "RNNBase": lambda: cls("LSTM", 4, 4), "GRUCell": lambda: cls(4, 4), "RNNCell": lambda: cls(4, 4),
        "FractionalMaxPool2d": lambda: cls(2, output_size=2), "FractionalMaxPool3d": lambda: cls(2, output_size=2),
        "DataParallel": lambda: cls(nn.Linear(2, 2)),
    }
    if cls.__module__.startswith("torch.ao.nn.intrinsic.modules.fused"):
        parts = {"Conv1d": nn.Conv1d(2, 2, 2), "Conv2d": nn.Conv2d(2, 2, 2), "Conv3d": nn.Conv3d(2, 2, 2),
                 "Bn1d": nn.BatchNorm1d(2), "Bn2d": nn.BatchNorm2d(2), "Bn3d": nn.BatchNorm3d(2)}
        d = n[-2:]
        args = []
        if n.startswith("Conv"):
            args.append(parts["Conv" + d])
            if "Bn" in n:
                args.append(parts["Bn" + d])
        elif n.startswith("Linear"):
            args.append(nn.Linear(2, 2))
            if "Bn" in n:
                args.append(nn.BatchNorm1d(2))
        elif n.startswith("BNReLU"):
            args.append(parts["Bn" + d])
        if "ReLU" in n:
            args.append(nn.ReLU())
        return cls(*args)
    if ".qat." in cls.__module__:
        import torch.ao.quantization as Q
        qc = Q.get_default_qat_qconfig("fbgemm")
        sig = inspect.signature(cls.__init__)
        kw = {k: INT_ARGS[k] for k, prm in list(sig.parameters.items())[1:]
              if prm.default is prm.empty and prm.kind not in (prm.VAR_POSITIONAL, prm.VAR_KEYWORD) and k != "qconfig"}
        return cls(qconfig=qc, **kw)
    if n in special:
        return special[n]()
    sig = inspect.signature(cls.__init__)
    kw = {}
    for pname, prm in list(sig.parameters.items())[1:]:
        if prm.kind in (prm.VAR_POSITIONAL, prm.VAR_KEYWORD):
            continue
        if prm.default is prm.empty:
            if pname not in INT_ARGS:
                raise TypeError("no guess for %s" % pname)
            kw[pname] = INT_ARGS[pname]
    return cls(**kw)


def sweep_torch():
    torch, nn, mods = torch_modules()
    torch.manual_seed(0)
    for qn, cls in sorted(mods.items()):
        try:
            m = make_module(torch, nn, cls)
        except Exception as e:  # noqa: BLE001
            note("torch", qn, e)
            continue
        emit("torch", "nn_" + qn, m, "torch.nn module %s" % qn, containers=("torch",))
    # a model holding standard modules, saved in every torch container
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))
    emit("torch", "model_lazy", model, "Sequential with a lazy Linear", containers=("torch", "torch-p4", "joblib"))
    tr = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8)
    emit("torch", "transformer_whole", tr, "nn.Transformer", containers=("torch", "torch-p4", "joblib-zlib"))
    emit("torch", "transformer_state_dict", tr.state_dict(), "nn.Transformer state dict", containers=("torch", "torch-p4"))
    # functional activations and torch._C._nn functions held as attributes
    import torch.nn.functional as F
    for fname in ("relu", "gelu", "silu", "tanh", "sigmoid", "softmax", "log_softmax", "leaky_relu", "elu",
                  "mish", "hardswish", "softplus", "dropout", "layer_norm", "linear"):
        emit("torch", "fn_F_" + fname, {"act": getattr(F, fname)}, "torch.nn.functional.%s as a value" % fname)
    for fname in ("gelu", "silu", "elu", "hardtanh", "leaky_relu", "softplus", "linear"):
        if hasattr(torch._C._nn, fname):
            emit("torch", "fn_C_nn_" + fname, {"act": getattr(torch._C._nn, fname)}, "torch._C._nn.%s as a value" % fname)
    for fname in ("tanh", "sigmoid", "relu", "exp", "abs", "matmul", "add"):
        emit("torch", "fn_torch_" + fname, {"act": getattr(torch, fname)}, "torch.%s as a value" % fname)
    # optimizers: the state dict after a step, and the whole optimizer
    for oname in sorted(n for n in dir(torch.optim) if isinstance(getattr(torch.optim, n), type)
                        and issubclass(getattr(torch.optim, n), torch.optim.Optimizer)
                        and n != "Optimizer"):
        try:
            lin = nn.Linear(2, 1)
            kw = {"lr": 0.01} if oname in ("SGD",) else {}
            if oname == "LBFGS":
                kw = {"lr": 0.1, "max_iter": 2}
            opt = getattr(torch.optim, oname)(lin.parameters(), **kw)
            if oname == "LBFGS":
                opt.step(lambda: lin(torch.ones(1, 2)).sum())
            else:
                lin(torch.ones(1, 2)).sum().backward()
                opt.step()
        except Exception as e:  # noqa: BLE001
            note("torch", "optim " + oname, e)
            continue
        emit("torch", "optim_%s_state" % oname, {"model": lin.state_dict(), "optimizer": opt.state_dict()},
             "torch.optim.%s state dict" % oname, protos=(2, 4), containers=("torch",))
        emit("torch", "optim_%s_whole" % oname, opt, "torch.optim.%s whole" % oname, protos=(2, 4),
             containers=("torch",))
    # LR schedulers (the ones that do not keep a lambda)
    lin = nn.Linear(2, 1)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    import torch.optim.lr_scheduler as S
    sched = {
        "StepLR": lambda: S.StepLR(opt, 2), "MultiStepLR": lambda: S.MultiStepLR(opt, [2, 4]),
        "ExponentialLR": lambda: S.ExponentialLR(opt, 0.9), "CosineAnnealingLR": lambda: S.CosineAnnealingLR(opt, 5),
        "ReduceLROnPlateau": lambda: S.ReduceLROnPlateau(opt), "CyclicLR": lambda: S.CyclicLR(opt, 0.01, 0.1, cycle_momentum=False),
        "OneCycleLR": lambda: S.OneCycleLR(opt, 0.1, total_steps=10), "ConstantLR": lambda: S.ConstantLR(opt),
        "LinearLR": lambda: S.LinearLR(opt), "CosineAnnealingWarmRestarts": lambda: S.CosineAnnealingWarmRestarts(opt, 3),
        "PolynomialLR": lambda: S.PolynomialLR(opt) if hasattr(S, "PolynomialLR") else None,
    }
    for sname, mk in sched.items():
        try:
            s = mk()
            if s is None:
                continue
        except Exception as e:  # noqa: BLE001
            note("torch", "sched " + sname, e)
            continue
        emit("torch", "sched_%s_state" % sname, s.state_dict(), "lr_scheduler.%s state dict" % sname, protos=(2, 4),
             containers=("torch",))
        emit("torch", "sched_%s_whole" % sname, s, "lr_scheduler.%s whole" % sname, protos=(2, 4))
    # distributions
    import torch.distributions as D
    z = torch.zeros(2)
    o = torch.ones(2)
    dists = {
        "Normal": lambda: D.Normal(z, o), "Bernoulli": lambda: D.Bernoulli(probs=o / 2), "Beta": lambda: D.Beta(o, o),
        "Binomial": lambda: D.Binomial(3, o / 2), "Categorical": lambda: D.Categorical(probs=o / 2),
        "Cauchy": lambda: D.Cauchy(z, o), "Chi2": lambda: D.Chi2(o), "Dirichlet": lambda: D.Dirichlet(o),
        "Exponential": lambda: D.Exponential(o), "Gamma": lambda: D.Gamma(o, o), "Geometric": lambda: D.Geometric(o / 2),
        "Gumbel": lambda: D.Gumbel(z, o), "HalfCauchy": lambda: D.HalfCauchy(o), "HalfNormal": lambda: D.HalfNormal(o),
        "Laplace": lambda: D.Laplace(z, o), "LogNormal": lambda: D.LogNormal(z, o), "Multinomial": lambda: D.Multinomial(3, o / 2),
        "MultivariateNormal": lambda: D.MultivariateNormal(z, torch.eye(2)), "Poisson": lambda: D.Poisson(o),
        "StudentT": lambda: D.StudentT(o), "Uniform": lambda: D.Uniform(z, o), "VonMises": lambda: D.VonMises(z, o),
        "Weibull": lambda: D.Weibull(o, o), "Independent": lambda: D.Independent(D.Normal(z, o), 1),
        "OneHotCategorical": lambda: D.OneHotCategorical(probs=o / 2), "Pareto": lambda: D.Pareto(o, o),
        "LowRankMultivariateNormal": lambda: D.LowRankMultivariateNormal(z, torch.ones(2, 1), o),
        "RelaxedBernoulli": lambda: D.RelaxedBernoulli(torch.tensor(0.5), probs=o / 2),
        "TransformedDistribution": lambda: D.TransformedDistribution(D.Normal(z, o), [D.transforms.ExpTransform()]),
        "MixtureSameFamily": lambda: D.MixtureSameFamily(D.Categorical(o), D.Normal(z, o)),
        "ContinuousBernoulli": lambda: D.ContinuousBernoulli(probs=o / 2), "Kumaraswamy": lambda: D.Kumaraswamy(o, o),
        "LKJCholesky": lambda: D.LKJCholesky(2, 1.0), "FisherSnedecor": lambda: D.FisherSnedecor(o, o),
        "NegativeBinomial": lambda: D.NegativeBinomial(3, o / 2), "Wishart": lambda: D.Wishart(torch.tensor(3.0), torch.eye(2)),
    }
    for dname, mk in dists.items():
        try:
            d = mk()
        except Exception as e:  # noqa: BLE001
            note("torch", "dist " + dname, e)
            continue
        emit("torch", "dist_" + dname, d, "torch.distributions.%s" % dname, protos=(2, 4), containers=("torch",))
    for tname in ("ExpTransform", "SigmoidTransform", "TanhTransform", "AbsTransform", "SoftmaxTransform"):
        emit("torch", "transform_" + tname, getattr(D.transforms, tname)(), "distributions.transforms." + tname, protos=(2, 4))
    emit("torch", "constraints", [D.constraints.positive, D.constraints.real, D.constraints.simplex,
                                   D.constraints.interval(0, 1)], "distributions.constraints", protos=(2, 4))
    # parametrizations, weight norm, spectral norm
    import torch.nn.utils.parametrizations as P
    for pname, mk in {
        "orthogonal": lambda: P.orthogonal(nn.Linear(3, 3)),
        "spectral_norm_param": lambda: P.spectral_norm(nn.Linear(3, 3)),
        "weight_norm_hook": lambda: nn.utils.weight_norm(nn.Linear(3, 3)),
        "spectral_norm_hook": lambda: nn.utils.spectral_norm(nn.Linear(3, 3)),
    }.items():
        try:
            m = mk()
        except Exception as e:  # noqa: BLE001
            note("torch", "param " + pname, e)
            continue
        emit("torch", "param_" + pname, m, "torch.nn.utils %s" % pname, protos=(2, 4), containers=("torch",))
        emit("torch", "param_%s_state" % pname, m.state_dict(), "torch.nn.utils %s state dict" % pname, protos=(2, 4),
             containers=("torch",))
    from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
    ps = pack_padded_sequence(torch.zeros(3, 2, 1), [3, 2])
    emit("torch", "packed_sequence", ps, "PackedSequence", containers=("torch",))
    emit("torch", "padded", pad_sequence([torch.ones(2), torch.ones(3)]), "pad_sequence result", containers=("torch",))
    # dtypes, layouts, memory formats, qschemes, devices
    dts = [getattr(torch, n) for n in dir(torch) if isinstance(getattr(torch, n), torch.dtype)]
    emit("torch", "dtypes", sorted(set(dts), key=str), "every torch.dtype", containers=("torch",))
    emit("torch", "layouts", [torch.strided, torch.sparse_coo, torch.sparse_csr, torch.sparse_csc, torch._mkldnn]
         if hasattr(torch, "_mkldnn") else [torch.strided, torch.sparse_coo, torch.sparse_csr],
         "torch layouts", containers=("torch",))
    # memory formats pickle by a dotted name: protocol 4 and later only
    emit("torch", "memory_formats", [torch.contiguous_format, torch.channels_last, torch.channels_last_3d,
                                     torch.preserve_format], "torch memory formats", protos=(4, 5),
         containers=("torch-p4",))
    emit("torch", "qschemes", [torch.per_tensor_affine, torch.per_channel_affine, torch.per_tensor_symmetric,
                               torch.per_channel_symmetric, torch.per_channel_affine_float_qparams],
         "torch qschemes", containers=("torch",))
    emit("torch", "devices", [torch.device("cpu"), torch.device("cuda", 0), torch.device("meta")], "torch devices",
         containers=("torch",))
    emit("torch", "sizes", [torch.Size([2, 3]), torch.Size([])], "torch.Size", containers=("torch",))
    emit("torch", "tensor_channels_last", torch.zeros(1, 2, 3, 3).to(memory_format=torch.channels_last),
         "channels-last tensor", containers=("torch", "torch-p4"))
    emit("torch", "sparse_csr", torch.eye(3).to_sparse_csr(), "sparse CSR tensor", containers=("torch",))
    emit("torch", "sparse_coo", torch.eye(3).to_sparse(), "sparse COO tensor", containers=("torch",))
    emit("torch", "quantized", torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.quint8), "quantized tensor",
         containers=("torch",))
    emit("torch", "generator_state", torch.Generator().manual_seed(0).get_state(), "Generator state", containers=("torch",))
    emit("torch", "complex", torch.zeros(2, dtype=torch.complex64), "complex tensor", containers=("torch",))
    # legacy format (protocol 2, storages after the pickles)
    emit("torch", "legacy_linear", nn.Linear(2, 2), "nn.Linear", protos=(), containers=("torch-legacy",))
    emit("torch", "legacy_state_dict", nn.Linear(2, 2).state_dict(), "nn.Linear state dict", protos=(),
         containers=("torch-legacy",))


# ---------------------------------------------------------------- sklearn ----------
def sweep_sklearn():
    import sklearn
    from sklearn import model_selection as ms
    from sklearn.base import is_classifier, is_regressor
    from sklearn.utils import all_estimators
    from sklearn.utils.estimator_checks import _construct_instance
    from sklearn.experimental import enable_halving_search_cv, enable_iterative_imputer  # noqa: F401
    from sklearn.linear_model import LogisticRegression, Ridge
    import scipy.stats as st

    X = rng.rand(40, 4)
    y = (X[:, 0] > 0.5).astype(int)
    yr = X[:, 1] * 3
    groups = np.arange(40) % 5
    texts = ["the cat sat", "the dog ran", "a cat ran", "dogs and cats"] * 5
    ty = np.array([0, 1, 0, 1] * 5)

    def fit(name, est):
        tags = est._get_tags()
        xt = tags.get("X_types", ["2darray"])
        Xf = np.abs(X) if tags.get("requires_positive_X") else X
        sp = {
            "IsotonicRegression": lambda: est.fit(X[:, 0], yr),
            "LabelEncoder": lambda: est.fit(y), "LabelBinarizer": lambda: est.fit(y),
            "MultiLabelBinarizer": lambda: est.fit([["a", "b"], ["c"]]),
            "KernelCenterer": lambda: est.fit(X @ X.T), "PatchExtractor": lambda: est.fit(rng.rand(2, 6, 6)),
            "SpectralBiclustering": lambda: est.fit(rng.rand(12, 8) + 0.1),
            "SpectralCoclustering": lambda: est.fit(rng.rand(12, 8) + 0.1),
        }
        if name in sp:
            return sp[name]()
        if "string" in xt:
            return est.fit(texts, ty)
        if "dict" in xt or name in ("DictVectorizer", "FeatureHasher"):
            return est.fit([{"a": 1.0, "b": "x"}, {"a": 2.0}] * 5)
        if "categorical" in xt:
            return est.fit(np.array([["a"], ["b"], ["a"]]))
        multi = tags.get("multioutput_only")
        if is_classifier(est):
            return est.fit(Xf, np.c_[y, 1 - y] if multi else y)
        if is_regressor(est):
            return est.fit(Xf, np.c_[yr, -yr] if multi else yr)
        if tags.get("requires_y"):
            return est.fit(Xf, y)
        return est.fit(Xf)

    for name, cls in all_estimators():
        try:
            est = _construct_instance(cls)
            params = est.get_params(deep=False)
            kw = {k: v for k, v in (("random_state", 0),) if k in params}
            for k, v in (("n_estimators", 3), ("max_iter", 20), ("n_init", 1)):
                if k in params and isinstance(params[k], int):
                    kw[k] = min(params[k], v)
            if "hidden_layer_sizes" in params:
                kw["hidden_layer_sizes"] = (3,)
            est.set_params(**kw)
            fit(name, est)
        except Exception as e:  # noqa: BLE001
            note("sklearn", name, e)
            continue
        emit("sklearn", "est_" + name, est, "sklearn %s fitted" % name, containers=("joblib",))
    # CV splitters, alone and inside the search wrappers
    splitters = {
        "KFold": ms.KFold(3), "KFold_shuffle": ms.KFold(3, shuffle=True, random_state=0),
        "StratifiedKFold": ms.StratifiedKFold(3), "StratifiedKFold_shuffle": ms.StratifiedKFold(3, shuffle=True, random_state=1),
        "GroupKFold": ms.GroupKFold(3), "StratifiedGroupKFold": ms.StratifiedGroupKFold(3),
        "RepeatedKFold": ms.RepeatedKFold(n_splits=2, n_repeats=2, random_state=0),
        "RepeatedStratifiedKFold": ms.RepeatedStratifiedKFold(n_splits=2, n_repeats=2, random_state=0),
        "ShuffleSplit": ms.ShuffleSplit(3, random_state=0), "StratifiedShuffleSplit": ms.StratifiedShuffleSplit(3, random_state=0),
        "GroupShuffleSplit": ms.GroupShuffleSplit(3, random_state=0), "LeaveOneOut": ms.LeaveOneOut(),
        "LeavePOut": ms.LeavePOut(2), "LeaveOneGroupOut": ms.LeaveOneGroupOut(), "LeavePGroupsOut": ms.LeavePGroupsOut(2),
        "PredefinedSplit": ms.PredefinedSplit(np.arange(40) % 3), "TimeSeriesSplit": ms.TimeSeriesSplit(3),
        "KFold_rs": ms.KFold(3, shuffle=True, random_state=np.random.RandomState(0)),
    }
    for sname, sp in splitters.items():
        emit("sklearn", "cv_" + sname, sp, "sklearn.model_selection.%s" % sname)
        if sname in ("LeavePOut", "LeavePGroupsOut", "LeaveOneOut"):
            continue
        try:
            g = ms.GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=sp)
            g.fit(X, y, groups=groups)
            g.cv_results_ = {k: v for k, v in g.cv_results_.items() if "time" not in k}
            emit("sklearn", "grid_cv_" + sname, g, "GridSearchCV(cv=%s)" % sname, containers=("joblib", "joblib-zlib"))
        except Exception as e:  # noqa: BLE001
            note("sklearn", "grid " + sname, e)
    for wname, mk in {
        "RandomizedSearchCV": lambda: ms.RandomizedSearchCV(
            LogisticRegression(), {"C": st.loguniform(0.01, 10), "tol": st.uniform(1e-4, 1e-3)}, n_iter=3,
            cv=ms.StratifiedKFold(3), random_state=0),
        "RandomizedSearchCV_randint": lambda: ms.RandomizedSearchCV(
            Ridge(), {"alpha": st.expon(), "max_iter": st.randint(10, 20)}, n_iter=3, cv=ms.KFold(3), random_state=0),
        "HalvingGridSearchCV": lambda: ms.HalvingGridSearchCV(LogisticRegression(), {"C": [0.1, 1, 10]}, cv=ms.StratifiedKFold(3)),
        "HalvingRandomSearchCV": lambda: ms.HalvingRandomSearchCV(
            LogisticRegression(), {"C": st.loguniform(0.01, 10)}, cv=ms.StratifiedKFold(3), random_state=0),
    }.items():
        try:
            w = mk()
            w.fit(X, yr if "randint" in wname else y)
            w.cv_results_ = {k: v for k, v in w.cv_results_.items() if "time" not in k}
            emit("sklearn", "search_" + wname, w, wname, containers=("joblib", "joblib-lz4"))
        except Exception as e:  # noqa: BLE001
            note("sklearn", wname, e)
    from sklearn import linear_model as lm, feature_selection as fs, calibration, ensemble
    for cname, mk in {
        "LogisticRegressionCV_skf": lambda: lm.LogisticRegressionCV(cv=ms.StratifiedKFold(3), max_iter=50).fit(X, y),
        "RidgeCV_kfold": lambda: lm.RidgeCV(cv=ms.KFold(3)).fit(X, yr),
        "LassoCV_ts": lambda: lm.LassoCV(cv=ms.TimeSeriesSplit(3)).fit(X, yr),
        "RFECV_skf": lambda: fs.RFECV(LogisticRegression(), cv=ms.StratifiedKFold(3)).fit(X, y),
        "Calibrated_skf": lambda: calibration.CalibratedClassifierCV(LogisticRegression(), cv=ms.StratifiedKFold(3)).fit(X, y),
        "Stacking_kfold": lambda: ensemble.StackingClassifier(
            [("lr", LogisticRegression())], cv=ms.StratifiedKFold(3)).fit(X, y),
        "SFS_kfold": lambda: fs.SequentialFeatureSelector(LogisticRegression(), n_features_to_select=2,
                                                          cv=ms.KFold(3)).fit(X, y),
    }.items():
        try:
            emit("sklearn", "cvest_" + cname, mk(), cname, containers=("joblib",))
        except Exception as e:  # noqa: BLE001
            note("sklearn", cname, e)
    from sklearn.metrics import make_scorer, f1_score, get_scorer
    emit("sklearn", "scorers", {"f1": make_scorer(f1_score), "acc": get_scorer("accuracy"),
                                "nll": get_scorer("neg_log_loss")}, "scorers")


# ---------------------------------------------------------------- scipy ------------
def sweep_scipy():
    import scipy
    import scipy.sparse as sp
    import scipy.stats as st
    import scipy.interpolate as si
    import scipy.spatial as ss
    from scipy.spatial.transform import Rotation, Slerp
    import scipy.signal as sg
    import scipy.optimize as so
    import scipy.special as spec

    A = sp.random(5, 5, density=0.4, random_state=0, format="csr")
    for fmt in ("csr", "csc", "coo", "lil", "dok", "bsr", "dia"):
        emit("scipy", "sparse_" + fmt + "_matrix", A.asformat(fmt), "scipy.sparse %s_matrix" % fmt, containers=("joblib",))
        arr_cls = getattr(sp, fmt + "_array", None)
        if arr_cls is not None:
            emit("scipy", "sparse_" + fmt + "_array", arr_cls(A.asformat(fmt)), "scipy.sparse %s_array" % fmt)
    # every distribution, frozen with its example shape parameters
    from scipy.stats._distr_params import distcont, distdiscrete
    seen = set()
    for name, args in list(distcont) + list(distdiscrete):
        if name in seen:
            continue
        seen.add(name)
        try:
            d = getattr(st, name)(*args)
        except Exception as e:  # noqa: BLE001
            note("scipy", name, e)
            continue
        emit("scipy", "frozen_" + name, d, "scipy.stats.%s%r frozen" % (name, tuple(args)), protos=(2, 4))
    for extra in ("loguniform", "multivariate_normal", "dirichlet", "wishart", "multinomial", "ortho_group",
                  "special_ortho_group", "random_correlation", "matrix_normal", "invwishart", "multivariate_t",
                  "unitary_group", "vonmises_fisher"):
        obj = getattr(st, extra, None)
        if obj is None:
            continue
        try:
            fz = {"loguniform": lambda: obj(0.01, 1), "multivariate_normal": lambda: obj([0, 0], np.eye(2)),
                  "dirichlet": lambda: obj([1, 2]), "wishart": lambda: obj(3, np.eye(2)),
                  "multinomial": lambda: obj(3, [0.5, 0.5]), "ortho_group": lambda: obj(3),
                  "special_ortho_group": lambda: obj(3), "random_correlation": lambda: obj([1.0, 1.0]),
                  "matrix_normal": lambda: obj(np.zeros((2, 2))), "invwishart": lambda: obj(3, np.eye(2)),
                  "multivariate_t": lambda: obj([0, 0], np.eye(2)), "unitary_group": lambda: obj(2),
                  "vonmises_fisher": lambda: obj([1, 0], 1)}[extra]()
        except Exception as e:  # noqa: BLE001
            note("scipy", extra, e)
            continue
        emit("scipy", "multi_" + extra, fz, "scipy.stats.%s frozen" % extra, protos=(2, 4))
        emit("scipy", "dist_" + extra, obj, "scipy.stats.%s (the distribution object)" % extra, protos=(2, 4))
    emit("scipy", "kde", st.gaussian_kde(rng.rand(2, 20)), "gaussian_kde", containers=("joblib",))
    x = np.linspace(0, 1, 8)
    yv = x ** 2
    for iname, mk in {
        "interp1d": lambda: si.interp1d(x, yv), "interp1d_cubic": lambda: si.interp1d(x, yv, kind="cubic"),
        "CubicSpline": lambda: si.CubicSpline(x, yv), "PchipInterpolator": lambda: si.PchipInterpolator(x, yv),
        "Akima1DInterpolator": lambda: si.Akima1DInterpolator(x, yv), "BSpline": lambda: si.make_interp_spline(x, yv),
        "PPoly": lambda: si.PPoly.from_spline(si.splrep(x, yv)), "BPoly": lambda: si.BPoly.from_derivatives([0, 1], [[0], [1]]),
        "UnivariateSpline": lambda: si.UnivariateSpline(x, yv), "InterpolatedUnivariateSpline": lambda: si.InterpolatedUnivariateSpline(x, yv),
        "LSQUnivariateSpline": lambda: si.LSQUnivariateSpline(x, yv, [0.5]),
        "RegularGridInterpolator": lambda: si.RegularGridInterpolator((x, x), np.outer(yv, yv)),
        "RBFInterpolator": lambda: si.RBFInterpolator(rng.rand(10, 2), rng.rand(10)),
        "Rbf": lambda: si.Rbf(rng.rand(10), rng.rand(10), rng.rand(10)),
        "LinearNDInterpolator": lambda: si.LinearNDInterpolator(rng.rand(10, 2), rng.rand(10)),
        "NearestNDInterpolator": lambda: si.NearestNDInterpolator(rng.rand(10, 2), rng.rand(10)),
        "CloughTocher2DInterpolator": lambda: si.CloughTocher2DInterpolator(rng.rand(10, 2), rng.rand(10)),
        "KroghInterpolator": lambda: si.KroghInterpolator(x[:4], yv[:4]),
        "BarycentricInterpolator": lambda: si.BarycentricInterpolator(x, yv),
        "RectBivariateSpline": lambda: si.RectBivariateSpline(x, x, np.outer(yv, yv)),
        "SmoothBivariateSpline": lambda: si.SmoothBivariateSpline(rng.rand(20), rng.rand(20), rng.rand(20), kx=1, ky=1),
        "CubicHermiteSpline": lambda: si.CubicHermiteSpline(x, yv, 2 * x),
        "NdPPoly": lambda: si.NdPPoly(np.zeros((1, 1, 1, 1)), (np.array([0.0, 1.0]), np.array([0.0, 1.0]))),
    }.items():
        try:
            emit("scipy", "interp_" + iname, mk(), "scipy.interpolate." + iname, containers=("joblib",))
        except Exception as e:  # noqa: BLE001
            note("scipy", iname, e)
    pts = rng.rand(12, 2)
    for sname, mk in {
        "cKDTree": lambda: ss.cKDTree(pts), "KDTree": lambda: ss.KDTree(pts), "Delaunay": lambda: ss.Delaunay(pts),
        "ConvexHull": lambda: ss.ConvexHull(pts), "Voronoi": lambda: ss.Voronoi(pts),
        "Rotation": lambda: Rotation.from_euler("xyz", [10, 20, 30], degrees=True),
        "Rotation_many": lambda: Rotation.random(3, random_state=0),
        "Slerp": lambda: Slerp([0, 1], Rotation.random(2, random_state=0)),
        "RotationSpline": lambda: __import__("scipy.spatial.transform", fromlist=["RotationSpline"]).RotationSpline(
            [0, 1, 2], Rotation.random(3, random_state=0)),
        "SphericalVoronoi": lambda: ss.SphericalVoronoi(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, 0, 0],
                                                                  [0, -1, 0], [0, 0, -1.0]])),
        "HalfspaceIntersection": lambda: ss.HalfspaceIntersection(
            np.array([[-1, 0, 0.], [0, -1, 0.], [1, 0, -1.], [0, 1, -1.]]), np.array([0.5, 0.5])),
    }.items():
        try:
            emit("scipy", "spatial_" + sname, mk(), "scipy.spatial." + sname, containers=("joblib",))
        except Exception as e:  # noqa: BLE001
            note("scipy", sname, e)
    for lname, mk in {
        "lti": lambda: sg.lti([1], [1, 1]), "dlti": lambda: sg.dlti([1], [1, 0.5]),
        "TransferFunction": lambda: sg.TransferFunction([1], [1, 2]), "ZerosPolesGain": lambda: sg.ZerosPolesGain([], [-1], 1),
        "StateSpace": lambda: sg.StateSpace(-np.eye(1), np.eye(1), np.eye(1), np.zeros((1, 1))),
        "ShortTimeFFT": lambda: sg.ShortTimeFFT(np.ones(4), 2, 1.0) if hasattr(sg, "ShortTimeFFT") else 1 / 0,
    }.items():
        try:
            emit("scipy", "signal_" + lname, mk(), "scipy.signal." + lname)
        except Exception as e:  # noqa: BLE001
            note("scipy", lname, e)
    for rname, mk in {
        "OptimizeResult": lambda: so.minimize(lambda v: (v ** 2).sum(), np.ones(2)),
        "least_squares": lambda: so.least_squares(lambda v: v - 1, np.zeros(2)),
        "linprog": lambda: so.linprog([1, 1], A_ub=[[-1, -1]], b_ub=[-1]),
        "root_scalar": lambda: so.root_scalar(lambda v: v - 1, bracket=[0, 2]),
        "Bounds": lambda: so.Bounds([0, 0], [1, 1]), "LinearConstraint": lambda: so.LinearConstraint(np.eye(2), 0, 1),
        "ttest": lambda: st.ttest_ind(rng.rand(10), rng.rand(10)), "pearsonr": lambda: st.pearsonr(rng.rand(10), rng.rand(10)),
        "describe": lambda: st.describe(rng.rand(10)), "linregress": lambda: st.linregress(rng.rand(10), rng.rand(10)),
        "ks": lambda: st.kstest(rng.rand(10), "uniform"), "bootstrap": lambda: st.bootstrap((rng.rand(10),), np.mean, n_resamples=20, random_state=0).confidence_interval,
        "mannwhitneyu": lambda: st.mannwhitneyu(rng.rand(10), rng.rand(10)),
        "sobol": lambda: st.qmc.Sobol(2, seed=0), "halton": lambda: st.qmc.Halton(2, seed=0),
        "lhs": lambda: st.qmc.LatinHypercube(2, seed=0), "poisson_disk": lambda: st.qmc.PoissonDisk(2, seed=0)
        if hasattr(st.qmc, "PoissonDisk") else 1 / 0,
        "mvn_qmc": lambda: st.qmc.MultivariateNormalQMC([0, 0], seed=0),
        "rv_histogram": lambda: st.rv_histogram(np.histogram(rng.rand(20), bins=4)),
        "rv_discrete": lambda: st.rv_discrete(values=([0, 1], [0.5, 0.5])),
        "bspline_basis": lambda: si.BSpline.basis_element([0, 1, 2]),
        "gamma_ufunc": lambda: {"f": spec.gamma, "g": spec.expit, "h": spec.erf},
        "special_ufuncs": lambda: [getattr(spec, n) for n in sorted(dir(spec)) if isinstance(getattr(spec, n), np.ufunc)],
        "fft_funcs": lambda: [scipy.fft.fft, scipy.fft.rfft],
        "stats_funcs": lambda: [st.norm.pdf, st.zscore, st.entropy],
        "coo_int64": lambda: sp.coo_matrix(np.eye(3, dtype=np.int64)),
        "sparse_eye_bool": lambda: sp.eye(3, dtype=bool, format="csr"),
        "sparse_block": lambda: sp.block_diag([np.eye(2), np.eye(1)], format="bsr"),
        "ndimage_footprint": lambda: __import__("scipy.ndimage", fromlist=["generate_binary_structure"]).generate_binary_structure(2, 1),
        "constants": lambda: (scipy.constants.c, scipy.constants.physical_constants["electron mass"]),
        "cluster_vq": lambda: __import__("scipy.cluster.vq", fromlist=["kmeans"]).kmeans(rng.rand(10, 2), 2, seed=0),
        "linkage": lambda: __import__("scipy.cluster.hierarchy", fromlist=["linkage"]).linkage(rng.rand(6, 2)),
        "ClusterNode": lambda: __import__("scipy.cluster.hierarchy", fromlist=["to_tree"]).to_tree(
            __import__("scipy.cluster.hierarchy", fromlist=["linkage"]).linkage(rng.rand(6, 2))),
    }.items():
        try:
            emit("scipy", "misc_" + rname, mk(), "scipy " + rname)
        except Exception as e:  # noqa: BLE001
            note("scipy", rname, e)


# ---------------------------------------------------------------- numpy ------------
def sweep_numpy():
    ufuncs = sorted(n for n in dir(np) if isinstance(getattr(np, n), np.ufunc))
    emit("numpy", "ufuncs_all", {n: getattr(np, n) for n in ufuncs}, "every numpy ufunc", containers=("joblib", "npy"))
    for n in ufuncs[::7]:
        emit("numpy", "ufunc_" + n, getattr(np, n), "numpy ufunc %s" % n, protos=(2, 4))
    P = np.polynomial
    for cname in ("Polynomial", "Chebyshev", "Legendre", "Laguerre", "Hermite", "HermiteE"):
        emit("numpy", "poly_" + cname, getattr(P, cname)([1, 2, 3]), "numpy.polynomial.%s" % cname, containers=("joblib",))
    emit("numpy", "poly_fit", P.Polynomial.fit(np.arange(5.0), np.arange(5.0) ** 2, 2), "Polynomial.fit")
    emit("numpy", "poly1d", np.poly1d([1, 2, 3]), "numpy.poly1d")
    ma = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    emit("numpy", "masked_array", ma, "masked array", containers=("joblib", "npy"))
    emit("numpy", "masked_constant", np.ma.masked, "numpy.ma.masked")
    emit("numpy", "masked_record", np.ma.masked_array(np.zeros(2, dtype=[("a", "i4"), ("b", "f8")])), "masked structured")
    emit("numpy", "masked_inside", {"m": ma, "c": np.ma.masked, "v": ma[1]}, "masked values")
    emit("numpy", "vectorize", np.vectorize(np.abs), "np.vectorize(np.abs)")
    emit("numpy", "vectorize_otypes", np.vectorize(np.sqrt, otypes=[float]), "np.vectorize(otypes)")
    dts = [np.dtype(c) for c in "?bBhHiIlLqQefdgFDGSUVOMm"] + [np.dtype("M8[ns]"), np.dtype("m8[s]"), np.dtype("<U5"),
                                                                  np.dtype([("a", "i4"), ("b", "O")]), np.dtype(("i4", (2,)))]
    emit("numpy", "dtypes", dts, "numpy dtypes of every kind", containers=("joblib",))
    scal = [np.bool_(True), np.int8(1), np.uint16(2), np.int64(3), np.float16(1), np.float32(2), np.float64(3),
            np.longdouble(4), np.complex64(1j), np.complex128(2j), np.clongdouble(3j), np.str_("s"), np.bytes_(b"b"),
            np.datetime64("2024-01-01"), np.timedelta64(5, "s"), np.void(b"\x00\x01")]
    emit("numpy", "scalars", scal, "numpy scalars of every type", containers=("joblib", "npy"))
    for gname, g in {"Generator_PCG64": np.random.default_rng(0), "RandomState": np.random.RandomState(0),
                     "MT19937": np.random.MT19937(0), "Philox": np.random.Philox(0), "SFC64": np.random.SFC64(0),
                     "PCG64DXSM": np.random.PCG64DXSM(0), "SeedSequence": np.random.SeedSequence(0),
                     "Generator_MT": np.random.Generator(np.random.MT19937(0))}.items():
        emit("numpy", "random_" + gname, g, "numpy.random %s" % gname, containers=("joblib",))
    emit("numpy", "matrix", np.matrix([[1, 2], [3, 4]]), "numpy.matrix")
    emit("numpy", "recarray", np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]), "numpy.recarray")
    emit("numpy", "record", np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])[0], "numpy.record")
    emit("numpy", "chararray", np.char.array(["a", "bc"]), "numpy.chararray")
    emit("numpy", "object_array", np.array([1, "a", None, (1, 2)], dtype=object), "object array",
         containers=("joblib", "npy"))
    emit("numpy", "finfo_iinfo", [np.finfo(np.float32), np.iinfo(np.int16)], "finfo / iinfo")
    emit("numpy", "errstate_fns", [np.sum, np.mean, np.linalg.norm, np.fft.fft, np.dot, np.einsum], "numpy functions as values")
    emit("numpy", "memmap_like", np.asarray(np.arange(3)), "plain array (memmap below)")
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".dat") as f:
        mm = np.memmap(f.name, dtype="f4", mode="w+", shape=(3,))
        emit("numpy", "memmap", mm, "numpy.memmap pickles as an ndarray subclass")
        emit("numpy", "memmap_slice", mm[1:], "slice of a memmap")
    emit("numpy", "datetime_array", np.array(["2024-01-01", "NaT"], dtype="M8[D]"), "datetime64 array", containers=("npy",))
    emit("numpy", "nditer_ndindex", np.ndindex(2, 2), "np.ndindex")
    emit("numpy", "broadcast_array", np.broadcast_to(np.arange(3), (2, 3)), "broadcast view")
    emit("numpy", "typecodes", (np.float64, np.int32, np.ndarray, np.generic, np.number), "numpy types as values")


# ---------------------------------------------------------------- pandas -----------
def sweep_pandas():
    import pandas as pd
    idx = {
        "RangeIndex": pd.RangeIndex(5), "Int64Index": pd.Index([1, 2, 3]), "UInt64Index": pd.Index(np.array([1, 2], dtype="u8")),
        "Float64Index": pd.Index([1.5, 2.5]), "object": pd.Index(["a", "b"]), "bool": pd.Index([True, False]),
        "DatetimeIndex": pd.date_range("2024-01-01", periods=3), "DatetimeIndex_tz": pd.date_range("2024-01-01", periods=3, tz="Europe/Paris"),
        "DatetimeIndex_utc": pd.date_range("2024-01-01", periods=3, tz="UTC"),
        "TimedeltaIndex": pd.timedelta_range("1 day", periods=3), "PeriodIndex": pd.period_range("2024-01", periods=3, freq="M"),
        "IntervalIndex": pd.interval_range(0, 3), "CategoricalIndex": pd.CategoricalIndex(["a", "b", "a"]),
        "MultiIndex": pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["x", "y"]),
        "Int8Index_ea": pd.Index(pd.array([1, None], dtype="Int8")), "string_index": pd.Index(pd.array(["a", None], dtype="string")),
        "freq_B": pd.bdate_range("2024-01-01", periods=3), "freq_W": pd.date_range("2024-01-01", periods=3, freq="W-MON"),
        "freq_Q": pd.date_range("2024-01-01", periods=3, freq="Q"), "freq_H": pd.date_range("2024-01-01", periods=3, freq="H"),
    }
    for n, i in idx.items():
        emit("pandas", "index_" + n, i, "pandas %s" % n)
        emit("pandas", "series_on_" + n, pd.Series(np.arange(len(i)), index=i), "Series on %s" % n, protos=(4,))
    dtypes = {
        "CategoricalDtype": pd.CategoricalDtype(["a", "b"], ordered=True), "DatetimeTZDtype": pd.DatetimeTZDtype(tz="UTC"),
        "PeriodDtype": pd.PeriodDtype("D"), "IntervalDtype": pd.IntervalDtype("int64"), "SparseDtype": pd.SparseDtype(float, 0),
        "StringDtype": pd.StringDtype(), "BooleanDtype": pd.BooleanDtype(), "Float64Dtype": pd.Float64Dtype(),
        "Float32Dtype": pd.Float32Dtype(),
    }
    for k in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"):
        dtypes[k + "Dtype"] = getattr(pd, k + "Dtype")()
    for n, d in dtypes.items():
        emit("pandas", "dtype_" + n, d, "pandas %s" % n, protos=(2, 4))
    arrays = {
        "Categorical": pd.Categorical(["a", "b", "a"]), "Int64": pd.array([1, None, 3], dtype="Int64"),
        "UInt8": pd.array([1, None], dtype="UInt8"), "Float32": pd.array([1.5, None], dtype="Float32"),
        "boolean": pd.array([True, None], dtype="boolean"), "string": pd.array(["a", None], dtype="string"),
        "Sparse": pd.arrays.SparseArray([0, 0, 1.0]), "Interval": pd.arrays.IntervalArray.from_breaks([0, 1, 2]),
        "Period": pd.period_range("2024", periods=2, freq="Y").array, "DatetimeTZ": pd.date_range("2024", periods=2, tz="US/Eastern").array,
        "Timedelta": pd.timedelta_range("1s", periods=2).array, "Numpy": pd.array(np.arange(3.0)),
    }
    df = pd.DataFrame({k: pd.Series(v) for k, v in arrays.items() if len(v) >= 2})
    for n, a in arrays.items():
        emit("pandas", "array_" + n, a, "pandas %s array" % n, protos=(2, 4))
        emit("pandas", "series_" + n, pd.Series(a, name=n), "Series of %s" % n, protos=(2, 5))
    emit("pandas", "frame_extension", df, "DataFrame of every extension array",
         containers=("pandas-gzip", "pandas-bz2", "pandas-xz", "pandas-zstd", "joblib"))
    scal = {
        "Timestamp": pd.Timestamp("2024-01-01 12:00"), "Timestamp_tz": pd.Timestamp("2024-01-01", tz="Asia/Tokyo"),
        "Timedelta": pd.Timedelta("1 day 2h"), "Period": pd.Period("2024-01", freq="M"), "Interval": pd.Interval(0, 1, closed="left"),
        "NaT": pd.NaT, "NA": pd.NA,
    }
    for n, s in scal.items():
        emit("pandas", "scalar_" + n, s, "pandas %s" % n)
    off = pd.tseries.offsets
    offsets = [off.Day(2), off.Hour(), off.Minute(), off.Second(), off.Milli(), off.Micro(), off.Nano(), off.BDay(),
               off.BusinessHour(), off.CustomBusinessDay(holidays=["2024-01-02"]), off.MonthEnd(), off.MonthBegin(),
               off.BMonthEnd(), off.SemiMonthEnd(), off.QuarterEnd(startingMonth=3), off.YearBegin(), off.Week(weekday=0),
               off.WeekOfMonth(week=1, weekday=2), off.LastWeekOfMonth(weekday=1), off.FY5253(weekday=0, startingMonth=1),
               off.Easter(), off.DateOffset(months=1, days=2), off.CustomBusinessMonthEnd(), off.BQuarterBegin(),
               off.FY5253Quarter(weekday=0, startingMonth=1, qtr_with_extra_week=1)]
    for o in offsets:
        emit("pandas", "offset_" + type(o).__name__, o, "pandas offset %r" % o, protos=(2, 4))
    emit("pandas", "frame_mixed", pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                                                 "d": pd.Categorical(["u", "v"])}), "mixed DataFrame",
         containers=("pandas-gzip", "pandas-bz2", "pandas-xz", "pandas-zstd", "joblib"))
    emit("pandas", "frame_multiindex_cols", pd.DataFrame(np.zeros((2, 4)), columns=idx["MultiIndex"]), "MultiIndex columns")
    emit("pandas", "frame_sparse", pd.DataFrame({"s": pd.arrays.SparseArray([0, 1.0, 0])}), "sparse frame")
    emit("pandas", "groupby_result", pd.DataFrame({"k": [1, 1, 2], "v": [1, 2, 3]}).groupby("k").agg(["sum", "mean"]), "groupby agg")
    emit("pandas", "styler_free_flags", pd.DataFrame({"a": [1]}).set_flags(allows_duplicate_labels=False), "frame flags")


# ---------------------------------------------------------------- stdlib -----------
def sweep_stdlib():
    import argparse, collections, datetime, decimal, difflib, enum, fractions, http, ipaddress, os as _os, random
    import re, signal, socket, statistics, string, time as _time, types, urllib.parse as up, uuid, zoneinfo
    import calendar, array, struct, inspect as _inspect, dataclasses, typing, functools, operator, pathlib
    vals = {
        "Namespace": argparse.Namespace(a=1, b="x"), "decimal_Context": decimal.Context(prec=10),
        "decimal_context_default": decimal.getcontext().copy(), "struct_time": _time.gmtime(0),
        "Random": random.Random(0), "SystemRandom_state": random.Random(1).getstate(),
        "NormalDist": statistics.NormalDist(1, 2), "SimpleNamespace": types.SimpleNamespace(a=1),
        "stat_result": _os.stat(HERE), "terminal_size": _os.terminal_size((80, 24)),
        "signals": [signal.SIGTERM, signal.SIGINT, signal.Signals.SIGHUP, signal.Handlers.SIG_DFL],
        "socket_enums": [socket.AF_INET, socket.AF_INET6, socket.SOCK_STREAM, socket.AddressFamily.AF_UNIX],
        "urlparse": up.urlparse("https://example.org/a?b=c#d"), "urlsplit": up.urlsplit("https://example.org/a"),
        "urldefrag": up.urldefrag("https://example.org/a#x"), "urlparse_bytes": up.urlparse(b"https://example.org/"),
        "HTTPStatus": [http.HTTPStatus.OK, http.HTTPStatus.NOT_FOUND], "HTTPMethod": getattr(http, "HTTPMethod", http.HTTPStatus).__members__ and None,
        "difflib_Match": difflib.SequenceMatcher(None, "abc", "abd").find_longest_match(0, 3, 0, 3),
        "re_flags": re.compile("a", re.I | re.M), "re_flag_value": re.I | re.M | re.S, "re_flag": re.IGNORECASE,
        "re_bytes": re.compile(b"x+", re.I),
        "Fraction": fractions.Fraction(1, 3), "Decimal_nan": decimal.Decimal("NaN"),
        "ipaddress_net": [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_interface("::1/128")],
        "uuid": [uuid.UUID(int=1), uuid.SafeUUID.safe], "calendar_enum": getattr(calendar, "Month", None) and calendar.Month.JANUARY,
        "weekday": getattr(calendar, "MONDAY", 0), "Counter": collections.Counter("abca"),
        "namedtuple_stdlib": [_time.gmtime(0), _os.terminal_size((1, 2))],
        "array_types": [array.array(t, [1]) for t in "bBhHiIlLqQ"] + [array.array("d", [1.5])],
        "string_Template": string.Template("$a"), "slice_range": [slice(1, 2), range(3)],
        "datetime_all": [datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), datetime.date(2024, 1, 1),
                         datetime.time(1, 2), datetime.timedelta(1), datetime.timezone(datetime.timedelta(hours=2), "X")],
        "zoneinfo": zoneinfo.ZoneInfo("Europe/Paris"), "complex": complex(1, 2), "frozenset": frozenset([1, 2]),
        "bytearray": bytearray(b"ab"), "memory_types": [int, float, str, bytes, list, dict, tuple, set, type(None)],
        "enum_flag_combo": re.RegexFlag(re.I | re.X), "inspect_free_empty": None,
        "dataclass_field_MISSING": None, "typing_generic_alias": typing.List[int], "types_GenericAlias": list[int],
        "ellipsis_notimpl": [Ellipsis, NotImplemented], "OrderedDict": collections.OrderedDict(a=1),
        "deque": collections.deque([1, 2], maxlen=5), "defaultdict": collections.defaultdict(list, {"a": [1]}),
        "ChainMap": collections.ChainMap({"a": 1}, {"b": 2}), "UserString": collections.UserString("x"),
        "pathlib": [pathlib.PurePosixPath("/a/b"), pathlib.PureWindowsPath("c:/x"), pathlib.PosixPath("/tmp")],
        "struct_Struct_fmt": struct.calcsize("i"), "exceptions": [ValueError("x"), KeyError("k"), StopIteration(1)],
        "builtin_funcs": [len, abs, min, max, sum, sorted, round, divmod, pow, isinstance, repr, hash, id, iter, next],
        "math_funcs": [__import__("math").sqrt, __import__("math").log, __import__("cmath").exp],
        "statistics_funcs": [statistics.mean, statistics.median],
        "datetime_utc": datetime.timezone.utc, "datetime_min": [datetime.datetime.min, datetime.date.max],
        "property_obj": None,
    }
    for n, v in vals.items():
        if v is None:
            continue
        emit("stdlib", n, v, "stdlib %s" % n)
    # enum members of every stdlib module we can import
    mods = ["http", "signal", "socket", "re", "ssl", "inspect", "uuid", "enum", "calendar", "plistlib", "pstats",
            "tkinter", "ast", "os", "errno", "locale", "logging", "subprocess", "py_compile", "string", "decimal"]
    members = []
    for mn in mods:
        try:
            m = importlib.import_module(mn)
        except Exception:  # noqa: BLE001
            continue
        for k in sorted(dir(m)):
            v = getattr(m, k, None)
            if isinstance(v, type) and issubclass(v, enum.Enum) and v.__module__ == mn and len(v):
                members.append((mn, k, list(v)[0]))
    for mn, k, member in members:
        emit("stdlib", "enum_%s_%s" % (mn, k), member, "first member of %s.%s" % (mn, k), protos=(2, 4))


# ---------------------------------------------------------------- time zones -------
def sweep_tz():
    import datetime
    import zoneinfo
    zones = {"timezone_utc": datetime.timezone.utc, "timezone_fixed": datetime.timezone(datetime.timedelta(hours=-5)),
             "zoneinfo_paris": zoneinfo.ZoneInfo("Europe/Paris"), "zoneinfo_utc": zoneinfo.ZoneInfo("UTC")}
    try:
        import pytz
        zones.update(pytz_utc=pytz.utc, pytz_eastern=pytz.timezone("US/Eastern"), pytz_static=pytz.timezone("EST"),
                     pytz_fixed=pytz.FixedOffset(90), pytz_localized=pytz.timezone("Europe/Berlin").localize(
                         datetime.datetime(2024, 7, 1)).tzinfo, pytz_gmt=pytz.timezone("GMT"))
    except Exception as e:  # noqa: BLE001
        note("tz", "pytz", e)
    try:
        from dateutil import tz as dtz, relativedelta, rrule
        zones.update(dateutil_utc=dtz.tzutc(), dateutil_UTC=dtz.UTC, dateutil_offset=dtz.tzoffset("X", 3600),
                     dateutil_local=dtz.tzlocal(), dateutil_gettz=dtz.gettz("America/New_York"),
                     dateutil_tzstr=dtz.tzstr("EST5EDT"), dateutil_tzrange=dtz.tzrange("EST", -18000, "EDT"),
                     dateutil_resolve=dtz.resolve_imaginary(datetime.datetime(2024, 3, 10, 2, 30, tzinfo=dtz.gettz("US/Eastern"))).tzinfo)
        emit("tz", "dateutil_relativedelta", relativedelta.relativedelta(months=1, weekday=relativedelta.MO(1)), "relativedelta")
        emit("tz", "dateutil_rrule", rrule.rrule(rrule.DAILY, count=3, dtstart=datetime.datetime(2024, 1, 1)), "rrule")
        emit("tz", "dateutil_weekdays", [relativedelta.MO, relativedelta.FR(-1)], "weekday objects")
    except Exception as e:  # noqa: BLE001
        note("tz", "dateutil", e)
    for n, z in zones.items():
        emit("tz", n, z, "time zone %s" % n)
        emit("tz", "datetime_" + n, datetime.datetime(2024, 7, 1, 12, tzinfo=z), "datetime with %s" % n, protos=(2, 5))
    import pandas as pd
    for n in ("UTC", "Europe/Paris", "US/Eastern", "dateutil/Europe/London", "Asia/Kolkata"):
        try:
            ts = pd.Timestamp("2024-07-01", tz=n)
            emit("tz", "pandas_ts_" + n.replace("/", "_"), ts, "pandas Timestamp tz=%s" % n, protos=(2, 4))
            emit("tz", "pandas_dti_" + n.replace("/", "_"), pd.date_range("2024", periods=2, tz=n), "DatetimeIndex tz=%s" % n,
                 protos=(4,), containers=("pandas-gzip",))
        except Exception as e:  # noqa: BLE001
            note("tz", n, e)
    try:
        import pytz
        ts = pd.Timestamp("2024-07-01").tz_localize(pytz.timezone("Europe/Berlin"))
        emit("tz", "pandas_ts_pytz", ts, "pandas Timestamp with a pytz zone")
        ts = pd.Timestamp("2024-07-01").tz_localize(datetime.timezone(datetime.timedelta(hours=3)))
        emit("tz", "pandas_ts_fixed", ts, "pandas Timestamp with a fixed offset")
    except Exception as e:  # noqa: BLE001
        note("tz", "pandas pytz", e)


# ---------------------------------------------------------------- xgboost ----------
def sweep_xgboost():
    import xgboost as xgb
    X = rng.rand(30, 3)
    y = (X[:, 0] > 0.5).astype(int)
    for n, m in {"XGBClassifier": xgb.XGBClassifier(n_estimators=2, max_depth=2),
                 "XGBRegressor": xgb.XGBRegressor(n_estimators=2, max_depth=2),
                 "XGBRFClassifier": xgb.XGBRFClassifier(n_estimators=2, max_depth=2),
                 "XGBRFRegressor": xgb.XGBRFRegressor(n_estimators=2, max_depth=2),
                 "XGBRanker": xgb.XGBRanker(n_estimators=2, max_depth=2)}.items():
        try:
            if n == "XGBRanker":
                m.fit(X, y, group=[10, 10, 10])
            else:
                m.fit(X, y)
        except Exception as e:  # noqa: BLE001
            note("xgboost", n, e)
            continue
        emit("xgboost", n, m, "xgboost %s" % n, protos=(2, 4), containers=("joblib",))
        emit("xgboost", n + "_booster", m.get_booster(), "xgboost Booster of %s" % n, protos=(4,))


# ---------------------------------------------------------------- extra libraries --
def sweep_extra():
    def tryit(lib, n, mk):
        try:
            emit("extra", lib + "_" + n, mk(), "%s %s" % (lib, n), protos=(2, 4))
        except Exception as e:  # noqa: BLE001
            note("extra", lib + " " + n, e)
    X = rng.rand(30, 2)
    yv = X @ [1.0, 2.0] + rng.rand(30) * 0.1
    try:
        import statsmodels.api as sm
        tryit("statsmodels", "OLS_results", lambda: sm.OLS(yv, sm.add_constant(X)).fit())
        tryit("statsmodels", "OLS_results_removed", lambda: (lambda r: (r.remove_data(), r)[1])(sm.OLS(yv, sm.add_constant(X)).fit()))
        tryit("statsmodels", "GLM_results", lambda: sm.GLM(yv, sm.add_constant(X), family=sm.families.Gaussian()).fit())
        tryit("statsmodels", "Logit_results", lambda: sm.Logit((yv > yv.mean()).astype(float), sm.add_constant(X)).fit(disp=0))
        tryit("statsmodels", "ARIMA", lambda: __import__("statsmodels.tsa.arima.model", fromlist=["ARIMA"]).ARIMA(
            rng.rand(30), order=(1, 0, 0)).fit())
        tryit("statsmodels", "families", lambda: [sm.families.Binomial(), sm.families.Poisson(), sm.families.links.Logit()])
    except Exception as e:  # noqa: BLE001
        note("extra", "statsmodels", e)
    try:
        import networkx as nx
        tryit("networkx", "Graph", lambda: nx.karate_club_graph())
        tryit("networkx", "DiGraph", lambda: nx.gn_graph(10, seed=0))
        tryit("networkx", "MultiGraph", lambda: nx.MultiGraph([(1, 2), (1, 2)]))
        tryit("networkx", "MultiDiGraph", lambda: nx.MultiDiGraph([(1, 2)]))
    except Exception as e:  # noqa: BLE001
        note("extra", "networkx", e)
    try:
        from PIL import Image
        for mode in ("RGB", "L", "RGBA", "P", "1", "F", "I"):
            tryit("PIL", "Image_" + mode, lambda: Image.new(mode, (4, 4)))
    except Exception as e:  # noqa: BLE001
        note("extra", "PIL", e)
    try:
        import xarray as xr
        tryit("xarray", "DataArray", lambda: xr.DataArray(np.zeros((2, 3)), dims=("x", "y"), coords={"x": [1, 2]}))
        tryit("xarray", "Dataset", lambda: xr.Dataset({"a": (("x",), np.arange(3))}, coords={"x": [10, 20, 30]}))
    except Exception as e:  # noqa: BLE001
        note("extra", "xarray", e)
    try:
        from gensim.corpora import Dictionary
        from gensim.models import Word2Vec, TfidfModel
        docs = [["cat", "sat"], ["dog", "ran"], ["cat", "ran"]] * 3
        tryit("gensim", "Dictionary", lambda: Dictionary(docs))
        tryit("gensim", "Word2Vec", lambda: Word2Vec(docs, vector_size=4, min_count=1, workers=1, seed=0))
        tryit("gensim", "KeyedVectors", lambda: Word2Vec(docs, vector_size=4, min_count=1, workers=1, seed=0).wv)
        tryit("gensim", "TfidfModel", lambda: TfidfModel(dictionary=Dictionary(docs)))
    except Exception as e:  # noqa: BLE001
        note("extra", "gensim", e)
    try:
        import sympy
        x = sympy.Symbol("x")
        tryit("sympy", "expr", lambda: sympy.sin(x) ** 2 + sympy.Rational(1, 3) * x)
        tryit("sympy", "matrix", lambda: sympy.Matrix([[1, x], [0, 1]]))
        tryit("sympy", "numbers", lambda: [sympy.Integer(3), sympy.Float(1.5), sympy.pi, sympy.oo, sympy.I])
    except Exception as e:  # noqa: BLE001
        note("extra", "sympy", e)
    try:
        import astropy.units as u
        from astropy.time import Time
        from astropy.table import Table
        tryit("astropy", "Quantity", lambda: 3.0 * u.m / u.s)
        tryit("astropy", "Unit", lambda: u.km)
        tryit("astropy", "Time", lambda: Time("2024-01-01T00:00:00", scale="utc"))
        tryit("astropy", "Table", lambda: Table({"a": [1, 2], "b": [1.0, 2.0]}))
    except Exception as e:  # noqa: BLE001
        note("extra", "astropy", e)


def sweep_torchlegacy():
    """The legacy torch.save format at every pickle protocol (torch.load still reads it)."""
    import torch
    import torch.nn as nn
    torch.manual_seed(0)
    for n, obj in (("linear", nn.Linear(2, 2)), ("state_dict", nn.Linear(2, 2).state_dict()),
                   ("tensors", {"a": torch.zeros(3), "b": torch.ones(2, dtype=torch.int64)})):
        emit("torchlegacy", n, obj, n, protos=(), containers=("torch-legacy-p2", "torch-legacy-p3", "torch-legacy-p4",
                                                                "torch-legacy-p5"))


SWEEPS = {"torchlegacy": sweep_torchlegacy, "torch": sweep_torch, "sklearn": sweep_sklearn, "scipy": sweep_scipy, "numpy": sweep_numpy,
          "pandas": sweep_pandas, "stdlib": sweep_stdlib, "tz": sweep_tz, "xgboost": sweep_xgboost, "extra": sweep_extra}
for cat, fn in SWEEPS.items():
    if want(cat):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            note(cat, "(whole sweep)", e)
            import traceback
            traceback.print_exc()

# MANIFEST / SKIPPED: merge with the rows of categories not rebuilt now
def merge(path, rows, key):
    old = []
    if ONLY is not None and os.path.exists(path):
        old = [l.rstrip("\n") for l in open(path) if not l.startswith("#") and key(l) not in ONLY]
    return sorted(old + rows)


import platform  # noqa: E402
vers = "python %s numpy %s" % (platform.python_version(), np.__version__)
for lib in ("scipy", "sklearn", "pandas", "torch", "joblib", "xgboost"):
    try:
        vers += " %s %s" % (lib, importlib.import_module(lib).__version__)
    except Exception:  # noqa: BLE001
        pass
rows = merge(os.path.join(HERE, "MANIFEST.tsv"), ["%s\t%s" % m for m in manifest], lambda l: l.split("/")[0])
with open(os.path.join(HERE, "MANIFEST.tsv"), "w") as f:
    f.write("# " + vers + "\n# file\twhat made it\n")
    f.write("".join(r + "\n" for r in rows))
rows = merge(os.path.join(HERE, "SKIPPED.txt"), skipped, lambda l: l.split("/")[0])
with open(os.path.join(HERE, "SKIPPED.txt"), "w") as f:
    f.write("# objects make_sweep.py could not build or pickle (not files)\n")
    f.write("".join(r + "\n" for r in rows))
print("%d files, %d skipped" % (len(manifest), len(skipped)))
