#!/usr/bin/env bash
# bench/torch_train.py (the PyTorch reference of the training benchmark) still runs: one
# epoch of the MLP and of the CNN on the first 3000 Fashion-MNIST training images, JSON
# with the fields the benchmark reads, and a test accuracy far above chance (10 %).
# The same seed twice gives the same MLP accuracy. Skipped (77) without torch or the data.
set -euo pipefail

: "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}"
PY=/usr/bin/python3
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "SKIP: $PY cannot import torch and numpy (Debian python3-torch)"
    exit 77
fi
if [ ! -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    echo "SKIP: Fashion-MNIST (Debian dataset-fashion-mnist) missing"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
for m in mlp cnn mlp; do
    "$PY" "$GTEE_SOURCE_DIR/bench/torch_train.py" --model $m --epochs 1 --limit 3000 --threads 1 \
        >"$T/$m.json" 2>"$T/$m.log" || { cat "$T/$m.log"; echo "FAIL: $m run"; exit 1; }
    acc=$("$PY" - "$T/$m.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("samples_per_s", "test_accuracy", "per_epoch", "threads", "batch", "train_items"):
    assert k in j, "missing " + k
assert j["train_items"] == 3000 and j["samples_per_s"] > 0
print(j["test_accuracy"])
PYEOF
) || { echo "FAIL: $m JSON"; fail=$((fail + 1)); continue; }
    if "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.6 else 1)" "$acc"; then
        echo "ok: $m, 1 epoch on 3000 images: test accuracy $acc"
    else
        echo "FAIL: $m test accuracy $acc"
        fail=$((fail + 1))
    fi
    if [ -n "${first_mlp:-}" ] && [ "$m" = mlp ] && [ "$acc" != "$first_mlp" ]; then
        echo "FAIL: the same seed gave $first_mlp, then $acc"
        fail=$((fail + 1))
    fi
    [ "$m" = mlp ] && first_mlp=${first_mlp:-$acc}
done
[ "$fail" -eq 0 ]
