#!/bin/sh
# Run every fuzz target for MINUTES minutes each, one after the other, on ONE
# core (libFuzzer without -jobs/-fork). A crash, timeout or leak stops
# libFuzzer; the loop starts it again until the target's time is used up, so
# one finding does not end the campaign. Findings land in $OUT/<target>/
# (crash-*, timeout-*, oom-*, leak-*); copy each reproducer into
# test/fuzz/corpus/<target>/ once it is fixed (or test/fuzz/pending/ if it
# lies outside the VM and policy rooms).
#
#   CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false
#   meson compile -C build-fuzz
#   test/fuzz/run_all.sh 15 [build-fuzz] [out-dir] [targets...]
set -u
MIN=${1:?usage: run_all.sh MINUTES [build-dir] [out-dir] [targets...]}
BUILD=${2:-build-fuzz}
OUT=${3:-fuzz-out}
shift; [ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift
TARGETS=${*:-vm dump scan policy}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}

for t in $TARGETS; do
    case $t in
    policy) seeds="$SRC/rules $SRC/test/policy"; maxlen=16384 ;;
    scan) seeds="$SRC/corpus"; maxlen=262144 ;;
    *) seeds="$SRC/corpus"; maxlen=65536 ;;
    esac
    mkdir -p "$OUT/$t/work" "$OUT/$t/found"
    log="$OUT/$t/log"
    : > "$log"
    end=$(( $(date +%s) + MIN * 60 ))
    runs=0
    while :; do
        left=$(( end - $(date +%s) ))
        [ "$left" -le 5 ] && break
        runs=$((runs + 1))
        # shellcheck disable=SC2086
        "$BUILD/test/fuzz_$t" "$OUT/$t/work" "$SRC/test/fuzz/corpus/$t" $seeds \
            -max_total_time="$left" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$OUT/$t/found/" -print_final_stats=1 >>"$log" 2>&1
    done
    execs=$(grep -h '^stat::number_of_executed_units' "$log" | awk '{s += $2} END {print s + 0}')
    found=$(ls "$OUT/$t/found" | wc -l)
    echo "$t: ${MIN} min, $runs run(s), $execs execs, $((execs / (MIN * 60))) exec/s, $found finding(s) in $OUT/$t/found"
done
