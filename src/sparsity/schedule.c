/* schedule.c - [sparsity] schedule: the rounds at which iterative pruning (IMP, LRR) or cyclic
 * training (SCULPT) prunes and restarts, the exact count each prune keeps, the learning rate
 * inside a cycle, and the global magnitude prune (see salient/schedule.h). */
#include "salient/schedule.h"

#include <math.h>

#include "salient/sparsity.h"

static size_t count_of(double density, size_t prunable) {
    /* the count sal_mask_topk_global keeps for this density */
    size_t k = (size_t)llround(density * (double)prunable);
    return k < 1 ? 1 : k;
}

/* Rounds between two cycle ends after the first: a cycle after an IMP rewind replays the first
 * cycle from the rewind round on. */
static int cycle_step(const sal_sched *s) {
    return s->cycle_rounds - (s->kind == SAL_SCHED_IMP ? s->rewind : 0);
}

int sal_sched_cycle_end(const sal_sched *s, int phase) {
    return s->cycle_rounds + phase * cycle_step(s);
}

sal_status sal_sched_init(sal_sched *s, sal_sched_kind kind, int cycles, int cycle_rounds,
                          int rewind, int rounds, size_t prunable, double start_density,
                          double density, sal_err *err) {
    *s = (sal_sched){.kind = kind, .cycles = cycles, .cycle_rounds = cycle_rounds,
                     .rewind = kind == SAL_SCHED_IMP ? rewind : 0, .rounds = rounds,
                     .prunable = prunable};
    if (!(density > 0 && density <= 1) || !(start_density > 0 && start_density <= 1))
        return sal_fail(err, SAL_ECONFIG, "schedule: densities %g and %g must be in (0, 1]",
                        start_density, density);
    s->start_kept = count_of(start_density, prunable);
    s->final_kept = count_of(density, prunable);
    if (kind == SAL_SCHED_FIXED) {
        s->start_kept = s->final_kept;
        return SAL_OK;
    }
    if (cycles < 1 || cycle_rounds < 1)
        return sal_fail(err, SAL_ECONFIG, "config: [sparsity] cycles = %d and cycle_rounds = %d "
                        "must be at least 1", cycles, cycle_rounds);
    if (density > start_density)
        return sal_fail(err, SAL_ECONFIG, "config: [sparsity] density = %g is above start_density "
                        "= %g: a schedule only prunes; set density <= start_density", density,
                        start_density);
    if (s->rewind < 0 || s->rewind >= cycle_rounds)
        return sal_fail(err, SAL_ECONFIG, "config: [sparsity] rewind_round = %d must be below "
                        "cycle_rounds = %d (the weights to rewind to are saved in the first "
                        "cycle)", rewind, cycle_rounds);
    /* in long arithmetic: C x R may pass INT_MAX */
    long long last = (long long)cycle_rounds + (long long)(cycles - 1) * cycle_step(s);
    if (last >= rounds)
        return sal_fail(err, SAL_ECONFIG, "config: [sparsity] cycles = %d of cycle_rounds = %d "
                        "end at round %lld, but [run] rounds = %d; the last prune needs rounds "
                        "after it: raise rounds above %lld or shorten the cycles", cycles,
                        cycle_rounds, last, rounds, last);
    return SAL_OK;
}

int sal_sched_prunes(const sal_sched *s) {
    switch (s->kind) {
    case SAL_SCHED_IMP:
    case SAL_SCHED_LRR: return s->cycles;
    case SAL_SCHED_SCULPT: return 1;
    default: return 0;
    }
}

size_t sal_sched_kept(const sal_sched *s, int k) {
    const int P = sal_sched_prunes(s);
    if (k <= 0 || P == 0) return s->start_kept;
    if (k >= P) return s->final_kept;
    /* geometric: the same keep fraction each cycle, exactly final_kept after the last */
    double ratio = (double)s->final_kept / (double)s->start_kept;
    size_t kept = (size_t)llround((double)s->start_kept * pow(ratio, (double)k / P));
    if (kept < s->final_kept) kept = s->final_kept;
    if (kept > s->start_kept) kept = s->start_kept;
    return kept;
}

