/* params.h - one flat buffer for all parameters, one for their gradients, one for the mask,
 * a second flat buffer for non-trainable state (BatchNorm running statistics), and tables of
 * named views into them (after llm.c). Masks, packing, averaging and checkpoints are loops over
 * one array, not over a list of tensors. The tables grow as a model is built: no fixed limit. */
#ifndef SALIENT_PARAMS_H
#define SALIENT_PARAMS_H

#include <stddef.h>

/* Longest tensor name, terminator included: "layer4.2.shortcut.1.num_batches_tracked" is 40. */
#define SAL_NAME_MAX 64

/* How sal_model_init fills a tensor (PyTorch's defaults for the module that owns it). */
typedef enum sal_init_kind {
    SAL_INIT_FANIN, /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)): Conv2d/Linear weight and bias */
    SAL_INIT_ONE,   /* norm weight (gamma), BatchNorm running_var */
    SAL_INIT_ZERO   /* norm bias (beta), running_mean, num_batches_tracked */
} sal_init_kind;

/* A named view into a flat buffer; shapes follow PyTorch (Linear: (out, in); Conv2d: OIHW). */
typedef struct sal_tensor {
    char name[SAL_NAME_MAX]; /* PyTorch state_dict key, e.g. "layer2.0.shortcut.0.weight" */
    int ndim;
    int shape[4];
    size_t offset;           /* first element in the flat buffer */
    size_t numel;
    int fan_in;              /* inputs per output unit (Kaiming-uniform bound 1/sqrt(fan_in)) */
    int prunable;            /* 1 for conv/linear weights, 0 for biases and norms (kept dense) */
    sal_init_kind init;
} sal_tensor;

typedef struct sal_params {
    size_t n;       /* total trainable parameters */
    float *w;       /* (n) weights, owned */
    float *g;       /* (n) gradients of the last backward, owned */
    float *mask;    /* (n) 1 = trained and communicated, 0 = pruned (held at exactly 0); owned */
    int dense;      /* 1 while the mask is all ones: lets the optimizer skip the multiply */
    int ntensors, cap;
    sal_tensor *t;  /* (ntensors) views into w/g/mask, owned */
    /* Non-trainable state: never masked, never pruned, no gradient; travels with the model
     * (averaged by FedAvg, mixed by gossip, checkpointed) and is counted in bytes moved.
     * BatchNorm's num_batches_tracked is stored as a float (exact to 2^24 batches). */
    size_t ns;      /* total state floats (0 for models without BatchNorm) */
    float *s;       /* (ns) owned; NULL when ns == 0 */
    int nstate, scap;
    sal_tensor *st; /* (nstate) views into s, owned */
} sal_params;

/* Append a trainable tensor view (before sal_params_alloc). Returns its index, or -1 on a bad
 * shape, a name longer than SAL_NAME_MAX - 1, or out of memory. */
int sal_params_add(sal_params *p, const char *name, int ndim, const int *shape, int fan_in,
                   int prunable, sal_init_kind init);
/* Append a state tensor view (before sal_params_alloc); same returns. */
int sal_params_add_state(sal_params *p, const char *name, int ndim, const int *shape,
                         sal_init_kind init);
/* Allocate and zero w, g, s and set mask to all ones, once all views are added. 0 on success. */
int sal_params_alloc(sal_params *p);
void sal_params_free(sal_params *p); /* frees the buffers and tables; p itself is the caller's */

static inline float *sal_params_w(const sal_params *p, int t) { return p->w + p->t[t].offset; }
static inline float *sal_params_g(const sal_params *p, int t) { return p->g + p->t[t].offset; }
static inline float *sal_params_s(const sal_params *p, int t) { return p->s + p->st[t].offset; }

/* Index of the trainable tensor called name, or -1. */
int sal_params_find(const sal_params *p, const char *name);
/* Index of the state tensor called name, or -1. */
int sal_params_find_state(const sal_params *p, const char *name);

/* Count of mask entries equal to 1 (the density numerator). */
size_t sal_params_nnz(const sal_params *p);

#endif
