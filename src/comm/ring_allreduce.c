/* ring_allreduce.c - dense sum-allreduce of floats by a pipelined ring: reduce-scatter then
 * allgather (Patarasuk and Yuan, JPDC 69(2), 2009), every step cut into segments that stream. */
#include <limits.h>
#include <string.h>

#include "allreduce_internal.h"

enum { TAG = 9 };

/* Requests in flight per direction (and receive slots of scratch). Measured on 4 nodes at
 * 1 Gb/s, 2^24 floats, 1 MiB segments: 1 -> 1.17 s, 2 -> 1.01 s, 4 -> 0.93 s, 8 -> 0.97 s (the
 * bound is 0.81 s): one leaves the link idle while a segment is added, 4 covers the rendezvous
 * round trips of Open MPI's TCP path. */
enum { WINDOW = 4 };

/* The ring as one chain of H = 2(P-1) hops. At hop h rank r sends block (r - h) mod P to r + 1
 * and receives block (r - 1 - h) mod P from r - 1: hops 0 .. P-2 are the reduce-scatter (the
 * received block is added to ours, and sent on at the next hop), hops P-1 .. 2P-3 the allgather
 * (the received block is final: stored, and sent on). So block b is summed in the fixed order
 * ((in_b + in_b+1) + in_b+2) + ... on its way round, and each rank ends with the bits of the
 * rank that finished it: every rank gets the same bits by construction.
 * Each block is cut into nseg segments; a unit u = h x nseg + j is segment j at hop h. Time t
 * processes receive unit t: wait for it, add or store it, then post send unit t + W and
 * receive unit t + W (W = window). Send unit u's data is final once receive unit u - nseg is
 * processed, so W <= nseg suffices for every send; with W <= nseg a send is waited for (at
 * time u) before anything writes its region again (a receive posted at time u + (P-1) nseg - W
 * at the earliest), and a scratch slot is reused only after its segment was added. A rank waits
 * only on neighbours at most W units behind it: no cycle, no deadlock. */
typedef struct ring {
    sal_coll *c;
    const float *in;
    float *out;
    size_t n, nseg, W;
    int P, r, left, right;
    int hops;                 /* 2(P-1) */
    float *slot;              /* (W, seg) receive scratch of the reduce-scatter hops */
    size_t seg;               /* floats per slot */
    MPI_Request *sreq, *rreq; /* (W) */
} ring;

/* Block b: n / P floats, one more for the first n % P blocks. */
static size_t block_off(const ring *g, int b) {
    const size_t q = g->n / (size_t)g->P, m = g->n % (size_t)g->P, bb = (size_t)b;
    return bb * q + (bb < m ? bb : m);
}
static size_t block_len(const ring *g, int b) {
    return g->n / (size_t)g->P + ((size_t)b < g->n % (size_t)g->P);
}

/* Unit u's block at hop h (to send: rank r; to receive: rank r - 1), and segment j's range in
 * it: nseg near-equal pieces, so no short tail segment costs a message of its own. */
static void unit_range(const ring *g, size_t u, int sender, size_t *off, size_t *len) {
    const int h = (int)(u / g->nseg);
    const size_t j = u % g->nseg;
    const int b = ((sender - h) % g->P + g->P) % g->P;
    const size_t m = block_len(g, b), lo = j * m / g->nseg, hi = (j + 1) * m / g->nseg;
    *off = block_off(g, b) + lo;
    *len = hi - lo;
}

static int post_send(ring *g, size_t u) {
    MPI_Request *req = &g->sreq[u % g->W];
    int rc = MPI_Wait(req, MPI_STATUS_IGNORE); /* the slot's previous send, unit u - W */
    if (rc != MPI_SUCCESS || u >= (size_t)g->hops * g->nseg) return rc;
    size_t off, len;
    unit_range(g, u, g->r, &off, &len);
    if (len == 0) return MPI_SUCCESS;
    /* Hop 0 sends our own block, which is still only in `in` (out is written per block, when
     * its first sum or its final value arrives). */
    const float *src = u < g->nseg ? g->in : g->out;
    g->c->last.bytes_sent += 4 * (uint64_t)len;
    return MPI_Isend(src + off, (int)len, MPI_FLOAT, g->right, TAG, g->c->comm, req);
}

static int post_recv(ring *g, size_t u) {
    if (u >= (size_t)g->hops * g->nseg) return MPI_SUCCESS;
    size_t off, len;
    unit_range(g, u, g->left, &off, &len);
    if (len == 0) return MPI_SUCCESS;
    const int reduce = u / g->nseg < (size_t)(g->P - 1);
    float *dst = reduce ? g->slot + (u % g->W) * g->seg : g->out + off;
    g->c->last.bytes_recv += 4 * (uint64_t)len;
    return MPI_Irecv(dst, (int)len, MPI_FLOAT, g->left, TAG, g->c->comm, &g->rreq[u % g->W]);
}

/* Receive unit t has arrived: in a reduce-scatter hop, out = in + theirs over its range (each
 * range of out is summed exactly once, so `in` is read here and never copied to out first). */
static int finish_recv(ring *g, size_t t) {
    int rc = MPI_Wait(&g->rreq[t % g->W], MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || t / g->nseg >= (size_t)(g->P - 1)) return rc;
    size_t off, len;
    unit_range(g, t, g->left, &off, &len);
    const float *a = g->in + off, *theirs = g->slot + (t % g->W) * g->seg;
    float *o = g->out + off; /* may alias a (in == out): no restrict */
    for (size_t i = 0; i < len; i++) o[i] = a[i] + theirs[i];
    return MPI_SUCCESS;
}

