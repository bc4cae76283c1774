"""Files, one implementation each: atomic writes, streamed hashes, "is this a readable file",
the folder walk, and how paths are shown.

Atomic writes are shared by checkpoints, results, caches and colorized photos:

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
import functools
import hashlib
import io
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from colorlib.utils.errors import ColorlibError

__all__ = [
    "atomic_file",
    "atomic_path",
    "atomic_write",
    "DiskFullError",
    "sha256_file",
    "entry_problem",
    "walk_files",
    "project_root",
    "shown",
    "write_set",
    "verify_zip",
    "DamagedFileError",
    "recover_sets",
    "append_rows",
    "UnusablePlaceError",
    "check_writable_dir",
    "check_writable_file",
    "write_problem",
    "check_roots",
    "printable",
]

_FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded"}


class DiskFullError(ColorlibError, OSError):
    """No space left on the device (or quota exceeded) while writing ``filename``; any previous
    file there is unchanged. ``errno`` is ``ENOSPC`` (or ``EDQUOT``)."""

    def __init__(self, path: str | os.PathLike, code: int = errno.ENOSPC):
        super().__init__(
            code,
            f"{_FULL[code]} writing {path}; free some space there and run again (any previous file is unchanged)",
            str(path),
        )

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


def full_disk_errno(err: BaseException | None, seen: BaseException | None) -> int | None:
    """``ENOSPC``/``EDQUOT`` if ``seen`` or ``err`` (or what it was raised from) is one."""
    chain = [seen]
    while err is not None and len(chain) < 20:
        chain.append(err)
        err = err.__cause__ or err.__context__
    codes = [e.errno for e in chain if isinstance(e, OSError) and e.errno in _FULL]
    return codes[0] if codes else None


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def _temp_name(path: Path) -> Path:
    """A fresh hidden name beside ``path``: two writers never share a temp file."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that needs a name, not a file object (a
    NumPy memmap): when the block ends the file there is fsynced and renamed over ``path``, and
    the folder fsynced; an exception removes it. Raises :class:`DiskFullError` as
    :func:`atomic_file` does."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        code = full_disk_errno(err, None)
        if code:
            raise DiskFullError(path, code) from err
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file object whose contents replace ``path`` atomically when the block ends.

    Raises :class:`DiskFullError` when the device is full; other errors pass through.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as err:  # name the file being written, not the hidden temp file
        code = full_disk_errno(err, None)
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
        code = full_disk_errno(err, writes and writes.error)
        if code:
            raise DiskFullError(path, code) from err
        raise
    _fsync_dir(path.parent)


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; returns the path."""
    with atomic_file(path) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


# ----------------------------------------------------------------------------- hashing
def sha256_file(path: str | os.PathLike, start: int = 0) -> str:
    """The sha256 of a file's bytes from offset ``start``, read in 1 MiB blocks (never the whole
    file in memory); remembered per (path, size, modification time), so a weights file is hashed
    once a process."""
    st = os.stat(path)
    return _sha256(os.path.abspath(path), st.st_size, st.st_mtime_ns, start)


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int, start: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- integrity
class DamagedFileError(ColorlibError, OSError):
    """A file's bytes do not match the checksums stored in it."""


def verify_zip(path: str | os.PathLike, what: str = "file") -> None:
    """Check every record of a zip archive (a checkpoint, as ``torch.save`` writes it) against the
    CRC-32 stored beside it: torch's own reader never does, so overwritten weight bytes would load
    as silently wrong numbers. About 0.35 s per 686 MB (a paper-size U-Net training checkpoint)
    with the file in the page cache. A file that is not a zip is left to ``torch.load``."""
    import zipfile

    path = Path(path)
    try:
        if not zipfile.is_zipfile(path):
            return
        with zipfile.ZipFile(path) as archive, open(path, "rb") as f:
            bad = next((info.filename for info in archive.infolist() if not _crc_ok(f, info)), None)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise DamagedFileError(
            f"{path}: damaged {what} ({type(err).__name__}: {' '.join(str(err).split())[:160]}); "
            "restore it from a copy or train again"
        ) from None
    if bad is not None:
        raise DamagedFileError(
            f"{path}: damaged {what} (record {bad!r} fails its CRC check: the weights were "
            "overwritten or the file corrupted); restore it from a copy or train again"
        )


