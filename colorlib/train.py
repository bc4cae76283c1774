"""Training: the conditional-GAN loop of §5.2, with exact resume and a GPU fast path.

    data = colorlib.data.training_data(cfg)      # the train set, read once (colorlib.data.batches)
    run_dir = train(cfg, data)                   # → runs/<profile>/<generator>-seed<k>/
    train(cfg, data, resume=True)                # continue a killed run, bit for bit

(``python -m colorlib train`` does the same; ``torchrun --nproc_per_node=8 -m colorlib train`` runs
DDP, one GPU per process.) Each iteration is :class:`colorlib.step.GanStep` (inputs → D step → G
step, two Adams with lr 2e-4, betas (0.5, 0.999)). One epoch visits every train image once in a
seeded order (``N // batch_size`` iterations; 8,000 / 16 = 500, ×300 = 150,000 as in §5.2).
``batch_size`` is the global batch: under DDP each of W processes takes ``batch_size / W``
images (BatchNorm statistics are then per process; at batch 16 parallel seeds beat DDP: the warning).

A run is what determines its weights: generator, seed, the data and its split, the training
settings (:func:`colorlib.checkpoint.run_changes`). Resuming with any of them changed is refused
in one line naming the differences; ``continue_changed=True`` continues anyway and records each
segment in ``segments.json``. Outputs in ``cfg.run_dir``: ``checkpoint.pt`` (atomic),
``history.csv`` (one row per epoch: the data of Figs. 8/9), ``iterations.csv`` (rank 0's losses
per GAN iteration, 1-based), ``config.json`` (the settings of the
weights), ``samples/epoch_*.png`` (held-out images as training goes).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from colorlib.checkpoint import RunState, resume_training, save_training
from colorlib.config import Config
from colorlib.lab import lab_from_uint8, uint8_from_lab
from colorlib.losses import LOSS_COLUMNS
from colorlib.models import PatchDiscriminator, PretrainedWeightsError, build_generator, init_weights
from colorlib.step import GanStep
from colorlib.utils.errors import ColorlibError, ConfigError, RunExistsError
from colorlib.utils.files import append_rows, atomic_write
from colorlib.utils.log import Progress, log
from colorlib.utils.runlock import run_lock
from colorlib.utils.runtime import Runtime, check_replicas, ddp_warning, run_switches, seed_all, setup_runtime

__all__ = [
    "train",
    "TrainingDiverged",
    "build_models",
    "HISTORY_COLUMNS",
    "write_history",
    "SAMPLE_IMAGES",
    "sample_path",
    "save_samples",
    "Watch",
]

# epoch (1-based), phase ("l1" pretraining or "gan"), the losses, and the epoch's speed.
HISTORY_COLUMNS = ("epoch", "phase", *LOSS_COLUMNS, "seconds", "images_per_s")


class TrainingDiverged(ColorlibError, RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left untouched."""


def build_models(cfg: Config, say=log) -> tuple[nn.Module, nn.Module, str]:
    """G and D initialized as §5.2 says, and where the ResNet encoder's weights came from."""
    encoder_init = "n/a"
    if cfg.generator == "resnet":
        try:
            G = build_generator("resnet", pretrained=cfg.pretrained, init_std=cfg.init_std)
            encoder_init = (
                "random (pretrained=none)" if cfg.pretrained in ("none", "") else f"ImageNet ({cfg.pretrained})"
            )
        except PretrainedWeightsError as err:
            if cfg.require_pretrained:
                raise PretrainedWeightsError(f"profile {cfg.profile!r} requires the ImageNet encoder: {err}") from None
            say(f"WARNING: the ResNet encoder starts from RANDOM weights, not ImageNet: {err}", problem=True)
            G = init_weights(build_generator("resnet", pretrained=False, init_std=None), cfg.init_std)
            encoder_init = "random (ImageNet weights unavailable)"
    else:
        G = build_generator(cfg.generator, init_std=cfg.init_std)
        if cfg.generator == "resnet-random":
            encoder_init = "random (the resnet-random ablation: pretrained=none)"
    return G, init_weights(PatchDiscriminator(), cfg.init_std), encoder_init


