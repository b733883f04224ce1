/* ckpt_read.c - reading and checking a checkpoint (see ckpt.h). Every rank opens the file
 * read-only on its own (no MPI), so a damaged file is an error on that rank, never a hang.
 * What is checked, in order: HDF5 can open it (else: not HDF5, or truncated); the format
 * attribute and version; every attribute's class and shape before it is read (h5util.h);
 * every tensor's name, type and shape against the model before it is read; every dataset's
 * CRC-32C; floating-point data finite. A file is hostile until these pass: nothing from it
 * sizes a buffer unchecked. */
#include <errno.h>
#include <math.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5util.h"
#include "salient/crc32c.h"
#include "salient/ckpt.h"
#include "salient/config.h"

static sal_status fail_h5(sal_err *err, const char *path, const char *what) {
    char why[256];
    return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s (%s); resume from an earlier checkpoint",
                    path, what, sal_h5_last_error(why, sizeof why));
}

/* sealed: the caller has checked path's seal; otherwise it is checked here, before HDF5 reads
 * a byte of the file. */
static sal_status open_file(const char *path, int sealed, hid_t *file, sal_err *err) {
    struct stat sb;
    if (stat(path, &sb))
        return sal_fail(err, SAL_EIO, "checkpoint '%s': %s", path, strerror(errno));
    sal_status st = sealed ? SAL_OK : sal_ckpt_seal_check(path, err);
    if (st) return st;
    sal_h5_quiet();
    if (H5Fis_hdf5(path) <= 0)
        return sal_fail(err, SAL_EFORMAT,
                        "checkpoint '%s' is not an HDF5 file (or its first block is damaged); "
                        "resume from an earlier checkpoint", path);
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0) return fail_h5(err, path, "cannot be opened: truncated or damaged");
    return SAL_OK;
}

/* Upper bounds on what salient writes: a config text is a few KiB, a metrics table one row a
 * round; a file claiming more is refused before anything is allocated for it. */
#define CONFIG_MAX ((size_t)1 << 20)
#define ROWS_MAX ((hssize_t)10000000)
#define RANKS_MAX ((hsize_t)1 << 20)

static int attr_num(hid_t obj, const char *name, hid_t type, void *v) {
    return sal_h5_attr_int(obj, name, type, v);
}

sal_status sal_ckpt_info_read(const char *path, sal_ckpt_info *info, sal_err *err) {
    return sal_ckpt_header_read(path, 0, info, err);
}

