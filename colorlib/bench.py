"""Benchmark the training step: images/s and model-FLOP utilization (MFU).

    python -m colorlib bench --generator unet --batch 16 --device cuda      # the paper profile's step
    python -m colorlib bench --generator resnet --batch 4 --device cpu --amp off --steps 3

The step is exactly the one ``train`` runs (``GanStep``: D step then G step, Lab conversion and
flip on the device) on a synthetic uint8 batch resident on the device. FLOPs are *counted*
(``torch.utils.flop_counter``) on one real step rather than taken from a table: forward GMAC
per 256×256 image for G and D, and the whole training step's FLOPs per image (forward and
backward of G, D on real and fake, D again in the G step). MFU = counted FLOP/s ÷ peak.

Counted forward cost per 256×256 image: U-Net G 5.98 GMAC, ResNet G 3.64 GMAC, D 3.15 GMAC.
torchinfo's "mult-adds" report 17.97 / 7.47 / 3.15: it charges a ConvTranspose2d its parameters
× *output* pixels, 4× the true cost of a stride-2 transposed conv (whose work is parameters ×
*input* pixels), so the decoders are overcounted; D has no transposed convs and agrees.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from .config import Config
from .lab import join_lab
from .train import GanStep, build_models

__all__ = ["count_flops", "bench", "PEAK_TFLOPS"]

# Dense bf16 tensor-core peaks (TFLOP/s) by device-name fragment; fp32 CPU peaks are not listed.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "4090": 165.0}


def _flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def count_flops(generator: str, size: int = 256) -> dict:
    """Counted FLOPs per image (batch 1, fp32, CPU): forward G, forward D, and one training step."""
    cfg = Config.from_profile("smoke", generator=generator, pretrained="none", amp="off", channels_last="off")
    G, D, _ = build_models(cfg, log=lambda m: None)
    step = GanStep(G, D, cfg, torch.device("cpu"))
    images = torch.randint(0, 256, (1, size, size, 3), dtype=torch.uint8)
    L, ab = step.inputs(images, None)
    with torch.no_grad():
        g_fwd = _flops(lambda: G(L))
        d_fwd = _flops(lambda: D(join_lab(L, ab)))
    train_step = _flops(lambda: step(images))
    return {"G_forward_GMAC": g_fwd / 2e9, "D_forward_GMAC": d_fwd / 2e9, "step_GFLOP": train_step / 1e9}


def _peak(device: torch.device, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def bench(generator: str, batch: int, device: str = "auto", steps: int = 20, warmup: int = 5,
          amp: str = "auto", channels_last: str = "auto", compile: bool = False,
          peak_tflops: float | None = None, size: int = 256) -> dict:
    cfg = Config.from_profile("paper", generator=generator, batch_size=batch, device=device, amp=amp,
                         channels_last=channels_last, compile=compile, pretrained="none")
    dev = torch.device(cfg.resolve_device())
    step = GanStep(*build_models(cfg, log=lambda m: None)[:2], cfg, dev)  # exactly train()'s step
    if compile:
        step.compile()
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8, generator=gen).to(dev)
    flips = (torch.rand(batch, generator=gen) < 0.5).to(dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        step(images, flips)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step(images, flips)
    step.take_means(steps)  # the one host read per "epoch", as in training
    sync()
    seconds = (time.perf_counter() - t0) / steps
    counted = count_flops(generator, size)
    ips = batch / seconds
    peak = _peak(dev, peak_tflops)
    result = {"generator": generator, "device": str(dev) if dev.type != "cuda" else torch.cuda.get_device_name(dev),
              "batch": batch, "amp": "bf16" if step.amp else "off", "channels_last": step.fmt == torch.channels_last,
              "compile": compile, "seconds_per_step": seconds, "images_per_s": ips, **counted,
              "achieved_TFLOPs": counted["step_GFLOP"] * ips / 1e3, "peak_TFLOPs": peak}
    result["MFU"] = result["achieved_TFLOPs"] / peak if peak else None
    return result


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be a positive integer")
    return value


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m colorlib bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--generator", choices=["unet", "resnet"], default="unet")
    p.add_argument("--batch", type=_positive, default=16)
    p.add_argument("--device", default="auto")
    p.add_argument("--steps", type=_positive, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--amp", choices=["auto", "bf16", "off"], default="auto")
    p.add_argument("--channels-last", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--peak-tflops", type=float, help="the device's peak, for MFU (default: known GPUs)")
    p.add_argument("--json", help="also write the result to this JSON file")
    a = p.parse_args(argv)
    try:
        r = bench(a.generator, a.batch, a.device, a.steps, a.warmup, a.amp, a.channels_last, a.compile, a.peak_tflops)
    except (RuntimeError, ValueError) as err:  # e.g. --device cuda without a GPU, out of memory
        print(f"error: {str(err).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    mfu = f"{100 * r['MFU']:.1f}%" if r["MFU"] else "n/a (pass --peak-tflops)"
    print(f"{r['generator']} GAN step on {r['device']}: batch {r['batch']}, amp {r['amp']}, "
          f"channels_last {r['channels_last']}, compile {r['compile']}\n"
          f"  {r['seconds_per_step']:.4f} s/step  {r['images_per_s']:.1f} images/s\n"
          f"  counted per 256x256 image: G fwd {r['G_forward_GMAC']:.2f} GMAC, D fwd {r['D_forward_GMAC']:.2f} GMAC, "
          f"train step {r['step_GFLOP']:.1f} GFLOP\n"
          f"  {r['achieved_TFLOPs']:.2f} TFLOP/s achieved, MFU {mfu}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=2)
    return 0
