"""The photos a ``colorize`` run reads: folder walks, entries that are no photo files, each file once.

:func:`collect_inputs` turns command-line items (files, folders) into a list of paths, keeping
what cannot be read so that it is reported and counted (:func:`colorlib.utils.files.entry_problem`
says, without opening anything, why an entry is no photo file).
"""

from __future__ import annotations

import os
from pathlib import Path

from colorlib.data.images import is_image_path
from colorlib.utils.files import walk_files

__all__ = ["collect_inputs"]


def collect_inputs(items: list[str | os.PathLike], exclude: str | os.PathLike | None = None) -> list[Path]:
    """Files named in ``items`` (taken as given) plus the image files under named folders, each once.

    Folders are walked by :func:`colorlib.utils.files.walk_files` (recursive, hidden entries and
    anything under ``exclude`` — the output folder — skipped). Entries that are not regular files
    (symbolic link loops, dangling links, FIFOs, sockets) and folders that cannot be listed are
    kept: :func:`colorlib.inference.colorize.colorize_paths` reports each
    (:func:`colorlib.utils.files.entry_problem`) without opening it. A file reached twice (another
    spelling of its path, a symbolic or hard link to it) is kept once, where it came first.
    """
    found: list[Path] = []
    seen: set = set()
    for item in items:
        path = Path(item)
        entries = [path]
        if path.is_dir():
            files, unlisted = walk_files(path, is_image_path, exclude)
            entries = files + unlisted
        for entry in entries:
            key = _identity(entry)
            if key not in seen:
                seen.add(key)
                found.append(entry)
    return found


def _identity(path: Path):
    """The file itself (device, inode), or for what cannot be stat'ed its real path."""
    try:
        st = os.stat(path)
        return st.st_dev, st.st_ino
    except OSError:
        return os.path.normcase(os.path.realpath(path))
