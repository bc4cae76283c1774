"""Evaluation on the test set: the paper's L1 against honest baselines, and the field's metrics (§6).

    df = evaluate(cfg)                      # unet + resnet, seed cfg.seed, modes eval + dropout
    python -m colorlib evaluate --profile demo --seeds 0 1 2

For every trained run ``runs/<profile>/<generator>-seed<k>/checkpoint.pt`` and each mode —
``eval`` (``model.eval()``: BatchNorm running statistics, dropout off) and ``dropout`` (the
paper's §4.2 / pix2pix choice: the decoder's dropout stays on at test time; BatchNorm still uses
its running statistics) — and for two baselines computed the same way (``gray``: ab = 0, i.e.
"no colour"; ``train-median``: the train set's per-channel median ab for every pixel), it scores
each test image (see :mod:`colorlib.metrics`):

- ``l1``: the paper's metric — mean |ab_pred − ab_true| over both channels and all pixels of the
  image, in normalized units (ab/110); the table's ``l1`` is its mean over images, ``l1_pixel``
  the pixel-weighted mean over the set (the same number at a fixed image size: both are shown);
- ``psnr``, ``ssim`` on RGB in [0, 1] rebuilt from the true L and the predicted ab;
- ``cf_pred``, ``cf_true``, ``dcf`` = |cf_pred − cf_true|: Hasler–Süsstrunk colorfulness;
- ``lpips`` per image and ``fid`` per set, only where their weights are already on disk.

Written to ``cfg.results_dir`` (see :mod:`colorlib.report` for the tables): ``per_image.csv``,
``metrics.csv``, ``metrics.md``, ``comparison.md``, ``predictions_<generator>-seed<k>.npy`` (uint8
RGB of the first ``n_predictions`` test images, eval mode) and ``predictions_original.npy``.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import metrics
from .lab import denormalize_lab, join_lab, lab_from_uint8, lab_to_rgb

__all__ = ["MODES", "BASELINES", "evaluate", "evaluate_arrays", "predict_ab", "train_median_ab",
           "score_batch", "find_runs", "split_mismatches", "main"]

MODES = ("eval", "dropout")
BASELINES = ("gray", "train-median")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _mode(model: nn.Module, mode: str, seed: int):
    """``eval``: model.eval(). ``dropout``: eval, but every Dropout layer active (§4.2), with the
    global RNG seeded by ``seed`` inside and restored afterwards, so the numbers are reproducible."""
    if mode not in MODES:
        raise ValueError(f"unknown evaluation mode {mode!r}; choose one of {', '.join(MODES)}")
    was_training = model.training
    model.eval()
    where = next(model.parameters()).device
    devices = [where.index if where.index is not None else torch.cuda.current_device()] if where.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            if mode == "dropout":
                for m in model.modules():
                    if isinstance(m, nn.Dropout):
                        m.train()
            yield model
    finally:
        model.train(was_training)


def has_dropout(model: nn.Module) -> bool:
    """Whether ``dropout`` mode can differ from ``eval`` (the ResNet generator has no Dropout)."""
    return any(isinstance(m, nn.Dropout) for m in model.modules())


@torch.inference_mode()
def predict_ab(model: nn.Module, L: torch.Tensor) -> torch.Tensor:
    """Normalized ab (N×2×H×W, float32) for normalized L (N×1×H×W) in the model's current mode."""
    return model(L).float()


def train_median_ab(train_images: np.ndarray, max_pixels: int = 2_000_000, batch_size: int = 16) -> torch.Tensor:
    """The train set's per-channel median of normalized (a, b), shape (2,); uint8 N×H×W×3 in.

    Exact when the set has at most ``max_pixels`` pixels. A larger set (8,000×256² = 524 M
    pixels) is subsampled on a regular pixel grid of stride s, the same in every image, chosen so
    that about ``max_pixels`` pixels remain — every image contributes, since pixels of one photo
    are correlated and photos are not (beyond ``max_pixels`` images, evenly spaced images, one
    pixel each).
    """
    n, h, w = train_images.shape[:3]
    if n == 0:
        raise ValueError("train_median_ab: the train set is empty")
    step = max(1, math.ceil(math.sqrt(n * h * w / max_pixels)))
    idx = np.arange(n)
    if step > min(h, w):
        step, idx = max(h, w), np.unique(np.linspace(0, n - 1, max_pixels).round().astype(int))
    chunks = []
    for i in range(0, len(idx), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(train_images[idx[i:i + batch_size], ::step, ::step]))
        _, ab = lab_from_uint8(batch)  # per pixel: converting the grid = the grid of the conversion
        chunks.append(ab.permute(1, 0, 2, 3).reshape(2, -1))
    return torch.cat(chunks, dim=1).median(dim=1).values


