/* test_quant.c - the QSGD codec against its definition and the paper's bounds: the encoded length
 * equals the formula, decoded entries sit on the level grid next to the input, the mean of many
 * decodes converges to the input at the rate the variance predicts (unbiased), the mean squared
 * error respects Lemma 3.1's bound, draws are reproducible, hostile payloads are refused; and
 * AdaQuantFL's schedule by hand; fedavg's per-round levels from metrics rows, and its upload
 * encoding (the update local - global, rounding keyed by round and client). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/algo/fedavg_quant.h" /* fedavg's use of the codec (private to algo/) */
#include "harness.h"
#include "salient/quant.h"

static void fill(float *v, size_t n, uint64_t seed) {
    sal_rng r;
    sal_rng_seed(&r, seed, 99, 0);
    for (size_t i = 0; i < n; i++) v[i] = (float)(sal_rng_normal(&r) * (i % 7 == 0 ? 3 : 0.5));
}

static size_t code(const float *v, size_t n, int s, size_t bucket, sal_rng *r, uint8_t *buf,
                   float *out) {
    size_t w = 0;
    sal_err err;
    CHECK(sal_qsgd_encode(v, n, s, bucket, r, buf, sal_qsgd_encoded_bytes(n, s, bucket), &w,
                          &err) == SAL_OK);
    CHECK(sal_qsgd_decode(buf, w, out, n, &err) == SAL_OK);
    return w;
}

/* Length, grid and sign for several level counts and bucket sizes, n not a multiple of 8. */
static void test_grid(void) {
    enum { N = 1001 };
    float v[N], q[N];
    uint8_t buf[8192];
    fill(v, N, 1);
    sal_rng r;
    sal_rng_seed(&r, 1, 100, 0);
    const int levels[] = {1, 3, 4, 15, 255, 65535};
    const size_t buckets[] = {0, 64, 1000};
    for (size_t a = 0; a < 6; a++)
        for (size_t c = 0; c < 3; c++) {
            const int s = levels[a];
            const size_t d = buckets[c] ? buckets[c] : N;
            size_t w = code(v, N, s, buckets[c], &r, buf, q);
            int bitw = 0;
            while ((1L << bitw) < s + 1) bitw++;
            const size_t nb = (N + d - 1) / d;
            CHECK_MSG(w == 20 + 4 * nb + ((size_t)N * (1 + bitw) + 7) / 8, "s %d: %zu bytes", s, w);
            for (size_t k = 0; k < nb; k++) {
                double ss = 0;
                for (size_t i = k * d; i < (k + 1) * d && i < N; i++) ss += (double)v[i] * v[i];
                const float norm = (float)sqrt(ss);
                for (size_t i = k * d; i < (k + 1) * d && i < N; i++) {
                    const double x = fabs(v[i]) / norm * s, y = fabs(q[i]) / norm * s;
                    /* y is a level next to x (within the float output's precision), and q keeps v's sign unless it is zero */
                    const double tol = 1e-3 + 2e-7 * s; /* q is a float: 24 bits */
                    CHECK_MSG(fabs(y - nearbyint(y)) < tol && fabs(y - x) < 1 + tol,
                              "s %d entry %zu: %g -> %g", s, i, x, y);
                    CHECK(q[i] == 0 || (q[i] < 0) == (v[i] < 0));
                }
            }
        }
}

/* Unbiased: the mean of K decodes of one vector approaches it. Each entry's variance is
 * norm^2 p (1 - p) / s^2 <= norm^2 / (4 s^2), so its mean's error is within 5 standard errors
 * norm / (2 s sqrt K); and the summed squared error of the mean falls about 4x from K to 4K. */
