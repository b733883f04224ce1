/* signals.h - a clean stop on SIGTERM or SIGUSR1 (what Slurm sends before a time limit with
 * --signal, and what scancel sends): the handler only records the signal; the training loops
 * look at it between rounds, write a checkpoint and return. A rank that cannot get there (blocked
 * in a read, a write or an exchange that does not return) is ended by a second stop signal that
 * comes SAL_SIGNAL_AGAIN_S seconds or more after the first: exit 128 + signal at once, no
 * checkpoint, one line on stderr. Copies of one signal (scancel or mpirun reaching a rank both
 * directly and through the job script) arrive within milliseconds and count once. */
#ifndef SALIENT_SIGNALS_H
#define SALIENT_SIGNALS_H

#define SAL_SIGNAL_AGAIN_S 2.0

/* Install the handlers for SIGTERM and SIGUSR1 (after MPI_Init, which may install its own). */
void sal_signals_install(void);
/* The last signal received (SIGTERM or SIGUSR1), or 0. */
int sal_signal_pending(void);
/* A training loop stopped early because of the signal (set by it, read by the command). */
void sal_signal_set_stopped(void);
int sal_signal_stopped(void);
/* Its name, "SIGTERM" or "SIGUSR1". */
const char *sal_signal_name(int sig);

#endif
