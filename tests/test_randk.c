/* test_randk.c - Rand-k and its correlation-aware decoders against their definitions: the index
 * draw is exactly k distinct ascending indices, uniform (each coordinate's and each pair's
 * inclusion rate by Monte Carlo); every decoder is unbiased, and its mean squared error over
 * many draws matches the closed form within sampling error, on synthetic clients whose
 * correlation is set by construction; spatial and temporal fall below plain Rand-k when the
 * clients (or rounds) are correlated and equal it when they are not; rho's estimate tracks the
 * true correlation. Temporal keeps one memory per client (the paper's per-node memory): over
 * rounds of clients whose vectors follow an AR(1) process of known correlation its error
 * matches the closed form (1/p - 1) sum_i v_i^2 E||x_i - y_i||^2, E||x - y||^2 = 2 d (1 - p a /
 * (1 - (1 - p) a)), a = rho^L for a client seen every L rounds; and where clients take turns
 * a memory shared by all clients (the decoder before, re-implemented here as a reference) is
 * worse than plain Rand-k while the per-client one is far below it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/algo/fedavg_randk.h" /* fedavg's use of it (private to algo/) */
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
 * temporal y_i, one row per client, restored before each trial. */
static mc run(sal_randk_decoder dec, double rho, float x[N][D], const double w[N],
              float (*memory)[D], uint64_t seed) {
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
        float y[N][D], est[D], vals[K];
        if (memory) memcpy(y, memory, sizeof y);
        sal_randk_acc_reset(&acc);
        for (int i = 0; i < N; i++) {
            size_t idx[K];
            sal_rng r;
            sal_rng_seed(&r, seed, 202, (uint64_t)t * N + i);
            sal_randk_indices(&r, D, K, idx);
            for (int a = 0; a < K; a++) vals[a] = x[i][idx[a]];
            sal_randk_fold(&acc, idx, vals, K, w[i], memory ? y[i] : NULL);
        }
        double use = rho;
        if (rho < 0) {
            use = sal_randk_rho_estimate(&acc, p);
            out.rho_mean += use / TRIALS;
        }
        if (memory) out.ratio += sal_randk_temporal_ratio(&acc) / TRIALS;
        sal_randk_decode(&acc, p, use, est);
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

/* S = sum v_i^2 ||x_i - y_i||^2 over the clients' own memories y_i (v = w / W). */
static double own_moment(float x[N][D], const double w[N], float y[N][D]) {
    double W = 0, S = 0;
    for (int i = 0; i < N; i++) W += w[i];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) {
            const double u = (x[i][j] - y[i][j]) * w[i] / W;
            S += u * u;
        }
    return S;
}

/* Temporal, one round: each client's memory y_i near its own vector (its previous one) lowers
 * the error to plain's closed form at x_i - y_i; a memory of zeros (no past) is plain Rand-k,
 * draw for draw; the fold reads and updates only the sending client's memory. */
