"""One line for every unusable place, before the work (issue 19): data_root, run_root,
results_root and $COLORLIB_HOME that are a file, lie under a file, or are read-only; export --out
onto a folder or into a read-only one; tools.bench --json to an unusable path. Tests run as root,
so "read-only" is a read-only tmpfs (skipped where it cannot be mounted) or a path under a
regular file (which fails even for root)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tmpfs
from PIL import Image

from colorlib.checkpoint import FORMAT, atomic_save
from colorlib.cli import main as cli
from colorlib.config import Config
from colorlib.models import build_generator


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(6):
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(folder / f"p{k}.png")
    return folder


def _prepare_args(tmp_path, photos, **roots):
    roots = {"data_root": tmp_path / "data", "results_root": tmp_path / "results", **roots}
    sets = ["n_train=4", "n_test=2", "image_size=32", *(f"{k}={v}" for k, v in roots.items())]
    return ["prepare", "--profile", "smoke", "--source", "folder", "--folder", str(photos)] + [
        a for s in sets for a in ("--set", s)
    ]


def _one_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if "note: image_size" not in line]
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("root", ["data_root", "results_root"])
def test_prepare_refuses_a_root_under_a_file_before_decoding(tmp_path, photos, root, capsys):
    (tmp_path / "a-file").write_text("x")
    args = _prepare_args(tmp_path, photos, **{root: tmp_path / "a-file" / "sub"})
    assert cli(args) == 1  # before: a traceback (data_root) or one after all the decoding (results_root)
    line = _one_line(capsys)
    assert line.startswith("colorlib prepare:") and f"{root}=" in line and "a file" in line
    assert not list((tmp_path / "data").rglob("*.npy")), "decoded although the results could not be written"


@pytest.mark.parametrize(
    "verb, root", [("train", "run_root"), ("evaluate", "results_root"), ("figures", "results_root")]
)
def test_train_evaluate_figures_refuse_a_root_under_a_file(tmp_path, verb, root, capsys):
    (tmp_path / "a-file").write_text("x")
    roots = {"data_root": tmp_path / "data", "run_root": tmp_path / "runs", "results_root": tmp_path / "results"}
    roots[root] = tmp_path / "a-file" / "sub"
    args = [verb, "--profile", "smoke"] + [a for k, v in roots.items() for a in ("--set", f"{k}={v}")]
    assert cli(args) == 1
    line = _one_line(capsys)
    assert line.startswith(f"colorlib {verb}:") and f"{root}=" in line and "a file" in line


def test_colorlib_home_that_is_a_file_is_named(tmp_path, photos, capsys, monkeypatch):
    (tmp_path / "home").write_text("not a folder")
    for env in ("COLORLIB_DATA", "COLORLIB_RUNS", "COLORLIB_RESULTS"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("COLORLIB_HOME", str(tmp_path / "home"))
    args = ["prepare", "--profile", "smoke", "--source", "folder", "--folder", str(photos)]
    assert cli(args + ["--set", "n_train=4", "--set", "n_test=2", "--set", "image_size=32"]) == 1
    assert "$COLORLIB_HOME" in _one_line(capsys)


def test_read_only_roots_are_one_line_before_the_work(tmp_path, photos, capsys):
    with tmpfs(tmp_path / "ro", readonly=True) as ro:
        assert cli(_prepare_args(tmp_path, photos, data_root=ro / "data")) == 1
        line = _one_line(capsys)
        assert "data_root=" in line and "cannot be created" in line and "Read-only" in line
        assert cli(_prepare_args(tmp_path, photos, results_root=ro)) == 1
        assert "results_root=" in _one_line(capsys)
        assert not list((tmp_path / "data").rglob("*.npy"))
        args = ["evaluate", "--profile", "smoke", "--set", f"results_root={ro}", "--set", f"data_root={tmp_path}/d"]
        assert cli(args) == 1
        assert "results_root=" in _one_line(capsys)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    cfg = Config.from_profile("smoke", results_root=str(root / "results"), generator="unet")
    state = {"format": FORMAT, "generator": "unet", "G": build_generator("unet").state_dict()}
    atomic_save({**state, "config": cfg.to_dict(), "epoch": 1, "iteration": 1, "history": []}, root / "checkpoint.pt")
    return root / "checkpoint.pt"


def test_export_onto_a_folder_or_into_a_read_only_one_is_one_line(ckpt, tmp_path, capsys):
    pytest.importorskip("safetensors")
    (tmp_path / "m.safetensors").mkdir()
    assert cli(["export", str(ckpt), "--out", str(tmp_path / "m.safetensors")]) == 1
    assert "is a folder" in _one_line(capsys)
    with tmpfs(tmp_path / "ro", readonly=True) as ro:
        assert cli(["export", str(ckpt), "--out", str(ro / "m.safetensors")]) == 1
        assert "export --out" in _one_line(capsys)


def test_bench_json_to_an_unusable_path_is_one_line_before_timing(tmp_path, capsys, monkeypatch):
    import tools.bench as bench

    monkeypatch.setattr(bench, "bench", lambda *a, **k: pytest.fail("timed although --json is unusable"))
    (tmp_path / "a-file").write_text("x")
    assert bench._cli(["--profile", "smoke", "--device", "cpu", "--json", str(tmp_path / "a-file" / "b.json")]) == 1
    line = _one_line(capsys)
    assert line.startswith("tools.bench:") and "--json" in line


@pytest.mark.slow
def test_python_m_tools_bench_runs(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "b.json"
    args = ["--profile", "smoke", "--device", "cpu", "--amp", "off", "--steps", "1", "--warmup", "0"]
    done = subprocess.run(
        [sys.executable, "-m", "tools.bench", *args, "--json", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "images/s" in done.stdout and out.is_file()  # before: the module defined main() and exited 0


def test_check_writable_dir_and_file(tmp_path):
    from colorlib.utils.files import UnusablePlaceError, check_writable_dir, check_writable_file

    check_writable_dir(tmp_path / "new" / "deeper", "x")  # creatable: fine, and nothing created
    assert not (tmp_path / "new").exists() and not list(tmp_path.iterdir())
    (tmp_path / "f").write_text("x")
    for bad in (tmp_path / "f", tmp_path / "f" / "a" / "b"):
        with pytest.raises(UnusablePlaceError, match="a file"):
            check_writable_dir(bad, "data_root=…")
    with pytest.raises(UnusablePlaceError, match="is a folder"):
        check_writable_file(tmp_path, "--json")


def test_a_complete_cache_on_a_read_only_mount_is_still_used(tmp_path, photos, capsys):
    from colorlib.config import Config
    from colorlib.data import prepare

    cfg = Config.from_profile(
        "smoke", source="folder", folder=str(photos), n_train=4, n_test=2, image_size=32,
        data_root=str(tmp_path / "data"), results_root=str(tmp_path / "results"),
    )  # fmt: skip
    prepare(cfg, progress=False)
    with tmpfs(tmp_path / "ro", size="4m") as disk:
        import shutil
        import subprocess

        shutil.copytree(tmp_path / "data", disk / "data")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        shared = cfg.replace(data_root=str(disk / "data"))
        assert prepare(shared, progress=False)["reused"]  # a shared, read-only cache: nothing to write