sal_status sal_ckpt_header_read(const char *path, int sealed, sal_ckpt_info *info, sal_err *err) {
    memset(info, 0, sizeof *info);
    hid_t f;
    sal_status st = open_file(path, sealed, &f, err);
    if (st) return st;
    char *format = sal_h5_attr_str(f, "format", 64);
    if (!format || strcmp(format, SAL_CKPT_FORMAT)) {
        free(format);
        H5Fclose(f);
        return sal_fail(err, SAL_EFORMAT,
                        "'%s' is an HDF5 file but not a salient checkpoint (no format = \"%s\" "
                        "attribute at /)", path, SAL_CKPT_FORMAT);
    }
    free(format);
    char *algo = sal_h5_attr_str(f, "algorithm", sizeof info->algorithm - 1),
         *arch = sal_h5_attr_str(f, "arch", sizeof info->arch - 1);
    info->config_text = sal_h5_attr_str(f, "config", CONFIG_MAX);
    int bad = attr_num(f, "format_version", H5T_NATIVE_INT, &info->version) |
              attr_num(f, "round", H5T_NATIVE_INT, &info->round) |
              attr_num(f, "step", H5T_NATIVE_INT64, &info->step) |
              attr_num(f, "nranks", H5T_NATIVE_INT, &info->nranks) |
              attr_num(f, "seed", H5T_NATIVE_UINT64, &info->seed) |
              attr_num(f, "parameters", H5T_NATIVE_UINT64, &info->n) |
              attr_num(f, "nnz", H5T_NATIVE_UINT64, &info->nnz);
    if (!bad && algo && arch && info->config_text) {
        snprintf(info->algorithm, sizeof info->algorithm, "%s", algo);
        snprintf(info->arch, sizeof info->arch, "%s", arch);
    } else {
        bad = 1;
    }
    free(algo), free(arch);
    if (!bad && info->version > SAL_CKPT_VERSION) {
        H5Fclose(f);
        sal_ckpt_info_free(info);
        return sal_fail(err, SAL_EFORMAT,
                        "checkpoint '%s' has format version %d; this salient reads up to %d "
                        "(use a newer salient)", path, info->version, SAL_CKPT_VERSION);
    }
    if (!bad && info->version < 1) {
        H5Fclose(f);
        sal_ckpt_info_free(info);
        return sal_fail(err, SAL_EFORMAT,
                        "checkpoint '%s' has format version %d, which no salient wrote (1 to %d "
                        "are known); the file is damaged or foreign", path, info->version,
                        SAL_CKPT_VERSION);
    }
    /* From version 3 on the fingerprints of the data are part of the header. */
    if (!bad && info->version >= 3)
        bad = attr_num(f, "data_fingerprint", H5T_NATIVE_UINT64, &info->data_fp) |
              attr_num(f, "split_fingerprint", H5T_NATIVE_UINT64, &info->split_fp);
    /* From version 5 on the run's rank count, which fedavg's file (its server's alone) does
     * not otherwise record; older files leave it 0 (unknown). */
    if (!bad && info->version >= 5)
        bad = attr_num(f, "world_size", H5T_NATIVE_INT, &info->world_size);
    /* Version 1 files predate the header CRC; from 2 on it is required. */
    uint32_t hcrc = 0;
    if (!bad && info->version >= 2) {
        if (attr_num(f, "header_crc32c", H5T_NATIVE_UINT32, &hcrc)) {
            bad = 1;
        } else if (hcrc != sal_h5_header_crc(info->version, info->round, info->step,
                                             info->nranks, info->algorithm, info->arch,
                                             info->seed, info->n, info->nnz, info->data_fp,
                                             info->split_fp, info->world_size,
                                             info->config_text)) {
            H5Fclose(f);
            sal_ckpt_info_free(info);
            return sal_fail(err, SAL_EFORMAT,
                            "checkpoint '%s': its header attributes (round, step, nranks, seed, "
                            "config, ...) fail their CRC-32C check (the file is damaged); resume "
                            "from an earlier checkpoint", path);
        }
    }
    if (!bad && (info->round < 0 || info->step < 0 || info->nranks < 1))
        bad = 1;
    /* the ranks that wrote it are some of the run's */
    if (!bad && info->version >= 5 && info->world_size < info->nranks)
        bad = 1;
    if (bad) {
        H5Fclose(f);
        sal_ckpt_info_free(info);
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': a header attribute (format_version, "
                        "round, step, nranks, seed, parameters, nnz, algorithm, arch, config, "
                        "data_fingerprint, split_fingerprint, world_size) is missing, of another "
                        "type or shape than salient writes, or too long (or out of range); resume "
                        "from an earlier checkpoint", path);
    }
    info->has_momentum = H5Lexists(f, "/optim", H5P_DEFAULT) > 0;
    info->has_randk_memory = H5Lexists(f, "/comm", H5P_DEFAULT) > 0 &&
                             H5Lexists(f, "/comm/randk_client_memory", H5P_DEFAULT) > 0;
    if (info->has_randk_memory) { /* its rows, for inspect; load checks the whole shape */
        hid_t ds = H5Dopen2(f, "/comm/randk_client_memory", H5P_DEFAULT);
        hid_t sp = ds < 0 ? -1 : H5Dget_space(ds);
        hsize_t dims[2] = {0, 0};
        if (sp >= 0 && H5Sget_simple_extent_ndims(sp) == 2) {
            H5Sget_simple_extent_dims(sp, dims, NULL);
            info->randk_clients = dims[0] <= RANKS_MAX ? (int)dims[0] : 0;
        }
        if (sp >= 0) H5Sclose(sp);
        if (ds >= 0) H5Dclose(ds);
    }
    info->has_schedule = H5Lexists(f, "/schedule", H5P_DEFAULT) > 0 &&
                         H5Lexists(f, "/schedule/state", H5P_DEFAULT) > 0;
    info->has_rewind = H5Lexists(f, "/schedule", H5P_DEFAULT) > 0 &&
                       H5Lexists(f, "/schedule/rewind", H5P_DEFAULT) > 0;
    if (H5Lexists(f, "/ranks", H5P_DEFAULT) > 0) {
        info->has_rank_w = H5Lexists(f, "/ranks/weights", H5P_DEFAULT) > 0;
        info->has_rank_m = H5Lexists(f, "/ranks/momentum", H5P_DEFAULT) > 0;
        info->has_rank_r = H5Lexists(f, "/ranks/residual", H5P_DEFAULT) > 0;
        info->has_rank_s = H5Lexists(f, "/ranks/state", H5P_DEFAULT) > 0;
    }
    hid_t ds = H5Lexists(f, "/metrics", H5P_DEFAULT) > 0 ? H5Dopen2(f, "/metrics", H5P_DEFAULT)
                                                          : -1;
    if (ds >= 0) {
        hid_t sp = H5Dget_space(ds);
        hssize_t k = H5Sget_simple_extent_ndims(sp) == 1 ? H5Sget_simple_extent_npoints(sp) : -1;
        H5Sclose(sp);
        H5Dclose(ds);
        if (k < 0 || k > ROWS_MAX) {
            H5Fclose(f);
            sal_ckpt_info_free(info);
            return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /metrics is not a table of at "
                            "most %lld rows; resume from an earlier checkpoint", path,
                            (long long)ROWS_MAX);
        }
        info->nrows = (int)k;
    }
    H5Fclose(f);
    return SAL_OK;
}

