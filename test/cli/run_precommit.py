#!/usr/bin/env python3
"""The pre-commit hook, with the real pre-commit, in a throw-away git repo:
the hooks repository is a copy of this project's .pre-commit-hooks.yaml in a
local git repo (no network); brine is put on PATH. A malicious pickle blocks
the commit; a benign model passes; a README is not scanned.

Usage: run_precommit.py BRINE. Last line: `pre-commit: N passed, M failed`
(skipped, as 0 passed, when pre-commit or git is not installed)."""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL " + what)


def main():
    brine = os.path.abspath(sys.argv[1])
    if not shutil.which("pre-commit") or not shutil.which("git"):
        print("pre-commit: pre-commit or git not installed: skipped")
        print("pre-commit: 0 passed, 0 failed")
        return 0
    t = tempfile.mkdtemp(prefix="brine-precommit-")
    try:
        bindir = os.path.join(t, "bin")
        os.makedirs(bindir)
        os.symlink(brine, os.path.join(bindir, "brine"))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"], HOME=t,
                   PRE_COMMIT_HOME=os.path.join(t, "cache"), GIT_CONFIG_NOSYSTEM="1",
                   GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@example.invalid")
        env.pop("NO_COLOR", None)

        def git(cwd, *a, check_rc=True):
            r = subprocess.run(["git"] + list(a), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
            if check_rc and r.returncode:
                raise RuntimeError("git %s: %s" % (a, r.stderr))
            return r

        hooks = os.path.join(t, "hooks")
        os.makedirs(hooks)
        shutil.copy(os.path.join(ROOT, ".pre-commit-hooks.yaml"), hooks)
        git(hooks, "init", "-q")
        git(hooks, "add", ".")
        git(hooks, "commit", "-qm", "hooks")
        rev = git(hooks, "rev-parse", "HEAD").stdout.strip()

        work = os.path.join(t, "work")
        os.makedirs(work)
        git(work, "init", "-q")
        # the configuration README.md tells users to write (with this local hooks repo)
        open(os.path.join(work, ".pre-commit-config.yaml"), "w").write(
            "repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: brine\n" % (hooks, rev))
        git(work, "add", ".pre-commit-config.yaml")
        r = subprocess.run(["pre-commit", "install"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, "pre-commit install: %s %s" % (r.stdout, r.stderr))
        r = git(work, "commit", "-qm", "config", check_rc=False)
        check(r.returncode == 0, "committing the config: %s %s" % (r.stdout, r.stderr))

        # a benign model passes
        shutil.copy(os.path.join(ROOT, "corpus/benign/torch/state_dict_zip.pt"), os.path.join(work, "model.pt"))
        open(os.path.join(work, "README.md"), "w").write("not scanned\n")
        git(work, "add", "model.pt", "README.md")
        r = git(work, "commit", "-m", "benign model", check_rc=False)
        check(r.returncode == 0, "a benign model is blocked:\n%s%s" % (r.stdout, r.stderr))
        check("model.pt" not in r.stdout + r.stderr or "Passed" in r.stdout + r.stderr,
              "benign commit output:\n%s%s" % (r.stdout, r.stderr))

        # a malicious pickle blocks the commit, and the output says why
        shutil.copy(os.path.join(ROOT, "corpus/malicious/A-builtins-eval.pkl"), os.path.join(work, "weights.pkl"))
        git(work, "add", "weights.pkl")
        r = git(work, "commit", "-m", "evil", check_rc=False)
        out = r.stdout + r.stderr
        check(r.returncode != 0 and "weights.pkl: dangerous (complete)" in out and "builtins:eval" in out,
              "a malicious pickle was not blocked (exit %d):\n%s" % (r.returncode, out))
        log = git(work, "log", "--oneline").stdout
        check("evil" not in log, "the malicious commit exists:\n" + log)

        # a payload inside a checkpoint with an innocent name is caught too
        git(work, "reset", "-q", "HEAD", "weights.pkl")
        os.unlink(os.path.join(work, "weights.pkl"))
        shutil.copy(os.path.join(ROOT, "corpus/malicious/containers/D-torch-zip-payload.pt"),
                    os.path.join(work, "checkpoint.ckpt"))
        git(work, "add", "checkpoint.ckpt")
        r = git(work, "commit", "-m", "evil ckpt", check_rc=False)
        check(r.returncode != 0 and "os:system" in r.stdout + r.stderr, "payload in a .ckpt not blocked:\n%s%s" % (
            r.stdout, r.stderr))
    finally:
        shutil.rmtree(t, ignore_errors=True)
    print("pre-commit: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
