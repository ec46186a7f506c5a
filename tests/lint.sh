#!/bin/bash
# Static checks for the C sources. From any folder:
#
#   tests/lint.sh [BUILD_DIR]
#
# 1. cppcheck (warning, portability) over idp/ and crypto/;
# 2. clang-tidy (checks in .clang-tidy) over idp/*.c and crypto/*.c, two at a time, with
#    BUILD_DIR/compile_commands.json (default: build/ in the repository; configure it first
#    with `cmake -S . -B build`);
# 3. clang-format --dry-run over idp/, crypto/, tests/unit/ and deploy/*.c.
# All three run even when one fails. Prints the findings, or on success the one line
# "lint: cppcheck ok, clang-tidy ok (N files), clang-format ok (N files)".
# Exit status 0 only when all three are clean; 2 when a tool or the build dir is missing.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
case $build in
/*) ;;
*) build=$PWD/$build ;;
esac
cd "$root" || exit 2
shopt -s nullglob

for tool in cppcheck clang-tidy clang-format; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "lint: $tool is not installed" >&2
        exit 2
    fi
done
if [ ! -f "$build/compile_commands.json" ]; then
    echo "lint: $build/compile_commands.json is missing; run cmake -S $root -B $build" >&2
    exit 2
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/wereldpas-lint.XXXXXX")
trap 'rm -rf "$out"' EXIT
failed=0

# ---- cppcheck
cppcheck_status=ok
if ! cppcheck --enable=warning,portability --error-exitcode=1 --suppress=missingIncludeSystem \
    --inline-suppr -q -I . idp crypto >"$out/cppcheck" 2>&1; then
    cppcheck_status=FAILED
    failed=1
    echo "==== cppcheck"
    cat "$out/cppcheck"
fi

# ---- clang-tidy: one file per process, two processes at a time. A finding is a
# "file:line:col: warning|error:" line about one of our files; a file that does not compile
# makes clang-tidy exit non-zero, which counts too.
tidy_files=(idp/*.c crypto/*.c)
tidy_status=ok
printf '%s\n' "${tidy_files[@]}" |
    xargs -P2 -n1 clang-tidy -p "$build" --quiet >"$out/tidy" 2>"$out/tidy.err"
tidy_rc=$?
finding="^($root/)?(idp|crypto|tests|deploy)/[^:]+:[0-9]+:[0-9]+: (warning|error):"
if [ "$tidy_rc" -ne 0 ] || grep -Eq "$finding" "$out/tidy"; then
    tidy_status=FAILED
    failed=1
    echo "==== clang-tidy (exit status $tidy_rc)"
    cat "$out/tidy"
    # stderr holds only "N warnings generated." unless something went wrong.
    grep -v 'warnings\? generated\.$' "$out/tidy.err"
fi

# ---- clang-format
format_files=(idp/*.[ch] crypto/*.[ch] tests/unit/*.[ch] deploy/*.c)
format_status=ok
if ! clang-format --dry-run --Werror "${format_files[@]}" >"$out/format" 2>&1; then
    format_status=FAILED
    failed=1
    echo "==== clang-format (fix with clang-format -i FILE)"
    bad=$(grep -Eo '^[^:]+:[0-9]+:[0-9]+: (warning|error):' "$out/format" | cut -d: -f1 | sort -u)
    if [ -n "$bad" ]; then
        sed "s|^$root/||; s|^|needs formatting: |" <<<"$bad"
    else
        cat "$out/format"
    fi
fi

if [ "$failed" -eq 0 ]; then
    echo "lint: cppcheck ok, clang-tidy ok (${#tidy_files[@]} files)," \
        "clang-format ok (${#format_files[@]} files)"
else
    echo "lint: cppcheck $cppcheck_status, clang-tidy $tidy_status (${#tidy_files[@]} files)," \
        "clang-format $format_status (${#format_files[@]} files)"
fi
exit "$failed"
