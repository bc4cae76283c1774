"""The study as users run it: `make rehearse` (= `make reproduce`, small, on the CPU) and two
trainings at once giving the same runs as one after the other. Each runs the real notebooks
through papermill; a few minutes in all on 2 cores."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import torch

from colorlib.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")]


def _clean_env() -> dict:
    """This process's environment without COLORLIB_* (the caller's profile or roots must not leak in)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COLORLIB_")}


def _make(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**_clean_env(), **(env or {})}
    return subprocess.run(["make", "-C", str(ROOT), *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_rehearsal_of_make_reproduce(tmp_path):
    """Every stage for real: COCO annotations downloaded and extracted from a local mirror, only
    the chosen images downloaded, the cache, both trainings (the ResNet from torchvision-named
    "ImageNet" weights), evaluation, figures, tables — through `make reproduce`'s own targets."""
    home = tmp_path / "rehearsal"
    out = _make("rehearse", f"REHEARSAL_HOME={home}")
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    summary = json.loads((home / "data" / "paper" / "summary.json").read_text())
    assert summary["source"] == "coco" and (summary["train"], summary["test"]) == (32, 8)
    coco = home / "data" / "paper" / "coco"
    assert (coco / "annotations" / "captions_train2014.json").is_file()
    assert len(list((coco / "train2014").glob("*.jpg"))) <= 40  # only the chosen ones (+ replacements)
    runs = home / "runs" / "paper"
    resnet = load_checkpoint(runs / "resnet-seed0" / "checkpoint.pt")
    assert resnet["encoder_init"].startswith("ImageNet") and resnet["config"]["batch_size"] == 16
    assert load_checkpoint(runs / "unet-seed0" / "checkpoint.pt")["config"]["require_pretrained"] is True
    results = home / "results" / "paper"
    metrics = pd.read_csv(results / "metrics.csv")
    assert {"unet", "resnet", "gray", "train-median"} <= set(metrics["model"])
    # the §7 ablations (REHEARSAL_ABLATIONS=yes): one run of each, evaluated with the others, judged in claims.md
    assert {"unet-small", "resnet-random"} <= set(metrics["model"])
    assert load_checkpoint(runs / "resnet-random-seed0" / "checkpoint.pt")["encoder_init"].startswith("random")
    claims_md = (results / "claims.md").read_text()
    assert (
        "### Claim 5 — " in claims_md and "### Claim 5b — " in claims_md and "ablation run evaluated" not in claims_md
    )
    assert "Did it reproduce the record? not reproduced" in out.stdout  # 1 epoch on 32 images is not the paper
    for name in (
        "fig7_comparison.png",
        "fig8_resnet_losses.png",
        "fig9_unet_losses.png",
        "tables/fig11.md",
        "notebooks/05_figures.ipynb",
        "notebooks/06_colorize_your_photo.ipynb",
    ):
        assert (results / name).is_file(), name


def _window(notebook: Path) -> tuple[datetime, datetime]:
    meta = json.loads(notebook.read_text())["metadata"]["papermill"]
    return datetime.fromisoformat(meta["start_time"]), datetime.fromisoformat(meta["end_time"])


def test_two_trainings_at_once_equal_one_after_the_other(tmp_path):
    """`make -j 2` runs two independent trainings at the same time (their notebooks' run times
    overlap) and they end with exactly the weights and optimizer states of a sequential run (the
    same trainings by `python -m colorlib train`, one after the other, in another home)."""
    states = {}
    for jobs in ("1", "2"):
        home = tmp_path / f"j{jobs}"
        env = {**_clean_env(), "COLORLIB_HOME": str(home), "OMP_NUM_THREADS": "1"}
        if jobs == "1":
            for args in (["prepare"], ["train", "--seed", "0"], ["train", "--seed", "1"]):
                cli = [sys.executable, "-m", "colorlib", *args, "--profile", "smoke"]
                done = subprocess.run(cli, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
                assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        else:
            targets = [str(home / "smoke" / "notebooks" / f"02_train_unet-seed{s}.ipynb") for s in (0, 1)]
            out = _make("-j2", f"RESULTS={home}", *targets, env=env)
            assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
            (a0, a1), (b0, b1) = (
                _window(home / "smoke" / "notebooks" / f"02_train_unet-seed{s}.ipynb") for s in (0, 1)
            )
            assert a0 < b1 and b0 < a1, "the two trainings did not run at the same time"
        states[jobs] = {s: load_checkpoint(home / "runs" / "smoke" / f"unet-seed{s}" / "checkpoint.pt") for s in (0, 1)}
    for seed in (0, 1):
        one, two = states["1"][seed], states["2"][seed]
        for key in ("G", "D"):
            assert all(torch.equal(one[key][k], two[key][k]) for k in one[key]), (seed, key)
        timing = ["seconds", "images_per_s"]
        assert (
            pd.DataFrame(one["history"]).drop(columns=timing).equals(pd.DataFrame(two["history"]).drop(columns=timing))
        )
    assert not all(torch.equal(states["1"][0]["G"][k], states["1"][1]["G"][k]) for k in states["1"][0]["G"])
