"""Command line: ``python -m colorlib [--debug] <verb> ...`` (or the ``colorlib`` script).

Every verb parses its options here and calls one function of the library — the same function a
notebook calls; ``python -m colorlib <verb> -h`` explains each. Errors: colorlib's own (a bad
file, setting or input; :class:`colorlib.utils.errors.ColorlibError`) are printed as one line,
``colorlib <verb>: <what is wrong and what to do>``, exit status 1 (2 for colorize's setup
errors). Anything else — a bug, a torch shape error, a CUDA error — keeps its full traceback.
``--debug`` (or ``COLORLIB_DEBUG=1``) shows the traceback for every error.

The study's operations (benchmarks, gpu-check, the rehearsal, GPU claiming, Slurm) are not verbs:
they live in ``tools/`` and the Makefile runs them (``python -m tools.bench``, …).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable

from colorlib.config import ABLATIONS, GENERATORS, MODES, PROFILES, Config
from colorlib.utils.errors import ColorlibError
from colorlib.utils.files import check_roots

__all__ = ["main", "verb_parser", "add_config_args", "config_from_args", "HelpFormatter", "VERBS"]

USAGE = "usage: python -m colorlib [--debug] <verb> [options]   (python -m colorlib <verb> -h for a verb's options)"


# ----------------------------------------------------------------------------- shared options
class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every verb's ``-h``: the description as written, and each option's default shown
    (unless its help already says it)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or not action.option_strings or action.default in (None, argparse.SUPPRESS, []):
            return text
        default = "off" if action.default is False else "on" if action.default is True else "%(default)s"
        return f"{text} (default: {default})"


def verb_parser(verb: str, description: str | None) -> argparse.ArgumentParser:
    """The argument parser of ``python -m colorlib <verb>``, with the shared :class:`HelpFormatter`."""
    return argparse.ArgumentParser(
        prog=f"python -m colorlib {verb}", description=description, formatter_class=HelpFormatter
    )


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """The options every CLI verb shares: ``--profile NAME`` and repeated ``--set key=value``."""
    parser.add_argument(
        "--profile",
        default=os.environ.get("COLORLIB_PROFILE", "demo"),
        choices=sorted(PROFILES),
        help="named profile (default: $COLORLIB_PROFILE or demo)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a Config field, e.g. --set epochs=3 --set seed=1 (repeatable)",
    )


def config_from_args(args: argparse.Namespace, **changes) -> Config:
    """The Config described by parsed :func:`add_config_args` options, plus ``changes``."""
    cfg = Config.from_profile(args.profile).override(args.overrides)
    return cfg.replace(**changes) if changes else cfg


def _whole(low: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of {what}") from None
        if value < low:
            raise argparse.ArgumentTypeError(
                f"{value} is not a positive number of {what}"
                if low == 1
                else f"expected a whole number ≥ {low}, got {text!r}"
            )
        return value

    return parse


def _first_paragraph(doc: str | None) -> str:
    return (doc or "").split("\n\n")[0]


# ----------------------------------------------------------------------------- the verbs
def prepare(argv: list[str]) -> int:
    from colorlib.utils.download import DownloadPolicy

    module = importlib.import_module("colorlib.data.prepare")  # the module (colorlib.data.prepare is its function)
    parser = verb_parser("prepare", _first_paragraph(module.__doc__).split("\n")[0])
    add_config_args(parser)
    parser.add_argument(
        "--source", choices=("coco", "folder", "bundled"), help="where the images come from (Config.source)"
    )
    parser.add_argument("--folder", help="image tree for --source folder")
    parser.add_argument("--coco-root", help="an existing COCO copy (annotations/, train2014/, test2014/)")
    # checked by DownloadPolicy (one line), like every other download setting
    parser.add_argument("--workers", type=int, default=8, help="parallel downloads (coco)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds without data before a retry")
    parser.add_argument("--retries", type=int, default=5, help="retries per download")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when stderr is a terminal)",
    )
    args = parser.parse_args(argv)
    changes = {
        k: v
        for k, v in (("source", args.source), ("folder", args.folder), ("coco_root", args.coco_root))
        if v is not None
    }
    cfg = config_from_args(args, **changes)
    policy = DownloadPolicy(timeout=args.timeout, retries=args.retries, workers=args.workers)
    try:
        summary = module.prepare(cfg, progress=args.progress, policy=policy)
    except KeyboardInterrupt:
        print(
            "prepare: interrupted; no partial cache was kept (finished downloads were); run the "
            "same command again to continue",
            file=sys.stderr,
        )
        return 130
    print(module.summary_line(summary))
    return 0


def train(argv: list[str]) -> int:
    from colorlib import train as module
    from colorlib.data.batches import training_data

    p = verb_parser("train", module.__doc__)
    add_config_args(p)
    p.add_argument("--generator", choices=GENERATORS + ABLATIONS, help="shorthand for --set generator=...")
    p.add_argument("--seed", type=int, help="shorthand for --set seed=...")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint.pt")
    p.add_argument(
        "--continue-changed",
        action="store_true",
        help="with --resume: continue even though settings or data changed (recorded in segments.json)",
    )
    args = p.parse_args(argv)
    changes = {k: v for k, v in (("generator", args.generator), ("seed", args.seed)) if v is not None}
    cfg = config_from_args(args, **changes)
    check_roots(cfg, "run")
    run_dir = module.train(cfg, training_data(cfg), resume=args.resume, continue_changed=args.continue_changed)
    print(f"done: {run_dir}")
    return 0


def evaluate(argv: list[str]) -> int:
    from colorlib.evaluation import evaluate as module

    parser = verb_parser("evaluate", _first_paragraph(module.__doc__))
    add_config_args(parser)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="runs to evaluate (default: cfg.seed)")
    parser.add_argument(
        "--generators",
        nargs="+",
        default=None,
        choices=list(GENERATORS + ABLATIONS),
        help="generators whose runs to evaluate (default: unet, resnet and the ablation runs that exist)",
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        default=list(MODES),
        choices=list(MODES),
        help="eval: dropout off; dropout: the paper's test-time dropout (§4.2)",
    )
    parser.add_argument(
        "--n-predictions", type=_whole(0, "images"), default=8, help="test images kept for Fig. 7 (≥ 0)"
    )
    args = parser.parse_args(argv)
    cfg = config_from_args(args)
    check_roots(cfg, "results")
    module.evaluate(cfg, args.generators, args.seeds, args.modes, args.n_predictions)
    print(f"wrote {cfg.results_dir / 'metrics.md'}")
    return 0


def figures(argv: list[str]) -> int:
    from colorlib.evaluation import figures as module

    parser = verb_parser("figures", _first_paragraph(module.__doc__))
    add_config_args(parser)
    args = parser.parse_args(argv)
    cfg = config_from_args(args)
    check_roots(cfg, "results")
    paths = module.make_figures(cfg)
    for p in paths:
        print(p)
    if not any(p.suffix == ".png" for p in paths):  # the tables alone are not the paper's figures
        raise module.FigureInputError(
            f"{cfg.results_dir}: no figure drawn (nothing trained or evaluated for "
            f"profile {cfg.profile!r}); run `python -m colorlib train` and `evaluate` first"
        )
    return 0


def colorize(argv: list[str]) -> int:
    from colorlib.data.images import DEFAULT_MAX_PIXELS
    from colorlib.inference import colorize as module
    from colorlib.inference.colorizer import JPEG_QUALITY

    p = verb_parser(
        "colorize",
        "Colorize photos at full resolution with a trained generator: ab is predicted "
        "at 256×256 and put under the photo's own L*. Writes <stem>_color.jpg (JPEG "
        f"inputs, quality {JPEG_QUALITY}) or <stem>_color.png into --out (a later input with "
        "the same stem: <stem>_<ext>_color..., listed). Exit status: 0 all colorized, 1 "
        f"some failed, {module.EXIT_ERROR} bad arguments, --out folder or checkpoint.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    p.add_argument("--out", required=True, help="output folder (created; inputs are never overwritten)")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="generator checkpoint or export (default: <run_dir>/checkpoint.pt of --profile/--generator)",
    )
    p.add_argument(
        "--generator", choices=GENERATORS, default=None, help="require the checkpoint to hold this generator"
    )
    p.add_argument("--side-by-side", action="store_true", help="also write <stem>_color_side.<ext>: input | output")
    p.add_argument(
        "--dropout",
        action="store_true",
        help="keep dropout on at test time, as the paper/pix2pix (§4.2); off: deterministic",
    )
    p.add_argument(
        "--max-pixels",
        type=_whole(1, "pixels"),
        default=DEFAULT_MAX_PIXELS,
        help="refuse larger images, in pixels (100 MP: possible decompression bombs)",
    )
    add_config_args(p)
    args = p.parse_args(argv)
    cfg = config_from_args(args, **({"generator": args.generator} if args.generator else {}))
    return module.run(
        args.inputs, args.out, cfg, args.checkpoint, args.generator, args.side_by_side, args.dropout, args.max_pixels
    )


def export(argv: list[str]) -> int:
    from colorlib.inference import export as module

    parser = verb_parser("export", _first_paragraph(module.__doc__))
    parser.add_argument("source", metavar="RUN_OR_CHECKPOINT", help="a run folder or its checkpoint.pt")
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="the .safetensors file to write (FILE.md beside it)"
    )
    parser.add_argument("--fp16", action="store_true", help="store the weights as float16 (half the size)")
    args = parser.parse_args(argv)
    out = module.export(args.source, args.out, args.fp16)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.0f} MB) and {out.with_suffix('.md')}")
    return 0


def check(argv: list[str]) -> int:
    from colorlib.evaluation import claims

    parser = verb_parser(
        "check",
        "Did these results reproduce their record (results/<profile>/record.json, "
        "or the paper's numbers)? One line; exit 0 either way: not reproducing is a finding.",
    )
    add_config_args(parser)
    args = parser.parse_args(argv)
    cfg = config_from_args(args)
    print(f"Did it reproduce the record? {claims.check(cfg.results_dir, cfg.profile)[1]}")
    return 0


# verb -> (its function, what it does, exit status of its setup errors)
VERBS: dict[str, tuple[Callable[[list[str]], int], str, int]] = {
    "prepare": (prepare, "decode a data source once into the 256×256 cache (COCO, a folder, bundled photos)", 1),
    "train": (train, "train one generator against the PatchGAN (resumable; torchrun for DDP)", 1),
    "evaluate": (evaluate, "score trained runs and baselines on the test set → metrics.md", 1),
    "figures": (figures, "draw the paper's figures and tables from what train and evaluate wrote", 1),
    "colorize": (colorize, "colorize your own photos at full resolution with a trained model", 2),
    "export": (export, "write a trained generator alone as safetensors, with a model card", 1),
    "check": (check, "say in one line whether a profile's results reproduced their record", 1),
}


def _usage(file) -> None:
    width = max(map(len, VERBS))
    print(
        USAGE,
        "",
        "verbs:",
        *(f"  {verb:<{width}}  {what}" for verb, (_, what, _) in VERBS.items()),
        "",
        "  --debug   show the full traceback of any error (also COLORLIB_DEBUG=1)",
        sep="\n",
        file=file,
    )


def _printable_streams() -> None:
    """A file name that is not valid UTF-8 (decoded with surrogate escapes) must not crash a
    print under a strict encoding (PYTHONIOENCODING=utf-8:strict, a C locale): such characters
    are shown backslash-escaped, everything else as it is."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and getattr(stream, "errors", "") == "strict":
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    _printable_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("COLORLIB_DEBUG", "") not in ("", "0")
    if argv[:1] == ["--debug"]:
        debug, argv = True, argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        _usage(sys.stdout)
        return 0
    verb = argv[0]
    if verb not in VERBS:
        print(USAGE, f"unknown verb {verb!r}; choose one of {', '.join(VERBS)}", sep="\n", file=sys.stderr)
        return 2
    run, _, exit_error = VERBS[verb]
    try:
        return int(run(argv[1:]) or 0)
    except BrokenPipeError:  # `python -m colorlib ... | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback (work written so far is intact)
        if debug:
            raise
        print(f"colorlib {verb}: interrupted", file=sys.stderr)
        return 130
    except ColorlibError as err:
        if debug:
            raise
        print(f"colorlib {verb}: {err}", file=sys.stderr)
        return exit_error
    except Exception as err:
        if debug or type(err).__name__ != "OutOfMemoryError":
            raise
        first = (str(err).strip().splitlines() or [""])[0]
        print(f"colorlib {verb}: out of memory ({first}); lower batch_size (--set batch_size=...)", file=sys.stderr)
        return 1
