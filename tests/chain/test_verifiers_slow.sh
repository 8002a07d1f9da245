#!/usr/bin/env bash
# Many machines on one chain (docs/chain.md "Verifiers", docs/jobs.md "Picking a node from a
# ledger"), on loopback against one anvil: `gtee chain deploy` with a quorum of 2; three
# nodes (simulated TEE sharing one simulated device root, ledger evm) and a fourth whose
# device root the verifiers do not trust; two `gtee verifier run`s (state files, plain and
# --json lines). The nodes register, the verifiers approve the three and reject the fourth
# (naming the verdict's code), `gtee nodes` lists three active; `gtee infer --ledger` runs a
# job and says where; with that node killed it fails over to another; the proofs land and
# the operators' reward units grow, and the verifiers find them equal to the chain's. A test
# enclave (an anvil account) whose node publishes a second proof with the seq of the one on
# chain is reported by a verifier and its operator slashed. Governance is `gtee chain govern`:
# a stranger's call is refused with the contract's reason; the governor accepts the
# measurement; the nodes declare the TCB their evidence shows (the simulated collateral's
# tcbEvaluationDataNumber): with the minimum at that figure they stay active, and raising it
# one above stops them earning with no other action (their status drops, `gtee nodes` lists
# none, a proof is refused) until it is lowered. A fifth node whose own collateral claims a
# higher TCB than the verifiers' declares it, and the verifiers reject it
# (registration_tcb_mismatch); a renewal voted on after the minimum rose above it is rejected
# too (registration_tcb_below_minimum).
# `gtee train --ledger` trains on a picked node. SIGTERM stops a verifier cleanly; run again
# from its state file it votes on nothing twice; `--from-block` places a new cursor.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/anvil_harness.sh"
. "$(dirname "$0")/../node/node_harness.sh" # node_xy (its node_up is replaced below)
FIX="$GTEE_SOURCE_DIR/tests/chain/verifier_fixture.js"
anvil_start "$T/anvil.log" 0 --accounts 14
RPC="http://127.0.0.1:$port"
# anvil's dev accounts and their keys, as it prints them
anvil_accounts "$T/anvil.log" 14
keyfile() { anvil_keyfile "$@"; }
keyfile 0 "$T/governor.key"
keyfile 5 "$T/v1.key"
keyfile 6 "$T/v2.key"

run chain deploy --rpc "$RPC" --key "$T/governor.key" --artefacts "$T/glacier.json" --quorum 2 --allow-simulated \
    --verifier-stake 1000000000000000000 --reward-per-unit 1 --json
expect_rc 0 "chain deploy"
[ "$rc" = 0 ] || exit 1
C=$(json 'j["contract"]')
L="evm:$RPC,$C"

# ---- four nodes: A, B and C share one simulated device (its root the verifiers trust) ----
node_dir() { # NAME ACCOUNT
    local d=$T/$1
    "$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$d" >/dev/null 2>&1 || { bad "node init $1"; exit 1; }
    (umask 077; echo "gtee-operator-key-v1:${KEY[$2]#0x}" >"$d/operator.key")
    sed -i "s|^ledger = .*|ledger = $L|" "$d/node.conf"
}
node_dir a 1
node_dir b 2
node_dir c 3
node_dir d 4
node_dir e 12
# (the same simulated PKI; each its own device secret, so its own sealing keys and Enclave ID)
for n in b c e; do
    rm -rf "$T/$n/sim" && cp -a "$T/a/sim" "$T/$n/sim"
    head -c 32 /dev/urandom >"$T/$n/sim/device_secret"
done
SIM=$T/a/sim
# the TCB figure the nodes' evidence shows: the simulated collateral's tcbEvaluationDataNumber
# (the lower of the TCB info's and the QE identity's), read from its files
TCB=$(python3 - "$SIM/sgx" <<'PY'
import json, sys
t = json.load(open(sys.argv[1] + "/tcb_info.json"))["tcbInfo"]["tcbEvaluationDataNumber"]
q = json.load(open(sys.argv[1] + "/qe_identity.json"))["enclaveIdentity"]["tcbEvaluationDataNumber"]
print(min(t, q))
PY
)
[ "$TCB" -gt 0 ] || { bad "the simulated collateral's TCB figure: $TCB"; exit 1; }
# node e judges its own evidence with collateral re-signed (by the same simulated vendor) with
# a higher number, so it declares TCB+1; the verifiers judge it with theirs, which shows TCB
python3 "$GTEE_SOURCE_DIR/tests/chain/sim_collateral_eval.py" "$T/e/sim" $((TCB + 1)) || { bad "re-signing e's collateral"; exit 1; }
echo '{"allow_simulation": true}' >"$T/sim-policy.json"
ATTEST=(--policy "$T/sim-policy.json" --collateral "$SIM" --sim-root "$SIM/sim_root_ca.der")

