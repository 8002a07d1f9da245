#!/usr/bin/env bash
# The never-rule, checked on the built executables (docs/architecture.md, "Never"): an
# executable that runs on the node's host defines and references no symbol of the ML engine
# and none of the code that opens a container. The forbidden names are derived from the
# build itself: every global symbol defined by an object compiled from src/ml/ (with the
# ONNX reader generated from onnx.proto), by src/box/open.c, and every gtee_box_open*
# definition of src/box/; plus the ML engine's outside libraries by prefix (protobuf-c,
# CBLAS/OpenBLAS, oneDNN). The host executables are `gtee` (gtee-enclave is the enclave;
# gtee-model and gtee-box are the developer tools that `gtee` runs and may hold them).
# Usage: scripts/check-never-rule.sh BUILD_DIR [EXECUTABLE...]   (default: gtee; names are
#        relative to BUILD_DIR)
# Exit: 0 clean; 1 a forbidden symbol found (each named, with the source it comes from);
#       2 usage, or BUILD_DIR lacks what the check needs (it never passes by finding nothing).
set -uo pipefail
export LC_ALL=C
die() { echo "check-never-rule: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: check-never-rule.sh BUILD_DIR [EXECUTABLE...]"
build=$1
shift
[ $# -ge 1 ] || set -- gtee
[ -d "$build" ] || die "$build is not a directory"
command -v nm >/dev/null || die "nm is not installed (binutils)"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# defs KIND OBJECT...: "symbol<TAB>kind (source)" for each global definition, skipping
# compiler-made names (__*, names with a dot).
defs() {
    local kind=$1 o src
    shift
    for o in "$@"; do
        src=${o#*/CMakeFiles/*.dir/}
        src=${src%.o}
        nm -g --defined-only "$o" 2>/dev/null |
            awk -v what="$kind ($src)" 'NF == 3 && $3 !~ /^__/ && $3 !~ /\./ { print $3 "\t" what }'
    done
}

mapfile -t ml < <(find "$build" -path '*/CMakeFiles/*' -name '*.c.o' \( -path '*/src/ml/*' -o -name 'onnx.pb-c.c.o' \) | sort)
mapfile -t open < <(find "$build" -path '*/CMakeFiles/*' -path '*/src/box/open.c.o' | sort)
mapfile -t box < <(find "$build" -path '*/CMakeFiles/*' -path '*/src/box/*.c.o' | sort)
[ ${#ml[@]} -gt 0 ] || die "no object of src/ml/ under $build: build it first"
[ ${#open[@]} -gt 0 ] || die "no object of src/box/open.c under $build: build it first"
{
    defs "ML engine" "${ml[@]}"
    defs "container opening" "${open[@]}"
    defs "container opening" "${box[@]}" | awk -F '\t' '$1 ~ /^gtee_box_open/'
} | sort -u -t "$(printf '\t')" -k1,1 >"$T/forbidden"
n_ml=$(grep -c $'\tML engine' "$T/forbidden")
n_open=$(grep -c $'\tcontainer opening' "$T/forbidden")
[ "$n_ml" -gt 0 ] && [ "$n_open" -gt 0 ] || die "no symbols derived from the ML and container objects under $build"

status=0
for exe in "$@"; do
    path=$build/$exe
    [ -f "$path" ] || die "$path: no such executable"
    # Every symbol the executable defines or references, static and dynamic, versions cut.
    { nm "$path" 2>"$T/nm.err"; nm -D "$path" 2>/dev/null; } |
        awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$T/syms"
    grep -q 'no symbols' "$T/nm.err" && die "$path is stripped: nm sees no symbols to check"
    join -t "$(printf '\t')" "$T/syms" "$T/forbidden" >"$T/hits"
    grep -E '^(protobuf_c_|cblas_|openblas_|dnnl_)' "$T/syms" |
        awk '{ print $0 "\tan ML engine library" }' >>"$T/hits"
    if [ -s "$T/hits" ]; then
        echo "check-never-rule: $exe holds $(wc -l <"$T/hits") symbols of the ML engine or of container opening:" >&2
        head -n 20 "$T/hits" | sed 's/^/  /; s/\t/  from /' >&2
        [ "$(wc -l <"$T/hits")" -le 20 ] || echo "  ..." >&2
        status=1
    else
        echo "check-never-rule: $exe: none of $n_ml ML engine or $n_open container-opening symbols, no ML library"
    fi
done
exit "$status"
