#!/bin/bash
# Regenerates docs/ml-conformance.md: builds the tree, generates ONNX's backend node test
# cases with Debian's python3-onnx (tests/ml/onnx_backend_gen.py) and runs the conformance
# test with GTEE_ML_CONFORMANCE_REPORT pointing at the document.
# Usage: scripts/ml_conformance_report.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
cmake -S "$root" -B "$build" -DGTEE_WERROR=ON >/dev/null
cmake --build "$build" -j2 --target ml_test_ml_conformance >/dev/null
cd "$build"
GTEE_SOURCE_DIR=$root GTEE_BINARY_DIR=$build GTEE_ML_CONFORMANCE_REPORT=$root/docs/ml-conformance.md \
    ./ml_test_ml_conformance
echo "wrote $root/docs/ml-conformance.md"
