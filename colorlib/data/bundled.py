"""The bundled source (source=bundled): seeded crops of the colour photos shipped in scikit-image.

Split rule. Each photo (W×H pixels) is cut at (⌊W/2⌋, ⌊H/2⌋) into four quadrants. Quadrant
⌊4p⌋ in the order top-left, top-right, bottom-left, bottom-right is the photo's test region,
where p ∈ [0, 1) is the first 8 bytes of ``sha256(f"{split_seed}:{photo}")`` as a fraction
(``photo`` a name such as ``astronaut``; :func:`colorlib.data.split.position`); the other three
quadrants are its train region. Every image is a crop inside one quadrant of its split's region,
resized from that crop's pixels alone, so no pixel of a test image is in any train image, while
every photo can feed both splits with crops of the same sizes. The photos are shuffled by
split_seed; the test split cycles through their test quadrants, the train split through their
train quadrants (each photo's first in the order above, then each one's second, then third). The
first pass takes every quadrant whole, later passes a seeded random box of 25–100 % of the
quadrant's area with aspect ratio w/h in [3/4, 4/3] (sides clipped to the quadrant's). An
unreadable photo, or a grayscale crop, is replaced by the next crop. With P photos, each photo
appears in both splits once n_train ≥ P and n_test ≥ P (the demo: 8 photos, 32 train and 8 test
images).

Manifest rows: ``id`` is ``<photo>/<split>-region#<j>`` (that photo's j-th crop in that split);
``crop`` is ``"x0 y0 x1 y1 in <quadrant> quadrant X0 Y0 X1 Y1"``, the box and its quadrant in
original-photo pixels (x1, y1 exclusive). The split identity (:mod:`colorlib.data.split`) is per
region: ``bundled:<photo>/test-region`` or ``bundled:<photo>/train-region``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
from PIL import Image

from colorlib.data.images import ImageError, open_rgb, square
from colorlib.data.sources import Candidate, Decoded, bundled_photos, seeded_order
from colorlib.data.split import position

__all__ = ["QUADRANTS", "held_out_quadrant", "quadrant_box", "crop_box", "bundled_candidates"]

QUADRANTS = ("top-left", "top-right", "bottom-left", "bottom-right")
Box = tuple[int, int, int, int]


def held_out_quadrant(seed: int, photo: str) -> int:
    """The index in :data:`QUADRANTS` of ``photo``'s test region for split_seed ``seed``."""
    return min(3, int(4 * position(seed, photo)))


def quadrant_box(quadrant: int, width: int, height: int) -> Box:
    """Quadrant ``quadrant`` of a width × height photo as (x0, y0, x1, y1), cut at (⌊W/2⌋, ⌊H/2⌋)."""
    cx, cy = width // 2, height // 2
    x0, x1 = (0, cx) if quadrant % 2 == 0 else (cx, width)
    y0, y1 = (0, cy) if quadrant < 2 else (cy, height)
    return x0, y0, x1, y1


def crop_box(rng: np.random.Generator, region: Box) -> Box:
    """A random box inside ``region`` covering 25–100 % of its area with aspect ratio in
    [3/4, 4/3] (each side clipped to the region's)."""
    x0, y0, x1, y1 = region
    width, height = x1 - x0, y1 - y0
    area = rng.uniform(0.25, 1.0) * width * height
    ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    w = min(width, max(1, round(math.sqrt(area * ratio))))
    h = min(height, max(1, round(math.sqrt(area / ratio))))
    left, top = x0 + int(rng.integers(0, width - w + 1)), y0 + int(rng.integers(0, height - h + 1))
    return left, top, left + w, top + h


def _tiles(names: list[str], split: str, seed: int) -> list[tuple[str, int]]:
    """(photo, quadrant) in the order crops cycle through them (see the rule above)."""
    if split == "test":
        return [(name, held_out_quadrant(seed, name)) for name in names]
    train = {name: [q for q in range(4) if q != held_out_quadrant(seed, name)] for name in names}
    return [(name, train[name][j]) for j in range(3) for name in names]


def _decoded(img: Image.Image, box: Box, size: int) -> Decoded:
    return Decoded(square(img.crop(box), size), img.width, img.height)


def bundled_candidates(
    split: str, n_train: int, n_test: int, seed: int, log: Callable[[str], None] = print
) -> Iterator[Candidate]:
    """Seeded crops of the bundled photos for ``split`` ("train" or "test"); see the rule above."""
    photos = bundled_photos(log if split == "train" else (lambda line: None))  # note once
    tiles = _tiles(seeded_order(list(photos), seed), split, seed)
    rng = np.random.default_rng([seed, 1 if split == "test" else 0])
    decoded: dict[str, Image.Image | ImageError] = {}
    count: dict[str, int] = {}
    limit = 4 * max(n_train if split == "train" else n_test, 1) + 4 * len(tiles)
    for k in range(limit):
        name, quadrant = tiles[k % len(tiles)]
        file, where = photos[name].name, f"skimage/data/{photos[name].name}"
        if name not in decoded:
            try:
                decoded[name] = open_rgb(photos[name])
            except ImageError as err:
                decoded[name] = err
                yield Candidate("bundled", name, file, lambda s, e=err: _raise(e), path=where)
        img = decoded[name]
        if isinstance(img, ImageError):
            continue
        region = quadrant_box(quadrant, img.width, img.height)
        box = region if k < len(tiles) else crop_box(rng, region)
        j = count[name] = count.get(name, -1) + 1
        yield Candidate(
            "bundled",
            f"{name}/{split}-region#{j}",
            file,
            lambda s, i=img, b=box: _decoded(i, b, s),
            path=where,
            crop=f"{' '.join(map(str, box))} in {QUADRANTS[quadrant]} quadrant {' '.join(map(str, region))}",
        )


def _raise(err: Exception):
    raise err
