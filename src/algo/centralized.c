/* centralized.c - [train] algorithm = centralized: minibatch SGD over the whole training set on
 * one rank, the single-site baseline every distributed algorithm is compared with. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algos.h"
#include "salient/fault.h"
#include "salient/fmt.h"
#include "salient/metrics.h"
#include "salient/optim.h"
#include "salient/rng.h"
#include "salient/signals.h"

typedef struct run {
    sal_dataset train, test;
    sal_model *model;
    sal_sgd opt;
    float *x;   /* (batch, c, h, w) */
    int *y;     /* (batch) */
    int *idx;   /* (batch) for evaluation */
    int *order; /* (train.n) epoch permutation */
    sal_metrics metrics;
    sal_sched_run sched; /* [sparsity] schedule: cycles, prunes, IMP's rewind weights */
} run;

static void run_free(run *r) {
    sal_dataset_free(&r->train);
    sal_dataset_free(&r->test);
    sal_model_free(r->model);
    sal_sgd_free(&r->opt);
    free(r->x);
    free(r->y);
    free(r->idx);
    free(r->order);
    sal_metrics_free(&r->metrics);
    sal_sched_run_close(&r->sched);
}

/* One epoch in the order drawn from stream (seed, SHUFFLE, round): the order depends only on the
 * seed and the round, so a resumed run draws the same batches. Returns the mean training loss,
 * or NAN after the first non-finite loss (the caller reports it). */
static double train_epoch(run *r, const sal_config *cfg, int round, long *samples) {
    const int n = r->train.n, B = cfg->batch;
    sal_params *p = sal_model_params(r->model);
    sal_rng rng;
    sal_rng_seed(&rng, cfg->seed, SAL_STREAM_SHUFFLE, (uint64_t)round);
    for (int i = 0; i < n; i++) r->order[i] = i;
    sal_rng_shuffle_int(&rng, r->order, n);
    double loss_sum = 0.0;
    for (int s = 0; s < n; s += B) {
        int b = n - s < B ? n - s : B; /* keep the last partial batch, as torch's DataLoader */
        sal_augment aug = {sal_augment_resolve(cfg->augment, cfg->dataset), cfg->seed,
                           (uint64_t)round, 0, (uint64_t)s};
        sal_dataset_batch_aug(&r->train, r->order + s, b, &aug, r->x, r->y);
        double loss = sal_model_forward(r->model, r->x, r->y, b, NULL);
        if (!isfinite(loss)) return NAN;
        sal_model_backward(r->model);
        if (cfg->clip > 0) sal_clip_grad_norm(p, cfg->clip);
        sal_sgd_step(&r->opt, p);
        loss_sum += loss * b;
        *samples += b;
    }
    return loss_sum / n;
}

/* Continue from a checkpoint: model, momentum, the schedule's state and the metrics so far.
 * Returns the round. */
static sal_status resume_from(run *r, const sal_config *cfg, const char *path, int *start,
                              sal_err *err) {
    sal_ckpt_info info;
    sal_status st = sal_resume_check(cfg, path, 1, 1, sal_data_fingerprint(&r->train, &r->test),
                                     0, &info, err);
    if (!st && !!r->opt.buf != info.has_momentum)
        st = sal_fail(err, SAL_ECONFIG, "checkpoint '%s' %s momentum buffers; [train] momentum "
                      "differs from the run that wrote it", path, info.has_momentum ? "has" : "lacks");
    if (!st) {
        int64_t sched[3];
        const int scheduled = cfg->schedule != SAL_SCHED_FIXED;
        sal_ckpt_dst d = {.p = sal_model_params(r->model), .model = 1, .momentum = r->opt.buf,
                          .metrics = &r->metrics, .sched = scheduled ? sched : NULL,
                          .rewind = r->sched.rewind,
                          .sealed = 1}; /* sal_resume_check checked the seal */
        st = sal_ckpt_load(path, &d, err);
        if (!st && scheduled)
            st = sal_sched_run_check(&r->sched, d.p, info.round, sched, path, err);
    }
    *start = info.round;
    sal_ckpt_info_free(&info);
    return st;
}

static sal_status checkpoint(run *r, const sal_config *cfg, const char *out_dir, int done,
                             FILE *progress, sal_err *err) {
    int64_t sched[3];
    char *text = sal_config_text(cfg), dir[SAL_PATH_MAX + 8], path[SAL_PATH_MAX + 32];
    if (!text) return sal_fail(err, SAL_ENOMEM, "checkpoint: out of memory");
    snprintf(dir, sizeof dir, "%s/ckpt", out_dir);
    sal_params *p = sal_model_params(r->model);
    sal_ckpt_state s = {.round = done, .step = 0, .algorithm = "centralized",
                        .arch = sal_config_enum_name("model", "arch", cfg->arch),
                        .seed = cfg->seed, .config_text = text, .p = p, .model = p->w,
                        .data_fp = sal_data_fingerprint(&r->train, &r->test),
                        .state = p->s,
                        .momentum = r->opt.buf, .metrics = &r->metrics,
                        .sched = cfg->schedule != SAL_SCHED_FIXED ? sched : NULL,
                        .rewind = r->sched.rewind};
    sal_sched_run_state(&r->sched, p, done, sched);
    sal_status st = sal_ckpt_save(MPI_COMM_SELF, dir, cfg->ckpt_keep, &s, path, sizeof path, err);
    free(text);
    if (!st && progress) fprintf(progress, "salient: checkpoint %s\n", path);
    return st;
}

