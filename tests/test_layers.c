/* test_layers.c - every layer's backward against central finite differences of its forward.
 * The scalar probed is L = sum(out * r) for a fixed random r, so dL/dout = r. Computed in float,
 * so the tolerance is loose (2% relative + absolute floor) yet far below a wrong-index bug. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/layers.h"
#include "salient/rng.h"

static sal_rng rng;

static float *randv(size_t n) {
    float *v = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) v[i] = (float)sal_rng_normal(&rng);
    return v;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Compare analytic gradient `ana` of L wrt the n floats at `x` with finite differences, where
 * eval() recomputes L. Probes up to 40 entries spread over x. */
typedef double (*eval_fn)(void *ctx);
static void fd_check(const char *what, float *x, const float *ana, size_t n, eval_fn eval,
                     void *ctx) {
    const float eps = 1e-2f;
    double worst = 0;
    size_t step = n > 40 ? n / 40 : 1;
    for (size_t i = 0; i < n; i += step) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = eval(ctx);
        x[i] = keep - eps;
        double lm = eval(ctx);
        x[i] = keep;
        double num = (lp - lm) / (2.0 * eps);
        double r = fabs(num - ana[i]) / (2e-3 + 2e-2 * fabs(num));
        if (!(r <= worst)) worst = r;
    }
    printf("  %-28s worst ratio to tolerance %.3f\n", what, worst);
    CHECK_MSG(worst <= 1.0, "%s", what);
}

/* ---- linear ---- */
typedef struct {
    int B, I, O;
    float *in, *w, *b, *out, *r;
} lin_ctx;
static double lin_eval(void *p) {
    lin_ctx *c = p;
    sal_linear_forward(c->out, c->in, c->w, c->b, c->B, c->I, c->O);
    return dot(c->out, c->r, (size_t)c->B * c->O);
}
static void test_linear(int B, int I, int O) {
    lin_ctx c = {B, I, O, randv(B * I), randv(O * I), randv(O), randv(B * O), randv(B * O)};
    float *din = randv(B * I), *dw = randv(O * I), *db = randv(O);
    sal_linear_backward(din, 0, dw, db, c.r, c.in, c.w, B, I, O);
    fd_check("linear d/din", c.in, din, B * I, lin_eval, &c);
    fd_check("linear d/dw", c.w, dw, O * I, lin_eval, &c);
    fd_check("linear d/db", c.b, db, O, lin_eval, &c);
    free(c.in), free(c.w), free(c.b), free(c.out), free(c.r), free(din), free(dw), free(db);
}

