"""What made a results folder: code, command, settings, software, hardware, data.

``provenance.json`` (written by evaluate beside metrics.md, summarized at its end) records

    git        commit, and whether the working tree had uncommitted changes (``dirty``)
    command    the command line of the process that wrote the results
    runs       the full Config of every evaluated run (from its checkpoint), by run name
    software   Python, torch, torchvision, numpy, CUDA, cuDNN versions
    device     the device evaluation ran on (GPU name, or the CPU's)
    data       sha256 of the data cache's manifest.csv (which images, in which split)

so a number in metrics.md can be traced to the code and data that produced it.
"""
from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from pathlib import Path

__all__ = ["git_state", "file_sha256", "collect", "summary_lines"]


def git_state(folder: str | Path) -> dict:
    """{"commit": sha or None, "dirty": bool or None} of the git checkout holding ``folder``.

    ``dirty``: tracked files outside ``results/`` differ from the commit — changed code or
    notebooks; the results being written (a demo rewrites its committed record) do not count."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!results") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def file_sha256(path: str | Path) -> str | None:
    """sha256 of a file's bytes, or None if it does not exist."""
    path = Path(path)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _device(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU: {platform.processor() or platform.machine()}"


def _command(argv: list[str]) -> str:
    """The command line, paths shown relative to the project (a notebook kernel: said so, since
    its argv is the kernel's, with a temporary connection file)."""
    from .config import shown

    if argv and Path(argv[0]).name.startswith("ipykernel"):
        return "a Jupyter notebook (papermill or JupyterLab)"
    return " ".join(shown(a) if a.startswith("/") else a for a in argv)


def collect(cfg, runs: dict[str, dict], device: str = "cpu", command: list[str] | None = None) -> dict:
    """The provenance of results evaluated under ``cfg`` from ``runs`` ({run name: Config dict})."""
    import numpy
    import torch
    import torchvision

    from .config import project_root

    return {
        "git": git_state(project_root()),
        "command": _command(list(command if command is not None else sys.argv)),
        "runs": runs,
        "software": {"python": platform.python_version(), "torch": torch.__version__,
                     "torchvision": torchvision.__version__, "numpy": numpy.__version__,
                     "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None},
        "device": _device(device),
        "data": {"manifest_sha256": file_sha256(cfg.data_dir / "manifest.csv"), "data_key": cfg.data_key()},
    }


def summary_lines(p: dict) -> list[str]:
    """metrics.md's closing section: the provenance in a few lines."""
    git = p["git"]
    code = "not a git checkout" if not git["commit"] else (
        f"commit `{git['commit'][:12]}`" + (" **with uncommitted code changes**" if git["dirty"] else ""))
    sw = p["software"]
    cuda = f", CUDA {sw['cuda']}, cuDNN {sw['cudnn']}" if sw.get("cudnn") else ""
    seeds = ", ".join(sorted(p["runs"]))
    return [f"- **Code**: {code}; command `{p['command']}`.",
            f"- **Software**: Python {sw['python']}, torch {sw['torch']}, torchvision {sw['torchvision']}{cuda}; "
            f"device {p['device']}.",
            f"- **Runs**: {seeds} (full configs in `provenance.json`).",
            f"- **Data**: manifest sha256 `{(p['data']['manifest_sha256'] or 'missing')[:16]}…`."]
