#!/usr/bin/env bash
# Checks that a checkout stands alone: no file names the design folder that sits beside the
# project in its authors' workspace (a fresh clone has nothing beside it), and every real
# sample in tests/vectors/ is present and unchanged (tests/vectors/SHA256SUMS).
# Usage: scripts/check-standalone.sh [CHECKOUT]   (default: this script's checkout)
# Exit: 0 clean; 1 names found or samples missing/changed (printed); 77 not a git checkout.
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if ! git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "check-standalone: $root is not a git checkout" >&2
    exit 77
fi
# The pattern is built from pieces so that this file does not match itself.
dots='\.\.'
pat="$dots/sha""red"
status=0
# Tracked files and new ones not yet added (ignored build trees excluded).
hits=$(git -C "$root" grep -n --untracked -e "$pat" -- . 2>&1)
if [ -n "$hits" ]; then
    echo "check-standalone: the checkout names a folder outside it (a fresh clone has none):" >&2
    echo "$hits" >&2
    status=1
fi
if [ -f "$root/tests/vectors/SHA256SUMS" ]; then
    if ! (cd "$root/tests/vectors" && sha256sum --quiet --strict -c SHA256SUMS >&2); then
        echo "check-standalone: tests/vectors does not match its SHA256SUMS" >&2
        status=1
    fi
elif [ -d "$root/tests" ]; then
    echo "check-standalone: tests/vectors/SHA256SUMS is missing" >&2
    status=1
fi
exit $status
