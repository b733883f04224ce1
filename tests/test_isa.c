/* test_isa.c - the kernels' instruction-set levels against each other and against a plain
 * double-precision convolution: generic and avx2 must agree bitwise (same algorithms, no FMA
 * contraction), avx512 (direct convolution kernels, gathered col2im) within float rounding; and
 * SALIENT_ISA must refuse a bad value with a line that names it. docs/performance.md cites the
 * differences printed here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/cpu.h"
#include "salient/layers.h"
#include "salient/model.h"
#include "salient/optim.h"
#include "salient/rng.h"

static sal_rng rng;

static float *randv(size_t n) {
    float *v = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) v[i] = (float)sal_rng_normal(&rng);
    return v;
}

static float *dup(const float *x, size_t n) {
    float *v = malloc(n * sizeof(float));
    memcpy(v, x, n * sizeof(float));
    return v;
}

/* max |a - b| / (max |b| over the array): a scale-free error */
static double rel_diff(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return m > 0 ? d / m : d;
}

static void set_level(sal_isa l) {
    sal_err err;
    CHECK_MSG(sal_isa_force(l, &err) == SAL_OK, "%s", err.msg);
}

/* What one level must give against generic: bitwise for avx2 (and where rtol < 0), within rtol
 * for avx512. */
static void compare(const char *what, sal_isa l, const float *got, const float *ref, size_t n,
                    double rtol) {
    double d = rel_diff(got, ref, n);
    int same = !memcmp(got, ref, n * sizeof(float));
    printf("  %-34s %-7s vs generic: %s, max rel diff %.2e\n", what, sal_isa_name(l),
           same ? "bitwise equal" : "differs", d);
    if (l == SAL_ISA_AVX2 || rtol < 0)
        CHECK_MSG(same, "%s: %s differs from generic (%.2e)", what, sal_isa_name(l), d);
    else
        CHECK_MSG(d <= rtol, "%s: %s vs generic %.2e > %.1e", what, sal_isa_name(l), d, rtol);
}

/* ---- SALIENT_ISA parsing ---- */
static void check_env(void) {
    sal_err err;
    setenv("SALIENT_ISA", "sse9", 1);
    err.msg[0] = '\0';
    CHECK(sal_isa_select(&err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "SALIENT_ISA") && strstr(err.msg, "generic"), "%s", err.msg);
    for (int l = 0; l < SAL_ISA_COUNT; l++) {
        setenv("SALIENT_ISA", sal_isa_name((sal_isa)l), 1);
        sal_status st = sal_isa_select(&err);
        CHECK(st == (sal_isa_supported((sal_isa)l) ? SAL_OK : SAL_ECONFIG));
        if (!st)
            CHECK(sal_isa_current() == (sal_isa)l && !strcmp(sal_isa_source(), "SALIENT_ISA"));
        else
            CHECK_MSG(strstr(err.msg, sal_isa_name(sal_isa_detect())), "%s", err.msg);
    }
    unsetenv("SALIENT_ISA");
    CHECK(sal_isa_select(&err) == SAL_OK && sal_isa_current() == sal_isa_detect());
    CHECK(!strcmp(sal_isa_source(), "detected"));
    CHECK(sal_isa_supported(SAL_ISA_GENERIC));
    printf("  detected level: %s\n", sal_isa_name(sal_isa_detect()));
}

/* ---- convolution: every level against a double-precision reference, then against generic ---- */
static void conv_ref(double *out, const float *in, const float *w, const float *b, int B,
                     const sal_conv_shape *s) {
    for (int n = 0; n < B; n++)
        for (int o = 0; o < s->O; o++)
            for (int oy = 0; oy < s->OH; oy++)
                for (int ox = 0; ox < s->OW; ox++) {
                    double a = b[o];
                    for (int c = 0; c < s->C; c++)
                        for (int ky = 0; ky < s->K; ky++)
                            for (int kx = 0; kx < s->K; kx++) {
                                int y = oy * s->stride - s->pad + ky,
                                    x = ox * s->stride - s->pad + kx;
                                if (y < 0 || y >= s->H || x < 0 || x >= s->W) continue;
                                a += (double)in[(((size_t)n * s->C + c) * s->H + y) * s->W + x] *
                                     w[(((size_t)o * s->C + c) * s->K + ky) * s->K + kx];
                            }
                    out[(((size_t)n * s->O + o) * s->OH + oy) * s->OW + ox] = a;
                }
}

