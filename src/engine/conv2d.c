/* conv2d.c - 2-D convolution: direct AVX-512 kernels for stride 1 with K = 3 or 5 (forward and
 * weight gradient), otherwise im2col + SGEMM over small groups of samples.
 * One GEMM per sample (PyTorch's slow_conv2d) is too small for LeNet-sized layers (M = 6..16);
 * one per batch spills the column buffer out of cache. A group of G samples keeps the column
 * buffer in L2 while giving SGEMM an N of G*OH*OW columns. The input group is first copied into
 * a zero-padded buffer so that building columns is branch-free row copies. */
#include "kernel_names.h" /* first: renames this level's copy (kernels.h) */
#include <cblas.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "salient/layers.h"
#include "sum.h"

/* Bytes of column buffer + staging we aim to keep in a core's L2 (1 MiB on the EPYC here). */
#define SAL_CONV_L2_BUDGET (512 * 1024)
/* Bytes a direct weight-gradient piece streams per chunk of samples: half of L1 (32 KiB), so
 * that the K pieces of one kernel row after another find the chunk still there. */
#define SAL_CONV_L1_BUDGET (16 * 1024)

static int padded_h(const sal_conv_shape *s) { return s->H + 2 * s->pad; }
static int padded_w(const sal_conv_shape *s) { return s->W + 2 * s->pad; }

/* Floats of slack after the column buffer and after the padded input. The AVX-512 row copies
 * below read and write whole 16-float vectors past the end of a short row (the next row
 * overwrites the excess), so the last row of each buffer needs this much room behind it. */
#define SAL_CONV_GUARD 16

/* The shape and scratch arithmetic is the same at every level: compiled in the generic copy
 * only, and called directly (not through kernels.c). */
#if SAL_KERNEL_PRIMARY
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

#endif

/* The direct input gradient (below) reuses the column buffer and staging, one region, for the
 * padded output gradient (G, O, OH + 2p', OW + 2p'), p' = K - 1 - pad, and the flipped weights
 * (C, O, K, K); where those need more room than columns and staging (O much larger than C*K*K),
 * the region grows to fit. */
static size_t colstage_floats(const sal_conv_shape *s) {
    const size_t N = (size_t)s->group * s->OH * s->OW;
    const size_t cols = ((size_t)s->C * s->K * s->K + s->O) * N + SAL_CONV_GUARD;
    const size_t pd = s->K - 1 >= s->pad ? (size_t)(s->K - 1 - s->pad) : 0;
    const size_t din = (size_t)s->group * s->O * (s->OH + 2 * pd) * (s->OW + 2 * pd) +
                       (size_t)s->C * s->O * s->K * s->K;
    return cols > din ? cols : din;
}

#if SAL_KERNEL_PRIMARY
/* column buffer (CKK, G*OHW) + guard + staging (O, G*OHW), or the direct input gradient's
 * buffers if larger; then padded input (G, C, Hp, Wp) + guard */
size_t sal_conv_scratch_floats(const sal_conv_shape *s) {
    return colstage_floats(s) + (size_t)s->group * s->C * padded_h(s) * padded_w(s) +
           SAL_CONV_GUARD;
}
#endif

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
/* Planes [gc0, gc1) of the G*C: each is written whole, so ranges can go to threads. */
static void pad_planes(float *pad, const float *in, int gc0, int gc1, const sal_conv_shape *s) {
    const int Hp = padded_h(s), Wp = padded_w(s);
    if (s->pad == 0) {
        memcpy(pad + (size_t)gc0 * s->H * s->W, in + (size_t)gc0 * s->H * s->W,
               sizeof(float) * (size_t)(gc1 - gc0) * s->H * s->W);
        return;
    }
    for (int gc = gc0; gc < gc1; gc++) {
        memset(pad + (size_t)gc * Hp * Wp, 0, sizeof(float) * (size_t)Hp * Wp);
        for (int y = 0; y < s->H; y++)
            copy_row(pad + ((size_t)gc * Hp + y + s->pad) * Wp + s->pad,
                     in + ((size_t)gc * s->H + y) * s->W, s->W);
    }
}

static void pad_input(float *pad, const float *in, int G, const sal_conv_shape *s) {
    pad_planes(pad, in, 0, G * s->C, s);
}

/* col (C*K*K, G*OHW): row (c, ky, kx), column (g, oy, ox), from the padded input; channels
 * [c0, c1) only, so that channel ranges can go to threads (see the spill note below). */