def _crc_ok(f, info) -> bool:
    """Whether the record ``info`` of the zip file open as ``f`` matches its stored CRC-32, read
    through one reused 1 MiB buffer (``ZipFile.testzip`` allocates per read: +70 MB peak)."""
    import struct
    import zipfile
    import zlib

    if info.compress_type != zipfile.ZIP_STORED:  # torch.save stores; anything else: zipfile's reader
        with zipfile.ZipFile(f) as archive, archive.open(info) as member:
            while member.read(1 << 20):
                pass
        return True  # zipfile raises BadZipFile on a CRC mismatch
    f.seek(info.header_offset)
    header = f.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header of record {info.filename!r}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    f.seek(info.header_offset + 30 + name_len + extra_len)
    buf = bytearray(1 << 20)
    view, left, crc = memoryview(buf), info.file_size, 0
    while left:
        n = f.readinto(view[: min(left, len(buf))])
        if not n:
            raise zipfile.BadZipFile(f"record {info.filename!r} is truncated")
        crc, left = zlib.crc32(view[:n], crc), left - n
    return crc == info.CRC


# ----------------------------------------------------------------------------- what can be read
def entry_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is no file or folder to read, found without opening it (a FIFO would block
    the reader): a symbolic link loop, a dangling link, a FIFO, a socket, a device, a folder that
    cannot be listed; ``None`` for a regular file or a readable folder. A missing or unreadable
    regular file is left to the reader, which names it."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "symbolic link loop"
        if os.path.islink(path):
            return f"dangling symbolic link (to {os.readlink(path)})"
        return None if err.errno == errno.ENOENT else f"cannot be read ({err.strerror or err})"
    if stat.S_ISDIR(mode):
        try:
            os.scandir(path).close()
        except OSError as err:
            return f"cannot read the folder ({err.strerror})"
        return None
    for is_kind, what in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if is_kind(mode):
            return f"{what}, not a file"
    return None if stat.S_ISREG(mode) else "not a regular file"


def walk_files(
    folder: str | os.PathLike, keep: Callable[[str], bool], exclude: str | os.PathLike | None = None
) -> tuple[list[Path], list[Path]]:
    """(files, unlisted folders) under ``folder``: every file whose name ``keep`` accepts, sorted,
    recursively; hidden files and folders (``.git``, ``._x.jpg``) are skipped, symbolic links to
    folders are not followed, and nothing under ``exclude`` (an output folder inside the searched
    one) is listed. Folders that cannot be listed come back apart, to be reported, not lost."""
    folder = Path(folder)
    skip = os.path.realpath(exclude) if exclude is not None else None
    if skip is not None and skip == os.path.realpath(folder):
        skip = None  # searching the output folder itself: take what is there

    def under_skip(p: Path) -> bool:
        return skip is not None and Path(os.path.realpath(p)).is_relative_to(skip)

    found, unlisted = [], []
    for root, dirs, files in os.walk(folder, onerror=lambda err: unlisted.append(Path(err.filename))):
        dirs[:] = [d for d in dirs if not d.startswith(".") and not under_skip(Path(root, d))]
        found += [Path(root, f) for f in files if not f.startswith(".") and keep(f)]
    return sorted(p for p in found if not under_skip(p)), unlisted


# ----------------------------------------------------------------------------- where we can write
class UnusablePlaceError(ColorlibError, OSError):
    """A folder (or a file's folder) that cannot be written to: read-only, a file, not creatable."""


