"""The files figures are drawn from, read and checked: evaluate's per_image.csv and
predictions_*.npy, and train's history.csv.

A file that exists but cannot be used is a :class:`FigureInputError` naming it, in one line.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ColorlibError
from .history import HISTORY_COLUMNS

__all__ = ["FigureInputError", "PER_IMAGE_COLUMNS", "read_per_image", "read_history", "read_images"]

# The columns of evaluate's per_image.csv that the figures read.
PER_IMAGE_COLUMNS = ("model", "generator", "seed", "mode", "image", "l1")


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
    """train's history.csv (see :mod:`colorlib.history`), in epoch order."""
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
