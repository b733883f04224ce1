/* activations.c - relu, max and average pooling, residual add and softmax cross-entropy. */
#include "kernel_names.h" /* first: renames this level's copy (kernels.h) */
#include <float.h>
#include <math.h>
#include <string.h>

#include "salient/layers.h"
#include "sum.h"

#ifdef __AVX512F__
#include <immintrin.h>
#endif

/* The elementwise loops below split over the model's OpenMP threads: no entry depends on
 * another, so results cannot depend on the thread count. */
void sal_relu_forward(float *y, const float *x, size_t n) {
#pragma omp parallel for schedule(static) if (n > SAL_PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void sal_relu_backward(float *dx, int accumulate, const float *dy, const float *y, size_t n) {
    if (accumulate) {
#pragma omp parallel for schedule(static) if (n > SAL_PAR_MIN)
        for (size_t i = 0; i < n; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
    } else {
#pragma omp parallel for schedule(static) if (n > SAL_PAR_MIN)
        for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
}

void sal_add_forward(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for schedule(static) if (n > SAL_PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void sal_grad_pass(float *dst, int accumulate, const float *src, size_t n) {
    if (dst == src) return; /* aliased by the planner: nothing to move */
    if (accumulate) {
#pragma omp parallel for schedule(static) if (n > SAL_PAR_MIN)
        for (size_t i = 0; i < n; i++) dst[i] += src[i];
    } else {
        memcpy(dst, src, sizeof(float) * n);
    }
}

/* Plane sums in 16 float lanes, combined in one fixed order (vectorises without -ffast-math).
 * torch sums in float too; the difference is within a float rounding of the mean. */
void sal_avgpool_forward(float *out, const float *in, int B, int C, int HW) {
    const float inv = 1.0f / (float)HW;
    for (size_t bc = 0; bc < (size_t)B * C; bc++) out[bc] = sal_sum16(in + bc * HW, HW) * inv;
}

void sal_avgpool_backward(float *din, int accumulate, const float *dout, int B, int C, int HW) {
    const float inv = 1.0f / (float)HW;
    for (size_t bc = 0; bc < (size_t)B * C; bc++) {
        float *d = din + bc * HW;
        const float v = dout[bc] * inv;
        if (accumulate)
            for (int i = 0; i < HW; i++) d[i] += v;
        else
            for (int i = 0; i < HW; i++) d[i] = v;
    }
}

/* Max pooling keeps no argmax: backward finds the window's first element equal to the output,
 * which is the element torch picks (first maximum in scan order). That saves a buffer and lets
 * both passes vectorise; the generic argmax loop was a quarter of a LeNet-5 training step.
 * Elements past the last full window (odd sizes, floor mode) get zero gradient. */
static inline float max2(float a, float b) { return a > b ? a : b; }

void sal_maxpool2d_forward(float *out, const float *in, int B, int C, int H, int W, int k) {
    const int OH = H / k, OW = W / k;
    for (int bc = 0; bc < B * C; bc++) {
        const float *plane = in + (size_t)bc * H * W;
        float *o = out + (size_t)bc * OH * OW;
        for (int oy = 0; oy < OH; oy++) {
            const float *r0 = plane + (size_t)oy * k * W;
            float *restrict orow = o + (size_t)oy * OW;
            if (k == 2) {
                const float *restrict a = r0, *restrict b = r0 + W;
                for (int ox = 0; ox < OW; ox++)
                    orow[ox] = max2(max2(a[2 * ox], a[2 * ox + 1]),
                                    max2(b[2 * ox], b[2 * ox + 1]));
                continue;
            }
            for (int ox = 0; ox < OW; ox++) {
                float m = r0[ox * k];
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) m = max2(m, r0[dy * W + ox * k + dx]);
                orow[ox] = m;
            }
        }
    }
}

#ifdef __AVX512F__
/* One output row of the 2x2 backward, 16 windows at a time: de-interleave each input row pair
 * into even and odd columns, pick the first element equal to the max with mask logic, and
 * interleave the routed gradients back. Same result as the scalar loop below. */
static void pool2_backward_row(float *da, float *db, const float *a, const float *b,
                               const float *orow, const float *grow, int OW) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
    for (int ox = 0; ox < OW; ox += 16) {
        int n = OW - ox < 16 ? OW - ox : 16;
        __mmask16 mo = (__mmask16)((1u << n) - 1);
        __mmask16 m0 = (__mmask16)(2 * n >= 16 ? 0xFFFF : (1u << 2 * n) - 1);
        __mmask16 m1 = (__mmask16)(2 * n > 16 ? (1u << (2 * n - 16)) - 1 : 0);
        const float *pa = a + 2 * ox, *pb = b + 2 * ox;
        __m512 a0 = _mm512_maskz_loadu_ps(m0, pa), a1 = _mm512_maskz_loadu_ps(m1, pa + 16);
        __m512 b0 = _mm512_maskz_loadu_ps(m0, pb), b1 = _mm512_maskz_loadu_ps(m1, pb + 16);
        __m512 m = _mm512_maskz_loadu_ps(mo, orow + ox), g = _mm512_maskz_loadu_ps(mo, grow + ox);
        __mmask16 k0 = _mm512_cmp_ps_mask(_mm512_permutex2var_ps(a0, even, a1), m, _CMP_EQ_OQ);
        __mmask16 k1 = _mm512_cmp_ps_mask(_mm512_permutex2var_ps(a0, odd, a1), m, _CMP_EQ_OQ) & ~k0;
        __mmask16 k2 =
            _mm512_cmp_ps_mask(_mm512_permutex2var_ps(b0, even, b1), m, _CMP_EQ_OQ) & ~(k0 | k1);
        __mmask16 k3 = ~(k0 | k1 | k2);
        __m512 ge = _mm512_maskz_mov_ps(k0, g), go = _mm512_maskz_mov_ps(k1, g);
        _mm512_mask_storeu_ps(da + 2 * ox, m0, _mm512_permutex2var_ps(ge, lo, go));
        _mm512_mask_storeu_ps(da + 2 * ox + 16, m1, _mm512_permutex2var_ps(ge, hi, go));
        ge = _mm512_maskz_mov_ps(k2, g), go = _mm512_maskz_mov_ps(k3, g);
        _mm512_mask_storeu_ps(db + 2 * ox, m0, _mm512_permutex2var_ps(ge, lo, go));
        _mm512_mask_storeu_ps(db + 2 * ox + 16, m1, _mm512_permutex2var_ps(ge, hi, go));
    }
}
#endif

void sal_maxpool2d_backward(float *din, const float *dout, const float *in, const float *out,
                            int B, int C, int H, int W, int k) {
    const int OH = H / k, OW = W / k;
    if (OH * k != H || OW * k != W) memset(din, 0, sizeof(float) * (size_t)B * C * H * W);
    for (int bc = 0; bc < B * C; bc++) {
        const float *plane = in + (size_t)bc * H * W;
        float *dplane = din + (size_t)bc * H * W;
        const float *o = out + (size_t)bc * OH * OW, *g = dout + (size_t)bc * OH * OW;
        for (int oy = 0; oy < OH; oy++) {
            const float *r0 = plane + (size_t)oy * k * W;
            float *d0 = dplane + (size_t)oy * k * W;
            const float *orow = o + (size_t)oy * OW, *grow = g + (size_t)oy * OW;
            if (k == 2) {
#ifdef __AVX512F__
                pool2_backward_row(d0, d0 + W, r0, r0 + W, orow, grow, OW);
                continue;
#endif
                const float *restrict a = r0, *restrict b = r0 + W;
                float *restrict da = d0, *restrict db = d0 + W;
                for (int ox = 0; ox < OW; ox++) {
                    const float m = orow[ox], gv = grow[ox];
                    const int t0 = a[2 * ox] == m, t1 = !t0 && a[2 * ox + 1] == m;
                    const int t2 = !t0 && !t1 && b[2 * ox] == m, t3 = !t0 && !t1 && !t2;
                    da[2 * ox] = t0 ? gv : 0.0f;
                    da[2 * ox + 1] = t1 ? gv : 0.0f;
                    db[2 * ox] = t2 ? gv : 0.0f;
                    db[2 * ox + 1] = t3 ? gv : 0.0f;
                }
                continue;
            }
            for (int ox = 0; ox < OW; ox++) {
                int found = 0;
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) {
                        int i = dy * W + ox * k + dx;
                        int hit = !found && r0[i] == orow[ox];
                        d0[i] = hit ? grow[ox] : 0.0f;
                        found |= hit;
                    }
            }
        }
    }
}

double sal_xent_forward(float *probs, const float *logits, const int *y, int B, int K,
                        int *correct) {
    double loss = 0.0;
    int right = 0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * K;
        float *p = probs + (size_t)i * K;
        float m = -FLT_MAX;
        int arg = 0;
        for (int j = 0; j < K; j++)
            if (z[j] > m) m = z[j], arg = j;
        double sum = 0.0;
        for (int j = 0; j < K; j++) sum += (p[j] = expf(z[j] - m));
        for (int j = 0; j < K; j++) p[j] = (float)(p[j] / sum);
        /* log-sum-exp form: -log softmax_y = m + log(sum) - z_y, stable for large logits */
        loss += (double)m + log(sum) - (double)z[y[i]];
        right += arg == y[i];
    }
    if (correct) *correct = right;
    return loss / B;
}

void sal_xent_backward(float *dlogits, const float *probs, const int *y, int B, int K) {
    const float inv = 1.0f / (float)B;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < K; j++)
            dlogits[(size_t)i * K + j] = (probs[(size_t)i * K + j] - (j == y[i])) * inv;
}
