"""The appendix's torchinfo summaries (Figs. 10–13, 15), layer by layer and in total.

The per-layer parameter counts below are transcribed from the paper independently of
``colorlib.evaluation.tables.PAPER_TABLES``, so an edit to either the networks or that table fails here.

Erratum (Fig. 15): the paper prints 512×16×16 for the last C512 conv of the discriminator and
its BatchNorm. That conv has stride 1 (pix2pix's 70×70 PatchGAN), so for a 256×256 input its
output is 31×31, and only then does the final 4×4/1 conv give the 30×30 patch map that Fig. 15
itself prints (16×16 would give 15×15). The parameter counts do not depend on it and match.
"""

from __future__ import annotations

import pytest

from colorlib.evaluation.tables import FIGURES, PAPER_TABLES, PAPER_TOTALS, figure_modules, param_rows, summary_table

# Param # column of each figure, parameterized layers only, in the paper's order.
PAPER_PARAMS = {
    "fig10": [
        1_024,
        131_072,
        256,
        524_288,
        512,
        2_097_152,
        1_024,
        4_194_304,
        1_024,
        4_194_304,
        1_024,
        4_194_304,
        1_024,
        4_194_816,
    ],
    "fig11": [
        4_194_304,
        1_024,
        8_388_608,
        1_024,
        8_388_608,
        1_024,
        8_388_608,
        1_024,
        4_194_304,
        512,
        1_048_576,
        256,
        262_144,
        128,
        4_098,
    ],
    "fig12": [9_408, 128, 73_984, 73_984, 230_144, 295_424, 919_040, 1_180_672, 3_673_088, 4_720_640],
    "fig13": [2_097_152, 512, 1_048_576, 256, 262_144, 128, 131_072, 128, 4_098],
    "fig15": [3_136, 131_072, 256, 524_288, 512, 2_097_152, 1_024, 8_193],
}
TOTALS = {"fig10": 19_536_128, "fig11": 34_874_242, "fig12": 11_176_512, "fig13": 3_544_066, "fig15": 2_765_633}
FIG15_ERRATUM_ROWS = (5, 6)  # the C512 conv and its BatchNorm: paper 16×16, really 31×31


@pytest.fixture(scope="module")
def rows() -> dict:
    """Our torchinfo rows for every figure, computed once (a 256×256 forward pass each)."""
    return {fig: param_rows(fig) for fig in PAPER_TABLES}


def test_transcription_is_consistent():
    assert set(PAPER_TABLES) == set(PAPER_PARAMS) == set(FIGURES)
    for fig, params in PAPER_PARAMS.items():
        assert sum(params) == TOTALS[fig] == PAPER_TOTALS[fig]
        assert [n for _, _, n in PAPER_TABLES[fig]] == params
    assert TOTALS["fig10"] + TOTALS["fig11"] == 54_410_370  # U-Net generator
    assert TOTALS["fig12"] + TOTALS["fig13"] == 14_720_578  # ResNet-18 generator


@pytest.mark.parametrize("fig", ["fig10", "fig11", "fig12", "fig13"])
def test_generator_figures_match_exactly(rows, fig):
    """Layer types, output shapes (C×H×W for a 256×256 input) and parameter counts, every row."""
    assert [n for _, _, n in rows[fig]] == PAPER_PARAMS[fig]
    assert rows[fig] == PAPER_TABLES[fig]
    assert sum(n for _, _, n in rows[fig]) == TOTALS[fig]


def test_discriminator_figure_matches_except_the_16x16_erratum(rows):
    ours, paper = rows["fig15"], PAPER_TABLES["fig15"]
    assert [n for _, _, n in ours] == PAPER_PARAMS["fig15"]
    assert [k for k, _, _ in ours] == [k for k, _, _ in paper]
    for i, ((_, shape, _), (_, p_shape, _)) in enumerate(zip(ours, paper)):
        if i in FIG15_ERRATUM_ROWS:
            assert p_shape == (512, 16, 16) and shape == (512, 31, 31)
        else:
            assert shape == p_shape
    assert ours[-1][1] == (1, 30, 30)
    assert sum(n for _, _, n in ours) == TOTALS["fig15"]


def test_whole_networks_count_the_same():
    """The figures' totals are the networks' trainable parameters, nothing hidden elsewhere."""
    for fig in PAPER_TABLES:
        _, _, target = figure_modules(fig)
        assert sum(p.numel() for p in target.parameters() if p.requires_grad) == TOTALS[fig]
    unet_module, _, _ = figure_modules("fig10")
    resnet_module, _, _ = figure_modules("fig12")
    assert sum(p.numel() for p in unet_module.parameters()) == 54_410_370
    assert sum(p.numel() for p in resnet_module.parameters()) == 14_720_578


def test_summary_table_marks_every_row():
    df = summary_table("fig15")
    assert list(df.columns) == ["layer", "output shape", "params", "paper shape", "paper params", "match"]
    assert len(df) == len(PAPER_TABLES["fig15"]) + 1
    assert df["match"].all()  # kinds and counts match; the shape erratum is shown, not hidden
    assert df.loc[5, "output shape"] == "512×31×31" and df.loc[5, "paper shape"] == "512×16×16"
    total = df.iloc[-1]
    assert total["layer"] == "Total" and total["params"] == total["paper params"] == 2_765_633


def test_unknown_figure():
    with pytest.raises(ValueError, match="fig14"):
        figure_modules("fig14")
