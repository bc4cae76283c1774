"""Command line: ``python -m colorlib [--debug] <verb> ...`` (or the ``colorlib`` script).

Every verb is a thin wrapper over one function of the module that owns it; ``python -m colorlib
<verb> -h`` explains each. Errors: colorlib's own (a bad file, setting or input;
:class:`colorlib.errors.ColorlibError`) are printed as one line, ``colorlib <verb>: <what is
wrong and what to do>``, exit status 1 (2 for colorize's setup errors). Anything else — a bug,
a torch shape error, a CUDA error — keeps its full traceback. ``--debug`` (or
``COLORLIB_DEBUG=1``) shows the traceback for every error.
"""
from __future__ import annotations

import importlib
import os
import sys

from .errors import ColorlibError

# verb -> (module whose ``main(argv) -> int`` implements it, what it does)
VERBS = {
    "prepare": ("colorlib.data", "decode a data source once into the 256×256 cache (COCO, a folder, bundled photos)"),
    "train": ("colorlib.train", "train one generator against the PatchGAN (resumable; torchrun for DDP)"),
    "evaluate": ("colorlib.evaluate", "score trained runs and baselines on the test set → metrics.md"),
    "figures": ("colorlib.figures", "draw the paper's figures and tables from what train and evaluate wrote"),
    "colorize": ("colorlib.colorize", "colorize your own photos at full resolution with a trained model"),
    "export": ("colorlib.export", "write a trained generator alone as safetensors, with a model card"),
    "bench": ("colorlib.bench", "time the training step: images/s and MFU against counted FLOPs"),
}
USAGE = "usage: python -m colorlib [--debug] <verb> [options]   (python -m colorlib <verb> -h for a verb's options)"


def _usage(file) -> None:
    width = max(map(len, VERBS))
    print(USAGE, "", "verbs:", *(f"  {verb:<{width}}  {what}" for verb, (_, what) in VERBS.items()), "",
          "  --debug   show the full traceback of any error (also COLORLIB_DEBUG=1)", sep="\n", file=file)


def main(argv: list[str] | None = None) -> int:
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
    module = importlib.import_module(VERBS[verb][0])
    try:
        return int(module.main(argv[1:]) or 0)
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
        return getattr(module, "EXIT_ERROR", 1)
    except Exception as err:
        if debug or type(err).__name__ != "OutOfMemoryError":
            raise
        first = (str(err).strip().splitlines() or [""])[0]
        print(f"colorlib {verb}: out of memory ({first}); lower batch_size (--set batch_size=...)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
