#!/usr/bin/env bash
# Slow (about 20 s on two cores): the exported MLP (tests/ml/models/mlp.onnx) trained by
# `gtee model train` for 5 epochs on Fashion-MNIST (Adam, lr 0.001, batch 64, seed 1)
# reaches at least 85% accuracy on the 10000 test images. The CNN's 5-epoch run takes
# minutes on this engine and is measured by bench/bench_ml_train.sh instead.
set -euo pipefail

source "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}/tests/ml/fmnist_harness.sh"
"$GTEE_CLI" model train "$M/mlp.onnx" --data "$DATA" --epochs 5 --batch 64 --optimizer adam --lr 0.001 \
    --seed 1 --threads 2 --json --out "$T/mlp.onnx" | tee "$T/log.json"
acc=$(tail -n 1 "$T/log.json" | sed -n 's/.*"test_accuracy":\([0-9.eE+-]*\).*/\1/p')
[ -n "$acc" ] || { echo "FAIL: no test accuracy in the last epoch line"; exit 1; }
if awk -v a="$acc" 'BEGIN { exit !(a >= 0.85) }'; then
    echo "ok: MLP test accuracy after 5 epochs: $acc (>= 0.85)"
else
    echo "FAIL: MLP test accuracy after 5 epochs: $acc (< 0.85)"
    exit 1
fi
