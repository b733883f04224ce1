/* fedavg.h - state shared by the FedAvg/SSFL server (rank 0) and client ranks (1..P-1);
 * private to algo/. The protocol is described in docs/architecture.md ("FedAvg over MPI"). */
#ifndef SALIENT_ALGO_FEDAVG_H
#define SALIENT_ALGO_FEDAVG_H

#include <mpi.h>
#include <stdio.h>

#include "salient/client_eval.h"
#include "salient/config.h"
#include "salient/metrics.h"
#include "salient/optim.h"
#include "salient/partition.h"
#include "salient/train.h"
#include "algos.h"

/* Message tags. Between one pair of ranks MPI never lets messages of one tag overtake each
 * other, so a client's uploads match the server's receives in the order both sides post them,
 * and no tag needs to carry a client id. */
enum {
    FED_TAG_WEIGHTS = 1, /* server -> client: packed global weights (nnz floats) */
    FED_TAG_STOP = 2,    /* server -> client: one int, SAL_OK at the end, else the error */
    FED_TAG_UPLOAD = 3,  /* client -> server: packed local weights (msg floats), or with
                          * [comm] quantize their update local - global QSGD-encoded (bytes) */
    FED_TAG_STATS = 4,   /* client -> server: fed_stats after each upload */
    FED_TAG_SCORES = 5,  /* client -> server: saliency scores (n floats), round 0 */
    FED_TAG_EVAL = 6,    /* server -> every client rank: the evaluated global model (msg floats) */
    FED_TAG_LEVELS = 7,  /* server -> client, quantize = adaquant: the round's levels (one int),
                          * sent just before its weights */
    FED_TAG_MASK = 8     /* server -> every client rank, [sparsity] schedule: the mask after a
                          * prune, bit-packed, at the end of the round that ends a cycle */
};

/* What a client reports after each upload; 4 doubles on the wire. */
typedef struct fed_stats {
    double loss_sum;  /* sum over samples of the training loss; NAN once it diverged */
    double samples;   /* samples trained on (local_epochs x client size) */
    double compute_s; /* local computation for this client */
    double comm_s;    /* receiving its weights after they arrived, and sending its upload */
} fed_stats;

typedef struct fed {
    const sal_config *cfg;
    FILE *progress;       /* rank 0 only; NULL elsewhere */
    MPI_Comm comm;        /* our own duplicate of MPI_COMM_WORLD */
    int rank, size;       /* size - 1 client ranks */
    sal_dataset train, test;
    sal_partition part;   /* client c's sample ids: index[offset[c] .. offset[c+1]), ascending */
    sal_model *model;
    sal_params *p;        /* borrowed from model */
    sal_sgd opt;
    float *x;             /* (batch, c, h, w) */
    int *y, *idx;         /* (batch) */
    int *order;           /* (largest client) epoch order */
    int *sampled, m;      /* this round's clients, ascending; m = round(fraction x clients) */
    sal_client_tests tests; /* rank 0: each client's test split (client_acc_* in metrics.csv) */
    uint8_t *hit;         /* rank 0: (test n) which test samples the evaluated model got right */
    size_t nnz;           /* weights that travel: mask nonzeros (biases included) */
    size_t msg;           /* floats in a model message: nnz weights, then the p->ns floats of
                           * non-trainable state (BatchNorm statistics), averaged alike */
    float *packed;        /* (msg) packed weights and state */
    double t_start;
    int start_round;      /* rounds a resumed run started with (0 for a new run) */
    int levels;           /* [comm] quantize: this round's QSGD s (adaquant: from the server) */
    const float *randk_memory; /* rank 0, randk_decoder = temporal: (randk_clients, nnz) the
                                * decoder's per-client memory, borrowed from the server's round
                                * buffers for checkpoints */
    int randk_clients;
    sal_sched_run sched;  /* [sparsity] schedule: every rank's lr and prune rounds; the server
                           * also holds IMP's rewind weights */
} fed;

/* Collective over MPI_COMM_WORLD: load data, partition, build and initialise the model, place
 * clients on ranks, and agree on the first failure (reported by rank 0; other ranks get an
 * empty message). progress is used on rank 0 only. Call sal_fed_close afterwards in any case. */
sal_status sal_fed_open(fed *f, const sal_config *cfg, FILE *progress, sal_err *err);
void sal_fed_close(fed *f);