/* ---- conv2d ---- */
typedef struct {
    int B;
    sal_conv_shape s;
    float *in, *w, *b, *out, *r, *scratch;
} conv_ctx;
static double conv_eval(void *p) {
    conv_ctx *c = p;
    sal_conv2d_forward(c->out, c->in, c->w, c->b, c->B, &c->s, c->scratch);
    return dot(c->out, c->r, (size_t)c->B * c->s.O * c->s.OH * c->s.OW);
}
static void test_conv(int B, int C, int H, int W, int O, int K, int stride, int pad, int group) {
    conv_ctx c = {.B = B};
    CHECK(sal_conv_shape_init(&c.s, C, H, W, O, K, stride, pad) == 0);
    if (group) c.s.group = group; /* force groups that do not divide B: the tail path */
    size_t nin = (size_t)B * C * H * W, nw = (size_t)O * C * K * K,
           nout = (size_t)B * O * c.s.OH * c.s.OW;
    c.in = randv(nin), c.w = randv(nw), c.b = randv(O), c.out = randv(nout), c.r = randv(nout);
    c.scratch = randv(sal_conv_scratch_floats(&c.s));
    float *din = randv(nin), *dw = randv(nw), *db = randv(O);
    sal_conv2d_backward(din, 0, dw, db, c.r, c.in, c.w, B, &c.s, c.scratch);
    char what[64];
    snprintf(what, sizeof what, "conv k%d s%d p%d g%d d/din", K, stride, pad, c.s.group);
    fd_check(what, c.in, din, nin, conv_eval, &c);
    snprintf(what, sizeof what, "conv k%d s%d p%d g%d d/dw", K, stride, pad, c.s.group);
    fd_check(what, c.w, dw, nw, conv_eval, &c);
    fd_check("conv d/db", c.b, db, O, conv_eval, &c);
    /* din == NULL must still give the same weight gradient */
    float *dw2 = randv(nw);
    sal_conv2d_backward(NULL, 0, dw2, db, c.r, c.in, c.w, B, &c.s, c.scratch);
    CHECK(memcmp(dw, dw2, nw * sizeof(float)) == 0);
    /* accumulate adds the same input gradient to what the buffer held */
    float *base = randv(nin), *din2 = malloc(nin * sizeof(float));
    memcpy(din2, base, nin * sizeof(float));
    sal_conv2d_backward(din2, 1, dw2, NULL, c.r, c.in, c.w, B, &c.s, c.scratch);
    double worst_acc = 0;
    for (size_t i = 0; i < nin; i++)
        worst_acc = fmax(worst_acc, fabs((double)din2[i] - ((double)base[i] + din[i])));
    CHECK_MSG(worst_acc <= 1e-5, "conv accumulate: off by %g", worst_acc);
    /* no bias: the same output less the bias, no bias gradient asked for */
    conv_eval(&c);
    float *nb = malloc(nout * sizeof(float));
    sal_conv2d_forward(nb, c.in, c.w, NULL, B, &c.s, c.scratch);
    double worst_nb = 0;
    const int OHW = c.s.OH * c.s.OW;
    /* relative to the output's size: the direct kernel adds the bias first, so the two sums
     * round differently, by a few ulps of |out| (~20 on the 144-term sums of 16 channels) */
    for (size_t i = 0; i < nout; i++)
        worst_nb = fmax(worst_nb, fabs((double)nb[i] + c.b[(i / OHW) % O] - c.out[i]) /
                                      (1.0 + fabs((double)c.out[i])));
    CHECK_MSG(worst_nb <= 1e-5, "conv without bias: off by %g (relative)", worst_nb);
    free(c.in), free(c.w), free(c.b), free(c.out), free(c.r), free(c.scratch);
    free(din), free(dw), free(db), free(dw2), free(base), free(din2), free(nb);
}

/* ---- maxpool ---- */
typedef struct {
    int B, C, H, W, k;
    float *in, *out, *r;
} pool_ctx;
static double pool_eval(void *p) {
    pool_ctx *c = p;
    sal_maxpool2d_forward(c->out, c->in, c->B, c->C, c->H, c->W, c->k);
    return dot(c->out, c->r, (size_t)c->B * c->C * (c->H / c->k) * (c->W / c->k));
}
static void test_pool(int B, int C, int H, int W, int k) {
    size_t nin = (size_t)B * C * H * W, nout = (size_t)B * C * (H / k) * (W / k);
    pool_ctx c = {B, C, H, W, k, randv(nin), randv(nout), randv(nout)};
    float *din = randv(nin);
    /* distinct values 0.1 apart: a finite-difference step of 0.01 never swaps the maximum */
    int *perm = malloc(nin * sizeof(int));
    for (size_t i = 0; i < nin; i++) perm[i] = (int)i;
    sal_rng_shuffle_int(&rng, perm, (int)nin);
    for (size_t i = 0; i < nin; i++) c.in[i] = 0.1f * (float)perm[i] - 5.0f;
    free(perm);
    pool_eval(&c);
    sal_maxpool2d_backward(din, c.r, c.in, c.out, B, C, H, W, k);
    fd_check("maxpool d/din", c.in, din, nin, pool_eval, &c);
    free(c.in), free(c.out), free(c.r), free(din);
}

/* ---- relu (backward is checked through y = relu(x)) ---- */
typedef struct {
    size_t n;
    float *x, *y, *r;
} relu_ctx;
static double relu_eval(void *p) {
    relu_ctx *c = p;
    sal_relu_forward(c->y, c->x, c->n);
    return dot(c->y, c->r, c->n);
}
static void test_relu(void) {
    relu_ctx c = {200, randv(200), randv(200), randv(200)};
    for (size_t i = 0; i < c.n; i++) /* keep inputs away from the kink at 0 */
        if (fabsf(c.x[i]) < 0.05f) c.x[i] = 0.1f;
    relu_eval(&c);
    float *dx = malloc(c.n * sizeof(float));
    memcpy(dx, c.r, c.n * sizeof(float));
    sal_relu_backward(dx, 0, dx, c.y, c.n); /* in place, as the model runs it */
    fd_check("relu d/dx", c.x, dx, c.n, relu_eval, &c);
    float *dx2 = malloc(c.n * sizeof(float)); /* out of place, added to ones */
    for (size_t i = 0; i < c.n; i++) dx2[i] = 1.0f;
    sal_relu_backward(dx2, 1, c.r, c.y, c.n);
    for (size_t i = 0; i < c.n; i++) CHECK(dx2[i] == 1.0f + dx[i]);
    free(c.x), free(c.y), free(c.r), free(dx), free(dx2);
}

