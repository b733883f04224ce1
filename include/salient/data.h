/* data.h - data sets (IDX/MNIST, Fashion-MNIST, CIFAR-10 binary, seeded synthetic) held as
 * uint8 pixels, and minibatch gathering that normalises them to floats on the fly. */
#ifndef SALIENT_DATA_H
#define SALIENT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "salient/status.h"

#define SAL_MAX_CHANNELS 3

/* One split (train or test). Pixels stay uint8 (4x less memory than floats; several ranks per
 * node each hold a copy) and are normalised per channel when a batch is gathered. */
typedef struct sal_dataset {
    int n;                          /* samples */
    int c, h, w;                    /* per-sample shape, NCHW */
    int classes;                    /* labels are 0..classes-1 */
    uint8_t *x;                     /* (n, c, h, w), owned */
    uint8_t *y;                     /* (n), owned */
    float mean[SAL_MAX_CHANNELS];   /* per-channel mean of x/255 used for normalisation */
    float std[SAL_MAX_CHANNELS];    /* per-channel std of x/255 */
} sal_dataset;

typedef enum sal_dataset_kind {
    SAL_DATA_FASHION_MNIST,
    SAL_DATA_MNIST,
    SAL_DATA_CIFAR10,
    SAL_DATA_SYNTHETIC
} sal_dataset_kind;

/* Options for sal_data_load. path NULL or "" means the kind's default directory. */
typedef struct sal_data_opts {
    sal_dataset_kind kind;
    const char *path;
    int train_limit;     /* keep the first N training samples (0 = all) */
    int test_limit;      /* keep the first N test samples (0 = all) */
    int synth_train;     /* synthetic: training samples (default 6000 if 0) */
    int synth_test;      /* synthetic: test samples (default 1000 if 0) */
    uint64_t seed;       /* synthetic: generator seed */
} sal_data_opts;

/* Default directory for a kind: /usr/share/datasets/fashion-mnist etc. ("" for synthetic). */
const char *sal_data_default_path(sal_dataset_kind kind);

/* Load train and test splits. On success the caller owns both and frees them with
 * sal_dataset_free. On failure both are left empty and err names the file and the problem.
 * Files: MNIST/Fashion-MNIST: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz];
 * CIFAR-10: data_batch_{1..5}.bin and test_batch.bin (the "binary version"). */
sal_status sal_data_load(const sal_data_opts *opts, sal_dataset *train, sal_dataset *test,
                         sal_err *err);

void sal_dataset_free(sal_dataset *ds); /* accepts a zeroed or freed dataset */

/* Gather samples idx[0..b) into x (b, c, h, w) as normalised floats and y (b) as ints. */
void sal_dataset_batch(const sal_dataset *ds, const int *idx, int b, float *x, int *y);

/* --- lower level, exposed for tests and fuzzers (no file system involved) --- */

/* Inflate gzip data (or copy raw data when it has no gzip magic). *out is malloc'ed and owned by
 * the caller. name is only used in messages. Refuses outputs above max_out bytes. */
sal_status sal_gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *out_n,
                      size_t max_out, const char *name, sal_err *err);

/* Parse an uncompressed IDX file (big-endian header, type 0x08 = ubyte only).
 * On success *dims holds ndim sizes (ndim <= 4) and *data points INTO buf (not copied). */
typedef struct sal_idx {
    int ndim;
    int dims[4];
    const uint8_t *data;
    size_t count; /* product of dims */
} sal_idx;
sal_status sal_idx_parse(const uint8_t *buf, size_t n, sal_idx *out, const char *name,
                         sal_err *err);

/* Parse CIFAR-10 binary records (1 label byte + 3072 pixel bytes each) and append them to ds
 * (which must have c=3,h=w=32 and may be empty). */
sal_status sal_cifar_append(sal_dataset *ds, const uint8_t *buf, size_t n, const char *name,
                            sal_err *err);

/* Read a whole file into a malloc'ed buffer; refuses files above max bytes. */
sal_status sal_read_file(const char *path, uint8_t **buf, size_t *n, size_t max, sal_err *err);

#endif
