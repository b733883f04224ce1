/* test_data.c - the data readers (IDX, gzip, CIFAR-10), sal_data_load on real and hand-made
 * directories, the synthetic set, and batch normalisation; all offline, no fixtures needed. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "salient/data.h"
#include "salient/rng.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* --- helpers --- */

/* gzip-compress in[0..n) (windowBits 15 + 16 = gzip wrapper); *out is malloc'ed. */
static int gzip_buf(const uint8_t *in, size_t n, uint8_t **out, size_t *out_n) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    size_t cap = deflateBound(&zs, n) + 64;
    *out = malloc(cap);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = *out;
    zs.avail_out = (uInt)cap;
    int ret = deflate(&zs, Z_FINISH);
    *out_n = cap - zs.avail_out;
    deflateEnd(&zs);
    return ret == Z_STREAM_END ? 0 : -1;
}

static int write_file(const char *dir, const char *name, const uint8_t *buf, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(buf, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static void remove_file(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

/* An IDX buffer: header for dims[0..nd) then count bytes from gen(i). Caller frees. */
static uint8_t *make_idx(int nd, const uint32_t *dims, size_t *n, int label_mod) {
    size_t count = 1;
    for (int i = 0; i < nd; i++) count *= dims[i];
    *n = 4 + 4 * (size_t)nd + count;
    uint8_t *b = malloc(*n);
    b[0] = b[1] = 0;
    b[2] = 0x08;
    b[3] = (uint8_t)nd;
    for (int i = 0; i < nd; i++)
        for (int k = 0; k < 4; k++) b[4 + 4 * i + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
    for (size_t i = 0; i < count; i++)
        b[4 + 4 * nd + i] = (uint8_t)(label_mod ? i % label_mod : (i * 37 + 11) & 0xff);
    return b;
}

static int contains(const sal_err *e, const char *s) { return strstr(e->msg, s) != NULL; }

/* --- IDX --- */

static void test_idx(void) {
    uint32_t dims[3] = {2, 3, 4};
    size_t n;
    uint8_t *b = make_idx(3, dims, &n, 0);
    sal_idx idx;
    sal_err err = {{0}};
    CHECK(sal_idx_parse(b, n, &idx, "t.idx", &err) == SAL_OK);
    CHECK(idx.ndim == 3 && idx.dims[0] == 2 && idx.dims[1] == 3 && idx.dims[2] == 4);
    CHECK(idx.count == 24 && idx.data == b + 16);
    CHECK(idx.data[0] == 11 && idx.data[23] == (uint8_t)(23 * 37 + 11));

    /* truncated header: fewer than 4 bytes, then fewer than 4 + 4*ndim */
    CHECK(sal_idx_parse(b, 3, &idx, "t.idx", &err) == SAL_EFORMAT && contains(&err, "t.idx"));
    CHECK(sal_idx_parse(b, 10, &idx, "t.idx", &err) == SAL_EFORMAT &&
          contains(&err, "truncated IDX header"));
    /* truncated data and trailing bytes */
    CHECK(sal_idx_parse(b, n - 1, &idx, "t.idx", &err) == SAL_EFORMAT &&
          contains(&err, "truncated") && idx.data == NULL);
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, b, n);
    longer[n] = 0;
    CHECK(sal_idx_parse(longer, n + 1, &idx, "t.idx", &err) == SAL_EFORMAT &&
          contains(&err, "trailing"));
    free(longer);
    /* wrong magic, unsupported type, bad ndim */
    b[0] = 1;
    CHECK(sal_idx_parse(b, n, &idx, "t.idx", &err) == SAL_EFORMAT && contains(&err, "magic"));
    b[0] = 0;
    b[2] = 0x0D;
    CHECK(sal_idx_parse(b, n, &idx, "t.idx", &err) == SAL_EFORMAT && contains(&err, "float"));
    b[2] = 0x08;
    b[3] = 0;
    CHECK(sal_idx_parse(b, n, &idx, "t.idx", &err) == SAL_EFORMAT);
    b[3] = 5;
    CHECK(sal_idx_parse(b, n, &idx, "t.idx", &err) == SAL_EFORMAT);
    /* dims/size mismatch: header says 2x3x5 for 24 bytes */
    b[3] = 3;
    b[15] = 5;
    CHECK(sal_idx_parse(b, n, &idx, "t.idx", &err) == SAL_EFORMAT &&
          contains(&err, "promises 30"));
    free(b);

    /* huge dims: the product must not wrap around to a small number */
    uint8_t huge[20] = {0, 0, 8, 4, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff,
                        0x7f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    CHECK(sal_idx_parse(huge, sizeof huge, &idx, "h.idx", &err) == SAL_EFORMAT);
    huge[16] = 0x7f; /* 2^31-1 ^ 4 overflows 64 bits */
    huge[19] = 0xff;
    CHECK(sal_idx_parse(huge, sizeof huge, &idx, "h.idx", &err) == SAL_EFORMAT &&
          contains(&err, "overflow"));
    uint8_t big[8] = {0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff};
    CHECK(sal_idx_parse(big, sizeof big, &idx, "b.idx", &err) == SAL_EFORMAT);
    /* a zero dimension is a valid empty array */
    uint8_t empty[8] = {0, 0, 8, 1, 0, 0, 0, 0};
    CHECK(sal_idx_parse(empty, sizeof empty, &idx, "e.idx", &err) == SAL_OK && idx.count == 0);
    /* gzip data handed to the IDX parser says so */
    uint8_t gz[8] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0};
    CHECK(sal_idx_parse(gz, sizeof gz, &idx, "g.idx", &err) == SAL_EFORMAT &&
          contains(&err, "gzip"));
}

/* --- gzip --- */

static void test_gzip(void) {
    sal_err err = {{0}};
    size_t n = 300000, zn, on;
    uint8_t *raw = malloc(n), *z, *out;
    sal_rng r;
    sal_rng_seed(&r, 7, 99, 0);
    for (size_t i = 0; i < n; i++) raw[i] = i < n / 2 ? (uint8_t)sal_rng_below(&r, 256) : 0;
    CHECK(gzip_buf(raw, n, &z, &zn) == 0);

    CHECK(sal_gunzip(z, zn, &out, &on, n, "a.gz", &err) == SAL_OK); /* exactly at the cap */
    CHECK(on == n && memcmp(out, raw, n) == 0);
    free(out);
    CHECK(sal_gunzip(z, zn, &out, &on, n - 1, "a.gz", &err) == SAL_EFORMAT &&
          contains(&err, "more than") && out == NULL);
    /* a lying ISIZE hint (set small) must not break growth; the CRC/length check catches it */
    uint8_t *lie = malloc(zn);
    memcpy(lie, z, zn);
    lie[zn - 4] = 1, lie[zn - 3] = lie[zn - 2] = lie[zn - 1] = 0;
    CHECK(sal_gunzip(lie, zn, &out, &on, n * 2, "lie.gz", &err) == SAL_EFORMAT);
    free(lie);

    /* every truncation is an error naming the file, never a crash */
    int bad = 0;
    for (size_t cut = 2; cut < zn; cut += (cut < 64 ? 1 : 997)) {
        sal_status st = sal_gunzip(z, cut, &out, &on, n * 2, "cut.gz", &err);
        if (st != SAL_EFORMAT || !contains(&err, "cut.gz") || out) bad++;
        if (st == SAL_OK) free(out);
    }
    CHECK_MSG(bad == 0, "%d truncations not rejected", bad);
    CHECK(sal_gunzip(z, zn - 9, &out, &on, n * 2, "train-images-idx3-ubyte.gz", &err) ==
              SAL_EFORMAT &&
          contains(&err, "train-images-idx3-ubyte.gz: truncated gzip stream"));

    /* flipped bytes in the body, garbage after the magic, trailing garbage */
    uint8_t *flip = malloc(zn + 3);
    memcpy(flip, z, zn);
    flip[zn / 2] ^= 0x55;
    CHECK(sal_gunzip(flip, zn, &out, &on, n * 2, "flip.gz", &err) == SAL_EFORMAT);
    memcpy(flip, z, zn);
    memcpy(flip + zn, "xyz", 3);
    CHECK(sal_gunzip(flip, zn + 3, &out, &on, n * 2, "tail.gz", &err) == SAL_EFORMAT &&
          contains(&err, "garbage"));
    free(flip);
    uint8_t garbage[64] = {0x1f, 0x8b};
    for (int i = 2; i < 64; i++) garbage[i] = (uint8_t)(i * 77 + 3);
    CHECK(sal_gunzip(garbage, sizeof garbage, &out, &on, 1 << 20, "junk.gz", &err) ==
          SAL_EFORMAT);

    /* two members back to back inflate to the concatenation, like gzip -d */
    uint8_t *two = malloc(2 * zn);
    memcpy(two, z, zn);
    memcpy(two + zn, z, zn);
    CHECK(sal_gunzip(two, 2 * zn, &out, &on, 2 * n, "two.gz", &err) == SAL_OK && on == 2 * n &&
          memcmp(out + n, raw, n) == 0);
    free(out);
    free(two);
    free(z);

    /* non-gzip input is copied; the cap applies too; an empty input is fine */
    CHECK(sal_gunzip(raw, 100, &out, &on, 100, "raw", &err) == SAL_OK && on == 100 &&
          memcmp(out, raw, 100) == 0);
    free(out);
    CHECK(sal_gunzip(raw, 100, &out, &on, 99, "raw", &err) == SAL_EFORMAT);
    CHECK(sal_gunzip(raw, 0, &out, &on, 99, "raw", &err) == SAL_OK && on == 0);
    free(out);

    /* gzip of an IDX file parses after inflating */
    uint32_t dims[1] = {5};
    size_t in;
    uint8_t *idxb = make_idx(1, dims, &in, 10);
    CHECK(gzip_buf(idxb, in, &z, &zn) == 0);
    sal_idx idx;
    CHECK(sal_gunzip(z, zn, &out, &on, 1 << 20, "l.gz", &err) == SAL_OK &&
          sal_idx_parse(out, on, &idx, "l.gz", &err) == SAL_OK && idx.count == 5 &&
          idx.data[4] == 4);
    free(out);
    free(z);
    free(idxb);
    free(raw);
}

/* --- CIFAR-10 records --- */

static uint8_t *make_cifar(int records, int label0, size_t *n) {
    *n = (size_t)records * 3073;
    uint8_t *b = malloc(*n);
    for (int i = 0; i < records; i++) {
        b[i * 3073] = (uint8_t)((label0 + i) % 10);
        for (int p = 0; p < 3072; p++) b[i * 3073 + 1 + p] = (uint8_t)(i + p / 1024 * 50 + p);
    }
    return b;
}

static void test_cifar(void) {
    sal_err err = {{0}};
    sal_dataset ds = {0};
    size_t n;
    uint8_t *b = make_cifar(2, 8, &n);
    CHECK(sal_cifar_append(&ds, b, n, "c.bin", &err) == SAL_OK);
    CHECK(ds.n == 2 && ds.c == 3 && ds.h == 32 && ds.w == 32 && ds.classes == 10);
    CHECK(ds.y[0] == 8 && ds.y[1] == 9);
    CHECK(ds.x[3072 + 1024] == (uint8_t)(1 + 50 + 1024)); /* sample 1, G plane, pixel 0 */
    CHECK(sal_cifar_append(&ds, b, n, "c.bin", &err) == SAL_OK && ds.n == 4 && ds.y[2] == 8);
    /* bad sizes and labels leave ds as it was */
    CHECK(sal_cifar_append(&ds, b, n - 1, "c.bin", &err) == SAL_EFORMAT &&
          contains(&err, "c.bin") && ds.n == 4);
    CHECK(sal_cifar_append(&ds, b, 3072, "c.bin", &err) == SAL_EFORMAT && ds.n == 4);
    CHECK(sal_cifar_append(&ds, b, 0, "c.bin", &err) == SAL_EFORMAT && ds.n == 4);
    b[3073] = 10;
    CHECK(sal_cifar_append(&ds, b, n, "c.bin", &err) == SAL_EFORMAT &&
          contains(&err, "record 1") && ds.n == 4);
    sal_dataset_free(&ds);
    CHECK(ds.x == NULL && ds.n == 0);
    sal_dataset gray = {.c = 1, .h = 28, .w = 28};
    b[3073] = 1;
    CHECK(sal_cifar_append(&gray, b, n, "c.bin", &err) == SAL_EINVAL && gray.n == 0);
    free(b);
}

/* --- files and directories --- */

static void test_read_file(const char *tmp) {
    sal_err err = {{0}};
    uint8_t *buf;
    size_t n;
    CHECK(sal_read_file("/nonexistent/x.bin", &buf, &n, 100, &err) == SAL_EIO &&
          contains(&err, "/nonexistent/x.bin") && buf == NULL);
    CHECK(sal_read_file(tmp, &buf, &n, 100, &err) == SAL_EIO); /* a directory */
    uint8_t data[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    CHECK(write_file(tmp, "ten.bin", data, 10) == 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/ten.bin", tmp);
    CHECK(sal_read_file(path, &buf, &n, 10, &err) == SAL_OK && n == 10 && buf[9] == 10);
    free(buf);
    CHECK(sal_read_file(path, &buf, &n, 9, &err) == SAL_EFORMAT && buf == NULL);
    remove_file(tmp, "ten.bin");
}

static const char *idx_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* Write a small MNIST-style directory: ntr/nte images of 28x28, gzip'ed or not. */
static void write_mnist_dir(const char *dir, int ntr, int nte, int gz) {
    for (int f = 0; f < 4; f++) {
        int nn = f < 2 ? ntr : nte;
        uint32_t dims[3] = {(uint32_t)nn, 28, 28};
        size_t n, zn;
        uint8_t *b = make_idx(f % 2 ? 1 : 3, dims, &n, f % 2 ? 10 : 0), *z;
        char name[64];
        snprintf(name, sizeof name, "%s%s", idx_names[f], gz ? ".gz" : "");
        if (gz && gzip_buf(b, n, &z, &zn) == 0) {
            CHECK(write_file(dir, name, z, zn) == 0);
            free(z);
        } else {
            CHECK(write_file(dir, name, b, n) == 0);
        }
        free(b);
    }
}

static void clear_mnist_dir(const char *dir) {
    char name[64];
    for (int f = 0; f < 4; f++) {
        remove_file(dir, idx_names[f]);
        snprintf(name, sizeof name, "%s.gz", idx_names[f]);
        remove_file(dir, name);
    }
}

static void test_mnist_dirs(const char *tmp) {
    sal_err err = {{0}};
    sal_dataset tr, te;
    sal_data_opts o = {.kind = SAL_DATA_MNIST, .path = "/nonexistent/salient-data"};
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_EIO &&
          contains(&err, "/nonexistent/salient-data") && contains(&err, "[data] path"));
    CHECK(tr.x == NULL && te.x == NULL);

    for (int gz = 0; gz < 2; gz++) {
        write_mnist_dir(tmp, 20, 10, gz);
        o.path = tmp;
        CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_OK);
        CHECK(tr.n == 20 && te.n == 10 && tr.c == 1 && tr.h == 28 && tr.w == 28);
        CHECK(tr.classes == 10 && tr.y[13] == 3 && te.y[9] == 9);
        CHECK(tr.x[5] == (uint8_t)(5 * 37 + 11));
        CHECK_CLOSE(tr.mean[0], 0.1307, 1e-6, 0);
        CHECK_CLOSE(te.std[0], 0.3081, 1e-6, 0);
        sal_dataset_free(&tr);
        sal_dataset_free(&te);
        o.train_limit = 7;
        o.test_limit = 3;
        CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_OK && tr.n == 7 && te.n == 3);
        sal_dataset_free(&tr);
        sal_dataset_free(&te);
        o.train_limit = o.test_limit = 0;
        clear_mnist_dir(tmp);
    }

    /* a missing file is named; mismatched label counts and bad labels are caught */
    write_mnist_dir(tmp, 20, 10, 0);
    remove_file(tmp, "t10k-labels-idx1-ubyte");
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_EIO &&
          contains(&err, "t10k-labels-idx1-ubyte") && tr.x == NULL);
    uint32_t d1[1] = {9};
    size_t n;
    uint8_t *lb = make_idx(1, d1, &n, 10);
    CHECK(write_file(tmp, "t10k-labels-idx1-ubyte", lb, n) == 0);
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_EFORMAT && contains(&err, "labels"));
    free(lb);
    d1[0] = 10;
    lb = make_idx(1, d1, &n, 10);
    lb[n - 1] = 10; /* the last label out of range */
    CHECK(write_file(tmp, "t10k-labels-idx1-ubyte", lb, n) == 0);
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_EFORMAT && contains(&err, "label 10"));
    free(lb);
    clear_mnist_dir(tmp);
}

