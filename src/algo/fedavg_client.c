/* fedavg_client.c - a client rank: each round it trains the sampled clients that [run]
 * placement gives it (fedavg.h), one after another. It draws the same client sample as the
 * server from the seed and derives the placement, so no message says who is sampled or where
 * it trains; it only receives weights (or a stop) and sends weights back.
 * Uploads leave by MPI_Isend from one buffer per sampled client of this rank: the server takes
 * them in client-id order through two slots (fedavg_server.c), and a rank whose clients come
 * late in that order goes on training instead of waiting for the server to reach it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algos.h"
#include "collcheck.h"
#include "fedavg.h"
#include "fedavg_quant.h"
#include "fedavg_randk.h"
#include "salient/fault.h"
#include "salient/pack.h"
#include "salient/watchdog.h"

/* Wait for the server's next message to this rank: weights into f->p->w (unpacked through the
 * mask), or a stop. Returns 1 for weights, 0 for a stop (its code in *code). With quantize =
 * adaquant the round's levels come first, into f->levels, and the weights right behind them. */
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
    if (ms.MPI_TAG == FED_TAG_LEVELS)
        MPI_Recv(&f->levels, 1, MPI_INT, 0, FED_TAG_LEVELS, f->comm, MPI_STATUS_IGNORE);
    MPI_Recv(f->packed, (int)f->msg, MPI_FLOAT, 0, FED_TAG_WEIGHTS, f->comm, MPI_STATUS_IGNORE);
    *comm_s += sal_now() - t1;
    sal_fed_unpack(f);
    return 1;
}

/* Evaluate the server's new global model as the server does, and discard the figures: while the
 * server evaluates, this rank computes too instead of waiting in an exchange, where the
 * watchdog would count a long evaluation against comm_timeout. The weights it overwrites are
 * replaced by the next round's download. */
