#!/usr/bin/env bash
# `gtee chain deploy` on a real anvil (the pinned npm @foundry-rs/anvil-linux-amd64, on a
# loopback port) deploys the Glacier contract through the EVM client (EIP-1559 transactions
# signed with the operator's key); the whole contract suite (tests/chain/contracts_check.js)
# then runs on that deployment; `gtee chain status` shows its policy, `gtee rewards` an
# operator's units and `gtee rewards claim` claims them, and a refused claim prints the
# chain's revert reason; `gtee proof verify --rpc` checks proofs (signed by anvil's accounts
# as enclaves, tests/proof/anvil_sign.py) against the enclaves' standing on the deployment;
# `gtee proof submit` sends proofs in batches, skips what the chain holds (a replay, a
# resubmission after anvil restarts mid-way: nothing lost, nothing counted twice); the
# ledger's rule table (tests/chain/ledger_rules.h) runs through the evm ledger on a second
# deployment. Bad inputs: an unreachable chain (bounded, exit 3), a key file
# readable by others (6), a malformed key or artefacts (5), usage (2).
set -euo pipefail
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/anvil_harness.sh"
# --state: the chain's state is dumped when anvil stops and loaded when it starts again
anvil_start "$T/anvil.log" 0 --state "$T/state.json"
RPC="http://127.0.0.1:$port"

# anvil's first two dev accounts (well-known test keys): the governor and an operator
(umask 077
 echo 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$T/governor.key"
 echo 0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d >"$T/operator.key")
OPERATOR=0x70997970C51812dc3A010C7d01b50e0d17dc79C8

run chain deploy --rpc "$RPC" --key "$T/governor.key" --artefacts "$T/glacier.json" --quorum 2 --freshness 3600 \
    --min-stake 1000000000000000000 --verifier-stake 500000000000000000 --reward-per-unit 1000000000 --json
expect_rc 0 "chain deploy"
[ "$rc" = 0 ] || exit 1
C=$(json 'j["contract"]')
[ "$(json 'j["governor"]')" = 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 ] || bad "governor: $(cat "$T/out")"
[ "$(json 'j["chain_id"]')" = 31337 ] || bad "chain id: $(cat "$T/out")"

# every rule of the contracts on the deployment gtee made
node "$GTEE_SOURCE_DIR/tests/chain/contracts_check.js" "$RPC" "$T/glacier.json" - "$C" || bad "contract checks on the deployment"

# proofs against the chain: the checks leave enclave 2 revoked after seq 2, enclave 1
# slashed; anvil signs the very proofs the checks submitted (same fields, same hashes)
ZERO=0x$(printf '%064x' 0)
proof() { # ENCLAVE SEQ PREV UNITS
    cat <<JSON
{"format": "gtee-work-proof-1", "domain": {"chain_id": 31337, "contract": "$C"},
 "enclave_id": "$1", "job_id": "0x$(printf '%064x' $((1000 + $2)))", "job_kind": "inference",
 "model_cid": "0x$(printf '%064x' 2)", "input_cid": "0x$(printf '%064x' 3)", "output_cid": "0x$(printf '%064x' 4)",
 "units": $4, "receipt_hash": "$ZERO", "start_time": 1780000000, "end_time": 1780000010, "seq": $2,
 "prev_hash": "$3", "evidence_hash": "0x$(printf '%064x' 225)", "gpu_evidence_hash": "$ZERO"}
JSON
}
signed() { # NAME ENCLAVE SEQ PREV UNITS: $T/NAME.json, and its hash in $h
    proof "$2" "$3" "$4" "$5" >"$T/u.json"
    python3 "$GTEE_SOURCE_DIR/tests/proof/anvil_sign.py" "$RPC" "$T/u.json" "$T/$1.json"
    h=$("$GTEE_CLI" proof verify "$T/$1.json" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["proofs"][0]["hash"])')
}
E1=0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc
E2=0x976ea74026e726554db657fa54763abd0c3a0aa9
signed e2s1 "$E2" 1 "$ZERO" 5; h1=$h
signed e2s2 "$E2" 2 "$h1" 5; h2=$h
run proof verify "$T/e2s1.json" "$T/e2s2.json" --rpc "$RPC" --contract "$C" --json
expect_rc 0 "proofs the chain accepted, of an enclave revoked since"
[ "$(json 'j["on_chain"][0]["status"], j["on_chain"][0]["last_seq"]')" = "('revoked', 2)" ] || bad "on chain: $(cat "$T/out")"
signed e2s3 "$E2" 3 "$h2" 5
run proof verify "$T/e2s1.json" "$T/e2s2.json" "$T/e2s3.json" --rpc "$RPC" --contract "$C"
expect_rc 7 "a revoked node's proof past the chain's last"
grep -q 'is not active (revoked)' "$T/err" || bad "revoked message: $(cat "$T/err")"
signed e2s2b "$E2" 2 "$h1" 6
run proof verify "$T/e2s2b.json" --rpc "$RPC" --contract "$C"
expect_rc 7 "another proof with the chain's last seq"
grep -q 'equivocation' "$T/err" || bad "equivocation message: $(cat "$T/err")"
signed e1s1 "$E1" 1 "$ZERO" 100
run proof verify "$T/e1s1.json" --rpc "$RPC" --contract "$C"
expect_rc 7 "a slashed enclave"
signed stray 0xa0ee7a142d267c1f36714e4a8f75612f20a79720 1 "$ZERO" 1
run proof verify "$T/stray.json" --rpc "$RPC" --contract "$C"
expect_rc 7 "a signer that is not a registered enclave"
grep -q 'not registered' "$T/err" || bad "unregistered message: $(cat "$T/err")"
run proof verify "$T/e2s1.json" --rpc "$RPC"
expect_rc 2 "--rpc without --contract"

