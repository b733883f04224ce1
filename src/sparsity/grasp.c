/* grasp.c - GraSP scores (Wang, Zhang, Grosse, "Picking winning tickets before training by
 * preserving gradient flow", ICLR 2020): w * Hg with Hg from differences of gradients. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "salient/sparsity.h"
#include "sparsity/sparsity_internal.h"

/* Step of the difference, relative to ||w|| (prunable weights). The loss of a ReLU/max-pool
 * network is only piecewise twice differentiable: a step that moves some pre-activation across
 * 0 (or swaps a pool's maximum) makes the gradient jump, and the jump divided by the step swamps
 * Hg. torch's double-backward (the reference in tests/fixtures) holds those switches fixed, as
 * does the paper's derivation. The number of switches grows linearly with the step, so the step
 * is as small as float rounding allows: w + eps v is rounded to float, a direction error of
 * about 3e-8 ||w|| / eps, and the float gradients carry ~1e-7 relative noise that the
 * difference divides by eps. Against the fixtures (8 samples, LeNet-5 and LeNet-300-100; the
 * worst case, as each switch weighs 1/samples), relative L2 errors of Hg were: 1e-7: 5e-2,
 * 1e-6: 4e-3, 2e-6: 1.6e-3, 4e-6: 1.2e-3 and 16 on the MLP (a switch), 1e-3: 2.
 * KINK_TOL handles the rare entry whose difference still crosses a switch (below). */
#define GRASP_STEP_REL 2e-6
#define KINK_TOL 0.3

double sal_sp_grasp_hv(double gm, double g0, double gp, double eps, double scale) {
    /* Central difference, unless the two one-sided ones disagree by far more than smoothness
     * allows: then one side crossed a switch, whose jump (~1/eps) makes its difference the
     * larger one, and the other side is the Hessian with the switches of w, the one wanted. */
    const double dp = (gp - g0) / eps, dm = (g0 - gm) / eps, c = 0.5 * (dp + dm);
    if (fabs(dp - dm) > KINK_TOL * (fabs(c) + scale)) return fabs(dp) < fabs(dm) ? dp : dm;
    return c;
}

sal_status sal_score_grasp(sal_model *m, const sal_dataset *ds, const int *ids, int nids, int batch,
                           const sal_augment *aug, float *x, int *y, float *score, sal_err *err) {
    sal_params *p = sal_model_params(m);
    const size_t n = p->n;
    /* gradients at w, w + eps v and w - eps v, summed in double: the differences cancel most
     * of their digits */
    float *w0 = malloc(n * sizeof *w0);
    double *g0 = calloc(n, sizeof *g0), *gp = calloc(n, sizeof *gp), *gm = calloc(n, sizeof *gm);
    if (!w0 || !g0 || !gp || !gm) {
        free(w0), free(g0), free(gp), free(gm);
        return sal_fail(err, SAL_ENOMEM, "grasp: out of memory for %zu parameters", n);
    }
    memcpy(w0, p->w, n * sizeof *w0);
    sal_sp_accum_mean_grad(m, ds, ids, nids, aug, batch, x, y, 1.0, NULL, g0);

    /* As in the reference code (alecwangcq/GraSP, GraSP.py), only conv/linear weights take part:
     * g is the gradient w.r.t. the weights and H the weights' Hessian block, biases stay put. */
    double gn = 0, wn = 0;
    for (int t = 0; t < p->ntensors; t++) {
        if (!p->t[t].prunable) continue;
        const size_t o = p->t[t].offset;
        for (size_t i = 0; i < p->t[t].numel; i++)
            gn += g0[o + i] * g0[o + i], wn += (double)w0[o + i] * w0[o + i];
    }
    gn = sqrt(gn), wn = sqrt(wn);
    for (size_t i = 0; i < n; i++) score[i] = 0.0f; /* also the answer for g = 0: no flow */
    if (!isfinite(gn)) {
        memcpy(p->w, w0, n * sizeof *w0);
        free(w0), free(g0), free(gp), free(gm);
        return sal_fail(err, SAL_ENUMERIC,
                        "grasp: the loss gradient at the initial weights is "
                        "not finite");
    }
    const double eps = GRASP_STEP_REL * (wn > 0 ? wn : 1.0);
    if (gn > 0) {
        /* Hv for v = g/||g||, then Hg = ||g|| Hv. */
        for (int sign = 1; sign >= -1; sign -= 2) {
            const double step = sign * eps / gn;
            for (int t = 0; t < p->ntensors; t++) {
                if (!p->t[t].prunable) continue;
                const size_t o = p->t[t].offset;
                for (size_t i = 0; i < p->t[t].numel; i++)
                    p->w[o + i] = (float)(w0[o + i] + step * g0[o + i]);
            }
            sal_sp_accum_mean_grad(m, ds, ids, nids, aug, batch, x, y, 1.0, NULL,
                                   sign > 0 ? gp : gm);
        }
        memcpy(p->w, w0, n * sizeof *w0); /* bit-exact restore */
    }
    double rms = 0;
    size_t np = 0;
    for (int t = 0; t < p->ntensors && gn > 0; t++) {
        if (!p->t[t].prunable) continue;
        const size_t o = p->t[t].offset;
        for (size_t i = 0; i < p->t[t].numel; i++) {
            const double c = (gp[o + i] - gm[o + i]) / (2 * eps);
            rms += c * c;
        }
        np += p->t[t].numel;
    }
    rms = sqrt(rms / (double)(np ? np : 1));
    for (int t = 0; t < p->ntensors && gn > 0; t++) {
        if (!p->t[t].prunable) continue;
        const size_t o = p->t[t].offset;
        for (size_t i = 0; i < p->t[t].numel; i++) {
            const size_t j = o + i;
            const double hv = sal_sp_grasp_hv(gm[j], g0[j], gp[j], eps, rms);
            /* Keep-score w * Hg = -S, GraSP's removal score S = -w * Hg (their eq. 8). No
             * temperature on the logits (the reference code divides them by T = 200): this is
             * the plain loss's Hessian, the quantity the paper's derivation is about. */
            score[j] = (float)(w0[j] * hv * gn);
        }
    }
    free(w0), free(g0), free(gp), free(gm);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(score[i]))
            return sal_fail(err, SAL_ENUMERIC,
                            "grasp: the Hessian-gradient product is not "
                            "finite (difference step %g)",
                            eps);
    return SAL_OK;
}