static void test_unbiased(void) {
    enum { N = 200, K = 4000 };
    float v[N], q[N];
    static double sum[N];
    uint8_t buf[4096];
    fill(v, N, 2);
    double ss = 0;
    for (int i = 0; i < N; i++) ss += (double)v[i] * v[i];
    const double norm = sqrt(ss);
    const int s = 2;
    sal_rng r;
    sal_rng_seed(&r, 2, 100, 0);
    double e_quarter = 0, e_full = 0;
    for (int k = 1; k <= K; k++) {
        code(v, N, s, 0, &r, buf, q);
        for (int i = 0; i < N; i++) sum[i] += q[i];
        if (k == K / 4 || k == K) {
            double e = 0;
            for (int i = 0; i < N; i++) e += pow(sum[i] / k - v[i], 2);
            if (k == K / 4) e_quarter = e; else e_full = e;
        }
    }
    int outside = 0;
    for (int i = 0; i < N; i++)
        if (fabs(sum[i] / K - v[i]) > 5 * norm / (2 * s * sqrt((double)K))) outside++;
    CHECK_MSG(outside == 0, "%d entries' means outside 5 standard errors", outside);
    CHECK_MSG(e_quarter / e_full > 2.5 && e_quarter / e_full < 6.5,
              "error of the mean fell %.2fx from K/4 to K draws, not ~4x", e_quarter / e_full);
}

/* Lemma 3.1: E ||Q(v) - v||^2 <= min(d / s^2, sqrt(d) / s) ||v||^2 per bucket of d; and the
 * empirical error is not far below it for s = 1 on a flat vector (the bound can fail). */
static void test_variance_bound(void) {
    enum { N = 512, K = 400 };
    float v[N], q[N];
    uint8_t buf[8192];
    const int ss[] = {1, 4, 64};
    const size_t buckets[] = {0, 32};
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 2; c++) {
            const int s = ss[a];
            const size_t d = buckets[c] ? buckets[c] : N;
            fill(v, N, 3);
            double bound = 0;
            for (size_t k = 0; k < N / d; k++) {
                double n2 = 0;
                for (size_t i = k * d; i < (k + 1) * d; i++) n2 += (double)v[i] * v[i];
                bound += fmin((double)d / (s * s), sqrt((double)d) / s) * n2;
            }
            sal_rng r;
            sal_rng_seed(&r, 3, 100, (uint64_t)s);
            double mse = 0;
            for (int k = 0; k < K; k++) {
                code(v, N, s, buckets[c], &r, buf, q);
                for (int i = 0; i < N; i++) mse += pow((double)q[i] - v[i], 2) / K;
            }
            CHECK_MSG(mse <= bound * 1.05, "s %d bucket %zu: mse %g above the bound %g", s, d,
                      mse, bound);
        }
    /* a flat vector of ones, s = 1, one bucket: ||v|| = sqrt N, each entry is sqrt N with
     * probability p = 1 / sqrt N, else 0, so its variance is N p (1 - p) and the summed error
     * N^2 p (1 - p), just under the bound N sqrt N: the bound is tight, and so is the codec */
    for (int i = 0; i < N; i++) v[i] = 1;
    sal_rng r;
    sal_rng_seed(&r, 4, 100, 0);
    double mse = 0;
    for (int k = 0; k < K; k++) {
        code(v, N, 1, 0, &r, buf, q);
        for (int i = 0; i < N; i++) mse += pow((double)q[i] - v[i], 2) / K;
    }
    const double p = 1 / sqrt((double)N), exact = N * N * p * (1 - p); /* ||v|| = sqrt N */
    CHECK_MSG(fabs(mse - exact) < 0.1 * exact, "flat vector: mse %g, closed form %g", mse, exact);
}