static void im2col_channels(float *col, const float *pad, int G, const sal_conv_shape *s, int c0,
                            int c1) {
    const int OHW = s->OH * s->OW, N = G * OHW, Hp = padded_h(s), Wp = padded_w(s);
    for (int c = c0; c < c1; c++)
        for (int ky = 0; ky < s->K; ky++)
            for (int kx = 0; kx < s->K; kx++) {
                float *dst = col + (size_t)((c * s->K + ky) * s->K + kx) * N;
                for (int g = 0; g < G; g++) {
                    const float *plane = pad + ((size_t)g * s->C + c) * Hp * Wp + ky * Wp + kx;
#ifdef __AVX512F__
                    /* Rows are written in increasing address order, so each row may be copied
                     * as whole unmasked vectors: the spill past its end is overwritten by the
                     * next row, and the last one lands in the guard. Masked stores are slow on
                     * Zen 4 (im2col measured ~10 cycles per 10..28-float row with them). */
                    if (s->stride == 1) {
                        /* Rows whose spill would cross into the next channel's rows (another
                         * thread's: the last few when OW < 16) are copied masked instead. */
                        const float *chan_end = col + (size_t)(c + 1) * s->K * s->K * N;
                        const int span = (s->OW + 15) & ~15;
                        for (int oy = 0; oy < s->OH; oy++, dst += s->OW) {
                            const float *src = plane + (size_t)oy * Wp;
                            if (dst + span > chan_end) {
                                copy_row(dst, src, s->OW);
                                continue;
                            }
                            for (int i = 0; i < s->OW; i += 16)
                                _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
                        }
                        continue;
                    }
#endif
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

static void im2col(float *col, const float *pad, int G, const sal_conv_shape *s) {
    im2col_channels(col, pad, G, s, 0, s->C);
}

#ifdef __AVX512F__
/* Lanes [lo, hi) of a 16-lane mask, clamped to the vector. */
static inline __mmask16 lane_range(int lo, int hi) {
    lo = lo < 0 ? 0 : lo, hi = hi > 16 ? 16 : hi;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

/* din (G, C, H, W) = col2im(col), stride 1, as a gather: each din vector is the sum over
 * (ky, kx) of the col row (c, ky, kx) at output row y + pad - ky, read at a shift of kx.
 * Every din element is written once from registers, so there is no padded buffer to clear,
 * no copy-out, and no read-after-overlapping-masked-store (the scatter form re-added each row
 * at K shifted offsets; loads that overlapped the previous masked stores could not be
 * forwarded and stalled, ~40% of the conv backward). Lanes outside the valid ox range are
 * masked off; the base address can then point a few floats before or after the row, which
 * stays inside scratch (col starts it, staging follows it). The summation order is fixed:
 * four partial sums by kx mod 4, combined in one order. */
static void col2im_gather(float *din, int accumulate, const float *col, int G,
                          const sal_conv_shape *s) {
    const int K = s->K, OH = s->OH, OW = s->OW, H = s->H, W = s->W, pad = s->pad;
    const size_t N = (size_t)G * OH * OW;
    for (int g = 0; g < G; g++)
        for (int c = 0; c < s->C; c++) {
            float *plane = din + ((size_t)g * s->C + c) * H * W;
            const float *cbase = col + (size_t)c * K * K * N + (size_t)g * OH * OW;
            for (int x0 = 0; x0 < W; x0 += 16) {
                __mmask16 m[64]; /* per kx; K <= 64 is checked by the caller */
                for (int kx = 0; kx < K; kx++)
                    m[kx] = lane_range(kx - x0 - pad, W - x0 < OW + kx - x0 - pad
                                                          ? W - x0 : OW + kx - x0 - pad);
                const __mmask16 mst = lane_range(0, W - x0);
                for (int y = 0; y < H; y++) {
                    int ky0 = y + pad - OH + 1, ky1 = y + pad;
                    ky0 = ky0 < 0 ? 0 : ky0, ky1 = ky1 > K - 1 ? K - 1 : ky1;
                    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                    for (int ky = ky0; ky <= ky1; ky++) {
                        /* row (c, ky, 0) of col at output row y + pad - ky, column x0 + pad */
                        const float *r = cbase + (size_t)ky * K * N +
                                         (size_t)(y + pad - ky) * OW + x0 + pad;
                        int kx = 0;
                        for (; kx + 4 <= K; kx += 4) {
                            const float *q = r + kx * N - kx;
                            a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(m[kx], q));
                            a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(m[kx + 1], q + N - 1));
                            a2 = _mm512_add_ps(a2, _mm512_maskz_loadu_ps(m[kx + 2], q + 2 * N - 2));
                            a3 = _mm512_add_ps(a3, _mm512_maskz_loadu_ps(m[kx + 3], q + 3 * N - 3));
                        }
                        for (; kx < K; kx++)
                            a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(m[kx], r + kx * N - kx));
                    }
                    __m512 sum = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
                    float *dst = plane + (size_t)y * W + x0;
                    if (accumulate) sum = _mm512_add_ps(_mm512_maskz_loadu_ps(mst, dst), sum);
                    _mm512_mask_storeu_ps(dst, mst, sum);
                }
            }
        }
}
#endif

/* padded gradient (G, C, Hp, Wp) += scatter of col; then the interior is copied to din.
 * The portable path, and the one for stride > 1. */
static void col2im(float *din, int accumulate, float *pad, const float *col, int G,
                   const sal_conv_shape *s) {
    const int OHW = s->OH * s->OW, N = G * OHW, Hp = padded_h(s), Wp = padded_w(s);
#ifdef __AVX512F__
    if (s->stride == 1 && s->K <= 64) {
        col2im_gather(din, accumulate, col, G, s);
        return;
    }
#endif
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
        for (int y = 0; y < s->H; y++) {
            float *dst = din + ((size_t)gc * s->H + y) * s->W;
            const float *src = pad + ((size_t)gc * Hp + y + s->pad) * Wp + s->pad;
            if (accumulate) add_row(dst, src, s->W);
            else copy_row(dst, src, s->W);
        }
}

#ifdef __AVX512F__
/* ---- direct kernels (stride 1, K = 3 or 5) ----
 * LeNet-sized layers make poor GEMMs: conv1 is M = 6 by K = 25, so OpenBLAS spends its time
 * packing, and im2col copies every input K*K times for GEMMs that then run at a third of peak.
 * These kernels vectorise over 16 output columns and keep a block of output channels (forward)
 * or the K taps of one kernel row (weight gradient) in registers, reading the padded input
 * straight from L1 with masked loads (lanes past the row end are masked off, so no guard data
 * is ever read). K is a compile-time constant in each instance so the tap loops unroll and
 * the accumulators stay in registers. Summation order is fixed: c, ky, kx for the forward;
 * samples, rows and column blocks in order, then one fixed reduction tree, for dw. */
#define SAL_INLINE static inline __attribute__((always_inline))

/* out[g, o0..o0+OB) for G samples from the padded group; bias folded into the accumulators.
 * With accumulate (the input gradient's residual sum), the finished sum is added to out:
 * the same bits as computing it alone and adding it, as the GEMM path does. */
SAL_INLINE void direct_fwd_block(float *out, int accumulate, const float *pad, const float *w,
                                 const float *b, int G, int o0, const sal_conv_shape *s,
                                 const int K, const int OB) {
    const int C = s->C, OH = s->OH, OW = s->OW, Hp = padded_h(s), Wp = padded_w(s);
    const int CKK = C * K * K, OHW = OH * OW;
    for (int g = 0; g < G; g++)
        for (int oy = 0; oy < OH; oy++)
            for (int x0 = 0; x0 < OW; x0 += 16) {
                const __mmask16 m = lane_range(0, OW - x0);
                float *dst = out + (size_t)g * s->O * OHW + (size_t)o0 * OHW + (size_t)oy * OW + x0;
                __m512 acc[8];
                for (int o = 0; o < OB; o++) acc[o] = _mm512_set1_ps(b ? b[o0 + o] : 0.0f);
                for (int c = 0; c < C; c++) {
                    const float *plane = pad + ((size_t)g * C + c) * Hp * Wp + (size_t)oy * Wp + x0;
                    const float *wc = w + (size_t)o0 * CKK + c * K * K;
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            __m512 v = _mm512_maskz_loadu_ps(m, plane + ky * Wp + kx);
                            for (int o = 0; o < OB; o++)
                                acc[o] = _mm512_fmadd_ps(
                                    _mm512_set1_ps(wc[(size_t)o * CKK + ky * K + kx]), v, acc[o]);
                        }
                }
                if (accumulate)
                    for (int o = 0; o < OB; o++)
                        acc[o] = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst + (size_t)o * OHW),
                                               acc[o]);
                for (int o = 0; o < OB; o++) _mm512_mask_storeu_ps(dst + (size_t)o * OHW, m, acc[o]);
            }
}

