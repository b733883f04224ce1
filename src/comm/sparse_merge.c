/* sparse_merge.c - the local kernels of the sparse collectives: merging two sorted sets, adding
 * a set into a dense buffer, and the dense fallback (scatter, then MPI_Allreduce on n floats). */
#include <string.h>

#include "allreduce_internal.h"

size_t sal_pairs_merge(const sal_pair *restrict a, size_t na, const sal_pair *restrict b, size_t nb,
                       sal_pair *restrict out) {
    size_t i = 0, j = 0, m = 0;
    while (i < na && j < nb) {
        const uint32_t x = a[i].i, y = b[j].i;
        if (x < y) {
            out[m++] = a[i++];
        } else if (y < x) {
            out[m++] = b[j++];
        } else {
            out[m].i = x; /* a + b == b + a in IEEE arithmetic: both partners agree bitwise */
            out[m++].v = a[i++].v + b[j++].v;
        }
    }
    memcpy(out + m, a + i, (na - i) * sizeof *out);
    m += na - i;
    memcpy(out + m, b + j, (nb - j) * sizeof *out);
    return m + nb - j;
}

void sal_pairs_add_dense(const sal_pair *restrict a, size_t na, float *restrict dense) {
    for (size_t j = 0; j < na; j++) dense[a[j].i] += a[j].v;
}

/* The baseline that auto falls back to when the union is nearly dense anyway: no index bytes,
 * and MPI's tuned reduce-scatter + allgather. */
sal_status sal_sparse_dense(sal_coll *c, const uint32_t *idx, const float *val, size_t k, size_t n,
                            sal_sparse_result *res, sal_err *err) {
    if (sal_coll_reserve(&c->dense, &c->dense_cap, n, sizeof *c->dense))
        return sal_coll_nomem(err, "sparse allreduce (dense)", n * sizeof(float));
    float *restrict d = c->dense;
    memset(d, 0, n * sizeof *d);
    for (size_t j = 0; j < k; j++) d[idx[j]] = val[j];
    sal_status st = sal_coll_reduce_floats(c, d, n, "sparse allreduce (dense): MPI_Allreduce", err);
    if (st) return st;
    *res = (sal_sparse_result){.algo = SAL_AR_DENSE, .dense = 1, .n = n, .nnz = n, .val = d};
    return SAL_OK;
}
