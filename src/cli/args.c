/* args.c - parsing CONFIG.ini and the --set/--out options shared by the subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void sal_cli_print_usage(FILE *f) {
    fprintf(f, "usage: salient <command> [options]\n\n"
               "commands:\n"
               "  train CONFIG.ini [--set section.key=value]... [--out DIR]\n"
               "                   [--resume latest|FILE | --force]\n"
               "        train a model; writes DIR/config.ini, DIR/metrics.csv, DIR/summary.json\n"
               "        and HDF5 checkpoints DIR/ckpt/round-N.h5; --resume continues from one\n"
               "        (DIR: --out, else [run] out, else runs/<config name>); algorithm=fedavg\n"
               "        runs under mpirun -np P (P >= 2: rank 0 serves, ranks 1.. host clients).\n"
               "        A DIR that holds a run's results is refused unless --resume continues\n"
               "        it or --force overwrites it; one run at a time holds DIR/.salient.lock\n"
               "  compare CONFIG.ini --algorithms A,B,... [--vary section.key=V1,V2,...]...\n"
               "                     [--seeds N] [--target ACC] [--out DIR] [--force | --resume]\n"
               "        a study under mpirun: each algorithm at every combination of the --vary\n"
               "        values, once per seed; summary.csv with the mean and spread over seeds\n"
               "        (salient compare --help; scripts/plot-compare DIR draws it)\n"
               "  plan CONFIG.ini [--nodes N] [--tasks-per-node R] [--threads T] [--set ...]\n"
               "        predicted time of a round and of the run, before submitting it\n"
               "  topo --graph NAME --nodes N     a gossip graph's properties and spectral gap\n"
               "  bench allreduce|pack|gossip ... micro-benchmarks of the communication library\n"
               "  data CONFIG.ini [--set section.key=value]...\n"
               "        print the data set and its split across [data] clients\n"
               "  ckpt inspect FILE.h5  a checkpoint's round, config, shapes and mask densities\n"
               "  ckpt seal OLD NEW     a sealed copy of a checkpoint of an older salient\n"
               "  help | --help        this text and every config key\n"
               "  --version            print the version\n\n"
               "environment: OpenBLAS runs on one thread per rank; [run] threads sets the cores\n"
               "of its OpenMP kernels (OMP_NUM_THREADS is overridden). SALIENT_ISA=generic|avx2|\n"
               "avx512 forces the kernels' instruction-set level (default: the CPU's best).\n"
               "docs/user-guide.md has the details; the config keys are:\n\n");
    sal_config_print_help(f);
}

/* Under mpirun every rank parses the same argv and config, before MPI is initialised: only the
 * first rank reports, so a bad key gives one line, not one per rank. The launcher's environment
 * tells the rank (Open MPI, then PMI/Slurm); run without a launcher we are rank 0. */
FILE *sal_cli_err(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return strcmp(v, "0") ? NULL : stderr;
    }
    return stderr;
}

#define REPORT(...)                                                                                \
    do {                                                                                           \
        FILE *f_ = sal_cli_err();                                                                   \
        if (f_) fprintf(f_, __VA_ARGS__);                                                          \
    } while (0)

int sal_cli_load(int argc, char **argv, const char *cmd, sal_config *cfg, sal_cli_args *args) {
    memset(args, 0, sizeof *args);
    sal_config_defaults(cfg);
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            args->help = 1;
            return 0;
        }
    sal_err err;
    /* the file first, then every --set in order, so overrides win whatever their position */
    for (int i = 0; i < argc; i++) {
        int resume = !strcmp(argv[i], "--resume") && !strcmp(cmd, "train");
        if (!strcmp(argv[i], "--force") && (!strcmp(cmd, "train") || !strcmp(cmd, "compare"))) {
            args->force = 1;
        } else if (!strcmp(argv[i], "--set") || !strcmp(argv[i], "--out") || resume) {
            if (i + 1 >= argc) {
                REPORT("salient %s: %s needs a value (e.g. --set train.lr=0.1, --out runs/x, "
                       "--resume latest)\n", cmd, argv[i]);
                return 2;
            }
            if (!strcmp(argv[i], "--out")) args->out = argv[i + 1];
            if (resume) args->resume = argv[i + 1];
            i++;
        } else if (argv[i][0] == '-') {
            REPORT("salient %s: unknown option '%s' (see salient %s --help)\n", cmd, argv[i], cmd);
            return 2;
        } else if (!args->config_path) {
            args->config_path = argv[i];
        } else {
            REPORT("salient %s: unexpected argument '%s' (one CONFIG.ini only)\n", cmd, argv[i]);
            return 2;
        }
    }
    if (args->force && args->resume) {
        REPORT("salient %s: --resume continues the run in the output directory and --force "
               "overwrites it; give one of them\n", cmd);
        return 2;
    }
    if (!args->config_path) {
        REPORT("salient %s: missing CONFIG.ini (e.g. salient %s jobs/configs/lenet5-fmnist.ini)\n",
               cmd, cmd);
        return 2;
    }
    sal_status st = sal_config_load(cfg, args->config_path, &err);
    for (int i = 0; !st && i < argc; i++)
        if (!strcmp(argv[i], "--set"))
            st = sal_config_set(cfg, argv[++i], &err);
        else if (!strcmp(argv[i], "--out") || !strcmp(argv[i], "--resume"))
            i++;
    if (!st) st = sal_config_validate(cfg, &err);
    if (st) {
        REPORT("salient %s: %s\n", cmd, err.msg);
        return sal_status_exit_code(st);
    }
    return 0;
}

int sal_cli_out_dir(char *dir, size_t n, const sal_cli_args *a, const sal_config *cfg,
                    const char *prefix) {
    int len;
    if (a->out) {
        len = snprintf(dir, n, "%s", a->out);
    } else if (cfg->out[0]) {
        len = snprintf(dir, n, "%s", cfg->out);
    } else {
        const char *base = strrchr(a->config_path, '/');
        base = base ? base + 1 : a->config_path;
        int b = (int)strlen(base);
        if (b > 4 && !strcmp(base + b - 4, ".ini")) b -= 4;
        len = snprintf(dir, n, "runs/%s%.*s", prefix, b, base);
    }
    return len < 0 || (size_t)len >= n ? -1 : 0; /* never a silently shortened directory */
}
