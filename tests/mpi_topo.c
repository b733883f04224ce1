/* mpi_topo.c - run under mpirun (test-ranks: 1 2 3 4 8). Every graph at several N: degrees, edge
 * counts, diameters, symmetric doubly stochastic W and connectivity, re-derived here from the
 * definitions; the errors for impossible graphs; dist-graph neighbours equal the graph's; the
 * spectrum (LAPACK on 1 rank, ScaLAPACK on P) against closed forms for ring, torus, hypercube
 * and complete graphs, and ScaLAPACK against LAPACK. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/topo.h"

static int rank, size;

static sal_graph_spec spec(sal_graph_kind k, int n, sal_weights_kind w) {
    sal_graph_spec s = {k, n, 0, 0.0, 1, w};
    return s;
}

static int is_pow2(int n) {
    return n > 0 && !(n & (n - 1));
}
static int ilog2(int n) {
    int k = 0;
    while ((1 << (k + 1)) <= n) k++;
    return k;
}
static int torus_rows(int n) {
    int r = 0;
    for (int d = 2; d * d <= n; d++)
        if (n % d == 0) r = d;
    return r;
}
static int cycle_degree(int m) {
    return m >= 3 ? 2 : m - 1;
}

/* Properties every built graph must have, checked without the library's own verify: sorted
 * rows without self loops or repeats, a symmetric adjacency and W, rows of W summing to 1,
 * non-negative entries, and connectivity by a plain BFS. */
static void check_structure(const sal_graph *g) {
    int n = g->n, bad_rows = 0, bad_sym = 0, bad_w = 0;
    for (int i = 0; i < n; i++) {
        double sum = g->self[i];
        if (g->self[i] < 0) bad_w++;
        for (int64_t k = g->offset[i]; k < g->offset[i + 1]; k++) {
            int j = g->adj[k];
            if (j == i || j < 0 || j >= n || (k > g->offset[i] && g->adj[k - 1] >= j)) bad_rows++;
            int found = 0;
            for (int64_t q = g->offset[j]; q < g->offset[j + 1]; q++)
                if (g->adj[q] == i) found = 1, bad_w += fabs(g->w[q] - g->w[k]) > 1e-15;
            bad_sym += !found;
            if (g->w[k] < 0) bad_w++;
            sum += g->w[k];
        }
        if (fabs(sum - 1) > 1e-12) bad_w++;
    }
    CHECK_MSG(!bad_rows && !bad_sym && !bad_w, "%s: %d bad rows, %d asymmetric, %d bad W", g->name,
              bad_rows, bad_sym, bad_w);
    int *seen = calloc((size_t)n, sizeof(int)), *queue = malloc(sizeof(int) * (size_t)n), head = 0,
        tail = 1;
    seen[0] = 1, queue[0] = 0;
    while (head < tail) {
        int u = queue[head++];
        for (int64_t k = g->offset[u]; k < g->offset[u + 1]; k++)
            if (!seen[g->adj[k]]) seen[g->adj[k]] = 1, queue[tail++] = g->adj[k];
    }
    CHECK_MSG(tail == n, "%s: only %d of %d nodes reachable", g->name, tail, n);
    free(seen), free(queue);
}

static void check_degrees(const sal_graph *g, int lo, int hi) {
    int bad = 0;
    for (int i = 0; i < g->n; i++)
        bad += sal_graph_degree(g, i) < lo || sal_graph_degree(g, i) > hi;
    CHECK_MSG(!bad, "%s: %d nodes with degree outside [%d, %d]", g->name, bad, lo, hi);
}

