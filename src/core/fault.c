/* fault.c - see fault.h. */
#include "salient/fault.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

void sal_fault_round(int round, int rank) {
    static int parsed, at = -1, who;
    if (!parsed) {
        parsed = 1;
        const char *v = getenv("SALIENT_KILL_AT_ROUND");
        if (v && sscanf(v, "%d:%d", &at, &who) < 1) at = -1;
    }
    if (round == at && rank == who) {
        fprintf(stderr, "salient: SALIENT_KILL_AT_ROUND: rank %d kills itself at round %d\n",
                rank, round);
        fflush(stderr);
        raise(SIGKILL);
    }
}
