/* study_tables.c - a study's three tables, from the finished runs' metrics.csv: compare.csv
 * (every round), runs.csv (every run) and summary.csv (every point, mean and spread over seeds).
 * Unfinished runs are left out, so the tables of a study that is still running are honest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "salient/fmt.h"
#include "salient/fsutil.h"
#include "study.h"

int sal_study_run_dir(const sal_study_out *o, int p, int k, char *buf, size_t n) {
    char pd[SAL_PATH_MAX];
    if (sal_study_dir(o->s, p, pd, sizeof pd)) return -1;
    int len = o->seed_dirs ? snprintf(buf, n, "%s/%s/seed%llu", o->dir, pd, o->seed0 + (unsigned)k)
                           : snprintf(buf, n, "%s/%s", o->dir, pd);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

int sal_study_run_done(const char *run_dir) {
    char path[SAL_PATH_MAX + 32];
    struct stat sb;
    snprintf(path, sizeof path, "%s/summary.json", run_dir);
    if (stat(path, &sb) || !S_ISREG(sb.st_mode)) return 0;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    return !stat(path, &sb) && S_ISREG(sb.st_mode);
}

/* ",x" with x in its shortest exact form, or "," alone for an unknown (NaN) value */
static void num(FILE *f, double x) {
    char b[SAL_NUM_MAX];
    if (isnan(x))
        fputc(',', f);
    else
        fprintf(f, ",%s", sal_fmt_num(x, b, sizeof b));
}

/* "point,algorithm,key1,key2" (header) or "LABEL,ALGO,v1,v2" (point p) */
static void lead(FILE *f, const sal_study *s, int p) {
    if (p < 0) {
        fputs("point,algorithm", f);
        for (int a = 0; a < s->naxes; a++) fprintf(f, ",%s", s->axis[a].key);
        return;
    }
    char label[1024];
    int algo, vi[SAL_STUDY_MAX_AXES];
    sal_study_decompose(s, p, &algo, vi);
    fprintf(f, "%s,%s", sal_study_label(s, p, label, sizeof label), s->algo[algo].name);
    for (int a = 0; a < s->naxes; a++) fprintf(f, ",%s", s->axis[a].val[vi[a]]);
}

static int fill_compare(FILE *f, const void *p) {
    const sal_study_out *o = p;
    int header = 0;
    for (int pt = 0; pt < sal_study_points(o->s); pt++) {
        if (o->skip[pt]) continue;
        for (int k = 0; k < o->nseeds; k++) {
            char rd[SAL_PATH_MAX], path[SAL_PATH_MAX + 32], line[4096];
            if (sal_study_run_dir(o, pt, k, rd, sizeof rd) || !sal_study_run_done(rd)) continue;
            snprintf(path, sizeof path, "%s/metrics.csv", rd);
            FILE *in = fopen(path, "r");
            if (!in) return -1;
            for (int ln = 0; fgets(line, sizeof line, in); ln++) {
                if (ln == 0 && !header) {
                    lead(f, o->s, -1);
                    fprintf(f, ",seed,%s", line);
                    header = 1;
                }
                if (ln == 0) continue;
                lead(f, o->s, pt);
                fprintf(f, ",%llu,%s", o->seed0 + (unsigned)k, line);
            }
            fclose(in);
        }
    }
    return ferror(f);
}

static int fill_runs(FILE *f, const void *p) {
    const sal_study_out *o = p;
    lead(f, o->s, -1);
    fputs(",seed,final_acc,best_acc,client_acc_mean,client_acc_min,rounds_to_target,"
          "bytes_to_target,time_to_target_s,bytes_total,wall_s,compute_s,comm_s,dir\n",
          f);
    for (int pt = 0; pt < sal_study_points(o->s); pt++) {
        if (o->skip[pt]) continue;
        for (int k = 0; k < o->nseeds; k++) {
            char rd[SAL_PATH_MAX], path[SAL_PATH_MAX + 32];
            if (sal_study_run_dir(o, pt, k, rd, sizeof rd) || !sal_study_run_done(rd)) continue;
            snprintf(path, sizeof path, "%s/metrics.csv", rd);
            sal_run_stats r;
            sal_err e;
            if (sal_run_stats_read(path, o->target, &r, &e)) return -1;
            int reached = r.rounds_to_target >= 0;
            lead(f, o->s, pt);
            fprintf(f, ",%llu", o->seed0 + (unsigned)k);
            num(f, r.final_acc), num(f, r.best_acc), num(f, r.client_mean), num(f, r.client_min);
            num(f, reached ? r.rounds_to_target : NAN);
            num(f, reached ? r.bytes_to_target : NAN), num(f, reached ? r.time_to_target : NAN);
            num(f, r.bytes_total), num(f, r.wall), num(f, r.compute), num(f, r.comm);
            fprintf(f, ",%s\n", rd + strlen(o->dir) + 1);
        }
    }
    return ferror(f);
}

