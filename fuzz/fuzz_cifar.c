/* fuzz_cifar.c - libFuzzer target for CIFAR-10 binary records (sal_cifar_append), appended
 * twice to check that growing an existing data set is as safe as filling an empty one. */
#include "salient/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sal_dataset ds = {.c = 3, .h = 32, .w = 32};
    sal_err err;
    if (sal_cifar_append(&ds, data, size, "fuzz.bin", &err) == SAL_OK) {
        int n = ds.n;
        if (sal_cifar_append(&ds, data, size, "fuzz.bin", &err) != SAL_OK || ds.n != 2 * n)
            __builtin_trap(); /* the same bytes cannot be good once and bad twice */
        for (int i = 0; i < ds.n; i++)
            if (ds.y[i] > 9) __builtin_trap();
        volatile uint8_t sink = ds.x[(size_t)ds.n * 3072 - 1];
        (void)sink;
    }
    sal_dataset_free(&ds);
    return 0;
}
