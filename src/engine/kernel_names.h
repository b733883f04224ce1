/* kernel_names.h - included first by conv2d.c, activations.c and norm.c: when CMake compiles
 * them for one level (SAL_KERNEL_SUFFIX=_avx2, ...), their public functions get that suffix,
 * declarations in layers.h included. kernels.h lists the same names; keep the two together. */
#ifndef SALIENT_ENGINE_KERNEL_NAMES_H
#define SALIENT_ENGINE_KERNEL_NAMES_H

#ifndef SAL_KERNEL_SUFFIX
#error "kernel files are compiled per ISA level with SAL_KERNEL_SUFFIX (see CMakeLists.txt)"
#endif
#define SAL_KCAT2(a, b) a##b
#define SAL_KCAT(a, b) SAL_KCAT2(a, b)
#define SAL_KNAME(f) SAL_KCAT(f, SAL_KERNEL_SUFFIX)

#define sal_conv2d_forward SAL_KNAME(sal_conv2d_forward)
#define sal_conv2d_forward_mt SAL_KNAME(sal_conv2d_forward_mt)
#define sal_conv2d_backward SAL_KNAME(sal_conv2d_backward)
#define sal_conv2d_backward_mt SAL_KNAME(sal_conv2d_backward_mt)
#define sal_relu_forward SAL_KNAME(sal_relu_forward)
#define sal_relu_backward SAL_KNAME(sal_relu_backward)
#define sal_add_forward SAL_KNAME(sal_add_forward)
#define sal_grad_pass SAL_KNAME(sal_grad_pass)
#define sal_avgpool_forward SAL_KNAME(sal_avgpool_forward)
#define sal_avgpool_backward SAL_KNAME(sal_avgpool_backward)
#define sal_maxpool2d_forward SAL_KNAME(sal_maxpool2d_forward)
#define sal_maxpool2d_backward SAL_KNAME(sal_maxpool2d_backward)
#define sal_xent_forward SAL_KNAME(sal_xent_forward)
#define sal_xent_backward SAL_KNAME(sal_xent_backward)
#define sal_groupnorm_forward SAL_KNAME(sal_groupnorm_forward)
#define sal_groupnorm_backward SAL_KNAME(sal_groupnorm_backward)
#define sal_batchnorm_forward_train SAL_KNAME(sal_batchnorm_forward_train)
#define sal_batchnorm_forward_eval SAL_KNAME(sal_batchnorm_forward_eval)
#define sal_batchnorm_backward SAL_KNAME(sal_batchnorm_backward)
#define sal_batchnorm_backward_eval SAL_KNAME(sal_batchnorm_backward_eval)

#endif
