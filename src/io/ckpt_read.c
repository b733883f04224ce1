/* ckpt_read.c - reading and checking a checkpoint (see ckpt.h). Every rank opens the file
 * read-only on its own (no MPI), so a damaged file is an error on that rank, never a hang.
 * What is checked, in order: HDF5 can open it (else: not HDF5, or truncated); the format
 * attribute and version; every tensor's name and shape against the model; every dataset's
 * CRC-32C. */
#include <errno.h>
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

static sal_status open_file(const char *path, hid_t *file, sal_err *err) {
    struct stat sb;
    if (stat(path, &sb))
        return sal_fail(err, SAL_EIO, "checkpoint '%s': %s", path, strerror(errno));
    sal_h5_quiet();
    if (H5Fis_hdf5(path) <= 0)
        return sal_fail(err, SAL_EFORMAT,
                        "checkpoint '%s' is not an HDF5 file (or its first block is damaged); "
                        "resume from an earlier checkpoint", path);
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0) return fail_h5(err, path, "cannot be opened: truncated or damaged");
    return SAL_OK;
}

static int attr_num(hid_t obj, const char *name, hid_t type, void *v) {
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    int rc = H5Aread(a, type, v) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}

/* A string attribute into a new malloc'ed buffer (NULL if absent or not a string). */
static char *attr_str(hid_t obj, const char *name) {
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    char *s = NULL;
    if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t)) {
        size_t len = H5Tget_size(t);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, len + 1);
        s = calloc(len + 2, 1);
        if (s && H5Aread(a, mt, s) < 0) {
            free(s);
            s = NULL;
        }
        H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
    return s;
}

