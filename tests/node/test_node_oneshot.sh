#!/usr/bin/env bash
# The one-shot forms of `gtee infer` and `gtee train` (docs/cli.md) against a node on the
# simulated TEE: plain files in place of content ids are sealed under fresh keys that only
# the command holds, uploaded, granted to the requester after attestation, and the job runs.
# Infer with no identity at all gives PyTorch's output for the MLP of tests/ml/models; the
# same images as IDX bytes (gzip-compressed, scaled to 0..1 in the enclave) give the same
# predictions as their float .npy; train takes a dataset directory (IDX, or x_train.npy and
# y_train.npy) and writes a model that loads; `gtee model score` counts right answers. Bad
# arguments are usage errors (exit 2) that leave nothing behind; the command writes no key
# anywhere (its TMPDIR is empty afterwards).
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/node_harness.sh"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
node_up "$D"
MODELS=$GTEE_SOURCE_DIR/tests/ml/models
GTEE_MODEL=$(dirname "$GTEE_CLI")/gtee-model
mkdir -p "$T/tmp"
export TMPDIR=$T/tmp

# Infer, nothing but files: PyTorch's output.
run infer --node "$U" --model "$MODELS/mlp.onnx" --input "$MODELS/mlp.input.npy" --out "$T/pred.npy" --json \
    "${ATTEST[@]}"
expect_rc 0 "one-shot infer"
/usr/bin/python3 - "$T/pred.npy" "$MODELS/mlp.torch.npy" <<'PY' || bad "the one-shot predictions are not PyTorch's"
import numpy, sys
a, b = numpy.load(sys.argv[1]), numpy.load(sys.argv[2])
assert a.shape == b.shape, (a.shape, b.shape)
assert numpy.allclose(a, b, rtol=1e-4, atol=1e-4)
PY
for k in model input; do
    [ "$(json "len(j['$k'])")" = 64 ] || bad "the summary names no $k blob: $(cat "$T/out")"
done
[ -z "$(ls -A "$T/tmp")" ] || bad "the one-shot command left files in TMPDIR: $(ls -A "$T/tmp")"

# A small Fashion-MNIST-shaped dataset: IDX (gzip-compressed) and the same as .npy.
/usr/bin/python3 - "$T" <<'PY'
import gzip, numpy, os, struct, sys
t = sys.argv[1]
rng = numpy.random.default_rng(7)
n = 256
y = rng.integers(0, 10, n, dtype=numpy.uint8)
# Class-dependent images (a bright band per class) with noise: learnable in one epoch.
x = rng.integers(0, 60, (n, 28, 28), dtype=numpy.uint8)
for i in range(n):
    x[i, 2 * y[i] + 4:2 * y[i] + 7, :] = 250
