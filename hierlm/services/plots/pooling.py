"""Complete, no and partial pooling: the estimates (shared with the shrinkage plot) and the
per-level panels of :func:`plot_pooling`.

No pooling is a separate least-squares fit per level of the grouping factor on that factor's
random-effect terms, with the rest of the fixed part, the offset and the other grouping factors'
random effects held at the fit's estimates (so a nested or crossed factor does not leak in);
partial pooling is lme4's ``coef()``; complete pooling is least squares on the fixed effects alone,
ignoring the groups.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ...errors import HierlmError, suggest
from ...formula import deparse
from ._common import check_fit, choose_group, family_name, fit_label, group_blocks, panel_grid

__all__ = ["PoolingEstimates", "pooling_estimates", "plot_pooling"]

STYLES = {
    "complete": dict(color="0.45", ls="--", lw=1.3, label="complete pooling (OLS, no groups)"),
    "none": dict(color="C1", ls="-.", lw=1.8, label="no pooling (OLS per level)"),
    "partial": dict(color="C0", ls="-", lw=1.8, label="partial pooling (coef())"),
}


@dataclass
class PoolingEstimates:
    """Per-level coefficients of one grouping factor's terms under the three kinds of pooling."""

    group: str
    terms: list[str]
    levels: list[str]
    index: np.ndarray  # level of every observation
    nobs: np.ndarray  # observations per level
    nopool: pd.DataFrame  # levels × terms, NaN where a level cannot be fitted alone
    partial: pd.DataFrame  # levels × terms (coef())
    beta_rest: pd.Series  # fixed effects that are not among the terms
    beta_ols: np.ndarray  # complete-pooling least squares on X

    def curves(self, design, newdata: pd.DataFrame, level: str) -> dict[str, np.ndarray]:
        """Predictions of the three fits on ``newdata`` (every row at ``level``)."""
        nd = design.new_data(newdata)
        vals = np.hstack([nd.reterms[i].values for i, t in enumerate(design.reterms) if t.group == self.group])
        X = pd.DataFrame(nd.X, columns=design.xnames)
        rest = nd.offset + X[self.beta_rest.index].to_numpy() @ self.beta_rest.to_numpy()
        return {
            "complete": nd.X @ self.beta_ols + nd.offset,
            "none": rest + vals @ self.nopool.loc[level].to_numpy(),
            "partial": rest + vals @ self.partial.loc[level].to_numpy(),
        }


def pooling_estimates(fit, group: str | None = None) -> PoolingEstimates:
    """No-, partial- and complete-pooling estimates for the terms of ``group`` (Gaussian models)."""
    check_fit(fit, "pooling_estimates")
    if family_name(fit) != "gaussian" or np.ndim(fit.design.y) != 1:
        raise HierlmError(
            "pooling and shrinkage plots compare least-squares fits and need a Gaussian model (hl.lmer); "
            f"this fit has family '{family_name(fit)}'"
        )
    d = fit.design
    group = choose_group(fit, group)
    blocks = group_blocks(d, group)
    terms = [c for t in blocks for c in t.columns]
    values = np.hstack([t.values for t in blocks])
    index, levels = blocks[0].index, list(blocks[0].levels)
    beta = fit.fixef()["Estimate"]
    beta_rest = beta[[c for c in beta.index if c not in terms]]
    X = pd.DataFrame(d.X, columns=d.xnames)
    rest = d.offset + X[beta_rest.index].to_numpy() @ beta_rest.to_numpy()
    ranef = fit.ranef()
    for t in d.reterms:  # other grouping factors' effects, held at the fit's values
        if t.group != group:
            r = ranef[t.group][t.columns].to_numpy()
            rest = rest + np.where(t.index >= 0, (t.values * r[np.maximum(t.index, 0)]).sum(axis=1), 0.0)
    resid = d.y - rest
    nopool = np.full((len(levels), len(terms)), np.nan)
    nobs = np.bincount(index[index >= 0], minlength=len(levels))
    for j in range(len(levels)):
        A, r = values[index == j], resid[index == j]
        if len(r) >= len(terms) and np.linalg.matrix_rank(A) == len(terms):
            nopool[j] = np.linalg.lstsq(A, r, rcond=None)[0]
    beta_ols = np.linalg.lstsq(d.X, d.y - d.offset, rcond=None)[0]
    partial = fit.coef()[group][terms]
    partial.index = partial.index.astype(str)
    return PoolingEstimates(group, terms, levels, index, nobs, pd.DataFrame(nopool, index=levels, columns=terms),
                            partial, beta_rest, beta_ols)


def _default_x(design, terms: list[str]) -> str | None:
    """The first numeric data column among the group's terms and the fixed effects; else the first
    factor of the fixed part (a factor predictor goes on the x axis, one position per level)."""
    data = design.data
    for name in [t for t in terms if t != "(Intercept)"] + list(design.xnames):
        if name in data.columns and pd.api.types.is_numeric_dtype(data[name]):
            return name
    for node in design.formula.fixed_terms().variables:
        name = deparse(node)
        if name in data.columns and name != deparse(design.formula.response):
            return name
    return None


