/* study_stats.c - what a study's tables say about its runs: one run's metrics.csv reduced to
 * final and best accuracy, bytes and time to a target; mean and spread over seeds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study.h"

void sal_study_mean_std(const double *x, int n, double *mean, double *std) {
    *mean = *std = NAN;
    if (n < 1) return;
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    if (n < 2) return;
    /* two passes: the deviations from the mean, not sum(x^2) - n mean^2, which cancels
     * catastrophically for bytes near 1e9 whose seeds differ in the last digits */
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *std = sqrt(ss / (n - 1));
}

enum { C_ROUND, C_ACC, C_UP, C_DOWN, C_COMM, C_COMPUTE, C_WALL, NCOLS };
static const char *const col_names[NCOLS] = {"round",  "test_acc",  "bytes_up", "bytes_down",
                                             "comm_s", "compute_s", "wall_s"};

/* optional: algorithms without per-client evaluation leave them empty or out */
enum { O_CLIENT_MEAN, O_CLIENT_MIN, NOPT };
static const char *const opt_names[NOPT] = {"client_acc_mean", "client_acc_min"};

#define MAX_FIELDS 64

int sal_study_split(char *line, char **f, int max) {
    line[strcspn(line, "\r\n")] = '\0';
    int k = 0;
    for (char *c = line; k < max;) {
        f[k++] = c;
        char *comma = strchr(c, ',');
        if (!comma) break;
        *comma = '\0';
        c = comma + 1;
    }
    return k;
}

int sal_study_columns(char *const *f, int nf, const char *const *names, int n, int *col) {
    int missing = -1;
    for (int c = 0; c < n; c++) {
        col[c] = -1;
        for (int k = 0; k < nf; k++)
            if (!strcmp(f[k], names[c])) col[c] = k;
        if (col[c] < 0 && missing < 0) missing = c;
    }
    return missing;
}

/* field k of a row as a number; NaN where the column is absent (k < 0), the row short, or
 * the field empty */
static double opt_num(char *const *f, int nf, int k) {
    return k >= 0 && k < nf && f[k][0] ? atof(f[k]) : NAN;
}

sal_status sal_run_stats_read(const char *path, double target, sal_run_stats *r, sal_err *err) {
    memset(r, 0, sizeof *r);
    r->final_acc = r->best_acc = r->client_mean = r->client_min = NAN;
    r->rounds_to_target = -1;
    FILE *in = fopen(path, "r");
    if (!in) return sal_fail(err, SAL_EIO, "cannot read '%s'", path);
    char line[4096];
    char *f[MAX_FIELDS];
    int col[NCOLS], opt[NOPT];
    sal_status st = SAL_OK;
    if (!fgets(line, sizeof line, in)) {
        st = sal_fail(err, SAL_EFORMAT, "'%s' is empty", path);
        goto out;
    }
    int nf = sal_study_split(line, f, MAX_FIELDS);
    int missing = sal_study_columns(f, nf, col_names, NCOLS, col);
    if (missing >= 0) {
        st = sal_fail(err, SAL_EFORMAT, "'%s' has no column %s", path, col_names[missing]);
        goto out;
    }
    sal_study_columns(f, nf, opt_names, NOPT, opt); /* optional: -1 where absent */
    double bytes = 0, wall = 0;
    while (fgets(line, sizeof line, in)) {
        nf = sal_study_split(line, f, MAX_FIELDS);
        int short_row = 0;
        for (int c = 0; c < NCOLS; c++) short_row |= col[c] >= nf;
        if (short_row) continue;
        r->rounds++;
        bytes += atof(f[col[C_UP]]) + atof(f[col[C_DOWN]]);
        wall += atof(f[col[C_WALL]]);
        r->comm += atof(f[col[C_COMM]]);
        r->compute += atof(f[col[C_COMPUTE]]);
        const char *acc_s = f[col[C_ACC]];
        if (!acc_s[0]) continue; /* a round without evaluation */
        double acc = atof(acc_s);
        r->final_acc = acc;
        r->client_mean = opt_num(f, nf, opt[O_CLIENT_MEAN]);
        r->client_min = opt_num(f, nf, opt[O_CLIENT_MIN]);
        if (isnan(r->best_acc) || acc > r->best_acc) r->best_acc = acc;
        if (r->rounds_to_target < 0 && acc >= target) {
            r->rounds_to_target = atoi(f[col[C_ROUND]]);
            r->bytes_to_target = bytes;
            r->time_to_target = wall;
        }
    }
    r->bytes_total = bytes;
    r->wall = wall;
out:
    fclose(in);
    return st;
}
