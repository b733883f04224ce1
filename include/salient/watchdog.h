/* watchdog.h - no silent hangs. Every blocking exchange of the training loops is bracketed by
 * sal_wd_enter / sal_wd_leave; a thread started by sal_wd_start wakes up every 100 ms and, when
 * one exchange has lasted [run] comm_timeout seconds, prints one line naming this rank, its
 * host, the operation, the round and the peer waited for, then ends the process with exit code
 * 124: mpirun and srun (--kill-on-bad-exit) then end the job. A rank that is merely slow to
 * compute never trips it: only time spent waiting in an exchange counts.
 *
 * The bracket costs two stores and a clock read (~30 ns); nothing else runs per exchange. The
 * thread never calls MPI, so it needs no MPI thread level. */
#ifndef SALIENT_WATCHDOG_H
#define SALIENT_WATCHDOG_H

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

#endif
