"""The folder split is stable (adding a photo moves no image between train and test), and each
split's identity is recorded and readable (split_identity, split_ids)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib.config import Config
from colorlib.data import prepare
from colorlib.data.sources import DataError
from colorlib.data.split import identity_sha256, split_identity, split_ids

S = 32


def _photo(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:24, 0:24] / 24
    return np.stack([127 + 120 * np.sin(4 * x + 3 * y + p) for p in rng.uniform(0, 6.3, 3)], -1).astype(np.uint8)


def _add(images: Path, name: str, seed: int) -> None:
    images.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_photo(seed)).save(images / name)


def _prepared(tmp_path: Path, n: int) -> Config:
    """Photos p00.png … under tmp_path/images, prepared for 10 train + 5 test images."""
    for k in range(n):
        _add(tmp_path / "images", f"p{k:02d}.png", k)
    cfg = _cfg(tmp_path)
    prepare(cfg, progress=False)
    return cfg


def _cfg(tmp_path: Path, **changes) -> Config:
    base = dict(
        source="folder",
        folder=str(tmp_path / "images"),
        n_train=10,
        n_test=5,
        image_size=S,
        split_seed=0,
        data_root=str(tmp_path / "data"),
        results_root=str(tmp_path / "results"),
    )
    return Config.from_profile("smoke", **{**base, **changes})


def _splits(cfg: Config) -> dict[str, set[str]]:
    rows = list(csv.DictReader(io.StringIO((cfg.data_dir / "manifest.csv").read_text())))
    return {split: {r["id"] for r in rows if r["split"] == split} for split in ("train", "test")}


def test_adding_a_photo_moves_no_image_between_train_and_test(tmp_path):
    images = tmp_path / "images"
    cfg = _prepared(tmp_path, 20)
    old = _splits(cfg)
    entered = set()
    for k in range(20, 28):  # eight photos added one at a time, a prepare after each
        new_name = f"p{k:02d}.png"
        _add(images, new_name, k)
        prepare(cfg, progress=False)
        new = _splits(cfg)
        assert not old["test"] & new["train"] and not old["train"] & new["test"]  # no image crossed
        for split in ("train", "test"):
            assert new[split] - old[split] <= {new_name}  # only the new photo can enter
            dropped = old[split] - new[split]  # ... pushing one image out, unused
            assert len(dropped) == (new_name in new[split]), (split, dropped)
            entered |= new[split] & {new_name}
        old = new
    assert entered  # the eight new photos did not all land in the unused middle


def test_a_folder_of_exactly_n_train_plus_n_test_uses_every_image(tmp_path):
    images = tmp_path / "images"
    cfg = _prepared(tmp_path, 15)
    split = _splits(cfg)
    assert len(split["train"]) == 10 and len(split["test"]) == 5 and not split["train"] & split["test"]
    # a larger test split would have to take a train image: the folder is too small, so it says so
    with pytest.raises(DataError, match="only 9 usable images for the 10 of the train split"):
        prepare(cfg.replace(n_test=6), progress=False)
    # with room in the middle, a larger test split leaves the train split as it was
    for k in range(15, 25):
        _add(images, f"p{k:02d}.png", k)
    prepare(cfg, progress=False)
    before = _splits(cfg)
    bigger = cfg.replace(n_test=7, data_root=str(tmp_path / "bigger"))
    prepare(bigger, progress=False)
    after = _splits(bigger)
    assert after["train"] == before["train"] and before["test"] < after["test"]


def test_split_identity_is_recorded_and_read_back(tmp_path):
    images = tmp_path / "images"
    for k in range(15):
        _add(images / "sub" if k % 2 else images, f"p{k:02d}.png", k)
    cfg = _cfg(tmp_path)
    summary = prepare(cfg, progress=False)
    identity = split_identity(cfg)
    assert identity == {
        "train_manifest_sha256": summary["train_manifest_sha256"],
        "test_manifest_sha256": summary["test_manifest_sha256"],
    }
    train, test = split_ids(cfg, "train"), split_ids(cfg, "test")
    assert len(train) == 10 and len(test) == 5 and not train & test
    assert all(i.startswith("folder:") for i in train | test) and any(i.startswith("folder:sub/") for i in train | test)
    assert identity_sha256(train) == identity["train_manifest_sha256"]
    assert identity_sha256(sorted(train, reverse=True)) == identity["train_manifest_sha256"]  # order-free
    summary_json = json.loads((cfg.data_dir / "summary.json").read_text())
    assert summary_json["train_manifest_sha256"] == identity["train_manifest_sha256"]
    # the identity names the images, not where the folder lives or how the cache was built
    moved = tmp_path / "moved"
    (tmp_path / "images").rename(moved)
    again = _cfg(tmp_path, folder=str(moved), data_root=str(tmp_path / "again"))
    prepare(again, progress=False)
    assert split_identity(again) == identity
    # a manifest that no longer matches the summary, or a cache for another key, is an error
    manifest = again.data_dir / "manifest.csv"
    manifest.write_text(manifest.read_text().replace(sorted(test)[0][len("folder:") :], "other.png"))
    with pytest.raises(DataError, match=r"manifest\.csv: its test images do not match summary\.json"):
        split_ids(again, "test")
    with pytest.raises(DataError, match=r"n_train=10 \(want 11\)"):
        split_identity(again.replace(n_train=11))


def test_bundled_identity_is_the_region_and_disjoint(tmp_path):
    cfg = _cfg(tmp_path, source="bundled", folder="", n_train=6, n_test=3)
    prepare(cfg, progress=False)
    train, test = split_ids(cfg, "train"), split_ids(cfg, "test")
    assert train and test and not train & test
    assert all(i.startswith("bundled:") and "#" not in i for i in train | test)  # a crop is its region
    assert all(i.endswith("/train-region") for i in train) and all(i.endswith("/test-region") for i in test)
    photos = {i.split(":")[1].split("/")[0] for i in test}
    assert photos <= {i.split(":")[1].split("/")[0] for i in train}  # the same photos, other regions
