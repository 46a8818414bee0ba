#!/usr/bin/env python3
"""Tar header numbers as Python's tarfile reads them (nti: int(s.strip(), 8)
with a sign, a 0o prefix, '_' between digits and the 0x1c-0x1f separators
str.strip() removes; base-256 after 0x80 or 0xff; a checksum that is the
unsigned or the signed sum), against brine's second reading of tar files
(analyzer/container/archive.c, tarfile_view).

Each case is a tar of one member, payload.pkl (os.system), whose size field
(or checksum field) is written one way. Where tarfile returns the payload,
brine must find it (dangerous, os:system); where tarfile refuses the header,
brine must not call the file safe. The expectations come from tarfile itself,
run here; brine scans every case in one `brine scan -f jsonl` of a directory.

Usage: check_tar_numbers.py BRINE ; last line: `tar-numbers: N passed, M failed`.
"""
import io
import itertools
import json
import os
import subprocess
import sys
import tarfile
import tempfile

PAYLOAD = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."


def header(size_field, chk=None, link=b""):
    """A ustar header for payload.pkl; chk(unsigned, signed) gives the checksum field (8 bytes)."""
    h = bytearray(512)
    h[0:11] = b"payload.pkl"
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = size_field.ljust(12, b"\0")
    h[136:148] = b"00000000000\0"
    h[156:157] = b"0"
    h[157:157 + len(link)] = link
    h[257:265] = b"ustar\x0000"
    h[148:156] = b" " * 8
    unsigned, signed = sum(h), sum(b - 256 if b >= 128 else b for b in h)
    h[148:156] = (chk or (lambda u, s: b"%06o\0 " % u))(unsigned, signed).ljust(8, b"\0")
    return bytes(h)


def tar_of(h):
    return h + PAYLOAD + bytes(512 - len(PAYLOAD)) + bytes(1024)


def size_fields():
    """Ways to write 25 (and things that are not numbers), at most 12 bytes."""
    lead = [b"", b" ", b"\x1c", b"\t"]
    sign = [b"", b"+", b"-"]
    prefix = [b"", b"0o", b"0O", b"0x"]
    after = [b"", b"_"]
    body = [b"31", b"3_1", b"3__1", b"031", b"_31", b"31_", b"8", b"", b"3 1"]
    trail = [b"", b" ", b"\x1f", b"\0zz"]
    out = []
    for parts in itertools.product(lead, sign, prefix, after, body, trail):
        f = b"".join(parts)
        if len(f) <= 12:
            out.append(f)
    out += [b"\x80" + (25).to_bytes(11, "big"), b"\xff" * 12, b"\xff" * 11 + b"\xfe",
            b"\x80" + b"\xff" * 11, b"\x00" * 12]
    return out


def checksum_fields():
    """The checksum written every way nti reads, unsigned and signed (a header whose
    linkname is 100 high bytes has a negative signed sum), and off by one."""
    high = bytes(range(0x80, 0xe4))
    ways = [
        lambda v: b"%06o\0 " % v if v >= 0 else b"-%o\0" % -v,
        lambda v: b"0o%o\0" % v if v >= 0 else b"-0o%o\0" % -v,
        lambda v: b"+%o" % v if v >= 0 else b"-0O%o" % -v,
        lambda v: (b"\x80" + v.to_bytes(7, "big")) if v >= 0 else (b"\xff" + (2 ** 56 + v).to_bytes(7, "big")),
        lambda v: b"\x1c%o\x1f" % v if v >= 0 else b" -%o " % -v,
    ]
    out = []
    for link in (b"", high):
        for which in ("unsigned", "signed", "off"):
            for w in ways:
                def chk(u, s, w=w, which=which):
                    return w(u if which == "unsigned" else s if which == "signed" else u + 1)
                out.append((link, chk))
    return out


def tarfile_reads_payload(data):
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            for m in tf.getmembers():
                if m.name == "payload.pkl" and m.size == len(PAYLOAD):
                    f = tf.extractfile(m)
                    return f is not None and f.read() == PAYLOAD
    except Exception:  # tarfile raises more than TarError (OverflowError for a size past 2**63)
        return False
    return False


def main():
    brine = sys.argv[1]
    passed = failed = 0
    cases = [(header(f), "size field %r" % f) for f in size_fields()]
    for link, chk in checksum_fields():
        h = header(b"%011o" % len(PAYLOAD), chk, link)
        cases.append((h, "checksum field %r (%s)" % (h[148:156], "high bytes" if link else "plain")))
    with tempfile.TemporaryDirectory() as d:
        want = {}
        for i, (h, what) in enumerate(cases):
            p = os.path.join(d, "c%05d.tar" % i)
            data = tar_of(h)
            with open(p, "wb") as f:
                f.write(data)
            want[p] = (tarfile_reads_payload(data), what)
        r = subprocess.run([brine, "scan", "-f", "jsonl", "--no-hash", d], capture_output=True, text=True)
        got = {}
        for line in r.stdout.splitlines():
            o = json.loads(line)
            found = any(f.get("name") == "os:system" for f in o.get("findings", []))
            got[o["path"]] = (o["verdict"], o["status"], found)
        readable = 0
        for p, (reads, what) in sorted(want.items()):
            verdict, status, found = got.get(p, (None, None, False))
            readable += reads
            if reads:
                ok = verdict == "dangerous" and found
            else:
                ok = verdict is not None and not (verdict == "safe" and status == "complete")
            passed += ok
            failed += not ok
            if not ok:
                print("FAIL %s: tarfile %s the payload; brine %s (%s), os:system %s" %
                      (what, "returns" if reads else "does not return", verdict, status,
                       "found" if found else "not found"))
        # the cases must exercise both sides
        ok = 0 < readable < len(want)
        passed += ok
        failed += not ok
        if not ok:
            print("FAIL: %d of %d cases readable by tarfile" % (readable, len(want)))
    print("tar-numbers: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
