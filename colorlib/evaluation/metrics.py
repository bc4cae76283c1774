"""Colorization metrics on arrays: the paper's L1, PSNR, SSIM, colorfulness, paired comparison (§6).

Shapes and units:

- ``ab`` tensors are *normalized* a*, b* (a/110, b/110), N×2×H×W, as the generators output.
- ``rgb`` arrays are uint8 N×H×W×3 (0–255) or float N×H×W×3 in [0, 1] where said.

Every per-image function returns a float64 array of length N, so a test set's numbers can be
written one row per image and aggregated afterwards. The metrics computed by pretrained feature
networks, FID and LPIPS, are in :mod:`colorlib.evaluation.perceptual`.
"""

from __future__ import annotations

import math

import numpy as np
from torch import Tensor

__all__ = ["PAPER_L1", "ab_l1", "psnr", "ssim", "colorfulness", "paired_difference"]

# §6: "On the test set, the L1 loss of the ResNet GAN is 0.0945, while for the UNet GAN it is 0.0917."
PAPER_L1 = {"unet": 0.0917, "resnet": 0.0945}


def ab_l1(ab_pred: Tensor, ab_true: Tensor) -> np.ndarray:
    """The paper's test metric (Eq. 18 on the test set), per image.

    For image i: mean over both channels and all H×W pixels of |ab_pred − ab_true|, with a*, b*
    in normalized units (divided by 110, Eq. 5–6). Inputs N×2×H×W, any device. At a fixed image
    size the mean of these per-image values equals the pixel-weighted global mean over the
    whole set, which is what the paper reports (0.0917 U-Net, 0.0945 ResNet).
    """
    if ab_pred.shape != ab_true.shape or ab_pred.ndim != 4 or ab_pred.shape[1] != 2:
        raise ValueError(
            f"ab_l1 expects two N×2×H×W tensors of equal shape, got {tuple(ab_pred.shape)} and {tuple(ab_true.shape)}"
        )
    diff = (ab_pred.double() - ab_true.double()).abs()
    return diff.flatten(1).mean(1).cpu().numpy()


def _as_unit_float(rgb: np.ndarray, name: str) -> np.ndarray:
    """uint8 (0–255) or floating-point ([0, 1]) N×H×W×3 RGB → float64 in [0, 1]. Any other dtype
    (int64, uint16, bool …) is refused: its scale cannot be told from the dtype."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 4 or rgb.shape[-1] != 3:
        raise ValueError(f"{name} expects N×H×W×3 RGB, got shape {rgb.shape}")
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float64) / 255.0
    if not np.issubdtype(rgb.dtype, np.floating):
        raise ValueError(f"{name} expects uint8 (0–255) or float ([0, 1]) RGB, got {rgb.dtype}")
    return rgb.astype(np.float64)


def psnr(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Peak signal-to-noise ratio in dB per image, on RGB in [0, 1] (uint8 is divided by 255).

    PSNR = 10·log10(1 / MSE) over all pixels and channels. Identical images have MSE = 0 and
    PSNR = +inf; it is returned as ``inf`` (callers count such images and leave them out of means).
    """
    p, t = _as_unit_float(pred, "psnr"), _as_unit_float(true, "psnr")
    mse = ((p - t) ** 2).reshape(len(p), -1).mean(1)
    with np.errstate(divide="ignore"):
        return np.where(mse > 0, 10.0 * np.log10(1.0 / np.maximum(mse, 1e-300)), np.inf)


def ssim(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Structural similarity per image on RGB in [0, 1] (Wang et al. 2004).

    ``skimage.metrics.structural_similarity`` with ``channel_axis=-1, data_range=1`` and its
    defaults (7×7 uniform window, K1 = 0.01, K2 = 0.03), averaged over the three channels.
    """
    from skimage.metrics import structural_similarity

    p, t = _as_unit_float(pred, "ssim"), _as_unit_float(true, "ssim")
    return np.array([structural_similarity(a, b, channel_axis=-1, data_range=1.0) for a, b in zip(p, t)])


def colorfulness(rgb: np.ndarray) -> np.ndarray:
    """Hasler & Süsstrunk (2003) colorfulness M per image, on 0–255 RGB (uint8 N×H×W×3, or float
    in [0, 1], scaled by 255).

    rg = R − G, yb = ½(R + G) − B;  M = σ_rgyb + 0.3·μ_rgyb with σ_rgyb = √(σ_rg² + σ_yb²) and
    μ_rgyb = √(μ_rg² + μ_yb²) over each image's pixels. A gray image (R = G = B) has M = 0.
    """
    x = _as_unit_float(rgb, "colorfulness") * 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    rg = (r - g).reshape(len(x), -1)
    yb = (0.5 * (r + g) - b).reshape(len(x), -1)
    sigma = np.sqrt(rg.std(1) ** 2 + yb.std(1) ** 2)
    mu = np.sqrt(rg.mean(1) ** 2 + yb.mean(1) ** 2)
    return sigma + 0.3 * mu


def _bootstrap_means(d: np.ndarray, n_boot: int, seed: int, chunk: int = 1_000_000) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of ``d``, drawn ~``chunk`` values at a
    time: 10,000 resamples of 2,000 test images would otherwise hold 20 M indices at once."""
    rng, n = np.random.default_rng(seed), len(d)
    per = max(1, chunk // n)
    return np.concatenate(
        [d[rng.integers(0, n, size=(min(per, n_boot - i), n))].mean(1) for i in range(0, n_boot, per)]
    )


def paired_difference(a: np.ndarray, b: np.ndarray, n_boot: int = 10_000, seed: int = 0) -> dict:
    """Paired comparison of two models' per-unit scores (images, or seeds), difference a − b.

    Returns n, mean difference, its sd, the t-based 95% CI (Student t, n − 1 df), a percentile
    bootstrap 95% CI (``n_boot`` resamples of the pairs), the two-sided paired t-test p-value
    and the share of units where a < b. With n < 2 the intervals and p are NaN.
    """
    from scipy import stats

    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.ndim != 1 or len(d) == 0:
        raise ValueError(f"paired_difference needs two equal-length 1-D arrays, got {np.shape(a)} and {np.shape(b)}")
    n, mean = len(d), float(d.mean())
    out = {
        "n": n,
        "mean_diff": mean,
        "sd_diff": math.nan,
        "t_lo": math.nan,
        "t_hi": math.nan,
        "boot_lo": math.nan,
        "boot_hi": math.nan,
        "p_value": math.nan,
        "share_a_lower": float((d < 0).mean()),
    }
    if n >= 2:
        sd = float(d.std(ddof=1))
        half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        boots = _bootstrap_means(d, n_boot, seed)
        if sd > 1e-12 * max(1.0, abs(mean)):
            p = float(stats.ttest_1samp(d, 0.0).pvalue)
        else:  # all differences equal: no spread, the t statistic is undefined
            p = 1.0 if mean == 0 else 0.0
        out.update(
            sd_diff=sd,
            t_lo=mean - half,
            t_hi=mean + half,
            p_value=p,
            boot_lo=float(np.quantile(boots, 0.025)),
            boot_hi=float(np.quantile(boots, 0.975)),
        )
    return out
