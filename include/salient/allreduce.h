/* allreduce.h - sum-allreduce collectives over an MPI communicator for sparse training: dense,
 * masked (one mask shared by all ranks), and sparse (a different (index, value) set per rank). */
#ifndef SALIENT_ALLREDUCE_H
#define SALIENT_ALLREDUCE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "salient/comm.h"
#include "salient/status.h"
#include "salient/topk_ef.h"

/* A collectives context: a private duplicate of the communicator (our messages never match the
 * caller's), the options, the byte accounting, and grow-only scratch buffers that are reused
 * from call to call (fresh pages are first touched at ~0.6 GB/s on our machines, so a collective
 * that mallocs per call measures the kernel, not the network). Not thread-safe. */
typedef struct sal_coll sal_coll;

/* The alpha-beta cost model, plus local work, of `auto` (src/comm/costmodel.c states the formulas).
 */
typedef struct sal_cost_params {
    double alpha; /* seconds per message (latency) */
    double beta;  /* seconds per payload byte of our point-to-point messages (ring, recdbl) */
    /* seconds per payload byte inside MPI's own collectives (MPI_Allreduce, MPI_Allgatherv).
     * Separate from beta because the two differ by network: on shared memory MPI's tuned
     * collectives move bytes as fast as our messages; over Open MPI's TCP path on 4-8 nodes
     * they reach ~0.55 of the link where our pipelined ring reaches ~0.85
     * (docs/performance.md). */
    double beta_coll;
    double gamma; /* seconds per element of irregular local work (merge step, scatter-add) */
    double delta; /* seconds per element of streaming local work (zeroing, adding two vectors) */
} sal_cost_params;

typedef struct sal_coll_opts {
    sal_cost_params cost;
    /* Recursive doubling turns a set dense once it holds >= dense_switch x n entries; in
     * (0, 0.5]. 0.5 is where 8-byte pairs cost as many bytes as 4-byte dense floats. */
    double dense_switch;
    /* Sparse collectives check the input contract (below): an O(k) scan of each rank's set.
     * The outcome rides on the count exchange every sparse call starts with, so a bad set on
     * one rank is an error on every rank, not a hang; 0 skips the scan only. */
    int check_inputs;
} sal_coll_opts;

/* Defaults (one node, shared memory): alpha 2e-6 s, beta and beta_coll 2e-10 s/B (5 GB/s),
 * gamma 2e-9 s, delta 2.5e-10 s, dense_switch 0.5, checks on. */
void sal_coll_opts_default(sal_coll_opts *o);

/* Collective over comm (it duplicates comm). opts NULL means defaults. *out is owned by the
 * caller and freed with sal_coll_free (also collective; before MPI_Finalize; accepts NULL). */
sal_status sal_coll_create(MPI_Comm comm, const sal_coll_opts *opts, sal_coll **out, sal_err *err);
void sal_coll_free(sal_coll *c);

/* Byte accounting (comm.h): the last call's counts and the running total of every call made
 * through c. bytes_sent = payload this rank handed to MPI for sending; for MPI's own collectives
 * (dense, masked) that is the buffer handed to MPI_Allreduce (n or nnz x 4 bytes; how MPI moves
 * it internally is MPI's business), for our point-to-point algorithms the sum of our messages.
 * On a one-rank communicator nothing goes through MPI and every count is 0. */
const sal_comm_stats *sal_coll_last(const sal_coll *c);
const sal_comm_stats *sal_coll_total(const sal_coll *c);

/* ---- dense and masked ---------------------------------------------------------------------
 * Every rank calls with the same n (and the same mask or index list). in == out is allowed.
 * n <= INT_MAX (MPI counts are int). Scratch (the ring's slots, the masked values) that cannot
 * be allocated is SAL_ENOMEM on every rank, with the failing rank's line ("rank R: ..."). */

/* out (n) = sum over ranks of in (n). MPI_Allreduce; the summation order is MPI's. */
sal_status sal_allreduce_dense(sal_coll *c, const float *in, float *out, size_t n, sal_err *err);

