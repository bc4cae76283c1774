"""The paper's claims (§6, §7), each checked by a stated, computed criterion → claims.md.

Every ``claim_*`` function is pure: it takes what the runs recorded (evaluate's per-image
table, train's history.csv as DataFrames, parameter counts) and returns a :class:`Claim` —
the claim in the paper's words, the evidence as numbers, a verdict (one of :data:`VERDICTS`)
and the reason in one line. :func:`claims_markdown` renders them; :func:`write_claims` is the
evaluation step's hook (reads the runs' histories, writes ``claims.md`` beside ``metrics.md``).
:func:`reproduction` answers "did I reproduce the record?" in one line.

Criteria (the constants below are the thresholds; tests/evaluation/test_claims.py pins each on synthetic
data whose right verdict is known):

1. U-Net better than ResNet (test L1): paired difference U-Net − ResNet, the same test as
   comparison.md (:func:`colorlib.evaluation.metrics.paired_difference`, Student t 95 % CI). With ≥ 2 seeds
   the units are the per-seed mean L1s (run-to-run variation), as comparison.md's verdict; with
   one seed only the per-image test is shown and the verdict is inconclusive (one training run
   per model says nothing about another run). CI < 0 → supported, > 0 → contradicted.
2. BCE losses move against each other and settle: per run, over the GAN epochs, Pearson r of
   the epoch-to-epoch *changes* of D's BCE and G's BCE (levels share trends; changes show
   "grows or shrinks inversely") and, over the last :data:`TAIL` of the epochs, the relative
   change of each (|least-squares slope| × tail length / |tail mean|). Supported: every run has
   r < 0 with p < 0.05 and both relative changes < :data:`SETTLED`. Contradicted: a run with
   r > 0 (p < 0.05) or a loss still moving. Fewer than :data:`MIN_EPOCHS` GAN epochs: inconclusive.
3. L1 improves fastest in the first 100 of 300 epochs: the epoch at which the smoothed train L1
   has made 90 % of its improvement (first → best), as a fraction of the run's epochs.
   Supported: ≤ 100/300 in every run; contradicted: > 100/300 in every run (or no improvement).
4. ResNet's BCE losses converge faster: epochs to a plateau — the first epoch after which the
   smoothed D and G BCE stay within ±:data:`BAND` of their final-tail mean — as a fraction of the
   run. Supported: ResNet's plateau earlier in every seed by ≥ :data:`MARGIN` of the run, with
   ≥ 2 seeds; contradicted: later by that margin in every seed; otherwise inconclusive.
5. Pretraining compensates for size (ablations): (a) the pretrained ResNet against the same
   ResNet from a random encoder ("resnet-random"); (b) the U-Net against a U-Net cut to the
   ResNet's size ("unet-small"). Test as in 1.
6. Parameter counts of Figs. 10–15: equal, to the parameter.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from colorlib.config import display_name
from colorlib.utils.errors import ColorlibError, first_sentence
from colorlib.utils.files import shown

__all__ = [
    "SUPPORTED",
    "CONTRADICTED",
    "INCONCLUSIVE",
    "NOT_COMPARABLE",
    "VERDICTS",
    "Claim",
    "claim_unet_better",
    "claim_bce_equilibrium",
    "claim_l1_early",
    "claim_resnet_converges_faster",
    "claim_pretraining",
    "claim_size",
    "claim_parameter_counts",
    "paired_models",
    "bce_opposition",
    "relative_change",
    "epoch_to_fraction",
    "plateau_epoch",
    "reproduction",
    "PAPER_RECORD",
    "RecordError",
    "band_from_repeats",
    "write_record",
    "check",
    "claims_markdown",
    "write_claims",
]

SUPPORTED, CONTRADICTED = "supported", "contradicted"
INCONCLUSIVE, NOT_COMPARABLE = "inconclusive at this sample size", "not comparable (demo)"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_COMPARABLE)

MIN_EPOCHS = 10  # GAN epochs a history needs before its shape says anything (claims 2–4)
TAIL = 0.2  # the last 20 % of the epochs: where "settled" is judged (claim 2)
SETTLED = 0.10  # relative change over the tail below 10 %: settled (claim 2)
ALPHA = 0.05  # significance of the D–G correlation (claim 2)
SMOOTH = 0.05  # moving-average window, as a fraction of the epochs (≥ 1 epoch; claims 3, 4)
PAPER_FAST = 100 / 300  # "the first 100 epochs" of the paper's 300 (claim 3)
BAND = 0.10  # plateau: within ±10 % of the final-tail mean from then on (claim 4)
MARGIN = 0.10  # claim 4: earlier by ≥ 10 % of the run

PAPER = {
    1: "On the test set, the L1 loss of the ResNet GAN is 0.0945, while for the UNet GAN it is 0.0917 "
    "[the U-Net is better] (§6, §7).",
    2: "The loss of the discriminator grows or shrinks inversely to the loss of the generator, with the two "
    "networks eventually reaching an equilibrium and the losses converging (§7, Figs. 8/9).",
    3: "The generator gets better at estimating the ground truth in the first 100 epochs, and after that "
    "progress slows down significantly (§7).",
    4: "By comparing the progression of the BCE losses between the two, we see that for ResNet they converge "
    "faster (§7).",
    5: "Even with so much fewer parameters [15 M against 54 M], it is able to match the performance of the UNet "
    "version: the pre-training helped the ResNet version (§7).",
    "5b": "We can attribute this [the ResNet behind the U-Net] to the much smaller number of parameters of the "
    "generator networks: the UNet one has 54 million parameters while the ResNet one only has 15 million (§7).",
    6: "The parameter counts of the networks' layers (Appendix A, Figs. 10–15).",
}


@dataclass
class Claim:
    """One claim checked: ``key`` (1–6, "5b"), the paper's words, the evidence lines, the verdict."""

    key: int | str
    paper: str
    verdict: str
    reason: str
    evidence: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r}: not one of {VERDICTS}")


