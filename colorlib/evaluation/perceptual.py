"""FID (Heusel et al. 2017) and LPIPS (Zhang et al. 2018): metrics computed by pretrained
feature networks, the way the colorization literature reports them.

FID goes through pytorch-fid (the TF-Inception weights of published FIDs) and LPIPS through the
``lpips`` package (AlexNet, v0.1). Both are optional extras (``colorlib[fid]``, ``colorlib[lpips]``)
and need pretrained weights; they run only when those are already on disk (``fid_unavailable`` /
``lpips_unavailable`` say which file is missing and where it goes) — nothing here ever
downloads. ``fid_source`` / ``lpips_source`` say which implementation and weights produced the
numbers. Images are uint8 N×H×W×3 RGB arrays, as in :mod:`colorlib.evaluation.metrics`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
from pathlib import Path

import numpy as np
import torch

from colorlib.utils.files import sha256_file, shown

__all__ = [
    "FID_WEIGHTS_URL",
    "FID_WEIGHTS",
    "ALEXNET_URL",
    "ALEXNET_WEIGHTS",
    "inception_weights_path",
    "fid_unavailable",
    "fid_source",
    "inception_net",
    "inception_features",
    "fid_from_features",
    "fid",
    "lpips_unavailable",
    "lpips_source",
    "lpips_net",
    "lpips_distance",
]

# FID goes through pytorch-fid (mseitzer/pytorch-fid), not torchmetrics + torch-fidelity: it is the
# PyTorch port of the TF FID code that published FIDs come from, its Inception is the TF graph's
# weights (pt_inception-2015-12-05-6726825d.pth, the file the literature names), it takes images
# in memory through two public functions (InceptionV3, calculate_frechet_distance), and it
# depends only on torch/torchvision/numpy/scipy/pillow. torchmetrics would add torchmetrics and
# lightning-utilities and fetch torch-fidelity's copy of the same graph under another file name.
FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth"
)  # = pytorch_fid.inception.FID_WEIGHTS_URL
FID_WEIGHTS = FID_WEIGHTS_URL.rsplit("/", 1)[-1]
ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"  # = AlexNet_Weights.IMAGENET1K_V1.url
ALEXNET_WEIGHTS = ALEXNET_URL.rsplit("/", 1)[-1]


def _hub_file(name: str) -> Path:
    """Where torch.hub's ``load_state_dict_from_url`` keeps (and first looks for) ``name``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def inception_weights_path() -> Path:
    """Where pytorch-fid looks for the FID Inception weights (torch.hub's cache; $TORCH_HOME moves it)."""
    return _hub_file(FID_WEIGHTS)


def _package_problem(module: str, extra: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return f"the '{module}' package is not installed (pip install 'colorlib[{extra}]')"
    return None


def _file_problem(path: Path, what: str, url: str) -> str | None:
    """None if ``path`` holds a plain state dict; else one line: which file, and where to put it.
    The packages read these files with ``weights_only=False``: checking them here with
    ``weights_only=True`` means no code in a pickle ever runs."""
    if not path.is_file():
        return f"{what} {path.name} missing: download {url} to {shown(path)}; not downloaded automatically"
    try:
        torch.load(path, map_location="meta", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file: one line, the metric skipped
        return f"{what} {shown(path)} is not a plain state dict ({type(err).__name__}): replace it with {url}"
    return None


def fid_unavailable() -> str | None:
    """None if FID can be computed offline, else the reason it cannot (one line)."""
    return _package_problem("pytorch_fid", "fid") or _file_problem(
        inception_weights_path(), "FID Inception weights", FID_WEIGHTS_URL
    )


def _weights_note(path: Path, published: str) -> str:
    """``name`` (sha256 …) and whether it is the published file (its name carries its hash prefix)."""
    if not path.is_file():
        return f"{path.name} (not on disk)"
    sha = sha256_file(path)
    same = sha.startswith(path.stem.rsplit("-", 1)[-1])
    return f"{path.name} (sha256 {sha[:12]}…: {published if same else 'NOT the published file: not comparable'})"


def fid_source() -> str:
    """Which FID implementation and weights produce ``fid``: one line for metrics.md."""
    version = (
        importlib.metadata.version("pytorch-fid") if importlib.util.find_spec("pytorch_fid") else "(not installed)"
    )
    return (
        f"pytorch-fid {version} InceptionV3, 2048-d pool3 features of RGB resized to 299² (bilinear), weights "
        f"{_weights_note(inception_weights_path(), 'the TF-Inception weights of published FIDs')}; Fréchet "
        "distance in closed form (equal to pytorch_fid.calculate_frechet_distance). Biased upward for "
        "N ≪ 2048 images: compare models on the same test set only"
    )


def inception_net(device: str = "cpu", dims: int = 2048) -> torch.nn.Module:
    """pytorch-fid's ``InceptionV3`` (the FID network) returning the ``dims``-d features (2048:
    pool3, the standard), in eval mode on ``device``; build it only if ``fid_unavailable()`` is None."""
    from pytorch_fid.inception import InceptionV3

    return InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[dims]]).to(device).eval()


