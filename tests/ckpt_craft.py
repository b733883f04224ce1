#!/usr/bin/env python3
"""ckpt_craft.py GOOD OUTDIR - hostile variants of a good salient checkpoint (centralized, MLP),
one file per case, for tests/cli_ckpt_hostile.sh. ckpt_craft.py --seed FILE: a small valid
checkpoint written from scratch, the fuzzer's seed (scripts/fuzz, fuzz/fuzz_ckpt.c). Where a
case must get past the CRCs to reach the check it aims at, it recomputes them with this file's
own CRC-32C (Castagnoli, reflected 0x82F63B78), which is checked first against the good file's
header CRC; every file written is sealed again (its first 512 bytes, docs/checkpoint-format.md)
by this file's own writer of the seal."""
import shutil
import struct
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


def seal(path):
    """Seal path as salient does, leaving out of the CRC the rest of the user block and the raw
    data of datasets of 64 KiB or more (the format allows any ranges; the largest of them where
    more than a seal holds), so that this CRC-32C in Python stays cheap. The datasets a case
    changes are smaller."""
    with h5py.File(path, "r") as f:
        skip = [(512, f.userblock_size - 512)] if f.userblock_size > 512 else []
        large = []

        def big(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.id.get_offset() is not None:
                if obj.id.get_storage_size() >= 65536:
                    large.append((obj.id.get_offset(), obj.id.get_storage_size()))
        f.visititems(big)
    skip += sorted(large, key=lambda r: -r[1])[:16 - len(skip)]
    skip.sort()
    with open(path, "r+b") as fh:
        data = fh.read()
        crc, at = 0, 512
        for off, n in skip + [(len(data), 0)]:
            crc = crc32c(data[at:off], crc)
            at = off + n
        hdr = bytearray(512)
        hdr[0:16] = b"SALIENT SEAL v1\n"
        struct.pack_into("<QII", hdr, 16, len(data), crc, len(skip))
        for k, (off, n) in enumerate(skip):
            struct.pack_into("<QQ", hdr, 32 + 16 * k, off, n)
        struct.pack_into("<I", hdr, 508, crc32c(bytes(hdr[:508])))
        fh.seek(0)
        fh.write(hdr)


def seal_ok(path):
    """Whether path's seal holds, by the layout in docs/checkpoint-format.md."""
    with open(path, "rb") as fh:
        data = fh.read()
    hdr = data[:512]
    if hdr[:16] != b"SALIENT SEAL v1\n" or struct.unpack_from("<I", hdr, 508)[0] != crc32c(hdr[:508]):
        return False
    length, want, n = struct.unpack_from("<QII", hdr, 16)
    skip = [struct.unpack_from("<QQ", hdr, 32 + 16 * k) for k in range(n)]
    crc, at = 0, 512
    for off, k in skip + [(length, 0)]:
        crc = crc32c(data[at:off], crc)
        at = off + k
    return length == len(data) and crc == want


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
    if v >= 5:
        text += f"world_size={int(a['world_size'])}\n"
    return crc32c(text.encode() + s(a["config"]).encode())


def rewrite_header(f):
    f.attrs.modify("header_crc32c", np.uint32(header_crc(f)))


def scalar_str(f, name, value):
    del f.attrs[name]
    f.attrs.create(name, np.bytes_(value))


def seed(path):
    """A small valid checkpoint from scratch (the fuzzer's seed, fuzz/fuzz_ckpt.c's model):
    fc.weight [4, 3], fc.bias [4], momentum, 2 ranks' rows and one metrics row."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3)).astype("<f4")
    b = rng.standard_normal(4).astype("<f4")
    row_t = np.dtype([(n, "<i4" if n in ("round", "evaluated", "decentral", "clients_evaluated") else
                       "<u8" if n.startswith("bytes") else "<f8") for n in
                      ["round", "evaluated", "test_acc", "test_loss", "train_loss", "density",
                       "bytes_up", "bytes_down", "comm_s", "wait_s", "compute_s", "wall_s", "lr",
                       "samples_per_s", "decentral", "consensus", "local_acc_mean",
                       "local_acc_min", "clients_evaluated", "client_acc_mean",
                       "client_acc_min"]])
    rows = np.zeros(1, dtype=row_t)
    rows["round"], rows["evaluated"], rows["test_acc"] = 1, 1, 0.5
    with h5py.File(path, "w", userblock_size=512) as f:
        a = f.attrs
        a.create("format", np.bytes_("salient-checkpoint"))
        for k, v, t in [("format_version", 4, np.int32), ("round", 1, np.int32),
                        ("step", 4, np.int64), ("nranks", 2, np.int32), ("seed", 1, np.uint64),
                        ("parameters", 16, np.uint64), ("nnz", 16, np.uint64),
                        ("data_fingerprint", 7, np.uint64), ("split_fingerprint", 9, np.uint64)]:
            a.create(k, t(v))
        for k, v in [("algorithm", "dpsgd"), ("arch", "mlp"), ("config", "[run]\nseed = 1\n"),
                     ("rng", "seed and round")]:
            a.create(k, np.bytes_(v))
        a.create("header_crc32c", np.uint32(header_crc(f)))
        for root, arrs in [("/model", (w, b)), ("/mask", (np.ones((4, 3), "u1"), np.ones(4, "u1"))),
                           ("/optim/momentum", (w * 0.5, b * 0.5))]:
            for (leaf, off), x in zip([("weight", 0), ("bias", 12)], arrs):
                d = f.create_dataset(f"{root}/fc/{leaf}", data=x)
                d.attrs.create("offset", np.uint64(off))
                d.attrs.create("crc32c", np.uint32(crc32c(x.tobytes())))
        r = np.concatenate([w.ravel(), b]).astype("<f4")
        rw = np.stack([r, r * 2])
        d = f.create_dataset("/ranks/weights", data=rw)
        d.attrs.create("crc32c", np.array([crc32c(x.tobytes()) for x in rw], dtype=np.uint32))
        d = f.create_dataset("/metrics", data=rows)
        d.attrs.create("crc32c", np.uint32(crc32c(rows.tobytes())))
    seal(path)


if sys.argv[1] == "--seed":
    seed(sys.argv[2])
    sys.exit(0)
good, out = sys.argv[1], sys.argv[2]
with h5py.File(good, "r") as f:
    if header_crc(f) != int(f.attrs["header_crc32c"]):
        sys.exit("ckpt_craft.py: this CRC-32C does not reproduce the file's header CRC")
if not seal_ok(good):  # salient's seal, read as the format says, independently of salient
    sys.exit(f"ckpt_craft.py: {good}'s seal does not check by docs/checkpoint-format.md")
small = "/model/fc3/bias"  # the smallest tensor: its CRC is cheap to recompute here


def case(name, fn):
    path = f"{out}/{name}.h5"
    shutil.copy(good, path)
    with h5py.File(path, "r+") as f:
        fn(f)
    seal(path)


def seal_range_out(path):  # a seal (its own CRC valid) whose skipped range ends past the file
    with open(path, "r+b") as fh:
        hdr = bytearray(fh.read(512))
        length = struct.unpack_from("<Q", hdr, 16)[0]
        struct.pack_into("<IQQ", hdr, 28, 1, length - 8, 64)
        struct.pack_into("<I", hdr, 508, crc32c(bytes(hdr[:508])))
        fh.seek(0)
        fh.write(hdr)


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


def crc_flip(f):  # a value changed behind the seal (resealed), not behind its own CRC
    d = f[small][...]
    d[0] += 1
    f[small][...] = d


def header_crc_stale(f):  # the round changed, the header CRC not (nor the tensors')
    f.attrs.modify("round", np.int32(int(f.attrs["round"]) + 1))


def metrics_v3(f):  # format 3: /metrics without the per-client columns, its CRC over the rest
    rows = f["/metrics"][()]
    old = [n for n in rows.dtype.names
           if n not in ("clients_evaluated", "client_acc_mean", "client_acc_min")]
    v3 = np.zeros(len(rows), dtype=np.dtype([(n, rows.dtype[n]) for n in old]))
    for n in old:
        v3[n] = rows[n]
    del f["/metrics"]
    d = f.create_dataset("/metrics", data=v3)
    d.attrs.create("crc32c", np.uint32(crc32c(v3.tobytes())))
    f.attrs.modify("format_version", np.int32(3))
    rewrite_header(f)


def world_size(f):  # fewer ranks in the run than wrote the file, behind a valid header CRC
    f.attrs.modify("world_size", np.int32(int(f.attrs["nranks"]) - 1))
    rewrite_header(f)


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
                 ("no_metrics_crc", no_metrics_crc), ("nan_weight", nan_weight), ("crc_flip", crc_flip),
                 ("header_crc", header_crc_stale), ("world_size", world_size),
                 ("metrics_v3", metrics_v3), ("version_99", version(99)), ("version_0", version(0)), ("version_2", version(2)),
                 ("data_fp", fingerprint("data_fingerprint")),
                 ("split_fp", fingerprint("split_fingerprint"))]:
    case(name, fn)
shutil.copy(good, f"{out}/seal_range.h5")
seal_range_out(f"{out}/seal_range.h5")
