/* data.h - data sets (IDX/MNIST, Fashion-MNIST, CIFAR-10/100 binary, seeded synthetic) held as
 * uint8 pixels, and minibatch gathering that normalises (and for training may augment) them to
 * floats on the fly. */
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
    SAL_DATA_SYNTHETIC,      /* 1x28x28, 10 classes, generated from the seed */
    SAL_DATA_CIFAR100,       /* fine labels (100 classes) */
    SAL_DATA_SYNTHETIC_CIFAR /* 3x32x32, 10 classes, generated from the seed: the CIFAR path
                              * (shapes, augmentation, ResNets) without the files */
} sal_dataset_kind;

/* True for the 3x32x32 CIFAR sets: cifar10, cifar100, synthetic-cifar. */
int sal_data_is_cifar(sal_dataset_kind kind);

/* Options for sal_data_load. path NULL or "" means the kind's default directory. */
typedef struct sal_data_opts {
    sal_dataset_kind kind;
    const char *path;
    int train_limit;     /* keep the first N training samples (0 = all) */
    int test_limit;      /* keep the first N test samples (0 = all) */
    int synth_train;     /* synthetic sets: training samples (0 = sal_data_synth_default) */
    int synth_test;      /* synthetic sets: test samples (0 = sal_data_synth_default) */
    uint64_t seed;       /* synthetic: generator seed */
} sal_data_opts;

/* Samples a synthetic kind generates when synth_train/synth_test is 0: synthetic 6000/1000,
 * synthetic-cifar 50000/10000 (CIFAR-10's sizes); 0 for the kinds read from files. */
int sal_data_synth_default(sal_dataset_kind kind, int test);

/* Default directory for a kind: /usr/share/datasets/fashion-mnist etc. ("" for synthetic). */
const char *sal_data_default_path(sal_dataset_kind kind);

/* Load train and test splits. On success the caller owns both and frees them with
 * sal_dataset_free. On failure both are left empty and err names the file and the problem.
 * Files: MNIST/Fashion-MNIST: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz];
 * CIFAR-10: data_batch_{1..5}.bin and test_batch.bin (the "binary version"), 10000 records each;
 * CIFAR-100: train.bin (50000 records) and test.bin (10000), fine labels kept. */
sal_status sal_data_load(const sal_data_opts *opts, sal_dataset *train, sal_dataset *test,
                         sal_err *err);

void sal_dataset_free(sal_dataset *ds); /* accepts a zeroed or freed dataset */

/* Gather samples idx[0..b) into x (b, c, h, w) as normalised floats and y (b) as ints. */
void sal_dataset_batch(const sal_dataset *ds, const int *idx, int b, float *x, int *y);

/* --- training-batch augmentation ([data] augment) --- */

typedef enum sal_augment_kind {
    SAL_AUG_AUTO,     /* crop_flip for the CIFAR sets, none otherwise (sal_augment_resolve) */
    SAL_AUG_NONE,
    SAL_AUG_CROP_FLIP /* torchvision's RandomCrop(size, padding=4) then RandomHorizontalFlip(),
                       * the train transform of SSFL's CIFAR code: a crop of the image padded
                       * with 4 black (pixel 0) borders, mirrored with probability 1/2 */
} sal_augment_kind;

sal_augment_kind sal_augment_resolve(sal_augment_kind kind, sal_dataset_kind data);

/* One sample's draw: the crop's top-left corner in the padded image (dy, dx in 0..8; 4, 4 is
 * the image itself) and whether the crop is mirrored left-right. */
typedef struct sal_aug_draw {
    int dy, dx, flip;
} sal_aug_draw;

/* The draw of sample `sample` of client `client` in round `round`: a pure function of the four
 * (stream (seed, SAL_STREAM_AUGMENT, a bijective mix of round, client and sample)), uniform over
 * the 9 x 9 x 2 outcomes, so augmented training is bitwise independent of ranks and threads. */
sal_aug_draw sal_augment_draw(uint64_t seed, uint64_t round, uint64_t client, uint64_t sample);

/* Who draws a batch: batch entry i is sample first + i of (client, round), where sample counts
 * the samples the client has drawn in the round (over its local epochs). */
typedef struct sal_augment {
    sal_augment_kind kind; /* AUTO is treated as NONE: resolve it first */
    uint64_t seed, round, client, first;
} sal_augment;

/* The `round` of the saliency pass before training (SNIP, GraSP scores on a client's data), a
 * round no training reaches: its draws differ from every training round's. */
#define SAL_AUG_ROUND_SALIENCY UINT64_MAX

/* sal_dataset_batch, with entry i cropped and flipped by sal_augment_draw(aug..., first + i)
 * when aug->kind is SAL_AUG_CROP_FLIP (padding is pixel 0, normalised like any pixel). aug
 * NULL or SAL_AUG_NONE: exactly sal_dataset_batch. No allocation. */
void sal_dataset_batch_aug(const sal_dataset *ds, const int *idx, int b, const sal_augment *aug,
                           float *x, int *y);

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
 * (which must have c=3,h=w=32 and may be empty). A bad size or label leaves ds as it was. */
sal_status sal_cifar_append(sal_dataset *ds, const uint8_t *buf, size_t n, const char *name,
                            sal_err *err);
/* The same for CIFAR-100 records (coarse label 0..19, fine label 0..99, 3072 pixel bytes);
 * the fine label is kept (100 classes), as torchvision's CIFAR100 and SSFL's code do. */
sal_status sal_cifar100_append(sal_dataset *ds, const uint8_t *buf, size_t n, const char *name,
                               sal_err *err);

/* Read a whole file into a malloc'ed buffer; refuses files above max bytes. */
sal_status sal_read_file(const char *path, uint8_t **buf, size_t *n, size_t max, sal_err *err);

#endif
