#!/usr/bin/env bash
# The training-step benchmark in one command: affect vs PyTorch, one full training step
# (forward, loss, backward, clipping, AdamW) on the full-size DistilBERT / MiniLM-L12-H384 /
# TinyBERT-4L-312 shapes (random weights), batch 16 and 32, sequence 64 and 128, 2 threads;
# prints one table of sequences/s, peak RSS and ratios.
#
#   bench/train.sh [--quick] [--keep-coretype] [--models distilbert,minilm,tinybert]
#                  [--threads 2] [--torch-malloc search] [...]   (see bench/run_train_bench.py)
#
# It (re)builds bench_train in $AFFECT_BUILD_DIR (default: <repo>/build). A benchmark, not a
# test: never registered in ctest. The full sweep takes ~10-15 minutes on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${AFFECT_BUILD_DIR:-$ROOT/build}"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target bench_train >"$BUILD/bench-train-build.log" 2>&1 || { cat "$BUILD/bench-train-build.log" >&2; exit 1; }
exec /usr/bin/python3 "$ROOT/bench/run_train_bench.py" --build "$BUILD" "$@"
