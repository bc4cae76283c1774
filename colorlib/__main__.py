"""Command line: ``python -m colorlib <verb> ...`` (or the ``colorlib`` script).

Verbs: prepare, train, evaluate, figures, colorize, bench. ``python -m colorlib <verb> -h``
explains each. Every verb is a thin wrapper over one function of the module that owns it.
"""
from __future__ import annotations

import importlib
import sys

# verb -> module whose ``main(argv) -> int`` implements it
VERBS = {
    "prepare": "colorlib.data",
    "train": "colorlib.train",
    "bench": "colorlib.bench",
    "evaluate": "colorlib.evaluate",
    "figures": "colorlib.figures",
    "colorize": "colorlib.colorize_batch",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in VERBS:
        print(__doc__.strip(), file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nunknown verb {argv[0]!r}; choose one of {', '.join(VERBS)}", file=sys.stderr)
            return 2
        return 0
    module = importlib.import_module(VERBS[argv[0]])
    try:
        return int(module.main(argv[1:]) or 0)
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback (work written so far is intact)
        print(f"colorlib {argv[0]}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