/* A truncated copy of a real (or, without the package, a hand-made) file gives a clean error. */
static void test_truncated_copy(const char *tmp) {
    sal_err err = {{0}};
    sal_dataset tr, te;
    write_mnist_dir(tmp, 20, 10, 1);
    uint8_t *buf;
    size_t n;
    sal_status st = sal_read_file(FASHION_DIR "/train-images-idx3-ubyte.gz", &buf, &n,
                                  (size_t)1 << 30, &err);
    if (st != SAL_OK) {
        printf("skipped: truncated copy of the real file (%s); using a hand-made one\n",
               err.msg);
        char path[1024];
        snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", tmp);
        CHECK(sal_read_file(path, &buf, &n, 1 << 20, &err) == SAL_OK);
    }
    CHECK(write_file(tmp, "train-images-idx3-ubyte.gz", buf, n * 2 / 3) == 0);
    free(buf);
    sal_data_opts o = {.kind = SAL_DATA_FASHION_MNIST, .path = tmp};
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_EFORMAT &&
          contains(&err, "train-images-idx3-ubyte.gz: truncated gzip stream") &&
          contains(&err, "dataset-fashion-mnist"));
    printf("truncated copy: %s\n", err.msg);
    CHECK(tr.x == NULL && te.x == NULL && tr.n == 0);
    clear_mnist_dir(tmp);
}

