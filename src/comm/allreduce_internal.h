/* allreduce_internal.h - what the collective files in src/comm/ share and callers need not see:
 * the context's reusable buffers, the (index, value) pair on the wire, and the merge kernels. */
#ifndef SALIENT_ALLREDUCE_INTERNAL_H
#define SALIENT_ALLREDUCE_INTERNAL_H

#include "salient/allreduce.h"
#include "salient/fault.h"

/* One sparse entry as it travels: 8 bytes, index first. Pairs rather than two arrays so that a
 * set is one contiguous message whatever its length (SparCML sends pairs too). */
typedef struct sal_pair {
    uint32_t i;
    float v;
} sal_pair;

/* Scratch sizes, in elements of each buffer's type (pa, pb: pairs; out: entries of out_idx and
 * out_val; the rest: floats). */
typedef struct sal_coll_need {
    size_t pa, pb, out, dense, rbuf, ring, packed;
} sal_coll_need;

struct sal_coll {
    MPI_Comm comm; /* our duplicate, errors returned (not fatal) */
    int rank, size;
    MPI_Datatype pair_t; /* 8 contiguous bytes: counts in pairs stay below INT_MAX longer */
    MPI_Datatype word_t; /* 4 contiguous bytes: recdbl messages, a pair being 2 words */
    sal_coll_opts opts;
    sal_comm_stats last, total;
    /* Grow-only scratch (capacities in elements), grown only by sal_coll_grow, before a call's
     * first message: an algorithm never allocates once ranks exchange data. */
    float *packed; /* (nnz) masked values */
    size_t packed_cap;
    sal_pair *pa, *pb; /* sparse sets: current and merge target */
    size_t pa_cap, pb_cap;
    float *dense, *rbuf; /* (n) dense state / result, and recdbl's receive buffer (n words) */
    size_t dense_cap, rbuf_cap;
    float *ring; /* the ring's receive slots (W segments) */
    size_t ring_cap;
    uint32_t *out_idx; /* (nnz) sparse result */
    float *out_val;
    size_t out_icap, out_vcap;
    int *counts, *displs; /* (P) allgather */
    int *heap;            /* (P) allgather's P-way merge */
    size_t *pos;          /* (P) */
    /* What every rank is known to hold: each buffer's capacity is at least this on every rank
     * (agreed by the last growth). Identical on all ranks, so a call whose need fits needs no
     * message to know that no rank will allocate. */
    sal_coll_need ready;
};


/* Makes *p hold at least need elements of elem bytes (keeps the contents); 0 on success. */
int sal_coll_reserve(void *p, size_t *cap, size_t need, size_t elem);

/* ---- one outcome on every rank (coll_agree.c) ----
 * A call that fails on one rank fails on all of them, with the same status and message, before
 * any rank sends a payload: otherwise the others go on into the next collective and wait there
 * until the watchdog ends the job. */

/* Every rank returns the status and message of the lowest failing rank (one MPI_Allreduce of
 * an int; on a failure, one MPI_Bcast of the message from that rank, as sal_comm_spread). */
sal_status sal_comm_agree(MPI_Comm comm, sal_status mine, sal_err *err);
/* After an exchange that told every rank that `first` failed with `code`: its message (err on
 * that rank) reaches every rank as "rank FIRST: message". err must not be NULL. */
sal_status sal_comm_spread(MPI_Comm comm, int first, sal_status code, sal_err *err);

/* Makes every rank's scratch hold need (elementwise). No message where need fits c->ready
 * (the steady state of a training loop); otherwise every rank reserves and then agrees, so an
 * allocation that fails on one rank is SAL_ENOMEM on all ("rank R: WHAT: out of memory for N
 * bytes of scratch"). Collective: every rank calls it with the same need. site is the fault
 * (fault.h) that makes this growth fail on the rank it names. */
sal_status sal_coll_grow(sal_coll *c, const sal_coll_need *need, sal_fault_site site,
                         const char *what, sal_err *err);

/* Scratch of the pipelined ring (ring_allreduce.c) for n floats on P ranks, in floats. */
size_t sal_ring_scratch(size_t n, int P, size_t seg_bytes);

/* Start and finish a call's accounting (last = this call; total += last). */
void sal_coll_begin(sal_coll *c);
void sal_coll_end(sal_coll *c, double t0);

sal_status sal_coll_mpi_error(sal_err *err, int rc, const char *what);
sal_status sal_coll_nomem(sal_err *err, const char *what, size_t bytes);

/* MPI_Allreduce (sum) of m floats in place, counting m x 4 bytes each way (none on one rank). */
sal_status sal_coll_reduce_floats(sal_coll *c, float *buf, size_t m, const char *what,
                                  sal_err *err);
/* out = a + b as sets (indices ascending); equal indices add (a + b, commutative, so both
 * partners of an exchange compute the same bits). Returns the merged count (<= na + nb). */
size_t sal_pairs_merge(const sal_pair *a, size_t na, const sal_pair *b, size_t nb, sal_pair *out);
/* dense[p.i] += p.v for each pair. */
void sal_pairs_add_dense(const sal_pair *a, size_t na, float *dense);

/* The sparse allreduce of allreduce.h, for a caller whose input already failed on this rank
 * (mine != SAL_OK, err saying why: a non-finite top-k residual): the failure rides on the
 * count exchange that every sparse call starts with, so every rank returns it. */
sal_status sal_sparse_run(sal_coll *c, sal_sparse_algo algo, const uint32_t *idx, const float *val,
                          size_t k, size_t n, sal_status mine, sal_sparse_result *res,
                          sal_err *err);

/* The algorithms (sparse_*.c). The caller did begin/end, agreed that every rank's input is
 * valid, and grew the scratch (sal_sparse_need); c->counts holds the ranks' k. */
sal_status sal_sparse_allgather(sal_coll *c, const uint32_t *idx, const float *val, size_t k,
                                size_t n, uint64_t K, sal_sparse_result *res, sal_err *err);
sal_status sal_sparse_recdbl(sal_coll *c, const uint32_t *idx, const float *val, size_t k, size_t n,
                             sal_sparse_result *res, sal_err *err);
sal_status sal_sparse_dense(sal_coll *c, const uint32_t *idx, const float *val, size_t k, size_t n,
                            sal_sparse_result *res, sal_err *err);
/* c->dense (n) = the set scattered into zeros. */
void sal_sparse_scatter(sal_coll *c, const uint32_t *idx, const float *val, size_t k, size_t n);
sal_status sal_sparse_ring(sal_coll *c, const uint32_t *idx, const float *val, size_t k, size_t n,
                           sal_sparse_result *res, sal_err *err);

/* The pipelined ring of sal_allreduce_ring_seg without the call's accounting reset (the caller
 * did begin/end): counts its messages into c->last. seg_bytes >= 4. c->ring must hold
 * sal_ring_scratch(n, P, seg_bytes) floats. */
sal_status sal_ring_run(sal_coll *c, const float *in, float *out, size_t n, size_t seg_bytes,
                        sal_err *err);

/* Entries at which a set turns dense: ceil(dense_switch x n), at least 1. With dense_switch <=
 * 0.5 a sparse set then has 2 x nnz < n words, so a message's length tells its form. */
size_t sal_dense_at(const sal_coll *c, size_t n);

#endif
