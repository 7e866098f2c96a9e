#!/usr/bin/env bash
# The main job (README): installs what is missing, builds affect, trains the built-in default
# (configs/default.yaml: a vocabulary and a small encoder learned from scratch, GoEmotions then
# Lemotif + EmoInt) end to end, and prints the run's metrics. Extra arguments go to
# `affect train` (e.g. --resume).
set -euo pipefail
cd "$(dirname "$0")/.."
AFFECT_SKIP_NPM=1 scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target affect_cli 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true
test -x build/affect || { echo "run.sh: build failed" >&2; exit 1; }

config=${AFFECT_CONFIG:-configs/default.yaml}
build/affect train "$config" "$@"
run_dir=$(build/affect data config "$config" --no-model 2>/dev/null | sed -n 's/^ *artifacts_dir: *//p' | head -n1)
if [ -n "$run_dir" ] && [ -f "$run_dir/analysis_metrics.json" ]; then
  build/affect compare "$run_dir"
fi
