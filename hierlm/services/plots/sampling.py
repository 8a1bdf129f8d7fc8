"""Plots of the sampler's output: posterior predictive checks and trace / rank plots (BayesFit)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from scipy import stats

from ...errors import HierlmError
from ...formula import deparse
from ._common import check_fit, check_terms, fit_label
from .posterior import main_draws
from .varcorr import bounded_density

__all__ = ["plot_ppc", "plot_trace"]

PPC_KINDS = {"density": "kde", "hist": "hist", "stat": None}


def _arviz_figure(pc):
    """The matplotlib Figure behind an arviz-plots ``PlotCollection``."""
    return pc.viz["figure"].item()


def plot_ppc(fit, kind: str = "density", num_samples: int = 50, stat: str = "std"):
    """Posterior predictive check: the observed response against replicated data sets.

    Uses the fit's posterior predictive draws (``fit.posterior_predictive()`` is run first when
    ``fit.idata`` has none).  An ordinal response (``family="cumulative"``) is shown as category
    frequencies: the observed proportions as bars, the replicated ones as their mean and 95% interval.
    Otherwise arviz-plots draws it: ``plot_ppc_dist`` for ``"density"`` and ``"hist"``
    (the observed distribution in black over ``num_samples`` replicated ones),
    ``plot_ppc_tstat`` for ``"stat"`` (the distribution of a statistic over the replicates, the
    observed value marked).

    Parameters
    ----------
    fit : BayesFit
    kind : {"density", "hist", "stat"}
    num_samples : int
        Replicated data sets drawn for ``"density"`` and ``"hist"``.
    stat : str
        Test statistic for ``kind="stat"``: ``"mean"``, ``"median"``, ``"std"``, ``"min"``,
        ``"max"``, ``"iqr"``, ``"mad"`` or a quantile such as ``0.9``.

    Returns
    -------
    matplotlib.figure.Figure
        The arviz-plots figure, relabelled with the response's name.

    Examples
    --------
    >>> import warnings
    >>> import hierlm as hl
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # short chains warn about R-hat
    ...     b = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"),
    ...                  draws=200, tune=200, chains=2, seed=1, progressbar=False)
    >>> hl.plot_ppc(b, kind="density", num_samples=30)   # 30 replicated data sets over the observed one
    <Figure size 700x380 with 1 Axes>
    """
    import arviz_plots as azp

    check_fit(fit, "plot_ppc", bayes=True)
    if kind not in PPC_KINDS:
        raise HierlmError(f"plot_ppc(kind={kind!r}): use 'density', 'hist' or 'stat'")
    if "posterior_predictive" not in fit.idata.children:
        fit.posterior_predictive()
    yname = deparse(fit.design.formula.response)
    if fit.family.is_ordinal and kind != "stat":
        return _ppc_categories(fit, yname)
    if kind == "stat":
        pc = azp.plot_ppc_tstat(fit.idata, var_names=["y"], t_stat=stat)
        what = f"{stat} of the replicated data sets against the observed {stat}"
    else:
        pc = azp.plot_ppc_dist(fit.idata, var_names=["y"], kind=PPC_KINDS[kind], num_samples=num_samples)
        what = f"observed distribution over {num_samples} replicated data sets"
    fig = _arviz_figure(pc)
    fig.set_layout_engine("constrained")
    fig.set_size_inches(7.0, 3.8)
    ax = fig.axes[0]
    ax.set_title("")
    ax.set_xlabel(yname if kind != "stat" else f"{stat}({yname})")
    observed = (Line2D([], [], color="k", marker="o", ls="", label=f"observed {stat}") if kind == "stat"
                else Line2D([], [], color="k", label="observed"))
    # a fit with sample_prior="only" holds prior draws: its replicates are prior predictive ones
    source = "prior" if fit.settings.get("sample_prior") == "only" else "posterior"
    handles = [observed, Line2D([], [], color="C0", alpha=0.6, label=f"{source} predictive")]
    ax.legend(handles=handles, fontsize=8, frameon=False, loc="upper right")
    label = fit_label(fit).replace("posterior", "prior draws") if source == "prior" else fit_label(fit)
    fig.suptitle(f"{source.capitalize()} predictive check of {yname}: {label}\n{what}", fontsize=11)
    return fig


def _ppc_categories(fit, yname: str):
    """Category frequencies of an ordinal response: the observed ones as bars, the replicated ones as the
    posterior-predictive mean with its 95% interval (bayesplot's ``ppc_bars``)."""
    levels = [str(v) for v in fit.spec.levels]
    K = len(levels)
    y = np.asarray(fit.idata["observed_data"]["y"].values, int)
    rep = np.asarray(fit.idata["posterior_predictive"]["y"].values, int)
    rep = rep.reshape(-1, rep.shape[-1])
    freq = np.stack([np.bincount(r, minlength=K) for r in rep]) / rep.shape[1]
    obs = np.bincount(y, minlength=K) / len(y)
    lo, hi = np.quantile(freq, [0.025, 0.975], axis=0)
    fig, ax = plt.subplots(figsize=(7.0, 3.8), layout="constrained")
    pos = np.arange(K)
    ax.bar(pos, obs, color="0.75", edgecolor="k", width=0.7, label="observed")
    mean = freq.mean(axis=0)
    source = "prior" if fit.settings.get("sample_prior") == "only" else "posterior"
    ax.errorbar(pos, mean, yerr=[mean - lo, hi - mean], fmt="o", color="C0", capsize=4,
                label=f"{source} predictive (mean, 95%)")
    ax.set_xticks(pos, levels)
    ax.set_xlabel(yname)
    ax.set_ylabel("proportion of observations")
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    label = fit_label(fit).replace("posterior", "prior draws") if source == "prior" else fit_label(fit)
    fig.suptitle(f"{source.capitalize()} predictive check of {yname}: {label}\ncategory frequencies over "
                 f"{rep.shape[0]} replicated data sets", fontsize=11)
    return fig


def _bounds(label: str) -> tuple[float | None, float | None]:
    if label.startswith("cor "):
        return -1.0, 1.0
    if label.startswith(("sd ", "sigma")):
        return 0.0, None
    return None, None


def _rhat(x: np.ndarray) -> float:
    from arviz_stats import rhat

    return float(rhat(x))


def plot_trace(fit, var_names=None, bins: int | None = None):
    """Trace and rank plots of the fixed effects, sds, correlations and σ, under lme4's names.

    One row per parameter: its posterior density per chain, the trace per chain, and the rank
    histogram per chain (ranks of the pooled draws; flat, overlapping bars mean well-mixed
    chains) with the rank-normalised R-hat in the title.

    Parameters
    ----------
    fit : BayesFit
    var_names : str or list of str, optional
        Parameters to show, as labelled: ``"(Intercept)"``, ``"Days"``, ``"sd Days | Subject"``,
        ``"cor (Intercept), Days | Subject"``, ``"sigma (Residual)"``.  All by default.
    bins : int, optional
        Rank-histogram bins (default: about 20, fewer for short chains).

    Returns
    -------
    matplotlib.figure.Figure
        Three axes per parameter: density (titled with the name), trace, rank histogram.

    Examples
    --------
    >>> import hierlm as hl
    >>> pen = hl.load_dataset("Penicillin")
    >>> fit = hl.blmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen, draws=200, tune=200,
    ...                chains=2, seed=1, progressbar=False)
    >>> hl.plot_trace(fit)        # every main parameter: density, trace and rank plot in a row each
    <Figure size 1100x740 with 12 Axes>
    >>> hl.plot_trace(fit, var_names=["sd (Intercept) | plate", "sigma (Residual)"])   # two of them
    <Figure size 1100x400 with 6 Axes>
    """
    check_fit(fit, "plot_trace", bayes=True)
    draws = main_draws(fit)
    if var_names is not None:
        draws = {n: draws[n] for n in check_terms(var_names, list(draws), "the fit's parameters")}
    n = len(draws)
    fig, axes = plt.subplots(n, 3, figsize=(11, 0.6 + 1.7 * n), squeeze=False, layout="constrained",
                             gridspec_kw={"width_ratios": [1, 2, 1]})
    for (label, x), (ax_d, ax_t, ax_r) in zip(draws.items(), axes):
        C, D = x.shape
        nb = bins or int(np.clip(D // 10, 5, 20))
        ranks = stats.rankdata(x.ravel()).reshape(C, D)
        edges = np.linspace(0.5, C * D + 0.5, nb + 1)
        for c in range(C):
            color = f"C{c % 10}"
            grid, dens = bounded_density(x[c], *_bounds(label))
            ax_d.plot(grid, dens, color=color, lw=1.2, gid="density")
            ax_t.plot(np.arange(D), x[c], color=color, lw=0.6, alpha=0.8, gid="trace")
            ax_r.stairs(np.histogram(ranks[c], edges)[0], edges, baseline=None, color=color, lw=1.2, gid="rank")
        ax_r.axhline(D / nb, color="0.4", ls="--", lw=0.8)
        ax_d.set_title(label, fontsize=10)
        ax_d.set_yticks([])
        ax_t.set_title("trace", fontsize=9)
        ax_r.set_title(f"rank   R-hat {_rhat(x):.3f}", fontsize=9)
        ax_r.set_yticks([])
        ax_r.set_ylim(0, None)
    axes[-1, 1].set_xlabel("draw")
    axes[-1, 2].set_xlabel("rank of the pooled draws")
    handles = [Line2D([], [], color=f"C{c % 10}", label=f"chain {c}") for c in range(C)]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(C, 8), frameon=False, fontsize=9)
    fig.suptitle(f"Trace and rank plots: {fit_label(fit)} — {fit.design.formula.text}", fontsize=11)
    return fig
