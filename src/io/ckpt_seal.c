/* ckpt_seal.c - the seal of a checkpoint: its first 512 bytes (an HDF5 user block, which HDF5
 * and h5py skip) hold the file's length and a CRC-32C of the rest, checked before HDF5 parses
 * anything. Why: HDF5 1.10's parser is not memory-safe on damaged files (our fuzzer found a
 * use-after-free in H5O__msg_iterate_real on a one-bit change of an object header), and the
 * per-dataset CRCs inside the file are read only after HDF5 has parsed its metadata. The seal
 * leaves out the raw data of /ranks (each rank's row has a CRC of its own, and raw data is
 * copied, not parsed), so that checking it costs O(model), not O(model x ranks).
 *
 * Layout (little-endian; docs/checkpoint-format.md):
 *   0  16 bytes  "SALIENT SEAL v1\n"
 *  16  u64       the file's length in bytes
 *  24  u32       CRC-32C of bytes [512, length) outside the skipped ranges, in file order
 *  28  u32       number of skipped ranges (0..SAL_SEAL_SKIPS_MAX)
 *  32  16 each   skipped ranges: u64 offset, u64 length; ascending, disjoint, inside the file
 * 508  u32       CRC-32C of bytes [0, 508)
 * Everything else is zero. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "salient/bytes.h"
#include "salient/ckpt.h"
#include "salient/crc32c.h"

static const char MAGIC[16] = "SALIENT SEAL v1\n";
static const char HDF5_SIGNATURE[8] = "\x89HDF\r\n\x1a\n";

/* CRC-32C of fd's bytes [from, to) outside the skipped ranges (checked: ascending, disjoint,
 * inside [from, to)). -1 with errno on a read error or a short file. */
static int crc_of(int fd, uint64_t from, uint64_t to, const sal_seal_skip *skip, int nskip,
                  uint32_t *crc) {
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) return -1;
    uint32_t c = 0;
    uint64_t at = from;
    for (int k = 0; k <= nskip; k++) {
        const uint64_t end = k < nskip ? skip[k].offset : to;
        while (at < end) {
            const size_t want = end - at < CHUNK ? (size_t)(end - at) : CHUNK;
            const ssize_t got = pread(fd, buf, want, (off_t)at);
            if (got <= 0) {
                if (got == 0) errno = EIO; /* the file ended before its sealed length */
                free(buf);
                return -1;
            }
            c = sal_crc32c(c, buf, (size_t)got);
            at += (uint64_t)got;
        }
        if (k < nskip) at = skip[k].offset + skip[k].length;
    }
    free(buf);
    *crc = c;
    return 0;
}

/* path opened with flags and its size in *sb; -1 with errno (the descriptor closed) if not. */
static int open_sized(const char *path, int flags, struct stat *sb) {
    int fd = open(path, flags);
    if (fd >= 0 && fstat(fd, sb)) {
        int e = errno;
        close(fd);
        errno = e, fd = -1;
    }
    return fd;
}

static int skips_valid(const sal_seal_skip *skip, int nskip, uint64_t length) {
    uint64_t at = SAL_SEAL_BYTES;
    for (int k = 0; k < nskip; k++) {
        if (skip[k].offset < at || skip[k].length > length ||
            skip[k].offset > length - skip[k].length)
            return 0;
        at = skip[k].offset + skip[k].length;
    }
    return 1;
}

