#!/usr/bin/env bash
# The chain commands on a local ledger (`--ledger local:PATH`, docs/chain.md "The local
# ledger"): `gtee chain deploy` makes the file and refuses to make it twice, `gtee chain
# status` shows its policy; with an enclave registered in it (tests/chain/ledger_local_fixture.c,
# its simulated evidence verified by the ledger), `gtee proof verify --ledger` checks the
# enclave's standing and catches an equivocating proof, `gtee proof submit --ledger` sends
# proofs in all-or-nothing batches, skips what the ledger holds and refuses a gap with the
# contract's reason, `gtee rewards [claim] --ledger` shows and claims the units, `gtee nodes
# --ledger` lists the enclave with its URL and standing, `gtee chain govern` by the governor
# alone moves the minimum TCB (the enclave inactive below it) and the policy, `gtee chain
# usage` of an unused blob. Bad inputs:
# a missing ledger (3), a malformed spec and two ledgers at once (2).
set -euo pipefail
. "$(dirname "$0")/../cli_harness.sh"
FIXTURE="$GTEE_BINARY_DIR/tests/ledger_local_fixture"
L="local:$T/ledger.db"

# anvil's first two dev accounts (well-known test keys): the governor and an operator
(umask 077
 echo 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$T/governor.key"
 echo 0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d >"$T/operator.key")
OPERATOR=0x70997970C51812dc3A010C7d01b50e0d17dc79C8

run chain deploy --ledger "$L" --key "$T/governor.key" --chain-id 7 --epoch 3600 --reward-per-unit 2 \
    --allow-simulated --json
expect_rc 0 "a local ledger made"
[ "$rc" = 0 ] || exit 1
[ "$(json 'j["ledger"], j["chain_id"], j["governor"]')" = "('local', 7, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')" ] ||
    bad "deploy: $(cat "$T/out")"
C=$(json 'j["contract"]')
[ "$(stat -c %a "$T/ledger.db")" = 600 ] || bad "ledger mode $(stat -c %a "$T/ledger.db")"
run chain deploy --ledger "$L" --key "$T/governor.key"
expect_rc 3 "a local ledger made twice"
grep -q 'exists' "$T/err" || bad "twice: $(cat "$T/err")"

run chain status --ledger "$L" --json
expect_rc 0 "chain status of a local ledger"
[ "$(json 'j["ledger"], j["contract"], j["chain_id"], j["policy"]["epoch"], j["policy"]["reward_per_unit"], j["policy"]["allow_simulated"]')" = \
    "('local', '$C', 7, 3600, '2', True)" ] || bad "status: $(cat "$T/out")"

mkdir "$T/p"
run_cmd "$FIXTURE" "$T/ledger.db" "$T/governor.key" "$T/operator.key" "$T/p" 5
expect_rc 0 "an enclave registered, its evidence verified by the ledger"
E=$(cat "$T/out")
P=("$T/p/p1.json" "$T/p/p2.json" "$T/p/p3.json" "$T/p/p4.json" "$T/p/p5.json")

# the nodes a local ledger lists: the one active enclave, its URL and registration
run nodes --ledger "$L" --json
expect_rc 0 "gtee nodes on a local ledger"
[ "$(json 'len(j["nodes"]), j["ledger"], j["nodes"][0]["enclave_id"], j["nodes"][0]["status"], j["nodes"][0]["tee"], j["nodes"][0]["url"], j["nodes"][0]["tcb_status"], j["nodes"][0]["expires"] > 0, j["nodes"][0]["simulated"]')" = \
    "(1, 'local', '$E', 'active', 'sim', 'https://node.example:8443', 'ok', True, True)" ] || bad "nodes: $(cat "$T/out")"
run nodes --ledger "$L"
expect_rc 0 "gtee nodes on a local ledger, plain"
grep -q "^$E  active .*https://node.example:8443" "$T/out" || bad "plain nodes: $(cat "$T/out")"
grep -Eq "^$E  active +sim +\(SIMULATED: not secure\) " "$T/out" || bad "plain nodes does not label the simulated enclave: $(cat "$T/out")"

run proof verify "${P[@]}" --ledger "$L" --json
expect_rc 0 "proofs of a registered enclave, checked on the local ledger"
[ "$(json 'j["on_chain"][0]["enclave_id"], j["on_chain"][0]["status"], j["on_chain"][0]["active"], j["on_chain"][0]["last_seq"]')" = \
    "('$E', 'active', True, 0)" ] || bad "verify: $(cat "$T/out")"

run proof submit "${P[@]:0:3}" --ledger "$L" --key "$T/operator.key" --batch 2 --json
expect_rc 0 "proofs submitted to the local ledger"
[ "$(json 'j["submitted"], j["already_on_chain"], len(j["transactions"]), j["transactions"][0]["proofs"]')" = "(3, 0, 2, 2)" ] ||
    bad "submit: $(cat "$T/out")"