static void test_temporal(void) {
    static float x[N][D], y[N][D], zero[N][D];
    double w[N], S, C, mean[D];
    const double p = (double)K / D;
    clients(0.3, 0, 13, x, w);
    moments(x, w, NULL, &S, &C, mean);
    sal_rng r;
    sal_rng_seed(&r, 14, 203, 0);
    for (int i = 0; i < N; i++) /* last round's vector of the same client */
        for (int j = 0; j < D; j++) y[i][j] = (float)(x[i][j] + 0.3 * sal_rng_normal(&r));
    const double Sy = own_moment(x, w, y);
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
    mc none = run(SAL_RANDK_TEMPORAL, 0, x, w, zero, 3);
    CHECK_CLOSE(none.mse, plain.mse, 0, 1e-5);

    /* by hand: est_j = sum_i w_i (y_ij + (1/p) Z_ij (x_ij - y_ij)) / W; then y_ij = x_ij where
     * client i sent j, its other entries and the other client's memory as they were */
    sal_randk_acc acc;
    sal_err err;
    CHECK(sal_randk_acc_init(&acc, SAL_RANDK_TEMPORAL, D, &err) == SAL_OK);
    float m1[D], m2[D], est[D];
    for (int j = 0; j < D; j++) m1[j] = (float)j, m2[j] = (float)(100 + j);
    const size_t i1[2] = {3, 9}, i2[2] = {9, 20};
    const float v1[2] = {1, 2}, v2[2] = {4, 8};
    sal_randk_fold(&acc, i1, v1, 2, 1.0, m1);
    sal_randk_fold(&acc, i2, v2, 2, 3.0, m2);
    sal_randk_decode(&acc, 0.5, 0, est);
    /* W = 4, p = 0.5 */
    CHECK_CLOSE(est[9], (1 * (9 + 2 * (2 - 9.0)) + 3 * (109 + 2 * (4 - 109.0))) / 4, 1e-5, 0);
    CHECK_CLOSE(est[3], (1 * (3 + 2 * (1 - 3.0)) + 3 * 103.0) / 4, 1e-5, 0);
    CHECK_CLOSE(est[4], (1 * 4.0 + 3 * 104.0) / 4, 1e-5, 0);
    CHECK(m1[3] == 1 && m1[9] == 2 && m1[20] == 20 && m1[4] == 4);
    CHECK(m2[9] == 4 && m2[20] == 8 && m2[3] == 103 && m2[4] == 104);
    sal_randk_acc_free(&acc);
    sal_randk_acc_free(&acc); /* a freed one is fine */
}

/* Many rounds of N clients whose vectors follow x_i(t) = mu_i + rho (x_i(t-1) - mu_i) +
 * sqrt(1 - rho^2) e (unit variance about mu_i, every round, seen or not), `per_round` of them
 * taking part each round in turn. Per-client memory (the library's), plain Rand-k and a memory
 * shared by all clients (the decoder before: y_j = the mean of the last round's values of j)
 * decode the same draws. Errors are averaged over ROUNDS after a burn-in, their standard errors
 * from means of blocks of BLOCK rounds (rounds are correlated through x and the memory). */
enum { BURN = 200, ROUNDS = 8000, BLOCK = 200 };
typedef struct series {
    double pc, pl, sh;          /* mean squared error: per-client memory, plain, shared memory */
    double pc_se, pl_se, sh_se; /* their standard errors */
    double cond, cond_se;       /* the closed form given the memories, (1/p - 1) sum v^2 ||x_i -
                                 * y_i||^2, averaged likewise; and the mean of (error - it), se */
    double diff, diff_se;
    double v2; /* sum v_i^2 of the round's clients, averaged */
    double xx; /* sum v_i^2 ||x_i||^2, averaged (plain's closed form / (1/p-1)) */
} series;

static void block_stats(const double *b, int nb, double *mean, double *se) {
    double s = 0, s2 = 0;
    for (int i = 0; i < nb; i++) s += b[i], s2 += b[i] * b[i];
    *mean = s / nb;
    *se = sqrt((s2 / nb - *mean * *mean) / (nb - 1));
}