/* ---- GroupNorm and BatchNorm (training mode): L = sum(y * r) ---- */
typedef struct {
    int B, C, HW, G, batch; /* batch: BatchNorm (2: in evaluation mode), else GroupNorm */
    float *x, *gamma, *beta, *y, *r, *mean, *rstd, *rm, *rv, nbt;
} norm_ctx;
static double norm_eval(void *p) {
    norm_ctx *c = p;
    if (c->batch == 2)
        sal_batchnorm_forward_eval(c->y, c->x, c->rm, c->rv, c->gamma, c->beta, c->B, c->C,
                                   c->HW, 1e-5f);
    else if (c->batch)
        sal_batchnorm_forward_train(c->y, c->mean, c->rstd, c->rm, c->rv, &c->nbt, c->x,
                                    c->gamma, c->beta, c->B, c->C, c->HW, 1e-5f, 0.1f);
    else
        sal_groupnorm_forward(c->y, c->mean, c->rstd, c->x, c->gamma, c->beta, c->B, c->C,
                              c->HW, c->G, 1e-5f);
    return dot(c->y, c->r, (size_t)c->B * c->C * c->HW);
}
static void test_norm(int batch, int B, int C, int HW, int G) {
    size_t n = (size_t)B * C * HW;
    norm_ctx c = {B, C, HW, G, batch, randv(n), randv(C), randv(C), randv(n), randv(n),
                  randv((size_t)B * C), randv((size_t)B * C), randv(C), randv(C), 0.0f};
    for (int i = 0; i < C; i++) c.rm[i] = 0.0f, c.rv[i] = 1.0f;
    for (size_t i = 0; i < n; i++) c.x[i] = 2.0f * c.x[i] + 0.5f; /* not already normalised */
    if (batch == 2) /* evaluation mode: running statistics that are not the batch's */
        for (int i = 0; i < C; i++) c.rm[i] = 0.2f * i, c.rv[i] = 0.5f + 0.3f * i;
    norm_eval(&c);
    float *dx = randv(n), *dg = randv(C), *db = randv(C);
    double *part = malloc(sizeof(double) * 2 * (size_t)B * C);
    if (batch == 2)
        sal_batchnorm_backward_eval(dx, 0, dg, db, c.r, c.x, c.rm, c.rv, c.gamma, B, C, HW, 1e-5f);
    else if (batch)
        sal_batchnorm_backward(dx, 0, dg, db, c.r, c.x, c.mean, c.rstd, c.gamma, B, C, HW);
    else
        sal_groupnorm_backward(dx, 0, dg, db, c.r, c.x, c.mean, c.rstd, c.gamma, B, C, HW, G,
                               part);
    if (batch == 2) {
        fd_check("batchnorm eval d/dx", c.x, dx, n, norm_eval, &c);
        fd_check("batchnorm eval d/dgamma", c.gamma, dg, C, norm_eval, &c);
        fd_check("batchnorm eval d/dbeta", c.beta, db, C, norm_eval, &c);
        free(c.x), free(c.gamma), free(c.beta), free(c.y), free(c.r), free(c.mean), free(c.rstd);
        free(c.rm), free(c.rv), free(dx), free(dg), free(db), free(part);
        return;
    }
    char what[64];
    snprintf(what, sizeof what, "%s B%d C%d HW%d d/dx", batch ? "batchnorm" : "groupnorm", B, C,
             HW);
    fd_check(what, c.x, dx, n, norm_eval, &c);
    fd_check(batch ? "batchnorm d/dgamma" : "groupnorm d/dgamma", c.gamma, dg, C, norm_eval, &c);
    fd_check(batch ? "batchnorm d/dbeta" : "groupnorm d/dbeta", c.beta, db, C, norm_eval, &c);
    /* accumulate adds the same dx */
    float *dx2 = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) dx2[i] = 1.0f;
    norm_eval(&c);
    if (batch)
        sal_batchnorm_backward(dx2, 1, dg, db, c.r, c.x, c.mean, c.rstd, c.gamma, B, C, HW);
    else
        sal_groupnorm_backward(dx2, 1, dg, db, c.r, c.x, c.mean, c.rstd, c.gamma, B, C, HW, G,
                               part);
    double worst_acc = 0;
    for (size_t i = 0; i < n; i++) worst_acc = fmax(worst_acc, fabs(dx2[i] - 1.0 - dx[i]));
    CHECK_MSG(worst_acc <= 1e-5, "norm accumulate off by %g", worst_acc);
    if (batch) {
        /* running statistics against closed forms in double: one fresh update from (0, 1)
         * with momentum 0.1 gives 0.1 mean and 0.9 + 0.1 unbiased variance per channel */
        for (int ch = 0; ch < C; ch++) c.rm[ch] = 0.0f, c.rv[ch] = 1.0f;
        c.nbt = 0;
        norm_eval(&c);
        CHECK(c.nbt == 1.0f);
        double worst_rs = 0;
        for (int ch = 0; ch < C; ch++) {
            double s = 0, q = 0, N = (double)B * HW;
            for (int b = 0; b < B; b++)
                for (int i = 0; i < HW; i++) s += c.x[((size_t)b * C + ch) * HW + i];
            double mu = s / N;
            for (int b = 0; b < B; b++)
                for (int i = 0; i < HW; i++) {
                    double d = c.x[((size_t)b * C + ch) * HW + i] - mu;
                    q += d * d;
                }
            worst_rs = fmax(worst_rs, fabs(c.rm[ch] - 0.1 * mu));
            worst_rs = fmax(worst_rs, fabs(c.rv[ch] - (0.9 + 0.1 * q / (N - 1))) / (1 + q / N));
        }
        CHECK_MSG(worst_rs <= 1e-5, "batchnorm running statistics off by %g", worst_rs);
        /* evaluation mode: (x - running_mean) / sqrt(running_var + eps) * gamma + beta */
        for (int ch = 0; ch < C; ch++) c.rm[ch] = 0.3f * ch, c.rv[ch] = 0.5f + ch;
        sal_batchnorm_forward_eval(c.y, c.x, c.rm, c.rv, c.gamma, c.beta, B, C, HW, 1e-5f);
        double worst_ev = 0;
        for (size_t i = 0; i < n; i++) {
            int ch = (int)((i / HW) % C);
            double want = (c.x[i] - c.rm[ch]) / sqrt(c.rv[ch] + 1e-5) * c.gamma[ch] + c.beta[ch];
            worst_ev = fmax(worst_ev, fabs(c.y[i] - want) / (1 + fabs(want)));
        }
        CHECK_MSG(worst_ev <= 1e-5, "batchnorm eval off by %g", worst_ev);
    }
    free(c.x), free(c.gamma), free(c.beta), free(c.y), free(c.r), free(c.mean), free(c.rstd);
    free(c.rm), free(c.rv), free(dx), free(dg), free(db), free(dx2), free(part);
}

