/* graph.h - the model as a graph of layer nodes over values (activations), private to engine/.
 * A flat list of nodes in execution order, each naming the values it reads, as darknet's
 * `shortcut` layer names an earlier output: a list that is still a graph. arch.c builds the
 * lists, plan.c places every buffer, model.c runs them. */
#ifndef SALIENT_ENGINE_GRAPH_H
#define SALIENT_ENGINE_GRAPH_H

#include <stddef.h>

#include "salient/layers.h"
#include "salient/model.h"
#include "salient/params.h"

typedef enum {
    OP_CONV, OP_LINEAR, OP_RELU, OP_MAXPOOL, OP_AVGPOOL, OP_FLATTEN, OP_GN, OP_BN, OP_ADD
} sal_op;

/* An activation: per-sample shape (c, h, w), the node that writes it (-1: the model input). */
typedef struct sal_value {
    int c, h, w;
    int producer;
    int nuse;       /* input slots that read it */
    int alias;      /* value whose forward buffer this one is (in-place relu, flatten), or -1 */
    int galias;     /* value whose gradient buffer this one's gradient is, or -1 */
    int needs_grad; /* some parameter lies upstream: backward must produce its gradient */
    size_t off, goff; /* byte offsets of the forward and gradient buffers in the arena */
    float *buf;     /* (B, c, h, w) borrowed from the arena (or the model's input copy) */
    float *grad;    /* (B, c, h, w) borrowed from the arena; NULL when !needs_grad */
} sal_value;

typedef struct sal_node {
    sal_op op;
    char name[SAL_NAME_MAX]; /* module prefix of its tensors, e.g. "layer2.0.shortcut.0" */
    int in[2], nin, out;     /* value ids */
    int acc[2];              /* add into in[k]'s gradient (another reader wrote it first) */
    int wt, bt;              /* trainable tensors (weight, bias), -1 if none */
    int rm, rv, nbt;         /* BatchNorm state tensors, -1 otherwise */
    sal_conv_shape conv;
    int k;                   /* max-pool window */
    int groups;              /* GroupNorm groups */
    float *mean, *rstd;      /* (B, groups) or (C) statistics saved for backward; owned */
} sal_node;

struct sal_model {
    sal_model_spec spec;
    int training;            /* BatchNorm: batch statistics and running updates */
    int nnodes, ncap, nvalues, vcap;
    sal_node *nodes;
    sal_value *values;
    sal_params params;
    int batch;
    const int *y;            /* labels of the last forward, borrowed */
    float *x;                /* (max_batch, c, h, w) copy of the input batch: value 0 */
    float *probs;            /* (max_batch, classes) softmax of the logits */
    void *arena;             /* every other activation and gradient, placed by plan.c */
    size_t arena_bytes, naive_bytes;
    float *scratch;          /* conv im2col scratch, the largest any conv needs */
    double *part;            /* GroupNorm backward partial sums, the largest any needs */
    double macs, train_macs; /* per-sample forward, and forward + backward, multiply-adds */
    int build_failed;
    char build_msg[160];
};

/* ---- builders (arch.c); each returns the new value's id, or -1 after recording why ---- */
int sal_g_conv(sal_model *m, const char *name, int in, int O, int K, int stride, int pad,
               int bias);
int sal_g_linear(sal_model *m, const char *name, int in, int O);
int sal_g_norm(sal_model *m, const char *name, int in); /* GroupNorm or BatchNorm by spec */
int sal_g_relu(sal_model *m, int in);
int sal_g_maxpool(sal_model *m, int in, int k);
int sal_g_avgpool(sal_model *m, int in);
int sal_g_flatten(sal_model *m, int in);
int sal_g_add(sal_model *m, int a, int b);

/* ---- initialisation (model.c, init_risotto.c) ---- */
/* Norm weights 1 and biases 0, BatchNorm state (0, 1, 0): what every scheme shares. */
void sal_model_init_norms(sal_model *m);
/* The one line that refuses [model] init = risotto for an architecture it does not cover. */
extern const char sal_risotto_unsupported[];

/* Append the nodes of spec.arch (arch.c). 0, or -1 with m->build_msg set. */
int sal_arch_build(sal_model *m);

/* Decide aliases, gradient needs and accumulation, and place every buffer in one arena by
 * lifetime (plan.c). 0, or -1 when out of memory. */
int sal_plan(sal_model *m);

#endif
