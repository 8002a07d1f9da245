#!/usr/bin/python3
"""Reference for BatchNormalization in training mode (tests/ml/test_train_bn.c), computed
with PyTorch (Debian python3-torch): two SGD steps of torch.nn.BatchNorm2d in train mode
(momentum 0.1, PyTorch's convention; ONNX momentum = 1 - 0.1) under an MSE loss, on two
seeded batches. Per step: the loss, the gradients of the input, weight and bias (autograd),
the running mean and variance after the step (PyTorch: unbiased batch variance; ONNX
training_mode: the population variance, computed here from the same batch), and the
weight and bias after the SGD update. Also writes the ONNX graph the engine trains:
x + Z (Z a zero initializer, so that dL/dZ is dL/dx) into BatchNormalization.
Float32 values are written as the exact decimal of their double widening.

  /usr/bin/python3 tests/ml/gen_bn_ref.py tests/ml/grad/bn_torch.onnx > tests/ml/data/bn_ref.json
"""
import json
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

torch.manual_seed(15)
torch.set_num_threads(1)
N, C, H, W = 4, 3, 5, 5
LR = 0.1


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


bn = torch.nn.BatchNorm2d(C, eps=1e-5, momentum=0.1)
with torch.no_grad():
    bn.weight.copy_(torch.rand(C) + 0.5)
    bn.bias.copy_(torch.randn(C) * 0.5)
    bn.running_mean.copy_(torch.randn(C) * 0.3)
    bn.running_var.copy_(torch.rand(C) + 0.5)
init = {"weight": flat(bn.weight), "bias": flat(bn.bias), "running_mean": flat(bn.running_mean),
        "running_var": flat(bn.running_var)}
bn.train()
opt = torch.optim.SGD(bn.parameters(), lr=LR)
onnx_var = bn.running_var.detach().clone()
steps = []
for s in range(2):
    x = (torch.randn(N, C, H, W) * (1.0 + s) + 0.5).requires_grad_(True)
    target = torch.randn(N, C, H, W)
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(bn(x), target)
    loss.backward()
    pop = x.detach().var(dim=(0, 2, 3), unbiased=False)
    onnx_var = onnx_var * 0.9 + pop * 0.1
    step = {"x": flat(x), "target": flat(target), "loss": float(loss), "grad_x": flat(x.grad),
            "grad_weight": flat(bn.weight.grad), "grad_bias": flat(bn.bias.grad),
            "running_mean": flat(bn.running_mean), "running_var": flat(bn.running_var),
            "running_var_population": flat(onnx_var)}
    opt.step()
    step["weight"] = flat(bn.weight)
    step["bias"] = flat(bn.bias)
    steps.append(step)

f = lambda name, vals: numpy_helper.from_array(np.array(vals, np.float32), name)
g = helper.make_graph([
    helper.make_node("Add", ["x", "Z"], ["a"]),
    helper.make_node("BatchNormalization", ["a", "scale", "bias", "mean", "var"], ["y"], epsilon=1e-5, momentum=0.9),
], "bn_torch", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [N, C, H, W])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [N, C, H, W])],
    [numpy_helper.from_array(np.zeros([N, C, H, W], np.float32), "Z"), f("scale", init["weight"]),
     f("bias", init["bias"]), f("mean", init["running_mean"]), f("var", init["running_var"])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)], producer_name="gen_bn_ref")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
json.dump({"generator": "tests/ml/gen_bn_ref.py", "torch": torch.__version__, "lr": LR, "init": init,
           "steps": steps}, sys.stdout, indent=1)
sys.stdout.write("\n")