/* ---- global average pooling and the residual add ---- */
typedef struct {
    int B, C, HW;
    float *x, *z, *y, *r; /* y = avgpool(x + z) */
} avg_ctx;
static double avg_eval(void *p) {
    avg_ctx *c = p;
    size_t n = (size_t)c->B * c->C * c->HW;
    float *s = malloc(n * sizeof(float));
    sal_add_forward(s, c->x, c->z, n);
    sal_avgpool_forward(c->y, s, c->B, c->C, c->HW);
    free(s);
    return dot(c->y, c->r, (size_t)c->B * c->C);
}
static void test_avgpool_add(int B, int C, int HW) {
    size_t n = (size_t)B * C * HW;
    avg_ctx c = {B, C, HW, randv(n), randv(n), randv((size_t)B * C), randv((size_t)B * C)};
    float *ds = randv(n), *dx = randv(n), *dz = randv(n);
    sal_avgpool_backward(ds, 0, c.r, B, C, HW);
    sal_grad_pass(dx, 0, ds, n);
    for (size_t i = 0; i < n; i++) dz[i] = 0.5f;
    sal_grad_pass(dz, 1, ds, n); /* the second reader adds */
    fd_check("avgpool+add d/dx", c.x, dx, n, avg_eval, &c);
    for (size_t i = 0; i < n; i++) dz[i] -= 0.5f;
    fd_check("avgpool+add d/dz (accumulated)", c.z, dz, n, avg_eval, &c);
    free(c.x), free(c.z), free(c.y), free(c.r), free(ds), free(dx), free(dz);
}

