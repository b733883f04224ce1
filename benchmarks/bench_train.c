/* bench_train.c - single-rank training throughput (samples/s) of salient's engine on
 * Fashion-MNIST, with achieved GFLOP/s and the fraction of a single-core SGEMM measured in the
 * same run. benchmarks/train_vs_torch.sh runs it beside PyTorch and prints the ratio.
 * usage: bench_train ARCH(mlp|lenet5|cnn) [batch=64] [steps=300] [reps=5] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "salient/data.h"
#include "salient/model.h"
#include "salient/optim.h"
#include "salient/rng.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Single-core SGEMM GFLOP/s on 1024^3 (median of 5), the roofline the engine is judged by. */
static double sgemm_gflops(void) {
    const int n = 1024;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) a[i] = b[i] = 1e-3f * (float)(i % 1000), c[i] = 0;
    double t[5];
    for (int r = 0; r < 6; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        if (r) t[r - 1] = now() - t0; /* the first call warms up */
    }
    qsort(t, 5, sizeof *t, cmp_double);
    free(a), free(b), free(c);
    return 2.0 * n * n * n / t[2] / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_train mlp|lenet5|cnn [batch] [steps] [reps]\n");
        return 2;
    }
    sal_arch arch = !strcmp(argv[1], "mlp") ? SAL_ARCH_MLP
                    : !strcmp(argv[1], "cnn") ? SAL_ARCH_CNN : SAL_ARCH_LENET5;
    int B = argc > 2 ? atoi(argv[2]) : 64, steps = argc > 3 ? atoi(argv[3]) : 300,
        reps = argc > 4 ? atoi(argv[4]) : 5;
    openblas_set_num_threads(1);
    sal_data_opts o = {.kind = SAL_DATA_FASHION_MNIST};
    sal_dataset train, test;
    sal_err err;
    if (sal_data_load(&o, &train, &test, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 2;
    }
    sal_model *m = sal_model_create(arch, train.c, train.h, train.w, train.classes, B, &err);
    if (!m) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 2;
    }
    sal_model_init(m, 1);
    sal_params *p = sal_model_params(m);
    sal_sgd opt;
    sal_sgd_init(&opt, p->n, 0.05f, 0.9f, 0.0f);
    float *x = malloc(sizeof(float) * B * train.c * train.h * train.w);
    int *y = malloc(sizeof(int) * B), *order = malloc(sizeof(int) * train.n);
    for (int i = 0; i < train.n; i++) order[i] = i;
    sal_rng rng;
    sal_rng_seed(&rng, 1, SAL_STREAM_SHUFFLE, 0);
    sal_rng_shuffle_int(&rng, order, train.n);
    int pos = 0;
    double *rate = malloc(sizeof(double) * reps);
    /* a step = gather a shuffled batch + forward + backward + SGD update, as in training */
    for (int r = -1; r < reps; r++) { /* r = -1 warms buffers and caches, untimed */
        double t0 = now();
        for (int s = 0; s < steps; s++) {
            if (pos + B > train.n) pos = 0;
            sal_dataset_batch(&train, order + pos, B, x, y);
            pos += B;
            sal_model_forward(m, x, y, B, NULL);
            sal_model_backward(m);
            sal_sgd_step(&opt, p);
        }
        if (r >= 0) rate[r] = (double)steps * B / (now() - t0);
    }
    qsort(rate, reps, sizeof *rate, cmp_double);
    double med = rate[reps / 2], peak = sgemm_gflops();
    double gflops = med * sal_model_train_flops(m) / 1e9;
    printf("salient,%s,%d,%.0f,%.0f,%.0f,%.2f,%.1f,%.1f\n", argv[1], B, med, rate[0],
           rate[reps - 1], gflops, peak, 100.0 * gflops / peak);
    free(rate), free(x), free(y), free(order);
    sal_sgd_free(&opt);
    sal_model_free(m);
    sal_dataset_free(&train);
    sal_dataset_free(&test);
    return 0;
}
