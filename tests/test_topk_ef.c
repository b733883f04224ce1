/* test_topk_ef.c - top-k with error feedback, without MPI: exactly k entries, ascending, the k
 * largest |acc| with ties to the lower index (against a sort), residual conservation over many
 * steps (exact with integer-valued gradients), k = 0, k = n, bad k, NaN. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/rng.h"
#include "salient/topk_ef.h"

typedef struct ent {
    float a;
    uint32_t i;
} ent;

/* Reference order: larger |a| first, then lower index. */
static int cmp_ref(const void *x, const void *y) {
    const ent *p = x, *q = y;
    float u = fabsf(p->a), v = fabsf(q->a);
    if (u != v) return u > v ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* One step on a fresh accumulator against sorting the same values. */
static void check_against_sort(const float *g, size_t n, size_t k, const char *what) {
    sal_topk_ef *ef;
    sal_err err;
    CHECK(sal_topk_ef_create(n, &ef, &err) == SAL_OK);
    uint32_t *idx = malloc(sizeof(uint32_t) * (k + 1)), *ref = malloc(sizeof(uint32_t) * (k + 1));
    float *val = malloc(sizeof(float) * (k + 1));
    ent *e = malloc(sizeof(ent) * (n + 1));
    CHECK(sal_topk_ef_step(ef, g, k, idx, val, &err) == SAL_OK);
    for (size_t i = 0; i < n; i++) e[i] = (ent){g[i], (uint32_t)i};
    qsort(e, n, sizeof *e, cmp_ref);
    for (size_t j = 0; j < k; j++) ref[j] = e[j].i;
    qsort(ref, k, sizeof *ref, cmp_u32);
    int same = 1, vals = 1, zeroed = 1, kept = 1;
    for (size_t j = 0; j < k; j++) {
        same &= idx[j] == ref[j];
        vals &= val[j] == g[idx[j]];
    }
    const float *acc = sal_topk_ef_residual(ef);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (j < k && idx[j] == i) {
            zeroed &= acc[i] == 0.0f;
            j++;
        } else {
            kept &= acc[i] == g[i];
        }
    }
    CHECK_MSG(same, "%s: n %zu k %zu: selected indices differ from the sorted reference", what, n,
              k);
    CHECK_MSG(vals && zeroed && kept, "%s: n %zu k %zu: values or residual wrong", what, n, k);
    free(idx), free(ref), free(val), free(e);
    sal_topk_ef_free(ef);
}

static void test_selection(void) {
    sal_rng r;
    sal_rng_seed(&r, 3, SAL_STREAM_SYNTH, 1);
    const size_t sizes[] = {1, 2, 7, 100, 1000, 4099};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        float *g = malloc(sizeof(float) * n);
        for (size_t i = 0; i < n; i++) g[i] = (float)sal_rng_normal(&r);
        const size_t ks[] = {0, 1, n / 3, n / 2, n - 1, n};
        for (size_t t = 0; t < 6; t++) check_against_sort(g, n, ks[t], "normal");
        /* heavy ties: few distinct magnitudes, both signs, and zeros of both signs */
        for (size_t i = 0; i < n; i++) {
            int v = (int)sal_rng_below(&r, 5) - 2;
            g[i] = v == 0 ? (sal_rng_below(&r, 2) ? -0.0f : 0.0f) : (float)v;
        }
        for (size_t t = 0; t < 6; t++) check_against_sort(g, n, ks[t], "ties");
        free(g);
    }
    /* all equal: the k lowest indices */
    float g[10];
    for (int i = 0; i < 10; i++) g[i] = i % 2 ? -1.5f : 1.5f;
    sal_topk_ef *ef;
    CHECK(sal_topk_ef_create(10, &ef, NULL) == SAL_OK);
    uint32_t idx[10];
    float val[10];
    CHECK(sal_topk_ef_step(ef, g, 4, idx, val, NULL) == SAL_OK);
    CHECK(idx[0] == 0 && idx[1] == 1 && idx[2] == 2 && idx[3] == 3);
    CHECK(val[1] == -1.5f);
    sal_topk_ef_free(ef);
}

