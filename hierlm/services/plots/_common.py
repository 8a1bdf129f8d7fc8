"""Pieces every plot shares: what kind of fit it is, lme4 labels, panel grids, interval rows.

Nothing here draws a whole plot; the plot modules compose these helpers so that a point with an
interval, a grid of panels or the choice of a grouping factor is written once.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from ...errors import HierlmError, suggest
from ...fits.protocol import is_fit

__all__ = [
    "is_bayes",
    "family_name",
    "fit_label",
    "fit_labels",
    "check_terms",
    "check_fit",
    "panel_grid",
    "draw_intervals",
    "zero_line",
    "choose_group",
    "group_blocks",
    "qq_points",
    "FIT_COLORS",
]

FIT_COLORS = ["C0", "C3", "C2", "C1", "C4", "C5"]


def is_bayes(fit) -> bool:
    """Whether ``fit`` is a Bayesian fit."""
    return is_fit(fit, "bayesian")


def family_name(fit) -> str:
    """The family's name."""
    return fit.family.name


def fit_labels(fits) -> list[str]:
    """Legend labels of several fits, told apart: the formula is added where two labels would be equal."""
    labels = [fit_label(f) for f in fits]
    counts = {lab: labels.count(lab) for lab in labels}
    out = [f"{lab}: {f.formula}" if counts[lab] > 1 else lab for lab, f in zip(labels, fits)]
    return [f"{lab} [{i + 1}]" if out.count(lab) > 1 else lab for i, lab in enumerate(out)]


def fit_label(fit) -> str:
    """Short legend label: ``lmer (REML)``, ``glmer (binomial)``, ``blmer (posterior)``, ``lm``."""
    if is_bayes(fit):
        fam = family_name(fit)
        return "blmer (posterior)" if fam == "gaussian" else f"blmer ({fam}, posterior)"
    if fit.kind.model == "lmm":
        return f"lmer ({'REML' if fit.reml else 'ML'})"
    if fit.kind.model in ("lm", "glm"):
        return fit.kind.model if fit.kind.model == "lm" else f"glm ({family_name(fit)})"
    return f"glmer ({family_name(fit)})"


def check_fit(fit, func: str, bayes: bool | None = None) -> None:
    """Raise :class:`HierlmError` unless ``fit`` is a fitted model (of the kind ``func`` needs)."""
    if not is_fit(fit):
        raise HierlmError(
            f"{func}() needs a fit from hl.lmer, hl.glmer or hl.blmer, not {type(fit).__name__}"
        )
    if bayes and not is_bayes(fit):
        raise HierlmError(
            f"{func}() needs a Bayesian fit from hl.blmer (it uses posterior draws); "
            f"got a {type(fit).__name__}"
        )


def panel_grid(n: int, ncols: int | None = None, size=(3.4, 2.8), **kwargs):
    """A figure with ``n`` panels on a grid (unused grid cells are removed).

    Returns the figure and a flat list of the ``n`` axes.
    """
    ncols = ncols or min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False,
                             layout="constrained", **kwargs)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def draw_intervals(ax, y, est, lo, hi, *, inner=None, color="C0", label=None, marker="o", size=28,
                   lw=1.4):
    """Horizontal intervals ``lo``–``hi`` at heights ``y`` with a point at ``est``.

    ``inner`` (a pair of arrays) adds thicker inner intervals (e.g. 50%).  Every row is one
    segment of a single ``LineCollection`` (``gid="interval"``) and one point of a single scatter
    (``gid="estimate"``), so the number of rows can be read off the figure.
    """
    y, est, lo, hi = (np.asarray(a, dtype=float) for a in (y, est, lo, hi))
    ok = np.isfinite(lo) & np.isfinite(hi)
    if ok.any():
        ax.hlines(y[ok], lo[ok], hi[ok], color=color, lw=lw, gid="interval")
    if inner is not None:
        ilo, ihi = (np.asarray(a, dtype=float) for a in inner)
        ax.hlines(y, ilo, ihi, color=color, lw=lw * 3, gid="inner", alpha=0.9)
    return ax.scatter(est, y, color=color, marker=marker, s=size, zorder=3, label=label, gid="estimate")


def zero_line(ax, values) -> None:
    """A faint vertical line at 0 when 0 lies within (or close to) the range of ``values``."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return
    lo, hi = v.min(), v.max()
    pad = 0.25 * (hi - lo if hi > lo else abs(hi) or 1.0)
    if lo - pad <= 0 <= hi + pad:
        ax.axvline(0, color="0.6", lw=0.8, ls="--", zorder=0, gid="zero")


def choose_group(fit, group: str | None) -> str:
    """The grouping factor to plot: ``group`` checked against the fit, or the first one."""
    groups = list(dict.fromkeys(t.group for t in fit.design.reterms))
    if not groups:
        raise HierlmError("the model has no random effects to plot")
    if group is None:
        return groups[0]
    if group in groups:
        return group
    if ":" in str(group):
        for g in groups:
            if sorted(g.split(":")) == sorted(str(group).split(":")):
                return g
    raise HierlmError(f"no grouping factor '{group}' in the model; it has {groups}.{suggest(str(group), groups)}")


def group_blocks(design, group: str) -> list:
    """The random-effects blocks (``ReTerm``) on grouping factor ``group``, in lme4's order."""
    return [t for t in design.reterms if t.group == group]


def check_terms(terms, available: list[str], what: str) -> list[str]:
    """``terms`` (a name or a list; ``None``: all of ``available``) checked against ``available``."""
    if terms is None:
        return list(available)
    terms = [terms] if isinstance(terms, str) else list(terms)
    for t in terms:
        if t not in available:
            raise HierlmError(f"no term '{t}' in {what}; it has {available}.{suggest(t, available)}")
    return terms


def qq_points(values):
    """Normal QQ coordinates (theoretical, sample) and the line through the quartiles (R's ``qqline``)."""
    v = np.sort(np.asarray(values, dtype=float))
    n = v.size
    a = 3 / 8 if n <= 10 else 0.5  # R's ppoints
    theo = stats.norm.ppf((np.arange(1, n + 1) - a) / (n + 1 - 2 * a))
    q1, q3 = np.quantile(v, [0.25, 0.75])
    z1, z3 = stats.norm.ppf([0.25, 0.75])
    slope = (q3 - q1) / (z3 - z1)
    return theo, v, (q1 - slope * z1, slope)
