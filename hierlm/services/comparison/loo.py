"""Bayesian model comparison by expected predictive accuracy: ``hl.compare`` (PSIS-LOO, WAIC, K-fold).

``hl.compare(b0, b1, ...)`` lays the models out as lme4's ``anova`` table does — one row per model
in the order given — with the expected log pointwise predictive density (elpd), its standard
error, the effective number of parameters, the difference from the best model and its standard
error, and stacking weights.  LOO is ArviZ's (``arviz_stats.loo``: Pareto-smoothed importance
sampling); differences and stacking weights are ``arviz_stats.compare``'s.

Observations whose Pareto k exceeds ``k_threshold`` (0.7) are not just reported: when there are
at most ``max_refits`` of them the model is refitted without each one in turn and its pointwise
elpd replaced by the exact held-out log predictive density (``arviz_stats.reloo`` with
:class:`hierlm.services.comparison.refit.RefitWrapper`).  With more, a warning recommends :func:`hierlm.kfold`.

Under the table one sentence says what it means, followed by a line per model about Pareto k.
Models whose elpd differs from the best by less than the standard error of the difference, or by
less than 4 (where that standard error is itself unreliable: Sivula et al. 2022, the loo FAQ), are
"not distinguished by the data"; otherwise "m1 predicts better than m0 by X elpd (Y standard
errors)", flagged as uncertain under 2 standard errors.
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...errors import HierlmError, HierlmWarning, suggest
from ...fits.protocol import is_fit
from .kfold import KFold
from .refit import RefitLog, RefitWrapper
from .table import ComparisonTable, loo_lines, verdict

__all__ = ["ComparisonTable", "LooResult", "compare", "loo", "waic"]

# families whose likelihoods are densities with respect to the same measure
_LIKELIHOOD_KIND = {"gaussian": "a density of a continuous response", "poisson": "a probability of a count",
                    "negbinomial": "a probability of a count", "binomial": "a probability of successes",
                    "bernoulli": "a probability of successes", "cumulative": "a probability of a category"}
for _fam in ("student", "lognormal", "gamma", "inverse_gaussian", "beta"):  # densities of y itself (not of log y)
    _LIKELIHOOD_KIND[_fam] = _LIKELIHOOD_KIND["gaussian"]
_OPTIONS = ("ic", "names", "max_refits", "k_threshold", "method", "refit_kwargs")
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# -- per-model computations -----------------------------------------------------------------------
@dataclass
class LooResult:
    """PSIS-LOO of one fit, with the observations whose Pareto k was too high re-fitted exactly.

    Attributes
    ----------
    elpd_data : arviz_stats.ELPDDataLOO
        After the exact refits (their ``pareto_k`` set to 0, as ``arviz_stats.reloo`` does).
    pareto_k : ndarray
        Pareto k of every observation before any refit.
    bad : list of str
        Row labels of the observations with k above the threshold.
    refitted : bool
        Whether those observations were re-fitted exactly.
    notes : list of str
        Remarks about the refits (sampling warnings).
    """

    elpd_data: object
    pareto_k: np.ndarray
    bad: list
    refitted: bool
    k_threshold: float
    max_refits: int
    notes: list = field(default_factory=list)


def loo(fit, max_refits: int = 10, k_threshold: float = 0.7, **refit_kwargs) -> LooResult:
    """PSIS-LOO of a Bayesian fit, refitting exactly where Pareto smoothing fails.

    Parameters
    ----------
    fit : BayesFit
    max_refits : int, default 10
        Refit the model without each observation whose Pareto k exceeds ``k_threshold`` when there
        are at most this many of them (0 never refits).
    k_threshold : float, default 0.7
    **refit_kwargs
        Sampler settings for the refits (``draws``, ``tune``, ``chains``); default: the fit's own.

    Returns
    -------
    LooResult

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> fit = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
    ...                progressbar=False)
    >>> res = loo(fit, max_refits=0)  # PSIS only; by default the few with Pareto k > 0.7 are refitted
    >>> res.refitted, len(res.bad) == int((res.pareto_k > 0.7).sum())
    (False, True)
    >>> round(float(res.elpd_data.elpd))  # sampled: differs a little between machines  # doctest: +SKIP
    -862
    """
    import arviz_stats as azs

    if not (isinstance(max_refits, (int, np.integer)) and not isinstance(max_refits, bool) and max_refits >= 0):
        raise HierlmError(f"max_refits must be a whole number >= 0 (0: never refit), got {max_refits!r}")
    if not (isinstance(k_threshold, (int, float)) and 0 < k_threshold):
        raise HierlmError(f"k_threshold must be a positive number such as 0.7, got {k_threshold!r}")
    key = (int(max_refits), float(k_threshold), tuple(sorted(refit_kwargs.items())))
    cached = _CACHE.get(fit, {}).get(key)
    if cached is not None:
        return cached
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ's own Pareto-k warning: reported (and acted on) below
        res = azs.loo(fit.idata, pointwise=True, var_name="y")
    k = np.asarray(res.pareto_k.values, float).reshape(-1)
    obs = [str(o) for o in fit.idata["log_likelihood"]["obs"].values]
    bad_idx = np.flatnonzero(k > k_threshold)
    bad = [obs[i] for i in bad_idx]
    refitted, notes = False, []
    if 0 < len(bad) <= max_refits:
        log = RefitLog()
        res = azs.reloo(RefitWrapper(fit, log=log, **refit_kwargs), loo_orig=res, k_threshold=k_threshold,
                        pointwise=True)
        refitted = True
        if log.note():
            notes.append(log.note())
    out = LooResult(res, k, bad, refitted, float(k_threshold), int(max_refits), notes)
    _CACHE.setdefault(fit, {})[key] = out
    return out


def waic(fit):
    """WAIC of a Bayesian fit as an ``arviz_stats.ELPDData`` (the loo package's definitions).

    ``elpd_waic_i = lppd_i − p_waic_i`` with ``lppd_i = log mean_s p(y_i | θ⁽ˢ⁾)`` and
    ``p_waic_i = var_s log p(y_i | θ⁽ˢ⁾)`` (sample variance); ``se = √(n var(elpd_waic_i))``.
    Observations with ``p_waic_i > 0.4`` make WAIC unreliable (the loo package's warning).

    Returns
    -------
    tuple
        ``(ELPDData, number of observations with p_waic_i > 0.4)``

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> fit = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
    ...                progressbar=False)
    >>> res, n_bad = waic(fit)
    >>> res.n_data_points, res.n_samples
    (180, 1000)
    """
    import xarray as xr
    from arviz_stats import ELPDData
    from scipy.special import logsumexp

    da = fit.idata["log_likelihood"]["y"]
    ll = np.asarray(da.values, float)
    S = ll.shape[0] * ll.shape[1]
    ll = ll.reshape(S, -1)
    n = ll.shape[1]
    lppd = logsumexp(ll, axis=0) - np.log(S)
    p_i = ll.var(axis=0, ddof=1)
    elpd_i = lppd - p_i
    n_bad = int(np.sum(p_i > 0.4))
    res = ELPDData(elpd=float(elpd_i.sum()), se=float(np.sqrt(n * np.var(elpd_i, ddof=1))), p=float(p_i.sum()),
                   n_samples=S, n_data_points=n, scale="log", warning=n_bad > 0, good_k=None,
                   elpd_i=xr.DataArray(elpd_i, dims=("obs",), coords={"obs": da["obs"].values}))
    return res, n_bad


# -- inputs and checks ----------------------------------------------------------------------------
def _is_kfold(obj) -> bool:
    return isinstance(obj, KFold)


def _base_fit(obj):
    return obj.fit if _is_kfold(obj) else obj


def _collect(fits, names, named) -> dict:
    if len(fits) == 1 and isinstance(fits[0], (list, tuple)):
        fits = tuple(fits[0])
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != len(fits) or len(set(names)) != len(names):
            raise HierlmError(f"names must give one distinct name per model ({len(fits)} model(s)), got {names}")
    items = dict(zip(names or [f"b{i}" for i in range(len(fits))], fits))
    for name, obj in named.items():
        if name in items:
            raise HierlmError(f"two models are called '{name}'; give each model its own name")
        items[name] = obj
    if not items:
        raise HierlmError("compare() needs one or more Bayesian fits, e.g. hl.compare(b0, b1) or "
                          "hl.compare(m0=b0, m1=b1)")
    for name, obj in items.items():
        if not (_is_kfold(obj) or is_fit(obj, "bayesian")):
            hint = ("; for hl.lmer / hl.glmer fits use hl.anova (likelihood-ratio tests)"
                    if is_fit(obj, "frequentist") else "")
            if isinstance(obj, str) and name in named:
                hint = f"; '{name}' is not an option of compare() (its options: {', '.join(_OPTIONS)})" \
                       + suggest(name, _OPTIONS)
            raise HierlmError(f"compare() takes Bayesian fits (hl.blmer) or hl.kfold results, but model "
                              f"'{name}' is a {type(obj).__name__}{hint}")
    prior_only = [n for n, o in items.items() if _base_fit(o).settings.get("sample_prior") == "only"]
    if prior_only:
        raise HierlmError(f"model(s) {', '.join(prior_only)} hold prior draws only (sample_prior='only'); predictive "
                          "accuracy is estimated from posterior fits")
    kinds = {_is_kfold(o) for o in items.values()}
    if len(kinds) > 1:
        kf = [n for n, o in items.items() if _is_kfold(o)]
        raise HierlmError(f"compare() cannot mix K-fold results ({', '.join(kf)}) with fits compared by LOO; run "
                          "hl.kfold on every model with the same k, group and seed")
    return items


def _check_same_observations(items: dict) -> None:
    fits = {n: _base_fit(o) for n, o in items.items()}
    if len(fits) < 2:
        return
    nobs = {n: f.nobs() for n, f in fits.items()}
    if len(set(nobs.values())) > 1:
        which = ", ".join(f"{n}: {k} rows" for n, k in nobs.items())
        raise HierlmError(f"the models were fitted to different observations ({which}); predictive accuracy can "
                          "only be compared on the same rows. Fit every model to the same data (rows with missing "
                          "values in a model's extra columns are dropped: remove them from the data first)")
    kinds = {n: _LIKELIHOOD_KIND.get(f.family.name, f.family.name) for n, f in fits.items()}
    if len(set(kinds.values())) > 1:
        which = ", ".join(f"{n}: family '{fits[n].family.name}'" for n in kinds)
        first = next(iter(kinds.values()))
        other = next(k for k in kinds.values() if k != first)
        raise HierlmError(f"the models' likelihoods are not comparable ({which}): one is {first}, another {other}. "
                          "Compare models of the same response with families of the same kind (e.g. poisson and "
                          "negbinomial)")
    (n0, f0), *rest = fits.items()
    ref = f0.idata["observed_data"]
    for n1, f1 in rest:
        other = f1.idata["observed_data"]
        for var in ("y", "trials"):
            a = np.asarray(ref[var].values, float) if var in ref else np.ones(f0.nobs())
            b = np.asarray(other[var].values, float) if var in other else np.ones(f1.nobs())
            if not np.allclose(a, b, rtol=1e-12, atol=0, equal_nan=True):
                i = int(np.flatnonzero(~np.isclose(a, b, rtol=1e-12, atol=0, equal_nan=True))[0])
                row = ref["obs"].values[i]
                what = "response values" if var == "y" else "numbers of trials"
                raise HierlmError(
                    f"models '{n0}' and '{n1}' were fitted to different {what} (first at row {row!r}: {a[i]:g} vs "
                    f"{b[i]:g}; formulas {f0.formula!r} and {f1.formula!r}). LOO compares predictions of the same "
                    "observations: use the same response, untransformed, and the same rows")


def _check_same_folds(items: dict) -> None:
    (n0, kf0), *rest = items.items()
    for n1, kf1 in rest:
        if not np.array_equal(kf0.folds, kf1.folds):
            warnings.warn(f"'{n0}' and '{n1}' were cross-validated on different folds; the standard error of their "
                          "difference is most accurate with the same folds: call hl.kfold with the same k, group "
                          "and seed for every model", HierlmWarning, stacklevel=3)
            return


# -- compare -------------------------------------------------------------------------------------
def compare(*fits, ic: str = "loo", names: list[str] | None = None, max_refits: int = 10, k_threshold: float = 0.7,
            method: str = "stacking", refit_kwargs: dict | None = None, **named_fits) -> ComparisonTable:
    """Compare Bayesian fits by expected log predictive density (PSIS-LOO, WAIC or K-fold).

    Parameters
    ----------
    *fits : BayesFit or KFold
        Fits of the same observations (same rows, same response values), or :func:`hierlm.kfold`
        results of such fits; the rows of the table follow this order.
    ic : {"loo", "waic"}
        Information criterion for fits (ignored for K-fold results).
    names : list of str, optional
        Row names of the positional models (default ``b0``, ``b1``, ...).
    max_refits : int, default 10
        LOO: observations with Pareto k > ``k_threshold`` are re-fitted exactly (the model refitted
        without each one) when there are at most this many per model; otherwise a warning
        recommends :func:`hierlm.kfold`.  0 never refits.
    k_threshold : float, default 0.7
    method : {"stacking", "BB-pseudo-BMA", "pseudo-BMA"}
        How ``weight`` is computed (``arviz_stats.compare``).
    refit_kwargs : dict, optional
        Sampler settings for the exact refits (``draws``, ``tune``, ``chains``); default the fit's.
    **named_fits : BayesFit or KFold
        Models passed by name (``hl.compare(m0=b0, m1=b1)``), after the positional ones.

    Returns
    -------
    ComparisonTable
        A DataFrame indexed by model name, in the order given, with columns ``formula``,
        ``elpd_loo`` (``elpd_waic``, ``elpd_kfold``), ``se``, ``p_loo`` (``p_waic``, ``p_kfold``),
        ``looic`` (``waic``, ``kfoldic``; −2 elpd), ``elpd_diff`` and ``se_diff`` (against the best
        model, 0 for it), ``weight`` (stacking), and ``n_bad_k`` (observations with Pareto k >
        ``k_threshold``, counted before the refits; WAIC: ``n_bad_p``, observations with p_waic > 0.4;
        K-fold: ``folds``).  Printed, it ends with a sentence interpreting the table and a line per
        model about Pareto k (``table.notes``).

    Raises
    ------
    HierlmError
        For non-Bayesian inputs, fits of different observations or response values, and families
        whose likelihoods are not comparable (a density against a probability).

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> kw = dict(draws=500, chains=2, seed=1, progressbar=False)
    >>> b0 = hl.blmer("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", sleep, **kw)
    >>> b1 = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, **kw)
    >>> tab = hl.compare(b0, b1)
    >>> tab.columns.tolist()
    ['formula', 'elpd_loo', 'se', 'p_loo', 'looic', 'elpd_diff', 'se_diff', 'weight', 'n_bad_k']
    >>> "the data do not distinguish them" in tab.notes[0]
    True
    >>> print(tab)  # the sampled digits differ a little between machines  # doctest: +SKIP
                                                  formula  elpd_loo    se  p_loo   looic  elpd_diff  se_diff  weight  n_bad_k
    b0  Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)    -861.6  22.6   35.1  1723.2        0.0      0.0     1.0        3
    b1                  Reaction ~ Days + (Days | Subject)    -862.4  22.9   35.4  1724.8       -0.8      0.6     0.0        3
    <BLANKLINE>
    b0 predicts better than b1 by only 0.8 elpd (1.3 standard errors); a difference under 4 elpd is small and its standard error unreliable, so the data do not distinguish them.
    b0: 3 observations with Pareto k > 0.7; they were re-fitted exactly (rows '7', '56', '59').
    b1: 3 observations with Pareto k > 0.7; they were re-fitted exactly (rows '7', '56', '59').
    """
    import arviz_stats as azs

    if ic not in ("loo", "waic"):
        raise HierlmError(f"ic must be 'loo' or 'waic', not {ic!r}.{suggest(str(ic), ['loo', 'waic'])}")
    methods = ("stacking", "BB-pseudo-BMA", "pseudo-BMA")
    if str(method).lower() not in [m.lower() for m in methods]:
        raise HierlmError(f"method must be one of {', '.join(methods)} (how the weights are computed), not "
                          f"{method!r}.{suggest(str(method), methods)}")
    items = _collect(fits, names, named_fits)
    _check_same_observations(items)
    kfold = _is_kfold(next(iter(items.values())))
    label = "kfold" if kfold else ic
    elpd, extra = {}, {}
    if kfold:
        _check_same_folds(items)
        for n, kf in items.items():
            elpd[n] = kf.elpd_data
            extra[n] = kf.k
        extra_col = "folds"
        notes_tail = [f"{n}: {kf.describe()}" for n, kf in items.items()]
    elif ic == "loo":
        results = {n: loo(f, max_refits=max_refits, k_threshold=k_threshold, **(refit_kwargs or {}))
                   for n, f in items.items()}
        for n, r in results.items():
            elpd[n] = r.elpd_data
            extra[n] = len(r.bad)
            if r.bad and not r.refitted:
                warnings.warn(f"model '{n}': {len(r.bad)} observations have Pareto k > {k_threshold:g} (more than "
                              f"max_refits={max_refits} to refit), so its elpd_loo is unreliable; use "
                              f"hl.kfold({n}, k=10) for K-fold cross-validation, or raise max_refits",
                              HierlmWarning, stacklevel=2)
        extra_col = "n_bad_k"
        notes_tail = loo_lines(results)
    else:
        for n, f in items.items():
            elpd[n], extra[n] = waic(f)
        extra_col = "n_bad_p"
        bad = [f"{n}: {k} observations with p_waic > 0.4: WAIC is unreliable here; use ic='loo'."
               for n, k in extra.items() if k]
        notes_tail = bad or ["All p_waic_i <= 0.4 (the loo package's rule for a reliable WAIC)."]
    names_ = list(items)
    table = pd.DataFrame(index=pd.Index(names_))
    table["formula"] = [_base_fit(items[n]).formula for n in names_]
    table[f"elpd_{label}"] = [float(elpd[n].elpd) for n in names_]
    table["se"] = [float(elpd[n].se) for n in names_]
    table[f"p_{label}"] = [float(elpd[n].p) for n in names_]
    table[{"loo": "looic", "waic": "waic", "kfold": "kfoldic"}[label]] = -2 * table[f"elpd_{label}"]
    if len(names_) > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cmp = azs.compare(dict(elpd), method=method, round_to="none")
        table["elpd_diff"] = [float(cmp.loc[n, "elpd_diff"]) for n in names_]
        table["se_diff"] = [float(cmp.loc[n, "dse"]) for n in names_]
        table["weight"] = [float(cmp.loc[n, "weight"]) for n in names_]
    else:
        table["elpd_diff"], table["se_diff"], table["weight"] = 0.0, 0.0, 1.0
    table[extra_col] = [int(extra[n]) for n in names_]
    out = ComparisonTable(table)
    notes = [verdict(table, f"elpd_{label}")] + notes_tail
    object.__setattr__(out, "notes", notes)
    object.__setattr__(out, "elpd", elpd)
    return out
