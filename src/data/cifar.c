/* cifar.c - the CIFAR-10 and CIFAR-100 "binary versions" (Krizhevsky 2009): records of label
 * bytes (CIFAR-10: the label; CIFAR-100: coarse then fine) then 3072 pixel bytes, the R, G and
 * B planes of a 32x32 image, which is already NCHW order. */
#include "salient/data.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { CIFAR_PIXELS = 3 * 32 * 32 };

/* One record layout: label bytes in front, which of them is the label we keep, and the range
 * of each (CIFAR-100's coarse byte is checked too: a wrong one means a wrong or shifted file). */
typedef struct cifar_format {
    const char *name; /* in messages */
    int label_bytes;  /* 1 or 2 */
    int keep;         /* index of the kept label byte */
    int range[2];     /* labels byte i must be < range[i] */
    int classes;      /* of the kept label */
} cifar_format;

static const cifar_format CIFAR10 = {"CIFAR-10", 1, 0, {10, 0}, 10};
static const cifar_format CIFAR100 = {"CIFAR-100", 2, 1, {20, 100}, 100};

static sal_status append(const cifar_format *f, sal_dataset *ds, const uint8_t *buf, size_t n,
                         const char *name, sal_err *err) {
    const size_t record = (size_t)f->label_bytes + CIFAR_PIXELS;
    if (!name) name = "(buffer)";
    /* A zeroed dataset is accepted as "empty CIFAR" so callers need not set the shape first. */
    if (ds->n == 0 && ds->c == 0 && ds->h == 0 && ds->w == 0) {
        ds->c = 3;
        ds->h = ds->w = 32;
    }
    if (ds->c != 3 || ds->h != 32 || ds->w != 32 || ds->n < 0)
        return sal_fail(err, SAL_EINVAL, "%s: %s needs a 3x32x32 dataset, got %dx%dx%d", name,
                        f->name, ds->c, ds->h, ds->w);
    if (ds->n > 0 && ds->classes != f->classes)
        return sal_fail(err, SAL_EINVAL, "%s: cannot append %s records to a %d-class dataset", name,
                        f->name, ds->classes);
    if (n == 0) return sal_fail(err, SAL_EFORMAT, "%s: empty %s file", name, f->name);
    if (n % record != 0)
        return sal_fail(err, SAL_EFORMAT,
                        "%s: %zu bytes is not a whole number of %zu-byte %s records "
                        "(truncated, or not the binary version?)",
                        name, n, record, f->name);
    size_t add = n / record;
    if (add > (size_t)(INT_MAX - ds->n))
        return sal_fail(err, SAL_EFORMAT, "%s: too many %s records", name, f->name);
    /* Check every label before touching ds, so that a bad file leaves it as it was. */
    for (size_t i = 0; i < add; i++)
        for (int b = 0; b < f->label_bytes; b++) {
            uint8_t label = buf[i * record + b];
            if (label >= f->range[b])
                return sal_fail(err, SAL_EFORMAT,
                                "%s: record %zu has %slabel %u, expected 0..%d (not %s?)", name, i,
                                f->label_bytes == 1 ? ""
                                : b == 0            ? "coarse "
                                                    : "fine ",
                                label, f->range[b] - 1, f->name);
        }
    size_t total = (size_t)ds->n + add;
    uint8_t *x = realloc(ds->x, total * CIFAR_PIXELS);
    if (!x) return sal_fail(err, SAL_ENOMEM, "%s: out of memory for %zu images", name, total);
    ds->x = x;
    uint8_t *y = realloc(ds->y, total);
    if (!y) return sal_fail(err, SAL_ENOMEM, "%s: out of memory for %zu labels", name, total);
    ds->y = y;
    for (size_t i = 0; i < add; i++) {
        const uint8_t *rec = buf + i * record;
        y[ds->n + i] = rec[f->keep];
        memcpy(x + ((size_t)ds->n + i) * CIFAR_PIXELS, rec + f->label_bytes, CIFAR_PIXELS);
    }
    ds->n = (int)total;
    ds->classes = f->classes;
    return SAL_OK;
}

sal_status sal_cifar_append(sal_dataset *ds, const uint8_t *buf, size_t n, const char *name,
                            sal_err *err) {
    return append(&CIFAR10, ds, buf, n, name, err);
}

sal_status sal_cifar100_append(sal_dataset *ds, const uint8_t *buf, size_t n, const char *name,
                               sal_err *err) {
    return append(&CIFAR100, ds, buf, n, name, err);
}
