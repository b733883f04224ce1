/* ckpt_write.c - writing a checkpoint collectively (see ckpt.h, docs/checkpoint-format.md).
 *
 * Every rank of comm creates the same objects (HDF5 metadata operations are collective) and
 * writes the same attributes; raw data that only rank 0 holds (model, mask, optimizer, metrics)
 * is written by rank 0 alone, independently; each rank's own state goes into its row of the
 * [nranks, n] datasets under /ranks in one collective MPI-IO write. Publication is a protocol,
 * because neither HDF5 nor MPI-IO can be trusted to report a failed write on every rank (a full
 * disk seen by one rank's MPI-IO aggregator came back from HDF5 as success): write under a
 * temporary name, close, every rank fsyncs it and re-reads its part against the CRCs it
 * computed from memory, all ranks agree, and only then rank 0 renames it to round-NNNNNN.h5,
 * moves latest and prunes the oldest. A run killed or failing at any point leaves the previous
 * checkpoint as it was, and never a file that is not whole under a published name. */
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
#include "salient/fault.h"
#include "salient/fsutil.h"
#include "salient/watchdog.h"

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
    uint32_t *t;            /* (3 T + S + 1) model, mask, momentum per tensor, state, randk
                             * memory (rank 0) */
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
    if (j->mask8 && s->randk_memory)
        j->t[3 * T + p->nstate] =
            sal_crc32c(0, s->randk_memory,
                       (size_t)s->randk_clients * sal_params_nnz(p) * sizeof(float));
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
    const int mine = w->rank == 0 ? nrows : 0; /* rank 0's CRC is broadcast below */
    uint32_t crc = sal_h5_metrics_crc(mine ? w->s->metrics->rows : NULL, (size_t)mine,
                                      SAL_CKPT_VERSION);
    MPI_Bcast(&crc, 1, MPI_UINT32_T, 0, comm); /* attributes are written alike by every rank */
    hid_t mt = sal_h5_round_type(0), ft = sal_h5_round_type(1);
    hsize_t dim = (hsize_t)nrows;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t ds = H5Dcreate2(w->file, "/metrics", ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0)
        w->bad = 1;
    else if (w->rank == 0 && nrows > 0 &&
             H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->s->metrics->rows) < 0)
        w->bad = 1;
    if (ds >= 0) attr(w, ds, "crc32c", H5T_NATIVE_UINT32, &crc);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(mt);
    H5Tclose(ft);
}

/* /schedule: the state dataset (int64 [3]) and, for IMP, the rewind weights per tensor and the
 * rewind state per state tensor, each with its crc32c (rank 0's data; the CRCs broadcast so
 * that every rank writes the same). */
static void schedule(writer *w, MPI_Comm comm) {
    const sal_ckpt_state *s = w->s;
    const sal_params *p = s->p;
    const int T = p->ntensors;
    hid_t g = group(w, "/schedule");
    hsize_t dim = 3;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t ds = H5Dcreate2(g, "state", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    uint32_t crc = w->rank == 0 ? sal_h5_i64_crc(s->sched, 3) : 0;
    MPI_Bcast(&crc, 1, MPI_UINT32_T, 0, comm);
    if (ds < 0) {
        w->bad = 1;
    } else {
        if (w->rank == 0 && H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                     s->sched) < 0)
            w->bad = 1;
        attr(w, ds, "crc32c", H5T_NATIVE_UINT32, &crc);
        H5Dclose(ds);
    }
    H5Sclose(sp);
    if (s->rewind) {
        tensors(w, "/schedule/rewind", H5T_NATIVE_FLOAT, s->rewind);
        for (int t = 0; t < T; t++) { /* one small broadcast per tensor: nothing to allocate */
            uint32_t c = w->rank == 0 ? sal_crc32c(0, s->rewind + p->t[t].offset,
                                                   p->t[t].numel * sizeof(float))
                                      : 0;
            MPI_Bcast(&c, 1, MPI_UINT32_T, 0, comm);
            tensor_crcs_of(w, "/schedule/rewind", &c, p->t + t, 1);
        }
    }
    if (s->rewind && p->nstate > 0) {
        const float *st = s->rewind + p->n;
        tensors_of(w, "/schedule/rewind_state", H5T_NATIVE_FLOAT, st, p->st, p->nstate);
        for (int t = 0; t < p->nstate; t++) {
            uint32_t c = w->rank == 0 ? sal_crc32c(0, st + p->st[t].offset,
                                                   p->st[t].numel * sizeof(float))
                                      : 0;
            MPI_Bcast(&c, 1, MPI_UINT32_T, 0, comm);
            tensor_crcs_of(w, "/schedule/rewind_state", &c, p->st + t, 1);
        }
    }
    if (g >= 0) H5Gclose(g);
}

