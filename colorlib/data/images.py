"""Reading real-world image files robustly: one function, one error type, one-line reasons.

Used by data preparation and by full-resolution colorization, so both accept and reject
exactly the same files. ``open_rgb(path)`` returns an 8-bit RGB ``PIL.Image`` that is fully
decoded and upright (EXIF orientation applied), or raises ``ImageError("<path>: <reason>")``.
``square(img, S)`` is the one resize to the networks' S×S, shared by the training data and
colorization for the same reason.

Mode policy: palette/RGBA/LA/PA images are composited over white (what a viewer shows);
CMYK and YCbCr convert through Pillow; 16-bit and 32-bit grayscale (I;16*, I) are scaled
from 0..65535 to 0..255; float (F) images are taken as 0..1; 1-bit as black/white.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from colorlib.utils.errors import ColorlibError

__all__ = ["ImageError", "open_rgb", "square", "IMAGE_EXTENSIONS", "DEFAULT_MAX_PIXELS", "is_image_path"]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
DEFAULT_MAX_PIXELS = 100_000_000  # 100 MP: larger files are refused as possible decompression bombs


class ImageError(ColorlibError, ValueError):
    """A file that cannot be used as an image; ``str(err)`` is ``"<path>: <reason>"``.

    ``kind`` names the failure for counting (``missing``, ``empty_file``, ``not_an_image``,
    ``decompression_bomb``, ``corrupt``, ``too_small``, …), independent of the message wording.
    """

    def __init__(self, path: str | os.PathLike, reason: str, kind: str = "unreadable"):
        self.path, self.reason, self.kind = Path(path), reason, kind
        super().__init__(f"{path}: {reason}")


def is_image_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` has one of the accepted image extensions (any letter case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def float_scale(arr: np.ndarray) -> float:
    """The white level of a floating-point (mode F) image, from its largest finite value: 1
    (values in 0..1), 255 (0..255: clipping them to 0..1 made the photo white) or 65535; larger
    values are refused (ValueError: no range to read them in)."""
    finite = arr[np.isfinite(arr)]
    top = float(finite.max()) if finite.size else 0.0
    for scale in (1.0, 255.0, 65535.0):
        if top <= scale:
            return scale
    raise ValueError(
        f"floating-point pixel values up to {top:.6g}: not in 0..1, 0..255 or 0..65535; save the image as 8- or 16-bit"
    )


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(img, dtype=np.float64) / 65535.0 * 255.0
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        scale = float_scale(arr)
        arr = np.clip(np.nan_to_num(arr, nan=0.0), 0.0, scale) / scale * 255.0
        out = Image.fromarray(np.rint(arr).astype(np.uint8), "L").convert("RGB")
        out.info["float_scale"] = scale
        return out
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("LA", "PA", "La", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        return background
    return img.convert("RGB")


def open_rgb(
    path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS, *, draft: tuple[int, int] | None = None
) -> Image.Image:
    """Decode ``path`` into an upright 8-bit RGB image, or raise :class:`ImageError`.

    ``draft=(w, h)`` lets a JPEG decode at a reduced scale (1/2, 1/4, 1/8 in the DCT domain)
    while staying at least ``w×h``: several times faster when the caller downsizes anyway.
    ``img.info["original_size"]`` is the upright ``(width, height)`` of the file's full image.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise ImageError(path, "empty file", "empty_file")
    except FileNotFoundError:
        raise ImageError(path, "no such file", "missing") from None
    except IsADirectoryError:
        raise ImageError(path, "is a directory", "missing") from None
    pillow_limit = Image.MAX_IMAGE_PIXELS
    if pillow_limit is not None and max_pixels > 2 * pillow_limit:
        # Pillow refuses more than 2 × MAX_IMAGE_PIXELS (~179 MP) in Image.open, before our own
        # check: lift its limit for this call so a caller's higher max_pixels is honoured.
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise ImageError(
                        path,
                        f"{w}×{h} = {w * h / 1e6:.3g} MP is over the limit of "
                        f"{max_pixels / 1e6:.3g} MP (possible decompression bomb)",
                        "decompression_bomb",
                    )
                if w < 1 or h < 1:
                    raise ImageError(path, f"image has no pixels ({w}×{h})", "too_small")
                orientation = img.getexif().get(0x0112, 1)
                original = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
                if draft is not None and img.format == "JPEG":
                    img.draft("RGB" if img.mode == "RGB" else None, draft)
                img.load()
                ImageOps.exif_transpose(img, in_place=True)  # not a copy of an upright photo
                img = _to_rgb(img)
                if img.info.get("float_scale", 1.0) != 1.0:  # said once per file, not silently
                    print(
                        f"note: {path}: floating-point pixels read as 0..{img.info['float_scale']:g}", file=sys.stderr
                    )
                img.info["original_size"] = original
                return img
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(path, "not an image file (unrecognized format)", "not_an_image") from None
    except Image.DecompressionBombError as err:
        raise ImageError(path, f"refused as a possible decompression bomb ({err})", "decompression_bomb") from None
    except (OSError, SyntaxError, ValueError) as err:  # truncated, corrupt, unsupported codec
        raise ImageError(path, f"cannot decode ({err})", "corrupt") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit


def square(img: Image.Image, size: int, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """RGB PIL image (or its ``box`` region) → uint8 size×size×3, bicubic with antialiasing.

    The whole frame, aspect ratio not preserved (§5.1: "we resize the variable-sized images to a
    fixed size of 256×256"); see :mod:`colorlib.data.sources` for why.
    """
    out = img.resize((size, size), Image.Resampling.BICUBIC, box=box)
    return np.ascontiguousarray(np.asarray(out, dtype=np.uint8))
