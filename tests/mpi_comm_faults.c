/* mpi_comm_faults.c - run under mpirun (test-ranks: 2 3 4). One rank's failure inside a
 * collective is every rank's error, at once. For each fault site of the communication library
 * (fault.h: scratch that cannot be allocated in the sparse allreduce's allgather, recdbl, dense
 * and ring, auto, the dense ring and the masked allreduce; a non-finite top-k residual, injected,
 * and a real NaN in a gradient), armed on the first and on the last rank: every rank returns the
 * same status with the same message, which names the failing rank and the cause, within
 * seconds; and the context then sums correctly (nothing left in flight). A rank left waiting in a
 * collective is ended by the watchdog after 20 s (exit 124), so a regression fails here quickly
 * instead of at ctest's timeout. */
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/allreduce.h"
#include "salient/fault.h"
#include "salient/watchdog.h"

static int rank, P;

enum { N = 1000 };

/* What a case runs: one collective on every rank; fail_here: this rank is the failing one (for
 * the top-k case with a real NaN, which no fault setting arms). */
typedef enum kind {
    ALLGATHER,
    RECDBL,
    DENSE,
    RING,
    AUTO,
    DENSE_RING,
    MASKED,
    MASKED_IDX,
    TOPK,
    TOPK_NAN
} kind;

static const struct {
    kind k;
    const char *site; /* SALIENT_FAULT site armed (NULL: none, the input fails) */
    sal_status want;
    const char *cause; /* in the message, after "rank R: " */
} cases[] = {
    {ALLGATHER, "nomem-allgather", SAL_ENOMEM, "sparse allreduce (allgather): out of memory"},
    {RECDBL, "nomem-recdbl", SAL_ENOMEM, "sparse allreduce (recdbl): out of memory"},
    {DENSE, "nomem-dense", SAL_ENOMEM, "sparse allreduce (dense): out of memory"},
    {RING, "nomem-ring", SAL_ENOMEM, "sparse allreduce (ring): out of memory"},
    {AUTO, NULL, SAL_ENOMEM, "sparse allreduce ("}, /* site: the one auto picks */
    {DENSE_RING, "nomem-ring", SAL_ENOMEM, "ring allreduce: out of memory"},
    {MASKED, "nomem-masked", SAL_ENOMEM, "masked allreduce: out of memory"},
    {MASKED_IDX, "nomem-masked", SAL_ENOMEM, "masked allreduce: out of memory"},
    {TOPK, "nonfinite-topk", SAL_ENUMERIC, "top-k: accumulated gradient [0] is nan"},
    {TOPK_NAN, NULL, SAL_ENUMERIC, "top-k: accumulated gradient [3] is nan"},
};

/* This rank's sparse set: every 7th index from rank % 7, values rank + 1 (integers: sums
 * exact); mask: every 3rd index. */
