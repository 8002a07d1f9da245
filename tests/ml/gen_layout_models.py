#!/usr/bin/python3
"""Writes the small ONNX graphs that test the channel-blocked layouts of inference plans
(src/ml/layout.c, test_ml_layout.c) into tests/ml/layout/: a Conv whose 16 channels stay
blocked into a pool of each geometry oneDNN takes (strides, pads, ceil_mode, dilations,
count_include_pad) and one it does not, then a 1x1 Conv and GlobalAveragePool; a pool
whose output is the graph's; a residual pair of Convs; a Conv of 20 channels (never
blocked); grouped convolutions: mobilenet's depthwise ones (stride 2 with padding, with and
without bias) each followed by ReLU6 as PyTorch exports it (Clip with min and max inputs),
a depthwise one on the graph's NCHW input and output, groups of whole channel blocks and
groups of a few channels (kept NCHW), and a depthwise channel multiplier (3 -> 6). Input x
is [N, 3, 9, 9]: odd sizes, so ceil_mode adds a window.

  /usr/bin/python3 tests/ml/gen_layout_models.py tests/ml/layout
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20261125)
N = helper.make_node


def param(name, shape):
    return numpy_helper.from_array(rng.uniform(-0.5, 0.5, size=shape).astype(np.float32), name)


def save(out, name, nodes, inits, y_shape):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 9, 9])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)], producer_name="gen_layout_models")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))


def scalar(name, v):
    return numpy_helper.from_array(np.array(v, dtype=np.float32), name)


def stem(ch=16):
    return ([N("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1]), N("Relu", ["c0"], ["a"])],
            [param("w0", (ch, 3, 3, 3)), param("b0", (ch,))])


POOLS = {
    "max_k2s2": ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2])),
    "max_k3s2_pad_ceil": ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
    "max_dilated": ("MaxPool", dict(kernel_shape=[3, 3], dilations=[2, 2], pads=[2, 1, 2, 1])),
    "avg_excl_ceil": ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
    "avg_incl": ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 2], count_include_pad=1)),
    "avg_incl_ceil": ("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1, count_include_pad=1)),
}


def main(out):
    os.makedirs(out, exist_ok=True)
    for name, (op, attrs) in POOLS.items():
        nodes, inits = stem()
        nodes += [N(op, ["a"], ["p"], **attrs), N("Conv", ["p", "w1", "b1"], ["c1"]),
                  N("GlobalAveragePool", ["c1"], ["y"])]
        inits += [param("w1", (32, 16, 1, 1)), param("b1", (32,))]
        save(out, "pool_" + name, nodes, inits, ["n", 32, 1, 1])
    nodes, inits = stem()
    nodes += [N("MaxPool", ["a"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]
    save(out, "pool_out", nodes, inits, ["n", 16, 4, 4])
    nodes, inits = stem()
    nodes += [N("Conv", ["a", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]), N("Relu", ["c1"], ["r1"]),
              N("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]), N("Add", ["c2", "a"], ["s"]),
              N("Relu", ["s"], ["r2"]), N("Conv", ["r2", "w3", "b3"], ["c3"], strides=[2, 2]),
              N("GlobalAveragePool", ["c3"], ["y"])]
    inits += [param("w1", (16, 16, 3, 3)), param("b1", (16,)), param("w2", (16, 16, 3, 3)),
              param("w3", (32, 16, 3, 3)), param("b3", (32,))]
    save(out, "residual", nodes, inits, ["n", 32, 1, 1])
    nodes, inits = stem(20)
    nodes += [N("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
              N("Conv", ["p", "w1"], ["c1"], pads=[1, 1, 1, 1]), N("GlobalAveragePool", ["c1"], ["y"])]
    inits += [param("w1", (20, 20, 3, 3))]
    save(out, "conv20", nodes, inits, ["n", 20, 1, 1])
    nodes, inits = stem()
    nodes += [N("Conv", ["a", "dw1", "db1"], ["d1"], group=16, strides=[2, 2], pads=[1, 1, 1, 1]),
              N("Clip", ["d1", "lo", "hi"], ["r1"]), N("Conv", ["r1", "pw1"], ["p1"]),
              N("Clip", ["p1", "lo", "hi"], ["r2"]),
              N("Conv", ["r2", "dw2"], ["d2"], group=32, pads=[1, 1, 1, 1]), N("Clip", ["d2", "lo", "hi"], ["r3"]),
              N("Conv", ["r3", "dw3", "db3"], ["d3"], group=32, kernel_shape=[3, 3], strides=[2, 2],
                pads=[0, 1, 1, 0]),
              N("Clip", ["d3", "lo", "hi"], ["r4"]), N("GlobalAveragePool", ["r4"], ["y"])]
    inits += [param("dw1", (16, 1, 3, 3)), param("db1", (16,)), param("pw1", (32, 16, 1, 1)),
              param("dw2", (32, 1, 3, 3)), param("dw3", (32, 1, 3, 3)), param("db3", (32,)), scalar("lo", 0.0),
              scalar("hi", 0.25)]
    save(out, "group_dw_clip", nodes, inits, ["n", 32, 1, 1])
    nodes = [N("Conv", ["x", "dw", "db"], ["d"], group=3, strides=[2, 2], pads=[1, 1, 1, 1]),
             N("Clip", ["d", "lo", "hi"], ["y"])]
    inits = [param("dw", (3, 1, 3, 3)), param("db", (3,)), scalar("lo", -0.2), scalar("hi", 0.3)]
    save(out, "group_dw_input", nodes, inits, ["n", 3, 5, 5])
    nodes, inits = stem()
    nodes += [N("Conv", ["a", "g1", "gb1"], ["c1"], group=2, pads=[1, 1, 1, 1]), N("Relu", ["c1"], ["r1"]),
              N("Conv", ["r1", "g2"], ["c2"], group=8, strides=[2, 2], pads=[0, 1, 1, 0]),
              N("GlobalAveragePool", ["c2"], ["y"])]
    inits += [param("g1", (32, 8, 3, 3)), param("gb1", (32,)), param("g2", (16, 4, 3, 3))]
    save(out, "group_blocks", nodes, inits, ["n", 16, 1, 1])
    nodes = [N("Conv", ["x", "m"], ["c"], group=3), N("Relu", ["c"], ["y"])]
    inits = [param("m", (6, 1, 3, 3))]
    save(out, "group_multiplier", nodes, inits, ["n", 6, 7, 7])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "layout"))
