"""hl.emmeans / hl.contrast / hl.emtrends / hl.ref_grid against emmeans 1.8.4 (pbkrtest 0.5.2, lmerTest 3.1-3):
every request of tests/reference/emmeans_reference.json (20 models), means / SEs / df / p values to 1e-4
relative, interval limits too, labels exactly; the reference grids' linear functions; emmeans' footer lines;
the errors a user can make; Bayesian means (slow) holding emmeans' estimates in their HPD intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from emm_reference import (
    FIT_DIFFERS,
    MODELS,
    coefficient_only,
    column,
    label_columns,
    lme4_coefficients_fit,
    model_data,
    model_fit,
    numeric_columns,
    run_request,
)

import hierlm as hl
from hierlm.services.emmeans import (
    EmmGrid,
    contrast,
    emmeans,
    emtrends,
    ref_grid,
    regrid,
)

RTOL = 1e-4
# The Satterthwaite repeats of the lmer requests (a quarter of them, half the time: Tukey quantiles at many
# df) run with the slow tests; Kenward-Roger (emmeans' default), asymptotic, glmer and lm ones always.
CASES = [pytest.param(name, i, id=f"{name}:{req['id']}",
                      marks=[pytest.mark.slow] if req["call"].get("lmer.df") == "satterthwaite" else [])
         for name, m in MODELS.items() for i, req in enumerate(m["requests"])]


def assert_close(got, want, what: str, scale=None, rtol=RTOL):
    """Relative agreement; ``scale`` (the SEs) bounds the absolute error of estimates near 0."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    both_inf = np.isinf(got) & np.isinf(want) & (np.sign(got) == np.sign(want))
    atol = 1e-12 if scale is None else rtol * np.asarray(scale, float)
    ok = both_inf | np.isclose(got, want, rtol=rtol, atol=atol)
    assert ok.all(), f"{what}: hierlm {got[~ok]} vs emmeans {want[~ok]}"


def check_request(out, req: dict, rtol: float = RTOL) -> None:
    """Columns, labels, estimates, SEs, df, intervals, tests and the adjustment applied, as emmeans."""
    assert isinstance(out, EmmGrid)
    rows = req["rows"]
    assert len(out) == len(next(iter(rows.values())))
    assert list(out.columns) == list(rows), (list(out.columns), list(rows))
    for c in label_columns(req):
        want = rows[c]
        if isinstance(want[0], str):
            assert [str(v) for v in out[c]] == want, c
        else:
            assert_close(out[c], want, c)
    se = column(rows["SE"])
    est = req["estimate_column"]
    for c in numeric_columns(req):
        if c == "p.value" and rtol > RTOL:
            # a fit that differs by rtol moves t by ~rtol * |t| and log p by ~rtol * t^2
            t = np.abs(column(rows[req["test_column"]]))
            got, want = out[c].to_numpy(float), column(rows[c])
            tiny = (got < 1e-10) & (want < 1e-10)
            lp, lr = np.log(np.where(tiny, 1.0, got)), np.log(np.where(tiny, 1.0, want))
            assert np.all(np.abs(lp - lr) <= 2 * rtol * np.maximum(1.0, t**2)), (c, got, want)
            continue
        # estimates and interval limits near 0: absolute error relative to the SE
        scale = se if (c == est or c in (req.get("ci_columns") or [])) else None
        assert_close(out[c], column(rows[c]), f"{req['r_code']} / {c}", scale, rtol)
    assert out.adjust_applied == req["adjust_applied"]


@pytest.mark.parametrize("name, i", CASES)
def test_request_matches_emmeans(name, i):
    """hierlm's own fit, every request; models whose fit is not lme4's to 1e-4 at their documented tolerance."""
    req = MODELS[name]["requests"][i]
    check_request(run_request(model_fit(name), req), req, FIT_DIFFERS.get(name, RTOL))


LME4_COEF_CASES = [pytest.param(name, i, id=f"{name}:{req['id']}") for name, m in MODELS.items() if name in FIT_DIFFERS
                   for i, req in enumerate(m["requests"]) if coefficient_only(name, req)]


@pytest.mark.parametrize("name, i", LME4_COEF_CASES)
def test_request_matches_emmeans_on_lme4_coefficients(name, i):
    """Where the fits differ: the same requests on lme4's own coefficients and covariance, to 1e-4."""
    req = MODELS[name]["requests"][i]
    check_request(run_request(lme4_coefficients_fit(name), req), req)


def _refgrid_cases():
    return [pytest.param(name, id=name) for name in MODELS]


@pytest.mark.parametrize("name", _refgrid_cases())
def test_default_reference_grid(name):
    """ref_grid(m): the grid's rows, predictions, SEs, df and its linear functions (emmeans' linfct)."""
    ref = MODELS[name]["ref_grid"]
    fit = model_fit(name)
    out = ref_grid(fit)
    rows = ref["rows"]
    tol = FIT_DIFFERS.get(name, RTOL)
    assert list(out.columns) == list(rows)
    assert_close(out["prediction"], rows["prediction"], "prediction", column(rows["SE"]), tol)
    assert_close(out["SE"], rows["SE"], "SE", rtol=tol)
    assert_close(out["df"], column(rows["df"]), "df", rtol=tol)
    assert list(fit.design.xnames) == ref["linfct_colnames"]
    np.testing.assert_allclose(out.linfct.to_numpy(), np.array(ref["linfct"], float), atol=1e-10)


LINFCT_CASES = [pytest.param(name, i, id=f"{name}:{req['id']}") for name, m in MODELS.items()
                for i, req in enumerate(m["requests"]) if "linfct" in req]


