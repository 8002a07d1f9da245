#!/usr/bin/env bash
# A running node against the Glacier contract on a real anvil (docs/node.md, "Ledger"; the
# pinned npm anvil on a loopback port, tests/chain/anvil_harness.sh), with one verifier
# (`gtee verifier run`) approving its rounds:
# - batches: jobs run while the registration waits for the verifier, so their proofs wait in
#   the node's store; once approved they go out together: one transaction carries several
#   (ProofAccepted events per transaction hash), and each seq lands exactly once;
# - `gtee proof verify --ledger evm:...` accepts the node's proofs and `gtee chain usage
#   --ledger evm:...` counts its grants' key releases;
# - renewal: with a 10 s epoch the node renews every half epoch with fresh evidence (a new
#   round, a later evidence time, on the contract's own record) and stays active for several
#   epochs; stopped, it renews no more and its registration runs out;
# - sealed state rolled back by the host: an old proof counter restored into the node's store
#   is refused by the enclave against the chain's last proof; the job still runs, no proof;
# - the chain down: anvil stops (its state dumped) while jobs run, the node serves them and
#   keeps their proofs pending with the error; anvil starts again on the same port (its state
#   loaded), and every proof lands exactly once: the seqs on chain are 1..N each once, and the
#   operator's reward units are the sum of the proofs' units, nothing counted twice.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/node_harness.sh"
. "$(dirname "$0")/../chain/anvil_harness.sh"
FIX="$GTEE_SOURCE_DIR/tests/chain/verifier_fixture.js"
anvil_start "$T/anvil.log" 0 --state "$T/state.json"
RPC="http://127.0.0.1:$port"
APORT=$port
anvil_accounts "$T/anvil.log" 3
anvil_keyfile 0 "$T/governor.key"
anvil_keyfile 2 "$T/verifier.key"
EPOCH=10
run chain deploy --rpc "$RPC" --key "$T/governor.key" --artefacts "$T/glacier.json" --quorum 1 --epoch "$EPOCH" \
    --freshness 3600 --allow-simulated --reward-per-unit 1 --json
expect_rc 0 "chain deploy"
[ "$rc" = 0 ] || exit 1
C=$(json 'j["contract"]')
L="evm:$RPC,$C"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
(umask 077; echo "gtee-operator-key-v1:${KEY[1]#0x}" >"$D/operator.key")
sed -i "s|^ledger = .*|ledger = $L|" "$D/node.conf"
# the enclave's measurement, from the contract's refusal of it; the governor accepts it
run node register --enclave "$GTEE_ENCLAVE" --url http://127.0.0.1:1/ "$D"
expect_rc 7 "register before governance accepts the measurement"
M=$(sed -n 's/.*measurement \([0-9a-f]\{64\}\).*/\1/p' "$T/err" | head -1)
[ -n "$M" ] || { bad "the enclave's measurement is not in the refusal: $(cat "$T/err")"; exit 1; }
run chain govern --ledger "$L" --key "$T/governor.key" --accept-measurement "$M"
expect_rc 0 "the governor accepts the measurement"

get() { curl -s "${U}$1" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"; }
wait_until() { # EXPR over the node's status (j) WHAT [SECONDS]
    local end=$((SECONDS + ${3:-120}))
    while [ "$SECONDS" -lt "$end" ]; do
        [ "$(get api/v1/status "$1" 2>/dev/null || true)" = True ] && return 0
        sleep 0.3
    done
    bad "$2: $(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ledger"])') $(tail -5 "$T/run.log")"
    exit 1
}
enclave() { node "$FIX" "$RPC" "$T/glacier.json" "$C" enclave "$ENCLAVE"; }
onchain() { node "$FIX" "$RPC" "$T/glacier.json" "$C" proofs "$ENCLAVE" >"$T/onchain.json"; }
units() { "$GTEE_CLI" rewards --ledger "$L" --operator "$OP" --json | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["units"]))'; }
verifier_up() {
    bg_start "$GTEE_CLI" verifier run --ledger "$L" --key "$T/verifier.key" --interval 1 --fetch-timeout 30 \
        --fetch-tries 60 "${ATTEST[@]}" >>"$T/v.out" 2>>"$T/v.err"
    V=$BG_PID
}
# The node's proofs as a proof file: N of them, seq 1..N.
proofs_file() {
    curl -s "${U}api/v1/proofs" | python3 -c '
import json, sys
ps = json.load(sys.stdin)["proofs"]
assert [p["seq"] for p in ps] == list(range(1, int(sys.argv[2]) + 1)), [p["seq"] for p in ps]
json.dump([p["proof"] for p in ps], open(sys.argv[1], "w"))' "$T/proofs.json" "$1" || bad "the node's proofs: not 1 to $1"
}
# Every proof of the node is on chain exactly once: seqs 1..N, each once, with the node's units.
landed_once() { # N WHAT
    onchain
    python3 - "$T/onchain.json" "$T/proofs.json" "$1" <<'PY' || bad "$2: the chain's proofs are not the node's 1..$1, each once: $(cat "$T/onchain.json")"
import json, sys
chain, mine, n = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
assert sorted(p["seq"] for p in chain) == list(range(1, n + 1)), [p["seq"] for p in chain]
assert [p["units"] for p in sorted(chain, key=lambda p: p["seq"])] == [p["units"] for p in mine[:n]]
PY
}

