"""The claims' criteria (colorlib.evaluation.claims) on synthetic per-image tables and histories whose right
verdict is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from colorlib.evaluation import claims
from colorlib.evaluation.claims import CONTRADICTED, INCONCLUSIVE, NOT_COMPARABLE, SUPPORTED


def per_image(means: dict[str, list[float]], n_images: int = 30, noise: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """evaluate's per-image table: model → per-seed mean L1 (one entry per seed), image noise shared
    by the models (the images' difficulty) plus a little independent noise."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 0.03, n_images)
    rows = []
    for model, per_seed in means.items():
        for s, m in enumerate(per_seed):
            l1 = m + difficulty + rng.normal(0, noise, n_images)
            rows.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "generator": model,
                        "seed": s,
                        "mode": "eval",
                        "image": np.arange(n_images),
                        "l1": l1,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def history(d: np.ndarray, g: np.ndarray, l1: np.ndarray | None = None) -> pd.DataFrame:
    n = len(d)
    l1 = np.linspace(0.2, 0.1, n) if l1 is None else l1
    return pd.DataFrame({"epoch": np.arange(1, n + 1), "phase": "gan", "d_loss": d, "g_bce": g, "g_l1": l1})


def opposed_settling(n: int = 100, seed: int = 0, tau: float = 10.0) -> pd.DataFrame:
    """D and G BCE that move against each other (anti-correlated wiggles) and decay to a level."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    wiggle = rng.normal(0, 0.05, n) * np.exp(-t / (3 * tau)) + rng.normal(0, 0.005, n)
    base = np.exp(-t / tau)
    return history(0.6 + 0.3 * base + wiggle, 2.0 + 1.0 * base - 2 * wiggle)


# ---- claim 1 -----------------------------------------------------------------------------------
def test_unet_better_supported_contradicted_and_inconclusive():
    better = per_image({"unet": [0.090, 0.091, 0.089], "resnet": [0.095, 0.096, 0.094]})
    assert claims.claim_unet_better(better).verdict == SUPPORTED
    worse = per_image({"unet": [0.100, 0.101, 0.099], "resnet": [0.090, 0.091, 0.089]})
    assert claims.claim_unet_better(worse).verdict == CONTRADICTED
    # seed-to-seed spread larger than the gap: the across-seeds interval contains 0
    noisy = per_image({"unet": [0.080, 0.100, 0.092], "resnet": [0.095, 0.085, 0.096]})
    assert claims.claim_unet_better(noisy).verdict == INCONCLUSIVE


def test_unet_better_one_seed_is_inconclusive_even_when_every_image_agrees():
    one = per_image({"unet": [0.080], "resnet": [0.110]})
    c = claims.claim_unet_better(one)
    assert c.verdict == INCONCLUSIVE and "lower for U-Net" in c.reason
    assert claims.claim_unet_better(one, demo=True).verdict == NOT_COMPARABLE


def test_paired_models_matches_comparison_md_test():
    """The same numbers as report.comparison_markdown (metrics.paired_difference of the per-seed means)."""
    from colorlib.evaluation.metrics import paired_difference

    df = per_image({"unet": [0.090, 0.093, 0.089], "resnet": [0.095, 0.094, 0.097]})
    p = claims.paired_models(df, "unet", "resnet")
    seed_means = df.groupby(["model", "seed"])["l1"].mean()
    ref = paired_difference(seed_means["unet"].to_numpy(), seed_means["resnet"].to_numpy())
    assert p["seeds"]["t_lo"] == pytest.approx(ref["t_lo"]) and p["seeds"]["t_hi"] == pytest.approx(ref["t_hi"])
    assert p["n_seeds"] == 3 and p["images"]["n"] == 90


# ---- claim 2 -----------------------------------------------------------------------------------
def test_bce_equilibrium_supported_when_opposed_and_settled():
    hs = {f"unet-seed{s}": opposed_settling(seed=s) for s in range(2)}
    c = claims.claim_bce_equilibrium(hs)
    assert c.verdict == SUPPORTED, c.evidence


def test_bce_equilibrium_contradicted_when_moving_together_or_still_moving():
    rng = np.random.default_rng(1)
    common = rng.normal(0, 0.05, 100)
    together = history(0.6 + common, 2.0 + 2 * common)
    assert claims.claim_bce_equilibrium({"unet-seed0": together}).verdict == CONTRADICTED
    t = np.arange(100)
    w = rng.normal(0, 0.02, 100)
    drifting = history(0.3 + 0.01 * t + w, 3.0 - 0.01 * t - w)  # opposed, but still going at the end
    c = claims.claim_bce_equilibrium({"unet-seed0": drifting})
    assert c.verdict == CONTRADICTED and "no equilibrium" in c.reason


def test_bce_equilibrium_too_short_or_missing_is_inconclusive():
    assert claims.claim_bce_equilibrium({}).verdict == INCONCLUSIVE
    short = opposed_settling(n=claims.MIN_EPOCHS - 1)
    assert claims.claim_bce_equilibrium({"unet-seed0": short}).verdict == INCONCLUSIVE


# ---- claim 3 -----------------------------------------------------------------------------------
def test_l1_early_supported_for_fast_decay_contradicted_for_linear():
    t = np.arange(300)
    fast = opposed_settling(300)
    fast["g_l1"] = 0.1 + 0.1 * np.exp(-t / 20)  # 90 % by epoch ≈ 46 of 300
    assert claims.claim_l1_early({"unet-seed0": fast}).verdict == SUPPORTED
    assert claims.epoch_to_fraction(fast["g_l1"].to_numpy()) == pytest.approx(47 / 300, abs=0.02)
    slow = fast.assign(g_l1=0.2 - 0.0003 * t)  # steady: 90 % only at 90 % of the run
    assert claims.claim_l1_early({"unet-seed0": slow}).verdict == CONTRADICTED
    flat = fast.assign(g_l1=0.2 + 0.0001 * t)  # never improves
    assert claims.claim_l1_early({"unet-seed0": flat}).verdict == CONTRADICTED


# ---- claim 4 -----------------------------------------------------------------------------------
def test_resnet_converges_faster_by_plateau_epoch():
    hs = {}
    for s in range(2):
        hs[f"resnet-seed{s}"] = opposed_settling(seed=s, tau=5)
        hs[f"unet-seed{s}"] = opposed_settling(seed=10 + s, tau=25)
    c = claims.claim_resnet_converges_faster(hs)
    assert c.verdict == SUPPORTED, c.evidence
    swapped = {k.replace("resnet", "X").replace("unet", "resnet").replace("X", "unet"): v for k, v in hs.items()}
    assert claims.claim_resnet_converges_faster(swapped).verdict == CONTRADICTED
    one = {k: v for k, v in hs.items() if k.endswith("seed0")}
    assert claims.claim_resnet_converges_faster(one).verdict == INCONCLUSIVE


def test_plateau_epoch_of_a_step():
    x = np.r_[np.full(40, 2.0), np.full(60, 1.0)]
    assert claims.plateau_epoch(x) == pytest.approx(0.41, abs=0.03)
    assert claims.plateau_epoch(np.ones(50)) == pytest.approx(1 / 50)


# ---- claim 5 -----------------------------------------------------------------------------------
def test_pretraining_and_size_ablations():
    df = per_image(
        {
            "unet": [0.090, 0.091, 0.089],
            "resnet": [0.094, 0.095, 0.093],
            "resnet-random": [0.105, 0.104, 0.106],
            "unet-small": [0.099, 0.098, 0.100],
        }
    )
    assert claims.claim_pretraining(df).verdict == SUPPORTED
    assert claims.claim_size(df).verdict == SUPPORTED
    assert claims.claim_pretraining(df, resnet_pretrained=False).verdict == INCONCLUSIVE
    assert claims.claim_pretraining(df, demo=True).verdict == NOT_COMPARABLE
    hurt = per_image({"resnet": [0.105, 0.104, 0.106], "resnet-random": [0.094, 0.095, 0.093]})
    assert claims.claim_pretraining(hurt).verdict == CONTRADICTED
    without = per_image({"unet": [0.09], "resnet": [0.095]})
    c = claims.claim_pretraining(without)
    assert c.verdict == INCONCLUSIVE and "ABLATIONS=yes" in c.reason


# ---- claim 6 -----------------------------------------------------------------------------------
def test_parameter_counts():
    from colorlib.evaluation.tables import PAPER_TOTALS

    ours, paper = claims._parameter_counts()
    assert ours["U-Net generator"] == 54_410_370 and ours["ResNet generator"] == 14_720_578
    assert claims.claim_parameter_counts(ours, paper).verdict == SUPPORTED
    off = dict(ours, fig13=PAPER_TOTALS["fig13"] + 1)
    c = claims.claim_parameter_counts(off, paper)
    assert c.verdict == CONTRADICTED and "fig13" in c.reason


# ---- did I reproduce it? ------------------------------------------------------------------------
def metrics_rows(unet: float, resnet: float, sd: float = float("nan")) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"model": m, "mode": "eval", "kind": "mean ± sd over seeds", "l1": v, "l1_sd": sd}
            for m, v in (("unet", unet), ("resnet", resnet))
        ]
    )


def test_reproduction_within_and_outside_the_band():
    rec = {"l1": {"unet": 0.0881, "resnet": 0.1121}, "band": 0.005, "mode": "eval"}
    ok, line = claims.reproduction(metrics_rows(0.0900, 0.1100), rec)
    assert ok and line.startswith("reproduced:") and "\n" not in line
    ok, line = claims.reproduction(metrics_rows(0.0923, 0.1226), rec)
    assert not ok and line.startswith("not reproduced") and "+0.0105" in line
    # a wide spread over the user's seeds widens the band to 2 sd
    assert claims.reproduction(metrics_rows(0.0923, 0.1226, sd=0.006), rec)[0]
    assert not claims.reproduction(metrics_rows(0.0923, 0.1226), claims.PAPER_RECORD)[0]


def test_claims_markdown_lists_every_claim_with_a_verdict():
    df = per_image({"unet": [0.09], "resnet": [0.095]})
    cl = claims.build_claims(df, {}, "demo", counts=({"fig10": 1}, {"fig10": 1}))
    md = claims.claims_markdown(cl, "profile `demo`", "reproduced: test L1 …")
    for key in (1, 2, 3, 4, 5, "5b", 6):
        assert f"### Claim {key} — " in md
    assert "**Did this reproduce the record?** reproduced" in md
    assert all(c.verdict in claims.VERDICTS for c in cl)


def test_record_band_from_repeats_and_check(tmp_path):
    """record.json: each generator's band is 2 sd of its repeats (at least the floor); check()
    says reproduced for the record itself and not reproduced for a run outside its own band —
    a wide band of one generator does not loosen another's."""
    import json

    metrics_rows(0.0978, 0.1097).to_csv(tmp_path / "metrics.csv", index=False)
    claims.write_record(tmp_path, {"unet": [0.0978, 0.0965], "resnet": [0.1097, 0.1490]}, "two seeds")
    rec = json.loads((tmp_path / "record.json").read_text())
    assert rec["l1"] == {"unet": 0.0978, "resnet": 0.1097}
    assert rec["band"] == {"unet": pytest.approx(0.0018, abs=1e-4), "resnet": pytest.approx(0.0556, abs=1e-4)}
    assert claims.check(tmp_path, "demo")[0] is True
    metrics_rows(0.1030, 0.1400).to_csv(tmp_path / "metrics.csv", index=False)  # ResNet inside, U-Net out
    ok, line = claims.check(tmp_path, "demo")
    assert ok is False and "U-Net 0.1030 vs 0.0978 (+0.0052, band ±0.0018)" in line and "band ±0.0556" in line
    # a floor (machine-to-machine spread measured elsewhere) widens a band narrower than it
    claims.write_record(tmp_path, {"unet": [0.0978, 0.0965], "resnet": [0.1097, 0.1490]}, "seeds", floor=0.0059)
    assert json.loads((tmp_path / "record.json").read_text())["band"]["unet"] == 0.0059
    assert claims.check(tmp_path, "demo")[0] is True
    assert claims.check(tmp_path / "nowhere", "demo")[0] is None


@pytest.mark.parametrize(
    "text, says",
    [
        ("not json", "not readable as JSON"),
        ('{"l1": {"unet": 0.1}, "band": {}}', '"band" is neither'),
        ('{"l1": {"unet": "x"}, "band": 0.01}', '"l1" holds'),
        ("[]", 'no "l1"'),
    ],
)
def test_a_damaged_record_is_one_line_naming_the_file(tmp_path, text, says):
    metrics_rows(0.0978, 0.1097).to_csv(tmp_path / "metrics.csv", index=False)
    (tmp_path / "record.json").write_text(text)
    with pytest.raises(claims.RecordError, match=says) as err:
        claims.check(tmp_path, "demo")
    assert "record.json" in str(err.value) and "git checkout" in str(err.value) and "\n" not in str(err.value)


def test_a_generator_without_a_band_of_its_own_takes_the_widest():
    """A record whose generator had one repeat only has no band of its own for it (a single
    number for all, as the paper's record, is test_reproduction_within_and_outside_the_band)."""
    record = {"l1": {"unet": 0.0978, "resnet": 0.1097}, "band": {"resnet": 0.0556}, "mode": "eval"}
    ok, line = claims.reproduction(metrics_rows(0.1030, 0.1100), record)
    assert ok and "U-Net 0.1030 vs 0.0978 (+0.0052, band ±0.0556)" in line


def test_curve_shapes_of_the_demo_are_not_comparable_but_say_what_was_measured():
    """Claims 2–4 are about 300 epochs on COCO: on the demo (15 CPU epochs on 64 crops) a curve
    that would contradict the paper is reported as not comparable, with the measured verdict in
    its reason; on the paper profile the verdict stands."""
    n = 60
    slow = history(np.full(n, 0.6), np.full(n, 0.9), np.linspace(0.2, 0.1, n))  # L1 improves linearly
    df = per_image({"unet": [0.09], "resnet": [0.095]})
    counts = ({"fig10": 1}, {"fig10": 1})
    demo = {c.key: c for c in claims.build_claims(df, {"unet-seed0": slow}, "demo", counts=counts)}
    paper = {c.key: c for c in claims.build_claims(df, {"unet-seed0": slow}, "paper", counts=counts)}
    assert paper[3].verdict == CONTRADICTED
    assert demo[3].verdict == NOT_COMPARABLE and demo[3].reason.endswith(paper[3].reason)
    assert CONTRADICTED in demo[3].reason
