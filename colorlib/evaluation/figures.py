"""The paper's figures rebuilt from what train and evaluate wrote (§4.1, §6, Appendix A).

    paths = make_figures(cfg)          # PNGs and tables in cfg.results_dir
    python -m colorlib figures --profile demo

| file                           | paper           | reads                                                   |
|--------------------------------|-----------------|---------------------------------------------------------|
| fig5_lab_channels.png          | Fig. 5          | results/predictions_original.npy (else data cache)      |
| fig7_comparison.png            | Fig. 7          | results/predictions_*.npy, per_image.csv, manifest.csv  |
| fig7_train.png                 | (ours)          | results/predictions_*-train.npy (first train images)    |
| fig8_resnet_losses.png         | Fig. 8          | runs/<profile>/resnet-seedK/history.csv                 |
| fig9_unet_losses.png           | Fig. 9          | runs/<profile>/unet-seedK/history.csv                   |
| fig_l1_per_image.png           | (ours)          | results/per_image.csv                                   |
| fig_training_{unet,resnet}.png | (ours)          | runs/<profile>/<generator>-seedK/samples/epoch_*.png    |
| tables/fig{10..13,15}.csv/.md  | Figs. 10–13, 15 | the networks themselves (torchinfo)                     |

Fig. 7 shows at most :data:`FIG7_ROWS` of the saved predictions, one per photo where
manifest.csv tells which photo each test image was cut from (the demo's test set holds several
crops of one photo), chosen by a stated rule: evenly spaced ranks of the U-Net's per-image L1,
from the best to the worst (:func:`fig7_rows`); each row says its rank, and the grayscale
column carries the gray baseline's L1 (it is that baseline's prediction).

Nothing flows backwards: no figure retrains or re-evaluates. A figure whose inputs are missing
is skipped with one line printed on stdout. The drawing is :mod:`colorlib.evaluation.plots`, the reading and
checking of the input files :mod:`colorlib.evaluation.figure_inputs`; this module decides which figure comes
from which file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colorlib.config import GENERATORS, display_name, run_name
from colorlib.evaluation.figure_inputs import (
    FigureInputError,
    read_grids,
    read_history,
    read_images,
    read_per_image,
    read_test_photos,
    sample_grids,
)
from colorlib.evaluation.plots import (
    fig5_lab_channels,
    fig7_comparison,
    fig_colour_emerging,
    fig_l1_per_image,
    fig_losses,
    save_figure,
)
from colorlib.evaluation.report import predictions_file
from colorlib.evaluation.tables import write_tables
from colorlib.utils.files import shown
from colorlib.utils.log import log

__all__ = ["fig7_rows", "fig7_rank_label", "make_figures"]

# The loss figures: generator → figure number in the paper (Fig. 8 ResNet, Fig. 9 U-Net).
LOSS_FIGURES = {"resnet": 8, "unet": 9}
FIG7_ROWS = 4  # test images in Fig. 7 at most
MIN_ROWS = 2  # … and at least (if there are as many), even if that repeats a photo


def _photo_name(image_id: str) -> str:
    """A row label's photo: the manifest id without its region and crop number
    ("coffee/test-region#0" → "coffee")."""
    return image_id.split("/")[0].split("#")[0]


def _skip(name: str, reason: str) -> None:
    log(f"figures: skipping {name}: {reason}", problem=True)


def _eval_rows(per_image, generator: str, seed: int):
    """The per-image rows of run (generator, seed) in eval mode."""
    return per_image[(per_image["model"] == generator) & (per_image["seed"] == seed) & (per_image["mode"] == "eval")]


def _eval_rows_baseline(per_image, name: str) -> np.ndarray:
    """A baseline's per-image L1, by test image."""
    rows = per_image[per_image["model"] == name].sort_values("image")
    return rows["l1"].to_numpy()


