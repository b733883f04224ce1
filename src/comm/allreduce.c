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
    sal_coll *c = calloc(1, sizeof *c);
    if (!c) return sal_coll_nomem(err, "collectives", sizeof *c);
    c->opts = o;
    int rc = MPI_Comm_dup(comm, &c->comm);
    if (rc != MPI_SUCCESS) {
        free(c);
        return sal_coll_mpi_error(err, rc, "collectives: MPI_Comm_dup");
    }
    /* A failed call returns to us, so that the caller gets a message instead of an abort. */
    MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    MPI_Type_contiguous(8, MPI_BYTE, &c->pair_t);
    MPI_Type_commit(&c->pair_t);
    MPI_Type_contiguous(4, MPI_BYTE, &c->word_t);
    MPI_Type_commit(&c->word_t);
    const size_t P = (size_t)c->size;
    c->counts = malloc(P * sizeof *c->counts);
    c->displs = malloc(P * sizeof *c->displs);
    c->heap = malloc(P * sizeof *c->heap);
    c->pos = malloc(P * sizeof *c->pos);
    if (!c->counts || !c->displs || !c->heap || !c->pos) {
        sal_coll_free(c);
        return sal_coll_nomem(err, "collectives", P * 24);
    }
    *out = c;
    return SAL_OK;
}

