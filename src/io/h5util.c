/* h5util.c - see h5util.h. */
#include "h5util.h"
#include "salient/bytes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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
    F(clients_evaluated, H5T_NATIVE_INT); /* from format version 4 on; older files lack them and */
    F(client_acc_mean, H5T_NATIVE_DOUBLE); /* read as 0 (HDF5 converts compounds by name, */
    F(client_acc_min, H5T_NATIVE_DOUBLE);  /* leaving members the file lacks as they were) */
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
                           uint64_t data_fp, uint64_t split_fp, int world_size,
                           const char *config) {
    char head[600];
    int len = snprintf(head, sizeof head,
                       "format_version=%d\nround=%d\nstep=%" PRId64 "\nnranks=%d\nalgorithm=%s\n"
                       "arch=%s\nseed=%" PRIu64 "\nparameters=%" PRIu64 "\nnnz=%" PRIu64 "\n",
                       version, round, step, nranks, algorithm, arch, seed, n, nnz);
    if (len < 0) len = 0;
    if (len >= (int)sizeof head) len = (int)sizeof head - 1;
    if (version >= 3) {
        int more = snprintf(head + len, sizeof head - (size_t)len,
                            "data_fingerprint=%016" PRIx64 "\nsplit_fingerprint=%016" PRIx64 "\n",
                            data_fp, split_fp);
        if (more > 0) len += more;
        if (len >= (int)sizeof head) len = (int)sizeof head - 1;
    }
    if (version >= 5) {
        int more = snprintf(head + len, sizeof head - (size_t)len, "world_size=%d\n", world_size);
        if (more > 0) len += more;
        if (len >= (int)sizeof head) len = (int)sizeof head - 1;
    }
    uint32_t crc = sal_crc32c(0, head, (size_t)len);
    return sal_crc32c(crc, config, strlen(config));
}

/* An attribute whose dataspace is a scalar (or a 1-element simple space when n == 1 is not
 * required): the only shape salient writes for one value. */
static hid_t open_attr_of(hid_t obj, const char *name, H5T_class_t cls, hssize_t n, int scalar) {
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t sp = H5Aget_space(a), t = H5Aget_type(a);
    int ok = sp >= 0 && t >= 0 && H5Tget_class(t) == cls;
    if (ok && scalar) ok = H5Sget_simple_extent_type(sp) == H5S_SCALAR;
    if (ok && !scalar)
        ok = H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_npoints(sp) == n;
    if (ok && cls == H5T_INTEGER) ok = H5Tget_size(t) <= 8;
    if (ok && cls == H5T_STRING) ok = H5Tis_variable_str(t) == 0;
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (!ok) {
        H5Aclose(a);
        return -1;
    }
    return a;
}

int sal_h5_attr_int(hid_t obj, const char *name, hid_t memtype, void *v) {
    hid_t a = open_attr_of(obj, name, H5T_INTEGER, 1, 1);
    if (a < 0) return -1;
    int rc = H5Aread(a, memtype, v) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}

int sal_h5_attr_u32s(hid_t obj, const char *name, uint32_t *v, size_t n) {
    hid_t a = open_attr_of(obj, name, H5T_INTEGER, (hssize_t)n, 0);
    if (a < 0) return -1;
    int rc = H5Aread(a, H5T_NATIVE_UINT32, v) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}

char *sal_h5_attr_str(hid_t obj, const char *name, size_t max) {
    hid_t a = open_attr_of(obj, name, H5T_STRING, 1, 1);
    if (a < 0) return NULL;
    hid_t t = H5Aget_type(a);
    size_t len = H5Tget_size(t);
    H5Tclose(t);
    char *s = NULL;
    if (len > 0 && len <= max) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, len + 1);
        s = calloc(len + 2, 1);
        if (s && H5Aread(a, mt, s) < 0) {
            free(s);
            s = NULL;
        }
        H5Tclose(mt);
    }
    H5Aclose(a);
    return s;
}

uint32_t sal_h5_metrics_crc(const sal_round *rows, size_t k, int version) {
    uint32_t crc = 0;
    for (size_t i = 0; i < k; i++) {
        const sal_round *r = &rows[i];
        /* field by field: the struct's padding bytes are not part of the data */
#define F(name) crc = sal_crc32c(crc, &r->name, sizeof r->name)
        F(round), F(evaluated), F(test_acc), F(test_loss), F(train_loss), F(density);
        F(bytes_up), F(bytes_down), F(comm_s), F(wait_s), F(compute_s), F(wall_s), F(lr);
        F(samples_per_s), F(decentral), F(consensus), F(local_acc_mean), F(local_acc_min);
        if (version >= 4) F(clients_evaluated), F(client_acc_mean), F(client_acc_min);
#undef F
    }
    return crc;
}

uint32_t sal_h5_i64_crc(const int64_t *v, size_t k) {
    uint32_t crc = 0;
    for (size_t i = 0; i < k; i++) {
        uint8_t b[8];
        sal_put_le64(b, (uint64_t)v[i]);
        crc = sal_crc32c(crc, b, sizeof b);
    }
    return crc;
}