static void check_conv(int B, int C, int H, int W, int O, int K, int stride, int pad) {
    sal_conv_shape s;
    CHECK(sal_conv_shape_init(&s, C, H, W, O, K, stride, pad) == 0);
    const size_t nin = (size_t)B * C * H * W, nw = (size_t)O * C * K * K,
                 nout = (size_t)B * O * s.OH * s.OW;
    float *in = randv(nin), *w = randv(nw), *b = randv(O), *dout = randv(nout);
    float *scratch = malloc(sal_conv_scratch_floats(&s) * sizeof(float));
    double *ref = malloc(nout * sizeof(double));
    conv_ref(ref, in, w, b, B, &s);
    float *out[SAL_ISA_COUNT] = {0}, *din[SAL_ISA_COUNT] = {0}, *dw[SAL_ISA_COUNT] = {0},
          *db[SAL_ISA_COUNT] = {0};
    char what[80];
    for (int l = 0; l < SAL_ISA_COUNT; l++) {
        if (!sal_isa_supported((sal_isa)l)) continue;
        set_level((sal_isa)l);
        out[l] = malloc(nout * sizeof(float)), din[l] = malloc(nin * sizeof(float));
        dw[l] = malloc(nw * sizeof(float)), db[l] = malloc(O * sizeof(float));
        sal_conv2d_forward(out[l], in, w, b, B, &s, scratch);
        /* accumulate = 1 onto a copy of the input: what a residual block's second reader does */
        memcpy(din[l], in, nin * sizeof(float));
        sal_conv2d_backward(din[l], 1, dw[l], db[l], dout, in, w, B, &s, scratch);
        /* against the reference, relative to the output's scale: float sums of C*K*K terms */
        double e = 0, m = 0;
        for (size_t i = 0; i < nout; i++) {
            e = fmax(e, fabs(out[l][i] - ref[i]));
            m = fmax(m, fabs(ref[i]));
        }
        snprintf(what, sizeof what, "conv %dx%dx%d->%d k%d s%d", C, H, W, O, K, stride);
        CHECK_MSG(e <= 1e-5 * m, "%s at %s: %.2e from the reference", what,
                  sal_isa_name((sal_isa)l), e / m);
        if (l == SAL_ISA_GENERIC) continue;
        snprintf(what, sizeof what, "conv %dx%dx%d->%d k%d s%d out", C, H, W, O, K, stride);
        compare(what, (sal_isa)l, out[l], out[0], nout, 1e-5);
        snprintf(what, sizeof what, "conv %dx%dx%d->%d k%d s%d din", C, H, W, O, K, stride);
        compare(what, (sal_isa)l, din[l], din[0], nin, 1e-5);
        snprintf(what, sizeof what, "conv %dx%dx%d->%d k%d s%d dw", C, H, W, O, K, stride);
        compare(what, (sal_isa)l, dw[l], dw[0], nw, 1e-5);
        snprintf(what, sizeof what, "conv %dx%dx%d->%d k%d s%d db", C, H, W, O, K, stride);
        compare(what, (sal_isa)l, db[l], db[0], O, 1e-5);
    }
    for (int l = 0; l < SAL_ISA_COUNT; l++) free(out[l]), free(din[l]), free(dw[l]), free(db[l]);
    free(in), free(w), free(b), free(dout), free(scratch), free(ref);
}

/* ---- the other kernels: each level against generic ---- */
static void check_elementwise(void) {
    const int B = 4, C = 8, H = 12, W = 12, HW = H * W, G = 2;
    const size_t n = (size_t)B * C * HW;
    float *x = randv(n), *dy = randv(n), *gamma = randv(C), *beta = randv(C);
    float *ref[8] = {0};
    for (int l = 0; l < SAL_ISA_COUNT; l++) {
        if (!sal_isa_supported((sal_isa)l)) continue;
        set_level((sal_isa)l);
        float *y = malloc(n * sizeof(float)), *dx = malloc(n * sizeof(float));
        float *mean = malloc(B * C * sizeof(float)), *rstd = malloc(B * C * sizeof(float));
        float *dg = malloc(C * sizeof(float)), *dbt = malloc(C * sizeof(float));
        double *part = malloc((size_t)B * C * 2 * sizeof(double));
        float *pool = malloc(n / 4 * sizeof(float)), *dpool = malloc(n * sizeof(float));
        float rm[8] = {0}, rv[8] = {1, 1, 1, 1, 1, 1, 1, 1}, nbt = 0;
        float *outs[8];
        sal_groupnorm_forward(y, mean, rstd, x, gamma, beta, B, C, HW, G, 1e-5f);
        sal_groupnorm_backward(dx, 0, dg, dbt, dy, x, mean, rstd, gamma, B, C, HW, G, part);
        outs[0] = dup(y, n), outs[1] = dup(dx, n), outs[2] = dup(dg, C);
        sal_batchnorm_forward_train(y, mean, rstd, rm, rv, &nbt, x, gamma, beta, B, C, HW, 1e-5f,
                                    0.1f);
        sal_batchnorm_backward(dx, 0, dg, dbt, dy, x, mean, rstd, gamma, B, C, HW);
        outs[3] = dup(y, n), outs[4] = dup(dx, n), outs[5] = dup(dg, C);
        sal_relu_forward(y, x, n);
        sal_maxpool2d_forward(pool, y, B, C, H, W, 2);
        sal_maxpool2d_backward(dpool, pool, y, pool, B, C, H, W, 2);
        outs[6] = dup(dpool, n);
        sal_avgpool_forward(pool, x, B, C, HW);
        outs[7] = dup(pool, (size_t)B * C);
        static const char *names[8] = {"groupnorm y",           "groupnorm dx", "groupnorm dgamma",
                                       "batchnorm y",           "batchnorm dx", "batchnorm dgamma",
                                       "relu+maxpool backward", "avgpool"};
        const size_t sizes[8] = {n, n, C, n, n, C, n, (size_t)B * C};
        for (int k = 0; k < 8; k++) {
            if (l == SAL_ISA_GENERIC) {
                ref[k] = outs[k];
                continue;
            }
            /* these loops are the same source at every level: bitwise equal even at avx512 */
            compare(names[k], (sal_isa)l, outs[k], ref[k], sizes[k], -1);
            free(outs[k]);
        }
        free(y), free(dx), free(mean), free(rstd), free(dg), free(dbt), free(part), free(pool),
            free(dpool);
    }
    for (int k = 0; k < 8; k++) free(ref[k]);
    free(x), free(dy), free(gamma), free(beta);
}

