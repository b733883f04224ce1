#!/usr/bin/python3
"""Fit the sparse-allreduce cost model (src/comm/costmodel.c) to measured times, check it, and
extrapolate each algorithm to 64-1024 ranks on a stated network.

usage: benchmarks/costmodel_fit.py ALLREDUCE_TABLE [--alpha 2e-6] [--gbps 100]
  ALLREDUCE_TABLE: the output of benchmarks/allreduce.sh (e.g. benchmarks/results/*.txt).

The model is linear in its four constants: each algorithm's predicted time is
c_alpha*alpha + c_beta*beta + c_gamma*gamma + c_delta*delta, with coefficients that depend only
on (P, n, K). coefficients() mirrors sal_cost_sparse() term by term (keep the two in step). The
fit minimises the relative error over every measured (P, n, density, algorithm) with all
constants >= 0 (Lawson-Hanson NNLS). Then:
  - fit quality: median and worst |predicted / measured - 1| per algorithm;
  - auto: which algorithm the fitted model picks at each point, and that algorithm's measured
    time over the best measured time (the target is <= 1.10 everywhere);
  - extrapolation: the fitted local-work constants (gamma, delta: properties of the CPU) with a
    network's alpha and beta (the arguments), for P = 64..1024 ranks, n = 2^22.
"""
import math
import sys

import numpy as np

DENSE_SWITCH = 0.5


def coefficients(P, n, K):
    """(dense, allgather, recdbl) rows of [alpha, beta, gamma, delta] coefficients."""
    k = K / P
    at = max(1.0, math.ceil(DENSE_SWITCH * n))
    d = min(1.0, k / n) if n > 0 else 0.0
    L = 0
    while (1 << L) < P:
        L += 1
    f = (P - 1) / P
    dense = [2 * L, 2 * f * 4 * n, k, n + f * n]
    ag = [2 * L, 4 * (P - 1) + 8 * (K - k), 0.0, 0.0]
    if K >= at:
        ag[3] += n
        ag[2] += K
    else:
        ag[2] += K * (L if L > 0 else 1)

    def round_terms(u):  # one exchange of a set of u entries: [alpha, bytes, gamma, delta]
        if u >= at:
            return [1, 4 * n, 0, n]
        return [1, 8 * u, 2 * u, 0]

    rd = [0.0, 0.0, 0.0, 0.0]
    if k >= at:
        rd[3] += n
        rd[2] += k
    p2 = 1
    while 2 * p2 <= P:
        p2 *= 2
    groups, u = 1, k
    if P > p2:
        rd = [a + b for a, b in zip(rd, round_terms(u))]
        groups, u = 2, n * (1 - (1 - d) ** 2)
    m = 1
    while m < p2:
        rd = [a + b for a, b in zip(rd, round_terms(u))]
        groups *= 2
        u = n * (1 - (1 - d) ** groups)
        m *= 2
    if P > p2:
        t = round_terms(u)
        rd[0] += t[0]
        rd[1] += t[1]
    return dense, ag, rd


def nnls(A, b, iters=200):
    """Lawson-Hanson non-negative least squares (small problems)."""
    m, n = A.shape
    x = np.zeros(n)
    passive = np.zeros(n, bool)
    w = A.T @ (b - A @ x)
    for _ in range(iters):
        if passive.all() or w[~passive].max() <= 1e-12 * np.abs(w).max():
            break
        j = np.argmax(np.where(passive, -np.inf, w))
        passive[j] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(A[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            neg = passive & (z <= 0)
            alpha = np.min(x[neg] / (x[neg] - z[neg]))
            x = x + alpha * (z - x)
            passive &= x > 1e-30
        w = A.T @ (b - A @ x)
    return x


def parse(path):
    rows = []
    for line in open(path):
        parts = line.split("|")
        if len(parts) < 3 or line.startswith("#"):
            continue
        head, times = parts[0].split(), parts[1].split()
        if len(head) != 3 or len(times) != 6 or not head[0].isdigit():
            continue
        P, n, dens = int(head[0]), int(head[1]), float(head[2])
        dense, masked, masked_idx, ag, rd, auto = (float(t) * 1e-3 for t in times)
        rows.append((P, n, dens, dense, ag, rd, auto))
    return rows


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    alpha_net, gbps = 2e-6, 100.0
    if "--alpha" in args:
        alpha_net = float(args[args.index("--alpha") + 1])
    if "--gbps" in args:
        gbps = float(args[args.index("--gbps") + 1])
    rows = parse(args[0])
    if not rows:
        print(f"costmodel_fit: no table rows in {args[0]}", file=sys.stderr)
        return 2
    A, b, tags = [], [], []
    for P, n, dens, t_dense, t_ag, t_rd, _ in rows:
        K = round(dens * n) * P
        for name, coef, t in zip(("dense", "allgather", "recdbl"), coefficients(P, n, K),
                                 (t_dense, t_ag, t_rd)):
            A.append(np.array(coef) / t)  # relative error: divide each row by its time
            b.append(1.0)
            tags.append((name, P, n, dens, np.array(coef), t))
    x = nnls(np.array(A), np.array(b))
    alpha, beta, gamma, delta = x
    print(f"# fit over {len(rows)} points x 3 algorithms of {args[0]}")
    print(f"alpha {alpha:.3g} s   beta {beta:.3g} s/B ({1 / beta / 1e9 if beta > 0 else float('inf'):.2f} GB/s)"
          f"   gamma {gamma:.3g} s   delta {delta:.3g} s")
    for name in ("dense", "allgather", "recdbl"):
        err = [abs(c @ x / t - 1) for nm, _, _, _, c, t in tags if nm == name]
        print(f"{name:10s} |pred/meas - 1|: median {np.median(err):.2f}, worst {max(err):.2f}")
    worst, bad = 1.0, 0
    for P, n, dens, t_dense, t_ag, t_rd, t_auto in rows:
        K = round(dens * n) * P
        pred = [np.array(c) @ x for c in coefficients(P, n, K)]
        meas = [t_dense, t_ag, t_rd]
        pick = int(np.argmin(pred))
        ratio = meas[pick] / min(meas)
        worst = max(worst, ratio)
        bad += ratio > 1.10
    print(f"auto with the fitted constants: worst chosen/best {worst:.2f}; "
          f"{bad} of {len(rows)} points above 1.10")
    beta_net = 8 / (gbps * 1e9)
    print(f"\n# extrapolation: alpha {alpha_net:g} s, {gbps:g} Gb/s (beta {beta_net:.3g} s/B), "
          f"gamma {gamma:.3g} s, delta {delta:.3g} s; n = 2^22 floats; times in ms")
    print(f"{'P':>6} {'density':>8} {'dense':>10} {'allgather':>10} {'recdbl':>10}  best")
    net = np.array([alpha_net, beta_net, gamma, delta])
    for P in (8, 64, 128, 256, 512, 1024):
        for dens in (0.001, 0.01, 0.1):
            n = 1 << 22
            K = round(dens * n) * P
            t = [np.array(c) @ net * 1e3 for c in coefficients(P, n, K)]
            best = ("dense", "allgather", "recdbl")[int(np.argmin(t))]
            print(f"{P:>6} {dens:>8g} {t[0]:>10.2f} {t[1]:>10.2f} {t[2]:>10.2f}  {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
