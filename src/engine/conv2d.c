/* conv2d.c - 2-D convolution as im2col + SGEMM over small groups of samples.
 * One GEMM per sample (PyTorch's slow_conv2d) is too small for LeNet-sized layers (M = 6..16);
 * one per batch spills the column buffer out of cache. A group of G samples keeps the column
 * buffer in L2 while giving SGEMM an N of G*OH*OW columns. */
#include <cblas.h>
#include <string.h>

#include "salient/layers.h"

/* Bytes of column buffer + staging we aim to keep in a core's L2 (1 MiB on the EPYC here). */
#define SAL_CONV_L2_BUDGET (512 * 1024)

int sal_conv_shape_init(sal_conv_shape *s, int C, int H, int W, int O, int K, int stride,
                        int pad) {
    s->C = C, s->H = H, s->W = W, s->O = O, s->K = K, s->stride = stride, s->pad = pad;
    s->OH = (H + 2 * pad - K) / stride + 1;
    s->OW = (W + 2 * pad - K) / stride + 1;
    if (s->OH < 1 || s->OW < 1) return -1;
    size_t per_sample = ((size_t)C * K * K + (size_t)O) * s->OH * s->OW * sizeof(float);
    int g = (int)(SAL_CONV_L2_BUDGET / per_sample);
    s->group = g < 1 ? 1 : g > 64 ? 64 : g;
    return 0;
}

size_t sal_conv_scratch_floats(const sal_conv_shape *s) {
    return ((size_t)s->C * s->K * s->K + (size_t)s->O) * s->group * s->OH * s->OW;
}

/* col (C*K*K, G*OHW): row (c, ky, kx), column (g, oy, ox). Zero where the window hits padding. */
static void im2col(float *col, const float *in, int G, const sal_conv_shape *s) {
    const int OHW = s->OH * s->OW, N = G * OHW, HW = s->H * s->W;
    for (int c = 0; c < s->C; c++)
        for (int ky = 0; ky < s->K; ky++)
            for (int kx = 0; kx < s->K; kx++) {
                float *row = col + (size_t)((c * s->K + ky) * s->K + kx) * N;
                for (int g = 0; g < G; g++) {
                    const float *plane = in + ((size_t)g * s->C + c) * HW;
                    float *dst = row + (size_t)g * OHW;
                    for (int oy = 0; oy < s->OH; oy++, dst += s->OW) {
                        int iy = oy * s->stride - s->pad + ky;
                        if (iy < 0 || iy >= s->H) {
                            memset(dst, 0, sizeof(float) * s->OW);
                            continue;
                        }
                        const float *src = plane + (size_t)iy * s->W;
                        if (s->stride == 1) {
                            /* contiguous run of valid columns between the left and right pad */
                            int lo = s->pad - kx, hi = s->W + s->pad - kx;
                            if (lo < 0) lo = 0;
                            if (hi > s->OW) hi = s->OW;
                            for (int ox = 0; ox < lo; ox++) dst[ox] = 0.0f;
                            if (hi > lo)
                                memcpy(dst + lo, src + lo - s->pad + kx, sizeof(float) * (hi - lo));
                            for (int ox = hi > lo ? hi : lo; ox < s->OW; ox++) dst[ox] = 0.0f;
                        } else {
                            for (int ox = 0; ox < s->OW; ox++) {
                                int ix = ox * s->stride - s->pad + kx;
                                dst[ox] = (ix >= 0 && ix < s->W) ? src[ix] : 0.0f;
                            }
                        }
                    }
                }
            }
}

/* din += scatter of col; din must be zeroed by the caller. */
static void col2im(float *din, const float *col, int G, const sal_conv_shape *s) {
    const int OHW = s->OH * s->OW, N = G * OHW, HW = s->H * s->W;
    for (int c = 0; c < s->C; c++)
        for (int ky = 0; ky < s->K; ky++)
            for (int kx = 0; kx < s->K; kx++) {
                const float *row = col + (size_t)((c * s->K + ky) * s->K + kx) * N;
                for (int g = 0; g < G; g++) {
                    float *plane = din + ((size_t)g * s->C + c) * HW;
                    const float *src = row + (size_t)g * OHW;
                    for (int oy = 0; oy < s->OH; oy++, src += s->OW) {
                        int iy = oy * s->stride - s->pad + ky;
                        if (iy < 0 || iy >= s->H) continue;
                        float *dst = plane + (size_t)iy * s->W;
                        for (int ox = 0; ox < s->OW; ox++) {
                            int ix = ox * s->stride - s->pad + kx;
                            if (ix >= 0 && ix < s->W) dst[ix] += src[ox];
                        }
                    }
                }
            }
}

void sal_conv2d_forward(float *out, const float *in, const float *w, const float *b, int B,
                        const sal_conv_shape *s, float *scratch) {
    const int CKK = s->C * s->K * s->K, OHW = s->OH * s->OW;
    const size_t in_stride = (size_t)s->C * s->H * s->W, out_stride = (size_t)s->O * OHW;
    float *col = scratch;
    float *stage = scratch + (size_t)CKK * s->group * OHW; /* (O, G*OHW) */
    for (int b0 = 0; b0 < B; b0 += s->group) {
        int G = B - b0 < s->group ? B - b0 : s->group, N = G * OHW;
        im2col(col, in + b0 * in_stride, G, s);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->O, N, CKK, 1.0f, w, CKK, col,
                    N, 0.0f, stage, N);
        /* (O, G, OHW) -> (G, O, OHW) with the bias added on the way */
        for (int g = 0; g < G; g++)
            for (int o = 0; o < s->O; o++) {
                float *dst = out + (b0 + g) * out_stride + (size_t)o * OHW;
                const float *src = stage + (size_t)o * N + (size_t)g * OHW;
                float bias = b[o];
                for (int i = 0; i < OHW; i++) dst[i] = src[i] + bias;
            }
    }
}

void sal_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                         const float *w, int B, const sal_conv_shape *s, float *scratch) {
    const int CKK = s->C * s->K * s->K, OHW = s->OH * s->OW;
    const size_t in_stride = (size_t)s->C * s->H * s->W, out_stride = (size_t)s->O * OHW;
    float *col = scratch;
    float *stage = scratch + (size_t)CKK * s->group * OHW; /* dout as (O, G*OHW) */
    for (int o = 0; o < s->O; o++) db[o] = 0.0f;
    if (din) memset(din, 0, sizeof(float) * in_stride * B);
    for (int b0 = 0; b0 < B; b0 += s->group) {
        int G = B - b0 < s->group ? B - b0 : s->group, N = G * OHW;
        for (int g = 0; g < G; g++)
            for (int o = 0; o < s->O; o++) {
                const float *src = dout + (b0 + g) * out_stride + (size_t)o * OHW;
                float *dst = stage + (size_t)o * N + (size_t)g * OHW;
                float sum = 0.0f;
                for (int i = 0; i < OHW; i++) {
                    dst[i] = src[i];
                    sum += src[i];
                }
                db[o] += sum;
            }
        im2col(col, in + b0 * in_stride, G, s);
        /* dw (O, CKK) (+)= dout (O, N) @ col^T (N, CKK) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->O, CKK, N, 1.0f, stage, N, col, N,
                    b0 == 0 ? 0.0f : 1.0f, dw, CKK);
        if (din) {
            /* dcol (CKK, N) = w^T (CKK, O) @ dout (O, N), reusing the column buffer */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, N, s->O, 1.0f, w, CKK, stage,
                        N, 0.0f, col, N);
            col2im(din + b0 * in_stride, col, G, s);
        }
    }
}
