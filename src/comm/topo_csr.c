/* topo_csr.c - the graph store: CSR rows built from an edge list (symmetrised, sorted, without
 * duplicates or self loops), lookups, the serial mixing step, and freeing. */
#include <stdlib.h>
#include <string.h>

#include "comm/topo_internal.h"

sal_status topo_edges_push(topo_edges *e, int u, int v, sal_err *err) {
    if (e->len == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 1024;
        int *uv = realloc(e->uv, sizeof(int) * 2 * cap);
        if (!uv) return sal_fail(err, SAL_ENOMEM, "topology: out of memory for %zu edges", cap);
        e->uv = uv, e->cap = cap;
    }
    e->uv[2 * e->len] = u, e->uv[2 * e->len + 1] = v;
    e->len++;
    return SAL_OK;
}

void topo_edges_free(topo_edges *e) {
    free(e->uv);
    memset(e, 0, sizeof *e);
}

/* Rows by counting sort on the source, then a transpose by a second counting pass: reading
 * rows in increasing order of source fills each transposed row in increasing order, and the
 * symmetrised graph is its own transpose, so rows come out sorted in O(N + E) (no per-row sort,
 * which costs seconds for a complete graph of 4096 nodes). */
sal_status topo_csr_from_edges(sal_graph *g, int n, const topo_edges *e, sal_err *err) {
    size_t m = 2 * e->len;
    int64_t *cnt = calloc((size_t)n + 1, sizeof(int64_t));
    int64_t *fill = malloc(sizeof(int64_t) * ((size_t)n + 1));
    int *first = malloc(sizeof(int) * (m ? m : 1)), *sorted = malloc(sizeof(int) * (m ? m : 1));
    g->offset = calloc((size_t)n + 1, sizeof(int64_t));
    if (!cnt || !fill || !first || !sorted || !g->offset) {
        free(cnt), free(fill), free(first), free(sorted);
        return sal_fail(err, SAL_ENOMEM, "%s: out of memory for %zu adjacency entries", g->name, m);
    }
    g->n = n;
    for (size_t k = 0; k < e->len; k++) cnt[e->uv[2 * k] + 1]++, cnt[e->uv[2 * k + 1] + 1]++;
    for (int i = 0; i < n; i++) cnt[i + 1] += cnt[i];
    memcpy(fill, cnt, sizeof(int64_t) * ((size_t)n + 1));
    for (size_t k = 0; k < e->len; k++) {
        int u = e->uv[2 * k], v = e->uv[2 * k + 1];
        first[fill[u]++] = v;
        first[fill[v]++] = u;
    }
    memcpy(fill, cnt, sizeof(int64_t) * ((size_t)n + 1));
    for (int i = 0; i < n; i++)
        for (int64_t k = cnt[i]; k < cnt[i + 1]; k++) sorted[fill[first[k]]++] = i;
    free(first), free(fill);
    /* drop self loops and repeats (a 2-wide torus dimension, small rings) in place */
    int64_t out = 0;
    for (int i = 0; i < n; i++) {
        int64_t start = out;
        for (int64_t k = cnt[i]; k < cnt[i + 1]; k++) {
            int j = sorted[k];
            if (j != i && (out == start || sorted[out - 1] != j)) sorted[out++] = j;
        }
        g->offset[i + 1] = out;
    }
    free(cnt);
    g->adj = realloc(sorted, sizeof(int) * (out ? (size_t)out : 1));
    if (!g->adj) g->adj = sorted; /* shrinking cannot really fail; keep the old block if it does */
    g->w = calloc(out ? (size_t)out : 1, sizeof(double));
    g->self = calloc((size_t)n, sizeof(double));
    if (!g->w || !g->self)
        return sal_fail(err, SAL_ENOMEM, "%s: out of memory for weights", g->name);
    return SAL_OK;
}

void sal_graph_free(sal_graph *g) {
    if (!g) return;
    free(g->offset), free(g->adj), free(g->w), free(g->self);
    g->offset = NULL, g->adj = NULL, g->w = NULL, g->self = NULL;
    g->n = 0;
}

double sal_graph_weight(const sal_graph *g, int i, int j) {
    if (i == j) return g->self[i];
    int64_t lo = g->offset[i], hi = g->offset[i + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (g->adj[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->offset[i + 1] && g->adj[lo] == j ? g->w[lo] : 0.0;
}

/* Ying et al., "Exponential Graph is Provably Efficient for Decentralized Deep Training"
 * (NeurIPS 2021): with N = 2^tau and pairs i <-> i XOR 2^(t mod tau), each step's W_t is
 * symmetric and doubly stochastic, and any tau consecutive steps multiply to exactly J/N. */
int sal_graph_peer(const sal_graph *g, int i, long step) {
    if (!g->period) return -1;
    if (g->n == 1) return i;
    return i ^ (1 << (int)(step % g->period));
}

void sal_graph_mix(const sal_graph *g, long step, const double *x, size_t dim, double *y) {
    for (int i = 0; i < g->n; i++) {
        double *yi = y + (size_t)i * dim;
        const double *xi = x + (size_t)i * dim;
        if (g->period) {
            const double *xp = x + (size_t)sal_graph_peer(g, i, step) * dim;
            for (size_t c = 0; c < dim; c++) yi[c] = 0.5 * xi[c] + 0.5 * xp[c];
            continue;
        }
        for (size_t c = 0; c < dim; c++) yi[c] = g->self[i] * xi[c];
        for (int64_t k = g->offset[i]; k < g->offset[i + 1]; k++) {
            const double *xj = x + (size_t)g->adj[k] * dim;
            for (size_t c = 0; c < dim; c++) yi[c] += g->w[k] * xj[c];
        }
    }
}
