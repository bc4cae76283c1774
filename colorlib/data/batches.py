"""What a training run reads: the uint8 train set, its identity, the held-out sample images, and
each epoch's batches in a seeded order with the random flip of §5.1.

    data = training_data(cfg)                  # read the cache once per run
    for batch in data.batches(cfg, rt, epoch): # uint8 N×S×S×3 on the run's device, flipped
        ...

The training loop (:func:`colorlib.train.train`) takes this object: the method never reads files
of the data layer itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DistributedSampler

from colorlib.config import Config
from colorlib.data.cache import load_images
from colorlib.data.split import identity_sha256, split_ids
from colorlib.utils.runtime import Runtime, flag

__all__ = ["TrainingData", "training_data", "hflip", "epoch_order"]


def hflip(images: Tensor, flip: Tensor | None) -> Tensor:
    """Flip each uint8 N×H×W×3 image left–right where ``flip`` (N bools) is true (§5.1)."""
    if flip is None:
        return images
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(2), images)


def epoch_order(n: int, cfg: Config, rt: Runtime, epoch: int) -> tuple[Tensor, Tensor | None]:
    """This process's shuffled indices and flip decisions for one epoch (seeded by seed, epoch)."""
    sampler = DistributedSampler(
        range(n), num_replicas=rt.world, rank=rt.rank, shuffle=True, seed=cfg.seed, drop_last=True
    )
    sampler.set_epoch(epoch)
    idx = torch.tensor(list(sampler), dtype=torch.long)
    g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch * 7919 + rt.rank)
    flips = torch.rand(len(idx), generator=g) < 0.5 if cfg.flip else None
    return idx, flips


@dataclass
class TrainingData:
    """The train images (uint8 N×S×S×3 in CPU memory), which images they are (``split``:
    {"sha256": digest, "ids": sorted identities}: a checkpoint records it, evaluation checks it)
    and the fixed held-out images of the sample grids (uint8, or None)."""

    images: Tensor
    split: dict
    held_out: np.ndarray | None

    def __len__(self) -> int:
        return len(self.images)

    def to(self, cfg: Config, device: torch.device) -> TrainingData:
        """The same data with the images on ``device`` when ``cfg.data_on_device`` allows and,
        for auto, they fit comfortably (8,000×256×256×3 = 1.6 GB); else as they are (each
        batch is then copied)."""
        on_device = device.type == "cuda" and flag(cfg.data_on_device, True)
        if on_device and cfg.data_on_device == "auto":
            free, _ = torch.cuda.mem_get_info(device)
            on_device = self.images.nbytes < 0.3 * free
        return TrainingData(self.images.to(device), self.split, self.held_out) if on_device else self

    def batches(self, cfg: Config, rt: Runtime, epoch: int) -> Iterator[Tensor]:
        """One epoch of this process's batches (``batch_size / world`` images each), on the
        run's device, each image flipped with p = 0.5 (§5.1). Never a partial batch."""
        per_rank = cfg.batch_size // rt.world
        idx, flips = epoch_order(len(self.images), cfg, rt, epoch)
        idx = idx.to(self.images.device)  # once per epoch, not per step
        if flips is not None:
            flips = flips.to(rt.device, non_blocking=True)
        for i in range(len(idx) // per_rank):
            sel = slice(i * per_rank, (i + 1) * per_rank)
            batch = self.images[idx[sel]].to(rt.device, non_blocking=True)
            yield hflip(batch, None if flips is None else flips[sel])


def training_data(cfg: Config, held_out: int = 6) -> TrainingData:
    """Read ``cfg``'s train split from the cache once (checksum verified), with its identity and
    the first ``held_out`` test images for the sample grids."""
    train = torch.from_numpy(np.array(load_images(cfg, "train")))
    ids = sorted(split_ids(cfg, "train"))
    test = load_images(cfg, "test") if held_out else []
    samples = np.array(test[:held_out]) if len(test) else None
    return TrainingData(train, {"sha256": identity_sha256(ids), "ids": ids}, samples)
