"""lmerTest / pbkrtest tables of LmerFit against R (tests/reference/course_reference.json, block
``lmer_tests``, made by make_course_reference.R): coefficient tables (Satterthwaite, Kenward-Roger),
type I/II/III F tables, contrast tests and ranova, for every model in the JSON.

Tolerance: 1e-4 relative on every number (p-values below 1e-12 on the log scale).  The
``cbpp_weighted`` Kenward-Roger numbers are pbkrtest's, which ignore the prior weights, so they are
not compared (hierlm honours the weights; see tests/engines/frequentist/test_ddf.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import hierlm as hl
from hierlm.fits import lmm_tests as T
from support import ROOT, reference_json

REF = reference_json("course_reference.json")
MODELS = REF["lmer_tests"]
KR_IGNORES_WEIGHTS = {"cbpp_weighted"}  # pbkrtest 0.5 builds Sigma without the prior weights
RTOL = 1e-4


def load_reference_data(entry: dict) -> pd.DataFrame:
    """The data of a reference entry: hierlm dataset or CSV, factor levels from the JSON, derived
    columns and row subsets as described in the entry."""
    info = REF["datasets"][entry["data"]]
    if info.get("loader") == "hl.load_dataset":
        df = hl.load_dataset(entry["data"])
    else:
        df = pd.read_csv(ROOT / info["file"])
    for col, levels in info["factors"].items():
        s = df[col]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            s = s.map(lambda v: v if pd.isna(v) else format(v, "g") if isinstance(v, (int, float, np.number)) else str(v))
        df[col] = pd.Categorical(s.astype(object), categories=levels)
    if entry.get("derived"):
        lhs, rhs = entry["derived"].split("=", 1)
        df[lhs.strip()] = df.eval(rhs)
    if entry.get("subset") == "drop_every_7th":
        df = df[(np.arange(len(df)) + 1) % 7 != 0].reset_index(drop=True)
    elif entry.get("subset"):
        raise NotImplementedError(f"subset {entry['subset']!r}")
    return df


_FITS: dict[str, object] = {}


def fit_of(name: str):
    if name not in _FITS:
        e = MODELS[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # carrots: rows with missing values are dropped, as lme4 does
            m = hl.lmer(e["formula"], load_reference_data(e), reml=e["REML"], weights=e["weights"])
        assert m.nobs() == e["nobs"]
        assert list(m.design.xnames) == e["fixef_names"]
        _FITS[name] = m
    return _FITS[name]


def assert_close(mine, ref, what: str) -> None:
    if ref is None:
        assert mine is None or pd.isna(mine), what
        return
    mine = float(mine)
    if "Pr(" in what and abs(ref) < 1e-12:
        assert abs(np.log(mine) - np.log(ref)) <= RTOL * abs(np.log(ref)), f"{what}: {mine} vs {ref}"
    else:
        assert mine == pytest.approx(ref, rel=RTOL, abs=1e-12), f"{what}: {mine} vs {ref}"


def assert_table(tab: pd.DataFrame, ref: dict, what: str) -> None:
    tab = tab.set_axis(tab.index.astype(str))  # contest rows are 1, 2, ... (R: "1", "2", ...)
    assert list(tab.index) == list(ref), what
    for row, cols in ref.items():
        for col, v in cols.items():
            assert_close(tab.loc[row, col], v, f"{what} [{row}, {col}]")


def _ddf_cases():
    return [(name, dd) for name in MODELS for dd in ("Satterthwaite", "Kenward-Roger")]


@pytest.mark.parametrize("name, ddf", _ddf_cases())
def test_coefficient_table(name, ddf):
    e = MODELS[name]
    ref = e["coef_satterthwaite" if ddf == "Satterthwaite" else "coef_kenward_roger"]
    m = fit_of(name)
    if "error" in ref:
        with pytest.raises(hl.HierlmError, match="REML"):
            T.coef_table(m, ddf)
        return
    if ddf == "Kenward-Roger" and name in KR_IGNORES_WEIGHTS:
        pytest.skip("pbkrtest's KR ignores prior weights")
    assert_table(T.coef_table(m, ddf), ref, f"{name} coef {ddf}")


@pytest.mark.parametrize("name, ddf", _ddf_cases())
def test_anova_tables(name, ddf):
    m = fit_of(name)
    for ty in (1, 2, 3):
        ref = MODELS[name]["anova"][ddf][f"type{ty}"]
        if "error" in ref:
            with pytest.raises(hl.HierlmError, match="REML"):
                T.anova_table(m, type=ty, ddf=ddf)
            continue
        if ddf == "Kenward-Roger" and name in KR_IGNORES_WEIGHTS:
            continue
        tab = T.anova_table(m, type=ty, ddf=ddf)
        assert list(tab.columns) == ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]
        assert_table(tab, ref, f"{name} anova type {ty} {ddf}")


@pytest.mark.parametrize("name", [n for n in MODELS if MODELS[n].get("contest")])
def test_contest(name):
    m = fit_of(name)
    for case in MODELS[name]["contest"]:
        for ddf in ("Satterthwaite", "Kenward-Roger"):
            ref = case[ddf]
            if "error" in ref:
                with pytest.raises(hl.HierlmError):
                    T.contest(m, case["L"], ddf=ddf, joint=case["joint"])
                continue
            tab = T.contest(m, case["L"], ddf=ddf, joint=case["joint"])
            assert_table(tab, ref, f"{name} contest {case['label']} {ddf}")


@pytest.mark.parametrize("name", list(MODELS))
def test_ranova(name):
    e = MODELS[name]
    tab = T.ranova(fit_of(name))
    assert list(tab.index) == e["ranova_rownames"]
    assert list(tab.columns) == ["npar", "logLik", "AIC", "LRT", "Df", "Pr(>Chisq)"]
    assert_table(tab, e["ranova"], f"{name} ranova")


def test_lme4_tables_and_consistency():
    m = fit_of("oats")
    lme = T.coef_table(m, ddf="lme4")
    assert list(lme.columns) == ["Estimate", "Std. Error", "t value"]
    np.testing.assert_allclose(lme["Std. Error"], np.sqrt(np.diag(m.vcov_beta)))
    # lme4's sequential F values are lmerTest's type I F values
    a4 = T.anova_table(m, ddf="lme4")
    a1 = T.anova_table(m, type=1)
    assert list(a4.columns) == ["npar", "Sum Sq", "Mean Sq", "F value"]
    np.testing.assert_allclose(a4["F value"], a1["F value"], rtol=1e-8)
    np.testing.assert_allclose(a4["npar"], a1["NumDF"])
    # a one-row joint test is the squared t test
    t = T.contest(m, np.eye(6)[1], joint=False)
    f = T.contest(m, np.eye(6)[1])
    assert f["F value"].iloc[0] == pytest.approx(t["t value"].iloc[0] ** 2)
    assert f["DenDF"].iloc[0] == pytest.approx(t["df"].iloc[0])


def test_type_iii_does_not_depend_on_coding():
    """Type III F tables are the same whether a factor has treatment or polynomial contrasts."""
    d = hl.load_dataset("Oats")
    m1 = hl.lmer("yield ~ nitro * Variety + (1 | Block)", d)
    d2 = d.assign(Variety=pd.Categorical(d.Variety.astype(str), categories=list(d.Variety.cat.categories), ordered=True))
    m2 = hl.lmer("yield ~ nitro * Variety + (1 | Block)", d2)
    assert m2.design.xnames[2] == "Variety.L"
    a1, a2 = T.anova_table(m1, type=3), T.anova_table(m2, type=3)
    np.testing.assert_allclose(a1["F value"], a2["F value"], rtol=1e-6)
    np.testing.assert_allclose(a1["DenDF"], a2["DenDF"], rtol=1e-6)


def test_missing_cells_warn_for_type_iii():
    d = hl.load_dataset("Oats")
    d = d[~((d.Variety == "Victory") & (d.nitro == 0.6))].assign(nf=lambda x: pd.Categorical(x.nitro.map(lambda v: f"{v:g}")))
    with pytest.warns(hl.HierlmWarning):
        m = hl.lmer("yield ~ Variety * nf + (1 | Block)", d)  # rank deficient: one column dropped
    with pytest.warns(hl.HierlmWarning, match="Missing cells for: VarietyVictory:nf0.6"):
        tab = T.anova_table(m, type=3)
    # lmerTest 3.1-3 on the same data: F = 3.33891605, 23.08496660, 0.24777114
    np.testing.assert_allclose(tab["F value"], [3.33891605, 23.08496660, 0.24777114], rtol=1e-6)
    np.testing.assert_array_equal(tab["NumDF"], [2, 3, 5])


def test_bad_input():
    m = fit_of("sleep")
    with pytest.raises(hl.HierlmError, match="Satterthwaite"):
        T.coef_table(m, ddf="Satterwaite")
    with pytest.raises(hl.HierlmError, match="ddf must be one of"):
        T.contest(m, [0, 1], ddf="lme4")
    with pytest.raises(hl.HierlmError, match="3 column"):
        T.contest(m, [0, 1, 0])
    with pytest.raises(hl.HierlmError, match="type must be 1, 2 or 3"):
        T.anova_table(m, type=4)
    with pytest.raises(hl.HierlmError, match="REML"):
        T.anova_table(fit_of("sleep_ML"), ddf="Kenward-Roger")
    g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"), family="binomial")
    for fn in (T.coef_table, T.anova_table, T.ranova):
        with pytest.raises(hl.HierlmError, match="linear mixed model"):
            fn(g)
    with pytest.raises(hl.HierlmError, match="linear mixed model"):
        T.contest(g, [1, 0, 0, 0])
