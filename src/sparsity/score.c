/* score.c - the simple pruning-at-initialisation scores: magnitude, random and SNIP
 * (Lee, Ajanthan, Torr, "SNIP: single-shot network pruning based on connection sensitivity",
 * ICLR 2019), and the mean-gradient pass that SNIP and GraSP share. */
#include <math.h>

#include "salient/rng.h"
#include "salient/sparsity.h"
#include "sparsity/sparsity_internal.h"

void sal_score_magnitude(const sal_params *p, float *score) {
    for (int t = 0; t < p->ntensors; t++) {
        const sal_tensor *tv = &p->t[t];
        const float *w = sal_params_w(p, t);
        float *s = score + tv->offset;
        for (size_t i = 0; i < tv->numel; i++) s[i] = tv->prunable ? fabsf(w[i]) : 0.0f;
    }
}

void sal_score_random(const sal_params *p, uint64_t seed, float *score) {
    /* One stream for the whole model, drawn in flat order over prunable entries only, so that a
     * bias added or removed elsewhere does not reshuffle the weights' ranking. Float rounding
     * can make two draws equal; the top-k then prefers the lower index, still deterministic. */
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_MASK, 0);
    for (int t = 0; t < p->ntensors; t++) {
        const sal_tensor *tv = &p->t[t];
        float *s = score + tv->offset;
        for (size_t i = 0; i < tv->numel; i++)
            s[i] = tv->prunable ? (float)sal_rng_uniform(&r) : 0.0f;
    }
}

void sal_sp_accum_mean_grad(sal_model *m, const sal_dataset *ds, const int *ids, int nids,
                            const sal_augment *aug, int batch, float *x, int *y, double scale,
                            float *acc_f, double *acc_d) {
    const sal_params *p = sal_model_params(m);
    if (batch > sal_model_max_batch(m)) batch = sal_model_max_batch(m);
    if (batch < 1 || nids < 1) return;
    /* Batch statistics, as the training that follows sees them, but no running update: a score
     * leaves the model it probes as it was. */
    const int mode = sal_model_training(m);
    if (mode == 1) sal_model_set_training(m, SAL_MODE_PROBE); /* eval mode stays eval */
    for (int b0 = 0; b0 < nids; b0 += batch) {
        int b = nids - b0 < batch ? nids - b0 : batch;
        sal_augment a = aug ? *aug : (sal_augment){.kind = SAL_AUG_NONE};
        a.first += (uint64_t)b0;
        sal_dataset_batch_aug(ds, ids + b0, b, &a, x, y);
        sal_model_forward(m, x, y, b, NULL);
        sal_model_backward(m);
        /* backward gives the gradient of this batch's mean; b / nids makes it a share of the
         * mean over all samples, whatever the size of the last, partial batch. */
        const double wgt = scale * b / nids;
        const float *g = p->g;
        if (acc_f) {
            const float wf = (float)wgt;
            for (size_t i = 0; i < p->n; i++) acc_f[i] += wf * g[i];
        } else {
            for (size_t i = 0; i < p->n; i++) acc_d[i] += wgt * g[i];
        }
    }
    sal_model_set_training(m, mode);
}

void sal_score_snip(sal_model *m, const sal_dataset *ds, const int *ids, int nids, int batch,
                    const sal_augment *aug, float *x, int *y, float *score) {
    const sal_params *p = sal_model_params(m);
    /* The score buffer doubles as the gradient accumulator: no allocation, nothing to fail. */
    for (size_t i = 0; i < p->n; i++) score[i] = 0.0f;
    sal_sp_accum_mean_grad(m, ds, ids, nids, aug, batch, x, y, 1.0, score, NULL);
    /* Connection sensitivity |dL/dc| at c = 1 for w*c equals |g * w| (Lee et al. 2019, eq. 6).
     * Their normalisation by the sum of all scores does not change the ranking, so it is left
     * out; a caller that averages scores over clients can normalise each client's first. */
    for (int t = 0; t < p->ntensors; t++) {
        const sal_tensor *tv = &p->t[t];
        const float *w = sal_params_w(p, t);
        float *s = score + tv->offset;
        for (size_t i = 0; i < tv->numel; i++) s[i] = tv->prunable ? fabsf(s[i] * w[i]) : 0.0f;
    }
}