# `gtee proof submit`: the checks leave the reporter's account an active enclave of the
# operator; 34 proofs go out as a batch of 32 and one of 2, then a replay is refused
E4=0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f
prev=$ZERO
files=()
for s in $(seq 34); do h33=$prev; signed "e4s$s" "$E4" "$s" "$prev" 3; prev=$h; files+=("$T/e4s$s.json"); done
run rewards --rpc "$RPC" --contract "$C" --operator "$OPERATOR" --json
before=$(json 'int(j["units"])')
run proof submit "${files[@]}" --rpc "$RPC" --contract "$C" --key "$T/operator.key" --json
expect_rc 0 "proof submit"
[ "$(json 'j["submitted"], len(j["transactions"]), j["transactions"][0]["proofs"]')" = "(34, 2, 32)" ] ||
    bad "submit: $(cat "$T/out")"
per=$(json 'j["transactions"][0]["gas_used"] // 32')
[ "$per" -le 60000 ] || bad "gas per proof in a batch of 32: $per"
run proof verify "$T/e4s34.json" --rpc "$RPC" --contract "$C" --json
[ "$(json 'j["on_chain"][0]["last_seq"]')" = 34 ] || bad "last seq after submit: $(cat "$T/out")"
# a replay sends nothing and counts nothing; another proof with the chain's last seq is refused
run proof submit "$T/e4s34.json" --rpc "$RPC" --contract "$C" --key "$T/operator.key" --json
expect_rc 0 "a replayed proof"
[ "$(json 'j["submitted"], j["already_on_chain"]')" = "(0, 1)" ] || bad "replay: $(cat "$T/out")"
signed e4s34b "$E4" 34 "$h33" 4
run proof submit "$T/e4s34b.json" --rpc "$RPC" --contract "$C" --key "$T/operator.key"
expect_rc 7 "another proof with the chain's last seq"
grep -q 'equivocation' "$T/err" || bad "equivocation on submit: $(cat "$T/err")"
signed e4s36 "$E4" 36 "$prev" 3
run proof submit "$T/e4s36.json" --rpc "$RPC" --contract "$C" --key "$T/operator.key"
expect_rc 7 "a skipped sequence number"
grep -q "revert reason: proof: seq is not one past" "$T/err" || bad "gap reason: $(cat "$T/err")"
run rewards --rpc "$RPC" --contract "$C" --operator "$OPERATOR" --json
[ "$(json 'int(j["units"])')" = $((before + 34 * 3)) ] || bad "units after submit and replay: $(cat "$T/out")"

