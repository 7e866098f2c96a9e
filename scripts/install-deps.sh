#!/usr/bin/env bash
# Installs the Debian packages (and test-only npm peers) affect needs to build and test.
# Idempotent: skips what is already installed. Safe to run as root or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config libopenblas-dev libutf8proc-dev libcjson-dev libyaml-dev
      libcurl4-openssl-dev python3 python3-numpy python3-torch python3-sklearn chromium)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v npm >/dev/null || { echo "install-deps: installing nodejs"; $SUDO apt-get install -y -qq nodejs npm >/dev/null; }
# Test oracles from npm (Hugging Face's tokenizers and transformers.js). --ignore-scripts:
# onnxruntime-node's install script would try to download a binary.
# The stamp holds the hash of package.json, so a changed dependency list reinstalls.
stamp=tests/oracles/node_modules/.affect-stamp
want=$(sha256sum tests/oracles/package.json | cut -d' ' -f1)
if [ "${AFFECT_SKIP_NPM:-0}" != 1 ] && [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "install-deps: installing the npm test oracles"
  (cd tests/oracles && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$stamp"
fi
