/* h5util.h - small pieces shared by the checkpoint writer and reader (private to io/). */
#ifndef SALIENT_IO_H5UTIL_H
#define SALIENT_IO_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

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
 * "parameters=N\nnnz=K\n" followed by the config text (docs/checkpoint-format.md), so that a
 * damaged round or config is caught like a damaged tensor. */
uint32_t sal_h5_header_crc(int version, int round, int64_t step, int nranks, const char *algorithm,
                           const char *arch, uint64_t seed, uint64_t n, uint64_t nnz,
                           const char *config);

#endif