def _nearest_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def check_writable_dir(path: str | os.PathLike, what: str) -> None:
    """Raise :class:`UnusablePlaceError` — one line naming ``what`` (the setting it came from) —
    when folder ``path`` could not be written to or created: it is a file, lies under a file, or
    its nearest existing folder refuses a new file (a read-only mount, missing permission). A
    probe file is created and removed there (root ignores permission bits, not a read-only
    mount); nothing else is created. Called where each verb starts, before minutes of work."""
    path = Path(path).expanduser()
    there = _nearest_existing(path.absolute())
    fix = "point it at a folder that can be written to"
    if not there.is_dir():
        where = "is a file" if there == path.absolute() else f"lies under {there}, which is a file"
        raise UnusablePlaceError(f"{path}: {what} {where}, not a folder; {fix}")
    problem = write_problem(there)
    if problem is not None:
        made = "cannot be written to" if there == path.absolute() else f"cannot be created in {there}"
        raise UnusablePlaceError(f"{path}: {what} {made} ({problem}); {fix}")


def write_problem(folder: str | os.PathLike) -> str | None:
    """Why no new file can be made in the existing ``folder`` (the OS's words), or None: a probe
    file is created and removed (root ignores permission bits, not a read-only mount)."""
    probe = Path(folder) / f".colorlib-probe-{uuid.uuid4().hex[:8]}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as err:
        return str(err.strerror or err)
    return None


def check_writable_file(path: str | os.PathLike, what: str) -> None:
    """Like :func:`check_writable_dir` for a file to be written: ``path`` must not be a folder and
    its folder must be writable (or creatable)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UnusablePlaceError(f"{path}: {what} is a folder, not a file; name a file there instead")
    check_writable_dir(path.absolute().parent, f"{what}'s folder")


# where each root comes from: the field, its own variable, COLORLIB_HOME, the checkout's folder
_ROOT_ENV = {"data": "COLORLIB_DATA", "run": "COLORLIB_RUNS", "results": "COLORLIB_RESULTS"}


def root_setting(kind: str, value: str) -> str:
    """How the user set the ``kind`` ("data" | "run" | "results") root, for a message."""
    if value:
        return f"{kind}_root={value}"
    env = _ROOT_ENV[kind]
    if os.environ.get(env):
        return f"{kind}_root (${env})"
    if os.environ.get("COLORLIB_HOME"):
        return f"{kind}_root (under $COLORLIB_HOME)"
    return f"{kind}_root (default)"


def check_roots(cfg, *kinds: str) -> None:
    """:func:`check_writable_dir` on ``cfg``'s ``data_dir`` / ``run_dir`` / ``results_dir`` for
    each of ``kinds`` ("data", "run", "results"), naming the setting each came from."""
    for kind in kinds:
        check_writable_dir(getattr(cfg, f"{kind}_dir"), root_setting(kind, getattr(cfg, f"{kind}_root")))


def append_rows(path: str | os.PathLike, header: tuple[str, ...], first: int, rows: list[list]) -> Path:
    """Add ``rows`` (numbered ``first``, ``first`` + 1, … in the first column) to the CSV file
    ``path`` (written atomically, with ``header``). Rows already there numbered ``first`` or
    more — a resumed run repeating what it did after its last checkpoint — are replaced, so each
    number appears once, and a last line cut short by a kill is dropped; only then is the file
    read whole and rewritten, otherwise only its last line is read and the rows are appended."""
    path = Path(path)
    new = "".join(",".join([str(first + i), *(repr(float(v)) for v in row)]) + "\n" for i, row in enumerate(rows))
    head = ",".join(header) + "\n"
    last = _last_line(path) if path.is_file() else ""
    if last.endswith("\n") and last != head and int(last.split(",", 1)[0]) < first:
        with open(path, "a") as f:
            f.write(new)
        return path
    old = path.read_text().splitlines(keepends=True)[1:] if path.is_file() else []
    # a line without its newline is one a killed process left half-written: dropped
    kept = (line for line in old if line.endswith("\n") and int(line.split(",", 1)[0]) < first)
    return atomic_write(path, head + "".join(kept) + new)


def _last_line(path: Path, chunk: int = 4096) -> str:
    """The file's last line, read from its end (a run's iterations.csv grows to 150,000 rows)."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - chunk))
        lines = f.read().decode("utf-8", "replace").splitlines(keepends=True)
    return lines[-1] if lines else ""


