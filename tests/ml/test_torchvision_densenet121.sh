#!/usr/bin/env bash
# torchvision's densenet121 (random weights from a fixed seed, opset 17) through `gtee model run`
# agrees with ONNX Runtime and PyTorch within 1e-4 of the output's scale
# (tests/ml/torchvision_harness.sh says how it is measured).
set -euo pipefail
source "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}/tests/ml/torchvision_harness.sh"
tv_check densenet121