/* Output channels in blocks of 8 (8 accumulators hide the FMA latency), the rest in 6/4/2/1. */
SAL_INLINE void direct_fwd_k(float *out, int acc, const float *pad, const float *w,
                             const float *b, int G, const sal_conv_shape *s, const int K) {
    int o0 = 0;
    for (; s->O - o0 >= 8; o0 += 8) direct_fwd_block(out, acc, pad, w, b, G, o0, s, K, 8);
    for (; s->O - o0 >= 6; o0 += 6) direct_fwd_block(out, acc, pad, w, b, G, o0, s, K, 6);
    for (; s->O - o0 >= 4; o0 += 4) direct_fwd_block(out, acc, pad, w, b, G, o0, s, K, 4);
    for (; s->O - o0 >= 2; o0 += 2) direct_fwd_block(out, acc, pad, w, b, G, o0, s, K, 2);
    for (; s->O - o0 >= 1; o0 += 1) direct_fwd_block(out, acc, pad, w, b, G, o0, s, K, 1);
}

static void direct_fwd(float *out, int accumulate, const float *pad, const float *w,
                       const float *b, int G, const sal_conv_shape *s) {
    if (s->K == 5) direct_fwd_k(out, accumulate, pad, w, b, G, s, 5);
    else direct_fwd_k(out, accumulate, pad, w, b, G, s, 3);
}

/* dw[o0..o0+OD, c, ky, :] (+)= sum over samples [b0, B) of dout[b, o] * shifted input rows,
 * read from the input itself: lanes whose input column falls in the padding are masked off
 * and output rows whose input row falls in it are left out of the loop, so no padded copy is
 * made. OD output channels share each input load: OD = 4 with K = 3 is 12 accumulators and
 * 7 loads per 12 FMAs (the former 2 channels took 5 per 6; all 9 taps of 2 channels, 18
 * accumulators, were spilled to the stack by GCC). */