declare -A NODE_PID URL
node_up() { # NAME
    local d=$T/$1
    rm -f "$d/node.url"
    bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$d" >"$T/$1.out" 2>>"$T/$1.log"
    NODE_PID[$1]=$BG_PID
    wait_file "$d/node.url" "node $1" "$T/$1.log"
    URL[$1]=$(cat "$d/node.url")
    for _ in $(seq 300); do
        curl -s "${URL[$1]}healthz" | grep -q '"running"' && break
        sleep 0.1
    done
    curl -s "${URL[$1]}healthz" | grep -q '"running"' || { bad "node $1's enclave never ran: $(tail -5 "$T/$1.log")"; exit 1; }
}
node_up a
# the governor accepts the nodes' measurement (one enclave build, one measurement)
M=$(curl -s "${URL[a]}api/v1/evidence?nonce=$(printf '%064x' 1)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["measurement"])')
[ ${#M} = 64 ] || { bad "the nodes' measurement: $M"; exit 1; }
run chain govern --ledger "$L" --key "$T/v1.key" --accept-measurement "$M"
expect_rc 7 "governance by another than the governor"
grep -q "revert reason: governance: not the governor" "$T/err" || bad "a stranger's governance: $(cat "$T/err")"
run chain govern --ledger "$L" --key "$T/governor.key" --accept-measurement "$M" --json
expect_rc 0 "the governor accepts the measurement"
[ "$(json '[a["action"] for a in j["done"]] == ["accept-measurement"] and j["done"][0]["measurement"] == "'"$M"'" and j["complete"]')" = True ] ||
    bad "chain govern --json: $(cat "$T/out")"
node_up b
node_up c
node_up d
node_up e

# status of an enclave's registration, by the node's own view: wait until it is STATE
op_of() { curl -s "${URL[$1]}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ledger"]["operator"])'; }
enclave_of() { curl -s "${URL[$1]}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ledger"]["enclave"]["id"])' 2>/dev/null || true; }
wait_node() { # NAME PY-EXPR-over-ledger WHAT
    local end=$((SECONDS + 180))
    while [ "$SECONDS" -lt "$end" ]; do
        [ "$(curl -s "${URL[$1]}api/v1/status" | python3 -c 'import json,sys; l=json.load(sys.stdin)["ledger"]; print(eval(sys.argv[1]))' "$2" 2>/dev/null || true)" = True ] && return 0
        sleep 0.5
    done
    bad "node $1: $3: $(curl -s "${URL[$1]}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ledger"])' 2>&1) $(tail -3 "$T/$1.log")"
    exit 1
}
for n in a b c d e; do
    wait_node $n 'l["enclave"]["status"] == "pending"' "its enclave was not registered (pending)"
done

# ---- two verifiers ----
bg_start "$GTEE_CLI" verifier run --ledger "$L" --key "$T/v1.key" --state "$T/v1.state" --interval 1 --fetch-timeout 30 \
    --fetch-tries 60 "${ATTEST[@]}" >"$T/v1.out" 2>"$T/v1.err"
V1=$BG_PID
bg_start "$GTEE_CLI" verifier run --ledger "$L" --key "$T/v2.key" --state "$T/v2.state" --interval 1 --fetch-timeout 30 \
    --fetch-tries 60 --json "${ATTEST[@]}" >"$T/v2.out" 2>"$T/v2.err"
V2=$BG_PID
for n in a b c; do
    wait_node $n 'l["enclave"]["status"] == "active" and l["enclave"]["active"]' "the verifiers did not approve it"
done
D_ID=$(enclave_of d)
end=$((SECONDS + 180))
until grep -qi "$D_ID.*voted reject" "$T/v1.out" && grep -q '"event": *"rejected"' "$T/v2.out" || [ "$SECONDS" -ge "$end" ]; do sleep 0.5; done
run nodes --ledger "$L" --all --json
expect_rc 0 "nodes --all"
[ "$(json '[n["status"] for n in j["nodes"] if n["enclave_id"].lower() == "'"${D_ID,,}"'"]')" = "['rejected']" ] ||
    bad "node d (an untrusted device root) is not rejected: $(cat "$T/out") $(cat "$T/v1.out")"
grep -i "$D_ID" "$T/v1.out" | grep -q 'voted reject, code [a-z_]' || bad "the rejection names no verdict code: $(cat "$T/v1.out")"
# node e declared the TCB its own collateral gives, one above what the verifiers' shows
E_ID=$(enclave_of e)
end=$((SECONDS + 180))
until grep -qi "$E_ID.*voted reject" "$T/v1.out" && grep -qi "\"rejected\".*${E_ID:2}\|${E_ID:2}.*\"rejected\"" "$T/v2.out" ||
    [ "$SECONDS" -ge "$end" ]; do sleep 0.5; done
grep -i "$E_ID" "$T/v1.out" | grep -q "voted reject, code registration_tcb_mismatch: the registration declares TCB $((TCB + 1)), the evidence shows TCB $TCB" ||
    bad "node e's over-declared TCB is not rejected with both figures: $(grep -i "$E_ID" "$T/v1.out")"
python3 - "$T/v2.out" "$E_ID" <<'PY' || bad "the --json verifier's rejection of node e: $(cat "$T/v2.out")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
r = [l for l in lines if l["event"] == "rejected" and l["enclave"].lower() == sys.argv[2].lower()]
assert r and r[0]["code"] == "registration_tcb_mismatch" and not r[0]["approve"], r
PY
run nodes --ledger "$L" --all --json
[ "$(json '[(n["status"], n["tcb"]) for n in j["nodes"] if n["enclave_id"].lower() == "'"${E_ID,,}"'"]')" = "[('rejected', $((TCB + 1)))]" ] ||
    bad "node e (an over-declared TCB) is not rejected: $(cat "$T/out")"
bg_stop "${NODE_PID[e]}"
python3 - "$T/v2.out" "$D_ID" <<'PY' || bad "the --json verifier's rejection: $(cat "$T/v2.out")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
r = [l for l in lines if l["event"] == "rejected" and l["enclave"].lower() == sys.argv[2].lower()]
assert r and r[0]["code"] and not r[0]["approve"], r
assert sum(1 for l in lines if l["event"] == "approved") >= 3, lines
PY

run nodes --ledger "$L" --json
expect_rc 0 "nodes"
[ "$(json 'len(j["nodes"])')" = 3 ] || bad "gtee nodes does not list three active nodes: $(cat "$T/out")"
[ "$(json 'sorted(n["url"] for n in j["nodes"]) == sorted(["'"${URL[a]}"'", "'"${URL[b]}"'", "'"${URL[c]}"'"])')" = True ] ||
    bad "gtee nodes lists other URLs: $(cat "$T/out")"
[ "$(json 'all(n["tee"] == "sim" and n["tcb_status"] == "ok" and n["tcb"] == '"$TCB"' and n["measurement"] == "'"$M"'" and n["expires"] > 0 for n in j["nodes"])')" = True ] ||
    bad "gtee nodes' fields (TCB $TCB, the evidence's): $(cat "$T/out")"
FIRST=$(json 'j["nodes"][0]["url"]')
run nodes --ledger "$L"
expect_rc 0 "nodes, plain"
[ "$(grep -c ' active ' "$T/out")" = 3 ] || bad "plain gtee nodes: $(cat "$T/out")"

# ---- jobs picked from the ledger ----
MODELS=$GTEE_SOURCE_DIR/tests/ml/models
units() { "$GTEE_CLI" rewards --ledger "$L" --operator "$1" --json | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["units"]))'; }
run infer --ledger "$L" --model "$MODELS/mlp.onnx" --input "$MODELS/mlp.input.npy" --out "$T/p1.npy" --no-progress \
    --json "${ATTEST[@]}"
