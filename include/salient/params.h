/* params.h - one flat buffer for all parameters, one for their gradients, one for the mask,
 * and a table of named views into them (after llm.c). Masks, packing, averaging and
 * checkpoints are loops over one array, not over a list of tensors. */
#ifndef SALIENT_PARAMS_H
#define SALIENT_PARAMS_H

#include <stddef.h>

#define SAL_MAX_TENSORS 32
#define SAL_NAME_MAX 32

/* A named view into the flat buffers; shapes follow PyTorch (Linear: (out, in); Conv2d: OIHW). */
typedef struct sal_tensor {
    char name[SAL_NAME_MAX]; /* PyTorch state_dict name, e.g. "conv1.weight" */
    int ndim;
    int shape[4];
    size_t offset;           /* first element in the flat buffers */
    size_t numel;
    int fan_in;              /* inputs per output unit (Kaiming-uniform bound 1/sqrt(fan_in)) */
    int prunable;            /* 1 for conv/linear weights, 0 for biases (kept dense) */
} sal_tensor;

typedef struct sal_params {
    size_t n;       /* total parameters */
    float *w;       /* (n) weights, owned */
    float *g;       /* (n) gradients of the last backward, owned */
    float *mask;    /* (n) 1 = trained and communicated, 0 = pruned (held at exactly 0); owned */
    int dense;      /* 1 while the mask is all ones: lets the optimizer skip the multiply */
    int ntensors;
    sal_tensor t[SAL_MAX_TENSORS];
} sal_params;

/* Append a tensor view (before sal_params_alloc). Returns its index or -1 if the table is full. */
int sal_params_add(sal_params *p, const char *name, int ndim, const int *shape, int fan_in,
                   int prunable);
/* Allocate and zero w, g and set mask to all ones, once all views are added. 0 on success. */
int sal_params_alloc(sal_params *p);
void sal_params_free(sal_params *p);

static inline float *sal_params_w(const sal_params *p, int t) { return p->w + p->t[t].offset; }
static inline float *sal_params_g(const sal_params *p, int t) { return p->g + p->t[t].offset; }

/* Index of the tensor called name, or -1. */
int sal_params_find(const sal_params *p, const char *name);

/* Count of mask entries equal to 1 (the density numerator). */
size_t sal_params_nnz(const sal_params *p);

#endif
