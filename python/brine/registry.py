"""Registry rescans on Dask distributed.

    python3 -m brine.registry scan [--scheduler ADDRESS | --local-workers N]
        [--files-from LIST] [--cache DIR] [--policy FILE]... [--partition-size N]
        --output OUT.jsonl PATH...

The paths (files, or directories walked recursively) are cut into partitions
and scanned on Dask workers; each worker process compiles the policy once and
scans its partitions with the brine binding. Each result is the per-file JSON
object of ``brine scan --format jsonl``, appended to OUT as its partition
finishes.

Resumable and incremental. A result is keyed by (sha256 of the content,
policy identity, brine version): the sha256 and the policy hash are in each
line of OUT, the brine version of every line in OUT.meta (a sidecar, one JSON
object). A rerun skips every file whose line in OUT (or whose entry in
--cache, a content-addressed store that may be shared by several OUTs and
machines) has the same key, and rescans the rest. After a complete run each
requested file appears exactly once in OUT (lines of other files are kept; if
the brine version changed they are dropped, since they are stale).

A worker that dies mid-partition loses nothing: the scheduler runs the
partition again on another worker, and OUT is written only by this process,
once per file, when a partition's result arrives. If this process dies, the
lines already in OUT stay and the next run goes on from there.

Exit status as ``brine scan``: 0 all safe, 1 something unsafe, 2 a file could
not be read, 3 nothing unsafe but something incomplete.
"""
import argparse
import fcntl
import hashlib
import json
import os
import re
import sys
import threading
import time

import brine

SCHEMA = "brine-registry/1"

# ---- on the workers ---------------------------------------------------------------------------

_policies = {}
_policies_lock = threading.Lock()


def _worker_policy(spec, identity):
    """The policy of ``spec`` ((path, text) per file; empty: the bundle), compiled once per process."""
    key = (tuple(spec), identity)
    with _policies_lock:
        pol = _policies.get(key)
        if pol is None:
            usable = all(os.path.isfile(p) and _read_text(p) == t for p, t in spec)
            srcs = [p for p, _ in spec] if usable else [t if "\n" in t else t + "\n" for _, t in spec]
            pol = brine.Policy(*srcs, extends_bundle=False)
            if pol.identity != identity:
                raise RuntimeError("the policy compiles to %s on this worker, %s on the client (brine %s here)"
                                   % (pol.identity, identity, brine.__version__))
            _policies[key] = pol
    return pol


def _read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _cache_path(cache, identity, sha):
    return os.path.join(cache, brine.__version__, identity, sha[:2], sha + ".json")


_JSON_STR_SAFE = re.compile(r'^[\x20-\x7e]*$')


def _rename(line, old, new):
    """The JSON line of a scan of ``old``, as it would read for ``new`` (same bytes), or None."""
    if not (_JSON_STR_SAFE.match(old) and _JSON_STR_SAFE.match(new)) or '"' in old + new or "\\" in old + new:
        return None
    pat = re.compile('"' + re.escape(old) + '(?=["!@])')
    return pat.sub(lambda m: '"' + new, line)


def _cache_get(cache, identity, sha, path):
    try:
        with open(_cache_path(cache, identity, sha), encoding="utf-8") as f:
            entry = json.load(f)
    except (OSError, ValueError):
        return None
    line = entry.get("line")
    if not isinstance(line, str):
        return None
    if entry.get("path") != path:
        line = _rename(line, entry.get("path", ""), path)
    return line


def _cache_put(cache, identity, sha, path, line):
    dest = _cache_path(cache, identity, sha)
    try:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = "%s.%d.%d.tmp" % (dest, os.getpid(), threading.get_ident())
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"path": path, "line": line}, f)
        os.replace(tmp, dest)  # atomic: a reader sees the old entry or the new one
    except OSError:
        pass  # a cache is an optimisation


def _unreadable(pol, path, e):
    """The report library's line for a file that cannot be read."""
    return brine._brine.unreadable_json(pol._p, path, e.errno or 0, None if e.errno else str(e))


def scan_partition(items, spec, identity, cache=None, limits=None, delay=0.0):
    """Scan one partition on a worker. ``items``: (path, sha256 OUT holds for
    it or None). Returns (brine version, [(path, state, sha256, line)]) with
    state "same" (OUT is up to date: no line), "cached", "scanned" or
    "unreadable" (the report library's line for an unreadable file)."""
    pol = _worker_policy(spec, identity)
    out = []
    for path, known in items:
        if delay:
            time.sleep(delay)
        try:
            sha = _sha256_file(path)
        except OSError as e:
            out.append((path, "unreadable", None, _unreadable(pol, path, e)))
            continue
        if known == sha:
            out.append((path, "same", sha, None))
            continue
        line = _cache_get(cache, identity, sha, path) if cache else None
        if line is not None:
            out.append((path, "cached", sha, line))
            continue
        try:
            rep = brine.scan(path, pol, **(limits or {}))
        except OSError as e:
            out.append((path, "unreadable", None, _unreadable(pol, path, e)))
            continue
        line = rep.to_json()
        got = json.loads(line).get("sha256") or sha
        if cache:
            _cache_put(cache, identity, got, path, line)
        out.append((path, "scanned", got, line))
    return brine.__version__, out


