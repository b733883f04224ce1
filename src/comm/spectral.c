/* spectral.c - eigenvalues of a graph's mixing matrix W: LAPACK dsyev on one rank, ScaLAPACK
 * pdsyev over a BLACS grid of all ranks otherwise (dense W, block-cyclic). Only eigenvalues. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/topo_internal.h"
#include "salient/rng.h"

/* Debian ships no C header for LAPACK's Fortran symbols or ScaLAPACK/BLACS, so the prototypes
 * are written here from the reference sources (LAPACK dsyev.f, ScaLAPACK pdsyev.f,
 * descinit.f, numroc.f, BLACS Cblacs_*). gfortran appends one hidden length argument per
 * CHARACTER argument at the end; passing them keeps the calls well defined. */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                   double *w, double *work, const int *lwork, int *info, size_t ljobz,
                   size_t luplo);
extern void pdsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
                    const int *ja, const int *desca, double *w, double *z, const int *iz,
                    const int *jz, const int *descz, double *work, const int *lwork, int *info,
                    size_t ljobz, size_t luplo);
extern void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
                      const int *irsrc, const int *icsrc, const int *ictxt, const int *lld,
                      int *info);
extern int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc,
                   const int *nprocs);
extern int Csys2blacs_handle(MPI_Comm comm);
extern void Cfree_blacs_system_handle(int handle);
extern void Cblacs_gridinit(int *ictxt, const char *order, int nprow, int npcol);
extern void Cblacs_gridinfo(int ictxt, int *nprow, int *npcol, int *myrow, int *mycol);
extern void Cblacs_gridexit(int ictxt);

static sal_status eig_lapack(const sal_graph *g, double *ev, sal_err *err) {
    int n = g->n, lwork = -1, info = 0;
    double *a = calloc((size_t)n * n, sizeof(double)), q = 0;
    if (!a)
        return sal_fail(err, SAL_ENOMEM, "%s: out of memory for the dense %dx%d W", g->name, n, n);
    for (int i = 0; i < n; i++) {
        a[(size_t)i * n + i] = g->self[i];
        for (int64_t k = g->offset[i]; k < g->offset[i + 1]; k++)
            a[(size_t)i * n + g->adj[k]] = g->w[k];
    }
    dsyev_("N", "U", &n, a, &n, ev, &q, &lwork, &info, 1, 1);
    lwork = (int)q > 1 ? (int)q : 3 * n;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    if (!work)
        info = -1000;
    else
        dsyev_("N", "U", &n, a, &n, ev, work, &lwork, &info, 1, 1);
    free(a), free(work);
    if (info == -1000)
        return sal_fail(err, SAL_ENOMEM, "%s: out of memory for dsyev's workspace", g->name);
    if (info)
        return sal_fail(err, SAL_ENUMERIC, "%s: LAPACK dsyev failed (info %d)", g->name, info);
    return SAL_OK;
}

/* Global index -> owner and local index along one grid dimension of the 2-D block-cyclic
 * layout (ScaLAPACK Users' Guide, "the two-dimensional block-cyclic distribution"; what
 * numroc counts): block b = i / nb lives on process b % np as its local block b / np. */
static int owner(int i, int nb, int np) {
    return (i / nb) % np;
}
static int local(int i, int nb, int np) {
    return (i / (nb * np)) * nb + i % nb;
}

