"""The fast-path checks (tests/fastpath.py) pass for the real CPU fast path and FAIL for
deliberately broken ones — so the same checks on CUDA (tests/test_cuda.py) can fail too. The
real CPU fast path passing them: tests/test_train.py::test_cpu_fast_path_agrees_with_fp32."""

from __future__ import annotations

import pytest
import torch
from fastpath import drop_first_batchnorm, fast_path_agrees, run_path, zero_outputs

from colorlib.config import Config

CPU = torch.device("cpu")
FAST = {"amp": "bf16", "channels_last": "on", "compile": False}
SIZES = {"unet": 256, "resnet": 64}


def _make(generator: str):
    size = SIZES[generator]
    return lambda **kw: Config.from_profile("smoke", generator=generator, image_size=size, pretrained="none", **kw)


@pytest.fixture(scope="module")
def case():
    """Per generator: make_cfg, a batch, and the fp32 reference run (computed once)."""
    cache = {}

    def get(generator: str):
        if generator not in cache:
            size = SIZES[generator]
            images = torch.randint(
                0, 256, (2, size, size, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
            )
            flips = torch.tensor([True, False])
            make = _make(generator)
            ref = run_path(make, images, flips, CPU, reference=True, amp="off", channels_last="off", compile=False)
            cache[generator] = (make, images, flips, ref)
        return cache[generator]

    return get


@pytest.mark.parametrize("generator", ["unet", "resnet"])
def test_zeroed_outputs_fail_the_output_and_G_gradient_checks(case, generator):
    """The old absolute check (max |Δab| < 0.05 on eval-mode outputs) passed for this path."""
    make, images, flips, ref = case(generator)
    agreement = fast_path_agrees(make, images, flips, CPU, FAST, broken=zero_outputs, ref=ref)
    assert not agreement
    assert agreement.checks["output"] is False and agreement.checks["grad_G"] is False


def test_a_dropped_batchnorm_in_G_fails_the_output_check(case):
    make, images, flips, ref = case("resnet")
    agreement = fast_path_agrees(make, images, flips, CPU, FAST, broken=drop_first_batchnorm("G"), ref=ref)
    assert not agreement and agreement.checks["output"] is False and agreement.checks["grad_G"] is False


def test_a_dropped_batchnorm_in_D_fails_the_D_gradient_check(case):
    """G's output is untouched by D: only the D-gradient check can see this one."""
    make, images, flips, ref = case("resnet")
    agreement = fast_path_agrees(make, images, flips, CPU, FAST, broken=drop_first_batchnorm("D"), ref=ref)
    assert not agreement and agreement.checks == {"output": True, "grad_D": False, "grad_G": True}