# ---- claims 1 and 5: paired model comparisons on the per-image table --------------------------
def paired_models(per_image: pd.DataFrame, a: str, b: str, mode: str = "eval") -> dict | None:
    """U-Net-style paired comparison of models ``a`` and ``b`` (difference a − b of test L1), the
    test comparison.md uses. None if either model has no run. Keys: n_seeds, mean/sd per model
    over seeds, "images" (:func:`paired_difference` of per-image L1, pooled over the common seeds
    and paired by seed × image), "seeds" (of the per-seed means, n_seeds ≥ 2; else None)."""
    from colorlib.evaluation.metrics import paired_difference

    runs = per_image[(per_image["mode"] == mode) & per_image["model"].isin([a, b])]
    if runs.empty:
        return None
    pivot = runs.pivot_table(index=["seed", "image"], columns="model", values="l1")
    if not {a, b} <= set(pivot.columns):
        return None
    pivot = pivot.dropna(subset=[a, b])
    if pivot.empty:
        return None
    per_seed = pivot.groupby(level=0).mean()
    out = {"a": a, "b": b, "n_seeds": len(per_seed), "n_images": int(pivot.groupby(level=0).size().iloc[0])}
    for key, col in (("a", a), ("b", b)):
        out[f"{key}_mean"] = float(per_seed[col].mean())
        out[f"{key}_sd"] = float(per_seed[col].std(ddof=1)) if len(per_seed) > 1 else math.nan
    out["images"] = paired_difference(pivot[a].to_numpy(), pivot[b].to_numpy())
    out["seeds"] = paired_difference(per_seed[a].to_numpy(), per_seed[b].to_numpy()) if len(per_seed) >= 2 else None
    return out


def _pm(mean: float, sd: float) -> str:
    return f"{mean:.4f}" if math.isnan(sd) else f"{mean:.4f} ± {sd:.4f}"


def _ci(s: dict) -> str:
    return f"{s['mean_diff']:+.4f}, 95 % CI [{s['t_lo']:+.4f}, {s['t_hi']:+.4f}], p = {s['p_value']:.3g}, n = {s['n']}"


def _comparison_evidence(p: dict) -> list[str]:
    na, nb = display_name(p["a"]), display_name(p["b"])
    lines = [
        f"test L1 (mean ± sd over {p['n_seeds']} seed(s), {p['n_images']} images): {na} {_pm(p['a_mean'], p['a_sd'])}, "
        f"{nb} {_pm(p['b_mean'], p['b_sd'])}",
        f"paired by seed × image, {na} − {nb}: {_ci(p['images'])}",
    ]
    if p["seeds"] is not None:
        lines.append(f"paired by seed (per-seed means), {na} − {nb}: {_ci(p['seeds'])}")
    return lines


