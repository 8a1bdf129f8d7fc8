"""The power curve of :func:`hierlm.power_sim`: power (or assurance) against the sample size, with the
exact 95% intervals, as simr's ``plot(powerCurve)``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...errors import HierlmError

__all__ = ["plot_power"]


def plot_power(result: pd.DataFrame, target: float | None = 0.8, ax=None, label: str | None = None):
    """Plot a power curve (or a single power estimate) with its 95% Clopper–Pearson intervals.

    Parameters
    ----------
    result : DataFrame
        What :func:`hierlm.power_sim` returns.
    target : float or None, default 0.8
        A dashed horizontal line at this power (None: none).
    ax : matplotlib Axes, optional
        Draw into these axes (several curves on one plot); else a new figure.
    label : str, optional
        Legend label of the curve (default: the test).

    Returns
    -------
    matplotlib.figure.Figure
        Artists carry ``gid``: ``"power"`` (the curve, points at each size), ``"interval"`` (the
        interval bars), ``"target"`` (the target line).

    Examples
    --------
    >>> import pandas as pd
    >>> res = pd.DataFrame({"size": [10, 20, 40], "nobs": [100, 200, 400], "nsim": 100,
    ...                     "successes": [30, 60, 90], "power": [0.3, 0.6, 0.9], "lower": [0.21, 0.5, 0.82],
    ...                     "upper": [0.4, 0.7, 0.95], "failed": 0, "singular": 0})
    >>> res.attrs.update(along="Subject", test="Satterthwaite t test of the fixed effect 'Days'", alpha=0.05)
    >>> fig = plot_power(res)
    >>> line = [l for l in fig.axes[0].lines if l.get_gid() == "power"][0]
    >>> line.get_xdata().tolist(), line.get_ydata().tolist()
    ([10, 20, 40], [0.3, 0.6, 0.9])
    """
    need = {"power", "lower", "upper", "nsim"}
    if not isinstance(result, pd.DataFrame) or not need <= set(result.columns):
        raise HierlmError("plot_power() takes the DataFrame hl.power_sim returns (columns power, lower, upper, ...)")
    attrs = result.attrs
    along = attrs.get("along")
    if "size" in result.columns:
        x = result["largest"].to_numpy() if "largest" in result.columns else result["size"].to_numpy()
        xlabel = (f"largest value of {along}" if "largest" in result.columns
                  else f"number of levels of {along}" if along else "size")
    else:
        x = result["nobs"].to_numpy() if "nobs" in result.columns else np.arange(len(result))
        xlabel = "number of observations"
    y = result["power"].to_numpy(float)
    lo, hi = result["lower"].to_numpy(float), result["upper"].to_numpy(float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
    else:
        fig = ax.figure
    what = "assurance" if attrs.get("kind") == "assurance" else "power"
    eb = ax.errorbar(x, y, yerr=np.vstack([y - lo, hi - y]), fmt="none", ecolor="C0", elinewidth=1.2, capsize=3)
    for child in eb.lines[2]:
        child.set_gid("interval")
    ax.plot(x, y, "o-", color="C0", lw=1.6, gid="power", label=label or attrs.get("test", what))
    if target is not None:
        ax.axhline(target, color="0.4", ls="--", lw=1, gid="target")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{what} (95% interval)")
    title = attrs.get("test")
    if title:
        n = int(result["nsim"].iloc[0])
        ax.set_title(f"{title}\n{n} simulations" + (f", alpha = {attrs['alpha']:g}" if "alpha" in attrs else ""),
                     fontsize=9)
    ax.grid(alpha=0.3)
    return fig