/* out (n) = sum over ranks of in (n), by our own pipelined ring (src/comm/ring_allreduce.c):
 * reduce-scatter then allgather over P near-equal blocks (n / P floats, one more for the first
 * n % P), each of the 2(P-1) steps cut into segments of at most SAL_RING_SEGMENT bytes that
 * stream with nonblocking sends and receives, so that the link carries segment c + 1 while
 * segment c is added. Every rank ends with the same bits: block b is summed in the fixed order
 * ((in_b + in_b+1) + in_b+2) + ... (ranks mod P), then copied round; the order is not MPI's.
 * Any n (no INT_MAX limit: MPI sees segments) and P; in == out allowed; scratch is 4 segments.
 * Byte accounting: the sum of this rank's messages, bytes_sent = 4 (2n - |B_r+1| - |B_r+2|),
 * bytes_recv = 4 (2n - |B_r| - |B_r+1|) with |B_b| block b's length (indices mod P): 2(P-1)/P
 * x 4n each when P divides n; 0 on one rank. */
sal_status sal_allreduce_ring(sal_coll *c, const float *in, float *out, size_t n, sal_err *err);

/* Default segment: 1 MiB, chosen by measurement on the virtual cluster (docs/performance.md).
 */
#define SAL_RING_SEGMENT ((size_t)1024 * 1024)

/* As sal_allreduce_ring with segments of at most seg_bytes (>= 4; the same on every rank, else
 * the ranks' messages do not match): for benchmarks and tuning. */
sal_status sal_allreduce_ring_seg(sal_coll *c, const float *in, float *out, size_t n,
                                  size_t seg_bytes, sal_err *err);

/* SSFL's exchange: out[i] = sum over ranks of in[i] where mask[i] != 0, exactly 0 elsewhere. The
 * nnz masked values are packed (pack.h) and reduced as one contiguous buffer: nnz x 4 bytes, no
 * indices, since every rank holds the mask. */
sal_status sal_allreduce_masked(sal_coll *c, const float *in, float *out, const float *mask,
                                size_t n, sal_err *err);

/* The mask's nonzero positions, ascending, into idx (room for n); returns nnz. Compute once per
 * mask: sal_allreduce_masked_idx then gathers and scatters nnz entries instead of scanning n. */
size_t sal_mask_indices(const float *mask, size_t n, uint32_t *idx);

/* As sal_allreduce_masked, given the mask as its index list idx (nnz, ascending, distinct):
 * out[idx[j]] = sum over ranks of in[idx[j]]. Entries of out outside idx are NOT written: with a
 * fixed mask they already hold 0 and stay 0 (the optimizer keeps pruned weights at zero), and
 * rewriting them would be the O(n) pass this variant exists to avoid. */
sal_status sal_allreduce_masked_idx(sal_coll *c, const float *in, float *out, const uint32_t *idx,
                                    size_t nnz, sal_err *err);

/* ---- sparse -------------------------------------------------------------------------------
 * Input contract, per rank: k entries idx (k) / val (k); indices distinct, ascending, < n;
 * k may differ per rank and be 0; n is the same on every rank, n <= INT_MAX. An index may hold
 * the value 0 (it still counts as an entry). The sum is the same as MPI_Allreduce of each rank's
 * dense equivalent (0 where a rank has no entry). Top-k output (topk_ef.h) meets the contract. */

typedef enum sal_sparse_algo {
    SAL_AR_AUTO = 0,  /* pick by the cost model (below), the same choice on every rank */
    SAL_AR_ALLGATHER, /* MPI_Allgather counts + MPI_Allgatherv pairs, merge locally */
    SAL_AR_RECDBL,    /* recursive doubling, sparse -> dense switch (SparCML) */
    SAL_AR_DENSE,     /* scatter to a dense buffer, MPI_Allreduce on n floats */
    SAL_AR_RING       /* scatter to a dense buffer, our pipelined ring (sal_allreduce_ring) */
} sal_sparse_algo;

/* "auto", "allgather", "recdbl", "dense", "ring" */
const char *sal_sparse_algo_name(sal_sparse_algo a);

