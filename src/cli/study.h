/* study.h - a `salient compare` study without MPI: the grid of points (algorithms x every
 * --vary key's values), their configs and directory names, and the statistics over seeds.
 * cmd_compare.c runs it; tests/test_study.c checks the rules here. */
#ifndef SALIENT_CLI_STUDY_H
#define SALIENT_CLI_STUDY_H

#include <stddef.h>

#include "salient/config.h"
#include "salient/status.h"

#define SAL_STUDY_MAX_ALGOS 16
#define SAL_STUDY_MAX_AXES 8      /* --vary options */
#define SAL_STUDY_MAX_VALUES 32   /* values of one --vary */
#define SAL_STUDY_MAX_POINTS 4096 /* algorithms x the product of the value counts */
#define SAL_STUDY_MAX_SEEDS 1000
#define SAL_STUDY_KEY_MAX 64
#define SAL_STUDY_VAL_MAX 128

typedef struct sal_study_algo {
    char name[64];     /* as given: "dpsgd:ring" */
    char dir_name[64]; /* "dpsgd-ring" */
    sal_algorithm algo;
    int graph;    /* -1: the config's */
    int compress; /* allreduce:none|mask|topk; -1: the config's */
} sal_study_algo;

typedef struct sal_study_axis {
    char key[SAL_STUDY_KEY_MAX]; /* "sparsity.density" */
    int n;
    char val[SAL_STUDY_MAX_VALUES][SAL_STUDY_VAL_MAX]; /* as given: "0.1" */
} sal_study_axis;

/* Points are numbered algorithm-major, then the axes in the order given, the last --vary
 * fastest, so that `--point K` (a Slurm array task) names the same point on every call. */
typedef struct sal_study {
    sal_study_algo algo[SAL_STUDY_MAX_ALGOS];
    int nalgo;
    sal_study_axis axis[SAL_STUDY_MAX_AXES];
    int naxes;
} sal_study;

/* "allreduce,dpsgd:ring,..." into s->algo (replacing any before). Error: one line naming the
 * entry and what is allowed. */
sal_status sal_study_set_algorithms(sal_study *s, const char *list, sal_err *err);

/* One --vary "section.key=v1,v2,...": every value is tried on a default config (a typo fails
 * here, before any run), a key given twice, train.algorithm (--algorithms varies it),
 * run.seed (--seeds), run.out and a value repeated are refused, as are more than the bounds
 * above. */
sal_status sal_study_add_vary(sal_study *s, const char *spec, sal_err *err);

/* nalgo x the product of the axes' value counts (<= SAL_STUDY_MAX_POINTS once both setters
 * succeeded; they refuse a grid larger than that). */
int sal_study_points(const sal_study *s);

/* Point p's algorithm index and value index on each axis (vi: naxes entries). */
void sal_study_decompose(const sal_study *s, int p, int *algo, int *vi);

/* "fedavg sparsity.method=snip sparsity.density=0.1": for messages, plot legends and the
 * `point` column (no comma: the values have none). Returns buf. */
char *sal_study_label(const sal_study *s, int p, char *buf, size_t n);

/* The point's directory under the study's, readable and safe: "fedavg" without --vary, else
 * "fedavg/sparsity.method=snip,sparsity.density=0.1", each character outside [A-Za-z0-9._=,+-]
 * written as '_' (a value "/data/x" cannot leave the study). Returns -1 if it does not fit. */
int sal_study_dir(const sal_study *s, int p, char *buf, size_t n);

/* Point p's config: base, then the algorithm (and its graph or compress variant), then the
 * --vary values; keys that only some algorithms use are reset for the others as one-algorithm
 * runs would have them ([comm] compress for all but allreduce - randk for all but fedavg -,
 * [comm] quantize for all but fedavg). Then the cross-key checks and whether it runs on nranks ranks (centralized, the
 * single-worker baseline, always does: it runs on the first rank alone). SAL_OK: run it;
 * SAL_ECONFIG: an invalid combination to skip, err saying why (method = none at density 0.1). */
sal_status sal_study_config(const sal_study *s, int p, const sal_config *base, int nranks,
                            sal_config *out, sal_err *err);

/* Mean of x[0..n-1] and sample standard deviation (n - 1 in the denominator); std is NaN for
 * n < 2 (one seed says nothing about the spread), mean NaN for n = 0. */
void sal_study_mean_std(const double *x, int n, double *mean, double *std);

/* A CSV line split at commas in place (its newline stripped) into at most max fields of f;
 * returns the field count. The tables hold no quoted fields. */
int sal_study_split(char *line, char **f, int max);

/* col[c] = the index among the nf header fields f of names[c], -1 where absent; returns the
 * first absent c, or -1 when every name is there. */
int sal_study_columns(char *const *f, int nf, const char *const *names, int n, int *col);

/* What one run's metrics.csv says, for the tables. */
typedef struct sal_run_stats {
    double final_acc, best_acc; /* NaN when no round was evaluated */
    /* each client's accuracy on its own test split at the last evaluated round, mean and
     * minimum over clients (metrics.csv client_acc_*); NaN where the run has none */
    double client_mean, client_min;
    int rounds_to_target;       /* first evaluated round with test_acc >= target; -1: never */
    double bytes_to_target;     /* bytes_up + bytes_down summed up to and with that round */
    double time_to_target;      /* wall_s summed likewise */
    double bytes_total, wall, compute, comm;
    int rounds; /* rows read */
} sal_run_stats;

/* Read path (a metrics.csv, columns found by their header names). SAL_EIO when missing,
 * SAL_EFORMAT when the header lacks a column. */
sal_status sal_run_stats_read(const char *path, double target, sal_run_stats *r, sal_err *err);

/* Where a study's runs live and what its tables cover. */
typedef struct sal_study_out {
    const sal_study *s;
    const char *dir;           /* the study's directory */
    const unsigned char *skip; /* per point: 1 = an invalid combination, not run */
    int nseeds;
    unsigned long long seed0; /* seeds seed0, seed0 + 1, ... */
    int seed_dirs;            /* runs in POINT/seed<S>/ (--seeds given), else in POINT/ */
    double target;
} sal_study_out;

/* Run k (0-based seed index) of point p: DIR/POINT[/seed<S>]. Returns -1 if it does not fit. */
int sal_study_run_dir(const sal_study_out *o, int p, int k, char *buf, size_t n);

/* Is that run over (its summary.json, written last and atomically, is there)? */
int sal_study_run_done(const char *run_dir);

/* DIR/compare.csv (every round of every finished run: point, algorithm, the varied keys,
 * seed, then metrics.csv's columns), DIR/runs.csv (one row per finished run) and
 * DIR/summary.csv (one row per point with a finished run: mean and spread over its seeds),
 * every number in the shortest form that reads back exactly (fmt.h), an unknown one empty.
 * *done receives the finished runs counted. */
sal_status sal_study_write_tables(const sal_study_out *o, int *done, sal_err *err);

/* The terminal's view of DIR/summary.csv to out: point, seeds, final accuracy (std), best,
 * the clients' mean accuracy, rounds and MB to the target, wall seconds (study_print.c).
 * -1 when the table cannot be read or lacks one of those columns. */
int sal_study_print_summary(const sal_study_out *o, FILE *out);

#endif
