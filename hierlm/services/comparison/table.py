"""The table :func:`hierlm.compare` returns, and the sentences printed under it.

The verdict compares every model with the best one: a difference in elpd smaller than the
standard error of the difference, or smaller than :data:`SMALL_DIFF` (4) elpd — where that
standard error is itself unreliable (Sivula et al. 2022; the loo package's FAQ) — means "the data
do not distinguish them"; otherwise "m1 predicts better than m0 by X elpd (Y standard errors)",
flagged as uncertain under 2 standard errors.
"""

from __future__ import annotations

import html
from typing import ClassVar

import numpy as np
import pandas as pd

__all__ = ["SMALL_DIFF", "ComparisonTable", "loo_lines", "verdict"]

# below this |elpd_diff| the models predict alike and se_diff is unreliable (Sivula et al.; the loo FAQ)
SMALL_DIFF = 4


class ComparisonTable(pd.DataFrame):
    """The comparison table of :func:`compare`: a DataFrame that prints its interpretation under it.

    Attributes
    ----------
    notes : list of str
        The verdict sentence, then one line per model about Pareto k (or WAIC / K-fold notes).
    elpd : dict
        Model name → the ``arviz_stats`` ELPD result behind its row (pointwise ``elpd_i``,
        ``pareto_k``, ...).

    Examples
    --------
    >>> import pandas as pd
    >>> tab = ComparisonTable(pd.DataFrame({"elpd_loo": [-861.6, -862.4]}, index=["b0", "b1"]))
    >>> object.__setattr__(tab, "notes", ["The data do not distinguish them."])
    >>> print(tab)
        elpd_loo
    b0    -861.6
    b1    -862.4
    <BLANKLINE>
    The data do not distinguish them.
    """

    _metadata: ClassVar[list[str]] = ["notes", "elpd"]

    @property
    def _constructor(self):
        return ComparisonTable

    def _display(self) -> pd.DataFrame:
        out = pd.DataFrame(self).copy()
        for c in out.columns:
            if c == "weight":
                out[c] = out[c].round(3)
            elif out[c].dtype.kind == "f":
                out[c] = out[c].round(1)
        return out

    def _note_lines(self) -> list[str]:
        return list(getattr(self, "notes", None) or [])

    def __repr__(self) -> str:
        lines = self._note_lines()
        return self._display().to_string() + ("\n\n" + "\n".join(lines) if lines else "")

    def _repr_html_(self) -> str:
        body = self._display()._repr_html_()
        lines = self._note_lines()
        if not lines:
            return body
        return body + "<p>" + "<br>".join(html.escape(s) for s in lines) + "</p>"


# -- the verdict --------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    return f"{x:.1f}".replace("-", "\u2212")


def verdict(table: pd.DataFrame, label: str) -> str:
    """One sentence saying what a comparison table means (best model against the others).

    Parameters
    ----------
    table : DataFrame
        With columns ``label`` (the elpd), ``se``, ``elpd_diff`` and ``se_diff``.
    label : str
        The elpd column, e.g. ``"elpd_loo"``.

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> tab = pd.DataFrame({"elpd_loo": [-861.6, -862.4], "se": [22.6, 22.9], "elpd_diff": [0.0, -0.4],
    ...                     "se_diff": [0.0, 1.2]}, index=["m0", "m1"])
    >>> verdict(tab, "elpd_loo")
    "The models' expected predictive accuracy differs by less than its standard error (elpd_diff −0.4, se_diff 1.2): the data do not distinguish them."
    >>> verdict(tab.assign(elpd_diff=[0.0, -12.0], se_diff=[0.0, 3.0]), "elpd_loo")
    'm0 predicts better than m1 by 12.0 elpd (4.0 standard errors).'
    """
    order = table.sort_values("elpd_diff", ascending=False).index.tolist()
    best = order[0]
    if len(order) == 1:
        return (f"Only one model: its expected log predictive density ({label}) is {_fmt(table[label].iloc[0])} "
                f"(se {_fmt(table['se'].iloc[0])}); pass two or more models to compare them.")

    def clause(name: str, single: bool) -> str:
        d, s = float(table.loc[name, "elpd_diff"]), float(table.loc[name, "se_diff"])
        ratio = abs(d) / s if s > 0 else np.inf
        size = f"{_fmt(abs(d))} elpd ({ratio:.1f} standard errors)"
        if abs(d) < s or abs(d) < 1e-12:
            if single:
                return (f"The models' expected predictive accuracy differs by less than its standard error "
                        f"(elpd_diff {_fmt(d)}, se_diff {_fmt(s)}): the data do not distinguish them.")
            return f"{name} is within one standard error of it (elpd_diff {_fmt(d)}, se_diff {_fmt(s)})"
        if abs(d) < SMALL_DIFF:
            if single:
                return (f"{best} predicts better than {name} by only {size}; a difference under {SMALL_DIFF} elpd is "
                        "small and its standard error unreliable, so the data do not distinguish them.")
            return f"{name} is worse by only {size}, under {SMALL_DIFF} elpd: not distinguishable"
        tail = ", too uncertain to be sure of" if ratio < 2 else ""
        if single:
            return f"{best} predicts better than {name} by {size}{tail}."
        return f"{name} predicts worse by {size}{tail}"

    if len(order) == 2:
        return clause(order[1], True)
    return f"{best} predicts best; " + "; ".join(clause(n, False) for n in order[1:]) + "."


def loo_lines(results: dict) -> list[str]:
    """One line per model with Pareto k above the threshold (refitted or not), or one line saying all is well.

    Parameters
    ----------
    results : dict
        Model name → :class:`hierlm.services.comparison.loo.LooResult`.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> r = NS(bad=["11"], refitted=True, k_threshold=0.7, max_refits=10, notes=[])
    >>> loo_lines({"m1": r})
    ["m1: 1 observation with Pareto k > 0.7; it was re-fitted exactly (rows '11')."]
    """
    lines = []
    for name, r in results.items():
        nb = len(r.bad)
        if not nb:
            continue
        rows = ", ".join(repr(b) for b in r.bad[:5]) + (" ..." if nb > 5 else "")
        obs = "observation" if nb == 1 else "observations"
        if r.refitted:
            lines.append(f"{name}: {nb} {obs} with Pareto k > {r.k_threshold:g}; "
                         f"{'it was' if nb == 1 else 'they were'} re-fitted exactly (rows {rows}).")
        else:
            why = "max_refits=0" if r.max_refits == 0 else f"more than max_refits={r.max_refits}"
            lines.append(f"{name}: {nb} {obs} with Pareto k > {r.k_threshold:g} ({why}), not re-fitted: its "
                         f"elpd_loo is unreliable; use hl.kfold({name}, k=10).")
        lines += [f"{name}: {n}" for n in r.notes]
    if not lines:
        thr = next(iter(results.values())).k_threshold
        lines.append(f"All Pareto k <= {thr:g}: the PSIS-LOO estimates are reliable.")
    return lines


