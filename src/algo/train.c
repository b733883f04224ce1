/* train.c - dispatch from [train] algorithm to its implementation, and shared helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "algos.h"
#include "salient/fsutil.h"
#include "salient/rundir.h"
#include "salient/topo.h"

sal_status sal_train_check_ranks(const sal_config *cfg, int P, sal_err *err) {
    const int C = cfg->clients;
    switch (cfg->algorithm) {
    case SAL_ALGO_CENTRALIZED:
        if (P > 1)
            return sal_fail(err, SAL_ECONFIG,
                            "[train] algorithm = centralized runs on one rank but %d were started; "
                            "run it without mpirun (or -np 1), or set algorithm = fedavg",
                            P);
        return SAL_OK;
    case SAL_ALGO_FEDAVG:
        if (P < 2)
            return sal_fail(err, SAL_ECONFIG,
                            "[train] algorithm = fedavg needs at least 2 MPI ranks (rank 0 serves, "
                            "ranks 1.. host the clients); run it with mpirun -np N, N >= 2");
        if (P - 1 > C)
            return sal_fail(err, SAL_ECONFIG,
                            "%d MPI ranks host %d client ranks but [data] clients = %d; run at "
                            "most %d ranks (clients + 1) or raise [data] clients",
                            P, P - 1, C, C + 1);
        return SAL_OK;
    case SAL_ALGO_ALLREDUCE:
    case SAL_ALGO_LOCALSGD:
    case SAL_ALGO_DPSGD: break;
    }
    if (C < P)
        return sal_fail(err, SAL_ECONFIG,
                        "[data] clients = %d but %d ranks: every rank hosts at least one client; "
                        "raise [data] clients to >= %d or run fewer ranks",
                        C, P, P);
    if (cfg->algorithm != SAL_ALGO_DPSGD) return SAL_OK;
    /* The graph is a function of the config and P: build it once here, where a bad one is a
     * one-line error before any data is read (the workers build it again for real). */
    sal_graph_spec spec = {.kind = cfg->graph,
                           .nodes = P,
                           .degree = cfg->degree,
                           .p = cfg->p,
                           .seed = cfg->seed,
                           .weights = cfg->weights};
    sal_graph g;
    sal_status st = sal_graph_build(&spec, &g, err);
    sal_graph_free(&g);
    return st;
}

sal_status sal_train_prepare_out(const char *dir, unsigned flags, int *lock_fd, sal_err *err) {
    *lock_fd = -1;
    sal_status st = sal_mkdir_p(dir, err);
    if (st) return st;
    char path[SAL_PATH_MAX + 32];
    struct stat sb;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    if (!stat(path, &sb) && !S_ISREG(sb.st_mode))
        return sal_fail(err, SAL_EIO, "'%s' exists and is not a file; remove it or set --out DIR",
                        path);
    snprintf(path, sizeof path, "%s/ckpt", dir);
    if (!stat(path, &sb) && !S_ISDIR(sb.st_mode))
        return sal_fail(err, SAL_EIO,
                        "'%s' exists and is not a directory (checkpoints go there); remove it or "
                        "set --out DIR",
                        path);
    /* Writable? Only trying tells (read-only mounts, quotas, ACLs; root passes access()). */
    snprintf(path, sizeof path, "%s/.salient-probe.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return sal_fail(err, SAL_EIO, "cannot write in output directory '%s': %s (set --out DIR)",
                        dir, strerror(errno));
    close(fd);
    unlink(path);
    /* Before anything is created: a directory in use is the likelier story than its results. */
    long holder = sal_rundir_holder(dir);
    if (holder > 0)
        return sal_fail(err, SAL_EIO,
                        "output directory '%s' is in use: process %ld holds its lock '%s/%s'; "
                        "wait for that run to end, or choose another --out",
                        dir, holder, dir, SAL_RUNDIR_LOCK);
    const char *found = sal_rundir_results(dir);
    if (found && !(flags & (SAL_OUT_RESUME | SAL_OUT_FORCE)))
        return sal_fail(err, SAL_ECONFIG,
                        "output directory '%s' already holds results (%s); %s", dir,
                        found,
                        flags & SAL_OUT_NO_RESUME
                            ? "overwrite them with --force, or choose another --out"
                            : "continue that run with --resume latest, overwrite it with --force, "
                              "or choose another --out");
    if (flags & SAL_OUT_CHECK) return SAL_OK;
    st = sal_rundir_lock(dir, lock_fd, err);
    if (!st && found && (flags & SAL_OUT_FORCE)) st = sal_rundir_clear(dir, err);
    if (st && *lock_fd >= 0) {
        close(*lock_fd);
        *lock_fd = -1;
    }
    return st;
}

static int fill_config(FILE *f, const void *cfg) { return sal_config_write(cfg, f); }

sal_status sal_run_write_config(const sal_config *cfg, const char *out_dir, sal_err *err) {
    char path[SAL_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/config.ini", out_dir);
    return sal_write_atomic(path, fill_config, cfg, err);
}

sal_status sal_train(const sal_config *cfg, const char *out_dir, FILE *progress,
                     const char *resume, sal_err *err) {
    int P;
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    sal_status st = sal_train_check_ranks(cfg, P, err);
    if (st) return st;
    switch (cfg->algorithm) {
    case SAL_ALGO_CENTRALIZED: return sal_train_centralized(cfg, out_dir, progress, resume, err);
    case SAL_ALGO_FEDAVG: return sal_train_fedavg(cfg, out_dir, progress, resume, err);
    case SAL_ALGO_ALLREDUCE:
    case SAL_ALGO_LOCALSGD:
    case SAL_ALGO_DPSGD: return sal_train_decentral(cfg, out_dir, progress, resume, err);
    }
    return sal_fail(err, SAL_ECONFIG, "[train] algorithm: not implemented");
}

sal_status sal_train_alone(const sal_config *cfg, const char *out_dir, FILE *progress,
                           sal_err *err) {
    /* centralized.c talks to no other rank (its checkpoints go through MPI_COMM_SELF) */
    if (cfg->algorithm != SAL_ALGO_CENTRALIZED)
        return sal_fail(err, SAL_EINVAL, "sal_train_alone: only centralized runs on one rank "
                        "of many");
    return sal_train_centralized(cfg, out_dir, progress, NULL, err);
}

double sal_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

