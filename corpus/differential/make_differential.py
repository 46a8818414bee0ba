#!/usr/bin/python3
"""THREATS.md D, "Reader differentials (wave 2)" (issue 9): one file per point
where two real readers of a format disagree, or where brine's reader might
read a container differently from the loader that really opens it.

Run with Debian's /usr/bin/python3 (torch, numpy, joblib). Deterministic: fixed
mtimes, no randomness. Nothing is ever unpickled here; verify_loaders.py proves
with recording unpicklers that the named loader reaches the payload.

Payload: os.system('true') (or builtins.print). Writes expected.tsv:
file, expected verdict, text `brine scan` must print, the real loader that runs
it, gap mark (filled in by hand after running brine; kept from the old file).
"""
import bz2
import gzip
import io
import lzma
import os
import struct
import sys
import tarfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
rows = []
MTIME = 1600000000
ZDATE = (2020, 9, 13, 12, 26, 40)

# os.system('true'), protocol 2 (PROTO header)
P2 = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
# the same call in protocol 0: no PROTO, starts with GLOBAL, ends with STOP
P0 = b"cos\nsystem\n(S'true'\ntR."
# protocol 1 starting with BININT1 + POP: no PROTO, first byte 'K'
P1K = b"K\x010cos\nsystem\n(U\x04truetR."
# protocol 0 starting with a FLOAT + POP
P0F = b"F1.0\n0cos\nsystem\n(S'true'\ntR."
# builtins.print('pwned'), protocol 0
PPRINT = b"cbuiltins\nprint\n(S'pwned'\ntR."
BENIGN = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."


def keep_gaps():
    """The gap column is brine's state, set by hand; regenerating keeps it."""
    try:
        with open(os.path.join(HERE, "expected.tsv")) as f:
            return {l.split("\t")[0]: l.rstrip("\n").split("\t")[4] for l in f
                    if not l.startswith("#") and l.count("\t") >= 4}
    except OSError:
        return {}


GAPS = keep_gaps()


def emit(name, data, text, loader, verdict="dangerous"):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    rows.append((name, verdict, text, loader, GAPS.get(name, "")))


# ---- zip: a hand assembler (stored members, absolute offsets from `base`) --------------------

def zip_parts(members, base=0):
    """members: (name, data). Returns (local headers + data, central directory)."""
    local, central = bytearray(), bytearray()
    for name, data in members:
        name = name.encode()
        crc = zlib.crc32(data)
        off = base + len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0x6000, 0x5121, crc, len(data), len(data),
                             len(name), 0) + name + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 0, 0x6000, 0x5121, crc, len(data),
                               len(data), len(name), 0, 0, 0, 0, 0, off) + name
    return bytes(local), bytes(central)


def eocd(n, cd_size, cd_off, comment=b"", claimed=None):
    return struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, cd_size, cd_off,
                       len(comment) if claimed is None else claimed) + comment


def zip_file(members, base=0, comment=b""):
    local, central = zip_parts(members, base)
    return local + central + eocd(len(members), len(central), base + len(local), comment)


def zipfile_bytes(members, mode="w", prefix=b""):
    """Python's own writer. mode 'a' on a non-zip: offsets absolute (prefix included)."""
    buf = io.BytesIO(prefix)
    buf.seek(0, 2)
    with zipfile.ZipFile(buf, mode) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, ZDATE)
            z.writestr(zi, data)
    return buf.getvalue()


import lz4.frame  # noqa: E402
import torch  # noqa: E402
import zstandard  # noqa: E402

_b = io.BytesIO()
torch.save({"w": torch.ones(2)}, _b)
with zipfile.ZipFile(io.BytesIO(_b.getvalue())) as _z:
    TORCH = [(n, _z.read(n)) for n in _z.namelist()]


def torch_members(payload=None, rename=None):
    out = []
    for n, d in TORCH:
        if n.endswith("/data.pkl"):
            d = payload if payload is not None else d
            n = rename or n
        out.append((n, d))
    return out


