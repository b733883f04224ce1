/* test_models.c - each model's forward, backward and SGD steps against PyTorch 1.13 outputs
 * stored by tests/fixtures/gen_fixtures.py (regenerate with /usr/bin/python3 that script). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/model.h"
#include "salient/optim.h"

typedef sal_fix_rec rec; /* a record of a gen_fixtures.py file (harness.h) */

/* Worst |a-b| / (atol + rtol |b|) over the arrays; <= 1 passes. Prints the worst difference. */
static double worst(const char *what, const float *a, const float *b, size_t n, double atol,
                    double rtol) {
    double w = 0, wd = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        double r = d / (atol + rtol * fabs((double)b[i]));
        if (!(r <= w)) w = r, wd = d; /* also catches NaN */
    }
    printf("  %-22s max|diff| %.3g  (ratio to tolerance %.3f)\n", what, wd, w);
    return w;
}

static double max_abs(const float *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[i]));
    return m;
}

static void check_model(const char *name, sal_arch arch, int c, int h, int w) {
    rec recs[64];
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/%s.bin", name);
    int nrec = sal_fix_load(sal_test_src(path), recs, 64);
    CHECK_MSG(nrec > 0, "cannot load fixture %s", path);
    if (nrec <= 0) return;
    printf("%s:\n", name);
    const rec *x = sal_fix_find(recs, nrec, "x"), *y = sal_fix_find(recs, nrec, "y");
    int B = x->dims[0];
    sal_err err;
    sal_model *m = sal_model_create(arch, c, h, w, 10, B, &err);
    CHECK(m != NULL);
    sal_params *p = sal_model_params(m);
    /* the fixture's closed-form parameters: sin(0.7 i + 1.3 t + 0.1) / sqrt(fan_in) */
    for (int t = 0; t < p->ntensors; t++) {
        float *v = sal_params_w(p, t);
        for (size_t i = 0; i < p->t[t].numel; i++)
            v[i] = (float)(sin(0.7 * (double)i + 1.3 * t + 0.1) / sqrt((double)p->t[t].fan_in));
    }
    int labels[64];
    for (int i = 0; i < B; i++) labels[i] = (int)y->data[i];
    double loss = sal_model_forward(m, x->data, labels, B, NULL);
    const rec *logits = sal_fix_find(recs, nrec, "logits"), *rloss = sal_fix_find(recs, nrec, "loss");
    CHECK(worst("logits", sal_model_logits(m), logits->data, logits->n, 1e-5, 1e-4) <= 1);
    CHECK_CLOSE(loss, rloss->data[0], 1e-6, 1e-5);
    sal_model_backward(m);
    for (int t = 0; t < p->ntensors; t++) {
        char gname[80];
        snprintf(gname, sizeof gname, "grad.%s", p->t[t].name);
        const rec *g = sal_fix_find(recs, nrec, gname);
        CHECK_MSG(g && g->n == p->t[t].numel, "missing or mis-shaped %s", gname);
        /* atol scales with the tensor: OpenBLAS's kernels sum in different orders (this
         * machine's environment pins OPENBLAS_CORETYPE=Haswell; the fixtures come from PyTorch's
         * own), and through the cnn's three conv layers that moves fc2's weight gradient by up
         * to 1.5e-5 of its largest entry (2.85e-6 of 0.186; 7.8e-7 with the SkylakeX kernel). */
        if (g && g->n == p->t[t].numel)
            CHECK_MSG(worst(gname, sal_params_g(p, t), g->data, g->n,
                            fmax(1e-6, 2e-5 * max_abs(g->data, g->n)), 1e-3) <= 1,
                      "%s", gname);
    }
    char after0[80]; /* fixtures with SGD steps hold "after.NAME" for every tensor */
    snprintf(after0, sizeof after0, "after.%s", p->t[0].name);
    if (sal_fix_find(recs, nrec, after0)) {
        sal_sgd opt;
        CHECK(sal_sgd_init(&opt, p->n, 0.05f, 0.9f, 5e-4f) == 0);
        /* the first step reuses the gradient computed above */
        sal_sgd_step(&opt, p);
        for (int s = 1; s < 3; s++) {
            sal_model_forward(m, x->data, labels, B, NULL);
            sal_model_backward(m);
            sal_sgd_step(&opt, p);
        }
        for (int t = 0; t < p->ntensors; t++) {
            char an[80];
            snprintf(an, sizeof an, "after.%s", p->t[t].name);
            const rec *a = sal_fix_find(recs, nrec, an);
            CHECK_MSG(a && worst(an, sal_params_w(p, t), a->data, a->n, 1e-6, 1e-4) <= 1, "%s",
                      an);
        }
        sal_sgd_free(&opt);
    }
    sal_model_free(m);
    for (int i = 0; i < nrec; i++) free(recs[i].data);
}

