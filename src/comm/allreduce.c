/* allreduce.c - the collectives context (communicator, options, byte accounting, scratch), the
 * dense and masked allreduce, and the entry point of the sparse ones (see allreduce.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allreduce_internal.h"
#include "salient/pack.h"

void sal_coll_opts_default(sal_coll_opts *o) {
    /* Shared-memory Open MPI on one node: ~1-2 us per message, a few GB/s per stream, a few ns
     * per merge step (cache misses, branches), a fraction of a ns per element of a vectorised
     * pass. `salient bench allreduce --alpha/--beta/--beta-coll/--gamma/--delta` overrides
     * them; benchmarks/costmodel_fit.py fits them to a network. */
    o->cost.alpha = 2e-6;
    o->cost.beta = 2e-10;
    o->cost.beta_coll = 2e-10;
    o->cost.gamma = 2e-9;
    o->cost.delta = 2.5e-10;
    o->dense_switch = 0.5;
    o->check_inputs = 1;
}

sal_status sal_coll_mpi_error(sal_err *err, int rc, const char *what) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "code %d", rc);
    return sal_fail(err, SAL_EMPI, "%s failed: %s", what, text);
}

sal_status sal_coll_nomem(sal_err *err, const char *what, size_t bytes) {
    return sal_fail(err, SAL_ENOMEM, "%s: out of memory for %zu bytes of scratch", what, bytes);
}

sal_status sal_coll_create(MPI_Comm comm, const sal_coll_opts *opts, sal_coll **out, sal_err *err) {
    *out = NULL;
    sal_coll_opts o;
    if (opts)
        o = *opts;
    else
        sal_coll_opts_default(&o);
    if (!(o.dense_switch > 0 && o.dense_switch <= 0.5))
        return sal_fail(err, SAL_EINVAL, "collectives: dense_switch %g must be in (0, 0.5]",
                        o.dense_switch);
    if (!(o.cost.alpha >= 0 && o.cost.beta >= 0 && o.cost.beta_coll >= 0 && o.cost.gamma >= 0 &&
          o.cost.delta >= 0))
        return sal_fail(err, SAL_EINVAL,
                        "collectives: cost alpha/beta/beta_coll/gamma/delta must be >= 0");
    MPI_Comm dup;
    int rc = MPI_Comm_dup(comm, &dup);
    if (rc != MPI_SUCCESS) return sal_coll_mpi_error(err, rc, "collectives: MPI_Comm_dup");
    /* A failed call returns to us, so that the caller gets a message instead of an abort. */
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    int P;
    MPI_Comm_size(dup, &P);
    sal_err local;
    if (!err) err = &local;
    /* Allocate, then agree: a rank that cannot must not leave the others with a context. */
    sal_coll *c = calloc(1, sizeof *c);
    if (c) {
        c->comm = dup;
        c->counts = malloc((size_t)P * sizeof *c->counts);
        c->displs = malloc((size_t)P * sizeof *c->displs);
        c->heap = malloc((size_t)P * sizeof *c->heap);
        c->pos = malloc((size_t)P * sizeof *c->pos);
    }
    sal_status mine = SAL_OK;
    if (!c || !c->counts || !c->displs || !c->heap || !c->pos)
        mine = sal_coll_nomem(err, "collectives", sizeof *c + (size_t)P * 24);
    sal_status st = sal_comm_agree(dup, mine, err);
    if (st) {
        if (c) free(c->counts), free(c->displs), free(c->heap), free(c->pos), free(c);
        MPI_Comm_free(&dup);
        return st;
    }
    c->opts = o;
    MPI_Comm_rank(dup, &c->rank);
    c->size = P;
    MPI_Type_contiguous(8, MPI_BYTE, &c->pair_t);
    MPI_Type_commit(&c->pair_t);
    MPI_Type_contiguous(4, MPI_BYTE, &c->word_t);
    MPI_Type_commit(&c->word_t);
    /* One element of each scratch buffer, so that no call hands a NULL buffer to memset/MPI,
     * even for n = 0. */
    const sal_coll_need one = {1, 1, 1, 1, 1, 1, 1};
    if ((st = sal_coll_grow(c, &one, SAL_FAULT_SITES, "collectives", err))) {
        sal_coll_free(c);
        return st;
    }
    *out = c;
    return SAL_OK;
}

