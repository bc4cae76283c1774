"""Colorize many photos: ``python -m colorlib colorize INPUT... --out DIR [--side-by-side]``.

Inputs may be files or folders (searched recursively); each unreadable file gets one line
naming it and the reason, the rest are still processed; outputs are ``<stem>_color.<ext>``,
de-duplicated, never overwriting an input. Exit status: 0 all colorized, 1 any failed,
``EXIT_ERROR`` (2) a bad argument or checkpoint: setup problems are raised as
:class:`colorlib.errors.ColorlibError` (here :class:`ColorizeError`, ``CheckpointError``,
``ConfigError``), which ``python -m colorlib`` prints as one line. The per-photo pipeline is
:class:`colorlib.colorizer.Colorizer`.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .colorizer import JPEG_QUALITY, JPEG_SUFFIXES, Colorizer, load_colorizer, side_name
from .errors import ColorlibError
from .images import DEFAULT_MAX_PIXELS, ImageError, is_image_path
from .names import GENERATORS

__all__ = ["output_name", "plan_outputs", "collect_inputs", "colorize_paths", "BatchReport", "main",
           "ColorizeError", "EXIT_ERROR"]

EXIT_ERROR = 2  # the exit status of a setup error (bad argument, folder or checkpoint): nothing was colorized


class ColorizeError(ColorlibError, ValueError):
    """A colorize run that cannot start: a bad ``--out``, no inputs, an input it would overwrite, no model."""


def output_name(src: str | os.PathLike) -> str:
    """``<stem>_color.<ext>`` for an input path: ``.jpg`` for JPEG inputs, ``.png`` otherwise.

    The stem is kept as it is (spaces, unicode); the extension is lower case. Characters a
    file name cannot hold (control characters) become ``_``.
    """
    src = Path(src)
    stem = "".join("_" if ord(ch) < 32 or ch == "\x7f" else ch for ch in src.stem) or "image"
    ext = ".jpg" if src.suffix.lower() in JPEG_SUFFIXES else ".png"
    return f"{stem}_color{ext}"


def plan_outputs(inputs: list[Path], out_dir: str | os.PathLike, side_by_side: bool = False) -> list[Path]:
    """The output path of each input in ``out_dir``, de-duplicated (``a_color.png``, ``a_2_color.png``, …).

    Raises :class:`ColorizeError` (a ``ValueError``) if any output (or its side-by-side) would
    overwrite one of the inputs.
    """
    out_dir = Path(out_dir)
    taken: set[str] = set()
    plan = []
    for src in inputs:
        base = output_name(src)
        ext = Path(base).suffix
        stem, name, k = base[: -len("_color" + ext)], base, 1
        while name.casefold() in taken:  # case-insensitive: safe on macOS/Windows file systems
            k += 1
            name = f"{stem}_{k}_color{ext}"
        taken.add(name.casefold())
        plan.append(out_dir / name)
    sources = {os.path.normcase(os.path.realpath(p)) for p in inputs}
    for dst in plan:
        for path in (dst, side_name(dst)) if side_by_side else (dst,):
            if os.path.normcase(os.path.realpath(path)) in sources:
                raise ColorizeError(f"{path}: output would overwrite an input; choose another --out")
    return plan


def collect_inputs(items: list[str | os.PathLike], exclude: str | os.PathLike | None = None) -> list[Path]:
    """Files named in ``items`` (taken as given) plus the image files under named directories.

    Directories are searched recursively for files with an image extension (any case), sorted,
    skipping hidden files and anything under ``exclude`` (the output folder) when that is a
    sub-folder of the searched one.
    """
    skip = Path(exclude).resolve() if exclude is not None else None
    found: list[Path] = []
    for item in items:
        path = Path(item)
        if not path.is_dir():
            found.append(path)  # a missing or non-image file is reported when it is opened
            continue
        inner = skip if skip is not None and skip != path.resolve() else None
        for sub in sorted(path.rglob("*")):
            rel = sub.relative_to(path).parts
            if any(part.startswith(".") for part in rel) or not sub.is_file() or not is_image_path(sub):
                continue
            if inner is not None and sub.resolve().is_relative_to(inner):
                continue
            found.append(sub)
    return found


@dataclass
class BatchReport:
    """What :func:`colorize_paths` did: outputs per input, one-line errors, seconds by stage."""

    written: dict[Path, list[Path]] = field(default_factory=dict)
    failed: dict[Path, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self, out_dir: str | os.PathLike) -> str:
        n = len(self.written) + len(self.failed)
        line = f"colorized {len(self.written)} of {n} image(s) into {out_dir}"
        return line + (f"; {len(self.failed)} failed" if self.failed else "")


def colorize_paths(colorizer: Colorizer, inputs: list[Path], out_dir: str | os.PathLike,
                   side_by_side: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                   progress: bool | None = None, log=None) -> BatchReport:
    """Colorize every input into ``out_dir``; an unreadable file is reported and skipped.

    ``progress``: a tqdm bar (default: when stderr is a terminal), else one plain line per file.
    ``log`` receives each line (default: print to stderr). Raises :class:`ColorizeError` before
    doing anything if an output would overwrite an input.
    """
    plan = plan_outputs(inputs, out_dir, side_by_side)
    if progress is None:
        progress = sys.stderr.isatty()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(inputs), unit="img", desc="colorize", file=sys.stderr)
    emit = log or (bar.write if bar is not None else (lambda line: print(line, file=sys.stderr)))
    report = BatchReport()
    for i, (src, dst) in enumerate(zip(inputs, plan), 1):
        try:
            report.written[src] = colorizer.colorize_file(src, dst, side_by_side, max_pixels)
        except ImageError as err:
            report.failed[src] = str(err)
            emit(f"error: {err}")
        except (OSError, RuntimeError, MemoryError) as err:  # e.g. disk full, out of memory
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            report.failed[src] = f"{src}: {first}"
            emit(f"error: {src}: {first}")
        else:
            for stage, sec in colorizer.timings.items():
                report.seconds[stage] = report.seconds.get(stage, 0.0) + sec
            if bar is None:
                emit(f"[{i}/{len(inputs)}] {src} -> {dst}")
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return report


# ----------------------------------------------------------------------------- CLI
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of pixels") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of pixels")
    return value


def _parser() -> argparse.ArgumentParser:
    from .config import add_config_args

    p = argparse.ArgumentParser(
        prog="python -m colorlib colorize",
        description="Colorize photos at full resolution with a trained generator: ab is predicted "
                    "at 256×256 and put under the photo's own L*. Writes <stem>_color.jpg (JPEG "
                    f"inputs, quality {JPEG_QUALITY}) or <stem>_color.png into --out. Exit status: "
                    f"0 all colorized, 1 some failed, {EXIT_ERROR} bad arguments or checkpoint.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    p.add_argument("--out", required=True, help="output folder (created; inputs are never overwritten)")
    p.add_argument("--checkpoint", default=None,
                   help="generator checkpoint (default: <run_dir>/checkpoint.pt of --profile/--generator)")
    p.add_argument("--generator", choices=GENERATORS, default=None,
                   help="require the checkpoint to hold this generator")
    p.add_argument("--side-by-side", action="store_true", help="also write <stem>_color_side.<ext>: input | output")
    p.add_argument("--dropout", action="store_true",
                   help="keep dropout on at test time, as the paper/pix2pix (§4.2); default off (deterministic)")
    p.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS,
                   help=f"refuse larger images (default {DEFAULT_MAX_PIXELS:,} = 100 MP)")
    add_config_args(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m colorlib colorize``: 0 when every input was colorized, 1 when any failed.

    Setup problems raise :class:`ColorlibError` (``python -m colorlib`` prints it as one line and
    exits with ``EXIT_ERROR``); an unreadable photo is reported and the rest still processed.
    """
    from .config import config_from_args

    args = _parser().parse_args(argv)
    cfg = config_from_args(args, **({"generator": args.generator} if args.generator else {}))
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise ColorizeError(f"{out_dir}: --out exists and is not a folder")
    inputs = collect_inputs(args.inputs, exclude=out_dir if out_dir.is_dir() else None)
    if not inputs:
        raise ColorizeError(f"no image files found in {', '.join(args.inputs)}")
    plan_outputs(inputs, out_dir, args.side_by_side)  # refuse to overwrite an input, early
    checkpoint = Path(args.checkpoint) if args.checkpoint else cfg.run_dir / "checkpoint.pt"
    if not args.checkpoint and not checkpoint.is_file():
        raise ColorizeError(f"{checkpoint}: no trained {cfg.generator} model for profile {cfg.profile}; train "
                            f"one (python -m colorlib train --profile {cfg.profile} --generator "
                            f"{cfg.generator}) or pass --checkpoint")
    colorizer = load_colorizer(checkpoint, args.generator, cfg.resolve_device(),
                               dropout=args.dropout or cfg.test_dropout)
    try:  # once, not as the same error for every photo
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ColorizeError(f"{out_dir}: cannot create the --out folder ({err.strerror})") from None
    try:
        report = colorize_paths(colorizer, inputs, out_dir, args.side_by_side, args.max_pixels)
    except KeyboardInterrupt:
        print(f"colorize: interrupted; the photos finished so far are in {out_dir}", file=sys.stderr)
        return 130
    print(report.summary(out_dir))
    return 1 if report.failed else 0
