"""The files figures are drawn from, read and checked: evaluate's per_image.csv and
predictions_*.npy, prepare's manifest.csv, and train's history.csv and samples/epoch_*.png.

A file that exists but cannot be used is a :class:`FigureInputError` naming it, in one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from colorlib.train import HISTORY_COLUMNS
from colorlib.utils.errors import ColorlibError

__all__ = [
    "FigureInputError",
    "PER_IMAGE_COLUMNS",
    "read_per_image",
    "read_history",
    "read_images",
    "read_test_photos",
    "sample_grids",
    "read_grids",
]

# The columns of evaluate's per_image.csv that the figures read.
PER_IMAGE_COLUMNS = ("model", "generator", "seed", "mode", "image", "l1")
# The columns of manifest.csv (colorlib.data.cache.MANIFEST_COLUMNS) that tell a test image's photo.
MANIFEST_PHOTO_COLUMNS = ("split", "index", "id", "file_name")


class FigureInputError(ColorlibError, ValueError):
    """An input file of a figure exists but cannot be used (one line naming the file)."""


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A CSV with ``columns`` and at least one row, else :class:`FigureInputError` naming ``path``."""
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise FigureInputError(f"{path}: not a readable CSV: {str(err).splitlines()[0]}") from None
    missing = [c for c in columns if c not in df.columns]
    if missing or df.empty:
        raise FigureInputError(f"{path}: {'no rows' if df.empty else 'missing columns ' + ', '.join(missing)}")
    return df


def read_per_image(path: Path) -> pd.DataFrame:
    """evaluate's per_image.csv (one row per test image × model × seed × mode)."""
    return _read_csv(path, PER_IMAGE_COLUMNS)


def read_history(path: Path) -> pd.DataFrame:
    """train's history.csv (see :mod:`colorlib.train`), in epoch order."""
    return _read_csv(path, HISTORY_COLUMNS).sort_values("epoch")


def read_images(path: Path) -> np.ndarray:
    """A predictions_*.npy written by evaluate: uint8 N×H×W×3, N ≥ 1."""
    try:
        with open(path, "rb") as f:
            if f.read(6) != b"\x93NUMPY":  # else numpy blames "pickled data" for any other file
                raise ValueError("no .npy header")
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise FigureInputError(f"{path}: not a readable .npy: {str(err).splitlines()[0]}") from None
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3 or not len(x):
        raise FigureInputError(f"{path}: holds {x.dtype} {x.shape}, expected uint8 N×H×W×3 images")
    return x


def read_test_photos(path: Path) -> pd.DataFrame:
    """The test rows of a manifest.csv, by test index: ``id`` (a bundled crop: ``coffee#2``) and
    ``photo``, the photo it was cut from (its ``file_name``; the id without ``#k`` if none)."""
    df = _read_csv(path, MANIFEST_PHOTO_COLUMNS)
    test = df[df["split"] == "test"].sort_values("index").set_index("index")
    name = test["file_name"].fillna("").astype(str)
    test["photo"] = name.where(name != "", test["id"].astype(str).str.split("#").str[0])
    return test[["id", "photo"]]


def sample_grids(samples_dir: Path) -> list[tuple[int, Path]]:
    """[(epoch, path)] of the ``epoch_XXXX.png`` grids train saved in ``samples_dir``, by epoch."""
    found = []
    for path in samples_dir.glob("epoch_*.png"):
        digits = path.stem.removeprefix("epoch_")
        if digits.isdigit():
            found.append((int(digits), path))
    return sorted(found)


def read_grids(grids: list[tuple[int, Path]]) -> list[tuple[int, np.ndarray]]:
    """The grids of :func:`sample_grids` as uint8 RGB arrays of one shape; an unreadable one, or
    one of another size than the first, is a :class:`FigureInputError` naming it."""
    from PIL import Image

    out = []
    for epoch, path in grids:
        try:
            with Image.open(path) as img:
                array = np.asarray(img.convert("RGB"))
        except (OSError, ValueError) as err:  # UnidentifiedImageError is an OSError
            raise FigureInputError(f"{path}: not a readable image: {str(err).splitlines()[0]}") from None
        if out and array.shape != out[0][1].shape:
            raise FigureInputError(
                f"{path}: {array.shape[1]}×{array.shape[0]} pixels, unlike "
                f"{grids[0][1].name} ({out[0][1].shape[1]}×{out[0][1].shape[0]})"
            )
        out.append((epoch, array))
    return out
