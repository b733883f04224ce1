/* fedavg.c - [train] algorithm = fedavg: FedAvg (McMahan et al. 2017) over MPI, and with a
 * saliency mask SSFL (Salient Sparse Federated Learning, arXiv 2405.09037). This file sets up
 * what every rank shares (data, partition, model), the placement of clients on ranks and the
 * local training of one client; fedavg_mask.c is round 0, fedavg_server.c and fedavg_client.c
 * the two roles. */
#include "fedavg.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algos.h"
#include "salient/pack.h"
#include "salient/rng.h"
#include "salient/watchdog.h"

int sal_fed_sample(const sal_config *cfg, int round, int *out) {
    const int C = cfg->clients;
    int m = (int)lround(cfg->sample_fraction * C);
    m = m < 1 ? 1 : m > C ? C : m;
    /* Partial Fisher-Yates on 0..C-1 from stream (seed, SAMPLE, round): the first m entries
     * are a uniform sample without replacement. The scratch is the caller's array (C ints). */
    for (int i = 0; i < C; i++) out[i] = i;
    sal_rng r;
    sal_rng_seed(&r, cfg->seed, SAL_STREAM_SAMPLE, (uint64_t)round);
    for (int i = 0; i < m; i++) {
        int j = i + (int)sal_rng_below(&r, (uint64_t)(C - i));
        int t = out[i];
        out[i] = out[j], out[j] = t;
    }
    /* Ascending: the server sums uploads in client-id order, whatever the placement. */
    for (int i = 1; i < m; i++)
        for (int k = i; k > 0 && out[k - 1] > out[k]; k--) {
            int t = out[k];
            out[k] = out[k - 1], out[k - 1] = t;
        }
    return m;
}

int sal_fed_home(int c, int clients, int W) {
    /* the largest i with floor(i C / W) <= c, i.e. i C < (c + 1) W */
    return 1 + (int)(((long long)(c + 1) * W - 1) / clients);
}

int sal_fed_trainer(const sal_config *cfg, int W, int j, int c) {
    return cfg->placement == SAL_PLACE_BLOCK ? sal_fed_home(c, cfg->clients, W) : 1 + j % W;
}

int sal_fed_most_trained(const sal_config *cfg, int W, int r, int m) {
    if (cfg->placement != SAL_PLACE_BLOCK) /* the j < m with j mod W = r - 1 */
        return r - 1 < m ? (m - r) / W + 1 : 0;
    const int C = cfg->clients, hosted = (int)((long long)r * C / W - (long long)(r - 1) * C / W);
    return hosted < m ? hosted : m;
}

int sal_fed_evaluated(const sal_config *cfg, int round) {
    return (round + 1) % cfg->eval_every == 0 || round + 1 == cfg->rounds;
}

int sal_fed_eval_bcast(fed *f, int *stop_code) {
    if (f->rank) { /* the server first waits for every sampled upload: wait as for its next
                    * message */
        MPI_Status ms;
        sal_wd_enter_ex("the evaluated model from the server", 0,
                        SAL_WD_UPSTREAM | SAL_WD_UNHASHED);
        /* a server that stopped (an error, a divergence found in its evaluation) sends its stop
         * instead: take whichever comes, never wait for a model that will not come */
        MPI_Probe(0, MPI_ANY_TAG, f->comm, &ms);
        if (ms.MPI_TAG == FED_TAG_STOP)
            MPI_Recv(stop_code, 1, MPI_INT, 0, FED_TAG_STOP, f->comm, MPI_STATUS_IGNORE);
        else
            MPI_Recv(f->packed, (int)f->msg, MPI_FLOAT, 0, FED_TAG_EVAL, f->comm,
                     MPI_STATUS_IGNORE);
        sal_wd_leave();
        return ms.MPI_TAG != FED_TAG_STOP;
    }
    for (int r = 1; r < f->size; r++) {
        sal_wd_enter_ex("sending the evaluated model to a client rank", r, SAL_WD_UNHASHED);
        MPI_Send(f->packed, (int)f->msg, MPI_FLOAT, r, FED_TAG_EVAL, f->comm);
        sal_wd_leave();
    }
    return 1;
}

