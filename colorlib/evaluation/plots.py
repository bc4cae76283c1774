"""The paper's figures drawn from data in memory (§4.1, §6), as matplotlib ``Figure`` objects.

Figures use matplotlib's object API (``Figure`` + Agg canvas), so drawing them never changes the
caller's pyplot backend. :mod:`colorlib.evaluation.figures` reads the result files and saves these. Saved at
:data:`DPI` (150: sharp on a projector) with titles and labels of 10 pt or more.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from colorlib.config import BASELINES, GENERATORS, MODES, display_name
from colorlib.evaluation.metrics import PAPER_L1
from colorlib.lab import lab_to_rgb, normalize_lab, rgb_to_lab
from colorlib.utils.files import atomic_write

__all__ = [
    "DPI",
    "fig5_lab_channels",
    "fig7_comparison",
    "fig_losses",
    "fig_iteration_losses",
    "fig_patch_map",
    "fig_explore",
    "fig_l1_per_image",
    "fig_colour_emerging",
    "emerging_rows",
    "save_figure",
    "png_bytes",
    "smallest_text_px",
    "NOTEBOOK_WIDTH_PX",
    "MIN_TEXT_PX",
    "show",
]

DPI = 150
# The width in CSS pixels of a notebook's output area in JupyterLab 4.6 in a 1366×768 browser
# window (the most common laptop screen) at 100 % zoom, in its default layout (file browser
# open): a wider figure is scaled down to it. Measured on a headless-Chromium screenshot of
# JupyterLab (python -m tools.screenshots): cells span x = 378…1312.
NOTEBOOK_WIDTH_PX = 930
MIN_TEXT_PX = 9  # every title, label and legend at least this tall on screen
TEXT_PX_KEY = "colorlib:smallest-text-px"
PHOTO_PIXELS = 1.5e6  # photo pixels a figure of many photos shows at most (its PNG stays ≲ 3 MB)


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def smallest_text_px(fig, dpi: int = DPI, shown_width: int = NOTEBOOK_WIDTH_PX, drawn: bool = False) -> float:
    """The height in screen pixels of the smallest text drawn in ``fig`` (titles, labels, tick
    labels, legends: font size × dpi / 72) when its PNG at ``dpi`` is shown in a notebook
    ``shown_width`` pixels wide at 100 % zoom (a wider image is scaled down to fit); inf if none.
    ``drawn``: the figure was just rendered (its tick labels and legends laid out) — not again."""
    from matplotlib.text import Text

    if not drawn:
        fig.canvas.draw()
    scale = min(1.0, shown_width / (fig.get_size_inches()[0] * dpi))
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=float("inf")) * dpi / 72 * scale


def png_bytes(fig, dpi: int = DPI) -> bytes:
    """``fig`` rendered to an RGB PNG (Agg; no alpha channel: ~12% smaller), carrying its
    :func:`smallest_text_px` as the text chunk ``colorlib:smallest-text-px`` (tests/test_repo.py
    reads it back from the figures the committed notebooks show)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image, PngImagePlugin

    FigureCanvasAgg(fig)
    rgba = io.BytesIO()
    fig.savefig(rgba, format="png", dpi=dpi, facecolor="white")
    info = PngImagePlugin.PngInfo()
    info.add_text(TEXT_PX_KEY, f"{smallest_text_px(fig, dpi, drawn=True):.1f}")
    buf = io.BytesIO()
    with Image.open(rgba) as img:
        img.convert("RGB").save(buf, format="PNG", dpi=(dpi, dpi), pnginfo=info)
    return buf.getvalue()


def save_figure(fig, path: str | Path, dpi: int = DPI) -> Path:
    """Render ``fig`` to an RGB PNG (:func:`png_bytes`) and write it atomically to ``path``."""
    return atomic_write(path, png_bytes(fig, dpi))


def show(path: str | Path):
    """A saved figure in a notebook, as a Markdown image linking its file in results/ (relative
    to the checkout's ``notebooks/``): the committed notebooks stay light, the figure is shown at
    its full resolution, and no absolute path is written. ``display(plots.show(p))``."""
    import os

    from IPython.display import Markdown

    notebooks = Path(__file__).resolve().parents[2] / "notebooks"
    rel = Path(os.path.relpath(Path(path).resolve(), notebooks)).as_posix()
    return Markdown(f"![{Path(path).stem}]({rel})")


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
    fig = _figure(12, 3.1)  # 1,800 px: shown ≈ half size in a notebook, its text still ≥ 11 px
    axes = fig.subplots(1, 5)
    panels = [
        (image, "Original (sRGB)", None, None),
        (scaled, "Scaled L*a*b* (as RGB)", None, None),
        (lab[0], "L* (lightness, 0–100)", "gray", (0, 100)),
        (lab[1], "a* (green − / red +)", _axis_cmap(1, limit, "a"), (-limit, limit)),
        (lab[2], "b* (blue − / yellow +)", _axis_cmap(2, limit, "b"), (-limit, limit)),
    ]
    for ax, (data, title, cmap, lim) in zip(axes, panels):
        im = ax.imshow(data, cmap=cmap, vmin=lim[0] if lim else None, vmax=lim[1] if lim else None)
        ax.set_title(title, fontsize=11)
        ax.set_axis_off()
        if cmap is not None:
            fig.colorbar(im, ax=ax, shrink=0.8).ax.tick_params(labelsize=11)
    fig.suptitle(
        "Fig. 5 — the CIELAB channels of a test image (the networks see L*/50 − 1 and a*, b* / 110)", fontsize=13
    )
    return fig