# a chain restart in the middle of submissions: seq 35..44 go out, anvil stops (dumping its
# state) and starts again on the same port; submitting 35..60 again sends 45..60 only
more=()
for s in $(seq 35 60); do signed "e4s$s" "$E4" "$s" "$prev" 3; prev=$h; more+=("$T/e4s$s.json"); done
run proof submit "${more[@]:0:10}" --rpc "$RPC" --contract "$C" --key "$T/operator.key"
expect_rc 0 "proofs before the restart"
bg_stop "$ANVIL_PID"
anvil_start "$T/anvil2.log" "$port" --state "$T/state.json"
run proof submit "${more[@]}" --rpc "$RPC" --contract "$C" --key "$T/operator.key" --json
expect_rc 0 "proofs after the restart"
[ "$(json 'j["submitted"], j["already_on_chain"]')" = "(16, 10)" ] || bad "after the restart: $(cat "$T/out")"
run rewards --rpc "$RPC" --contract "$C" --operator "$OPERATOR" --json
[ "$(json 'int(j["units"])')" = $((before + 60 * 3)) ] || bad "units after the restart: $(cat "$T/out")"
run proof submit "${files[0]}" --rpc "$RPC" --contract "$C"
expect_rc 2 "submit without --key"

# registration through the ledger interface (tests/chain/ledger_register_check.c): the last
# dev account as an enclave consents, through anvil's eth_signTypedData_v4, to the operator
E9=0xa0ee7a142d267c1f36714e4a8f75612f20a79720
consent=$(python3 - "$RPC" "$C" "$E9" <<'PY'
import json, sys, urllib.request
url, contract, enclave = sys.argv[1:4]
typed = {"types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                    {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
                   "Consent": [{"name": "enclaveId", "type": "address"}, {"name": "operator", "type": "address"},
                               {"name": "evidenceHash", "type": "bytes32"}]},
         "primaryType": "Consent",
         "domain": {"name": "Glacier Work Proof", "version": "1", "chainId": 31337, "verifyingContract": contract},
         "message": {"enclaveId": enclave, "operator": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                     "evidenceHash": "0x" + "00" * 31 + "e5"}}
req = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_signTypedData_v4",
                                              "params": [enclave, typed]}).encode(), {"content-type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=10))["result"])
PY
)
now=$(python3 -c 'import json,sys,urllib.request; r=urllib.request.Request(sys.argv[1], b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBlockByNumber\",\"params\":[\"latest\",false]}", {"content-type":"application/json"}); print(int(json.load(urllib.request.urlopen(r))["result"]["timestamp"], 16))' "$RPC")
REG="$GTEE_BINARY_DIR/tests/ledger_register_check"
GOVKEY=$(cat "$T/governor.key")
OPKEY=$(cat "$T/operator.key")
run_cmd "$REG" "$RPC" "$C" "$GOVKEY" "$E9" "$consent" $((now - 10))
expect_rc 7 "a consent the enclave gave another operator"
grep -q "did not sign this operator" "$T/err" || bad "consent reason: $(cat "$T/err")"
run_cmd "$REG" "$RPC" "$C" "$OPKEY" "$E9" "$consent" $((now - 7200))
expect_rc 7 "evidence older than the freshness window"
run_cmd "$REG" "$RPC" "$C" "$OPKEY" "$E9" "$consent" $((now - 10))
expect_rc 0 "a registration through the ledger"
grep -q '^status 1 active 0$' "$T/out" || bad "standing after registration: $(cat "$T/out")"
run_cmd "$REG" "$RPC" "$C" "$OPKEY" "$E9" "$consent" $((now - 10))
expect_rc 7 "registering twice"
grep -q "already registered" "$T/err" || bad "twice reason: $(cat "$T/err")"

# the ledger's rule table (tests/chain/ledger_rules.h), the one the local ledger runs in
# tests/chain/test_ledger_local.c, on a deployment of its own: quorum 1 (one verifier's vote
# approves), epoch 600 s, freshness 3600 s, simulation allowed; anvil's accounts 2 and 3 are
# the stranger and the verifier
run chain deploy --rpc "$RPC" --key "$T/governor.key" --artefacts "$T/glacier.json" --quorum 1 --epoch 600 \
    --freshness 3600 --reward-per-unit 1 --allow-simulated --json
expect_rc 0 "a deployment for the rule table"
C2=$(json 'j["contract"]')
# (its last case asks for a chain restart in the middle of its submissions: this script
# stops anvil, dumping its state, and starts it again on the same port with that state)
mkdir "$T/restart"
bg_start "$GTEE_BINARY_DIR/tests/ledger_rules_check" "$RPC" "$C2" "$GOVKEY" "$OPKEY" \
    0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a \
    0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6 "$T/restart" >"$T/out" 2>"$T/err"
