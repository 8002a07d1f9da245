#!/usr/bin/env bash
# Work Proofs of a node on the simulated TEE and its local ledger (docs/node.md, "Ledger";
# docs/proofs.md, "The node's proofs"): the node registers its enclave on the ledger `gtee
# node init` made; each job's proof, signed in the enclave, is kept and submitted; `gtee
# proof verify --ledger` accepts them, their hash chain holds and the operator's reward units
# grow. After a restart the next proof continues the sequence. A host that restores an old
# sealed proof counter is caught: the enclave refuses to sign, the job still gives its result,
# and the node reports the refusal (status, metrics, its error log), submitting nothing. A
# proof made while the ledger is away waits in the store, survives a SIGKILL of the node and
# is credited once when the ledger is back.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/node_harness.sh"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
[ -s "$D/ledger.db" ] || bad "node init made no local ledger"
grep -q '^ledger = local$' "$D/node.conf" || bad "node.conf does not name the local ledger"
node_up "$D"
L=local:$D/ledger.db

# py EXPR over the JSON of GET PATH (as j).
get() { curl -s "${U}$1" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"; }
# wait_until EXPR WHAT: EXPR over the status is True, within a bound.
wait_until() {
    local end=$((SECONDS + 120))
    while [ "$SECONDS" -lt "$end" ]; do
        [ "$(get api/v1/status "$1" 2>/dev/null || true)" = True ] && return 0
        sleep 0.2
    done
    bad "$2: $(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ledger"])') $(tail -5 "$T/run.log")"
    exit 1
}
wait_until 'j["ledger"]["enclave"]["status"] == "active" and j["ledger"]["enclave"]["active"]' \
    "the node did not register its enclave on its local ledger"
OP=$(get api/v1/status 'j["node"]["operator"]')
units() { "$GTEE_CLI" rewards --ledger "$L" --operator "$OP" --json | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["units"]))'; }
[ "$(units)" = 0 ] || bad "the operator has rewards before any job"

"$GTEE_CLI" keygen "$T/model.key" >/dev/null
"$GTEE_CLI" keygen "$T/data.key" >/dev/null
"$GTEE_CLI" identity new "$T/user.id" >/dev/null
MODELS=$GTEE_SOURCE_DIR/tests/ml/models
node_xy "$T" 32
MODEL=$("$GTEE_CLI" push "$MODELS/mlp.onnx" --node "$U" --key "$T/model.key" --no-progress)
INPUT=$("$GTEE_CLI" push "$MODELS/mlp.input.npy" --node "$U" --key "$T/data.key" --no-progress)
X=$("$GTEE_CLI" push "$T/x.npy" --node "$U" --key "$T/data.key" --no-progress)
Y=$("$GTEE_CLI" push "$T/y.npy" --node "$U" --key "$T/data.key" --no-progress)
"$GTEE_CLI" identity new "$T/owner.id" >/dev/null
# (grants are sealed and restored into the enclave at each start: given once)
grant_all() {
    run grant "$MODEL" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --to \
        "$("$GTEE_CLI" identity show "$T/user.id" | sed 's/^public key //')" --kinds infer,train "${ATTEST[@]}"
    expect_rc 0 "the model's grant"
    MODEL_GRANT=$(sed -n 's/^grant id //p' "$T/out")
    [ "${#MODEL_GRANT}" -eq 64 ] || bad "gtee grant printed no grant id: $(cat "$T/out")"
    for c in "$INPUT" "$X" "$Y"; do
        run grant "$c" --node "$U" --key "$T/data.key" --identity "$T/user.id" --kinds infer,train "${ATTEST[@]}"
        expect_rc 0 "the grant of $c"
    done
}
N=0
infer() {
    N=$((N + 1))
    run infer --node "$U" --identity "$T/user.id" --model "$MODEL" --input "$INPUT" --out "$T/pred$N.npy" "${ATTEST[@]}"
    expect_rc 0 "infer $N"
}
# The proofs the node lists, as a proof file; $1: how many there must be.
proofs_file() {
    curl -s "${U}api/v1/proofs" | python3 -c '
import json, sys
ps = json.load(sys.stdin)["proofs"]
assert len(ps) == int(sys.argv[2]), "%d proofs, expected %s" % (len(ps), sys.argv[2])
assert [p["seq"] for p in ps] == list(range(1, len(ps) + 1)), [p["seq"] for p in ps]
json.dump([p["proof"] for p in ps], open(sys.argv[1], "w"))' "$T/proofs.json" "$1" || bad "the node's proofs: not 1 to $1"
}

grant_all
infer
infer
run train --node "$U" --identity "$T/user.id" --model "$MODEL" --data "$X" --labels "$Y" --epochs 1 --batch 16 \
    --out "$T/trained.onnx" --json "${ATTEST[@]}"
