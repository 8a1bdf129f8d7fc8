"""Refitting a Bayesian fit without some of its rows, and the held-out log predictive density.

Exact leave-one-out (for observations whose Pareto k is too high) and K-fold cross-validation both
need the same two steps:

1. :func:`refit_without` — ``hl.blmer`` on the fit's own data minus the held-out rows, with the
   fit's formula, family, weights, *resolved* priors (the defaults computed on the full data, so
   the prior does not move between folds) and sampler settings;
2. :func:`heldout_loglik` — ``log p(y_i | θ⁽ˢ⁾)`` of every held-out row for every draw of the
   refit, with the random effects of levels the refit never saw drawn from the fitted population
   N(0, Σ) (``predict(..., allow_new_levels=True)``).

:class:`RefitWrapper` packages the two as an ``arviz_stats.SamplingWrapper``, so ArviZ's own
``reloo`` and ``loo_kfold`` do the bookkeeping.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import replace

import numpy as np

from ...design import GlmResponse
from ...engines.bayes.families import pointwise
from ...errors import HierlmError, SamplingWarning
from ...fits import blmer
from ...fits.bayes_families import aux_draws, is_extra
from ...fits.protocol import is_fit

__all__ = ["RefitLog", "RefitWrapper", "heldout_loglik", "prior_overrides", "refit_without"]

_SETTINGS = ("draws", "tune", "chains", "seed", "target_accept", "init", "cores", "maxdepth", "mass_matrix")


def prior_overrides(fit) -> dict:
    """The fit's resolved priors as a ``priors=`` dict for ``hl.blmer`` (one entry per parameter).

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> fit = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
    ...                progressbar=False)
    >>> sorted(prior_overrides(fit))
    [('Intercept',), ('b', 'Days'), ('cor', 'Subject'), ('sd', 'Subject', '(Intercept)'), ('sd', 'Subject', 'Days'), ('sigma',)]
    """
    out = {}
    for r in fit.priors.rows:
        cls = r["class"]
        if cls == "b":
            key = ("b", r["term"])
        elif cls == "sd":
            key = ("sd", r["group"], r["term"])
        elif cls == "cor":
            key = ("cor", r["group"])
        else:
            key = (cls,)
        out[key] = r["prior"]
    return out


class RefitLog:
    """What the refits of one fit did: how many, how long, and which sampling warnings they raised."""

    def __init__(self):
        self.n = 0
        self.seconds = 0.0
        self.warned: list[str] = []

    def note(self) -> str | None:
        """A sentence about sampling warnings in the refits, or None."""
        if not self.warned:
            return None
        first = re.split(r" \(|:|;", self.warned[0])[0][:80]
        return (f"{len(self.warned)} of {self.n} refit(s) raised sampling warnings (e.g. {first!r}); their held-out "
                "densities are less certain: give the refits more draws and tune")


def check_refittable(fit) -> None:
    if not is_fit(fit, "bayesian"):
        raise HierlmError(f"refitting needs a Bayesian fit from hl.blmer, not {type(fit).__name__}")
    if fit.design.data is None:
        raise HierlmError("this fit does not keep its data frame, so it cannot be refitted; fit it again with "
                          "hl.blmer(formula, data) (which keeps the data)")
    if fit.settings.get("sample_prior") == "only":
        raise HierlmError("this fit holds prior draws only (sample_prior='only'); cross-validation needs a "
                          "posterior fit")


def refit_without(fit, drop, log: RefitLog | None = None, **overrides):
    """Fit ``fit``'s model again on its data minus the rows at positions ``drop``.

    Parameters
    ----------
    fit : BayesFit
    drop : array of int or bool
        Positions (0 … nobs−1) or a mask of the rows to hold out.
    log : RefitLog, optional
        Collects the count, time and sampling warnings of the refits.
    **overrides
        Sampler settings to change (``draws``, ``tune``, ``chains``, ``seed``, ...).

    Returns
    -------
    BayesFit

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> fit = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
    ...                progressbar=False)
    >>> refit_without(fit, [0]).nobs()
    179
    """
    check_refittable(fit)
    n = fit.nobs()
    keep = np.ones(n, bool)
    keep[np.asarray(drop)] = False
    if not keep.any():
        raise HierlmError("cannot hold out every row: nothing would be left to fit")
    st = fit.settings
    kw = {k: st[k] for k in _SETTINGS if st.get(k) is not None}
    kw.update(overrides)
    sampler = kw.pop("sampler", st.get("sampler"))
    method = st.get("method", "auto")
    w = fit.design.weights
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SamplingWarning)
        new = blmer(fit.formula, fit.design.data.iloc[keep], family=fit.family, priors=prior_overrides(fit),
                    sampler=None if sampler in (None, "nutpie") else sampler, progressbar=False,
                    method=method if method in ("joint", "marginal") else "auto",
                    weights=None if w is None else w[keep], **kw)
    if log is not None:
        log.n += 1
        log.seconds += time.perf_counter() - t0
        msgs = [str(c.message) for c in caught if issubclass(c.category, SamplingWarning)]
        if msgs:
            log.warned.append(msgs[0])
        for c in caught:
            if not issubclass(c.category, SamplingWarning):
                warnings.warn_explicit(c.message, c.category, c.filename, c.lineno)
    return new


def heldout_loglik(refit, fit, rows) -> np.ndarray:
    """``log p(y_i | θ⁽ˢ⁾)`` of the rows ``rows`` of ``fit`` under every draw of ``refit``, (chains, draws, m).

    Levels of a grouping factor that ``refit`` did not see get effects drawn from its population
    N(0, Σ) (one draw per posterior draw).

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> fit = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
    ...                progressbar=False)
    >>> heldout_loglik(refit_without(fit, [0]), fit, [0]).shape
    (2, 500, 1)
    """
    rows = np.atleast_1d(np.asarray(rows))
    newdata = fit.design.data.iloc[rows]
    r = fit.response
    if is_extra(refit.family):  # the families and links beyond the canonical four: their numpy densities
        eta = refit.predict(newdata, allow_new_levels=True, kind="draws", type="link").values
        C, D, m = eta.shape
        y = (r.successes if refit.family.name in ("binomial", "bernoulli") else r.y)[rows]
        ll = pointwise(refit.family.name, refit.family.link.name, y, r.trials[rows], eta.reshape(C * D, m),
                       aux_draws(refit))
        return ll.reshape(C, D, m)
    mu = refit.predict(newdata, allow_new_levels=True, kind="draws").values
    resp = GlmResponse(y=r.y[rows], trials=r.trials[rows], prior_weights=r.prior_weights[rows])
    fam = refit.family
    disp_name = refit.spec.disp_name
    disp = refit.posterior[disp_name].values[..., None] if disp_name else None
    if fam.name == "gaussian":
        return fam.loglik_obs(resp, mu, sigma=disp)
    if fam.name == "negbinomial":
        return replace(fam, theta=disp).loglik_obs(resp, mu)
    return fam.loglik_obs(resp, mu)


def _sampling_wrapper_base():
    from arviz_stats import SamplingWrapper

    return SamplingWrapper


class RefitWrapper(_sampling_wrapper_base()):
    """``arviz_stats.SamplingWrapper`` that refits a :class:`~hierlm.fits.BayesFit` without some rows.

    Observations are addressed by position (0 … nobs−1), as ArviZ's ``reloo`` and ``loo_kfold``
    pass them.

    Examples
    --------
    >>> import arviz_stats as azs
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> fit = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
    ...                progressbar=False)
    >>> azs.loo_kfold(fit.idata, RefitWrapper(fit), k=2, pointwise=True).n_folds
    2
    """

    def __init__(self, fit, log: RefitLog | None = None, **overrides):
        check_refittable(fit)
        super().__init__(model=None, idata_orig=fit.idata)
        self.fit, self.log, self.overrides = fit, log if log is not None else RefitLog(), overrides

    def sel_observations(self, idx):
        rows = np.atleast_1d(np.asarray(idx, dtype=np.int64))
        return rows, rows

    def sample(self, modified_observed_data):
        return refit_without(self.fit, modified_observed_data, log=self.log, **self.overrides)

    def get_inference_data(self, fitted_model):
        return fitted_model

    def log_likelihood__i(self, excluded_obs, idata__i):
        import xarray as xr

        ll = heldout_loglik(idata__i, self.fit, excluded_obs)
        obs = self.fit.idata["log_likelihood"]["obs"].values[np.atleast_1d(excluded_obs)]
        return xr.DataArray(ll, dims=("chain", "draw", "obs"), coords={"obs": obs})
