/* coll_agree.c - one outcome on every rank of a collective: a failure on one rank (an input it
 * rejects, scratch it cannot allocate) is the same error on all of them before any payload
 * moves, and the scratch growth that is the only place a collective allocates. */
#include <stdio.h>
#include <string.h>

#include "allreduce_internal.h"

sal_status sal_comm_spread(MPI_Comm comm, int first, sal_status code, sal_err *err) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    struct {
        int code;
        char msg[sizeof err->msg];
    } m = {(int)code, ""};
    if (rank == first) snprintf(m.msg, sizeof m.msg, "rank %d: %.490s", first, err->msg);
    /* On an MPI failure here the peers are gone; every rank still returns `code`. */
    MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, first, comm);
    m.msg[sizeof m.msg - 1] = '\0';
    memcpy(err->msg, m.msg, sizeof m.msg);
    return m.code ? (sal_status)m.code : code;
}

sal_status sal_comm_agree(MPI_Comm comm, sal_status mine, sal_err *err) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int bad = mine ? rank : size, first = bad;
    int rc = MPI_Allreduce(&bad, &first, 1, MPI_INT, MPI_MIN, comm);
    if (rc != MPI_SUCCESS) return sal_coll_mpi_error(err, rc, "status agreement: MPI_Allreduce");
    if (first == size) return SAL_OK;
    return sal_comm_spread(comm, first, mine ? mine : SAL_EMPI, err);
}

static int fits(const sal_coll_need *need, const sal_coll_need *have) {
    return need->pa <= have->pa && need->pb <= have->pb && need->out <= have->out &&
           need->dense <= have->dense && need->rbuf <= have->rbuf && need->ring <= have->ring &&
           need->packed <= have->packed;
}

#define MAX(a, b) ((a) > (b) ? (a) : (b))

sal_status sal_coll_grow(sal_coll *c, const sal_coll_need *need, sal_fault_site site,
                         const char *what, sal_err *err) {
    /* Every rank reads the same fault setting, so all of them come here when one is armed. */
    const int fault = sal_fault_at(site);
    if (fault < 0 && fits(need, &c->ready)) return SAL_OK;
    const size_t bytes = need->pa * sizeof *c->pa + need->pb * sizeof *c->pb +
                         need->out * (sizeof *c->out_idx + sizeof *c->out_val) +
                         (need->dense + need->rbuf + need->ring + need->packed) * sizeof(float);
    sal_status mine = SAL_OK;
    if (fault == c->rank)
        mine = sal_fail(err, SAL_ENOMEM,
                        "%s: out of memory for %zu bytes of scratch (injected: SALIENT_FAULT)",
                        what, bytes);
    else if (sal_coll_reserve(&c->pa, &c->pa_cap, need->pa, sizeof *c->pa) ||
             sal_coll_reserve(&c->pb, &c->pb_cap, need->pb, sizeof *c->pb) ||
             sal_coll_reserve(&c->out_idx, &c->out_icap, need->out, sizeof *c->out_idx) ||
             sal_coll_reserve(&c->out_val, &c->out_vcap, need->out, sizeof *c->out_val) ||
             sal_coll_reserve(&c->dense, &c->dense_cap, need->dense, sizeof *c->dense) ||
             sal_coll_reserve(&c->rbuf, &c->rbuf_cap, need->rbuf, sizeof *c->rbuf) ||
             sal_coll_reserve(&c->ring, &c->ring_cap, need->ring, sizeof *c->ring) ||
             sal_coll_reserve(&c->packed, &c->packed_cap, need->packed, sizeof *c->packed))
        mine = sal_coll_nomem(err, what, bytes);
    /* Not counted in the call's bytes: it happens when scratch grows, so counting it would make
     * a call's bytes depend on the context's history instead of the call. */
    sal_status st = sal_comm_agree(c->comm, mine, err);
    if (st) return st;
    sal_coll_need *r = &c->ready;
    r->pa = MAX(r->pa, need->pa), r->pb = MAX(r->pb, need->pb), r->out = MAX(r->out, need->out);
    r->dense = MAX(r->dense, need->dense), r->rbuf = MAX(r->rbuf, need->rbuf);
    r->ring = MAX(r->ring, need->ring), r->packed = MAX(r->packed, need->packed);
    return SAL_OK;
}
