/* test_models.c - each model's forward, backward and SGD steps against PyTorch 1.13 outputs
 * stored by tests/fixtures/gen_fixtures.py (regenerate with /usr/bin/python3 that script). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/cpu.h"
#include "salient/model.h"
#include "salient/optim.h"
#include "salient/rng.h"

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

/* ---- the ResNets (fixtures from make_resnet in gen_fixtures.py) ---- */

/* The fixture's closed-form parameters: sin(0.7 i + 1.3 t + 0.1) / sqrt(fan_in); salient's
 * table gives norm tensors fan_in 1, as formula_params_norm does. */
static void formula_params(sal_params *p) {
    for (int t = 0; t < p->ntensors; t++) {
        float *v = sal_params_w(p, t);
        for (size_t i = 0; i < p->t[t].numel; i++)
            v[i] = (float)(sin(0.7 * (double)i + 1.3 * t + 0.1) / sqrt((double)p->t[t].fan_in));
    }
}

/* x's 64 entries at floor(i n / 64) (all when n <= 64), as gen_fixtures.py's sample(). */
static size_t sample(const float *x, size_t n, float *out) {
    if (n <= 64) {
        memcpy(out, x, n * sizeof *x);
        return n;
    }
    for (size_t i = 0; i < 64; i++) out[i] = x[(size_t)((unsigned long long)i * n / 64)];
    return 64;
}

