/* mpi_fedavg.c - run under mpirun (test-ranks: 3 4). The SSFL mask exchange of round 0 against a
 * mask computed here independently on rank 0 (every client's SNIP scores summed in double with the
 * FedAvg or mean weights, then top-k), for weighted and mean aggregation, source = server and
 * layerwise scope; the mask is the same on every rank and pruned weights are zero; round-0
 * bytes are what the protocol says. Also the client sample: size, order, range, seed. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "algo/fedavg.h"
#include "harness.h"
#include "salient/rng.h"
#include "salient/sparsity.h"

static int rank;

/* What rank 0 expects: recomputed from the spec, not from fedavg_mask.c's code. */
static void reference_mask(const fed *f, float *mask) {
    const sal_config *cfg = f->cfg;
    const sal_dataset *tr = &f->train;
    sal_err err;
    sal_model *m = sal_model_create(cfg->arch, tr->c, tr->h, tr->w, tr->classes, cfg->batch, &err);
    sal_model_init(m, cfg->seed);
    sal_params *p = sal_model_params(m);
    double *acc = calloc(p->n, sizeof(double));
    float *score = malloc(sizeof(float) * p->n);
    float *x = malloc(sizeof(float) * (size_t)cfg->batch * tr->c * tr->h * tr->w);
    int *y = malloc(sizeof(int) * (size_t)cfg->batch), *ids = malloc(sizeof(int) * tr->n);
    int C = cfg->clients, total = f->part.offset[C] - f->part.offset[0];
    int last = cfg->source == SAL_SOURCE_SERVER ? 1 : C;
    for (int c = 0; c < last; c++) {
        int n = f->part.offset[c + 1] - f->part.offset[c];
        memcpy(ids, f->part.index + f->part.offset[c], sizeof(int) * n);
        sal_rng r;
        sal_rng_seed(&r, cfg->seed, SAL_STREAM_MASK, 1 + (uint64_t)c);
        sal_rng_shuffle_int(&r, ids, n);
        int k = cfg->saliency_batches * cfg->batch < n ? cfg->saliency_batches * cfg->batch : n;
        sal_score_snip(m, tr, ids, k, cfg->batch, NULL, x, y, score);
        double wc = cfg->source == SAL_SOURCE_SERVER ? 1.0
                    : cfg->aggregate == SAL_AGG_WEIGHTED ? (double)n / total
                                                          : 1.0 / C;
        for (size_t i = 0; i < p->n; i++) acc[i] += wc * score[i];
    }
    for (size_t i = 0; i < p->n; i++) score[i] = (float)acc[i];
    if (cfg->scope == SAL_SCOPE_GLOBAL) {
        CHECK(sal_mask_topk_global(p, score, cfg->density, mask, &err) == SAL_OK);
    } else {
        double *dens = malloc(sizeof(double) * p->ntensors);
        sal_layer_densities_uniform(p, cfg->density, dens);
        CHECK(sal_mask_topk_layers(p, score, dens, mask, &err) == SAL_OK);
        free(dens);
    }
    free(acc), free(score), free(x), free(y), free(ids);
    sal_model_free(m);
}

/* Runs round 0 for the config; returns 1 if the mask matched. Keeps a copy of the mask in keep
 * (rank 0) so that callers can compare variants. */
