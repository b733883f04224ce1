/* mpi_gossip.c - run under mpirun (test-ranks: 1 2 3 4 8). Gossip on every graph valid at N = P
 * ranks: each step equals the serial W x (dense and masked), bytes are what was sent, the mean
 * is kept, and the deviation from it shrinks as the spectral gap says: at most |lambda2|^t times
 * the initial one, and (on graphs with a slow mode) not much faster. The one-peer exponential
 * graph reaches the exact mean after log2 N steps. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/gossip.h"
#include "salient/rng.h"

#define DIM 1000
#define STEPS 40

static int rank, size;

/* Node i's start: its own stream plus an offset i, so nodes disagree and the mean is not 0. */
static void start(int node, float *x) {
    sal_rng r;
    sal_rng_seed(&r, 11, SAL_STREAM_SYNTH, (uint64_t)node);
    for (int c = 0; c < DIM; c++) x[c] = (float)(sal_rng_normal(&r) + node);
}

/* sqrt of sum over nodes of ||x_i - mean||^2 */
static double deviation(const float *x, const double *mean) {
    double s = 0, all;
    for (int c = 0; c < DIM; c++) s += (x[c] - mean[c]) * (x[c] - mean[c]);
    MPI_Allreduce(&s, &all, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return sqrt(all);
}

static void run_graph(sal_graph_spec s, const float *mask) {
    sal_graph g;
    sal_err err;
    sal_status st = sal_graph_build(&s, &g, &err);
    for (; st && s.kind >= SAL_GRAPH_REGULAR && s.seed < 100; s.seed++)
        st = sal_graph_build(&s, &g, &err);
    if (st) return; /* not valid at this N (torus at a prime, hypercube at 3): see mpi_topo */
    sal_gossip *gs;
    CHECK_MSG(sal_gossip_create(&g, MPI_COMM_WORLD, &gs, &err) == SAL_OK, "%s", err.msg);
    double *ev = malloc(sizeof(double) * size);
    CHECK(sal_graph_eigenvalues(&g, MPI_COMM_WORLD, ev, NULL, &err) == SAL_OK);
    double l2 = fabs(sal_spectrum_lambda2(ev, size));
    /* every rank holds every node's start and mixes it serially in double: the reference */
    size_t nn = (size_t)size * DIM;
    double *ref = malloc(sizeof(double) * nn), *tmp = malloc(sizeof(double) * nn);
    double *mean = calloc(DIM, sizeof(double)), dev[STEPS + 1], x0 = 0;
    float *x = malloc(sizeof(float) * DIM), *row = malloc(sizeof(float) * DIM);
    size_t nnz = DIM;
    if (mask) nnz = 0;
    for (int c = 0; mask && c < DIM; c++) nnz += mask[c] != 0;
    for (int i = 0; i < size; i++) {
        start(i, row);
        for (int c = 0; c < DIM; c++) {
            float v = mask && !mask[c] ? 0.0f : row[c];
            ref[(size_t)i * DIM + c] = v, mean[c] += (double)v / size, x0 = fmax(x0, fabs(v));
            if (i == rank) x[c] = v;
        }
    }
    dev[0] = deviation(x, mean);
    double worst = 0;
    int bytes_ok = 1, zero_ok = 1, deg = sal_graph_degree(&g, rank);
    for (int t = 0; t < STEPS; t++) {
        sal_comm_stats last;
        st = mask ? sal_gossip_step_masked(gs, x, mask, DIM, t, &last, &err)
                  : sal_gossip_step(gs, x, DIM, t, &last, &err);
        CHECK_MSG(st == SAL_OK, "%s: %s", g.name, err.msg);
        uint64_t want = g.period ? (size > 1 ? 4 * nnz : 0) : 4 * nnz * (uint64_t)deg;
        bytes_ok &= last.bytes_sent == want && last.bytes_recv == want && last.calls == 1 &&
                    last.seconds >= 0;
        sal_graph_mix(&g, t, ref, DIM, tmp);
        memcpy(ref, tmp, sizeof(double) * nn);
        for (int c = 0; c < DIM; c++) {
            worst = fmax(worst, fabs(x[c] - ref[(size_t)rank * DIM + c]));
            if (mask && !mask[c]) zero_ok &= x[c] == 0.0f;
        }
        dev[t + 1] = deviation(x, mean);
    }
    double all_worst;
    MPI_Allreduce(&worst, &all_worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    CHECK_MSG(all_worst < 1e-5 * (1 + x0), "%s: gossip differs from W x by %g", g.name, all_worst);
    CHECK_MSG(bytes_ok, "%s: byte counts", g.name);
    CHECK_MSG(zero_ok, "%s: entries outside the mask are not exactly 0", g.name);
    /* float rounding floor of the deviation */
    double floor_dev = 4e-7 * x0 * sqrt((double)nn);
    if (g.period) {
        /* pairwise averaging over a whole period gives the exact mean */
        CHECK_MSG(dev[g.period] <= floor_dev, "%s: deviation %g after %d steps", g.name,
                  dev[g.period], g.period);
        if (rank == 0)
            printf("mpi_gossip: %-38s %s deviation %.1e -> %.1e after %d steps (exact mean)\n",
                   g.name, mask ? "masked" : "dense ", dev[0], dev[g.period], g.period);
    } else {
        /* symmetric W: the mean-zero part contracts by |lambda2| per step, at most */
        int bound_ok = 1, last = 0;
        for (int t = 0; t <= STEPS; t++) {
            bound_ok &= dev[t] <= pow(l2, t) * dev[0] * (1 + 1e-6) + floor_dev;
            if (dev[t] > 100 * floor_dev) last = t;
        }
        CHECK_MSG(bound_ok, "%s: deviation above |lambda2|^t", g.name);
        /* and no faster than that where the slow mode dominates (random start: nonzero weight
         * on lambda2's eigenvector) */
        double rate = last >= 10 ? pow(dev[last] / dev[last / 2], 1.0 / (last - last / 2)) : 0;
        if (last >= 10 && l2 > 0.2)
            CHECK_MSG(rate >= 0.95 * l2, "%s: rate %g, |lambda2| %g", g.name, rate, l2);
        if (rank == 0 && last >= 10)
            printf("mpi_gossip: %-36s %-7s %s |lambda2| %.4f, measured rate %.4f (steps %d..%d), "
                   "dev_t/dev_0 at t=%d: %.2e <= %.2e\n",
                   g.name, s.weights ? "uniform" : "mh", mask ? "masked" : "dense ", l2, rate,
                   last / 2, last, last, dev[last] / dev[0], pow(l2, last));
        else if (rank == 0)
            printf("mpi_gossip: %-36s %-7s %s |lambda2| %.4f, dev_t/dev_0 %.1e at t=%d: too "
                   "fast to measure a rate above float rounding\n",
                   g.name, s.weights ? "uniform" : "mh", mask ? "masked" : "dense ", l2,
                   dev[last + 1] / dev[0], last + 1);
    }
    free(ev), free(ref), free(tmp), free(mean), free(x), free(row);
    sal_gossip_free(gs);
    sal_graph_free(&g);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* the same 30%-dense mask on every rank, as after SSFL's mask broadcast */
    float *mask = malloc(sizeof(float) * DIM);
    sal_rng r;
    sal_rng_seed(&r, 5, SAL_STREAM_MASK, 0);
    for (int c = 0; c < DIM; c++) mask[c] = sal_rng_uniform(&r) < 0.3;
    for (int k = SAL_GRAPH_RING; k <= SAL_GRAPH_ERDOS_RENYI; k++) {
        sal_graph_spec s = {k, size, size > 3 ? 3 - (size % 2) : size - 1, 0.6, 1, SAL_WEIGHTS_MH};
        if (k == SAL_GRAPH_COMPLETE) s.weights = SAL_WEIGHTS_UNIFORM;
        run_graph(s, NULL);
        run_graph(s, mask);
    }
    /* uniform weights differ from MH on an irregular graph */
    run_graph((sal_graph_spec){SAL_GRAPH_ERDOS_RENYI, size, 0, 0.6, 1, SAL_WEIGHTS_UNIFORM}, NULL);
    free(mask);
    int fails = sal_test_fail, total;
    MPI_Allreduce(&fails, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int rc = rank == 0 ? sal_test_done("mpi_gossip") : 0;
    MPI_Finalize();
    return total ? 1 : rc;
}
