/* collcheck.c - the round-end check of [run] check_collectives (see collcheck.h) and the
 * gather of ranks.csv's records. Ranks whose sequences of blocking exchanges differ would
 * deadlock or, worse, match the wrong collectives and compute garbage; the hashes that
 * sal_wd_enter folds (core/watchdog.c) make that a one-line error at the end of the round. */
#include "collcheck.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sequence as text, for the mismatch message: its first SAL_WD_FIRST op names. */
typedef struct seq_text {
    uint64_t hash;
    int32_t count;
    char host[SAL_HOST_MAX];
    char op[SAL_WD_FIRST][80];
} seq_text;

static void to_text(const sal_wd_seq *s, seq_text *t) {
    memset(t, 0, sizeof *t);
    t->hash = s->hash;
    t->count = s->count;
    sal_rank_host(t->host);
    for (int i = 0; i < SAL_WD_FIRST && i < s->count; i++)
        snprintf(t->op[i], sizeof t->op[i], "%s", s->first[i]);
}

/* Call i (0-based) of t, quoted, or a note that the sequence does not hold it. */
static const char *call(const seq_text *t, int i, char *buf, size_t n) {
    if (i >= t->count)
        snprintf(buf, n, "missing (%d calls in the round)", (int)t->count);
    else
        snprintf(buf, n, "\"%s\"", t->op[i]);
    return buf;
}

/* The mismatch path (cost does not matter: the run is over): rank 0 gathers every rank's
 * sequence as text and names the lowest diverging rank d (d < 0: find it from the hashes) and
 * the first call where it differs from the reference. */
static sal_status mismatch(MPI_Comm comm, int round, int expect_mode, const sal_wd_seq *expect,
                           const sal_wd_seq *mine, int d, sal_err *err) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    seq_text own, ref, *all = rank == 0 ? malloc(sizeof(seq_text) * (size_t)size) : NULL;
    to_text(mine, &own);
    int have = rank != 0 || all;
    MPI_Bcast(&have, 1, MPI_INT, 0, comm);
    if (!have)
        return sal_fail(err, SAL_EMPI,
                        "check_collectives: the ranks' exchanges diverged in round %d (out of "
                        "memory to say where)",
                        round);
    MPI_Gather(&own, (int)sizeof own, MPI_BYTE, all, (int)sizeof own, MPI_BYTE, 0, comm);
    if (rank != 0) {
        err->msg[0] = '\0';
        return SAL_EMPI; /* rank 0 speaks */
    }
    for (int r = 1; d < 0 && r < size; r++)
        if (all[r].hash != all[0].hash) d = r;
    if (d < 0) d = 0; /* cannot happen: the hashes differed */
    if (expect_mode)
        to_text(&expect[d], &ref);
    else
        ref = all[0];
    const seq_text *t = &all[d];
    /* the first call that differs, among the first SAL_WD_FIRST of each */
    int n = t->count > ref.count ? t->count : ref.count, i;
    n = n < SAL_WD_FIRST ? n : SAL_WD_FIRST;
    for (i = 0; i < n; i++) {
        int a = i < t->count, b = i < ref.count;
        if (a != b || (a && strcmp(t->op[i], ref.op[i]))) break;
    }
    char mine_s[128], ref_s[128];
    if (i == n) /* the first calls agree: the difference is later */
        sal_fail(err, SAL_EMPI,
                 "check_collectives: rank %d (host %s) diverged in round %d after its first %d "
                 "calls: it made %d, %s %d",
                 d, t->host, round, n, (int)t->count,
                 expect_mode ? "the server expected" : "rank 0", (int)ref.count);
    else
        sal_fail(err, SAL_EMPI,
                 "check_collectives: rank %d (host %s) diverged in round %d: its call %d was %s, "
                 "%s %s",
                 d, t->host, round, i + 1, call(t, i, mine_s, sizeof mine_s),
                 expect_mode ? "the server expected" : "rank 0's was",
                 call(&ref, i, ref_s, sizeof ref_s));
    free(all);
    return SAL_EMPI;
}

sal_status sal_cc_check(MPI_Comm comm, int on, int round, int expect_mode,
                        const sal_wd_seq *expect, sal_err *err) {
    if (!on) return SAL_OK;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    sal_wd_seq mine;
    sal_wd_seq_take(&mine);
    /* O(1) memory and one small collective per round. Every rank runs the same sequence:
     * min(h) == max(h) over the ranks, one MPI_Allreduce(MIN) of (h, ~h). fedavg: rank 0
     * scatters to each rank the hash the server expects of it (straight out of expect[], a
     * strided type), and one MPI_Allreduce(MIN) of "my rank if mine differs" names the lowest
     * diverging rank. */
    int d = -1; /* -1: diverged, rank unknown; size: all agree */
    /* fedavg's client ranks wait here on the server, which may still wait for another
     * client's upload: let the server's own deadline name that client first */
    const int fed_client = expect_mode && rank != 0;
    sal_wd_enter_ex("the check_collectives hash exchange", fed_client ? 0 : SAL_WD_ALL,
                    SAL_WD_UNHASHED | (fed_client ? SAL_WD_UPSTREAM : 0u));
    if (!expect_mode) {
        uint64_t v[2] = {mine.hash, ~mine.hash}, m[2];
        MPI_Allreduce(v, m, 2, MPI_UINT64_T, MPI_MIN, comm);
        d = m[0] == ~m[1] ? size : -1;
    } else {
        uint64_t want = mine.hash;
        MPI_Datatype one, strided;
        MPI_Type_contiguous(1, MPI_UINT64_T, &one);
        MPI_Type_create_resized(one, 0, (MPI_Aint)sizeof(sal_wd_seq), &strided);
        MPI_Type_commit(&strided);
        MPI_Scatter(rank == 0 ? &expect[0].hash : NULL, 1, strided, &want, 1, MPI_UINT64_T, 0,
                    comm);
        MPI_Type_free(&strided);
        MPI_Type_free(&one);
        int v = rank != 0 && want != mine.hash ? rank : size;
        MPI_Allreduce(&v, &d, 1, MPI_INT, MPI_MIN, comm);
    }
    sal_status st = d == size ? SAL_OK : mismatch(comm, round, expect_mode, expect, &mine, d, err);
    sal_wd_leave();
    return st;
}

void sal_cc_gather_ranks(MPI_Comm comm, sal_rank_row *mine, sal_rank_row *rows) {
    static char host[SAL_HOST_MAX];
    if (!host[0]) sal_rank_host(host);
    int rank;
    MPI_Comm_rank(comm, &rank);
    mine->rank = rank;
    memcpy(mine->host, host, sizeof host);
    MPI_Gather(mine, (int)sizeof *mine, MPI_BYTE, rows, (int)sizeof *mine, MPI_BYTE, 0, comm);
}
