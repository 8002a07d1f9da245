#!/usr/bin/env bash
# Slow (71 s on the shared 2-core machine at a load average of 2.2, 156 s at 7 to 9):
# the exported LeNet-style CNN (tests/ml/models/cnn.onnx) trained by `gtee model train`
# for 5 epochs on Fashion-MNIST (Adam, lr 0.002, batch 64, seed 1, one thread) reaches
# at least 89% accuracy on the 10000 test images, the quality goal.
# Measured 89.90% with oneDNN's Conv passes (90.11% with im2col); PyTorch reaches 90.06%
# with the same settings (docs/performance.md).
# Skipped under the sanitizers (too slow there) and when the dataset is not installed.
set -euo pipefail

if [ -n "${GTEE_SANITIZED:-}" ] && [ "${GTEE_SANITIZED}" != 0 ]; then
    echo "SKIP: sanitizer build (5 epochs of a CNN take too long there)"
    exit 77
fi
source "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}/tests/ml/fmnist_harness.sh"
start=$(date +%s)
"$GTEE_CLI" model train "$M/cnn.onnx" --data "$DATA" --epochs 5 --batch 64 --optimizer adam --lr 0.002 \
    --seed 1 --threads 1 --json --out "$T/cnn.onnx" | tee "$T/log.json"
acc=$(tail -n 1 "$T/log.json" | sed -n 's/.*"test_accuracy":\([0-9.eE+-]*\).*/\1/p')
[ -n "$acc" ] || { echo "FAIL: no test accuracy in the last epoch line"; exit 1; }
echo "5 epochs in $(( $(date +%s) - start )) s (load $(cut -d' ' -f1 /proc/loadavg))"
if awk -v a="$acc" 'BEGIN { exit !(a >= 0.89) }'; then
    echo "ok: CNN test accuracy after 5 epochs: $acc (>= 0.89)"
else
    echo "FAIL: CNN test accuracy after 5 epochs: $acc (< 0.89)"
    exit 1
fi
