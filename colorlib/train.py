"""Training: the conditional-GAN loop of §4.3 / §5.2, with exact resume and a GPU fast path.

    python -m colorlib train --profile demo --set generator=unet        # CPU demo
    python -m colorlib train --profile paper --set generator=resnet     # one GPU
    torchrun --nproc_per_node=8 -m colorlib train --profile paper       # DDP, one GPU per process
    python -m colorlib train --profile paper --resume                   # continue a killed run

Each iteration (pix2pix's order): the D step on the detached fake (Eq. 14–16), then the G step
(Eq. 17–19), with two Adam optimizers (lr 2e-4, betas (0.5, 0.999)). One epoch visits every
train image once in a seeded order (``N // batch_size`` iterations; 8,000 / 16 = 500, ×300 =
150,000 as in §5.2). ``batch_size`` is the global batch: under DDP each of W processes takes
``batch_size / W`` images (BatchNorm statistics are then per process).

Outputs in ``cfg.run_dir``: ``checkpoint.pt`` (atomic; see checkpoint.py), ``history.csv`` (one
row per epoch: the data of Figs. 8/9) and ``config.json``.
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DistributedSampler

from .checkpoint import FORMAT, atomic_save, load_checkpoint
from .config import Config, add_config_args, config_from_args
from .files import atomic_write
from .lab import join_lab, lab_from_uint8
from .losses import discriminator_loss, generator_loss, l1_loss
from .models import PatchDiscriminator, PretrainedWeightsError, build_generator, init_weights
from .runtime import (Runtime, all_gather_objects, autocast, check_replicas, rng_state, seed_all,
                      set_rng_state, setup_runtime)

__all__ = ["train", "TrainingDiverged", "HISTORY_COLUMNS", "GanStep", "build_models"]

HISTORY_COLUMNS = ["epoch", "phase", "d_real", "d_fake", "d_loss", "g_bce", "g_l1", "g_loss",
                   "seconds", "images_per_s"]
_LOSSES = HISTORY_COLUMNS[2:8]


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left untouched."""


def _flag(value: str, default: bool) -> bool:
    """A Config switch (auto | on/bf16 | off; Config has checked the spelling)."""
    return default if value == "auto" else value != "off"


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


class GanStep:
    """One training iteration on a uint8 batch; losses accumulate on the device (no host sync)."""

    def __init__(self, G: nn.Module, D: nn.Module, cfg: Config, device: torch.device):
        """Moves G and D to ``device`` (channels-last where enabled) and makes their optimizers."""
        cuda = device.type == "cuda"
        if cuda:  # fixed 256×256 shapes: let cuDNN pick the fastest kernels; TF32 for fp32 work
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        self.device, self.lam = device, cfg.lambda_l1
        self.amp = _flag(cfg.amp, cuda)
        self.fmt = torch.channels_last if _flag(cfg.channels_last, cuda) else torch.contiguous_format
        self.G, self.D = G.to(device, memory_format=self.fmt), D.to(device, memory_format=self.fmt)
        self.D_local = self.D  # the G step calls D without DDP: it needs no gradient sync for D
        betas = (cfg.beta1, cfg.beta2)
        self.opt_G = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=betas)
        self.sums = torch.zeros(len(_LOSSES), device=device)

    def compile(self) -> None:
        """torch.compile G and D once (the optimizers keep the same parameters)."""
        self.G, self.D = torch.compile(self.G), torch.compile(self.D)
        self.D_local = self.D

    def inputs(self, images: torch.Tensor, flip: torch.Tensor | None):
        """uint8 N×H×W×3 → device → float → Lab on the device → random horizontal flip (§5.1)."""
        L, ab = lab_from_uint8(images.to(self.device, non_blocking=True))
        if flip is not None:
            f = flip.view(-1, 1, 1, 1)
            L, ab = torch.where(f, L.flip(-1), L), torch.where(f, ab.flip(-1), ab)
        return L.contiguous(memory_format=self.fmt), ab.contiguous(memory_format=self.fmt)

    def __call__(self, images: torch.Tensor, flip: torch.Tensor | None = None, gan: bool = True) -> None:
        L, ab = self.inputs(images, flip)
        with autocast(self.device, self.amp):
            fake_ab = self.G(L)
        if not gan:  # L1-only pretraining of the generator (ablation, not in the paper)
            loss = l1_loss(fake_ab, ab)
            self.opt_G.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_G.step()
            nan = torch.full((), float("nan"), device=self.device)
            self.sums += torch.stack([nan, nan, nan, nan, loss.detach(), loss.detach()])
            return
        # D step, Eq. 14–16: real Lab vs the detached fake (Eq. 8, Eq. 11).
        self.D.requires_grad_(True)
        with autocast(self.device, self.amp):
            d = discriminator_loss(self.D(join_lab(L, ab)), self.D(join_lab(L, fake_ab.detach())))
        self.opt_D.zero_grad(set_to_none=True)
        d.total.backward()
        self.opt_D.step()
        # G step, Eq. 17–19: fool the (frozen) D, plus λ·L1 on ab.
        self.D.requires_grad_(False)
        with autocast(self.device, self.amp):
            g = generator_loss(self.D_local(join_lab(L, fake_ab)), fake_ab, ab, self.lam)
        self.opt_G.zero_grad(set_to_none=True)
        g.total.backward()
        self.opt_G.step()
        self.sums += torch.stack([d.real, d.fake, d.total, g.bce, g.l1, g.total]).detach()

    def take_means(self, steps: int) -> list[float]:
        """Mean losses since the last call (one host sync per epoch)."""
        means = (self.sums / max(steps, 1)).tolist()
        self.sums.zero_()
        return means