expect_rc 0 "infer --ledger"
[ "$(json 'j["node"]')" = "$FIRST" ] || bad "infer --ledger did not say it ran on the first active node: $(cat "$T/out")"
[ -s "$T/p1.npy" ] || bad "infer --ledger wrote no predictions"
for n in a b c; do [ "${URL[$n]}" = "$FIRST" ] && K=$n; done
OPK=$(op_of "$K")
end=$((SECONDS + 180))
until [ "$(units "$OPK")" -gt 0 ] || [ "$SECONDS" -ge "$end" ]; do sleep 0.5; done
[ "$(units "$OPK")" -gt 0 ] || bad "the proof of node $K's job did not land: $(tail -3 "$T/$K.log")"

bg_stop "${NODE_PID[$K]}"
run infer --ledger "$L" --model "$MODELS/mlp.onnx" --input "$MODELS/mlp.input.npy" --out "$T/p2.npy" --no-progress \
    --node-timeout 10 "${ATTEST[@]}"
expect_rc 0 "infer --ledger with the first node down"
grep -q "^node: " "$T/out" || bad "infer does not say which node ran the job: $(cat "$T/out")"
OTHER=$(sed -n 's/^node: \([^ ]*\) .*/\1/p' "$T/out")
[ -n "$OTHER" ] && [ "$OTHER" != "$FIRST" ] || bad "infer did not fail over: $(cat "$T/out")"
grep -q "$FIRST.*does not answer.*trying the next" "$T/err" || bad "infer does not name the node that did not answer: $(cat "$T/err")"
cmp -s "$T/p1.npy" "$T/p2.npy" || bad "the two nodes' predictions differ"
for n in a b c; do [ "${URL[$n]}" = "$OTHER" ] && K2=$n; done
OP2=$(op_of "$K2")
end=$((SECONDS + 180))
until [ "$(units "$OP2")" -gt 0 ] || [ "$SECONDS" -ge "$end" ]; do sleep 0.5; done
[ "$(units "$OP2")" -gt 0 ] || bad "the proof of node $K2's job did not land"
# train --ledger: a picked node (the first one still answering) trains, and its proof lands
node_xy "$T" 32
U_BEFORE=$(units "$OP2")
run train --ledger "$L" --model "$MODELS/mlp.onnx" --data "$T/x.npy" --labels "$T/y.npy" --epochs 1 --batch 16 \
    --out "$T/trained.onnx" --no-progress --node-timeout 10 --json "${ATTEST[@]}"
