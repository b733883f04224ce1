/* resume.c - what the algorithms share about checkpoints: when one is due, the config text it
 * stores, and whether a checkpoint can continue this run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algos.h"

int sal_ckpt_due(const sal_config *cfg, int done, int stopping) {
    return stopping || done == cfg->rounds || (cfg->ckpt_every > 0 && done % cfg->ckpt_every == 0);
}

char *sal_config_text(const sal_config *cfg) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int bad = sal_config_write(cfg, f) != 0;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Keys that do not change what the run computes: where it writes, how often it evaluates or
 * checkpoints, its threads, where the data files are, the watchdog and the collective check,
 * and how many rounds it runs in all (checked apart below). */
static const char *const free_keys[] = {"run.out",          "run.threads",
                                        "run.eval_every",   "run.rounds",
                                        "run.comm_timeout", "run.check_collectives",
                                        "data.path",        "checkpoint.every",
                                        "checkpoint.keep",  NULL};

sal_status sal_resume_check(const sal_config *cfg, const char *path, int nranks, int same_ranks,
                            sal_ckpt_info *info, sal_err *err) {
    sal_status st = sal_ckpt_info_read(path, info, err);
    if (st) return st;
    sal_config old;
    sal_config_defaults(&old);
    char msg[512];
    sal_err why; /* not err itself: sal_fail must not format from the buffer it writes */
    if (sal_config_load_string(&old, info->config_text, path, &why))
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': its config attribute does not parse: "
                        "%.400s", path, why.msg);
    if (sal_config_diff(&old, cfg, free_keys, msg, sizeof msg))
        return sal_fail(err, SAL_ECONFIG,
                        "cannot resume from '%s': the checkpoint was written with %s in this "
                        "config; resume with the checkpoint's config (its config.ini) or start a "
                        "new run in another --out",
                        path, msg);
    if (cfg->lr_schedule == SAL_LR_COSINE && old.rounds != cfg->rounds)
        return sal_fail(err, SAL_ECONFIG,
                        "cannot resume from '%s': [run] rounds = %d, not %d, and the cosine "
                        "lr_schedule depends on it; keep rounds = %d",
                        path, old.rounds, cfg->rounds, old.rounds);
    if (info->round >= cfg->rounds)
        return sal_fail(err, SAL_ECONFIG,
                        "nothing to resume: checkpoint '%s' is at round %d and [run] rounds = %d; "
                        "raise [run] rounds to train further",
                        path, info->round, cfg->rounds);
    if (same_ranks && info->nranks != nranks)
        return sal_fail(err, SAL_ECONFIG,
                        "cannot resume from '%s' on %d ranks: it holds the state of %d ranks, "
                        "one model each; run mpirun -np %d",
                        path, nranks, info->nranks, info->nranks);
    return SAL_OK;
}
