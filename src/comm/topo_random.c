/* topo_random.c - seeded random graphs: Erdos-Renyi G(N, p) by geometric skipping and random
 * d-regular graphs by the Steger-Wormald pairing. Streams: (seed, SAL_STREAM_GRAPH, kind). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/topo_internal.h"
#include "salient/rng.h"

/* Batagelj & Brandes, "Efficient generation of large random networks", Phys. Rev. E 71 (2005),
 * algorithm G(n, p): walk the lower triangle pair by pair, jumping over a geometric number of
 * absent edges, so the cost is O(N + E) rather than one draw per pair. */
sal_status topo_erdos_renyi(const sal_graph_spec *s, sal_graph *g, sal_err *err) {
    int n = s->nodes;
    double p = s->p;
    if (!(p >= 0.0 && p <= 1.0))
        return sal_fail(err, SAL_ECONFIG, "%s: --p must be in [0, 1]", g->name);
    sal_rng r;
    sal_rng_seed(&r, s->seed, SAL_STREAM_GRAPH, (uint64_t)s->kind);
    topo_edges e = {0};
    sal_status st = SAL_OK;
    if (p >= 1.0) {
        for (int v = 1; v < n && !st; v++)
            for (int w = 0; w < v && !st; w++) st = topo_edges_push(&e, v, w, err);
    } else if (p > 0.0) {
        double lp = log1p(-p);
        int64_t v = 1, w = -1;
        while (v < n && !st) {
            double skip = floor(log1p(-sal_rng_uniform(&r)) / lp); /* 1 - U in (0, 1] */
            w += 1 + (skip < 4e18 ? (int64_t)skip : (int64_t)4e18);
            while (w >= v && v < n) w -= v, v++;
            if (v < n) st = topo_edges_push(&e, (int)v, (int)w, err);
        }
    }
    if (!st) st = topo_csr_from_edges(g, n, &e, err);
    topo_edges_free(&e);
    return st;
}

/* An open-addressing set of edges u < v, keyed u * n + v (never 0 since v > 0). */
typedef struct edge_set {
    uint64_t *key; /* (mask + 1), 0 = empty */
    uint64_t mask;
} edge_set;

static uint64_t mix64(uint64_t x) { /* splitmix64's finaliser: spreads consecutive keys */
    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27, x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Returns 1 if inserted, 0 if it was there. */
static int set_insert(edge_set *h, uint64_t k, int insert) {
    for (uint64_t i = mix64(k) & h->mask;; i = (i + 1) & h->mask) {
        if (h->key[i] == k) return 0;
        if (!h->key[i]) {
            if (insert) h->key[i] = k;
            return 1;
        }
    }
}

/* One attempt of Steger & Wormald, "Generating random regular graphs quickly", Combinatorics,
 * Probability and Computing 8 (1999), in the round-based form of networkx's
 * random_regular_graph: pair shuffled stubs, keep pairs that are new simple edges, return the
 * rest to the pool, and give up when no unused pair is left among the pool's nodes. Unlike the
 * configuration model with restarts (success ~ exp(-(d^2-1)/4)) this works for any d << N. */
static int try_regular(int n, int d, sal_rng *r, edge_set *h, int *stubs, int *pot, int *nodes,
                       topo_edges *e, sal_err *err, sal_status *st) {
    size_t nstubs = (size_t)n * d;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < d; k++) stubs[(size_t)i * d + k] = i;
    memset(h->key, 0, sizeof(uint64_t) * (h->mask + 1));
    e->len = 0;
    while (nstubs) {
        sal_rng_shuffle_int(r, stubs, (int)nstubs);
        int npot = 0;
        for (size_t k = 0; k + 1 < nstubs; k += 2) {
            int a = stubs[k] < stubs[k + 1] ? stubs[k] : stubs[k + 1];
            int b = stubs[k] < stubs[k + 1] ? stubs[k + 1] : stubs[k];
            if (a != b && set_insert(h, (uint64_t)a * n + b, 1)) {
                if ((*st = topo_edges_push(e, a, b, err))) return 0;
                continue;
            }
            if (!pot[a]++) nodes[npot++] = a;
            if (!pot[b]++) nodes[npot++] = b;
        }
        /* suitable: some pair of distinct pool nodes is not an edge yet */
        int ok = npot == 0;
        for (int x = 0; x < npot && !ok; x++)
            for (int y = x + 1; y < npot && !ok; y++) {
                int a = nodes[x] < nodes[y] ? nodes[x] : nodes[y];
                int b = nodes[x] < nodes[y] ? nodes[y] : nodes[x];
                ok = set_insert(h, (uint64_t)a * n + b, 0);
            }
        nstubs = 0;
        for (int x = 0; x < npot; x++) {
            for (int k = 0; k < pot[nodes[x]]; k++) stubs[nstubs++] = nodes[x];
            pot[nodes[x]] = 0;
        }
        if (!ok) return 0;
    }
    return 1;
}

