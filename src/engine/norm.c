/* norm.c - GroupNorm and BatchNorm2d forward and backward over NCHW activations.
 * Statistics are summed in double, in a fixed order, by one thread per (sample, group) or per
 * channel: results do not depend on the thread count. Semantics are PyTorch's: biased variance
 * for normalising, eps inside the square root; BatchNorm's running variance is unbiased and is
 * updated with momentum as running = (1 - m) running + m batch (torch.nn.BatchNorm2d). */
#include "kernel_names.h" /* first: renames this level's copy (kernels.h) */
#include <math.h>
#include <stddef.h>

#include "salient/layers.h"

/* Sum and sum of squares of n floats, in 8 double lanes (vectorises without -ffast-math). */
static void sums(const float *x, size_t n, double *s1, double *s2) {
    double a[8] = {0}, q[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += x[i + j], q[j] += (double)x[i + j] * x[i + j];
    for (; i < n; i++) a[i & 7] += x[i], q[i & 7] += (double)x[i] * x[i];
    double r1 = 0, r2 = 0;
    for (int j = 0; j < 8; j++) r1 += a[j], r2 += q[j];
    *s1 += r1, *s2 += r2;
}

/* sum(dy) and sum(dy * (x - mu)) over n floats, in 8 double lanes. */
static void dsums(const float *dy, const float *x, float mu, size_t n, double *sd, double *sdx) {
    double a[8] = {0}, q[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += dy[i + j], q[j] += (double)dy[i + j] * (x[i + j] - mu);
    for (; i < n; i++) a[i & 7] += dy[i], q[i & 7] += (double)dy[i] * (x[i] - mu);
    double r1 = 0, r2 = 0;
    for (int j = 0; j < 8; j++) r1 += a[j], r2 += q[j];
    *sd += r1, *sdx += r2;
}

/* y = x * scale + shift over one plane */
static void affine(float *restrict y, const float *restrict x, float scale, float shift,
                   size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

/* dx (=|+=) k1 * dy + k2 * (x - mu) + k3 over one plane */
static void dx_plane(float *restrict dx, int accumulate, const float *restrict dy,
                     const float *restrict x, float mu, float k1, float k2, float k3, size_t n) {
    if (accumulate)
        for (size_t i = 0; i < n; i++) dx[i] += k1 * dy[i] + k2 * (x[i] - mu) + k3;
    else
        for (size_t i = 0; i < n; i++) dx[i] = k1 * dy[i] + k2 * (x[i] - mu) + k3;
}

void sal_groupnorm_forward(float *y, float *mean, float *rstd, const float *x,
                           const float *gamma, const float *beta, int B, int C, int HW, int G,
                           float eps) {
    const int cpg = C / G;
    const size_t gsize = (size_t)cpg * HW;
#pragma omp parallel for schedule(static)
    for (int bg = 0; bg < B * G; bg++) {
        const size_t base = (size_t)bg * gsize; /* groups are contiguous in NCHW */
        double s1 = 0, s2 = 0;
        sums(x + base, gsize, &s1, &s2);
        double mu = s1 / gsize, var = s2 / gsize - mu * mu;
        if (var < 0) var = 0;
        float r = (float)(1.0 / sqrt(var + eps));
        mean[bg] = (float)mu, rstd[bg] = r;
        const int c0 = (bg % G) * cpg;
        for (int c = 0; c < cpg; c++) {
            float sc = r * gamma[c0 + c];
            affine(y + base + (size_t)c * HW, x + base + (size_t)c * HW, sc,
                   beta[c0 + c] - (float)mu * sc, HW);
        }
    }
}

/* With xhat = (x - mu) rstd, dxhat = dy gamma, n = group size:
 *   dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),
 *   dgamma_c = sum dy xhat, dbeta_c = sum dy (over samples and pixels).
 * part (B, C, 2) receives each (sample, channel)'s sum(dy) and sum(dy (x - mu)) so that dgamma
 * and dbeta are then summed over samples in order, whichever thread computed each sample. */
void sal_groupnorm_backward(float *dx, int accumulate, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *mean, const float *rstd,
                            const float *gamma, int B, int C, int HW, int G, double *part) {
    const int cpg = C / G;
    const size_t gsize = (size_t)cpg * HW;
#pragma omp parallel for schedule(static)
    for (int bg = 0; bg < B * G; bg++) {
        const size_t base = (size_t)bg * gsize;
        const int c0 = (bg % G) * cpg, b = bg / G;
        const float mu = mean[bg], r = rstd[bg];
        double a = 0, q = 0; /* sum dxhat, sum dxhat (x - mu) */
        for (int c = 0; c < cpg; c++) {
            double sd = 0, sdx = 0;
            dsums(dy + base + (size_t)c * HW, x + base + (size_t)c * HW, mu, HW, &sd, &sdx);
            part[((size_t)b * C + c0 + c) * 2] = sd;
            part[((size_t)b * C + c0 + c) * 2 + 1] = sdx;
            a += sd * gamma[c0 + c], q += sdx * gamma[c0 + c];
        }
        /* dx = r dy gamma - r mean(dxhat) - r^3 (x - mu) mean(dxhat (x - mu)) */
        const float k3 = (float)(-r * a / gsize), k2 = (float)(-(double)r * r * r * q / gsize);
        for (int c = 0; dx && c < cpg; c++)
            dx_plane(dx + base + (size_t)c * HW, accumulate, dy + base + (size_t)c * HW,
                     x + base + (size_t)c * HW, mu, r * gamma[c0 + c], k2, k3, HW);
    }
    for (int c = 0; c < C; c++) {
        double sd = 0, sdx = 0;
        for (int b = 0; b < B; b++) {
            sd += part[((size_t)b * C + c) * 2];
            /* sum dy xhat = rstd_(b, group) sum dy (x - mu) */
            sdx += part[((size_t)b * C + c) * 2 + 1] * rstd[b * G + c / cpg];
        }
        dbeta[c] = (float)sd, dgamma[c] = (float)sdx;
    }
}

void sal_batchnorm_forward_train(float *y, float *mean, float *rstd, float *run_mean,
                                 float *run_var, float *nbt, const float *x, const float *gamma,
                                 const float *beta, int B, int C, int HW, float eps,
                                 float momentum) {
    const size_t n = (size_t)B * HW;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double s1 = 0, s2 = 0;
        for (int b = 0; b < B; b++) sums(x + ((size_t)b * C + c) * HW, HW, &s1, &s2);
        double mu = s1 / n, var = s2 / n - mu * mu;
        if (var < 0) var = 0;
        float r = (float)(1.0 / sqrt(var + eps));
        mean[c] = (float)mu, rstd[c] = r;
        float sc = r * gamma[c], sh = beta[c] - (float)mu * sc;
        for (int b = 0; b < B; b++)
            affine(y + ((size_t)b * C + c) * HW, x + ((size_t)b * C + c) * HW, sc, sh, HW);
        if (momentum < 0) continue;
        double unbiased = n > 1 ? var * n / (n - 1) : var;
        run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + momentum * mu);
        run_var[c] = (float)((1.0 - momentum) * run_var[c] + momentum * unbiased);
    }
    if (momentum >= 0) *nbt += 1.0f;
}

void sal_batchnorm_forward_eval(float *y, const float *x, const float *run_mean,
                                const float *run_var, const float *gamma, const float *beta,
                                int B, int C, int HW, float eps) {
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        float sc = gamma[c] / sqrtf(run_var[c] + eps), sh = beta[c] - run_mean[c] * sc;
        for (int b = 0; b < B; b++)
            affine(y + ((size_t)b * C + c) * HW, x + ((size_t)b * C + c) * HW, sc, sh, HW);
    }
}

