/* conv2d.c - 2-D convolution as im2col + SGEMM over small groups of samples.
 * One GEMM per sample (PyTorch's slow_conv2d) is too small for LeNet-sized layers (M = 6..16);
 * one per batch spills the column buffer out of cache. A group of G samples keeps the column
 * buffer in L2 while giving SGEMM an N of G*OH*OW columns. The input group is first copied into
 * a zero-padded buffer so that building columns is branch-free row copies. */
#include <cblas.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "salient/layers.h"

/* Bytes of column buffer + staging we aim to keep in a core's L2 (1 MiB on the EPYC here). */
#define SAL_CONV_L2_BUDGET (512 * 1024)

static int padded_h(const sal_conv_shape *s) { return s->H + 2 * s->pad; }
static int padded_w(const sal_conv_shape *s) { return s->W + 2 * s->pad; }

int sal_conv_shape_init(sal_conv_shape *s, int C, int H, int W, int O, int K, int stride,
                        int pad) {
    s->C = C, s->H = H, s->W = W, s->O = O, s->K = K, s->stride = stride, s->pad = pad;
    s->OH = (H + 2 * pad - K) / stride + 1;
    s->OW = (W + 2 * pad - K) / stride + 1;
    if (K < 1 || stride < 1 || pad < 0 || s->OH < 1 || s->OW < 1) return -1;
    size_t per_sample = ((size_t)C * K * K + (size_t)O) * s->OH * s->OW * sizeof(float);
    int g = (int)(SAL_CONV_L2_BUDGET / per_sample);
    s->group = g < 1 ? 1 : g > 64 ? 64 : g;
    return 0;
}

/* column buffer (CKK, G*OHW) + staging (O, G*OHW) + padded input (G, C, Hp, Wp) */
size_t sal_conv_scratch_floats(const sal_conv_shape *s) {
    return ((size_t)s->C * s->K * s->K + (size_t)s->O) * s->group * s->OH * s->OW +
           (size_t)s->group * s->C * padded_h(s) * padded_w(s);
}

/* Short rows (OW = 10..32 here): one full vector plus a masked tail beats memcpy's dispatch. */
static inline void copy_row(float *restrict dst, const float *restrict src, int n) {
#ifdef __AVX512F__
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
    }
#else
    memcpy(dst, src, sizeof(float) * n);
#endif
}

static inline void add_row(float *restrict dst, const float *restrict src, int n) {
#ifdef __AVX512F__
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_add_ps(_mm512_loadu_ps(dst + i), _mm512_loadu_ps(src + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 d = _mm512_maskz_loadu_ps(m, dst + i);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_add_ps(d, _mm512_maskz_loadu_ps(m, src + i)));
    }
#else
    for (int i = 0; i < n; i++) dst[i] += src[i];
#endif
}

/* pad (G, C, Hp, Wp) <- in (G, C, H, W) with a zero border of width s->pad */
static void pad_input(float *pad, const float *in, int G, const sal_conv_shape *s) {
    const int Hp = padded_h(s), Wp = padded_w(s);
    if (s->pad == 0) {
        memcpy(pad, in, sizeof(float) * (size_t)G * s->C * s->H * s->W);
        return;
    }
    memset(pad, 0, sizeof(float) * (size_t)G * s->C * Hp * Wp);
    for (int gc = 0; gc < G * s->C; gc++)
        for (int y = 0; y < s->H; y++)
            copy_row(pad + ((size_t)gc * Hp + y + s->pad) * Wp + s->pad,
                     in + ((size_t)gc * s->H + y) * s->W, s->W);
}

/* col (C*K*K, G*OHW): row (c, ky, kx), column (g, oy, ox), from the padded input. */
static void im2col(float *col, const float *pad, int G, const sal_conv_shape *s) {
    const int OHW = s->OH * s->OW, N = G * OHW, Hp = padded_h(s), Wp = padded_w(s);
    for (int c = 0; c < s->C; c++)
        for (int ky = 0; ky < s->K; ky++)
            for (int kx = 0; kx < s->K; kx++) {
                float *dst = col + (size_t)((c * s->K + ky) * s->K + kx) * N;
                for (int g = 0; g < G; g++) {
                    const float *plane = pad + ((size_t)g * s->C + c) * Hp * Wp + ky * Wp + kx;
                    for (int oy = 0; oy < s->OH; oy++, dst += s->OW) {
                        const float *src = plane + (size_t)oy * s->stride * Wp;
                        if (s->stride == 1) {
                            copy_row(dst, src, s->OW);
                        } else {
                            for (int ox = 0; ox < s->OW; ox++) dst[ox] = src[ox * s->stride];
                        }
                    }
                }
            }
}

