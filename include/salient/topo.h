/* topo.h - gossip topologies: graphs as plain CSR adjacency (usable without MPI), their mixing
 * matrices W (Metropolis-Hastings or uniform), checks, diameter, spectra and dist-graph comms. */
#ifndef SALIENT_TOPO_H
#define SALIENT_TOPO_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "salient/status.h"

typedef enum sal_graph_kind {
    SAL_GRAPH_RING,        /* i ~ i+-1 (mod N) */
    SAL_GRAPH_TORUS,       /* R x C wrap-around grid, R = largest divisor of N <= sqrt(N) */
    SAL_GRAPH_EXP,         /* static exponential: i ~ i+-2^k (mod N), k = 0..floor(log2(N-1)) */
    SAL_GRAPH_ONEPEER_EXP, /* time-varying: at step t, i pairs with i XOR 2^(t mod log2 N) */
    SAL_GRAPH_HYPERCUBE,   /* i ~ i XOR 2^k, N a power of two */
    SAL_GRAPH_COMPLETE,
    SAL_GRAPH_STAR,       /* node 0 is the hub */
    SAL_GRAPH_REGULAR,    /* random d-regular (Steger-Wormald), seeded */
    SAL_GRAPH_ERDOS_RENYI /* G(N, p), seeded */
} sal_graph_kind;

typedef enum sal_weights_kind {
    SAL_WEIGHTS_MH,     /* Metropolis-Hastings: W_ij = 1/(1+max(d_i,d_j)), W_ii = 1 - sum */
    SAL_WEIGHTS_UNIFORM /* W_ij = 1/(d_max+1), W_ii = 1 - d_i/(d_max+1): symmetric on any graph */
} sal_weights_kind;

typedef struct sal_graph_spec {
    sal_graph_kind kind;
    int nodes;
    int degree;    /* SAL_GRAPH_REGULAR only */
    double p;      /* SAL_GRAPH_ERDOS_RENYI only, in [0, 1] */
    uint64_t seed; /* random graphs only */
    sal_weights_kind weights;
} sal_graph_spec;

/* An undirected simple graph on nodes 0..n-1 with its mixing matrix W, stored by rows:
 * node i's neighbours are adj[offset[i] .. offset[i+1]), ascending, never i itself, and
 * W_ij = w[same position]; the diagonal is self[i]. Owned by the struct (sal_graph_free).
 * Time-varying graphs (period > 0, the one-peer exponential graph) store the union of their
 * per-step edges with the period-average W (I/2 + A/(2 period)); the per-step matrix pairs i
 * with sal_graph_peer(g, i, t) at weight 1/2. */
typedef struct sal_graph {
    int n;
    int64_t *offset; /* (n+1) row starts */
    int *adj;        /* (offset[n]) neighbours */
    double *w;       /* (offset[n]) W_ij of each stored edge */
    double *self;    /* (n) W_ii */
    int period;      /* 0: static; else steps per cycle of a time-varying graph */
    sal_graph_kind kind;
    sal_weights_kind weights;
    char name[128]; /* "erdos-renyi(N=16, p=0.05, seed=1)": names the graph in messages */
} sal_graph;

/* "ring" -> SAL_GRAPH_RING etc.; SAL_ECONFIG with the list of names otherwise. */
sal_status sal_graph_kind_parse(const char *s, sal_graph_kind *kind, sal_err *err);
const char *sal_graph_kind_name(sal_graph_kind kind);
/* "ring, torus, ..." for usage text and messages. */
const char *sal_graph_kind_list(void);

/* Build the graph of spec, set its weights and verify it (sal_graph_verify). Impossible
 * parameters (hypercube with N not a power of two, N*d odd, a prime N for the torus, ...) and a
 * failed check are SAL_ECONFIG with one line naming the graph and the fix. On failure g holds
 * no memory (sal_graph_free on it is harmless). Deterministic in spec (seed) alone. */
sal_status sal_graph_build(const sal_graph_spec *spec, sal_graph *g, sal_err *err);
void sal_graph_free(sal_graph *g);

/* (Re)compute w and self for kind from the structure. */
void sal_graph_set_weights(sal_graph *g, sal_weights_kind kind);
/* W symmetric, non-negative and doubly stochastic within tol, and the graph connected;
 * SAL_ECONFIG naming the property, the graph (and seed) and an entry that fails. */
sal_status sal_graph_verify(const sal_graph *g, double tol, sal_err *err);

static inline int sal_graph_degree(const sal_graph *g, int i) {
    return (int)(g->offset[i + 1] - g->offset[i]);
}
/* Undirected edges (offset[n] / 2). */
static inline int64_t sal_graph_edges(const sal_graph *g) {
    return g->offset[g->n] / 2;
}
/* W_ij (0 if i, j are not adjacent); binary search in row i. */
double sal_graph_weight(const sal_graph *g, int i, int j);
/* Peer of node i at step t of a time-varying graph (i itself when n == 1); -1 if static. */
int sal_graph_peer(const sal_graph *g, int i, long step);

/* Largest BFS eccentricity over the sources first, first+stride, ... (split the sources over
 * ranks and take the max to get the diameter); -1 if some node is unreachable, -2 if out of
 * memory. Uses
 * direction-optimising BFS (Beamer et al., SC 2012) so dense graphs cost O(N) per source. */
int sal_graph_eccentricity_max(const sal_graph *g, int first, int stride);
int sal_graph_connected(const sal_graph *g);

/* Serial reference of one mixing step: y = W_t x for x, y (n, dim) row-major (row i = node i's
 * vector); W_t is the step's pairing for a time-varying graph, else W. x and y must differ. */
void sal_graph_mix(const sal_graph *g, long step, const double *x, size_t dim, double *y);

/* A distributed-graph communicator over parent (which must have g->n ranks) whose neighbours
 * of rank i are g's neighbours of node i, in adj order; reorder = 0 so rank i stays node i.
 * The caller frees *out with MPI_Comm_free. Collective over parent. */
sal_status sal_graph_dist_comm(const sal_graph *g, MPI_Comm parent, MPI_Comm *out, sal_err *err);

/* How the eigenvalues were computed. */
typedef struct sal_spectrum_info {
    int nprow, npcol; /* BLACS grid (1 x 1: LAPACK dsyev on one rank) */
    int nb;           /* block-cyclic block size */
    double seconds;   /* wall time of the solver call */
} sal_spectrum_info;

/* All eigenvalues of W (ascending) into ev (n) on every rank of comm: LAPACK dsyev on one rank,
 * ScaLAPACK pdsyev on a near-square BLACS grid of comm's ranks otherwise (W distributed
 * block-cyclically, each rank filling its own blocks from g). Collective over comm; every rank
 * must hold the same g. info may be NULL. */
sal_status sal_graph_eigenvalues(const sal_graph *g, MPI_Comm comm, double *ev,
                                 sal_spectrum_info *info, sal_err *err);
/* lambda_2 of an ascending spectrum of a connected doubly stochastic W: the eigenvalue of
 * largest modulus once the top one (1) is removed, with its sign; 0 when n == 1. */
double sal_spectrum_lambda2(const double *ev, int n);
/* For a time-varying graph: the contraction of the product of its W_t over one period on the
 * mean-zero subspace (power iteration, iters rounds, serial); for a static graph that of W.
 * -1 if out of memory. */
double sal_graph_period_lambda2(const sal_graph *g, int iters);

#endif
