"""Save/load round trips: every extractor and the summary identical, for each kind of fit."""

import warnings

import numpy as np
import pandas as pd
import pytest

import hierlm as hl


def _same(a, b):
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def _roundtrip(fit, tmp_path):
    back = hl.load(fit.save(tmp_path / "fit"))
    assert type(back) is type(fit)
    for name in ["fixef", "ranef", "coef", "varcorr", "sigma", "fitted", "residuals", "nobs", "ngrps",
                 "loglik", "aic", "bic", "is_singular", "vcov"]:
        _same(getattr(fit, name)(), getattr(back, name)())
    _same(fit.ranef(intervals=True), back.ranef(intervals=True))
    _same(fit.predict(re_form="~0"), back.predict(re_form="~0"))
    assert str(fit.summary()) == str(back.summary())
    return back


def test_lmer_roundtrip(tmp_path, sleep):
    m = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    back = _roundtrip(m, tmp_path)
    assert back.reml_criterion() == m.reml_criterion()


def test_lmer_ml_with_factors_transforms_and_missing_rows(tmp_path):
    sitka = hl.load_dataset("Sitka")
    sitka.loc[3, "size"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.HierlmWarning)
        m = hl.lmer("size ~ treat*poly(Time, 2) + (1 + Time | tree)", sitka, reml=False)
    back = _roundtrip(m, tmp_path)
    _same(m.predict(sitka.iloc[:10]), back.predict(sitka.iloc[:10]))
    assert back.nobs() == 394


def test_glmer_roundtrip(tmp_path):
    cbpp = hl.load_dataset("cbpp")
    g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    _roundtrip(g, tmp_path)


def test_glmer_negbinomial_roundtrip(tmp_path):
    ticks = hl.load_dataset("grouseticks")
    g = hl.glmer("TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)", ticks, family="negbinomial")
    back = _roundtrip(g, tmp_path)
    assert back.nb_theta == g.nb_theta


def test_load_refuses_foreign_folder(tmp_path):
    with pytest.raises(hl.HierlmError, match="not a saved hierlm fit"):
        hl.load(tmp_path)


def test_saved_folder_has_no_pickle(tmp_path, sleep):
    folder = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep).save(tmp_path / "f")
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.nc", "data.nc", "hierlm.json"]
