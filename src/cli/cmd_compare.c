/* cmd_compare.c - `salient compare CONFIG.ini --algorithms a,b,...`: runs each algorithm on the
 * same config, data split and seed, one after another on the launched ranks, and writes
 * DIR/compare.csv (every round of every algorithm) and DIR/summary.csv (one row each). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "salient/fsutil.h"
#include "salient/rundir.h"
#include "salient/train.h"
#include "salient/watchdog.h"

#define MAX_ALGOS 16
#define LINE_MAX_ 1024

typedef struct spec {
    char name[64];     /* as given: "dpsgd:ring" */
    char dir_name[64]; /* "dpsgd-ring" */
    sal_algorithm algo;
    int graph;    /* -1: the config's */
    int compress; /* allreduce:none|mask|topk; -1: the config's */
} spec;

static int parse_specs(const char *list, spec *out, int *n) {
    char buf[LINE_MAX_];
    snprintf(buf, sizeof buf, "%s", list);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_ALGOS) return -1;
        spec *s = &out[(*n)++];
        memset(s, 0, sizeof *s);
        s->graph = s->compress = -1;
        if (strlen(tok) >= sizeof s->name) return -2 - (*n - 1);
        snprintf(s->name, sizeof s->name, "%.63s", tok);
        char *colon = strchr(tok, ':');
        if (colon) *colon = '\0';
        sal_config probe;
        sal_config_defaults(&probe);
        char set[160];
        sal_err err;
        snprintf(set, sizeof set, "train.algorithm=%.120s", tok);
        if (sal_config_set(&probe, set, &err)) return -2 - (*n - 1);
        s->algo = probe.algorithm;
        if (colon && s->algo == SAL_ALGO_DPSGD) {
            snprintf(set, sizeof set, "topology.graph=%.120s", colon + 1);
            if (sal_config_set(&probe, set, &err)) return -2 - (*n - 1);
            s->graph = probe.graph;
        } else if (colon && s->algo == SAL_ALGO_ALLREDUCE) {
            snprintf(set, sizeof set, "comm.compress=%.120s", colon + 1);
            if (sal_config_set(&probe, set, &err)) return -2 - (*n - 1);
            s->compress = probe.compress;
        } else if (colon) {
            return -2 - (*n - 1);
        }
        memcpy(s->dir_name, s->name, sizeof s->name);
        for (char *c = s->dir_name; *c; c++)
            if (*c == ':') *c = '-';
    }
    return *n ? 0 : -1;
}

typedef struct summary_row {
    double final_acc, best_acc, bytes_total, wall, compute, comm, bytes_to_target;
    int rounds_to_target;
} summary_row;

typedef struct out_ctx {
    const spec *specs;
    int n;
    const char *dir;
    double target;
} out_ctx;

/* compare.csv: the metrics.csv rows of every algorithm with the algorithm in front. */
static int fill_compare(FILE *f, const void *p) {
    const out_ctx *o = p;
    for (int a = 0; a < o->n; a++) {
        char path[SAL_PATH_MAX + 128], line[LINE_MAX_];
        snprintf(path, sizeof path, "%s/%s/metrics.csv", o->dir, o->specs[a].dir_name);
        FILE *in = fopen(path, "r");
        if (!in) return -1;
        for (int ln = 0; fgets(line, sizeof line, in); ln++) {
            if (ln == 0 && a == 0) fprintf(f, "algorithm,%s", line);
            if (ln > 0) fprintf(f, "%s,%s", o->specs[a].name, line);
        }
        fclose(in);
    }
    return ferror(f);
}

static void summarise(const char *path, double target, summary_row *r) {
    memset(r, 0, sizeof *r);
    r->final_acc = r->best_acc = -1;
    r->rounds_to_target = -1;
    FILE *in = fopen(path, "r");
    if (!in) return;
    char line[LINE_MAX_];
    double cum = 0;
    for (int ln = 0; fgets(line, sizeof line, in); ln++) {
        if (ln == 0) continue;
        /* round,test_acc,test_loss,train_loss,density,bytes_up,bytes_down,comm_s,wait_s,
         * compute_s,wall_s,... : empty test_acc in rounds not evaluated */
        char *f[16] = {0};
        int k = 0;
        for (char *c = line; k < 16; k++) {
            f[k] = c;
            char *comma = strchr(c, ',');
            if (!comma) break;
            *comma = '\0';
            c = comma + 1;
        }
        if (k < 10) continue;
        int round = atoi(f[0]);
        cum += atof(f[5]) + atof(f[6]);
        r->comm += atof(f[7]), r->compute += atof(f[9]), r->wall += atof(f[10]);
        if (f[1][0]) {
            double acc = atof(f[1]);
            r->final_acc = acc;
            if (acc > r->best_acc) r->best_acc = acc;
            if (r->rounds_to_target < 0 && acc >= target)
                r->rounds_to_target = round, r->bytes_to_target = cum;
        }
    }
    r->bytes_total = cum;
    fclose(in);
}

