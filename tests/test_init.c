/* test_init.c - [model] init = risotto by its promise: at initialisation the input-output
 * Jacobian of a plain ReLU ResNet has singular values at 1 (Gadhikar and Burkholz 2023), where
 * PyTorch's default spreads them, and each block balances its residual branch and its skip;
 * plus determinism by seed, training, the refusals, and the input gradient (spec.input_grad)
 * and [model] norm = none the measurement rests on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/config.h"
#include "salient/model.h"
#include "salient/optim.h"
#include "salient/rng.h"

/* LAPACK (OpenBLAS ships it), declared as src/comm/spectral.c does */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                   double *w, double *work, const int *lwork, int *info, size_t, size_t);

static sal_model *make(sal_arch arch, sal_norm norm, sal_init_scheme init, int c, int hw,
                       int classes, int batch, int input_grad) {
    sal_model_spec s = {.arch = arch, .norm = norm, .c = c, .h = hw, .w = hw,
                        .classes = classes, .max_batch = batch, .threads = 1, .init = init,
                        .input_grad = input_grad};
    sal_err err;
    sal_model *m = sal_model_create_spec(&s, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    return m;
}

/* J (classes x d) = d logits / d input at x (batch 1), one backward per logit. */
static void jacobian(sal_model *m, const float *x, int d, int classes, double *J) {
    float *e = calloc((size_t)classes, sizeof *e);
    int y = 0;
    for (int k = 0; k < classes; k++) {
        sal_model_forward(m, x, &y, 1, NULL); /* a backward consumes the forward's buffers */
        memset(e, 0, sizeof *e * (size_t)classes);
        e[k] = 1.0f;
        sal_model_backward_from(m, e);
        const float *g = sal_model_input_grad(m);
        for (int i = 0; i < d; i++) J[(size_t)k * d + i] = g[i];
    }
    free(e);
}

/* The min(r, c) singular values of J (r x c), ascending: square roots of the eigenvalues of
 * the smaller Gram matrix (J J^T or J^T J). Returns their count. */
static int singular_values(const double *J, int r, int c, double *sv) {
    int n = r < c ? r : c, info = 0, lwork = 3 * n + 64;
    double *a = calloc((size_t)n * n, sizeof *a), *work = malloc(sizeof *work * (size_t)lwork);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            if (r <= c)
                for (int k = 0; k < c; k++) s += J[(size_t)i * c + k] * J[(size_t)j * c + k];
            else
                for (int k = 0; k < r; k++) s += J[(size_t)k * c + i] * J[(size_t)k * c + j];
            a[(size_t)i * n + j] = s;
        }
    dsyev_("N", "U", &n, a, &n, sv, work, &lwork, &info, 1, 1);
    CHECK(info == 0);
    for (int i = 0; i < n; i++) sv[i] = sqrt(sv[i] > 0 ? sv[i] : 0);
    free(a), free(work);
    return n;
}

typedef struct {
    double min, max, logstd;
    int count;
} spread;

/* Spread of the largest rank singular values of the model's input-output Jacobian at x. */
static spread measure(const char *what, sal_arch arch, sal_init_scheme init, int c, int hw,
                      int classes, uint64_t seed, int rank) {
    sal_model *m = make(arch, SAL_NORM_NONE, init, c, hw, classes, 1, 1);
    spread s = {INFINITY, 0, 0, 0};
    if (!m) return s;
    sal_model_init(m, seed);
    const int d = c * hw * hw;
    float *x = malloc(sizeof *x * (size_t)d);
    sal_rng r;
    sal_rng_seed(&r, seed, 99, 0);
    for (int i = 0; i < d; i++) x[i] = (float)sal_rng_normal(&r);
    double *J = malloc(sizeof *J * (size_t)classes * d), *sv = malloc(sizeof *sv * (size_t)d);
    jacobian(m, x, d, classes, J);
    int n = singular_values(J, classes, d, sv);
    /* the largest `rank` of them: risotto's rank is the architecture's; kaiming's lower ones
     * may be ~0 (ReLUs dead for this x), which is part of its spread */
    double mean = 0, sq = 0;
    for (int i = n - rank; i < n; i++) {
        s.count += sv[i] > 1e-6;
        s.min = fmin(s.min, sv[i]), s.max = fmax(s.max, sv[i]);
        double l = log(fmax(sv[i], 1e-12));
        mean += l, sq += l * l;
    }
    mean /= rank, s.logstd = sqrt(fmax(0, sq / rank - mean * mean));
    printf("  %-30s %-7s top %2d of %2d singular values: min %.6f max %.6f max/min %9.4g "
           "std(log) %.5f\n",
           what, init == SAL_INIT_RISOTTO ? "risotto" : "kaiming", rank, n, s.min, s.max,
           s.max / s.min, s.logstd);
    free(x), free(J), free(sv);
    sal_model_free(m);
    return s;
}