sal_status sal_ckpt_info_read(const char *path, sal_ckpt_info *info, sal_err *err) {
    memset(info, 0, sizeof *info);
    hid_t f;
    sal_status st = open_file(path, &f, err);
    if (st) return st;
    char *format = attr_str(f, "format");
    if (!format || strcmp(format, SAL_CKPT_FORMAT)) {
        free(format);
        H5Fclose(f);
        return sal_fail(err, SAL_EFORMAT,
                        "'%s' is an HDF5 file but not a salient checkpoint (no format = \"%s\" "
                        "attribute at /)", path, SAL_CKPT_FORMAT);
    }
    free(format);
    char *algo = attr_str(f, "algorithm"), *arch = attr_str(f, "arch");
    info->config_text = attr_str(f, "config");
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
    /* Version 1 files predate the header CRC; from 2 on it is required. */
    uint32_t hcrc = 0;
    if (!bad && info->version >= 2) {
        if (attr_num(f, "header_crc32c", H5T_NATIVE_UINT32, &hcrc)) {
            bad = 1;
        } else if (hcrc != sal_h5_header_crc(info->version, info->round, info->step,
                                             info->nranks, info->algorithm, info->arch,
                                             info->seed, info->n, info->nnz,
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
    if (bad) {
        H5Fclose(f);
        sal_ckpt_info_free(info);
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': a header attribute (format_version, "
                        "round, step, nranks, seed, parameters, nnz, algorithm, arch, config) is "
                        "missing or unreadable; resume from an earlier checkpoint", path);
    }
    info->has_momentum = H5Lexists(f, "/optim", H5P_DEFAULT) > 0;
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
        info->nrows = (int)H5Sget_simple_extent_npoints(sp);
        H5Sclose(sp);
        H5Dclose(ds);
    }
    H5Fclose(f);
    return SAL_OK;
}

void sal_ckpt_info_free(sal_ckpt_info *info) {
    free(info->config_text);
    info->config_text = NULL;
}

/* Read tensor t of p from root/<layer>/<leaf> into out + offset (elem: float or uint8),
 * checking its shape and CRC-32C. */
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
    hid_t ds = H5Dopen2(f, dpath, H5P_DEFAULT);
    if (ds < 0) return fail_h5(err, path, dpath);
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[8];
    int nd = H5Sget_simple_extent_ndims(sp);
    int same = nd == tt->ndim;
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
    uint32_t want = 0;
    int rc = H5Dread(ds, elem, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0 ? -1 : 0;
    int has_crc = attr_num(ds, "crc32c", H5T_NATIVE_UINT32, &want) == 0;
    H5Dclose(ds);
    if (rc) return fail_h5(err, path, dpath);
    if (!has_crc || sal_crc32c(0, dst, tt->numel * esize) != want)
        return sal_fail(err, SAL_EFORMAT,
                        "checkpoint '%s': %s fails its CRC-32C check (the file is damaged); "
                        "resume from an earlier checkpoint", path, dpath);
    return SAL_OK;
}

static sal_status read_row(hid_t f, const char *path, const char *name, int rank, size_t n,
                           float *out, sal_err *err) {
    char dpath[64];
    snprintf(dpath, sizeof dpath, "/ranks/%s", name);
    if (H5Lexists(f, "/ranks", H5P_DEFAULT) <= 0 || H5Lexists(f, dpath, H5P_DEFAULT) <= 0)
        return sal_fail(err, SAL_ECONFIG, "checkpoint '%s' has no %s (written by another "
                        "algorithm or [comm] compress than this config's)", path, dpath);
    hid_t ds = H5Dopen2(f, dpath, H5P_DEFAULT);
    if (ds < 0) return fail_h5(err, path, dpath);
    hid_t fsp = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    int ok = H5Sget_simple_extent_ndims(fsp) == 2;
    if (ok) H5Sget_simple_extent_dims(fsp, dims, NULL);
    if (!ok || dims[1] != n || (hsize_t)rank >= dims[0]) {
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
    int has_crc = 0;
    if (crcs && H5Aexists(ds, "crc32c") > 0) {
        hid_t a = H5Aopen(ds, "crc32c", H5P_DEFAULT);
        hid_t asp = H5Aget_space(a);
        has_crc = H5Sget_simple_extent_npoints(asp) == (hssize_t)dims[0] &&
                  H5Aread(a, H5T_NATIVE_UINT32, crcs) >= 0;
        H5Sclose(asp);
        H5Aclose(a);
    }
    H5Dclose(ds);
    int good = has_crc && sal_crc32c(0, out, n * sizeof(float)) == crcs[rank];
    free(crcs);
    if (rc) return fail_h5(err, path, dpath);
    if (!good)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': row %d of %s fails its CRC-32C check (the "
                        "file is damaged); resume from an earlier checkpoint", path, rank, dpath);
    return SAL_OK;
}

static sal_status read_metrics(hid_t f, const char *path, sal_metrics *m, sal_err *err) {
    if (H5Lexists(f, "/metrics", H5P_DEFAULT) <= 0)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s' has no /metrics", path);
    hid_t ds = H5Dopen2(f, "/metrics", H5P_DEFAULT);
    if (ds < 0) return fail_h5(err, path, "/metrics");
    hid_t sp = H5Dget_space(ds);
    hssize_t k = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    sal_round *rows = calloc(k > 0 ? (size_t)k : 1, sizeof *rows);
    hid_t mt = sal_h5_round_type(0);
    int rc = !rows || (k > 0 && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0);
    H5Tclose(mt);
    H5Dclose(ds);
    if (rc) {
        free(rows);
        return fail_h5(err, path, "/metrics cannot be read");
    }
    sal_status st = SAL_OK;
    for (hssize_t i = 0; i < k && !st; i++) st = sal_metrics_restore(m, &rows[i], err);
    free(rows);
    return st;
}

sal_status sal_ckpt_load(const char *path, const sal_ckpt_dst *d, sal_err *err) {
    hid_t f;
    sal_status st = open_file(path, &f, err);
    if (st) return st;
    sal_params *p = d->p;
    uint8_t *mask8 = malloc(p->n ? p->n : 1);
    if (!mask8) {
        H5Fclose(f);
        return sal_fail(err, SAL_ENOMEM, "checkpoint: out of memory for the mask");
    }
    for (int t = 0; t < p->ntensors && !st; t++)
        st = read_tensor(f, path, "/mask", &p->t[t], H5T_NATIVE_UINT8, mask8, err);
    if (!st) {
        size_t nnz = 0;
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
    if (!st && d->rank_w) st = read_row(f, path, "weights", d->rank, p->n, d->rank_w, err);
    if (!st && d->rank_m) st = read_row(f, path, "momentum", d->rank, p->n, d->rank_m, err);
    if (!st && d->rank_r) st = read_row(f, path, "residual", d->rank, p->n, d->rank_r, err);
    if (!st && d->rank_s) st = read_row(f, path, "state", d->rank, p->ns, d->rank_s, err);
    if (!st && d->metrics) st = read_metrics(f, path, d->metrics, err);
    H5Fclose(f);
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
