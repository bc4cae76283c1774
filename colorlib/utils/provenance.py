"""What made a results folder: code, command, settings, software, hardware, data.

``provenance.json`` (written by evaluate beside metrics.md, summarized at its end) records

    git        the last commit that changed the code (colorlib/, Makefile, pyproject.toml, the lock)
               and whether that code has uncommitted changes (``dirty``)
    notebooks_sha256  a digest of the notebooks' code cells
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


# What computes the results: a results folder records the last commit that changed these, so
# committing the record itself (results/, notebook outputs, README) does not make it stale.
CODE_PATHS = ("colorlib", "tools", "Makefile", "pyproject.toml", "requirements.lock")
CHECKOUT = Path(__file__).resolve().parents[2]  # the source tree this code runs from (colorlib/utils/ → ../..)


def git_state(folder: str | Path) -> dict:
    """{"commit": the last commit that changed CODE_PATHS (or None), "dirty": whether they have
    uncommitted changes now (or None)} of the git checkout at ``folder``. The notebooks' code is
    recorded apart (:func:`notebooks_sha256`): their committed outputs change with every run."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("log", "-1", "--format=%H", "--", *CODE_PATHS) or None
    status = (
        git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS)
        if commit
        else None
    )  # --no-optional-locks: reading the state never rewrites .git/index
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def notebooks_sha256(folder: str | Path) -> str | None:
    """sha256 of the code cells of ``folder``'s notebooks (sources only, outputs ignored)."""
    import json

    files = sorted(Path(folder).glob("*.ipynb"))
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        digest.update(path.name.encode() + b"\0")
        for cell in cells:
            if cell.get("cell_type") == "code":
                digest.update("".join(cell.get("source", "")).encode("utf-8") + b"\0")
    return digest.hexdigest()


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
    from colorlib.utils.files import shown

    if argv and Path(argv[0]).name.startswith("ipykernel"):
        return "a Jupyter notebook (papermill or JupyterLab)"
    return " ".join(shown(a) if a.startswith("/") else a for a in argv)


def collect(cfg, runs: dict[str, dict], device: str = "cpu", command: list[str] | None = None) -> dict:
    """The provenance of results evaluated under ``cfg`` from ``runs`` ({run name: Config dict})."""
    import numpy
    import torch
    import torchvision

    return {
        "git": git_state(CHECKOUT),
        "notebooks_sha256": notebooks_sha256(CHECKOUT / "notebooks"),
        "command": _command(list(command if command is not None else sys.argv)),
        "runs": runs,
        "software": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "numpy": numpy.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
        },
        "device": _device(device),
        "data": {"manifest_sha256": file_sha256(cfg.data_dir / "manifest.csv"), "data_key": cfg.data_key()},
    }


def summary_lines(p: dict) -> list[str]:
    """metrics.md's closing section: the provenance in a few lines."""
    git = p["git"]
    code = (
        "not a git checkout"
        if not git["commit"]
        else (f"code of commit `{git['commit'][:12]}`" + (" **with uncommitted changes**" if git["dirty"] else ""))
    )
    sw = p["software"]
    cuda = f", CUDA {sw['cuda']}, cuDNN {sw['cudnn']}" if sw.get("cudnn") else ""
    seeds = ", ".join(sorted(p["runs"]))
    return [
        f"- **Code**: {code}; command `{p['command']}`.",
        f"- **Software**: Python {sw['python']}, torch {sw['torch']}, torchvision {sw['torchvision']}{cuda}; "
        f"device {p['device']}.",
        f"- **Runs**: {seeds} (full configs in `provenance.json`).",
        f"- **Data**: manifest sha256 `{(p['data']['manifest_sha256'] or 'missing')[:16]}…`.",
    ]
