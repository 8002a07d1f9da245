#!/usr/bin/env bash
# The graph of parts (scripts/check-includes.py, which CI runs too): the tree's #include lines
# follow the table of docs/architecture.md and make no cycle between parts. The check is first
# shown to fail on planted faults in a copy of the tree's include lines (a cycle, one the table
# was widened to allow, an include the table forbids, a part and a public header the table
# does not place), so it cannot pass by finding nothing.
set -uo pipefail
: "${GTEE_SOURCE_DIR:?}"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
check="$GTEE_SOURCE_DIR/scripts/check-includes.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# The project itself.
python3 "$check" "$GTEE_SOURCE_DIR" >"$T/out" 2>&1 || bad "the tree fails its own check: $(cat "$T/out")"

# A copy of the tree that keeps only the include lines of every file the check reads.
mkdir -p "$T/orig/docs"
cp "$GTEE_SOURCE_DIR/docs/architecture.md" "$T/orig/docs/"
(cd "$GTEE_SOURCE_DIR" && for f in src/*/*.[ch] include/gtee/*.h; do
    mkdir -p "$T/orig/${f%/*}"
    grep -E '^[[:space:]]*#[[:space:]]*include' "$f" >"$T/orig/$f" || :
done)
copy() { rm -rf "$T/tree" && cp -r "$T/orig" "$T/tree"; }
# expect NAME WANT-TEXT: the check of the copy exits 1 and says WANT-TEXT.
expect() {
    python3 "$check" "$T/tree" >"$T/out" 2>&1
    local rc=$?
    [ "$rc" = 1 ] || bad "$1: exit $rc, want 1 ($(cat "$T/out"))"
    grep -qF -- "$2" "$T/out" || bad "$1: no '$2' in: $(cat "$T/out")"
}

copy
python3 "$check" "$T/tree" >"$T/out" 2>&1 || bad "the copy of the include lines fails: $(cat "$T/out")"

# A cycle: a TEE backend reaches into the enclave runtime, which includes the backends.
copy
echo '#include "runtime/internal.h"' >>"$T/tree/src/tee/tee.c"
expect "planted cycle" "a cycle between parts:"
expect "planted cycle (the forbidden include named)" "src/tee/tee.c:"

# The same include with the table widened to allow it: the cycle check alone catches it.
sed -i 's/^tee: .*/& runtime/' "$T/tree/docs/architecture.md"
expect "cycle the table allows" "runtime -> tee (src/runtime/"
expect "cycle the table allows (the table named)" "the parts table of docs/architecture.md allows a cycle"

# gtee-enclave is an application of the public SDK: the runtime's internal header is refused
# to it although the table lets it use the runtime (through gtee/sdk.h: runtime(api)).
copy
echo '#include "runtime/internal.h"' >>"$T/tree/src/enclave/handler.c"
expect "the enclave application past the public SDK" "an internal header of part 'runtime'"
expect "the enclave application past the public SDK (where)" "src/enclave/handler.c:"

# No cycle, but an include the table forbids: the host reaching a TEE backend's header.
copy
echo '#include "gtee/tee.h"' >>"$T/tree/src/host/launch.c"
expect "forbidden include" "src/host/launch.c:"
grep -q 'a cycle' "$T/out" && bad "forbidden include reported as a cycle: $(cat "$T/out")"

# A part and a public header that the tables do not place, and an include of a header that
# does not exist.
copy
mkdir "$T/tree/src/newpart" && echo '#include "gtee/err.h"' >"$T/tree/src/newpart/x.c"
expect "unplaced part" "src/newpart/ is a part the parts table"
copy
echo '#include "gtee/err.h"' >"$T/tree/include/gtee/newthing.h"
expect "unplaced header" "include/gtee/newthing.h is a public header"
copy
echo '#include "wire/nosuch.h"' >>"$T/tree/src/wire/msg.c"
expect "missing header" "wire/nosuch.h, which is no file under src/"

[ "$fail" = 0 ] && echo "include graph: checked"
exit "$fail"
