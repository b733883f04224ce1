/* fedavg_randk.c - [comm] compress = randk: fedavg's clients upload k random entries of their
 * update and the server estimates the weighted mean update with Rand-k, Rand-k-Spatial or
 * Rand-k-Temporal (randk.h; Jhunjhunwala et al., NeurIPS 2021). Indices are drawn from stream
 * (seed, RANDK, round x clients + c) on both sides, so none travel and results do not depend on
 * the rank count. The non-trainable state (BatchNorm statistics) travels raw and is averaged as
 * in plain fedavg: it is small, and a sparsified running variance could turn negative. */
#include "fedavg_randk.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "salient/ckpt.h"
#include "salient/rng.h"

_Static_assert(SAL_RANDK_DEC_PLAIN == (int)SAL_RANDK_PLAIN &&
                   SAL_RANDK_DEC_SPATIAL == (int)SAL_RANDK_SPATIAL &&
                   SAL_RANDK_DEC_TEMPORAL == (int)SAL_RANDK_TEMPORAL,
               "[comm] randk_decoder follows sal_randk_decoder");

size_t sal_fed_randk_k(const sal_config *cfg, size_t nnz) {
    return sal_randk_count(nnz, cfg->randk_density);
}

size_t sal_fed_randk_floats(const sal_config *cfg, size_t nnz, size_t ns) {
    return sal_fed_randk_k(cfg, nnz) + ns;
}

static void indices(const sal_config *cfg, int round, int c, size_t nnz, size_t k, size_t *idx) {
    sal_rng r;
    sal_rng_seed(&r, cfg->seed, SAL_STREAM_RANDK,
                 (uint64_t)round * (uint64_t)cfg->clients + (uint64_t)c);
    sal_randk_indices(&r, nnz, k, idx);
}

void sal_fed_randk_encode(const sal_config *cfg, int round, int c, const float *local,
                          const float *global, size_t nnz, size_t ns, size_t *idx, float *out) {
    const size_t k = sal_fed_randk_k(cfg, nnz);
    indices(cfg, round, c, nnz, k, idx);
    for (size_t t = 0; t < k; t++) out[t] = local[idx[t]] - global[idx[t]];
    if (ns) memcpy(out + k, local + nnz, sizeof(float) * ns);
}

size_t sal_fed_randk_memory_bytes(const sal_config *cfg, size_t nnz) {
    if (cfg->randk_decoder != SAL_RANDK_DEC_TEMPORAL) return 0;
    const size_t c = cfg->clients > 0 ? (size_t)cfg->clients : 1, n = nnz ? nnz : 1;
    return n > SIZE_MAX / sizeof(float) / c ? SIZE_MAX : c * n * sizeof(float);
}

sal_status sal_fed_randk_open(fed_randk *r, const sal_config *cfg, size_t nnz, size_t ns,
                              sal_err *err) {
    memset(r, 0, sizeof *r);
    r->nnz = nnz, r->ns = ns, r->k = sal_fed_randk_k(cfg, nnz);
    r->p = nnz ? (double)r->k / (double)nnz : 1;
    const sal_randk_decoder dec = (sal_randk_decoder)cfg->randk_decoder;
    /* Rand-k-Temporal keeps each client's last values (randk.h): clients x nnz floats, taken
     * now (first: it is the large one) rather than as clients first appear, so that a server
     * short of memory says so before round 1, not rounds into a run. */
    if (dec == SAL_RANDK_TEMPORAL) {
        const size_t mem = sal_fed_randk_memory_bytes(cfg, nnz);
        r->clients = cfg->clients;
        r->memory = mem == SIZE_MAX ? NULL : calloc(mem / sizeof(float), sizeof(float));
        if (!r->memory) {
            sal_fed_randk_close(r);
            return sal_fail(err, SAL_ENOMEM,
                            "server: [comm] randk_decoder = temporal keeps one memory per "
                            "client: %d [data] clients x %zu entries x 4 bytes = %.1f MiB cannot "
                            "be allocated; lower [data] clients, or use randk_decoder = plain or "
                            "spatial",
                            cfg->clients, nnz, (double)cfg->clients * (double)nnz * 4 / 1048576.0);
        }
    }
    sal_status st = sal_randk_acc_init(&r->acc, dec, nnz, err);
    if (st) {
        sal_fed_randk_close(r);
        return st;
    }
    r->idx = malloc(sizeof(size_t) * (r->k ? r->k : 1));
    r->est = malloc(sizeof(float) * (nnz ? nnz : 1));
    r->state = malloc(sizeof(double) * (ns ? ns : 1));
    if (!r->idx || !r->est || !r->state) {
        sal_fed_randk_close(r);
        return sal_fail(err, SAL_ENOMEM,
                        "server: out of memory for Rand-k buffers of %zu "
                        "entries",
                        nnz);
    }
    return SAL_OK;
}

