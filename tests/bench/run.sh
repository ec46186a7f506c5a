#!/bin/bash
# Benchmarks (figures, never pass/fail): builds the Release binary and runs each bench.
#   tests/bench/run.sh [sign-ins-per-level]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 >/dev/null
echo "== binary: $(stat -c %s build/wereldpas) bytes ($(size -A build/wereldpas | awk '/^.text/ {print $2}') bytes of code)"
echo "== sign-in benchmark"
WP_BIN=$root/build/wereldpas node tests/bench/signin.mjs "${1:-200}"
echo "== page weight and time to usable under 400 ms RTT, 400 kbit/s"
WP_BIN=$root/build/wereldpas node tests/bench/pages.mjs en
