#!/usr/bin/python3
"""Exports small PyTorch models to ONNX for the engine's tests, with reference data.

For each model, writes OUT/<name>/model.onnx and OUT/<name>/test_data_set_<b>/ holding
input_0.pb and output_0.pb (ONNX TensorProto files, the layout of ONNX's backend node
tests) for batch sizes 1 and 5, the outputs computed by PyTorch in float32. It also
writes input_0.bin (raw little-endian float32) and shape.json for ONNX Runtime's side.
The batch dimension is exported as symbolic ('batch'). Weights come from a fixed seed.

Usage: export_reference_models.py OUT [NAME...]
"""
import json
import os
import sys

import numpy as np
import torch
from onnx import numpy_helper

torch.manual_seed(1234)


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(784, 64), torch.nn.ReLU(),
            torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10))

    def forward(self, x):
        return torch.softmax(self.net(x), dim=-1)


class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.b1 = torch.nn.BatchNorm2d(8)
        self.c2 = torch.nn.Conv2d(8, 16, 3, stride=2)
        self.b2 = torch.nn.BatchNorm2d(16)
        self.c3 = torch.nn.Conv2d(16, 16, 1)
        self.fc = torch.nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = torch.nn.functional.pad(x, (1, 1, 2, 0), mode="reflect")  # Pad, reflect: 30 x 30
        x = torch.nn.functional.pad(x, (0, 1, 0, 1), mode="replicate")[:, :, :30, :30]  # Pad, edge; Slice
        x = torch.relu(self.b1(self.c1(x)))
        x = torch.nn.functional.max_pool2d(x, 2)
        x = torch.relu(self.b2(self.c2(x)))
        x = torch.nn.functional.avg_pool2d(x + torch.sigmoid(self.c3(x)), 2, ceil_mode=True)
        y = self.fc(torch.flatten(x, 1))
        g = torch.mean(x, dim=(2, 3))  # GlobalAveragePool / ReduceMean
        return torch.cat([y, g[:, :2]], dim=1)


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(50, 32)
        self.pos = torch.nn.Parameter(torch.randn(1, 12, 32) * 0.1)
        layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, activation="gelu", batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = torch.nn.Linear(32, 5)

    def forward(self, ids):
        h = self.enc(self.emb(ids) + self.pos)
        return self.head(h.mean(dim=1))


def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


MODELS = {
    "mlp": (MLP, lambda b: torch.rand(b, 1, 28, 28)),
    "cnn": (CNN, lambda b: torch.rand(b, 1, 28, 28)),
    "encoder": (Encoder, lambda b: torch.randint(0, 50, (b, 12))),
}


def export(out, name):
    cls, make_input = MODELS[name]
    model = cls()
    randomize_bn(model)
    model.eval()
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    x1 = make_input(2)
    torch.onnx.export(model, (x1,), os.path.join(d, "model.onnx"), input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      opset_version=14 if name != "encoder" else 17)
    for b in (1, 5):
        x = make_input(b)
        with torch.no_grad():
            y = model(x).numpy().astype(np.float32)
        ds = os.path.join(d, "test_data_set_%d" % b)
        os.makedirs(ds, exist_ok=True)
        xn = x.numpy()
        with open(os.path.join(ds, "input_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(xn, "input").SerializeToString())
        with open(os.path.join(ds, "output_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(y, "output").SerializeToString())
        xn.astype(np.float32 if xn.dtype == np.float32 else np.int64).tofile(os.path.join(ds, "input_0.bin"))
        with open(os.path.join(ds, "shape.json"), "w") as f:
            json.dump({"input": list(xn.shape), "dtype": "int64" if xn.dtype == np.int64 else "float32",
                       "output": list(y.shape)}, f)


def main():
    out = sys.argv[1]
    for name in sys.argv[2:] or MODELS.keys():
        export(out, name)


if __name__ == "__main__":
    main()
