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


def save(out, name, nodes, x_shape, inits, y_shape, opset=14):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="gen_grad_models")
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

    transformer_ops(out, N)


def transformer_ops(out, N):
    """The transformer family's operators (after the graphs above, so that the seeded
    values of those stay the same)."""
    # BatchNormalization in training mode (the trainer's option): 4-D and 2-D inputs.
    save(out, "bn_train", [
        N("Add", ["x", "P"], ["a"]),
        N("BatchNormalization", ["a", "scale", "bias", "mean", "var"], ["b"], epsilon=1e-3, momentum=0.8),
        N("Mul", ["b", "W"], ["c"]),
        N("Reshape", ["c", "shape"], ["r"]),
        N("BatchNormalization", ["r", "scale2", "bias2", "mean2", "var2"], ["y"]),
    ], [4, 3, 2, 2], [param("P", [4, 3, 2, 2]), param("scale", [3]), param("bias", [3]),
                      param("mean", [3], -0.5, 0.5), param("var", [3], 0.5, 2.0), param("W", [3, 1, 1]),
                      ints("shape", [8, 6]), param("scale2", [6]), param("bias2", [6]),
                      param("mean2", [6], -0.5, 0.5), param("var2", [6], 0.5, 2.0)], [8, 6])
    # Softmax along the last axis and a middle one (opset 13+), times weights.
    save(out, "softmax", [
        N("Add", ["x", "P"], ["a"]),
        N("Softmax", ["a"], ["s1"]),
        N("Mul", ["s1", "W"], ["b"]),
        N("Softmax", ["b"], ["s2"], axis=1),
        N("Mul", ["s2", "V"], ["y"]),
    ], [2, 3, 4], [param("P", [2, 3, 4]), param("W", [4], 1.0, 3.0), param("V", [2, 3, 4])], [2, 3, 4])
    # Softmax before opset 13: the input coerced to 2-D at the axis.
    save(out, "softmax11", [
        N("Add", ["x", "P"], ["a"]),
        N("Softmax", ["a"], ["s"], axis=1),
        N("Mul", ["s", "V"], ["y"]),
    ], [2, 3, 4], [param("P", [2, 3, 4]), param("V", [2, 3, 4], 1.0, 3.0)], [2, 3, 4], opset=11)
    # LayerNormalization (opset 17): last axis with a bias, then the last two without.
    save(out, "layernorm", [
        N("Add", ["x", "P"], ["a"]),
        N("LayerNormalization", ["a", "S1", "B1"], ["l1"], epsilon=1e-3),
        N("Mul", ["l1", "W"], ["b"]),
        N("LayerNormalization", ["b", "S2"], ["l2"], axis=-2),
        N("Mul", ["l2", "V"], ["y"]),
    ], [2, 3, 4], [param("P", [2, 3, 4]), param("S1", [4]), param("B1", [4]), param("W", [2, 3, 4]),
                   param("S2", [3, 4]), param("V", [2, 3, 4])], [2, 3, 4], opset=17)
    # The decomposed LayerNorm PyTorch exports at opset 14, and ReduceMean variants.
    save(out, "ln_decomposed", [
        N("Constant", [], ["two"], value=numpy_helper.from_array(np.array(2.0, np.float32))),
        N("Constant", [], ["eps"], value=numpy_helper.from_array(np.array(1e-3, np.float32))),
        N("Add", ["x", "P"], ["a"]),
        N("ReduceMean", ["a"], ["mu"], axes=[-1]),
        N("Sub", ["a", "mu"], ["d"]),
        N("Pow", ["d", "two"], ["d2"]),
        N("ReduceMean", ["d2"], ["var"], axes=[-1]),
        N("Add", ["var", "eps"], ["ve"]),
        N("Sqrt", ["ve"], ["sd"]),
        N("Div", ["d", "sd"], ["n"]),
        N("Mul", ["n", "S"], ["ns"]),
        N("Add", ["ns", "B"], ["l"]),
        N("ReduceMean", ["l"], ["r1"], axes=[0, 1], keepdims=0),
        N("ReduceMean", ["l"], ["r2"]),
        N("Mul", ["l", "r1"], ["m1"]),
        N("Add", ["m1", "r2"], ["y"]),
    ], [2, 3, 4], [param("P", [2, 3, 4]), param("S", [4]), param("B", [4])], [2, 3, 4])
    # Pow with both operands parameters: positive bases, broadcast exponents.
    save(out, "pow", [
        N("Add", ["x", "P"], ["a"]),
        N("Mul", ["a", "a"], ["aa"]),
        N("Add", ["aa", "one"], ["pos"]),
        N("Pow", ["pos", "E"], ["p1"]),
        N("Pow", ["Q", "a"], ["p2"]),
        N("Add", ["p1", "p2"], ["y"]),
    ], [2, 3], [param("P", [2, 3], -0.1, 0.1), param("E", [3], 0.5, 2.0), param("Q", [1, 3], 0.5, 2.0),
                numpy_helper.from_array(np.ones([1], np.float32), "one")], [2, 3])
    # Transpose, Slice (positive and negative steps), Concat, Expand, Where, Cast.
    cond = numpy_helper.from_array(np.array([[True, False, True, True, False], [False, True, False, True, True]]),
                                   "cond")
    save(out, "layout", [
        N("Add", ["x", "P"], ["a"]),
        N("Transpose", ["a"], ["t"], perm=[2, 0, 1]),
        N("Slice", ["t", "st1", "en1", "ax1", "sp1"], ["s1"]),
        N("Slice", ["t", "st2", "en2", "ax2", "sp2"], ["s2"]),
        N("Concat", ["s1", "s2", "C"], ["c"], axis=0),
        N("Transpose", ["c"], ["u"]),
        N("Expand", ["E", "eshape"], ["e"]),
        N("Mul", ["u", "e"], ["m"]),
        N("Where", ["cond", "m", "F"], ["w"]),
        N("Cast", ["w"], ["y"], to=TensorProto.FLOAT),
    ], [2, 3, 4], [param("P", [2, 3, 4]),
                   ints("st1", [0, 1]), ints("en1", [4, 3]), ints("ax1", [0, 2]), ints("sp1", [2, 1]),
                   ints("st2", [-1, 2]), ints("en2", [-10, 0]), ints("ax2", [0, -1]), ints("sp2", [-3, -1]),
                   param("C", [1, 2, 2]), param("E", [2, 1]), ints("eshape", [2, 2, 5]), cond,
                   param("F", [5])], [2, 2, 5])
    # Gather: an embedding table looked up by token ids (repeats, a negative id), and a
    # gather along axis 1 of an activation.
    save(out, "gather", [
        N("Gather", ["T", "ids"], ["emb"]),
        N("Add", ["x", "emb"], ["a"]),
        N("Gather", ["a", "pick"], ["g"], axis=1),
        N("Mul", ["g", "W"], ["y"]),
    ], [2, 3, 4], [param("T", [5, 4]), ints("ids", [[1, 3, 1], [-1, 0, 3]]), ints("pick", [2, 0, 2, 1]),
                   param("W", [2, 4, 4])], [2, 4, 4])
    # Conv of one group (oneDNN's path, src/ml/grad_conv_dnn.c) with dilations, strides and
    # asymmetric pads, 16 channels between the two (oneDNN's blocked layouts), no bias on
    # the second.
    save(out, "conv_dnn", [
        N("Add", ["x", "P"], ["a"]),
        N("Conv", ["a", "W1", "B1"], ["c1"], dilations=[2, 1], pads=[2, 1, 1, 0], strides=[1, 2]),
        N("Conv", ["c1", "W2"], ["y"], dilations=[1, 2], pads=[0, 2, 1, 1], strides=[2, 1]),
    ], [2, 3, 7, 8], [param("P", [2, 3, 7, 8]), param("W1", [16, 3, 3, 2], -0.5, 0.5), param("B1", [16]),
                      param("W2", [2, 16, 2, 3], -0.3, 0.3)], [2, 2, 3, 3])
    # Conv -> Relu -> MaxPool 2x2: the chain a trainer keeps channel-blocked
    # (src/ml/train_blocks.c), 16 channels, on 9 x 9 images so that the pool leaves the last
    # row and column out of every window.
    save(out, "conv_relu_pool", [
        N("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
        N("Relu", ["c"], ["r"]),
        N("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
    ], [2, 3, 9, 9], [param("W", [16, 3, 3, 3], -0.5, 0.5), param("B", [16], -0.2, 0.2)], [2, 16, 4, 4])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "grad"))
