/* gossip.c - one gossip averaging step over a dist-graph communicator: a neighbour allgather of
 * the (dense or mask-packed) buffer, then x_i <- sum_j W_ij x_j in double; see gossip.h. */
#include "salient/gossip.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "salient/pack.h"

struct sal_gossip {
    MPI_Comm comm; /* dist-graph communicator; rank = node */
    int rank, deg; /* this node and its degree */
    int period;    /* > 0: time-varying (pairwise exchange with sal_graph_peer) */
    int n;         /* nodes, for the peer */
    double self;   /* W_ii */
    double *w;     /* (deg) W_ij in neighbour order */
    float *send;   /* (cap) packed payload */
    float *recv;   /* (max(deg, 1) * cap) one block per neighbour, in neighbour order */
    double *acc;   /* (cap) the mixed vector */
    size_t cap;
};

sal_status sal_gossip_create(const sal_graph *g, MPI_Comm parent, sal_gossip **out, sal_err *err) {
    *out = NULL;
    sal_gossip *gs = calloc(1, sizeof *gs);
    if (!gs) return sal_fail(err, SAL_ENOMEM, "%s: out of memory for gossip", g->name);
    sal_status st = sal_graph_dist_comm(g, parent, &gs->comm, err);
    if (st) {
        free(gs);
        return st;
    }
    MPI_Comm_rank(gs->comm, &gs->rank);
    gs->deg = sal_graph_degree(g, gs->rank);
    gs->period = g->period, gs->n = g->n;
    gs->self = g->self[gs->rank];
    gs->w = malloc(sizeof(double) * (gs->deg ? (size_t)gs->deg : 1));
    if (!gs->w) {
        sal_gossip_free(gs);
        return sal_fail(err, SAL_ENOMEM, "%s: out of memory for gossip", g->name);
    }
    memcpy(gs->w, g->w + g->offset[gs->rank], sizeof(double) * (size_t)gs->deg);
    *out = gs;
    return SAL_OK;
}

void sal_gossip_free(sal_gossip *gs) {
    if (!gs) return;
    if (gs->comm != MPI_COMM_NULL) MPI_Comm_free(&gs->comm);
    free(gs->w), free(gs->send), free(gs->recv), free(gs->acc);
    free(gs);
}

MPI_Comm sal_gossip_comm(const sal_gossip *gs) {
    return gs->comm;
}

static sal_status reserve(sal_gossip *gs, size_t count, sal_err *err) {
    if (count > INT_MAX)
        return sal_fail(err, SAL_EINVAL, "gossip: %zu floats exceed an MPI count", count);
    if (count <= gs->cap) return SAL_OK;
    size_t blocks = gs->period ? 1 : (gs->deg ? (size_t)gs->deg : 1);
    free(gs->send), free(gs->recv), free(gs->acc);
    gs->send = malloc(sizeof(float) * count);
    gs->recv = malloc(sizeof(float) * count * blocks);
    gs->acc = malloc(sizeof(double) * count);
    gs->cap = gs->send && gs->recv && gs->acc ? count : 0;
    if (!gs->cap)
        return sal_fail(err, SAL_ENOMEM,
                        "gossip: out of memory for %zu floats x %zu "
                        "neighbours",
                        count, blocks);
    return SAL_OK;
}

/* Exchange y (count floats) and mix it in place. Why a neighbour collective and not persistent
 * point-to-point: every neighbour gets the same buffer, which is exactly MPI_Neighbor_allgather
 * (no per-neighbour displacements as alltoallv would need); the topology lives in the
 * communicator, so the pattern cannot drift from the graph; and the library may schedule it
 * better than our own Isend/Irecv loop. Open MPI 4.1 has no persistent neighbour collectives
 * (MPI 4.0's MPI_Neighbor_allgather_init), and the per-call setup it would save is small next
 * to a model-sized payload. The time-varying graph talks to one peer per step, which a
 * Sendrecv says directly. */
static sal_status exchange_mix(sal_gossip *gs, float *y, size_t count, long step,
                               sal_comm_stats *last, sal_err *err) {
    int c = (int)count, rc = MPI_SUCCESS;
    if (gs->period) {
        int peer = gs->rank ^ (gs->n > 1 ? 1 << (int)(step % gs->period) : 0);
        if (peer == gs->rank) return SAL_OK;
        rc = MPI_Sendrecv(y, c, MPI_FLOAT, peer, 0, gs->recv, c, MPI_FLOAT, peer, 0, gs->comm,
                          MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return sal_fail(err, SAL_EMPI, "gossip: MPI_Sendrecv failed (code %d)", rc);
        for (size_t i = 0; i < count; i++) y[i] = (float)(0.5 * y[i] + 0.5 * gs->recv[i]);
        last->bytes_sent = last->bytes_recv = 4 * (uint64_t)count;
        return SAL_OK;
    }
    rc = MPI_Neighbor_allgather(y, c, MPI_FLOAT, gs->recv, c, MPI_FLOAT, gs->comm);
    if (rc != MPI_SUCCESS)
        return sal_fail(err, SAL_EMPI, "gossip: MPI_Neighbor_allgather failed (code %d)", rc);
    for (size_t i = 0; i < count; i++) gs->acc[i] = gs->self * y[i];
    for (int k = 0; k < gs->deg; k++) {
        const float *r = gs->recv + (size_t)k * count;
        double wk = gs->w[k];
        for (size_t i = 0; i < count; i++) gs->acc[i] += wk * r[i];
    }
    for (size_t i = 0; i < count; i++) y[i] = (float)gs->acc[i];
    /* the library hands the buffer to MPI once per neighbour */
    last->bytes_sent = last->bytes_recv = 4 * (uint64_t)count * (uint64_t)gs->deg;
    return SAL_OK;
}

sal_status sal_gossip_step(sal_gossip *gs, float *x, size_t n, long step, sal_comm_stats *last,
                           sal_err *err) {
    sal_comm_stats s = {0, 0, 1, 0.0};
    double t0 = MPI_Wtime();
    sal_status st = reserve(gs, n, err);
    if (!st) st = exchange_mix(gs, x, n, step, &s, err);
    s.seconds = MPI_Wtime() - t0;
    if (last) *last = s;
    return st;
}

sal_status sal_gossip_step_masked(sal_gossip *gs, float *x, const float *mask, size_t n, long step,
                                  sal_comm_stats *last, sal_err *err) {
    sal_comm_stats s = {0, 0, 1, 0.0};
    double t0 = MPI_Wtime();
    size_t nnz = 0;
    for (size_t i = 0; i < n; i++) nnz += mask[i] != 0.0f;
    sal_status st = reserve(gs, nnz ? nnz : 1, err);
    if (!st) {
        sal_pack_masked(x, mask, n, gs->send);
        st = exchange_mix(gs, gs->send, nnz, step, &s, err);
        if (!st) sal_unpack_masked(gs->send, mask, n, x);
    }
    s.seconds = MPI_Wtime() - t0;
    if (last) *last = s;
    return st;
}
