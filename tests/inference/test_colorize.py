"""Full-resolution colorization (colorlib/inference/colorizer.py) and the ``colorize`` verb (colorlib/inference/colorize.py)
on real generators and generated files.

The generators are freshly initialized (no training needed to test the pipeline); their output
bias is set so that they predict strong colours, which exercises gamut clipping and makes
"the colour comes from the network" observable.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import save_generator_checkpoint
from PIL import Image
from skimage import data as skdata

from colorlib import lab
from colorlib.checkpoint import CheckpointError
from colorlib.cli import main as cli
from colorlib.config import Config
from colorlib.data.images import open_rgb
from colorlib.inference.colorize import EXIT_ERROR, ColorizeError, colorize_paths, output_name, plan_outputs
from colorlib.inference.colorizer import NET_SIZE, Colorizer, load_colorizer
from colorlib.models import build_generator


def colorize_cli(argv: list[str]) -> int:
    """``python -m colorlib colorize ARGV``: setup errors are one line and exit status EXIT_ERROR."""
    return cli(["colorize", *argv])


def _one_error_line(capsys) -> str:
    """The single stderr line of a setup error, without its ``colorlib colorize: `` prefix."""
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("colorlib colorize: ")
    return line[len("colorlib colorize: ") :]


def _tinted(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_generator(name, pretrained=False)
    with torch.no_grad():
        model.decoder.head[1].bias.copy_(torch.tensor([0.35, -0.3]))  # ab ≈ (38, −33): blue-ish
    return model.eval()


@pytest.fixture(scope="module")
def unet() -> Colorizer:
    return Colorizer(_tinted("unet"), "unet")


@pytest.fixture(scope="module")
def resnet_ckpt(tmp_path_factory) -> tuple[str, torch.nn.Module]:
    model = _tinted("resnet")
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    save_generator_checkpoint(path, model, "resnet", Config.from_profile("smoke"), epoch=0)
    return str(path), model


@pytest.fixture(scope="module")
def colorizer(resnet_ckpt) -> Colorizer:
    return load_colorizer(resnet_ckpt[0])


@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    return np.asarray(Image.fromarray(skdata.chelsea()).resize((150, 100)))  # uint8 100×150×3


def _L(rgb: np.ndarray) -> np.ndarray:
    """uint8 H×W×3 → L* (H×W, 0..100) via colorlib.lab (the reference transform)."""
    return lab.rgb_to_lab(torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255)[0, 0].numpy()


def test_matches_the_reference_lab_pipeline(unet, cat):
    """The fast stripe path equals lab.py: L* of the full image ⊕ bilinear-upsampled 256² ab."""
    out = np.asarray(unet.colorize(Image.fromarray(cat))).astype(int)
    small = np.asarray(Image.fromarray(cat).resize((NET_SIZE, NET_SIZE), Image.Resampling.BICUBIC))
    with torch.no_grad():
        L_small, _ = lab.lab_from_uint8(torch.from_numpy(small.copy())[None])
        ab = F.interpolate(unet.model(L_small), size=cat.shape[:2], mode="bilinear", align_corners=False)
        L_full, _ = lab.lab_from_uint8(torch.from_numpy(cat.copy())[None])
        ref = lab.uint8_from_lab(L_full, ab)[0].numpy().astype(int)
    assert out.shape == cat.shape
    assert np.abs(out - ref).max() <= 1
    assert np.abs(out - ref).mean() < 0.01
    # the colour really comes from the network: the output is strongly tinted, the L* is kept
    chroma = lab.rgb_to_lab(torch.from_numpy(out).permute(2, 0, 1)[None].float() / 255)[0, 1:]
    assert chroma[1].mean() < -15
    assert np.median(np.abs(_L(out.astype(np.uint8)) - _L(cat))) < 1.0


def test_colour_input_is_colorized_from_its_lightness_alone(colorizer, cat):
    # a gray image with the same L* as `cat`: put L* under ab = 0
    L, _ = lab.lab_from_uint8(torch.from_numpy(cat.copy())[None])
    same_L = lab.uint8_from_lab(L, torch.zeros(1, 2, *cat.shape[:2]))[0].numpy()
    a = np.asarray(colorizer.colorize(Image.fromarray(cat))).astype(int)
    b = np.asarray(colorizer.colorize(Image.fromarray(same_L))).astype(int)
    assert np.abs(a - b).max() <= 3 and np.abs(a - b).mean() < 0.5
    assert np.abs(a - cat).mean() > 10  # the input's own colours are not kept


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (20, 900), (900, 20)])
def test_any_size_keeps_its_size(colorizer, tmp_path, size):
    rng = np.random.default_rng(sum(size))
    src = tmp_path / "in.png"
    Image.fromarray(rng.integers(0, 256, (size[1], size[0]), dtype=np.uint8), "L").save(src)
    [dst] = colorizer.colorize_file(src, tmp_path / "out.png")
    with Image.open(dst) as out:
        assert out.size == size and out.mode == "RGB"
        out_rgb = np.asarray(out)
    assert np.median(np.abs(_L(out_rgb) - _L(np.asarray(open_rgb(src))))) < 1.0


def _mode_image(mode: str, path) -> None:
    base = Image.fromarray(skdata.astronaut()).resize((48, 32))
    if mode == "I;16":
        arr = (np.asarray(base.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
        Image.fromarray(arr).save(path)  # uint16 → mode I;16
    elif mode == "CMYK":
        base.convert("CMYK").save(path, format="JPEG", quality=95)
    elif mode == "P":
        base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(path)
    else:
        base.convert(mode).save(path)


@pytest.mark.parametrize(
    "mode,ext", [("L", ".png"), ("LA", ".png"), ("RGBA", ".png"), ("P", ".png"), ("CMYK", ".jpg"), ("I;16", ".png")]
)
def test_any_mode(colorizer, tmp_path, mode, ext):
    src = tmp_path / f"in{ext}"
    _mode_image(mode, src)
    with Image.open(src) as check:
        assert check.mode == mode
    [dst] = colorizer.colorize_file(src, tmp_path / output_name(src))
    assert dst.suffix == ext
    with Image.open(dst) as out:
        assert out.size == (48, 32) and out.mode == "RGB"
        out_rgb = np.asarray(out)
    tol = 3.0 if ext == ".jpg" else 1.0  # the JPEG output adds its own small error
    assert np.median(np.abs(_L(out_rgb) - _L(np.asarray(open_rgb(src))))) < tol


def test_exif_orientation_is_applied(colorizer, tmp_path):
    arr = np.zeros((20, 40), np.uint8)
    arr[:, :20] = 230  # bright left half, stored landscape
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the left half ends up on top
    src = tmp_path / "rotated.JPG"
    Image.fromarray(arr, "L").save(src, exif=exif, quality=95)
    [dst] = colorizer.colorize_file(src, tmp_path / output_name(src))
    assert dst.name == "rotated_color.jpg"
    with Image.open(dst) as out:
        assert out.size == (20, 40)
        L = _L(np.asarray(out))
    assert L[:20].mean() > 80 and L[20:].mean() < 20


def test_twelve_megapixels(colorizer, tmp_path):
    src = tmp_path / "big.jpg"
    ramp = np.tile(np.linspace(0, 255, 4000).astype(np.uint8), (3000, 1))  # dark left, bright right
    Image.fromarray(ramp, "L").save(src, quality=90)
    [dst] = colorizer.colorize_file(src, tmp_path / "big_color.jpg")
    with Image.open(dst) as out:
        assert out.size == (4000, 3000)
        corner = np.asarray(out.crop((3900, 2900, 4000, 3000)))
    assert _L(corner).mean() > 90  # the bright corner stays bright: full-resolution L* kept
    assert set(colorizer.timings) == {"decode", "network", "full_res", "encode"}


def test_dropout_flag(unet, cat):
    img = Image.fromarray(cat[:20, :20])
    off = np.asarray(unet.colorize(img))
    assert np.array_equal(off, np.asarray(unet.colorize(img)))  # eval(): deterministic
    noisy = Colorizer(unet.model, "unet", dropout=True)
    assert not np.array_equal(np.asarray(noisy.colorize(img)), np.asarray(noisy.colorize(img)))
    assert not any(m.training for m in unet.model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    unet.model.eval()


def test_checkpoint_round_trip(resnet_ckpt, colorizer, cat):
    path, model = resnet_ckpt
    assert colorizer.generator == "resnet"
    for a, b in zip(model.state_dict().values(), colorizer.model.state_dict().values()):
        assert torch.equal(a, b)
    direct = Colorizer(model, "resnet")
    assert np.array_equal(
        np.asarray(direct.colorize(Image.fromarray(cat))), np.asarray(colorizer.colorize(Image.fromarray(cat)))
    )


def test_bad_checkpoints_give_one_clear_line(resnet_ckpt, tmp_path, capsys, cat):
    src = tmp_path / "cat.png"
    Image.fromarray(cat).save(src)
    with pytest.raises(CheckpointError, match="'resnet' generator, but a 'unet'"):
        load_colorizer(resnet_ckpt[0], generator="unet")
    assert (
        colorize_cli([str(src), "--out", str(tmp_path / "o"), "--checkpoint", resnet_ckpt[0], "--generator", "unet"])
        == EXIT_ERROR
        == 2
    )
    err = _one_error_line(capsys)
    assert resnet_ckpt[0] in err and "unet" in err
    broken = tmp_path / "broken.pt"
    broken.write_bytes(open(resnet_ckpt[0], "rb").read()[:5000])
    assert colorize_cli([str(src), "--out", str(tmp_path / "o"), "--checkpoint", str(broken)]) == 2
    err = _one_error_line(capsys)
    assert str(broken) in err and "corrupt" in err
    assert not (tmp_path / "o").exists()


def _batch(root):
    """A folder of good photos with broken files in the middle, awkward names included."""
    cat = Image.fromarray(skdata.chelsea()).resize((60, 40))
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    cat.save(root / "a" / "01 first photo.png")
    (root / "a" / "02_empty.jpg").write_bytes(b"")
    buf = io.BytesIO()
    cat.save(buf, format="JPEG")
    (root / "a" / "03_truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (root / "a" / "04_text.png").write_text("this is not an image\n")
    Image.new("L", (400, 300), 128).save(root / "a" / "05_huge.png")
    cat.convert("L").save(root / "a" / "06 Ünïcødé café.PNG")
    cat.save(root / "a" / "07_UPPER.JPEG", quality=90)
    cat.save(root / "b" / "01 first photo.png")  # same stem as a/01: must not overwrite it
    (root / "a" / "notes.txt").write_text("ignored: not an image extension\n")
    return root


def test_batch_with_broken_files_in_the_middle(resnet_ckpt, tmp_path, capsys):
    src = _batch(tmp_path / "in")
    out = tmp_path / "out dir"
    rc = colorize_cli(
        [
            str(src / "a"),
            str(src / "b"),
            "--out",
            str(out),
            "--checkpoint",
            resnet_ckpt[0],
            "--side-by-side",
            "--max-pixels",
            "100000",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    reasons = {
        "02_empty.jpg": "empty",
        "03_truncated.jpg": "",
        "04_text.png": "not an image",
        "05_huge.png": "over the limit",
    }
    assert len(errors) == len(reasons)
    for name, why in reasons.items():
        [line] = [e for e in errors if name in e]
        assert why in line
    assert "colorized 4 of 8 image(s)" in captured.out and "4 failed" in captured.out
    assert f"{src / 'b' / '01 first photo.png'} -> 01 first photo_png_color.png" in captured.out
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "01 first photo_color.png",
            "01 first photo_color_side.png",
            "01 first photo_png_color.png",
            "01 first photo_png_color_side.png",
            "06 Ünïcødé café_color.png",
            "06 Ünïcødé café_color_side.png",
            "07_UPPER_color.jpg",
            "07_UPPER_color_side.jpg",
        ]
    )
    with Image.open(out / "07_UPPER_color_side.jpg") as side:
        assert side.size[0] == 120 and side.size[1] >= 40 and side.format == "JPEG"  # (a caption band on top)
    # only good files again: exit 0, outputs replaced in place, nothing left half-written
    rc = colorize_cli([str(src / "a" / "01 first photo.png"), "--out", str(out), "--checkpoint", resnet_ckpt[0]])
    assert rc == 0 and "colorized 1 of 1" in capsys.readouterr().out
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_never_overwrites_an_input(resnet_ckpt, tmp_path, capsys):
    Image.new("L", (8, 8), 50).save(tmp_path / "x.png")
    Image.new("L", (8, 8), 200).save(tmp_path / "x_color.png")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert colorize_cli([str(tmp_path), "--out", str(tmp_path), "--checkpoint", resnet_ckpt[0]]) == 2
    assert "would overwrite an input" in _one_error_line(capsys)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    with pytest.raises(ColorizeError, match="overwrite") as err:
        plan_outputs([tmp_path / "x.png", tmp_path / "x_color.png"], tmp_path)
    assert isinstance(err.value, ValueError)  # as before the error types: ``except ValueError`` still works


def test_output_names():
    assert output_name("dir/My Photo.JPG") == "My Photo_color.jpg"
    assert output_name("scan.TIFF") == "scan_color.png"
    assert output_name("bad\x07name.png") == "bad_name_color.png"
    plan = plan_outputs([os.path.join("p", "a.png"), os.path.join("q", "a.jpg"), os.path.join("r", "A.png")], "o")
    assert [p.name for p in plan] == ["a_color.png", "a_jpg_color.jpg", "A_png_color.png"]


def test_default_checkpoint_comes_from_config(resnet_ckpt, colorizer, tmp_path, capsys):
    src = tmp_path / "in.png"
    Image.new("L", (9, 6), 90).save(src)
    args = [
        str(src),
        "--out",
        str(tmp_path / "o"),
        "--profile",
        "smoke",
        "--generator",
        "resnet",
        "--set",
        f"run_root={tmp_path / 'runs'}",
    ]
    assert colorize_cli(args) == 2
    err = _one_error_line(capsys)
    assert "no trained resnet model for profile smoke" in err and str(tmp_path / "runs") in err
    run_dir = Config.from_profile("smoke", generator="resnet", run_root=str(tmp_path / "runs")).run_dir
    run_dir.mkdir(parents=True)
    os.symlink(resnet_ckpt[0], run_dir / "checkpoint.pt")
    assert colorize_cli(args) == 0 and (tmp_path / "o" / "in_color.png").is_file()
    # the progress-bar path (used when stderr is a terminal) writes the same files
    report = colorize_paths(colorizer, [src], tmp_path / "bar", progress=True)
    assert list(report.written) == [src] and "colorize" in capsys.readouterr().err


def test_bad_out_folder_and_pixel_limit_are_one_line_setup_errors(resnet_ckpt, tmp_path, capsys):
    (tmp_path / "a file").write_text("x")
    for name in ("a.png", "b.png"):
        Image.new("L", (9, 6), 90).save(tmp_path / name)
    out = tmp_path / "a file" / "sub"  # cannot be created: its parent is a file
    args = [str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--checkpoint", resnet_ckpt[0]]
    assert colorize_cli([*args, "--out", str(out)]) == 2
    assert _one_error_line(capsys) == f"{out}: cannot create the --out folder (Not a directory)"  # once, not per photo
    assert colorize_cli([*args, "--out", str(tmp_path / "a file")]) == 2
    assert _one_error_line(capsys) == f"{tmp_path / 'a file'}: --out exists and is not a folder"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert colorize_cli([str(empty), "--out", str(tmp_path / "o"), "--checkpoint", resnet_ckpt[0]]) == 2
    assert _one_error_line(capsys) == f"no image files found in {empty}"
    for bad, why in (("0", "0 is not a positive number"), ("many", "'many' is not a whole number")):
        with pytest.raises(SystemExit) as exit_:
            colorize_cli([*args, "--out", str(tmp_path / "o"), "--max-pixels", bad])
        assert exit_.value.code == 2 and why in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
