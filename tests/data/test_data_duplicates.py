"""Names and content (issue 19): a non-UTF-8 file name does not crash prepare (manifest.csv stays
valid UTF-8 and its split identity reads back), and the same picture under two names never lands
in both train and test (found by its decoded pixels, kept on one side, said in one line and in
summary.json)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from colorlib.config import Config
from colorlib.data import prepare, split_ids
from colorlib.data.cache import load_images
from colorlib.data.sources import folder_candidates
from colorlib.data.split import hash_order

N_TRAIN, N_TEST = 6, 3


def _photo(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)


def _cfg(tmp_path: Path) -> Config:
    return Config.from_profile(
        "smoke",
        source="folder",
        folder=str(tmp_path / "images"),
        n_train=N_TRAIN,
        n_test=N_TEST,
        image_size=32,
        split_seed=0,
        data_root=str(tmp_path / "data"),
        results_root=str(tmp_path / "results"),
    )


def test_a_non_utf8_file_name_does_not_crash_prepare(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for k in range(N_TRAIN + N_TEST - 1):
        Image.fromarray(_photo(k)).save(images / f"p{k}.png")
    Image.fromarray(_photo(99)).save(os.fsencode(images) + b"/bad\xff\xfe.png")  # every image is used
    cfg = _cfg(tmp_path)
    summary = prepare(cfg, progress=False)  # before: UnicodeEncodeError writing manifest.csv, no summary
    assert summary["used"] == N_TRAIN + N_TEST and (cfg.data_dir / "summary.json").is_file()
    text = (cfg.data_dir / "manifest.csv").read_bytes().decode("utf-8")  # strict: valid UTF-8
    assert "bad\\xff\\xfe.png" in text
    assert "folder:bad\\xff\\xfe.png" in split_ids(cfg, "train") | split_ids(cfg, "test")  # digest matches
    assert prepare(cfg, progress=False)["reused"]


def _straddling_copy(images: Path) -> tuple[str, str]:
    """(original, copy): a name for a copy of a test image that the path hash puts in train."""
    for k in range(1000):
        name = f"copy{k}.png"
        (images / name).touch()
        order = [c.id for c in hash_order(folder_candidates(images), 0)]
        (images / name).unlink()
        if name in order[-N_TRAIN:]:
            return order[0] if order[0] != name else order[1], name
    raise AssertionError("no straddling name found")


def test_the_same_picture_under_two_names_stays_on_one_side(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    for k in range(N_TRAIN + N_TEST + 1):  # one spare image: the copy's place is taken by it
        Image.fromarray(_photo(k)).save(images / f"p{k}.png")
    original, copy = _straddling_copy(images)
    (images / copy).write_bytes((images / original).read_bytes())
    cfg = _cfg(tmp_path)
    summary = prepare(cfg, progress=False)
    train, test = split_ids(cfg, "train"), split_ids(cfg, "test")
    assert f"folder:{original}" in test and f"folder:{copy}" not in train | test
    pixels = {split: {a.tobytes() for a in np.asarray(load_images(cfg, split))} for split in ("train", "test")}
    assert not pixels["train"] & pixels["test"], "one picture in both splits"
    assert len(pixels["train"]) == N_TRAIN and summary["skipped"] == {"duplicate": 1}
    assert summary["duplicates"] == [{"file": str(images / copy), "same_as": str(images / original), "kept_in": "test"}]
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("duplicate")]
    assert copy in line and original in line
    rows = list(csv.DictReader(io.StringIO((cfg.data_dir / "manifest.csv").read_text())))
    assert len(rows) == N_TRAIN + N_TEST