static size_t my_set(uint32_t *idx, float *val) {
    size_t k = 0;
    for (uint32_t i = (uint32_t)(rank % 7); i < N; i += 7) idx[k] = i, val[k++] = (float)(rank + 1);
    return k;
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int same_everywhere(uint64_t h) {
    uint64_t lo, hi;
    MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

/* Runs case k on every rank into out (N, the sum as dense floats); bad: this rank's gradient
 * holds a NaN (TOPK_NAN). */
static sal_status run(sal_coll *c, kind k, int bad, float *out, sal_err *err) {
    uint32_t idx[N], mask_idx[N];
    float val[N], in[N], mask[N], g[N];
    const size_t K = my_set(idx, val);
    size_t nnz = 0;
    for (size_t i = 0; i < N; i++) {
        in[i] = (float)((int)(i % 5) + rank);
        mask[i] = i % 3 == 0;
        if (mask[i] != 0.0f) mask_idx[nnz++] = (uint32_t)i;
        g[i] = (float)(((int)i * 7 + rank) % 11 - 5);
        out[i] = 0.0f;
    }
    if (bad) g[3] = NAN;
    sal_sparse_result res;
    sal_status st;
    static const sal_sparse_algo algo[] = {SAL_AR_ALLGATHER, SAL_AR_RECDBL, SAL_AR_DENSE,
                                           SAL_AR_RING, SAL_AR_AUTO};
    sal_wd_enter("the collective under test", SAL_WD_ALL);
    switch (k) {
    case DENSE_RING: st = sal_allreduce_ring(c, in, out, N, err); break;
    case MASKED: st = sal_allreduce_masked(c, in, out, mask, N, err); break;
    case MASKED_IDX: st = sal_allreduce_masked_idx(c, in, out, mask_idx, nnz, err); break;
    case TOPK:
    case TOPK_NAN: {
        sal_topk_ef *ef;
        st = sal_topk_ef_create(N, &ef, err);
        if (!st)
            st = sal_topk_allreduce(c, SAL_AR_AUTO, ef, g, N / 10, idx, val, &res, err);
        if (!st) sal_sparse_result_to_dense(&res, out);
        sal_topk_ef_free(ef);
        break;
    }
    default:
        st = sal_allreduce_sparse(c, algo[k], idx, val, K, N, &res, err);
        if (!st) sal_sparse_result_to_dense(&res, out);
    }
    sal_wd_leave();
    return st;
}

/* What run(k) must give, from the inputs' closed forms. */
static int sum_ok(kind k, const float *out) {
    for (size_t i = 0; i < N; i++) {
        float want = 0;
        if (k == DENSE_RING || k == MASKED || k == MASKED_IDX) {
            if (k == DENSE_RING || i % 3 == 0) want = (float)((int)(i % 5) * P + P * (P - 1) / 2);
        } else if (k == TOPK) {
            continue; /* which entries top-k sends is test_topk_ef's business; rank agreement is
                       * checked by the caller */
        } else {
            for (int r = 0; r < P; r++)
                if (i % 7 == (size_t)(r % 7)) want += (float)(r + 1);
        }
        if (out[i] != want) return 0;
    }
    return 1;
}

static void check_case(sal_coll *c, int ci, int victim) {
    const kind k = cases[ci].k;
    char spec[64] = "";
    const char *site = cases[ci].site;
    if (k == AUTO) { /* arm the site of the algorithm auto will choose for these sets */
        uint32_t idx[N];
        float val[N];
        uint64_t K = my_set(idx, val), tot;
        MPI_Allreduce(&K, &tot, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
        sal_coll_opts o;
        sal_coll_opts_default(&o);
        sal_cost_estimate est;
        sal_cost_sparse(&o.cost, o.dense_switch, P, N, tot, &est);
        static const char *site_of[] = {"", "nomem-allgather", "nomem-recdbl", "nomem-dense",
                                        "nomem-ring"};
        site = site_of[sal_cost_pick(&est)];
    }
    if (site) snprintf(spec, sizeof spec, "%s:%d", site, victim);
    sal_err err = {{0}};
    CHECK(sal_fault_set(site ? spec : NULL, &err) == SAL_OK);
    float out[N];
    double t0 = MPI_Wtime();
    sal_status st = run(c, k, k == TOPK_NAN && rank == victim, out, &err);
    double dt = MPI_Wtime() - t0, worst;
    sal_fault_set(NULL, NULL);
    MPI_Allreduce(&dt, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    const char *what = site ? spec : "a NaN in the gradient";
    CHECK_MSG(st == cases[ci].want, "%s on rank %d: status %d (%s), expected %d", what, rank, st,
              st ? err.msg : "ok", cases[ci].want);
    char want[160];
    snprintf(want, sizeof want, "rank %d: %s", victim, cases[ci].cause);
    CHECK_MSG(!strncmp(err.msg, want, strlen(want)), "%s: rank %d's message '%s' does not start '%s'",
              what, rank, err.msg, want);
    CHECK_MSG(same_everywhere(hash_str(err.msg)), "%s: the ranks' messages differ; rank %d's: %s",
              what, rank, err.msg);
    CHECK_MSG(worst < 10.0, "%s: the slowest rank took %.1f s to return", what, worst);
    /* the context still works, and sums right */
    const kind next = k == TOPK_NAN ? TOPK : k;
    st = run(c, next, 0, out, &err);
    CHECK_MSG(st == SAL_OK, "%s: the next call failed: %s", what, err.msg);
    CHECK_MSG(!st && sum_ok(next, out), "%s: the next call's sum is wrong", what);
    float h[N];
    memcpy(h, out, sizeof h);
    uint64_t hb = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof h; i++) hb = (hb ^ ((unsigned char *)h)[i]) * 1099511628211ull;
    CHECK_MSG(same_everywhere(hb), "%s: the next call's result differs between ranks", what);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    CHECK(sal_wd_start(20.0, rank, P) == 0);
    sal_err err;
    CHECK(sal_fault_set("nomem-everything:1", &err) == SAL_EINVAL);
    CHECK(strstr(err.msg, "unknown site") != NULL);
    CHECK(sal_fault_set("nomem-ring:x", &err) == SAL_EINVAL);
    sal_coll *c;
    CHECK(sal_coll_create(MPI_COMM_WORLD, NULL, &c, &err) == SAL_OK);
    const int victims[2] = {0, P - 1};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
        for (int v = 0; v < (P > 1 ? 2 : 1); v++) check_case(c, (int)ci, victims[v]);
    sal_coll_free(c);
    MPI_Finalize();
    return sal_test_done("mpi_comm_faults");
}
