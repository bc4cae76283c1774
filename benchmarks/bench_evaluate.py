"""Evaluation speed: ``evaluate(cfg)`` on the demo profile, and the per-image metric costs.

    .venv/bin/python benchmarks/bench_evaluate.py [--profile demo] [--repeats 2] [--figures]

Prepares the profile's data cache (bundled photos) in a temporary folder, saves freshly
initialized U-Net and ResNet checkpoints for seed 0 (speed does not depend on the weights) and
times the whole ``evaluate`` call — test images × {U-Net, ResNet} × {eval, dropout} plus the two
baselines, all metrics, all files — median and best of ``--repeats``. Then the metric functions
alone on the test images: paper L1, PSNR, SSIM, colorfulness (ms per image). ``--figures`` also
times ``make_figures`` (including the torchinfo tables of Figs. 10–15).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from colorlib.checkpoint import FORMAT, atomic_save
from colorlib.config import GENERATORS, Config
from colorlib.data import prepare
from colorlib.data.cache import load_images
from colorlib.evaluation import metrics
from colorlib.evaluation.evaluate import evaluate
from colorlib.evaluation.figures import make_figures
from colorlib.lab import lab_from_uint8
from colorlib.models import build_generator


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):
            fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--figures", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cfg = Config.from_profile(
            args.profile,
            data_root=str(root / "data"),
            run_root=str(root / "runs"),
            results_root=str(root / "results"),
            pretrained="none",
        )
        prepare(cfg, progress=False)
        for gen in GENERATORS:
            torch.manual_seed(0)
            run = cfg.replace(generator=gen)
            atomic_save(
                {
                    "format": FORMAT,
                    "generator": gen,
                    "G": build_generator(gen).state_dict(),
                    "config": run.to_dict(),
                    "epoch": 0,
                    "iteration": 0,
                },
                run.run_dir / "checkpoint.pt",
            )
        test = np.array(load_images(cfg, "test"))
        print(
            f"profile {cfg.profile}: {len(test)} test images {test.shape[1]}×{test.shape[2]}, device "
            f"{cfg.resolve_device()}, torch threads {torch.get_num_threads()}, batch {cfg.batch_size}"
        )
        times = _time(lambda: evaluate(cfg, progress=False), args.repeats)
        print(
            f"evaluate (2 models × 2 modes + 2 baselines, all files): median {statistics.median(times):.1f} s, "
            f"best {min(times):.1f} s over {len(times)} runs"
        )

        L, ab = lab_from_uint8(torch.from_numpy(test))
        rgb = test.astype(np.float64) / 255.0
        for name, fn in (
            ("paper L1", lambda: metrics.ab_l1(torch.zeros_like(ab), ab)),
            ("PSNR", lambda: metrics.psnr(rgb, test)),
            ("SSIM", lambda: metrics.ssim(rgb, test)),
            ("colorfulness", lambda: metrics.colorfulness(rgb)),
        ):
            t = min(_time(fn, 3))
            print(f"  {name:<13} {1000 * t / len(test):7.2f} ms/image")
        if args.figures:
            t = _time(lambda: make_figures(cfg), 1)[0]
            print(f"make_figures (5 PNGs + 5 tables): {t:.1f} s")


if __name__ == "__main__":
    main()
