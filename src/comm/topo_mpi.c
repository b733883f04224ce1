/* topo_mpi.c - a graph as an MPI distributed-graph communicator, so that neighbour collectives
 * (and tools that read the topology) see exactly the graph's edges. */
#include "comm/topo_internal.h"

sal_status sal_graph_dist_comm(const sal_graph *g, MPI_Comm parent, MPI_Comm *out, sal_err *err) {
    int size, rank;
    *out = MPI_COMM_NULL;
    MPI_Comm_size(parent, &size);
    MPI_Comm_rank(parent, &rank);
    if (size != g->n)
        return sal_fail(err, SAL_ECONFIG, "%s needs a communicator of %d ranks, got %d", g->name,
                        g->n, size);
    /* Each rank states only its own in- and out-edges (the adjacent variant: no all-to-all of
     * the edge list). The graph is undirected, so sources = destinations = the CSR row, and
     * neighbour collectives deliver blocks in this order. reorder = 0: rank i must stay node i,
     * because the caller's data (and W's row) belong to node i. */
    int deg = sal_graph_degree(g, rank);
    const int *nbr = g->adj + g->offset[rank];
    /* MPI_UNWEIGHTED is a sentinel pointer ((int *)2 in Open MPI) that GCC 12 takes for an
     * array of size 0 read through the prototype's int[] parameter: a false positive. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overread"
    int rc = MPI_Dist_graph_create_adjacent(parent, deg, nbr, MPI_UNWEIGHTED, deg, nbr,
                                            MPI_UNWEIGHTED, MPI_INFO_NULL, 0, out);
#pragma GCC diagnostic pop
    if (rc != MPI_SUCCESS)
        return sal_fail(err, SAL_EMPI, "%s: MPI_Dist_graph_create_adjacent failed (code %d)",
                        g->name, rc);
    return SAL_OK;
}
