/* model.h - the models (mlp, lenet5, cnn, linear, and the CIFAR ResNets) as a graph of layers
 * over one flat parameter buffer, with every activation, gradient and scratch buffer planned
 * and allocated once for a maximum batch. */
#ifndef SALIENT_MODEL_H
#define SALIENT_MODEL_H

#include <stdint.h>

#include "salient/params.h"
#include "salient/status.h"

typedef enum sal_arch {
    SAL_ARCH_MLP,    /* LeNet-300-100: 784-300-100-10 (input flattened) */
    SAL_ARCH_LENET5, /* conv6@5x5 pad2, pool, conv16@5x5, pool, fc120, fc84, fc10 */
    SAL_ARCH_CNN,    /* 3 x (conv3x3 pad1 + relu + pool2) with 32/64/64 channels, fc256, fc10 */
    SAL_ARCH_LINEAR, /* multinomial logistic regression: flatten, fc (c*h*w -> classes); convex */
    /* The CIFAR ResNets of SSFL's reference code (riohib/SSFL api/model/resnet.py): 3x3 stem
     * conv with no max-pool, stages of residual blocks whose first block strides 2 (but the
     * first stage's), 1x1 conv + norm shortcuts where the shape changes, global average
     * pooling, `linear` head; convolutions without bias. docs/architecture.md draws them. */
    SAL_ARCH_RESNET20, /* He et al.'s CIFAR ResNet: 16/32/64 channels, 3 BasicBlocks a stage */
    SAL_ARCH_RESNET18, /* 64..512 channels, BasicBlock [2, 2, 2, 2] */
    SAL_ARCH_RESNET50  /* 64..512 (x4) channels, Bottleneck [3, 4, 6, 3] */
} sal_arch;

/* The normalisation of the ResNets (the small models have none). */
typedef enum sal_norm {
    SAL_NORM_GROUP, /* GroupNorm(min(32, C), C), as SSFL's code: no state, no batch coupling */
    SAL_NORM_BATCH, /* BatchNorm2d: batch statistics in training, running ones in evaluation */
    SAL_NORM_NONE   /* no normalisation layer (and no norm tensors): the plain ReLU ResNets for
                     * which RISOTTO's isometry is exact, and Fixup-style training without BN */
} sal_norm;

/* How sal_model_init draws the weights. */
typedef enum sal_init_scheme {
    SAL_INIT_KAIMING, /* PyTorch's default for Conv2d/Linear (see sal_model_init) */
    SAL_INIT_RISOTTO  /* RISOTTO (Gadhikar and Burkholz 2023): looks-linear, delta-orthogonal,
                       * residual and skip balanced; BasicBlock ResNets only (init_risotto.c) */
} sal_init_scheme;

typedef struct sal_model_spec {
    sal_arch arch;
    sal_norm norm;
    int c, h, w;   /* input shape */
    int classes;
    int max_batch; /* the largest batch a forward pass accepts */
    int threads;   /* OpenMP threads of this model's kernels ([run] threads; 0 = 1); results
                    * are bitwise the same for any count */
    sal_init_scheme init; /* what sal_model_init draws (0 = kaiming) */
    int input_grad;       /* 1: backward also writes the gradient of the input, read by
                           * sal_model_input_grad (Jacobians, saliency maps); 0: skipped */
} sal_model_spec;

typedef struct sal_model sal_model; /* opaque */

/* Build a model as spec says. Parameters are zero until sal_model_init or a copy into
 * sal_model_params(m)->w. Returns NULL with err filled (e.g. an input too small for the
 * architecture's pooling, or no memory for the planned buffers). */
sal_model *sal_model_create_spec(const sal_model_spec *spec, sal_err *err);
/* The same with norm = group. */
sal_model *sal_model_create(sal_arch arch, int c, int h, int w, int classes, int max_batch,
                            sal_err *err);
void sal_model_free(sal_model *m); /* accepts NULL */

