"""colorlib.losses against values computed by hand (§4.3, Eq. 14–19).

BCE on D(x) = sigmoid(x): −log σ(x) = log(1 + e^{−x}) for target 1, −log(1 − σ(x)) = log(1 + e^{x})
for target 0. Erratum of the paper: Eq. 18 writes the L1 between D(I_ab^real) and D(I_ab^fake);
the L1 is (as in pix2pix) between the generator's ab and the ground-truth ab, which is what
``generator_loss`` computes and what these tests check.
"""

from __future__ import annotations

import math

import pytest
import torch

from colorlib.losses import discriminator_loss, generator_loss, l1_loss

LN2 = 0.6931471805599453

# A 1×1×2×2 patch map of logits, and the per-patch BCEs worked out with math (not torch):
LOGITS = [2.0, -1.0, 0.5, -3.0]
BCE_REAL = [math.log(1 + math.exp(-x)) for x in LOGITS]  # target 1: 0.126928, 1.313262, 0.474077, 3.048587
BCE_FAKE = [math.log(1 + math.exp(x)) for x in LOGITS]  # target 0: 2.126928, 0.313262, 0.974077, 0.048587


def _t(values, shape=(1, 1, 2, 2)) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32).view(shape)


def test_zero_logits_give_ln2():
    zeros = torch.zeros(2, 1, 30, 30)
    d = discriminator_loss(zeros, zeros)
    assert d.real.item() == pytest.approx(LN2) and d.fake.item() == pytest.approx(LN2)
    assert d.total.item() == pytest.approx(LN2)
    g = generator_loss(zeros, torch.zeros(2, 2, 4, 4), torch.zeros(2, 2, 4, 4))
    assert g.bce.item() == pytest.approx(LN2) and g.l1.item() == 0 and g.total.item() == pytest.approx(LN2)


def test_hand_values_are_what_we_think():
    """Guard the hand computation itself (4 patches, the numbers in the comments above)."""
    assert BCE_REAL == pytest.approx([0.126928, 1.313262, 0.474077, 3.048587], abs=1e-6)
    assert BCE_FAKE == pytest.approx([2.126928, 0.313262, 0.974077, 0.048587], abs=1e-6)


def test_discriminator_loss_by_hand():
    """Eq. 14–16: real = mean BCE(·, 1) over the patch map, fake = mean BCE(·, 0), total = ½(sum)."""
    real_logits = _t(LOGITS)
    fake_logits = _t([-x for x in reversed(LOGITS)])  # a different map for the fake side
    d = discriminator_loss(real_logits, fake_logits)
    real = sum(BCE_REAL) / 4
    fake = sum(math.log(1 + math.exp(-x)) for x in reversed(LOGITS)) / 4
    assert d.real.item() == pytest.approx(real, rel=1e-6)
    assert d.fake.item() == pytest.approx(fake, rel=1e-6)
    assert d.total.item() == pytest.approx((real + fake) / 2, rel=1e-6)
    assert discriminator_loss(_t(LOGITS), _t(LOGITS)).fake.item() == pytest.approx(sum(BCE_FAKE) / 4, rel=1e-6)


def test_generator_loss_by_hand():
    """Eq. 17–19: BCE(D(fake), 1) + λ·L1 with λ = 100; the L1 is on ab (Eq. 18 erratum, see top)."""
    fake_ab = _t([0.5, -0.25, 1.0, 0.0, 0.1, -0.9, 0.3, 0.3], (1, 2, 2, 2))
    real_ab = _t([0.0, 0.25, 0.5, 0.0, -0.1, -1.0, 0.3, 0.7], (1, 2, 2, 2))
    l1 = (0.5 + 0.5 + 0.5 + 0.0 + 0.2 + 0.1 + 0.0 + 0.4) / 8  # = 0.275
    g = generator_loss(_t(LOGITS), fake_ab, real_ab)
    assert g.bce.item() == pytest.approx(sum(BCE_REAL) / 4, rel=1e-6)
    assert g.l1.item() == pytest.approx(l1, rel=1e-6)
    assert g.total.item() == pytest.approx(sum(BCE_REAL) / 4 + 100 * l1, rel=1e-6)
    assert l1_loss(fake_ab, real_ab).item() == pytest.approx(l1, rel=1e-6)
    g10 = generator_loss(_t(LOGITS), fake_ab, real_ab, lambda_l1=10.0)
    assert g10.total.item() == pytest.approx(sum(BCE_REAL) / 4 + 10 * l1, rel=1e-6)


def test_gradient_of_generator_bce_by_hand():
    """d/dx mean log(1 + e^{−x}) = (σ(x) − 1) / n for each of the n patches."""
    logits = _t(LOGITS).requires_grad_(True)
    generator_loss(logits, torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)).total.backward()
    expected = [(1 / (1 + math.exp(-x)) - 1) / 4 for x in LOGITS]
    assert logits.grad.flatten().tolist() == pytest.approx(expected, rel=1e-5)


def test_extreme_logits_are_stable():
    """A confident discriminator (|logit| = 100) gives loss ≈ 100, not inf/NaN (sigmoid would)."""
    big = torch.full((1, 1, 2, 2), 100.0)
    d = discriminator_loss(-big, big)  # calls real images fake and fake images real
    assert d.real.item() == pytest.approx(100.0) and d.fake.item() == pytest.approx(100.0)
    g = generator_loss(-big, torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2))
    assert math.isfinite(g.total.item()) and g.bce.item() == pytest.approx(100.0)


def test_bf16_inputs_give_float32_losses():
    """Under AMP the logits and ab may be bf16; the losses are computed in float32."""
    logits = _t(LOGITS).bfloat16()
    g = generator_loss(logits, torch.zeros(1, 2, 2, 2, dtype=torch.bfloat16), torch.ones(1, 2, 2, 2))
    d = discriminator_loss(logits, logits)
    assert g.total.dtype == torch.float32 and d.total.dtype == torch.float32
    assert g.l1.item() == 1.0
    assert g.bce.item() == pytest.approx(sum(BCE_REAL) / 4, rel=1e-2)  # bf16-rounded logits