void sal_ckpt_info_free(sal_ckpt_info *info) {
    free(info->config_text);
    info->config_text = NULL;
}

/* The dataset's element type is the one salient writes for it: a 4-byte float (float data)
 * or a 1-byte integer (the mask). HDF5 would convert others silently, and a double stored
 * where a float belongs is a file from elsewhere. */
static int type_is(hid_t ds, hid_t elem) {
    hid_t t = H5Dget_type(ds);
    if (t < 0) return 0;
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    H5Tclose(t);
    return elem == H5T_NATIVE_FLOAT ? cls == H5T_FLOAT && size == 4
                                    : cls == H5T_INTEGER && size == 1;
}

/* Reads dataset ds (closed here) into dst, bytes of type elem, and checks them against the
 * dataset's crc32c attribute: the end of every checksummed dataset's reader. */
static sal_status read_crc(hid_t ds, hid_t elem, void *dst, size_t bytes, const char *path,
                           const char *dpath, sal_err *err) {
    uint32_t want = 0;
    int rc = bytes > 0 && H5Dread(ds, elem, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0;
    int has_crc = attr_num(ds, "crc32c", H5T_NATIVE_UINT32, &want) == 0;
    H5Dclose(ds);
    if (rc) return fail_h5(err, path, dpath);
    if (!has_crc)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s has no crc32c attribute (a scalar "
                        "integer); the file is damaged or foreign", path, dpath);
    if (sal_crc32c(0, dst, bytes) != want)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s fails its CRC-32C check (the file "
                        "is damaged); resume from an earlier checkpoint", path, dpath);
    return SAL_OK;
}

/* The first non-finite value of x (n), or -1. */
static long long nonfinite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return (long long)i;
    return -1;
}

static sal_status nonfinite_fail(sal_err *err, const char *path, const char *what, long long i) {
    return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s holds a NaN or Inf at [%lld] (the run "
                    "that wrote it diverged, or the file was altered); resume from an earlier "
                    "checkpoint", path, what, i);
}

