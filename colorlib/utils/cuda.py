"""One line for a box whose GPU torch cannot use (usually: a driver older than torch's CUDA).

``torch.cuda.is_available()`` is False both without a GPU and with a GPU whose driver is too old
for the CUDA that torch was built with (the lock's torch 2.14.1 wheels carry CUDA 13, which needs
an NVIDIA driver ≥ 580). nvidia-smi tells the two apart; the message names the driver, torch's
CUDA and the torch index to install from (README, "GPU drivers").
"""

from __future__ import annotations

import shutil
import subprocess

__all__ = ["TORCH_INDEX", "driver_version", "no_cuda_message", "suggest_cuda_line"]

# PyTorch's wheel index per CUDA line, and the oldest Linux driver each line needs (NVIDIA's
# CUDA toolkit release notes, "minor version compatibility": the major line's first driver).
TORCH_INDEX = {  # tag: (oldest driver, index URL)
    "cu118": (450, "https://download.pytorch.org/whl/cu118"),
    "cu121": (525, "https://download.pytorch.org/whl/cu121"),
    "cu124": (525, "https://download.pytorch.org/whl/cu124"),
    "cu126": (525, "https://download.pytorch.org/whl/cu126"),
    "cu128": (525, "https://download.pytorch.org/whl/cu128"),
    "cu130": (580, "https://download.pytorch.org/whl/cu130"),
}


def driver_version() -> str | None:
    """The NVIDIA driver version nvidia-smi reports (first GPU), or None without a visible GPU."""
    if not shutil.which("nvidia-smi"):
        return None
    try:
        proc = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.strip().splitlines()
    return lines[0].strip() if proc.returncode == 0 and lines else None


def suggest_cuda_line(driver: str) -> str | None:
    """The newest CUDA line in TORCH_INDEX whose oldest driver ≤ ``driver``."""
    try:
        major = int(driver.split(".")[0])
    except ValueError:
        return None
    fitting = [tag for tag, (oldest, _) in TORCH_INDEX.items() if oldest <= major]
    return fitting[-1] if fitting else None


def no_cuda_message(
    what: str,
    driver: str | None = None,
    torch_cuda: str | None = "?",
    cpu_hint: str = "on a CPU use make test and make rehearse",
) -> str:
    """One line for ``what`` (e.g. "make gpu-check") when torch sees no CUDA device."""
    if torch_cuda == "?":
        import torch

        torch_cuda = torch.version.cuda
    driver = driver if driver is not None else driver_version()
    if driver is None:
        return (
            f"{what} needs a CUDA GPU and none is visible here (no nvidia-smi GPU, torch.cuda.is_available() "
            f"is False); {cpu_hint}"
        )
    if torch_cuda is None:
        return (
            f"{what}: nvidia-smi shows a GPU (driver {driver}) but this torch is a CPU-only build; install a CUDA "
            f"build: make setup TORCH_CUDA={suggest_cuda_line(driver) or 'cu126'} (README, GPU drivers)"
        )
    tag = suggest_cuda_line(driver)
    fix = (
        f"make setup TORCH_CUDA={tag} installs torch from {TORCH_INDEX[tag][1]}" if tag else "update the NVIDIA driver"
    )
    return (
        f"{what}: nvidia-smi shows a GPU (driver {driver}) but torch cannot use it: this torch was built for "
        f"CUDA {torch_cuda}, which that driver may be too old for; {fix} (README, GPU drivers)"
    )
