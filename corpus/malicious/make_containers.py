#!/usr/bin/python3
"""THREATS.md section D: container tricks, one file each, under containers/.

Run with Debian's /usr/bin/python3 (numpy, torch and joblib make the real
base files; the zstd, lz4 and bsdtar commands make those formats). Nothing is
ever loaded. Payload: os.system('true'). Writes containers/expected.tsv:
file, minimum verdict (or the status), a text `brine scan` must print.
"""
import bz2
import gzip
import io
import lzma
import os
import struct
import subprocess
import tempfile
import zipfile
import zlib

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "containers")
os.makedirs(HERE, exist_ok=True)
rows = []

PAYLOAD = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
BENIGN = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."


def emit(name, data, want, text):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    rows.append((name, want, text))


def zip_bytes(members, compress=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in members:
            z.writestr(name, data)
    return bytearray(buf.getvalue())


# ---- raw pickles under misleading names --------------------------------------------------
for name in ("D-raw.safetensors", "D-raw.bin", "D-raw.pt", "D-raw.txt", "D-raw-no-extension"):
    emit(name, PAYLOAD, "dangerous", "os:system")

# ---- PyTorch zip ---------------------------------------------------------------------------
import torch  # noqa: E402

buf = io.BytesIO()
torch.save({"w": torch.ones(2)}, buf)
real = buf.getvalue()
with zipfile.ZipFile(io.BytesIO(real)) as z:
    members = [(n, z.read(n)) for n in z.namelist()]
emit("D-torch-zip-payload.pt", bytes(zip_bytes([(n, PAYLOAD if n.endswith("/data.pkl") else d) for n, d in members])),
     "dangerous", "data.pkl")
emit("D-torch-zip-any-prefix.pt", bytes(zip_bytes([(n.replace("archive/", "innocent_name/"),
                                                    PAYLOAD if n.endswith("/data.pkl") else d) for n, d in members])),
     "dangerous", "innocent_name/data.pkl")
emit("D-torch-zip-extra-pickle.pt", bytes(zip_bytes(members + [("archive/extra.pkl", PAYLOAD)])), "dangerous",
     "archive/extra.pkl")
emit("D-torch-zip-extra-unnamed.pt", bytes(zip_bytes(members + [("archive/blob", PAYLOAD)])), "dangerous",
     "archive/blob")
emit("D-torchscript.pt", bytes(zip_bytes([("model/data.pkl", BENIGN), ("model/constants.pkl", BENIGN),
                                          ("model/code/__torch__.py", b"def forward(self):\n  return 1\n")])),
     "suspicious", "TorchScript")
emit("D-torchscript-constants-payload.pt", bytes(zip_bytes([("model/data.pkl", BENIGN), ("model/constants.pkl", PAYLOAD),
                                                            ("model/code/__torch__.py", b"x = 1\n")])),
     "dangerous", "constants.pkl")

# ---- zip tricks -------------------------------------------------------------------------------
z = zip_bytes([("archive/data.pkl", BENIGN)])
i = z.index(b"PK\x03\x04")
z2 = bytearray(z)
z2[i + 30:i + 30 + 16] = b"archive/data.pkX"  # the local header names another file
emit("D-zip-name-mismatch.zip", bytes(z2), "suspicious", "the local header names another file")
z3 = bytearray(z)
z3[i + 6] |= 0x40  # strong-encryption flag in the local header only
emit("D-zip-odd-flags.zip", bytes(z3), "suspicious", "flags differ")
z4 = bytearray(z)
data_at = i + 30 + 16
z4[data_at + 5] ^= 0x01  # change a byte of the pickle: the CRC no longer matches
emit("D-zip-bad-crc.zip", bytes(z4), "suspicious", "CRC-32 does not match")
z5 = bytearray(z)
c = z5.index(b"PK\x01\x02")
z5[i + 6] |= 0x01
z5[c + 8] |= 0x01  # encrypted, in both headers
emit("D-zip-encrypted.zip", bytes(z5), "inconclusive", "encrypted member")
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as zz:
    zz.writestr("archive/data.pkl", BENIGN)
    zz.writestr("archive/data.pkl", PAYLOAD)  # zipfile warns and writes both
emit("D-zip-duplicate-names.zip", buf.getvalue(), "dangerous", "appears twice")
emit("D-pickle-with-zip-appended.pt", PAYLOAD + real, "dangerous", "bytes before the zip archive")
emit("D-zip-with-pickle-appended.pt", real + PAYLOAD, "dangerous", "bytes after the end of the zip archive")
# a member only the local headers show: a local entry with no directory entry
hidden = zip_bytes([("evil.pkl", PAYLOAD)])
visible = zip_bytes([("archive/data.pkl", BENIGN)])
hl_end = hidden.index(b"PK\x01\x02")
v_cd = visible.index(b"PK\x01\x02")
shift = hl_end
vis = bytearray(visible)
cd = bytearray(vis[v_cd:])
struct.pack_into("<I", cd, 42, struct.unpack_from("<I", cd, 42)[0] + shift)  # local header offset
eocd = cd.rindex(b"PK\x05\x06")
struct.pack_into("<I", cd, eocd + 16, v_cd + shift)  # central directory offset
emit("D-zip-hidden-local-member.zip", bytes(hidden[:hl_end] + vis[:v_cd] + cd), "dangerous",
     "only the local headers show")
# overlapping members: two directory entries for one local header
ov = zip_bytes([("a.pkl", BENIGN), ("b.pkl", BENIGN)])
cds = [k for k in range(len(ov)) if ov[k:k + 4] == b"PK\x01\x02"]
struct.pack_into("<I", ov, cds[1] + 42, 0)  # b.pkl points at a.pkl's local header
emit("D-zip-overlapping-members.zip", bytes(ov), "suspicious", "members overlap")

# ---- legacy PyTorch ---------------------------------------------------------------------------
buf = io.BytesIO()
torch.save({"w": torch.ones(2)}, buf, _use_new_zipfile_serialization=False)
legacy = buf.getvalue()
f = io.BytesIO(legacy)
import pickletools  # noqa: E402

bounds = []
for _ in range(5):
    start = f.tell()
    for _op in pickletools.genops(f):
        pass
    bounds.append((start, f.tell()))
main = legacy[bounds[3][0]:bounds[3][1]]
# the main pickle with a payload run first (its value is discarded with POP)
evil_main = main[:2] + PAYLOAD[2:-1] + b"0" + main[2:]
emit("D-torch-legacy-payload.pt", legacy[:bounds[3][0]] + evil_main + legacy[bounds[3][1]:], "dangerous", "os:system")
emit("D-torch-legacy-trailing-pickle.pt", legacy + PAYLOAD, "dangerous", "after the last storage")
with tempfile.TemporaryDirectory() as t:
    for name, data in (("sys_info", legacy[bounds[2][0]:bounds[2][1]]), ("pickle", PAYLOAD),
                       ("tensors", b"\x80\x02K\x00.")):
        open(os.path.join(t, name), "wb").write(data)
    subprocess.run(["bsdtar", "-cf", os.path.join(HERE, "D-torch-legacy-tar.tar"), "--format", "ustar", "-C", t,
                    "sys_info", "pickle", "tensors"], check=True)
rows.append(("D-torch-legacy-tar.tar", "dangerous", "!pickle"))

# ---- numpy ---------------------------------------------------------------------------------------
def npy(descr, shape, body):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


emit("D-npy-object-payload.npy", npy("|O", "(1,)", PAYLOAD), "dangerous", "os:system")
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as zz:
    zz.writestr("arr_0.npy", npy("<f8", "(2,)", b"\0" * 16))
    zz.writestr("arr_1.npy", npy("|O", "(1,)", PAYLOAD))
emit("D-npz-object-payload.npz", buf.getvalue(), "dangerous", "arr_1.npy")
emit("D-npy-trailing-pickle.npy", npy("<f8", "(2,)", b"\0" * 16) + PAYLOAD, "dangerous", "np.load ignores them")
emit("D-npy-v3-object.npy", b"\x93NUMPY\x03\x00" + struct.pack("<I", 64) +
     ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".ljust(63) + "\n").encode() + PAYLOAD,
     "dangerous", "os:system")

# ---- joblib ----------------------------------------------------------------------------------------
import joblib  # noqa: E402
import numpy as np  # noqa: E402

buf = io.BytesIO()
joblib.dump({"a": np.arange(4.0)}, buf)
jb = buf.getvalue()
assert jb.endswith(b".")
# a payload after the array bytes, before the final STOP: a scanner that
# cannot skip the array never reaches it
evil_jb = jb[:-1] + PAYLOAD[2:-1] + b"0" + b"."
emit("D-joblib-payload-after-array.joblib", evil_jb, "dangerous", "os:system")
for comp, fn in (("zlib", zlib.compress), ("gzip", gzip.compress), ("bz2", bz2.compress),
                 ("xz", lzma.compress), ("lzma", lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE))):
    emit("D-joblib-%s.joblib" % comp, fn(evil_jb), "dangerous", "<%s>" % comp)
