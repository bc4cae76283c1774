"""Full-resolution colorization of one photo (the batch CLI verb is :mod:`colorlib.inference.colorize`).

The networks see 256×256 (§5.1). A user's photo is larger, in any mode, often EXIF-rotated, so
(following the usual practice of colorizers: predict chroma at low resolution, keep the
full-resolution lightness):

1. decode with :func:`colorlib.data.images.open_rgb` (EXIF orientation, any mode → 8-bit RGB);
2. resize the whole frame to 256×256 exactly as the training data (aspect-distorting bicubic,
   :func:`colorlib.data.images.square`, §5.1),
   take its normalized L* (Eq. 4) and predict ab with the generator (Eq. 7, 9);
3. upsample ab bilinearly to the oriented full size;
4. put it under the L* of the full-resolution input (Eq. 8/11) and convert Lab → sRGB;
5. save ``<stem>_color.<ext>`` at the oriented input's size: JPEG (quality 95) for JPEG inputs,
   PNG for everything else; with ``side_by_side``, also ``<stem>_color_side.<ext>``: input |
   output under a caption band naming each half (:func:`captioned_pair`; the output stays unlabelled).

A colour input is colorized from its L* alone. The full-resolution steps run in row stripes
(L* needs only the luminance Y: :func:`colorlib.lab.luminance_from_uint8` and
:func:`colorlib.lab.uint8_from_luminance_ab`, which match :func:`colorlib.lab.uint8_from_lab` to
±1 level — see ``tests/inference/test_colorize.py``), each read from the decoded photo and, in
:meth:`Colorizer.colorize_file`, written back into it: a 12 MP photo holds one full-size image in
memory, and the U-Net needs no torchvision (``tests/inference/test_colorize_memory.py``;
``benchmarks/bench_colorize_memory.py`` measures the whole process).

Dropout: the paper, like pix2pix, keeps dropout on at test time (§4.2) as the generator's only
noise. By default we colorize with ``model.eval()`` (deterministic output); ``dropout=True``
(CLI ``--dropout``, or ``Config.test_dropout``) switches the Dropout layers back on, leaving
BatchNorm in eval mode (:func:`colorlib.models.at_test_time`).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from colorlib.checkpoint import load_generator
from colorlib.config import display_name
from colorlib.data.images import DEFAULT_MAX_PIXELS, open_rgb, square
from colorlib.lab import AB_SCALE, lab_from_uint8, luminance_from_uint8, uint8_from_luminance_ab
from colorlib.models import at_test_time
from colorlib.utils.files import atomic_file

__all__ = ["Colorizer", "load_colorizer", "side_name", "captioned_pair", "NET_SIZE", "JPEG_QUALITY", "JPEG_SUFFIXES"]

NET_SIZE = 256  # the networks' input, W = H = 256 (§5.1)
JPEG_QUALITY = 95  # JPEG inputs are written as JPEG at this quality; others as PNG
PNG_COMPRESS_LEVEL = 3  # zlib level for PNG outputs (Pillow's default 6 is ~2× slower, ~3% smaller)
STRIPE_PIXELS = 1 << 17  # full-resolution work is done in row stripes of about this many pixels
JPEG_SUFFIXES = (".jpg", ".jpeg")


# ----------------------------------------------------------------------------- stripes
def _run_stripes(fn, bounds: list[tuple[int, ...]], device: torch.device) -> None:
    """Run ``fn(r0, r1)`` over row stripes. On CPU: one stripe per thread, each single-threaded.

    Torch's intra-op threads meet at a barrier after every op; on a busy machine (more runnable
    threads than cores) each barrier can wait a whole scheduler slice, which made the
    full-resolution step ~10× slower. Independent stripes on a thread pool (torch ops release the
    GIL) use the same cores with no barrier, as fast on an idle machine and robust on a busy one.
    """
    threads = torch.get_num_threads()
    workers = min(threads, len(bounds))
    if device.type != "cpu" or workers <= 1:
        for b in bounds:
            fn(*b)
        return
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="colorize") as pool:
            for _ in pool.map(lambda b: fn(*b), bounds):
                pass
    finally:
        torch.set_num_threads(threads)


def _stripes(W: int, H: int) -> list[tuple[int, int]]:
    """Row bounds ``(r0, r1)`` of stripes of about STRIPE_PIXELS pixels covering a W×H image."""
    step = max(1, STRIPE_PIXELS // W)
    return [(r0, min(H, r0 + step)) for r0 in range(0, H, step)]


TILE_COLUMNS = 8192  # wider images are also cut into column blocks: a tile's memory never follows W


def _tiles(W: int, H: int) -> list[tuple[int, int, int, int]]:
    """Tiles ``(r0, r1, c0, c1)`` of about STRIPE_PIXELS pixels covering a W×H image: whole-row
    stripes up to TILE_COLUMNS wide, column blocks of them beyond (a 1,000,000×1 image)."""
    cols = min(W, TILE_COLUMNS)
    step = max(1, STRIPE_PIXELS // max(cols, NET_SIZE))  # a tile's rows blend 256 columns of ab first
    return [(r0, min(H, r0 + step), c0, min(W, c0 + cols)) for r0 in range(0, H, step) for c0 in range(0, W, cols)]


def _source_index(n: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """Bilinear (align_corners=False, as ``F.interpolate``) sampling of NET_SIZE values at ``n``
    output positions: (lower index, upper index, weight of the upper) per position."""
    src = ((torch.arange(n, device=device, dtype=torch.float64) + 0.5) * (NET_SIZE / n) - 0.5).clamp(min=0)
    lo = src.floor().long().clamp(max=NET_SIZE - 1)
    return lo, (lo + 1).clamp(max=NET_SIZE - 1), (src - lo).float()


def _rows(image: Image.Image, r0: int, r1: int) -> np.ndarray:
    """Rows r0..r1 of an RGB image as a writable uint8 h×W×3 array (a copy of those rows only)."""
    return np.array(image.crop((0, r0, image.width, r1)))


def _is_gray(rgb: np.ndarray) -> bool:
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


# ----------------------------------------------------------------------------- the colorizer
@dataclass
class Colorizer:
    """A loaded generator plus the full-resolution pipeline around it.

    ``model`` maps normalized L (N×1×256×256) to normalized ab (N×2×256×256); ``generator`` is
    its name ("unet"/"resnet"). Create one with :func:`load_colorizer`, once per run.
    """

    model: nn.Module
    generator: str
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dropout: bool = False
    timings: dict = field(default_factory=dict)  # seconds of the last call, by stage

    def __post_init__(self) -> None:
        self.device = torch.device(self.device)
        at_test_time(self.model.to(self.device), self.dropout)  # §4.2: test-time dropout only if asked

    @torch.inference_mode()
    def predict_ab_lab(self, small: np.ndarray) -> Tensor:
        """uint8 RGB 256×256×3 → predicted ab in Lab units, 1×2×256×256 float32 (Eq. 4, 7, 9)."""
        L_norm, _ = lab_from_uint8(torch.tensor(small, device=self.device)[None])  # a copy: may be read-only
        ab = self.model(L_norm).float() * AB_SCALE  # Eq. 6 inverted: a = 110·â
        if not bool(torch.isfinite(ab).all()):  # the Lab → sRGB lookup would index with NaN
            from colorlib.checkpoint import CheckpointError

            raise CheckpointError(
                f"the {self.generator} model predicts non-finite colours (NaN or inf) for this "
                "photo: its weights overflow; use another checkpoint"
            )
        return ab

    @torch.inference_mode()
    def colorize(self, image: Image.Image, out: Image.Image | None = None) -> Image.Image:
        """An upright RGB image of any size (W×H) → the colorized RGB image of the same size.

        ``out``: the RGB image of that size to write the result into, and return — ``image``
        itself colorizes in place (each row stripe is read before it is written), so a 12 MP photo
        needs one full-size image in memory, not two; default: a new image.
        """
        if image.mode != "RGB":
            raise ValueError(f"Colorizer.colorize expects an RGB image, got mode {image.mode!r}")
        if out is not None and (out.mode, out.size) != ("RGB", image.size):
            raise ValueError(f"Colorizer.colorize: out must be RGB {image.size}, got {out.mode} {out.size}")
        t0 = time.perf_counter()
        W, H = image.size
        ab = self.predict_ab_lab(square(image, NET_SIZE))  # the training data's resize (§5.1)
        t1 = time.perf_counter()
        # Bilinear upsampling is separable: per tile, blend the 256² ab's rows to the tile's rows,
        # then its columns to the tile's columns; memory follows the tile, not the image's width
        # (widening to 256×W first took 2 GB per million columns: a 1,000,000×1 PNG peaked at 3 GB).
        ab = ab[0]
        i0, i1, w1 = _source_index(H, self.device)
        j0, j1, v1 = _source_index(W, self.device)
        result = Image.new("RGB", (W, H)) if out is None else out  # filled tile by tile

        def stripe(r0: int, r1: int, c0: int = 0, c1: int | None = None) -> None:
            c1 = W if c1 is None else c1
            with torch.inference_mode():  # thread-local: set again in pool threads
                w = w1[r0:r1, None]
                ab_v = ab[:, i0[r0:r1]] * (1 - w) + ab[:, i1[r0:r1]] * w  # 2×h×256
                v = v1[c0:c1]
                ab_full = ab_v[:, :, j0[c0:c1]] * (1 - v) + ab_v[:, :, j1[c0:c1]] * v  # 2×h×w
                rgb = torch.from_numpy(np.array(image.crop((c0, r0, c1, r1)))).to(self.device)
                rows = uint8_from_luminance_ab(luminance_from_uint8(rgb), ab_full)
                result.paste(Image.fromarray(rows.cpu().numpy(), "RGB"), (c0, r0))

        _run_stripes(stripe, _tiles(W, H), self.device)
        t2 = time.perf_counter()
        self.timings = {"network": t1 - t0, "full_res": t2 - t1}
        return result

    def colorize_file(
        self,
        src: str | os.PathLike,
        dst: str | os.PathLike,
        side_by_side: bool = False,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> list[Path]:
        """Colorize the image file ``src`` into ``dst`` (and ``<dst stem>_side.<ext>``); the paths written.

        Raises :class:`ImageError` for an unreadable input. Outputs are written atomically.
        """
        t0 = time.perf_counter()
        image = open_rgb(src, max_pixels=max_pixels)
        t1 = time.perf_counter()
        color = self.colorize(image, out=None if side_by_side else image)  # the input is shown beside it
        stages = dict(self.timings)
        t2 = time.perf_counter()
        dst = Path(dst)
        written = [_save_atomic(color, dst)]
        if side_by_side:
            gray = all(_is_gray(_rows(image, r0, r1)) for r0, r1 in _stripes(*image.size))
            left = "gray (input L*)" if gray else "input (only its L* is used)"
            pair = captioned_pair(image, color, left, f"colorized ({display_name(self.generator)})")
            written.append(_save_atomic(pair, side_name(dst)))
        self.timings = {"decode": t1 - t0, **stages, "encode": time.perf_counter() - t2}
        return written


def load_colorizer(
    checkpoint: str | os.PathLike,
    generator: str | None = None,
    device: str | torch.device = "cpu",
    dropout: bool = False,
) -> Colorizer:
    """The generator of a training checkpoint or a ``.safetensors`` export (``python -m colorlib
    export``) as a Colorizer.

    Only the generator's weights are read (:func:`colorlib.checkpoint.load_generator`: a
    checkpoint is memory-mapped with ``weights_only=True``, its discriminator and optimizer state
    never leave the disk). ``generator`` ("unet"/"resnet") asserts which one the file must hold;
    a corrupt file or the other generator raises :class:`colorlib.checkpoint.CheckpointError`
    with a one-line reason.
    """
    model, info = load_generator(checkpoint, expect=generator, device=device)
    return Colorizer(model, info["generator"], torch.device(device), dropout)


def side_name(dst: Path) -> Path:
    """Where the side-by-side (input | output) of output ``dst`` goes: ``<stem>_side.<ext>``."""
    return dst.with_name(f"{dst.stem}_side{dst.suffix}")


def captioned_pair(left: Image.Image, right: Image.Image, left_caption: str, right_caption: str) -> Image.Image:
    """``left`` | ``right`` (two RGB images of one size) under a white band captioning each half
    (Pillow's default font, ~4.5% of the image's smaller side, smaller where a caption would not fit its half)."""
    from PIL import ImageDraw, ImageFont

    w, h = left.size
    size = max(10, round(0.045 * min(w, h)))
    band = round(1.6 * size)
    pair = Image.new("RGB", (2 * w, h + band), "white")
    pair.paste(left, (0, band))
    pair.paste(right, (w, band))
    draw = ImageDraw.Draw(pair)
    for x0, text in ((0, left_caption), (w, right_caption)):
        font = ImageFont.load_default(size=size)
        wide = draw.textlength(text, font=font)
        if wide > 0.95 * w:  # text width scales with the font size
            font = ImageFont.load_default(size=max(6, int(size * 0.95 * w / wide)))
        draw.text((x0 + w / 2, band / 2), text, fill="black", font=font, anchor="mm")
    return pair


OUTPUT_MARK = "colorized by colorlib"  # in every output's metadata: a later run knows its own files


def is_own_output(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file colorize wrote (:data:`OUTPUT_MARK` in its JPEG comment or PNG
    text), read from the header only; a user's photo that merely has such a name is not."""
    try:
        with Image.open(path) as im:
            mark = im.info.get("comment", b"") if im.format == "JPEG" else im.info.get("Software", "")
    except Exception:  # noqa: BLE001 - unreadable: not ours; the colorize run reports it
        return False
    return (mark.decode("utf-8", "replace") if isinstance(mark, bytes) else str(mark)) == OUTPUT_MARK


def _save_atomic(image: Image.Image, path: Path) -> Path:
    """Save ``image`` to ``path`` via a temp file in the same folder; JPEG q95 or PNG by suffix,
    marked as colorize's output (:data:`OUTPUT_MARK`)."""
    from PIL.PngImagePlugin import PngInfo

    fmt = "JPEG" if path.suffix.lower() in JPEG_SUFFIXES else "PNG"
    if fmt == "JPEG":
        options = {"quality": JPEG_QUALITY, "comment": OUTPUT_MARK.encode()}
    else:
        info = PngInfo()
        info.add_text("Software", OUTPUT_MARK)
        options = {"compress_level": PNG_COMPRESS_LEVEL, "pnginfo": info}
    with atomic_file(path) as f:
        image.save(f, format=fmt, **options)
    return path
