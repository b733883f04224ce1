/* fault.h - fault injection for tests of what survives a crash. The environment variable
 * SALIENT_KILL_AT_ROUND=N[:R] makes MPI rank R (default 0) kill itself with SIGKILL as round N
 * (1-based) starts: the process dies between two checkpoints with no chance to clean up, as
 * on a node failure or an out-of-memory kill. Unset, it costs one getenv per process. */
#ifndef SALIENT_FAULT_H
#define SALIENT_FAULT_H

/* Called by the training loops at the start of each round. */
void sal_fault_round(int round, int rank);

#endif
