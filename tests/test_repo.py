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


def test_figures_the_committed_notebooks_show_exist_and_are_readable_on_screen():
    """Every figure a committed notebook links (``plots.show``) is in the repository, and its
    smallest title, label or legend is at least MIN_TEXT_PX tall in JupyterLab at 100 % zoom
    (``plots.png_bytes`` stamps that size into each PNG it writes)."""
    import json

    from PIL import Image

    from colorlib.evaluation.plots import MIN_TEXT_PX, TEXT_PX_KEY

    link = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.png)\)")
    shown = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                text = "".join(out.get("data", {}).get("text/markdown", []))
                shown |= {(path.name, m) for m in link.findall(text)}
    assert shown, "no figure links in the committed notebooks"
    problems = []
    for notebook, rel in sorted(shown):
        png = (ROOT / "notebooks" / rel).resolve()
        if not png.is_file():
            problems.append(f"{notebook}: {rel} is missing")
            continue
        with Image.open(png) as img:
            px = img.text.get(TEXT_PX_KEY)
        if px is None or float(px) < MIN_TEXT_PX:
            problems.append(f"{notebook}: {rel}: smallest text {px} px on screen (< {MIN_TEXT_PX})")
    assert not problems, "\n".join(problems)