double sal_fed_lr(const fed *f, int round) { return sal_sched_run_lr(&f->sched, f->cfg, round); }

void sal_fed_local_train(fed *f, int c, int round, fed_stats *st) {
    const sal_config *cfg = f->cfg;
    const int *ids = f->part.index + f->part.offset[c];
    const int n = f->part.offset[c + 1] - f->part.offset[c], B = cfg->batch;
    double t0 = sal_now(), loss_sum = 0.0;
    sal_sgd_reset(&f->opt); /* each client starts a fresh optimizer from the global model */
    f->opt.lr = (float)sal_fed_lr(f, round);
    for (int e = 0; e < cfg->local_epochs; e++) {
        /* Stream id ((round * clients + c) * epochs + e): with one client and one epoch it is
         * the round, as in centralized training, so FedAvg of one client equals plain SGD. */
        sal_rng r;
        uint64_t id = ((uint64_t)round * (uint64_t)cfg->clients + (uint64_t)c) *
                          (uint64_t)cfg->local_epochs + (uint64_t)e;
        sal_rng_seed(&r, cfg->seed, SAL_STREAM_SHUFFLE, id);
        memcpy(f->order, ids, sizeof(int) * (size_t)n);
        sal_rng_shuffle_int(&r, f->order, n);
        for (int s = 0; s < n; s += B) {
            int b = n - s < B ? n - s : B;
            sal_augment aug = {sal_augment_resolve(cfg->augment, cfg->dataset), cfg->seed,
                               (uint64_t)round, (uint64_t)c, (uint64_t)e * n + s};
            sal_dataset_batch_aug(&f->train, f->order + s, b, &aug, f->x, f->y);
            double loss = sal_model_forward(f->model, f->x, f->y, b, NULL);
            if (!isfinite(loss)) {
                loss_sum = NAN;
                goto done;
            }
            sal_model_backward(f->model);
            if (cfg->clip > 0) sal_clip_grad_norm(f->p, cfg->clip);
            sal_sgd_step(&f->opt, f->p);
            loss_sum += loss * b;
        }
    }
done:
    st->loss_sum = loss_sum;
    st->samples = (double)n * cfg->local_epochs;
    st->compute_s = sal_now() - t0;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Everything but the mask, on every rank. Returns this rank's status (not yet agreed). */
static sal_status setup(fed *f, sal_err *err) {
    const sal_config *cfg = f->cfg;
    const int C = cfg->clients; /* 1 <= f->size - 1 <= C: sal_train_check_ranks */
    sal_status st = sal_load_data(cfg, &f->train, &f->test, err);
    if (st) return st;
    sal_partition_opts po = {.kind = cfg->partition, .clients = C, .alpha = cfg->alpha,
                             .shards_per_client = cfg->shards_per_client, .seed = cfg->seed};
    if ((st = sal_partition_make(&f->part, f->train.y, f->train.n, f->train.classes, &po, err)))
        return st;
    int largest = 0;
    for (int c = 0; c < C; c++) {
        int *ids = f->part.index + f->part.offset[c], n = f->part.offset[c + 1] - f->part.offset[c];
        /* A client's data is a set: holding it sorted makes training independent of the order
         * the partitioner happened to emit. */
        qsort(ids, (size_t)n, sizeof(int), cmp_int);
        largest = n > largest ? n : largest;
    }
    const sal_dataset *tr = &f->train;
    f->model = sal_model_from_config(cfg, tr, err);
    if (!f->model) return SAL_ECONFIG;
    sal_model_init(f->model, cfg->seed); /* every rank draws the same initial weights */
    f->p = sal_model_params(f->model);
    if ((st = sal_sched_run_open(&f->sched, cfg, f->p, f->rank == 0, err))) return st;
    f->sampled = malloc(sizeof(int) * (size_t)C);
    f->x = malloc(sizeof(float) * (size_t)cfg->batch * tr->c * tr->h * tr->w);
    f->y = malloc(sizeof(int) * (size_t)cfg->batch);
    f->idx = malloc(sizeof(int) * (size_t)cfg->batch);
    f->order = malloc(sizeof(int) * (size_t)(largest > 0 ? largest : 1));
    f->packed = malloc(sizeof(float) * (f->p->n + f->p->ns));
    if (!f->sampled || !f->x || !f->y || !f->idx || !f->order || !f->packed ||
        sal_sgd_init(&f->opt, f->p->n, (float)cfg->lr, (float)cfg->momentum,
                     (float)cfg->weight_decay))
        return sal_fail(err, SAL_ENOMEM, "out of memory setting up %d clients", C);
    /* The server scores the global model on every client's own test split (the authors'
     * per-client evaluation) from the one pass over the test set it makes anyway. */
    if (f->rank == 0) {
        if ((st = sal_client_tests_make(&f->tests, &f->part, f->train.y, f->test.y, f->test.n,
                                        f->train.classes, err)))
            return st;
        if (!(f->hit = malloc((size_t)(f->test.n > 0 ? f->test.n : 1))))
            return sal_fail(err, SAL_ENOMEM, "out of memory for the test set's %d hits", f->test.n);
    }
    return SAL_OK;
}

void sal_fed_close(fed *f) {
    sal_dataset_free(&f->train);
    sal_dataset_free(&f->test);
    sal_partition_free(&f->part);
    sal_client_tests_free(&f->tests);
    free(f->hit);
    sal_model_free(f->model);
    sal_sgd_free(&f->opt);
    sal_sched_run_close(&f->sched);
    free(f->sampled);
    free(f->x);
    free(f->y);
    free(f->idx);
    free(f->order);
    free(f->packed);
    if (f->comm != MPI_COMM_NULL) MPI_Comm_free(&f->comm);
}

sal_status sal_fed_open(fed *f, const sal_config *cfg, FILE *progress, sal_err *err) {
    memset(f, 0, sizeof *f);
    f->cfg = cfg;
    f->t_start = sal_now();
    f->comm = MPI_COMM_NULL;
    MPI_Comm_dup(MPI_COMM_WORLD, &f->comm);
    MPI_Comm_rank(f->comm, &f->rank);
    MPI_Comm_size(f->comm, &f->size);
    f->progress = f->rank == 0 ? progress : NULL;
    openblas_set_num_threads(1); /* [run] threads go to the model's OpenMP kernels */
    return sal_mpi_agree(f->comm, setup(f, err), err);
}

sal_status sal_train_fedavg(const sal_config *cfg, const char *out_dir, FILE *progress,
                            const char *resume, sal_err *err) {
    fed f;
    sal_status st = sal_fed_open(&f, cfg, progress, err);
    if (!st)
        st = f.rank == 0 ? sal_fed_server(&f, out_dir, resume, err)
                         : sal_fed_client(&f, resume, err);
    sal_fed_close(&f);
    return st;
}

void sal_fed_pack_into(const fed *f, float *dst) {
    sal_pack_masked(f->p->w, f->p->mask, f->p->n, dst);
    if (f->p->ns) memcpy(dst + f->nnz, f->p->s, sizeof(float) * f->p->ns);
}

void sal_fed_pack(fed *f) { sal_fed_pack_into(f, f->packed); }

void sal_fed_unpack(fed *f) {
    sal_unpack_masked(f->packed, f->p->mask, f->p->n, f->p->w);
    if (f->p->ns) memcpy(f->p->s, f->packed + f->nnz, sizeof(float) * f->p->ns);
}