/* Read tensor t of p from root/<layer>/<leaf> into out + offset (elem: float or uint8),
 * checking its type, shape, CRC-32C and (floats) finiteness. */
/* Open dpath (which exists) in f as a dataset: SAL_EFORMAT when it is another kind of object (a
 * group or a link where salient writes data). On SAL_OK the caller owns *ds. */
static sal_status open_dataset(hid_t f, const char *path, const char *dpath, hid_t *ds,
                               sal_err *err) {
    H5O_info_t oi;
    if (H5Oget_info_by_name(f, dpath, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s is not a dataset; resume from an "
                        "earlier checkpoint", path, dpath);
    *ds = H5Dopen2(f, dpath, H5P_DEFAULT);
    return *ds < 0 ? fail_h5(err, path, dpath) : SAL_OK;
}

static sal_status read_tensor(hid_t f, const char *path, const char *root, const sal_tensor *tt,
                              hid_t elem, void *out, sal_err *err) {
    char layer[SAL_NAME_MAX], leaf[SAL_NAME_MAX], dpath[160];
    sal_h5_split_name(tt->name, layer, sizeof layer, leaf, sizeof leaf);
    snprintf(dpath, sizeof dpath, "%s/%s/%s", root, layer, leaf);
    char gpath[128];
    snprintf(gpath, sizeof gpath, "%s/%s", root, layer);
    if (H5Lexists(f, root, H5P_DEFAULT) <= 0 || H5Lexists(f, gpath, H5P_DEFAULT) <= 0 ||
        H5Lexists(f, dpath, H5P_DEFAULT) <= 0)
        return sal_fail(err, SAL_ECONFIG,
                        "checkpoint '%s' has no %s: it was written for another model than this "
                        "config's [model] arch", path, dpath);
    hid_t ds;
    sal_status st = open_dataset(f, path, dpath, &ds, err);
    if (st) return st;
    if (!type_is(ds, elem)) {
        H5Dclose(ds);
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s is not of type %s as salient "
                        "writes it; the file is damaged or foreign", path, dpath,
                        elem == H5T_NATIVE_FLOAT ? "float32" : "uint8");
    }
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[8];
    int nd = H5Sget_simple_extent_ndims(sp);
    int same = nd == tt->ndim && nd >= 0 && nd <= 8;
    if (same && nd > 0) H5Sget_simple_extent_dims(sp, dims, NULL);
    for (int d = 0; same && d < nd; d++) same = dims[d] == (hsize_t)tt->shape[d];
    H5Sclose(sp);
    if (!same) {
        H5Dclose(ds);
        return sal_fail(err, SAL_ECONFIG,
                        "checkpoint '%s': %s has another shape than this model's %s; it was "
                        "written for another [model] arch or data set", path, dpath, tt->name);
    }
    const size_t esize = H5Tget_size(elem);
    void *dst = (char *)out + tt->offset * esize;
    st = read_crc(ds, elem, dst, tt->numel * esize, path, dpath, err);
    if (st) return st;
    long long bad = elem == H5T_NATIVE_FLOAT ? nonfinite(dst, tt->numel) : -1;
    return bad >= 0 ? nonfinite_fail(err, path, dpath, bad) : SAL_OK;
}