SAL_INLINE void direct_dw_block(float *dw, const float *dout, const float *in, int b0, int B,
                                int o0, int c, int ky, const sal_conv_shape *s, const int K,
                                const int OD) {
    const int C = s->C, H = s->H, W = s->W, OH = s->OH, OW = s->OW, pad = s->pad;
    const int OHW = OH * OW;
    /* output rows oy whose input row oy + ky - pad lies in [0, H) */
    const int oy0 = pad - ky > 0 ? pad - ky : 0, oy1 = H + pad - ky < OH ? H + pad - ky : OH;
    __m512 acc[4 * 5]; /* (od, kx) */
    for (int i = 0; i < OD * K; i++) acc[i] = _mm512_setzero_ps();
    for (int b = b0; b < B; b++) {
        const float *plane = in + ((size_t)b * C + c) * H * W;
        const float *dg = dout + ((size_t)b * s->O + o0) * OHW;
        for (int x0 = 0; x0 < OW; x0 += 16) {
            const __mmask16 mo = lane_range(0, OW - x0);
            __mmask16 m[5]; /* lanes whose input column x0 + lane + kx - pad is inside the row */
            for (int kx = 0; kx < K; kx++)
                m[kx] = mo & lane_range(pad - kx - x0, W + pad - kx - x0);
            for (int oy = oy0; oy < oy1; oy++) {
                __m512 d[4];
                for (int od = 0; od < OD; od++)
                    d[od] = _mm512_maskz_loadu_ps(mo, dg + (size_t)od * OHW + oy * OW + x0);
                /* may point up to pad floats before the row: those lanes are masked off */
                const float *row = plane + (ptrdiff_t)(oy + ky - pad) * W + x0 - pad;
                for (int kx = 0; kx < K; kx++) {
                    __m512 v = _mm512_maskz_loadu_ps(m[kx], row + kx);
                    for (int od = 0; od < OD; od++)
                        acc[od * K + kx] = _mm512_fmadd_ps(d[od], v, acc[od * K + kx]);
                }
            }
        }
    }
    for (int od = 0; od < OD; od++) {
        float *dst = dw + ((size_t)(o0 + od) * C + c) * K * K + ky * K;
        for (int kx = 0; kx < K; kx++) {
            const float v = _mm512_reduce_add_ps(acc[od * K + kx]);
            dst[kx] = b0 == 0 ? v : dst[kx] + v;
        }
    }
}

/* Samples in chunks whose input and output gradient fit in L2 together (a chunk size fixed by
 * the shape): an accumulator streams the chunk's planes of one channel, which a whole batch
 * (4 MiB on resnet20's first stage) would have to fetch from L3 for every piece. Within a
 * chunk, the pieces (output-channel block, input channel, kernel row) are shared among threads;
 * each dw entry is summed by one thread, chunk after chunk, in the order above, so the result
 * does not depend on the thread count. */
static void direct_dw(float *dw, const float *dout, const float *in, int B,
                      const sal_conv_shape *s, int threads) {
    const int OD = s->K == 3 ? 4 : 2, per_blk = s->C * s->K;
    const int items = (s->O + OD - 1) / OD * per_blk;
    const size_t sample = ((size_t)s->H * s->W + (size_t)OD * s->OH * s->OW) * sizeof(float);
    const int chunk = sample >= SAL_CONV_L1_BUDGET ? 1 : (int)(SAL_CONV_L1_BUDGET / sample);
#pragma omp parallel num_threads(threads)
    for (int b0 = 0; b0 < B; b0 += chunk) {
        const int b1 = B - b0 < chunk ? B : b0 + chunk;
#pragma omp for schedule(static)
        for (int k = 0; k < items; k++) {
            const int o0 = OD * (k / per_blk), c = k % per_blk / s->K, ky = k % s->K;
            const int left = s->O - o0;
            if (s->K == 5) {
                if (left >= 2) direct_dw_block(dw, dout, in, b0, b1, o0, c, ky, s, 5, 2);
                else direct_dw_block(dw, dout, in, b0, b1, o0, c, ky, s, 5, 1);
            } else {
                if (left >= 4) direct_dw_block(dw, dout, in, b0, b1, o0, c, ky, s, 3, 4);
                else if (left == 3) direct_dw_block(dw, dout, in, b0, b1, o0, c, ky, s, 3, 3);
                else if (left == 2) direct_dw_block(dw, dout, in, b0, b1, o0, c, ky, s, 3, 2);
                else direct_dw_block(dw, dout, in, b0, b1, o0, c, ky, s, 3, 1);
            }
        }
    }
}
#endif

#ifdef __AVX512F__
/* ---- direct kernel over output channels (stride 1, K = 3 or 5, O a multiple of 16) ----
 * The kernels above fill their vectors along output rows, so an 8-wide map (resnet20's last
 * stage) leaves half of each empty. This one puts 16 output channels in a vector instead: for
 * each tap it loads OV weight vectors and broadcasts PX input pixels into OV*PX accumulators
 * (4 x 4: 8 loads per 16 FMAs), from weights packed (C, K, K, O) by pack_oc. The finished
 * vectors are scattered to their (O, OH, OW) planes (one scatter per 16*C*K*K multiply-adds).
 * Summation order per output: bias (or 0), then c, ky, kx; with accumulate the finished sum
 * is added to out, as direct_fwd does. */
