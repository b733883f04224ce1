/* costmodel.c - the alpha-beta model (plus local work) by which `auto` picks a sparse allreduce
 * (Hockney's alpha-beta model plus a local-work term, as in Thakur et al. 2005 and SparCML sec. 5).
 *
 * Symbols: P ranks, L = ceil(log2 P), n floats, K entries over all ranks, k = K / P per rank,
 * d = k / n, at = ceil(dense_switch x n); a set of u entries costs B(u) = 8u bytes if u < at,
 * else 4n (dense); U(g) = n (1 - (1 - d)^g) is the expected union of g ranks' sets when the
 * sets are independent uniform draws (top-k sets overlap more, so U is an upper estimate).
 *
 * gamma is irregular local work per element (a merge step, a scatter-add: branches and cache
 * misses), delta streaming work per element (zeroing, adding two vectors: vectorised). beta is
 * a byte of our own point-to-point messages, beta_coll a byte inside MPI's collectives.
 *
 *   dense     = 2 L alpha + 2 (P-1)/P 4n beta_coll + delta (n + (P-1)/P n) + gamma k
 *               (MPI's reduce-scatter + allgather for long vectors; zero n, scatter k, add)
 *   ring      = 2 (P-1) alpha + 2 (P-1)/P 4n beta + delta (n + (P-1)/P n) + gamma k
 *               (our pipelined ring: 2(P-1) steps; its segments overlap the adds with the
 *               link, so the latency is counted per step, not per segment)
 *   allgather = 2 L alpha + (4 (P-1) + 8 (K - k)) beta_coll + W,
 *               W = gamma K max(1, L) for the heap merge, or delta n + gamma K when K >= at
 *               (dense output)
 *   recdbl    = sum over rounds of [alpha + B(u) beta + w(u)], u = the set before the round:
 *               U(1), then U(2), U(4), ... (one fold round first and one hand-back round last
 *               when P is not a power of two), w(u) = delta n if u >= at else gamma 2u;
 *               plus delta n + gamma k first if the sets start dense (k >= at)
 *
 * All three inputs (P, n, K) are the same on every rank, so every rank makes the same choice.
 * The defaults (allreduce.h) are configurable; `salient bench allreduce` prints the model's
 * predictions next to the measured times so they can be refit on a new machine. */
#include <math.h>

#include "salient/allreduce.h"

static double set_bytes(double u, double at, double n) {
    return u >= at ? 4 * n : 8 * u;
}
static double set_work(const sal_cost_params *p, double u, double at, double n) {
    return u >= at ? p->delta * n : p->gamma * 2 * u;
}

void sal_cost_sparse(const sal_cost_params *p, double dense_switch, int P, size_t n_, uint64_t K_,
                     sal_cost_estimate *est) {
    const double n = (double)n_, K = (double)K_, k = K / P, a = p->alpha, b = p->beta;
    const double bc = p->beta_coll, g = p->gamma, dl = p->delta;
    const double at = fmax(1.0, ceil(dense_switch * n));
    const double d = n > 0 ? fmin(1.0, k / n) : 0;
    int L = 0;
    while ((1 << L) < P) L++;
    const double f = (double)(P - 1) / P;

    est->dense = 2 * L * a + 2 * f * 4 * n * bc + dl * (n + f * n) + g * k;
    est->ring = 2 * (P - 1) * a + 2 * f * 4 * n * b + dl * (n + f * n) + g * k;
    est->allgather = 2 * L * a + (4 * (P - 1) + 8 * (K - k)) * bc +
                     (K >= at ? dl * n + g * K : g * K * (L > 0 ? L : 1));

    int p2 = 1;
    while (2 * p2 <= P) p2 *= 2;
    double t = k >= at ? dl * n + g * k : 0, groups = 1, u = k; /* dense from the start */
    if (P > p2) {                                               /* fold round */
        t += a + set_bytes(u, at, n) * b + set_work(p, u, at, n);
        groups = 2, u = n * (1 - pow(1 - d, groups));
    }
    for (int m = 1; m < p2; m *= 2) {
        t += a + set_bytes(u, at, n) * b + set_work(p, u, at, n);
        groups *= 2, u = n * (1 - pow(1 - d, groups));
    }
    if (P > p2) t += a + set_bytes(u, at, n) * b; /* hand-back round */
    est->recdbl = t;
}

sal_sparse_algo sal_cost_pick(const sal_cost_estimate *e) {
    const double t[4] = {e->allgather, e->recdbl, e->dense, e->ring};
    const sal_sparse_algo a[4] = {SAL_AR_ALLGATHER, SAL_AR_RECDBL, SAL_AR_DENSE, SAL_AR_RING};
    int best = 0;
    for (int i = 1; i < 4; i++)
        if (t[i] < t[best]) best = i; /* strict: ties go to the earlier one */
    return a[best];
}
