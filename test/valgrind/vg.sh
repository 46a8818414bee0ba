#!/bin/sh
# The exe_wrapper of `meson test --setup valgrind` (test/meson.build).
#
# A test whose program is Python is run as it is: valgrind on the interpreter
# checks nothing of brine. Instead PYTHONPATH gets this directory, whose
# sitecustomize.py makes every process the harness starts from the build tree
# (brine, test_truncate, vm_variant) start through this script, and fails the
# harness when any of them reported an error. Any other program (the C tests,
# and those children) runs under memcheck, exit code 99 on any error or
# definite leak: the C tests report on stderr, the children of a harness in
# a log file under $BRINE_VALGRIND_LOGDIR (set by the setup).
set -u
here=$(cd "$(dirname "$0")" && pwd)
logdir=${BRINE_VALGRIND_LOGDIR:-${TMPDIR:-/tmp}/brine-valgrind}
mkdir -p "$logdir"
case "$(basename "$1")" in
python*)
    export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
    export BRINE_EXEC_WRAPPER="$here/vg.sh"
    export BRINE_VALGRIND_LOGDIR="$logdir/py-$$"
    export BRINE_VALGRIND_TOP=$$
    mkdir -p "$BRINE_VALGRIND_LOGDIR"
    exec "$@"
    ;;
esac
# allregs-at-mem-access: the library's SIGBUS handler (a mapped file cut
# while scanned) maps a zero page and returns to the faulting load, which
# needs every register exact at that load (without it, test_truncate crashes
# under valgrind only).
set -- --error-exitcode=99 --vex-iropt-register-updates=allregs-at-mem-access --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --num-callers=30 \
    --suppressions="$here/brine.supp" "$@"
# exec, so that a harness that kills its child on a timeout kills valgrind
if [ -n "${BRINE_VALGRIND_TOP:-}" ]; then
    # a child of a Python harness: the report goes to a file (the harness may
    # compare stderr); sitecustomize.py fails the harness if any is not empty
    exec valgrind -q --log-file="$BRINE_VALGRIND_LOGDIR/%p.log" "$@"
fi
exec valgrind -q "$@"
