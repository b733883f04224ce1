/* sparsity_internal.h - helpers shared by the files of src/sparsity/ and exposed to
 * tests/test_sparsity.c (which checks SynFlow's scores against PyTorch); not a public API. */
#ifndef SALIENT_SPARSITY_INTERNAL_H
#define SALIENT_SPARSITY_INTERNAL_H

#include <stddef.h>

#include "salient/data.h"
#include "salient/model.h"
#include "salient/params.h"

/* Adds scale * (gradient of the mean loss over samples ids[0..nids) of ds) to acc_f (floats) or,
 * when acc_f is NULL, to acc_d (doubles), for all p->n entries. Batches of at most `batch`
 * samples (clamped to the model's max batch) go through x and y, augmented by aug (NULL: none;
 * sample k of ids draws aug->first + k, so every pass over the same ids sees the same images);
 * each batch's gradient of its own mean is weighted by b / nids, so the sum is the mean over
 * all nids samples. */
void sal_sp_accum_mean_grad(sal_model *m, const sal_dataset *ds, const int *ids, int nids,
                            const sal_augment *aug, int batch, float *x, int *y, double scale,
                            float *acc_f, double *acc_d);

/* GraSP's estimate of one entry of Hv from gradients at w - eps v, w, w + eps v: the central
 * difference, or the smaller one-sided difference where the two sides disagree by more than
 * KINK_TOL (|central| + scale), i.e. where one side crossed a ReLU or max-pool switch. */
double sal_sp_grasp_hv(double gm, double g0, double gp, double eps, double scale);

/* One SynFlow scoring pass (Tanaka et al. 2020, eq. 2 with R = 1^T (prod |W_l|) 1): sets the
 * model's parameters to |w0| (times mask for prunable tensors), runs an all-ones input of batch
 * 1 (ones: c*h*w floats) forward and the all-ones logit gradient (dlogits: classes floats) back,
 * and writes score = |dR/dw * w| for prunable entries with mask 1, -1 for prunable entries with
 * mask 0 (below every live score, so a top-k never brings them back), 0 for the rest. The
 * model's weights are left at the |w0| * mask values: the caller restores them. */
void sal_sp_synflow_scores(sal_model *m, const float *w0, const float *mask, const float *ones,
                           const float *dlogits, float *score);

#endif
