"""A damaged cache is noticed: checksums recorded at prepare, verified on load, on reuse and on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib.config import Config
from colorlib.data import prepare
from colorlib.data.cache import file_checksum, load_images, verify_cache
from colorlib.data.sources import DataError

S = 32


def _prepared(tmp_path: Path) -> Config:
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for k in range(6):
        Image.fromarray(rng.integers(0, 256, (S, S, 3), dtype=np.uint8)).save(images / f"p{k}.png")
    cfg = Config.from_profile(
        "smoke",
        source="folder",
        folder=str(images),
        n_train=4,
        n_test=2,
        image_size=S,
        data_root=str(tmp_path / "data"),
        results_root=str(tmp_path / "results"),
    )
    prepare(cfg, progress=False)
    return cfg


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def test_overwritten_pixels_are_noticed_on_load_on_request_and_on_reuse(tmp_path, capsys):
    cfg = _prepared(tmp_path)
    train_npy = cfg.data_dir / "train.npy"
    good = np.array(load_images(cfg, "train"))
    assert verify_cache(cfg) == {"train": file_checksum(train_npy), "test": file_checksum(cfg.data_dir / "test.npy")}
    size = train_npy.stat().st_size
    _overwrite(train_npy, size - 1000, bytes(255 - b for b in train_npy.read_bytes()[size - 1000 : size - 990]))
    assert np.load(train_npy, mmap_mode="r").shape == good.shape  # still a well-formed array...
    message = (
        rf"{train_npy}: checksum crc32:[0-9a-f]{{8}} differs from the crc32:[0-9a-f]{{8}} recorded "
        r"when it was prepared \(the file was changed or damaged\); run `python -m colorlib "
        r"prepare --profile smoke` again"
    )
    with pytest.raises(DataError, match=message):
        verify_cache(cfg)
    with pytest.raises(DataError, match=message):
        load_images(cfg, "train")
    assert load_images(cfg, "test", verify=True).shape == (2, S, S, 3)  # the other split is fine
    assert not np.array_equal(load_images(cfg, "train", verify=False), good)  # unchecked if asked
    capsys.readouterr()
    summary = prepare(cfg, progress=False)  # reuse: noticed and rebuilt
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("prepare: note:")]
    assert summary["reused"] is False and len(err) == 1
    assert err[0].startswith(f"prepare: {train_npy}: checksum") and err[0].endswith("preparing the cache again")
    assert np.array_equal(load_images(cfg, "train"), good) and verify_cache(cfg)
    assert prepare(cfg, progress=False)["reused"] is True


def test_a_single_flipped_bit_is_caught(tmp_path):
    cfg = _prepared(tmp_path)
    test_npy = cfg.data_dir / "test.npy"
    data = bytearray(test_npy.read_bytes())
    data[len(data) // 2] ^= 0x01
    test_npy.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"test\.npy: checksum"):
        load_images(cfg, "test")
