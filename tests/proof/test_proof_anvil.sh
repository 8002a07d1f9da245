#!/usr/bin/env bash
# `gtee proof verify` against an independent EIP-712 implementation: a real anvil (the pinned
# npm @foundry-rs/anvil-linux-amd64) on a loopback port signs Work Proofs with
# eth_signTypedData_v4 (tests/proof/anvil_sign.py), so anvil computes the typed-data digest
# itself; `gtee proof verify` must recover the signer to the Enclave ID, follow the hash
# chain, and refuse a changed field, a foreign signer, a replay, a gap and equivocation.
set -euo pipefail
. "$(dirname "$0")/../cli_harness.sh"
ANVIL="$GTEE_SOURCE_DIR/npm/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
if [ ! -x "$ANVIL" ]; then
    echo "FAIL: @foundry-rs/anvil-linux-amd64 is not installed in npm/node_modules (run scripts/install-deps.sh)" >&2
    exit 1
fi
SIGN="python3 $GTEE_SOURCE_DIR/tests/proof/anvil_sign.py"

bg_start "$ANVIL" --host 127.0.0.1 --port 0 --chain-id 31337 >"$T/anvil.log" 2>&1
for _ in $(seq 300); do grep -q '^Listening on' "$T/anvil.log" && break; sleep 0.05; done
port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/anvil.log")
[ -n "$port" ] || { bad "anvil did not start: $(cat "$T/anvil.log")"; exit 1; }
RPC="http://127.0.0.1:$port"

# proof SEQ PREV UNITS [ENCLAVE]: an unsigned proof of anvil's first (or the given) dev account
ENCLAVE0=0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266
ENCLAVE1=0x70997970c51812dc3a010c7d01b50e0d17dc79c8
ZERO=0x0000000000000000000000000000000000000000000000000000000000000000
proof() {
    cat <<JSON
{"format": "gtee-work-proof-1", "domain": {"chain_id": 31337, "contract": "0x5fbdb2315678afecb367f032d93f642f64180aa3"},
 "enclave_id": "${4:-$ENCLAVE0}", "job_id": "0x$(printf '%064x' "$1")", "job_kind": "inference",
 "model_cid": "0x$(printf '%064x' 2)", "input_cid": "0x$(printf '%064x' 3)", "output_cid": "0x$(printf '%064x' 4)",
 "units": $3, "receipt_hash": "$ZERO", "start_time": 1780000000, "end_time": 1780000010, "seq": $1,
 "prev_hash": "$2", "evidence_hash": "0x$(printf '%064x' 6)", "gpu_evidence_hash": "$ZERO"}
JSON
}
hash_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["proofs"][0]["hash"])' "$1"; }

proof 1 "$ZERO" 100 >"$T/u1.json"
$SIGN "$RPC" "$T/u1.json" "$T/p1.json"
run proof verify "$T/p1.json" --json
expect_rc 0 "a proof anvil signed verifies"
cp "$T/out" "$T/v1.json"
[ "$(json 'j["proofs"][0]["enclave_id"].lower()')" = "$ENCLAVE0" ] || bad "signer: $(cat "$T/out")"
h1=$(hash_of "$T/v1.json")

proof 2 "$h1" 200 >"$T/u2.json"
$SIGN "$RPC" "$T/u2.json" "$T/p2.json"
h2=$(run proof verify "$T/p2.json" --json; hash_of "$T/out")
proof 3 "$h2" 300 >"$T/u3.json"
$SIGN "$RPC" "$T/u3.json" "$T/p3.json"
run proof verify "$T/p3.json" "$T/p1.json" "$T/p2.json" --chain-id 31337 \
    --contract 0x5FbDB2315678afecb367f032d93F642f64180aa3
expect_rc 0 "a chain of three proofs verifies, in any order"
grep -q '^3 proofs verified' "$T/out" || bad "summary: $(cat "$T/out")"

# a signed field changed after signing: the digest differs, the signer is someone else
sed 's/"units": 100/"units": 101/' "$T/p1.json" >"$T/changed.json"
run proof verify "$T/changed.json"
expect_rc 4 "a changed field"
grep -q 'not by the Enclave ID' "$T/err" || bad "changed field message: $(cat "$T/err")"
# a key that is not the Enclave ID the proof names
proof 1 "$ZERO" 100 "$ENCLAVE1" >"$T/u4.json"
$SIGN "$RPC" "$T/u4.json" "$T/p4.json"
sed "s/$ENCLAVE1/$ENCLAVE0/" "$T/p4.json" >"$T/foreign.json"
run proof verify "$T/foreign.json"
expect_rc 4 "a proof signed by another key"
# replay, gap, equivocation
run proof verify "$T/p1.json" "$T/p2.json" "$T/p2.json"
expect_rc 7 "a replayed proof"
grep -q 'replayed' "$T/err" || bad "replay message: $(cat "$T/err")"
run proof verify "$T/p1.json" "$T/p3.json"
expect_rc 7 "a skipped sequence number"
proof 2 "$h1" 999 >"$T/u2b.json"
$SIGN "$RPC" "$T/u2b.json" "$T/p2b.json"
run proof verify "$T/p1.json" "$T/p2.json" "$T/p2b.json"
expect_rc 7 "two different proofs with seq 2"
grep -q 'equivocation' "$T/err" || bad "equivocation message: $(cat "$T/err")"
# the domain the verifier requires
run proof verify "$T/p1.json" --chain-id 1
expect_rc 7 "a proof for another chain"
run proof verify "$T/p1.json" --chain-id x
expect_rc 2 "a bad --chain-id"
run proof verify "$T/missing.json"
expect_rc 3 "a missing file"
printf '{"format": "gtee-work-proof-1"}' >"$T/short.json"
run proof verify "$T/short.json"
expect_rc 5 "a malformed proof file"

[ "$fail" = 0 ] || exit 1
echo "proof/anvil: all checks passed"
