"""The bundled photos' split (colorlib.data.bundled): every photo feeds both splits, through a
test quadrant and a three-quadrant train region that no crop crosses."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest

from colorlib.config import Config
from colorlib.data import prepare
from colorlib.data.bundled import QUADRANTS, bundled_candidates, held_out_quadrant, quadrant_box
from colorlib.data.cache import load_images
from colorlib.data.images import open_rgb, square
from colorlib.data.sources import bundled_photos
from colorlib.data.split import split_ids

S = 32
CROP = re.compile(r"(\d+) (\d+) (\d+) (\d+) in (\S+) quadrant (\d+) (\d+) (\d+) (\d+)")


def _cfg(tmp_path: Path, where: str = "data", **changes) -> Config:
    base = dict(
        source="bundled",
        n_train=32,
        n_test=8,
        image_size=S,
        split_seed=0,
        data_root=str(tmp_path / where),
        results_root=str(tmp_path / "results"),
    )
    return Config.from_profile("demo", **{**base, **changes})


def _rows(cfg: Config) -> list[dict]:
    return list(csv.DictReader(io.StringIO((cfg.data_dir / "manifest.csv").read_text())))


def _parse(crop: str) -> tuple[tuple[int, ...], str, tuple[int, ...]]:
    m = CROP.fullmatch(crop)
    assert m, crop
    values = m.groups()
    return tuple(map(int, values[:4])), values[4], tuple(map(int, values[5:]))


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Config:
    """The demo profile's split (32 train + 8 test crops), at 32×32 to stay fast."""
    cfg = _cfg(tmp_path_factory.mktemp("bundled"))
    prepare(cfg, progress=False)
    return cfg


def test_no_test_crop_shares_a_pixel_with_any_train_crop(demo):
    rows = _rows(demo)
    sizes = {name: open_rgb(path).size for name, path in bundled_photos().items()}
    boxes: dict[tuple[str, str], list] = {}
    for r in rows:
        photo = r["id"].split("/")[0]
        box, quadrant, region = _parse(r["crop"])
        assert region == quadrant_box(QUADRANTS.index(quadrant), *sizes[photo])  # the recorded region
        assert region[0] <= box[0] < box[2] <= region[2] and region[1] <= box[1] < box[3] <= region[3]
        is_test = QUADRANTS.index(quadrant) == held_out_quadrant(demo.split_seed, photo)
        assert is_test == (r["split"] == "test"), r
        boxes.setdefault((photo, r["split"]), []).append(box)
    for (photo, split), test_boxes in boxes.items():
        if split == "test":
            for a in test_boxes:
                assert not any(_overlap(a, b) for b in boxes.get((photo, "train"), [])), photo


def test_every_photo_is_in_both_splits_and_the_first_test_crop_is_the_whole_region(demo):
    rows = _rows(demo)
    photos = set(bundled_photos())
    assert len(photos) <= demo.n_test
    for split in ("train", "test"):
        assert {r["id"].split("/")[0] for r in rows if r["split"] == split} == photos
    for r in rows:
        box, _, region = _parse(r["crop"])
        if r["id"].endswith("-region#0"):
            assert box == region
    assert sum(r["split"] == "train" and int(r["id"].split("#")[1]) < 3 for r in rows) == 3 * len(photos)


def test_each_image_is_made_from_its_box_alone(demo):
    """(a resize of the whole photo with a ``box`` would also read pixels just outside it)"""
    rows = _rows(demo)
    for row in (rows[-1], next(r for r in rows if int(r["id"].split("#")[1]) >= 3)):  # whole, random
        box, _, _ = _parse(row["crop"])
        photo = open_rgb(bundled_photos()[row["id"].split("/")[0]])
        cached = load_images(demo, row["split"])[int(row["index"])]
        assert np.array_equal(cached, square(photo.crop(box), S))


def test_split_identities_are_per_region_and_disjoint(demo):
    train, test = split_ids(demo, "train"), split_ids(demo, "test")
    photos = set(bundled_photos())
    assert train == {f"bundled:{p}/train-region" for p in photos}
    assert test == {f"bundled:{p}/test-region" for p in photos}
    assert not train & test


def test_deterministic_for_a_split_seed(tmp_path, demo):
    again = _cfg(tmp_path, "again")
    prepare(again, progress=False)
    assert _rows(again) == _rows(demo)
    assert np.array_equal(load_images(again, "test"), load_images(demo, "test"))
    other = [c.crop for c in bundled_candidates("test", 32, 8, seed=1)][:8]
    assert other != [r["crop"] for r in _rows(demo) if r["split"] == "test"]
    assert [held_out_quadrant(s, "astronaut") for s in range(40)].count(0) not in (0, 40)  # seeds move it


@pytest.mark.parametrize("n_train, n_test", [(1, 0), (1, 1), (3, 2), (40, 20)])
def test_any_counts_work(tmp_path, n_train, n_test):
    cfg = _cfg(tmp_path, n_train=n_train, n_test=n_test)
    summary = prepare(cfg, progress=False)
    assert (summary["train"], summary["test"]) == (n_train, n_test)
    assert load_images(cfg, "train").shape == (n_train, S, S, 3)
    ids = [r["id"] for r in _rows(cfg)]
    assert len(set(ids)) == len(ids)
