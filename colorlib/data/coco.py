"""The paper's COCO subset (§5.1): seeded picks from train2014 (82,783) and test2014 (40,775).

The image lists come from the official annotation files, read with pycocotools:
``captions_train2014.json`` (or ``instances_``/``person_keypoints_train2014.json``) from
``annotations_trainval2014.zip`` and ``image_info_test2014.json`` from ``image_info_test2014.zip``.
All image ids are sorted and shuffled with the run's seed (:func:`seeded_order`); preparation
walks that order and keeps the first 8,000 / 2,000 usable colour photos, so a grayscale or
broken image is replaced by the next one in the order. Only those images are downloaded, one
by one from their ``coco_url`` — never the 19 GB of image zips. With ``coco_root`` (an existing
copy holding ``annotations/``, ``train2014/``, ``test2014/``) nothing is downloaded.

Layout of a download (under ``cfg.data_dir / "coco"``, reused by later runs)::

    annotations/captions_train2014.json   annotations/image_info_test2014.json
    train2014/COCO_train2014_000000057870.jpg ...   test2014/COCO_test2014_....jpg ...

A record is used only if its ``file_name`` is a plain file name (no ``/`` or ``\\``, not ``.`` or
``..``, not empty, no drive) and its ``coco_url`` is empty or http(s) (:func:`record_problem`):
an annotation file cannot make ``prepare`` write or read outside the image folder, or fetch a
local ``file://`` path. Any other record is skipped (``unsafe_record``) with one line naming it.
"""

from __future__ import annotations

import contextlib
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path, PureWindowsPath

from colorlib.data.images import open_rgb
from colorlib.data.sources import Candidate, DataError, Decoded, decode_file, seeded_order
from colorlib.utils.download import MAX_IMAGE_BYTES, DownloadError, DownloadPolicy, fetch, url_problem

__all__ = ["COCO_SPLITS", "UnsafeRecord", "annotation_file", "record_problem", "coco_candidates"]

# split -> (image folder, annotation zip, annotation files inside it, most preferred first)
COCO_SPLITS = {
    "train": (
        "train2014",
        "annotations_trainval2014.zip",
        ("captions_train2014.json", "instances_train2014.json", "person_keypoints_train2014.json"),
    ),
    "test": ("test2014", "image_info_test2014.zip", ("image_info_test2014.json",)),
}


class UnsafeRecord(DataError):
    """An annotation record whose file name or URL points outside the image folder / the web."""

    kind = "unsafe_record"


def record_problem(record: dict) -> str | None:
    """Why an annotation ``record`` may not be used (one phrase), or None (see above)."""
    name, url = record.get("file_name"), record.get("coco_url", "")
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or any(c in name for c in "/\\\0")
        or PureWindowsPath(name).drive
    ):
        return f"file_name {name!r} is not a plain file name"
    if not isinstance(url, str):
        return f"coco_url {url!r} is not a URL"
    problem = url_problem(url) if url else None
    return f"coco_url {url!r}: {problem}" if problem else None


def _refuse(err: Exception) -> Decoded:
    raise err