/* The sum, identical on every rank. Points into the context's buffers: valid until the next
 * call with the same context. Either sparse (dense == 0: nnz entries idx/val, ascending, the
 * union of every rank's indices) or dense (dense == 1: values (n), 0 where no rank had an
 * entry); which one depends on the algorithm and the density (see each algorithm). */
typedef struct sal_sparse_result {
    sal_sparse_algo algo; /* the algorithm that ran (auto resolves to one of the others) */
    int dense;
    size_t n;
    size_t nnz;          /* sparse: entries; dense: n */
    const uint32_t *idx; /* (nnz) sparse only */
    const float *val;    /* (nnz) sparse; (n) dense */
} sal_sparse_result;

/* Sum-allreduce of the ranks' sparse sets with algorithm algo; see sal_sparse_algo and the
 * summation orders below. Collective over the context's communicator.
 *  allgather: sum per index in rank order (((v_0 + v_1) + v_2) ...) in float over the ranks that
 *    hold the index: deterministic for a given set of inputs, whatever P's layout. Sparse result
 *    if the ranks' entries total < dense_switch x n, else dense.
 *  recdbl: a fixed binary tree per rank count (pairwise sums are commutative, so every rank gets
 *    the same bits); differs from rank order in rounding only. Sparse until the merged set
 *    reaches dense_switch x n, dense from then on.
 *  dense: MPI_Allreduce's order. Always a dense result.
 * Every sparse call starts with one MPI_Allgather of the ranks' counts (4 bytes sent, 4(P-1)
 * received, counted in the bytes).
 * Errors: SAL_EINVAL for a set that breaks the contract (with check_inputs), SAL_ENOMEM for
 * scratch that cannot be allocated, both returned by every rank with the same message, that of
 * the lowest failing rank: "rank R: ..." naming the entry or the allocation; SAL_EMPI. */
sal_status sal_allreduce_sparse(sal_coll *c, sal_sparse_algo algo, const uint32_t *idx,
                                const float *val, size_t k, size_t n, sal_sparse_result *res,
                                sal_err *err);

/* One step of top-k sparsified gradient summation (Deep Gradient Compression's exchange):
 * sal_topk_ef_step(ef, g, k, idx, val) on every rank, then sal_allreduce_sparse of the
 * selected sets (idx, val: room for k each, filled here) over n = sal_topk_ef_size(ef).
 * A rank whose step fails (its residual is not finite: the gradient diverged) fails the call on
 * every rank with its message ("rank R: top-k: accumulated gradient [i] is nan ..."), through
 * the count exchange the sparse allreduce makes anyway: no extra message, and no rank goes on
 * alone into the next collective. */
sal_status sal_topk_allreduce(sal_coll *c, sal_sparse_algo algo, sal_topk_ef *ef, const float *g,
                              size_t k, uint32_t *idx, float *val, sal_sparse_result *res,
                              sal_err *err);

/* Write a result as n dense floats into out (n). */
void sal_sparse_result_to_dense(const sal_sparse_result *r, float *out);

/* Checks one rank's set against the contract (local, O(k)). */
sal_status sal_sparse_check(const uint32_t *idx, size_t k, size_t n, sal_err *err);

/* ---- cost model (costmodel.c) --------------------------------------------------------------
 * Predicted seconds of each algorithm for P ranks, n floats, total entries K over the ranks,
 * assuming the ranks' index sets are independent uniform draws (so a union of g sets of mean
 * density d has n(1 - (1 - d)^g) entries; overlapping top-k sets only make it smaller). */
typedef struct sal_cost_estimate {
    double dense, allgather, recdbl, ring;
} sal_cost_estimate;

void sal_cost_sparse(const sal_cost_params *p, double dense_switch, int P, size_t n, uint64_t K,
                     sal_cost_estimate *est);
/* The cheapest of the four (ties: allgather, recdbl, dense, ring, in that order). */
sal_sparse_algo sal_cost_pick(const sal_cost_estimate *est);

#endif
