/* topk_allreduce.c - top-k selection with error feedback, then the sparse allreduce of the
 * selected sets, with one outcome on every rank (see sal_topk_allreduce in allreduce.h). */
#include <math.h>

#include "allreduce_internal.h"

sal_status sal_topk_allreduce(sal_coll *c, sal_sparse_algo algo, sal_topk_ef *ef, const float *g,
                              size_t k, uint32_t *idx, float *val, sal_sparse_result *res,
                              sal_err *err) {
    sal_err local;
    if (!err) err = &local;
    const size_t n = sal_topk_ef_size(ef);
    /* The injected fault is a residual that went NaN, so the real check below must catch it. */
    if (n > 0 && sal_fault_at(SAL_FAULT_NONFINITE_TOPK) == c->rank)
        sal_topk_ef_residual_mut(ef)[0] = NAN;
    sal_status mine = sal_topk_ef_step(ef, g, k, idx, val, err);
    /* A failed rank still joins with an empty set: its status travels in the count exchange. */
    return sal_sparse_run(c, algo, idx, val, mine ? 0 : k, n, mine, res, err);
}
