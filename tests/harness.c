/* harness.c - counters and the closing line for tests/harness.h. */
#include "harness.h"

#include <stdio.h>

int sal_test_pass = 0, sal_test_fail = 0;

int sal_test_done(const char *name) {
    printf("%s: %d passed, %d failed\n", name, sal_test_pass, sal_test_fail);
    return sal_test_fail ? 1 : 0;
}

const char *sal_test_src(const char *rel) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", SAL_TEST_SRCDIR, rel);
    return buf;
}
