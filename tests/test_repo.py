"""The repository as users clone it: no committed file carries the absolute paths of the
machine that made it (notebook outputs, metrics.md, manifests, provenance included)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# this checkout, the home folder, the temp folder, and the usual roots of other machines
_MACHINE = re.compile(
    "|".join(re.escape(p) for p in {str(ROOT), str(Path.home()) + "/", tempfile.gettempdir().rstrip("/") + "/"})
    + r"|/home/[a-z][\w.-]*/|/Users/[A-Za-z][\w.-]*/|/work/"
)


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_no_committed_file_holds_an_absolute_path_of_a_machine():
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, text=True, check=True
    ).stdout.split("\0")
    found = []
    for name in filter(None, files):
        if name.startswith(("tests/", ".ci/")):  # tests build hostile paths on purpose
            continue
        data = (ROOT / name).read_bytes() if (ROOT / name).is_file() else b""
        if b"\0" in data[:8192]:
            continue  # binary (PNG, …)
        text = data.decode("utf-8", errors="replace")
        found += [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}" for m in _MACHINE.finditer(text)]
    assert not found, "absolute machine paths in committed files:\n" + "\n".join(found[:20])


def test_committed_notebooks_are_light():
    """Figures go to results/ and notebooks link them (``plots.show``): no image is stored in a
    committed notebook's outputs, and each stays small enough to read in a diff."""
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        images = [
            k for c in nb["cells"] for o in c.get("outputs", []) for k in o.get("data", {}) if k.startswith("image/")
        ]
        assert not images, f"{path.name}: {len(images)} image output(s); save the figure and display(plots.show(path))"
        assert path.stat().st_size < 300_000, f"{path.name}: {path.stat().st_size // 1000} KB"
