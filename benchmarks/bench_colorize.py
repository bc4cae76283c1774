"""Benchmark full-resolution colorization (colorlib/inference/colorizer.py, colorlib/inference/colorize.py) on this machine.

    .venv/bin/python benchmarks/bench_colorize.py [--generator unet] [--checkpoint CKPT]
                                                  [--repeats 5] [--folder 100]

1. One 12-megapixel (4000×3000) JPEG photo, model already loaded: seconds per stage (decode,
   network incl. the 256² resize, full-resolution upsample + Lab→RGB, JPEG q95 encode), median
   and best of ``--repeats`` runs, with and without the encode.
2. A folder of ``--folder`` mixed photos (sizes 1×1 … 12 MP, modes RGB/L/LA/RGBA/P/CMYK/I;16,
   JPEG/PNG, some EXIF-rotated) through ``colorize_paths`` — what the CLI does after loading.
   Photos carry synthetic grain, so their JPEG/PNG coding costs are those of real photos.

Speed does not depend on the weights: without ``--checkpoint`` a freshly initialized generator
is used. Photos are generated from scikit-image's bundled images into a temp folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data as skdata

from colorlib.inference.colorize import colorize_paths, output_name
from colorlib.inference.colorizer import Colorizer, load_colorizer
from colorlib.models import build_generator

PHOTOS = [skdata.astronaut, skdata.chelsea, skdata.coffee, skdata.rocket, skdata.hubble_deep_field]
SIZES = [
    (4000, 3000),
    (3000, 2000),
    (2048, 1536),
    (1600, 1200),
    (1024, 768),
    (640, 480),
    (480, 640),
    (300, 451),
    (20, 900),
    (7, 5),
    (1, 1),
]
MODES = ["RGB", "L", "LA", "RGBA", "P", "CMYK", "I;16"]


def grainy_photo(i: int, size: tuple[int, int]) -> Image.Image:
    """A bundled photo resized to ``size`` plus sensor-like grain (σ = 6 levels), so JPEG
    decoding/encoding costs what it costs on a real camera file, not on a smooth upscale."""
    base = Image.fromarray(PHOTOS[i % len(PHOTOS)]()).convert("RGB").resize(size, Image.BICUBIC)
    grain = np.random.default_rng(i).normal(0.0, 6.0, (size[1], size[0], 1)).astype(np.float32)
    return Image.fromarray(np.clip(np.asarray(base, np.float32) + grain, 0, 255).astype(np.uint8))


def _save(img: Image.Image, mode: str, path: Path, rotate: bool) -> Path:
    exif = Image.Exif()
    if rotate:
        exif[0x0112] = 6
    if mode in ("RGB", "CMYK"):
        path = path.with_suffix(".jpg")
        img.convert(mode).save(path, quality=92, exif=exif)
    elif mode == "I;16":
        arr = np.asarray(img.convert("L"), dtype=np.uint16) * 257
        Image.fromarray(arr).save(path.with_suffix(".png"))
        path = path.with_suffix(".png")
    else:
        path = path.with_suffix(".png")
        conv = img.convert("P", palette=Image.Palette.ADAPTIVE) if mode == "P" else img.convert(mode)
        conv.save(path, exif=exif)
    return path


def bench_single(colorizer: Colorizer, tmp: Path, repeats: int) -> None:
    src = tmp / "photo 12MP.jpg"
    grainy_photo(0, (4000, 3000)).save(src, quality=95)
    dst = tmp / "out" / output_name(src)
    colorizer.colorize_file(src, dst)  # warm-up
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        colorizer.colorize_file(src, dst)
        total = time.perf_counter() - t0
        runs.append({**colorizer.timings, "total": total, "total_no_encode": total - colorizer.timings["encode"]})
    print(f"\n12 MP (4000×3000 JPEG → JPEG q95), {repeats} runs after a warm-up, seconds:")
    print(f"  {'stage':<16}{'median':>8}{'best':>8}")
    for key in ["decode", "network", "full_res", "encode", "total_no_encode", "total"]:
        vals = [r[key] for r in runs]
        print(f"  {key:<16}{statistics.median(vals):8.3f}{min(vals):8.3f}")


def bench_network_layout(colorizer: Colorizer, repeats: int) -> None:
    x = torch.rand(1, 1, 256, 256, device=colorizer.device) * 2 - 1
    for layout in (torch.contiguous_format, torch.channels_last):
        model = colorizer.model.to(memory_format=layout)
        with torch.inference_mode():
            model(x.contiguous(memory_format=layout))
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                model(x.contiguous(memory_format=layout))
                times.append(time.perf_counter() - t0)
        print(f"  generator forward at 256², {str(layout).split('.')[-1]:<18} median {statistics.median(times):.3f} s")
    colorizer.model.to(memory_format=torch.contiguous_format)


def bench_folder(colorizer: Colorizer, tmp: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    folder = tmp / "mixed"
    folder.mkdir()
    pixels = 0
    paths = []
    for i in range(n):
        size = SIZES[i % len(SIZES)] if i < len(SIZES) else SIZES[int(rng.integers(2, len(SIZES)))]
        mode = MODES[i % len(MODES)]
        paths.append(_save(grainy_photo(i, size), mode, folder / f"{i:03d} photo", rotate=i % 5 == 0))
        pixels += size[0] * size[1]
    t0 = time.perf_counter()
    report = colorize_paths(colorizer, sorted(paths), tmp / "mixed_out", progress=False, log=lambda line: None)
    total = time.perf_counter() - t0
    print(
        f"\nfolder of {n} mixed photos ({pixels / 1e6:.0f} MP in all; {len(report.written)} written, "
        f"{len(report.failed)} failed): {total:.1f} s, {total / n:.2f} s per photo"
    )
    print("  seconds by stage: " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generator", choices=("unet", "resnet"), default="unet")
    p.add_argument("--checkpoint", default=None, help="time a trained checkpoint instead of a fresh generator")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--folder", type=int, default=100, help="photos in the mixed folder (0 to skip)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if args.checkpoint:
        colorizer = load_colorizer(args.checkpoint, args.generator, args.device)
    else:
        torch.manual_seed(0)
        colorizer = Colorizer(build_generator(args.generator, pretrained=False), args.generator, args.device)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {colorizer.device}, "
        f"generator {colorizer.generator}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="bench_colorize_") as tmp:
        bench_single(colorizer, Path(tmp), args.repeats)
        bench_network_layout(colorizer, args.repeats)
        if args.folder:
            bench_folder(colorizer, Path(tmp), args.folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
