/* density.c - per-tensor densities for layerwise masks: uniform, and Erdos-Renyi-Kernel as in
 * RigL (Evci et al., "Rigging the lottery", ICML 2020; sparse_utils.get_sparsities). */
#include <math.h>
#include <stdlib.h>

#include "salient/sparsity.h"

void sal_layer_densities_uniform(const sal_params *p, double density, double *dens) {
    for (int t = 0; t < p->ntensors; t++) dens[t] = p->t[t].prunable ? density : 1.0;
}

sal_status sal_layer_densities_erk(const sal_params *p, double density, double *dens,
                                   sal_err *err) {
    const size_t T = (size_t)p->ntensors;
    /* raw, want (doubles), kept (long long), capped (int): one block, T of each */
    double *raw = calloc(T ? 3 * T + T : 1, sizeof(double)), total = 0;
    if (!raw) return sal_fail(err, SAL_ENOMEM, "erk: out of memory for %zu tensors", T);
    double *want = raw + T;
    long long *kept = (long long *)(raw + 2 * T);
    int *capped = (int *)(raw + 3 * T);
    for (int t = 0; t < p->ntensors; t++) {
        const sal_tensor *tv = &p->t[t];
        dens[t] = 1.0;
        if (!tv->prunable) continue;
        /* ER (MLP layers) and ERK (conv kernels) alike: (sum of dims) / (product of dims), so
         * for conv OIHW (O + I + kh + kw) / (O I kh kw) and for linear (O + I) / (O I). */
        double sum = 0;
        for (int d = 0; d < tv->ndim; d++) sum += tv->shape[d];
        raw[t] = sum / (double)tv->numel;
        total += (double)tv->numel;
    }
    if (total == 0 || !(density < 1)) { /* nothing to prune, or dense */
        free(raw);
        return SAL_OK;
    }
    if (!(density > 0)) density = 0;
    /* Find eps with sum_t min(1, eps raw_t) numel_t = density * total. RigL's loop: solve with
     * the current dense set, and while the tensor with the largest raw_t would exceed density
     * 1, make it dense and solve again (each pass caps at least one tensor, so it ends). */
    double eps = 0;
    for (;;) {
        double rhs = density * total, divisor = 0, max_raw = 0;
        for (int t = 0; t < p->ntensors; t++) {
            if (!p->t[t].prunable) continue;
            if (capped[t]) {
                rhs -= (double)p->t[t].numel;
            } else {
                divisor += raw[t] * (double)p->t[t].numel;
                if (raw[t] > max_raw) max_raw = raw[t];
            }
        }
        if (divisor == 0) break; /* everything capped (only when density rounds to 1) */
        eps = rhs > 0 ? rhs / divisor : 0;
        if (eps * max_raw <= 1) break;
        for (int t = 0; t < p->ntensors; t++)
            if (p->t[t].prunable && !capped[t] && raw[t] == max_raw) capped[t] = 1;
    }
    /* Turn the real-valued counts eps raw_t numel_t into integers that add up to exactly
     * round(density * total) by largest remainders (ties to the lower tensor index), so that a
     * layerwise ERK mask keeps as many weights as a global one; at least 1 per tensor. */
    long long left = llround(density * total);
    for (int t = 0; t < p->ntensors; t++) {
        if (!p->t[t].prunable) continue;
        const double numel = (double)p->t[t].numel;
        want[t] = capped[t] ? numel : fmin(numel, eps * raw[t] * numel);
        kept[t] = (long long)floor(want[t]);
        left -= kept[t];
    }
    while (left > 0) {
        int best = -1;
        double best_frac = -1;
        for (int t = 0; t < p->ntensors; t++) {
            if (!p->t[t].prunable || kept[t] >= (long long)p->t[t].numel) continue;
            const double frac = want[t] - (double)kept[t];
            if (frac > best_frac) best_frac = frac, best = t;
        }
        if (best < 0) break;
        kept[best]++;
        want[best] = (double)kept[best]; /* its remainder is used up */
        left--;
    }
    for (int t = 0; t < p->ntensors; t++) {
        if (!p->t[t].prunable) continue;
        if (kept[t] < 1) kept[t] = 1;
        dens[t] = (double)kept[t] / (double)p->t[t].numel;
    }
    free(raw);
    return SAL_OK;
}