static double l2(const float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

/* Sampled entries of tensor t of buf against the record "PREFIX.NAME"; atol scales with the
 * tensor (a deep net sums many products in orders of its own; the L2 norms, checked beside,
 * would catch a wrong layer that samples missed). */
static int check_sampled(const rec *recs, int nrec, const char *prefix, const sal_tensor *tv,
                         const float *x, double rel) {
    char nm[96];
    snprintf(nm, sizeof nm, "%s.%s", prefix, tv->name);
    const rec *r = sal_fix_find(recs, nrec, nm);
    float got[64];
    size_t k = sample(x, tv->numel, got);
    CHECK_MSG(r && r->n == k, "missing or mis-shaped %s", nm);
    if (!r || r->n != k) return 0;
    double scale = fmax(max_abs(r->data, k), l2(x, tv->numel) / sqrt((double)tv->numel));
    return worst(nm, got, r->data, k, fmax(1e-7, rel * scale), 1e-3) <= 1;
}

static void check_resnet(const char *file, sal_arch arch, sal_norm norm) {
    int cap = 4096;
    rec *recs = malloc(sizeof *recs * (size_t)cap);
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/%s.bin", file);
    int nrec = recs ? sal_fix_load(sal_test_src(path), recs, cap) : -1;
    CHECK_MSG(nrec > 0, "cannot load fixture %s", path);
    if (nrec <= 0) {
        free(recs);
        return;
    }
    printf("%s:\n", file);
    const rec *x = sal_fix_find(recs, nrec, "x"), *y = sal_fix_find(recs, nrec, "y");
    int B = x->dims[0], labels[64];
    sal_err err;
    sal_model_spec spec = {arch, norm, x->dims[1], x->dims[2], x->dims[3], 10, B, 1,
                           SAL_INIT_KAIMING, 0};
    sal_model *m = sal_model_create_spec(&spec, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) return;
    sal_params *p = sal_model_params(m);
    sal_model_init(m, 1); /* BatchNorm state: running mean 0, variance 1 */
    formula_params(p);
    for (int i = 0; i < B; i++) labels[i] = (int)y->data[i];
    double loss = sal_model_forward(m, x->data, labels, B, NULL);
    const rec *logits = sal_fix_find(recs, nrec, "logits"), *rloss = sal_fix_find(recs, nrec, "loss");
    CHECK(worst("logits", sal_model_logits(m), logits->data, logits->n,
                1e-4 * max_abs(logits->data, logits->n), 1e-3) <= 1);
    CHECK_CLOSE(loss, rloss->data[0], 1e-5, 1e-4);
    sal_model_backward(m);
    int bad = 0;
    for (int t = 0; t < p->ntensors; t++) {
        const sal_tensor *tv = &p->t[t];
        bad += !check_sampled(recs, nrec, "g", tv, sal_params_g(p, t), 2e-3);
        char nm[96];
        snprintf(nm, sizeof nm, "gn.%s", tv->name);
        const rec *gn = sal_fix_find(recs, nrec, nm);
        double ours = l2(sal_params_g(p, t), tv->numel);
        CHECK_MSG(gn && fabs(ours - gn->data[0]) <= 1e-3 * gn->data[0] + 1e-7,
                  "%s: %g vs torch %g", nm, ours, gn ? gn->data[0] : NAN);
    }
    CHECK_MSG(bad == 0, "%s: %d gradients differ from torch", file, bad);
    char a0[96];
    snprintf(a0, sizeof a0, "a.%s", p->t[0].name);
    if (sal_fix_find(recs, nrec, a0)) {
        sal_sgd opt;
        CHECK(sal_sgd_init(&opt, p->n, 0.05f, 0.9f, 5e-4f) == 0);
        sal_sgd_step(&opt, p); /* the first step uses the gradient above */
        for (int s = 1; s < 3; s++) {
            sal_model_forward(m, x->data, labels, B, NULL);
            sal_model_backward(m);
            sal_sgd_step(&opt, p);
        }
        bad = 0;
        for (int t = 0; t < p->ntensors; t++)
            bad += !check_sampled(recs, nrec, "a", &p->t[t], sal_params_w(p, t), 1e-4);
        CHECK_MSG(bad == 0, "%s: %d tensors differ from torch after 3 SGD steps", file, bad);
        for (int t = 0; t < p->nstate; t++) {
            char nm[96];
            snprintf(nm, sizeof nm, "s.%s", p->st[t].name);
            const rec *r = sal_fix_find(recs, nrec, nm);
            CHECK_MSG(r && r->n == p->st[t].numel &&
                          worst(nm, sal_params_s(p, t), r->data, r->n, 1e-5, 1e-4) <= 1,
                      "%s", nm);
        }
        const rec *ev = sal_fix_find(recs, nrec, "eval_logits");
        CHECK(!ev == (norm != SAL_NORM_BATCH));
        if (ev) {
            sal_model_set_training(m, 0);
            sal_model_forward(m, x->data, labels, B, NULL);
            CHECK(worst("eval_logits", sal_model_logits(m), ev->data, ev->n,
                        1e-4 * max_abs(ev->data, ev->n), 1e-3) <= 1);
        }
        sal_sgd_free(&opt);
    }
    sal_model_free(m);
    for (int i = 0; i < nrec; i++) free(recs[i].data);
    free(recs);
}

/* Tensor names and counts of torch's state_dict for the reference modules
 * (scripts/salient_models.py: sum(p.numel() for p in m.parameters()) and len(state_dict)). */
static void check_resnet_shapes(void) {
    static const struct {
        sal_arch arch;
        sal_norm norm;
        size_t n, ns;
        int ntensors, nstate;
    } want[] = {
        {SAL_ARCH_RESNET20, SAL_NORM_GROUP, 272474, 0, 65, 0},
        {SAL_ARCH_RESNET20, SAL_NORM_BATCH, 272474, 1589, 65, 63},
        {SAL_ARCH_RESNET18, SAL_NORM_GROUP, 11173962, 0, 62, 0},
        {SAL_ARCH_RESNET50, SAL_NORM_BATCH, 23520842, 53173, 161, 159},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        sal_model_spec s = {want[i].arch, want[i].norm, 3, 32, 32, 10, 2, 1, SAL_INIT_KAIMING, 0};
        sal_model *m = sal_model_create_spec(&s, NULL);
        CHECK(m != NULL);
        if (!m) continue;
        const sal_params *p = sal_model_params(m);
        CHECK_MSG(p->n == want[i].n && p->ns == want[i].ns && p->ntensors == want[i].ntensors &&
                      p->nstate == want[i].nstate,
                  "arch %d: %zu params %zu state %d tensors %d buffers", (int)want[i].arch, p->n,
                  p->ns, p->ntensors, p->nstate);
        /* prunable: conv and linear weights only, shortcut convs and the head included */
        for (int t = 0; t < p->ntensors; t++)
            CHECK_MSG(p->t[t].prunable == (p->t[t].ndim > 1), "%s", p->t[t].name);
        size_t unplanned, planned = sal_model_arena_bytes(m, &unplanned);
        CHECK(planned > 0 && planned < unplanned); /* lifetimes let buffers share memory */
        sal_model_free(m);
    }
    sal_model_spec s18 = {SAL_ARCH_RESNET18, SAL_NORM_BATCH, 3, 32, 32, 10, 1, 1,
                          SAL_INIT_KAIMING, 0};
    sal_model *m = sal_model_create_spec(&s18, NULL);
    const sal_params *p = sal_model_params(m);
    CHECK(sal_params_find(p, "layer2.0.shortcut.0.weight") >= 0);
    CHECK(sal_params_find(p, "layer2.0.shortcut.1.bias") >= 0);
    CHECK(sal_params_find(p, "linear.weight") == p->ntensors - 2);
    CHECK(sal_params_find_state(p, "layer4.1.bn2.num_batches_tracked") == p->nstate - 1);
    CHECK(sal_params_find(p, "layer1.0.shortcut.0.weight") < 0); /* identity shortcut */
    sal_model_free(m);
    /* the ResNets take Fashion-MNIST's 1x28x28 too (28 -> 14 -> 7 -> 4) */
    sal_model_spec f = {SAL_ARCH_RESNET20, SAL_NORM_GROUP, 1, 28, 28, 10, 2, 1,
                        SAL_INIT_KAIMING, 0};
    m = sal_model_create_spec(&f, NULL);
    CHECK(m != NULL);
    sal_model_free(m);
}

/* [run] threads: the same training steps on 1, 2 and 3 threads give bitwise the same weights,
 * BatchNorm state and logits (the kernels split work by shape, never by thread count). */
static void check_threads(sal_arch arch, sal_norm norm, int c, int hw, int B) {
    float *x = malloc(sizeof(float) * (size_t)B * c * hw * hw), *w1 = NULL, *s1 = NULL;
    float logits1[10 * 64];
    int y[64];
    sal_rng r;
    sal_rng_seed(&r, 5, 99, 0);
    for (size_t i = 0; i < (size_t)B * c * hw * hw; i++) x[i] = (float)sal_rng_normal(&r);
    for (int i = 0; i < B; i++) y[i] = (i * 7) % 10;
    for (int t = 1; t <= 3; t++) {
        sal_model_spec spec = {arch, norm, c, hw, hw, 10, B, t, SAL_INIT_KAIMING, 0};
        sal_model *m = sal_model_create_spec(&spec, NULL);
        CHECK(m != NULL);
        if (!m) break;
        sal_params *p = sal_model_params(m);
        sal_model_init(m, 11);
        sal_sgd opt;
        sal_sgd_init(&opt, p->n, 0.05f, 0.9f, 5e-4f);
        for (int step = 0; step < 2; step++) {
            sal_model_forward(m, x, y, B, NULL);
            sal_model_backward(m);
            sal_sgd_step(&opt, p);
        }
        sal_model_forward(m, x, y, B, NULL);
        if (t == 1) {
            w1 = malloc(sizeof(float) * p->n), s1 = malloc(sizeof(float) * (p->ns + 1));
            memcpy(w1, p->w, sizeof(float) * p->n);
            if (p->ns) memcpy(s1, p->s, sizeof(float) * p->ns);
            memcpy(logits1, sal_model_logits(m), sizeof(float) * 10 * B);
        } else {
            CHECK_MSG(!memcmp(w1, p->w, sizeof(float) * p->n), "arch %d: weights differ on %d "
                      "threads", (int)arch, t);
            CHECK_MSG(!p->ns || !memcmp(s1, p->s, sizeof(float) * p->ns),
                      "arch %d: BatchNorm state differs on %d threads", (int)arch, t);
            CHECK_MSG(!memcmp(logits1, sal_model_logits(m), sizeof(float) * 10 * B),
                      "arch %d: logits differ on %d threads", (int)arch, t);
        }
        sal_sgd_free(&opt);
        sal_model_free(m);
    }
    free(x), free(w1), free(s1);
}

int main(void) {
    int isa = sal_test_isa("test_models");
    if (isa) return isa;
    check_model("mlp", SAL_ARCH_MLP, 1, 28, 28);
    check_model("lenet5", SAL_ARCH_LENET5, 1, 28, 28);
    check_model("cnn", SAL_ARCH_CNN, 3, 32, 32);
    check_model("linear", SAL_ARCH_LINEAR, 1, 28, 28);
    check_linear();
    check_init();
    check_resnet_shapes();
    check_threads(SAL_ARCH_RESNET20, SAL_NORM_BATCH, 3, 32, 6);
    check_threads(SAL_ARCH_RESNET20, SAL_NORM_GROUP, 1, 28, 5);
    check_threads(SAL_ARCH_LENET5, SAL_NORM_GROUP, 1, 28, 9);
    check_threads(SAL_ARCH_RESNET18, SAL_NORM_GROUP, 3, 16, 3);
    check_resnet("resnet20_group", SAL_ARCH_RESNET20, SAL_NORM_GROUP);
    check_resnet("resnet20_batch", SAL_ARCH_RESNET20, SAL_NORM_BATCH);
    check_resnet("resnet18_group", SAL_ARCH_RESNET18, SAL_NORM_GROUP);
    check_resnet("resnet50_group", SAL_ARCH_RESNET50, SAL_NORM_GROUP);
    return sal_test_done("test_models");
}
