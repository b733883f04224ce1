/* cmd_compare.c - `salient compare CONFIG.ini --algorithms a,b [--vary s.k=v1,v2]... [--seeds N]`:
 * a study. Every point (algorithm x varied values) runs once per seed on the launched ranks,
 * each seed on the same data split and client samples at every point; then DIR/compare.csv,
 * runs.csv and summary.csv (study_tables.c). The grid and its rules are in study_grid.c. */
#include <mpi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "salient/fmt.h"
#include "salient/fsutil.h"
#include "salient/rundir.h"
#include "salient/signals.h"
#include "salient/train.h"
#include "salient/watchdog.h"
#include "study.h"

static const char *usage =
    "usage: mpirun -np P salient compare CONFIG.ini --algorithms A[,B...]\n"
    "         [--vary section.key=V1,V2,...]... [--seeds N] [--target ACC]\n"
    "         [--set section.key=value]... [--out DIR] [--force | --resume]\n"
    "         [--point K | --gather | --list]\n\n"
    "A study: each algorithm of the list at every combination of the --vary values (a\n"
    "point), once per seed, one run after another on the P launched ranks. Algorithms:\n"
    "allreduce (allreduce:none|mask|topk picks [comm] compress; mask at a point without a\n"
    "[sparsity] method is the dense allreduce), localsgd, dpsgd\n"
    "(dpsgd:GRAPH picks the [topology] graph: dpsgd:ring, dpsgd:exponential, ...), fedavg\n"
    "(P >= 2; with a [sparsity] method this is SSFL) and centralized (the single-worker\n"
    "baseline: runs on the first rank alone while the others wait).\n"
    "  --vary k=V1,V2  a grid axis, e.g. --vary sparsity.method=none,snip\n"
    "                  --vary sparsity.density=1,0.1,0.05. An invalid combination (method\n"
    "                  none below density 1, centralized with a mask) is skipped with a note.\n"
    "  --seeds N       runs seeds S, S+1, ..., S+N-1 (S: [run] seed) at every point: a seed\n"
    "                  draws the same data split and client samples at every point\n"
    "  --target ACC    rounds, bytes and wall time to the first evaluated round whose test\n"
    "                  accuracy reaches ACC (default 0.8); empty if never\n"
    "  --resume        continue an interrupted study in DIR: finished runs (summary.json)\n"
    "                  are kept, unfinished ones run again; DIR/study.ini must match\n"
    "  --point K       run only point K of N (1-based, as the progress lines count them:\n"
    "                  algorithm-major, the last --vary fastest; sbatch --array=1-N), keeping\n"
    "                  its finished runs; no tables\n"
    "  --gather        run nothing: write the tables from the finished runs in DIR\n"
    "  --list          print the points, 'K<TAB>label' per line, and exit (no MPI; the\n"
    "                  rank count decides what is skipped, so every point is listed)\n"
    "Each run writes DIR/ALGO[/KEY=V,KEY=V][/seedS]/ as salient train does (ALGO with ':'\n"
    "as '-'; /seedS with --seeds). Then, from the finished runs:\n"
    "  DIR/compare.csv  every round: point,algorithm,KEYS...,seed, then metrics.csv's columns\n"
    "  DIR/runs.csv     every run: point,algorithm,KEYS...,seed,final_acc,best_acc,\n"
    "                   client_acc_mean,client_acc_min,rounds_to_target,bytes_to_target,\n"
    "                   time_to_target_s,bytes_total,wall_s,compute_s,comm_s,dir\n"
    "  DIR/summary.csv  every point: point,algorithm,KEYS...,n_seeds,final_acc_mean,\n"
    "                   final_acc_std,best_acc_mean,best_acc_std,client_acc_mean_mean,\n"
    "                   client_acc_mean_std,client_acc_min_mean,client_acc_min_std,n_reached,\n"
    "                   rounds_to_target_mean,bytes_to_target_mean,time_to_target_s_mean,\n"
    "                   bytes_total_mean,wall_s_mean,wall_s_std,compute_s_mean,comm_s_mean,dir\n"
    "  (std: over seeds, empty with one; the _to_target means: over the n_reached seeds;\n"
    "  client_acc_*: the clients' own test splits at the last evaluation, as metrics.csv)\n"
    "and DIR/study.ini (the study, for --resume and scripts/plot-compare DIR, which draws it).\n"
    "DIR: --out, else [run] out, else runs/compare-<config name>. A DIR that holds results is\n"
    "refused unless --resume continues it or --force overwrites it; rank 0 holds\n"
    "DIR/.salient.lock and the running run's lock.\n";

