/* eval.c - test-set evaluation and data loading from the config, shared by the algorithms. */
#include <float.h>
#include <mpi.h>
#include <stdint.h>

#include "salient/fault.h"
#include "salient/train.h"

/* SALIENT_FAULT=slow-eval[:R|:all]: a slow evaluation (tests of the watchdog, which must leave
 * compute between exchanges alone). */
static void slow_eval_fault(void) {
    int rank = 0, up = 0;
    if (sal_fault_at(SAL_FAULT_SLOW_EVAL) == -1) return;
    MPI_Initialized(&up);
    if (up) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    sal_fault_sleep(SAL_FAULT_SLOW_EVAL, rank);
}

double sal_evaluate(sal_model *m, const sal_dataset *ds, int batch, float *x, int *y, int *idx,
                    double *loss) {
    return sal_evaluate_hits(m, ds, batch, x, y, idx, loss, NULL);
}

double sal_evaluate_hits(sal_model *m, const sal_dataset *ds, int batch, float *x, int *y,
                         int *idx, double *loss, uint8_t *hit) {
    slow_eval_fault();
    const int K = ds->classes;
    double loss_sum = 0.0;
    long correct = 0;
    const int was_training = sal_model_training(m);
    sal_model_set_training(m, 0);
    for (int s = 0; s < ds->n; s += batch) {
        int b = ds->n - s < batch ? ds->n - s : batch, right = 0;
        for (int i = 0; i < b; i++) idx[i] = s + i;
        sal_dataset_batch(ds, idx, b, x, y);
        loss_sum += sal_model_forward(m, x, y, b, &right) * b;
        correct += right;
        for (int i = 0; hit && i < b; i++) {
            const float *z = sal_model_logits(m) + (size_t)i * K;
            float top = -FLT_MAX;
            int arg = 0;
            for (int j = 0; j < K; j++)
                if (z[j] > top) top = z[j], arg = j;
            hit[s + i] = arg == y[i];
        }
    }
    sal_model_set_training(m, was_training);
    if (loss) *loss = ds->n ? loss_sum / ds->n : 0.0;
    return ds->n ? (double)correct / ds->n : 0.0;
}

sal_model *sal_model_from_config(const sal_config *cfg, const sal_dataset *train, sal_err *err) {
    sal_model_spec s = {.arch = cfg->arch, .norm = cfg->norm, .c = train->c, .h = train->h,
                        .w = train->w, .classes = train->classes, .max_batch = cfg->batch,
                        .threads = cfg->threads, .init = cfg->init};
    return sal_model_create_spec(&s, err);
}

void sal_model_progress(FILE *f, const sal_model *m) {
    size_t unshared, planned = sal_model_arena_bytes(m, &unshared);
    const sal_model_spec *s = sal_model_get_spec(m);
    fprintf(f, "salient: model: %zu state floats; activations and gradients %.1f MiB (%.1f MiB "
               "unshared) at batch %d; %d thread%s\n",
            sal_model_params((sal_model *)m)->ns, planned / 1048576.0, unshared / 1048576.0,
            s->max_batch, s->threads, s->threads == 1 ? "" : "s");
}

sal_status sal_load_data(const sal_config *cfg, sal_dataset *train, sal_dataset *test,
                         sal_err *err) {
    sal_data_opts o = {
        .kind = cfg->dataset,
        .path = cfg->path,
        .train_limit = cfg->train_limit,
        .test_limit = cfg->test_limit,
        .synth_train = cfg->synth_train,
        .synth_test = cfg->synth_test,
        .seed = cfg->seed,
    };
    return sal_data_load(&o, train, test, err);
}
