"""The folder and bundled sources, the cache (round trip, atomicity, idempotence) and the CLI."""

from __future__ import annotations

import csv
import importlib
import io
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import interruptible
from PIL import Image

from colorlib.cli import main as cli
from colorlib.config import Config
from colorlib.data import prepare
from colorlib.data.cache import flush, load_images, new_array
from colorlib.data.sources import DataError, is_grayscale
from colorlib.data.split import position
from colorlib.utils.errors import ConfigError
from colorlib.utils.files import atomic_path

S = 32  # tiny cache images keep these tests fast


def _cfg(tmp_path: Path, **changes) -> Config:
    base = dict(
        source="folder",
        folder=str(tmp_path / "images"),
        n_train=4,
        n_test=2,
        image_size=S,
        split_seed=0,
        data_root=str(tmp_path / "data"),
        results_root=str(tmp_path / "results"),
    )
    return Config.from_profile("smoke", **{**base, **changes})


def _photo(seed: int, h: int = 40, w: int = 48) -> np.ndarray:
    """A smooth, clearly coloured uint8 h×w×3 image, different for each seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    phase = rng.uniform(0, 6.3, 3)
    return np.stack([127 + 120 * np.sin(4 * x + 3 * y + p) for p in phase], -1).astype(np.uint8)


def _photo_folder(tmp_path, n: int, first: int, ext: str = "png"):
    """tmp_path/images holding n distinct coloured photos p0.<ext>, p1.<ext>, …"""
    images = tmp_path / "images"
    images.mkdir()
    for k in range(n):
        Image.fromarray(_photo(first + k)).save(images / f"p{k}.{ext}")
    return images


def _manifest(cfg: Config) -> list[dict]:
    return list(csv.DictReader(io.StringIO((cfg.data_dir / "manifest.csv").read_text())))


def _write_corpus(root: Path) -> dict[str, int]:
    """Awkward files under ``root``; returns the expected outcome counts."""
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".git").mkdir()
    Image.fromarray(_photo(0)).save(root / "a.JPG", quality=95)
    Image.fromarray(_photo(1)).save(root / "sub" / "b.png")
    Image.fromarray(_photo(2)).save(root / "sub" / "c.webp", quality=95)
    Image.fromarray(_photo(3)).save(root / "sub" / "deeper" / "d.BMP")
    Image.fromarray(_photo(4)).save(root / "e.TIFF")
    Image.fromarray(_photo(5)).convert("CMYK").save(root / "cmyk.jpeg", quality=95)
    Image.fromarray(_photo(6)).convert("P", palette=Image.Palette.ADAPTIVE).save(root / "palette.png")
    rgba = np.dstack([_photo(7), np.full((40, 48), 255, np.uint8)])
    rgba[:, :24, 3] = 0  # left half transparent
    Image.fromarray(rgba, "RGBA").save(root / "rgba.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(_photo(8, 20, 60)).save(root / "rotated.jpg", exif=exif, quality=95)
    Image.fromarray(_photo(9)[..., 0].astype(np.uint16) * 257).save(root / "deep16.png")  # I;16: gray
    Image.fromarray(_photo(10)).convert("L").save(root / "gray.jpg")  # gray
    Image.new("RGB", (1, 1), (200, 0, 0)).save(root / "dot.png")  # too small
    data = (root / "a.JPG").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])  # corrupt
    (root / "empty.jpeg").write_bytes(b"")  # empty
    (root / "readme.png").write_text("not an image\n" * 10)  # not image

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 12_000, 12_000, 8, 2, 0, 0, 0)  # claims 144 MP: a bomb
    (root / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    (root / "notes.txt").write_text("ignored: not an image extension")
    Image.fromarray(_photo(11)).save(root / ".git" / "hidden.png")  # not searched
    return {
        "usable": 9,
        "gray": 2,
        "skipped": {"corrupt": 1, "decompression_bomb": 1, "empty_file": 1, "not_an_image": 1, "too_small": 1},
    }


def test_folder_corpus_of_awkward_files(tmp_path, capsys):
    expected = _write_corpus(tmp_path / "images")
    files = [
        p.relative_to(tmp_path / "images").as_posix()
        for p in (tmp_path / "images").rglob("*")
        if p.is_file() and ".git" not in p.parts and p.suffix != ".txt"
    ]
    usable = {
        "a.JPG",
        "sub/b.png",
        "sub/c.webp",
        "sub/deeper/d.BMP",
        "e.TIFF",
        "cmyk.jpeg",
        "palette.png",
        "rgba.png",
        "rotated.jpg",
    }

    # all 9 usable images are needed; test fills from the front of the hash order, train from
    # the back: with a seed where the 3rd and 4th usable files are neighbours, every file is visited
    def neighbours(seed: int) -> bool:
        ranks = [k for k, f in enumerate(sorted(files, key=lambda f: (position(seed, f), f))) if f in usable]
        return ranks[3] == ranks[2] + 1

    seed = next(s for s in range(100) if neighbours(s))
    cfg = _cfg(tmp_path, n_train=6, n_test=3, split_seed=seed)
    summary = prepare(cfg, progress=False)
    assert summary["skipped"] == expected["skipped"]
    assert summary["grayscale_replaced_total"] == expected["gray"] and summary["used"] == 9
    err = capsys.readouterr().err
    for name in ("truncated.jpg", "empty.jpeg", "readme.png", "bomb.png", "dot.png"):
        assert sum(name in line and line.startswith("skipped") for line in err.splitlines()) == 1, name
    assert "grayscale" in err and "gray.jpg" in err and "deep16.png" in err
    rows = {Path(r["path"]).name: r for r in _manifest(cfg)}
    assert set(rows) == {
        "a.JPG",
        "b.png",
        "c.webp",
        "d.BMP",
        "e.TIFF",
        "cmyk.jpeg",
        "palette.png",
        "rgba.png",
        "rotated.jpg",
    }
    assert (rows["rotated.jpg"]["width"], rows["rotated.jpg"]["height"]) == ("20", "60")  # upright
    rgba = load_images(cfg, rows["rgba.png"]["split"])[int(rows["rgba.png"]["index"])]
    assert (rgba[:, : S // 2 - 2] == 255).all()  # transparent half → white
    assert not is_grayscale(load_images(cfg, rows["cmyk.jpeg"]["split"])[int(rows["cmyk.jpeg"]["index"])])
    leftovers = [p.name for p in cfg.data_dir.iterdir() if p.name.startswith(".")]
    assert (
        leftovers == []
        and (cfg.results_dir / "manifest.csv").read_text() == (cfg.data_dir / "manifest.csv").read_text()
    )


def test_cache_round_trip_is_exact(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    originals = {f"img{k}.png": _photo(20 + k, S, S) for k in range(5)}  # already S×S: no resampling
    for name, arr in originals.items():
        Image.fromarray(arr).save(images / name)
    cfg = _cfg(tmp_path, n_train=3, n_test=2)
    prepare(cfg, progress=False)
    for row in _manifest(cfg):
        cached = load_images(cfg, row["split"])[int(row["index"])]
        assert np.array_equal(cached, originals[row["file_name"]])
    train = load_images(cfg, "train")
    assert train.dtype == np.uint8 and train.shape == (3, S, S, 3) and not train.flags.writeable
    arr = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    folder = tmp_path / "atomic"
    with atomic_path(folder / "x.npy") as tmp:
        out = new_array(tmp, 3, 8)
        out[:] = arr
        flush(out)
        assert not (folder / "x.npy").exists()  # only when the block ends
    assert np.array_equal(np.load(folder / "x.npy", mmap_mode="r"), arr)
    assert [p.name for p in folder.iterdir()] == ["x.npy"]  # no temp file left


def test_split_depends_on_seed_only(tmp_path):
    _photo_folder(tmp_path, 12, first=40, ext="png")

    def split(seed: int, where: str) -> tuple[list, list]:
        cfg = _cfg(tmp_path, n_train=6, n_test=3, split_seed=seed, data_root=str(tmp_path / where))
        prepare(cfg, progress=False)
        rows = _manifest(cfg)
        return [r["id"] for r in rows if r["split"] == "train"], [r["id"] for r in rows if r["split"] == "test"]

    train0, test0 = split(0, "a")
    assert split(0, "b") == (train0, test0)
    assert not set(train0) & set(test0)
    assert split(1, "c") != (train0, test0)
    # the training seed does not touch the split: every run of a profile shares one test set
    cfg = _cfg(tmp_path, n_train=6, n_test=3, split_seed=0, data_root=str(tmp_path / "a"))
    assert prepare(cfg.replace(seed=7), progress=False)["reused"] is True
    assert load_images(cfg.replace(seed=7), "test").shape == (3, S, S, 3)


def test_idempotent_rebuilt_on_change_and_clear_errors(tmp_path):
    images = _photo_folder(tmp_path, 8, first=60, ext="jpg")
    cfg = _cfg(tmp_path)
    with pytest.raises(DataError, match="run `python -m colorlib prepare --profile smoke`"):
        load_images(cfg, "train")
    assert prepare(cfg, progress=False)["reused"] is False
    stamp = (cfg.data_dir / "train.npy").stat().st_mtime_ns
    assert prepare(cfg, progress=False)["reused"] is True
    assert (cfg.data_dir / "train.npy").stat().st_mtime_ns == stamp
    with pytest.raises(DataError, match="n_train=4 .want 5."):
        load_images(cfg.replace(n_train=5), "train")
    assert prepare(cfg.replace(n_train=5), progress=False)["reused"] is False  # another key: rebuilt
    assert load_images(cfg.replace(n_train=5), "train").shape == (5, S, S, 3)
    # the same settings, but the folder's files changed: a stale cache is not reused
    cfg = cfg.replace(n_train=5)
    Image.fromarray(_photo(70)).save(images / "new.jpg")
    assert prepare(cfg, progress=False)["reused"] is False
    assert prepare(cfg, progress=False)["reused"] is True
    Image.fromarray(_photo(71)).save(images / "new.jpg")  # same name, other picture
    assert prepare(cfg, progress=False)["reused"] is False
    (images / "new.jpg").unlink()
    assert prepare(cfg, progress=False)["reused"] is False


def test_failed_run_leaves_nothing_half_written_and_the_old_cache_usable(tmp_path):
    _photo_folder(tmp_path, 5, first=80, ext="png")
    cfg = _cfg(tmp_path, n_train=3, n_test=2)
    prepare(cfg, progress=False)
    old = {p.name: p.read_bytes() for p in cfg.data_dir.iterdir()}
    with pytest.raises(DataError, match="only 3 usable images for the 4 of the train split"):
        prepare(cfg.replace(n_train=4, split_seed=1), progress=False)  # 5 images for 4 + 2
    with pytest.raises(DataError, match="no such folder"):
        prepare(cfg.replace(folder=str(tmp_path / "typo")), progress=False)
    with pytest.raises(DataError, match=r"GB needed|needs .* GB for 1000000002 images of 256×256"):
        prepare(cfg.replace(n_train=10**9, image_size=256), progress=False)  # far beyond any disk
    # nothing of the failed runs is left, and the cache they would have replaced still works
    assert {p.name: p.read_bytes() for p in cfg.data_dir.iterdir()} == old
    assert prepare(cfg, progress=False)["reused"] is True
    assert load_images(cfg, "train").shape == (3, S, S, 3)
    with pytest.raises(DataError, match="split_seed=0 .want 1."):
        load_images(cfg.replace(split_seed=1), "train")


def test_bundled_photos_feed_both_splits_through_disjoint_regions(tmp_path):
    cfg = _cfg(tmp_path, source="bundled", folder="", n_train=5, n_test=3, image_size=64)
    summary = prepare(cfg, progress=False)
    assert (summary["train"], summary["test"]) == (5, 3)
    rows = _manifest(cfg)
    photos = {split: {r["file_name"] for r in rows if r["split"] == split} for split in ("train", "test")}
    assert len(photos["test"]) == 3 and photos["test"] <= photos["train"]  # same photos, other regions
    assert all(r["id"].split("#")[0].endswith(f"/{r['split']}-region") for r in rows)
    train = load_images(cfg, "train")
    assert train.shape == (5, 64, 64, 3) and not any(is_grayscale(im) for im in train)
    again = _cfg(
        tmp_path, source="bundled", folder="", n_train=5, n_test=3, image_size=64, data_root=str(tmp_path / "again")
    )
    prepare(again, progress=False)
    assert np.array_equal(load_images(again, "train"), train)


def test_grayscale_threshold():
    color = _photo(1)
    gray = np.repeat(color[..., :1], 3, axis=2)
    assert is_grayscale(gray) and not is_grayscale(color)
    noisy = gray.astype(int) + np.random.default_rng(0).integers(-3, 4, gray.shape)
    assert is_grayscale(np.clip(noisy, 0, 255).astype(np.uint8))  # JPEG-like chroma noise
    patch = gray.copy()
    patch[:6, :6] = (255, 0, 0)  # 36 of 1920 pixels coloured
    assert not is_grayscale(patch)


def test_cli(tmp_path, capsys):
    images = _photo_folder(tmp_path, 4, first=90, ext="png")
    common = [
        "prepare",
        "--profile",
        "smoke",
        "--set",
        f"data_root={tmp_path / 'data'}",
        "--set",
        f"results_root={tmp_path / 'results'}",
        "--set",
        f"image_size={S}",
        "--set",
        "n_train=3",
        "--set",
        "n_test=1",
    ]
    assert cli([*common, "--source", "folder", "--folder", str(images), "--no-progress"]) == 0
    assert capsys.readouterr().out.startswith("prepared 3 train + 1 test images (folder, 32×32)")
    assert cli([*common, "--source", "folder", "--folder", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"colorlib prepare: {tmp_path / 'missing'}: no such folder (source=folder)"
    assert cli([*common, "--source", "folder", "--folder", str(images / "p0.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"colorlib prepare: {images / 'p0.png'}: is a file, not a folder (source=folder needs --folder DIR)"
    (tmp_path / "empty").mkdir()
    assert cli([*common, "--source", "folder", "--folder", str(tmp_path / "empty")]) == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("empty: no image files (.jpg .jpeg .png .webp .bmp .tif) in this folder tree")
    )
    assert cli([*common, "--set", "n_test=-1"]) == 1  # a bad setting: one line too
    assert capsys.readouterr().err.strip() == "colorlib prepare: n_test=-1: must be ≥ 0"


def test_an_image_size_no_generator_takes_is_refused_before_any_work(tmp_path, capsys):
    common = [
        "prepare",
        "--profile",
        "smoke",
        "--set",
        f"data_root={tmp_path / 'data'}",
        "--set",
        f"results_root={tmp_path / 'results'}",
        "--no-progress",
    ]
    assert cli([*common, "--set", "image_size=48"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("colorlib prepare: image_size=48: no generator takes it (")
    assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()
    with pytest.raises(ConfigError, match="image_size=100: no generator takes it"):
        prepare(_cfg(tmp_path, image_size=100), progress=False)  # the function refuses it too


def test_an_image_size_only_the_resnet_takes_gets_one_note(tmp_path, capsys):
    _photo_folder(tmp_path, 3, first=110, ext="png")
    prepare(_cfg(tmp_path, n_train=2, n_test=1, image_size=64), progress=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["prepare: note: image_size=64 suits only the ResNet generator (the U-Net needs a multiple of 256)"]
    prepare(_cfg(tmp_path, n_train=2, n_test=1, image_size=256, data_root=str(tmp_path / "d256")), progress=False)
    assert "note" not in capsys.readouterr().err


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    """Only colorlib's own errors become one line; anything else propagates from the verb."""
    prep = importlib.import_module("colorlib.data.prepare")  # the module, not colorlib.data.prepare()

    def broken(cfg, **kwargs):
        raise ValueError("a bug, not a bad input")

    monkeypatch.setattr(prep, "prepare", broken)
    with pytest.raises(ValueError, match="a bug, not a bad input"):
        cli(["prepare", "--profile", "smoke", "--set", f"data_root={tmp_path / 'data'}"])


