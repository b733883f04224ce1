/* ckpt.h - HDF5 checkpoints of a training run: the model with PyTorch names and shapes, the
 * mask, optimizer state, every rank's own state where ranks differ, the metrics so far and the
 * resolved config (docs/checkpoint-format.md). Written collectively with parallel HDF5 (MPI-IO)
 * by the ranks that hold state, to a temporary name that is fsync'ed and renamed; OUT/ckpt/latest
 * is a symlink moved only once a file is complete. */
#ifndef SALIENT_CKPT_H
#define SALIENT_CKPT_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "salient/metrics.h"
#include "salient/params.h"
#include "salient/status.h"

#define SAL_CKPT_FORMAT "salient-checkpoint"
#define SAL_CKPT_VERSION 3 /* 2: root attribute header_crc32c; 3: /metrics crc32c, the data
                            * and split fingerprints */

/* What one checkpoint holds. Pointers are borrowed. NULL means absent; whether an optional
 * part is present must be the same on every rank of the writing communicator. */
typedef struct sal_ckpt_state {
    int round;               /* rounds completed (fedavg's round 0, the mask, counts as none) */
    int64_t step;            /* optimizer steps each rank has taken (decentralized algorithms) */
    const char *algorithm;   /* [train] algorithm, e.g. "fedavg" */
    const char *arch;        /* [model] arch */
    uint64_t seed;           /* [run] seed: with the round, all the random streams' state */
    const char *config_text; /* the resolved config (sal_config_write) */
    uint64_t data_fp;        /* sal_data_fingerprint of the training and test data */
    uint64_t split_fp;       /* sal_split_fingerprint of the clients' split (0: no split) */
    const sal_params *p;     /* tensor names, shapes and the mask: the same on every rank */
    const float *model;      /* (n) /model: the global or average model; rank 0's is written */
    const float *momentum;   /* (n) /optim/momentum (rank 0's), or NULL */
    const float *rank_w;     /* (n) this rank's row of /ranks/weights, or NULL */
    const float *rank_m;     /* (n) this rank's row of /ranks/momentum, or NULL */
    const float *rank_r;     /* (n) this rank's row of /ranks/residual (top-k), or NULL */
    const float *state;      /* (p->ns) /state: non-trainable state (BatchNorm statistics) of
                              * the model written to /model (rank 0's); NULL when p->ns == 0 */
    const float *rank_s;     /* (p->ns) this rank's row of /ranks/state, or NULL */
    const sal_metrics *metrics; /* rank 0: the rows so far */
} sal_ckpt_state;

/* Collective over comm: write DIR/round-NNNNNN.h5 (DIR is created), point DIR/latest at it,
 * and remove all but the newest `keep` round files. path (cap bytes) gets the file's path.
 * Publication is a protocol (docs/checkpoint-format.md): every rank writes its part, fsyncs
 * and re-reads it against its CRCs, all ranks agree that every part is whole, and only then
 * does rank 0 rename the file, move latest and prune. On failure on any rank every rank
 * returns the same status (rank 0 with the one line, naming the failing rank), the temporary
 * file is removed, DIR/latest and the older files are unchanged. */
sal_status sal_ckpt_save(MPI_Comm comm, const char *dir, int keep, const sal_ckpt_state *s,
                         char *path, size_t cap, sal_err *err);

/* A checkpoint's header, read by one rank without MPI. */
typedef struct sal_ckpt_info {
    int version, round, nranks, nrows; /* nrows: metrics rows */
    int64_t step;
    uint64_t seed, n, nnz;             /* n parameters, nnz of them in the mask */
    char algorithm[32], arch[32];
    char *config_text;                 /* owned */
    uint64_t data_fp, split_fp;        /* 0 in files of format version < 3 */
    int has_momentum, has_rank_w, has_rank_m, has_rank_r, has_rank_s;
} sal_ckpt_info;

/* Open path read-only and read its header. Errors name the file and what is wrong with it:
 * not HDF5, truncated, not a salient checkpoint, a newer format version. */
sal_status sal_ckpt_info_read(const char *path, sal_ckpt_info *info, sal_err *err);
void sal_ckpt_info_free(sal_ckpt_info *info);

/* Where a load puts what it reads; NULL = skip. The tensors of p must match the file's names
 * and shapes (the error names the first that does not). */
typedef struct sal_ckpt_dst {
    sal_params *p;           /* p->mask (and p->dense) from /mask; p->w from /model and p->s
                              * from /state (when p->ns > 0) if model */
    int model;
    float *momentum;         /* (n) from /optim/momentum */
    int rank;                /* the row of /ranks/... to read */
    float *rank_w, *rank_m, *rank_r;
    float *rank_s;           /* (p->ns) this rank's row of /ranks/state */
    sal_metrics *metrics;    /* rows appended */
    int check_metrics;       /* without metrics: check /metrics against its CRC all the same */
} sal_ckpt_dst;

/* Read what d asks for from path (no MPI: every rank may call it for its own row). Every
 * dataset is checked for its type and shape before it is read, then against the CRC-32C
 * stored beside it; floating-point data must be finite. */
sal_status sal_ckpt_load(const char *path, const sal_ckpt_dst *d, sal_err *err);

/* Re-read what sal_ckpt_save wrote to path against its CRCs (no MPI): the header (which must
 * say round s->round and nranks ranks) and, on rank 0, every tensor and /metrics; on every
 * rank, its own rows. */
sal_status sal_ckpt_verify(const char *path, const sal_ckpt_state *s, int rank, int nranks,
                           sal_err *err);

/* Print path's header, a config summary, per-tensor shapes and mask densities, total density
 * and the last evaluation as "key: value" lines to out. */
sal_status sal_ckpt_inspect(const char *path, FILE *out, sal_err *err);

/* "latest" or a path: the checkpoint file a --resume argument names, for a run writing to
 * out_dir (latest = out_dir/ckpt/latest, which must exist). */
sal_status sal_ckpt_resolve(const char *arg, const char *out_dir, char *path, size_t cap,
                            sal_err *err);

#endif