static series ar_rounds(int per_round, double rho, double mu_sd, uint64_t seed) {
    static float x[N][D], mem[N][D];
    static double blk[5][ROUNDS / BLOCK];
    double mu[N][D], shared[D] = {0}, w[N];
    series o = {0};
    const double p = (double)K / D, q = sqrt(1 - rho * rho);
    sal_randk_acc tm, pl;
    sal_err err;
    if (sal_randk_acc_init(&tm, SAL_RANDK_TEMPORAL, D, &err) ||
        sal_randk_acc_init(&pl, SAL_RANDK_PLAIN, D, &err)) {
        CHECK(0);
        return o;
    }
    sal_rng r;
    sal_rng_seed(&r, seed, 204, 0);
    memset(mem, 0, sizeof mem);
    memset(blk, 0, sizeof blk);
    for (int i = 0; i < N; i++) {
        w[i] = i + 1;
        for (int j = 0; j < D; j++) {
            mu[i][j] = mu_sd * sal_rng_normal(&r);
            x[i][j] = (float)(mu[i][j] + sal_rng_normal(&r));
        }
    }
    for (int t = 0; t < BURN + ROUNDS; t++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < D; j++)
                x[i][j] = (float)(mu[i][j] + rho * (x[i][j] - mu[i][j]) + q * sal_rng_normal(&r));
        int who[N];
        double W = 0, mean[D] = {0}, a_sh[D] = {0}, sum_sh[D] = {0}, v2 = 0, xx = 0, cond = 0;
        int cnt[D] = {0};
        for (int c = 0; c < per_round; c++) {
            who[c] = (t * per_round + c) % N;
            W += w[who[c]];
        }
        sal_randk_acc_reset(&tm);
        sal_randk_acc_reset(&pl);
        for (int c = 0; c < per_round; c++) {
            const int i = who[c];
            const double v = w[i] / W;
            size_t idx[K];
            float vals[K];
            sal_rng ri;
            sal_rng_seed(&ri, seed, 205, (uint64_t)t * N + (uint64_t)i);
            sal_randk_indices(&ri, D, K, idx);
            for (int a = 0; a < K; a++) vals[a] = x[i][idx[a]];
            for (int j = 0; j < D; j++) {
                mean[j] += v * x[i][j];
                cond += v * v * (x[i][j] - mem[i][j]) * (x[i][j] - mem[i][j]);
                xx += v * v * x[i][j] * x[i][j];
            }
            v2 += v * v;
            for (int a = 0; a < K; a++) { /* the shared memory, before any update */
                const size_t j = idx[a];
                a_sh[j] += w[i] * (vals[a] - shared[j]);
                sum_sh[j] += vals[a];
                cnt[j]++;
            }
            sal_randk_fold(&tm, idx, vals, K, w[i], mem[i]);
            sal_randk_fold(&pl, idx, vals, K, w[i], NULL);
        }
        float e_tm[D], e_pl[D];
        sal_randk_decode(&tm, p, 0, e_tm);
        sal_randk_decode(&pl, p, 0, e_pl);
        double d_tm = 0, d_pl = 0, d_sh = 0;
        for (int j = 0; j < D; j++) {
            const double sh = shared[j] + a_sh[j] / (p * W);
            d_tm += (e_tm[j] - mean[j]) * (e_tm[j] - mean[j]);
            d_pl += (e_pl[j] - mean[j]) * (e_pl[j] - mean[j]);
            d_sh += (sh - mean[j]) * (sh - mean[j]);
            if (cnt[j]) shared[j] = sum_sh[j] / cnt[j];
        }
        if (t < BURN) continue;
        const int b = (t - BURN) / BLOCK;
        const double cf = (1 / p - 1) * cond;
        blk[0][b] += d_tm / BLOCK, blk[1][b] += d_pl / BLOCK, blk[2][b] += d_sh / BLOCK;
        blk[3][b] += cf / BLOCK, blk[4][b] += (d_tm - cf) / BLOCK;
        o.v2 += v2 / ROUNDS, o.xx += xx / ROUNDS;
    }
    const int nb = ROUNDS / BLOCK;
    block_stats(blk[0], nb, &o.pc, &o.pc_se);
    block_stats(blk[1], nb, &o.pl, &o.pl_se);
    block_stats(blk[2], nb, &o.sh, &o.sh_se);
    block_stats(blk[3], nb, &o.cond, &o.cond_se);
    block_stats(blk[4], nb, &o.diff, &o.diff_se);
    sal_randk_acc_free(&tm);
    sal_randk_acc_free(&pl);
    return o;
}

/* E||x_i - y_i||^2 in the stationary regime for a client seen every L rounds, each of its
 * coordinates sent with probability p when seen: the memory's age is A participations, P(A = a)
 * = p (1 - p)^(a - 1), and E (x(t) - x(t - a L))^2 = 2 (1 - rho^(a L)) per unit-variance
 * coordinate, so the sum over a is 2 d (1 - p rho^L / (1 - (1 - p) rho^L)). */