void sal_sched_where(const sal_sched *s, int round, sal_sched_pos *pos) {
    if (s->kind == SAL_SCHED_FIXED) {
        *pos = (sal_sched_pos){.phase = 0, .start = 0, .len = s->rounds, .offset = 0};
        return;
    }
    const int C = s->cycles, R = s->cycle_rounds, step = cycle_step(s);
    if (round < R) {
        *pos = (sal_sched_pos){.phase = 0, .start = 0, .len = R, .offset = 0};
        return;
    }
    int phase = 1 + (round - R) / step;
    if (phase > C) phase = C;
    const int start = sal_sched_cycle_end(s, phase - 1);
    const int len = phase < C ? step : s->rounds - start;
    *pos = (sal_sched_pos){.phase = phase, .start = start, .len = len, .offset = s->rewind};
}

int sal_sched_restart_after(const sal_sched *s, int done) {
    if (s->kind == SAL_SCHED_FIXED || done < s->cycle_rounds) return 0;
    const int j = (done - s->cycle_rounds) / cycle_step(s);
    return j < s->cycles && sal_sched_cycle_end(s, j) == done;
}

int sal_sched_prune_after(const sal_sched *s, int done) {
    if (!sal_sched_restart_after(s, done)) return 0;
    const int j = (done - s->cycle_rounds) / cycle_step(s); /* the cycle that just ended */
    if (s->kind == SAL_SCHED_SCULPT) return j == s->cycles - 1 ? 1 : 0;
    return j + 1;
}

int sal_sched_prunes_done(const sal_sched *s, int done) {
    int k = 0;
    for (int j = 0; j < s->cycles && sal_sched_prunes(s) > 0; j++)
        if (sal_sched_cycle_end(s, j) <= done && sal_sched_prune_after(s, sal_sched_cycle_end(s, j)))
            k++;
    return k;
}

double sal_sched_lr(const sal_sched *s, int round, sal_lr_schedule kind, double lr, int step,
                    double gamma, double decay) {
    sal_sched_pos pos;
    sal_sched_where(s, round, &pos);
    const int at = pos.offset + round - pos.start, horizon = pos.offset + pos.len;
    return sal_lr_at(kind, lr, at, horizon, step, gamma) * pow(decay, at);
}

size_t sal_sched_kept_now(const sal_params *p) {
    size_t kept = 0;
    for (int t = 0; t < p->ntensors; t++) {
        if (!p->t[t].prunable) continue;
        const float *m = p->mask + p->t[t].offset;
        for (size_t i = 0; i < p->t[t].numel; i++) kept += m[i] != 0.0f;
    }
    return kept;
}

sal_status sal_sched_prune(const sal_sched *s, int k, sal_params *p, float *score, sal_err *err) {
    const size_t now = sal_sched_kept_now(p);
    size_t keep = sal_sched_kept(s, k);
    /* A schedule only prunes. A first mask chosen per layer (random, erk, layerwise scopes)
     * rounds each layer's count and may hold a few less than round(start_density x N); a
     * prune then keeps what there is rather than reviving weights. */
    if (keep > now) keep = now;
    if (keep == 0) /* the mask holds no prunable weight: nothing to rank */
        return SAL_OK;
    sal_score_magnitude(p, score);
    /* pruned weights rank below every live one (|w| >= 0), so no prune brings one back */
    for (size_t i = 0; i < p->n; i++)
        if (p->mask[i] == 0.0f) score[i] = -1.0f;
    sal_status st = sal_mask_topk_count(p, score, keep, p->mask, err);
    if (st) return st;
    p->dense = 0;
    for (size_t i = 0; i < p->n; i++) p->w[i] *= p->mask[i];
    return SAL_OK;
}
