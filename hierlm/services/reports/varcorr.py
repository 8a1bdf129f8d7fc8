"""lme4's variance-component table (``formatVC``) and ``print(VarCorr(m))``, digit for digit.

``Variance`` and ``Std.Dev.`` are each formatted as one vector over every block and the residual
(R's ``format(x, digits = digits)``: common decimals, scientific when shorter); the correlation
triangle of each block is ``format(round(corr, max(2, digits - 2)), nsmall = max(2, digits - 2))``.
The summary uses ``digits = 4``, ``print(VarCorr(m))`` ``digits = 5``.

Examples
--------
>>> import pandas as pd
>>> vc = pd.DataFrame({"grp": ["Subject", "Subject", "Subject", "Residual"],
...                    "var1": ["(Intercept)", "Days", "(Intercept)", None], "var2": [None, None, "Days", None],
...                    "vcov": [612.1, 35.07, 9.6, 654.94],
...                    "sdcor": [24.74069, 5.922138, 0.06555, 25.59182]})
>>> print("\\n".join(format_vc(vc, digits=4)))
 Groups   Name        Variance Std.Dev. Corr
 Subject  (Intercept) 612.10   24.741       
          Days         35.07    5.922   0.07
 Residual             654.94   25.592       
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..rformat import WIDTH, format_num, is_na, print_matrix, r_round
from .summary import Printout

__all__ = ["vc_blocks", "vc_cells", "format_vc", "print_varcorr"]


def vc_blocks(varcorr: pd.DataFrame) -> tuple[list[tuple[str, list[str], np.ndarray, np.ndarray]], float | None]:
    """Split lme4's ``as.data.frame(VarCorr(m))`` into blocks: (group, term names, SDs, correlation matrix).

    Parameters
    ----------
    varcorr : DataFrame
        Columns ``grp``, ``var1``, ``var2``, ``sdcor`` (as :meth:`hierlm.LmerFit.varcorr`).

    Returns
    -------
    (list, float or None)
        The blocks in order, and the residual SD (None when the family has no scale).

    Examples
    --------
    >>> import pandas as pd
    >>> vc = pd.DataFrame({"grp": ["herd"], "var1": ["(Intercept)"], "var2": [None], "sdcor": [0.642]})
    >>> blocks, sigma = vc_blocks(vc)
    >>> blocks[0][:2], sigma
    (('herd', ['(Intercept)']), None)
    """
    blocks, sigma = [], None
    order = list(dict.fromkeys(varcorr["grp"]))
    for grp in order:
        sub = varcorr[varcorr["grp"] == grp]
        if grp == "Residual" and all(is_na(v) or v is None for v in sub["var1"]):
            sigma = float(sub["sdcor"].iloc[0])
            continue
        var = sub[[is_na(v) for v in sub["var2"]]]
        names = [str(v) for v in var["var1"]]
        sds = var["sdcor"].to_numpy(dtype=float)
        corr = np.eye(len(names))
        for _, row in sub[[not is_na(v) for v in sub["var2"]]].iterrows():
            i, j = names.index(str(row["var1"])), names.index(str(row["var2"]))
            corr[i, j] = corr[j, i] = float(row["sdcor"]) if not is_na(row["sdcor"]) else np.nan
        blocks.append((grp, names, sds, corr))
    return blocks, sigma


def vc_cells(varcorr: pd.DataFrame, digits: int = 4,
             comp: Sequence[str] = ("Variance", "Std.Dev.")) -> tuple[list[list[str]], list[str]]:
    """lme4's ``formatVC``: the character matrix of the random-effects table and its column names.

    Parameters
    ----------
    varcorr : DataFrame
        lme4's ``as.data.frame(VarCorr(m))`` layout (see :meth:`hierlm.LmerFit.varcorr`); a
        ``Residual`` row is printed when present (families with a scale).
    digits : int, default 4
        Significant digits (lme4's summary: ``max(3, getOption("digits") - 3)``).
    comp : sequence of {"Variance", "Std.Dev."}
        Columns to show.

    Returns
    -------
    (rows, colnames)
        Rows of str (no row names) and the column names (``Corr`` then blanks for the triangle).

    Examples
    --------
    >>> import pandas as pd
    >>> vc = pd.DataFrame({"grp": ["herd"], "var1": ["(Intercept)"], "var2": [None], "sdcor": [0.6420699]})
    >>> vc_cells(vc)
    ([['herd', '(Intercept)', '0.4123', '0.6421']], ['Groups', 'Name', 'Variance', 'Std.Dev.'])
    """
    bad = [c for c in comp if c not in ("Variance", "Std.Dev.")]
    if bad or not comp:
        raise ValueError(f"comp must name 'Variance' and/or 'Std.Dev.', not {list(comp)!r}")
    blocks, sigma = vc_blocks(varcorr)
    groups, names, sds = [], [], []
    for grp, nm, sd, _ in blocks:
        groups += [grp] + [""] * (len(nm) - 1)
        names += nm
        sds += list(sd)
    if sigma is not None:
        groups.append("Residual")
        names.append("")
        sds.append(sigma)
    cols = {"Groups": groups, "Name": names}
    if "Variance" in comp:
        cols["Variance"] = format_num([s * s for s in sds], digits)
    if "Std.Dev." in comp:
        cols["Std.Dev."] = format_num(sds, digits)
    colnames = list(cols)
    rows = [[cols[c][i] for c in colnames] for i in range(len(sds))]
    sizes = [len(b[1]) for b in blocks]
    if sizes and max(sizes) > 1:
        maxlen, dig = max(sizes), max(2, digits - 2)
        corr_rows = []
        for _, nm, _, corr in blocks:
            q = len(nm)
            flat = format_num(r_round(list(corr.ravel(order="F")), dig), nsmall=dig, nan="NaN")
            cc = np.array(flat, dtype=object).reshape((q, q), order="F")
            for i in range(q):
                corr_rows.append([cc[i, j] if j < i else "" for j in range(maxlen)][: maxlen - 1])
        corr_rows += [[""] * (maxlen - 1) for _ in range(len(rows) - len(corr_rows))]
        rows = [r + c for r, c in zip(rows, corr_rows)]
        colnames += ["Corr"] + [""] * (maxlen - 2)
    return rows, colnames


def format_vc(varcorr: pd.DataFrame, digits: int = 4, comp: Sequence[str] = ("Variance", "Std.Dev."),
              width: int = WIDTH) -> list[str]:
    """The random-effects table as lme4's summary prints it (``formatVC`` then ``print(quote = FALSE)``).

    Parameters
    ----------
    varcorr : DataFrame
        As :func:`vc_cells`.
    digits : int, default 4
    comp : sequence of {"Variance", "Std.Dev."}
    width : int, default 80

    Returns
    -------
    list of str

    Examples
    --------
    >>> import pandas as pd
    >>> vc = pd.DataFrame({"grp": ["herd"], "var1": ["(Intercept)"], "var2": [None], "sdcor": [0.6420699]})
    >>> format_vc(vc)
    [' Groups Name        Variance Std.Dev.', ' herd   (Intercept) 0.4123   0.6421  ']
    """
    rows, colnames = vc_cells(varcorr, digits, comp)
    return print_matrix(rows, [""] * len(rows), colnames, right=False, width=width)


def print_varcorr(fit_or_varcorr, digits: int = 5, comp: Sequence[str] = ("Std.Dev.",)) -> Printout:
    """``print(VarCorr(m))`` as lme4 prints it (R's default shows the standard deviations only).

    Parameters
    ----------
    fit_or_varcorr : LmerFit, GlmerFit or DataFrame
        A frequentist fit, or a table laid out as :meth:`hierlm.LmerFit.varcorr`.
    digits : int, default 5
        lme4's default ``max(3, getOption("digits") - 2)``.
    comp : sequence of {"Variance", "Std.Dev."}, default ("Std.Dev.",)
        ``("Variance", "Std.Dev.")`` prints both, as ``print(VarCorr(m), comp = c("Variance", "Std.Dev."))``.

    Returns
    -------
    Printout
        Prints as R does; ``.lines`` holds the lines.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> print(print_varcorr(m, comp=("Variance", "Std.Dev.")))
     Groups   Name        Variance Std.Dev. Corr 
     Subject  (Intercept) 612.090  24.7405       
              Days         35.072   5.9221  0.066
     Residual             654.941  25.5918       
    """
    vc = fit_or_varcorr if isinstance(fit_or_varcorr, pd.DataFrame) else fit_or_varcorr.varcorr()
    lines = format_vc(vc, digits=digits, comp=comp)
    out = Printout()
    out.add(lines)
    return out
