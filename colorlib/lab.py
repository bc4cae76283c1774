"""CIELAB colour transforms on batched tensors (paper §4.1, Eq. 4–8, 11, 12).

Conventions (see DESIGN.md): images on disk and in the cache are uint8 HWC RGB; tensors here
are NCHW. ``rgb_to_lab`` / ``lab_to_rgb`` use exactly scikit-image's formulas (sRGB companding,
the sRGB→XYZ matrix of ``skimage.color``, D65 / 2° reference white), so ``rgb_to_lab(x)``
matches ``skimage.color.rgb2lab`` to float32 precision. Both always compute in float32, even
inside an autocast region, and never return NaN: out-of-gamut Lab converts to clipped RGB.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "rgb_to_lab", "lab_to_rgb", "normalize_lab", "denormalize_lab",
    "split_lab", "join_lab", "lab_from_uint8", "rgb_from_normalized", "uint8_from_rgb", "uint8_from_lab",
]

# skimage.color.colorconv.xyz_from_rgb (sRGB primaries, D65) and the D65 2° white point
# (public: colorize.py builds its full-resolution lookup tables from them).
XYZ_FROM_RGB = torch.tensor([
    [0.412453, 0.357580, 0.180423],
    [0.212671, 0.715160, 0.072169],
    [0.019334, 0.119193, 0.950227],
], dtype=torch.float64)
RGB_FROM_XYZ = torch.linalg.inv(XYZ_FROM_RGB)
WHITE_D65 = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)

# Eq. 4–6: L ∈ [0, 100] → L/50 − 1;  a, b ∈ [−110, 110] → a/110, b/110.
L_SCALE, L_SHIFT, AB_SCALE = 50.0, 1.0, 110.0


def _mix(matrix: Tensor, x: Tensor) -> Tensor:
    """Apply a 3×3 colour matrix along the channel axis of an N×3×H×W tensor."""
    return torch.einsum("ij,njhw->nihw", matrix.to(device=x.device, dtype=x.dtype), x)


def _check(x: Tensor, name: str) -> None:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"{name} expects an N×3×H×W tensor, got shape {tuple(x.shape)}")


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1] (N×3×H×W) → CIELAB (L ∈ [0, 100], a, b ≈ [−110, 110]), float32."""
    _check(rgb, "rgb_to_lab")
    with torch.autocast(device_type=rgb.device.type, enabled=False):
        rgb = rgb.float()
        linear = torch.where(rgb > 0.04045,
                             ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4, rgb / 12.92)
        xyz = _mix(XYZ_FROM_RGB, linear)
        xyz = xyz / WHITE_D65.to(xyz).view(1, 3, 1, 1)
        f = torch.where(xyz > 0.008856, xyz.clamp(min=0.008856) ** (1.0 / 3.0),
                        7.787 * xyz + 16.0 / 116.0)
        fx, fy, fz = f.unbind(1)
        lab = torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=1)
    return lab


def lab_to_rgb(lab: Tensor) -> Tensor:
    """CIELAB (N×3×H×W) → sRGB in [0, 1], float32. Out-of-gamut colours are clipped, never NaN."""
    _check(lab, "lab_to_rgb")
    with torch.autocast(device_type=lab.device.type, enabled=False):
        lab = lab.float()
        L, a, b = lab.unbind(1)
        fy = (L + 16.0) / 116.0
        fx = a / 500.0 + fy
        fz = (fy - b / 200.0).clamp(min=0.0)  # as skimage: negative z is clipped to 0
        f = torch.stack([fx, fy, fz], dim=1)
        xyz = torch.where(f > 0.2068966, f.clamp(min=0.2068966) ** 3, (f - 16.0 / 116.0) / 7.787)
        xyz = xyz * WHITE_D65.to(xyz).view(1, 3, 1, 1)
        linear = _mix(RGB_FROM_XYZ, xyz)
        rgb = torch.where(linear > 0.0031308,
                          1.055 * linear.clamp(min=0.0031308) ** (1.0 / 2.4) - 0.055,
                          12.92 * linear)
        rgb = torch.nan_to_num(rgb, nan=0.0).clamp(0.0, 1.0)
    return rgb


def normalize_lab(lab: Tensor) -> Tensor:
    """Eq. 4–6: Lab → [−1, 1]³ (L/50 − 1, a/110, b/110)."""
    L, ab = lab[:, :1], lab[:, 1:]
    return torch.cat([L / L_SCALE - L_SHIFT, ab / AB_SCALE], dim=1)


def denormalize_lab(lab_norm: Tensor) -> Tensor:
    """Inverse of :func:`normalize_lab`."""
    L, ab = lab_norm[:, :1], lab_norm[:, 1:]
    return torch.cat([(L + L_SHIFT) * L_SCALE, ab * AB_SCALE], dim=1)


def split_lab(lab_norm: Tensor) -> tuple[Tensor, Tensor]:
    """N×3×H×W normalized Lab → (L: N×1×H×W, ab: N×2×H×W) — the generator's input and target (Eq. 7)."""
    return lab_norm[:, :1], lab_norm[:, 1:]


def join_lab(L: Tensor, ab: Tensor) -> Tensor:
    """Eq. 8 / Eq. 11: concatenate L (N×1×H×W) and ab (N×2×H×W) along channels."""
    return torch.cat([L, ab.to(L.dtype)], dim=1)


def lab_from_uint8(images: Tensor) -> tuple[Tensor, Tensor]:
    """uint8 RGB N×H×W×3 (any device) → normalized (L N×1×H×W, ab N×2×H×W), float32 on that device."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"lab_from_uint8 expects uint8 N×H×W×3, got {images.dtype} {tuple(images.shape)}")
    rgb = images.permute(0, 3, 1, 2).float().div_(255.0)
    return split_lab(normalize_lab(rgb_to_lab(rgb)))


def rgb_from_normalized(L: Tensor, ab: Tensor) -> Tensor:
    """Normalized L (N×1×H×W) and ab (N×2×H×W) → sRGB in [0, 1], float32 N×3×H×W (Eq. 4–6 inverted)."""
    return lab_to_rgb(denormalize_lab(join_lab(L.float(), ab.float())))


def uint8_from_rgb(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1] (N×3×H×W) → uint8 RGB N×H×W×3 on the same device (rounded to nearest)."""
    return rgb.mul(255.0).round_().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def uint8_from_lab(L: Tensor, ab: Tensor) -> Tensor:
    """Normalized L (N×1×H×W) and ab (N×2×H×W) → uint8 RGB N×H×W×3 on the same device."""
    return uint8_from_rgb(rgb_from_normalized(L, ab))