/* /comm/randk_client_memory: float32 [clients, nnz], rank 0's data in one write (the shape
 * agreed: every rank creates the dataset). */
static void client_memory(writer *w) {
    const sal_ckpt_state *s = w->s;
    hid_t g = group(w, "/comm");
    hsize_t dims[2] = {(hsize_t)s->randk_clients, (hsize_t)sal_params_nnz(s->p)};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t ds = g < 0 ? -1
                     : H5Dcreate2(g, "randk_client_memory", H5T_IEEE_F32LE, sp, H5P_DEFAULT,
                                  H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0)
        w->bad = 1;
    else if (w->rank == 0 && dims[0] * dims[1] > 0 &&
             H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->randk_memory) < 0)
        w->bad = 1;
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    if (g >= 0) H5Gclose(g);
}

/* The file's content; every rank calls it. all: (size + 3 ntensors + nstate + 1) CRCs of
 * scratch. */
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
    attr(w, root, "data_fingerprint", H5T_NATIVE_UINT64, &s->data_fp);
    attr(w, root, "split_fingerprint", H5T_NATIVE_UINT64, &s->split_fp);
    const int world = s->world_size > 0 ? s->world_size : w->size;
    attr(w, root, "world_size", H5T_NATIVE_INT, &world);
    uint32_t hcrc = sal_h5_header_crc(SAL_CKPT_VERSION, s->round, s->step, w->size, s->algorithm,
                                      s->arch, s->seed, n, nnz, s->data_fp, s->split_fp, world,
                                      s->config_text);
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
    if (s->randk_memory) client_memory(w);
    if (s->rank_w) rows(w, "weights", s->rank_w, p->n);
    if (s->rank_m) rows(w, "momentum", s->rank_m, p->n);
    if (s->rank_r) rows(w, "residual", s->rank_r, p->n);
    if (s->rank_s) rows(w, "state", s->rank_s, p->ns);
    if (threaded) pthread_join(th, NULL);
    /* Rank 0's tensor CRCs, shared so that every rank writes the same attributes. */
    MPI_Bcast(job.t, 3 * T + p->nstate + 1, MPI_UINT32_T, 0, comm);
    tensor_crcs(w, "/model", job.t);
    tensor_crcs(w, "/mask", job.t + T);
    if (s->momentum) tensor_crcs(w, "/optim/momentum", job.t + 2 * T);
    if (s->rank_w) row_crcs(w, "weights", job.r[0], all, comm);
    if (s->rank_m) row_crcs(w, "momentum", job.r[1], all, comm);
    if (s->rank_r) row_crcs(w, "residual", job.r[2], all, comm);
    if (s->state) tensor_crcs_of(w, "/state", job.t + 3 * T, p->st, p->nstate);
    if (s->rank_s) row_crcs(w, "state", job.r[3], all, comm);
    if (s->randk_memory) {
        hid_t ds = H5Dopen2(w->file, "/comm/randk_client_memory", H5P_DEFAULT);
        if (ds < 0) w->bad = 1;
        else attr(w, ds, "crc32c", H5T_NATIVE_UINT32, &job.t[3 * T + p->nstate]);
        if (ds >= 0) H5Dclose(ds);
    }
    if (s->sched) schedule(w, comm);
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

