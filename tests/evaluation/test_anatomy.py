"""The networks' anatomy computed from their layers (colorlib.evaluation.anatomy)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from colorlib.evaluation.anatomy import receptive_field
from colorlib.models import PatchDiscriminator


def test_patchgan_sees_70x70_patches_on_a_30x30_map():
    D = PatchDiscriminator()
    assert receptive_field(D, 256) == (70, (30, 30))
    assert tuple(D(torch.zeros(1, 3, 256, 256)).shape[-2:]) == (30, 30)  # the map size agrees with a forward


def test_receptive_field_by_hand_and_errors():
    # two 3×3 convs, the second with stride 2: 1 + 2 + 2 = 5; 32 → 32 → 16
    stack = nn.Sequential(nn.Conv2d(1, 1, 3, 1, 1), nn.ReLU(), nn.Conv2d(1, 1, 3, 2, 1))
    assert receptive_field(stack, 32) == (5, (16, 16))
    assert receptive_field(stack, (32, 64)) == (5, (16, 32))
    with pytest.raises(ValueError, match="no Conv2d"):
        receptive_field(nn.ReLU())
