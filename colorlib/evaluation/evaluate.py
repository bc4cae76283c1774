"""Evaluation on the test set: the paper's L1 against honest baselines, and the field's metrics (§6).

    df = evaluate(cfg)                      # unet + resnet, seed cfg.seed, modes eval + dropout
    python -m colorlib evaluate --profile demo --seeds 0 1 2

For every trained run ``runs/<profile>/<generator>-seed<k>/checkpoint.pt`` and each mode —
``eval`` (``model.eval()``: BatchNorm running statistics, dropout off) and ``dropout`` (the
paper's §4.2 / pix2pix choice: the decoder's dropout stays on at test time; BatchNorm still uses
its running statistics) — and for two baselines computed the same way (``gray``: ab = 0, i.e.
"no colour"; ``train-median``: the train set's per-channel median ab for every pixel), it scores
each test image (see :mod:`colorlib.evaluation.metrics`):

- ``l1``: the paper's metric — mean |ab_pred − ab_true| over both channels and all pixels of the
  image, in normalized units (ab/110); the table's ``l1`` is its mean over images, ``l1_pixel``
  the pixel-weighted mean over the set (the same number at a fixed image size: both are shown);
- ``psnr``, ``ssim`` on RGB in [0, 1] rebuilt from the true L and the predicted ab;
- ``cf_pred``, ``cf_true``, ``dcf`` = |cf_pred − cf_true|: Hasler–Süsstrunk colorfulness;
- ``lpips`` per image and ``fid`` per set, only where their weights are already on disk.

Written to ``cfg.results_dir`` (see :mod:`colorlib.evaluation.report` for the tables): ``per_image.csv``,
``metrics.csv``, ``metrics.md``, ``comparison.md``, ``predictions_<generator>-seed<k>.npy`` (uint8
RGB of the first ``n_predictions`` test images, eval mode) and ``predictions_original.npy``, and
the same for the first train images (``…-train.npy``: what the networks learned, for figures),
and ``claims.md``: the paper's claims checked against these runs (:mod:`colorlib.evaluation.claims`).

What is scored (baselines, test modes) is :mod:`colorlib.evaluation.predictors`; which runs, and their
warnings, :mod:`colorlib.evaluation.runs`; this module scores them and writes the files.

Progress (:mod:`colorlib.utils.log`): one line per scored job, skipped run and warning on stdout;
a tqdm bar per job on stderr only when it is a terminal (or ``progress=True``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
import pandas as pd
import torch
from torch import nn

from colorlib.config import ABLATIONS, GENERATORS, MODES, run_name
from colorlib.evaluation import metrics, perceptual
from colorlib.evaluation.predictors import Job, build_jobs, predict_ab_normalized, scoring_mode, train_median_ab
from colorlib.evaluation.runs import EvaluationError, check_held_out, find_runs, load_runs, run_warnings
from colorlib.lab import lab_from_uint8, rgb_from_normalized, uint8_from_rgb
from colorlib.utils import provenance
from colorlib.utils.log import Progress, log
from colorlib.utils.runtime import FULL_FP32, full_fp32

__all__ = ["evaluate", "evaluate_arrays", "score_batch"]


def score_batch(
    true_rgb: np.ndarray,
    L: torch.Tensor,
    ab_true: torch.Tensor,
    ab_pred: torch.Tensor,
    lpips_net: nn.Module | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-image metrics of one batch, and the predicted uint8 RGB (N×H×W×3).

    ``true_rgb`` uint8 N×H×W×3; L, ab tensors normalized (N×1×H×W, N×2×H×W) on one device.
    """
    rgb_t = rgb_from_normalized(L, ab_pred)
    rgb = rgb_t.permute(0, 2, 3, 1).cpu().numpy()
    pred_u8 = uint8_from_rgb(rgb_t).cpu().numpy()
    cf_pred, cf_true = metrics.colorfulness(rgb), metrics.colorfulness(true_rgb)
    out = {
        "pixels": np.full(len(true_rgb), L.shape[-2] * L.shape[-1]),
        "l1": metrics.ab_l1(ab_pred, ab_true),
        "psnr": metrics.psnr(rgb, true_rgb),
        "ssim": metrics.ssim(rgb, true_rgb),
        "cf_pred": cf_pred,
        "cf_true": cf_true,
        "dcf": np.abs(cf_pred - cf_true),
    }
    if lpips_net is not None:
        out["lpips"] = perceptual.lpips_distance(pred_u8, true_rgb, lpips_net, str(L.device))
    return out, pred_u8


def _set_row(job: Job, fid: float, note: str) -> dict:
    return {
        "model": job.model,
        "generator": job.generator,
        "seed": job.seed,
        "mode": job.mode,
        "fid": fid,
        "note": note,
    }