os.makedirs(t + "/idx"), os.makedirs(t + "/npy")
with gzip.open(t + "/idx/train-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">HBBIII", 0, 8, 3, n, 28, 28) + x.tobytes())
with gzip.open(t + "/idx/train-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">HBBI", 0, 8, 1, n) + y.tobytes())
xf = (x.astype(numpy.float32) / numpy.float32(255)).reshape(n, 1, 28, 28)
numpy.save(t + "/npy/x_train.npy", xf)
numpy.save(t + "/npy/y_train.npy", y.astype(numpy.int64))
numpy.save(t + "/x16.npy", xf[:16])
with open(t + "/x16-idx3-ubyte", "wb") as f:
    f.write(struct.pack(">HBBIII", 0, 8, 3, 16, 28, 28) + x[:16].tobytes())
numpy.save(t + "/y16.npy", y[:16].astype(numpy.int64))
PY

# The same images as IDX bytes and as floats: the same predictions (the enclave scales IDX
# bytes by 1/255 and shapes [n, 28, 28] as the model's [n, 1, 28, 28]).
run infer --node "$U" --model "$MODELS/mlp.onnx" --input "$T/x16.npy" --out "$T/p-npy.npy" "${ATTEST[@]}"
expect_rc 0 "one-shot infer on .npy images"
run infer --node "$U" --model "$MODELS/mlp.onnx" --input "$T/x16-idx3-ubyte" --out "$T/p-idx.npy" "${ATTEST[@]}"
expect_rc 0 "one-shot infer on IDX images"
/usr/bin/python3 - "$T/p-npy.npy" "$T/p-idx.npy" <<'PY' || bad "IDX and .npy images give different predictions"
import numpy, sys
a, b = numpy.load(sys.argv[1]), numpy.load(sys.argv[2])
assert a.shape == b.shape == (16, 10), (a.shape, b.shape)
assert numpy.allclose(a, b, rtol=1e-5, atol=1e-6)
PY

# Train on a dataset directory, IDX then .npy: a model that loads, and learns the bands.
for form in idx npy; do
    rm -f "$T/trained-$form.onnx"
    run train --node "$U" --model "$MODELS/mlp.onnx" --data "$T/$form" --epochs 2 --batch 16 --lr 0.002 \
        --out "$T/trained-$form.onnx" --json "${ATTEST[@]}"
    expect_rc 0 "one-shot train on the $form directory"
    [ "$(json 'len(j["epochs"])')" = 2 ] || bad "train ($form) reports no two epochs: $(cat "$T/out")"
    [ "$(json 'j["output"]')" = "$T/trained-$form.onnx" ] || bad "train ($form) wrote no model: $(cat "$T/out")"
    for k in model features labels; do
        [ "$(json "len(j['$k'])")" = 64 ] || bad "train ($form) names no $k blob: $(cat "$T/out")"
    done
done
run infer --node "$U" --model "$T/trained-idx.onnx" --input "$T/x16.npy" --out "$T/p-trained.npy" "${ATTEST[@]}"
expect_rc 0 "one-shot infer with the trained model"
run_cmd "$GTEE_MODEL" score "$T/p-trained.npy" "$T/y16.npy" --json
expect_rc 0 "gtee model score"
/usr/bin/python3 - "$T/p-trained.npy" "$T/y16.npy" "$T/out" <<'PY' || bad "gtee model score does not count the right answers"
import json, numpy, sys
p, y, out = numpy.load(sys.argv[1]), numpy.load(sys.argv[2]), json.load(open(sys.argv[3]))
right = int((p.argmax(1) == y).sum())
assert out["correct"] == right and out["items"] == 16 and out["classes"] == 10, (out, right)
assert right >= 12, "the trained model learned nothing: %d of 16" % right
PY
/usr/bin/python3 -c 'import numpy; numpy.save("'"$T"'/y-bad.npy", numpy.full(16, 10, dtype=numpy.int64))'
run_cmd "$GTEE_MODEL" score "$T/p-trained.npy" "$T/y-bad.npy"
expect_rc 5 "gtee model score with a label out of range"
grep -q "label 0 is 10, outside the 10 classes" "$T/err" || bad "score names no bad label: $(cat "$T/err")"

# Usage errors: nothing uploaded, nothing written.
run infer --node "$U" --model "$MODELS/mlp.onnx" --input "$T/missing.npy" --out "$T/none.npy" "${ATTEST[@]}"
expect_rc 2 "infer with a missing input file"
grep -q "neither a content id .* nor a file that exists" "$T/err" || bad "missing file: $(cat "$T/err")"
run infer --node "$U" --model "$(printf '%064d' 0)" --input "$T/x16.npy" --out "$T/none.npy" "${ATTEST[@]}"
expect_rc 2 "infer naming a content id without --identity"
grep -q -- "--identity is required" "$T/err" || bad "no --identity: $(cat "$T/err")"
run train --node "$U" --model "$MODELS/mlp.onnx" --data "$T/idx" --labels "$T/y16.npy" --epochs 1 --out "$T/none.onnx" \
    "${ATTEST[@]}"
expect_rc 2 "train with a dataset directory and --labels"
run train --node "$U" --model "$MODELS/mlp.onnx" --data "$T/tmp" --epochs 1 --out "$T/none.onnx" "${ATTEST[@]}"
expect_rc 2 "train with a directory that holds no dataset"
grep -q "train-images-idx3-ubyte" "$T/err" || bad "the empty directory: $(cat "$T/err")"
[ -e "$T/none.npy" ] || [ -e "$T/none.onnx" ] && bad "a refused command left an output"
# The strict default policy: refused before any key leaves the command (exit 7). The
# ciphertexts may have gone up while the enclave was attested (docs/cli.md, "One-shot"):
# under keys that never left, they are what any host holding blobs sees; no grant reached
# the enclave, so none was sealed on the node, and no key was released.
grants() { /usr/bin/python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(
    "SELECT (SELECT count(*) FROM sealed), (SELECT count(*) FROM key_releases)").fetchone())' "$D/state.db"; }
g_before=$(grants)
run infer --node "$U" --model "$MODELS/mlp.onnx" --input "$T/x16.npy" --out "$T/none.npy" \
    --collateral "$D/sim" --sim-root "$D/sim/sim_root_ca.der"
expect_rc 7 "one-shot infer under the strict policy"
[ "$(grants)" = "$g_before" ] || bad "a refused one-shot granted a key: (sealed, key releases) $g_before -> $(grants)"
grep -q "granted" "$T/err" && bad "a refused one-shot says it granted: $(cat "$T/err")"
[ -z "$(ls -A "$T/tmp")" ] || bad "the one-shot commands left files in TMPDIR: $(ls -A "$T/tmp")"

if [ "$fail" -ne 0 ]; then
    echo "$fail check(s) failed" >&2
    exit 1
fi
echo "one-shot: ok"
