/* partition.c - splitting sample ids across clients (iid, Dirichlet label skew, label shards),
 * and a fingerprint of a split.
 * Every draw comes from sal_rng streams keyed by (seed, SAL_STREAM_PARTITION, fixed id), so a
 * partition depends on the seed alone, never on the MPI rank count or layout. */
#include "salient/partition.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "salient/rng.h"

/* Stream ids within SAL_STREAM_PARTITION, one per method. */
enum { STREAM_IID = 0, STREAM_DIRICHLET = 1, STREAM_SHARDS = 2, STREAM_BALANCED = 3 };
/* Redraws allowed before a Dirichlet split that leaves a client empty becomes an error. */
enum { DIRICHLET_TRIES = 100 };

static void fill_iota(int *a, int n) {
    for (int i = 0; i < n; i++) a[i] = i;
}

/* Stable counting sort of ids 0..n-1 by label: sorted (n), start (classes + 1). */
static void sort_by_label(const uint8_t *labels, int n, int classes, int *sorted, int *start) {
    memset(start, 0, sizeof(int) * (classes + 1));
    for (int i = 0; i < n; i++) start[labels[i] + 1]++;
    for (int k = 0; k < classes; k++) start[k + 1] += start[k];
    int *pos = start; /* walk a cursor per class, then restore start */
    for (int i = 0; i < n; i++) sorted[pos[labels[i]]++] = i;
    for (int k = classes; k > 0; k--) start[k] = start[k - 1];
    start[0] = 0;
}

/* iid: one seeded shuffle, then contiguous pieces whose sizes differ by at most one. */
static void part_iid(sal_partition *p, int n, uint64_t seed) {
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_PARTITION, STREAM_IID);
    fill_iota(p->index, n);
    sal_rng_shuffle_int(&r, p->index, n);
    for (int c = 0; c <= p->clients; c++) p->offset[c] = (int)((int64_t)c * n / p->clients);
}

/* shards (McMahan et al. 2017, "pathological non-IID"): sort ids by label, cut them into
 * clients*k contiguous shards of near-equal size, shuffle the shard ids and deal k shards to
 * each client. A client then sees at most k * (labels per shard) distinct labels. */
static void part_shards(sal_partition *p, const uint8_t *labels, int n, int classes, int k,
                        uint64_t seed, int *sorted, int *order, int *start) {
    int shards = p->clients * k;
    sort_by_label(labels, n, classes, sorted, start);
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_PARTITION, STREAM_SHARDS);
    fill_iota(order, shards);
    sal_rng_shuffle_int(&r, order, shards);
    int pos = 0;
    for (int c = 0; c < p->clients; c++) {
        p->offset[c] = pos;
        for (int j = 0; j < k; j++) {
            int s = order[c * k + j];
            int lo = (int)((int64_t)s * n / shards), hi = (int)((int64_t)(s + 1) * n / shards);
            memcpy(p->index + pos, sorted + lo, sizeof(int) * (hi - lo));
            pos += hi - lo;
        }
    }
    p->offset[p->clients] = pos;
}

/* One Dirichlet draw for class k's m samples: cut (clients + 1) gets the cumulative split
 * points. Clients already holding n/clients samples get no share (FedML's balancing step). */
static void dirichlet_cuts(sal_rng *r, double alpha, int clients, int m, int n,
                           const int *size, double *prop, int *cut) {
    double sum = 0, masked = 0;
    for (int j = 0; j < clients; j++) {
        prop[j] = sal_rng_gamma(r, alpha); /* Dir(alpha) = normalised Gamma(alpha, 1) draws */
        sum += prop[j];
        if ((double)size[j] * clients < n) masked += prop[j];
    }
    int use_mask = masked > 0;
    if (use_mask) {
        for (int j = 0; j < clients; j++)
            if ((double)size[j] * clients >= n) prop[j] = 0;
        sum = masked;
    }
    if (!(sum > 0)) { /* every Gamma draw underflowed (tiny alpha): the limit is one-hot */
        memset(prop, 0, sizeof(double) * clients);
        prop[sal_rng_below(r, (uint64_t)clients)] = 1;
        sum = 1;
    }
    double cum = 0;
    cut[0] = 0;
    for (int j = 0; j < clients - 1; j++) {
        cum += prop[j];
        int c = (int)floor(cum / sum * m);
        cut[j + 1] = c < cut[j] ? cut[j] : c > m ? m : c;
    }
    cut[clients] = m;
}

