"""Evaluation tables: per-image scores → metrics.csv / metrics.md / comparison.md (§6).

Reads only what :func:`colorlib.evaluation.evaluate.evaluate_arrays` returns; every file is written
atomically (temp file + rename), so an interrupted run never leaves a half-written table.
"""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from colorlib.config import GENERATORS, display_name, run_name
from colorlib.evaluation.metrics import PAPER_L1, paired_difference
from colorlib.evaluation.perceptual import fid_source, lpips_source
from colorlib.utils.files import write_set

__all__ = [
    "METRICS",
    "summarize",
    "markdown_table",
    "comparison_markdown",
    "metrics_markdown",
    "predictions_file",
    "write_results",
]

# column → (header, format); the paper's metric first
METRICS = {
    "l1": ("L1 (ab/110) ↓", "{:.4f}"),
    "l1_pixel": ("L1 pixel-weighted", "{:.4f}"),
    "psnr": ("PSNR dB ↑", "{:.2f}"),
    "ssim": ("SSIM ↑", "{:.4f}"),
    "cf_pred": ("CF", "{:.1f}"),
    "cf_true": ("CF truth", "{:.1f}"),
    "dcf": ("abs ΔCF ↓", "{:.1f}"),
    "lpips": ("LPIPS ↓", "{:.4f}"),
    "fid": ("FID ↓", "{:.1f}"),
}
_KEYS = ["model", "generator", "seed", "mode"]


def predictions_file(name: str, split: str = "test") -> str:
    """The file of a run's saved predictions (``name`` = run_name(…)) or of their originals
    ("original"), on the first test images or (``split="train"``) the first train images."""
    return f"predictions_{name}.npy" if split == "test" else f"predictions_{name}-{split}.npy"


