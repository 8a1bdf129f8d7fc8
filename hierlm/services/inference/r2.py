"""R² of fitted models: Nakagawa's marginal and conditional R² for frequentist mixed models (as
``performance::r2_nakagawa`` 0.10.2), the Bayesian R² of Gelman, Goodrich, Gabry & Vehtari (2019) and
LOO-R² for ``BayesFit`` (as ``brms::bayes_R2`` / ``brms::loo_R2``), and the multiple / adjusted R² of ``lm``.

Nakagawa (Nakagawa, Johnson & Schielzeth 2017; random slopes as Johnson 2014), from the variance
components of :func:`~hierlm.services.inference.variances.get_variance`::

    marginal    = var.fixed / (var.fixed + var.random + var.residual)
    conditional = (var.fixed + var.random) / (var.fixed + var.random + var.residual)

For a singular fit the random-effect variance is unavailable (as in performance): the marginal R² is
then ``var.fixed / (var.fixed + var.residual)`` and the conditional one NaN.

Bayesian R² (brms 2.23), per posterior draw ``s``, with ``ŷ_s`` the expected responses
(``posterior_epred``; binomial: expected counts)::

    R²_s = var(ŷ_s) / (var(ŷ_s) + var_res_s)

``var_res_s`` is residual-based by default, the variance of ``y − ŷ_s`` (``brms::bayes_R2`` in brms
2.18–2.22, the versions hierlm is compared with); ``method="model"`` uses the family's variance of y
given ŷ instead (Gaussian σ², Bernoulli ŷ(1 − ŷ), binomial trials·p(1 − p), Poisson μ, negative
binomial μ + μ²/φ: Gelman et al. 2019's model-based definition, which newer brms uses for Gaussian
and Bernoulli models).  ``marginal`` uses the fixed effects only (brms's ``re_formula = NA``),
``conditional`` all of them; residual-based, the marginal R² comes close to Nakagawa's, while with the
model-based variance the random effects leave the denominator too and the marginal R² exceeds it.
LOO-R² is brms's ``.loo_R2``: PSIS-LOO expected responses (ArviZ's Pareto-smoothed weights), and
``1 − var(y − ŷ_loo) / var(y)`` under Bayesian-bootstrap (Dirichlet) weights, one per draw.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ...errors import HierlmError
from ...fits.protocol import is_fit
from .variances import get_variance

__all__ = ["r2", "nakagawa_r2", "bayes_r2", "posterior_table"]

_NAKAGAWA = "Nakagawa (performance::r2_nakagawa)"


def r2(fit, loo: bool = False, method: str | None = None, tolerance: float = 1e-5,
       probs: tuple[float, float] = (0.025, 0.975)):
    """Coefficient of determination of a fitted model.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, BayesFit or LmFit
    loo : bool, default False
        ``BayesFit`` only: add the LOO-R² (``brms::loo_R2``) as row ``loo``.
    method : {None, "model", "residual"}
        ``BayesFit`` only: how the residual variance is computed.  None: residual-based, the variance
        of ``y − ŷ`` per draw, as ``brms::bayes_R2`` in brms 2.18–2.22; ``"model"``: the family's
        variance given μ (Gelman et al. 2019's model-based definition, brms's newer default for
        Gaussian and Bernoulli models).
    tolerance : float, default 1e-5
        Frequentist mixed models: a diagonal θ below this makes the fit singular (performance's rule).
    probs : (float, float)
        ``BayesFit``: the quantiles reported (brms's ``probs``).

    Returns
    -------
    Series or DataFrame
        ``LmerFit`` / ``GlmerFit``: Series ``marginal``, ``conditional`` (Nakagawa).  ``LmFit``:
        Series ``r2``, ``adj_r2``.  ``BayesFit``: DataFrame indexed by ``marginal``,
        ``conditional`` (and ``loo``) with brms's columns ``Estimate`` (posterior mean),
        ``Est.Error``, ``Q2.5``, ``Q97.5``.  The method is in ``.attrs["method"]``.

    Raises
    ------
    HierlmError
        For fits other than the above, families without Nakagawa's variances, or ``loo`` /
        ``method`` given for a frequentist fit.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> hl.r2(m).round(4)
    marginal       0.2787
    conditional    0.7992
    Name: R2, dtype: float64
    """
    if is_fit(fit, engine="bayesian"):
        return bayes_r2(fit, loo=loo, method=method, probs=probs)
    if loo or method is not None:
        raise HierlmError("loo= and method= apply to Bayesian fits (hl.blmer); for a frequentist fit call hl.r2(fit)")
    if is_fit(fit, model="lm"):
        return _lm_r2(fit)
    if is_fit(fit, engine="frequentist", model=("lmm", "glmm")):
        return nakagawa_r2(fit, tolerance=tolerance)
    raise HierlmError(f"r2() needs a fit from hl.lmer, hl.glmer, hl.blmer or hl.lm, not {type(fit).__name__}")


def _lm_r2(fit) -> pd.Series:
    out = fit.r2()
    if isinstance(out, (pd.Series, dict)):
        out = pd.Series(out, dtype=float).rename("R2")
    else:
        r, adj = out
        out = pd.Series({"r2": float(r), "adj_r2": float(adj)}, name="R2")
    out.attrs = {"method": "multiple and adjusted R² (summary.lm)"}
    return out


def nakagawa_r2(fit, tolerance: float = 1e-5) -> pd.Series:
    """Nakagawa's marginal and conditional R² of a frequentist mixed model (``performance::r2_nakagawa``).

    Parameters
    ----------
    fit : LmerFit or GlmerFit
    tolerance : float, default 1e-5
        Singularity threshold on the diagonal of θ (performance's ``tolerance``).

    Returns
    -------
    Series
        ``marginal``, ``conditional`` (NaN for a singular fit); ``attrs``: ``method`` and the
        variance components (``variances``, insight's names).

    Examples
    --------
    >>> import hierlm as hl
    >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
    ...              family="binomial")
    >>> nakagawa_r2(g).round(3).tolist()
    [0.085, 0.187]
    """
    v = get_variance(fit, tolerance=tolerance)
    f, r, e = v["var.fixed"], v["var.random"], v["var.residual"]
    if r is None:
        marginal, conditional = f / (f + e), np.nan
    else:
        marginal, conditional = f / (f + r + e), (f + r) / (f + r + e)
    out = pd.Series({"marginal": marginal, "conditional": conditional}, name="R2", dtype=float)
    out.attrs = {"method": _NAKAGAWA, "variances": v}
    return out


# -- Bayesian R² ---------------------------------------------------------------------------------
def posterior_table(draws: dict[str, np.ndarray], probs=(0.025, 0.975), first: str = "Estimate") -> pd.DataFrame:
    """brms's ``posterior_summary`` of named draws: mean, sd, quantiles (R's type 7).

    Parameters
    ----------
    draws : dict
        Row name -> draws (any shape; flattened).
    probs : sequence of float
        Quantiles, named ``Q<100·p>`` (``Q2.5``, ``Q97.5``).
    first : str
        Name of the posterior-mean column (brms: ``Estimate``).

    Returns
    -------
    DataFrame
        One row per name: the mean, ``Est.Error`` (sd, n − 1) and the quantiles.

    Examples
    --------
    >>> posterior_table({"a": np.array([1.0, 2.0, 3.0])}).round(3)
       Estimate  Est.Error  Q2.5  Q97.5
    a       2.0        1.0  1.05   2.95
    """
    rows = {}
    for name, x in draws.items():
        x = np.asarray(x, float).reshape(-1)
        q = np.quantile(x, probs)
        rows[name] = {first: x.mean(), "Est.Error": x.std(ddof=1),
                      **{f"Q{_pct(p)}": v for p, v in zip(probs, q)}}
    return pd.DataFrame.from_dict(rows, orient="index")


def _pct(p: float) -> str:
    return f"{100 * p:g}"


def _observed(fit) -> np.ndarray:
    """The response on brms's scale: counts for binomial models, the response otherwise."""
    r = fit.response
    return r.successes if fit.family.name == "binomial" else r.y


def _epred(fit, re_form=None) -> np.ndarray:
    """Expected responses per draw, (draws, n), on brms's scale (binomial: expected counts)."""
    mu = fit.predict(re_form=re_form, kind="draws").values
    mu = mu.reshape(-1, mu.shape[-1])
    return mu * fit.response.trials if fit.family.name == "binomial" else mu


def _model_variance(fit, ypred: np.ndarray) -> np.ndarray:
    """Mean over observations of Var(y | ŷ), per draw."""
    fam = fit.family.name
    S = ypred.shape[0]
    if fam == "gaussian":
        return fit.dispersion_draws().reshape(S) ** 2
    if fam in ("bernoulli", "binomial"):
        n = fit.response.trials
        p = ypred / n
        return (n * p * (1 - p)).mean(axis=1)
    if fam == "poisson":
        return ypred.mean(axis=1)
    if fam == "negbinomial":
        phi = fit.dispersion_draws().reshape(S, 1)
        return (ypred + ypred**2 / phi).mean(axis=1)
    raise HierlmError(f"no model-based residual variance for family '{fam}'; use method='residual'")


def _bayes_r2_draws(fit, ypred: np.ndarray, method: str) -> np.ndarray:
    var_pred = ypred.var(axis=1, ddof=1)
    if method == "model":
        var_res = _model_variance(fit, ypred)
    else:
        var_res = (_observed(fit)[None, :] - ypred).var(axis=1, ddof=1)
    return var_pred / (var_pred + var_res)


def _loo_r2_draws(fit, ypred: np.ndarray, seed: int | None = None) -> np.ndarray:
    """brms's ``.loo_R2``: one LOO-R² per draw, from PSIS-LOO expected responses and Dirichlet weights.

    Parameters
    ----------
    fit : BayesFit
        Its ``idata`` must hold the pointwise log-likelihood (``log_likelihood`` group, as blmer stores it).
    ypred : ndarray (draws, n)
        Expected responses per draw (all random effects).
    seed : int, optional
        For the Dirichlet weights (default: the fit's seed).

    Returns
    -------
    ndarray
        LOO-R² per draw, clipped to [-1, 1] as brms clips it.
    """
    import arviz_stats as azs
    from scipy.special import logsumexp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ's Pareto-k warning: hl.loo reports it
        res = azs.loo(fit.idata, pointwise=True, var_name="y")
    lw = res.log_weights.transpose("chain", "draw", ...).values
    lw = lw.reshape(-1, lw.shape[-1])
    w = np.exp(lw - logsumexp(lw, axis=0, keepdims=True))
    y = _observed(fit).astype(float)
    err = (w * ypred).sum(axis=0) - y
    S, N = ypred.shape
    rng = np.random.default_rng([int(fit.settings.get("seed", 0) if seed is None else seed), 3])
    e = rng.exponential(size=(S, N))
    dw = e / e.sum(axis=1, keepdims=True)

    def wvar(x):
        return N / (N - 1) * (dw @ x**2 - (dw @ x) ** 2)

    return np.clip(1 - wvar(err) / wvar(y), -1, 1)


def bayes_r2(fit, loo: bool = False, method: str | None = None, probs=(0.025, 0.975)) -> pd.DataFrame:
    """Bayesian R² (Gelman et al. 2019) of a ``BayesFit``, marginal and conditional, as ``brms::bayes_R2``.

    Parameters
    ----------
    fit : BayesFit
    loo : bool, default False
        Add LOO-R² (``brms::loo_R2``) as row ``loo``.
    method : {None, "model", "residual"}
        None: brms's default (model-based for Gaussian and Bernoulli, residual-based otherwise).
    probs : (float, float)

    Returns
    -------
    DataFrame
        Rows ``marginal`` (fixed effects only, brms's ``re_formula = NA``), ``conditional`` (all
        random effects) and ``loo``; columns ``Estimate`` (posterior mean), ``Est.Error``,
        ``Q2.5``, ``Q97.5``.  ``attrs["method"]`` says which residual variance was used and
        ``attrs["draws"]`` holds the per-draw values.

    Notes
    -----
    With the model-based residual variance (brms's default for Gaussian and Bernoulli models) the
    ``marginal`` row divides by ``var(Xβ) + σ²``: the random effects are left out of the prediction
    *and* of the residual, so it is larger than Nakagawa's marginal R², whose denominator counts
    them.  ``method="residual"`` counts them as residual and comes close to Nakagawa's marginal R².

    Examples
    --------
    >>> import hierlm as hl
    >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), draws=300,
    ...              chains=2, seed=1, progressbar=False)
    >>> out = bayes_r2(b, loo=True)
    >>> out.index.tolist(), out.columns.tolist()
    (['marginal', 'conditional', 'loo'], ['Estimate', 'Est.Error', 'Q2.5', 'Q97.5'])
    >>> bool(0.7 < out.loc["conditional", "Estimate"] < 0.85)  # lme4's Nakagawa: 0.799
    True
    """
    if not is_fit(fit, engine="bayesian"):
        raise HierlmError(f"bayes_r2() needs a fit from hl.blmer, not {type(fit).__name__}")
    if method not in (None, "model", "residual"):
        raise HierlmError(f"method must be None, 'model' or 'residual', not {method!r}")
    if method is None:  # brms 2.18-2.22 (CRAN): var(y - y_pred) per draw, for every family
        method = "residual"
    yc = _epred(fit)
    draws = {"marginal": _bayes_r2_draws(fit, _epred(fit, re_form="~0"), method),
             "conditional": _bayes_r2_draws(fit, yc, method)}
    if loo:
        draws["loo"] = _loo_r2_draws(fit, yc)
    out = posterior_table(draws, probs)
    out.attrs = {"method": f"Bayesian R² (Gelman et al. 2019, as brms::bayes_R2), {method}-based residual "
                           "variance" + ("; LOO-R² as brms::loo_R2" if loo else ""),
                 "draws": draws}
    return out
