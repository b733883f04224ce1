/* test_seal.c - the seal of a checkpoint (ckpt_seal.c): its header read back field by field by
 * the layout in docs/checkpoint-format.md, its CRC against one computed here over the covered
 * bytes cut out by hand; then what the check must catch (a changed covered byte, a changed
 * header, a longer or shorter file, no seal) and must not (a change inside a skipped range),
 * and what sealing must refuse. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "salient/ckpt.h"
#include "salient/crc32c.h"

enum { SIZE = 3512 };
static uint8_t body[SIZE];
static char path[64];

static void write_file(const uint8_t *b, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n);
    if (f) fclose(f);
}

static void read_file(uint8_t *b, size_t n) {
    FILE *f = fopen(path, "rb");
    CHECK(f && fread(b, 1, n, f) == n);
    if (f) fclose(f);
}

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The check's verdict and whether its message contains want. */
static void expect(const char *what, const char *want) {
    sal_err err;
    sal_status st = sal_ckpt_seal_check(path, &err);
    if (!want) {
        CHECK_MSG(st == SAL_OK, "%s: refused: %s", what, err.msg);
    } else {
        CHECK_MSG(st != SAL_OK && strstr(err.msg, want) && strstr(err.msg, path),
                  "%s: want an error naming the file and '%s', got %s", what, want,
                  st ? err.msg : "ok");
    }
}

int main(void) {
    snprintf(path, sizeof path, "/tmp/test_seal.%d", (int)getpid());
    uint32_t x = 12345;
    for (int i = SAL_SEAL_BYTES; i < SIZE; i++)
        body[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
    write_file(body, SIZE);
    const sal_seal_skip skip[2] = {{1000, 200}, {2000, 100}};
    sal_err err;
    CHECK(sal_ckpt_seal(path, skip, 2, &err) == SAL_OK);

    /* the header, by the documented layout */
    uint8_t got[SIZE];
    read_file(got, SIZE);
    CHECK(!memcmp(got, "SALIENT SEAL v1\n", 16));
    CHECK(le64(got + 16) == SIZE);
    uint32_t want = sal_crc32c(0, body + 512, 1000 - 512);
    want = sal_crc32c(want, body + 1200, 2000 - 1200);
    want = sal_crc32c(want, body + 2100, SIZE - 2100);
    CHECK_MSG(le32(got + 24) == want, "covered CRC %08x, want %08x", le32(got + 24), want);
    CHECK(le32(got + 28) == 2);
    CHECK(le64(got + 32) == 1000 && le64(got + 40) == 200 && le64(got + 48) == 2000 &&
          le64(got + 56) == 100);
    CHECK(le32(got + 508) == sal_crc32c(0, got, 508));
    CHECK(!memcmp(got + 512, body + 512, SIZE - 512)); /* the rest untouched */
    int zeros = 1;
    for (int i = 64; i < 508; i++) zeros &= got[i] == 0;
    CHECK(zeros);
    expect("the sealed file", NULL);

    /* a change inside a skipped range passes (the rows' own CRCs catch it); outside it fails */
    uint8_t bad[SIZE + 1];
    memcpy(bad, got, SIZE);
    bad[1100] ^= 1;
    write_file(bad, SIZE);
    expect("a change in a skipped range", NULL);
    bad[1100] ^= 1, bad[1300] ^= 1;
    write_file(bad, SIZE);
    expect("a change at 1300", "fails the CRC-32C of its seal");
    bad[1300] ^= 1, bad[SIZE - 1] ^= 0x80;
    write_file(bad, SIZE);
    expect("a change in the last byte", "fails the CRC-32C of its seal");
    bad[SIZE - 1] ^= 0x80, bad[20] ^= 1;
    write_file(bad, SIZE);
    expect("a change in the header", "seal (the first 512 bytes) fails its CRC-32C");
    bad[20] ^= 1, bad[SIZE] = 0;
    write_file(bad, SIZE + 1);
    expect("a byte appended", "truncated or damaged");
    write_file(bad, SIZE - 1);
    expect("the last byte cut", "truncated or damaged");
    write_file(bad, 300);
    expect("cut inside the seal", "fails its CRC-32C");
    memcpy(bad, "\x89HDF\r\n\x1a\n", 8);
    write_file(bad, SIZE);
    expect("an HDF5 file without seal", "HDF5 file without a salient seal");
    write_file((const uint8_t *)"not a checkpoint\n", 17);
    expect("text", "not a salient checkpoint");

    /* sealing refuses a user block that is not empty, and ranges it cannot hold */
    write_file(got, SIZE); /* sealed already: its user block is not empty */
    CHECK(sal_ckpt_seal(path, NULL, 0, &err) != SAL_OK && strstr(err.msg, "empty user block"));
    write_file(body, SIZE);
    const sal_seal_skip before[1] = {{100, 10}}, past[1] = {{3500, 100}},
                        overlap[2] = {{1000, 200}, {1100, 10}};
    CHECK(sal_ckpt_seal(path, before, 1, &err) != SAL_OK);
    CHECK(sal_ckpt_seal(path, past, 1, &err) != SAL_OK);
    CHECK(sal_ckpt_seal(path, overlap, 2, &err) != SAL_OK);
    CHECK(sal_ckpt_seal(path, skip, SAL_SEAL_SKIPS_MAX + 1, &err) != SAL_OK);
    read_file(got, SIZE);
    CHECK_MSG(!memcmp(got, body, SIZE), "a refused seal changed the file");
    CHECK(sal_ckpt_seal(path, NULL, 0, &err) == SAL_OK);
    expect("sealed with no skipped range", NULL);
    unlink(path);
    return sal_test_done("test_seal");
}