lz4 = subprocess.run(["lz4", "-c"], input=evil_jb, capture_output=True, check=True).stdout
emit("D-joblib-lz4.joblib", lz4, "dangerous", "<lz4>")
# array bytes that are opcodes for pickle.load: joblib skips them, pickle.load runs them.
# A hand-made wrapper without alignment padding (older joblib), uint8 data.
body = b"cos\nsystem\n(S'true'\ntR0"
wrapper = (b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\nq\x00)\x81q\x01}q\x02("
           b"X\x08\x00\x00\x00subclassq\x03cnumpy\nndarray\nq\x04"
           b"X\x05\x00\x00\x00shapeq\x05" + b"K" + bytes([len(body)]) + b"\x85q\x06"
           b"X\x05\x00\x00\x00orderq\x07X\x01\x00\x00\x00Cq\x08"
           b"X\x05\x00\x00\x00dtypeq\x09cnumpy\ndtype\nq\x0aX\x02\x00\x00\x00u1q\x0b\x89\x88\x87q\x0cRq\x0d"
           b"(K\x03X\x01\x00\x00\x00|q\x0eNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0fb"
           b"X\x0a\x00\x00\x00allow_mmapq\x10\x89ub")
emit("D-joblib-array-bytes-are-opcodes.joblib", wrapper + body + b".", "dangerous", "<as-plain-pickle>")

