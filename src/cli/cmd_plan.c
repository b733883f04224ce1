/* cmd_plan.c - `salient plan CONFIG.ini`: how long the run will take on N nodes, before it is
 * submitted. Measures this machine's throughput for the config's model (or takes a stored one),
 * applies the round model of docs/scaling.md (predict.c) and prints `key: value` lines, as
 * `salient topo` does. Runs without mpirun: it is meant for a login node or a job script. */
/* sched_getaffinity needs _GNU_SOURCE, which the build defines */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "salient/partition.h"
#include "salient/predict.h"
#include "salient/sparsity.h"
#include "salient/topo.h"
#include "salient/train.h"

static const char *usage =
    "usage: salient plan CONFIG.ini [--nodes N] [--tasks-per-node R] [--threads T]\n"
    "                    [--network ib100|eth10|eth1|shm] [--alpha S] [--beta S_PER_BYTE]\n"
    "                    [--rate TRAIN[,EVAL]] [--calibrate SECONDS] [--set section.key=value]...\n\n"
    "Predicts the time of one round and of the whole run of CONFIG.ini on N nodes with R MPI\n"
    "ranks each and T threads per rank, and prints one `key: value` a line: the inputs, then\n"
    "predicted_compute_s, predicted_comm_s, predicted_wait_s and predicted_eval_s of a round\n"
    "(the busiest rank's training, its own transfers, its waiting for the others, evaluation\n"
    "spread over eval_every), predicted_round_s, predicted_setup_s (round 0's mask) and\n"
    "predicted_wall_s = setup + rounds x round. The model is docs/scaling.md's, fed with this\n"
    "run's own partition, mask size and client sample, placed on ranks as [run] placement says\n"
    "(fedavg: busiest_rank_clients, ceil(m / client ranks) with balanced).\n\n"
    "Throughput: measured here (the config's model, batch and data, --calibrate seconds of\n"
    "training steps, default 2) on min(T, this machine's cores) threads; for more threads than\n"
    "that, Amdahl's law fitted to 1 and that many threads. --rate TRAIN[,EVAL] gives a stored\n"
    "one instead (samples/s of one rank with T threads; EVAL defaults to 3 x TRAIN).\n"
    "Network: alpha (s per message) and beta (s per byte): ib100 (100 Gb/s InfiniBand: 2e-6,\n"
    "8e-11), eth10 (20e-6, 8e-10), eth1 (50e-6, 8e-9), shm (one node's shared memory: 3.1e-6,\n"
    "3.2e-10); default shm on one node, ib100 on more; --alpha/--beta override. On more than\n"
    "one node, the R ranks of a node share its link (beta x R).\n"
    "Defaults: --nodes 1, --tasks-per-node 1 (2 when one rank is too few for the algorithm),\n"
    "--threads: [run] threads. Left out: contention, stragglers, checkpoints, data loading.\n"
    "Errors exit 2.\n";

typedef struct net {
    const char *name;
    double alpha, beta;
} net;
static const net nets[] = {{"ib100", 2e-6, 8e-11},
                           {"eth10", 20e-6, 8e-10},
                           {"eth1", 50e-6, 8e-9},
                           {"shm", 3.1e-6, 3.2e-10}};

typedef struct opts {
    long nodes, tasks, threads;
    const net *network;
    double alpha, beta;          /* < 0: the network's */
    double rate, eval_rate;      /* > 0: given */
    double calib_s;
} opts;

static int bad(const char *what, const char *v, const char *want) {
    fprintf(stderr, "salient plan: %s '%s': %s\n", what, v, want);
    return 2;
}

static int num(const char *flag, const char *v, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi)) {
        char want[96];
        snprintf(want, sizeof want, "expected a number in [%g, %g]", lo, hi);
        return bad(flag, v, want);
    }
    *out = d;
    return 0;
}

static int whole(const char *flag, const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        char want[96];
        snprintf(want, sizeof want, "expected an integer in [%ld, %ld]", lo, hi);
        return bad(flag, v, want);
    }
    *out = x;
    return 0;
}