/* The promise. Float forward and backward through ~20 layers put each Jacobian entry within
 * ~1e-6 relative of the exact product of orthogonal maps, so exact isometry reads as 1 within
 * 1e-4; 1e-3 leaves room and still fails any real departure (kaiming's spreads are > 1.5x). */
static void test_isometry(void) {
    printf("input-output Jacobian, resnet20 with norm = none, batch 1, seed 1..3:\n");
    for (uint64_t seed = 1; seed <= 3; seed++) {
        /* 8x1x1 input: every conv acts through its centre tap, the stride-2 stages keep the
         * one pixel, so the whole network (stem, 7 type C and 2 type B blocks, pooling, head)
         * maps R^8 to R^32 and can be an isometry: risotto's J^T J is I. */
        spread r = measure("8x1x1 -> 32 logits", SAL_ARCH_RESNET20, SAL_INIT_RISOTTO, 8, 1, 32,
                           seed, 8);
        spread k = measure("8x1x1 -> 32 logits", SAL_ARCH_RESNET20, SAL_INIT_KAIMING, 8, 1, 32,
                           seed, 8);
        CHECK_MSG(fabs(r.min - 1) < 1e-3 && fabs(r.max - 1) < 1e-3, "risotto %g..%g", r.min,
                  r.max);
        CHECK_MSG(k.max / k.min > 2 && k.logstd > 0.2 && k.logstd > 100 * r.logstd,
                  "kaiming not wider: %g vs %g", k.logstd, r.logstd);
        /* 3x8x8: spatial. Delta-orthogonal convs and the strided shortcut read the same pixel
         * (4i, 4j) of the input for the final pixel (i, j); global pooling over the final 2x2
         * averages 4 such pixels through the same isometry, so J has rank 3 (the input
         * channels) and each of those singular values is 1/sqrt(4) = 0.5. A shortcut and a
         * conv that read different pixels, or padding that leaked in, would break both. */
        r = measure("3x8x8 -> 32 logits", SAL_ARCH_RESNET20, SAL_INIT_RISOTTO, 3, 8, 32, seed, 3);
        CHECK_MSG(fabs(r.min - 0.5) < 1e-3 && fabs(r.max - 0.5) < 1e-3, "risotto %g..%g", r.min,
                  r.max);
        spread r4 = measure("3x8x8 -> 32 logits", SAL_ARCH_RESNET20, SAL_INIT_RISOTTO, 3, 8, 32,
                            seed, 4);
        CHECK(r4.count == 3); /* the fourth is 0: rank 3 */
        k = measure("3x8x8 -> 32 logits", SAL_ARCH_RESNET20, SAL_INIT_KAIMING, 3, 8, 32, seed,
                    32);
        CHECK(k.max / k.min > 2);
    }
}

/* Centre tap (o, i) of conv weight t, whose shape is (O, I, K, K). */
static double centre(const sal_params *p, int t, int o, int i) {
    const int I = p->t[t].shape[1], K = p->t[t].shape[2];
    return sal_params_w(p, t)[(((size_t)o * I + i) * K + K / 2) * K + K / 2];
}

/* y (O) = centre taps of conv t times x (I), in double */
static void apply(const sal_params *p, int t, const double *x, double *y) {
    for (int o = 0; o < p->t[t].shape[0]; o++) {
        double s = 0;
        for (int i = 0; i < p->t[t].shape[1]; i++) s += centre(p, t, o, i) * x[i];
        y[o] = s;
    }
}

/* The signal z = a - b that C = 2n channels [a; b] carry (init_risotto.c's reading). */
static double signal_norm2(const double *v, int C, const double *minus, double *out) {
    double s = 0;
    for (int i = 0; i < C / 2; i++) {
        double z = v[i] - v[i + C / 2] - (minus ? minus[i] : 0);
        if (out) out[i] = z;
        s += z * z;
    }
    return s;
}

