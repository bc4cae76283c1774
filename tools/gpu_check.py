"""``make gpu-check``: the first thing to run on a GPU, sized for a 15-minute lease.

    python -m tools.gpu_check --out results/gpu-check                  # CUDA, deadline 600 s
    python -m tools.gpu_check --device cpu --out build/gpu-check-cpu   # the same phases, small (CI)

One process, a global deadline (``--deadline``, default 600 s), phases in order of information
per second. ``<out>/report.md`` is written header first (GPU, SMs, MIG, compute mode, driver,
clocks, power cap, other processes, torch/CUDA/cuDNN/NCCL) and appended after EVERY phase, so a
run that is cut off keeps all it measured; each bench row is also kept as ``<out>/rows/*.json``
and ``<out>/bench.json`` is rewritten after each row.

A phase still running at the deadline is interrupted and marked **cut off by the deadline**
(what it measured so far stays in the report); phases not started are listed as not run.
Exit status: 0 every phase passed; 1 a phase failed; 2 none failed but the deadline cut one off
or left one unrun (the optional rehearsal excepted); 3 no CUDA GPU for a CUDA check.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Phase", "Report", "DeadlineReached", "run_phases", "main", "EXIT_FAILED", "EXIT_CUT_OFF"]

EXIT_OK, EXIT_FAILED, EXIT_CUT_OFF, EXIT_NO_GPU = 0, 1, 2, 3


class DeadlineReached(BaseException):
    """Raised in the main thread by SIGALRM when the global deadline passes (BaseException: a
    phase's own ``except Exception`` cannot swallow it)."""


class PhaseFailed(Exception):
    """A phase that ran to its end but found a failure (its markdown is kept)."""


@dataclass
class Phase:
    name: str
    title: str
    run: Callable[[Context], str]  # returns the phase's markdown; raises on failure
    optional: bool = False  # run only if time is left; not running it is no failure


@dataclass
class Context:
    device: str
    out: Path
    deadline: float  # time.monotonic() at which everything stops
    small: bool  # CPU: tiny sizes, few steps
    rows: list = field(default_factory=list)
    partial: list = field(default_factory=list)  # the current phase's markdown lines so far
    state: dict = field(default_factory=dict)  # shared between phases (e.g. a checkpoint)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def note(self, line: str) -> None:
        """A line of the current phase's section; kept even if the phase is cut off."""
        self.partial.append(line)
        print(line, flush=True)

    def keep_row(self, row: dict) -> None:
        self.rows.append(row)
        folder = self.out / "rows"
        folder.mkdir(exist_ok=True)
        (folder / f"{len(self.rows):02d}-{row.get('label', 'row')}.json").write_text(json.dumps(row, indent=2) + "\n")
        (self.out / "bench.json").write_text(json.dumps(self.rows, indent=2) + "\n")


class Report:
    """``report.md``, appended (and flushed to disk) section by section."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def append(self, text: str) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(text.rstrip("\n") + "\n\n")
            f.flush()
            os.fsync(f.fileno())


@contextlib.contextmanager
def _alarm(seconds: float):
    """Raise DeadlineReached in this (main) thread after ``seconds``."""

    def fire(signum, frame):
        raise DeadlineReached

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_phases(phases: list[Phase], ctx: Context, report: Report) -> int:
    """Run ``phases`` in order until the deadline, appending each one's section to ``report``."""
    status: dict[str, str] = {}
    for phase in phases:
        if ctx.left() <= 0:
            status[phase.name] = "skipped" if phase.optional else "not run"
            report.append(
                f"## {phase.title}\n\n**not run: the deadline had passed"
                f"{' (optional, run only if time is left)' if phase.optional else ''}.**"
            )
            continue
        ctx.partial = []
        t0 = time.monotonic()
        try:
            with _alarm(ctx.left()):
                body = phase.run(ctx)
            result, text = "passed", body
        except DeadlineReached:
            result = "cut off"
            text = "\n".join(
                ctx.partial
                + [
                    f"\n**cut off by the deadline after {time.monotonic() - t0:.0f} s** "
                    "(what it measured before is above).\n"
                ]
            )
        except PhaseFailed as err:
            result, text = "failed", f"{err}\n\n**FAILED.**"
        except Exception:  # noqa: BLE001 - recorded in the report, with its traceback
            result = "failed"
            text = "\n".join(ctx.partial + ["", "**FAILED:**", "", "```", traceback.format_exc().rstrip(), "```"])
        status[phase.name] = result
        report.append(f"## {phase.title} ({time.monotonic() - t0:.1f} s, {result})\n\n{text}")
        print(
            f"[gpu-check] {phase.name}: {result} ({time.monotonic() - t0:.1f} s, {ctx.left():.0f} s left)", flush=True
        )
    summary = " · ".join(f"{k}: {v}" for k, v in status.items())
    report.append(f"## Summary\n\n{summary}")
    if "failed" in status.values():
        return EXIT_FAILED
    if any(v in ("cut off", "not run") for v in status.values()):
        return EXIT_CUT_OFF
    return EXIT_OK


# ----------------------------------------------------------------------------- the header
def _smi(*query: str) -> str | None:
    if not shutil.which("nvidia-smi"):
        return None
    try:
        proc = subprocess.run(["nvidia-smi", *query], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


SMI_FIELDS = (
    "name",
    "uuid",
    "driver_version",
    "compute_mode",
    "mig.mode.current",
    "clocks.sm",
    "clocks.max.sm",
    "clocks.mem",
    "clocks.max.mem",
    "power.limit",
    "power.max_limit",
    "pstate",
    "temperature.gpu",
    "memory.used",
    "memory.total",
)


def header(device: str) -> str:
    """What nvidia-smi and torch can tell about the machine, as markdown."""
    import torch

    lines = [
        "# gpu-check",
        "",
        f"Started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; Python {platform.python_version()}, "
        f"torch {torch.__version__}, CUDA (torch built for) {torch.version.cuda}, "
        f"cuDNN {torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else 'n/a'}, "
        f"NCCL {'.'.join(map(str, _nccl())) if _nccl() else 'n/a'}.",
        "",
    ]
    if device == "cpu":
        cpu = next(
            (ln.split(":", 1)[1].strip() for ln in _read("/proc/cpuinfo").splitlines() if ln.startswith("model name")),
            platform.processor() or "?",
        )
        lines += [
            f"**CPU run** (machinery check, tiny sizes, no GPU numbers): {cpu}, {os.cpu_count()} logical CPUs, "
            f"torch threads {torch.get_num_threads()}."
        ]
    else:
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            lines.append(
                f"- torch device {i}: {p.name}, {p.multi_processor_count} SMs, "
                f"{p.total_memory / 2**30:.1f} GiB, compute capability {p.major}.{p.minor}"
                f"{' — a MIG slice' if 'MIG' in p.name else ''}"
            )
    smi = _smi(f"--query-gpu={','.join(SMI_FIELDS)}", "--format=csv,noheader")
    if smi:
        lines += ["", "nvidia-smi:", "", "| " + " | ".join(SMI_FIELDS) + " |", "|" + "---|" * len(SMI_FIELDS)]
        lines += ["| " + " | ".join(x.strip() for x in row.split(",")) + " |" for row in smi.splitlines()]
        apps = _smi("--query-compute-apps=pid,process_name,used_memory", "--format=csv,noheader")
        lines += ["", f"Other processes on the GPUs: {apps.replace(chr(10), '; ') if apps else 'none'}."]
        mig = _smi("-L")
        if mig and "MIG" in mig:
            lines += ["", "**MIG is on**: " + mig.replace("\n", "; ")]
    else:
        lines += ["", "nvidia-smi: not available here."]
    return "\n".join(lines)


def _nccl():
    try:
        import torch

        v = torch.cuda.nccl.version()
        return v if isinstance(v, tuple) else (v,)
    except Exception:  # noqa: BLE001 - a CPU build has no NCCL
        return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


# ----------------------------------------------------------------------------- phases
def _cfg(ctx: Context, generator: str, batch: int, **kw):
    """The step of ``generator`` at 256² (CPU: the ResNet at 64² for every row — the U-Net's
    smallest input, 256², takes seconds per step on a small CPU)."""
    from colorlib.config import Config

    if ctx.small:
        generator = "resnet"
    size = 64 if ctx.small else 256
    return Config.from_profile(
        "smoke", generator=generator, image_size=size, batch_size=batch, device=ctx.device, pretrained="none", **kw
    )


def _steps(ctx: Context) -> tuple[int, int]:
    return (2, 1) if ctx.small else (20, 5)


def _fmt(v, spec: str = ",.0f") -> str:
    return "—" if v is None else format(v, spec)


ROW_HEADER = [
    "| row | generator | batch | amp | compile | graphs | images/s | GPU ms/step | host ms/step | "
    "peak GB | TFLOP/s | MFU |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
]


def _row_line(r: dict) -> str:
    if "error" in r:
        return f"| {r['label']} | {r.get('generator', '')} | {r.get('batch', '')} | failed: {r['error']} |||||||||"
    mfu = f"{100 * r['MFU']:.1f}% of {r['peak_TFLOPs']:.0f}" if r.get("MFU") else "—"
    return (
        f"| {r['label']} | {r['generator']} | {r['batch']} | {r['amp']} | {r['compile']} | {r['graphs']} | "
        f"{r['images_per_s']:,.1f} | {_fmt(r['gpu_ms_per_step'], '.2f')} | "
        f"{_fmt(r['host_enqueue_ms_per_step'], '.2f')} | {_fmt(r['peak_memory_GB'], '.2f')} | "
        f"{r['achieved_TFLOPs']:.2f} | {mfu} |"
    )


def _bench(ctx: Context, specs: list[tuple[str, str, int, dict, dict]]) -> str:
    """Rows ``(label, generator, batch, cfg changes, bench_row kwargs)``; a failed row is a row."""
    from tools.bench import bench_row

    steps, warmup = _steps(ctx)
    for line in ROW_HEADER:
        ctx.note(line)
    failed = []
    for label, generator, batch, cfg_kw, kw in specs:
        try:
            row = bench_row(_cfg(ctx, generator, batch, **cfg_kw), steps, warmup, label=label, **kw)
        except Exception as err:  # noqa: BLE001 - one row's failure (e.g. out of memory) is that row's
            row = {
                "label": label,
                "generator": generator,
                "batch": batch,
                "error": f"{type(err).__name__}: {err}"[:200],
            }
            failed.append(label)
        if not ctx.small:  # the clocks the row ended at (a throttled card shows here), and a clean slate
            row["clocks_sm_mem_MHz_power_W"] = _smi(
                "--query-gpu=clocks.sm,clocks.mem,power.draw", "--format=csv,noheader,nounits"
            )
            import gc

            import torch

            gc.collect()
            torch.cuda.empty_cache()
        ctx.keep_row(row)
        ctx.note(_row_line(row))
    text = "\n".join(ctx.partial)
    if failed:
        raise PhaseFailed(text + f"\n\nfailed rows: {', '.join(failed)}")
    return text


def phase_bench_eager(ctx: Context) -> str:
    gens = ("resnet",) if ctx.small else ("unet", "resnet")
    batches = (2,) if ctx.small else (16, 64)
    return _bench(
        ctx,
        [
            (f"{g}-b{b}-bf16", g, b, {"amp": "bf16", "channels_last": "on", "compile": False}, {})
            for g in gens
            for b in batches
        ],
    )


def phase_bench_compiled(ctx: Context) -> str:
    if ctx.small:
        return "Compiled and CUDA-graph rows: CUDA only (compiling on this CPU takes minutes)."
    rows = [
        (
            f"{g}-b{b}-bf16-{kind}",
            g,
            b,
            {"amp": "bf16", "channels_last": "on", "compile": True},
            {"graphs": kind == "graphs"},
        )
        for kind in ("compiled", "graphs")
        for g in ("unet", "resnet")
        for b in (16, 64)
    ]
    text = _bench(ctx, rows)
    return text + "\n\n" + _dynamo_counts()


def _dynamo_counts() -> str:
    try:
        from torch._dynamo.utils import counters
    except ImportError:
        return "Dynamo counters: not available."
    stats = {k: dict(v) for k, v in counters.items() if k in ("stats", "recompiles", "graph_break", "frames")}
    return (
        "Dynamo counters after the compiled rows:\n\n```\n" + json.dumps(stats, indent=1, default=str)[:3000] + "\n```"
    )


def phase_ab(ctx: Context) -> str:
    b, g = (2, "resnet") if ctx.small else (16, "unet")
    base = {"amp": "bf16", "channels_last": "on", "compile": False}
    return _bench(
        ctx,
        [
            (f"{g}-adam-fused", g, b, base, {"adam": "fused"}),
            (f"{g}-adam-foreach", g, b, base, {"adam": "foreach"}),
            (f"{g}-channels_last-off", g, b, {**base, "channels_last": "off"}, {}),
            (f"{g}-deterministic", g, b, {**base, "deterministic": True}, {}),  # global flags restored after
        ],
    )


def phase_profile(ctx: Context) -> str:
    """Kernels per step, the top kernels, GPU idle % over a few profiled steps."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from colorlib.step import GanStep
    from colorlib.train import build_models
    from colorlib.utils.runtime import Runtime

    cuda = ctx.device != "cpu"
    cfg = _cfg(ctx, "unet", 2 if ctx.small else 16, amp="bf16", channels_last="on", compile=False)
    dev = torch.device(cfg.resolve_device())
    step = GanStep(*build_models(cfg, say=lambda m, **_: None)[:2], cfg, Runtime(dev))
    images = torch.randint(0, 256, (cfg.batch_size, cfg.image_size, cfg.image_size, 3), dtype=torch.uint8).to(dev)
    step(images)
    n = 2 if ctx.small else 5
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    sync()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    t0 = time.perf_counter()
    with profile(activities=acts) as prof:
        for _ in range(n):
            step(images)
        sync()
    wall_us = (time.perf_counter() - t0) * 1e6
    events = prof.events()
    if cuda:
        kernels = [e for e in events if e.device_type == torch.autograd.DeviceType.CUDA]
        busy = (
            sum(e.device_time for e in kernels)
            if kernels and hasattr(kernels[0], "device_time")
            else sum(e.cuda_time for e in kernels)
        )
        idle = f"{max(0.0, 100 * (1 - busy / wall_us)):.1f}%"
        what, key = "kernels", "self_device_time_total"
    else:
        kernels = [e for e in events if e.name.startswith("aten::")]
        idle, what, key = "n/a (CPU)", "aten ops", "self_cpu_time_total"
    lines = [
        f"{cfg.generator}, batch {cfg.batch_size}, bf16 + channels-last, eager: {n} profiled steps, "
        f"{len(kernels) / n:.0f} {what} per step, GPU idle {idle} of the wall time "
        f"({wall_us / n / 1e3:.1f} ms per step under the profiler).",
        "",
        "```",
        prof.key_averages().table(sort_by=key, row_limit=12, max_name_column_width=60),
        "```",
    ]
    return "\n".join(lines)


def _sub(ctx: Context, cmd: list[str], timeout: float | None = None) -> tuple[int, str, float]:
    """A child process with at most the time left; killed (with its group) at the deadline."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=max(1.0, min(timeout or ctx.left(), ctx.left())))
    except (subprocess.TimeoutExpired, DeadlineReached):
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        ctx.note("```\n" + "\n".join((out or "").strip().splitlines()[-15:]) + "\n```")
        raise DeadlineReached from None
    return proc.returncode, out, time.monotonic() - t0


def _tail(text: str, n: int = 15) -> str:
    return "```\n" + "\n".join(text.strip().splitlines()[-n:]) + "\n```"


def phase_cuda_tests(ctx: Context) -> str:
    code, out, sec = _sub(ctx, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_cuda.py"])
    text = f"`pytest tests/test_cuda.py`: exit {code} in {sec:.0f} s\n\n{_tail(out, 25)}"
    if code not in (0, 5):  # 5: nothing collected
        raise PhaseFailed(text)
    return text


def phase_first_step(ctx: Context) -> str:
    """A one-step training run in a fresh process: start-up + data + model + first step."""
    home = ctx.out / "work"
    sets = {
        "generator": "resnet" if ctx.small else "unet",
        "image_size": 64 if ctx.small else 256,
        "n_train": 2,
        "n_test": 2,
        "batch_size": 2,
        "epochs": 1,
        "pretrained": "none",
        "device": ctx.device,
        "data_root": str(home / "data"),
        "run_root": str(home / "runs"),
        "results_root": str(home / "results"),
        "sample_every": 0,
    }
    args = [a for k, v in sets.items() for a in ("--set", f"{k}={v}")]
    code, out, sec = _sub(ctx, [sys.executable, "-m", "colorlib", "prepare", "--profile", "smoke", *args])
    ctx.note(f"`python -m colorlib prepare` (smoke, the bundled photos): exit {code}, {sec:.1f} s wall")
    if code != 0:
        raise PhaseFailed("\n".join(ctx.partial) + "\n\n" + _tail(out, 8))
    code, out, sec = _sub(ctx, [sys.executable, "-m", "colorlib", "train", "--profile", "smoke", *args])
    ctx.note(
        f"`python -m colorlib train` (smoke, {sets['generator']}, one step of batch 2, a fresh process: "
        f"start-up, data, models, the first step, a checkpoint): exit {code}, **{sec:.1f} s wall**\n\n{_tail(out, 8)}"
    )
    text = "\n".join(ctx.partial)
    if code != 0:
        raise PhaseFailed(text)
    ctx.state["sets"], ctx.state["generator"] = args, sets["generator"]
    ctx.state["checkpoint"] = next((home / "runs").rglob("checkpoint.pt"), None)
    return text


def phase_evaluate_colorize(ctx: Context) -> str:
    ck = ctx.state.get("checkpoint")
    if not ck:
        raise PhaseFailed("no checkpoint: the first-step phase did not run or failed")
    import numpy as np
    from PIL import Image

    photo = ctx.out / "work" / "photo.jpg"
    h, w = (300, 400) if ctx.small else (3000, 4000)  # 12 MP on CUDA
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(photo, quality=90)
    code, out, sec = _sub(
        ctx,
        [
            sys.executable,
            "-m",
            "colorlib",
            "colorize",
            str(photo),
            "--out",
            str(ctx.out / "work" / "colorized"),
            "--checkpoint",
            str(ck),
        ],
    )
    lines = [f"colorize a {w}×{h} photo: exit {code}, {sec:.1f} s wall", "", _tail(out, 5)]
    ctx.note("\n".join(lines))
    code2, out2, sec2 = _sub(
        ctx,
        [
            sys.executable,
            "-m",
            "colorlib",
            "evaluate",
            "--profile",
            "smoke",
            *ctx.state["sets"],
            "--generators",
            ctx.state["generator"],
            "--modes",
            "eval",
        ],
    )
    lines += [
        "",
        f"evaluate (smoke test set, {ctx.state['generator']}): exit {code2}, {sec2:.1f} s wall",
        "",
        _tail(out2, 8),
    ]
    if code or code2:
        raise PhaseFailed("\n".join(lines))
    return "\n".join(lines)


def phase_ddp(ctx: Context) -> str:
    """GanStep's DDP code path at world size 1 (NCCL on CUDA, gloo on the CPU), in this process."""
    import tempfile

    import torch
    import torch.distributed as dist

    from colorlib.step import GanStep
    from colorlib.train import build_models
    from colorlib.utils.runtime import Runtime

    class OneRankDDP(Runtime):
        @property
        def distributed(self) -> bool:  # the DDP wrapping and all-reduce, with one rank
            return True

    backend = "gloo" if ctx.device == "cpu" else "nccl"
    cfg = _cfg(ctx, "resnet", 2 if ctx.small else 16, compile=False)
    dev = torch.device(cfg.resolve_device())
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    with tempfile.NamedTemporaryFile() as f:
        dist.init_process_group(backend, init_method=f"file://{f.name}", rank=0, world_size=1)
        try:
            step = GanStep(*build_models(cfg, say=lambda m, **_: None)[:2], cfg, OneRankDDP(dev, 0, 1, 0))
            images = torch.randint(0, 256, (cfg.batch_size, cfg.image_size, cfg.image_size, 3), dtype=torch.uint8).to(
                dev
            )
            t0 = time.perf_counter()
            for _ in range(3):
                step(images)
            means = step.take_means(3)
            sec = (time.perf_counter() - t0) / 3
        finally:
            dist.destroy_process_group()
    if not all(math.isfinite(v) for v in means.values()):
        raise PhaseFailed(f"non-finite losses under DDP: {means}")
    return (
        f"DDP ({backend}, world size 1), ResNet batch {cfg.batch_size}: 3 steps, {sec:.3f} s/step, losses "
        + ", ".join(f"{k} {v:.3f}" for k, v in means.items())
    )


_CLAIMANT = (
    "import os, sys, time; t0 = time.time(); time.sleep(float(sys.argv[1])); "
    "print(os.environ.get('CUDA_VISIBLE_DEVICES', '-'), t0, time.time())"
)


def phase_claims(ctx: Context) -> str:
    """Two trainings' GPU claims at once (``tools.parallel gpu``, as ``make -j 2`` starts them),
    each holding its GPU for 2 s: on one GPU the second waits for the first, on several they run
    side by side on different GPUs; without GPUs both run unclaimed."""
    import tempfile

    from tools.parallel import visible_gpus

    gpus = visible_gpus()
    with tempfile.TemporaryDirectory() as locks:
        env = {**os.environ, "COLORLIB_GPU_LOCKS": locks}
        cmd = [sys.executable, "-m", "tools.parallel", "gpu", "--", sys.executable, "-c", _CLAIMANT, "2"]
        procs = [
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in "ab"
        ]
        try:
            outs = [p.communicate(timeout=max(1.0, min(60.0, ctx.left())))[0] for p in procs]
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise PhaseFailed("two GPU claims did not both finish within 60 s (a claim waits forever?)") from None
    rows = []
    for p, out in zip(procs, outs):
        last = out.strip().splitlines()[-1].split() if out.strip() else []
        if p.returncode != 0 or len(last) != 3:
            raise PhaseFailed(f"a claimed command failed (exit {p.returncode}):\n{_tail(out)}")
        rows.append((last[0], float(last[1]), float(last[2])))
    (ga, a0, a1), (gb, b0, b1) = rows
    overlap = a0 < b1 and b0 < a1
    text = f"{len(gpus)} GPU(s) visible; the two commands got {ga} and {gb}, " + (
        "and ran at the same time" if overlap else "one after the other"
    )
    if len(gpus) == 1 and (overlap or ga != gb):
        raise PhaseFailed(text + ": with one GPU the second claim must wait for the first")
    if len(gpus) > 1 and (ga == gb or not overlap):
        raise PhaseFailed(text + ": with several GPUs each claim must get its own, at once")
    return text + "."


def phase_rehearsal(ctx: Context) -> str:
    if ctx.small:
        return "The rehearsal: CUDA only here (on a CPU: make rehearse, minutes)."
    sets = "device=cuda n_train=64 n_test=16 epochs=2"
    code, out, sec = _sub(ctx, ["make", "rehearse", f"REHEARSAL_SET={sets}", "REHEARSAL_HOME=build/gpu-rehearsal"])
    text = f'`make rehearse REHEARSAL_SET="{sets}"`: exit {code} in {sec:.0f} s\n\n{_tail(out)}'
    if code != 0:
        raise PhaseFailed(text)
    return text


def phases(device: str) -> list[Phase]:
    """In order of information per second (cheap, decisive numbers first)."""
    return [
        Phase("bench-eager", "Training step, eager bf16 + channels-last", phase_bench_eager),
        Phase("cuda-tests", "CUDA tests (tests/test_cuda.py)", phase_cuda_tests),
        Phase("profile", "Profiler: a few steps", phase_profile),
        Phase("ab", "A/B: fused vs foreach Adam, channels-last off, deterministic", phase_ab),
        Phase("first-step", "Time to the first step of train", phase_first_step),
        Phase("bench-compiled", "Training step, compiled and CUDA graphs (+ Dynamo counts)", phase_bench_compiled),
        Phase("evaluate-colorize", "evaluate and colorize", phase_evaluate_colorize),
        Phase("ddp", "DDP code path at world size 1", phase_ddp),
        Phase("claims", "Two GPU claims at once (tools.parallel gpu)", phase_claims),
        Phase("rehearsal", "Rehearsal of make reproduce", phase_rehearsal, optional=True),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.gpu_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="results/gpu-check", help="report folder (default results/gpu-check)")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu: the same phases, small")
    p.add_argument("--deadline", type=float, default=600.0, help="seconds for everything (default 600)")
    p.add_argument("--phases", help="comma-separated subset of: " + ", ".join(ph.name for ph in phases("cuda")))
    p.add_argument("--skip-rehearsal", action="store_true", help="leave out the (optional) rehearsal")
    a = p.parse_args(argv)
    start = time.monotonic()
    import torch

    if a.device != "cpu" and not torch.cuda.is_available():
        from colorlib.utils.cuda import no_cuda_message

        print(no_cuda_message("make gpu-check"), file=sys.stderr)
        return EXIT_NO_GPU
    chosen = phases(a.device)
    if a.phases:
        names = [n.strip() for n in a.phases.split(",") if n.strip()]
        unknown = [n for n in names if n not in {ph.name for ph in chosen}]
        if unknown:
            p.error(f"unknown phase(s) {', '.join(unknown)}; choose from {', '.join(ph.name for ph in chosen)}")
        chosen = [ph for ph in chosen if ph.name in names]
    if a.skip_rehearsal:
        chosen = [ph for ph in chosen if ph.name != "rehearsal"]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "rows", ignore_errors=True)
    report = Report(out / "report.md")
    report.append(header(a.device) + f"\n\nDeadline {a.deadline:.0f} s; phases: {', '.join(ph.name for ph in chosen)}.")
    ctx = Context(a.device, out, start + a.deadline, small=a.device == "cpu")
    code = run_phases(chosen, ctx, report)
    print(f"wrote {out / 'report.md'} in {time.monotonic() - start:.0f} s (exit {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
