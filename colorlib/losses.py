"""The cGAN objective (§4.3, Eq. 14–19) as pure functions of the discriminator's logits.

D(x) in the paper is ``sigmoid(logits)``; BCE on the sigmoid equals ``binary_cross_entropy_with_logits``
on the logits, which is stable and autocast-safe. Every BCE is the mean over the whole
N×1×H_p×W_p patch map (30×30 for 256×256 images), i.e. each 70×70 patch votes equally.
"""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor

__all__ = ["DLoss", "GLoss", "LOSS_COLUMNS", "discriminator_loss", "generator_loss", "l1_loss"]

# The losses a run records (history.csv, the data of Figs. 8/9): DLoss's and GLoss's fields.
LOSS_COLUMNS = ("d_real", "d_fake", "d_loss", "g_bce", "g_l1", "g_loss")


class DLoss(NamedTuple):
    total: Tensor  # Eq. 16
    real: Tensor  # Eq. 14
    fake: Tensor  # Eq. 15


class GLoss(NamedTuple):
    total: Tensor  # Eq. 19
    bce: Tensor  # Eq. 17
    l1: Tensor  # Eq. 18 (corrected, see generator_loss)


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(
        logits.float(), logits.new_full(logits.shape, target, dtype=logits.float().dtype)
    )


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> DLoss:
    """Eq. 14–16: (BCE(D(real), 1) + BCE(D(fake), 0)) / 2. ``fake_logits`` from a detached fake."""
    real = _bce(real_logits, 1.0)
    fake = _bce(fake_logits, 0.0)
    return DLoss((real + fake) / 2, real, fake)


def l1_loss(fake_ab: Tensor, real_ab: Tensor) -> Tensor:
    """Mean |ab_fake − ab_real| over all pixels, both channels and the batch (normalized ab)."""
    return F.l1_loss(fake_ab.float(), real_ab.float())


def generator_loss(fake_logits: Tensor, fake_ab: Tensor, real_ab: Tensor, lambda_l1: float = 100.0) -> GLoss:
    """Eq. 17–19: BCE(D(fake), 1) + λ · L1(ab_fake, ab_real).

    Erratum: Eq. 18 writes L1(D(I_ab^real), D(I_ab^fake)) — the L1 between *discriminator*
    outputs. D takes 3-channel Lab, not ab, and pix2pix (which the paper follows) puts the L1 on
    the generator's output against the ground truth. We implement the latter.
    """
    bce = _bce(fake_logits, 1.0)
    l1 = l1_loss(fake_ab, real_ab)
    return GLoss(bce + lambda_l1 * l1, bce, l1)
