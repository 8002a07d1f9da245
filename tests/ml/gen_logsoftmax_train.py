#!/usr/bin/python3
"""A classifier whose head ends in log_softmax, trained by PyTorch with nll_loss: writes
OUT/model.onnx (exported at opset 17 before any step, so the engine starts from the same
weights), the dataset OUT/x_train.npy, OUT/y_train.npy (one full batch) and
OUT/torch_losses.json (the loss before each of STEPS plain SGD steps on that batch).
tests/ml/test_train_logsoftmax_torch.sh trains the same file with `gtee model train`.

Usage: /usr/bin/python3 tests/ml/gen_logsoftmax_train.py OUT [STEPS] [LR]
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

out = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 8
lr = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
torch.manual_seed(20261207)
torch.set_num_threads(1)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(20, 16)
        self.fc2 = torch.nn.Linear(16, 5)

    def forward(self, x):
        return F.log_softmax(self.fc2(torch.relu(self.fc1(x))), dim=1)


net = Net()
x = torch.randn(64, 20)
y = torch.randint(0, 5, (64,))
os.makedirs(out, exist_ok=True)
torch.onnx.export(net, x[:1], os.path.join(out, "model.onnx"), opset_version=17, input_names=["x"],
                  output_names=["logp"], dynamic_axes={"x": {0: "batch"}, "logp": {0: "batch"}})
np.save(os.path.join(out, "x_train.npy"), x.numpy().astype(np.float32))
np.save(os.path.join(out, "y_train.npy"), y.numpy().astype(np.int64))
opt = torch.optim.SGD(net.parameters(), lr=lr)
losses = []
for _ in range(steps):
    opt.zero_grad()
    loss = F.nll_loss(net(x), y)
    loss.backward()
    opt.step()
    losses.append(float(loss))
json.dump({"losses": losses, "lr": lr, "torch": torch.__version__}, open(os.path.join(out, "torch_losses.json"), "w"))