/* Degree, edge count and diameter from each graph's definition. */
static void check_deterministic(void) {
    static const int ns[] = {1, 2, 3, 4, 5, 8, 9, 12, 16, 31, 32, 64};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        int n = ns[t];
        for (int wk = 0; wk < 2; wk++) {
            for (int k = SAL_GRAPH_RING; k <= SAL_GRAPH_STAR; k++) {
                sal_graph g;
                sal_err err;
                int valid =
                    !((k == SAL_GRAPH_HYPERCUBE || k == SAL_GRAPH_ONEPEER_EXP) && !is_pow2(n)) &&
                    !(k == SAL_GRAPH_TORUS && !torus_rows(n));
                sal_status st = sal_graph_build(&(sal_graph_spec){k, n, 0, 0, 1, wk}, &g, &err);
                CHECK_MSG(valid ? st == SAL_OK : st == SAL_ECONFIG, "%s N=%d: %s",
                          sal_graph_kind_name(k), n, st ? err.msg : "built");
                if (st) continue;
                check_structure(&g);
                int diam = sal_graph_eccentricity_max(&g, 0, 1);
                if (k == SAL_GRAPH_RING) {
                    check_degrees(&g, cycle_degree(n), cycle_degree(n));
                    CHECK(sal_graph_edges(&g) == (n >= 3 ? n : n - 1));
                    CHECK(diam == n / 2);
                } else if (k == SAL_GRAPH_TORUS) {
                    int r = torus_rows(n), c = n / r, d = cycle_degree(r) + cycle_degree(c);
                    check_degrees(&g, d, d);
                    CHECK(sal_graph_edges(&g) == (int64_t)n * d / 2);
                    CHECK_MSG(diam == r / 2 + c / 2, "%s: diameter %d", g.name, diam);
                } else if (k == SAL_GRAPH_EXP) {
                    /* distinct offsets +-2^k (mod n), 2^k <= n-1, other than 0 */
                    char *off = calloc((size_t)n, 1);
                    int d = 0;
                    for (long h = 1; h <= n - 1; h *= 2) off[h % n] = off[(n - h % n) % n] = 1;
                    for (int i = 1; i < n; i++) d += off[i];
                    check_degrees(&g, d, d);
                    free(off);
                } else if (k == SAL_GRAPH_ONEPEER_EXP || k == SAL_GRAPH_HYPERCUBE) {
                    check_degrees(&g, ilog2(n), ilog2(n));
                    CHECK(diam == ilog2(n));
                    CHECK(g.period == (k == SAL_GRAPH_HYPERCUBE ? 0 : n > 1 ? ilog2(n) : 1));
                } else if (k == SAL_GRAPH_COMPLETE) {
                    check_degrees(&g, n - 1, n - 1);
                    CHECK(diam == (n > 1));
                } else if (k == SAL_GRAPH_STAR) {
                    CHECK(sal_graph_degree(&g, 0) == n - 1);
                    if (n > 1) check_degrees(&g, 1, n - 1);
                    CHECK(diam == (n > 2 ? 2 : n - 1));
                }
                /* uniform weights: one constant on every edge */
                if (wk == SAL_WEIGHTS_UNIFORM && !g.period && g.offset[n] > 0) {
                    int dmax = 0;
                    for (int i = 0; i < n; i++)
                        dmax = sal_graph_degree(&g, i) > dmax ? sal_graph_degree(&g, i) : dmax;
                    CHECK_CLOSE(g.w[0], 1.0 / (dmax + 1), 1e-15, 0);
                    CHECK_CLOSE(g.w[g.offset[n] - 1], 1.0 / (dmax + 1), 1e-15, 0);
                }
                sal_graph_free(&g);
            }
        }
    }
    /* MH on the star: hub-leaf edges 1/N, so the hub keeps 1/N and each leaf 1 - 1/N */
    sal_graph g;
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_STAR, 10, 0, 0, 1, SAL_WEIGHTS_MH}, &g,
                          NULL) == SAL_OK);
    CHECK_CLOSE(sal_graph_weight(&g, 0, 3), 0.1, 1e-15, 0);
    CHECK_CLOSE(g.self[0], 0.1, 1e-15, 0);
    CHECK_CLOSE(g.self[5], 0.9, 1e-15, 0);
    CHECK(sal_graph_weight(&g, 2, 3) == 0.0);
    sal_graph_free(&g);
}

