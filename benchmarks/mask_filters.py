#!/usr/bin/python3
"""How a mask spreads its kept weights over the filters of each convolution: a test of the
reading that SNIP concentrates its budget on few filters (docs/results.md, "The paper's
ordering on ResNet-20"). Reads the masks of finished runs from their checkpoints.

usage: benchmarks/mask_filters.py [--top 0.1] LABEL=RUN_DIR_GLOB ...

Each glob matches run directories of salient train or compare (their ckpt/latest holds /mask),
e.g. the seedS/ directories of one point; the runs of one LABEL are averaged (a LABEL given
twice gathers both globs). For every convolution and
linear weight of shape (O, I, ...) it counts, over the whole network:
  dead_out   output filters with no kept weight (their output is the norm's bias alone)
  dead_in    input channels no kept weight reads (a filter of the layer before is unused)
  top_share  the share of the kept weights held by the top --top fraction of each layer's
             output filters (by kept count), averaged over layers with any kept weight; a
             uniform spread gives about --top, one filter holding all gives 1
  gini       the Gini coefficient of the kept counts over output filters, averaged the same way
             (0: every filter keeps as many; near 1: a few filters keep everything)
Prints a markdown table, one row per LABEL: mean over its runs, and the spread (min-max) of
dead_out. Needs h5py and numpy (Debian: python3-h5py).
"""
import argparse
import glob
import os
import sys

import h5py
import numpy as np


def gini(x):
    x = np.sort(np.asarray(x, dtype=np.float64))
    n, s = len(x), x.sum()
    if n == 0 or s == 0:
        return 0.0
    return float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * s))


def mask_stats(path, top):
    with h5py.File(path, "r") as f:
        if "mask" not in f:
            raise SystemExit("mask_filters.py: %s has no /mask (a dense run?)" % path)
        tensors = []
        f["mask"].visititems(lambda name, o: tensors.append((name, o[()]))
                             if isinstance(o, h5py.Dataset) and name.endswith("weight")
                             and o.ndim >= 2 else None)
    filters = dead_out = inputs = dead_in = 0
    shares, ginis = [], []
    for _, m in tensors:
        per_out = m.reshape(m.shape[0], -1).sum(axis=1)
        per_in = m.sum(axis=tuple(a for a in range(m.ndim) if a != 1))
        filters += len(per_out)
        dead_out += int((per_out == 0).sum())
        inputs += len(per_in)
        dead_in += int((per_in == 0).sum())
        if per_out.sum() > 0:
            k = max(1, int(round(top * len(per_out))))
            shares.append(np.sort(per_out)[::-1][:k].sum() / per_out.sum())
            ginis.append(gini(per_out))
    return {"dead_out": dead_out / filters, "dead_in": dead_in / inputs,
            "top_share": float(np.mean(shares)), "gini": float(np.mean(ginis))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--top", type=float, default=0.1, help="fraction of filters for top_share")
    ap.add_argument("groups", nargs="+", metavar="LABEL=RUN_DIR_GLOB")
    a = ap.parse_args()
    if not 0 < a.top <= 1:
        raise SystemExit("mask_filters.py: --top %g: a fraction in (0, 1]" % a.top)
    print("| runs | n | dead filters %% (min-max) | unread input channels %% | top %g%% filters' share %% | Gini |"
          % (a.top * 100))
    print("|---|---|---|---|---|---|")
    groups = {}
    for g in a.groups:
        label, sep, pat = g.partition("=")
        if not sep or not pat:
            raise SystemExit("mask_filters.py: '%s': give LABEL=RUN_DIR_GLOB" % g)
        runs = sorted(glob.glob(pat))
        if not runs:
            raise SystemExit("mask_filters.py: %s: no run directory matches %s" % (label, pat))
        groups.setdefault(label, []).extend(runs)
    for label, runs in groups.items():
        ckpts = [os.path.join(d, "ckpt", "latest") for d in runs]
        missing = [c for c in ckpts if not os.path.exists(c)]
        if missing:
            raise SystemExit("mask_filters.py: %s: no checkpoint %s" % (label, missing[0]))
        st = [mask_stats(c, a.top) for c in ckpts]
        do = [s["dead_out"] * 100 for s in st]
        mean = lambda k: np.mean([s[k] for s in st])
        print("| %s | %d | %.1f (%.1f-%.1f) | %.1f | %.1f | %.2f |" % (
            label, len(st), np.mean(do), min(do), max(do), mean("dead_in") * 100,
            mean("top_share") * 100, mean("gini")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