/* dirichlet (Hsu, Qi & Brown 2019, "Measuring the effects of non-identical data
 * distribution"; procedure as in FedML's non_iid_partition_with_dirichlet_distribution):
 *   repeat up to DIRICHLET_TRIES times:
 *     for each class k in order 0..classes-1:
 *       shuffle the ids of class k;
 *       draw p ~ Dir(alpha) over clients (p_j = G_j / sum G, G_j ~ Gamma(alpha, 1));
 *       zero p_j for clients that already hold >= n/clients ids, renormalise;
 *       cut the shuffled ids at floor(cumsum(p) * m_k) and give piece j to client j;
 *     stop if every client holds at least one id (FedML asks for 10; we only forbid empty).
 * All tries continue one stream, so the result is a function of the seed alone. */
static int part_dirichlet(sal_partition *p, const uint8_t *labels, int n, int classes,
                          double alpha, uint64_t seed, int *sorted, int *start, int *size,
                          int *cut, double *prop) {
    int clients = p->clients;
    sort_by_label(labels, n, classes, sorted, start);
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_PARTITION, STREAM_DIRICHLET);
    for (int t = 0; t < DIRICHLET_TRIES; t++) {
        memset(size, 0, sizeof(int) * clients);
        for (int k = 0; k < classes; k++) {
            int m = start[k + 1] - start[k], *ck = cut + (size_t)k * (clients + 1);
            sal_rng_shuffle_int(&r, sorted + start[k], m);
            dirichlet_cuts(&r, alpha, clients, m, n, size, prop, ck);
            for (int j = 0; j < clients; j++) size[j] += ck[j + 1] - ck[j];
        }
        int empty = 0;
        for (int j = 0; j < clients; j++) empty |= size[j] == 0;
        if (empty) continue;
        p->offset[0] = 0;
        for (int j = 0; j < clients; j++) {
            p->offset[j + 1] = p->offset[j] + size[j];
            size[j] = p->offset[j]; /* now the write cursor of client j */
        }
        for (int k = 0; k < classes; k++) {
            const int *ck = cut + (size_t)k * (clients + 1), *ids = sorted + start[k];
            for (int j = 0; j < clients; j++) {
                int len = ck[j + 1] - ck[j];
                memcpy(p->index + size[j], ids + ck[j], sizeof(int) * len);
                size[j] += len;
            }
        }
        return 1;
    }
    return 0;
}

/* dirichlet_balanced: the label-skewed split with equal client sizes that SSFL's experiments
 * use, drawn as the authors' code draws it (riohib/SSFL, data_preprocessing/partition_utils.py,
 * partition_data_dirichlet; the algorithm is re-implemented here, not translated):
 *   quota: client j gets n/clients samples, the first n mod clients one more;
 *   priors: each client draws q_j ~ Dir(alpha) over the classes (client order);
 *   pools: the ids of each class, shuffled;
 *   slots: client j's id written quota_j times, the whole list shuffled;
 *   for each slot in that order: its client picks class k with probability q_jk renormalised
 *     over the classes whose pool is not yet empty, and takes the next id of that pool.
 * Interleaving the clients in a random slot order is what keeps the split fair: every client
 * draws while every class still has samples, so pools run dry for all clients at once. Filling
 * clients one after another (this file's version 1) left the last clients the classes nobody
 * wanted (client 99 of the default job held 600 samples of one class). */
