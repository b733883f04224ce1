/* mpi_allreduce.c - run under mpirun (test-ranks: 1 2 3 4 8). Every collective against
 * MPI_Allreduce of the dense equivalent on random sets of many sizes and densities (empty sets on
 * some ranks only, one element, 0.1% .. 100%): bitwise with integer values (every order sums them
 * exactly), within (P-1)-ulp-style bounds with normal ones, bitwise against a rank-order sum for
 * allgather; all ranks get the same bits; the result's form and the byte counts are what each
 * algorithm says; bad input is an error on every rank. Every rank regenerates every rank's set
 * from its seed, so the references need no communication. The ring allreduce: bitwise equal to
 * its stated summation order (and to MPI_Allreduce with integer values), the same bits on every
 * rank, in place, segments from 1 float to several per block, its exact byte counts. */
#include <float.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/allreduce.h"
#include "salient/rng.h"

static int rank, P;

/* Mode of a case: the per-rank density, or one of these. */
enum { SINGLE = -1, SOME_EMPTY = -2, RAGGED = -3 };

typedef struct set {
    size_t k;
    uint32_t *idx;
    float *val;
} set;

/* k distinct ascending indices below n by selection sampling (Knuth's Algorithm S). */
static void draw(sal_rng *r, size_t n, size_t k, uint32_t *idx) {
    size_t m = 0;
    for (size_t i = 0; i < n && m < k; i++)
        if (sal_rng_below(r, n - i) < k - m) idx[m++] = (uint32_t)i;
}

static set make_set(uint64_t seed, int q, size_t n, double mode, int integer) {
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_SYNTH, 1000 + (uint64_t)q);
    double d = mode;
    if (mode == SOME_EMPTY) d = q % 3 == 1 ? 0 : 0.05;
    if (mode == RAGGED) d = (double)(q + 1) / (P + 1);
    size_t k = mode == SINGLE ? (n > 0) : (size_t)(d * (double)n + 0.5);
    set s = {k, malloc(sizeof(uint32_t) * (k + 1)), malloc(sizeof(float) * (k + 1))};
    draw(&r, n, k, s.idx);
    for (size_t j = 0; j < k; j++)
        s.val[j] = integer ? (float)((int)sal_rng_below(&r, 19) - 9) : (float)sal_rng_normal(&r);
    return s;
}

