#!/usr/bin/python3
"""brine.registry on a LocalCluster of 2 worker processes (loopback only): the
results equal the command's on the whole corpus; reruns skip what the output
or the cache holds; a changed file is rescanned and still appears once; a cut
last line is repaired; a worker killed mid-partition loses nothing and
duplicates nothing; the command-line entry point.

Usage: test_registry.py BRINE_EXE SOURCE_ROOT   (the package on PYTHONPATH)
Last line: `python-registry: N passed, M failed`.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import brine
from brine import registry

BRINE, SRC = os.path.abspath(sys.argv[1]), sys.argv[2]  # meson passes the command relative to the build dir
os.chdir(SRC)
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s" % what)
    return ok


def strip(o):
    o = dict(o)
    o.pop("time_ms", None)
    return o


def read_out(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(ln) for ln in f.read().splitlines()]


def cli_json(paths):
    r = subprocess.run([BRINE, "scan", "--format", "jsonl", "-j", "2", "--"] + list(paths), capture_output=True,
                       text=True)
    return {o["path"]: strip(o) for o in map(json.loads, r.stdout.splitlines())}


def corpus_files():
    out = []
    for root, dirs, files in os.walk("corpus"):
        dirs.sort()
        out += [os.path.join(root, f) for f in sorted(files)]
    return out


def same_as_cli(lines, cli, what):
    paths = [o["path"] for o in lines]
    check(len(paths) == len(set(paths)), "%s: %d lines for %d paths (duplicates)" % (what, len(paths), len(set(paths))))
    check(set(paths) == set(cli), "%s: %d paths in the output, %d scanned by the command; missing %s"
          % (what, len(set(paths)), len(cli), sorted(set(cli) - set(paths))[:5]))
    bad = [o["path"] for o in lines if o["path"] in cli and strip(o) != cli[o["path"]]]
    check(not bad, "%s: %d objects differ from the command's, e.g. %s" % (what, len(bad), bad[:3]))
    verdicts = sum(1 for o in lines if o["path"] in cli and (o["verdict"], o["status"]) ==
                   (cli[o["path"]]["verdict"], cli[o["path"]]["status"]))
    check(verdicts == len(cli), "%s: same verdict and status for %d of %d" % (what, verdicts, len(cli)))


def main():
    from distributed import Client, LocalCluster
    tmp = tempfile.mkdtemp(prefix="brine-registry-test-")
    t0 = time.monotonic()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0")
    client = Client(cluster)
    try:
        workers = client.scheduler_info()["workers"]
        check(len(workers) == 2 and all(a.startswith("tcp://127.0.0.1:") for a in workers)
              and cluster.scheduler_address.startswith("tcp://127.0.0.1:"),
              "2 workers on loopback: %s" % list(workers))
        print("cluster up in %.1f s" % (time.monotonic() - t0))
        files = corpus_files()
        cli = cli_json(files)
        check(len(cli) == len(files), "the command scanned %d of %d" % (len(cli), len(files)))

        # 1. the whole corpus, then a rerun that scans nothing
        out = os.path.join(tmp, "corpus.jsonl")
        t = time.monotonic()
        s = registry.run(client, ["corpus"], out)
        print("corpus: %s" % s)
        check(s.files == len(files) and s.scanned == len(files), "first run scanned %d of %d" % (s.scanned, len(files)))
        same_as_cli(read_out(out), cli, "corpus")
        want_rc = subprocess.run([BRINE, "scan", "--quiet", "--no-summary", "corpus"], capture_output=True).returncode
        check(s.exit_code() == want_rc, "exit code %d, the command's %d" % (s.exit_code(), want_rc))
        before = open(out, "rb").read()
        s = registry.run(client, ["corpus"], out)
        check(s.scanned == 0 and s.same == len(files) and open(out, "rb").read() == before,
              "a rerun scans nothing and leaves the output alone: %s" % s)
        check(s.exit_code() == want_rc, "a rerun gives the same exit code")
        print("two corpus runs: %.1f s" % (time.monotonic() - t))

        # 2. the cache: a fresh output filled from it; a copy under another name too
        sub = [f for f in files if f.startswith(("corpus/malicious/", "corpus/benign/torch/", "corpus/benign/joblib/"))]
        cache = os.path.join(tmp, "cache")
        o2, o3 = os.path.join(tmp, "c2.jsonl"), os.path.join(tmp, "c3.jsonl")
        s = registry.run(client, sub, o2, cache=cache)
        # (files of the same content come from the cache from the second one on)
        check(s.scanned + s.cached == len(sub) and s.scanned >= len(sub) - 10, "cache fill: %s" % s)
        s = registry.run(client, sub, o3, cache=cache)
        check(s.cached == len(sub) and s.scanned == 0, "from the cache: %s" % s)
        same_as_cli(read_out(o3), {p: cli[p] for p in sub}, "from the cache")
        copies = os.path.join(tmp, "copies")
        os.mkdir(copies)
        for f in sub[:25]:
            shutil.copy(f, os.path.join(copies, os.path.basename(f)))
        o4 = os.path.join(tmp, "c4.jsonl")
        s = registry.run(client, [copies], o4, cache=cache)
        check(s.cached == 25, "renamed copies come from the cache: %s" % s)
        same_as_cli(read_out(o4), cli_json(sorted(os.path.join(copies, n) for n in os.listdir(copies))),
                    "renamed copies")

        # 3. incremental: one file changes, it is rescanned, every file still appears once
        inc = os.path.join(tmp, "inc")
        os.mkdir(inc)
        benign = sorted(os.listdir("corpus/benign/raw"))[:6]
        for n in benign:
            shutil.copy(os.path.join("corpus/benign/raw", n), os.path.join(inc, n))
        o5 = os.path.join(tmp, "inc.jsonl")
        s = registry.run(client, [inc], o5)
        check(s.scanned == 6 and s.exit_code() == 0, "incremental, first: %s" % s)
        changed = os.path.join(inc, benign[2])
        shutil.copy("corpus/malicious/A-os-system.pkl", changed)
        s = registry.run(client, [inc], o5, cache=cache)
        check(s.scanned + s.cached == 1 and s.same == 5 and s.exit_code() == 1, "incremental, one changed: %s" % s)
        lines = read_out(o5)
        same_as_cli(lines, cli_json(sorted(os.path.join(inc, n) for n in os.listdir(inc))), "incremental")
        # a crash in the middle of a line: the next run repairs the file
        with open(o5, "a") as f:
            f.write('{"path":"%s","size":' % changed)
        s = registry.run(client, [inc], o5)
        check(s.scanned == 0 and s.same == 6, "after a cut last line: %s" % s)
        same_as_cli(read_out(o5), cli_json(sorted(os.path.join(inc, n) for n in os.listdir(inc))), "repaired")
        # another brine version wrote the output: everything is stale
        with open(o5 + ".meta", "w") as f:
            json.dump({"schema": registry.SCHEMA, "brine_version": "0.0.0-old"}, f)
        s = registry.run(client, [inc], o5)
        check(s.scanned == 6 and len(read_out(o5)) == 6, "another version's output is rescanned: %s" % s)
        # a policy changes the key
        pol = os.path.join(tmp, "plain.yaml")
        with open(pol, "w") as f:
            f.write("pack: plain\nallow: []\n")
        s = registry.run(client, [inc], o5, policy_files=[pol])
        lines = read_out(o5)
        check(s.scanned == 6 and len(lines) == 6 and all(o["policy_hash"] == brine.Policy(pol, extends_bundle=False)
                                                         .identity for o in lines), "a new policy rescans: %s" % s)

        # 4. a worker killed in the middle of a partition
        kill_files = [f for f in files if "/benign/raw/" in f][:300] + [f for f in files if "/malicious/" in f]
        o6 = os.path.join(tmp, "kill.jsonl")
        killed = []

        def killer():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                time.sleep(0.2)
                if not os.path.exists(o6) or os.path.getsize(o6) == 0:
                    continue  # wait until some partitions are done
                busy = {a: ks for a, ks in client.processing().items() if ks}
                if not busy:
                    continue
                pids = client.run(os.getpid)
                addr = sorted(busy)[0]
                if addr in pids:
                    killed.append((addr, pids[addr], list(busy[addr])))
                    os.kill(pids[addr], signal.SIGKILL)
        th = threading.Thread(target=killer)
        th.start()
        s = registry.run(client, kill_files, o6, partition_size=10, _delay=0.01)
        th.join()
        check(bool(killed), "a worker was killed mid-run")
        if killed:
            print("killed worker %s (pid %d) while it ran %s" % (killed[0][0], killed[0][1], killed[0][2]))
        same_as_cli(read_out(o6), {p: cli[p] for p in kill_files}, "worker killed")
        check(s.scanned == len(kill_files), "after the kill: %s" % s)
        client.wait_for_workers(2, timeout=60)

        # 5. the command line, against the cluster's scheduler and with a local cluster of its own
        lst = os.path.join(tmp, "list.txt")
        pick = [f for f in files if "/malicious/A-" in f][:10] + [f for f in files if "/benign/numpy/" in f]
        with open(lst, "w") as f:
            f.write("\n".join(pick) + "\n")
        env = dict(os.environ)
        o7 = os.path.join(tmp, "cli.jsonl")
        r = subprocess.run([sys.executable, "-m", "brine.registry", "scan", "--scheduler", cluster.scheduler_address,
                            "--files-from", lst, "--output", o7], capture_output=True, text=True, env=env)
        want = subprocess.run([BRINE, "scan", "--quiet", "--no-summary"] + pick, capture_output=True)
        check(r.returncode == want.returncode == 1, "--scheduler: exit %d (command %d): %s" % (r.returncode,
                                                                                       want.returncode, r.stderr[-500:]))
        same_as_cli(read_out(o7), {p: cli[p] for p in pick}, "--scheduler")
        o8 = os.path.join(tmp, "cli-local.jsonl")
        benign = [f for f in files if "/benign/numpy/" in f]
        r = subprocess.run([sys.executable, "-m", "brine.registry", "scan", "--local-workers", "1", "--quiet",
                            "--output", o8] + benign, capture_output=True, text=True, env=env)
        check(r.returncode == 0 and r.stderr == "", "--local-workers 1 on benign files: exit %d %s" % (r.returncode,
                                                                                                r.stderr[-500:]))
        same_as_cli(read_out(o8), {p: cli[p] for p in benign}, "--local-workers")
        r = subprocess.run([sys.executable, "-m", "brine.registry", "scan", "--scheduler", cluster.scheduler_address,
                            "--policy", "test/policy/e_no_colon.yaml", "--output", os.path.join(tmp, "x.jsonl"),
                            benign[0]], capture_output=True, text=True, env=env)
        check(r.returncode == 2 and "e_no_colon.yaml:" in r.stderr, "a bad policy: exit %d %s" % (r.returncode,
                                                                                               r.stderr[-300:]))
        r = subprocess.run([sys.executable, "-m", "brine.registry", "scan", "--output", os.path.join(tmp, "y.jsonl"),
                            "--scheduler", cluster.scheduler_address, "corpus/missing.pkl"],
                           capture_output=True, text=True, env=env)
        lines = read_out(os.path.join(tmp, "y.jsonl"))
        check(r.returncode == 2 and len(lines) == 1 and lines[0]["status"] == "unreadable",
              "an unreadable file: exit %d, %s" % (r.returncode, lines))
        r = subprocess.run([sys.executable, "-m", "brine.registry", "scan", "--output", os.path.join(tmp, "z.jsonl"),
                            "--limit", "max_bogus=3", benign[0]], capture_output=True, text=True, env=env)
        check(r.returncode != 0 and "max_bogus" in r.stderr, "a bad --limit")
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("python-registry: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
