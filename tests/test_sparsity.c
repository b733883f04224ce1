/* test_sparsity.c - pruning at initialisation: exact top-k masks (counts, ties, non-finite
 * scores), uniform and ERK densities against hand computation, random masks, SynFlow's masks,
 * and SNIP, GraSP and SynFlow scores against PyTorch (tests/fixtures/saliency_*.bin, written by
 * tests/fixtures/gen_fixtures.py with float64 autograd). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/data.h"
#include "salient/model.h"
#include "salient/rng.h"
#include "salient/sparsity.h"
#include "sparsity/sparsity_internal.h"

/* ---- helpers ---- */

/* A hand-made parameter set: A (10, 10) weight, its bias (10), B (2, 3) weight, C (2, 1, 3, 3)
 * conv weight; 124 prunable entries, flat layout A[0..100) bias[100..110) B[110..116)
 * C[116..134). */
static void make_small(sal_params *p) {
    memset(p, 0, sizeof *p);
    int a[2] = {10, 10}, b[1] = {10}, bb[2] = {2, 3}, c[4] = {2, 1, 3, 3};
    sal_params_add(p, "A.weight", 2, a, 10, 1, SAL_INIT_FANIN);
    sal_params_add(p, "A.bias", 1, b, 10, 0, SAL_INIT_FANIN);
    sal_params_add(p, "B.weight", 2, bb, 3, 1, SAL_INIT_FANIN);
    sal_params_add(p, "C.weight", 4, c, 9, 1, SAL_INIT_FANIN);
    CHECK(sal_params_alloc(p) == 0);
}

static size_t prunable_total(const sal_params *p) {
    size_t n = 0;
    for (int t = 0; t < p->ntensors; t++) n += p->t[t].prunable ? p->t[t].numel : 0;
    return n;
}

static size_t kept_in(const sal_params *p, const float *mask, int t) {
    size_t k = 0;
    for (size_t i = 0; i < p->t[t].numel; i++) k += mask[p->t[t].offset + i] != 0.0f;
    return k;
}

static size_t kept_prunable(const sal_params *p, const float *mask) {
    size_t k = 0;
    for (int t = 0; t < p->ntensors; t++) k += p->t[t].prunable ? kept_in(p, mask, t) : 0;
    return k;
}

/* Every mask entry is 0 or 1 and every non-prunable entry is 1. */
static int mask_well_formed(const sal_params *p, const float *mask) {
    for (int t = 0; t < p->ntensors; t++)
        for (size_t i = 0; i < p->t[t].numel; i++) {
            float v = mask[p->t[t].offset + i];
            if (v != 0.0f && v != 1.0f) return 0;
            if (!p->t[t].prunable && v != 1.0f) return 0;
        }
    return 1;
}

/* The reference ranking: indices sorted by score descending, then index ascending. */
static const float *g_sort_scores;
static int cmp_rank(const void *a, const void *b) {
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    float x = g_sort_scores[i], y = g_sort_scores[j];
    if (x != y) return x > y ? -1 : 1;
    return (i > j) - (i < j);
}

/* Reference top-k over the prunable entries of tensors [t0, t1) by a full sort. */
static void ref_topk(const sal_params *p, const float *score, int t0, int t1, size_t k,
                     float *mask) {
    size_t n = 0;
    for (int t = t0; t < t1; t++) n += p->t[t].prunable ? p->t[t].numel : 0;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx), m = 0;
    for (int t = t0; t < t1; t++) {
        for (size_t i = 0; i < p->t[t].numel; i++) {
            if (p->t[t].prunable) idx[m++] = p->t[t].offset + i;
            mask[p->t[t].offset + i] = p->t[t].prunable ? 0.0f : 1.0f;
        }
    }
    g_sort_scores = score;
    qsort(idx, n, sizeof *idx, cmp_rank);
    for (size_t i = 0; i < k && i < n; i++) mask[idx[i]] = 1.0f;
    free(idx);
}

