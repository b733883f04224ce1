/* gossip.h - gossip averaging x_i <- sum_j W_ij x_j over a graph's distributed-graph
 * communicator, for dense float buffers and for masked payloads (only the nnz entries travel). */
#ifndef SALIENT_GOSSIP_H
#define SALIENT_GOSSIP_H

#include <mpi.h>
#include <stddef.h>

#include "salient/comm.h"
#include "salient/status.h"
#include "salient/topo.h"

/* Rank i's side of gossip on a graph: the dist-graph communicator, row i of W, and buffers
 * that grow to the largest payload seen. Opaque; owned by the caller. */
typedef struct sal_gossip sal_gossip;

/* Collective over parent, which must have g->n ranks (rank i is node i). Copies row i of g,
 * so g may be freed afterwards. */
sal_status sal_gossip_create(const sal_graph *g, MPI_Comm parent, sal_gossip **out, sal_err *err);
/* Collective (frees the communicator); accepts NULL. */
void sal_gossip_free(sal_gossip *gs);
/* The dist-graph communicator (borrowed; valid until sal_gossip_free). */
MPI_Comm sal_gossip_comm(const sal_gossip *gs);

/* One gossip step on x (n floats), in place: x <- W_ii x + sum_j W_ij x_j over the neighbours j
 * (summed in double). A time-varying graph uses step's pairing: x <- (x + x_peer) / 2. Every
 * rank calls it with the same n and step. last (may be NULL) receives this call's counts:
 * bytes handed to MPI (n x 4 per neighbour, each way), calls = 1, and the step's wall time
 * (exchange + mixing), so a benchmark can time single steps. */
sal_status sal_gossip_step(sal_gossip *gs, float *x, size_t n, long step, sal_comm_stats *last,
                           sal_err *err);
/* The same on the entries where mask (n, 0/1) is nonzero: only those nnz values travel (packed
 * as in pack.h, no indices); the others of x become exactly 0. Every rank must hold the same
 * mask (as in SSFL, where the mask is broadcast once), so nnz agrees across ranks. */
sal_status sal_gossip_step_masked(sal_gossip *gs, float *x, const float *mask, size_t n, long step,
                                  sal_comm_stats *last, sal_err *err);

#endif
