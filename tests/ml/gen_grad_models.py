#!/usr/bin/python3
"""Writes the small ONNX graphs the gradient checks (test_grad_*.c) differentiate, into
tests/ml/grad/. Each has one float input `x` and one output `y`; every other operand is a
float initializer (a parameter the trainer differentiates) with seeded values, so that
the check reaches each operator's gradient with respect to each of its inputs.

  /usr/bin/python3 tests/ml/gen_grad_models.py tests/ml/grad
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20261125)


def param(name, shape, lo=-1.0, hi=1.0):
    return numpy_helper.from_array(rng.uniform(lo, hi, size=shape).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def save(out, name, nodes, x_shape, inits, y_shape):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)], producer_name="gen_grad_models")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))


def main(out):
    os.makedirs(out, exist_ok=True)
    N = helper.make_node
    # Gemm: transB with alpha/beta and a [N] bias; plain with a [1, N] bias.
    save(out, "gemm", [
        N("Gemm", ["x", "W1", "b1"], ["h"], alpha=0.7, beta=1.3, transB=1),
        N("Gemm", ["h", "W2", "C2"], ["y"]),
    ], [3, 4], [param("W1", [5, 4]), param("b1", [5]), param("W2", [5, 2]), param("C2", [1, 2])], [3, 2])
    # Gemm with transA, and with both transposed; gradient into the B operand.
    save(out, "gemm_trans", [
        N("Add", ["x", "P"], ["h"]),
        N("Gemm", ["W3", "h"], ["g"], transA=1),
        N("Gemm", ["W5", "g", "C5"], ["y"], transA=1, transB=1, beta=0.5),
    ], [3, 4], [param("P", [3, 4]), param("W3", [3, 2]), param("W5", [4, 3]), param("C5", [3, 1])], [3, 2])
    # MatMul: batched times a shared matrix, then a broadcast [3, 3] times a batch.
    save(out, "matmul", [
        N("Add", ["x", "P"], ["h"]),
        N("MatMul", ["h", "W"], ["g"]),
        N("MatMul", ["Q", "g"], ["y"]),
    ], [2, 3, 4], [param("P", [2, 3, 4]), param("W", [4, 5]), param("Q", [3, 3])], [2, 3, 5])
    # Broadcasting Add, Mul, Sub, Div (both operand orders).
    save(out, "binary", [
        N("Add", ["x", "P"], ["a"]),
        N("Mul", ["a", "S"], ["b"]),
        N("Sub", ["b", "T"], ["c"]),
        N("Div", ["c", "D"], ["d"]),
        N("Sub", ["U", "d"], ["e"]),
        N("Div", ["E", "e"], ["y"]),
    ], [2, 3, 4], [param("P", [2, 3, 4]), param("S", [3, 1]), param("T", [4]), param("D", [1, 3, 1], 1.0, 2.0),
                   param("U", [1, 4], 3.0, 4.0), param("E", [2, 1, 1])], [2, 3, 4])
    # Every differentiable unary function, summed.
    un = ["Relu", "Sigmoid", "Tanh", "Exp", "Neg", "Abs", "Erf"]
    nodes = [N("Add", ["x", "P"], ["a"]), N("Mul", ["a", "a"], ["aa"]), N("Add", ["aa", "one"], ["pos"])]
    terms = []
    for op in un:
        nodes.append(N(op, ["a"], [op.lower()]))
        terms.append(op.lower())
    for op in ["Sqrt", "Log", "Reciprocal"]:
        nodes.append(N(op, ["pos"], [op.lower()]))
        terms.append(op.lower())
    acc = terms[0]
    for i, t in enumerate(terms[1:]):
        name = "y" if i == len(terms) - 2 else "s%d" % i
        nodes.append(N("Mul" if i % 2 else "Add", [acc, t], [name]))
        acc = name
    save(out, "unary", nodes, [2, 5], [param("P", [2, 5], -0.1, 0.1),
                                       numpy_helper.from_array(np.ones([1], np.float32), "one")], [2, 5])
    # Reshaping operators pass the gradient through.
    save(out, "reshape", [
        N("Add", ["x", "P"], ["a"]),
        N("Flatten", ["a"], ["f"], axis=1),
        N("Reshape", ["f", "shape"], ["r"]),
        N("Unsqueeze", ["r", "ax"], ["u"]),
        N("Squeeze", ["u", "ax"], ["s"]),
        N("Identity", ["s"], ["i"]),
        N("Dropout", ["i"], ["d"]),
        N("MatMul", ["d", "W"], ["y"]),
    ], [2, 3, 4], [param("P", [2, 3, 4]), ints("shape", [4, 6]), ints("ax", [0]), param("W", [6, 3])], [4, 3])

    # Conv: padding and stride, then groups with dilation, then 1-D.
    save(out, "conv", [
        N("Add", ["x", "P"], ["a"]),
        N("Conv", ["a", "W1", "B1"], ["c1"], pads=[1, 2, 1, 0], strides=[2, 1]),
        N("Conv", ["c1", "W2", "B2"], ["y"], group=2, dilations=[1, 2], pads=[1, 1, 1, 1]),
    ], [2, 2, 5, 6], [param("P", [2, 2, 5, 6]), param("W1", [4, 2, 3, 3]), param("B1", [4]),
                      param("W2", [2, 2, 2, 2]), param("B2", [2])], [2, 2, 4, 6])
    save(out, "conv1d", [
        N("Add", ["x", "P"], ["a"]),
        N("Conv", ["a", "W"], ["y"], pads=[1, 1], strides=[2]),
    ], [2, 3, 7], [param("P", [2, 3, 7]), param("W", [2, 3, 3])], [2, 2, 4])
    # Pools over distinct values (no ties at the maximum).
    save(out, "pool", [
        N("Add", ["x", "P"], ["a"]),
        N("Mul", ["a", "S"], ["b"]),
        N("MaxPool", ["b"], ["m1"], kernel_shape=[2, 2], strides=[2, 2]),
        N("MaxPool", ["b"], ["m2"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        N("AveragePool", ["b"], ["v1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        N("AveragePool", ["b"], ["v2"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
          count_include_pad=1),
        N("Add", ["m2", "v1"], ["s1"]),
        N("Mul", ["s1", "v2"], ["s2"]),
        N("GlobalAveragePool", ["b"], ["g"]),
        N("Add", ["m1", "g"], ["t"]),
        N("Add", ["s2", "t"], ["y"]),
    ], [2, 2, 6, 6], [param("P", [2, 2, 6, 6], -0.05, 0.05), param("S", [1, 2, 1, 1], 0.5, 1.5)], [2, 2, 3, 3])
    # BatchNormalization with its running statistics (inference form).
    save(out, "batchnorm", [
        N("Add", ["x", "P"], ["a"]),
        N("BatchNormalization", ["a", "scale", "bias", "mean", "var"], ["y"], epsilon=1e-3),
    ], [2, 3, 2, 2], [param("P", [2, 3, 2, 2]), param("scale", [3]), param("bias", [3]), param("mean", [3], -0.5, 0.5),
                      param("var", [3], 0.5, 2.0)], [2, 3, 2, 2])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "grad"))