SAL_INLINE void oc_block(float *out, int accumulate, const float *pad, const float *wk,
                         const float *b, int g, int oy, int x0, int o0, const sal_conv_shape *s,
                         const int K, const int OV, const int PX) {
    const int C = s->C, O = s->O, OHW = s->OH * s->OW, Hp = padded_h(s), Wp = padded_w(s);
    __m512 acc[16]; /* (px, ov): OV * PX <= 16 */
    for (int ov = 0; ov < OV; ov++) {
        const __m512 init = b ? _mm512_loadu_ps(b + o0 + 16 * ov) : _mm512_setzero_ps();
        for (int px = 0; px < PX; px++) acc[px * OV + ov] = init;
    }
    for (int c = 0; c < C; c++) {
        const float *plane = pad + ((size_t)g * C + c) * Hp * Wp + (size_t)oy * Wp + x0;
        const float *wc = wk + (size_t)c * K * K * O + o0;
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                __m512 wv[4];
                for (int ov = 0; ov < OV; ov++)
                    wv[ov] = _mm512_loadu_ps(wc + (size_t)(ky * K + kx) * O + 16 * ov);
                for (int px = 0; px < PX; px++) {
                    const __m512 x = _mm512_set1_ps(plane[ky * Wp + kx + px]);
                    for (int ov = 0; ov < OV; ov++)
                        acc[px * OV + ov] = _mm512_fmadd_ps(wv[ov], x, acc[px * OV + ov]);
                }
            }
    }
    const __m512i idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(OHW));
    float *dst = out + ((size_t)g * O + o0) * OHW + (size_t)oy * s->OW + x0;
    for (int ov = 0; ov < OV; ov++)
        for (int px = 0; px < PX; px++) {
            float *d = dst + (size_t)16 * ov * OHW + px;
            __m512 v = acc[px * OV + ov];
            if (accumulate) v = _mm512_add_ps(_mm512_i32gather_ps(idx, d, 4), v);
            _mm512_i32scatter_ps(d, idx, v, 4);
        }
}

/* One output row of one sample: channels in blocks of 64/32/16, pixels in blocks of 4/2/1. */
SAL_INLINE void oc_row(float *out, int acc, const float *pad, const float *wk, const float *b,
                       int g, int oy, int o0, const sal_conv_shape *s, const int K,
                       const int OV) {
    int x0 = 0;
    for (; s->OW - x0 >= 4; x0 += 4) oc_block(out, acc, pad, wk, b, g, oy, x0, o0, s, K, OV, 4);
    for (; s->OW - x0 >= 2; x0 += 2) oc_block(out, acc, pad, wk, b, g, oy, x0, o0, s, K, OV, 2);
    for (; x0 < s->OW; x0++) oc_block(out, acc, pad, wk, b, g, oy, x0, o0, s, K, OV, 1);
}

SAL_INLINE void direct_oc_k(float *out, int acc, const float *pad, const float *wk,
                            const float *b, int G, const sal_conv_shape *s, const int K) {
    for (int g = 0; g < G; g++)
        for (int oy = 0; oy < s->OH; oy++) {
            int o0 = 0;
            for (; s->O - o0 >= 64; o0 += 64) oc_row(out, acc, pad, wk, b, g, oy, o0, s, K, 4);
            for (; s->O - o0 >= 32; o0 += 32) oc_row(out, acc, pad, wk, b, g, oy, o0, s, K, 2);
            for (; s->O - o0 >= 16; o0 += 16) oc_row(out, acc, pad, wk, b, g, oy, o0, s, K, 1);
        }
}

static void direct_oc(float *out, int accumulate, const float *pad, const float *wk,
                      const float *b, int G, const sal_conv_shape *s) {
    if (s->K == 5) direct_oc_k(out, accumulate, pad, wk, b, G, s, 5);
    else direct_oc_k(out, accumulate, pad, wk, b, G, s, 3);
}

/* The weight gradient over output channels: dwT[c, ky, :, o0..o0+16*OV] (+)= sum over the
 * group's pixels of dout[g, o0.., oy, ox] (one vector, from dT (G, OH, OW, O)) times the padded
 * input at (oy + ky, ox + kx), broadcast. OV*K accumulators (4 x 3: 7 loads per 12 FMAs) and
 * no horizontal sums. dwT is dw transposed to (C, K, K, O), so that adding each group's sums
 * (the GEMM path's order: group by group) is whole-vector loads and stores; scattering them
 * into dw's (O, C, K, K) took as long as the multiply-adds. */
SAL_INLINE void dw_oc_block(float *dwT, const float *dT, const float *pad, int G, int o0, int c,
                            int ky, int accumulate, const sal_conv_shape *s, const int K,
                            const int OV) {
    const int C = s->C, O = s->O, OH = s->OH, OW = s->OW, Hp = padded_h(s), Wp = padded_w(s);
    __m512 acc[4 * 5]; /* (ov, kx) */
    for (int i = 0; i < OV * K; i++) acc[i] = _mm512_setzero_ps();
    for (int g = 0; g < G; g++)
        for (int oy = 0; oy < OH; oy++) {
            const float *row = pad + ((size_t)g * C + c) * Hp * Wp + (size_t)(oy + ky) * Wp;
            const float *dr = dT + ((size_t)g * OH + oy) * OW * O + o0;
            for (int ox = 0; ox < OW; ox++) {
                __m512 d[4];
                for (int ov = 0; ov < OV; ov++) {
                    d[ov] = _mm512_loadu_ps(dr + (size_t)ox * O + 16 * ov);
                    /* keep it in a register: GCC otherwise folds this load into each of the K
                     * FMAs that use it (15 loads per 12 FMAs, load-bound at ~75 GFLOP/s) */
                    __asm__("" : "+v"(d[ov]));
                }
                for (int kx = 0; kx < K; kx++) {
                    const __m512 x = _mm512_set1_ps(row[ox + kx]);
                    for (int ov = 0; ov < OV; ov++)
                        acc[ov * K + kx] = _mm512_fmadd_ps(d[ov], x, acc[ov * K + kx]);
                }
            }
        }
    float *dst = dwT + ((size_t)c * K + ky) * K * O + o0;
    for (int ov = 0; ov < OV; ov++)
        for (int kx = 0; kx < K; kx++) {
            float *d = dst + (size_t)kx * O + 16 * ov;
            __m512 v = acc[ov * K + kx];
            if (accumulate) v = _mm512_add_ps(_mm512_loadu_ps(d), v);
            _mm512_storeu_ps(d, v);
        }
}

