# Shared start of the shell tests that drive `gtee` (sourced, not run): checks that GTEE_CLI
# (and GTEE_ENCLAVE, when NEED_ENCLAVE=1) name the binaries, makes the scratch directory $T
# (removed on exit, after every server started with bg_start is stopped: tests/bg.sh), and
# defines bad (count a failure), run (run gtee, keeping stdout in $T/out, stderr in $T/err,
# the exit status in $rc; run_cmd the same for any command), expect_rc, json, and wait_for
# and wait_file (bounded waits for a server's port file); $NC is tests/net_clients.py.
: "${GTEE_CLI:?GTEE_CLI must name the gtee binary}"
if [ "${NEED_ENCLAVE:-0}" = 1 ]; then
    : "${GTEE_ENCLAVE:?GTEE_ENCLAVE must name the gtee-enclave binary}"
    export GTEE_ENCLAVE
fi
GTEE_CLI=$(readlink -f "$GTEE_CLI")
# The misbehaving TCP clients and servers of the server tests.
NC="$(dirname "${BASH_SOURCE[0]}")/net_clients.py"
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
run_cmd() {
    set +e
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
}
run() { run_cmd "$GTEE_CLI" "$@"; }
# expect_rc WANT DESC: one assertion on the last run's exit status.
expect_rc() {
    [ "$rc" -eq "$1" ] || bad "$2: exit $rc, expected $1; stdout: $(head -c 300 "$T/out") stderr: $(head -c 400 "$T/err")"
}
# json EXPR: a Python expression over the JSON object the last run printed (as `j`).
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/out" "$1"; }
# wait_for FILE: waits, bounded (10 s), for FILE to exist and be non-empty; 1 if it never is.
wait_for() {
    for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done
    return 1
}
# wait_file FILE WHAT LOG: wait_for FILE (the port file WHAT writes once it listens); if it
# never comes, a failure naming WHAT with its LOG, and the test stops there.
wait_file() {
    wait_for "$1" && return 0
    bad "$2 did not start: $(cat "$3" 2>/dev/null)"
    exit 1
}
