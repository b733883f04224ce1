/* config.h - the run configuration: one table of keys (type, default, range, help) drives
 * parsing INI files and --set overrides, validation, --help and the resolved config.ini. */
#ifndef SALIENT_CONFIG_H
#define SALIENT_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "salient/data.h"
#include "salient/model.h"
#include "salient/optim.h"
#include "salient/partition.h"
#include "salient/schedule.h"
#include "salient/sparsity.h"
#include "salient/topo.h"
#include "salient/status.h"

typedef enum sal_algorithm {
    SAL_ALGO_CENTRALIZED,
    SAL_ALGO_FEDAVG,
    SAL_ALGO_ALLREDUCE, /* data-parallel SGD: gradients averaged every step */
    SAL_ALGO_LOCALSGD,  /* sync_every local steps, then model averaging */
    SAL_ALGO_DPSGD      /* a local step, then a gossip step with the graph's neighbours */
} sal_algorithm;
/* What an allreduce step sends: the dense gradient, its masked entries, or top-k with error
 * feedback; or, for fedavg's uploads, k random coordinates of the update (randk.h). */
typedef enum sal_compress {
    SAL_COMPRESS_NONE,
    SAL_COMPRESS_MASK,
    SAL_COMPRESS_TOPK,
    SAL_COMPRESS_RANDK
} sal_compress;
/* [comm] randk_decoder: how the fedavg server estimates the mean of Rand-k uploads (randk.h) */
typedef enum sal_randk_dec { SAL_RANDK_DEC_PLAIN, SAL_RANDK_DEC_SPATIAL, SAL_RANDK_DEC_TEMPORAL } sal_randk_dec;
/* [comm] quantize: how fedavg's clients encode their uploads (quant.h): raw floats, QSGD at a
 * fixed level count, or AdaQuantFL's level schedule */
typedef enum sal_quantize { SAL_QUANT_NONE, SAL_QUANT_QSGD, SAL_QUANT_ADAQUANT } sal_quantize;
/* [comm] allreduce: who sums the dense vectors of allreduce and localsgd */
typedef enum sal_dense_impl { SAL_DENSE_MPI, SAL_DENSE_RING } sal_dense_impl;
/* Where saliency scores come from, and how client scores are combined. */
typedef enum sal_score_source { SAL_SOURCE_CLIENTS, SAL_SOURCE_SERVER } sal_score_source;
typedef enum sal_score_aggregate { SAL_AGG_WEIGHTED, SAL_AGG_MEAN } sal_score_aggregate;
/* [run] placement: which client rank trains a fedavg round's sampled client (fedavg.h) */
typedef enum sal_placement { SAL_PLACE_BALANCED, SAL_PLACE_BLOCK } sal_placement;
/* A yes/no key, written false|true. */
typedef enum sal_flag { SAL_FLAG_FALSE, SAL_FLAG_TRUE } sal_flag;

#define SAL_PATH_MAX 1024

