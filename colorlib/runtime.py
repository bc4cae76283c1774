"""Runtime plumbing for training: processes (DDP), devices, seeds, RNG state, autocast.

Kept apart from the training loop so that ``train.py`` reads like §4.3/§5.2.
"""
from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

__all__ = ["Runtime", "setup_runtime", "seed_all", "rng_state", "set_rng_state", "autocast",
           "all_gather_objects", "check_replicas"]


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0 logs and writes files."""
        return self.rank == 0


def setup_runtime(device: str) -> Runtime:
    """One process of a run. Under ``torchrun`` (WORLD_SIZE > 1) join the process group:
    NCCL on CUDA (one GPU per LOCAL_RANK), gloo on the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Runtime(torch.device(device))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
        backend = "nccl"
    else:
        dev, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return Runtime(dev, rank, world, local)


def seed_all(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state(device: torch.device | None = None) -> dict:
    """Every RNG state of this process, as tensors and plain values (``weights_only``-safe).

    Of the CUDA generators only ``device``'s (the run's own GPU) is saved: a checkpoint from
    an 8-GPU box must resume where fewer GPUs are visible."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    py = random.getstate()
    cuda = device is not None and device.type == "cuda"
    return {
        "torch": torch.get_rng_state(),
        "cuda": [torch.cuda.get_rng_state(device)] if cuda else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": [py[0], list(py[1]), py[2]],
    }


def set_rng_state(state: dict, device: torch.device | None = None) -> None:
    """Restore :func:`rng_state`'s ``state`` (its tensors may be on any device; the CUDA state
    goes to ``device``, the run's own GPU)."""
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"][0].cpu(), device)
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on ``device`` when enabled (the Lab conversion inside stays float32)."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def all_gather_objects(obj, rt: Runtime) -> list:
    if not rt.distributed:
        return [obj]
    out = [None] * rt.world
    dist.all_gather_object(out, obj)
    return out


def _checksum(module: "torch.nn.Module") -> float:
    return float(sum(t.double().sum().item() * (i + 1) for i, t in enumerate(module.state_dict().values())))


def check_replicas(modules: list, rt: Runtime, log) -> None:
    """DDP must leave identical weights on every process; check it once at the end of a run.

    DDP keeps parameters in lockstep, but broadcasts BatchNorm running statistics from rank 0
    only at the start of each forward, so after the last step they differ per process. Take
    rank 0's (the ones in the checkpoint), then compare everything.
    """
    for module in modules:
        for buf in module.buffers():
            dist.broadcast(buf, src=0)
    sums = all_gather_objects(tuple(_checksum(m) for m in modules), rt)
    if len(set(sums)) != 1:
        raise RuntimeError(f"DDP replicas diverged: per-rank checksums {sums}")
    log(f"DDP: G and D identical on all {rt.world} processes (checksums {', '.join(f'{c:.6g}' for c in sums[0])})")
