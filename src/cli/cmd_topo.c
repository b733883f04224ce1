/* cmd_topo.c - `salient topo`: build a gossip graph, check its mixing matrix, print its degrees,
 * diameter and spectral gap (ScaLAPACK over the launched ranks, LAPACK on one). Rank 0 prints. */
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "salient/topo.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: salient topo --graph NAME --nodes N [--degree D] [--p P] [--seed S]\n"
        "                    [--weights mh|uniform]\n"
        "\n"
        "Builds a gossip graph and its mixing matrix W, checks that W is symmetric, doubly\n"
        "stochastic and the graph connected, and prints one \"key: value\" per line: graph,\n"
        "weights, nodes, edges, min_degree, max_degree, diameter, lambda2 (the eigenvalue of W of\n"
        "largest modulus after the top one, 1, with its sign), spectral_gap (1 - |lambda2|),\n"
        "lambda_min, and how the spectrum was computed. Under `mpirun -np P` the eigenvalues come\n"
        "from ScaLAPACK pdsyev on a near-square grid of the P ranks; one rank uses LAPACK dsyev.\n"
        "\n"
        "graphs:\n"
        "  ring                 i ~ i+-1 (mod N)\n"
        "  torus                R x C with wrap-around, R the largest divisor of N <= sqrt(N);\n"
        "                       N must be composite (a prime N would only give a 1 x N ring)\n"
        "  exponential          i ~ i+-2^k (mod N), k = 0..floor(log2(N-1))\n"
        "  onepeer-exponential  N = 2^k, time-varying: at step t node i averages with\n"
        "                       i XOR 2^(t mod k) at weight 1/2. Reports the union graph, lambda2\n"
        "                       of the period-average W, and period_lambda2, the contraction of\n"
        "                       the product over one period (0: exact average after k steps)\n"
        "  hypercube            i ~ i XOR 2^k; N a power of two\n"
        "  complete, star       (the star's hub is node 0)\n"
        "  random-regular       --degree D, N*D even (Steger-Wormald pairing, --seed)\n"
        "  erdos-renyi          --p P, each edge independently (--seed)\n"
        "\n"
        "options:\n"
        "  --graph NAME     one of the graphs above (required)\n"
        "  --nodes N        number of nodes, 1..1048576 (required)\n"
        "  --degree D       random-regular: the degree of every node\n"
        "  --p P            erdos-renyi: edge probability in [0, 1]\n"
        "  --seed S         random graphs: seed (default 1)\n"
        "  --weights W      mh: Metropolis-Hastings, W_ij = 1/(1+max(d_i,d_j)) (default);\n"
        "                   uniform: W_ij = 1/(d_max+1) on every edge; W_ii = 1 - row sum\n"
        "  --help           this text\n"
        "\n"
        "Exit status: 0 success, 2 bad arguments or a graph that fails a check.\n");
}

typedef struct topo_args {
    sal_graph_spec spec;
    int have_graph, have_nodes, have_degree, have_p, help;
} topo_args;

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out, sal_err *err) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        sal_fail(err, SAL_ECONFIG, "%s: '%s' is not an integer in [%ld, %ld]", opt, v, lo, hi);
        return 0;
    }
    *out = x;
    return 1;
}

/* Returns 0 on success, else fills err. Accepts "--opt value" and "--opt=value". */
static int parse(int argc, char **argv, topo_args *a, sal_err *err) {
    memset(a, 0, sizeof *a);
    a->spec.seed = 1;
    a->spec.weights = SAL_WEIGHTS_MH;
    for (int i = 0; i < argc; i++) {
        char opt[32];
        const char *arg = argv[i], *eq = strchr(arg, '='), *v;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            a->help = 1;
            continue;
        }
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (strncmp(arg, "--", 2) || len >= sizeof opt) {
            sal_fail(err, SAL_ECONFIG, "unexpected argument '%s' (see salient topo --help)", arg);
            return 1;
        }
        memcpy(opt, arg, len), opt[len] = 0;
        static const char *known[] = {"--graph", "--nodes", "--degree",
                                      "--p",     "--seed",  "--weights"};
        int k = 0;
        while (k < 6 && strcmp(opt, known[k])) k++;
        if (k == 6) {
            sal_fail(err, SAL_ECONFIG, "unknown option '%s' (see salient topo --help)", opt);
            return 1;
        }
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else {
            sal_fail(err, SAL_ECONFIG, "%s needs a value (see salient topo --help)", opt);
            return 1;
        }
        long x;
        switch (k) {
        case 0:
            if (sal_graph_kind_parse(v, &a->spec.kind, err)) return 1;
            a->have_graph = 1;
            break;
        case 1:
            if (!parse_long(opt, v, 1, 1L << 20, &x, err)) return 1;
            a->spec.nodes = (int)x, a->have_nodes = 1;
            break;
        case 2:
            if (!parse_long(opt, v, 0, 1L << 20, &x, err)) return 1;
            a->spec.degree = (int)x, a->have_degree = 1;
            break;
        case 3: {
            char *end;
            a->spec.p = strtod(v, &end);
            if (end == v || *end || !(a->spec.p >= 0 && a->spec.p <= 1)) {
                sal_fail(err, SAL_ECONFIG, "--p: '%s' is not a probability in [0, 1]", v);
                return 1;
            }
            a->have_p = 1;
            break;
        }
        case 4: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-') {
                sal_fail(err, SAL_ECONFIG, "--seed: '%s' is not a non-negative integer", v);
                return 1;
            }
            a->spec.seed = s;
            break;
        }
        default:
            if (!strcmp(v, "mh"))
                a->spec.weights = SAL_WEIGHTS_MH;
            else if (!strcmp(v, "uniform"))
                a->spec.weights = SAL_WEIGHTS_UNIFORM;
            else {
                sal_fail(err, SAL_ECONFIG, "--weights: '%s' is not mh or uniform", v);
                return 1;
            }
        }
    }
    if (a->help) return 0;
    if (!a->have_graph)
        return sal_fail(err, SAL_ECONFIG, "--graph is required (graphs: %s)",
                        sal_graph_kind_list()),
               1;
    if (!a->have_nodes) return sal_fail(err, SAL_ECONFIG, "--nodes is required"), 1;
    if (a->spec.kind == SAL_GRAPH_REGULAR && !a->have_degree)
        return sal_fail(err, SAL_ECONFIG, "random-regular needs --degree D"), 1;
    if (a->spec.kind == SAL_GRAPH_ERDOS_RENYI && !a->have_p)
        return sal_fail(err, SAL_ECONFIG, "erdos-renyi needs --p P"), 1;
    return 0;
}

