/* decentral.c - [train] algorithm = allreduce | localsgd | dpsgd: every MPI rank is a worker
 * holding a block of the clients' data, and one round is one pass over each rank's data.
 *   allreduce: synchronous data-parallel SGD; each step's gradient is averaged over the ranks:
 *              dense MPI_Allreduce, masked allreduce (a pruning-at-init mask, [comm] compress =
 *              mask), or top-k with error feedback through the sparse allreduce (compress = topk;
 *              Deep Gradient Compression, arXiv 1712.01887).
 *   localsgd:  local SGD steps, models averaged every sync_every steps (Stich 2019).
 *   dpsgd:     a local SGD step, then a gossip step x_i <- sum_j W_ij x_j over [topology] graph
 *              (D-PSGD, Lian et al. 2017, in its adapt-then-combine form); with a mask only the
 *              masked weights travel.
 * BatchNorm's running statistics (p->s) travel as each algorithm's model does: allreduce
 * averages them once a round, localsgd at its sync points, dpsgd gossips them every step
 * (own_state below; docs/architecture.md).
 * Every rank logs into the round's row: rank 0 gathers and writes. */
#include <cblas.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "algos.h"
#include "collcheck.h"
#include "salient/allreduce.h"
#include "salient/client_eval.h"
#include "salient/fault.h"
#include "salient/gossip.h"
#include "salient/metrics.h"
#include "salient/optim.h"
#include "salient/pack.h"
#include "salient/partition.h"
#include "salient/rng.h"
#include "salient/signals.h"
#include "salient/topk_ef.h"
#include "salient/watchdog.h"

enum { DEC_TAG_SCORES = 5 }; /* rank r -> 0: one client's saliency scores (n floats) */

typedef struct worker {
    const sal_config *cfg;
    MPI_Comm comm;
    int rank, size;
    sal_dataset train, test;
    sal_partition part;
    int *ids, nids; /* this rank's samples: its clients' ids, ascending */
    int lo, hi;     /* this rank's clients: [lo, hi) */
    sal_client_tests tests; /* each client's test split (client_eval.h) */
    uint8_t *hit;   /* (test n) which test samples this rank's own model got right */
    int *order;     /* (nids) the current pass's order */
    sal_model *model;
    sal_params *p;
    sal_sgd opt;
    float *x;           /* (batch, c, h, w) */
    int *y, *idx;       /* (batch) */
    float *avg;         /* (n) the ranks' average model */
    float *save;        /* (n) this rank's model while the average is evaluated */
    float *avg_s;       /* (ns) the ranks' average state (own_state): the average model's */
    float *save_s;      /* (ns) this rank's state while the average is evaluated */
    uint32_t *mask_idx; /* (nnz) the mask's positions; NULL when dense */
    size_t nnz;
    sal_coll *coll;
    sal_graph graph;
    sal_gossip *gossip;
    sal_topk_ef *ef;
    uint32_t *tk_idx;         /* (k) top-k output */
    float *tk_val;            /* (k) */
    double comm_s, compute_s; /* this round, this rank */
    uint64_t gossip_sent;     /* this round's gossip payload bytes, this rank */
    uint64_t setup_sent;      /* the mask's exchange (scores, bits), counted in the first
                               * round this run trains (0 when resumed: nothing was sent) */
    double lr;                /* this round's learning rate */
} worker;

/* Whether each rank keeps its own BatchNorm state between rounds, as it keeps its own weights:
 * localsgd and dpsgd (their models differ between exchanges). allreduce's ranks share one model
 * and average the state once a round (average_state). */
