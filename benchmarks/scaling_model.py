#!/usr/bin/python3
"""Alpha-beta-gamma model of ONE ROUND's time for each salient algorithm, extrapolated to many
nodes on a stated network; and a check of the model against the measured FedAvg rounds.

usage: benchmarks/scaling_model.py [--network ib100,eth10,eth1] [--mode strong|weak|both]
                                   [--model lenet5|mlp] [--ranks "1 16 64 256 1024"] [...]
       benchmarks/scaling_model.py --check [FILE]    (default FILE:
                                   benchmarks/results/fedavg-throughput-xeon16.txt)
       benchmarks/scaling_model.py --vcluster OUT --model mlp   (OUT of benchmarks/vcluster_scaling.sh:
                                   measured compute + modelled communication per point, alpha and
                                   beta fitted to its ping-pong; docs/scaling.md section 6)
  --alpha S / --beta S_PER_BYTE    your own network (replaces --network): e.g. from a ping-pong,
                                   docs/scaling.md says how
  --samples-per-s R  per-rank training speed (default: the model's single-rank figure from
                     docs/performance.md: lenet5 23,470, mlp 73,442; batch 64, AMD EPYC core)
  --n N, --biases B  parameters, and how many of them are biases (never pruned)
  --batch B (32), --total-samples N (60000, strong), --per-rank-samples N (600, weak),
  --clients C (0 = auto: the least multiple of the worker ranks >= 100), --density D (0.1:
  the masks), --topk-density D (0.01, salient's default), --sync-every H (8),
  --sample-fraction F (1.0: a fedavg round is then one pass over the data, as the others'),
  --local-epochs E (1),
  --allreduce rabenseifner|ring, --gamma (1.59e-9 s per merge step, the fit of
  benchmarks/results/costmodel-fit-xeon16.txt), --delta (2.5e-10 s per element of a streaming
  pass, allreduce.h's default), --topk-ns (4.0 ns per element for top-k selection),
  --ranks-per-node K (1: ranks on a node share its link, beta x K)

Everything is Python's standard library; the formulas are in docs/scaling.md.
"""
import argparse
import math
import os
import re
import statistics
import sys

MODELS = {  # n parameters, of which biases; single-rank samples/s (docs/performance.md)
    "lenet5": dict(n=61706, biases=236, rate=23470.0),
    "mlp": dict(n=266610, biases=410, rate=73442.0),
}
NETWORKS = {  # name: (words, alpha s, beta s/B)
    "ib100": ("100 Gb/s InfiniBand-class", 2e-6, 8e-11),
    "eth10": ("10 Gb/s Ethernet, TCP", 20e-6, 8e-10),
    "eth1": ("1 Gb/s Ethernet, TCP (the virtual cluster's emulated link)", 50e-6, 8e-9),
    "shm": ("one node, Open MPI shared memory (fit of docs/performance.md)", 3.1e-6, 3.2e-10),
}
M64 = (1 << 64) - 1


# ---- salient's random streams (src/core/rng.c), to replay fedavg's client sample ----

def _splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return x, z ^ (z >> 31)


class Rng:
    """xoshiro256** seeded by splitmix64 from (seed, purpose, id), as sal_rng_seed."""

    def __init__(self, seed, purpose, ident):
        x, z = _splitmix64(seed & M64)
        x = z ^ ((purpose * 0xD1B54A32D192ED03) & M64)
        x, z = _splitmix64(x)
        x = z ^ ((ident * 0x8CB92BA72F3D8DD7) & M64)
        self.s = []
        for _ in range(4):
            x, z = _splitmix64(x)
            self.s.append(z)

    def u64(self):
        s = self.s
        rotl = lambda v, k: ((v << k) | (v >> (64 - k))) & M64
        out = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return out

    def below(self, n):  # Lemire, as sal_rng_below
        m = self.u64() * n
        lo = m & M64
        if lo < n:
            thresh = ((1 << 64) - n) % n
            while lo < thresh:
                m = self.u64() * n
                lo = m & M64
        return m >> 64


def fed_sample(seed, clients, fraction, rnd):
    """The clients salient samples in round rnd (0-based), as sal_fed_sample."""
    m = min(clients, max(1, int(math.floor(fraction * clients + 0.5))))
    out = list(range(clients))
    r = Rng(seed, 5, rnd)  # SAL_STREAM_SAMPLE
    for i in range(m):
        j = i + r.below(clients - i)
        out[i], out[j] = out[j], out[i]
    return sorted(out[:m])


