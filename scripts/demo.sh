#!/usr/bin/env bash
# The main job, end to end on embedded defaults: (1) a data provider seals a real dataset
# (Fashion-MNIST from Debian's dataset-fashion-mnist) into a container, inspects it and opens
# it again, and a tampered copy and a wrong key are refused leaving nothing behind; (2) a node
# starts on the simulated TEE with a stable Enclave ID and evidence a verifier checks; (3) a TEE
# application serves an attested channel through the host's relay, and a client verifies the
# enclave inside the handshake before it sends a secret; (4) the ML engine trains a model on
# the dataset and runs it.
# Usage: scripts/demo.sh PATH_TO_GTEE
set -euo pipefail
gtee=${1:?usage: demo.sh PATH_TO_GTEE}
data=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
[[ -r $data ]] || { echo "demo: $data missing; run scripts/install-deps.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s\n' "$*"; }

step "the dataset: Fashion-MNIST training images (60000 x 28x28), unpacked"
gzip -dc "$data" > "$work/train-images.idx3"
ls -l "$work/train-images.idx3" | awk '{print $5 " bytes"}'

step "gtee keygen: a fresh container key, file mode 0600"
"$gtee" keygen "$work/provider.key"
stat -c '%A %n' "$work/provider.key" | sed "s|$work/||"

step "gtee encrypt: seal the dataset"
"$gtee" encrypt --key "$work/provider.key" "$work/train-images.idx3" "$work/train-images.box"

step "gtee inspect: what anyone (the untrusted host too) can see of the container"
"$gtee" inspect "$work/train-images.box"

step "gtee decrypt: open it again and compare with the original"
"$gtee" decrypt --key "$work/provider.key" "$work/train-images.box" "$work/roundtrip.idx3"
cmp "$work/train-images.idx3" "$work/roundtrip.idx3" && echo "round trip: identical ($(sha256sum < "$work/roundtrip.idx3" | cut -c1-16)...)"

step "a host flips one byte of the stored container: refused, no output left"
cp "$work/train-images.box" "$work/tampered.box"
printf '\x01' | dd of="$work/tampered.box" bs=1 seek=5000000 conv=notrunc status=none
if "$gtee" decrypt --key "$work/provider.key" "$work/tampered.box" "$work/tampered.out"; then
  echo "demo: tampered container was accepted" >&2; exit 1
else
  echo "exit code $? ; output file present: $([[ -e $work/tampered.out ]] && echo yes || echo no)"
fi

step "someone else's key: refused"
"$gtee" keygen "$work/other.key" >/dev/null
if "$gtee" decrypt --key "$work/other.key" "$work/train-images.box" "$work/wrong.out"; then
  echo "demo: wrong key was accepted" >&2; exit 1
else
  echo "exit code $? ; output file present: $([[ -e $work/wrong.out ]] && echo yes || echo no)"
fi

# ---- Node start on the simulated TEE (DESIGN.md flow 1) ----
enclave_bin=$(dirname "$gtee")/gtee-enclave
step "gtee sim init: a simulated TEE device and vendor PKI (NOT SECURE: for machines without TEE hardware)"
"$gtee" sim init "$work/simdev" 2>&1 | sed "s|$work/||g"

step "gtee enclave info: the host starts the measured enclave; it derives its Enclave ID from the sealing key"
"$gtee" enclave info --tee sim --sim-dir "$work/simdev" --enclave "$enclave_bin" | sed "s|$work/||g"

step "restart: the same binary on the same device has the same Enclave ID"
id1=$("$gtee" enclave info --tee sim --sim-dir "$work/simdev" --enclave "$enclave_bin" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["enclave_id"])')
id2=$("$gtee" enclave info --tee sim --sim-dir "$work/simdev" --enclave "$enclave_bin" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["enclave_id"])')
echo "first start:  $id1"
echo "second start: $id2"
[[ $id1 == "$id2" ]] || { echo "demo: Enclave ID changed across restarts" >&2; exit 1; }

step "gtee evidence get: a DCAP quote over the enclave's keys and a verifier's nonce"
nonce=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$gtee" evidence get --tee sim --sim-dir "$work/simdev" --enclave "$enclave_bin" \
  --report-data "$nonce" --out "$work/quote.bin" | sed "s|$work/||g"

step "gtee evidence verify, default policy: simulated evidence is rejected"
if "$gtee" evidence verify "$work/quote.bin" --collateral "$work/simdev/sgx" \
     --sim-root "$work/simdev/sim_root_ca.der"; then
  echo "demo: simulated evidence accepted by the default policy" >&2; exit 1
else
  echo "exit code $? (rejected, as it must be)"
fi

step "gtee evidence verify, a policy that explicitly allows simulation: accepted, and named simulated"
echo '{"tee_types":["sgx"],"allow_simulation":true}' > "$work/dev-policy.json"
"$gtee" evidence verify "$work/quote.bin" --collateral "$work/simdev/sgx" \
  --sim-root "$work/simdev/sim_root_ca.der" --policy "$work/dev-policy.json"

# ---- The attested channel (DESIGN.md flow 4) ----
examples=$(dirname "$gtee")/examples
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'stop_all; rm -rf "$work"' EXIT
wait_file() { for _ in $(seq 200); do [[ -s $1 ]] && return 0; sleep 0.05; done; echo "demo: $2 did not start" >&2; exit 1; }
step "a TEE application (examples/kvstore) serves an attested channel from the simulated enclave"
"$examples/kvstore-enclave" --tee sim --sim-dir "$work/simdev" --state "$work/kv.sealed" \
  --listen 127.0.0.1:0 --port-file "$work/kv.port" --max-clients 4 2>"$work/kv.log" &
pids+=($!)
wait_file "$work/kv.port" "kvstore-enclave"
sed "s|$work/||g" "$work/kv.log"
step "gtee relay: the host carries the TCP bytes to the enclave; it cannot read them"
"$gtee" relay --listen 127.0.0.1:0 --to "127.0.0.1:$(cat "$work/kv.port")" --port-file "$work/relay.port" \
  --max-clients 4 2>"$work/relay.log" &
pids+=($!)
wait_file "$work/relay.port" "gtee relay"
at="127.0.0.1:$(cat "$work/relay.port")"
echo "relay listening on $at"
sim_trust=(--collateral "$work/simdev" --sim-root "$work/simdev/sim_root_ca.der")
echo '{"allow_simulation":true}' > "$work/sim-policy.json"
echo '{}' > "$work/strict-policy.json"
step "gtee attest through the relay: the enclave's verified claims, with fresh evidence over a nonce"
"$gtee" attest --connect "$at" --policy "$work/sim-policy.json" "${sim_trust[@]}" --fresh
step "a client with the default policy refuses the simulated enclave before sending anything"
if "$examples/kvstore-client" --connect "$at" --policy "$work/strict-policy.json" "${sim_trust[@]}" \
     put patient-42 "blood type AB-" 2>"$work/kv-client.err"; then
  echo "demo: a strict client accepted a simulated enclave" >&2; exit 1
else
  echo "exit code $? (rejected): $(tail -n 1 "$work/kv-client.err")"
fi
step "a client that allows simulation stores a value; the enclave seals it to its measurement"
"$examples/kvstore-client" --connect "$at" --policy "$work/sim-policy.json" "${sim_trust[@]}" \
  put patient-42 "blood type AB-" 2>/dev/null
echo "get patient-42 -> $("$examples/kvstore-client" --connect "$at" --policy "$work/sim-policy.json" \
  "${sim_trust[@]}" get patient-42 2>/dev/null)"
if grep -q "blood type" "$work/kv.sealed"; then echo "demo: plaintext in the sealed state" >&2; exit 1; fi
echo "sealed state on the host's disk: $(stat -c %s "$work/kv.sealed") bytes, no plaintext in it"
stop_all

# ---- The ML engine ----
models=$(cd "$(dirname "$0")/.." && pwd)/tests/ml/models
step "gtee model train: an MLP (exported from PyTorch as ONNX) on Fashion-MNIST, 1 epoch"
"$gtee" model train "$models/mlp.onnx" --data /usr/share/datasets/fashion-mnist --epochs 1 \
  --optimizer adam --lr 0.001 --seed 1 --out "$work/mlp-trained.onnx" | sed "s|$work/||g"
step "gtee model run: the trained model on a batch of images"
"$gtee" model run "$work/mlp-trained.onnx" --input "$models/mlp.input.npy" --out "$work/logits.npy" | sed "s|$work/||g"

echo
echo "demo: done"