static void test_cifar_dir(const char *tmp) {
    sal_err err = {{0}};
    sal_dataset tr, te;
    size_t n;
    uint8_t *b = make_cifar(10000, 0, &n); /* every file of the binary version holds 10000 */
    char name[64];
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", i);
        CHECK(write_file(tmp, name, b, n) == 0);
    }
    CHECK(write_file(tmp, "test_batch.bin", b, n) == 0);
    sal_data_opts o = {.kind = SAL_DATA_CIFAR10, .path = tmp};
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_OK && tr.n == 50000 && te.n == 10000);
    CHECK(tr.c == 3 && te.h == 32 && tr.y[4] == 4 && tr.y[10004] == 4);
    CHECK_CLOSE(tr.mean[2], 0.4465, 1e-6, 0);
    CHECK_CLOSE(te.std[1], 0.2435, 1e-6, 0);
    sal_dataset_free(&tr);
    sal_dataset_free(&te);
    o.train_limit = 4;
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_OK && tr.n == 4 && te.n == 10000);
    sal_dataset_free(&tr);
    sal_dataset_free(&te);
    /* cut at a record boundary: a whole number of records, one file short of 10000; found
     * also when train_limit means its records are not needed */
    CHECK(write_file(tmp, "data_batch_3.bin", b, n - 3073) == 0);
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_EFORMAT &&
          contains(&err, "data_batch_3.bin: 9999 records") && tr.x == NULL);
    CHECK(write_file(tmp, "data_batch_3.bin", b, n) == 0);
    CHECK(write_file(tmp, "test_batch.bin", b, 2 * 3073) == 0);
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_EFORMAT &&
          contains(&err, "test_batch.bin: 2 records") && te.x == NULL);
    CHECK(write_file(tmp, "test_batch.bin", b, n) == 0);
    o.train_limit = 0;
    remove_file(tmp, "data_batch_3.bin");
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_EIO && contains(&err, "data_batch_3.bin"));
    CHECK(write_file(tmp, "data_batch_3.bin", b, n - 5) == 0);
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_EFORMAT &&
          contains(&err, "data_batch_3.bin") && tr.x == NULL);
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", i);
        remove_file(tmp, name);
    }
    remove_file(tmp, "test_batch.bin");
    free(b);
}

