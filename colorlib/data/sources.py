"""Where images come from (folder, bundled photos) and how each becomes one S×S cache entry.

A source is an ordered stream of :class:`Candidate` s. Preparation decodes them in that order
and keeps the first ``n`` that are usable colour photos, so a skipped or grayscale candidate is
replaced by the next one and the counts stay exact (COCO lives in :mod:`colorlib.data.coco`, the
crops of the bundled photos and their split in :mod:`colorlib.data.bundled`).

Resize policy (§5.1: "we resize the variable-sized images to a fixed size of 256×256"): the
whole image is resized to S×S, aspect ratio *not* preserved — what the paper says and what the
pix2pix-style tutorial it follows does — so no part of the picture is cropped away and the test
images are the full COCO frames. The filter is Pillow's antialiased bicubic; JPEGs are first
decoded at the smallest DCT scale that still gives ≥ S×S (``Image.draft``), which is several
times faster and, since the result is downsized again with antialiasing, visually identical.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colorlib.data.images import ImageError, is_image_path, open_rgb, square
from colorlib.utils.errors import ColorlibError
from colorlib.utils.files import entry_problem, walk_files

__all__ = [
    "DataError",
    "Candidate",
    "Decoded",
    "is_grayscale",
    "decode_file",
    "seeded_order",
    "folder_files",
    "folder_fingerprint",
    "folder_candidates",
    "bundled_photos",
    "BUNDLED_PHOTOS",
    "MIN_SIDE",
    "GRAY_TOLERANCE",
    "GRAY_FRACTION",
]

MIN_SIDE = 16  # px: smaller images (1×1 icons, spacer GIFs) carry no usable picture
GRAY_TOLERANCE = 6  # chroma max(R,G,B) − min(R,G,B) ≤ this (of 255) counts as "no colour"
GRAY_FRACTION = 0.001  # grayscale if at most 0.1 % of pixels exceed GRAY_TOLERANCE

# Colour photographs shipped inside scikit-image (file names in skimage/data/); the ones a
# given version lacks (or fetches through pooch) are skipped with a note.
BUNDLED_PHOTOS = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "motorcycle": "motorcycle_left.png",
    "immunohistochemistry": "ihc.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "retina": "retina.jpg",
}


class DataError(ColorlibError, ValueError):
    """A dataset that cannot be prepared as asked (missing folder, too few usable images…)."""


@dataclass
class Decoded:
    """One cache entry: ``image`` uint8 S×S×3 RGB, and the original upright width × height."""

    image: np.ndarray
    width: int
    height: int


@dataclass
class Candidate:
    """One image a source offers, in seeded order; ``load(S)`` decodes it or raises ImageError."""

    source: str
    id: str
    file_name: str
    load: Callable[[int], Decoded] = field(repr=False)
    url: str = ""
    path: str = ""
    crop: str = ""  # bundled crops: the box and its quadrant (colorlib.data.bundled)
    # path: the file; for bundled photos "skimage/data/<file>", the same on every machine


def is_grayscale(image: np.ndarray) -> bool:
    """Whether uint8 H×W×3 RGB ``image`` has (almost) no colour.

    A pixel has colour when max(R,G,B) − min(R,G,B) > GRAY_TOLERANCE (6 of 255, above JPEG's
    chroma rounding noise); the image is grayscale when at most GRAY_FRACTION (0.1 %) of its
    pixels do. Mode L/LA/I;16 files decode to R = G = B and are always grayscale; a colour
    photo with a small coloured region is not.
    """
    chroma = image.max(axis=2).astype(np.int16) - image.min(axis=2)
    return float(np.count_nonzero(chroma > GRAY_TOLERANCE)) <= GRAY_FRACTION * chroma.size


def decode_file(path: str | os.PathLike, size: int) -> Decoded:
    """Decode an image file into an S×S cache entry (resize policy above), or raise ImageError
    (kind ``unreadable_entry`` for what :func:`entry_problem` refuses)."""
    problem = entry_problem(path)
    if problem is not None:
        raise ImageError(path, problem, "unreadable_entry")
    img = open_rgb(path, draft=(size, size))
    width, height = img.info["original_size"]
    if min(width, height) < MIN_SIDE:
        raise ImageError(path, f"too small ({width}×{height} px; need at least {MIN_SIDE} px per side)", "too_small")
    return Decoded(square(img, size), width, height)


def seeded_order(keys: Sequence, seed: int) -> list:
    """``keys`` sorted, then shuffled by ``numpy.random.default_rng(seed)`` — the selection order."""
    ordered = sorted(keys)
    return [ordered[i] for i in np.random.default_rng(seed).permutation(len(ordered))]


# ----- folder source -----------------------------------------------------------------------


def folder_files(folder: str | os.PathLike) -> tuple[Path, list[str]]:
    """The folder and its image files (recursive; extensions of IMAGE_EXTENSIONS, any case), as
    sorted POSIX paths relative to it (:func:`colorlib.utils.files.walk_files`: hidden files and
    folders such as ``.git`` are skipped)."""
    root = Path(folder).expanduser()
    if not str(folder):
        raise DataError("source=folder needs a folder: pass --folder DIR (or --set folder=DIR)")
    if root.exists() and not root.is_dir():
        raise DataError(f"{root}: is a file, not a folder (source=folder needs --folder DIR)")
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (source=folder)")
    files, _ = walk_files(root, is_image_path)
    found = [f.relative_to(root).as_posix() for f in files]
    if not found:
        raise DataError(f"{root}: no image files (.jpg .jpeg .png .webp .bmp .tif) in this folder tree")
    return root, found


def folder_fingerprint(folder: str | os.PathLike) -> str:
    """A digest of the folder's image files (relative path, size, modification time): a cache
    prepared from the folder is stale once a file is added, removed or changed."""
    root, files = folder_files(folder)
    digest = hashlib.sha1()
    for rel in files:
        try:
            stat = (root / rel).stat()
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:  # a dangling link: part of the listing, without a stat
            digest.update(f"{rel}\0?\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def folder_candidates(folder: str | os.PathLike) -> list[Candidate]:
    """Every image file under ``folder`` (see :func:`folder_files`), by relative path; the
    split's order is a hash of each path (:mod:`colorlib.data.split`)."""
    root, found = folder_files(folder)
    return [
        Candidate("folder", rel, Path(rel).name, lambda s, p=root / rel: decode_file(p, s), path=str(root / rel))
        for rel in found
    ]


# ----- bundled source ----------------------------------------------------------------------


def _skimage_data_dir() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def bundled_photos(log: Callable[[str], None] = print) -> dict[str, Path]:
    """The bundled colour photos present in this installation, name → file."""
    base = _skimage_data_dir()
    if base is None:
        raise DataError("source=bundled needs scikit-image (pip install scikit-image)")
    present = {name: base / file for name, file in BUNDLED_PHOTOS.items() if (base / file).is_file()}
    for name in BUNDLED_PHOTOS.keys() - present.keys():
        log(f"bundled photo {name!r} is not in {base}; left out")
    if not present:
        raise DataError(f"{base}: none of the bundled photos {', '.join(BUNDLED_PHOTOS)} is installed")
    return present
