/* test_crc32c.c - CRC-32C against RFC 3720's test vectors (B.4) and the standard check value,
 * the hardware path against the table path on every length and alignment, and chaining. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/crc32c.h"
#include "salient/rng.h"

/* An independent bitwise reference: the reflected polynomial applied one bit at a time. */
static uint32_t crc_bits(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    }
    return ~c;
}

int main(void) {
    unsigned char buf[48];
    CHECK(sal_crc32c(0, "123456789", 9) == 0xe3069283u); /* the catalogue's check value */
    memset(buf, 0, 32);
    CHECK(sal_crc32c(0, buf, 32) == 0x8a9136aau); /* RFC 3720 B.4: 32 bytes of zeros */
    memset(buf, 0xff, 32);
    CHECK(sal_crc32c(0, buf, 32) == 0x62a8ab43u); /* 32 bytes of ones */
    for (int i = 0; i < 32; i++) buf[i] = (unsigned char)i;
    CHECK(sal_crc32c(0, buf, 32) == 0x46dd794eu); /* incrementing */
    CHECK(sal_crc32c(0, buf, 0) == 0);

    sal_rng r;
    sal_rng_seed(&r, 3, 99, 0);
    enum { N = 4099 };
    unsigned char *d = malloc(N + 8);
    for (int i = 0; i < N + 8; i++) d[i] = (unsigned char)sal_rng_u64(&r);
    int same = 1, chain = 1;
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n < N; n = n < 40 ? n + 1 : n * 2 + 3) {
            same &= sal_crc32c(0, d + off, n) == crc_bits(d + off, n);
            size_t h = n / 3;
            chain &= sal_crc32c(sal_crc32c(0, d + off, h), d + off + h, n - h) ==
                     sal_crc32c(0, d + off, n);
        }
    CHECK(same);
    CHECK(chain);
    free(d);
    return sal_test_done("test_crc32c");
}
