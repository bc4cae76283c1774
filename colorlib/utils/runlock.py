"""One writer per folder: an exclusive lock held for the whole training (a run folder) or the
whole evaluation (a profile's results folder).

``with run_lock(run_dir):`` takes an exclusive ``flock`` on ``run_dir/.lock`` (the OS releases
it when the process ends, however it ends — no stale lock after a kill) and writes the holder's
PID into it. A second training of the same run stops at once with one line naming that PID,
before it touches any file of the run; ``results_lock`` does the same for evaluations.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from colorlib.utils.errors import ColorlibError

__all__ = ["RunInUseError", "run_lock", "ResultsInUseError", "results_lock"]


class RunInUseError(ColorlibError, RuntimeError):
    """Another live process is training the same run."""


class ResultsInUseError(ColorlibError, RuntimeError):
    """Another live process is writing the same profile's results (an evaluation)."""


@contextlib.contextmanager
def _folder_lock(folder: str | os.PathLike, in_use: Callable[[str], Exception]) -> Iterator[None]:
    """Hold ``folder/.lock`` (created if needed) for the block; a holder already there raises
    ``in_use(its PID)`` at once. Released by the OS however the holder ends."""
    path = Path(folder) / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise in_use(handle.read().strip() or "unknown") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock; the file stays (removing it would race a new holder)


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike, enabled: bool = True) -> Iterator[None]:
    """Hold the run folder's lock for the block; ``enabled=False``: no-op (DDP ranks other than 0,
    which write nothing)."""
    if not enabled:
        yield
        return
    with _folder_lock(
        run_dir,
        lambda pid: RunInUseError(
            f"{run_dir}: this run is in use by another training (PID {pid}); wait for it "
            f"to finish or stop it, or train another run (--seed / --set run_root=...)"
        ),
    ):
        yield


@contextlib.contextmanager
def results_lock(results_dir: str | os.PathLike) -> Iterator[None]:
    """Hold ``results_dir``'s lock for the block, as :func:`run_lock` holds a run's: a second
    evaluation of the same profile stops at once with one line naming the PID, before it reads
    or writes any result."""
    with _folder_lock(
        results_dir,
        lambda pid: ResultsInUseError(
            f"{results_dir}: these results are being written by another evaluation "
            f"(PID {pid}); wait for it to finish or stop it, or write elsewhere "
            f"(--set results_root=...)"
        ),
    ):
        yield
