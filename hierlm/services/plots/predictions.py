"""``hl.plot_predictions``: the model's predictions along one predictor with 95% bands (conditional effects).

The predictions are emmeans' reference-grid predictions (:func:`hierlm.services.emmeans.emmeans`):
along ``x`` (a grid of values over its observed range, or the levels of a factor), for each level
of ``by`` (one panel each), with the other covariates at their means and the other factors at their
first (reference) level — population-level predictions, without random effects.  Bands are
frequentist confidence intervals (Wald, or Kenward–Roger with ``ddf=``) or Bayesian HPD intervals of
the posterior draws; GLMMs are shown on the response scale (probabilities, rates) with the
intervals back-transformed.  Several fits of the same model (an ``hl.lmer`` and an ``hl.blmer``) are
overlaid, one colour each: the frequentist-versus-Bayesian picture.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from ...errors import HierlmError, suggest
from ...formula import deparse
from ..emmeans import emmeans
from ..emmeans.grid import build_grid
from ._common import FIT_COLORS, check_fit, fit_labels, panel_grid

__all__ = ["plot_predictions", "prediction_data"]

_STYLES = ["-", "--", "-.", ":"]


def _as_fits(fit_or_fits) -> tuple[list, list[str] | None]:
    if isinstance(fit_or_fits, dict):
        return list(fit_or_fits.values()), [str(k) for k in fit_or_fits]
    if isinstance(fit_or_fits, (list, tuple)):
        return list(fit_or_fits), None
    return [fit_or_fits], None


def _grid_values(fit, x: str, n: int):
    """The values of ``x`` to predict at: n points over its range, or the levels of a factor."""
    grid = build_grid(fit)
    if x not in grid.names:
        raise HierlmError(f"x='{x}' is not a predictor of the model's fixed part ({', '.join(grid.names) or 'none'})."
                          f"{suggest(x, grid.names)}")
    var = grid.var(x)
    if var.is_factor:
        return var.all_levels, True
    data = fit.design.data[x].to_numpy(dtype=float)
    return np.linspace(np.min(data), np.max(data), n).tolist(), False


def prediction_data(fit, x: str, by: str | None = None, n: int = 100, level: float = 0.95, ddf="asymptotic",
                    type: str = "response") -> pd.DataFrame:
    """The numbers behind :func:`plot_predictions` for one fit.

    Returns
    -------
    DataFrame
        Columns ``x`` (named after the predictor), [``by``], ``estimate``, ``lower``, ``upper``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> prediction_data(m, "Days", n=3).round(2)  # doctest: +NORMALIZE_WHITESPACE
       Days  estimate   lower   upper
    0   0.0    251.41  238.03  264.78
    1   4.5    298.51  280.77  316.25
    2   9.0    345.61  316.94  374.28
    """
    values, _ = _grid_values(fit, x, n)
    grid = build_grid(fit)
    at = {x: values}
    specs = [x] + ([by] if by else [])
    if by is not None:
        if by not in grid.names:
            raise HierlmError(f"by='{by}' is not a predictor of the model's fixed part ({', '.join(grid.names)})."
                              f"{suggest(by, grid.names)}")
        if by == x:
            raise HierlmError("by must differ from x")
        bv = grid.var(by)
        if not bv.is_factor:
            q = np.quantile(fit.design.data[by].to_numpy(dtype=float), [0.1, 0.5, 0.9])
            at[by] = np.unique(np.round(q, 10)).tolist()
    for v in grid.variables:  # other factors at their reference level
        if v.name not in specs and v.is_factor:
            at[v.name] = [v.all_levels[0]]
    bayes = fit.kind.bayesian
    emm = emmeans(fit, specs, at=at, type=type, level=level, ddf=None if (bayes or not fit.kind.mixed or
                  fit.kind.model == "glmm") else ddf)
    est = next(c for c in emm.columns if c not in specs)
    lo, hi = ("lower.HPD", "upper.HPD") if bayes else \
        (("asymp.LCL", "asymp.UCL") if "asymp.LCL" in emm.columns else ("lower.CL", "upper.CL"))
    out = pd.DataFrame({c: emm[c].to_numpy() for c in specs})
    out["estimate"], out["lower"], out["upper"] = (emm[c].to_numpy(float) for c in (est, lo, hi))
    return out


def _response_values(fit) -> np.ndarray:
    y = np.asarray(fit.design.y)
    if y.ndim == 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            return y[:, 0] / y.sum(axis=1)
    if y.dtype.kind not in "fiub":
        return np.asarray(fit.design.response_value.data, float)
    return y.astype(float)


def plot_predictions(fit_or_fits, x: str, by: str | None = None, *, n: int = 100, level: float = 0.95,
                     points: bool = False, ddf: str = "asymptotic", type: str = "response", labels=None,
                     return_data: bool = False):
    """Conditional-effects plot: predictions along ``x`` with bands, one panel per level of ``by``.

    Parameters
    ----------
    fit_or_fits : fit, list of fits or dict {label: fit}
        ``hl.lmer``, ``hl.glmer``, ``hl.lm`` or ``hl.blmer`` fits of the same response; several are
        overlaid (one colour each), e.g. an lmer and a blmer fit of one model.
    x : str
        A predictor of the fixed part: a covariate (a line over its observed range) or a factor
        (a point with an interval per level).
    by : str, optional
        A factor: one panel per level (a covariate: panels at its 10%, 50% and 90% quantiles).
    n : int
        Number of points along a covariate ``x``.
    level : float
        Interval level (confidence for frequentist fits, HPD for Bayesian ones).
    points : bool
        Draw the observations too (a binomial response as proportions).
    ddf : {"asymptotic", "kenward-roger", "satterthwaite"}
        Degrees of freedom of lmer intervals (default: Wald intervals).
    type : {"response", "link"}
        Scale of GLMM predictions (default: back-transformed).
    labels : list of str, optional
        Legend labels of the fits (default: "lmer (REML)", "blmer (posterior)", ...).
    return_data : bool
        Also return the numbers drawn (the figure always keeps them as ``fig.prediction_data``).

    Returns
    -------
    Figure, or (Figure, DataFrame) with ``return_data=True``
        The data have a ``fit`` column (the legend label) besides ``x``, [``by``], ``estimate``,
        ``lower``, ``upper``.  Lines have ``gid="prediction"``, bands (PolyCollections)
        ``gid="band"``, factor intervals (a LineCollection) ``gid="interval"``, observations
        ``gid="data"``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> fig = plot_predictions(m, "Days", points=True)
    >>> [ln.get_gid() for ln in fig.axes[0].lines], len(fig.prediction_data)
    (['prediction'], 100)
    """
    fits, given = _as_fits(fit_or_fits)
    if not fits:
        raise HierlmError("plot_predictions() needs at least one fit")
    for f in fits:
        check_fit(f, "plot_predictions")
    names = list(labels) if labels is not None else (given or fit_labels(fits))
    if len(names) != len(fits):
        raise HierlmError(f"labels has {len(names)} entries for {len(fits)} fits")
    frames = []
    for f, name in zip(fits, names):
        d = prediction_data(f, x, by, n=n, level=level, ddf=ddf, type=type)
        frames.append(d.assign(fit=name))
    data = pd.concat(frames, ignore_index=True)
    is_factor = not pd.api.types.is_numeric_dtype(data[x])
    panels = list(dict.fromkeys(data[by].tolist())) if by else [None]
    fig, axes = panel_grid(len(panels), size=(4.2, 3.2), sharey=True)
    resp = deparse(fits[0].design.formula.response) if fits[0].design.formula.response is not None else "response"
    for ax, panel in zip(axes, panels):
        sub = data if panel is None else data[data[by] == panel]
        for k, (f, name) in enumerate(zip(fits, names)):
            d = sub[sub["fit"] == name]
            color = FIT_COLORS[k % len(FIT_COLORS)]
            if is_factor:
                levels = list(dict.fromkeys(d[x].tolist()))
                pos = np.arange(len(levels)) + (k - (len(fits) - 1) / 2) * 0.15
                ax.add_collection(LineCollection([[(p, lo), (p, hi)] for p, lo, hi in zip(pos, d["lower"], d["upper"])],
                                                 colors=color, linewidths=1.6, gid="interval"))
                ax.plot(pos, d["estimate"], "o", color=color, gid="prediction", label=name)
                ax.set_xticks(np.arange(len(levels)), levels)
            else:
                xs = d[x].to_numpy(float)
                ax.fill_between(xs, d["lower"].to_numpy(float), d["upper"].to_numpy(float), color=color, alpha=0.2,
                                lw=0, gid="band")
                ax.plot(xs, d["estimate"].to_numpy(float), color=color, lw=1.8, ls=_STYLES[k % len(_STYLES)],
                        gid="prediction", label=name)
        if points:
            _draw_points(ax, fits[0], x, by, panel, is_factor, data)
        ax.set_xlabel(x)
        if panel is not None:
            ax.set_title(f"{by} = {panel}" if not isinstance(panel, float) else f"{by} = {panel:g}", fontsize=10)
    axes[0].set_ylabel(resp if type == "link" or fits[0].family.link.name == "identity"
                       else f"{resp} ({'probability' if 'binom' in fits[0].family.name or fits[0].family.name == 'bernoulli' else 'response scale'})")
    handles = [Line2D([], [], color=FIT_COLORS[k % len(FIT_COLORS)], lw=6 if not is_factor else 1.8, alpha=0.5
                      if not is_factor else 1.0, label=name) for k, name in enumerate(names)]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(names), 3), frameon=False)
    kind = "HPD" if all(f.kind.bayesian for f in fits) else "confidence / HPD" if any(f.kind.bayesian for f in fits) \
        else "confidence"
    note = f"Predictions without random effects; {level:.0%} {kind} {'intervals' if is_factor else 'bands'}"
    others = [v for v in build_grid(fits[0]).names if v not in (x, by)]
    if others:
        note += "; other covariates at their means, factors at their first level"
    fig.suptitle(note, fontsize=9)
    fig.prediction_data = data
    return (fig, data) if return_data else fig


def _draw_points(ax, fit, x, by, panel, is_factor, data) -> None:
    d = fit.design.data
    yv = _response_values(fit)
    mask = np.ones(len(d), dtype=bool)
    if panel is not None and by in d.columns and not pd.api.types.is_numeric_dtype(d[by]):
        mask = (d[by].astype(str) == str(panel)).to_numpy()
    if is_factor:
        levels = list(dict.fromkeys(data[x].tolist()))
        lookup = {lv: i for i, lv in enumerate(levels)}
        xs = np.array([lookup.get(str(v), np.nan) for v in d[x].astype(str)], float)
        rng = np.random.default_rng(0)
        xs = xs + rng.uniform(-0.08, 0.08, len(xs))
    else:
        xs = d[x].to_numpy(float)
    ax.scatter(xs[mask], yv[mask], s=8, color="0.45", alpha=0.5, zorder=0, gid="data")
