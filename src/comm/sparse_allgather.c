/* sparse_allgather.c - sparse allreduce by allgather-then-merge: every rank receives every set
 * (MPI_Allgather of the counts, MPI_Allgatherv of the pairs) and sums them itself. One round of
 * latency, P x the bytes of one set: the right choice for small sets (SparCML's
 * SSAR_Split_allgather, arXiv 1802.08021, sec. 4) and for few ranks. */
#include <string.h>

#include "allreduce_internal.h"

/* Binary heap of ranks keyed by (current index, rank): pops every index in ascending order and,
 * among equal indices, in rank order, so sums run over the ranks in order. */
typedef struct heap_ctx {
    const sal_pair *all;
    const int *displs;
    const size_t *pos;
} heap_ctx;

static inline int heap_less(const heap_ctx *h, int a, int b) {
    uint32_t x = h->all[h->displs[a] + h->pos[a]].i, y = h->all[h->displs[b] + h->pos[b]].i;
    return x < y || (x == y && a < b);
}

static void sift_down(const heap_ctx *h, int *heap, int m, int at) {
    for (;;) {
        int l = 2 * at + 1, best = at;
        if (l < m && heap_less(h, heap[l], heap[best])) best = l;
        if (l + 1 < m && heap_less(h, heap[l + 1], heap[best])) best = l + 1;
        if (best == at) return;
        int t = heap[at];
        heap[at] = heap[best], heap[best] = t;
        at = best;
    }
}

/* P-way merge of the gathered sets into out_idx/out_val: O(K log P). */
static size_t merge_all(sal_coll *c, const sal_pair *all) {
    const int P = c->size;
    heap_ctx h = {all, c->displs, c->pos};
    int m = 0;
    for (int r = 0; r < P; r++) {
        c->pos[r] = 0;
        if (c->counts[r] > 0) c->heap[m++] = r;
    }
    for (int at = m / 2 - 1; at >= 0; at--) sift_down(&h, c->heap, m, at);
    uint32_t *restrict oi = c->out_idx;
    float *restrict ov = c->out_val;
    size_t nnz = 0;
    while (m > 0) {
        const int r = c->heap[0];
        const sal_pair p = all[c->displs[r] + c->pos[r]];
        if (nnz && oi[nnz - 1] == p.i) {
            ov[nnz - 1] += p.v;
        } else {
            oi[nnz] = p.i, ov[nnz] = p.v;
            nnz++;
        }
        if (++c->pos[r] == (size_t)c->counts[r]) c->heap[0] = c->heap[--m];
        sift_down(&h, c->heap, m, 0);
    }
    return nnz;
}

sal_status sal_sparse_allgather(sal_coll *c, const uint32_t *idx, const float *val, size_t k,
                                size_t n, uint64_t K, sal_sparse_result *res, sal_err *err) {
    const int P = c->size;
    for (int r = 0, at = 0; r < P; r++) { /* K <= INT_MAX: checked by the caller */
        c->displs[r] = at;
        at += c->counts[r];
    }
    /* Our pairs go straight to their place in the gathered buffer (MPI_IN_PLACE, no copy). */
    sal_pair *restrict all = c->pb, *restrict own = c->pb + c->displs[c->rank];
    for (size_t j = 0; j < k; j++) own[j] = (sal_pair){idx[j], val[j]};
    if (P > 1) {
        int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, c->counts, c->displs,
                                c->pair_t, c->comm);
        if (rc != MPI_SUCCESS)
            return sal_coll_mpi_error(err, rc, "sparse allreduce: MPI_Allgatherv");
        c->last.bytes_sent += 8 * (uint64_t)k;
        c->last.bytes_recv += 8 * (K - k);
    }
    if (K >= sal_dense_at(c, n)) {
        /* Nearly dense: adding into a zeroed buffer in rank order gives the same sums as the
         * merge (0 + v == v) in O(K + n) instead of O(K log P). */
        memset(c->dense, 0, n * sizeof *c->dense);
        sal_pairs_add_dense(all, K, c->dense);
        *res = (sal_sparse_result){
            .algo = SAL_AR_ALLGATHER, .dense = 1, .n = n, .nnz = n, .val = c->dense};
        return SAL_OK;
    }
    size_t nnz = merge_all(c, all);
    *res = (sal_sparse_result){
        .algo = SAL_AR_ALLGATHER, .n = n, .nnz = nnz, .idx = c->out_idx, .val = c->out_val};
    return SAL_OK;
}