/* padded gradient (G, C, Hp, Wp) += scatter of col; then the interior is copied to din. */
static void col2im(float *din, float *pad, const float *col, int G, const sal_conv_shape *s) {
    const int OHW = s->OH * s->OW, N = G * OHW, Hp = padded_h(s), Wp = padded_w(s);
    memset(pad, 0, sizeof(float) * (size_t)G * s->C * Hp * Wp);
    for (int c = 0; c < s->C; c++)
        for (int ky = 0; ky < s->K; ky++)
            for (int kx = 0; kx < s->K; kx++) {
                const float *src = col + (size_t)((c * s->K + ky) * s->K + kx) * N;
                for (int g = 0; g < G; g++) {
                    float *plane = pad + ((size_t)g * s->C + c) * Hp * Wp + ky * Wp + kx;
                    for (int oy = 0; oy < s->OH; oy++, src += s->OW) {
                        float *dst = plane + (size_t)oy * s->stride * Wp;
                        if (s->stride == 1) {
                            add_row(dst, src, s->OW);
                        } else {
                            for (int ox = 0; ox < s->OW; ox++) dst[ox * s->stride] += src[ox];
                        }
                    }
                }
            }
    for (int gc = 0; gc < G * s->C; gc++)
        for (int y = 0; y < s->H; y++)
            copy_row(din + ((size_t)gc * s->H + y) * s->W,
                     pad + ((size_t)gc * Hp + y + s->pad) * Wp + s->pad, s->W);
}

void sal_conv2d_forward(float *out, const float *in, const float *w, const float *b, int B,
                        const sal_conv_shape *s, float *scratch) {
    const int CKK = s->C * s->K * s->K, OHW = s->OH * s->OW;
    const size_t in_stride = (size_t)s->C * s->H * s->W, out_stride = (size_t)s->O * OHW;
    float *col = scratch;
    float *stage = col + (size_t)CKK * s->group * OHW; /* (O, G*OHW) */
    float *pad = stage + (size_t)s->O * s->group * OHW;
    for (int b0 = 0; b0 < B; b0 += s->group) {
        int G = B - b0 < s->group ? B - b0 : s->group, N = G * OHW;
        pad_input(pad, in + b0 * in_stride, G, s);
        im2col(col, pad, G, s);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->O, N, CKK, 1.0f, w, CKK, col,
                    N, 0.0f, stage, N);
        /* (O, G, OHW) -> (G, O, OHW) with the bias added on the way */
        for (int g = 0; g < G; g++)
            for (int o = 0; o < s->O; o++) {
                float *restrict dst = out + (b0 + g) * out_stride + (size_t)o * OHW;
                const float *restrict src = stage + (size_t)o * N + (size_t)g * OHW;
                const float bias = b[o];
                for (int i = 0; i < OHW; i++) dst[i] = src[i] + bias;
            }
    }
}

/* Sum of n floats in 16 independent lanes: vectorises without -ffast-math, fixed order. */
static float sum_floats(const float *x, int n) {
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += x[i + j];
    for (; i < n; i++) acc[i & 15] += x[i];
    float s = 0.0f;
    for (int j = 0; j < 16; j++) s += acc[j];
    return s;
}

void sal_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                         const float *w, int B, const sal_conv_shape *s, float *scratch) {
    const int CKK = s->C * s->K * s->K, OHW = s->OH * s->OW;
    const size_t in_stride = (size_t)s->C * s->H * s->W, out_stride = (size_t)s->O * OHW;
    float *col = scratch;
    float *stage = col + (size_t)CKK * s->group * OHW; /* dout as (O, G*OHW) */
    float *pad = stage + (size_t)s->O * s->group * OHW;
    for (int o = 0; o < s->O; o++) db[o] = 0.0f;
    for (int b0 = 0; b0 < B; b0 += s->group) {
        int G = B - b0 < s->group ? B - b0 : s->group, N = G * OHW;
        for (int g = 0; g < G; g++)
            for (int o = 0; o < s->O; o++) {
                const float *src = dout + (b0 + g) * out_stride + (size_t)o * OHW;
                memcpy(stage + (size_t)o * N + (size_t)g * OHW, src, sizeof(float) * OHW);
                db[o] += sum_floats(src, OHW);
            }
        pad_input(pad, in + b0 * in_stride, G, s);
        im2col(col, pad, G, s);
        /* dw (O, CKK) (+)= dout (O, N) @ col^T (N, CKK) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->O, CKK, N, 1.0f, stage, N, col, N,
                    b0 == 0 ? 0.0f : 1.0f, dw, CKK);
        if (din) {
            /* dcol (CKK, N) = w^T (CKK, O) @ dout (O, N), reusing the column buffer */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, N, s->O, 1.0f, w, CKK, stage,
                        N, 0.0f, col, N);
            col2im(din + b0 * in_stride, pad, col, G, s);
        }
    }
}
