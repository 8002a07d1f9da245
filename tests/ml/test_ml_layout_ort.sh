#!/usr/bin/env bash
# ONNX Runtime (onnxruntime-node) agrees with `gtee model run` (whose inference plan keeps
# activations channel-blocked, src/ml/layout.c) on every graph of tests/ml/layout, within
# rtol 1e-4, atol 1e-5, at batch 3 with one and two threads.
set -euo pipefail

: "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}"
: "${GTEE_CLI:?GTEE_CLI must name the gtee binary}"
if ! command -v node >/dev/null || [ ! -d "$GTEE_SOURCE_DIR/npm/node_modules/onnxruntime-node" ]; then
    echo "SKIP: node or npm/node_modules/onnxruntime-node missing (scripts/install-deps.sh installs them)"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 -c 'import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(5).uniform(-1, 1, (3, 3, 9, 9)).astype(np.float32))' "$T/x.npy"

fail=0 n=0
for model in "$GTEE_SOURCE_DIR"/tests/ml/layout/*.onnx; do
    name=$(basename "$model" .onnx)
    for threads in 1 2; do
        n=$((n + 1))
        "$GTEE_CLI" model run "$model" --input "$T/x.npy" --out "$T/$name.$threads.npy" --threads "$threads" >/dev/null
        if node "$GTEE_SOURCE_DIR/tests/ml/ort_run.js" "$model" "$T/x.npy" "$T/ort.npy" --threads "$threads" \
                --expect "$T/$name.$threads.npy" 2>"$T/err"; then
            echo "ok: $name ($threads threads)"
        else
            echo "FAIL: $name ($threads threads): $(cat "$T/err")"
            fail=$((fail + 1))
        fi
    done
done
[ "$n" -ge 18 ] || { echo "FAIL: only $n runs (tests/ml/layout incomplete?)"; exit 1; }
[ "$fail" -eq 0 ] || { echo "$fail failures"; exit 1; }
echo "ONNX Runtime agrees on all $n runs"
