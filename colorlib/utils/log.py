"""What colorlib tells people while it works: one helper for lines and progress bars.

The rule, the same for every verb and notebook:

- a line about what the work is doing (``epoch 3/18 …``, ``evaluate: unet [eval] 8 images …``)
  goes to **stdout** — a notebook shows stderr as an alarm, and this is no alarm;
- a line about a problem — an input skipped, a warning, a file that failed — goes to **stderr**
  (``problem=True``), where a user and a log filter look for them;
- a progress bar (tqdm) draws on stderr, only where stderr is a terminal (or when asked), and
  lines written while it runs go above it instead of breaking it. Without a bar, a long loop
  may print a few plain count lines instead (``every``).
"""

from __future__ import annotations

import sys
import time

__all__ = ["log", "Progress"]


def log(line: str, *, problem: bool = False) -> None:
    """Print one line: progress on stdout, a ``problem`` on stderr (flushed, bar-safe)."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr if problem else sys.stdout)
    (sys.stderr if problem else sys.stdout).flush()


class Progress:
    """A tqdm bar over ``total`` items when ``enabled`` (default: stderr is a terminal), else, with
    ``every``, a plain ``desc: done/total (rate/s)`` line every ``every`` items (and at the end).

    Use as a context manager (the bar closes however the block ends)::

        with Progress(len(files), desc="prepare", unit="img", every=100) as bar:
            for f in files:
                ...
                bar.log(f"skipped {f}: …", problem=True)   # above the bar, on stderr
                bar.advance()
    """

    def __init__(
        self,
        total: int,
        enabled: bool | None = None,
        *,
        desc: str = "",
        unit: str = "it",
        every: int | None = None,
        leave: bool = True,
    ):
        self.total, self.done, self.desc, self.every = total, 0, desc, every
        self.start = time.perf_counter()
        self.bar = None
        if sys.stderr.isatty() if enabled is None else enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit, leave=leave, file=sys.stderr)

    def log(self, line: str, *, problem: bool = False) -> None:
        log(line, problem=problem)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.every and (self.done % self.every == 0 or self.done == self.total >= self.every):
            rate = self.done / max(time.perf_counter() - self.start, 1e-9)
            log(f"{self.desc}: {self.done}/{self.total} ({rate:.1f}/s)")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