static sal_status read_row(hid_t f, const char *path, const char *name, int rank, size_t n,
                           float *out, sal_err *err) {
    char dpath[64];
    snprintf(dpath, sizeof dpath, "/ranks/%s", name);
    if (H5Lexists(f, "/ranks", H5P_DEFAULT) <= 0 || H5Lexists(f, dpath, H5P_DEFAULT) <= 0)
        return sal_fail(err, SAL_ECONFIG, "checkpoint '%s' has no %s (written by another "
                        "algorithm or [comm] compress than this config's)", path, dpath);
    hid_t ds;
    sal_status st = open_dataset(f, path, dpath, &ds, err);
    if (st) return st;
    if (!type_is(ds, H5T_NATIVE_FLOAT)) {
        H5Dclose(ds);
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s is not of type float32 as salient "
                        "writes it; the file is damaged or foreign", path, dpath);
    }
    hid_t fsp = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    int ok = H5Sget_simple_extent_ndims(fsp) == 2;
    if (ok) H5Sget_simple_extent_dims(fsp, dims, NULL);
    if (!ok || dims[1] != n || (hsize_t)rank >= dims[0] || dims[0] > RANKS_MAX) {
        H5Sclose(fsp);
        H5Dclose(ds);
        return sal_fail(err, SAL_ECONFIG, "checkpoint '%s': %s is [%llu, %llu], no row %d of %zu "
                        "parameters", path, dpath, (unsigned long long)dims[0],
                        (unsigned long long)dims[1], rank, n);
    }
    hsize_t start[2] = {(hsize_t)rank, 0}, count[2] = {1, (hsize_t)n};
    H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t msp = H5Screate_simple(1, &count[1], NULL);
    int rc = H5Dread(ds, H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, out) < 0 ? -1 : 0;
    H5Sclose(msp);
    H5Sclose(fsp);
    uint32_t *crcs = malloc(sizeof(uint32_t) * (size_t)dims[0]);
    int has_crc = crcs && sal_h5_attr_u32s(ds, "crc32c", crcs, (size_t)dims[0]) == 0;
    H5Dclose(ds);
    int good = has_crc && sal_crc32c(0, out, n * sizeof(float)) == crcs[rank];
    free(crcs);
    if (rc) return fail_h5(err, path, dpath);
    if (!has_crc)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s has no crc32c attribute of one "
                        "integer per row; the file is damaged or foreign", path, dpath);
    if (!good)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': row %d of %s fails its CRC-32C check (the "
                        "file is damaged); resume from an earlier checkpoint", path, rank, dpath);
    char what[96];
    snprintf(what, sizeof what, "row %d of %s", rank, dpath);
    long long bad = nonfinite(out, n);
    return bad >= 0 ? nonfinite_fail(err, path, what, bad) : SAL_OK;
}

static int version_of(hid_t f);

/* /comm/randk_client_memory: float32 [clients, nnz] (the caller's shape: the run's clients and
 * the file's mask), checked against its crc32c and for finiteness. A file of format 5 or older
 * holds one memory shared by all clients (/comm/randk_memory), which is not the same state. */
static sal_status read_client_memory(hid_t f, const char *path, int clients, size_t nnz,
                                     float *out, sal_err *err) {
    const char *dpath = "/comm/randk_client_memory";
    if (H5Lexists(f, "/comm", H5P_DEFAULT) <= 0 || H5Lexists(f, dpath, H5P_DEFAULT) <= 0) {
        if (H5Lexists(f, "/comm", H5P_DEFAULT) > 0 &&
            H5Lexists(f, "/comm/randk_memory", H5P_DEFAULT) > 0)
            return sal_fail(err, SAL_ECONFIG, "checkpoint '%s' holds one Rand-k-Temporal memory "
                            "shared by all clients (/comm/randk_memory, format %d); this salient "
                            "keeps one per client (%s, format 6) and cannot resume it: start the "
                            "run again", path, version_of(f), dpath);
        return sal_fail(err, SAL_ECONFIG, "checkpoint '%s' has no %s (written with another "
                        "[comm] compress or randk_decoder than this config's temporal)", path,
                        dpath);
    }
    hid_t ds;
    sal_status st = open_dataset(f, path, dpath, &ds, err);
    if (st) return st;
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    int ok = type_is(ds, H5T_NATIVE_FLOAT) && H5Sget_simple_extent_ndims(sp) == 2;
    if (ok) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    if (!ok || dims[0] != (hsize_t)clients || dims[1] != (hsize_t)nnz) {
        H5Dclose(ds);
        return sal_fail(err, SAL_ECONFIG, "checkpoint '%s': %s is not float32 [%d, %zu] (clients, "
                        "weights the mask keeps) but [%llu, %llu]; it was written for another "
                        "[data] clients or the file is damaged", path, dpath, clients, nnz,
                        (unsigned long long)dims[0], (unsigned long long)dims[1]);
    }
    const size_t len = (size_t)clients * nnz;
    st = read_crc(ds, H5T_NATIVE_FLOAT, out, len * sizeof(float), path, dpath, err);
    if (st) return st;
    long long bad = nonfinite(out, len);
    return bad >= 0 ? nonfinite_fail(err, path, dpath, bad) : SAL_OK;
}

