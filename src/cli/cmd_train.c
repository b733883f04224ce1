/* cmd_train.c - `salient train CONFIG.ini [--set k=v]... [--out DIR]`. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "salient/ckpt.h"
#include "salient/rundir.h"
#include "salient/signals.h"
#include "salient/train.h"
#include "salient/watchdog.h"

int sal_cmd_train(int argc, char **argv) {
    sal_config cfg;
    sal_cli_args args;
    int rc = sal_cli_load(argc, argv, "train", &cfg, &args);
    if (rc) return rc;
    if (args.help) {
        printf("usage: salient train CONFIG.ini [--set section.key=value]... [--out DIR]\n"
               "                     [--resume latest|FILE.h5 | --force]\n"
               "       mpirun -np P salient train CONFIG.ini ...   (algorithm = fedavg, P >= 2)\n\n"
               "Trains as the config says and writes DIR/config.ini (every key resolved),\n"
               "DIR/metrics.csv (one row per round), DIR/summary.json, DIR/ckpt/round-N.h5\n"
               "checkpoints ([checkpoint] every, keep; DIR/ckpt/latest links the newest) and,\n"
               "for fedavg, DIR/mask.csv; rank 0 prints a progress line per round to stderr.\n"
               "--resume continues from a checkpoint exactly as if the run had not stopped\n"
               "(latest = DIR/ckpt/latest). On SIGTERM or SIGUSR1 the run finishes its round,\n"
               "writes a checkpoint and exits 0.\n"
               "A DIR that already holds a run's results (metrics.csv, summary.json, ckpt/, ...)\n"
               "is refused, nothing written, unless --resume continues that run or --force\n"
               "overwrites it (its results and checkpoints are removed first). While a run\n"
               "goes on, rank 0 holds DIR/.salient.lock: a second run into DIR is refused,\n"
               "naming the process that holds it. Keys:\n\n");
        sal_config_print_help(stdout);
        return 0;
    }
    char dir[SAL_PATH_MAX];
    if (sal_cli_out_dir(dir, sizeof dir, &args, &cfg, "")) {
        FILE *ef = sal_cli_err();
        if (ef)
            fprintf(ef, "salient train: --out: the output directory '%.60s...' is longer than "
                        "%d characters; choose a shorter one\n", dir, SAL_PATH_MAX - 1);
        return 2;
    }
    snprintf(cfg.out, sizeof cfg.out, "%s", dir); /* config.ini records where it went */
    sal_err oerr;
    if (sal_config_validate(&cfg, &oerr)) { /* a name config.ini could not carry back */
        FILE *ef = sal_cli_err();
        if (ef) fprintf(ef, "salient train: output directory '%s': %s\n", dir, oerr.msg);
        return 2;
    }

    /* MPI only for training: `salient data` and --help run without a launcher. Every rank parsed
     * the same config; rank 0 owns the output directory and is the one that speaks. */
    rc = sal_cli_mpi_init("train", &argc, &argv);
    if (rc) return rc;
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    char isa_line[320];
    rc = sal_cli_isa_agree("train", rank, isa_line, sizeof isa_line);
    if (rc) {
        MPI_Finalize();
        return rc;
    }
    sal_signals_install();
    sal_wd_start(cfg.comm_timeout, rank, size);
    sal_err err;
    err.msg[0] = '\0';
    sal_status st = SAL_OK;
    char resume[SAL_PATH_MAX + 32];
    if (args.resume) st = sal_ckpt_resolve(args.resume, dir, resume, sizeof resume, &err);
    /* Everything that can be refused cheaply, before any data is read; config.ini and the
     * other outputs are written by sal_train once its setup worked. */
    if (!st) st = sal_train_check_ranks(&cfg, size, &err);
    if (!st) st = sal_rundir_check_paths(dir, cfg.rounds, size, &err);
    int lock_fd = -1; /* rank 0: held until the process ends */
    unsigned how = args.resume ? SAL_OUT_RESUME : args.force ? SAL_OUT_FORCE : 0;
    if (!st && rank == 0) st = sal_train_prepare_out(dir, how, &lock_fd, &err);
    int code = st;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (code == SAL_OK) {
        st = sal_train(&cfg, dir, rank == 0 ? stderr : NULL, args.resume ? resume : NULL, &err);
    } else {
        st = (sal_status)code;
        if (rank != 0) err.msg[0] = '\0';
    }
    /* Ranks other than 0 print only errors of their own (rank 0 reports the agreed ones). */
    if (st && err.msg[0]) fprintf(stderr, "salient train: %s\n", err.msg);
    if (!st && rank == 0 && sal_signal_stopped())
        fprintf(stderr, "salient: to continue, run the same command with --resume latest "
                        "(results so far in %s/)\n", dir);
    else if (!st && rank == 0) /* the level closes the run: a failed set-up prints one line */
        fprintf(stderr, "%ssalient: results in %s/ (metrics.csv, summary.json, config.ini, ckpt/)\n",
                isa_line, dir);
    MPI_Finalize();
    if (lock_fd >= 0) close(lock_fd);
    return st ? sal_status_exit_code(st) : 0;
}
