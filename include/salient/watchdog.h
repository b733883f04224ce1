/* watchdog.h - no silent hangs. Every blocking exchange of the training loops is bracketed by
 * sal_wd_enter / sal_wd_leave; a thread started by sal_wd_start wakes up every 100 ms and, when
 * one exchange has lasted [run] comm_timeout seconds (twice that where the peer first waits on
 * others: SAL_WD_UPSTREAM below), prints one line naming this rank, its host, the operation,
 * the round and the peer waited for, then ends the process with exit code 124: mpirun and srun
 * (--kill-on-bad-exit) then end the job. A rank that is merely slow to compute never trips it:
 * only time spent waiting in an exchange counts.
 *
 * The bracket costs a few relaxed stores and a clock read (~30 ns); nothing else runs per
 * exchange. The thread never calls MPI, so it needs no MPI thread level. */
#ifndef SALIENT_WATCHDOG_H
#define SALIENT_WATCHDOG_H

#include <stdint.h>

#define SAL_WD_ALL (-1) /* peer: every rank of the communicator (a collective) */

/* Start the thread (once per process); timeout_s <= 0 leaves it off. rank and nranks name this
 * process in the message. Returns 0, or -1 if the thread could not start. */
int sal_wd_start(double timeout_s, int rank, int nranks);

/* The round the next exchanges belong to (1-based; 0 before training). */
void sal_wd_round(int round);
/* Enter an exchange: op is a string literal ("gradient allreduce", "a client's upload"), peer
 * the rank waited for or SAL_WD_ALL. */
void sal_wd_enter(const char *op, int peer);
void sal_wd_leave(void);
/* sal_wd_enter with flags (bits):
 * SAL_WD_UNHASHED  the exchange is not part of the checked sequence (the check's own).
 * SAL_WD_UPSTREAM  the peer may itself be waiting on others before it can answer (a fedavg
 *                  client waiting for the server, which waits for every sampled client's
 *                  upload). The deadline is SAL_WD_UPSTREAM_X x the timeout, so that when a
 *                  third rank hangs, the rank nearest to it - the one that knows which peer is
 *                  missing - reports first, not a rank that can only name the server. Both
 *                  deadlines start at about the same moment (a client's wait for the next round
 *                  begins as its last upload lands), so equal deadlines made the report a coin
 *                  toss between them. */
enum { SAL_WD_UNHASHED = 1, SAL_WD_UPSTREAM = 2 };
#define SAL_WD_UPSTREAM_X 2.0
void sal_wd_enter_ex(const char *op, int peer, unsigned flags);

/* [run] check_collectives (debug): while on, sal_wd_enter also folds each op into a running
 * hash of this rank's exchanges, with its index in the sequence, and keeps the first
 * SAL_WD_FIRST op names so that a mismatch can name the call where the ranks parted (once
 * they part, every later call differs too). The algorithms compare the hashes of all ranks at
 * the end of every round (src/algo/collcheck.c). Off, sal_wd_enter costs the one branch it
 * always had: both features hang off one flag. */
#define SAL_WD_FIRST 64
typedef struct sal_wd_seq {
    uint64_t hash;                   /* FNV-1a 64 over (call index, op bytes) of every call */
    int count;                       /* calls folded since the last reset */
    const char *first[SAL_WD_FIRST]; /* op of call i < SAL_WD_FIRST (string literals) */
} sal_wd_seq;

/* Turn the folding on or off, and start an empty sequence. */
void sal_wd_check_collectives(int on);
/* Fold call `op` into s (also used to build the sequence a peer must have run). */
void sal_wd_seq_fold(sal_wd_seq *s, const char *op);
/* This rank's sequence since the last reset into *out; starts an empty one. */
void sal_wd_seq_take(sal_wd_seq *out);

#endif
