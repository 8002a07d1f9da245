#!/usr/bin/env bash
# `gtee node register DIR` against the Glacier contract on a real anvil (the pinned npm
# @foundry-rs/anvil-linux-amd64, on a loopback port; docs/node.md, "Ledger"): a node whose
# node.conf names the deployment (ledger = evm:URL,ADDRESS) registers its simulated enclave
# with node.conf's stake. The contract's refusals come back with their revert reasons and
# exit 7: a measurement governance has not accepted, a stake below the minimum; then the
# registration goes through (pending until verifiers approve: no expiry yet), and a second
# register is a renewal.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/../chain/anvil_harness.sh"
anvil_start "$T/anvil.log" 0
RPC="http://127.0.0.1:$port"

# anvil's first two dev accounts (well-known test keys): the governor and the operator
GOVERNOR=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
(umask 077; echo 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$T/governor.key")
run chain deploy --rpc "$RPC" --key "$T/governor.key" --artefacts "$T/glacier.json" --allow-simulated \
    --min-stake 1000000000000000000 --json
expect_rc 0 "chain deploy"
[ "$rc" = 0 ] || exit 1
C=$(json 'j["contract"]')

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
(umask 077; echo gtee-operator-key-v1:59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d >"$D/operator.key")
sed -i "s|^ledger = .*|ledger = evm:$RPC,$C|" "$D/node.conf"
reg() { run node register --enclave "$GTEE_ENCLAVE" --url http://127.0.0.1:8470 "$@" "$D"; }

reg
expect_rc 7 "register with a measurement governance has not accepted"
grep -q "revert reason: registration: measurement not accepted" "$T/err" || bad "no revert reason: $(cat "$T/err")"

# governance accepts the enclave's measurement (anvil's unlocked governor account)
m=$(sed -n 's/.*measurement \([0-9a-f]\{64\}\).*/\1/p' "$T/err" | head -1)
[ -n "$m" ] || { bad "the enclave's measurement is not in the log: $(cat "$T/err")"; exit 1; }
sel=$(NODE_PATH="$NM" node -e 'console.log(require("js-sha3").keccak256("setMeasurement(bytes32,bool)").slice(0, 8))')
curl -s -X POST -H 'content-type: application/json' --data \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_sendTransaction\",\"params\":[{\"from\":\"$GOVERNOR\",\"to\":\"$C\",\"data\":\"0x$sel$m$(printf '%064x' 1)\"}]}" \
    "$RPC" | grep -q '"result":"0x' || bad "setMeasurement was not sent"

reg
expect_rc 7 "register with node.conf's stake 0 below the minimum"
grep -q "revert reason: registration: stake below the minimum" "$T/err" || bad "no revert reason: $(cat "$T/err")"

sed -i 's/^stake = .*/stake = 1000000000000000000/' "$D/node.conf"
reg --json
expect_rc 0 "register with the minimum stake"
[ "$(json 'j["registration"], j["status"], j["active"], j["expires"]')" = "('registered', 'pending', False, 0)" ] ||
    bad "register on anvil: $(cat "$T/out")"
reg --json
expect_rc 0 "register again"
[ "$(json 'j["registration"], j["status"]')" = "('renewed', 'pending')" ] || bad "a second register: $(cat "$T/out")"

if [ "$fail" -ne 0 ]; then
    echo "node register on anvil: $fail failure(s)"
    exit 1
fi
echo "node register on anvil: ok"