void sal_coll_free(sal_coll *c) {
    if (!c) return;
    MPI_Type_free(&c->pair_t);
    MPI_Type_free(&c->word_t);
    MPI_Comm_free(&c->comm);
    free(c->packed), free(c->pa), free(c->pb), free(c->dense), free(c->rbuf), free(c->ring);
    free(c->out_idx), free(c->out_val), free(c->counts), free(c->displs), free(c->heap);
    free(c->pos);
    free(c);
}

const sal_comm_stats *sal_coll_last(const sal_coll *c) {
    return &c->last;
}
const sal_comm_stats *sal_coll_total(const sal_coll *c) {
    return &c->total;
}

int sal_coll_reserve(void *p, size_t *cap, size_t need, size_t elem) {
    void **pp = (void **)p;
    if (need <= *cap && *pp) return 0;
    size_t want = need > *cap + *cap / 2 ? need : *cap + *cap / 2; /* amortised growth */
    if (want == 0) want = 1;
    void *q = realloc(*pp, want * elem);
    if (!q) return -1;
    *pp = q;
    *cap = want;
    return 0;
}

void sal_coll_begin(sal_coll *c) {
    memset(&c->last, 0, sizeof c->last);
    c->last.calls = 1;
}

void sal_coll_end(sal_coll *c, double t0) {
    c->last.seconds = MPI_Wtime() - t0;
    sal_comm_stats_add(&c->total, &c->last);
}

size_t sal_dense_at(const sal_coll *c, size_t n) {
    double x = c->opts.dense_switch * (double)n;
    size_t at = (size_t)x;
    if ((double)at < x) at++;
    return at ? at : 1;
}

/* ---- dense and masked ---- */

sal_status sal_coll_reduce_floats(sal_coll *c, float *buf, size_t m, const char *what,
                                  sal_err *err) {
    if (c->size == 1 || m == 0) return SAL_OK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)m, MPI_FLOAT, MPI_SUM, c->comm);
    if (rc != MPI_SUCCESS) return sal_coll_mpi_error(err, rc, what);
    c->last.bytes_sent += 4 * (uint64_t)m;
    c->last.bytes_recv += 4 * (uint64_t)m;
    return SAL_OK;
}

static sal_status check_n(size_t n, const char *what, sal_err *err) {
    if (n > INT_MAX)
        return sal_fail(err, SAL_EINVAL, "%s: n = %zu exceeds INT_MAX (MPI counts are int)", what,
                        n);
    return SAL_OK;
}

sal_status sal_allreduce_dense(sal_coll *c, const float *in, float *out, size_t n, sal_err *err) {
    if (check_n(n, "dense allreduce", err)) return SAL_EINVAL;
    double t0 = MPI_Wtime();
    sal_coll_begin(c);
    if (in != out) memcpy(out, in, n * sizeof *out);
    sal_status st = sal_coll_reduce_floats(c, out, n, "dense allreduce: MPI_Allreduce", err);
    sal_coll_end(c, t0);
    return st;
}

sal_status sal_allreduce_masked(sal_coll *c, const float *in, float *out, const float *mask,
                                size_t n, sal_err *err) {
    if (check_n(n, "masked allreduce", err)) return SAL_EINVAL;
    const sal_coll_need need = {.packed = n};
    sal_status st = sal_coll_grow(c, &need, SAL_FAULT_NOMEM_MASKED, "masked allreduce", err);
    if (st) return st;
    double t0 = MPI_Wtime();
    sal_coll_begin(c);
    size_t nnz = sal_pack_masked(in, mask, n, c->packed);
    st = sal_coll_reduce_floats(c, c->packed, nnz, "masked allreduce: MPI_Allreduce", err);
    if (!st) sal_unpack_masked(c->packed, mask, n, out);
    sal_coll_end(c, t0);
    return st;
}

size_t sal_mask_indices(const float *mask, size_t n, uint32_t *idx) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        idx[k] = (uint32_t)i; /* branch-free: write always, advance when kept */
        k += mask[i] != 0.0f;
    }
    return k;
}

