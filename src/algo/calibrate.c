/* calibrate.c - how fast one rank trains this config's model here: the per-core throughput
 * `salient plan` feeds into the round model (predict.c). The timed loop is the training loop's
 * own work (batch gather, forward, backward, SGD step) on random samples of the real data. */
#include <cblas.h>
#include <stdlib.h>
#include <time.h>

#include "algos.h"
#include "salient/optim.h"
#include "salient/predict.h"
#include "salient/rng.h"
#include "salient/train.h"

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Steps of B samples until `seconds` passed (at least 3) after 2 untimed ones; samples/s. On
 * one thread the process's CPU time is the clock: a login node shared with others then still
 * gives the rate of a core of one's own. More threads can only be timed by the wall clock. */
static double timed(sal_model *m, sal_sgd *opt, const sal_dataset *ds, int B, int train,
                    int threads, double seconds, float *x, int *y, int *idx, sal_rng *r) {
    sal_params *p = sal_model_params(m);
    double t0 = 0;
    long steps = 0;
    for (long s = 0;; s++) {
        const double now = threads == 1 ? cpu_now() : sal_now();
        if (s == 2) t0 = now;
        if (s >= 5 && now - t0 >= seconds) break;
        for (int i = 0; i < B; i++) idx[i] = (int)sal_rng_below(r, (uint64_t)ds->n);
        sal_dataset_batch(ds, idx, B, x, y);
        sal_model_forward(m, x, y, B, NULL);
        if (train) {
            sal_model_backward(m);
            sal_sgd_step(opt, p);
        }
        if (s >= 2) steps++;
    }
    return (double)steps * B / ((threads == 1 ? cpu_now() : sal_now()) - t0);
}

sal_status sal_calibrate(const sal_config *cfg, const sal_dataset *train, int threads,
                         double seconds, double *train_rate, double *eval_rate, sal_err *err) {
    sal_config c = *cfg;
    c.threads = threads;
    openblas_set_num_threads(1); /* as the algorithms run it: threads go to OpenMP */
    sal_model *m = sal_model_from_config(&c, train, err);
    if (!m) return SAL_ECONFIG;
    sal_model_init(m, cfg->seed);
    const int B = cfg->batch;
    float *x = malloc(sizeof(float) * (size_t)B * train->c * train->h * train->w);
    int *y = malloc(sizeof(int) * (size_t)B), *idx = malloc(sizeof(int) * (size_t)B);
    sal_sgd opt = {0};
    sal_status st = SAL_OK;
    if (!x || !y || !idx ||
        sal_sgd_init(&opt, sal_model_params(m)->n, (float)cfg->lr, (float)cfg->momentum,
                     (float)cfg->weight_decay)) {
        st = sal_fail(err, SAL_ENOMEM, "out of memory calibrating the model");
    } else {
        sal_rng r;
        sal_rng_seed(&r, cfg->seed, SAL_STREAM_SHUFFLE, 0);
        *train_rate = timed(m, &opt, train, B, 1, threads, seconds, x, y, idx, &r);
        sal_model_set_training(m, 0);
        *eval_rate = timed(m, &opt, train, B, 0, threads, seconds / 2, x, y, idx, &r);
    }
    sal_sgd_free(&opt);
    free(x), free(y), free(idx);
    sal_model_free(m);
    return st;
}
