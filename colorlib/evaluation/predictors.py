"""What evaluation scores: predictors of ab from L — the baselines, and each generator in a test mode.

A :class:`Job` is one predictor with the labels of its rows in ``per_image.csv``;
:func:`build_jobs` lists them in the order they are scored (baselines, then each run with
``eval`` before ``dropout``). A generator runs inside :func:`scoring_mode`: ``eval`` is
``model.eval()``; ``dropout`` is the paper's §4.2 / pix2pix choice (the decoder's Dropout stays
on at test time, BatchNorm still uses its running statistics), seeded by the run's seed.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from colorlib.config import MODES
from colorlib.lab import lab_from_uint8
from colorlib.models import at_test_time

__all__ = ["Job", "build_jobs", "scoring_mode", "has_dropout", "predict_ab_normalized", "train_median_ab"]


@contextlib.contextmanager
def scoring_mode(model: nn.Module, mode: str, seed: int):
    """``model`` in test ``mode`` (see :func:`colorlib.models.at_test_time`) with the global RNG
    seeded by ``seed`` inside and restored afterwards, so ``dropout`` numbers are reproducible;
    the model's training flag is restored on exit."""
    if mode not in MODES:
        raise ValueError(f"unknown evaluation mode {mode!r}; choose one of {', '.join(MODES)}")
    was_training = model.training
    where = next(model.parameters()).device
    devices = [where.index if where.index is not None else torch.cuda.current_device()] if where.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield at_test_time(model, dropout=(mode == "dropout"))
    finally:
        model.train(was_training)


def has_dropout(model: nn.Module) -> bool:
    """Whether ``dropout`` mode can differ from ``eval`` (the ResNet generator has no Dropout)."""
    return any(isinstance(m, nn.Dropout) for m in model.modules())


@torch.inference_mode()
def predict_ab_normalized(model: nn.Module, L: Tensor) -> Tensor:
    """Normalized ab (N×2×H×W, float32) for normalized L (N×1×H×W) in the model's current mode."""
    return model(L).float()


def train_median_ab(train_images: np.ndarray, max_pixels: int = 2_000_000, batch_size: int = 16) -> Tensor:
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
        batch = torch.from_numpy(np.ascontiguousarray(train_images[idx[i : i + batch_size], ::step, ::step]))
        _, ab = lab_from_uint8(batch)  # per pixel: converting the grid = the grid of the conversion
        chunks.append(ab.permute(1, 0, 2, 3).reshape(2, -1))
    return torch.cat(chunks, dim=1).median(dim=1).values


@dataclass(frozen=True)
class Job:
    """One predictor to score, with the labels of its rows (``model``, ``generator``, ``seed``,
    ``mode``, ``note``: a baseline has generator "", seed NA and mode "-")."""

    model: str
    generator: str
    seed: object
    mode: str
    predict: Callable[[Tensor], Tensor]  # normalized L (N×1×H×W) → ab (N×2×H×W), on L's device
    network: nn.Module | None = None  # a generator: ``predict`` runs inside scoring_mode(network, …)
    reuses_eval: bool = False  # the same numbers as this run's eval job (scored before it)
    note: str = ""

    def mode_context(self):
        """The context ``predict`` runs in: the generator's test mode, or nothing for a baseline."""
        if self.network is None:
            return contextlib.nullcontext()
        return scoring_mode(self.network, self.mode, self.seed)


def build_jobs(
    models: dict[tuple[str, int], nn.Module], median_ab: Tensor | None, modes: Iterable[str], device: str
) -> list[Job]:
    """The baselines (``gray``: ab = 0; ``train-median`` if ``median_ab`` is given), then every run
    of ``models`` ({(generator, seed): network}, moved to ``device``) in each of ``modes``, eval
    first. A dropout job of a network without Dropout layers reuses its eval job's scores."""
    jobs = [
        Job("gray", "", pd.NA, "-", lambda L: torch.zeros(L.shape[0], 2, *L.shape[2:], device=L.device), note="ab = 0")
    ]
    if median_ab is not None:
        m = median_ab.to(device).view(1, 2, 1, 1)
        jobs.append(
            Job(
                "train-median",
                "",
                pd.NA,
                "-",
                lambda L: m.expand(L.shape[0], 2, *L.shape[2:]),
                note=f"ab = ({median_ab[0]:.4f}, {median_ab[1]:.4f})",
            )
        )
    modes = sorted(modes, key=lambda m: m != "eval")
    for (gen, seed), model in models.items():
        model.to(device)
        for mode in modes:
            same_as_eval = mode != "eval" and not has_dropout(model)
            reuses = same_as_eval and "eval" in modes
            note = (
                "no Dropout layers: same as eval" + (" (eval-mode scores reused)" if reuses else "")
                if same_as_eval
                else ""
            )
            jobs.append(Job(gen, gen, seed, mode, functools.partial(predict_ab_normalized, model), model, reuses, note))
    return jobs