@pytest.mark.parametrize("name, i", LINFCT_CASES)
def test_linear_functions(name, i):
    """The L matrix behind each emmeans / emtrends table (weights, averaging, finite differences)."""
    req = MODELS[name]["requests"][i]
    out = run_request(model_fit(name), req)
    np.testing.assert_allclose(out.linfct.to_numpy(), np.array(req["linfct"], float), rtol=1e-6, atol=1e-9)


FOOTER_CASES = ["oats_factorial:nitro.kr.trt.vs.ctrl", "oats_factorial:nitro.kr.pairwise_scheffe",
                "oats_factorial:nitro.kr.pairwise_fdr", "cbpp_binomial:period_response.pairwise",
                "cbpp_binomial:period_link.eff", "pigs_log_lm:source", "cbpp_binomial:period_regrid.pairwise"]


@pytest.mark.parametrize("key", FOOTER_CASES)
def test_footer_lines_are_emmeans(key):
    name, rid = key.split(":")
    req = next(r for r in MODELS[name]["requests"] if r["id"] == rid)
    out = run_request(model_fit(name), req)
    assert [n for n in out.notes if not n.startswith(("NOTE", "Note"))] == req["annotations"]


def test_tukey_becomes_sidak_with_emmeans_note():
    req = next(r for r in MODELS["ergostool"]["requests"] if r["id"] == "type.kr.trt.vs.ctrl_tukey")
    out = run_request(model_fit("ergostool"), req)
    assert out.adjust_applied == "sidak"
    assert req["messages"][0] in out.notes


def test_printed_table_has_footer():
    fit = model_fit("ergostool")
    text = repr(emmeans(fit, "~ Type"))
    assert "Degrees-of-freedom method: kenward-roger" in text and "emmean" in text
    assert "<p" in emmeans(fit, "Type")._repr_html_()


def test_regrid_function_equals_keyword():
    fit = model_fit("cbpp_binomial")
    a = regrid(emmeans(fit, "period"))
    b = emmeans(fit, "period", regrid=True)
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))


# -- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, match", [
    (lambda m: emmeans(m, "~ Tpye"), "not a variable of the model's reference grid.*Did you mean 'Type'"),
    (lambda m: emmeans(m, "Subject"), "not a variable of the model's reference grid"),
    (lambda m: emmeans(m, "Type", at={"age": [1, 2]}), "at= names \\['age'\\]"),
    (lambda m: emmeans(m, "Type", at={"Type": ["T9"]}), "does not have"),
    (lambda m: emmeans(m, "Type", type="resp"), "type must be 'link'"),
    (lambda m: emmeans(m, "Type", ddf="kr2"), "ddf must be one of"),
    (lambda m: emmeans(m, "Type", weights="equall"), "weights='equall' is not known"),
    (lambda m: emmeans(m, "pairwise ~ Type"), "left-hand side"),
    (lambda m: emmeans(m, 3), "specs must name"),
    (lambda m: contrast(emmeans(m, "Type"), "pairwize"), "not a contrast method.*Did you mean 'pairwise'"),
    (lambda m: contrast(emmeans(m, "Type"), "pairwise", adjust="tukeyy"), "not a known adjustment"),
    (lambda m: contrast(emmeans(m, "Type"), {"a": [1, -1]}), "has 2 weights but there are 4 means"),
    (lambda m: contrast(emmeans(m, "Type"), "trt.vs.ctrl", ref=7), "out of range"),
    (lambda m: contrast(emmeans(m, "Type"), "pairwise", by="Days"), "by='Days' is not a column"),
    (lambda m: contrast(pd.DataFrame({"a": [1]}), "pairwise"), "expected the result of hl.emmeans"),
    (lambda m: emtrends(m, "Type", var="Type"), "is a factor"),
    (lambda m: emtrends(m, "Type", var="Days"), "var='Days' is not a variable"),
    (lambda m: emmeans("not a fit", "Type"), "needs a fitted model"),
])
def test_bad_input_raises_clear_errors(call, match):
    with pytest.raises(hl.HierlmError, match=match):
        call(model_fit("ergostool"))


def test_satterthwaite_and_asymptotic_names_are_accepted():
    fit = model_fit("ergostool")
    a = emmeans(fit, "Type", ddf="Satterthwaite")
    b = emmeans(fit, "Type", ddf="asymptotic")
    assert "lower.CL" in a.columns and "asymp.LCL" in b.columns
    assert np.isinf(b["df"]).all()


def test_glmer_rejects_kenward_roger():
    with pytest.raises(hl.HierlmError, match="for linear mixed models"):
        emmeans(model_fit("cbpp_binomial"), "period", ddf="kenward-roger")


# -- Bayesian ---------------------------------------------------------------------------------------
BAYES = [("ergostool", "type.kr", "Type"), ("oats_factorial", "nitro.kr", "nitro_f"),
         ("cbpp_binomial", "period_response", "period")]


@pytest.mark.slow
@pytest.mark.parametrize("name, rid, spec", BAYES)
def test_bayesian_means_hold_emmeans_estimates(name, rid, spec):
    m = MODELS[name]
    req = next(r for r in m["requests"] if r["id"] == rid)
    b = hl.blmer(m["formula"], model_data(name), family=m["family"] if m["fitter"] == "glmer" else "gaussian",
                 draws=1000, chains=4, seed=20240516, progressbar=False)
    out = emmeans(b, spec, type=req["call"].get("type", "link"))
    est = np.asarray(req["rows"][req["estimate_column"]], float)
    assert list(out.columns) == [spec, req["estimate_column"], "lower.HPD", "upper.HPD"]
    assert np.all((out["lower.HPD"].to_numpy() <= est) & (est <= out["upper.HPD"].to_numpy())), (out, est)
    pw = contrast(out, "pairwise")
    assert {"P(>0)", "P(<0)"} <= set(pw.columns) or {"P(>1)", "P(<1)"} <= set(pw.columns)