def _gray(images: np.ndarray) -> np.ndarray:
    """uint8 N×H×W×3 RGB → float N×H×W×3 in [0, 1]: their L* alone (a* = b* = 0), what the generators see."""
    lab = rgb_to_lab(torch.from_numpy(np.array(images)).permute(0, 3, 1, 2).float() / 255.0)
    lab[:, 1:] = 0.0
    return lab_to_rgb(lab).permute(0, 2, 3, 1).numpy().clip(0, 1)


def _no_ticks(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def fig7_comparison(
    original: np.ndarray,
    predictions: dict[str, np.ndarray],
    l1: dict[str, np.ndarray] | None = None,
    row_labels: list[str] | None = None,
    title: str = "Fig. 7 — test images colorized by each generator (eval mode)",
):
    """Fig. 7: one row per test image — original, grayscale (L* only), then each model's output.

    ``original`` uint8 N×H×W×3; ``predictions`` {label: uint8 N×H×W×3}; ``l1`` {label: per-image
    test L1} to print under each prediction; ``row_labels`` (e.g. the test image's photo) beside
    each row. Every row given is drawn: choose them (:func:`colorlib.evaluation.figures.fig7_rows`) first.
    """
    n = min([len(original)] + [len(p) for p in predictions.values()])
    if n == 0:
        raise ValueError("fig7_comparison: no images")
    cols = [("Original", original), ("Grayscale (input L*)", _gray(original[:n]))] + list(predictions.items())
    panel = 1.8  # inches: ~270 px at 150 dpi, about the networks' 256
    fig = _figure(panel * len(cols) + 0.4, (panel + 0.3) * n + 0.5)
    axes = fig.subplots(n, len(cols), squeeze=False)
    for j, (column, images) in enumerate(cols):
        for i in range(n):
            ax = axes[i, j]
            ax.imshow(images[i])
            _no_ticks(ax)
            if i == 0:
                ax.set_title(column, fontsize=11)
            if j == 0 and row_labels is not None and i < len(row_labels):
                ax.set_ylabel(row_labels[i], fontsize=10)
            if l1 and column in l1 and i < len(l1[column]):
                ax.set_xlabel(f"L1 = {l1[column][i]:.4f}", fontsize=10)
    fig.suptitle(title, fontsize=12)
    return fig


def fig_losses(history: pd.DataFrame, generator: str, fig_no: int, test_l1: float | None = None):
    """Figs. 8/9: top, the generator's BCE (Eq. 17) ×0.1 and the discriminator's BCE (Eq. 16) per
    epoch; bottom, the generator's L1 (Eq. 18, ab/110) per epoch, with the paper's test L1 and
    (if given) our test L1 as reference lines. L1-only pretraining epochs are shaded."""
    from matplotlib.ticker import MaxNLocator

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
        ax.legend(fontsize=10)
    top.set_ylabel("BCE loss")
    top.set_title(f"Fig. {fig_no} — {name} cGAN: adversarial losses per epoch")
    bottom.set_ylabel("L1 loss (ab / 110)")
    bottom.set_xlabel("epoch")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers (shared with top)
    bottom.set_title(f"{name} generator: L1 loss per epoch")
    return fig


def fig_iteration_losses(iterations: pd.DataFrame, generator: str, window: int = 8):
    """The adversarial game per iteration (``iterations.csv``): left, G's BCE (Eq. 17) and D's
    BCE (Eq. 16) each on its own axis, unscaled, so the two curves moving against each other are
    visible; right, the paper's presentation with one BCE scaled by 0.1 on a shared axis. Thin
    lines are the iterations, thick ones a running mean over ``window`` iterations.

    Erratum: the paper is inconsistent about which BCE it scales — §6's text multiplies the
    *discriminator's* BCE by 0.1, the captions of Figs. 8/9 the *generator's*. We follow the
    captions (G × 0.1), as :func:`fig_losses` does."""
    name = display_name(generator)
    fig = _figure(11.0, 4.2)
    own, paper = fig.subplots(1, 2)
    it = iterations["iteration"].to_numpy()

    def smooth(y):
        return pd.Series(np.asarray(y, dtype=float)).rolling(window, min_periods=1).mean()

    for ax, col, colour, label in (
        (own, "g_bce", "C0", "G: BCE (Eq. 17)"),
        (own.twinx(), "d_loss", "C1", "D: BCE (Eq. 16)"),
    ):
        ax.plot(it, iterations[col], color=colour, alpha=0.3, lw=0.8)
        ax.plot(it, smooth(iterations[col]), color=colour, lw=2, label=label)
        ax.set_ylabel(label, color=colour, fontsize=11)
        ax.tick_params(axis="y", colors=colour, labelsize=10)
    own.set_title(f"{name}: G and D, each on its own axis", fontsize=12)
    own.set_xlabel("iteration", fontsize=11)
    own.grid(alpha=0.3)
    paper.plot(it, smooth(0.1 * iterations["g_bce"]), label="G: BCE × 0.1 (Figs. 8/9 captions)")
    paper.plot(it, smooth(iterations["d_loss"]), label="D: BCE")
    paper.set_title("the paper's presentation (one shared axis)", fontsize=12)
    paper.set_xlabel("iteration", fontsize=11)
    paper.set_ylabel("BCE loss", fontsize=11)
    paper.grid(alpha=0.3)
    paper.legend(fontsize=10)
    return fig


def fig_patch_map(panels: list[tuple[str, np.ndarray, np.ndarray]], alpha: float = 0.55):
    """D's patch decisions as a heatmap over each image: ``panels`` is [(title, uint8 H×W×3
    image, D's logits h×w (e.g. 30×30))]. Each logit is shown as D's probability "real"
    (sigmoid) over the region of the image its column/row covers (the map is stretched to the
    image; each unit actually sees a 70×70 patch, so neighbouring units overlap)."""
    fig = _figure(3.6 * len(panels) + 0.8, 3.9)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    im = None
    for ax, (title, image, logits) in zip(axes, panels):
        im, mean = _patch_overlay(ax, image, logits, alpha)
        ax.set_title(f"{title}\nmean P(real) = {mean:.2f}", fontsize=11)
        _no_ticks(ax)
    fig.colorbar(im, ax=list(axes), shrink=0.8).set_label("D: P(real) per patch", fontsize=10)
    return fig


def _patch_overlay(ax, image: np.ndarray, logits: np.ndarray, alpha: float = 0.55):
    """``image`` with D's P(real) = sigmoid(``logits``) over it, each unit stretched over the
    region of the image its row/column covers; returns (the heatmap, for a colorbar; mean P(real))."""
    prob = 1 / (1 + np.exp(-np.asarray(logits, dtype=float)))
    h, w = image.shape[:2]
    ax.imshow(image)
    im = ax.imshow(prob, cmap="RdYlGn", vmin=0, vmax=1, alpha=alpha, extent=(0, w, h, 0), interpolation="nearest")
    return im, prob.mean()


def fig_explore(truth: np.ndarray, rows: list[tuple[int, np.ndarray, np.ndarray]], title: str = ""):
    """One held-out image through training: a row per epoch of ``rows`` [(epoch, G's colours
    uint8 H×W×3 at that epoch, D's logits h×w on them)] — the input's L*, G's colours, D's
    patch map over them (P(real), as :func:`fig_patch_map`) — and the truth (``truth``, uint8
    H×W×3) at the end of each row."""
    if not rows:
        raise ValueError("fig_explore: no epochs")
    fig = _figure(4 * 2.5 + 1.0, 2.75 * len(rows) + (0.45 if title else 0.1))
    axes = fig.subplots(len(rows), 4, squeeze=False)
    gray = _gray(truth[None])[0]
    im = None
    for (epoch, colours, logits), ax in zip(rows, axes):
        ax[0].imshow(gray)
        ax[1].imshow(colours)
        im, mean = _patch_overlay(ax[2], colours, logits)
        ax[3].imshow(truth)
        titles = ("input (L*)", f"G after epoch {epoch}", f"D: mean P(real) = {mean:.2f}", "truth")
        for a, text in zip(ax, titles):
            a.set_title(text, fontsize=11)
            _no_ticks(a)
    fig.colorbar(im, ax=list(axes[:, 2]), shrink=0.8).set_label("D: P(real) per patch", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def _pick_seed(per_image: pd.DataFrame, seed: int | None) -> int | None:
    """``seed`` if a run of it is in ``per_image``, else the smallest seed present (None: no runs)."""
    seeds = set(per_image.loc[per_image["generator"].fillna("") != "", "seed"].dropna())
    if seed is None or seed not in seeds:
        return int(min(seeds)) if seeds else None
    return seed


def fig_l1_per_image(per_image: pd.DataFrame, seed: int | None = None):
    """Per-image test L1 of each model × mode of run ``seed`` (the smallest present if None) as a
    box plot with every image a jittered dot (fainter the more images: readable for 8 or 2,000),
    against the two baselines' mean L1 and the paper's numbers (horizontal lines)."""
    seed = _pick_seed(per_image, seed)
    runs = per_image[(per_image["seed"] == seed)] if seed is not None else per_image.iloc[:0]
    sets = [
        (g, mode, runs[(runs["model"] == g) & (runs["mode"] == mode)]["l1"].to_numpy())
        for g in GENERATORS
        for mode in MODES
    ]
    sets = [s for s in sets if len(s[2])]
    fig = _figure(9, 5.2)
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    for k, (gen, _mode, v) in enumerate(sets):
        color = f"C{GENERATORS.index(gen)}"
        ax.boxplot(
            v,
            positions=[k],
            widths=0.55,
            showfliers=False,
            medianprops={"color": "k"},
            boxprops={"color": color},
            whiskerprops={"color": color},
            capprops={"color": color},
        )
        alpha = float(np.clip(3.0 / np.sqrt(len(v)), 0.08, 0.8))
        ax.scatter(
            k + rng.uniform(-0.2, 0.2, len(v)),
            v,
            s=22 if len(v) < 200 else 7,
            alpha=alpha,
            color=color,
            edgecolors="none",
            zorder=3,
        )
        ax.scatter(
            [k],
            [v.mean()],
            marker="D",
            s=40,
            color="white",
            edgecolors="k",
            zorder=4,
            label="mean of a model" if k == 0 else None,
        )
    for m, ls in zip(BASELINES, (":", "-.")):
        v = per_image.loc[per_image["model"] == m, "l1"].to_numpy()
        if len(v):
            ax.axhline(v.mean(), color="0.35", lw=1.5, ls=ls, label=f"{display_name(m)}: mean {v.mean():.4f}")
    for m, v in PAPER_L1.items():
        ax.axhline(v, color=f"C{GENERATORS.index(m)}", lw=1.2, ls="--", label=f"paper {display_name(m)}: {v}")
    ax.set_xticks(
        range(len(sets)), [f"{display_name(g)} [{mode}]\nmean {v.mean():.4f}" for g, mode, v in sets], fontsize=10
    )
    ax.set_xlim(-0.6, max(len(sets), 1) - 0.4)
    ax.set_ylabel("per-image test L1 (mean |Δab| / 110)", fontsize=10)
    n = max((len(v) for _, _, v in sets), default=0)
    ax.set_title(f"Per-image test L1: {n} test images, run seed {seed} (lower is better)", fontsize=11)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3, axis="y")
    return fig


def emerging_rows(epochs: list[int], rows: int = 5) -> list[int]:
    """At most ``rows`` of ``epochs`` (sorted), evenly spaced, always the first and the last."""
    epochs = sorted(epochs)
    picks = np.linspace(0, len(epochs) - 1, min(rows, len(epochs))).round().astype(int)
    return [epochs[i] for i in dict.fromkeys(picks)]


def fig_colour_emerging(grids: list[tuple[int, np.ndarray]], generator: str, rows: int = 5):
    """Colour emerging over training: the same held-out images (each grid: one row of K tiles,
    uint8 H×W×3) colorized by the generator after the epochs of ``grids``; at most ``rows`` epochs
    (evenly spaced, first and last always), under a first row of the inputs' L* (from the first grid)."""
    if not grids:
        raise ValueError("fig_colour_emerging: no grids")
    by_epoch = dict(sorted(grids, key=lambda g: g[0]))
    shapes = {np.shape(g) for g in by_epoch.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise ValueError(f"fig_colour_emerging: the grids differ in shape or are not H×W×3 images: {sorted(shapes)}")
    first = by_epoch[min(by_epoch)]
    shown = [("input (L*)", _gray(first[None])[0])]
    shown += [(f"epoch {e}", by_epoch[e]) for e in emerging_rows(list(by_epoch), rows)]
    h, w = first.shape[:2]
    tiles = max(1, round(w / h))
    tile = min(1.6, 10.0 / tiles, np.sqrt(PHOTO_PIXELS / (len(shown) * tiles)) / DPI)  # inches
    fig = _figure(tile * tiles + 0.9, tile * tiles * h / w * len(shown) + 0.5)
    for ax, (label, image) in zip(fig.subplots(len(shown), 1, squeeze=False)[:, 0], shown):
        ax.imshow(image)
        _no_ticks(ax)
        ax.set_ylabel(label, fontsize=10)
    fig.suptitle(f"Colour emerging over training — {display_name(generator)}: the same held-out images", fontsize=12)
    return fig
