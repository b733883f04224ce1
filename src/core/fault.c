/* fault.c - see fault.h. */
#include "salient/fault.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static const char *site_names[SAL_FAULT_SITES] = {
    "nomem-allgather", "nomem-recdbl", "nomem-dense", "nomem-ring", "nomem-masked",
    "nonfinite-topk",  "ckpt-write",   "ckpt-lost",   "ckpt-sync",   "slow-eval",
    "slow-ckpt-verify"};

/* -2: SALIENT_FAULT not read yet; else the armed site's rank (-1 where none). */
static int fault_rank[SAL_FAULT_SITES] = {-2};

static sal_status parse(const char *spec, int *at, sal_err *err) {
    for (int s = 0; s < SAL_FAULT_SITES; s++) at[s] = -1;
    if (!spec || !*spec) return SAL_OK;
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    int rank = 0;
    if (colon && !strcmp(colon + 1, "all")) {
        rank = SAL_FAULT_EVERY_RANK;
    } else if (colon) {
        char *end;
        long r = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || r < 0 || r > INT_MAX)
            return sal_fail(err, SAL_EINVAL, "fault '%s': the rank after ':' must be >= 0 or 'all'",
                            spec);
        rank = (int)r;
    }
    for (int s = 0; s < SAL_FAULT_SITES; s++) {
        if (strlen(site_names[s]) == len && !strncmp(spec, site_names[s], len)) {
            at[s] = rank;
            return SAL_OK;
        }
    }
    return sal_fail(err, SAL_EINVAL,
                    "fault '%s': unknown site (nomem-allgather, nomem-recdbl, nomem-dense, "
                    "nomem-ring, nomem-masked, nonfinite-topk, ckpt-write, ckpt-lost, ckpt-sync, "
                    "slow-eval, slow-ckpt-verify)",
                    spec);
}

int sal_fault_at(sal_fault_site site) {
    if (fault_rank[0] == -2) {
        int at[SAL_FAULT_SITES];
        parse(getenv("SALIENT_FAULT"), at, NULL); /* on an error every site stays -1 */
        memcpy(fault_rank, at, sizeof at);
    }
    return (unsigned)site < SAL_FAULT_SITES ? fault_rank[site] : -1;
}

sal_status sal_fault_set(const char *spec, sal_err *err) {
    int at[SAL_FAULT_SITES];
    sal_status st = parse(spec, at, err);
    if (!st) memcpy(fault_rank, at, sizeof at);
    return st;
}

void sal_fault_sleep(sal_fault_site site, int rank) {
    int at = sal_fault_at(site);
    if (at == -1 || (at != SAL_FAULT_EVERY_RANK && at != rank)) return;
    struct timespec t = {.tv_sec = SAL_FAULT_SLOW_EVAL_S, .tv_nsec = 0};
    while (nanosleep(&t, &t)) { /* a signal: sleep the rest */
    }
}
