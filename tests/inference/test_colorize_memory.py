"""What colorizing a large photo costs in memory (colorlib/inference/colorizer.py, issue: 12 MP below ~700 MB).

The whole-process figures (torch's own import included) come from
``benchmarks/bench_colorize_memory.py``; these tests pin the parts colorlib controls: no
torchvision for the U-Net, one full-size image per photo (the result is written into the decoded
photo, stripe by stripe), and results identical to colorizing into a new image.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from colorlib.inference import colorizer as colorizer_module
from colorlib.inference.colorizer import Colorizer


def _run(script: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_colorizing_with_the_unet_loads_no_torchvision(unet_checkpoint, tmp_path):
    """torchvision is only the ResNet encoder's: importing it costs ≈ 0.2 GB of resident memory."""
    Image.fromarray(skdata.chelsea()).save(tmp_path / "cat.jpg")
    stdout = _run(f"""
        import sys
        from colorlib.__main__ import main
        code = main(["colorize", {str(tmp_path / "cat.jpg")!r}, "--out", {str(tmp_path / "out")!r},
                     "--checkpoint", {str(unet_checkpoint[0])!r}])
        print(code, sorted(m for m in sys.modules if m.split(".")[0] == "torchvision"))
    """)
    assert stdout.split("\n")[-2] == "0 []"
    assert (tmp_path / "out" / "cat_color.jpg").is_file()


def test_a_12_megapixel_photo_costs_less_than_two_full_size_images(unet_checkpoint, tmp_path):
    """Beyond the loaded, warmed-up model, colorizing a 4000×3000 JPEG into a JPEG raises the peak
    resident memory by less than two full-size images (Pillow keeps RGB at 4 bytes a pixel: 48 MB
    each). Decoding the photo takes one; the stripes' working memory is small. (Converting the
    whole photo at once, with copies of input and output, took ≈ 4: 180–220 MB.)"""
    rng = np.random.default_rng(0)
    rows = np.linspace(0, 255, 3000, dtype=np.float32)[:, None, None]
    photo = np.clip(rows + rng.normal(0, 6, (3000, 4000, 3)).astype(np.float32), 0, 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.jpg", quality=90)
    del photo
    grown = int(
        _run(f"""
        import numpy as np
        from colorlib.inference.colorizer import load_colorizer
        def peak():
            return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) * 1024
        c = load_colorizer({str(unet_checkpoint[0])!r})
        for _ in range(2):
            c.predict_ab_lab(np.zeros((256, 256, 3), "uint8"))
        base = peak()
        c.colorize_file({str(tmp_path / "photo.jpg")!r}, {str(tmp_path / "photo_color.jpg")!r})
        print(peak() - base)
    """)
    )
    with Image.open(tmp_path / "photo_color.jpg") as out:
        assert out.size == (4000, 3000)
    full_size = 4000 * 3000 * 4
    assert grown < 2 * full_size, f"{grown / 1e6:.0f} MB"


def test_colorizing_in_place_equals_colorizing_into_a_new_image(unet_checkpoint, monkeypatch):
    """Many stripes on a thread pool, each read from the photo and written back into it: the
    pixels are those of a separate output image, and the input is only overwritten when asked."""
    monkeypatch.setattr(colorizer_module, "STRIPE_PIXELS", 1 << 14)  # ≈ 30 stripes of this photo
    c = Colorizer(unet_checkpoint[1], "unet")
    photo = Image.fromarray(skdata.astronaut()).resize((611, 733))
    before = np.asarray(photo).copy()
    fresh = c.colorize(photo)
    assert np.array_equal(np.asarray(photo), before) and fresh is not photo
    in_place = c.colorize(photo, out=photo)
    assert in_place is photo and np.array_equal(np.asarray(in_place), np.asarray(fresh))
    assert not np.array_equal(np.asarray(fresh), before)
    with pytest.raises(ValueError, match="out must be RGB"):
        c.colorize(photo, out=Image.new("RGB", (10, 10)))
