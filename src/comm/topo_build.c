/* topo_build.c - graph names and the deterministic topologies (ring, torus, exponential,
 * one-peer exponential, hypercube, complete, star); sal_graph_build dispatches and verifies. */
#include <stdio.h>
#include <string.h>

#include "comm/topo_internal.h"

static const char *const kind_names[] = {
    "ring",     "torus", "exponential",    "onepeer-exponential", "hypercube",
    "complete", "star",  "random-regular", "erdos-renyi"};
#define NKINDS ((int)(sizeof kind_names / sizeof *kind_names))

sal_status sal_graph_kind_parse(const char *s, sal_graph_kind *kind, sal_err *err) {
    for (int k = 0; k < NKINDS; k++)
        if (!strcmp(s, kind_names[k])) {
            *kind = (sal_graph_kind)k;
            return SAL_OK;
        }
    return sal_fail(err, SAL_ECONFIG, "unknown graph '%s' (graphs: %s)", s, sal_graph_kind_list());
}

const char *sal_graph_kind_name(sal_graph_kind kind) {
    return (int)kind >= 0 && (int)kind < NKINDS ? kind_names[kind] : "unknown";
}

const char *sal_graph_kind_list(void) {
    return "ring, torus, exponential, onepeer-exponential, hypercube, complete, star, "
           "random-regular, erdos-renyi";
}

static int is_pow2(int n) {
    return n > 0 && (n & (n - 1)) == 0;
}
static int log2i(int n) {
    int k = 0;
    while ((1 << (k + 1)) <= n) k++;
    return k;
}

/* Torus rows: the largest divisor of n not above sqrt(n), so R x C is as square as n allows
 * (12 -> 3 x 4, 32 -> 4 x 8). 0 for n < 4 and primes, whose only split 1 x n is a ring. */
static int torus_rows(int n) {
    int best = 0;
    for (int r = 2; (long)r * r <= n; r++)
        if (n % r == 0) best = r;
    return best;
}

static sal_status edges_deterministic(const sal_graph_spec *s, topo_edges *e, sal_err *err) {
    int n = s->nodes;
    sal_status st = SAL_OK;
    switch (s->kind) {
    case SAL_GRAPH_RING:
        for (int i = 0; i < n && !st; i++) st = topo_edges_push(e, i, (i + 1) % n, err);
        break;
    case SAL_GRAPH_TORUS: {
        int rows = torus_rows(n), cols = n / rows;
        for (int i = 0; i < n && !st; i++) {
            int r = i / cols, c = i % cols;
            st = topo_edges_push(e, i, r * cols + (c + 1) % cols, err);
            if (!st) st = topo_edges_push(e, i, ((r + 1) % rows) * cols + c, err);
        }
        break;
    }
    case SAL_GRAPH_EXP: /* Lian et al. (2018) / Assran et al. (2019): hops 1, 2, 4, ..., symmetrised
                         */
        for (int i = 0; i < n && !st; i++)
            for (long h = 1; h <= n - 1 && !st; h *= 2)
                st = topo_edges_push(e, i, (int)((i + h) % n), err);
        break;
    case SAL_GRAPH_ONEPEER_EXP: /* the union over a period of the per-step pairings */
    case SAL_GRAPH_HYPERCUBE:
        for (int i = 0; i < n && !st; i++)
            for (int b = 1; b < n && !st; b <<= 1) st = topo_edges_push(e, i, i ^ b, err);
        break;
    case SAL_GRAPH_COMPLETE:
        for (int i = 0; i < n && !st; i++)
            for (int j = i + 1; j < n && !st; j++) st = topo_edges_push(e, i, j, err);
        break;
    case SAL_GRAPH_STAR:
        for (int i = 1; i < n && !st; i++) st = topo_edges_push(e, 0, i, err);
        break;
    default:
        return sal_fail(err, SAL_EINVAL, "topology: graph kind %d is not deterministic", s->kind);
    }
    return st;
}

/* Names every parameter that shaped the graph, so a failed check can be reproduced. */
static void set_name(const sal_graph_spec *s, sal_graph *g) {
    const char *k = sal_graph_kind_name(s->kind);
    int n = s->nodes;
    if (s->kind == SAL_GRAPH_REGULAR)
        snprintf(g->name, sizeof g->name, "%s(N=%d, d=%d, seed=%llu)", k, n, s->degree,
                 (unsigned long long)s->seed);
    else if (s->kind == SAL_GRAPH_ERDOS_RENYI)
        snprintf(g->name, sizeof g->name, "%s(N=%d, p=%g, seed=%llu)", k, n, s->p,
                 (unsigned long long)s->seed);
    else if (s->kind == SAL_GRAPH_TORUS && torus_rows(n))
        snprintf(g->name, sizeof g->name, "%s(N=%d, %dx%d)", k, n, torus_rows(n),
                 n / torus_rows(n));
    else
        snprintf(g->name, sizeof g->name, "%s(N=%d)", k, n);
}

static sal_status check_spec(const sal_graph_spec *s, const char *name, sal_err *err) {
    int n = s->nodes;
    if (n < 1) return sal_fail(err, SAL_ECONFIG, "%s: --nodes must be >= 1", name);
    if ((s->kind == SAL_GRAPH_HYPERCUBE || s->kind == SAL_GRAPH_ONEPEER_EXP) && !is_pow2(n))
        return sal_fail(err, SAL_ECONFIG,
                        "%s: N must be a power of two (%d or %d are the nearest); use "
                        "exponential for other N",
                        name, 1 << log2i(n), 2 << log2i(n));
    /* A prime N only splits as 1 x N, which is a ring; say so rather than silently build one. */
    if (s->kind == SAL_GRAPH_TORUS && !torus_rows(n))
        return sal_fail(err, SAL_ECONFIG,
                        "%s: N must be composite and >= 4 (a prime N only splits as 1 x N, a "
                        "ring); use --graph ring or another N",
                        name);
    return SAL_OK;
}

sal_status sal_graph_build(const sal_graph_spec *spec, sal_graph *g, sal_err *err) {
    memset(g, 0, sizeof *g);
    set_name(spec, g);
    g->kind = spec->kind;
    g->weights = spec->weights;
    sal_status st = check_spec(spec, g->name, err);
    if (st) return st;
    if (spec->kind == SAL_GRAPH_REGULAR) {
        st = topo_random_regular(spec, g, err);
    } else if (spec->kind == SAL_GRAPH_ERDOS_RENYI) {
        st = topo_erdos_renyi(spec, g, err);
    } else {
        topo_edges e = {0};
        st = edges_deterministic(spec, &e, err);
        if (!st) st = topo_csr_from_edges(g, spec->nodes, &e, err);
        topo_edges_free(&e);
    }
    if (!st && spec->kind == SAL_GRAPH_ONEPEER_EXP)
        g->period = spec->nodes > 1 ? log2i(spec->nodes) : 1;
    if (!st) {
        sal_graph_set_weights(g, spec->weights);
        st = sal_graph_verify(g, 1e-12, err);
    }
    if (st) sal_graph_free(g);
    return st;
}
