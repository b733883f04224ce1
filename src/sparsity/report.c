/* report.c - per-tensor kept/total counts of a mask, as a printed table and as a CSV file
 * written atomically (so a crashed run never leaves half a file for the plotting scripts). */
#include <stdio.h>

#include "salient/fmt.h"
#include "salient/fsutil.h"
#include "salient/sparsity.h"

static size_t kept_in(const sal_params *p, const float *mask, int t) {
    size_t kept = 0;
    const float *mk = mask + p->t[t].offset;
    for (size_t i = 0; i < p->t[t].numel; i++) kept += mk[i] != 0.0f;
    return kept;
}

void sal_mask_print(const sal_params *p, const float *mask, FILE *f) {
    size_t kept_all = 0, total_all = 0;
    for (int t = 0; t < p->ntensors; t++) {
        const size_t kept = kept_in(p, mask, t), numel = p->t[t].numel;
        fprintf(f, "  %-16s %8zu/%-8zu %.4f\n", p->t[t].name, kept, numel,
                numel ? (double)kept / (double)numel : 1.0);
        if (p->t[t].prunable) kept_all += kept, total_all += numel;
    }
    fprintf(f, "  %-16s %8zu/%-8zu %.4f\n", "(prunable)", kept_all, total_all,
            total_all ? (double)kept_all / (double)total_all : 1.0);
}

typedef struct csv_ctx {
    const sal_params *p;
    const float *mask;
} csv_ctx;

static int fill_csv(FILE *f, const void *ctxp) {
    const csv_ctx *c = ctxp;
    if (fprintf(f, "tensor,numel,kept,density\n") < 0) return -1;
    for (int t = 0; t < c->p->ntensors; t++) {
        const size_t kept = kept_in(c->p, c->mask, t), numel = c->p->t[t].numel;
        char d[SAL_NUM_MAX]; /* the ratio to 6 places, unpadded: kept and numel are exact */
        sal_fmt_dec(numel ? (double)kept / (double)numel : 1.0, 6, d, sizeof d);
        if (fprintf(f, "%s,%zu,%zu,%s\n", c->p->t[t].name, numel, kept, d) < 0)
            return -1;
    }
    return 0;
}

sal_status sal_mask_write_csv(const sal_params *p, const float *mask, const char *path,
                              sal_err *err) {
    const csv_ctx c = {p, mask};
    return sal_write_atomic(path, fill_csv, &c, err);
}
