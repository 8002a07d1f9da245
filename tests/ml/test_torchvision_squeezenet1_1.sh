#!/usr/bin/env bash
# torchvision's squeezenet1_1 (random weights from a fixed seed, opset 17) through `gtee model run`
# agrees with ONNX Runtime and PyTorch within 1e-4 of the output's scale
# (tests/ml/torchvision_harness.sh says how it is measured), at 224 x 224 and at 225 x 225.
# Its three MaxPools have ceil_mode; at 224 every window fits (111, 55, 27 pooled to 55, 27,
# 13), at 225 each takes one more window than floor division gives (112, 56, 28 pooled to
# 56, 28, 14 instead of 55, 27, 13), a window hanging over the edge.
set -euo pipefail
source "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}/tests/ml/torchvision_harness.sh"
tv_check squeezenet1_1
tv_check --size 225 squeezenet1_1
