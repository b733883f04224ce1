/* fuzz_ckpt.c - libFuzzer target for the checkpoint reader, in two halves chosen by the first
 * byte; any input must give SAL_OK or a clean error.
 *
 * Raw (first byte even): the rest is the file. Its seal is checked before HDF5 parses a byte,
 * so this fuzzes the seal check. An input whose seal holds (the fuzzer can learn both CRCs from
 * the comparisons it sees) is one salient trusts as if it had written it: it goes no further,
 * because what HDF5's parser does with a damaged file is HDF5's code, with known memory-safety
 * bugs (this target found a use-after-free in H5O__msg_iterate_real before the seal existed).
 *
 * Structured (odd): the input chooses, field by field, what a checkpoint written by HDF5
 * itself holds: every header attribute and dataset valid, missing, of another class, type or
 * shape, or with other values, CRCs recomputed or not. The file is sealed and read: salient's
 * own checks behind the seal are fuzzed without HDF5 ever seeing a damaged structure. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"
#include "salient/ckpt.h"
#include "salient/crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a stream; past its end every read gives 0 (= "valid"). */
typedef struct {
    const uint8_t *p;
    size_t n;
} stream;

static unsigned take8(stream *s) {
    if (!s->n) return 0;
    s->n--;
    return *s->p++;
}
static uint64_t take64(stream *s) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | take8(s);
    return v;
}
static void take_bytes(stream *s, void *out, size_t n) {
    for (size_t i = 0; i < n; i++) ((uint8_t *)out)[i] = (uint8_t)take8(s);
}

enum { VALID = 4 }; /* ops 0..3: as salient writes it (most inputs reach the next check) */

static void write_attr(hid_t obj, const char *name, hid_t type, int rank, hsize_t n,
                       const void *v) {
    hid_t sp = rank ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, type, v);
        H5Aclose(a);
    }
    H5Sclose(sp);
}

static void write_str(hid_t obj, const char *name, const char *v, size_t len) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len ? len : 1);
    write_attr(obj, name, t, 0, 1, v);
    H5Tclose(t);
}

/* An attribute salient reads as a scalar of type (type -1: a string, valid value sv): valid,
 * missing, another value, another class, or an array. *val gets the value written. */
static void fuzz_attr(stream *s, hid_t obj, const char *name, hid_t type, uint64_t *val,
                      const char *sv) {
    /* type: H5T_NATIVE_INT, _INT64, _UINT32 or _UINT64 (written from *val), or -1: a string */
    const unsigned op = take8(s) % 8;
    if (op == VALID) return; /* missing */
    if (op == 5) {           /* another value */
        if (type >= 0) {
            *val = take64(s);
            write_attr(obj, name, H5T_NATIVE_UINT64, 0, 1, val);
        } else {
            char buf[300];
            size_t len = take8(s) + 1;
            take_bytes(s, buf, len);
            write_str(obj, name, buf, len);
        }
        return;
    }
    if (op == 6) { /* the other class */
        if (type >= 0) write_str(obj, name, "12", 3);
        else write_attr(obj, name, H5T_NATIVE_INT, 0, 1, &(int){4});
        return;
    }
    if (op == 7) { /* an array where a scalar is read */
        uint64_t arr[9] = {0};
        write_attr(obj, name, H5T_NATIVE_UINT64, 1, take8(s) % 8 + 2, arr);
        return;
    }
    if (type < 0) {
        write_str(obj, name, sv, strlen(sv) + 1);
    } else if (H5Tequal(type, H5T_NATIVE_INT) > 0) {
        const int x = (int)*val;
        write_attr(obj, name, type, 0, 1, &x);
    } else if (H5Tequal(type, H5T_NATIVE_UINT32) > 0) {
        const uint32_t x = (uint32_t)*val;
        write_attr(obj, name, type, 0, 1, &x);
    } else {
        write_attr(obj, name, type, 0, 1, val); /* 64-bit */
    }
}

/* A dataset of n float32 (or uint8) values in shape dims: valid, missing, another type, another
 * shape, other values behind a right or wrong CRC, a CRC of another shape. crcs: nrows CRCs,
 * one per row of the first dimension where nrows > 1. */
