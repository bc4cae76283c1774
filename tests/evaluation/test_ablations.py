"""The §7 ablation runs (config.ABLATIONS): distinct named generators, the small U-Net's size,
the random-encoder ResNet, the Makefile's ABLATIONS=yes, and evaluation picking them up."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from colorlib.config import ABLATIONS, Config, run_name
from colorlib.models import ResNetUNetGenerator, UNetGenerator, build_generator
from colorlib.utils.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_small_unet_has_about_the_resnets_parameter_count():
    small, resnet = build_generator("unet-small"), build_generator("resnet", pretrained=False)
    assert isinstance(small, UNetGenerator) and n_params(small) == 14_469_908
    assert abs(n_params(small) / n_params(resnet) - 1) < 0.02  # 14.47 M against 14.72 M
    assert n_params(build_generator("unet")) == 54_410_370  # the paper's U-Net is untouched
    assert small(torch.zeros(1, 1, 256, 256)).shape == (1, 2, 256, 256)


def test_random_encoder_resnet_never_loads_weights(monkeypatch):
    import colorlib.models as pre

    def refuse(*a, **k):
        raise AssertionError("resnet-random must not load pretrained weights")

    monkeypatch.setattr(pre, "load_resnet18_imagenet", refuse)
    net = build_generator("resnet-random")
    assert isinstance(net, ResNetUNetGenerator) and n_params(net) == 14_720_578


def test_ablations_are_runs_of_their_own(tmp_path):
    from colorlib.train import build_models

    for gen in ABLATIONS:
        cfg = Config.from_profile("smoke", generator=gen, run_root=str(tmp_path))
        assert cfg.run_dir.name == run_name(gen, 0) == f"{gen}-seed0"
    cfg = Config.from_profile("smoke", generator="resnet-random", require_pretrained=True)
    assert build_models(cfg, say=lambda *_, **__: None)[2].startswith("random")  # encoder_init: evaluate warns
    Config.from_profile("smoke", generator="unet-small").check_image_size("unet-small")
    with pytest.raises(ConfigError):
        Config.from_profile("smoke", generator="unet-small", image_size=64).check_image_size("unet-small")
    with pytest.raises(ConfigError):
        Config.from_profile("smoke", generator="unet-tiny")


def test_evaluation_picks_up_the_ablation_runs_that_exist(tmp_path):
    from colorlib.evaluation.evaluate import existing_ablations

    cfg = Config.from_profile("smoke", run_root=str(tmp_path))
    assert existing_ablations(cfg, [0, 1]) == ()
    run = cfg.replace(generator="unet-small", seed=1).run_dir
    run.mkdir(parents=True)
    (run / "checkpoint.pt").write_bytes(b"")
    assert existing_ablations(cfg, [0, 1]) == ("unet-small",) and existing_ablations(cfg, [0]) == ()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_reproduce_with_ablations_adds_two_trainings_per_seed():
    def plan(*extra: str) -> str:
        out = subprocess.run(
            ["make", "-n", "-B", "-C", str(ROOT), "reproduce", "SEEDS=0 1 2", "ALLOW_CPU=1", *extra],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out

    with_ = plan("ABLATIONS=yes")
    made = set(re.findall(r"notebooks/(0[23]_train_[a-z-]+-seed\d)\.ipynb -k", with_))
    assert made == {
        f"{nb}-seed{s}"
        for s in (0, 1, 2)
        for nb in ("02_train_unet", "03_train_resnet", "02_train_unet-small", "03_train_resnet-random")
    }
    for s in (0, 1, 2):
        assert re.search(rf"02_train_unet-small-seed{s}\.ipynb .*-p seed {s} -p generator unet-small", with_)
        assert re.search(rf"03_train_resnet-random-seed{s}\.ipynb .*-p seed {s} -p generator resnet-random", with_)
    assert "generator" not in plan()  # without ABLATIONS: the paper's runs only
    assert "colorlib check --profile paper" in with_  # ends with the reproduction verdict


def test_slurm_job_array_holds_the_ablation_trainings(tmp_path):
    from tools.parallel import write_slurm

    write_slurm(tmp_path, [0, 1], ablations=True)
    train = (tmp_path / "train.sbatch").read_text()
    assert "--array=0-7" in train and "ABLATIONS=yes" in train
    assert "02_train_unet-small-seed1.ipynb" in train and "03_train_resnet-random-seed0.ipynb" in train
    write_slurm(tmp_path, [0, 1])
    assert "--array=0-3" in (tmp_path / "train.sbatch").read_text()
