"""Training: the conditional-GAN loop of §5.2, with exact resume and a GPU fast path.

    python -m colorlib train --profile demo --set generator=unet        # CPU demo
    python -m colorlib train --profile paper --set generator=resnet     # one GPU
    torchrun --nproc_per_node=8 -m colorlib train --profile paper       # DDP, one GPU per process
    python -m colorlib train --profile paper --resume                   # continue a killed run

Each iteration is :class:`colorlib.step.GanStep` (inputs → D step → G step, two Adams with lr
2e-4, betas (0.5, 0.999)). One epoch visits every train image once in a seeded order
(``N // batch_size`` iterations; 8,000 / 16 = 500, ×300 = 150,000 as in §5.2). ``batch_size``
is the global batch: under DDP each of W processes takes ``batch_size / W`` images (BatchNorm
statistics are then per process).

Outputs in ``cfg.run_dir``: ``checkpoint.pt`` (atomic; see checkpoint.py), ``history.csv`` (one
row per epoch: the data of Figs. 8/9) and ``config.json``.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DistributedSampler

from .checkpoint import RunState, resume_training, save_training
from .config import Config, add_config_args, config_from_args, verb_parser
from .errors import ColorlibError, ConfigError, RunExistsError
from .files import atomic_write
from .history import LOSS_COLUMNS, write_history
from .models import PatchDiscriminator, build_generator, init_weights
from .names import GENERATORS
from .pretrained import PretrainedWeightsError
from .runlock import run_lock
from .runtime import Runtime, check_replicas, seed_all, setup_runtime
from .samples import Watch
from .step import GanStep, flag

__all__ = ["train", "TrainingDiverged", "build_models"]


class TrainingDiverged(ColorlibError, RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left untouched."""


def build_models(cfg: Config, log=print) -> tuple[nn.Module, nn.Module, str]:
    """G and D initialized as §5.2 says, and where the ResNet encoder's weights came from."""
    encoder_init = "n/a"
    if cfg.generator == "resnet":
        try:
            G = build_generator("resnet", pretrained=cfg.pretrained, init_std=cfg.init_std)
            encoder_init = "random (pretrained=none)" if cfg.pretrained in ("none", "") else f"ImageNet ({cfg.pretrained})"
        except PretrainedWeightsError as err:
            if cfg.require_pretrained:
                raise PretrainedWeightsError(f"profile {cfg.profile!r} requires the ImageNet encoder: {err}") from None
            log(f"WARNING: the ResNet encoder starts from RANDOM weights, not ImageNet: {err}")
            G = init_weights(build_generator("resnet", pretrained=False, init_std=None), cfg.init_std)
            encoder_init = "random (ImageNet weights unavailable)"
    else:
        G = build_generator(cfg.generator, init_std=cfg.init_std)
    return G, init_weights(PatchDiscriminator(), cfg.init_std), encoder_init