run proof submit "${P[@]}" --ledger "$L" --key "$T/operator.key" --json
expect_rc 0 "all five again: what the ledger holds is skipped"
[ "$(json 'j["submitted"], j["already_on_chain"]')" = "(2, 3)" ] || bad "resubmit: $(cat "$T/out")"
run proof verify "$T/p/equivocating.json" --ledger "$L"
expect_rc 7 "another proof with the ledger's last seq"
grep -q 'equivocation' "$T/err" || bad "equivocation: $(cat "$T/err")"
run proof submit "$T/p/gap.json" --ledger "$L" --key "$T/operator.key"
expect_rc 7 "a skipped sequence number"
grep -q 'proof: seq is not one past the enclave' "$T/err" || bad "gap: $(cat "$T/err")"

run rewards --ledger "$L" --operator "$OPERATOR" --json
expect_rc 0 "rewards on the local ledger"
[ "$(json 'j["units"], j["reward_per_unit"], j["reward_pool"]')" = "('20', '2', '0')" ] || bad "rewards: $(cat "$T/out")"
run rewards claim --ledger "$L" --key "$T/operator.key" --json
expect_rc 0 "a claim on the local ledger"
[ "$(json 'j["claimed_units"]')" = 20 ] || bad "claim: $(cat "$T/out")"
run rewards claim --ledger "$L" --key "$T/operator.key"
expect_rc 7 "a claim with nothing to claim"
grep -q 'rewards: nothing to claim' "$T/err" || bad "nothing to claim: $(cat "$T/err")"

# governance on the local ledger (gtee chain govern): by the governor only; a minimum TCB
# one above the enclave's (the fixture registered its evidence's own figure, the simulated
# collateral's tcbEvaluationDataNumber, and set the minimum to it) stops it being active,
# with nothing else
run nodes --ledger "$L" --json
TCB=$(json 'j["nodes"][0]["tcb"]')
[ "$TCB" -gt 0 ] || bad "the enclave registered TCB $TCB, not its evidence's figure: $(cat "$T/out")"
run chain govern --ledger "$L" --key "$T/operator.key" --min-tcb "sim:$((TCB + 1))"
expect_rc 7 "governance by the operator, not the governor"
grep -q 'the local ledger refused: governance: not the governor' "$T/err" || bad "a stranger's governance: $(cat "$T/err")"
run chain govern --ledger "$L" --key "$T/governor.key" --min-tcb "sim:$((TCB + 1))" --freshness 60 --json
expect_rc 0 "the governor raises the minimum TCB and sets the freshness window"
[ "$(json '[a["action"] for a in j["done"]], j["done"][0]["tee_type"], j["done"][0]["min_tcb"], j["done"][0]["tx"], j["complete"]')" = \
    "(['min-tcb', 'policy'], 'sim', $((TCB + 1)), None, True)" ] || bad "govern --json: $(cat "$T/out")"
run chain status --ledger "$L" --json
[ "$(json 'j["policy"]["freshness"], j["policy"]["epoch"], j["policy"]["reward_per_unit"]')" = "(60, 3600, '2')" ] ||
    bad "the policy after govern --freshness (the rest kept): $(cat "$T/out")"
run nodes --ledger "$L" --json
[ "$(json 'len(j["nodes"])')" = 0 ] || bad "an enclave below the minimum TCB is still listed active: $(cat "$T/out")"
run chain govern --ledger "$L" --key "$T/governor.key" --min-tcb "sim:0x$(printf '%x' "$TCB")"
expect_rc 0 "the minimum TCB lowered again (in hex)"
run nodes --ledger "$L" --json
[ "$(json 'len(j["nodes"])')" = 1 ] || bad "the enclave is not active again: $(cat "$T/out")"
run chain govern --ledger "$L" --key "$T/governor.key" --revoke-measurement "$(printf '%064x' 9)" --quorum 0
expect_rc 2 "a quorum of 0"
run chain govern --ledger "$L" --key "$T/governor.key"
expect_rc 2 "govern with no action"
run chain govern --ledger "$L" --accept-measurement "$(printf '%064x' 9)"
expect_rc 2 "govern without --key"
run chain govern --ledger "$L" --key "$T/governor.key" --min-tcb gpu:3
expect_rc 2 "a minimum TCB of an unknown TEE type"
run chain usage "$(printf '%064x' 9)" --ledger "$L" --json
expect_rc 0 "chain usage of a blob never released"
[ "$(json 'j["uses"], j["receipts"]')" = "(0, [])" ] || bad "usage of an unused blob: $(cat "$T/out")"
run chain usage 1234 --ledger "$L"
expect_rc 2 "chain usage of a malformed content id"

# bad inputs
run chain status --ledger "local:$T/none.db"
expect_rc 3 "a local ledger that does not exist"
[ ! -e "$T/none.db" ] || bad "reading a missing ledger made it"
run chain deploy --ledger "local:$T/zero.db" --key "$T/governor.key" --chain-id 0
expect_rc 2 "a local ledger with chain id 0"
[ ! -e "$T/zero.db" ] || bad "a refused deploy left a file"
run chain status --ledger "ftp:$T/ledger.db"
expect_rc 2 "a ledger spec of no known kind"
run chain status --ledger "$L" --rpc http://127.0.0.1:1
expect_rc 2 "two ledgers at once"
run proof submit "${P[0]}" --ledger "$L"
expect_rc 2 "submit without --key"

[ "$fail" = 0 ] || exit 1
echo "chain/ledger-local-cli: all checks passed"
