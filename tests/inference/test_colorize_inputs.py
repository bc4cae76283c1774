"""The ``colorize`` verb against hostile folders and careless use: entries that are not files,
an --out nobody can write, inputs sharing a name, the same file given twice."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
from conftest import tmpfs
from PIL import Image
from test_colorize import _one_error_line, colorize_cli, resnet_ckpt  # noqa: F401 (a fixture)

from colorlib.inference.colorize import output_name, plan_outputs
from colorlib.inference.inputs import collect_inputs


@pytest.fixture
def no_hang():
    """Opening a FIFO blocks until a writer comes: fail the test instead of hanging it."""

    def _alarm(*_):
        raise TimeoutError("colorize blocked (opened a FIFO?)")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (9, 6), 90).save(path)
    return path


def test_entries_that_are_not_files_are_reported_and_counted(resnet_ckpt, tmp_path, monkeypatch, capsys, no_hang):
    src = tmp_path / "in"
    _photo(src / "a.png"), _photo(src / "z.png")
    monkeypatch.chdir(src)  # a short socket path (AF_UNIX allows ~100 bytes)
    os.symlink("loop.jpg", "loop.jpg")
    os.symlink("pong.png", "ping.png"), os.symlink("ping.png", "pong.png")
    os.symlink("nowhere.png", "dangling.png")
    os.mkfifo("pipe.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind("socket.png")
    os.mkfifo("pipe.txt")  # not an image name: ignored, like notes.txt
    reasons = {
        "loop.jpg": "symbolic link loop",
        "ping.png": "symbolic link loop",
        "pong.png": "symbolic link loop",
        "dangling.png": "dangling symbolic link (to nowhere.png)",
        "pipe.jpg": "a FIFO (named pipe), not a file",
        "socket.png": "a socket, not a file",
    }
    try:
        rc = colorize_cli([str(src), "--out", str(tmp_path / "out"), "--checkpoint", resnet_ckpt[0]])
        captured = capsys.readouterr()
        errors = sorted(line for line in captured.err.splitlines() if line.startswith("error:"))
        assert errors == sorted(f"error: {src / name}: {why}" for name, why in reasons.items())
        assert rc == 1 and "colorized 2 of 8 image(s)" in captured.out and "6 failed" in captured.out
        assert sorted(os.listdir(tmp_path / "out")) == ["a_color.png", "z_color.png"]
        # named on the command line: the same
        rc = colorize_cli(
            ["pipe.jpg", "socket.png", "a.png", "--out", str(tmp_path / "o2"), "--checkpoint", resnet_ckpt[0]]
        )
        captured = capsys.readouterr()
        assert rc == 1 and "colorized 1 of 3 image(s)" in captured.out and "2 failed" in captured.out
        assert "error: pipe.jpg: a FIFO (named pipe), not a file" in captured.err
    finally:
        sock.close()


@pytest.mark.parametrize("kind", ["read-only mount", "proc"])
def test_an_unwritable_out_folder_is_refused_before_any_work(resnet_ckpt, tmp_path, capsys, kind):
    inputs = [str(_photo(tmp_path / "a.png")), str(_photo(tmp_path / "b.png"))]
    if kind == "proc":
        if not os.path.isdir("/proc/sys"):
            pytest.skip("no /proc/sys here")
        out = Path("/proc/sys")  # writing a file there fails even for root
        rc = colorize_cli([*inputs, "--out", str(out), "--checkpoint", resnet_ckpt[0]])
        assert rc == 2
        assert _one_error_line(capsys).startswith(f"{out}: cannot write to the --out folder (")
        return
    with tmpfs(tmp_path / "ro", readonly=True) as out:  # root ignores mode bits, not a read-only mount
        rc = colorize_cli([*inputs, "--out", str(out), "--checkpoint", resnet_ckpt[0]])
        assert rc == 2  # once, before any photo (one line: _one_error_line)
        assert _one_error_line(capsys) == (
            f"{out}: cannot write to the --out folder (Read-only file system); choose another --out"
        )
        rc = colorize_cli([*inputs, "--out", str(out / "new"), "--checkpoint", resnet_ckpt[0]])
        assert rc == 2 and _one_error_line(capsys).startswith(f"{out / 'new'}: cannot create the --out folder")


def _names(*inputs: str) -> list[str]:
    return [p.name for p in plan_outputs([Path(p) for p in inputs], "o")]


def test_output_names_cannot_collide_or_mislead():
    assert output_name("a.jpg") == "a_color.jpg" and _names("a.jpg") == ["a_color.jpg"]
    assert _names("a.jpg", "a.png") == ["a_color.jpg", "a_png_color.png"]
    assert _names("a.png", "a.tif") == ["a_color.png", "a_tif_color.png"]  # both were a_color.png
    assert _names("p/a.jpg", "q/a.jpeg") == ["a_color.jpg", "a_jpeg_color.jpg"]
    # the old counter named A.png "A_2_color.png", which is what A_2.png itself gives
    assert _names("a.png", "A.png", "A_2.png") == ["a_color.png", "A_png_color.png", "A_2_color.png"]
    # a disambiguated name is never another input's own name: then the parent folder, and further up
    assert _names("p/a.png", "q/a.png", "r/a_png.png") == ["a_color.png", "a_png_q_color.png", "a_png_color.png"]
    assert _names("x/p/a.png", "x/q/a.png", "y/q/a.png") == ["a_color.png", "a_png_color.png", "a_png_q_color.png"]
    assert _names("x/q/a.png", "y/q/a.png", "z/q/a.png", "q/a_png.png", "r/a_png_q.png") == [
        "a_color.png",
        "a_png_q_y_color.png",
        "a_png_q_z_color.png",
        "a_png_color.png",
        "a_png_q_color.png",
    ]
    inputs = [
        f"{d}/{s}.{e}"
        for d in ("p", "q", "P")
        for s in ("a", "A", "a_png", "a_png_q", "a_2")
        for e in ("png", "PNG", "jpg", "tif")
    ]
    names = [n.casefold() for n in _names(*inputs)]
    assert len(set(names)) == len(names)


def test_renamed_inputs_are_listed_and_the_same_file_counts_once(resnet_ckpt, tmp_path, monkeypatch, capsys):
    a = _photo(tmp_path / "in" / "a.png")
    _photo(tmp_path / "in" / "sub" / "a.png")
    os.symlink("a.png", tmp_path / "in" / "link.png")
    os.link(a, tmp_path / "hard.png")
    monkeypatch.chdir(tmp_path)
    same = [str(a), "in/a.png", "in/sub/../a.png", "./in//a.png", "hard.png", "in/link.png"]
    assert collect_inputs([*same, "in"]) == [a, Path("in/sub/a.png")]
    rc = colorize_cli([*same, "in", "--out", "out", "--checkpoint", resnet_ckpt[0]])
    captured = capsys.readouterr()
    assert rc == 0 and "colorized 2 of 2 image(s)" in captured.out
    assert "in/sub/a.png -> a_png_color.png" in captured.out.splitlines()
    assert sorted(os.listdir("out")) == ["a_color.png", "a_png_color.png"]