/* The watchdog ([run] comm_timeout) brackets this file's waits for other ranks: the agreements
 * and the collective HDF5 write. The local work between them - the seal's CRC on rank 0, the
 * fsync, every rank's read-back and its CRCs - is not a wait and is left out, so a slow disk or
 * a large model cannot pass for a missing peer (a checkpoint of 3 x 9 MiB under ASan took ~2.8 s,
 * which a bracket round the whole save counted: docs/reliability.md). A comm of one rank (fedavg's
 * server, centralized runs: MPI_COMM_SELF) waits for nobody and is not bracketed. Unhashed: the
 * checkpoint is outside [run] check_collectives' sequence. Returns whether it entered. */
static int wd_enter(MPI_Comm comm, const char *op) {
    int size;
    MPI_Comm_size(comm, &size);
    if (size > 1) sal_wd_enter_ex(op, SAL_WD_ALL, SAL_WD_UNHASHED);
    return size > 1;
}
static void wd_leave(int entered) {
    if (entered) sal_wd_leave();
}

/* One outcome for every rank of comm after a step that may fail on some of them: the lowest
 * failing rank's status everywhere, and its line on rank 0 (prefixed "rank R: " when R is not
 * 0); the other ranks' messages are emptied, so that the run prints one line. The same protocol
 * as algo/agree.c's sal_mpi_agree, which io/ does not reach into. */
static sal_status agree(MPI_Comm comm, int rank, int size, sal_status st, sal_err *err) {
    int mine = st ? rank : size, first;
    int in = wd_enter(comm, "the checkpoint's status agreement");
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    wd_leave(in);
    if (first == size) return SAL_OK;
    int code = st;
    char msg[sizeof err->msg];
    in = wd_enter(comm, "the checkpoint's status agreement");
    MPI_Bcast(&code, 1, MPI_INT, first, comm);
    if (first != 0 && rank == first)
        MPI_Send(err->msg, (int)sizeof err->msg, MPI_CHAR, 0, 0, comm);
    if (first != 0 && rank == 0)
        MPI_Recv(msg, (int)sizeof msg, MPI_CHAR, first, 0, comm, MPI_STATUS_IGNORE);
    wd_leave(in);
    if (first != 0 && rank == 0) {
        msg[sizeof msg - 1] = '\0';
        sal_fail(err, (sal_status)code, "rank %d: %.480s", first, msg);
    }
    if (rank != 0) err->msg[0] = '\0';
    return (sal_status)code;
}

/* The bytes the file's datasets hold: less than the file needs, so a file system with less
 * free space than this cannot hold it whatever HDF5 reports (checked before writing). */
static double payload_bytes(const sal_ckpt_state *s, int size) {
    const double n = (double)s->p->n, ns = (double)s->p->ns;
    double b = n * 4 + n + ns * 4 + (s->momentum ? n * 4 : 0);
    if (s->randk_memory) b += (double)s->randk_clients * (double)sal_params_nnz(s->p) * 4;
    b += size * ((s->rank_w ? n * 4 : 0) + (s->rank_m ? n * 4 : 0) + (s->rank_r ? n * 4 : 0) +
                 (s->rank_s ? ns * 4 : 0));
    if (s->metrics) b += (double)s->metrics->n * sizeof(sal_round);
    if (s->rewind) b += (n + ns) * 4;
    return b;
}

static double free_mib(const char *dir) {
    struct statvfs fs;
    return statvfs(dir, &fs) ? -1 : (double)fs.f_bavail * (double)fs.f_frsize / 1048576.0;
}

/* The file offset of what this rank wrote first (its row of the first /ranks dataset, else on
 * rank 0 the first /model tensor), for the ckpt-lost fault; -1 if none. */
