"""colorlib.evaluation.figures on generated result files: every figure produced, non-empty, expected panels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import data, transform

from colorlib.config import Config
from colorlib.evaluation import figures, plots
from colorlib.evaluation.figure_inputs import read_grids, read_history, sample_grids
from colorlib.train import HISTORY_COLUMNS


def _photos(n: int, size: int = 64) -> np.ndarray:
    imgs = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()][:n]
    return np.stack(
        [(transform.resize(i, (size, size), anti_aliasing=True) * 255).round().astype(np.uint8) for i in imgs]
    )


def _history(epochs: int = 4, pretrain: int = 1) -> pd.DataFrame:
    rows = []
    for e in range(1, epochs + 1):
        gan = e > pretrain
        rows.append(
            {
                "epoch": e,
                "phase": "gan" if gan else "l1",
                "d_real": 0.6 if gan else np.nan,
                "d_fake": 0.5 if gan else np.nan,
                "d_loss": 0.55 if gan else np.nan,
                "g_bce": 2.0 / e if gan else np.nan,
                "g_l1": 0.2 / e,
                "g_loss": 20 / e,
                "seconds": 1.0,
                "images_per_s": 4.0,
            }
        )
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


def _per_image(n: int) -> pd.DataFrame:
    rows = []
    for model, gen, seed, mode, base in (
        ("unet", "unet", 0, "eval", 0.09),
        ("unet", "unet", 0, "dropout", 0.1),
        ("resnet", "resnet", 0, "eval", 0.1),
        ("gray", "", None, "-", 0.12),
        ("train-median", "", None, "-", 0.11),
    ):
        for i in range(n):
            rows.append(
                {
                    "model": model,
                    "generator": gen,
                    "seed": seed,
                    "mode": mode,
                    "image": i,
                    "pixels": 64 * 64,
                    "l1": base + 0.01 * i,
                }
            )
    return pd.DataFrame(rows)


def _titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


def test_smallest_text_on_screen_counts_font_dpi_and_scaling_down():
    def fig(width, label_pt):
        f = plots._figure(width, 3)
        ax = f.subplots()
        ax.plot([0, 1])
        ax.set_title("title", fontsize=12)
        ax.set_xlabel("x", fontsize=label_pt)
        return f

    # 10-pt labels (tick labels too) at 150 dpi: 10 × 150 / 72 = 20.8 px; 6 inches (900 px) fit the notebook
    assert plots.smallest_text_px(fig(6, 10)) == pytest.approx(10 * 150 / 72)
    assert plots.smallest_text_px(fig(6, 4)) < plots.MIN_TEXT_PX  # a 4-pt label
    # 20 inches = 3,000 px, shown 930 px wide: 20.8 px × 930 / 3000 = 6.5 px
    assert plots.smallest_text_px(fig(20, 10)) == pytest.approx(10 * 150 / 72 * 930 / 3000)
    assert plots.smallest_text_px(fig(20, 10)) < plots.MIN_TEXT_PX
    with Image.open(io.BytesIO(plots.png_bytes(fig(20, 10)))) as im:
        assert float(im.text[plots.TEXT_PX_KEY]) == pytest.approx(6.5, abs=0.05)  # stamped in the PNG


def test_fig5_has_the_paper_panels():
    fig = figures.fig5_lab_channels(_photos(1)[0])
    assert _titles(fig) == [
        "Original (sRGB)",
        "Scaled L*a*b* (as RGB)",
        "L* (lightness, 0–100)",
        "a* (green − / red +)",
        "b* (blue − / yellow +)",
    ]
    assert len(fig.axes) == 5 + 3  # five images and three colour bars


def test_fig7_grid_rows_columns_and_l1_labels():
    imgs = _photos(3)
    fig = figures.fig7_comparison(
        imgs,
        {"U-Net": imgs[:, ::-1], "ResNet": 255 - imgs},
        {"U-Net": np.array([0.1, 0.2, 0.3])},
        ["test 0: a", "test 4: b", "test 5: c"],
    )
    assert len(fig.axes) == 3 * 4
    assert _titles(fig) == ["Original", "Grayscale (input L*)", "U-Net", "ResNet"]
    grid = np.array(fig.axes).reshape(3, 4)  # rows = images, columns as titled
    assert [ax.get_xlabel() for ax in grid[:, 2]] == ["L1 = 0.1000", "L1 = 0.2000", "L1 = 0.3000"]
    assert [ax.get_xlabel() for ax in grid[:, 3]] == ["", "", ""]  # no L1 given for the ResNet
    assert [ax.get_ylabel() for ax in grid[:, 0]] == ["test 0: a", "test 4: b", "test 5: c"]
    assert fig._suptitle.get_text().startswith("Fig. 7")  # not the last column's name
    texts = [ax.title for ax in grid[0]] + [ax.xaxis.label for ax in grid[:, 2]] + [grid[0, 0].yaxis.label]
    assert min(t.get_fontsize() for t in texts) >= 10  # legible when projected
    gray = grid[1, 1].get_images()[0].get_array()  # the grayscale column holds R = G = B
    assert np.allclose(gray[..., 0], gray[..., 1], atol=1e-3) and np.allclose(gray[..., 1], gray[..., 2], atol=1e-3)


def test_loss_figure_panels_scaling_and_reference_lines():
    h = _history()
    fig = figures.fig_losses(h, "unet", 9, test_l1=0.123)
    top, bottom = fig.axes
    lines = {ln.get_label(): ln for ln in top.get_lines()}
    np.testing.assert_allclose(lines["G: BCE × 0.1 (Eq. 17)"].get_ydata(), 0.1 * h["g_bce"])
    np.testing.assert_allclose(lines["D: BCE (Eq. 16)"].get_ydata(), h["d_loss"])
    labels = [ln.get_label() for ln in bottom.get_lines()]
    assert labels == ["G: train L1 (Eq. 18)", "paper: test L1 0.0917", "ours: test L1 0.1230 (eval)"]
    assert bottom.get_xlabel() == "epoch" and "Fig. 9" in top.get_title()
    assert len(top.patches) == 1  # the shaded L1-only pretraining epoch


def test_fig7_rows_one_per_photo_first():
    assert figures.fig7_rows(8, ["coffee.png", "ihc.png"] * 4) == [0, 1]  # the demo: crops of two photos
    assert figures.fig7_rows(8, list("aabcbdef")) == [0, 2, 3, 5]  # four photos of six, each its first crop
    assert figures.fig7_rows(8, ["coffee.png"] * 8) == [0, 1]  # one photo: two of its crops, not one row
    assert figures.fig7_rows(8) == [0, 1, 2, 3] and figures.fig7_rows(1, ["a"]) == [0]  # no manifest


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_l1_per_image_has_every_image_models_baselines_and_paper():
    fig = figures.fig_l1_per_image(_per_image(4), seed=0)
    ax = fig.axes[0]
    assert [lb.split(":")[0] for lb in _legend(ax)] == [
        "mean of a model",
        "gray baseline (ab = 0)",
        "train-median baseline",
        "paper U-Net",
        "paper ResNet",
    ]
    assert "mean 0.1350" in _legend(ax)[1]  # 0.12 + 0.01·(0..3) averaged
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["U-Net [eval]\nmean 0.1050", "U-Net [dropout]\nmean 0.1150", "ResNet [eval]\nmean 0.1150"]
    dots = [c for c in ax.collections if len(c.get_offsets()) == 4]  # one dot per image and model × mode
    assert len(dots) == 3
    np.testing.assert_allclose(sorted(dots[0].get_offsets()[:, 1]), [0.09, 0.10, 0.11, 0.12])
    many = figures.fig_l1_per_image(_per_image(2000)).axes[0]  # the smallest seed when none is asked
    crowd = [c for c in many.collections if len(c.get_offsets()) == 2000]
    assert len(crowd) == 3 and crowd[0].get_alpha() < dots[0].get_alpha() / 4  # fainter dots: still readable


def _grid(colour, tiles: int = 3, size: int = 32) -> np.ndarray:
    grid = np.zeros((size, tiles * size, 3), np.uint8)
    grid[:] = colour
    grid[:, ::7] = 250  # some texture
    return grid


def test_colour_emerging_rows_span_training_under_the_gray_inputs():
    grids = [(e, _grid((10 * e, 100, 200 - 10 * e))) for e in (8, 1, 2, 3, 4, 5, 6, 7)]  # any order
    fig = figures.fig_colour_emerging(grids, "resnet")
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == ["input (L*)", "epoch 1", "epoch 3", "epoch 5", "epoch 6", "epoch 8"]
    rows = [ax.get_images()[0].get_array() for ax in fig.axes]
    gray = np.asarray(rows[0])
    assert np.allclose(gray[..., 0], gray[..., 1], atol=1e-3) and np.allclose(gray[..., 1], gray[..., 2], atol=1e-3)
    np.testing.assert_array_equal(rows[-1], dict(grids)[8])
    assert "ResNet" in fig._suptitle.get_text()
    assert [ax.get_ylabel() for ax in figures.fig_colour_emerging(grids[:1], "unet").axes] == ["input (L*)", "epoch 8"]
    with pytest.raises(ValueError, match="differ in shape"):
        figures.fig_colour_emerging([(1, _grid(0)), (2, _grid(0, tiles=4))], "unet")


def test_grids_of_another_size_are_a_clear_error(tmp_path):
    Image.fromarray(_grid(0)).save(tmp_path / "epoch_0001.png")
    Image.fromarray(_grid(0, tiles=2)).save(tmp_path / "epoch_0002.png")
    (tmp_path / "epoch_last.png").write_bytes(b"not an epoch")  # not epoch_<digits>: not a grid
    found = sample_grids(tmp_path)
    assert [e for e, _ in found] == [1, 2]
    with pytest.raises(figures.FigureInputError, match="epoch_0002.png: 64×32 pixels, unlike epoch_0001.png"):
        read_grids(found)


def test_history_with_missing_columns_is_a_clear_error(tmp_path):
    bad = tmp_path / "history.csv"
    _history().drop(columns=["g_l1"]).to_csv(bad, index=False)
    with pytest.raises(figures.FigureInputError, match=f"{bad}: missing columns g_l1"):
        read_history(bad)


def _evaluated(tmp_path, n: int):
    """A smoke profile's results folder as evaluate leaves it: n originals and U-Net predictions."""
    cfg = Config.from_profile(
        "smoke",
        run_root=str(tmp_path / "runs"),
        results_root=str(tmp_path / "results"),
        data_root=str(tmp_path / "data"),
    )
    out = cfg.results_dir
    out.mkdir(parents=True)
    imgs = _photos(n)
    np.save(out / "predictions_original.npy", imgs)
    np.save(out / "predictions_unet-seed0.npy", imgs[:, :, ::-1])
    return cfg, out, imgs


