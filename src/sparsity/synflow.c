/* synflow.c - iterative synaptic-flow pruning (Tanaka, Kunin, Yamins, Ganguli, "Pruning neural
 * networks without any data by iteratively conserving synaptic flow", NeurIPS 2020, Alg. 1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "salient/sparsity.h"
#include "sparsity/sparsity_internal.h"

void sal_sp_synflow_scores(sal_model *m, const float *w0, const float *mask, const float *ones,
                           const float *dlogits, float *score) {
    sal_params *p = sal_model_params(m);
    /* Linearise: every parameter, biases included, becomes |w| (the reference `linearize`
     * takes abs of the whole state_dict), pruned weights 0. With non-negative weights and an
     * all-ones input every ReLU passes, so the network computes prod |W_l| applied to 1. */
    for (int t = 0; t < p->ntensors; t++) {
        const sal_tensor *tv = &p->t[t];
        const float *src = w0 + tv->offset, *mk = mask + tv->offset;
        float *w = p->w + tv->offset;
        for (size_t i = 0; i < tv->numel; i++)
            w[i] = tv->prunable ? fabsf(src[i]) * mk[i] : fabsf(src[i]);
    }
    const int y0 = 0; /* forward wants labels; the loss it returns is not used */
    sal_model_forward(m, ones, &y0, 1, NULL);
    sal_model_backward_from(m, dlogits); /* R = sum of logits: dR/dlogits = 1 */
    /* Synaptic flow score |dR/dw * w| (eq. 2). Pruned entries get -1: every live score is >= 0,
     * so a top-k whose k never exceeds the live count cannot bring them back, even where live
     * scores are 0 and ties go to the lower index. */
    for (int t = 0; t < p->ntensors; t++) {
        const sal_tensor *tv = &p->t[t];
        const float *g = p->g + tv->offset, *w = p->w + tv->offset, *mk = mask + tv->offset;
        float *s = score + tv->offset;
        for (size_t i = 0; i < tv->numel; i++)
            s[i] = !tv->prunable ? 0.0f : mk[i] != 0.0f ? fabsf(g[i] * w[i]) : -1.0f;
    }
}

sal_status sal_mask_synflow(sal_model *m, double density, sal_sparsity_scope scope, int iters,
                            float *mask, sal_err *err) {
    if (!(density > 0 && density <= 1) || iters < 1)
        return sal_fail(err, SAL_EINVAL,
                        "synflow: density %g must be in (0, 1], iterations %d >= 1", density,
                        iters);
    sal_params *p = sal_model_params(m);
    int c, h, w;
    sal_model_input_shape(m, &c, &h, &w);
    const int classes = sal_model_classes(m);
    const size_t n = p->n, nin = (size_t)c * h * w;
    float *w0 = malloc(n * sizeof *w0), *score = malloc(n * sizeof *score);
    float *ones = malloc(nin * sizeof *ones), *dl = malloc((size_t)classes * sizeof *dl);
    double *dens = malloc(sizeof(double) * (size_t)(p->ntensors ? p->ntensors : 1));
    sal_status st = SAL_OK;
    if (!w0 || !score || !ones || !dl || !dens) {
        st = sal_fail(err, SAL_ENOMEM, "synflow: out of memory for %zu parameters", n);
        goto done;
    }
    memcpy(w0, p->w, n * sizeof *w0);
    /* BatchNorm on its running statistics, as SynFlow's reference code prunes in eval mode: the
     * data-free objective must not depend on a batch of one all-ones input (nor change the
     * statistics). GroupNorm has no such mode and normalises that input as it is. */
    const int mode = sal_model_training(m);
    sal_model_set_training(m, 0);
    for (size_t i = 0; i < nin; i++) ones[i] = 1.0f;
    for (int i = 0; i < classes; i++) dl[i] = 1.0f;
    for (size_t i = 0; i < n; i++) mask[i] = 1.0f;
    /* Exponential schedule: round k keeps density^(k/iters), so each round removes the same
     * fraction of what is left (Alg. 1, line 6); the last round hits density exactly. The kept
     * count never grows from one round to the next, which the -1 scores of pruned entries need. */
    for (int k = 1; k <= iters && st == SAL_OK; k++) {
        const double dk = k == iters ? density : pow(density, (double)k / iters);
        sal_sp_synflow_scores(m, w0, mask, ones, dl, score);
        if (scope == SAL_SCOPE_GLOBAL) {
            st = sal_mask_topk_global(p, score, dk, mask, err);
        } else {
            sal_layer_densities_uniform(p, dk, dens);
            st = sal_mask_topk_layers(p, score, dens, mask, err);
        }
    }
    memcpy(p->w, w0, n * sizeof *w0); /* bit-exact restore */
    sal_model_set_training(m, mode);
done:
    free(w0);
    free(score);
    free(ones);
    free(dl);
    free(dens);
    return st;
}
