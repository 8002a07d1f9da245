#!/usr/bin/env bash
# The never-rule on the built executables (scripts/check-never-rule.sh, which CI runs too):
# the host's `gtee` holds no ML engine and no container-opening symbol. The check is first
# shown to fail on the executables that do hold them (gtee-model, gtee-box), naming what it
# found, so it cannot pass by finding nothing; then `gtee model` and `gtee decrypt` are shown
# to still work, through those executables.
set -uo pipefail
: "${GTEE_SOURCE_DIR:?}" "${GTEE_BINARY_DIR:?}" "${GTEE_CLI:?}"
command -v nm >/dev/null || { echo "SKIP: nm is not installed (binutils)"; exit 77; }
check="$GTEE_SOURCE_DIR/scripts/check-never-rule.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# expect_fail EXE WANT...: the check of EXE exits 1 and names each WANT.
expect_fail() {
    local exe=$1 rc
    shift
    "$check" "$GTEE_BINARY_DIR" "$exe" >"$T/out" 2>&1
    rc=$?
    [ "$rc" = 1 ] || bad "$exe: exit $rc, want 1 ($(head -c 400 "$T/out"))"
    for want in "$@"; do
        grep -qF -- "$want" "$T/out" || bad "$exe: no '$want' in: $(head -c 400 "$T/out")"
    done
}

# The host's executable (the default) is clean.
"$check" "$GTEE_BINARY_DIR" >"$T/out" 2>&1 || bad "gtee fails the never-rule: $(cat "$T/out")"
grep -q "gtee: none of" "$T/out" || bad "the check did not report on gtee: $(cat "$T/out")"

# The tools that hold what the host must not: each is caught.
expect_fail gtee-model "gtee-model holds" "from ML engine (src/ml/"
expect_fail gtee-box "gtee_box_open  from container opening (src/box/open.c)" "gtee_box_open_file"

# A build directory without the objects to derive the names from is an error, not a pass.
mkdir "$T/empty" && cp "$GTEE_CLI" "$T/empty/"
"$check" "$T/empty" >"$T/out" 2>&1
rc=$?
[ "$rc" = 2 ] || bad "empty build dir: exit $rc, want 2 ($(cat "$T/out"))"

# The commands moved out of gtee still run through it; a missing sibling is named.
"$GTEE_CLI" model inspect --help >"$T/out" 2>&1 || bad "gtee model inspect --help: $(cat "$T/out")"
grep -q "^Usage: gtee model inspect" "$T/out" || bad "gtee model inspect --help: $(cat "$T/out")"
"$GTEE_CLI" decrypt --key "$T/nokey" "$T/in" "$T/outfile" >"$T/out" 2>&1
rc=$?
[ "$rc" = 3 ] || bad "gtee decrypt with a missing key: exit $rc, want 3 ($(cat "$T/out"))"
grep -q "gtee: decrypt: cannot open key file" "$T/out" || bad "gtee decrypt: $(cat "$T/out")"
mkdir "$T/alone" && cp "$GTEE_CLI" "$T/alone/gtee"
PATH=/usr/bin:/bin "$T/alone/gtee" model inspect x.onnx >"$T/out" 2>&1
rc=$?
[ "$rc" = 3 ] || bad "gtee model without gtee-model: exit $rc, want 3 ($(cat "$T/out"))"
grep -q "the gtee-model executable is not installed" "$T/out" || bad "gtee model without gtee-model: $(cat "$T/out")"

[ "$fail" = 0 ] && echo "never-rule: checked"
exit "$fail"
