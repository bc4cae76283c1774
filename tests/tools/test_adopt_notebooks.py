"""tools.adopt_notebooks: the committed notebooks take the executed demo's outputs, never its code."""

from __future__ import annotations

import json

import pytest

from tools.adopt_notebooks import adopt


def _nb(cells: list[dict], **meta) -> dict:
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}, **meta}, "nbformat": 4, "nbformat_minor": 5}


def _code(source: str, outputs: list | None = None, **meta) -> dict:
    return {"cell_type": "code", "source": source, "metadata": meta, "outputs": outputs or [], "execution_count": None}


def test_outputs_are_adopted_without_papermills_traces(tmp_path):
    committed, results = tmp_path / "notebooks", tmp_path / "results"
    committed.mkdir(), results.mkdir()
    (committed / "02_train.ipynb").write_text(json.dumps(_nb([_code("x = 1", tags=["parameters"]), _code("print(x)")])))
    out = [{"output_type": "stream", "name": "stdout", "text": "2\n"}]
    executed = _nb(
        [
            _code("x = 1", tags=["parameters"]),
            _code("x = 2", tags=["injected-parameters"]),
            _code("print(x)", out, papermill={"duration": 1.0}),
        ],
        papermill={"parameters": {"x": 2}},
    )
    (results / "02_train-seed0.ipynb").write_text(json.dumps(executed))
    assert adopt(results, committed) == [committed / "02_train.ipynb"]
    nb = json.loads((committed / "02_train.ipynb").read_text())
    assert [c["source"] for c in nb["cells"]] == ["x = 1", "print(x)"]  # the injected cell is gone
    assert nb["cells"][1]["outputs"] == out and "papermill" not in nb["metadata"]
    assert "papermill" not in nb["cells"][1]["metadata"]


def test_code_from_another_version_is_refused(tmp_path):
    committed, results = tmp_path / "notebooks", tmp_path / "results"
    committed.mkdir(), results.mkdir()
    (committed / "01_data.ipynb").write_text(json.dumps(_nb([_code("new code")])))
    (results / "01_data.ipynb").write_text(json.dumps(_nb([_code("old code")])))
    with pytest.raises(SystemExit, match="another version of 01_data.ipynb"):
        adopt(results, committed)
    assert json.loads((committed / "01_data.ipynb").read_text())["cells"][0]["source"] == "new code"
