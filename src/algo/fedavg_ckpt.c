/* fedavg_ckpt.c - FedAvg/SSFL checkpoints. Between rounds the whole state of a federated run
 * is the server's: the global model, the mask and the metrics (clients start every round from
 * the global model with a fresh optimizer, and every random choice is drawn from streams keyed
 * by the seed and the round). So the server writes the file alone, and a resumed run may use
 * another rank count: results do not depend on how clients are placed on ranks. */
#include <stdlib.h>
#include <string.h>

#include "algos.h"
#include "fedavg.h"
#include "salient/pack.h"
#include "salient/watchdog.h"

sal_status sal_fed_checkpoint(fed *f, const char *out_dir, int done, const sal_metrics *metrics,
                              sal_err *err) {
    const sal_config *cfg = f->cfg;
    char *text = sal_config_text(cfg), dir[SAL_PATH_MAX + 8], path[SAL_PATH_MAX + 32];
    if (!text) return sal_fail(err, SAL_ENOMEM, "checkpoint: out of memory");
    snprintf(dir, sizeof dir, "%s/ckpt", out_dir);
    int64_t sched[3];
    sal_sched_run_state(&f->sched, f->p, done, sched);
    sal_ckpt_state s = {.round = done,
                        .world_size = f->size, /* the server writes alone: say the run's */
                        .algorithm = "fedavg",
                        .arch = sal_config_enum_name("model", "arch", cfg->arch),
                        .seed = cfg->seed,
                        .config_text = text,
                        .data_fp = sal_data_fingerprint(&f->train, &f->test),
                        .split_fp = sal_split_fingerprint(&f->part),
                        .p = f->p,
                        .model = f->p->w,
                        .state = f->p->s,
                        .metrics = metrics,
                        .sched = cfg->schedule != SAL_SCHED_FIXED ? sched : NULL,
                        .rewind = f->sched.rewind};
    /* Rand-k-Temporal's per-client memory is server state the next round decodes with: without
     * it a resumed run would decode round + 1 against zeros. Stored as the server holds it:
     * one row per client over the weights the mask keeps. */
    s.randk_memory = f->randk_memory;
    s.randk_clients = f->randk_clients;
    sal_status st = sal_ckpt_save(MPI_COMM_SELF, dir, cfg->ckpt_keep, &s, path, sizeof path, err);
    free(text);
    if (!st && f->progress) fprintf(f->progress, "salient: checkpoint %s\n", path);
    return st;
}

sal_status sal_fed_resume(fed *f, const char *path, sal_metrics *metrics, int *start,
                          sal_err *err) {
    sal_params *p = f->p;
    const size_t n = p->n;
    uint8_t *bits = malloc(sal_bits_bytes(n));
    int hdr[2] = {bits ? SAL_OK : SAL_ENOMEM, 0}; /* status, round */
    if (!bits) sal_fail(err, SAL_ENOMEM, "out of memory for the mask");
    if (f->rank == 0 && !hdr[0]) {
        sal_ckpt_info info;
        hdr[0] = sal_resume_check(f->cfg, path, f->size, 0,
                                  sal_data_fingerprint(&f->train, &f->test),
                                  sal_split_fingerprint(&f->part), &info, err);
        if (!hdr[0]) {
            /* sealed: sal_resume_check checked the seal */
            int64_t sched[3];
            const int scheduled = f->cfg->schedule != SAL_SCHED_FIXED;
            sal_ckpt_dst d = {.p = p, .model = 1, .metrics = metrics,
                              .sched = scheduled ? sched : NULL, .rewind = f->sched.rewind,
                              .sealed = 1};
            hdr[0] = sal_ckpt_load(path, &d, err);
            hdr[1] = info.round;
            if (!hdr[0] && scheduled)
                hdr[0] = sal_sched_run_check(&f->sched, p, info.round, sched, path, err);
        }
        sal_ckpt_info_free(&info);
        if (!hdr[0]) sal_bits_from_mask(p->mask, n, bits);
    }
    /* Status first, as in round 0, so that a bad file stops every rank. */
    sal_wd_enter("the checkpoint's broadcast", 0);
    MPI_Bcast(hdr, 2, MPI_INT, 0, f->comm);
    sal_wd_leave();
    if (hdr[0]) {
        free(bits);
        if (f->rank != 0) err->msg[0] = '\0';
        return (sal_status)hdr[0];
    }
    MPI_Bcast(bits, (int)sal_bits_bytes(n), MPI_UNSIGNED_CHAR, 0, f->comm);
    sal_bits_to_mask(bits, n, p->mask);
    free(bits);
    f->nnz = sal_params_nnz(p); /* a schedule's prunes leave a sparse mask after method none */
    p->dense = f->cfg->method == SAL_SPARSE_NONE && f->nnz == n;
    f->msg = f->nnz + p->ns;
    *start = f->start_round = hdr[1];
    if (f->progress) fprintf(f->progress, "salient: resumed from %s at round %d\n", path, hdr[1]);
    return SAL_OK;
}