sal_status sal_allreduce_masked_idx(sal_coll *c, const float *in, float *out, const uint32_t *idx,
                                    size_t nnz, sal_err *err) {
    if (check_n(nnz, "masked allreduce", err)) return SAL_EINVAL;
    const sal_coll_need need = {.packed = nnz};
    sal_status st = sal_coll_grow(c, &need, SAL_FAULT_NOMEM_MASKED, "masked allreduce", err);
    if (st) return st;
    double t0 = MPI_Wtime();
    sal_coll_begin(c);
    float *restrict buf = c->packed;
    for (size_t j = 0; j < nnz; j++) buf[j] = in[idx[j]];
    st = sal_coll_reduce_floats(c, buf, nnz, "masked allreduce: MPI_Allreduce", err);
    if (!st)
        for (size_t j = 0; j < nnz; j++) out[idx[j]] = buf[j];
    sal_coll_end(c, t0);
    return st;
}

/* ---- sparse: contract, dispatch, auto ---- */

const char *sal_sparse_algo_name(sal_sparse_algo a) {
    switch (a) {
    case SAL_AR_AUTO: return "auto";
    case SAL_AR_ALLGATHER: return "allgather";
    case SAL_AR_RECDBL: return "recdbl";
    case SAL_AR_DENSE: return "dense";
    case SAL_AR_RING: return "ring";
    }
    return "unknown";
}

sal_status sal_sparse_check(const uint32_t *idx, size_t k, size_t n, sal_err *err) {
    if (k > n) return sal_fail(err, SAL_EINVAL, "sparse set: %zu entries for n = %zu", k, n);
    for (size_t j = 0; j < k; j++) {
        if (idx[j] >= n)
            return sal_fail(err, SAL_EINVAL, "sparse set: idx[%zu] = %u is not below n = %zu", j,
                            idx[j], n);
        if (j && idx[j] <= idx[j - 1])
            return sal_fail(err, SAL_EINVAL,
                            "sparse set: idx[%zu] = %u follows %u (indices must be distinct and "
                            "ascending)",
                            j, idx[j], idx[j - 1]);
    }
    return SAL_OK;
}

void sal_sparse_result_to_dense(const sal_sparse_result *r, float *out) {
    if (r->dense) {
        if (out != r->val) memcpy(out, r->val, r->n * sizeof *out);
        return;
    }
    memset(out, 0, r->n * sizeof *out);
    for (size_t j = 0; j < r->nnz; j++) out[r->idx[j]] = r->val[j];
}

/* Every sparse call starts with one MPI_Allgather of the ranks' counts (4 bytes a rank): it
 * gives every rank the same K, hence auto the same choice and every rank the same scratch
 * need, is the count exchange that allgather needs anyway, and carries each rank's outcome so
 * far (-status where its set broke the contract or its top-k failed): a failure on one rank is
 * the same error on all of them, for no extra message. */
static sal_status preflight(sal_coll *c, size_t k, sal_status mine, uint64_t *K, sal_err *err) {
    int cnt = mine ? -(int)mine : (int)k;
    if (c->size > 1) {
        int rc = MPI_Allgather(&cnt, 1, MPI_INT, c->counts, 1, MPI_INT, c->comm);
        if (rc != MPI_SUCCESS)
            return sal_coll_mpi_error(err, rc, "sparse allreduce: MPI_Allgather");
        c->last.bytes_sent += 4;
        c->last.bytes_recv += 4 * (uint64_t)(c->size - 1);
    } else {
        c->counts[0] = cnt;
    }
    *K = 0;
    for (int r = 0; r < c->size; r++) {
        if (c->counts[r] < 0) return sal_comm_spread(c->comm, r, (sal_status)-c->counts[r], err);
        *K += (uint64_t)c->counts[r];
    }
    return SAL_OK;
}

/* The scratch algorithm a needs for K entries over the ranks (the same on every rank), all of
 * it reserved before the first message. Bounds: a recursive-doubling set (and a merge of two)
 * is a union of the ranks' sets, so at most K entries, and sparse only below sal_dense_at(n)
 * <= n/2 + 1 entries, so a merge of two holds fewer than n; pa and pb swap, as do dense and
 * rbuf, so each pair gets the same size. */
