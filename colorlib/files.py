"""Atomic file writes, shared by checkpoints, results, caches and colorized photos.

    with atomic_file(path) as f:      # a binary file object
        f.write(data)

The data go to a temporary file in the same folder, are flushed and fsynced, and the file is
renamed over ``path``: a crash at any moment leaves the old file or the new one, never a
partial one, and an exception leaves nothing behind. The new file gets the usual permissions
(0666 less the umask) — unlike ``tempfile.mkstemp``, whose 0600 would survive the rename.

A full disk (or quota) raises :class:`DiskFullError`, one line naming ``path``, whatever wrote
the data: torch's zip writer turns the ``ENOSPC`` of a write into ``[enforce fail at
inline_container.cc…] unexpected pos``, and Pillow's encoders ignore a short write to a file
descriptor (a truncated photo, no error). So the yielded object sends every write through
Python (it has no ``fileno()``) and remembers a failed one.
"""
from __future__ import annotations

import contextlib
import errno
import io
import os
import uuid
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import ColorlibError

__all__ = ["atomic_file", "atomic_write", "DiskFullError"]

_FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded"}


class DiskFullError(ColorlibError, OSError):
    """No space left on the device (or quota exceeded) while writing ``filename``; any previous
    file there is unchanged. ``errno`` is ``ENOSPC`` (or ``EDQUOT``)."""

    def __init__(self, path: str | os.PathLike, code: int = errno.ENOSPC):
        super().__init__(code, f"{_FULL[code]} writing {path}; free some space there and run again "
                               f"(any previous file is unchanged)", str(path))

    def __str__(self) -> str:
        return self.strerror


class _Writes:
    """A binary file whose writes go through Python (no ``fileno()``), remembering the first
    that failed: some writers swallow or mangle that error."""

    def __init__(self, f: BinaryIO):
        self._f, self.error = f, None

    def write(self, data) -> int:
        try:
            return self._f.write(data)
        except OSError as err:
            self.error = self.error or err
            raise

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno: atomic_file writes go through Python")

    def __getattr__(self, name):
        return getattr(self._f, name)


def _full_disk(err: BaseException | None, seen: BaseException | None) -> int | None:
    """``ENOSPC``/``EDQUOT`` if ``seen`` or ``err`` (or what it was raised from) is one."""
    chain = [seen]
    while err is not None and len(chain) < 20:
        chain.append(err)
        err = err.__cause__ or err.__context__
    codes = [e.errno for e in chain if isinstance(e, OSError) and e.errno in _FULL]
    return codes[0] if codes else None


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file object whose contents replace ``path`` atomically when the block ends.

    Raises :class:`DiskFullError` when the device is full; other errors pass through.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as err:  # name the file being written, not the hidden temp file
        code = _full_disk(err, None)
        raise DiskFullError(path, code) if code else type(err)(err.errno, err.strerror, str(path)) from None
    writes = None
    try:
        with os.fdopen(fd, "wb") as f:
            writes = _Writes(f)
            yield writes
            if writes.error is not None:  # a writer that went on after a failed write
                raise writes.error
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        code = _full_disk(err, writes and writes.error)
        if code:
            raise DiskFullError(path, code) from err
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; returns the path."""
    with atomic_file(path) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