static double stationary_gap(double p, double rho, int L) {
    const double a = pow(rho, L);
    return 2.0 * D * (1 - p * a / (1 - (1 - p) * a));
}

/* The per-client decoder's error against the paper's closed form: given the memories each
 * round drew (exact in expectation), and stationary (within 2%, the finite run's start). */
static void check_closed_form(const series *s, double cf) {
    CHECK_MSG(fabs(s->diff) < 4 * s->diff_se,
              "per-client error minus its closed form given the memories: %g (se %g)", s->diff,
              s->diff_se);
    CHECK_MSG(fabs(s->pc - cf) < 4 * s->pc_se + 0.02 * cf,
              "per-client %g vs stationary closed form %g (se %g)", s->pc, cf, s->pc_se);
}

static void test_temporal_rounds(void) {
    const double p = (double)K / D;
    /* every client every round, rho = 0.95: the paper's setting */
    series s = ar_rounds(N, 0.95, 0, 21);
    double cf = (1 / p - 1) * s.v2 * stationary_gap(p, 0.95, 1), cf_pl = (1 / p - 1) * s.xx;
    fprintf(stderr,
            "AR(1) rho 0.95, all clients: MSE per-client %.4f +- %.4f (closed form %.4f, given "
            "the memories %.4f), plain %.4f (%.4f), shared memory %.4f\n",
            s.pc, s.pc_se, cf, s.cond, s.pl, cf_pl, s.sh);
    check_closed_form(&s, cf);
    CHECK_MSG(fabs(s.pl - cf_pl) < 4 * s.pl_se, "plain %g vs %g (se %g)", s.pl, cf_pl, s.pl_se);
    CHECK_MSG(s.pc < s.pl - 4 * (s.pc_se + s.pl_se), "per-client %g not below plain %g", s.pc,
              s.pl);

    /* clients far apart (mu_i sd 2), 2 of the N a round in turn (each seen every 4 rounds),
     * rho = 0.98: the shared memory holds the other clients' values, the per-client one this
     * client's from 4 rounds back */
    const int L = N / 2;
    s = ar_rounds(2, 0.98, 2, 22);
    cf = (1 / p - 1) * s.v2 * stationary_gap(p, 0.98, L), cf_pl = (1 / p - 1) * s.xx;
    fprintf(stderr,
            "AR(1) rho 0.98, 2 of %d clients a round: MSE per-client %.4f +- %.4f (closed form "
            "%.4f, given the memories %.4f), plain %.4f (%.4f), shared memory %.4f +- %.4f\n",
            N, s.pc, s.pc_se, cf, s.cond, s.pl, cf_pl, s.sh, s.sh_se);
    check_closed_form(&s, cf);
    CHECK_MSG(s.pc < 0.5 * s.pl, "per-client %g not below half of plain %g", s.pc, s.pl);
    CHECK_MSG(s.sh > s.pl + 4 * (s.sh_se + s.pl_se),
              "shared memory %g not above plain %g (a "
              "shared memory would pass where it should fail)",
              s.sh, s.pl);
}

/* fedavg's server side: one memory row per client id, read and written only by that client's
 * uploads, rounds apart; clients outside [0, clients) refused; a memory that cannot be had is
 * one line naming the keys, before anything else is allocated. */