/* Everything after argument parsing; collective over MPI_COMM_WORLD. */
static sal_status report(const sal_graph_spec *spec, int rank, int size, sal_err *err) {
    sal_graph g;
    sal_status st = sal_graph_build(spec, &g, err);
    if (st) return st;
    int n = g.n, dmin = n > 0 ? sal_graph_degree(&g, 0) : 0, dmax = dmin;
    for (int i = 1; i < n; i++) {
        int d = sal_graph_degree(&g, i);
        dmin = d < dmin ? d : dmin, dmax = d > dmax ? d : dmax;
    }
    /* the diameter's BFS sources are split over the ranks */
    int ecc = sal_graph_eccentricity_max(&g, rank, size), lo, diameter;
    MPI_Allreduce(&ecc, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&ecc, &diameter, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    double *ev = malloc(sizeof(double) * (size_t)n);
    sal_spectrum_info info;
    int ok = ev != NULL, all_ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (lo < 0 || !all_ok) st = sal_fail(err, SAL_ENOMEM, "%s: out of memory", g.name);
    if (!st) st = sal_graph_eigenvalues(&g, MPI_COMM_WORLD, ev, &info, err);
    if (!st && rank == 0) {
        double l2 = sal_spectrum_lambda2(ev, n);
        printf("graph: %s\n", g.name);
        printf("weights: %s\n", g.period ? "pairwise-1/2 per step (period average shown)"
                                : g.weights == SAL_WEIGHTS_MH ? "metropolis-hastings"
                                                              : "uniform");
        printf("nodes: %d\nedges: %lld\n", n, (long long)sal_graph_edges(&g));
        printf("min_degree: %d\nmax_degree: %d\n", dmin, dmax);
        printf("diameter: %d\n", diameter);
        printf("lambda2: %.15g\n", l2);
        printf("spectral_gap: %.15g\n", 1.0 - fabs(l2));
        printf("lambda_min: %.15g\n", ev[0]);
        if (g.period) {
            printf("period: %d\n", g.period);
            printf("period_lambda2: %.3g\n", sal_graph_period_lambda2(&g, 20));
        }
        if (size == 1)
            printf("eigensolver: lapack dsyev\n");
        else
            printf("eigensolver: scalapack pdsyev (%dx%d grid, block %d)\n", info.nprow, info.npcol,
                   info.nb);
        printf("eigensolver_seconds: %.3f\n", info.seconds);
    }
    free(ev);
    sal_graph_free(&g);
    return st;
}

int sal_cmd_topo(int argc, char **argv) {
    int rc = sal_cli_mpi_init("topo", NULL, NULL);
    if (rc) return rc;
    int rank, size, code = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    topo_args a;
    sal_err err = {{0}};
    /* every rank parses and builds the same graph, so every rank reaches the same verdict and
     * only rank 0 needs to say it */
    if (parse(argc, argv, &a, &err)) {
        if (rank == 0) fprintf(stderr, "salient topo: %s\n", err.msg);
        code = 2;
    } else if (a.help) {
        if (rank == 0) usage(stdout);
    } else {
        sal_status st = report(&a.spec, rank, size, &err);
        if (st && rank == 0) fprintf(stderr, "salient topo: %s\n", err.msg);
        code = sal_status_exit_code(st);
    }
    fflush(stdout);
    MPI_Finalize();
    return code;
}
