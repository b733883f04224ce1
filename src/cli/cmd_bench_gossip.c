/* cmd_bench_gossip.c - `salient bench gossip`: the time of one gossip averaging step on a graph
 * of the launched ranks, against MPI_Allreduce of the same vector measured in the same run. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "salient/gossip.h"
#include "salient/topo.h"

static const char *usage =
    "usage: mpirun -np P salient bench gossip --graph NAME --n N [--degree D] [--p P]\n"
    "                                 [--seed S] [--reps R] [--warmup W]\n\n"
    "Times one gossip step x <- W x (Metropolis-Hastings weights) on the graph NAME over the P\n"
    "launched ranks (ring, torus, exponential, onepeer-exponential, hypercube, complete, star,\n"
    "random-regular, erdos-renyi; see salient topo --help) for n floats per rank, and\n"
    "MPI_Allreduce (sum) of the\n"
    "same n floats in the same run. Prints the CSV\n"
    "  graph,ranks,n,max_degree,bytes,median_s,allreduce_s,ratio\n"
    "bytes: payload one rank hands to MPI in one step (n x 4 per neighbour), the maximum over\n"
    "ranks; median_s and allreduce_s: median over R calls of the slowest rank's time, each after\n"
    "MPI_Barrier, W untimed calls first; ratio = median_s / allreduce_s.\n";

static int first_rank(void) {
    const char *v = getenv("OMPI_COMM_WORLD_RANK");
    return !v || !strcmp(v, "0");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median over reps of the slowest rank's time of fn. */
typedef sal_status (*step_fn)(void *ctx, sal_err *err);
static sal_status timed(step_fn fn, void *ctx, int warmup, int reps, double *t, double *med,
                        sal_err *err) {
    for (int r = 0; r < warmup + reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        sal_status st = fn(ctx, err);
        if (st) return st;
        double dt = MPI_Wtime() - t0, slowest;
        MPI_Allreduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (r >= warmup) t[r - warmup] = slowest;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    *med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    return SAL_OK;
}

typedef struct ctx {
    sal_gossip *gs;
    float *x, *y;
    size_t n;
    long step;
    sal_comm_stats last;
} ctx;

static sal_status gossip_once(void *p, sal_err *err) {
    ctx *c = p;
    return sal_gossip_step(c->gs, c->x, c->n, c->step++, &c->last, err);
}

static sal_status allreduce_once(void *p, sal_err *err) {
    ctx *c = p;
    if (MPI_Allreduce(c->x, c->y, (int)c->n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
        return sal_fail(err, SAL_EMPI, "MPI_Allreduce failed");
    return SAL_OK;
}

static int parse_long(const char *flag, const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        if (first_rank())
            fprintf(stderr, "salient bench gossip: %s '%s': expected an integer in [%ld, %ld]\n",
                    flag, s, lo, hi);
        return 2;
    }
    *out = v;
    return 0;
}

int sal_bench_gossip(int argc, char **argv) {
    const char *graph = NULL;
    long n = 0, reps = 20, warmup = 3, degree = 3, seed = 1;
    double p = 0.5;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (first_rank()) fputs(usage, stdout);
            return 0;
        }
        if (i + 1 >= argc || strncmp(argv[i], "--", 2)) {
            if (first_rank())
                fprintf(stderr, "salient bench gossip: bad argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
        const char *f = argv[i], *v = argv[++i];
        int rc = 0;
        if (!strcmp(f, "--graph"))
            graph = v;
        else if (!strcmp(f, "--n"))
            rc = parse_long(f, v, 1, 1L << 30, &n);
        else if (!strcmp(f, "--reps"))
            rc = parse_long(f, v, 1, 100000, &reps);
        else if (!strcmp(f, "--warmup"))
            rc = parse_long(f, v, 0, 100000, &warmup);
        else if (!strcmp(f, "--degree"))
            rc = parse_long(f, v, 1, 1 << 20, &degree);
        else if (!strcmp(f, "--seed"))
            rc = parse_long(f, v, 0, 1L << 62, &seed);
        else if (!strcmp(f, "--p"))
            p = atof(v);
        else {
            if (first_rank()) fprintf(stderr, "salient bench gossip: unknown option '%s'\n", f);
            return 2;
        }
        if (rc) return rc;
    }
    if (!graph || n < 1) {
        if (first_rank())
            fprintf(stderr, "salient bench gossip: --graph and --n are required (see --help)\n");
        return 2;
    }
    sal_err err;
    sal_graph_spec spec = {
        .degree = (int)degree, .p = p, .seed = (uint64_t)seed, .weights = SAL_WEIGHTS_MH};
    sal_status st = sal_graph_kind_parse(graph, &spec.kind, &err);
    if (st) {
        if (first_rank()) fprintf(stderr, "salient bench gossip: %s\n", err.msg);
        return 2;
    }
    int rc = sal_cli_mpi_init("bench gossip", NULL, NULL);
    if (rc) return rc;
    int rank, P;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    spec.nodes = P;
    sal_graph g;
    memset(&g, 0, sizeof g);
    ctx c = {.n = (size_t)n};
    double *t = malloc(sizeof(double) * (size_t)reps), tg = 0, ta = 0;
    c.x = malloc(sizeof(float) * (size_t)n), c.y = malloc(sizeof(float) * (size_t)n);
    if (!t || !c.x || !c.y) {
        st = sal_fail(&err, SAL_ENOMEM, "out of memory for %ld floats", n);
    } else {
        for (long i = 0; i < n; i++) c.x[i] = (float)(rank + 1), c.y[i] = 0; /* warm pages */
        st = sal_graph_build(&spec, &g, &err);
        if (!st) st = sal_graph_verify(&g, 1e-9, &err);
        if (!st) st = sal_gossip_create(&g, MPI_COMM_WORLD, &c.gs, &err);
        if (!st) st = timed(gossip_once, &c, (int)warmup, (int)reps, t, &tg, &err);
        if (!st) st = timed(allreduce_once, &c, (int)warmup, (int)reps, t, &ta, &err);
    }
    double bytes = (double)c.last.bytes_sent, max_bytes = 0;
    MPI_Allreduce(&bytes, &max_bytes, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    int maxdeg = 0;
    for (int i = 0; !st && i < g.n; i++) {
        int d = (int)(g.offset[i + 1] - g.offset[i]);
        maxdeg = d > maxdeg ? d : maxdeg;
    }
    if (st) {
        if (rank == 0) fprintf(stderr, "salient bench gossip: %s\n", err.msg);
    } else if (rank == 0) {
        printf("graph,ranks,n,max_degree,bytes,median_s,allreduce_s,ratio\n");
        printf("%s,%d,%ld,%d,%.0f,%.9g,%.9g,%.3f\n", graph, P, n, g.period ? 1 : maxdeg, max_bytes,
               tg, ta, ta > 0 ? tg / ta : 0.0);
    }
    sal_gossip_free(c.gs);
    sal_graph_free(&g);
    free(t), free(c.x), free(c.y);
    MPI_Finalize();
    return st ? 2 : 0;
}
