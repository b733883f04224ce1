/* pack.c - packing masked weights to nnz-length buffers and masks to bits (see pack.h). The
 * mask is fixed for a run, so a message carries values only; SparCML-style index lists would
 * double the bytes for no information. */
#include "salient/pack.h"

#include <string.h>

size_t sal_pack_masked(const float *w, const float *mask, size_t n, float *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (mask[i] != 0.0f) out[k++] = w[i];
    return k;
}

size_t sal_unpack_masked(const float *packed, const float *mask, size_t n, float *w) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) w[i] = mask[i] != 0.0f ? packed[k++] : 0.0f;
    return k;
}

void sal_bits_from_mask(const float *mask, size_t n, uint8_t *bits) {
    memset(bits, 0, sal_bits_bytes(n));
    for (size_t i = 0; i < n; i++)
        if (mask[i] != 0.0f) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

void sal_bits_to_mask(const uint8_t *bits, size_t n, float *mask) {
    for (size_t i = 0; i < n; i++) mask[i] = (bits[i >> 3] >> (i & 7)) & 1u ? 1.0f : 0.0f;
}
