#!/usr/bin/python3
"""Defines the reference models of the ML engine's tests and benchmarks, and exports them
to ONNX with PyTorch (Debian's python3-torch) together with a sample input and PyTorch's
output for it, so the engine can be compared with PyTorch and with ONNX Runtime.

  mlp          Flatten -> Linear 784-256 -> ReLU -> 256-128 -> ReLU -> 128-10
  cnn          LeNet-style: Conv 5x5 -> ReLU -> MaxPool -> Conv 5x5 -> ReLU -> MaxPool
               -> Flatten -> Gemm -> ReLU -> Gemm
  cnn_bn       cnn with BatchNormalization after each convolution
  resnet       Conv-BN-ReLU stem, two residual blocks (Add; the second strided, with a
               1x1 projection), GlobalAveragePool, Gemm
  transformer  token embedding (Gather) + learned positions, 2 x TransformerEncoderLayer
               (d_model 64, 4 heads, GELU), LayerNorm, mean over tokens, Gemm

Image models take float32 [batch, 1, 28, 28] (Fashion-MNIST scaled to 0..1) and give
[batch, 10] logits; the transformer takes int64 token ids [batch, 16]. The batch axis is
dynamic and named "batch". Everything is seeded and single-threaded, so a second run
writes the same bytes (tests/ml/test_models_export.sh checks it).

Usage: /usr/bin/python3 tests/ml/models/export.py OUT_DIR [--only NAME ...]
Writes OUT_DIR/NAME.onnx, NAME.input.npy, NAME.torch.npy and OUT_DIR/manifest.json.
"""
import argparse
import collections
import gzip
import hashlib
import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn

OPSET = 14
SEED = 20240601
BATCH = 4            # rows in each sample input
SEQ = 16             # transformer tokens per row
VOCAB = 100
FMNIST = "/usr/share/datasets/fashion-mnist"


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                 nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    def __init__(self, batch_norm=False):
        super().__init__()
        bn = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), bn(16), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 14 x 14
            nn.Conv2d(16, 32, 5), bn(32), nn.ReLU(), nn.MaxPool2d(2))             # 32 x 5 x 5
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class ResBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.proj is None else self.proj(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(ResBlock(16, 16, 1), ResBlock(16, 32, 2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 64)
        self.pos = nn.Parameter(torch.randn(1, SEQ, 64) * 0.1)
        layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.1, activation="gelu",
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(64)
        self.head = nn.Linear(64, 10)

    def forward(self, tokens):
        h = self.encoder(self.embed(tokens) + self.pos)
        return self.head(self.norm(h).mean(dim=1))


def randomize_batch_norm(model, gen):
    """Untrained BatchNorm is the identity (mean 0, var 1, scale 1, shift 0); give it
    running statistics and affine parameters so the exported graph tests real work."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


def fashion_mnist_images(n):
    """The first n test images of Debian's Fashion-MNIST, as float32 [n, 1, 28, 28] / 255."""
    with gzip.open(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")) as f:
        raw = f.read(16 + n * 784)
    return (np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 1, 28, 28) / np.float32(255)).astype(np.float32)


def build(name):
    """The model and its sample input (numpy), both from fixed seeds."""
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + 1)
    if name == "mlp":
        model = MLP()
    elif name == "cnn":
        model = CNN()
    elif name == "cnn_bn":
        model = CNN(batch_norm=True)
    elif name == "resnet":
        model = ResNet()
    elif name == "transformer":
        model = Transformer()
    else:
        raise SystemExit("unknown model " + name)
    with torch.no_grad():
        randomize_batch_norm(model, gen)
    if name == "transformer":
        sample = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen).numpy().astype(np.int64)
    else:
        sample = fashion_mnist_images(BATCH)
    return model.eval(), sample


MODELS = ["mlp", "cnn", "cnn_bn", "resnet", "transformer"]


def export(name, out_dir):
    model, sample = build(name)
    in_name = "tokens" if name == "transformer" else "input"
    path = os.path.join(out_dir, name + ".onnx")
    x = torch.from_numpy(sample)
    with torch.no_grad():
        ref = model(x).numpy().astype(np.float32)
    # PRESERVE keeps BatchNormalization as its own node (EVAL folds it into the Conv),
    # still in inference form because the model is in eval mode.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), path, opset_version=OPSET, input_names=[in_name], output_names=["logits"],
                          dynamic_axes={in_name: {0: "batch"}, "logits": {0: "batch"}},
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    np.save(os.path.join(out_dir, name + ".input.npy"), sample)
    np.save(os.path.join(out_dir, name + ".torch.npy"), ref)

    import onnx  # Debian python3-onnx; only to list what the exporter emitted
    graph = onnx.load(path).graph
    ops = collections.Counter(n.op_type for n in graph.node)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    in_shape = ["batch"] + list(sample.shape[1:])
    return {
        "name": name,
        "file": name + ".onnx",
        "sha256": digest,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "inputs": [{"name": in_name, "dtype": str(sample.dtype), "shape": in_shape, "sample": name + ".input.npy"}],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 10], "torch": name + ".torch.npy"}],
        "operators": dict(sorted(ops.items())),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--only", nargs="*", default=MODELS, choices=MODELS)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(1)  # one summation order, so the reference outputs are reproducible
    torch.use_deterministic_algorithms(True)
    manifest = {
        "generator": "tests/ml/models/export.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "opset": OPSET,
        "seed": SEED,
        "models": [export(n, args.out_dir) for n in args.only],
    }
    with open(os.path.join(args.out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    for m in manifest["models"]:
        print("%-12s %7d parameters  %s" % (m["name"], m["parameters"], " ".join(m["operators"])), file=sys.stderr)


if __name__ == "__main__":
    main()
