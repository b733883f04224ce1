/* randk.c - Rand-k index draws, the server's accumulators and the plain, spatial and temporal
 * decoders with their closed-form errors (randk.h). Accumulators are doubles: a float sum over
 * many clients would depend on the order, and the decoders divide by small counts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "salient/randk.h"

size_t sal_randk_count(size_t d, double density) {
    if (d == 0) return 0;
    double k = nearbyint(density * (double)d);
    if (k < 1) k = 1;
    return k > (double)d ? d : (size_t)k;
}

void sal_randk_indices(sal_rng *r, size_t d, size_t k, size_t *idx) {
    /* Algorithm S (TAOCP 3.4.2): take j with probability (still needed) / (still left). When the
     * two are equal the test always passes, so exactly k are taken, in ascending order. */
    size_t got = 0;
    for (size_t j = 0; j < d && got < k; j++)
        if ((double)(d - j) * sal_rng_uniform(r) < (double)(k - got)) idx[got++] = j;
}

sal_status sal_randk_acc_init(sal_randk_acc *acc, sal_randk_decoder decoder, size_t d,
                              sal_err *err) {
    memset(acc, 0, sizeof *acc);
    acc->decoder = decoder;
    acc->d = d;
    const size_t n = d ? d : 1;
    acc->a = malloc(sizeof(double) * n);
    acc->m = malloc(sizeof(int) * n);
    if (decoder != SAL_RANDK_PLAIN) acc->b = malloc(sizeof(double) * n);
    if (!acc->a || !acc->m || (decoder != SAL_RANDK_PLAIN && !acc->b)) {
        sal_randk_acc_free(acc);
        return sal_fail(err, SAL_ENOMEM, "out of memory for Rand-k accumulators of %zu entries", d);
    }
    sal_randk_acc_reset(acc);
    return SAL_OK;
}

void sal_randk_acc_reset(sal_randk_acc *acc) {
    acc->clients = 0;
    acc->wsum = acc->sx = acc->sd = 0;
    memset(acc->a, 0, sizeof(double) * acc->d);
    memset(acc->m, 0, sizeof(int) * acc->d);
    if (acc->b) memset(acc->b, 0, sizeof(double) * acc->d);
}

void sal_randk_acc_free(sal_randk_acc *acc) {
    free(acc->a), free(acc->b), free(acc->m);
    acc->a = acc->b = NULL;
    acc->m = NULL;
}

void sal_randk_fold(sal_randk_acc *acc, const size_t *idx, const float *vals, size_t k, double w,
                    float *memory) {
    if (acc->decoder == SAL_RANDK_TEMPORAL) /* the old memory, every entry: it fills in */
        for (size_t j = 0; j < acc->d; j++) acc->b[j] += w * memory[j];
    for (size_t t = 0; t < k; t++) {
        const size_t j = idx[t];
        const double x = vals[t];
        acc->m[j]++;
        if (acc->decoder == SAL_RANDK_TEMPORAL) {
            const double u = x - memory[j];
            acc->a[j] += w * u;
            acc->sx += w * w * x * x;
            acc->sd += w * w * u * u;
            memory[j] = vals[t]; /* read above: this client's next round starts from it */
        } else {
            acc->a[j] += w * x;
            if (acc->b) acc->b[j] += w * w * x * x;
        }
    }
    acc->clients++;
    acc->wsum += w;
}

double sal_randk_temporal_ratio(const sal_randk_acc *acc) {
    return acc->sx > 0 ? acc->sd / acc->sx : 1;
}

double sal_randk_rho_estimate(const sal_randk_acc *acc, double p) {
    const int n = acc->clients;
    if (n < 2 || !acc->b) return 0;
    /* E[Z_ij] = p and, for i != l, E[Z_ij Z_lj] = p^2: dividing by them makes both sums unbiased */
    double s = 0, c = 0;
    for (size_t j = 0; j < acc->d; j++) {
        s += acc->b[j];
        c += acc->a[j] * acc->a[j] - acc->b[j];
    }
    s /= p, c /= p * p;
    if (!(s > 0)) return 0;
    const double rho = c / s / (n - 1);
    return rho < 0 ? 0 : rho > 1 ? 1 : rho;
}

/* E[f(c + B)] for B ~ Binomial(m, p), f(x) = 1 / T(x)^e: the log-space pmf, so that large m
 * and small p neither underflow nor overflow. */
static double binom_mean_inv(int m, double p, double rho, int c, int e) {
    const double lp = log(p), lq = log1p(-p);
    double sum = 0;
    for (int k = 0; k <= m; k++) {
        double pmf;
        if (p >= 1)
            pmf = k == m ? 1 : 0;
        else
            pmf = exp(lgamma(m + 1.0) - lgamma(k + 1.0) - lgamma(m - k + 1.0) + k * lp +
                      (m - k) * lq);
        const double t = 1 + rho * (c + k - 1);
        sum += pmf / (e == 1 ? t : t * t);
    }
    return sum;
}

double sal_randk_beta(int n, double p, double rho) {
    return 1 / (p * binom_mean_inv(n - 1, p, rho, 1, 1));
}

void sal_randk_decode(const sal_randk_acc *acc, double p, double rho, float *out) {
    const double W = acc->wsum;
    switch (acc->decoder) {
    case SAL_RANDK_PLAIN:
        for (size_t j = 0; j < acc->d; j++) out[j] = (float)(acc->a[j] / (p * W));
        break;
    case SAL_RANDK_SPATIAL: {
        const double beta = sal_randk_beta(acc->clients, p, rho);
        for (size_t j = 0; j < acc->d; j++)
            out[j] =
                acc->m[j] ? (float)(beta * acc->a[j] / (W * (1 + rho * (acc->m[j] - 1)))) : 0.0f;
        break;
    }
    case SAL_RANDK_TEMPORAL:
        for (size_t j = 0; j < acc->d; j++) out[j] = (float)((acc->b[j] + acc->a[j] / p) / W);
        break;
    }
}

double sal_randk_mse_plain(double p, double S) {
    return (1 / p - 1) * S;
}

double sal_randk_mse_spatial(int n, double p, double rho, double S, double C) {
    const double beta = sal_randk_beta(n, p, rho);
    const double A = p * binom_mean_inv(n - 1, p, rho, 1, 2);
    const double B = n >= 2 ? p * p * binom_mean_inv(n - 2, p, rho, 2, 2) : 0;
    return beta * beta * (A * S + B * C) - (S + C);
}