def evaluate_arrays(
    test_images: np.ndarray,
    models: dict[tuple[str, int], nn.Module],
    median_ab: torch.Tensor | None = None,
    modes: Iterable[str] = MODES,
    device: str = "cpu",
    batch_size: int = 8,
    n_predictions: int = 8,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Score ``models`` ({(generator, seed): generator network}) and the baselines on ``test_images``.

    ``test_images`` uint8 N×H×W×3; ``median_ab`` (2,) from :func:`train_median_ab` (the
    train-median baseline is left out if None). Returns (per-image DataFrame, per-set DataFrame
    with FID and skip reasons, {"<generator>-seed<k>": uint8 predictions of the first
    ``n_predictions`` images in eval mode, "original": those images}).
    """
    n = len(test_images)
    if n == 0:
        raise ValueError("evaluate: the test set is empty")
    lpips_reason, fid_reason = perceptual.lpips_unavailable(), perceptual.fid_unavailable()
    if fid_reason is None and n < 2:
        fid_reason = "FID needs at least 2 test images"
    lp_net = perceptual.lpips_net(device) if lpips_reason is None else None
    inc_net = perceptual.inception_net(device) if fid_reason is None else None
    for name, reason in (("LPIPS", lpips_reason), ("FID", fid_reason)):
        if reason:
            log(f"evaluate: {name} skipped: {reason}", problem=True)

    true_feats = (
        np.concatenate(
            [perceptual.inception_features(test_images[i : i + 64], inc_net, device) for i in range(0, n, 64)]
        )
        if inc_net is not None
        else None
    )
    rows, sets, preds = [], [], {"original": np.array(test_images[:n_predictions])}
    done: dict[tuple, tuple[list, float]] = {}  # (gen, seed) → eval-mode rows, fid
    for job in build_jobs(models, median_ab, modes, device):
        if job.reuses_eval:  # deterministic: the eval job's numbers
            eval_rows, fid = done[(job.generator, job.seed)]
            rows += [r.assign(mode=job.mode) for r in eval_rows]
            sets.append(_set_row(job, fid, job.note))
            continue
        t0, feats, keep, first = time.perf_counter(), [], [], len(rows)
        where = "" if job.seed is pd.NA else f"seed{job.seed} "
        with (
            Progress(n, progress, desc=f"{job.model} {where}{job.mode}", unit="img", leave=False) as bar,
            job.mode_context(),
        ):
            for i in range(0, n, batch_size):
                true_rgb = np.array(test_images[i : i + batch_size])  # a writable copy of a memmap slice
                L, ab_true = lab_from_uint8(torch.from_numpy(true_rgb).to(device))
                ab_pred = job.predict(L)
                _refuse_non_finite(ab_pred, job, i)
                scores, pred_u8 = score_batch(true_rgb, L, ab_true, ab_pred, lp_net)
                rows.append(
                    pd.DataFrame(
                        {
                            "model": job.model,
                            "generator": job.generator,
                            "seed": job.seed,
                            "mode": job.mode,
                            "image": np.arange(i, i + len(true_rgb)),
                            **scores,
                        }
                    )
                )
                if inc_net is not None:
                    feats.append(perceptual.inception_features(pred_u8, inc_net, device))
                if job.mode == "eval" and job.generator and i < n_predictions:
                    keep.append(pred_u8[: n_predictions - i])
                bar.advance(len(true_rgb))
        if keep:
            preds[run_name(job.generator, job.seed)] = np.concatenate(keep)
        fid = perceptual.fid_from_features(true_feats, np.concatenate(feats)) if feats else np.nan
        sets.append(_set_row(job, fid, job.note))
        if job.generator and job.mode == "eval":
            done[(job.generator, job.seed)] = (rows[first:], fid)
        log(
            f"evaluate: {job.model}{'' if job.seed is pd.NA else f' seed {job.seed}'} [{job.mode}] {n} images "
            f"in {time.perf_counter() - t0:.1f} s"
        )
    per_image = pd.concat(rows, ignore_index=True)
    per_image["seed"] = per_image["seed"].astype("Int64")
    set_df = pd.DataFrame(sets).astype({"seed": "Int64"})
    set_df.attrs["skipped"] = {k: v for k, v in (("lpips", lpips_reason), ("fid", fid_reason)) if v}
    return per_image, set_df, preds


class NonFiniteModelError(EvaluationError):
    """A model predicts NaN or ±inf colours: its scores would be numbers for a network that
    computed nothing, so it is refused rather than reported."""


def _refuse_non_finite(ab_pred: torch.Tensor, job: Job, first: int) -> None:
    if not bool(torch.isfinite(ab_pred).all()):
        where = "" if job.seed is pd.NA else f" seed {job.seed}"
        raise NonFiniteModelError(
            f"{job.model}{where} [{job.mode}] predicts non-finite colours (NaN or inf) from test "
            f"image {first} on: its weights overflow; not scored — retrain it or evaluate "
            "another checkpoint"
        )


def evaluate(
    cfg,
    generators: Iterable[str] | None = None,
    seeds: Iterable[int] | None = None,
    modes: Iterable[str] = MODES,
    n_predictions: int = 8,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Evaluate every existing run of ``generators`` × ``seeds`` on the profile's test set, write
    the files listed in the module docstring to ``cfg.results_dir`` and return the metrics table.
    ``generators`` None: unet, resnet and those of ``config.ABLATIONS`` with a run of these seeds.

    No run at all is an :class:`EvaluationError`. A run whose checkpoint cannot be used is skipped
    with one printed line; the others are evaluated and written, then
    :class:`~colorlib.checkpoint.CheckpointError` names the bad files."""
    from colorlib.checkpoint import CheckpointError
    from colorlib.data.cache import load_images
    from colorlib.evaluation.report import write_results
    from colorlib.utils.runlock import results_lock

    if cfg.n_test < 1:  # before any run is loaded
        raise EvaluationError(
            f"n_test={cfg.n_test}: there is no test image to evaluate on; set n_test ≥ 1 "
            "(--set n_test=...) and prepare the data again"
        )
    seeds = (cfg.seed,) if seeds is None else tuple(seeds)
    if generators is None:  # the paper's two, and the ablation runs (config.ABLATIONS) that exist
        generators = GENERATORS + existing_ablations(cfg, seeds)
    device = cfg.resolve_device()
    networks, checkpoints, unusable = load_runs(find_runs(cfg, generators, seeds), device)
    check_held_out(cfg, checkpoints)
    with results_lock(cfg.results_dir), full_fp32():  # one evaluation of a profile at a time; fp32 as published
        test_images, train_images = load_images(cfg, "test"), load_images(cfg, "train")
        median_ab = train_median_ab(train_images)
        per_image, set_df, preds = evaluate_arrays(
            test_images, networks, median_ab, modes, device, cfg.batch_size, n_predictions, progress
        )
        preds.update(train_predictions(train_images[:n_predictions], networks, device))
        for (gen, seed), text in run_warnings(cfg, checkpoints).items():
            log(f"evaluate: warning: {gen} seed {seed} {text}", problem=True)
            sel = (set_df["generator"] == gen) & (set_df["seed"] == seed)
            set_df.loc[sel, "note"] = [f"{n}; {text}" if n else text for n in set_df.loc[sel, "note"]]
        record = provenance.collect(
            cfg, {run_name(g, s): ck.get("config") for (g, s), ck in checkpoints.items()}, device
        )
        if device.startswith("cuda"):
            record["numerics"] = FULL_FP32
        summary = write_results(cfg.results_dir, per_image, set_df, preds, record)
        from colorlib.evaluation.claims import write_claims

        write_claims(
            cfg, per_image, list(networks), summary, {k: ck.get("encoder_init") for k, ck in checkpoints.items()}
        )
    if unusable:
        raise CheckpointError(
            f"{len(unusable)} run(s) unusable (the others were evaluated and written): " + "; ".join(unusable)
        )
    return summary


def existing_ablations(cfg, seeds: Iterable[int]) -> tuple[str, ...]:
    """The ablation generators (config.ABLATIONS) with a run of any of ``seeds``: evaluated with
    the paper's two without a line about each one that was not trained."""
    from colorlib.evaluation.runs import run_weights

    return tuple(
        g
        for g in ABLATIONS
        if any(run_weights(cfg.replace(generator=g, seed=int(s)).run_dir) is not None for s in seeds)
    )


def train_predictions(
    images: np.ndarray, networks: dict[tuple[str, int], nn.Module], device: str
) -> dict[str, np.ndarray]:
    """What each network makes of the first train images (eval mode): to show beside the
    held-out ones what it has learned. Keys name the files (``report.predictions_file(name,
    "train")``): "original-train" and "<run>-train"."""
    if len(images) == 0:
        return {}
    images = np.array(images)
    L, _ = lab_from_uint8(torch.from_numpy(images).to(device))
    out = {"original-train": images}
    for (gen, seed), model in networks.items():
        with scoring_mode(model, "eval", seed):
            out[f"{run_name(gen, seed)}-train"] = (
                uint8_from_rgb(rgb_from_normalized(L, predict_ab_normalized(model, L))).cpu().numpy()
            )
    return out
