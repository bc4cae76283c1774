"""GPU claiming (issue 20, item 4): by UUID from ``nvidia-smi -L`` (MIG slices too) with
CUDA_DEVICE_ORDER=PCI_BUS_ID; GPUs on which other processes compute are skipped; the claim is
held by the command itself, so a killed wrapper does not free a GPU whose training still runs.
``nvidia-smi`` is a fake script on PATH."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SMI_L = """GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0aaa-busy)
GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-1bbb)
  MIG 3g.40gb     Device  0: (UUID: MIG-1bbb-slice0)
  MIG 3g.40gb     Device  1: (UUID: MIG-1bbb-slice1)
GPU 2: NVIDIA H100 80GB HBM3 (UUID: GPU-2ccc-free)
"""


def _fake_smi(tmp_path: Path, busy: str = "GPU-0aaa-busy, 4242") -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "smi-L.txt").write_text(SMI_L)
    (tmp_path / "smi-apps.txt").write_text(busy + "\n" if busy else "")
    script = bin_dir / "nvidia-smi"
    script.write_text(
        f'#!/bin/sh\nif [ "$1" = "-L" ]; then cat {tmp_path}/smi-L.txt; else cat {tmp_path}/smi-apps.txt; fi\n'
    )
    script.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "COLORLIB_GPU_LOCKS": str(tmp_path / "locks")}
    env["PYTHONPATH"] = f"{ROOT}:{env.get('PYTHONPATH', '')}"
    for name in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_ID", "CUDA_DEVICE_ORDER"):
        env.pop(name, None)
    return env


def _wrapped(log: Path, seconds: float) -> list[str]:
    body = f'echo "$CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER $(date +%s.%N)" >> "$0"; sleep {seconds}; echo end $(date +%s.%N) >> "$0"'
    return [sys.executable, "-m", "tools.parallel", "gpu", "--", "bash", "-c", body, str(log)]


def test_nvidia_smi_list_gives_uuids_and_mig_slices():
    from tools.parallel import parse_gpu_list

    assert parse_gpu_list(SMI_L) == [
        ("0", "GPU-0aaa-busy"),
        ("1/mig0", "MIG-1bbb-slice0"),  # a GPU split into slices: its slices, not itself
        ("1/mig1", "MIG-1bbb-slice1"),
        ("2", "GPU-2ccc-free"),
    ]
    assert parse_gpu_list("No devices were found\n") == []


def test_claims_by_uuid_skipping_a_gpu_other_processes_use(tmp_path):
    env = _fake_smi(tmp_path)
    log = tmp_path / "log"
    procs = [subprocess.Popen(_wrapped(log, 1.5), env=env, cwd=ROOT) for _ in range(3)]
    for p in procs:
        assert p.wait(timeout=60) == 0
    rows = [line.split() for line in log.read_text().splitlines() if not line.startswith("end")]
    assert sorted(r[0] for r in rows) == ["GPU-2ccc-free", "MIG-1bbb-slice0", "MIG-1bbb-slice1"]  # not the busy one
    assert all(r[1] == "PCI_BUS_ID" for r in rows)


def test_a_gpu_used_by_the_process_that_launched_the_claim_is_not_someone_elses(tmp_path):
    """make gpu-check holds a CUDA context itself when it claims GPUs for its children: that GPU
    is ours, not another user's job (this test process stands in for it, as the claim's parent)."""
    busy = f"GPU-2ccc-free, {os.getpid()}\nGPU-0aaa-busy, 4194999"
    env = {**_fake_smi(tmp_path, busy=busy), "CUDA_VISIBLE_DEVICES": "GPU-2ccc-free"}
    log = tmp_path / "log"
    assert subprocess.run(_wrapped(log, 0), env=env, cwd=ROOT, timeout=30).returncode == 0  # no endless wait
    assert log.read_text().split()[0] == "GPU-2ccc-free"


def test_cuda_visible_devices_index_is_mapped_to_its_uuid(tmp_path):
    env = {**_fake_smi(tmp_path, busy=""), "CUDA_VISIBLE_DEVICES": "2"}
    log = tmp_path / "log"
    assert subprocess.run(_wrapped(log, 0), env=env, cwd=ROOT, timeout=60).returncode == 0
    assert log.read_text().split()[0] == "GPU-2ccc-free"


def test_a_killed_wrapper_leaves_the_gpu_claimed_by_its_command(tmp_path):
    env = {**_fake_smi(tmp_path, busy=""), "CUDA_VISIBLE_DEVICES": "GPU-2ccc-free"}
    log = tmp_path / "log"
    first = subprocess.Popen(_wrapped(log, 3), env=env, cwd=ROOT, start_new_session=True)
    deadline = time.time() + 30
    while not (log.exists() and log.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)  # the wrapper only: its command (the training) goes on
    first.wait()
    second = subprocess.run(_wrapped(log, 0), env={**env}, cwd=ROOT, timeout=60, capture_output=True, text=True)
    assert second.returncode == 0
    lines = log.read_text().splitlines()
    ended = float(next(line.split()[1] for line in lines if line.startswith("end")))
    started_second = float([line.split() for line in lines if not line.startswith("end")][1][2])
    assert started_second >= ended, "the second job got the GPU while the first training still ran"
    assert "busy; waiting" in second.stderr
