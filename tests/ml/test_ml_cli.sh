#!/usr/bin/env bash
# `gtee model` as a developer drives it (docs/ml.md, "Commands"): inspect of a PyTorch
# export (text and JSON: opset, symbolic batch, operator counts, parameters), inspect of a
# model with unsupported operators (listed with node, operator and reason), and the refusal
# of a file that is not a model. Models come from tests/ml/export_reference_models.py and
# from python3-onnx's helper, made here.
set -euo pipefail

: "${GTEE_SOURCE_DIR:?}"
. "$(dirname "$0")/../cli_harness.sh"
cd "$T"

/usr/bin/python3 "$GTEE_SOURCE_DIR/tests/ml/export_reference_models.py" "$T/models" mlp >/dev/null 2>&1
/usr/bin/python3 - "$T/unsupported.onnx" <<'PY'
import sys
from onnx import TensorProto, helper
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
nodes = [helper.make_node("Selu", ["x"], ["h"], name="act"),
         helper.make_node("Relu", ["h"], ["r"], name="ok"),
         helper.make_node("TopK", ["r", "k"], ["y", "i"], name="pick")]
k = helper.make_tensor("k", TensorProto.INT64, [1], [2])
g = helper.make_graph(nodes, "g", [x], [y], [k])
open(sys.argv[1], "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
PY

run model inspect models/mlp/model.onnx
[ "$rc" = 0 ] || bad "inspect mlp exits $rc"
grep -q "opset 14" out || bad "inspect shows the opset"
grep -q "input  float \[batch, 1, 28, 28\]" out || bad "inspect shows the symbolic batch: $(cat out)"
grep -Eq "Gemm +3" out || bad "inspect counts Gemm nodes"
grep -q "supported: yes" out || bad "mlp is supported"

run model inspect --json models/mlp/model.onnx
[ "$rc" = 0 ] || bad "inspect --json exits $rc"
/usr/bin/python3 - "$T/out" <<'PY' || bad "inspect --json fields"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["opset"] == 14 and d["supported"] is True and d["unsupported"] == []
assert d["inputs"][0]["shape"] == ["batch", 1, 28, 28] and d["inputs"][0]["dtype"] == "float"
assert d["ops"]["Gemm"] == 3
# 784*64 + 64 + 64*32 + 32 + 32*10 + 10 weights and biases
assert d["parameters"] == 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10, d["parameters"]
PY

run model inspect unsupported.onnx
[ "$rc" = 0 ] || bad "inspect of an unsupported model still reports (exit $rc)"
grep -q "supported: no" out || bad "unsupported model flagged"
grep -q "node 'act' (#0, Selu): operator Selu is not supported" out || bad "Selu listed: $(cat out)"
grep -q "node 'pick' (#2, TopK)" out || bad "TopK listed"
grep -q "'ok'" out && bad "a supported node is listed"

run model inspect --json unsupported.onnx
/usr/bin/python3 - "$T/out" <<'PY' || bad "inspect --json lists the unsupported nodes"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["supported"] is False
assert [(u["node"], u["op"]) for u in d["unsupported"]] == [(0, "Selu"), (2, "TopK")], d["unsupported"]
PY

head -c 100 /dev/urandom >junk.onnx
run model inspect junk.onnx
[ "$rc" = 5 ] || bad "junk is a format error (exit $rc)"
grep -q "not an ONNX model" err || bad "junk message: $(cat err)"

run model inspect missing.onnx
[ "$rc" = 3 ] || bad "missing file is an I/O error (exit $rc)"

run model run unsupported.onnx
[ "$rc" = 2 ] || bad "run without --input/--out is a usage error (exit $rc)"

# --verbose: the CPU, the kernels chosen for it and why, and one line per matrix product
run model run --verbose --threads 2 "$GTEE_SOURCE_DIR/tests/ml/models/mlp.onnx" \
    --input "$GTEE_SOURCE_DIR/tests/ml/models/mlp.input.npy" --out verbose.npy
[ "$rc" = 0 ] || bad "run --verbose exits $rc: $(cat err)"
grep -q "^cpu: .*(family [0-9]*, model [0-9]*): avx2 \(yes\|no\), avx512 \(yes\|no\)" out ||
    bad "--verbose names the CPU and its flags: $(cat out)"
grep -q "^oneDNN [0-9.]*: effective ISA " out || bad "--verbose names oneDNN's ISA"
grep -q "^OpenBLAS: core [A-Za-z0-9_]*, [a-z0-9]* kernels" out || bad "--verbose names OpenBLAS's core"
# The engine runs on OpenBLAS's serial build (CMakeLists.txt says why), found through the
# binary's RUNPATH; a threaded build put first by the environment is named and warned of.
grep -q "^OpenBLAS: .* kernels.*, serial build$" out || bad "--verbose: not on OpenBLAS's serial build: $(grep OpenBLAS out)"
threaded=/usr/lib/$(gcc -print-multiarch)/openblas-pthread
if [ -e "$threaded/libopenblas.so.0" ]; then
    LD_LIBRARY_PATH=$threaded "$GTEE_CLI" model run --verbose --threads 2 "$GTEE_SOURCE_DIR/tests/ml/models/mlp.onnx" \
        --input "$GTEE_SOURCE_DIR/tests/ml/models/mlp.input.npy" --out verbose.npy --force >out 2>err ||
        bad "run --verbose on the threaded OpenBLAS: $(cat err)"
    grep -q "^OpenBLAS: .*, pthreads build (not the serial build the engine is linked for" out ||
        bad "--verbose does not warn of a threaded OpenBLAS: $(grep OpenBLAS out)"
    rm -f verbose.npy
else
    echo "test_ml_cli: no threaded OpenBLAS here ($threaded), its warning not checked"
fi
grep -q "^matrix products: " out || bad "--verbose gives the rule"
[ "$(grep -c "^Gemm '.*' 4x[0-9]* \. [0-9]*x[0-9]*: \(oneDNN\|OpenBLAS\) " out)" = 3 ] ||
    bad "--verbose gives each of the MLP's 3 products a kernel: $(cat out)"
run model run --verbose --json "$GTEE_SOURCE_DIR/tests/ml/models/mlp.onnx" \
    --input "$GTEE_SOURCE_DIR/tests/ml/models/mlp.input.npy" --out verbose.npy --force
/usr/bin/python3 - "$T/out" <<'PY' || bad "run --verbose --json has the kernels"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kernels"]["machine"].startswith("cpu: "), d
assert d["kernels"]["products"].count("Gemm '") == 3, d
PY

if [ "$fail" -ne 0 ]; then
    echo "$fail check(s) failed" >&2
    exit 1
fi
echo "gtee model: all checks passed"