def test_make_figures_writes_everything_whose_inputs_exist(tmp_path, capsys, monkeypatch):
    cfg, out, imgs = _evaluated(tmp_path, 3)  # no ResNet predictions
    _per_image(3).to_csv(out / "per_image.csv", index=False)
    pd.DataFrame(
        {
            "split": ["train", "test", "test", "test"],
            "index": [0, 0, 1, 2],
            "source": "bundled",
            "id": ["rocket#0", "coffee#0", "ihc#0", "coffee#1"],
            "file_name": ["rocket.jpg", "coffee.png", "ihc.png", "coffee.png"],
        }
    ).to_csv(out / "manifest.csv")
    run = cfg.replace(generator="unet").run_dir
    (run / "samples").mkdir(parents=True)
    _history().to_csv(run / "history.csv", index=False)  # no ResNet run either
    for epoch in (1, 2, 4):
        Image.fromarray(_grid((60 * epoch, 90, 30))).save(run / "samples" / f"epoch_{epoch:04d}.png")
    drawn = []
    monkeypatch.setattr(figures, "fig7_comparison", lambda *a: drawn.append(a) or plots.fig7_comparison(*a))

    paths = figures.make_figures(cfg)
    names = {p.relative_to(out).as_posix() for p in paths}
    expected_png = {
        "fig5_lab_channels.png",
        "fig7_comparison.png",
        "fig9_unet_losses.png",
        "fig_l1_per_image.png",
        "fig_training_unet.png",
    }
    tables = {f"tables/{f}.{ext}" for f in ("fig10", "fig11", "fig12", "fig13", "fig15") for ext in ("csv", "md")}
    assert names == expected_png | tables
    for name in expected_png:
        with Image.open(out / name) as im:
            assert im.format == "PNG" and im.size[0] > 300 and im.size[1] > 200
            assert round(im.info["dpi"][0]) >= 150 and (out / name).stat().st_size < 3e6
            assert np.asarray(im.convert("L")).std() > 5  # not a blank canvas
            assert float(im.text[plots.TEXT_PX_KEY]) >= plots.MIN_TEXT_PX, name  # readable in a notebook
    [(original, preds, l1, labels)] = drawn  # one row per photo: coffee#1 is another crop of test 0's photo
    # rows best first by the U-Net's L1, each labelled with its rank (the stated rule)
    assert labels == ["test 0: coffee\n(best by U-Net L1)", "test 1: ihc\n(worst by U-Net L1)"]
    assert len(original) == len(preds["U-Net"]) == 2
    np.testing.assert_allclose(l1["U-Net"], [0.09, 0.10])
    printed = capsys.readouterr()
    # what could not be drawn is a problem the reader should see: stderr (colorlib.utils.log)
    assert "skipping fig8_resnet_losses.png: no " in printed.err and "resnet-seed0" in printed.err
    assert "fig7_comparison.png without ResNet" in printed.err
    assert "skipping fig_training_resnet.png: no " in printed.err and printed.out == ""
    fig10 = pd.read_csv(out / "tables" / "fig10.csv")
    assert fig10["match"].all() and fig10["layer"].iloc[-1] == "Total"
    assert "| Conv2d |" in (out / "tables" / "fig15.md").read_text()
    assert not list(out.rglob("*.tmp"))  # nothing half-written left behind


