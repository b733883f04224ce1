/* fedavg_randk.h - [comm] compress = randk for fedavg's uploads (private to algo/): each
 * sampled client sends k random entries of its update (local - global over the mask's kept
 * weights) plus its raw non-trainable state, and the server decodes the mean update with the
 * [comm] randk_decoder (randk.h). See fedavg_randk.c. */
#ifndef SALIENT_ALGO_FEDAVG_RANDK_H
#define SALIENT_ALGO_FEDAVG_RANDK_H

#include <stddef.h>

#include "fedavg.h"
#include "salient/randk.h"

/* k: the entries of the nnz travelling weights a client sends (randk_density x nnz). */
size_t sal_fed_randk_k(const sal_config *cfg, size_t nnz);
/* Floats in one upload: k update entries, then the ns floats of state, raw. No indices and no
 * header: both sides draw the indices from stream (seed, RANDK, round x clients + c). */
size_t sal_fed_randk_floats(const sal_config *cfg, size_t nnz, size_t ns);

/* Client c in round (0-based): local (nnz + ns floats, its packed model) against global (the
 * packed model it started from) into out (sal_fed_randk_floats): out[t] = local[idx[t]] -
 * global[idx[t]] for its k indices (idx: scratch of k), then local's state. */
void sal_fed_randk_encode(const sal_config *cfg, int round, int c, const float *local,
                          const float *global, size_t nnz, size_t ns, size_t *idx, float *out);

/* The server's side: accumulators for one round, O(model) whatever the clients per round; and
 * for the temporal decoder one memory per client, clients x nnz floats, allocated at open. */
typedef struct fed_randk {
    sal_randk_acc acc;
    size_t nnz, ns, k;
    double p;      /* k / nnz */
    size_t *idx;   /* (k) the indices of the upload being folded */
    float *est;    /* (nnz) the decoded mean update */
    double *state; /* (ns) sum of w_c x the clients' state */
    float *memory; /* temporal: (clients, nnz) row c: client c's memory, the value it sent last
                    * for each entry (0 before it has); owned. Rows have stride nnz, which a
                    * prune lowers (the memory then restarts) */
    int clients;   /* temporal: rows of memory ([data] clients); 0 for the other decoders */
    double rho;    /* spatial: the round's estimated rho */
    double ratio;  /* temporal: the round's estimated error ratio to plain Rand-k */
} fed_randk;

/* Fails with SAL_ENOMEM and one line naming the keys when the per-client memory
 * (sal_fed_randk_memory_bytes) cannot be had. */
sal_status sal_fed_randk_open(fed_randk *r, const sal_config *cfg, size_t nnz, size_t ns,
                              sal_err *err);
/* Bytes of the temporal decoder's per-client memory: clients x nnz x 4 (0 for the others;
 * SIZE_MAX where the product overflows). */
size_t sal_fed_randk_memory_bytes(const sal_config *cfg, size_t nnz);
void sal_fed_randk_close(fed_randk *r); /* accepts a zeroed one */
void sal_fed_randk_begin(fed_randk *r);
/* Fold client c's upload (got floats, untrusted: its length and finiteness are checked) with
 * weight w. */
sal_status sal_fed_randk_fold(fed_randk *r, const sal_config *cfg, int round, int c,
                              const float *up, size_t got, double w, sal_err *err);
/* packed (nnz + ns) <- global + decoded mean update, and the weighted mean of the state. */
void sal_fed_randk_finish(fed_randk *r, float *packed);

/* A prune changed the mask ([sparsity] schedule) and left nnz travelling weights: k, the
 * accumulators and the temporal memory follow the new mask. The memory restarts at 0, as it
 * does in round 0: it held the last update values of the cycle that ended, which the next
 * cycle (restarted lr, and for IMP rewound weights) does not repeat, as the optimizer restarts
 * too. Uploads of both sides then hold sal_fed_randk_floats(cfg, nnz, ns) floats. */
sal_status sal_fed_randk_remask(fed_randk *r, const sal_config *cfg, size_t nnz, sal_err *err);

/* The per-client temporal memory from checkpoint path into r->memory (f's mask is the file's). */
sal_status sal_fed_randk_resume(fed_randk *r, const fed *f, const char *path, sal_err *err);

#endif
