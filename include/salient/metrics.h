/* metrics.h - per-round metrics kept in memory and written as OUT/metrics.csv (rewritten
 * atomically every round, so the file only ever holds complete rows) and OUT/summary.json. */
#ifndef SALIENT_METRICS_H
#define SALIENT_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "salient/status.h"

typedef struct sal_round {
    int round;          /* 1-based */
    int evaluated;      /* test_acc/test_loss are valid (every [run] eval_every rounds) */
    double test_acc;    /* fraction 0..1 on the test set */
    double test_loss;   /* mean cross-entropy on the test set */
    double train_loss;  /* mean training loss over the round's minibatches (sample-weighted) */
    double density;     /* fraction of parameters trained and communicated */
    uint64_t bytes_up;  /* payload bytes sent towards the aggregator this round, all ranks */
    uint64_t bytes_down;/* payload bytes sent from the aggregator this round, all ranks */
    double comm_s;      /* seconds moving bytes */
    double wait_s;      /* seconds waiting for a slower peer to arrive */
    double compute_s;   /* seconds of local computation (training and evaluation) */
    double wall_s;      /* seconds of this round, start to end */
    double lr;          /* learning rate used this round */
    double samples_per_s; /* training samples processed per second of wall time */
    int decentral;      /* the next three are valid (allreduce, localsgd, dpsgd) */
    double consensus;   /* 1/P sum_i ||x_i - x_bar||^2 over the ranks' models */
    double local_acc_mean, local_acc_min; /* the ranks' own models on the test set (if evaluated) */
    int clients_evaluated; /* evaluated, and per client: the next two hold values */
    double client_acc_mean, client_acc_min; /* each client's model (fedavg: the global one) on
                                             * its own test split (client_eval.h) */
} sal_round;

typedef struct sal_metrics {
    char csv_path[4096];
    int n, cap;
    sal_round *rows; /* owned */
} sal_metrics;

/* Start an empty table that will be written to DIR/metrics.csv. */
sal_status sal_metrics_open(sal_metrics *m, const char *dir, sal_err *err);
/* Append a row and rewrite metrics.csv atomically. */
sal_status sal_metrics_append(sal_metrics *m, const sal_round *row, sal_err *err);
/* Append a row without writing (rows restored from a checkpoint; the next append writes). */
sal_status sal_metrics_restore(sal_metrics *m, const sal_round *row, sal_err *err);
void sal_metrics_free(sal_metrics *m);

/* The line every algorithm prints to f after a round (docs/user-guide.md "Progress"):
 *   round R/N  train_loss L  [test_acc A  test_loss T  [client_acc C]  [local M/m]]
 *   [consensus X]  up U MB  down D MB  S samples/s  W s  ETA E
 * the bracketed parts where the row has them; eta_s < 0 prints "-". */
void sal_round_progress(FILE *f, const sal_round *row, int rounds, double eta_s);

/* Write DIR/summary.json: final and best test accuracy, totals of bytes and seconds, and the
 * run's identity (arch, dataset, algorithm, seed) given as already-quoted JSON fields. */
sal_status sal_metrics_write_summary(const sal_metrics *m, const char *dir,
                                     const char *identity_json, double total_wall_s,
                                     sal_err *err);

/* OUT/ranks.csv: one row per rank per round, `round,rank,host,compute_s,comm_s,wait_s,bytes`,
 * so that a straggler shows (docs/user-guide.md). Rows are appended on rank 0 and flushed once
 * per round with one write, so the file holds complete rows; on resume it is first rewritten
 * (atomically) with the rows up to the checkpoint's round. */
#define SAL_HOST_MAX 64
typedef struct sal_rank_row { /* fixed size, no pointers: gathered to rank 0 as bytes */
    int32_t round, rank;
    double compute_s;         /* this rank's local computation this round */
    double comm_s;            /* this rank's time moving bytes */
    double wait_s;            /* this rank's time waiting for slower peers */
    uint64_t bytes;           /* payload bytes this rank sent this round */
    char host[SAL_HOST_MAX];  /* gethostname, truncated */
} sal_rank_row;

typedef struct sal_ranks_csv {
    char path[4096];
    int keep; /* resume: rows of rounds <= keep survive from an existing file; -1: none */
    FILE *f;  /* owned; open for appending once the first rows are written */
} sal_ranks_csv;

/* Nothing is written until the first append (a run refused during setup leaves no file). */
sal_status sal_ranks_open(sal_ranks_csv *r, const char *dir, sal_err *err);
/* A resumed run: keep the rows up to `round` (the checkpoint's) from the existing file. */
void sal_ranks_resume(sal_ranks_csv *r, int round);
/* Append n rows (one round, rank order) and flush. The first call creates the file. */
sal_status sal_ranks_append(sal_ranks_csv *r, const sal_rank_row *rows, int n, sal_err *err);
void sal_ranks_close(sal_ranks_csv *r);
/* This machine's name into host (SAL_HOST_MAX bytes, NUL-terminated, "?" if unknown). */
void sal_rank_host(char *host);

#endif
