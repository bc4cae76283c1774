"""The paper's figures drawn from data in memory (§4.1, §6), as matplotlib ``Figure`` objects.

Figures use matplotlib's object API (``Figure`` + Agg canvas), so drawing them never changes the
caller's pyplot backend. :mod:`colorlib.figures` reads the result files and saves these.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .files import atomic_write
from .lab import lab_to_rgb, normalize_lab, rgb_to_lab
from .metrics import PAPER_L1
from .names import BASELINES, GENERATORS, display_name

__all__ = ["DPI", "fig5_lab_channels", "fig7_comparison", "fig_losses", "fig_l1_hist", "save_figure", "preview"]

DPI = 120


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(fig, path: str | Path, dpi: int = DPI) -> Path:
    """Render ``fig`` to PNG (Agg) and write it atomically to ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return atomic_write(path, buf.getvalue())


def preview(path: str | Path, width: int = 720) -> bytes:
    """A light JPEG of a saved figure, ``width`` pixels wide, for embedding in a notebook
    (the full-size PNG stays in results/): ``display(Image(data=figures.preview(p)))``."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        if img.width > width:
            img = img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _axis_cmap(axis: int, limit: float, name: str):
    """A colormap showing the true colours along a* (axis 1) or b* (axis 2) at L* = 60."""
    from matplotlib.colors import ListedColormap

    lab = torch.zeros(1, 3, 1, 256)
    lab[:, 0] = 60.0
    lab[0, axis, 0] = torch.linspace(-limit, limit, 256)
    return ListedColormap(lab_to_rgb(lab)[0, :, 0].T.numpy(), name=name)


def fig5_lab_channels(image: np.ndarray):
    """Fig. 5: an RGB photo (uint8 H×W×3), its scaled L*a*b* image and the L*, a*, b* channels."""
    rgb = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255.0
    lab = rgb_to_lab(rgb)[0].numpy()
    scaled = ((normalize_lab(rgb_to_lab(rgb))[0].permute(1, 2, 0).numpy() + 1.0) / 2.0).clip(0, 1)
    limit = float(max(np.percentile(np.abs(lab[1:]), 99.5), 10.0))
    fig = _figure(15, 3.6)
    axes = fig.subplots(1, 5)
    panels = [(image, "Original (sRGB)", None, None), (scaled, "Scaled L*a*b* (as RGB)", None, None),
              (lab[0], "L* (lightness, 0–100)", "gray", (0, 100)),
              (lab[1], "a* (green − / red +)", _axis_cmap(1, limit, "a"), (-limit, limit)),
              (lab[2], "b* (blue − / yellow +)", _axis_cmap(2, limit, "b"), (-limit, limit))]
    for ax, (data, title, cmap, lim) in zip(axes, panels):
        im = ax.imshow(data, cmap=cmap, vmin=lim[0] if lim else None, vmax=lim[1] if lim else None)
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
        if cmap is not None:
            fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle("Fig. 5 — the CIELAB channels of a test image (the networks see L*/50 − 1 and a*, b* / 110)")
    return fig


def fig7_comparison(original: np.ndarray, predictions: dict[str, np.ndarray],
                    l1: dict[str, np.ndarray] | None = None):
    """Fig. 7: one row per test image — original, grayscale (L* only), then each model's output.

    ``original`` uint8 N×H×W×3; ``predictions`` {label: uint8 N×H×W×3}; ``l1`` {label: per-image
    test L1} to print under each prediction.
    """
    n = min([len(original)] + [len(p) for p in predictions.values()])
    if n == 0:
        raise ValueError("fig7_comparison: no images")
    t = torch.from_numpy(np.array(original[:n])).permute(0, 3, 1, 2).float() / 255.0
    lab = rgb_to_lab(t)
    lab[:, 1:] = 0.0
    gray = lab_to_rgb(lab).permute(0, 2, 3, 1).numpy()
    cols = [("Original", original), ("Grayscale (input L*)", gray)] + list(predictions.items())
    fig = _figure(2.4 * len(cols), 2.4 * n + 0.6)
    axes = np.atleast_2d(fig.subplots(n, len(cols), squeeze=False))
    for j, (title, images) in enumerate(cols):
        for i in range(n):
            ax = axes[i, j]
            ax.imshow(images[i])
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title, fontsize=10)
            if l1 and title in l1 and i < len(l1[title]):
                ax.set_xlabel(f"L1 = {l1[title][i]:.4f}", fontsize=8)
    fig.suptitle("Fig. 7 — test images colorized by each generator (eval mode)")
    return fig


def fig_losses(history: pd.DataFrame, generator: str, fig_no: int, test_l1: float | None = None):
    """Figs. 8/9: top, the generator's BCE (Eq. 17) ×0.1 and the discriminator's BCE (Eq. 16) per
    epoch; bottom, the generator's L1 (Eq. 18, ab/110) per epoch, with the paper's test L1 and
    (if given) our test L1 as reference lines. L1-only pretraining epochs are shaded."""
    name = display_name(generator)
    fig = _figure(7.5, 6.0)
    top, bottom = fig.subplots(2, 1, sharex=True)
    e = history["epoch"].to_numpy()
    marker = "o" if len(e) < 30 else None
    top.plot(e, 0.1 * history["g_bce"], marker=marker, label="G: BCE × 0.1 (Eq. 17)")
    top.plot(e, history["d_loss"], marker=marker, label="D: BCE (Eq. 16)")
    bottom.plot(e, history["g_l1"], marker=marker, color="C2", label="G: train L1 (Eq. 18)")
    bottom.axhline(PAPER_L1[generator], ls="--", color="k", lw=1, label=f"paper: test L1 {PAPER_L1[generator]}")
    if test_l1 is not None and np.isfinite(test_l1):
        bottom.axhline(test_l1, ls=":", color="C3", lw=1.5, label=f"ours: test L1 {test_l1:.4f} (eval)")
    pre = history.loc[history["phase"] == "l1", "epoch"]
    for ax in (top, bottom):
        if len(pre):
            ax.axvspan(pre.min() - 0.5, pre.max() + 0.5, color="0.9", label="L1-only pretraining")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    top.set_ylabel("BCE loss")
    top.set_title(f"Fig. {fig_no} — {name} cGAN: adversarial losses per epoch")
    bottom.set_ylabel("L1 loss (ab / 110)")
    bottom.set_xlabel("epoch")
    bottom.set_title(f"{name} generator: L1 loss per epoch")
    return fig


def fig_l1_hist(per_image: pd.DataFrame, seed: int | None = None):
    """Histogram of per-image test L1 for both models (eval mode, run ``seed``; the smallest
    present if None) and both baselines, with each set's mean and the paper's numbers."""
    runs = per_image[(per_image["generator"].fillna("") != "") & (per_image["mode"] == "eval")]
    if seed is None or seed not in set(runs["seed"].dropna()):
        seed = int(runs["seed"].min()) if len(runs) else None
    fig = _figure(8, 4.5)
    ax = fig.subplots()
    evals = per_image[(per_image["seed"] == seed) & (per_image["mode"] == "eval")]
    sets = [(m, (evals if m in GENERATORS else per_image).query("model == @m")["l1"].to_numpy())
            for m in GENERATORS + BASELINES]
    sets = [(m, v) for m, v in sets if len(v)]
    values = np.concatenate([v for _, v in sets])
    bins = np.histogram_bin_edges(values, bins=min(40, max(5, len(values) // 4)))
    for k, (m, v) in enumerate(sets):
        label = display_name(m) + (f" seed {seed}" if m in GENERATORS else "")
        ax.hist(v, bins=bins, histtype="step", lw=1.8, color=f"C{k}", label=f"{label}: mean {v.mean():.4f}")
        ax.axvline(v.mean(), color=f"C{k}", lw=1, ls=":")
    for m, v in PAPER_L1.items():
        ax.axvline(v, color="k", lw=1, ls="--" if m == "unet" else "-.", label=f"paper {display_name(m)}: {v}")
    ax.set_xlabel("per-image test L1 (mean |Δab| / 110)")
    ax.set_ylabel("test images")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Per-image test L1: the models against 'no colour' and the train median")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