def train(
    cfg: Config, data, *, resume: bool = False, continue_changed: bool = False, progress: bool | None = None
) -> Path:
    """Train ``cfg.generator`` against a PatchGAN on ``data`` (:class:`colorlib.data.TrainingData`);
    returns the run directory.

    ``resume=True`` continues from ``cfg.run_dir/checkpoint.pt`` if it exists: weights, both
    optimizers, every RNG state and the history, so the result is bit-identical (on the CPU) to
    an uninterrupted run; a run whose settings or data differ is refused unless
    ``continue_changed``. Without ``resume`` an existing checkpoint is an error, not overwritten.
    """
    rt = setup_runtime(cfg.resolve_device())
    say = log if rt.main else (lambda line, **_: None)
    with run_lock(cfg.run_dir, enabled=rt.main), run_switches(rt.device, cfg.deterministic):
        ckpt = cfg.run_dir / "checkpoint.pt"
        _check_start(cfg, rt, ckpt, resume)
        steps = _iterations_per_epoch(len(data), cfg, rt)
        data = data.to(cfg, rt.device)
        step, run = _start_or_resume(cfg, rt, data, ckpt if resume and ckpt.exists() else None, continue_changed, say)
        _write_run_files(cfg, rt, run)
        total = cfg.l1_pretrain_epochs + cfg.epochs
        watch = Watch(cfg, data.held_out, rt.device, total) if rt.main else None
        say(
            f"training {cfg.generator} on {len(data)} images ({steps} iterations/epoch, batch {cfg.batch_size}, "
            f"{rt.world} process(es), {rt.device}, amp={'bf16' if step.amp else 'off'}, encoder: {run.encoder_init})"
        )
        bn = lambda m: sum(isinstance(x, torch.nn.modules.batchnorm._BatchNorm) for x in m.modules())  # noqa: E731
        warning = rt.distributed and ddp_warning(cfg.batch_size, rt.world, cfg.sync_bn, bn(step.G) + 3 * bn(step.D))
        if warning:
            say(warning, problem=True)

        for epoch in range(run.epoch, total):
            gan = epoch >= cfg.l1_pretrain_epochs  # the optional L1-only phase comes first
            row = _run_epoch(step, data, cfg, rt, epoch, steps, gan, progress)
            _check_finite(row, run, ckpt)
            run.history.append(row)
            run.epoch, run.iteration = epoch + 1, run.iteration + steps
            say(
                f"epoch {epoch + 1}/{total} [{row['phase']}] D {row['d_loss']:.4f} (real {row['d_real']:.4f}, "
                f"fake {row['d_fake']:.4f})  G bce {row['g_bce']:.4f}  L1 {row['g_l1']:.4f}  "
                f"| {row['seconds']:.1f} s, {row['images_per_s']:.1f} img/s"
            )
            # The epoch's files first, then the checkpoint that commits it: a run killed between
            # the two redoes the epoch on resume (its rows replaced), never skips its files.
            per_step = step.take_iterations()  # on every process, so none keeps them
            if rt.main:
                write_history(cfg.run_dir / "history.csv", run.history)
                append_rows(
                    cfg.run_dir / "iterations.csv", ("iteration", *LOSS_COLUMNS), run.iteration - steps + 1, per_step
                )
                watch.after_epoch(step.G, row, run.iteration)
            if run.epoch % cfg.checkpoint_every == 0 or run.epoch == total:
                save_training(ckpt, step, run, cfg, rt)

        if watch is not None:
            watch.close()
        if rt.distributed:
            check_replicas([step.G, step.D], rt, say)
            torch.distributed.destroy_process_group()
    return cfg.run_dir


# ----------------------------------------------------------------------------- the loop's parts
def _check_start(cfg: Config, rt: Runtime, ckpt: Path, resume: bool) -> None:
    if ckpt.exists() and not resume:
        raise RunExistsError(
            f"{ckpt}: a run already exists; pass --resume to continue it or delete {cfg.run_dir} to start over"
        )
    if cfg.epochs + cfg.l1_pretrain_epochs == 0:
        raise ConfigError("epochs=0 and l1_pretrain_epochs=0: nothing to train")
    cfg.check_image_size(cfg.generator)
    if rt.world > 1 and cfg.batch_size % rt.world:
        raise ConfigError(f"batch_size={cfg.batch_size} must be divisible by the {rt.world} processes")
    if cfg.sync_bn and rt.distributed and rt.device.type != "cuda":
        raise ConfigError("sync_bn=true needs CUDA (SyncBatchNorm has no CPU implementation); drop it on the CPU")


def _iterations_per_epoch(n: int, cfg: Config, rt: Runtime) -> int:
    steps = (n // rt.world) // (cfg.batch_size // rt.world)  # = N // batch_size on one process
    if steps == 0:
        raise ConfigError(f"{cfg.data_dir}: {n} train images is fewer than batch_size={cfg.batch_size}")
    return steps


def _start_or_resume(
    cfg: Config, rt: Runtime, data, ckpt: Path | None, continue_changed: bool, say
) -> tuple[GanStep, RunState]:
    """Fresh networks initialized as §5.2 says, or a checkpoint's (then no ImageNet file is
    fetched: every weight comes from the checkpoint)."""
    seed_all(cfg.seed)  # identical initial weights on every process
    G, D, encoder_init = build_models(cfg.replace(pretrained="none", require_pretrained=False) if ckpt else cfg, say)
    step = GanStep(G, D, cfg, rt)
    if ckpt is not None:
        return step, resume_training(ckpt, step, cfg, rt, data.split, continue_changed, say)
    seed_all(cfg.seed + rt.rank)  # per-process seeds: different dropout noise per rank
    return step, RunState(
        encoder_init=encoder_init, train_split=data.split, segments=[{"from_epoch": 0, "config": cfg.to_dict()}]
    )


def _write_run_files(cfg: Config, rt: Runtime, run: RunState) -> None:
    if not rt.main:
        return
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    for stale in cfg.run_dir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)  # left by a process killed mid-write
    atomic_write(cfg.run_dir / "config.json", cfg.to_json() + "\n")
    if len(run.segments) > 1:  # continued with changed settings: what trained which epochs
        atomic_write(cfg.run_dir / "segments.json", json.dumps(run.segments, indent=2) + "\n")
    write_history(cfg.run_dir / "history.csv", run.history)


