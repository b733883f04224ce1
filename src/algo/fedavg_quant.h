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
/* Bytes that hold any upload of msg floats this config may encode (0 for quantize = none). */
size_t sal_fed_quant_cap(const sal_config *cfg, size_t msg);
/* Bytes of one upload of msg floats at `levels` (what bytes_up counts per client). */
size_t sal_fed_quant_bytes(const sal_config *cfg, size_t msg, int levels);
/* Client c in round (0-based): local (msg floats, its packed model; overwritten with the update
 * local - global) QSGD-encoded at `levels` into out (cap bytes), *len bytes written. The random
 * rounding draws from stream (seed, QUANT, round * clients + c). Errors as sal_qsgd_encode. */
sal_status sal_fed_quant_encode(const sal_config *cfg, int round, int c, int levels, float *local,
                                const float *global, size_t msg, uint8_t *out, size_t cap,
                                size_t *len, sal_err *err);

#endif