def test_unusable_result_files_are_named_and_the_rest_is_drawn(tmp_path, capsys):
    cfg, out, imgs = _evaluated(tmp_path, 2)
    (out / "predictions_resnet-seed0.npy").write_bytes(b"\x93NUMPY cut off")  # a truncated file
    _per_image(2).drop(columns=["l1"]).to_csv(out / "per_image.csv", index=False)  # not evaluate's
    run = cfg.replace(generator="unet").run_dir
    run.mkdir(parents=True)
    _history().to_csv(run / "history.csv", index=False)

    with pytest.raises(figures.FigureInputError) as info:
        figures.make_figures(cfg)
    message = str(info.value)
    assert message.startswith("2 input file(s) unusable: ") and "\n" not in message
    assert f"{out / 'per_image.csv'}: missing columns l1" in message
    assert f"{out / 'predictions_resnet-seed0.npy'}: not a readable .npy" in message
    for name in ("fig5_lab_channels.png", "fig7_comparison.png", "fig9_unet_losses.png", "tables/fig15.md"):
        assert (out / name).is_file(), name  # everything else is still made
    assert not (out / "fig_l1_per_image.png").exists()
    np.save(out / "predictions_original.npy", np.zeros((2, 8, 8), np.float32))  # wrong kind of array
    with pytest.raises(figures.FigureInputError, match="predictions_original.npy: holds float32 \\(2, 8, 8\\)"):
        figures.make_figures(cfg)


