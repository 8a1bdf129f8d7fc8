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


# -- Bayesian fits -------------------------------------------------------------------------------
def _quiet_blmer(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.SamplingWarning)
        return hl.blmer(*args, progressbar=False, **kw)


def _free_rvs(model):
    return [(v.name, tuple(model.initial_point()[model.rvs_to_values[v].name].shape)) for v in model.free_RVs]


def _bayes_roundtrip(fit, tmp_path, newdata, new_levels):
    back = hl.load(fit.save(tmp_path / "bfit"))
    assert type(back) is hl.BayesFit
    for name in ["fixef", "ranef", "coef", "varcorr", "sigma", "fitted", "residuals", "nobs", "ngrps", "is_singular",
                 "prior_summary", "singular_terms"]:
        _same(getattr(fit, name)(), getattr(back, name)())
    _same(fit.ranef(intervals=True), back.ranef(intervals=True))
    for kw in [{}, {"re_form": "~0"}, {"newdata": newdata}, {"newdata": newdata, "re_form": "~0"},
               {"newdata": new_levels, "allow_new_levels": True}, {"type": "link"}]:
        _same(fit.predict(**kw), back.predict(**kw))
    _same(fit.predict(kind="draws").values, back.predict(kind="draws").values)
    assert str(fit.summary()) == str(back.summary())
    assert fit.summary()._repr_html_() == back.summary()._repr_html_()
    assert back.settings == json_settings(fit)
    assert back.formula == fit.formula and back.family.name == fit.family.name
    assert [b.centred for b in back.spec.blocks] == [b.centred for b in fit.spec.blocks]
    assert back.spec.hier_centre == fit.spec.hier_centre
    # fit.model is rebuilt from the stored formula, data and priors: same free variables, same density
    assert _free_rvs(back.model) == _free_rvs(fit.model)
    assert [v.name for v in back.model.deterministics] == [v.name for v in fit.model.deterministics]
    point = fit.model.initial_point()
    assert back.model.compile_logp()(point) == fit.model.compile_logp()(point)
    return back


def json_settings(fit):
    import json

    return json.loads(json.dumps({k: v for k, v in fit.settings.items()
                                  if isinstance(v, (str, int, float, bool, list, dict)) or v is None}))


def test_bayes_gaussian_correlated_roundtrip(tmp_path, sleep):
    fit = _quiet_blmer("Reaction ~ Days + (Days | Subject)", sleep, seed=3, draws=150, tune=150, chains=2)
    new = sleep.iloc[[0, 15, 40]]
    new_levels = pd.DataFrame({"Days": [1.0, 5.0, 2.0], "Subject": ["308", "999", "999"]})
    back = _bayes_roundtrip(fit, tmp_path, new, new_levels)
    assert back.idata.attrs["seed"] == "3"
    for group in ["posterior", "sample_stats", "log_likelihood", "observed_data"]:
        a, b = fit.idata[group].to_dataset(), back.idata[group].to_dataset()
        assert sorted(a.data_vars) == sorted(b.data_vars)
        for v in a.data_vars:
            np.testing.assert_array_equal(a[v].values, b[v].values)


def test_bayes_binomial_glmm_roundtrip(tmp_path):
    cbpp = hl.load_dataset("cbpp")
    fit = _quiet_blmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial", seed=5,
                       draws=150, tune=150, chains=2)
    new_levels = cbpp.iloc[:3].assign(herd=["1", "new", "new"])
    back = _bayes_roundtrip(fit, tmp_path, cbpp.iloc[[1, 7, 20]], new_levels)
    assert back.sigma() == 1.0 and back.family.name == "binomial"


def test_bayes_user_priors_uncorrelated_joint_roundtrip(tmp_path, sleep):
    pri = {("sd", "Subject", "Days"): hl.Prior("exponential", lam=0.2), "b": hl.Prior("student_t", nu=4, sigma=20)}
    fit = _quiet_blmer("Reaction ~ Days + (Days || Subject)", sleep, priors=pri, seed=9, draws=100, tune=100,
                       chains=2, method="joint")
    back = hl.load(fit.save(tmp_path / "b2"))
    _same(fit.prior_summary(), back.prior_summary())
    for name in ["fixef", "varcorr", "fitted"]:
        _same(getattr(fit, name)(), getattr(back, name)())
    assert str(fit.summary()) == str(back.summary())
    assert _free_rvs(back.model) == _free_rvs(fit.model)
