"""Two-minute experiments (colorlib.evaluation.experiments): each call its own fresh run."""

from __future__ import annotations

import pytest

from colorlib.config import Config
from colorlib.evaluation.experiments import run_experiment


def test_each_experiment_is_its_own_run_and_returns_what_to_plot(tmp_path):
    cfg = Config.from_profile("smoke")
    small = dict(epochs=1, n_train=4, n_test=2, image_size=32, batch_size=2, root=tmp_path)
    l1_only = run_experiment(cfg, gan=False, **small)
    gan = run_experiment(cfg, lambda_l1=10, **small)
    again = run_experiment(cfg, lambda_l1=10, **small)  # the same settings: trained anew, not resumed
    assert (l1_only["label"], gan["label"]) == ("L1 only", "GAN + 10·L1")
    assert l1_only["history"]["phase"].tolist() == ["l1"] and gan["history"]["phase"].tolist() == ["gan"]
    assert len({p for p in tmp_path.iterdir() if p.name != "data"}) == 3  # three run folders
    for r in (l1_only, gan, again):
        assert r["predicted"].shape == r["original"].shape == (2, 32, 32, 3)
        assert 0 < r["l1"] < 1 and r["colorfulness"] >= 0 and r["colorfulness_true"] > 0
    assert run_experiment(cfg, lambda_l1=0, **small)["label"] == "GAN only"
    with pytest.raises(ValueError, match="trains nothing"):
        run_experiment(cfg, gan=False, lambda_l1=0, **small)
