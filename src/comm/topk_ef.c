/* topk_ef.c - exact top-k by magnitude with error feedback (DGC, arXiv 1712.01887, sec. 3.1:
 * local gradient accumulation; momentum correction is left to the optimizer). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "salient/select.h"
#include "salient/topk_ef.h"

struct sal_topk_ef {
    size_t n;
    float *acc;     /* (n) residual */
    uint64_t *keys; /* (n) selection scratch */
};

sal_status sal_topk_ef_create(size_t n, sal_topk_ef **out, sal_err *err) {
    *out = NULL;
    if (n > UINT32_MAX)
        return sal_fail(err, SAL_EINVAL, "top-k: n = %zu exceeds 32-bit indices", n);
    sal_topk_ef *ef = calloc(1, sizeof *ef);
    if (ef) ef->acc = calloc(n ? n : 1, sizeof *ef->acc);
    if (ef) ef->keys = malloc((n ? n : 1) * sizeof *ef->keys);
    if (!ef || !ef->acc || !ef->keys) {
        sal_topk_ef_free(ef);
        return sal_fail(err, SAL_ENOMEM, "top-k: out of memory for %zu entries", n);
    }
    ef->n = n;
    *out = ef;
    return SAL_OK;
}

void sal_topk_ef_free(sal_topk_ef *ef) {
    if (!ef) return;
    free(ef->acc), free(ef->keys);
    free(ef);
}

const float *sal_topk_ef_residual(const sal_topk_ef *ef) {
    return ef->acc;
}
float *sal_topk_ef_residual_mut(sal_topk_ef *ef) { return ef->acc; }
size_t sal_topk_ef_size(const sal_topk_ef *ef) {
    return ef->n;
}

/* The rank key of |x| (select.h): larger magnitude first, then lower index. */
static inline uint64_t key_of(float x, size_t i) {
    return sal_rank_key(fabsf(x), (uint32_t)i);
}

sal_status sal_topk_ef_step(sal_topk_ef *ef, const float *g, size_t k, uint32_t *idx, float *val,
                            sal_err *err) {
    const size_t n = ef->n;
    if (k > n) return sal_fail(err, SAL_EINVAL, "top-k: k = %zu exceeds n = %zu", k, n);
    float *restrict acc = ef->acc;
    uint64_t *restrict keys = ef->keys;
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        acc[i] += g[i];
        keys[i] = key_of(acc[i], i);
        finite &= isfinite(acc[i]) != 0;
    }
    if (!finite) {
        for (size_t i = 0; i < n; i++)
            if (!isfinite(acc[i]))
                return sal_fail(err, SAL_ENUMERIC,
                                "top-k: accumulated gradient [%zu] is %g (did training diverge?)",
                                i, (double)acc[i]);
    }
    if (k == 0) return SAL_OK;
    /* k == n selects everything; otherwise the threshold is the k-th largest key, and the scan in
     * index order emits the k entries at or above it, ascending. */
    const uint64_t thr = k == n ? 0 : sal_select_kth(keys, n, k);
    size_t m = 0;
    for (size_t i = 0; i < n && m < k; i++) {
        if (key_of(acc[i], i) >= thr) {
            idx[m] = (uint32_t)i, val[m] = acc[i];
            acc[i] = 0.0f;
            m++;
        }
    }
    return SAL_OK;
}
