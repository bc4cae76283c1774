"""Damaged or non-finite weights are refused where they are loaded, in one line naming the file
(issue 19): a checkpoint whose weight bytes were overwritten (the zip CRC), an export whose bytes
were overwritten (its stored sha256), NaN/inf weights (colorize, evaluate, export), a model whose
finite weights overflow to NaN predictions, tampered export metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from colorlib.checkpoint import FORMAT, CheckpointError, atomic_save, generator_state, load_checkpoint, load_generator
from colorlib.cli import main as cli
from colorlib.config import Config
from colorlib.inference.colorizer import Colorizer
from colorlib.models import build_generator

safetensors = pytest.importorskip("safetensors.torch")


def _one_line_naming(err, path) -> str:
    text = str(err.value)
    assert str(path) in text and "\n" not in text
    return text


def _overwrite(path, offset: int, n: int = 64 * 1024) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset : offset + n] = np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))


def _small_ckpt(path, G: dict) -> None:
    atomic_save(
        {
            "format": FORMAT,
            "generator": "unet",
            "G": G,
            "epoch": 1,
            "iteration": 1,
            "history": [],
            "config": Config.from_profile("smoke", results_root=str(path.parent / "results")).to_dict(),
        },
        path,
    )


@pytest.fixture(scope="module")
def unet_state() -> dict:
    torch.manual_seed(0)
    return build_generator("unet").state_dict()


def test_overwritten_checkpoint_weights_are_refused_at_load(tmp_path):
    """64 KiB of random bytes inside a weight: torch.load reads them as numbers; the CRC does not match."""
    w = torch.randn(512, 512)
    path = tmp_path / "checkpoint.pt"
    _small_ckpt(path, {"w": w})
    assert torch.equal(load_checkpoint(path)["G"]["w"], w)  # intact: loads
    start = path.read_bytes().find(w.numpy().tobytes()[:256])
    assert start > 0
    _overwrite(path, start + 4096)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert "CRC" in _one_line_naming(err, path)
    with pytest.raises(CheckpointError):
        generator_state(path)


def test_nan_checkpoint_is_refused_by_colorize_in_one_line(tmp_path, unet_state, capsys):
    state = dict(unet_state)
    name = next(k for k in state if k.endswith("weight"))
    state[name] = state[name].clone()
    state[name][0, 0, 0, 0] = float("nan")
    path = tmp_path / "checkpoint.pt"
    _small_ckpt(path, state)
    with pytest.raises(CheckpointError) as err:
        load_generator(path)
    assert "non-finite" in _one_line_naming(err, path)
    Image.new("RGB", (40, 30), (90, 90, 90)).save(tmp_path / "a.png")
    code = cli(["colorize", str(tmp_path / "a.png"), "--out", str(tmp_path / "out"), "--checkpoint", str(path)])
    assert code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert str(path) in line and "non-finite" in line
    assert not list((tmp_path / "out").glob("*_color*")) if (tmp_path / "out").exists() else True


def test_evaluate_refuses_a_nan_model_instead_of_scoring_it(tmp_path, unet_state):
    from colorlib.evaluation.evaluate import evaluate

    cfg = Config.from_profile(
        "smoke",
        data_root=str(tmp_path / "data"),
        run_root=str(tmp_path / "runs"),
        results_root=str(tmp_path / "results"),
        generator="unet",
    )
    state = {
        k: (v * float("inf") if k.endswith("head.1.bias") or k == next(iter(unet_state)) else v)
        for k, v in unet_state.items()
    }
    _small_ckpt(cfg.run_dir / "checkpoint.pt", state)
    with pytest.raises(CheckpointError, match="non-finite"):
        evaluate(cfg, generators=["unet"], n_predictions=0, progress=False)
    assert not (tmp_path / "results").exists()  # nothing reported


def _overflowing(unet_state) -> torch.nn.Module:
    """Finite weights whose activations overflow float32: the predictions are NaN."""
    model = build_generator("unet", init_std=None)
    model.load_state_dict(unet_state)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e30) if p.ndim == 4 else None
    return model.eval()


def test_finite_weights_that_overflow_are_refused_not_scored(unet_state):
    from colorlib.evaluation.evaluate import evaluate_arrays
    from colorlib.evaluation.runs import EvaluationError

    model = _overflowing(unet_state)
    images = np.random.default_rng(0).integers(0, 256, (2, 256, 256, 3), dtype=np.uint8)
    with pytest.raises(EvaluationError, match="non-finite"):
        evaluate_arrays(images, {("unet", 0): model}, modes=["eval"], n_predictions=0, progress=False)
    with pytest.raises(CheckpointError, match="non-finite"):  # colorize: one line, not an IndexError
        Colorizer(model, "unet").colorize(Image.fromarray(images[0]))


@pytest.fixture(scope="module")
def export_file(tmp_path_factory, unet_state):
    from colorlib.inference.export import export

    root = tmp_path_factory.mktemp("exp")
    _small_ckpt(root / "checkpoint.pt", unet_state)
    return export(root / "checkpoint.pt", root / "unet.safetensors")


def test_overwritten_export_bytes_are_refused_at_load(export_file, tmp_path):
    path = tmp_path / export_file.name
    path.write_bytes(export_file.read_bytes())
    load_generator(path)  # intact: loads
    _overwrite(path, path.stat().st_size // 2)
    with pytest.raises(CheckpointError) as err:
        load_generator(path)
    assert "sha256" in _one_line_naming(err, path)


def test_nan_export_is_refused_at_load(export_file, tmp_path):
    """An export rewritten with a NaN (no digest, as an older export; or a recomputed one)."""
    from safetensors import safe_open

    with safe_open(str(export_file), framework="pt") as f:
        meta = {k: v for k, v in f.metadata().items() if k != "weights_sha256"}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    name = next(iter(tensors))
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[7] = float("inf")
    path = tmp_path / "nan.safetensors"
    path.write_bytes(safetensors.save(tensors, metadata=meta))
    with pytest.raises(CheckpointError) as err:
        load_generator(path)
    assert "non-finite" in _one_line_naming(err, path)


@pytest.mark.parametrize(
    "key, value", [("checkpoint", "[1, 2]"), ("config", "[]"), ("metrics", "{}"), ("provenance", "3")]
)
def test_tampered_export_metadata_is_one_line(export_file, tmp_path, key, value):
    from safetensors import safe_open

    with safe_open(str(export_file), framework="pt") as f:
        meta, tensors = dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}
    meta[key] = value
    path = tmp_path / "tampered.safetensors"
    path.write_bytes(safetensors.save(tensors, metadata=meta))
    with pytest.raises(CheckpointError) as err:
        load_generator(path)
    assert key in _one_line_naming(err, path)
    json.loads(meta["config"]) if key != "config" else None