/* Split argv into plan's own options (o) and the rest for sal_cli_load. */
static int parse(int argc, char **argv, opts *o, char **rest, int *nrest) {
    *o = (opts){.nodes = 1, .tasks = 0, .threads = 0, .alpha = -1, .beta = -1, .calib_s = 2};
    *nrest = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int own = !strcmp(a, "--nodes") || !strcmp(a, "--tasks-per-node") ||
                  !strcmp(a, "--threads") || !strcmp(a, "--network") || !strcmp(a, "--alpha") ||
                  !strcmp(a, "--beta") || !strcmp(a, "--rate") || !strcmp(a, "--calibrate");
        if (!own) {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) return bad(a, "", "needs a value (see salient plan --help)");
        const char *v = argv[++i];
        int rc = 0;
        if (!strcmp(a, "--nodes")) rc = whole(a, v, 1, 1 << 20, &o->nodes);
        if (!strcmp(a, "--tasks-per-node")) rc = whole(a, v, 1, 4096, &o->tasks);
        if (!strcmp(a, "--threads")) rc = whole(a, v, 1, 1024, &o->threads);
        if (!strcmp(a, "--alpha")) rc = num(a, v, 0, 1, &o->alpha);
        if (!strcmp(a, "--beta")) rc = num(a, v, 0, 1, &o->beta);
        if (!strcmp(a, "--calibrate")) rc = num(a, v, 0.05, 600, &o->calib_s);
        if (!strcmp(a, "--network")) {
            o->network = NULL;
            for (size_t k = 0; k < sizeof nets / sizeof *nets; k++)
                if (!strcmp(v, nets[k].name)) o->network = &nets[k];
            if (!o->network) rc = bad(a, v, "expected ib100, eth10, eth1 or shm");
        }
        if (!strcmp(a, "--rate")) {
            char buf[128];
            snprintf(buf, sizeof buf, "%s", v);
            char *comma = strchr(buf, ',');
            if (comma) *comma = '\0';
            rc = num(a, buf, 1e-6, 1e12, &o->rate);
            if (!rc) o->eval_rate = 3 * o->rate;
            if (!rc && comma) rc = num(a, comma + 1, 1e-6, 1e12, &o->eval_rate);
        }
        if (rc) return rc;
    }
    return 0;
}

static int cores_here(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return 1;
}

/* The model's trainable (n) and state (ns) floats, and the entries z the run's mask keeps: the
 * mask of the config's scope and layer densities over random scores (every method keeps the
 * same count; only which entries differs); z = n when dense. */
static sal_status model_sizes(const sal_config *cfg, const sal_dataset *train, size_t *n,
                              size_t *ns, size_t *z, sal_err *err) {
    sal_model *m = sal_model_from_config(cfg, train, err);
    if (!m) return SAL_ECONFIG;
    sal_params *p = sal_model_params(m);
    *n = *z = p->n, *ns = p->ns;
    sal_status st = SAL_OK;
    /* a [sparsity] schedule's first mask: its later prunes only shrink the messages */
    const double density =
        cfg->schedule == SAL_SCHED_FIXED ? cfg->density : cfg->start_density;
    if (cfg->method != SAL_SPARSE_NONE && density < 1) {
        float *score = malloc(sizeof(float) * p->n), *mask = malloc(sizeof(float) * p->n);
        double *dens = malloc(sizeof(double) * (size_t)p->ntensors);
        if (!score || !mask || !dens) {
            st = sal_fail(err, SAL_ENOMEM, "out of memory sizing the mask");
        } else {
            sal_score_random(p, cfg->seed, score);
            if (cfg->method == SAL_SPARSE_ERK) {
                st = sal_layer_densities_erk(p, density, dens, err);
                if (!st) st = sal_mask_topk_layers(p, score, dens, mask, err);
            } else if (cfg->scope == SAL_SCOPE_LAYERWISE) {
                sal_layer_densities_uniform(p, density, dens);
                st = sal_mask_topk_layers(p, score, dens, mask, err);
            } else {
                st = sal_mask_topk_global(p, score, density, mask, err);
            }
            size_t k = 0;
            for (size_t i = 0; !st && i < p->n; i++) k += mask[i] != 0;
            if (!st) *z = k;
        }
        free(score), free(mask), free(dens);
    }
    sal_model_free(m);
    return st;
}

