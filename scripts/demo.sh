#!/usr/bin/env bash
# The main job, end to end on embedded defaults (README.md): three parties who do not trust
# one another. An operator runs a node on the simulated TEE (labelled SIMULATED: it gives no
# hardware protection); a model provider brings an untrained MLP exported from PyTorch; a data
# provider brings Fashion-MNIST (Debian's dataset-fashion-mnist). Each attests the enclave with
# its own policy before it grants anything. The enclave trains the model on the data, seals
# the trained weights to the model provider, and runs confidential inference for the data
# provider on the 10,000 test images, which never sees the model; the data provider scores
# the predictions against its own labels. Then the demo shows what the host saw, and stops the
# node cleanly.
# Usage: scripts/demo.sh PATH_TO_GTEE [EPOCHS]   (gtee-enclave and gtee-model beside gtee)
# Exit: 0 done, test accuracy at least 85%; 1 a step failed (named on stderr).
set -euo pipefail
gtee=${1:?usage: demo.sh PATH_TO_GTEE [EPOCHS]}
epochs=${2:-3}
bindir=$(cd "$(dirname "$gtee")" && pwd)
gtee=$bindir/$(basename "$gtee")
here=$(cd "$(dirname "$0")/.." && pwd)
data=/usr/share/datasets/fashion-mnist
model=$here/tests/ml/models/mlp.onnx
for f in "$data/train-images-idx3-ubyte.gz" "$data/t10k-images-idx3-ubyte.gz" "$model"; do
    [[ -r $f ]] || { echo "demo: $f missing; run scripts/install-deps.sh" >&2; exit 1; }
