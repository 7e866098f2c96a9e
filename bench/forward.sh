#!/usr/bin/env bash
# The forward-pass benchmark in one command: affect vs PyTorch vs onnxruntime-node on the
# full-size DistilBERT / MiniLM-L12-H384 / TinyBERT-4L-312 shapes (random weights), batch 1
# and 16, sequence 64 and 128, 1 and 2 threads; prints one table of times and ratios.
#
#   bench/forward.sh [--quick] [--keep-coretype] [--models distilbert,minilm,tinybert] [...]
#
# It (re)builds bench_forward in $AFFECT_BUILD_DIR (default: <repo>/build), caches the random
# models and their ONNX exports in $AFFECT_BUILD_DIR/bench-models, and runs bench/run_bench.py
# (see its --help). A benchmark, not a test: never registered in ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${AFFECT_BUILD_DIR:-$ROOT/build}"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target bench_forward >"$BUILD/bench-build.log" 2>&1 || { cat "$BUILD/bench-build.log" >&2; exit 1; }
exec /usr/bin/python3 "$ROOT/bench/run_bench.py" --build "$BUILD" "$@"
