/* bench_train.c - single-rank training throughput (samples/s) of salient's engine on
 * Fashion-MNIST (mlp, lenet5, cnn) or synthetic 3x32x32 CIFAR-shaped batches (the ResNets),
 * with achieved GFLOP/s, the fraction of a single-core SGEMM measured in the same run, and the
 * process's peak RSS. benchmarks/train_vs_torch.sh runs it beside PyTorch and prints ratios.
 * usage: bench_train ARCH [batch=64] [steps=300] [reps=5] [threads=1]
 *   ARCH: mlp | lenet5 | cnn | resnet20-gn | resnet20-bn | resnet18-gn | resnet18-bn | ... */
#include <cblas.h>
#include <stdio.h>
#include <sys/resource.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "salient/cpu.h"
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

/* Synthetic CIFAR-shaped data: `pool` normal samples, labels i mod 10 (the cost of a step
 * does not depend on the values; torch_train.py draws its own the same way). */
static void synthetic(sal_dataset *d, int pool) {
    memset(d, 0, sizeof *d);
    d->n = pool, d->c = 3, d->h = 32, d->w = 32, d->classes = 10;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_train mlp|lenet5|cnn|resnet{20,18,50}-{gn,bn} [batch] "
                        "[steps] [reps] [threads]\n");
        return 2;
    }
    const char *a = argv[1];
    sal_model_spec spec = {.norm = strstr(a, "-bn") ? SAL_NORM_BATCH : SAL_NORM_GROUP};
    spec.arch = !strcmp(a, "mlp")                 ? SAL_ARCH_MLP
                : !strcmp(a, "cnn")               ? SAL_ARCH_CNN
                : !strncmp(a, "resnet20", 8)      ? SAL_ARCH_RESNET20
                : !strncmp(a, "resnet18", 8)      ? SAL_ARCH_RESNET18
                : !strncmp(a, "resnet50", 8)      ? SAL_ARCH_RESNET50
                                                  : SAL_ARCH_LENET5;
    const int resnet = !strncmp(a, "resnet", 6);
    int B = argc > 2 ? atoi(argv[2]) : 64, steps = argc > 3 ? atoi(argv[3]) : 300,
        reps = argc > 4 ? atoi(argv[4]) : 5, threads = argc > 5 ? atoi(argv[5]) : 1;
    if (B < 1 || steps < 1 || reps < 1 || threads < 1) {
        fprintf(stderr, "bench_train: batch, steps, reps and threads must be positive\n");
        return 2;
    }
    sal_err err;
    if (sal_isa_select(&err)) { /* SALIENT_ISA=generic|avx2|avx512 times one level */
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 2;
    }
    fprintf(stderr, "bench_train: kernels at level %s (%s)\n", sal_isa_name(sal_isa_current()),
            sal_isa_source());
    openblas_set_num_threads(1);
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    sal_dataset train, test;
    float *pool_x = NULL;
    int *pool_y = NULL;
    const int pool = 8 * B;
    if (resnet) {
        synthetic(&train, pool);
        memset(&test, 0, sizeof test);
        pool_x = malloc(sizeof(float) * (size_t)pool * 3 * 32 * 32);
        pool_y = malloc(sizeof(int) * (size_t)pool);
        sal_rng g;
        sal_rng_seed(&g, 1, 99, 0);
        for (size_t i = 0; i < (size_t)pool * 3 * 32 * 32; i++) pool_x[i] = (float)sal_rng_normal(&g);
        for (int i = 0; i < pool; i++) pool_y[i] = i % 10;
    } else {
        sal_data_opts o = {.kind = SAL_DATA_FASHION_MNIST};
        if (sal_data_load(&o, &train, &test, &err)) {
            fprintf(stderr, "bench_train: %s\n", err.msg);
            return 2;
        }
    }
    spec.c = train.c, spec.h = train.h, spec.w = train.w, spec.classes = train.classes;
    spec.max_batch = B, spec.threads = threads;
    sal_model *m = sal_model_create_spec(&spec, &err);
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
            if (resnet) {
                const size_t per = (size_t)3 * 32 * 32;
                for (int i = 0; i < B; i++) {
                    memcpy(x + i * per, pool_x + (size_t)order[pos + i] * per, per * sizeof *x);
                    y[i] = pool_y[order[pos + i]];
                }
            } else {
                sal_dataset_batch(&train, order + pos, B, x, y);
            }
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
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("salient,%s,%d,%.1f,%.1f,%.1f,%.2f,%.1f,%.1f,%.0f\n", argv[1], B, med, rate[0],
           rate[reps - 1], gflops, peak, 100.0 * gflops / peak, ru.ru_maxrss / 1024.0);
    free(rate), free(x), free(y), free(order), free(pool_x), free(pool_y);
    sal_sgd_free(&opt);
    sal_model_free(m);
    if (!resnet) sal_dataset_free(&train), sal_dataset_free(&test);
    return 0;
}
