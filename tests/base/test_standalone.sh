#!/usr/bin/env bash
# The checkout stands alone (scripts/check-standalone.sh, which CI runs too): no file names a
# folder beside the project, and the real samples of tests/vectors are all there, unchanged.
# The check is first shown to catch a planted reference and a changed sample in a scratch
# repository, so it cannot pass by finding nothing. Skipped (77) outside a git checkout.
set -uo pipefail
: "${GTEE_SOURCE_DIR:?}"
check="$GTEE_SOURCE_DIR/scripts/check-standalone.sh"
git -C "$GTEE_SOURCE_DIR" rev-parse --is-inside-work-tree >/dev/null 2>&1 || {
    echo "SKIP: $GTEE_SOURCE_DIR is not a git checkout"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# A scratch checkout with one planted reference (the name built from pieces, as in the check).
git init -q "$T/repo"
mkdir -p "$T/repo/tests/vectors/x"
echo sample >"$T/repo/tests/vectors/x/a.bin"
(cd "$T/repo/tests/vectors" && sha256sum x/a.bin >SHA256SUMS)
git -C "$T/repo" add -A
bash "$check" "$T/repo" >"$T/out" 2>&1 || bad "clean scratch checkout rejected: $(cat "$T/out")"
printf 'see %s\n' "..""/sha""red/DESIGN.md" >"$T/repo/notes.txt"
bash "$check" "$T/repo" >"$T/out" 2>&1
rc=$?
[ "$rc" = 1 ] || bad "planted reference: exit $rc, want 1"
grep -q 'notes.txt:1:' "$T/out" || bad "planted reference not printed: $(cat "$T/out")"
rm "$T/repo/notes.txt"
echo changed >"$T/repo/tests/vectors/x/a.bin"
bash "$check" "$T/repo" >"$T/out" 2>&1
rc=$?
[ "$rc" = 1 ] || bad "changed sample: exit $rc, want 1"
rm "$T/repo/tests/vectors/x/a.bin"
bash "$check" "$T/repo" >"$T/out" 2>&1
rc=$?
[ "$rc" = 1 ] || bad "missing sample: exit $rc, want 1"

# The project itself.
bash "$check" "$GTEE_SOURCE_DIR" >"$T/out" 2>&1
rc=$?
[ "$rc" = 0 ] || bad "the checkout does not stand alone (exit $rc): $(cat "$T/out")"
exit $fail