static int fill_summary(FILE *f, const void *p) {
    const out_ctx *o = p;
    fprintf(f, "algorithm,final_acc,best_acc,rounds_to_target,bytes_to_target,bytes_total,wall_s,"
               "compute_s,comm_s\n");
    for (int a = 0; a < o->n; a++) {
        char path[SAL_PATH_MAX + 128];
        snprintf(path, sizeof path, "%s/%s/metrics.csv", o->dir, o->specs[a].dir_name);
        summary_row r;
        summarise(path, o->target, &r);
        fprintf(f, "%s,%.6f,%.6f,", o->specs[a].name, r.final_acc, r.best_acc);
        if (r.rounds_to_target >= 0)
            fprintf(f, "%d,%.0f,", r.rounds_to_target, r.bytes_to_target);
        else
            fprintf(f, ",,"); /* never reached */
        fprintf(f, "%.0f,%.3f,%.3f,%.3f\n", r.bytes_total, r.wall, r.compute, r.comm);
    }
    return ferror(f);
}

static const char *usage =
    "usage: mpirun -np P salient compare CONFIG.ini --algorithms A[,B...] [--target ACC]\n"
    "                                    [--set section.key=value]... [--out DIR] [--force]\n\n"
    "Runs each algorithm of the list on the same config, data split and seed, one after\n"
    "another on the P launched ranks: allreduce (allreduce:none|mask|topk picks [comm]\n"
    "compress), localsgd, dpsgd (dpsgd:GRAPH picks the [topology] graph, e.g. dpsgd:ring,\n"
    "dpsgd:exponential, dpsgd:onepeer-exponential), fedavg\n"
    "(needs P >= 2) and centralized (needs P = 1). Each run writes DIR/<name>/ as salient train\n"
    "does (':' becomes '-'); then DIR/compare.csv holds every round of every run (the\n"
    "metrics.csv columns after an `algorithm` column) and DIR/summary.csv one row per run:\n"
    "  algorithm,final_acc,best_acc,rounds_to_target,bytes_to_target,bytes_total,wall_s,\n"
    "  compute_s,comm_s\n"
    "rounds_to_target and bytes_to_target: the first evaluated round whose test accuracy\n"
    "reaches --target (default 0.8) and the bytes moved up to it; empty if never.\n"
    "DIR: --out, else [run] out, else runs/compare-<config name>. A DIR (or DIR/<name>) that\n"
    "already holds results is refused, nothing written, unless --force overwrites them; while\n"
    "the comparison runs, rank 0 holds DIR/.salient.lock and each DIR/<name>/.salient.lock.\n";