static int own_state(const worker *w) {
    return w->p->ns > 0 && w->cfg->algorithm != SAL_ALGO_ALLREDUCE;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Data: rank r hosts clients [r*C/P, (r+1)*C/P) as in fedavg's placement, and trains on the
 * union of their samples. */
static sal_status load(worker *w, sal_err *err) {
    const sal_config *cfg = w->cfg;
    const int C = cfg->clients, P = w->size; /* C >= P: sal_train_check_ranks */
    sal_status st = sal_load_data(cfg, &w->train, &w->test, err);
    if (st) return st;
    sal_partition_opts po = {.kind = cfg->partition,
                             .clients = C,
                             .alpha = cfg->alpha,
                             .shards_per_client = cfg->shards_per_client,
                             .seed = cfg->seed};
    if ((st = sal_partition_make(&w->part, w->train.y, w->train.n, w->train.classes, &po, err)))
        return st;
    int lo = (int)((long long)w->rank * C / P), hi = (int)((long long)(w->rank + 1) * C / P);
    int from = w->part.offset[lo], to = w->part.offset[hi];
    w->lo = lo, w->hi = hi;
    /* a client's model is its rank's: it is scored on the client's own test split */
    if ((st = sal_client_tests_make(&w->tests, &w->part, w->train.y, w->test.y, w->test.n,
                                    w->train.classes, err)))
        return st;
    if (!(w->hit = malloc((size_t)(w->test.n > 0 ? w->test.n : 1))))
        return sal_fail(err, SAL_ENOMEM, "out of memory for the test set's %d hits", w->test.n);
    w->nids = to - from;
    w->ids = malloc(sizeof(int) * (size_t)(w->nids > 0 ? w->nids : 1));
    w->order = malloc(sizeof(int) * (size_t)(w->nids > 0 ? w->nids : 1));
    if (!w->ids || !w->order) return sal_fail(err, SAL_ENOMEM, "out of memory for %d ids", w->nids);
    memcpy(w->ids, w->part.index + from, sizeof(int) * (size_t)w->nids);
    qsort(w->ids, (size_t)w->nids, sizeof(int), cmp_int);
    return SAL_OK;
}

/* p->mask is set (computed or restored): the index list that masked collectives send. */
static sal_status use_mask(worker *w, sal_err *err) {
    sal_params *p = w->p;
    p->dense = 0;
    w->mask_idx = malloc(sizeof(uint32_t) * p->n);
    if (!w->mask_idx) return sal_fail(err, SAL_ENOMEM, "out of memory for the mask's index list");
    w->nnz = sal_mask_indices(p->mask, p->n, w->mask_idx);
    return SAL_OK;
}

/* Rank r hosts clients [r*C/P, (r+1)*C/P) (load above). */
static int client_owner(const worker *w, int c) {
    const int C = w->cfg->clients, P = w->size;
    for (int r = 0; r < P; r++)
        if (c < (int)((long long)(r + 1) * C / P)) return r;
    return P - 1;
}

/* Client c's saliency scores at the initial weights into score: the first saliency_batches x
 * batch of its ids in an order drawn from stream (seed, MASK, 1 + c), as fedavg_mask.c. */
static sal_status score_client(worker *w, int c, float *score, sal_err *err) {
    const sal_config *cfg = w->cfg;
    int n = w->part.offset[c + 1] - w->part.offset[c];
    memcpy(w->order, w->part.index + w->part.offset[c], sizeof(int) * (size_t)n);
    sal_rng r;
    sal_rng_seed(&r, cfg->seed, SAL_STREAM_MASK, 1 + (uint64_t)c);
    sal_rng_shuffle_int(&r, w->order, n);
    long long want = (long long)cfg->saliency_batches * cfg->batch;
    int k = want < n ? (int)want : n;
    const sal_augment aug = {sal_augment_resolve(cfg->augment, cfg->dataset), cfg->seed,
                             SAL_AUG_ROUND_SALIENCY, (uint64_t)c, 0};
    if (cfg->method == SAL_SPARSE_SNIP) {
        sal_score_snip(w->model, &w->train, w->order, k, cfg->batch, &aug, w->x, w->y, score);
        return SAL_OK;
    }
    return sal_score_grasp(w->model, &w->train, w->order, k, cfg->batch, &aug, w->x, w->y, score,
                           err);
}

/* Rank 0's mask from the aggregated scores (snip, grasp: score holds them) or a data-free
 * method. */
static sal_status rank0_mask(worker *w, float *score, float *mask, sal_err *err) {
    const sal_config *cfg = w->cfg;
    sal_params *p = w->p;
    double *dens = malloc(sizeof(double) * p->ntensors);
    if (!dens) return sal_fail(err, SAL_ENOMEM, "out of memory for the mask");
    sal_status st = SAL_OK;
    switch (cfg->method) {
    case SAL_SPARSE_RANDOM:
    case SAL_SPARSE_ERK:
        sal_score_random(p, cfg->seed, score);
        if (cfg->method == SAL_SPARSE_ERK)
            st = sal_layer_densities_erk(p, cfg->density, dens, err);
        else
            sal_layer_densities_uniform(p, cfg->density, dens);
        if (!st) st = sal_mask_topk_layers(p, score, dens, mask, err);
        break;
    case SAL_SPARSE_SYNFLOW:
        st = sal_mask_synflow(w->model, cfg->density, cfg->scope, cfg->synflow_iters, mask, err);
        break;
    default:
        if (cfg->method == SAL_SPARSE_MAGNITUDE) sal_score_magnitude(p, score);
        if (cfg->scope == SAL_SCOPE_GLOBAL) {
            st = sal_mask_topk_global(p, score, cfg->density, mask, err);
        } else {
            sal_layer_densities_uniform(p, cfg->density, dens);
            st = sal_mask_topk_layers(p, score, dens, mask, err);
        }
    }
    free(dens);
    return st;
}

/* The mask of [sparsity], computed once on rank 0 and broadcast bit-packed, as fedavg's server
 * does (fedavg_mask.c). snip/grasp: every client (on every rank) scores its own data; the
 * scores reach rank 0 one client at a time in client-id order (its own first, computed in
 * place) and fold into one double accumulator with weight n_c / N: the sum's order, hence the
 * mask's bits, cannot depend on the rank count (an MPI_Allreduce's summation order could), and
 * rank 0's memory stays O(model). Cost: a rank's sends wait until rank 0 has folded every
 * lower client, so the scoring runs one rank after another (once per run; saliency_batches
 * minibatches a client). *bytes: what this rank sent (scores; rank 0: the mask to P-1 ranks),
 * counted in the first round's bytes. */
static sal_status make_mask(worker *w, uint64_t *bytes, sal_err *err) {
    const sal_config *cfg = w->cfg;
    sal_params *p = w->p;
    const size_t n = p->n;
    const int C = cfg->clients;
    *bytes = 0;
    if (cfg->method == SAL_SPARSE_NONE) return SAL_OK;
    const int from_data = cfg->method == SAL_SPARSE_SNIP || cfg->method == SAL_SPARSE_GRASP;
    float *score = malloc(sizeof(float) * n), *mask = malloc(sizeof(float) * n);
    uint8_t *bits = malloc(sal_bits_bytes(n));
    double *acc = from_data && w->rank == 0 ? calloc(n, sizeof(double)) : NULL;
    const int oom = !score || !mask || !bits || (from_data && w->rank == 0 && !acc);
    sal_status st = oom ? sal_fail(err, SAL_ENOMEM, "out of memory for the mask of %zu weights", n)
                        : SAL_OK;
    if (from_data && w->rank != 0) {
        for (int c = 0; c < C; c++) {
            if (client_owner(w, c) != w->rank) continue;
            /* A client that cannot score sends an empty message; rank 0 fails the run. */
            int bad = oom || st || score_client(w, c, score, err) != SAL_OK;
            if (bad && !st) st = SAL_ENUMERIC; /* err holds the scorer's words */
            /* rank 0 takes it after folding every lower client, some on other ranks */
            sal_wd_enter_ex("sending saliency scores to rank 0", 0, SAL_WD_UPSTREAM);
            MPI_Send(score, bad ? 0 : (int)n, MPI_FLOAT, 0, DEC_TAG_SCORES, w->comm);
            sal_wd_leave();
            if (!bad) *bytes += n * sizeof(float);
        }
    } else if (from_data) {
        for (int c = 0; c < C; c++) {
            int r = client_owner(w, c), got = 0;
            if (r == 0) {
                got = !oom && !st && score_client(w, c, score, err) == SAL_OK ? (int)n : 0;
                if (!got && !st) st = SAL_ENUMERIC;
            } else {
                MPI_Status ms;
                sal_wd_enter("a client's saliency scores", r);
                MPI_Recv(oom ? NULL : score, oom ? 0 : (int)n, MPI_FLOAT, r, DEC_TAG_SCORES,
                         w->comm, &ms);
                sal_wd_leave();
                MPI_Get_count(&ms, MPI_FLOAT, &got);
                if ((size_t)got != n && !st)
                    st = sal_fail(err, SAL_ENUMERIC, "rank %d could not score client %d (out of "
                                  "memory or non-finite loss at the initial weights)", r, c);
            }
            if (st) continue;
            double wc = (double)(w->part.offset[c + 1] - w->part.offset[c]) / w->train.n;
            for (size_t i = 0; i < n; i++) acc[i] += wc * score[i];
        }
        for (size_t i = 0; !st && i < n; i++) score[i] = (float)acc[i];
    }
    int code = st;
    if (w->rank == 0 && !code) code = rank0_mask(w, score, mask, err);
    if (w->rank == 0 && !code) sal_bits_from_mask(mask, n, bits);
    /* Status first, so that a failed mask stops every rank instead of leaving them waiting;
     * a rank's own failure is reported by sal_mpi_agree after this returns. */
    sal_wd_enter("the mask broadcast", 0);
    MPI_Bcast(&code, 1, MPI_INT, 0, w->comm);
    if (!code) MPI_Bcast(bits, (int)sal_bits_bytes(n), MPI_UNSIGNED_CHAR, 0, w->comm);
    sal_wd_leave();
    if (!code) {
        if (w->rank != 0) sal_bits_to_mask(bits, n, mask);
        if (w->rank == 0) *bytes += (uint64_t)(w->size - 1) * sal_bits_bytes(n);
        memcpy(p->mask, mask, sizeof(float) * n);
        for (size_t i = 0; i < n; i++) p->w[i] *= p->mask[i];
        st = use_mask(w, err);
    } else if (!st) {
        st = (sal_status)code;
        if (w->rank != 0) err->msg[0] = '\0'; /* rank 0 reports it */
    }
    free(score), free(mask), free(bits), free(acc);
    return st;
}

static sal_status setup(worker *w, sal_err *err) {
    const sal_config *cfg = w->cfg;
    sal_status st = load(w, err);
    if (st) return st;
    const sal_dataset *tr = &w->train;
    w->model = sal_model_from_config(cfg, tr, err);
    if (!w->model) return SAL_ECONFIG;
    sal_model_init(w->model, cfg->seed); /* every rank starts from the same model */
    w->p = sal_model_params(w->model);
    const size_t n = w->p->n;
    w->nnz = n;
    w->x = malloc(sizeof(float) * (size_t)cfg->batch * tr->c * tr->h * tr->w);
    w->y = malloc(sizeof(int) * (size_t)cfg->batch);
    w->idx = malloc(sizeof(int) * (size_t)cfg->batch);
    w->avg = malloc(sizeof(float) * n);
    w->save = malloc(sizeof(float) * n);
    if (own_state(w)) {
        w->avg_s = malloc(sizeof(float) * w->p->ns);
        w->save_s = malloc(sizeof(float) * w->p->ns);
        if (!w->avg_s || !w->save_s)
            return sal_fail(err, SAL_ENOMEM, "out of memory for %zu state floats", w->p->ns);
    }
    if (!w->x || !w->y || !w->idx || !w->avg || !w->save ||
        sal_sgd_init(&w->opt, n, (float)cfg->lr, (float)cfg->momentum, (float)cfg->weight_decay))
        return sal_fail(err, SAL_ENOMEM, "out of memory for a model of %zu parameters", n);
    return SAL_OK;
}

/* Restore this rank's state from checkpoint path instead of computing the mask: the mask, its
 * own model, momentum, top-k residual and (own_state) BatchNorm state, the step count and
 * (rank 0) the metrics rows. */
static sal_status resume_from(worker *w, const char *path, sal_metrics *metrics, int *start,
                              long *step, sal_err *err) {
    const sal_config *cfg = w->cfg;
    sal_ckpt_info info;
    sal_status st = sal_resume_check(cfg, path, w->size, 1,
                                     sal_data_fingerprint(&w->train, &w->test),
                                     sal_split_fingerprint(&w->part), &info, err);
    if (!st && (!info.has_rank_w || !!w->opt.buf != info.has_rank_m || !!w->ef != info.has_rank_r))
        st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s' lacks per-rank state this run needs "
                      "(/ranks/weights, momentum or residual)", path);
    if (!st && own_state(w) && !info.has_rank_s)
        st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s' lacks /ranks/state, each rank's "
                      "BatchNorm statistics, which %s keeps per rank (a file written before it "
                      "did); run it again from the start", path, info.algorithm);
    if (!st) {
        /* model: /state into p->s; allreduce's ranks share it, the others' own rows
         * (/ranks/state, read after it) replace it */
        sal_ckpt_dst d = {.p = w->p,
                          .model = w->p->ns > 0,
                          .rank = w->rank,
                          .rank_w = w->p->w,
                          .rank_m = w->opt.buf,
                          .rank_r = w->ef ? sal_topk_ef_residual_mut(w->ef) : NULL,
                          .rank_s = own_state(w) ? w->p->s : NULL,
                          .metrics = w->rank == 0 ? metrics : NULL,
                          .sealed = 1}; /* sal_resume_check checked the seal */
        st = sal_ckpt_load(path, &d, err);
    }
    if (!st && cfg->method != SAL_SPARSE_NONE) st = use_mask(w, err);
    *start = info.round;
    *step = (long)info.step;
    sal_ckpt_info_free(&info);
    return st;
}