static int evaluate_global(fed *f, int *code) {
    if (!sal_fed_eval_bcast(f, code)) return 0; /* the server stopped instead */
    sal_fed_unpack(f);
    sal_evaluate(f->model, &f->test, f->cfg->batch, f->x, f->y, f->idx, NULL);
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
    /* Send buffers: the most uploads the placement gives this rank in a round (m is the same
     * every round), allocated once the message size (mask nonzeros + state) is known; the
     * server agrees on the outcome with every rank as it allocates its own buffers. */
    const int W = f->size - 1;
    int m0 = sal_fed_sample(f->cfg, 0, f->sampled);
    int slots = sal_fed_most_trained(f->cfg, W, f->rank, m0);
    /* quantized: the uploads are encoded bytes (cap each); one float buffer packs the model and
     * turns it into the update before encoding */
    size_t cap = sal_fed_quant_cap(f->cfg, f->nnz, f->p->ns);
    const int quant = cap > 0;
    /* Rand-k: the uploads are k + ns floats each; the same single packing buffer */
    const int randk = f->cfg->compress == SAL_COMPRESS_RANDK;
    const size_t rkn = randk ? sal_fed_randk_floats(f->cfg, f->nnz, f->p->ns) : 0;
    if (randk) cap = sizeof(float) * (rkn ? rkn : 1);
    size_t *rkidx = randk ? malloc(sizeof(size_t) * (rkn ? rkn : 1)) : NULL;
    f->levels = f->cfg->quantize_levels; /* adaquant: the server sends each round's */
    size_t nup = quant || randk ? 1 : (size_t)(slots > 0 ? slots : 1);
    float *up = malloc(sizeof(float) * nup * (f->msg ? f->msg : 1));
    /* floats or bytes, aligned for either (malloc) */
    uint8_t *enc = quant || randk ? malloc(cap * (size_t)(slots > 0 ? slots : 1)) : NULL;
    fed_stats *ups = malloc(sizeof(fed_stats) * (size_t)(slots > 0 ? slots : 1));
    MPI_Request *sreq = malloc(sizeof(MPI_Request) * 2 * (size_t)(slots > 0 ? slots : 1));
    if (!up || !ups || !sreq || ((quant || randk) && !enc) || (randk && !rkidx))
        st = sal_fail(err, SAL_ENOMEM, "out of memory for %d uploads of %zu floats", slots,
                      f->msg);
    if ((st = sal_mpi_agree(f->comm, st, err))) {
        free(up), free(enc), free(ups), free(sreq), free(rkidx);
        return st;
    }
    /* round 0: the server evaluates the masked initial model, which every rank holds */
    if (!resume) sal_evaluate(f->model, &f->test, f->cfg->batch, f->x, f->y, f->idx, NULL);
    int code = SAL_OK;
    const int check = f->cfg->check_collectives == SAL_FLAG_TRUE;
    sal_wd_check_collectives(check); /* the server compares what it saw with our sequence */
    /* The loop runs to the configured end; the server may stop it sooner (a signal). */
    for (int round = start; round < f->cfg->rounds; round++) {
        sal_fault_round(round + 1, f->rank);
        sal_wd_round(round + 1);
        int m = sal_fed_sample(f->cfg, round, f->sampled), k = 0;
        for (int j = 0; j < m; j++) {
            int c = f->sampled[j];
            if (sal_fed_trainer(f->cfg, W, j, c) != f->rank) continue;
            fed_stats *s = &ups[k];
            memset(s, 0, sizeof *s);
            double wait = 0;
            if (!receive(f, &code, &wait, &s->comm_s)) {
                /* the server stops only between rounds, so it took them; if not, say so */
                sal_wd_enter_ex("the server taking this rank's uploads", 0, SAL_WD_UNHASHED);
                MPI_Waitall(2 * k, sreq, MPI_STATUSES_IGNORE);
                sal_wd_leave();
                goto stopped;
            }
            sal_fed_local_train(f, c, round, s);
            double t0 = sal_now();
            float *buf = up + (quant || randk ? 0 : (size_t)k * f->msg);
            sal_fed_pack_into(f, buf);
            void *send = buf;
            int count = (int)f->msg;
            MPI_Datatype type = MPI_FLOAT;
            if (quant) {
                uint8_t *e = enc + (size_t)k * cap;
                size_t len = 0;
                sal_err qe;
                /* A diverged client's weights need not be finite: it sends an empty upload and
                 * a non-finite loss, and the server reports the divergence (fedavg_server.c). */
                if (!isfinite(s->loss_sum) ||
                    sal_fed_quant_encode(f->cfg, round, c, f->levels, buf, f->packed, f->nnz,
                                         f->p->ns, e, cap, &len, &qe))
                    s->loss_sum = NAN, len = 0;
                send = e, count = (int)len, type = MPI_BYTE;
            } else if (randk) {
                float *e = (float *)(enc + (size_t)k * cap);
                /* cap is a multiple of sizeof(float): every slot stays aligned */
                sal_fed_randk_encode(f->cfg, round, c, buf, f->packed, f->nnz, f->p->ns, rkidx, e);
                /* a diverged client sends nothing, as with quantize (the server reports it);
                 * k follows the mask's nnz, which a [sparsity] schedule's prunes lower */
                send = e, type = MPI_FLOAT;
                count =
                    isfinite(s->loss_sum) ? (int)sal_fed_randk_floats(f->cfg, f->nnz, f->p->ns) : 0;
            }
            s->compute_s += sal_now() - t0;
            t0 = sal_now();
            sal_wd_enter(SAL_CC_FED_SEND, 0); /* posting only: hashed, never waits */
            MPI_Isend(send, count, type, 0, FED_TAG_UPLOAD, f->comm, &sreq[2 * k]);
            sal_wd_leave();
            s->comm_s += sal_now() - t0;
            MPI_Isend(s, 4, MPI_DOUBLE, 0, FED_TAG_STATS, f->comm, &sreq[2 * k + 1]);
            k++;
        }
        /* The server takes this rank's uploads when their turn in client order comes; it may
         * first wait for other ranks' clients, so wait as long as for its next message. */
        sal_wd_enter_ex("the server taking this rank's uploads", 0,
                        SAL_WD_UPSTREAM | SAL_WD_UNHASHED);
        MPI_Waitall(2 * k, sreq, MPI_STATUSES_IGNORE);
        sal_wd_leave();
        if (sal_fed_evaluated(f->cfg, round) && !evaluate_global(f, &code)) goto stopped;
        /* on a mismatch the server stops every rank with the error: wait for its stop */
        if (sal_cc_check(f->comm, check, round + 1, 1, NULL, err)) break;
        /* [sparsity] schedule: a cycle ended in a prune; the server sends the new mask */
        if (sal_sched_prune_after(&f->sched.s, round + 1) &&
            !sal_fed_mask_update(f, NULL, NULL, &code))
            goto stopped;
    }
    /* The run ends with the server's stop, also when it ends early on an error. */
    double wait = 0, comm = 0;
    while (receive(f, &code, &wait, &comm)) {
    }
stopped:
    sal_wd_check_collectives(0);
    free(up), free(enc), free(ups), free(sreq), free(rkidx);
    if (code != SAL_OK) err->msg[0] = '\0'; /* rank 0 reports the error */
    return (sal_status)code;
}