static sal_status part_balanced(sal_partition *p, const uint8_t *labels, int n, int classes,
                                double alpha, uint64_t seed, sal_err *err) {
    const int clients = p->clients;
    int *sorted = malloc(sizeof(int) * (size_t)n);       /* class pools, back to back */
    int *start = malloc(sizeof(int) * ((size_t)classes + 1));
    int *next = malloc(sizeof(int) * (size_t)classes);   /* cursor into each pool */
    int *slot = malloc(sizeof(int) * (size_t)n);         /* client of each draw, shuffled */
    int *taken = malloc(sizeof(int) * (size_t)n);        /* the id each draw took */
    double *q = malloc(sizeof(double) * (size_t)clients * (size_t)classes); /* (clients, classes) */
    sal_status st = SAL_OK;
    if (!sorted || !start || !next || !slot || !taken || !q) {
        st = sal_fail(err, SAL_ENOMEM, "partition: out of memory for %d clients x %d classes",
                      clients, classes);
        goto out;
    }
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_PARTITION, STREAM_BALANCED);
    for (size_t i = 0; i < (size_t)clients * classes; i++) q[i] = sal_rng_gamma(&r, alpha);
    sort_by_label(labels, n, classes, sorted, start);
    for (int k = 0; k < classes; k++) {
        sal_rng_shuffle_int(&r, sorted + start[k], start[k + 1] - start[k]);
        next[k] = start[k];
    }
    p->offset[0] = 0;
    for (int j = 0; j < clients; j++) {
        int quota = n / clients + (j < n % clients);
        p->offset[j + 1] = p->offset[j] + quota;
        for (int s = p->offset[j]; s < p->offset[j + 1]; s++) slot[s] = j;
    }
    sal_rng_shuffle_int(&r, slot, n);
    for (int s = 0; s < n; s++) {
        const double *qj = q + (size_t)slot[s] * classes;
        double sum = 0;
        int avail = 0, last = -1;
        for (int k = 0; k < classes; k++)
            if (next[k] < start[k + 1]) {
                sum += qj[k], avail++;
                if (qj[k] > 0) last = k;
            }
        /* n draws take n ids, so some pool is non-empty here: avail >= 1. */
        int pick = -1;
        if (sum > 0) { /* categorical over the classes with samples left */
            double u = sal_rng_uniform(&r) * sum, cum = 0;
            for (int k = 0; k < classes && pick < 0; k++)
                if (next[k] < start[k + 1] && (cum += qj[k]) > u) pick = k;
            if (pick < 0) pick = last; /* u rounded up to the sum */
        } else { /* every prior left underflowed (tiny alpha): uniform over what is left */
            int t = (int)sal_rng_below(&r, (uint64_t)avail);
            for (int k = 0; k < classes && pick < 0; k++)
                if (next[k] < start[k + 1] && t-- == 0) pick = k;
        }
        taken[s] = sorted[next[pick]++];
    }
    /* Group by client, each client's ids in the order it drew them. The pools are spent, so
     * sorted (n >= clients ints, check_args) now holds the per-client write cursors. */
    for (int j = 0; j < clients; j++) sorted[j] = p->offset[j];
    for (int s = 0; s < n; s++) p->index[sorted[slot[s]]++] = taken[s];
out:
    free(sorted);
    free(start);
    free(next);
    free(slot);
    free(taken);
    free(q);
    return st;
}

static sal_status check_args(const uint8_t *labels, int n, int classes,
                             const sal_partition_opts *o, sal_err *err) {
    if (!labels || n < 1 || classes < 1 || classes > 256 || !o)
        return sal_fail(err, SAL_EINVAL, "partition: bad arguments (n=%d, classes=%d)", n,
                        classes);
    for (int i = 0; i < n; i++)
        if (labels[i] >= classes)
            return sal_fail(err, SAL_EINVAL, "partition: label %u of sample %d >= classes %d",
                            labels[i], i, classes);
    if (o->clients < 1)
        return sal_fail(err, SAL_ECONFIG, "[data] clients = %d, must be >= 1", o->clients);
    if (o->clients > n)
        return sal_fail(err, SAL_ECONFIG,
                        "[data] clients = %d is more than the %d training samples; lower "
                        "[data] clients or raise [data] train_limit",
                        o->clients, n);
    if ((o->kind == SAL_PART_DIRICHLET || o->kind == SAL_PART_DIRICHLET_BALANCED) &&
        !(o->alpha > 0 && isfinite(o->alpha)))
        return sal_fail(err, SAL_ECONFIG, "[data] alpha = %g, must be > 0 for dirichlet",
                        o->alpha);
    if (o->kind == SAL_PART_SHARDS) {
        if (o->shards_per_client < 1)
            return sal_fail(err, SAL_ECONFIG, "[data] shards_per_client = %d, must be >= 1",
                            o->shards_per_client);
        if ((int64_t)o->clients * o->shards_per_client > n)
            return sal_fail(err, SAL_ECONFIG,
                            "[data] clients * shards_per_client = %d * %d is more than the %d "
                            "samples; lower [data] clients or [data] shards_per_client",
                            o->clients, o->shards_per_client, n);
    }
    if (o->kind != SAL_PART_IID && o->kind != SAL_PART_DIRICHLET && o->kind != SAL_PART_SHARDS &&
        o->kind != SAL_PART_DIRICHLET_BALANCED)
        return sal_fail(err, SAL_EINVAL, "partition: unknown kind %d", o->kind);
    return SAL_OK;
}