static int same_mask(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* ---- top-k ---- */

static void test_topk_global_exact(void) {
    sal_params p;
    make_small(&p);
    float *score = malloc(p.n * sizeof *score), *mask = malloc(p.n * sizeof *mask);
    float *ref = malloc(p.n * sizeof *ref);
    sal_rng r;
    sal_rng_seed(&r, 11, 99, 0);
    /* few distinct values: many ties, so the index rule decides a good share of the cut */
    for (size_t i = 0; i < p.n; i++) score[i] = (float)sal_rng_below(&r, 7) - 3.0f;
    const size_t total = prunable_total(&p);
    CHECK(total == 124);
    const double dens[] = {0.004, 0.01, 0.1, 0.25, 1.0 / 3, 0.5, 0.9, 0.999, 1.0};
    for (size_t d = 0; d < sizeof dens / sizeof *dens; d++) {
        sal_err err;
        CHECK(sal_mask_topk_global(&p, score, dens[d], mask, &err) == SAL_OK);
        size_t k = (size_t)llround(dens[d] * total);
        if (k < 1) k = 1;
        CHECK_MSG(kept_prunable(&p, mask) == k, "density %g: kept %zu, want %zu", dens[d],
                  kept_prunable(&p, mask), k);
        CHECK(mask_well_formed(&p, mask));
        ref_topk(&p, score, 0, p.ntensors, k, ref);
        CHECK_MSG(same_mask(mask, ref, p.n), "density %g: not the reference top-k", dens[d]);
    }
    free(score), free(mask), free(ref);
    sal_params_free(&p);
}

static void test_topk_layers_exact(void) {
    sal_params p;
    make_small(&p);
    float *score = malloc(p.n * sizeof *score), *mask = malloc(p.n * sizeof *mask);
    float *ref = malloc(p.n * sizeof *ref);
    sal_rng r;
    sal_rng_seed(&r, 12, 99, 0);
    for (size_t i = 0; i < p.n; i++) score[i] = (float)sal_rng_normal(&r);
    /* per tensor: A, bias (ignored), B, C; 0.01 * 6 rounds to 0 -> at least 1 */
    const double sets[3][4] = {{0.3, 0.0, 0.01, 0.5}, {0.05, 7.0, 0.5, 1.0}, {1, 1, 1, 0.06}};
    for (int s = 0; s < 3; s++) {
        sal_err err;
        CHECK(sal_mask_topk_layers(&p, score, sets[s], mask, &err) == SAL_OK);
        CHECK(mask_well_formed(&p, mask));
        for (int t = 0; t < p.ntensors; t++) {
            if (!p.t[t].prunable) continue;
            size_t k = (size_t)llround(sets[s][t] * p.t[t].numel);
            if (k < 1) k = 1;
            CHECK_MSG(kept_in(&p, mask, t) == k, "set %d %s: kept %zu want %zu", s, p.t[t].name,
                      kept_in(&p, mask, t), k);
            ref_topk(&p, score, t, t + 1, k, ref);
            CHECK(memcmp(mask + p.t[t].offset, ref + p.t[t].offset, p.t[t].numel * sizeof *mask) ==
                  0);
        }
    }
    free(score), free(mask), free(ref);
    sal_params_free(&p);
}

/* Constant scores: the kept entries are exactly the lowest flat indices, -0 ties with +0. */
static void test_topk_ties(void) {
    sal_params p;
    make_small(&p);
    float *score = malloc(p.n * sizeof *score), *mask = malloc(p.n * sizeof *mask);
    for (size_t i = 0; i < p.n; i++) score[i] = (i % 3) ? 0.0f : -0.0f;
    sal_err err;
    /* global, k = round(0.9 * 124) = 112: all of A (0..99), then B (110..115) and C's first
     * 6 (116..121); the bias (100..109) is skipped and stays 1 */
    CHECK(sal_mask_topk_global(&p, score, 0.9, mask, &err) == SAL_OK);
    int ok = 1;
    for (size_t i = 0; i < p.n; i++) ok &= mask[i] == (i < 122 ? 1.0f : 0.0f);
    CHECK_MSG(ok, "constant scores must keep the lowest indices");
    double dens[4] = {0.25, 1, 0.5, 0.5}; /* A keeps 25 -> 0..24, B 3 -> 110..112, C 9 */
    CHECK(sal_mask_topk_layers(&p, score, dens, mask, &err) == SAL_OK);
    ok = 1;
    for (size_t i = 0; i < p.n; i++) {
        int keep = i < 25 || (i >= 100 && i < 113) || (i >= 116 && i < 125);
        ok &= mask[i] == (keep ? 1.0f : 0.0f);
    }
    CHECK_MSG(ok, "layerwise ties must keep each tensor's lowest indices");
    /* a tie straddling the cut: scores 2,1,1,1,... keep 2 then the lowest-index 1s */
    for (size_t i = 0; i < p.n; i++) score[i] = 1.0f;
    score[50] = 2.0f;
    CHECK(sal_mask_topk_global(&p, score, 3.0 / 124, mask, &err) == SAL_OK);
    CHECK(mask[50] == 1 && mask[0] == 1 && mask[1] == 1 && mask[2] == 0);
    CHECK(kept_prunable(&p, mask) == 3);
    free(score), free(mask);
    sal_params_free(&p);
}

static void test_topk_errors(void) {
    sal_params p;
    make_small(&p);
    float *score = calloc(p.n, sizeof *score), *mask = malloc(p.n * sizeof *mask);
    double dens[4] = {0.5, 1, 0.5, 0.5};
    sal_err err;
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    for (int b = 0; b < 3; b++) {
        score[117] = bad[b];
        err.msg[0] = 0;
        CHECK(sal_mask_topk_global(&p, score, 0.5, mask, &err) == SAL_ENUMERIC);
        CHECK_MSG(strstr(err.msg, "C.weight[1]") != NULL, "message names the entry: %s", err.msg);
        CHECK(sal_mask_topk_layers(&p, score, dens, mask, &err) == SAL_ENUMERIC);
    }
    score[117] = 0;
    score[105] = NAN; /* a bias entry: not ranked, so not an error */
    CHECK(sal_mask_topk_global(&p, score, 0.5, mask, &err) == SAL_OK);
    CHECK(sal_mask_topk_layers(&p, score, dens, mask, &err) == SAL_OK);
    CHECK(sal_mask_topk_global(&p, score, 0.0, mask, &err) == SAL_EINVAL);
    CHECK(sal_mask_topk_global(&p, score, 1.5, mask, &err) == SAL_EINVAL);
    CHECK(sal_mask_topk_global(&p, score, NAN, mask, &err) == SAL_EINVAL);
    dens[3] = 0;
    CHECK(sal_mask_topk_layers(&p, score, dens, mask, &err) == SAL_EINVAL);
    dens[3] = 0.5, dens[1] = 0; /* the bias's density is ignored */
    CHECK(sal_mask_topk_layers(&p, score, dens, mask, &err) == SAL_OK);
    free(score), free(mask);
    sal_params_free(&p);
}

/* Selection at model scale with heavy ties and a sorted (adversarial for naive pivots) order,
 * against a full sort. */
static void test_topk_large(void) {
    sal_params p;
    memset(&p, 0, sizeof p);
    int s1[2] = {300, 784}, s2[1] = {300}, s3[2] = {100, 300};
    sal_params_add(&p, "fc1.weight", 2, s1, 784, 1, SAL_INIT_FANIN);
    sal_params_add(&p, "fc1.bias", 1, s2, 784, 0, SAL_INIT_FANIN);
    sal_params_add(&p, "fc2.weight", 2, s3, 300, 1, SAL_INIT_FANIN);
    CHECK(sal_params_alloc(&p) == 0);
    float *score = malloc(p.n * sizeof *score), *mask = malloc(p.n * sizeof *mask);
    float *ref = malloc(p.n * sizeof *ref);
    sal_rng r;
    sal_rng_seed(&r, 5, 99, 0);
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < p.n; i++)
            score[i] = pass == 0   ? (float)sal_rng_below(&r, 100)
                       : pass == 1 ? (float)i * 1e-3f /* ascending */
                                   : -(float)i;       /* descending */
        const double d = pass == 0 ? 0.0731 : 0.5;
        sal_err err;
        CHECK(sal_mask_topk_global(&p, score, d, mask, &err) == SAL_OK);
        ref_topk(&p, score, 0, p.ntensors, (size_t)llround(d * prunable_total(&p)), ref);
        CHECK_MSG(same_mask(mask, ref, p.n), "large top-k pass %d differs from a full sort", pass);
    }
    free(score), free(mask), free(ref);
    sal_params_free(&p);
}

