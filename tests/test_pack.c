/* test_pack.c - the packed exchange: a masked buffer packs to exactly its nnz entries in index
 * order and unpacks to the dense values at the mask's positions and exact zeros elsewhere; masks
 * survive the bit packing for every length (including n not a multiple of 8). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/pack.h"
#include "salient/rng.h"

static void test_masked_roundtrip(void) {
    sal_rng r;
    sal_rng_seed(&r, 7, SAL_STREAM_MASK, 99);
    for (size_t n = 1; n < 5000; n = n < 300 ? n + 37 : n * 3 + 1) {
        float *dense = malloc(sizeof(float) * n), *mask = malloc(sizeof(float) * n);
        float *packed = malloc(sizeof(float) * n), *back = malloc(sizeof(float) * n);
        size_t nnz = 0;
        for (size_t i = 0; i < n; i++) {
            dense[i] = (float)(sal_rng_normal(&r) + 0.5); /* nonzero almost surely */
            /* random masks of several densities, and a -0.0f that must count as pruned */
            mask[i] = sal_rng_uniform(&r) < (n % 3 ? 0.3 : 0.9) ? 1.0f : (i % 7 ? 0.0f : -0.0f);
            nnz += mask[i] != 0.0f;
        }
        CHECK(sal_pack_masked(dense, mask, n, packed) == nnz);
        /* packed holds the kept entries in index order, nothing else */
        size_t k = 0, order_ok = 1;
        for (size_t i = 0; i < n; i++)
            if (mask[i] != 0.0f) order_ok &= packed[k++] == dense[i];
        CHECK(order_ok);
        for (size_t i = 0; i < n; i++) back[i] = 123.0f; /* stale values must be overwritten */
        CHECK(sal_unpack_masked(packed, mask, n, back) == nnz);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += mask[i] != 0.0f ? back[i] != dense[i] : back[i] != 0.0f;
        CHECK_MSG(bad == 0, "n=%zu: %zu entries differ from the dense exchange", n, bad);
        free(dense), free(mask), free(packed), free(back);
    }
}

static void test_bits(void) {
    for (size_t n = 1; n <= 67; n++) {
        float mask[67], back[67];
        uint8_t bits[9];
        for (size_t i = 0; i < n; i++) mask[i] = (i * 7 + n) % 3 == 0 ? 1.0f : 0.0f;
        memset(bits, 0xAB, sizeof bits);
        sal_bits_from_mask(mask, n, bits);
        CHECK(sal_bits_bytes(n) == (n + 7) / 8);
        sal_bits_to_mask(bits, n, back);
        CHECK(!memcmp(mask, back, sizeof(float) * n));
        /* padding bits of the last byte are zero, so equal masks give equal bytes */
        if (n % 8) CHECK((bits[n / 8] >> (n % 8)) == 0);
    }
    float m[10] = {1, 0, 0, 0, 0, 0, 0, 1, 1, 0};
    uint8_t b[2];
    sal_bits_from_mask(m, 10, b);
    CHECK(b[0] == 0x81 && b[1] == 0x01); /* bit i of byte i/8, least significant first */
}

int main(void) {
    int isa = sal_test_isa("test_pack");
    if (isa) return isa;
    test_masked_roundtrip();
    test_bits();
    return sal_test_done("test_pack");
}