RULES=$BG_PID
restarts=0
end=$((SECONDS + 300))
while bg_alive "$RULES" && [ "$SECONDS" -lt "$end" ]; do
    if [ -e "$T/restart/restart" ]; then
        rm "$T/restart/restart"
        bg_stop "$ANVIL_PID"
        restarts=$((restarts + 1))
        anvil_start "$T/anvil-r$restarts.log" "$port" --state "$T/state.json"
        touch "$T/restart/restarted"
    fi
    sleep 0.1
done
rc=0
if bg_alive "$RULES"; then
    bad "the rule table did not finish within 300 s"
    bg_stop "$RULES"
    rc=1
else
    bg_wait "$RULES" || rc=$?
fi
expect_rc 0 "the ledger's rule table on the evm ledger"
[ "$restarts" = 1 ] || bad "the rule table asked for $restarts chain restarts, not 1"
grep -q ' cases, 0 failed$' "$T/out" || bad "rule table: $(grep -v '^ok' "$T/out")"

run chain status --rpc "$RPC" --contract "$C" --json
expect_rc 0 "chain status"
run chain status --ledger "evm:$RPC,$C" --json
expect_rc 0 "chain status through --ledger evm:URL,ADDRESS"
[ "$(json 'j["ledger"], j["contract"].lower(), j["policy"]["quorum"]')" = "('evm', '${C,,}', 2)" ] ||
    bad "status through --ledger: $(cat "$T/out")"
[ "$(json 'j["policy"]["quorum"], j["policy"]["reward_per_unit"], j["policy"]["allow_simulated"]')" = "(2, '1000000000', False)" ] ||
    bad "status policy: $(cat "$T/out")"

# the checks leave the operator 10 units of its second enclave unclaimed, the submissions 180 more
run rewards --rpc "$RPC" --contract "$C" --operator "$OPERATOR" --json
expect_rc 0 "rewards"
run rewards --ledger "evm:$RPC" --contract "$C" --operator "$OPERATOR" --json
expect_rc 0 "rewards through --ledger evm:URL with --contract"
[ "$(json 'j["units"]')" = $((10 + 60 * 3)) ] || bad "rewards through --ledger: $(cat "$T/out")"
[ "$(json 'j["units"]')" = $((10 + 60 * 3)) ] || bad "rewards units: $(cat "$T/out")"
run rewards claim --rpc "$RPC" --contract "$C" --key "$T/operator.key" --json
expect_rc 0 "rewards claim"
[ "$(json 'j["claimed_units"]')" = $((10 + 60 * 3)) ] || bad "claimed units: $(cat "$T/out")"
run rewards claim --rpc "$RPC" --contract "$C" --key "$T/operator.key"
expect_rc 7 "a claim with nothing to claim"
grep -q 'revert reason: rewards: nothing to claim' "$T/err" || bad "revert reason: $(cat "$T/err")"
run rewards --rpc "$RPC" --contract "$C" --key "$T/operator.key" --json
[ "$(json 'j["units"]')" = 0 ] || bad "units after the claim: $(cat "$T/out")"

# bad inputs
start=$(date +%s)
run chain status --rpc http://127.0.0.1:1 --contract "$C" --retries 2 --timeout 500
expect_rc 3 "an unreachable chain"
[ $(($(date +%s) - start)) -lt 30 ] || bad "an unreachable chain took $(($(date +%s) - start)) s"
grep -q 'after 3 attempts' "$T/err" || bad "unreachable message: $(cat "$T/err")"
cp "$T/operator.key" "$T/open.key"
chmod 644 "$T/open.key"
run rewards claim --rpc "$RPC" --contract "$C" --key "$T/open.key"
expect_rc 6 "a key file readable by others"
(umask 077; echo 0x1234 >"$T/short.key")
run rewards claim --rpc "$RPC" --contract "$C" --key "$T/short.key"
expect_rc 5 "a malformed key file"
echo '{"contracts": {}}' >"$T/empty.json"
run chain deploy --rpc "$RPC" --key "$T/governor.key" --artefacts "$T/empty.json"
expect_rc 5 "artefacts without Glacier"
run chain status --rpc "$RPC" --contract "$OPERATOR"
expect_rc 5 "an address with no contract"
run chain status --rpc "$RPC"
expect_rc 2 "no --contract"
run chain deploy --rpc "$RPC" --key "$T/governor.key" --artefacts "$T/glacier.json" --quorum 0
expect_rc 2 "quorum 0"
run rewards --rpc "$RPC" --contract "$C"
expect_rc 2 "rewards of nobody"

[ "$fail" = 0 ] || exit 1
echo "chain/anvil: all checks passed"