@torch.no_grad()
def inception_features(rgb: np.ndarray, net: torch.nn.Module, device: str = "cpu", batch_size: int = 16) -> np.ndarray:
    """FID features (N×dims, float64) of uint8 RGB N×H×W×3, as ``pytorch_fid.fid_score.get_activations``
    computes them: RGB/255 into the network (which resizes to 299² and scales to [−1, 1] itself),
    spatially averaged when the block is not pool3."""
    out = []
    for i in range(0, len(rgb), batch_size):
        x = torch.as_tensor(np.array(rgb[i : i + batch_size]), device=device)  # a writable copy
        feats = net(x.permute(0, 3, 1, 2).float().div(255.0))[0]
        if feats.shape[2:] != (1, 1):
            feats = torch.nn.functional.adaptive_avg_pool2d(feats, (1, 1))
        out.append(feats.flatten(1).cpu().double())
    return torch.cat(out).numpy()


def fid_from_features(f1: np.ndarray, f2: np.ndarray) -> float:
    """The Fréchet distance between the Gaussians fitted to two feature sets (N1×D, N2×D).

    Exact and cheap for any N: with Σk = AkAkᵀ (Ak the centred features / √(Nk − 1), D×Nk),
    Σ1Σ2 has the nonzero eigenvalues of (A1ᵀA2)(A1ᵀA2)ᵀ, so Tr((Σ1Σ2)^½) is the nuclear norm
    of A1ᵀA2 — no D×D matrix square root, no singular-matrix trouble when N < D. Where its
    square root is well defined, ``pytorch_fid.fid_score.calculate_frechet_distance`` gives the
    same number (tests/evaluation/test_fid_lpips.py); for N < D it can fail or add ε to the diagonals.
    """
    f1, f2 = np.asarray(f1, dtype=np.float64), np.asarray(f2, dtype=np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1] or min(len(f1), len(f2)) < 2:
        raise ValueError(f"FID needs two N×D feature sets with N ≥ 2, got {f1.shape} and {f2.shape}")
    a1 = (f1 - f1.mean(0)) / math.sqrt(len(f1) - 1)
    a2 = (f2 - f2.mean(0)) / math.sqrt(len(f2) - 1)
    cross = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()
    mean_term = float(((f1.mean(0) - f2.mean(0)) ** 2).sum())
    return float(mean_term + (a1**2).sum() + (a2**2).sum() - 2.0 * cross)


def fid(
    real: np.ndarray, fake: np.ndarray, device: str = "cpu", net: torch.nn.Module | None = None, dims: int = 2048
) -> float:
    """FID between two uint8 RGB sets (N×H×W×3) with pytorch-fid's Inception (``fid_source()``).

    Strongly biased upward for small sets (N ≪ 2048): compare models only on the same test set.
    """
    if len(real) < 2 or len(fake) < 2:
        raise ValueError(f"FID needs at least 2 images per set, got {len(real)} and {len(fake)}")
    net = net if net is not None else inception_net(device, dims)
    return fid_from_features(inception_features(real, net, device), inception_features(fake, net, device))


def lpips_unavailable() -> str | None:
    """None if LPIPS (AlexNet, v0.1) can run offline, else why not (one line): the ``lpips``
    package (it ships its linear layers, ``lpips/weights/v0.1/alex.pth``) and torchvision's
    AlexNet weights in torch.hub's cache, which ``lpips.LPIPS(net="alex")`` would otherwise download."""
    problem = _package_problem("lpips", "lpips")
    lin = (
        Path(importlib.util.find_spec("lpips").origin).parent / "weights" / "v0.1" / "alex.pth" if not problem else None
    )
    if lin is not None and not lin.is_file():
        problem = f"LPIPS linear weights {lin} missing: reinstall the 'lpips' package"
    return problem or _file_problem(_hub_file(ALEXNET_WEIGHTS), "AlexNet weights (for LPIPS)", ALEXNET_URL)


def lpips_source() -> str:
    """Which LPIPS implementation and weights produce ``lpips``: one line for metrics.md."""
    version = importlib.metadata.version("lpips") if importlib.util.find_spec("lpips") else "(not installed)"
    return (
        f"lpips {version}, LPIPS(net='alex', version='0.1') on RGB scaled to [−1, 1]: its linear layers "
        f"weights/v0.1/alex.pth and torchvision's AlexNet "
        f"{_weights_note(_hub_file(ALEXNET_WEIGHTS), 'the published ImageNet weights')}"
    )


def lpips_net(device: str = "cpu") -> torch.nn.Module:
    """LPIPS (AlexNet, v0.1) network; build it only if ``lpips_unavailable()`` is None."""
    import warnings

    import lpips  # optional dependency, checked by lpips_unavailable()

    with warnings.catch_warnings():  # lpips asks torchvision for alexnet(pretrained=True): deprecated, same file
        warnings.simplefilter("ignore", UserWarning)
        return lpips.LPIPS(net="alex", version="0.1", verbose=False).to(device).eval()


@torch.no_grad()
def lpips_distance(pred: np.ndarray, true: np.ndarray, net: torch.nn.Module, device: str = "cpu") -> np.ndarray:
    """LPIPS per image between uint8 RGB sets N×H×W×3 (inputs scaled to [−1, 1] as ``lpips.im2tensor``)."""
    p, t = (
        torch.as_tensor(np.ascontiguousarray(x), device=device).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        for x in (pred, true)
    )
    return net(p, t).flatten().double().cpu().numpy()
