/* train.h - running a training job from a resolved config: the algorithms (algo/) that sit on
 * top of the engine, data, and io modules. */
#ifndef SALIENT_TRAIN_H
#define SALIENT_TRAIN_H

#include <stdio.h>

#include "salient/config.h"
#include "salient/data.h"
#include "salient/model.h"
#include "salient/status.h"

/* Run the algorithm cfg->algorithm, writing metrics.csv, summary.json and checkpoints (ckpt/)
 * into out_dir (which must exist). Progress lines go to `progress` (NULL for none). resume:
 * a checkpoint file to continue from, or NULL. On SIGTERM/SIGUSR1 (signals.h) the run stops
 * after the current round with a checkpoint and returns SAL_OK without summary.json. */
sal_status sal_train(const sal_config *cfg, const char *out_dir, FILE *progress,
                     const char *resume, sal_err *err);

/* Test-set accuracy (returned) and mean loss (*loss) of model m on all of ds, in batches of at
 * most the model's max batch `batch`. x (batch*c*h*w floats), y and idx (batch ints) are
 * caller-provided buffers. */
double sal_evaluate(sal_model *m, const sal_dataset *ds, int batch, float *x, int *y, int *idx,
                    double *loss);

/* Load the data set described by [data] keys of cfg. */
sal_status sal_load_data(const sal_config *cfg, sal_dataset *train, sal_dataset *test,
                         sal_err *err);

#endif
