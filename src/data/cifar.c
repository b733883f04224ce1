/* cifar.c - the CIFAR-10 "binary version" (Krizhevsky 2009): records of one label byte then
 * 3072 pixel bytes, the R, G and B planes of a 32x32 image, which is already NCHW order. */
#include "salient/data.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { CIFAR_PIXELS = 3 * 32 * 32, CIFAR_RECORD = 1 + CIFAR_PIXELS, CIFAR_CLASSES = 10 };

sal_status sal_cifar_append(sal_dataset *ds, const uint8_t *buf, size_t n, const char *name,
                            sal_err *err) {
    if (!name) name = "(buffer)";
    /* A zeroed dataset is accepted as "empty CIFAR" so callers need not set the shape first. */
    if (ds->n == 0 && ds->c == 0 && ds->h == 0 && ds->w == 0) {
        ds->c = 3;
        ds->h = ds->w = 32;
    }
    if (ds->c != 3 || ds->h != 32 || ds->w != 32 || ds->n < 0)
        return sal_fail(err, SAL_EINVAL, "%s: CIFAR-10 needs a 3x32x32 dataset, got %dx%dx%d",
                        name, ds->c, ds->h, ds->w);
    if (n == 0) return sal_fail(err, SAL_EFORMAT, "%s: empty CIFAR-10 file", name);
    if (n % CIFAR_RECORD != 0)
        return sal_fail(err, SAL_EFORMAT,
                        "%s: %zu bytes is not a whole number of %d-byte CIFAR-10 records "
                        "(truncated, or not the binary version?)",
                        name, n, CIFAR_RECORD);
    size_t add = n / CIFAR_RECORD;
    if (add > (size_t)(INT_MAX - ds->n))
        return sal_fail(err, SAL_EFORMAT, "%s: too many CIFAR-10 records", name);
    /* Check every label before touching ds, so that a bad file leaves it as it was. */
    for (size_t i = 0; i < add; i++) {
        uint8_t label = buf[i * CIFAR_RECORD];
        if (label >= CIFAR_CLASSES)
            return sal_fail(err, SAL_EFORMAT,
                            "%s: record %zu has label %u, expected 0..9 (not CIFAR-10?)", name,
                            i, label);
    }
    size_t total = (size_t)ds->n + add;
    uint8_t *x = realloc(ds->x, total * CIFAR_PIXELS);
    if (!x) return sal_fail(err, SAL_ENOMEM, "%s: out of memory for %zu images", name, total);
    ds->x = x;
    uint8_t *y = realloc(ds->y, total);
    if (!y) return sal_fail(err, SAL_ENOMEM, "%s: out of memory for %zu labels", name, total);
    ds->y = y;
    for (size_t i = 0; i < add; i++) {
        const uint8_t *rec = buf + i * CIFAR_RECORD;
        y[ds->n + i] = rec[0];
        memcpy(x + ((size_t)ds->n + i) * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
    }
    ds->n = (int)total;
    ds->classes = CIFAR_CLASSES;
    return SAL_OK;
}
