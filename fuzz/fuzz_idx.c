/* fuzz_idx.c - libFuzzer target for the MNIST file path: gzip inflation, then IDX parsing.
 * Any input must give SAL_OK or a clean error; ASan/UBSan report everything else. */
#include <stdlib.h>

#include "salient/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *raw = NULL;
    size_t n = 0;
    sal_err err;
    /* A 4 MiB cap keeps decompression bombs inside the fuzzer's memory limit. */
    if (sal_gunzip(data, size, &raw, &n, (size_t)4 << 20, "fuzz.gz", &err) != SAL_OK) return 0;
    sal_idx idx;
    if (sal_idx_parse(raw, n, &idx, "fuzz", &err) == SAL_OK) {
        /* Touch the data the parser vouched for, so a wrong count shows up as an overflow. */
        volatile uint8_t sink = 0;
        if (idx.count) sink ^= idx.data[0] ^ idx.data[idx.count - 1];
        (void)sink;
    }
    free(raw);
    return 0;
}