/* ---- densities ---- */

static void test_densities(void) {
    sal_params p;
    make_small(&p);
    double d[4];
    sal_layer_densities_uniform(&p, 0.3, d);
    CHECK(d[0] == 0.3 && d[1] == 1.0 && d[2] == 0.3 && d[3] == 0.3);
    /* ERK by hand. raw = (sum of dims) / (product): A (10,10) 20/100 = 0.2, B (2,3) 5/6,
     * C (2,1,3,3) 9/18 = 0.5. Density 0.5: target 62 of 124.
     *   pass 1: eps = 62 / (0.2*100 + 5/6*6 + 0.5*18) = 62/34 = 1.8235; B: eps * 5/6 = 1.52 > 1,
     *           so B becomes dense (6 weights).
     *   pass 2: eps = (62 - 6) / (20 + 9) = 1.93103; C: 0.5 eps = 0.9655 <= 1, done.
     *   A: 0.2 * 1.93103 * 100 = 38.621, C: 0.9655 * 18 = 17.379 (+ 6 = 62). Floors 38 + 17 + 6
     *   = 61, the one left goes to the largest remainder (A, .621): A 39/100, B 1, C 17/18.
     * Density 0.25: target 31. eps = 31/34 = 0.91176; B: 0.7598 <= 1, no capping.
     *   A: 18.235, B: 0.7598 * 6 = 4.559, C: 0.45588 * 18 = 8.206 (sum 31). Floors 18 + 4 + 8
     *   = 30, one left to B (.559): A 18/100, B 5/6, C 8/18.
     * Density 0.45: target 55.8 -> 56. eps = 55.8/34 = 1.6412, B: 1.368 > 1, B dense; then
     *   eps = 49.8/29 = 1.71724: A 34.345, C 0.85862 * 18 = 15.455. Floors 34 + 15 + 6 = 55,
     *   the one left to C (.455 > .345): A 34/100, B 1, C 16/18. (Without the capping pass
     *   the leftover would go A 35, C 15.) */
    CHECK(sal_layer_densities_erk(&p, 0.5, d, NULL) == SAL_OK);
    CHECK_CLOSE(d[0], 0.39, 1e-12, 0);
    CHECK(d[1] == 1.0 && d[2] == 1.0);
    CHECK_CLOSE(d[3], 17.0 / 18, 1e-12, 0);
    CHECK(sal_layer_densities_erk(&p, 0.25, d, NULL) == SAL_OK);
    CHECK_CLOSE(d[0], 0.18, 1e-12, 0);
    CHECK(d[1] == 1.0);
    CHECK_CLOSE(d[2], 5.0 / 6, 1e-12, 0);
    CHECK_CLOSE(d[3], 8.0 / 18, 1e-12, 0);
    CHECK(sal_layer_densities_erk(&p, 0.45, d, NULL) == SAL_OK);
    CHECK_CLOSE(d[0], 0.34, 1e-12, 0);
    CHECK(d[1] == 1.0 && d[2] == 1.0);
    CHECK_CLOSE(d[3], 16.0 / 18, 1e-12, 0);
    CHECK(sal_layer_densities_erk(&p, 1.0, d, NULL) == SAL_OK);
    CHECK(d[0] == 1.0 && d[2] == 1.0 && d[3] == 1.0);
    sal_params_free(&p);

    /* ERK on LeNet-5 keeps exactly round(density * prunable) in total, and small layers
     * denser than big ones (conv1 (6,1,5,5): 17/150 vs fc1 (120,400): 520/48000). */
    sal_model *m = sal_model_create(SAL_ARCH_LENET5, 1, 28, 28, 10, 1, NULL);
    sal_params *q = sal_model_params(m);
    double dd[64];
    const double dens[] = {0.01, 0.05, 0.1, 0.3, 0.7};
    for (size_t i = 0; i < sizeof dens / sizeof *dens; i++) {
        CHECK(sal_layer_densities_erk(q, dens[i], dd, NULL) == SAL_OK);
        double kept = 0;
        for (int t = 0; t < q->ntensors; t++) {
            if (!q->t[t].prunable) {
                CHECK(dd[t] == 1.0);
                continue;
            }
            CHECK(dd[t] > 0 && dd[t] <= 1);
            kept += (double)llround(dd[t] * q->t[t].numel);
        }
        CHECK_CLOSE(kept, llround(dens[i] * prunable_total(q)), 0, 0);
        int c1 = sal_params_find(q, "conv1.weight"), f1 = sal_params_find(q, "fc1.weight");
        CHECK(dd[c1] > dd[f1]);
    }
    sal_model_free(m);
}

