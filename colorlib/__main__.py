"""Command line: ``python -m colorlib [--debug] <verb> ...`` (or the ``colorlib`` script).

Verbs: prepare, train, evaluate, figures, colorize, bench. ``python -m colorlib <verb> -h``
explains each. Every verb is a thin wrapper over one function of the module that owns it.

Errors: colorlib's own (a bad file, setting or input; :class:`colorlib.errors.ColorlibError`)
are printed as one line, ``colorlib <verb>: <what is wrong and what to do>``, with exit status 1
(2 for colorize's setup errors). Anything else — a bug, a torch shape error, a CUDA error —
keeps its full traceback. ``--debug`` (or ``COLORLIB_DEBUG=1``) shows the traceback for every
error.
"""
from __future__ import annotations

import importlib
import os
import sys

from .errors import ColorlibError

# verb -> module whose ``main(argv) -> int`` implements it
VERBS = {
    "prepare": "colorlib.data",
    "train": "colorlib.train",
    "bench": "colorlib.bench",
    "evaluate": "colorlib.evaluate",
    "figures": "colorlib.figures",
    "colorize": "colorlib.colorize",
}


def _usage(file) -> None:
    print(__doc__.strip(), file=file)


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
        _usage(sys.stderr)
        print(f"\nunknown verb {verb!r}; choose one of {', '.join(VERBS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(VERBS[verb])
    try:
        return int(module.main(argv[1:]) or 0)
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
