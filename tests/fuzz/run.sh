#!/bin/bash
# Builds the libFuzzer targets into build-fuzz/ (clang, ASan + UBSan) and runs each one for
# SECONDS (default 60) from its committed seed corpus, after replaying its regression
# inputs. Prints "fuzz: TARGET N executions, 0 crashes" per target; exits non-zero when a
# target crashes (the crash file is kept in build-fuzz/crashes/TARGET/ and named on
# stderr: copy it into tests/fuzz/regressions/TARGET/ with the fix).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
build=$root/build-fuzz
work=$build/fuzz-work

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is missing (apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi
if ! CC=clang cmake -S "$root" -B "$build" -DWP_FUZZ=ON -DWP_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.cmake.log" 2>&1; then
    cat "$build.cmake.log" >&2
    echo "fuzz: configuring $build failed" >&2
    exit 1
fi
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for src in "$root"/tests/fuzz/fuzz_*.c; do
        name=${src##*/}
        targets+=("${name%.c}")
    done
fi
if ! cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"; then
    echo "fuzz: building the targets failed" >&2
    exit 1
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
total_execs=0
for t in "${targets[@]}"; do
    bin=$build/tests/fuzz/$t
    corpus=$work/corpus/$t
    crashes=$build/crashes/$t
    log=$work/$t.log
    mkdir -p "$corpus" "$crashes"
    # Regression inputs first: each must run clean.
    reg=$root/tests/fuzz/regressions/$t
    if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
        if ! "$bin" -runs=0 "$reg"/* >"$log.reg" 2>&1; then
            tail -n 40 "$log.reg" >&2
            echo "fuzz: $t fails on a regression input in $reg" >&2
            failed=$((failed + 1))
            continue
        fi
    fi
    # The working corpus starts from the committed seeds; new inputs stay in build-fuzz/.
    touch "$log.start"
    "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" \
        "$root/tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
    execs=${execs:-0}
    total_execs=$((total_execs + execs))
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + 1))
        tail -n 60 "$log" >&2
        crash=$(find "$crashes" -type f -newer "$log.start" | head -n 1)
        echo "fuzz: $t $execs executions, 1 crash: ${crash:-see $log}"
    else
        echo "fuzz: $t $execs executions, 0 crashes"
    fi
done
echo "fuzz: ${#targets[@]} targets, $total_execs executions, $failed crashed"
[ "$failed" -eq 0 ]
