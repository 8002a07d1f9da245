# The one shell helper that finds the real samples kept in tests/vectors/ (sourced by shell
# tests and benchmarks, not run). need_vectors sets VECTORS to $GTEE_SOURCE_DIR/tests/vectors
# (without GTEE_SOURCE_DIR: the folder beside this file) and exits 1, naming the files, when
# any sample listed in its SHA256SUMS is missing: the samples belong to the checkout, and a
# test without them must fail, not skip.
need_vectors() {
    local root=${GTEE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
    local f missing=""
    VECTORS="$root/tests/vectors"
    if [ ! -f "$VECTORS/SHA256SUMS" ]; then
        echo "FAIL: missing test vectors: no $VECTORS/SHA256SUMS (see tests/vectors/README.md)" >&2
        exit 1
    fi
    while read -r _ f; do
        [ -f "$VECTORS/$f" ] || missing="$missing $f"
    done <"$VECTORS/SHA256SUMS"
    if [ -n "$missing" ]; then
        echo "FAIL: missing test vectors in $VECTORS:$missing" >&2
        exit 1
    fi
}