static sal_status checkpoint(worker *w, const char *out_dir, int done, long step,
                             const sal_metrics *metrics, FILE *pr, sal_err *err) {
    const sal_config *cfg = w->cfg;
    char *text = sal_config_text(cfg), dir[SAL_PATH_MAX + 8], path[SAL_PATH_MAX + 32];
    /* every rank formats the same text; a rank out of memory still joins the collective */
    snprintf(dir, sizeof dir, "%s/ckpt", out_dir);
    sal_ckpt_state s = {.round = done,
                        .step = step,
                        .algorithm = sal_config_enum_name("train", "algorithm", cfg->algorithm),
                        .arch = sal_config_enum_name("model", "arch", cfg->arch),
                        .seed = cfg->seed,
                        .config_text = text ? text : "",
                        .data_fp = sal_data_fingerprint(&w->train, &w->test),
                        .split_fp = sal_split_fingerprint(&w->part),
                        .p = w->p,
                        .model = w->avg,
                        .rank_w = w->p->w,
                        .rank_m = w->opt.buf,
                        .rank_r = w->ef ? sal_topk_ef_residual(w->ef) : NULL,
                        .state = own_state(w) ? w->avg_s : w->p->s,
                        .rank_s = own_state(w) ? w->p->s : NULL,
                        .metrics = metrics};
    sal_status st = sal_ckpt_save(w->comm, dir, cfg->ckpt_keep, &s, path, sizeof path, err);
    free(text);
    if (!st && pr) fprintf(pr, "salient: checkpoint %s\n", path);
    return st;
}