# ---- on the client ----------------------------------------------------------------------------

def collect_paths(paths, files_from=None):
    """Files named or found under the directories, in order, each once."""
    seen, out = set(), []

    def add(p):
        if p not in seen:
            seen.add(p)
            out.append(p)

    names = list(paths)
    if files_from:
        f = sys.stdin if files_from == "-" else open(files_from, encoding="utf-8")
        with f:
            names += [ln.rstrip("\n") for ln in f if ln.strip()]
    for p in names:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for n in sorted(files):
                    add(os.path.join(root, n))
        else:
            add(p)
    return out


def load_output(out, version):
    """What OUT holds: {path: (sha256, policy_hash, line)}, last line per path
    winning. A last line cut short by a crash is removed. Lines written by
    another brine version are not returned (they are stale)."""
    held = {}
    meta = out + ".meta"
    try:
        with open(meta, encoding="utf-8") as f:
            mv = json.load(f).get("brine_version")
    except (OSError, ValueError):
        mv = None
    if not os.path.exists(out):
        return held, mv
    with open(out, "r+b") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            f.truncate(cut)
            data = data[:cut]
    if mv != version:
        return held, mv
    for ln in data.decode("utf-8", "replace").splitlines():
        try:
            o = json.loads(ln)
        except ValueError:
            continue
        if isinstance(o, dict) and isinstance(o.get("path"), str):
            held[o["path"]] = (o.get("sha256"), o.get("policy_hash"), ln)
    return held, mv


