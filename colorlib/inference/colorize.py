"""Colorize many photos: ``python -m colorlib colorize INPUT... --out DIR [--side-by-side]``.

Inputs may be files or folders (searched recursively, :func:`colorlib.inference.inputs.collect_inputs`;
each file once, however it is reached); each unreadable input — a bad image, a symbolic link
loop, a dangling link, a FIFO, a socket — gets one line naming it and the reason and counts as
failed, the rest are still processed. Outputs are ``<stem>_color.<ext>``, told apart when
inputs share a stem (:func:`plan_outputs`, one line per renamed input), never overwriting an
input. Exit status: 0 all colorized, 1 any failed, ``EXIT_ERROR`` (2) a bad argument, --out
folder or checkpoint: setup problems are raised as :class:`colorlib.utils.errors.ColorlibError` (here
:class:`ColorizeError`, ``CheckpointError``, ``ConfigError``), which ``python -m colorlib``
prints as one line. The per-photo pipeline is :class:`colorlib.inference.colorizer.Colorizer`.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from colorlib.data.images import DEFAULT_MAX_PIXELS, ImageError
from colorlib.inference.colorizer import JPEG_SUFFIXES, Colorizer, is_own_output, load_colorizer, side_name
from colorlib.inference.inputs import collect_inputs
from colorlib.utils.errors import ColorlibError
from colorlib.utils.files import entry_problem, write_problem
from colorlib.utils.log import Progress, log

__all__ = [
    "output_name",
    "plan_outputs",
    "check_out_dir",
    "colorize_paths",
    "BatchReport",
    "ColorizeError",
    "EXIT_ERROR",
]

EXIT_ERROR = 2  # the exit status of a setup error (bad argument, folder or checkpoint): nothing was colorized


class ColorizeError(ColorlibError, ValueError):
    """A colorize run that cannot start: a bad ``--out``, no inputs, an input it would overwrite, no model."""


def output_name(src: str | os.PathLike) -> str:
    """``<stem>_color.<ext>`` for an input path: ``.jpg`` for JPEG inputs, ``.png`` otherwise.

    The stem is kept as it is (spaces, unicode); the extension is lower case. Characters a
    file name cannot hold (control characters) become ``_``.
    """
    src = Path(src)
    ext = ".jpg" if src.suffix.lower() in JPEG_SUFFIXES else ".png"
    return f"{_clean(src.stem) or 'image'}_color{ext}"


def _clean(name: str) -> str:
    return "".join("_" if ord(ch) < 32 or ch == "\x7f" else ch for ch in name)


def _tags(src: Path):
    """What tells an input apart from another with its stem: its extension, then also its parent
    folder and each folder above it, then a number (each checked by :func:`plan_outputs`)."""
    tags = [_clean(src.suffix[1:].lower())] if src.suffix[1:] else []
    if tags:
        yield tags[0]
    for folder in Path(os.path.abspath(src)).parent.parts[:0:-1]:
        tags.append(_clean(folder))
        yield "_".join(tags)
    yield from ("_".join([*tags[:1], str(k)]) for k in itertools.count(2))


def plan_outputs(inputs: list[Path], out_dir: str | os.PathLike, side_by_side: bool = False) -> list[Path]:
    """The output path of each input in ``out_dir``: distinct, and never another input's own name.

    Rule: an input's own name is :func:`output_name` (``a.jpg`` → ``a_color.jpg``). The first
    input with a stem (in input order, compared case-insensitively as on macOS/Windows) gets it;
    each later input with that stem (``a.png`` after ``a.jpg``, ``q/a.png`` after ``p/a.png``) is
    told apart by its extension: ``a_png_color.png``; if that is already given out or is
    another input's own name (an input ``a_png.png``), by its extension and parent folder,
    ``a_png_q_color.png``, then each folder further up, then a number, ``a_png_2_color.png``.
    :func:`main` prints one line per input named otherwise than its own name.

    Raises :class:`ColorizeError` (a ``ValueError``) if any output (or its side-by-side) would
    overwrite one of the inputs.
    """
    out_dir = Path(out_dir)
    own = [output_name(src) for src in inputs]
    taken = {name.casefold() for name in own}  # no input's own name is ever given to another
    stems: set[str] = set()
    plan = []
    for src, name in zip(inputs, own):
        stem, ext = name[: -len("_color.png")], name[-4:]
        if stem.casefold() not in stems:
            stems.add(stem.casefold())
            plan.append(out_dir / name)
            continue
        for tag in _tags(Path(src)):
            name = f"{stem}_{tag}_color{ext}"
            if name.casefold() not in taken:
                break
        taken.add(name.casefold())
        plan.append(out_dir / name)
    sources = {os.path.normcase(os.path.realpath(p)) for p in inputs}
    for dst in plan:
        for path in (dst, side_name(dst)) if side_by_side else (dst,):
            if os.path.normcase(os.path.realpath(path)) in sources:
                raise ColorizeError(f"{path}: output would overwrite an input; choose another --out")
    return plan


_OWN_OUTPUT = re.compile(r".+_color(_side)?\.(jpg|png)")


def drop_own_outputs(inputs: list[Path], out_dir: Path) -> tuple[list[Path], list[Path]]:
    """(inputs, dropped): inputs lying directly in ``out_dir``, named as colorize names its outputs
    (``<stem>_color.<jpg|png>``, ``…_color_side.…``) and marked as its outputs
    (:func:`colorlib.inference.colorizer.is_own_output`) are an earlier run's results, not photos:
    ``colorize DIR --out DIR`` run twice must not colorize its own outputs — nor take a user's
    photo that merely has such a name for one (that one is an input, never overwritten)."""
    if not out_dir.is_dir():
        return inputs, []
    folder = os.path.realpath(out_dir)
    kept, dropped = [], []
    for src in inputs:
        own = (
            os.path.dirname(os.path.realpath(src)) == folder
            and _OWN_OUTPUT.fullmatch(Path(src).name)
            and is_own_output(src)
        )
        (dropped if own else kept).append(src)
    return kept, dropped


def check_out_dir(out_dir: Path) -> None:
    """Refuse, once and before any work, an --out that is not a folder or cannot be written to.

    Writing is tried (a probe file created and removed): root ignores permission bits, but not a
    read-only mount.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ColorizeError(f"{out_dir}: --out exists and is not a folder")
    if not out_dir.is_dir():
        return  # created once the model is loaded
    problem = write_problem(out_dir)
    if problem is not None:
        raise ColorizeError(f"{out_dir}: cannot write to the --out folder ({problem}); choose another --out")


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