/* One group: dT <- dout transposed to (G, OH, OW, O), then pieces (channel block of 64/32/16,
 * input channel, kernel row) shared among threads, each dw entry summed by one thread. */
static void direct_dw_oc(float *dwT, float *dT, const float *dout, const float *pad, int G,
                         int accumulate, const sal_conv_shape *s, int threads) {
    const int O = s->O, OHW = s->OH * s->OW, n64 = O / 64, n32 = O % 64 / 32;
    const int nblk = n64 + n32 + O % 32 / 16, per_blk = s->C * s->K;
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(static)
        for (int g = 0; g < G; g++)
            for (int o = 0; o < O; o++)
                for (int p = 0; p < OHW; p++)
                    dT[((size_t)g * OHW + p) * O + o] = dout[((size_t)g * O + o) * OHW + p];
#pragma omp for schedule(static)
        for (int k = 0; k < nblk * per_blk; k++) {
            const int blk = k / per_blk, c = k % per_blk / s->K, ky = k % s->K;
            const int OV = blk < n64 ? 4 : blk < n64 + n32 ? 2 : 1;
            const int o0 = blk < n64 ? 64 * blk : blk < n64 + n32 ? 64 * n64 : 64 * n64 + 32 * n32;
            if (s->K == 5) {
                if (OV == 4) dw_oc_block(dwT, dT, pad, G, o0, c, ky, accumulate, s, 5, 4);
                else if (OV == 2) dw_oc_block(dwT, dT, pad, G, o0, c, ky, accumulate, s, 5, 2);
                else dw_oc_block(dwT, dT, pad, G, o0, c, ky, accumulate, s, 5, 1);
            } else {
                if (OV == 4) dw_oc_block(dwT, dT, pad, G, o0, c, ky, accumulate, s, 3, 4);
                else if (OV == 2) dw_oc_block(dwT, dT, pad, G, o0, c, ky, accumulate, s, 3, 2);
                else dw_oc_block(dwT, dT, pad, G, o0, c, ky, accumulate, s, 3, 1);
            }
        }
    }
}

/* wk (C, K, K, O) <- w (O, C, K, K), the layout direct_oc reads; with din, the weights of the
 * input gradient's convolution (use_direct_din) are packed instead: wk (O, K, K, C) holding
 * w[o, c] with its taps reversed. */
static void pack_oc(float *wk, const float *w, const sal_conv_shape *s, int din) {
    const int O = s->O, C = s->C, K = s->K, KK = K * K;
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < KK; k++) {
                const float v = w[((size_t)o * C + c) * KK + k];
                if (din) wk[((size_t)o * KK + KK - 1 - k) * C + c] = v;
                else wk[((size_t)c * KK + k) * O + o] = v;
            }
}
#endif

/* Whether the direct kernels above apply to this shape in this build, and beat im2col + SGEMM.
 * Measured per layer shape (docs/performance.md): both kernels fill their 16 lanes when
 * output rows are 16 wide or more, and win on few input channels whatever the width (LeNet's
 * 10-wide conv2), where the GEMM's reduction is short. Elsewhere (ResNet's 8x8 and 4x4 maps
 * with 64+ channels) half-empty vectors lose to the GEMMs. */
#ifdef __AVX512F__
static int use_direct(const sal_conv_shape *s) {
    if (s->stride != 1 || (s->K != 3 && s->K != 5)) return 0;
    return s->OW >= 16 || s->C <= 16;
}
#endif

#ifdef __AVX512F__
/* Where the row kernels lose (rows under 16 wide, more than 16 input channels): the kernel over
 * output channels, where O is a multiple of 16 and its packed weights stay in L2, since every
 * row of every sample streams all of them (resnet20's 64-channel 8x8 layers, 144 KiB; not
 * ResNet-18's 256- and 512-channel ones, 2.3 and 9 MiB, which ran 2x slower than the GEMMs).
 * The scratch holds them: colstage_floats counts C*O*K*K. */
static int use_direct_oc(const sal_conv_shape *s) {
    if (s->stride != 1 || (s->K != 3 && s->K != 5) || s->O % 16 || use_direct(s)) return 0;
    return (size_t)s->O * s->C * s->K * s->K * sizeof(float) <= SAL_CONV_L2_BUDGET;
}
#endif

static int use_direct_dw(const sal_conv_shape *s) {
#ifdef __AVX512F__
    return use_direct(s);
#else
    (void)s;
    return 0;
#endif
}

#ifdef __AVX512F__
/* The input gradient of a stride-1 convolution is itself a stride-1 convolution: of the output
 * gradient padded by K - 1 - pad, with the weights' channel axes swapped and their taps
 * reversed (din[c, y, x] = sum over o, ky, kx of dout[o, y + pad - ky, x + pad - kx]
 * w[o, c, ky, kx]). Where the direct forward kernel wins on that shape, it replaces the GEMM
 * w^T @ dout (K*K times the input's size in columns, 55-72 GFLOP/s on resnet20's 16- and
 * 32-channel layers) and the col2im that sums those columns back. Fills t with that shape. */
