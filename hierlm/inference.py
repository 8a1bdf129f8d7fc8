"""Simulation, confidence intervals and intraclass correlations of fitted linear mixed models.

* :func:`simulate` — responses drawn from a fitted model (lme4's ``simulate.merMod``);
* :func:`confint` — Wald, likelihood-profile and parametric-bootstrap intervals laid out as
  lme4's ``confint.merMod`` (profiles live in :mod:`hierlm.profile`, refits in :mod:`hierlm.bootstrap`);
* :func:`icc` — intraclass correlations of random-intercept models.

The variance parameters are reported as lme4 does with ``oldNames=TRUE``: ``.sig01, .sig02, …``
run over θ in its own order — per random-effects block, the lower triangle of the covariance
matrix column by column, with the standard deviation on the diagonal and the correlation below
it — and ``.sigma`` is the residual standard deviation.  For ``(Days | Subject)``: ``.sig01`` = sd
of ``(Intercept)``, ``.sig02`` = correlation of ``(Intercept)`` and ``Days``, ``.sig03`` = sd of
``Days``.  :func:`param_labels` gives lme4's long names (``sd_(Intercept)|Subject``, ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .errors import HierlmError

__all__ = ["simulate", "confint", "icc", "param_names", "param_labels", "sdcor_of_theta", "Simulator", "seed_children"]


# -- seeds and simulation -----------------------------------------------------------------------
def seed_children(seed, nsim: int) -> list[np.random.SeedSequence]:
    """One independent :class:`numpy.random.SeedSequence` per replicate.

    Replicate ``i`` depends only on ``seed`` and ``i`` — not on ``nsim``, on how replicates are
    split between processes, or on any global random state.

    Parameters
    ----------
    seed : None, int, SeedSequence or Generator
    nsim : int
    """
    if isinstance(seed, np.random.Generator):
        return list(seed.bit_generator.seed_seq.spawn(nsim)) if seed.bit_generator.seed_seq is not None else [
            np.random.SeedSequence(int(s)) for s in seed.integers(0, 2**63, size=nsim)
        ]
    if isinstance(seed, np.random.SeedSequence):
        return list(seed.spawn(nsim))
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
        raise HierlmError(f"seed must be None, a non-negative integer or a numpy Generator, not {seed!r}")
    return list(np.random.SeedSequence(seed).spawn(nsim))


class Simulator:
    """Draws responses from a fitted linear mixed model (picklable; used by the bootstrap workers).

    ``y = Xβ + offset + Zb + ε`` with ``b ~ N(0, Σ)`` drawn anew per level (``use_re=True``, lme4's
    default ``re.form=NA``) or fixed at the conditional modes (``use_re=False``, lme4's ``use.u=TRUE``),
    and ``ε ~ N(0, σ²/w)`` with prior weights ``w``.
    """

    def __init__(self, fit, use_re: bool = True):
        if getattr(fit, "family", "gaussian") != "gaussian" or not hasattr(fit, "reml"):
            raise HierlmError("simulate() is available for linear mixed models (hl.lmer fits)")
        d = fit.design
        self.use_re = bool(use_re)
        self.mean = fit.predict(re_form="~0" if use_re else None).astype(float)
        self.blocks = []
        if use_re:
            for t, lam in zip(d.reterms, fit.lambdas()):
                self.blocks.append((t.index, t.values, t.nlevels, fit.sigma_ * lam))
        w = d.weights
        self.resid_sd = fit.sigma_ if w is None else fit.sigma_ / np.sqrt(w)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One simulated response vector."""
        y = self.mean.copy()
        for idx, V, L, chol in self.blocks:
            b = rng.standard_normal((L, chol.shape[0])) @ chol.T
            y += (V * b[idx]).sum(axis=1)
        return y + self.resid_sd * rng.standard_normal(len(y))


def simulate(fit, nsim: int = 1, seed=None, use_re: bool = True) -> np.ndarray:
    """Simulate responses from a fitted linear mixed model.

    Parameters
    ----------
    fit : LmerFit
    nsim : int, default 1
        Number of simulated response vectors.
    seed : None, int or numpy Generator
        Same seed, same responses.  Column ``i`` depends only on ``seed`` and ``i`` (each replicate
        has its own child :class:`~numpy.random.SeedSequence`), so ``simulate(fit, 1, s)`` is the
        first column of ``simulate(fit, 100, s)``.
    use_re : bool, default True
        ``True``: draw new random effects from N(0, Σ) (lme4's ``simulate(re.form=NA)``, the
        parametric bootstrap's model).  ``False``: keep the fitted conditional modes and draw only
        new residuals (lme4's ``use.u=TRUE``).

    Returns
    -------
    ndarray (n, nsim)

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> m.simulate(nsim=3, seed=1).shape
    (180, 3)
    """
    nsim = int(nsim)
    if nsim < 1:
        raise HierlmError(f"nsim must be a positive integer, not {nsim}")
    sim = Simulator(fit, use_re=use_re)
    cols = [sim.draw(np.random.default_rng(s)) for s in seed_children(seed, nsim)]
    return np.column_stack(cols)


# -- parameter names ----------------------------------------------------------------------------
def _tril_colmajor(p: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.tril_indices(p)
    order = np.lexsort((rows, cols))
    return rows[order], cols[order]


def param_names(design) -> list[str]:
    """lme4's ``oldNames`` of the variance parameters: ``.sig01 …`` in θ order, then ``.sigma``."""
    k = sum(t.ncols * (t.ncols + 1) // 2 for t in design.reterms)
    return [f".sig{i + 1:02d}" for i in range(k)] + [".sigma"]


def param_labels(design) -> dict[str, str]:
    """``.sigNN`` → lme4's descriptive name (``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``)."""
    labels = []
    for t in design.reterms:
        for r, c in zip(*_tril_colmajor(t.ncols)):
            if r == c:
                labels.append(f"sd_{t.columns[r]}|{t.group}")
            else:
                labels.append(f"cor_{t.columns[r]}.{t.columns[c]}|{t.group}")
    labels.append("sigma")
    return dict(zip(param_names(design), labels))


def sdcor_of_theta(theta: np.ndarray, sizes: list[int], sigma: float) -> np.ndarray:
    """lme4's ``Cv_to_Sv``: θ → sds and correlations in θ order (NaN for a correlation with a zero sd)."""
    out, start = [], 0
    for p in sizes:
        r, c = _tril_colmajor(p)
        k = len(r)
        lam = np.zeros((p, p))
        lam[r, c] = theta[start : start + k]
        S = sigma**2 * (lam @ lam.T)
        sd = np.sqrt(np.maximum(np.diag(S), 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            vals = np.where(r == c, sd[r], S[r, c] / (sd[r] * sd[c]))
        out.append(vals)
        start += k
    return np.concatenate(out) if out else np.zeros(0)


def fit_params(fit) -> np.ndarray:
    """(.sig01, …, .sigma, β) of a fit, the vector lme4's ``confint`` reports on."""
    sizes = [t.ncols for t in fit.design.reterms]
    return np.concatenate([sdcor_of_theta(fit.theta, sizes, fit.sigma_), [fit.sigma_], fit.beta])


# -- confidence intervals -----------------------------------------------------------------------
def _perc_labels(level: float) -> list[str]:
    a = 100 * (1 - level) / 2
    lo = f"{a:.3g}"
    dec = len(lo.split(".")[1]) if "." in lo else 0
    return [f"{lo} %", f"{100 - a:.{dec}f} %"]


def _select(names: list[str], nvar: int, parm) -> list[int]:
    if parm is None:
        return list(range(len(names)))
    if isinstance(parm, str):
        if parm == "theta_":
            return list(range(nvar))
        if parm == "beta_":
            return list(range(nvar, len(names)))
        parm = [parm]
    out = []
    for p in parm:
        if isinstance(p, (int, np.integer)) and 0 <= p < len(names):
            out.append(int(p))
        elif p in names:
            out.append(names.index(p))
        else:
            raise HierlmError(f"confint(): no parameter {p!r}; the parameters are {names} (or 'theta_', 'beta_')")
    return out


def confint(fit, parm=None, level: float = 0.95, method: str = "profile", nsim: int = 500, seed=None,
            n_jobs: int | None = None) -> pd.DataFrame:
    """Confidence intervals for the parameters of a linear mixed model, as lme4's ``confint.merMod``.

    Parameters
    ----------
    fit : LmerFit
    parm : list of str, "theta_" or "beta_", optional
        Parameters to report (default all).
    level : float, default 0.95
    method : {"profile", "wald", "boot"}
        ``"profile"`` (lme4's default): where the signed square root of the likelihood-ratio
        statistic ζ crosses ±z₍₁₊level₎/₂.  As in lme4 the profile is that of the **maximum
        likelihood** deviance even for a REML fit (lme4's ``profile`` refits with ``refitML``), with
        the fixed effects profiled out for the variance parameters.  Limits are solved for directly
        (lme4 interpolates a spline through a grid); a limit beyond a bound (sd 0, correlation ±1)
        is reported as that bound, as lme4 does.
        ``"wald"``: β ± z·SE for the fixed effects, NaN for the variance parameters (as lme4).
        ``"boot"``: parametric-bootstrap percentile intervals (lme4's ``bootMer`` with new random
        effects, refits with the fit's own REML/ML setting, ``boot.ci(type="perc")``).
    nsim : int, default 500
        Bootstrap replicates (``method="boot"``).
    seed : int or Generator, optional
        Bootstrap seed; the intervals do not depend on ``n_jobs``.
    n_jobs : int, optional
        Worker processes for the bootstrap (``None``/1: serial, -1: all cores).

    Returns
    -------
    DataFrame
        Indexed ``.sig01, …, .sigma`` then the fixed effects, with columns ``2.5 %`` and ``97.5 %``
        (for ``level=0.95``).  ``.sigNN`` follow θ's order: per block, the lower triangle of the
        covariance matrix column by column, sd on the diagonal and correlation below it (for
        ``(Days | Subject)``: sd (Intercept), cor, sd Days).  ``frame.attrs["labels"]`` maps them to
        lme4's long names (``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``, ``sigma``).

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> ci = m.confint(method="profile")
    >>> ci.loc["Days"].round(2).tolist()
    [7.36, 13.58]
    >>> m.confint(method="wald").loc[".sigma"].isna().all()
    np.True_
    """
    if not hasattr(fit, "reml") or getattr(fit, "family", "gaussian") != "gaussian":
        raise HierlmError("confint() is available for linear mixed models (hl.lmer fits)")
    if not 0 < level < 1:
        raise HierlmError(f"level must be between 0 and 1, e.g. 0.95; got {level}")
    vn = param_names(fit.design)
    names = vn + list(fit.design.xnames)
    which = _select(names, len(vn), parm)
    method = str(method).lower()
    a = (1 - level) / 2
    if method == "wald":
        se = np.sqrt(np.diag(fit.vcov_beta))
        ci = np.full((len(names), 2), np.nan)
        ci[len(vn):] = fit.beta[:, None] + se[:, None] * stats.norm.ppf([a, 1 - a])[None, :]
    elif method == "profile":
        from .profile import profile_limits

        ci = np.full((len(names), 2), np.nan)
        ci[which] = profile_limits(fit, which, stats.norm.ppf(1 - a))
    elif method in {"boot", "bootstrap"}:
        from .bootstrap import bootstrap_params, percentile_interval

        draws = bootstrap_params(fit, nsim=nsim, seed=seed, n_jobs=n_jobs)
        ci = np.array([percentile_interval(draws[:, j], [a, 1 - a]) for j in range(len(names))])
    else:
        raise HierlmError(f"confint(method={method!r}): use 'profile', 'wald' or 'boot'")
    frame = pd.DataFrame(ci[which], index=[names[i] for i in which], columns=_perc_labels(level))
    labels = param_labels(fit.design)
    frame.attrs["labels"] = {k: v for k, v in labels.items() if k in frame.index}
    frame.attrs["method"] = method
    return frame


# -- intraclass correlation ---------------------------------------------------------------------
def _intercept_variances(fit) -> tuple[list[str], np.ndarray]:
    """Group labels and random-intercept variances; HierlmError if any block has other terms."""
    labels = require_random_intercepts(fit)
    return labels, np.array([S[0, 0] for S in fit.covariances()])


def require_random_intercepts(fit) -> list[str]:
    """Labels of the random-effects blocks; HierlmError if any has a term other than the intercept."""
    slopes = [(t, [c for c in t.columns if c != "(Intercept)"]) for t in fit.design.reterms]
    slopes = [(t, cols) for t, cols in slopes if cols]
    if slopes:
        t, cols = slopes[0]
        raise HierlmError(
            f"the ICC is defined for random-intercept models, but the term for '{t.group}' has random "
            f"slope(s) {cols} (in {fit.formula!r}); with slopes the share of variance between groups "
            f"changes with the predictor's value. Fit the model with (1 | {t.group}) for an ICC, or report "
            "fit.varcorr() instead"
        )
    return [t.label for t in fit.design.reterms]


def _residual_variance(fit) -> float:
    """Residual variance on the scale the ICC is computed on (one branch per kind of fit)."""
    fam = getattr(fit, "family", "gaussian")
    fam = getattr(fam, "name", fam)
    if fam == "gaussian" and hasattr(fit, "reml"):
        return float(fit.sigma_) ** 2
    # GLMMs would use a latent-scale residual variance here (e.g. pi^2/3 for the logit link)
    raise HierlmError(f"icc() is available for linear mixed models (hl.lmer fits); not yet for family '{fam}'")


def icc(fit) -> pd.DataFrame:
    """Intraclass correlation of each grouping factor of a random-intercept model.

    ``ICC_g = var_g / (Σ_h var_h + σ²)``: the share of the total variance due to group ``g``, i.e.
    the correlation of two observations sharing level ``g`` only (lme4's variance components:
    ``VarCorr`` of the fit, REML or ML as fitted).

    Parameters
    ----------
    fit : LmerFit or BayesFit
        Every random-effects term must be an intercept ``(1 | g)``; Gaussian family.

    Returns
    -------
    DataFrame
        Indexed by grouping factor, column ``ICC``.  For a ``BayesFit`` the ICC is computed draw by
        draw: ``ICC`` (posterior mean), ``Est.Error``, ``Q2.5``, ``Q97.5``.

    Raises
    ------
    HierlmError
        For models with random slopes (the ICC then depends on the predictor's value).

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ 1 + (1 | Subject)", hl.load_dataset("sleepstudy"))
    >>> round(float(hl.icc(m).loc["Subject", "ICC"]), 3)
    0.395
    """
    if hasattr(fit, "idata"):  # BayesFit: the posterior version belongs to the Bayesian engine
        impl = getattr(fit, "icc", None)
        if impl is None:
            raise HierlmError("icc() for Bayesian fits is not available yet")
        return impl()
    if not hasattr(fit, "covariances") or not hasattr(fit, "design"):
        raise HierlmError(f"icc() needs a fitted mixed model such as hl.lmer(...), not {type(fit).__name__}")
    labels, var = _intercept_variances(fit)
    total = var.sum() + _residual_variance(fit)
    return pd.DataFrame({"ICC": var / total}, index=pd.Index(labels, name="group"))
