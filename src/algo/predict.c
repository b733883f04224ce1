/* predict.c - the round model of docs/scaling.md section 1, applied to one config.
 *
 * Symbols as there: P ranks, L = ceil(log2 P), f = (P-1)/P, B batch, r training samples/s of
 * one rank, x the floats one model exchange carries (z with a mask, n dense), alpha and beta
 * of the network with beta multiplied by the ranks sharing a node's link.
 *
 *   AR(P, x)  = 2 L alpha + 2 f 4x beta + f x delta          (a dense allreduce of x floats)
 *   decentral: S = ceil(max_r n_r / B) steps, compute = S B / r, and per round the overhead
 *              O = AR(P, n) + 2 n delta + 8 L alpha (step counts, metrics, the average model)
 *     allreduce        comm = S [AR(P, n) + n delta] + O
 *     allreduce mask   comm = S [AR(P, z) + (2z + n) delta] + O
 *     allreduce topk   comm = S [sigma n + L alpha + 4 (P-1) beta + cheapest sparse] + O
 *     localsgd         comm = (S / H) [AR(P, x) + x delta] + O
 *     dpsgd            comm = S [deg (alpha + 4x beta) + (deg + 1) x delta] + O
 *   fedavg:    per round, the sampled clients of salient's own sample (sal_fed_sample) on
 *              the ranks [run] placement gives them (sal_fed_trainer); the busiest rank
 *              trains its clients' samples x local_epochs; the server's link carries m
 *              downloads and m uploads of x + ns floats; the busiest rank's own 2 kmax
 *              transfers are its comm, the other clients' m - 1 ahead of it and the server's
 *              aggregation (2 m x delta) its wait (scaling.md: round = compute + (m + 2 kmax - 1)
 *              (alpha + 4x beta)). Averaged over the run's rounds (at most the first 1000).
 *
 * Evaluation: rank 0's forward passes over the test set (decentral: its own model and the
 * average, two passes) every eval_every rounds and after the last, spread over the rounds.
 * Left out, as in scaling.md: contention, stragglers, checkpoints, data loading. */
#include <math.h>
#include <stdlib.h>

#include "fedavg.h"
#include "salient/allreduce.h"
#include "salient/predict.h"
#include "salient/train.h"

static int ceil_log2(int P) {
    int L = 0;
    while ((1 << L) < P) L++;
    return L;
}

/* Rabenseifner's dense allreduce of x floats on P ranks (Thakur et al. 2005). */
static double allreduce_s(const sal_predict_in *in, double beta, double x) {
    const int P = in->ranks;
    if (P <= 1) return 0;
    const double f = (double)(P - 1) / P;
    return 2 * ceil_log2(P) * in->alpha + 2 * f * 4 * x * beta + f * x * in->delta;
}

/* Rank r of P hosts clients [r C / P, (r + 1) C / P): its samples. */
static double rank_samples(const sal_predict_in *in, int C, int r, int P) {
    double s = 0;
    for (int c = (int)((long long)r * C / P); c < (int)((long long)(r + 1) * C / P); c++)
        s += in->client_samples[c];
    return s;
}

static sal_status decentral(const sal_config *cfg, const sal_predict_in *in, double beta,
                            sal_prediction *o) {
    const int P = in->ranks, C = cfg->clients, L = ceil_log2(P), B = cfg->batch;
    const double n = (double)in->n, z = (double)in->z, dl = in->delta;
    double most = 0;
    for (int r = 0; r < P; r++) most = fmax(most, rank_samples(in, C, r, P));
    const double S = ceil(most / B);
    o->steps = S;
    o->compute_s = S * B / in->train_rate;
    const double over = allreduce_s(in, beta, n) + 2 * n * dl + 8 * L * in->alpha;
    const int masked = cfg->method != SAL_SPARSE_NONE;
    const double x = masked ? z : n;
    double step = 0;
    switch (cfg->algorithm) {
    case SAL_ALGO_ALLREDUCE:
        if (cfg->compress == SAL_COMPRESS_TOPK) {
            sal_cost_params cp = {.alpha = in->alpha, .beta = beta, .beta_coll = beta,
                                  .gamma = cfg->cost_gamma, .delta = dl};
            const uint64_t K = (uint64_t)llround(cfg->topk_density * n) * (uint64_t)P;
            sal_cost_estimate e;
            sal_cost_sparse(&cp, 0.5, P, in->n, K, &e);
            double cheapest = fmin(e.dense, fmin(e.allgather, e.recdbl));
            step = in->sigma * n + L * in->alpha + 4.0 * (P - 1) * beta + cheapest + 2 * n * dl;
            if (P <= 1) step = in->sigma * n + 2 * n * dl;
        } else if (cfg->compress == SAL_COMPRESS_MASK && masked) {
            step = allreduce_s(in, beta, z) + (2 * z + n) * dl;
        } else {
            step = allreduce_s(in, beta, n) + n * dl;
        }
        o->comm_s = S * step + over;
        break;
    case SAL_ALGO_LOCALSGD:
        o->comm_s = S / cfg->sync_every * (allreduce_s(in, beta, x) + x * dl) + over;
        break;
    default: /* dpsgd */
        o->comm_s = S * (in->degree * (in->alpha + 4 * x * beta) + (in->degree + 1) * x * dl) +
                    over;
        break;
    }
    o->wait_s = 0;
    return SAL_OK;
}

