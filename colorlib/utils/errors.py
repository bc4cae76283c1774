"""colorlib's own error types: a problem with the user's input, files or settings.

Each says in one line what (file or setting) is wrong and what to do. The command line prints
these as one line (see ``colorlib.__main__``); anything else — a torch shape error, a CUDA
error, a bug — keeps its traceback. ``--debug`` (or ``COLORLIB_DEBUG=1``) shows the traceback
of every error. Each type also derives from the built-in exception it used to be, so existing
``except ValueError`` / ``except OSError`` code keeps working.
"""

from __future__ import annotations

__all__ = ["ColorlibError", "ConfigError", "RunExistsError", "first_sentence"]


class ColorlibError(Exception):
    """Base of every error colorlib raises on purpose, for one-line reporting."""


class ConfigError(ColorlibError, ValueError):
    """A Config value or override no run could use (names the field)."""


class RunExistsError(ColorlibError, FileExistsError):
    """A training run already exists where a new one would start (pass --resume)."""


def first_sentence(err: Exception) -> str:
    """torch's load errors run to several paragraphs; keep their first sentence, one line."""
    text = " ".join(str(err).split())
    cut = text.find(". ")
    text = text[: cut + 1] if 0 < cut < 200 else text[:200]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__  # e.g. "KeyError: '105'"