/* Random pruning: per-layer exact counts, a function of the seed only. */
static void test_random_masks(void) {
    sal_model *m = sal_model_create(SAL_ARCH_LENET5, 1, 28, 28, 10, 1, NULL);
    sal_params *p = sal_model_params(m);
    float *s = malloc(p->n * sizeof *s), *a = malloc(p->n * sizeof *a);
    float *b = malloc(p->n * sizeof *b);
    double d[64];
    sal_err err;
    sal_score_random(p, 42, s);
    for (int t = 0; t < p->ntensors; t++)
        for (size_t i = 0; i < p->t[t].numel; i++) {
            float v = s[p->t[t].offset + i];
            if (p->t[t].prunable ? !(v >= 0 && v <= 1) : v != 0) {
                CHECK_MSG(0, "random score out of range in %s", p->t[t].name);
                t = p->ntensors;
                break;
            }
        }
    sal_layer_densities_uniform(p, 0.2, d);
    CHECK(sal_mask_topk_layers(p, s, d, a, &err) == SAL_OK);
    for (int t = 0; t < p->ntensors; t++)
        if (p->t[t].prunable) CHECK(kept_in(p, a, t) == (size_t)llround(0.2 * p->t[t].numel));
    CHECK(mask_well_formed(p, a));
    sal_score_random(p, 42, s);
    CHECK(sal_mask_topk_layers(p, s, d, b, &err) == SAL_OK);
    CHECK(same_mask(a, b, p->n));
    sal_score_random(p, 43, s);
    CHECK(sal_mask_topk_layers(p, s, d, b, &err) == SAL_OK);
    CHECK(!same_mask(a, b, p->n));
    /* ERK random mask: total exact */
    CHECK(sal_layer_densities_erk(p, 0.1, d, NULL) == SAL_OK);
    CHECK(sal_mask_topk_layers(p, s, d, b, &err) == SAL_OK);
    CHECK(kept_prunable(p, b) == (size_t)llround(0.1 * prunable_total(p)));
    free(s), free(a), free(b);
    sal_model_free(m);
}

/* ---- SynFlow masks ---- */

static void test_synflow_masks(void) {
    sal_model *m = sal_model_create(SAL_ARCH_LENET5, 1, 28, 28, 10, 4, NULL);
    sal_params *p = sal_model_params(m);
    sal_model_init(m, 3);
    const size_t n = p->n;
    float *w0 = malloc(n * sizeof *w0), *mask = malloc(n * sizeof *mask);
    float *m2 = malloc(n * sizeof *m2), *score = malloc(n * sizeof *score);
    memcpy(w0, p->w, n * sizeof *w0);
    sal_err err;
    const double dens[] = {0.5, 0.1, 0.02};
    for (size_t i = 0; i < sizeof dens / sizeof *dens; i++) {
        CHECK(sal_mask_synflow(m, dens[i], SAL_SCOPE_GLOBAL, 5, mask, &err) == SAL_OK);
        CHECK(kept_prunable(p, mask) == (size_t)llround(dens[i] * prunable_total(p)));
        CHECK(mask_well_formed(p, mask));
        CHECK(memcmp(p->w, w0, n * sizeof *w0) == 0); /* weights restored bit for bit */
        CHECK(sal_mask_synflow(m, dens[i], SAL_SCOPE_LAYERWISE, 5, mask, &err) == SAL_OK);
        for (int t = 0; t < p->ntensors; t++) {
            if (!p->t[t].prunable) continue;
            size_t k = (size_t)llround(dens[i] * p->t[t].numel);
            CHECK(kept_in(p, mask, t) == (k ? k : 1));
        }
        CHECK(mask_well_formed(p, mask));
    }
    /* Deterministic, and iterating changes the answer (else the loop would be dead code). */
    CHECK(sal_mask_synflow(m, 0.05, SAL_SCOPE_GLOBAL, 10, mask, &err) == SAL_OK);
    CHECK(sal_mask_synflow(m, 0.05, SAL_SCOPE_GLOBAL, 10, m2, &err) == SAL_OK);
    CHECK(same_mask(mask, m2, n));
    CHECK(sal_mask_synflow(m, 0.05, SAL_SCOPE_GLOBAL, 1, m2, &err) == SAL_OK);
    CHECK(!same_mask(mask, m2, n));
    CHECK(sal_mask_synflow(m, 0.0, SAL_SCOPE_GLOBAL, 10, mask, &err) == SAL_EINVAL);
    CHECK(sal_mask_synflow(m, 0.5, SAL_SCOPE_GLOBAL, 0, mask, &err) == SAL_EINVAL);

    /* A zero weight has zero synaptic flow: with fewer kept than nonzero weights, none is kept.
     * Zero every other entry of fc1 and conv2 (about a third of the prunable weights). */
    int zt[2] = {sal_params_find(p, "fc1.weight"), sal_params_find(p, "conv2.weight")};
    for (int z = 0; z < 2; z++)
        for (size_t i = 0; i < p->t[zt[z]].numel; i += 2) p->w[p->t[zt[z]].offset + i] = 0.0f;
    memcpy(w0, p->w, n * sizeof *w0);
    CHECK(sal_mask_synflow(m, 0.3, SAL_SCOPE_GLOBAL, 20, mask, &err) == SAL_OK);
    size_t zero_kept = 0;
    for (size_t i = 0; i < n; i++) zero_kept += w0[i] == 0.0f && mask[i] != 0.0f;
    CHECK_MSG(zero_kept == 0, "%zu zero weights kept", zero_kept);
    CHECK(memcmp(p->w, w0, n * sizeof *w0) == 0);

    /* No re-growth: with all-zero weights every live score is 0, the tie rule prefers low
     * indices, yet a mask that pruned low indices must not get them back. */
    memset(p->w, 0, n * sizeof *p->w);
    for (size_t i = 0; i < n; i++) mask[i] = (i % 4 == 0 || i > n / 2) ? 1.0f : 0.0f;
    for (int t = 0; t < p->ntensors; t++)
        if (!p->t[t].prunable)
            for (size_t i = 0; i < p->t[t].numel; i++) mask[p->t[t].offset + i] = 1.0f;
    const size_t live = kept_prunable(p, mask);
    float ones[28 * 28], dl[10];
    for (int i = 0; i < 28 * 28; i++) ones[i] = 1.0f;
    for (int i = 0; i < 10; i++) dl[i] = 1.0f;
    memset(w0, 0, n * sizeof *w0);
    sal_sp_synflow_scores(m, w0, mask, ones, dl, score);
    const double d = 0.8 * (double)live / (double)prunable_total(p);
    CHECK(sal_mask_topk_global(p, score, d, m2, &err) == SAL_OK);
    size_t regrown = 0;
    for (size_t i = 0; i < n; i++) regrown += m2[i] != 0.0f && mask[i] == 0.0f;
    CHECK_MSG(regrown == 0, "%zu pruned weights came back", regrown);
    CHECK(kept_prunable(p, m2) == (size_t)llround(d * prunable_total(p)));
    free(w0), free(mask), free(m2), free(score);
    sal_model_free(m);
}

