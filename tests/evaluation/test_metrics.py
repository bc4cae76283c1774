"""colorlib.evaluation.metrics against values computed by hand and by independent libraries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage import color, data, transform

from colorlib.evaluation import metrics, perceptual
from colorlib.lab import lab_from_uint8


def _photo(size: int = 64) -> np.ndarray:
    """A real photo (skimage's astronaut), uint8 1×size×size×3."""
    img = transform.resize(data.astronaut(), (size, size), anti_aliasing=True)
    return (img * 255).round().astype(np.uint8)[None]


def test_gray_prediction_l1_is_mean_abs_ab_over_110():
    rgb = _photo()
    _, ab = lab_from_uint8(torch.from_numpy(rgb))
    expected = np.abs(color.rgb2lab(rgb[0])[..., 1:]).mean() / 110.0  # skimage, independently
    got = metrics.ab_l1(torch.zeros_like(ab), ab)
    assert got.shape == (1,)
    assert expected > 0.01  # a colourful photo, so the check is not trivially 0 = 0
    assert got[0] == pytest.approx(expected, rel=1e-4)


def test_ab_l1_by_hand_per_image():
    true = torch.zeros(2, 2, 4, 4)
    pred = true.clone()
    pred[0, 0] = 0.1  # image 0: one of two channels off by 0.1 → 0.05
    pred[1, :, :2] = -0.4  # image 1: half the pixels of both channels off by 0.4 → 0.2
    np.testing.assert_allclose(metrics.ab_l1(pred, true), [0.05, 0.2], rtol=1e-6)
    with pytest.raises(ValueError, match="N×2×H×W"):
        metrics.ab_l1(pred[:, :1], true[:, :1])


def test_psnr_by_hand_and_identical_images_give_inf():
    a = np.zeros((2, 4, 4, 3))
    b = a.copy()
    b[0] += 0.1  # MSE 0.01 → 20 dB; image 1 identical → inf
    got = metrics.psnr(b, a)
    assert got[0] == pytest.approx(20.0)
    assert math.isinf(got[1]) and got[1] > 0
    u8 = np.full((1, 4, 4, 3), 255, np.uint8)
    assert metrics.psnr(u8, np.zeros_like(u8))[0] == pytest.approx(0.0)  # uint8 is scaled to [0, 1]


def test_ssim_identical_is_one_and_distortion_lowers_it():
    rgb = _photo()
    assert metrics.ssim(rgb, rgb)[0] == pytest.approx(1.0)
    noisy = np.clip(rgb.astype(int) + np.random.default_rng(0).integers(-40, 40, rgb.shape), 0, 255).astype(np.uint8)
    assert metrics.ssim(noisy, rgb)[0] < 0.9


def test_colorfulness_gray_is_zero_and_hand_values():
    gray = np.repeat(_photo()[..., :1], 3, axis=-1)
    assert metrics.colorfulness(gray)[0] == pytest.approx(0.0, abs=1e-12)
    red = np.zeros((1, 1, 2, 3), np.uint8)
    red[0, 0, 0] = (255, 0, 0)  # pixels (255,0,0) and (0,0,0): rg = [255, 0], yb = [127.5, 0]
    spread = math.hypot(127.5, 63.75)  # σ_rgyb = μ_rgyb here
    assert metrics.colorfulness(red)[0] == pytest.approx(spread + 0.3 * spread)
    assert metrics.colorfulness(_photo())[0] > 10
    assert metrics.colorfulness(_photo() / 255.0)[0] == pytest.approx(metrics.colorfulness(_photo())[0])


@pytest.mark.parametrize("fn", [metrics.colorfulness, lambda x: metrics.psnr(x, x), lambda x: metrics.ssim(x, x)])
def test_rgb_of_an_unknown_scale_is_refused(fn):
    """int64 0–255 (e.g. ``img.astype(int)``) would otherwise be read as [0, 1] and give nonsense."""
    with pytest.raises(ValueError, match="uint8 .* or float .* got int64"):
        fn(_photo().astype(np.int64))


def test_paired_difference_by_hand():
    out = metrics.paired_difference(np.array([2.0, 3.0, 4.0]), np.array([1.0, 1.0, 1.0]), n_boot=2000)
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2) · sd / √n with sd = 1
    assert out["n"] == 3 and out["mean_diff"] == pytest.approx(2.0)
    assert (out["t_lo"], out["t_hi"]) == pytest.approx((2.0 - half, 2.0 + half))
    assert 1.0 <= out["boot_lo"] <= out["boot_hi"] <= 3.0
    assert out["p_value"] == pytest.approx(0.0742, abs=1e-4)  # t = 2√3 with 2 df, two-sided
    assert out["share_a_lower"] == 0.0
    single = metrics.paired_difference(np.array([1.0]), np.array([0.5]))
    assert single["mean_diff"] == 0.5 and math.isnan(single["t_lo"]) and math.isnan(single["p_value"])


def test_paired_bootstrap_of_a_paper_size_test_set_stays_small():
    """2,000 test images × 10,000 resamples: drawn in chunks, not as one 20 M-element array (320 MB)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    a, b = rng.normal(0.09, 0.02, 2000), rng.normal(0.095, 0.02, 2000)
    tracemalloc.start()
    try:
        out = metrics.paired_difference(a, b)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"
    assert out["boot_lo"] < out["mean_diff"] < out["boot_hi"]
    assert out["boot_lo"] == pytest.approx(out["t_lo"], abs=2e-4) and out["boot_hi"] == pytest.approx(
        out["t_hi"], abs=2e-4
    )


def test_fid_from_features_by_hand_and_low_rank():
    """1-D: (μ1 − μ2)² + σ1² + σ2² − 2σ1σ2 from the sample moments; identical sets give 0, also
    with N < D (singular covariances). Agreement with pytorch-fid: tests/test_fid_lpips.py."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 1)), rng.normal(3.0, 2.0, size=(40, 1))
    s1, s2 = a.std(ddof=1), b.std(ddof=1)
    expected = (a.mean() - b.mean()) ** 2 + s1**2 + s2**2 - 2 * s1 * s2
    assert perceptual.fid_from_features(a, b) == pytest.approx(expected, rel=1e-12)
    f1 = rng.normal(size=(40, 6))
    assert perceptual.fid_from_features(f1, f1) == pytest.approx(0.0, abs=1e-9)
    few = rng.normal(size=(3, 50))  # N < D: singular covariances are fine
    assert perceptual.fid_from_features(few, few) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="N ≥ 2"):
        perceptual.fid_from_features(few[:1], few)
