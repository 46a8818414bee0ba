#!/usr/bin/env python3
"""End-to-end tests of `brine scan` and `brine explain`: every input kind,
option, exit code and report format, on corpus files and made-up files.
JSON and SARIF are validated against their schemas (doc/report-schema.json,
the OASIS SARIF 2.1.0 schema vendored in test/cli/) with jsonschema.

Usage: run_cli.py BRINE [--quick]. Last line: `cli: N passed, M failed`.
Needs /usr/bin/python3 with jsonschema (Debian's python3-jsonschema)."""
import hashlib
import json
import os
import pickle
import re
import resource
import shutil
import stat
import subprocess
import sys
import tempfile

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORT_SCHEMA = json.load(open(os.path.join(ROOT, "doc", "report-schema.json")))
SARIF_SCHEMA = json.load(open(os.path.join(ROOT, "test", "cli", "sarif-schema-2.1.0.json")))
BENIGN = ["corpus/benign/raw/" + f for f in sorted(os.listdir(os.path.join(ROOT, "corpus/benign/raw")))[:6]] + [
    "corpus/benign/torch/state_dict_zip.pt", "corpus/benign/torch/state_dict_legacy.pt",
    "corpus/benign/joblib/model_gzip.joblib", "corpus/benign/numpy/savez.npz", "corpus/benign/numpy/plain.npy"]
MALICIOUS = ["corpus/malicious/A-builtins-eval.pkl", "corpus/malicious/containers/D-torch-zip-payload.pt"]
HEAD = re.compile(r"^(\S+): (\w+) \((\w+)\)", re.M)

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL " + what)
    return ok


T0 = [0.0]


def section(name):
    """With BRINE_TEST_VERBOSE set: how long each section took."""
    import time
    now = time.time()
    if os.environ.get("BRINE_TEST_VERBOSE"):
        print("cli: section %s (previous took %.1f s)" % (name, now - T0[0] if T0[0] else 0), flush=True)
    T0[0] = now


def run(*args, stdin=None, env=None, input=None, cwd=ROOT, timeout=300):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    return subprocess.run([BRINE] + list(args), capture_output=True, input=input, stdin=stdin, cwd=cwd, env=e,
                          timeout=timeout)


def text(r):
    return r.stdout.decode("utf-8", "replace")


def headlines(r):
    return {m[0]: (m[1], m[2]) for m in HEAD.findall(text(r))}


def validate_report(doc, what):
    errs = list(jsonschema.Draft202012Validator(REPORT_SCHEMA).iter_errors(doc))
    return check(not errs, "%s: not valid against doc/report-schema.json: %s" % (
        what, [(e.message[:200], list(e.absolute_path)) for e in errs[:3]]))


def validate_sarif(doc, what):
    errs = list(jsonschema.Draft4Validator(SARIF_SCHEMA).iter_errors(doc))
    return check(not errs, "%s: not valid SARIF 2.1.0: %s" % (
        what, [(e.message[:200], list(e.absolute_path)) for e in errs[:3]]))


def strip_times(doc):
    """Results without wall-clock times (for comparing runs)."""
    if isinstance(doc, dict):
        return {k: strip_times(v) for k, v in doc.items() if k not in ("time_ms", "seconds")}
    if isinstance(doc, list):
        return [strip_times(v) for v in doc]
    return doc


def suspicious_pickle():
    # a name no pack allows and no deny list knows: suspicious, not dangerous
    return b"\x80\x02cmymodule\nThing\n)\x81."


def os_system_pickle(cmd="true"):
    return b"\x80\x02cos\nsystem\nX" + bytes([len(cmd), 0, 0, 0]) + cmd.encode() + b"\x85R."


