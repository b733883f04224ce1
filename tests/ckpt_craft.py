#!/usr/bin/env python3
"""ckpt_craft.py GOOD OUTDIR - hostile variants of a good salient checkpoint (centralized, MLP),
one file per case, for tests/cli_ckpt_hostile.sh. Where a case must get past the CRCs to reach
the check it aims at, it recomputes them with this file's own CRC-32C (Castagnoli, reflected
0x82F63B78), which is checked first against the good file's header CRC."""
import shutil
import sys

import h5py
import numpy as np

TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def s(a):
    return a.decode() if isinstance(a, bytes) else str(a)


def header_crc(f):
    a = f.attrs
    v = int(a["format_version"])
    text = (f"format_version={v}\nround={int(a['round'])}\nstep={int(a['step'])}\n"
            f"nranks={int(a['nranks'])}\nalgorithm={s(a['algorithm'])}\narch={s(a['arch'])}\n"
            f"seed={int(a['seed'])}\nparameters={int(a['parameters'])}\nnnz={int(a['nnz'])}\n")
    if v >= 3:
        text += (f"data_fingerprint={int(a['data_fingerprint']):016x}\n"
                 f"split_fingerprint={int(a['split_fingerprint']):016x}\n")
    return crc32c(text.encode() + s(a["config"]).encode())


def rewrite_header(f):
    f.attrs.modify("header_crc32c", np.uint32(header_crc(f)))


def scalar_str(f, name, value):
    del f.attrs[name]
    f.attrs.create(name, np.bytes_(value))


good, out = sys.argv[1], sys.argv[2]
with h5py.File(good, "r") as f:
    if header_crc(f) != int(f.attrs["header_crc32c"]):
        sys.exit("ckpt_craft.py: this CRC-32C does not reproduce the file's header CRC")
small = "/model/fc3/bias"  # the smallest tensor: its CRC is cheap to recompute here


def case(name, fn):
    path = f"{out}/{name}.h5"
    shutil.copy(good, path)
    with h5py.File(path, "r+") as f:
        fn(f)


def attr_type(f):  # round as a string
    del f.attrs["round"]
    f.attrs.create("round", np.bytes_("two"))


def attr_shape(f):  # round as an array of 64 ints where one is read
    del f.attrs["round"]
    f.attrs.create("round", np.arange(64, dtype=np.int32))


def attr_crc_shape(f):  # a tensor's crc32c as an array of 1000
    del f[small].attrs["crc32c"]
    f[small].attrs.create("crc32c", np.zeros(1000, dtype=np.uint32))


def str_long(f):  # algorithm longer than any salient writes
    scalar_str(f, "algorithm", "x" * 5000)


def str_array(f):  # arch as an array of strings
    del f.attrs["arch"]
    f.attrs.create("arch", np.array([b"mlp"] * 50))


def ds_dtype(f):  # the weights as float64
    d = f[small][...].astype(np.float64)
    del f[small]
    f.create_dataset(small, data=d)


def ds_shape(f):  # the bias with 7 more elements
    d = np.zeros(f[small].shape[0] + 7, dtype=np.float32)
    del f[small]
    f.create_dataset(small, data=d)


def mask_size(f):  # the mask bigger than the model says
    del f["/mask/fc1/weight"]
    f.create_dataset("/mask/fc1/weight", data=np.ones((600, 784), dtype=np.uint8))


def metrics_shape(f):  # /metrics 2-D, integers
    del f["/metrics"]
    f.create_dataset("/metrics", data=np.zeros((4, 4), dtype=np.int32))


def no_crc(f):
    del f[small].attrs["crc32c"]


def no_metrics_crc(f):
    del f["/metrics"].attrs["crc32c"]


def nan_weight(f):  # a NaN behind a valid CRC
    d = f[small][...]
    d[3] = np.nan
    f[small][...] = d
    f[small].attrs.modify("crc32c", np.uint32(crc32c(d.astype("<f4").tobytes())))


def version(v):
    def fn(f):
        f.attrs.modify("format_version", np.int32(v))
        rewrite_header(f)
    return fn


def fingerprint(name):
    def fn(f):
        f.attrs.modify(name, np.uint64(int(f.attrs[name]) ^ 0x5A5A))
        rewrite_header(f)
    return fn


for name, fn in [("attr_type", attr_type), ("attr_shape", attr_shape),
                 ("attr_crc_shape", attr_crc_shape), ("str_long", str_long),
                 ("str_array", str_array), ("ds_dtype", ds_dtype), ("ds_shape", ds_shape),
                 ("mask_size", mask_size), ("metrics_shape", metrics_shape), ("no_crc", no_crc),
                 ("no_metrics_crc", no_metrics_crc), ("nan_weight", nan_weight),
                 ("version_99", version(99)), ("version_0", version(0)),
                 ("data_fp", fingerprint("data_fingerprint")),
                 ("split_fp", fingerprint("split_fingerprint"))]:
    case(name, fn)
