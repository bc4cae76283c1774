"""Notebook 2's explorer: a held-out image at an epoch of training — its grayscale input, the
generator's colours after that epoch (as the run's sample grids saved them,
``samples/epoch_XXXX.png``), the trained discriminator's 30×30 patch map over those colours, and
the truth.

In JupyterLab (ipywidgets installed) two controls pick the image and the epoch and the figure is
redrawn; under papermill and nbval (the Makefile sets ``COLORLIB_STATIC=1``), or without
ipywidgets, it is one static figure of a few epochs, saved to ``results/`` and shown as a link.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from colorlib.evaluation import plots
from colorlib.evaluation.figure_inputs import FigureInputError, read_grids, sample_grids
from colorlib.lab import join_lab, lab_from_uint8
from colorlib.utils.files import shown

__all__ = ["STATIC_ENV", "interactive", "epoch_tiles", "patch_logits", "draw", "explore"]

STATIC_ENV = "COLORLIB_STATIC"  # set (to anything but "" or "0"): never widgets, a static figure


def interactive() -> bool:
    """Whether to show widgets: ipywidgets is installed, this is an IPython kernel, and
    ``COLORLIB_STATIC`` is not set (papermill and nbval have no frontend to draw widgets)."""
    if os.environ.get(STATIC_ENV, "") not in ("", "0") or importlib.util.find_spec("ipywidgets") is None:
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def epoch_tiles(run_dir: str | Path) -> dict[int, np.ndarray]:
    """{epoch: its sample grid cut into its K held-out images, uint8 K×S×S×3} of a run."""
    samples = Path(run_dir) / "samples"
    grids = read_grids(sample_grids(samples))
    if not grids:
        raise FigureInputError(f"no {shown(samples / 'epoch_*.png')}: train the run with sample_every > 0 first")
    h, w = grids[0][1].shape[:2]
    if w % h:
        raise FigureInputError(f"{shown(samples)}: grids of {w}×{h} pixels are not a row of square images")
    return {epoch: np.stack(np.split(grid, w // h, axis=1)) for epoch, grid in grids}


@torch.no_grad()
def patch_logits(D: nn.Module, images: np.ndarray) -> np.ndarray:
    """D's logits (N×h×w, e.g. 30×30 for 256×256) for uint8 N×S×S×3 RGB images, in D's mode."""
    L, ab = lab_from_uint8(torch.from_numpy(np.ascontiguousarray(images)))
    device = next(D.parameters()).device
    return D(join_lab(L, ab).to(device))[:, 0].float().cpu().numpy()


def draw(tiles: dict[int, np.ndarray], truth: np.ndarray, D: nn.Module, image: int, epochs: list[int], title=""):
    """The figure of held-out image ``image`` (index into ``truth``, uint8 N×S×S×3) after each of
    ``epochs`` (keys of :func:`epoch_tiles`), with D's patch map on G's colours."""
    colours = np.stack([tiles[e][image] for e in epochs])
    rows = list(zip(epochs, colours, patch_logits(D, colours)))
    return plots.fig_explore(truth[image], rows, title)


def explore(run_dir: str | Path, D: nn.Module, truth: np.ndarray, path: str | Path, names: list[str] | None = None):
    """Widgets (image, epoch) redrawing :func:`draw` when :func:`interactive`; otherwise the first
    image after three epochs (first, middle, last), saved to ``path``, as a Markdown link."""
    tiles = epoch_tiles(run_dir)
    epochs = sorted(tiles)
    n = min(len(truth), len(tiles[epochs[0]]))
    if n == 0:
        raise FigureInputError(f"explore: no held-out images to show for {shown(run_dir)}")
    names = [names[i] if names and i < len(names) else f"held-out image {i + 1}" for i in range(n)]
    if not interactive():
        fig = draw(tiles, truth, D, 0, plots.emerging_rows(epochs, 3), title=f"{names[0]} during training")
        return plots.show(plots.save_figure(fig, path))
    import ipywidgets as widgets
    from IPython.display import Image

    def redraw(image: int, epoch: int) -> Image:  # interactive displays what it returns
        return Image(data=plots.png_bytes(draw(tiles, truth, D, image, [epoch], title=names[image]), dpi=100))

    return widgets.interactive(
        redraw,
        image=widgets.Dropdown(options=[(name, i) for i, name in enumerate(names)], value=0, description="image"),
        epoch=widgets.SelectionSlider(options=epochs, value=epochs[-1], description="epoch"),
    )
