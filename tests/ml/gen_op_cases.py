#!/usr/bin/python3
"""Writes node test cases in the layout of ONNX's backend tests (CASE/model.onnx,
CASE/test_data_set_0/input_N.pb and output_N.pb) for the operators whose ONNX-generated
cases use only element types the engine does not take: CumSum (ONNX generates double),
Range (int32, or float from run-time inputs), Max, Min and Equal on int64 (ONNX: int8 to
uint64 but not int64 broadcast), and Resize with constant scales (ONNX's cases feed scales
as graph inputs, whose values the engine does not read before a run). Expected outputs
are NumPy's, or the ONNX reference's (Resize), as ONNX's own cases are.
tests/ml/test_ml_conformance.c runs them beside ONNX's.

Usage: /usr/bin/python3 tests/ml/gen_op_cases.py OUT
"""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

rng = np.random.default_rng(20261207)
TYPES = {np.dtype(np.float32): onnx.TensorProto.FLOAT, np.dtype(np.int64): onnx.TensorProto.INT64,
         np.dtype(np.bool_): onnx.TensorProto.BOOL}


def case(out, name, node, inputs, outputs, inits=(), opset=13):
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    vi = lambda n, a: helper.make_tensor_value_info(n, TYPES[a.dtype], list(a.shape))  # noqa: E731
    g = helper.make_graph([node], name, [vi(n, a) for n, a in inputs], [vi(n, a) for n, a in outputs],
                          [numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="gen_op_cases")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(d, "model.onnx"))
    for kind, items in (("input", inputs), ("output", outputs)):
        for i, (n, a) in enumerate(items):
            with open(os.path.join(d, "test_data_set_0", "%s_%d.pb" % (kind, i)), "wb") as f:
                f.write(numpy_helper.from_array(a, n).SerializeToString())


def cumsum_ref(x, axis, exclusive, reverse):
    y = np.flip(x, axis) if reverse else x
    c = np.cumsum(y, axis=axis, dtype=x.dtype)
    if exclusive:
        c = c - y
    return np.flip(c, axis) if reverse else c


