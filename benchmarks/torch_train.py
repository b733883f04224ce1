#!/usr/bin/python3
"""PyTorch 1.13 rival for bench_train.c: the same models, data, batch and optimizer, T threads.

usage: /usr/bin/python3 benchmarks/torch_train.py ARCH [batch] [steps] [reps] [threads]
  ARCH: mlp | lenet5 | cnn (Fashion-MNIST) | resnet{20,18,50}-{gn,bn} (synthetic 3x32x32)
prints: torch,ARCH,batch,median_samples_per_s,min,max,peak_rss_MiB
A step = gather a shuffled batch (from the uint8 data + normalise, or from a pool of 8 batches of
normal samples for the ResNets, as bench_train.c) + forward + backward + SGD.
"""
import gzip
import os
import resource
import sys
import time

# Debian's torch runs Linear layers on threaded OpenBLAS: pin it before torch is imported, or
# "one thread" uses both cores.
THREADS = sys.argv[5] if len(sys.argv) > 5 else "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = THREADS
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from gen_fixtures import CNN, MLP, LeNet5  # noqa: E402  (the reference model definitions)
import salient_models  # noqa: E402  (the ResNets, via gen_fixtures' path)

DATA = "/usr/share/datasets/fashion-mnist"


def load_idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    arch = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    torch.set_num_threads(int(THREADS))
    torch.manual_seed(1)
    resnet = arch.startswith("resnet")
    if resnet:
        name, norm = arch.split("-")
        model = salient_models.resnet(name, 3, 10, "batch" if norm == "bn" else "group")
        x = torch.randn(8 * batch, 3, 32, 32)
        y = torch.arange(8 * batch) % 10
    else:
        x = torch.from_numpy(load_idx("train-images-idx3-ubyte.gz").copy()).unsqueeze(1)
        y = torch.from_numpy(load_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
        model = {"mlp": MLP, "lenet5": LeNet5, "cnn": lambda: CNN(1, 28)}[arch]()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = torch.randperm(x.shape[0])
    pos, rates = 0, []
    for r in range(-1, reps):  # r = -1 warms up, untimed
        t0 = time.perf_counter()
        for _ in range(steps):
            if pos + batch > x.shape[0]:
                pos = 0
            idx = order[pos: pos + batch]
            pos += batch
            xb = x[idx] if resnet else (x[idx].float() / 255.0 - 0.2860) / 0.3530
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), y[idx]).backward()
            opt.step()
        if r >= 0:
            rates.append(steps * batch / (time.perf_counter() - t0))
    rates.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("torch,%s,%d,%.1f,%.1f,%.1f,%.0f" % (arch, batch, rates[len(rates) // 2], rates[0],
                                              rates[-1], rss))


if __name__ == "__main__":
    main()
