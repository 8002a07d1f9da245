#!/usr/bin/python3
"""PyTorch reference for the ML engine's training benchmark: trains one of the reference
architectures of tests/ml/models/export.py (the same definitions the committed ONNX files
come from) on Fashion-MNIST, read straight from Debian's IDX .gz files with NumPy, and
prints one JSON object: training samples per second and test accuracy after each epoch.

  /usr/bin/python3 bench/torch_train.py --model mlp --epochs 5 --batch 64 --threads 1 --optim adam

Setup, identical to what the engine's trainer is asked to do: pixels / 255, the
architecture's seeded initial weights, softmax cross-entropy averaged over the batch,
shuffling each epoch from the seed, the last partial batch kept. Timing covers the
training steps only (forward, loss, backward, optimizer step, batch gather), not loading
or evaluation. Each epoch also reports the process's CPU seconds: on a machine shared with
other work, wall-clock rates fall with the others' load, and the CPU time shows how much.
"""
import argparse
import gzip
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "ml", "models"))
import export  # noqa: E402  (the model definitions)

FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """An IDX file (gzip or not) as a NumPy array; big-endian header and data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise SystemExit("%s: not an unsigned-byte IDX file" % path)
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise SystemExit("%s: %d bytes of data for shape %s" % (path, data.size, dims))
    return data.reshape(dims)


def load(split, data_dir):
    x = read_idx(os.path.join(data_dir, "%s-images-idx3-ubyte.gz" % split))
    y = read_idx(os.path.join(data_dir, "%s-labels-idx1-ubyte.gz" % split))
    if x.shape[0] != y.shape[0]:
        raise SystemExit("%s: %d images but %d labels" % (split, x.shape[0], y.shape[0]))
    x = torch.from_numpy((x.reshape(-1, 1, 28, 28) / np.float32(255)).astype(np.float32))
    return x, torch.from_numpy(y.astype(np.int64))


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    model.train()
    return correct / x.shape[0]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=["mlp", "cnn", "cnn_bn"], default="mlp")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--optim", choices=["sgd", "adam"], default="adam")
    ap.add_argument("--lr", type=float, help="default: 1e-3 for adam, 0.01 for sgd")
    ap.add_argument("--momentum", type=float, default=0.9, help="sgd only")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=FMNIST, help="directory with the Fashion-MNIST IDX .gz files")
    ap.add_argument("--limit", type=int, default=0, help="train on the first N training images only (smoke tests)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    load_before = os.getloadavg()[0]
    x_train, y_train = load("train", args.data)
    x_test, y_test = load("t10k", args.data)
    if args.limit > 0:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    model, _ = export.build(args.model)   # the exported architecture and initial weights
    model.train()
    lr = args.lr if args.lr is not None else (1e-3 if args.optim == "adam" else 0.01)
    if args.optim == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=args.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=args.momentum, weight_decay=args.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)
    n = x_train.shape[0]
    epochs = []
    train_seconds = 0.0
    for epoch in range(args.epochs):
        order = torch.randperm(n, generator=gen)
        total_loss = 0.0
        t0 = time.perf_counter()
        c0 = time.process_time()
        for i in range(0, n, args.batch):
            idx = order[i:i + args.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total_loss += loss.item() * idx.shape[0]
        dt = time.perf_counter() - t0
        cpu = time.process_time() - c0
        train_seconds += dt
        epochs.append({"epoch": epoch + 1, "seconds": round(dt, 3), "cpu_seconds": round(cpu, 3),
                       "samples_per_s": round(n / dt, 1),
                       "train_loss": round(total_loss / n, 5), "test_accuracy": accuracy(model, x_test, y_test)})
        print("epoch %d: %.1f samples/s, loss %.4f, test accuracy %.4f" %
              (epoch + 1, n / dt, total_loss / n, epochs[-1]["test_accuracy"]), file=sys.stderr)
    print(json.dumps({
        "framework": "pytorch", "torch": torch.__version__, "cpu": cpu_name(), "cpus": os.cpu_count(),
        "model": args.model, "epochs": args.epochs, "batch": args.batch, "threads": args.threads,
        "optim": args.optim, "lr": lr, "momentum": args.momentum if args.optim == "sgd" else None,
        "weight_decay": args.weight_decay, "seed": args.seed, "train_items": n,
        "samples_per_s": round(n * args.epochs / train_seconds, 1),
        "best_epoch_samples_per_s": max(e["samples_per_s"] for e in epochs) if epochs else None,
        "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # other processes' load, start/end
        "test_accuracy": epochs[-1]["test_accuracy"] if epochs else None, "per_epoch": epochs,
    }))


if __name__ == "__main__":
    main()
