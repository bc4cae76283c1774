"""``python -m colorlib``: the command line (:mod:`colorlib.cli`)."""

import sys

from colorlib.cli import main

if __name__ == "__main__":
    sys.exit(main())