expect_rc 0 "train --ledger"
[ "$(json 'j["node"]')" = "$OTHER" ] || bad "train --ledger did not run on the node that answers: $(cat "$T/out")"
[ -s "$T/trained.onnx" ] || bad "train --ledger wrote no model"
end=$((SECONDS + 180))
until [ "$(units "$OP2")" -gt "$U_BEFORE" ] || [ "$SECONDS" -ge "$end" ]; do sleep 0.5; done
[ "$(units "$OP2")" -gt "$U_BEFORE" ] || bad "the proof of the training job did not land"
# the verifiers read the proofs the nodes publish and find them equal to the chain's
K2_ID=$(enclave_of "$K2")
end=$((SECONDS + 120))
until grep -qi "$K2_ID.*match the chain" "$T/v1.out" || [ "$SECONDS" -ge "$end" ]; do sleep 0.5; done
grep -qi "$K2_ID.*match the chain" "$T/v1.out" || bad "the verifier did not check node $K2's proofs: $(tail -5 "$T/v1.out")"

# ---- equivocation: a test enclave's node publishes a second proof with the chain's seq ----
TE=${ACC[8]}
mkdir -p "$T/www/api/v1"
bg_start python3 -m http.server 0 --bind 127.0.0.1 --directory "$T/www" >"$T/www.log" 2>&1
for _ in $(seq 200); do grep -q 'Serving HTTP' "$T/www.log" && break; sleep 0.05; done
WPORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/www.log" | head -1)
[ -n "$WPORT" ] || { bad "the test enclave's web server did not start: $(cat "$T/www.log")"; exit 1; }
run chain govern --ledger "$L" --key "$T/governor.key" --accept-measurement "0x$(printf 'ab%.0s' $(seq 32))"
expect_rc 0 "the governor accepts the test enclave's measurement"
node "$FIX" "$RPC" "$T/glacier.json" "$C" test-enclave "$TE" "${ACC[7]}" "${ACC[10]}" "${ACC[11]}" \
    "http://127.0.0.1:$WPORT/" || { bad "the test enclave"; exit 1; }