static sal_status graph_degree(const sal_config *cfg, int P, int *deg, sal_err *err) {
    *deg = 0;
    if (cfg->algorithm != SAL_ALGO_DPSGD) return SAL_OK;
    sal_graph g = {0};
    sal_graph_spec spec = {.kind = cfg->graph, .nodes = P, .degree = cfg->degree, .p = cfg->p,
                           .seed = cfg->seed, .weights = cfg->weights};
    sal_status st = sal_graph_build(&spec, &g, err);
    for (int i = 0; !st && i < g.n; i++) {
        int d = (int)(g.offset[i + 1] - g.offset[i]);
        *deg = d > *deg ? d : *deg;
    }
    if (!st && g.period > 0) *deg = 1; /* one partner per step */
    sal_graph_free(&g);
    return st;
}

static void print_duration(const char *key, double s) {
    long t = lround(s);
    printf("%s: %ldh %02ldm %02lds\n", key, t / 3600, t / 60 % 60, t % 60);
}

int sal_cmd_plan(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        }
    opts o;
    char **rest = malloc(sizeof(char *) * (size_t)(argc + 1));
    if (!rest) return 1;
    int nrest, rc = parse(argc, argv, &o, rest, &nrest);
    sal_config cfg;
    sal_cli_args args;
    if (!rc) rc = sal_cli_load(nrest, rest, "plan", &cfg, &args);
    free(rest);
    if (rc) return rc;
    if (args.out || args.resume || args.force)
        return bad("option", args.out ? "--out" : "--resume", "plan writes nothing; leave it out");
    if (o.threads == 0) o.threads = cfg.threads;
    if (o.tasks == 0) o.tasks = (o.nodes == 1 && cfg.algorithm != SAL_ALGO_CENTRALIZED) ? 2 : 1;
    if (!o.network) o.network = &nets[o.nodes == 1 ? 3 : 0];
    const long P = o.nodes * o.tasks;
    if (P > 1 << 24) return bad("--nodes x --tasks-per-node", "", "more than 16777216 ranks");
    cfg.threads = (int)o.threads;

    sal_dataset train = {0}, test = {0};
    sal_partition part = {0};
    sal_err err;
    int *samples = NULL, deg = 0;
    size_t n = 0, ns = 0, z = 0;
    double r1 = 0, rT = 0, ev = 0, speedup = 1;
    int tcal = (int)o.threads;
    sal_status st = sal_train_check_ranks(&cfg, (int)P, &err);
    if (!st) st = sal_load_data(&cfg, &train, &test, &err);
    if (!st) {
        sal_partition_opts po = {cfg.partition, cfg.clients, cfg.alpha, cfg.shards_per_client,
                                 cfg.seed};
        st = sal_partition_make(&part, train.y, train.n, train.classes, &po, &err);
    }
    if (!st && !(samples = malloc(sizeof(int) * (size_t)cfg.clients)))
        st = sal_fail(&err, SAL_ENOMEM, "out of memory for %d clients", cfg.clients);
    for (int c = 0; !st && c < cfg.clients; c++) samples[c] = part.offset[c + 1] - part.offset[c];
    if (!st) st = model_sizes(&cfg, &train, &n, &ns, &z, &err);
    if (!st) st = graph_degree(&cfg, (int)P, &deg, &err);
    if (!st && o.rate > 0) {
        rT = o.rate, ev = o.eval_rate;
    } else if (!st) {
        /* measure on as many threads as this machine has (at most T); beyond, Amdahl's law
         * through the 1-thread and tcal-thread points */
        const int cores = cores_here();
        tcal = o.threads < cores ? (int)o.threads : cores;
        double e1;
        st = sal_calibrate(&cfg, &train, tcal, o.calib_s, &rT, &ev, &err);
        if (!st && o.threads > 1 && tcal > 1) st = sal_calibrate(&cfg, &train, 1, o.calib_s, &r1, &e1, &err);
        if (!st && o.threads > tcal) {
            double s = 0; /* serial fraction; 0 when only one thread could be measured */
            if (tcal > 1) s = fmin(1, fmax(0, ((double)tcal * r1 / rT - 1) / (tcal - 1)));
            speedup = 1 / (s + (1 - s) / (double)o.threads);
            const double base = tcal > 1 ? r1 : rT, ebase = tcal > 1 ? e1 : ev;
            rT = base * speedup, ev = ebase * speedup;
        } else if (!st && r1 > 0) {
            speedup = rT / r1;
        }
    }
    sal_prediction pr;
    sal_predict_in inn = {.ranks = (int)P,
                               /* one node: its ranks talk through shared memory, whose
                                * alpha and beta were fitted with the node's ranks busy */
                               .tasks_per_node = o.nodes == 1 ? 1 : (int)o.tasks,
                               .train_rate = rT,
                               .eval_rate = ev,
                               .alpha = o.alpha >= 0 ? o.alpha : o.network->alpha,
                               .beta = o.beta >= 0 ? o.beta : o.network->beta,
                               .delta = cfg.cost_delta,
                               .sigma = 4e-9,
                               .n = n,
                               .ns = ns,
                               .z = z,
                               .degree = deg,
                               .client_samples = samples,
                               .test_samples = test.n};
    if (!st) st = sal_predict(&cfg, &inn, &pr, &err);
    if (st) {
        fprintf(stderr, "salient plan: %s\n", err.msg);
    } else {
        printf("config: %s\n", args.config_path);
        printf("algorithm: %s\n", sal_config_enum_name("train", "algorithm", cfg.algorithm));
        printf("model: %s\n", sal_config_enum_name("model", "arch", cfg.arch));
        printf("parameters: %zu\nstate_floats: %zu\nsent_floats: %zu\n", inn.n, inn.ns,
               cfg.algorithm == SAL_ALGO_FEDAVG ? inn.z + inn.ns : inn.z);
        printf("nodes: %ld\ntasks_per_node: %ld\nranks: %ld\nthreads: %ld\n", o.nodes, o.tasks, P,
               o.threads);
        printf("network: %s\nalpha_s: %g\nbeta_s_per_byte: %g\n",
               o.alpha >= 0 || o.beta >= 0 ? "given" : o.network->name, inn.alpha, inn.beta);
        if (o.rate > 0)
            printf("calibration: given (--rate)\n");
        else if (o.threads > tcal)
            printf("calibration: measured here on %d thread(s), Amdahl's law to %ld\n", tcal,
                   o.threads);
        else
            printf("calibration: measured here on %d thread(s)\n", tcal);
        printf("thread_speedup: %.3g\n", speedup);
        printf("train_samples_per_s: %.6g\neval_samples_per_s: %.6g\n", rT, ev);
        printf("train_samples: %d\ntest_samples: %d\nclients: %d\n", train.n, test.n,
               cfg.clients);
        if (cfg.algorithm == SAL_ALGO_FEDAVG)
            printf("busiest_rank_clients: %.6g\n", pr.busiest_clients);
        else
            printf("steps_per_round: %.0f\n", pr.steps);
        if (cfg.algorithm == SAL_ALGO_DPSGD) printf("degree: %d\n", deg);
        printf("predicted_compute_s: %.6g\npredicted_comm_s: %.6g\npredicted_wait_s: %.6g\n",
               pr.compute_s, pr.comm_s, pr.wait_s);
        printf("predicted_eval_s: %.6g\npredicted_round_s: %.6g\npredicted_setup_s: %.6g\n",
               pr.eval_s, pr.round_s, pr.setup_s);
        printf("rounds: %d\npredicted_wall_s: %.6g\n", cfg.rounds, pr.wall_s);
        print_duration("predicted_wall", pr.wall_s);
    }
    free(samples);
    sal_partition_free(&part);
    sal_dataset_free(&train);
    sal_dataset_free(&test);
    return st ? sal_status_exit_code(st) : 0;
}
