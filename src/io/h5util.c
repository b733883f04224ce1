/* h5util.c - see h5util.h. */
#include "h5util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "salient/crc32c.h"
#include "salient/metrics.h"

void sal_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

typedef struct last_msg {
    char *buf;
    size_t cap;
} last_msg;

static herr_t keep_desc(unsigned n, const H5E_error2_t *e, void *data) {
    last_msg *m = data;
    if (n == 0 && e->desc && e->desc[0]) snprintf(m->buf, m->cap, "%s", e->desc);
    return 0;
}

const char *sal_h5_last_error(char *buf, size_t cap) {
    snprintf(buf, cap, "unknown HDF5 error");
    last_msg m = {buf, cap};
    /* H5E_WALK_UPWARD starts at the innermost (where the library noticed the problem). */
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_desc, &m);
    return buf;
}

hid_t sal_h5_round_type(int packed) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(sal_round));
#define F(name, type) H5Tinsert(t, #name, HOFFSET(sal_round, name), type)
    F(round, H5T_NATIVE_INT);
    F(evaluated, H5T_NATIVE_INT);
    F(test_acc, H5T_NATIVE_DOUBLE);
    F(test_loss, H5T_NATIVE_DOUBLE);
    F(train_loss, H5T_NATIVE_DOUBLE);
    F(density, H5T_NATIVE_DOUBLE);
    F(bytes_up, H5T_NATIVE_UINT64);
    F(bytes_down, H5T_NATIVE_UINT64);
    F(comm_s, H5T_NATIVE_DOUBLE);
    F(wait_s, H5T_NATIVE_DOUBLE);
    F(compute_s, H5T_NATIVE_DOUBLE);
    F(wall_s, H5T_NATIVE_DOUBLE);
    F(lr, H5T_NATIVE_DOUBLE);
    F(samples_per_s, H5T_NATIVE_DOUBLE);
    F(decentral, H5T_NATIVE_INT);
    F(consensus, H5T_NATIVE_DOUBLE);
    F(local_acc_mean, H5T_NATIVE_DOUBLE);
    F(local_acc_min, H5T_NATIVE_DOUBLE);
#undef F
    if (packed) H5Tpack(t);
    return t;
}

void sal_h5_split_name(const char *name, char *layer, size_t lcap, char *leaf, size_t fcap) {
    const char *dot = strrchr(name, '.');
    if (!dot) {
        snprintf(layer, lcap, "%s", name);
        snprintf(leaf, fcap, "value");
        return;
    }
    snprintf(layer, lcap, "%.*s", (int)(dot - name), name);
    snprintf(leaf, fcap, "%s", dot + 1);
}


uint32_t sal_h5_header_crc(int version, int round, int64_t step, int nranks, const char *algorithm,
                           const char *arch, uint64_t seed, uint64_t n, uint64_t nnz,
                           const char *config) {
    char head[512];
    int len = snprintf(head, sizeof head,
                       "format_version=%d\nround=%d\nstep=%" PRId64 "\nnranks=%d\nalgorithm=%s\n"
                       "arch=%s\nseed=%" PRIu64 "\nparameters=%" PRIu64 "\nnnz=%" PRIu64 "\n",
                       version, round, step, nranks, algorithm, arch, seed, n, nnz);
    if (len < 0) len = 0;
    if (len >= (int)sizeof head) len = (int)sizeof head - 1;
    uint32_t crc = sal_crc32c(0, head, (size_t)len);
    return sal_crc32c(crc, config, strlen(config));
}
