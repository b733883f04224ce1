/* fsutil.h - output files that are never half-written: write to DIR/.NAME.tmp, flush, fsync,
 * then rename over DIR/NAME; and mkdir -p for output directories. */
#ifndef SALIENT_FSUTIL_H
#define SALIENT_FSUTIL_H

#include <stdio.h>

#include "salient/status.h"

/* Create dir and its parents (mode 0755); fine if it exists. Error names the path. */
sal_status sal_mkdir_p(const char *dir, sal_err *err);

/* Writes `path` atomically: `fill(f, ctx)` writes the content to a temporary file beside it
 * (fill returns 0 on success); then fflush + fsync + rename. On any failure the temporary file
 * is removed, `path` keeps its old content, and err names the path and the reason. */
typedef int (*sal_fill_fn)(FILE *f, const void *ctx);
sal_status sal_write_atomic(const char *path, sal_fill_fn fill, const void *ctx, sal_err *err);

#endif
