"""R's printed layouts, ported: ``print()`` of a character matrix and of a named vector, ``cat(fill =
TRUE)``, ``strwrap``, ``abbreviate``, significance stars, ``printCoefmat`` and ``print.anova``.

Every function returns the lines R would print (no trailing newline characters), built from the
number formatting of :mod:`hierlm.services.rformat.numbers`.  Sources: R 4.2's ``src/main/printarray.c``
(``printStringMatrix``: column widths, left/right justification, wrapping into column blocks at
``width``), ``src/main/printvector.c`` (named vectors), ``src/main/builtin.c`` (``cat``),
``src/main/character.c`` (``abbreviate``), ``src/library/stats/R/lm.R`` (``printCoefmat``) and
``anova.R`` (``print.anova``).

Examples
--------
>>> import pandas as pd
>>> tab = pd.DataFrame({"Estimate": [251.405104848485, 10.467285959596],
...                     "Std. Error": [6.82459669495491, 1.54578964390598],
...                     "t value": [36.8380896462844, 6.77148148899918]}, index=["(Intercept)", "Days"])
>>> print("\\n".join(print_coefmat(tab, digits=4)))
            Estimate Std. Error t value
(Intercept)  251.405      6.825  36.838
Days          10.467      1.546   6.771
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .numbers import DBL_EPSILON, format_num, format_pval, r_round, zapsmall

__all__ = ["WIDTH", "SIGNIF_LEGEND", "print_matrix", "print_named", "print_named_real", "cat_fill", "strwrap",
           "abbreviate", "signif_stars", "format_coefmat", "print_coefmat", "print_anova"]

#: R's default console width (``getOption("width")``), which every layout here wraps at
WIDTH = 80
#: the legend printCoefmat prints under starred tables (R in a UTF-8 locale uses these curly quotes)
SIGNIF_LEGEND = ("Signif. codes:  0 \u2018***\u2019 0.001 \u2018**\u2019 0.01 \u2018*\u2019 0.05 \u2018.\u2019 0.1 "
                 "\u2018 \u2019 1")
_MISSING = object()


def print_matrix(cells: Sequence[Sequence[str]], rownames: Sequence[str], colnames: Sequence[str],
                 right: bool = False, width: int = WIDTH, gap: int = 1) -> list[str]:
    """R's ``print(m, quote = FALSE)`` of a character matrix.

    Columns are as wide as their widest entry or name; entries and names are left-justified
    (``right=False``, R's default) or right-justified; row names are left-justified.  Columns that do
    not fit in ``width`` go to a further block of lines, as R wraps them.

    Parameters
    ----------
    cells : sequence of rows of str
    rownames, colnames : sequence of str
    right : bool, default False
    width : int, default 80
    gap : int, default 1
        Spaces between columns (R's ``print.gap``).

    Returns
    -------
    list of str

    Examples
    --------
    >>> print_matrix([["Subject", "(Intercept)"], ["", "Days"]], ["", ""], ["Groups", "Name"])
    [' Groups  Name       ', ' Subject (Intercept)', '         Days       ']
    """
    nr, nc = len(rownames), len(colnames)
    rlabw = max([len(r) for r in rownames] + [0])
    w = [max([len(cells[i][j]) for i in range(nr)] + [len(colnames[j])]) for j in range(nc)]
    lines: list[str] = []
    if nc == 0:
        return [" " * rlabw] + [r.ljust(rlabw) for r in rownames]
    jmin = 0
    while jmin < nc:
        total, jmax = rlabw, jmin
        while True:
            total += w[jmax] + gap
            jmax += 1
            if not (jmax < nc and total + w[jmax] + gap < width):
                break
        cols = range(jmin, jmax)
        if right:
            head = "".join(" " * gap + colnames[j].rjust(w[j]) for j in cols)
        else:
            head = "".join(" " * gap + colnames[j].ljust(w[j]) for j in cols)
        lines.append(" " * rlabw + head)
        for i in range(nr):
            row = "".join(" " * gap + (cells[i][j].rjust(w[j]) if right else cells[i][j].ljust(w[j])) for j in cols)
            lines.append(rownames[i].ljust(rlabw) + row)
        jmin = jmax
    return lines


def print_named(values: Sequence[str], names: Sequence[str], gap: int = 1, width: int = WIDTH) -> list[str]:
    """R's print of a named vector whose elements are already formatted: names over values, right-justified.

    Parameters
    ----------
    values, names : sequence of str
    gap : int, default 1
        Spaces after every field (R's ``print.gap``).
    width : int, default 80

    Returns
    -------
    list of str
        Pairs of lines (names, values), as many as needed to fit ``width``.

    Examples
    --------
    >>> print_named(["194.1", "51"], ["AIC", "df.resid"])
    ['     AIC df.resid ', '   194.1       51 ']
    """
    w = max([len(v) for v in values] + [len(n) for n in names] + [0])
    per = max(width // (w + gap), 1)
    lines = []
    for start in range(0, len(values), per):
        idx = range(start, min(start + per, len(values)))
        lines.append("".join(names[k].rjust(w) + " " * gap for k in idx))
        lines.append("".join(values[k].rjust(w) + " " * gap for k in idx))
    return lines


def print_named_real(x: Sequence[float], names: Sequence[str], digits: int = 7, gap: int = 1,
                     width: int = WIDTH) -> list[str]:
    """R's ``print(x, digits = digits)`` of a named numeric vector (e.g. residual quantiles).

    Parameters
    ----------
    x : sequence of float
    names : sequence of str
    digits : int, default 7
    gap : int, default 1
    width : int, default 80

    Returns
    -------
    list of str

    Examples
    --------
    >>> print_named_real([-3.9536, -0.4634, 0.0231, 0.4634, 5.1793], ["Min", "1Q", "Median", "3Q", "Max"], 4)
    ['    Min      1Q  Median      3Q     Max ', '-3.9536 -0.4634  0.0231  0.4634  5.1793 ']
    """
    return print_named(format_num(x, digits), names, gap=gap, width=width)


def cat_fill(items: Sequence[str], width: int = WIDTH, sep: str = " ") -> list[str]:
    """R's ``cat(..., fill = TRUE)``: items joined by ``sep``, a new line where the next would pass ``width``.

    As R does, the separator is written before the line is broken (so a broken line ends with it).

    Parameters
    ----------
    items : sequence of str
        The strings, in order (vectors flattened).
    width : int, default 80
    sep : str, default " "

    Returns
    -------
    list of str

    Examples
    --------
    >>> cat_fill(["Formula:", "y ~ x"])
    ['Formula: y ~ x']
    """
    lines, cur, w = [], "", 0
    for k, item in enumerate(items):
        if k > 0:
            cur += sep
            if w + len(item) + len(sep) > width:
                lines.append(cur)
                cur, w = "", 0
        cur += item
        w += len(item) + len(sep)
    if w > 0 or cur:
        lines.append(cur)
    return lines


def strwrap(text: str, width: int, indent: int = 0, exdent: int = 0) -> list[str]:
    """R's ``strwrap`` of one paragraph: greedy lines shorter than ``width``.

    Parameters
    ----------
    text : str
    width : int
    indent, exdent : int
        Spaces before the first and the following lines.

    Returns
    -------
    list of str

    Examples
    --------
    >>> strwrap("Generalized linear mixed model fit by maximum likelihood (Laplace Approximation)", 78, exdent=2)
    ['Generalized linear mixed model fit by maximum likelihood (Laplace', '  Approximation)']
    """
    words = text.replace("\t", " ").replace("\n", " ").split(" ")
    keep = []
    for i, wd in enumerate(words):  # empty words survive only after a sentence end
        if wd or (i > 0 and words[i - 1][-1:] != "" and words[i - 1][-1:] in ".?!"):
            keep.append(wd)
    words = keep
    if not words:
        return [""]
    nc = [len(wd) for wd in words]
    blocks, start, max_len, first = [], 0, width - indent, True
    while start < len(words):
        lens = np.cumsum([c + 1 for c in nc[start:]])
        k = max(int(np.sum(lens <= max_len)), 1)
        if first:
            first, max_len = False, width - exdent
        end = start + k
        upper = end - 1 if nc[end - 1] == 0 else end
        blocks.append((start, upper))
        if end < len(words) and nc[end] == 0:
            end += 1
        start = end
    return [(" " * (indent if b == 0 else exdent)) + " ".join(words[s:u]) for b, (s, u) in enumerate(blocks)]


_VOWELS = set("aeiou")
_WVOWELS = _VOWELS | {chr(c) for c in (0xe0, 0xe1, 0x2e, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed,
                                        0xee, 0xef, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc,
                                        0x101, 0x103, 0x105, 0x113, 0x115, 0x117, 0x118, 0x11b, 0x129, 0x12b,
                                        0x12d, 0x12f, 0x131, 0x14d, 0x14f, 0x151, 0x169, 0x16b, 0x16d, 0x16f,
                                        0x171, 0x173)}


def _strip(name: str, minlen: int) -> str:
    """R's C ``stripchars``: drop characters from the right, class by class, until ``minlen`` is reached."""
    s = list(name)
    vowels = _VOWELS if name.isascii() else _WVOWELS
    if len(s) < minlen:
        return _drop_spaces(s, minlen)
    nspace, trailing = 0, True
    for i in range(len(s) - 1, 0, -1):
        if s[i].isspace():
            if trailing:
                del s[i:]
            else:
                nspace += 1
        else:
            trailing = False
        if len(s) - nspace <= minlen:
            return _drop_spaces(s, minlen)

    def first(i):
        return s[i - 1].isspace()

    def last(i):
        return not s[i - 1].isspace() and (i + 1 >= len(s) or s[i + 1].isspace())

    rules = [lambda i: s[i] in vowels and last(i), lambda i: s[i] in vowels and not first(i),
             lambda i: "a" <= s[i] <= "z" and last(i), lambda i: "a" <= s[i] <= "z" and not first(i),
             lambda i: not first(i) and not s[i].isspace()]
    for rule in rules:
        for i in range(len(s) - 1, 0, -1):
            if i < len(s) and rule(i):
                del s[i]
            if len(s) - nspace <= minlen:
                return _drop_spaces(s, minlen)
    return _drop_spaces(s, minlen)


def _drop_spaces(s: list[str], minlen: int) -> str:
    if len(s) > minlen:
        for i in range(len(s) - 1, 0, -1):
            if s[i].isspace():
                del s[i]
    return "".join(s)


def abbreviate(names: Sequence[str], minlength: int = 4) -> list[str]:
    """R's ``abbreviate(names, minlength)``: drop lower-case vowels, then lower-case letters, from the right.

    Duplicated abbreviations are lengthened until unique, as R does.

    Parameters
    ----------
    names : sequence of str
    minlength : int, default 4

    Returns
    -------
    list of str

    Examples
    --------
    >>> abbreviate(["(Intercept)", "MachineB", "Days", "treatozone:Time"], 6)
    ['(Intr)', 'MachnB', 'Days', 'trtz:T']
    >>> abbreviate(["Product2:Information2", "Information2"], 11)
    ['Prdct2:Inf2', 'Informatin2']
    """
    if minlength <= 0:
        return ["" for _ in names]
    old = [str(n).strip(" ") for n in names]
    uniq = list(dict.fromkeys(old))
    x = list(uniq)
    dup2 = [True] * len(uniq)
    minlen = minlength
    while True:
        for i, d in enumerate(dup2):
            if d:
                x[i] = _strip(uniq[i], minlen)
        seen: set[str] = set()
        dups = []
        for v in x:
            dups.append(v in seen)
            seen.add(v)
        if not any(dups):
            break
        minlen += 1
        dupvals = {v for v, d in zip(x, dups) if d}
        dup2 = [d or v in dupvals for v, d in zip(x, dups)]
    lookup = dict(zip(uniq, x))
    return [lookup[n] for n in old]


def signif_stars(pv: Sequence[float]) -> list[str]:
    """R's ``format(symnum(pv, ...))`` as printCoefmat uses it: ``***`` (<= 0.001), ``**``, ``*``, ``.``, `` ``.

    Missing p-values get blanks; all entries are padded to a common width.

    Parameters
    ----------
    pv : sequence of float

    Returns
    -------
    list of str

    Examples
    --------
    >>> signif_stars([1e-5, 0.004, 0.03, 0.07, 0.5, float("nan")])
    ['***', '** ', '*  ', '.  ', '   ', '   ']
    """
    out = []
    for p in pv:
        if p is None or math.isnan(p):
            out.append("")
        else:
            out.append(next(s for cut, s in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (math.inf, " "))
                            if p <= cut))
    w = max([len(s) for s in out] + [0])
    return [s.ljust(w) for s in out]


def format_coefmat(x: pd.DataFrame, digits: int = 5, signif_stars_: bool = True, signif_legend: bool | None = None,
                   dig_tst: int | None = None, cs_ind=_MISSING, tst_ind=_MISSING, zap_ind: Sequence[int] = (),
                   P_values: bool | None = None, has_Pvalue: bool | None = None, eps_Pvalue: float = DBL_EPSILON,
                   na_print: str = "NA") -> tuple[list[list[str]], list[str], list[str], bool]:
    """The cells R's ``printCoefmat`` prints (see :func:`print_coefmat`), before the layout.

    Estimates and standard errors (``cs_ind``, by default all columns before the test statistic) are
    rounded together to ``digits`` significant digits of the smallest of them and formatted as one
    vector; the test statistic (``tst_ind``) is rounded to ``dig_tst`` decimals; p-values go through
    ``format.pval(digits = dig_tst)``; stars and the legend follow when some p < 0.1.

    Parameters
    ----------
    x : DataFrame
        Numbers (NaN for NA), R's row and column names; a last column named ``Pr(...)`` or ``p-v...``
        holds p-values.
    digits : int, default 5
        R's ``digits`` (lme4 and ``summary.lm`` pass ``max(3, getOption("digits") - 3)``, i.e. 4).
    signif_stars_ : bool, default True
    signif_legend : bool, optional
        Default: as ``signif_stars_``.
    dig_tst : int, optional
        Default ``max(1, min(5, digits - 1))``.
    cs_ind, tst_ind : list of int, optional
        0-based column positions of the coefficient/SE group and of the test statistics.
    zap_ind : list of int
        Columns passed through ``zapsmall`` first.
    P_values, has_Pvalue : bool, optional
    eps_Pvalue : float
    na_print : str, default "NA"

    Returns
    -------
    (cells, rownames, colnames, legend)
        The character matrix (rows of str; a last column ``""`` of stars when printed), its names,
        and whether the significance legend follows.

    Examples
    --------
    >>> import pandas as pd
    >>> tab = pd.DataFrame({"Estimate": [-1.3983], "Std. Error": [0.2312], "z value": [-6.048],
    ...                     "Pr(>|z|)": [1.47e-09]}, index=["(Intercept)"])
    >>> cells, rows, cols, legend = format_coefmat(tab, digits=4)
    >>> cells, cols, legend
    ([['-1.3983', ' 0.2312', '-6.048', '1.47e-09', '***']], ['Estimate', 'Std. Error', 'z value', 'Pr(>|z|)', ''], True)
    """
    cn = [str(c) for c in x.columns]
    nc = len(cn)
    xm = x.to_numpy(dtype=float, na_value=np.nan).copy()
    if has_Pvalue is None:
        has_Pvalue = nc >= 4 and cn[-1][:3] in ("Pr(", "p-v")
    if P_values is None:
        P_values = has_Pvalue
    if has_Pvalue and not P_values:
        xm, cn, nc, has_Pvalue = xm[:, :-1], cn[:-1], nc - 1, False
    k = nc - int(has_Pvalue) - (1 if tst_ind is _MISSING else len(tst_ind))
    cs = list(range(k)) if cs_ind is _MISSING else list(cs_ind or [])
    tst = [k] if tst_ind is _MISSING else list(tst_ind or [])
    if dig_tst is None:
        dig_tst = max(1, min(5, digits - 1))
    nr = xm.shape[0]
    cf = np.full((nr, nc), "", dtype=object)
    ina = np.isnan(xm)
    ok = ~ina
    for i in zap_ind:
        xm[:, i] = zapsmall(list(xm[:, i]), digits)
    if cs:
        coef_se = xm[:, cs]
        acs = np.abs(coef_se)
        ia = np.isfinite(acs)
        if ia.any():
            nz = acs[ia & (acs != 0)]
            digmin = 1 + np.floor(np.log10([nz.min(), nz.max()])) if len(nz) else np.array([1.0])
            rd = max(1.0, float(np.max(digits - digmin)))
            flat = format_num(r_round(list(coef_se.ravel(order="F")), rd), digits)
            cf[:, cs] = np.array(flat, dtype=object).reshape(coef_se.shape, order="F")
    if tst:
        vals = xm[:, tst]
        flat = format_num(r_round(list(vals.ravel(order="F")), dig_tst), digits)
        cf[:, tst] = np.array(flat, dtype=object).reshape(vals.shape, order="F")
    for i in range(nc):
        if i not in cs and i not in tst and not (has_Pvalue and i == nc - 1):
            cf[:, i] = format_num(list(xm[:, i]), digits)
    ok[:, tst] = False
    okp = ok.copy()
    if has_Pvalue:
        okp[:, nc - 1] = False
    rows, cols = np.nonzero(okp.T)  # column-major, as R indexes
    pos = list(zip(cols, rows))
    redo = [(i, j) for i, j in pos if (xm[i, j] == 0) != (_as_numeric(cf[i, j]) == 0)]
    if redo:
        for (i, j), s in zip(redo, format_num([xm[i, j] for i, j in redo], max(1, digits - 1))):
            cf[i, j] = s
    cf[ina] = na_print
    stars = False
    if P_values:
        okpv = ok[:, nc - 1]
        if okpv.any():
            pv = xm[:, nc - 1]
            for i, s in zip(np.nonzero(okpv)[0], format_pval(list(pv[okpv]), dig_tst, eps_Pvalue)):
                cf[i, nc - 1] = s
            stars = signif_stars_ and bool(np.any(pv[okpv] < 0.1))
            if stars:
                cf = np.column_stack([cf, np.array(signif_stars(list(pv)), dtype=object)])
                cn = cn + [""]
    legend = stars and (signif_stars_ if signif_legend is None else signif_legend)
    return [list(r) for r in cf], [str(r) for r in x.index], cn, legend


def print_coefmat(x: pd.DataFrame, digits: int = 5, signif_stars_: bool = True, signif_legend: bool | None = None,
                  dig_tst: int | None = None, cs_ind=_MISSING, tst_ind=_MISSING, zap_ind: Sequence[int] = (),
                  P_values: bool | None = None, has_Pvalue: bool | None = None, eps_Pvalue: float = DBL_EPSILON,
                  na_print: str = "NA", width: int = WIDTH) -> list[str]:
    """R's ``printCoefmat``: a coefficient table as ``summary()`` prints it.

    Estimates and standard errors (``cs_ind``, by default all columns before the test statistic) are
    rounded together to ``digits`` significant digits of the smallest of them and formatted as one
    vector; the test statistic (``tst_ind``) is rounded to ``dig_tst`` decimals; p-values go through
    ``format.pval(digits = dig_tst)``; stars and the legend follow when some p < 0.1.

    Parameters
    ----------
    x, digits, signif_stars_, signif_legend, dig_tst, cs_ind, tst_ind, zap_ind, P_values, has_Pvalue,
    eps_Pvalue, na_print
        As :func:`format_coefmat`.
    width : int, default 80

    Returns
    -------
    list of str

    Examples
    --------
    >>> import pandas as pd
    >>> tab = pd.DataFrame({"Estimate": [-1.3983], "Std. Error": [0.2312], "z value": [-6.048],
    ...                     "Pr(>|z|)": [1.47e-09]}, index=["(Intercept)"])
    >>> for line in print_coefmat(tab, digits=4):
    ...     print(line)
                Estimate Std. Error z value Pr(>|z|)    
    (Intercept)  -1.3983     0.2312  -6.048 1.47e-09 ***
    ---
    Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1
    """
    cells, rows, cols, legend = format_coefmat(x, digits, signif_stars_, signif_legend, dig_tst, cs_ind, tst_ind,
                                               zap_ind, P_values, has_Pvalue, eps_Pvalue, na_print)
    lines = print_matrix(cells, rows, cols, right=True, width=width)
    return lines + (["---", SIGNIF_LEGEND] if legend else [])


def _as_numeric(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        return math.nan


def print_anova(table: pd.DataFrame, heading: Sequence[str] = (), digits: int = 5, signif_stars_: bool = True,
                width: int = WIDTH) -> list[str]:
    """R's ``print.anova``: the heading, then the table through printCoefmat with blanks for NA.

    Test statistics (``F``, ``Chisq``, ``* value`` columns) are rounded to ``digits - 1`` decimals, the
    p-value column (``Pr(...)``/``P(...)``) goes through ``format.pval``, ``*Df`` columns are printed
    as they are and every other column is passed through ``zapsmall`` and formatted on its own.

    Parameters
    ----------
    table : DataFrame
        R's column names; NaN where R has NA.
    heading : sequence of str
        Lines printed first (R's ``attr(x, "heading")``; an element may hold several lines).
    digits : int, default 5
        ``max(getOption("digits") - 2, 3)``.
    signif_stars_ : bool, default True
    width : int, default 80

    Returns
    -------
    list of str

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"npar": [4.0, 6.0], "AIC": [1802.0786, 1763.9393], "BIC": [1814.85, 1783.097],
    ...                   "logLik": [-897.0393, -875.9697], "deviance": [1794.0786, 1751.9393],
    ...                   "Chisq": [float("nan"), 42.139], "Df": [float("nan"), 2.0],
    ...                   "Pr(>Chisq)": [float("nan"), 7.072e-10]}, index=["m0", "m1"])
    >>> for line in print_anova(t):
    ...     print(line)
       npar    AIC    BIC  logLik deviance  Chisq Df Pr(>Chisq)    
    m0    4 1802.1 1814.8 -897.04   1794.1                         
    m1    6 1763.9 1783.1 -875.97   1751.9 42.139  2  7.072e-10 ***
    ---
    Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1
    """
    lines = "\n".join(heading).split("\n") if heading else []
    cn = [str(c) for c in table.columns]
    nc = len(cn)
    has_p = cn[-1].startswith("P(") or cn[-1].startswith("Pr(")
    zap = list(range(nc - 1 if has_p else nc))
    tst = [j for j, c in enumerate(cn) if c[1:7] == " value"]
    tst += [j for j, c in enumerate(cn) if c in ("F", "Cp", "Chisq")]
    zap = [j for j in zap if j not in tst]
    dfs = [j for j, c in enumerate(cn) if c.endswith("Df")]
    zap = [j for j in zap if j not in dfs]
    return lines + print_coefmat(table, digits=digits, signif_stars_=signif_stars_, has_Pvalue=has_p, P_values=has_p,
                                 cs_ind=None, tst_ind=tst, zap_ind=zap, na_print="", width=width)