static void fuzz_dataset(stream *s, hid_t file, const char *path, int ndim, const hsize_t *dims,
                         int bytes, uint64_t offset, int nrows) {
    hsize_t n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    float v[64];
    uint8_t b[64];
    for (hsize_t i = 0; i < n; i++) v[i] = 0.25f * (float)i - 1.0f, b[i] = 1;
    const unsigned op = take8(s) % 8;
    if (op == VALID) return;
    hsize_t shape[4];
    memcpy(shape, dims, sizeof(hsize_t) * (size_t)ndim);
    hid_t ftype = bytes ? H5T_STD_U8LE : H5T_IEEE_F32LE, mtype = bytes ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT;
    if (op == 5) ftype = bytes ? H5T_IEEE_F32LE : H5T_IEEE_F64LE; /* another type */
    if (op == 6) { /* another shape, at most 64 values */
        ndim = (int)(take8(s) % 3) + 1; /* at most 4^3 = 64 values */
        n = 1;
        for (int d = 0; d < ndim; d++) shape[d] = take8(s) % 4 + 1, n *= shape[d];
    }
    if (op == 3) take_bytes(s, bytes ? (void *)b : (void *)v, (size_t)n * (bytes ? 1 : 4));
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = H5Screate_simple(ndim, shape, NULL);
    hid_t ds = H5Dcreate2(file, path, ftype, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(sp);
    H5Pclose(lcpl);
    if (ds < 0) return;
    H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes ? (void *)b : (void *)v);
    if (nrows == 0) write_attr(ds, "offset", H5T_NATIVE_UINT64, 0, 1, &offset);
    uint32_t crc[8];
    const size_t per = (size_t)n / (size_t)(nrows ? nrows : 1);
    for (int r = 0; r < (nrows ? nrows : 1) && r < 8; r++)
        crc[r] = sal_crc32c(0, bytes ? (void *)(b + r * per) : (void *)(v + r * per),
                            per * (bytes ? 1 : 4));
    if (op == 7) { /* a CRC of another shape or value */
        const unsigned k = take8(s) % 3;
        crc[0] ^= 1;
        if (k == 1) write_attr(ds, "crc32c", H5T_NATIVE_UINT32, 1, 3, crc);
        if (k == 2) write_attr(ds, "crc32c", H5T_NATIVE_UINT32, 0, 1, crc);
    } else if (nrows) {
        write_attr(ds, "crc32c", H5T_NATIVE_UINT32, 1, (hsize_t)nrows, crc);
    } else {
        write_attr(ds, "crc32c", H5T_NATIVE_UINT32, 0, 1, crc);
    }
    H5Dclose(ds);
}

static void fuzz_metrics(stream *s, hid_t file) {
    const unsigned op = take8(s) % 8;
    if (op == VALID) return;
    sal_round rows[4];
    memset(rows, 0, sizeof rows);
    const hsize_t k = op == 5 ? take8(s) % 4 + 1 : 1;
    for (hsize_t i = 0; i < k; i++) rows[i].round = (int)i + 1, rows[i].evaluated = 1;
    if (op == 3) take_bytes(s, rows, sizeof rows);
    hid_t mt = sal_h5_round_type(0), ft = sal_h5_round_type(1);
    hid_t sp = H5Screate_simple(1, &k, NULL);
    hid_t ds = H5Dcreate2(file, "/metrics", op == 6 ? H5T_STD_I32LE : ft, sp, H5P_DEFAULT,
                          H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) {
        if (op != 6) H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows);
        uint32_t crc = sal_h5_metrics_crc(rows, (size_t)k, SAL_CKPT_VERSION) ^ (op == 7);
        write_attr(ds, "crc32c", H5T_NATIVE_UINT32, 0, 1, &crc);
        H5Dclose(ds);
    }
    H5Sclose(sp);
    H5Tclose(mt);
    H5Tclose(ft);
}

