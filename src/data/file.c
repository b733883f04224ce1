/* file.c - reading whole files and inflating gzip data into memory, with size caps, so that the
 * data readers above work on plain byte buffers (and fuzzers can drive them without files). */
#include "salient/data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

sal_status sal_read_file(const char *path, uint8_t **buf, size_t *n, size_t max, sal_err *err) {
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sal_fail(err, SAL_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return sal_fail(err, SAL_EIO, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > max) {
        fclose(f);
        return sal_fail(err, SAL_EFORMAT, "%s: %lld bytes, more than the %zu allowed", path,
                        (long long)st.st_size, max);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *b = malloc(size ? size : 1);
    if (!b) {
        fclose(f);
        return sal_fail(err, SAL_ENOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    size_t got = fread(b, 1, size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != size) {
        free(b);
        return sal_fail(err, SAL_EIO, "%s: read %zu of %zu bytes", path, got, size);
    }
    *buf = b;
    *n = size;
    return SAL_OK;
}

static sal_status copy_raw(const uint8_t *in, size_t n, uint8_t **out, size_t *out_n,
                           size_t max_out, const char *name, sal_err *err) {
    if (n > max_out)
        return sal_fail(err, SAL_EFORMAT, "%s: %zu bytes, more than the %zu allowed", name, n,
                        max_out);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) return sal_fail(err, SAL_ENOMEM, "%s: out of memory for %zu bytes", name, n);
    if (n) memcpy(b, in, n);
    *out = b;
    *out_n = n;
    return SAL_OK;
}

/* The gzip trailer's ISIZE (uncompressed size mod 2^32) is only a hint for the first
 * allocation: a damaged or hostile file may lie, so the buffer still grows on demand, and the
 * hint is capped by deflate's best ratio (about 1032:1) so a tiny file cannot claim 4 GB. */
static size_t first_capacity(const uint8_t *in, size_t n, size_t max_out) {
    size_t cap = 1 << 16;
    if (n >= 18) {
        const uint8_t *t = in + n - 4;
        size_t hint = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
        if (hint / 1032 <= n && hint > cap) cap = hint;
    }
    return cap < max_out ? cap : max_out;
}

sal_status sal_gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *out_n,
                      size_t max_out, const char *name, sal_err *err) {
    *out = NULL;
    *out_n = 0;
    if (!name) name = "(buffer)";
    if (n < 2 || in[0] != 0x1f || in[1] != 0x8b)
        return copy_raw(in, n, out, out_n, max_out, name, err);

    size_t cap = first_capacity(in, n, max_out), have = 0, pos = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) return sal_fail(err, SAL_ENOMEM, "%s: out of memory for %zu bytes", name, cap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) { /* 15 + 16: gzip wrapper only */
        free(buf);
        return sal_fail(err, SAL_ENOMEM, "%s: cannot initialise zlib", name);
    }
    sal_status st = SAL_OK;
    uint8_t probe[1];
    for (;;) {
        if (zs.avail_in == 0 && pos < n) { /* avail_in is 32-bit: feed big inputs in chunks */
            size_t chunk = n - pos < UINT_MAX ? n - pos : UINT_MAX;
            zs.next_in = (Bytef *)(in + pos);
            zs.avail_in = (uInt)chunk;
            pos += chunk;
        }
        if (have == cap && cap < max_out) {
            size_t ncap = cap > max_out / 2 ? max_out : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                st = sal_fail(err, SAL_ENOMEM, "%s: out of memory for %zu bytes", name, ncap);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        /* A full buffer at the cap inflates into a one-byte probe: any output there means the
         * data is larger than allowed (a damaged size or a decompression bomb). */
        int full = have == cap;
        size_t room = full ? 1 : cap - have;
        zs.next_out = full ? probe : buf + have;
        zs.avail_out = room < UINT_MAX ? (uInt)room : UINT_MAX;
        uInt before = zs.avail_out;
        int ret = inflate(&zs, Z_NO_FLUSH);
        size_t made = before - zs.avail_out;
        if (full && made) {
            st = sal_fail(err, SAL_EFORMAT, "%s: inflates to more than the %zu bytes allowed",
                          name, max_out);
            break;
        }
        have += made;
        if (ret == Z_STREAM_END) {
            size_t left = zs.avail_in + (n - pos);
            const uint8_t *rest = zs.next_in;
            if (left == 0) break;
            /* gzip allows several members back to back (cat a.gz b.gz); continue with the next. */
            if (left >= 2 && rest[0] == 0x1f && rest[1] == 0x8b && inflateReset(&zs) == Z_OK)
                continue;
            st = sal_fail(err, SAL_EFORMAT, "%s: %zu bytes of garbage after the gzip stream",
                          name, left);
            break;
        }
        if (ret == Z_BUF_ERROR && zs.avail_in == 0 && pos == n) {
            st = sal_fail(err, SAL_EFORMAT, "%s: truncated gzip stream", name);
            break;
        }
        if (ret != Z_OK && ret != Z_BUF_ERROR) {
            if (ret == Z_MEM_ERROR)
                st = sal_fail(err, SAL_ENOMEM, "%s: out of memory while inflating", name);
            else
                st = sal_fail(err, SAL_EFORMAT, "%s: corrupt gzip data (%s)", name,
                              zs.msg ? zs.msg : "bad stream");
            break;
        }
    }
    inflateEnd(&zs);
    if (st != SAL_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_n = have;
    return SAL_OK;
}
