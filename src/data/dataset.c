/* dataset.c - loading MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 from their directories and
 * generating the seeded synthetic sets (batch.c gathers minibatches from them). */
#include "salient/data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "salient/rng.h"
#include "synth_cifar.h"

/* Caps on one file, compressed and inflated: far above the largest set here (MNIST train
 * images inflate to 47 MB, a CIFAR batch is 30 MB) but low enough to stop a runaway file. */
#define DATA_FILE_MAX ((size_t)1 << 31)

/* --- where the files are and what to tell the user when they are not --- */

const char *sal_data_default_path(sal_dataset_kind kind) {
    switch (kind) {
    case SAL_DATA_FASHION_MNIST: return "/usr/share/datasets/fashion-mnist";
    case SAL_DATA_MNIST: return "/usr/share/datasets/mnist";
    case SAL_DATA_CIFAR10: return "/usr/share/datasets/cifar10";
    case SAL_DATA_CIFAR100: return "/usr/share/datasets/cifar100";
    default: return "";
    }
}

int sal_data_is_cifar(sal_dataset_kind kind) {
    return kind == SAL_DATA_CIFAR10 || kind == SAL_DATA_CIFAR100 ||
           kind == SAL_DATA_SYNTHETIC_CIFAR;
}

int sal_data_synth_default(sal_dataset_kind kind, int test) {
    if (kind == SAL_DATA_SYNTHETIC) return test ? 1000 : 6000;
    if (kind == SAL_DATA_SYNTHETIC_CIFAR) return test ? 10000 : 50000;
    return 0;
}

static const char *install_hint(sal_dataset_kind kind) {
    switch (kind) {
    case SAL_DATA_FASHION_MNIST:
        return "install the Debian package dataset-fashion-mnist or set [data] path";
    case SAL_DATA_MNIST:
        return "put the MNIST files ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]) there "
               "or set [data] path";
    case SAL_DATA_CIFAR100:
        return "unpack the CIFAR-100 binary version (cifar-100-binary.tar.gz) there or set "
               "[data] path";
    default:
        return "unpack the CIFAR-10 binary version (cifar-10-binary.tar.gz) there or set "
               "[data] path";
    }
}

/* Append a remedy to a message from a lower layer, which only knows the file name. */
static sal_status with_hint(sal_err *err, sal_status st, const char *hint) {
    if (err && hint) {
        size_t len = strnlen(err->msg, sizeof err->msg - 1);
        snprintf(err->msg + len, sizeof err->msg - len, " (%s)", hint);
    }
    return st;
}

static const char *damage_hint(sal_dataset_kind kind) {
    return kind == SAL_DATA_FASHION_MNIST ? "file damaged? re-install dataset-fashion-mnist"
                                          : "file damaged? copy the data set again";
}

/* Read dir/base.gz or else dir/base, inflated if it is gzip data. *buf is the caller's. */
static sal_status read_data_file(const char *dir, const char *base, sal_dataset_kind kind,
                                 uint8_t **buf, size_t *n, char *path, size_t path_size,
                                 sal_err *err) {
    snprintf(path, path_size, "%s/%s.gz", dir, base);
    if (access(path, F_OK) != 0) snprintf(path, path_size, "%s/%s", dir, base);
    if (access(path, F_OK) != 0)
        return sal_fail(err, SAL_EIO, "%s/%s[.gz]: data file missing (%s)", dir, base,
                        install_hint(kind));
    uint8_t *raw;
    size_t raw_n;
    sal_status st = sal_read_file(path, &raw, &raw_n, DATA_FILE_MAX, err);
    if (st != SAL_OK) return st;
    if (raw_n < 2 || raw[0] != 0x1f || raw[1] != 0x8b) { /* plain file: no second copy */
        *buf = raw;
        *n = raw_n;
        return SAL_OK;
    }
    st = sal_gunzip(raw, raw_n, buf, n, DATA_FILE_MAX, path, err);
    free(raw);
    return st == SAL_EFORMAT ? with_hint(err, st, damage_hint(kind)) : st;
}

/* --- MNIST and Fashion-MNIST (IDX files) --- */

