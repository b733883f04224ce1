/* sched_run.c - [sparsity] schedule in a training run: the schedule built from the config and
 * the model, IMP's rewind weights, and what happens between two rounds on the rank that holds
 * the model (save the rewind point, prune, rewind), shared by centralized.c and the fedavg
 * server. The timing and the prune itself are sparsity/schedule.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algos.h"

static size_t prunable_of(const sal_params *p) {
    size_t n = 0;
    for (int t = 0; t < p->ntensors; t++) n += p->t[t].prunable ? p->t[t].numel : 0;
    return n;
}

/* IMP's rewind point: OpenLTH saves and restores the whole state dict, so the BatchNorm
 * running statistics and batch counter (p->s) travel with the weights; a rewound model with
 * its trained statistics would normalise the rewound weights' activations by another
 * network's. */
static void save_point(sal_sched_run *r, const sal_params *p) {
    memcpy(r->rewind, p->w, sizeof(float) * p->n);
    if (p->ns) memcpy(r->rewind + p->n, p->s, sizeof(float) * p->ns);
}

sal_status sal_sched_run_open(sal_sched_run *r, const sal_config *cfg, const sal_params *p,
                              int holder, sal_err *err) {
    memset(r, 0, sizeof *r);
    sal_status st = sal_sched_init(&r->s, cfg->schedule, cfg->cycles, cfg->cycle_rounds,
                                   cfg->rewind_round, cfg->rounds, prunable_of(p),
                                   cfg->start_density, cfg->density, err);
    if (st || !holder || cfg->schedule == SAL_SCHED_FIXED) return st;
    r->score = malloc(sizeof(float) * (p->n ? p->n : 1));
    if (cfg->schedule == SAL_SCHED_IMP) r->rewind = malloc(sizeof(float) * (p->n + p->ns + 1));
    if (!r->score || (cfg->schedule == SAL_SCHED_IMP && !r->rewind))
        return sal_fail(err, SAL_ENOMEM, "schedule: out of memory for %zu weights", p->n);
    /* rewind_round = 0: the rewind point is the (masked) initial model and its initial state;
     * later ones overwrite it */
    if (r->rewind) save_point(r, p);
    return SAL_OK;
}

void sal_sched_run_close(sal_sched_run *r) {
    free(r->rewind);
    free(r->score);
    r->rewind = r->score = NULL;
}

double sal_sched_run_lr(const sal_sched_run *r, const sal_config *cfg, int round) {
    return sal_sched_lr(&r->s, round, cfg->lr_schedule, cfg->lr, cfg->lr_step, cfg->lr_gamma,
                        cfg->lr_decay);
}

sal_status sal_sched_run_step(sal_sched_run *r, sal_params *p, int done, int *pruned,
                              sal_err *err) {
    *pruned = 0;
    if (r->s.kind == SAL_SCHED_FIXED) return SAL_OK;
    if (r->rewind && done == r->s.rewind && done > 0) save_point(r, p);
    const int k = sal_sched_prune_after(&r->s, done);
    if (!k) return SAL_OK;
    sal_status st = sal_sched_prune(&r->s, k, p, r->score, err);
    if (st) {
        char why[sizeof err->msg]; /* sal_fail must not format from the buffer it writes */
        snprintf(why, sizeof why, "%s", err->msg);
        return sal_fail(err, st, "round %d: %.400s", done, why);
    }
    if (r->rewind) { /* IMP: the kept weights and the state back to the rewind round's */
        for (size_t i = 0; i < p->n; i++) p->w[i] = r->rewind[i] * p->mask[i];
        if (p->ns) memcpy(p->s, r->rewind + p->n, sizeof(float) * p->ns);
    }
    *pruned = k;
    return SAL_OK;
}

void sal_sched_run_state(const sal_sched_run *r, const sal_params *p, int done, int64_t out[3]) {
    out[0] = sal_sched_prunes_done(&r->s, done);
    out[1] = (int64_t)sal_sched_kept_now(p);
    out[2] = (int64_t)r->s.prunable;
}

sal_status sal_sched_run_check(const sal_sched_run *r, const sal_params *p, int done,
                               const int64_t got[3], const char *path, sal_err *err) {
    int64_t want[3];
    sal_sched_run_state(r, p, done, want);
    if (got[0] != want[0] || got[1] != want[1] || got[2] != want[2])
        return sal_fail(err, SAL_EFORMAT,
                        "checkpoint '%s': /schedule/state says %lld prunes and %lld of %lld "
                        "prunable weights kept where round %d of this schedule has %lld prunes "
                        "and its /mask keeps %lld of %lld; the file is damaged or foreign",
                        path, (long long)got[0], (long long)got[1], (long long)got[2], done,
                        (long long)want[0], (long long)want[1], (long long)want[2]);
    return SAL_OK;
}

void sal_sched_run_progress(FILE *f, const sal_sched_run *r, int done, int k,
                            const sal_params *p) {
    if (!f || !k) return;
    const size_t kept = sal_sched_kept(&r->s, k);
    fprintf(f, "salient: round %d: %s prune %d/%d: %zu of %zu prunable weights kept (density "
            "%.6f of prunable, %zu of %zu parameters)%s\n", done,
            sal_config_enum_name("sparsity", "schedule", r->s.kind), k, sal_sched_prunes(&r->s),
            kept, r->s.prunable, (double)kept / (double)r->s.prunable, sal_params_nnz(p), p->n,
            !r->rewind ? "" : p->ns ? "; weights and state rewound" : "; weights rewound");
}
