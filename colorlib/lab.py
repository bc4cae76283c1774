"""CIELAB colour transforms (paper §4.1, Eq. 4–8, 11, 12): on batched tensors, and at full resolution.

Conventions: images on disk and in the cache are uint8 HWC RGB; tensors here
are NCHW. ``rgb_to_lab`` / ``lab_to_rgb`` use exactly scikit-image's formulas (sRGB companding,
the sRGB→XYZ matrix of ``skimage.color``, D65 / 2° reference white), so ``rgb_to_lab(x)``
matches ``skimage.color.rgb2lab`` to float32 precision. Both always compute in float32, even
inside an autocast region, and never return NaN: out-of-gamut Lab converts to clipped RGB.

Full resolution (colorizing a user's photo keeps its own L*): ``luminance_from_uint8`` and
``uint8_from_luminance_ab`` do Lab → uint8 RGB on H×W(×3) rows with the same formulas, using
lookup tables for the sRGB curve; they match :func:`uint8_from_lab` to ±1 level.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "rgb_to_lab",
    "lab_to_rgb",
    "normalize_lab",
    "denormalize_lab",
    "split_lab",
    "join_lab",
    "lab_from_uint8",
    "rgb_from_normalized",
    "uint8_from_rgb",
    "uint8_from_lab",
    "luminance_from_uint8",
    "uint8_from_luminance_ab",
]

# skimage.color.colorconv.xyz_from_rgb (sRGB primaries, D65) and the D65 2° white point.
XYZ_FROM_RGB = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=torch.float64,
)
RGB_FROM_XYZ = torch.linalg.inv(XYZ_FROM_RGB)
WHITE_D65 = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)

# CIE 1976 L*a*b* (Eq. 4–5), with skimage.color's values. On white-relative t = X/Xn, Y/Yn, Z/Zn:
# f(t) = t^⅓ above CIE_EPSILON, CIE_SLOPE·t + CIE_F_OFFSET below; f⁻¹ switches at CIE_DELTA = f(CIE_EPSILON).
# L* = CIE_L_SCALE·f(Y) − CIE_L_OFFSET,  a* = CIE_A_SCALE·(f(X) − f(Y)),  b* = CIE_B_SCALE·(f(Y) − f(Z)).
CIE_EPSILON = 0.008856  # (6/29)³
CIE_SLOPE = 7.787  # (29/6)² / 3
CIE_DELTA = 0.2068966  # 6/29
CIE_L_SCALE, CIE_L_OFFSET = 116.0, 16.0
CIE_F_OFFSET = CIE_L_OFFSET / CIE_L_SCALE  # 16/116 = 4/29
CIE_A_SCALE, CIE_B_SCALE = 500.0, 200.0

# Eq. 4–6: L ∈ [0, 100] → L/50 − 1;  a, b ∈ [−110, 110] → a/110, b/110.
L_SCALE, L_SHIFT, AB_SCALE = 50.0, 1.0, 110.0

GAMMA_STEPS = 1 << 16  # the full-resolution sRGB table: linear [0, 1] in steps of 2⁻¹⁶ (exact to ±1 level)


# ----------------------------------------------------------------------------- shared maths
@functools.cache
def _constants(device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
    """(XYZ_FROM_RGB, RGB_FROM_XYZ, WHITE_D65 as 1×3×1×1) on ``device`` in ``dtype``, converted once.

    The transforms run every training step: a host→device copy per call would block on CUDA.
    Made outside inference mode, so a first call under ``torch.inference_mode()`` (colorizing)
    cannot leave tensors that autograd refuses later (training).
    """
    with torch.inference_mode(False):
        return (
            XYZ_FROM_RGB.to(device=device, dtype=dtype),
            RGB_FROM_XYZ.to(device=device, dtype=dtype),
            WHITE_D65.to(device=device, dtype=dtype).view(1, 3, 1, 1),
        )


def _mix(matrix: Tensor, x: Tensor) -> Tensor:
    """Apply a 3×3 colour matrix (on x's device, in its dtype) along the channel axis of N×3×H×W ``x``:
    broadcast multiply-adds in x's dtype, not a matmul/einsum, so no matmul precision setting (TF32,
    ``torch.backends.cuda.matmul``) can reach it, and ``torch.compile`` fuses it with its neighbours."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return torch.cat([r * matrix[i, 0] + g * matrix[i, 1] + b * matrix[i, 2] for i in range(3)], dim=1)


