"""The on-disk cache of a prepared dataset, written atomically and read as a memmap.

``cfg.data_dir`` holds::

    train.npy, test.npy   uint8 N×S×S×3 RGB, C-contiguous .npy (np.load(..., mmap_mode="r"))
    manifest.csv          one row per cached image, in cache order (MANIFEST_COLUMNS)
    summary.json          counts, the key (source, n, seed, size…) the cache was built for, a
                          CRC-32 of each .npy (``checksums``) and each split's identity
                          (:mod:`colorlib.data.split`)

Every file is written atomically (:mod:`colorlib.utils.files`: a temporary name in the same
folder, fsync'ed and renamed over the final name), and ``summary.json`` is written last: a cache
is complete exactly when ``summary.json`` exists and its key matches.

The checksums are verified whenever a cache is used: ``prepare`` rebuilds a damaged cache
(saying so in one line), ``load_images`` raises :class:`DataError` naming the file (pass
``verify=False`` to skip it) and :func:`verify_cache` checks both splits on request. CRC-32 is
the fastest of the checksums compared by ``benchmarks/bench_cache_checksum.py`` (README: Speed).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import zlib
from pathlib import Path

import numpy as np

from colorlib.config import Config
from colorlib.data.sources import DataError, folder_fingerprint
from colorlib.utils.files import atomic_write, printable

__all__ = [
    "FORMAT",
    "MANIFEST_COLUMNS",
    "SPLITS",
    "cache_key",
    "check_space",
    "new_array",
    "flush",
    "write_text",
    "manifest_text",
    "read_summary",
    "complete_summary",
    "checked_summary",
    "prepare_command",
    "file_checksum",
    "checksum_problem",
    "verify_cache",
    "load_images",
]

FORMAT = "colorlib-data-3"  # 2: stable folder split, checksums, split identities; 3: bundled quadrants
SPLITS = ("train", "test")
MANIFEST_COLUMNS = ("split", "index", "source", "id", "file_name", "url", "path", "width", "height", "crop")


def cache_key(cfg: Config) -> dict:
    """What a cache depends on (the Config fields of role "data"); a cache built for another key
    is rebuilt, never reused."""
    return {"format": FORMAT, **cfg.data_key()}


_READ_CHUNK = 1 << 23  # 8 MiB


def file_checksum(path: Path) -> str:
    """``"crc32:<8 hex>"`` of the whole file (header and pixels), read in 8 MiB chunks.

    CRC-32 catches every overwritten byte or burst up to 32 bits and nearly all larger damage;
    it guards against accidents (a bad disk, a stray write), not against someone who can also
    edit summary.json.
    """
    crc, buffer = 0, bytearray(_READ_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            crc = zlib.crc32(view[:n], crc)
    return f"crc32:{crc:08x}"


def prepare_command(cfg: Config) -> str:
    """The command that (re)builds the cache of ``cfg``'s profile, for error messages."""
    return f"python -m colorlib prepare --profile {cfg.profile}"


def _amount(nbytes: float) -> str:
    """Bytes as GB with one decimal, or MB where that would read 0.0 GB."""
    return f"{nbytes / 1e9:.1f} GB" if nbytes >= 0.05e9 else f"{nbytes / 1e6:.1f} MB"


def check_space(data_dir: Path, n: int, size: int) -> None:
    """Raise DataError unless ``data_dir``'s disk can hold n uint8 size×size×3 images.

    The arrays are sparse memmaps: without this check a cache bigger than the free space is
    created without complaint, and the process dies of SIGBUS when the disk fills.
    """
    need = n * size * size * 3
    for stale in data_dir.glob(".*.npy.*.tmp"):  # left by a prepare that was killed mid-write
        stale.unlink(missing_ok=True)
    free = shutil.disk_usage(data_dir).free
    if need > free:
        raise DataError(
            f"{data_dir}: the cache needs {_amount(need)} for {n} images of "
            f"{size}×{size}, only {_amount(free)} free; lower n_train/n_test or "
            f"point data_root at a bigger disk"
        )


def new_array(tmp: Path, n: int, size: int) -> np.ndarray:
    """A writable uint8 n×size×size×3 .npy memmap at ``tmp`` (a temp path of
    :func:`colorlib.utils.files.atomic_path`, renamed into place when that block ends)."""
    if n == 0:  # no memmap of zero bytes: write the empty array now
        empty = np.zeros((0, size, size, 3), np.uint8)
        with open(tmp, "wb") as f:  # a file object: np.save would append ".npy" to a name
            np.save(f, empty)
        return empty
    return np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))


def flush(array: np.ndarray) -> None:
    """Write a :func:`new_array` memmap's pages to its file (before the rename)."""
    if isinstance(array, np.memmap):
        array.flush()


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, text)


