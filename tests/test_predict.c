/* test_predict.c - the round model of `salient plan` (predict.c) against the formulas of
 * docs/scaling.md written out by hand for small cases: centralized, dense and masked allreduce,
 * dpsgd on a ring, fedavg with every client sampled (where the busiest rank is known without
 * replaying the sampler) and with a sample (checked against a replay of sal_fed_sample here),
 * each with [run] placement block and balanced; fedavg.h's placement functions; the refusals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/algo/fedavg.h"
#include "harness.h"
#include "salient/predict.h"

static sal_config base(sal_algorithm a, int clients, int rounds) {
    sal_config c;
    sal_config_defaults(&c);
    c.algorithm = a;
    c.clients = clients;
    c.rounds = rounds;
    c.eval_every = 2;
    c.batch = 10;
    c.method = SAL_SPARSE_NONE;
    return c;
}

static sal_predict_in input(int P, const int *samples) {
    return (sal_predict_in){.ranks = P, .tasks_per_node = 1, .train_rate = 1000,
                            .eval_rate = 4000, .alpha = 1e-5, .beta = 1e-9, .delta = 1e-10,
                            .sigma = 4e-9, .n = 5000, .ns = 0, .z = 5000,
                            .client_samples = samples, .test_samples = 800};
}

static void test_centralized(void) {
    int samples[1] = {1234};
    sal_config c = base(SAL_ALGO_CENTRALIZED, 1, 5);
    sal_predict_in in = input(1, samples);
    sal_prediction p;
    sal_err err;
    CHECK(sal_predict(&c, &in, &p, &err) == SAL_OK);
    CHECK_CLOSE(p.compute_s, 1.234, 0, 1e-12);
    CHECK(p.comm_s == 0 && p.wait_s == 0);
    /* evaluated after rounds 2, 4 and the last (5): 3 passes of 800 at 4000/s over 5 rounds */
    CHECK_CLOSE(p.eval_s, 3 * 0.2 / 5, 0, 1e-12);
    CHECK_CLOSE(p.wall_s, 5 * (1.234 + 0.12), 0, 1e-12);
    CHECK(p.steps == 124);
}

static void test_allreduce(void) {
    int samples[8] = {100, 100, 100, 100, 100, 100, 100, 130}; /* rank 3 hosts 6, 7: 230 */
    sal_config c = base(SAL_ALGO_ALLREDUCE, 8, 4);
    sal_predict_in in = input(4, samples);
    sal_prediction p;
    sal_err err;
    CHECK(sal_predict(&c, &in, &p, &err) == SAL_OK);
    const double S = 23, n = 5000, L = 2, f = 0.75, a = 1e-5, b = 1e-9, d = 1e-10;
    const double ar = 2 * L * a + 2 * f * 4 * n * b + f * n * d;
    const double over = ar + 2 * n * d + 8 * L * a;
    CHECK(p.steps == S);
    CHECK_CLOSE(p.compute_s, S * 10 / 1000.0, 0, 1e-12);
    CHECK_CLOSE(p.comm_s, S * (ar + n * d) + over, 0, 1e-12);
    /* masked: z floats through the allreduce */
    c.method = SAL_SPARSE_SNIP, c.density = 0.1, c.compress = SAL_COMPRESS_MASK;
    in.z = 600;
    CHECK(sal_predict(&c, &in, &p, &err) == SAL_OK);
    const double arz = 2 * L * a + 2 * f * 4 * 600 * b + f * 600 * d;
    CHECK_CLOSE(p.comm_s, S * (arz + (2 * 600 + n) * d) + over, 0, 1e-12);
    /* four ranks on one node share its link: beta x 4 */
    c.method = SAL_SPARSE_NONE, c.compress = SAL_COMPRESS_NONE;
    in.tasks_per_node = 4;
    CHECK(sal_predict(&c, &in, &p, &err) == SAL_OK);
    const double ar4 = 2 * L * a + 2 * f * 4 * n * 4 * b + f * n * d;
    CHECK_CLOSE(p.comm_s, S * (ar4 + n * d) + ar4 + 2 * n * d + 8 * L * a, 0, 1e-12);
}