def main(out):
    N = helper.make_node
    f32 = lambda *s: rng.uniform(-2, 2, size=s).astype(np.float32)  # noqa: E731
    i64 = lambda *s: rng.integers(-5, 6, size=s).astype(np.int64)  # noqa: E731
    for name, shape, axis, ex, rev in (("1d", [5], 0, 0, 0), ("1d_exclusive", [5], 0, 1, 0),
                                       ("1d_reverse", [5], 0, 0, 1), ("1d_reverse_exclusive", [5], 0, 1, 1),
                                       ("2d_axis_0", [2, 3], 0, 0, 0), ("2d_axis_1", [2, 3], 1, 0, 0),
                                       ("2d_negative_axis", [2, 3], -1, 0, 0), ("3d_axis_1_reverse", [2, 3, 4], 1, 0, 1)):
        x = f32(*shape)
        case(out, "test_cumsum_float_" + name, N("CumSum", ["x", "axis"], ["y"], exclusive=ex, reverse=rev),
             [("x", x), ("axis", np.array(axis, np.int64))], [("y", cumsum_ref(x, axis, ex, rev))])
    x = i64(3, 4)
    case(out, "test_cumsum_int64_exclusive", N("CumSum", ["x", "axis"], ["y"], exclusive=1),
         [("x", x), ("axis", np.array(1, np.int64))], [("y", cumsum_ref(x, 1, 1, 0))])
    for name, (s, l, d) in (("positive_delta", (1, 10, 3)), ("negative_delta", (10, 6, -3)), ("empty", (5, 1, 2))):
        ins = [("start", np.array(s, np.int64)), ("limit", np.array(l, np.int64)), ("delta", np.array(d, np.int64))]
        case(out, "test_range_int64_" + name, N("Range", ["start", "limit", "delta"], ["y"]), ins,
             [("y", np.arange(s, l, d, dtype=np.int64))])
    consts = [("start", np.array(0.5, np.float32)), ("limit", np.array(3.0, np.float32)),
              ("delta", np.array(0.75, np.float32))]
    x = f32(4)
    case(out, "test_range_float_constants", N("Range", ["start", "limit", "delta"], ["r"]), [("x", x)],
         [("r", np.arange(0.5, 3.0, 0.75, dtype=np.float32))], inits=consts)
    a, b, c = i64(3, 4), i64(4), i64(3, 1)
    case(out, "test_max_int64_bcast", N("Max", ["a", "b", "c"], ["y"]), [("a", a), ("b", b), ("c", c)],
         [("y", np.maximum(np.maximum(a, b), c))])
    case(out, "test_min_int64_bcast", N("Min", ["a", "b"], ["y"]), [("a", a), ("b", b)], [("y", np.minimum(a, b))])
    case(out, "test_equal_int64_bcast", N("Equal", ["a", "b"], ["y"]), [("a", a), ("b", b)], [("y", a == b)])
    case(out, "test_less_int64_bcast", N("Less", ["a", "c"], ["y"]), [("a", a), ("c", c)], [("y", a < c)])
    # Resize with scales as an initializer: each mode and coordinate transformation PyTorch
    # emits, up and down, and every nearest_mode.
    from onnx.backend.test.case.node.resize import interpolate_nd, linear_coeffs, nearest_coeffs
    x = f32(1, 2, 4, 5)
    roi = np.array([], np.float32)
    for ct in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"):
        for scales in ([1.0, 1.0, 2.0, 1.5], [1.0, 1.0, 0.5, 0.8]):
            sc = np.array(scales, np.float32)
            tag = "up" if scales[2] > 1 else "down"
            for mode, nm in (("linear", None), ("nearest", "round_prefer_floor"), ("nearest", "floor")):
                attrs = {"mode": mode, "coordinate_transformation_mode": ct}
                if nm:
                    attrs["nearest_mode"] = nm
                coeffs = linear_coeffs if mode == "linear" else (lambda r, nm=nm: nearest_coeffs(r, mode=nm))
                y = interpolate_nd(x, coeffs, scale_factors=sc, coordinate_transformation_mode=ct).astype(np.float32)
                case(out, "test_resize_const_%s_%s_%s%s" % (tag, mode, ct, "_" + nm if nm else ""),
                     N("Resize", ["x", "roi", "scales"], ["y"], **attrs), [("x", x)], [("y", y)],
                     inits=[("roi", roi), ("scales", sc)])
    for nm in ("round_prefer_ceil", "ceil"):
        sizes = np.array([1, 2, 7, 3], np.int64)
        y = interpolate_nd(x, lambda r, nm=nm: nearest_coeffs(r, mode=nm), output_size=sizes,
                           coordinate_transformation_mode="half_pixel").astype(np.float32)
        case(out, "test_resize_sizes_nearest_half_pixel_" + nm,
             N("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest", nearest_mode=nm),
             [("x", x), ("sizes", sizes)], [("y", y)])
    # Einsum in the forms torch.einsum exports (ONNX's own cases are double).
    for name, eq, shapes in (("batch_matmul", "bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
                             ("attention_scores", "bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
                             ("attention_values", "bhqk,bhkd->bqhd", [(2, 2, 3, 5), (2, 2, 5, 4)]),
                             ("matmul_implicit", "ij,jk", [(3, 4), (4, 2)]),
                             ("outer", "i,j->ij", [(3,), (4,)]),
                             ("batch_dot", "bi,bi->b", [(3, 5), (3, 5)]),
                             ("transpose", "ij->ji", [(3, 4)]),
                             ("permute_3d", "abc->cab", [(2, 3, 4)])):
        ops = [f32(*sh) for sh in shapes]
        names = ["a", "b"][:len(ops)]
        case(out, "test_einsum_float_" + name, N("Einsum", names, ["y"], equation=eq), list(zip(names, ops)),
             [("y", np.einsum(eq, *ops).astype(np.float32))], opset=12)
    x = f32(2, 3, 2)
    case(out, "test_tile_float_3d", N("Tile", ["x", "r"], ["y"]), [("x", x), ("r", np.array([2, 1, 3], np.int64))],
         [("y", np.tile(x, [2, 1, 3]))])


if __name__ == "__main__":
    main(sys.argv[1])