static long long first_offset(const writer *w) {
    static const char *const rows_of[] = {"/ranks/weights", "/ranks/momentum", "/ranks/residual",
                                          "/ranks/state"};
    for (int k = 0; k < 4; k++) {
        if (H5Lexists(w->file, "/ranks", H5P_DEFAULT) <= 0 ||
            H5Lexists(w->file, rows_of[k], H5P_DEFAULT) <= 0)
            continue;
        hid_t ds = H5Dopen2(w->file, rows_of[k], H5P_DEFAULT);
        haddr_t at = ds >= 0 ? H5Dget_offset(ds) : HADDR_UNDEF;
        if (ds >= 0) H5Dclose(ds);
        if (at == HADDR_UNDEF) return -1;
        size_t len = k == 3 ? w->s->p->ns : w->n;
        return (long long)at + (long long)w->rank * (long long)len * 4;
    }
    if (w->rank != 0 || w->s->p->ntensors == 0) return -1;
    char layer[SAL_NAME_MAX], leaf[SAL_NAME_MAX], path[160];
    sal_h5_split_name(w->s->p->t[0].name, layer, sizeof layer, leaf, sizeof leaf);
    snprintf(path, sizeof path, "/model/%s/%s", layer, leaf);
    hid_t ds = H5Dopen2(w->file, path, H5P_DEFAULT);
    haddr_t at = ds >= 0 ? H5Dget_offset(ds) : HADDR_UNDEF;
    if (ds >= 0) H5Dclose(ds);
    return at == HADDR_UNDEF ? -1 : (long long)at;
}

/* The byte ranges of the /ranks datasets' raw data (contiguous [size, n] floats), ascending:
 * left out of the seal, since every row carries its own CRC and raw data is not parsed. */
static int rows_extents(const writer *w, sal_seal_skip skip[4]) {
    static const char *const rows_of[] = {"/ranks/weights", "/ranks/momentum", "/ranks/residual",
                                          "/ranks/state"};
    int n = 0;
    if (H5Lexists(w->file, "/ranks", H5P_DEFAULT) <= 0) return 0;
    for (int k = 0; k < 4; k++) {
        if (H5Lexists(w->file, rows_of[k], H5P_DEFAULT) <= 0) continue;
        hid_t ds = H5Dopen2(w->file, rows_of[k], H5P_DEFAULT);
        haddr_t at = ds >= 0 ? H5Dget_offset(ds) : HADDR_UNDEF;
        hsize_t len = ds >= 0 ? H5Dget_storage_size(ds) : 0;
        if (ds >= 0) H5Dclose(ds);
        if (at != HADDR_UNDEF && len > 0) skip[n++] = (sal_seal_skip){(uint64_t)at, len};
    }
    for (int i = 1; i < n; i++) /* insertion sort of at most 4 */
        for (int j = i; j > 0 && skip[j].offset < skip[j - 1].offset; j--) {
            sal_seal_skip t = skip[j];
            skip[j] = skip[j - 1], skip[j - 1] = t;
        }
    return n;
}

/* SALIENT_FAULT=ckpt-lost: 4 KiB of zeros over what this rank wrote, behind HDF5's back. */
static void lose_write(const char *tmp, long long at) {
    if (at < 0) return;
    static const char zeros[4096];
    int fd = open(tmp, O_WRONLY);
    if (fd < 0) return;
    if (pwrite(fd, zeros, sizeof zeros, (off_t)at) < 0) { /* the fault is best effort */
    }
    close(fd);
}

/* Every rank: the file's data reach the disk from this node (on a parallel file system each
 * client flushes its own cache; fsync of any descriptor of the file does that). */
static sal_status sync_file(const char *tmp, int rank, sal_err *err) {
    int fd = open(tmp, O_RDONLY);
    int rc = fd < 0 ? -1 : fsync(fd);
    int e = errno;
    if (fd >= 0) close(fd);
    if (!rc && sal_fault_at(SAL_FAULT_CKPT_SYNC) == rank) rc = -1, e = EIO;
    if (rc)
        return sal_fail(err, SAL_EIO, "checkpoint '%s': fsync failed: %s", tmp, strerror(e));
    return SAL_OK;
}