# ---- the node registers (pending); jobs' proofs wait for the approval, then go in one batch ----
node_up "$D"
wait_until 'j["ledger"]["enclave"]["status"] == "pending"' "the node did not register its enclave (pending)"
ENCLAVE=$(get api/v1/status 'j["ledger"]["enclave"]["id"]')
OP=$(get api/v1/status 'j["node"]["operator"]')
"$GTEE_CLI" keygen "$T/model.key" >/dev/null
"$GTEE_CLI" keygen "$T/data.key" >/dev/null
"$GTEE_CLI" identity new "$T/user.id" >/dev/null
MODELS=$GTEE_SOURCE_DIR/tests/ml/models
MODEL=$("$GTEE_CLI" push "$MODELS/mlp.onnx" --node "$U" --key "$T/model.key" --no-progress)
INPUT=$("$GTEE_CLI" push "$MODELS/mlp.input.npy" --node "$U" --key "$T/data.key" --no-progress)
"$GTEE_CLI" identity new "$T/owner.id" >/dev/null
run grant "$MODEL" --node "$U" --key "$T/model.key" --identity "$T/owner.id" \
    --to "$("$GTEE_CLI" identity show "$T/user.id" | sed 's/^public key //')" --kinds infer "${ATTEST[@]}"
expect_rc 0 "the model's grant"
run grant "$INPUT" --node "$U" --key "$T/data.key" --identity "$T/user.id" --kinds infer "${ATTEST[@]}"
expect_rc 0 "the input's grant"
N=0
infer() {
    N=$((N + 1))
    run infer --node "$U" --identity "$T/user.id" --model "$MODEL" --input "$INPUT" --out "$T/pred$N.npy" "${ATTEST[@]}"
    expect_rc 0 "infer $N"
}
infer
infer
infer
wait_until 'j["ledger"]["proofs"]["pending"] == 3 and "enclave not active" in j["ledger"]["last_error"]' \
    "the proofs of a pending enclave are not kept, refused as not active"
verifier_up
wait_until 'j["ledger"]["enclave"]["active"] and j["ledger"]["proofs"]["pending"] == 0 and j["ledger"]["proofs"]["submitted"] == 3' \
    "the waiting proofs did not land once the verifier approved the enclave"
proofs_file 3
landed_once 3 "the batch"
# the counter the enclave sealed after proof 3: what a host restoring a backup hands back later
python3 - "$D/state.db" "$T/counter-3" <<'PY'
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute("select seq, blob from proof_counter").fetchone()
assert row[0] == 3, row
open(sys.argv[2], "wb").write(row[1])
PY
python3 -c '
import collections, json, sys
per_tx = collections.Counter(p["tx"] for p in json.load(open(sys.argv[1])))
assert max(per_tx.values()) >= 2, per_tx' "$T/onchain.json" || bad "no transaction carried more than one proof: $(cat "$T/onchain.json")"
[ "$(units)" = "$(python3 -c 'import json,sys; print(sum(p["units"] for p in json.load(open(sys.argv[1]))))' "$T/proofs.json")" ] ||
    bad "the operator's units are not the three proofs' units once: $(units)"
run proof verify "$T/proofs.json" --ledger "$L" --json
expect_rc 0 "proof verify --ledger evm: of the node's proofs"
[ "$(json 'j["verified"], j["count"]')" = "(True, 3)" ] || bad "proof verify --ledger evm: $(cat "$T/out")"
# the two grants were keys released to the enclave: recorded on chain once it is active
wait_until 'j["ledger"]["key_releases"]["recorded"] == 2 and j["ledger"]["key_releases"]["pending"] == 0' \
    "the grants' key-release receipts did not reach the chain"
run chain usage "$MODEL" --ledger "$L" --json
expect_rc 0 "chain usage --ledger evm:"
[ "$(json 'j["uses"] == len(j["receipts"]) == 1 and j["receipts"][0]["enclave"].lower() == "'"${ENCLAVE,,}"'" and j["receipts"][0]["block"] >= 1')" = True ] ||
    bad "chain usage of the model on anvil: $(cat "$T/out")"

