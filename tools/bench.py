"""Benchmark the training step: images/s and model-FLOP utilization (MFU).

    python -m tools.bench --generator unet --batch 16 --device cuda      # the paper profile's step
    python -m tools.bench --generator resnet --batch 4 --device cpu --amp off --steps 3
    python -m tools.bench --profile demo --set compile=true               # any Config, like every verb

The step is exactly the one ``train`` runs (``GanStep``: D step then G step, Lab conversion and
flip on the device) on a synthetic uint8 batch resident on the device. FLOPs are *counted*
(``torch.utils.flop_counter``) on one real step rather than taken from a table: forward GMAC
per 256×256 image for G and D, and the whole training step's FLOPs per image (forward and
backward of G, D on real and fake, D again in the G step). MFU = counted FLOP/s ÷ the card's
dense peak for the step's precision (bf16 tensor cores under ``amp``; TF32 tensor cores for
fp32 convolutions, which cuDNN runs in TF32), looked up by device name in ``PEAK_TFLOPS``.

Counted forward cost per 256×256 image: U-Net G 5.98 GMAC, ResNet G 3.64 GMAC, D 3.15 GMAC.
torchinfo's "mult-adds" report 17.97 / 7.47 / 3.15: it charges a ConvTranspose2d its parameters
× *output* pixels, 4× the true cost of a stride-2 transposed conv (whose work is parameters ×
*input* pixels), so the decoders are overcounted; D has no transposed convs and agrees.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from colorlib.cli import HelpFormatter, add_config_args, config_from_args
from colorlib.config import GENERATORS, Config
from colorlib.data.batches import hflip
from colorlib.lab import join_lab
from colorlib.step import GanStep
from colorlib.train import build_models
from colorlib.utils.errors import ColorlibError
from colorlib.utils.files import atomic_write, check_writable_file
from colorlib.utils.runtime import Runtime, run_switches, wants_compile

__all__ = ["count_flops", "bench", "bench_row", "peak_tflops", "PEAK_TFLOPS", "GPU_PEAKS"]

# Dense tensor-core peaks of the full card in TFLOP/s and its SM count, by device-name fragment
# (first match wins, so the more specific names come first): "bf16" for autocast steps, "tf32" for
# fp32 steps (cuDNN's default for convolutions). Vendor data sheets, without sparsity, at boost
# clock. A device with fewer SMs than the full card (a MIG slice, a cut-down part) is charged the
# per-SM peak × its own SM count (torch.cuda.get_device_properties().multi_processor_count).
GPU_PEAKS = {  # fragment: (SMs, bf16, tf32)
    "H100 PCIe": (114, 756.0, 378.0),
    "H100 NVL": (132, 835.0, 417.5),
    "H100": (132, 989.0, 494.7),  # SXM ("H100 80GB HBM3")
    "H200 NVL": (132, 835.0, 417.5),
    "H200": (132, 989.0, 494.7),  # SXM
    "GH200": (132, 989.0, 494.7),
    "A100": (108, 312.0, 156.0),
    "L40S": (142, 362.1, 183.0),
    "L4": (58, 121.0, 60.0),
    "A10G": (80, 70.0, 35.0),
    "A10": (72, 125.0, 62.5),
    "4090": (128, 165.2, 82.6),
}
PEAK_TFLOPS = {k: {"bf16": v[1], "tf32": v[2]} for k, v in GPU_PEAKS.items()}  # full cards


def _flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def count_flops(generator: str, size: int = 256) -> dict:
    """Counted FLOPs per image (batch 1, fp32, CPU): forward G, forward D, and one training step."""
    cfg = Config.from_profile("smoke", generator=generator, pretrained="none", amp="off", channels_last="off")
    G, D, _ = build_models(cfg, say=lambda m, **_: None)
    step = GanStep(G, D, cfg, Runtime(torch.device("cpu")))
    images = torch.randint(0, 256, (1, size, size, 3), dtype=torch.uint8)
    L, ab = step.inputs(images)
    with torch.no_grad():
        g_fwd = _flops(lambda: G(L))
        d_fwd = _flops(lambda: D(join_lab(L, ab)))
    train_step = _flops(lambda: step(images))
    return {"G_forward_GMAC": g_fwd / 2e9, "D_forward_GMAC": d_fwd / 2e9, "step_GFLOP": train_step / 1e9}


def peak_tflops(device_name: str, amp: bool, sm_count: int | None = None) -> float | None:
    """The dense peak of ``device_name`` for a bf16 (``amp``) or fp32/TF32 step, if known; with
    ``sm_count``, the full card's peak per SM × ``sm_count`` (a MIG slice gets its share)."""
    match = next((v for k, v in GPU_PEAKS.items() if k in device_name), None)
    if match is None:
        return None
    sms, bf16, tf32 = match
    peak = bf16 if amp else tf32
    return peak * sm_count / sms if sm_count else peak


