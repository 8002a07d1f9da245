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

# Debian packages: every group of scripts/debian-packages (the one list, which `make` checks
# through scripts/check-deps.sh before it builds).
list=$(scripts/check-deps.sh --all --list)
missing=()
[[ -z $list ]] || mapfile -t missing <<<"$list"
ndebs=$(sed -n 's/^[a-z]*:[[:space:]]*//p' scripts/debian-packages | wc -w)

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
  say "Debian packages: all $ndebs present"
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
