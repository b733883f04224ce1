/* consumer.c - a user's program built against an installed salient::comm (tests/cli_install.sh):
 * a ring graph of the P ranks, then a sparse sum-allreduce whose result it checks. Prints one
 * line on rank 0; exits 1 on every rank if any rank saw a wrong value. */
#include <mpi.h>
#include <stdio.h>

#include "salient/allreduce.h"
#include "salient/topo.h"

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, P, bad = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    sal_err err = {{0}};

    sal_graph g = {0};
    sal_graph_spec spec = {.kind = SAL_GRAPH_RING, .nodes = P, .weights = SAL_WEIGHTS_MH};
    if (sal_graph_build(&spec, &g, &err)) {
        fprintf(stderr, "consumer: rank %d: %s\n", rank, err.msg);
        bad = 1;
    }

    /* Rank r holds (r, 1) and (P, r + 1): the sum is 1 at 0..P-1 and P(P+1)/2 at P. */
    const size_t n = (size_t)P + 1;
    uint32_t idx[2] = {(uint32_t)rank, (uint32_t)P};
    float val[2] = {1.0f, (float)(rank + 1)}, out[64];
    sal_coll *c = NULL;
    sal_sparse_result res = {0};
    sal_status st = sal_coll_create(MPI_COMM_WORLD, NULL, &c, &err);
    if (!st) st = sal_allreduce_sparse(c, SAL_AR_AUTO, idx, val, 2, n, &res, &err);
    if (st || n > 64) {
        fprintf(stderr, "consumer: rank %d: %s\n", rank, st ? err.msg : "too many ranks");
        bad = 1;
    } else {
        sal_sparse_result_to_dense(&res, out);
        for (size_t i = 0; i < n; i++)
            if (out[i] != (i < (size_t)P ? 1.0f : (float)(P * (P + 1) / 2))) bad = 1;
    }
    int any;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0)
        printf("consumer: %d ranks, ring degree %d, sparse allreduce (%s): %s\n", P,
               g.offset ? sal_graph_degree(&g, 0) : -1, sal_sparse_algo_name(res.algo),
               any ? "WRONG" : "ok");
    sal_coll_free(c);
    sal_graph_free(&g);
    MPI_Finalize();
    return any;
}