sal_status sal_ckpt_seal(const char *path, const sal_seal_skip *skip, int nskip, sal_err *err) {
    if (nskip < 0 || nskip > SAL_SEAL_SKIPS_MAX)
        return sal_fail(err, SAL_EINVAL, "checkpoint '%s': %d ranges to leave out of the seal "
                        "(at most %d)", path, nskip, SAL_SEAL_SKIPS_MAX);
    struct stat sb;
    int fd = open_sized(path, O_RDWR, &sb);
    if (fd < 0)
        return sal_fail(err, SAL_EIO, "checkpoint '%s': cannot seal it: %s", path, strerror(errno));
    const uint64_t length = (uint64_t)sb.st_size;
    uint8_t hdr[SAL_SEAL_BYTES];
    if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) {
        close(fd);
        return sal_fail(err, SAL_EIO, "checkpoint '%s': shorter than its %d-byte seal", path,
                        SAL_SEAL_BYTES);
    }
    /* HDF5 leaves the user block as it found it; a non-zero byte means it is not ours to fill */
    for (size_t i = 0; i < sizeof hdr; i++) {
        if (hdr[i]) {
            close(fd);
            return sal_fail(err, SAL_EINVAL, "checkpoint '%s': its first %d bytes are not an "
                            "empty user block", path, SAL_SEAL_BYTES);
        }
    }
    uint32_t crc = 0;
    if (!skips_valid(skip, nskip, length) ||
        crc_of(fd, SAL_SEAL_BYTES, length, skip, nskip, &crc)) {
        int e = errno;
        close(fd);
        return sal_fail(err, SAL_EIO, "checkpoint '%s': cannot seal it: %s", path,
                        skips_valid(skip, nskip, length) ? strerror(e) : "bad skipped ranges");
    }
    memcpy(hdr, MAGIC, sizeof MAGIC);
    sal_put_le64(hdr + 16, length);
    sal_put_le32(hdr + 24, crc);
    sal_put_le32(hdr + 28, (uint32_t)nskip);
    for (int k = 0; k < nskip; k++) {
        sal_put_le64(hdr + 32 + 16 * k, skip[k].offset);
        sal_put_le64(hdr + 40 + 16 * k, skip[k].length);
    }
    sal_put_le32(hdr + 508, sal_crc32c(0, hdr, 508));
    int bad = pwrite(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr;
    int e = errno;
    if (close(fd)) bad = 1, e = errno;
    if (bad)
        return sal_fail(err, SAL_EIO, "checkpoint '%s': cannot write its seal: %s", path,
                        strerror(e));
    return SAL_OK;
}

sal_status sal_ckpt_seal_check(const char *path, sal_err *err) {
    struct stat sb;
    int fd = open_sized(path, O_RDONLY, &sb);
    if (fd < 0) return sal_fail(err, SAL_EIO, "checkpoint '%s': %s", path, strerror(errno));
    uint8_t hdr[SAL_SEAL_BYTES];
    ssize_t got = pread(fd, hdr, sizeof hdr, 0);
    sal_status st = SAL_OK;
    if (got < (ssize_t)sizeof MAGIC || memcmp(hdr, MAGIC, sizeof MAGIC)) {
        int hdf5 = got >= (ssize_t)sizeof HDF5_SIGNATURE &&
                   !memcmp(hdr, HDF5_SIGNATURE, sizeof HDF5_SIGNATURE);
        st = sal_fail(err, SAL_EFORMAT,
                      hdf5 ? "checkpoint '%s' is an HDF5 file without a salient seal: not a "
                             "salient checkpoint, or one of format 3 or older (`salient ckpt seal "
                             "OLD NEW` seals a copy of a file you trust)"
                           : "checkpoint '%s' is not a salient checkpoint (no seal in its first "
                             "bytes: not an HDF5 file, or damaged there); resume from an earlier "
                             "checkpoint",
                      path);
    } else if (got != (ssize_t)sizeof hdr || sal_get_le32(hdr + 508) != sal_crc32c(0, hdr, 508)) {
        st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s' is damaged: its seal (the first %d "
                      "bytes) fails its CRC-32C; resume from an earlier checkpoint", path,
                      SAL_SEAL_BYTES);
    } else {
        const uint64_t length = sal_get_le64(hdr + 16);
        const uint32_t nskip = sal_get_le32(hdr + 28);
        sal_seal_skip skip[SAL_SEAL_SKIPS_MAX];
        for (uint32_t k = 0; k < nskip && k < SAL_SEAL_SKIPS_MAX; k++)
            skip[k] = (sal_seal_skip){sal_get_le64(hdr + 32 + 16 * k),
                                      sal_get_le64(hdr + 40 + 16 * k)};
        uint32_t crc = 0;
        if ((uint64_t)sb.st_size != length)
            st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s' is truncated or damaged: %lld bytes, "
                          "sealed with %llu; resume from an earlier checkpoint", path,
                          (long long)sb.st_size, (unsigned long long)length);
        else if (nskip > SAL_SEAL_SKIPS_MAX || !skips_valid(skip, (int)nskip, length))
            st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s' is damaged or foreign: its seal's "
                          "skipped ranges are not inside the file", path);
        else if (crc_of(fd, SAL_SEAL_BYTES, length, skip, (int)nskip, &crc))
            st = sal_fail(err, SAL_EIO, "checkpoint '%s': %s", path, strerror(errno));
        else if (crc != sal_get_le32(hdr + 24))
            st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s' is damaged: it fails the CRC-32C of "
                          "its seal (bytes changed after it was written); resume from an earlier "
                          "checkpoint", path);
    }
    close(fd);
    return st;
}

