/* status.c - filling error messages; see include/salient/status.h. */
#include "salient/status.h"

#include <stdarg.h>
#include <stdio.h>

sal_status sal_fail(sal_err *err, sal_status st, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

int sal_status_exit_code(sal_status st) {
    switch (st) {
    case SAL_OK: return 0;
    case SAL_ECONFIG:
    case SAL_EFORMAT:
    case SAL_EIO: return 2;
    default: return 1;
    }
}

const char *sal_status_name(sal_status st) {
    static const char *names[] = {"ok", "invalid argument", "out of memory", "I/O error",
                                  "bad file format", "bad config", "numeric error", "MPI error"};
    return (unsigned)st < sizeof names / sizeof *names ? names[st] : "unknown";
}