static int use_direct_din(sal_conv_shape *t, const sal_conv_shape *s) {
    if (s->stride != 1 || (s->K != 3 && s->K != 5) || s->pad > s->K - 1) return 0;
    if (sal_conv_shape_init(t, s->O, s->OH, s->OW, s->C, s->K, 1, s->K - 1 - s->pad)) return 0;
    t->group = s->group;
    return use_direct(t) || use_direct_oc(t);
}

/* wt (C, O, K, K) <- w (O, C, K, K) with the K*K taps reversed */
static void flip_weights(float *wt, const float *w, const sal_conv_shape *s) {
    const int KK = s->K * s->K;
    for (int c = 0; c < s->C; c++)
        for (int o = 0; o < s->O; o++) {
            const float *src = w + ((size_t)o * s->C + c) * KK;
            float *dst = wt + ((size_t)c * s->O + o) * KK;
            for (int k = 0; k < KK; k++) dst[k] = src[KK - 1 - k];
        }
}
#endif

/* The three parts of one thread's scratch: column buffer (CKK, G*OHW), staging (O, G*OHW),
 * padded input (G, C, Hp, Wp). */
typedef struct {
    float *col, *stage, *pad;
} parts;

static parts scratch_parts(float *scratch, const sal_conv_shape *s, int thread) {
    const size_t CKK = (size_t)s->C * s->K * s->K, N = (size_t)s->group * s->OH * s->OW;
    parts p;
    p.col = scratch + (size_t)thread * sal_conv_scratch_floats(s);
    p.stage = p.col + CKK * N + SAL_CONV_GUARD;
    p.pad = p.col + colstage_floats(s);
    return p;
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* One group of G samples starting at b0: out = conv(in) + b, with this thread's scratch. */
static void forward_group(float *out, const float *in, const float *w, const float *b, int b0,
                          int G, const sal_conv_shape *s, parts sc) {
    const int CKK = s->C * s->K * s->K, OHW = s->OH * s->OW, N = G * OHW;
    const size_t in_stride = (size_t)s->C * s->H * s->W, out_stride = (size_t)s->O * OHW;
    pad_input(sc.pad, in + b0 * in_stride, G, s);
#ifdef __AVX512F__
    if (use_direct(s)) {
        direct_fwd(out + b0 * out_stride, 0, sc.pad, w, b, G, s);
        return;
    }
    if (use_direct_oc(s)) {
        pack_oc(sc.col, w, s, 0);
        direct_oc(out + b0 * out_stride, 0, sc.pad, sc.col, b, G, s);
        return;
    }
#endif
    im2col(sc.col, sc.pad, G, s);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->O, N, CKK, 1.0f, w, CKK, sc.col, N,
                0.0f, sc.stage, N);
    /* (O, G, OHW) -> (G, O, OHW) with the bias added on the way */
    for (int g = 0; g < G; g++)
        for (int o = 0; o < s->O; o++) {
            float *restrict dst = out + (b0 + g) * out_stride + (size_t)o * OHW;
            const float *restrict src = sc.stage + (size_t)o * N + (size_t)g * OHW;
            const float bias = b ? b[o] : 0.0f;
            for (int i = 0; i < OHW; i++) dst[i] = src[i] + bias;
        }
}

void sal_conv2d_forward_mt(float *out, const float *in, const float *w, const float *b, int B,
                           const sal_conv_shape *s, float *scratch, int threads) {
    /* Groups of samples are independent: each is computed whole by one thread, so the output
     * is the same for any thread count. */
    const int ngroups = (B + s->group - 1) / s->group;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int k = 0; k < ngroups; k++) {
        const int b0 = k * s->group, G = B - b0 < s->group ? B - b0 : s->group;
        forward_group(out, in, w, b, b0, G, s, scratch_parts(scratch, s, thread_id()));
    }
}

void sal_conv2d_forward(float *out, const float *in, const float *w, const float *b, int B,
                        const sal_conv_shape *s, float *scratch) {
    sal_conv2d_forward_mt(out, in, w, b, B, s, scratch, 1);
}

/* dout of samples [b0, b0 + G) as (O, G*OHW), the layout the GEMMs want. */
static void stage_dout(float *stage, const float *dout, int b0, int G, const sal_conv_shape *s) {
    const int OHW = s->OH * s->OW, N = G * OHW;
    const size_t out_stride = (size_t)s->O * OHW;
    for (int g = 0; g < G; g++)
        for (int o = 0; o < s->O; o++)
            memcpy(stage + (size_t)o * N + (size_t)g * OHW,
                   dout + (b0 + g) * out_stride + (size_t)o * OHW, sizeof(float) * OHW);
}

/* Columns of dw per GEMM tile: a split fixed by the shape, whatever the thread count, so that
 * every entry comes from the same GEMM call (and the same summation order) for 1 thread or 16.
 * About 128 columns a tile (each call repacks dout), in a multiple of 4 tiles so that 2 and 4
 * threads get equal shares (ResNet-18's 576 columns were 5 tiles: 3 for one thread, 2 for the
 * other), 16-aligned. */
static int dw_tile(int CKK) {
    int ntiles = (CKK + 127) / 128;
    ntiles = (ntiles + 3) & ~3;
    return ((CKK + ntiles - 1) / ntiles + 15) & ~15;
}