/* f->packed <- the masked weights and the state of f->p; and back. sal_fed_pack_into writes
 * the same msg floats into dst (a client rank's per-upload send buffer). */
void sal_fed_pack(fed *f);
void sal_fed_pack_into(const fed *f, float *dst);
void sal_fed_unpack(fed *f);

/* The round's client sample into out (scratch of `clients` ints; the first m entries, ascending,
 * are the sample); returns m. Identical on every rank: drawn from stream (seed, SAMPLE, round),
 * never from the rank count. */
int sal_fed_sample(const sal_config *cfg, int round, int *out);
/* Placement ([run] placement). Every rank holds every client's data (setup), and a client's
 * training depends only on (seed, round, client), so any rank may train any client with the
 * same bits. Client c's home is client rank 1 + i for the block [i C/W, (i+1) C/W) holding c
 * (W client ranks); round 0's scoring runs there, as does training with block. balanced deals
 * the round's j-th sampled client (ascending ids, the server's order of taking uploads) to
 * client rank 1 + j mod W: each trains floor or ceil(m/W) clients, and the first W uploads the
 * server waits for come from W different ranks. */
int sal_fed_home(int c, int clients, int W);
/* The client rank (1..W) that trains sampled[j] = c in a round. */
int sal_fed_trainer(const sal_config *cfg, int W, int j, int c);
/* The most clients client rank r trains in one round (its upload buffers), m sampled. */
int sal_fed_most_trained(const sal_config *cfg, int W, int r, int m);
/* Is the global model after round (0-based) evaluated: every eval_every rounds and the last. */
int sal_fed_evaluated(const sal_config *cfg, int round);
/* Every rank, on evaluated rounds: rank 0's f->packed to every client rank (one send each, in
 * rank order, so that the server's watchdog line names a rank that never takes it), where the
 * client ranks evaluate it alongside the server (fedavg_client.c says why). A client rank takes
 * the server's stop instead when that comes first (its code in *stop_code) and returns 0;
 * otherwise 1. */
int sal_fed_eval_bcast(fed *f, int *stop_code);
/* The learning rate of a round: the lr schedule inside the round's cycle ([sparsity] schedule;
 * one cycle of all rounds for fixed) times lr_decay^position. */
double sal_fed_lr(const fed *f, int round);

/* The mask after a prune, every rank, after `done` rounds ([sparsity] schedule): the server
 * (whose f->p already holds it, sal_sched_run_step) sends it bit-packed to every client rank
 * in rank order and repacks the global model; a client rank takes it (or the server's stop,
 * *stop_code, returning 0) and masks its weights. Both then have the new nnz and msg. The
 * server adds the bytes to row (bytes_down) and rank_bytes. Returns 1, or 0 on a stop. */
int sal_fed_mask_update(fed *f, sal_round *row, uint64_t *rank_bytes, int *stop_code);

/* Round 0 (every rank): compute the mask as [sparsity] says, aggregate client scores on the
 * server, broadcast it bit-packed; on return p->mask is set and w is masked. Fills the server's
 * round-0 metrics row (bytes, times). */
sal_status sal_fed_mask(fed *f, sal_round *row, sal_err *err);

/* Instead of round 0 (every rank): the mask from checkpoint path, and on the server the global
 * model and the metrics rows; *start = the rounds it holds. */
sal_status sal_fed_resume(fed *f, const char *path, sal_metrics *metrics, int *start,
                          sal_err *err);
/* Server: checkpoint after `done` rounds (global model, mask, metrics) into out_dir/ckpt. */
sal_status sal_fed_checkpoint(fed *f, const char *out_dir, int done, const sal_metrics *metrics,
                              sal_err *err);

/* Train client c from the weights in f->p->w for round r: local_epochs of SGD. */
void sal_fed_local_train(fed *f, int c, int round, fed_stats *st);

/* The two roles, after setup and once all ranks agreed it worked. The server writes metrics.csv,
 * mask.csv, summary.json and checkpoints to out_dir. resume: a checkpoint to continue from,
 * or NULL. */
/* The server's aggregation memory for model messages of msg floats: two receive slots of floats
 * and one double accumulator, independent of the clients per round (reported on its progress
 * line; tests/cli_fedavg.sh checks it). */
size_t sal_fed_server_agg_bytes(size_t msg);

sal_status sal_fed_server(fed *f, const char *out_dir, const char *resume, sal_err *err);
sal_status sal_fed_client(fed *f, const char *resume, sal_err *err);

#endif
