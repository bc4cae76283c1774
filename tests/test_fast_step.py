"""The step's speed-ups keep the maths: Lab by broadcast multiply-adds, the ResNet's conv1 on L
with summed weights, compile=auto, Adam's kernel chosen by device."""

from __future__ import annotations

import pytest
import torch

from colorlib import lab
from colorlib.config import Config
from colorlib.models import ResNetUNetGenerator
from colorlib.step import GanStep
from colorlib.train import build_models
from colorlib.utils.errors import ConfigError
from colorlib.utils.runtime import Runtime, adam_kernel, wants_compile


def test_lab_mix_matches_the_einsum_it_replaced(monkeypatch):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (4, 64, 64, 3), dtype=torch.uint8, generator=g)
    images[0, 0, :8] = torch.tensor(
        [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [1, 2, 3]],
        dtype=torch.uint8,
    )
    ab_pred = torch.rand(4, 2, 64, 64, generator=g) * 2 - 1  # out-of-gamut too
    new = lab.lab_from_uint8(images), lab.rgb_from_normalized(*lab.lab_from_uint8(images)[:1], ab_pred)
    monkeypatch.setattr(lab, "_mix", lambda m, x: torch.einsum("ij,njhw->nihw", m, x))
    old = lab.lab_from_uint8(images), lab.rgb_from_normalized(*lab.lab_from_uint8(images)[:1], ab_pred)
    for a, b in zip((*new[0], new[1]), (*old[0], old[1])):
        assert (a - b).abs().max().item() <= 1e-6


def test_resnet_conv1_on_L_equals_the_replicated_input():
    """Features and conv1's gradient to 1e-5 relative (eval mode: train-mode BatchNorm over the
    2×2 maps of layer4 amplifies float rounding; its first output is checked in train mode)."""
    torch.manual_seed(0)
    G = ResNetUNetGenerator(pretrained=False).eval()
    L = torch.rand(2, 1, 64, 64) * 2 - 1
    summed = G.encoder(L)
    grad_summed = torch.autograd.grad(summed[-1].square().sum(), G.encoder.conv1.weight)[0]
    replicated = G.encoder(L.expand(-1, 3, -1, -1))  # Eq. 12 as written: L ⊕ L ⊕ L
    grad_rep = torch.autograd.grad(replicated[-1].square().sum(), G.encoder.conv1.weight)[0]
    for a, b in zip(summed, replicated):
        assert (a - b).norm() <= 1e-5 * b.norm()
    assert (grad_summed - grad_rep).norm() <= 1e-5 * grad_rep.norm()
    G.train()
    a, b = G.encoder(L)[0], G.encoder(L.expand(-1, 3, -1, -1))[0]
    assert (a - b).norm() <= 1e-5 * b.norm()
    # and the generator takes L through it (no 3× replica)
    seen = {}
    hook = G.encoder.conv1.register_forward_hook(lambda *a: seen.update(called=True))
    G(L)
    hook.remove()
    assert not seen  # conv1's weights used directly, the module not called on a 3-channel input


def test_compile_accepts_auto_and_bools():
    cfg = Config.from_profile("smoke")
    assert cfg.compile == "auto"
    assert cfg.override(["compile=auto"]).compile == "auto"
    assert cfg.override(["compile=true"]).compile is True and cfg.override(["compile=off"]).compile is False
    assert Config.from_dict({**cfg.to_dict(), "compile": False}).compile is False  # old records load
    with pytest.raises(ConfigError, match="compile"):
        cfg.replace(compile="maybe")
    with pytest.raises(ConfigError, match="compile"):
        cfg.override(["compile=maybe"])
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert wants_compile("auto", cuda) and not wants_compile("auto", cpu)
    assert wants_compile(True, cpu) and not wants_compile(False, cuda)


def test_adam_is_fused_on_cuda_and_torchs_default_elsewhere():
    assert adam_kernel(torch.device("cuda")) == {"fused": True, "foreach": None}
    cfg = Config.from_profile("smoke", generator="resnet", image_size=64)
    step = GanStep(*build_models(cfg, say=lambda m, **_: None)[:2], cfg, Runtime(torch.device("cpu")))
    assert step.G_run is step.G  # compile=auto: off on the CPU
    assert not step.opt_G.defaults["foreach"] and not step.opt_G.defaults["fused"]  # the per-tensor loop, as before
    state = step.state_dict()
    for key in ("opt_G", "opt_D"):  # as a CUDA run saves them
        for group in state[key]["param_groups"]:
            group.update(fused=True, foreach=None)
    step.load_state_dict(state)
    assert all(not g["foreach"] and not g["fused"] for g in step.opt_G.param_groups + step.opt_D.param_groups)
    step.train()
    step(torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8))  # and it steps
    assert all(v == v for v in step.take_means(1).values())


def test_evaluation_runs_in_full_fp32_and_restores_the_training_flags():
    from colorlib.utils.runtime import full_fp32

    torch.backends.cudnn.allow_tf32 = True  # as GanStep leaves it on CUDA
    torch.set_float32_matmul_precision("high")
    try:
        with full_fp32():
            assert torch.backends.cudnn.allow_tf32 is False
            assert torch.get_float32_matmul_precision() == "highest"
        assert torch.backends.cudnn.allow_tf32 is True and torch.get_float32_matmul_precision() == "high"
    finally:
        torch.set_float32_matmul_precision("highest")


def test_a_gpu_torch_cannot_use_is_one_line_naming_driver_cuda_and_the_fix():
    from colorlib.utils.cuda import TORCH_INDEX, no_cuda_message

    old = no_cuda_message("make gpu-check", driver="535.104.05", torch_cuda="13.0")
    assert "\n" not in old and "driver 535.104.05" in old and "CUDA 13.0" in old
    assert "make setup TORCH_CUDA=cu128" in old and TORCH_INDEX["cu128"][1] in old
    cpu_build = no_cuda_message("make gpu-check", driver="570.1", torch_cuda=None)
    assert "CPU-only build" in cpu_build and "TORCH_CUDA=cu128" in cpu_build
    none = no_cuda_message("make reproduce", driver=None, torch_cuda="13.0")
    assert none.startswith("make reproduce needs a CUDA GPU") and "make rehearse" in none
    assert "update the NVIDIA driver" in no_cuda_message("x", driver="390.1", torch_cuda="13.0")