ZERO=0x$(printf '%064x' 0)
proof() { # UNITS
    cat <<JSON
{"format": "gtee-work-proof-1", "domain": {"chain_id": 31337, "contract": "$C"},
 "enclave_id": "$TE", "job_id": "0x$(printf '%064x' 7)", "job_kind": "inference",
 "model_cid": "0x$(printf '%064x' 2)", "input_cid": "0x$(printf '%064x' 3)", "output_cid": "0x$(printf '%064x' 4)",
 "units": $1, "receipt_hash": "$ZERO", "start_time": 1780000000, "end_time": 1780000010, "seq": 1,
 "prev_hash": "$ZERO", "evidence_hash": "0x$(printf 'e1%.0s' $(seq 32))", "gpu_evidence_hash": "$ZERO"}
JSON
}
proof 5 >"$T/u1.json"
proof 6 >"$T/u2.json"
python3 "$GTEE_SOURCE_DIR/tests/proof/anvil_sign.py" "$RPC" "$T/u1.json" "$T/s1.json"
python3 "$GTEE_SOURCE_DIR/tests/proof/anvil_sign.py" "$RPC" "$T/u2.json" "$T/s2.json"
run proof submit "$T/s1.json" --ledger "$L" --key "$T/governor.key"
expect_rc 0 "the test enclave's proof seq 1 on chain"
python3 - "$T/s2.json" "$T/www/api/v1/proofs" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p = p[0] if isinstance(p, list) else p
json.dump({"proofs": [{"seq": 1, "submitted": False, "proof": p}]}, open(sys.argv[2], "w"))
PY
end=$((SECONDS + 120))
until grep -qi "$TE.*two different proofs" "$T/v1.out" || grep -qi "\"equivocation\".*${TE:2}" "$T/v2.out" ||
    [ "$SECONDS" -ge "$end" ]; do sleep 0.5; done
E=$(node "$FIX" "$RPC" "$T/glacier.json" "$C" enclave "$TE")
[ "$(python3 -c 'import json,sys; e=json.loads(sys.argv[1]); print(e["slashed"], e["status"], e["stake"])' "$E")" = "True 4 0" ] ||
    bad "the equivocating enclave's operator is not slashed: $E $(tail -5 "$T/v1.out") $(tail -3 "$T/v2.out")"

# ---- the minimum TCB: at the nodes' figure they are active; one above, they stop earning ----
ALIVE=()
for n in a b c; do [ "$n" != "$K" ] && ALIVE+=("$n"); done
run chain govern --ledger "$L" --key "$T/governor.key" --min-tcb "sim:$TCB"
expect_rc 0 "the governor sets the minimum TCB of sim to the nodes' figure"
run nodes --ledger "$L" --json
[ "$(json 'len(j["nodes"])')" = 3 ] || bad "gtee nodes does not list the three nodes at the minimum TCB: $(cat "$T/out")"
for n in "${ALIVE[@]}"; do
    wait_node "$n" 'l["enclave"]["status"] == "active" and l["enclave"]["active"]' "it is not active at the minimum TCB"
done
run chain govern --ledger "$L" --key "$T/governor.key" --min-tcb "sim:$((TCB + 1))"
expect_rc 0 "the governor raises the minimum TCB of sim one above the nodes'"
grep -q '^min-tcb  *done in block [0-9]' "$T/out" || bad "chain govern, plain: $(cat "$T/out")"
for n in "${ALIVE[@]}"; do
    wait_node "$n" 'l["enclave"]["status"] == "active" and not l["enclave"]["active"]' \
        "it is still active with a TCB below the minimum"
done
run nodes --ledger "$L" --json
expect_rc 0 "nodes with the minimum TCB raised"
[ "$(json 'len(j["nodes"])')" = 0 ] || bad "gtee nodes lists nodes below the minimum TCB: $(cat "$T/out")"
run nodes --ledger "$L" --all --json
[ "$(json 'sum(1 for n in j["nodes"] if n["tcb_status"] == "below the minimum")')" -ge 3 ] ||
    bad "gtee nodes --all does not say the nodes' TCB is below the minimum: $(cat "$T/out")"