# ---- renewal: every half epoch, fresh evidence, active for several epochs ----
rec() { enclave | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["round"], e["evidenceTime"], e["active"])'; }
read -r r0 t0 _ <<<"$(rec)"
rounds=("$r0")
times=("$t0")
end=$((SECONDS + 3 * EPOCH))
while [ "$SECONDS" -lt "$end" ]; do
    read -r r t a <<<"$(rec)"
    [ "$a" = True ] || bad "the enclave is not active on chain at $(date +%s) (round $r)"
    if [ "$r" != "${rounds[-1]}" ]; then
        rounds+=("$r")
        times+=("$t")
    fi
    sleep 0.5
done
[ "${#rounds[@]}" -ge 4 ] || bad "over 3 epochs of $EPOCH s the node renewed $((${#rounds[@]} - 1)) times (rounds ${rounds[*]})"
for i in $(seq 1 $((${#rounds[@]} - 1))); do
    [ "${rounds[$i]}" -gt "${rounds[$((i - 1))]}" ] || bad "the rounds do not advance: ${rounds[*]}"
    [ "${times[$i]}" -gt "${times[$((i - 1))]}" ] || bad "a renewal without fresh evidence: evidence times ${times[*]}"
done
# stopped, the node renews no more: the round stays and the registration runs out
kill -TERM "$NODE_PID"
bg_wait "$NODE_PID" || bad "the node did not stop cleanly"
read -r r1 _ _ <<<"$(rec)"
sleep $((EPOCH + 2))
# (anvil mines only on transactions: a block now, so the contract reads the time as a live chain would)
curl -s -X POST -H 'content-type: application/json' --data '{"jsonrpc":"2.0","id":1,"method":"evm_mine","params":[]}' \
    "$RPC" | grep -q '"result"' || bad "evm_mine"
read -r r2 _ a2 <<<"$(rec)"
[ "$r2" = "$r1" ] || bad "something renewed the stopped node: round $r1, then $r2"
[ "$a2" = False ] || bad "the stopped node's registration did not run out"

# ---- a long epoch from now on; the node, started again, renews and is approved ----
run chain govern --ledger "$L" --key "$T/governor.key" --epoch 3600
expect_rc 0 "the governor lengthens the epoch"
node_up "$D"
wait_until 'j["ledger"]["enclave"]["active"] and j["ledger"]["proofs"]["signing"]' "the restarted node is not active again"
infer
wait_until 'j["ledger"]["proofs"]["submitted"] == 4 and j["ledger"]["enclave"]["last_seq"] == 4' "proof 4 did not land"

# ---- the host restores the sealed counter of proof 3 while the chain holds 4 ----
python3 - "$D/state.db" "$T/counter-4" <<'PY'
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute("select seq, blob from proof_counter").fetchone()
assert row[0] == 4, row
open(sys.argv[2], "wb").write(row[1])
PY
node_set_counter "$D" 3 "$T/counter-3"
node_up "$D"
wait_until 'not j["ledger"]["proofs"]["signing"] and "restored old sealed state" in j["ledger"]["proofs"]["refusal"]' \
    "the enclave did not refuse the old sealed counter against the chain"
infer
[ -s "$T/pred$N.npy" ] || bad "the job gave no result while its proof was refused"
wait_until 'j["ledger"]["proofs"]["refused"] == 1' "the node does not report the refused proof"
[ "$(enclave | python3 -c 'import json,sys; print(json.load(sys.stdin)["lastSeq"])')" = 4 ] || bad "the chain moved past proof 4"
# the host puts the current counter back: the enclave signs again
node_set_counter "$D" 4 "$T/counter-4"
node_up "$D"
wait_until 'j["ledger"]["proofs"]["signing"] and j["ledger"]["enclave"]["active"]' "the current counter is not accepted again"

# ---- the chain down while jobs run; back with its state: every proof lands once ----
bg_stop "$V"
bg_stop "$ANVIL_PID"
infer
infer
[ -s "$T/pred$N.npy" ] || bad "the node did not serve a job while the chain was down"
wait_until 'j["ledger"]["proofs"]["pending"] == 2 and j["ledger"]["last_error"] != ""' \
    "the proofs made while the chain is down are not kept pending with the error"
anvil_start "$T/anvil2.log" "$APORT" --state "$T/state.json"
wait_until 'j["ledger"]["proofs"]["pending"] == 0 and j["ledger"]["proofs"]["submitted"] == 6 and j["ledger"]["enclave"]["last_seq"] == 6' \
    "the proofs kept while the chain was down did not land" 180
proofs_file 6
landed_once 6 "after the chain came back"
[ "$(units)" = "$(python3 -c 'import json,sys; print(sum(p["units"] for p in json.load(open(sys.argv[1]))))' "$T/proofs.json")" ] ||
    bad "the operator's units are not the six proofs' units, each once: $(units)"
run proof verify "$T/proofs.json" --ledger "$L"
expect_rc 0 "proof verify --ledger evm: of the six proofs"

if [ "$fail" -ne 0 ]; then
    echo "node on anvil: $fail failure(s)"
    exit 1
fi
echo "node on anvil: ok"
