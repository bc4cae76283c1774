"""colorize --side-by-side: input | output under a caption band naming each half."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from colorlib.inference.colorizer import Colorizer, captioned_pair, side_name


class _Tint(torch.nn.Module):
    """ab = a constant tint (blue-ish) for any L: a colorized output that differs from its input."""

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        return torch.tensor([0.3, -0.3]).view(1, 2, 1, 1).expand(L.shape[0], 2, *L.shape[2:]).clone()


def _gray_photo(path, w: int = 320, h: int = 200) -> None:
    ramp = np.tile(np.linspace(30, 220, w, dtype=np.float32), (h, 1)).astype(np.uint8)
    Image.fromarray(ramp, "L").convert("RGB").save(path)


def test_side_image_has_a_caption_band_over_input_and_unlabelled_output(tmp_path):
    src, dst = tmp_path / "photo.png", tmp_path / "photo_color.png"
    _gray_photo(src)
    written = Colorizer(_Tint(), "unet").colorize_file(src, dst, side_by_side=True)
    assert written == [dst, side_name(dst)]
    with Image.open(src) as a, Image.open(dst) as b, Image.open(side_name(dst)) as s:
        inp, out, side = np.asarray(a.convert("RGB")), np.asarray(b), np.asarray(s)
    h, w = inp.shape[:2]
    band = side.shape[0] - h
    assert out.shape == inp.shape and side.shape[1] == 2 * w and band >= 10
    np.testing.assert_array_equal(side[band:, w:], out)  # the right half is the output file itself
    np.testing.assert_array_equal(side[band:, :w], inp)
    for half in (side[:band, :w], side[:band, w:]):  # a white band with dark caption text in each half
        assert (half == 255).all(axis=-1).mean() > 0.7 and (half.max(axis=-1) < 100).sum() > 20
    assert out.std(axis=-1).mean() > 1  # the output itself is colorized …
    assert (out == out[h // 2]).all()  # … and unlabelled: every row the same, as the input ramp's


def test_captions_fit_a_tiny_image_and_scale_with_a_large_one():
    small = captioned_pair(
        Image.new("RGB", (60, 40), "gray"), Image.new("RGB", (60, 40), "red"), "gray (input L*)", "colorized (ResNet)"
    )
    large = captioned_pair(
        Image.new("RGB", (2000, 1500), "gray"),
        Image.new("RGB", (2000, 1500), "red"),
        "gray (input L*)",
        "colorized (ResNet)",
    )
    assert small.size[0] == 120 and 10 <= small.size[1] - 40 <= 20
    assert large.size[0] == 4000 and 100 <= large.size[1] - 1500 <= 120  # ~7% of the image's height
    text = np.asarray(large)[: large.size[1] - 1500]
    cols = np.flatnonzero((text.max(axis=-1) < 100).any(axis=0))
    assert cols.min() > 0 and cols.max() < 4000 and (cols < 2000).any() and (cols >= 2000).any()
