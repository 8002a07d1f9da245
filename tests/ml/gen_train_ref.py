#!/usr/bin/python3
"""Computes reference values for the engine's losses and optimizers with PyTorch
(Debian python3-torch) and writes them as JSON for tests/ml/test_train_prims.c:
CrossEntropyLoss, NLLLoss and MSELoss values and gradients (autograd), and the parameters after
each of several torch.optim.SGD / Adam / AdamW steps on seeded gradients.
Float32 values are written as the exact decimal of their double widening.

Usage: /usr/bin/python3 tests/ml/gen_train_ref.py > tests/ml/data/train_ref.json
"""
import json
import sys

import torch

torch.manual_seed(7)
torch.set_num_threads(1)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def xent_case(name, logits, labels):
    x = logits.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(x, labels)
    loss.backward()
    return {"name": name, "n": logits.shape[0], "c": logits.shape[1], "logits": flat(logits),
            "labels": labels.tolist(), "loss": float(loss), "grad": flat(x.grad)}


def nll_case(name, logits, labels):
    logp = torch.log_softmax(logits, dim=1).clone().requires_grad_(True)
    loss = torch.nn.functional.nll_loss(logp, labels)
    loss.backward()
    return {"name": name, "n": logits.shape[0], "c": logits.shape[1], "logp": flat(logp), "labels": labels.tolist(),
            "loss": float(loss), "grad": flat(logp.grad)}


def mse_case(name, pred, target):
    p = pred.clone().requires_grad_(True)
    loss = torch.nn.functional.mse_loss(p, target)
    loss.backward()
    return {"name": name, "pred": flat(pred), "target": flat(target), "loss": float(loss), "grad": flat(p.grad)}


def optim_case(name, kind, hyper, n=7, steps=5):
    p0 = torch.randn(n)
    grads = [torch.randn(n) * 0.5 for _ in range(steps)]
    param = torch.nn.Parameter(p0.clone())
    if kind == "sgd":
        opt = torch.optim.SGD([param], lr=hyper["lr"], momentum=hyper["momentum"], dampening=hyper["dampening"],
                              weight_decay=hyper["weight_decay"], nesterov=bool(hyper["nesterov"]))
    else:
        cls = torch.optim.AdamW if hyper["decoupled"] else torch.optim.Adam
        opt = cls([param], lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]), eps=hyper["eps"],
                  weight_decay=hyper["weight_decay"])
    after = []
    for g in grads:
        param.grad = g.clone()
        opt.step()
        after.append(flat(param))
    return {"name": name, "kind": kind, "hyper": hyper, "params": flat(p0), "grads": [flat(g) for g in grads],
            "after": after}


def f32(v):
    return float(torch.tensor(v, dtype=torch.float32))


def sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=0):
    return {"lr": f32(lr), "momentum": f32(momentum), "dampening": f32(dampening),
            "weight_decay": f32(weight_decay), "nesterov": nesterov}


def adam(lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=0):
    return {"lr": f32(lr), "beta1": f32(beta1), "beta2": f32(beta2), "eps": f32(eps),
            "weight_decay": f32(weight_decay), "decoupled": decoupled}


big = torch.tensor([[100.0, -100.0, 0.0], [-50.0, 60.0, 59.5], [0.0, 0.0, 0.0]])
out = {
    "generator": "tests/ml/gen_train_ref.py",
    "torch": torch.__version__,
    "xent": [
        xent_case("random 6x10", torch.randn(6, 10) * 3, torch.randint(0, 10, (6,))),
        xent_case("large logits", big, torch.tensor([1, 2, 0])),
        xent_case("one row two classes", torch.tensor([[0.25, -1.5]]), torch.tensor([1])),
    ],
    "mse": [mse_case("random 9", torch.randn(9), torch.randn(9))],
    # hyper-parameters are rounded to float32 first: the engine takes them as float
    "optim": [
        optim_case("sgd plain", "sgd", sgd(0.1)),
        optim_case("sgd momentum", "sgd", sgd(0.05, momentum=0.9)),
        optim_case("sgd dampening", "sgd", sgd(0.05, momentum=0.9, dampening=0.25)),
        optim_case("sgd nesterov", "sgd", sgd(0.05, momentum=0.9, nesterov=1)),
        optim_case("sgd weight decay", "sgd", sgd(0.05, momentum=0.9, weight_decay=0.01)),
        optim_case("adam default", "adam", adam(1e-3)),
        optim_case("adam tuned with L2", "adam", adam(1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.01)),
        optim_case("adamw", "adam", adam(1e-2, weight_decay=0.1, decoupled=1)),
    ],
    # after the others, so that their random draws do not move
    "nll": [nll_case("random 5x7 log-probabilities", torch.randn(5, 7) * 2, torch.randint(0, 7, (5,)))],
}
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
