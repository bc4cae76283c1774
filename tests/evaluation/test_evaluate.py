"""colorlib.evaluation.evaluate end to end on a smoke run: real data cache, real (untrained) checkpoints.

One evaluation (3 test images × U-Net, ResNet × eval, dropout) is shared by the module's tests;
the numbers it wrote are checked against independent computations.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import fit, save_generator_checkpoint
from skimage import color

from colorlib.checkpoint import load_generator
from colorlib.cli import main as cli
from colorlib.config import GENERATORS, Config, run_name
from colorlib.evaluation import evaluate as ev
from colorlib.evaluation import metrics, perceptual, predictors, runs
from colorlib.evaluation.predictors import build_jobs, scoring_mode
from colorlib.evaluation.report import comparison_markdown, metrics_markdown, summarize, write_results
from colorlib.lab import lab_from_uint8, uint8_from_lab


def _save_run(cfg: Config, generator: str, seed: int) -> None:
    from colorlib.models import build_generator

    torch.manual_seed(seed)
    run = cfg.replace(generator=generator, seed=seed)
    model = build_generator(generator, pretrained=False)
    encoder_init = "random (pretrained=none)" if generator == "resnet" else "n/a"
    save_generator_checkpoint(run.run_dir / "checkpoint.pt", model, generator, run, encoder_init=encoder_init)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    from colorlib.data import prepare
    from colorlib.data.cache import load_images

    root = tmp_path_factory.mktemp("evaluate")
    cfg = Config.from_profile(
        "smoke", n_test=3, data_root=str(root / "data"), run_root=str(root / "runs"), results_root=str(root / "results")
    )
    prepare(cfg, progress=False)
    for gen in GENERATORS:
        _save_run(cfg, gen, 0)
    summary = ev.evaluate(cfg, n_predictions=2, progress=False)
    return cfg, summary, load_images(cfg, "test"), load_images(cfg, "train")


def test_files_and_paper_numbers_in_the_same_table(evaluated):
    cfg, summary, _, _ = evaluated
    out = cfg.results_dir
    for name in (
        "metrics.csv",
        "metrics.md",
        "per_image.csv",
        "comparison.md",
        "predictions_original.npy",
        *(f"predictions_{run_name(gen, 0)}.npy" for gen in GENERATORS),
    ):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    table = pd.read_csv(out / "metrics.csv")
    paper = table[table["kind"] == "paper (§6)"].set_index("model")["l1"]
    assert paper.to_dict() == {"unet": 0.0917, "resnet": 0.0945}
    assert set(table["kind"]) == {"run", "mean ± sd over seeds", "baseline", "paper (§6)"}
    runs = table[table["kind"] == "run"]
    assert sorted(zip(runs["model"], runs["mode"])) == sorted(
        [("unet", "eval"), ("unet", "dropout"), ("resnet", "eval"), ("resnet", "dropout")]
    )
    md = (out / "metrics.md").read_text()
    assert "0.0917" in md and "0.0945" in md and "gray baseline (ab = 0)" in md and "train-median baseline" in md
    for reason in (perceptual.fid_unavailable(), perceptual.lpips_unavailable()):
        if reason:  # skipped metrics are reported with their reason, never silently
            assert reason in md
    assert len(pd.read_csv(out / "per_image.csv")) == 3 * (2 + 2 * 2)


def test_baselines_match_independent_computation(evaluated):
    cfg, summary, test, train = evaluated
    base = summary[summary["kind"] == "baseline"].set_index("model")
    gray = np.mean([np.abs(color.rgb2lab(img)[..., 1:]).mean() / 110.0 for img in test])
    assert base.loc["gray", "l1"] == pytest.approx(gray, rel=1e-4)
    assert base.loc["gray", "l1"] == pytest.approx(base.loc["gray", "l1_pixel"], rel=1e-12)
    ab = np.concatenate([color.rgb2lab(img)[..., 1:].reshape(-1, 2) for img in train]) / 110.0
    median = np.median(ab, axis=0)
    per_image = pd.read_csv(cfg.results_dir / "per_image.csv")
    note = base.loc["train-median", "note"]
    got = [float(x) for x in note.removeprefix("ab = (").rstrip(")").split(",")]
    np.testing.assert_allclose(got, median, atol=2e-4)
    expected = np.mean([np.abs(color.rgb2lab(img)[..., 1:] / 110.0 - median).mean() for img in test])
    assert base.loc["train-median", "l1"] == pytest.approx(expected, abs=2e-4)
    assert (per_image[per_image["model"] == "gray"]["cf_pred"] < 0.5).all()  # "no colour" is not colourful


def test_train_median_samples_every_image_of_a_large_set():
    """Above ``max_pixels`` every image contributes a pixel grid; a few whole images would not do:
    here the first and last images (blue) are outnumbered 6 to 2 by red ones."""
    images = np.zeros((8, 16, 16, 3), np.uint8)
    images[:, :, :, 0] = 200  # red …
    images[[0, 7]] = (0, 0, 200)  # … except the first and the last: blue
    _, red_ab = lab_from_uint8(torch.from_numpy(images[1:2, :1, :1]))
    got = predictors.train_median_ab(images, max_pixels=512)  # 8 × 256 pixels: a stride-2 grid of each
    torch.testing.assert_close(got, red_ab.flatten())
    _, ab = lab_from_uint8(torch.from_numpy(images))
    exact = predictors.train_median_ab(images, max_pixels=8 * 16 * 16)
    torch.testing.assert_close(exact, ab.permute(1, 0, 2, 3).reshape(2, -1).median(dim=1).values)
    assert predictors.train_median_ab(images, max_pixels=3).shape == (2,)  # fewer pixels than images


def test_model_scores_and_predictions_match_a_direct_forward(evaluated):
    cfg, summary, test, _ = evaluated
    per_image = pd.read_csv(cfg.results_dir / "per_image.csv")
    model, _ = load_generator(cfg.replace(generator="unet").run_dir / "checkpoint.pt", expect="unet")
    L, ab = lab_from_uint8(torch.from_numpy(np.array(test[:2])))  # the first batch (batch_size 2)
    with torch.no_grad():
        pred = model(L)
    unet = per_image[(per_image["model"] == "unet") & (per_image["mode"] == "eval")].sort_values("image")
    np.testing.assert_allclose(unet["l1"].to_numpy()[:2], metrics.ab_l1(pred, ab), rtol=1e-5)
    saved = np.load(cfg.results_dir / "predictions_unet-seed0.npy")
    assert saved.shape == (2, 256, 256, 3) and saved.dtype == np.uint8
    assert np.abs(saved.astype(int) - uint8_from_lab(L, pred).numpy().astype(int)).max() <= 1
    np.testing.assert_array_equal(np.load(cfg.results_dir / "predictions_original.npy"), test[:2])
    # dropout mode: reproducible from the run's seed, and different from eval for the U-Net
    with scoring_mode(model, "dropout", seed=0):
        pred_d = predictors.predict_ab_normalized(model, L)
    assert not model.training and all(not m.training for m in model.modules())  # restored
    drop = per_image[(per_image["model"] == "unet") & (per_image["mode"] == "dropout")].sort_values("image")
    np.testing.assert_allclose(drop["l1"].to_numpy()[:2], metrics.ab_l1(pred_d, ab), rtol=1e-5)
    assert not torch.allclose(pred_d, pred)


def test_train_images_colorized_beside_the_held_out_ones(evaluated):
    """evaluate also keeps what each network makes of the first train images (eval mode), and
    figures draws them as fig7_train.png."""
    from colorlib.evaluation.figures import make_figures

    cfg, _, _, train_images = evaluated
    L, _ = lab_from_uint8(torch.from_numpy(np.array(train_images[:2])))
    model, _ = load_generator(cfg.replace(generator="unet").run_dir / "checkpoint.pt", expect="unet")
    with torch.no_grad():
        expected = uint8_from_lab(L, model(L)).numpy()
    np.testing.assert_array_equal(np.load(cfg.results_dir / "predictions_original-train.npy"), train_images[:2])
    np.testing.assert_array_equal(np.load(cfg.results_dir / f"predictions_{run_name('unet', 0)}-train.npy"), expected)
    assert cfg.results_dir / "fig7_train.png" in make_figures(cfg)


def test_resnet_dropout_mode_is_labelled_as_eval(evaluated):
    _, summary, _, _ = evaluated
    runs = summary[(summary["kind"] == "run") & (summary["model"] == "resnet")].set_index("mode")
    assert runs.loc["dropout", "l1"] == runs.loc["eval", "l1"]
    assert "no Dropout layers" in runs.loc["dropout", "note"]


def test_jobs_say_explicitly_which_scores_are_reused():
    """A dropout job of a network without Dropout reuses the eval job's scores — only when that
    eval job is scored too; the notes are the labels written to metrics.csv."""
    with_drop, without = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.Dropout(0.5)), torch.nn.Conv2d(1, 2, 1)
    models = {("unet", 0): with_drop, ("resnet", 0): without}
    jobs = build_jobs(models, torch.tensor([0.01, 0.02]), ("dropout", "eval"), "cpu")
    assert [(j.model, j.mode, j.reuses_eval) for j in jobs] == [
        ("gray", "-", False),
        ("train-median", "-", False),
        ("unet", "eval", False),
        ("unet", "dropout", False),
        ("resnet", "eval", False),
        ("resnet", "dropout", True),
    ]
    assert [j.note for j in jobs] == [
        "ab = 0",
        "ab = (0.0100, 0.0200)",
        "",
        "",
        "",
        "no Dropout layers: same as eval (eval-mode scores reused)",
    ]
    assert jobs[0].network is None and jobs[2].network is with_drop
    L = torch.zeros(3, 1, 4, 4)
    assert jobs[1].predict(L).shape == (3, 2, 4, 4) and (jobs[0].predict(L) == 0).all()
    alone = build_jobs({("resnet", 0): without}, None, ("dropout",), "cpu")[-1]
    assert not alone.reuses_eval and alone.note == "no Dropout layers: same as eval"  # no eval job to reuse


def test_comparison_is_paired_and_says_so(evaluated):
    cfg, _, _, _ = evaluated
    text = (cfg.results_dir / "comparison.md").read_text()
    per_image = pd.read_csv(cfg.results_dir / "per_image.csv")
    sel = per_image[(per_image["mode"] == "eval") & per_image["model"].isin(["unet", "resnet"])]
    pivot = sel.pivot_table(index="image", columns="model", values="l1")
    diff = (pivot["unet"] - pivot["resnet"]).mean()
    assert f"{diff:+.4f}" in text
    assert "seed 0 only" in text and "against the gray baseline" in text


def test_summary_across_seeds_by_hand():
    rows = []
    for seed, (u, r) in enumerate([(0.10, 0.12), (0.11, 0.14), (0.09, 0.13)]):
        for model, l1 in (("unet", u), ("resnet", r)):
            for image in range(2):
                rows.append(
                    {
                        "model": model,
                        "generator": model,
                        "seed": seed,
                        "mode": "eval",
                        "image": image,
                        "pixels": 4,
                        "l1": l1 + 0.01 * image,
                        "psnr": math.inf if image else 30.0,
                        "ssim": 0.9,
                        "cf_pred": 10.0,
                        "cf_true": 20.0,
                        "dcf": 10.0,
                    }
                )
    per_image = pd.DataFrame(rows)
    s = summarize(per_image)
    agg = s[s["kind"] == "mean ± sd over seeds"].set_index("model")
    assert agg.loc["unet", "l1"] == pytest.approx(0.105)  # mean of 0.105, 0.115, 0.095
    assert agg.loc["unet", "l1_sd"] == pytest.approx(0.01)
    assert agg.loc["unet", "n_seeds"] == 3
    run = s[(s["kind"] == "run") & (s["model"] == "unet")].iloc[0]
    assert run["psnr"] == 30.0 and run["psnr_inf"] == 1  # inf left out of the mean, counted
    text = comparison_markdown(per_image)
    assert "Across 3 seeds" in text
    assert "U-Net has the lower L1" in text  # −0.03 per seed, CI excludes 0


def _rows(model: str, seed: int, modes=("eval", "dropout"), n: int = 2) -> list[dict]:
    return [
        {
            "model": model,
            "generator": model,
            "seed": seed,
            "mode": mode,
            "image": i,
            "pixels": 4,
            "l1": 0.1 + 0.01 * i,
            "psnr": 25.0,
            "ssim": 0.9,
            "cf_pred": 10.0,
            "cf_true": 20.0,
            "dcf": 10.0,
        }
        for mode in modes
        for i in range(n)
    ]


def test_metrics_md_counts_runs_not_run_modes():
    per_image = pd.DataFrame(_rows("unet", 0) + _rows("resnet", 0))
    text = metrics_markdown(summarize(per_image), {}, "t")
    assert "runs evaluated: 2 (resnet-seed0, unet-seed0)" in text  # two runs, each in two modes


def test_write_results_drops_an_earlier_evaluations_predictions(tmp_path):
    """Fig. 7 reads every predictions_<run>.npy: one left from an earlier evaluation (another
    run, perhaps another test set) must not sit beside this one's."""
    stale = tmp_path / "predictions_resnet-seed3.npy"
    np.save(stale, np.zeros((2, 4, 4, 3), np.uint8))
    sets = pd.DataFrame(
        {
            "model": ["unet"] * 2,
            "generator": ["unet"] * 2,
            "seed": [0, 0],
            "mode": ["eval", "dropout"],
            "fid": [np.nan] * 2,
            "note": [""] * 2,
        }
    )
    imgs = np.full((2, 4, 4, 3), 7, np.uint8)
    write_results(tmp_path, pd.DataFrame(_rows("unet", 0)), sets, {"original": imgs, "unet-seed0": imgs})
    assert sorted(p.name for p in tmp_path.glob("predictions_*.npy")) == [
        "predictions_original.npy",
        "predictions_unet-seed0.npy",
    ]
    np.testing.assert_array_equal(np.load(tmp_path / "predictions_unet-seed0.npy"), imgs)


