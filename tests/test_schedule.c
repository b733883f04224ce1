/* test_schedule.c - [sparsity] schedule (src/sparsity/schedule.c): cycle boundaries against a
 * round-by-round simulation, the exact kept count of every prune against its formula, the
 * magnitude prune against a brute-force ranking, SCULPT's prune that prunes nothing, IMP's
 * rewind of the learning rate, and config errors. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/rng.h"
#include "salient/schedule.h"
#include "salient/sparsity.h"

/* A (20, 10) weight, its bias (20), B (3, 20) weight: 260 prunable entries. */
static void make_params(sal_params *p, uint64_t seed) {
    memset(p, 0, sizeof *p);
    int a[2] = {20, 10}, b[1] = {20}, c[2] = {3, 20};
    sal_params_add(p, "A.weight", 2, a, 10, 1, SAL_INIT_FANIN);
    sal_params_add(p, "A.bias", 1, b, 10, 0, SAL_INIT_FANIN);
    sal_params_add(p, "B.weight", 2, c, 20, 1, SAL_INIT_FANIN);
    CHECK(sal_params_alloc(p) == 0);
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_INIT, 0);
    for (size_t i = 0; i < p->n; i++) p->w[i] = (float)(sal_rng_uniform(&r) * 2 - 1);
    p->w[5] = p->w[6]; /* a tie: the lower index must win */
}

/* The phases by walking the rounds one at a time, as the papers describe them: cycle 0 is R
 * rounds; each later cycle ends when its rounds since the last restart reach R - rewind (imp)
 * or R; after C cycles the final phase runs to the end. */
static void simulate(sal_sched_kind kind, int C, int R, int k0, int rounds, int *phase_of,
                     int *restart_after, int *prune_after) {
    int phase = 0, since = 0;
    for (int r = 0; r < rounds; r++) {
        phase_of[r] = phase;
        since++;
        int len = phase == 0 ? R : kind == SAL_SCHED_IMP ? R - k0 : R;
        restart_after[r + 1] = prune_after[r + 1] = 0;
        if (phase < C && since == len) {
            restart_after[r + 1] = 1;
            prune_after[r + 1] = kind == SAL_SCHED_SCULPT ? (phase == C - 1) : phase + 1;
            phase++, since = 0;
        }
    }
}

static void test_phases(void) {
    const sal_sched_kind kinds[3] = {SAL_SCHED_IMP, SAL_SCHED_LRR, SAL_SCHED_SCULPT};
    const int cases[][4] = {{3, 4, 1, 15}, {1, 2, 0, 3}, {2, 5, 4, 9}, {4, 1, 0, 6}};
    for (int k = 0; k < 3; k++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            const int C = cases[c][0], R = cases[c][1], k0 = cases[c][2], rounds = cases[c][3];
            sal_sched s;
            sal_err err;
            sal_status st = sal_sched_init(&s, kinds[k], C, R, k0, rounds, 100, 1.0, 0.2, &err);
            /* lrr/sculpt ignore the rewind; their cycles end later: skip those that do not fit */
            if (st) {
                CHECK_MSG(kinds[k] != SAL_SCHED_IMP || k0 == 0, "%s", err.msg);
                continue;
            }
            int phase_of[32], restart[33] = {0}, prune[33] = {0};
            simulate(kinds[k], C, R, s.rewind, rounds, phase_of, restart, prune);
            int done_prunes = 0;
            for (int r = 0; r < rounds; r++) {
                sal_sched_pos pos;
                sal_sched_where(&s, r, &pos);
                CHECK_MSG(pos.phase == phase_of[r], "kind %d case %zu round %d: phase %d, not %d",
                          k, c, r, pos.phase, phase_of[r]);
                CHECK(r >= pos.start && r < pos.start + pos.len);
                CHECK(pos.offset == (pos.phase > 0 && kinds[k] == SAL_SCHED_IMP ? k0 : 0));
                CHECK(sal_sched_restart_after(&s, r + 1) == restart[r + 1]);
                CHECK_MSG(sal_sched_prune_after(&s, r + 1) == prune[r + 1],
                          "kind %d case %zu after %d: prune %d, not %d", k, c, r + 1,
                          sal_sched_prune_after(&s, r + 1), prune[r + 1]);
                done_prunes += prune[r + 1] > 0;
                CHECK(sal_sched_prunes_done(&s, r + 1) == done_prunes);
            }
            CHECK(done_prunes == sal_sched_prunes(&s));
        }
}