typedef struct opts {
    const char *algorithms;
    const char *vary[SAL_STUDY_MAX_AXES + 1];
    int nvary;
    int seeds; /* 0: not given (one seed, runs in the point's directory) */
    double target;
    int resume, gather, list, point; /* point: 1-based, -1 = all */
} opts;


/* The options of this command out of argv; the rest (CONFIG, --set, --out, --force) into rest.
 * Returns 0, or 2 after one line on the first rank. */
static int parse_opts(int argc, char **argv, opts *o, char **rest, int *nrest, int *help) {
    FILE *ef = sal_cli_err();
    memset(o, 0, sizeof *o);
    o->target = 0.8;
    o->point = -1;
    *nrest = 0;
    *help = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int valued = !strcmp(a, "--algorithms") || !strcmp(a, "--target") || !strcmp(a, "--vary") ||
                     !strcmp(a, "--seeds") || !strcmp(a, "--point");
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = 1;
            return 0;
        } else if (valued && i + 1 >= argc) {
            if (ef)
                fprintf(ef, "salient compare: %s needs a value (see salient compare --help)\n", a);
            return 2;
        } else if (!strcmp(a, "--algorithms")) {
            o->algorithms = argv[++i];
        } else if (!strcmp(a, "--vary")) {
            if (o->nvary == SAL_STUDY_MAX_AXES) {
                if (ef) fprintf(ef, "salient compare: at most %d --vary\n", SAL_STUDY_MAX_AXES);
                return 2;
            }
            o->vary[o->nvary++] = argv[++i];
        } else if (!strcmp(a, "--target") || !strcmp(a, "--seeds") || !strcmp(a, "--point")) {
            const char *v = argv[++i];
            char *end;
            double x = strtod(v, &end);
            int whole = *v && !*end && x == floor(x);
            if (a[2] == 't' && (!*v || *end || !(x > 0 && x <= 1))) {
                if (ef) fprintf(ef, "salient compare: --target must be in (0, 1]\n");
                return 2;
            }
            if (a[2] == 's' && (!whole || x < 1 || x > SAL_STUDY_MAX_SEEDS)) {
                if (ef)
                    fprintf(ef, "salient compare: --seeds '%s': a whole number from 1 to %d\n", v,
                            SAL_STUDY_MAX_SEEDS);
                return 2;
            }
            if (a[2] == 'p' && (!whole || x < 1 || x > SAL_STUDY_MAX_POINTS)) {
                if (ef) fprintf(ef, "salient compare: --point '%s': a point number from 1\n", v);
                return 2;
            }
            if (a[2] == 't') o->target = x;
            if (a[2] == 's') o->seeds = (int)x;
            if (a[2] == 'p') o->point = (int)x;
        } else if (!strcmp(a, "--resume")) {
            o->resume = 1;
        } else if (!strcmp(a, "--gather")) {
            o->gather = 1;
        } else if (!strcmp(a, "--list")) {
            o->list = 1;
        } else {
            rest[(*nrest)++] = argv[i];
        }
    }
    return 0;
}

/* DIR/study.ini: the study's definition, then its base config, resolved. --resume, --point and
 * --gather find it unchanged (the config = line aside: a path may be spelled differently);
 * scripts/plot-compare reads its title from it. malloc'ed; NULL when out of memory. */