def test_missing_runs_are_skipped_and_none_is_a_clear_error(tmp_path, capsys):
    cfg = Config.from_profile(
        "smoke",
        run_root=str(tmp_path / "runs"),
        results_root=str(tmp_path / "results"),
        data_root=str(tmp_path / "data"),
    )
    with pytest.raises(runs.EvaluationError, match="no trained run"):
        runs.find_runs(cfg, ["unet"], [0])
    assert cli(["evaluate", "--profile", "smoke", "--set", f"run_root={tmp_path / 'runs'}"]) == 1
    err = capsys.readouterr().err
    assert "colorlib evaluate: no trained run" in err and str(tmp_path / "runs") in err
    _save_run(cfg, "resnet", 3)
    found = runs.find_runs(cfg, ["unet", "resnet"], [3])
    assert list(found) == [("resnet", 3)]
    printed = capsys.readouterr()  # a skipped run is a problem: stderr (colorlib.utils.log)
    assert "skipping unet seed 3: no checkpoint at" in printed.err and printed.out == ""
    assert not (tmp_path / "results").exists()  # nothing half-written


def test_a_corrupt_checkpoint_skips_its_run_only(tmp_path, capsys):
    from colorlib.data import prepare

    roots = [f"{k}_root={tmp_path / k}" for k in ("data", "run", "results")]
    cfg = Config.from_profile("smoke").override(roots)
    prepare(cfg, progress=False)
    _save_run(cfg, "unet", 0)
    bad = cfg.replace(generator="resnet").run_dir / "checkpoint.pt"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"PK\x03\x04 cut off mid-write")
    argv = ["evaluate", "--profile", "smoke", "--modes", "eval"] + [a for r in roots for a in ("--set", r)]
    assert cli(argv) == 1
    printed = capsys.readouterr()
    assert "evaluate: unet seed 0 [eval] " in printed.out  # the per-run line: progress, stdout
    err = printed.err.strip().splitlines()  # problems: the skipped run (and LPIPS, no weights here), the error
    assert (
        sum(line.startswith(f"evaluate: skipping resnet seed 0: {bad}: not a readable checkpoint") for line in err) == 1
    )
    err = [line for line in err if line.startswith("colorlib evaluate:")]
    assert len(err) == 1  # one error line
    assert err[0].startswith(f"colorlib evaluate: 1 run(s) unusable (the others were evaluated and written): {bad}")
    table = pd.read_csv(cfg.results_dir / "metrics.csv")
    assert set(table.loc[table["kind"] == "run", "model"]) == {"unet"}  # the good run was evaluated


