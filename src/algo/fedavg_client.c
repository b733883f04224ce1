/* fedavg_client.c - a client rank: hosts a block of clients and, each round, trains the sampled
 * ones one after another. It draws the same client sample as the server from the seed, so no
 * message says who is sampled; it only receives weights (or a stop) and sends weights back. */
#include <string.h>

#include "algos.h"
#include "collcheck.h"
#include "fedavg.h"
#include "salient/fault.h"
#include "salient/pack.h"
#include "salient/watchdog.h"

/* Wait for the server's next message to this rank: weights into f->p->w (unpacked through the
 * mask), or a stop. Returns 1 for weights, 0 for a stop (its code in *code). */
static int receive(fed *f, int *code, double *wait_s, double *comm_s) {
    MPI_Status ms;
    double t0 = sal_now();
    /* the server answers once every sampled client has uploaded: wait longer than it does */
    sal_wd_enter_ex(SAL_CC_FED_RECV, 0, SAL_WD_UPSTREAM);
    MPI_Probe(0, MPI_ANY_TAG, f->comm, &ms); /* blocks until the server's message is here */
    sal_wd_leave();
    double t1 = sal_now();
    *wait_s += t1 - t0;
    if (ms.MPI_TAG == FED_TAG_STOP) {
        MPI_Recv(code, 1, MPI_INT, 0, FED_TAG_STOP, f->comm, MPI_STATUS_IGNORE);
        return 0;
    }
    MPI_Recv(f->packed, (int)f->msg, MPI_FLOAT, 0, FED_TAG_WEIGHTS, f->comm, MPI_STATUS_IGNORE);
    *comm_s += sal_now() - t1;
    sal_fed_unpack(f);
    return 1;
}

sal_status sal_fed_client(fed *f, const char *resume, sal_err *err) {
    sal_round row0 = {0};
    int start = 0;
    /* ranks.csv's host names, once, as the server gathers them */
    int have;
    sal_wd_enter("gathering the ranks' host names", SAL_WD_ALL);
    MPI_Bcast(&have, 1, MPI_INT, 0, f->comm);
    sal_rank_row me = {0};
    if (have) sal_cc_gather_ranks(f->comm, &me, NULL);
    sal_wd_leave();
    sal_status st = resume ? sal_fed_resume(f, resume, NULL, &start, err)
                           : sal_fed_mask(f, &row0, err);
    if (st) return st;
    int code = SAL_OK;
    const int check = f->cfg->check_collectives == SAL_FLAG_TRUE;
    sal_wd_check_collectives(check); /* the server compares what it saw with our sequence */
    /* The loop runs to the configured end; the server may stop it sooner (a signal). */
    for (int round = start; round < f->cfg->rounds; round++) {
        sal_fault_round(round + 1, f->rank);
        sal_wd_round(round + 1);
        int m = sal_fed_sample(f->cfg, round, f->sampled);
        for (int j = 0; j < m; j++) {
            int c = f->sampled[j];
            if (f->owner[c] != f->rank) continue;
            fed_stats s = {0};
            double wait = 0;
            if (!receive(f, &code, &wait, &s.comm_s)) goto stopped;
            sal_fed_local_train(f, c, round, &s);
            double t0 = sal_now();
            sal_fed_pack(f);
            s.compute_s += sal_now() - t0;
            t0 = sal_now(); /* the server posted this receive at the round's start */
            sal_wd_enter(SAL_CC_FED_SEND, 0);
            MPI_Send(f->packed, (int)f->msg, MPI_FLOAT, 0, FED_TAG_UPLOAD, f->comm);
            sal_wd_leave();
            s.comm_s += sal_now() - t0;
            MPI_Send(&s, 4, MPI_DOUBLE, 0, FED_TAG_STATS, f->comm);
        }
        /* on a mismatch the server stops every rank with the error: wait for its stop */
        if (sal_cc_check(f->comm, check, round + 1, 1, NULL, err)) break;
    }
    /* The run ends with the server's stop, also when it ends early on an error. */
    double wait = 0, comm = 0;
    while (receive(f, &code, &wait, &comm)) {
    }
stopped:
    sal_wd_check_collectives(0);
    if (code != SAL_OK) err->msg[0] = '\0'; /* rank 0 reports the error */
    return (sal_status)code;
}