/* ---- softmax cross-entropy ---- */
typedef struct {
    int B, K;
    float *z, *p;
    int *y;
} xent_ctx;
static double xent_eval(void *p) {
    xent_ctx *c = p;
    return sal_xent_forward(c->p, c->z, c->y, c->B, c->K, NULL);
}
static void test_xent(void) {
    xent_ctx c = {5, 7, randv(35), randv(35), malloc(5 * sizeof(int))};
    for (int i = 0; i < 5; i++) c.y[i] = i;
    float *dz = malloc(35 * sizeof(float));
    xent_eval(&c);
    sal_xent_backward(dz, c.p, c.y, 5, 7);
    fd_check("xent d/dlogits", c.z, dz, 35, xent_eval, &c);
    /* closed form: equal logits give loss log(K); huge logits stay finite */
    for (int i = 0; i < 35; i++) c.z[i] = 3.0f;
    CHECK_CLOSE(xent_eval(&c), log(7.0), 1e-6, 1e-6);
    c.z[0] = 1e4f;
    CHECK(isfinite(xent_eval(&c)));
    free(c.z), free(c.p), free(c.y), free(dz);
}

int main(void) {
    int isa = sal_test_isa("test_layers");
    if (isa) return isa;
    sal_rng_seed(&rng, 42, 99, 0);
    test_linear(3, 7, 5);
    test_linear(1, 1, 1);
    test_conv(2, 1, 6, 6, 3, 5, 1, 2, 0);  /* lenet5 conv1-like: pad 2 */
    test_conv(3, 2, 7, 5, 4, 3, 1, 0, 2);  /* non-square, no pad, tail group of 1 */
    test_conv(2, 3, 9, 8, 2, 3, 2, 1, 1);  /* stride 2 with padding: the strided im2col path */
    test_conv(5, 2, 5, 5, 3, 3, 1, 1, 0);  /* cnn-like 3x3 pad 1 */
    test_conv(2, 1, 28, 28, 6, 5, 1, 2, 0); /* lenet5 conv1: rows wider than one vector */
    test_conv(2, 3, 21, 37, 9, 3, 1, 1, 3); /* odd widths > 32, O not a multiple of 8 */
    test_conv(2, 2, 12, 19, 3, 5, 1, 0, 0); /* K = 5 without padding, 15-wide output */
    test_conv(2, 4, 8, 8, 6, 1, 1, 0, 0);  /* 1x1 conv: a resnet bottleneck's reduce/expand */
    test_conv(2, 4, 8, 8, 6, 1, 2, 0, 0);  /* 1x1 stride 2: a resnet's projection shortcut */
    test_conv(3, 5, 9, 9, 7, 3, 2, 1, 0);  /* 3x3 stride 2 pad 1 on an odd map */
    test_conv(6, 16, 32, 32, 16, 3, 1, 1, 0); /* resnet20 stage 1: dw summed over 2 sample chunks */
    test_conv(2, 6, 14, 14, 15, 5, 1, 0, 0); /* lenet5 conv2-like: direct din, pad' 4; odd O */
    test_conv(2, 20, 8, 8, 32, 3, 1, 1, 0); /* resnet20 stage 3-like: kernel over out channels */
    test_conv(3, 32, 6, 7, 80, 3, 1, 1, 2); /* its 64/16-channel and 4/2/1-pixel blocks, din too */
    test_conv(1, 17, 9, 9, 16, 5, 1, 2, 0); /* ... with K = 5 */
    test_norm(0, 3, 8, 10, 4);             /* GroupNorm, 2 channels a group */
    test_norm(0, 2, 6, 7, 6);              /* GroupNorm, one channel a group */
    test_norm(1, 4, 5, 9, 0);              /* BatchNorm in training mode */
    test_norm(2, 3, 4, 6, 0);              /* BatchNorm in evaluation mode */
    test_avgpool_add(3, 4, 10);
    test_pool(2, 3, 6, 6, 2);
    test_pool(1, 2, 7, 5, 2);              /* odd sizes: floor mode drops the last row/col */
    test_pool(2, 2, 7, 7, 3);              /* the generic (k != 2) path */
    test_relu();
    test_xent();
    return sal_test_done("test_layers");
}
