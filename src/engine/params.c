/* params.c - the flat parameter, gradient and mask buffers and their named views. */
#include "salient/params.h"

#include <stdlib.h>
#include <string.h>

int sal_params_add(sal_params *p, const char *name, int ndim, const int *shape, int fan_in,
                   int prunable) {
    if (p->ntensors >= SAL_MAX_TENSORS || ndim < 1 || ndim > 4) return -1;
    sal_tensor *t = &p->t[p->ntensors];
    memset(t, 0, sizeof *t);
    strncpy(t->name, name, SAL_NAME_MAX - 1);
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    t->offset = p->n;
    t->fan_in = fan_in;
    t->prunable = prunable;
    p->n += t->numel;
    return p->ntensors++;
}

int sal_params_alloc(sal_params *p) {
    /* 64-byte alignment: whole cache lines and aligned AVX-512 loads for the optimizer loops. */
    size_t bytes = ((p->n * sizeof(float) + 63) / 64) * 64;
    p->w = aligned_alloc(64, bytes);
    p->g = aligned_alloc(64, bytes);
    p->mask = aligned_alloc(64, bytes);
    if (!p->w || !p->g || !p->mask) {
        sal_params_free(p);
        return -1;
    }
    memset(p->w, 0, bytes);
    memset(p->g, 0, bytes);
    for (size_t i = 0; i < p->n; i++) p->mask[i] = 1.0f;
    p->dense = 1;
    return 0;
}

void sal_params_free(sal_params *p) {
    if (!p) return;
    free(p->w);
    free(p->g);
    free(p->mask);
    p->w = p->g = p->mask = NULL;
}

int sal_params_find(const sal_params *p, const char *name) {
    for (int i = 0; i < p->ntensors; i++)
        if (!strcmp(p->t[i].name, name)) return i;
    return -1;
}

size_t sal_params_nnz(const sal_params *p) {
    size_t nnz = 0;
    for (size_t i = 0; i < p->n; i++) nnz += p->mask[i] != 0.0f;
    return nnz;
}
