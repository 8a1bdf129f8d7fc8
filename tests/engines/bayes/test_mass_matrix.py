"""The mass matrix of the partial and joint routes (issue 19): low rank where they sample few intercepts.

In a units × years panel the partial route integrates out the units and samples the years; a covariate
that moves with the years (prices) is correlated with their levels in the posterior, which nutpie's
diagonal mass matrix could not follow (Cigar: min bulk ESS 105, R-hat 1.038).  Checked here: the rule
(:func:`hierlm.engines.bayes.route.mass_matrix`), real panels at the defaults against lme4
(tests/reference/make_panels_reference.R), and the recorded bench (``python -m bench.bayes_mass_matrix``).
"""

import json
import warnings

import pandas as pd
import pytest
from support import ROOT

import hierlm as hl
from hierlm.engines.bayes import spec as S
from hierlm.engines.bayes.priors import resolve_priors
from hierlm.engines.bayes.route import LOW_RANK_MAX_DIM, choose_route, mass_matrix
from hierlm.fits.bayes_setup import prepare

BENCH_DATA = ROOT / "bench" / "data"
REF = json.loads((ROOT / "tests" / "reference" / "panels_reference.json").read_text())
PANELS = {"Cigar": ("state", "year"), "SumHes": ("country", "year"), "Guns": ("state", "year", "law"),
          "txhousing": ("city", "year")}


def _bench_data(spec: str) -> pd.DataFrame:
    """A bench data spec (``bench:NAME:cols``, ``ref:NAME:cols``, ``csv:PATH:cols`` or a shipped name), as the
    bench reads it."""
    if ":" not in spec:
        return hl.load_dataset(spec)
    kind, name, cols = spec.split(":")
    path = {"bench": BENCH_DATA / f"{name}.csv.gz", "csv": ROOT / name}.get(
        kind, ROOT / "tests" / "reference" / "data" / f"{name}.csv")
    return pd.read_csv(path, dtype=dict.fromkeys(cols.split(","), str))


def _spec(formula, data, family="gaussian"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design, fam, resp = prepare(formula, data, family, None)
    return S.build_spec(design, fam, resp, resolve_priors(design, fam.name, None, resp))


def _rule(formula, data, method="partial", family="gaussian"):
    sp = _spec(formula, data, family)
    return mass_matrix(sp, choose_route(sp, method, True))


def test_mass_matrix_rule():
    cigar = _spec("lsales ~ lprice + (1|state) + (1|year)", _bench_data("bench:Cigar:state,year"))
    r = choose_route(cigar, "partial", True)
    assert cigar.blocks[r.collapsed].group == "state"  # the most levels integrated out, the 30 years sampled
    assert mass_matrix(cigar, r) == "low_rank"
    for method in ("marginal", "joint"):  # 76 levels and 5 parameters on the joint route
        assert mass_matrix(cigar, choose_route(cigar, method, True)) == "low_rank"
    assert mass_matrix(cigar, choose_route(cigar, "auto", False)) == "diag"  # a PyMC sampler adapts its own
    # correlated slopes left to sample (their funnel): diagonal
    lex = "ref:fhch2010_lexdec:id,stimulus,density,frequency,length,item"
    assert _rule("rt ~ frequency + (1 + frequency|id) + (1|item)", _bench_data(lex)) == "diag"
    assert _rule("rt ~ frequency + (1|id) + (1|item)", _bench_data(lex)) == "low_rank"
    # thousands of sampled levels (star's teachers and schools, students integrated out): diagonal
    star = _spec("math ~ gr + cltype + (1|id) + (1|tch) + (1|sch)", _bench_data("ref:star:id,sch,tch,gr,cltype"))
    r = choose_route(star, "partial", True)
    assert star.blocks[r.collapsed].group == "id" and mass_matrix(star, r) == "diag"
    # GLMMs (the joint route): 15 herds low rank; 118 broods and 63 locations, or correlated slopes, diagonal
    cbpp, grouse = hl.load_dataset("cbpp"), hl.load_dataset("grouseticks")
    assert _rule("cbind(incidence, size - incidence) ~ period + (1|herd)", cbpp, "auto", "binomial") == "low_rank"
    assert _rule("TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|LOCATION)", grouse, "auto", "poisson") == "diag"
    assert _rule("incidence ~ period + (period|herd)", cbpp, "auto", "poisson") == "diag"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PANELS))
def test_panels_converge_at_the_defaults(name):
    """Real crossed panels at blmer's defaults: low rank on the partial route, converged, near lme4."""
    ref = REF[name]
    df = _bench_data(f"bench:{name}:{','.join(PANELS[name])}")
    fit = hl.blmer(ref["formula"], df, seed=1, progressbar=False)
    st = fit.settings
    assert st["method"] == ("marginal" if name == "txhousing" else "partial"), st["route"]  # txhousing: all out
    assert st["mass_matrix"] == "low_rank" and "; mass matrix low-rank" in str(fit.summary())
    d = fit.diagnostics()
    assert d["R-hat"].max() < 1.01 and d["ESS bulk"].min() >= 400, d
    assert fit.idata["sample_stats"]["diverging"].values.mean() < 0.01
    fe = fit.fixef()
    for term, est in ref["fixef"].items():  # within a third of lme4's standard error
        assert abs(fe.loc[term, "Estimate"] - est) < 0.35 * ref["se"][term], (term, fe.loc[term, "Estimate"], est)
        assert fe.loc[term, "Est.Error"] == pytest.approx(ref["se"][term], rel=0.25)


@pytest.mark.slow
def test_bench_mass_matrix_results():
    """The recorded bench: on every real model the rule's choice is within 15% of the better option's ESS per
    second, and on the simulated sweep it is the better one away from the crossover (150
    sampled levels)."""
    from bench.bayes_mass_matrix import MODELS

    res = json.loads((ROOT / "bench" / "results" / "bayes_mass_matrix.json").read_text())["models"]
    assert len(res) == len(MODELS)
    for name, data, formula, method, family in MODELS:
        rec = res[name]
        ess = {k: rec[k]["ess_per_s"] for k in ("diag", "low_rank")}
        if data.startswith("simulate:"):
            H = int(data.split(":")[2])
            choice = "low_rank" if H + 5 <= LOW_RANK_MAX_DIM else "diag"  # + intercept, slope, sd's, sigma
            if H != 150:
                assert ess[choice] == max(ess.values()), (name, ess)
            continue
        choice = _rule(formula, _bench_data(data), method, family)
        best = max(ess.values())  # (or at most 0.2 s slower to 1,000 effective draws: tiny models)
        assert ess[choice] >= 0.85 * best or 1000 / ess[choice] - 1000 / best < 0.2, (name, choice, ess)
        ok = {k: rec[k]["max_rhat"] < 1.01 and rec[k]["min_ess_bulk"] >= 400 for k in ess}
        assert ok[choice] or not any(ok.values()), (name, choice)  # (grouseticks_crossed: neither)