/* The seeds' model: fc.weight [4, 3] + fc.bias [4] on 2 ranks, as tests/ckpt_craft.py --seed. */
static int write_structured(stream *s, const char *path) {
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_userblock(fcpl, SAL_SEAL_BYTES);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (f < 0) return -1;
    struct { const char *name; hid_t type; uint64_t v; } num[] = {
        {"format_version", H5T_NATIVE_INT, SAL_CKPT_VERSION}, {"round", H5T_NATIVE_INT, 1},
        {"step", H5T_NATIVE_INT64, 4}, {"nranks", H5T_NATIVE_INT, 2},
        {"seed", H5T_NATIVE_UINT64, 1}, {"parameters", H5T_NATIVE_UINT64, 16},
        {"nnz", H5T_NATIVE_UINT64, 16}, {"data_fingerprint", H5T_NATIVE_UINT64, 7},
        {"split_fingerprint", H5T_NATIVE_UINT64, 9}, {"world_size", H5T_NATIVE_INT, 2}};
    const char *str[][2] = {{"format", SAL_CKPT_FORMAT}, {"algorithm", "dpsgd"},
                            {"arch", "mlp"}, {"config", "[run]\nseed = 1\n"},
                            {"rng", "seed and round"}};
    uint64_t unused = 0;
    for (size_t i = 0; i < sizeof str / sizeof *str; i++)
        fuzz_attr(s, f, str[i][0], -1, &unused, str[i][1]);
    for (size_t i = 0; i < sizeof num / sizeof *num; i++) {
        fuzz_attr(s, f, num[i].name, num[i].type, &num[i].v, NULL); /* v: for the CRC below */
    }
    uint32_t hcrc = sal_h5_header_crc((int)num[0].v, (int)num[1].v, (int64_t)num[2].v,
                                      (int)num[3].v, "dpsgd", "mlp", num[4].v, num[5].v,
                                      num[6].v, num[7].v, num[8].v, (int)num[9].v,
                                      "[run]\nseed = 1\n");
    uint64_t h64 = hcrc;
    fuzz_attr(s, f, "header_crc32c", H5T_NATIVE_UINT32, &h64, NULL);
    const hsize_t w[2] = {4, 3}, b[1] = {4}, rows[2] = {2, 16};
    static const char *const roots[] = {"/model", "/mask", "/optim/momentum"};
    for (int r = 0; r < 3; r++) {
        char p[64];
        snprintf(p, sizeof p, "%s/fc/weight", roots[r]);
        fuzz_dataset(s, f, p, 2, w, r == 1, 0, 0);
        snprintf(p, sizeof p, "%s/fc/bias", roots[r]);
        fuzz_dataset(s, f, p, 1, b, r == 1, 12, 0);
    }
    fuzz_dataset(s, f, "/ranks/weights", 2, rows, 0, 0, 2);
    fuzz_metrics(s, f);
    return H5Fclose(f) < 0 ? -1 : 0;
}

/* SALIENT_FUZZ_VERBOSE=1: say what each read gave (to see how deep inputs reach). */
static void say(const char *what, sal_status st, const sal_err *err) {
    if (getenv("SALIENT_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_ckpt: %s: %s\n", what, st ? err->msg : "ok");
}

/* Read path as resume and inspect do: the header, every dataset, rank 1's row, the metrics. */
static void read_all(const char *path) {
    sal_err err;
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        say("inspect", sal_ckpt_inspect(path, null, &err), &err);
        fclose(null);
    }
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
        say("load", sal_ckpt_load(path, &d, &err), &err);
        free(m.rows);
    }
    sal_params_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_ckpt.%d.h5", (int)getpid());
    stream s = {data + 1, size - 1};
    sal_err err;
    if (data[0] & 1) {
        sal_h5_quiet();
        if (!write_structured(&s, path) && !sal_ckpt_seal(path, NULL, 0, &err)) read_all(path);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f) return 0;
        int bad = fwrite(data + 1, 1, size - 1, f) != size - 1;
        if (!fclose(f) && !bad) say("seal", sal_ckpt_seal_check(path, &err), &err);
    }
    unlink(path);
    return 0;
}
