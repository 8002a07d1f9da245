#!/usr/bin/python3
"""Writes the small ONNX graphs the gradient checks of test_grad_ops.c differentiate, into
tests/ml/grad/: LogSoftmax, the activations (HardSigmoid, HardSwish, LeakyRelu, Elu,
Softplus, Clip, PRelu), Max and Min, ReduceSum and ReduceMax, Split, Tile, CumSum,
GlobalMaxPool, Resize, Einsum (and an Einsum the engine refuses) and ConvTranspose. As in gen_grad_models.py, one float input `x`, one output `y`, every other
operand a seeded float initializer (a parameter) or an int64 constant.

  /usr/bin/python3 tests/ml/gen_grad_ops.py tests/ml/grad
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20261207)


def param(name, shape, lo=-1.0, hi=1.0):
    return numpy_helper.from_array(rng.uniform(lo, hi, size=shape).astype(np.float32), name)


def const(name, values, dtype):
    return numpy_helper.from_array(np.array(values, dtype=dtype), name)


def save(out, name, nodes, x_shape, inits, y_shape, opset=14):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="gen_grad_ops")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))


def main(out):
    os.makedirs(out, exist_ok=True)
    N = helper.make_node
    # LogSoftmax along the last axis and a middle one (13+), then the 2-D coercion (11).
    save(out, "logsoftmax", [
        N("Add", ["x", "P"], ["a"]),
        N("LogSoftmax", ["a"], ["s1"]),
        N("Mul", ["s1", "W"], ["b"]),
        N("LogSoftmax", ["b"], ["s2"], axis=1),
        N("Mul", ["s2", "V"], ["y"]),
    ], [2, 3, 4], [param("P", [2, 3, 4]), param("W", [4], 1.0, 3.0), param("V", [2, 3, 4])], [2, 3, 4])
    save(out, "logsoftmax11", [
        N("Add", ["x", "P"], ["a"]),
        N("LogSoftmax", ["a"], ["s"], axis=1),
        N("Mul", ["s", "V"], ["y"]),
    ], [2, 3, 4], [param("P", [2, 3, 4]), param("V", [2, 3, 4], 1.0, 3.0)], [2, 3, 4], opset=11)
    # Each activation on x scaled to about [-4, 4] (both sides of every kink), weighted
    # and summed; Clip's bounds are constants (opset 11+ inputs), PRelu's slope a [5] row.
    acts = [("HardSigmoid", {"alpha": 0.3, "beta": 0.45}), ("HardSwish", {}), ("LeakyRelu", {"alpha": 0.2}),
            ("Elu", {"alpha": 0.7}), ("Softplus", {}), ("Clip", {}), ("PRelu", {})]
    nodes, inits, prev = [N("Mul", ["x", "four"], ["x4"])], [const("four", [4.0], np.float32)], None
    for i, (op, attrs) in enumerate(acts):
        a, h, w = "a%d" % i, "h%d" % i, "w%d" % i
        nodes.append(N("Add", ["x4", "P%d" % i], [a]))
        inputs = [a, "lo", "hi"] if op == "Clip" else [a, "S"] if op == "PRelu" else [a]
        nodes.append(N(op, inputs, [h], **attrs))
        nodes.append(N("Mul", [h, "W%d" % i], [w]))
        inits += [param("P%d" % i, [2, 5], -0.1, 0.1), param("W%d" % i, [2, 5])]
        if prev:
            nodes.append(N("Add", [prev, w], ["sum%d" % i]))
            prev = "sum%d" % i
        else:
            prev = w
    nodes[-1].output[0] = "y"
    inits += [const("lo", -1.5, np.float32), const("hi", 2.0, np.float32), param("S", [5], 0.1, 0.5)]
    save(out, "activations", nodes, [2, 5], inits, [2, 5])
    # Clip with attributes (before opset 11).
    save(out, "clip6", [
        N("Add", ["x", "P"], ["a"]),
        N("Clip", ["a"], ["c"], min=-0.5, max=0.6),
        N("Mul", ["c", "W"], ["y"]),
    ], [2, 5], [param("P", [2, 5]), param("W", [2, 5])], [2, 5], opset=10)
    # Max and Min of three and two broadcast inputs, ReduceSum (axes input, opset 13) and
    # ReduceMax (axes attribute) with keepdims, recombined.
    save(out, "maxmin_reduce", [
        N("Add", ["x", "P"], ["a"]),
        N("Max", ["a", "B", "C"], ["m"]),
        N("Min", ["m", "D"], ["n"]),
        N("ReduceSum", ["n", "axes"], ["s"]),
        N("ReduceMax", ["n"], ["r"], axes=[2]),
        N("ReduceSum", ["n", "axes0"], ["s0"], keepdims=0),
        N("Mul", ["s", "r"], ["t"]),
        N("Add", ["t", "n"], ["u"]),
        N("Add", ["u", "s0"], ["y"]),
    ], [2, 3, 4], [param("P", [2, 3, 4]), param("B", [4]), param("C", [2, 1, 1]), param("D", [3, 1]),
                   const("axes", [1], np.int64), const("axes0", [0], np.int64)], [2, 3, 4])
    # Split (sizes as an input; then equal parts), Tile, CumSum (plain; exclusive and
    # reverse), Concat back to one output.
    save(out, "split_tile_cumsum", [
        N("Add", ["x", "P"], ["a"]),
        N("Split", ["a", "split"], ["s1", "s2", "s3"], axis=1),
        N("Tile", ["s2", "rep"], ["t"]),
        N("CumSum", ["s3", "ax1"], ["c"]),
        N("CumSum", ["s1", "ax0"], ["c0"], exclusive=1, reverse=1),
        N("Mul", ["c0", "W"], ["w"]),
        N("Split", ["t"], ["e1", "e2"], axis=1),
        N("Concat", ["e2", "e1"], ["te"], axis=1),
        N("Concat", ["w", "te", "c"], ["y"], axis=1),
    ], [3, 6], [param("P", [3, 6]), const("split", [1, 2, 3], np.int64), const("rep", [1, 2], np.int64),
                const("ax1", 1, np.int64), const("ax0", 0, np.int64), param("W", [3, 1])], [3, 8], opset=13)
    # GlobalMaxPool over 2-D planes of two (half the offsets reach the output).
    save(out, "gmp", [
        N("Add", ["x", "P"], ["a"]),
        N("GlobalMaxPool", ["a"], ["g"]),
        N("Mul", ["g", "W"], ["y"]),
    ], [2, 3, 1, 2], [param("P", [2, 3, 1, 2]), param("W", [1, 3, 1, 1])], [2, 3, 1, 1])
    # Resize: linear (half_pixel, up) then nearest (asymmetric, down), then linear with
    # align_corners on the last axis only.
    save(out, "resize", [
        N("Add", ["x", "P"], ["a"]),
        N("Resize", ["a", "", "s1"], ["r1"], mode="linear"),
        N("Mul", ["r1", "W"], ["b"]),
        N("Resize", ["b", "", "s2"], ["r2"], mode="nearest", coordinate_transformation_mode="asymmetric"),
        N("Resize", ["r2", "", "", "sz"], ["y"], mode="linear", coordinate_transformation_mode="align_corners"),
    ], [1, 2, 3, 4], [param("P", [1, 2, 3, 4]), const("s1", [1, 1, 2, 1.5], np.float32), param("W", [1, 2, 6, 6]),
                      const("s2", [1, 1, 0.5, 0.5], np.float32), const("sz", [1, 2, 3, 5], np.int64)], [1, 2, 3, 5],
         opset=13)
    # Einsum: a shared weight, a product of a value with itself, a permutation; and a
    # diagonal, which the engine refuses.
    save(out, "einsum", [
        N("Add", ["x", "P"], ["a"]),
        N("Einsum", ["a", "W"], ["e1"], equation="bij,jk->bik"),
        N("Einsum", ["e1", "e1"], ["e2"], equation="bik,bjk->bij"),
        N("Einsum", ["e2"], ["y"], equation="bij->jib"),
    ], [2, 3, 4], [param("P", [2, 3, 4]), param("W", [4, 5])], [3, 3, 2], opset=12)
    save(out, "einsum_diagonal", [
        N("Einsum", ["x"], ["d"], equation="bii->bi"),
        N("Mul", ["d", "W"], ["y"]),
    ], [2, 3, 3], [param("W", [2, 3])], [2, 3], opset=12)
    # ConvTranspose: 2-D in two groups with strides, dilations, asymmetric pads,
    # output_padding and a bias; 1-D with SAME_UPPER.
    save(out, "convt", [
        N("Add", ["x", "P"], ["a"]),
        N("ConvTranspose", ["a", "W", "B"], ["y"], group=2, strides=[2, 1], dilations=[1, 2], pads=[1, 0, 0, 1],
          output_padding=[1, 0]),
    ], [1, 4, 3, 3], [param("P", [1, 4, 3, 3]), param("W", [4, 3, 2, 3]), param("B", [6])], [1, 6, 6, 6])
    save(out, "convt1d", [
        N("Add", ["x", "P"], ["a"]),
        N("ConvTranspose", ["a", "W"], ["y"], strides=[2], auto_pad="SAME_UPPER"),
    ], [2, 2, 4], [param("P", [2, 2, 4]), param("W", [2, 3, 3])], [2, 3, 8])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "grad"))