def train(cfg: Config, *, resume: bool = False, progress: bool | None = None) -> Path:
    """Train ``cfg.generator`` against a PatchGAN; returns the run directory.

    ``resume=True`` continues from ``cfg.run_dir/checkpoint.pt`` if it exists: weights, both
    optimizers, every RNG state and the history, so the result is bit-identical (on the CPU) to
    an uninterrupted run. Without ``resume`` an existing checkpoint is an error, not overwritten.
    """
    rt = setup_runtime(cfg.resolve_device())
    log = (lambda msg: print(msg, flush=True)) if rt.main else (lambda msg: None)
    with run_lock(cfg.run_dir, enabled=rt.main):  # one writer per run
        ckpt = cfg.run_dir / "checkpoint.pt"
        _check_start(cfg, rt, ckpt, resume)
        images = _load_train_images(cfg, rt)
        steps = _iterations_per_epoch(len(images), cfg, rt)
        step, run = _start_or_resume(cfg, rt, ckpt if resume and ckpt.exists() else None, log)
        _write_run_files(cfg, rt, run)
        total = cfg.l1_pretrain_epochs + cfg.epochs
        watch = Watch(cfg, rt.device, total) if rt.main else None
        log(f"training {cfg.generator} on {len(images)} images ({steps} iterations/epoch, batch {cfg.batch_size}, "
            f"{rt.world} process(es), {rt.device}, amp={'bf16' if step.amp else 'off'}, encoder: {run.encoder_init})")
        if rt.distributed and not cfg.sync_bn:
            log(f"WARNING: each process normalizes its own {cfg.batch_size // rt.world} images (BatchNorm), not the "
                f"batch of {cfg.batch_size} one GPU would; --set sync_bn=true normalizes over the global batch")

        for epoch in range(run.epoch, total):
            gan = epoch >= cfg.l1_pretrain_epochs
            row = _run_epoch(step, images, cfg, rt, epoch, steps, gan, progress)
            _check_finite(row, run, ckpt)
            run.history.append(row)
            run.epoch, run.iteration = epoch + 1, run.iteration + steps
            log(f"epoch {epoch + 1}/{total} [{row['phase']}] D {row['d_loss']:.4f} (real {row['d_real']:.4f}, "
                f"fake {row['d_fake']:.4f})  G bce {row['g_bce']:.4f}  L1 {row['g_l1']:.4f}  "
                f"| {row['seconds']:.1f} s, {row['images_per_s']:.1f} img/s")
            if run.epoch % cfg.checkpoint_every == 0 or run.epoch == total:
                save_training(ckpt, step, run, cfg, rt)
            if rt.main:
                write_history(cfg.run_dir / "history.csv", run.history)
                watch.after_epoch(step.G, row, run.iteration)

        if watch is not None:
            watch.close()
        if rt.distributed:
            check_replicas([step.G, step.D], rt, log)
            torch.distributed.destroy_process_group()
    return cfg.run_dir


# ----------------------------------------------------------------------------- the loop's parts
def _check_start(cfg: Config, rt: Runtime, ckpt: Path, resume: bool) -> None:
    if ckpt.exists() and not resume:
        raise RunExistsError(f"{ckpt}: a run already exists; pass --resume to continue it "
                             f"or delete {cfg.run_dir} to start over")
    if cfg.epochs + cfg.l1_pretrain_epochs == 0:
        raise ConfigError("epochs=0 and l1_pretrain_epochs=0: nothing to train")
    cfg.check_image_size(cfg.generator)
    if rt.world > 1 and cfg.batch_size % rt.world:
        raise ConfigError(f"batch_size={cfg.batch_size} must be divisible by the {rt.world} processes")
    if cfg.sync_bn and rt.distributed and rt.device.type != "cuda":
        raise ConfigError("sync_bn=true needs CUDA (SyncBatchNorm has no CPU implementation); drop it on the CPU")


def _load_train_images(cfg: Config, rt: Runtime) -> torch.Tensor:
    """The uint8 train set, read from the cache once per run: on the GPU when it fits
    (8,000×256×256×3 = 1.6 GB), else in CPU memory (each step's batch is then copied)."""
    from .data import load_images

    arr = load_images(cfg, "train")
    on_device = rt.device.type == "cuda" and flag(cfg.data_on_device, True)
    if on_device and cfg.data_on_device == "auto":  # keep it if it fits comfortably
        free, _ = torch.cuda.mem_get_info(rt.device)
        on_device = arr.nbytes < 0.3 * free
    images = torch.from_numpy(np.array(arr))
    return images.to(rt.device) if on_device else images


