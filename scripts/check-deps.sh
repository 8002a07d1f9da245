#!/usr/bin/env bash
# Names the Debian packages of scripts/debian-packages that are not installed, and says how
# to install them; run by `make` before CMake, whose own message ("A required package was
# not found") names neither the package nor the fix.
# Usage: scripts/check-deps.sh [--all] [--list]
#   default: the "build" group (what `make` needs); --all: every group
#   --list: print the missing packages, one per line, and nothing else (install-deps.sh)
# Exit: 0 all present; 1 some missing (named on stderr); 2 no dpkg-query (not Debian: said so).
set -euo pipefail
cd "$(dirname "$0")/.."
groups="build"
list_only=0
for a in "$@"; do
    case $a in
    --all) groups="build test" ;;
    --list) list_only=1 ;;
    *) echo "usage: scripts/check-deps.sh [--all] [--list]" >&2; exit 2 ;;
    esac
done
if ! command -v dpkg-query >/dev/null; then
    echo "check-deps: no dpkg-query, so the Debian packages cannot be checked; the project is" \
         "built and tested on Debian 12 (packages: scripts/debian-packages)" >&2
    exit 2
fi
pkgs=()
for g in $groups; do
    # shellcheck disable=SC2207
    pkgs+=($(sed -n "s/^$g:[[:space:]]*//p" scripts/debian-packages))
done
missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [[ $list_only == 1 ]]; then
    ((${#missing[@]} == 0)) || printf '%s\n' "${missing[@]}"
    exit 0
fi
if ((${#missing[@]})); then
    {
        echo "check-deps: missing Debian packages: ${missing[*]}"
        echo "check-deps: 'make deps' (or scripts/install-deps.sh, as root or with sudo) installs them;"
        echo "check-deps: by hand: apt-get install ${missing[*]}"
    } >&2
    exit 1
fi
