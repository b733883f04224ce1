/* topk.c - exact, deterministic top-k masks over the flat score buffer: one global k or one k
 * per tensor; ranking by score, ties to the lower flat index. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "salient/select.h"
#include "salient/sparsity.h"

/* Checks one tensor's scores for NaN/Inf (an upstream divergence must not turn into an
 * arbitrary mask) and fills keys. */
static sal_status tensor_keys(const sal_params *p, int t, const float *score, uint64_t *keys,
                              sal_err *err) {
    const sal_tensor *tv = &p->t[t];
    for (size_t i = 0; i < tv->numel; i++) {
        const size_t at = tv->offset + i;
        if (!isfinite(score[at]))
            return sal_fail(err, SAL_ENUMERIC,
                            "mask: score of %s[%zu] is %g (scores must be finite; did the "
                            "model diverge?)",
                            tv->name, i, (double)score[at]);
        keys[i] = sal_rank_key(score[at], (uint32_t)at);
    }
    return SAL_OK;
}

/* Mask entries of the prunable tensors in [t0, t1): 1 where the key is >= the threshold. */
static void apply(const sal_params *p, int t0, int t1, const float *score, uint64_t thr,
                  float *mask) {
    for (int t = t0; t < t1; t++) {
        const sal_tensor *tv = &p->t[t];
        for (size_t i = 0; i < tv->numel; i++) {
            const size_t at = tv->offset + i;
            mask[at] = !tv->prunable || sal_rank_key(score[at], (uint32_t)at) >= thr ? 1.0f : 0.0f;
        }
    }
}

static size_t prunable_count(const sal_params *p) {
    size_t n = 0;
    for (int t = 0; t < p->ntensors; t++)
        if (p->t[t].prunable) n += p->t[t].numel;
    return n;
}

sal_status sal_mask_topk_global(const sal_params *p, const float *score, double density,
                                float *mask, sal_err *err) {
    if (!(density > 0 && density <= 1))
        return sal_fail(err, SAL_EINVAL, "mask: density %g must be in (0, 1]", density);
    size_t k = (size_t)llround(density * (double)prunable_count(p));
    return sal_mask_topk_count(p, score, k < 1 ? 1 : k, mask, err);
}

sal_status sal_mask_topk_count(const sal_params *p, const float *score, size_t k, float *mask,
                               sal_err *err) {
    if (p->n >= UINT32_MAX)
        return sal_fail(err, SAL_EINVAL, "mask: %zu parameters exceed 32-bit indices", p->n);
    const size_t total = prunable_count(p);
    if (total == 0) {
        apply(p, 0, p->ntensors, score, 0, mask);
        return SAL_OK;
    }
    if (k < 1 || k > total)
        return sal_fail(err, SAL_EINVAL, "mask: %zu weights to keep of %zu prunable", k, total);
    uint64_t *keys = malloc(total * sizeof *keys);
    if (!keys) return sal_fail(err, SAL_ENOMEM, "mask: out of memory for %zu scores", total);
    size_t m = 0;
    sal_status st = SAL_OK;
    for (int t = 0; t < p->ntensors && st == SAL_OK; t++) {
        if (!p->t[t].prunable) continue;
        st = tensor_keys(p, t, score, keys + m, err);
        m += p->t[t].numel;
    }
    if (st == SAL_OK) apply(p, 0, p->ntensors, score, sal_select_kth(keys, total, k), mask);
    free(keys);
    return st;
}

sal_status sal_mask_topk_layers(const sal_params *p, const float *score, const double *dens,
                                float *mask, sal_err *err) {
    if (p->n >= UINT32_MAX)
        return sal_fail(err, SAL_EINVAL, "mask: %zu parameters exceed 32-bit indices", p->n);
    size_t most = 0;
    for (int t = 0; t < p->ntensors; t++) {
        if (!p->t[t].prunable) continue;
        if (!(dens[t] > 0 && dens[t] <= 1))
            return sal_fail(err, SAL_EINVAL, "mask: density %g of %s must be in (0, 1]", dens[t],
                            p->t[t].name);
        if (p->t[t].numel > most) most = p->t[t].numel;
    }
    uint64_t *keys = malloc((most ? most : 1) * sizeof *keys);
    if (!keys) return sal_fail(err, SAL_ENOMEM, "mask: out of memory for %zu scores", most);
    sal_status st = SAL_OK;
    for (int t = 0; t < p->ntensors && st == SAL_OK; t++) {
        const sal_tensor *tv = &p->t[t];
        if (!tv->prunable) {
            apply(p, t, t + 1, score, 0, mask);
            continue;
        }
        size_t k = (size_t)llround(dens[t] * (double)tv->numel);
        if (k < 1) k = 1; /* an empty layer would cut every path through the network */
        if (k > tv->numel) k = tv->numel;
        st = tensor_keys(p, t, score, keys, err);
        if (st == SAL_OK) apply(p, t, t + 1, score, sal_select_kth(keys, tv->numel, k), mask);
    }
    free(keys);
    return st;
}
