"""``python -m colorlib export``: a trained smoke run as safetensors + model card, loaded wherever a
checkpoint is (colorize, evaluate, load_generator), reading only the generator of a checkpoint."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import fit
from PIL import Image
from skimage import data

from colorlib.checkpoint import EXPORT_FORMAT, CheckpointError, load_checkpoint, load_generator, read_export
from colorlib.cli import main as cli
from colorlib.config import Config
from colorlib.inference.colorizer import load_colorizer
from colorlib.inference.export import ExportError, export

pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """A trained and evaluated smoke run (U-Net, 1 epoch), and its export."""
    from colorlib.data import prepare
    from colorlib.evaluation.evaluate import evaluate

    root = tmp_path_factory.mktemp("export")
    cfg = Config.from_profile(
        "smoke",
        data_root=str(root / "data"),
        run_root=str(root / "runs"),
        results_root=str(root / "results"),
        channels_last="on",
    )
    prepare(cfg, progress=False)
    fit(cfg, progress=False)
    evaluate(cfg, generators=["unet"], n_predictions=0, progress=False)
    out = root / "share" / "unet-smoke.safetensors"
    assert cli(["export", str(cfg.run_dir), "--out", str(out)]) == 0
    return cfg, out


def _photo() -> Image.Image:
    return Image.fromarray(data.astronaut()[::2, ::3]).convert("L").convert("RGB")  # 256×171, not square


def test_export_colorizes_exactly_like_the_checkpoint(smoke, tmp_path):
    """The acceptance test: the same pixels from the export as from the training checkpoint, both
    through load_colorizer and through the colorize command."""
    cfg, out = smoke
    ckpt = cfg.run_dir / "checkpoint.pt"
    a, b = (np.asarray(load_colorizer(p).colorize(_photo())) for p in (ckpt, out))
    assert a.std() > 0 and np.array_equal(a, b)
    _photo().save(tmp_path / "photo.png")
    for name, weights in (("ckpt", ckpt), ("export", out)):
        assert (
            cli(["colorize", str(tmp_path / "photo.png"), "--out", str(tmp_path / name), "--checkpoint", str(weights)])
            == 0
        )
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "ckpt" / "photo_color.png")),
        np.asarray(Image.open(tmp_path / "export" / "photo_color.png")),
    )


def test_export_holds_the_generator_metadata_metrics_and_a_card(smoke):
    cfg, out = smoke
    state, info = read_export(out)
    ckpt = load_checkpoint(cfg.run_dir / "checkpoint.pt")
    assert state.keys() == ckpt["G"].keys() and all(torch.equal(state[k], ckpt["G"][k]) for k in state)
    assert out.stat().st_size < 0.4 * (cfg.run_dir / "checkpoint.pt").stat().st_size  # no D, no Adam moments
    assert info["format"] == EXPORT_FORMAT and info["generator"] == "unet" and info["dtype"] == "float32"
    assert info["encoder_init"] == ckpt["encoder_init"] and info["epoch"] == ckpt["epoch"] == 1
    assert info["history"] == json.loads(json.dumps(ckpt["history"]))
    assert Config.from_dict(info["config"]).run_key() == cfg.run_key()
    assert all(info["config"][k] == "" for k in ("data_root", "run_root", "results_root"))  # no local paths
    table = pd.read_csv(cfg.results_dir / "metrics.csv")
    rows = table[(table["kind"] == "run") & (table["model"] == "unet")]
    assert sorted(r["mode"] for r in info["metrics"]) == sorted(rows["mode"])
    assert {r["mode"]: r["l1"] for r in info["metrics"]} == pytest.approx(dict(zip(rows["mode"], rows["l1"])))
    card = out.with_suffix(".md").read_text()
    assert card.startswith("# U-Net colorizer") and "## Test metrics" in card and f"{rows['l1'].iloc[0]:.4f}" in card
    assert "unet_colorizer" in card and "profile `smoke`" in card


def test_fp16_export_is_half_the_size_and_loads_as_fp32(smoke, tmp_path):
    cfg, out = smoke
    half = export(cfg.run_dir / "checkpoint.pt", tmp_path / "half.safetensors", fp16=True)
    assert half.stat().st_size < 0.55 * out.stat().st_size
    model, info = load_generator(half, expect="unet")
    assert info["dtype"] == "float16" and all(p.dtype == torch.float32 for p in model.parameters())
    ref = read_export(out)[0]
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], ref[k].half().to(ref[k].dtype)) for k in ref)


def test_evaluate_scores_a_run_folder_holding_only_an_export(smoke, tmp_path):
    """Evaluate finds an export alone in a run folder and gets the checkpoint's numbers."""
    from colorlib.evaluation.evaluate import evaluate

    cfg, out = smoke
    shared = cfg.replace(run_root=str(tmp_path / "runs"), results_root=str(tmp_path / "results"))
    shared.run_dir.mkdir(parents=True)
    shutil.copy(out, shared.run_dir / out.name)
    summary = evaluate(shared, generators=["unet"], n_predictions=0, progress=False)
    before = pd.read_csv(cfg.results_dir / "metrics.csv")
    pick = lambda df: df[(df["kind"] == "run") & (df["model"] == "unet")].set_index("mode")["l1"]  # noqa: E731
    assert pick(summary).to_dict() == pytest.approx(pick(before).to_dict(), rel=1e-6)


