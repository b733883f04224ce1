#!/usr/bin/python3
"""Fit the sparse-allreduce cost model (src/comm/costmodel.c) to measured times, check it, and
extrapolate each algorithm to 64-1024 ranks on a stated network.

usage: benchmarks/costmodel_fit.py TABLE [--rate R] [--ranks P] [--fix-alpha A] [--fix-beta B]
                                         [--fix-beta-coll C] [--fix-gamma G] [--fix-delta D]
                                         [--alpha 2e-6] [--gbps 100]
  TABLE: the output of benchmarks/allreduce.sh (e.g. benchmarks/results/*.txt), or the
  collectives.csv that benchmarks/vcluster_net.sh keeps in its OUT directory (--rate 1gbit picks
  one link rate out of it). --ranks P: only the points on P ranks (auto's constants are per
  communicator size, as MPI libraries' tuning tables are). --fix-X: hold constant X at a measured value (e.g. alpha and beta
  from benchmarks/pingpong.c on the same links) and fit the others.

The model is linear in its five constants: each algorithm's predicted time is
c_alpha*alpha + c_beta*beta + c_beta_coll*beta_coll + c_gamma*gamma + c_delta*delta, with
coefficients that depend only on (P, n, K). coefficients() mirrors sal_cost_sparse() term by
term (keep the two in step). The fit minimises the relative error over every measured (P, n, density, algorithm) with all
constants >= 0 (Lawson-Hanson NNLS). Then:
  - fit quality: median and worst |predicted / measured - 1| per algorithm;
  - auto: which of dense/allgather/recdbl/ring the fitted model picks at each point, and that
    algorithm's measured time over the best measured time (the target is <= 1.10 everywhere);
  - the flags that give `salient bench allreduce` (and so auto) these constants, and the same
    as [comm] cost_* settings for training (compress = topk);
  - extrapolation: the fitted local-work constants (gamma, delta: properties of the CPU) with a
    network's alpha and beta (the arguments), for P = 64..1024 ranks, n = 2^22.
"""
import math
import sys

import numpy as np

DENSE_SWITCH = 0.5


NAMES = ("dense", "allgather", "recdbl", "ring")
CONSTS = ("alpha", "beta", "beta_coll", "gamma", "delta")


def coefficients(P, n, K):
    """{algorithm: [alpha, beta, beta_coll, gamma, delta] coefficients}, as sal_cost_sparse."""
    k = K / P
    at = max(1.0, math.ceil(DENSE_SWITCH * n))
    d = min(1.0, k / n) if n > 0 else 0.0
    L = 0
    while (1 << L) < P:
        L += 1
    f = (P - 1) / P
    dense = [2 * L, 0.0, 2 * f * 4 * n, k, n + f * n]
    ring = [2 * (P - 1), 2 * f * 4 * n, 0.0, k, n + f * n]
    ag = [2 * L, 0.0, 4 * (P - 1) + 8 * (K - k), 0.0, 0.0]
    if K >= at:
        ag[4] += n
        ag[3] += K
    else:
        ag[3] += K * (L if L > 0 else 1)

    def round_terms(u):  # one exchange of a set of u entries (our messages: beta)
        if u >= at:
            return [1, 4 * n, 0, 0, n]
        return [1, 8 * u, 0, 2 * u, 0]

    rd = [0.0] * 5
    if k >= at:
        rd[4] += n
        rd[3] += k
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
    return {"dense": dense, "allgather": ag, "recdbl": rd, "ring": ring}


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
    """[(P, n, density, {algorithm: seconds})] from a collectives CSV of vcluster_net.sh
    (rate,algo,ranks,n,density,bytes,median_s,choice: one rate per file is assumed, or pass
    --rate) or from the summary table of allreduce.sh (ms)."""
    pts = {}
    if path.endswith(".csv"):
        for line in open(path):
            f = line.strip().split(",")
            if len(f) < 7 or not f[2].isdigit() or (RATE and f[0] != RATE):
                continue
            if RANKS and int(f[2]) != RANKS:
                continue
            key = (int(f[2]), int(f[3]), float(f[4]))
            pts.setdefault(key, {})[f[1]] = float(f[6])
        return [(*key, t) for key, t in pts.items()]
    rows = []
    for line in open(path):
        parts = line.split("|")
        if len(parts) < 3 or line.startswith("#"):
            continue
        head, times = parts[0].split(), parts[1].split()
        if len(head) != 3 or not head[0].isdigit() or len(times) not in (6, 7):
            continue
        names = ("dense", "masked", "masked_idx", "allgather", "recdbl", "auto")
        if len(times) == 7:
            names = ("dense", "ring", "masked", "masked_idx", "allgather", "recdbl", "auto")
        if RANKS and int(head[0]) != RANKS:
            continue
        rows.append((int(head[0]), int(head[1]), float(head[2]),
                     {nm: float(t) * 1e-3 for nm, t in zip(names, times)}))
    return rows