void sal_coll_free(sal_coll *c) {
    if (!c) return;
    MPI_Type_free(&c->pair_t);
    MPI_Type_free(&c->word_t);
    MPI_Comm_free(&c->comm);
    free(c->packed), free(c->pa), free(c->pb), free(c->dense), free(c->rbuf);
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

int sal_coll_reserve_out(sal_coll *c, size_t need) {
    return sal_coll_reserve(&c->out_idx, &c->out_icap, need, sizeof *c->out_idx) ||
           sal_coll_reserve(&c->out_val, &c->out_vcap, need, sizeof *c->out_val);
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
    if (sal_coll_reserve(&c->packed, &c->packed_cap, n, sizeof *c->packed))
        return sal_coll_nomem(err, "masked allreduce", n * sizeof(float));
    double t0 = MPI_Wtime();
    sal_coll_begin(c);
    size_t nnz = sal_pack_masked(in, mask, n, c->packed);
    sal_status st =
        sal_coll_reduce_floats(c, c->packed, nnz, "masked allreduce: MPI_Allreduce", err);
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
    if (sal_coll_reserve(&c->packed, &c->packed_cap, nnz, sizeof *c->packed))
        return sal_coll_nomem(err, "masked allreduce", nnz * sizeof(float));
    double t0 = MPI_Wtime();
    sal_coll_begin(c);
    float *restrict buf = c->packed;
    for (size_t j = 0; j < nnz; j++) buf[j] = in[idx[j]];
    sal_status st = sal_coll_reduce_floats(c, buf, nnz, "masked allreduce: MPI_Allreduce", err);
    if (!st)
        for (size_t j = 0; j < nnz; j++) out[idx[j]] = buf[j];
    sal_coll_end(c, t0);
    return st;
}

/* ---- sparse: contract, dispatch, auto ---- */

sal_status sal_sparse_bad_rank(sal_err *err, sal_status mine, int r) {
    if (mine) return mine; /* err already names our own bad entry */
    return sal_fail(err, SAL_EINVAL,
                    "sparse allreduce: rank %d's set breaks the input contract (that rank "
                    "reports which entry)",
                    r);
}

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

/* auto: one MPI_Allgather of the counts (4 bytes a rank) gives every rank the same K, hence the
 * same choice; it also carries the input check (-1 = "my set is bad") and, when allgather wins,
 * is the count exchange that allgather needs anyway. */
static sal_status sparse_auto(sal_coll *c, const uint32_t *idx, const float *val, size_t k,
                              size_t n, sal_status mine, sal_sparse_result *res, sal_err *err) {
    int cnt = mine ? -1 : (int)k;
    if (c->size > 1) {
        int rc = MPI_Allgather(&cnt, 1, MPI_INT, c->counts, 1, MPI_INT, c->comm);
        if (rc != MPI_SUCCESS)
            return sal_coll_mpi_error(err, rc, "sparse allreduce: MPI_Allgather");
        c->last.bytes_sent += 4;
        c->last.bytes_recv += 4 * (uint64_t)(c->size - 1);
    } else {
        c->counts[0] = cnt;
    }
    uint64_t K = 0;
    for (int r = 0; r < c->size; r++) {
        if (c->counts[r] < 0) return sal_sparse_bad_rank(err, mine, r);
        K += (uint64_t)c->counts[r];
    }
    sal_cost_estimate est;
    sal_cost_sparse(&c->opts.cost, c->opts.dense_switch, c->size, n, K, &est);
    switch (sal_cost_pick(&est)) {
    case SAL_AR_ALLGATHER:
        return sal_sparse_allgather(c, idx, val, k, n, c->counts, SAL_OK, res, err);
    case SAL_AR_RECDBL: return sal_sparse_recdbl(c, idx, val, k, n, res, err);
    case SAL_AR_RING: return sal_sparse_ring(c, idx, val, k, n, res, err);
    default: return sal_sparse_dense(c, idx, val, k, n, res, err);
    }
}

/* recdbl and dense have no exchange to carry the check on: one MPI_Allreduce (min) of the first
 * failing rank. */
static sal_status agree(sal_coll *c, sal_status mine, sal_err *err) {
    if (c->size == 1) return mine;
    int bad = mine ? c->rank : c->size, first = bad;
    int rc = MPI_Allreduce(&bad, &first, 1, MPI_INT, MPI_MIN, c->comm);
    if (rc != MPI_SUCCESS) return sal_coll_mpi_error(err, rc, "sparse allreduce: MPI_Allreduce");
    c->last.bytes_sent += 4;
    c->last.bytes_recv += 4;
    if (first == c->size) return SAL_OK;
    return sal_sparse_bad_rank(err, mine, first);
}

sal_status sal_allreduce_sparse(sal_coll *c, sal_sparse_algo algo, const uint32_t *idx,
                                const float *val, size_t k, size_t n, sal_sparse_result *res,
                                sal_err *err) {
    if (check_n(n, "sparse allreduce", err)) return SAL_EINVAL;
    if ((unsigned)algo > SAL_AR_RING)
        return sal_fail(err, SAL_EINVAL, "sparse allreduce: unknown algorithm %d", (int)algo);
    double t0 = MPI_Wtime();
    sal_coll_begin(c);
    /* Each rank checks its own set; each algorithm then makes the outcome collective. */
    sal_status mine = SAL_OK;
    if (c->opts.check_inputs) {
        sal_err e;
        mine = sal_sparse_check(idx, k, n, &e);
        if (mine) sal_fail(err, mine, "sparse allreduce: rank %d: %s", c->rank, e.msg);
    }
    sal_status st;
    switch (algo) {
    case SAL_AR_AUTO: st = sparse_auto(c, idx, val, k, n, mine, res, err); break;
    case SAL_AR_ALLGATHER:
        st = sal_sparse_allgather(c, idx, val, k, n, NULL, mine, res, err);
        break;
    case SAL_AR_RECDBL:
        st = c->opts.check_inputs ? agree(c, mine, err) : SAL_OK;
        if (!st) st = sal_sparse_recdbl(c, idx, val, k, n, res, err);
        break;
    case SAL_AR_RING:
        st = c->opts.check_inputs ? agree(c, mine, err) : SAL_OK;
        if (!st) st = sal_sparse_ring(c, idx, val, k, n, res, err);
        break;
    default:
        st = c->opts.check_inputs ? agree(c, mine, err) : SAL_OK;
        if (!st) st = sal_sparse_dense(c, idx, val, k, n, res, err);
    }
    sal_coll_end(c, t0);
    return st;
}
