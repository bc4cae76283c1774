"""Two-minute experiments: train a small colorizer on a few bundled crops and see what a change
does (notebook 2, "Try it").

    result = run_experiment(cfg, lambda_l1=100, gan=True)    # GAN + λ·L1, the paper's objective
    result = run_experiment(cfg, gan=False)                  # L1 only: no discriminator
    result = run_experiment(cfg, lambda_l1=0)                # GAN only

The classic pix2pix lesson (Isola et al. 2017, https://arxiv.org/abs/1611.07004, §4.2): L1 alone
gives washed-out, desaturated colour (the average of the plausible colours); the adversarial
term pushes towards colours that look real. Each call is its own run in a fresh folder under
``root`` (default: a temporary folder) — never a resume of another run, so re-running a cell
after changing a parameter trains anew. To fit two minutes on a 2-core CPU the experiment is
small: the ResNet-18 U-Net with a random encoder (its input needs only multiples of 32) at
``image_size`` 64–128, ``n_train`` crops of the bundled photos.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from colorlib.checkpoint import load_generator
from colorlib.config import Config
from colorlib.evaluation.metrics import ab_l1, colorfulness
from colorlib.lab import lab_from_uint8, uint8_from_lab

__all__ = ["run_experiment"]


def run_experiment(
    cfg: Config,
    *,
    lambda_l1: float = 100.0,
    gan: bool = True,
    epochs: int = 6,
    n_train: int = 16,
    n_test: int = 4,
    image_size: int = 96,
    batch_size: int = 4,
    root: str | Path | None = None,
) -> dict:
    """Train one small run and score it on its held-out crops.

    Returns {"label", "lambda_l1", "gan", "seconds", "l1" (mean test L1, ab/110),
    "colorfulness" (mean of the predictions), "colorfulness_true", "original", "predicted"
    (uint8 N×S×S×3), "history" (per epoch)}. ``gan=False`` trains G on L1 alone (no D);
    ``lambda_l1=0`` with ``gan=True`` is the adversarial term alone."""
    from colorlib.data import prepare, training_data
    from colorlib.data.cache import load_images
    from colorlib.train import train

    if not gan and lambda_l1 <= 0:
        raise ValueError("gan=False with lambda_l1=0 trains nothing: keep the L1 term or the GAN term")
    base = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="colorlib-experiment-"))
    label = "L1 only" if not gan else f"GAN + {lambda_l1:g}·L1" if lambda_l1 else "GAN only"
    run = base / f"lambda{lambda_l1:g}-{'gan' if gan else 'l1only'}-{time.time_ns()}"  # its own run, always
    exp = cfg.replace(
        source="bundled",
        generator="resnet",
        pretrained="none",
        require_pretrained=False,
        image_size=image_size,
        n_train=n_train,
        n_test=n_test,
        batch_size=batch_size,
        epochs=epochs if gan else 0,
        l1_pretrain_epochs=0 if gan else epochs,
        lambda_l1=float(lambda_l1),  # (L1 only: unused, the loss is the L1 itself)
        sample_every=0,
        checkpoint_every=max(epochs, 1),
        data_root=str(base / "data"),
        run_root=str(run),
        results_root=str(run / "results"),
    )
    t0 = time.perf_counter()
    prepare(exp, progress=False)
    run_dir = train(exp, training_data(exp), progress=False)
    seconds = time.perf_counter() - t0
    G, _ = load_generator(run_dir / "checkpoint.pt", "resnet")
    original = np.array(load_images(exp, "test"))
    L, ab = lab_from_uint8(torch.from_numpy(original))
    with torch.no_grad():
        pred_ab = G(L).float()
    predicted = uint8_from_lab(L, pred_ab).numpy()
    return {
        "label": label,
        "lambda_l1": float(lambda_l1),
        "gan": gan,
        "seconds": round(seconds, 1),
        "l1": float(ab_l1(pred_ab, ab).mean()),
        "colorfulness": float(colorfulness(predicted).mean()),
        "colorfulness_true": float(colorfulness(original).mean()),
        "original": original,
        "predicted": predicted,
        "history": pd.read_csv(run_dir / "history.csv"),
    }