static void test_dpsgd(void) {
    int samples[4] = {50, 50, 50, 50};
    sal_config c = base(SAL_ALGO_DPSGD, 4, 3);
    sal_predict_in in = input(4, samples);
    in.degree = 2;
    sal_prediction p;
    sal_err err;
    CHECK(sal_predict(&c, &in, &p, &err) == SAL_OK);
    const double S = 5, n = 5000, a = 1e-5, b = 1e-9, d = 1e-10;
    const double ar = 2 * 2 * a + 2 * 0.75 * 4 * n * b + 0.75 * n * d;
    CHECK_CLOSE(p.comm_s, S * (2 * (a + 4 * n * b) + 3 * n * d) + ar + 2 * n * d + 16 * a, 0,
                1e-12);
    /* decentral evaluates twice (own model and the average) after rounds 2 and 3 */
    CHECK_CLOSE(p.eval_s, 2 * 0.2 * 2 / 3, 0, 1e-12);
}

static void test_fedavg_all_sampled(void) {
    int samples[6] = {10, 20, 30, 40, 50, 60};
    sal_config c = base(SAL_ALGO_FEDAVG, 6, 7);
    c.sample_fraction = 1, c.local_epochs = 2;
    c.placement = SAL_PLACE_BLOCK;
    sal_predict_in in = input(3, samples); /* 2 client ranks: clients 0-2 and 3-5 */
    in.ns = 40;
    sal_prediction p;
    sal_err err;
    CHECK(sal_predict(&c, &in, &p, &err) == SAL_OK);
    const double msg = 1e-5 + 4 * (5000 + 40) * 1e-9;
    CHECK_CLOSE(p.compute_s, (40 + 50 + 60) * 2 / 1000.0, 0, 1e-12);
    CHECK_CLOSE(p.busiest_clients, 3, 0, 0);
    CHECK_CLOSE(p.comm_s, 2 * 3 * msg, 0, 1e-12);
    CHECK_CLOSE(p.wait_s, 5 * msg + 2 * 6 * 5000 * 1e-10, 0, 1e-12);
    /* round 0's evaluation, then after rounds 2, 4, 6 and 7 */
    CHECK_CLOSE(p.eval_s, 5 * 0.2 / 7, 0, 1e-12);
    /* balanced: dealt round-robin, clients 0, 2, 4 and 1, 3, 5; the second rank is busiest */
    c.placement = SAL_PLACE_BALANCED;
    CHECK(sal_predict(&c, &in, &p, &err) == SAL_OK);
    CHECK_CLOSE(p.compute_s, (20 + 40 + 60) * 2 / 1000.0, 0, 1e-12);
    CHECK_CLOSE(p.busiest_clients, 3, 0, 0);
}

