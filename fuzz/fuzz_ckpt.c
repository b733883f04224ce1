/* fuzz_ckpt.c - libFuzzer target for the checkpoint reader's own checks: every attribute's
 * class and shape, every dataset's type, shape and CRC, /metrics, non-finite values. The input
 * is written to a file for HDF5 to open (HDF5 parses only files); seeds are small valid
 * checkpoints (scripts/fuzz writes them), so that mutations reach salient's checks rather
 * than stop at HDF5's superblock. Any input must give SAL_OK or a clean error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "salient/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_ckpt.%d.h5", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int bad = fwrite(data, 1, size, f) != size;
    if (fclose(f) || bad) return 0;
    sal_err err;
    /* inspect: the header, a tensor table rebuilt from the file's own /model, every dataset */
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        sal_ckpt_inspect(path, null, &err);
        fclose(null);
    }
    /* load into a fixed model (the seeds' fc [4, 3] + bias [4]), rank 1's rows, the metrics */
    sal_params p;
    memset(&p, 0, sizeof p);
    const int wshape[2] = {4, 3}, bshape[1] = {4};
    if (sal_params_add(&p, "fc.weight", 2, wshape, 1, 1, SAL_INIT_FANIN) >= 0 &&
        sal_params_add(&p, "fc.bias", 1, bshape, 1, 0, SAL_INIT_FANIN) >= 0 &&
        sal_params_alloc(&p) == SAL_OK) {
        float rows[16], mom[16];
        sal_metrics m;
        memset(&m, 0, sizeof m);
        sal_ckpt_dst d = {
            .p = &p, .model = 1, .momentum = mom, .rank = 1, .rank_w = rows, .metrics = &m};
        sal_ckpt_load(path, &d, &err);
        free(m.rows);
    }
    sal_params_free(&p);
    unlink(path);
    return 0;
}
