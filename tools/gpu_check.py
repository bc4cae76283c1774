"""``make gpu-check``: the first thing to run on a GPU, in one invocation (≤ 8 minutes on one GPU).

1. the CUDA tests (``tests/test_cuda.py``: bf16 vs fp32, channels-last and ``torch.compile``
   vs the plain forward, no host sync in a step, the train set on the GPU, a CUDA checkpoint
   resumed on CUDA and loaded on the CPU, deterministic runs, NCCL DDP when ≥ 2 GPUs);
2. the training-step bench as a table: U-Net and ResNet × fp32 / bf16 / bf16 + compile × batch
   16 and 64 — images/s and MFU against counted FLOPs (each configuration in its own process,
   so one failure or out-of-memory costs one row), plus the cost of ``deterministic=true``;
3. the rehearsal of ``make reproduce`` (``make rehearse``) on CUDA with the paper's batch size
   and bf16;

and writes everything to ``<out>/report.md`` (with ``bench.json``). Without a GPU it says so in
one line and exits 1.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from colorlib.config import GENERATORS

__all__ = ["BENCH_GRID", "main"]

# (generator, amp, compile, batch)
BENCH_GRID = [
    (g, amp, comp, b)
    for g in GENERATORS
    for amp, comp in (("off", False), ("bf16", False), ("bf16", True))
    for b in (16, 64)
]
REHEARSAL_SET = "device=cuda n_train=64 n_test=16 epochs=2"


def _run(cmd: list[str], timeout: float) -> tuple[int, str, float]:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - t0
    except subprocess.TimeoutExpired as err:
        out = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        return 124, out + f"\n(timed out after {timeout:.0f} s)", time.perf_counter() - t0


def _bench_row(generator: str, amp: str, compile: bool, batch: int, extra: list[str], out: Path) -> dict:
    path = out / f"bench-{generator}-{amp}{'-compile' if compile else ''}-b{batch}{'-det' if extra else ''}.json"
    cmd = [
        sys.executable,
        "-m",
        "colorlib",
        "bench",
        "--generator",
        generator,
        "--batch",
        str(batch),
        "--device",
        "cuda",
        "--amp",
        amp,
        "--steps",
        "30",
        "--json",
        str(path),
        *(["--compile"] if compile else []),
        *extra,
    ]
    code, text, seconds = _run(cmd, timeout=240)
    if code != 0 or not path.is_file():
        return {
            "generator": generator,
            "amp": amp,
            "compile": compile,
            "batch": batch,
            "error": (text.strip().splitlines() or ["?"])[-1][:160],
        }
    row = json.loads(path.read_text())
    path.unlink()
    return {**row, "wall_s": round(seconds, 1)}


def _table(rows: list[dict]) -> str:
    lines = [
        "| generator | precision | compile | batch | images/s | s/step | TFLOP/s | MFU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['generator']} | {r['amp']} | {r['compile']} | {r['batch']} | failed: {r['error']} ||||")
            continue
        mfu = f"{100 * r['MFU']:.1f}% of {r['peak_TFLOPs']:.0f}" if r.get("MFU") else "—"
        lines.append(
            f"| {r['generator']} | {'bf16' if r['amp'] == 'bf16' else 'fp32 (TF32)'} | {r['compile']} | "
            f"{r['batch']} | {r['images_per_s']:,.0f} | {r['seconds_per_step']:.4f} | "
            f"{r['achieved_TFLOPs']:.1f} | {mfu} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.gpu_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="results/gpu-check", help="report folder (default results/gpu-check)")
    p.add_argument("--skip-rehearsal", action="store_true", help="tests and bench only")
    a = p.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print(
            "make gpu-check needs a CUDA GPU and none is visible here (torch.cuda.is_available() is False); "
            "on a CPU use make test and make rehearse",
            file=sys.stderr,
        )
        return 1
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    name = torch.cuda.get_device_name(0)
    env = (
        f"{torch.cuda.device_count()} × {name}; torch {torch.__version__}, CUDA {torch.version.cuda}, "
        f"cuDNN {torch.backends.cudnn.version()}, Python {platform.python_version()}"
    )
    print(f"gpu-check on {env}", flush=True)

    code, tests, t_tests = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_cuda.py"], 420
    )
    print(tests.strip().splitlines()[-1] if tests.strip() else "(no test output)", flush=True)

    rows = []
    for g, amp, comp, b in BENCH_GRID:
        rows.append(_bench_row(g, amp, comp, b, [], out))
        print(_table(rows[-1:]).splitlines()[-1], flush=True)
    det = _bench_row("unet", "bf16", False, 16, ["--set", "deterministic=true"], out)
    (out / "bench.json").write_text(json.dumps(rows + [dict(det, deterministic=True)], indent=2) + "\n")

    rehearsal = "skipped (--skip-rehearsal)"
    if not a.skip_rehearsal:
        r_code, r_text, r_sec = _run(
            ["make", "rehearse", f"REHEARSAL_SET={REHEARSAL_SET}", "REHEARSAL_HOME=build/gpu-rehearsal"], 420
        )
        metrics = Path("build/gpu-rehearsal/results/paper/metrics.md")
        tail = "\n".join(r_text.strip().splitlines()[-15:])
        rehearsal = (
            f'`make rehearse REHEARSAL_SET="{REHEARSAL_SET}"` (paper profile: batch 16, amp auto → bf16): '
            f"exit {r_code} in {r_sec:.0f} s\n\n```\n{tail}\n```\n"
        )
        if metrics.is_file():
            rehearsal += (
                "\n<details><summary>metrics.md of the rehearsal</summary>\n\n" + metrics.read_text() + "\n</details>\n"
            )
    det_line = (
        f"{det['images_per_s']:,.0f} images/s with `deterministic=true` (U-Net, bf16, batch 16)"
        if "error" not in det
        else f"deterministic=true: failed: {det['error']}"
    )
    report = "\n".join(
        [
            "# gpu-check",
            "",
            f"Machine: {env}.",
            f"Total time: {time.perf_counter() - t_start:.0f} s.",
            "",
            f"## CUDA tests ({t_tests:.0f} s, exit {code})",
            "",
            "```",
            "\n".join(tests.strip().splitlines()[-25:]),
            "```",
            "",
            "## Training-step speed (`python -m tools.bench`, 30 timed steps after 5 warm-up, synthetic batch on the GPU)",
            "",
            _table(rows),
            "",
            det_line,
            "",
            "MFU: counted FLOPs of the whole step (G and D forward and backward, `torch.utils.flop_counter`) "
            "per second, over the card's dense peak for the precision (see `tools/bench.py`).",
            "",
            "## Rehearsal of make reproduce on CUDA",
            "",
            rehearsal,
        ]
    )
    (out / "report.md").write_text(report + "\n")
    print(f"wrote {out / 'report.md'}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
