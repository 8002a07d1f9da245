#!/usr/bin/env bash
# The committed reference models (tests/ml/models/*.onnx, sample inputs, PyTorch outputs,
# manifest.json) are exactly what tests/ml/models/export.py writes: the export runs again
# in a temporary directory and every file must be byte-identical. Skipped (77) when
# /usr/bin/python3 lacks torch or onnx, or has another torch version than the manifest's.
set -euo pipefail

: "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}"
M="$GTEE_SOURCE_DIR/tests/ml/models"
PY=/usr/bin/python3
if ! "$PY" -c 'import torch, onnx, numpy' 2>/dev/null; then
    echo "SKIP: $PY cannot import torch, onnx and numpy (Debian python3-torch, python3-onnx)"
    exit 77
fi
have=$("$PY" -c 'import torch; print(torch.__version__)')
want=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["torch"])' "$M/manifest.json")
if [ "$have" != "$want" ]; then
    echo "SKIP: torch $have here, the committed models were exported with torch $want"
    exit 77
fi
if [ ! -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    echo "SKIP: Fashion-MNIST (Debian dataset-fashion-mnist) missing; the sample inputs come from it"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$PY" "$M/export.py" "$T" 2>"$T/log" || { cat "$T/log"; echo "FAIL: export.py failed"; exit 1; }
fail=0
for f in "$T"/*; do
    name=$(basename "$f")
    [ "$name" = log ] && continue
    if [ ! -f "$M/$name" ]; then
        echo "FAIL: export.py writes $name, which is not committed"
        fail=$((fail + 1))
    elif ! cmp -s "$f" "$M/$name"; then
        echo "FAIL: $name differs from the committed file"
        fail=$((fail + 1))
    else
        echo "ok: $name"
    fi
done
for f in "$M"/*.onnx "$M"/*.npy; do
    [ -f "$T/$(basename "$f")" ] || { echo "FAIL: committed $(basename "$f") is no longer exported"; fail=$((fail + 1)); }
done
[ "$fail" -eq 0 ] || exit 1
echo "committed models match a fresh export (torch $have)"
