/* fedavg_server.c - rank 0: samples clients, sends each sampled client the packed global
 * weights, averages the uploads weighted by sample count (McMahan et al. 2017, Algorithm 1),
 * evaluates and writes metrics. Uploads stream through two receive slots in client-id order and
 * fold into one double accumulator, so the server's memory is O(model) whatever the number of
 * clients per round, and the model's bits do not depend on how clients map to ranks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algos.h"
#include "collcheck.h"
#include "fedavg.h"
#include "fedavg_quant.h"
#include "fedavg_randk.h"
#include "salient/fault.h"
#include "salient/fmt.h"
#include "salient/pack.h"
#include "salient/quant.h"
#include "salient/signals.h"
#include "salient/watchdog.h"

typedef struct round_bufs {
    uint8_t *up;        /* (2, slot) receive slots: upload j lands in slot j % 2 */
    size_t slot;        /* bytes of a slot: msg floats, or quantized the largest encoding */
    float *dec;         /* (msg) quantized: the decoded update of the upload being folded */
    int levels;         /* quantized: this round's QSGD levels */
    fed_randk *rk;      /* [comm] compress = randk: the decoder's state, else NULL */
    fed_stats stats[2]; /* the stats record of the upload in each slot */
    MPI_Request *req;   /* (2m) the global model's sends (and adaquant's levels) to the clients */
    MPI_Request rreq[2][2]; /* per slot: the upload's and the stats' receives */
    double *acc;        /* (msg) */
    double *rank_compute, *rank_comm; /* (size) per client rank, this round */
    sal_rank_row *rows; /* (size) ranks.csv's rows of the round; hosts filled once */
    sal_wd_seq *expect; /* (size) check_collectives: the exchanges each client rank must run */
} round_bufs;

size_t sal_fed_server_agg_bytes(size_t msg) {
    return 2 * msg * sizeof(float) + msg * sizeof(double);
}

static void stop_all(fed *f, int code) {
    for (int r = 1; r < f->size; r++) MPI_Send(&code, 1, MPI_INT, r, FED_TAG_STOP, f->comm);
}

/* The global model on the test set, and on each client's own split of it (from the same pass). */
static void evaluate(fed *f, sal_round *row) {
    row->evaluated = 1;
    row->test_acc = sal_evaluate_hits(f->model, &f->test, f->cfg->batch, f->x, f->y, f->idx,
                                      &row->test_loss, f->hit);
    double sum = 0, min = 0;
    int count = 0;
    sal_client_acc(&f->tests, f->hit, 0, f->tests.clients, &sum, &min, &count);
    row->clients_evaluated = count > 0;
    row->client_acc_mean = count ? sum / count : 0;
    row->client_acc_min = min;
}

static void progress_line(fed *f, const sal_round *row) {
    int done_here = row->round - f->start_round + (f->start_round == 0); /* round 0 counts */
    double per_round = (sal_now() - f->t_start) / (done_here > 0 ? done_here : 1);
    sal_round_progress(f->progress, row, f->cfg->rounds, per_round * (f->cfg->rounds - row->round));
}

/* Post the receives of sampled client j's upload and stats into slot j % 2. */
static void post_upload(fed *f, round_bufs *b, int j) {
    const int r = sal_fed_trainer(f->cfg, f->size - 1, j, f->sampled[j]), slot = j & 1;
    if (b->rk) /* Rand-k: up to k + ns floats, the length read from the status and checked */
        MPI_Irecv(b->up + (size_t)slot * b->slot, (int)(b->slot / sizeof(float)), MPI_FLOAT, r,
                  FED_TAG_UPLOAD, f->comm, &b->rreq[slot][0]);
    else if (b->dec) /* quantized: up to a slot of bytes, the length read from the status */
        MPI_Irecv(b->up + (size_t)slot * b->slot, (int)b->slot, MPI_BYTE, r, FED_TAG_UPLOAD,
                  f->comm, &b->rreq[slot][0]);
    else
        MPI_Irecv(b->up + (size_t)slot * b->slot, (int)f->msg, MPI_FLOAT, r, FED_TAG_UPLOAD,
                  f->comm, &b->rreq[slot][0]);
    MPI_Irecv(&b->stats[slot], 4, MPI_DOUBLE, r, FED_TAG_STATS, f->comm, &b->rreq[slot][1]);
}

