"""Memory follows pixels, not shape (issue 19): colorize's full-resolution work is done in tiles
bounded in rows AND columns, so a 1,000,000×1 PNG (1 MP, a few KB) costs what 1 MP costs — the
old path widened the 256² ab to 256×W floats first: 2 GB per million columns, 3 GB peak."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from colorlib.inference import colorizer as colorizer_module
from colorlib.inference.colorizer import Colorizer


@pytest.mark.parametrize("size", [(1_000_000, 1), (1, 1_000_000)])
def test_an_extreme_aspect_photo_costs_what_its_pixels_cost(unet_checkpoint, tmp_path, size):
    src = tmp_path / "line.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(src)
    script = textwrap.dedent(f"""
        import numpy as np
        from colorlib.inference.colorizer import load_colorizer
        def peak():
            return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) * 1024
        c = load_colorizer({str(unet_checkpoint[0])!r})
        for _ in range(2):
            c.predict_ab_lab(np.zeros((256, 256, 3), "uint8"))
        base = peak()
        c.colorize_file({str(src)!r}, {str(tmp_path / "out.png")!r})
        print(peak() - base)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    grown = int(out.stdout.split()[-1])
    with Image.open(tmp_path / "out.png") as img:
        assert img.size == size
    assert grown < 250e6, f"{grown / 1e6:.0f} MB for a 1 MP image of shape {size}"


def test_column_tiles_give_the_same_pixels_as_whole_rows(unet_checkpoint, monkeypatch):
    c = Colorizer(unet_checkpoint[1], "unet")
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 256, (37, 3001, 3), dtype=np.uint8))
    whole = np.asarray(c.colorize(photo))
    monkeypatch.setattr(colorizer_module, "TILE_COLUMNS", 97)
    monkeypatch.setattr(colorizer_module, "STRIPE_PIXELS", 97 * 5)
    assert len(colorizer_module._tiles(*photo.size)) > 100
    assert np.array_equal(np.asarray(c.colorize(photo)), whole)