/* The collective part of the setup, once every rank's local part worked: the collectives'
 * context, the graph's communicator, top-k's residual and the mask (computed, or restored with
 * the rest of the state from a checkpoint). The graph and the mask are functions of the config,
 * so a failure there is the same on every rank. */
static sal_status setup_comm(worker *w, const char *resume, sal_metrics *metrics, int *start,
                             long *step, sal_err *err) {
    const sal_config *cfg = w->cfg;
    const size_t n = w->p->n;
    sal_status st;
    sal_coll_opts co;
    sal_coll_opts_default(&co);
    co.cost = (sal_cost_params){.alpha = cfg->cost_alpha,
                                .beta = cfg->cost_beta,
                                .beta_coll = cfg->cost_beta_coll,
                                .gamma = cfg->cost_gamma,
                                .delta = cfg->cost_delta};
    if ((st = sal_coll_create(w->comm, &co, &w->coll, err))) return st;
    if (cfg->algorithm == SAL_ALGO_DPSGD) {
        sal_graph_spec spec = {.kind = cfg->graph,
                               .nodes = w->size,
                               .degree = cfg->degree,
                               .p = cfg->p,
                               .seed = cfg->seed,
                               .weights = cfg->weights};
        if ((st = sal_graph_build(&spec, &w->graph, err))) return st;
        if ((st = sal_gossip_create(&w->graph, w->comm, &w->gossip, err))) return st;
    }
    if (cfg->compress == SAL_COMPRESS_TOPK) {
        size_t k = (size_t)llround(cfg->topk_density * (double)n);
        k = k < 1 ? 1 : k;
        w->tk_idx = malloc(sizeof(uint32_t) * k);
        w->tk_val = malloc(sizeof(float) * k);
        if (!w->tk_idx || !w->tk_val) return sal_fail(err, SAL_ENOMEM, "out of memory for top-k");
        if ((st = sal_topk_ef_create(n, &w->ef, err))) return st;
    }
    return resume ? resume_from(w, resume, metrics, start, step, err)
                  : make_mask(w, &w->setup_sent, err);
}