def _run_epoch(
    step: GanStep, data, cfg: Config, rt: Runtime, epoch: int, steps: int, gan: bool, progress: bool | None
) -> dict:
    """One pass over the train set; the history row of its mean losses and speed."""
    step.train()
    with Progress(
        steps, rt.main and progress, desc=f"epoch {epoch + 1}/{cfg.l1_pretrain_epochs + cfg.epochs}", leave=False
    ) as bar:
        t0 = time.perf_counter()
        for batch in data.batches(cfg, rt, epoch):
            step(batch, gan=gan)
            bar.advance()
        means = step.take_means(steps, gan)
        seconds = time.perf_counter() - t0
    return {
        "epoch": epoch + 1,
        "phase": "gan" if gan else "l1",
        **dict.fromkeys(LOSS_COLUMNS, math.nan),
        **means,
        "seconds": round(seconds, 3),
        "images_per_s": round(steps * cfg.batch_size / seconds, 2),
    }


def _check_finite(row: dict, run: RunState, ckpt: Path) -> None:
    if all(math.isfinite(row[k]) for k in LOSS_COLUMNS if row["phase"] == "gan" or k in ("g_l1", "g_loss")):
        return
    last = f"{ckpt} (epoch {run.history[-1]['epoch']})" if run.history and ckpt.exists() else "none yet"
    raise TrainingDiverged(
        f"epoch {row['epoch']}: non-finite loss "
        f"({', '.join(f'{k}={row[k]}' for k in LOSS_COLUMNS)}); "
        f"last good checkpoint: {last}, left intact"
    )


def write_history(path: str | Path, rows: list[dict]) -> None:
    """Write ``rows`` (dicts keyed by HISTORY_COLUMNS) to ``path`` as CSV, atomically."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, text.getvalue())


# ----------------------------------------------------------------------------- watching it train
# Every ``cfg.sample_every`` epochs and at the end, the first SAMPLE_IMAGES test images (always the
# same, never trained on) are colorized by the current G in eval mode and saved side by side as
# ``<run_dir>/samples/epoch_XXXX.png``; colorlib.evaluation.plots stacks these rows into "colour
# emerging over training". With the optional ``tensorboard`` package the losses and grids also go
# to ``<run_dir>/tensorboard/`` (``make tensorboard``).
SAMPLE_IMAGES = 6  # held-out images per grid


def sample_path(run_dir: Path, epoch: int) -> Path:
    """Where the grid of ``epoch`` (1-based) goes."""
    return Path(run_dir) / "samples" / f"epoch_{epoch:04d}.png"


@torch.no_grad()
def save_samples(G: nn.Module, L: torch.Tensor, path: Path) -> np.ndarray:
    """Colorize the held-out images' normalized L (N×1×S×S, on G's device) with ``G`` in eval
    mode (restoring its mode) and write them side by side to ``path`` as PNG; returns the grid
    (uint8 S×(N·S)×3)."""
    from PIL import Image

    was_training = G.training
    G.eval()
    try:
        rgb = uint8_from_lab(L, G(L).float()).cpu().numpy()
    finally:
        G.train(was_training)
    grid = np.concatenate(list(rgb), axis=1)
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    atomic_write(path, buffer.getvalue())
    return grid


class Watch:
    """After each epoch (rank 0 only): the losses to TensorBoard, if its package is installed,
    and every ``cfg.sample_every`` epochs and at the last one a sample grid (file and TensorBoard)."""

    def __init__(self, cfg: Config, images: np.ndarray | None, device: torch.device, total_epochs: int):
        self.run_dir, self.total, self.every = cfg.run_dir, total_epochs, cfg.sample_every
        images = images if self.every else None
        # converted once per run, not per grid
        self.L = None if images is None else lab_from_uint8(torch.from_numpy(images).to(device))[0]
        self.writer = None
        if importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(Path(self.run_dir) / "tensorboard"))

    def after_epoch(self, G: nn.Module, row: dict, iteration: int) -> None:
        epoch = row["epoch"]
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("epoch", "phase") and np.isfinite(value):
                    self.writer.add_scalar(f"{'loss' if key[:2] in ('d_', 'g_') else 'speed'}/{key}", value, iteration)
        if self.L is not None and (epoch % self.every == 0 or epoch == self.total):
            grid = save_samples(G, self.L, sample_path(self.run_dir, epoch))
            if self.writer is not None:
                self.writer.add_image("held-out samples", grid, iteration, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
