"""hl.side_by_side(..., means=, contrast=): marginal means and contrasts of an lmer and a blmer fit in one table."""

import warnings

import numpy as np
import pytest

import hierlm as hl
from hierlm.services.comparison import side_by_side
from hierlm.services.emmeans import contrast, emmeans

FORMULA = "effort ~ Type + (1 | Subject)"


@pytest.fixture(scope="module")
def fits():
    data = hl.load_dataset("ergoStool")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = hl.blmer(FORMULA, data, draws=300, tune=300, chains=2, seed=11, progressbar=False)
    return hl.lmer(FORMULA, data), b


def test_means_side_by_side(fits):
    m, b = fits
    tab = side_by_side(m, b, means="Type")
    assert tab.index.tolist() == ["T1", "T2", "T3", "T4"] and tab.index.name == "Type"
    assert list(tab.columns) == ["freq_estimate", "freq_se", "freq_df", "freq_lower", "freq_upper", "bayes_median",
                                 "bayes_lower", "bayes_upper"]
    ref = emmeans(m, "Type")
    np.testing.assert_allclose(tab["freq_estimate"], ref["emmean"])
    np.testing.assert_allclose(tab["freq_df"], ref["df"])
    assert np.all((tab.bayes_lower < tab.freq_estimate) & (tab.freq_estimate < tab.bayes_upper))
    assert "Kenward-Roger" in tab.caption or "kenward-roger" in tab.caption


def test_contrasts_side_by_side(fits):
    m, b = fits
    tab = side_by_side(b, m, means="Type", contrast="pairwise", adjust="holm")  # either order
    assert tab.index.tolist()[0] == "T1 - T2" and len(tab) == 6
    ref = contrast(emmeans(m, "Type"), "pairwise", adjust="holm")
    np.testing.assert_allclose(tab["freq_p"], ref["p.value"])
    np.testing.assert_allclose(tab["bayes_P(>0)"] + tab["bayes_P(<0)"], 1.0)
    assert tab.loc["T1 - T2", "bayes_P(<0)"] > 0.99
    assert "P value adjustment: holm" in tab.caption


def test_parameters_table_unchanged_and_contrast_needs_means(fits):
    m, b = fits
    assert side_by_side(m, b).index.tolist()[:4] == ["(Intercept)", "TypeT2", "TypeT3", "TypeT4"]
    with pytest.raises(hl.HierlmError, match="give means= too"):
        side_by_side(m, b, contrast="pairwise")
