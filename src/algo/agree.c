/* agree.c - one outcome for all ranks: after a step that may fail on some ranks only (loading a
 * file, allocating), every rank learns the first failure before the next collective. */
#include "algos.h"
#include "salient/watchdog.h"

sal_status sal_mpi_agree(MPI_Comm comm, sal_status st, sal_err *err) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = st ? rank : size, first;
    sal_wd_enter("the status agreement", SAL_WD_ALL);
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    sal_wd_leave();
    if (first == size) return SAL_OK;
    int code = st;
    MPI_Bcast(&code, 1, MPI_INT, first, comm);
    if (first != 0) { /* the failing rank's own words reach rank 0, which speaks */
        if (rank == first) MPI_Send(err->msg, (int)sizeof err->msg, MPI_CHAR, 0, 0, comm);
        if (rank == 0) {
            char msg[sizeof err->msg];
            MPI_Recv(msg, (int)sizeof msg, MPI_CHAR, first, 0, comm, MPI_STATUS_IGNORE);
            msg[sizeof msg - 1] = '\0';
            sal_fail(err, (sal_status)code, "rank %d: %.480s", first, msg);
        }
    }
    if (rank != 0) err->msg[0] = '\0';
    return (sal_status)code;
}