/* GraSP's difference of gradients: central where smooth, the switch-free side at a kink. */
static void test_grasp_kink(void) {
    const double eps = 1e-3;
    /* smooth: g(t) = 2 + 3t + 5t^2 -> central difference 3 exactly */
    double g0 = 2, gp = 2 + 3 * eps + 5 * eps * eps, gm = 2 - 3 * eps + 5 * eps * eps;
    CHECK_CLOSE(sal_sp_grasp_hv(gm, g0, gp, eps, 1.0), 3.0, 1e-9, 0);
    /* a unit switches off between w and w + eps v: g+ loses 0.5, so the + side is wrong by
     * 500; the - side keeps the slope 3 of the pattern at w, whichever sign the jump has */
    CHECK_CLOSE(sal_sp_grasp_hv(gm, g0, gp - 0.5, eps, 1.0), 3.0, 1e-2, 0);
    CHECK_CLOSE(sal_sp_grasp_hv(gm, g0, gp + 0.5, eps, 1.0), 3.0, 1e-2, 0);
    CHECK_CLOSE(sal_sp_grasp_hv(gm + 0.5, g0, gp, eps, 1.0), 3.0, 1e-2, 0);
    CHECK_CLOSE(sal_sp_grasp_hv(gm - 0.5, g0, gp, eps, 1.0), 3.0, 1e-2, 0);
}

/* ---- model: backward from a given logit gradient ---- */

static void test_backward_from(void) {
    const int B = 3;
    sal_model *m = sal_model_create(SAL_ARCH_LENET5, 1, 28, 28, 10, B, NULL);
    sal_params *p = sal_model_params(m);
    sal_model_init(m, 9);
    float x[3 * 28 * 28], dl[3 * 10];
    int y[3] = {1, 4, 7};
    sal_rng r;
    sal_rng_seed(&r, 1, 99, 0);
    for (int i = 0; i < B * 28 * 28; i++) x[i] = (float)sal_rng_normal(&r);
    sal_model_forward(m, x, y, B, NULL);
    sal_model_backward(m);
    float *g = malloc(p->n * sizeof *g);
    memcpy(g, p->g, p->n * sizeof *g);
    /* the cross-entropy's logit gradient (softmax - onehot) / B, in double */
    const float *z = sal_model_logits(m);
    for (int i = 0; i < B; i++) {
        double mx = z[i * 10], sum = 0;
        for (int j = 1; j < 10; j++) mx = fmax(mx, z[i * 10 + j]);
        for (int j = 0; j < 10; j++) sum += exp(z[i * 10 + j] - mx);
        for (int j = 0; j < 10; j++)
            dl[i * 10 + j] = (float)((exp(z[i * 10 + j] - mx) / sum - (j == y[i])) / B);
    }
    sal_model_forward(m, x, y, B, NULL); /* a backward consumes the forward's activations */
    sal_model_backward_from(m, dl);
    double worst = 0, gmax = 0;
    for (size_t i = 0; i < p->n; i++) {
        worst = fmax(worst, fabs((double)p->g[i] - g[i]));
        gmax = fmax(gmax, fabs((double)g[i]));
    }
    CHECK_MSG(worst <= 1e-5 * gmax, "backward_from vs backward: %g (max %g)", worst, gmax);
    int c, h, w;
    sal_model_input_shape(m, &c, &h, &w);
    CHECK(c == 1 && h == 28 && w == 28 && sal_model_classes(m) == 10);
    CHECK(sal_model_max_batch(m) == B);
    free(g);
    sal_model_free(m);
}

