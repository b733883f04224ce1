/* optim.h - SGD with momentum and weight decay, with PyTorch's torch.optim.SGD semantics,
 * honouring the parameter mask, and the learning-rate schedules. */
#ifndef SALIENT_OPTIM_H
#define SALIENT_OPTIM_H

#include "salient/params.h"

typedef enum sal_lr_schedule { SAL_LR_CONSTANT, SAL_LR_STEP, SAL_LR_COSINE } sal_lr_schedule;

typedef struct sal_sgd {
    float lr, momentum, weight_decay;
    size_t n;
    float *buf; /* (n) momentum buffer, owned; NULL when momentum == 0 */
} sal_sgd;

/* Returns 0, or -1 if the momentum buffer cannot be allocated. */
int sal_sgd_init(sal_sgd *opt, size_t n, float lr, float momentum, float weight_decay);
void sal_sgd_free(sal_sgd *opt);
/* Zero the momentum buffer (a fresh optimizer, e.g. a client starting a new round). */
void sal_sgd_reset(sal_sgd *opt);

/* One step on p->w using p->g, as torch.optim.SGD (dampening 0, no Nesterov):
 *   d = g + wd * w;  buf = momentum * buf + d;  w -= lr * buf
 * then, when the mask is not dense, w *= mask (pruned weights stay exactly 0) with the masked
 * gradient used for d so that pruned entries keep a zero momentum buffer. */
void sal_sgd_step(sal_sgd *opt, sal_params *p);

/* Scale p->g so that its L2 norm over the trained (masked) entries is at most max_norm, as
 * torch.nn.utils.clip_grad_norm_ (coefficient max_norm / (norm + 1e-6), applied only when it is
 * below 1). Returns the norm before clipping. */
double sal_clip_grad_norm(sal_params *p, double max_norm);

/* Learning rate for round r (0-based) of `rounds`: constant; step: lr * gamma^floor(r / step);
 * cosine: lr * (1 + cos(pi * r / rounds)) / 2 (torch's CosineAnnealingLR, eta_min 0). */
double sal_lr_at(sal_lr_schedule kind, double lr, int r, int rounds, int step, double gamma);

#endif
