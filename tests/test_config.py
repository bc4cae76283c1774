"""colorlib.config: the paper's values (§5.1, §5.2), overrides, serialization, paths, CLI options."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from colorlib.cli import add_config_args, config_from_args
from colorlib.config import PROFILES, Config
from colorlib.utils.errors import ConfigError
from colorlib.utils.files import project_root

REPO = Path(__file__).resolve().parent.parent


def test_profiles_exist():
    assert {"paper", "demo", "smoke"} <= set(PROFILES)
    for name in PROFILES:
        assert Config.from_profile(name).profile == name
    with pytest.raises(ValueError, match="nope"):
        Config.from_profile("nope")


def test_paper_profile_has_the_papers_values():
    """§5.1: 8,000 / 2,000 COCO images at 256×256; §5.2: batch 16, 300 epochs, Adam lr 2e-4,
    betas (0.5, 0.999), λ = 100, weights ~ N(0, 0.02)."""
    c = Config.from_profile("paper")
    assert (c.source, c.n_train, c.n_test, c.image_size) == ("coco", 8000, 2000, 256)
    assert (c.batch_size, c.epochs) == (16, 300)
    assert c.lr == 2e-4 and (c.beta1, c.beta2) == (0.5, 0.999)
    assert c.lambda_l1 == 100.0 and c.init_std == 0.02
    assert c.n_train // c.batch_size * c.epochs == 150_000  # the paper's 150k iterations
    assert c.pretrained == "imagenet" and c.require_pretrained


def test_small_profiles_keep_the_method_and_shrink_the_work():
    paper = Config.from_profile("paper")
    for name in ("demo", "smoke"):
        c = Config.from_profile(name)
        assert (c.lr, c.beta1, c.beta2, c.lambda_l1, c.init_std) == (
            paper.lr,
            paper.beta1,
            paper.beta2,
            paper.lambda_l1,
            paper.init_std,
        )
        assert c.n_train < paper.n_train and c.epochs < paper.epochs and c.device == "cpu"
    assert Config.from_profile("smoke", epochs=2).epochs == 2


def test_override_converts_types():
    base = Config.from_profile("demo")
    c = base.override(
        [
            "epochs=3",
            "lr=1e-3",
            "flip=false",
            "compile=YES",
            "generator=resnet",
            "batch-size = 8",
            'extra={"note": "x", "k": 1}',
        ]
    )
    assert c.epochs == 3 and type(c.epochs) is int
    assert c.lr == 1e-3 and type(c.lr) is float
    assert c.flip is False and c.compile is True
    assert c.generator == "resnet" and c.batch_size == 8
    assert c.extra == {"note": "x", "k": 1}
    assert base.epochs == PROFILES["demo"]["epochs"] and base.flip is True  # the original is untouched
    for text, value in [("1", True), ("on", True), ("0", False), ("off", False), ("no", False)]:
        assert base.override([f"flip={text}"]).flip is value


@pytest.mark.parametrize(
    "item, key",
    [
        ("nope=1", "nope"),
        ("epochs=three", "epochs"),
        ("epochs=3.5", "epochs"),
        ("lr=fast", "lr"),
        ("flip=maybe", "flip"),
        ("extra={not json", "extra"),
        ("extra=[1, 2]", "extra"),
        ("epochs", "epochs"),
    ],
)
def test_bad_overrides_name_the_key(item, key):
    with pytest.raises(ValueError, match=key):
        Config.from_profile("demo").override([item])


def test_replace_rejects_unknown_fields():
    with pytest.raises(ValueError, match="bogus"):
        Config().replace(bogus=1)
    with pytest.raises(TypeError):
        Config.from_profile("demo", bogus=1)


def test_json_round_trip(tmp_path):
    c = Config.from_profile("paper").override(["seed=3", "generator=resnet", 'extra={"a": [1, 2]}'])
    assert Config.from_dict(json.loads(c.to_json())) == c
    path = tmp_path / "config.json"
    c.to_json(path)
    assert Config.from_dict(json.loads(path.read_text())) == c
    # A config.json with a field this version does not know (renamed, removed, a typo) is refused in
    # one line naming it and the file, never silently dropped (a resumed run would not see it).
    with pytest.raises(ConfigError, match=r"runs/x/config.json: unknown Config field\(s\) removed_field"):
        Config.from_dict({**c.to_dict(), "removed_field": 1}, source="runs/x/config.json")


def test_default_roots_are_the_checkout_not_cwd(clean_colorlib_env, tmp_path):
    clean_colorlib_env.chdir(tmp_path)
    assert project_root() == REPO
    c = Config.from_profile("smoke", generator="resnet", seed=2)
    assert c.data_dir == REPO / "data" / "smoke"
    assert c.run_dir == REPO / "runs" / "smoke" / "resnet-seed2"
    assert c.results_dir == REPO / "results" / "smoke"


def test_env_vars_move_the_roots(clean_colorlib_env, tmp_path):
    env = clean_colorlib_env
    env.setenv("COLORLIB_HOME", str(tmp_path / "home"))
    c = Config.from_profile("demo")
    assert c.data_dir == tmp_path / "home" / "data" / "demo"
    assert c.run_dir == tmp_path / "home" / "runs" / "demo" / "unet-seed0"
    assert c.results_dir == tmp_path / "home" / "results" / "demo"
    env.setenv("COLORLIB_DATA", str(tmp_path / "d"))
    env.setenv("COLORLIB_RUNS", str(tmp_path / "r"))
    env.setenv("COLORLIB_RESULTS", str(tmp_path / "o"))
    assert c.data_dir == tmp_path / "d" / "demo"
    assert c.run_dir == tmp_path / "r" / "demo" / "unet-seed0"
    assert c.results_dir == tmp_path / "o" / "demo"


def test_root_fields_beat_env_vars(clean_colorlib_env, tmp_path):
    clean_colorlib_env.setenv("COLORLIB_DATA", str(tmp_path / "env"))
    clean_colorlib_env.setenv("COLORLIB_RUNS", str(tmp_path / "env"))
    clean_colorlib_env.setenv("COLORLIB_RESULTS", str(tmp_path / "env"))
    c = Config.from_profile("demo").override(
        [f"data_root={tmp_path / 'd'}", f"run_root={tmp_path / 'r'}", f"results_root={tmp_path / 'o'}"]
    )
    assert c.data_dir == tmp_path / "d" / "demo"
    assert c.run_dir == tmp_path / "r" / "demo" / "unet-seed0"
    assert c.results_dir == tmp_path / "o" / "demo"


def test_cli_options(clean_colorlib_env):
    parser = argparse.ArgumentParser()
    add_config_args(parser)
    args = parser.parse_args(["--profile", "smoke", "--set", "epochs=2", "--set", "generator=resnet"])
    c = config_from_args(args, seed=7)
    assert (c.profile, c.epochs, c.generator, c.seed, c.n_train) == ("smoke", 2, "resnet", 7, 4)
    assert config_from_args(parser.parse_args([])).profile == "demo"
    with pytest.raises(SystemExit):
        parser.parse_args(["--profile", "nope"])
    with pytest.raises(ValueError, match="epochs"):
        config_from_args(parser.parse_args(["--set", "epochs=x"]))
    clean_colorlib_env.setenv("COLORLIB_PROFILE", "smoke")
    parser = argparse.ArgumentParser()
    add_config_args(parser)
    assert config_from_args(parser.parse_args([])).profile == "smoke"


def test_resolve_device(monkeypatch):
    """auto: CUDA, then Apple's MPS, then the CPU (MPS cannot run here: the choice is tested by
    faking what torch reports); a device that is not there is one line."""
    import torch

    assert Config(device="cpu").resolve_device() == "cpu"
    assert Config(device="auto").resolve_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert Config(device="auto").resolve_device() == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert Config(device="auto").resolve_device() == "cpu"
    for device in ("cuda", "cuda:1", "mps"):
        with pytest.raises(ValueError, match=rf"device='{device}' is not available here; use device=auto"):
            Config(device=device).resolve_device()


def test_image_sizes_each_generator_takes():
    Config(image_size=256).check_image_size()
    Config(image_size=64).check_image_size("resnet")
    with pytest.raises(ValueError, match=r"image_size=64: the unet generator cannot take it \(U-Net: multiples of 256"):
        Config(image_size=64).check_image_size("unet")
    with pytest.raises(ValueError, match="image_size=100: no generator takes it"):
        Config(image_size=100).check_image_size()


def test_plain_config_is_plain_data():
    """Config() is usable on its own: every field a plain value (the profile constructor is
    ``from_profile``; a classmethod named like the ``profile`` field once became its default)."""
    import json

    cfg = Config()
    assert cfg.profile == "demo" and isinstance(cfg.profile, str)
    assert json.loads(cfg.to_json())["profile"] == "demo"
    assert Config.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "item, message",
    [
        ("batch_size=0", "batch_size=0: must be ≥ 1"),
        ("batch_size=-2", "batch_size=-2: must be ≥ 1"),
        ("checkpoint_every=0", "checkpoint_every=0: must be ≥ 1"),
        ("epochs=-1", "epochs=-1: must be ≥ 0"),
        ("l1_pretrain_epochs=-3", "l1_pretrain_epochs=-3"),
        ("lr=0", "need lr > 0"),
        ("lr=nan", "need lr > 0"),
        ("amp=fp16", "amp='fp16': choose one of auto, bf16, off"),
        ("channels_last=yes", "channels_last='yes'"),
        ("generator=vgg", "generator='vgg'"),
        ("source=web", "source='web'"),
        ("n_train=-1", "n_train=-1"),
        ("seed=-1", "seed=-1: must be a whole number in [0, 2**32 − 1]"),
        ("seed=4294967296", "seed=4294967296"),
        ("split_seed=-3", "split_seed=-3"),
        ("device=gpu", "device='gpu': choose auto, cpu, mps, cuda or cuda:N"),
        ("device=cuda:x", "device='cuda:x'"),
        ("lr=inf", "lr=inf: must be a finite number"),
        ("lambda_l1=inf", "lambda_l1=inf: must be a finite number"),
        ("init_std=inf", "init_std=inf"),
        ("sample_every=-1", "sample_every=-1: must be ≥ 0"),
    ],
)
def test_values_no_run_could_use_are_refused(item, message):
    """A bad --set value is one line naming it — never a traceback mid-run, or a 'done' run that
    trained nothing (batch_size=-2 once made a checkpoint of zero losses)."""
    with pytest.raises(ValueError, match=re.escape(message)):
        Config.from_profile("demo").override([item])
