/* layers.h - forward and backward kernels of the layers, as plain functions over explicit
 * buffers (after llm.c). Activations are NCHW, conv weights OIHW, linear weights (out, in),
 * as in PyTorch. Backward functions WRITE (not accumulate) parameter gradients: every parameter
 * belongs to exactly one layer, so no gradient zeroing pass is needed. Input gradients are
 * written, or added where `accumulate` is set: a tensor read by two layers (a residual block's
 * input) gets the sum of both. No allocation inside. */
#ifndef SALIENT_LAYERS_H
#define SALIENT_LAYERS_H

#include <stddef.h>

/* Elementwise loops shorter than this run on one thread: a parallel region costs a few
 * microseconds, more than 32K floats take to stream. */
#define SAL_PAR_MIN 32768

/* out (B, nout) = in (B, nin) @ w^T (nin, nout) + b (nout) */
void sal_linear_forward(float *out, const float *in, const float *w, const float *b, int B,
                        int nin, int nout);
/* dw (nout, nin), db (nout); din (B, nin) may be NULL (first layer), else written or added. */
void sal_linear_backward(float *din, int accumulate, float *dw, float *db, const float *dout, const float *in,
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

/* out (B, O, OH, OW) = conv(in (B, C, H, W), w (O, C, K, K)) + b (O); b may be NULL (no bias).
 * scratch: see above. */
void sal_conv2d_forward(float *out, const float *in, const float *w, const float *b, int B,
                        const sal_conv_shape *s, float *scratch);
/* dw (O, C, K, K), db (O) or NULL; din (B, C, H, W) may be NULL (first layer), else written or,
 * with accumulate, added to. */
void sal_conv2d_backward(float *din, int accumulate, float *dw, float *db, const float *dout,
                         const float *in, const float *w, int B, const sal_conv_shape *s,
                         float *scratch);
/* The same on `threads` OpenMP threads, with scratch holding threads x
 * sal_conv_scratch_floats(s). Work is split in pieces fixed by the shape (sample groups,
 * sample chunks x (output-channel block, input channel, kernel row) of dw, dw column tiles),
 * never by the thread count, and each output entry is summed by one thread: results are
 * bitwise the same for any thread count. */
void sal_conv2d_forward_mt(float *out, const float *in, const float *w, const float *b, int B,
                           const sal_conv_shape *s, float *scratch, int threads);
void sal_conv2d_backward_mt(float *din, int accumulate, float *dw, float *db, const float *dout,
                            const float *in, const float *w, int B, const sal_conv_shape *s,
                            float *scratch, int threads);

/* Max pooling, window k, stride k (non-overlapping), floor mode as PyTorch's default.
 * out (B, C, H/k, W/k). Backward routes each output's gradient to the first input of its window
 * equal to the output (torch's choice among ties) and needs the forward's in and out. */
void sal_maxpool2d_forward(float *out, const float *in, int B, int C, int H, int W, int k);
void sal_maxpool2d_backward(float *din, const float *dout, const float *in, const float *out,
                            int B, int C, int H, int W, int k);

/* y = max(x, 0), in place when y == x. Backward uses the output: dx = dy * (y > 0), in place
 * when dx == dy, else written or added (accumulate). */
void sal_relu_forward(float *y, const float *x, size_t n);
void sal_relu_backward(float *dx, int accumulate, const float *dy, const float *y, size_t n);

/* Global average pooling: out (B, C) = mean of in (B, C, HW) over HW; backward spreads
 * dout / HW over each plane (written or added). */
void sal_avgpool_forward(float *out, const float *in, int B, int C, int HW);
void sal_avgpool_backward(float *din, int accumulate, const float *dout, int B, int C, int HW);

/* out = a + b over n floats (out may be a or b). */
void sal_add_forward(float *out, const float *a, const float *b, size_t n);
/* dst = src or dst += src over n floats: an input gradient that passes through unchanged. */
void sal_grad_pass(float *dst, int accumulate, const float *src, size_t n);

/* GroupNorm (G groups of C/G channels) over x (B, C, HW): y = xhat gamma + beta per channel.
 * mean, rstd (B, G) are saved for backward. part: (B, C, 2) doubles of scratch. */
void sal_groupnorm_forward(float *y, float *mean, float *rstd, const float *x,
                           const float *gamma, const float *beta, int B, int C, int HW, int G,
                           float eps);
void sal_groupnorm_backward(float *dx, int accumulate, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *mean, const float *rstd,
                            const float *gamma, int B, int C, int HW, int G, double *part);

/* BatchNorm2d in training mode: batch statistics (mean, rstd (C) saved for backward), and the
 * running statistics updated (unbiased variance, momentum), *nbt += 1; momentum < 0 leaves the
 * running statistics and *nbt alone (a probe of the model, e.g. a saliency score). */
void sal_batchnorm_forward_train(float *y, float *mean, float *rstd, float *run_mean,
                                 float *run_var, float *nbt, const float *x, const float *gamma,
                                 const float *beta, int B, int C, int HW, float eps,
                                 float momentum);
/* BatchNorm2d in evaluation mode: normalised by the running statistics. */
void sal_batchnorm_forward_eval(float *y, const float *x, const float *run_mean,
                                const float *run_var, const float *gamma, const float *beta,
                                int B, int C, int HW, float eps);
/* Backward of the evaluation-mode forward: an affine map per channel (SynFlow's pass). */
void sal_batchnorm_backward_eval(float *dx, int accumulate, float *dgamma, float *dbeta,
                                 const float *dy, const float *x, const float *run_mean,
                                 const float *run_var, const float *gamma, int B, int C, int HW,
                                 float eps);
/* Backward of the training-mode forward (batch statistics). */
void sal_batchnorm_backward(float *dx, int accumulate, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *mean, const float *rstd,
                            const float *gamma, int B, int C, int HW);

/* Mean softmax cross-entropy over the batch. probs (B, K) receives the softmax.
 * Returns the mean loss; also counts correct argmax predictions into *correct if non-NULL. */
double sal_xent_forward(float *probs, const float *logits, const int *y, int B, int K,
                        int *correct);
/* dlogits (B, K) = (probs - onehot(y)) / B */
void sal_xent_backward(float *dlogits, const float *probs, const int *y, int B, int K);

#endif
