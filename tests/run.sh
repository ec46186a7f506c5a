#!/bin/bash
# The one test command. Run as root on Debian 12, from any folder:
#
#   tests/run.sh
#
# 1. installs missing packages (deploy/install-deps.sh) and the tests' npm packages;
# 2. builds build/ (Release, as deploy/demo.sh does, so both share one build folder) and
#    build-asan/ (AddressSanitizer + UBSan, with asserts);
# 3. runs the C unit tests (ctest) in both builds;
# 4. runs the integration and end-to-end tests (node --test) against the ASan build.
# A step that cannot build or start counts as a failure; the others still run.
# The last line is "N passed, N failed"; the exit status is 0 only when nothing failed.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

passed=0
failed=0
jobs=2
log_dir=$(mktemp -d "${TMPDIR:-/tmp}/wereldpas-tests.XXXXXX")
trap 'rm -rf "$log_dir"' EXIT

section() { printf '\n==== %s\n' "$*"; }
note_failure() {
    failed=$((failed + ${2:-1}))
    printf 'run.sh: FAILED: %s\n' "$1"
}

# Sanitizers stop at the first error and report leaks, in C tests and in the server that
# the Node tests start.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ---- packages
section "packages"
if [ "$(id -u)" -eq 0 ]; then
    deploy/install-deps.sh || note_failure "deploy/install-deps.sh"
else
    echo "run.sh: not root: skipping deploy/install-deps.sh"
fi

if [ -f tests/package.json ] && command -v npm >/dev/null 2>&1; then
    if [ ! -d tests/node_modules ] ||
        { [ -f tests/package-lock.json ] && [ tests/package-lock.json -nt tests/node_modules ]; }; then
        echo "run.sh: installing the tests' npm packages"
        if [ -f tests/package-lock.json ]; then
            npm_cmd=(ci)
        else
            npm_cmd=(install)
        fi
        if PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm "${npm_cmd[@]}" --prefix tests --no-audit \
            --no-fund; then
            touch tests/node_modules
        else
            note_failure "npm ${npm_cmd[*]} in tests/"
        fi
    else
        echo "run.sh: tests/node_modules is up to date"
    fi
fi

# ---- builds and unit tests

# Runs ctest in build dir $1 and adds its counts. ctest ends with
# "N% tests passed, X tests failed out of Y".
run_ctest() {
    local dir=$1 out=$log_dir/ctest-${1//\//_}.log summary total bad
    section "unit tests ($dir)"
    timeout 900 ctest --test-dir "$dir" --output-on-failure --timeout 300 2>&1 | tee "$out"
    summary=$(grep -E '[0-9]+ tests? failed out of [0-9]+' "$out" | tail -n 1)
    if [ -n "$summary" ]; then
        bad=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
        total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$summary")
        passed=$((passed + total - bad))
        if [ "$bad" -gt 0 ]; then
            note_failure "$bad unit test(s) in $dir" "$bad"
        fi
    elif grep -q 'No tests were found' "$out"; then
        echo "run.sh: no unit tests in $dir"
    else
        note_failure "ctest in $dir gave no result"
    fi
}

# Configures and builds dir $1 with the cmake options that follow; runs its unit tests.
build_and_test() {
    local dir=$1
    shift
    section "build $dir $*"
    if ! cmake -S . -B "$dir" "$@" >"$log_dir/cmake-$dir.log" 2>&1; then
        cat "$log_dir/cmake-$dir.log"
        note_failure "configuring $dir"
        return
    fi
    if ! cmake --build "$dir" -j"$jobs"; then
        note_failure "building $dir"
        return
    fi
    run_ctest "$dir"
}

build_and_test build -DCMAKE_BUILD_TYPE=Release
build_and_test build-asan -DWP_SANITIZE=ON

# ---- static analysis and formatting (cppcheck, clang-tidy, clang-format)
if [ -x tests/lint.sh ] && [ -f build/compile_commands.json ]; then
    section "lint"
    if tests/lint.sh build; then
        passed=$((passed + 1))
    else
        note_failure "tests/lint.sh"
    fi
fi

# ---- valgrind over the unit tests (a build without sanitizers), and fuzzing
if [ "${WP_SKIP_VALGRIND:-0}" != 1 ] && [ -x tests/valgrind.sh ]; then
    section "valgrind"
    if tests/valgrind.sh; then
        passed=$((passed + 1))
    else
        note_failure "tests/valgrind.sh"
    fi
fi
if [ "${WP_FUZZ_SECONDS:-15}" -gt 0 ] && [ -x tests/fuzz/run.sh ]; then
    section "fuzzing (${WP_FUZZ_SECONDS:-15} s per target)"
    if tests/fuzz/run.sh "${WP_FUZZ_SECONDS:-15}"; then
        passed=$((passed + 1))
    else
        note_failure "tests/fuzz/run.sh"
    fi
fi

# ---- integration and end-to-end tests (Node.js, real HTTP, real browser)
suites=()
for d in tests/integration tests/e2e; do
    if [ -d "$d" ] && find "$d" -type f \( -name '*.js' -o -name '*.mjs' -o -name '*.cjs' \) |
        grep -q .; then
        suites+=("$d/")
    fi
done

if [ "${#suites[@]}" -gt 0 ]; then
    section "integration and end-to-end tests (${suites[*]})"
    tap=$log_dir/node.tap
    if ! command -v node >/dev/null 2>&1; then
        note_failure "node is missing; cannot run ${suites[*]}"
    elif [ ! -x build-asan/wereldpas ]; then
        note_failure "build-asan/wereldpas was not built; cannot run ${suites[*]}"
    else
        node_major=$(node -p 'process.versions.node.split(".")[0]')
        if [ "$node_major" -lt 19 ]; then
            # Node 18 (Debian 12's) has the Web Crypto global only behind this flag.
            export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-global-webcrypto"
        fi
        WP_BIN=$root/build-asan/wereldpas timeout 1200 node --test --test-concurrency=1 \
            --test-reporter=spec --test-reporter-destination=stdout \
            --test-reporter=tap --test-reporter-destination="$tap" "${suites[@]}"
        node_rc=$?
        n_pass=$(grep -E '^# pass [0-9]+' "$tap" 2>/dev/null | tail -n 1 | awk '{print $3}')
        n_fail=$(grep -E '^# fail [0-9]+' "$tap" 2>/dev/null | tail -n 1 | awk '{print $3}')
        n_cancel=$(grep -E '^# cancelled [0-9]+' "$tap" 2>/dev/null | tail -n 1 | awk '{print $3}')
        if [ -z "$n_pass" ] || [ -z "$n_fail" ]; then
            note_failure "node --test gave no result (exit status $node_rc)"
        else
            passed=$((passed + n_pass))
            bad=$((n_fail + ${n_cancel:-0}))
            if [ "$bad" -gt 0 ]; then
                note_failure "$bad integration/end-to-end test(s)" "$bad"
            elif [ "$node_rc" -ne 0 ]; then
                note_failure "node --test exited with status $node_rc"
            fi
        fi
    fi
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