def _sign_verdict(p: dict, lower: str) -> tuple[str, str]:
    """The verdict on "``p['a']`` has the lower L1" (``lower`` = "a") or "``p['b']`` …" from the
    seed-level t interval; one seed → inconclusive, saying what the per-image test found."""
    na, nb = display_name(p["a"]), display_name(p["b"])
    if p["seeds"] is None:
        s = p["images"]
        found = "lower for " + na if s["t_hi"] < 0 else "lower for " + nb if s["t_lo"] > 0 else "not different"
        return INCONCLUSIVE, (
            f"one training run per model: across its {s['n']} images the L1 is {found} (95 % CI), "
            "but one seed says nothing about another training run; run ≥ 2 seeds"
        )
    s = p["seeds"]
    if math.isnan(s["t_lo"]):
        return INCONCLUSIVE, "too few seeds for an interval"
    a_lower, b_lower = s["t_hi"] < 0, s["t_lo"] > 0
    claimed, other = (a_lower, b_lower) if lower == "a" else (b_lower, a_lower)
    winner, loser = (na, nb) if lower == "a" else (nb, na)
    if claimed:
        return SUPPORTED, (
            f"{winner} has the lower L1 over {p['n_seeds']} seeds; the 95 % CI of the difference excludes 0"
        )
    if other:
        return CONTRADICTED, (
            f"{loser} has the lower L1 over {p['n_seeds']} seeds; the 95 % CI of the difference excludes 0"
        )
    return INCONCLUSIVE, f"the 95 % CI of the difference over {p['n_seeds']} seeds contains 0"


def claim_unet_better(per_image: pd.DataFrame, demo: bool = False, mode: str = "eval") -> Claim:
    """Claim 1: test L1 U-Net 0.0917 < ResNet 0.0945 (see the module docstring)."""
    from colorlib.evaluation.metrics import PAPER_L1

    p = paired_models(per_image, "unet", "resnet", mode)
    if p is None:
        return Claim(1, PAPER[1], INCONCLUSIVE, "U-Net and ResNet were not both evaluated")
    ev = _comparison_evidence(p) + [
        f"the paper: U-Net {PAPER_L1['unet']}, ResNet {PAPER_L1['resnet']} (one run each, 2,000 COCO test images)"
    ]
    verdict, reason = _sign_verdict(p, "a")
    if demo:
        return Claim(
            1,
            PAPER[1],
            NOT_COMPARABLE,
            f"not the paper's data or training (COCO, 300 epochs); here: {verdict} — {reason}",
            ev,
        )
    return Claim(1, PAPER[1], verdict, reason, ev)


def claim_pretraining(
    per_image: pd.DataFrame, resnet_pretrained: bool = True, demo: bool = False, mode: str = "eval"
) -> Claim:
    """Claim 5 (a): pretraining helped — the ImageNet-initialized ResNet against the same ResNet
    from a random encoder (run "resnet-random"), and beside it the U-Net cut to the ResNet's size."""
    p = paired_models(per_image, "resnet", "resnet-random", mode)
    if p is None:
        return Claim(
            5,
            PAPER[5],
            INCONCLUSIVE,
            "no resnet-random ablation run evaluated (make reproduce … ABLATIONS=yes trains it)",
        )
    ev = _comparison_evidence(p)
    small = paired_models(per_image, "resnet", "unet-small", mode)
    if small is not None:
        ev += _comparison_evidence(small)
    if not resnet_pretrained:
        return Claim(
            5,
            PAPER[5],
            NOT_COMPARABLE if demo else INCONCLUSIVE,
            "the main ResNet run itself started from a random encoder (no ImageNet weights): "
            "there is no pretrained run to compare",
            ev,
        )
    verdict, reason = _sign_verdict(p, "a")
    return Claim(
        5,
        PAPER[5],
        NOT_COMPARABLE if demo else verdict,
        ("demo data; here: " if demo else "") + f"pretrained vs random encoder: {reason}",
        ev,
    )


