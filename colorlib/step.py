"""One training iteration of the conditional GAN (§4.3), as pix2pix's ``optimize_parameters``:

    inputs → D step → G step

- **inputs**: a uint8 batch (N×H×W×3, already flipped by the data, :mod:`colorlib.data.batches`)
  is converted to normalized Lab on the device (Eq. 4–8) and split into L (the generator's input)
  and ab (its target);
- **D step** (Eq. 14–16): D learns to call the real Lab image real and the *detached* fake fake;
- **G step** (Eq. 17–19): G learns to fool the frozen D, plus λ·L1 to the true ab.

``l1_step`` is the L1-only generator update of the optional pretraining phase (an ablation, not
in the paper; the loop says which phase each epoch is). ``GanStep`` owns the networks ``G`` and
``D``, their two Adam optimizers (§5.2) and the forms the step calls them in (``G_run`` /
``D_run``: channels-last, ``torch.compile``, DDP; ``D_run_nosync``: D without DDP's gradient
sync, for the G step, where D gets no gradient): callers never wrap them. Process-wide switches
(cuDNN, determinism) are the run's, not the step's (:func:`colorlib.utils.runtime.run_switches`).
``state_dict()`` / ``load_state_dict()`` cover G, D and both optimizers — with
:func:`colorlib.checkpoint.save_training` / ``resume_training`` the symmetric save/resume pair.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from colorlib.config import Config
from colorlib.lab import join_lab, lab_from_uint8
from colorlib.losses import LOSS_COLUMNS, DLoss, GLoss, discriminator_loss, generator_loss, l1_loss
from colorlib.utils.runtime import Runtime, adam_kernel, autocast, fast_path, flag, wants_compile

__all__ = ["GanStep"]


class GanStep:
    """G and D, their optimizers, and one training iteration on a uint8 batch.

    Losses are summed on the device (no host sync per step); :meth:`take_means` reads them once
    per epoch.
    """

    def __init__(self, G: nn.Module, D: nn.Module, cfg: Config, rt: Runtime):
        self.rt, self.lam = rt, cfg.lambda_l1
        fast = fast_path(rt.device)
        self.amp = flag(cfg.amp, fast)
        self.fmt = torch.channels_last if flag(cfg.channels_last, fast) else torch.contiguous_format
        if rt.distributed and cfg.sync_bn:  # BatchNorm over the global batch, as on one GPU
            G, D = (nn.SyncBatchNorm.convert_sync_batchnorm(m) for m in (G, D))
        # The networks themselves: what the optimizers update and the checkpoints hold.
        self.G = G.to(rt.device, memory_format=self.fmt)
        self.D = D.to(rt.device, memory_format=self.fmt)
        self._adam = {"lr": cfg.lr, "betas": (cfg.beta1, cfg.beta2)}
        self._kernel = adam_kernel(rt.device)
        self.opt_G = torch.optim.Adam(self.G.parameters(), **self._adam, **self._kernel)
        self.opt_D = torch.optim.Adam(self.D.parameters(), **self._adam, **self._kernel)
        # The forms the step calls: compiled and/or DDP-wrapped views of the same parameters.
        compiled = wants_compile(cfg.compile, rt.device)
        self.G_run, self.D_run = (torch.compile(m) for m in (self.G, self.D)) if compiled else (self.G, self.D)
        self.D_run_nosync = self.D_run  # the G step's D: no gradient for D, so no DDP sync either
        if rt.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [rt.local_rank] if rt.device.type == "cuda" else None
            # D runs twice (real, fake) before one backward: broadcasting BatchNorm buffers at each
            # forward would modify tensors saved for that backward (a known CUDA failure), so
            # buffers are not broadcast (broadcast_buffers=False); check_replicas syncs them from
            # rank 0 when the run ends. Parameters stay in lockstep.
            self.G_run, self.D_run = (DDP(m, device_ids=ids, broadcast_buffers=False) for m in (self.G_run, self.D_run))
        self._sums = {"gan": torch.zeros(len(LOSS_COLUMNS), device=rt.device), "l1": torch.zeros((), device=rt.device)}
        self.per_step: list[Tensor] = []

    # ----- one iteration -----
    def __call__(self, images: Tensor, gan: bool = True) -> None:
        """inputs → D step → G step (or, with ``gan=False``, the L1-only generator step)."""
        L, ab = self.inputs(images)
        if not gan:
            self._sums["l1"] += self.l1_step(L, ab).detach()
            return
        with autocast(self.rt.device, self.amp):
            fake_ab = self.G_run(L)  # Eq. 10
        d = self.d_step(L, ab, fake_ab)
        g = self.g_step(L, ab, fake_ab)
        losses = torch.stack([d.real, d.fake, d.total, g.bce, g.l1, g.total]).detach()
        self._sums["gan"] += losses
        self.per_step.append(losses)  # this process's own losses per iteration: take_iterations

    def inputs(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """uint8 N×H×W×3 → device → normalized L (N×1×H×W), ab (N×2×H×W), float32."""
        L, ab = lab_from_uint8(images.to(self.rt.device, non_blocking=True))
        return L.contiguous(memory_format=self.fmt), ab.contiguous(memory_format=self.fmt)

    def _lab(self, L: Tensor, ab: Tensor) -> Tensor:
        """Eq. 8 / 11: the Lab image D sees, in the step's memory format."""
        return join_lab(L, ab).contiguous(memory_format=self.fmt)

    def d_step(self, L: Tensor, ab: Tensor, fake_ab: Tensor) -> DLoss:
        """Eq. 14–16: update D on the real Lab image and the detached fake."""
        self.D.requires_grad_(True)
        with autocast(self.rt.device, self.amp):
            d = discriminator_loss(self.D_run(self._lab(L, ab)), self.D_run(self._lab(L, fake_ab.detach())))
        self.opt_D.zero_grad(set_to_none=True)
        d.total.backward()
        self.opt_D.step()
        return d

    def g_step(self, L: Tensor, ab: Tensor, fake_ab: Tensor) -> GLoss:
        """Eq. 17–19: update G to fool the frozen D, plus λ·L1 to the true ab."""
        self.D.requires_grad_(False)
        with autocast(self.rt.device, self.amp):
            g = generator_loss(self.D_run_nosync(self._lab(L, fake_ab)), fake_ab, ab, self.lam)
        self.opt_G.zero_grad(set_to_none=True)
        g.total.backward()
        self.opt_G.step()
        return g

    def l1_step(self, L: Tensor, ab: Tensor) -> Tensor:
        """L1-only pretraining: update G on |G(L) − ab| alone (no D)."""
        with autocast(self.rt.device, self.amp):
            fake_ab = self.G_run(L)
        loss = l1_loss(fake_ab, ab)
        self.opt_G.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_G.step()
        return loss

    # ----- bookkeeping -----
    def train(self) -> None:
        """Training mode for both networks (dropout and BatchNorm batch statistics on)."""
        self.G.train(), self.D.train()

    def take_means(self, steps: int, gan: bool = True) -> dict[str, float]:
        """Mean losses of the GAN phase (or, ``gan=False``, the L1 phase) since the last call, by
        history column (one host sync; averaged over processes under DDP). The L1 phase has only
        g_l1 (= g_loss)."""
        sums = self._sums["gan" if gan else "l1"]
        if self.rt.distributed:
            torch.distributed.all_reduce(sums)
            sums /= self.rt.world
        values = (sums / max(steps, 1)).tolist()
        sums.zero_()
        if not gan:
            return {"g_l1": values, "g_loss": values}
        return dict(zip(LOSS_COLUMNS, values))

    def take_iterations(self) -> list[list[float]]:
        """The GAN iterations' losses since the last call (rows by LOSS_COLUMNS; one host sync)."""
        rows, self.per_step = (torch.stack(self.per_step).tolist() if self.per_step else []), []
        return rows

    def state_dict(self) -> dict:
        """G, D and both optimizers (the plain modules' weights: no compile/DDP prefixes).

        G's tensors are saved in the standard (contiguous) layout even when the run trains
        channels-last: inference then maps them from the file as they are, with no copy
        (:func:`colorlib.checkpoint.load_generator`); a resume copies the values back into
        this step's layout, so it stays exact."""
        G = {k: v.contiguous() for k, v in self.G.state_dict().items()}
        return {"G": G, "D": self.D.state_dict(), "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """The inverse of :meth:`state_dict`; tensors may be on the CPU (they move to the device).
        Adam's moments come from ``state``, its lr and betas from this step's Config (the same as
        the checkpoint's, unless a resume continued with changed settings on purpose)."""
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        for opt, key in ((self.opt_G, "opt_G"), (self.opt_D, "opt_D")):
            opt.load_state_dict(state[key])
            for group in opt.param_groups:
                group.update(self._adam, **self._kernel)  # a CUDA checkpoint's "fused" is not the CPU's