def _srgb_to_linear(v: Tensor) -> Tensor:
    """sRGB companding inverted: [0, 1] → linear light."""
    return torch.where(v > 0.04045, ((v.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4, v / 12.92)


def _linear_to_srgb(linear: Tensor) -> Tensor:
    """sRGB companding: linear light → [0, 1] (not clipped)."""
    return torch.where(linear > 0.0031308, 1.055 * linear.clamp(min=0.0031308) ** (1.0 / 2.4) - 0.055, 12.92 * linear)


def _f(t: Tensor) -> Tensor:
    """CIE f (Eq. 5) of white-relative X, Y or Z."""
    return torch.where(t > CIE_EPSILON, t.clamp(min=CIE_EPSILON) ** (1.0 / 3.0), CIE_SLOPE * t + CIE_F_OFFSET)


def _f_inv(f: Tensor) -> Tensor:
    """CIE f⁻¹ (Eq. 5 inverted): f³ above 6/29, linear below."""
    return torch.where(f > CIE_DELTA, f.clamp(min=CIE_DELTA) ** 3, (f - CIE_F_OFFSET) / CIE_SLOPE)


def _check(x: Tensor, name: str) -> None:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"{name} expects an N×3×H×W tensor, got shape {tuple(x.shape)}")


# ----------------------------------------------------------------------------- batched tensors
def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1] (N×3×H×W) → CIELAB (L ∈ [0, 100], a, b ≈ [−110, 110]), float32."""
    _check(rgb, "rgb_to_lab")
    with torch.autocast(device_type=rgb.device.type, enabled=False):
        rgb = rgb.float()
        xyz_from_rgb, _, white = _constants(rgb.device, rgb.dtype)
        xyz = _mix(xyz_from_rgb, _srgb_to_linear(rgb)) / white
        fx, fy, fz = _f(xyz).unbind(1)
        lab = torch.stack([CIE_L_SCALE * fy - CIE_L_OFFSET, CIE_A_SCALE * (fx - fy), CIE_B_SCALE * (fy - fz)], dim=1)
    return lab


def lab_to_rgb(lab: Tensor) -> Tensor:
    """CIELAB (N×3×H×W) → sRGB in [0, 1], float32. Out-of-gamut colours are clipped, never NaN."""
    _check(lab, "lab_to_rgb")
    with torch.autocast(device_type=lab.device.type, enabled=False):
        lab = lab.float()
        _, rgb_from_xyz, white = _constants(lab.device, lab.dtype)
        L, a, b = lab.unbind(1)
        fy = (L + CIE_L_OFFSET) / CIE_L_SCALE
        fx = a / CIE_A_SCALE + fy
        fz = (fy - b / CIE_B_SCALE).clamp(min=0.0)  # as skimage: negative z is clipped to 0
        xyz = _f_inv(torch.stack([fx, fy, fz], dim=1)) * white
        rgb = _linear_to_srgb(_mix(rgb_from_xyz, xyz))
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


# ----------------------------------------------------------------------------- full resolution
class _Tables(NamedTuple):
    """The full-resolution path's lookup tables and matrix, on one device."""

    y: Tensor  # 3×256 float32: Y (white = 1) of each uint8 level by channel
    srgb: Tensor  # (GAMMA_STEPS + 1) uint8: linear [0, 1] in steps of 1/GAMMA_STEPS → sRGB level
    rgb_from_xyzn: Tensor  # 3×3 float32: RGB_FROM_XYZ acting on white-relative XYZ
    offsets: Tensor  # int32 (0, 256, 512): channel c's level v is entry 256·c + v of y flattened


@functools.cache
def _tables(device: torch.device) -> _Tables:
    """Built once on the CPU (small), copied once to each other device (outside inference mode)."""
    with torch.inference_mode(False):
        if device.type != "cpu":
            return _Tables(*(t.to(device) for t in _tables(torch.device("cpu"))))
        levels = torch.arange(256, dtype=torch.float64) / 255.0
        steps = torch.arange(GAMMA_STEPS + 1, dtype=torch.float64) / GAMMA_STEPS
        return _Tables(
            y=(XYZ_FROM_RGB[1][:, None] * _srgb_to_linear(levels)[None, :]).float(),
            srgb=(255.0 * _linear_to_srgb(steps).clamp(0.0, 1.0)).round().to(torch.uint8),
            rgb_from_xyzn=(RGB_FROM_XYZ * WHITE_D65[None, :]).float(),
            offsets=torch.tensor([0, 256, 512], dtype=torch.int32),
        )


def luminance_from_uint8(rgb: Tensor) -> Tensor:
    """uint8 RGB …×3 → relative luminance Y (white = 1), float32 of shape …, by table lookup.

    Y is all of a photo's Lab that colorization keeps: L* = 116·f(Y) − 16 (Eq. 4–5).
    """
    tables = _tables(rgb.device)
    idx = rgb.int().add_(tables.offsets)  # int32 + index_select: a third of int64 indexing's memory, 4× faster
    by_channel = tables.y.view(-1).index_select(0, idx.reshape(-1)).view(idx.shape)  # any strides
    return by_channel[..., 0] + by_channel[..., 1] + by_channel[..., 2]


def uint8_from_luminance_ab(Y: Tensor, ab: Tensor) -> Tensor:
    """Y (H×W, from :func:`luminance_from_uint8`) under ab (2×H×W, Lab units) → uint8 RGB H×W×3.

    :func:`lab_to_rgb` with L* = f(Y) exactly (so f⁻¹ of it is Y itself) and the sRGB curve as a
    table: equal to :func:`uint8_from_lab` to ±1 level, in fewer float32 ops on H×W×3 rows.
    """
    tables = _tables(Y.device)
    fy = _f(Y)
    x = _f_inv(fy + ab[0] / CIE_A_SCALE)
    z = _f_inv((fy - ab[1] / CIE_B_SCALE).clamp(min=0.0))
    xyz = torch.stack([x, Y, z], dim=-1)  # H×W×3 white-relative
    linear = (xyz @ tables.rgb_from_xyzn.T).clamp_(0.0, 1.0)  # H×W×3 linear sRGB
    steps = linear.mul_(GAMMA_STEPS).round_().int()
    return tables.srgb.index_select(0, steps.view(-1)).view(steps.shape)
