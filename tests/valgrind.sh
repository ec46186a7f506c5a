#!/bin/bash
# Runs every C unit test, and the server during the journey suite (more with $WP_VALGRIND_SUITES), under valgrind
# (memcheck, full leak check) in a build without sanitizers (build-valgrind/, or $1). Each test must exit 0 with no valgrind error and no
# definite, indirect or possible leak; tests/valgrind.supp holds the few suppressions of
# one-time library allocations, each with its reason. Prints one line per test and
# "valgrind: N tests, N clean, N failed, S s"; exits non-zero when any failed.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-valgrind}
start=$(date +%s)

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: not installed (apt-get install valgrind)" >&2
    exit 1
fi
if ! cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWP_SANITIZE=OFF >"$build.cmake.log" 2>&1 ||
    ! cmake --build "$build" -j"$(nproc)" >"$build.build.log" 2>&1; then
    tail -n 40 "$build.cmake.log" "$build.build.log" >&2
    echo "valgrind: building $build failed" >&2
    exit 1
fi

logs=$build/valgrind
rm -rf "$logs"
mkdir -p "$logs"
jobs=${VALGRIND_JOBS:-$(nproc)}
extra=()
# Origins of uninitialised values cost about twice the time: on request only.
[ -n "${VALGRIND_TRACK_ORIGINS:-}" ] && extra+=(--track-origins=yes)

# Runs one test under valgrind; writes its verdict line to $logs/NAME.result.
run_one() {
    local t=$1 name t0 rc
    name=$(basename "$t")
    t0=$(date +%s)
    # cmocka runs the tests in-process; valgrind sees every allocation.
    (cd "$build" && valgrind --quiet --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
        "${extra[@]}" --suppressions="$root/tests/valgrind.supp" --log-file="$logs/$name.log" \
        "$t" >"$logs/$name.out" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "valgrind: $name clean ($(($(date +%s) - t0)) s)" >"$logs/$name.result"
    else
        echo "valgrind: $name FAILED (exit $rc, $(($(date +%s) - t0)) s)" >"$logs/$name.result"
    fi
}

total=0
for t in "$build"/test_*; do
    [ -x "$t" ] || continue
    total=$((total + 1))
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n
    done
    run_one "$t" &
done
wait

# The running server under memcheck: the integration suites in $WP_VALGRIND_SUITES start
# it through tests/lib/server.mjs with $WP_WRAP; a valgrind error or leak makes the
# server exit 99, which srv.stop reports as a failed test.
suites=${WP_VALGRIND_SUITES-tests/integration/journey.test.mjs}
if [ -n "$suites" ] && command -v node >/dev/null 2>&1 && [ -d "$root/tests/node_modules" ]; then
    total=$((total + 1))
    t0=$(date +%s)
    # shellcheck disable=SC2086 # the suites are a space-separated list of paths
    if (cd "$root" && WP_BIN=$build/wereldpas WP_WRAP="valgrind --quiet --error-exitcode=99 \
--leak-check=full --show-leak-kinds=definite,indirect,possible \
--errors-for-leak-kinds=definite,indirect,possible ${extra[*]} \
--suppressions=$root/tests/valgrind.supp" node --test --test-concurrency=1 $suites \
        >"$logs/server.out" 2>&1); then
        echo "valgrind: server under $suites clean ($(($(date +%s) - t0)) s)" >"$logs/server.result"
    else
        echo "valgrind: server under $suites FAILED ($(($(date +%s) - t0)) s)" >"$logs/server.result"
        cp "$logs/server.out" "$logs/server.log"
    fi
fi

bad=0
for r in "$logs"/*.result; do
    [ -e "$r" ] || continue
    cat "$r"
    if grep -q FAILED "$r"; then
        bad=$((bad + 1))
        name=$(basename "$r" .result)
        tail -n 40 "$logs/$name.log" "$logs/$name.out"
    fi
done
echo "valgrind: $total tests, $((total - bad)) clean, $bad failed, $(($(date +%s) - start)) s"
[ "$bad" -eq 0 ] && [ "$total" -gt 0 ]
