#!/usr/bin/env bash
# `gtee attest` against a server that is not a TLS server, and one that accepts and never
# answers (issue 11, finding 10): both are I/O errors (exit 3) whose message says which,
# not a rejected enclave (exit 7, kept for evidence that fails verification or policy).
set -euo pipefail
. "$(dirname "$0")/../cli_harness.sh"

echo '{"allow_simulation":true}' >"$T/sim.json"
for mode in garbage stall; do
    bg_start python3 "$NC" silent-server "$T/$mode.port" "$mode"
    wait_for "$T/$mode.port" || { echo "the $mode server did not start" >&2; exit 1; }
done

run attest --connect "127.0.0.1:$(cat "$T/garbage.port")" --policy "$T/sim.json"
expect_rc 3 "attest to a server that answers in HTTP"
grep -q "does not speak TLS" "$T/err" || bad "no 'does not speak TLS' in: $(cat "$T/err")"
grep -q "rejected" "$T/out" "$T/err" && bad "a non-TLS server reported as a rejected enclave"

start=$(date +%s)
run attest --connect "127.0.0.1:$(cat "$T/stall.port")" --policy "$T/sim.json" --timeout 2
expect_rc 3 "attest to a server that never answers"
grep -q "timed out" "$T/err" || bad "no 'timed out' in: $(cat "$T/err")"
grep -q "rejected" "$T/out" "$T/err" && bad "a stalled server reported as a rejected enclave"
[ $(($(date +%s) - start)) -lt 25 ] || bad "--timeout 2 took $(($(date +%s) - start)) s"

run attest --connect "127.0.0.1:$(cat "$T/stall.port")" --timeout 0
expect_rc 2 "--timeout 0"

[ "$fail" -eq 0 ] || { echo "$fail check(s) failed" >&2; exit 1; }
echo "attest: a non-TLS or stalled server is an I/O error"
