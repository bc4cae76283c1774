"""The networks' anatomy, computed from their layers (notebook 2).

    receptive_field(PatchDiscriminator(), 256)   # → (70, (30, 30)): 70×70 patches, a 30×30 map

pix2pix calls its discriminator a "70×70 PatchGAN" (Isola et al. 2017, https://arxiv.org/abs/1611.07004):
each of its outputs sees a 70×70 patch of the input. That number follows from the convolutions
alone — walk them in order, and for each (kernel k, stride s, padding p):

    receptive field  r ← r + (k − 1)·j        (j: the distance, in input pixels, between
    jump             j ← j·s                   two neighbouring units of the current layer)
    map size         n ← ⌊(n + 2p − k) / s⌋ + 1
"""

from __future__ import annotations

from torch import nn

__all__ = ["receptive_field", "conv_layers"]


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def conv_layers(module: nn.Module) -> list[nn.Conv2d]:
    """The Conv2d layers of ``module`` in the order they were registered (the order a plain
    feed-forward stack such as the PatchGAN applies them)."""
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def receptive_field(module: nn.Module, input_size: int | tuple[int, int] = 256) -> tuple[int, tuple[int, int]]:
    """(receptive field of one output unit in input pixels, output map size (H, W)) of the chain
    of ``module``'s Conv2d layers, for an input of ``input_size`` (side, or (H, W)).

    Square kernels give one receptive-field side; a stack with no Conv2d raises ValueError. Only
    for feed-forward stacks (not a U-Net with skips, whose output sees the whole image)."""
    convs = conv_layers(module)
    if not convs:
        raise ValueError(f"{type(module).__name__} has no Conv2d layers")
    (h, w), r, jump = _pair(input_size), 1, 1
    for conv in convs:
        (k, _), (s, _), (p, _), (d, _) = (
            _pair(conv.kernel_size),
            _pair(conv.stride),
            _pair(conv.padding),
            _pair(conv.dilation),
        )
        k_eff = d * (k - 1) + 1
        r += (k_eff - 1) * jump
        jump *= s
        h, w = ((n + 2 * p - k_eff) // s + 1 for n in (h, w))
    return r, (h, w)