int sal_cmd_compare(int argc, char **argv) {
    const char *list = NULL;
    double target = 0.8;
    char **rest = malloc(sizeof(char *) * (size_t)(argc + 1));
    int nrest = 0;
    if (!rest) return 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            free(rest);
            return 0;
        }
        if ((!strcmp(argv[i], "--algorithms") || !strcmp(argv[i], "--target")) && i + 1 < argc) {
            if (argv[i][2] == 'a')
                list = argv[++i];
            else
                target = atof(argv[++i]);
        } else {
            rest[nrest++] = argv[i];
        }
    }
    sal_config cfg;
    sal_cli_args args;
    int rc = sal_cli_load(nrest, rest, "compare", &cfg, &args);
    spec specs[MAX_ALGOS];
    int nspec = 0;
    FILE *ef = sal_cli_err(); /* NULL on ranks other than the first: they stay quiet */
    if (!rc && !list) {
        if (ef)
            fprintf(ef, "salient compare: --algorithms is required (e.g. allreduce,dpsgd:ring)\n");
        rc = 2;
    }
    if (!rc && !(target > 0 && target <= 1)) {
        if (ef) fprintf(ef, "salient compare: --target must be in (0, 1]\n");
        rc = 2;
    }
    int ps = rc ? 0 : parse_specs(list, specs, &nspec);
    if (!rc && ps) {
        if (ef)
            fprintf(ef, "salient compare: --algorithms '%s': %s\n", list,
                    ps == -1 ? "give 1 to 16 names separated by commas"
                             : "unknown algorithm or graph (see salient compare --help)");
        rc = 2;
    }
    if (rc) {
        free(rest);
        return rc;
    }
    char dir[SAL_PATH_MAX - 80]; /* room for /<name>/metrics.csv under it */
    if (sal_cli_out_dir(dir, sizeof dir, &args, &cfg, "compare-")) {
        fprintf(stderr, "salient compare: --out: the output directory '%.60s...' is longer than "
                        "%zu characters; choose a shorter one\n", dir, sizeof dir - 1);
        free(rest);
        return 2;
    }
    rc = sal_cli_mpi_init("compare", NULL, NULL);
    if (rc) {
        free(rest);
        return rc;
    }
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    sal_wd_start(cfg.comm_timeout, rank, nranks);
    sal_err err;
    err.msg[0] = '\0';
    sal_status st = SAL_OK;
    /* Every algorithm's config, checked before the first one runs: a typo in the last name
     * must not cost the runs before it. */
    sal_config *cs = malloc(sizeof *cs * (size_t)nspec);
    if (!cs) st = sal_fail(&err, SAL_ENOMEM, "out of memory");
    for (int a = 0; !st && a < nspec; a++) {
        sal_config *c = &cs[a];
        *c = cfg;
        c->algorithm = specs[a].algo;
        if (specs[a].graph >= 0) c->graph = (sal_graph_kind)specs[a].graph;
        if (specs[a].compress >= 0) c->compress = (sal_compress)specs[a].compress;
        if (c->algorithm != (c->compress == SAL_COMPRESS_RANDK ? SAL_ALGO_FEDAVG
                                                                : SAL_ALGO_ALLREDUCE))
            c->compress = SAL_COMPRESS_NONE; /* randk: fedavg's uploads; the others: allreduce */
        if (c->algorithm != SAL_ALGO_FEDAVG) c->quantize = SAL_QUANT_NONE; /* fedavg's uploads */
        snprintf(c->out, sizeof c->out, "%.900s/%.63s", dir, specs[a].dir_name);
        for (int b = 0; b < a && !st; b++)
            if (!strcmp(specs[a].dir_name, specs[b].dir_name))
                st = sal_fail(&err, SAL_ECONFIG,
                              "--algorithms names %s twice; give each algorithm once",
                              specs[a].name);
        if (!st) st = sal_config_validate(c, &err);
        if (!st) st = sal_train_check_ranks(c, nranks, &err);
        if (!st) st = sal_rundir_check_paths(c->out, c->rounds, nranks, &err);
        if (st && err.msg[0]) {
            char msg[sizeof err.msg];
            snprintf(msg, sizeof msg, "%s", err.msg);
            sal_fail(&err, st, "%s: %.400s", specs[a].name, msg);
        }
    }
    /* DIR and each DIR/<name>: locked, and refused where they hold results (unless --force) */
    int locks[MAX_ALGOS + 1];
    for (int a = 0; a <= MAX_ALGOS; a++) locks[a] = -1;
    unsigned how = SAL_OUT_NO_RESUME | (args.force ? SAL_OUT_FORCE : 0);
    for (int pass = 0; pass < 2; pass++) { /* check them all, then claim them */
        unsigned h = how | (pass == 0 ? SAL_OUT_CHECK : 0);
        if (!st && rank == 0) st = sal_train_prepare_out(dir, h, &locks[nspec], &err);
        if (!st && rank == 0)
            for (int a = 0; !st && a < nspec; a++)
                st = sal_train_prepare_out(cs[a].out, h, &locks[a], &err);
    }
    int code = st;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    st = (sal_status)code;
    if (st && rank != 0) err.msg[0] = '\0'; /* rank 0 speaks */
    for (int a = 0; !st && a < nspec; a++) {
        sal_config c = cs[a];
        if (rank == 0) fprintf(stderr, "salient compare: %s -> %s/\n", specs[a].name, c.out);
        st = sal_train(&c, c.out, rank == 0 ? stderr : NULL, NULL, &err);
        if (st && rank == 0 && err.msg[0]) {
            char msg[sizeof err.msg];
            snprintf(msg, sizeof msg, "%s", err.msg);
            sal_fail(&err, st, "%s: %.400s", specs[a].name, msg);
        }
    }
    if (!st && rank == 0) {
        out_ctx o = {.specs = specs, .n = nspec, .dir = dir, .target = target};
        char path[SAL_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/compare.csv", dir);
        st = sal_write_atomic(path, fill_compare, &o, &err);
        snprintf(path, sizeof path, "%s/summary.csv", dir);
        if (!st) st = sal_write_atomic(path, fill_summary, &o, &err);
        if (!st) fprintf(stderr, "salient compare: %s/compare.csv, %s/summary.csv\n", dir, dir);
    }
    if (st && err.msg[0]) fprintf(stderr, "salient compare: %s\n", err.msg);
    MPI_Finalize();
    for (int a = 0; a <= MAX_ALGOS; a++)
        if (locks[a] >= 0) close(locks[a]);
    free(cs);
    free(rest);
    return st ? sal_status_exit_code(st) : 0;
}
