#!/usr/bin/env bash
# A node's Work Proofs wait for a full batch (docs/node.md, "Ledger": proof_batch,
# proof_batch_wait): with proof_batch = 3 and proof_batch_wait = 6 on its local ledger, two
# jobs' proofs stay pending; the third job's completes the batch and the three go out in one
# submission; a fourth proof alone goes out once it has waited its 6 seconds, not before.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/node_harness.sh"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
sed -i -e 's/^proof_batch = .*/proof_batch = 3/' -e 's/^proof_batch_wait = .*/proof_batch_wait = 6/' "$D/node.conf"
grep -q '^proof_batch_wait = 6$' "$D/node.conf" || { bad "node.conf has no proof_batch_wait: $(grep proof "$D/node.conf")"; exit 1; }
node_up "$D"
# proofs pending and submitted, as the node's status gives them
counts() { curl -s "${U}api/v1/status" | python3 -c 'import json,sys; p=json.load(sys.stdin)["ledger"]["proofs"]; print(p["pending"], p["submitted"])'; }
for _ in $(seq 600); do
    curl -s "${U}api/v1/status" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["ledger"]["enclave"]["active"] else 1)' && break
    sleep 0.2
done

"$GTEE_CLI" keygen "$T/k.key" >/dev/null
"$GTEE_CLI" identity new "$T/user.id" >/dev/null
MODELS=$GTEE_SOURCE_DIR/tests/ml/models
MODEL=$("$GTEE_CLI" push "$MODELS/mlp.onnx" --node "$U" --key "$T/k.key" --no-progress)
INPUT=$("$GTEE_CLI" push "$MODELS/mlp.input.npy" --node "$U" --key "$T/k.key" --no-progress)
for c in "$MODEL" "$INPUT"; do
    run grant "$c" --node "$U" --key "$T/k.key" --identity "$T/user.id" --kinds infer "${ATTEST[@]}"
    expect_rc 0 "the grant of $c"
done
job() {
    run infer --node "$U" --identity "$T/user.id" --model "$MODEL" --input "$INPUT" --out "$T/p$1.npy" "${ATTEST[@]}"
    expect_rc 0 "job $1"
}

job 1
job 2
sleep 1
[ "$(counts)" = "2 0" ] || bad "two proofs of a batch of 3 did not wait: pending, submitted $(counts)"
job 3
for _ in $(seq 100); do [ "$(counts)" = "0 3" ] && break; sleep 0.1; done
[ "$(counts)" = "0 3" ] || bad "a full batch did not go out: pending, submitted $(counts)"
# the node's event log (its state store) says how they went: seq 1 to 3 in one submission
events() { /usr/bin/python3 -c 'import sqlite3, sys; print("\n".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute(
    "SELECT text FROM events WHERE text LIKE ? ORDER BY seq", ("ledger: %proof%submitted%",))))' "$D/state.db"; }
[ "$(events)" = "ledger: 3 proofs submitted (seq 1 to 3), 0 already held by the ledger" ] ||
    bad "seq 1 to 3 did not go out in one submission: $(events)"
job 4
t4=$SECONDS
sleep 3
[ "$(counts)" = "1 3" ] || bad "a lone proof went out before its wait: pending, submitted $(counts)"
for _ in $(seq 200); do [ "$(counts)" = "0 4" ] && break; sleep 0.1; done
[ "$(counts)" = "0 4" ] || bad "a lone proof did not go out after its wait: pending, submitted $(counts)"
[ $((SECONDS - t4)) -ge 5 ] || bad "the lone proof went out after $((SECONDS - t4)) s, before its 6 s"
events | tail -1 | grep -q "^ledger: 1 proof submitted (seq 4 to 4)" || bad "seq 4 went out otherwise: $(events)"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "batch wait: all checks passed"
