"""The training history: one row per epoch, the data of Figs. 8 and 9 (``history.csv``).

Written by :mod:`colorlib.train`, read by :mod:`colorlib.figures`; the columns are defined here
only.
"""
from __future__ import annotations

import csv
import io
import os

from .files import atomic_write

__all__ = ["HISTORY_COLUMNS", "LOSS_COLUMNS", "write_history"]

# The epoch means of the losses of Eq. 14–19 (names as in losses.DLoss / GLoss).
LOSS_COLUMNS = ("d_real", "d_fake", "d_loss", "g_bce", "g_l1", "g_loss")
# epoch (1-based), phase ("l1" pretraining or "gan"), the losses, and the epoch's speed.
HISTORY_COLUMNS = ("epoch", "phase", *LOSS_COLUMNS, "seconds", "images_per_s")


def write_history(path: str | os.PathLike, rows: list[dict]) -> None:
    """Write ``rows`` (dicts keyed by HISTORY_COLUMNS) to ``path`` as CSV, atomically."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, text.getvalue())
