/* randk.h - Rand-k sparsified mean estimation with correlation-aware decoders (Jhunjhunwala et
 * al., "Leveraging spatial and temporal correlations in sparsified mean estimation", NeurIPS
 * 2021): each of n clients sends k of the d coordinates of its vector x_i, drawn uniformly
 * without replacement from a stream the caller keys (so the indices need not travel: the
 * server draws them again), and the server estimates the weighted mean sum_i w_i x_i / W.
 *
 * With p = k / d, Z_ij = 1 if client i sent coordinate j (P = p, independent across clients)
 * and M_j = sum_i Z_ij, the decoders are, per coordinate j:
 *   plain     x^_j = (1 / p) sum_i w_i Z_ij x_ij / W                       (Rand-k)
 *   spatial   x^_j = beta sum_i w_i Z_ij x_ij / (W T(M_j)),  T(m) = 1 + rho (m - 1)
 *             (the paper's Rand-k-Spatial family with T(m) = 1 + R (m - 1) / (n - 1), rho =
 *             R / (n - 1) in [0, 1]; rho = 0 is plain Rand-k, rho = 1 is T(m) = m), and beta =
 *             1 / (p E[1 / T(1 + B)]), B ~ Binomial(n - 1, p), which makes it unbiased
 *   temporal  x^_j = sum_i w_i (y_ij + (1 / p) Z_ij (x_ij - y_ij)) / W
 *             where y_i is the server's memory of client i: per coordinate, the value client i
 *             sent for it the last time it did (0 before it ever has). Stale values fill in,
 *             the fresh ones correct them; afterwards y_ij = x_ij wherever client i sent j.
 *             This is the paper's Rand-k-Temporal (its Figure 3: the server stores each node's
 *             previously seen coordinates and fills that node's unsampled ones in with them):
 *             one memory per client, d floats each, so a server of n clients holds n d floats.
 *             A client seen only every few rounds (fedavg samples them) is decoded against its
 *             own last values, not against whichever clients came last.
 * All three are unbiased; their mean squared errors have closed forms (sal_randk_mse_*). */
#ifndef SALIENT_RANDK_H
#define SALIENT_RANDK_H

#include <stddef.h>
#include <stdint.h>

#include "salient/rng.h"
#include "salient/status.h"

typedef enum sal_randk_decoder {
    SAL_RANDK_PLAIN,
    SAL_RANDK_SPATIAL,
    SAL_RANDK_TEMPORAL
} sal_randk_decoder;

/* k for d coordinates at `density` in (0, 1]: round(density d), at least 1 when d > 0. */
size_t sal_randk_count(size_t d, double density);

/* k distinct indices of [0, d), ascending, uniform over the k-subsets (Knuth's selection
 * sampling, Algorithm S: one draw per coordinate, no scratch), into idx (k). k <= d. */
void sal_randk_indices(sal_rng *r, size_t d, size_t k, size_t *idx);

/* The server's accumulators for one round: O(d), whatever the number of clients. Owned by the
 * caller through sal_randk_acc_init / sal_randk_acc_free. */
typedef struct sal_randk_acc {
    sal_randk_decoder decoder;
    size_t d;
    int clients;   /* uploads folded since the last reset */
    double wsum;   /* W = sum of their weights */
    double *a;     /* (d) sum_i w_i Z_ij x_ij; temporal: sum_i w_i Z_ij (x_ij - y_j) */
    double *b;     /* (d) spatial: sum_i w_i^2 Z_ij x_ij^2 (for rho's estimate); temporal: sum_i
                    * w_i y_ij (the clients' memories, weighted); plain: unused (NULL) */
    int *m;        /* (d) M_j */
    double sx, sd; /* temporal: sum_i w_i^2 sum_j Z_ij x_ij^2 and the same of (x_ij - y_ij)^2 */
} sal_randk_acc;

sal_status sal_randk_acc_init(sal_randk_acc *acc, sal_randk_decoder decoder, size_t d,
                              sal_err *err);
void sal_randk_acc_reset(sal_randk_acc *acc);
void sal_randk_acc_free(sal_randk_acc *acc); /* accepts a zeroed or freed one */

/* Fold client i's upload: vals[t] = x_i[idx[t]] for its k indices (ascending, < d), weight w > 0.
 * memory (d): temporal's y_i, client i's own memory, which the fold reads (all d entries: the
 * stale values fill in) and then updates where client i sent (y_ij = x_ij); NULL for the other
 * decoders. Borrowed; the caller keeps one per client. O(d) per client for temporal, O(k) for
 * the others. */
void sal_randk_fold(sal_randk_acc *acc, const size_t *idx, const float *vals, size_t k, double w,
                    float *memory);

/* rho estimated from the folded uploads, for the spatial decoder when R is unknown: R^ = C^ / S^
 * with S^ = (1/p) sum_j b_j and C^ = (1/p^2) sum_j (a_j^2 - b_j) (unbiased for sum_i w_i^2
 * ||x_i||^2 and sum_{i != l} w_i w_l <x_i, x_l>), rho = R^ / (n - 1) clamped to [0, 1]; 0 for
 * fewer than two clients or S^ = 0. Spatial accumulators only. */
double sal_randk_rho_estimate(const sal_randk_acc *acc, double p);

/* Temporal: the ratio of its error to plain Rand-k's on the same vectors, estimated from the
 * folded uploads: sum v_i^2 ||x_i - y||^2 / sum v_i^2 ||x_i||^2 (the closed forms' ratio, each
 * sum estimated over the sent entries, both scaled alike by 1/p). Below 1: the memory helps.
 * 1 when nothing was folded or every sent entry was 0. */
double sal_randk_temporal_ratio(const sal_randk_acc *acc);

/* beta for n clients, sampling probability p in (0, 1] and rho in [0, 1]. */
double sal_randk_beta(int n, double p, double rho);

/* The estimate into out (d floats) from the folded uploads (at least one). rho: spatial's. */
void sal_randk_decode(const sal_randk_acc *acc, double p, double rho, float *out);

/* Closed-form mean squared errors E ||x^ - xbar||^2 for n clients at probability p, in terms of
 * S = sum_i v_i^2 ||x_i||^2 and C = sum_{i != l} v_i v_l <x_i, x_l> with v_i = w_i / W the
 * normalised weights. plain: (1/p - 1) S. spatial: beta^2 (A S + B C) - (S + C), with A = p
 * E[1 / T(1 + B_{n-1})^2] and B = p^2 E[1 / T(2 + B_{n-2})^2] (B_m ~ Binomial(m, p)): the
 * per-coordinate second moment, since coordinate j of different clients is drawn independently.
 * temporal: plain's with x_i - y_i in place of x_i (S over the clients' own memories). */
double sal_randk_mse_plain(double p, double S);
double sal_randk_mse_spatial(int n, double p, double rho, double S, double C);

#endif