def claim_size(per_image: pd.DataFrame, demo: bool = False, mode: str = "eval") -> Claim:
    """Claim 5 (b): size is why the ResNet is behind — the U-Net against the U-Net cut to the
    ResNet's size ("unet-small"): supported if the small U-Net is worse."""
    p = paired_models(per_image, "unet", "unet-small", mode)
    if p is None:
        return Claim(
            "5b",
            PAPER["5b"],
            INCONCLUSIVE,
            "no unet-small ablation run evaluated (make reproduce … ABLATIONS=yes trains it)",
        )
    verdict, reason = _sign_verdict(p, "a")
    return Claim(
        "5b",
        PAPER["5b"],
        NOT_COMPARABLE if demo else verdict,
        ("demo data; here: " if demo else "") + f"54 M vs the cut U-Net: {reason}",
        _comparison_evidence(p),
    )


# ---- claims 2–4: the shape of the training histories -------------------------------------------
def _gan(history: pd.DataFrame) -> pd.DataFrame:
    h = history.sort_values("epoch")
    return h[h["phase"] == "gan"] if "phase" in h else h


def _smooth(x: np.ndarray) -> np.ndarray:
    w = max(1, int(round(SMOOTH * len(x))))
    return pd.Series(x).rolling(w, min_periods=1, center=True).mean().to_numpy()


def bce_opposition(history: pd.DataFrame) -> tuple[float, float]:
    """(Pearson r, two-sided p) of the epoch-to-epoch changes of D's BCE (d_loss) and G's BCE
    (g_bce) over the GAN epochs: r < 0 when one grows while the other shrinks."""
    from scipy import stats

    h = _gan(history)
    dd, dg = np.diff(h["d_loss"].to_numpy(float)), np.diff(h["g_bce"].to_numpy(float))
    if len(dd) < 3 or dd.std() == 0 or dg.std() == 0:
        return math.nan, math.nan
    r, p = stats.pearsonr(dd, dg)
    return float(r), float(p)


def relative_change(values: np.ndarray, tail: float = TAIL) -> float:
    """|least-squares slope| × length / |mean| over the last ``tail`` of ``values``: how much the
    series still moves there, relative to its level."""
    x = np.asarray(values, float)
    k = max(3, int(math.ceil(tail * len(x))))
    y = x[-k:]
    slope = np.polyfit(np.arange(k), y, 1)[0]
    return float(abs(slope) * (k - 1) / max(abs(y.mean()), 1e-12))


def claim_bce_equilibrium(histories: dict[str, pd.DataFrame]) -> Claim:
    """Claim 2 on every run's history (``{run name: history}``)."""
    if not histories:
        return Claim(2, PAPER[2], INCONCLUSIVE, "no training history (history.csv) found beside the runs")
    ev, opposed, together, settled, short = [], [], [], [], []
    for name, hist in histories.items():
        h = _gan(hist)
        if len(h) < MIN_EPOCHS:
            short.append(name)
            ev.append(f"{name}: {len(h)} GAN epochs (< {MIN_EPOCHS})")
            continue
        r, p = bce_opposition(h)
        rd, rg = relative_change(h["d_loss"].to_numpy()), relative_change(h["g_bce"].to_numpy())
        ev.append(
            f"{name}: r(ΔD BCE, ΔG BCE) = {r:+.2f} (p = {p:.3g}, {len(h)} epochs); change over the last "
            f"{TAIL:.0%}: D {rd:.1%}, G {rg:.1%}"
        )
        opposed.append(r < 0 and p < ALPHA)
        together.append(r > 0 and p < ALPHA)
        settled.append(rd < SETTLED and rg < SETTLED)
    if not opposed:
        return Claim(2, PAPER[2], INCONCLUSIVE, f"every run has fewer than {MIN_EPOCHS} GAN epochs", ev)
    if any(together):
        return Claim(
            2, PAPER[2], CONTRADICTED, f"in a run D's and G's BCE change in the same direction (r > 0, p < {ALPHA})", ev
        )
    if not all(settled):
        return Claim(
            2,
            PAPER[2],
            CONTRADICTED,
            f"in a run a BCE loss still changes by ≥ {SETTLED:.0%} over the last "
            f"{TAIL:.0%} of training: no equilibrium yet",
            ev,
        )
    if all(opposed) and not short:
        return Claim(
            2,
            PAPER[2],
            SUPPORTED,
            f"in every run D's and G's BCE move against each other (r < 0, p < {ALPHA}) "
            f"and both change < {SETTLED:.0%} over the last {TAIL:.0%}",
            ev,
        )
    return Claim(
        2, PAPER[2], INCONCLUSIVE, "the losses settle, but their opposite movement is not significant in every run", ev
    )


