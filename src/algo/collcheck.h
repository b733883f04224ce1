/* collcheck.h - [run] check_collectives and ranks.csv's per-rank records: the round-end
 * exchanges the algorithms add to their own (private to algo/). */
#ifndef SALIENT_ALGO_COLLCHECK_H
#define SALIENT_ALGO_COLLCHECK_H

#include <mpi.h>

#include "salient/metrics.h"
#include "salient/status.h"
#include "salient/watchdog.h"

/* fedavg's exchanges as a client rank names them: the client folds them as it runs them, the
 * server folds them into the sequence it expects of the client's rank as it completes them. */
#define SAL_CC_FED_RECV "the server's next message"
#define SAL_CC_FED_SEND "the upload to the server"

/* Collective over comm, at the end of round `round` (1-based): every rank's sequence of
 * exchanges since the last check (sal_wd_seq_take) is compared with a reference.
 * expect_mode 0: every rank must have run the same sequence (allreduce, localsgd, dpsgd): one
 * MPI_Allreduce(MIN) of (hash, ~hash). expect_mode 1 (fedavg): on rank 0, expect[r] is the
 * sequence client rank r must have run as the server saw it (entry 0 unused; NULL on the other
 * ranks): one MPI_Scatter of the hashes, one MPI_Allreduce naming the lowest diverging rank.
 * A mismatch is SAL_EMPI on every rank, rank 0's message naming the lowest diverging rank, its
 * host and its first call that differs from the reference (the op names are gathered on that
 * path only; other ranks get an empty message). The check's own exchanges are not hashed.
 * Returns SAL_OK at once when [run] check_collectives is off (`on` = 0). */
sal_status sal_cc_check(MPI_Comm comm, int on, int round, int expect_mode,
                        const sal_wd_seq *expect, sal_err *err);

/* Collective over comm (the caller brackets it with its round-end exchanges): gather every
 * rank's `mine` (its rank and host are filled here) into rows (rank 0: comm-size entries in
 * rank order; NULL elsewhere). One MPI_Gather of a fixed-size record. */
void sal_cc_gather_ranks(MPI_Comm comm, sal_rank_row *mine, sal_rank_row *rows);

#endif