/* avg = the ranks' mean model (for evaluation and the consensus distance), and with own_state
 * avg_s = the mean state, so that the average model is evaluated and checkpointed with the
 * statistics of the same ranks. A measurement: not counted in bytes. The caller brackets it for
 * the watchdog. */
static void average_model(worker *w) {
    const size_t n = w->p->n;
    MPI_Allreduce(w->p->w, w->avg, (int)n, MPI_FLOAT, MPI_SUM, w->comm);
    const float inv = 1.0f / (float)w->size;
    for (size_t i = 0; i < n; i++) w->avg[i] *= inv;
    if (!own_state(w)) return;
    /* divided by P, as localsgd's sync divides (comm_model) */
    MPI_Allreduce(w->p->s, w->avg_s, (int)w->p->ns, MPI_FLOAT, MPI_SUM, w->comm);
    for (size_t i = 0; i < w->p->ns; i++) w->avg_s[i] /= (float)w->size;
}

/* allreduce: non-trainable state (BatchNorm's running statistics) is averaged over the ranks
 * once a round, an allreduce of ns floats counted in bytes like everything MPI is handed: its
 * ranks share one model, and evaluation and checkpoints then see one state. localsgd and
 * dpsgd keep a state per rank and exchange it with their models (comm_model). */
static sal_status average_state(worker *w, sal_err *err) {
    sal_params *p = w->p;
    if (!p->ns || own_state(w)) return SAL_OK;
    sal_status st = sal_allreduce_dense(w->coll, p->s, p->s, p->ns, err);
    const float inv = 1.0f / (float)w->size;
    for (size_t i = 0; !st && i < p->ns; i++) p->s[i] *= inv;
    return st;
}

/* x (n) = its sum over the ranks, by [comm] allreduce: MPI's, or our ring (the same bits on
 * every rank either way; the two differ from each other in rounding only). */
static sal_status dense_sum(worker *w, float *x, sal_err *err) {
    return w->cfg->dense_impl == SAL_DENSE_RING
               ? sal_allreduce_ring(w->coll, x, x, w->p->n, err)
               : sal_allreduce_dense(w->coll, x, x, w->p->n, err);
}

/* Communication of one step, after the local gradient is in p->g. */
static sal_status comm_step(worker *w, sal_err *err) {
    const sal_config *cfg = w->cfg;
    sal_params *p = w->p;
    const size_t n = p->n;
    const float inv = 1.0f / (float)w->size;
    sal_status st = SAL_OK;
    double t0 = MPI_Wtime();
    if (cfg->algorithm == SAL_ALGO_ALLREDUCE) {
        sal_wd_enter("the gradient allreduce", SAL_WD_ALL);
        if (cfg->compress == SAL_COMPRESS_TOPK) {
            size_t k = (size_t)llround(cfg->topk_density * (double)n);
            k = k < 1 ? 1 : k;
            sal_sparse_result res;
            /* A rank whose residual went non-finite fails the step on every rank, at once. */
            st = sal_topk_allreduce(w->coll, SAL_AR_AUTO, w->ef, p->g, k, w->tk_idx, w->tk_val,
                                    &res, err);
            if (!st) sal_sparse_result_to_dense(&res, p->g);
        } else if (cfg->compress == SAL_COMPRESS_MASK) {
            st = sal_allreduce_masked_idx(w->coll, p->g, p->g, w->mask_idx, w->nnz, err);
        } else {
            st = dense_sum(w, p->g, err);
        }
        sal_wd_leave();
        if (!st)
            for (size_t i = 0; i < n; i++) p->g[i] *= inv;
        w->comm_s += MPI_Wtime() - t0;
    }
    return st; /* the caller steps with the averaged gradient */
}

/* Model exchange after the local step: localsgd's periodic average, dpsgd's gossip. */
static sal_status comm_model(worker *w, long step, sal_err *err) {
    const sal_config *cfg = w->cfg;
    sal_params *p = w->p;
    const size_t n = p->n;
    sal_status st = SAL_OK;
    double t0 = MPI_Wtime();
    if (cfg->algorithm == SAL_ALGO_LOCALSGD && (step + 1) % cfg->sync_every == 0) {
        const float inv = 1.0f / (float)w->size;
        sal_wd_enter("the model average", SAL_WD_ALL);
        if (w->mask_idx)
            st = sal_allreduce_masked_idx(w->coll, p->w, p->w, w->mask_idx, w->nnz, err);
        else
            st = dense_sum(w, p->w, err);
        for (size_t i = 0; !st && i < n; i++) p->w[i] *= inv;
        /* The state is averaged with the models it belongs to, in an allreduce of its own
         * (counted in the collectives' bytes). Divided by P rather than multiplied by 1/P: the
         * batch counter, the same integer c on every rank (every rank takes the same steps,
         * round_run), sums to P c exactly, and the division gives c back exactly. */
        if (!st && p->ns) st = sal_allreduce_dense(w->coll, p->s, p->s, p->ns, err);
        for (size_t i = 0; !st && i < p->ns; i++) p->s[i] /= (float)w->size;
        sal_wd_leave();
    } else if (cfg->algorithm == SAL_ALGO_DPSGD) {
        sal_comm_stats last, last_s = {0};
        sal_wd_enter("a gossip step with the graph's neighbours", SAL_WD_ALL);
        st = w->mask_idx ? sal_gossip_step_masked(w->gossip, p->w, p->mask, n, step, &last, err)
                         : sal_gossip_step(w->gossip, p->w, n, step, &last, err);
        /* The state mixes with the same W and the same step's peer as the weights, in a second
         * neighbour exchange of ns floats beside the first (always dense: the mask covers
         * weights only). The batch counter mixes too: it holds the same integer c on every
         * rank (every rank takes the same steps, round_run), and a row of W sums to 1, so
         * sum_j W_ij c, summed in double and rounded to float, is c again, exactly. */
        if (!st && p->ns) st = sal_gossip_step(w->gossip, p->s, p->ns, step, &last_s, err);
        sal_wd_leave();
        if (!st) w->gossip_sent += last.bytes_sent + last_s.bytes_sent;
    }
    w->comm_s += MPI_Wtime() - t0;
    return st;
}