def test_show_links_the_saved_figure_relative_to_the_notebooks(tmp_path):
    """A notebook shows a figure as a Markdown link to its file (the notebook stays light): the
    link resolves, from the checkout's notebooks/, to the file, and holds no absolute path."""
    from colorlib.evaluation.plots import fig5_lab_channels, save_figure, show

    photo = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    png = save_figure(fig5_lab_channels(photo), tmp_path / "fig5.png")
    text = show(png).data
    link = text[text.index("](") + 2 : -1]
    notebooks = Path(figures.__file__).resolve().parents[2] / "notebooks"
    assert text.startswith("![fig5](") and not Path(link).is_absolute()
    assert (notebooks / link).resolve() == png.resolve()


def test_figures_verb_fails_when_it_drew_nothing(tmp_path, capsys):
    """Nothing prepared, trained or evaluated: the tables are written, but no figure, so the
    verb says so in one line and exits 1."""
    from colorlib.cli import main

    roots = [f"--set={k}_root={tmp_path / k}" for k in ("data", "run", "results")]
    assert main(["figures", "--profile", "smoke", *roots]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("colorlib figures: ") and "no figure drawn" in err[-1]


def test_fig7_rows_by_a_stated_rule_best_to_worst_by_unet_l1():
    l1 = np.array([0.30, 0.05, 0.20, 0.10, 0.15, 0.40, 0.25, 0.35])
    # eight photos, four rows: ranks 1, 3, 6 and 8 of 8 — best first, worst last
    assert figures.fig7_rows(8, list("abcdefgh"), l1=l1) == [1, 4, 0, 5]
    assert figures.fig7_rows(8, list("abcdefgh"), rows=3, l1=l1) == [1, 6, 5]  # best, median (rank 5 of 8), worst
    # one candidate per photo (its first crop): photo "a" is test 0 and 1 → only 0 competes
    assert figures.fig7_rows(4, list("aabc"), rows=3, l1=np.array([0.3, 0.01, 0.2, 0.1])) == [3, 2, 0]
    order = [1, 4, 0, 5]
    assert [figures.fig7_rank_label(i, order) for i in order] == ["best", "rank 2 of 4", "rank 3 of 4", "worst"]