def _iterations_per_epoch(n: int, cfg: Config, rt: Runtime) -> int:
    steps = (n // rt.world) // (cfg.batch_size // rt.world)  # = N // batch_size on one process
    if steps == 0:
        raise ConfigError(f"{cfg.data_dir}: {n} train images is fewer than batch_size={cfg.batch_size}")
    return steps


def _start_or_resume(cfg: Config, rt: Runtime, ckpt: Path | None, log) -> tuple[GanStep, RunState]:
    """Fresh networks initialized as §5.2 says, or a checkpoint's (then no ImageNet file is
    fetched: every weight comes from the checkpoint)."""
    seed_all(cfg.seed)  # identical initial weights on every process
    G, D, encoder_init = build_models(cfg.replace(pretrained="none", require_pretrained=False) if ckpt else cfg, log)
    step = GanStep(G, D, cfg, rt)
    if ckpt is not None:
        return step, resume_training(ckpt, step, cfg, rt, log)
    seed_all(cfg.seed + rt.rank)  # per-process seeds: different dropout noise per rank
    from .data import identity_sha256, split_ids

    ids = sorted(split_ids(cfg, "train"))
    return step, RunState(encoder_init=encoder_init, train_split={"sha256": identity_sha256(ids), "ids": ids})


def _write_run_files(cfg: Config, rt: Runtime, run: RunState) -> None:
    if not rt.main:
        return
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    for stale in cfg.run_dir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)  # left by a process killed mid-write
    atomic_write(cfg.run_dir / "config.json", cfg.to_json() + "\n")
    write_history(cfg.run_dir / "history.csv", run.history)


def _epoch_order(n: int, cfg: Config, rt: Runtime, epoch: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """This process's shuffled indices and flip decisions for one epoch (seeded by seed, epoch)."""
    sampler = DistributedSampler(range(n), num_replicas=rt.world, rank=rt.rank, shuffle=True,
                                 seed=cfg.seed, drop_last=True)
    sampler.set_epoch(epoch)
    idx = torch.tensor(list(sampler), dtype=torch.long)
    g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch * 7919 + rt.rank)
    flips = torch.rand(len(idx), generator=g) < 0.5 if cfg.flip else None
    return idx, flips


def _run_epoch(step: GanStep, images: torch.Tensor, cfg: Config, rt: Runtime, epoch: int, steps: int,
               gan: bool, progress: bool | None) -> dict:
    """One pass over the train set; the history row of its mean losses and speed."""
    per_rank = cfg.batch_size // rt.world
    step.train()
    idx, flips = _epoch_order(len(images), cfg, rt, epoch)
    idx = idx.to(images.device)  # once per epoch, not per step
    if flips is not None:
        flips = flips.to(rt.device, non_blocking=True)
    bar = None
    if rt.main and (sys.stderr.isatty() if progress is None else progress):
        from tqdm import tqdm
        bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{cfg.l1_pretrain_epochs + cfg.epochs}", leave=False)
    t0 = time.perf_counter()
    for i in range(steps):
        sel = slice(i * per_rank, (i + 1) * per_rank)
        step(images[idx[sel]], None if flips is None else flips[sel], gan=gan)
        if bar is not None:
            bar.update()
    means = step.take_means(steps)
    seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    return {"epoch": epoch + 1, "phase": "gan" if gan else "l1", **dict.fromkeys(LOSS_COLUMNS, math.nan),
            **means, "seconds": round(seconds, 3), "images_per_s": round(steps * cfg.batch_size / seconds, 2)}


def _check_finite(row: dict, run: RunState, ckpt: Path) -> None:
    if all(math.isfinite(row[k]) for k in LOSS_COLUMNS if row["phase"] == "gan" or k in ("g_l1", "g_loss")):
        return
    last = f"{ckpt} (epoch {run.history[-1]['epoch']})" if run.history and ckpt.exists() else "none yet"
    raise TrainingDiverged(f"epoch {row['epoch']}: non-finite loss "
                           f"({', '.join(f'{k}={row[k]}' for k in LOSS_COLUMNS)}); "
                           f"last good checkpoint: {last}, left intact")


def main(argv: list[str] | None = None) -> int:
    p = verb_parser("train", __doc__)
    add_config_args(p)
    p.add_argument("--generator", choices=GENERATORS, help="shorthand for --set generator=...")
    p.add_argument("--seed", type=int, help="shorthand for --set seed=...")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint.pt")
    args = p.parse_args(argv)
    changes = {k: v for k, v in (("generator", args.generator), ("seed", args.seed)) if v is not None}
    run_dir = train(config_from_args(args, **changes), resume=args.resume)
    print(f"done: {run_dir}")
    return 0
