/* topo_weights.c - mixing matrices (Metropolis-Hastings, uniform) and the checks every gossip
 * graph must pass: W symmetric, non-negative, doubly stochastic, and the graph connected. */
#include <math.h>

#include "comm/topo_internal.h"

/* Metropolis-Hastings weights (Xiao, Boyd & Lall, "A scheme for robust distributed sensor fusion
 * based on average consensus", IPSN 2005): symmetric because max(d_i, d_j) is, and
 * W_ii = 1 - sum_j W_ij >= 1/(1+d_i) > 0, so W is doubly stochastic with no eigenvalue -1.
 * Uniform weights use the one constant 1/(d_max+1) on every edge: the other common choice,
 * 1/(d_i+1), is row- but not column-stochastic unless the graph is regular. On regular graphs
 * both coincide with MH. A time-varying graph stores its period-average W (its per-step W_t
 * pairs nodes at 1/2): every edge is used once per period. */
void sal_graph_set_weights(sal_graph *g, sal_weights_kind kind) {
    int n = g->n, dmax = 0;
    for (int i = 0; i < n; i++)
        if (sal_graph_degree(g, i) > dmax) dmax = sal_graph_degree(g, i);
    g->weights = kind;
    for (int i = 0; i < n; i++) {
        int di = sal_graph_degree(g, i);
        double sum = 0;
        for (int64_t k = g->offset[i]; k < g->offset[i + 1]; k++) {
            int dj = sal_graph_degree(g, g->adj[k]);
            double w = g->period                ? 0.5 / g->period
                       : kind == SAL_WEIGHTS_MH ? 1.0 / (1 + (di > dj ? di : dj))
                                                : 1.0 / (dmax + 1);
            g->w[k] = w;
            sum += w;
        }
        g->self[i] = 1.0 - sum;
    }
}

sal_status sal_graph_verify(const sal_graph *g, double tol, sal_err *err) {
    const char *wn = g->weights == SAL_WEIGHTS_MH ? "metropolis-hastings" : "uniform";
    for (int i = 0; i < g->n; i++) {
        double sum = g->self[i];
        if (!(g->self[i] >= -tol))
            return sal_fail(err, SAL_ECONFIG,
                            "%s with %s weights: W is not non-negative: W[%d][%d] = %g", g->name,
                            wn, i, i, g->self[i]);
        for (int64_t k = g->offset[i]; k < g->offset[i + 1]; k++) {
            int j = g->adj[k];
            double back = sal_graph_weight(g, j, i);
            if (!(fabs(g->w[k] - back) <= tol))
                return sal_fail(err, SAL_ECONFIG,
                                "%s with %s weights: W is not symmetric: W[%d][%d] = %.17g but "
                                "W[%d][%d] = %.17g",
                                g->name, wn, i, j, g->w[k], j, i, back);
            if (!(g->w[k] >= 0))
                return sal_fail(err, SAL_ECONFIG,
                                "%s with %s weights: W is not non-negative: "
                                "W[%d][%d] = %g",
                                g->name, wn, i, j, g->w[k]);
            sum += g->w[k];
        }
        /* rows sum to 1; with symmetry the columns do too */
        if (!(fabs(sum - 1.0) <= tol))
            return sal_fail(err, SAL_ECONFIG,
                            "%s with %s weights: W is not doubly stochastic: row %d sums to %.17g",
                            g->name, wn, i, sum);
    }
    if (!sal_graph_connected(g)) {
        const char *fix = "";
        if (g->kind == SAL_GRAPH_ERDOS_RENYI) fix = "; raise p or change seed";
        if (g->kind == SAL_GRAPH_REGULAR)
            fix = "; raise the degree (d >= 3 is connected almost surely) or change seed";
        return sal_fail(err, SAL_ECONFIG, "%s is not connected%s", g->name, fix);
    }
    return SAL_OK;
}