def fig7_rows(
    n: int, photos: list[str] | None = None, rows: int = FIG7_ROWS, l1: np.ndarray | None = None
) -> list[int]:
    """Which of ``n`` saved test images Fig. 7 shows, in the order drawn.

    With ``l1`` (the U-Net's per-image test L1, eval mode) — **the stated rule**: the candidates
    (one image per photo, its first, where ``photos[i]`` names the photo of test image ``i``;
    else every image) ranked by that L1, and ``rows`` of them at evenly spaced ranks from the
    best to the worst (so best, median-ish and worst, ordinary photos included), best first.
    Fewer than :data:`MIN_ROWS` candidates add more crops of the same photos.

    Without ``l1``: the first image of each photo, up to ``rows`` (more crops of the same photos
    only to reach :data:`MIN_ROWS`); without ``photos`` either, the first ``rows`` images."""
    if photos is None:
        candidates = list(range(n))
    else:
        firsts: dict[str, int] = {}
        for i in range(n):
            firsts.setdefault(photos[i], i)
        candidates = list(firsts.values())
        candidates += [i for i in range(n) if i not in candidates][: max(0, min(rows, MIN_ROWS) - len(candidates))]
    if l1 is None or len(l1) < n:
        return sorted(candidates[:rows])
    ranked = sorted(candidates, key=lambda i: (float(l1[i]), i))
    k = min(rows, len(ranked))
    picks = [ranked[round(j * (len(ranked) - 1) / (k - 1))] for j in range(k)] if k > 1 else ranked[:k]
    return list(dict.fromkeys(picks))


def fig7_rank_label(i: int, rank_order: list[int]) -> str:
    """ "best" / "worst" / "rank r of m" of test image ``i`` among ``rank_order`` (best first)."""
    r, m = rank_order.index(i), len(rank_order)
    return "best" if r == 0 else "worst" if r == m - 1 else f"rank {r + 1} of {m}"


def _photos(out: Path, n_saved: int, n_test: int | None) -> list[tuple[str, str]] | None:
    """[(id, photo)] of the test images from ``out``/manifest.csv, if it describes these results."""
    path = out / "manifest.csv"
    if not path.is_file():
        return None
    try:
        test = read_test_photos(path)
    except FigureInputError as err:
        log(f"figures: fig7_comparison.png without photo names: {err}", problem=True)
        return None
    if len(test) < n_saved or (n_test is not None and len(test) != n_test):
        log(
            f"figures: fig7_comparison.png without photo names: {path} lists {len(test)} test images, "
            f"the evaluation {n_test if n_test is not None else f'at least {n_saved}'}",
            problem=True,
        )
        return None
    return list(zip(test["id"].astype(str), test["photo"]))


