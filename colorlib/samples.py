"""Watching a run train: sample grids of fixed held-out images, and TensorBoard when installed.

Every ``cfg.sample_every`` epochs and at the end, training colorizes the first
``SAMPLE_IMAGES`` test images (always the same ones, never trained on) with the current
generator in eval mode and saves them side by side as ``<run_dir>/samples/epoch_XXXX.png``
(one row of 256×256 images, no labels). :func:`colorlib.plots.fig_colour_emerging` stacks these
rows into "colour emerging over training". With the optional ``tensorboard`` package
(``pip install -e '.[tensorboard]'``), the per-epoch losses and the same grids also go to
``<run_dir>/tensorboard/``: ``make tensorboard`` shows every run under ``runs/``.
"""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .files import atomic_write
from .lab import lab_from_uint8, uint8_from_lab

__all__ = ["SAMPLE_IMAGES", "sample_path", "sample_images", "save_samples", "Watch"]

SAMPLE_IMAGES = 6  # held-out images per grid


def sample_path(run_dir: Path, epoch: int) -> Path:
    """Where the grid of ``epoch`` (1-based) goes."""
    return Path(run_dir) / "samples" / f"epoch_{epoch:04d}.png"


def sample_images(cfg) -> np.ndarray | None:
    """The fixed held-out images of the grids: the first SAMPLE_IMAGES of the test split (uint8
    N×S×S×3), or None when the profile has no test images."""
    from .data import load_images

    test = load_images(cfg, "test")
    return np.array(test[:SAMPLE_IMAGES]) if len(test) else None


@torch.no_grad()
def save_samples(G: nn.Module, L: torch.Tensor, path: Path) -> np.ndarray:
    """Colorize the held-out images' normalized L (N×1×S×S, on G's device) with ``G`` in eval
    mode (restoring its mode) and write them side by side to ``path`` as PNG; returns the grid
    (uint8 S×(N·S)×3)."""
    from PIL import Image

    was_training = G.training
    G.eval()
    try:
        rgb = uint8_from_lab(L, G(L).float()).cpu().numpy()
    finally:
        G.train(was_training)
    grid = np.concatenate(list(rgb), axis=1)
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    atomic_write(path, buffer.getvalue())
    return grid


class Watch:
    """After each epoch (rank 0 only): the losses to TensorBoard, if its package is installed,
    and every ``cfg.sample_every`` epochs and at the last one a sample grid (file and TensorBoard)."""

    def __init__(self, cfg, device: torch.device, total_epochs: int):
        self.run_dir, self.total, self.every = cfg.run_dir, total_epochs, cfg.sample_every
        images = sample_images(cfg) if self.every else None
        # converted once per run, not per grid
        self.L = None if images is None else lab_from_uint8(torch.from_numpy(images).to(device))[0]
        self.writer = None
        if importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(Path(self.run_dir) / "tensorboard"))

    def after_epoch(self, G: nn.Module, row: dict, iteration: int) -> None:
        epoch = row["epoch"]
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("epoch", "phase") and np.isfinite(value):
                    self.writer.add_scalar(f"{'loss' if key[:2] in ('d_', 'g_') else 'speed'}/{key}", value, iteration)
        if self.L is not None and (epoch % self.every == 0 or epoch == self.total):
            grid = save_samples(G, self.L, sample_path(self.run_dir, epoch))
            if self.writer is not None:
                self.writer.add_image("held-out samples", grid, iteration, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
