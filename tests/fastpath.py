"""Checks that the fast training path (bf16 autocast, channels-last, ``torch.compile``) computes
the same thing as plain fp32 — relative to scale, so that they can fail.

An initialized U-Net outputs |ab| ≤ 0.04 in eval mode, so an absolute tolerance on ab (or on the
losses, which a near-zero G barely moves) passes even when the fast path returns zeros. These
checks compare, from the same weights on the same uint8 batch, through the step's own code
(``GanStep.inputs`` / ``d_step`` / ``g_step``, the optimizers' updates skipped):

- **G's pre-tanh output in train mode** (BatchNorm on batch statistics; dropout off so that both
  paths draw nothing at random): ‖Δ‖ / ‖ref‖, scale-free, < ``OUT_REL``;
- **D's gradient** of the D step and **G's gradient** of the G step, each flattened over the
  parameters both paths have: cosine similarity with fp32's > ``GRAD_COS``.

The reference is plain fp32, contiguous, eager (on CUDA with TF32 off). ``broken`` edits the
fast path's networks (after the same seed built them) to show a check fails: see
``tests/test_fastpath.py``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import Tensor, nn

# Measured on the CPU (bf16 + channels-last vs fp32, seed 0, 2 noise images): ‖Δ‖/‖ref‖ 0.009
# (U-Net 256², ResNet 64²), gradient cosines D 0.998 / 0.994, G 0.9997 / 0.998; channels-last
# alone 0.0000 / 1.0000. Broken paths: zeroed output 1.0 and G cosine 0; G's first BatchNorm
# dropped 0.72–0.73 (cosines 0.67–0.95); D's first BatchNorm dropped: D cosine 0.69–0.91.
OUT_REL = 0.05
GRAD_COS = 0.98


@dataclass
class PathRun:
    pre_tanh: Tensor  # G's train-mode output before tanh, float32, contiguous
    grad_D: dict[str, Tensor]  # D step: D's gradients by parameter name
    grad_G: dict[str, Tensor]  # G step: G's gradients by parameter name


@dataclass
class Agreement:
    out_rel: float  # ‖Δ pre-tanh‖ / ‖ref pre-tanh‖
    cos_D: float  # cosine(D gradients)
    cos_G: float  # cosine(G gradients)

    @property
    def checks(self) -> dict[str, bool]:
        return {"output": self.out_rel < OUT_REL, "grad_D": self.cos_D > GRAD_COS, "grad_G": self.cos_G > GRAD_COS}

    @property
    def ok(self) -> bool:
        return all(self.checks.values())

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return (
            f"‖Δ‖/‖ref‖ {self.out_rel:.4f} (< {OUT_REL}), cos D grad {self.cos_D:.4f}, "
            f"cos G grad {self.cos_G:.4f} (> {GRAD_COS})"
        )


def _pre_tanh(ab: Tensor) -> Tensor:
    return torch.atanh(ab.float().clamp(-0.999999, 0.999999)).contiguous()


def run_path(
    make_cfg,
    images: Tensor,
    flips: Tensor | None,
    device: torch.device,
    seed: int = 0,
    broken=None,
    reference: bool = False,
    **cfg_kw,
) -> PathRun:
    """One pass of ``GanStep`` built by seed ``seed`` from ``make_cfg(**cfg_kw)``: the train-mode
    output and the D-step / G-step gradients (weights not updated). ``broken(G, D)`` edits the
    networks before the step is made."""
    from colorlib.data.batches import hflip
    from colorlib.step import GanStep
    from colorlib.train import build_models
    from colorlib.utils.runtime import Runtime, autocast

    cfg = make_cfg(**cfg_kw)
    torch.manual_seed(seed)
    G, D, _ = build_models(cfg, say=lambda m, **_: None)
    if broken is not None:
        broken(G, D)
    step = GanStep(G, D, cfg, Runtime(device))
    step.train()
    for m in step.G.modules():
        if isinstance(m, nn.Dropout):
            m.eval()  # no random masks: both paths must see the same function
    step.opt_D.step = step.opt_G.step = lambda *a, **k: None  # gradients only; weights stay equal
    flags = (
        torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=False, allow_tf32=False)
        if reference and device.type == "cuda"
        else contextlib.nullcontext()
    )
    with flags:
        L, ab = step.inputs(hflip(images.to(device), flips.to(device)))
        with autocast(device, step.amp):
            fake_ab = step.G_run(L)
        step.d_step(L, ab, fake_ab)
        grad_D = {n: p.grad.detach().float().clone() for n, p in step.D.named_parameters() if p.grad is not None}
        step.g_step(L, ab, fake_ab)
        grad_G = {n: p.grad.detach().float().clone() for n, p in step.G.named_parameters() if p.grad is not None}
    return PathRun(_pre_tanh(fake_ab.detach()), grad_D, grad_G)


def _cosine(a: dict[str, Tensor], b: dict[str, Tensor]) -> float:
    names = sorted(set(a) & set(b))
    if not names:
        return 0.0
    x = torch.cat([a[n].reshape(-1).cpu() for n in names]).double()
    y = torch.cat([b[n].reshape(-1).cpu() for n in names]).double()
    denom = x.norm() * y.norm()
    return float(x @ y / denom) if denom > 0 else 0.0


def compare(ref: PathRun, fast: PathRun) -> Agreement:
    """The three relative checks of ``fast`` against ``ref``."""
    r, f = ref.pre_tanh.cpu().double(), fast.pre_tanh.cpu().double()
    out_rel = float((f - r).norm() / r.norm()) if r.norm() > 0 else float("inf")
    return Agreement(out_rel, _cosine(ref.grad_D, fast.grad_D), _cosine(ref.grad_G, fast.grad_G))


def fast_path_agrees(
    make_cfg,
    images: Tensor,
    flips: Tensor | None,
    device: torch.device,
    fast: dict,
    broken=None,
    ref: PathRun | None = None,
) -> Agreement:
    """fp32 (``amp=off``, ``channels_last=off``, eager) against ``make_cfg(**fast)``; ``bool`` of
    the result is whether every check passes."""
    ref = ref or run_path(
        make_cfg, images, flips, device, reference=True, amp="off", channels_last="off", compile=False
    )
    return compare(ref, run_path(make_cfg, images, flips, device, broken=broken, **fast))


# ----- deliberately broken paths (for showing that the checks can fail)
def zero_outputs(G: nn.Module, D: nn.Module) -> None:
    """G returns zeros (what bf16 could silently do): its output times 0."""
    G.register_forward_hook(lambda m, i, out: out * 0)


def drop_first_batchnorm(net: str):
    """The first BatchNorm of G or D replaced by identity (a layer lost in a fused/compiled path)."""

    def edit(G: nn.Module, D: nn.Module) -> None:
        model = {"G": G, "D": D}[net]
        name = next(n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d))
        parent, _, leaf = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, leaf, nn.Identity())

    return edit
