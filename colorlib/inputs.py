"""The photos a ``colorize`` run reads: folder walks, entries that are no photo files, each file once.

:func:`collect_inputs` turns command-line items (files, folders) into a list of paths, keeping
what cannot be read so that it is reported and counted; :func:`input_problem` says, without
opening anything (a FIFO would block), why an entry is no photo file.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .images import is_image_path

__all__ = ["collect_inputs", "input_problem"]


def collect_inputs(items: list[str | os.PathLike], exclude: str | os.PathLike | None = None) -> list[Path]:
    """Files named in ``items`` (taken as given) plus the image files under named folders, each once.

    Folders are walked recursively (symbolic links to folders are not followed) for entries with
    an image extension (any case), sorted, skipping hidden ones and anything under ``exclude``
    (the output folder) when that is a sub-folder of the searched one. Entries that are not
    regular files (symbolic link loops, dangling links, FIFOs, sockets) and folders that cannot
    be listed are kept: :func:`colorlib.colorize.colorize_paths` reports each (:func:`input_problem`) without
    opening it. A file reached twice (another spelling of its path, a symbolic or hard link to
    it) is kept once, where it came first.
    """
    skip = os.path.realpath(exclude) if exclude is not None else None
    found: list[Path] = []
    seen: set = set()
    for item in items:
        path = Path(item)
        entries = [path]
        if path.is_dir():
            inner = skip if skip is not None and skip != os.path.realpath(path) else None
            entries, unlisted = [], []
            for root, dirs, files in os.walk(path, onerror=lambda err: unlisted.append(Path(err.filename))):
                dirs[:] = [d for d in dirs if not d.startswith(".") and not _under(Path(root, d), inner)]
                entries += [Path(root, f) for f in files if not f.startswith(".") and is_image_path(f)]
            entries = sorted(e for e in entries if not _under(e, inner)) + unlisted
        for entry in entries:
            key = _identity(entry)
            if key not in seen:
                seen.add(key)
                found.append(entry)
    return found


def _under(path: Path, folder: str | None) -> bool:
    return folder is not None and Path(os.path.realpath(path)).is_relative_to(folder)


def _identity(path: Path):
    """The file itself (device, inode), or for what cannot be stat'ed its real path."""
    try:
        st = os.stat(path)
        return st.st_dev, st.st_ino
    except OSError:
        return os.path.normcase(os.path.realpath(path))


def input_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is no photo file, found without opening it (a FIFO would block), or ``None``.

    A missing or unreadable regular file is left to :func:`colorlib.images.open_rgb`.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "symbolic link loop"
        return f"dangling symbolic link (to {os.readlink(path)})" if os.path.islink(path) else None
    if stat.S_ISDIR(mode):
        try:
            os.scandir(path).close()
        except OSError as err:
            return f"cannot read the folder ({err.strerror})"
        return None
    for is_kind, what in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if is_kind(mode):
            return f"{what}, not a file"
    return None if stat.S_ISREG(mode) else "not a regular file"