# Z1: the last EOCD signature wins (zipfile: rfind; miniz: the last signature with 22 bytes
# after it). Directory A (benign) has a comment that runs to the end of the file; inside it
# sit the payload member, directory B and EOCD B, then one byte: B's comment does not end the
# file, A's does. A reader that prefers "the record whose comment ends the file" reads A.
def hidden_in_comment(benign, evil):
    la, ca = zip_parts(benign, 0)
    head_len = len(la) + len(ca) + 22
    lb, cb = zip_parts(evil, head_len)
    tail = lb + cb + eocd(len(evil), len(cb), head_len + len(lb)) + b"\x00"
    return la + ca + eocd(len(benign), len(ca), len(la), tail)


emit("Z-eocd-dir-in-comment.zip", hidden_in_comment([("data.pkl", BENIGN)], [("data.pkl", P2)]),
     "os:system", "zipfile+pickle.load")
emit("Z-eocd-dir-in-comment.pt", hidden_in_comment(torch_members(), torch_members(P2)), "os:system", "torch.load")


# Z2: a second archive appended after a complete one, its EOCD claiming a comment longer
# than the bytes left. zipfile and miniz take it (the last signature); a reader that asks
# for the comment to fit skips it and reads the first archive.
def appended_overrun(benign, evil):
    first = zip_file(benign)
    lb, cb = zip_parts(evil, len(first))
    return first + lb + cb + eocd(len(evil), len(cb), len(first) + len(lb), b"", claimed=0xffff)


emit("Z-eocd-comment-overrun.zip", appended_overrun([("data.pkl", BENIGN)], [("data.pkl", P2)]),
     "os:system", "zipfile+pickle.load")
emit("Z-eocd-comment-overrun.pt", appended_overrun(torch_members(), torch_members(P2)), "os:system", "torch.load")

# Z3: bytes before the archive, offsets absolute (zipfile's append mode on a non-zip file
# writes them so): no reader shifts anything, and the file read from offset 0 is a pickle.
emit("Z-prefix-absolute-proto0.zip", zipfile_bytes([("data.pkl", BENIGN)], "a", P0), "os:system", "pickle.load")
emit("Z-prefix-absolute-proto2.zip", zipfile_bytes([("data.pkl", BENIGN)], "a", P2), "os:system", "pickle.load")
# Z4: bytes before the archive, offsets relative (cat pickle zip): zipfile shifts them. The
# prefix pickle is protocol 0 and is followed by a newline before the zip.
emit("Z-prefix-shifted-proto0-newline.zip", P0 + b"\n" + zipfile_bytes([("data.pkl", BENIGN)]), "os:system",
     "pickle.load")
# Z5: miniz looks names up without case: torch.load loads archive/DATA.PKL as data.pkl. The
# pickle is protocol 1 without PROTO (starts with BININT1).
emit("Z-torch-DATA.PKL-proto1.pt", zipfile_bytes(torch_members(P1K, "archive/DATA.PKL")), "os:system",
     "torch.load")
emit("Z-torch-Data.Pkl-proto2.pt", zipfile_bytes(torch_members(P2, "archive/Data.Pkl")), "os:system", "torch.load")
# Z6: every member is a candidate: a member with no extension holding a protocol 0 pickle
# that does not start with one of the usual first opcodes
emit("Z-member-noext-proto0-float.zip", zipfile_bytes([("model", P0F)]), "os:system", "zipfile+pickle.load")
emit("Z-member-pkl-proto1.zip", zipfile_bytes([("model.pkl", P1K)]), "os:system", "zipfile+pickle.load")


# Z7: zip64. zipfile reads the zip64 end record at a fixed place (right before the locator,
# zipfile.py _EndRecData64); miniz follows the locator's offset. Here they are two records
# pointing at two directories: the one before the locator names the benign data.pkl, the one
# the locator points at names the payload.
def zip64_split(benign, evil):
    la, ca = zip_parts(benign, 0)
    la += b"\x00" * 16  # the members the other record names do not follow on
    lb, cb = zip_parts(evil, len(la))
    pos = len(la) + len(lb)
    out = bytearray(la + lb)
    out += cb
    z64_b = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, len(evil), len(evil), len(cb), pos)
    cd_a = len(out)
    out += ca
    out += struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, len(benign), len(benign), len(ca), cd_a)
    out += struct.pack("<IIQI", 0x07064b50, 0, z64_b, 1)
    out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xffff, 0xffff, 0xffffffff, 0xffffffff, 0)
    return bytes(out)


