#!/usr/bin/env bash
# The example TEE application end to end on the simulated TEE, over loopback TCP:
# kvstore-enclave serves, kvstore-client stores and reads a value through the attested
# channel, the state on disk is sealed (the value never appears in it) and survives a
# restart; `gtee attest` prints the verified claims, and names why the enclave is rejected
# (exit 7) without simulation allowed, with another measurement pinned, and for a TDX-style
# enclave when only SGX is allowed.
set -euo pipefail

: "${GTEE_BINARY_DIR:?GTEE_BINARY_DIR must name the build directory}"
# The enclave and the relay are stopped on every path (tests/bg.sh, through the harness).
. "$(dirname "$0")/../cli_harness.sh"
EX="$GTEE_BINARY_DIR/examples"
PID=
RPID=

# Starts the enclave application; waits (bounded) for the port it bound.
start() {
    rm -f "$T/port"
    bg_start "$EX/kvstore-enclave" --tee sim --sim-dir "$T/dev" --state "$T/state" --port-file "$T/port" "$@" \
        2>"$T/enclave.log"
    PID=$BG_PID
    wait_file "$T/port" "enclave" "$T/enclave.log"
    PORT=$(cat "$T/port")
}
stop() {
    bg_stop "$PID"
    PID=
}

"$GTEE_CLI" sim init "$T/dev" >/dev/null 2>&1
echo '{"allow_simulation":true}' >"$T/sim.json"
echo '{}' >"$T/strict.json"
SIM=(--collateral "$T/dev" --sim-root "$T/dev/sim_root_ca.der")
SECRET="value-3b7e1f-confidential"

start
run_cmd "$EX/kvstore-client" --connect "127.0.0.1:$PORT" --policy "$T/sim.json" "${SIM[@]}" put patient42 "$SECRET"
expect_rc 0 "kvstore put"
grep -q "SIMULATED" "$T/err" || bad "client does not say the enclave is simulated"
run_cmd "$EX/kvstore-client" --connect "127.0.0.1:$PORT" --policy "$T/sim.json" "${SIM[@]}" get patient42
expect_rc 0 "kvstore get"
[ "$(cat "$T/out")" = "$SECRET" ] || bad "get returned '$(cat "$T/out")'"
run_cmd "$EX/kvstore-client" --connect "127.0.0.1:$PORT" --policy "$T/sim.json" "${SIM[@]}" get nobody
expect_rc 3 "kvstore get of a missing key"
[ -s "$T/state" ] || bad "no sealed state written"
if grep -q "$SECRET" "$T/state" || grep -q patient42 "$T/state"; then bad "state file holds plaintext"; fi

# The client refuses the simulated enclave under the strict policy: nothing is sent.
run_cmd "$EX/kvstore-client" --connect "127.0.0.1:$PORT" --policy "$T/strict.json" "${SIM[@]}" put leak "$SECRET"
expect_rc 7 "kvstore client under the strict policy"
grep -q "policy.simulation" "$T/err" || bad "client rejection does not name policy.simulation"

# gtee attest: claims in text and JSON
run attest --connect "127.0.0.1:$PORT" --policy "$T/sim.json" "${SIM[@]}" --fresh
expect_rc 0 "attest"
grep -q "^enclave  *accepted" "$T/out" || bad "attest text does not say accepted"
grep -q "^simulated  *YES" "$T/out" || bad "attest text does not say simulated"
grep -q "^tcb_status  *UpToDate" "$T/out" || bad "attest text has no TCB status"
grep -q "^fresh " "$T/out" || bad "attest --fresh did not report fresh evidence"
id_log=$(sed -n 's/.*Enclave ID \(0x[0-9a-f]*\).*/\1/p' "$T/enclave.log")
id_cli=$(sed -n 's/^enclave_id  *//p' "$T/out" | tr 'A-F' 'a-f')
[ -n "$id_log" ] && [ "$id_log" = "$id_cli" ] || bad "Enclave ID '$id_cli' differs from the enclave's '$id_log'"
mr=$(sed -n 's/^mrenclave  *//p' "$T/out")

run attest --connect "127.0.0.1:$PORT" --policy "$T/sim.json" "${SIM[@]}" --json
expect_rc 0 "attest --json"
[ "$(json 'j["accepted"]')" = True ] || bad "json: not accepted"
[ "$(json 'j["verdict"]["claims"]["simulated"]')" = True ] || bad "json: simulated not true"
[ "$(json 'j["enclave_id"].lower()')" = "$id_log" ] || bad "json: enclave_id differs"