/* The flat parameter/gradient/mask buffers; borrowed, valid until sal_model_free. */
sal_params *sal_model_params(sal_model *m);

/* Initialise the parameters as spec.init says, from stream (seed, INIT, id): bitwise the same
 * weights for the same seed. kaiming (id 0): PyTorch's default for Conv2d/Linear
 * (Kaiming-uniform with a = sqrt(5), i.e. weights and biases ~ U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in))). risotto (id 1): sal_model_init_risotto. Both: norm weights 1 and biases 0,
 * BatchNorm running mean 0, variance 1, batch count 0. */
void sal_model_init(sal_model *m, uint64_t seed);

/* RISOTTO's weights for a resnet20/resnet18 (init_risotto.c), whatever spec.init says; the
 * conv and linear biases 0. Returns SAL_ECONFIG (message naming [model] init) for another
 * architecture, SAL_ENOMEM without memory for its scratch matrices; the model is then
 * unchanged. sal_model_create_spec refuses spec.init = risotto where this would fail for the
 * architecture, so sal_model_init never meets that case. */
sal_status sal_model_init_risotto(sal_model *m, uint64_t seed, sal_err *err);

/* Training mode (1, the default) or evaluation mode (0), as torch's module.train()/eval(): only
 * BatchNorm differs (batch statistics and running updates vs the running statistics). Mode
 * SAL_MODE_PROBE (2) normalises with batch statistics but leaves the running statistics as
 * they are: saliency scores are computed on a model without changing it. */
#define SAL_MODE_PROBE 2
void sal_model_set_training(sal_model *m, int training);
int sal_model_training(const sal_model *m);

/* Forward pass on x (B, c, h, w) with labels y (B): returns the mean cross-entropy loss and, if
 * correct is non-NULL, the count of right argmax predictions. Keeps activations for backward. */
double sal_model_forward(sal_model *m, const float *x, const int *y, int B, int *correct);

/* Backward pass for the last forward: writes gradients into sal_model_params(m)->g. It consumes
 * the activations the forward saved (their memory is reused for gradients, as torch frees a
 * graph's saved tensors): a second backward needs a new forward. The logits stay valid. */
void sal_model_backward(sal_model *m);

/* Backward pass for the last forward from a given gradient of some scalar with respect to its
 * logits: dlogits is (B, classes) for that forward's B, borrowed (copied before use). Used by
 * SynFlow, whose objective is the sum of the logits rather than the loss. */
void sal_model_backward_from(sal_model *m, const float *dlogits);

/* Gradient of the last backward's scalar with respect to the input (B, c, h, w) of the last
 * forward, for a model created with spec.input_grad = 1 (NULL otherwise); borrowed, valid until
 * the next forward. */
const float *sal_model_input_grad(const sal_model *m);

/* Logits (B, classes) of the last forward; borrowed. */
const float *sal_model_logits(const sal_model *m);

/* The shape the model was created for: input (c, h, w), output classes and the largest batch
 * a forward pass accepts. */
void sal_model_input_shape(const sal_model *m, int *c, int *h, int *w);
int sal_model_classes(const sal_model *m);
int sal_model_max_batch(const sal_model *m);

/* Multiply-accumulates of one sample's forward pass (for GFLOP/s reports). */
double sal_model_forward_macs(const sal_model *m);
/* FLOPs of one sample's training step: forward, weight gradients, and input gradients of every
 * parameterised layer but the first (2 FLOPs per multiply-accumulate). */
double sal_model_train_flops(const sal_model *m);

/* Bytes of the planned activation and gradient arena, and what separate buffers would take. */
size_t sal_model_arena_bytes(const sal_model *m, size_t *unplanned);

const sal_model_spec *sal_model_get_spec(const sal_model *m);

/* Print the layer table (name, output shape, parameters) and the buffer bytes to f. */
void sal_model_describe(const sal_model *m, void *f);

#endif
