"""Training loop (§4.3, §5.2): history, checkpoints, exact resume after SIGKILL, NaN stop, DDP.

Runs use the ResNet generator at 64×64 (its input only needs multiples of 32) on the bundled
photos, so a whole multi-epoch run costs seconds on a 2-core CPU.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import fit

from colorlib.checkpoint import load_checkpoint
from colorlib.config import Config
from colorlib.data.batches import hflip
from colorlib.losses import LOSS_COLUMNS
from colorlib.models import PretrainedWeightsError
from colorlib.train import HISTORY_COLUMNS, TrainingDiverged, build_models

LOSS_COLUMNS = list(LOSS_COLUMNS)


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict:
    from colorlib.data import prepare

    base = tmp_path_factory.mktemp("train")
    roots = {"data_root": str(base / "data"), "run_root": str(base / "runs"), "results_root": str(base / "results")}
    prepare(tiny_cfg(roots, "x"), progress=False)
    return roots


def tiny_cfg(roots: dict, run: str, **kw) -> Config:
    base = dict(
        generator="resnet",
        image_size=64,
        n_train=4,
        n_test=2,
        batch_size=2,
        epochs=2,
        checkpoint_every=1,
        pretrained="none",
    )
    cfg = Config.from_profile(
        "smoke",
        **{**base, **kw},
        data_root=roots["data_root"],
        results_root=roots["results_root"],
        run_root=str(Path(roots["run_root"]) / run),
    )
    return cfg


def cli_args(cfg: Config) -> list[str]:
    keys = [
        "generator",
        "image_size",
        "n_train",
        "n_test",
        "batch_size",
        "epochs",
        "checkpoint_every",
        "pretrained",
        "data_root",
        "run_root",
        "results_root",
        "l1_pretrain_epochs",
    ]
    return ["--profile", "smoke"] + [a for k in keys for a in ("--set", f"{k}={getattr(cfg, k)}")]


def run_cli(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "colorlib", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        **kw,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def test_history_checkpoint_and_config(roots):
    cfg = tiny_cfg(roots, "basic", epochs=2, l1_pretrain_epochs=1)
    run_dir = fit(cfg, progress=False)
    hist = pd.read_csv(run_dir / "history.csv")
    assert list(hist.columns) == list(HISTORY_COLUMNS)
    assert hist["epoch"].tolist() == [1, 2, 3] and hist["phase"].tolist() == ["l1", "gan", "gan"]
    assert hist.loc[0, ["d_loss", "g_bce"]].isna().all()  # no D during L1 pretraining
    gan = hist[hist.phase == "gan"]
    assert gan[LOSS_COLUMNS].notna().all().all()
    # Eq. 16 and Eq. 19 hold for the epoch means.
    assert (gan.d_loss - (gan.d_real + gan.d_fake) / 2).abs().max() < 1e-5
    assert (gan.g_loss - (gan.g_bce + 100 * gan.g_l1)).abs().max() < 1e-3
    # iterations.csv: one row per GAN iteration (the L1 epoch's iterations 1–2 have none); each
    # epoch's rows average to its history row — the same numbers, per iteration.
    it = pd.read_csv(run_dir / "iterations.csv")
    assert list(it.columns) == ["iteration", *LOSS_COLUMNS] and it["iteration"].tolist() == [3, 4, 5, 6]
    epoch_means = it.groupby((it["iteration"] - 1) // 2)[LOSS_COLUMNS].mean().to_numpy()
    assert np.abs(epoch_means - gan[LOSS_COLUMNS].to_numpy()).max() < 1e-5
    ck = load_checkpoint(run_dir / "checkpoint.pt")
    assert ck["epoch"] == 3 and ck["iteration"] == 3 * (4 // 2) and ck["generator"] == "resnet"
    assert len(ck["history"]) == 3 and {"torch", "numpy", "python"} <= set(ck["rng"])
    assert Config.from_dict(ck["config"]) == cfg
    assert Config.from_dict(__import__("json").loads((run_dir / "config.json").read_text())) == cfg
    with pytest.raises(FileExistsError, match="--resume"):
        fit(cfg, progress=False)  # never silently overwrites a run


def _state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_identical(roots):
    """A run killed with SIGKILL (before and after its first checkpoint) and resumed ends with
    weights, optimizer states and loss history identical to an uninterrupted run."""
    ref_cfg = tiny_cfg(roots, "ref", epochs=4)
    finish(run_cli(["train", *cli_args(ref_cfg)]))
    ref = load_checkpoint(ref_cfg.run_dir / "checkpoint.pt")

    cfg = tiny_cfg(roots, "killed", epochs=4)
    ckpt = cfg.run_dir / "checkpoint.pt"
    rng = random.Random(1234)
    # Kill 1: somewhere in start-up or the first epoch (no checkpoint yet, or just one).
    proc = run_cli(["train", *cli_args(cfg)])
    time.sleep(rng.uniform(0.5, 3.0))
    proc.send_signal(signal.SIGKILL), proc.wait()
    # Kill 2: resumed, then killed at a random moment after a checkpoint exists.
    proc = run_cli(["train", *cli_args(cfg), "--resume"])
    deadline = time.time() + 240
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 1.5))
    proc.send_signal(signal.SIGKILL), proc.wait()
    out = finish(run_cli(["train", *cli_args(cfg), "--resume"]))
    got = load_checkpoint(ckpt)
    assert got["epoch"] == ref["epoch"] == 4
    assert _state_equal(got["G"], ref["G"]) and _state_equal(got["D"], ref["D"]), out
    for opt in ("opt_G", "opt_D"):
        for k, st in ref[opt]["state"].items():
            assert _state_equal(st, got[opt]["state"][k])
    ours, theirs = pd.DataFrame(got["history"]), pd.DataFrame(ref["history"])
    pd.testing.assert_frame_equal(
        ours[["epoch", "phase", *LOSS_COLUMNS]], theirs[["epoch", "phase", *LOSS_COLUMNS]], check_exact=True
    )
    csv = pd.read_csv(cfg.run_dir / "history.csv")
    assert csv["epoch"].tolist() == [1, 2, 3, 4]  # history.csv rewritten from the checkpoint on resume
    # iterations.csv: each iteration once, with the uninterrupted run's values (repeated ones replaced)
    pd.testing.assert_frame_equal(
        pd.read_csv(cfg.run_dir / "iterations.csv"), pd.read_csv(ref_cfg.run_dir / "iterations.csv"), check_exact=True
    )
    assert not list(cfg.run_dir.glob(".*.tmp")) and not list(cfg.run_dir.glob("*.tmp"))  # nothing half-written


class Killed(BaseException):
    """Stands for SIGKILL at one chosen moment: nothing after it runs."""


def test_killed_just_after_a_checkpoint_resumes_with_every_file(roots, monkeypatch):
    """The worst moment for a kill is just after a checkpoint is written: the resume starts after
    that epoch, so whatever of the epoch was not on disk yet would never be. The epoch's files
    (iterations.csv rows, its sample grid, history.csv) are written before its checkpoint, so a
    run killed there and resumed has exactly an uninterrupted run's files. (The SIGKILL test
    above hits this moment only by chance.)"""
    import colorlib.train as train_module

    ref_cfg = tiny_cfg(roots, "ref_files", epochs=3, sample_every=2)
    fit(ref_cfg, progress=False)
    cfg = tiny_cfg(roots, "killed_files", epochs=3, sample_every=2)
    real_save = train_module.save_training

    def save_then_die(path, step, run, *args):
        real_save(path, step, run, *args)
        if run.epoch == 2:  # the epoch with a sample grid
            raise Killed

    monkeypatch.setattr(train_module, "save_training", save_then_die)
    with pytest.raises(Killed):
        fit(cfg, progress=False)
    monkeypatch.undo()
    assert load_checkpoint(cfg.run_dir / "checkpoint.pt")["epoch"] == 2
    fit(cfg, resume=True, progress=False)
    for name in ("iterations.csv", "history.csv"):
        ours, theirs = pd.read_csv(cfg.run_dir / name), pd.read_csv(ref_cfg.run_dir / name)
        assert ours["epoch" if name == "history.csv" else "iteration"].is_unique
        cols = ["iteration", *LOSS_COLUMNS] if name == "iterations.csv" else ["epoch", *LOSS_COLUMNS]
        pd.testing.assert_frame_equal(ours[cols], theirs[cols], check_exact=True)
    grids = lambda c: sorted(p.name for p in (c.run_dir / "samples").glob("*.png"))  # noqa: E731
    assert grids(cfg) == grids(ref_cfg) == ["epoch_0002.png", "epoch_0003.png"]


def test_non_finite_loss_stops_and_keeps_last_checkpoint(roots, capsys):
    cfg = tiny_cfg(roots, "nan", epochs=1)
    fit(cfg, progress=False)
    ckpt = cfg.run_dir / "checkpoint.pt"
    before = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    with pytest.raises(TrainingDiverged, match=r"epoch 2: non-finite loss.*epoch 1\).*intact"):
        fit(cfg.replace(epochs=2, lr=1e38), resume=True, continue_changed=True, progress=False)  # weights → inf
    assert "continuing" in capsys.readouterr().err  # the change is said, on stderr
    assert hashlib.sha256(ckpt.read_bytes()).hexdigest() == before
    assert load_checkpoint(ckpt)["epoch"] == 1


def test_a_resume_is_the_same_run_or_refused(roots, tmp_path):
    """A run is what determines its weights: a resume with another training setting, fewer
    epochs than done, or other train images is refused in one line naming the difference, and
    leaves the run as it was; --continue-changed continues on purpose and records each segment."""
    from colorlib.checkpoint import RunChangedError
    from colorlib.data import prepare

    cfg = tiny_cfg(roots, "identity", epochs=2)
    fit(cfg, progress=False)
    ckpt, config_json = cfg.run_dir / "checkpoint.pt", cfg.run_dir / "config.json"
    before = (ckpt.read_bytes(), config_json.read_text())
    with pytest.raises(RunChangedError, match=r"other settings or data \(lambda_l1 100.0 → 0.0\).*--continue-changed"):
        fit(cfg.replace(lambda_l1=0.0, epochs=3), resume=True, progress=False)
    with pytest.raises(RunChangedError, match="has trained 2 epochs already; epochs=1"):
        fit(cfg.replace(epochs=1), resume=True, progress=False)
    other = cfg.replace(data_root=str(tmp_path / "data"), split_seed=1)  # the same images, another split
    prepare(other, progress=False)
    with pytest.raises(RunChangedError, match=r"split_seed 0 → 1.*another data split"):
        fit(other.replace(epochs=3), resume=True, progress=False)
    assert (ckpt.read_bytes(), config_json.read_text()) == before  # nothing rewritten
    assert not (cfg.run_dir / "segments.json").exists()

    fit(cfg.replace(lambda_l1=0.0, epochs=3), resume=True, continue_changed=True, progress=False)
    segments = json.loads((cfg.run_dir / "segments.json").read_text())
    assert [s["from_epoch"] for s in segments] == [0, 2]
    assert segments[0]["config"]["lambda_l1"] == 100.0 and segments[1]["config"]["lambda_l1"] == 0.0
    assert segments[1]["changes"] == ["lambda_l1 100.0 → 0.0"]
    assert json.loads(config_json.read_text())["lambda_l1"] == 0.0 and load_checkpoint(ckpt)["epoch"] == 3


def test_nothing_to_train_is_an_error(roots):
    with pytest.raises(ValueError, match="nothing to train"):
        fit(tiny_cfg(roots, "empty", epochs=0), progress=False)


def test_pretrained_policy(tmp_path, capsys):
    missing = str(tmp_path / "resnet18.pth")
    with pytest.raises(PretrainedWeightsError, match="requires the ImageNet encoder"):
        build_models(Config.from_profile("paper", generator="resnet", pretrained=missing))
    G, D, how = build_models(Config.from_profile("demo", generator="resnet", pretrained=missing))
    assert how == "random (ImageNet weights unavailable)"
    assert "RANDOM weights" in capsys.readouterr().err  # a warning: stderr
    weights = tmp_path / "r18.pth"
    torch.save(__import__("torchvision").models.resnet18().state_dict(), weights)
    G, _, how = build_models(Config.from_profile("demo", generator="resnet", pretrained=str(weights)))
    assert how.startswith("ImageNet") and torch.equal(G.encoder.conv1.weight, torch.load(weights)["conv1.weight"])


@pytest.mark.slow
def test_ddp_two_processes_gloo(roots):
    """torchrun with 2 CPU processes (gloo): both end with identical G and D weights."""
    cfg = tiny_cfg(roots, "ddp", epochs=2, batch_size=2)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
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
            *cli_args(cfg),
        ],
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "2 process(es)" in out and "identical on all 2 processes" in out
    [warning] = [line for line in out.splitlines() if line.startswith("WARNING:")]  # one line, rank 0 only
    assert "1 image(s) per GPU" in warning and "make -j 2 reproduce" in warning and "sync_bn" in warning
    ck = load_checkpoint(cfg.run_dir / "checkpoint.pt")
    assert isinstance(ck["rng"], list) and len(ck["rng"]) == 2  # every rank's RNG, for resume
    assert ck["iteration"] == 2 * (4 // 2)  # global batch 2 = 1 per rank


def _hand_macs(generator: str) -> int:
    """Multiply-accumulates of a forward pass at 256², from the layer specs of App. A."""
    conv = lambda cin, cout, hout: cin * cout * 16 * hout * hout  # 4×4 conv, output hout²
    convt = lambda cin, cout, hin: cin * cout * 16 * hin * hin  # 4×4/2 transposed, input hin²
    if generator == "unet":
        enc = [
            (1, 64, 128),
            (64, 128, 64),
            (128, 256, 32),
            (256, 512, 16),
            (512, 512, 8),
            (512, 512, 4),
            (512, 512, 2),
            (512, 512, 1),
        ]
        dec = [
            (512, 512, 1),
            (1024, 512, 2),
            (1024, 512, 4),
            (1024, 512, 8),
            (1024, 256, 16),
            (512, 128, 32),
            (256, 64, 64),
            (128, 2, 128),
        ]
        return sum(conv(*c) for c in enc) + sum(convt(*c) for c in dec)
    return sum(conv(*c) for c in [(3, 64, 128), (64, 128, 64), (128, 256, 32), (256, 512, 31), (512, 1, 30)])


def test_counted_flops_match_hand_count():
    from tools.bench import count_flops

    counted = count_flops("unet")
    assert counted["G_forward_GMAC"] * 1e9 == pytest.approx(_hand_macs("unet"), rel=1e-9)
    assert counted["D_forward_GMAC"] * 1e9 == pytest.approx(_hand_macs("D"), rel=1e-9)
    # a training step costs more than the forward passes it contains (backward ≈ 2× forward)
    assert counted["step_GFLOP"] > 2 * (counted["G_forward_GMAC"] + 3 * counted["D_forward_GMAC"])


def test_fast_path_switches_run_on_cpu(roots):
    """bf16 autocast + channels_last (the CUDA defaults) give finite losses; the Lab inputs and
    the losses stay float32 while the networks run in bf16."""
    from colorlib.step import GanStep
    from colorlib.utils.runtime import Runtime

    cfg = tiny_cfg(roots, "fast", amp="bf16", channels_last="on")
    G, D, _ = build_models(cfg)
    step = GanStep(G, D, cfg, Runtime(torch.device("cpu")))  # moves the models to channels_last itself
    assert step.amp and step.fmt == torch.channels_last
    assert G.encoder.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    images = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    L, ab = step.inputs(hflip(images, torch.tensor([True, False])))
    assert L.dtype == ab.dtype == torch.float32 and L.is_contiguous(memory_format=torch.channels_last)
    seen = {}
    hook = G.decoder.head.register_forward_hook(lambda m, i, o: seen.update(dtype=o.dtype))  # returns None
    step(hflip(images, torch.tensor([True, False])))
    hook.remove()
    assert seen["dtype"] == torch.bfloat16
    means = step.take_means(1)
    assert list(means) == LOSS_COLUMNS and all(np.isfinite(list(means.values()))) and means["g_l1"] > 0
    # G is saved in the standard layout (inference maps it from the file uncopied), G keeps training channels-last
    assert all(v.is_contiguous() for v in step.state_dict()["G"].values())
    assert G.encoder.conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_compiled_run_saves_plain_weights(roots, monkeypatch):
    """compile=True trains through the compiled wrappers, and its checkpoint holds the plain
    modules' weights, loadable by an uncompiled generator. Dynamo and AOTAutograd trace the step
    for real; the backend is aot_eager instead of inductor, whose C++ code generation costs ~30 s
    on this CPU and has nothing to do with the names the weights are saved under (make gpu-check
    compiles with inductor on CUDA)."""
    from colorlib.checkpoint import load_generator

    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))

    cfg = tiny_cfg(roots, "compiled", epochs=2, compile=True)
    run_dir = fit(cfg, progress=False)
    ck = load_checkpoint(run_dir / "checkpoint.pt")
    assert not any("_orig_mod" in k for k in [*ck["G"], *ck["D"]])
    hist = pd.read_csv(run_dir / "history.csv")
    assert hist[LOSS_COLUMNS].notna().all().all() and len(hist) == 2
    G, _ = load_generator(run_dir / "checkpoint.pt", expect="resnet")
    assert torch.equal(G.decoder.head[1].weight, ck["G"]["decoder.head.1.weight"])


def test_resume_needs_no_imagenet_file(roots, tmp_path):
    """A resumed run takes every weight from its checkpoint: the ImageNet file that started it
    may be gone (an offline node) even where the profile requires pretrained weights."""
    weights = tmp_path / "r18.pth"
    torch.save(__import__("torchvision").models.resnet18().state_dict(), weights)
    cfg = tiny_cfg(roots, "offline", epochs=1, pretrained=str(weights), require_pretrained=True)
    fit(cfg, progress=False)
    weights.unlink()
    fit(cfg.replace(epochs=2), resume=True, progress=False)
    ck = load_checkpoint(cfg.run_dir / "checkpoint.pt")
    assert ck["epoch"] == 2 and ck["encoder_init"] == f"ImageNet ({weights})"


def test_discriminator_sees_channels_last_with_flips(roots):
    """channels_last reaches D's input also when some images are flipped (the flip happens on
    the uint8 batch, before the Lab conversion), and flipping commutes with the conversion."""
    from colorlib.lab import lab_from_uint8
    from colorlib.step import GanStep
    from colorlib.utils.runtime import Runtime

    cfg = tiny_cfg(roots, "layout", channels_last="on")
    step = GanStep(*build_models(cfg)[:2], cfg, Runtime(torch.device("cpu")))
    layouts = []
    step.D.model[0].register_forward_pre_hook(
        lambda m, args: layouts.append(args[0].is_contiguous(memory_format=torch.channels_last))
    )
    images = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    flips = torch.tensor([True, False])
    step(hflip(images, flips))
    assert layouts and all(layouts)
    L, ab = step.inputs(hflip(images, flips))
    L0, ab0 = lab_from_uint8(images)
    assert torch.equal(L[0], L0[0].flip(-1)) and torch.equal(ab[1], ab0[1])  # bit-identical


@pytest.mark.slow
def test_training_learns(tmp_path):
    """A few dozen GAN steps on two photos bring the eval-mode L1 on them far below the gray
    baseline (ab = 0): a loop that stops learning (a lost optimizer step, a detached loss, wrong
    targets) fails here."""
    import skimage
    from PIL import Image

    from colorlib.checkpoint import load_generator
    from colorlib.data import prepare
    from colorlib.data.cache import load_images
    from colorlib.lab import lab_from_uint8

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea", "coffee"):
        Image.fromarray(getattr(skimage.data, name)()).save(photos / f"{name}.png")
    cfg = Config.from_profile(
        "smoke",
        source="folder",
        folder=str(photos),
        n_train=2,
        n_test=0,
        image_size=128,
        generator="resnet",
        pretrained="none",
        batch_size=2,
        epochs=60,
        checkpoint_every=60,
        sample_every=0,
        data_root=str(tmp_path / "data"),
        run_root=str(tmp_path / "runs"),
        results_root=str(tmp_path / "results"),
    )
    prepare(cfg, progress=False)
    fit(cfg, progress=False)
    G, _ = load_generator(cfg.run_dir / "checkpoint.pt")
    L, ab = lab_from_uint8(torch.from_numpy(np.array(load_images(cfg, "train"))))
    with torch.no_grad():
        l1 = (G(L) - ab).abs().mean().item()
    gray = ab.abs().mean().item()
    assert l1 < 0.5 * gray, f"eval L1 {l1:.4f} vs gray baseline {gray:.4f}"


@pytest.mark.slow
def test_one_writer_per_run(roots):
    """A second training of a run that is being trained stops at once, naming the PID, and the
    first one finishes unharmed."""
    from colorlib.utils.runlock import RunInUseError

    cfg = tiny_cfg(roots, "locked", epochs=12)
    first = run_cli(["train", *cli_args(cfg)])
    lock = cfg.run_dir / ".lock"
    deadline = time.time() + 120
    while not (lock.is_file() and lock.read_text().strip()) and time.time() < deadline:
        time.sleep(0.05)
    with pytest.raises(RunInUseError, match=rf"in use by another training \(PID {first.pid}\)"):
        fit(cfg, resume=True, progress=False)
    finish(first)
    assert load_checkpoint(cfg.run_dir / "checkpoint.pt")["epoch"] == 12


def test_sample_grids_every_n_epochs(roots):
    cfg = tiny_cfg(roots, "samples", epochs=3, sample_every=2)
    fit(cfg, progress=False)
    grids = sorted(p.name for p in (cfg.run_dir / "samples").glob("*.png"))
    assert grids == ["epoch_0002.png", "epoch_0003.png"]  # every 2nd epoch and the last
    from PIL import Image

    with Image.open(cfg.run_dir / "samples" / "epoch_0003.png") as img:
        assert img.size == (64 * 2, 64)  # one row of the (2) held-out test images
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # a dev extra

    events = EventAccumulator(str(cfg.run_dir / "tensorboard")).Reload()
    assert len(events.Scalars("loss/g_l1")) == 3 and len(events.Images("held-out samples")) == 2


@pytest.mark.parametrize("generator", ["unet", "resnet"])
def test_cpu_fast_path_agrees_with_fp32(generator):
    """bf16 autocast + channels-last, the CPU default where the CPU has native bf16, agrees with
    plain fp32 (tolerances in conftest.assert_bf16_agrees_with_fp32)."""
    from conftest import assert_bf16_agrees_with_fp32

    size = 256 if generator == "unet" else 64
    images = torch.randint(0, 256, (2, size, size, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    assert_bf16_agrees_with_fp32(
        lambda **kw: Config.from_profile("smoke", generator=generator, image_size=size, pretrained="none", **kw),
        images,
        torch.tensor([True, False]),
        torch.device("cpu"),
    )


def test_ddp_warning_states_sync_bn_cost_and_recommends_parallel_seeds():
    from colorlib.utils.runtime import ddp_warning

    paper = ddp_warning(16, 8, sync_bn=True, batchnorm_forwards=22)  # U-Net: 13 + 3 × 3
    assert "2 image(s) per GPU" in paper and "22 per step" in paper and 'make -j 8 reproduce SEEDS="0 1' in paper
    assert "normalizes its own 4" in ddp_warning(32, 8, sync_bn=False, batchnorm_forwards=33)
    assert ddp_warning(256, 8, sync_bn=True, batchnorm_forwards=22) is None  # 32 per GPU: nothing to say
