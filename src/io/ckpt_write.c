/* ckpt_write.c - writing a checkpoint collectively (see ckpt.h, docs/checkpoint-format.md).
 *
 * Every rank of comm creates the same objects (HDF5 metadata operations are collective) and
 * writes the same attributes; raw data that only rank 0 holds (model, mask, optimizer, metrics)
 * is written by rank 0 alone, independently; each rank's own state goes into its row of the
 * [nranks, n] datasets under /ranks in one collective MPI-IO write. The file is written under a
 * temporary name, closed, fsync'ed, and only then renamed to round-NNNNNN.h5 and linked as
 * latest: a run killed at any point leaves the previous checkpoint as it was. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "h5util.h"
#include "salient/crc32c.h"
#include "salient/ckpt.h"
#include "salient/config.h"
#include "salient/fsutil.h"

#define RNG_NOTE                                                                                   \
    "xoshiro256** streams seeded from (seed, purpose, id) with id a function of the round, "       \
    "client and rank: the seed and the round are the whole RNG state"

typedef struct writer {
    hid_t file;
    int rank, size;
    const sal_ckpt_state *s;
    size_t n;
    int bad; /* an HDF5 call failed on this rank */
} writer;

static void attr(writer *w, hid_t obj, const char *name, hid_t type, const void *v) {
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, type, v) < 0) w->bad = 1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
}

static void attr_str(writer *w, hid_t obj, const char *name, const char *v) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    attr(w, obj, name, t, v);
    H5Tclose(t);
}

/* Group path, created if missing (collective: every rank calls it alike). */
static hid_t group(writer *w, const char *path) {
    hid_t g = H5Lexists(w->file, path, H5P_DEFAULT) > 0 ? H5Gopen2(w->file, path, H5P_DEFAULT)
                                                         : H5Gcreate2(w->file, path, H5P_DEFAULT,
                                                                      H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) w->bad = 1;
    return g;
}

/* One dataset per tensor of the table tab (count views) under root (/model, /mask,
 * /optim/momentum, /state), PyTorch shapes, rank 0's data; elem is H5T_NATIVE_FLOAT (data:
 * floats) or H5T_NATIVE_UINT8 (bytes). */
static void tensors_of(writer *w, const char *root, hid_t elem, const void *data,
                       const sal_tensor *tab, int count) {
    const size_t esize = H5Tget_size(elem);
    hid_t ftype = elem == H5T_NATIVE_FLOAT ? H5T_IEEE_F32LE : H5T_STD_U8LE;
    hid_t g0 = group(w, root);
    for (int t = 0; t < count; t++) {
        const sal_tensor *tt = &tab[t];
        char layer[SAL_NAME_MAX], leaf[SAL_NAME_MAX], gpath[128];
        sal_h5_split_name(tt->name, layer, sizeof layer, leaf, sizeof leaf);
        snprintf(gpath, sizeof gpath, "%s/%s", root, layer);
        hid_t g = group(w, gpath);
        hsize_t dims[4];
        for (int d = 0; d < tt->ndim; d++) dims[d] = (hsize_t)tt->shape[d];
        hid_t sp = H5Screate_simple(tt->ndim, dims, NULL);
        hid_t ds = H5Dcreate2(g, leaf, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (ds < 0) {
            w->bad = 1;
        } else {
            uint64_t off = tt->offset;
            attr(w, ds, "offset", H5T_NATIVE_UINT64, &off);
            if (w->rank == 0 &&
                H5Dwrite(ds, elem, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         (const char *)data + tt->offset * esize) < 0)
                w->bad = 1;
            H5Dclose(ds);
        }
        H5Sclose(sp);
        if (g >= 0) H5Gclose(g);
    }
    if (g0 >= 0) H5Gclose(g0);
}

static void tensors(writer *w, const char *root, hid_t elem, const void *data) {
    tensors_of(w, root, elem, data, w->s->p->t, w->s->p->ntensors);
}

/* /ranks/NAME: [size, n] floats, row r written by rank r in one collective write. */
static void rows(writer *w, const char *name, const float *mine, size_t n) {
    hid_t g = group(w, "/ranks");
    hsize_t dims[2] = {(hsize_t)w->size, (hsize_t)n}, start[2] = {(hsize_t)w->rank, 0},
            count[2] = {1, (hsize_t)n};
    hid_t fsp = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(g, name, H5T_IEEE_F32LE, fsp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t msp = H5Screate_simple(1, &count[1], NULL);
    hid_t dx = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dx, H5FD_MPIO_COLLECTIVE);
    if (ds < 0) {
        w->bad = 1;
    } else {
        H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL);
        if (H5Dwrite(ds, H5T_NATIVE_FLOAT, msp, fsp, dx, mine) < 0) w->bad = 1;
        H5Dclose(ds);
    }
    H5Pclose(dx);
    H5Sclose(msp);
    H5Sclose(fsp);
    if (g >= 0) H5Gclose(g);
}