static void test_fed_memory(void) {
    enum { M = 16 };
    sal_config cfg;
    sal_config_defaults(&cfg);
    cfg.clients = 4, cfg.randk_density = 0.25, cfg.seed = 7;
    cfg.randk_decoder = SAL_RANDK_DEC_TEMPORAL;
    fed_randk r;
    sal_err err;
    CHECK(sal_fed_randk_memory_bytes(&cfg, M) == 4 * M * sizeof(float));
    if (sal_fed_randk_open(&r, &cfg, M, 0, &err)) {
        CHECK_MSG(0, "open: %s", err.msg);
        return;
    }
    CHECK(r.memory && r.clients == 4 && r.k == 4);
    float global[M] = {0}, x[4][M], up[4], packed[M];
    size_t idx[4], sent1[4], sent3[4];
    for (int c = 0; c < 4; c++)
        for (int j = 0; j < M; j++) x[c][j] = (float)(10 * (c + 1) + j);
    /* round 0: clients 1 and 3 (their updates x_c against a zero global model) */
    sal_fed_randk_begin(&r);
    sal_fed_randk_encode(&cfg, 0, 1, x[1], global, M, 0, idx, up);
    memcpy(sent1, idx, sizeof idx);
    CHECK(sal_fed_randk_fold(&r, &cfg, 0, 1, up, 4, 1.0, &err) == SAL_OK);
    sal_fed_randk_encode(&cfg, 0, 3, x[3], global, M, 0, idx, up);
    memcpy(sent3, idx, sizeof idx);
    CHECK(sal_fed_randk_fold(&r, &cfg, 0, 3, up, 4, 1.0, &err) == SAL_OK);
    memset(packed, 0, sizeof packed);
    sal_fed_randk_finish(&r, packed);
    int ok = 1;
    for (int c = 0; c < 4; c++)
        for (int j = 0; j < M; j++) {
            int in1 = 0, in3 = 0;
            for (int t = 0; t < 4; t++) in1 |= sent1[t] == (size_t)j, in3 |= sent3[t] == (size_t)j;
            const float want = (c == 1 && in1) || (c == 3 && in3) ? x[c][j] : 0.0f;
            ok &= r.memory[c * M + j] == want;
        }
    CHECK_MSG(ok, "after round 0 the memory rows are not the values each client sent");
    /* round 5: client 1 alone, the same vector: where it sent in round 0 and not now, the
     * estimate is its own old value, exactly (a memory shared with client 3 would give other
     * values); where it sends now, y + 4 (x - y); elsewhere 0 */
    sal_fed_randk_begin(&r);
    sal_fed_randk_encode(&cfg, 5, 1, x[1], global, M, 0, idx, up);
    CHECK(sal_fed_randk_fold(&r, &cfg, 5, 1, up, 4, 2.0, &err) == SAL_OK);
    memset(packed, 0, sizeof packed);
    sal_fed_randk_finish(&r, packed);
    ok = 1;
    int stale = 0; /* entries filled in from the memory alone: the case under test */
    for (int j = 0; j < M; j++) {
        int now = 0, before = 0;
        for (int t = 0; t < 4; t++) now |= idx[t] == (size_t)j, before |= sent1[t] == (size_t)j;
        stale += before && !now;
        const float y = before ? x[1][j] : 0.0f;
        const float want = now ? y + 4 * (x[1][j] - y) : y;
        ok &= fabsf(packed[j] - want) < 1e-5f;
        ok &= r.memory[1 * M + j] == (now || before ? x[1][j] : 0.0f);
    }
    CHECK_MSG(ok, "round 5: client 1 not decoded against its own round-0 values");
    CHECK_MSG(stale > 0, "the draws left no entry to fill in from the memory (pick other rounds)");
    CHECK(sal_fed_randk_fold(&r, &cfg, 5, 4, up, 4, 1.0, &err) == SAL_EINVAL);
    sal_fed_randk_close(&r);

    /* clients x nnz x 4 bytes past size_t: refused before any allocation, naming the keys */
    cfg.clients = 2147483647;
    sal_status st = sal_fed_randk_open(&r, &cfg, (size_t)1 << 33, 0, &err);
    CHECK(st == SAL_ENOMEM);
    CHECK_MSG(strstr(err.msg, "[data] clients") && strstr(err.msg, "randk_decoder"), "message: %s",
              err.msg);
    sal_fed_randk_close(&r);
}

int main(void) {
    test_count();
    test_indices();
    test_beta();
    test_spatial();
    test_temporal();
    test_temporal_rounds();
    test_fed_memory();
    return sal_test_done("test_randk");
}
