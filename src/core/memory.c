/* memory.c - sal_memory_retain: freed memory stays mapped for reuse (memory.h says why). */
#include "salient/memory.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void sal_memory_retain(void) {
#if defined(__GLIBC__)
    const char *t = getenv("GLIBC_TUNABLES");
    if (t && strstr(t, "glibc.malloc.")) return;
    /* Serve large requests from the heap, not from mmaps of their own that free unmaps again,
     * and never trim the heap's free top: a buffer freed now is the next one's pages. */
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}
