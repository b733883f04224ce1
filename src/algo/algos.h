/* algos.h - the algorithm entry points that sal_train dispatches to (private to algo/). */
#ifndef SALIENT_ALGO_ALGOS_H
#define SALIENT_ALGO_ALGOS_H

#include <mpi.h>

#include "salient/ckpt.h"
#include "salient/data.h"
#include "salient/partition.h"
#include "salient/schedule.h"
#include "salient/train.h"

/* Plain minibatch SGD on the whole training set on one rank; one round = one epoch. */
sal_status sal_train_centralized(const sal_config *cfg, const char *out_dir, FILE *progress,
                                 const char *resume, sal_err *err);

/* FedAvg over MPI: rank 0 serves, ranks 1.. host blocks of clients; with a [sparsity] mask this
 * is SSFL or a pruning-at-init baseline (fedavg*.c). */
sal_status sal_train_fedavg(const sal_config *cfg, const char *out_dir, FILE *progress,
                            const char *resume, sal_err *err);

/* allreduce, localsgd, dpsgd: every rank a worker (decentral.c). */
sal_status sal_train_decentral(const sal_config *cfg, const char *out_dir, FILE *progress,
                               const char *resume, sal_err *err);

/* summary.json's identity fields into buf (identity.c): the algorithm's name as given, the
 * model and data, only the sparsity/comm keys that applied to this run, seed, ranks, clients
 * (not for centralized), parameters and nnz. -1 if cap is short. */
int sal_run_identity(char *buf, size_t cap, const sal_config *cfg, const char *algorithm,
                     int ranks, size_t parameters, size_t nnz);

/* Collective over comm: every rank returns the first (lowest-rank) failure's status, so that
 * no rank goes on into a collective that another has left. Rank 0's message names the failing
 * rank and carries its words; the other ranks get an empty message (nothing to print twice). */
sal_status sal_mpi_agree(MPI_Comm comm, sal_status st, sal_err *err);

/* Is a checkpoint due after `done` rounds (every [checkpoint] every rounds, after the last,
 * and when stopping on a signal)? */
int sal_ckpt_due(const sal_config *cfg, int done, int stopping);

/* The resolved config as INI text (malloc'ed), or NULL when out of memory. */
char *sal_config_text(const sal_config *cfg);

/* What a run trained on, stored in its checkpoints (format 3) and compared on resume, so that
 * a resume on other data is refused as a changed config key is (resume.c):
 * sal_data_fingerprint: CRC-32C of the loaded training set (its shape, then its pixels and
 * labels) in the high 32 bits, of the test set in the low; the loaded bytes rather than the
 * files, so that a moved or recompressed file with the same content still resumes, and it
 * costs one pass over memory (~20 ms for CIFAR-10) per checkpoint.
 * sal_split_fingerprint: the data module's sal_partition_hash (which sample ids each client
 * holds, whatever their order) mixed with SAL_PARTITION_VERSION, so that a split drawn by
 * another version of the partition code never matches; 0 for no split (NULL: centralized). */
uint64_t sal_data_fingerprint(const sal_dataset *train, const sal_dataset *test);
uint64_t sal_split_fingerprint(const sal_partition *part);

/* Read checkpoint path's header into info and check that it can continue this run: every
 * config key that changes the math equal, the same data and split (data_fp, split_fp: this
 * run's fingerprints; files of format < 3 have none), rounds left to run, and (same_ranks)
 * the same rank count. The file's seal is checked first (a load of path that follows may
 * pass .sealed = 1). The caller frees info. */
sal_status sal_resume_check(const sal_config *cfg, const char *path, int nranks, int same_ranks,
                            uint64_t data_fp, uint64_t split_fp, sal_ckpt_info *info,
                            sal_err *err);

/* Write out_dir/config.ini (every key resolved), atomically: the algorithms call it on the rank
 * that owns the output once their setup succeeded, so a refused run writes nothing. */
sal_status sal_run_write_config(const sal_config *cfg, const char *out_dir, sal_err *err);

/* [sparsity] schedule in a run (sched_run.c). On the rank that holds the model (`holder`:
 * centralized's, the fedavg server) it owns IMP's rewind point (the weights and the
 * non-trainable state, initialised to the model at open: the rewind point of rewind_round = 0)
 * and a score scratch; elsewhere only the schedule, for the learning rate and the rounds that
 * prune. */
typedef struct sal_sched_run {
    sal_sched s;
    float *rewind; /* (n + ns) imp on the holder, else NULL; owned: the weights, then the state
                    * (BatchNorm statistics), which OpenLTH's rewind restores too */
    float *score;  /* (n) the holder's prune scratch, else NULL; owned */
} sal_sched_run;
sal_status sal_sched_run_open(sal_sched_run *r, const sal_config *cfg, const sal_params *p,
                              int holder, sal_err *err);
void sal_sched_run_close(sal_sched_run *r);
/* The learning rate of round (0-based), restarting with each cycle (schedule.h). */
double sal_sched_run_lr(const sal_sched_run *r, const sal_config *cfg, int round);
/* The holder, after `done` rounds: save IMP's rewind point (done = rewind_round: p->w and
 * p->s), and prune (then rewind, IMP: the kept weights and the whole state) when a cycle ends
 * in a prune; *pruned = the prune's number or 0. The
 * caller restarts the optimizer (sal_sched_restart_after) and sends the new mask. */
sal_status sal_sched_run_step(sal_sched_run *r, sal_params *p, int done, int *pruned,
                              sal_err *err);
/* /schedule/state after `done` rounds: prunes done, prunable kept by p's mask, prunable. */
void sal_sched_run_state(const sal_sched_run *r, const sal_params *p, int done, int64_t out[3]);
/* A resumed /schedule/state against the one this config derives for `done` rounds and p's
 * restored mask: SAL_EFORMAT naming path where they differ. */
sal_status sal_sched_run_check(const sal_sched_run *r, const sal_params *p, int done,
                               const int64_t got[3], const char *path, sal_err *err);
/* "salient: round D: imp prune k/C: ..." on f after prune k (nothing when k = 0). */
void sal_sched_run_progress(FILE *f, const sal_sched_run *r, int done, int k,
                            const sal_params *p);

/* Seconds on a monotonic clock. */
double sal_now(void);

#endif
