#!/usr/bin/env bash
# A node with `gpus = 1` and the fake NVIDIA management library the test suite builds (it
# serves the h100-1 sample whatever the nonce): its enclave loads the library before its
# seccomp list and answers each evidence request with one composite bundle. Asked with the
# sample's own nonce, the bundle's CVM part is the enclave's evidence over its keys and that
# nonce, and its GPU part is bound to it: `gtee evidence verify` with a bundle's collateral
# directory finds no binding fault (only the sample RIMs' expired signing certificates, and
# so no bound GPU for a policy that requires one). Any other nonce, as a client's own, is an
# error naming the GPU, never a plain evidence (`gtee grant` is refused, saying why); a node
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

# Any other nonce: the GPU's report is not over it, and the client hears why.
curl -s "${U}api/v1/evidence?nonce=$(printf '5a%.0s' $(seq 32))" >"$T/other.json"
grep -q 'GPU 0 of 1: gpu: the attestation report is not an SPDM 1.1 GET_MEASUREMENTS over our nonce' "$T/other.json" ||
    bad "another nonce: $(head -c 300 "$T/other.json")"
# gtee grant attests with a fresh nonce of its own: refused before any key leaves.
"$GTEE_CLI" keygen "$T/model.key" >/dev/null
"$GTEE_CLI" identity new "$T/owner.id" >/dev/null
CID=$(printf 'ab%.0s' $(seq 32))
run grant "$CID" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --kinds infer "${ATTEST[@]}"
[ "$rc" -ne 0 ] || bad "gtee grant accepted a node whose GPU evidence is over another nonce"
grep -q "over our nonce" "$T/err" || bad "gtee grant does not say why: $(cat "$T/err")"

# More GPUs than the library sees: the enclave does not start, and the log says why.
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$T/m" >/dev/null 2>&1
sed -i "s|^gpus = 0\$|gpus = 2|; s|^gpu_library = \$|gpu_library = $FAKE|" "$T/m/node.conf"
bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$T/m" >"$T/m.out" 2>"$T/m.log"
wait_file "$T/m/node.url" "node m" "$T/m.log"
for _ in $(seq 200); do grep -q "gpus 2 asked for" "$T/m.log" && break; sleep 0.05; done
grep -q "gpus 2 asked for, the NVIDIA management library sees 1" "$T/m.log" || bad "gpus = 2: $(tail -5 "$T/m.log")"
curl -s "$(cat "$T/m/node.url")healthz" | grep -q '"running"' && bad "an enclave without its GPUs runs"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "node gpu: all checks passed"
