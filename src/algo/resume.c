/* resume.c - what the algorithms share about checkpoints: when one is due, the config text it
 * stores, and whether a checkpoint can continue this run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algos.h"
#include "salient/crc32c.h"

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
 * checkpoints, its threads, fedavg's placement of clients on ranks, where the data files are,
 * the watchdog and the collective check, and how many rounds it runs in all (checked apart
 * below). */
static const char *const free_keys[] = {"run.out",          "run.threads",
                                        "run.eval_every",   "run.rounds",
                                        "run.comm_timeout", "run.check_collectives",
                                        "run.placement",    "data.path",
                                        "checkpoint.every", "checkpoint.keep",
                                        NULL};

static uint32_t dataset_crc(const sal_dataset *d) {
    const int32_t head[5] = {d->n, d->c, d->h, d->w, d->classes};
    uint32_t crc = sal_crc32c(0, head, sizeof head);
    crc = sal_crc32c(crc, d->x, (size_t)d->n * d->c * d->h * d->w);
    return sal_crc32c(crc, d->y, (size_t)d->n);
}

uint64_t sal_data_fingerprint(const sal_dataset *train, const sal_dataset *test) {
    return (uint64_t)dataset_crc(train) << 32 | dataset_crc(test);
}

uint64_t sal_split_fingerprint(const sal_partition *part) {
    if (!part || part->clients < 1) return 0;
    const uint64_t h = sal_partition_hash(part) ^ (0x9e3779b97f4a7c15ull * SAL_PARTITION_VERSION);
    return h ? h : 1; /* 0 means "no split" */
}

sal_status sal_resume_check(const sal_config *cfg, const char *path, int nranks, int same_ranks,
                            uint64_t data_fp, uint64_t split_fp, sal_ckpt_info *info,
                            sal_err *err) {
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
    /* After the config: a changed key names itself; what the config cannot show (the files'
     * contents, the split the code makes of them) is caught here. */
    if (info->version >= 3 && info->data_fp != data_fp)
        return sal_fail(err, SAL_ECONFIG,
                        "cannot resume from '%s': the data files differ from those it was trained "
                        "on (data fingerprint %016llx, now %016llx); point [data] path at the "
                        "original files or start a new run in another --out",
                        path, (unsigned long long)info->data_fp, (unsigned long long)data_fp);
    if (info->version >= 3 && info->split_fp != split_fp)
        return sal_fail(err, SAL_ECONFIG,
                        "cannot resume from '%s': the clients' split of the data differs from "
                        "the one it was trained on (split fingerprint %016llx, now %016llx: the "
                        "partition code changed); resume with the salient that wrote it or start "
                        "a new run in another --out",
                        path, (unsigned long long)info->split_fp, (unsigned long long)split_fp);
    /* Checkpoints before format 3 carry no fingerprints, but what changed since is known: the
     * balanced Dirichlet split (partition version 1 filled clients one after another) and
     * CIFAR's augmentation (none before; [data] augment = auto now means crop_flip there). */
    if (info->version < 3 && cfg->algorithm != SAL_ALGO_CENTRALIZED &&
        cfg->partition == SAL_PART_DIRICHLET_BALANCED)
        return sal_fail(err, SAL_ECONFIG,
                        "cannot resume from '%s': it was written by an older salient whose "
                        "dirichlet_balanced split (partition version 1) differs from this one's "
                        "(version %d); resume with that salient or start a new run in another "
                        "--out", path, SAL_PARTITION_VERSION);
    if (info->version < 3 && (cfg->dataset == SAL_DATA_CIFAR10 || cfg->dataset == SAL_DATA_CIFAR100))
        return sal_fail(err, SAL_ECONFIG,
                        "cannot resume from '%s': it was trained by an older salient without "
                        "CIFAR augmentation, which [data] augment now turns on; resume with that "
                        "salient or start a new run in another --out", path);
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
