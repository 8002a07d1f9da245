#!/usr/bin/env bash
# The engine against ONNX Runtime on the committed reference models (tests/ml/models: MLP,
# CNN, CNN with BatchNormalization, ResNet-style, transformer encoder, exported from
# PyTorch): `gtee model run` on each model's sample input, with one and two threads, gives
# ONNX Runtime's output (tests/ml/ort_run.js) within 1e-4 relative error (plus 1e-5
# absolute near zero), and PyTorch's own output within the same bounds. The comparison is
# shown able to fail (one model's output against another's). Also `gtee model run`'s
# refusals: wrong input shape, wrong input count.
set -euo pipefail

: "${GTEE_CLI:?GTEE_CLI must name the gtee binary}"
: "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}"
GTEE_CLI=$(readlink -f "$GTEE_CLI")
M="$GTEE_SOURCE_DIR/tests/ml/models"
if ! command -v node >/dev/null || [ ! -d "$GTEE_SOURCE_DIR/npm/node_modules/onnxruntime-node" ]; then
    echo "SKIP: node or npm/node_modules/onnxruntime-node missing (scripts/install-deps.sh installs them)"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail=0
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}
# close A B: every element of A within 1e-5 + 1e-4 * |B|, same shape.
close() {
    /usr/bin/python3 -c '
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
sys.exit(0 if a.shape == b.shape and np.all(np.abs(a - b) <= 1e-5 + 1e-4 * np.abs(b)) else 1)' "$1" "$2"
}

models=$(node -e 'for (const m of require(process.argv[1]).models) console.log(m.name)' "$M/manifest.json")
[ -n "$models" ] || { echo "FAIL: no models in $M/manifest.json"; exit 1; }
for m in $models; do
    for threads in 1 2; do
        if ! "$GTEE_CLI" model run --threads "$threads" "$M/$m.onnx" --input "$M/$m.input.npy" \
                --out "$T/$m.$threads.npy" >"$T/out" 2>"$T/err"; then
            bad "$m ($threads threads): gtee model run: $(cat "$T/err")"
            continue
        fi
        if node "$GTEE_SOURCE_DIR/tests/ml/ort_run.js" "$M/$m.onnx" "$M/$m.input.npy" "$T/$m.ort.npy" \
                --threads "$threads" --expect "$T/$m.$threads.npy" --rtol 1e-4 --atol 1e-5 2>"$T/err"; then
            echo "ok: $m ($threads threads) agrees with ONNX Runtime: $(sed 's/^ort_run: //' "$T/err")"
        else
            bad "$m ($threads threads) differs from ONNX Runtime: $(cat "$T/err")"
        fi
        close "$T/$m.$threads.npy" "$M/$m.torch.npy" || bad "$m ($threads threads) differs from PyTorch"
    done
done
# the comparisons can fail: the CNN's output is not the CNN-with-BatchNormalization's
if node "$GTEE_SOURCE_DIR/tests/ml/ort_run.js" "$M/cnn_bn.onnx" "$M/cnn_bn.input.npy" "$T/x.npy" \
        --expect "$T/cnn.1.npy" 2>/dev/null; then
    bad "cnn's output accepted as cnn_bn's by ONNX Runtime's comparison"
fi
close "$T/cnn.1.npy" "$M/cnn_bn.torch.npy" && bad "cnn's output accepted as cnn_bn's PyTorch reference"

# refusals: an input of the wrong shape (the transformer's ids for the MLP), two inputs
set +e
"$GTEE_CLI" model run "$M/mlp.onnx" --input "$M/cnn.input.npy" --input "$M/cnn.input.npy" --out "$T/y.npy" \
    >/dev/null 2>"$T/err"
rc=$?
set -e
[ "$rc" = 2 ] || bad "two inputs for a one-input model: exit $rc"
grep -q "1 inputs, 2 --input files" "$T/err" || bad "input count message: $(cat "$T/err")"
/usr/bin/python3 -c 'import numpy as np; np.save("'"$T"'/bad.npy", np.zeros((2, 1, 28, 27), np.float32))'
set +e
"$GTEE_CLI" model run "$M/mlp.onnx" --input "$T/bad.npy" --out "$T/y.npy" >/dev/null 2>"$T/err"
rc=$?
set -e
[ "$rc" = 2 ] || bad "wrong input shape: exit $rc"
grep -q "dimension 3 is 27, the model expects 28" "$T/err" || bad "shape message: $(cat "$T/err")"
[ -e "$T/y.npy" ] && bad "an output was written for a refused input"

[ "$fail" -eq 0 ] || { echo "$fail failures"; exit 1; }
echo "all reference models agree with ONNX Runtime and PyTorch"
