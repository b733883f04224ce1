/* status.h - error values and the message buffer every fallible call fills.
 * Deep code returns a status and writes one line into a sal_err; only main() prints it. */
#ifndef SALIENT_STATUS_H
#define SALIENT_STATUS_H

#include <stddef.h>

typedef enum sal_status {
    SAL_OK = 0,
    SAL_EINVAL,   /* bad argument from the caller (a programming error) */
    SAL_ENOMEM,   /* allocation failed */
    SAL_EIO,      /* file could not be opened, read or written */
    SAL_EFORMAT,  /* a data or checkpoint file is corrupt, truncated or foreign */
    SAL_ECONFIG,  /* bad config file, key or value */
    SAL_ENUMERIC, /* NaN/Inf loss or weights */
    SAL_EMPI      /* an MPI call or rank layout failed */
} sal_status;

/* One line of text that names the file/key involved and, where possible, the fix.
 * Callers own it (usually on the stack); functions that take a sal_err* accept NULL. */
typedef struct sal_err {
    char msg[512];
} sal_err;

/* Fill err (if non-NULL) with a printf-style message and return st: `return sal_fail(err, ...)`. */
sal_status sal_fail(sal_err *err, sal_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Exit code a command should return for st: 2 for bad input (config, data files), 1 otherwise. */
int sal_status_exit_code(sal_status st);

const char *sal_status_name(sal_status st);

#endif
