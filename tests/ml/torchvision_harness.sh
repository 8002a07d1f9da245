# The check shared by tests/ml/test_torchvision_*.sh (sourced, not run):
#     tv_check [--size N] NAME...
# exports each named torchvision classifier (tests/ml/torchvision_export.py: random weights
# from a fixed seed, opset 17, batch 1 x 3 x 224 x 224, or N x N) into a scratch directory,
# runs it with `gtee model run` (one and two threads) and with ONNX Runtime
# (tests/ml/ort_run.js), and requires, per output,
#     max |gtee - ref| / max |ref| <= 1e-4
# with ref ONNX Runtime's output, and again with ref PyTorch's. The error is measured
# against the output's largest magnitude, not elementwise: a logit is a sum over 1000 or
# more products, and one near zero (by cancellation) carries an absolute error of the order
# of the others', so its own relative error says nothing of the engine. ONNX Runtime and
# PyTorch themselves differ by up to 6e-6 of the scale on these models, yet elementwise by
# more than 1e-4 on 1 to 37 logits of each model (up to 8e-2 on a logit of 2e-5). The
# outputs must be finite, of the same shape, and not vanish (max |ref| >= 1e-3: otherwise
# the model's random weights would not test its graph). A model the engine refuses fails
# with the engine's message, which names the node and its operator.
: "${GTEE_CLI:?GTEE_CLI must name the gtee binary}"
: "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}"
GTEE_CLI=$(readlink -f "$GTEE_CLI")
if ! command -v node >/dev/null || [ ! -d "$GTEE_SOURCE_DIR/npm/node_modules/onnxruntime-node" ]; then
    echo "SKIP: node or npm/node_modules/onnxruntime-node missing (scripts/install-deps.sh installs them)"
    exit 77
fi
if ! /usr/bin/python3 -c 'import torch, torchvision, onnx' 2>/dev/null; then
    echo "SKIP: python3-torch, python3-torchvision or python3-onnx missing (scripts/install-deps.sh installs them)"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}

# tv_close GOT REF: the rule above; prints the measured error, exit 1 when it does not hold.
tv_close() {
    /usr/bin/python3 -c '
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
if a.shape != b.shape:
    sys.exit("shape %s, reference %s" % (a.shape, b.shape))
if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
    sys.exit("not finite")
scale = float(np.abs(b).max())
if scale < 1e-3:
    sys.exit("reference output vanishes (max |ref| %.3g)" % scale)
err = float(np.abs(a.astype(np.float64) - b).max()) / scale
print("max |a-b| / max |ref| = %.2e (max |ref| %.3g)" % (err, scale))
sys.exit(0 if err <= 1e-4 else 1)' "$1" "$2"
}

tv_check() {
    local m threads msg t0 size=224 D
    if [ "${1:-}" = --size ]; then
        size=$2
        shift 2
    fi
    t0=$(date +%s)
    D=$T/$size
    if ! /usr/bin/python3 "$GTEE_SOURCE_DIR/tests/ml/torchvision_export.py" --size "$size" "$D" "$@" \
            >"$T/export.log" 2>&1; then
        cat "$T/export.log"
        echo "FAIL: exporting $* ($size x $size) with PyTorch"
        exit 1
    fi
    cat "$T/export.log"
    for m in "$@"; do
        if ! node "$GTEE_SOURCE_DIR/tests/ml/ort_run.js" "$D/$m.onnx" "$D/$m.input.npy" "$D/$m.ort.npy" 2>"$T/err"; then
            bad "$m ($size x $size): ONNX Runtime: $(cat "$T/err")"
            continue
        fi
        for threads in 1 2; do
            if ! "$GTEE_CLI" model run --threads "$threads" "$D/$m.onnx" --input "$D/$m.input.npy" \
                    --out "$D/$m.$threads.npy" >/dev/null 2>"$T/err"; then
                bad "$m ($size x $size, $threads threads): gtee model run refused or failed: $(cat "$T/err")"
                continue
            fi
            if msg=$(tv_close "$D/$m.$threads.npy" "$D/$m.ort.npy" 2>&1); then
                echo "ok: $m ($size x $size, $threads threads) agrees with ONNX Runtime: $msg"
            else
                bad "$m ($size x $size, $threads threads) differs from ONNX Runtime: $msg"
            fi
            if msg=$(tv_close "$D/$m.$threads.npy" "$D/$m.torch.npy" 2>&1); then
                echo "ok: $m ($size x $size, $threads threads) agrees with PyTorch: $msg"
            else
                bad "$m ($size x $size, $threads threads) differs from PyTorch: $msg"
            fi
        done
    done
    # The rule can fail: ONNX Runtime's output of the first model with one logit moved by
    # 2e-4 of the output's scale is refused.
    m=$1
    if [ -e "$D/$m.ort.npy" ]; then
        /usr/bin/python3 -c '
import sys, numpy as np
b = np.load(sys.argv[1]); a = b.copy(); a.flat[7] += 2e-4 * np.abs(b).max(); np.save(sys.argv[2], a)' \
            "$D/$m.ort.npy" "$T/moved.npy"
        tv_close "$T/moved.npy" "$D/$m.ort.npy" >/dev/null 2>&1 && bad "an output off by 2e-4 of its scale was accepted"
    fi
    echo "$* ($size x $size): $(($(date +%s) - t0)) s"
    [ "$fail" -eq 0 ] || { echo "$fail failures"; exit 1; }
    echo "all of $* ($size x $size) agree with ONNX Runtime and PyTorch"
}