emit("Z-zip64-locator-elsewhere.pt", zip64_split(torch_members(), torch_members(P2)), "os:system", "torch.load")
emit("Z-zip64-locator-elsewhere.zip", zip64_split([("data.pkl", P2)], [("data.pkl", BENIGN)]), "os:system",
     "zipfile+pickle.load")




# Z7b: two central directories of one size. zipfile takes the directory that ends right before
# the end record and shifts every offset by (where it is - where the record says it is):
# zipfile.py _RealGetContents, "concat". miniz reads the directory at the offset the record
# gives and shifts nothing. Here the record's offset names the first directory (payload
# members, offsets from 0, which miniz reads); the one before the record names the benign
# members (offsets as if the archive started at the first directory, which zipfile reads).
def two_directories(miniz_view, zipfile_view):
    lm, cm = zip_parts(miniz_view, 0)
    lz, _ = zip_parts(zipfile_view, 0)
    lm += b"\x00" * max(0, len(lz) - len(lm))  # the shifted offsets must not be negative
    cm_pos = len(lm)
    lz_pos = cm_pos + len(cm)
    concat = len(cm) + len(lz)  # where zipfile's directory is - where the record says
    _, cz = zip_parts(zipfile_view, lz_pos - concat)
    assert len(cz) == len(cm) and lz_pos - concat >= 0
    return lm + cm + lz + cz + eocd(len(miniz_view), len(cm), cm_pos)


emit("Z-two-directories-shift.pt", two_directories(torch_members(P2), torch_members()), "os:system", "torch.load")
emit("Z-two-directories-shift.zip", two_directories([("data.pkl", BENIGN)], [("data.pkl", P2)]), "os:system",
     "zipfile+pickle.load")
# Z7c: an end-record signature in the last 21 bytes: zipfile takes it (rfind) and gives up
# (too short: not a zip); miniz wants 22 bytes after a signature and takes the real record
emit("Z-eocd-sig-in-last-21-bytes.pt", zipfile_bytes(torch_members(P2)) + b"PK\x05\x06\x00\x00\x00\x00",
     "os:system", "torch.load")



# Z7d: zipfile reads central entries while they fit the directory size and ignores the entry
# count (zipfile.py _RealGetContents, "while total < size_cd"); miniz reads `count` entries.
# The record says 1; the directory holds 2, the second the payload, its local header not
# right after the first member's data.
def count_low(first, second):
    l1, c1 = zip_parts([first], 0)
    gap = b"\x00" * 16
    l2, c2 = zip_parts([second], len(l1) + len(gap))
    cd = c1 + c2
    return l1 + gap + l2 + cd + eocd(1, len(cd), len(l1) + len(gap) + len(l2))


emit("Z-entry-count-low.zip", count_low(("a.pkl", BENIGN), ("b.pkl", P2)), "os:system", "zipfile+pickle.load")
# Z7e: zipfile reads bzip2 (method 12) and lzma (14) members; numpy.load and pandas read
# zips through zipfile
for _m, _tag in ((zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "lzma")):
    _b = io.BytesIO()
    with zipfile.ZipFile(_b, "w", _m) as _z:
        _z.writestr(zipfile.ZipInfo("data.pkl", ZDATE), P2, _m)
    emit("Z-member-%s.zip" % _tag, _b.getvalue(), "os:system", "zipfile+pickle.load")



# Z7f: sizes. zipfile's ZipExtFile hands out at most file_size bytes whatever the compressed
# size says (zipfile.py ZipExtFile._read1: data[:self._left]) and checks the CRC of those.
# A stored member with more bytes than its size, and a deflated one that inflates to more.
def sized(data, usize, method=0):
    comp = data
    if method == 8:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        comp = c.compress(data) + c.flush()
    name = b"data.pkl"
    crc = zlib.crc32(data[:usize])
    lh = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, method, 0x6000, 0x5121, crc, len(comp), usize, len(name),
                     0) + name + comp
    cd = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, method, 0x6000, 0x5121, crc, len(comp), usize,
                     len(name), 0, 0, 0, 0, 0, 0) + name
    return lh + cd + eocd(1, len(cd), len(lh))


