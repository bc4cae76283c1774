"""colorlib.utils.files on real, hostile file systems: a full disk (a small tmpfs) is one clear line.

A tmpfs mount needs root with CAP_SYS_ADMIN; where mounting is impossible the tests that need
one are skipped with the reason. Every mount is unmounted when its test ends.
"""

from __future__ import annotations

import errno
import os
import re

import numpy as np
import pytest
import torch
from conftest import tmpfs
from PIL import Image

from colorlib.checkpoint import atomic_save
from colorlib.utils.errors import ColorlibError
from colorlib.utils.files import DiskFullError, atomic_file, atomic_write


def _noise(side: int) -> Image.Image:
    """Incompressible pixels: its JPEG is larger than the small disk."""
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8))


def test_a_full_disk_is_one_line_and_keeps_the_previous_file(tmp_path):
    with tmpfs(tmp_path / "small") as disk:
        path = disk / "checkpoint.pt"
        atomic_save({"w": torch.zeros(10)}, path)
        before = path.read_bytes()
        with pytest.raises(DiskFullError) as err:  # torch: "[enforce fail at inline_container.cc…"
            atomic_save({"w": torch.zeros(200_000)}, path)
        message = str(err.value)
        assert message.startswith(f"no space left on device writing {path}") and "\n" not in message
        assert isinstance(err.value, OSError) and isinstance(err.value, ColorlibError)
        assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
        assert path.read_bytes() == before
        with pytest.raises(DiskFullError, match=re.escape(f"writing {disk / 'metrics.csv'}")):
            atomic_write(disk / "metrics.csv", "x" * 1_000_000)
        assert sorted(os.listdir(disk)) == ["checkpoint.pt"]
    # photos: Pillow's JPEG encoder ignores a short write to a file descriptor: this 97 kB JPEG
    # was left as its first 64 kB, with no error at all
    with tmpfs(tmp_path / "tiny", size="64k") as disk:
        for name in ("photo_color.jpg", "photo_color.png"):
            with pytest.raises(DiskFullError, match=re.escape(f"writing {disk / name}")):
                with atomic_file(disk / name) as f:
                    _noise(400).save(f, format="JPEG" if name.endswith("jpg") else "PNG")
        assert os.listdir(disk) == []


def test_other_errors_pass_through_unchanged(tmp_path):
    with tmpfs(tmp_path / "small") as disk:
        with pytest.raises(ZeroDivisionError):
            with atomic_file(disk / "x.bin") as f:
                f.write(b"fits")
                1 / 0
        assert os.listdir(disk) == []


def test_append_rows_appends_and_replaces_what_a_resume_repeats(tmp_path):
    from colorlib.utils.files import append_rows

    path = tmp_path / "iterations.csv"
    append_rows(path, ("iteration", "a"), 1, [[0.5], [0.25]])
    append_rows(path, ("iteration", "a"), 3, [[0.125]])
    assert path.read_text() == "iteration,a\n1,0.5\n2,0.25\n3,0.125\n"
    append_rows(path, ("iteration", "a"), 2, [[1.0], [2.0]])  # resumed from iteration 1: 2 and 3 again
    assert path.read_text() == "iteration,a\n1,0.5\n2,1.0\n3,2.0\n"
    # a kill in the middle of an append leaves a line without its newline ("4,0.0" of "4,0.0625"):
    # the resume that redoes iteration 4 drops it (kept, it would read as iteration 4 twice or,
    # cut at "1", as a second iteration 1)
    with open(path, "a") as f:
        f.write("4,0.0")
    append_rows(path, ("iteration", "a"), 4, [[0.0625]])
    assert path.read_text() == "iteration,a\n1,0.5\n2,1.0\n3,2.0\n4,0.0625\n"
    with open(path, "a") as f:
        f.write("1")
    append_rows(path, ("iteration", "a"), 5, [[0.5]])
    assert path.read_text() == "iteration,a\n1,0.5\n2,1.0\n3,2.0\n4,0.0625\n5,0.5\n"
    # a file with its header only (a run killed before its first rows) is written whole again
    path.write_text("iteration,a\n")
    append_rows(path, ("iteration", "a"), 1, [[0.5]])
    assert path.read_text() == "iteration,a\n1,0.5\n"