void sal_fed_randk_close(fed_randk *r) {
    sal_randk_acc_free(&r->acc);
    free(r->idx), free(r->est), free(r->state), free(r->memory);
    memset(r, 0, sizeof *r);
}

sal_status sal_fed_randk_remask(fed_randk *r, const sal_config *cfg, size_t nnz, sal_err *err) {
    /* A prune only drops weights: the buffers sized for the larger mask hold the new one. */
    if (nnz > r->nnz)
        return sal_fail(err, SAL_EINVAL,
                        "Rand-k: the mask grew from %zu to %zu weights; a "
                        "schedule only prunes",
                        r->nnz, nnz);
    sal_randk_acc_free(&r->acc);
    sal_status st = sal_randk_acc_init(&r->acc, (sal_randk_decoder)cfg->randk_decoder, nnz, err);
    if (st) return st;
    r->nnz = nnz, r->k = sal_fed_randk_k(cfg, nnz);
    r->p = nnz ? (double)r->k / (double)nnz : 1;
    /* the rows now have stride nnz: the memory restarts, every client's */
    if (r->memory) memset(r->memory, 0, sizeof(float) * nnz * (size_t)r->clients);
    return SAL_OK;
}

void sal_fed_randk_begin(fed_randk *r) {
    sal_randk_acc_reset(&r->acc);
    memset(r->state, 0, sizeof(double) * r->ns);
}

sal_status sal_fed_randk_fold(fed_randk *r, const sal_config *cfg, int round, int c,
                              const float *up, size_t got, double w, sal_err *err) {
    if (got != r->k + r->ns)
        return sal_fail(err, SAL_EFORMAT,
                        "%zu floats, expected %zu (k = %zu entries and %zu of "
                        "state)",
                        got, r->k + r->ns, r->k, r->ns);
    /* checked before anything is folded: a refused upload leaves the sums as they were */
    for (size_t i = 0; i < r->k + r->ns; i++)
        if (!isfinite(up[i]))
            return sal_fail(err, SAL_EFORMAT, "%s value %zu is not finite",
                            i < r->k ? "update" : "state", i < r->k ? i : i - r->k);
    if (r->memory && (c < 0 || c >= r->clients))
        return sal_fail(err, SAL_EINVAL, "client %d is not one of the %d [data] clients", c,
                        r->clients);
    indices(cfg, round, c, r->nnz, r->k, r->idx);
    sal_randk_fold(&r->acc, r->idx, up, r->k, w, r->memory ? r->memory + (size_t)c * r->nnz : NULL);
    for (size_t i = 0; i < r->ns; i++) r->state[i] += w * up[r->k + i];
    return SAL_OK;
}

void sal_fed_randk_finish(fed_randk *r, float *packed) {
    /* Spatial: R is unknown to the server, so it is estimated from this round's overlaps (a
     * ratio of two unbiased sums: the decode is then unbiased only up to that ratio's error,
     * which test_randk measures). */
    r->rho = r->acc.decoder == SAL_RANDK_SPATIAL ? sal_randk_rho_estimate(&r->acc, r->p) : 0;
    r->ratio = sal_randk_temporal_ratio(&r->acc);
    sal_randk_decode(&r->acc, r->p, r->rho, r->est);
    for (size_t i = 0; i < r->nnz; i++) packed[i] += r->est[i];
    for (size_t i = 0; i < r->ns; i++) packed[r->nnz + i] = (float)(r->state[i] / r->acc.wsum);
}

sal_status sal_fed_randk_resume(fed_randk *r, const fed *f, const char *path, sal_err *err) {
    /* the loader reads /mask into p->mask: a scratch copy of the table, the same mask */
    sal_params p = *f->p;
    float *mask = malloc(sizeof(float) * (p.n ? p.n : 1));
    if (!mask) return sal_fail(err, SAL_ENOMEM, "out of memory to resume the Rand-k memory");
    p.mask = mask;
    sal_ckpt_dst d = {.p = &p, .randk_memory = r->memory, .randk_clients = r->clients, .sealed = 1};
    sal_status st = sal_ckpt_load(path, &d, err);
    /* the memory's rows are in the file's mask's order; the run resumed that mask */
    if (!st && sal_params_nnz(&p) != r->nnz)
        st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s': its mask keeps %zu weights, the run %zu",
                      path, sal_params_nnz(&p), r->nnz);
    free(mask);
    return st;
}
