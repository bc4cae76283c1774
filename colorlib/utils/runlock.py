"""One writer per run folder: an exclusive lock held for the whole training.

``with run_lock(run_dir):`` takes an exclusive ``flock`` on ``run_dir/.lock`` (the OS releases
it when the process ends, however it ends — no stale lock after a kill) and writes the holder's
PID into it. A second training of the same run stops at once with one line naming that PID,
before it touches any file of the run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from colorlib.utils.errors import ColorlibError

__all__ = ["RunInUseError", "run_lock"]


class RunInUseError(ColorlibError, RuntimeError):
    """Another live process is training the same run."""


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike, enabled: bool = True) -> Iterator[None]:
    """Hold the run folder's lock (created if needed) for the block; ``enabled=False``: no-op
    (DDP ranks other than 0, which write nothing)."""
    if not enabled:
        yield
        return
    path = Path(run_dir) / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "unknown"
            raise RunInUseError(
                f"{run_dir}: this run is in use by another training (PID {pid}); wait for it "
                f"to finish or stop it, or train another run (--seed / --set run_root=...)"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock; the file stays (removing it would race a new holder)