def fed_busiest(seed, clients, fraction, workers, rounds):
    """Per round: how many sampled clients the busiest client rank trains with [run]
    placement = block (blocks of ids), as benchmarks/fedavg_throughput.sh runs it."""
    owner = [0] * clients
    for i in range(workers):
        for c in range(i * clients // workers, (i + 1) * clients // workers):
            owner[c] = i
    res = []
    for rnd in rounds:
        load = [0] * workers
        for c in fed_sample(seed, clients, fraction, rnd):
            load[owner[c]] += 1
        res.append(max(load))
    return res


# ---- communication costs (seconds) ----

def log2c(P):
    L = 0
    while (1 << L) < P:
        L += 1
    return L


def t_allreduce(P, floats, k):
    """Dense sum-allreduce of `floats` floats (MPI_Allreduce)."""
    if P <= 1:
        return 0.0
    f, b = (P - 1) / P, 4.0 * floats
    lat = 2 * log2c(P) if k.allreduce == "rabenseifner" else 2 * (P - 1)
    return lat * k.alpha + 2 * f * b * k.beta + f * floats * k.delta


def t_sparse_auto(P, n, kk, k):
    """Top-k sets of kk entries per rank through sal_allreduce_sparse(AUTO): the count allgather,
    then the cheapest of dense / allgather / recdbl as src/comm/costmodel.c states them (auto is
    assumed to pick the cheapest for the real network). Returns (seconds, choice)."""
    if P <= 1:
        return 0.0, "-"
    a, b, g, dl = k.alpha, k.beta, k.gamma, k.delta
    K = kk * P
    kr, L, f = kk, log2c(P), (P - 1) / P
    at = max(1.0, math.ceil(0.5 * n))
    d = min(1.0, kr / n)
    dense = 2 * L * a + 2 * f * 4 * n * b + dl * (n + f * n) + g * kr
    ag = 2 * L * a + (4 * (P - 1) + 8 * (K - kr)) * b + (dl * n + g * K if K >= at else g * K * max(L, 1))
    sb = lambda u: 4 * n if u >= at else 8 * u
    sw = lambda u: dl * n if u >= at else g * 2 * u
    p2 = 1
    while 2 * p2 <= P:
        p2 *= 2
    rd = dl * n + g * kr if kr >= at else 0.0
    groups, u = 1, kr
    if P > p2:
        rd += a + sb(u) * b + sw(u)
        groups, u = 2, n * (1 - (1 - d) ** 2)
    m = 1
    while m < p2:
        rd += a + sb(u) * b + sw(u)
        groups *= 2
        u = n * (1 - (1 - d) ** groups)
        m *= 2
    if P > p2:
        rd += a + sb(u) * b
    best = min((dense, "dense"), (ag, "allgather"), (rd, "recdbl"))
    counts = L * a + 4 * (P - 1) * b  # MPI_Allgather of one int per rank
    return counts + best[0], best[1]


def exp_degree(P):
    """Neighbours of a node of salient's static exponential graph (hops 1, 2, 4, ..., both ways)."""
    nb = set()
    h = 1
    while h <= P - 1:
        nb.add(h % P)
        nb.add((-h) % P)
        h *= 2
    nb.discard(0)
    return len(nb)


def degree(graph, P):
    if P <= 1:
        return 0
    if graph == "ring":
        return 1 if P == 2 else 2
    if graph == "exponential":
        return exp_degree(P)
    return 1  # onepeer-exponential: one partner per step (MPI_Sendrecv)


def t_gossip(P, graph, count, n, masked, k):
    """One gossip step: each neighbour gets the same buffer of `count` floats; the sends are
    taken as serialised on the rank's link; the mix reads every block once (double sums)."""
    deg = degree(graph, P)
    if deg == 0:
        return 0.0
    t = deg * (k.alpha + 4.0 * count * k.beta) + (deg + 1) * count * k.delta
    if masked:
        t += 3 * n * k.delta  # count the mask's nnz, pack, unpack (scans of n)
    return t


# ---- one round ----

class Row:
    def __init__(self, name, compute, comm, note=""):
        self.name, self.compute, self.comm, self.note = name, compute, comm, note

    @property
    def total(self):
        return self.compute + self.comm


def nnz_of(k):
    return int(math.floor(k.density * (k.n - k.biases) + 0.5)) + k.biases


def auto_clients(workers, k):
    if k.clients:
        return max(k.clients, workers)
    return workers * math.ceil(100 / workers)


def decentral_rows(P, k, mode):
    """allreduce / localsgd / dpsgd rounds at P ranks (every rank a worker)."""
    n, nnz, B = k.n, nnz_of(k), k.batch
    total = k.total_samples if mode == "strong" else k.per_rank_samples * P
    C = auto_clients(P, k)
    busiest = math.ceil(C / P) * total / C  # salient: rank r holds clients [rC/P, (r+1)C/P)
    steps = math.ceil(busiest / B)
    compute = steps * B / k.rate  # forward, backward, SGD step (all ranks take `steps` steps)
    L = log2c(P)
    # per round: the step-count allreduce, the metrics reductions, the average model (dense
    # allreduce of n) and the agreement on the round's status: wall_s includes them
    over = 0.0 if P == 1 else t_allreduce(P, n, k) + 2 * n * k.delta + 8 * L * k.alpha
    kk = max(1, int(math.floor(k.topk_density * n + 0.5)))
    tk, choice = t_sparse_auto(P, n, kk, k)
    if P == 1:
        tk = 0.0
    one = P > 1  # on one rank only top-k's selection is left (its collective is a copy)
    per_step = {
        "allreduce": t_allreduce(P, n, k) + one * n * k.delta,
        "allreduce mask": t_allreduce(P, nnz, k) + one * (2 * nnz + n) * k.delta,
        "allreduce topk %g" % k.topk_density: k.topk_ns * 1e-9 * n + tk + one * 2 * n * k.delta,
    }
    rows = [Row(name, compute, steps * t + over) for name, t in per_step.items()]
    rows[-1].note = choice
    syncs = steps / k.sync_every  # average: salient syncs when the global step count hits H
    rows.append(Row("localsgd", compute, syncs * (t_allreduce(P, n, k) + one * n * k.delta) + over))
    rows.append(Row("localsgd mask", compute,
                    syncs * (t_allreduce(P, nnz, k) + one * (2 * nnz + n) * k.delta) + over))
    for g in ("ring", "exponential", "onepeer-exponential"):
        short = "onepeer" if g.startswith("onepeer") else g[:3] if g == "exponential" else g
        rows.append(Row("dpsgd " + short, compute, steps * t_gossip(P, g, n, n, False, k) + over,
                        "deg %d" % degree(g, P)))
        rows.append(Row("dpsgd %s mask" % short, compute,
                        steps * t_gossip(P, g, nnz, n, True, k) + over))
    return rows, steps, busiest


def fedavg_rows(P, k, mode):
    """fedavg at P ranks: rank 0 serves, P-1 client ranks. Returns (rows, busiest samples)."""
    if P < 2:
        return None, 0
    W = P - 1
    total = k.total_samples if mode == "strong" else k.per_rank_samples * P
    C = auto_clients(W, k)
    m = min(C, max(1, int(math.floor(k.sample_fraction * C + 0.5))))
    per_client = total / C
    if m == C:
        kmax = math.ceil(C / W)
    else:  # mean over 50 rounds of salient's own sample (seed 1)
        kmax = statistics.mean(fed_busiest(1, C, k.sample_fraction, W, range(50)))
    rows = []
    for name, cnt in (("fedavg", k.n), ("fedavg SSFL mask", nnz_of(k))):
        msg = k.alpha + 4.0 * cnt * k.beta_link  # the server's one link
        compute = kmax * k.local_epochs * per_client / k.rate + m * cnt * 2 * k.delta
        comm = (m + 2 * kmax - 1) * msg
        rows.append(Row(name, compute, comm, "m %d" % m))
    return rows, kmax * per_client


# ---- tables ----

def fmt_ms(t):
    ms = t * 1e3
    if ms >= 100:
        return "%.0f" % ms
    if ms >= 10:
        return "%.1f" % ms
    if ms >= 1:
        return "%.2f" % ms
    return "%.3f" % ms


def table(k, net, mode):
    words, alpha, beta = net
    k.alpha, k.beta_link = alpha, beta
    k.beta = beta * k.ranks_per_node  # ranks of a node share its link in collectives
    Ps = k.ranks
    W = 13
    lab = 27
    out = []
    pr = out.append
    work = ("%d samples per round over all ranks" % k.total_samples if mode == "strong"
            else "%d samples per rank per round" % k.per_rank_samples)
    pr("== %s scaling, %s: alpha %g us, beta %.3g s/B (%.4g GB/s)%s" %
       (mode, words, alpha * 1e6, beta, 1e-9 / beta,
        ", %d ranks per node share it" % k.ranks_per_node if k.ranks_per_node > 1 else ""))
    pr("   %s, n %d, nnz at density %g: %d; %.0f samples/s per rank; batch %d; %s; "
       "localsgd H = %d; fedavg sample_fraction %g, clients %s" %
       (k.model, k.n, k.density, nnz_of(k), k.rate, k.batch, work, k.sync_every,
        k.sample_fraction, k.clients or "auto"))
    head = lambda title: pr(("%-" + str(lab) + "s") % title + "".join(("%" + str(W) + "s") % ("P=%d" % P) for P in Ps))
    dec = {P: decentral_rows(P, k, mode) for P in Ps}
    fed = {P: fedavg_rows(P, k, mode) for P in Ps}
    ref = decentral_rows(1, k, mode)[0][0].total  # one rank, no communication: plain training
    names = [r.name for r in dec[Ps[0]][0]]
    fnames = ["fedavg", "fedavg SSFL mask"]

    def cell(rows, i, fn):
        return fn(rows[i]) if rows else "-"

    head("ms per round")
    pr(("%-" + str(lab) + "s") % "steps per round (decentral)" + "".join(("%" + str(W) + "d") % dec[P][1] for P in Ps))
    pr(("%-" + str(lab) + "s") % "compute, decentral" + "".join(("%" + str(W) + "s") % fmt_ms(dec[P][0][0].compute) for P in Ps))
    pr(("%-" + str(lab) + "s") % "compute, fedavg" + "".join(("%" + str(W) + "s") % (fmt_ms(fed[P][0][0].compute) if fed[P][0] else "-") for P in Ps))
    pr("comm (ms per round):")
    for i, nm in enumerate(names):
        pr(("  %-" + str(lab - 2) + "s") % nm + "".join(("%" + str(W) + "s") % fmt_ms(dec[P][0][i].comm) for P in Ps))
    for i, nm in enumerate(fnames):
        pr(("  %-" + str(lab - 2) + "s") % nm + "".join(("%" + str(W) + "s") % (fmt_ms(fed[P][0][i].comm) if fed[P][0] else "-") for P in Ps))
    pr(("  %-" + str(lab - 2) + "s") % "(top-k: auto picks)" + "".join(("%" + str(W) + "s") % dec[P][0][2].note for P in Ps))
    pr("round = compute + comm (ms):")
    for i, nm in enumerate(names):
        pr(("  %-" + str(lab - 2) + "s") % nm + "".join(("%" + str(W) + "s") % fmt_ms(dec[P][0][i].total) for P in Ps))
    for i, nm in enumerate(fnames):
        pr(("  %-" + str(lab - 2) + "s") % nm + "".join(("%" + str(W) + "s") % (fmt_ms(fed[P][0][i].total) if fed[P][0] else "-") for P in Ps))
    short = lambda f: (f.replace("dpsgd ", "dp ").replace("allreduce", "ar").replace(" mask", "+m")
                       .replace("fedavg SSFL", "SSFL").replace("topk ", "tk").replace("onepeer", "1peer"))[:W - 1]
    for title, keep in (("fastest", lambda r: True),
                        ("fastest, sync every step", lambda r: r.name.startswith(("allreduce", "dpsgd")))):
        cells = []
        for P in Ps:
            allr = sorted([r for r in dec[P][0] + (fed[P][0] or []) if keep(r)], key=lambda r: r.total)
            cells.append("-" if P == 1 else short(allr[0].name))
        pr(("  %-" + str(lab - 2) + "s") % title + "".join(("%" + str(W) + "s") % c for c in cells))
    if mode == "strong":
        pr("efficiency T1 / (P T(P)) (speedup T1 / T(P)), T1 = %s ms: one rank training, no comm:"
           % fmt_ms(ref))
    else:
        pr("weak-scaling efficiency T1 / T(P), T1 = %s ms: one rank training, no comm:" % fmt_ms(ref))

    def eff(P, t):
        sp = ref / t
        if mode == "weak":
            return "%.2f" % sp
        return ("%.2f (%.0fx)" if sp >= 9.95 else "%.2f (%.1fx)") % (sp / P, sp)

    for i, nm in enumerate(names):
        pr(("  %-" + str(lab - 2) + "s") % nm +
           "".join(("%" + str(W) + "s") % eff(P, dec[P][0][i].total) for P in Ps))
    for i, nm in enumerate(fnames):
        pr(("  %-" + str(lab - 2) + "s") % nm + "".join(
            ("%" + str(W) + "s") % (eff(P, fed[P][0][i].total) if fed[P][0] else "-") for P in Ps))
    return "\n".join(out)


# ---- the check against the measured FedAvg rounds ----

def check(path, k):
    """benchmarks/results/fedavg-throughput-xeon16.txt: LeNet-5, Fashion-MNIST, 100 clients of
    600 samples, 10 sampled per round (seed 1), 1 local epoch, batch 32, rounds 2..11 of 12 (the
    script's median); one 16-core Xeon, shared memory."""
    pat = re.compile(r"fedavg (none|snip) d=([0-9.]+), (\d+) ranks\s+(\d+)\s+[0-9.]+\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)")
    pts, central = [], None
    for line in open(path):
        mt = pat.search(line)
        if mt:
            pts.append((mt.group(1), float(mt.group(2)), int(mt.group(3)), float(mt.group(4)),
                        float(mt.group(5)), float(mt.group(6))))
        elif line.startswith("centralized"):
            central = float(line.split()[3])
    if not pts:
        print("scaling_model: no fedavg rows in %s" % path, file=sys.stderr)
        return 2
    cal = [p for p in pts if p[0] == "none" and p[2] == 2]
    rate = k.check_rate or (cal[0][4] if cal else 12594.0)
    words, alpha, beta = NETWORKS["shm"]
    C, frac, per_client, samples, m = 100, 0.1, 600, 6000.0, 10
    rounds = range(1, 11)  # metrics rows 2..11 of a 12-round run

    def model(meth, d, P, r):
        """(round s, compute s) as the script reports them: 6000 / median samples/s."""
        kmaxes = fed_busiest(1, C, frac, P - 1, rounds)
        nnz = k.n if meth == "none" else int(math.floor(d * (k.n - k.biases) + 0.5)) + k.biases
        msg = alpha + 4.0 * nnz * beta
        comp = [km * per_client / r + m * nnz * 2 * k.delta for km in kmaxes]
        tot = [c + (m + 2 * km - 1) * msg for c, km in zip(comp, kmaxes)]
        return (samples / statistics.median([samples / t for t in tot]),
                samples / statistics.median([samples / c for c in comp]), kmaxes)

    # one rate fitted to every point within the cores: geometric mean of model / measured
    inside = [p for p in pts if p[2] <= 16]
    g = math.exp(statistics.mean([math.log(model(p[0], p[1], p[2], rate)[0] / (samples / p[3]))
                                  for p in inside]))
    fit = rate * g
    print("# check: %s" % path)
    print("# model: the busiest client rank's sampled clients x 600 samples / rate, + the server "
          "link (m + 2 kmax - 1)(alpha + 4 nnz beta), + aggregation; alpha %g us, beta %g s/B "
          "(the shared-memory fit); kmax per round replayed from salient's own sampling stream "
          "(seed 1, rounds 2..11 of 12, the script's median)" % (alpha * 1e6, beta))
    print("# err_cal: rate %.0f samples/s, the 2-rank dense point's compute_samp/s (that point "
          "fits by construction); err_fit: one rate fitted to the %d points on <= 16 ranks, "
          "%.0f samples/s; err_cen: the centralized epoch's %s samples/s" %
          (rate, len(inside), fit, "%.0f" % central if central else "?"))
    print("%-27s %9s %8s %8s %8s %8s %8s %8s %8s" %
          ("run", "kmax_avg", "meas_ms", "cal_ms", "err_cal", "err_cmp", "fit_ms", "err_fit",
           "err_cen"))
    errs = []
    for meth, d, P, sps, csps, comm_ms in pts:
        t_cal, c_cal, kmaxes = model(meth, d, P, rate)
        t_fit = model(meth, d, P, fit)[0]
        t_cen = model(meth, d, P, central)[0] if central else float("nan")
        t_meas, c_meas = samples / sps, samples / csps
        errs.append((P, meth, t_cal / t_meas - 1, t_fit / t_meas - 1))
        note = "  oversubscribed" if P > 16 else ""
        print("%-27s %9s %8.1f %8.1f %+7.1f%% %+7.1f%% %8.1f %+7.1f%% %+7.1f%%%s" %
              ("fedavg %s d=%g, %d ranks" % ("dense" if meth == "none" else "SSFL", d, P),
               "%.1f" % statistics.mean(kmaxes), t_meas * 1e3, t_cal * 1e3,
               100 * (t_cal / t_meas - 1), 100 * (c_cal / c_meas - 1), t_fit * 1e3,
               100 * (t_fit / t_meas - 1), 100 * (t_cen / t_meas - 1), note))
    for j, what in ((2, "err_cal"), (3, "err_fit")):
        a = [abs(e[j]) for e in errs]
        w = max(errs, key=lambda e: abs(e[j]))
        print("# |%s|: median %.1f%%, worst %.1f%% (%s, %d ranks)" %
              (what, 100 * statistics.median(a), 100 * max(a),
               "dense" if w[1] == "none" else "SSFL", w[0]))
    print("# the modelled communication is %.2f-%.2f ms of a 84-480 ms round: these points test "
          "the compute and placement terms, not alpha and beta" %
          ((m + 1) * (alpha + 4 * nnz_of(k) * beta) * 1e3,
           (m + 2 * m - 1) * (alpha + 4 * k.n * beta) * 1e3))
    return 0


def check_comm(path, k):
    """benchmarks/results/gossip-xeon16.txt: one gossip step and one MPI_Allreduce of n floats,
    P = 2..16 ranks on one 16-core node (shared memory), against t_gossip and t_allreduce with
    the shared-memory alpha and beta."""
    words, k.alpha, beta = NETWORKS["shm"]
    k.beta = k.beta_link = beta
    rows = []
    for line in open(path):
        f = line.split()
        if len(f) == 8 and f[1].isdigit():
            rows.append((f[0], int(f[1]), int(f[2]), int(f[3]), float(f[5]) * 1e-3, float(f[6]) * 1e-3))
    if not rows:
        print("scaling_model: no rows in %s" % path, file=sys.stderr)
        return 2
    print("\n# check of the per-step communication terms: %s" % path)
    print("# t_gossip and t_allreduce (%s) with alpha %g us, beta %g s/B, delta %g s" %
          (k.allreduce, k.alpha * 1e6, beta, k.delta))
    print("%-20s %5s %9s %10s %10s %8s %10s %10s %8s" %
          ("graph", "P", "n", "gossip_ms", "model_ms", "err", "allred_ms", "model_ms", "err"))
    eg, ea = {}, {}
    for g, P, n, deg, tg, ta in rows:
        mg = t_gossip(P, g, n, n, False, k)
        ma = t_allreduce(P, n, k)
        eg.setdefault(n, []).append(mg / tg - 1)
        ea.setdefault(n, []).append(ma / ta - 1)
        print("%-20s %5d %9d %10.3f %10.3f %+7.0f%% %10.3f %10.3f %+7.0f%%" %
              (g, P, n, tg * 1e3, mg * 1e3, 100 * (mg / tg - 1), ta * 1e3, ma * 1e3,
               100 * (ma / ta - 1)))
    for n in sorted(eg):
        print("# n = %d: |err| gossip median %.0f%%, worst %.0f%%; allreduce median %.0f%%, "
              "worst %.0f%%" % (n, 100 * statistics.median([abs(e) for e in eg[n]]),
                                100 * max(abs(e) for e in eg[n]),
                                100 * statistics.median([abs(e) for e in ea[n]]),
                                100 * max(abs(e) for e in ea[n])))
    return 0


# ---- the check against the scaling study across nodes on the virtual cluster ----

def fit_alpha_beta(rows):
    """alpha and beta from a ping-pong's (bytes m, one-way seconds t median, t least) rows, each
    from the least time of its size (the link's own, free of the stalls that the loaded shared
    cores add to some trips: medians of 1.4 ms at 8 B, 262 ms against 140 ms at 16 MiB) and in
    its own regime: beta = the least-squares slope of t = a + beta m over the sizes >= 1 MiB (beyond
    tbf's burst of 2 ms of the rate, 250 KB at 1 Gb/s, which passes a smaller message at
    unshaped speed; the intercept a comes out negative by about that burst's time); alpha = the
    median over the sizes <= 8 KiB (where m beta < 10% of t). A single least-squares line
    through all sizes fits neither regime (printed for comparison: relative error, weights
    1/t^2). Returns (alpha, beta, intercept of the large sizes, all-sizes alpha, beta)."""
    def ls(pts, rel):
        sw = swm = swmm = swt = swmt = 0.0
        for m, t in pts:
            w = 1.0 / (t * t) if rel else 1.0
            sw += w; swm += w * m; swmm += w * m * m; swt += w * t; swmt += w * m * t
        beta = (sw * swmt - swm * swt) / (sw * swmm - swm * swm)
        return (swt - beta * swm) / sw, beta
    small = [tmin for m, t, tmin in rows if m <= 8192]
    rows = [(m, tmin) for m, t, tmin in rows]
    big = [r for r in rows if r[0] >= 1 << 20]
    if len(big) < 2 or not small:
        raise ValueError("the ping-pong needs >= 2 sizes >= 1 MiB and one <= 8 KiB")
    a0, beta = ls(big, False)
    ra, rb = ls(rows, True)
    return statistics.median(small), beta, a0, ra, rb


def read_csv(path):
    with open(path) as f:
        head = f.readline().strip().split(",")
        return [dict(zip(head, line.strip().split(","))) for line in f if line.strip()]


def point_means(path, batch):
    """Means over the rounds >= 2 that were not evaluated (jobs/lib/gather-scaling.sh's rule) of
    metrics.csv's wall_s, compute_s, comm_s, wait_s; steps per round from samples_per_s."""
    rows = [r for r in read_csv(path) if int(r["round"]) >= 2 and r["test_acc"] == ""]
    if not rows:
        return None
    mean = lambda c: statistics.mean(float(r[c]) for r in rows)
    return dict(rounds=len(rows), wall=mean("wall_s"), compute=mean("compute_s"),
                comm=mean("comm_s"), wait=mean("wait_s"),
                samples=statistics.mean(float(r["samples_per_s"]) * float(r["wall_s"]) for r in rows))


def study_impl(sd):
    """[comm] allreduce of a study's runs (config.ini of its first point): "mpi" or "ring"."""
    for x in sorted(os.listdir(sd)):
        cp = os.path.join(sd, x, "config.ini")
        if x.startswith("nodes-") and os.path.exists(cp):
            sec = ""
            for line in open(cp):
                line = line.strip()
                if line.startswith("["):
                    sec = line
                elif sec == "[comm]" and re.match(r"allreduce\s*=", line):
                    return line.split("=", 1)[1].split(";")[0].strip()
            return "mpi"
    return "mpi"


def vcluster(d, k):
    """benchmarks/vcluster_scaling.sh's OUT directory: pingpong-RATE.csv, exchange-RATE.csv,
    ring-RATE-P.csv (pingpong --ring on P nodes), allreduce-RATE.csv,
    study-RATE-ALGO/nodes-N/metrics.csv (one rank per node)."""
    rates = sorted({f[len("pingpong-"):-4] for f in os.listdir(d)
                    if f.startswith("pingpong-") and f.endswith(".csv")},
                   key=lambda r: float(re.sub(r"[a-z]+$", "", r) or 0) * (1e9 if "g" in r else 1e6))
    if not rates:
        print("scaling_model: no pingpong-RATE.csv in %s" % d, file=sys.stderr)
        return 2
    n = k.n
    print("# check: the scaling study across nodes, %s (benchmarks/vcluster_scaling.sh)" % d)
    print("# model of one round: measured compute_s (metrics.csv: the slowest rank's forward,")
    print("#   backward and SGD step) + modelled communication, alpha and beta fitted to ping-pongs")
    print("#   on the same links. pred: alpha_P and beta_P from pingpong --ring on the P nodes of the")
    print("#   point (every node sends to the next and receives from the previous at once: the")
    print("#   traffic of one ring-allreduce or ring-gossip step, with the kernel work of all P links")
    print("#   on the shared cores); allreduce over salient's ring ([comm] allreduce = ring):")
    print("#   S x 2(P-1) (alpha_P + 4n/P beta_P) + O; over MPI_Allreduce: S x AR(P, n) + O;")
    print("#   dpsgd ring: S x (alpha2_P + 4 n beta2_P) + O with alpha2_P, beta2_P from pingpong --ring2")
    print("#   (both neighbours at once: one gossip step's traffic; 2 nodes: one neighbour, --ring's);")
    print("#   + the local adds and mix at delta per float; O = AR(P, n) + 8 L alpha (the round's")
    print("#   average model by MPI_Allreduce and its small reductions), AR(P, x) = 2 L alpha")
    print("#   + 2 (P-1)/P 4x beta with the two-node ping-pong's alpha, beta; n = %d (%s)" % (n, k.model))
    print("#   pred_pp: every term with the two-node ping-pong's alpha and beta instead (no P-node")
    print("#   measurement); ratio = prediction / measured; <=25%: |ratio - 1| <= 0.25")
    worst = {}
    for rate in rates:
        fit = {}
        files = [("pingpong", "pingpong-%s.csv" % rate), ("exchange", "exchange-%s.csv" % rate)]
        for kind in ("ring", "ring2"):
            files += sorted((("%s-%d" % (kind, int(f.split("-")[-1][:-4]))), f) for f in os.listdir(d)
                            if f.startswith("%s-%s-" % (kind, rate)) and f.endswith(".csv"))
        for kind, fn in files:
            fp = os.path.join(d, fn)
            if not os.path.exists(fp):
                continue
            pts = [(float(r["bytes"]), float(r["median_s"]), float(r["min_s"])) for r in read_csv(fp)]
            a, b, a0, ra, rb = fit_alpha_beta(pts)
            fit[kind] = (a, b)
            what = {"pingpong": "node1 <-> node2, round trip / 2",
                    "exchange": "node1 <-> node2, both ways at once"}.get(
                        kind, "%s nodes at once, each to the next (pingpong --ring)" % kind[5:]
                        if kind.startswith("ring-") else
                        "%s nodes at once, each to both neighbours (pingpong --ring2)" % kind[6:])
            print("\n## %s, %s (%s): %d sizes %d B .. %d B, least times of each size:" %
                  (rate, kind, what, len(pts), pts[0][0], pts[-1][0]))
            print("#   alpha %.3g us (median of the least times of the sizes <= 8 KiB), beta %.4g s/B = "
                  "%.3g Gb/s (least squares over the sizes >= 1 MiB; intercept %.3g ms)"
                  % (a * 1e6, b, 8e-9 / b, a0 * 1e3))
            if kind == "pingpong":
                print("#   (one least-squares line through all sizes, relative error: alpha %.3g us, beta "
                      "%.4g s/B = %.3g Gb/s: fits neither regime)" % (ra * 1e6, rb, 8e-9 / rb))
                print("#   %10s %12s %12s %12s %8s" % ("bytes", "median_us", "least_us", "fit_us", "fit/least"))
                for m, t, tmin in pts:
                    print("#   %10d %12.1f %12.1f %12.1f %8.2f" % (m, t * 1e6, tmin * 1e6, (a + b * m) * 1e6,
                                                                (a + b * m) / tmin))
        if "pingpong" not in fit:
            continue
        a, b = fit["pingpong"]
        arp = os.path.join(d, "allreduce-%s.csv" % rate)
        bench = {}
        if os.path.exists(arp):
            for r in read_csv(arp):
                if int(r["n"]) == n:
                    bench[(r["algo"], int(r["ranks"]))] = float(r["median_s"])
        k.alpha, k.beta, k.beta_link = a, b, b
        print("# the allreduce of %d floats alone (salient bench allreduce, median) against the model:" % n)
        for (algo, P), t in sorted(bench.items()):
            aP, bP = fit.get("ring-%d" % P, (a, b))
            model = (2 * (P - 1) * (aP + 4.0 * n / P * bP) if algo == "ring" else t_allreduce(P, n, k))
            print("#   %-5s P=%d: %.2f ms; model %.2f ms (%.2f)" % (algo, P, t * 1e3, model * 1e3, model / t))
        print("%-10s %5s %3s %5s %6s %9s %9s %9s %9s %10s %9s %6s %5s %9s %6s %5s" %
              ("algorithm", "impl", "P", "steps", "rounds", "meas_s", "compute_s", "comm_s", "wait_s",
               "model_comm", "pred_s", "ratio", "<=25%", "pred_pp", "ratio", "<=25%"))
        for algo in ("allreduce", "dpsgd"):
            sd = os.path.join(d, "study-%s-%s" % (rate, algo))
            if not os.path.isdir(sd):
                continue
            impl = study_impl(sd) if algo == "allreduce" else "-"
            for P in sorted(int(x[6:]) for x in os.listdir(sd) if x.startswith("nodes-")):
                mp = os.path.join(sd, "nodes-%d" % P, "metrics.csv")
                if not os.path.exists(mp):
                    continue
                m = point_means(mp, k.batch)
                if not m:
                    continue
                S = int(round(m["samples"] / P / k.batch))
                L = log2c(P)
                over = 0.0 if P == 1 else t_allreduce(P, n, k) + 8 * L * a
                deg = degree("ring", P)

                def step(aP, bP, pnode):
                    if P == 1:
                        return 0.0
                    if algo == "dpsgd":  # + the mix: every block read once
                        if deg == 2 and pnode and "ring2-%d" % P in fit:
                            a2, b2 = fit["ring2-%d" % P]  # one step is one ring2 exchange
                            return a2 + 4.0 * n * b2 + (deg + 1) * n * k.delta
                        return deg * (aP + 4.0 * n * bP) + (deg + 1) * n * k.delta
                    if impl == "ring":  # + the adds of the reduce-scatter
                        return 2 * (P - 1) * (aP + 4.0 * n / P * bP) + (P - 1) / P * n * k.delta
                    k.alpha, k.beta = aP, bP
                    t = t_allreduce(P, n, k)
                    k.alpha, k.beta = a, b
                    return t
                aP, bP = fit.get("ring-%d" % P, (a, b))
                comm, commpp = S * step(aP, bP, True) + over, S * step(a, b, False) + over
                pred, predpp = m["compute"] + comm, m["compute"] + commpp
                r, rp = pred / m["wall"], predpp / m["wall"]
                ok = lambda q: "-" if q != q else ("yes" if abs(q - 1) <= 0.25 else "NO")
                key = (rate, algo)
                worst[key] = max(worst.get(key, 0.0), abs(r - 1))
                print("%-10s %5s %3d %5d %6d %9.4f %9.4f %9.4f %9.4f %10.4f %9.4f %6.2f %5s %9.4f %6.2f %5s" %
                      (algo, impl, P, S, m["rounds"], m["wall"], m["compute"], m["comm"], m["wait"], comm,
                       pred, r, ok(r), predpp, rp, ok(rp)))
    if worst:
        allok = all(w <= 0.25 for w in worst.values())
        print("\n# worst |pred / measured - 1| per rate and algorithm: " +
              ", ".join("%s %s %.2f" % (rt, al, w) for (rt, al), w in sorted(worst.items())) +
              "; every point within 25%%: %s" % ("yes" if allok else "NO"))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("--check", nargs="?", const="", default=None, metavar="FILE")
    ap.add_argument("--check-rate", type=float, default=0.0)
    ap.add_argument("--vcluster", metavar="DIR")
    ap.add_argument("--network", default="ib100,eth10,eth1")
    ap.add_argument("--alpha", type=float)
    ap.add_argument("--beta", type=float)
    ap.add_argument("--mode", choices=("strong", "weak", "both"), default="both")
    ap.add_argument("--model", choices=sorted(MODELS), default="lenet5")
    ap.add_argument("--ranks", default="1 16 64 256 1024")
    ap.add_argument("--samples-per-s", dest="rate", type=float)
    ap.add_argument("--n", type=int)
    ap.add_argument("--biases", type=int)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--total-samples", type=int, default=60000)
    ap.add_argument("--per-rank-samples", type=int, default=600)
    ap.add_argument("--clients", type=int, default=0)
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--topk-density", type=float, default=0.01)
    ap.add_argument("--sync-every", type=int, default=8)
    ap.add_argument("--sample-fraction", type=float, default=1.0)
    ap.add_argument("--local-epochs", type=int, default=1)
    ap.add_argument("--allreduce", choices=("rabenseifner", "ring"), default="rabenseifner")
    ap.add_argument("--gamma", type=float, default=1.59e-9)
    ap.add_argument("--delta", type=float, default=2.5e-10)
    ap.add_argument("--topk-ns", type=float, default=4.0)
    ap.add_argument("--ranks-per-node", type=int, default=1)
    k = ap.parse_args()
    spec = MODELS[k.model]
    k.n = k.n or spec["n"]
    k.biases = spec["biases"] if k.biases is None else k.biases
    k.rate = k.rate or spec["rate"]
    if k.vcluster:
        return vcluster(k.vcluster, k)
    if k.check is not None:
        path = k.check or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                       "fedavg-throughput-xeon16.txt")
        rc = check(path, k)
        gpath = os.path.join(os.path.dirname(os.path.abspath(path)), "gossip-xeon16.txt")
        if rc == 0 and os.path.exists(gpath):
            rc = check_comm(gpath, k)
        return rc
    try:
        k.ranks = [int(x) for x in k.ranks.replace(",", " ").split()]
    except ValueError:
        ap.error("--ranks: a list of integers")
    if (not k.ranks or min(k.ranks) < 1 or k.batch < 1 or not 0 < k.density <= 1
            or not 0 < k.topk_density <= 1 or not 0 < k.sample_fraction <= 1
            or k.sync_every < 1 or k.local_epochs < 1 or k.ranks_per_node < 1 or k.rate <= 0):
        ap.error("need --ranks >= 1, --batch, --sync-every, --local-epochs, --ranks-per-node "
                 ">= 1, 0 < --density, --topk-density, --sample-fraction <= 1, --samples-per-s > 0")
    if k.alpha is not None or k.beta is not None:
        if k.alpha is None or k.beta is None:
            ap.error("--alpha and --beta go together")
        nets = [("your network", k.alpha, k.beta)]
    else:
        try:
            nets = [NETWORKS[x] for x in k.network.split(",")]
        except KeyError as e:
            ap.error("--network: unknown %s (known: %s)" % (e, ", ".join(NETWORKS)))
    modes = ("strong", "weak") if k.mode == "both" else (k.mode,)
    first = True
    for net in nets:
        for mode in modes:
            if not first:
                print()
            first = False
            print(table(k, net, mode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
