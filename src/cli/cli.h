/* cli.h - shared pieces of the subcommands: reading CONFIG.ini plus --set/--out options. */
#ifndef SALIENT_CLI_H
#define SALIENT_CLI_H

#include "salient/config.h"

typedef struct sal_cli_args {
    const char *config_path;
    const char *out;     /* --out DIR, or NULL */
    const char *resume;  /* train --resume latest|FILE, or NULL */
    int force;           /* train/compare --force: overwrite the results in the output directory */
    int help;            /* --help given */
} sal_cli_args;

/* Parse "CONFIG.ini [--set s.k=v]... [--out DIR] [--force] [--help]" into cfg (defaults, file, then the
 * overrides in order) and validate. Prints one error line and returns the exit code (2) on bad
 * input; 0 on success. */
int sal_cli_load(int argc, char **argv, const char *cmd, sal_config *cfg, sal_cli_args *args);

void sal_cli_print_usage(FILE *f);

/* The output directory: --out, else [run] out, else runs/<prefix><config file name without
 * .ini>. Returns -1 (dir then holds a shortened copy, not to be used) when it needs n bytes or
 * more. */
int sal_cli_out_dir(char *dir, size_t n, const sal_cli_args *a, const sal_config *cfg,
                    const char *prefix);

/* stderr on the first rank of an MPI launch (or without one), NULL on the others: for messages
 * printed before MPI_Init, which every rank would otherwise print once. */
FILE *sal_cli_err(void);

/* MPI_Init_thread(MPI_THREAD_FUNNELED) for command cmd (argc/argv may be NULL). Returns 0, or,
 * where the library provides less, prints one line on every rank, finalizes MPI and returns the
 * exit code (1). Every command that uses MPI starts it here. */
int sal_cli_mpi_init(const char *cmd, int *argc, char ***argv);
/* rc, after every rank failed alike before MPI started (a bad argument: argv is the same on
 * every rank). Under mpirun with several ranks, MPI is started and finalized first: mpirun
 * aborts the job as soon as one rank exits non-zero, which could kill the first rank before
 * the line it alone prints is out. Only for errors every rank sees: a rank that failed alone
 * would leave the others waiting in MPI. */
int sal_cli_exit_together(int rc);

/* Every rank selects its kernels' instruction-set level (SALIENT_ISA or detection, cpu.h); a bad
 * SALIENT_ISA on any rank fails every rank (that rank names it; returns 2 everywhere). When
 * ranks run different levels (nodes of different CPU generations), rank 0 prints at once what
 * that means for reproducibility. On success, line (n bytes) receives the level for the closing
 * lines (a run that fails in setup prints its one error line only). Collective over
 * MPI_COMM_WORLD. */
int sal_cli_isa_agree(const char *cmd, int rank, char *line, size_t n);

int sal_cmd_train(int argc, char **argv);
int sal_cmd_data(int argc, char **argv);
int sal_cmd_compare(int argc, char **argv);
int sal_cmd_ckpt(int argc, char **argv);  /* cmd_ckpt.c: inspect a checkpoint */ /* cmd_compare.c: several algorithms, one table */
int sal_cmd_plan(int argc, char **argv);  /* cmd_plan.c: predicted round and run time */
int sal_cmd_topo(int argc, char **argv);  /* cmd_topo.c: graph properties, spectral gap */
int sal_cmd_bench(int argc, char **argv); /* cmd_bench.c: collective micro-benchmarks */
int sal_bench_gossip(int argc, char **argv); /* cmd_bench_gossip.c: one gossip step */

#endif