sal_status sal_partition_make(sal_partition *p, const uint8_t *labels, int n, int classes,
                              const sal_partition_opts *o, sal_err *err) {
    memset(p, 0, sizeof *p);
    sal_status st = check_args(labels, n, classes, o, err);
    if (st != SAL_OK) return st;
    int clients = o->clients;
    p->clients = clients;
    p->offset = malloc(sizeof(int) * ((size_t)clients + 1));
    p->index = malloc(sizeof(int) * (size_t)n);
    /* Scratch, sized for the method that needs most: ids sorted by label, class starts, and
     * per-client counts, cuts and proportions (dirichlet) or the shard order (shards). */
    int *sorted = malloc(sizeof(int) * (size_t)n);
    int *start = malloc(sizeof(int) * ((size_t)classes + 1));
    int *order = malloc(sizeof(int) * (size_t)(n > classes ? n : classes));
    int *cut = malloc(sizeof(int) * (size_t)classes * ((size_t)clients + 1));
    size_t nprop = (size_t)(clients > classes ? clients : classes);
    double *prop = malloc(sizeof(double) * nprop);
    if (!p->offset || !p->index || !sorted || !start || !order || !cut || !prop) {
        st = sal_fail(err, SAL_ENOMEM, "partition: out of memory for %d samples", n);
    } else if (o->kind == SAL_PART_IID) {
        part_iid(p, n, o->seed);
    } else if (o->kind == SAL_PART_DIRICHLET_BALANCED) {
        st = part_balanced(p, labels, n, classes, o->alpha, o->seed, err);
    } else if (o->kind == SAL_PART_SHARDS) {
        part_shards(p, labels, n, classes, o->shards_per_client, o->seed, sorted, order, start);
    } else if (!part_dirichlet(p, labels, n, classes, o->alpha, o->seed, sorted, start, order,
                               cut, prop)) {
        st = sal_fail(err, SAL_ECONFIG,
                      "dirichlet partition left a client without samples in %d draws "
                      "(n=%d, clients=%d, alpha=%g); raise [data] alpha or lower [data] clients",
                      DIRICHLET_TRIES, n, clients, o->alpha);
    }
    free(sorted);
    free(start);
    free(order);
    free(cut);
    free(prop);
    if (st != SAL_OK) sal_partition_free(p);
    return st;
}

void sal_partition_free(sal_partition *p) {
    if (!p) return;
    free(p->offset);
    free(p->index);
    memset(p, 0, sizeof *p);
}

/* splitmix64's finaliser (Steele et al. 2014) over id + golden ratio: a bijection, so distinct
 * ids give distinct words, and a sum of them is a multiset hash of the ids. */
static uint64_t mix_id(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* FNV-1a (Fowler, Noll, Vo) over a word's 8 bytes, least significant first on every host. */
static uint64_t fnv_word(uint64_t h, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xFF;
        h *= 0x100000001B3ull;
    }
    return h;
}

uint64_t sal_partition_hash(const sal_partition *p) {
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a offset basis */
    if (!p || !p->offset || !p->index) return fnv_word(h, 0);
    h = fnv_word(h, (uint64_t)p->clients);
    for (int c = 0; c < p->clients; c++) {
        uint64_t sum = 0;
        for (int i = p->offset[c]; i < p->offset[c + 1]; i++) sum += mix_id((uint64_t)p->index[i]);
        h = fnv_word(h, (uint64_t)(p->offset[c + 1] - p->offset[c]));
        h = fnv_word(h, sum);
    }
    return h;
}