RATE = None
RANKS = 0


def flag(args, name, default):
    return type(default)(args[args.index(name) + 1]) if name in args else default


def main():
    global RATE, RANKS
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    alpha_net, gbps = flag(args, "--alpha", 2e-6), flag(args, "--gbps", 100.0)
    RATE = flag(args, "--rate", "") or None
    RANKS = flag(args, "--ranks", 0)
    fixed = {c: flag(args, "--fix-" + c.replace("_", "-"), -1.0) for c in CONSTS}
    rows = parse(args[0])
    if not rows:
        print(f"costmodel_fit: no table rows in {args[0]}", file=sys.stderr)
        return 2
    A, b, tags = [], [], []
    free = [i for i, c in enumerate(CONSTS) if fixed[c] < 0]
    for P, n, dens, t in rows:
        K = round(dens * n) * P
        for name, coef in coefficients(P, n, K).items():
            if name not in t or t[name] <= 0:
                continue
            coef = np.array(coef)
            known = sum(coef[i] * fixed[c] for i, c in enumerate(CONSTS) if fixed[c] >= 0)
            A.append(coef[free] / t[name])  # relative error: divide each row by its time
            b.append(1.0 - known / t[name])
            tags.append((name, coef, t[name]))
    x = np.array([max(fixed[c], 0.0) for c in CONSTS])
    x[free] = nnls(np.array(A), np.array(b))
    print(f"# fit over {len(rows)} points of {args[0]}"
          + (f" (fixed: {', '.join(c for c in CONSTS if fixed[c] >= 0)})" if len(free) < 5 else ""))
    print("   ".join(f"{c} {v:.3g}" for c, v in zip(CONSTS, x))
          + f"   (beta: {8 / x[1] / 1e9 if x[1] > 0 else float('inf'):.3g} Gb/s, "
          f"beta_coll: {8 / x[2] / 1e9 if x[2] > 0 else float('inf'):.3g} Gb/s)")
    print("flags: " + " ".join(f"--{c.replace('_', '-')} {v:.3g}" for c, v in zip(CONSTS, x)))
    print("config: " + " ".join(f"--set comm.cost_{c}={v:.3g}" for c, v in zip(CONSTS, x)))
    for name in NAMES:
        err = [abs(c @ x / t - 1) for nm, c, t in tags if nm == name]
        if err:
            print(f"{name:10s} |pred/meas - 1|: median {np.median(err):.2f}, worst {max(err):.2f}"
                  f" ({len(err)} points)")
    worst, bad, where = 1.0, 0, ""
    for P, n, dens, t in rows:
        K = round(dens * n) * P
        cands = [nm for nm in NAMES if nm in t]
        pred = {nm: np.array(c) @ x for nm, c in coefficients(P, n, K).items() if nm in t}
        pick = min(cands, key=lambda nm: pred[nm])
        best = min(t[nm] for nm in cands)
        ratio = t[pick] / best
        bad += ratio > 1.10
        if ratio > 1.10:
            where += f"\n  P={P} n={n} d={dens:g}: picks {pick} ({t[pick] * 1e3:.3f} ms), best " \
                     f"{min(cands, key=lambda nm: t[nm])} ({best * 1e3:.3f} ms): {ratio:.2f}"
        worst = max(worst, ratio)
    print(f"auto with the fitted constants: worst chosen/best {worst:.2f}; "
          f"{bad} of {len(rows)} points above 1.10{where}")
    beta_net = 8 / (gbps * 1e9)
    print(f"\n# extrapolation: alpha {alpha_net:g} s, {gbps:g} Gb/s (beta = beta_coll = "
          f"{beta_net:.3g} s/B: MPI's collectives assumed at the link's rate), gamma {x[3]:.3g} s, "
          f"delta {x[4]:.3g} s; n = 2^22 floats; times in ms")
    print(f"{'P':>6} {'density':>8} " + " ".join(f"{nm:>10}" for nm in NAMES) + "  best")
    net = np.array([alpha_net, beta_net, beta_net, x[3], x[4]])
    for P in (8, 64, 128, 256, 512, 1024):
        for dens in (0.001, 0.01, 0.1):
            n = 1 << 22
            K = round(dens * n) * P
            c = coefficients(P, n, K)
            t = {nm: np.array(c[nm]) @ net * 1e3 for nm in NAMES}
            best = min(NAMES, key=lambda nm: t[nm])
            print(f"{P:>6} {dens:>8g} " + " ".join(f"{t[nm]:>10.2f}" for nm in NAMES) + f"  {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