/* The balance the paper promises beside the isometry (abstract: RISOTTO "balances the
 * contributions of the residual and skip branches unlike other schemes, which initially bias
 * towards the skip connections"), measured block by block on the weights (their centre taps, in
 * double: one pixel, norm = none), not on the construction: for z in, x = [relu(z); relu(-z)]
 * (what the stem and every block hand on), the block's output signal is out(z), its skip
 * alone (conv2 zeroed) gives k(z) = signal of relu(shortcut(x)), and the residual branch adds
 * d(z) = out(z) - k(z). Balanced: |d| = |k|, and |out| = |z|. Per block kind:
 *   1x1 shortcut: |k|^2 = |d|^2 = |z|^2 / 2 (half the energy each, orthogonal);
 *   identity:     |k| = |d| = |z| (k = z, and d = (A - I) z turns it by 60 degrees).
 * The Jacobian test above cannot see this: a block whose residual branch adds only a sliver
 * (A a 10-degree rotation, or a 0.99 / 0.14 split in place of 1/sqrt 2 each) is as orthogonal
 * as a balanced one. */
static void test_balance(void) {
    enum { C_MAX = 64, Z = 8 }; /* resnet20: 16/32/64 channels */
    printf("branch balance, resnet20 with norm = none, %d random z a block, seed 1..3:\n", Z);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        sal_model *m = make(SAL_ARCH_RESNET20, SAL_NORM_NONE, SAL_INIT_RISOTTO, 3, 1, 10, 1, 0);
        if (!m) return;
        sal_model_init(m, seed);
        const sal_params *p = sal_model_params(m);
        sal_rng r;
        sal_rng_seed(&r, seed, 99, 3);
        int blocks[2] = {0, 0};
        double worst_iso = 0, worst_bal = 0, worst_share = 0, share[2] = {0, 0};
        for (int s = 1; s <= 3; s++)
            for (int b = 0;; b++) {
                char n1[64], n2[64], ns[64];
                snprintf(n1, sizeof n1, "layer%d.%d.conv1.weight", s, b);
                snprintf(n2, sizeof n2, "layer%d.%d.conv2.weight", s, b);
                snprintf(ns, sizeof ns, "layer%d.%d.shortcut.0.weight", s, b);
                const int c1 = sal_params_find(p, n1), c2 = sal_params_find(p, n2),
                          sc = sal_params_find(p, ns), proj = sc >= 0;
                if (c1 < 0) break;
                CHECK(c2 >= 0);
                const int Cin = p->t[c1].shape[1], C = p->t[c2].shape[0], n = Cin / 2;
                CHECK(Cin <= C_MAX && C <= C_MAX && p->t[c1].shape[0] <= C_MAX);
                blocks[proj]++;
                for (int t = 0; t < Z; t++) {
                    double z[C_MAX / 2], x[C_MAX], h[C_MAX], res[C_MAX], skip[C_MAX],
                        out[C_MAX], k[C_MAX / 2];
                    double zz = 0;
                    for (int i = 0; i < n; i++) {
                        z[i] = sal_rng_normal(&r), zz += z[i] * z[i];
                        x[i] = fmax(z[i], 0), x[i + n] = fmax(-z[i], 0);
                    }
                    apply(p, c1, x, h);
                    for (int i = 0; i < p->t[c1].shape[0]; i++) h[i] = fmax(h[i], 0);
                    apply(p, c2, h, res);
                    if (proj) apply(p, sc, x, skip);
                    else memcpy(skip, x, sizeof x[0] * (size_t)C);
                    for (int i = 0; i < C; i++) {
                        out[i] = fmax(res[i] + skip[i], 0);
                        skip[i] = fmax(skip[i], 0); /* the block with conv2 zeroed */
                    }
                    const double oo = signal_norm2(out, C, NULL, NULL),
                                 kk = signal_norm2(skip, C, NULL, k),
                                 dd = signal_norm2(out, C, k, NULL); /* |out - k|^2 */
                    worst_iso = fmax(worst_iso, fabs(sqrt(oo / zz) - 1));
                    worst_bal = fmax(worst_bal, fabs(sqrt(dd / kk) - 1));
                    /* the stated share of |z|^2 that the skip carries: 1/2 or all of it */
                    worst_share = fmax(worst_share, fabs(kk / zz - (proj ? 0.5 : 1.0)));
                    share[proj] += kk / zz / Z;
                }
            }
        printf("  seed %d: %d identity blocks |k|^2/|z|^2 %.6f, %d 1x1-shortcut blocks %.6f; "
               "worst | |out|/|z| - 1 | %.2e, | |d|/|k| - 1 | %.2e\n",
               (int)seed, blocks[0], share[0] / blocks[0], blocks[1], share[1] / blocks[1],
               worst_iso, worst_bal);
        CHECK(blocks[0] == 7 && blocks[1] == 2);
        /* float weights: each figure is exact up to ~1e-7 relative */
        CHECK_MSG(worst_iso < 1e-5, "a block is no isometry: %g", worst_iso);
        CHECK_MSG(worst_bal < 1e-5, "residual branch and skip unbalanced: %g", worst_bal);
        CHECK_MSG(worst_share < 1e-5, "the skip's share is off by %g", worst_share);
        sal_model_free(m);
    }
}

