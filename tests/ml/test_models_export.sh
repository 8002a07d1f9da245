#!/usr/bin/env bash
# The committed reference models (tests/ml/models/*.onnx, sample inputs, PyTorch outputs,
# manifest.json) are what tests/ml/models/export.py writes: the export runs again in a
# temporary directory and is compared with them. The sample inputs (Fashion-MNIST images,
# integer tokens) must be byte-identical. Floats that PyTorch computes depend on the CPU
# the export runs on (OpenBLAS, oneDNN and ATen pick kernels per instruction set, which
# sum in other orders), so they are compared within a stated tolerance,
# |fresh - committed| <= EXPORT_ATOL + EXPORT_RTOL |committed| per element: the outputs
# (*.torch.npy, same shape and dtype) and the models' initializers (every other byte of
# the graph must be equal), with manifest.json equal but for the models' sha256, which
# must be those of the committed files. Skipped (77) when /usr/bin/python3 lacks torch or
# onnx, or has another torch version than the manifest's.
set -euo pipefail

: "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}"
M="$GTEE_SOURCE_DIR/tests/ml/models"
PY=/usr/bin/python3
if ! "$PY" -c 'import torch, onnx, numpy' 2>/dev/null; then
    echo "SKIP: $PY cannot import torch, onnx and numpy (Debian python3-torch, python3-onnx)"
    exit 77
fi
have=$("$PY" -c 'import torch; print(torch.__version__)')
want=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["torch"])' "$M/manifest.json")
if [ "$have" != "$want" ]; then
    echo "SKIP: torch $have here, the committed models were exported with torch $want"
    exit 77
fi
if [ ! -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    echo "SKIP: Fashion-MNIST (Debian dataset-fashion-mnist) missing; the sample inputs come from it"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$PY" "$M/export.py" "$T" 2>"$T/log" || { cat "$T/log"; echo "FAIL: export.py failed"; exit 1; }
EXPORT_RTOL=1e-5 # the reference outputs are about 0.1 to 0.5; CPUs differ by up to 1.4e-7 (docs/ml.md)
EXPORT_ATOL=1e-6
"$PY" - "$T" "$M" "$EXPORT_RTOL" "$EXPORT_ATOL" <<'PY'
import hashlib, json, os, sys
import numpy as np
import onnx
from onnx import numpy_helper

fresh, committed, rtol, atol = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
fail = 0


def bad(msg):
    global fail
    fail += 1
    print("FAIL: " + msg)


def close(what, a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        bad("%s: %s %s exported, %s %s committed" % (what, a.dtype, a.shape, b.dtype, b.shape))
        return False
    if a.dtype.kind == "f":
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        lim = atol + rtol * np.abs(b.astype(np.float64))
        if not np.all(d <= lim):
            i = int(np.argmax(d - lim))
            bad("%s: element %d is %r exported, %r committed (rtol %g, atol %g)" %
                (what, i, a.flat[i], b.flat[i], rtol, atol))
            return False
    elif not np.array_equal(a, b):
        bad("%s: integer values differ" % what)
        return False
    return True


def same_model(name, a_path, b_path):
    a, b = onnx.load(a_path), onnx.load(b_path)
    ia = {t.name: numpy_helper.to_array(t) for t in a.graph.initializer}
    ib = {t.name: numpy_helper.to_array(t) for t in b.graph.initializer}
    if sorted(ia) != sorted(ib):
        return bad("%s: initializer names differ" % name)
    ok = all([close("%s initializer %s" % (name, k), ia[k], ib[k]) for k in sorted(ia)])
    for m in (a, b):
        for t in m.graph.initializer:
            t.ClearField("raw_data")
            t.ClearField("float_data")
    if a.SerializeToString() != b.SerializeToString():
        return bad("%s: the graph differs beyond initializer values" % name)
    return ok


for name in sorted(os.listdir(fresh)):
    f, c = os.path.join(fresh, name), os.path.join(committed, name)
    if name == "log":
        continue
    if not os.path.isfile(c):
        bad("export.py writes %s, which is not committed" % name)
        continue
    if open(f, "rb").read() == open(c, "rb").read():
        print("ok: %s (identical)" % name)
    elif name.endswith(".torch.npy"):
        if close(name, np.load(f), np.load(c)):
            print("ok: %s (within tolerance)" % name)
    elif name.endswith(".onnx"):
        if same_model(name, f, c):
            print("ok: %s (initializers within tolerance)" % name)
    elif name == "manifest.json":
        a, b = json.load(open(f)), json.load(open(c))
        for m in a["models"] + b["models"]:
            m.pop("sha256", None)
        if a != b:
            bad("manifest.json differs beyond the models' sha256")
        else:
            print("ok: manifest.json (but for the sha256 of models within tolerance)")
    else:
        bad("%s differs from the committed file" % name)
for m in json.load(open(os.path.join(committed, "manifest.json")))["models"]:
    digest = hashlib.sha256(open(os.path.join(committed, m["file"]), "rb").read()).hexdigest()
    if digest != m["sha256"]:
        bad("manifest.json gives %s another sha256 than the committed file's" % m["file"])
for name in os.listdir(committed):
    if name.endswith((".onnx", ".npy")) and not os.path.isfile(os.path.join(fresh, name)):
        bad("committed %s is no longer exported" % name)
sys.exit(1 if fail else 0)
PY
echo "committed models match a fresh export (torch $have, rtol $EXPORT_RTOL, atol $EXPORT_ATOL)"
