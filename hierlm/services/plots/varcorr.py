"""Variance components: posterior densities of every sd, correlation and σ (Bayesian fits), or
point estimates with profile intervals (frequentist fits)."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy import stats

from ...errors import HierlmError
from ._common import check_fit, fit_label, is_bayes, panel_grid
from .estimates import varcorr_table
from .forest import forest_figure
from .posterior import varcorr_draws

__all__ = ["plot_varcorr", "bounded_density"]


def bounded_density(draws, lower: float | None = None, upper: float | None = None, n: int = 256):
    """Gaussian KDE of ``draws`` on a grid, reflected at the bounds (sd ≥ 0, −1 ≤ correlation ≤ 1)."""
    x = np.asarray(draws, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2 or np.ptp(x) == 0:
        v = x[0] if x.size else 0.0
        return np.array([v, v]), np.array([0.0, 1.0])
    kde = stats.gaussian_kde(x)
    pad = 0.15 * np.ptp(x)
    lo, hi = x.min() - pad, x.max() + pad
    lo = lo if lower is None else max(lo, lower)
    hi = hi if upper is None else min(hi, upper)
    grid = np.linspace(lo, hi, n)
    dens = kde(grid)
    for bound in (lower, upper):
        if bound is not None:
            dens = dens + kde(2 * bound - grid)
    return grid, dens


def _posterior_panels(fit, reference, level: float):
    table = varcorr_table(fit, level)
    draws = varcorr_draws(fit)
    ref = varcorr_table(reference, method=None).set_index("label")["est"] if reference is not None else None
    rows = [r for r in table.itertuples(index=False) if r.label in draws]
    fig, axes = panel_grid(len(rows), ncols=min(3, len(rows)), size=(3.3, 2.4))
    for ax, row in zip(axes, rows):
        bounds = (-1.0, 1.0) if row.label.startswith("cor") else (0.0, None)
        grid, dens = bounded_density(draws[row.label], *bounds)
        ax.plot(grid, dens, color="C0", lw=1.5, gid="density")
        inside = (grid >= row.lo) & (grid <= row.hi)
        ax.fill_between(grid[inside], dens[inside], color="C0", alpha=0.25, lw=0, gid="interval")
        ax.axvline(row.est, color="C0", lw=1.2, gid="mean")
        if ref is not None and row.label in ref.index and np.isfinite(ref[row.label]):
            ax.axvline(ref[row.label], color="C3", ls="--", lw=1.5, gid="reference")
        ax.set_title(row.label, fontsize=10)
        ax.set_yticks([])
        ax.set_ylim(bottom=0)
    handles = [Line2D([], [], color="C0", label="posterior density and mean"),
               Patch(color="C0", alpha=0.25, label=f"{level:.0%} posterior interval")]
    if ref is not None:
        handles.append(Line2D([], [], color="C3", ls="--", label=f"{fit_label(reference)} estimate"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=9)
    fig.suptitle(f"Variance components: {fit_label(fit)}\nposterior of every sd, correlation and sigma",
                 fontsize=11)
    return fig


def plot_varcorr(fit, reference=None, level: float = 0.95, method: str | None = "profile"):
    """Standard deviations, correlations and σ of the random effects (lme4's ``VarCorr``).

    Bayesian fit: one panel per parameter with its posterior density, mean and ``level``
    interval; a frequentist ``reference`` fit adds its estimate as a dashed vertical line.
    Frequentist fit: point estimates with profile intervals (``fit.confint(method=...)``; GLMMs
    and ``method=None`` give points only), one panel per parameter.

    Parameters
    ----------
    fit : BayesFit, LmerFit or GlmerFit
    reference : LmerFit or GlmerFit, optional
        Frequentist fit of the same model, marked on the posterior densities.
    level : float
        Interval level.
    method : {"profile", "boot", None}
        Interval method of a frequentist fit.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per ``varcorr()`` row, named ``sd term | group``, ``cor term1, term2 | group``,
        ``sigma (Residual)``.

    Examples
    --------
    The two SDs, their correlation and σ of ``sleepstudy``, each with its profile interval (one panel
    per parameter):

    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> hl.plot_varcorr(m)
    <Figure size 640x318 with 4 Axes>

    For a Bayesian fit ``b`` of the same model, ``hl.plot_varcorr(b, reference=m)`` draws the posterior
    densities with the REML estimates marked.
    """
    check_fit(fit, "plot_varcorr")
    if reference is not None:
        check_fit(reference, "plot_varcorr")
        if is_bayes(reference) or not is_bayes(fit):
            raise HierlmError("plot_varcorr(fit, reference=...): the reference is a frequentist fit "
                              "(hl.lmer) marked on the posterior of a Bayesian fit (hl.blmer)")
    if is_bayes(fit):
        return _posterior_panels(fit, reference, level)
    table = varcorr_table(fit, level, method).set_index("label")
    note = f"{level:.0%} {method} intervals" if table["lo"].notna().any() else "point estimates"
    return forest_figure([table], list(table.index), [fit_label(fit)],
                         f"Variance components: {fit_label(fit)}\n{note}", xlabel="sd / correlation")
