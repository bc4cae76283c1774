"""Which training-step path is fastest on this CPU, and is it the default? (issue: CPU fast path)

    .venv/bin/python -m benchmarks.bench_cpu_paths [--steps 5] [--batch 4] [--compile]   (from the checkout: it uses tools/)

Times the exact training step (colorlib.step.GanStep, via tools.bench) for U-Net and ResNet
in fp32, fp32 + channels-last, bf16 autocast, bf16 + channels-last (and, with --compile, bf16 +
channels-last + torch.compile), interleaved per generator so a busy machine slows all paths
alike; prints seconds per step and the ratio to fp32, and what ``amp=auto`` /
``channels_last=auto`` choose here. Agreement with fp32 is tested in tests/test_train.py
(test_cpu_fast_path_agrees_with_fp32).
"""

from __future__ import annotations

import argparse
import platform

import torch

from colorlib.config import Config
from colorlib.utils.runtime import cpu_has_bf16, fast_path
from tools.bench import bench

PATHS = [
    ("fp32", "off", "off", False),
    ("fp32 + channels-last", "off", "on", False),
    ("bf16", "bf16", "off", False),
    ("bf16 + channels-last", "bf16", "on", False),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--compile", action="store_true", help="also bf16 + channels-last + torch.compile (slow to compile)")
    a = p.parse_args()
    paths = PATHS + ([("bf16 + channels-last + compile", "bf16", "on", True)] if a.compile else [])
    print(
        f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, native bf16: "
        f"{cpu_has_bf16()}; auto chooses {'bf16 + channels-last' if fast_path(torch.device('cpu')) else 'fp32'}"
    )
    print(f"batch {a.batch}, {a.steps} timed steps after 2 warm-up, torch {torch.__version__}\n")
    print("| generator | path | s/step | × fp32 |\n|---|---|---|---|")
    for generator in ("unet", "resnet"):
        base = None
        for name, amp, cl, comp in paths:
            cfg = Config.from_profile(
                "paper", generator=generator, batch_size=a.batch, device="cpu", amp=amp, channels_last=cl, compile=comp
            )
            seconds = bench(cfg, steps=a.steps, warmup=2)["seconds_per_step"]
            base = base or seconds
            print(f"| {generator} | {name} | {seconds:.3f} | {seconds / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()
