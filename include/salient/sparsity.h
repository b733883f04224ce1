/* sparsity.h - pruning at initialisation: per-weight scores (magnitude, SNIP, GraSP, SynFlow,
 * random), per-layer densities (uniform, ERK) and exact top-k masks over the flat buffers. */
#ifndef SALIENT_SPARSITY_H
#define SALIENT_SPARSITY_H

#include <stdint.h>
#include <stdio.h>

#include "salient/data.h"
#include "salient/model.h"
#include "salient/params.h"
#include "salient/status.h"

typedef enum sal_sparsity_method {
    SAL_SPARSE_NONE,      /* dense */
    SAL_SPARSE_RANDOM,    /* uniform random, the same density in every layer (ER per layer) */
    SAL_SPARSE_ERK,       /* random with Erdos-Renyi-Kernel layer densities (RigL, Evci 2020) */
    SAL_SPARSE_MAGNITUDE, /* |w| at initialisation */
    SAL_SPARSE_SNIP,      /* |dL/dw * w| (Lee et al. 2019); aggregated over clients = SSFL */
    SAL_SPARSE_GRASP,     /* w * Hg, gradient-flow preservation (Wang et al. 2020) */
    SAL_SPARSE_SYNFLOW    /* iterative synaptic flow, data-free (Tanaka et al. 2020) */
} sal_sparsity_method;

typedef enum sal_sparsity_scope { SAL_SCOPE_GLOBAL, SAL_SCOPE_LAYERWISE } sal_sparsity_scope;

/* Scores: larger = more worth keeping. Arrays are (p->n), aligned with the flat parameter
 * buffer; entries of tensors that are not prunable (biases) are written as 0 and ignored. */

/* score = |w|. */
void sal_score_magnitude(const sal_params *p, float *score);

/* score ~ U(0,1) from stream (seed, SAL_STREAM_MASK, 0): random pruning's ranking. */
void sal_score_random(const sal_params *p, uint64_t seed, float *score);

/* SNIP: score = |g * w| with g the gradient of the mean loss over samples ids[0..nids) of ds,
 * processed in minibatches of at most `batch` (x, y: caller's buffers for one batch), augmented
 * by aug (NULL: not; sample k of ids draws aug->first + k), as the reference scores on batches
 * from its training loader. The model's weights are left unchanged; its gradient buffer is
 * overwritten. */
void sal_score_snip(sal_model *m, const sal_dataset *ds, const int *ids, int nids, int batch,
                    const sal_augment *aug, float *x, int *y, float *score);

/* GraSP: score = w * (H g), the negation of GraSP's removal score -w*Hg, so that keeping the
 * largest scores removes GraSP's largest. g and the Hessian-gradient product are those of the
 * mean loss over ids as above, over the prunable weights (biases held fixed, as in the reference
 * code); Hg is a central finite difference of gradients along g (three gradient passes over
 * ids). The weights are restored bit for bit; the gradient buffer is overwritten. Fails with
 * SAL_ENOMEM (two work buffers of p->n) or SAL_ENUMERIC (a non-finite gradient). */
sal_status sal_score_grasp(sal_model *m, const sal_dataset *ds, const int *ids, int nids,
                           int batch, const sal_augment *aug, float *x, int *y, float *score,
                           sal_err *err);

/* SynFlow: `iters` rounds of scoring |dR/dw * w| with R = sum of the logits of the network with
 * |w| (masked) on an all-ones input, pruning to density^(k/iters) at round k (Tanaka et al.
 * 2020, Algorithm 1). Writes the final mask (p->n; non-prunable entries 1). The model's weights
 * are restored before returning. */
sal_status sal_mask_synflow(sal_model *m, double density, sal_sparsity_scope scope, int iters,
                            float *mask, sal_err *err);

/* Per-tensor densities (p->ntensors; non-prunable tensors get 1): every prunable tensor gets
 * `density` (uniform), or ERK densities proportional to (sum of dims) / (product of dims),
 * scaled so that kept weights total round(density * prunable), tensors capped at 1. */
void sal_layer_densities_uniform(const sal_params *p, double density, double *dens);
sal_status sal_layer_densities_erk(const sal_params *p, double density, double *dens,
                                   sal_err *err); /* SAL_ENOMEM only */

/* Exact top-k masks. Ranking is by score, larger first; ties go to the lower flat index, so the
 * mask is a deterministic function of the scores. Non-prunable entries get 1.
 *   global:    k = round(density * (prunable weights)) over all prunable tensors together;
 *   per layer: k_t = round(dens[t] * numel_t) in each prunable tensor t, at least 1.
 * Non-finite scores are an error (SAL_ENUMERIC). mask is (p->n) floats of 0 or 1. */
sal_status sal_mask_topk_global(const sal_params *p, const float *score, double density,
                                float *mask, sal_err *err);
sal_status sal_mask_topk_layers(const sal_params *p, const float *score, const double *dens,
                                float *mask, sal_err *err);
/* The global top-k with k given (1 <= k <= prunable weights, else SAL_EINVAL): the count
 * itself, for callers that must keep an exact number (schedule.h's prunes). */
sal_status sal_mask_topk_count(const sal_params *p, const float *score, size_t k, float *mask,
                               sal_err *err);

/* Kept / total of each tensor as "name  kept/numel  density" lines. */
void sal_mask_print(const sal_params *p, const float *mask, FILE *f);
/* The same as CSV (tensor,numel,kept,density) written atomically to path. */
sal_status sal_mask_write_csv(const sal_params *p, const float *mask, const char *path,
                              sal_err *err);

#endif