/* With a sample, the busiest rank differs from round to round: replay the sampler here. */
static void test_fedavg_sampled(void) {
    enum { C = 20, W = 3 };
    int samples[C];
    for (int i = 0; i < C; i++) samples[i] = 10 + 7 * i;
    sal_config c = base(SAL_ALGO_FEDAVG, C, 40);
    c.sample_fraction = 0.3, c.local_epochs = 1;
    sal_predict_in in = input(W + 1, samples);
    double block_k = 0;
    for (int balanced = 0; balanced < 2; balanced++) {
        c.placement = balanced ? SAL_PLACE_BALANCED : SAL_PLACE_BLOCK;
        sal_prediction p;
        sal_err err;
        CHECK(sal_predict(&c, &in, &p, &err) == SAL_OK);
        int s[C];
        double compute = 0, k = 0;
        for (int r = 0; r < c.rounds; r++) {
            int m = sal_fed_sample(&c, r, s);
            double work[W] = {0};
            int cnt[W] = {0};
            for (int i = 0; i < m; i++) {
                int w = s[i] * W / C; /* blocks [w C / W, (w + 1) C / W): 0-5, 6-12, 13-19 */
                if (s[i] >= (w + 1) * C / W) w++;
                if (balanced) w = i % W; /* the i-th of the ascending sample, dealt in turn */
                work[w] += samples[s[i]], cnt[w]++;
            }
            int b = 0;
            for (int w = 1; w < W; w++)
                if (work[w] > work[b]) b = w;
            compute += work[b] / 1000.0, k += cnt[b];
        }
        CHECK_CLOSE(p.compute_s, compute / c.rounds, 0, 1e-12);
        CHECK_CLOSE(p.busiest_clients, k / c.rounds, 0, 1e-12);
        if (!balanced) block_k = k / c.rounds;
        /* 6 sampled on 3 ranks: 2 each when dealt; the blocks leave some rounds uneven */
        if (balanced) CHECK(p.busiest_clients == 2 && block_k > 2);
    }
}

/* fedavg.h's placement functions against their definitions, enumerated: the home blocks
 * [i C / W, (i + 1) C / W), and the per-round count bound of every client rank. */
static void test_placement(void) {
    for (int C = 1; C <= 40; C++)
        for (int W = 1; W <= C; W++) {
            int bad = 0;
            for (int i = 0; i < W; i++)
                for (int c = i * C / W; c < (i + 1) * C / W; c++)
                    bad |= sal_fed_home(c, C, W) != 1 + i;
            CHECK(!bad);
        }
    enum { C = 23, W = 5 };
    sal_config c = base(SAL_ALGO_FEDAVG, C, 30);
    c.sample_fraction = 0.4; /* m = 9 */
    int s[C], most[2][W + 1] = {{0}}, over = 0, uneven = 0;
    for (int pl = 0; pl < 2; pl++) {
        c.placement = pl ? SAL_PLACE_BLOCK : SAL_PLACE_BALANCED;
        for (int r = 0; r < c.rounds; r++) {
            int m = sal_fed_sample(&c, r, s), cnt[W + 1] = {0};
            for (int j = 0; j < m; j++) {
                int t = sal_fed_trainer(&c, W, j, s[j]);
                if (t < 1 || t > W) {
                    over = 1;
                    continue;
                }
                cnt[t]++;
            }
            for (int t = 1; t <= W; t++) {
                over |= cnt[t] > sal_fed_most_trained(&c, W, t, m);
                most[pl][t] = cnt[t] > most[pl][t] ? cnt[t] : most[pl][t];
                /* balanced: exactly floor or ceil(9 / 5) every round, ranks 1..4 the ceil */
                if (!pl) uneven |= cnt[t] != (t <= 4 ? 2 : 1);
            }
        }
    }
    CHECK(!over && !uneven);
    c.placement = SAL_PLACE_BALANCED; /* the bound is what a rank trains every round */
    for (int t = 1; t <= W; t++) CHECK(most[0][t] == sal_fed_most_trained(&c, W, t, 9));
}

static void test_refusals(void) {
    int samples[4] = {1, 1, 1, 1};
    sal_config c = base(SAL_ALGO_FEDAVG, 4, 2);
    sal_predict_in in = input(1, samples); /* fedavg needs a server and a client rank */
    sal_prediction p;
    sal_err err;
    CHECK(sal_predict(&c, &in, &p, &err) == SAL_ECONFIG);
    in.ranks = 2, in.train_rate = 0;
    CHECK(sal_predict(&c, &in, &p, &err) == SAL_ECONFIG);
    CHECK(strstr(err.msg, "throughput") != NULL);
}

int main(void) {
    test_centralized();
    test_allreduce();
    test_dpsgd();
    test_fedavg_all_sampled();
    test_fedavg_sampled();
    test_placement();
    test_refusals();
    return sal_test_done("test_predict");
}