/* One round: ceil(max_r n_r / batch) steps on every rank (the same count, so collectives
 * match); a rank whose data runs out starts a new pass in a new order from the same stream. */
static sal_status round_run(worker *w, int round, long *step, double *loss_out, long *samples,
                            sal_err *err) {
    const sal_config *cfg = w->cfg;
    const int B = cfg->batch;
    int steps = (w->nids + B - 1) / B;
    sal_wd_enter("the step-count allreduce", SAL_WD_ALL);
    MPI_Allreduce(MPI_IN_PLACE, &steps, 1, MPI_INT, MPI_MAX, w->comm);
    sal_wd_leave();
    sal_rng r;
    sal_rng_seed(&r, cfg->seed, SAL_STREAM_SHUFFLE,
                 (uint64_t)round * (uint64_t)w->size + (uint64_t)w->rank);
    int pos = w->nids; /* forces a shuffle first */
    double loss_sum = 0;
    long seen = 0;
    w->lr = sal_lr_at(cfg->lr_schedule, cfg->lr, round, cfg->rounds, cfg->lr_step, cfg->lr_gamma) *
            pow(cfg->lr_decay, round);
    w->opt.lr = (float)w->lr;
    for (int s = 0; s < steps; s++, (*step)++) {
        double t0 = MPI_Wtime();
        for (int i = 0; i < B; i++) {
            if (pos == w->nids) {
                memcpy(w->order, w->ids, sizeof(int) * (size_t)w->nids);
                sal_rng_shuffle_int(&r, w->order, w->nids);
                pos = 0;
            }
            w->idx[i] = w->order[pos++];
        }
        sal_augment aug = {sal_augment_resolve(cfg->augment, cfg->dataset), cfg->seed,
                           (uint64_t)round, (uint64_t)w->rank, (uint64_t)s * B};
        sal_dataset_batch_aug(&w->train, w->idx, B, &aug, w->x, w->y);
        double loss = sal_model_forward(w->model, w->x, w->y, B, NULL);
        sal_model_backward(w->model);
        w->compute_s += MPI_Wtime() - t0;
        sal_status st = comm_step(w, err);
        if (st) return st;
        t0 = MPI_Wtime();
        if (cfg->clip > 0) sal_clip_grad_norm(w->p, cfg->clip);
        sal_sgd_step(&w->opt, w->p);
        w->compute_s += MPI_Wtime() - t0;
        if ((st = comm_model(w, *step, err))) return st;
        loss_sum += isfinite(loss) ? loss * B : INFINITY;
        seen += B;
    }
    *loss_out = loss_sum / (double)(seen ? seen : 1);
    *samples = seen;
    return SAL_OK;
}

static void worker_free(worker *w) {
    sal_dataset_free(&w->train);
    sal_dataset_free(&w->test);
    sal_partition_free(&w->part);
    sal_client_tests_free(&w->tests);
    free(w->hit);
    sal_model_free(w->model);
    sal_sgd_free(&w->opt);
    free(w->ids), free(w->order), free(w->x), free(w->y), free(w->idx), free(w->avg);
    free(w->save), free(w->avg_s), free(w->save_s), free(w->mask_idx), free(w->tk_idx);
    free(w->tk_val);
    sal_topk_ef_free(w->ef);
    sal_gossip_free(w->gossip);
    sal_graph_free(&w->graph);
    sal_coll_free(w->coll);
    if (w->comm != MPI_COMM_NULL) MPI_Comm_free(&w->comm);
}

/* Evaluates this rank's own model with its own state (its accuracy into *local) and the ranks'
 * average model with the ranks' average state (test_acc, test_loss into row). Every rank
 * evaluates the average, although rank 0's figures alone are kept: the ranks would otherwise
 * wait in the next exchange while rank 0 computes, and the watchdog, which counts only time in
 * exchanges, would take a long evaluation for a missing rank. Pure compute: no exchange here
 * (the caller reduces *local). */