# ----------------------------------------------------------------------------- showing paths
def printable(text: str) -> str:
    """``text`` with the undecodable bytes of a non-UTF-8 file name (surrogate escapes) written as
    ``\\xff``: valid UTF-8 for files people and other programs read (a manifest), one for one."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def project_root() -> Path:
    """The checkout that holds this package (an editable install), else ``$COLORLIB_HOME`` or cwd."""
    if os.environ.get("COLORLIB_HOME"):
        return Path(os.environ["COLORLIB_HOME"]).expanduser().resolve()
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").is_file() else Path.cwd().resolve()


def shown(path: str | os.PathLike) -> str:
    """``path`` as messages, notebooks and results files show it: relative to the project root
    (``data/demo``), else to the home folder (``~/…``), else as it is — so no committed file
    carries the absolute paths of the machine that made it."""
    p = Path(path).expanduser()
    full = p.resolve() if p.is_absolute() or p.exists() else p.absolute()
    for base, prefix in ((project_root(), ""), (Path.home().resolve(), "~/")):
        try:
            rel = full.relative_to(base)
        except ValueError:
            continue
        return prefix + rel.as_posix() if rel.parts else (prefix.rstrip("/") or ".")
    return str(p)


# ----------------------------------------------------------------------------- file sets
_SET_PREFIX = ".set-"
_SET_MANIFEST = "MANIFEST.json"


def write_set(folder: str | os.PathLike, files: dict[str, str | bytes], remove: tuple[str, ...] = ()) -> None:
    """Replace several files of ``folder`` as one unit (an evaluation's tables, provenance and
    predictions): all are written (fsynced) into a hidden staging folder beside them, then a
    manifest naming them (and the files to ``remove``) is written last, then each is renamed
    into place. A kill before the manifest leaves the old set (the staging folder is removed
    by :func:`recover_sets`); after it, :func:`recover_sets` completes the set. Callers hold a
    lock on ``folder`` (:func:`colorlib.utils.runlock.results_lock`) so two sets never interleave."""
    import json

    folder = Path(folder)
    recover_sets(folder)
    stage = folder / f"{_SET_PREFIX}{uuid.uuid4().hex[:8]}"
    stage.mkdir(parents=True)
    try:
        for name, data in files.items():
            if "/" in name or name.startswith(_SET_PREFIX) or name == _SET_MANIFEST:
                raise ValueError(f"write_set: {name!r} is not a plain file name")
            atomic_write(stage / name, data)
        atomic_write(stage / _SET_MANIFEST, json.dumps({"files": sorted(files), "remove": sorted(remove)}))
    except BaseException:
        _remove_tree(stage)
        raise
    _apply_set(stage)


def recover_sets(folder: str | os.PathLike) -> None:
    """Finish or drop what a killed :func:`write_set` left in ``folder``: a staging folder with
    its manifest is completed (every file was written), one without is removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for stage in sorted(folder.glob(f"{_SET_PREFIX}*")):
        if stage.is_dir() and (stage / _SET_MANIFEST).is_file():
            _apply_set(stage)
        elif stage.is_dir():
            _remove_tree(stage)


def _apply_set(stage: Path) -> None:
    import json

    folder = stage.parent
    manifest = json.loads((stage / _SET_MANIFEST).read_text())
    for name in manifest["files"]:
        if (stage / name).exists():  # absent: already moved by an earlier, interrupted apply
            os.replace(stage / name, folder / name)
    for name in manifest["remove"]:
        if name not in manifest["files"]:
            (folder / name).unlink(missing_ok=True)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    _remove_tree(stage)


def _remove_tree(stage: Path) -> None:
    import shutil

    shutil.rmtree(stage, ignore_errors=True)
