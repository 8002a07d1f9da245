#!/usr/bin/env bash
# ONNX Runtime (onnxruntime-node) runs every committed reference model in tests/ml/models
# and gives PyTorch's output for the sample input within rtol 1e-4, atol 1e-5, with one
# and with two threads. This shows the models and tests/ml/ort_run.js are sound before the
# engine is compared with either.
set -euo pipefail

: "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}"
M="$GTEE_SOURCE_DIR/tests/ml/models"
if ! command -v node >/dev/null || [ ! -d "$GTEE_SOURCE_DIR/npm/node_modules/onnxruntime-node" ]; then
    echo "SKIP: node or npm/node_modules/onnxruntime-node missing (scripts/install-deps.sh installs them)"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail=0
models=$(node -e 'for (const m of require(process.argv[1]).models) console.log(m.name)' "$M/manifest.json")
[ -n "$models" ] || { echo "FAIL: no models listed in $M/manifest.json"; exit 1; }
for m in $models; do
    for threads in 1 2; do
        if node "$GTEE_SOURCE_DIR/tests/ml/ort_run.js" "$M/$m.onnx" "$M/$m.input.npy" "$T/$m.npy" \
                --threads "$threads" --expect "$M/$m.torch.npy" 2>"$T/err"; then
            echo "ok: $m ($threads threads): $(sed 's/^ort_run: //' "$T/err")"
        else
            echo "FAIL: $m ($threads threads): $(cat "$T/err")"
            fail=$((fail + 1))
        fi
    done
done
# the comparison itself must be able to fail: a model's output against another's reference
if node "$GTEE_SOURCE_DIR/tests/ml/ort_run.js" "$M/cnn.onnx" "$M/cnn.input.npy" "$T/x.npy" \
        --expect "$M/cnn_bn.torch.npy" 2>"$T/err"; then
    echo "FAIL: cnn output accepted as cnn_bn's"
    fail=$((fail + 1))
fi
[ "$fail" -eq 0 ] || { echo "$fail failures"; exit 1; }
echo "all models match PyTorch under ONNX Runtime"