typedef struct sal_config {
    /* [run] */
    uint64_t seed;            /* seeds every random stream (init, partition, shuffle) */
    int rounds;               /* training rounds; centralized: one round = one epoch */
    char out[SAL_PATH_MAX];   /* output directory; "" = runs/<config name> */
    int eval_every;           /* evaluate on the test set every N rounds (and the last) */
    int threads;              /* OpenBLAS threads per rank */
    double comm_timeout;      /* seconds an exchange may wait before the job is aborted; 0 off */
    sal_flag check_collectives; /* debug: ranks compare hashes of their exchanges every round */
    sal_placement placement;  /* fedavg: sampled clients spread over the client ranks, or each
                               * trained on its home rank (a block of client ids) */
    /* [data] */
    sal_dataset_kind dataset;
    char path[SAL_PATH_MAX];  /* "" = the data set's default directory */
    sal_partition_kind partition;
    double alpha;
    int shards_per_client;
    int clients;
    int train_limit;          /* use only the first N training samples (0 = all) */
    int test_limit;           /* use only the first N test samples (0 = all) */
    int synth_train, synth_test;
    sal_augment_kind augment; /* training batches: auto (crop_flip for CIFAR sets), none, crop_flip */
    /* [model] */
    sal_arch arch;
    sal_norm norm;            /* the resnets' GroupNorm, BatchNorm or none */
    sal_init_scheme init;     /* kaiming (PyTorch's default) or risotto */
    /* [train] */
    sal_algorithm algorithm;
    int local_epochs;
    int batch;
    double lr;
    double momentum;
    double weight_decay;
    double sample_fraction;
    double lr_decay;          /* lr at round r is multiplied by lr_decay^r */
    double clip;              /* max global L2 norm of a step's gradient; 0 = off */
    int sync_every;           /* localsgd: local steps between two model averages */
    sal_lr_schedule lr_schedule;
    int lr_step;              /* step schedule: multiply lr by lr_gamma every lr_step rounds */
    double lr_gamma;
    /* [sparsity] */
    sal_sparsity_method method;
    double density;
    sal_sparsity_scope scope;
    sal_score_source source;
    sal_score_aggregate aggregate;
    int saliency_batches;     /* minibatches each client scores (snip, grasp) */
    int synflow_iters;
    sal_sched_kind schedule;  /* fixed, or iterative pruning / cyclic training (schedule.h) */
    int cycles, cycle_rounds; /* schedule: C cycles of R rounds */
    int rewind_round;         /* imp: the round whose weights later cycles restart from */
    double start_density;     /* schedule: density of the first mask, pruned down to density */
    /* [comm] */
    sal_compress compress;
    sal_dense_impl dense_impl; /* [comm] allreduce */
    /* [comm] cost_*: the constants of the sparse allreduce's auto (sal_cost_params) */
    double cost_alpha, cost_beta, cost_beta_coll, cost_gamma, cost_delta;
    double topk_density;      /* compress = topk: fraction of gradient entries sent per step */
    sal_quantize quantize;    /* fedavg uploads: none, qsgd or adaquant */
    int quantize_levels;      /* QSGD's s, or AdaQuantFL's starting s0 */
    int quantize_bucket;      /* entries per QSGD norm bucket; 0 = the whole upload */
    double randk_density;     /* compress = randk: fraction of the update's entries each client sends */
    sal_randk_dec randk_decoder; /* compress = randk: plain, spatial or temporal */
    /* [topology] */
    sal_graph_kind graph;
    int degree;               /* random-regular */
    double p;                 /* erdos-renyi */
    sal_weights_kind weights;
    /* [checkpoint] */
    int ckpt_every;           /* rounds between two checkpoints; 0 = only at the end */
    int ckpt_keep;            /* checkpoints kept */
} sal_config;

/* Fill every field with its default from the key table. */
void sal_config_defaults(sal_config *c);

/* Parse an INI file on top of c. Unknown sections/keys, bad types or ranges and unreadable
 * files return SAL_ECONFIG (or SAL_EIO) with one line: "FILE:LINE: [section] key = 'value':
 * problem; expected ...". A failed load leaves c unchanged. */
sal_status sal_config_load(sal_config *c, const char *path, sal_err *err);

/* Parse INI text held in memory (used by load, --set and the fuzzer); name is for messages. */
sal_status sal_config_load_string(sal_config *c, const char *text, const char *name,
                                  sal_err *err);

/* Apply one "section.key=value" override (from --set). */
sal_status sal_config_set(sal_config *c, const char *assignment, sal_err *err);

/* Cross-key checks that a single key's range cannot express. */
sal_status sal_config_validate(const sal_config *c, sal_err *err);

/* Write the resolved config, every key, as INI that sal_config_load reads back identically. */
int sal_config_write(const sal_config *c, FILE *f);

/* Compare a and b key by key, leaving out the keys named "section.key" in skip (a NULL-ended
 * list, or NULL). Returns how many keys differ; msg gets the first as "[s] k = A, not B". */
int sal_config_diff(const sal_config *a, const sal_config *b, const char *const *skip,
                    char *msg, size_t cap);

/* Print every key with type, default, allowed values and help (for --help). */
void sal_config_print_help(FILE *f);

/* Name of an enum value of a key, e.g. ("model", "arch", SAL_ARCH_LENET5) -> "lenet5". */
const char *sal_config_enum_name(const char *section, const char *key, int value);

#endif
