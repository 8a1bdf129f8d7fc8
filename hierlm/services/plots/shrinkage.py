"""Shrinkage plot: no-pooling estimates pulled towards the population by partial pooling."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse
from scipy import stats

from ...errors import HierlmError
from ._common import check_terms, fit_label, group_blocks
from .pooling import STYLES, pooling_estimates

__all__ = ["plot_shrinkage", "population_covariance"]

LEVELS = (0.5, 0.95)


def population_covariance(fit, group: str, terms: list[str]) -> np.ndarray:
    """Σ of ``terms`` for grouping factor ``group``, read from ``varcorr()`` (0 across independent blocks)."""
    labels = {t.label for t in group_blocks(fit.design, group)}
    pos = {t: i for i, t in enumerate(terms)}
    S = np.zeros((len(terms), len(terms)))
    for grp, v1, v2, vcov in fit.varcorr()[["grp", "var1", "var2", "vcov"]].itertuples(index=False):
        if grp not in labels or v1 not in pos:
            continue
        if v2 is None:
            S[pos[v1], pos[v1]] = vcov
        elif v2 in pos:
            S[pos[v1], pos[v2]] = S[pos[v2], pos[v1]] = vcov
    return S


def _points(est, terms):
    nop = est.nopool[terms].to_numpy()
    par = est.partial[terms].to_numpy()
    ok = np.all(np.isfinite(nop), axis=1)
    return nop, par, ok


def _two_d(ax, est, terms, centre, S, annotate):
    nop, par, ok = _points(est, terms)
    vals, vecs = np.linalg.eigh(S)
    angle = np.degrees(np.arctan2(vecs[1, -1], vecs[0, -1]))
    for q, alpha in zip(LEVELS, (0.22, 0.10)):
        r = np.sqrt(stats.chi2.ppf(q, 2))
        w, h = 2 * r * np.sqrt(np.maximum(vals[::-1], 0))
        ax.add_patch(Ellipse(centre, w, h, angle=angle, color="C0", alpha=alpha, lw=0, gid=f"ellipse{q:g}",
                             label=f"population {q:.0%} (fixef, Σ)"))
    ax.quiver(nop[ok, 0], nop[ok, 1], par[ok, 0] - nop[ok, 0], par[ok, 1] - nop[ok, 1], angles="xy",
              scale_units="xy", scale=1, width=0.004, color="0.35", gid="shrinkage", zorder=2)
    ax.scatter(nop[ok, 0], nop[ok, 1], facecolors="white", edgecolors=STYLES["none"]["color"], s=30, zorder=3,
               label=STYLES["none"]["label"], gid="nopool")
    ax.scatter(par[:, 0], par[:, 1], color=STYLES["partial"]["color"], s=22, zorder=4,
               label=STYLES["partial"]["label"], gid="partial")
    ax.scatter(*centre, marker="+", s=150, color="k", zorder=5, label="fixed effects", gid="centre")
    if annotate:
        for lev, (a, b) in zip(est.levels, np.where(ok[:, None], nop, par)):
            ax.annotate(lev, (a, b), xytext=(3, 3), textcoords="offset points", fontsize=7, color="0.3")
    ax.set_xlabel(terms[0])
    ax.set_ylabel(terms[1])
    ax.autoscale_view()


def _one_d(ax, est, terms, centre, S, annotate):
    nop, par, ok = _points(est, terms)
    nop, par = nop[:, 0], par[:, 0]
    order = np.argsort(np.where(ok, nop, par), kind="stable")
    y = np.empty(len(order))
    y[order] = np.arange(len(order))
    sd = np.sqrt(S[0, 0])
    for q, alpha in zip(LEVELS, (0.22, 0.10)):
        z = stats.norm.ppf(0.5 + q / 2)
        ax.axvspan(centre[0] - z * sd, centre[0] + z * sd, color="C0", alpha=alpha, lw=0, gid=f"band{q:g}",
                   label=f"population {q:.0%} (fixef, Σ)")
    ax.axvline(centre[0], color="k", lw=1, label="fixed effect", gid="centre")
    ax.quiver(nop[ok], y[ok], par[ok] - nop[ok], 0 * y[ok], angles="xy", scale_units="xy", scale=1, width=0.004,
              color="0.35", gid="shrinkage", zorder=2)
    ax.scatter(nop[ok], y[ok], facecolors="white", edgecolors=STYLES["none"]["color"], s=30, zorder=3,
               label=STYLES["none"]["label"], gid="nopool")
    ax.scatter(par, y, color=STYLES["partial"]["color"], s=22, zorder=4, label=STYLES["partial"]["label"],
               gid="partial")
    ax.set_yticks(np.arange(len(order)), [est.levels[i] for i in order], fontsize=8 if len(order) <= 40 else 5)
    ax.set_ylim(-0.7, len(order) - 0.3)
    ax.set_ylabel(est.group)
    ax.set_xlabel(terms[0])


def plot_shrinkage(fit, group: str | None = None, terms=None, annotate: bool | None = None):
    """Shrinkage of per-level estimates: no pooling → partial pooling, with the population.

    No-pooling estimates are separate least-squares fits per level on the grouping factor's
    terms; arrows lead to the partial-pooling estimates (``coef()``).  With two terms the
    population distribution is drawn as its 50% and 95% ellipses (centre: the fixed effects,
    covariance: Σ from ``varcorr()``); with one term, as bands around the fixed effect.
    Levels too small for their own fit show only their partial-pooling point.  Gaussian models.

    Parameters
    ----------
    fit : LmerFit or BayesFit (Gaussian)
    group : str, optional
        Grouping factor; the first one by default.
    terms : str or list of str, optional
        One or two of the group's terms; by default its first two.
    annotate : bool, optional
        Write level names beside the points of a two-term plot (default: up to 40 levels).

    Returns
    -------
    matplotlib.figure.Figure
        One axis: the terms on x and y (two terms), or levels on y (one term).

    Examples
    --------
    Each subject's own least-squares intercept and slope, and the arrow to where the mixed model puts
    them (intercept on the x axis, slope on the y axis):

    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> hl.plot_shrinkage(m)
    <Figure size 680x560 with 1 Axes>
    """
    est = pooling_estimates(fit, group)
    terms = check_terms(terms, est.terms, f"the random effects of '{est.group}'") if terms else est.terms[:2]
    if len(terms) > 2:
        raise HierlmError(f"plot_shrinkage() shows one or two terms at a time, not {len(terms)}: {terms}")
    beta = fit.fixef()["Estimate"]
    centre = np.array([float(beta.get(t, 0.0)) for t in terms])
    S = population_covariance(fit, est.group, terms)
    n = len(est.levels)
    if len(terms) == 2:
        fig, ax = plt.subplots(figsize=(6.8, 5.6), layout="constrained")
        _two_d(ax, est, terms, centre, S, n <= 40 if annotate is None else annotate)
    else:
        fig, ax = plt.subplots(figsize=(6.4, min(1.6 + 0.2 * n, 14)), layout="constrained")
        _one_d(ax, est, terms, centre, S, annotate)
    fig.legend(fontsize=8, loc="outside lower center", ncols=3, frameon=False)
    ax.grid(alpha=0.3)
    fig.suptitle(f"Shrinkage of '{est.group}': {', '.join(terms)}\n{fit_label(fit)}: {fit.design.formula.text}",
                 fontsize=11)
    return fig
