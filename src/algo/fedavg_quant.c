/* fedavg_quant.c - [comm] quantize: fedavg's clients upload their update (local model minus the
 * global model they started from) QSGD-encoded (quant.h), and the server folds decoded updates
 * into the global model. AdaQuantFL's level schedule is computed by the server from its metrics
 * rows and sent to every sampled client with its weights (fedavg.h, FED_TAG_LEVELS). */
#include "fedavg_quant.h"

#include <math.h>
#include <string.h>

#include "salient/bytes.h"
#include "salient/quant.h"
#include "salient/rng.h"

int sal_fed_quant_levels(const sal_config *cfg, const sal_metrics *metrics, int round) {
    if (cfg->quantize != SAL_QUANT_ADAQUANT) return cfg->quantize_levels;
    /* AdaQuantFL (Jhunjhunwala et al. 2021, Theorem 2): s_t = s0 sqrt(loss_1 / loss_{t-1}),
     * with loss_1 the first round's training loss. Only the server knows the losses (the
     * clients report their sums to it), so it computes s_t here and sends it; on --resume the
     * rows come back from the checkpoint's /metrics (doubles), so a resumed run computes the
     * same s_t as an uninterrupted one. Rounds 1 and 2 have no fall to measure yet: s0. */
    double loss0 = NAN, prev = NAN;
    for (int i = 0; i < metrics->n; i++) {
        const sal_round *r = &metrics->rows[i];
        if (r->round == 1) loss0 = r->train_loss;
        if (r->round == round) prev = r->train_loss; /* round is 0-based: t - 1 = round */
    }
    return sal_adaquant_levels(cfg->quantize_levels, loss0, prev, SAL_QSGD_MAX_LEVELS);
}

size_t sal_fed_quant_cap(const sal_config *cfg, size_t nw, size_t ns) {
    if (cfg->quantize == SAL_QUANT_NONE) return 0;
    /* adaquant's levels may grow up to the codec's limit: room for the widest field */
    int most = cfg->quantize == SAL_QUANT_QSGD ? cfg->quantize_levels : SAL_QSGD_MAX_LEVELS;
    return sal_fed_quant_bytes(cfg, nw, ns, most);
}

size_t sal_fed_quant_bytes(const sal_config *cfg, size_t nw, size_t ns, int levels) {
    return sal_qsgd_encoded_bytes(nw, levels, (size_t)cfg->quantize_bucket) + 4 * ns;
}

sal_status sal_fed_quant_encode(const sal_config *cfg, int round, int c, int levels, float *local,
                                const float *global, size_t nw, size_t ns, uint8_t *out,
                                size_t cap, size_t *len, sal_err *err) {
    for (size_t i = 0; i < nw; i++) local[i] -= global[i];
    /* Keyed by (seed, round, client), never by rank: the same client draws the same rounding
     * whichever rank hosts it, so metrics do not depend on the rank count. */
    sal_rng r;
    sal_rng_seed(&r, cfg->seed, SAL_STREAM_QUANT,
                 (uint64_t)round * (uint64_t)cfg->clients + (uint64_t)c);
    size_t q = 0;
    sal_status st = sal_qsgd_encode(local, nw, levels, (size_t)cfg->quantize_bucket, &r, out,
                                    cap, &q, err);
    if (st) return st;
    if (cap - q < 4 * ns)
        return sal_fail(err, SAL_EINVAL, "quantized upload: %zu bytes of room, %zu needed", cap,
                        q + 4 * ns);
    for (size_t j = 0; j < ns; j++) {
        uint32_t u;
        memcpy(&u, &local[nw + j], 4);
        sal_put_le32(out + q + 4 * j, u);
    }
    *len = q + 4 * ns;
    return SAL_OK;
}

sal_status sal_fed_quant_decode(const sal_config *cfg, const uint8_t *in, size_t len, int levels,
                                float *dec, size_t nw, size_t ns, sal_err *err) {
    const size_t want = sal_fed_quant_bytes(cfg, nw, ns, levels);
    if (len != want)
        return sal_fail(err, SAL_EFORMAT, "%zu bytes, expected %zu at %d levels", len, want,
                        levels);
    const size_t q = want - 4 * ns;
    sal_status st = sal_qsgd_decode(in, q, dec, nw, err);
    if (st) return st;
    for (size_t j = 0; j < ns; j++) {
        uint32_t u = sal_get_le32(in + q + 4 * j);
        memcpy(&dec[nw + j], &u, 4);
        if (!isfinite(dec[nw + j]))
            return sal_fail(err, SAL_EFORMAT, "state value %zu is not finite", j);
    }
    return SAL_OK;
}
