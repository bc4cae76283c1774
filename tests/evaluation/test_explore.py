"""Notebook 2's explorer (colorlib.evaluation.explore): grids read back as the images train
saved, D's map computed as in training, a static figure headless, widgets in a kernel."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from colorlib.evaluation import explore
from colorlib.evaluation.figure_inputs import FigureInputError
from colorlib.lab import join_lab, lab_from_uint8, uint8_from_lab
from colorlib.models import PatchDiscriminator, build_generator
from colorlib.train import sample_path, save_samples

S = 64  # the ResNet U-Net takes 64×64; D's map is then 6×6


@pytest.fixture
def run(tmp_path):
    """A run folder with the sample grids of three 'epochs' (three untrained generators), the
    held-out images and, per epoch, what G made of them."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (3, S, S, 3), dtype=np.uint8)
    L = lab_from_uint8(torch.from_numpy(truth))[0]
    made = {}
    for epoch in (1, 5, 10):
        torch.manual_seed(epoch)
        G = build_generator("resnet", pretrained="none").eval()
        save_samples(G, L, sample_path(tmp_path, epoch))
        with torch.no_grad():
            made[epoch] = uint8_from_lab(L, G(L).float()).numpy()
    torch.manual_seed(0)
    return tmp_path, truth, made, PatchDiscriminator().eval()


def test_tiles_are_the_images_train_saved_and_d_sees_them_as_in_training(run):
    run_dir, truth, made, D = run
    tiles = explore.epoch_tiles(run_dir)
    assert sorted(tiles) == [1, 5, 10]
    for epoch, images in made.items():
        assert np.array_equal(tiles[epoch], images), epoch  # PNG is lossless: the exact pixels
    logits = explore.patch_logits(D, tiles[5])
    L, ab = lab_from_uint8(torch.from_numpy(made[5]))
    with torch.no_grad():
        expected = D(join_lab(L, ab))[:, 0].numpy()
    assert logits.shape == (3, 6, 6) and np.array_equal(logits, expected)


def test_headless_it_saves_one_static_figure_of_three_epochs(run, tmp_path, monkeypatch):
    run_dir, truth, _, D = run
    monkeypatch.setenv(explore.STATIC_ENV, "1")
    assert not explore.interactive()
    out = explore.explore(run_dir, D, truth, tmp_path / "out" / "fig_explore.png", names=["coffee#1"])
    assert (tmp_path / "out" / "fig_explore.png").is_file()
    assert "fig_explore.png" in out.data  # a Markdown link to the saved figure
    fig = explore.draw(explore.epoch_tiles(run_dir), truth, D, 0, [1, 5, 10])
    titles = [ax.get_title() for ax in fig.axes]
    assert [t for t in titles if t.startswith("G after")] == ["G after epoch 1", "G after epoch 5", "G after epoch 10"]


def test_in_a_kernel_two_widgets_redraw_the_figure(run, monkeypatch):
    pytest.importorskip("ipywidgets")
    run_dir, truth, _, D = run
    monkeypatch.setattr(explore, "interactive", lambda: True)  # as in JupyterLab: a kernel with a frontend
    ui = explore.explore(run_dir, D, truth, run_dir / "unused.png")
    image, epoch = ui.children[:2]
    assert [v for _, v in image.options] == [0, 1, 2] and list(epoch.options) == [1, 5, 10] and epoch.value == 10
    last = ui.result.data  # the figure drawn at start: image 1 after the last epoch
    epoch.value = 1
    first = ui.result.data
    image.value = 2
    with Image.open(io.BytesIO(first)) as a, Image.open(io.BytesIO(last)) as b:
        assert a.size == b.size and a.tobytes() != b.tobytes()  # redrawn: another epoch's colours and map
    assert ui.result.data not in (first, last)
    assert not (run_dir / "unused.png").exists()  # nothing saved in the interactive mode


def test_a_run_without_sample_grids_is_one_line(tmp_path):
    with pytest.raises(FigureInputError, match=r"no .*samples.*epoch_\*\.png: train the run with sample_every > 0"):
        explore.explore(tmp_path, PatchDiscriminator(), np.zeros((1, S, S, 3), np.uint8), tmp_path / "f.png")
