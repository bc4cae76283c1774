"""What a cache checksum costs: candidate checksums over a paper-sized train.npy (§5.1).

    .venv/bin/python benchmarks/bench_cache_checksum.py [--images 8000] [--size 256] [--dir /tmp]

Writes a random uint8 images×size×size×3 .npy (8,000×256×256×3 = 1.57 GB by default) to a
temporary folder, times each checksum reading the file in 8 MiB chunks — warm (the file in the
page cache, as right after prepare) and, where the OS allows dropping it, cold (bound by the
disk, not the checksum) — then deletes it. ``colorlib`` is the function the cache uses (:func:`colorlib.data.cache.file_checksum`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from colorlib.data.cache import file_checksum

_CHUNK = 1 << 23


def _running(update, start=0):
    def run(path: Path):
        value, buffer = start, bytearray(_CHUNK)
        view = memoryview(buffer)
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buffer):
                value = update(view[:n], value)
        return value

    return run


def _hashing(name: str):
    def run(path: Path):
        digest, buffer = hashlib.new(name), bytearray(_CHUNK)
        view = memoryview(buffer)
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buffer):
                digest.update(view[:n])
        return digest.hexdigest()

    return run


CANDIDATES = {
    "colorlib": file_checksum,
    "zlib.crc32": _running(zlib.crc32),
    "zlib.adler32": _running(zlib.adler32, 1),
    "hashlib.sha1": _hashing("sha1"),
    "hashlib.sha256": _hashing("sha256"),
    "hashlib.blake2b": _hashing("blake2b"),
}


def _drop_page_cache(path: Path) -> bool:
    if not hasattr(os, "posix_fadvise"):
        return False
    with open(path, "rb") as f:
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=8000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--dir", default=None, help="where to write the temporary file (default: $TMPDIR)")
    parser.add_argument("--repeats", type=int, default=3, help="warm timings per checksum (best kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "train.npy"
        shape = (args.images, args.size, args.size, 3)
        array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
        rng = np.random.default_rng(0)
        for start in range(0, args.images, 256):
            stop = min(args.images, start + 256)
            array[start:stop] = rng.integers(0, 256, (stop - start, *shape[1:]), dtype=np.uint8)
        array.flush()
        del array
        with open(path, "rb") as f:  # written back now, not during the first cold timing
            os.fsync(f.fileno())
        gb = path.stat().st_size / 1e9
        print(f"{path.stat().st_size / 1e9:.2f} GB ({'×'.join(map(str, shape))} uint8), {os.cpu_count()} CPUs")
        if _drop_page_cache(path):  # one untimed cold read: the first one after writing is slower
            file_checksum(path)
        for name, run in CANDIDATES.items():
            best = float("inf")
            for _ in range(args.repeats):
                start = time.perf_counter()
                run(path)
                best = min(best, time.perf_counter() - start)
            cold = ""
            if _drop_page_cache(path):
                start = time.perf_counter()
                run(path)
                seconds = time.perf_counter() - start
                cold = f"; cold {seconds:.2f} s"
                run(path)  # warm again for the next candidate
            print(f"{name:16s} warm {best:.2f} s = {gb / best:.2f} GB/s{cold}")


if __name__ == "__main__":
    main()