static void evaluate(worker *w, sal_round *row, double *local, double client[3]) {
    const sal_config *cfg = w->cfg;
    const size_t n = w->p->n;
    *local = sal_evaluate_hits(w->model, &w->test, cfg->batch, w->x, w->y, w->idx, NULL, w->hit);
    int count = 0;
    client[2] = HUGE_VAL; /* the minimum over no client */
    sal_client_acc(&w->tests, w->hit, w->lo, w->hi, &client[0], &client[2], &count);
    client[1] = count;
    /* the average model with the average state (own_state; otherwise p->s is shared) */
    const size_t ns = own_state(w) ? w->p->ns : 0;
    memcpy(w->save, w->p->w, sizeof(float) * n);
    memcpy(w->p->w, w->avg, sizeof(float) * n);
    if (ns) memcpy(w->save_s, w->p->s, sizeof(float) * ns);
    if (ns) memcpy(w->p->s, w->avg_s, sizeof(float) * ns);
    row->test_acc =
        sal_evaluate(w->model, &w->test, cfg->batch, w->x, w->y, w->idx, &row->test_loss);
    memcpy(w->p->w, w->save, sizeof(float) * n);
    if (ns) memcpy(w->p->s, w->save_s, sizeof(float) * ns);
    row->evaluated = 1;
}