/* sal_model_init: PyTorch's default bounds U(-1/sqrt(fan_in), 1/sqrt(fan_in)), seeded. */
static void check_init(void) {
    sal_model *a = sal_model_create(SAL_ARCH_LENET5, 1, 28, 28, 10, 1, NULL);
    sal_model *b = sal_model_create(SAL_ARCH_LENET5, 1, 28, 28, 10, 1, NULL);
    sal_model_init(a, 7);
    sal_model_init(b, 7);
    sal_params *p = sal_model_params(a);
    CHECK(memcmp(p->w, sal_model_params(b)->w, p->n * sizeof(float)) == 0);
    CHECK(p->n == 61706); /* torch: sum(p.numel() for p in LeNet5().parameters()) */
    for (int t = 0; t < p->ntensors; t++) {
        double bound = 1.0 / sqrt((double)p->t[t].fan_in), mx = 0, sum2 = 0;
        const float *v = sal_params_w(p, t);
        for (size_t i = 0; i < p->t[t].numel; i++) {
            mx = fmax(mx, fabs(v[i]));
            sum2 += (double)v[i] * v[i];
        }
        CHECK_MSG(mx <= bound, "%s exceeds bound", p->t[t].name);
        if (p->t[t].numel >= 1000) /* variance of U(-b, b) is b^2/3 */
            CHECK_CLOSE(sum2 / p->t[t].numel, bound * bound / 3, 0, 0.1);
    }
    sal_model_init(b, 8);
    CHECK(memcmp(p->w, sal_model_params(b)->w, p->n * sizeof(float)) != 0);
    sal_model_free(a);
    sal_model_free(b);
    /* shapes and counts match torch: MLP 266610, CNN on CIFAR 321290 */
    sal_model *mlp = sal_model_create(SAL_ARCH_MLP, 1, 28, 28, 10, 1, NULL);
    sal_model *cnn = sal_model_create(SAL_ARCH_CNN, 3, 32, 32, 10, 1, NULL);
    CHECK(sal_model_params(mlp)->n == 266610);
    CHECK(sal_model_params(cnn)->n == 321290);
    sal_model_free(mlp);
    sal_model_free(cnn);
    sal_err err;
    CHECK(sal_model_create(SAL_ARCH_LENET5, 1, 3, 3, 10, 1, &err) == NULL);
}

/* linear: flatten + fc is multinomial logistic regression; fc is the only parameterised
 * layer, so its backward computes no input gradient and train FLOPs are 2 x (fwd + dW). */
static void check_linear(void) {
    sal_model *m = sal_model_create(SAL_ARCH_LINEAR, 1, 28, 28, 10, 2, NULL);
    CHECK(m != NULL);
    if (!m) return;
    const sal_params *p = sal_model_params(m);
    CHECK(p->ntensors == 2 && p->n == 7850); /* torch: nn.Linear(784, 10) */
    CHECK(!strcmp(p->t[0].name, "fc.weight") && p->t[0].ndim == 2 && p->t[0].shape[0] == 10 &&
          p->t[0].shape[1] == 784 && p->t[0].fan_in == 784 && p->t[0].prunable);
    CHECK(!strcmp(p->t[1].name, "fc.bias") && p->t[1].numel == 10 && p->t[1].fan_in == 784 &&
          !p->t[1].prunable);
    CHECK(sal_model_forward_macs(m) == 7840.0);
    CHECK(sal_model_train_flops(m) == 2.0 * 2 * 7840);
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (f) {
        sal_model_describe(m, f);
        char buf[512] = {0};
        rewind(f);
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        CHECK(got > 0 && strstr(buf, "fc ") && strstr(buf, "(10, 1, 1)") &&
              strstr(buf, "7850 params") && strstr(buf, "total: 7850 parameters"));
    }
    sal_model_init(m, 3);
    double bound = 1.0 / sqrt(784.0), mx = 0;
    for (size_t i = 0; i < p->n; i++) mx = fmax(mx, fabs(p->w[i]));
    CHECK(mx > 0 && mx <= bound);
    sal_model_free(m);
    sal_model *cifar = sal_model_create(SAL_ARCH_LINEAR, 3, 32, 32, 10, 1, NULL);
    CHECK(cifar && sal_model_params(cifar)->n == 30730);
    sal_model_free(cifar);
    /* no pooling: any input size works, even 1x1 */
    sal_model *tiny = sal_model_create(SAL_ARCH_LINEAR, 1, 1, 1, 2, 1, NULL);
    CHECK(tiny && sal_model_params(tiny)->n == 4);
    sal_model_free(tiny);
}

int main(void) {
    check_model("mlp", SAL_ARCH_MLP, 1, 28, 28);
    check_model("lenet5", SAL_ARCH_LENET5, 1, 28, 28);
    check_model("cnn", SAL_ARCH_CNN, 3, 32, 32);
    check_model("linear", SAL_ARCH_LINEAR, 1, 28, 28);
    check_linear();
    check_init();
    return sal_test_done("test_models");
}