static void test_reproducible_and_hostile(void) {
    enum { N = 100 };
    float v[N], q[N];
    uint8_t a[1024], b[1024];
    fill(v, N, 5);
    sal_rng r1, r2;
    sal_rng_seed(&r1, 9, 100, 7);
    sal_rng_seed(&r2, 9, 100, 7);
    size_t wa = code(v, N, 8, 16, &r1, a, q), wb = code(v, N, 8, 16, &r2, b, q);
    CHECK(wa == wb && !memcmp(a, b, wa));
    sal_err err;
    CHECK(sal_qsgd_decode(a, wa - 1, q, N, &err) == SAL_EFORMAT); /* truncated */
    CHECK(sal_qsgd_decode(a, wa, q, N + 1, &err) == SAL_EFORMAT); /* other n */
    memcpy(b, a, wa), b[0] = 'X';
    CHECK(sal_qsgd_decode(b, wa, q, N, &err) == SAL_EFORMAT); /* magic */
    memcpy(b, a, wa), b[12] = 0, b[13] = 0;
    CHECK(sal_qsgd_decode(b, wa, q, N, &err) == SAL_EFORMAT); /* 0 levels */
    memcpy(b, a, wa), b[20 + 3] = 0xff;                         /* first norm: NaN / -big */
    CHECK(sal_qsgd_decode(b, wa, q, N, &err) == SAL_EFORMAT);
    /* levels 8 take 4 bits: a field of 15 names a level above 8 */
    memcpy(b, a, wa), b[20 + 4 * 7] = 0x0f;
    CHECK(sal_qsgd_decode(b, wa, q, N, &err) == SAL_EFORMAT);
    CHECK(strstr(err.msg, "level") != NULL);
    v[3] = NAN;
    size_t w;
    CHECK(sal_qsgd_encode(v, N, 8, 0, &r1, a, sizeof a, &w, &err) == SAL_ENUMERIC);
    CHECK(sal_qsgd_encode(v, N, 0, 0, &r1, a, sizeof a, &w, &err) == SAL_EINVAL);
    CHECK(sal_qsgd_encode(v, N, 8, 0, &r1, a, 10, &w, &err) == SAL_EINVAL);
}

static void test_adaquant(void) {
    CHECK(sal_adaquant_levels(2, 2.0, 2.0, 100) == 2);
    CHECK(sal_adaquant_levels(2, 2.0, 0.5, 100) == 4);     /* 2 sqrt(4) */
    CHECK(sal_adaquant_levels(2, 2.0, 1.0, 100) == 3);     /* ceil(2 sqrt 2) = ceil(2.83) */
    CHECK(sal_adaquant_levels(2, 2.0, 1e-6, 100) == 100);  /* capped */
    CHECK(sal_adaquant_levels(2, 2.0, 4.0, 100) == 2);     /* a rising loss keeps s0 */
    CHECK(sal_adaquant_levels(2, 2.0, NAN, 100) == 2);
}

/* fedavg's levels: qsgd's fixed s; adaquant's s0 until a loss fall is measured (rounds 1, 2),
 * then s0 sqrt(loss_1 / loss_{t-1}) from the rows, whatever their order; none: the key's s. */
static void test_fed_levels(void) {
    sal_config cfg;
    sal_config_defaults(&cfg);
    cfg.quantize = SAL_QUANT_ADAQUANT, cfg.quantize_levels = 4;
    sal_round rows[4] = {{.round = 0, .train_loss = 0},
                         {.round = 2, .train_loss = 1.0},
                         {.round = 1, .train_loss = 4.0},
                         {.round = 3, .train_loss = 0.25}};
    sal_metrics m = {.n = 1, .cap = 4, .rows = rows};
    CHECK(sal_fed_quant_levels(&cfg, &m, 0) == 4); /* round 1: no loss yet */
    m.n = 3;
    CHECK(sal_fed_quant_levels(&cfg, &m, 1) == 4); /* round 2: loss_1 / loss_1 */
    CHECK(sal_fed_quant_levels(&cfg, &m, 2) == 8); /* round 3: 4 sqrt(4 / 1) */
    m.n = 4;
    CHECK(sal_fed_quant_levels(&cfg, &m, 3) == 16); /* round 4: 4 sqrt(4 / 0.25) */
    cfg.quantize = SAL_QUANT_QSGD;
    CHECK(sal_fed_quant_levels(&cfg, &m, 3) == 4);
    CHECK(sal_fed_quant_cap(&cfg, 1000, 3) == sal_qsgd_encoded_bytes(1000, 4, 512) + 12);
    cfg.quantize = SAL_QUANT_NONE;
    CHECK(sal_fed_quant_cap(&cfg, 1000, 3) == 0);
}

