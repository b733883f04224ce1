/* train.h - running a training job from a resolved config: the algorithms (algo/) that sit on
 * top of the engine, data, and io modules. */
#ifndef SALIENT_TRAIN_H
#define SALIENT_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "salient/config.h"
#include "salient/data.h"
#include "salient/model.h"
#include "salient/status.h"

/* Run the algorithm cfg->algorithm, writing config.ini, metrics.csv, summary.json and
 * checkpoints (ckpt/) into out_dir (which must exist: sal_train_prepare_out). Nothing is written
 * under a final name before the run's setup (rank count, data, mask or checkpoint) succeeded, so
 * a refused run leaves out_dir as it was. Progress lines go to `progress` (NULL for none).
 * resume: a checkpoint file to continue from, or NULL. On SIGTERM/SIGUSR1 (signals.h) the run
 * stops after the current round with a checkpoint and returns SAL_OK without summary.json.
 * Collective over MPI_COMM_WORLD. */
sal_status sal_train(const sal_config *cfg, const char *out_dir, FILE *progress,
                     const char *resume, sal_err *err);

/* [train] algorithm = centralized on the calling rank alone, however many ranks were launched:
 * the single-worker baseline of a multi-rank comparison (salient compare). Not collective: the
 * other ranks do not take part (they may wait for it). SAL_EINVAL for any other algorithm. */
sal_status sal_train_alone(const sal_config *cfg, const char *out_dir, FILE *progress,
                           sal_err *err);

/* Can cfg's algorithm run on nranks MPI ranks (centralized on one, fedavg on 2..clients+1,
 * the others on at most [data] clients, dpsgd's graph buildable on nranks nodes)? Local and
 * cheap: commands call it before any work, sal_train calls it again. */
sal_status sal_train_check_ranks(const sal_config *cfg, int nranks, sal_err *err);

/* What sal_train_prepare_out does with a run's results already in out_dir (rundir.h). */
enum {
    SAL_OUT_RESUME = 1,    /* keep them: --resume continues that run */
    SAL_OUT_FORCE = 2,     /* remove them first: --force */
    SAL_OUT_NO_RESUME = 4, /* the command has no --resume: the refusal does not offer it */
    SAL_OUT_CHECK = 8,     /* only check: no lock, nothing removed (several directories are
                            * checked before any is claimed, so a refusal leaves them all) */
};

/* Rank 0, before a run: create out_dir (mkdir -p), prove it writable with a temporary file,
 * refuse an output name taken by the wrong kind of file (metrics.csv a directory, ckpt a
 * file), refuse a directory another run holds, and refuse one that holds a run's results
 * unless flags has SAL_OUT_RESUME or SAL_OUT_FORCE (which removes them). Then take the
 * directory's lock: *lock_fd (>= 0 on SAL_OK, owned by the caller) holds it until closed or the
 * process ends. A refusal here leaves out_dir as it was (a new directory aside); creates no
 * final name. A run refused later (data, checkpoint) leaves at most the empty lock file. */
sal_status sal_train_prepare_out(const char *out_dir, unsigned flags, int *lock_fd,
                                 sal_err *err);

/* Test-set accuracy (returned) and mean loss (*loss) of model m on all of ds, in batches of at
 * most the model's max batch `batch`, in evaluation mode (BatchNorm on its running statistics;
 * the mode is restored after). x (batch*c*h*w floats), y and idx (batch ints) are
 * caller-provided buffers. */
double sal_evaluate(sal_model *m, const sal_dataset *ds, int batch, float *x, int *y, int *idx,
                    double *loss);
/* The same, also marking in hit (ds->n bytes, or NULL) which samples it classified right (the
 * argmax rule of the loss: the first largest logit), so that any split of the test set gets
 * its accuracy from this one pass (per-client accuracy, client_eval.h). */
double sal_evaluate_hits(sal_model *m, const sal_dataset *ds, int batch, float *x, int *y,
                         int *idx, double *loss, uint8_t *hit);

/* The model [model] describes, for train's input shape and classes and [train] batch; NULL
 * with err filled. Parameters are zero (sal_model_init draws them). */
sal_model *sal_model_from_config(const sal_config *cfg, const sal_dataset *train, sal_err *err);

/* One progress line on f: the model's state floats (BatchNorm) and its planned activation and
 * gradient memory against unshared buffers, and the threads it runs on. */
void sal_model_progress(FILE *f, const sal_model *m);

/* Load the data set described by [data] keys of cfg. */
sal_status sal_load_data(const sal_config *cfg, sal_dataset *train, sal_dataset *test,
                         sal_err *err);

#endif
