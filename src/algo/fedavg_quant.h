/* fedavg_quant.h - [comm] quantize for fedavg's uploads (private to algo/): the level count of
 * a round, buffer sizes, and the client's encoding of its update. See fedavg_quant.c. */
#ifndef SALIENT_ALGO_FEDAVG_QUANT_H
#define SALIENT_ALGO_FEDAVG_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "salient/config.h"
#include "salient/metrics.h"
#include "salient/status.h"

/* Levels s for round (0-based) `round`: [comm] quantize_levels for qsgd; AdaQuantFL's schedule
 * from the server's metrics rows (rounds 1 .. round) for adaquant. Not meaningful for none. */
int sal_fed_quant_levels(const sal_config *cfg, const sal_metrics *metrics, int round);
/* An upload is the QSGD encoding of the update of the nw packed weights, then the ns floats of
 * non-trainable state (BatchNorm running statistics) raw, little-endian: state is not a
 * gradient-like quantity (a running variance rounded stochastically could turn negative), and
 * it is small. */

/* Bytes that hold any upload this config may encode (0 for quantize = none). */
size_t sal_fed_quant_cap(const sal_config *cfg, size_t nw, size_t ns);
/* Bytes of one upload at `levels` (what bytes_up counts per client). */
size_t sal_fed_quant_bytes(const sal_config *cfg, size_t nw, size_t ns, int levels);
/* Client c in round (0-based): local (nw + ns floats, its packed model; its first nw are
 * overwritten with the update local - global) encoded at `levels` into out (cap bytes), *len
 * bytes written. The random rounding draws from stream (seed, QUANT, round * clients + c).
 * Errors as sal_qsgd_encode. */
sal_status sal_fed_quant_encode(const sal_config *cfg, int round, int c, int levels, float *local,
                                const float *global, size_t nw, size_t ns, uint8_t *out,
                                size_t cap, size_t *len, sal_err *err);
/* The server's side: check an upload of len bytes (untrusted) against the length at `levels`
 * and decode it into dec: the weights' update in dec[0, nw), the raw state in dec[nw, nw + ns).
 * SAL_EFORMAT naming what is wrong. */
sal_status sal_fed_quant_decode(const sal_config *cfg, const uint8_t *in, size_t len, int levels,
                                float *dec, size_t nw, size_t ns, sal_err *err);

#endif
