#!/usr/bin/python3
"""Writes the small real-format IDX and .npy files that seed the fuzz corpora
(fuzz/corpus/fuzz_idx, fuzz/corpus/fuzz_npy) and serve as reference vectors in tests/ml.
The .npy files are written by NumPy itself (np.save); the IDX files are cut from
Debian's Fashion-MNIST test split (first items, header rewritten to their count) or
built with NumPy in the same layout. Deterministic: run it again and nothing changes.

Usage: /usr/bin/python3 tests/ml/gen_dataset_seeds.py [SOURCE_DIR]
"""
import gzip
import os
import struct
import sys

import numpy as np

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
idx_dir = os.path.join(root, "fuzz", "corpus", "fuzz_idx")
npy_dir = os.path.join(root, "fuzz", "corpus", "fuzz_npy")
fmnist = "/usr/share/datasets/fashion-mnist"
os.makedirs(idx_dir, exist_ok=True)
os.makedirs(npy_dir, exist_ok=True)


def gz(data):
    # mtime 0 keeps the output byte-for-byte reproducible
    return gzip.compress(data, compresslevel=9, mtime=0)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def idx_bytes(code, arr, be_dtype):
    head = struct.pack(">BBBB", 0, 0, code, arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.astype(be_dtype).tobytes()


# First 5 items of the real Fashion-MNIST test split.
with gzip.open(os.path.join(fmnist, "t10k-images-idx3-ubyte.gz")) as f:
    raw = f.read()
images = np.frombuffer(raw[16:16 + 5 * 784], dtype=np.uint8).reshape(5, 28, 28)
with gzip.open(os.path.join(fmnist, "t10k-labels-idx1-ubyte.gz")) as f:
    raw = f.read()
labels = np.frombuffer(raw[8:8 + 5], dtype=np.uint8)

write(os.path.join(idx_dir, "fmnist5-images-idx3-ubyte"), idx_bytes(0x08, images, ">u1"))
write(os.path.join(idx_dir, "fmnist5-labels-idx1-ubyte"), idx_bytes(0x08, labels, ">u1"))
write(os.path.join(idx_dir, "fmnist5-labels-idx1-ubyte.gz"), gz(idx_bytes(0x08, labels, ">u1")))
write(os.path.join(idx_dir, "fmnist2-images-idx3-ubyte.gz"), gz(idx_bytes(0x08, images[:2], ">u1")))
write(os.path.join(idx_dir, "int8-2x3.idx"), idx_bytes(0x09, np.array([[-128, -1, 0], [1, 2, 127]]), ">i1"))
write(os.path.join(idx_dir, "int16-4.idx"), idx_bytes(0x0B, np.array([-32768, -2, 300, 32767]), ">i2"))
write(os.path.join(idx_dir, "int32-3.idx"), idx_bytes(0x0C, np.array([-2147483648, 7, 2147483647]), ">i4"))
write(os.path.join(idx_dir, "float32-2x2.idx"), idx_bytes(0x0D, np.array([[0.5, -1.25], [3.0, 1e-3]]), ">f4"))
write(os.path.join(idx_dir, "float64-3.idx"), idx_bytes(0x0E, np.array([0.1, -2.5, 1e30]), ">f8"))

# .npy files written by NumPy.
rng = np.random.default_rng(6)
np.save(os.path.join(npy_dir, "f4-2x3.npy"), (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3))
np.save(os.path.join(npy_dir, "f4-scalar.npy"), np.float32(2.5))
np.save(os.path.join(npy_dir, "f4-1x1x4x4.npy"), rng.standard_normal((1, 1, 4, 4)).astype(np.float32))
np.save(os.path.join(npy_dir, "f8-3.npy"), np.array([0.1, -2.5, 1e30], dtype=np.float64))
np.save(os.path.join(npy_dir, "i8-5.npy"), np.array([0, 9, 3, -4, 1 << 40], dtype=np.int64))
np.save(os.path.join(npy_dir, "i4-2x2.npy"), np.array([[1, -2], [3, 2147483647]], dtype=np.int32))
np.save(os.path.join(npy_dir, "u1-5.npy"), labels.copy())
np.save(os.path.join(npy_dir, "u1-fmnist2.npy"), images[:2].copy())
np.save(os.path.join(npy_dir, "i2-3.npy"), np.array([-7, 0, 300], dtype=np.int16))
# Versions 2.0 and 3.0 (NumPy picks them only for huge or non-latin-1 headers; force them).
for ver in ((2, 0), (3, 0)):
    a = np.array([1.5, -3.0], dtype=np.float32)
    with open(os.path.join(npy_dir, "f4-2-v%d.npy" % ver[0]), "wb") as f:
        np.lib.format.write_array(f, a, version=ver)
