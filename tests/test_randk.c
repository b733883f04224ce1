/* test_randk.c - Rand-k and its correlation-aware decoders against their definitions: the index
 * draw is exactly k distinct ascending indices, uniform (each coordinate's and each pair's
 * inclusion rate by Monte Carlo); every decoder is unbiased, and its mean squared error over
 * many draws matches the closed form within sampling error, on synthetic clients whose
 * correlation is set by construction; spatial and temporal fall below plain Rand-k when the
 * clients (or rounds) are correlated and equal it when they are not; rho's estimate tracks the
 * true correlation; the temporal memory takes this round's values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/randk.h"

enum { D = 64, N = 8, K = 8, TRIALS = 20000 };

static void test_count(void) {
    CHECK(sal_randk_count(0, 0.5) == 0);
    CHECK(sal_randk_count(100, 0.1) == 10);
    CHECK(sal_randk_count(100, 0.001) == 1); /* at least one */
    CHECK(sal_randk_count(7, 1.0) == 7);
    CHECK(sal_randk_count(100, 0.125) == 12); /* 12.5: ties to even */
}

/* Exactly k, distinct, ascending; coordinate j drawn at rate k/d and pair (j, l) at rate
 * k(k-1)/(d(d-1)), each within 5 binomial standard errors; a key gives the same draw again. */
static void test_indices(void) {
    enum { T = 40000 };
    static int hits[D], pair01, pair_far;
    size_t idx[D], again[D];
    sal_rng r;
    sal_rng_seed(&r, 7, 200, 0);
    int ok = 1;
    for (int t = 0; t < T; t++) {
        sal_randk_indices(&r, D, K, idx);
        for (int i = 0; i < K; i++) {
            ok &= idx[i] < D && (i == 0 || idx[i] > idx[i - 1]);
            hits[idx[i]]++;
        }
        int has0 = idx[0] == 0, has1 = 0, has63 = 0;
        for (int i = 0; i < K; i++) has1 |= idx[i] == 1, has63 |= idx[i] == D - 1;
        pair01 += has0 && has1;
        pair_far += has0 && has63;
    }
    CHECK_MSG(ok, "an index out of range or out of order");
    const double p = (double)K / D, se = sqrt(p * (1 - p) / T);
    double worst = 0;
    for (int j = 0; j < D; j++) worst = fmax(worst, fabs((double)hits[j] / T - p) / se);
    CHECK_MSG(worst < 5, "inclusion rate off by %.1f standard errors", worst);
    const double q = (double)K * (K - 1) / (D * (D - 1.0)), sq = sqrt(q * (1 - q) / T);
    CHECK_MSG(fabs((double)pair01 / T - q) < 5 * sq && fabs((double)pair_far / T - q) < 5 * sq,
              "pair rates %g %g, expected %g", (double)pair01 / T, (double)pair_far / T, q);
    sal_rng a, b;
    sal_rng_seed(&a, 3, 200, 5), sal_rng_seed(&b, 3, 200, 5);
    size_t big1[37], big2[37];
    sal_randk_indices(&a, 1000, 37, big1);
    sal_randk_indices(&b, 1000, 37, big2);
    CHECK(memcmp(big1, big2, sizeof big1) == 0);
    sal_randk_indices(&b, 5, 5, again); /* k = d takes everything */
    CHECK(again[0] == 0 && again[4] == 4);
}

/* N clients x_i = sqrt(c) z + sqrt(1 - c) e_i (z, e_i standard normal vectors, fixed), with
 * weights 1..N. c = 0 with disjoint supports gives exactly orthogonal clients. */
static void clients(double c, int disjoint, uint64_t seed, float x[N][D], double w[N]) {
    sal_rng r;
    sal_rng_seed(&r, seed, 201, 0);
    double z[D];
    for (int j = 0; j < D; j++) z[j] = sal_rng_normal(&r);
    for (int i = 0; i < N; i++) {
        w[i] = i + 1;
        for (int j = 0; j < D; j++) {
            double e = sal_rng_normal(&r);
            if (disjoint) e = j % N == i ? 3 * e : 0;
            x[i][j] = (float)(sqrt(c) * z[j] + sqrt(1 - c) * e);
        }
    }
}

