/* quant.c - QSGD encode/decode with fixed-width bit fields, and AdaQuantFL's level rule
 * (quant.h). Norms are summed in double and stored as float; the levels are computed against the
 * stored float norm, so that encoder and decoder agree on the scale exactly. */
#include <math.h>
#include <string.h>

#include "salient/bytes.h"
#include "salient/quant.h"

enum { HEADER = 4 + 8 + 4 + 4 };

static int level_bits(int levels) {
    int b = 0;
    while ((1L << b) < (long)levels + 1) b++;
    return b;
}

static size_t buckets_of(size_t n, size_t bucket) {
    if (n == 0) return 0;
    return bucket == 0 ? 1 : (n + bucket - 1) / bucket;
}

size_t sal_qsgd_encoded_bytes(size_t n, int levels, size_t bucket) {
    const size_t bits = (size_t)(1 + level_bits(levels));
    return HEADER + 4 * buckets_of(n, bucket) + (n * bits + 7) / 8;
}

/* A little-endian bit stream: fields of up to 17 bits appended LSB-first. */
typedef struct bits {
    uint8_t *p;
    uint64_t acc;
    int used;
} bits;
static void bits_put(bits *b, uint32_t v, int w) {
    b->acc |= (uint64_t)v << b->used;
    b->used += w;
    while (b->used >= 8) *b->p++ = (uint8_t)b->acc, b->acc >>= 8, b->used -= 8;
}
static void bits_flush(bits *b) {
    if (b->used > 0) *b->p++ = (uint8_t)b->acc;
    b->acc = 0, b->used = 0;
}

sal_status sal_qsgd_encode(const float *v, size_t n, int levels, size_t bucket, sal_rng *r,
                           uint8_t *out, size_t cap, size_t *written, sal_err *err) {
    if (levels < 1 || levels > SAL_QSGD_MAX_LEVELS)
        return sal_fail(err, SAL_EINVAL, "qsgd: %d levels; expected 1..%d", levels,
                        SAL_QSGD_MAX_LEVELS);
    const size_t need = sal_qsgd_encoded_bytes(n, levels, bucket);
    if (cap < need) return sal_fail(err, SAL_EINVAL, "qsgd: %zu bytes for %zu", cap, need);
    const size_t nb = buckets_of(n, bucket), d = bucket ? bucket : n;
    const int w = level_bits(levels);
    memcpy(out, "QSG1", 4);
    sal_put_le64(out + 4, n);
    sal_put_le32(out + 12, (uint32_t)levels);
    sal_put_le32(out + 16, (uint32_t)bucket);
    uint8_t *norms = out + HEADER;
    bits b = {.p = norms + 4 * nb};
    for (size_t k = 0; k < nb; k++) {
        const size_t lo = k * d, hi = lo + d < n ? lo + d : n;
        double ss = 0;
        for (size_t i = lo; i < hi; i++) {
            if (!isfinite(v[i])) return sal_fail(err, SAL_ENUMERIC, "qsgd: entry %zu is not finite", i);
            ss += (double)v[i] * v[i];
        }
        const float norm = (float)sqrt(ss);
        uint32_t nbits;
        memcpy(&nbits, &norm, 4);
        sal_put_le32(norms + 4 * k, nbits);
        for (size_t i = lo; i < hi; i++) {
            uint32_t level = 0;
            if (norm > 0) {
                double x = fabs((double)v[i]) / norm * levels; /* in [0, s] up to rounding */
                if (x > levels) x = levels;
                const double l = floor(x);
                level = (uint32_t)l + (sal_rng_uniform(r) < x - l);
                if (level > (uint32_t)levels) level = (uint32_t)levels;
            }
            bits_put(&b, level | (uint32_t)(v[i] < 0) << w, w + 1);
        }
    }
    bits_flush(&b);
    *written = (size_t)(b.p - out);
    return SAL_OK;
}

sal_status sal_qsgd_decode(const uint8_t *in, size_t len, float *v, size_t n, sal_err *err) {
    if (len < HEADER || memcmp(in, "QSG1", 4))
        return sal_fail(err, SAL_EFORMAT, "qsgd payload: no QSG1 header (%zu bytes)", len);
    const uint64_t n_in = sal_get_le64(in + 4);
    const uint32_t levels = sal_get_le32(in + 12), bucket = sal_get_le32(in + 16);
    if (n_in != n)
        return sal_fail(err, SAL_EFORMAT, "qsgd payload: %llu entries, expected %zu",
                        (unsigned long long)n_in, n);
    if (levels < 1 || levels > SAL_QSGD_MAX_LEVELS)
        return sal_fail(err, SAL_EFORMAT, "qsgd payload: %u levels, expected 1..%d", levels,
                        SAL_QSGD_MAX_LEVELS);
    if (len != sal_qsgd_encoded_bytes(n, (int)levels, bucket))
        return sal_fail(err, SAL_EFORMAT, "qsgd payload: %zu bytes, expected %zu", len,
                        sal_qsgd_encoded_bytes(n, (int)levels, bucket));
    const size_t nb = buckets_of(n, bucket), d = bucket ? bucket : n;
    const int w = level_bits((int)levels);
    const uint32_t mask = (1u << w) - 1;
    const uint8_t *p = in + HEADER + 4 * nb;
    uint64_t acc = 0;
    int have = 0;
    for (size_t k = 0; k < nb; k++) {
        const uint32_t nbits = sal_get_le32(in + HEADER + 4 * k);
        float norm;
        memcpy(&norm, &nbits, 4);
        if (!isfinite(norm) || norm < 0)
            return sal_fail(err, SAL_EFORMAT, "qsgd payload: bucket %zu has norm %g", k, norm);
        const size_t lo = k * d, hi = lo + d < n ? lo + d : n;
        for (size_t i = lo; i < hi; i++) {
            while (have < w + 1) acc |= (uint64_t)*p++ << have, have += 8;
            const uint32_t f = (uint32_t)acc & ((mask << 1) | 1);
            acc >>= w + 1, have -= w + 1;
            const uint32_t level = f & mask;
            if (level > levels)
                return sal_fail(err, SAL_EFORMAT, "qsgd payload: entry %zu has level %u of %u", i,
                                level, levels);
            const float q = (float)((double)norm * level / levels);
            v[i] = (f >> w) ? -q : q;
        }
    }
    return SAL_OK;
}

int sal_adaquant_levels(int s0, double loss0, double loss, int max) {
    if (!(loss0 > 0) || !(loss > 0) || !isfinite(loss0) || !isfinite(loss)) return s0;
    const double s = ceil(s0 * sqrt(loss0 / loss));
    if (s < s0) return s0;
    return s > max ? max : (int)s;
}
