"""One line for every unusable value or file, before the work (issue 19): a profile name that
is a path, n_test=0 at evaluate, damaged results beside an export, an annotation JSON that is a
list, a zip bomb of annotations, a float TIFF in 0..255, colorize DIR --out DIR twice, and
evaluate's git status that must not rewrite .git/index."""

from __future__ import annotations

import io
import os
import subprocess
import zipfile

import numpy as np
import pytest
import torch
from conftest import save_generator_checkpoint
from PIL import Image

from colorlib.cli import main as cli
from colorlib.config import Config
from colorlib.models import build_generator
from colorlib.utils.errors import ColorlibError


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", "", "/abs", "x y"])
def test_a_profile_name_that_is_a_path_is_refused(name, tmp_path):
    with pytest.raises(ColorlibError) as err:
        Config.from_profile("smoke", results_root=str(tmp_path)).override([f"profile={name}"])
    assert "profile" in str(err.value) and "\n" not in str(err.value).strip()


def test_n_test_zero_is_refused_by_evaluate_in_one_line(tmp_path, capsys):
    code = cli(
        [
            "evaluate",
            "--profile",
            "smoke",
            "--set",
            "n_test=0",
            "--set",
            f"run_root={tmp_path}/runs",
            "--set",
            f"data_root={tmp_path}/data",
            "--set",
            f"results_root={tmp_path}/results",
        ]
    )
    assert code != 0
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "n_test=0" in line


@pytest.fixture(scope="module")
def unet_ckpt(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    cfg = Config.from_profile("smoke", results_root=str(root / "results"), generator="unet")
    save_generator_checkpoint(root / "checkpoint.pt", build_generator("unet"), "unet", cfg, history=[])
    return cfg, root / "checkpoint.pt"


@pytest.mark.parametrize("damage", ["metrics", "provenance", "provenance-list"])
def test_damaged_results_do_not_block_export(unet_ckpt, tmp_path, damage, capsys):
    pytest.importorskip("safetensors")
    cfg, ckpt = unet_ckpt
    cfg.results_dir.mkdir(parents=True, exist_ok=True)
    for p in cfg.results_dir.iterdir():
        p.unlink()
    if damage == "metrics":
        (cfg.results_dir / "metrics.csv").write_bytes(b'kind,model,seed\n"run,unet\n\xff\xfe,,,,\x00')
    else:
        (cfg.results_dir / "provenance.json").write_text("[1, 2" if damage == "provenance" else "[1, 2]")
    out = tmp_path / "m.safetensors"
    assert cli(["export", str(ckpt), "--out", str(out)]) == 0
    assert out.is_file()
    assert "results unreadable" in capsys.readouterr().out


def test_annotation_json_that_is_a_list_is_one_line(tmp_path):
    pytest.importorskip("pycocotools")
    from colorlib.data.coco import coco_candidates

    folder = tmp_path / "coco" / "annotations"
    folder.mkdir(parents=True)
    (folder / "image_info_test2014.json").write_text("[1, 2, 3]")
    with pytest.raises(ColorlibError) as err:
        coco_candidates("test", tmp_path, seed=0, coco_root=str(tmp_path / "coco"))
    assert "not a COCO annotation file" in str(err.value) and "\n" not in str(err.value)


def test_annotation_zip_bomb_is_refused_and_leaves_nothing(tmp_path, http_server):
    from colorlib.data.coco import annotation_file
    from colorlib.utils.download import DownloadPolicy

    site = tmp_path / "site"
    site.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("annotations/image_info_test2014.json", "w", force_zip64=True) as member:
            for _ in range(400):
                member.write(b" " * (1 << 20))  # 400 MB of JSON whitespace
    (site / "image_info_test2014.zip").write_bytes(buf.getvalue())
    assert len(buf.getvalue()) < 1e6
    server = http_server(site)
    policy = DownloadPolicy(timeout=5, retries=0, annotations_url=server.url)
    with pytest.raises(ColorlibError) as err:
        annotation_file("test", tmp_path / "data", policy=policy, log=lambda _: None)
    assert "limit" in str(err.value) and "\n" not in str(err.value)
    left = [p.name for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert not [n for n in left if n.endswith(".part") or n.endswith(".json")], left


def test_float_tiff_in_0_255_is_not_white(tmp_path, capsys):
    from colorlib.data.images import open_rgb

    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.float32), (16, 1))
    Image.fromarray(ramp, "F").save(tmp_path / "f.tif")
    rgb = np.asarray(open_rgb(tmp_path / "f.tif"))
    assert rgb[:, 0].max() == 0 and rgb[:, -1].min() == 255 and 100 < rgb[:, 32].mean() < 160
    assert "0..255" in capsys.readouterr().err
    unit = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (16, 1))  # 0..1 floats: as before
    Image.fromarray(unit, "F").save(tmp_path / "u.tif")
    assert 100 < np.asarray(open_rgb(tmp_path / "u.tif"))[:, 32].mean() < 160


def test_colorize_dir_into_itself_twice_skips_its_own_outputs(unet_ckpt, tmp_path, capsys):
    _, ckpt = unet_ckpt
    for name in ("a.png", "b.jpg"):
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / name)
    args = ["colorize", str(tmp_path), "--out", str(tmp_path), "--checkpoint", str(ckpt)]
    assert cli(args) == 0
    first = sorted(p.name for p in tmp_path.iterdir())
    assert cli(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == first == ["a.png", "a_color.png", "b.jpg", "b_color.jpg"]
    assert "colorized 2 of 2" in capsys.readouterr().out


def test_git_state_does_not_rewrite_the_index(tmp_path):
    from colorlib.utils.provenance import git_state

    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    run = lambda *a: subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True, env=env)  # noqa: E731
    (tmp_path / "colorlib").mkdir()
    (tmp_path / "colorlib" / "x.py").write_text("x = 1\n")
    run("init", "-q")
    run("add", ".")
    run("commit", "-q", "-m", "x")
    os.utime(tmp_path / "colorlib" / "x.py", (1e9, 1e9))  # stat-dirty: a plain `git status` refreshes the index
    index = tmp_path / ".git" / "index"
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    state = git_state(tmp_path)
    assert state["commit"] and state["dirty"] is False
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before


def test_colorize_prints_a_non_utf8_file_name_under_a_strict_utf8_stdout(unet_ckpt, tmp_path):
    import sys

    _, ckpt = unet_ckpt
    folder = os.fsencode(tmp_path / "in")
    os.mkdir(folder)
    name = os.path.join(folder, b"caf\xe9.png")  # Latin-1 bytes: not UTF-8
    Image.fromarray(np.full((20, 30, 3), 120, np.uint8)).save(os.fsdecode(name), format="PNG")
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(os.fsdecode(name[:-4] + b".jpg"), format="JPEG")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorlib",
            "colorize",
            os.fsdecode(folder),
            "--out",
            str(tmp_path / "out"),
            "--checkpoint",
            str(ckpt),
        ],
        capture_output=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr.decode("utf-8", "replace")[-2000:]
    assert b"colorized 2 of 2" in out.stdout  # the second, renamed, is listed on stdout
    assert sorted(os.listdir(os.fsencode(tmp_path / "out"))) == [b"caf\xe9_color.jpg", b"caf\xe9_png_color.png"]
