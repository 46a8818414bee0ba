#!/usr/bin/env python3
"""`brine scan` with the embedded default policy and with `--policy rules/bundle.yaml`
(the same packs compiled from YAML at run time) give the same report on every
corpus file, times aside: check_embedded_cli.py BRINE SRC"""
import json
import os
import subprocess
import sys


def report(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rows = []
    for line in p.stdout.splitlines():
        d = json.loads(line)
        d.pop("time_ms", None)
        rows.append(json.dumps(d, sort_keys=True))
    return p.returncode, rows


def main():
    brine, src = sys.argv[1], sys.argv[2]
    corpus = os.path.join(src, "corpus")
    ra, a = report([brine, "scan", "-j", "1", "--format", "jsonl", corpus])
    rb, b = report([brine, "scan", "-j", "1", "--format", "jsonl", "--policy",
                    os.path.join(src, "rules", "bundle.yaml"), corpus])
    passed = failed = 0
    checks = [(ra == rb, "exit status %d and %d" % (ra, rb)), (len(a) == len(b) and len(a) > 100,
              "%d and %d files" % (len(a), len(b)))]
    diff = [(x, y) for x, y in zip(a, b) if x != y]
    checks.append((not diff, "%d files report differently" % len(diff)))
    for ok, what in checks:
        passed += ok
        failed += not ok
        if not ok:
            print("FAIL:", what)
    for x, y in diff[:3]:
        print("embedded:", x[:2000])
        print("YAML:    ", y[:2000])
    print("%d corpus files: the embedded policy and --policy rules/bundle.yaml report the same" % len(a)
          if not failed else "reports differ")
    print("policy-embedded-cli: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
