/* kernels.h - the engine functions compiled once per instruction-set level (private to engine/).
 * conv2d.c, activations.c and norm.c are built three times (CMakeLists.txt: generic, avx2,
 * avx512), each copy with its public names suffixed (kernel_names.h); kernels.c defines the
 * public names as calls through the table of the level sal_isa_current() picked. */
#ifndef SALIENT_ENGINE_KERNELS_H
#define SALIENT_ENGINE_KERNELS_H

/* V(name, parameters, arguments) for a void function, R(type, name, parameters, arguments)
 * for one that returns a value. Adding a public function to one of the three files means adding
 * it here and in kernel_names.h; the linker refuses a build where the two lists disagree (an
 * undefined suffixed name, or one public name defined three times). */
#define SAL_KERNELS(V, R)                                                                        \
    V(sal_conv2d_forward,                                                                        \
      (float *out, const float *in, const float *w, const float *b, int B,                       \
       const sal_conv_shape *s, float *scratch),                                                 \
      (out, in, w, b, B, s, scratch))                                                            \
    V(sal_conv2d_forward_mt,                                                                     \
      (float *out, const float *in, const float *w, const float *b, int B,                       \
       const sal_conv_shape *s, float *scratch, int threads),                                    \
      (out, in, w, b, B, s, scratch, threads))                                                   \
    V(sal_conv2d_backward,                                                                       \
      (float *din, int accumulate, float *dw, float *db, const float *dout, const float *in,     \
       const float *w, int B, const sal_conv_shape *s, float *scratch),                          \
      (din, accumulate, dw, db, dout, in, w, B, s, scratch))                                     \
    V(sal_conv2d_backward_mt,                                                                    \
      (float *din, int accumulate, float *dw, float *db, const float *dout, const float *in,     \
       const float *w, int B, const sal_conv_shape *s, float *scratch, int threads),             \
      (din, accumulate, dw, db, dout, in, w, B, s, scratch, threads))                            \
    V(sal_relu_forward, (float *y, const float *x, size_t n), (y, x, n))                         \
    V(sal_relu_backward, (float *dx, int accumulate, const float *dy, const float *y, size_t n), \
      (dx, accumulate, dy, y, n))                                                                \
    V(sal_add_forward, (float *out, const float *a, const float *b, size_t n), (out, a, b, n))   \
    V(sal_grad_pass, (float *dst, int accumulate, const float *src, size_t n),                   \
      (dst, accumulate, src, n))                                                                 \
    V(sal_avgpool_forward, (float *out, const float *in, int B, int C, int HW),                  \
      (out, in, B, C, HW))                                                                       \
    V(sal_avgpool_backward, (float *din, int accumulate, const float *dout, int B, int C, int HW), \
      (din, accumulate, dout, B, C, HW))                                                         \
    V(sal_maxpool2d_forward, (float *out, const float *in, int B, int C, int H, int W, int k),   \
      (out, in, B, C, H, W, k))                                                                  \
    V(sal_maxpool2d_backward,                                                                    \
      (float *din, const float *dout, const float *in, const float *out, int B, int C, int H,    \
       int W, int k),                                                                            \
      (din, dout, in, out, B, C, H, W, k))                                                       \
    R(double, sal_xent_forward,                                                                  \
      (float *probs, const float *logits, const int *y, int B, int K, int *correct),             \
      (probs, logits, y, B, K, correct))                                                         \
    V(sal_xent_backward, (float *dlogits, const float *probs, const int *y, int B, int K),       \
      (dlogits, probs, y, B, K))                                                                 \
    V(sal_groupnorm_forward,                                                                     \
      (float *y, float *mean, float *rstd, const float *x, const float *gamma,                   \
       const float *beta, int B, int C, int HW, int G, float eps),                               \
      (y, mean, rstd, x, gamma, beta, B, C, HW, G, eps))                                         \
    V(sal_groupnorm_backward,                                                                    \
      (float *dx, int accumulate, float *dgamma, float *dbeta, const float *dy, const float *x,  \
       const float *mean, const float *rstd, const float *gamma, int B, int C, int HW, int G,    \
       double *part),                                                                            \
      (dx, accumulate, dgamma, dbeta, dy, x, mean, rstd, gamma, B, C, HW, G, part))              \
    V(sal_batchnorm_forward_train,                                                               \
      (float *y, float *mean, float *rstd, float *run_mean, float *run_var, float *nbt,          \
       const float *x, const float *gamma, const float *beta, int B, int C, int HW, float eps,   \
       float momentum),                                                                          \
      (y, mean, rstd, run_mean, run_var, nbt, x, gamma, beta, B, C, HW, eps, momentum))          \
    V(sal_batchnorm_forward_eval,                                                                \
      (float *y, const float *x, const float *run_mean, const float *run_var,                    \
       const float *gamma, const float *beta, int B, int C, int HW, float eps),                  \
      (y, x, run_mean, run_var, gamma, beta, B, C, HW, eps))                                     \
    V(sal_batchnorm_backward,                                                                    \
      (float *dx, int accumulate, float *dgamma, float *dbeta, const float *dy, const float *x,  \
       const float *mean, const float *rstd, const float *gamma, int B, int C, int HW),          \
      (dx, accumulate, dgamma, dbeta, dy, x, mean, rstd, gamma, B, C, HW))                       \
    V(sal_batchnorm_backward_eval,                                                               \
      (float *dx, int accumulate, float *dgamma, float *dbeta, const float *dy, const float *x,  \
       const float *run_mean, const float *run_var, const float *gamma, int B, int C, int HW,    \
       float eps),                                                                               \
      (dx, accumulate, dgamma, dbeta, dy, x, run_mean, run_var, gamma, B, C, HW, eps))

#endif