static uint64_t hash_floats(const float *x, size_t n) { /* FNV-1a over the bits */
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < n * sizeof(float); i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int same_everywhere(uint64_t h) {
    uint64_t lo, hi;
    MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

/* Ring block b's length as allreduce.h states it (n / P, +1 for b < n % P). */
static size_t ring_block_len(size_t n, int b);

static size_t dense_at(size_t n) {
    return n / 2 + n % 2 > 0 ? n / 2 + n % 2 : 1;
}

/* Entries in the union of the sets of ranks in [list]. */
static size_t union_of(set *all, const int *ranks, int m, size_t n, unsigned *stamp,
                       unsigned *tick) {
    size_t u = 0;
    ++*tick;
    for (int a = 0; a < m; a++)
        for (size_t j = 0; j < all[ranks[a]].k; j++) {
            uint32_t i = all[ranks[a]].idx[j];
            if (stamp[i] != *tick) stamp[i] = *tick, u++;
        }
    (void)n;
    return u;
}

/* Bytes this rank sends in recdbl, from the schedule (fold, doubling rounds, hand-back) and the
 * union sizes, independently of sparse_recdbl.c: a set of u entries is 8u bytes, or 4n once
 * u >= ceil(n/2). Also returns whether the final result is dense. */
static uint64_t recdbl_bytes(set *all, size_t n, int *final_dense) {
    unsigned *stamp = calloc(n + 1, sizeof(unsigned)), tick = 0;
    int *grp = malloc(sizeof(int) * (size_t)P);
    const size_t at = dense_at(n);
#define SETB(u) ((u) >= at ? 4 * (uint64_t)n : 8 * (uint64_t)(u))
    int p2 = 1;
    while (2 * p2 <= P) p2 *= 2;
    const int rem = P - p2;
    uint64_t sent = 0;
    for (int q = 0; q < P; q++) grp[q] = q;
    *final_dense = union_of(all, grp, P, n, stamp, &tick) >= at;
    if (n == 0 || P == 1) {
        free(stamp), free(grp);
        return 0;
    }
    if (rank < 2 * rem && rank % 2 == 0) {
        sent = SETB(all[rank].k);
    } else {
        const int nr = rank < 2 * rem ? rank / 2 : rank - rem;
        for (int mask = 1; mask < p2; mask <<= 1) {
            int m = 0, base = nr & ~(mask - 1);
            for (int j = base; j < base + mask; j++) {
                if (j < rem)
                    grp[m++] = 2 * j, grp[m++] = 2 * j + 1;
                else
                    grp[m++] = j + rem;
            }
            sent += SETB(union_of(all, grp, m, n, stamp, &tick));
        }
        if (rank < 2 * rem) {
            for (int q = 0; q < P; q++) grp[q] = q;
            sent += SETB(union_of(all, grp, P, n, stamp, &tick));
        }
    }
#undef SETB
    free(stamp), free(grp);
    return sent;
}

static void check_sparse_case(sal_coll *c, size_t n, double mode, int integer, uint64_t seed) {
    char what[96];
    snprintf(what, sizeof what, "n %zu mode %g %s", n, mode, integer ? "int" : "normal");
    set *all = malloc(sizeof(set) * (size_t)P);
    for (int q = 0; q < P; q++) all[q] = make_set(seed, q, n, mode, integer);
    const set *me = &all[rank];
    const size_t N = n ? n : 1;
    float *mine = calloc(N, sizeof(float)), *ref = calloc(N, sizeof(float));
    float *order = calloc(N, sizeof(float)), *out = malloc(sizeof(float) * N);
    double *absum = calloc(N, sizeof(double));
    unsigned char *has = calloc(N, 1);
    uint64_t K = 0;
    for (size_t j = 0; j < me->k; j++) mine[me->idx[j]] = me->val[j];
    MPI_Allreduce(mine, ref, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    for (int q = 0; q < P; q++) { /* rank-order float sum, from the first holder on */
        K += all[q].k;
        for (size_t j = 0; j < all[q].k; j++) {
            uint32_t i = all[q].idx[j];
            order[i] = has[i] ? order[i] + all[q].val[j] : all[q].val[j];
            has[i] = 1;
            absum[i] += fabs(all[q].val[j]);
        }
    }
    size_t uni = 0;
    for (size_t i = 0; i < n; i++) uni += has[i];
    int rd_dense;
    const uint64_t rd_sent = recdbl_bytes(all, n, &rd_dense);
    const sal_sparse_algo algos[] = {SAL_AR_ALLGATHER, SAL_AR_RECDBL, SAL_AR_DENSE, SAL_AR_RING,
                                     SAL_AR_AUTO};
    for (int a = 0; a < 5; a++) {
        sal_sparse_result res;
        sal_err err;
        sal_status st = sal_allreduce_sparse(c, algos[a], me->idx, me->val, me->k, n, &res, &err);
        const char *name = sal_sparse_algo_name(algos[a]);
        CHECK_MSG(st == SAL_OK, "%s %s: %s", name, what, err.msg);
        if (st) continue;
        sal_sparse_result_to_dense(&res, out);
        int bitwise = n == 0 || !memcmp(out, ref, n * sizeof(float)), close = 1;
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double tol = 2.0 * P * FLT_EPSILON * absum[i] + 1e-30;
            if (fabs((double)out[i] - ref[i]) > tol) close = 0;
            if (fabs((double)out[i] - ref[i]) > worst) worst = fabs((double)out[i] - ref[i]);
        }
        if (integer)
            CHECK_MSG(bitwise, "%s %s: differs from MPI_Allreduce (by up to %g)", name, what,
                      worst);
        else
            CHECK_MSG(close, "%s %s: off MPI_Allreduce by %g", name, what, worst);
        if (algos[a] == SAL_AR_ALLGATHER && n)
            CHECK_MSG(!memcmp(out, order, n * sizeof(float)),
                      "allgather %s: not the rank-order "
                      "sum",
                      what);
        CHECK_MSG(same_everywhere(hash_floats(out, n)), "%s %s: ranks disagree", name, what);
        /* the result's form, and a sparse result is exactly the union, ascending */
        const int want_dense = algos[a] == SAL_AR_DENSE || res.algo == SAL_AR_RING ||
                               (res.algo == SAL_AR_ALLGATHER && K >= dense_at(n)) ||
                               (res.algo == SAL_AR_RECDBL && rd_dense) ||
                               res.algo == SAL_AR_DENSE;
        CHECK_MSG(res.dense == want_dense, "%s %s: dense %d, expected %d", name, what, res.dense,
                  want_dense);
        if (!res.dense) {
            int asc = 1;
            for (size_t j = 1; j < res.nnz; j++) asc &= res.idx[j] > res.idx[j - 1];
            CHECK_MSG(res.nnz == uni && asc, "%s %s: %zu entries (union %zu), ascending %d", name,
                      what, res.nnz, uni, asc);
        }
        /* bytes: what the algorithm says */
        const sal_comm_stats *st1 = sal_coll_last(c);
        uint64_t want = 0, want_recv = UINT64_MAX;
        sal_sparse_algo ran = res.algo;
        /* every sparse call's count exchange (MPI_Allgather of one int) */
        uint64_t pre = P > 1 ? 4 : 0, pre_recv = 4 * (uint64_t)(P - 1);
        if (ran == SAL_AR_ALLGATHER) {
            want = P > 1 ? 4 + 8 * me->k : 0;
            want_recv = P > 1 ? 4 * (uint64_t)(P - 1) + 8 * (K - me->k) : 0;
        } else if (ran == SAL_AR_RECDBL) {
            want = pre + rd_sent;
        } else if (ran == SAL_AR_RING) { /* its messages (allreduce.h), none on one rank */
            want = pre, want_recv = pre_recv;
            if (P > 1 && n > 0) {
                want += 4 * (2 * (uint64_t)n - ring_block_len(n, (rank + 1) % P) -
                             ring_block_len(n, (rank + 2) % P));
                want_recv += 4 * (2 * (uint64_t)n - ring_block_len(n, rank) -
                                  ring_block_len(n, (rank + 1) % P));
            }
        } else {
            want = pre + (P > 1 ? 4 * (uint64_t)n : 0);
            want_recv = pre_recv + (P > 1 ? 4 * (uint64_t)n : 0);
        }
        CHECK_MSG(st1->bytes_sent == want, "%s (%s) %s: sent %llu bytes, expected %llu", name,
                  sal_sparse_algo_name(ran), what, (unsigned long long)st1->bytes_sent,
                  (unsigned long long)want);
        if (want_recv != UINT64_MAX)
            CHECK_MSG(st1->bytes_recv == want_recv, "%s %s: received %llu bytes, expected %llu",
                      name, what, (unsigned long long)st1->bytes_recv,
                      (unsigned long long)want_recv);
        uint64_t s_r[2] = {st1->bytes_sent, st1->bytes_recv}, tot[2];
        MPI_Allreduce(s_r, tot, 2, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
        if (ran == SAL_AR_RECDBL)
            /* the count allgather: 4 bytes sent, 4 (P-1) received per rank */
            CHECK_MSG(tot[0] + (P > 1 ? 4 * (uint64_t)P * (uint64_t)(P - 2) : 0) == tot[1],
                      "recdbl %s: sent %llu != received %llu over the ranks", what,
                      (unsigned long long)tot[0], (unsigned long long)tot[1]);
        if (algos[a] == SAL_AR_AUTO) {
            sal_coll_opts o;
            sal_coll_opts_default(&o);
            sal_cost_estimate est;
            sal_cost_sparse(&o.cost, o.dense_switch, P, n, K, &est);
            CHECK_MSG(ran == sal_cost_pick(&est), "auto %s ran %s, the model picks %s", what,
                      sal_sparse_algo_name(ran), sal_sparse_algo_name(sal_cost_pick(&est)));
        }
    }
    for (int q = 0; q < P; q++) free(all[q].idx), free(all[q].val);
    free(all), free(mine), free(ref), free(order), free(out), free(absum), free(has);
}

static void check_masked_case(sal_coll *c, size_t n, double density, int integer, uint64_t seed) {
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_MASK, 7); /* the same mask on every rank */
    const size_t N = n ? n : 1;
    float *mask = calloc(N, sizeof(float)), *in = malloc(sizeof(float) * N);
    float *ref = malloc(sizeof(float) * N), *out = malloc(sizeof(float) * N);
    float *masked = malloc(sizeof(float) * N);
    uint32_t *idx = malloc(sizeof(uint32_t) * N);
    size_t k = density == SINGLE ? (n > 0) : (size_t)(density * (double)n + 0.5);
    draw(&r, n, k, idx);
    for (size_t j = 0; j < k; j++) mask[idx[j]] = 1.0f;
    sal_rng_seed(&r, seed, SAL_STREAM_SYNTH, 50 + (uint64_t)rank);
    for (size_t i = 0; i < n; i++) {
        in[i] = integer ? (float)((int)sal_rng_below(&r, 19) - 9) : (float)sal_rng_normal(&r);
        masked[i] = mask[i] != 0.0f ? in[i] : 0.0f;
    }
    MPI_Allreduce(masked, ref, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    const uint64_t bytes = P > 1 ? 4 * (uint64_t)k : 0;
    sal_err err;
    for (size_t i = 0; i < n; i++) out[i] = 99.0f; /* stale: must be overwritten with 0 */
    CHECK(sal_allreduce_masked(c, in, out, mask, n, &err) == SAL_OK);
    int ok = 1, zero = 1;
    for (size_t i = 0; i < n; i++) {
        if (mask[i] == 0.0f) {
            zero &= out[i] == 0.0f;
        } else {
            double tol = integer ? 0 : 2.0 * P * FLT_EPSILON * P * 5.0;
            ok &= fabs((double)out[i] - ref[i]) <= tol;
        }
    }
    CHECK_MSG(ok && zero, "masked n %zu density %g: wrong sum (%d) or nonzero outside (%d)", n,
              density, ok, zero);
    CHECK(sal_coll_last(c)->bytes_sent == bytes && sal_coll_last(c)->bytes_recv == bytes);
    /* the index variant: the same values at the mask, and nothing written elsewhere */
    CHECK(sal_mask_indices(mask, n, idx) == k);
    float *out2 = malloc(sizeof(float) * N);
    for (size_t i = 0; i < n; i++) out2[i] = 99.0f;
    CHECK(sal_allreduce_masked_idx(c, in, out2, idx, k, &err) == SAL_OK);
    int same = 1;
    for (size_t i = 0; i < n; i++) same &= mask[i] != 0.0f ? out2[i] == out[i] : out2[i] == 99.0f;
    CHECK_MSG(same, "masked_idx n %zu density %g differs from masked", n, density);
    CHECK(sal_coll_last(c)->bytes_sent == bytes);
    /* in place */
    memcpy(out2, in, n * sizeof(float));
    CHECK(sal_allreduce_masked(c, out2, out2, mask, n, &err) == SAL_OK);
    CHECK(n == 0 || !memcmp(out2, out, n * sizeof(float)));
    free(mask), free(in), free(ref), free(out), free(out2), free(masked), free(idx);
}

/* A set that breaks the contract on one rank is an error on every rank, for every algorithm,
 * with the same message naming that rank and the entry, and the context still works
 * afterwards (no message left in flight). */
static void check_bad_input(sal_coll *c) {
    uint32_t idx[3] = {1, 5, 9};
    float val[3] = {1, 2, 3};
    const int bad = P - 1;
    if (rank == bad) idx[2] = 4; /* not ascending */
    const sal_sparse_algo algos[] = {SAL_AR_ALLGATHER, SAL_AR_RECDBL, SAL_AR_DENSE, SAL_AR_RING,
                                     SAL_AR_AUTO};
    for (int a = 0; a < 5; a++) {
        sal_sparse_result res;
        sal_err err;
        sal_status st = sal_allreduce_sparse(c, algos[a], idx, val, 3, 16, &res, &err);
        CHECK_MSG(st == SAL_EINVAL, "%s: bad set gave %d", sal_sparse_algo_name(algos[a]), st);
        char want[64];
        snprintf(want, sizeof want, "rank %d: sparse allreduce: sparse set: idx[2] = 4 ", bad);
        CHECK_MSG(!strncmp(err.msg, want, strlen(want)), "message: %s", err.msg);
        uint64_t h = 1469598103934665603ull; /* the same message everywhere */
        for (const char *m = err.msg; *m; m++) h = (h ^ (unsigned char)*m) * 1099511628211ull;
        CHECK_MSG(same_everywhere(h), "%s: the ranks' messages differ: %s",
                  sal_sparse_algo_name(algos[a]), err.msg);
    }
    idx[2] = 9;
    sal_sparse_result res;
    CHECK(sal_allreduce_sparse(c, SAL_AR_RECDBL, idx, val, 3, 16, &res, NULL) == SAL_OK);
    CHECK(res.dense || (res.nnz == 3 && res.val[2] == 3.0f * P));
    uint32_t far = 16;
    CHECK(sal_allreduce_sparse(c, SAL_AR_ALLGATHER, &far, val, rank == 0, 16, &res, NULL) ==
          SAL_EINVAL);
}

/* ---- the ring allreduce ---- */

/* Rank q's input for a ring case: integers in [-9, 9] (every order sums them exactly) or normal. */
static void ring_input(uint64_t seed, int q, size_t n, int integer, float *x) {
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_SYNTH, 5000 + (uint64_t)q);
    for (size_t i = 0; i < n; i++)
        x[i] = integer ? (float)((int)sal_rng_below(&r, 19) - 9) : (float)sal_rng_normal(&r);
}

static size_t ring_block_len(size_t n, int b) { /* declared above */
    return n / (size_t)P + ((size_t)b < n % (size_t)P);
}

/* One case: n floats, segments of seg bytes (0: sal_allreduce_ring's default). full: every rank
 * regenerates every rank's input and checks the result bitwise against the ring's documented
 * order, block b summed as ((x_b + x_b+1) + x_b+2) + ...; else only against MPI_Allreduce. */
static void check_ring_case(sal_coll *c, size_t n, size_t seg, int integer, int full,
                            uint64_t seed) {
    char what[96];
    snprintf(what, sizeof what, "ring n %zu seg %zu %s", n, seg, integer ? "int" : "normal");
    const size_t N = n ? n : 1;
    float *in = malloc(sizeof(float) * N), *out = malloc(sizeof(float) * N);
    float *ref = malloc(sizeof(float) * N), *mine = malloc(sizeof(float) * N);
    float *mag = malloc(sizeof(float) * N), *absum = malloc(sizeof(float) * N);
    ring_input(seed, rank, n, integer, in);
    memcpy(mine, in, n * sizeof(float));
    for (size_t i = 0; i < n; i++) mag[i] = fabsf(in[i]);
    MPI_Allreduce(in, ref, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(mag, absum, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    for (size_t i = 0; i < n; i++) out[i] = 1e30f; /* stale: must all be overwritten */
    sal_err err;
    sal_status st = seg ? sal_allreduce_ring_seg(c, in, out, n, seg, &err)
                        : sal_allreduce_ring(c, in, out, n, &err);
    CHECK_MSG(st == SAL_OK, "%s: %s", what, err.msg);
    CHECK_MSG(n == 0 || !memcmp(in, mine, n * sizeof(float)), "%s: input modified", what);
    /* against MPI_Allreduce: bitwise with integers, else within 2 P eps sum_q |x_q| per element
     * (each of two (P-1)-term float sums is within (P-1) eps sum |x| of the exact one) */
    if (integer) {
        CHECK_MSG(n == 0 || !memcmp(out, ref, n * sizeof(float)), "%s: differs from MPI_Allreduce",
                  what);
    } else {
        double worst = 0;
        size_t far = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)out[i] - ref[i]);
            far += d > 2.0 * P * FLT_EPSILON * absum[i];
            if (d > worst) worst = d;
        }
        CHECK_MSG(far == 0, "%s: %zu elements off MPI_Allreduce (by up to %g)", what, far, worst);
    }
    CHECK_MSG(same_everywhere(hash_floats(out, n)), "%s: ranks disagree", what);
    if (full) {
        float **x = malloc(sizeof(float *) * (size_t)P);
        for (int q = 0; q < P; q++) {
            x[q] = malloc(sizeof(float) * N);
            ring_input(seed, q, n, integer, x[q]);
        }
        size_t i = 0, bad = 0;
        for (int b = 0; b < P; b++)
            for (size_t e = ring_block_len(n, b); e > 0; e--, i++) {
                float sum = x[b][i];
                for (int q = 1; q < P; q++) sum += x[(b + q) % P][i];
                bad += memcmp(&sum, &out[i], sizeof sum) != 0;
            }
        CHECK_MSG(i == n && bad == 0, "%s: %zu of %zu elements not the ring order's bits", what,
                  bad, n);
        for (int q = 0; q < P; q++) free(x[q]);
        free(x);
    }
    /* bytes: every block but B_r+1 and B_r+2 sent, every block but B_r and B_r+1 received */
    const sal_comm_stats *s1 = sal_coll_last(c);
    uint64_t want_s = 0, want_r = 0;
    if (P > 1) {
        want_s = 4 * (2 * (uint64_t)n - ring_block_len(n, (rank + 1) % P) -
                      ring_block_len(n, (rank + 2) % P));
        want_r = 4 * (2 * (uint64_t)n - ring_block_len(n, rank) - ring_block_len(n, (rank + 1) % P));
    }
    CHECK_MSG(s1->bytes_sent == want_s && s1->bytes_recv == want_r,
              "%s: sent %llu received %llu bytes, expected %llu and %llu", what,
              (unsigned long long)s1->bytes_sent, (unsigned long long)s1->bytes_recv,
              (unsigned long long)want_s, (unsigned long long)want_r);
    if (n % (size_t)P == 0) /* the closed form: 2(P-1)/P x 4n each way */
        CHECK_MSG(s1->bytes_sent * (uint64_t)P == 8 * (uint64_t)(P - 1) * n &&
                      s1->bytes_recv == s1->bytes_sent,
                  "%s: %llu bytes, not 2(P-1)/P x 4n", what, (unsigned long long)s1->bytes_sent);
    /* in place gives the same bits */
    CHECK(seg ? sal_allreduce_ring_seg(c, mine, mine, n, seg, &err) == SAL_OK
              : sal_allreduce_ring(c, mine, mine, n, &err) == SAL_OK);
    CHECK_MSG(n == 0 || !memcmp(mine, out, n * sizeof(float)), "%s: in place differs", what);
    free(in), free(out), free(ref), free(mine), free(mag), free(absum);
}

static void check_ring(sal_coll *c) {
    const size_t p = (size_t)P;
    /* 0, 1, 2, P - 1 (a block empty), P + 1, primes, 2^16 + 3, n divisible by P */
    const size_t sizes[] = {0, 1, 2, p - 1, p + 1, 7, 13, 64 * p, 1000, 1009, 65539, 100003};
    /* 1 float, 16, 1 KiB per segment, then the default */
    const size_t segs[] = {4, 64, 4096, 0};
    uint64_t seed = 900;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t g = 0; g < sizeof segs / sizeof *segs; g++) {
            if (segs[g] == 4 && sizes[s] > 2000) continue; /* a message per float: slow */
            for (int integer = 1; integer >= 0; integer--)
                check_ring_case(c, sizes[s], segs[g], integer, 1, seed++);
        }
    /* several default segments per block, and segment sizes that do not divide a block */
    check_ring_case(c, 3 * p * (SAL_RING_SEGMENT / 4) + 5, 0, 1, 0, seed++);
    check_ring_case(c, 3 * p * (SAL_RING_SEGMENT / 4) + 5, 0, 0, 0, seed++);
    check_ring_case(c, 100003, 12, 0, 1, seed++);
    /* bad segment, and the context still works */
    float one = 1.0f, sum = 0.0f;
    sal_err err;
    CHECK(sal_allreduce_ring_seg(c, &one, &sum, 1, 3, &err) == SAL_EINVAL);
    CHECK(sal_allreduce_ring(c, &one, &sum, 1, &err) == SAL_OK && sum == (float)P);
}

