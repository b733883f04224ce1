/* mpi_init.c - the one place the commands start MPI: MPI_Init_thread at the level salient
 * needs, refused with one line per rank where the library offers less. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *level_name(int level) {
    if (level == MPI_THREAD_SINGLE) return "MPI_THREAD_SINGLE";
    if (level == MPI_THREAD_FUNNELED) return "MPI_THREAD_FUNNELED";
    if (level == MPI_THREAD_SERIALIZED) return "MPI_THREAD_SERIALIZED";
    if (level == MPI_THREAD_MULTIPLE) return "MPI_THREAD_MULTIPLE";
    return "an unknown level";
}

/* FUNNELED, not SINGLE: the process has threads besides main (the watchdog, core/watchdog.c;
 * the checkpoint's CRC thread, io/ckpt_write.c; the engine's OpenMP loops, [run] threads;
 * OpenBLAS's workers), and MPI_THREAD_SINGLE promises the library there are none. None of them
 * calls MPI (no file with an omp pragma calls MPI); only the main thread does, so FUNNELED is
 * all we ask (MULTIPLE would cost locking on every call for nothing). */
int sal_cli_mpi_init(const char *cmd, int *argc, char ***argv) {
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    /* Test hook: Open MPI always grants FUNNELED, so only this reaches the refusal below. */
    const char *fake = getenv("SALIENT_TEST_MPI_THREAD_SINGLE");
    if (fake && !strcmp(fake, "1")) provided = MPI_THREAD_SINGLE;
    if (provided >= MPI_THREAD_FUNNELED) return 0;
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    /* every rank: each may have been started against a different library */
    fprintf(stderr,
            "salient %s: rank %d: the MPI library provides %s, but salient needs "
            "MPI_THREAD_FUNNELED (it runs threads beside the one that calls MPI); use an MPI "
            "library built with thread support\n",
            cmd, rank, level_name(provided));
    MPI_Finalize();
    return 1;
}

int sal_cli_exit_together(int rc) {
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!rc || !size || atoi(size) < 2) return rc;
    int up = 0;
    MPI_Initialized(&up);
    if (up) return rc;
    /* MPI_Finalize's fence: no rank leaves before every rank (the first, which printed the
     * line, included) has reached it */
    MPI_Init(NULL, NULL);
    MPI_Finalize();
    return rc;
}