/* like: the training set when loading the test set, whose images must have its shape. */
static sal_status load_idx_split(const char *dir, const char *prefix, int limit,
                                 sal_dataset_kind kind, const sal_dataset *like, sal_dataset *ds,
                                 sal_err *err) {
    char base[64], ipath[1200], lpath[1200];
    uint8_t *ibuf = NULL, *lbuf = NULL;
    size_t in_n = 0, ln_n = 0;
    sal_idx im, lb;
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    sal_status st = read_data_file(dir, base, kind, &ibuf, &in_n, ipath, sizeof ipath, err);
    if (st != SAL_OK) goto done;
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    st = read_data_file(dir, base, kind, &lbuf, &ln_n, lpath, sizeof lpath, err);
    if (st != SAL_OK) goto done;
    if ((st = sal_idx_parse(ibuf, in_n, &im, ipath, err)) != SAL_OK ||
        (st = sal_idx_parse(lbuf, ln_n, &lb, lpath, err)) != SAL_OK) {
        st = with_hint(err, st, damage_hint(kind));
        goto done;
    }
    if (im.ndim != 3 || im.dims[0] < 1 || im.dims[1] < 1 || im.dims[2] < 1) {
        st = sal_fail(err, SAL_EFORMAT, "%s: expected images of shape (n, h, w), got %d dims",
                      ipath, im.ndim);
        goto done;
    }
    if (like && (im.dims[1] != like->h || im.dims[2] != like->w)) {
        st = sal_fail(err, SAL_EFORMAT,
                      "%s: images are %dx%d but the training images are %dx%d; the two files "
                      "must come from one data set (%s)",
                      ipath, im.dims[1], im.dims[2], like->h, like->w, damage_hint(kind));
        goto done;
    }
    if (lb.ndim != 1 || lb.dims[0] != im.dims[0]) {
        st = sal_fail(err, SAL_EFORMAT, "%s: expected %d labels to match %s", lpath,
                      im.dims[0], ipath);
        goto done;
    }
    for (size_t i = 0; i < lb.count; i++)
        if (lb.data[i] >= 10) {
            st = sal_fail(err, SAL_EFORMAT, "%s: label %u at sample %zu, expected 0..9", lpath,
                          lb.data[i], i);
            goto done;
        }
    int n = limit > 0 && limit < im.dims[0] ? limit : im.dims[0];
    size_t per = (size_t)im.dims[1] * im.dims[2];
    ds->x = malloc((size_t)n * per);
    ds->y = malloc((size_t)n);
    if (!ds->x || !ds->y) {
        st = sal_fail(err, SAL_ENOMEM, "%s: out of memory for %d images", ipath, n);
        goto done;
    }
    memcpy(ds->x, im.data, (size_t)n * per);
    memcpy(ds->y, lb.data, (size_t)n);
    ds->n = n;
    ds->c = 1;
    ds->h = im.dims[1];
    ds->w = im.dims[2];
    ds->classes = 10;
done:
    free(ibuf);
    free(lbuf);
    return st;
}

/* --- CIFAR-10 and CIFAR-100 (binary versions) --- */

/* Read one file and append its records; want is the record count every such file of the
 * real set holds, which also catches a file cut at a record boundary. */
static sal_status load_cifar_file(const char *dir, const char *base, sal_dataset_kind kind,
                                  int want, sal_dataset *ds, sal_err *err) {
    char path[1200];
    uint8_t *buf = NULL;
    size_t n = 0;
    int before = ds->n;
    const char *what = kind == SAL_DATA_CIFAR100 ? "CIFAR-100" : "CIFAR-10";
    sal_status st = read_data_file(dir, base, kind, &buf, &n, path, sizeof path, err);
    if (st == SAL_OK) {
        st = kind == SAL_DATA_CIFAR100 ? sal_cifar100_append(ds, buf, n, path, err)
                                       : sal_cifar_append(ds, buf, n, path, err);
        if (st == SAL_EFORMAT) with_hint(err, st, damage_hint(kind));
    }
    free(buf);
    if (st == SAL_OK && ds->n - before != want)
        st = with_hint(err,
                       sal_fail(err, SAL_EFORMAT, "%s: %d records; this %s file holds %d "
                                "(truncated?)", path, ds->n - before, what, want),
                       damage_hint(kind));
    return st;
}

enum { CIFAR10_BATCH = 10000, CIFAR100_TRAIN = 50000, CIFAR100_TEST = 10000 };

