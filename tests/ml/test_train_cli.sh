#!/usr/bin/env bash
# `gtee model train` end to end on the exported MLP: a short run on part of Fashion-MNIST
# prints one JSON line per epoch; two runs with the same seed and thread count write
# byte-identical models and another seed a different one; the trained file is the same
# graph with new initializers, which ONNX Runtime loads and runs to the engine's outputs
# (rtol 1e-4); bad options are refused.
set -euo pipefail

source "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}/tests/ml/fmnist_harness.sh"

train() { # seed threads out [extra...]
    local seed=$1 threads=$2 out=$3
    shift 3
    "$GTEE_CLI" model train "$M/mlp.onnx" --data "$DATA" --epochs 2 --batch 32 --limit 3000 --seed "$seed" \
        --threads "$threads" --out "$out" "$@"
}

train 7 1 "$T/a.onnx" --json > "$T/a.json"
check "one JSON line per epoch" '[ "$(wc -l < "$T/a.json")" -eq 2 ]'
check "epoch lines carry loss, accuracies and samples/s" \
    'node -e "for (const l of require(\"fs\").readFileSync(process.argv[1],\"utf8\").trim().split(\"\\n\")) { const o = JSON.parse(l); if (!(o.loss > 0 && o.test_accuracy > 0.5 && o.train_accuracy > 0 && o.samples === 3000 && o.samples_per_s > 0 && o.cpu_seconds > 0)) process.exit(1); }" "$T/a.json"'
check "the second epoch has a lower loss" \
    'node -e "const l = require(\"fs\").readFileSync(process.argv[1],\"utf8\").trim().split(\"\\n\").map(JSON.parse); process.exit(l[1].loss < l[0].loss ? 0 : 1)" "$T/a.json"'
train 7 1 "$T/b.onnx" > "$T/b.txt"
check "same seed and threads: byte-identical model" 'cmp -s "$T/a.onnx" "$T/b.onnx"'
check "text progress names epochs" 'grep -q "^epoch 2/2  loss " "$T/b.txt" && grep -q "test acc" "$T/b.txt"'
train 7 2 "$T/c.onnx" > /dev/null
train 7 2 "$T/d.onnx" > /dev/null
check "same seed, two threads: byte-identical model" 'cmp -s "$T/c.onnx" "$T/d.onnx"'
train 8 1 "$T/e.onnx" > /dev/null
check "another seed: another model" '! cmp -s "$T/a.onnx" "$T/e.onnx"'
check "the trained model differs from the original" '! cmp -s "$T/a.onnx" "$M/mlp.onnx"'
check "same size as the original graph (initializers replaced, not added)" \
    '[ $(( $(stat -c %s "$T/a.onnx") - $(stat -c %s "$M/mlp.onnx") )) -lt 4096 ]'

"$GTEE_CLI" model run "$T/a.onnx" --input "$M/mlp.input.npy" --out "$T/ours.npy" > /dev/null
"$GTEE_CLI" model run "$M/mlp.onnx" --input "$M/mlp.input.npy" --out "$T/orig.npy" > /dev/null
if command -v node >/dev/null && [ -d "$GTEE_SOURCE_DIR/npm/node_modules/onnxruntime-node" ]; then
    check "ONNX Runtime runs the trained model to the engine's outputs" \
        'node "$GTEE_SOURCE_DIR/tests/ml/ort_run.js" "$T/a.onnx" "$M/mlp.input.npy" "$T/ort.npy" --expect "$T/ours.npy" 2>"$T/err"'
    check "and not to the untrained model's outputs" \
        '! node "$GTEE_SOURCE_DIR/tests/ml/ort_run.js" "$T/a.onnx" "$M/mlp.input.npy" "$T/ort2.npy" --expect "$T/orig.npy" 2>/dev/null'
else
    echo "note: ONNX Runtime comparison skipped (node or onnxruntime-node missing)"
fi

if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
    mkdir "$T/npy"
    /usr/bin/python3 - "$T/npy" <<'PY'
import sys
import numpy as np
r = np.random.default_rng(3)
x = r.random((256, 1, 28, 28), dtype=np.float32)
y = (x.reshape(256, -1)[:, :392].sum(1) > x.reshape(256, -1)[:, 392:].sum(1)).astype(np.int64)
np.save(sys.argv[1] + "/x_train.npy", x)
np.save(sys.argv[1] + "/y_train.npy", y)
PY
    check ".npy training data (no test split), SGD with momentum and weight decay" \
        '"$GTEE_CLI" model train "$M/mlp.onnx" --data "$T/npy" --epochs 2 --optimizer sgd --lr 0.05 --momentum 0.9 \
            --weight-decay 1e-4 --json --out "$T/npy.onnx" > "$T/npy.json" && [ "$(wc -l < "$T/npy.json")" -eq 2 ] &&
         ! grep -q test_accuracy "$T/npy.json" && grep -q "\"samples\":256" "$T/npy.json"'
fi
check "unknown optimizer refused" '! "$GTEE_CLI" model train "$M/mlp.onnx" --data "$DATA" --epochs 1 --optimizer rmsprop --out "$T/x.onnx" 2>/dev/null'
check "missing --out refused" '! "$GTEE_CLI" model train "$M/mlp.onnx" --data "$DATA" --epochs 1 2>/dev/null'
check "a directory without data is refused with its name" \
    '! "$GTEE_CLI" model train "$M/mlp.onnx" --data "$T" --epochs 1 --out "$T/x.onnx" 2>"$T/err" && grep -q "x_train.npy" "$T/err"'
check "no output file after a failure" '[ ! -e "$T/x.onnx" ]'
[ "$fail" -eq 0 ] || { echo "$fail failures"; exit 1; }
echo "model train: all checks passed"
