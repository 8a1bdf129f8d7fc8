"""Reading ``tests/reference/emmeans_reference.json``: its datasets, its models refitted with hierlm, and each
request (an emmeans / emtrends / ref_grid call, maybe followed by a contrast) run through hierlm's API."""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import pytest
from support import REF_DIR, ROOT

import hierlm as hl
from hierlm.design.value import level_names
from hierlm.services.emmeans import contrast, emmeans, emtrends, ref_grid

REF = json.loads((REF_DIR / "emmeans_reference.json").read_text())
MODELS = REF["models"]
DDF = {"kenward-roger": "kenward-roger", "satterthwaite": "satterthwaite", "asymptotic": "asymptotic"}


def lm_function():
    """``hl.lm`` (or its module while the export is not wired), or None."""
    fn = getattr(hl, "lm", None)
    if fn is None:
        try:
            from hierlm.fits.lm import lm as fn
        except ImportError:
            return None
    return fn


@functools.cache
def dataset(name: str) -> pd.DataFrame:
    info = REF["datasets"][name]
    if info["source"].startswith("hierlm shipped"):
        return hl.load_dataset(name)
    data = pd.read_csv(ROOT / info["file"])
    for col, levels in (info.get("factors") or {}).items():
        data[col] = pd.Categorical(level_names(data[col].tolist()), categories=levels)
    return data


def model_data(name: str) -> pd.DataFrame:
    m = MODELS[name]
    data = dataset(m["data"]).copy()
    for col, d in (m.get("derived") or {}).items():
        src = d["expr"][len("factor("):-1]
        data[col] = pd.Categorical(level_names(data[src].tolist()), categories=d["levels"])
    return data


@functools.cache
def model_fit(name: str):
    """hierlm's fit of the reference model (pytest.skip when hierlm cannot fit it yet)."""
    m = MODELS[name]
    data = model_data(name)
    try:
        if m["fitter"] == "lmer":
            return hl.lmer(m["formula"], data)
        if m["fitter"] == "glmer":
            return hl.glmer(m["formula"], data, family=m["family"])
    except hl.FormulaError as err:  # e.g. ns() before hierlm's formulas have splines
        pytest.skip(f"hierlm cannot fit {m['formula']!r} yet: {err}")
    fn = lm_function()
    if fn is None:
        pytest.skip("hl.lm is not importable yet (hierlm/fits/lm.py)")
    return fn(m["formula"], data)


def base_call(fit, call: dict):
    """The emmeans / emtrends / ref_grid part of a request."""
    ddf = DDF.get(call.get("lmer.df")) if call.get("lmer.df") else None
    at = call.get("at")
    if call["fn"] == "ref_grid":
        return ref_grid(fit, at=at, ddf=ddf, type=call.get("type", "link"))
    kw = {"by": call.get("by"), "at": at, "ddf": ddf, "weights": call.get("weights", "equal"),
          "cov_reduce": call.get("cov.reduce")}
    if call["fn"] == "emtrends":
        return emtrends(fit, call["specs"], var=call["var"], delta_var=call.get("delta.var"), **kw)
    return emmeans(fit, call["specs"], type=call.get("type", "link"), regrid=call.get("regrid", False), **kw)


def run_request(fit, req: dict):
    call = req["call"]
    out = base_call(fit, call)
    con = call.get("contrast")
    if con is None:
        return out
    method = con["weights"] if con["method"] == "custom" else con["method"]
    kw = {"adjust": con.get("adjust"), "type": con.get("type"), "conf_int": True}
    if con.get("ref") is not None:
        kw["ref"] = con["ref"]
    if con.get("by_null"):
        kw["by"] = None
    return contrast(out, method, **kw)


def column(values) -> np.ndarray:
    return np.array([np.inf if v is None else v for v in values], dtype=float)


def numeric_columns(req: dict) -> list[str]:
    cols = [req["estimate_column"], "SE", "df"] + list(req.get("ci_columns") or [])
    if req.get("test_column"):
        cols += [req["test_column"], "p.value"]
    if "null" in req["rows"]:
        cols.append("null")
    return cols


def label_columns(req: dict) -> list[str]:
    num = set(numeric_columns(req))
    return [c for c in req["rows"] if c not in num]


#: Models whose hierlm fit is not lme4's fit to the digits emmeans' numbers need (1e-4 on p values).  In each
#: case lme4's default convergence stops a little short (hierlm matches lme4's *tight* references in
#: tests/reference/lme4_glmer.json): the GLMMs' SEs differ by ~1% (cbpp) and the curvature of the REML criterion
#: (hence Satterthwaite df) by ~1e-4.  Their requests are checked (1) on hierlm's own fit at the tolerance
#: given here and (2) for everything that depends on the coefficients only (GLMMs; lmer with asymptotic df),
#: on lme4's own coefficients and covariance at 1e-4.
FIT_DIFFERS = {
    "cbpp_binomial": 3e-2,
    "grouseticks_poisson": 2e-3,
    "chick_linear": 1e-3,
    "chick_poly2": 1e-3,
    "orthodont": 2e-3,
}


def lme4_coefficients_fit(name: str):
    """hierlm's fit with lme4's fixed effects and covariance put in (dataclasses.replace)."""
    import dataclasses

    m = MODELS[name]
    fit = model_fit(name)
    assert list(fit.design.xnames) == m["vcov_names"]
    return dataclasses.replace(fit, beta=np.array(list(m["fixef"].values()), float),
                               vcov_beta=np.array(m["vcov"], float))


def coefficient_only(name: str, req: dict) -> bool:
    """Whether a request's numbers depend on the coefficients and their covariance only."""
    return MODELS[name]["fitter"] != "lmer" or req["call"].get("lmer.df") == "asymptotic"
