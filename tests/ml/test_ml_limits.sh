#!/usr/bin/env bash
# Hostile models against `gtee model` (docs/ml.md, "Limits" and "Errors"): eight
# ConstantOfShape([2^28]) in a few hundred bytes are refused by `inspect` and `run` on
# max_total_elems (the folded values count with the initializers), exit 5, before any of
# them is allocated (run under a 600 MB address-space limit, where a single one takes a
# GiB); a Gather index out of range fails the run as malformed input (exit 5) naming the
# node and the index; an initializer whose data lives in an external file is refused
# naming the tensor and why. Models are made here with python3-onnx's helper.
set -euo pipefail

: "${GTEE_SOURCE_DIR:?}"
. "$(dirname "$0")/../cli_harness.sh"
cd "$T"

if ! /usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null; then
    echo "SKIP: /usr/bin/python3 cannot import onnx and numpy (Debian python3-onnx)"
    exit 77
fi

/usr/bin/python3 - "$T" <<'PY'
import sys
import numpy as np
from onnx import TensorProto as T, helper as h
d = sys.argv[1]
def save(name, nodes, inputs, outputs, inits=()):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
    open(f"{d}/{name}", "wb").write(m.SerializeToString())

# Eight 2^28-element constants made from one shape, summed: 15 GiB if folded.
nodes = [h.make_node("Constant", [], ["s"], name="shape", value=h.make_tensor("v", T.INT64, [1], [1 << 28]))]
nodes += [h.make_node("ConstantOfShape", ["s"], [f"c{i}"], name=f"big{i}") for i in range(8)]
prev = "c0"
for i in range(1, 8):
    nodes.append(h.make_node("Add", [prev, f"c{i}"], [f"a{i}"], name=f"sum{i}"))
    prev = f"a{i}"
nodes.append(h.make_node("Add", ["x", prev], ["y"], name="out"))
save("bomb.onnx", nodes, [h.make_tensor_value_info("x", T.FLOAT, [1])], [h.make_tensor_value_info("y", T.FLOAT, None)])

# A 5 x 2 table indexed by the caller.
table = h.make_tensor("table", T.FLOAT, [5, 2], [float(i) for i in range(10)])
save("gather.onnx", [h.make_node("Gather", ["table", "i"], ["y"], name="lookup")],
     [h.make_tensor_value_info("i", T.INT64, [2])], [h.make_tensor_value_info("y", T.FLOAT, None)], [table])
np.save(f"{d}/i_ok.npy", np.array([4, -5], dtype=np.int64))
np.save(f"{d}/i_bad.npy", np.array([1, 7], dtype=np.int64))

# An initializer saved as external data (onnx.external_data_helper's layout, file absent).
w = h.make_tensor("weights", T.FLOAT, [2], [0.0, 0.0])
w.ClearField("float_data")
w.data_location = T.EXTERNAL
e = w.external_data.add()
e.key, e.value = "location", "weights.bin"
save("external.onnx", [h.make_node("Add", ["x", "weights"], ["y"], name="add")],
     [h.make_tensor_value_info("x", T.FLOAT, [2])], [h.make_tensor_value_info("y", T.FLOAT, None)], [w])
np.save(f"{d}/x1.npy", np.zeros(1, dtype=np.float32))
PY

# Under ASan the address space is the sanitizer's shadow: no limit there (nothing big is
# allocated either way; the limit makes a regression fail fast instead of eating memory).
limit() { if [ "${GTEE_SANITIZED:-0}" = 1 ]; then "$@"; else (ulimit -v 600000 && "$@"); fi; }
runl() {
    set +e
    limit "$GTEE_CLI" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
}

for cmd in "inspect bomb.onnx" "run bomb.onnx --input x1.npy --out y.npy"; do
    # shellcheck disable=SC2086
    runl model $cmd
    expect_rc 5 "model $cmd"
    grep -q "node 'big[0-9]' (#[0-9], ConstantOfShape)" err || bad "model $cmd names the node: $(cat err)"
    grep -q "over the limit max_total_elems (1073741824)" err || bad "model $cmd names the limit: $(cat err)"
done
[ ! -e y.npy ] || bad "a refused run wrote its output"
runl model inspect --json bomb.onnx
expect_rc 5 "inspect --json bomb.onnx"
[ "$(json 'j["error"]["code"]')" = malformed ] || bad "inspect --json: error code $(cat out)"

run model run gather.onnx --input i_ok.npy --out y.npy
expect_rc 0 "Gather with indices in range"
run model run gather.onnx --input i_bad.npy --out y2.npy
expect_rc 5 "Gather with an index out of range"
grep -q "node 'lookup' (#0, Gather): index 7 (element 1 of the indices) is out of range for axis 0 of size 5" err ||
    bad "Gather names the node and the index: $(cat err)"
[ ! -e y2.npy ] || bad "a failed run wrote its output"

for cmd in "inspect external.onnx" "run external.onnx --input x1.npy --out y3.npy"; do
    # shellcheck disable=SC2086
    run model $cmd
    expect_rc 5 "model $cmd"
    grep -q "tensor 'weights' stores its data outside the model file (external data); the engine reads only data embedded in the model" err ||
        bad "model $cmd says what is refused: $(cat err)"
done

[ "$fail" = 0 ] || exit 1
echo "ok"
