/* harness.c - counters and the closing line for tests/harness.h. */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "salient/cpu.h"

int sal_test_pass = 0, sal_test_fail = 0;

int sal_test_done(const char *name) {
    printf("%s: %d passed, %d failed\n", name, sal_test_pass, sal_test_fail);
    return sal_test_fail ? 1 : 0;
}

int sal_test_isa(const char *name) {
    const char *want = getenv("SALIENT_ISA");
    for (int l = 0; want && l < SAL_ISA_COUNT; l++)
        if (!strcmp(want, sal_isa_name((sal_isa)l)) && !sal_isa_supported((sal_isa)l)) {
            printf("%s: SKIPPED: this CPU lacks the %s level (SALIENT_ISA=%s)\n", name, want, want);
            return 77;
        }
    sal_err err;
    if (sal_isa_select(&err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return 2;
    }
    printf("%s: kernels at level %s (%s)\n", name, sal_isa_name(sal_isa_current()),
           sal_isa_source());
    return 0;
}

const char *sal_test_src(const char *rel) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", SAL_TEST_SRCDIR, rel);
    return buf;
}

int sal_fix_load(const char *path, sal_fix_rec *recs, int max) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char magic[8];
    int count = 0;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "SALFIX1\n", 8)) goto bad;
    uint32_t len;
    while (count < max && fread(&len, 4, 1, f) == 1) {
        sal_fix_rec *r = &recs[count];
        uint32_t nd, d;
        if (len >= sizeof r->name || fread(r->name, 1, len, f) != len) goto bad;
        r->name[len] = 0;
        if (fread(&nd, 4, 1, f) != 1 || nd > 4) goto bad;
        r->ndim = (int)nd, r->n = 1;
        for (uint32_t i = 0; i < nd; i++) {
            if (fread(&d, 4, 1, f) != 1) goto bad;
            r->dims[i] = (int)d, r->n *= d;
        }
        r->data = malloc(r->n * sizeof(float) + 1);
        if (!r->data || fread(r->data, sizeof(float), r->n, f) != r->n) goto bad;
        count++;
    }
    fclose(f);
    return count;
bad:
    fclose(f);
    return -1;
}

const sal_fix_rec *sal_fix_find(const sal_fix_rec *recs, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(recs[i].name, name)) return &recs[i];
    return NULL;
}