/* The checksums of what this rank writes, computed on a thread of their own while the main
 * thread writes the same (read-only) buffers: the CRC costs a tenth of the write, and this
 * way it overlaps it. The thread touches neither HDF5 nor MPI. */
typedef struct crc_job {
    const sal_ckpt_state *s;
    const uint8_t *mask8;   /* rank 0 only, else NULL */
    uint32_t *t;            /* (3 T + S) model, mask, momentum per tensor, state (rank 0) */
    uint32_t r[4];          /* this rank's rows: weights, momentum, residual, state */
} crc_job;

static void *crc_run(void *arg) {
    crc_job *j = arg;
    const sal_ckpt_state *s = j->s;
    const sal_params *p = s->p;
    const int T = p->ntensors;
    if (j->mask8)
        for (int t = 0; t < T; t++) {
            const sal_tensor *tt = &p->t[t];
            j->t[t] = sal_crc32c(0, s->model + tt->offset, tt->numel * sizeof(float));
            j->t[T + t] = sal_crc32c(0, j->mask8 + tt->offset, tt->numel);
            j->t[2 * T + t] = s->momentum ? sal_crc32c(0, s->momentum + tt->offset,
                                                       tt->numel * sizeof(float))
                                          : 0;
        }
    if (j->mask8 && s->state)
        for (int t = 0; t < p->nstate; t++)
            j->t[3 * T + t] = sal_crc32c(0, s->state + p->st[t].offset,
                                         p->st[t].numel * sizeof(float));
    const float *rows[3] = {s->rank_w, s->rank_m, s->rank_r};
    for (int k = 0; k < 3; k++)
        j->r[k] = rows[k] ? sal_crc32c(0, rows[k], p->n * sizeof(float)) : 0;
    j->r[3] = s->rank_s ? sal_crc32c(0, s->rank_s, p->ns * sizeof(float)) : 0;
    return NULL;
}

/* Attribute crc32c on every dataset of table tab under root (the same values on every rank). */
static void tensor_crcs_of(writer *w, const char *root, const uint32_t *crcs,
                           const sal_tensor *tab, int count) {
    for (int t = 0; t < count; t++) {
        char layer[SAL_NAME_MAX], leaf[SAL_NAME_MAX], path[160];
        sal_h5_split_name(tab[t].name, layer, sizeof layer, leaf, sizeof leaf);
        snprintf(path, sizeof path, "%s/%s/%s", root, layer, leaf);
        hid_t ds = H5Dopen2(w->file, path, H5P_DEFAULT);
        if (ds < 0) {
            w->bad = 1;
            continue;
        }
        attr(w, ds, "crc32c", H5T_NATIVE_UINT32, &crcs[t]);
        H5Dclose(ds);
    }
}

static void tensor_crcs(writer *w, const char *root, const uint32_t *crcs) {
    tensor_crcs_of(w, root, crcs, w->s->p->t, w->s->p->ntensors);
}

/* Attribute crc32c on /ranks/NAME: every row's CRC, gathered. */
static void row_crcs(writer *w, const char *name, uint32_t mine, uint32_t *all, MPI_Comm comm) {
    MPI_Allgather(&mine, 1, MPI_UINT32_T, all, 1, MPI_UINT32_T, comm);
    char path[64];
    snprintf(path, sizeof path, "/ranks/%s", name);
    hid_t ds = H5Dopen2(w->file, path, H5P_DEFAULT);
    hsize_t cdim = (hsize_t)w->size;
    hid_t csp = H5Screate_simple(1, &cdim, NULL);
    hid_t a = ds < 0 ? -1
                     : H5Acreate2(ds, "crc32c", H5T_NATIVE_UINT32, csp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_UINT32, all) < 0) w->bad = 1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(csp);
    if (ds >= 0) H5Dclose(ds);
}

static void metrics(writer *w, MPI_Comm comm) {
    int nrows = w->rank == 0 && w->s->metrics ? w->s->metrics->n : 0;
    MPI_Bcast(&nrows, 1, MPI_INT, 0, comm);
    hid_t mt = sal_h5_round_type(0), ft = sal_h5_round_type(1);
    hsize_t dim = (hsize_t)nrows;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t ds = H5Dcreate2(w->file, "/metrics", ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0)
        w->bad = 1;
    else if (w->rank == 0 && nrows > 0 &&
             H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->s->metrics->rows) < 0)
        w->bad = 1;
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(mt);
    H5Tclose(ft);
}