/* ---- whole models: a few SGD steps at each level ---- */
static void check_model(const char *name, sal_arch arch, sal_norm norm, int c, int hw, int B,
                        double rtol) {
    float *x = randv((size_t)B * c * hw * hw);
    int y[16];
    for (int i = 0; i < B; i++) y[i] = (i * 3) % 10;
    float *w0 = NULL, *l0 = NULL, *g0 = NULL;
    size_t nw = 0;
    for (int l = 0; l < SAL_ISA_COUNT; l++) {
        if (!sal_isa_supported((sal_isa)l)) continue;
        set_level((sal_isa)l);
        sal_model_spec spec = {arch, norm, c, hw, hw, 10, B, 1, SAL_INIT_KAIMING, 0};
        sal_model *m = sal_model_create_spec(&spec, NULL);
        CHECK(m != NULL);
        if (!m) break;
        sal_params *p = sal_model_params(m);
        sal_model_init(m, 3);
        sal_sgd opt;
        sal_sgd_init(&opt, p->n, 0.05f, 0.9f, 5e-4f);
        char what[80];
        for (int step = 0; step < 3; step++) {
            sal_model_forward(m, x, y, B, NULL);
            sal_model_backward(m);
            if (step == 0 && l == SAL_ISA_GENERIC) g0 = dup(p->g, p->n);
            if (step == 0 && l != SAL_ISA_GENERIC) /* per tensor: small ones count too */
                for (int t = 0; t < p->ntensors; t++) {
                    snprintf(what, sizeof what, "%s d%s", name, p->t[t].name);
                    compare(what, (sal_isa)l, sal_params_g(p, t), g0 + p->t[t].offset,
                            p->t[t].numel, 1e-5);
                }
            sal_sgd_step(&opt, p);
        }
        sal_model_forward(m, x, y, B, NULL);
        if (l == SAL_ISA_GENERIC) {
            nw = p->n, w0 = dup(p->w, nw), l0 = dup(sal_model_logits(m), (size_t)10 * B);
        } else {
            snprintf(what, sizeof what, "%s weights after 3 steps", name);
            compare(what, (sal_isa)l, p->w, w0, nw, rtol);
            snprintf(what, sizeof what, "%s logits after 3 steps", name);
            compare(what, (sal_isa)l, sal_model_logits(m), l0, (size_t)10 * B, rtol);
        }
        sal_sgd_free(&opt);
        sal_model_free(m);
    }
    free(x), free(w0), free(l0), free(g0);
}

int main(void) {
    sal_rng_seed(&rng, 7, 99, 0);
    check_env();
    /* the direct kernels' shapes (K = 5 and 3, stride 1, few or many channels, narrow rows),
     * and the GEMM path's (stride 2, wide channels on small maps) */
    check_conv(4, 3, 32, 32, 16, 3, 1, 1);
    check_conv(4, 16, 32, 32, 16, 3, 1, 1);
    check_conv(3, 1, 28, 28, 6, 5, 1, 2);
    check_conv(3, 6, 14, 14, 16, 5, 1, 0);
    check_conv(2, 16, 16, 16, 16, 3, 1, 1);
    check_conv(2, 32, 8, 8, 32, 3, 1, 1);
    check_conv(4, 64, 8, 8, 64, 3, 1, 1);
    check_conv(2, 16, 16, 16, 32, 3, 2, 1);
    check_elementwise();
    check_model("lenet5", SAL_ARCH_LENET5, SAL_NORM_GROUP, 1, 28, 8, 1e-4);
    /* BatchNorm over 4 samples amplifies a rounding difference most: ~2e-3 after 3 steps here */
    check_model("resnet20-bn", SAL_ARCH_RESNET20, SAL_NORM_BATCH, 3, 32, 4, 1e-2);
    check_model("resnet20-gn", SAL_ARCH_RESNET20, SAL_NORM_GROUP, 3, 32, 4, 1e-2);
    sal_isa_select(NULL);
    return sal_test_done("test_isa");
}