/* S = sum v_i^2 ||x_i - y||^2 and C = sum_{i != l} v_i v_l <x_i - y, x_l - y>, v = w / W; the
 * weighted mean into mean. y may be NULL (zero). */
static void moments(float x[N][D], const double w[N], const float *y, double *S, double *C,
                    double mean[D]) {
    double W = 0;
    for (int i = 0; i < N; i++) W += w[i];
    *S = *C = 0;
    for (int j = 0; j < D; j++) {
        double sum = 0, sq = 0;
        mean[j] = 0;
        for (int i = 0; i < N; i++) {
            const double v = w[i] / W, u = x[i][j] - (y ? y[j] : 0);
            sum += v * u, sq += v * v * u * u;
            mean[j] += v * x[i][j];
        }
        *S += sq, *C += sum * sum - sq;
    }
}

typedef struct mc {
    double mse, se;  /* mean squared error over the trials, its standard error */
    double bias;     /* largest |mean estimate - true mean| over coordinates, in its SEs */
    double rho_mean; /* spatial with rho < 0: the mean of the estimated rho */
    double ratio;    /* temporal: the mean of the estimated error ratio to plain */
} mc;

/* TRIALS draws of every client's k indices (stream keyed by trial and client, as fedavg keys by
 * round and client), decoded with `dec` at rho (rho < 0: estimated each trial). memory: the
 * temporal y, restored before each trial. */
static mc run(sal_randk_decoder dec, double rho, float x[N][D], const double w[N],
              const float *memory, uint64_t seed) {
    sal_randk_acc acc;
    sal_err err;
    mc out = {0};
    if (sal_randk_acc_init(&acc, dec, D, &err)) {
        CHECK(0);
        return out;
    }
    double S, C, mean[D], sum[D] = {0}, sum2[D] = {0}, e1 = 0, e2 = 0;
    moments(x, w, NULL, &S, &C, mean);
    const double p = (double)K / D;
    for (int t = 0; t < TRIALS; t++) {
        float y[D], est[D], vals[K];
        if (memory) memcpy(y, memory, sizeof y);
        sal_randk_acc_reset(&acc);
        for (int i = 0; i < N; i++) {
            size_t idx[K];
            sal_rng r;
            sal_rng_seed(&r, seed, 202, (uint64_t)t * N + i);
            sal_randk_indices(&r, D, K, idx);
            for (int a = 0; a < K; a++) vals[a] = x[i][idx[a]];
            sal_randk_fold(&acc, idx, vals, K, w[i], memory ? y : NULL);
        }
        double use = rho;
        if (rho < 0) {
            use = sal_randk_rho_estimate(&acc, p);
            out.rho_mean += use / TRIALS;
        }
        if (memory) out.ratio += sal_randk_temporal_ratio(&acc) / TRIALS;
        sal_randk_decode(&acc, p, use, memory ? y : NULL, est);
        double e = 0;
        for (int j = 0; j < D; j++) {
            const double d = est[j] - mean[j];
            e += d * d;
            sum[j] += est[j], sum2[j] += (double)est[j] * est[j];
        }
        e1 += e, e2 += e * e;
    }
    out.mse = e1 / TRIALS;
    out.se = sqrt((e2 / TRIALS - out.mse * out.mse) / TRIALS);
    for (int j = 0; j < D; j++) {
        const double m = sum[j] / TRIALS, var = sum2[j] / TRIALS - m * m;
        const double z = fabs(m - mean[j]) / sqrt(var / TRIALS + 1e-30);
        out.bias = z > out.bias ? z : out.bias;
    }
    sal_randk_acc_free(&acc);
    return out;
}

/* beta by hand where it has a closed form: rho = 0 gives 1/p, rho = 1 (T(m) = m) gives
 * n / (1 - (1 - p)^n) since E[1 / (1 + B_{n-1})] = (1 - (1 - p)^n) / (n p). */
static void test_beta(void) {
    const double p = 0.125;
    CHECK_CLOSE(sal_randk_beta(N, p, 0), 1 / p, 0, 1e-12);
    CHECK_CLOSE(sal_randk_beta(N, p, 1), N / (1 - pow(1 - p, N)), 0, 1e-12);
    CHECK_CLOSE(sal_randk_beta(1, p, 0.5), 1 / p, 0, 1e-12); /* one client: T(1) = 1 */
    CHECK_CLOSE(sal_randk_beta(1000, 0.01, 1), 1000 / (1 - pow(0.99, 1000)), 0, 1e-9);
    CHECK_CLOSE(sal_randk_mse_spatial(N, p, 0, 2.0, 5.0), sal_randk_mse_plain(p, 2.0), 0, 1e-12);
}