def test_ctrl_c_mid_run_is_one_line_and_keeps_the_old_cache(tmp_path):
    """A real ``python -m colorlib prepare`` process, interrupted while it fills the train split."""
    common = [
        sys.executable,
        "-m",
        "colorlib",
        "prepare",
        "--profile",
        "smoke",
        "--source",
        "bundled",
        "--set",
        f"data_root={tmp_path / 'data'}",
        "--set",
        f"results_root={tmp_path / 'results'}",
        "--set",
        f"image_size={S}",
        "--set",
        "n_test=1",
        "--no-progress",
    ]
    subprocess.run([*common, "--set", "n_train=2"], check=True, capture_output=True)
    data = tmp_path / "data" / "smoke"
    old = {p.name: p.read_bytes() for p in data.iterdir()}
    proc = subprocess.Popen(
        [*common, "--set", "n_train=100000"], stderr=subprocess.PIPE, text=True, preexec_fn=interruptible
    )
    deadline = time.monotonic() + 30
    while not list(data.glob(".train.npy.*.tmp")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # the split's temporary file (utils.files.atomic_path) is being filled
    assert proc.poll() is None and list(data.glob(".train.npy.*.tmp")), "prepare never started filling the split"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("prepare: interrupted;")
    assert {p.name: p.read_bytes() for p in data.iterdir()} == old  # no temp file, old cache intact


def test_truncated_cache_names_the_file(tmp_path):
    _photo_folder(tmp_path, 6, first=100, ext="png")
    cfg = _cfg(tmp_path, n_train=3, n_test=2)
    prepare(cfg, progress=False)
    test_npy = cfg.data_dir / "test.npy"
    test_npy.write_bytes(test_npy.read_bytes()[:200])  # a cut-off file
    with pytest.raises(DataError, match=r"test\.npy: unreadable cache .*run `python -m colorlib prepare"):
        load_images(cfg, "test")


def test_bundled_manifest_is_the_same_on_every_machine(tmp_path):
    """The manifest (committed with the results) names bundled photos inside the package,
    not by this machine's virtualenv path."""
    cfg = _cfg(tmp_path, source="bundled", n_train=3, n_test=1)
    prepare(cfg, progress=False)
    paths = {row["path"] for row in _manifest(cfg)}
    assert paths and all(p.startswith("skimage/data/") and "/" not in p[len("skimage/data/") :] for p in paths)
