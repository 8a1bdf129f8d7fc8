"""Bayesian assurance: the probability that a future study's posterior answers the question.

For a :class:`~hierlm.BayesFit`, :func:`hierlm.power_sim` computes *assurance* — power averaged over
the uncertainty in the parameters.  Every simulation takes one posterior draw of the fit (the design
prior; ``effects=`` still fixes chosen coefficients), draws new random effects from that draw's Σ and
a response on the (extended) data, refits with ``hl.blmer`` — the fit's formula, family and resolved
priors, by default on the fast marginal route for Gaussian models with few draws (``draws=200,
tune=200, chains=2``; ``refit=`` changes them) — and records whether the 95% posterior interval of
the tested coefficient excludes 0 (or, with ``width=``, is narrower than ``width``).

A refit costs a fraction of a second, so a few hundred simulations on an executor are the usual
scale; a refit that fails is counted and reported.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from ...errors import HierlmError, suggest
from ...fits import blmer
from ...fits.simulate import seed_children
from ...formula import deparse
from ..executors import run_batches
from ..validation.prior_sim import simulate_response
from .extend import extend_data
from .table import effect_sizes, power_table

__all__ = ["assurance", "AssuranceJob", "prior_overrides"]

FAMILIES = ("gaussian", "poisson", "bernoulli", "negbinomial")
DEFAULT_REFIT = {"draws": 200, "tune": 200, "chains": 2}


class AssuranceJob:
    """One batch of assurance simulations (picklable: draws as arrays, the data, the priors)."""

    def __init__(self, formula, family, priors, data, weights, rows, design, draws, target: int, width, refit, response):
        self.formula, self.family, self.priors, self.data, self.weights = formula, family, priors, data, weights
        self.rows, self.design, self.draws, self.target, self.width = rows, design, draws, target, width
        self.refit, self.response = refit, response

    def _truth(self, rng: np.random.Generator) -> dict:
        dr = self.draws
        s = int(rng.integers(len(dr["beta"])))
        truth = {"beta": dr["beta"][s], "r": []}
        for t, S in zip(self.design.reterms, dr["cov"]):
            C = np.linalg.cholesky(S[s] + 1e-12 * np.eye(S.shape[-1]))
            truth["r"].append(rng.standard_normal((t.nlevels, t.ncols)) @ C.T)
        if dr.get("disp") is not None:
            truth["sigma" if self.family == "gaussian" else "shape"] = float(dr["disp"][s])
        return truth

    def __call__(self, items: list) -> np.ndarray:
        K = len(self.rows)
        out = np.full((len(items), 2 * K), np.nan)
        for i, item in enumerate(items):
            rng = np.random.default_rng(item)
            y = simulate_response(self.design, self.family, self._truth(rng), rng)
            for k, rows in enumerate(self.rows):
                data = self.data.iloc[rows].copy()
                data[self.response] = y[rows]
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        fit = blmer(self.formula, data, family=self.family, priors=self.priors, progressbar=False,
                                    seed=int(rng.integers(2**62)), cores=1,
                                    weights=None if self.weights is None else self.weights[rows], **self.refit)
                    fe = fit.fixef()
                    lo, hi = float(fe["Q2.5"].iloc[self.target]), float(fe["Q97.5"].iloc[self.target])
                except HierlmError:
                    continue
                hit = (hi - lo < self.width) if self.width is not None else (lo > 0 or hi < 0)
                out[i, k] = 0.0 if hit else 1.0
                out[i, K + k] = float(fit.is_singular())
        return out


def prior_overrides(fit) -> dict:
    """The fit's resolved priors as a ``priors=`` dict for the refits (the defaults were computed on the
    fit's data; the refits keep them rather than rescaling to each simulated response)."""
    out = {}
    for r in fit.priors.rows:
        cls = r["class"]
        key = (("b", r["term"]) if cls == "b" else ("sd", r["group"], r["term"]) if cls == "sd"
               else ("cor", r["group"]) if cls == "cor" else (cls,))
        out[key] = r["prior"]
    return out


def _draws(fit, beta_fixed: dict) -> dict:
    beta = fit.beta_draws().reshape(-1, fit.design.p).copy()
    names = list(fit.design.xnames)
    for k, v in beta_fixed.items():
        beta[:, names.index(k)] = v
    cov = [c.reshape((-1,) + c.shape[2:]) for c in fit.covariance_draws()]
    disp = fit.dispersion_draws()
    return {"beta": beta, "cov": cov, "disp": None if disp is None else disp.reshape(-1)}


def assurance(fit, test, nsim: int, effects=None, along=None, sizes=None, executor=None, seed=None,
              progressbar: bool = True, n_jobs=None, width=None, refit=None) -> pd.DataFrame:
    """Assurance of a Bayesian fit (see the module docstring); called by :func:`hierlm.power_sim`.

    Returns
    -------
    DataFrame
        As :func:`hierlm.power_sim`; ``power`` is the assurance, ``successes`` the simulations whose
        interval excluded 0 (or was narrower than ``width``).
    """
    t0 = time.perf_counter()
    fam = fit.family.name
    if fam not in FAMILIES:
        raise HierlmError(f"assurance is available for the families {FAMILIES}, not '{fam}'")
    names = list(fit.design.xnames)
    name = test[1] if isinstance(test, tuple) and len(test) >= 2 and test[0] == "fixed" else test
    if not isinstance(name, str) or name not in names:
        raise HierlmError(f"assurance tests a fixed-effect coefficient of the Bayesian fit ({names}), not {test!r}."
                          f"{suggest(str(name), names)}")
    if width is not None and (isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0):
        raise HierlmError(f"width must be a positive number (the target width of the 95% interval), not {width!r}")
    settings = dict(DEFAULT_REFIT)
    if fam == "gaussian":
        settings["method"] = fit.settings.get("method") if fit.settings.get("method") in ("marginal", "joint") else "auto"
    if refit is not None:
        if not isinstance(refit, dict):
            raise HierlmError(f"refit must be a dict of hl.blmer settings, e.g. {{'draws': 300}}, not {refit!r}")
        settings.update(refit)
    beta = effect_sizes(fit, effects)
    fixed = {k: beta[names.index(k)] for k in (effects or {})}
    response = deparse(fit.design.formula.response)
    ext = extend_data(fit, along, sizes)
    if response not in ext.data.columns:
        raise HierlmError(f"assurance writes simulated responses into a column; the response '{response}' must be a "
                          "plain column name of the data")
    designs = ext.designs(fit.formula, fit.design.xnames, gaussian=fam == "gaussian")
    full = designs[int(np.argmax(ext.sizes))]
    job = AssuranceJob(fit.formula, fam, prior_overrides(fit), ext.data, ext.weights, ext.rows, full,
                       _draws(fit, fixed), names.index(name), width, settings, response)
    out = np.vstack(run_batches(job, seed_children(seed, nsim), executor=executor, n_jobs=n_jobs,
                                progressbar=progressbar, desc="assurance refits"))
    K = len(ext.sizes)
    res = power_table(out[:, :K], out[:, K:], 0.5, ext.sizes if along is not None else None,
                      [len(r) for r in ext.rows], ext.largest)
    what = f"narrower than {width:g}" if width is not None else "excludes 0"
    res.attrs.update(test=f"assurance: the 95% posterior interval of '{name}' {what}", effects=dict(effects or {}),
                     along=along, seconds=time.perf_counter() - t0, kind="assurance", refit=settings,
                     formula=fit.formula, hits=out[:, :K] == 0)
    return res
