"""Colorization metrics on arrays: the paper's L1, PSNR, SSIM, colorfulness, FID, LPIPS (§6).

Shapes and units (DESIGN.md conventions):

- ``ab`` tensors are *normalized* a*, b* (a/110, b/110), N×2×H×W, as the generators output.
- ``rgb`` arrays are uint8 N×H×W×3 (0–255) or float N×H×W×3 in [0, 1] where said.

Every per-image function returns a float64 array of length N, so a test set's numbers can be
written one row per image and aggregated afterwards. FID and LPIPS need pretrained networks;
they run only when those weights are already on disk (``fid_unavailable`` /
``lpips_unavailable`` say why not) — nothing here ever downloads.
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "PAPER_L1", "ab_l1", "psnr", "ssim", "colorfulness", "paired_difference",
    "inception_weights_path", "fid_unavailable", "inception_net", "inception_features", "frechet_distance", "fid_from_features", "fid",
    "lpips_unavailable", "lpips_net", "lpips_distance",
]

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
        raise ValueError(f"ab_l1 expects two N×2×H×W tensors of equal shape, got "
                         f"{tuple(ab_pred.shape)} and {tuple(ab_true.shape)}")
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
    return np.concatenate([d[rng.integers(0, n, size=(min(per, n_boot - i), n))].mean(1)
                           for i in range(0, n_boot, per)])


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
    out = {"n": n, "mean_diff": mean, "sd_diff": math.nan, "t_lo": math.nan, "t_hi": math.nan,
           "boot_lo": math.nan, "boot_hi": math.nan, "p_value": math.nan, "share_a_lower": float((d < 0).mean())}
    if n >= 2:
        sd = float(d.std(ddof=1))
        half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        boots = _bootstrap_means(d, n_boot, seed)
        if sd > 1e-12 * max(1.0, abs(mean)):
            p = float(stats.ttest_1samp(d, 0.0).pvalue)
        else:  # all differences equal: no spread, the t statistic is undefined
            p = 1.0 if mean == 0 else 0.0
        out.update(sd_diff=sd, t_lo=mean - half, t_hi=mean + half, p_value=p,
                   boot_lo=float(np.quantile(boots, 0.025)), boot_hi=float(np.quantile(boots, 0.975)))
    return out


# ---------------------------------------------------------------- FID (Heusel et al. 2017)
def inception_weights_path() -> Path:
    """Where torchvision keeps ``Inception_V3_Weights.IMAGENET1K_V1`` in torch.hub's cache."""
    from torchvision.models import Inception_V3_Weights

    name = Inception_V3_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def fid_unavailable() -> str | None:
    """None if FID can be computed offline, else the reason it cannot (checks the file only)."""
    path = inception_weights_path()
    return None if path.is_file() else f"Inception-v3 weights not in the torch.hub cache ({path}); not downloaded"


def inception_net(device: str = "cpu") -> torch.nn.Module:
    """torchvision's Inception-v3 (IMAGENET1K_V1) from the local file, in eval mode on ``device``,
    with its 2048-d pool features as output; build it only if ``fid_unavailable()`` is None.
    Built as ``inception_v3(weights=…)`` builds it: ``transform_input=True`` maps ImageNet-normalized
    input to the (x − ½)/½ scaling the ported Google weights were trained on."""
    from torchvision.models import inception_v3

    net = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
    net.load_state_dict(torch.load(inception_weights_path(), map_location="cpu", weights_only=True))
    net.fc = torch.nn.Identity()
    return net.to(device).eval()


