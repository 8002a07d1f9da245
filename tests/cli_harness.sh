# Shared start of the shell tests that drive `gtee` (sourced, not run): checks that GTEE_CLI
# (and GTEE_ENCLAVE, when NEED_ENCLAVE=1) name the binaries, makes the scratch directory $T
# (removed on exit, after every server started with bg_start is stopped: tests/bg.sh), and
# defines bad (count a failure) and run (run gtee, keeping stdout in $T/out, stderr in
# $T/err, the exit status in $rc), expect_rc and json.
: "${GTEE_CLI:?GTEE_CLI must name the gtee binary}"
if [ "${NEED_ENCLAVE:-0}" = 1 ]; then
    : "${GTEE_ENCLAVE:?GTEE_ENCLAVE must name the gtee-enclave binary}"
    export GTEE_ENCLAVE
fi
GTEE_CLI=$(readlink -f "$GTEE_CLI")
# shellcheck source=tests/bg.sh
. "$(dirname "${BASH_SOURCE[0]}")/bg.sh"
T=$(mktemp -d)
at_exit 'rm -rf "$T"'

fail=0
rc=0
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}
run() {
    set +e
    "$GTEE_CLI" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
}
# expect_rc WANT DESC: one assertion on the last run's exit status.
expect_rc() {
    [ "$rc" -eq "$1" ] || bad "$2: exit $rc, expected $1; stdout: $(head -c 300 "$T/out") stderr: $(head -c 400 "$T/err")"
}
# json EXPR: a Python expression over the JSON object the last run printed (as `j`).
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/out" "$1"; }