static sal_status fedavg(const sal_config *cfg, const sal_predict_in *in, double beta,
                         sal_prediction *o, sal_err *err) {
    const int C = cfg->clients, W = in->ranks - 1;
    int *sampled = malloc(sizeof(int) * (size_t)C);
    double *work = malloc(sizeof(double) * (size_t)W);
    int *count = malloc(sizeof(int) * (size_t)W);
    if (!sampled || !work || !count) {
        free(sampled), free(work), free(count);
        return sal_fail(err, SAL_ENOMEM, "out of memory modelling %d clients", C);
    }
    const double x = (double)(cfg->method != SAL_SPARSE_NONE ? in->z : in->n);
    const double msg = in->alpha + 4 * (x + (double)in->ns) * beta;
    const int R = cfg->rounds < 1000 ? cfg->rounds : 1000;
    double compute = 0, kmax = 0, m_sum = 0;
    for (int round = 0; round < R; round++) {
        const int m = sal_fed_sample(cfg, round, sampled);
        for (int w = 0; w < W; w++) work[w] = 0, count[w] = 0;
        for (int i = 0; i < m; i++) {
            const int c = sampled[i];
            const int w = sal_fed_trainer(cfg, W, i, c) - 1; /* client ranks from 0 here */
            work[w] += (double)in->client_samples[c] * cfg->local_epochs;
            count[w]++;
        }
        int busiest = 0;
        for (int w = 1; w < W; w++)
            if (work[w] > work[busiest]) busiest = w;
        compute += work[busiest] / in->train_rate;
        kmax += count[busiest];
        m_sum += m;
    }
    free(sampled), free(work), free(count);
    const double m = m_sum / R;
    o->busiest_clients = kmax / R;
    o->compute_s = compute / R;
    o->steps = 0;
    o->comm_s = 2 * o->busiest_clients * msg;
    o->wait_s = (m - 1) * msg + 2 * m * x * in->delta;
    return SAL_OK;
}

sal_status sal_predict(const sal_config *cfg, const sal_predict_in *in, sal_prediction *o,
                       sal_err *err) {
    *o = (sal_prediction){0};
    if (!(in->train_rate > 0) || !(in->eval_rate > 0))
        return sal_fail(err, SAL_ECONFIG, "no throughput to model with (measured %g samples/s)",
                        in->train_rate);
    sal_status st = sal_train_check_ranks(cfg, in->ranks, err);
    if (st) return st;
    const double beta = in->beta * (in->tasks_per_node > 1 ? in->tasks_per_node : 1);
    const int C = cfg->clients;
    double total = 0;
    for (int c = 0; c < C; c++) total += in->client_samples[c];
    int passes = 1; /* forward passes over the test set per evaluation */
    switch (cfg->algorithm) {
    case SAL_ALGO_CENTRALIZED:
        o->steps = ceil(total / cfg->batch);
        o->compute_s = total / in->train_rate;
        break;
    case SAL_ALGO_FEDAVG:
        st = fedavg(cfg, in, beta, o, err);
        break;
    default:
        st = decentral(cfg, in, beta, o);
        passes = 2;
        break;
    }
    if (st) return st;
    const int R = cfg->rounds, E = cfg->eval_every;
    const int evals = R / E + (R % E != 0) + (cfg->algorithm == SAL_ALGO_FEDAVG); /* + round 0 */
    o->eval_s = (double)passes * in->test_samples / in->eval_rate * evals / R;
    o->round_s = o->compute_s + o->comm_s + o->wait_s + o->eval_s;

    /* Round 0's mask: saliency_batches batches per client, scored on the rank that hosts it
     * (the server scores alone with source = server); GraSP takes three gradient passes,
     * SynFlow synflow_iters passes of one sample. The scores' upload: n floats per client. */
    const int hosts = cfg->algorithm == SAL_ALGO_FEDAVG ? in->ranks - 1 : in->ranks;
    const double per_host = hosts > 0 ? ceil((double)C / hosts) : C;
    const double batch_s = (double)cfg->batch / in->train_rate;
    switch (cfg->method) {
    case SAL_SPARSE_SNIP:
    case SAL_SPARSE_GRASP: {
        const double clients = cfg->source == SAL_SOURCE_SERVER ? 1 : per_host;
        o->setup_s = clients * cfg->saliency_batches * batch_s *
                     (cfg->method == SAL_SPARSE_GRASP ? 3 : 1);
        if (cfg->source != SAL_SOURCE_SERVER && in->ranks > 1)
            o->setup_s += C * (in->alpha + 4 * (double)in->n * beta);
        break;
    }
    case SAL_SPARSE_SYNFLOW:
        o->setup_s = cfg->synflow_iters / in->train_rate;
        break;
    default:
        break;
    }
    o->wall_s = o->setup_s + R * o->round_s;
    return SAL_OK;
}