/* The input gradient against central differences in double of the float forward, on a model
 * with norms and one without (norm = none builds no norm nodes and no norm tensors). */
static void test_input_grad(void) {
    for (int norm = 0; norm < 3; norm += 2) {
        sal_model *m = make(SAL_ARCH_RESNET20, (sal_norm)norm, SAL_INIT_KAIMING, 3, 8, 10, 2, 1);
        if (!m) return;
        sal_model_init(m, 7);
        sal_params *p = sal_model_params(m);
        int has_norm = 0;
        for (int t = 0; t < p->ntensors; t++) has_norm |= strstr(p->t[t].name, "bn") != NULL;
        CHECK(has_norm == (norm != SAL_NORM_NONE));
        float x[2 * 192];
        int y[2] = {3, 5};
        sal_rng r;
        sal_rng_seed(&r, 5, 99, 1);
        for (int i = 0; i < 2 * 192; i++) x[i] = (float)sal_rng_normal(&r);
        sal_model_forward(m, x, y, 2, NULL);
        sal_model_backward(m);
        float g[2 * 192];
        memcpy(g, sal_model_input_grad(m), sizeof g);
        double diff = 0, ref = 0;
        for (int i = 0; i < 2 * 192; i += 13) {
            const float h = 1e-3f, x0 = x[i];
            x[i] = x0 + h;
            double lp = sal_model_forward(m, x, y, 2, NULL);
            x[i] = x0 - h;
            double lm = sal_model_forward(m, x, y, 2, NULL);
            x[i] = x0;
            /* the loss is the batch mean: its gradient is what backward wrote */
            double fd = (lp - lm) / (2 * h);
            diff += (fd - g[i]) * (fd - g[i]), ref += (double)g[i] * g[i];
        }
        double rel = sqrt(diff / ref);
        printf("input gradient vs central differences, norm = %s: relative L2 error %.2e\n",
               norm ? "none" : "group", rel);
        /* The float loss (~2.3, eps 1e-7) differenced at h = 1e-3 is good to ~2e-4 per entry;
         * GroupNorm over 8 values a group (2x2 maps) bends within h now and then: a few
         * percent over 30 entries. A wrong or missing term is off by O(1). */
        CHECK(rel < 5e-2);
        sal_model_free(m);
    }
    sal_model *m = make(SAL_ARCH_LENET5, SAL_NORM_GROUP, SAL_INIT_KAIMING, 1, 28, 10, 1, 0);
    if (m) CHECK(sal_model_input_grad(m) == NULL); /* not asked for: not computed */
    sal_model_free(m);
}

