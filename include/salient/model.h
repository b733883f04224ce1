/* model.h - the models (mlp, lenet5, cnn, linear) as a sequence of layers over one flat parameter
 * buffer, with every activation and scratch buffer allocated once for a maximum batch. */
#ifndef SALIENT_MODEL_H
#define SALIENT_MODEL_H

#include <stdint.h>

#include "salient/params.h"
#include "salient/status.h"

typedef enum sal_arch {
    SAL_ARCH_MLP,    /* LeNet-300-100: 784-300-100-10 (input flattened) */
    SAL_ARCH_LENET5, /* conv6@5x5 pad2, pool, conv16@5x5, pool, fc120, fc84, fc10 */
    SAL_ARCH_CNN,    /* 3 x (conv3x3 pad1 + relu + pool2) with 32/64/64 channels, fc256, fc10 */
    SAL_ARCH_LINEAR  /* multinomial logistic regression: flatten, fc (c*h*w -> classes); convex */
} sal_arch;

typedef struct sal_model sal_model; /* opaque */

/* Build a model for inputs (c, h, w) and `classes` outputs, able to run batches up to max_batch.
 * Parameters are zero until sal_model_init or a copy into sal_model_params(m)->w.
 * Returns NULL with err filled (e.g. an input too small for lenet5's pooling). */
sal_model *sal_model_create(sal_arch arch, int c, int h, int w, int classes, int max_batch,
                            sal_err *err);
void sal_model_free(sal_model *m); /* accepts NULL */

/* The flat parameter/gradient/mask buffers; borrowed, valid until sal_model_free. */
sal_params *sal_model_params(sal_model *m);

/* PyTorch's default initialisation for Conv2d/Linear (Kaiming-uniform with a = sqrt(5), i.e.
 * weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))), drawn from stream (seed, INIT). */
void sal_model_init(sal_model *m, uint64_t seed);

/* Forward pass on x (B, c, h, w) with labels y (B): returns the mean cross-entropy loss and, if
 * correct is non-NULL, the count of right argmax predictions. Keeps activations for backward. */
double sal_model_forward(sal_model *m, const float *x, const int *y, int B, int *correct);

/* Backward pass for the last forward: writes gradients into sal_model_params(m)->g. */
void sal_model_backward(sal_model *m);

/* Backward pass for the last forward from a given gradient of some scalar with respect to its
 * logits: dlogits is (B, classes) for that forward's B, borrowed (copied before use). Used by
 * SynFlow, whose objective is the sum of the logits rather than the loss. */
void sal_model_backward_from(sal_model *m, const float *dlogits);

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

/* Print the layer table (name, output shape, parameters) to f. */
void sal_model_describe(const sal_model *m, void *f);

#endif
