/* allreduce_internal.h - what the collective files in src/comm/ share and callers need not see:
 * the context's reusable buffers, the (index, value) pair on the wire, and the merge kernels. */
#ifndef SALIENT_ALLREDUCE_INTERNAL_H
#define SALIENT_ALLREDUCE_INTERNAL_H

#include "salient/allreduce.h"

/* One sparse entry as it travels: 8 bytes, index first. Pairs rather than two arrays so that a
 * set is one contiguous message whatever its length (SparCML sends pairs too). */
typedef struct sal_pair {
    uint32_t i;
    float v;
} sal_pair;

struct sal_coll {
    MPI_Comm comm; /* our duplicate, errors returned (not fatal) */
    int rank, size;
    MPI_Datatype pair_t; /* 8 contiguous bytes: counts in pairs stay below INT_MAX longer */
    MPI_Datatype word_t; /* 4 contiguous bytes: recdbl messages, a pair being 2 words */
    sal_coll_opts opts;
    sal_comm_stats last, total;
    /* Grow-only scratch (capacities in elements). */
    float *packed; /* (nnz) masked values */
    size_t packed_cap;
    sal_pair *pa, *pb; /* sparse sets: current and merge target */
    size_t pa_cap, pb_cap;
    float *dense, *rbuf; /* (n) dense state / result, and the receive buffer (n words) */
    size_t dense_cap, rbuf_cap;
    uint32_t *out_idx; /* (nnz) sparse result */
    float *out_val;
    size_t out_icap, out_vcap;
    int *counts, *displs; /* (P) allgather */
    int *heap;            /* (P) allgather's P-way merge */
    size_t *pos;          /* (P) */
};

/* Makes *p hold at least need elements of elem bytes (keeps the contents); 0 on success. */
int sal_coll_reserve(void *p, size_t *cap, size_t need, size_t elem);

/* Room for a sparse result of need entries in out_idx/out_val; 0 on success. */
int sal_coll_reserve_out(sal_coll *c, size_t need);

/* Start and finish a call's accounting (last = this call; total += last). */
void sal_coll_begin(sal_coll *c);
void sal_coll_end(sal_coll *c, double t0);

sal_status sal_coll_mpi_error(sal_err *err, int rc, const char *what);
sal_status sal_coll_nomem(sal_err *err, const char *what, size_t bytes);

/* MPI_Allreduce (sum) of m floats in place, counting m x 4 bytes each way (none on one rank). */
sal_status sal_coll_reduce_floats(sal_coll *c, float *buf, size_t m, const char *what,
                                  sal_err *err);
/* The agreed error when rank r's set broke the contract: mine if it is this rank's (err already
 * says which entry), else a line naming rank r. */
sal_status sal_sparse_bad_rank(sal_err *err, sal_status mine, int r);

/* out = a + b as sets (indices ascending); equal indices add (a + b, commutative, so both
 * partners of an exchange compute the same bits). Returns the merged count (<= na + nb). */
size_t sal_pairs_merge(const sal_pair *a, size_t na, const sal_pair *b, size_t nb, sal_pair *out);
/* dense[p.i] += p.v for each pair. */
void sal_pairs_add_dense(const sal_pair *a, size_t na, float *dense);

/* The algorithms (sparse_*.c); the caller did begin/end. allgather: counts are the ranks' k as
 * auto exchanged them (inputs agreed valid), or NULL: then it exchanges them itself, sending -1
 * if mine (this rank's check) failed, and every rank returns the error. recdbl and dense expect
 * inputs already agreed valid. */
sal_status sal_sparse_allgather(sal_coll *c, const uint32_t *idx, const float *val, size_t k,
                                size_t n, const int *counts, sal_status mine,
                                sal_sparse_result *res, sal_err *err);
sal_status sal_sparse_recdbl(sal_coll *c, const uint32_t *idx, const float *val, size_t k, size_t n,
                             sal_sparse_result *res, sal_err *err);
sal_status sal_sparse_dense(sal_coll *c, const uint32_t *idx, const float *val, size_t k, size_t n,
                            sal_sparse_result *res, sal_err *err);
/* c->dense (n) = the set scattered into zeros; what names the caller in an out-of-memory error. */
sal_status sal_sparse_scatter(sal_coll *c, const uint32_t *idx, const float *val, size_t k,
                              size_t n, const char *what, sal_err *err);
sal_status sal_sparse_ring(sal_coll *c, const uint32_t *idx, const float *val, size_t k, size_t n,
                           sal_sparse_result *res, sal_err *err);

/* The pipelined ring of sal_allreduce_ring_seg without the call's accounting reset (the caller
 * did begin/end): counts its messages into c->last. seg_bytes >= 4. */
sal_status sal_ring_run(sal_coll *c, const float *in, float *out, size_t n, size_t seg_bytes,
                        sal_err *err);

/* Entries at which a set turns dense: ceil(dense_switch x n), at least 1. With dense_switch <=
 * 0.5 a sparse set then has 2 x nnz < n words, so a message's length tells its form. */
size_t sal_dense_at(const sal_coll *c, size_t n);

#endif
