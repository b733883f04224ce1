/* params.c - the flat parameter, gradient, mask and state buffers and their named views. */
#include "salient/params.h"

#include <stdlib.h>
#include <string.h>

/* Append a view to a growable table; returns its index or -1. */
static int add_view(sal_tensor **tab, int *count, int *cap, size_t *total, const char *name,
                    int ndim, const int *shape, int fan_in, int prunable, sal_init_kind init) {
    if (ndim < 1 || ndim > 4 || strlen(name) >= SAL_NAME_MAX) return -1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1) return -1;
    if (*count == *cap) {
        int ncap = *cap ? 2 * *cap : 32;
        sal_tensor *t = realloc(*tab, sizeof *t * (size_t)ncap);
        if (!t) return -1;
        *tab = t, *cap = ncap;
    }
    sal_tensor *t = &(*tab)[*count];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, strlen(name) + 1);
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    t->offset = *total;
    t->fan_in = fan_in;
    t->prunable = prunable;
    t->init = init;
    *total += t->numel;
    return (*count)++;
}

int sal_params_add(sal_params *p, const char *name, int ndim, const int *shape, int fan_in,
                   int prunable, sal_init_kind init) {
    return add_view(&p->t, &p->ntensors, &p->cap, &p->n, name, ndim, shape, fan_in, prunable,
                    init);
}

int sal_params_add_state(sal_params *p, const char *name, int ndim, const int *shape,
                         sal_init_kind init) {
    return add_view(&p->st, &p->nstate, &p->scap, &p->ns, name, ndim, shape, 1, 0, init);
}

static float *alloc_zeroed(size_t n) {
    /* 64-byte alignment: whole cache lines and aligned AVX-512 loads for the optimizer loops. */
    size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    float *x = aligned_alloc(64, bytes ? bytes : 64);
    if (x) memset(x, 0, bytes ? bytes : 64);
    return x;
}

int sal_params_alloc(sal_params *p) {
    p->w = alloc_zeroed(p->n);
    p->g = alloc_zeroed(p->n);
    p->mask = alloc_zeroed(p->n);
    p->s = p->ns ? alloc_zeroed(p->ns) : NULL;
    if (!p->w || !p->g || !p->mask || (p->ns && !p->s)) {
        sal_params_free(p);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) p->mask[i] = 1.0f;
    p->dense = 1;
    return 0;
}

void sal_params_free(sal_params *p) {
    if (!p) return;
    free(p->w);
    free(p->g);
    free(p->mask);
    free(p->s);
    free(p->t);
    free(p->st);
    p->w = p->g = p->mask = p->s = NULL;
    p->t = p->st = NULL;
    p->ntensors = p->cap = p->nstate = p->scap = 0;
}

int sal_params_find(const sal_params *p, const char *name) {
    for (int i = 0; i < p->ntensors; i++)
        if (!strcmp(p->t[i].name, name)) return i;
    return -1;
}

int sal_params_find_state(const sal_params *p, const char *name) {
    for (int i = 0; i < p->nstate; i++)
        if (!strcmp(p->st[i].name, name)) return i;
    return -1;
}

size_t sal_params_nnz(const sal_params *p) {
    size_t nnz = 0;
    for (size_t i = 0; i < p->n; i++) nnz += p->mask[i] != 0.0f;
    return nnz;
}