static void check_random(void) {
    sal_graph a, b;
    sal_err err;
    /* d-regular, including the complement path (d > (N-1)/2) and a large sparse case */
    static const int rd[][2] = {{8, 3}, {10, 7}, {16, 4}, {20, 19}, {1000, 6}, {64, 2}};
    for (size_t t = 0; t < sizeof rd / sizeof *rd; t++) {
        int seed = 1;
        sal_status st;
        /* a 2-regular graph is a union of cycles, usually disconnected: find a connected one */
        while ((st = sal_graph_build(&(sal_graph_spec){SAL_GRAPH_REGULAR, rd[t][0], rd[t][1], 0,
                                                       (uint64_t)seed, SAL_WEIGHTS_MH},
                                     &a, &err)) &&
               seed < 200)
            seed++;
        CHECK_MSG(st == SAL_OK, "regular N=%d d=%d: %s", rd[t][0], rd[t][1], err.msg);
        if (st) continue;
        check_structure(&a);
        check_degrees(&a, rd[t][1], rd[t][1]);
        sal_graph_free(&a);
    }
    /* seeded: the same seed gives the same graph, another seed another one */
    sal_graph_spec s = {SAL_GRAPH_REGULAR, 50, 4, 0, 7, SAL_WEIGHTS_MH};
    CHECK(sal_graph_build(&s, &a, NULL) == SAL_OK);
    CHECK(sal_graph_build(&s, &b, NULL) == SAL_OK);
    CHECK(a.offset[50] == b.offset[50] && !memcmp(a.adj, b.adj, sizeof(int) * a.offset[50]));
    sal_graph_free(&b);
    s.seed = 8;
    CHECK(sal_graph_build(&s, &b, NULL) == SAL_OK);
    CHECK(memcmp(a.adj, b.adj, sizeof(int) * a.offset[50]) != 0);
    sal_graph_free(&a), sal_graph_free(&b);

    /* G(N, p): mean degree p(N-1) within 4 standard errors, seeded, p = 1 is complete */
    s = (sal_graph_spec){SAL_GRAPH_ERDOS_RENYI, 400, 0, 0.1, 3, SAL_WEIGHTS_MH};
    CHECK(sal_graph_build(&s, &a, NULL) == SAL_OK);
    check_structure(&a);
    double mean = 2.0 * sal_graph_edges(&a) / 400, sd = sqrt(0.1 * 0.9 * 399 / 400.0 * 2);
    CHECK_MSG(fabs(mean - 39.9) < 4 * sd, "erdos-renyi mean degree %g", mean);
    CHECK(sal_graph_build(&s, &b, NULL) == SAL_OK);
    CHECK(a.offset[400] == b.offset[400] && !memcmp(a.adj, b.adj, sizeof(int) * a.offset[400]));
    sal_graph_free(&a), sal_graph_free(&b);
    s.p = 1.0, s.nodes = 30;
    CHECK(sal_graph_build(&s, &a, NULL) == SAL_OK);
    check_degrees(&a, 29, 29);
    sal_graph_free(&a);
}

static void check_errors(void) {
    sal_graph g;
    sal_err err;
    sal_graph_kind k;
    CHECK(sal_graph_kind_parse("ringg", &k, &err) == SAL_ECONFIG && strstr(err.msg, "erdos-renyi"));
    CHECK(sal_graph_kind_parse("onepeer-exponential", &k, &err) == SAL_OK &&
          k == SAL_GRAPH_ONEPEER_EXP);
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_HYPERCUBE, 12, 0, 0, 1, 0}, &g, &err) ==
          SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "hypercube(N=12)") && strstr(err.msg, "power of two"), "%s", err.msg);
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_TORUS, 7, 0, 0, 1, 0}, &g, &err) ==
          SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "prime"), "%s", err.msg);
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_REGULAR, 5, 3, 0, 1, 0}, &g, &err) ==
          SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "odd"), "%s", err.msg);
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_REGULAR, 5, 5, 0, 1, 0}, &g, &err) ==
          SAL_ECONFIG);
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_ERDOS_RENYI, 16, 0, 1.5, 1, 0}, &g, &err) ==
          SAL_ECONFIG);
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_RING, 0, 0, 0, 1, 0}, &g, &err) ==
          SAL_ECONFIG);
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_ERDOS_RENYI, 16, 0, 0.05, 1, 0}, &g, &err) ==
          SAL_ECONFIG);
    CHECK_MSG(!strcmp(err.msg,
                      "erdos-renyi(N=16, p=0.05, seed=1) is not connected; raise p or change seed"),
              "%s", err.msg);
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_REGULAR, 8, 1, 0, 1, 0}, &g, &err) ==
          SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "not connected") && strstr(err.msg, "seed=1"), "%s", err.msg);
    /* verify catches a broken W */
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_RING, 8, 0, 0, 1, 0}, &g, &err) == SAL_OK);
    g.w[0] += 0.01;
    CHECK(sal_graph_verify(&g, 1e-12, &err) == SAL_ECONFIG && strstr(err.msg, "not symmetric"));
    g.w[0] -= 0.01, g.self[3] += 0.01;
    CHECK(sal_graph_verify(&g, 1e-12, &err) == SAL_ECONFIG && strstr(err.msg, "doubly stochastic"));
    sal_graph_free(&g);
}

