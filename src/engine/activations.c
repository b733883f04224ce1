/* activations.c - relu, max pooling and softmax cross-entropy. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "salient/layers.h"

void sal_relu_forward(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void sal_relu_backward(float *dx, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dx[i] : 0.0f;
}

void sal_maxpool2d_forward(float *out, int *argmax, const float *in, int B, int C, int H, int W,
                           int k) {
    const int OH = H / k, OW = W / k;
    for (int bc = 0; bc < B * C; bc++) {
        const float *plane = in + (size_t)bc * H * W;
        int base = (bc % C) * H * W; /* offset of this channel within its sample */
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int best = (oy * k) * W + ox * k;
                float m = plane[best];
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) {
                        int i = (oy * k + dy) * W + ox * k + dx;
                        /* strict > keeps the first maximum, as PyTorch does; NaN propagates */
                        if (plane[i] > m || isnan(plane[i])) {
                            m = plane[i];
                            best = i;
                        }
                    }
                size_t o = (size_t)bc * OH * OW + (size_t)oy * OW + ox;
                out[o] = m;
                argmax[o] = base + best;
            }
    }
}

void sal_maxpool2d_backward(float *din, const float *dout, const int *argmax, int B, int C,
                            int H, int W, int k) {
    const size_t in_per = (size_t)C * H * W, out_per = (size_t)C * (H / k) * (W / k);
    memset(din, 0, sizeof(float) * in_per * B);
    for (int b = 0; b < B; b++)
        for (size_t o = 0; o < out_per; o++)
            din[b * in_per + argmax[b * out_per + o]] += dout[b * out_per + o];
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
