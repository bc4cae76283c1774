"""tools.screenshots: JupyterLab in a real headless Chromium, a notebook screen by screen."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from tools import screenshots

BROWSER = next((b for b in screenshots.BROWSERS if shutil.which(b)), None)


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="no Chromium (apt install chromium)")
def test_a_notebook_is_shot_screen_by_screen_to_its_end(tmp_path):
    nb = screenshots.ROOT / "notebooks" / "01_data_prep.ipynb"
    made = screenshots.shoot([nb], tmp_path, BROWSER)
    screens = sorted((tmp_path / nb.stem).glob("*.png"))
    assert made == {nb.name: len(screens)} and len(screens) >= 3  # a long notebook: several screens
    arrays = []
    for path in screens:
        with Image.open(path) as im:
            assert im.size == (1366, 768)
            arrays.append(np.asarray(im.convert("L"), dtype=np.int16))
    assert all(a.std() > 10 for a in arrays)  # JupyterLab drew something, not a blank page
    assert all(np.abs(a - b).mean() > 1 for a, b in zip(arrays, arrays[1:]))  # each screen scrolled on


def test_without_a_browser_it_says_so_in_one_line(capsys):
    assert screenshots.main(["--browser", "no-such-browser-here"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no-such-browser-here" in err and "apt install chromium" in err
    assert screenshots.main(["notebooks/99_missing.ipynb", "--browser", "sh"]) == 1
    assert "no such notebook: notebooks/99_missing.ipynb" in capsys.readouterr().err
