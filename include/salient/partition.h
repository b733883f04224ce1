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
    SAL_PART_DIRICHLET_BALANCED  /* equal client sizes, per-client class priors from Dir(alpha) */
} sal_partition_kind;

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

#endif