# ---- compression wrappers, archives --------------------------------------------------------------
emit("D-pickle.gz", gzip.compress(PAYLOAD), "dangerous", "<gzip>")
emit("D-pickle.bz2", bz2.compress(PAYLOAD), "dangerous", "<bz2>")
emit("D-pickle.xz", lzma.compress(PAYLOAD), "dangerous", "<xz>")
emit("D-pickle.zst", subprocess.run(["zstd", "-c"], input=PAYLOAD, capture_output=True, check=True).stdout,
     "dangerous", "<zstd>")
emit("D-pickle.lz4", subprocess.run(["lz4", "-c"], input=PAYLOAD, capture_output=True, check=True).stdout,
     "dangerous", "<lz4>")
with tempfile.TemporaryDirectory() as t:
    open(os.path.join(t, "model.bin"), "wb").write(PAYLOAD)
    for name, args in (("D-archive.tar", ["--format", "ustar"]), ("D-archive.tar.gz", ["--format", "ustar", "-z"]),
                       ("D-archive.7z", ["--format", "7zip"])):
        subprocess.run(["bsdtar", "-cf", os.path.join(HERE, name)] + args + ["-C", t, "model.bin"], check=True)
        rows.append((name, "dangerous", "model.bin"))

# ---- nested pickles ------------------------------------------------------------------------------------
nested = b"\x80\x04}\x94\x8c\x05model\x94C" + bytes([len(PAYLOAD)]) + PAYLOAD + b"\x94\x8c\x08versions\x94N" + b"u."
nested = b"\x80\x04}\x94(\x8c\x05model\x94C" + bytes([len(PAYLOAD)]) + PAYLOAD + b"\x94\x8c\x08versions\x94Nu."
emit("D-nested-pickle-bytes.pkl", nested, "dangerous", "!<nested>")
s = PAYLOAD.decode("latin-1").encode("utf-8")
emit("D-nested-pickle-str.pkl", b"\x80\x04X" + struct.pack("<I", len(s)) + s + b".", "dangerous", "!<nested>")
deep = PAYLOAD
for _ in range(3):
    deep = b"\x80\x04C" + bytes([len(deep)]) + deep + b"." if len(deep) < 256 else deep
emit("D-nested-three-deep.pkl", deep, "dangerous", "<nested>@")
npz = io.BytesIO()
with zipfile.ZipFile(npz, "w") as zz:
    zz.writestr("arr_0.npy", npy("|O", "(1,)", PAYLOAD))
blob = npz.getvalue()
emit("D-nested-npz-in-pickle.pkl", b"\x80\x04}\x94\x8c\x03npz\x94B" + struct.pack("<I", len(blob)) + blob + b"s.",
     "dangerous", "!<nested>!arr_0.npy")

# ---- E: a decompression bomb ------------------------------------------------------------------------------
emit("E-bomb.bz2", bz2.compress(b"\0" * (256 << 20)), "inconclusive", "max_ratio")

with open(os.path.join(HERE, "expected.tsv"), "w") as f:
    f.write("# file\tminimum verdict (or the status)\ttext `brine scan` must print\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(len(rows), "files")
