#!/usr/bin/python3
"""Exports torchvision's classifiers (Debian's python3-torchvision 0.14, PyTorch 1.13) to
ONNX opset 17 for tests/ml/test_torchvision_*.sh, with a seeded input and PyTorch's output.

Every model is built with random weights (weights=None) from a fixed seed, then given
parameters that make the whole graph matter to the output: torchvision's initialisation
leaves BatchNorm as the identity (running mean 0, variance 1) and ConvNeXt's layer scales at
1e-6, so the logits of MobileNet and EfficientNet come out near 1e-9 and 1e-14 and the
ConvNeXt blocks' MLPs (MatMul, Erf-based GELU) move the output by a millionth: an engine
that got them wrong would still agree within 1e-4 of the output's scale. So:
  - BatchNorm's running statistics are measured: BatchNorm alone in training mode (with a
    cumulative average, momentum None), forward passes over seeded random images, then
    eval mode; its affine weight and bias are drawn at random. Each layer then normalises
    real activations, as in a trained network, and the logits are of order one.
  - ConvNeXt's layer scales are drawn from [0.5, 1).
The model is exported in eval mode (BatchNormalization folded into the Conv before it where
there is one, as PyTorch's exporter does), batch 1, 3 x 224 x 224 (or SIZE x SIZE), input
"input", output "logits".

Usage: /usr/bin/python3 tests/ml/torchvision_export.py [--size SIZE] OUT_DIR NAME...
Writes OUT_DIR/NAME.onnx, NAME.input.npy (the seeded input) and NAME.torch.npy (PyTorch's
output for it), and prints one line per model: name, parameters, operators.
"""
import collections
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torchvision

MODELS = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x0_5",
          "efficientnet_b0", "densenet121", "convnext_tiny"]
OPSET = 17
SEED = 20240601
CALIB_BATCHES = 2    # BatchNorm statistics: 2 batches of 4 seeded images
CALIB_BATCH = 4


def build(name, size):
    """The model in eval mode and its input, both from fixed seeds."""
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, name)(weights=None)
    gen = torch.Generator().manual_seed(SEED + 1)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    model.eval()
    with torch.no_grad():
        for m in model.modules():
            # torchvision.models.convnext.CNBlock: y = x + layer_scale * block(x)
            if hasattr(m, "layer_scale") and isinstance(m.layer_scale, nn.Parameter):
                m.layer_scale.copy_(torch.rand(m.layer_scale.shape, generator=gen) * 0.5 + 0.5)
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)
            bn.bias.copy_(torch.randn(bn.num_features, generator=gen) * 0.1)
            bn.reset_running_stats()
            bn.momentum = None
            bn.train()
        if bns:
            for _ in range(CALIB_BATCHES):
                model(torch.randn(CALIB_BATCH, 3, 224, 224, generator=gen))
        model.eval()
    x = torch.randn(1, 3, size, size, generator=gen)
    return model, x


def export(name, size, out_dir):
    model, x = build(name, size)
    path = os.path.join(out_dir, name + ".onnx")
    with torch.no_grad():
        ref = model(x).numpy().astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), path, opset_version=OPSET, input_names=["input"], output_names=["logits"],
                          do_constant_folding=True)
    np.save(os.path.join(out_dir, name + ".input.npy"), x.numpy())
    np.save(os.path.join(out_dir, name + ".torch.npy"), ref)
    import onnx  # Debian python3-onnx; to check the opset and list what the exporter emitted
    proto = onnx.load(path)
    opsets = {o.domain or "ai.onnx": o.version for o in proto.opset_import}
    if opsets.get("ai.onnx") != OPSET:
        raise SystemExit("%s: exported with opsets %s, not ai.onnx %d" % (name, opsets, OPSET))
    ops = collections.Counter(n.op_type for n in proto.graph.node)
    params = sum(p.numel() for p in model.parameters())
    print("%s (%d x %d): %d parameters, logits max |y| %.3g; %s" % (
        name, size, size, params, float(np.abs(ref).max()), " ".join("%s:%d" % kv for kv in sorted(ops.items()))))


def main():
    args = sys.argv[1:]
    size = 224
    if len(args) >= 2 and args[0] == "--size":
        size = int(args[1])
        args = args[2:]
    if len(args) < 2 or any(n not in MODELS for n in args[1:]) or not 32 <= size <= 512:
        raise SystemExit("usage: torchvision_export.py [--size 32..512] OUT_DIR NAME... (NAME one of %s)"
                         % ", ".join(MODELS))
    torch.set_num_threads(1)  # one summation order, so PyTorch's reference is reproducible
    os.makedirs(args[0], exist_ok=True)
    for name in args[1:]:
        export(name, size, args[0])


if __name__ == "__main__":
    main()
