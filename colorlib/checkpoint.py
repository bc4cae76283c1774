"""Checkpoints: atomic writes, safe loads (``weights_only=True``), clear one-line errors.

A training checkpoint (``runs/<profile>/<generator>-seed<k>/checkpoint.pt``) is a dict of
tensors and plain Python values only:

    format      "colorlib-checkpoint-1"
    generator   "unet" | "resnet"
    config      Config.to_dict()
    G, D        state dicts;  opt_G, opt_D  optimizer state dicts
    epoch       epochs completed;  iteration  optimizer steps completed
    rng         {"torch": ByteTensor, "cuda": [ByteTensor...], "numpy": {...}, "python": [...]}
    history     list of per-epoch dicts (the rows of history.csv)
    encoder_init  where the ResNet encoder's weights came from ("imagenet", a path, or "random: …")
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .errors import ColorlibError
from .files import atomic_file

__all__ = ["FORMAT", "CheckpointError", "atomic_save", "load_checkpoint", "load_generator"]

FORMAT = "colorlib-checkpoint-1"


class CheckpointError(ColorlibError, RuntimeError):
    """A checkpoint file is missing, corrupt, or not what the caller needs."""


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` atomically (temp file, fsync, rename): a crash at any moment leaves either
    the old file or the new one, never a partial file."""
    with atomic_file(path) as f:
        torch.save(obj, f)
    return Path(path)


def _first_sentence(err: Exception) -> str:
    """torch's load errors run to several paragraphs; keep their first sentence, one line."""
    text = " ".join(str(err).split())
    cut = text.find(". ")
    text = text[: cut + 1] if 0 < cut < 200 else text[:200]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__  # e.g. "KeyError: '105'"


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Load a colorlib checkpoint with ``weights_only=True``; one clear error if it cannot be used."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder; pass the checkpoint.pt file inside a run folder")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt, truncated, or not saved "
                              f"by colorlib): {_first_sentence(err)}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a colorlib checkpoint (expected format {FORMAT!r})")
    return ckpt


def load_generator(path: str | os.PathLike, expect: str | None = None,
                   device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """The trained generator of a checkpoint, in eval mode on ``device``, and the checkpoint dict.

    ``expect`` ("unet"/"resnet") makes a checkpoint of the other generator a clear error.
    """
    from .models import build_generator

    ckpt = load_checkpoint(path)
    name = ckpt.get("generator")
    if expect is not None and name != expect:
        raise CheckpointError(f"{path}: holds a {name!r} generator, but a {expect!r} generator was asked for")
    try:
        model = build_generator(name, pretrained=False, init_std=None)
        model.load_state_dict(ckpt["G"])
    except (KeyError, RuntimeError, ValueError) as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{path}: generator weights do not fit a {name!r} generator: {first}") from None
    return model.to(device).eval(), ckpt
