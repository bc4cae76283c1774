"""Data pipeline speed: preparation images/s, and drawing a batch of 16 from the cache.

    .venv/bin/python benchmarks/bench_data.py [--images 200] [--draws 300] [--size 256]

Preparation runs the folder source on generated COCO-like JPEGs (640×480, quality 90, made from
the bundled scikit-image photos) in a temporary folder, so it measures decode + resize +
grayscale test + cache write, not a network. The batch timings index the train memmap with a
sorted random index array (as the training loop does), then optionally convert on the CPU:
uint8 → float → Lab (lab_from_uint8) → random horizontal flip with p = 0.5 (§5.1).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorlib.config import Config
from colorlib.data import prepare
from colorlib.data.cache import load_images
from colorlib.data.images import open_rgb
from colorlib.data.sources import BUNDLED_PHOTOS, _skimage_data_dir
from colorlib.lab import lab_from_uint8


def make_corpus(folder: Path, n: int, seed: int = 0) -> None:
    """``n`` 640×480 JPEGs: random crops of the bundled photos with a random colour shift."""
    rng = np.random.default_rng(seed)
    base = _skimage_data_dir()
    photos = [open_rgb(base / f) for f in BUNDLED_PHOTOS.values() if (base / f).is_file()]
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        photo = photos[k % len(photos)]
        w, h = photo.size
        cw, ch = int(w * rng.uniform(0.5, 1)), int(h * rng.uniform(0.5, 1))
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        img = photo.resize((640, 480), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
        arr = np.clip(np.asarray(img, np.int16) + rng.integers(-30, 31, 3), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"img{k:05d}.jpg", quality=90)


def time_ms(fn, repeats: int) -> tuple[float, float]:
    """Median and 90th-percentile wall time of ``fn()`` in milliseconds."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), float(np.percentile(times, 90))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200, help="JPEGs to prepare")
    parser.add_argument("--draws", type=int, default=300, help="batches drawn per timing")
    parser.add_argument("--size", type=int, default=256, help="cache image size S")
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_corpus(tmp / "images", args.images)
        n_test = args.images // 5
        cfg = Config.from_profile(
            "demo",
            source="folder",
            folder=str(tmp / "images"),
            image_size=args.size,
            n_train=args.images - n_test,
            n_test=n_test,
            data_root=str(tmp / "data"),
            results_root=str(tmp / "results"),
        )
        start = time.perf_counter()
        summary = prepare(cfg, progress=False)
        seconds = time.perf_counter() - start
        print(
            f"prepare: {args.images} JPEGs 640×480 → {args.size}×{args.size} cache in {seconds:.2f} s "
            f"= {args.images / seconds:.1f} images/s ({summary['skipped_total']} skipped)"
        )

        train = load_images(cfg, "train")
        rng = np.random.default_rng(0)

        def draw() -> torch.Tensor:
            idx = np.sort(rng.choice(len(train), args.batch, replace=False))
            return torch.from_numpy(train[idx])

        def draw_lab_flip() -> tuple[torch.Tensor, torch.Tensor]:
            L, ab = lab_from_uint8(draw())
            flip = (torch.rand(L.shape[0]) < 0.5).view(-1, 1, 1, 1)
            return torch.where(flip, L.flip(-1), L), torch.where(flip, ab.flip(-1), ab)

        med, p90 = time_ms(draw, args.draws)
        print(f"batch of {args.batch} as a uint8 tensor from the memmap: median {med:.2f} ms, p90 {p90:.2f} ms")
        med, p90 = time_ms(draw_lab_flip, max(10, args.draws // 10))
        print(f"  + lab_from_uint8 + random flip on the CPU: median {med:.1f} ms, p90 {p90:.1f} ms")


if __name__ == "__main__":
    main()
