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
#define SAL_CKPT_VERSION 6 /* 2: root attribute header_crc32c; 3: /metrics crc32c, the data
                            * and split fingerprints; 4: the seal, per-client accuracy in
                            * /metrics; 5: root attribute world_size,
                            * /schedule/rewind_state; 6: /comm/randk_client_memory (one
                            * Rand-k-Temporal memory per client) replaces /comm/randk_memory */

/* What one checkpoint holds. Pointers are borrowed. NULL means absent; whether an optional
 * part is present must be the same on every rank of the writing communicator. */
typedef struct sal_ckpt_state {
    int round;               /* rounds completed (fedavg's round 0, the mask, counts as none) */
    int64_t step;            /* optimizer steps each rank has taken (decentralized algorithms) */
    int world_size;          /* MPI ranks of the run (MPI_COMM_WORLD), which may exceed the
                              * writing communicator's (fedavg's server writes alone); 0: the
                              * communicator's size */
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
    const float *randk_memory; /* (randk_clients, nnz) /comm/randk_client_memory: fedavg's
                                * Rand-k-Temporal memory, row c client c's over the weights the
                                * mask keeps (rank 0's), or NULL */
    int randk_clients;         /* its rows, the same on every rank of the communicator */
    const sal_metrics *metrics; /* rank 0: the rows so far */
    /* [sparsity] schedule != fixed (rank 0's; centralized and fedavg write them): */
    const int64_t *sched;    /* (3) /schedule/state: prunes done, prunable weights kept, prunable
                              * weights; NULL for schedule = fixed (nothing written) */
    const float *rewind;     /* (n + p->ns) IMP's rewind point, or NULL: the weights to rewind
                              * to (/schedule/rewind), then the state (/schedule/rewind_state,
                              * written when p->ns > 0) */
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
    int version, round, nrows;         /* nrows: metrics rows */
    int nranks;                        /* ranks that wrote the file (rows of /ranks) */
    int world_size;                    /* ranks of the run that wrote it; 0 (unknown) in files
                                        * of format version < 5 */
    int64_t step;
    uint64_t seed, n, nnz;             /* n parameters, nnz of them in the mask */
    char algorithm[32], arch[32];
    char *config_text;                 /* owned */
    uint64_t data_fp, split_fp;        /* 0 in files of format version < 3 */
    int has_momentum, has_rank_w, has_rank_m, has_rank_r, has_rank_s;
    int has_randk_memory;              /* /comm/randk_client_memory */
    int randk_clients;                 /* its rows, where it is 2-D (else 0) */
    int has_schedule;                  /* /schedule/state exists (absent: schedule = fixed) */
    int has_rewind;                    /* /schedule/rewind exists (schedule = imp) */
} sal_ckpt_info;

/* Check path's seal, open it read-only and read its header. Errors name the file and what is
 * wrong with it: no seal, truncated, damaged, not a salient checkpoint, a newer format. */
sal_status sal_ckpt_info_read(const char *path, sal_ckpt_info *info, sal_err *err);
/* The same where the caller has checked path's seal (sealed = 1), e.g. one rank for all. */
sal_status sal_ckpt_header_read(const char *path, int sealed, sal_ckpt_info *info, sal_err *err);
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
    float *randk_memory;     /* (randk_clients, nnz of the file's mask) from
                              * /comm/randk_client_memory, which must be of that shape */
    int randk_clients;
    int64_t *sched;          /* (3) from /schedule/state */
    float *rewind;           /* (n + p->ns) from /schedule/rewind, then /schedule/rewind_state
                              * (when p->ns > 0) */
    sal_metrics *metrics;    /* rows appended */
    int check_metrics;       /* without metrics: check /metrics against its CRC all the same */
    int sealed;              /* the caller has checked path's seal (sal_ckpt_seal_check) */
} sal_ckpt_dst;

/* Read what d asks for from path (no MPI: every rank may call it for its own row). Every
 * dataset is checked for its type and shape before it is read, then against the CRC-32C
 * stored beside it; floating-point data must be finite. */
sal_status sal_ckpt_load(const char *path, const sal_ckpt_dst *d, sal_err *err);

/* Re-read what sal_ckpt_save wrote to path against its CRCs (no MPI), its seal checked before:
 * the header (which must say round s->round and nranks ranks) and, on rank 0, every tensor and
 * /metrics; on every rank, its own rows. */
sal_status sal_ckpt_verify(const char *path, const sal_ckpt_state *s, int rank, int nranks,
                           sal_err *err);

/* Print path's header, a config summary, per-tensor shapes and mask densities, total density
 * and the last evaluation as "key: value" lines to out, after checking every CRC-32C a resume
 * checks (the seal, the header, every dataset, every /ranks row: "crc32c: ok", then
 * "crc32c.checked: ..." naming them); the first that fails is the error returned. */
sal_status sal_ckpt_inspect(const char *path, FILE *out, sal_err *err);

/* The seal (ckpt_seal.c, docs/checkpoint-format.md): the first SAL_SEAL_BYTES of the file (an
 * HDF5 user block) hold its length and a CRC-32C of the rest except up to SAL_SEAL_SKIPS_MAX
 * ranges (the raw rows of /ranks, which carry CRCs of their own). The reader checks it before
 * HDF5 parses a byte, so a damaged file never reaches HDF5's parser, which is not memory-safe
 * on damaged input. A file with a valid seal is trusted as salient wrote it: load checkpoints
 * only from where you would run code from. */
#define SAL_SEAL_BYTES 512
#define SAL_SEAL_SKIPS_MAX 16
typedef struct sal_seal_skip {
    uint64_t offset, length;
} sal_seal_skip;

/* Fill path's empty user block with its seal (the file complete and closed; ranges ascending
 * and disjoint). */
sal_status sal_ckpt_seal(const char *path, const sal_seal_skip *skip, int nskip, sal_err *err);

/* Check path's seal: present, whole, the file's length and CRC as sealed. Reads the covered
 * bytes once. The errors name the file and say what to do. */
sal_status sal_ckpt_seal_check(const char *path, sal_err *err);

/* A sealed copy out (a new file) of the unsealed checkpoint in (format 3 or older, or a file
 * changed with h5py), for a file the user trusts: what HDF5 does with it is not checked
 * before. The copy is removed unless it then reads as a salient checkpoint. */
sal_status sal_ckpt_seal_copy(const char *in, const char *out, sal_err *err);

/* "latest" or a path: the checkpoint file a --resume argument names, for a run writing to
 * out_dir (latest = out_dir/ckpt/latest, which must exist). */
sal_status sal_ckpt_resolve(const char *arg, const char *out_dir, char *path, size_t cap,
                            sal_err *err);

#endif