def bench(cfg: Config, steps: int = 20, warmup: int = 5, peak: float | None = None) -> dict:
    """Time ``steps`` training steps of ``cfg`` (its generator, batch_size, device, amp,
    channels_last, compile) on a synthetic uint8 batch resident on the device."""
    cfg = cfg.replace(pretrained="none")  # the step's cost does not depend on the encoder's weights
    dev = torch.device(cfg.resolve_device())
    step = GanStep(*build_models(cfg, say=lambda m, **_: None)[:2], cfg, Runtime(dev))  # exactly train()'s step
    size, batch = cfg.image_size, cfg.batch_size
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8, generator=gen).to(dev)
    flips = (torch.rand(batch, generator=gen) < 0.5).to(dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        step(hflip(images, flips))  # the data's per-batch flip, as in training
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step(hflip(images, flips))
    step.take_means(steps)  # the one host read per "epoch", as in training
    sync()
    seconds = (time.perf_counter() - t0) / steps
    counted = count_flops(cfg.generator, size)
    ips = batch / seconds
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else str(dev)
    sms = torch.cuda.get_device_properties(dev).multi_processor_count if dev.type == "cuda" else None
    peak = peak or (peak_tflops(name, step.amp, sms) if dev.type == "cuda" else None)
    result = {
        "generator": cfg.generator,
        "device": name,
        "batch": batch,
        "amp": "bf16" if step.amp else "off",
        "channels_last": step.fmt == torch.channels_last,
        "compile": wants_compile(cfg.compile, dev),
        "seconds_per_step": seconds,
        "images_per_s": ips,
        **counted,
        "achieved_TFLOPs": counted["step_GFLOP"] * ips / 1e3,
        "peak_TFLOPs": peak,
    }
    result["MFU"] = result["achieved_TFLOPs"] / peak if peak else None
    return result


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be a positive integer")
    return value


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__, formatter_class=HelpFormatter)
    add_config_args(p)
    p.set_defaults(profile="paper")  # the paper's step unless told otherwise
    p.add_argument("--generator", choices=GENERATORS, help="shorthand for --set generator=...")
    p.add_argument("--batch", type=_positive, help="shorthand for --set batch_size=... (default: the profile's)")
    p.add_argument("--device", help="shorthand for --set device=... (default: auto)")
    p.add_argument("--amp", choices=["auto", "bf16", "off"], help="shorthand for --set amp=...")
    p.add_argument("--channels-last", choices=["auto", "on", "off"], help="shorthand for --set channels_last=...")
    p.add_argument("--compile", action="store_true", default=None, help="shorthand for --set compile=true")
    p.add_argument("--steps", type=_positive, default=20, help="timed steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--peak-tflops", type=float, help="the device's peak, for MFU (default: known GPUs)")
    p.add_argument("--json", help="also write the result to this JSON file")
    a = p.parse_args(argv)
    if a.json:  # one line now, not after the timing
        check_writable_file(a.json, "--json")
    shorthands = {
        "generator": a.generator,
        "batch_size": a.batch,
        "device": a.device,
        "amp": a.amp,
        "channels_last": a.channels_last,
        "compile": a.compile,
    }
    changes = {k: v for k, v in shorthands.items() if v is not None}
    if "device" not in changes and not any(o.startswith("device=") for o in a.overrides):
        changes["device"] = "auto"
    r = bench(config_from_args(a, **changes), a.steps, a.warmup, a.peak_tflops)
    mfu = f"{100 * r['MFU']:.1f}%" if r["MFU"] else "n/a (pass --peak-tflops)"
    print(
        f"{r['generator']} GAN step on {r['device']}: batch {r['batch']}, amp {r['amp']}, "
        f"channels_last {r['channels_last']}, compile {r['compile']}\n"
        f"  {r['seconds_per_step']:.4f} s/step  {r['images_per_s']:.1f} images/s\n"
        f"  counted per 256x256 image: G fwd {r['G_forward_GMAC']:.2f} GMAC, D fwd {r['D_forward_GMAC']:.2f} GMAC, "
        f"train step {r['step_GFLOP']:.1f} GFLOP\n"
        f"  {r['achieved_TFLOPs']:.2f} TFLOP/s achieved, MFU {mfu}"
    )
    if a.json:
        atomic_write(a.json, json.dumps(r, indent=2))
    return 0


