/* identity.c - what a run was, as summary.json's leading fields: the keys that applied to it
 * and no others (a dense run names no scope, a centralized run no clients), numbers in their
 * shortest exact form, so that a reader of summary.json never has to know which keys a run
 * ignored. */
#include <stdarg.h>
#include <stdio.h>

#include "algos.h"
#include "salient/fmt.h"

typedef struct {
    char *buf;
    size_t cap, len;
    int overflow;
} jbuf;

static void put(jbuf *j, const char *fmt, ...) {
    if (j->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(j->buf + j->len, j->cap - j->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= j->cap - j->len)
        j->overflow = 1;
    else
        j->len += (size_t)n;
}

static void str(jbuf *j, const char *key, const char *v) {
    put(j, "%s\"%s\": \"%s\"", j->len ? ", " : "", key, v);
}
static void num(jbuf *j, const char *key, double v) {
    char b[SAL_NUM_MAX];
    put(j, "%s\"%s\": %s", j->len ? ", " : "", key, sal_fmt_num(v, b, sizeof b));
}
static const char *name(const char *section, const char *key, int v) {
    return sal_config_enum_name(section, key, v);
}

int sal_run_identity(char *buf, size_t cap, const sal_config *cfg, const char *algorithm, int ranks,
                     size_t parameters, size_t nnz) {
    jbuf j = {buf, cap, 0, cap == 0};
    if (cap) buf[0] = '\0';
    const int fed = cfg->algorithm == SAL_ALGO_FEDAVG,
              alone = cfg->algorithm == SAL_ALGO_CENTRALIZED;
    str(&j, "algorithm", algorithm);
    str(&j, "arch", name("model", "arch", cfg->arch));
    if (cfg->arch >= SAL_ARCH_RESNET20) str(&j, "norm", name("model", "norm", cfg->norm));
    str(&j, "dataset", name("data", "dataset", cfg->dataset));
    if (cfg->method != SAL_SPARSE_NONE) {
        str(&j, "method", name("sparsity", "method", cfg->method));
        str(&j, "scope", name("sparsity", "scope", cfg->scope));
        /* where the scores come from: only the data-driven scores of fedavg have a source */
        if (fed && (cfg->method == SAL_SPARSE_SNIP || cfg->method == SAL_SPARSE_GRASP))
            str(&j, "source", name("sparsity", "source", cfg->source));
    }
    if (cfg->method != SAL_SPARSE_NONE || cfg->schedule != SAL_SCHED_FIXED)
        num(&j, "target_density", cfg->density);
    if (cfg->schedule != SAL_SCHED_FIXED) {
        str(&j, "schedule", name("sparsity", "schedule", cfg->schedule));
        num(&j, "cycles", cfg->cycles);
        num(&j, "cycle_rounds", cfg->cycle_rounds);
    }
    if (cfg->compress != SAL_COMPRESS_NONE && !alone) {
        str(&j, "compress", name("comm", "compress", cfg->compress));
        if (cfg->compress == SAL_COMPRESS_TOPK) num(&j, "topk_density", cfg->topk_density);
        if (cfg->compress == SAL_COMPRESS_RANDK) {
            num(&j, "randk_density", cfg->randk_density);
            str(&j, "randk_decoder", name("comm", "randk_decoder", cfg->randk_decoder));
        }
    }
    if (cfg->quantize != SAL_QUANT_NONE && fed) {
        str(&j, "quantize", name("comm", "quantize", cfg->quantize));
        num(&j, "quantize_levels", cfg->quantize_levels);
    }
    put(&j, ", \"seed\": %llu", (unsigned long long)cfg->seed); /* all 64 bits, not a double */
    num(&j, "ranks", ranks);
    if (!alone) num(&j, "clients", cfg->clients);
    num(&j, "parameters", (double)parameters);
    num(&j, "nnz", (double)nnz); /* the weights trained and sent: every run has them */
    return j.overflow ? -1 : 0;
}