static sal_status eig_scalapack(const sal_graph *g, MPI_Comm comm, int size, double *ev,
                                sal_spectrum_info *info, sal_err *err) {
    int n = g->n, zero = 0, one = 1, nprow = 1;
    for (int r = 1; r * r <= size; r++)
        if (size % r == 0) nprow = r; /* near-square grid: fewest messages per panel */
    int npcol = size / nprow;
    /* blocks of 64 keep the Level-3 BLAS of the tridiagonal reduction efficient; smaller for
     * small N so that every process holds part of W (the tests' tiny graphs stay parallel) */
    int nb = n / (nprow > npcol ? nprow : npcol);
    nb = nb < 1 ? 1 : nb > 64 ? 64 : nb;
    int handle = Csys2blacs_handle(comm), ctxt = handle, myrow, mycol;
    Cblacs_gridinit(&ctxt, "Row", nprow, npcol);
    Cblacs_gridinfo(ctxt, &nprow, &npcol, &myrow, &mycol);
    int mloc = numroc_(&n, &nb, &myrow, &zero, &nprow),
        nloc = numroc_(&n, &nb, &mycol, &zero, &npcol);
    int lld = mloc > 1 ? mloc : 1, desc[9], dinfo = 0, lwork = -1, pinfo = 0;
    descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &ctxt, &lld, &dinfo);
    double *a = calloc((size_t)lld * (nloc > 1 ? nloc : 1), sizeof(double)), q = 0, *work = NULL;
    sal_status st = SAL_OK;
    if (!dinfo) /* workspace query: touches neither A nor Z. JOBZ = 'N' leaves Z unreferenced,
                 * but pdsyev still checks DESCZ, so W's descriptor stands in for it */
        pdsyev_("N", "U", &n, a, &one, &one, desc, ev, a, &one, &one, desc, &q, &lwork, &pinfo, 1,
                1);
    lwork = (int)q > 1 ? (int)q : 5 * n + 1;
    work = malloc(sizeof(double) * (size_t)lwork);
    /* every rank must enter pdsyev or none: agree on failures first */
    int ok = a && work && !dinfo && !pinfo, all_ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    if (!all_ok) {
        st = dinfo || pinfo ? sal_fail(err, SAL_EINVAL,
                                       "%s: ScaLAPACK setup failed (descinit %d, "
                                       "pdsyev query %d)",
                                       g->name, dinfo, pinfo)
                            : sal_fail(err, SAL_ENOMEM,
                                       "%s: out of memory for a %dx%d block of W "
                                       "or pdsyev's %d-double workspace",
                                       g->name, mloc, nloc, lwork);
        goto done;
    }
    /* each rank writes only the entries of W it owns: rows of its process row, columns of its
     * process column (self loop included) */
    for (int i = 0; i < n; i++) {
        if (owner(i, nb, nprow) != myrow) continue;
        size_t li = (size_t)local(i, nb, nprow);
        if (owner(i, nb, npcol) == mycol) a[li + (size_t)local(i, nb, npcol) * lld] = g->self[i];
        for (int64_t k = g->offset[i]; k < g->offset[i + 1]; k++) {
            int j = g->adj[k];
            if (owner(j, nb, npcol) == mycol) a[li + (size_t)local(j, nb, npcol) * lld] = g->w[k];
        }
    }
    double t0 = MPI_Wtime();
    pdsyev_("N", "U", &n, a, &one, &one, desc, ev, a, &one, &one, desc, work, &lwork, &pinfo, 1, 1);
    info->seconds = MPI_Wtime() - t0;
    if (pinfo)
        st = sal_fail(err, SAL_ENUMERIC, "%s: ScaLAPACK pdsyev failed (info %d)", g->name, pinfo);
done:
    info->nprow = nprow, info->npcol = npcol, info->nb = nb;
    free(a), free(work);
    Cblacs_gridexit(ctxt);
    Cfree_blacs_system_handle(handle);
    return st;
}

sal_status sal_graph_eigenvalues(const sal_graph *g, MPI_Comm comm, double *ev,
                                 sal_spectrum_info *info, sal_err *err) {
    sal_spectrum_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    int size;
    MPI_Comm_size(comm, &size);
    if (size == 1) {
        info->nprow = info->npcol = 1;
        double t0 = MPI_Wtime();
        sal_status st = eig_lapack(g, ev, err);
        info->seconds = MPI_Wtime() - t0;
        return st;
    }
    return eig_scalapack(g, comm, size, ev, info, err);
}

double sal_spectrum_lambda2(const double *ev, int n) {
    if (n <= 1) return 0.0;
    /* ev ascending; the top eigenvalue is 1 (connected, doubly stochastic); of the rest, the
     * largest modulus is at one end; a tie (bipartite-like spectra, the hypercube's +-(d-1)/(d+1))
     * goes to the positive end, whatever the rounding */
    return fabs(ev[0]) > fabs(ev[n - 2]) + 1e-12 ? ev[0] : ev[n - 2];
}

/* The product of a time-varying graph's W_t over one period is what contracts deviations from
 * the mean cycle after cycle; its largest modulus on the mean-zero subspace by power iteration
 * (serial, O(N x period) per product). For the one-peer exponential graph it is exactly J/N,
 * so this is 0 up to rounding: exact averaging after log2 N steps (Ying et al., NeurIPS 2021). */
double sal_graph_period_lambda2(const sal_graph *g, int iters) {
    int n = g->n, period = g->period ? g->period : 1;
    if (n <= 1) return 0.0;
    double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
    double ratio = -1.0;
    if (!x || !y) goto done;
    sal_rng r;
    sal_rng_seed(&r, 0, SAL_STREAM_GRAPH, 0x6c32); /* any fixed start with a mean-zero part */
    for (int i = 0; i < n; i++) x[i] = sal_rng_normal(&r);
    for (int it = 0; it < iters; it++) {
        double mean = 0, norm = 0, out = 0;
        for (int i = 0; i < n; i++) mean += x[i] / n;
        for (int i = 0; i < n; i++) x[i] -= mean, norm += x[i] * x[i];
        if (norm == 0) {
            ratio = 0.0;
            break;
        }
        norm = sqrt(norm);
        for (int i = 0; i < n; i++) x[i] /= norm;
        for (int t = 0; t < period; t++) {
            sal_graph_mix(g, t, x, 1, y);
            double *tmp = x;
            x = y, y = tmp;
        }
        for (int i = 0; i < n; i++) out += x[i] * x[i];
        ratio = sqrt(out);
    }
done:
    free(x), free(y);
    return ratio;
}
