/* fault.h - fault injection for tests of what survives a crash. The environment variable
 * SALIENT_KILL_AT_ROUND=N[:R] makes MPI rank R (default 0) kill itself with SIGKILL as round N
 * (1-based) starts: the process dies between two checkpoints with no chance to clean up, as
 * on a node failure or an out-of-memory kill. SALIENT_SKEW_AT_ROUND=N[:R] makes rank R (default
 * 0) enter one extra, empty exchange ("an exchange injected by SALIENT_SKEW_AT_ROUND") as
 * round N starts: no message moves and the math is unchanged, but the rank's sequence of
 * exchanges differs from its peers', which [run] check_collectives must catch. Unset, they
 * cost two getenv per process. */
#ifndef SALIENT_FAULT_H
#define SALIENT_FAULT_H

#include "salient/status.h"

/* Called by the training loops at the start of each round (after sal_wd_round). */
void sal_fault_round(int round, int rank);

/* Faults at named sites of the communication library, for tests of what the other ranks see
 * when one rank fails inside a collective (docs/reliability.md). SALIENT_FAULT=SITE[:R] arms
 * SITE on rank R (default 0) of the collective's communicator, for every call of the process:
 *   nomem-allgather, nomem-recdbl, nomem-dense, nomem-ring, nomem-masked
 *       that collective's scratch cannot be allocated, as if malloc returned NULL (nomem-ring:
 *       sal_allreduce_ring and the sparse allreduce's ring alike)
 *   nonfinite-topk
 *       the top-k residual holds a NaN as sal_topk_allreduce starts (a diverged gradient)
 *   ckpt-write
 *       a checkpoint write fails on rank R after its data went out (HDF5 or MPI-IO reports an
 *       error, as on a full disk)
 *   ckpt-lost
 *       a checkpoint write on rank R reports success but 4 KiB of its data never reach the
 *       file (zeros instead: what a failed MPI-IO write that HDF5 did not pass up leaves)
 *   ckpt-sync
 *       fsync of the written checkpoint fails on rank R (EIO)
 *   slow-eval
 *       every test-set evaluation (sal_evaluate) first sleeps SAL_FAULT_SLOW_EVAL_S seconds:
 *       compute between exchanges longer than a small [run] comm_timeout, which must not trip
 *       the watchdog. SITE:all arms it on every rank (the ranks evaluate alike).
 *   slow-ckpt-verify
 *       a checkpoint's read-back (every rank re-reads and checks its part of the written file)
 *       first sleeps SAL_FAULT_SLOW_EVAL_S seconds: local work inside the checkpoint, which
 *       the watchdog must leave alone; SITE:all arms every rank.
 * Every rank must see the same setting (mpirun passes the environment to all of them): the
 * ranks other than R take the path that grows scratch too, which is where they agree. An
 * unknown SITE arms nothing. R = all (SAL_FAULT_EVERY_RANK) arms every rank; only the slow-*
 * sites read it (the other sites then arm nothing). */
typedef enum sal_fault_site {
    SAL_FAULT_NOMEM_ALLGATHER,
    SAL_FAULT_NOMEM_RECDBL,
    SAL_FAULT_NOMEM_DENSE,
    SAL_FAULT_NOMEM_RING,
    SAL_FAULT_NOMEM_MASKED,
    SAL_FAULT_NONFINITE_TOPK,
    SAL_FAULT_CKPT_WRITE,
    SAL_FAULT_CKPT_LOST,
    SAL_FAULT_CKPT_SYNC,
    SAL_FAULT_SLOW_EVAL,
    SAL_FAULT_SLOW_CKPT_VERIFY,
    SAL_FAULT_SITES
} sal_fault_site;

#define SAL_FAULT_EVERY_RANK (-3) /* sal_fault_at's answer for SITE:all */
#define SAL_FAULT_SLOW_EVAL_S 5 /* seconds */

/* The rank at which site is armed, SAL_FAULT_EVERY_RANK, or -1 (SALIENT_FAULT is read once; a load and a compare
 * per call after that). */
int sal_fault_at(sal_fault_site site);

/* The slow-* sites: sleep SAL_FAULT_SLOW_EVAL_S seconds (the rest of them after a signal) when
 * site is armed at `rank` or at every rank. */
void sal_fault_sleep(sal_fault_site site, int rank);

/* Arms a fault as SALIENT_FAULT would (spec "SITE[:R]"), replacing the environment's, or
 * disarms every site (spec NULL). For tests, which call it alike on every rank.
 * SAL_EINVAL, with the list of sites, for an unknown SITE or a bad R. */
sal_status sal_fault_set(const char *spec, sal_err *err);

#endif