static sal_status load_cifar(const char *dir, const sal_data_opts *o, sal_dataset *train,
                             sal_dataset *test, sal_err *err) {
    sal_status st = SAL_OK;
    if (o->kind == SAL_DATA_CIFAR100) {
        st = load_cifar_file(dir, "train.bin", o->kind, CIFAR100_TRAIN, train, err);
        if (st == SAL_OK) st = load_cifar_file(dir, "test.bin", o->kind, CIFAR100_TEST, test, err);
    } else {
        sal_dataset spare; /* files past train_limit: read and checked, then dropped */
        memset(&spare, 0, sizeof spare);
        for (int i = 1; i <= 5 && st == SAL_OK; i++) {
            char base[32];
            snprintf(base, sizeof base, "data_batch_%d.bin", i);
            int enough = o->train_limit > 0 && train->n >= o->train_limit;
            st = load_cifar_file(dir, base, o->kind, CIFAR10_BATCH, enough ? &spare : train, err);
            sal_dataset_free(&spare);
            memset(&spare, 0, sizeof spare);
        }
        if (st == SAL_OK)
            st = load_cifar_file(dir, "test_batch.bin", o->kind, CIFAR10_BATCH, test, err);
    }
    if (o->train_limit > 0 && train->n > o->train_limit) train->n = o->train_limit;
    if (o->test_limit > 0 && test->n > o->test_limit) test->n = o->test_limit;
    return st;
}

/* --- synthetic: a learnable 10-class set that needs no files --- */

enum { SYN_SIDE = 28, SYN_GRID = 7, SYN_CLASSES = 10 };
#define SYN_NOISE 48.0 /* pixel noise sd: classes overlap per pixel, not over the image */

/* One smooth prototype per class: a random 7x7 grid of intensities, bilinearly upsampled. */
static void synth_prototypes(uint64_t seed, float *proto /* (10, 28, 28) */) {
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_SYNTH, 0);
    for (int k = 0; k < SYN_CLASSES; k++) {
        double g[SYN_GRID][SYN_GRID];
        for (int i = 0; i < SYN_GRID; i++)
            for (int j = 0; j < SYN_GRID; j++) g[i][j] = 255.0 * sal_rng_uniform(&r);
        for (int y = 0; y < SYN_SIDE; y++)
            for (int x = 0; x < SYN_SIDE; x++) {
                double fy = (y + 0.5) * (SYN_GRID - 1) / SYN_SIDE;
                double fx = (x + 0.5) * (SYN_GRID - 1) / SYN_SIDE;
                int y0 = (int)fy, x0 = (int)fx;
                double ty = fy - y0, tx = fx - x0;
                double top = g[y0][x0] * (1 - tx) + g[y0][x0 + 1] * tx;
                double bot = g[y0 + 1][x0] * (1 - tx) + g[y0 + 1][x0 + 1] * tx;
                proto[(k * SYN_SIDE + y) * SYN_SIDE + x] = (float)(top * (1 - ty) + bot * ty);
            }
    }
}

/* Samples are prototype + Gaussian noise; labels round-robin so every prefix is balanced. */
static sal_status synth_split(uint64_t seed, uint64_t id, int n, const float *proto,
                              sal_dataset *ds, sal_err *err) {
    const size_t per = SYN_SIDE * SYN_SIDE;
    ds->x = malloc((size_t)n * per);
    ds->y = malloc((size_t)n);
    if (!ds->x || !ds->y)
        return sal_fail(err, SAL_ENOMEM, "synthetic data: out of memory for %d samples", n);
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_SYNTH, id);
    for (int i = 0; i < n; i++) {
        int k = i % SYN_CLASSES;
        ds->y[i] = (uint8_t)k;
        for (size_t p = 0; p < per; p++) {
            double v = proto[k * per + p] + SYN_NOISE * sal_rng_normal(&r);
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            ds->x[i * per + p] = (uint8_t)lrint(v);
        }
    }
    ds->n = n;
    ds->c = 1;
    ds->h = ds->w = SYN_SIDE;
    ds->classes = SYN_CLASSES;
    return SAL_OK;
}

static sal_status load_synthetic(const sal_data_opts *o, sal_dataset *train, sal_dataset *test,
                                 sal_err *err) {
    float *proto = malloc(sizeof(float) * SYN_CLASSES * SYN_SIDE * SYN_SIDE);
    if (!proto) return sal_fail(err, SAL_ENOMEM, "synthetic data: out of memory");
    synth_prototypes(o->seed, proto);
    int ntr = o->synth_train > 0 ? o->synth_train : sal_data_synth_default(o->kind, 0);
    int nte = o->synth_test > 0 ? o->synth_test : sal_data_synth_default(o->kind, 1);
    sal_status st = synth_split(o->seed, 1, ntr, proto, train, err);
    if (st == SAL_OK) st = synth_split(o->seed, 2, nte, proto, test, err);
    free(proto);
    if (st != SAL_OK) return st;
    /* Normalise with the statistics of the whole generated training set (before any limit),
     * as the published constants of the real sets are. */
    double s = 0, s2 = 0;
    size_t total = (size_t)train->n * SYN_SIDE * SYN_SIDE;
    for (size_t i = 0; i < total; i++) {
        double v = train->x[i] / 255.0;
        s += v;
        s2 += v * v;
    }
    double mean = s / total, var = s2 / total - mean * mean;
    train->mean[0] = (float)mean;
    train->std[0] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
    if (o->train_limit > 0 && train->n > o->train_limit) train->n = o->train_limit;
    if (o->test_limit > 0 && test->n > o->test_limit) test->n = o->test_limit;
    return SAL_OK;
}