emit("Z-stored-longer-than-size.zip", sized(P2 + b"\x00" * 16, len(P2)), "os:system", "zipfile+pickle.load")
emit("Z-deflated-longer-than-size.zip", sized(P2 + b"\x00" * 16, len(P2), 8), "os:system", "zipfile+pickle.load")

# Z8: data descriptor (zipfile writing to an unseekable stream): sizes only after the data
class _Unseekable(io.RawIOBase):
    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


_u = _Unseekable()
with zipfile.ZipFile(_u, "w") as _z:
    _z.writestr(zipfile.ZipInfo("archive/data.pkl", ZDATE), P2)
emit("Z-data-descriptor.zip", bytes(_u.buf), "os:system", "zipfile+pickle.load")
# Z9: zip64 extra fields written by zipfile itself
_b = io.BytesIO()
with zipfile.ZipFile(_b, "w") as _z:
    with _z.open(zipfile.ZipInfo("data.pkl", ZDATE), "w", force_zip64=True) as _f:
        _f.write(P2)
emit("Z-zip64-member.zip", _b.getvalue(), "os:system", "zipfile+pickle.load")

# ---- tar -----------------------------------------------------------------------------------


def tar_bytes(members, fmt=tarfile.USTAR_FORMAT):
    """members: (name, data, type)"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data, typ in members:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.type, ti.mode = len(data), MTIME, typ, 0o644
            ti.uname = ti.gname = "brine"
            t.addfile(ti, io.BytesIO(data))
    return bytearray(buf.getvalue())


def rechecksum(t, at=0):
    h = t[at:at + 512]
    h[148:156] = b" " * 8
    t[at + 148:at + 156] = b"%06o\x00 " % sum(h)


# T1: type flags tarfile does not know are regular files to it (tarfile.py SUPPORTED_TYPES,
# line 114; extractfile() line 2161 returns their data); libarchive reads some as something
# else (M: multi-volume continuation, D: GNU dumpdir, V: volume label, A/X: Solaris ACL and
# extended attributes) or as a regular file (7, vendor letters).
for flag in "MDVNAI7":
    emit("T-typeflag-%s.tar" % flag, bytes(tar_bytes([("data.pkl", P2, flag.encode())])), "os:system",
         "tarfile+pickle.load")

# T1b: a tar member holding a protocol 1 pickle without PROTO (every member is a candidate)
emit("T-member-pkl-proto1.tar", bytes(tar_bytes([("data.pkl", P1K, tarfile.REGTYPE)])), "os:system",
     "tarfile+pickle.load")

# T2: numbers in tar headers are Python ints to tarfile (nti: int(s, 8) allows '_'); libarchive
# stops at the first non-octal digit, reads size 0, and then finds no header.
_t = tar_bytes([("data.pkl", P2, tarfile.REGTYPE)])
_t[124:136] = ("0_0_0_0_%03o" % len(P2)).encode() + b"\x00"
rechecksum(_t)
emit("T-size-underscore.tar", bytes(_t), "os:system", "tarfile+pickle.load")
# T3: an old (v7) tar without the ustar magic: tarfile and libarchive read it
_t = tar_bytes([("data.pkl", P2, tarfile.REGTYPE)])
_t[257:265] = b"\x00" * 8
_t[265:297] = _t[297:329] = b"\x00" * 32
rechecksum(_t)
emit("T-v7-no-magic.tar", bytes(_t), "os:system", "tarfile+pickle.load")


# T4: legacy torch tar layout (torch/serialization.py legacy_load, line 881): 'storages' and
# 'tensors' are extracted with tar.extract (unknown types: makeunknown, a regular file), and
# their first pickle is loaded; 'pickle' is loaded with extractfile.
def legacy_tar(storages, pickle_member, storages_type=tarfile.REGTYPE, pickle_type=tarfile.REGTYPE):
    return bytes(tar_bytes([("sys_info", b"\x80\x02}q\x00.", tarfile.REGTYPE),
                            ("storages", storages, storages_type),
                            ("tensors", b"\x80\x02K\x00.", tarfile.REGTYPE),
                            ("pickle", pickle_member, pickle_type)], tarfile.PAX_FORMAT))


EMPTY_STORAGES = b"\x80\x02K\x00.\x80\x02]q\x00."
emit("L-legacy-tar-pickle-proto1.tar", legacy_tar(EMPTY_STORAGES, P1K), "os:system", "torch.load")
emit("L-legacy-tar-pickle-typeflag-M.tar", legacy_tar(EMPTY_STORAGES, P2, pickle_type=b"M"), "os:system",
     "torch.load")
emit("L-legacy-tar-storages-typeflag-M.tar", legacy_tar(P2, BENIGN, storages_type=b"M"), "os:system",
     "torch.load")
emit("L-legacy-tar-storages-proto0.tar", legacy_tar(P0 + b"\n", BENIGN), "os:system", "torch.load")

# L: the non-tar legacy layout with its magic number written in protocol 0 (the same int to
# pickle.load, so torch accepts it): five pickles, the object one carries the payload
_magic = b"L%dL\n." % 0x1950a86a20f9469cfc6c
emit("L-legacy-magic-proto0.pt", _magic + b"M\xe9\x03." + b"}." + P2 + b"]." , "os:system", "torch.load")

# ---- polyglots -------------------------------------------------------------------------------
# P1: a tar whose first member's name is a protocol 0 pickle: pickle.load reads it from offset 0
emit("P-tar-pickle-polyglot.tar", bytes(tar_bytes([(P0.decode(), BENIGN, tarfile.REGTYPE)])), "os:system",
     "pickle.load")
emit("P-tar-pickle-polyglot-print.tar", bytes(tar_bytes([(PPRINT.decode(), BENIGN, tarfile.REGTYPE)])),
     "builtins:print", "pickle.load", "suspicious")

# ---- compressed streams ------------------------------------------------------------------------
A, B = P2[:2], P2[2:]   # PROTO alone in the first stream, the call in the second
emit("C-gzip-multimember.gz", gzip.compress(A, mtime=0) + gzip.compress(B, mtime=0), "os:system",
     "gzip+pickle.load")
emit("C-gzip-zero-padding.gz", gzip.compress(A, mtime=0) + b"\x00" * 512 + gzip.compress(B, mtime=0), "os:system",
     "gzip+pickle.load")
emit("C-bz2-concatenated.bz2", bz2.compress(A) + bz2.compress(B), "os:system", "bz2+pickle.load")
emit("C-xz-concatenated.xz", lzma.compress(A) + lzma.compress(B), "os:system", "lzma+pickle.load")
emit("C-lzma-alone-concatenated.lzma", lzma.compress(A, format=lzma.FORMAT_ALONE) +
     lzma.compress(B, format=lzma.FORMAT_ALONE), "os:system", "lzma+pickle.load")

# ---- npy headers: Python literals --------------------------------------------------------------


def npy(header, version=(1, 0), payload=P2):
    h = header.encode("latin1" if version < (3, 0) else "utf8")
    pre = 10 if version == (1, 0) else 12
    pad = (-(pre + len(h) + 1)) % 64
    h = h + b" " * pad + b"\n"
    size = struct.pack("<H", len(h)) if version == (1, 0) else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes(version) + size + h + payload


NPY = {
    "N-descr-escape.npy": r"{'descr': '|\x4f', 'fortran_order': False, 'shape': (1,), }",
    "N-descr-concatenated.npy": "{'descr': '|' 'O', 'fortran_order': False, 'shape': (1,), }",
    "N-descr-parenthesised.npy": "{'descr': ('|O'), 'fortran_order': False, 'shape': (1,), }",
    "N-descr-subarray.npy": "{'descr': ('|O', (1,)), 'fortran_order': False, 'shape': (1,), }",
    "N-descr-field-subarray.npy": "{'descr': [('a', ('|O', (2,)))], 'fortran_order': False, 'shape': (1,), }",
    "N-descr-nested-fields.npy": "{'descr': [('a', [('b', '<f8'), ('c', '|O')])], 'fortran_order': False, "
                                 "'shape': (1,), }",
    "N-descr-subarray-string.npy": "{'descr': '(1,)O', 'fortran_order': False, 'shape': (1,), }",
    "N-descr-comma-string.npy": "{'descr': 'f8,O', 'fortran_order': False, 'shape': (1,), }",
    "N-descr-object-word.npy": "{'descr': 'object', 'fortran_order': False, 'shape': (1,), }",
    "N-descr-O8.npy": "{'descr': 'O8', 'fortran_order': False, 'shape': (1,), }",
    "N-key-escape.npy": r"{'descr': '|O', 'fortran_\x6frder': False, 'shape': (1,), }",
    "N-header-comment.npy": "{'descr': '|O', # a comment\n 'fortran_order': False, 'shape': (1,), }",
    "N-shape-long-suffix.npy": "{'descr': '|O', 'fortran_order': False, 'shape': (1L,), }",
    "N-shape-hex.npy": "{'descr': '|O', 'fortran_order': False, 'shape': (0x1,), }",
}
for name, header in NPY.items():
    emit(name, npy(header), "os:system", "numpy.load")
emit("N-v3-descr-unicode-escape.npy", npy("{'descr': '\\N{LATIN CAPITAL LETTER O}', 'fortran_order': False, "
                                          "'shape': (1,), }", (3, 0)), "os:system", "numpy.load")
# numpy.load treats a file starting with an empty zip's end record (PK\x05\x06) as an npz;
# zipfile then finds the real archive after it and shifts its offsets
emit("N-npz-starts-with-eocd.npz", eocd(0, 0, 0) + zipfile_bytes([("x.npy", npy(NPY["N-descr-O8.npy"]))]),
     "os:system", "numpy.load")
_b = io.BytesIO()
with zipfile.ZipFile(_b, "w", zipfile.ZIP_BZIP2) as _z:
    _z.writestr(zipfile.ZipInfo("x.npy", ZDATE), npy(NPY["N-descr-O8.npy"]), zipfile.ZIP_BZIP2)
emit("N-npz-bzip2-member.npz", _b.getvalue(), "os:system", "numpy.load")
# numpy's NpzFile reads every member whose bytes start with the npy magic as an array
# (npyio.py NpzFile.__getitem__), whatever its name: here under <prefix>/data/, where a torch
# archive keeps raw tensor storages (the archive has a <prefix>/data.pkl)
emit("N-npz-member-under-torch-data.npz", zipfile_bytes([("archive/data.pkl", BENIGN),
                                                        ("archive/data/0.npy", npy(NPY["N-descr-O8.npy"]))]),
     "os:system", "numpy.load")
emit("N-npz-descr-subarray.npz", zipfile_bytes([("x.npy", npy(NPY["N-descr-subarray.npy"]))]), "os:system",
     "numpy.load")

# ---- joblib: array sizes as numpy computes them ------------------------------------------------


def S(s):
    s = s.encode()
    return b"X" + struct.pack("<I", len(s)) + s


def joblib_pickle(typestr, state, shape, array_bytes, after):
    """{'a': <NumpyArrayWrapper>, 'b': <after>} in protocol 2, no alignment padding."""
    dtype = b"cnumpy\ndtype\n(" + S(typestr) + b"\x89\x88tR" + state + b"b"
    wrapper = (b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(" + S("subclass") + b"cnumpy\nndarray\n" +
               S("shape") + b"(" + b"".join(b"K" + bytes([d]) for d in shape) + b"t" + S("order") + S("C") +
               S("dtype") + dtype + S("allow_mmap") + b"\x89ub")
    return b"\x80\x02}(" + S("a") + wrapper + array_bytes + S("b") + after + b"u."


def dstate(endian, elsize, flags):
    return (b"(K\x03" + S(endian) + b"NNN" + (b"K" + bytes([elsize]) if elsize >= 0 else b"J\xff\xff\xff\xff") +
            b"J\xff\xff\xff\xffK" + bytes([flags]) + b"t")


CALL = b"cos\nsystem\nX\x04\x00\x00\x00true\x85R"
# J1: 'f8' with a recorded elsize of 1: numpy's arraydescr_setstate applies elsize only to
# flexible types, so joblib reads 4 * 8 bytes; a reader that trusts elsize skips 4 and
# finds, in the array bytes, the end of a benign pickle and a BINBYTES that swallows the rest
_rest = S("b") + CALL + b"u."
_arr = b"N0N0" + b"u." + b"B" + struct.pack("<I", 21 + len(_rest) - 1)
_arr += b"\x00" * (32 - len(_arr))
assert len(_arr) == 32
_j = joblib_pickle("f8", dstate("<", 1, 0), [4], _arr, CALL)
emit("J-dtype-elsize-ignored.joblib", _j, "os:system", "joblib.load")
# J2: the type string is a word: numpy.dtype('object') has objects, the array is a pickle
emit("J-dtype-object-word.joblib", joblib_pickle("object", dstate("|", -1, 63), [1], P2, b"N"), "os:system",
     "joblib.load")
# J3: a void type whose flags claim objects: numpy believes the flags (hasobject), joblib
# unpickles the array; the size of V8 says 8 bytes of data
emit("J-dtype-flags-object.joblib", joblib_pickle("V8", dstate("|", 8, 63), [1], P2, b"N"), "os:system",
     "joblib.load")
# J5: numpy.dtype reached as numpy.core.multiarray.dtype (the same object)
_j = joblib_pickle("f8", dstate("<", -1, 0), [1], b"\x00" * 8, CALL)
emit("J-dtype-via-multiarray.joblib", _j.replace(b"cnumpy\ndtype\n", b"cnumpy.core.multiarray\ndtype\n"),
     "os:system", "joblib.load")
# J6: the shape is a list: joblib takes len() and numpy's multiply.reduce of it
_j = joblib_pickle("f8", dstate("<", -1, 0), [2], b"\x00" * 16, CALL)
emit("J-shape-list.joblib", _j.replace(S("shape") + b"(K\x02t", S("shape") + b"(K\x02l"), "os:system",
     "joblib.load")
# J7: joblib's lzma reader (lzma.LZMAFile, FORMAT_AUTO) goes on into a second lzma-alone stream
emit("J-lzma-alone-concatenated.joblib", lzma.compress(A, format=lzma.FORMAT_ALONE) +
     lzma.compress(B, format=lzma.FORMAT_ALONE), "os:system", "joblib.load")
# J8: joblib's lz4 reader (lz4.frame.LZ4FrameFile) goes on into a second frame
emit("J-lz4-concatenated.joblib", lz4.frame.compress(A) + lz4.frame.compress(B), "os:system", "joblib.load")
# J9: the wrapper made by OBJ (cls(*args): NumpyArrayWrapper.__init__) rather than NEWOBJ, then
# BUILD: joblib's load_build only asks isinstance (numpy_pickle.py:405). A reader that knows
# only the NEWOBJ shape does not skip the array; the array bytes end the pickle for it.
_rest = S("b") + CALL + b"u."
_arr = b"u." + b"B" + struct.pack("<I", 32 - 7 + len(_rest) - 1)
_arr += b"\x00" * (32 - len(_arr))
_dt = b"cnumpy\ndtype\n(" + S("f8") + b"\x89\x88tR" + dstate("<", -1, 0) + b"b"
_w = (b"(cjoblib.numpy_pickle\nNumpyArrayWrapper\ncnumpy\nndarray\n(K\x04t" + S("C") + _dt + b"o}(" +
      S("numpy_array_alignment_bytes") + b"Nub")
emit("J-wrapper-via-obj.joblib", b"\x80\x02}(" + S("a") + _w + _arr + _rest, "os:system", "joblib.load")
# J4: joblib's old compressed format (joblib < 0.10, read_zfile): 'ZF', the length in hex,
# then a zlib stream
_zf = b"ZF" + ("0x%x" % len(P2)).ljust(19).encode() + zlib.compress(P2)
emit("J-compat-zfile.joblib", _zf, "os:system", "joblib.load")

# ---- nested pickles --------------------------------------------------------------------------


def holder(blob, kind="bytes"):
    """{'model': <blob>} in protocol 2/4/5"""
    if kind == "bytes":
        v = b"C" + bytes([len(blob)]) + blob if len(blob) < 256 else b"B" + struct.pack("<I", len(blob)) + blob
        return b"\x80\x03}(" + S("model") + v + b"u."
    if kind == "bytearray":
        return b"\x80\x05}(" + S("model") + b"\x96" + struct.pack("<Q", len(blob)) + blob + b"u."
    if kind == "str":
        s = blob.decode("latin1").encode("utf8")
        return b"\x80\x02}(" + S("model") + b"X" + struct.pack("<I", len(s)) + s + b"u."



NESTED = {
    "X-nested-bytearray.pkl": (P2, "bytearray", "pickle.loads"),
    "X-nested-str-proto0.pkl": (P0, "str", "pickle.loads(str.encode('latin1'))"),
    "X-nested-str-proto2.pkl": (P2, "str", "pickle.loads(str.encode('latin1'))"),
    "X-nested-proto1-binint.pkl": (P1K, "bytes", "pickle.loads"),
    "X-nested-proto0-float.pkl": (P0F, "bytes", "pickle.loads"),
    "X-nested-proto0-trailing-newline.pkl": (P0 + b"\n", "bytes", "pickle.loads"),
    "X-nested-zlib.pkl": (zlib.compress(P2), "bytes", "pickle.loads(zlib.decompress)"),
    "X-nested-zlib-level1.pkl": (zlib.compress(P2, 1), "bytes", "pickle.loads(zlib.decompress)"),
    "X-nested-gzip.pkl": (gzip.compress(P2, mtime=0), "bytes", "pickle.loads(gzip.decompress)"),
    "X-nested-bz2.pkl": (bz2.compress(P2), "bytes", "pickle.loads(bz2.decompress)"),
    "X-nested-xz.pkl": (lzma.compress(P2), "bytes", "pickle.loads(lzma.decompress)"),
    "X-nested-lzma-alone.pkl": (lzma.compress(P2, format=lzma.FORMAT_ALONE), "bytes",
                                "pickle.loads(lzma.decompress)"),
    "X-nested-zstd.pkl": (zstandard.ZstdCompressor(write_content_size=True).compress(P2), "bytes",
                          "pickle.loads(zstandard.decompress)"),
    "X-nested-lz4.pkl": (lz4.frame.compress(P2), "bytes", "pickle.loads(lz4.frame.decompress)"),
    "X-nested-zlib-proto0.pkl": (zlib.compress(P0), "bytes", "pickle.loads(zlib.decompress)"),
}
for name, (blob, kind, how) in NESTED.items():
    emit(name, holder(blob, kind), "os:system", "pickle.load+" + how)

# ---- the pickle reader itself differs between loaders ----------------------------------------
# torch.load unpickles with encoding='utf-8' (serialization.py:769), pickle.load with
# 'ASCII': a protocol 0 STRING with UTF-8 bytes stops pickle.load and not torch.load
emit("U-torch-string-utf8.pt", zipfile_bytes(torch_members(b"\x80\x02S'\xc3\xa9'\n0" + CALL + b".")), "os:system",
     "torch.load")
# pandas.read_pickle retries a UnicodeDecodeError with its pure-Python unpickler and
# encoding='latin-1' (pandas/io/pickle.py:214-216)
emit("U-pandas-latin1-retry.pkl", b"S'\xe9'\n0" + P0, "os:system", "pandas.read_pickle")
# joblib.load unpickles with the pure-Python pickle._Unpickler (NumpyUnpickler): its FLOAT is
# float(), which takes '1_0'; the C unpickler's PyOS_string_to_double does not
emit("U-joblib-python-unpickler-float.joblib", b"\x80\x02F1_0\n0" + CALL + b".", "os:system", "joblib.load")

with open(os.path.join(HERE, "expected.tsv"), "w") as f:
    f.write("# file\texpected verdict\ttext `brine scan` must print\treal loader that runs it\tgap\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print("%d files" % len(rows), file=sys.stderr)
