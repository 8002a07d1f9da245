#!/usr/bin/env bash
# A node with `gpus = 1` and the fake NVIDIA management library the test suite builds (it
# serves the h100-1 sample over the caller's nonce, with the sample's signature): its enclave
# loads the library before its seccomp list and answers each evidence request with one
# composite bundle. Asked with the sample's own nonce, the bundle's CVM part is the enclave's
# evidence over its keys and that nonce, and its GPU part is bound to it: `gtee evidence
# verify` with a bundle's collateral directory finds no binding fault (only the sample RIMs'
# expired signing certificates, and so no bound GPU for a policy that requires one). Over any
# other nonce, as a client's own, the bundle's GPU part is the sample with that nonce, whose
# signature `gtee grant` refuses, naming the GPU, and so does the node itself before it
# registers on its ledger; a node without GPUs is refused by a policy requiring one; a node
# asking for more GPUs than there are never runs its enclave.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/node_harness.sh"

FAKE=${GTEE_BINARY_DIR:?}/tests/libfake-nvidia-ml.so.1
H=${GTEE_SOURCE_DIR:?}/tests/vectors/nvidia/h100-1
NONCE=931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb

"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$T/n" >/dev/null 2>&1
grep -q '^gpus = 0$' "$T/n/node.conf" || bad "node.conf has no gpus line"
grep -q '^gpu_library = $' "$T/n/node.conf" || bad "node.conf has no gpu_library line"
sed -i "s|^gpus = 0\$|gpus = 1|; s|^gpu_library = \$|gpu_library = $FAKE|" "$T/n/node.conf"
node_up "$T/n"