/* One round; fills row. Returns an error (after the round's messages all completed) if a
 * client's training diverged. */
static sal_status round_run(fed *f, int round, round_bufs *b, sal_round *row, sal_err *err) {
    const sal_config *cfg = f->cfg;
    const size_t nnz = f->msg; /* weights and state: both averaged, both counted in bytes */
    double t0 = sal_now();
    int m = sal_fed_sample(cfg, round, f->sampled), nreq = 0;
    const int adaquant = cfg->quantize == SAL_QUANT_ADAQUANT;
    const size_t down = nnz * sizeof(float) + (adaquant ? sizeof(int) : 0); /* per client */
    for (int j = 0; j < m; j++) {
        int r = sal_fed_trainer(cfg, f->size - 1, j, f->sampled[j]);
        if (adaquant) /* before the weights: the client encodes with these levels */
            MPI_Isend(&b->levels, 1, MPI_INT, r, FED_TAG_LEVELS, f->comm, &b->req[nreq++]);
        MPI_Isend(f->packed, (int)nnz, MPI_FLOAT, r, FED_TAG_WEIGHTS, f->comm, &b->req[nreq++]);
    }
    uint64_t bytes_up = 0;
    sal_status bad = SAL_OK; /* a quantized upload that does not decode: reported after the round */
    memset(b->acc, 0, sizeof(double) * nnz);
    if (b->rk) sal_fed_randk_begin(b->rk);
    memset(b->rank_compute, 0, sizeof(double) * f->size);
    memset(b->rank_comm, 0, sizeof(double) * f->size);
    for (int r = 0; r < f->size; r++) b->rows[r].bytes = 0;
    double compute = 0, loss_sum = 0, samples = 0, weight_sum = 0;
    int diverged = -1;
    /* Uploads stream in client-id order through two slots: client j+1's receive is posted
     * before client j's upload is folded, so the next transfer overlaps the fold. Client ranks
     * send with MPI_Isend from their own buffers (fedavg_client.c), so a client rank whose
     * uploads the server has not reached yet goes on training. */
    if (m > 0) post_upload(f, b, 0);
    for (int j = 0; j < m; j++) {
        /* r: the rank that trained c this round, whose compute, comm and bytes these are */
        int c = f->sampled[j], slot = j & 1, r = sal_fed_trainer(cfg, f->size - 1, j, c);
        if (j + 1 < m) post_upload(f, b, j + 1); /* into the slot folded last iteration */
        MPI_Status rst[2];
        sal_wd_enter("a sampled client's upload", r);
        MPI_Waitall(2, b->rreq[slot], rst);
        sal_wd_leave();
        int got = (int)nnz;
        if (b->dec) MPI_Get_count(&rst[0], MPI_BYTE, &got);
        if (b->rk) MPI_Get_count(&rst[0], MPI_FLOAT, &got);
        const size_t up_bytes = b->dec ? (size_t)got
                                : b->rk ? (size_t)got * sizeof(float) : nnz * sizeof(float);
        bytes_up += up_bytes;
        if (f->cfg->check_collectives == SAL_FLAG_TRUE) { /* what the client's rank ran for c */
            sal_wd_seq_fold(&b->expect[r], SAL_CC_FED_RECV);
            sal_wd_seq_fold(&b->expect[r], SAL_CC_FED_SEND);
        }
        b->rows[r].bytes += up_bytes;
        const fed_stats *s = &b->stats[slot];
        b->rank_compute[r] += s->compute_s;
        b->rank_comm[r] += s->comm_s;
        if (!isfinite(s->loss_sum)) {
            if (diverged < 0) diverged = c;
            continue;
        }
        double tc = sal_now();
        double nc = f->part.offset[c + 1] - f->part.offset[c]; /* FedAvg weight n_c */
        const float *up = (const float *)(b->up + (size_t)slot * b->slot);
        if (b->rk) { /* k entries of the update and the state, folded into the decoder's sums */
            sal_err qe;
            sal_status qs = sal_fed_randk_fold(b->rk, cfg, round, c, up, (size_t)got, nc, &qe);
            if (qs) {
                if (!bad)
                    bad = sal_fail(err, qs, "round %d: client %d's Rand-k upload: %s", round + 1,
                                   c, qe.msg);
                continue;
            }
            weight_sum += nc;
            loss_sum += s->loss_sum;
            samples += s->samples;
            compute += sal_now() - tc;
            continue;
        }
        if (b->dec) { /* the update, every field checked: an upload is untrusted input */
            sal_err qe;
            sal_status qs = sal_fed_quant_decode(cfg, b->up + (size_t)slot * b->slot, up_bytes,
                                                 b->levels, b->dec, f->nnz, f->p->ns, &qe);
            if (qs) {
                if (!bad)
                    bad = sal_fail(err, qs, "round %d: client %d's quantized upload: %s",
                                   round + 1, c, qe.msg);
                continue;
            }
            up = b->dec;
        }
        for (size_t i = 0; i < nnz; i++) b->acc[i] += nc * up[i];
        weight_sum += nc;
        loss_sum += s->loss_sum;
        samples += s->samples;
        compute += sal_now() - tc;
    }
    sal_wd_enter("sending the global model to the sampled clients", SAL_WD_ALL);
    MPI_Waitall(nreq, b->req, MPI_STATUSES_IGNORE);
    sal_wd_leave();
    double lr = sal_fed_lr(f, round);
    const int eval = sal_fed_evaluated(cfg, round);
    double tc = sal_now();
    if (diverged < 0 && !bad && b->rk) { /* Rand-k: global + the decoded mean update */
        sal_fed_randk_finish(b->rk, f->packed);
    } else if (diverged < 0 && !bad) {
        /* quantized, the weights came as updates: global + their weighted mean; the state
         * (raw in every upload) and unquantized weights: the weighted mean of the values */
        const size_t upd = b->dec ? f->nnz : 0;
        for (size_t i = 0; i < upd; i++)
            f->packed[i] = (float)(f->packed[i] + b->acc[i] / weight_sum);
        for (size_t i = upd; i < nnz; i++) f->packed[i] = (float)(b->acc[i] / weight_sum);
    }
    compute += sal_now() - tc;
    /* The client ranks evaluate the same model beside the server (and discard the figures), so
     * that none of them waits in an exchange while the server computes: the watchdog counts
     * waits only, and a long evaluation must not look like a missing server. Sent also after a
     * divergence (the clients are in the broadcast); not counted in bytes (a measurement). */
    if (eval) sal_fed_eval_bcast(f, NULL);
    if (bad) return bad;
    if (diverged >= 0)
        return sal_fail(err, SAL_ENUMERIC,
                        "round %d: client %d's training loss is not finite (diverged); lower "
                        "[train] lr (now %g) or set [train] clip",
                        round + 1, diverged, lr);
    tc = sal_now();
    sal_fed_unpack(f);
    row->round = round + 1;
    row->lr = lr;
    row->train_loss = samples > 0 ? loss_sum / samples : 0;
    row->density = (double)f->nnz / (double)f->p->n;
    row->bytes_up = bytes_up; /* what arrived: quantized, the encoder's bytes, headers included */
    row->bytes_down = (uint64_t)m * down;
    if (eval) evaluate(f, row);
    compute += sal_now() - tc;
    if (row->evaluated && !isfinite(row->test_loss))
        return sal_fail(err, SAL_ENUMERIC,
                        "round %d: the averaged model's test loss is not finite (diverged); "
                        "lower [train] lr (now %g) or set [train] clip",
                        round + 1, lr);
    /* compute_s: the busiest client rank's training plus the server's own work; comm_s: the
     * busiest client rank's time in transfers; wait_s: the rest of the round, i.e. ranks idle
     * while a slower rank computes or the server evaluates (docs/user-guide.md, metrics). */
    double cmax = 0, kmax = 0;
    for (int r = 1; r < f->size; r++) {
        cmax = b->rank_compute[r] > cmax ? b->rank_compute[r] : cmax;
        kmax = b->rank_comm[r] > kmax ? b->rank_comm[r] : kmax;
    }
    row->wall_s = sal_now() - t0;
    row->compute_s = cmax + compute;
    row->comm_s = kmax;
    double rest = row->wall_s - row->compute_s - row->comm_s;
    row->wait_s = rest > 0 ? rest : 0;
    row->samples_per_s = samples / row->wall_s;
    /* ranks.csv: the server's own work, and each client rank's from its stats; the rest of the
     * round's wall time a rank was idle (waiting) */
    for (int r = 0; r < f->size; r++) {
        sal_rank_row *w = &b->rows[r];
        w->round = round + 1;
        w->compute_s = r ? b->rank_compute[r] : compute;
        w->comm_s = r ? b->rank_comm[r] : 0;
        double idle = row->wall_s - w->compute_s - w->comm_s;
        w->wait_s = idle > 0 ? idle : 0;
    }
    b->rows[0].bytes = (uint64_t)m * down; /* the downloads it sent */
    return SAL_OK;
}