def epoch_to_fraction(l1: np.ndarray, fraction: float = 0.9) -> float:
    """The share of the run (epoch / epochs) by which the smoothed L1 has made ``fraction`` of
    its improvement from the first epoch to its best; NaN if it never improves."""
    s = _smooth(np.asarray(l1, float))
    gain = s[0] - s.min()
    if not gain > 0:
        return math.nan
    first = int(np.argmax(s <= s[0] - fraction * gain))
    return (first + 1) / len(s)


def claim_l1_early(histories: dict[str, pd.DataFrame]) -> Claim:
    """Claim 3: 90 % of the train L1's improvement within the first third of training."""
    fracs, ev = {}, []
    for name, hist in histories.items():
        h = hist.sort_values("epoch")
        if len(h) < MIN_EPOCHS:
            ev.append(f"{name}: {len(h)} epochs (< {MIN_EPOCHS})")
            continue
        fracs[name] = epoch_to_fraction(h["g_l1"].to_numpy())
        ev.append(
            f"{name}: 90 % of the L1 improvement by {fracs[name]:.0%} of its {len(h)} epochs"
            if not math.isnan(fracs[name])
            else f"{name}: the L1 never improves"
        )
    if not fracs:
        return Claim(3, PAPER[3], INCONCLUSIVE, "no history with enough epochs", ev)
    vals = list(fracs.values())
    if all(not math.isnan(v) and v <= PAPER_FAST for v in vals):
        return Claim(
            3,
            PAPER[3],
            SUPPORTED,
            f"every run makes 90 % of its L1 improvement within the first "
            f"{PAPER_FAST:.0%} of training (the paper: 100 of 300 epochs)",
            ev,
        )
    if all(math.isnan(v) or v > PAPER_FAST for v in vals):
        return Claim(
            3,
            PAPER[3],
            CONTRADICTED,
            f"no run makes 90 % of its L1 improvement within the first {PAPER_FAST:.0%} of training",
            ev,
        )
    return Claim(3, PAPER[3], INCONCLUSIVE, "the runs disagree", ev)


def plateau_epoch(values: np.ndarray, band: float = BAND, tail: float = TAIL) -> float:
    """The share of the run after which the smoothed series stays within ±``band`` of its mean
    over the last ``tail``: epochs to a plateau / epochs."""
    s = _smooth(np.asarray(values, float))
    k = max(3, int(math.ceil(tail * len(s))))
    level = s[-k:].mean()
    outside = np.nonzero(np.abs(s - level) > band * max(abs(level), 1e-12))[0]
    first = 0 if len(outside) == 0 else int(outside[-1]) + 1
    return (first + 1) / len(s)


def _run_plateaus(histories: dict[str, pd.DataFrame], generator: str) -> dict[int, float]:
    out = {}
    for name, hist in histories.items():
        gen, _, seed = name.rpartition("-seed")
        h = _gan(hist)
        if gen == generator and len(h) >= MIN_EPOCHS:
            out[int(seed)] = max(plateau_epoch(h["d_loss"].to_numpy()), plateau_epoch(h["g_bce"].to_numpy()))
    return out


