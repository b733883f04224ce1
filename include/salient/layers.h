/* layers.h - forward and backward kernels of the layers, as plain functions over explicit
 * buffers (after llm.c). Activations are NCHW, conv weights OIHW, linear weights (out, in),
 * as in PyTorch. Backward functions WRITE (not accumulate) parameter gradients: every parameter
 * belongs to exactly one layer, so no gradient zeroing pass is needed. No allocation inside. */
#ifndef SALIENT_LAYERS_H
#define SALIENT_LAYERS_H

#include <stddef.h>

/* out (B, nout) = in (B, nin) @ w^T (nin, nout) + b (nout) */
void sal_linear_forward(float *out, const float *in, const float *w, const float *b, int B,
                        int nin, int nout);
/* dw (nout, nin), db (nout); din (B, nin) may be NULL (first layer). */
void sal_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                         const float *w, int B, int nin, int nout);

/* 2-D convolution geometry (square kernel, same stride and padding in both directions). */
typedef struct sal_conv_shape {
    int C, H, W;   /* input channels and size */
    int O, K;      /* output channels, kernel size */
    int stride, pad;
    int OH, OW;    /* output size: (H + 2 pad - K) / stride + 1 */
    int group;     /* samples per im2col GEMM (chosen so the column buffer stays in L2) */
} sal_conv_shape;

/* Fill OH, OW and group. Returns 0, or -1 if the output would be empty. */
int sal_conv_shape_init(sal_conv_shape *s, int C, int H, int W, int O, int K, int stride,
                        int pad);
/* Floats of scratch the conv kernels need: column buffer plus GEMM staging, for s->group. */
size_t sal_conv_scratch_floats(const sal_conv_shape *s);

/* out (B, O, OH, OW) = conv(in (B, C, H, W), w (O, C, K, K)) + b (O). scratch: see above. */
void sal_conv2d_forward(float *out, const float *in, const float *w, const float *b, int B,
                        const sal_conv_shape *s, float *scratch);
/* dw (O, C, K, K), db (O); din (B, C, H, W) may be NULL (first layer). */
void sal_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                         const float *w, int B, const sal_conv_shape *s, float *scratch);

/* Max pooling, window k, stride k (non-overlapping), floor mode as PyTorch's default.
 * out (B, C, H/k, W/k). Backward routes each output's gradient to the first input of its window
 * equal to the output (torch's choice among ties) and needs the forward's in and out. */
void sal_maxpool2d_forward(float *out, const float *in, int B, int C, int H, int W, int k);
void sal_maxpool2d_backward(float *din, const float *dout, const float *in, const float *out,
                            int B, int C, int H, int W, int k);

/* In place: x = max(x, 0). Backward uses the output: dx *= (y > 0). */
void sal_relu_forward(float *x, size_t n);
void sal_relu_backward(float *dx, const float *y, size_t n);

/* Mean softmax cross-entropy over the batch. probs (B, K) receives the softmax.
 * Returns the mean loss; also counts correct argmax predictions into *correct if non-NULL. */
double sal_xent_forward(float *probs, const float *logits, const int *y, int B, int K,
                        int *correct);
/* dlogits (B, K) = (probs - onehot(y)) / B */
void sal_xent_backward(float *dlogits, const float *probs, const int *y, int B, int K);

#endif