U_BEFORE=$(units "$OP2")
run infer --ledger "$L" --model "$MODELS/mlp.onnx" --input "$MODELS/mlp.input.npy" --out "$T/p3.npy" --no-progress \
    --node-timeout 10 "${ATTEST[@]}"
[ "$rc" -ne 0 ] || bad "infer --ledger found a node to run on with every node below the minimum TCB"
grep -q "no active node" "$T/err" || bad "infer --ledger does not say there is no active node: $(cat "$T/err")"
# a job sent to the node directly still runs, but its proof is refused: it earns nothing
run infer --node "$OTHER" --model "$MODELS/mlp.onnx" --input "$MODELS/mlp.input.npy" --out "$T/p4.npy" --no-progress \
    "${ATTEST[@]}"
expect_rc 0 "infer --node on a node below the minimum TCB"
wait_node "$K2" '"enclave not active" in l["last_error"] and l["proofs"]["pending"] >= 1' \
    "its proof was not refused as the proof of an inactive enclave"
end=$((SECONDS + 120))
until grep -q "proof: enclave not active" "$T/$K2.log" || [ "$SECONDS" -ge "$end" ]; do sleep 0.5; done
grep -q "proof: enclave not active" "$T/$K2.log" || bad "node $K2 does not log its proof refused: $(tail -3 "$T/$K2.log")"
[ "$(units "$OP2")" = "$U_BEFORE" ] || bad "a node below the minimum TCB earned"
run chain govern --ledger "$L" --key "$T/governor.key" --min-tcb "sim:$TCB"
expect_rc 0 "the governor lowers the minimum TCB again"
wait_node "$K2" 'l["enclave"]["active"] and l["proofs"]["pending"] == 0' "the waiting proof did not land once it was active again"
# the one-shot jobs' grants were keys released to the enclave: their receipts, refused by the
# chain while it was not active, are recorded once it is again
wait_node "$K2" 'l["key_releases"]["pending"] == 0 and l["key_releases"]["recorded"] >= 2' \
    "the key-release receipts of its grants did not reach the chain"
[ "$(units "$OP2")" -gt "$U_BEFORE" ] || bad "the node earns nothing once active again"

# ---- SIGTERM stops the verifiers; a restart from the state file votes on nothing again ----
kill -TERM "$V1" "$V2" || bad "a verifier stopped before SIGTERM: $(tail -5 "$T/v1.err" "$T/v2.err")"
bg_wait "$V1" || bad "verifier 1 did not stop cleanly on SIGTERM: $(tail -3 "$T/v1.err")"
bg_wait "$V2" || bad "verifier 2 did not stop cleanly on SIGTERM: $(tail -3 "$T/v2.err")"
tail -1 "$T/v1.out" | grep -q 'stopped' || bad "verifier 1 does not say it stopped: $(tail -2 "$T/v1.out")"
run verifier run --ledger "$L" --key "$T/v1.key" --state "$T/v1.state" --once "${ATTEST[@]}"
expect_rc 0 "verifier run --once from its state"
grep -q 'voted\|registered round' "$T/out" && bad "the restarted verifier voted or read a registration again: $(cat "$T/out")"
grep -q 'resuming from the state.s cursor' "$T/out" || bad "the restarted verifier does not say it resumes: $(cat "$T/out")"
# --from-block: a new cursor at the head reads no past registration; at 0 it reads them all
HEAD=$(curl -s -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$RPC" |
    python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"], 16))')
run verifier run --ledger "$L" --key "$T/v1.key" --state "$T/v4.state" --from-block "$HEAD" --once --json "${ATTEST[@]}"
expect_rc 0 "verifier run --from-block the head"
python3 - "$T/out" "$HEAD" <<'PY' || bad "verifier run --from-block the head: $(cat "$T/out")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["event"] == "started" and lines[0]["from_block"] == int(sys.argv[2]) and not lines[0]["resumed"], lines[0]
assert not [l for l in lines if l["event"] == "registered"], lines
PY
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["next_block"] > int(sys.argv[2]))' "$T/v4.state" "$HEAD")" = True ] ||
    bad "the new state's cursor did not move past the head: $(cat "$T/v4.state")"