def claim_resnet_converges_faster(histories: dict[str, pd.DataFrame]) -> Claim:
    """Claim 4: epochs to a BCE plateau (the later of D's and G's), ResNet against U-Net, per seed."""
    res, une = _run_plateaus(histories, "resnet"), _run_plateaus(histories, "unet")
    seeds = sorted(set(res) & set(une))
    if not seeds:
        return Claim(4, PAPER[4], INCONCLUSIVE, f"no seed with both runs' histories of ≥ {MIN_EPOCHS} GAN epochs")
    ev = [f"seed {s}: BCE plateau at {res[s]:.0%} of the run (ResNet) vs {une[s]:.0%} (U-Net)" for s in seeds]
    for gen in ("resnet-random", "unet-small"):
        extra = _run_plateaus(histories, gen)
        ev += [f"seed {s}: {gen} BCE plateau at {v:.0%}" for s, v in sorted(extra.items())]
    diffs = np.array([une[s] - res[s] for s in seeds])  # > 0: ResNet earlier
    if len(seeds) < 2:
        return Claim(
            4,
            PAPER[4],
            INCONCLUSIVE,
            f"one seed (ResNet − U-Net plateau {-diffs[0]:+.0%} of the run): run ≥ 2 seeds",
            ev,
        )
    if (diffs >= MARGIN).all():
        return Claim(
            4,
            PAPER[4],
            SUPPORTED,
            f"the ResNet's BCE plateaus earlier by ≥ {MARGIN:.0%} of the run in all {len(seeds)} seeds",
            ev,
        )
    if (diffs <= -MARGIN).all():
        return Claim(
            4,
            PAPER[4],
            CONTRADICTED,
            f"the U-Net's BCE plateaus earlier by ≥ {MARGIN:.0%} of the run in all {len(seeds)} seeds",
            ev,
        )
    return Claim(4, PAPER[4], INCONCLUSIVE, f"the seeds disagree or differ by < {MARGIN:.0%} of the run", ev)


# ---- claim 6 ----------------------------------------------------------------------------------
def claim_parameter_counts(ours: dict[str, int], paper: dict[str, int]) -> Claim:
    """Claim 6: our parameter count of each figure's network equals the paper's."""
    ev = [f"{fig}: ours {ours.get(fig, 0):,}, paper {n:,}" for fig, n in paper.items()]
    wrong = [fig for fig, n in paper.items() if ours.get(fig) != n]
    if wrong:
        return Claim(6, PAPER[6], CONTRADICTED, f"counts differ for {', '.join(wrong)}", ev)
    return Claim(
        6,
        PAPER[6],
        SUPPORTED,
        f"all {len(paper)} totals equal to the parameter (and layer by layer: tests/evaluation/test_tables.py)",
        ev,
    )


# ---- did I reproduce it? ----------------------------------------------------------------------
# The paper's record: its two test L1s. Band: the paper's own U-Net–ResNet gap (0.0028), the
# smallest difference its conclusion rests on, widened to 2 sd over the user's seeds when larger.
PAPER_RECORD = {
    "l1": {"unet": 0.0917, "resnet": 0.0945},
    "band": 0.0028,
    "mode": "eval",
    "band_source": "the paper's U-Net–ResNet gap (0.0945 − 0.0917); widened to 2 sd over your seeds",
}


def reproduction(metrics: pd.DataFrame, record: dict) -> tuple[bool, str]:
    """(reproduced?, one line): each generator's mean test L1 over seeds (metrics.csv rows of
    kind "mean ± sd over seeds", ``record['mode']``) against ``record['l1']`` within
    ``record['band']`` (absolute, in L1 units: one number for every generator, or one per
    generator — a generator without its own takes the widest), widened to 2 × the sd over seeds
    where larger."""
    mode = record.get("mode", "eval")
    rows = metrics[(metrics["kind"] == "mean ± sd over seeds") & (metrics["mode"] == mode)].set_index("model")
    parts, ok = [], True
    for model, target in record["l1"].items():
        if model not in rows.index:
            return False, f"not reproduced: no {display_name(model)} run was evaluated"
        mean, sd = float(rows.at[model, "l1"]), rows.at[model, "l1_sd"] if "l1_sd" in rows else math.nan
        band = max(_band(record["band"], model), 2 * float(sd) if pd.notna(sd) else 0.0)
        off = mean - target
        ok &= abs(off) <= band
        parts.append(f"{display_name(model)} {mean:.4f} vs {target:.4f} ({off:+.4f}, band ±{band:.4f})")
    head = "reproduced" if ok else "not reproduced"
    return ok, f"{head}: test L1 {'; '.join(parts)}"


def _band(band: float | dict[str, float], model: str) -> float:
    if isinstance(band, dict):
        return float(band.get(model, max(band.values())))
    return float(band)


class RecordError(ColorlibError, ValueError):
    """A record.json that cannot be read as a record (names the file and what to do)."""


