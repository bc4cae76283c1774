"""A dress rehearsal of ``make reproduce`` on any machine: real code, stand-in downloads.

    python -m tools.rehearsal --home build/rehearsal -- make reproduce ALLOW_CPU=1 ...
    make rehearse                                     # the same, with the rehearsal's sizes

Everything ``make reproduce`` does runs for real — the annotation download and extraction, the
selective image download, the cache, both trainings (the ResNet one loading "ImageNet"
weights through torchvision's weights API), evaluation, figures and tables — except that:

- the COCO files come from a local HTTP server on 127.0.0.1 that serves, under the real URL
  layout (``/annotations/annotations_trainval2014.zip``, ``/annotations/image_info_test2014.zip``,
  ``/train2014/COCO_train2014_<id>.jpg``, ``/test2014/…``), generated annotation archives in
  the official format (records carry the real ``coco_url``; colorlib's mirror variables
  ``COLORLIB_COCO_ANNOTATIONS_URL`` / ``COLORLIB_COCO_IMAGES_URL`` point at the server) and
  generated colour JPEGs of COCO-like sizes;
- the ResNet-18 "ImageNet" weights are a random ResNet-18 state dict saved where torchvision's
  weights API looks (``$TORCH_HOME/hub/checkpoints/`` under torchvision's file name), so
  nothing is downloaded and the numbers mean nothing.

The command after ``--`` runs with ``COLORLIB_HOME`` (data, runs, results), ``TORCH_HOME`` and
the mirror variables set; the server stops when it ends, and its exit status is returned.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["build_coco_mirror", "write_resnet18_weights", "serve", "main"]

COCO_HOST = "http://images.cocodataset.org"  # what the official records say; the mirror rewrites it
# (split, annotation zip, member inside it, image ids)
_SPLITS = (
    ("train", "annotations_trainval2014.zip", "captions_train2014.json"),
    ("test", "image_info_test2014.zip", "image_info_test2014.json"),
)
_SIZES = ((640, 480), (480, 640), (640, 427), (500, 375), (612, 612))


def _photo(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A smooth colour image with a few shapes: decodes like a photo, has real chroma."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    base = np.stack(
        [127 + 110 * np.sin(rng.uniform(2, 6) * x + rng.uniform(1, 5) * y + p) for p in rng.uniform(0, 6.3, 3)], -1
    )
    for _ in range(3):
        cx, cy, r = rng.uniform(0, 1, 2).tolist() + [rng.uniform(0.05, 0.2)]
        mask = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        base[mask] = rng.integers(0, 256, 3)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def build_coco_mirror(root: str | os.PathLike, n_train: int, n_test: int, seed: int = 0) -> Path:
    """Write a COCO-shaped tree under ``root`` (annotations/*.zip, train2014/, test2014/) with
    ``n_train`` / ``n_test`` generated JPEGs; returns ``root``. Idempotent for the same counts."""
    root = Path(root)
    stamp = root / "mirror.json"
    want = {"n_train": n_train, "n_test": n_test, "seed": seed}
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        return root
    rng = np.random.default_rng(seed)
    for split, zip_name, member in _SPLITS:
        n = n_train if split == "train" else n_test
        folder = root / f"{split}2014"
        folder.mkdir(parents=True, exist_ok=True)
        records = []
        for k in range(n):
            image_id = 100_000 * (1 if split == "train" else 2) + k
            name = f"COCO_{split}2014_{image_id:012d}.jpg"
            w, h = _SIZES[k % len(_SIZES)]
            _photo(rng, w, h).save(folder / name, "JPEG", quality=90)
            records.append(
                {
                    "id": image_id,
                    "file_name": name,
                    "width": w,
                    "height": h,
                    "coco_url": f"{COCO_HOST}/{split}2014/{name}",
                    "license": 1,
                }
            )
        data = {"info": {"description": "colorlib rehearsal (generated)"}, "licenses": [], "images": records}
        if split == "train":
            data["annotations"] = [
                {"id": r["id"], "image_id": r["id"], "caption": "a generated picture"} for r in records
            ]
        (root / "annotations").mkdir(exist_ok=True)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"annotations/{member}", json.dumps(data))
        (root / "annotations" / zip_name).write_bytes(buffer.getvalue())
    stamp.write_text(json.dumps(want))
    return root


def write_resnet18_weights(torch_home: str | os.PathLike, seed: int = 0) -> Path:
    """A random torchvision ResNet-18 state dict at the path torchvision's weights API loads
    ``ResNet18_Weights.IMAGENET1K_V1`` from (``$TORCH_HOME/hub/checkpoints/<its file name>``)."""
    import torch
    from torchvision.models import ResNet18_Weights, resnet18

    path = Path(torch_home) / "hub" / "checkpoints" / ResNet18_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    if not path.is_file():
        torch.manual_seed(seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(resnet18(weights=None).state_dict(), path)
    return path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the rehearsal's own output stays readable
        pass


def serve(root: str | os.PathLike) -> ThreadingHTTPServer:
    """Serve ``root`` on 127.0.0.1 (a free port) from a daemon thread; ``.shutdown()`` stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        argv.append("--")
    cut = argv.index("--")
    p = argparse.ArgumentParser(
        prog="python -m tools.rehearsal",
        description=__doc__.split("\n\n")[0],
        usage="%(prog)s [--home DIR] [--train N] [--test N] -- COMMAND ...",
    )
    p.add_argument("--home", default="build/rehearsal", help="COLORLIB_HOME of the rehearsal (default build/rehearsal)")
    p.add_argument("--train", type=int, default=40, help="train2014 images the mirror holds (default 40)")
    p.add_argument("--test", type=int, default=12, help="test2014 images the mirror holds (default 12)")
    args, command = p.parse_args(argv[:cut]), argv[cut + 1 :]
    if not command:
        p.error("give the command to rehearse after --, e.g. -- make reproduce ALLOW_CPU=1")
    home = Path(args.home).resolve()
    mirror = build_coco_mirror(home / "coco-mirror", args.train, args.test)
    write_resnet18_weights(home / "torch")
    server = serve(mirror)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    env = {
        **os.environ,
        "COLORLIB_HOME": str(home),
        "TORCH_HOME": str(home / "torch"),
        "COLORLIB_COCO_ANNOTATIONS_URL": f"{url}/annotations",
        "COLORLIB_COCO_IMAGES_URL": url,
    }
    print(
        f"rehearsal: COCO mirror {url} ({args.train} train / {args.test} test images), "
        f"random 'ImageNet' ResNet-18 in {home / 'torch'}, outputs under {home}",
        flush=True,
    )
    try:
        return subprocess.call(command, env=env)
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
