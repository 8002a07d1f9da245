#!/usr/bin/env bash
# Installs everything the Glacier TEE Node needs on Debian 12, and only what is missing:
# Debian packages through apt, npm tools (pinned by npm/package-lock.json) in npm/node_modules.
# Idempotent and non-interactive; says what it installs (--quiet: and nothing else).
# Usage: scripts/install-deps.sh [--quiet]
set -euo pipefail

cd "$(dirname "$0")/.."
quiet=0
[[ "${1:-}" == "--quiet" ]] && quiet=1
say() { [[ $quiet == 1 ]] || echo "deps: $*"; }

# Debian packages: the build, the libraries DESIGN.md names, the test and fuzz tools,
# and the data and peers used by tests and benchmarks.
DEBS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libssl-dev openssl libsecp256k1-dev libopenblas-dev libdnnl-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev python3-onnx python3-numpy python3-torch
  libsqlite3-dev libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev
  libcmocka-dev libseccomp-dev zlib1g-dev
  dataset-fashion-mnist
  xxd procps time
)

missing=()
for p in "${DEBS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm: Debian's, unless a Node.js with npm is already installed.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  for p in nodejs npm; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi

if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
      echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; fi
  fi
  echo "deps: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages: all ${#DEBS[@]} present"
fi

# npm tools, exactly as locked. onnxruntime-node's install script would fetch GPU
# libraries from outside; its CPU library ships in the package, so skip that step.
lock_hash=$(sha256sum npm/package-lock.json | cut -d' ' -f1)
stamp=npm/node_modules/.gtee-lock-sha256
if [[ -f $stamp && "$(cat "$stamp")" == "$lock_hash" ]]; then
  say "npm tools: up to date with npm/package-lock.json"
else
  echo "deps: installing npm tools from npm/package-lock.json"
  (cd npm && ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_hash" > "$stamp"
fi
say "done"