/* Complement of the (n-1-d)-regular graph when d > (n-1)/2: fewer stubs, and a dense pairing
 * would almost never find its last free pairs. */
static sal_status complement(const sal_graph *sparse, int n, topo_edges *e, sal_err *err) {
    sal_status st = SAL_OK;
    e->len = 0;
    for (int i = 0; i < n && !st; i++) {
        int64_t k = sparse->offset[i];
        for (int j = 0; j < n && !st; j++) {
            while (k < sparse->offset[i + 1] && sparse->adj[k] < j) k++;
            if (j > i && !(k < sparse->offset[i + 1] && sparse->adj[k] == j))
                st = topo_edges_push(e, i, j, err);
        }
    }
    return st;
}

sal_status topo_random_regular(const sal_graph_spec *s, sal_graph *g, sal_err *err) {
    int n = s->nodes, d = s->degree;
    if (d < 0 || d > n - 1)
        return sal_fail(err, SAL_ECONFIG, "%s: --degree must be in [0, N-1] = [0, %d]", g->name,
                        n - 1);
    if (((long)n * d) % 2)
        return sal_fail(err, SAL_ECONFIG,
                        "%s: N*d = %ld is odd, and no d-regular graph has an odd degree sum; "
                        "change --nodes or --degree",
                        g->name, (long)n * d);
    int flip = d > (n - 1) / 2, dd = flip ? n - 1 - d : d;
    size_t m = (size_t)n * dd / 2;
    uint64_t cap = 16;
    while (cap < 2 * m + 16) cap *= 2;
    edge_set h = {calloc(cap, sizeof(uint64_t)), cap - 1};
    int *stubs = malloc(sizeof(int) * ((size_t)n * dd + 1));
    int *pot = calloc((size_t)n, sizeof(int)), *nodes = malloc(sizeof(int) * (size_t)n);
    topo_edges e = {0};
    sal_status st = SAL_OK;
    if (!h.key || !stubs || !pot || !nodes) {
        st = sal_fail(err, SAL_ENOMEM, "%s: out of memory", g->name);
        goto done;
    }
    sal_rng r;
    sal_rng_seed(&r, s->seed, SAL_STREAM_GRAPH, (uint64_t)s->kind);
    const int tries = 100;
    int t = 0;
    while (t < tries && !try_regular(n, dd, &r, &h, stubs, pot, nodes, &e, err, &st) && !st) t++;
    if (st) goto done;
    if (t == tries) {
        st = sal_fail(err, SAL_ECONFIG, "%s: no simple graph found in %d tries; change the seed",
                      g->name, tries);
        goto done;
    }
    if (flip) {
        sal_graph sparse = {0};
        memcpy(sparse.name, g->name, sizeof g->name);
        st = topo_csr_from_edges(&sparse, n, &e, err);
        if (!st) st = complement(&sparse, n, &e, err);
        sal_graph_free(&sparse);
    }
    if (!st) st = topo_csr_from_edges(g, n, &e, err);
done:
    free(h.key), free(stubs), free(pot), free(nodes);
    topo_edges_free(&e);
    return st;
}