/* sum over steps of the emitted values + the residual == sum of the gradients, per entry. With
 * small integer gradients every sum is exact, so the check is equality; with normal ones it
 * holds up to the rounding of acc += g. */
static void test_conservation(int integer) {
    const size_t n = 1000, steps = 50;
    sal_rng r;
    sal_rng_seed(&r, 5, SAL_STREAM_SYNTH, (uint64_t)integer);
    sal_topk_ef *ef;
    CHECK(sal_topk_ef_create(n, &ef, NULL) == SAL_OK);
    double *in = calloc(n, sizeof(double)), *out = calloc(n, sizeof(double)),
           *absin = calloc(n, sizeof(double));
    float *g = malloc(sizeof(float) * n), *val = malloc(sizeof(float) * n);
    uint32_t *idx = malloc(sizeof(uint32_t) * n);
    int exact_k = 1, ascending = 1;
    for (size_t s = 0; s < steps; s++) {
        for (size_t i = 0; i < n; i++) {
            g[i] = integer ? (float)((int)sal_rng_below(&r, 21) - 10) : (float)sal_rng_normal(&r);
            in[i] += g[i], absin[i] += fabs(g[i]);
        }
        size_t k = (s * 37) % (n + 1); /* 0 .. n, including both ends */
        if (s == 1) k = 0;
        if (s == 2) k = n;
        for (size_t j = 0; j < n; j++) idx[j] = UINT32_MAX;
        CHECK(sal_topk_ef_step(ef, g, k, idx, val, NULL) == SAL_OK);
        for (size_t j = 0; j < k; j++) {
            out[idx[j]] += val[j];
            if (j) ascending &= idx[j] > idx[j - 1];
        }
        exact_k &= k == n || idx[k] == UINT32_MAX; /* nothing written past k */
        for (size_t j = 0; j < k; j++) exact_k &= idx[j] < n;
        if (k == n) {
            int all_zero = 1;
            for (size_t i = 0; i < n; i++) all_zero &= sal_topk_ef_residual(ef)[i] == 0.0f;
            CHECK_MSG(all_zero, "k = n must empty the residual");
        }
    }
    CHECK(exact_k && ascending);
    const float *acc = sal_topk_ef_residual(ef);
    double worst = 0;
    int exact = 1;
    for (size_t i = 0; i < n; i++) {
        double got = out[i] + acc[i];
        exact &= got == in[i];
        double tol = 1e-6 * absin[i];
        if (fabs(got - in[i]) - tol > worst) worst = fabs(got - in[i]) - tol;
    }
    if (integer)
        CHECK_MSG(exact, "integer gradients: emitted + residual != sum of inputs");
    else
        CHECK_MSG(worst <= 0, "emitted + residual off by %g beyond 1e-6 x sum|g|", worst);
    free(in), free(out), free(absin), free(g), free(val), free(idx);
    sal_topk_ef_free(ef);
}

static void test_errors(void) {
    sal_topk_ef *ef;
    sal_err err;
    CHECK(sal_topk_ef_create(4, &ef, &err) == SAL_OK);
    float g[4] = {1, 2, 3, 4}, val[5];
    uint32_t idx[5];
    CHECK(sal_topk_ef_step(ef, g, 5, idx, val, &err) == SAL_EINVAL);
    CHECK(strstr(err.msg, "k = 5") != NULL);
    g[2] = NAN;
    CHECK(sal_topk_ef_step(ef, g, 2, idx, val, &err) == SAL_ENUMERIC);
    CHECK(strstr(err.msg, "[2]") != NULL);
    sal_topk_ef_free(ef);
    sal_topk_ef_free(NULL);
    CHECK(sal_topk_ef_create(0, &ef, &err) == SAL_OK); /* empty vector: k = 0 only */
    CHECK(sal_topk_ef_step(ef, g, 0, idx, val, &err) == SAL_OK);
    sal_topk_ef_free(ef);
}

int main(void) {
    test_selection();
    test_conservation(1);
    test_conservation(0);
    test_errors();
    return sal_test_done("test_topk_ef");
}
