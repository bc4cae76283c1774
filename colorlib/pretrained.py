"""ImageNet weights for the ResNet-18 encoder of ``ResNetUNetGenerator`` (Appendix A.2).

torchvision's ``ResNet18_Weights.IMAGENET1K_V1``, fetched through ``torch.hub`` (hash-checked,
cached in ``$TORCH_HOME/hub/checkpoints``) or read from a local file. ``COLORLIB_RESNET18_URL``
points at a mirror; the file name must keep torchvision's hash prefix. Never falls back to
random weights: a failure is a :class:`PretrainedWeightsError` that says how to provide the file.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import torch
from torch import Tensor
from torchvision.models import ResNet18_Weights

from .config import shown
from .errors import ColorlibError

__all__ = ["PretrainedWeightsError", "load_resnet18_imagenet"]


class PretrainedWeightsError(ColorlibError, RuntimeError):
    """The ImageNet weights for the ResNet-18 encoder could not be had."""


def _resnet18_url() -> str:
    # COLORLIB_RESNET18_URL points at a mirror (file name must keep torchvision's hash prefix).
    return os.environ.get("COLORLIB_RESNET18_URL", ResNet18_Weights.IMAGENET1K_V1.url)


def load_resnet18_imagenet(source: str | os.PathLike = "imagenet") -> dict[str, Tensor]:
    """The ImageNet-1k ResNet-18 state dict (torchvision's IMAGENET1K_V1), without ``fc``.

    ``source="imagenet"`` uses torchvision's weights API: the file in ``$TORCH_HOME/hub/
    checkpoints`` if present, else a download (hash-checked). A path loads that file instead.
    Failure raises :class:`PretrainedWeightsError` saying how to provide the file; it never
    falls back to random weights.
    """
    url = _resnet18_url()
    fname = url.rsplit("/", 1)[-1]
    cache = Path(torch.hub.get_dir()) / "checkpoints" / fname
    how = (f"download {ResNet18_Weights.IMAGENET1K_V1.url} on a machine with internet and put it at "
           f"{shown(cache)} (or pass its path as pretrained=...)")
    if str(source) == "imagenet":
        quiet = not sys.stderr.isatty()  # a notebook or log: our one line, not torch.hub's "Downloading: …"
        try:
            with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
                state = torch.hub.load_state_dict_from_url(url, progress=not quiet, check_hash=True,
                                                           map_location="cpu", weights_only=True)
        except Exception as err:  # network errors, hash mismatch, corrupt file
            reason = str(getattr(err, "reason", "") or err).strip().splitlines()[0] or type(err).__name__
            raise PretrainedWeightsError(f"ImageNet weights for ResNet-18 unavailable ({reason}); {how}") from None
    else:
        path = Path(source)
        if not path.is_file():
            raise PretrainedWeightsError(f"{path}: no such weights file; {how}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise PretrainedWeightsError(f"{path}: not a readable PyTorch weights file ({err}); {how}") from None
    if not isinstance(state, dict):
        raise PretrainedWeightsError(f"{source}: expected a ResNet-18 state dict, got {type(state).__name__}")
    return {k: v for k, v in state.items() if not k.startswith("fc.")}
