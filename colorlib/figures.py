"""The paper's figures rebuilt from what train and evaluate wrote (§4.1, §6, Appendix A).

    paths = make_figures(cfg)          # PNGs and tables in cfg.results_dir
    python -m colorlib figures --profile demo

| file                          | paper            | reads                                              |
|-------------------------------|------------------|----------------------------------------------------|
| fig5_lab_channels.png         | Fig. 5           | results/predictions_original.npy (else data cache) |
| fig7_comparison.png           | Fig. 7           | results/predictions_{original,unet-seedK,resnet-seedK}.npy, per_image.csv |
| fig8_resnet_losses.png        | Fig. 8           | runs/<profile>/resnet-seedK/history.csv            |
| fig9_unet_losses.png          | Fig. 9           | runs/<profile>/unet-seedK/history.csv              |
| fig_l1_hist.png               | (ours)           | results/per_image.csv                              |
| tables/fig{10..13,15}.csv/.md | Figs. 10–13, 15  | the networks themselves (torchinfo)                |

Nothing flows backwards: no figure retrains or re-evaluates. A figure whose inputs are missing
is skipped with one printed line. The drawing is :mod:`colorlib.plots`, the reading and checking
of the input files :mod:`colorlib.figure_inputs`; this module decides which figure comes from which file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .figure_inputs import FigureInputError, read_history, read_images, read_per_image
from .names import GENERATORS, display_name, run_name
from .plots import fig5_lab_channels, fig7_comparison, fig_l1_hist, fig_losses, preview, save_figure
from .report import predictions_file
from .tables import write_tables  # Figs. 10–15 as files (re-exported: part of this module's API)

__all__ = ["fig5_lab_channels", "fig7_comparison", "fig_losses", "fig_l1_hist", "write_tables",
           "save_figure", "preview", "make_figures", "FigureInputError", "main"]

# The loss figures: generator → figure number in the paper (Fig. 8 ResNet, Fig. 9 U-Net).
LOSS_FIGURES = {"resnet": 8, "unet": 9}


def _skip(name: str, reason: str) -> None:
    print(f"figures: skipping {name}: {reason}", file=sys.stderr)


def _eval_rows(per_image, generator: str, seed: int):
    """The per-image rows of run (generator, seed) in eval mode."""
    return per_image[(per_image["model"] == generator) & (per_image["seed"] == seed) & (per_image["mode"] == "eval")]


def make_figures(cfg) -> list[Path]:
    """Write every figure and table whose inputs exist to ``cfg.results_dir``; return their paths.

    Missing inputs skip a figure with one printed line; an unusable input file raises
    :class:`FigureInputError` after the other figures are written.
    """
    out, seed, made, problems = cfg.results_dir, cfg.seed, [], []

    def read(path: Path, reader, figure: str):  # None if absent; if unusable, one line and go on
        if not path.is_file():
            return None
        try:
            return reader(path)
        except FigureInputError as err:
            _skip(figure, str(err))
            problems.append(str(err))
            return None

    per_image = read(out / "per_image.csv", read_per_image,
                     "fig_l1_hist.png and the test L1 in Figs. 7–9")
    original = read(out / predictions_file("original"), read_images, "fig7_comparison.png")

    example = original
    if example is None:
        try:
            from .data import load_images
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
            absent.append(f"figures: fig7_comparison.png without {display_name(gen)}: no {path}")
    if original is None or not preds:
        _skip("fig7_comparison.png", f"no usable predictions in {out} (run `python -m colorlib evaluate` first)")
    else:
        for line in absent:
            print(line, file=sys.stderr)
        made.append(save_figure(fig7_comparison(original, preds, l1), out / "fig7_comparison.png",
                                dpi=80))  # 4×N photo panels: ~190 px each keeps the PNG ~2 MB

    for gen, no in LOSS_FIGURES.items():
        name, hist = f"fig{no}_{gen}_losses.png", cfg.replace(generator=gen, seed=seed).run_dir / "history.csv"
        if not hist.is_file():
            _skip(name, f"no {hist} (train {gen} seed {seed} first)")
            continue
        history = read(hist, read_history, name)
        if history is None:
            continue
        test = None
        if per_image is not None:
            sel = _eval_rows(per_image, gen, seed)
            test = float(sel["l1"].mean()) if len(sel) else None
        made.append(save_figure(fig_losses(history, gen, no, test), out / name))

    if per_image is None and not (out / "per_image.csv").is_file():
        _skip("fig_l1_hist.png", f"no {out / 'per_image.csv'} (run `python -m colorlib evaluate` first)")
    elif per_image is not None:
        made.append(save_figure(fig_l1_hist(per_image, seed), out / "fig_l1_hist.png"))

    made += write_tables(out, cfg.image_size)
    if problems:
        raise FigureInputError(f"{len(problems)} input file(s) unusable: " + "; ".join(problems))
    return made


def main(argv: list[str] | None = None) -> int:
    """``python -m colorlib figures [--profile P] [--set k=v]``.

    An unusable input file (:class:`FigureInputError`) propagates to the command line, which
    prints it as one line."""
    from .config import add_config_args, config_from_args

    parser = argparse.ArgumentParser(prog="python -m colorlib figures", description=__doc__.split("\n\n")[0])
    add_config_args(parser)
    args = parser.parse_args(argv)
    for p in make_figures(config_from_args(args)):
        print(p)
    return 0