/* /schedule/state: int64 [3] (prunes done, prunable kept, prunable), checked against its
 * crc32c and for sense (0 <= kept <= prunable) before it is returned in v. */
static sal_status read_sched(hid_t f, const char *path, int64_t *v, sal_err *err) {
    const char *dpath = "/schedule/state";
    if (H5Lexists(f, "/schedule", H5P_DEFAULT) <= 0 || H5Lexists(f, dpath, H5P_DEFAULT) <= 0)
        return sal_fail(err, SAL_ECONFIG, "checkpoint '%s' has no %s: it was written with "
                        "[sparsity] schedule = fixed", path, dpath);
    hid_t ds;
    sal_status st = open_dataset(f, path, dpath, &ds, err);
    if (st) return st;
    hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds);
    int ok = t >= 0 && H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 8 &&
             H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_npoints(sp) == 3;
    if (t >= 0) H5Tclose(t);
    H5Sclose(sp);
    uint32_t want = 0;
    int rc = ok && H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
    int has_crc = attr_num(ds, "crc32c", H5T_NATIVE_UINT32, &want) == 0;
    H5Dclose(ds);
    if (!ok)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s is not 3 int64 as salient writes "
                        "it; the file is damaged or foreign", path, dpath);
    if (!rc) return fail_h5(err, path, dpath);
    if (!has_crc || sal_h5_i64_crc(v, 3) != want)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s fails its CRC-32C check (the file "
                        "is damaged); resume from an earlier checkpoint", path, dpath);
    if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[1] > v[2])
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s holds %lld prunes, %lld of %lld "
                        "weights kept, which no run writes; the file is damaged or foreign",
                        path, dpath, (long long)v[0], (long long)v[1], (long long)v[2]);
    return SAL_OK;
}

/* /metrics: a 1-D table of compound rows, checked against its crc32c attribute (required from
 * format version 3 on). m: where the rows go, or NULL to check only. */