def _write_history(path: Path, rows: list[dict]) -> None:
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write(path, text.getvalue())


# What defines the experiment: a resume that changes one of these is no longer the same run.
_EXPERIMENT = ("source", "folder", "n_train", "n_test", "image_size", "split_seed", "pretrained", "lr",
               "beta1", "beta2", "lambda_l1", "init_std", "l1_pretrain_epochs", "flip", "batch_size", "seed")


def _changed(saved: dict, cfg: Config) -> list[str]:
    return [f"{k} {saved[k]!r} → {getattr(cfg, k)!r}" for k in _EXPERIMENT if k in saved and saved[k] != getattr(cfg, k)]


def _load_train_images(cfg: Config, rt: Runtime) -> torch.Tensor:
    from .data import load_images

    arr = load_images(cfg, "train")
    on_device = rt.device.type == "cuda" and _flag(cfg.data_on_device, True)
    if on_device and cfg.data_on_device == "auto":  # 8,000×256×256×3 = 1.6 GB; keep it if it fits
        free, _ = torch.cuda.mem_get_info(rt.device)
        on_device = arr.nbytes < 0.3 * free
    images = torch.from_numpy(np.array(arr))  # one read of the cache per run, never per step
    if on_device:
        return images.to(rt.device)
    return images.pin_memory() if rt.device.type == "cuda" else images


def _epoch_order(n: int, cfg: Config, rt: Runtime, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """This process's shuffled indices and flip decisions for one epoch (seeded by seed, epoch)."""
    sampler = DistributedSampler(range(n), num_replicas=rt.world, rank=rt.rank, shuffle=True,
                                 seed=cfg.seed, drop_last=True)
    sampler.set_epoch(epoch)
    idx = torch.tensor(list(sampler), dtype=torch.long)
    g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch * 7919 + rt.rank)
    flips = torch.rand(len(idx), generator=g) < 0.5 if cfg.flip else None
    return idx, flips


def _log_fn(rt: Runtime):
    return (lambda msg: print(msg, flush=True)) if rt.main else (lambda msg: None)