run verifier run --ledger "$L" --key "$T/v1.key" --from-block 0 --once --json "${ATTEST[@]}"
expect_rc 0 "verifier run --from-block 0"
[ "$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["event"] == "registered"))' "$T/out")" -ge 5 ] ||
    bad "verifier run --from-block 0 did not read the past registrations: $(cat "$T/out")"
run verifier run --ledger "$L" --key "$T/v1.key" --state "$T/v4.state" --from-block 0 --once "${ATTEST[@]}"
expect_rc 0 "verifier run from a state with --from-block 0"
grep -q "resuming from the state.s cursor.*--from-block places a new state.s cursor only" "$T/out" ||
    bad "a state's cursor and --from-block: $(cat "$T/out")"
grep -q 'registered round' "$T/out" && bad "--from-block moved a state's cursor back: $(cat "$T/out")"
# a chain that does not answer: --once says so (exit 3, bounded); the daemon waits, with
# backoff, until a signal stops it
# ---- a renewal voted on after the minimum rose above its TCB: rejected ----
# node K starts again, which renews its registration (a new round) while no verifier runs;
# the governor then raises the minimum one above the nodes' TCB; a verifier voting on the
# round finds the evidence's TCB below it
RENEWED=$(grep -c "ledger: enclave renewed" "$T/$K.log" || true)
node_up "$K"
end=$((SECONDS + 120))
until [ "$(grep -c "ledger: enclave renewed" "$T/$K.log")" -gt "$RENEWED" ] || [ "$SECONDS" -ge "$end" ]; do sleep 0.5; done
[ "$(grep -c "ledger: enclave renewed" "$T/$K.log")" -gt "$RENEWED" ] || bad "node $K did not renew at its start: $(tail -3 "$T/$K.log")"
K_ID=$(enclave_of "$K")
[ -n "$K_ID" ] || bad "node $K's status names no enclave"
run chain govern --ledger "$L" --key "$T/governor.key" --min-tcb "sim:$((TCB + 1))"
expect_rc 0 "the governor raises the minimum TCB above the renewal's"
run verifier run --ledger "$L" --key "$T/v1.key" --state "$T/v1.state" --once --json "${ATTEST[@]}"
expect_rc 0 "a verifier votes on the renewal"
python3 - "$T/out" "$K_ID" "$TCB" <<'PY' || bad "the renewal below the minimum is not rejected with its reason: $(cat "$T/out")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
r = [l for l in lines if l["event"] == "rejected" and l["enclave"].lower() == sys.argv[2].lower()]
want = "the evidence shows TCB %s, below the ledger's minimum %d" % (sys.argv[3], int(sys.argv[3]) + 1)
assert r and r[0]["code"] == "registration_tcb_below_minimum" and want in r[0]["reason"], lines
PY
bg_stop "${NODE_PID[$K]}"

DEAD=http://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run verifier run --ledger "evm:$DEAD,$C" --key "$T/v1.key" --once --timeout 2000 --retries 0
expect_rc 3 "verifier run --once against a chain that does not answer"
bg_start "$GTEE_CLI" verifier run --ledger "evm:$DEAD,$C" --key "$T/v1.key" --interval 1 --timeout 2000 --retries 0 \
    >"$T/v3.out" 2>"$T/v3.err"
V3=$BG_PID
end=$((SECONDS + 60))
until [ "$(grep -c 'chain-unavailable' "$T/v3.out")" -ge 2 ] || [ "$SECONDS" -ge "$end" ]; do sleep 0.2; done
[ "$(grep -c 'chain-unavailable' "$T/v3.out")" -ge 2 ] || bad "the verifier does not wait for the chain: $(cat "$T/v3.out" "$T/v3.err")"
kill -TERM "$V3"
bg_wait "$V3" || bad "the waiting verifier did not stop cleanly on SIGTERM: $(cat "$T/v3.err")"
run verifier run --ledger "local:$T/a/ledger.db" --key "$T/v1.key" --once
expect_rc 2 "verifier run against a local ledger"
grep -q 'no verifiers' "$T/err" || bad "the local ledger's refusal: $(cat "$T/err")"

if [ "$fail" -ne 0 ]; then
    echo "verifiers: $fail failure(s)"
    exit 1
fi
echo "verifiers: ok"
