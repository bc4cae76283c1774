"""Checkpoints: atomic writes, safe loads (``weights_only=True``), clear one-line errors.

A training checkpoint (``runs/<profile>/<generator>-seed<k>/checkpoint.pt``) is a dict of
tensors and plain Python values only:

    format      "colorlib-checkpoint-1"
    generator   "unet" | "resnet"
    config      Config.to_dict()
    G, D        state dicts;  opt_G, opt_D  optimizer state dicts
    epoch       epochs completed;  iteration  optimizer steps completed
    rng         {"torch": ByteTensor, "cuda": [the run's GPU's ByteTensor] or [], "numpy": {...},
                "python": [...]}; under DDP a list of these, one per process
    history     list of per-epoch dicts (the rows of history.csv)
    encoder_init  where the ResNet encoder's weights came from ("imagenet", a path, or "random: …")
    train_split   {"sha256": digest of the train images' identities, "ids": sorted identities}
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from colorlib.config import Config
from colorlib.models import build_generator
from colorlib.utils.errors import ColorlibError, first_sentence
from colorlib.utils.files import DamagedFileError, atomic_file, sha256_file, shown, verify_zip
from colorlib.utils.log import log
from colorlib.utils.runtime import Runtime, all_gather_objects, rng_state, seed_all, set_rng_state

__all__ = [
    "FORMAT",
    "EXPORT_FORMAT",
    "CheckpointError",
    "RunChangedError",
    "RunState",
    "atomic_save",
    "save_training",
    "resume_training",
    "run_changes",
    "load_checkpoint",
    "read_export",
    "export_info",
    "data_sha256",
    "check_finite",
    "generator_state",
    "load_generator",
]

FORMAT = "colorlib-checkpoint-1"


class CheckpointError(ColorlibError, RuntimeError):
    """A checkpoint file is missing, corrupt, or not what the caller needs."""


class RunChangedError(CheckpointError):
    """A resume asked for other settings or data than the run's weights were trained with."""


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` atomically (temp file, fsync, rename): a crash at any moment leaves either
    the old file or the new one, never a partial file."""
    with atomic_file(path) as f:
        torch.save(obj, f)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, map_location="cpu", mmap: bool = False) -> dict:
    """Load a colorlib checkpoint with ``weights_only=True``; one clear error if it cannot be used.

    ``mmap=True`` leaves the tensors on disk, mapped and read on first use (inference reads only
    G's pages, never D's or the optimizers')."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder; pass the checkpoint.pt file inside a run folder")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        verify_zip(path, "checkpoint")
    except DamagedFileError as err:
        raise CheckpointError(str(err)) from None
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as err:
        raise CheckpointError(
            f"{path}: not a readable checkpoint (corrupt, truncated, or not saved by colorlib): {first_sentence(err)}"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a colorlib checkpoint (expected format {FORMAT!r})")
    return ckpt


# ----------------------------------------------------------------------------- trained weights, for inference
EXPORT_FORMAT = "colorlib-generator-1"


def safetensors_api():
    try:
        import safetensors.torch
    except ImportError:
        raise CheckpointError("the 'safetensors' package is not installed (pip install safetensors)") from None
    return safetensors.torch


def read_export(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """(state dict, info) of an export: info holds "generator", "config" (dict), "encoder_init",
    "dtype", the checkpoint's plain entries, and "metrics"/"provenance" where present."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such exported file")
    safetensors_api()
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:  # noqa: BLE001 - safetensors raises its own error types
        raise CheckpointError(
            f"{path}: not a readable safetensors file ({type(err).__name__}: {' '.join(str(err).split())[:160]})"
        ) from None
    _verify_weights(path, meta)
    return state, export_info(meta, path)


def data_sha256(data) -> str:
    """sha256 of a serialized safetensors file's data section (after its 8-byte length and JSON header)."""
    view = memoryview(data)
    start = 8 + int.from_bytes(bytes(view[:8]), "little")
    return hashlib.sha256(view[start:]).hexdigest()


def _verify_weights(path: Path, meta: dict[str, str]) -> None:
    """Check the weights' bytes against the ``weights_sha256`` an export stores in its header
    (safetensors itself checks nothing): an overwritten byte is refused in one line naming the
    file. About 0.25 s per 218 MB (a U-Net export). Exports written before the digest existed
    are checked for finite weights only (:func:`check_finite`)."""
    want = meta.get("weights_sha256")
    if want is None:
        return
    with open(path, "rb") as f:
        start = 8 + int.from_bytes(f.read(8), "little")
    digest = sha256_file(path, start)
    if digest != want:
        raise CheckpointError(
            f"{path}: damaged export (its weights' sha256 {digest[:16]}… does not "
            f"match the {want[:16]}… recorded when it was exported); export it again or restore a copy"
        )


def export_info(meta: dict[str, str], path: Path) -> dict:
    """The info dict of an export's metadata (see :func:`read_export`)."""
    if meta.get("format") != EXPORT_FORMAT:
        raise CheckpointError(
            f"{path}: not a colorlib export (expected format {EXPORT_FORMAT!r}); "
            "write one with `python -m colorlib export`"
        )
    try:
        extra = json.loads(meta.get("checkpoint", "{}"))
        if not isinstance(extra, dict):
            raise CheckpointError(
                f"{path}: corrupt export metadata ('checkpoint' is a JSON "
                f"{type(extra).__name__}, not an object); export it again"
            )
        info = {
            **extra,
            "format": meta["format"],
            "generator": meta.get("generator"),
            "config": json.loads(meta.get("config", "null")),
            "encoder_init": meta.get("encoder_init", "n/a"),
            "dtype": meta.get("dtype", "float32"),
        }
        info.update({k: json.loads(meta[k]) for k in ("metrics", "provenance") if k in meta})
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: corrupt export metadata ({err})") from None
    for key, kind in (("config", dict), ("metrics", list), ("provenance", dict)):
        if key in info and info[key] is not None and not isinstance(info[key], kind):
            raise CheckpointError(
                f"{path}: corrupt export metadata ({key!r} is a JSON {type(info[key]).__name__}, "
                f"not {'an object' if kind is dict else 'a list'}); export it again"
            )
    return info


def check_finite(state: dict, path: str | os.PathLike) -> None:
    """Refuse, in one line naming ``path``, weights holding NaN or ±inf: a network computing with
    them predicts no colour at all (and evaluate would score it as if it had run)."""
    for name, value in state.items():
        if not (isinstance(value, torch.Tensor) and value.is_floating_point()):
            continue
        # a sum is finite only if every term is (one pass, no mask: ~0.05 s per 218 MB, 20× less
        # than isfinite); an infinite sum of finite weights (overflow) is checked element-wise
        if not bool(torch.isfinite(value.sum())) and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise CheckpointError(
                f"{path}: generator weight {name!r} holds {bad} non-finite value(s) (NaN or inf): "
                "the model is broken (diverged training or a damaged file); use another checkpoint"
            )


_TENSOR_KEYS = ("G", "D", "opt_G", "opt_D", "rng")  # a checkpoint's tensors: never in the info dict


def generator_state(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """(the generator's state dict, the file's other information) of a training checkpoint or of
    a ``.safetensors`` export (:mod:`colorlib.inference.export`), read for inference only.

    The info dict holds at least "generator", "config" and "encoder_init" (exports) and every
    non-tensor entry of a checkpoint (epoch, history, …). A checkpoint is memory-mapped: of its
    tensors only G's pages are ever read, never D's or the optimizers' (two thirds of the file).
    """
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        state, info = read_export(path)
        check_finite(state, path)
        return state, info
    ckpt = load_checkpoint(path, mmap=True)
    if not isinstance(ckpt.get("G"), dict):
        raise CheckpointError(
            f"{path}: holds no generator weights (no 'G' entry); is it a colorlib training checkpoint?"
        )
    check_finite(ckpt["G"], path)
    return ckpt["G"], {k: v for k, v in ckpt.items() if k not in _TENSOR_KEYS}


def _inference_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` as contiguous fp32 tensors, the one layout inference uses, so a checkpoint and
    its export compute bit for bit alike. Already so: returned as is (memory-mapped, read as
    used). Otherwise (a channels_last run's strided weights, an fp16 export) every tensor is
    copied, so that the file's mapping, and the pages the copy read, are released."""
    if all(v.is_contiguous() and v.dtype in (torch.float32, torch.int64) for v in state.values()):
        return state
    return {
        k: v.to(
            dtype=torch.float32 if v.is_floating_point() else v.dtype, memory_format=torch.contiguous_format, copy=True
        )
        for k, v in state.items()
    }


def load_generator(
    path: str | os.PathLike, expect: str | None = None, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """The trained generator of a checkpoint or ``.safetensors`` export, in eval mode on
    ``device``, and the file's information (:func:`generator_state`: "generator", "config",
    "encoder_init", …; no tensors).

    ``expect`` ("unet"/"resnet") makes a file of the other generator a clear error. The network is
    built on the meta device and takes the file's tensors as its own (``assign=True``): no second
    copy of the weights stays in memory (:func:`_inference_state`).
    """
    state, info = generator_state(path)
    name = info.get("generator")
    if expect is not None and name != expect:
        raise CheckpointError(f"{path}: holds a {name!r} generator, but a {expect!r} generator was asked for")
    try:
        with torch.device("meta"):
            model = build_generator(name, pretrained=False, init_std=None)
        model.load_state_dict(_inference_state(state), assign=True)
    except (KeyError, RuntimeError, ValueError) as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{path}: generator weights do not fit a {name!r} generator: {first}") from None
    return model.to(device).eval(), info


# ----------------------------------------------------------------------------- training state
@dataclass
class RunState:
    """Where a training run stands: epochs and optimizer steps completed, the per-epoch history
    rows, where the ResNet encoder's weights came from, which images it trains on
    (``train_split``: {"sha256": …, "ids": [...]}, see colorlib.data.split_ids; evaluate refuses
    to score a run on test images it trained on), and its segments: one per stretch of epochs
    trained with one set of settings (more than one only after ``continue_changed``)."""

    epoch: int = 0
    iteration: int = 0
    history: list[dict] = field(default_factory=list)
    encoder_init: str = "n/a"
    train_split: dict = field(default_factory=dict)
    segments: list[dict] = field(default_factory=list)


def run_changes(saved: Config, saved_split: dict, cfg: Config, split: dict) -> list[str]:
    """What identifies a run — the fields of ``Config.run_key`` (data, seed, the training
    settings) and the identity of the train images — as ``"name old → new"`` for each that
    differs between a saved run and ``cfg`` / ``split``; empty when they are the same run."""
    old, new = saved.run_key(), cfg.run_key()
    changes = [
        f"{k} {old.get(k)!r} → {new.get(k)!r}" for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)
    ]
    if saved_split.get("sha256") and split.get("sha256") and saved_split["sha256"] != split["sha256"]:
        changes.append(f"train images {saved_split['sha256'][:12]} → {split['sha256'][:12]} (another data split)")
    return changes


def save_training(path: str | os.PathLike, step, run: RunState, cfg: Config, rt: Runtime) -> None:
    """Save everything a run needs to continue exactly: ``step.state_dict()`` (G, D, both
    optimizers), every process's RNG state, ``run`` and the Config. Collective under DDP (every
    process calls it); rank 0 writes. The inverse of :func:`resume_training`."""
    states = all_gather_objects(rng_state(rt.device), rt)
    if not rt.main:
        return
    atomic_save(
        {
            "format": FORMAT,
            "generator": cfg.generator,
            "config": cfg.to_dict(),
            **step.state_dict(),
            "epoch": run.epoch,
            "iteration": run.iteration,
            "rng": states if rt.distributed else states[0],
            "history": run.history,
            "encoder_init": run.encoder_init,
            "train_split": run.train_split,
            "segments": run.segments,
        },
        path,
    )


def resume_training(
    path: str | os.PathLike,
    step,
    cfg: Config,
    rt: Runtime,
    split: dict,
    continue_changed: bool = False,
    say: Callable[..., None] = log,
) -> RunState:
    """Restore a :func:`save_training` checkpoint into ``step`` and this process's RNGs; return
    the run's state. Loaded onto the CPU: ``step.load_state_dict`` places weights and Adam
    moments on the run's device, and RNG states must be CPU tensors wherever the run is.

    The run must be the same run: :func:`run_changes` between the checkpoint and ``cfg`` /
    ``split`` (the train images now) is refused with :class:`RunChangedError`, unless
    ``continue_changed``, which starts a new segment; fewer epochs than already done is refused."""
    ck = load_checkpoint(path, map_location="cpu")
    if ck["generator"] != cfg.generator:
        raise CheckpointError(f"{path}: holds a {ck['generator']!r} run, not {cfg.generator!r}")
    saved = Config.from_dict(ck["config"], source=f"{path} (its config)")
    changes = run_changes(saved, ck.get("train_split", {}), cfg, split)
    run_dir = shown(Path(path).parent)
    if changes and not continue_changed:
        raise RunChangedError(
            f"{run_dir} was trained with other settings or data ({'; '.join(changes)}); "
            f"start a new run elsewhere (--set run_root=DIR), delete {run_dir}, or continue "
            f"it with the new settings on purpose (--continue-changed: recorded in segments.json)"
        )
    total = cfg.l1_pretrain_epochs + cfg.epochs
    if total < ck["epoch"]:
        raise RunChangedError(
            f"{run_dir} has trained {ck['epoch']} epochs already; epochs={cfg.epochs} "
            f"(+ l1_pretrain_epochs={cfg.l1_pretrain_epochs}) is fewer, and a run is never shortened: "
            f"ask for at least {ck['epoch']}"
        )
    step.load_state_dict(ck)
    segments = list(ck.get("segments") or [{"from_epoch": 0, "config": ck["config"]}])
    if changes:
        say(
            f"continuing {run_dir} with changed settings ({'; '.join(changes)}) from epoch {ck['epoch']}: "
            f"recorded in segments.json",
            problem=True,
        )
        segments.append({"from_epoch": ck["epoch"], "config": cfg.to_dict(), "changes": changes})
    states = ck["rng"] if isinstance(ck["rng"], list) else [ck["rng"]]
    if len(states) == rt.world:
        set_rng_state(states[rt.rank], rt.device)
    else:
        seed_all(cfg.seed + 1000 * ck["epoch"] + rt.rank)
        say(f"note: resumed on {rt.world} processes, checkpoint has {len(states)}: dropout RNG reseeded")
    say(f"resumed {shown(path)} at epoch {ck['epoch']}")
    return RunState(
        ck["epoch"],
        ck.get("iteration", 0),
        list(ck["history"]),
        ck.get("encoder_init", "n/a"),
        ck.get("train_split") or split,
        segments,
    )