sal_status sal_train_centralized(const sal_config *cfg, const char *out_dir, FILE *progress,
                                 const char *resume, sal_err *err) {
    run r;
    memset(&r, 0, sizeof r);
    sal_ranks_csv ranks;
    sal_ranks_open(&ranks, out_dir, err); /* cannot fail where metrics.csv's path fits */
    double t_start = sal_now();
    openblas_set_num_threads(1); /* [run] threads go to the model's OpenMP kernels */
    sal_status st = sal_load_data(cfg, &r.train, &r.test, err);
    if (st) goto out;
    const sal_dataset *tr = &r.train;
    if (!(r.model = sal_model_from_config(cfg, tr, err))) {
        st = SAL_ECONFIG;
        goto out;
    }
    sal_model_init(r.model, cfg->seed);
    sal_params *p = sal_model_params(r.model);
    size_t xn = (size_t)cfg->batch * tr->c * tr->h * tr->w;
    r.x = malloc(xn * sizeof(float));
    r.y = malloc((size_t)cfg->batch * sizeof(int));
    r.idx = malloc((size_t)cfg->batch * sizeof(int));
    r.order = malloc((size_t)tr->n * sizeof(int));
    if (!r.x || !r.y || !r.idx || !r.order ||
        sal_sgd_init(&r.opt, p->n, (float)cfg->lr, (float)cfg->momentum, (float)cfg->weight_decay)) {
        st = sal_fail(err, SAL_ENOMEM, "out of memory for batch %d", cfg->batch);
        goto out;
    }
    if ((st = sal_metrics_open(&r.metrics, out_dir, err))) goto out;
    if ((st = sal_sched_run_open(&r.sched, cfg, p, 1, err))) goto out;
    int start = 0;
    if (resume && (st = resume_from(&r, cfg, resume, &start, err))) goto out;
    if (resume) sal_ranks_resume(&ranks, start);
    sal_rank_row me = {.rank = 0};
    sal_rank_host(me.host);
    if ((st = sal_run_write_config(cfg, out_dir, err))) goto out;
    if (progress)
        fprintf(progress, "salient: centralized %s on %s: %d train / %d test samples, %zu parameters\n",
                sal_config_enum_name("model", "arch", cfg->arch),
                sal_config_enum_name("data", "dataset", cfg->dataset), tr->n, r.test.n, p->n);
    if (progress) sal_model_progress(progress, r.model);

    if (resume && progress)
        fprintf(progress, "salient: resumed from %s at round %d\n", resume, start);
    for (int round = start; round < cfg->rounds; round++) {
        sal_fault_round(round + 1, 0);
        double t0 = sal_now();
        double lr = sal_sched_run_lr(&r.sched, cfg, round); /* restarts with each cycle */
        r.opt.lr = (float)lr;
        long samples = 0;
        double train_loss = train_epoch(&r, cfg, round, &samples);
        if (isnan(train_loss)) {
            st = sal_fail(err, SAL_ENUMERIC,
                          "round %d: training loss is not finite (diverged); lower [train] lr "
                          "(now %g) or set [train] momentum lower", round + 1, lr);
            goto out;
        }
        double t_train = sal_now() - t0;
        sal_round row = {.round = round + 1, .train_loss = train_loss, .lr = lr,
                         .density = (double)sal_params_nnz(p) / (double)p->n};
        int last = round == cfg->rounds - 1;
        if ((round + 1) % cfg->eval_every == 0 || last) {
            row.evaluated = 1;
            row.test_acc = sal_evaluate(r.model, &r.test, cfg->batch, r.x, r.y, r.idx, &row.test_loss);
        }
        row.wall_s = row.compute_s = sal_now() - t0; /* one rank: all of it is computation */
        row.samples_per_s = samples / t_train;
        if ((st = sal_metrics_append(&r.metrics, &row, err))) goto out;
        me.round = round + 1, me.compute_s = row.compute_s; /* one rank: no comm, no wait */
        if ((st = sal_ranks_append(&ranks, &me, 1, err))) goto out;
        double per_round = (sal_now() - t_start) / (round + 1 - start);
        sal_round_progress(progress, &row, cfg->rounds, per_round * (cfg->rounds - round - 1));
        /* Between rounds, before the checkpoint (which then holds the new cycle's start): IMP's
         * rewind point, a prune at a cycle's end, and a fresh optimizer for the next cycle,
         * as every level of OpenLTH's IMP and LRR starts one (momentum of pruned weights is
         * zero with it). */
        int pruned = 0;
        if ((st = sal_sched_run_step(&r.sched, p, round + 1, &pruned, err))) goto out;
        sal_sched_run_progress(progress, &r.sched, round + 1, pruned, p);
        if (sal_sched_restart_after(&r.sched.s, round + 1)) sal_sgd_reset(&r.opt);
        int sig = sal_signal_pending();
        if (sal_ckpt_due(cfg, round + 1, sig) &&
            (st = checkpoint(&r, cfg, out_dir, round + 1, progress, err)))
            goto out;
        if (sig && round + 1 < cfg->rounds) {
            if (progress)
                fprintf(progress, "salient: %s: stopped after round %d of %d\n",
                        sal_signal_name(sig), round + 1, cfg->rounds);
            sal_signal_set_stopped();
            goto out; /* no summary.json: the run is not over */
        }
    }
    char ident[1024];
    if (sal_run_identity(ident, sizeof ident, cfg, "centralized", 1, p->n,
                         sal_params_nnz(p)) < 0)
        st = sal_fail(err, SAL_EINVAL, "summary.json: the run's identity exceeds %zu bytes",
                      sizeof ident);
    if (!st) st = sal_metrics_write_summary(&r.metrics, out_dir, ident, sal_now() - t_start, err);
out:
    sal_ranks_close(&ranks);
    run_free(&r);
    return st;
}