void sal_conv2d_backward_mt(float *din, int accumulate, float *dw, float *db, const float *dout,
                            const float *in, const float *w, int B, const sal_conv_shape *s,
                            float *scratch, int threads) {
    const int CKK = s->C * s->K * s->K, OHW = s->OH * s->OW;
    const size_t in_stride = (size_t)s->C * s->H * s->W, out_stride = (size_t)s->O * OHW;
    if (db)
        for (int o = 0; o < s->O; o++) {
            float acc = 0.0f;
            for (int b = 0; b < B; b++)
                acc += sal_sum16(dout + b * out_stride + (size_t)o * OHW, OHW);
            db[o] = acc;
        }
    /* dw: direct, over the whole batch at once; or the groups in order (each adds to dw), the
     * work of each spread over threads by fixed column tiles of dw (GEMM). */
    const parts sc0 = scratch_parts(scratch, s, 0);
    const int direct = use_direct_dw(s), tile = dw_tile(CKK), ntiles = (CKK + tile - 1) / tile;
#ifdef __AVX512F__
    const int oc = !direct && use_direct_oc(s) && s->O <= s->group * OHW; /* dwT fits */
#endif
#ifdef __AVX512F__
    if (direct) direct_dw(dw, dout, in, B, s, threads);
#endif
    for (int b0 = 0; !direct && b0 < B; b0 += s->group) {
        const int G = B - b0 < s->group ? B - b0 : s->group, N = G * OHW;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int gc = 0; gc < G * s->C; gc++) pad_planes(sc0.pad, in + b0 * in_stride, gc, gc + 1, s);
#ifdef __AVX512F__
        if (oc) {
            /* dw transposed in the (unused) column buffer, dout transposed in the staging */
            direct_dw_oc(sc0.col, sc0.stage, dout + b0 * out_stride, sc0.pad, G, b0 != 0, s,
                         threads);
            if (b0 + G >= B)
                for (int o = 0; o < s->O; o++)
                    for (int j = 0; j < CKK; j++)
                        dw[(size_t)o * CKK + j] = sc0.col[(size_t)j * s->O + o];
            continue;
        }
#endif
        /* Every piece below is a copy or a whole dot product: which thread does it cannot
         * change a bit. */
#pragma omp parallel num_threads(threads)
        {
#pragma omp for schedule(static)
            for (int o = 0; o < s->O; o++)
                for (int g = 0; g < G; g++)
                    memcpy(sc0.stage + (size_t)o * N + (size_t)g * OHW,
                           dout + (b0 + g) * out_stride + (size_t)o * OHW, sizeof(float) * OHW);
#pragma omp for schedule(static)
            for (int c = 0; c < s->C; c++) im2col_channels(sc0.col, sc0.pad, G, s, c, c + 1);
            /* dw[:, j0:j1] (O, J) (+)= dout (O, N) @ col[j0:j1]^T (N, J) */
#pragma omp for schedule(static)
            for (int k = 0; k < ntiles; k++) {
                const int j0 = k * tile, J = CKK - j0 < tile ? CKK - j0 : tile;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->O, J, N, 1.0f, sc0.stage,
                            N, sc0.col + (size_t)j0 * N, N, b0 == 0 ? 0.0f : 1.0f, dw + j0, CKK);
            }
        }
    }
    if (!din) return;
    /* din: groups are independent, each whole on one thread with its own scratch. */
    const int ngroups = (B + s->group - 1) / s->group;
#ifdef __AVX512F__
    sal_conv_shape t;
    if (use_direct_din(&t, s)) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int k = 0; k < ngroups; k++) {
            const int b0 = k * s->group, G = B - b0 < s->group ? B - b0 : s->group;
            /* padded dout, then the flipped weights, in the column/staging region */
            float *dpad = scratch_parts(scratch, s, thread_id()).col;
            float *wt = dpad + (size_t)s->group * t.C * padded_h(&t) * padded_w(&t);
            pad_input(dpad, dout + b0 * out_stride, G, &t);
            if (use_direct(&t)) {
                flip_weights(wt, w, s);
                direct_fwd(din + b0 * in_stride, accumulate, dpad, wt, NULL, G, &t);
            } else {
                pack_oc(wt, w, s, 1);
                direct_oc(din + b0 * in_stride, accumulate, dpad, wt, NULL, G, &t);
            }
        }
        return;
    }
#endif
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int k = 0; k < ngroups; k++) {
        const int b0 = k * s->group, G = B - b0 < s->group ? B - b0 : s->group, N = G * OHW;
        const parts sc = scratch_parts(scratch, s, thread_id());
        stage_dout(sc.stage, dout, b0, G, s);
        /* dcol (CKK, N) = w^T (CKK, O) @ dout (O, N) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, N, s->O, 1.0f, w, CKK, sc.stage,
                    N, 0.0f, sc.col, N);
        col2im(din + b0 * in_stride, accumulate, sc.pad, sc.col, G, s);
    }
}

void sal_conv2d_backward(float *din, int accumulate, float *dw, float *db, const float *dout,
                         const float *in, const float *w, int B, const sal_conv_shape *s,
                         float *scratch) {
    sal_conv2d_backward_mt(din, accumulate, dw, db, dout, in, w, B, s, scratch, 1);
}