/* Monte Carlo against the closed forms, correlated and not. */
static void test_spatial(void) {
    static float x[N][D];
    double w[N], S, C, mean[D];
    const double p = (double)K / D;
    /* correlated: c = 0.8 */
    clients(0.8, 0, 11, x, w);
    moments(x, w, NULL, &S, &C, mean);
    const double rho = C / S / (N - 1); /* R / (n - 1) of the normalised weights */
    CHECK_MSG(rho > 0.5 && rho < 1, "rho %g", rho);
    mc plain = run(SAL_RANDK_PLAIN, 0, x, w, NULL, 1);
    mc sp = run(SAL_RANDK_SPATIAL, rho, x, w, NULL, 1);
    mc mx = run(SAL_RANDK_SPATIAL, 1, x, w, NULL, 1);
    mc est = run(SAL_RANDK_SPATIAL, -1, x, w, NULL, 1);
    const double cf_plain = sal_randk_mse_plain(p, S),
                 cf_sp = sal_randk_mse_spatial(N, p, rho, S, C),
                 cf_mx = sal_randk_mse_spatial(N, p, 1, S, C);
    fprintf(stderr,
            "correlated (rho %.3f): MSE plain %.4f (closed form %.4f), spatial %.4f (%.4f), "
            "T(m)=m %.4f (%.4f), estimated rho (mean %.3f) %.4f\n",
            rho, plain.mse, cf_plain, sp.mse, cf_sp, mx.mse, cf_mx, est.rho_mean, est.mse);
    CHECK_MSG(fabs(plain.mse - cf_plain) < 4 * plain.se, "plain %g vs %g (se %g)", plain.mse,
              cf_plain, plain.se);
    CHECK_MSG(fabs(sp.mse - cf_sp) < 4 * sp.se, "spatial %g vs %g (se %g)", sp.mse, cf_sp, sp.se);
    CHECK_MSG(fabs(mx.mse - cf_mx) < 4 * mx.se, "T(m)=m %g vs %g (se %g)", mx.mse, cf_mx, mx.se);
    CHECK_MSG(plain.bias < 5 && sp.bias < 5 && mx.bias < 5, "biased: %g %g %g standard errors",
              plain.bias, sp.bias, mx.bias);
    CHECK_MSG(cf_sp < 0.9 * cf_plain && sp.mse < plain.mse - 4 * (sp.se + plain.se),
              "spatial %g not below plain %g", sp.mse, plain.mse);
    CHECK_MSG(fabs(est.rho_mean - rho) < 0.05, "estimated rho %g, true %g", est.rho_mean, rho);
    CHECK_MSG(est.mse < plain.mse - 4 * (est.se + plain.se), "estimated-rho spatial %g vs plain %g",
              est.mse, plain.mse);

    /* not correlated: disjoint supports, C = 0, so rho = 0 and spatial is plain; the estimated
     * rho stays near 0 and its error within sampling error of plain's */
    clients(0, 1, 12, x, w);
    moments(x, w, NULL, &S, &C, mean);
    CHECK_CLOSE(C, 0, 1e-9, 0);
    plain = run(SAL_RANDK_PLAIN, 0, x, w, NULL, 2);
    sp = run(SAL_RANDK_SPATIAL, 0, x, w, NULL, 2);
    est = run(SAL_RANDK_SPATIAL, -1, x, w, NULL, 2);
    fprintf(stderr,
            "orthogonal: MSE plain %.4f (closed form %.4f), spatial %.4f, estimated rho "
            "(mean %.3f) %.4f\n",
            plain.mse, sal_randk_mse_plain(p, S), sp.mse, est.rho_mean, est.mse);
    CHECK_CLOSE(sal_randk_mse_spatial(N, p, 0, S, C), sal_randk_mse_plain(p, S), 0, 1e-9);
    CHECK_CLOSE(sp.mse, plain.mse, 0, 1e-5); /* the same draws, the same estimator */
    CHECK_MSG(fabs(plain.mse - sal_randk_mse_plain(p, S)) < 4 * plain.se, "plain %g vs %g",
              plain.mse, sal_randk_mse_plain(p, S));
    CHECK_MSG(est.rho_mean < 0.05, "estimated rho %g on orthogonal clients", est.rho_mean);
    CHECK_MSG(fabs(est.mse - plain.mse) < 4 * (est.se + plain.se), "estimated rho %g vs plain %g",
              est.mse, plain.mse);
}

