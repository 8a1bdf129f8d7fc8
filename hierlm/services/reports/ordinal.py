"""The summary of a cumulative link mixed model, laid out as ``ordinal``'s ``print.summary.clmm``.

Title (Laplace or adaptive Gauss–Hermite), formula and data lines, the information table (link,
threshold, nobs, logLik, AIC, niter, max.grad, cond.H), the random effects as ordinal's ``formatVC``
(variances and SDs formatted together with 4 significant digits, correlations to 3 decimals), the
number of groups, the coefficients (``printCoefmat`` with p-values and stars) and the thresholds.
``niter`` is hierlm's own count: optimiser evaluations (Newton steps of the conditional modes are not
counted), ``max.grad`` the largest absolute finite-difference gradient of −log L at the optimum and
``cond.H`` the condition number of its Hessian (in thresholds, coefficients and random-effect SDs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..rformat import (
    SIGNIF_LEGEND,
    WIDTH,
    cat_fill,
    format_coefmat,
    format_num,
    formula_lines,
    print_matrix,
)
from .summary import Printout

__all__ = ["clmm_summary"]


def _title(nagq: int) -> list[str]:
    if nagq >= 2:
        return ["Cumulative Link Mixed Model fitted with the adaptive Gauss-Hermite ",
                f"quadrature approximation with {nagq} quadrature points ", ""]
    return ["Cumulative Link Mixed Model fitted with the Laplace approximation", ""]


def _info_lines(cells: list[tuple[str, str]]) -> list[str]:
    """``print(data.frame, row.names = FALSE, right = FALSE)`` of one row."""
    widths = [max(len(h), len(v)) for h, v in cells]
    head = " " + " ".join(h.ljust(w) for (h, _), w in zip(cells, widths))
    row = " " + " ".join(v.ljust(w) for (_, v), w in zip(cells, widths))
    return [head, row]


def _vc_lines(fit, digits: int, width: int) -> tuple[list[str], pd.DataFrame]:
    """ordinal's ``formatVC``: Groups, Name, Variance, Std.Dev. (and Corr) as a left-aligned matrix."""
    groups, names, sds, corrs = [], [], [], []
    for t, S in zip(fit.design.reterms, fit.covariances()):
        sd = np.sqrt(np.diag(S))
        for j, col in enumerate(t.columns):
            groups.append(t.group if j == 0 else "")
            names.append(col)
            sds.append(float(sd[j]))
        with np.errstate(divide="ignore", invalid="ignore"):
            R = S / np.outer(sd, sd)
        corrs.append(R)
    var = format_num([s * s for s in sds], digits=digits)
    sdv = format_num(sds, digits=digits)
    rows = [[g, n, v, s] for g, n, v, s in zip(groups, names, var, sdv)]
    cols = ["Groups", "Name", "Variance", "Std.Dev."]
    maxlen = max(t.ncols for t in fit.design.reterms)
    if maxlen > 1:
        cols += ["Corr"] + [""] * (maxlen - 2)
        i = 0
        for R in corrs:
            p = len(R)
            for a in range(p):
                cells = [format_num([round(float(R[a, b]), 3)], digits=7, nsmall=3)[0] if b < a else ""
                         for b in range(maxlen - 1)]
                rows[i] += cells
                i += 1
    return print_matrix(rows, [""] * len(rows), cols, right=False, width=width), pd.DataFrame(rows, columns=cols)


def clmm_summary(fit, data_name: str | None = "data", digits: int = 4, signif_stars: bool = True,
                 width: int = WIDTH) -> Printout:
    """ordinal's ``summary(clmm)`` printout of a :class:`~hierlm.fits.ordinal.ClmmFit`.

    Parameters
    ----------
    fit : ClmmFit
    data_name : str or None, default "data"
        What the ``data:`` line shows; None omits it.
    digits : int, default 4
    signif_stars : bool, default True

    Returns
    -------
    Printout

    Examples
    --------
    >>> import hierlm as hl, pandas as pd
    >>> va = hl.load_dataset("VerbAgg")
    >>> va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
    >>> m = hl.glmer("resp ~ btype + (1 | id)", va, family="cumulative")
    >>> print(clmm_summary(m, data_name="va"))  # doctest: +ELLIPSIS
    Cumulative Link Mixed Model fitted with the Laplace approximation
    <BLANKLINE>
    formula: resp ~ btype + (1 | id)
    data:    va
    <BLANKLINE>
     link  threshold nobs logLik   AIC      niter ...
     logit flexible  7584 -6733.32 13476.63 ...
    <BLANKLINE>
    Random effects:
     Groups Name        Variance Std.Dev.
     id     (Intercept) 1.363    1.167   
    Number of groups:  id 316 
    <BLANKLINE>
    Coefficients:
               Estimate Std. Error z value Pr(>|z|)    
    btypescold -0.84784    0.05699  -14.88   <2e-16 ***
    btypeshout -1.72801    0.06268  -27.57   <2e-16 ***
    ---
    Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1
    <BLANKLINE>
    Threshold coefficients:
                Estimate Std. Error z value
    no|perhaps  -0.71914    0.07824  -9.192
    perhaps|yes  0.96941    0.07859  12.335

    ordinal 2022.11 (``clmm(..., control = clmm.control(useMatrix = TRUE))``) prints the same, but for
    ``-1.72802``, ``-0.71916`` and ``0.96940`` (it stops with max.grad 1.7e-2, short of the optimum).
    """
    out = Printout()
    head = _title(fit.nAGQ)
    head += cat_fill(["formula:"] + formula_lines(fit.formula), width)
    if data_name is not None:
        head += cat_fill(["data:   ", data_name], width)
    out.add(head + [""])
    info = fit.optinfo
    grad = np.abs(fit.gradient).max() if fit.gradient is not None and len(fit.gradient) else np.nan
    try:
        ev = np.abs(np.linalg.eigvalsh(fit.hessian))
        cond = float(ev.max() / ev.min())
    except (np.linalg.LinAlgError, ValueError, TypeError):
        cond = np.nan
    cells = [("link", fit.family.link.name), ("threshold", "flexible"), ("nobs", str(fit.nobs())),
             ("logLik", f"{fit.loglik():.2f}"), ("AIC", f"{fit.aic():.2f}"),
             ("niter", f"{info.get('nevals', 0)}({info.get('newton', 0)})"),
             ("max.grad", f"{grad:.2e}"), ("cond.H", f"{cond:.1e}")]
    out.add(_info_lines(cells))
    vc, vtab = _vc_lines(fit, digits, width)
    out.add(["", "Random effects:"])
    out.add(vc, table=vtab, heading="Random effects:")
    ng = ",  ".join(f"{g} {k}" for g, k in fit.ngrps().items())
    out.add([f"Number of groups:  {ng} "])
    if len(fit.beta):
        cells_, rows, cols, legend = format_coefmat(fit.fixef(), digits=digits, signif_stars_=signif_stars)
        lines = print_matrix(cells_, rows, cols, right=True, width=width) + (["---", SIGNIF_LEGEND] if legend else [])
        out.add(["", "Coefficients:"])
        out.add(lines, table=pd.DataFrame(cells_, index=rows, columns=cols), heading="Coefficients:")
    else:
        out.add(["", "No Coefficients"])
    cells_, rows, cols, _ = format_coefmat(fit.thresholds(), digits=digits, signif_stars_=False, has_Pvalue=False)
    out.add(["", "Threshold coefficients:"])
    out.add(print_matrix(cells_, rows, cols, right=True, width=width),
            table=pd.DataFrame(cells_, index=rows, columns=cols), heading="Threshold coefficients:")
    return out