/* --- the real Fashion-MNIST from the Debian package --- */

static void test_fashion(void) {
    struct stat sb;
    if (stat(FASHION_DIR, &sb) != 0) {
        printf("skipped: %s not installed (apt-get install dataset-fashion-mnist)\n",
               FASHION_DIR);
        return;
    }
    CHECK(strcmp(sal_data_default_path(SAL_DATA_FASHION_MNIST), FASHION_DIR) == 0);
    sal_err err = {{0}};
    sal_dataset tr, te;
    sal_data_opts o = {.kind = SAL_DATA_FASHION_MNIST}; /* default path */
    sal_status st = sal_data_load(&o, &tr, &te, &err);
    CHECK_MSG(st == SAL_OK, "%s", err.msg);
    if (st != SAL_OK) return;
    CHECK(tr.n == 60000 && te.n == 10000 && tr.c == 1 && tr.h == 28 && tr.w == 28);
    int htr[10] = {0}, hte[10] = {0}, ok = 1;
    for (int i = 0; i < tr.n; i++) htr[tr.y[i]]++;
    for (int i = 0; i < te.n; i++) hte[te.y[i]]++;
    for (int k = 0; k < 10; k++) ok &= htr[k] == 6000 && hte[k] == 1000;
    CHECK(ok);
    double s = 0; /* the published mean agrees with the data */
    for (size_t i = 0; i < (size_t)tr.n * 784; i++) s += tr.x[i];
    CHECK_CLOSE(s / (tr.n * 784.0 * 255.0), tr.mean[0], 1e-3, 0);
    sal_dataset_free(&tr);
    sal_dataset_free(&te);
    o.train_limit = 100;
    o.test_limit = 50;
    CHECK(sal_data_load(&o, &tr, &te, &err) == SAL_OK && tr.n == 100 && te.n == 50);
    CHECK_CLOSE(tr.mean[0], 0.2860, 1e-6, 0);
    sal_dataset_free(&tr);
    sal_dataset_free(&te);
}

