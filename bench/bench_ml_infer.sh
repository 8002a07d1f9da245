#!/usr/bin/env bash
# Inference benchmark (not a test): the engine beside ONNX Runtime (onnxruntime-node) on the
# same ONNX files and inputs: the committed reference models of tests/ml/models (MLP, CNN,
# ResNet-style CNN, transformer encoder; exported from PyTorch), batch 1 and 64, and
# torchvision's resnet18 and mobilenet_v2 (exported here as the torchvision tests export them,
# random weights from a fixed seed, opset 17, with a free batch axis; Debian's
# python3-torchvision), batch 1 and 32 (TV_RUNS runs each, default 5), 1 and 2 threads.
# Prints the best and
# median time per run of each, the ratio of the best times ours/theirs (goal <= 1.0; the
# best run is the one least disturbed by other load), and each process's peak RSS (node's
# includes its own runtime) with our arena size. Build with optimization (make, or
# -DCMAKE_BUILD_TYPE=RelWithDebInfo). It starts with the machine's kernel report (the CPU,
# oneDNN's ISA, OpenBLAS's core, the rule between them: docs/ml.md, "Kernels") and gives
# each row the kernels its matrix products and convolutions ran on (counted by kind).
# Usage: [MODELS="mlp cnn resnet transformer resnet18 mobilenet_v2"] [TV_RUNS=5] bench/bench_ml_infer.sh [BUILD_DIR] [RUNS]   (default: build, 50)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
runs=${2:-50}
. "$root/bench/link.sh"
libs=$(bench_link "$build") || exit 2
for tool in node pkg-config cc; do
    command -v "$tool" >/dev/null || { echo "bench_ml_infer: needs $tool" >&2; exit 2; }
done
work="$build/bench-ml"
mkdir -p "$work"
models="$root/tests/ml/models"
bin="$build/bench_ml_infer"
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/include" "$root/bench/bench_ml_infer.c" $libs -o "$bin"

# "oneDNN gemm:jit x4, OpenBLAS x1, Conv oneDNN jit_dw:avx2 x17": the products and the
# convolutions of a run by kernel
kernel_counts() {
    sed -n -e 's/^\(MatMul\|Gemm\) .*: \(oneDNN [^ ]*\|OpenBLAS\) .*/\2/p' \
        -e 's/^Conv .*: \(oneDNN [^ ,]*\|im2col\).*/Conv \1/p' "$1" | sort | uniq -c |
        awk '{ n = $1; $1 = ""; printf "%s%s x%d", sep, substr($0, 2), n; sep = ", " } END { if (!NR) printf "none" }'
}
printed_machine=0
printf '%-8s %5s %3s %9s %9s %9s %9s %6s %10s %10s %11s  %s\n' model batch thr ours_best ours_med ort_best ort_med ratio \
    ours_rss ort_rss arena_bytes kernels
# torchvision's classifiers, exported once into $work/tv with the batch axis left free.
tv_export() {
    [ -s "$work/tv/$1.onnx" ] && return 0
    /usr/bin/python3 - "$root/tests/ml" "$work/tv" "$1" <<'PY'
import os, sys, warnings
sys.path.insert(0, sys.argv[1])
import torch, torchvision_export as tv
torch.set_num_threads(1)
os.makedirs(sys.argv[2], exist_ok=True)
model, x = tv.build(sys.argv[3], 224)
with torch.no_grad(), warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch.onnx.export(model, (x,), os.path.join(sys.argv[2], sys.argv[3] + ".onnx"), opset_version=tv.OPSET,
                      input_names=["input"], output_names=["logits"], do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
PY
}
for model in ${MODELS:-mlp cnn resnet transformer resnet18 mobilenet_v2}; do
    file=$models/$model.onnx batches="1 64" n=$runs
    if [ ! -e "$file" ]; then
        tv_export "$model" || { echo "bench_ml_infer: cannot export torchvision's $model" >&2; exit 2; }
        file=$work/tv/$model.onnx batches="1 32" n=${TV_RUNS:-5}
    fi
    for batch in $batches; do
        for thr in 1 2; do
            in="$work/$model-$batch.bin"
            shape="$work/$model-$batch.json"
            read -r ours ours_med rss arena < <("$bin" "$file" "$batch" "$thr" "$n" \
                "$in" "$shape" "$work/kernels.txt")
            if [ "$printed_machine" = 0 ]; then
                sed '/^$/q' "$work/kernels.txt"
                printed_machine=1
            fi
            read -r theirs ort_med ort_rss < <(node "$root/bench/bench_ml_ort.js" "$root" \
                "$file" "$in" "$shape" "$thr" "$n")
            ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
            printf '%-8s %5s %3s %9s %9s %9s %9s %6s %8sKB %8sKB %11s  %s\n' "$model" "$batch" "$thr" "$ours" \
                "$ours_med" "$theirs" "$ort_med" "$ratio" "$rss" "$ort_rss" "$arena" "$(kernel_counts "$work/kernels.txt")"
        done
    done
done
