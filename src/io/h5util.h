/* h5util.h - small pieces shared by the checkpoint writer and reader (private to io/). */
#ifndef SALIENT_IO_H5UTIL_H
#define SALIENT_IO_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "salient/metrics.h"

/* Stop HDF5 printing its error stack to stderr: salient reports one line of its own. */
void sal_h5_quiet(void);

/* The innermost message of HDF5's current error stack (e.g. "truncated file: eof = ..."), or
 * "unknown HDF5 error", into buf. */
const char *sal_h5_last_error(char *buf, size_t cap);

/* The compound type of one metrics row (sal_round) in memory, and packed for the file; the
 * caller closes both. */
hid_t sal_h5_round_type(int packed);

/* "conv1.weight" -> layer "conv1", leaf "weight" (no dot: layer = name, leaf = "value"). */
void sal_h5_split_name(const char *name, char *layer, size_t lcap, char *leaf, size_t fcap);

/* The header CRC (root attribute header_crc32c, format version >= 2): CRC-32C of the text
 * "format_version=V\nround=R\nstep=S\nnranks=P\nalgorithm=A\narch=M\nseed=X\n"
 * "parameters=N\nnnz=K\n", from version 3 on "data_fingerprint=%016x\nsplit_fingerprint=%016x\n"
 * (lower-case hex), from version 5 on "world_size=W\n", followed by the config text
 * (docs/checkpoint-format.md), so that a damaged round or config is caught like a damaged
 * tensor. */
uint32_t sal_h5_header_crc(int version, int round, int64_t step, int nranks, const char *algorithm,
                           const char *arch, uint64_t seed, uint64_t n, uint64_t nnz,
                           uint64_t data_fp, uint64_t split_fp, int world_size, const char *config);

/* Checked attribute reads: a file from elsewhere may hold any type or shape under a name
 * salient uses, and H5Aread fills as many elements as the file has. Each returns -1 (or NULL)
 * unless the attribute exists with salient's own class and shape, so nothing is read into a
 * buffer it does not fit.
 * sal_h5_attr_int: a scalar integer (at most 8 bytes), converted to memtype (a native integer).
 * sal_h5_attr_u32s: a 1-D integer attribute of exactly n elements, as uint32.
 * sal_h5_attr_str: a scalar fixed-length string of 1..max bytes, into a new NUL-terminated
 * buffer the caller frees. */
int sal_h5_attr_int(hid_t obj, const char *name, hid_t memtype, void *v);
int sal_h5_attr_u32s(hid_t obj, const char *name, uint32_t *v, size_t n);
char *sal_h5_attr_str(hid_t obj, const char *name, size_t max);

/* CRC-32C of k metrics rows, field by field in declaration order (format version >= 3: the
 * crc32c attribute of /metrics), so that padding inside sal_round does not count; the fields a
 * file of that format version holds (version 4 added the per-client accuracy). */
uint32_t sal_h5_metrics_crc(const sal_round *rows, size_t k, int version);

/* CRC-32C of k int64 values as little-endian bytes (/schedule/state's crc32c attribute). */
uint32_t sal_h5_i64_crc(const int64_t *v, size_t k);

#endif