/* --- synthetic --- */

static void test_synthetic(void) {
    sal_err err = {{0}};
    sal_dataset a, at, b, bt, c, ct;
    sal_data_opts o = {.kind = SAL_DATA_SYNTHETIC, .synth_train = 600, .synth_test = 200,
                       .seed = 1};
    CHECK(sal_data_load(&o, &a, &at, &err) == SAL_OK && a.n == 600 && at.n == 200);
    CHECK(a.c == 1 && a.h == 28 && a.w == 28 && a.classes == 10);
    CHECK(sal_data_load(&o, &b, &bt, &err) == SAL_OK);
    CHECK(memcmp(a.x, b.x, 600 * 784) == 0 && memcmp(a.y, b.y, 600) == 0 &&
          memcmp(at.x, bt.x, 200 * 784) == 0);
    o.seed = 2;
    CHECK(sal_data_load(&o, &c, &ct, &err) == SAL_OK && memcmp(a.x, c.x, 600 * 784) != 0);

    /* mean/std are those of the generated training set */
    double s = 0, s2 = 0;
    for (int i = 0; i < 600 * 784; i++) {
        double v = a.x[i] / 255.0;
        s += v, s2 += v * v;
    }
    double m = s / (600 * 784);
    CHECK_CLOSE(a.mean[0], m, 1e-5, 0);
    CHECK_CLOSE(a.std[0], sqrt(s2 / (600 * 784) - m * m), 1e-5, 0);
    CHECK(at.mean[0] == a.mean[0]);

    /* learnable: class means differ, and nearest-class-mean gets most test samples right */
    static double cm[10][784];
    int cnt[10] = {0}, hit = 0;
    memset(cm, 0, sizeof cm);
    for (int i = 0; i < a.n; i++) {
        cnt[a.y[i]]++;
        for (int p = 0; p < 784; p++) cm[a.y[i]][p] += a.x[i * 784 + p];
    }
    for (int k = 0; k < 10; k++)
        for (int p = 0; p < 784; p++) cm[k][p] /= cnt[k];
    double mind = 1e300;
    for (int k = 0; k < 10; k++)
        for (int l = k + 1; l < 10; l++) {
            double d = 0;
            for (int p = 0; p < 784; p++) d += fabs(cm[k][p] - cm[l][p]);
            if (d / 784 < mind) mind = d / 784;
        }
    CHECK_MSG(mind > 20, "closest class means differ by %.1f grey levels per pixel", mind);
    for (int i = 0; i < at.n; i++) {
        int best = 0;
        double bd = 1e300;
        for (int k = 0; k < 10; k++) {
            double d = 0;
            for (int p = 0; p < 784; p++) {
                double e = at.x[i * 784 + p] - cm[k][p];
                d += e * e;
            }
            if (d < bd) bd = d, best = k;
        }
        hit += best == at.y[i];
    }
    CHECK_MSG(hit > 0.9 * at.n, "nearest-mean accuracy %d/%d", hit, at.n);
    for (int k = 0; k < 10; k++) CHECK(cnt[k] == 60);

    sal_dataset_free(&a), sal_dataset_free(&at), sal_dataset_free(&b);
    sal_dataset_free(&bt), sal_dataset_free(&c), sal_dataset_free(&ct);
    sal_data_opts d = {.kind = SAL_DATA_SYNTHETIC, .seed = 3, .train_limit = 10};
    CHECK(sal_data_load(&d, &a, &at, &err) == SAL_OK && a.n == 10 && at.n == 1000);
    sal_dataset_free(&a), sal_dataset_free(&at);
    d.test_limit = -1;
    CHECK(sal_data_load(&d, &a, &at, &err) == SAL_ECONFIG && contains(&err, "test_limit"));
}

