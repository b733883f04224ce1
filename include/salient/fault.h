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

/* Called by the training loops at the start of each round (after sal_wd_round). */
void sal_fault_round(int round, int rank);

#endif
