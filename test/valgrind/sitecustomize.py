"""Loaded by every Python process of a `meson test --setup valgrind` run
(test/valgrind/vg.sh puts this directory on PYTHONPATH).

Every program a harness starts from the build tree (brine, test_truncate,
vm_variant: whatever lies under BRINE_VALGRIND_BUILD) is started through
$BRINE_EXEC_WRAPPER (vg.sh, which runs it under memcheck), so no harness has
to know about valgrind. A child's errors land in BRINE_VALGRIND_LOGDIR; when
the harness (the process vg.sh started) exits, any report there is printed
and the harness fails with exit code 99, whatever it concluded itself.
"""
import atexit
import os
import subprocess

_wrapper = os.environ.get("BRINE_EXEC_WRAPPER", "")
_build = os.path.realpath(os.environ.get("BRINE_VALGRIND_BUILD", "/nonexistent")) + os.sep
_logdir = os.environ.get("BRINE_VALGRIND_LOGDIR", "")


def _ours(prog):
    # a bare name ("git") is looked up on PATH, never in the working directory
    # (which may lie in the build tree): only paths are ours
    try:
        return os.sep in prog and os.path.isfile(prog) and os.path.realpath(prog).startswith(_build)
    except (TypeError, ValueError):
        return False


if _wrapper:
    _init = subprocess.Popen.__init__

    def _wrapped_init(self, args, *a, **kw):
        if kw.get("shell"):
            if isinstance(args, str):
                first = args.split()[0] if args.split() else ""
                if _ours(first) or any(_ours(w) for w in args.split() if os.sep in w):
                    # a pipeline such as `head ... | brine scan -`: wrap each word that is ours
                    args = " ".join(_wrapper + " " + w if _ours(w) else w for w in args.split(" "))
        elif isinstance(args, (list, tuple)) and args and _ours(os.fspath(args[0])) and not kw.get("executable"):
            args = [_wrapper] + list(args)
        _init(self, args, *a, **kw)

    subprocess.Popen.__init__ = _wrapped_init

if _logdir and os.environ.get("BRINE_VALGRIND_TOP") == str(os.getpid()):
    def _check():
        bad = []
        for name in sorted(os.listdir(_logdir)) if os.path.isdir(_logdir) else []:
            path = os.path.join(_logdir, name)
            if os.path.getsize(path):
                bad.append(path)
            else:
                os.unlink(path)
        if bad:
            import sys
            sys.stdout.flush()
            for path in bad[:5]:
                with open(path, errors="replace") as f:
                    sys.stderr.write("== valgrind: %s\n%s" % (path, f.read()[-6000:]))
            sys.stderr.write("valgrind: %d child processes reported errors (logs in %s)\n" % (len(bad), _logdir))
            sys.stderr.flush()
            os._exit(99)

    atexit.register(_check)