@torch.no_grad()
def inception_features(rgb: np.ndarray, net: torch.nn.Module, device: str = "cpu",
                       batch_size: int = 16) -> np.ndarray:
    """2048-d pool features (N×2048, float64) of uint8 RGB N×H×W×3, resized to 299² (bilinear)
    and normalized with ImageNet mean/std as torchvision's Inception-v3 expects."""
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    out = []
    for i in range(0, len(rgb), batch_size):
        x = torch.as_tensor(np.array(rgb[i:i + batch_size]), device=device)  # a writable copy
        x = x.permute(0, 3, 1, 2).float().div(255.0)
        x = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        out.append(net((x - mean) / std).double().cpu())
    return torch.cat(out).numpy()


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2(Σ1Σ2)^½) between two Gaussians (the FID formula), from their
    mean vectors and covariance matrices (uses a D×D matrix square root; see ``fid_from_features``)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():  # singular product: regularize as pytorch-fid does
        eps = np.eye(len(sigma1)) * 1e-6
        covmean = linalg.sqrtm((sigma1 + eps) @ (sigma2 + eps))
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid_from_features(f1: np.ndarray, f2: np.ndarray) -> float:
    """The Fréchet distance between the Gaussians fitted to two feature sets (N1×D, N2×D).

    Exact and cheap for any N: with Σk = AkAkᵀ (Ak the centred features / √(Nk − 1), D×Nk),
    Σ1Σ2 has the nonzero eigenvalues of (A1ᵀA2)(A1ᵀA2)ᵀ, so Tr((Σ1Σ2)^½) is the nuclear norm
    of A1ᵀA2 — no D×D matrix square root, no singular-matrix trouble when N < D.
    """
    f1, f2 = np.asarray(f1, dtype=np.float64), np.asarray(f2, dtype=np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1] or min(len(f1), len(f2)) < 2:
        raise ValueError(f"FID needs two N×D feature sets with N ≥ 2, got {f1.shape} and {f2.shape}")
    a1 = (f1 - f1.mean(0)) / math.sqrt(len(f1) - 1)
    a2 = (f2 - f2.mean(0)) / math.sqrt(len(f2) - 1)
    cross = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()
    mean_term = float(((f1.mean(0) - f2.mean(0)) ** 2).sum())
    return float(mean_term + (a1 ** 2).sum() + (a2 ** 2).sum() - 2.0 * cross)


def fid(real: np.ndarray, fake: np.ndarray, device: str = "cpu", net: torch.nn.Module | None = None) -> float:
    """FID between two uint8 RGB sets with torchvision's Inception-v3 (IMAGENET1K_V1) pool features.

    Not comparable to published FIDs (those use the TF-Inception weights of pytorch-fid) and
    strongly biased upward for small sets (N ≪ 2048); compare models only on the same test set.
    """
    if len(real) < 2 or len(fake) < 2:
        raise ValueError(f"FID needs at least 2 images per set, got {len(real)} and {len(fake)}")
    net = net if net is not None else inception_net(device)
    return fid_from_features(inception_features(real, net, device), inception_features(fake, net, device))


# ---------------------------------------------------------------- LPIPS (Zhang et al. 2018)
def lpips_unavailable() -> str | None:
    """None if LPIPS (AlexNet) can run offline, else why not: the ``lpips`` package and both its
    linear-layer weights and torchvision's AlexNet weights must already be on disk."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.origin:
        return "the 'lpips' package is not installed"
    lin = Path(spec.origin).parent / "weights" / "v0.1" / "alex.pth"
    if not lin.is_file():
        return f"LPIPS linear weights missing ({lin})"
    from torchvision.models import AlexNet_Weights

    alex = Path(torch.hub.get_dir()) / "checkpoints" / AlexNet_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    if not alex.is_file():
        return f"AlexNet weights not in the torch.hub cache ({alex}); not downloaded"
    return None


def lpips_net(device: str = "cpu") -> torch.nn.Module:
    """LPIPS (AlexNet, v0.1) network; build it only if ``lpips_unavailable()`` is None."""
    import lpips  # optional dependency, checked by lpips_unavailable()

    return lpips.LPIPS(net="alex", verbose=False).to(device).eval()


@torch.no_grad()
def lpips_distance(pred: np.ndarray, true: np.ndarray, net: torch.nn.Module, device: str = "cpu") -> np.ndarray:
    """LPIPS per image between uint8 RGB sets N×H×W×3 (inputs scaled to [−1, 1] as LPIPS expects)."""
    p, t = (torch.as_tensor(np.ascontiguousarray(x), device=device).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
            for x in (pred, true))
    return net(p, t).flatten().double().cpu().numpy()