/* --- the entry point --- */

/* Published per-channel statistics of each training set, so that normalisation does not
 * depend on train_limit: MNIST (PyTorch examples), Fashion-MNIST, CIFAR-10 (common FL code),
 * CIFAR-100. */
static void set_stats(sal_dataset *ds, sal_dataset_kind kind) {
    static const float cifar_mean[3] = {0.4914f, 0.4822f, 0.4465f};
    static const float cifar_std[3] = {0.2470f, 0.2435f, 0.2616f};
    /* CIFAR-100: the constants of SSFL's code (riohib/SSFL, cifar100_partitioner.py) */
    static const float cifar100_mean[3] = {0.5071f, 0.4867f, 0.4408f};
    static const float cifar100_std[3] = {0.2675f, 0.2565f, 0.2761f};
    for (int c = 0; c < SAL_MAX_CHANNELS; c++) {
        ds->mean[c] = 0.0f;
        ds->std[c] = 1.0f;
    }
    if (kind == SAL_DATA_MNIST) {
        ds->mean[0] = 0.1307f;
        ds->std[0] = 0.3081f;
    } else if (kind == SAL_DATA_FASHION_MNIST) {
        ds->mean[0] = 0.2860f;
        ds->std[0] = 0.3530f;
    } else if (kind == SAL_DATA_CIFAR10) {
        memcpy(ds->mean, cifar_mean, sizeof cifar_mean);
        memcpy(ds->std, cifar_std, sizeof cifar_std);
    } else if (kind == SAL_DATA_CIFAR100) {
        memcpy(ds->mean, cifar100_mean, sizeof cifar100_mean);
        memcpy(ds->std, cifar100_std, sizeof cifar100_std);
    }
}

sal_status sal_data_load(const sal_data_opts *o, sal_dataset *train, sal_dataset *test,
                         sal_err *err) {
    if (!o || !train || !test) return sal_fail(err, SAL_EINVAL, "sal_data_load: NULL argument");
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (o->train_limit < 0 || o->test_limit < 0)
        return sal_fail(err, SAL_ECONFIG, "[data] train_limit/test_limit must be >= 0");
    if (o->synth_train < 0 || o->synth_test < 0)
        return sal_fail(err, SAL_ECONFIG, "[data] synth_train/synth_test must be >= 0");
    sal_status st;
    if (o->kind == SAL_DATA_SYNTHETIC) {
        st = load_synthetic(o, train, test, err);
    } else if (o->kind == SAL_DATA_SYNTHETIC_CIFAR) {
        int ntr = o->synth_train ? o->synth_train : sal_data_synth_default(o->kind, 0);
        int nte = o->synth_test ? o->synth_test : sal_data_synth_default(o->kind, 1);
        st = sal_synth_cifar_load(o, ntr, nte, train, test, err);
    } else if (o->kind == SAL_DATA_FASHION_MNIST || o->kind == SAL_DATA_MNIST ||
               o->kind == SAL_DATA_CIFAR10 || o->kind == SAL_DATA_CIFAR100) {
        const char *dir = o->path && o->path[0] ? o->path : sal_data_default_path(o->kind);
        struct stat sb;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return sal_fail(err, SAL_EIO, "%s: data directory not found (%s)", dir,
                            install_hint(o->kind));
        if (o->kind == SAL_DATA_CIFAR10 || o->kind == SAL_DATA_CIFAR100) {
            st = load_cifar(dir, o, train, test, err);
        } else {
            st = load_idx_split(dir, "train", o->train_limit, o->kind, NULL, train, err);
            if (st == SAL_OK)
                st = load_idx_split(dir, "t10k", o->test_limit, o->kind, train, test, err);
        }
        set_stats(train, o->kind);
    } else {
        return sal_fail(err, SAL_EINVAL, "sal_data_load: unknown data set kind %d", o->kind);
    }
    if (st != SAL_OK) {
        sal_dataset_free(train);
        sal_dataset_free(test);
        return st;
    }
    memcpy(test->mean, train->mean, sizeof test->mean); /* test uses the training statistics */
    memcpy(test->std, train->std, sizeof test->std);
    return SAL_OK;
}

void sal_dataset_free(sal_dataset *ds) {
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}