def _verify_zip(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        if archive.testzip() is not None:
            raise ValueError("a member fails its CRC check")


def annotation_file(
    split: str,
    data_dir: Path,
    coco_root: str = "",
    policy: DownloadPolicy = DownloadPolicy(),
    log: Callable[[str], None] = print,
) -> Path:
    """The annotation JSON listing ``split``'s images; downloaded and extracted if needed."""
    _, zip_name, names = COCO_SPLITS[split]
    if coco_root:
        folder = Path(coco_root).expanduser() / "annotations"
        for name in names:
            if (folder / name).is_file():
                return folder / name
        raise DataError(
            f"{folder}: none of {', '.join(names)} found (coco_root must hold the "
            f"official annotations/, train2014/ and test2014/ folders)"
        )
    folder = data_dir / "coco" / "annotations"
    for name in names:
        if (folder / name).is_file():
            return folder / name
    archive_path = data_dir / "coco" / zip_name
    url = f"{policy.annotations_base()}/{zip_name}"
    log(f"downloading {url}")
    try:
        fetch(url, archive_path, policy, verify=_verify_zip, log=log)
    except DownloadError as err:
        raise DownloadError(f"{err}; check the network, or use an existing COCO copy with --coco-root DIR") from None
    with zipfile.ZipFile(archive_path) as archive:
        members = {Path(m).name: m for m in archive.namelist()}
        name = next((n for n in names if n in members), None)
        if name is None:
            raise DataError(f"{archive_path}: holds none of {', '.join(names)}; delete it and retry")
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / (name + ".part")
        try:
            _extract_bounded(archive, members[name], part, archive_path)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    os.replace(part, folder / name)
    archive_path.unlink()  # the rest of the zip (e.g. 2014 val annotations) is not needed
    return folder / name


MAX_EXTRACTED = 2 << 30  # the largest official 2014 annotation JSON (instances) is 0.33 GB
MAX_RATIO = 100  # JSON deflates ~5-10×; a zip bomb, ~1000×


def _extract_bounded(archive: zipfile.ZipFile, member: str, part: Path, archive_path: Path) -> None:
    """Extract ``member`` to ``part``, refusing (one line, nothing left) a size over MAX_EXTRACTED
    or a compression ratio over MAX_RATIO — counted on the bytes written, not only the header's
    claim. A full disk is :class:`colorlib.utils.files.DiskFullError`, one line."""
    from colorlib.utils.files import DiskFullError, full_disk_errno

    info = archive.getinfo(member)
    limit = min(MAX_EXTRACTED, MAX_RATIO * max(info.compress_size, 1))

    def refuse(size: int) -> DataError:
        return DataError(
            f"{archive_path}: {member} would extract to {size / 1e6:.0f}+ MB from "
            f"{info.compress_size / 1e6:.1f} MB (limit {limit / 1e6:.0f} MB, ratio {MAX_RATIO}: "
            "a damaged or hostile archive); delete it and retry"
        )

    if info.file_size > limit:
        raise refuse(info.file_size)
    written = 0
    try:
        with archive.open(member) as src, open(part, "wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise refuse(written)
                dst.write(chunk)
    except OSError as err:
        code = full_disk_errno(err, None)
        if code:
            raise DiskFullError(part.with_suffix(""), code) from None
        raise


def _verify_image(path: Path) -> None:
    open_rgb(path, draft=(64, 64))  # decodes every byte of the entropy-coded stream


def coco_candidates(
    split: str,
    data_dir: Path,
    seed: int,
    coco_root: str = "",
    policy: DownloadPolicy = DownloadPolicy(),
    log: Callable[[str], None] = print,
) -> list[Candidate]:
    """All of ``split``'s COCO images in seeded order; ``load`` downloads (if needed) and decodes."""
    from pycocotools.coco import COCO  # imported here: ~0.3 s, only for this source

    annotations = annotation_file(split, data_dir, coco_root, policy, log)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress lines
            coco = COCO(str(annotations))
    except (ValueError, KeyError, TypeError, AssertionError, AttributeError) as err:  # a JSON list: assert
        raise DataError(
            f"{annotations}: not a COCO annotation file ({type(err).__name__}: "
            f"{' '.join(str(err).split())[:160]}); delete it and retry"
        ) from None
    folder_name = COCO_SPLITS[split][0]
    images = Path(coco_root).expanduser() / folder_name if coco_root else data_dir / "coco" / folder_name
    try:
        ids = seeded_order(coco.getImgIds(), seed)
    except TypeError:  # ints mixed with strings
        raise DataError(f"{annotations}: image ids of mixed types; not a COCO annotation file") from None
    candidates = []
    for image_id in ids:
        record = coco.imgs[image_id]
        problem = record_problem(record)
        if problem is not None:
            err = UnsafeRecord(f"COCO {split} image {image_id}: {problem}")
            candidates.append(Candidate("coco", str(image_id), "", lambda size, e=err: _refuse(e)))
            continue
        path = images / record["file_name"]
        url = policy.image_url(record.get("coco_url", ""))
        candidates.append(
            Candidate(
                "coco",
                str(image_id),
                record["file_name"],
                lambda size, u=url, p=path: _load(u, p, size, coco_root == "", policy, log),
                url=url,
                path=str(path),
            )
        )
    return candidates


def _load(
    url: str, path: Path, size: int, download: bool, policy: DownloadPolicy, log: Callable[[str], None]
) -> Decoded:
    if download:
        if not url:
            raise DataError(f"{path.name}: the annotation record has no coco_url")
        fetch(url, path, policy, verify=_verify_image, log=log, max_bytes=MAX_IMAGE_BYTES)
    return decode_file(path, size)