def _record_for(results_dir: Path, profile: str) -> dict | None:
    """The record a profile's results reproduce: record.json beside them, else the paper's."""
    path = Path(results_dir) / "record.json"
    if not path.is_file():
        return PAPER_RECORD if profile == "paper" else None
    fix = f"restore it (git checkout -- {shown(path)}) or re-make it with colorlib.evaluation.claims.write_record"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordError(f"{shown(path)}: not readable as JSON ({first_sentence(err)}); {fix}") from None
    problem = _record_problem(record)
    if problem:
        raise RecordError(f"{shown(path)}: {problem}; {fix}")
    return record


def _record_problem(record) -> str | None:
    """What makes ``record`` unusable by :func:`reproduction`, or None."""
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0  # noqa: E731
    if not isinstance(record, dict) or not isinstance(record.get("l1"), dict) or not record["l1"]:
        return 'no "l1" of at least one generator'
    if not all(number(v) for v in record["l1"].values()):
        return '"l1" holds a value that is not a non-negative number'
    band = record.get("band")
    if not (number(band) or (isinstance(band, dict) and band and all(number(v) for v in band.values()))):
        return '"band" is neither a non-negative number nor one per generator'
    return None


# ---- claims.md --------------------------------------------------------------------------------
def claims_markdown(claims: list[Claim], title: str, reproduced: str | None = None) -> str:
    """claims.md: each claim in the paper's words, its evidence, the verdict and the reason."""
    parts = [
        f"## The paper's claims, checked — {title}\n",
        "Each claim in the paper's words; the evidence measured here; the verdict (supported / contradicted / "
        "inconclusive at this sample size / not comparable (demo)) by the criterion stated in "
        "`colorlib/evaluation/claims.py`, and its reason.\n",
    ]
    if reproduced:
        parts.append(f"**Did this reproduce the record?** {reproduced}\n")
    parts.append("| claim | verdict | reason |\n|---|---|---|")
    parts += [f"| {c.key} | **{c.verdict}** | {c.reason.replace('|', '/')} |" for c in claims]
    for c in claims:
        parts.append(f"\n### Claim {c.key} — {c.verdict}\n\n> {c.paper}\n")
        parts += [f"- {line}" for line in c.evidence]
        parts.append(f"\n**Verdict: {c.verdict}** — {c.reason}.")
    return "\n".join(parts) + "\n"


def _parameter_counts() -> tuple[dict[str, int], dict[str, int]]:
    """(ours, the paper's) totals of Figs. 10–13, 15 and of both generators (§7: 54 M, 15 M)."""
    from colorlib.evaluation.tables import PAPER_TOTALS, figure_modules
    from colorlib.models import UNetGenerator

    ours = {fig: sum(p.numel() for p in figure_modules(fig)[2].parameters()) for fig in PAPER_TOTALS}
    paper = dict(PAPER_TOTALS)
    ours["U-Net generator"] = sum(p.numel() for p in UNetGenerator().parameters())
    ours["ResNet generator"] = ours["fig12"] + ours["fig13"]
    paper["U-Net generator"] = PAPER_TOTALS["fig10"] + PAPER_TOTALS["fig11"]
    paper["ResNet generator"] = PAPER_TOTALS["fig12"] + PAPER_TOTALS["fig13"]
    return ours, paper


def _not_comparable(claim: Claim) -> Claim:
    """``claim`` measured on the demo: not comparable, with what was measured kept in the reason."""
    if claim.verdict == NOT_COMPARABLE:
        return claim
    reason = f"not the paper's data or training (COCO, 300 epochs); here: {claim.verdict} — {claim.reason}"
    return Claim(claim.key, claim.paper, NOT_COMPARABLE, reason, claim.evidence)


def build_claims(
    per_image: pd.DataFrame,
    histories: dict[str, pd.DataFrame],
    profile: str,
    resnet_pretrained: bool = True,
    counts: tuple[dict, dict] | None = None,
) -> list[Claim]:
    """Every claim, from the evaluation's per-image table and the runs' histories."""
    demo = profile != "paper"
    ours, paper = counts if counts is not None else _parameter_counts()
    shapes = [claim_bce_equilibrium(histories), claim_l1_early(histories), claim_resnet_converges_faster(histories)]
    if demo:  # a curve's shape over a few CPU epochs on 64 crops says nothing of 300 epochs on COCO
        shapes = [_not_comparable(c) for c in shapes]
    return [
        claim_unet_better(per_image, demo),
        *shapes,
        claim_pretraining(per_image, resnet_pretrained, demo),
        claim_size(per_image, demo),
        claim_parameter_counts(ours, paper),
    ]


