/* partition.h - splitting a data set's samples across clients: iid, Dirichlet over labels,
 * label-sorted shards. Seeded and deterministic; independent of MPI ranks. */
#ifndef SALIENT_PARTITION_H
#define SALIENT_PARTITION_H

#include <stdint.h>

#include "salient/status.h"

typedef enum sal_partition_kind {
    SAL_PART_IID,
    SAL_PART_DIRICHLET,          /* per-client class priors from Dir(alpha), sizes vary */
    SAL_PART_SHARDS,             /* sort by label, cut into clients*k shards, k per client */
    SAL_PART_DIRICHLET_BALANCED  /* equal client sizes, per-client class priors from Dir(alpha),
                                    clients drawing in a shuffled interleaved order (SSFL's code) */
} sal_partition_kind;

/* Version of the partitioners' output. Bumped whenever some kind draws a different split for
 * the same labels and options, so that state saved under one split (a checkpoint) can be told
 * apart from the current one. History: 1 = up to session 9; 2 = dirichlet_balanced draws as
 * SSFL's reference code (clients interleaved), no longer one client after another. */
#define SAL_PARTITION_VERSION 2

/* Client c owns sample ids index[offset[c] .. offset[c+1]). */
typedef struct sal_partition {
    int clients;
    int *offset; /* (clients + 1), owned */
    int *index;  /* (n), owned; a permutation of 0..n-1 grouped by client */
} sal_partition;

typedef struct sal_partition_opts {
    sal_partition_kind kind;
    int clients;
    double alpha;          /* dirichlet concentration, > 0 */
    int shards_per_client; /* shards: k >= 1 */
    uint64_t seed;
} sal_partition_opts;

/* labels: (n) in 0..classes-1. Fails (SAL_ECONFIG) when a client would get no sample
 * (e.g. more clients than samples) and says which key to change. Caller frees with
 * sal_partition_free. */
sal_status sal_partition_make(sal_partition *p, const uint8_t *labels, int n, int classes,
                              const sal_partition_opts *opts, sal_err *err);
void sal_partition_free(sal_partition *p);

/* A stable 64-bit fingerprint of the split: which ids each client holds (the client count,
 * then per client its size and an order-free sum of mixed ids, folded by FNV-1a). It does not
 * depend on the order of ids within a client (fedavg sorts them), on the platform or on the
 * rank count; any id moving to another client changes it (up to 64-bit collisions). p is
 * borrowed; a zeroed partition hashes to a fixed value. */
uint64_t sal_partition_hash(const sal_partition *p);

#endif