static void test_determinism(void) {
    sal_model *a = make(SAL_ARCH_RESNET18, SAL_NORM_GROUP, SAL_INIT_RISOTTO, 3, 8, 10, 1, 0);
    sal_model *b = make(SAL_ARCH_RESNET18, SAL_NORM_GROUP, SAL_INIT_RISOTTO, 3, 8, 10, 1, 0);
    if (!a || !b) return;
    sal_params *pa = sal_model_params(a), *pb = sal_model_params(b);
    sal_model_init(a, 42);
    memset(pb->w, 0xff, sizeof(float) * pb->n); /* init overwrites every parameter */
    sal_model_init(b, 42);
    CHECK(memcmp(pa->w, pb->w, sizeof(float) * pa->n) == 0);
    sal_model_init(b, 43);
    CHECK(memcmp(pa->w, pb->w, sizeof(float) * pa->n) != 0);
    /* A delta-orthogonal looks-linear 3x3 weight: centre taps only, and the stride-2 stage's
     * conv1 = LL(U1) with U1^T U1 = I (256 x 128 columns orthonormal). */
    int t = sal_params_find(pa, "layer4.0.conv1.weight");
    CHECK(t >= 0);
    const float *w = sal_params_w(pa, t);
    const int O = pa->t[t].shape[0], I = pa->t[t].shape[1];
    double off = 0, worst = 0;
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            for (int k = 0; k < 9; k++)
                if (k != 4) off = fmax(off, fabs(w[((size_t)o * I + i) * 9 + k]));
    for (int i = 0; i < I / 2; i += 7)
        for (int j = 0; j < I / 2; j++) {
            double s = 0;
            for (int o = 0; o < O / 2; o++)
                s += (double)w[((size_t)o * I + i) * 9 + 4] * w[((size_t)o * I + j) * 9 + 4];
            worst = fmax(worst, fabs(s - (i == j)));
        }
    CHECK(off == 0);
    CHECK_MSG(worst < 1e-5, "U1^T U1 off I by %g", worst);
    /* the norms are set as kaiming sets them */
    int g = sal_params_find(pa, "bn1.weight");
    CHECK(g >= 0 && sal_params_w(pa, g)[0] == 1.0f);
    sal_model_free(a), sal_model_free(b);
}

/* A few SGD steps on one fixed batch lower the loss: the isometric start trains. */
static void test_trains(void) {
    enum { B = 16, D = 3 * 8 * 8 };
    sal_model *m = make(SAL_ARCH_RESNET20, SAL_NORM_NONE, SAL_INIT_RISOTTO, 3, 8, 10, B, 0);
    if (!m) return;
    sal_model_init(m, 3);
    float *x = malloc(sizeof *x * B * D);
    int y[B];
    sal_rng r;
    sal_rng_seed(&r, 3, 99, 2);
    for (int i = 0; i < B * D; i++) x[i] = (float)sal_rng_normal(&r);
    for (int i = 0; i < B; i++) y[i] = i % 10;
    sal_sgd opt;
    CHECK(sal_sgd_init(&opt, sal_model_params(m)->n, 0.02f, 0.9f, 0.0f) == 0);
    double first = 0, last = 0;
    for (int step = 0; step < 15; step++) {
        last = sal_model_forward(m, x, y, B, NULL);
        if (step == 0) first = last;
        sal_model_backward(m);
        sal_sgd_step(&opt, sal_model_params(m));
    }
    printf("risotto resnet20 (norm = none), 15 SGD steps on one batch: loss %.4f -> %.4f\n",
           first, last);
    CHECK(isfinite(last) && last < 0.7 * first);
    sal_sgd_free(&opt);
    free(x);
    sal_model_free(m);
}

/* One line naming [model] init, from the model API and from the config check. */
static void test_refusals(void) {
    sal_model_spec s = {.arch = SAL_ARCH_LENET5, .c = 1, .h = 28, .w = 28, .classes = 10,
                        .max_batch = 1, .threads = 1, .init = SAL_INIT_RISOTTO};
    sal_err err;
    CHECK(sal_model_create_spec(&s, &err) == NULL);
    CHECK(strstr(err.msg, "[model] init") != NULL);
    sal_config c;
    sal_config_defaults(&c);
    c.init = SAL_INIT_RISOTTO; /* default arch: lenet5 */
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG);
    CHECK(strstr(err.msg, "[model] init") != NULL && strstr(err.msg, "lenet5") != NULL);
    printf("refused: %s\n", err.msg);
    c.arch = SAL_ARCH_RESNET20;
    CHECK(sal_config_validate(&c, &err) == SAL_OK);
}

int main(void) {
    test_input_grad();
    test_isometry();
    test_balance();
    test_determinism();
    test_trains();
    test_refusals();
    return sal_test_done("test_init");
}
