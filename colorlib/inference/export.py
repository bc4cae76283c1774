"""Share a trained colorizer: the generator alone as safetensors, its metadata and a model card.

    python -m colorlib export runs/paper/unet-seed0 --out unet-seed0.safetensors [--fp16]

writes FILE, the generator's weights only (no discriminator, no optimizer state: 218 MB for the
U-Net in fp32, half with ``--fp16``), and ``FILE`` with suffix ``.md``, a short model card.
RUN_OR_CHECKPOINT is a run folder or its ``checkpoint.pt``. The safetensors header holds, as
strings:

    format        "colorlib-generator-1"
    generator     "unet" | "resnet"
    config        the run's Config as JSON (its output roots blanked: this machine's paths)
    encoder_init  where the ResNet encoder's weights came from (the checkpoint's)
    checkpoint    JSON of the checkpoint's other plain entries (epoch, iteration, history, …)
    dtype         "float32" | "float16"
    metrics       JSON rows of ``<results>/<profile>/metrics.csv`` for this run, if evaluated
    provenance    JSON of ``<results>/<profile>/provenance.json`` (this run's entry), if written

Whatever loads a checkpoint loads an export too (:func:`colorlib.checkpoint.load_generator`):
``colorize --checkpoint``, ``load_colorizer``, ``evaluate`` (a run folder holding one
``*.safetensors`` and no checkpoint.pt), the notebooks, and ``torch.hub`` (``hubconf.py``, with
:func:`resolve_weights` for URLs).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
from pathlib import Path

import torch

from colorlib.checkpoint import EXPORT_FORMAT, data_sha256, export_info, generator_state, safetensors_api
from colorlib.utils.download import fetch_hashed, hash_in_name
from colorlib.utils.errors import ColorlibError
from colorlib.utils.files import DiskFullError, atomic_write, check_writable_file, sha256_file

__all__ = ["ExportError", "export", "model_card", "resolve_weights"]


_OUTPUT_ROOTS = ("data_root", "run_root", "results_root")  # where files went on the training machine


def _run_results(info: dict, checkpoint: Path) -> dict[str, str]:
    """The run's test metrics and provenance from its profile's results folder, as JSON strings;
    left out when absent or older than the checkpoint (they would describe an earlier training)."""
    import pandas as pd

    from colorlib.config import Config

    cfg = Config.from_dict(info["config"])
    try:
        return _read_run_results(cfg, checkpoint)
    except (ValueError, TypeError, KeyError, AttributeError, OSError, pd.errors.ParserError) as err:
        # damaged results describe the run no better than none: export the weights without them
        print(
            f"export: note: {cfg.results_dir}: results unreadable ({type(err).__name__}: "
            f"{' '.join(str(err).split())[:120]}); exported without metrics/provenance"
        )
        return {}


def _read_run_results(cfg, checkpoint: Path) -> dict[str, str]:
    import pandas as pd

    from colorlib.config import run_name

    found, newer = {}, checkpoint.stat().st_mtime
    metrics_csv, prov_json = cfg.results_dir / "metrics.csv", cfg.results_dir / "provenance.json"
    if metrics_csv.is_file() and metrics_csv.stat().st_mtime >= newer:
        df = pd.read_csv(metrics_csv)
        if {"kind", "model", "seed"} <= set(df.columns):
            rows = df[(df["kind"] == "run") & (df["model"] == cfg.generator) & (df["seed"] == cfg.seed)]
            if len(rows):
                found["metrics"] = rows.dropna(axis=1, how="all").to_json(orient="records")
    if prov_json.is_file() and prov_json.stat().st_mtime >= newer:
        prov = json.loads(prov_json.read_text())
        runs = prov.get("runs") if isinstance(prov.get("runs"), dict) else {}
        prov["runs"] = {k: v for k, v in runs.items() if k == run_name(cfg.generator, cfg.seed)}
        found["provenance"] = json.dumps(prov)
    return found


def export(source: str | os.PathLike, out: str | os.PathLike, fp16: bool = False) -> Path:
    """Write the generator of ``source`` (a run folder or checkpoint) to ``out`` (``.safetensors``)
    and its model card to ``out`` with suffix ``.md``; returns ``out``. Files are written atomically."""

    source, out = Path(source), Path(out)
    if out.suffix.lower() != ".safetensors":
        raise ExportError(f"{out}: --out must end in .safetensors (the model card goes beside it as .md)")
    check_writable_file(out, "export --out")
    if source.is_dir():
        source = source / "checkpoint.pt"
    state, info = generator_state(source)
    if not isinstance(info.get("config"), dict):
        raise ExportError(f"{source}: holds no training config; export a checkpoint written by colorlib train")
    dtype = torch.float16 if fp16 else torch.float32
    tensors = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    if fp16 and not all(torch.isfinite(v).all() for v in tensors.values() if v.is_floating_point()):
        raise ExportError(f"{source}: weights overflow float16 (|w| > 65504); export without --fp16")
    config = {**info["config"], **{k: "" for k in _OUTPUT_ROOTS}}
    extra = {k: v for k, v in info.items() if k not in ("format", "generator", "config", "encoder_init")}
    meta = {
        "format": EXPORT_FORMAT,
        "generator": str(info["generator"]),
        "config": json.dumps(config),
        "encoder_init": str(info.get("encoder_init", "n/a")),
        "checkpoint": json.dumps(extra, default=str),
        "dtype": str(dtype).removeprefix("torch."),
        **_run_results(info, source),
    }
    data = safetensors_api().save(tensors, metadata=meta)
    meta["weights_sha256"] = data_sha256(data)  # the tensors' bytes only: the header holds it
    data = safetensors_api().save(tensors, metadata=meta)
    atomic_write(out, data)
    atomic_write(out.with_suffix(".md"), model_card(export_info(meta, out), out, sha256_file(out)))
    return out


def model_card(info: dict, path: Path, sha256: str) -> str:
    """The Markdown card of an export: what it is, how it was trained and scored, how to load it."""
    from colorlib.config import display_name

    cfg, name, gen = info.get("config") or {}, Path(path).name, info["generator"]
    hub_name = f"{Path(path).stem}-{sha256[:8]}.safetensors"
    lines = [
        f"# {display_name(gen)} colorizer — `{name}`\n",
        f"Predicts the a*b* colour of a grayscale photo from its L* at 256×256 — the {display_name(gen)} "
        "generator of the study (pix2pix U-Net / ResNet-18 U-Net, cGAN + L1 in CIELAB) — and puts it "
        "under the photo's own full-resolution L*. Exported by `python -m colorlib export`.\n",
        f"- **Weights**: {info.get('dtype', 'float32')}, generator only; sha256 `{sha256}`.",
        f"- **Training**: profile `{cfg.get('profile')}`, seed {cfg.get('seed')}, "
        f"{info.get('epoch', '?')} epoch(s), {info.get('iteration', '?')} steps; data `{cfg.get('source')}`, "
        f"{cfg.get('n_train')} train images at {cfg.get('image_size')}²; λ_L1 = {cfg.get('lambda_l1')}.",
        f"- **Encoder init**: {info.get('encoder_init', 'n/a')}.",
    ]
    git = (info.get("provenance") or {}).get("git") or {}
    if git.get("commit"):
        lines.append(
            f"- **Code**: commit `{git['commit'][:12]}`" + (" (uncommitted changes)" if git.get("dirty") else "") + "."
        )
    lines += [
        "\n## Use\n",
        "```bash",
        f"python -m colorlib colorize photo.jpg --out colored/ --checkpoint {name}",
        "```",
        "```python",
        f'colorizer = torch.hub.load("<repo>", "{gen}_colorizer", weights="{name}")  # a path, or a URL:',
        f'# weights="https://…/{hub_name}" (hash in the name) or weights=URL, sha256="{sha256[:16]}…"',
        'colorizer.colorize(PIL.Image.open("photo.jpg").convert("RGB"))',
        "```",
        "\n## Test metrics\n",
    ]
    lines += (
        [_metrics_table(info["metrics"])]
        if info.get("metrics")
        else ["Not evaluated when exported (run `python -m colorlib evaluate` before exporting to include them).\n"]
    )
    lines += [
        "## Limits\n",
        "Colours are plausible, not recovered: the model guesses from the training photos "
        "(above), and a colour photo is colorized from its L* alone.",
    ]
    return "\n".join(lines) + "\n"


def _metrics_table(rows: list[dict]) -> str:
    import pandas as pd

    from colorlib.evaluation.report import METRICS, markdown_table

    table = [
        {
            "mode": r.get("mode"),
            "images": r.get("n_images"),
            **{
                head: fmt.format(r[c])
                for c, (head, fmt) in METRICS.items()
                if c not in ("l1_pixel", "cf_pred", "cf_true") and r.get(c) is not None
            },
        }
        for r in rows
    ]
    return markdown_table(pd.DataFrame(table).fillna("—"))


class ExportError(ColorlibError, ValueError):
    """An export cannot be written, or exported weights cannot be fetched or verified."""


def resolve_weights(weights: str | os.PathLike, sha256: str | None = None, progress: bool = True) -> Path:
    """A local file for ``weights``: a path as it is; a URL downloaded once into torch.hub's cache
    (``<hub dir>/checkpoints/<file name>``) and checked against ``sha256`` (the hash or a prefix of
    ≥ 8 hex digits) or else the prefix in its name (``name-<sha256[:8]>.safetensors``)."""
    text = str(weights)
    if sha256 is not None and not re.fullmatch(r"[0-9a-f]{8,64}", sha256.lower()):
        raise ExportError(f"sha256={sha256!r}: expected the file's sha256 or a prefix of at least 8 hex digits")
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        path = Path(text).expanduser()
        if sha256 and path.is_file() and not sha256_file(path).startswith(sha256.lower()):
            raise ExportError(f"{path}: sha256 {sha256_file(path)[:16]}… does not match sha256={sha256!r}")
        return path
    name = Path(urllib.parse.urlparse(text).path).name
    prefix = (sha256 or hash_in_name(text) or "").lower()
    if not name or not prefix:
        raise ExportError(
            f"{text}: nothing to check the download against; pass sha256=… or name the file "
            "<name>-<first 8 hex digits of its sha256>.safetensors"
        )
    dst = Path(torch.hub.get_dir()) / "checkpoints" / name
    if dst.is_file() and sha256_file(dst).startswith(prefix):
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:  # a timeout, http(s)-only redirects and a size limit, which torch.hub's download lacks
        fetch_hashed(text, dst, prefix)
    except ValueError as err:  # nothing is left in the cache
        raise ExportError(f"{text}: download does not match sha256 {prefix!r} ({' '.join(str(err).split())})") from None
    except DiskFullError:
        raise
    except (urllib.error.URLError, OSError) as err:
        raise ExportError(f"{text}: download failed ({getattr(err, 'reason', err)})") from None
    return dst