/* The file's content; every rank calls it. all: (size + 3 ntensors) CRCs of scratch. */
static void write_all(writer *w, MPI_Comm comm, uint8_t *mask8, uint32_t *all) {
    const sal_ckpt_state *s = w->s;
    const sal_params *p = s->p;
    int one = 0;
    hid_t root = w->file;
    attr_str(w, root, "format", SAL_CKPT_FORMAT);
    one = SAL_CKPT_VERSION;
    attr(w, root, "format_version", H5T_NATIVE_INT, &one);
    attr(w, root, "round", H5T_NATIVE_INT, &s->round);
    attr(w, root, "step", H5T_NATIVE_INT64, &s->step);
    attr(w, root, "nranks", H5T_NATIVE_INT, &w->size);
    attr_str(w, root, "algorithm", s->algorithm);
    attr_str(w, root, "arch", s->arch);
    attr(w, root, "seed", H5T_NATIVE_UINT64, &s->seed);
    uint64_t n = p->n, nnz = sal_params_nnz(p);
    attr(w, root, "parameters", H5T_NATIVE_UINT64, &n);
    attr(w, root, "nnz", H5T_NATIVE_UINT64, &nnz);
    attr_str(w, root, "config", s->config_text);
    attr_str(w, root, "rng", RNG_NOTE);
    uint32_t hcrc = sal_h5_header_crc(SAL_CKPT_VERSION, s->round, s->step, w->size, s->algorithm,
                                      s->arch, s->seed, n, nnz, s->config_text);
    attr(w, root, "header_crc32c", H5T_NATIVE_UINT32, &hcrc);

    const int T = p->ntensors;
    if (w->rank == 0)
        for (size_t i = 0; i < p->n; i++) mask8[i] = p->mask[i] != 0.0f;
    crc_job job = {.s = s, .mask8 = w->rank == 0 ? mask8 : NULL, .t = all + w->size};
    pthread_t th;
    int threaded = pthread_create(&th, NULL, crc_run, &job) == 0;
    if (!threaded) crc_run(&job); /* no thread to be had: the same work, in line */
    tensors(w, "/model", H5T_NATIVE_FLOAT, s->model);
    tensors(w, "/mask", H5T_NATIVE_UINT8, mask8);
    if (s->momentum) {
        hid_t g = group(w, "/optim");
        tensors(w, "/optim/momentum", H5T_NATIVE_FLOAT, s->momentum);
        if (g >= 0) H5Gclose(g);
    }
    if (s->state) tensors_of(w, "/state", H5T_NATIVE_FLOAT, s->state, p->st, p->nstate);
    if (s->rank_w) rows(w, "weights", s->rank_w, p->n);
    if (s->rank_m) rows(w, "momentum", s->rank_m, p->n);
    if (s->rank_r) rows(w, "residual", s->rank_r, p->n);
    if (s->rank_s) rows(w, "state", s->rank_s, p->ns);
    if (threaded) pthread_join(th, NULL);
    /* Rank 0's tensor CRCs, shared so that every rank writes the same attributes. */
    MPI_Bcast(job.t, 3 * T + p->nstate, MPI_UINT32_T, 0, comm);
    tensor_crcs(w, "/model", job.t);
    tensor_crcs(w, "/mask", job.t + T);
    if (s->momentum) tensor_crcs(w, "/optim/momentum", job.t + 2 * T);
    if (s->rank_w) row_crcs(w, "weights", job.r[0], all, comm);
    if (s->rank_m) row_crcs(w, "momentum", job.r[1], all, comm);
    if (s->rank_r) row_crcs(w, "residual", job.r[2], all, comm);
    if (s->state) tensor_crcs_of(w, "/state", job.t + 3 * T, p->st, p->nstate);
    if (s->rank_s) row_crcs(w, "state", job.r[3], all, comm);
    metrics(w, comm);
}

/* Rank 0, after the file is complete: fsync it, rename it, fsync the directory, move latest. */
static sal_status publish(const char *tmp, const char *path, const char *dir, const char *base,
                          sal_err *err) {
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd)) {
        int e = errno;
        if (fd >= 0) close(fd);
        return sal_fail(err, SAL_EIO, "checkpoint '%s': fsync failed: %s", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path))
        return sal_fail(err, SAL_EIO, "checkpoint: cannot rename '%s' to '%s': %s", tmp, path,
                        strerror(errno));
    char link[SAL_PATH_MAX + 32], ltmp[SAL_PATH_MAX + 32];
    snprintf(link, sizeof link, "%s/latest", dir);
    snprintf(ltmp, sizeof ltmp, "%s/.latest.tmp", dir);
    unlink(ltmp);
    if (symlink(base, ltmp) || rename(ltmp, link))
        return sal_fail(err, SAL_EIO, "checkpoint: cannot point '%s' at %s: %s", link, base,
                        strerror(errno));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd); /* the renames themselves reach the disk */
        close(dfd);
    }
    return SAL_OK;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Remove all but the newest `keep` round-NNNNNN.h5 of rounds <= `round` (the one just written)
 * in dir (rank 0). Files of later rounds are left alone: they are a timeline a run resumed from
 * an earlier checkpoint abandoned, and it overwrites them as it gets there; deleting by number
 * alone would delete the file just written. Failing to remove an old checkpoint is not an
 * error worth stopping a run for. */