/* Copy in to out (created, never overwritten) behind an empty seal-sized user block. HDF5 finds
 * a superblock moved by 512 bytes and takes its addresses from there (as h5jam does). */
static sal_status copy_behind(const char *in, const char *out, sal_err *err) {
    int src = open(in, O_RDONLY);
    if (src < 0)
        return sal_fail(err, SAL_EIO, "cannot read '%s': %s", in, strerror(errno));
    int dst = open(out, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (dst < 0) {
        int e = errno;
        close(src);
        return sal_fail(err, SAL_EIO, "cannot create '%s': %s%s", out, strerror(e),
                        e == EEXIST ? " (salient does not overwrite files; name a new one)" : "");
    }
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = calloc(1, CHUNK);
    int bad = !buf || write(dst, buf, SAL_SEAL_BYTES) != SAL_SEAL_BYTES;
    ssize_t got = 0;
    while (!bad && (got = read(src, buf, CHUNK)) > 0) bad = write(dst, buf, (size_t)got) != got;
    int e = errno;
    bad |= got < 0 || fsync(dst) != 0;
    if (bad) e = e ? e : errno;
    if (close(dst)) bad = 1;
    close(src);
    free(buf);
    if (bad) {
        unlink(out);
        return sal_fail(err, SAL_EIO, "cannot copy '%s' to '%s': %s", in, out, strerror(e));
    }
    return SAL_OK;
}

sal_status sal_ckpt_seal_copy(const char *in, const char *out, sal_err *err) {
    uint8_t hdr[sizeof MAGIC];
    int fd = open(in, O_RDONLY);
    ssize_t got = fd < 0 ? -1 : pread(fd, hdr, sizeof hdr, 0);
    int e = errno;
    if (fd >= 0) close(fd);
    if (got < 0) return sal_fail(err, SAL_EIO, "cannot read '%s': %s", in, strerror(e));
    if (got == (ssize_t)sizeof hdr && !memcmp(hdr, MAGIC, sizeof MAGIC))
        return sal_fail(err, SAL_EINVAL, "'%s' is sealed already (salient ckpt inspect checks "
                        "it)", in);
    if (got < (ssize_t)sizeof HDF5_SIGNATURE || memcmp(hdr, HDF5_SIGNATURE, sizeof HDF5_SIGNATURE))
        return sal_fail(err, SAL_EFORMAT, "'%s' is not an HDF5 file (no signature at its start): "
                        "nothing to seal", in);
    sal_status st = copy_behind(in, out, err); /* removes what it made on failure */
    if (st) return st;                         /* (out may be the user's: never unlink it) */
    st = sal_ckpt_seal(out, NULL, 0, err);
    sal_ckpt_info info;
    if (!st) { /* it must read as a checkpoint, or no sealed copy stays behind */
        st = sal_ckpt_info_read(out, &info, err);
        if (!st) sal_ckpt_info_free(&info);
    }
    if (st) unlink(out);
    return st;
}
