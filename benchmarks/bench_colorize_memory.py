"""Peak memory of ``python -m colorlib colorize`` on one 12-megapixel photo, checkpoint vs export.

    .venv/bin/python benchmarks/bench_colorize_memory.py [--generator unet] [--checkpoint CKPT]
                                                         [--python PY]

Each number is the peak resident set (``ru_maxrss`` of the finished child: what
``/usr/bin/time -v`` prints as "Maximum resident set size") of a fresh process:

1. ``python -c "import torch"``: the floor that torch's own build sets before colorlib runs
   (a CUDA build maps its CUDA libraries even on a machine without a GPU);
2. ``import colorlib.inference.colorize``: what the colorize command imports;
3. ``python -m colorlib colorize photo.jpg`` (4000×3000 JPEG → JPEG q95) with the training
   checkpoint, then with its ``export`` (safetensors), then with a ``--fp16`` export.

Without ``--checkpoint`` a smoke run of ``--generator`` is trained into a temp folder first
(paper-size networks: the checkpoint holds G, D and both Adam states, as a real run's does).
``--python`` measures another interpreter with colorlib importable (e.g. a venv with a
CPU-only torch build: see README, "Colorize your own photos").
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_colorize import grainy_photo  # the same 12 MP test photo as the speed benchmark

TIME = "/usr/bin/time"  # GNU time: "Maximum resident set size" of /usr/bin/time -v


def peak_mb(cmd: list[str]) -> float:
    """Run ``cmd`` under ``/usr/bin/time``; its peak resident set in MB (1e6 bytes).

    Not ``wait4`` from this process: a child forked from a large parent starts its high-water
    mark at the parent's size. ``time`` is small, so its child's mark is the child's own."""
    if not Path(TIME).is_file():
        raise SystemExit(f"{TIME} not found: install GNU time (Debian: apt-get install time)")
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
        proc = subprocess.run(
            [TIME, "-f", "%M", "-o", report.name, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        return int(report.read().split()[-1]) * 1024 / 1e6  # KiB


def smoke_checkpoint(generator: str, root: Path) -> Path:
    from colorlib.config import Config
    from colorlib.data import prepare, training_data
    from colorlib.train import train

    cfg = Config.from_profile(
        "smoke",
        generator=generator,
        data_root=str(root / "data"),
        run_root=str(root / "runs"),
        results_root=str(root / "results"),
    )
    prepare(cfg, progress=False)
    train(cfg, training_data(cfg), progress=False)
    return cfg.run_dir / "checkpoint.pt"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generator", choices=("unet", "resnet"), default="unet")
    p.add_argument("--checkpoint", default=None, help="a trained checkpoint (default: train a smoke run)")
    p.add_argument("--python", default=sys.executable, help="the interpreter to measure (default: this one)")
    args = p.parse_args(argv)
    py = args.python
    with tempfile.TemporaryDirectory(prefix="bench_colorize_memory_") as tmp:
        tmp = Path(tmp)
        ckpt = Path(args.checkpoint) if args.checkpoint else smoke_checkpoint(args.generator, tmp)
        exports = {}
        for name, extra in (("export", []), ("export --fp16", ["--fp16"])):
            out = tmp / f"{args.generator}{'-fp16' if extra else ''}.safetensors"
            subprocess.run(
                [sys.executable, "-m", "colorlib", "export", str(ckpt), "--out", str(out), *extra],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            exports[name] = out
        src = tmp / "photo.jpg"
        grainy_photo(0, (4000, 3000)).save(src, quality=95)
        version = subprocess.run(
            [py, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True, check=True
        ).stdout.strip()
        rows = [
            ("python -c 'import torch'", peak_mb([py, "-c", "import torch"])),
            ("import colorlib.inference.colorize", peak_mb([py, "-c", "import colorlib.inference.colorize"])),
        ]
        for name, weights in (("colorize, checkpoint", ckpt), *((f"colorize, {k}", v) for k, v in exports.items())):
            rows.append(
                (
                    name,
                    peak_mb(
                        [
                            py,
                            "-m",
                            "colorlib",
                            "colorize",
                            str(src),
                            "--out",
                            str(tmp / "out"),
                            "--checkpoint",
                            str(weights),
                        ]
                    ),
                )
            )
        print(
            f"peak resident memory, 12 MP JPEG ({args.generator}, torch {version}, "
            f"{ckpt.stat().st_size / 1e6:.0f} MB checkpoint, {exports['export'].stat().st_size / 1e6:.0f} MB export):"
        )
        for name, mb in rows:
            print(f"  {name:<28}{mb:7.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
