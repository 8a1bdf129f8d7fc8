"""Forest plots of the fixed effects and caterpillar plots of the random effects."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from ...errors import HierlmError
from ._common import (FIT_COLORS, check_fit, check_terms, choose_group, draw_intervals, fit_label, fit_labels,
                      is_bayes, zero_line)
from .estimates import fixef_table, ranef_table

__all__ = ["plot_fixef", "plot_ranef", "forest_figure"]


def _interval_note(fits, level: float, inner) -> str:
    parts = []
    if any(not is_bayes(f) for f in fits):
        parts.append(f"estimate ± {stats.norm.ppf(0.5 + level / 2):.2f} SE")
    if any(is_bayes(f) for f in fits):
        parts.append(f"posterior mean, {level:.0%}" + (f" ({inner:.0%})" if inner else "") + " interval")
    return "; ".join(parts)


def plot_fixef(fit, terms=None, level: float = 0.95, inner: float | None = 0.5, single_axis: bool = True,
               labels=None, intercept: bool | None = None):
    """Forest plot of the fixed effects with intervals, for one fit or several overlaid.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, BayesFit or list of them
        With a list, the fits are drawn one below the other in each row, with a legend.
    terms : str or list of str, optional
        Fixed-effect terms to show (lme4 names, e.g. ``"Days"``); all by default.
    level : float
        Interval level: estimate ± z·SE for frequentist fits, equal-tailed posterior interval
        for Bayesian fits.
    inner : float or None
        Level of the thicker inner posterior interval (Bayesian fits only); ``None`` for none.
    single_axis : bool
        ``True`` (default): every term on one axis, so the widths of the intervals compare.
        ``False``: one panel per term, each with its own scale (the title says so).
    labels : list of str, optional
        Legend labels of the fits (default ``lmer (REML)``, ``blmer (posterior)``, …, with the formula
        added where two labels would be the same).
    intercept : bool, optional
        Show the intercept.  Default: on one axis only when it is the only term (an intercept of 250
        would squash a slope of 10), always with ``single_axis=False`` or when ``terms`` names it.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per term (or one axis), y tick labels the lme4 term names.

    Examples
    --------
    The slope of ``sleepstudy`` on one axis (an intercept of 250 would squash it), then every term in a
    panel of its own:

    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> hl.plot_fixef(m)
    <Figure size 640x190 with 1 Axes>
    >>> hl.plot_fixef(m, single_axis=False)
    <Figure size 640x204 with 2 Axes>

    ``hl.plot_fixef([m, b], labels=["lmer", "blmer"])`` overlays a Bayesian fit ``b`` of the same model
    (the picture on the Plots page of the documentation).
    """
    fits = list(fit) if isinstance(fit, (list, tuple)) else [fit]
    if not fits:
        raise HierlmError("plot_fixef() needs at least one fit")
    for f in fits:
        check_fit(f, "plot_fixef")
    labels = list(labels) if labels is not None else fit_labels(fits)
    if len(labels) != len(fits):
        raise HierlmError(f"plot_fixef(): {len(labels)} labels for {len(fits)} fits")
    tables = [fixef_table(f, level, inner) for f in fits]
    available = list(dict.fromkeys(n for t in tables for n in t.index))
    drop = intercept is False or (intercept is None and single_axis)
    if terms is None and drop and len(available) > 1:
        available = [n for n in available if n != "(Intercept)"]
    names = check_terms(terms, available, "the fixed effects")
    title = "Fixed effects" + (f": {labels[0]}" if len(fits) == 1 else "")
    note = _interval_note(fits, level, inner) + ("" if single_axis else "; each panel has its own scale")
    return forest_figure(tables, names, labels, f"{title}\n{note}", single_axis)


def forest_figure(tables, names, labels, title: str, single_axis: bool = False, xlabel: str = "Estimate"):
    """Rows ``names`` of the tables (``est``, ``lo``, ``hi``, optional ``ilo``/``ihi``), one table
    per fit in its own colour: one panel per row, or all rows on one axis."""
    nf = len(tables)
    offsets = np.linspace(0.25, -0.25, nf) if nf > 1 else np.zeros(1)
    if single_axis:
        fig, ax = plt.subplots(figsize=(6.4, 1.2 + 0.35 * len(names) * max(nf, 2)), layout="constrained")
        axes, rows = [ax], {n: (ax, -float(i)) for i, n in enumerate(names)}
    else:
        fig, grid = plt.subplots(len(names), 1, figsize=(6.4, 0.9 + (0.35 + 0.22 * nf) * len(names)),
                                 layout="constrained", squeeze=False)
        axes = list(grid[:, 0])
        rows = {n: (ax, 0.0) for n, ax in zip(names, axes)}
    for k, (tab, color, label) in enumerate(zip(tables, FIT_COLORS * nf, labels)):
        for ax in axes:
            here = [n for n in names if rows[n][0] is ax and n in tab.index]
            if not here:
                continue
            t = tab.loc[here]
            inn = (t["ilo"], t["ihi"]) if "ilo" in t else None
            y = np.array([rows[n][1] for n in here]) + offsets[k]
            draw_intervals(ax, y, t["est"], t["lo"], t["hi"], inner=inn, color=color, label=label)
            label = None
    for ax in axes:
        here = [n for n in names if rows[n][0] is ax]
        ax.set_yticks([rows[n][1] for n in here], here)
        ax.set_ylim(min(rows[n][1] for n in here) - 0.5, max(rows[n][1] for n in here) + 0.5)
        vals = np.concatenate([t.reindex(here)[["est", "lo", "hi"]].to_numpy().ravel() for t in tables])
        zero_line(ax, vals)
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlabel(xlabel)
    fig.suptitle(title, fontsize=11)
    if nf > 1:
        fig.legend(loc="outside lower center", ncols=min(nf, 3), frameon=False)
    return fig


def plot_ranef(fit, group: str | None = None, term=None, level: float = 0.95):
    """Caterpillar plot of the random effects: one panel per grouping factor and term.

    Levels are sorted by their estimate within each panel; intervals are conditional-mode
    ± z·condsd (lme4's ``condVar``) for frequentist fits and posterior intervals for Bayesian fits.

    Parameters
    ----------
    fit : LmerFit, GlmerFit or BayesFit
    group : str, optional
        Grouping factor (``"Subject"``); all of them by default.
    term : str or list of str, optional
        Random-effect term(s) (``"(Intercept)"``, ``"Days"``); all by default.
    level : float
        Interval level.

    Returns
    -------
    matplotlib.figure.Figure
        Panels titled ``term | group``, y tick labels the levels.

    Examples
    --------
    A crossed model (24 plates, 6 samples) gives one panel per grouping factor:

    >>> import hierlm as hl
    >>> pen = hl.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", hl.load_dataset("Penicillin"))
    >>> hl.plot_ranef(pen)
    <Figure size 500x770 with 2 Axes>
    >>> fig = hl.plot_ranef(pen, group="plate")   # only the plates
    """
    check_fit(fit, "plot_ranef")
    table = ranef_table(fit, level)
    groups = [choose_group(fit, group)] if group is not None else list(dict.fromkeys(table["grpvar"]))
    panels = []
    for g in groups:
        sub = table[table["grpvar"] == g]
        available = list(dict.fromkeys(sub["term"]))
        if term is not None and group is None:  # keep the named terms each factor has
            wanted = [t for t in ([term] if isinstance(term, str) else term) if t in available]
        else:
            wanted = term
        for t in check_terms(wanted, available, f"the random effects of '{g}'"):
            panels.append((g, t, sub[sub["term"] == t].sort_values("est")))
    if not panels:
        raise HierlmError(f"no random-effect term {term!r} in the model")
    by_group = {g: [p for p in panels if p[0] == g] for g in dict.fromkeys(p[0] for p in panels)}
    ncols = max(len(v) for v in by_group.values())
    heights = [1.0 + 0.17 * len(v[0][2]) for v in by_group.values()]
    fig = plt.figure(figsize=(max(3.6 * ncols + 0.6, 5.0), min(sum(heights) + 0.6, 16)), layout="constrained")
    gs = fig.add_gridspec(len(by_group), ncols, height_ratios=heights)
    for r, (g, plist) in enumerate(by_group.items()):
        for c, (_, t, d) in enumerate(plist):
            ax = fig.add_subplot(gs[r, c])
            y = np.arange(len(d))
            draw_intervals(ax, y, d["est"], d["lo"], d["hi"], color="C0", size=18, lw=1.1)
            ax.axvline(0, color="0.5", lw=0.8, ls="--", zorder=0)
            ax.set_yticks(y, d["grp"].astype(str), fontsize=8 if len(d) <= 40 else 5)
            ax.set_ylim(-0.7, len(d) - 0.3)
            ax.set_title(f"{t} | {g}", fontsize=10)
            ax.grid(axis="x", alpha=0.3)
            if c == 0:
                ax.set_ylabel(g)
    kind = "posterior means" if is_bayes(fit) else "conditional modes"
    fig.suptitle(f"Random effects: {fit_label(fit)}\n{kind}, {level:.0%} intervals", fontsize=11)
    return fig