def manifest_text(rows: list[dict]) -> str:
    """manifest.csv's text: valid UTF-8 whatever the file names (a non-UTF-8 name's bytes are
    written ``\\xff``, as :func:`colorlib.data.split.image_identity` names it)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: printable(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def read_summary(data_dir: Path) -> dict | None:
    """The summary.json of ``data_dir``, or None if it is missing or unreadable."""
    try:
        return json.loads((data_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _array_shape(path: Path) -> tuple | None:
    try:
        return np.load(path, mmap_mode="r").shape
    except (OSError, ValueError):
        return None


def complete_summary(cfg: Config) -> dict | None:
    """The summary of a complete cache for ``cfg`` (right key, files present and sized, and for
    source=folder the same image files as when it was prepared), else None."""
    summary = read_summary(cfg.data_dir)
    if summary is None or summary.get("key") != cache_key(cfg):
        return None
    size = cfg.image_size
    for split, n in (("train", cfg.n_train), ("test", cfg.n_test)):
        if _array_shape(cfg.data_dir / f"{split}.npy") != (n, size, size, 3):
            return None
    if not (cfg.data_dir / "manifest.csv").is_file():
        return None
    if cfg.source == "folder":  # the key names the folder; its files may have changed since
        try:
            if summary.get("folder_fingerprint") != folder_fingerprint(cfg.folder):
                return None
        except DataError:  # folder gone or emptied: let prepare say so
            return None
    return summary


def checked_summary(cfg: Config) -> dict:
    """The summary.json of ``cfg.data_dir`` if it was prepared for ``cfg``'s key, else a
    :class:`DataError` saying what differs and what to run."""
    summary = read_summary(cfg.data_dir)
    if summary is None:
        raise DataError(f"{cfg.data_dir / 'summary.json'}: no prepared data; run `{prepare_command(cfg)}` first")
    want = cache_key(cfg)
    if summary.get("key") != want:
        have = summary.get("key", {})
        diff = ", ".join(f"{k}={have.get(k)!r} (want {v!r})" for k, v in want.items() if have.get(k) != v)
        raise DataError(f"{cfg.data_dir}: cache was prepared with {diff}; run `{prepare_command(cfg)}` again")
    return summary


def checksum_problem(cfg: Config, split: str, summary: dict) -> str | None:
    """What is wrong with ``split``'s .npy against the checksum in ``summary`` (one line), or None."""
    path = cfg.data_dir / f"{split}.npy"
    want = summary.get("checksums", {}).get(split)
    if want is None:
        return f"{path}: no checksum recorded in summary.json"
    try:
        have = file_checksum(path)
    except OSError as err:
        return f"{path}: unreadable ({err.strerror or err})"
    if have != want:
        return (
            f"{path}: checksum {have} differs from the {want} recorded when it was prepared "
            f"(the file was changed or damaged)"
        )
    return None


def verify_cache(cfg: Config) -> dict:
    """Check both splits against their recorded checksums; return ``{split: checksum}`` or raise
    :class:`DataError` naming the damaged file and saying to run prepare again."""
    summary = checked_summary(cfg)
    for split in SPLITS:
        problem = checksum_problem(cfg, split, summary)
        if problem is not None:
            raise DataError(f"{problem}; run `{prepare_command(cfg)}` again")
    return dict(summary["checksums"])


def load_images(cfg: Config, split: str, *, verify: bool = True) -> np.ndarray:
    """The prepared ``split`` ("train" | "test") as a read-only uint8 N×S×S×3 RGB memmap.

    Index it with a sorted index array (``images[np.sort(idx)]``) for the fastest batch reads.
    Raises :class:`DataError` (one line, saying what to run) if the cache is missing, was
    prepared for another source / size / seed / count than ``cfg`` asks for, or — ``verify``,
    one read of the file, ~0.5 s per GB — its bytes no longer match the recorded checksum.
    """
    if split not in SPLITS:
        raise DataError(f"split must be 'train' or 'test', not {split!r}")
    path = cfg.data_dir / f"{split}.npy"
    command = prepare_command(cfg)
    if not path.is_file() or read_summary(cfg.data_dir) is None:
        raise DataError(f"{path}: no prepared {split} images; run `{command}` first")
    summary = checked_summary(cfg)
    try:
        images = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as err:  # truncated or overwritten file
        raise DataError(f"{path}: unreadable cache ({err}); run `{command}` again") from None
    n = cfg.n_train if split == "train" else cfg.n_test
    if images.dtype != np.uint8 or images.shape != (n, cfg.image_size, cfg.image_size, 3):
        raise DataError(
            f"{path}: holds {images.dtype} {images.shape}, expected uint8 "
            f"({n}, {cfg.image_size}, {cfg.image_size}, 3); run `{command}` again"
        )
    problem = checksum_problem(cfg, split, summary) if verify else None
    if problem is not None:
        raise DataError(f"{problem}; run `{command}` again")
    return images
