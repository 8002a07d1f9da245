#!/usr/bin/env bash
# `gtee model train --batchnorm`: the exported CNN with BatchNormalization trained with
# batch statistics (train: ONNX's running update; torch: PyTorch's) learns faster on part
# of Fashion-MNIST than around its fixed running statistics (frozen, the default), writes
# moved running statistics, and its trained file runs in ONNX Runtime to the engine's
# outputs; an unknown mode is refused.
set -euo pipefail

source "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}/tests/ml/fmnist_harness.sh"

train() { # out mode
    "$GTEE_CLI" model train "$M/cnn_bn.onnx" --data "$DATA" --epochs 1 --batch 32 --limit 1000 --seed 3 \
        --out "$1" --batchnorm "$2" --json
}
loss() { node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).loss))' "$1"; }

train "$T/frozen.onnx" frozen > "$T/frozen.json"
train "$T/train.onnx" train > "$T/train.json"
train "$T/torch.onnx" torch > "$T/torch.json"
check "batch statistics learn faster than frozen ones on this model" \
    'node -e "process.exit(+process.argv[1] < +process.argv[2] ? 0 : 1)" "$(loss "$T/torch.json")" "$(loss "$T/frozen.json")"'
check "ONNX's and PyTorch's running variance give different files" '! cmp -s "$T/train.onnx" "$T/torch.onnx"'
check "the trained graph keeps its size (running statistics replaced, not added)" \
    '[ "$(stat -c %s "$T/torch.onnx")" -eq "$(stat -c %s "$T/frozen.onnx")" ]'
/usr/bin/python3 - "$M/cnn_bn.onnx" "$T/frozen.onnx" "$T/torch.onnx" > "$T/stats.txt" <<'PY' || true
import sys
import onnx
from onnx import numpy_helper
def stats(p):
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(p).graph.initializer if "running" in i.name}
o, f, t = (stats(p) for p in sys.argv[1:4])
print("frozen keeps", all((o[k] == f[k]).all() for k in o))
print("torch moves", all((o[k] != t[k]).any() for k in o))
PY
check "frozen keeps the running statistics, torch moves every one" \
    'grep -q "frozen keeps True" "$T/stats.txt" && grep -q "torch moves True" "$T/stats.txt"'
"$GTEE_CLI" model run "$T/torch.onnx" --input "$M/cnn_bn.input.npy" --out "$T/ours.npy" > /dev/null
if command -v node >/dev/null && [ -d "$GTEE_SOURCE_DIR/npm/node_modules/onnxruntime-node" ]; then
    check "ONNX Runtime runs the model trained with batch statistics to the engine's outputs" \
        'node "$GTEE_SOURCE_DIR/tests/ml/ort_run.js" "$T/torch.onnx" "$M/cnn_bn.input.npy" "$T/ort.npy" --expect "$T/ours.npy" 2>"$T/err"'
else
    echo "note: ONNX Runtime comparison skipped (node or onnxruntime-node missing)"
fi
check "an unknown mode is refused" \
    '! "$GTEE_CLI" model train "$M/cnn_bn.onnx" --data "$DATA" --epochs 1 --out "$T/x.onnx" --batchnorm eval 2>"$T/err" && grep -q "frozen, train or torch" "$T/err" && [ ! -e "$T/x.onnx" ]'
[ "$fail" -eq 0 ] || { echo "$fail check(s) failed"; exit 1; }
echo "all checks passed"