/* A client's upload decodes to local - global within the grid step of its bucket's norm, and
 * to its state (BatchNorm statistics) bit for bit; the same (round, client) draws the same
 * bytes, another client other bytes; a short upload or non-finite state is refused. */
static void test_fed_encode(void) {
    enum { N = 700, S = 5, M = N + S };
    sal_config cfg;
    sal_config_defaults(&cfg);
    cfg.quantize = SAL_QUANT_QSGD, cfg.quantize_levels = 7, cfg.quantize_bucket = 256;
    static float local[M], global[M], work[M], dec[M];
    static uint8_t a[4096], b[4096], c[4096];
    fill(local, M, 1), fill(global, M, 2);
    const size_t cap = sal_fed_quant_cap(&cfg, N, S);
    CHECK(cap <= sizeof a);
    size_t la, lb, lc;
    sal_err err;
    memcpy(work, local, sizeof work);
    CHECK(sal_fed_quant_encode(&cfg, 3, 5, 7, work, global, N, S, a, cap, &la, &err) == SAL_OK);
    CHECK(la == sal_fed_quant_bytes(&cfg, N, S, 7));
    CHECK(la == sal_qsgd_encoded_bytes(N, 7, 256) + 4 * S);
    CHECK(sal_fed_quant_decode(&cfg, a, la, 7, dec, N, S, &err) == SAL_OK);
    for (size_t k = 0; k < N; k += 256) { /* each bucket: |dec - delta| <= norm / s */
        size_t hi = k + 256 < N ? k + 256 : N;
        double ss = 0, worst = 0;
        for (size_t i = k; i < hi; i++) {
            const double d = local[i] - global[i];
            ss += d * d;
        }
        for (size_t i = k; i < hi; i++) {
            double d = fabs(dec[i] - ((double)local[i] - global[i]));
            worst = d > worst ? d : worst;
        }
        CHECK_MSG(worst <= sqrt(ss) / 7 * (1 + 1e-5), "bucket at %zu: error %g, step %g", k,
                  worst, sqrt(ss) / 7);
    }
    CHECK_MSG(memcmp(dec + N, local + N, sizeof(float) * S) == 0, "state did not travel raw");
    CHECK(sal_fed_quant_decode(&cfg, a, la - 1, 7, dec, N, S, &err) == SAL_EFORMAT);
    CHECK(sal_fed_quant_decode(&cfg, a, la, 3, dec, N, S, &err) == SAL_EFORMAT); /* levels */
    memcpy(b, a, la);
    memset(b + la - 4, 0xff, 4); /* the last state float: a NaN */
    CHECK(sal_fed_quant_decode(&cfg, b, la, 7, dec, N, S, &err) == SAL_EFORMAT);
    memcpy(work, local, sizeof work);
    CHECK(sal_fed_quant_encode(&cfg, 3, 5, 7, work, global, N, S, b, cap, &lb, &err) == SAL_OK);
    CHECK(lb == la && memcmp(a, b, la) == 0);
    memcpy(work, local, sizeof work);
    CHECK(sal_fed_quant_encode(&cfg, 3, 6, 7, work, global, N, S, c, cap, &lc, &err) == SAL_OK);
    CHECK(lc == la && memcmp(a, c, la) != 0);
    memcpy(work, local, sizeof work); /* no room for the state: refused, not written past cap */
    CHECK(sal_fed_quant_encode(&cfg, 3, 5, 7, work, global, N, S, c, la - 1, &lc, &err) != 0);
}

int main(void) {
    test_grid();
    test_unbiased();
    test_variance_bound();
    test_reproducible_and_hostile();
    test_adaquant();
    test_fed_levels();
    test_fed_encode();
    return sal_test_done("test_quant");
}