static void test_counts(void) {
    const double start[3] = {1.0, 0.5, 0.3}, dens[3] = {0.1, 0.05, 0.3};
    const size_t N = 61706; /* LeNet-5's prunable count is near; any n will do */
    for (int i = 0; i < 3; i++)
        for (int C = 1; C <= 5; C++) {
            sal_sched s;
            sal_err err;
            CHECK(!sal_sched_init(&s, SAL_SCHED_IMP, C, 2, 0, 2 * C + 1, N, start[i], dens[i],
                                  &err));
            const long long s0 = llround(start[i] * N), sf = llround(dens[i] * N);
            CHECK(sal_sched_kept(&s, 0) == (size_t)s0);
            CHECK(sal_sched_kept(&s, C) == (size_t)sf); /* exactly the density's count */
            for (int k = 1; k < C; k++) {
                long double want = (long double)s0 * powl((long double)sf / s0, (long double)k / C);
                CHECK_MSG(sal_sched_kept(&s, k) == (size_t)llroundl(want), "k %d: %zu vs %Lg", k,
                          sal_sched_kept(&s, k), want);
                CHECK(sal_sched_kept(&s, k) <= sal_sched_kept(&s, k - 1));
            }
            /* sculpt: one prune, straight to the final count */
            CHECK(!sal_sched_init(&s, SAL_SCHED_SCULPT, C, 2, 0, 2 * C + 1, N, start[i], dens[i],
                                  &err));
            CHECK(sal_sched_prunes(&s) == 1 && sal_sched_kept(&s, 1) == (size_t)sf);
        }
}

/* After each prune: exactly the scheduled count kept; the kept are the largest |w| among the
 * previously kept (brute force over every pair); dropped weights are 0; none revived; biases
 * kept. */
static void test_prune(void) {
    sal_params p;
    make_params(&p, 7);
    float *before = malloc(sizeof(float) * p.n), *mask0 = malloc(sizeof(float) * p.n);
    float *score = malloc(sizeof(float) * p.n);
    sal_sched s;
    sal_err err;
    const int C = 3;
    CHECK(!sal_sched_init(&s, SAL_SCHED_LRR, C, 1, 0, C + 1, 260, 1.0, 0.1, &err));
    CHECK(sal_sched_kept_now(&p) == 260);
    for (int k = 1; k <= C; k++) {
        memcpy(before, p.w, sizeof(float) * p.n);
        memcpy(mask0, p.mask, sizeof(float) * p.n);
        CHECK(!sal_sched_prune(&s, k, &p, score, &err));
        CHECK_MSG(sal_sched_kept_now(&p) == sal_sched_kept(&s, k), "prune %d kept %zu", k,
                  sal_sched_kept_now(&p));
        CHECK(!p.dense);
        size_t worse = 0, revived = 0, nonzero = 0, biases = 0;
        for (size_t i = 0; i < p.n; i++) {
            const int prunable = i < 200 || i >= 220;
            if (!prunable) {
                biases += p.mask[i] == 1.0f && p.w[i] == before[i];
                continue;
            }
            revived += p.mask[i] != 0 && mask0[i] == 0;
            nonzero += p.mask[i] == 0 && p.w[i] != 0.0f;
            if (p.mask[i] == 0 || !(i < 200 || i >= 220)) continue;
            for (size_t j = 0; j < p.n; j++) {
                const int pj = j < 200 || j >= 220;
                if (!pj || mask0[j] == 0 || p.mask[j] != 0) continue; /* j dropped now */
                float a = fabsf(before[i]), b = fabsf(before[j]);
                worse += a < b || (a == b && i > j);
            }
        }
        CHECK(worse == 0 && revived == 0 && nonzero == 0 && biases == 20);
    }
    CHECK(p.mask[5] == 1.0f || p.mask[6] == 0.0f); /* the tie: index 5 before 6 */
    /* Kept weights are the same bits as before the prune. */
    size_t moved = 0;
    for (size_t i = 0; i < p.n; i++) moved += p.mask[i] != 0 && p.w[i] != before[i];
    CHECK(moved == 0);

    /* SCULPT whose prune prunes nothing (density = start_density): the mask and the weights are
     * bitwise as they were. */
    sal_params q;
    make_params(&q, 9);
    CHECK(!sal_mask_topk_global(&q, q.w, 0.4, q.mask, &err)); /* some fixed mask */
    q.dense = 0;
    for (size_t i = 0; i < q.n; i++) q.w[i] *= q.mask[i];
    CHECK(!sal_sched_init(&s, SAL_SCHED_SCULPT, 2, 2, 0, 5, 260, 0.4, 0.4, &err));
    memcpy(before, q.w, sizeof(float) * q.n);
    memcpy(mask0, q.mask, sizeof(float) * q.n);
    CHECK(!sal_sched_prune(&s, 1, &q, score, &err));
    CHECK(!memcmp(before, q.w, sizeof(float) * q.n) && !memcmp(mask0, q.mask, sizeof(float) * q.n));

    /* A first mask that holds fewer than the count (a per-layer mask's rounding): the prune
     * keeps them all and revives none. */
    size_t first = 0;
    while (q.mask[first] == 0.0f) first++;
    q.mask[first] = 0.0f, q.w[first] = 0.0f;
    memcpy(mask0, q.mask, sizeof(float) * q.n);
    CHECK(!sal_sched_prune(&s, 1, &q, score, &err));
    CHECK(sal_sched_kept_now(&q) == sal_sched_kept(&s, 1) - 1);
    CHECK(!memcmp(mask0, q.mask, sizeof(float) * q.n));

    /* A non-finite weight is an error, not an arbitrary mask. */
    q.w[0] = NAN;
    q.mask[0] = 1.0f;
    CHECK(sal_sched_prune(&s, 1, &q, score, &err) == SAL_ENUMERIC);
    free(before), free(mask0), free(score);
    sal_params_free(&p);
    sal_params_free(&q);
}