def _cli(argv: list[str] | None = None) -> int:
    """``python -m tools.bench``: a colorlib error (a bad setting, an unusable --json) is one line."""
    try:
        return main(argv)
    except ColorlibError as err:
        print(f"tools.bench: {err}", file=sys.stderr)
        return 1


# ----------------------------------------------------------------------------- gpu-check's rows
@functools.cache
def _counted(generator: str, size: int) -> dict:
    return count_flops(generator, size)


def _graphs(step: GanStep) -> None:
    """CUDA graphs for G and D (``torch.compile(mode="reduce-overhead")``) in place of the step's forms."""
    step.G_run = torch.compile(step.G, mode="reduce-overhead")
    step.D_run = step.D_run_nosync = torch.compile(step.D, mode="reduce-overhead")


def bench_row(
    cfg: Config, steps: int = 20, warmup: int = 5, graphs: bool = False, adam: str | None = None, label: str = ""
) -> dict:
    """One row of gpu-check's grid, in this process: wall images/s; on CUDA also GPU ms per step
    (CUDA events around the timed steps), host enqueue ms per step (the loop's own time before
    the final synchronize), peak memory; MFU against :func:`peak_tflops` scaled by SM count.
    ``graphs``: G and D as CUDA graphs; ``adam``: "fused" | "foreach" replaces the step's choice.
    The row runs under the run's process-wide switches (:func:`colorlib.utils.runtime.run_switches`:
    cuDNN, determinism), restored afterwards, as a training run sets them."""
    with run_switches(torch.device(cfg.resolve_device()), cfg.deterministic):
        return _bench_row(cfg, steps, warmup, graphs, adam, label)


def _bench_row(cfg: Config, steps: int, warmup: int, graphs: bool, adam: str | None, label: str) -> dict:
    cfg = cfg.replace(pretrained="none")
    dev = torch.device(cfg.resolve_device())
    cuda = dev.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    step = GanStep(*build_models(cfg, say=lambda m, **_: None)[:2], cfg, Runtime(dev))
    if graphs:
        _graphs(step)
    if adam:
        kw = {**step._adam, adam: True}
        step.opt_G, step.opt_D = (torch.optim.Adam(m.parameters(), **kw) for m in (step.G, step.D))
    size, batch = cfg.image_size, cfg.batch_size
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8, generator=gen).to(dev)
    flips = (torch.rand(batch, generator=gen) < 0.5).to(dev)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    mark = getattr(torch.compiler, "cudagraph_mark_step_begin", None) if graphs else None
    t0 = time.perf_counter()
    for _ in range(max(warmup, 1)):
        if mark:
            mark()
        step(hflip(images, flips))
    sync()
    first_s = time.perf_counter() - t0
    events = [torch.cuda.Event(enable_timing=True) for _ in range(2)] if cuda else None
    t0 = time.perf_counter()
    if events:
        events[0].record()
    for _ in range(steps):
        if mark:
            mark()
        step(hflip(images, flips))
    if events:
        events[1].record()
    enqueue = (time.perf_counter() - t0) / steps
    step.take_means(steps)
    sync()
    seconds = (time.perf_counter() - t0) / steps
    counted = _counted(cfg.generator, size)
    ips = batch / seconds
    props = torch.cuda.get_device_properties(dev) if cuda else None
    name = props.name if cuda else str(dev)
    peak = peak_tflops(name, step.amp, props.multi_processor_count) if cuda else None
    achieved = counted["step_GFLOP"] * ips / 1e3
    return {
        "label": label,
        "generator": cfg.generator,
        "device": name,
        "batch": batch,
        "amp": "bf16" if step.amp else "off",
        "channels_last": step.fmt == torch.channels_last,
        "compile": wants_compile(cfg.compile, dev) or graphs,
        "graphs": graphs,
        "deterministic": cfg.deterministic,
        "adam": adam or ("fused" if step.opt_G.defaults.get("fused") else "torch default"),
        "steps": steps,
        "warmup_s": round(first_s, 3),
        "seconds_per_step": seconds,
        "images_per_s": ips,
        "gpu_ms_per_step": events[0].elapsed_time(events[1]) / steps if events else None,
        "host_enqueue_ms_per_step": 1e3 * enqueue if cuda else None,
        "peak_memory_GB": torch.cuda.max_memory_allocated(dev) / 1e9 if cuda else None,
        "step_GFLOP": counted["step_GFLOP"],
        "achieved_TFLOPs": achieved,
        "peak_TFLOPs": peak,
        "MFU": achieved / peak if peak else None,
    }


if __name__ == "__main__":  # without it, `python -m tools.bench` did nothing and exited 0
    sys.exit(_cli())
