/* train.c - dispatch from [train] algorithm to its implementation, and shared helpers. */
#include <stdio.h>
#include <time.h>

#include "algos.h"

sal_status sal_train(const sal_config *cfg, const char *out_dir, FILE *progress,
                     const char *resume, sal_err *err) {
    switch (cfg->algorithm) {
    case SAL_ALGO_CENTRALIZED: return sal_train_centralized(cfg, out_dir, progress, resume, err);
    case SAL_ALGO_FEDAVG: return sal_train_fedavg(cfg, out_dir, progress, resume, err);
    case SAL_ALGO_ALLREDUCE:
    case SAL_ALGO_LOCALSGD:
    case SAL_ALGO_DPSGD: return sal_train_decentral(cfg, out_dir, progress, resume, err);
    }
    return sal_fail(err, SAL_ECONFIG, "[train] algorithm: not implemented");
}

double sal_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

const char *sal_fmt_duration(double s, char *buf, int n) {
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
    return buf;
}
