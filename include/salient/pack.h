/* pack.h - what travels when the mask is shared: weights packed to their nnz masked entries
 * (no indices, since both sides hold the mask) and the mask itself packed to bits. */
#ifndef SALIENT_PACK_H
#define SALIENT_PACK_H

#include <stddef.h>
#include <stdint.h>

/* Gather the entries of w (n) where mask (n, 0 or 1) is nonzero into out (nnz). Returns nnz. */
size_t sal_pack_masked(const float *w, const float *mask, size_t n, float *out);
/* Scatter packed (nnz) back to w (n) at the mask's nonzero entries; the others become exactly 0.
 * Returns nnz read. */
size_t sal_unpack_masked(const float *packed, const float *mask, size_t n, float *w);

/* Bytes needed for n mask bits. */
static inline size_t sal_bits_bytes(size_t n) { return (n + 7) / 8; }
/* Bit i of bits (LSB first within a byte) = mask[i] != 0. bits: sal_bits_bytes(n) bytes. */
void sal_bits_from_mask(const float *mask, size_t n, uint8_t *bits);
/* mask[i] = bit i of bits (1.0f or 0.0f). */
void sal_bits_to_mask(const uint8_t *bits, size_t n, float *mask);

#endif
