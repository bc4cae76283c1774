"""colorlib.data.images: open_rgb on generated awkward files (every mode ends as upright 8-bit RGB, or one
clear error) and the S×S resize square."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from colorlib.data.images import ImageError, is_image_path, open_rgb, square


def _png_header_only(path, width, height):
    """A PNG whose header claims width×height RGB (a decompression-bomb shape), tiny on disk."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path)  # pure red in CMYK
    img = open_rgb(path)
    assert img.mode == "RGB" and img.size == (16, 16)
    r, g, b = np.asarray(img)[8, 8].astype(int)
    assert r > 230 and g < 30 and b < 30


def test_palette_with_transparency_composited_over_white(tmp_path):
    path = tmp_path / "p.png"
    img = Image.new("P", (4, 2))
    img.putpalette([0, 0, 255] + [255, 0, 0] + [0, 0, 0] * 254)
    img.putdata([0, 0, 1, 1] * 2)  # left half index 0 (blue), right half index 1 (red)
    img.save(path, transparency=0)
    arr = np.asarray(open_rgb(path))
    assert arr[0, 0].tolist() == [255, 255, 255]  # transparent → white background
    assert arr[0, 3].tolist() == [255, 0, 0]


def test_rgba_and_la(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0] = (0, 128, 0, 255)  # opaque green row
    rgba[1] = (0, 128, 0, 0)  # fully transparent row
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    arr = np.asarray(open_rgb(tmp_path / "a.png"))
    assert arr[0, 0].tolist() == [0, 128, 0] and arr[1, 0].tolist() == [255, 255, 255]
    la = Image.fromarray(np.array([[[90, 255], [90, 0]]], np.uint8), "LA")
    la.save(tmp_path / "la.png")
    arr = np.asarray(open_rgb(tmp_path / "la.png"))
    assert arr[0, 0].tolist() == [90, 90, 90] and arr[0, 1].tolist() == [255, 255, 255]


def test_16_bit_grayscale_scaled_to_8_bit(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.array([[0, 32768, 65535]], np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I")
    arr = np.asarray(open_rgb(path))
    assert arr.dtype == np.uint8 and arr[0, :, 0].tolist() == [0, 128, 255]
    assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()


def test_one_pixel_image_opens(tmp_path):
    Image.new("RGB", (1, 1), (10, 20, 30)).save(tmp_path / "dot.png")
    img = open_rgb(tmp_path / "dot.png")
    assert img.size == (1, 1) and img.getpixel((0, 0)) == (10, 20, 30)


def test_exif_orientation_applied_and_original_size_upright(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = (255, 0, 0)  # stored left half red
    arr[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(arr).save(tmp_path / "rot.jpg", exif=exif, quality=95)
    img = open_rgb(tmp_path / "rot.jpg")
    assert img.size == (20, 40) and img.info["original_size"] == (20, 40)
    out = np.asarray(img).astype(int)
    assert out[5, 10, 0] > 200 and out[5, 10, 2] < 60  # top is the stored left (red)
    assert out[35, 10, 2] > 200 and out[35, 10, 0] < 60


def test_draft_decodes_jpeg_smaller_but_not_below_request(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8)).save(tmp_path / "big.jpg")
    img = open_rgb(tmp_path / "big.jpg", draft=(256, 256))
    assert img.info["original_size"] == (1024, 768)
    assert 256 <= min(img.size) and img.size[0] < 1024
    assert open_rgb(tmp_path / "big.jpg").size == (1024, 768)


@pytest.mark.parametrize(
    "name, content, reason",
    [("empty.jpg", b"", "empty file"), ("notes.png", b"this is not a picture\n" * 20, "not an image")],
)
def test_bad_bytes_give_one_line_errors(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ImageError, match=reason) as err:
        open_rgb(tmp_path / name)
    assert str(err.value).startswith(str(tmp_path / name)) and "\n" not in str(err.value)


def test_truncated_jpeg_is_refused(tmp_path):
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cannot decode"):
        open_rgb(tmp_path / "cut.jpg")


def test_decompression_bombs_refused_before_decoding(tmp_path):
    Image.new("RGB", (20, 20)).save(tmp_path / "small.png")
    with pytest.raises(ImageError, match=r"20×20 = 0.0004 MP is over the limit of 0.0001 MP .possible decomp"):
        open_rgb(tmp_path / "small.png", max_pixels=100)
    _png_header_only(tmp_path / "bomb.png", 12_000, 12_000)  # 144 MP claimed, 100 bytes on disk
    with pytest.raises(ImageError, match="decompression bomb"):
        open_rgb(tmp_path / "bomb.png")


def test_missing_and_directory(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        open_rgb(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="directory"):
        open_rgb(tmp_path)


def test_extensions_any_case():
    assert all(is_image_path(f"a.{e}") for e in ("jpg", "JPEG", "Png", "webp", "BMP", "tif", "TIFF"))
    assert not is_image_path("a.txt") and not is_image_path("jpg")


def test_a_higher_max_pixels_overrides_pillows_own_limit(tmp_path, monkeypatch):
    """Pillow refuses images over 2 × Image.MAX_IMAGE_PIXELS (~179 MP) on open; --max-pixels 300e6
    must still let a 200 MP panorama through. Shown here at a small scale (Pillow's limit lowered)."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow: refuse over 2000 px
    Image.new("RGB", (60, 60), (1, 2, 3)).save(tmp_path / "p.png")  # 3600 px
    assert open_rgb(tmp_path / "p.png", max_pixels=10_000).size == (60, 60)
    assert Image.MAX_IMAGE_PIXELS == 1000  # restored
    with pytest.raises(ImageError, match="over the limit of 0.003 MP"):
        open_rgb(tmp_path / "p.png", max_pixels=3000)


def test_every_refusal_names_its_kind(tmp_path):
    """Counts in prepare's summary come from ``ImageError.kind``, not from the message wording."""
    from colorlib.data.images import ImageError, open_rgb

    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    Image.new("RGB", (64, 64)).save(tmp_path / "ok.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "ok.png").read_bytes()[:60])
    cases = {"empty.jpg": "empty_file", "text.png": "not_an_image", "absent.png": "missing", "cut.png": "corrupt"}
    for name, kind in cases.items():
        with pytest.raises(ImageError) as err:
            open_rgb(tmp_path / name)
        assert err.value.kind == kind, name
    with pytest.raises(ImageError) as err:
        open_rgb(tmp_path / "ok.png", max_pixels=100)
    assert err.value.kind == "decompression_bomb"


def test_square_resizes_the_whole_frame_or_a_box():
    """§5.1: the whole image to S×S, aspect ratio not kept (a left/right split stays a left/right split)."""
    arr = np.zeros((30, 90, 3), np.uint8)
    arr[:, 45:] = 255
    img = Image.fromarray(arr)
    out = square(img, 16)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert out[:, :6].max() < 10 and out[:, 10:].min() > 245
    assert square(img, 8, box=(0, 0, 40, 30)).max() < 10  # the dark left part only