def _title(text: str, width: int) -> str:
    """A panel title wrapped on spaces (or cut with an ellipsis) to ``width`` characters per line."""
    if len(text) <= width:
        return text
    lines = textwrap.wrap(text, width, break_long_words=True, max_lines=2, placeholder="…")
    return "\n".join(lines)


def _check_levels(levels, est: PoolingEstimates) -> list[str]:
    if levels is None:
        return est.levels
    levels = [str(v) for v in ([levels] if isinstance(levels, (str, int)) else levels)]
    for v in levels:
        if v not in est.levels:
            raise HierlmError(f"'{est.group}' has no level '{v}'.{suggest(v, est.levels)} Levels: {est.levels[:10]} ...")
    return levels


def plot_pooling(fit, group: str | None = None, x: str | None = None, levels=None, ncols: int | None = None):
    """Data and the three pooling fits, one panel per level of a grouping factor.

    Each panel shows the level's observations, the complete-pooling line (least squares on the
    fixed effects, ignoring the groups), the no-pooling line (least squares on that level alone)
    and the partial-pooling line (``coef()``).  Levels with too few observations for their own
    fit show no no-pooling line.  Gaussian models only.

    Parameters
    ----------
    fit : LmerFit or BayesFit (Gaussian)
    group : str, optional
        Grouping factor; the first one by default.
    x : str, optional
        Data column for the horizontal axis; by default the first numeric random-effect term of
        the group or fixed-effect column (``Days``).  Without one, the observations of a level are
        numbered and the lines are flat; a factor predictor (``Variety``) is shown level by level.
    levels : list of str, optional
        Levels to show (all by default).
    ncols : int, optional
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per level, titled ``group level (n=…)``, with a legend of the three fits.

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> fit = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    >>> hl.plot_pooling(fit, levels=["308", "309", "310"])   # three subjects, one panel each
    <Figure size 780x230 with 3 Axes>
    >>> hl.plot_pooling(fit)                                  # all 18, six to a row
    <Figure size 1560x690 with 18 Axes>
    """
    est = pooling_estimates(fit, group)
    d = fit.design
    data = d.data
    x = _default_x(d, est.terms) if x is None else x
    if x is not None and x not in data.columns:
        raise HierlmError(f"x: no column '{x}' among the model's data columns {list(data.columns)}.{suggest(x, data.columns)}")
    numeric = x is not None and pd.api.types.is_numeric_dtype(data[x])
    cats = None if x is None or numeric else list(pd.Categorical(data[x]).categories)
    yname = deparse(d.formula.response)
    shown = _check_levels(levels, est)
    fig, axes = panel_grid(len(shown), ncols or min(len(shown), 6), size=(2.6, 2.3), sharex=True, sharey=True)
    pos = {v: i for i, v in enumerate(est.levels)}
    for ax, lev in zip(axes, shown):
        rows = data.iloc[np.flatnonzero(est.index == pos[lev])]
        yobs = d.y[est.index == pos[lev]]
        if x is None:
            xobs = np.arange(1, len(rows) + 1, dtype=float)
            grid = rows.iloc[[0, 0]].reset_index(drop=True)
            xgrid = np.array([0.5, max(est.nobs.max(), 1) + 0.5])
        elif numeric:
            xobs = rows[x].to_numpy(dtype=float)
            xgrid = np.linspace(data[x].min(), data[x].max(), 40)
            grid = rows.iloc[[0] * len(xgrid)].reset_index(drop=True).assign(**{x: xgrid})
        else:
            xobs = np.array([cats.index(v) for v in rows[x]], dtype=float)
            xgrid = np.arange(len(cats), dtype=float)
            grid = rows.iloc[[0] * len(cats)].reset_index(drop=True)
            grid[x] = pd.Categorical(cats, categories=cats) if isinstance(data[x].dtype, pd.CategoricalDtype) else cats
        ax.scatter(xobs, yobs, s=12, color="k", alpha=0.7, zorder=3, gid="data")
        for kind, yhat in est.curves(d, grid, lev).items():
            if np.all(np.isfinite(yhat)):
                ax.plot(xgrid, yhat, gid=kind, **STYLES[kind])
            else:
                ax.text(0.03, 0.95, "too few observations\nfor a no-pooling fit", transform=ax.transAxes,
                        fontsize=7, va="top", color=STYLES[kind]["color"])
        ax.set_title(_title(f"{est.group} {lev} (n={len(rows)})", 30), fontsize=9)
        if cats is not None:
            ax.set_xticks(range(len(cats)), cats, fontsize=7)
    for ax in axes:
        if ax.get_subplotspec().is_last_row() or ax is axes[-1]:
            ax.set_xlabel(x or "observation")
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(yname)
    handles = [Line2D([], [], color="k", marker="o", ls="", ms=4, label="data")]
    handles += [Line2D([], [], **style) for style in STYLES.values()]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False, fontsize=9)
    fig.suptitle(f"Pooling of '{est.group}': {fit_label(fit)} — {d.formula.text}", fontsize=11)
    return fig