static char *study_text(const opts *o, const sal_cli_args *args, const sal_config *cfg,
                        int nranks) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fprintf(f, "# study.ini - written by salient compare; --resume checks the lines below it\n");
    fprintf(f, "config = %s\n", args->config_path);
    fprintf(f, "algorithms = %s\n", o->algorithms);
    for (int i = 0; i < o->nvary; i++) fprintf(f, "vary = %s\n", o->vary[i]);
    fprintf(f, "seeds = %d\nseed = %llu\nranks = %d\n", o->seeds ? o->seeds : 1,
            (unsigned long long)cfg->seed, nranks);
    fprintf(f, "seed_dirs = %d\n\n# the base config (every --vary value is set on it)\n",
            o->seeds > 0);
    sal_config base = *cfg;
    base.out[0] = '\0'; /* --out is the study's, not a run's */
    sal_config_write(&base, f);
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* past the config = line */
static const char *study_body(const char *text) {
    const char *c = strstr(text, "\nalgorithms = ");
    return c ? c : text;
}

static int fill_text(FILE *f, const void *text) {
    return fputs(text, f) < 0;
}

/* Rank 0: DIR/study.ini matches text (SAL_OK), or says how it differs. missing: what a
 * missing file means (SAL_OK to write it, or an error). */
static sal_status check_study_ini(const char *dir, const char *text, int missing_ok, int *exists,
                                  sal_err *err) {
    char path[SAL_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/study.ini", dir);
    *exists = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return missing_ok ? SAL_OK
                          : sal_fail(err, SAL_ECONFIG,
                                     "'%s' not found: no study in '%s' to "
                                     "gather (run it first, same --out)",
                                     path, dir);
    *exists = 1;
    char *old = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&old, &cap, '\0', f);
    fclose(f);
    sal_status st = SAL_OK;
    if (n < 0 || strcmp(study_body(old), study_body(text))) {
        /* the first line that differs, for the message */
        const char *a = n < 0 ? "" : study_body(old), *b = study_body(text);
        while (*a && *a == *b) a++, b++;
        while (a > (n < 0 ? a : study_body(old)) && a[-1] != '\n') a--, b--;
        st = sal_fail(err, SAL_ECONFIG,
                      "'%s' describes another study (it has '%.*s' where this one has '%.*s'); "
                      "give the same config, --set, --algorithms, --vary, --seeds and ranks, or "
                      "choose another --out (--force starts over)",
                      path, (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
    }
    free(old);
    return st;
}

/* Rank 0's side of the study's directory, before any run (st: SAL_OK to go on). */
static sal_status prepare_dir(const opts *o, const sal_cli_args *args, const sal_study_out *out,
                              const char *text, int *lock, sal_err *err) {
    const char *dir = out->dir;
    int exists = 0;
    sal_status st = sal_mkdir_p(dir, err);
    if (!st && (o->resume || o->gather || o->point >= 0))
        st = check_study_ini(dir, text, !o->gather, &exists, err);
    if (!st && !o->resume && !o->gather && o->point < 0) {
        char path[SAL_PATH_MAX + 32];
        struct stat sb;
        snprintf(path, sizeof path, "%s/study.ini", dir);
        if (!args->force && !stat(path, &sb))
            return sal_fail(err, SAL_ECONFIG,
                            "output directory '%s' already holds a study (study.ini); continue it "
                            "with --resume, overwrite it with --force, or choose another --out",
                            dir);
        /* every run's directory checked before any is touched: a refusal leaves them all */
        unsigned how = SAL_OUT_NO_RESUME | (args->force ? SAL_OUT_FORCE : 0);
        st = sal_train_prepare_out(dir, how | SAL_OUT_CHECK, lock, err);
        for (int p = 0; !st && p < sal_study_points(out->s); p++)
            for (int k = 0; !st && !out->skip[p] && k < out->nseeds; k++) {
                char rd[SAL_PATH_MAX];
                int fd;
                if (sal_study_run_dir(out, p, k, rd, sizeof rd))
                    return sal_fail(err, SAL_ECONFIG,
                                    "a run directory under '%s' is too long; "
                                    "choose a shorter --out",
                                    dir);
                if (!access(rd, F_OK))
                    st = sal_train_prepare_out(rd, how | SAL_OUT_CHECK, &fd, err);
            }
        if (!st) st = sal_train_prepare_out(dir, how, lock, err);
    } else if (!st && o->point < 0) {
        /* --resume, --gather: DIR's own tables are rewritten at the end */
        st = sal_train_prepare_out(dir, SAL_OUT_RESUME, lock, err);
    }
    if (!st && !exists && !o->gather) {
        char path[SAL_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/study.ini", dir);
        st = sal_write_atomic(path, fill_text, text, err);
    }
    return st;
}

/* centralized on rank 0 alone; the others wait without spinning on a core it may share */
static sal_status run_alone(const sal_config *c, const char *rd, int rank, sal_err *err) {
    sal_status st = SAL_OK;
    if (rank == 0) st = sal_train_alone(c, rd, stderr, err);
    MPI_Request rq;
    MPI_Ibarrier(MPI_COMM_WORLD, &rq);
    for (int done = 0; !done;) {
        MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
        if (!done) nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    int code = st;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return (sal_status)code;
}

int sal_cmd_compare(int argc, char **argv) {
    char **rest = malloc(sizeof(char *) * (size_t)(argc + 1));
    sal_study *s = calloc(1, sizeof *s);
    unsigned char *skip = calloc(SAL_STUDY_MAX_POINTS, 1);
    char *text = NULL;
    int nrest = 0, help = 0, rc = 0;
    opts o;
    if (!rest || !s || !skip) {
        free(rest), free(s), free(skip);
        return 1;
    }
    rc = parse_opts(argc, argv, &o, rest, &nrest, &help);
    if (!rc && help) {
        fputs(usage, stdout);
        goto early;
    }
    sal_config cfg;
    sal_cli_args args;
    if (!rc) rc = sal_cli_load(nrest, rest, "compare", &cfg, &args);
    FILE *ef = sal_cli_err(); /* NULL on ranks other than the first: they stay quiet */
    sal_err err;
    err.msg[0] = '\0';
    if (!rc && !o.algorithms) {
        if (ef)
            fprintf(ef, "salient compare: --algorithms is required (e.g. allreduce,dpsgd:ring)\n");
        rc = 2;
    }
    if (!rc && o.resume + o.gather + (o.point >= 0) + args.force > 1) {
        if (ef)
            fprintf(ef, "salient compare: give at most one of --resume, --gather, --point and "
                        "--force\n");
        rc = 2;
    }
    if (!rc && sal_study_set_algorithms(s, o.algorithms, &err)) rc = 2;
    for (int i = 0; !rc && i < o.nvary; i++)
        if (sal_study_add_vary(s, o.vary[i], &err)) rc = 2;
    if (!rc && o.point > sal_study_points(s)) {
        sal_fail(&err, SAL_ECONFIG, "--point %d: the study has points 1 to %d", o.point,
                 sal_study_points(s));
        rc = 2;
    }
    if (rc) {
        if (ef && err.msg[0]) fprintf(ef, "salient compare: %s\n", err.msg);
        goto early;
    }
    if (o.list) { /* no MPI: scripts size their job arrays with it */
        for (int p = 0; p < sal_study_points(s); p++) {
            char label[1024];
            printf("%d\t%s\n", p + 1, sal_study_label(s, p, label, sizeof label));
        }
        goto early;
    }
    char dir[SAL_PATH_MAX - 300]; /* room for the point and seed directories under it */
    if (sal_cli_out_dir(dir, sizeof dir, &args, &cfg, "compare-")) {
        if (ef)
            fprintf(ef,
                    "salient compare: --out: the output directory '%.60s...' is longer than "
                    "%zu characters; choose a shorter one\n",
                    dir, sizeof dir - 1);
        rc = 2;
        goto early;
    }
    rc = sal_cli_mpi_init("compare", NULL, NULL);
    if (rc) goto early;
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    sal_wd_start(cfg.comm_timeout, rank, nranks);
    sal_signals_install();
    sal_status st = SAL_OK;
    /* --gather may run on fewer ranks (one Slurm task): the rules that skip points, and the
     * study.ini it checks, are those of the rank count the study ran on */
    int study_ranks = nranks;
    if (o.gather && rank == 0) {
        char path[SAL_PATH_MAX + 32], line[256];
        snprintf(path, sizeof path, "%s/study.ini", dir);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "ranks = %d", &study_ranks) == 1) break;
        if (f) fclose(f);
        if (study_ranks < 1) study_ranks = nranks;
    }
    MPI_Bcast(&study_ranks, 1, MPI_INT, 0, MPI_COMM_WORLD);
    sal_study_out out = {.s = s,
                         .dir = dir,
                         .skip = skip,
                         .nseeds = o.seeds ? o.seeds : 1,
                         .seed0 = (unsigned long long)cfg.seed,
                         .seed_dirs = o.seeds > 0,
                         .target = o.target};
    /* Every point's config, checked before the first run: a typo must not cost the runs
     * before it, and a combination that cannot run is skipped, said once. */
    int npoints = sal_study_points(s);
    for (int p = 0; p < npoints; p++) {
        sal_config c;
        skip[p] = sal_study_config(s, p, &cfg, study_ranks, &c, &err) != SAL_OK;
    }
    /* An algorithm none of whose points can run is a mistake in the command (fedavg on one
     * rank), not a corner of the grid: refused, with its first point's reason. */
    int per_algo = npoints / s->nalgo;
    for (int a = 0; !st && a < s->nalgo; a++) {
        int runs = 0;
        for (int p = a * per_algo; p < (a + 1) * per_algo; p++) runs += !skip[p];
        if (!runs) {
            sal_config c;
            sal_study_config(s, a * per_algo, &cfg, study_ranks, &c, &err);
            char msg[sizeof err.msg];
            snprintf(msg, sizeof msg, "%s", err.msg);
            st = sal_fail(&err, SAL_ECONFIG, "%s: %.400s", s->algo[a].name, msg);
        }
    }
    /* every run's directory short enough for its checkpoints' names (rundir.h) */
    for (int p = 0; !st && p < npoints; p++)
        for (int k = 0; !st && !skip[p] && k < out.nseeds; k++) {
            sal_config c;
            char rd[SAL_PATH_MAX];
            sal_study_config(s, p, &cfg, nranks, &c, &err);
            if (sal_study_run_dir(&out, p, k, rd, sizeof rd))
                st = sal_fail(&err, SAL_ECONFIG,
                              "a run directory under '%.60s' is too long; "
                              "choose a shorter --out",
                              dir);
            else
                st = sal_rundir_check_paths(rd, c.rounds, nranks, &err);
            if (st) {
                char msg[sizeof err.msg], label[1024];
                snprintf(msg, sizeof msg, "%s", err.msg);
                sal_fail(&err, st, "%s: %.400s", sal_study_label(s, p, label, sizeof label), msg);
            }
        }
    text = study_text(&o, &args, &cfg, study_ranks);
    if (!st && !text) st = sal_fail(&err, SAL_ENOMEM, "out of memory");
    int dirlock = -1;
    if (!st && rank == 0) st = prepare_dir(&o, &args, &out, text, &dirlock, &err);
    int code = st;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    st = (sal_status)code;
    if (st && rank != 0) err.msg[0] = '\0'; /* rank 0 speaks */

    for (int p = 0; !st && rank == 0 && !o.gather && p < npoints; p++) {
        sal_config c;
        char label[1024];
        if (skip[p] && (o.point < 0 || o.point == p + 1) &&
            sal_study_config(s, p, &cfg, study_ranks, &c, &err))
            fprintf(stderr, "salient compare: skipping point %d/%d (%s): %s\n", p + 1, npoints,
                    sal_study_label(s, p, label, sizeof label), err.msg);
    }
    /* the runs still to do, for the progress line's count and ETA */
    int todo = 0, total = 0, ran = 0, stopped = 0;
    int p0 = o.point > 0 ? o.point - 1 : 0, p1 = o.point > 0 ? o.point : npoints;
    for (int p = p0; !st && !o.gather && p < p1; p++)
        for (int k = 0; !skip[p] && k < out.nseeds; k++) {
            char rd[SAL_PATH_MAX];
            total++;
            sal_study_run_dir(&out, p, k, rd, sizeof rd);
            todo += !((o.resume || o.point >= 0) && sal_study_run_done(rd));
        }
    if (!st && rank == 0 && !o.gather && todo < total)
        fprintf(stderr,
                "salient compare: %d of %d runs already finished in %s/; running the "
                "other %d\n",
                total - todo, total, dir, todo);
    double t0 = MPI_Wtime();
    for (int p = p0; !st && !stopped && !o.gather && p < p1; p++) {
        for (int k = 0; !st && !stopped && !skip[p] && k < out.nseeds; k++) {
            char rd[SAL_PATH_MAX], label[1024], eta[32] = "-";
            sal_study_run_dir(&out, p, k, rd, sizeof rd);
            if ((o.resume || o.point >= 0) && sal_study_run_done(rd)) continue;
            sal_config c;
            sal_study_config(s, p, &cfg, nranks, &c, &err);
            c.seed = out.seed0 + (unsigned)k;
            snprintf(c.out, sizeof c.out, "%s", rd);
            int lock = -1;
            /* an unfinished run of an interrupted study starts over */
            unsigned how =
                (o.resume || o.point >= 0 || args.force) ? SAL_OUT_FORCE : SAL_OUT_NO_RESUME;
            if (rank == 0) st = sal_train_prepare_out(rd, how, &lock, &err);
            code = st;
            MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
            st = (sal_status)code;
            if (st) break;
            if (ran) sal_fmt_duration((MPI_Wtime() - t0) / ran * (todo - ran), eta, sizeof eta);
            if (rank == 0)
                fprintf(stderr,
                        "salient compare: point %d/%d (%s), seed %llu (%d/%d): run %d/%d, "
                        "ETA %s -> %s/\n",
                        p + 1, npoints, sal_study_label(s, p, label, sizeof label),
                        (unsigned long long)c.seed, k + 1, out.nseeds, ran + 1, todo, eta, rd);
            if (c.algorithm == SAL_ALGO_CENTRALIZED && nranks > 1)
                st = run_alone(&c, rd, rank, &err);
            else
                st = sal_train(&c, rd, rank == 0 ? stderr : NULL, NULL, &err);
            if (lock >= 0) close(lock);
            if (st && rank == 0 && err.msg[0]) {
                char msg[sizeof err.msg];
                snprintf(msg, sizeof msg, "%s", err.msg);
                sal_fail(&err, st, "%s, seed %llu: %.400s", label, (unsigned long long)c.seed, msg);
            }
            ran++;
            stopped = rank == 0 && sal_signal_stopped();
            MPI_Bcast(&stopped, 1, MPI_INT, 0, MPI_COMM_WORLD);
        }
    }
    if (!st && stopped && rank == 0)
        fprintf(stderr,
                "salient compare: stopped by %s after %d run(s); continue the study with "
                "--resume (same arguments)\n",
                sal_signal_name(sal_signal_pending()), ran);
    if (!st && !stopped && rank == 0 && o.point > 0)
        fprintf(stderr,
                "salient compare: point %d done; salient compare --gather writes the "
                "tables once every point is\n",
                o.point);
    if (!st && !stopped && rank == 0 && o.point < 0) {
        int done = 0;
        st = sal_study_write_tables(&out, &done, &err);
        if (!st) {
            fprintf(stderr,
                    "salient compare: %s/summary.csv (%d run(s)), runs.csv, compare.csv; "
                    "plots: scripts/plot-compare %s\n",
                    dir, done, dir);
            sal_study_print_summary(&out, stdout);
        }
    }
    if (st && err.msg[0]) fprintf(stderr, "salient compare: %s\n", err.msg);
    MPI_Finalize();
    if (dirlock >= 0) close(dirlock);
    rc = st ? sal_status_exit_code(st) : 0;
early:
    free(text);
    free(skip);
    free(s);
    free(rest);
    /* refused before MPI started (every rank alike): under mpirun no rank may leave before
     * the first has printed the line (cli.h); a no-op once MPI ran */
    return sal_cli_exit_together(rc);
}