/* The end of every failure's line (rank 0's): which checkpoint a resume will use. */
static sal_status failed(sal_status st, sal_err *err, int rank, const char *prev) {
    if (rank != 0) return st;
    char line[sizeof err->msg];
    snprintf(line, sizeof line, "%s", err->msg);
    return sal_fail(err, st, "%.300s; %s%s%s; run again with --resume latest once the file "
                    "system has room and is healthy", line,
                    prev[0] ? "latest still points at " : "",
                    prev[0] ? prev : "no earlier checkpoint was published",
                    prev[0] ? ", which is intact" : "");
}

/* Rank 0, before HDF5 touches the file: room for it, taken for real. HDF5 1.10 does not
 * survive a failed write well (a failed close deadlocked two ranks, and on one rank left a
 * file that crashed its cleanup in MPI_Finalize), so a full disk or an exhausted quota must be
 * found before: the temporary file is allocated with fallocate(2) to the payload plus 1 MiB
 * and 1/64 for HDF5's metadata (it needs ~30 KiB here), then released by H5Fcreate's
 * truncation. Where fallocate is not supported, the file system's free space is compared. */
static sal_status reserve(const char *tmp, const char *path, double payload, const char *dir,
                          sal_err *err) {
    double need = payload + payload / 64 + 1048576.0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = fd < 0 ? errno : fallocate(fd, 0, 0, (off_t)need) ? errno : 0;
    if (fd >= 0) close(fd);
    if (rc == EOPNOTSUPP || rc == ENOSYS) {
        double have = free_mib(dir) * 1048576.0;
        rc = have >= 0 && have < need ? ENOSPC : 0;
    }
    unlink(tmp);
    if (!rc) return SAL_OK;
    return sal_fail(err, SAL_EIO, "checkpoint '%s' needs %.1f MiB, which '%s' cannot give (%s, "
                    "%.1f MiB free)", path, need / 1048576.0, dir, strerror(rc), free_mib(dir));
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
    /* What the reader of a failure needs: which checkpoint is still the one to resume from. */
    char prev[64] = "", link[SAL_PATH_MAX + 32];
    snprintf(link, sizeof link, "%s/latest", dir);
    sal_status st = SAL_OK;
    if (w.rank == 0 && !(st = sal_mkdir_p(dir, err))) {
        ssize_t len = readlink(link, prev, sizeof prev - 1);
        prev[len > 0 ? len : 0] = '\0';
        st = reserve(tmp, path, payload_bytes(s, w.size), dir, err);
    }
    if ((st = agree(comm, w.rank, w.size, st, err))) return failed(st, err, w.rank, prev);

    uint8_t *mask8 = w.rank == 0 ? malloc(w.n ? w.n : 1) : NULL;
    /* the rows' CRCs (size), then the tensors' (3 per tensor), the state's and the memory's */
    uint32_t *all = calloc((size_t)w.size + 3 * (size_t)w.s->p->ntensors + w.s->p->nstate + 1,
                           sizeof(uint32_t));
    if ((w.rank == 0 && !mask8) || !all)
        st = sal_fail(err, SAL_ENOMEM, "checkpoint: out of memory for the mask");
    if ((st = agree(comm, w.rank, w.size, st, err))) {
        free(mask8);
        free(all);
        return failed(st, err, w.rank, prev);
    }
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* The user block, whose first SAL_SEAL_BYTES take the seal once the file is whole. HDF5
     * wants it no smaller than the alignment below; the rest of it is a hole on disk. */
    H5Pset_userblock(fcpl, 1 << 20);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    /* Objects of 1 MiB and more start on 1 MiB boundaries: whole stripes on parallel file
     * systems, at the price of some padding in files that hold large tensors. */
    H5Pset_alignment(fapl, 1 << 20, 1 << 20);
    H5Pset_coll_metadata_write(fapl, 1);
    int in = wd_enter(comm, "the collective checkpoint write"); /* collective with mpio */
    w.file = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    wd_leave(in);
    H5Pclose(fapl);
    H5Pclose(fcpl);
    if (w.file < 0) {
        char why[256];
        st = sal_fail(err, SAL_EIO, "checkpoint: cannot create '%s' (%s); is [run] out on a "
                      "writable file system?", tmp, sal_h5_last_error(why, sizeof why));
    }
    if ((st = agree(comm, w.rank, w.size, st, err))) {
        in = wd_enter(comm, "the collective checkpoint write");
        if (w.file >= 0) H5Fclose(w.file);
        wd_leave(in);
        if (w.rank == 0) unlink(tmp);
        free(mask8);
        free(all);
        return failed(st, err, w.rank, prev);
    }
    /* From here to the close every rank makes the same collective HDF5 calls whatever fails
     * on it (w.bad only records it): a rank that left the sequence early would hang the
     * others inside HDF5, where no watchdog can say why. */
    in = wd_enter(comm, "the collective checkpoint write");
    write_all(&w, comm, mask8, all);
    free(mask8);
    free(all);
    int injected = sal_fault_at(SAL_FAULT_CKPT_WRITE) == w.rank;
    if (injected) w.bad = 1;
    long long lost = sal_fault_at(SAL_FAULT_CKPT_LOST) == w.rank ? first_offset(&w) : -1;
    sal_seal_skip skip[4];
    const int nskip = w.rank == 0 ? rows_extents(&w, skip) : 0;
    /* A write that failed for want of room (despite the reservation: another writer took it)
     * would fail again in the close's final flush, and a failed H5Fclose leaves HDF5 1.10 a
     * file it crashes on in MPI_Finalize. So flush first, agree, and where anything failed
     * give the file's space back (truncate it: its content is lost anyway) before closing. */
    if (H5Fflush(w.file, H5F_SCOPE_GLOBAL) < 0) w.bad = 1;
    int any = w.bad;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, comm);
    if (any && w.rank == 0 && truncate(tmp, 0)) { /* best effort: the close may still fail */
    }
    if (any) MPI_Barrier(comm);
    if (H5Fclose(w.file) < 0) w.bad = 1;
    wd_leave(in);
    if (w.bad) {
        char why[256];
        if (injected) snprintf(why, sizeof why, "SALIENT_FAULT=ckpt-write");
        else sal_h5_last_error(why, sizeof why);
        st = sal_fail(err, SAL_EIO, "checkpoint: writing '%s' failed (%s; %.1f MiB free on "
                      "that file system: disk full?)", tmp, why, free_mib(dir));
    }
    /* The seal covers what HDF5 parses; it is computed from what the file holds once HDF5 has
     * closed it, so a write lost after this point is caught by the checks below. */
    st = agree(comm, w.rank, w.size, st, err);
    if (!st && w.rank == 0) st = sal_ckpt_seal(tmp, skip, nskip, err);
    st = agree(comm, w.rank, w.size, st, err);
    if (lost >= 0) lose_write(tmp, lost);
    if (!st) st = sync_file(tmp, w.rank, err);
    st = agree(comm, w.rank, w.size, st, err);
    /* Read back: what the file holds, not what HDF5 said it wrote. Each step below starts
     * from an agreed status, so every rank takes it or skips it alike. Rank 0 checks the seal
     * before any rank lets HDF5 parse the file. */
    if (!st && w.rank == 0) st = sal_ckpt_seal_check(tmp, err);
    st = agree(comm, w.rank, w.size, st, err);
    if (!st) {
        sal_fault_sleep(SAL_FAULT_SLOW_CKPT_VERIFY, w.rank); /* SALIENT_FAULT=slow-ckpt-verify */
        st = sal_ckpt_verify(tmp, s, w.rank, w.size, err);
        st = agree(comm, w.rank, w.size, st, err);
    }
    if (!st) {
        if (w.rank == 0) {
            st = publish(tmp, path, dir, base, err);
            if (!st) prune(dir, keep, s->round); /* only once the new file is whole and named */
        }
        st = agree(comm, w.rank, w.size, st, err);
    }
    if (st) {
        if (w.rank == 0) unlink(tmp);
        in = wd_enter(comm, "the checkpoint's status agreement");
        MPI_Barrier(comm); /* the temporary file is gone before any rank returns */
        wd_leave(in);
        failed(st, err, w.rank, prev);
    }
    return st;
}