/* The dist-graph communicator's neighbours are the CSR row, in order, for every graph valid on
 * this many ranks. */
static void check_dist_comm(void) {
    for (int k = SAL_GRAPH_RING; k <= SAL_GRAPH_ERDOS_RENYI; k++) {
        sal_graph_spec s = spec(k, size, SAL_WEIGHTS_MH);
        s.degree = size > 3 ? 3 - (size % 2) : size - 1; /* N*d even, d <= N-1 */
        s.p = 0.6;
        sal_graph g;
        sal_err err;
        sal_status st = sal_graph_build(&s, &g, &err);
        for (; st && k >= SAL_GRAPH_REGULAR && s.seed < 100; s.seed++)
            st = sal_graph_build(&s, &g, &err);
        if (st) continue; /* torus/hypercube not valid at this N: covered in check_errors */
        MPI_Comm dc;
        CHECK_MSG(sal_graph_dist_comm(&g, MPI_COMM_WORLD, &dc, &err) == SAL_OK, "%s", err.msg);
        int indeg, outdeg, weighted, r, deg = sal_graph_degree(&g, rank);
        MPI_Comm_rank(dc, &r);
        MPI_Dist_graph_neighbors_count(dc, &indeg, &outdeg, &weighted);
        CHECK_MSG(r == rank && indeg == deg && outdeg == deg, "%s: rank %d degree %d/%d vs %d",
                  g.name, rank, indeg, outdeg, deg);
        int *src = malloc(sizeof(int) * (deg + 1)), *dst = malloc(sizeof(int) * (deg + 1));
        int *sw = malloc(sizeof(int) * (deg + 1)), *dw = malloc(sizeof(int) * (deg + 1));
        CHECK(!weighted);
        /* weight arrays, not MPI_UNWEIGHTED: GCC 12 flags the sentinel as a size-0 array, and
         * an unweighted graph leaves them untouched anyway */
        MPI_Dist_graph_neighbors(dc, deg, src, sw, deg, dst, dw);
        int same = 1;
        for (int i = 0; i < deg; i++)
            same &= src[i] == g.adj[g.offset[rank] + i] && dst[i] == src[i];
        CHECK_MSG(same, "%s: rank %d neighbours differ from the graph", g.name, rank);
        free(src), free(dst), free(sw), free(dw);
        MPI_Comm_free(&dc);
        sal_graph_free(&g);
    }
    sal_graph g;
    sal_err err;
    MPI_Comm dc;
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_RING, size + 1, 0, 0, 1, 0}, &g, NULL) ==
          SAL_OK);
    CHECK(sal_graph_dist_comm(&g, MPI_COMM_WORLD, &dc, &err) == SAL_ECONFIG &&
          strstr(err.msg, "ranks"));
    sal_graph_free(&g);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Spectrum on all ranks (ScaLAPACK when P > 1) against the sorted closed form expect (n). */