def train(cfg: Config, *, resume: bool = False, progress: bool | None = None) -> Path:
    """Train ``cfg.generator`` against a PatchGAN; returns the run directory.

    ``resume=True`` continues from ``cfg.run_dir/checkpoint.pt`` if it exists: weights, both
    optimizers, every RNG state and the history, so the result is bit-identical (on the CPU) to
    an uninterrupted run. Without ``resume`` an existing checkpoint is an error, not overwritten.
    """
    rt = setup_runtime(cfg.resolve_device())
    log = _log_fn(rt)
    run_dir, ckpt_path = cfg.run_dir, cfg.run_dir / "checkpoint.pt"
    if ckpt_path.exists() and not resume:
        raise FileExistsError(f"{ckpt_path}: a run already exists; pass --resume to continue it "
                              f"or delete {run_dir} to start over")
    if cfg.epochs + cfg.l1_pretrain_epochs == 0:
        raise ValueError("epochs=0 and l1_pretrain_epochs=0: nothing to train")
    if rt.world > 1 and cfg.batch_size % rt.world:
        raise ValueError(f"batch_size={cfg.batch_size} must be divisible by the {rt.world} processes")
    per_rank = cfg.batch_size // rt.world

    images = _load_train_images(cfg, rt)
    steps = (len(images) // rt.world) // per_rank  # = N // batch_size on one process
    if steps == 0:
        raise ValueError(f"{cfg.data_dir}: {len(images)} train images is fewer than batch_size={cfg.batch_size}")

    resuming = resume and ckpt_path.exists()
    seed_all(cfg.seed)  # identical initial weights on every process
    # A resumed run takes every weight from its checkpoint: fetch no ImageNet file for it.
    G, D, encoder_init = build_models(cfg.replace(pretrained="none", require_pretrained=False) if resuming else cfg, log)
    step = GanStep(G, D, cfg, rt.device)  # optimizers hold the raw (uncompiled, unwrapped) parameters
    G_raw, D_raw = step.G, step.D

    start_epoch, history = 0, []
    if resuming:
        ck = load_checkpoint(ckpt_path, map_location=rt.device)
        if ck["generator"] != cfg.generator:
            raise ValueError(f"{ckpt_path}: holds a {ck['generator']!r} run, not {cfg.generator!r}")
        G_raw.load_state_dict(ck["G"]), D_raw.load_state_dict(ck["D"])
        step.opt_G.load_state_dict(ck["opt_G"]), step.opt_D.load_state_dict(ck["opt_D"])
        start_epoch, history, encoder_init = ck["epoch"], list(ck["history"]), ck.get("encoder_init", encoder_init)
        if changed := _changed(ck["config"], cfg):
            log(f"WARNING: resuming with changed settings ({'; '.join(changed)}): the history mixes both")
        states = ck["rng"] if isinstance(ck["rng"], list) else [ck["rng"]]
        if len(states) == rt.world:
            set_rng_state(states[rt.rank])
        else:
            seed_all(cfg.seed + 1000 * start_epoch + rt.rank)
            log(f"note: resumed on {rt.world} processes, checkpoint has {len(states)}: dropout RNG reseeded")
        log(f"resumed {ckpt_path} at epoch {start_epoch}")
    else:
        seed_all(cfg.seed + rt.rank)  # per-process seeds: different dropout noise per rank

    if cfg.compile:
        step.compile()
    if rt.distributed:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [rt.local_rank] if rt.device.type == "cuda" else None
        # D runs twice (real, fake) before one backward: broadcasting BatchNorm buffers at each
        # forward would modify tensors saved for that backward (a known CUDA failure). Buffers
        # are synced from rank 0 when the run ends (check_replicas); parameters stay in lockstep.
        step.G, step.D = (DDP(m, device_ids=ids, broadcast_buffers=False) for m in (step.G, step.D))
    G, D = step.G, step.D

    if rt.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        for stale in run_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)  # left by a process killed mid-write
        atomic_write(run_dir / "config.json", cfg.to_json() + "\n")
        _write_history(run_dir / "history.csv", history)
    total = cfg.l1_pretrain_epochs + cfg.epochs
    show_bar = rt.main and (sys.stderr.isatty() if progress is None else progress)
    log(f"training {cfg.generator} on {len(images)} images ({steps} iterations/epoch, batch {cfg.batch_size}, "
        f"{rt.world} process(es), {rt.device}, amp={'bf16' if step.amp else 'off'}, encoder: {encoder_init})")

    for epoch in range(start_epoch, total):
        gan = epoch >= cfg.l1_pretrain_epochs
        G.train(), D.train()
        idx, flips = _epoch_order(len(images), cfg, rt, epoch)
        idx = idx.to(images.device)  # once per epoch, not per step
        if flips is not None:
            flips = flips.to(rt.device, non_blocking=True)
        t0 = time.perf_counter()
        bar = None
        if show_bar:
            from tqdm import tqdm
            bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{total}", leave=False)
        for i in range(steps):
            sel = slice(i * per_rank, (i + 1) * per_rank)
            step(images[idx[sel]], None if flips is None else flips[sel], gan=gan)
            if bar is not None:
                bar.update()
        means = step.take_means(steps)
        if rt.distributed:
            t = torch.tensor(means, device=rt.device)
            torch.distributed.all_reduce(t)
            means = (t / rt.world).tolist()
        if bar is not None:
            bar.close()
        seconds = time.perf_counter() - t0
        row = {"epoch": epoch + 1, "phase": "gan" if gan else "l1", **dict(zip(_LOSSES, means)),
               "seconds": round(seconds, 3), "images_per_s": round(steps * cfg.batch_size / seconds, 2)}
        if not all(math.isfinite(row[k]) for k in ("g_l1", "g_loss") + (("d_loss", "g_bce") if gan else ())):
            last = f"{ckpt_path} (epoch {history[-1]['epoch']})" if history and ckpt_path.exists() else "none yet"
            raise TrainingDiverged(f"epoch {epoch + 1}: non-finite loss "
                                   f"({', '.join(f'{k}={row[k]}' for k in _LOSSES)}); "
                                   f"last good checkpoint: {last}, left intact")
        history.append(row)
        log(f"epoch {epoch + 1}/{total} [{row['phase']}] D {row['d_loss']:.4f} (real {row['d_real']:.4f}, "
            f"fake {row['d_fake']:.4f})  G bce {row['g_bce']:.4f}  L1 {row['g_l1']:.4f}  "
            f"| {seconds:.1f} s, {row['images_per_s']:.1f} img/s")
        if (epoch + 1) % cfg.checkpoint_every == 0 or epoch + 1 == total:
            _save(ckpt_path, cfg, G_raw, D_raw, step, epoch + 1, steps, history, encoder_init, rt)
        if rt.main:
            _write_history(run_dir / "history.csv", history)

    if rt.distributed:
        check_replicas([G_raw, D_raw], rt, log)
        torch.distributed.destroy_process_group()
    return run_dir


def _save(path, cfg, G, D, step, epoch, steps, history, encoder_init, rt) -> None:
    states = all_gather_objects(rng_state(), rt)  # every process's RNG, for an exact resume
    if not rt.main:
        return
    atomic_save({
        "format": FORMAT, "generator": cfg.generator, "config": cfg.to_dict(),
        "G": G.state_dict(), "D": D.state_dict(),
        "opt_G": step.opt_G.state_dict(), "opt_D": step.opt_D.state_dict(),
        "epoch": epoch, "iteration": epoch * steps, "rng": states if rt.distributed else states[0],
        "history": history, "encoder_init": encoder_init,
    }, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m colorlib train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(p)
    p.add_argument("--generator", choices=["unet", "resnet"], help="shorthand for --set generator=...")
    p.add_argument("--seed", type=int, help="shorthand for --set seed=...")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint.pt")
    args = p.parse_args(argv)
    changes = {k: v for k, v in (("generator", args.generator), ("seed", args.seed)) if v is not None}
    try:
        cfg = config_from_args(args, **changes)
        run_dir = train(cfg, resume=args.resume)
    except (ValueError, FileExistsError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"done: {run_dir}")
    return 0
