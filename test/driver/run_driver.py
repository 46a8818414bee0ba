#!/usr/bin/env python3
"""The stream driver (issue 8), as data and as commands:
- corpus/driver/expected.tsv: nested pickles that start with every opcode that
  can begin one (flagged), bytes that start like a pickle and are not one (no
  change), tar members of every recorded type (never safe and complete);
- every command goes through the driver: learn, events, dump and disasm see
  the pickles inside a torch zip, a legacy torch file, a joblib file and an npz.
Usage: run_driver.py BRINE. Last line: `driver: N passed, M failed`.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(brine, *args):
    return subprocess.run([brine] + list(args), capture_output=True, text=True, timeout=120, cwd=ROOT)


def main():
    brine = os.path.abspath(sys.argv[1])
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL " + what)

    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(ROOT, "corpus/driver/expected.tsv"))
            if not l.startswith("#")]
    for name, want, text in rows:
        f = "corpus/driver/" + name
        r = run(brine, "scan", f)
        m = re.search(r"^%s: (\w+) \((\w+)\)" % re.escape(f), r.stdout, re.M)
        got = (m.group(1), m.group(2)) if m else None
        if want == "dangerous":
            ok = got is not None and got[0] == "dangerous" and r.returncode == 1
        elif want == "safe":
            ok = got == ("safe", "complete") and r.returncode == 0
        else:  # unsafe: anything but safe and complete
            ok = got is not None and got != ("safe", "complete") and r.returncode in (1, 3)
        ok = ok and (text == "-" or text in r.stdout)
        check(ok, "%s: %s (exit %d), expected %s and %r in:\n%s" % (f, got, r.returncode, want, text, r.stdout[-800:]))

    # learn on containers learns what their pickles use
    for f, name in [("corpus/benign/torch/state_dict_zip.pt", "torch._utils:_rebuild_tensor_v2"),
                    ("corpus/benign/torch/state_dict_legacy.pt", "torch._utils:_rebuild_tensor_v2"),
                    ("corpus/benign/joblib/arrays_gzip.joblib", "joblib.numpy_pickle:NumpyArrayWrapper"),
                    ("corpus/benign/numpy/savez_compressed.npz", "numpy.core.multiarray:_reconstruct")]:
        r = run(brine, "learn", f)
        check(r.returncode == 0 and ('"%s"' % name) in r.stdout, "learn %s: exit %d, no allow entry for %s:\n%s" % (
            f, r.returncode, name, r.stdout[:600]))
    # learn refuses what a checkpoint's payload uses
    r = run(brine, "learn", "corpus/malicious/containers/D-torch-zip-payload.pt")
    check(r.returncode == 1 and "os:system" in r.stdout, "learn on a malicious torch zip: exit %d" % r.returncode)

    # events: the import inside the member, with the member named
    for f, loc, name in [("corpus/malicious/containers/D-torch-zip-payload.pt", "!archive/data.pkl", "os:system"),
                         ("corpus/malicious/containers/D-npz-object-payload.npz", ".npy", "os:system"),
                         ("corpus/malicious/containers/D-joblib-zlib.joblib", "!<zlib>", "os:system"),
                         ("corpus/benign/torch/state_dict_zip.pt", "!archive/data.pkl", "collections:OrderedDict")]:
        r = run(brine, "events", f)
        lines = r.stdout.splitlines()
        heads = [l for l in lines if l.startswith("== ")]
        evs = [l.split("\t") for l in lines if "\t" in l]
        check(r.returncode == 0 and any(loc in h for h in heads) and any(e[3] == "import" and e[4] == name for e in evs),
              "events %s: exit %d, want a stream header with %r and an import of %s:\n%s" % (
                  f, r.returncode, loc, name, r.stdout[:800]))

    # dump: one JSON line per stream, located; the raw file itself has no location member
    r = run(brine, "dump", "--json", "corpus/benign/numpy/savez.npz")
    docs = [json.loads(l) for l in r.stdout.splitlines()]
    check(r.returncode == 0 and docs and all(d.get("location", "").startswith("corpus/benign/numpy/savez.npz!") for d in docs)
          and all(d["status"] == "ok" for d in docs), "dump npz: %s" % r.stdout[:400])
    r = run(brine, "dump", "--json", "corpus/benign/raw/" + sorted(os.listdir(os.path.join(ROOT, "corpus/benign/raw")))[0])
    docs = [json.loads(l) for l in r.stdout.splitlines()]
    check(len(docs) == 1 and "location" not in docs[0], "dump of a raw pickle: one line, no location: %s" % r.stdout[:300])
    r = run(brine, "dump", "--json", "corpus/benign/torch/convnet_zip.pt")
    docs = [json.loads(l) for l in r.stdout.splitlines()]
    check(any(d.get("location", "").endswith("/data.pkl") and d["status"] == "ok" for d in docs),
          "dump torch zip: no data.pkl stream: %s" % r.stdout[:300])

    # disasm: a header per stream inside the container
    r = run(brine, "disasm", "corpus/benign/torch/state_dict_zip.pt")
    check(r.returncode == 0 and re.search(r"^== .*!.*/data\.pkl$", r.stdout, re.M) and "STOP" in r.stdout,
          "disasm torch zip: %s" % r.stdout[:300])

    # a file that holds no pickle: the views still show the raw reading (malformed at 0)
    r = run(brine, "dump", "--json", "corpus/driver/tar-type-vendor-X.tar")
    docs = [json.loads(l) for l in r.stdout.splitlines()]
    check(len(docs) == 1 and docs[0]["status"] == "malformed", "dump of a non-pickle: %s" % r.stdout[:300])

    # `--` ends the options; a FIFO without a writer does not hang
    r = run(brine, "scan", "--", "corpus/driver/data-plain-pickle.pkl")
    check(r.returncode == 0 and "safe (complete)" in r.stdout, "scan -- FILE: exit %d" % r.returncode)
    fifo = os.path.join(os.environ.get("TMPDIR", "/tmp"), "brine-driver-fifo-%d" % os.getpid())
    os.mkfifo(fifo)
    try:
        r = subprocess.run([brine, "scan", fifo], capture_output=True, text=True, timeout=20)
        check(r.returncode in (2, 3) and "safe (complete)" not in r.stdout, "FIFO without a writer: exit %d, %s" % (
            r.returncode, r.stdout))
    except subprocess.TimeoutExpired:
        check(False, "FIFO without a writer: brine hung")
    finally:
        os.unlink(fifo)
    # endless input from a pipe stops at --max-input-bytes, inconclusive
    p = subprocess.run("head -c 3000000 /dev/zero | %s scan --max-input-bytes 1000000 -" % brine, shell=True,
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 3 and "max_input_bytes" in p.stdout, "pipe over the cap: exit %d %s" % (p.returncode, p.stdout))

    # archives with many members: linear work (a hang guard, not a timing), the
    # member cap reached visibly
    import io
    import tarfile
    import tempfile
    import zipfile
    with tempfile.TemporaryDirectory() as t:
        zp, tp, bp = os.path.join(t, "many.zip"), os.path.join(t, "many.tar"), os.path.join(t, "over.zip")
        with zipfile.ZipFile(zp, "w") as z:
            for i in range(100000):
                z.writestr("m%d" % i, b"x")
        with zipfile.ZipFile(bp, "w") as z:
            for i in range(100001):
                z.writestr("m%d" % i, b"x")
        with tarfile.open(tp, "w") as tf:
            for i in range(100000):
                ti = tarfile.TarInfo("m%d" % i)
                ti.size = 1
                tf.addfile(ti, io.BytesIO(b"x"))
        for f, code, text in [(zp, 0, "safe (complete)"), (tp, 0, "safe (complete)"), (bp, 3, "max_members")]:
            try:
                r = subprocess.run([brine, "scan", "--quiet", f], capture_output=True, text=True, timeout=120)
                check(r.returncode == code and text in r.stdout, "%s: exit %d, expected %d and %r: %s" % (
                    os.path.basename(f), r.returncode, code, text, r.stdout[-300:]))
            except subprocess.TimeoutExpired:
                check(False, "%s: brine did not finish (quadratic work?)" % os.path.basename(f))

    print("driver: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
