/* topk_ef.h - top-k gradient sparsification with error feedback (Deep Gradient Compression,
 * arXiv 1712.01887, sec. 3.1): what is not sent this step stays in a residual and is sent later. */
#ifndef SALIENT_TOPK_EF_H
#define SALIENT_TOPK_EF_H

#include <stddef.h>
#include <stdint.h>

#include "salient/status.h"

/* The residual accumulator of one vector of n floats (n <= UINT32_MAX), and selection scratch. */
typedef struct sal_topk_ef sal_topk_ef;

/* *out (owned by the caller, freed with sal_topk_ef_free, which accepts NULL) starts with a zero
 * residual. */
sal_status sal_topk_ef_create(size_t n, sal_topk_ef **out, sal_err *err);
void sal_topk_ef_free(sal_topk_ef *ef);

/* One step: acc += g (n); then exactly k (<= n) entries with the largest |acc|, ties to the
 * lower index, are emitted as idx (k, ascending: the sparse allreduce's input contract) and val
 * (k, the accumulated values, sign kept); and acc is zeroed there. So, per entry, the emitted
 * values plus the residual always equal the sum of the gradients (up to float rounding of
 * acc += g). SAL_ENUMERIC if an accumulated value is NaN or infinite (acc then holds it). */
sal_status sal_topk_ef_step(sal_topk_ef *ef, const float *g, size_t k, uint32_t *idx, float *val,
                            sal_err *err);

/* The residual acc (n), borrowed. */
const float *sal_topk_ef_residual(const sal_topk_ef *ef);
/* The residual, writable: for restoring it from a checkpoint. */
float *sal_topk_ef_residual_mut(sal_topk_ef *ef);
size_t sal_topk_ef_size(const sal_topk_ef *ef);

#endif
