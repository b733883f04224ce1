/* bytes.h - fixed-width little-endian integers in byte buffers, for the formats salient writes
 * itself (the QSGD payload, quant.h; the checkpoint seal, ckpt.h): the same bytes whatever the
 * host's byte order, and no unaligned access. */
#ifndef SALIENT_BYTES_H
#define SALIENT_BYTES_H

#include <stdint.h>

static inline void sal_put_le32(uint8_t *p, uint32_t x) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(x >> (8 * i));
}
static inline void sal_put_le64(uint8_t *p, uint64_t x) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(x >> (8 * i));
}
static inline uint32_t sal_get_le32(const uint8_t *p) {
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x |= (uint32_t)p[i] << (8 * i);
    return x;
}
static inline uint64_t sal_get_le64(const uint8_t *p) {
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x |= (uint64_t)p[i] << (8 * i);
    return x;
}

#endif