def test_negative_n_predictions_is_refused_by_the_cli(tmp_path, capsys):
    roots = [a for k in ("data", "run", "results") for a in ("--set", f"{k}_root={tmp_path / k}")]
    with pytest.raises(SystemExit) as info:  # test_images[:-3] would have been kept for Fig. 7
        cli(["evaluate", "--profile", "smoke", "--n-predictions", "-3"] + roots)
    assert info.value.code == 2
    assert "--n-predictions: expected a whole number ≥ 0, got '-3'" in capsys.readouterr().err


def test_random_resnet_encoder_is_said_plainly(evaluated):
    cfg, _, _, _ = evaluated
    text = (cfg.results_dir / "metrics.md").read_text()
    notes = [line for line in text.splitlines() if "NOT the paper's ImageNet weights" in line]
    assert notes and all(n.startswith("- ResNet") for n in notes)  # one line per mode, never the U-Net


def test_runs_trained_on_another_split_are_flagged(evaluated):
    cfg, summary, _, _ = evaluated
    same = {"config": cfg.replace(generator="unet", seed=cfg.seed).to_dict()}
    other_seed = {"config": cfg.replace(generator="unet", seed=cfg.seed + 2).to_dict()}  # same split
    other = {"config": cfg.replace(generator="unet", seed=cfg.seed + 1, split_seed=cfg.split_seed + 1).to_dict()}
    found = runs.split_mismatches(cfg, {("unet", 0): same, ("unet", 2): other_seed, ("unet", 1): other})
    assert list(found) == [("unet", 1)]
    assert "split_seed=1" in found[("unet", 1)] and "may be among these test images" in found[("unet", 1)]
    assert not summary["note"].fillna("").str.contains("another data split").any()  # the fixture's runs match