def write_claims(
    cfg, per_image: pd.DataFrame, runs, metrics: pd.DataFrame | None = None, encoder_inits: dict | None = None
) -> Path:
    """The evaluation step's hook: read each evaluated run's history.csv (``runs``: (generator,
    seed) pairs), check the claims, compare with the record and write ``claims.md`` beside
    metrics.md. Returns its path."""
    from colorlib.config import run_name
    from colorlib.utils.files import atomic_write

    histories = {}
    for gen, seed in runs:
        path = cfg.replace(generator=gen, seed=int(seed)).run_dir / "history.csv"
        if path.is_file():
            histories[run_name(gen, int(seed))] = pd.read_csv(path)
    inits = [str(v) for (g, _), v in (encoder_inits or {}).items() if g == "resnet"]
    pretrained = bool(inits) and not any(v.startswith("random") for v in inits)
    claims = build_claims(per_image, histories, cfg.profile, pretrained)
    record = _record_for(cfg.results_dir, cfg.profile)
    line = reproduction(metrics, record)[1] if record is not None and metrics is not None else None
    out = Path(cfg.results_dir) / "claims.md"
    atomic_write(out, claims_markdown(claims, f"profile `{cfg.profile}`", line))
    return out


def band_from_repeats(repeats: dict[str, list[float]], floor: float = 0.0) -> dict[str, float]:
    """The demo's band of each generator with ≥ 2 repeats of the same study (seeds, or the same
    seed on other machines): 2 × the sd (ddof 1) of its test L1, at least ``floor`` (a variation
    measured otherwise, e.g. between machines). Per generator: one unstable model (a ResNet
    from a random encoder) must not loosen the check of a stable one."""
    bands = {g: max(2 * float(np.std(v, ddof=1)), floor) for g, v in repeats.items() if len(v) >= 2}
    if not bands:
        raise ValueError("band_from_repeats needs ≥ 2 repeats of at least one generator")
    return bands


def write_record(
    results_dir: str | Path, repeats: dict[str, list[float]], source: str, mode: str = "eval", floor: float = 0.0
) -> Path:
    """Write ``results_dir/record.json``: the record is the folder's metrics.csv (mean test L1 over
    seeds, ``mode``), the bands :func:`band_from_repeats` of ``repeats`` ({generator: test L1 of
    each repeat: seeds, machines}) and ``floor``, ``source`` saying what the repeats were. Run it
    whenever the committed record is re-made."""
    from colorlib.utils.files import atomic_write

    results_dir = Path(results_dir)
    m = pd.read_csv(results_dir / "metrics.csv")
    rows = m[(m["kind"] == "mean ± sd over seeds") & (m["mode"] == mode)].set_index("model")["l1"]
    record = {
        "what": "the record this folder's metrics.csv reproduces (test L1, mean over seeds) and the band "
        "within which a new run counts as reproducing it (colorlib.evaluation.claims.check)",
        "l1": {g: round(float(rows[g]), 4) for g in repeats if g in rows.index},
        "mode": mode,
        "band": {g: round(b, 4) for g, b in band_from_repeats(repeats, floor).items()},
        "band_source": source,
        "repeats": repeats,
    }
    return atomic_write(results_dir / "record.json", json.dumps(record, indent=2) + "\n")


def check(results_dir: str | Path, profile: str) -> tuple[bool | None, str]:
    """Did the results in ``results_dir`` reproduce their record? (None, reason) when there is no
    record or no metrics.csv."""
    results_dir = Path(results_dir)
    record = _record_for(results_dir, profile)
    if record is None:
        return None, f"no record to compare with ({results_dir / 'record.json'} is missing)"
    metrics_csv = results_dir / "metrics.csv"
    if not metrics_csv.is_file():
        return None, f"no {metrics_csv} yet: evaluate first"
    return reproduction(pd.read_csv(metrics_csv), record)