sal_status sal_train_decentral(const sal_config *cfg, const char *out_dir, FILE *progress,
                               const char *resume, sal_err *err) {
    worker w;
    memset(&w, 0, sizeof w);
    w.cfg = cfg;
    w.comm = MPI_COMM_NULL;
    MPI_Comm_dup(MPI_COMM_WORLD, &w.comm);
    MPI_Comm_rank(w.comm, &w.rank);
    MPI_Comm_size(w.comm, &w.size);
    openblas_set_num_threads(1); /* [run] threads go to the model's OpenMP kernels */
    double t_start = sal_now();
    FILE *pr = w.rank == 0 ? progress : NULL;
    sal_metrics metrics;
    memset(&metrics, 0, sizeof metrics);
    sal_ranks_csv ranks;
    sal_ranks_open(&ranks, out_dir, err); /* cannot fail where metrics.csv's path fits */
    sal_rank_row *rank_rows = w.rank == 0 ? malloc(sizeof(sal_rank_row) * (size_t)w.size) : NULL;
    long step = 0;
    int start = 0;
    sal_status st = sal_metrics_open(&metrics, out_dir, err);
    if (!st && w.rank == 0 && !rank_rows) st = sal_fail(err, SAL_ENOMEM, "out of memory");
    st = sal_mpi_agree(w.comm, st ? st : setup(&w, err), err);
    if (!st) st = sal_mpi_agree(w.comm, setup_comm(&w, resume, &metrics, &start, &step, err), err);
    if (!st)
        st = sal_mpi_agree(w.comm, w.rank == 0 ? sal_run_write_config(cfg, out_dir, err) : SAL_OK,
                           err);
    const char *algo = sal_config_enum_name("train", "algorithm", cfg->algorithm);
    if (!st && pr)
        fprintf(pr, "salient: %s %s on %s: %d ranks, %d clients, %zu of %zu parameters sent\n",
                algo, sal_config_enum_name("model", "arch", cfg->arch),
                sal_config_enum_name("data", "dataset", cfg->dataset), w.size, cfg->clients, w.nnz,
                w.p->n);
    if (!st && pr) sal_model_progress(pr, w.model);
    if (!st && pr && resume) fprintf(pr, "salient: resumed from %s at round %d\n", resume, start);
    if (resume) sal_ranks_resume(&ranks, start);
    /* from here on, every rank must run the same exchanges ([run] check_collectives) */
    sal_wd_check_collectives(cfg->check_collectives == SAL_FLAG_TRUE);
    for (int round = start; !st && round < cfg->rounds; round++) {
        sal_fault_round(round + 1, w.rank);
        sal_wd_round(round + 1);
        double t0 = MPI_Wtime();
        w.comm_s = w.compute_s = 0;
        w.gossip_sent = 0;
        const sal_comm_stats before = *sal_coll_total(w.coll);
        double loss = 0;
        long samples = 0;
        st = sal_mpi_agree(w.comm, round_run(&w, round, &step, &loss, &samples, err), err);
        if (!st) st = sal_mpi_agree(w.comm, average_state(&w, err), err);
        if (st) break;
        sal_round row = {.round = round + 1,
                         .decentral = 1,
                         .lr = w.lr,
                         .density = (double)w.nnz / (double)w.p->n};
        /* bytes: everything this round's steps handed to MPI, summed over ranks */
        double sent = (double)(sal_coll_total(w.coll)->bytes_sent - before.bytes_sent);
        sent += (double)w.gossip_sent + (double)w.setup_sent;
        w.setup_sent = 0; /* round 1 carries the mask's exchange */
        double mine[4] = {sent, loss, w.compute_s, w.comm_s}, tot[2];
        double mx[2], mnc;
        /* ranks.csv: this rank's own numbers (comm_s here: all its time in exchanges) */
        sal_rank_row me = {.round = round + 1,
                           .compute_s = w.compute_s,
                           .comm_s = w.comm_s,
                           .bytes = (uint64_t)llround(mine[0])};
        /* the round's bookkeeping: reductions and the average model; only the exchanges are
         * bracketed, so that the evaluation's compute never counts against comm_timeout */
        sal_wd_enter("the round's metrics reductions", SAL_WD_ALL);
        MPI_Reduce(mine, tot, 2, MPI_DOUBLE, MPI_SUM, 0, w.comm);
        MPI_Reduce(mine + 2, mx, 2, MPI_DOUBLE, MPI_MAX, 0, w.comm);
        MPI_Reduce(mine + 3, &mnc, 1, MPI_DOUBLE, MPI_MIN, 0, w.comm);
        sal_cc_gather_ranks(w.comm, &me, rank_rows);
        /* consensus distance 1/P sum_i ||x_i - x_bar||^2 (measurement: not counted in bytes) */
        average_model(&w);
        sal_wd_leave();
        double d2 = 0, d2sum = 0;
        for (size_t i = 0; i < w.p->n; i++) {
            double d = (double)w.p->w[i] - w.avg[i];
            d2 += d * d;
        }
        /* own model's accuracy; its clients' accuracy sum, count and minimum */
        double local = 0, client[3] = {0, 0, HUGE_VAL}, part[4], sums[4] = {0}, mins[2] = {0};
        const int eval = (round + 1) % cfg->eval_every == 0 || round + 1 == cfg->rounds;
        if (eval) evaluate(&w, &row, &local, client);
        part[0] = d2, part[1] = local, part[2] = client[0], part[3] = client[1];
        double mine_min[2] = {local, client[2]};
        sal_wd_enter("the consensus and accuracy reductions", SAL_WD_ALL);
        MPI_Reduce(part, sums, 4, MPI_DOUBLE, MPI_SUM, 0, w.comm);
        if (eval) MPI_Reduce(mine_min, mins, 2, MPI_DOUBLE, MPI_MIN, 0, w.comm);
        sal_wd_leave();
        d2sum = sums[0];
        if (eval && w.rank == 0) {
            row.local_acc_mean = sums[1] / w.size;
            row.local_acc_min = mins[0];
            row.clients_evaluated = sums[3] > 0;
            row.client_acc_mean = sums[3] > 0 ? sums[2] / sums[3] : 0;
            row.client_acc_min = sums[3] > 0 ? mins[1] : 0;
        }
        st = sal_cc_check(w.comm, cfg->check_collectives == SAL_FLAG_TRUE, round + 1, 0, NULL,
                          err);
        if (!st && w.rank == 0) {
            row.consensus = d2sum / w.size;
            row.bytes_up = (uint64_t)llround(tot[0]);
            row.train_loss = tot[1] / w.size;
            row.wall_s = MPI_Wtime() - t0;
            /* collectives make early ranks wait for the last: the least time any rank spent in
             * communication is the communication itself, the rest of the round is waiting */
            row.compute_s = mx[0];
            row.comm_s = mnc;
            double rest = row.wall_s - row.compute_s - row.comm_s;
            row.wait_s = rest > 0 ? rest : 0;
            row.samples_per_s = (double)samples * w.size / row.wall_s;
            if (!isfinite(row.train_loss) || (row.evaluated && !isfinite(row.test_loss)))
                st = sal_fail(err, SAL_ENUMERIC,
                              "round %d: the loss is not finite (diverged); lower [train] lr "
                              "(now %g) or set [train] clip",
                              round + 1, row.lr);
            if (!st) st = sal_metrics_append(&metrics, &row, err);
            /* Per rank, the row's split: the transfer itself is the least time any rank spent
             * in exchanges (the row's comm_s); the rest of a rank's exchange time it waited
             * for slower ranks. A straggler computes long and waits little; the others wait. */
            for (int r = 0; r < w.size; r++) {
                double waited = rank_rows[r].comm_s - mnc;
                rank_rows[r].comm_s = mnc;
                rank_rows[r].wait_s = waited > 0 ? waited : 0;
            }
            if (!st) st = sal_ranks_append(&ranks, rank_rows, w.size, err);
            if (!st) {
                double per_round = (sal_now() - t_start) / (round + 1 - start);
                sal_round_progress(pr, &row, cfg->rounds, per_round * (cfg->rounds - round - 1));
            }
        }
        st = sal_mpi_agree(w.comm, st, err);
        /* Any rank's signal stops all of them after the same round. */
        int sig = sal_signal_pending();
        sal_wd_enter("the signal check", SAL_WD_ALL);
        if (!st) MPI_Allreduce(MPI_IN_PLACE, &sig, 1, MPI_INT, MPI_MAX, w.comm);
        sal_wd_leave();
        if (!st && sal_ckpt_due(cfg, round + 1, sig)) {
            /* sal_ckpt_save brackets its own waits, not its local read-back */
            st = checkpoint(&w, out_dir, round + 1, step, &metrics, pr, err);
            st = sal_mpi_agree(w.comm, st, err);
        }
        if (!st && sig && round + 1 < cfg->rounds) {
            if (pr)
                fprintf(pr, "salient: %s: stopped after round %d of %d\n", sal_signal_name(sig),
                        round + 1, cfg->rounds);
            sal_signal_set_stopped();
            goto done; /* no summary.json: the run is not over */
        }
    }
    if (!st && w.rank == 0) {
        char ident[1024];
        if (sal_run_identity(ident, sizeof ident, cfg, algo, w.size, w.p->n, w.nnz) < 0)
            st = sal_fail(err, SAL_EINVAL, "summary.json: the run's identity exceeds %zu bytes",
                          sizeof ident);
        if (!st) st = sal_metrics_write_summary(&metrics, out_dir, ident, sal_now() - t_start, err);
    }
    st = sal_mpi_agree(w.comm, st, err);
done:
    sal_wd_check_collectives(0);
    sal_metrics_free(&metrics);
    sal_ranks_close(&ranks);
    free(rank_rows);
    worker_free(&w);
    return st;
}
