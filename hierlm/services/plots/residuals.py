"""Residual diagnostics: residuals against fitted values, normal QQ plots of the residuals and of every
random effect, and influence (Cook's distance, leverage)."""

from __future__ import annotations

import numpy as np

from ...errors import HierlmError
from ...fits.influence import dispersion_of, residuals_of
from ._common import check_fit, family_name, fit_label, is_bayes, panel_grid, qq_points

__all__ = ["plot_residuals", "plot_influence"]


def _qq(ax, values, title: str) -> None:
    theo, sample, (a, b) = qq_points(values)
    ax.scatter(theo, sample, s=10, color="C0", alpha=0.7, gid="qq")
    ax.plot(theo[[0, -1]], a + b * theo[[0, -1]], color="C3", lw=1, gid="qqline")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("normal quantiles")
    ax.set_ylabel("sample quantiles")


def plot_residuals(fit, ncols: int | None = None):
    """Residuals against fitted values, a normal QQ plot of the residuals, and a normal QQ plot
    of each random effect (one panel per grouping factor and term).

    Frequentist fits use the response residuals (deviance residuals for GLMMs, as lme4's
    ``residuals()``) and conditional modes; Bayesian fits use posterior means.

    Parameters
    ----------
    fit : LmerFit, GlmerFit or BayesFit
    ncols : int, optional
        Panels per row (default 2 for four panels, else up to 3).

    Returns
    -------
    matplotlib.figure.Figure
        Two residual panels, then one QQ panel per random effect titled ``Normal Q-Q: term | group``.

    Examples
    --------
    Residuals against fitted values, their normal QQ plot, and a QQ plot for the random effects of
    each grouping factor (here ``plate`` and ``sample``): four panels.

    >>> import hierlm as hl
    >>> pen = hl.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", hl.load_dataset("Penicillin"))
    >>> hl.plot_residuals(pen)
    <Figure size 700x600 with 4 Axes>
    """
    check_fit(fit, "plot_residuals")
    ranef = fit.ranef()
    panels = [(g, term) for g, frame in ranef.items() for term in frame.columns]
    n = 2 + len(panels)
    fig, axes = panel_grid(n, ncols=ncols or (2 if n == 4 else min(3, n)), size=(3.5, 3.0))
    fitted, resid = np.asarray(fit.fitted(), dtype=float), np.asarray(fit.residuals(), dtype=float)
    ax = axes[0]
    ax.scatter(fitted, resid, s=10, color="C0", alpha=0.6, gid="residuals")
    ax.axhline(0, color="0.4", lw=0.8, ls="--")
    ax.set_title("Residuals vs fitted", fontsize=10)
    ax.set_xlabel("fitted")
    gaussian = family_name(fit) == "gaussian"
    ax.set_ylabel("residual" if gaussian else "response residual" if is_bayes(fit) else "deviance residual")
    _qq(axes[1], resid, "Normal Q-Q: residuals")
    for ax, (g, term) in zip(axes[2:], panels):
        _qq(ax, ranef[g][term].to_numpy(dtype=float), f"Normal Q-Q: {term} | {g}")
    fig.suptitle(f"Residual diagnostics: {fit_label(fit)} — {fit.design.formula.text}", fontsize=11)
    return fig


def plot_influence(fit, label: int = 3):
    """Influence diagnostics: Cook's distance per observation, and leverage against Pearson residuals.

    The left panel shows Cook's distance (lme4's / R's ``cooks.distance``) of every observation with
    the common 4/n rule of thumb; the right panel leverage (``hatvalues``) against standardised
    Pearson residuals, with Cook's distance 0.5 and 1 drawn as contours, as R's ``plot.lm``
    (which = 5).  The ``label`` most influential observations are labelled with their row labels.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit or GlmFit
    label : int, default 3
        How many observations to label.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, ``Cook's distance`` and ``Residuals vs leverage``.

    Examples
    --------
    Cook's distance of each of the 180 observations, and the residuals against their leverage; the
    most influential observations are labelled with their row:

    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> hl.plot_influence(m)
    <Figure size 840x320 with 2 Axes>
    """
    check_fit(fit, "plot_influence")
    if is_bayes(fit):
        raise HierlmError("plot_influence() needs a frequentist fit (hl.lmer, hl.glmer, hl.lm, hl.glm); for a "
                          "Bayesian fit, PSIS-LOO's Pareto k (hl.compare) plays this part")
    cook = np.asarray(fit.cooks_distance(), float)
    hat = np.asarray(fit.hatvalues(), float)
    pearson = np.asarray(residuals_of(fit, "pearson"), float)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = pearson / (np.sqrt(dispersion_of(fit)) * np.sqrt(1 - hat))
    rows = [str(r) for r in fit.design.rows]
    top = np.argsort(-np.nan_to_num(cook, nan=-1))[:label]
    fig, (a1, a2) = panel_grid(2, ncols=2, size=(4.2, 3.2))
    n = len(cook)
    a1.vlines(np.arange(1, n + 1), 0, cook, color="C0", lw=0.8, gid="cooks")
    a1.axhline(4 / n, color="C3", ls="--", lw=0.8, gid="threshold")
    for i in top:
        a1.annotate(rows[i], (i + 1, cook[i]), fontsize=7, xytext=(2, 2), textcoords="offset points")
    a1.set_title("Cook's distance", fontsize=10)
    a1.set_xlabel("observation")
    a1.set_ylabel("Cook's distance")
    a2.scatter(hat, std, s=10, color="C0", alpha=0.6, gid="leverage")
    a2.axhline(0, color="0.4", lw=0.8, ls=":")
    p = max(len(fit.design.xnames), 1)
    h = np.linspace(max(np.nanmin(hat), 1e-3), min(np.nanmax(hat) * 1.05, 0.999), 60)
    for level in (0.5, 1.0):
        r = np.sqrt(level * p * (1 - h) / h)
        for sign in (1, -1):
            a2.plot(h, sign * r, color="C3", ls="--", lw=0.7, gid=f"cook{level:g}")
    a2.set_ylim(np.nanmin(std) - 1, np.nanmax(std) + 1)
    for i in top:
        a2.annotate(rows[i], (hat[i], std[i]), fontsize=7, xytext=(2, 2), textcoords="offset points")
    a2.set_title("Residuals vs leverage", fontsize=10)
    a2.set_xlabel("leverage (hat value)")
    a2.set_ylabel("standardised Pearson residual")
    fig.suptitle(f"Influence: {fit_label(fit)} — {fit.design.formula.text}\ndashed: 4/n (left); Cook's distance "
                 "0.5 and 1 (right)", fontsize=10)
    return fig