static void check_mask(const char *ini, const char *what, float *keep) {
    sal_config cfg;
    sal_err err;
    sal_config_defaults(&cfg);
    CHECK(sal_config_load_string(&cfg, ini, what, &err) == SAL_OK);
    CHECK(sal_config_validate(&cfg, &err) == SAL_OK);
    fed f;
    sal_status st = sal_fed_open(&f, &cfg, NULL, &err);
    CHECK_MSG(st == SAL_OK, "%s: open: %s", what, err.msg);
    sal_round row = {0};
    st = sal_fed_mask(&f, &row, &err);
    CHECK_MSG(st == SAL_OK, "%s: mask: %s", what, err.msg);
    const sal_params *p = f.p;
    /* the same mask everywhere: compare a position-sensitive checksum across ranks */
    double sum = 0, lo, hi;
    int zero_ok = 1;
    for (size_t i = 0; i < p->n; i++) {
        sum += (double)(i % 9973 + 1) * p->mask[i];
        if (p->mask[i] == 0.0f && p->w[i] != 0.0f) zero_ok = 0;
    }
    MPI_Allreduce(&sum, &lo, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&sum, &hi, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    CHECK_MSG(lo == hi, "%s: ranks hold different masks", what);
    CHECK_MSG(zero_ok, "%s: rank %d has a nonzero pruned weight", what, rank);
    if (rank == 0) {
        float *ref = malloc(sizeof(float) * p->n);
        reference_mask(&f, ref);
        size_t diff = 0;
        for (size_t i = 0; i < p->n; i++) diff += ref[i] != p->mask[i];
        CHECK_MSG(diff == 0, "%s: %zu mask entries differ from the reference", what, diff);
        uint64_t up = cfg.source == SAL_SOURCE_CLIENTS ? (uint64_t)cfg.clients * p->n * 4 : 0;
        CHECK_MSG(row.bytes_up == up, "%s: round-0 bytes_up %llu, expected %llu", what,
                  (unsigned long long)row.bytes_up, (unsigned long long)up);
        CHECK_MSG(row.bytes_down == (uint64_t)(f.size - 1) * ((p->n + 7) / 8),
                  "%s: round-0 bytes_down %llu", what, (unsigned long long)row.bytes_down);
        if (keep) memcpy(keep, p->mask, sizeof(float) * p->n);
        free(ref);
    }
    sal_fed_close(&f);
}

static void test_sample(void) {
    sal_config cfg;
    sal_config_defaults(&cfg);
    cfg.clients = 37, cfg.sample_fraction = 0.2;
    int a[37], b[37], seen_diff = 0;
    for (int r = 0; r < 20; r++) {
        int m = sal_fed_sample(&cfg, r, a);
        CHECK(m == 7); /* round(0.2 * 37) = round(7.4) */
        for (int j = 0; j < m; j++) {
            CHECK(a[j] >= 0 && a[j] < 37);
            if (j) CHECK(a[j - 1] < a[j]); /* ascending, hence no repeats */
        }
        CHECK(sal_fed_sample(&cfg, r, b) == m && !memcmp(a, b, sizeof(int) * m));
        sal_fed_sample(&cfg, r + 1, b);
        seen_diff |= memcmp(a, b, sizeof(int) * m) != 0;
    }
    CHECK(seen_diff); /* rounds draw different samples */
    cfg.sample_fraction = 0.001;
    CHECK(sal_fed_sample(&cfg, 0, a) == 1); /* at least one client */
    cfg.sample_fraction = 1;
    CHECK(sal_fed_sample(&cfg, 0, a) == 37);
    for (int j = 0; j < 37; j++) CHECK(a[j] == j);
}

#define BASE                                                                                   \
    "[data]\ndataset = synthetic\nsynth_train = 700\nsynth_test = 50\npartition = dirichlet\n"  \
    "alpha = 0.5\nclients = 7\n[model]\narch = mlp\n[train]\nalgorithm = fedavg\nbatch = 16\n"  \
    "[sparsity]\nmethod = snip\ndensity = 0.05\nsaliency_batches = 2\n"

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) test_sample();
    float *weighted = malloc(sizeof(float) * 300000), *mean = malloc(sizeof(float) * 300000);
    check_mask(BASE "aggregate = weighted\n", "weighted", weighted);
    check_mask(BASE "aggregate = mean\n", "mean", mean);
    if (rank == 0) { /* unequal client sizes: the weighting must matter */
        size_t diff = 0;
        for (size_t i = 0; i < 266610; i++) diff += weighted[i] != mean[i];
        CHECK_MSG(diff > 0, "weighted and mean aggregation gave the same mask");
    }
    check_mask(BASE "source = server\n", "source=server", NULL);
    check_mask(BASE "scope = layerwise\n", "layerwise", NULL);
    free(weighted), free(mean);
    int failed = sal_test_fail, any;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    int rc = rank == 0 ? sal_test_done("mpi_fedavg") : 0;
    MPI_Finalize();
    return any ? 1 : rc;
}
