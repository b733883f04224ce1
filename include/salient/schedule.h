/* schedule.h - iterative pruning and cyclic training ([sparsity] schedule): which rounds end a
 * cycle, how many weights each prune keeps, the learning rate of a round inside its cycle, and
 * the magnitude prune itself. A pure function of the config and the round, so a resumed run
 * derives it again; only IMP's rewind weights are state (kept in checkpoints). No MPI. */
#ifndef SALIENT_SCHEDULE_H
#define SALIENT_SCHEDULE_H

#include <stddef.h>

#include "salient/optim.h"
#include "salient/params.h"
#include "salient/status.h"

typedef enum sal_sched_kind {
    SAL_SCHED_FIXED,  /* one mask for the whole run (today's behaviour) */
    SAL_SCHED_IMP,    /* iterative magnitude pruning with weight rewinding (Frankle et al. 2020,
                       * "Linear mode connectivity and the lottery ticket hypothesis") */
    SAL_SCHED_LRR,    /* learning-rate rewinding: keep the trained weights, restart the lr
                       * schedule (Renda et al. 2020; Gadhikar and Burkholz, ICLR 2024) */
    SAL_SCHED_SCULPT  /* cycles of training one fixed mask, one magnitude prune, a last cycle
                       * ("Cyclic sparse training: is it enough?", arXiv 2406.02773) */
} sal_sched_kind;

typedef struct sal_sched {
    sal_sched_kind kind;
    int cycles;       /* C: imp/lrr prune after each of the first C cycles, sculpt after the C-th */
    int cycle_rounds; /* R: rounds of the first cycle (and of every lrr/sculpt cycle) */
    int rewind;       /* imp: the round whose weights and lr later cycles restart from (< R) */
    int rounds;       /* [run] rounds */
    size_t prunable;  /* prunable weights of the model */
    size_t start_kept, final_kept; /* prunable weights kept before the first and after the last
                                    * prune (round(start_density x prunable), round(density x
                                    * prunable), at least 1: the count sal_mask_topk_global keeps) */
} sal_sched;

/* Fill s and check it against rounds: the rounds of the cycles must leave at least one round
 * after the last prune. Densities in (0, 1] with density <= start_density. SAL_ECONFIG with one
 * line naming the [sparsity] key otherwise. */
sal_status sal_sched_init(sal_sched *s, sal_sched_kind kind, int cycles, int cycle_rounds,
                          int rewind, int rounds, size_t prunable, double start_density,
                          double density, sal_err *err);

/* Number of prunes in the run: C for imp and lrr, 1 for sculpt, 0 for fixed. */
int sal_sched_prunes(const sal_sched *s);

/* Prunable weights kept after prune k (0: before the first; k = prunes: final_kept exactly).
 * imp/lrr: round(start_kept x (final_kept / start_kept)^(k / C)), a geometric keep fraction
 * per cycle; sculpt: final_kept after its one prune. Never increases with k. */
size_t sal_sched_kept(const sal_sched *s, int k);

/* Where round `round` (0-based) lies: in phase `phase` (0 = the first cycle; the phase after
 * the last cycle is the final one), which began at round `start` and lasts `len` rounds, and
 * whose lr schedule starts at position `offset` (imp after a rewind: the rewind round; else 0).
 * The phase boundaries: lrr/sculpt every R rounds; imp R rounds, then R - rewind each (a cycle
 * after a rewind replays rounds rewind..R-1 of the first); fixed: one phase of all rounds. */
typedef struct sal_sched_pos {
    int phase, start, len, offset;
} sal_sched_pos;
void sal_sched_where(const sal_sched *s, int round, sal_sched_pos *pos);

/* Rounds completed when cycle `phase` (0-based, < cycles) ends. */
int sal_sched_cycle_end(const sal_sched *s, int phase);

/* The prune (1..prunes) that follows `done` completed rounds, or 0 for none. */
int sal_sched_prune_after(const sal_sched *s, int done);

/* Does a new phase (a restart of the lr schedule and of the optimizer) begin after `done`
 * completed rounds? */
int sal_sched_restart_after(const sal_sched *s, int done);

/* Prunes done once `done` rounds have completed (the cycle index a checkpoint records). */
int sal_sched_prunes_done(const sal_sched *s, int done);

/* The learning rate of round `round`: the lr schedule at the round's position inside its phase
 * (offset + round - start) over the phase's length (offset + len: cosine decays to 0 at the
 * phase's end), times lr_decay^position. For fixed it is today's
 * sal_lr_at(kind, lr, round, rounds, step, gamma) * decay^round. */
double sal_sched_lr(const sal_sched *s, int round, sal_lr_schedule kind, double lr, int step,
                    double gamma, double decay);

/* Prune k: keep the sal_sched_kept(s, k) largest |w| among the prunable weights the mask keeps
 * now (global magnitude, ties to the lower flat index: sal_mask_topk_count), write it to
 * p->mask (p->dense cleared) and zero the weights it drops. score: (p->n) scratch. A weight
 * already pruned is never revived: where the mask keeps fewer than that count (a per-layer
 * first mask's rounding), it keeps them all. SAL_ENUMERIC on a non-finite weight. */
sal_status sal_sched_prune(const sal_sched *s, int k, sal_params *p, float *score, sal_err *err);

/* Prunable weights p's mask keeps. */
size_t sal_sched_kept_now(const sal_params *p);

#endif
