"""colorlib.lab against scikit-image (§4.1, Eq. 4–8): accuracy, ranges, robustness, dtypes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from skimage import color, data, transform

from colorlib import lab as lab_module
from colorlib.lab import (
    denormalize_lab,
    join_lab,
    lab_from_uint8,
    lab_to_rgb,
    luminance_from_uint8,
    normalize_lab,
    rgb_to_lab,
    split_lab,
    uint8_from_lab,
    uint8_from_luminance_ab,
)

TOL = 1e-4  # max abs difference to skimage, Lab units or RGB in [0, 1]

# The eight corners of the RGB cube: black, white, R, G, B, yellow, cyan, magenta (N=1, H=8, W=1).
CORNERS = torch.tensor(
    [[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=torch.float32
).T.reshape(1, 3, 8, 1)


def _sk_rgb2lab(rgb: torch.Tensor) -> torch.Tensor:
    """skimage.color.rgb2lab in float64, image by image, NCHW in and out."""
    out = [color.rgb2lab(im.permute(1, 2, 0).double().numpy()) for im in rgb.float()]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)


def _sk_lab2rgb(lab: torch.Tensor) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns when it clips negative Z values
        out = [color.lab2rgb(im.permute(1, 2, 0).double().numpy()) for im in lab.float()]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)


@pytest.fixture(scope="module")
def rgb() -> torch.Tensor:
    """Random sRGB in [0, 1], 2×3×16×16, with the cube corners and the companding knee in it."""
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    x[0, :, :8, :1] = CORNERS[0]
    x[1, :, 0, :3] = torch.tensor([0.04045, 0.0031308, 0.5]).view(3, 1)  # thresholds
    return x


def _maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


def test_rgb_to_lab_matches_skimage(rgb):
    lab = rgb_to_lab(rgb)
    assert lab.dtype == torch.float32 and lab.shape == rgb.shape
    assert _maxdiff(lab, _sk_rgb2lab(rgb)) <= TOL


def test_lab_to_rgb_matches_skimage(rgb):
    lab = _sk_rgb2lab(rgb).float()
    out = lab_to_rgb(lab)
    assert out.dtype == torch.float32
    assert _maxdiff(out, _sk_lab2rgb(lab)) <= TOL


def test_lab_to_rgb_matches_skimage_out_of_gamut():
    """Random Lab over the whole box, most of it outside sRGB: both clip the same way."""
    g = torch.Generator().manual_seed(1)
    lab = torch.cat(
        [torch.rand(2, 1, 16, 16, generator=g) * 100, (torch.rand(2, 2, 16, 16, generator=g) * 2 - 1) * 128], dim=1
    )
    assert _maxdiff(lab_to_rgb(lab), _sk_lab2rgb(lab)) <= TOL


def test_under_bf16_autocast_stays_float32_and_accurate(rgb):
    """Inside ``torch.autocast("cpu", bfloat16)`` (as in AMP training) the colour maths must not
    drop to bf16 (≈3 significant digits would give errors of ~0.5 in L)."""
    ref_lab = _sk_rgb2lab(rgb)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        lab = rgb_to_lab(rgb)
        back = lab_to_rgb(ref_lab.float())
    assert lab.dtype == torch.float32 and back.dtype == torch.float32
    assert _maxdiff(lab, ref_lab) <= TOL
    assert _maxdiff(back, _sk_lab2rgb(ref_lab)) <= TOL


def test_bf16_input_tensors(rgb):
    """A bf16 tensor is converted exactly as its (bf16-rounded) values in float32."""
    x = rgb.bfloat16()
    lab = rgb_to_lab(x)
    assert lab.dtype == torch.float32
    assert _maxdiff(lab, _sk_rgb2lab(x.float())) <= TOL
    back = lab_to_rgb(lab.bfloat16())
    assert back.dtype == torch.float32
    assert _maxdiff(back, _sk_lab2rgb(lab.bfloat16().float())) <= TOL


def test_round_trip_float(rgb):
    assert _maxdiff(lab_to_rgb(rgb_to_lab(rgb)), rgb) <= TOL


def test_normalized_ranges_section_4_1():
    """Eq. 4–6: L/50 − 1 spans [−1, 1] exactly (black → −1, white → +1); a/110, b/110 stay
    within [−1, 1] for the whole sRGB gamut — the extremes are the pure colours: green has the
    most negative a (≈ −86), magenta the largest a (≈ +98), blue the most negative b (≈ −108),
    yellow the largest b (≈ +94)."""
    norm = normalize_lab(rgb_to_lab(CORNERS))[0, :, :, 0]  # 3×8: L, a, b of each corner
    L, a, b = norm
    assert L[0].item() == pytest.approx(-1.0, abs=1e-6)
    assert L[1].item() == pytest.approx(1.0, abs=1e-5)
    assert a[:2].abs().max() < 1e-3 and b[:2].abs().max() < 1e-3  # greys are neutral
    assert a.argmin() == 3 and a.argmax() == 7 and b.argmin() == 4 and b.argmax() == 5
    assert a.min().item() == pytest.approx(-86.18 / 110, abs=1e-3)
    assert a.max().item() == pytest.approx(98.23 / 110, abs=1e-3)
    assert b.min().item() == pytest.approx(-107.86 / 110, abs=1e-3)
    assert b.max().item() == pytest.approx(94.48 / 110, abs=1e-3)
    # … and every colour in between (a dense random sample of the cube) stays inside.
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    norm = normalize_lab(rgb_to_lab(x))
    assert norm[:, 0].min() >= -1 and norm[:, 0].max() <= 1
    assert norm[:, 1:].abs().max() <= 1


def test_normalize_denormalize_split_join(rgb):
    lab = rgb_to_lab(rgb)
    norm = normalize_lab(lab)
    assert torch.allclose(norm[:, 0], lab[:, 0] / 50 - 1) and torch.allclose(norm[:, 1:], lab[:, 1:] / 110)
    assert torch.allclose(denormalize_lab(norm), lab, atol=1e-4)
    L, ab = split_lab(norm)
    assert L.shape == (2, 1, 16, 16) and ab.shape == (2, 2, 16, 16)
    assert torch.equal(join_lab(L, ab), norm)
    assert join_lab(L, ab.bfloat16()).dtype == torch.float32  # Eq. 11 keeps L's dtype


def test_uint8_round_trip_within_one_level():
    """uint8 → normalized (L, ab) → uint8 on every grey level, random pixels and a real photo."""
    g = torch.Generator().manual_seed(3)
    grey = torch.arange(256, dtype=torch.uint8).view(1, 16, 16, 1).expand(1, 16, 16, 3)
    noise = torch.randint(0, 256, (1, 16, 16, 3), generator=g, dtype=torch.uint8)
    photo = transform.resize(data.astronaut(), (16, 16), preserve_range=True, anti_aliasing=True)
    photo = torch.from_numpy(photo.round().astype(np.uint8))[None]
    images = torch.cat([grey, noise, photo])
    L, ab = lab_from_uint8(images)
    assert L.shape == (3, 1, 16, 16) and ab.shape == (3, 2, 16, 16) and L.dtype == torch.float32
    assert L.min() >= -1 and L.max() <= 1 and ab.abs().max() <= 1
    back = uint8_from_lab(L, ab)
    assert back.dtype == torch.uint8 and back.shape == images.shape
    assert (back.int() - images.int()).abs().max() <= 1


def test_lab_from_uint8_rejects_wrong_input():
    with pytest.raises(ValueError, match="uint8"):
        lab_from_uint8(torch.zeros(1, 8, 8, 3))  # float, not uint8
    with pytest.raises(ValueError, match="N×H×W×3"):
        lab_from_uint8(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))  # NCHW, not NHWC


def test_wrong_shapes_raise():
    with pytest.raises(ValueError, match=r"rgb_to_lab.*\(3, 8, 8\)"):
        rgb_to_lab(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match=r"lab_to_rgb.*\(1, 2, 8, 8\)"):
        lab_to_rgb(torch.zeros(1, 2, 8, 8))


def test_out_of_gamut_lab_is_finite_and_clipped():
    """Extreme Lab (L 0..100 and beyond, a, b = ±128 and beyond) → finite RGB in [0, 1], no NaN."""
    L = torch.tensor([-10.0, 0.0, 50.0, 100.0, 150.0])
    ab = torch.tensor([-500.0, -128.0, 0.0, 128.0, 500.0])
    grid = torch.stack(torch.meshgrid(L, ab, ab, indexing="ij")).reshape(1, 3, -1, 1)
    rgb = lab_to_rgb(grid)
    assert torch.isfinite(rgb).all()
    assert rgb.min() >= 0 and rgb.max() <= 1
    # The generator's extreme output (Tanh = ±1 everywhere) must decode too.
    L1 = torch.tensor([-1.0, 1.0]).view(1, 1, 2, 1).expand(1, 1, 2, 2)
    ab1 = torch.tensor([-1.0, 1.0]).view(1, 1, 1, 2).expand(1, 2, 2, 2)
    out = uint8_from_lab(L1, ab1)
    assert out.dtype == torch.uint8 and out.shape == (1, 2, 2, 3)


def test_gradients_finite_at_the_ends():
    """The pow branches are clamped, so 0 and 1 (and the knees) give finite gradients both ways."""
    x = torch.tensor([0.0, 1.0, 0.04045, 0.5]).view(1, 1, 4, 1).expand(1, 3, 4, 1).clone()
    x.requires_grad_(True)
    rgb_to_lab(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    lab = torch.tensor([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [50.0, 128.0, -128.0]]).T.reshape(1, 3, 3, 1)
    lab.requires_grad_(True)
    lab_to_rgb(lab).sum().backward()
    assert torch.isfinite(lab.grad).all()


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_colour_constants_are_converted_once_per_device_and_dtype(device):
    """No host→device copy of the matrices or the white point per call (a blocking copy on CUDA)."""
    dev = torch.device(device, 0) if device == "cuda" else torch.device(device)
    first = lab_module._constants(dev, torch.float32)
    assert all(a is b for a, b in zip(first, lab_module._constants(dev, torch.float32)))
    assert first[0].device == dev and first[0].dtype == torch.float32
    assert lab_module._constants(dev, torch.float64)[0].dtype == torch.float64
    x = torch.rand(1, 3, 4, 4, device=dev)
    lab_to_rgb(rgb_to_lab(x))
    misses = lab_module._constants.cache_info().misses
    lab_to_rgb(rgb_to_lab(x))
    assert lab_module._constants.cache_info().misses == misses


def test_constants_first_made_in_inference_mode_still_serve_autograd():
    """Colorizing (inference mode) may run first in a process that trains afterwards."""
    lab_module._constants.cache_clear()
    x = torch.rand(1, 3, 4, 4)
    with torch.inference_mode():
        lab_to_rgb(rgb_to_lab(x))
    x.requires_grad_(True)
    lab_to_rgb(rgb_to_lab(x)).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_full_resolution_path_matches_uint8_from_lab():
    """luminance_from_uint8 + uint8_from_luminance_ab (table-based, H×W×3) = uint8_from_lab ±1 level,
    out-of-gamut ab included; and Y is the image's L* exactly (L* = 116·f(Y) − 16)."""
    g = torch.Generator().manual_seed(4)
    image = torch.randint(0, 256, (48, 64, 3), generator=g, dtype=torch.uint8)
    ab = (torch.rand(2, 48, 64, generator=g) * 2 - 1) * 120  # Lab units
    Y = luminance_from_uint8(image)
    assert Y.shape == (48, 64) and Y.dtype == torch.float32
    L_norm, _ = lab_from_uint8(image[None])
    L_star = 116.0 * lab_module._f(Y) - 16.0
    assert _maxdiff(L_star, (L_norm[0, 0] + 1) * 50) <= TOL
    out = uint8_from_luminance_ab(Y, ab)
    assert out.dtype == torch.uint8 and out.shape == (48, 64, 3)
    ref = uint8_from_lab(L_norm, ab[None] / 110.0)[0]
    assert (out.int() - ref.int()).abs().max() <= 1


def test_full_resolution_path_takes_any_layout():
    """A strided or permuted uint8 image (a crop, a CHW tensor seen as HWC) gives the same Y and
    RGB as its contiguous copy."""
    g = torch.Generator().manual_seed(5)
    chw = torch.randint(0, 256, (3, 20, 30), generator=g, dtype=torch.uint8)
    ab = (torch.rand(2, 20, 15, generator=g) * 2 - 1) * 80
    for view in (chw.permute(1, 2, 0), chw.permute(1, 2, 0)[:, ::2]):
        Y = luminance_from_uint8(view)
        assert torch.equal(Y, luminance_from_uint8(view.contiguous()))
    assert torch.equal(uint8_from_luminance_ab(Y, ab), uint8_from_luminance_ab(Y.contiguous(), ab.contiguous()))
