#!/bin/sh
# The whole test suite: a normal build and an ASan+UBSan build, each running
# every test, and a ThreadSanitizer build running the tests that scan from
# several threads (threads, unit-api, cli-jobs). Used by the README quick start and by .ci/run.
set -eu
cd "$(dirname "$0")/.."
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
[ -d build-san ] || meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
meson compile -C build-san >/dev/null
[ -d build-tsan ] || meson setup build-tsan -Db_sanitize=thread -Db_lundef=false >/dev/null
meson compile -C build-tsan test_threads test_api brine:executable >/dev/null
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
# a data race report fails the test (exit code 66)
export TSAN_OPTIONS=halt_on_error=1:exitcode=66
exec python3 test/run_all.py build build-san build-tsan:threads,unit-api,cli-jobs
