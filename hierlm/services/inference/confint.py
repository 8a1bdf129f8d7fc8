"""Confidence intervals of fitted linear mixed models, laid out as lme4's ``confint.merMod``.

Wald, likelihood-profile (:mod:`.profile`) and parametric-bootstrap (:mod:`.bootstrap`) intervals;
the parameters and their names are :mod:`.params`'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import HierlmError
from ...fits.protocol import is_fit
from .bootstrap import bootstrap_params, percentile_interval
from .params import param_labels, param_names
from .profile import profile_limits
from .profile_glmm import glmm_profile_limits

__all__ = ["confint"]


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
            n_jobs: int | None = None, executor=None, progressbar: bool = True, oldNames: bool = True) -> pd.DataFrame:
    """Confidence intervals for the parameters of a mixed model, as lme4's ``confint.merMod``.

    Parameters
    ----------
    fit : LmerFit or GlmerFit
        For a GLMM the profile is that of its Laplace (or quadrature) deviance
        (:mod:`.profile_glmm`), and there is no ``.sigma`` row unless the family has a dispersion.
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
        Bootstrap seed; the intervals do not depend on ``n_jobs`` or ``executor``.
    n_jobs : int, optional
        Local worker processes for the bootstrap (``None``/1: serial, -1: all cores).
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the bootstrap refits there, in batches (:mod:`hierlm.services.executors`).
    progressbar : bool, default True
        A progress bar on bootstrap runs longer than a second.
    oldNames : bool, default True
        ``False`` labels the variance parameters with lme4's long names (``sd_(Intercept)|Subject``,
        ``cor_Days.(Intercept)|Subject``, ``sigma``), as :func:`hierlm.side_by_side` labels them.

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
    >>> m.confint(method="wald", oldNames=False).index.tolist()[:2]
    ['sd_(Intercept)|Subject', 'cor_Days.(Intercept)|Subject']
    """
    glmm = is_fit(fit, "frequentist", "glmm")
    if not (is_fit(fit, "frequentist", "lmm") or glmm):
        raise HierlmError("confint() is available for mixed models fitted by hl.lmer or hl.glmer; an hl.lm / hl.glm "
                          "fit has its own fit.confint(), and a Bayesian fit reports intervals in fit.fixef()")
    if not isinstance(oldNames, (bool, np.bool_)):
        raise HierlmError(f"oldNames must be True or False, not {oldNames!r}")
    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)) or not 0 < level < 1:
        raise HierlmError(f"level must be a number between 0 and 1, e.g. 0.95; got {level!r}")
    vn = param_names(fit.design)
    if glmm and not fit.family.has_dispersion:
        vn = vn[:-1]  # no residual scale (lme4 reports no .sigma for binomial, Poisson, negative binomial)
    names = vn + list(fit.design.xnames)
    which = _select(names, len(vn), parm)
    method = str(method).lower()
    a = (1 - level) / 2
    if method == "wald":
        se = np.sqrt(np.diag(fit.vcov_beta))
        ci = np.full((len(names), 2), np.nan)
        ci[len(vn):] = fit.beta[:, None] + se[:, None] * stats.norm.ppf([a, 1 - a])[None, :]
    elif method == "profile":
        ci = np.full((len(names), 2), np.nan)
        profile = glmm_profile_limits if glmm else profile_limits
        ci[which] = profile(fit, which, stats.norm.ppf(1 - a))
    elif method in {"boot", "bootstrap"}:
        if glmm:
            raise HierlmError("confint(method='boot') is available for hl.lmer fits; for a glmer fit use "
                              "method='profile' (lme4's default) or 'wald'")
        draws = bootstrap_params(fit, nsim=nsim, seed=seed, n_jobs=n_jobs, executor=executor, progressbar=progressbar)
        ci = np.array([percentile_interval(draws[:, j], [a, 1 - a]) for j in range(len(names))])
    else:
        raise HierlmError(f"confint(method={method!r}): use 'profile', 'wald' or 'boot'")
    frame = pd.DataFrame(ci[which], index=[names[i] for i in which], columns=_perc_labels(level))
    labels = {k: v for k, v in param_labels(fit.design).items() if k in frame.index}
    if not oldNames:
        frame.index = [labels.get(k, k) for k in frame.index]
    frame.attrs["labels"] = labels
    frame.attrs["method"] = method
    return frame