static void prune(const char *dir, int keep, int round) {
    DIR *d = opendir(dir);
    if (!d) return;
    int cap = 64, k = 0, *r = malloc(sizeof(int) * (size_t)cap);
    struct dirent *e;
    while (r && (e = readdir(d))) {
        int len = 0;
        int r0;
        if (sscanf(e->d_name, "round-%d.h5%n", &r0, &len) == 1 && len > 0 &&
            e->d_name[len] == '\0' && r0 <= round) {
            if (k == cap) {
                int *r2 = realloc(r, sizeof(int) * (size_t)(cap *= 2));
                if (!r2) break;
                r = r2;
            }
            r[k++] = r0;
        }
    }
    closedir(d);
    if (!r) return;
    qsort(r, (size_t)k, sizeof(int), cmp_int);
    for (int i = 0; i < k - keep; i++) {
        char path[SAL_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/round-%06d.h5", dir, r[i]);
        unlink(path);
    }
    free(r);
}

sal_status sal_ckpt_save(MPI_Comm comm, const char *dir, int keep, const sal_ckpt_state *s,
                         char *path, size_t cap, sal_err *err) {
    writer w = {.s = s, .n = s->p->n};
    MPI_Comm_rank(comm, &w.rank);
    MPI_Comm_size(comm, &w.size);
    sal_h5_quiet();
    char base[32], tmp[SAL_PATH_MAX + 64];
    snprintf(base, sizeof base, "round-%06d.h5", s->round);
    snprintf(path, cap, "%s/%s", dir, base);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, base);
    int code = SAL_OK;
    if (w.rank == 0) code = sal_mkdir_p(dir, err);
    MPI_Bcast(&code, 1, MPI_INT, 0, comm);
    if (code) return (sal_status)code;

    uint8_t *mask8 = w.rank == 0 ? malloc(w.n ? w.n : 1) : NULL;
    /* the rows' CRCs (size), then the tensors' (3 per tensor) */
    uint32_t *all = calloc((size_t)w.size + 3 * (size_t)w.s->p->ntensors + w.s->p->nstate,
                           sizeof(uint32_t));
    int oom = (w.rank == 0 && !mask8) || !all;
    MPI_Allreduce(MPI_IN_PLACE, &oom, 1, MPI_INT, MPI_MAX, comm);
    if (oom) {
        free(mask8);
        free(all);
        return sal_fail(err, SAL_ENOMEM, "checkpoint: out of memory for the mask");
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    /* Objects of 1 MiB and more start on 1 MiB boundaries: whole stripes on parallel file
     * systems, at the price of some padding in files that hold large tensors. */
    H5Pset_alignment(fapl, 1 << 20, 1 << 20);
    H5Pset_coll_metadata_write(fapl, 1);
    w.file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    int bad = w.file < 0;
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm);
    if (bad) {
        char why[256];
        if (w.file >= 0) H5Fclose(w.file);
        free(mask8);
        free(all);
        return sal_fail(err, SAL_EIO, "checkpoint: cannot create '%s' (%s); is [run] out on a "
                        "writable file system?", tmp, sal_h5_last_error(why, sizeof why));
    }
    write_all(&w, comm, mask8, all);
    free(mask8);
    free(all);
    if (H5Fclose(w.file) < 0) w.bad = 1;
    MPI_Allreduce(MPI_IN_PLACE, &w.bad, 1, MPI_INT, MPI_MAX, comm);
    if (w.bad) {
        char why[256];
        sal_h5_last_error(why, sizeof why);
        if (w.rank == 0) unlink(tmp);
        /* HDF5 rarely passes errno up through MPI-IO; the free space says what it would. */
        struct statvfs fs;
        double mib = statvfs(dir, &fs) ? -1 : (double)fs.f_bavail * (double)fs.f_frsize / 1048576.0;
        sal_fail(err, SAL_EIO,
                 "checkpoint: writing '%s' failed (%s; %.1f MiB free on that file system: disk "
                 "full?); the previous checkpoints are intact, free space and --resume latest",
                 tmp, why, mib);
        if (w.rank != 0) err->msg[0] = '\0'; /* the same on every rank: rank 0 says it */
        return SAL_EIO;
    }
    code = SAL_OK;
    if (w.rank == 0) {
        code = publish(tmp, path, dir, base, err);
        if (code) unlink(tmp);
        else prune(dir, keep, s->round);
    }
    MPI_Bcast(&code, 1, MPI_INT, 0, comm);
    if (code && w.rank != 0) err->msg[0] = '\0';
    return (sal_status)code;
}