static sal_coll_need sparse_need(const sal_coll *c, sal_sparse_algo a, uint64_t K, size_t n) {
    sal_coll_need need = {0};
    const size_t at = sal_dense_at(c, n), m = K < n ? (size_t)K : n;
    switch (a) {
    case SAL_AR_ALLGATHER:
        need.pb = (size_t)K;
        if (K >= at)
            need.dense = n;
        else
            need.out = (size_t)K;
        break;
    case SAL_AR_RECDBL:
        need.pa = need.pb = m;
        need.dense = need.rbuf = n;
        need.out = m < at ? m : at;
        break;
    case SAL_AR_RING:
        need.dense = n;
        need.ring = sal_ring_scratch(n, c->size, SAL_RING_SEGMENT);
        break;
    default: need.dense = n;
    }
    return need;
}

static const sal_fault_site fault_of[] = {SAL_FAULT_SITES, SAL_FAULT_NOMEM_ALLGATHER,
                                          SAL_FAULT_NOMEM_RECDBL, SAL_FAULT_NOMEM_DENSE,
                                          SAL_FAULT_NOMEM_RING};
static const char *what_of[] = {"sparse allreduce", "sparse allreduce (allgather)",
                                "sparse allreduce (recdbl)", "sparse allreduce (dense)",
                                "sparse allreduce (ring)"};

sal_status sal_sparse_run(sal_coll *c, sal_sparse_algo algo, const uint32_t *idx, const float *val,
                          size_t k, size_t n, sal_status mine, sal_sparse_result *res,
                          sal_err *err) {
    sal_err local;
    if (!err) err = &local; /* a failing rank's message must exist to reach the others */
    if (check_n(n, "sparse allreduce", err)) return SAL_EINVAL;
    if ((unsigned)algo > SAL_AR_RING)
        return sal_fail(err, SAL_EINVAL, "sparse allreduce: unknown algorithm %d", (int)algo);
    double t0 = MPI_Wtime();
    sal_coll_begin(c);
    if (!mine && c->opts.check_inputs) {
        sal_err e;
        mine = sal_sparse_check(idx, k, n, &e);
        if (mine) sal_fail(err, mine, "sparse allreduce: %s", e.msg);
    }
    uint64_t K = 0;
    sal_status st = preflight(c, k, mine, &K, err);
    if (!st) {
        if (algo == SAL_AR_AUTO) {
            sal_cost_estimate est;
            sal_cost_sparse(&c->opts.cost, c->opts.dense_switch, c->size, n, K, &est);
            algo = sal_cost_pick(&est);
        }
        if (algo == SAL_AR_ALLGATHER && K > INT_MAX)
            st = sal_fail(err, SAL_EINVAL,
                          "sparse allreduce (allgather): %llu entries over the ranks exceed "
                          "INT_MAX (MPI displacements are int); use recdbl or dense",
                          (unsigned long long)K);
    }
    if (!st) {
        const sal_coll_need need = sparse_need(c, algo, K, n);
        st = sal_coll_grow(c, &need, fault_of[algo], what_of[algo], err);
    }
    if (!st) {
        switch (algo) {
        case SAL_AR_ALLGATHER: st = sal_sparse_allgather(c, idx, val, k, n, K, res, err); break;
        case SAL_AR_RECDBL: st = sal_sparse_recdbl(c, idx, val, k, n, res, err); break;
        case SAL_AR_RING: st = sal_sparse_ring(c, idx, val, k, n, res, err); break;
        default: st = sal_sparse_dense(c, idx, val, k, n, res, err);
        }
    }
    sal_coll_end(c, t0);
    return st;
}

sal_status sal_allreduce_sparse(sal_coll *c, sal_sparse_algo algo, const uint32_t *idx,
                                const float *val, size_t k, size_t n, sal_sparse_result *res,
                                sal_err *err) {
    return sal_sparse_run(c, algo, idx, val, k, n, SAL_OK, res, err);
}
