"""CUDA: the GPU fast path against the plain fp32 path (skipped without a GPU; `make gpu-check`).

Every fast form (bf16 autocast, channels-last, compiled, and their combinations) is compared with
plain fp32 (TF32 off, eager, contiguous) relative to scale — G's train-mode pre-tanh output
‖Δ‖/‖ref‖ and the cosine of D's and G's gradients (tests/fastpath.py; the tolerances there,
shown to fail against broken paths in tests/test_fastpath.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import fit

from colorlib.checkpoint import load_checkpoint, load_generator
from colorlib.config import Config
from colorlib.data.batches import hflip, training_data
from colorlib.step import GanStep
from colorlib.train import build_models
from colorlib.utils.runtime import Runtime

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (make gpu-check)")
CUDA = torch.device("cuda")


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict:
    from colorlib.data import prepare

    base = tmp_path_factory.mktemp("cuda")
    roots = {"data_root": str(base / "data"), "run_root": str(base / "runs"), "results_root": str(base / "results")}
    prepare(_cfg(roots), progress=False)
    return roots


def _cfg(roots: dict, **kw) -> Config:
    base = dict(
        generator="unet",
        image_size=256,
        n_train=8,
        n_test=2,
        batch_size=4,
        epochs=1,
        pretrained="none",
        device="cuda",
        compile=False,
    )  # compiled only where a test says so
    return Config.from_profile("smoke", **{**base, **roots, **kw})


def _step(cfg: Config, seed: int = 0) -> GanStep:
    torch.manual_seed(seed)
    G, D, _ = build_models(cfg, say=lambda m, **_: None)
    return GanStep(G, D, cfg, Runtime(CUDA))


def _batch(n: int = 4):
    g = torch.Generator().manual_seed(1)
    return (
        torch.randint(0, 256, (n, 256, 256, 3), dtype=torch.uint8, generator=g).to(CUDA),
        (torch.rand(n, generator=g) < 0.5).to(CUDA),
    )


@pytest.mark.parametrize("generator", ["unet", "resnet"])
def test_bf16_step_agrees_with_fp32(roots, generator):
    from conftest import assert_bf16_agrees_with_fp32

    images, flips = _batch()
    assert_bf16_agrees_with_fp32(lambda **kw: _cfg(roots, generator=generator, **kw), images, flips, CUDA)


@pytest.mark.parametrize("generator", ["unet", "resnet"])
@pytest.mark.parametrize(
    "fast",
    [
        {"amp": "off", "channels_last": "on"},
        {"amp": "off", "channels_last": "on", "compile": True},
        {"amp": "bf16", "channels_last": "on", "compile": True},
    ],
    ids=["channels_last", "compiled", "compiled-bf16"],
)
def test_channels_last_and_compile_match_the_plain_path(roots, generator, fast):
    from fastpath import fast_path_agrees

    images, flips = _batch()
    agreement = fast_path_agrees(lambda **kw: _cfg(roots, generator=generator, **kw), images, flips, CUDA, fast)
    assert agreement, str(agreement)


def test_steps_never_wait_for_the_host(roots):
    """A training step makes no blocking host↔device transfer (Lab constants cached per device)."""
    step = _step(_cfg(roots))
    images, flips = _batch()
    images = hflip(images.to(CUDA), flips.to(CUDA))
    step(images)  # first call: kernels chosen, constants cached
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        with pytest.raises(RuntimeError):  # the mode is on: a host read is refused
            torch.ones((), device=CUDA).item()
        for _ in range(3):
            step(images)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    step.take_means(4)


def test_train_set_resident_on_the_gpu(roots):
    cfg = _cfg(roots, data_on_device="on")
    images = training_data(cfg).to(cfg, CUDA).images
    assert images.device.type == "cuda" and images.dtype == torch.uint8


def test_cuda_checkpoint_resumes_on_cuda_and_loads_on_the_cpu(roots):
    cfg = _cfg(roots, generator="resnet", run_root=roots["run_root"] + "/resume", epochs=1)
    fit(cfg, progress=False)
    fit(cfg.replace(epochs=2), resume=True, progress=False)  # crashed with a TypeError before
    ck = load_checkpoint(cfg.run_dir / "checkpoint.pt")
    assert ck["epoch"] == 2 and all(t.device.type == "cpu" for t in ck["G"].values())
    G, _ = load_generator(cfg.run_dir / "checkpoint.pt", device="cpu")
    with torch.no_grad():
        assert G(torch.zeros(1, 1, 64, 64)).shape == (1, 2, 64, 64)
    # ... and continues on the CPU too (an RNG state from the GPU must not break it)
    fit(cfg.replace(epochs=3, device="cpu"), resume=True, progress=False)


def test_deterministic_runs_repeat_bit_for_bit(roots):
    states = []
    for k in range(2):
        cfg = _cfg(roots, run_root=roots["run_root"] + f"/det{k}", deterministic=True, epochs=1)
        fit(cfg, progress=False)
        states.append(load_checkpoint(cfg.run_dir / "checkpoint.pt")["G"])
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="NCCL DDP needs 2 GPUs (NCCL refuses two ranks on one GPU)")
def test_nccl_ddp_two_gpus(roots):
    cfg = _cfg(roots, run_root=roots["run_root"] + "/ddp", batch_size=4, sync_bn=True)
    keys = [
        "generator",
        "image_size",
        "n_train",
        "n_test",
        "batch_size",
        "epochs",
        "pretrained",
        "device",
        "data_root",
        "run_root",
        "results_root",
        "sync_bn",
    ]
    args = [a for k in keys for a in ("--set", f"{k}={getattr(cfg, k)}")]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "colorlib",
            "train",
            "--profile",
            "smoke",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "identical on all 2 processes" in proc.stdout + proc.stderr
    assert Path(cfg.run_dir / "checkpoint.pt").is_file()