/* --- normalised batches --- */

static void test_batch(void) {
    size_t n;
    uint8_t *b = make_cifar(6, 0, &n);
    sal_dataset ds = {0};
    sal_err err = {{0}};
    CHECK(sal_cifar_append(&ds, b, n, "c.bin", &err) == SAL_OK);
    for (int i = 0; i < 6; i++) ds.x[i * 3072 + 7] = i % 2 ? 255 : 0; /* hit both ends */
    float mean[3] = {0.4914f, 0.4822f, 0.4465f}, sd[3] = {0.2470f, 0.2435f, 0.2616f};
    memcpy(ds.mean, mean, sizeof mean);
    memcpy(ds.std, sd, sizeof sd);
    int idx[3] = {5, 0, 3}, y[3];
    float *x = malloc(sizeof(float) * 3 * 3072);
    sal_dataset_batch(&ds, idx, 3, x, y);
    double worst = 0;
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 1024; p++) {
                double want = (ds.x[idx[i] * 3072 + c * 1024 + p] / 255.0 - mean[c]) / sd[c];
                double e = fabs(x[i * 3072 + c * 1024 + p] - want);
                if (e > worst) worst = e;
            }
    CHECK_MSG(worst < 1e-6, "worst difference %g", worst);
    CHECK(y[0] == 5 && y[1] == 0 && y[2] == 3);
    CHECK_CLOSE(x[7], (1.0 - mean[0]) / sd[0], 1e-6, 0);
    CHECK_CLOSE(x[3072 + 7], (0.0 - mean[0]) / sd[0], 1e-6, 0);
    free(x);
    free(b);
    sal_dataset_free(&ds);
}