def summarize(per_image: pd.DataFrame, sets: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per model × seed × mode and per baseline (``kind`` run / baseline), then the mean
    and sd over seeds (``kind`` "mean ± sd over seeds", sd in ``<metric>_sd``), then the paper's
    numbers (``kind`` "paper (§6)"). PSNR means skip infinite values (identical images);
    ``psnr_inf`` counts them."""
    rows = []
    for key, g in per_image.groupby(_KEYS, dropna=False, sort=False):
        finite = g["psnr"][np.isfinite(g["psnr"])]
        row = dict(
            zip(_KEYS, key),
            kind="baseline" if not key[1] else "run",
            n_images=len(g),
            l1=g["l1"].mean(),
            l1_pixel=(g["l1"] * g["pixels"]).sum() / g["pixels"].sum(),
            psnr=finite.mean() if len(finite) else math.nan,
            psnr_inf=int(len(g) - len(finite)),
        )
        row.update({c: g[c].mean() for c in ("ssim", "cf_pred", "cf_true", "dcf", "lpips") if c in g})
        rows.append(row)
    df = pd.DataFrame(rows)
    if sets is not None and len(sets):
        df = df.merge(sets[_KEYS + ["fid", "note"]], on=_KEYS, how="left")
    runs = df[df["kind"] == "run"]
    cols = [c for c in METRICS if c in df]
    agg = []
    for (model, mode), g in runs.groupby(["model", "mode"], sort=False):
        row = {
            "model": model,
            "generator": model,
            "seed": pd.NA,
            "mode": mode,
            "kind": "mean ± sd over seeds",
            "n_seeds": len(g),
            "n_images": g["n_images"].iloc[0],
        }
        for c in cols:
            row[c] = g[c].mean()
            row[f"{c}_sd"] = g[c].std(ddof=1) if len(g) > 1 else math.nan
        agg.append(row)
    paper = [
        {
            "model": m,
            "generator": m,
            "seed": pd.NA,
            "mode": "paper",
            "kind": "paper (§6)",
            "n_images": 2000,
            "l1": v,
            "note": "reported test L1 (COCO test2014, 2,000 images)",
        }
        for m, v in PAPER_L1.items()
    ]
    out = pd.concat(
        [df[df["kind"] == "run"], pd.DataFrame(agg), df[df["kind"] == "baseline"], pd.DataFrame(paper)],
        ignore_index=True,
    )
    out["seed"] = out["seed"].astype("Int64")
    return out


def _fmt(value, fmt: str, sd=None) -> str:
    if value is None or pd.isna(value):
        return "—"
    text = fmt.format(value)
    if sd is not None and not pd.isna(sd):
        text += " ± " + fmt.format(sd)
    return text


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table of ``df`` as it is (cells str()-ed, pipes escaped)."""
    cells = [[str(c).replace("|", "\\|") for c in df.columns]]
    cells += [[str(v).replace("|", "\\|") for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("---" for _ in df.columns) + "|")
    return "\n".join(lines) + "\n"


def _table(summary: pd.DataFrame, kinds: tuple[str, ...], with_sd: bool) -> str:
    cols = [c for c in METRICS if c in summary and c != "l1_pixel" and summary[c].notna().any()]
    rows = []
    for r in summary[summary["kind"].isin(kinds)].to_dict("records"):
        label = display_name(r["model"])
        if r["kind"] == "paper (§6)":
            label = f"**paper** {label}"
        seeds = (
            f"{int(r['n_seeds'])} seed(s)"
            if r["kind"].startswith("mean")
            else ("" if pd.isna(r["seed"]) else f"seed {r['seed']}")
        )
        row = {"model": label, "mode": r["mode"], "runs": seeds}
        row.update({METRICS[c][0]: _fmt(r.get(c), METRICS[c][1], r.get(f"{c}_sd") if with_sd else None) for c in cols})
        rows.append(row)
    return markdown_table(pd.DataFrame(rows))


def metrics_markdown(summary: pd.DataFrame, skipped: dict[str, str], title: str, provenance: dict | None = None) -> str:
    """metrics.md: the summary (mean ± sd over seeds, baselines, the paper), per-run rows, notes.

    Its title is a ``##`` heading and its sections ``###``: a notebook embeds it under its own
    ``#`` chapter (as does comparison.md)."""
    runs = summary[summary["kind"] == "run"]
    n = int(summary["n_images"].iloc[0])
    names = sorted({run_name(m, s) for m, s in zip(runs["model"], runs["seed"])})  # a run, not a run × mode
    parts = [
        f"## Test-set evaluation — {title}\n",
        f"{n} test images; runs evaluated: {len(names)} ({', '.join(names)}).\n",
        "### Summary (mean ± sd over seeds; baselines; the paper's reported numbers)\n",
        _table(summary, ("mean ± sd over seeds", "baseline", "paper (§6)"), with_sd=True),
        "\n### Every run\n",
        _table(summary, ("run",), with_sd=False),
        "\n### Definitions and notes\n",
        "- **L1 (ab/110)**, the paper's metric (§6, Eq. 18 on the test set): mean |ab_pred − ab_true| over "
        "both channels, all pixels and all images, a* and b* divided by 110. Per-image means averaged "
        "equal the pixel-weighted global mean at a fixed image size (`l1_pixel` in metrics.csv, the same number).",
        "- **Baselines**, scored the same way: *gray* predicts ab = 0 (its L1 is mean |ab|/110 of the test "
        "set); *train median* predicts the train set's per-channel median ab at every pixel.",
        "- **Modes**: `eval` = model.eval(); `dropout` = eval but the decoder's Dropout kept on, as the paper "
        "and pix2pix do at test time (§4.2), seeded by the run's seed.",
        "- **PSNR / SSIM** on RGB in [0, 1] rebuilt from the true L and predicted ab (SSIM: skimage, 7×7 window, "
        "channel mean). Identical images give PSNR = ∞; they are left out of the mean and counted in `psnr_inf`.",
        "- **CF**: Hasler & Süsstrunk (2003) colorfulness on 0–255 RGB; abs ΔCF = |CF_pred − CF_truth| per image.",
        f"- **FID**: {fid_source()}. **LPIPS**: {lpips_source()}.",
    ]
    for name, reason in skipped.items():
        parts.append(f"- **{name.upper()} skipped**: {reason}.")
    for r in summary.dropna(subset=["note"]).to_dict("records") if "note" in summary else []:
        if r["note"] and r["kind"] != "paper (§6)":
            where = f" seed {r['seed']} [{r['mode']}]" if r["kind"] == "run" else ""
            parts.append(f"- {display_name(r['model'])}{where}: {r['note']}.")
    if provenance:
        from colorlib.utils.provenance import summary_lines

        parts += ["\n### Provenance (full record: provenance.json)\n", *summary_lines(provenance)]
    return "\n".join(parts) + "\n"


def _diff_row(label, a: np.ndarray, b: np.ndarray, s: dict | None = None) -> dict:
    s = paired_difference(a, b) if s is None else s
    return {
        "": label,
        "n": s["n"],
        "A": f"{np.mean(a):.4f}",
        "B": f"{np.mean(b):.4f}",
        "mean A − B": f"{s['mean_diff']:+.4f}",
        "95% CI (t)": f"[{s['t_lo']:+.4f}, {s['t_hi']:+.4f}]",
        "95% CI (bootstrap)": f"[{s['boot_lo']:+.4f}, {s['boot_hi']:+.4f}]",
        "p (paired t)": f"{s['p_value']:.3g}",
        "share A lower": f"{s['share_a_lower']:.0%}",
    }


def _verdict(s: dict, name_a: str, name_b: str) -> str:
    """The verdict from :func:`paired_difference`'s t interval (A − B)."""
    if math.isnan(s["t_lo"]):
        return "too few units for an interval."
    if s["t_hi"] < 0:
        return f"{name_a} has the lower L1; the 95% CI of the difference excludes 0."
    if s["t_lo"] > 0:
        return f"{name_b} has the lower L1; the 95% CI of the difference excludes 0."
    return "no significant difference: the 95% CI of the difference contains 0."


def comparison_markdown(per_image: pd.DataFrame) -> str:
    """comparison.md: U-Net vs ResNet per-image L1 (paired), per seed and across seeds, per mode;
    and each model against the gray baseline (does it beat "no colour"?)."""
    a, b = GENERATORS
    name_a, name_b = display_name(a), display_name(b)
    parts = [
        f"## {name_a} vs {name_b} on the paper's metric (test L1, ab/110; lower is better)\n",
        f"A = {name_a}, B = {name_b}; differences are A − B, paired by test image (per seed) or by seed "
        "(across seeds: the per-seed mean L1s, Student t with n_seeds − 1 df). Verdicts use the t interval; "
        "the percentile bootstrap is shown beside it but is too narrow for small n (≲ 20).\n",
    ]
    runs = per_image[per_image["generator"] != ""]
    for mode in runs["mode"].unique():
        pivot = runs[runs["mode"] == mode].pivot_table(index=["seed", "image"], columns="model", values="l1")
        parts.append(f"### mode `{mode}`\n")
        if not {a, b} <= set(pivot.columns):
            parts.append("Only one generator was evaluated: no comparison.\n")
            continue
        pivot = pivot.dropna(subset=[a, b])
        seeds = list(pivot.index.get_level_values(0).unique())
        pairs = {s: (pivot.loc[s, a].to_numpy(), pivot.loc[s, b].to_numpy()) for s in seeds}
        stats = {s: paired_difference(*pair) for s, pair in pairs.items()}  # each bootstrap once: row and verdict
        rows = [_diff_row(f"seed {s}", *pairs[s], st) for s, st in stats.items()]
        parts.append(markdown_table(pd.DataFrame(rows)))
        if len(seeds) >= 2:
            per_seed = pivot.groupby(level=0).mean()
            means = per_seed[a].to_numpy(), per_seed[b].to_numpy()
            st = paired_difference(*means)
            parts.append(f"\nAcross {len(seeds)} seeds:\n")
            parts.append(markdown_table(pd.DataFrame([_diff_row("seeds", *means, st)])))
            parts.append(f"\n**Verdict ({mode}, across seeds)**: {_verdict(st, name_a, name_b)}\n")
        else:
            s = seeds[0]
            parts.append(
                f"\n**Verdict ({mode}, seed {s} only — one training run per model, so this says nothing "
                f"about run-to-run variation)**: {_verdict(stats[s], name_a, name_b)}\n"
            )
    gray = per_image[per_image["model"] == "gray"].set_index("image")["l1"]
    if gray.empty:
        return "\n".join(parts)
    parts.append("### Each model against the gray baseline (A = model, B = gray: ab = 0)\n")
    rows = [
        _diff_row(f"{display_name(m)} seed {s} [{mode}]", g["l1"].to_numpy(), gray.loc[g["image"]].to_numpy())
        for (m, s, mode), g in runs.groupby(["model", "seed", "mode"], sort=False)
    ]
    parts.append(markdown_table(pd.DataFrame(rows)) if rows else "No model runs.\n")
    return "\n".join(parts)


def write_results(
    results_dir: str | os.PathLike,
    per_image: pd.DataFrame,
    sets: pd.DataFrame,
    predictions: dict[str, np.ndarray],
    provenance: dict | None = None,
) -> pd.DataFrame:
    """Write per_image.csv, metrics.csv, metrics.md, comparison.md, predictions_*.npy (removing
    predictions_*.npy of runs this evaluation does not hold) and, if given, provenance.json
    (summarized at the end of metrics.md), as one set (:func:`colorlib.utils.files.write_set`: a kill
    leaves the old set or, completed on the next write, the new one); return the summary
    (:func:`summarize`)."""
    out = Path(results_dir)
    summary = summarize(per_image, sets)
    files = {"per_image.csv": per_image.to_csv(index=False), "metrics.csv": summary.to_csv(index=False)}
    if provenance is not None:
        files["provenance.json"] = json.dumps(provenance, indent=2, sort_keys=True, default=str) + "\n"
    files["metrics.md"] = metrics_markdown(summary, sets.attrs.get("skipped", {}), f"profile `{out.name}`", provenance)
    files["comparison.md"] = comparison_markdown(per_image)
    for name, images in predictions.items():
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(images, dtype=np.uint8))
        files[predictions_file(name)] = buf.getvalue()
    # an earlier evaluation's predictions of runs this one does not hold: Fig. 7 must not show them
    stale = tuple(p.name for p in out.glob(predictions_file("*")) if p.name not in files) if out.is_dir() else ()
    write_set(out, files, remove=stale)  # one unit: a reader never sees this set mixed with the last
    return summary