expect_rc 0 "train"
cp "$T/out" "$T/train.json" # the training receipt's hash, as the requester computed it
wait_until 'j["ledger"]["proofs"]["submitted"] == 3 and j["ledger"]["proofs"]["pending"] == 0 and j["ledger"]["enclave"]["last_seq"] == 3' \
    "the three proofs did not reach the ledger"
proofs_file 3
run proof verify "$T/proofs.json" --ledger "$L"
expect_rc 0 "proof verify --ledger of the node's three proofs"
# Each grant was a key released to the enclave: its receipt, signed in the enclave, is on the
# ledger, and the model's provider counts one use of its model, naming the enclave and grant.
wait_until 'j["ledger"]["key_releases"]["recorded"] == 4 and j["ledger"]["key_releases"]["pending"] == 0' \
    "the four grants' key-release receipts did not reach the ledger"
ENCLAVE=$(get api/v1/status 'j["ledger"]["enclave"]["id"]')
usage_is() { # USES WHAT: gtee chain usage of the model shows USES uses, the first of this grant
    run chain usage "$MODEL" --ledger "$L" --json
    expect_rc 0 "chain usage ($2)"
    [ "$(json 'j["uses"] == len(j["receipts"]) == '"$1"' and j["receipts"][0]["enclave"] == "'"$ENCLAVE"'" and j["receipts"][0]["grant_id"] == "'"$MODEL_GRANT"'" and j["receipts"][0]["block"] >= 1')" = True ] ||
        bad "chain usage of the model ($2): not $1 use(s) by enclave $ENCLAVE under grant $MODEL_GRANT: $(cat "$T/out")"
}
usage_is 1 "after its grant"
run chain usage "$X" --ledger "$L"
expect_rc 0 "chain usage, plain"
grep -q '^uses       1$' "$T/out" && grep -q "^enclave $ENCLAVE  grant " "$T/out" ||
    bad "chain usage (plain) of the features does not show their one use: $(cat "$T/out")"
python3 - "$T/proofs.json" <<'PY' || bad "the proofs do not name their jobs as expected"
import json, sys
ps = json.load(open(sys.argv[1]))
assert [p["job_kind"] for p in ps] == ["inference", "inference", "training"], [p["job_kind"] for p in ps]
assert ps[0]["prev_hash"] == "0x" + "00" * 32
assert ps[2]["receipt_hash"] != "0x" + "00" * 32 and ps[0]["receipt_hash"] == "0x" + "00" * 32
assert all(p["units"] > 0 for p in ps)
assert len({p["job_id"] for p in ps}) == 3
PY
# Each field is the exact value, computed here apart from the node: the units are the
# multiply-accumulates of docs/ml.md ("Units of work") counted from the model's shapes with
# onnx's shape inference (inference: the input's batch; training: three forward passes for
# each of the 32 samples of its one epoch), the receipt hash the one the requester got, the
# evidence hash the one the ledger registered, and the commitments the SHA-256 of the blobs'
# bytes as the node serves them (their content ids, docs/container.md).
for c in "$MODEL" "$INPUT" "$X"; do
    curl -sf "${U}api/v1/blobs/$c" -o "$T/blob-$c" || bad "the node does not serve blob $c"
done
for i in 0 1; do
    o=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[int(sys.argv[2])]["output_cid"][2:])' "$T/proofs.json" $i)
    curl -sf "${U}api/v1/blobs/$o" -o "$T/result-$i" || bad "the node does not serve the result $o of proof $((i + 1))"
done
EVH=$(python3 -c 'import sqlite3,sys; print("0x" + sqlite3.connect(sys.argv[1]).execute("SELECT lower(hex(evidence_hash)) FROM enclaves").fetchone()[0])' "$D/ledger.db")
/usr/bin/python3 "$GTEE_SOURCE_DIR/tests/node/proof_fields.py" "$T/proofs.json" "$MODELS/mlp.onnx" \
    "$MODELS/mlp.input.npy" 32 "$T/blob-$MODEL" "$T/blob-$INPUT" "$T/blob-$X" "$T/result-0" "$T/result-1" \
    "$T/train.json" "$EVH" || bad "the proofs' fields are not the exact values"
U1=$(units)
[ "$U1" -gt 0 ] || bad "the operator's reward units did not grow: $U1"
curl -s "${U}metrics" | grep -q '^gtee_node_proofs_submitted_total 3$' || bad "metrics do not count 3 proofs submitted"
run node status "$D"
expect_rc 0 "node status"
grep -q '^proofs: *0 pending, 3 submitted, 0 refused$' "$T/out" || bad "node status does not show the proofs: $(cat "$T/out")"
# The counter the enclave sealed after proof 3: what a host restoring old state hands back.
python3 - "$D/state.db" "$T/old-counter" <<'PY'
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute("select seq, blob from proof_counter").fetchone()
assert row[0] == 3, row
open(sys.argv[2], "wb").write(row[1])
PY

