/* idx.c - the IDX format of LeCun's MNIST files (also used by Fashion-MNIST): a 4-byte magic,
 * big-endian uint32 dimensions, then the data. Every malformed input is an error, never a crash. */
#include "salient/data.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Names of the IDX element types, for a message that says what the file holds instead. */
static const char *type_name(uint8_t t) {
    switch (t) {
    case 0x08: return "ubyte";
    case 0x09: return "byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
    }
}

sal_status sal_idx_parse(const uint8_t *buf, size_t n, sal_idx *out, const char *name,
                         sal_err *err) {
    memset(out, 0, sizeof *out);
    if (!name) name = "(buffer)";
    if (n < 4)
        return sal_fail(err, SAL_EFORMAT, "%s: truncated IDX header (%zu bytes, need 4)", name,
                        n);
    if (buf[0] == 0x1f && buf[1] == 0x8b)
        return sal_fail(err, SAL_EFORMAT, "%s: still gzip-compressed, not an IDX file", name);
    if (buf[0] != 0 || buf[1] != 0)
        return sal_fail(err, SAL_EFORMAT,
                        "%s: not an IDX file (magic %02x %02x %02x %02x, expected 00 00 08 nd)",
                        name, buf[0], buf[1], buf[2], buf[3]);
    if (buf[2] != 0x08)
        return sal_fail(err, SAL_EFORMAT,
                        "%s: IDX element type 0x%02x (%s) not supported, only 0x08 (ubyte)",
                        name, buf[2], type_name(buf[2]));
    int ndim = buf[3];
    if (ndim < 1 || ndim > 4)
        return sal_fail(err, SAL_EFORMAT, "%s: IDX file with %d dimensions, expected 1 to 4",
                        name, ndim);
    size_t header = 4 + 4 * (size_t)ndim;
    if (n < header)
        return sal_fail(err, SAL_EFORMAT, "%s: truncated IDX header (%zu bytes, need %zu)", name,
                        n, header);
    size_t count = 1;
    int dims[4] = {0, 0, 0, 0};
    for (int i = 0; i < ndim; i++) {
        uint32_t d = be32(buf + 4 + 4 * i);
        if (d > INT_MAX)
            return sal_fail(err, SAL_EFORMAT, "%s: IDX dimension %d is %u, too large", name, i,
                            d);
        /* Checked before multiplying so that a hostile header cannot wrap the product. */
        if (d && count > SIZE_MAX / d)
            return sal_fail(err, SAL_EFORMAT, "%s: IDX dimensions overflow the address space",
                            name);
        count *= d;
        dims[i] = (int)d;
    }
    size_t have = n - header;
    if (have != count)
        return sal_fail(err, SAL_EFORMAT,
                        "%s: IDX header promises %zu data bytes but the file has %zu (%s)", name,
                        count, have, have < count ? "truncated" : "trailing bytes");
    out->ndim = ndim;
    memcpy(out->dims, dims, sizeof dims);
    out->data = buf + header;
    out->count = count;
    return SAL_OK;
}
