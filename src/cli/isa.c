/* isa.c - the kernels' instruction-set level at start-up, agreed over the ranks (see cli.h).
 * docs/user-guide.md ("Installing on a cluster") says what a mixed-level job means. */
#include <mpi.h>
#include <stdio.h>

#include "cli.h"
#include "salient/cpu.h"

int sal_cli_isa_agree(const char *cmd, int rank, char *line, size_t n) {
    line[0] = '\0';
    sal_err err;
    const int bad = sal_isa_select(&err) != SAL_OK;
    if (bad) fprintf(stderr, "salient %s: rank %d: %s\n", cmd, rank, err.msg);
    const int lvl = (int)sal_isa_current();
    int in[3] = {bad, lvl, -lvl}, out[3]; /* max of bad, max level, -(min level) */
    MPI_Allreduce(in, out, 3, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (out[0]) {
        if (rank == 0 && !bad)
            fprintf(stderr,
                    "salient %s: another rank refused its SALIENT_ISA (its line says "
                    "why)\n",
                    cmd);
        return 2;
    }
    const int hi = out[1], lo = -out[2];
    if (lo == hi)
        snprintf(line, n, "salient %s: kernels: %s on every rank (%s)\n", cmd,
                 sal_isa_name((sal_isa)lo), sal_isa_source());
    else
        snprintf(line, n, "salient %s: kernels: %s to %s across ranks\n", cmd,
                 sal_isa_name((sal_isa)lo), sal_isa_name((sal_isa)hi));
    if (lo != hi && rank == 0)
        fprintf(stderr,
                "salient %s: kernels: %s to %s across ranks (CPU generations differ): results "
                "match a rerun only on the same nodes; SALIENT_ISA=%s and one OPENBLAS_CORETYPE "
                "on every rank make them independent of placement\n",
                cmd, sal_isa_name((sal_isa)lo), sal_isa_name((sal_isa)hi),
                sal_isa_name((sal_isa)lo));
    return 0;
}