def make_figures(cfg) -> list[Path]:
    """Write every figure and table whose inputs exist to ``cfg.results_dir``; return their paths.

    Missing inputs skip a figure with one printed line; an unusable input file raises
    :class:`FigureInputError` after the other figures are written.
    """
    out, seed, made, problems = cfg.results_dir, cfg.seed, [], []

    def attempt(figure: str, reader, *args):  # None if unusable: one line, and go on
        try:
            return reader(*args)
        except FigureInputError as err:
            _skip(figure, str(err))
            problems.append(str(err))
            return None

    def read(path: Path, reader, figure: str):  # None if absent or unusable
        return attempt(figure, reader, path) if path.is_file() else None

    per_image = read(out / "per_image.csv", read_per_image, "fig_l1_per_image.png and the test L1 in Figs. 7–9")
    original = read(out / predictions_file("original"), read_images, "fig7_comparison.png")

    example = original
    if example is None:
        try:
            from colorlib.data.cache import load_images

            example = load_images(cfg, "test")[:1]
        except (ImportError, ValueError) as err:
            _skip("fig5_lab_channels.png", f"no test image: {err}")
    if example is not None and len(example):
        made.append(save_figure(fig5_lab_channels(np.array(example[0])), out / "fig5_lab_channels.png"))

    preds, l1, absent = {}, {}, []
    for gen in GENERATORS:
        path = out / predictions_file(run_name(gen, seed))
        if path.is_file():
            images = read(path, read_images, "fig7_comparison.png")
            if images is None:
                continue
            preds[display_name(gen)] = images
            if per_image is not None:
                l1[display_name(gen)] = _eval_rows(per_image, gen, seed).sort_values("image")["l1"].to_numpy()
        else:
            absent.append(f"figures: fig7_comparison.png without {display_name(gen)}: no {shown(path)}")
    if original is None or not preds:
        _skip("fig7_comparison.png", f"no usable predictions in {shown(out)} (run `python -m colorlib evaluate` first)")
    else:
        for line in absent:
            log(line, problem=True)
        n = min([len(original)] + [len(p) for p in preds.values()])
        n_test = int(per_image["image"].max()) + 1 if per_image is not None else None
        photos = _photos(out, n, n_test)
        names = [photo for _, photo in photos] if photos else None
        unet = l1.get(display_name("unet"))
        unet = unet if unet is not None and len(unet) >= n else None
        rows = fig7_rows(n, names, l1=unet)
        labels = [f"test {i}" + (f": {_photo_name(photos[i][0])}" if photos else "") for i in rows]
        if unet is not None:  # the rule, stated on the figure: rows by the U-Net's L1
            order = sorted(fig7_rows(n, names, rows=n), key=lambda i: (float(unet[i]), i))
            labels = [f"{label}\n({fig7_rank_label(i, order)} by U-Net L1)" for label, i in zip(labels, rows)]
            gray = _eval_rows_baseline(per_image, "gray")
            if len(gray) >= n:  # the grayscale column is the gray baseline's prediction (ab = 0)
                l1["Grayscale (input L*)"] = gray
        fig = fig7_comparison(
            original[rows],
            {k: v[rows] for k, v in preds.items()},
            {k: v[rows] for k, v in l1.items() if len(v) > max(rows)},
            labels,
        )
        made.append(save_figure(fig, out / "fig7_comparison.png"))

    train_original = read(out / predictions_file("original", "train"), read_images, "fig7_train.png")
    train_preds = {
        display_name(g): read(out / predictions_file(run_name(g, seed), "train"), read_images, "fig7_train.png")
        for g in GENERATORS
    }
    train_preds = {k: v for k, v in train_preds.items() if v is not None}
    if train_original is not None and train_preds:
        k = min(FIG7_ROWS, len(train_original), *(len(v) for v in train_preds.values()))
        made.append(
            save_figure(
                fig7_comparison(
                    train_original[:k],
                    {name: v[:k] for name, v in train_preds.items()},
                    None,
                    [f"train {i}" for i in range(k)],
                    title="What the generators learned: training images colorized (eval mode)",
                ),
                out / "fig7_train.png",
            )
        )

    for gen, no in LOSS_FIGURES.items():
        name, hist = f"fig{no}_{gen}_losses.png", cfg.replace(generator=gen, seed=seed).run_dir / "history.csv"
        if not hist.is_file():
            _skip(name, f"no {shown(hist)} (train {gen} seed {seed} first)")
            continue
        history = read(hist, read_history, name)
        if history is None:
            continue
        test = None
        if per_image is not None:
            sel = _eval_rows(per_image, gen, seed)
            test = float(sel["l1"].mean()) if len(sel) else None
        made.append(save_figure(fig_losses(history, gen, no, test), out / name))

    for gen in GENERATORS:
        name, samples = f"fig_training_{gen}.png", cfg.replace(generator=gen, seed=seed).run_dir / "samples"
        found = sample_grids(samples)
        grids = attempt(name, read_grids, found) if found else None
        if not found:
            _skip(name, f"no {shown(samples / 'epoch_*.png')} (train {gen} seed {seed} first)")
        elif grids is not None:
            made.append(save_figure(fig_colour_emerging(grids, gen), out / name))

    if per_image is None and not (out / "per_image.csv").is_file():
        _skip("fig_l1_per_image.png", f"no {shown(out / 'per_image.csv')} (run `python -m colorlib evaluate` first)")
    elif per_image is not None:
        made.append(save_figure(fig_l1_per_image(per_image, seed), out / "fig_l1_per_image.png"))

    made += write_tables(out, cfg.image_size)
    if problems:
        raise FigureInputError(f"{len(problems)} input file(s) unusable: " + "; ".join(problems))
    return made
