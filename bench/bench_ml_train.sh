#!/usr/bin/env bash
# Training throughput of the engine (`gtee model train`) against PyTorch
# (bench/torch_train.py) on the same exported architectures, initial weights, data
# (Fashion-MNIST), optimizer, batch size and thread count. One run each; prints per model
# the samples/s of both, their ratio (ours / PyTorch; the goal is >= 1.5), the same per
# second of process CPU time (all threads; on a shared machine the wall-clock figures fall
# with the other processes' load, CPU time much less), the test accuracy after the last
# epoch of both, and the 1-minute load average before each run.
# The machine's limit: bench/bench_sgemm.c measures the peak GFLOP/s of the matrix-product
# kernel the engine uses (its report, printed first, names it) on THREADS threads; a step's
# FLOPs are twice its multiply-adds (`model train --json`'s step_macs: its products and
# convolutions, forward and backward); limit_sps = peak / FLOPs per sample, and of_limit is
# our samples/s as a fraction of it (the goal is >= 0.8). The same per CPU second
# (cpu_limit, of_cpu_limit: the peak and our samples per second of process CPU time), which
# the other load of a shared machine disturbs much less.
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
. "$ROOT/bench/link.sh"
libs=$(bench_link "$BUILD") || exit 2
cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/src" "$ROOT/bench/bench_sgemm.c" $libs -o "$BUILD/bench_sgemm"
"$BUILD/bench_sgemm" 0.5 peak "$THREADS" > "$T/peak.txt"
sed '$d' "$T/peak.txt"
read -r PEAK CPU_PEAK < <(sed -n 's/^peak threads=[0-9]* gflops=\([0-9.]*\) cpu_gflops=\([0-9.]*\)/\1 \2/p' "$T/peak.txt")
echo "peak of the matrix-product kernel in use, $THREADS thread(s): $PEAK GFLOP/s, $CPU_PEAK per CPU second" \
    "(squares 512 and 1024)"

# samples/s over all epochs (wall clock, CPU time) and the last test accuracy, from our
# --json lines
ours_summary() {
    python3 -c '
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s = sum(l["samples"] for l in ls); t = sum(l["seconds"] for l in ls); c = sum(l["cpu_seconds"] for l in ls)
# FLOPs per sample: the multiply-adds of the last step over its batch (the remainder of the epoch)
per = ls[-1]["samples"] % int(sys.argv[2]) or int(sys.argv[2])
print("%.1f %.1f %.4f %.0f" % (s / t, s / c, ls[-1]["test_accuracy"], 2 * ls[-1]["step_macs"] / per))' "$1" "$2"
}
load() { cut -d' ' -f1 /proc/loadavg; }

printf '%-6s %-6s %-5s %-7s %10s %10s %8s %10s %6s %10s %10s %12s %10s %6s %8s %9s %10s %10s\n' model epochs batch \
    threads ours_sps limit_sps of_limit torch_sps ratio ours_cpu cpu_limit of_cpu_limit torch_cpu ratio ours_acc \
    torch_acc ours_load torch_load
for m in $MODELS; do
    e=$EPOCHS
    [ "$m" = mlp ] || e=$CNN_EPOCHS
    ours_load=$(load)
    "$GTEE" model train "$ROOT/tests/ml/models/$m.onnx" --data "$DATA" --epochs "$e" --batch "$BATCH" \
        --optimizer adam --lr "$LR" --seed 1 --threads "$THREADS" --json --out "$T/$m.onnx" > "$T/$m.ours.json"
    read -r ours_sps ours_cps ours_acc flop_per_sample < <(ours_summary "$T/$m.ours.json" "$BATCH")
    limit=$(awk -v p="$PEAK" -v f="$flop_per_sample" 'BEGIN { printf "%.0f", p * 1e9 / f }')
    of_limit=$(awk -v a="$ours_sps" -v b="$limit" 'BEGIN { printf "%.2f", a / b }')
    cpu_limit=$(awk -v p="$CPU_PEAK" -v f="$flop_per_sample" 'BEGIN { printf "%.0f", p * 1e9 / f }')
    of_cpu_limit=$(awk -v a="$ours_cps" -v b="$cpu_limit" 'BEGIN { printf "%.2f", a / b }')
    torch_load=$(load)
    # PyTorch's BLAS (Debian's threaded OpenBLAS) gets the same thread count as its
    # set_num_threads: otherwise an idle OpenBLAS thread spins on a second CPU (system time)
    # and PyTorch uses two CPUs at "one thread", which the per-CPU figure then charges it
    # for. This makes PyTorch no slower (measured slightly faster) and its CPU time honest.
    OPENBLAS_NUM_THREADS=$THREADS /usr/bin/python3 "$ROOT/bench/torch_train.py" --model "$m" --epochs "$e" --batch "$BATCH" --threads "$THREADS" \
        --optim adam --lr "$LR" --seed 1 > "$T/$m.torch.json" 2> "$T/$m.torch.err"
    read -r torch_sps torch_cps torch_acc < <(python3 -c '
import json, sys
o = json.load(open(sys.argv[1])); c = sum(e["cpu_seconds"] for e in o["per_epoch"])
print(o["samples_per_s"], "%.1f" % (o["train_items"] * o["epochs"] / c), o["test_accuracy"])' "$T/$m.torch.json")
    ratio=$(awk -v a="$ours_sps" -v b="$torch_sps" 'BEGIN { printf "%.2f", a / b }')
    cratio=$(awk -v a="$ours_cps" -v b="$torch_cps" 'BEGIN { printf "%.2f", a / b }')
    printf '%-6s %-6s %-5s %-7s %10s %10s %8s %10s %6s %10s %10s %12s %10s %6s %8s %9s %10s %10s\n' "$m" "$e" \
        "$BATCH" "$THREADS" "$ours_sps" "$limit" "$of_limit" "$torch_sps" "$ratio" "$ours_cps" "$cpu_limit" \
        "$of_cpu_limit" "$torch_cps" "$cratio" "$ours_acc" "$torch_acc" "$ours_load" "$torch_load"
done
echo "cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1) (family $(lscpu | sed -n 's/^CPU family: *//p'),\
 model $(lscpu | sed -n 's/^Model: *//p')), $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg)"
