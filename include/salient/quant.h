/* quant.h - the QSGD payload codec (Alistarh et al., "QSGD: communication-efficient SGD via
 * gradient quantization and encoding", NeurIPS 2017) and AdaQuantFL's level schedule
 * (Jhunjhunwala et al., arXiv 2102.04487): a float vector sent as per-bucket norms plus, per
 * entry, a sign and one of s + 1 levels, drawn so that the decoded vector is unbiased.
 *
 * Q(v_i) = ||v_B|| sign(v_i) xi_i, where B is v_i's bucket of `bucket` consecutive entries (the
 * whole vector when bucket = 0), r = |v_i| / ||v_B|| in [0, 1], l = floor(r s) and xi_i = (l + 1)
 * / s with probability r s - l, else l / s. Then E[Q(v)] = v and, per bucket of d entries,
 * E ||Q(v_B) - v_B||^2 <= min(d / s^2, sqrt(d) / s) ||v_B||^2 (the paper's Lemma 3.1).
 *
 * The encoding is fixed-width, not the paper's Elias code: every entry costs 1 + ceil(log2(s +
 * 1)) bits, so the length is known before encoding and a decoder can check it. Layout, all
 * little-endian: "QSG1", u64 n, u32 levels, u32 bucket, f32 norm per bucket, then the entries'
 * bit fields packed LSB-first (level in the low bits, sign above it), padded to a byte. */
#ifndef SALIENT_QUANT_H
#define SALIENT_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "salient/rng.h"
#include "salient/status.h"

#define SAL_QSGD_MAX_LEVELS 65535 /* 16 bits of level: beyond it, floats are cheaper */

/* Bytes sal_qsgd_encode writes for n entries: the header, the norms and the packed fields. */
size_t sal_qsgd_encoded_bytes(size_t n, int levels, size_t bucket);

/* Encode v (n floats, finite) with `levels` = s in [1, SAL_QSGD_MAX_LEVELS] and buckets of
 * `bucket` entries (0: one bucket); the random rounding draws from r (the caller keys it, e.g.
 * by seed, round and client, so results do not depend on ranks). out has cap bytes, at least
 * sal_qsgd_encoded_bytes(...). SAL_EINVAL for bad arguments, SAL_ENUMERIC for a non-finite v. */
sal_status sal_qsgd_encode(const float *v, size_t n, int levels, size_t bucket, sal_rng *r,
                           uint8_t *out, size_t cap, size_t *written, sal_err *err);

/* Decode `len` bytes into v (n floats). Every field of a hostile buffer is checked: the magic,
 * n against the caller's, the level count, the exact length, finite non-negative norms.
 * SAL_EFORMAT with one line otherwise. */
sal_status sal_qsgd_decode(const uint8_t *in, size_t len, float *v, size_t n, sal_err *err);

/* AdaQuantFL's levels for a round: s = ceil(s0 sqrt(loss0 / loss)), at least s0, at most max
 * (the paper's Theorem 2 schedule: more levels as the training loss falls; loss0 is the loss at
 * the first round). Non-positive or non-finite losses keep s0. */
int sal_adaquant_levels(int s0, double loss0, double loss, int max);

#endif
