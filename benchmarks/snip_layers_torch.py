#!/usr/bin/python3
"""Per-layer share of weights that SNIP's global top-k keeps in PyTorch's own ResNet, as an
independent check of salient's masks (docs/results.md, "The paper's ordering on ResNet-20").

usage: benchmarks/snip_layers_torch.py [--arch resnet20] [--norm group] [--density 0.1]
                                       [--batches 20] [--data /usr/share/datasets/fashion-mnist]

Builds scripts/salient_models.py's module with PyTorch's default initialisation, scores
|w * dL/dw| summed over BATCHES minibatches of 32 Fashion-MNIST training images (normalised as
salient does), keeps the global top DENSITY of the weights of every conv and linear layer, and
prints each layer's kept fraction. salient's own mask of a run is its mask.csv. Needs
python3-torch (run with /usr/bin/python3 on Debian).
"""
import argparse
import gzip
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from salient_models import resnet  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--arch", default="resnet20")
ap.add_argument("--norm", default="group")
ap.add_argument("--density", type=float, default=0.1)
ap.add_argument("--batches", type=int, default=20)
ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
a = ap.parse_args()
torch.set_num_threads(1)
torch.manual_seed(0)
model = resnet(a.arch, channels=1, classes=10, norm=a.norm)
with gzip.open(os.path.join(a.data, "train-images-idx3-ubyte.gz")) as f:
    img = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 1, 28, 28)
with gzip.open(os.path.join(a.data, "train-labels-idx1-ubyte.gz")) as f:
    lab = np.frombuffer(f.read()[8:], np.uint8)
scores = {}
for b in range(a.batches):
    idx = np.random.RandomState(b).choice(len(img), 32, replace=False)
    x = torch.tensor((img[idx] / 255.0 - 0.2860) / 0.3530, dtype=torch.float32)
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), torch.tensor(lab[idx].astype(np.int64))).backward()
    for name, w in model.named_parameters():
        scores[name] = scores.get(name, 0) + (w.grad * w).abs().detach()
names = [n for n, w in model.named_parameters() if w.dim() > 1]
flat = torch.cat([scores[n].flatten() for n in names])
threshold = torch.topk(flat, int(a.density * flat.numel())).values[-1]
print("tensor,numel,kept_fraction")
for n in names:
    print(f"{n},{scores[n].numel()},{float((scores[n] >= threshold).float().mean()):.4f}")
