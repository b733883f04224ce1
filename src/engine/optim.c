/* optim.c - SGD (torch.optim.SGD semantics) and learning-rate schedules. */
#include "salient/optim.h"

#include "salient/layers.h" /* SAL_PAR_MIN */

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sal_sgd_init(sal_sgd *opt, size_t n, float lr, float momentum, float weight_decay) {
    memset(opt, 0, sizeof *opt);
    opt->lr = lr, opt->momentum = momentum, opt->weight_decay = weight_decay, opt->n = n;
    if (momentum != 0.0f) {
        opt->buf = calloc(n, sizeof(float));
        if (!opt->buf) return -1;
    }
    return 0;
}

void sal_sgd_free(sal_sgd *opt) {
    if (!opt) return;
    free(opt->buf);
    opt->buf = NULL;
}

void sal_sgd_reset(sal_sgd *opt) {
    if (opt->buf) memset(opt->buf, 0, opt->n * sizeof(float));
}

void sal_sgd_step(sal_sgd *opt, sal_params *p) {
    float *restrict w = p->w, *restrict g = p->g, *restrict buf = opt->buf;
    const float *restrict mask = p->mask;
    const float lr = opt->lr, mom = opt->momentum, wd = opt->weight_decay;
    const size_t n = p->n;
    /* torch initialises buf to d on the first step; with a zeroed buffer mom*0 + d is the same.
     * Elementwise, so splitting it over OpenMP threads cannot change a bit. */
    if (p->dense) {
        if (buf) {
#pragma omp parallel for schedule(static) if (n > SAL_PAR_MIN)
            for (size_t i = 0; i < n; i++) {
                float b = mom * buf[i] + (g[i] + wd * w[i]);
                buf[i] = b;
                w[i] -= lr * b;
            }
        } else {
#pragma omp parallel for schedule(static) if (n > SAL_PAR_MIN)
            for (size_t i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
        }
        return;
    }
#pragma omp parallel for schedule(static) if (n > SAL_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float d = (g[i] + wd * w[i]) * mask[i];
        float b = buf ? (buf[i] = mom * buf[i] + d) : d;
        w[i] = (w[i] - lr * b) * mask[i];
    }
}

double sal_clip_grad_norm(sal_params *p, double max_norm) {
    const float *restrict g = p->g, *restrict mask = p->mask;
    double ss = 0.0;
    if (p->dense)
        for (size_t i = 0; i < p->n; i++) ss += (double)g[i] * g[i];
    else
        for (size_t i = 0; i < p->n; i++) ss += (double)g[i] * g[i] * mask[i];
    double norm = sqrt(ss), coef = max_norm / (norm + 1e-6);
    if (coef < 1.0)
        for (size_t i = 0; i < p->n; i++) p->g[i] *= (float)coef;
    return norm;
}

double sal_lr_at(sal_lr_schedule kind, double lr, int r, int rounds, int step, double gamma) {
    switch (kind) {
    case SAL_LR_STEP: return lr * pow(gamma, (double)(r / (step > 0 ? step : 1)));
    case SAL_LR_COSINE:
        return rounds > 0 ? lr * 0.5 * (1.0 + cos(3.14159265358979323846 * r / rounds)) : lr;
    default: return lr;
    }
}
