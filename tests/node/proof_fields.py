"""Checks a node's Work Proofs field by field against values computed apart from the node
(tests/node/test_node_proofs.sh, tests/node/test_node_ledger_anvil_slow.sh): two inferences
and one training job of one model.

  proof_fields.py PROOFS MODEL.onnx INPUT.npy SAMPLES MODEL_BLOB INPUT_BLOB FEATURES_BLOB
                  RESULT1 RESULT2 TRAIN_JSON EVIDENCE_HASH

- units: the multiply-accumulates of docs/ml.md ("Units of work"), counted from the model's
  shapes by onnx's own shape inference: for inference at the input's batch; for training three
  forward passes for each of SAMPLES samples (one epoch);
- commitments: the SHA-256 of the blobs' bytes as the node serves them (content ids);
- the training proof's receipt hash: the one the requester computed (gtee train --json);
- the evidence hash: the one the ledger registered.
Run with Debian's python3 (python3-onnx, python3-numpy)."""
import hashlib
import json
import sys

import numpy as np
import onnx
from onnx import shape_inference


def macs(model_path, batch):
    m = onnx.load(model_path)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = batch
    m = shape_inference.infer_shapes(m)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(m.graph.input) + list(m.graph.value_info) + list(m.graph.output)}
    shapes.update({w.name: list(w.dims) for w in m.graph.initializer})
    total = 0
    for node in m.graph.node:
        if len(node.input) < 2:
            continue
        y, a, w = shapes[node.output[0]], shapes[node.input[0]], shapes[node.input[1]]
        assert all(d > 0 for d in y + a + w), (node.name, y, a, w)
        if node.op_type == "Gemm":
            total += int(np.prod(y)) * (int(np.prod(a)) // y[0])
        elif node.op_type == "MatMul":
            total += int(np.prod(y)) * a[-1]
        elif node.op_type == "Conv":
            total += int(np.prod(y)) * (int(np.prod(w)) // w[0])
    return total


def cid(path):
    return "0x" + hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    (proofs, model_path, input_npy, samples, model_blob, input_blob, x_blob, res1, res2, train_json,
     evidence_hash) = sys.argv[1:]
    ps = json.load(open(proofs))
    assert [p["job_kind"] for p in ps[:3]] == ["inference", "inference", "training"], ps
    want_infer = macs(model_path, np.load(input_npy).shape[0])
    want_train = 3 * macs(model_path, 1) * int(samples)
    assert want_infer > 0 and want_train > 0
    got = [p["units"] for p in ps[:3]]
    assert got == [want_infer, want_infer, want_train], f"units {got}, expected {[want_infer, want_infer, want_train]}"
    assert all(p["model_cid"] == cid(model_blob) for p in ps[:3]), [p["model_cid"] for p in ps[:3]]
    got = [p["input_cid"] for p in ps[:3]]
    assert got == [cid(input_blob), cid(input_blob), cid(x_blob)], f"input commitments {got}"
    got = [p["output_cid"] for p in ps[:2]]
    assert got == [cid(res1), cid(res2)], f"output commitments {got}"
    receipt = json.load(open(train_json))["receipt_hash"]
    assert len(receipt) == 66 and ps[2]["receipt_hash"] == receipt, f"receipt {ps[2]['receipt_hash']}, the requester's {receipt}"
    assert all(p["receipt_hash"] == "0x" + "00" * 32 for p in ps[:2]), "an inference with a receipt hash"
    got = [p["evidence_hash"] for p in ps[:3]]
    assert all(h == evidence_hash.lower() for h in got), f"evidence hashes {got}, registered {evidence_hash}"


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"proof fields: {e}", file=sys.stderr)
        sys.exit(1)