void sal_batchnorm_backward(float *dx, int accumulate, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *mean, const float *rstd,
                            const float *gamma, int B, int C, int HW) {
    const size_t n = (size_t)B * HW;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float mu = mean[c], r = rstd[c];
        double sd = 0, sdx = 0;
        for (int b = 0; b < B; b++)
            dsums(dy + ((size_t)b * C + c) * HW, x + ((size_t)b * C + c) * HW, mu, HW, &sd, &sdx);
        dbeta[c] = (float)sd, dgamma[c] = (float)(sdx * r);
        const double g = gamma[c];
        const float k3 = (float)(-r * g * sd / n), k2 = (float)(-(double)r * r * r * g * sdx / n);
        for (int b = 0; dx && b < B; b++)
            dx_plane(dx + ((size_t)b * C + c) * HW, accumulate, dy + ((size_t)b * C + c) * HW,
                     x + ((size_t)b * C + c) * HW, mu, r * gamma[c], k2, k3, HW);
    }
}

void sal_batchnorm_backward_eval(float *dx, int accumulate, float *dgamma, float *dbeta,
                                 const float *dy, const float *x, const float *run_mean,
                                 const float *run_var, const float *gamma, int B, int C, int HW,
                                 float eps) {
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        /* y = (x - mean) r gamma + beta with fixed mean and r: no term through the statistics */
        const float mu = run_mean[c], r = 1.0f / sqrtf(run_var[c] + eps);
        double sd = 0, sdx = 0;
        for (int b = 0; b < B; b++)
            dsums(dy + ((size_t)b * C + c) * HW, x + ((size_t)b * C + c) * HW, mu, HW, &sd, &sdx);
        dbeta[c] = (float)sd, dgamma[c] = (float)(sdx * r);
        if (!dx) continue;
        for (int b = 0; b < B; b++)
            dx_plane(dx + ((size_t)b * C + c) * HW, accumulate, dy + ((size_t)b * C + c) * HW,
                     x + ((size_t)b * C + c) * HW, mu, r * gamma[c], 0.0f, 0.0f, HW);
    }
}
