#!/usr/bin/env bash
# The test command (README, CI): installs what is missing, builds, runs every test (unit,
# PyTorch/sklearn/tokenizers oracles, CLI, browser), then runs the whole suite again against
# an AddressSanitizer + UndefinedBehaviorSanitizer build (leak checks on).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs" 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true
test -x build/affect || { echo "build failed" >&2; exit 1; }

cmake -S . -B build-asan -DAFFECT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs" 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true

status=0
echo "== sanitizer build (ASan+UBSan): all tests"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -j"$jobs" --output-on-failure) || status=1
echo "== release build: all tests"
(cd build && ctest -j"$jobs" --output-on-failure) || status=1
exit $status