/* ---- reports ---- */

static void test_reports(void) {
    sal_params p;
    make_small(&p);
    float *mask = malloc(p.n * sizeof *mask);
    for (size_t i = 0; i < p.n; i++) mask[i] = i < 50 || (i >= 100 && i < 113) ? 1.0f : 0.0f;
    char path[512];
    snprintf(path, sizeof path, "%s/test_sparsity_mask.csv", SAL_TEST_BINDIR);
    sal_err err;
    CHECK(sal_mask_write_csv(&p, mask, path, &err) == SAL_OK);
    FILE *f = fopen(path, "r");
    char buf[1024] = {0};
    size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    CHECK(got > 0);
    CHECK_MSG(!strcmp(buf, "tensor,numel,kept,density\n"
                           "A.weight,100,50,0.5\n"
                           "A.bias,10,10,1\n"
                           "B.weight,6,3,0.5\n"
                           "C.weight,18,0,0\n"),
              "csv:\n%s", buf);
    remove(path);
    snprintf(path, sizeof path, "%s/no/such/dir/mask.csv", SAL_TEST_BINDIR);
    CHECK(sal_mask_write_csv(&p, mask, path, &err) == SAL_EIO);
    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    sal_mask_print(&p, mask, mf);
    fclose(mf);
    CHECK(text && strstr(text, "B.weight") && strstr(text, "3/6") && strstr(text, "53/124"));
    free(text);
    free(mask);
    sal_params_free(&p);
}

/* ---- scores against PyTorch ---- */

typedef sal_fix_rec rec; /* a record of a gen_fixtures.py file (harness.h) */

/* The torch scores of one kind ("snip", ...) gathered into a flat (p->n) buffer, 0 on
 * non-prunable entries; 0 if a record is missing or mis-shaped. */
static int gather(const sal_params *p, const rec *recs, int nrec, const char *kind, float *out) {
    memset(out, 0, p->n * sizeof *out);
    for (int t = 0; t < p->ntensors; t++) {
        if (!p->t[t].prunable) continue;
        char nm[96];
        snprintf(nm, sizeof nm, "%s.%s", kind, p->t[t].name);
        const rec *r = sal_fix_find(recs, nrec, nm);
        if (!r || r->n != p->t[t].numel) return 0;
        memcpy(out + p->t[t].offset, r->data, r->n * sizeof *out);
    }
    return 1;
}

/* Worst |a - b| over each prunable tensor relative to that tensor's max |b|; prints it. */
static double worst_rel_max(const char *what, const sal_params *p, const float *a, const float *b) {
    double worst = 0;
    for (int t = 0; t < p->ntensors; t++) {
        if (!p->t[t].prunable) continue;
        double d = 0, mx = 0;
        for (size_t i = 0; i < p->t[t].numel; i++) {
            const size_t at = p->t[t].offset + i;
            double e = fabs((double)a[at] - b[at]);
            if (!(e <= d)) d = e; /* NaN wins */
            mx = fmax(mx, fabs((double)b[at]));
        }
        double rel = mx > 0 ? d / mx : d;
        printf("  %-8s %-14s max|diff|/max|torch| %.3g\n", what, p->t[t].name, rel);
        if (!(rel <= worst)) worst = rel;
    }
    return worst;
}

/* Fraction of torch's top-`frac` set (global) that our scores also put in their top set. */
static double topk_agreement(const sal_params *p, const float *ours, const float *torch_s,
                             double frac) {
    float *a = malloc(p->n * sizeof *a), *b = malloc(p->n * sizeof *b);
    sal_err err;
    double agree = -1;
    if (sal_mask_topk_global(p, ours, frac, a, &err) == SAL_OK &&
        sal_mask_topk_global(p, torch_s, frac, b, &err) == SAL_OK) {
        size_t both = 0, k = 0;
        for (int t = 0; t < p->ntensors; t++)
            for (size_t i = 0; p->t[t].prunable && i < p->t[t].numel; i++) {
                const size_t at = p->t[t].offset + i;
                both += a[at] != 0 && b[at] != 0;
                k += b[at] != 0;
            }
        agree = (double)both / (double)k;
    }
    free(a), free(b);
    return agree;
}