static sal_status read_metrics(hid_t f, const char *path, int version, sal_metrics *m,
                               sal_err *err) {
    if (H5Lexists(f, "/metrics", H5P_DEFAULT) <= 0)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s' has no /metrics", path);
    H5O_info_t oi;
    if (H5Oget_info_by_name(f, "/metrics", &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /metrics is not a dataset", path);
    hid_t ds = H5Dopen2(f, "/metrics", H5P_DEFAULT);
    if (ds < 0) return fail_h5(err, path, "/metrics");
    hid_t sp = H5Dget_space(ds), t = H5Dget_type(ds);
    hssize_t k = H5Sget_simple_extent_ndims(sp) == 1 ? H5Sget_simple_extent_npoints(sp) : -1;
    int compound = H5Tget_class(t) == H5T_COMPOUND;
    H5Tclose(t);
    H5Sclose(sp);
    if (k < 0 || k > ROWS_MAX || !compound) {
        H5Dclose(ds);
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /metrics is not a table of at most "
                        "%lld rows as salient writes it; the file is damaged or foreign", path,
                        (long long)ROWS_MAX);
    }
    sal_round *rows = calloc(k > 0 ? (size_t)k : 1, sizeof *rows);
    hid_t mt = sal_h5_round_type(0);
    int rc = !rows || (k > 0 && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0);
    uint32_t want = 0;
    int has_crc = attr_num(ds, "crc32c", H5T_NATIVE_UINT32, &want) == 0;
    H5Tclose(mt);
    H5Dclose(ds);
    sal_status st = SAL_OK;
    if (rc)
        st = fail_h5(err, path, "/metrics cannot be read");
    else if (version >= 3 && !has_crc)
        st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /metrics has no crc32c attribute (a "
                      "scalar integer); the file is damaged or foreign", path);
    else if (version >= 3 && sal_h5_metrics_crc(rows, (size_t)k, version) != want)
        st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /metrics fails its CRC-32C check (the "
                      "file is damaged); resume from an earlier checkpoint", path);
    for (hssize_t i = 0; i < k && !st && m; i++) st = sal_metrics_restore(m, &rows[i], err);
    free(rows);
    return st;
}

/* The file's format version (0 where it cannot be read: sal_ckpt_info_read refuses those). */
static int version_of(hid_t f) {
    int v = 0;
    return attr_num(f, "format_version", H5T_NATIVE_INT, &v) ? 0 : v;
}

sal_status sal_ckpt_load(const char *path, const sal_ckpt_dst *d, sal_err *err) {
    hid_t f;
    sal_status st = open_file(path, d->sealed, &f, err);
    if (st) return st;
    sal_params *p = d->p;
    uint8_t *mask8 = malloc(p->n ? p->n : 1);
    if (!mask8) {
        H5Fclose(f);
        return sal_fail(err, SAL_ENOMEM, "checkpoint: out of memory for the mask");
    }
    for (int t = 0; t < p->ntensors && !st; t++)
        st = read_tensor(f, path, "/mask", &p->t[t], H5T_NATIVE_UINT8, mask8, err);
    size_t nnz = 0;
    if (!st) {
        for (size_t i = 0; i < p->n; i++) {
            p->mask[i] = mask8[i] ? 1.0f : 0.0f;
            nnz += mask8[i] != 0;
        }
        p->dense = nnz == p->n;
    }
    free(mask8);
    for (int t = 0; t < p->ntensors && !st && d->model; t++)
        st = read_tensor(f, path, "/model", &p->t[t], H5T_NATIVE_FLOAT, p->w, err);
    for (int t = 0; t < p->nstate && !st && d->model; t++)
        st = read_tensor(f, path, "/state", &p->st[t], H5T_NATIVE_FLOAT, p->s, err);
    for (int t = 0; t < p->ntensors && !st && d->momentum; t++)
        st = read_tensor(f, path, "/optim/momentum", &p->t[t], H5T_NATIVE_FLOAT, d->momentum,
                         err);
    if (!st && d->randk_memory)
        st = read_client_memory(f, path, d->randk_clients, nnz, d->randk_memory, err);
    if (!st && d->sched) st = read_sched(f, path, d->sched, err);
    for (int t = 0; t < p->ntensors && !st && d->rewind; t++)
        st = read_tensor(f, path, "/schedule/rewind", &p->t[t], H5T_NATIVE_FLOAT, d->rewind, err);
    if (!st && d->rewind && p->nstate > 0 && version_of(f) < 5)
        st = sal_fail(err, SAL_ECONFIG, "checkpoint '%s' has format version %d: IMP rewound only "
                      "the weights then, and the file lacks the BatchNorm state at the rewind "
                      "round (/schedule/rewind_state, format 5) that this salient rewinds too; "
                      "run it again from the start", path, version_of(f));
    for (int t = 0; t < p->nstate && !st && d->rewind; t++)
        st = read_tensor(f, path, "/schedule/rewind_state", &p->st[t], H5T_NATIVE_FLOAT,
                         d->rewind + p->n, err);
    if (!st && d->rank_w) st = read_row(f, path, "weights", d->rank, p->n, d->rank_w, err);
    if (!st && d->rank_m) st = read_row(f, path, "momentum", d->rank, p->n, d->rank_m, err);
    if (!st && d->rank_r) st = read_row(f, path, "residual", d->rank, p->n, d->rank_r, err);
    if (!st && d->rank_s) st = read_row(f, path, "state", d->rank, p->ns, d->rank_s, err);
    if (!st && (d->metrics || d->check_metrics))
        st = read_metrics(f, path, version_of(f), d->metrics, err);
    H5Fclose(f);
    return st;
}

sal_status sal_ckpt_verify(const char *path, const sal_ckpt_state *s, int rank, int nranks,
                           sal_err *err) {
    sal_ckpt_info info;
    sal_status st = sal_ckpt_header_read(path, 1, &info, err);
    if (st) return st;
    const int world = s->world_size > 0 ? s->world_size : nranks;
    if (info.round != s->round || info.nranks != nranks || info.n != s->p->n ||
        info.world_size != world)
        st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s' reads back as round %d of %d ranks (a "
                      "run of %d), not round %d of %d (a run of %d)", path, info.round,
                      info.nranks, info.world_size, s->round, nranks, world);
    sal_ckpt_info_free(&info);
    if (st) return st;
    /* A scratch copy of the parameters: the loader writes where the tensor table points. */
    sal_params p = *s->p;
    const size_t n = p.n > p.ns ? p.n : p.ns;
    float *w = malloc(sizeof(float) * (n ? n : 1)), *m = malloc(sizeof(float) * (n ? n : 1));
    float *mask = malloc(sizeof(float) * (p.n ? p.n : 1));
    float *state = malloc(sizeof(float) * (p.ns ? p.ns : 1));
    const size_t nmem = s->randk_memory ? (size_t)s->randk_clients * sal_params_nnz(s->p) : 0;
    float *mem = s->randk_memory ? malloc(sizeof(float) * (nmem ? nmem : 1)) : NULL;
    float *rewind = s->rewind ? malloc(sizeof(float) * (p.n + p.ns + 1)) : NULL;
    int64_t sched[3];
    if (!w || !m || !mask || !state || (s->randk_memory && !mem) || (s->rewind && !rewind)) {
        st = sal_fail(err, SAL_ENOMEM, "checkpoint: out of memory to read '%s' back", path);
    } else {
        p.w = w, p.mask = mask, p.s = state;
        if (rank == 0) {
            sal_ckpt_dst d = {.p = &p, .model = 1, .momentum = s->momentum ? m : NULL,
                              .randk_memory = mem, .randk_clients = s->randk_clients,
                              .sched = s->sched ? sched : NULL,
                              .rewind = rewind, .check_metrics = 1, .sealed = 1};
            st = sal_ckpt_load(path, &d, err);
            if (!st && s->sched && memcmp(sched, s->sched, sizeof sched))
                st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /schedule/state reads back "
                              "otherwise than written", path);
        }
        const struct { const void *have; const char *name; size_t len; } rows[] = {
            {s->rank_w, "weights", p.n}, {s->rank_m, "momentum", p.n},
            {s->rank_r, "residual", p.n}, {s->rank_s, "state", p.ns}};
        for (size_t k = 0; k < 4 && !st; k++) {
            if (!rows[k].have) continue;
            hid_t f;
            if ((st = open_file(path, 1, &f, err))) break;
            st = read_row(f, path, rows[k].name, rank, rows[k].len, w, err);
            H5Fclose(f);
        }
    }
    free(w), free(m), free(mask), free(state), free(mem), free(rewind);
    return st;
}

sal_status sal_ckpt_resolve(const char *arg, const char *out_dir, char *path, size_t cap,
                            sal_err *err) {
    if (strcmp(arg, "latest")) {
        snprintf(path, cap, "%s", arg);
        return SAL_OK;
    }
    char link[SAL_PATH_MAX + 32];
    snprintf(link, sizeof link, "%s/ckpt/latest", out_dir);
    struct stat sb;
    if (lstat(link, &sb))
        return sal_fail(err, SAL_EIO, "--resume latest: no checkpoint at '%s' (%s); did the run "
                        "write to another --out, or was [checkpoint] every never reached?", link,
                        strerror(errno));
    snprintf(path, cap, "%s", link);
    return SAL_OK;
}
