"""Make the committed notebooks carry the outputs of the last ``make demo``.

    python -m tools.adopt_notebooks [--results results/demo/notebooks]

For each ``notebooks/NN_name.ipynb``, the executed copy ``<results>/NN_name.ipynb`` (or
``NN_name-seed<first seed>.ipynb``) replaces it, with papermill's traces removed: the injected
parameters cell and papermill's metadata. The sources of the executed copy must equal the
committed ones (a notebook edited after the demo ran is refused, in one line): only outputs are
adopted, never code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _clean(nb: dict) -> dict:
    nb["cells"] = [c for c in nb["cells"] if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    nb["metadata"].pop("papermill", None)
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    return nb


def _sources(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"]]


def adopt(results: Path, notebooks: Path = ROOT / "notebooks") -> list[Path]:
    """Replace each committed notebook by its executed copy under ``results``; returns those done."""
    done = []
    for target in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        found = sorted(results.glob(f"{target.stem}.ipynb")) + sorted(results.glob(f"{target.stem}-seed*.ipynb"))
        if not found:
            raise SystemExit(f"adopt_notebooks: no executed copy of {target.name} in {results}; run make demo first")
        executed = _clean(json.loads(found[0].read_text(encoding="utf-8")))
        committed = json.loads(target.read_text(encoding="utf-8"))
        if _sources(executed) != _sources(committed):
            raise SystemExit(
                f"adopt_notebooks: {found[0]} was run from another version of {target.name}; run make demo again"
            )
        target.write_text(json.dumps(executed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        done.append(target)
    return done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.adopt_notebooks", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default=str(ROOT / "results" / "demo" / "notebooks"), help="the executed notebooks")
    args = p.parse_args(argv)
    for path in adopt(Path(args.results)):
        print(f"adopted the outputs of {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