static void check_saliency(const char *name, sal_arch arch) {
    rec recs[64];
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/saliency_%s.bin", name);
    int nrec = sal_fix_load(sal_test_src(path), recs, 64);
    CHECK_MSG(nrec > 0, "cannot load fixture %s", path);
    if (nrec <= 0) return;
    printf("%s:\n", name);
    const rec *px = sal_fix_find(recs, nrec, "pixels"), *py = sal_fix_find(recs, nrec, "y");
    CHECK(px && py && px->ndim == 4);
    /* a data set of the fixture's pixels; sal_dataset_batch normalises with mean 0.25, std 0.5
     * exactly as the generator did */
    sal_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = px->dims[0], ds.c = px->dims[1], ds.h = px->dims[2], ds.w = px->dims[3];
    ds.classes = 10;
    ds.x = malloc(px->n), ds.y = malloc((size_t)ds.n);
    for (size_t i = 0; i < px->n; i++) ds.x[i] = (uint8_t)px->data[i];
    for (int i = 0; i < ds.n; i++) ds.y[i] = (uint8_t)py->data[i];
    ds.mean[0] = 0.25f, ds.std[0] = 0.5f;
    /* batches of 3 over 8 samples in a scrambled order: 3 + 3 + 2, so the weighting of the
     * partial batch and the independence from order are both exercised */
    const int batch = 3, ids[8] = {5, 2, 7, 0, 3, 6, 1, 4};
    sal_err err;
    sal_model *m = sal_model_create(arch, ds.c, ds.h, ds.w, 10, batch, &err);
    CHECK(m != NULL);
    sal_params *p = sal_model_params(m);
    for (int t = 0; t < p->ntensors; t++) { /* the fixtures' closed-form parameters */
        float *v = sal_params_w(p, t);
        for (size_t i = 0; i < p->t[t].numel; i++)
            v[i] = (float)(sin(0.7 * (double)i + 1.3 * t + 0.1) / sqrt((double)p->t[t].fan_in));
    }
    const size_t n = p->n;
    float *w0 = malloc(n * sizeof *w0), *ours = malloc(n * sizeof *ours);
    float *ref = malloc(n * sizeof *ref), *x = malloc((size_t)batch * ds.c * ds.h * ds.w * 4);
    int y[3];
    memcpy(w0, p->w, n * sizeof *w0);

    /* SNIP: one gradient, so float rounding only */
    sal_score_snip(m, &ds, ids, 8, batch, NULL, x, y, ours);
    CHECK(gather(p, recs, nrec, "snip", ref));
    CHECK_MSG(worst_rel_max("snip", p, ours, ref) <= 1e-4, "snip differs from torch");
    CHECK(memcmp(p->w, w0, n * sizeof *w0) == 0);

    /* GraSP: differences of float gradients vs torch's exact double-backward. Rounding leaves
     * a relative L2 error of about 1.6e-3 (lenet5) and 8e-4 (mlp) at grasp.c's step; 1e-2
     * leaves room for other BLAS kernels, and 99% of torch's top 10% must be ours too. */
    CHECK(sal_score_grasp(m, &ds, ids, 8, batch, NULL, x, y, ours, &err) == SAL_OK);
    CHECK(gather(p, recs, nrec, "grasp", ref));
    worst_rel_max("grasp", p, ours, ref);
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)ours[i] - ref[i]) * ((double)ours[i] - ref[i]);
        den += (double)ref[i] * ref[i];
    }
    const double l2 = sqrt(num / den), agree = topk_agreement(p, ours, ref, 0.1);
    printf("  grasp    relative L2 error %.3g, top-10%% agreement %.4f\n", l2, agree);
    CHECK_MSG(l2 < 1e-2, "grasp relative L2 error %g", l2);
    CHECK_MSG(agree >= 0.99, "grasp top-10%% agreement %g", agree);
    CHECK(memcmp(p->w, w0, n * sizeof *w0) == 0); /* restored bit for bit */

    /* SynFlow, one round: the scores, then the mask is the top-k of torch's scores up to
     * entries whose two scores straddle the cut within rounding. */
    float *ones = malloc((size_t)ds.c * ds.h * ds.w * sizeof *ones), dl[10];
    float *mask = malloc(n * sizeof *mask), *rmask = malloc(n * sizeof *rmask);
    for (int i = 0; i < ds.c * ds.h * ds.w; i++) ones[i] = 1.0f;
    for (int i = 0; i < 10; i++) dl[i] = 1.0f;
    for (size_t i = 0; i < n; i++) mask[i] = 1.0f;
    sal_sp_synflow_scores(m, w0, mask, ones, dl, ours);
    memcpy(p->w, w0, n * sizeof *w0);
    CHECK(gather(p, recs, nrec, "synflow", ref));
    CHECK_MSG(worst_rel_max("synflow", p, ours, ref) <= 1e-4, "synflow differs from torch");
    const double dens[] = {0.3, 0.05};
    for (int k = 0; k < 2; k++) {
        CHECK(sal_mask_synflow(m, dens[k], SAL_SCOPE_GLOBAL, 1, mask, &err) == SAL_OK);
        CHECK(sal_mask_topk_global(p, ref, dens[k], rmask, &err) == SAL_OK);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++) diff += mask[i] != rmask[i];
        printf("  synflow  1 round, density %.2f: %zu of %zu mask entries differ from torch's "
               "top-k\n",
               dens[k], diff, n);
        CHECK_MSG(diff <= n / 10000, "synflow mask: %zu entries differ", diff);
        CHECK(memcmp(p->w, w0, n * sizeof *w0) == 0);
    }
    free(ones), free(mask), free(rmask);
    free(w0), free(ours), free(ref), free(x);
    sal_dataset_free(&ds);
    sal_model_free(m);
    for (int i = 0; i < nrec; i++) free(recs[i].data);
}

/* Scores probe a BatchNorm model without changing it: SNIP (batch statistics, no running
 * update) and SynFlow (eval mode) leave running statistics, batch count and weights as they
 * were; and SNIP's scores are those of batch statistics, not of the running ones. */