/* Edge inputs at the gzip/IDX boundaries. Crashing inputs that scripts/fuzz finds are added
 * here as regression tests (none so far). */
static void test_fuzz_regressions(void) {
    sal_err err = {{0}};
    uint8_t *out;
    size_t on;
    sal_idx idx;
    /* gzip header only / header with FEXTRA flag and nothing after it */
    const uint8_t hdr[][12] = {{0x1f, 0x8b}, {0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, 0xff, 0xff}};
    CHECK(sal_gunzip(hdr[0], 2, &out, &on, 1 << 20, "f", &err) == SAL_EFORMAT);
    CHECK(sal_gunzip(hdr[1], 12, &out, &on, 1 << 20, "f", &err) == SAL_EFORMAT);
    CHECK(sal_idx_parse(hdr[1], 0, &idx, "f", &err) == SAL_EFORMAT);
}

int main(void) {
    char tmp[] = "/tmp/salient-test-data-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_idx();
    test_gzip();
    test_cifar();
    test_read_file(tmp);
    test_mnist_dirs(tmp);
    test_truncated_copy(tmp);
    test_cifar_dir(tmp);
    test_fashion();
    test_synthetic();
    test_batch();
    test_fuzz_regressions();
    CHECK(rmdir(tmp) == 0); /* every test removed its files */
    return sal_test_done("test_data");
}
