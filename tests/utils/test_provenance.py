"""colorlib.utils.provenance: the record names the checkout the code runs from."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from colorlib.utils import provenance

ROOT = Path(__file__).resolve().parents[2]


def test_the_checkout_is_the_repository_root():
    """CHECKOUT must be the folder holding pyproject.toml and notebooks/ (a module that moves
    deeper must not leave it pointing inside the package: the record then said "not a git
    checkout" and hashed no notebooks)."""
    assert provenance.CHECKOUT == ROOT and (ROOT / "pyproject.toml").is_file()
    assert provenance.notebooks_sha256(provenance.CHECKOUT / "notebooks")  # the notebooks are found


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_the_record_names_the_last_code_commit():
    want = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%H", "--", *provenance.CODE_PATHS],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert provenance.git_state(provenance.CHECKOUT)["commit"] == want