static void check_spectrum(sal_graph_spec s, double *expect, const char *what) {
    sal_graph g;
    sal_err err;
    CHECK(sal_graph_build(&s, &g, &err) == SAL_OK);
    int n = g.n;
    double *ev = malloc(sizeof(double) * n), worst = 0;
    sal_spectrum_info info;
    CHECK_MSG(sal_graph_eigenvalues(&g, MPI_COMM_WORLD, ev, &info, &err) == SAL_OK, "%s", err.msg);
    CHECK(info.nprow * info.npcol == size);
    qsort(expect, n, sizeof(double), cmp_double);
    for (int i = 0; i < n; i++) worst = fmax(worst, fabs(ev[i] - expect[i]));
    CHECK_MSG(worst < 1e-12, "%s: worst eigenvalue error %g", what, worst);
    double l2 = sal_spectrum_lambda2(ev, n), l2x = sal_spectrum_lambda2(expect, n);
    CHECK_CLOSE(fabs(l2), fabs(l2x), 1e-12, 0);
    if (rank == 0) {
        /* ScaLAPACK on P ranks against LAPACK on this one */
        double *ev1 = malloc(sizeof(double) * n), d = 0;
        CHECK(sal_graph_eigenvalues(&g, MPI_COMM_SELF, ev1, NULL, &err) == SAL_OK);
        for (int i = 0; i < n; i++) d = fmax(d, fabs(ev[i] - ev1[i]));
        CHECK_MSG(d < 1e-12, "%s: %d ranks vs 1 rank differ by %g", what, size, d);
        printf(
            "mpi_topo: %-26s lambda2 %.15f (closed form %.15f, worst eig err %.1e, %dx%d grid)\n",
            what, l2, l2x, worst, info.nprow, info.npcol);
        free(ev1);
    }
    free(ev);
    sal_graph_free(&g);
}

static void check_closed_forms(void) {
    double *e = malloc(sizeof(double) * 4096);
    const double pi = acos(-1.0);
    /* ring, MH: W = (I + A)/3, eigenvalues 1/3 + 2/3 cos(2 pi k / N) */
    static const int rings[] = {8, 50, 64};
    for (int t = 0; t < 3; t++) {
        int n = rings[t];
        for (int k = 0; k < n; k++) e[k] = 1.0 / 3 + 2.0 / 3 * cos(2 * pi * k / n);
        char what[64];
        snprintf(what, sizeof what, "ring N=%d mh", n);
        check_spectrum(spec(SAL_GRAPH_RING, n, SAL_WEIGHTS_MH), e, what);
    }
    /* complete, uniform 1/N: W = J/N, eigenvalues 1 and N-1 zeros */
    for (int k = 0; k < 40; k++) e[k] = k == 0;
    check_spectrum(spec(SAL_GRAPH_COMPLETE, 40, SAL_WEIGHTS_UNIFORM), e, "complete N=40 uniform");
    /* hypercube of dimension d, MH 1/(d+1): eigenvalues 1 - 2k/(d+1), multiplicity C(d, k) */
    for (int i = 0; i < 32; i++) e[i] = 1.0 - 2.0 * __builtin_popcount(i) / 6;
    check_spectrum(spec(SAL_GRAPH_HYPERCUBE, 32, SAL_WEIGHTS_MH), e, "hypercube N=32 mh");
    /* torus R x C (R, C >= 3), MH = (I + A)/5: (1 + 2 cos(2 pi a/R) + 2 cos(2 pi b/C)) / 5 */
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 8; b++)
            e[a * 8 + b] = (1 + 2 * cos(2 * pi * a / 6) + 2 * cos(2 * pi * b / 8)) / 5;
    check_spectrum(spec(SAL_GRAPH_TORUS, 48, SAL_WEIGHTS_MH), e, "torus N=48 (6x8) mh");
    /* one-peer exponential: the period-average W = I/2 + A/(2 log2 N) has 1 - k/log2 N, and
     * the product over a period is J/N */
    for (int i = 0; i < 16; i++) e[i] = 1.0 - __builtin_popcount(i) / 4.0;
    check_spectrum(spec(SAL_GRAPH_ONEPEER_EXP, 16, SAL_WEIGHTS_MH), e, "onepeer-exponential N=16");
    sal_graph g;
    CHECK(sal_graph_build(&(sal_graph_spec){SAL_GRAPH_ONEPEER_EXP, 64, 0, 0, 1, 0}, &g, NULL) ==
          SAL_OK);
    CHECK_MSG(sal_graph_period_lambda2(&g, 5) < 1e-12, "period product not J/N");
    sal_graph_free(&g);
    free(e);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == 0) { /* serial properties: once is enough */
        check_deterministic();
        check_random();
        check_errors();
    }
    check_dist_comm();
    check_closed_forms();
    int fails = sal_test_fail, total;
    MPI_Allreduce(&fails, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int rc = rank == 0 ? sal_test_done("mpi_topo") : 0;
    MPI_Finalize();
    return total ? 1 : rc;
}