def test_tables_nest_under_a_notebook_chapter(evaluated):
    """A notebook embeds metrics.md and comparison.md under its ``#`` chapter: their titles are
    ``##``, their sections ``###``."""
    cfg, _, _, _ = evaluated
    for name, sections in (
        ("metrics.md", ["Summary", "Every run", "Definitions"]),
        ("comparison.md", ["mode `eval`", "mode `dropout`", "Each model against the gray"]),
    ):
        headings = [line for line in (cfg.results_dir / name).read_text().splitlines() if line.startswith("#")]
        assert headings[0].startswith("## ") and all(h.startswith("### ") for h in headings[1:]), name
        assert [s for s in sections if not any(h.startswith(f"### {s}") for h in headings)] == [], name


def test_provenance_is_recorded_and_summarized(evaluated):
    cfg, _, _, _ = evaluated
    record = json.loads((cfg.results_dir / "provenance.json").read_text())
    assert set(record) >= {"git", "command", "runs", "software", "device", "data"}
    assert set(record["runs"]) == {run_name(g, 0) for g in GENERATORS}
    assert record["software"]["torch"] == torch.__version__
    assert record["data"]["manifest_sha256"] == hashlib.sha256((cfg.data_dir / "manifest.csv").read_bytes()).hexdigest()
    md = (cfg.results_dir / "metrics.md").read_text()
    assert "### Provenance" in md and f"torch {torch.__version__}" in md


def test_a_run_is_not_scored_on_images_it_trained_on(tmp_path):
    """A folder split changed after training (more test images: some of the run's train images
    are test images now): evaluate refuses that run in one line instead of scoring it."""
    from PIL import Image

    from colorlib.data import prepare

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(photos / f"p{i}.png")
    base = dict(
        source="folder",
        folder=str(photos),
        image_size=64,
        generator="resnet",
        pretrained="none",
        epochs=1,
        batch_size=2,
        data_root=str(tmp_path / "data"),
        run_root=str(tmp_path / "runs"),
        results_root=str(tmp_path / "results"),
    )
    cfg = Config.from_profile("smoke", n_train=4, n_test=2, **base)
    prepare(cfg, progress=False)
    fit(cfg, progress=False)
    moved = cfg.replace(n_train=3, n_test=3)
    prepare(moved, progress=False)
    with pytest.raises(runs.EvaluationError, match=r"resnet seed 0 was trained on 1 of these 3 test images"):
        ev.evaluate(moved, generators=["resnet"], progress=False)
    assert not (tmp_path / "results" / "smoke" / "metrics.csv").exists()
    prepare(cfg, progress=False)
    ev.evaluate(cfg, generators=["resnet"], progress=False)  # its own split: scored
