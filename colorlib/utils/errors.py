"""colorlib's own error types: a problem with the user's input, files or settings.

Each says in one line what (file or setting) is wrong and what to do. The command line prints
these as one line (see ``colorlib.__main__``); anything else — a torch shape error, a CUDA
error, a bug — keeps its traceback. ``--debug`` (or ``COLORLIB_DEBUG=1``) shows the traceback
of every error. Each type also derives from the built-in exception it used to be, so existing
``except ValueError`` / ``except OSError`` code keeps working.
"""

from __future__ import annotations

__all__ = ["ColorlibError", "ConfigError", "RunExistsError"]


class ColorlibError(Exception):
    """Base of every error colorlib raises on purpose, for one-line reporting."""


class ConfigError(ColorlibError, ValueError):
    """A Config value or override no run could use (names the field)."""


class RunExistsError(ColorlibError, FileExistsError):
    """A training run already exists where a new one would start (pass --resume)."""