run attest --connect "127.0.0.1:$PORT" --policy "$T/strict.json" "${SIM[@]}"
expect_rc 7 "attest without allow_simulation"
grep -q "policy.simulation" "$T/out" || bad "rejection does not name policy.simulation"
grep -q "^enclave  *rejected" "$T/out" || bad "rejection not printed"

other=$(printf '%064d' 0)
echo "{\"allow_simulation\":true,\"sgx\":{\"mrenclave\":[\"$other\"]}}" >"$T/pin.json"
run attest --connect "127.0.0.1:$PORT" --policy "$T/pin.json" "${SIM[@]}" --json
expect_rc 7 "attest with another measurement pinned"
[ "$(json 'j["failure"]')" = policy ] || bad "json failure is not policy"
json 'j["why"]' | grep -q "policy.sgx.mrenclave" || bad "rejection does not name policy.sgx.mrenclave"
echo "{\"allow_simulation\":true,\"sgx\":{\"mrenclave\":[\"$mr\"]}}" >"$T/pin.json"
run attest --connect "127.0.0.1:$PORT" --policy "$T/pin.json" "${SIM[@]}"
expect_rc 0 "attest with its own measurement pinned"

# No simulated root given: the chain ends at an unknown root, an evidence check fails.
run attest --connect "127.0.0.1:$PORT" --policy "$T/sim.json" --collateral "$T/dev" --json
expect_rc 7 "attest without the simulated root"
[ "$(json 'j["failure"]')" = evidence ] || bad "failure without the root is not 'evidence'"

run attest --connect "127.0.0.1:1" --policy "$T/sim.json" "${SIM[@]}"
expect_rc 3 "attest to a closed port"

# The node host's relay in front of the enclave: clients reach it only through the relay,
# and see the same enclave (same Enclave ID), verified end to end.
bg_start "$GTEE_CLI" relay --listen 127.0.0.1:0 --to "127.0.0.1:$PORT" --port-file "$T/rport" --max-clients 2 \
    2>"$T/relay.log"
RPID=$BG_PID
wait_file "$T/rport" "relay" "$T/relay.log"
RPORT=$(cat "$T/rport")
run attest --connect "127.0.0.1:$RPORT" --policy "$T/sim.json" "${SIM[@]}" --json
expect_rc 0 "attest through the relay"
[ "$(json 'j["enclave_id"].lower()')" = "$id_log" ] || bad "through the relay: another Enclave ID"
run_cmd "$EX/kvstore-client" --connect "127.0.0.1:$RPORT" --policy "$T/sim.json" "${SIM[@]}" get patient42
expect_rc 0 "kvstore get through the relay"
[ "$(cat "$T/out")" = "$SECRET" ] || bad "through the relay: get returned '$(cat "$T/out")'"
bg_wait "$RPID" || bad "relay exited with an error: $(cat "$T/relay.log")"
RPID=
stop

# Restart: same code, same device: the sealed store opens again.
start
run_cmd "$EX/kvstore-client" --connect "127.0.0.1:$PORT" --policy "$T/sim.json" "${SIM[@]}" get patient42
expect_rc 0 "get after restart"
[ "$(cat "$T/out")" = "$SECRET" ] || bad "value lost across the restart"
stop

# A TDX-style enclave: accepted as TDX, rejected by a policy allowing only SGX.
rm -f "$T/state"
start --sim-quote-version 4
run attest --connect "127.0.0.1:$PORT" --policy "$T/sim.json" "${SIM[@]}" --json
expect_rc 0 "attest TDX-style enclave"
[ "$(json 'j["verdict"]["claims"]["tee"]')" = tdx ] || bad "TDX-style enclave not reported as tdx"
echo '{"allow_simulation":true,"tee_types":["sgx"]}' >"$T/sgx.json"
run attest --connect "127.0.0.1:$PORT" --policy "$T/sgx.json" "${SIM[@]}"
expect_rc 7 "attest TDX under an SGX-only policy"
grep -q "policy.tee_type" "$T/out" || bad "rejection does not name policy.tee_type"
stop

[ "$fail" -eq 0 ] || { echo "$fail check(s) failed" >&2; exit 1; }
echo "kvstore and gtee attest: all checks passed"