def main():
    global BRINE
    BRINE = os.path.abspath(sys.argv[1])
    quick = "--quick" in sys.argv
    t = tempfile.mkdtemp(prefix="brine-cli-")
    os.chmod(t, 0o755)
    try:
        tests(t, quick)
    finally:
        shutil.rmtree(t, ignore_errors=True)
    print("cli: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def tests(t, quick):
    susp = os.path.join(t, "susp.pkl")
    open(susp, "wb").write(suspicious_pickle())
    evil = os.path.join(t, "evil.pkl")
    open(evil, "wb").write(os_system_pickle("echo pwned"))
    empty = os.path.join(t, "empty.pkl")
    open(empty, "wb").close()
    notpickle = os.path.join(t, "notes.txt")
    open(notpickle, "w").write("hello, not a pickle\n")
    missing = os.path.join(t, "missing.pkl")

    # ---- exit codes ----
    section('exit codes')
    cases = [
        (BENIGN, 0), (MALICIOUS[:1], 1), ([missing], 2), ([notpickle], 3), ([empty], 3),
        ([MALICIOUS[0], missing], 1), ([missing, notpickle], 2), ([notpickle, BENIGN[0]], 3),
        ([susp], 1), ([susp, BENIGN[0]], 1),
    ]
    for files, code in cases:
        r = run("scan", *files)
        check(r.returncode == code, "scan %s: exit %d, expected %d\n%s%s" % (
            files, r.returncode, code, text(r)[-600:], r.stderr.decode()[-300:]))
    r = run("scan", "--fail-on", "dangerous", susp)
    check(r.returncode == 0, "--fail-on dangerous with a suspicious file: exit %d, expected 0" % r.returncode)
    r = run("scan", "--fail-on=dangerous", susp, MALICIOUS[0])
    check(r.returncode == 1, "--fail-on dangerous with a dangerous file: exit %d, expected 1" % r.returncode)
    r = run("scan", "--fail-on", "suspicious", susp)
    check(r.returncode == 1, "--fail-on suspicious: exit %d, expected 1" % r.returncode)
    r = run("scan", "--fail-on", "dangerous", susp, notpickle)
    check(r.returncode == 3, "--fail-on dangerous, suspicious + non-pickle: exit %d, expected 3" % r.returncode)
    for bad in (["--format", "xml", BENIGN[0]], ["-j", "0", BENIGN[0]], ["--bogus", BENIGN[0]], [],
                ["--fail-on", "low", BENIGN[0]], ["--policy", missing, BENIGN[0]], ["--jobs"],
                ["--color", "sometimes", BENIGN[0]], ["-", "--files-from", "-"], ["--files-from", missing]):
        r = run("scan", *bad)
        check(r.returncode == 2 and r.stderr, "usage error %s: exit %d, expected 2 and a message" % (bad, r.returncode))
    # a directory given as the list is refused before anything is scanned (it would read as an error later)
    r = run("scan", "-f", "jsonl", "--files-from", ROOT, BENIGN[0])
    check(r.returncode == 2 and b"Is a directory" in r.stderr and not r.stdout,
          "--files-from DIR: exit %d, %r, %d bytes out" % (r.returncode, r.stderr[:200], len(r.stdout)))

    # ---- text ----
    section('text')
    r = run("scan", notpickle, empty, BENIGN[0], MALICIOUS[0], missing)
    h = headlines(r)
    out = text(r)
    check(h.get(notpickle) == ("unknown", "malformed"), "non-pickle headline: %s" % (h.get(notpickle),))
    check(h.get(empty) == ("unknown", "malformed"), "empty file headline: %s" % (h.get(empty),))
    check(h.get(BENIGN[0]) == ("safe", "complete"), "benign headline: %s" % (h.get(BENIGN[0]),))
    check(h.get(MALICIOUS[0]) == ("dangerous", "complete"), "malicious headline: %s" % (h.get(MALICIOUS[0]),))
    check(h.get(missing) == ("unreadable", "error"), "missing file headline: %s" % (h.get(missing),))
    for f, (v, s) in h.items():
        check(v != "safe" or s == "complete", "%s: headline says safe but %s" % (f, s))
    check(re.search(r"^brine: 5 files: 1 safe, 0 suspicious, 1 dangerous, 2 not fully analysed, 1 unreadable; "
                    r"[\d.]+ (B|KiB|MiB) in [\d.]+ s$", out, re.M), "summary line:\n" + out[-400:])
    # each finding: location, opcode, name, call, rule, severity, explanation
    check(re.search(r"dangerous +critical +%s@0x1b REDUCE call: call of builtins:eval: " % re.escape(MALICIOUS[0]), out)
          and "in: builtins:eval('true',)" in out and "rule: deny builtins:eval (dangerous, <builtin>/rules/dangerous.yaml:"
          in out, "finding lines:\n" + out[:1500])
    r = run("scan", "--quiet", "--no-summary", MALICIOUS[0], BENIGN[0])
    check(len(text(r).splitlines()) == 3 and "rule:" not in text(r), "--quiet --no-summary:\n" + text(r))
    # the policy entry that would admit a name not on the allowlist, and brine learn
    r = run("scan", susp)
    out = text(r)
    check("brine learn" in out and '- name: "mymodule:Thing"' in out and "call: true" in out,
          "not-allowed suggestion:\n" + out)
    m = re.search(r"^    pack: local\n(?:    .*\n)+", out, re.M)
    if check(m, "suggested policy block:\n" + out):
        pol = os.path.join(t, "suggested.yaml")
        open(pol, "w").write("\n".join(l[4:] for l in m.group(0).splitlines()) + "\n")
        r = run("scan", "--policy", pol, susp)
        check(r.returncode == 0, "the suggested policy admits the file: exit %d\n%s" % (r.returncode, text(r)))
    # colour: only on request or a terminal, never with NO_COLOR
    r = run("scan", "--color", "always", MALICIOUS[0])
    check(b"\033[" in r.stdout, "--color always: no ANSI colour")
    r = run("scan", "--color", "always", MALICIOUS[0], env={"NO_COLOR": "1"})
    check(b"\033[" not in r.stdout, "NO_COLOR: still coloured")
    r = run("scan", MALICIOUS[0])
    check(b"\033[" not in r.stdout and b"\r" not in r.stderr, "not a terminal: colour or progress")
    r = run("scan", "--no-color", "--colour=always", MALICIOUS[0])
    check(b"\033[" in r.stdout, "--colour=always after --no-color: the last one wins")
    r = run("scan", "--colour=always", "--color", "never", "--progress", "never", MALICIOUS[0])
    check(b"\033[" not in r.stdout and not r.stderr, "--color never --progress never")
    r = run("scan", "--progress", "always", "--no-progress", *BENIGN)
    check(b"\r" not in r.stderr, "--no-progress")
    # a limit option: the stream is inconclusive, exit 3
    r = run("scan", "--max-opcodes", "3", BENIGN[0])
    check(r.returncode == 3 and headlines(r).get(BENIGN[0]) == ("unknown", "inconclusive"),
          "--max-opcodes 3: exit %d %s" % (r.returncode, headlines(r).get(BENIGN[0])))
    r = run("scan", "--max-opcodes", "x", BENIGN[0])
    check(r.returncode == 2, "--max-opcodes x: exit %d" % r.returncode)
    r = run("scan", "--progress", "always", *BENIGN)
    check(b"\r\033[K[" in r.stderr and b"/%d]" % len(BENIGN) in r.stderr, "--progress always: %r" % r.stderr[:200])
    # a terminal: run under script(1) when present
    if shutil.which("script"):
        p = subprocess.run(["script", "-qec", "%s scan %s" % (BRINE, MALICIOUS[0]), "/dev/null"], capture_output=True,
                           cwd=ROOT, env={k: v for k, v in os.environ.items() if k != "NO_COLOR"}, timeout=60)
        check(b"\033[1;31m" in p.stdout and b"[1/1]" in p.stdout, "on a terminal: colour and progress: %r" % p.stdout[:300])
        p = subprocess.run(["script", "-qec", "%s scan %s" % (BRINE, MALICIOUS[0]), "/dev/null"], capture_output=True,
                           cwd=ROOT, env=dict(os.environ, NO_COLOR="1"), timeout=60)
        check(b"\033[1;31m" not in p.stdout, "on a terminal with NO_COLOR: coloured")

    # ---- json ----
    section('json')
    allfiles = BENIGN + MALICIOUS + [susp, notpickle, empty, missing]
    r = run("scan", "--format", "json", *allfiles)
    doc = json.loads(r.stdout)
    validate_report(doc, "json report")
    check(doc["schema"] == "brine-report/1" and doc["brine"]["version"] and re.fullmatch("[0-9a-f]{16}",
          doc["policy"]["hash"]) and "dangerous" in doc["policy"]["packs"], "json header: %s" % {
              k: doc[k] for k in ("schema", "brine", "policy")})
    check([f["path"] for f in doc["files"]] == allfiles, "json: files not in input order")
    byp = {f["path"]: f for f in doc["files"]}
    for f in allfiles:
        if f == missing:
            continue
        data = open(os.path.join(ROOT, f), "rb").read()
        check(byp[f]["sha256"] == hashlib.sha256(data).hexdigest() and byp[f]["size"] == len(data),
              "%s: sha256/size differ from hashlib" % f)
    check(byp[missing]["status"] == "unreadable" and byp[missing]["error"]["errno"] == 2, "missing in json: %s" %
          byp[missing])
    check(byp[notpickle]["safe"] is False and byp[notpickle]["outcome"] == "incomplete", "non-pickle in json")
    ev = byp[MALICIOUS[0]]
    fd = [x for x in ev["findings"] if x["opcode"] == "REDUCE"]
    check(fd and fd[0]["rule"]["id"] == "deny" and fd[0]["rule"]["pack"] == "dangerous" and fd[0]["rule"]["line"] and
          fd[0]["name"] == "builtins:eval" and fd[0]["severity"] == "critical" and fd[0]["offset"] == 0x1b,
          "json finding: %s" % fd[:1])
    check({"name": "builtins:eval", "import": 1, "call": 1, "build": 0, "items": 0} in ev["globals"],
          "json globals inventory: %s" % ev["globals"])
    tz = byp["corpus/benign/torch/state_dict_zip.pt"]
    inv = {g["name"]: g for g in tz["globals"]}
    check(inv.get("torch._utils:_rebuild_tensor_v2", {}).get("call", 0) >= 1 and
          inv.get("collections:OrderedDict", {}).get("call", 0) >= 1, "torch globals inventory: %s" % tz["globals"])
    st = tz["streams"]
    inner = [s for s in st if s["location"]["text"].endswith("!archive/data.pkl")]
    check(inner and inner[0]["parent"] is not None and st[inner[0]["parent"]]["format"] == "torch-zip" and
          inner[0]["location"]["steps"][1] == {"kind": "member", "format": "zip", "name": "archive/data.pkl",
                                               "offset": inner[0]["location"]["steps"][1]["offset"]},
          "stream tree of a torch zip: %s" % st)
    pay = byp[MALICIOUS[1]]
    check(any(x["name"] == "os:system" and len(x["location"]["steps"]) >= 2 for x in pay["findings"]),
          "container finding has structured steps: %s" % pay["findings"][:2])
    sf = byp[susp]["findings"]
    check(sf and sf[0]["missing_permission"] in ("import", "call") and sf[0]["rule"]["id"] == "not-allowed",
          "suspicious finding: %s" % sf[:1])
    check(doc["summary"]["files"] == len(allfiles) and doc["summary"]["unreadable"] == 1 and
          doc["summary"]["dangerous"] == 2 and doc["summary"]["suspicious"] == 1, "json summary %s" % doc["summary"])
    # --output
    outp = os.path.join(t, "report.json")
    r = run("scan", "-f", "json", "-o", outp, *BENIGN)
    check(r.returncode == 0 and not r.stdout and validate_report(json.load(open(outp)), "--output json"),
          "--output FILE")
    r = run("scan", "-o", os.path.join(t, "no", "such", "dir"), BENIGN[0])
    check(r.returncode == 2, "--output into a missing directory: exit %d" % r.returncode)
    # --output over an old report: nothing of it is left, whether it is cut inline (small) or by
    # a thread beside the scan (1 MiB or more), with a directory walked, files named, or no file
    # scanned at all; the file's other names (a hard link) see the same report
    small_dir = os.path.join(t, "benign-dir")
    os.mkdir(small_dir)
    for f in BENIGN:
        shutil.copy(os.path.join(ROOT, f), small_dir)
    for old_size in (0, 100, 1 << 20, 3 << 20):
        for fmt, args in (("json", [small_dir]), ("jsonl", BENIGN), ("text", ["-q", small_dir]),
                          ("jsonl", ["--files-from", os.devnull])):
            with open(outp, "wb") as f:
                f.write(b"\xff" * old_size)
            link = outp + ".link"
            if os.path.exists(link):
                os.unlink(link)
            os.link(outp, link)
            r = run("scan", "-f", fmt, "-o", outp, *args)
            got = open(outp, "rb").read()
            ok = r.returncode == 0 and b"\xff" not in got and got == open(link, "rb").read()
            if fmt == "json":
                ok = ok and validate_report(json.loads(got), "--output over an old report")
            elif fmt == "jsonl":
                ok = ok and len(got.splitlines()) == (0 if "--files-from" in args else len(args))
                ok = ok and all(json.loads(line)["safe"] for line in got.splitlines())
            else:
                ok = ok and got.count(b": safe (complete)\n") == len(BENIGN)
            check(ok, "--output over an old report of %d bytes, %s %s: exit %d, %d bytes, %r" % (
                old_size, fmt, args[:2], r.returncode, len(got), got[:80]))
    # the report leaves in 64 KiB writes (setvbuf given no buffer of its own kept glibc's 4 KiB:
    # 1,733 writes for 6.6 MB); json has no timed flushes, so the count is the size's
    if shutil.which("strace"):
        many = os.path.join(t, "many")
        os.mkdir(many)
        for i in range(2000):
            with open(os.path.join(many, "f%04d.pkl" % i), "wb") as f:
                f.write(pickle.dumps([i, "x%d" % i], protocol=i % 6))
        for dest in ("file", "pipe"):
            trace = os.path.join(t, "strace.out")
            argv = ["strace", "-f", "-e", "trace=write", "-o", trace, BRINE, "scan", "-j", "2", "-f", "json"]
            argv += ["-o", outp, many] if dest == "file" else [many]
            # LeakSanitizer refuses to run under ptrace (exit 1 at the end): off for this run
            env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
            size = os.path.getsize(outp) if dest == "file" else len(r.stdout)
            fd = "3" if dest == "file" else "1"
            writes = sum(1 for line in open(trace) if re.search(r"\bwrite\(%s," % fd, line))
            check(r.returncode == 0 and size > 1 << 20 and writes <= size // 65536 + 2,
                  "the json report to a %s in 64 KiB writes: %d writes for %d bytes (exit %d, %s)" % (
                      dest, writes, size, r.returncode, r.stderr.decode(errors="replace")[-300:]))
    else:
        print("SKIP: strace not installed: the report's write size not checked")

    # ---- jsonl ----
    section('jsonl')
    r = run("scan", "--format", "jsonl", *allfiles)
    lines = r.stdout.decode().splitlines()
    check(len(lines) == len(allfiles), "jsonl: %d lines for %d files" % (len(lines), len(allfiles)))
    objs = [json.loads(l) for l in lines]
    for o in objs:
        validate_report(o, "jsonl line %s" % o.get("path"))
    check(strip_times(objs) == strip_times(doc["files"]), "jsonl lines differ from json files")
    # flushed as each file finishes: read the first line while brine still waits on a FIFO
    fifo = os.path.join(t, "fifo")
    os.mkfifo(fifo)
    # a writer end is open before brine starts, so brine waits for data (a FIFO with no writer
    # at all reads as empty): opened O_RDWR, which on Linux does not wait for a reader. (Opened
    # for writing in a thread, as it was, the open could come after brine's read had already
    # found no writer: brine then read the FIFO as empty and the writer waited for a reader
    # that never came, 3 times in 150 here.)
    # With -j 2 the FIFO comes third, after two files the workers share out; with many
    # files before it (taken in runs), every one of them is out before the FIFO is read
    import threading
    many = [BENIGN[k % len(BENIGN)] for k in range(300)]
    for j, before in (("1", [BENIGN[0]]), ("2", [BENIGN[0], BENIGN[1 % len(BENIGN)]]), ("2", many)):
        wfd = os.open(fifo, os.O_RDWR)
        p = subprocess.Popen([BRINE, "scan", "-f", "jsonl", "-j", j] + before + [fifo], stdout=subprocess.PIPE, cwd=ROOT)
        got = []  # written while brine waits on the FIFO (read in a thread: a bug must not hang the test)
        rd = threading.Thread(target=lambda: got.extend(p.stdout.readline() for _ in before), daemon=True)
        rd.start()
        rd.join(timeout=60)
        if rd.is_alive():
            p.kill()
            check(False, "-j %s, %d files: the results before a FIFO were not written while it waited" % (j, len(before)))
            os.close(wfd)
            p.wait()
            continue
        first = got
        os.write(wfd, pickle.dumps([1, 2, 3]))
        os.close(wfd)
        rest = p.stdout.read()
        p.wait(timeout=60)
        check([json.loads(l)["path"] for l in first] == before and json.loads(rest)["verdict"] == "safe" and
              p.returncode == 0, "-j %s, %d files: jsonl flushed as files finish, FIFO with a writer: %r %r exit %d" %
              (j, len(before), first[0][:80], rest[:80], p.returncode))
    # a FIFO without a writer reads as empty: reported, the batch goes on
    r = run("scan", "-f", "jsonl", fifo, BENIGN[0], timeout=60)
    o = [json.loads(l) for l in r.stdout.decode().splitlines()]
    check(len(o) == 2 and o[0]["status"] == "malformed" and o[1]["safe"] and r.returncode == 3,
          "FIFO without a writer: %s exit %d" % ([x["status"] for x in o], r.returncode))

    # ---- sarif ----
    section('sarif')
    r = run("scan", "--format", "sarif", *allfiles)
    sar = json.loads(r.stdout)
    validate_sarif(sar, "sarif")
    run0 = sar["runs"][0]
    rules = {x["id"]: x for x in run0["tool"]["driver"]["rules"]}
    res = run0["results"]
    check(res and all(x["ruleId"] in rules and run0["tool"]["driver"]["rules"][x["ruleIndex"]]["id"] == x["ruleId"]
                      for x in res), "sarif: a ruleId without its rule")
    check(all(x.get("help", {}).get("text") and x.get("shortDescription", {}).get("text") for x in rules.values()),
          "sarif: a rule without help text")
    lv = {x["level"] for x in res}
    check("error" in lv and "warning" in lv, "sarif levels: %s" % lv)
    uris = {x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for x in res}
    check(all(not u.startswith("/") and not u.startswith("file:") for u in uris if "brine-cli-" not in u) and
          all(u.startswith("file:///") for u in uris if "brine-cli-" in u), "sarif uris relative to the cwd: %s" % uris)
    ev = [x for x in res if x["properties"].get("name") == "builtins:eval" and x["properties"].get("opcode") == "REDUCE"]
    check(ev and ev[0]["locations"][0]["physicalLocation"]["region"]["byteOffset"] == 0x1b and ev[0]["level"] == "error"
          and ev[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == MALICIOUS[0],
          "sarif finding of a raw pickle: %s" % ev[:1])
    pay = [x for x in res if x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == MALICIOUS[1]]
    check(pay and any("!" in x["properties"].get("container", "") and len(x["properties"].get("steps", [])) >= 2 for x in pay),
          "sarif container path of a member finding")
    check(any(x["ruleId"] == "incomplete" for x in res), "sarif: a non-pickle is reported as not fully analysed")
    notes = run0["invocations"][0]["toolExecutionNotifications"]
    check(len(notes) == 1 and "missing.pkl" in notes[0]["message"]["text"], "sarif: the unreadable file: %s" % notes)
    r2 = run("scan", "--format", "sarif", "-j", "1", *allfiles)
    fp = lambda d: [x["partialFingerprints"] for x in d["runs"][0]["results"]]
    check(fp(json.loads(r2.stdout)) == fp(sar), "sarif partialFingerprints not stable across runs")
    # the same file under another name keeps its fingerprints
    other = os.path.join(t, "renamed.pkl")
    shutil.copy(os.path.join(ROOT, MALICIOUS[0]), other)
    a = json.loads(run("scan", "-f", "sarif", MALICIOUS[0]).stdout)
    b = json.loads(run("scan", "-f", "sarif", other).stdout)
    check(fp(a) == fp(b), "sarif fingerprints depend on the path")
    # absolute paths below the cwd become relative
    a = json.loads(run("scan", "-f", "sarif", os.path.join(ROOT, MALICIOUS[0])).stdout)
    check(a["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == MALICIOUS[0],
          "sarif: an absolute path below the cwd is not made relative")
    r = run("scan", "-f", "sarif", *BENIGN)
    validate_sarif(json.loads(r.stdout), "sarif with no results")
    # more findings than a report keeps: counted, the rest left out and said so
    many = os.path.join(t, "many-findings.pkl")
    open(many, "wb").write(b"\x80\x02" + b"".join(b"cm%d\nX\n0" % i for i in range(10050)) + b"N.")
    r = run("scan", "-f", "jsonl", many)
    o = json.loads(r.stdout)
    check(o["counts"]["findings"] == 10050 and len(o["findings"]) == 10000 and o["truncated"]["findings"] and
          validate_report(o, "truncated findings"), "10,050 findings: %s %s" % (o["counts"], o["truncated"]))
    r = run("scan", "-f", "sarif", many)
    d = json.loads(r.stdout)
    validate_sarif(d, "sarif with truncated findings")
    n = d["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    check(len(d["runs"][0]["results"]) == 10000 and n and "50 more findings" in n[0]["message"]["text"],
          "sarif: truncated findings not said: %s" % n)
    r = run("scan", many)
    check("... 50 more findings not shown" in text(r), "text: truncated findings not said")

    # ---- stdin, --files-from, -0 -------------------------------------------------------
    data = open(os.path.join(ROOT, MALICIOUS[0]), "rb").read()
    r = run("scan", "-f", "jsonl", "-", input=data)
    o = json.loads(r.stdout)
    check(r.returncode == 1 and o["path"] == "-" and o["verdict"] == "dangerous" and
          o["sha256"] == hashlib.sha256(data).hexdigest(), "stdin: exit %d %s" % (r.returncode, o.get("verdict")))
    r = run("scan", "-", input=pickle.dumps({"a": [1, 2.5, "x"]}))
    check(r.returncode == 0 and headlines(r).get("-") == ("safe", "complete"), "benign stdin")
    with open(os.path.join(ROOT, BENIGN[5]), "rb") as f:
        r = run("scan", "-", stdin=f)
    check(r.returncode == 0, "stdin redirected from a file: exit %d" % r.returncode)
    lst = os.path.join(t, "list.txt")
    open(lst, "w").write("\n".join(BENIGN[:3] + [MALICIOUS[0]]) + "\n")
    r = run("scan", "-f", "jsonl", "--files-from", lst)
    check(r.returncode == 1 and [json.loads(l)["path"] for l in r.stdout.decode().splitlines()] ==
          BENIGN[:3] + [MALICIOUS[0]], "--files-from FILE")
    r = run("scan", "-f", "jsonl", "--files-from", "-", "-0", input=("\0".join(BENIGN[:2]) + "\0").encode())
    check(r.returncode == 0 and len(r.stdout.decode().splitlines()) == 2, "--files-from - -0: exit %d" % r.returncode)
    r = run("scan", "-f", "jsonl", "--files-from=-", input=(BENIGN[0] + "\n" + missing + "\n").encode())
    check(r.returncode == 2 and len(r.stdout.decode().splitlines()) == 2, "--files-from with a missing file")

    # ---- directories ----
    section('directories')
    d = os.path.join(t, "tree")
    os.makedirs(os.path.join(d, "sub", "deeper"))
    os.makedirs(os.path.join(d, "skipme"))
    open(os.path.join(d, "b.pkl"), "wb").write(pickle.dumps(1))
    open(os.path.join(d, "a.bin"), "wb").write(pickle.dumps([1]))  # the content decides, not the name
    open(os.path.join(d, "sub", "model.weights"), "wb").write(os_system_pickle())
    open(os.path.join(d, "sub", "deeper", "c.pkl"), "wb").write(pickle.dumps("c"))
    open(os.path.join(d, "skipme", "x.pkl"), "wb").write(os_system_pickle())
    os.symlink(os.path.join(t, "evil.pkl"), os.path.join(d, "link.pkl"))
    r = run("scan", "-f", "jsonl", d)
    paths = [json.loads(l)["path"] for l in r.stdout.decode().splitlines()]
    rel = [os.path.relpath(p, d) for p in paths]
    check(rel == ["a.bin", "b.pkl", "skipme/x.pkl", "sub/deeper/c.pkl", "sub/model.weights"] and r.returncode == 1,
          "directory walk (sorted, recursive, symlinks skipped): %s exit %d" % (rel, r.returncode))
    r = run("scan", "-f", "jsonl", "--exclude", "skipme", "--exclude", "*.weights", d)
    rel = [os.path.relpath(json.loads(l)["path"], d) for l in r.stdout.decode().splitlines()]
    check(rel == ["a.bin", "b.pkl", "sub/deeper/c.pkl"] and r.returncode == 0, "--exclude: %s" % rel)
    r = run("scan", "-f", "jsonl", "--include", "*.pkl", d)
    rel = [os.path.relpath(json.loads(l)["path"], d) for l in r.stdout.decode().splitlines()]
    check(rel == ["b.pkl", "skipme/x.pkl", "sub/deeper/c.pkl"], "--include: %s" % rel)
    r = run("scan", "-f", "jsonl", "--include", "sub/*", "--include", "a.*", d)
    rel = [os.path.relpath(json.loads(l)["path"], d) for l in r.stdout.decode().splitlines()]
    check(rel == ["a.bin", "sub/deeper/c.pkl", "sub/model.weights"], "--include with a path glob: %s" % rel)
    r = run("scan", "-f", "jsonl", "--follow-symlinks", "--exclude", "skipme", d)
    rel = [os.path.relpath(json.loads(l)["path"], d) for l in r.stdout.decode().splitlines()]
    check("link.pkl" in rel and r.returncode == 1, "--follow-symlinks: %s" % rel)
    os.symlink(d, os.path.join(d, "sub", "loop"))
    r = run("scan", "-f", "jsonl", "--follow-symlinks", "--exclude", "skipme", "--exclude", "*.weights",
            "--exclude", "link.pkl", d)
    o = [json.loads(l) for l in r.stdout.decode().splitlines()]
    loops = [x for x in o if x["status"] == "unreadable" and "loop" in x["error"]["message"]]
    check(len(loops) == 1 and r.returncode == 2 and all(x["safe"] for x in o if x not in loops),
          "directory loop reported and the batch goes on: exit %d %s" % (r.returncode, [x["path"] for x in loops]))
    r = run("scan", "-f", "jsonl", d + "/sub/loop/b.pkl")  # a symlink named on the command line is followed
    check(r.returncode == 0, "symlinked path operand: exit %d" % r.returncode)
    # EACCES (as root, through an unprivileged user)
    locked = os.path.join(t, "locked.pkl")
    open(locked, "wb").write(pickle.dumps(1))
    os.chmod(locked, 0)
    ok_file = os.path.join(t, "ok.pkl")
    open(ok_file, "wb").write(pickle.dumps(2))
    os.chmod(ok_file, 0o644)
    cmd = [BRINE, "scan", "-f", "jsonl", locked, ok_file]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + cmd
    if os.geteuid() != 0 or shutil.which("setpriv"):
        p = subprocess.run(cmd, capture_output=True, timeout=60)
        o = [json.loads(l) for l in p.stdout.decode().splitlines()]
        check(p.returncode == 2 and len(o) == 2 and o[0]["error"]["errno"] == 13 and o[1]["safe"],
              "EACCES: exit %d %s %s" % (p.returncode, o, p.stderr[-200:]))
    # a directory named in --files-from is walked; one that cannot be opened is reported
    r = run("scan", "-f", "jsonl", "--files-from", "-", input=(d + "/sub/deeper\n").encode())
    check(r.returncode == 0 and len(r.stdout.splitlines()) == 1, "directory in --files-from")

    # ---- -j: input order and identical results for any N ----
    section('-j')
    corpus = sorted(os.path.join("corpus/benign/raw", f) for f in os.listdir(os.path.join(ROOT, "corpus/benign/raw")))
    corpus += sorted("corpus/malicious/" + f for f in os.listdir(os.path.join(ROOT, "corpus/malicious"))
                     if f.endswith(".pkl"))[:60]
    corpus += ["corpus/malicious/containers/" + f for f in sorted(os.listdir(os.path.join(ROOT,
                                                                  "corpus/malicious/containers")))][:40]
    corpus += [missing, notpickle]
    outs = {}
    for j in ("1", "2", "3", "8"):
        r = run("scan", "-f", "json", "-j", j, *corpus)
        outs[j] = (r.returncode, strip_times(json.loads(r.stdout)))
    check(all(outs[j] == outs["1"] for j in outs), "-j 1/2/3/8 give different results")
    check([f["path"] for f in outs["8"][1]["files"]] == corpus, "-j 8: output not in input order")
    r1, r2 = run("scan", "-j1", "--no-summary", *corpus), run("scan", "--jobs=4", "--no-summary", *corpus)
    check(r1.stdout == r2.stdout and r1.returncode == r2.returncode, "text output differs between -j1 and -j4")
    r = run("scan", "-j", "2", "--no-hash", "-f", "jsonl", *BENIGN[:2])
    check(all(json.loads(l)["sha256"] is None for l in r.stdout.splitlines()), "--no-hash")

    # ---- a file larger than what is read into memory (mapped by the library) ----
    section('a file larger than what is read into memory (mapped by the library)')
    if not quick:
        big = os.path.join(t, "big.pkl")
        payload = pickle.dumps(b"\0" * (70 << 20), protocol=4)
        open(big, "wb").write(payload)
        r = run("scan", "-f", "jsonl", big)
        o = json.loads(r.stdout)
        check(r.returncode == 0 and o["sha256"] == hashlib.sha256(payload).hexdigest() and o["size"] == len(payload),
              "a 70 MiB file: exit %d %s" % (r.returncode, o.get("status")))
        os.unlink(big)

    # ---- 10,000 small files: memory flat, exit right ----
    section('10,000 small files: memory flat, exit right')
    def rss_of(n, j):
        dd = os.path.join(t, "many%d" % n)
        os.makedirs(dd, exist_ok=True)
        for i in range(n):
            sub = os.path.join(dd, "%03d" % (i % 100))
            os.makedirs(sub, exist_ok=True)
            open(os.path.join(sub, "f%05d.pkl" % i), "wb").write(pickle.dumps({"i": i, "v": [i] * 5}))
        code = ("import resource,subprocess,sys;"
                "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL);"
                "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        p = subprocess.run([sys.executable, "-c", code, BRINE, "scan", "-f", "jsonl", "-j", j, dd],
                           capture_output=True, text=True, timeout=900)
        rc, rss = p.stdout.split()
        shutil.rmtree(dd)
        return int(rc), int(rss)
    # under AddressSanitizer freed memory sits in a quarantine: the flatness
    # of the resident size is measured on the plain build only
    sanitized = b"libasan" in subprocess.run(["ldd", BRINE], capture_output=True).stdout
    n_big = 2000 if quick else 10000
    rc1, rss1 = rss_of(1000, "2")
    rc2, rss2 = rss_of(n_big, "2")
    check(rc1 == 0 and rc2 == 0, "%d small files: exit %d" % (n_big, rc2))
    # the list of paths grows (~100 bytes a file); everything else stays flat
    check(sanitized or rss2 < rss1 + 4096 + n_big // 10, "%d files: max RSS %d KiB vs %d KiB for 1000: not flat" % (n_big, rss2, rss1))
    print("cli: max RSS %d KiB for 1000 files, %d KiB for %d files%s" % (
        rss1, rss2, n_big, " (sanitized build: not compared)" if sanitized else ""))

    # ---- explain ----
    section('explain')
    r = run("explain", evil)
    out = text(r)
    line = [l for l in out.splitlines() if l.startswith("_1 = os.system(")]
    check(line and "'echo pwned'" in line[0] and "<-- DANGEROUS" in line[0] and "REDUCE" in line[0] and r.returncode == 1,
          "explain os.system:\n" + out)
    check(re.search(r"^import os +# @0x2 GLOBAL os\.system +<-- DANGEROUS", out, re.M), "explain import line:\n" + out)
    od = os.path.join(t, "od.pkl")
    import collections
    open(od, "wb").write(pickle.dumps(collections.OrderedDict([("k", "v" * 500), ("n", 1)]), protocol=2))
    r = run("explain", od)
    out = text(r)
    check(re.search(r"^_1 = collections\.OrderedDict\(\) ", out, re.M) and re.search(r"^_1\['k'\] = 'v{60}'\.\.\.<500", out,
          re.M) and re.search(r"^_1\['n'\] = 1 ", out, re.M) and r.returncode == 0, "explain OrderedDict:\n" + out)
    r = run("explain", "corpus/benign/torch/state_dict_zip.pt")
    out = text(r)
    check("# == corpus/benign/torch/state_dict_zip.pt!archive/data.pkl" in out and
          re.search(r"^_\d+ = persistent_load\(\('storage', torch\.FloatStorage, '0', 'cpu', \d+\)\)", out, re.M) and
          re.search(r"^_\d+ = torch\._utils\._rebuild_tensor_v2\(_\d+, 0,", out, re.M), "explain torch zip:\n" + out[:1500])
    r = run("explain", MALICIOUS[1])
    check("os.system(" in text(r) and "DANGEROUS" in text(r) and r.returncode == 1, "explain a member payload")
    r = run("explain", notpickle)
    check(r.returncode == 3 and "raise UnpicklingError(" in text(r), "explain a non-pickle: exit %d\n%s" % (
        r.returncode, text(r)))
    r = run("explain", notpickle, evil, missing)
    check(r.returncode == 1, "explain: exit statuses combine as for scan: %d" % r.returncode)
    # every statement of explain is one event of `brine events`, in the same order
    ev = [l.split("\t") for l in run("events", evil).stdout.decode().splitlines()]
    st = [l for l in run("explain", evil).stdout.decode().splitlines() if " # @0x" in l]
    check([int(e[0]) for e in ev if e[3] in ("import", "call")] ==
          [int(re.search(r"# @0x([0-9a-f]+)", l).group(1), 16) for l in st if not l.startswith("#")],
          "explain statements and events differ")

    # ---- --help for every subcommand ---------------------------------------------------------
    for c in ("scan", "explain", "disasm", "dump", "events", "policy", "learn", "version"):
        r = run(c, "--help")
        check(r.returncode == 0 and b"usage" in r.stdout, "%s --help: exit %d" % (c, r.returncode))


if __name__ == "__main__":
    sys.exit(main())
