#!/usr/bin/env bash
# The names the installed libraries may export: every gtee_* identifier that the public
# headers in DIR (include/gtee, or an installed include/gtee) declare, one a line, sorted.
# The build keeps these global in the SDK archives (CMakeLists.txt), and the install test
# fails on an exported symbol outside them (tests/ratls/test_sdk_install.sh).
set -euo pipefail
dir=${1:?usage: public-symbols.sh INCLUDE_GTEE_DIR}
shopt -s nullglob
hs=("$dir"/*.h)
[ ${#hs[@]} -gt 0 ] || { echo "public-symbols.sh: no headers in $dir" >&2; exit 1; }
grep -ohE '\bgtee_[A-Za-z0-9_]+' "${hs[@]}" | sort -u