# ---- a restart: the next proof continues the sequence ----
kill -TERM "$NODE_PID"
bg_wait "$NODE_PID" || bad "the node did not stop cleanly"
node_up "$D"
infer
wait_until 'j["ledger"]["proofs"]["submitted"] == 4 and j["ledger"]["enclave"]["last_seq"] == 4' \
    "the proof after the restart did not reach the ledger"
proofs_file 4
run proof verify "$T/proofs.json" --ledger "$L"
expect_rc 0 "proof verify --ledger of the four proofs across the restart"
# the grants restored from their sealed copies are no new key release
usage_is 1 "after a restart restored its grant"
U2=$(units)
[ "$U2" -gt "$U1" ] || bad "the operator's reward units did not grow after the restart: $U1 then $U2"

# ---- the ledger away, then the node killed: the proof waits, durably, and goes once ----
cat >"$T/locker.py" <<'PY'
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").write("1")
end = time.time() + 120
while not os.path.exists(sys.argv[3]) and time.time() < end:
    time.sleep(0.1)
db.execute("ROLLBACK")
PY
bg_start python3 "$T/locker.py" "$D/ledger.db" "$T/locked" "$T/unlock"
LOCKER=$BG_PID
wait_for "$T/locked" || bad "the ledger could not be locked"
infer
run grant "$MODEL" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --to \
    "$("$GTEE_CLI" identity show "$T/user.id" | sed 's/^public key //')" --kinds infer,train "${ATTEST[@]}"
expect_rc 0 "a second grant of the model while the ledger is away"
wait_until 'j["ledger"]["proofs"]["pending"] == 1 and j["ledger"]["key_releases"]["pending"] == 1 and j["ledger"]["last_error"] != ""' \
    "the proof and the key-release receipt made while the ledger is away are not kept pending with the ledger's error"
kill -KILL "$NODE_PID"
bg_wait "$NODE_PID" || true
touch "$T/unlock"
bg_wait "$LOCKER" || bad "the ledger's lock did not end cleanly"
node_up "$D"
wait_until 'j["ledger"]["proofs"]["pending"] == 0 and j["ledger"]["proofs"]["submitted"] == 5 and j["ledger"]["enclave"]["last_seq"] == 5' \
    "the proof kept across the kill did not reach the ledger"
proofs_file 5
run proof verify "$T/proofs.json" --ledger "$L"
expect_rc 0 "proof verify --ledger of the five proofs across the kill"
U3=$(units)
U5=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[4]["units"])' "$T/proofs.json")
[ "$U3" = $((U2 + U5)) ] || bad "the proof kept across the kill was not credited once: $U2 + $U5, now $U3"
wait_until 'j["ledger"]["key_releases"]["pending"] == 0 and j["ledger"]["key_releases"]["recorded"] == 5' \
    "the key-release receipt kept across the kill was not recorded"
run chain usage "$MODEL" --ledger "$L" --json
[ "$(json 'j["uses"] == len(j["receipts"]) == 2')" = True ] || bad "the second grant of the model is not counted once: $(cat "$T/out")"
U2=$U3

# ---- the host restores the old sealed counter (seq 3) while the ledger holds 5 ----
node_set_counter "$D" 3 "$T/old-counter"
node_up "$D"
wait_until 'not j["ledger"]["proofs"]["signing"] and "restored old sealed state" in j["ledger"]["proofs"]["refusal"]' \
    "the enclave did not refuse the old sealed counter"
infer
[ -s "$T/pred$N.npy" ] || bad "the job gave no result while its proof was refused"
wait_until 'j["ledger"]["proofs"]["refused"] == 1' "the node does not report the refused proof"
curl -s "${U}metrics" | grep -q '^gtee_node_proofs_refused_total 1$' || bad "metrics do not count the refused proof"
curl -s "${U}metrics" | grep -q '^gtee_node_proofs_signing 0$' || bad "metrics do not say the enclave signs no proofs"
grep -q "NO WORK PROOF" "$T/run.log" || bad "the log does not say the job has no proof"
run node status "$D"
grep -q "THE ENCLAVE SIGNS NO PROOFS" "$T/out" || bad "node status does not say the enclave signs no proofs: $(cat "$T/out")"
proofs_file 5
[ "$(get api/v1/status 'j["ledger"]["enclave"]["last_seq"]')" = 5 ] || bad "the ledger moved past proof 5"
[ "$(units)" = "$U2" ] || bad "the operator earned for a job without a proof"
if [ "$fail" -ne 0 ]; then
    echo "proofs: $fail failure(s)"
    exit 1
fi
echo "proofs: ok"