/* Temporal: memory y near the clients' vectors (correlated rounds) lowers the error to plain's
 * closed form at x - y; a memory of zeros (no past) is plain Rand-k, draw for draw. */
static void test_temporal(void) {
    static float x[N][D];
    float y[D];
    double w[N], S, C, Sy, Cy, mean[D];
    const double p = (double)K / D;
    clients(0.3, 0, 13, x, w);
    moments(x, w, NULL, &S, &C, mean);
    sal_rng r;
    sal_rng_seed(&r, 14, 203, 0);
    for (int j = 0; j < D; j++) y[j] = (float)(mean[j] + 0.3 * sal_rng_normal(&r)); /* last round */
    moments(x, w, y, &Sy, &Cy, mean);
    mc plain = run(SAL_RANDK_PLAIN, 0, x, w, NULL, 3);
    mc tm = run(SAL_RANDK_TEMPORAL, 0, x, w, y, 3);
    const double cf = sal_randk_mse_plain(p, Sy);
    fprintf(stderr, "temporal: MSE plain %.4f (closed form %.4f), temporal %.4f (%.4f)\n",
            plain.mse, sal_randk_mse_plain(p, S), tm.mse, cf);
    CHECK_MSG(fabs(tm.mse - cf) < 4 * tm.se, "temporal %g vs %g (se %g)", tm.mse, cf, tm.se);
    CHECK_MSG(tm.bias < 5, "temporal biased by %g standard errors", tm.bias);
    /* the estimated ratio tracks the closed forms' (a ratio of two unbiased sums) */
    CHECK_MSG(fabs(tm.ratio - Sy / S) < 0.05 * Sy / S, "error ratio %g, closed forms' %g", tm.ratio,
              Sy / S);
    CHECK_MSG(tm.mse < plain.mse - 4 * (tm.se + plain.se), "temporal %g not below plain %g", tm.mse,
              plain.mse);
    float zero[D] = {0};
    mc none = run(SAL_RANDK_TEMPORAL, 0, x, w, zero, 3);
    CHECK_CLOSE(none.mse, plain.mse, 0, 1e-5);

    /* the memory after a decode: this round's mean value where a client sent j, else as was */
    sal_randk_acc acc;
    sal_err err;
    CHECK(sal_randk_acc_init(&acc, SAL_RANDK_TEMPORAL, D, &err) == SAL_OK);
    float mem[D], est[D];
    for (int j = 0; j < D; j++) mem[j] = (float)j;
    const size_t i1[2] = {3, 9}, i2[2] = {9, 20};
    const float v1[2] = {1, 2}, v2[2] = {4, 8};
    sal_randk_fold(&acc, i1, v1, 2, 1.0, mem);
    sal_randk_fold(&acc, i2, v2, 2, 3.0, mem);
    sal_randk_decode(&acc, 0.5, 0, mem, est);
    /* est_j = y_j + (1/p) sum_i w_i Z_ij (x_ij - y_j) / W, W = 4 */
    CHECK_CLOSE(est[9], 9 + 2 * (1 * (2 - 9) + 3 * (4 - 9)) / 4.0, 1e-6, 0);
    CHECK_CLOSE(est[3], 3 + 2 * (1 * (1 - 3)) / 4.0, 1e-6, 0);
    CHECK(est[4] == 4.0f);
    CHECK(mem[3] == 1 && mem[9] == 3 && mem[20] == 8 && mem[4] == 4);
    sal_randk_acc_free(&acc);
    sal_randk_acc_free(&acc); /* a freed one is fine */
}

int main(void) {
    test_count();
    test_indices();
    test_beta();
    test_spatial();
    test_temporal();
    return sal_test_done("test_randk");
}
