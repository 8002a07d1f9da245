#!/usr/bin/env bash
# Training throughput of the engine (`gtee model train`) against PyTorch
# (bench/torch_train.py) on the same exported architectures, initial weights, data
# (Fashion-MNIST), optimizer, batch size and thread count. One run each; prints per model
# the samples/s of both, their ratio (ours / PyTorch; the goal is >= 3), the same per
# second of process CPU time (all threads; on a shared machine the wall-clock figures fall
# with the other processes' load, CPU time much less), the test accuracy after the last
# epoch of both, and the 1-minute load average before each run.
#
#   bench/bench_ml_train.sh [BUILD_DIR]      (environment: MODELS="mlp cnn", EPOCHS=5,
#                                             CNN_EPOCHS=$EPOCHS, BATCH=64, THREADS=1,
#                                             LR=0.001: Adam's rate)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
GTEE=$BUILD/gtee
DATA=/usr/share/datasets/fashion-mnist
MODELS=${MODELS:-mlp cnn}
EPOCHS=${EPOCHS:-5}
CNN_EPOCHS=${CNN_EPOCHS:-$EPOCHS}
BATCH=${BATCH:-64}
THREADS=${THREADS:-1}
LR=${LR:-0.001}
[ -x "$GTEE" ] || { echo "no gtee binary at $GTEE (build first)" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# samples/s over all epochs (wall clock, CPU time) and the last test accuracy, from our
# --json lines
ours_summary() {
    python3 -c '
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s = sum(l["samples"] for l in ls); t = sum(l["seconds"] for l in ls); c = sum(l["cpu_seconds"] for l in ls)
print("%.1f %.1f %.4f" % (s / t, s / c, ls[-1]["test_accuracy"]))' "$1"
}
load() { cut -d' ' -f1 /proc/loadavg; }

printf '%-6s %-6s %-5s %-7s %10s %10s %6s %10s %10s %6s %8s %9s %10s %10s\n' model epochs batch threads ours_sps \
    torch_sps ratio ours_cpu torch_cpu ratio ours_acc torch_acc ours_load torch_load
for m in $MODELS; do
    e=$EPOCHS
    [ "$m" = mlp ] || e=$CNN_EPOCHS
    ours_load=$(load)
    "$GTEE" model train "$ROOT/tests/ml/models/$m.onnx" --data "$DATA" --epochs "$e" --batch "$BATCH" \
        --optimizer adam --lr "$LR" --seed 1 --threads "$THREADS" --json --out "$T/$m.onnx" > "$T/$m.ours.json"
    read -r ours_sps ours_cps ours_acc < <(ours_summary "$T/$m.ours.json")
    torch_load=$(load)
    /usr/bin/python3 "$ROOT/bench/torch_train.py" --model "$m" --epochs "$e" --batch "$BATCH" --threads "$THREADS" \
        --optim adam --lr "$LR" --seed 1 > "$T/$m.torch.json" 2> "$T/$m.torch.err"
    read -r torch_sps torch_cps torch_acc < <(python3 -c '
import json, sys
o = json.load(open(sys.argv[1])); c = sum(e["cpu_seconds"] for e in o["per_epoch"])
print(o["samples_per_s"], "%.1f" % (o["train_items"] * o["epochs"] / c), o["test_accuracy"])' "$T/$m.torch.json")
    ratio=$(awk -v a="$ours_sps" -v b="$torch_sps" 'BEGIN { printf "%.2f", a / b }')
    cratio=$(awk -v a="$ours_cps" -v b="$torch_cps" 'BEGIN { printf "%.2f", a / b }')
    printf '%-6s %-6s %-5s %-7s %10s %10s %6s %10s %10s %6s %8s %9s %10s %10s\n' "$m" "$e" "$BATCH" "$THREADS" \
        "$ours_sps" "$torch_sps" "$ratio" "$ours_cps" "$torch_cps" "$cratio" "$ours_acc" "$torch_acc" "$ours_load" \
        "$torch_load"
done
echo "cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg)"