def test_loading_a_checkpoint_reads_only_the_generator(smoke):
    """torch.load(mmap=True): loading the checkpoint (G + D + two Adam states) of a channels-last
    run for inference and reading every weight of G adds one generator to the peak memory — its
    weights, read from the file where they lie (saved in the standard layout: no copy) — never
    the whole file (loading it all used to add file + G; copying channels-last weights into the
    standard layout, 2 G). The first forward pass is left out: its working memory varies."""
    cfg, _ = smoke
    ckpt = cfg.run_dir / "checkpoint.pt"
    script = textwrap.dedent(f"""
        import torch
        from colorlib.inference.colorizer import load_colorizer
        def peak():
            return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) * 1024
        torch.zeros(1).add_(1)
        base = peak()
        c = load_colorizer({str(ckpt)!r})
        total = sum(float(t.sum()) for t in c.model.state_dict().values())  # every page of G (no copy)
        print(peak() - base)
    """)
    grown = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    g_bytes = sum(v.numel() * v.element_size() for v in read_export(smoke[1])[0].values())
    assert grown < g_bytes + 50e6 < ckpt.stat().st_size, f"{grown / 1e6:.0f} MB"


def test_export_errors_are_one_line(smoke, tmp_path, capsys):
    cfg, out = smoke
    assert cli(["export", str(cfg.run_dir), "--out", str(tmp_path / "model.pt")]) == 1
    assert ".safetensors" in capsys.readouterr().err.strip()
    assert cli(["export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m.safetensors")]) == 1
    err = capsys.readouterr().err.strip()
    assert "no such checkpoint file" in err and "\n" not in err
    with pytest.raises(ExportError, match="no training config"):
        from colorlib.checkpoint import FORMAT, atomic_save

        atomic_save({"format": FORMAT, "generator": "unet", "G": {}}, tmp_path / "bare.pt")
        export(tmp_path / "bare.pt", tmp_path / "bare.safetensors")
    with pytest.raises(CheckpointError, match="'unet'.*'resnet'"):
        load_generator(out, expect="resnet")
    import safetensors.torch

    safetensors.torch.save_file({"w": torch.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="not a colorlib export"):
        load_colorizer(tmp_path / "other.safetensors")
    (tmp_path / "cut.safetensors").write_bytes(out.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="not a readable safetensors file") as err:
        load_colorizer(tmp_path / "cut.safetensors")
    assert "\n" not in str(err.value)