def score_batch(true_rgb: np.ndarray, L: torch.Tensor, ab_true: torch.Tensor, ab_pred: torch.Tensor,
                lpips_net: nn.Module | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-image metrics of one batch, and the predicted uint8 RGB (N×H×W×3).

    ``true_rgb`` uint8 N×H×W×3; L, ab tensors normalized (N×1×H×W, N×2×H×W) on one device.
    """
    rgb_t = lab_to_rgb(denormalize_lab(join_lab(L, ab_pred))).permute(0, 2, 3, 1)
    rgb = rgb_t.cpu().numpy()
    pred_u8 = rgb_t.mul(255.0).round_().to(torch.uint8).cpu().numpy()  # as lab.uint8_from_lab, once
    cf_pred, cf_true = metrics.colorfulness(rgb), metrics.colorfulness(true_rgb)
    out = {"pixels": np.full(len(true_rgb), L.shape[-2] * L.shape[-1]),
           "l1": metrics.ab_l1(ab_pred, ab_true), "psnr": metrics.psnr(rgb, true_rgb),
           "ssim": metrics.ssim(rgb, true_rgb), "cf_pred": cf_pred, "cf_true": cf_true,
           "dcf": np.abs(cf_pred - cf_true)}
    if lpips_net is not None:
        out["lpips"] = metrics.lpips_distance(pred_u8, true_rgb, lpips_net, str(L.device))
    return out, pred_u8


def _progress(total: int, desc: str, progress: bool | None):
    show = sys.stderr.isatty() if progress is None else progress
    if show:
        from tqdm.auto import tqdm
        return tqdm(total=total, desc=desc, unit="img", leave=False)
    return None


def evaluate_arrays(test_images: np.ndarray, models: dict[tuple[str, int], nn.Module],
                    median_ab: torch.Tensor | None = None, modes: Iterable[str] = MODES,
                    device: str = "cpu", batch_size: int = 8, n_predictions: int = 8,
                    progress: bool | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Score ``models`` ({(generator, seed): generator network}) and the baselines on ``test_images``.

    ``test_images`` uint8 N×H×W×3; ``median_ab`` (2,) from :func:`train_median_ab` (the
    train-median baseline is left out if None). Returns (per-image DataFrame, per-set DataFrame
    with FID and skip reasons, {"<generator>-seed<k>": uint8 predictions of the first
    ``n_predictions`` images in eval mode, "original": those images}).
    """
    modes = tuple(modes)
    n = len(test_images)
    if n == 0:
        raise ValueError("evaluate: the test set is empty")
    lpips_reason, fid_reason = metrics.lpips_unavailable(), metrics.fid_unavailable()
    if fid_reason is None and n < 2:
        fid_reason = "FID needs at least 2 test images"
    lp_net = metrics.lpips_net(device) if lpips_reason is None else None
    inc_net = metrics._inception(device) if fid_reason is None else None
    for name, reason in (("LPIPS", lpips_reason), ("FID", fid_reason)):
        if reason:
            _log(f"evaluate: {name} skipped: {reason}")

    # (model, generator, seed, mode, predictor); a predictor maps L → ab on the device
    jobs: list[tuple[str, str, object, str, Callable | tuple, str]] = [
        ("gray", "", pd.NA, "-", lambda L: torch.zeros(L.shape[0], 2, *L.shape[2:], device=L.device), "ab = 0")]
    if median_ab is not None:
        m = median_ab.to(device).view(1, 2, 1, 1)
        jobs.append(("train-median", "", pd.NA, "-", lambda L: m.expand(L.shape[0], 2, *L.shape[2:]),
                     f"ab = ({median_ab[0]:.4f}, {median_ab[1]:.4f})"))
    for (gen, seed), model in models.items():
        model.to(device)
        for mode in sorted(modes, key=lambda m: m != "eval"):  # eval first: dropout may reuse it
            note = "" if mode == "eval" or has_dropout(model) else "no Dropout layers: same as eval"
            jobs.append((gen, gen, seed, mode, (model, mode, seed), note))

    true_feats = (np.concatenate([metrics.inception_features(test_images[i:i + 64], inc_net, device)
                                  for i in range(0, n, 64)]) if inc_net is not None else None)
    rows, sets, preds = [], [], {"original": np.array(test_images[:n_predictions])}
    done: dict[tuple, tuple[list, float]] = {}  # (gen, seed) → eval-mode rows, fid
    for name, gen, seed, mode, predictor, note in jobs:
        if note.startswith("no Dropout") and (gen, seed) in done:  # deterministic: reuse eval
            eval_rows, fid = done[(gen, seed)]
            rows += [r.assign(mode=mode) for r in eval_rows]
            sets.append({"model": name, "generator": gen, "seed": seed, "mode": mode, "fid": fid,
                         "note": note + " (eval-mode scores reused)"})
            continue
        t0, feats, keep, first = time.perf_counter(), [], [], len(rows)
        bar = _progress(n, f"{name} {'' if seed is pd.NA else f'seed{seed} '}{mode}", progress)
        ctx = _mode(*predictor) if isinstance(predictor, tuple) else contextlib.nullcontext()
        with ctx:
            for i in range(0, n, batch_size):
                true_rgb = np.array(test_images[i:i + batch_size])  # a writable copy of a memmap slice
                L, ab_true = lab_from_uint8(torch.from_numpy(true_rgb).to(device))
                ab = predict_ab(predictor[0], L) if isinstance(predictor, tuple) else predictor(L)
                scores, pred_u8 = score_batch(true_rgb, L, ab_true, ab, lp_net)
                rows.append(pd.DataFrame({"model": name, "generator": gen, "seed": seed, "mode": mode,
                                          "image": np.arange(i, i + len(true_rgb)), **scores}))
                if inc_net is not None:
                    feats.append(metrics.inception_features(pred_u8, inc_net, device))
                if mode == "eval" and gen and i < n_predictions:
                    keep.append(pred_u8[:n_predictions - i])
                if bar is not None:
                    bar.update(len(true_rgb))
        if bar is not None:
            bar.close()
        if keep:
            preds[f"{gen}-seed{seed}"] = np.concatenate(keep)
        fid = metrics.fid_from_features(true_feats, np.concatenate(feats)) if feats else np.nan
        sets.append({"model": name, "generator": gen, "seed": seed, "mode": mode, "fid": fid, "note": note})
        if gen and mode == "eval":
            done[(gen, seed)] = (rows[first:], fid)
        _log(f"evaluate: {name}{'' if seed is pd.NA else f' seed {seed}'} [{mode}] {n} images "
             f"in {time.perf_counter() - t0:.1f} s")
    per_image = pd.concat(rows, ignore_index=True)
    per_image["seed"] = per_image["seed"].astype("Int64")
    set_df = pd.DataFrame(sets).astype({"seed": "Int64"})
    set_df.attrs["skipped"] = {k: v for k, v in (("lpips", lpips_reason), ("fid", fid_reason)) if v}
    return per_image, set_df, preds


def find_runs(cfg, generators: Iterable[str], seeds: Iterable[int]) -> dict[tuple[str, int], object]:
    """{(generator, seed): checkpoint path} of the runs that exist; one printed line per missing
    run; a clear error if none exists."""
    found, looked = {}, []
    for gen in generators:
        for seed in seeds:
            path = cfg.replace(generator=gen, seed=int(seed)).run_dir / "checkpoint.pt"
            looked.append(str(path))
            if path.is_file():
                found[(gen, int(seed))] = path
            else:
                _log(f"evaluate: skipping {gen} seed {seed}: no checkpoint at {path}")
    if not found:
        raise FileNotFoundError(f"no trained run to evaluate (looked for {', '.join(looked)}); "
                                f"run `python -m colorlib train --profile {cfg.profile}` first")
    return found


def evaluate(cfg, generators: Iterable[str] = ("unet", "resnet"), seeds: Iterable[int] | None = None,
             modes: Iterable[str] = MODES, n_predictions: int = 8, progress: bool | None = None) -> pd.DataFrame:
    """Evaluate every existing run of ``generators`` × ``seeds`` on the profile's test set, write
    the files listed in the module docstring to ``cfg.results_dir`` and return the metrics table.

    A run whose checkpoint cannot be used is skipped with one printed line; the others are
    evaluated and written, then :class:`~colorlib.checkpoint.CheckpointError` names the bad files."""
    from .checkpoint import CheckpointError, load_generator
    from .data import load_images
    from .report import write_results

    seeds = (cfg.seed,) if seeds is None else tuple(seeds)
    runs = find_runs(cfg, generators, seeds)
    device = cfg.resolve_device()
    loaded, unusable = {}, []
    for (gen, seed), path in runs.items():  # an unusable checkpoint skips its run, not the others
        try:
            loaded[(gen, seed)] = load_generator(path, expect=gen, device=device)
        except CheckpointError as err:
            _log(f"evaluate: skipping {gen} seed {seed}: {err}")
            unusable.append(str(err))
    if not loaded:
        raise CheckpointError(f"no usable run to evaluate: {'; '.join(unusable)}")
    test_images = load_images(cfg, "test")
    median_ab = train_median_ab(load_images(cfg, "train"))
    per_image, set_df, preds = evaluate_arrays(test_images, {k: m for k, (m, _) in loaded.items()}, median_ab,
                                               modes, device, cfg.batch_size, n_predictions, progress)
    notes = split_mismatches(cfg, {k: c for k, (_, c) in loaded.items()})
    for key, (_, ckpt) in loaded.items():  # say plainly when a ResNet encoder was not ImageNet's (§4.2)
        if str(ckpt.get("encoder_init", "")).startswith("random"):
            text = f"its ResNet encoder started from {ckpt['encoder_init']}, NOT the paper's ImageNet weights"
            notes[key] = f"{notes[key]}; {text}" if key in notes else text
    for (gen, seed), text in notes.items():
        _log(f"evaluate: warning: {gen} seed {seed} {text}")
        sel = (set_df["generator"] == gen) & (set_df["seed"] == seed)
        set_df.loc[sel, "note"] = [f"{n}; {text}" if n else text for n in set_df.loc[sel, "note"]]
    summary = write_results(cfg.results_dir, per_image, set_df, preds)
    if unusable:
        raise CheckpointError(f"{len(unusable)} run(s) unusable (the others were evaluated and written): "
                              + "; ".join(unusable))
    return summary


def split_mismatches(cfg, checkpoints: dict[tuple[str, int], dict]) -> dict[tuple[str, int], str]:
    """Runs trained on another data cache than the one evaluated (e.g. a seed-dependent split):
    {(generator, seed): what differs}. Their training images may be among these test images."""
    from .config import Config
    from .data.cache import cache_key

    want, out = cache_key(cfg), {}
    for key, ckpt in checkpoints.items():
        if not isinstance(ckpt.get("config"), dict):
            continue
        have = cache_key(Config.from_dict(ckpt["config"]))
        diff = ", ".join(f"{k}={have.get(k)!r}" for k in sorted(set(want) | set(have)) if have.get(k) != want.get(k))
        if diff:
            out[key] = (f"was trained on another data split ({diff}; evaluated on "
                        f"{', '.join(f'{k}={want[k]!r}' for k in want if have.get(k) != want[k])}): "
                        f"its training images may be among these test images")
    return out


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """``python -m colorlib evaluate [--profile P] [--seeds 0 1 2] [--set k=v]``."""
    from .checkpoint import CheckpointError
    from .config import add_config_args, config_from_args

    parser = argparse.ArgumentParser(prog="python -m colorlib evaluate", description=__doc__.split("\n\n")[0])
    add_config_args(parser)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="runs to evaluate (default: cfg.seed)")
    parser.add_argument("--generators", nargs="+", default=["unet", "resnet"], choices=["unet", "resnet"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--n-predictions", type=_count, default=8, help="test images kept for Fig. 7 (≥ 0)")
    args = parser.parse_args(argv)
    try:
        cfg = config_from_args(args)
        evaluate(cfg, args.generators, args.seeds, args.modes, args.n_predictions)
    except (FileNotFoundError, CheckpointError, ValueError, RuntimeError) as err:
        print(f"colorlib evaluate: {err}", file=sys.stderr)
        return 1
    print(f"wrote {cfg.results_dir / 'metrics.md'}")
    return 0