static void test_lr(void) {
    sal_sched s;
    sal_err err;
    const sal_lr_schedule kinds[3] = {SAL_LR_CONSTANT, SAL_LR_STEP, SAL_LR_COSINE};
    /* fixed: today's formula, bit for bit */
    CHECK(!sal_sched_init(&s, SAL_SCHED_FIXED, 1, 1, 0, 17, 100, 1, 1, &err));
    for (int k = 0; k < 3; k++)
        for (int r = 0; r < 17; r++)
            CHECK(sal_sched_lr(&s, r, kinds[k], 0.1, 3, 0.5, 0.99) ==
                  sal_lr_at(kinds[k], 0.1, r, 17, 3, 0.5) * pow(0.99, r));
    /* lrr: every cycle restarts at the full lr; cosine reaches lr/2 mid-cycle */
    CHECK(!sal_sched_init(&s, SAL_SCHED_LRR, 2, 4, 0, 12, 100, 1, 0.5, &err));
    CHECK(sal_sched_lr(&s, 0, SAL_LR_COSINE, 0.1, 1, 1, 1) == 0.1);
    CHECK(sal_sched_lr(&s, 4, SAL_LR_COSINE, 0.1, 1, 1, 1) == 0.1);
    CHECK(sal_sched_lr(&s, 8, SAL_LR_COSINE, 0.1, 1, 1, 1) == 0.1);
    CHECK_CLOSE(sal_sched_lr(&s, 6, SAL_LR_COSINE, 0.1, 1, 1, 1), 0.05, 1e-15, 0);
    CHECK(sal_sched_lr(&s, 3, SAL_LR_COSINE, 0.1, 1, 1, 1) ==
          sal_lr_at(SAL_LR_COSINE, 0.1, 3, 4, 1, 1));
    /* imp: after a rewind to round 2 a cycle replays the lr of rounds 2.. of the first cycle,
     * bit for bit, for every schedule and decay */
    CHECK(!sal_sched_init(&s, SAL_SCHED_IMP, 3, 5, 2, 14, 100, 1, 0.5, &err));
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 3; j++) {
            const double first = sal_sched_lr(&s, 2 + j, kinds[k], 0.1, 2, 0.5, 0.9);
            CHECK(sal_sched_lr(&s, 5 + j, kinds[k], 0.1, 2, 0.5, 0.9) == first);
            CHECK(sal_sched_lr(&s, 8 + j, kinds[k], 0.1, 2, 0.5, 0.9) == first);
        }
}

static void test_errors(void) {
    sal_sched s;
    sal_err err;
    CHECK(sal_sched_init(&s, SAL_SCHED_IMP, 2, 3, 0, 6, 100, 1, 0.1, &err) == SAL_ECONFIG);
    CHECK(strstr(err.msg, "rounds") != NULL);
    CHECK(sal_sched_init(&s, SAL_SCHED_IMP, 2, 3, 0, 7, 100, 1, 0.1, &err) == SAL_OK);
    CHECK(sal_sched_init(&s, SAL_SCHED_IMP, 2, 3, 3, 9, 100, 1, 0.1, &err) == SAL_ECONFIG);
    CHECK(strstr(err.msg, "rewind_round") != NULL);
    CHECK(sal_sched_init(&s, SAL_SCHED_LRR, 2, 3, 0, 9, 100, 0.1, 0.5, &err) == SAL_ECONFIG);
    CHECK(strstr(err.msg, "start_density") != NULL);
    CHECK(sal_sched_init(&s, SAL_SCHED_SCULPT, 1 << 20, 1 << 12, 0, 1 << 30, 100, 1, 0.5,
                         &err) == SAL_ECONFIG); /* C x R past INT_MAX */
}

int main(void) {
    test_phases();
    test_counts();
    test_prune();
    test_lr();
    test_errors();
    return sal_test_done("test_schedule");
}
