/* fsutil.c - atomic file replacement and mkdir -p (see fsutil.h). */
#include "salient/fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

sal_status sal_mkdir_p(const char *dir, sal_err *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return sal_fail(err, SAL_EIO, "output directory path too long: %s", dir);
    for (char *p = buf + 1;; p++) {
        int end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(buf, 0755) && errno != EEXIST)
                return sal_fail(err, SAL_EIO, "cannot create directory '%s': %s (set --out DIR)",
                                buf, strerror(errno));
            if (end) break;
            *p = '/';
        }
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return sal_fail(err, SAL_EIO, "'%s' exists and is not a directory (set --out DIR)", dir);
    return SAL_OK;
}

sal_status sal_write_atomic(const char *path, sal_fill_fn fill, const void *ctx, sal_err *err) {
    char tmp[4200];
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    snprintf(tmp, sizeof tmp, "%.*s.%s.tmp", dirlen, path, slash ? slash + 1 : path);
    FILE *f = fopen(tmp, "w");
    if (!f) return sal_fail(err, SAL_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    int bad = fill(f, ctx) != 0;
    bad |= fflush(f) != 0;
    int e = errno;
    bad |= fsync(fileno(f)) != 0; /* the data is on disk before the name points at it */
    if (!bad) e = errno;
    bad |= fclose(f) != 0;
    if (bad) {
        unlink(tmp);
        return sal_fail(err, SAL_EIO, "cannot write '%s': %s (disk full?)", path,
                        strerror(e ? e : EIO));
    }
    if (rename(tmp, path)) {
        e = errno;
        unlink(tmp);
        return sal_fail(err, SAL_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
    }
    return SAL_OK;
}