/* auto follows its cost constants: where MPI's collectives cost more per byte than our messages
 * (as over TCP across nodes) a nearly dense sum goes through our ring, and the sum is right. */
static void check_auto_ring(void) {
    sal_coll_opts o;
    sal_coll_opts_default(&o);
    o.cost.beta_coll = 10 * o.cost.beta;
    sal_coll *c2 = NULL;
    sal_err err;
    CHECK(sal_coll_create(MPI_COMM_WORLD, &o, &c2, &err) == SAL_OK);
    if (!c2) return;
    const size_t n = 50000;
    set me = make_set(77, rank, n, 0.9, 1); /* integers: every order sums them exactly */
    float *ref = calloc(n, sizeof(float)), *mine = calloc(n, sizeof(float));
    for (size_t j = 0; j < me.k; j++) mine[me.idx[j]] = me.val[j];
    MPI_Allreduce(mine, ref, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    sal_sparse_result res;
    CHECK(sal_allreduce_sparse(c2, SAL_AR_AUTO, me.idx, me.val, me.k, n, &res, &err) == SAL_OK);
    sal_cost_estimate est;
    sal_cost_sparse(&o.cost, o.dense_switch, P, n, (uint64_t)me.k * (uint64_t)P, &est);
    if (P > 1)
        CHECK_MSG(res.algo == SAL_AR_RING && sal_cost_pick(&est) == SAL_AR_RING,
                  "auto with beta_coll = 10 beta ran %s (model: ring %g dense %g)",
                  sal_sparse_algo_name(res.algo), est.ring, est.dense);
    sal_sparse_result_to_dense(&res, mine);
    CHECK_MSG(!memcmp(mine, ref, n * sizeof(float)), "auto (%s) differs from MPI_Allreduce",
              sal_sparse_algo_name(res.algo));
    free(me.idx), free(me.val), free(ref), free(mine);
    sal_coll_free(c2);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    sal_coll *c;
    sal_err err;
    CHECK(sal_coll_create(MPI_COMM_WORLD, NULL, &c, &err) == SAL_OK);
    const size_t sizes[] = {0, 1, 7, 1000, 100003};
    const double modes[] = {0, SINGLE, 0.001, 0.01, 0.1, 0.5, 1.0, SOME_EMPTY, RAGGED};
    uint64_t seed = 11;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
            for (int integer = 1; integer >= 0; integer--) {
                check_sparse_case(c, sizes[s], modes[m], integer, seed);
                if (modes[m] >= 0 || modes[m] == SINGLE)
                    check_masked_case(c, sizes[s], modes[m], integer, seed);
                seed++;
            }
    check_bad_input(c);
    check_ring(c);
    check_auto_ring();
    /* the running total is the sum of the calls */
    const sal_comm_stats *tot = sal_coll_total(c);
    CHECK(tot->calls > 100 && (P == 1 || tot->bytes_sent > 0) && tot->seconds > 0);
    sal_coll_free(c);
    sal_coll_free(NULL);
    MPI_Finalize();
    return sal_test_done("mpi_allreduce");
}