/* Segments per block, floats per segment and the window for n floats on P ranks. */
static void ring_shape(size_t n, int P, size_t seg_bytes, size_t *nseg, size_t *seg, size_t *W) {
    size_t s = seg_bytes / sizeof(float), maxblock = n / (size_t)P + (n % (size_t)P != 0);
    if (s > (size_t)INT_MAX) s = (size_t)INT_MAX;
    *nseg = (maxblock + s - 1) / s;
    *seg = (maxblock + *nseg - 1) / *nseg; /* the longest of a block's near-equal segments */
    *W = *nseg < WINDOW ? *nseg : WINDOW;
}

/* W segments (4 MiB at the default), not n. */
size_t sal_ring_scratch(size_t n, int P, size_t seg_bytes) {
    if (P == 1 || n == 0) return 0;
    size_t nseg, seg, W;
    ring_shape(n, P, seg_bytes, &nseg, &seg, &W);
    return W * seg;
}

sal_status sal_ring_run(sal_coll *c, const float *in, float *out, size_t n, size_t seg_bytes,
                        sal_err *err) {
    const int P = c->size;
    if (P == 1 || n == 0) {
        if (in != out) memcpy(out, in, n * sizeof *out);
        return SAL_OK;
    }
    ring g = {.c = c, .in = in, .out = out, .n = n, .P = P, .r = c->rank, .hops = 2 * (P - 1)};
    g.left = (g.r + P - 1) % P, g.right = (g.r + 1) % P;
    ring_shape(n, P, seg_bytes, &g.nseg, &g.seg, &g.W);
    g.slot = c->ring; /* grown by the caller (sal_coll_grow) */
    MPI_Request sreq[WINDOW], rreq[WINDOW];
    for (size_t k = 0; k < WINDOW; k++) sreq[k] = rreq[k] = MPI_REQUEST_NULL;
    g.sreq = sreq, g.rreq = rreq;

    const size_t units = (size_t)g.hops * g.nseg;
    int rc = MPI_SUCCESS;
    for (size_t u = 0; u < g.W && rc == MPI_SUCCESS; u++) rc = post_recv(&g, u);
    for (size_t u = 0; u < g.W && rc == MPI_SUCCESS; u++) rc = post_send(&g, u);
    for (size_t t = 0; t < units && rc == MPI_SUCCESS; t++) {
        rc = finish_recv(&g, t);
        if (rc == MPI_SUCCESS) rc = post_send(&g, t + g.W);
        if (rc == MPI_SUCCESS) rc = post_recv(&g, t + g.W);
    }
    /* Our last W sends; after them nothing of this call is in flight. */
    if (rc == MPI_SUCCESS) rc = MPI_Waitall((int)g.W, sreq, MPI_STATUSES_IGNORE);
    /* After an MPI error requests may still be pending; over TCP such an error means a peer is
     * gone, and the caller can only abort (as after a failed MPI_Allreduce). */
    if (rc != MPI_SUCCESS) return sal_coll_mpi_error(err, rc, "ring allreduce");
    return SAL_OK;
}

sal_status sal_allreduce_ring_seg(sal_coll *c, const float *in, float *out, size_t n,
                                  size_t seg_bytes, sal_err *err) {
    if (seg_bytes < sizeof(float))
        return sal_fail(err, SAL_EINVAL, "ring allreduce: segment of %zu bytes (at least 4)",
                        seg_bytes);
    /* The scratch depends on n and P alone, so every rank grows it in the same calls. */
    const sal_coll_need need = {.ring = sal_ring_scratch(n, c->size, seg_bytes)};
    sal_status st = sal_coll_grow(c, &need, SAL_FAULT_NOMEM_RING, "ring allreduce", err);
    if (st) return st;
    double t0 = MPI_Wtime();
    sal_coll_begin(c);
    st = sal_ring_run(c, in, out, n, seg_bytes, err);
    sal_coll_end(c, t0);
    return st;
}

/* The sparse allreduce's ring: scatter the set into a dense buffer, then the ring over it. A
 * full set (k == n: distinct ascending indices, so val is the dense vector) goes straight in:
 * the ring reads its input once and writes only its output, so no copy is needed either (on 8
 * nodes at 2^24 floats the copy and the scatter before it made auto 6-11% slower than the
 * ring row of bench). */
sal_status sal_sparse_ring(sal_coll *c, const uint32_t *idx, const float *val, size_t k, size_t n,
                           sal_sparse_result *res, sal_err *err) {
    if (k != n) sal_sparse_scatter(c, idx, val, k, n);
    float *d = c->dense;
    sal_status st = sal_ring_run(c, k == n ? val : d, d, n, SAL_RING_SEGMENT, err);
    if (st) return st;
    *res = (sal_sparse_result){.algo = SAL_AR_RING, .dense = 1, .n = n, .nnz = n, .val = d};
    return SAL_OK;
}

sal_status sal_allreduce_ring(sal_coll *c, const float *in, float *out, size_t n, sal_err *err) {
    return sal_allreduce_ring_seg(c, in, out, n, SAL_RING_SEGMENT, err);
}