def partitions(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


class Summary:
    def __init__(self):
        self.files = self.scanned = self.cached = self.same = self.unreadable = 0
        self.outcomes = {}
        self.seconds = 0.0

    def line(self, o):
        if isinstance(o, dict):
            oc = o.get("outcome") or ("safe" if o.get("safe") else o.get("verdict"))
            self.outcomes[oc] = self.outcomes.get(oc, 0) + 1

    def exit_code(self):
        unsafe = any(self.outcomes.get(k) for k in ("suspicious", "dangerous"))
        incomplete = any(v for k, v in self.outcomes.items() if k not in ("safe", "suspicious", "dangerous"))
        return 1 if unsafe else 2 if self.unreadable else 3 if incomplete else 0

    def __str__(self):
        rate = self.files / self.seconds if self.seconds else 0.0
        oc = ", ".join("%d %s" % (v, k) for k, v in sorted(self.outcomes.items()))
        return ("brine.registry: %d file(s): %d scanned, %d from the cache, %d already in the output, "
                "%d unreadable; %s; %.2f s, %.1f files/s" % (self.files, self.scanned, self.cached, self.same,
                                                             self.unreadable, oc or "no results", self.seconds, rate))


def run(client, paths, output, policy_files=(), cache=None, limits=None, partition_size=None, log=None,
        _delay=0.0):
    """Scan ``paths`` on the Dask ``client``'s cluster into ``output``. Returns a Summary."""
    from distributed import as_completed

    t0 = time.monotonic()
    spec = [(os.path.abspath(p), _read_text(p)) for p in policy_files]
    policy = brine.Policy(*[p for p, _ in spec], extends_bundle=False)  # also checks it before any work
    identity = policy.identity
    version = brine.__version__
    lock = open(output + ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        held, old_version = load_output(output, version)
        if old_version is not None and old_version != version and log:
            log("brine.registry: %s was written by brine %s; its lines are stale for %s" % (output, old_version,
                                                                                          version))
        rewrite = old_version != version and os.path.exists(output) and os.path.getsize(output) > 0
        with open(output + ".meta", "w", encoding="utf-8") as f:
            json.dump({"schema": SCHEMA, "brine_version": version}, f)
            f.write("\n")
        summary = Summary()
        todo = collect_paths(paths)
        summary.files = len(todo)
        items = []
        for p in todo:
            h = held.get(p)
            items.append((p, h[0] if h and h[1] == identity else None))
        if partition_size is None:
            nworkers = max(1, len(client.scheduler_info().get("workers", {})))
            partition_size = max(1, min(64, -(-len(items) // (nworkers * 8))))
        parts = partitions(items, partition_size)
        futures = [client.submit(scan_partition, part, spec, identity, cache, limits, _delay, pure=False,
                                 retries=3, key="brine-scan-%s-%d-%d" % (identity, os.getpid(), i))
                   for i, part in enumerate(parts)]
        written = set()
        replaced = False
        with open(output, "a", encoding="utf-8") as out:
            for fut in as_completed(futures):
                wver, results = fut.result()
                fut.release()
                if wver != version:
                    raise RuntimeError("a worker runs brine %s, this client %s" % (wver, version))
                for path, state, sha, line in results:
                    if path in written:
                        continue  # never twice, whatever the cluster did
                    if state == "unreadable":
                        summary.unreadable += 1
                        if log:
                            log("brine.registry: %s: %s" % (path, json.loads(line)["error"]["message"]))
                    if state == "same":
                        summary.same += 1
                        summary.line(json.loads(held[path][2]))
                        continue
                    if path in held:
                        replaced = True
                    out.write(line + "\n")
                    written.add(path)
                    summary.line(json.loads(line))
                    if state == "cached":
                        summary.cached += 1
                    elif state == "scanned":
                        summary.scanned += 1
                out.flush()
                os.fsync(out.fileno())
        if rewrite:
            compact(output, only=written)  # lines of another brine version are stale
        elif replaced:
            compact(output)
        summary.seconds = time.monotonic() - t0
        return summary
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def compact(output, only=None):
    """Rewrite OUT atomically with one line per path (its last one, in the
    order of last appearance); with ``only``, just the lines of those paths."""
    with open(output, encoding="utf-8") as f:
        lines = f.read().splitlines()
    last = {}
    for i, ln in enumerate(lines):
        try:
            p = json.loads(ln).get("path")
        except ValueError:
            continue
        if only is None or p in only:
            last[p] = i
    keep = sorted(last.values())
    tmp = output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for i in keep:
            f.write(lines[i] + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, output)


def _parse_limits(values):
    out = {}
    for v in values or ():
        k, _, n = v.partition("=")
        k = k.strip().replace("-", "_")
        if not k.startswith("max_"):
            k = "max_" + k
        if k not in brine.LIMITS or not n.isdigit():
            raise SystemExit("brine.registry: bad --limit %r (NAME=N, NAME one of %s)" % (v, ", ".join(brine.LIMITS)))
        out[k] = int(n)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m brine.registry", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("scan", help="scan files on a Dask cluster into a jsonl file")
    where = sp.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    where.add_argument("--local-workers", type=int, metavar="N",
                       help="start a local cluster of N worker processes on 127.0.0.1 (default: 2)")
    sp.add_argument("--files-from", metavar="LIST", help="more paths, one per line ('-': standard input)")
    sp.add_argument("--cache", metavar="DIR", help="content-addressed result store (shared by reruns and machines)")
    sp.add_argument("--policy", action="append", default=[], metavar="FILE",
                    help="policy file, as brine scan --policy (repeatable; default: the built-in bundle)")
    sp.add_argument("--partition-size", type=int, metavar="N", help="files per task (default: about 8 tasks per worker, at most 64 files)")
    sp.add_argument("--limit", action="append", metavar="NAME=N", help="a brine limit, e.g. max_opcodes=1000000")
    sp.add_argument("--output", "-o", required=True, metavar="OUT.jsonl")
    sp.add_argument("--quiet", "-q", action="store_true", help="no summary on standard error")
    sp.add_argument("paths", nargs="*", metavar="PATH")
    a = ap.parse_args(argv)
    limits = _parse_limits(a.limit)
    paths = collect_paths(a.paths, a.files_from)
    if not paths:
        ap.error("no files to scan")
    if a.partition_size is not None and a.partition_size < 1:
        ap.error("--partition-size must be at least 1")
    log = (lambda m: print(m, file=sys.stderr)) if not a.quiet else None
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("brine.registry: Dask distributed is needed (apt-get install python3-distributed)", file=sys.stderr)
        return 2
    cluster = None
    try:
        if a.scheduler:
            client = Client(a.scheduler)
        else:
            cluster = LocalCluster(n_workers=a.local_workers or 2, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address="127.0.0.1:0")
            client = Client(cluster)
        try:
            summary = run(client, paths, a.output, a.policy, a.cache, limits, a.partition_size, log)
        finally:
            client.close()
    except brine.PolicyError as e:
        print("brine.registry: %s" % e, file=sys.stderr)
        return 2
    finally:
        if cluster is not None:
            cluster.close()
    if log:
        log(str(summary))
    return summary.exit_code()


if __name__ == "__main__":
    # run as brine.registry, not __main__: tasks then name brine.registry.scan_partition,
    # which the workers import, instead of shipping this module's globals by value
    from brine import registry as _registry
    sys.exit(_registry.main())