def colorize_paths(
    colorizer: Colorizer,
    inputs: list[Path],
    out_dir: str | os.PathLike,
    side_by_side: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool | None = None,
    log=None,
) -> BatchReport:
    """Colorize every input into ``out_dir``; an unreadable file is reported and skipped.

    ``progress``: a tqdm bar (default: when stderr is a terminal), else one plain line per file.
    ``log`` receives each line (default: print to stderr). Raises :class:`ColorizeError` before
    doing anything if an output would overwrite an input.
    """
    plan = plan_outputs(inputs, out_dir, side_by_side)
    bar = Progress(len(inputs), progress, desc="colorize", unit="img")
    emit = log or (lambda line: bar.log(line, problem=line.startswith("error:")))
    report = BatchReport()
    for i, (src, dst) in enumerate(zip(inputs, plan), 1):
        try:
            if (why := entry_problem(src)) is not None:
                raise ImageError(src, why, "not_a_file")
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
            if bar.bar is None:  # no bar: one line per photo instead
                emit(f"[{i}/{len(inputs)}] {src} -> {dst}")
        bar.advance()
    bar.close()
    return report


# ----------------------------------------------------------------------------- the verb


def run(
    items: list[str],
    out: str | os.PathLike,
    cfg,
    checkpoint: str | os.PathLike | None = None,
    generator: str | None = None,
    side_by_side: bool = False,
    dropout: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> int:
    """The ``colorize`` verb: colorize ``items`` (files, folders) into ``out`` with ``checkpoint``
    (default: the run of ``cfg``); 0 when every input was colorized, 1 when any failed.

    Setup problems raise :class:`ColorizeError` before any photo is read (the CLI prints it as
    one line and exits with ``EXIT_ERROR``); an unreadable photo is reported and the rest still
    processed."""
    out_dir = Path(out)
    check_out_dir(out_dir)
    inputs = collect_inputs(items, exclude=out_dir if out_dir.is_dir() else None)
    inputs, own = drop_own_outputs(inputs, out_dir)
    if own:
        log(f"colorize: skipping {len(own)} earlier output(s) in {out_dir} (named *_color.*), e.g. {own[0].name}")
    if not inputs:
        raise ColorizeError(f"no image files found in {', '.join(map(str, items))}")
    plan = plan_outputs(inputs, out_dir, side_by_side)  # refuse to overwrite an input, early
    model = Path(checkpoint) if checkpoint else cfg.run_dir / "checkpoint.pt"
    if not checkpoint and not model.is_file():
        raise ColorizeError(
            f"{model}: no trained {cfg.generator} model for profile {cfg.profile}; train "
            f"one (python -m colorlib train --profile {cfg.profile} --generator "
            f"{cfg.generator}) or pass --checkpoint"
        )
    colorizer = load_colorizer(model, generator, cfg.resolve_device(), dropout=dropout or cfg.test_dropout)
    try:  # once, not as the same error for every photo
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ColorizeError(f"{out_dir}: cannot create the --out folder ({err.strerror})") from None
    check_out_dir(out_dir)
    for src, dst in zip(inputs, plan):  # inputs sharing a stem: say which output is whose
        if dst.name != output_name(src):
            log(f"{src} -> {dst.name}")
    try:
        report = colorize_paths(colorizer, inputs, out_dir, side_by_side, max_pixels)
    except KeyboardInterrupt:
        log(f"colorize: interrupted; the photos finished so far are in {out_dir}", problem=True)
        return 130
    print(report.summary(out_dir))
    return 1 if report.failed else 0