done
work=$(mktemp -d)
node_pid=
cleanup() {
    [[ -n $node_pid ]] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
started=$(date +%s)
step() { printf '\n== [%3ds] %s\n' "$(($(date +%s) - started))" "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }
mp=$work/model-provider dp=$work/data-provider op=$work/operator
mkdir -p "$mp" "$dp" "$op"

step "the operator: gtee node init --tee sim (SIMULATED: for machines without TEE hardware), then gtee node run"
"$gtee" node init --tee sim --listen 127.0.0.1:0 "$op/node"
"$gtee" node run --enclave "$bindir/gtee-enclave" "$op/node" >"$op/run.out" 2>"$op/node.log" &
node_pid=$!
for _ in $(seq 300); do
    [[ -s $op/node/node.url ]] && curl -fs "$(cat "$op/node/node.url")healthz" 2>/dev/null | grep -q '"running"' && break
    kill -0 "$node_pid" 2>/dev/null || fail "the node ended: $(tail -5 "$op/node.log")"
    sleep 0.1
done
url=$(cat "$op/node/node.url")
"$gtee" node status "$op/node"

# What each provider accepts. The strict default refuses simulated evidence; these providers
# accept the simulated TEE explicitly, and trust its simulated root (which the operator
# publishes, as a vendor publishes its root) for this demo only.
echo '{"allow_simulation": true}' >"$work/allow-sim.json"
cp "$op/node/sim/sim_root_ca.der" "$work/sim-root.der"
attest=(--policy "$work/allow-sim.json" --collateral "$op/node/sim" --sim-root "$work/sim-root.der")

step "the model provider: an identity, a container key, and the untrained MLP (PyTorch export) sealed and pushed"
"$gtee" identity new "$mp/id"
"$gtee" keygen "$mp/model.key"
model_blob=$("$gtee" push "$model" --node "$url" --key "$mp/model.key")
echo "model blob $model_blob"

step "the data provider: its identity and key; Fashion-MNIST's training set sealed and pushed (60000 images)"
"$gtee" identity new "$dp/id"
dp_pub=$("$gtee" identity show "$dp/id" | sed 's/^public key //')
"$gtee" keygen "$dp/data.key"
gzip -dc "$data/train-images-idx3-ubyte.gz" >"$dp/train-images-idx3-ubyte"
gzip -dc "$data/train-labels-idx1-ubyte.gz" >"$dp/train-labels-idx1-ubyte"
gzip -dc "$data/t10k-images-idx3-ubyte.gz" >"$dp/t10k-images-idx3-ubyte"
x_blob=$("$gtee" push "$dp/train-images-idx3-ubyte" --node "$url" --key "$dp/data.key")
y_blob=$("$gtee" push "$dp/train-labels-idx1-ubyte" --node "$url" --key "$dp/data.key")
t_blob=$("$gtee" push "$dp/t10k-images-idx3-ubyte" --node "$url" --key "$dp/data.key")
echo "training images $x_blob"
echo "training labels $y_blob"
echo "test images     $t_blob (the test labels stay with the data provider)"

step "a provider with the default policy attests the enclave first and releases nothing: it is simulated (exit 7)"
if "$gtee" grant "$model_blob" --node "$url" --key "$mp/model.key" --identity "$mp/id" --kinds train \
    --collateral "$op/node/sim" --sim-root "$work/sim-root.der"; then
    fail "a simulated enclave was granted a key under the default policy"
fi

step "both attest the enclave under their own policy and grant: the model to the data provider, the data to itself"
"$gtee" grant "$model_blob" --node "$url" --key "$mp/model.key" --identity "$mp/id" --to "$dp_pub" \
    --kinds train,infer --until "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" "${attest[@]}"
for b in "$x_blob" "$y_blob" "$t_blob"; do
    "$gtee" grant "$b" --node "$url" --key "$dp/data.key" --identity "$dp/id" --kinds train,infer "${attest[@]}" |
        tail -1
done

step "the data provider trains the model on its data inside the enclave ($epochs epochs, Adam): progress is all the host sees"
"$gtee" train --node "$url" --identity "$dp/id" --model "$model_blob" --data "$x_blob" --labels "$y_blob" \
    --epochs "$epochs" --batch 64 --lr 0.001 --out "$dp/trained.onnx" --progress "${attest[@]}" | tee "$dp/train.out"
[[ -e $dp/trained.onnx ]] && fail "the trained weights reached the data provider without the model's grant"
train_job=$(sed -n 's/^job \([0-9a-f]\{64\}\) done$/\1/p' "$dp/train.out")

step "the model provider fetches the trained weights, which the enclave sealed to it alone"
"$gtee" job fetch "$train_job" --node "$url" --identity "$mp/id" --out "$mp/trained.onnx"

step "the model provider pushes the trained model and grants inference to the data provider"
trained_blob=$("$gtee" push "$mp/trained.onnx" --node "$url" --key "$mp/model.key")
"$gtee" grant "$trained_blob" --node "$url" --key "$mp/model.key" --identity "$mp/id" --to "$dp_pub" --kinds infer \
    "${attest[@]}" | tail -1

step "confidential inference on the 10,000 test images, for the data provider, which never sees the model"
"$gtee" infer --node "$url" --identity "$dp/id" --model "$trained_blob" --input "$t_blob" --out "$dp/predictions.npy" \
    --progress "${attest[@]}"
"$bindir/gtee-model" score "$dp/predictions.npy" "$data/t10k-labels-idx1-ubyte.gz" | tee "$dp/score.out"
acc=$(sed -n 's/^accuracy \([0-9.]*\) .*/\1/p' "$dp/score.out")
awk -v a="$acc" 'BEGIN { exit !(a >= 0.85) }' || fail "test accuracy $acc is under 0.85"

step "the operator's Work Proofs: one per job, signed inside the enclave, on the node's ledger (local: one machine's record)"
# The node submits each job's proof to its ledger in the background: wait (bounded) for both.
for _ in $(seq 300); do
    curl -fs "${url}api/v1/status" | python3 -c 'import json,sys; p=json.load(sys.stdin)["ledger"]["proofs"]; sys.exit(not (p["submitted"] >= 2 and p["pending"] == 0))' && break
    sleep 0.1
done
curl -fs "${url}api/v1/proofs" | python3 -c '
import json, sys
json.dump([p["proof"] for p in json.load(sys.stdin)["proofs"]], open(sys.argv[1], "w"), indent=1)' "$op/proofs.json"
"$gtee" proof verify "$op/proofs.json" --ledger "local:$op/node/ledger.db" || fail "the node's proofs do not verify"
operator=$(curl -fs "${url}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["node"]["operator"])')
"$gtee" rewards --ledger "local:$op/node/ledger.db" --operator "$operator"

step "what the host saw: ciphertext blobs, sealed grants, and the jobs' progress"
echo "blob store:"
for f in "$op/node/blobs/"*; do
    printf '  %s  %10d bytes  starts %s\n' "$(basename "$f" | cut -c1-16)..." "$(stat -c %s "$f")" \
        "$(head -c 8 "$f" | od -An -c | tr -s ' ')"
done
"$gtee" job list --node "$url"
# A 64-byte window of each plaintext (the first with 40 distinct byte values: images have
# blank margins): the training and test images, the untrained and trained weights, the
# predictions. None is anywhere the host keeps or says.
curl -fs "${url}api/v1/jobs" >"$op/jobs.json"
curl -fs "${url}metrics" >"$op/metrics.txt"
curl -fs "$url" >"$op/page.html"
python3 - "$op" "$dp/train-images-idx3-ubyte" "$dp/t10k-images-idx3-ubyte" "$model" "$mp/trained.onnx" \
    "$dp/predictions.npy" <<'PY' || fail "plaintext found on the host"
import os, sys
op, plain = sys.argv[1], sys.argv[2:]
host = [os.path.join(d, f) for d, _, fs in os.walk(op) for f in fs]
def window(b):
    for i in range(len(b) // 2, len(b) - 64, 61):
        if len(set(b[i:i + 64])) >= 40:
            return b[i:i + 64]
    raise SystemExit("no window in a plaintext")
bad = 0
for p in plain:
    w = window(open(p, "rb").read())
    hits = [h for h in host if w in open(h, "rb").read()]
    print("  %-26s %s" % (os.path.basename(p) + ":", "FOUND in " + ", ".join(hits) if hits else
          "not in the node's files, log, or HTTP answers (%d files scanned)" % len(host)))
    bad |= bool(hits)
sys.exit(bad)
PY

step "the operator stops the node (SIGTERM: running jobs drain, then a clean exit)"
kill -TERM "$node_pid"
wait "$node_pid" && echo "node stopped (exit 0)"
node_pid=
printf '\ndemo done in %d s: test accuracy %s on the simulated TEE (SIMULATED: not secure)\n' \
    "$(($(date +%s) - started))" "$acc"
