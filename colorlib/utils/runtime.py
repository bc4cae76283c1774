"""Runtime plumbing: processes (DDP), devices and their fast path, the process-wide switches of a
run, seeds, RNG state, autocast.

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

__all__ = [
    "Runtime",
    "ddp_warning",
    "setup_runtime",
    "run_switches",
    "full_fp32",
    "FULL_FP32",
    "flag",
    "cpu_has_bf16",
    "fast_path",
    "wants_compile",
    "adam_kernel",
    "seed_all",
    "rng_state",
    "set_rng_state",
    "autocast",
    "all_gather_objects",
    "check_replicas",
]


def flag(value: str, default: bool) -> bool:
    """A Config switch (auto | on/bf16 | off; Config has checked the spelling)."""
    return default if value == "auto" else value != "off"


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX), read from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def fast_path(device: torch.device) -> bool:
    """What ``amp=auto`` and ``channels_last=auto`` mean on ``device``: bf16 autocast with
    channels-last tensors on CUDA, and on CPUs with native bf16 (oneDNN's bf16 convolutions want
    NHWC; README: Speed); plain fp32 elsewhere — on Apple's MPS too (untested here: no Mac)."""
    return device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16())


def wants_compile(value: bool | str, device: torch.device) -> bool:
    """What Config ``compile`` means on ``device``: ``auto`` is on for CUDA (fewer kernel launches
    pay there), off elsewhere (compiling takes minutes on a CPU and saves little there: README)."""
    return device.type == "cuda" if value == "auto" else bool(value)


def adam_kernel(device: torch.device) -> dict:
    """Adam's implementation for ``device``: fused (one kernel for all parameters) on CUDA; torch's
    default elsewhere (the per-tensor loop on the CPU, what the recorded CPU runs used; ``foreach``
    there is bit-identical and was no faster on 2 cores)."""
    return {"fused": True, "foreach": None} if device.type == "cuda" else {"fused": None, "foreach": None}


@contextlib.contextmanager
def run_switches(device: torch.device, deterministic: bool):
    """The process-wide switches of one training run, set where it starts and restored when it
    ends (a notebook or test that trains goes on with its own settings):

    - CUDA: cuDNN picks its fastest kernels for the fixed shapes (``benchmark``), TF32 for
      convolutions only (the Lab maths stays exact fp32);
    - ``deterministic``: deterministic cuDNN and every op's deterministic algorithm (an error for
      an op that has none), without filling uninitialized memory (which costs time and changes no
      result). cuBLAS needs a fixed workspace, which must be set before CUDA starts: set
      ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` in the environment of the process (the Makefile does);
      it is set here too when CUDA has not started yet.
    """
    cudnn = torch.backends.cudnn
    saved = (
        cudnn.benchmark,
        cudnn.deterministic,
        cudnn.allow_tf32,
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.utils.deterministic.fill_uninitialized_memory,
    )
    try:
        if device.type == "cuda":
            cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32 = not deterministic, deterministic, True
        if deterministic:
            if not torch.cuda.is_initialized():
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.utils.deterministic.fill_uninitialized_memory = False
        yield
    finally:
        cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32 = saved[:3]
        torch.use_deterministic_algorithms(saved[3], warn_only=saved[4])
        torch.utils.deterministic.fill_uninitialized_memory = saved[5]


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


# Below this many images per GPU, DDP is no faster than one GPU for this study's small networks
# (per-step launch overhead dominates), so independent seeds side by side are the better use.
DDP_SMALL_PER_GPU = 16


def ddp_warning(batch_size: int, world: int, sync_bn: bool, batchnorm_forwards: int) -> str | None:
    """The line training prints under DDP (``None`` when there is nothing to say): what each GPU
    normalizes, what ``sync_bn`` costs, and — at a small batch per GPU — that parallel seeds beat
    DDP. ``batchnorm_forwards``: BatchNorm layers run per training step (G's, and D's three times).

    SyncBatchNorm's cost: its forward drops the statistics of empty ranks with a data-dependent
    boolean mask (``torch.nn.modules._functions.SyncBatchNorm``), a host-device sync at every
    BatchNorm forward — 22 per U-Net step, 33 per ResNet step — besides one all-gather each."""
    per = batch_size // max(world, 1)
    parts = []
    if sync_bn:
        parts.append(
            f"sync_bn: BatchNorm over the global batch of {batch_size}, at one all-gather and one host sync "
            f"per BatchNorm layer run ({batchnorm_forwards} per step)"
        )
    else:
        parts.append(
            f"each of the {world} processes normalizes its own {per} image(s) (BatchNorm), not the batch of "
            f"{batch_size} one GPU would; --set sync_bn=true normalizes over the global batch "
            f"(at {batchnorm_forwards} host syncs per step)"
        )
    if per < DDP_SMALL_PER_GPU:
        parts.append(
            f"at {per} image(s) per GPU DDP is no faster than one GPU: train independent seeds side by side "
            f'instead (make -j {world} reproduce SEEDS="0 1 …", one GPU each)'
        )
    elif sync_bn:
        return None
    return "WARNING: " + "; ".join(parts)


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
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
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


FULL_FP32 = (
    "fp32: TF32 off for cuDNN convolutions and matmuls, matmul precision highest (colorlib.utils.runtime.full_fp32)"
)


@contextlib.contextmanager
def full_fp32():
    """Convolutions and matmuls in full fp32 for the block (TF32 off), the previous settings
    restored after it: training turns cuDNN's TF32 on for its own speed; evaluation and FID are
    measured in fp32, as the published protocols are."""
    precision = torch.get_float32_matmul_precision()
    try:
        with torch.backends.cudnn.flags(
            enabled=torch.backends.cudnn.enabled,
            benchmark=torch.backends.cudnn.benchmark,
            deterministic=torch.backends.cudnn.deterministic,
            allow_tf32=False,
        ):
            torch.set_float32_matmul_precision("highest")
            yield
    finally:
        torch.set_float32_matmul_precision(precision)


def all_gather_objects(obj, rt: Runtime) -> list:
    if not rt.distributed:
        return [obj]
    out = [None] * rt.world
    dist.all_gather_object(out, obj)
    return out


def _checksum(module: torch.nn.Module) -> float:
    return float(sum(t.double().sum().item() * (i + 1) for i, t in enumerate(module.state_dict().values())))


def check_replicas(modules: list, rt: Runtime, log) -> None:
    """DDP must leave identical weights on every process; check it once at the end of a run.

    DDP keeps parameters in lockstep; BatchNorm running statistics are per process, since the
    step wraps its networks with ``broadcast_buffers=False`` (see colorlib.step). Take rank 0's
    (the ones in the checkpoint), then compare everything.
    """
    for module in modules:
        for buf in module.buffers():
            dist.broadcast(buf, src=0)
    sums = all_gather_objects(tuple(_checksum(m) for m in modules), rt)
    if len(set(sums)) != 1:
        raise RuntimeError(f"DDP replicas diverged: per-rank checksums {sums}")
    log(f"DDP: G and D identical on all {rt.world} processes (checksums {', '.join(f'{c:.6g}' for c in sums[0])})")
