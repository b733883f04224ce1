/* fault.c - see fault.h. */
#include "salient/fault.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "salient/watchdog.h"

void sal_fault_round(int round, int rank) {
    static int parsed, at = -1, who, skew_at = -1, skew_who;
    if (!parsed) {
        parsed = 1;
        const char *v = getenv("SALIENT_KILL_AT_ROUND");
        if (v && sscanf(v, "%d:%d", &at, &who) < 1) at = -1;
        v = getenv("SALIENT_SKEW_AT_ROUND");
        if (v && sscanf(v, "%d:%d", &skew_at, &skew_who) < 1) skew_at = -1;
    }
    if (round == skew_at && rank == skew_who) {
        sal_wd_enter("an exchange injected by SALIENT_SKEW_AT_ROUND", SAL_WD_ALL);
        sal_wd_leave();
    }
    if (round == at && rank == who) {
        fprintf(stderr, "salient: SALIENT_KILL_AT_ROUND: rank %d kills itself at round %d\n",
                rank, round);
        fflush(stderr);
        raise(SIGKILL);
    }
}
