/* test_optim.c - SGD and learning-rate schedules against closed forms: the torch.optim.SGD
 * recurrence written out by hand, masks that keep pruned weights at exactly zero, and the
 * step/cosine schedules. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "salient/optim.h"
#include "salient/params.h"

static void make_params(sal_params *p, int n) {
    memset(p, 0, sizeof *p);
    int shape[1] = {n};
    sal_params_add(p, "w", 1, shape, n, 1, SAL_INIT_FANIN);
    CHECK(sal_params_alloc(p) == 0);
}

static void test_sgd_recurrence(void) {
    sal_params p;
    make_params(&p, 3);
    sal_sgd opt;
    CHECK(sal_sgd_init(&opt, p.n, 0.1f, 0.9f, 0.01f) == 0);
    double w[3] = {1.0, -2.0, 0.5}, buf[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) p.w[i] = (float)w[i];
    for (int step = 0; step < 5; step++) {
        for (int i = 0; i < 3; i++) {
            p.g[i] = (float)(0.3 * (i + 1) - 0.1 * step); /* any gradient sequence */
            double d = p.g[i] + 0.01 * w[i];             /* torch: d_p = g + wd * w */
            buf[i] = 0.9 * buf[i] + d;                    /* buf = m * buf + d_p */
            w[i] -= 0.1 * buf[i];                         /* w -= lr * buf */
        }
        sal_sgd_step(&opt, &p);
    }
    for (int i = 0; i < 3; i++) CHECK_CLOSE(p.w[i], w[i], 1e-6, 1e-5);
    sal_sgd_free(&opt);
    sal_params_free(&p);
}

static void test_masked(void) {
    sal_params p;
    make_params(&p, 6);
    sal_sgd opt;
    CHECK(sal_sgd_init(&opt, p.n, 0.1f, 0.9f, 0.1f) == 0);
    for (int i = 0; i < 6; i++) p.w[i] = (float)(i + 1), p.mask[i] = (float)(i % 2);
    for (int i = 0; i < 6; i++) p.w[i] *= p.mask[i];
    p.dense = 0;
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < 6; i++) p.g[i] = 1.0f; /* pruned entries get a gradient too */
        sal_sgd_step(&opt, &p);
    }
    for (int i = 0; i < 6; i += 2) {
        CHECK(p.w[i] == 0.0f);    /* pruned weights stay exactly zero */
        CHECK(opt.buf[i] == 0.0f); /* and build no momentum */
    }
    for (int i = 1; i < 6; i += 2) CHECK(p.w[i] != (float)(i + 1)); /* kept ones train */
    CHECK(sal_params_nnz(&p) == 3);
    sal_sgd_free(&opt);
    sal_params_free(&p);
}

static void test_plain_sgd(void) {
    sal_params p;
    make_params(&p, 1);
    sal_sgd opt;
    CHECK(sal_sgd_init(&opt, p.n, 0.5f, 0.0f, 0.0f) == 0);
    CHECK(opt.buf == NULL);
    p.w[0] = 1.0f, p.g[0] = 0.25f;
    sal_sgd_step(&opt, &p);
    CHECK(p.w[0] == 0.875f);
    sal_sgd_free(&opt);
    sal_params_free(&p);
}

static void test_schedules(void) {
    CHECK(sal_lr_at(SAL_LR_CONSTANT, 0.1, 7, 10, 3, 0.5) == 0.1);
    CHECK_CLOSE(sal_lr_at(SAL_LR_STEP, 0.1, 2, 10, 3, 0.5), 0.1, 0, 1e-12);
    CHECK_CLOSE(sal_lr_at(SAL_LR_STEP, 0.1, 3, 10, 3, 0.5), 0.05, 0, 1e-12);
    CHECK_CLOSE(sal_lr_at(SAL_LR_STEP, 0.1, 7, 10, 3, 0.5), 0.025, 0, 1e-12);
    CHECK_CLOSE(sal_lr_at(SAL_LR_COSINE, 0.1, 0, 10, 3, 0.5), 0.1, 0, 1e-12);
    CHECK_CLOSE(sal_lr_at(SAL_LR_COSINE, 0.1, 5, 10, 3, 0.5), 0.05, 0, 1e-12);
    CHECK_CLOSE(sal_lr_at(SAL_LR_COSINE, 0.1, 10, 10, 3, 0.5), 0.0, 1e-15, 0);
    /* torch CosineAnnealingLR(T_max=10) at epoch 3: 0.1 * (1 + cos(0.3 pi)) / 2 */
    CHECK_CLOSE(sal_lr_at(SAL_LR_COSINE, 0.1, 3, 10, 3, 0.5),
                0.05 * (1 + cos(0.3 * 3.14159265358979323846)), 0, 1e-12);
}

/* clip_grad_norm_: norm over the trained entries, scaled by max / (norm + 1e-6) only if over. */
static void test_clip(void) {
    sal_params p;
    make_params(&p, 4);
    float g[4] = {3, 0, 4, 12}; /* norm of the first three = 5; all four = 13 */
    memcpy(p.g, g, sizeof g);
    CHECK_CLOSE(sal_clip_grad_norm(&p, 26.0), 13.0, 1e-9, 1e-9);
    for (int i = 0; i < 4; i++) CHECK(p.g[i] == g[i]); /* under the limit: untouched */
    CHECK_CLOSE(sal_clip_grad_norm(&p, 6.5), 13.0, 1e-9, 1e-9);
    for (int i = 0; i < 4; i++) CHECK_CLOSE(p.g[i], g[i] * 6.5 / (13.0 + 1e-6), 1e-7, 1e-6);
    memcpy(p.g, g, sizeof g);
    p.mask[3] = 0.0f, p.dense = 0; /* a pruned entry does not count */
    CHECK_CLOSE(sal_clip_grad_norm(&p, 1.0), 5.0, 1e-9, 1e-9);
    CHECK_CLOSE(p.g[0], 3.0 / (5.0 + 1e-6), 1e-7, 1e-6);
    sal_params_free(&p);
}

int main(void) {
    test_clip();
    test_sgd_recurrence();
    test_masked();
    test_plain_sgd();
    test_schedules();
    return sal_test_done("test_optim");
}
