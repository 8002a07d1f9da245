#!/usr/bin/env bash
# A classifier head ending in log_softmax (PyTorch 1.13, exported at opset 17 with
# LogSoftmax) trains in `gtee model train` as PyTorch trains it with nll_loss: from the same
# initial weights, on the same full batch, plain SGD, the engine's loss before each of 8
# steps equals PyTorch's within 1e-4 relative (float sums in another order); the default
# loss (auto) picks the negative log-likelihood for such a graph, and --loss nll gives the
# same figures. Model, data and PyTorch's losses are made by tests/ml/gen_logsoftmax_train.py
# from a fixed seed. Skipped (77) without torch.
set -euo pipefail

: "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}"
: "${GTEE_CLI:?GTEE_CLI must name the gtee binary}"
PY=/usr/bin/python3
if ! "$PY" -c 'import torch, numpy, onnx' 2>/dev/null; then
    echo "SKIP: $PY cannot import torch, numpy and onnx (Debian python3-torch, python3-onnx)"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=$((fail + 1)); fi; }

"$PY" "$GTEE_SOURCE_DIR/tests/ml/gen_logsoftmax_train.py" "$T/d" 8 0.5 >"$T/gen.log" 2>&1 || { cat "$T/gen.log"; exit 1; }
train() { # out.json [options]
    local out=$1
    shift
    "$GTEE_CLI" model train "$T/d/model.onnx" --data "$T/d" --epochs 8 --batch 64 --optimizer sgd --lr 0.5 \
        --out "$T/trained.onnx" --force --json "$@" >"$out"
}
compare() { # engine.json
    "$PY" - "$1" "$T/d/torch_losses.json" <<'PY'
import json, sys
ours = [json.loads(l)["loss"] for l in open(sys.argv[1]) if l.strip()]
ref = json.load(open(sys.argv[2]))["losses"]
assert len(ours) == len(ref) == 8, (len(ours), len(ref))
worst = max(abs(a - b) / abs(b) for a, b in zip(ours, ref))
print("losses (engine, PyTorch):", ", ".join("%.6f/%.6f" % p for p in zip(ours, ref)), "worst rel %.2e" % worst)
assert ref[-1] < ref[0] - 0.05, "PyTorch's loss did not fall: the check would not see a wrong gradient"
sys.exit(0 if worst <= 1e-4 else 1)
PY
}
check "the LogSoftmax head trains (default loss) to PyTorch's nll_loss losses within 1e-4" \
    'train "$T/auto.json" && compare "$T/auto.json"'
check "--loss nll gives the same losses" 'train "$T/nll.json" --loss nll && compare "$T/nll.json"'
check "an unknown loss is refused" \
    '! "$GTEE_CLI" model train "$T/d/model.onnx" --data "$T/d" --epochs 1 --out "$T/x.onnx" --loss hinge 2>"$T/err" && grep -q "auto, xent or nll" "$T/err" && [ ! -e "$T/x.onnx" ]'
[ "$fail" -eq 0 ] || { echo "$fail check(s) failed"; exit 1; }
echo "all checks passed"
