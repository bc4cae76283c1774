"""What ``prepare`` tells people while it runs: skip lines as they happen, and a progress bar on a
terminal (a few plain lines otherwise)."""
from __future__ import annotations

import sys
import time

__all__ = ["Report"]


class Report:
    """Skip lines as they happen, a progress bar on a terminal (plain lines otherwise)."""

    def __init__(self, total: int, progress: bool | None):
        self.total, self.done, self.start = total, 0, time.perf_counter()
        if progress is None:
            progress = sys.stderr.isatty()
        self.bar = None
        if progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, unit="img", desc="prepare", file=sys.stderr)
        self.every = max(100, total // 10)  # plain lines: at most ~10, none for tiny sets

    def log(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def advance(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.done % self.every == 0 or (self.done == self.total >= self.every):
            rate = self.done / max(time.perf_counter() - self.start, 1e-9)
            self.log(f"prepare: {self.done}/{self.total} images ({rate:.1f}/s)")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
