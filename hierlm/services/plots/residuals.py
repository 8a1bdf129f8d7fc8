"""Residual diagnostics: residuals against fitted values and normal QQ plots of the residuals and
of every random effect."""

from __future__ import annotations

import numpy as np

from ._common import check_fit, family_name, fit_label, is_bayes, panel_grid, qq_points

__all__ = ["plot_residuals"]


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
    >>> import hierlm as hl
    >>> pen = hl.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", hl.load_dataset("Penicillin"))
    >>> [ax.get_title() for ax in hl.plot_residuals(pen).axes]  # doctest: +NORMALIZE_WHITESPACE
    ['Residuals vs fitted', 'Normal Q-Q: residuals', 'Normal Q-Q: (Intercept) | plate',
     'Normal Q-Q: (Intercept) | sample']
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
