/* topo_internal.h - pieces shared by the topo_*.c files: a growable edge list, the CSR builder
 * and the random-graph generators. Not part of the public API. */
#ifndef SALIENT_TOPO_INTERNAL_H
#define SALIENT_TOPO_INTERNAL_H

#include <stddef.h>

#include "salient/topo.h"

/* Undirected edges as (u, v) pairs; repeats and self loops are allowed (the builder drops them). */
typedef struct topo_edges {
    int *uv; /* (2 * cap) */
    size_t len, cap;
} topo_edges;

sal_status topo_edges_push(topo_edges *e, int u, int v, sal_err *err);
void topo_edges_free(topo_edges *e);

/* Fill g->n, offset, adj from e (both directions, sorted rows) and allocate zeroed w and self.
 * g->name must already be set (it is used in messages). */
sal_status topo_csr_from_edges(sal_graph *g, int n, const topo_edges *e, sal_err *err);

/* Seeded generators (topo_random.c); they validate their parameters. */
sal_status topo_erdos_renyi(const sal_graph_spec *s, sal_graph *g, sal_err *err);
sal_status topo_random_regular(const sal_graph_spec *s, sal_graph *g, sal_err *err);

#endif
