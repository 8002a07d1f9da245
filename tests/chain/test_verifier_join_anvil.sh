#!/usr/bin/env bash
# `gtee verifier join` on a real anvil (docs/cli.md): a key stakes the contract's minimum
# verifier stake (joinVerifiers; the chain's own verifierStake reads it back), a second
# join leaves a staked key as it is, an explicit --stake adds to it, a stake below the
# minimum is refused with the chain's revert reason (exit 7) and leaves nothing staked.
# Bad inputs: a local ledger (it has no verifiers: usage, 2), a key file readable by
# others (6), an unreachable chain (bounded, 3).
set -euo pipefail
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/anvil_harness.sh"
anvil_start "$T/anvil.log" 0
RPC="http://127.0.0.1:$port"
anvil_accounts "$T/anvil.log" 4
anvil_keyfile 0 "$T/governor.key"
anvil_keyfile 2 "$T/v1.key"
anvil_keyfile 3 "$T/v2.key"
MIN=500000000000000000

run chain deploy --rpc "$RPC" --key "$T/governor.key" --artefacts "$T/glacier.json" --quorum 1 \
    --verifier-stake "$MIN" --json
expect_rc 0 "chain deploy"
[ "$rc" = 0 ] || exit 1
C=$(json 'j["contract"]')
L="evm:$RPC,$C"
# verifierStake(address) as the chain holds it, read apart from gtee (node's own JSON-RPC call)
stake_of() {
    node -e '
const [rpc, c, a] = process.argv.slice(1);
const sel = require(process.env.NM + "/js-sha3").keccak256("verifierStake(address)").slice(0, 8);
const data = "0x" + sel + a.slice(2).toLowerCase().padStart(64, "0");
fetch(rpc, { method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_call", params: [{ to: c, data }, "latest"] }) })
  .then(r => r.json()).then(j => console.log(BigInt(j.result).toString()));' "$RPC" "$C" "$1"
}
export NM

run verifier join --ledger "$L" --key "$T/v1.key" --json
expect_rc 0 "verifier join with the minimum stake"
[ "$(json 'j["verifier"].lower()')" = "$(echo "${ACC[2]}" | tr A-F a-f)" ] || bad "join names another verifier: $(cat "$T/out")"
[ "$(json 'j["stake"]')" = "$MIN" ] || bad "join's stake: $(cat "$T/out")"
[ "$(stake_of "${ACC[2]}")" = "$MIN" ] || bad "the chain holds $(stake_of "${ACC[2]}") wei for the verifier, not $MIN"
# again: a key staked at the minimum is left as it is
run verifier join --ledger "$L" --key "$T/v1.key"
expect_rc 0 "verifier join of a staked key"
grep -q "holds a stake of $MIN wei" "$T/out" || bad "a second join: $(cat "$T/out")"
[ "$(stake_of "${ACC[2]}")" = "$MIN" ] || bad "a second join changed the stake: $(stake_of "${ACC[2]}")"
# an explicit stake adds to it
run verifier join --ledger "$L" --key "$T/v1.key" --stake 1000 --json
expect_rc 0 "verifier join with --stake"
[ "$(stake_of "${ACC[2]}")" = "$((MIN + 1000))" ] || bad "--stake 1000 left $(stake_of "${ACC[2]}") wei"
# below the minimum: the chain's reason, nothing staked
run verifier join --ledger "$L" --key "$T/v2.key" --stake 1
expect_rc 7 "verifier join below the minimum stake"
grep -q "verifier: stake below the minimum" "$T/err" || bad "no revert reason: $(cat "$T/err")"
[ "$(stake_of "${ACC[3]}")" = 0 ] || bad "a refused join staked $(stake_of "${ACC[3]}") wei"

# bad inputs
run verifier join --ledger "local:$T/ledger.db" --key "$T/v2.key"
expect_rc 2 "verifier join on a local ledger"
chmod 0644 "$T/v2.key"
run verifier join --ledger "$L" --key "$T/v2.key"
expect_rc 6 "verifier join with a key readable by others"
chmod 0600 "$T/v2.key"
run verifier join --ledger "evm:http://127.0.0.1:1,$C" --key "$T/v2.key" --timeout 2000 --retries 1
expect_rc 3 "verifier join against no chain"
run verifier join --help
expect_rc 0 "verifier join --help"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "verifier join: all checks passed"