static void test_scores_leave_state(void) {
    sal_model_spec spec = {SAL_ARCH_RESNET20, SAL_NORM_BATCH, 1, 12, 12, 10, 4, 1,
                           SAL_INIT_KAIMING, 0};
    sal_model *m = sal_model_create_spec(&spec, NULL);
    CHECK(m != NULL);
    if (!m) return;
    sal_params *p = sal_model_params(m);
    sal_model_init(m, 3);
    for (size_t i = 0; i < p->ns; i++) p->s[i] = 0.5f + 0.001f * (float)(i % 7); /* not 0/1 */
    sal_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = 8, ds.c = 1, ds.h = ds.w = 12, ds.classes = 10;
    ds.x = malloc(8 * 144), ds.y = malloc(8);
    for (int i = 0; i < 8 * 144; i++) ds.x[i] = (uint8_t)((i * 37) % 256);
    for (int i = 0; i < 8; i++) ds.y[i] = (uint8_t)i;
    ds.mean[0] = 0.25f, ds.std[0] = 0.5f;
    float *s0 = malloc(p->ns * sizeof(float)), *w0 = malloc(p->n * sizeof(float));
    float *score = malloc(p->n * sizeof(float)), *mask = malloc(p->n * sizeof(float));
    float *x = malloc(4 * 144 * sizeof(float));
    int y[4], ids[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    memcpy(s0, p->s, p->ns * sizeof(float));
    memcpy(w0, p->w, p->n * sizeof(float));
    sal_score_snip(m, &ds, ids, 8, 4, NULL, x, y, score);
    CHECK_MSG(!memcmp(s0, p->s, p->ns * sizeof(float)), "snip changed the running statistics");
    CHECK(sal_model_training(m) == 1);
    sal_err err;
    CHECK_MSG(sal_mask_synflow(m, 0.2, SAL_SCOPE_GLOBAL, 2, mask, &err) == SAL_OK, "%s", err.msg);
    CHECK_MSG(!memcmp(s0, p->s, p->ns * sizeof(float)), "synflow changed the running statistics");
    CHECK(!memcmp(w0, p->w, p->n * sizeof(float)) && sal_model_training(m) == 1);
    /* the same SNIP in evaluation mode (running statistics) gives other scores */
    float *score_eval = malloc(p->n * sizeof(float));
    sal_model_set_training(m, 0);
    sal_score_snip(m, &ds, ids, 8, 4, NULL, x, y, score_eval);
    sal_model_set_training(m, 1);
    CHECK(memcmp(score, score_eval, p->n * sizeof(float)) != 0);
    free(s0), free(w0), free(score), free(mask), free(x), free(score_eval);
    free(ds.x), free(ds.y);
    sal_model_free(m);
}

/* SNIP on augmented batches: sample k of ids is drawn as aug->first + k whatever the batch it
 * falls in (checked against the batches augmented by hand, then forward and backward), no
 * augmentation equals none given, and crop_flip changes the scores. */
static void test_snip_augmented(void) {
    sal_err err;
    sal_model *m = sal_model_create(SAL_ARCH_MLP, 1, 12, 12, 10, 3, &err);
    CHECK(m != NULL);
    if (!m) return;
    sal_model_init(m, 4);
    sal_params *p = sal_model_params(m);
    sal_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = 8, ds.c = 1, ds.h = ds.w = 12, ds.classes = 10;
    ds.x = malloc(8 * 144), ds.y = malloc(8);
    for (int i = 0; i < 8 * 144; i++) ds.x[i] = (uint8_t)((i * 53 + i / 7) % 256);
    for (int i = 0; i < 8; i++) ds.y[i] = (uint8_t)(i % 10);
    ds.mean[0] = 0.25f, ds.std[0] = 0.5f;
    const int ids[8] = {5, 2, 7, 0, 3, 6, 1, 4};
    const size_t n = p->n;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *ref = calloc(n, sizeof *ref);
    float *x = malloc(3 * 144 * sizeof *x);
    int y[3];
    const sal_augment aug = {SAL_AUG_CROP_FLIP, 5, SAL_AUG_ROUND_SALIENCY, 2, 0};
    sal_score_snip(m, &ds, ids, 8, 3, &aug, x, y, a);
    for (int b0 = 0; b0 < 8; b0 += 3) { /* by hand: batches of 3, 3, 2 */
        const int nb = 8 - b0 < 3 ? 8 - b0 : 3;
        sal_augment at = aug;
        at.first = (uint64_t)b0;
        sal_dataset_batch_aug(&ds, ids + b0, nb, &at, x, y);
        sal_model_forward(m, x, y, nb, NULL);
        sal_model_backward(m);
        for (size_t i = 0; i < n; i++) ref[i] += (float)(1.0 * nb / 8) * p->g[i];
    }
    for (int t = 0; t < p->ntensors; t++) {
        const float *w = sal_params_w(p, t);
        float *r = ref + p->t[t].offset;
        for (size_t i = 0; i < p->t[t].numel; i++) r[i] = p->t[t].prunable ? fabsf(r[i] * w[i]) : 0;
    }
    CHECK_MSG(!memcmp(a, ref, n * sizeof *a), "augmented SNIP differs from the batches by hand");
    const sal_augment none = {SAL_AUG_NONE, 5, SAL_AUG_ROUND_SALIENCY, 2, 0};
    sal_score_snip(m, &ds, ids, 8, 3, &none, x, y, a);
    sal_score_snip(m, &ds, ids, 8, 3, NULL, x, y, b);
    CHECK(!memcmp(a, b, n * sizeof *a));
    CHECK_MSG(memcmp(a, ref, n * sizeof *a) != 0, "crop_flip did not change the scores");
    free(a), free(b), free(ref), free(x), free(ds.x), free(ds.y);
    sal_model_free(m);
}

int main(void) {
    test_snip_augmented();
    test_scores_leave_state();
    test_topk_global_exact();
    test_topk_layers_exact();
    test_topk_ties();
    test_topk_errors();
    test_topk_large();
    test_densities();
    test_random_masks();
    test_synflow_masks();
    test_grasp_kink();
    test_backward_from();
    test_reports();
    check_saliency("lenet5", SAL_ARCH_LENET5);
    check_saliency("mlp", SAL_ARCH_MLP);
    return sal_test_done("test_sparsity");
}
