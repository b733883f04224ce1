/* rundir.h - an output directory claimed by one run: results already in it are not overwritten
 * unless asked, and two runs never write one directory at the same time. No MPI: rank 0 calls
 * these for the job (sal_train_prepare_out). */
#ifndef SALIENT_RUNDIR_H
#define SALIENT_RUNDIR_H

#include "salient/status.h"

/* The lock file a run holds in its output directory. Empty: its content never changes, so a
 * refused run leaves the directory byte for byte as it was. */
#define SAL_RUNDIR_LOCK ".salient.lock"

/* The first name in dir that a finished or interrupted run leaves (metrics.csv, summary.json,
 * ranks.csv, mask.csv, ckpt, compare.csv, summary.csv), or NULL: a static string, not owned. */
const char *sal_rundir_results(const char *dir);

/* The process id holding dir's lock, or 0 when none does (or dir has no lock file yet). Creates
 * nothing. */
long sal_rundir_holder(const char *dir);

/* Take dir's lock: create DIR/.salient.lock if needed and hold a write lock on it (fcntl, so
 * that it also holds over NFS) until *fd is closed or the process ends. On SAL_OK *fd >= 0 and
 * the caller owns it; when another process holds the lock, err names the lock file and its pid.
 * Closing any other descriptor of the lock file in this process would drop the lock: nothing
 * else opens it. */
sal_status sal_rundir_lock(const char *dir, int *fd, sal_err *err);

/* Refuse, before anything is written, an output directory whose checkpoint files this MPI
 * library could not create: Open MPI's MPI-IO (ompio) copies each file name it opens into a
 * 256-byte buffer (its sharedfp/lockedfile probe, with ".locktest.<rank>" appended) and aborts on
 * longer ones, after a run has trained until its first checkpoint. rounds sizes the round
 * number in the name, nranks the rank suffix. Other MPI libraries: no limit checked here. */
sal_status sal_rundir_check_paths(const char *dir, int rounds, int nranks, sal_err *err);

/* Remove the results sal_rundir_results looks for, and the checkpoints and `latest` link in
 * dir/ckpt (so a later run's `keep` and `--resume latest` see only its own files). Other files
 * are left alone. Error names the first path that could not be removed. */
sal_status sal_rundir_clear(const char *dir, sal_err *err);

#endif