curl -s "${U}api/v1/evidence?nonce=$NONCE" >"$T/ev.json"
python3 - "$T/ev.json" "$T" <<'PY' || bad "the evidence answer: $(head -c 300 "$T/ev.json")"
import json, sys
j = json.load(open(sys.argv[1]))
ev = bytes.fromhex(j["evidence"])
assert ev[:8] == b"GTEEBNDL" and ev[9] == 1, "not a bundle of one GPU"
open(sys.argv[2] + "/bundle.bin", "wb").write(ev)
open(sys.argv[2] + "/keys", "w").write(j["enclave_public_key"] + " " + j["channel_public_key"] + "\n")
PY
read -r EK CK <"$T/keys"
mkdir -p "$T/col/gpu0"
cp -r "$T/n/sim/sgx" "$T/col/cvm"
cp "$H/cert_chain.pem" "$H"/production_rims/*.xml "$T/col/gpu0/"
echo '{"allow_simulation": true, "gpu": {"allow_unchecked_revocation": true, "min_count": 1}}' >"$T/gpu.json"
run evidence verify "$T/bundle.bin" --collateral "$T/col" --sim-root "$T/n/sim/sim_root_ca.der" --policy "$T/gpu.json" \
    --nonce "$NONCE" --enclave-key "$EK" --channel-key "$CK"
expect_rc 7 "the bundle under a policy requiring a GPU"
grep -q '^nonce_check   matches the given nonce$' "$T/out" || bad "the CVM part's nonce: $(cat "$T/out")"
grep -q '^enclave_key   ' "$T/out" || bad "the CVM part is not bound to the enclave's keys: $(cat "$T/out")"
grep -q '^reason        gpu.rim.driver.chain.expired: GPU 0' "$T/out" || bad "the GPU part was not verified: $(cat "$T/out")"
grep -q '^reason        policy.gpu.required' "$T/out" || bad "no bound GPU should be counted: $(cat "$T/out")"
if grep '^reason' "$T/out" | grep -qv 'chain.expired\|policy.gpu.required'; then
    bad "the bundle has other faults than the sample RIMs' age: $(grep '^reason' "$T/out")"
fi

# Any other nonce: the GPU answers over it, with the sample's signature, never a plain evidence.
OTHER=$(printf '5a%.0s' $(seq 32))
curl -s "${U}api/v1/evidence?nonce=$OTHER" >"$T/other.json"
python3 - "$T/other.json" "$OTHER" <<'PY' || bad "another nonce: $(head -c 300 "$T/other.json")"
import json, sys
ev = bytes.fromhex(json.load(open(sys.argv[1]))["evidence"])
assert ev[:8] == b"GTEEBNDL" and ev[9] == 1, "not a bundle of one GPU"
n = int.from_bytes(ev[12:16], "big")
gpu = ev[16 + n + 4:]
assert gpu[4:36] == bytes.fromhex(sys.argv[2]), "the GPU report is not over the nonce asked for"
PY
# gtee grant attests with a fresh nonce of its own and a bundle's collateral (the simulated
# device's sgx/ holding cvm/ and gpu0/): every part verified, the GPU's signature refused and
# named, before any key leaves.
"$GTEE_CLI" keygen "$T/model.key" >/dev/null
"$GTEE_CLI" identity new "$T/owner.id" >/dev/null
CID=$(printf 'ab%.0s' $(seq 32))
mkdir -p "$T/gcol"
cp -r "$T/col" "$T/gcol/sgx"
cp -r "$T/n/sim/tdx" "$T/gcol/tdx"
run grant "$CID" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --kinds infer --policy "$T/gpu.json" \
    --collateral "$T/gcol" --sim-root "$T/n/sim/sim_root_ca.der"
expect_rc 7 "gtee grant to a node whose GPU report is over another nonce than its signature"
grep -q "gpu.signature: GPU 0: " "$T/err" || bad "gtee grant does not name the GPU's signature: $(cat "$T/err")"

# More GPUs than the library sees: the enclave does not start, and the log says why.
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$T/m" >/dev/null 2>&1
sed -i "s|^gpus = 0\$|gpus = 2|; s|^gpu_library = \$|gpu_library = $FAKE|" "$T/m/node.conf"
bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$T/m" >"$T/m.out" 2>"$T/m.log"
wait_file "$T/m/node.url" "node m" "$T/m.log"
for _ in $(seq 200); do grep -q "gpus 2 asked for" "$T/m.log" && break; sleep 0.05; done
grep -q "gpus 2 asked for, the NVIDIA management library sees 1" "$T/m.log" || bad "gpus = 2: $(tail -5 "$T/m.log")"
curl -s "$(cat "$T/m/node.url")healthz" | grep -q '"running"' && bad "an enclave without its GPUs runs"

# Registration: the node verifies the bundle PROOF_START gives (over the node's own nonce, so
# the fake GPU's signature fails) as a whole before the ledger sees it, and says why.
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$T/r" >/dev/null 2>&1
mkdir -p "$T/rcol/sgx/gpu0"
cp -r "$T/r/sim/sgx" "$T/rcol/sgx/cvm"
cp -r "$T/r/sim/tdx" "$T/rcol/tdx"
cp "$T"/col/gpu0/* "$T/rcol/sgx/gpu0/"
sed -i "s|^gpus = 0\$|gpus = 1|; s|^gpu_library = \$|gpu_library = $FAKE|; s|^collateral = \$|collateral = $T/rcol|; \
    s|^policy = \$|policy = $T/gpu.json|" "$T/r/node.conf"
run node register --enclave "$GTEE_ENCLAVE" --url http://127.0.0.1:8470 "$T/r"
expect_rc 7 "gtee node register of a node whose GPU report does not verify"
grep -q "gpu.signature: GPU 0: " "$T/err" || bad "gtee node register does not name the GPU's signature: $(cat "$T/err")"

# A node without GPUs, to gtee grant under a policy that requires one: refused, named.
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$T/p" >/dev/null 2>&1
node_up "$T/p" "$T/p.log"
run grant "$CID" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --kinds infer --policy "$T/gpu.json" \
    --collateral "$T/p/sim" --sim-root "$T/p/sim/sim_root_ca.der"
expect_rc 7 "gtee grant to a node without GPUs under a policy requiring one"
grep -q "policy.gpu.required" "$T/err" || bad "gtee grant does not say a GPU is required: $(cat "$T/err")"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "node gpu: all checks passed"