/* clang-format off */
enum { S_FINAL, S_BEST, S_CMEAN, S_CMIN, S_ROUNDS, S_BYTES_T, S_TIME_T, S_BYTES, S_WALL,
       S_COMPUTE, S_COMM, NSTAT };
/* clang-format on */

static int fill_summary(FILE *f, const void *p) {
    const sal_study_out *o = p;
    lead(f, o->s, -1);
    fputs(",n_seeds,final_acc_mean,final_acc_std,best_acc_mean,best_acc_std,"
          "client_acc_mean_mean,client_acc_mean_std,client_acc_min_mean,client_acc_min_std,"
          "n_reached,rounds_to_target_mean,bytes_to_target_mean,time_to_target_s_mean,"
          "bytes_total_mean,wall_s_mean,wall_s_std,compute_s_mean,comm_s_mean,dir\n",
          f);
    double *x = malloc(sizeof *x * NSTAT * (size_t)o->nseeds);
    if (!x) return -1;
    int rc = 0;
    for (int pt = 0; pt < sal_study_points(o->s) && !rc; pt++) {
        if (o->skip[pt]) continue;
        int n = 0, nr = 0; /* finished runs, and those of them that reached the target */
        for (int k = 0; k < o->nseeds; k++) {
            char rd[SAL_PATH_MAX], path[SAL_PATH_MAX + 32];
            if (sal_study_run_dir(o, pt, k, rd, sizeof rd) || !sal_study_run_done(rd)) continue;
            snprintf(path, sizeof path, "%s/metrics.csv", rd);
            sal_run_stats r;
            sal_err e;
            if (sal_run_stats_read(path, o->target, &r, &e)) {
                rc = -1;
                break;
            }
            double *s = x; /* stat-major: statistic c of run n at s[c * nseeds + n] */
            s[S_FINAL * o->nseeds + n] = r.final_acc;
            s[S_BEST * o->nseeds + n] = r.best_acc;
            s[S_CMEAN * o->nseeds + n] = r.client_mean;
            s[S_CMIN * o->nseeds + n] = r.client_min;
            s[S_BYTES * o->nseeds + n] = r.bytes_total;
            s[S_WALL * o->nseeds + n] = r.wall;
            s[S_COMPUTE * o->nseeds + n] = r.compute;
            s[S_COMM * o->nseeds + n] = r.comm;
            if (r.rounds_to_target >= 0) {
                s[S_ROUNDS * o->nseeds + nr] = r.rounds_to_target;
                s[S_BYTES_T * o->nseeds + nr] = r.bytes_to_target;
                s[S_TIME_T * o->nseeds + nr] = r.time_to_target;
                nr++;
            }
            n++;
        }
        if (rc || !n) continue;
        double mean[NSTAT], sd[NSTAT];
        for (int c = 0; c < NSTAT; c++) {
            int cnt = (c == S_ROUNDS || c == S_BYTES_T || c == S_TIME_T) ? nr : n;
            sal_study_mean_std(x + (size_t)c * (size_t)o->nseeds, cnt, &mean[c], &sd[c]);
        }
        char pd[SAL_PATH_MAX];
        sal_study_dir(o->s, pt, pd, sizeof pd);
        lead(f, o->s, pt);
        fprintf(f, ",%d", n);
        num(f, mean[S_FINAL]), num(f, sd[S_FINAL]), num(f, mean[S_BEST]), num(f, sd[S_BEST]);
        num(f, mean[S_CMEAN]), num(f, sd[S_CMEAN]), num(f, mean[S_CMIN]), num(f, sd[S_CMIN]);
        fprintf(f, ",%d", nr);
        num(f, mean[S_ROUNDS]), num(f, mean[S_BYTES_T]), num(f, mean[S_TIME_T]);
        num(f, mean[S_BYTES]), num(f, mean[S_WALL]), num(f, sd[S_WALL]);
        num(f, mean[S_COMPUTE]), num(f, mean[S_COMM]);
        fprintf(f, ",%s\n", pd);
    }
    free(x);
    return rc ? rc : ferror(f);
}

sal_status sal_study_write_tables(const sal_study_out *o, int *done, sal_err *err) {
    char path[SAL_PATH_MAX + 32];
    *done = 0;
    for (int pt = 0; pt < sal_study_points(o->s); pt++)
        for (int k = 0; k < o->nseeds && !o->skip[pt]; k++) {
            char rd[SAL_PATH_MAX];
            *done += !sal_study_run_dir(o, pt, k, rd, sizeof rd) && sal_study_run_done(rd);
        }
    snprintf(path, sizeof path, "%s/compare.csv", o->dir);
    sal_status st = sal_write_atomic(path, fill_compare, o, err);
    snprintf(path, sizeof path, "%s/runs.csv", o->dir);
    if (!st) st = sal_write_atomic(path, fill_runs, o, err);
    snprintf(path, sizeof path, "%s/summary.csv", o->dir);
    if (!st) st = sal_write_atomic(path, fill_summary, o, err);
    return st;
}