static sal_status write_mask(fed *f, const char *out_dir, sal_err *err) {
    char path[SAL_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/mask.csv", out_dir);
    if (f->progress && f->cfg->method != SAL_SPARSE_NONE) {
        fprintf(f->progress, "salient: mask (%s, density %g), kept per tensor:\n",
                sal_config_enum_name("sparsity", "method", f->cfg->method), f->cfg->density);
        sal_mask_print(f->p, f->p->mask, f->progress);
    }
    return sal_mask_write_csv(f->p, f->p->mask, path, err);
}

sal_status sal_fed_server(fed *f, const char *out_dir, const char *resume, sal_err *err) {
    const sal_config *cfg = f->cfg;
    sal_metrics metrics;
    round_bufs b = {0};
    sal_round row0 = {0};
    int start = 0;
    sal_ranks_csv ranks;
    sal_ranks_open(&ranks, out_dir, err); /* cannot fail where metrics.csv's path fits */
    /* ranks.csv's host names, once (every rank, before round 0) */
    b.rows = calloc((size_t)f->size, sizeof(sal_rank_row));
    int have = b.rows != NULL;
    sal_wd_enter("gathering the ranks' host names", SAL_WD_ALL);
    MPI_Bcast(&have, 1, MPI_INT, 0, f->comm);
    sal_rank_row me = {0};
    if (have) sal_cc_gather_ranks(f->comm, &me, b.rows);
    sal_wd_leave();
    sal_status st = sal_metrics_open(&metrics, out_dir, err);
    if (!st) st = resume ? sal_fed_resume(f, resume, &metrics, &start, err)
                         : sal_fed_mask(f, &row0, err);
    if (st) { /* every rank learnt it from the status broadcast */
        sal_metrics_free(&metrics);
        free(b.rows);
        return st;
    }
    int m = sal_fed_sample(cfg, 0, f->sampled);
    /* O(model), whatever m: two receive slots of floats and one accumulator of doubles */
    /* quantized: the slots hold the largest encoding, and one float buffer the decoded update */
    const size_t cap = sal_fed_quant_cap(cfg, f->nnz, f->p->ns);
    b.slot = cap ? cap : sizeof(float) * f->msg;
    size_t agg_bytes = cap ? 2 * cap + f->msg * (sizeof(float) + sizeof(double))
                           : sal_fed_server_agg_bytes(f->msg);
    /* Rand-k: slots of k + ns floats; the decoder's sums (2 doubles and a count per entry);
     * temporal: the clients' memories, clients x nnz floats */
    fed_randk rk = {0};
    if (cfg->compress == SAL_COMPRESS_RANDK) {
        st = sal_fed_randk_open(&rk, cfg, f->nnz, f->p->ns, err);
        if (!st && resume && cfg->randk_decoder == SAL_RANDK_DEC_TEMPORAL)
            st = sal_fed_randk_resume(&rk, f, resume, err);
        b.rk = st ? NULL : &rk;
        f->randk_memory = rk.memory;
        f->randk_clients = rk.clients;
        b.slot = sizeof(float) * sal_fed_randk_floats(cfg, f->nnz, f->p->ns);
        agg_bytes = 2 * b.slot + f->msg * sizeof(double) + rk.k * sizeof(size_t) +
                    f->nnz * ((rk.acc.b ? 2 : 1) * sizeof(double) + sizeof(int) + sizeof(float)) +
                    f->p->ns * sizeof(double) +
                    (rk.memory ? sal_fed_randk_memory_bytes(cfg, f->nnz) : 0);
    }
    b.up = malloc(2 * (b.slot ? b.slot : 1));
    if (cap) b.dec = malloc(sizeof(float) * (f->msg ? f->msg : 1));
    b.req = malloc(sizeof(MPI_Request) * 2 * (size_t)(m > 0 ? m : 1));
    b.acc = malloc(sizeof(double) * (f->msg ? f->msg : 1));
    b.rank_compute = malloc(sizeof(double) * (size_t)f->size);
    b.rank_comm = malloc(sizeof(double) * (size_t)f->size);
    b.expect = calloc((size_t)f->size, sizeof(sal_wd_seq));
    if (st) {
        /* the Rand-k buffers' or memory's error, agreed below */
    } else if (!b.up || (cap && !b.dec) || !b.req || !b.acc || !b.rank_compute ||
               !b.rank_comm || !b.rows || !b.expect)
        st = sal_fail(err, SAL_ENOMEM, "server: out of memory for %zu bytes of aggregation "
                      "buffers (model messages of %zu floats)", agg_bytes, f->msg);
    /* one outcome for every rank: the client ranks allocate their send buffers here too */
    if ((st = sal_mpi_agree(f->comm, st, err))) goto agreed;
    if ((st = sal_run_write_config(cfg, out_dir, err))) goto out;
    if ((st = write_mask(f, out_dir, err))) goto out;
    if (f->progress)
        fprintf(f->progress,
                "salient: fedavg %s on %s: %d clients on %d ranks, %d sampled per round, "
                "%zu of %zu parameters travel (density %.4f)\n",
                sal_config_enum_name("model", "arch", cfg->arch),
                sal_config_enum_name("data", "dataset", cfg->dataset), cfg->clients,
                f->size - 1, m, f->nnz, f->p->n, (double)f->nnz / (double)f->p->n);
    if (f->progress && b.rk)
        fprintf(f->progress,
                "salient: server: aggregation buffers %zu bytes; uploads Rand-k, %zu of %zu "
                "entries (%zu floats with the state), decoder %s\n",
                agg_bytes, rk.k, f->nnz, rk.k + rk.ns,
                sal_config_enum_name("comm", "randk_decoder", cfg->randk_decoder));
    if (f->progress && !cap && !b.rk)
        fprintf(f->progress,
                "salient: server: aggregation buffers %zu bytes (2 receive slots and a double "
                "accumulator of %zu floats), whatever the %d clients per round\n",
                agg_bytes, f->msg, m);
    if (f->progress && cap)
        fprintf(f->progress,
                "salient: server: aggregation buffers %zu bytes (2 receive slots of %zu bytes, "
                "a decoded update and a double accumulator of %zu floats); uploads %s-encoded, "
                "buckets of %d\n",
                agg_bytes, cap, f->msg, sal_config_enum_name("comm", "quantize", cfg->quantize),
                cfg->quantize_bucket);
    if (f->progress) sal_model_progress(f->progress, f->model);
    sal_fed_pack(f);
    if (resume) {
        sal_ranks_resume(&ranks, start);
        goto rounds; /* round 0 is in the restored metrics */
    }
    /* Round 0: the mask exchange, and the masked initial model's accuracy. */
    double te = sal_now();
    evaluate(f, &row0);
    row0.compute_s += sal_now() - te;
    row0.wall_s += sal_now() - te;
    row0.density = (double)f->nnz / (double)f->p->n;
    row0.lr = sal_fed_lr(f, 0);
    if ((st = sal_metrics_append(&metrics, &row0, err))) goto out;
    progress_line(f, &row0);
rounds:
    /* from here on, client ranks run the exchanges the server sees ([run] check_collectives) */
    sal_wd_check_collectives(cfg->check_collectives == SAL_FLAG_TRUE);
    for (int round = start; round < cfg->rounds; round++) {
        sal_fault_round(round + 1, 0);
        sal_wd_round(round + 1);
        sal_round row = {0};
        if (cap) {
            b.levels = sal_fed_quant_levels(cfg, &metrics, round);
            if (f->progress && cfg->quantize == SAL_QUANT_ADAQUANT)
                fprintf(f->progress, "salient: round %d: adaquant levels %d\n", round + 1,
                        b.levels);
        }
        st = round_run(f, round, &b, &row, err);
        if (!st && f->progress && b.rk && cfg->randk_decoder == SAL_RANDK_DEC_SPATIAL)
            fprintf(f->progress, "salient: round %d: randk rho %.4f\n", round + 1, rk.rho);
        /* the memory's worth this round: its error over plain Rand-k's, estimated */
        if (!st && f->progress && b.rk && cfg->randk_decoder == SAL_RANDK_DEC_TEMPORAL)
            fprintf(f->progress, "salient: round %d: randk temporal error ratio %.4f\n",
                    round + 1, rk.ratio);
        /* the client ranks wait in the check whatever the round's outcome; its error comes
         * second to the round's own */
        sal_err cc_err;
        sal_status cc = sal_cc_check(f->comm, cfg->check_collectives == SAL_FLAG_TRUE,
                                     round + 1, 1, b.expect, &cc_err);
        memset(b.expect, 0, sizeof(sal_wd_seq) * (size_t)f->size);
        if (!st && cc) st = cc, *err = cc_err;
        if (st) goto out;
        /* [sparsity] schedule, between rounds and before the checkpoint (which then holds the
         * next cycle's start): the rewind point, and at a cycle's end the prune of the global
         * model, its rewind (imp) and the new mask to every client rank, in this round's
         * bytes_down. A failed prune stops the clients, which wait for the mask or a stop. */
        int pruned = 0;
        double tp = sal_now();
        if ((st = sal_sched_run_step(&f->sched, f->p, round + 1, &pruned, err))) goto out;
        if (pruned) {
            sal_fed_mask_update(f, &row, &b.rows[0].bytes, NULL);
            if (b.rk && (st = sal_fed_randk_remask(b.rk, cfg, f->nnz, err))) goto out;
            if ((st = write_mask(f, out_dir, err))) goto out;
        }
        row.wall_s += sal_now() - tp, row.compute_s += sal_now() - tp;
        if ((st = sal_metrics_append(&metrics, &row, err))) goto out;
        if ((st = sal_ranks_append(&ranks, b.rows, f->size, err))) goto out;
        progress_line(f, &row);
        sal_sched_run_progress(f->progress, &f->sched, round + 1, pruned, f->p);
        /* The server's signal decides: mpirun and srun deliver it to every rank, and the
         * client ranks' state is not needed to resume. */
        int sig = sal_signal_pending();
        if (sal_ckpt_due(cfg, round + 1, sig) &&
            (st = sal_fed_checkpoint(f, out_dir, round + 1, &metrics, err)))
            goto out;
        if (sig && round + 1 < cfg->rounds) {
            if (f->progress)
                fprintf(f->progress, "salient: %s: stopped after round %d of %d\n",
                        sal_signal_name(sig), round + 1, cfg->rounds);
            sal_signal_set_stopped();
            goto out; /* no summary.json: the run is not over */
        }
    }
    char ident[1024];
    if (sal_run_identity(ident, sizeof ident, cfg, "fedavg", f->size, f->p->n, f->nnz) < 0)
        st = sal_fail(err, SAL_EINVAL, "summary.json: the run's identity exceeds %zu bytes",
                      sizeof ident);
    if (!st) st = sal_metrics_write_summary(&metrics, out_dir, ident, sal_now() - f->t_start, err);
out:
    stop_all(f, st); /* clients finish with the server's verdict, whatever it is */
agreed:
    sal_wd_check_collectives(0);
    sal_metrics_free(&metrics);
    sal_ranks_close(&ranks);
    free(b.rows);
    free(b.expect);
    free(b.up);
    free(b.dec);
    free(b.req);
    free(b.acc);
    free(b.rank_compute);
    free(b.rank_comm);
    f->randk_memory = NULL;
    f->randk_clients = 0;
    sal_fed_randk_close(&rk);
    return st;
}
